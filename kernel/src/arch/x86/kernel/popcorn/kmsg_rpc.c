// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel messaging: requests and replies over the transport (kmsg.c),
 * the handlers every kernel has (echo, sink, sync), and the benchmarks built on them.
 *
 * A request waits for its reply in a pending slot, named by a cookie that the reply
 * carries back; a reply is copied straight from the ring into the waiter's buffer.
 * Handlers never wait: a reply that finds the ring full goes into a short per-peer
 * backlog that a work item sends when there is room, and is dropped and counted when
 * that backlog is full too. A peer that sends requests and never drains its replies
 * costs bounded work per request, never a CPU.
 */
#define pr_fmt(fmt) "popcorn kmsg: " fmt

#include <linux/completion.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "kmsg.h"

#define NR_KERNELS		POPCORN_KMSG_MAX_KERNELS
#define MAX_PENDING		64
#define BACKLOG_MAX		8		/* replies waiting for room, per peer */
#define BACKLOG_RETRY_MS	1

struct kmsg_pending {
	bool busy;
	u8 dest;
	u32 cookie;
	void *buf;
	u32 max;
	int result;		/* reply length, or an error */
	struct completion done;
};

struct kmsg_deferred {
	struct list_head node;
	u8 dest;
	u16 type;
	u32 cookie;
	u32 len;
	u8 data[];
};

/* Replies that found no room, per peer, in order. */
struct kmsg_backlog {
	spinlock_t lock;
	struct list_head list;
	unsigned int len;
	u64 deferred;
	u64 dropped;
};

static DEFINE_SPINLOCK(pending_lock);
static struct kmsg_pending pending[MAX_PENDING];
static u32 next_cookie;
static struct kmsg_backlog backlogs[NR_KERNELS];
static atomic64_t sunk;

static void kmsg_backlog_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(kmsg_backlog_work, kmsg_backlog_fn);

/* A reply: into the buffer of the request waiting for it, if any still is. */
void kmsg_deliver_reply(const struct pcn_ring_msg *msg)
{
	struct kmsg_pending *p = &pending[msg->cookie % MAX_PENDING];
	unsigned long flags;

	spin_lock_irqsave(&pending_lock, flags);
	if (p->busy && p->cookie == msg->cookie && p->dest == msg->sender &&
	    p->result == -EINPROGRESS) {
		p->result = min(msg->len, p->max);
		memcpy(p->buf, msg->data, p->result);
		complete(&p->done);
	}
	spin_unlock_irqrestore(&pending_lock, flags);
}

int popcorn_kmsg_request(unsigned int dest, u16 type, const void *data, u32 len,
			 void *reply, u32 reply_len, unsigned int timeout_ms)
{
	unsigned long flags, deadline = jiffies + msecs_to_jiffies(timeout_ms);
	struct kmsg_pending *p = NULL;
	unsigned int i;
	u32 cookie = 0;
	int ret;

	might_sleep();
	if (dest >= NR_KERNELS)
		return -EINVAL;
	spin_lock_irqsave(&pending_lock, flags);
	for (i = 0; i < MAX_PENDING && !p; i++) {
		cookie = next_cookie++;
		if (!pending[cookie % MAX_PENDING].busy)
			p = &pending[cookie % MAX_PENDING];
	}
	if (p) {
		p->busy = true;
		p->dest = dest;
		p->cookie = cookie;
		p->buf = reply;
		p->max = reply_len;
		p->result = -EINPROGRESS;
		reinit_completion(&p->done);
	}
	spin_unlock_irqrestore(&pending_lock, flags);
	if (!p)
		return -EBUSY;

	ret = kmsg_send(dest, type, PCN_RING_F_REQUEST, cookie, data, len, true);
	while (!ret && READ_ONCE(p->result) == -EINPROGRESS) {
		if (time_after(jiffies, deadline)) {
			ret = -ETIMEDOUT;
		} else if (kmsg_gave_up_on(dest)) {
			ret = -EHOSTDOWN;	/* not waited on forever */
		} else if (kmsg_mode() == POPCORN_KMSG_MODE_POLL) {
			kmsg_drain_peer(dest);	/* the answer comes on our ring */
			cpu_relax();
			cond_resched();
		} else {
			wait_for_completion_timeout(&p->done, msecs_to_jiffies(KMSG_HEARTBEAT_MS));
		}
	}
	spin_lock_irqsave(&pending_lock, flags);
	if (!ret)
		ret = p->result;
	p->result = -ECANCELED;	/* a late reply finds nobody */
	p->busy = false;
	spin_unlock_irqrestore(&pending_lock, flags);
	return ret;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_request);

/* Sends what waits for one peer, in order; false if some is still waiting. */
static bool send_backlog(struct kmsg_backlog *b)
{
	struct kmsg_deferred *d;
	unsigned long flags;
	int ret;

	for (;;) {
		spin_lock_irqsave(&b->lock, flags);
		d = list_first_entry_or_null(&b->list, struct kmsg_deferred, node);
		ret = d ? kmsg_send(d->dest, d->type, PCN_RING_F_REPLY, d->cookie, d->data, d->len,
				    false) : 0;
		if (d && ret == -EAGAIN) {
			spin_unlock_irqrestore(&b->lock, flags);
			return false;
		}
		if (d) {
			list_del(&d->node);
			b->len--;
			if (ret)
				b->dropped++;	/* it went down: nobody waits */
		}
		spin_unlock_irqrestore(&b->lock, flags);
		if (!d)
			return true;
		kfree(d);
	}
}

static void kmsg_backlog_fn(struct work_struct *work)
{
	bool waiting = false;
	unsigned int peer;

	for (peer = 0; peer < NR_KERNELS; peer++)
		if (!list_empty_careful(&backlogs[peer].list))
			waiting |= !send_backlog(&backlogs[peer]);
	if (waiting)
		schedule_delayed_work(&kmsg_backlog_work, msecs_to_jiffies(BACKLOG_RETRY_MS));
}

/*
 * Never waits: handlers answer from softirq context, with the receive lock held. A
 * reply that finds no room waits in the backlog, behind the ones already there (the
 * requester sees them in order), or is dropped and counted.
 */
int popcorn_kmsg_reply(const struct popcorn_kmsg *request, const void *data, u32 len)
{
	struct kmsg_deferred *d = NULL;
	struct kmsg_backlog *b;
	unsigned long flags;
	int ret;

	if (!request->request || request->from >= NR_KERNELS)
		return -EINVAL;
	b = &backlogs[request->from];
	spin_lock_irqsave(&b->lock, flags);
	ret = list_empty(&b->list) ? kmsg_send(request->from, request->type, PCN_RING_F_REPLY,
					       request->cookie, data, len, false) : -EAGAIN;
	if (ret != -EAGAIN)
		goto unlock;
	if (b->len < BACKLOG_MAX)
		d = kmalloc(struct_size(d, data, len), GFP_ATOMIC);
	if (!d) {
		b->dropped++;
		ret = -ENOBUFS;
		goto unlock;
	}
	d->dest = request->from;
	d->type = request->type;
	d->cookie = request->cookie;
	d->len = len;
	memcpy(d->data, data, len);
	list_add_tail(&d->node, &b->list);
	b->len++;
	b->deferred++;
	ret = 0;
	schedule_delayed_work(&kmsg_backlog_work, 0);
unlock:
	spin_unlock_irqrestore(&b->lock, flags);
	return ret;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_reply);

/* The /proc/popcorn_kmsg columns of this layer: replies_deferred replies_dropped. */
void kmsg_rpc_show(struct seq_file *m, unsigned int peer)
{
	seq_printf(m, " %llu %llu", READ_ONCE(backlogs[peer].deferred),
		   READ_ONCE(backlogs[peer].dropped));
}

static void handle_echo(const struct popcorn_kmsg *msg)
{
	if (msg->request)
		popcorn_kmsg_reply(msg, msg->data, msg->len);
}

static void handle_sink(const struct popcorn_kmsg *msg)
{
	atomic64_add(msg->len, &sunk);
}

static void handle_sync(const struct popcorn_kmsg *msg)
{
	if (msg->request)
		popcorn_kmsg_reply(msg, NULL, 0);
}

int kmsg_bench(struct popcorn_kmsg_bench *b, bool stream)
{
	u64 __user *samples = u64_to_user_ptr(b->samples);
	u64 start, t0, t;
	u8 *buf;
	u32 i;
	int ret = 0;

	if (b->flags || b->len > POPCORN_KMSG_MAX_PAYLOAD || !b->count)
		return -EINVAL;
	buf = kmalloc(POPCORN_KMSG_MAX_PAYLOAD, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	memset(buf, 0x5a, b->len);
	start = ktime_get_ns();
	for (i = 0; i < b->count && ret >= 0; i++) {
		t0 = ktime_get_ns();
		if (stream) {
			ret = popcorn_kmsg_send(b->peer, POPCORN_KMSG_SINK, buf, b->len);
			continue;
		}
		ret = popcorn_kmsg_request(b->peer, POPCORN_KMSG_ECHO, buf, b->len, buf,
					   POPCORN_KMSG_MAX_PAYLOAD, 5000);
		t = ktime_get_ns() - t0;
		if (ret >= 0 && ret != b->len)
			ret = -EPROTO;
		if (ret >= 0 && samples && put_user(t, samples + i))
			ret = -EFAULT;
		if (!(i & 63))
			cond_resched();
	}
	if (stream && ret >= 0)
		ret = popcorn_kmsg_request(b->peer, POPCORN_KMSG_SYNC, NULL, 0, NULL, 0, 10000);
	b->elapsed_ns = ktime_get_ns() - start;
	kfree(buf);
	return ret < 0 ? ret : 0;
}

void __init kmsg_rpc_init(void)
{
	unsigned int i;

	/* A reply to a request of this kernel's previous boot never matches one of this. */
	next_cookie = kmsg_epoch() << 20;
	for (i = 0; i < MAX_PENDING; i++)
		init_completion(&pending[i].done);
	for (i = 0; i < NR_KERNELS; i++) {
		spin_lock_init(&backlogs[i].lock);
		INIT_LIST_HEAD(&backlogs[i].list);
	}
	popcorn_kmsg_register(POPCORN_KMSG_ECHO, handle_echo);
	popcorn_kmsg_register(POPCORN_KMSG_SINK, handle_sink);
	popcorn_kmsg_register(POPCORN_KMSG_SYNC, handle_sync);
}
