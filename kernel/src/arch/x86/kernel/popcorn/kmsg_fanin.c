// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: all-to-one messaging benchmark.
 *
 * One kernel asks each sender to stream to the target; each sender does so from a
 * work item, ends with a request that the target answers once it has handled every
 * message before it, and notes its start and end on the TSC, which all kernels of
 * the machine share (its frequency is handed over at boot). The asking kernel polls
 * the senders for their results and spans the first start to the last end.
 */
#define pr_fmt(fmt) "popcorn kmsg fanin: " fmt

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/popcorn_kmsg.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <asm/msr.h>
#include <asm/tsc.h>

#include "popcorn.h"

#define PEERS		POPCORN_KMSG_STRESS_PEERS
#define FANIN_WAIT_S	600

struct fanin_order {
	u32 target;
	u32 len;
	u32 count;
};

struct fanin_result {
	u32 done;
	s32 error;
	u64 start_tsc;
	u64 end_tsc;
};

static struct {
	struct work_struct work;
	struct fanin_order order;
	struct fanin_result result;
	bool busy;
} fanin;

static void fanin_fn(struct work_struct *work)
{
	struct fanin_result r = { .done = 1 };
	u8 *buf = kzalloc(POPCORN_KMSG_MAX_PAYLOAD, GFP_KERNEL);
	u32 i;

	r.start_tsc = rdtsc_ordered();
	for (i = 0; buf && i < fanin.order.count && !r.error; i++) {
		r.error = popcorn_kmsg_send(fanin.order.target, POPCORN_KMSG_SINK, buf,
					    fanin.order.len);
		if (!(i & 63))
			cond_resched();
	}
	if (!buf)
		r.error = -ENOMEM;
	if (!r.error)
		r.error = popcorn_kmsg_request(fanin.order.target, POPCORN_KMSG_SYNC, NULL, 0,
					       NULL, 0, 10000);
	r.end_tsc = rdtsc_ordered();
	kfree(buf);
	fanin.result = r;
	smp_wmb();	/* the result before it can be seen done */
	WRITE_ONCE(fanin.busy, false);
}

static int fanin_start(const struct fanin_order *o)
{
	if (o->len > POPCORN_KMSG_MAX_PAYLOAD || !o->count || o->target >= PEERS ||
	    o->target == popcorn_kmsg_self())
		return -EINVAL;
	if (READ_ONCE(fanin.busy))
		return -EBUSY;
	fanin.busy = true;
	fanin.order = *o;
	memset(&fanin.result, 0, sizeof(fanin.result));
	queue_work(system_unbound_wq, &fanin.work);
	return 0;
}

static void handle_start(const struct popcorn_kmsg *msg)
{
	struct fanin_order o;
	int ret = -EINVAL;

	if (popcorn_kmsg_test_refused(msg))
		return;

	if (msg->len == sizeof(o)) {
		memcpy(&o, msg->data, sizeof(o));
		ret = fanin_start(&o);
	}
	if (msg->request)
		popcorn_kmsg_reply(msg, &ret, sizeof(ret));
}

static void handle_result(const struct popcorn_kmsg *msg)
{
	struct fanin_result r = { 0 };

	if (popcorn_kmsg_test_refused(msg))
		return;

	if (!READ_ONCE(fanin.busy)) {
		smp_rmb();	/* pairs with fanin_fn() */
		r = fanin.result;
	}
	if (msg->request)
		popcorn_kmsg_reply(msg, &r, sizeof(r));
}

static int ask(unsigned int kernel, u16 type, const void *data, u32 len, void *answer,
	       u32 answer_len)
{
	int ret = popcorn_kmsg_request(kernel, type, data, len, answer, answer_len, 5000);

	if (ret < 0)
		return ret;
	return ret == answer_len ? 0 : -EPROTO;
}

static long fanin_ioctl(unsigned int cmd, void __user *arg)
{
	unsigned long deadline = jiffies + FANIN_WAIT_S * HZ;
	struct fanin_result r[PEERS] = { 0 };
	struct popcorn_kmsg_fanin f;
	struct fanin_order o;
	u64 first = U64_MAX, last = 0;
	unsigned int k, pending;
	int ret, answer;

	if (copy_from_user(&f, arg, sizeof(f)))
		return -EFAULT;
	if (!f.senders || f.senders >= BIT(PEERS) || (f.senders & BIT(popcorn_kmsg_self())) ||
	    f.target >= PEERS || (f.senders & BIT(f.target)))
		return -EINVAL;
	o = (struct fanin_order){ .target = f.target, .len = f.len, .count = f.count };
	for (k = 0; k < PEERS; k++) {
		if (!(f.senders & BIT(k)))
			continue;
		ret = ask(k, POPCORN_KMSG_FANIN_START, &o, sizeof(o), &answer, sizeof(answer));
		if (ret || answer)
			return ret ? ret : answer;
	}
	do {
		msleep(20);
		pending = 0;
		for (k = 0; k < PEERS; k++) {
			if (!(f.senders & BIT(k)) || r[k].done)
				continue;
			ret = ask(k, POPCORN_KMSG_FANIN_RESULT, NULL, 0, &r[k], sizeof(r[k]));
			if (ret)
				return ret;
			if (!r[k].done)
				pending++;
			else if (r[k].error)
				return r[k].error;
		}
	} while (pending && time_before(jiffies, deadline));
	if (pending)
		return -ETIMEDOUT;
	for (k = 0; k < PEERS; k++) {
		if (!(f.senders & BIT(k)))
			continue;
		first = min(first, r[k].start_tsc);
		last = max(last, r[k].end_tsc);
		f.elapsed_ns[k] = div_u64((r[k].end_tsc - r[k].start_tsc) * 1000, tsc_khz / 1000);
	}
	f.span_ns = div_u64((last - first) * 1000, tsc_khz / 1000);
	return copy_to_user(arg, &f, sizeof(f)) ? -EFAULT : 0;
}

static int __init kmsg_fanin_init(void)
{
	INIT_WORK(&fanin.work, fanin_fn);
	popcorn_kmsg_register(POPCORN_KMSG_FANIN_START, handle_start);
	popcorn_kmsg_register(POPCORN_KMSG_FANIN_RESULT, handle_result);
	return popcorn_kmsg_register_ioctl(POPCORN_KMSG_IOC_FANIN, fanin_ioctl);
}
late_initcall_sync(kmsg_fanin_init);
