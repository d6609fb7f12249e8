// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: the restart test of the messaging layer.
 *
 * One kernel streams small messages to another, which the test stops and boots again
 * many times. The transport writes into each message, under its ring's lock, for which
 * epoch of the receiver the ring was reset; the sender numbers its messages. The
 * receiver counts, above the layer, what it got for its own epoch in order, what was
 * meant for another epoch (a message that outlived a restart: never allowed), and
 * gaps or repeats among its own.
 */
#define pr_fmt(fmt) "popcorn kmsg restart: " fmt

#include <linux/delay.h>
#include <linux/init.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "kmsg.h"
#include "popcorn.h"

struct rstream_msg {
	u32 epoch;		/* the transport's */
	u32 pad;
	u64 seq;		/* the sender's, never reset */
};

struct rstream_ctl {
	u32 target;
	u32 on;
};

static struct {
	struct work_struct work;
	u32 target;
	bool on;
	bool busy;
} sender;

static struct {
	bool started;
	u64 next, received, stale, out_of_order;
} got;

static void rstream_fn(struct work_struct *work)
{
	struct rstream_msg m = { 0 };
	u64 seq = 0, n = 0;
	int ret;

	while (READ_ONCE(sender.on)) {
		m.seq = seq;
		ret = kmsg_send_epoch_tagged(sender.target, POPCORN_KMSG_RSTREAM, &m, sizeof(m));
		if (!ret)
			seq++;
		/* Paced: the stream is for correctness, not speed; a stopped target waits. */
		if (ret || !(++n & 15))
			usleep_range(200, 400);
		cond_resched();
	}
	pr_info("sent %llu messages to kernel %u\n", seq, sender.target);
	WRITE_ONCE(sender.busy, false);
}

static void handle_rstream(const struct popcorn_kmsg *msg)
{
	struct rstream_msg m;

	if (msg->len != sizeof(m))
		return;
	memcpy(&m, msg->data, sizeof(m));
	if (m.epoch != kmsg_epoch()) {
		got.stale++;
		return;
	}
	if (got.started && m.seq != got.next)
		got.out_of_order++;
	got.started = true;
	got.next = m.seq + 1;
	got.received++;
}

static void handle_ctl(const struct popcorn_kmsg *msg)
{
	struct rstream_ctl c;
	int ret = -EINVAL;

	if (popcorn_kmsg_test_refused(msg))
		return;
	if (msg->len == sizeof(c)) {
		memcpy(&c, msg->data, sizeof(c));
		ret = 0;
		if (!c.on) {
			WRITE_ONCE(sender.on, false);
		} else if (READ_ONCE(sender.busy)) {
			ret = -EBUSY;
		} else if (c.target >= POPCORN_KMSG_MAX_KERNELS ||
			   c.target == popcorn_kmsg_self()) {
			ret = -EINVAL;
		} else {
			sender.target = c.target;
			sender.busy = true;
			WRITE_ONCE(sender.on, true);
			queue_work(system_unbound_wq, &sender.work);
		}
	}
	if (msg->request)
		popcorn_kmsg_reply(msg, &ret, sizeof(ret));
}

static void fill_stats(struct popcorn_kmsg_restart *r)
{
	r->epoch = kmsg_epoch();
	r->received = got.received;
	r->stale = got.stale;
	r->out_of_order = got.out_of_order;
}

static void handle_stats(const struct popcorn_kmsg *msg)
{
	struct popcorn_kmsg_restart r = { .op = POPCORN_KMSG_RESTART_STATS };

	if (popcorn_kmsg_test_refused(msg))
		return;
	fill_stats(&r);
	if (msg->request)
		popcorn_kmsg_reply(msg, &r, sizeof(r));
}

static long restart_ioctl(unsigned int cmd, void __user *arg)
{
	struct popcorn_kmsg_restart r;
	struct rstream_ctl c;
	int ret, answer;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	switch (r.op) {
	case POPCORN_KMSG_RESTART_START:
	case POPCORN_KMSG_RESTART_STOP:
		c = (struct rstream_ctl){ .target = r.target,
					  .on = r.op == POPCORN_KMSG_RESTART_START };
		ret = popcorn_kmsg_request(r.kernel, POPCORN_KMSG_RSTREAM_CTL, &c, sizeof(c),
					   &answer, sizeof(answer), 5000);
		if (ret < 0)
			return ret;
		return ret == sizeof(answer) ? answer : -EPROTO;
	case POPCORN_KMSG_RESTART_STATS:
		ret = popcorn_kmsg_request(r.kernel, POPCORN_KMSG_RSTREAM_STATS, NULL, 0, &r,
					   sizeof(r), 5000);
		if (ret < 0)
			return ret;
		if (ret != sizeof(r))
			return ret == sizeof(int) ? -EPERM : -EPROTO;
		return copy_to_user(arg, &r, sizeof(r)) ? -EFAULT : 0;
	default:
		return -EINVAL;
	}
}

static int __init kmsg_restart_init(void)
{
	INIT_WORK(&sender.work, rstream_fn);
	popcorn_kmsg_register(POPCORN_KMSG_RSTREAM, handle_rstream);
	popcorn_kmsg_register(POPCORN_KMSG_RSTREAM_CTL, handle_ctl);
	popcorn_kmsg_register(POPCORN_KMSG_RSTREAM_STATS, handle_stats);
	return popcorn_kmsg_register_ioctl(POPCORN_KMSG_IOC_RESTART, restart_ioctl);
}
late_initcall_sync(kmsg_restart_init);
