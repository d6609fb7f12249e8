// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: messaging between the kernels of one machine.
 *
 * The primary allocates one region at boot and hands its address to every secondary
 * in the control page. The region holds a record per kernel (written by that kernel
 * only: its epoch, the APIC ID that takes its IPIs, a heartbeat, whether it wants an
 * IPI) and a one-way ring (ring.c) for every ordered pair of kernels. Everything read
 * from another kernel's record or ring is untrusted and checked.
 *
 * A sender writes into the ring and, if the receiver asked for one, sends an IPI on
 * POPCORN_KMSG_VECTOR. The receiver's IPI handler stops further IPIs and queues a
 * softirq work item that drains the rings while there is work, then asks for IPIs
 * again (NAPI-style mitigation). In polling mode no IPIs are sent and a thread drains.
 *
 * A kernel that (re)starts bumps its epoch, resets the rings it shares and checks in
 * with every peer; a peer that sees a new epoch resets its side of those rings. A
 * peer whose heartbeat stops is reported down, and its pending requests fail; one
 * that the primary stops is down at once (the primary marks its record stopped).
 *
 * Handlers never wait: a reply that finds the ring full goes into a short per-peer
 * backlog that a work item sends when there is room, and is dropped and counted
 * when that backlog is full too. A peer that sends requests and never drains its
 * replies costs bounded work per request, never a CPU.
 */
#define pr_fmt(fmt) "popcorn kmsg: " fmt

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/popcorn_kmsg.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <asm/apic.h>
#include <asm/idtentry.h>
#include <asm/irq_vectors.h>
#include <asm/popcorn.h>

#include "popcorn.h"
#include "ring.h"

#define NR_KERNELS		POPCORN_KMSG_MAX_KERNELS
#define RING_LINES		512
#define RING_BYTES		pcn_ring_bytes(RING_LINES)
#define RECORDS_BYTES		SZ_64K
#define REGION_SIZE		(RECORDS_BYTES + NR_KERNELS * NR_KERNELS * RING_BYTES)
#define RECORD_MAGIC		0x4b4d4e50	/* "PNMK" */
#define RECORD_STOPPED		0x4b4d5453	/* "STMK": stopped by the primary */
#define TARGETS_OFFSET		SZ_32K		/* struct kmsg_targets, the primary's */
#define HEARTBEAT_MS		100
#define PEER_TIMEOUT_MS		5000	/* generous: emulated CPUs stall for seconds */
#define BUDGET			64		/* messages per ring per pass */
#define MAX_PENDING		64
#define SEND_WAIT_MS		1000
#define BACKLOG_MAX		8		/* replies waiting for room, per peer */
#define BACKLOG_RETRY_MS	1

/* One per kernel in the region; written by that kernel only. */
struct kmsg_record {
	u32 magic;
	u32 kernel_id;
	u32 epoch;		/* bumped at every start */
	u32 apic_id;		/* its boot CPU; only the primary's is used (kmsg_targets) */
	u64 heartbeat;
	/* Its own cache line: senders read it after every message. */
	u32 irq_wanted __aligned(64);
};

/*
 * Where each secondary's message IPIs go, written by the primary's loader only: a
 * secondary's own record could name any CPU, including one of the primary's.
 */
struct kmsg_targets {
	u32 apic_id[NR_KERNELS];
};

/* Our side of the two rings we share with one peer. */
struct kmsg_link {
	spinlock_t tx_lock;
	struct pcn_ring_tx tx;
	u32 tx_epoch;		/* the peer epoch our tx was reset for */
	spinlock_t rx_lock;
	struct pcn_ring_rx rx;
	u32 rx_epoch;
	u8 *rx_buf;
	bool up;		/* its heartbeat moves */
	u64 last_heartbeat;
	unsigned long last_change;
	u32 apic_id;
	u64 ipis_sent;
	struct list_head backlog;	/* replies waiting for room; under tx_lock */
	unsigned int backlog_len;
	u64 replies_deferred;
	u64 replies_dropped;
	bool test_hold_rx;		/* tests only: leave this peer's messages unread */
};

struct kmsg_deferred {
	struct list_head node;
	u16 type;
	u32 cookie;
	u32 len;
	u8 data[];
};

struct kmsg_pending {
	bool busy;
	u8 dest;
	u32 cookie;
	void *buf;
	u32 max;
	int result;		/* reply length, or an error */
	struct completion done;
};

static u8 *region;			/* mapped; NULL: no messaging */
static phys_addr_t region_phys;
static int self = -1;
static struct kmsg_link links[NR_KERNELS];
static popcorn_kmsg_handler_t handlers[POPCORN_KMSG_NR_TYPES];
static DEFINE_SPINLOCK(pending_lock);
static struct kmsg_pending pending[MAX_PENDING];
static u32 next_cookie;
static u32 mode = POPCORN_KMSG_MODE_IPI;
static struct task_struct *poller;
static u64 ipis_received;
static atomic64_t sunk;

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "popcorn_kmsg."
/* Whether peers may start test code here (stress, fan-in, mode switches). */
static bool test_opt_in;
module_param_named(test, test_opt_in, bool, 0400);

static void kmsg_rx_work_fn(struct work_struct *work);
static DECLARE_WORK(kmsg_rx_work, kmsg_rx_work_fn);
static void kmsg_heartbeat_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(kmsg_heartbeat_work, kmsg_heartbeat_fn);
static void kmsg_backlog_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(kmsg_backlog_work, kmsg_backlog_fn);

static struct kmsg_record *record(unsigned int kernel)
{
	return (struct kmsg_record *)(region + kernel * 128);
}

static struct kmsg_targets *targets(void)
{
	return (struct kmsg_targets *)(region + TARGETS_OFFSET);
}

static struct pcn_ring_shared *ring(unsigned int from, unsigned int to)
{
	return (struct pcn_ring_shared *)(region + RECORDS_BYTES +
					  (from * NR_KERNELS + to) * RING_BYTES);
}

/* The peer's epoch, if its record is valid; 0 otherwise. */
static u32 peer_epoch(unsigned int peer)
{
	struct kmsg_record *r = record(peer);

	if (READ_ONCE(r->magic) != RECORD_MAGIC || READ_ONCE(r->kernel_id) != peer)
		return 0;
	return smp_load_acquire(&r->epoch);	/* its ring resets happened before */
}

/* A peer restarted: forget what we knew of the rings we share with it. */
static void resync_tx(struct kmsg_link *l, unsigned int peer, u32 epoch)
{
	pcn_ring_tx_init(&l->tx, ring(self, peer), RING_LINES, self);
	l->tx_epoch = epoch;
	/* The primary names its own CPU; the loader named every secondary's. */
	l->apic_id = peer ? READ_ONCE(targets()->apic_id[peer]) : READ_ONCE(record(0)->apic_id);
}

static void resync_rx(struct kmsg_link *l, unsigned int peer, u32 epoch)
{
	pcn_ring_rx_init(&l->rx, ring(peer, self), RING_LINES, peer, POPCORN_KMSG_NR_TYPES,
			 POPCORN_KMSG_MAX_PAYLOAD);
	l->rx_epoch = epoch;
}

static void send_ipi(struct kmsg_link *l, unsigned int peer)
{
	unsigned long flags;

	local_irq_save(flags);
	apic_icr_write(POPCORN_KMSG_VECTOR | APIC_DM_FIXED | APIC_DEST_PHYSICAL, l->apic_id);
	if (!x2apic_enabled())
		safe_apic_wait_icr_idle();
	local_irq_restore(flags);
	l->ipis_sent++;
}

/* Takes our ring to dest, in step with dest's epoch; false if dest never started. */
static bool lock_tx(struct kmsg_link *l, unsigned int dest, unsigned long *irqflags)
{
	u32 epoch;

	spin_lock_irqsave(&l->tx_lock, *irqflags);
	epoch = peer_epoch(dest);	/* under the lock: two senders resync once, in order */
	if (!epoch) {
		spin_unlock_irqrestore(&l->tx_lock, *irqflags);
		return false;
	}
	if (epoch != l->tx_epoch)
		resync_tx(l, dest, epoch);
	return true;
}

/* After a message went into the ring: an IPI, if dest asked for one. */
static void notify(struct kmsg_link *l, unsigned int dest)
{
	smp_mb();	/* head before irq_wanted; pairs with the receiver's re-check */
	if (READ_ONCE(record(dest)->irq_wanted))
		send_ipi(l, dest);
}

/*
 * Into our ring to dest. A full ring: -EAGAIN at once, unless the caller may block
 * (process context, no lock held), which then waits for room up to SEND_WAIT_MS.
 */
static int send(unsigned int dest, u16 type, u8 flags, u32 cookie, const void *data, u32 len,
		bool may_block)
{
	struct kmsg_link *l;
	unsigned long irqflags, deadline = jiffies + msecs_to_jiffies(SEND_WAIT_MS);
	int ret;

	if (!region)
		return -ENODEV;
	if (dest >= NR_KERNELS || dest == self || type >= POPCORN_KMSG_NR_TYPES)
		return -EINVAL;
	if (len > POPCORN_KMSG_MAX_PAYLOAD)
		return -EMSGSIZE;
	l = &links[dest];
	for (;;) {
		if (!lock_tx(l, dest, &irqflags))
			return -EHOSTDOWN;
		ret = pcn_ring_send(&l->tx, type, flags, cookie, data, len);
		spin_unlock_irqrestore(&l->tx_lock, irqflags);
		if (ret != -EAGAIN || !may_block)
			break;
		if (time_after(jiffies, deadline) || !l->up)
			return -EHOSTDOWN;	/* it does not drain its ring */
		usleep_range(10, 50);
	}
	if (!ret)
		notify(l, dest);
	return ret;
}

/* Process context only: waits for room in a full ring. Handlers use _nowait. */
int popcorn_kmsg_send(unsigned int dest, u16 type, const void *data, u32 len)
{
	might_sleep();
	return send(dest, type, 0, 0, data, len, true);
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_send);

int popcorn_kmsg_send_nowait(unsigned int dest, u16 type, const void *data, u32 len)
{
	return send(dest, type, 0, 0, data, len, false);
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_send_nowait);

#ifdef CONFIG_POPCORN_KMSG_TEST
/*
 * Writes whole lines into our ring to dest as they are, bypassing every rule of the
 * send path: for the stress test's malformed messages (kmsg_stress.c) only.
 */
int popcorn_kmsg_inject_raw(unsigned int dest, const void *lines, u32 nlines)
{
	struct kmsg_link *l;
	unsigned long irqflags;
	int ret;

	if (!region || dest >= NR_KERNELS || dest == self)
		return -EINVAL;
	l = &links[dest];
	if (!lock_tx(l, dest, &irqflags))
		return -EHOSTDOWN;
	ret = pcn_ring_send_raw(&l->tx, lines, nlines);
	spin_unlock_irqrestore(&l->tx_lock, irqflags);
	if (!ret)
		notify(l, dest);
	return ret;
}

/* How many messages from this peer our ring rejected as malformed. */
u64 popcorn_kmsg_rejected(unsigned int peer)
{
	return peer < NR_KERNELS && peer != self ? READ_ONCE(links[peer].rx.malformed) : 0;
}

/* The next sequence number our ring to dest will carry (for a wrong one on purpose). */
u32 popcorn_kmsg_tx_seq(unsigned int dest)
{
	return dest < NR_KERNELS && dest != self ? READ_ONCE(links[dest].tx.seq) : 0;
}
#endif

/* Sends what waits in one peer's backlog, in order; false if some is still waiting. */
static bool send_backlog(unsigned int peer)
{
	struct kmsg_link *l = &links[peer];
	struct kmsg_deferred *d;
	unsigned long irqflags;
	bool up;
	int ret;

	for (;;) {
		up = lock_tx(l, peer, &irqflags);
		if (!up)
			spin_lock_irqsave(&l->tx_lock, irqflags);
		d = list_first_entry_or_null(&l->backlog, struct kmsg_deferred, node);
		ret = -EHOSTDOWN;
		if (d && up)
			ret = pcn_ring_send(&l->tx, d->type, PCN_RING_F_REPLY, d->cookie, d->data,
					    d->len);
		if (d && ret == -EAGAIN) {
			spin_unlock_irqrestore(&l->tx_lock, irqflags);
			return false;
		}
		if (d) {
			list_del(&d->node);
			l->backlog_len--;
			if (ret)
				l->replies_dropped++;	/* it went down: nobody waits */
		}
		spin_unlock_irqrestore(&l->tx_lock, irqflags);
		if (!d)
			return true;
		if (!ret)
			notify(l, peer);
		kfree(d);
	}
}

static void kmsg_backlog_fn(struct work_struct *work)
{
	bool waiting = false;
	unsigned int peer;

	for (peer = 0; peer < NR_KERNELS; peer++)
		if (peer != self && !list_empty_careful(&links[peer].backlog))
			waiting |= !send_backlog(peer);
	if (waiting)
		schedule_delayed_work(&kmsg_backlog_work, msecs_to_jiffies(BACKLOG_RETRY_MS));
}

/* A reply that found no room: kept for the backlog's work, or dropped and counted. */
static int defer_reply(unsigned int peer, u16 type, u32 cookie, const void *data, u32 len)
{
	struct kmsg_link *l = &links[peer];
	struct kmsg_deferred *d = NULL;
	unsigned long irqflags;

	if (READ_ONCE(l->backlog_len) < BACKLOG_MAX)
		d = kmalloc(struct_size(d, data, len), GFP_ATOMIC);
	spin_lock_irqsave(&l->tx_lock, irqflags);
	if (!d || l->backlog_len >= BACKLOG_MAX) {
		l->replies_dropped++;
		spin_unlock_irqrestore(&l->tx_lock, irqflags);
		kfree(d);
		return -ENOBUFS;
	}
	d->type = type;
	d->cookie = cookie;
	d->len = len;
	memcpy(d->data, data, len);
	list_add_tail(&d->node, &l->backlog);
	l->backlog_len++;
	l->replies_deferred++;
	spin_unlock_irqrestore(&l->tx_lock, irqflags);
	schedule_delayed_work(&kmsg_backlog_work, 0);
	return 0;
}

/* Never waits: handlers answer from softirq context, with the receive lock held. */
int popcorn_kmsg_reply(const struct popcorn_kmsg *request, const void *data, u32 len)
{
	unsigned int peer = request->from;
	int ret;

	if (!request->request)
		return -EINVAL;
	/* Behind a backlog, a reply waits its turn: the requester sees them in order. */
	if (peer < NR_KERNELS && peer != self && !list_empty_careful(&links[peer].backlog))
		ret = -EAGAIN;
	else
		ret = send(peer, request->type, PCN_RING_F_REPLY, request->cookie, data, len,
			   false);
	if (ret == -EAGAIN)
		ret = defer_reply(peer, request->type, request->cookie, data, len);
	return ret;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_reply);

/*
 * Test code that a peer can start here (stress, fan-in, a mode switch) runs only if
 * this kernel was booted with popcorn_kmsg.test=1; otherwise the request is answered
 * with -EPERM. True if the request was refused.
 */
bool popcorn_kmsg_test_refused(const struct popcorn_kmsg *request)
{
	int ret = -EPERM;

	if (IS_ENABLED(CONFIG_POPCORN_KMSG_TEST) && test_opt_in)
		return false;
	if (request->request)
		popcorn_kmsg_reply(request, &ret, sizeof(ret));
	return true;
}

#ifdef CONFIG_POPCORN_KMSG_TEST
/* Tests only: leave a peer's messages unread (true), or read them again (false). */
void popcorn_kmsg_test_hold_rx(unsigned int peer, bool hold)
{
	if (peer < NR_KERNELS && peer != self) {
		WRITE_ONCE(links[peer].test_hold_rx, hold);
		if (!hold)
			queue_work(system_bh_highpri_wq, &kmsg_rx_work);
	}
}

/*
 * Tests only: a request that nobody waits for (its reply matches no pending
 * request), without waiting for room: -EAGAIN when the ring is full.
 */
int popcorn_kmsg_test_request_nowait(unsigned int dest, u16 type, const void *data, u32 len)
{
	return send(dest, type, PCN_RING_F_REQUEST, U32_MAX, data, len, false);
}
#endif

/* The primary, stopping a secondary: its peers see it down before its CPUs stop. */
void popcorn_kmsg_kernel_stopped(unsigned int kernel)
{
	if (!region || self != 0 || !kernel || kernel >= NR_KERNELS)
		return;
	/* Its epoch stays: the next kernel there starts from it, and peers resync. */
	WRITE_ONCE(record(kernel)->magic, RECORD_STOPPED);
	WRITE_ONCE(links[kernel].up, false);
	smp_mb();	/* stopped before its CPUs get INIT */
}

int popcorn_kmsg_register(u16 type, popcorn_kmsg_handler_t handler)
{
	if (type >= POPCORN_KMSG_NR_TYPES)
		return -EINVAL;
	return cmpxchg(&handlers[type], NULL, handler) ? -EBUSY : 0;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_register);

int popcorn_kmsg_self(void)
{
	return region ? self : -ENODEV;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_self);

bool popcorn_kmsg_peer_up(unsigned int kernel)
{
	return region && kernel < NR_KERNELS && kernel != self && READ_ONCE(links[kernel].up) &&
	       peer_epoch(kernel);
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_peer_up);

/* A reply: hand it to the request waiting for it, if any still is. */
static void deliver_reply(const struct pcn_ring_hdr *hdr, const void *data)
{
	unsigned int slot = hdr->cookie % MAX_PENDING;
	struct kmsg_pending *p = &pending[slot];
	unsigned long flags;

	spin_lock_irqsave(&pending_lock, flags);
	if (p->busy && p->cookie == hdr->cookie && p->dest == hdr->sender &&
	    p->result == -EINPROGRESS) {
		p->result = min(hdr->len, p->max);
		memcpy(p->buf, data, p->result);
		complete(&p->done);
	}
	spin_unlock_irqrestore(&pending_lock, flags);
}

static void dispatch(const struct pcn_ring_hdr *hdr, const void *data)
{
	struct popcorn_kmsg msg = {
		.from = hdr->sender, .type = hdr->type, .cookie = hdr->cookie,
		.request = hdr->flags & PCN_RING_F_REQUEST, .data = data, .len = hdr->len,
	};
	popcorn_kmsg_handler_t handler;

	if (hdr->flags & PCN_RING_F_REPLY) {
		deliver_reply(hdr, data);
		return;
	}
	handler = READ_ONCE(handlers[hdr->type]);
	if (handler)
		handler(&msg);
}

/*
 * Work from this peer? A hint without the lock, for pollers that pass here millions
 * of times with nothing: a new epoch, or a head we have not reached. It reads the
 * shared ring itself, never rx.sh, which a resync rewrites under the lock.
 */
static bool rx_hint(unsigned int peer, u32 epoch)
{
	const struct kmsg_link *l = &links[peer];

	return READ_ONCE(l->rx_epoch) != epoch ||
	       READ_ONCE(ring(peer, self)->head) != READ_ONCE(l->rx.tail);
}

/* Drains up to budget messages from one peer; returns how many were taken. */
static int drain_peer(unsigned int peer, int budget)
{
	struct kmsg_link *l = &links[peer];
	struct pcn_ring_hdr hdr;
	u32 epoch = peer_epoch(peer);
	int done = 0, ret;

	if (!epoch || READ_ONCE(l->test_hold_rx) || !rx_hint(peer, epoch) ||
	    !spin_trylock(&l->rx_lock))
		return 0;
	if (epoch != l->rx_epoch)
		resync_rx(l, peer, epoch);
	while (done < budget) {
		ret = pcn_ring_recv(&l->rx, &hdr, l->rx_buf);
		if (!ret)
			break;
		done++;
		if (ret > 0)
			dispatch(&hdr, l->rx_buf);
	}
	spin_unlock(&l->rx_lock);
	return done;
}

/* One pass over every peer; true if some ring may still hold messages. */
static bool drain_all(void)
{
	bool more = false;
	unsigned int peer;

	for (peer = 0; peer < NR_KERNELS; peer++) {
		if (peer == self || !links[peer].rx_buf)
			continue;
		if (drain_peer(peer, BUDGET) == BUDGET)
			more = true;
	}
	return more;
}

static bool rings_empty(void)
{
	unsigned int peer;

	for (peer = 0; peer < NR_KERNELS; peer++) {
		u32 epoch = peer_epoch(peer);

		if (peer == self || !links[peer].rx_buf || !epoch || READ_ONCE(links[peer].test_hold_rx))
			continue;
		if (rx_hint(peer, epoch))
			return false;
	}
	return true;
}

static void kmsg_rx_work_fn(struct work_struct *work)
{
	struct kmsg_record *me = record(self);

	if (drain_all()) {
		queue_work(system_bh_highpri_wq, &kmsg_rx_work);
		return;
	}
	if (READ_ONCE(mode) != POPCORN_KMSG_MODE_IPI)
		return;
	WRITE_ONCE(me->irq_wanted, 1);
	smp_mb();	/* irq_wanted before the re-check; pairs with the sender's smp_mb() */
	if (!rings_empty()) {
		WRITE_ONCE(me->irq_wanted, 0);
		queue_work(system_bh_highpri_wq, &kmsg_rx_work);
	}
}

DEFINE_IDTENTRY_SYSVEC(sysvec_popcorn_kmsg)
{
	apic_eoi();
	ipis_received++;
	if (region && self >= 0) {
		WRITE_ONCE(record(self)->irq_wanted, 0);	/* no more until drained */
		queue_work(system_bh_highpri_wq, &kmsg_rx_work);
	}
}

static int kmsg_poll_thread(void *unused)
{
	while (!kthread_should_stop()) {
		if (!drain_all())
			cpu_relax();
		cond_resched();
	}
	return 0;
}

static int set_mode(u32 new_mode)
{
	static DEFINE_MUTEX(mode_lock);
	struct task_struct *t;

	if (new_mode != POPCORN_KMSG_MODE_IPI && new_mode != POPCORN_KMSG_MODE_POLL)
		return -EINVAL;
	guard(mutex)(&mode_lock);
	if (new_mode == READ_ONCE(mode))
		return 0;
	if (new_mode == POPCORN_KMSG_MODE_POLL) {
		t = kthread_run(kmsg_poll_thread, NULL, "kmsg_poll");
		if (IS_ERR(t))
			return PTR_ERR(t);
		WRITE_ONCE(mode, new_mode);
		WRITE_ONCE(record(self)->irq_wanted, 0);
		poller = t;
	} else {
		kthread_stop(poller);
		poller = NULL;
		WRITE_ONCE(mode, new_mode);
		queue_work(system_bh_highpri_wq, &kmsg_rx_work);	/* re-arms irq_wanted */
	}
	pr_info("mode %s\n", new_mode == POPCORN_KMSG_MODE_POLL ? "poll" : "ipi");
	return 0;
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

	ret = send(dest, type, PCN_RING_F_REQUEST, cookie, data, len, true);
	while (!ret && READ_ONCE(p->result) == -EINPROGRESS) {
		if (time_after(jiffies, deadline)) {
			ret = -ETIMEDOUT;
		} else if (!READ_ONCE(links[dest].up) && time_after(jiffies, links[dest].last_change +
					msecs_to_jiffies(PEER_TIMEOUT_MS))) {
			ret = -EHOSTDOWN;	/* not waited on forever */
		} else if (READ_ONCE(mode) == POPCORN_KMSG_MODE_POLL) {
			drain_peer(dest, BUDGET);	/* the answer comes on our ring */
			cpu_relax();
			cond_resched();
		} else {
			wait_for_completion_timeout(&p->done, msecs_to_jiffies(HEARTBEAT_MS));
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

static void handle_checkin(const struct popcorn_kmsg *msg)
{
	pr_info("kernel %u checked in\n", msg->from);
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

/* Switching starts or stops a thread, which softirq context cannot do: a work item. */
static struct {
	struct work_struct work;
	struct popcorn_kmsg request;	/* data is not kept: the mode is copied */
	u32 mode;
	bool busy;
} mode_switch;

static void mode_switch_fn(struct work_struct *work)
{
	int ret = set_mode(mode_switch.mode);

	popcorn_kmsg_reply(&mode_switch.request, &ret, sizeof(ret));
	WRITE_ONCE(mode_switch.busy, false);
}

static void handle_set_mode(const struct popcorn_kmsg *msg)
{
	int ret = -EINVAL;

	if (!msg->request || popcorn_kmsg_test_refused(msg))
		return;
	if (msg->len != sizeof(u32) || READ_ONCE(mode_switch.busy)) {
		ret = msg->len != sizeof(u32) ? -EINVAL : -EBUSY;
		popcorn_kmsg_reply(msg, &ret, sizeof(ret));
		return;
	}
	mode_switch.busy = true;
	mode_switch.request = *msg;
	mode_switch.request.data = NULL;
	memcpy(&mode_switch.mode, msg->data, sizeof(u32));
	schedule_work(&mode_switch.work);
}

static int set_kernel_mode(const struct popcorn_kmsg_set_mode *m)
{
	int ret, answer;

	if (m->kernel == U32_MAX || m->kernel == self)	/* U32_MAX: this kernel */
		return set_mode(m->mode);
	ret = popcorn_kmsg_request(m->kernel, POPCORN_KMSG_SET_MODE, &m->mode, sizeof(m->mode),
				   &answer, sizeof(answer), 5000);
	if (ret < 0)
		return ret;
	return ret == sizeof(answer) ? answer : -EPROTO;
}

/* Heartbeat, and which peers are alive: a peer is down when its heartbeat stops. */
static void kmsg_heartbeat_fn(struct work_struct *work)
{
	struct kmsg_record *me = record(self);
	unsigned int peer;

	WRITE_ONCE(me->heartbeat, READ_ONCE(me->heartbeat) + 1);
	for (peer = 0; peer < NR_KERNELS; peer++) {
		struct kmsg_link *l = &links[peer];
		u64 beat;

		if (peer == self)
			continue;
		beat = peer_epoch(peer) ? READ_ONCE(record(peer)->heartbeat) : l->last_heartbeat;
		if (beat != l->last_heartbeat) {
			l->last_heartbeat = beat;
			l->last_change = jiffies;
			if (!l->up) {
				WRITE_ONCE(l->up, true);
				pr_info("kernel %u is up (epoch %u)\n", peer, peer_epoch(peer));
			}
		} else if (l->up && time_after(jiffies, l->last_change +
					       msecs_to_jiffies(PEER_TIMEOUT_MS))) {
			WRITE_ONCE(l->up, false);
			pr_warn("kernel %u stopped answering\n", peer);
		}
	}
	/* Also the safety net for a lost IPI. */
	if (READ_ONCE(mode) == POPCORN_KMSG_MODE_IPI && !rings_empty())
		queue_work(system_bh_highpri_wq, &kmsg_rx_work);
	schedule_delayed_work(&kmsg_heartbeat_work, msecs_to_jiffies(HEARTBEAT_MS));
}

static int bench(struct popcorn_kmsg_bench *b, bool stream)
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

static long pkmsg_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct popcorn_kmsg_bench b;
	struct popcorn_kmsg_set_mode m;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case POPCORN_KMSG_IOC_PING:
	case POPCORN_KMSG_IOC_STREAM:
		if (copy_from_user(&b, (void __user *)arg, sizeof(b)))
			return -EFAULT;
		ret = bench(&b, cmd == POPCORN_KMSG_IOC_STREAM);
		if (copy_to_user((void __user *)arg, &b, sizeof(b)))
			return -EFAULT;
		return ret;
#ifdef CONFIG_POPCORN_KMSG_TEST
	case POPCORN_KMSG_IOC_STRESS:
	case POPCORN_KMSG_IOC_STRESS_STATS:
		return popcorn_kmsg_stress_ioctl(cmd, (void __user *)arg);
	case POPCORN_KMSG_IOC_FANIN:
		return popcorn_kmsg_fanin_ioctl((void __user *)arg);
	case POPCORN_KMSG_IOC_FLOOD:
		return popcorn_kmsg_flood_ioctl((void __user *)arg);
#endif
	case POPCORN_KMSG_IOC_MODE:
		if (copy_from_user(&m, (void __user *)arg, sizeof(m)))
			return -EFAULT;
		return set_kernel_mode(&m);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations pkmsg_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= pkmsg_ioctl,
};

static struct miscdevice pkmsg_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "popcorn_kmsg",
	.fops	= &pkmsg_fops,
};

static int pkmsg_show(struct seq_file *m, void *v)
{
	unsigned int peer;

	seq_printf(m, "self %d mode %s ipis_received %llu sunk_bytes %lld\n", self,
		   mode == POPCORN_KMSG_MODE_POLL ? "poll" : "ipi", ipis_received,
		   atomic64_read(&sunk));
	seq_puts(m, "peer up epoch sent received malformed resyncs full bad_tail ipis_sent replies_deferred replies_dropped\n");
	for (peer = 0; peer < NR_KERNELS; peer++) {
		const struct kmsg_link *l = &links[peer];

		if (peer == self || !peer_epoch(peer))
			continue;
		seq_printf(m, "%u %d %u %llu %llu %llu %llu %llu %llu %llu %llu %llu\n", peer, l->up,
			   peer_epoch(peer), l->tx.sent, l->rx.received, l->rx.malformed,
			   l->rx.resyncs, l->tx.full, l->tx.bad_tail, l->ipis_sent,
			   l->replies_deferred, l->replies_dropped);
	}
	return 0;
}

/* The loader, before it starts a secondary: the CPU that takes its message IPIs. */
void popcorn_kmsg_set_ipi_target(unsigned int kernel, u32 apic_id)
{
	if (region && self == 0 && kernel && kernel < NR_KERNELS)
		WRITE_ONCE(targets()->apic_id[kernel], apic_id);
}

phys_addr_t popcorn_kmsg_region(size_t *size)
{
	*size = REGION_SIZE;
	return region ? region_phys : 0;
}

/* Where the region is: the primary allocates it, a secondary reads its control page. */
static int __init kmsg_find_region(void)
{
	struct popcorn_ctrl *ctrl = popcorn_secondary_ctrl();
	void *pages;

	if (!ctrl) {
		pages = alloc_pages_exact(REGION_SIZE, GFP_KERNEL | __GFP_ZERO);
		if (!pages)
			return -ENOMEM;
		region = pages;
		region_phys = virt_to_phys(pages);
		self = 0;
		return 0;
	}
	if (!ctrl->kmsg_phys || ctrl->kmsg_size != REGION_SIZE || ctrl->kernel_id == 0 ||
	    ctrl->kernel_id >= NR_KERNELS || !PAGE_ALIGNED(ctrl->kmsg_phys)) {
		pr_err("the control page offers no usable region (%#llx, %llu bytes)\n",
		       ctrl->kmsg_phys, ctrl->kmsg_size);
		return -ENODEV;
	}
	region = memremap(ctrl->kmsg_phys, REGION_SIZE, MEMREMAP_WB);
	if (!region)
		return -ENOMEM;
	region_phys = ctrl->kmsg_phys;
	self = ctrl->kernel_id;
	return 0;
}

static int __init popcorn_kmsg_init(void)
{
	struct kmsg_record *me;
	unsigned int peer;
	u32 epoch;
	int ret;

	BUILD_BUG_ON(sizeof(struct kmsg_record) > 128 || NR_KERNELS * 128 > TARGETS_OFFSET ||
		     TARGETS_OFFSET + sizeof(struct kmsg_targets) > RECORDS_BYTES);
	ret = kmsg_find_region();
	if (ret) {
		pr_err("no messaging: %d\n", ret);
		return ret;
	}
	for (peer = 0; peer < NR_KERNELS; peer++) {
		spin_lock_init(&links[peer].tx_lock);
		spin_lock_init(&links[peer].rx_lock);
		INIT_LIST_HEAD(&links[peer].backlog);
		if (peer == self)
			continue;
		links[peer].rx_buf = kmalloc(POPCORN_KMSG_MAX_PAYLOAD, GFP_KERNEL);
		if (!links[peer].rx_buf)
			return -ENOMEM;
		/* Our rings with this peer start empty; it resets its side on our new epoch. */
		pcn_ring_reset(ring(self, peer));
		pcn_ring_reset(ring(peer, self));
	}
	for (peer = 0; peer < MAX_PENDING; peer++)
		init_completion(&pending[peer].done);
	popcorn_kmsg_register(POPCORN_KMSG_CHECKIN, handle_checkin);
	popcorn_kmsg_register(POPCORN_KMSG_ECHO, handle_echo);
	popcorn_kmsg_register(POPCORN_KMSG_SINK, handle_sink);
	popcorn_kmsg_register(POPCORN_KMSG_SYNC, handle_sync);
	popcorn_kmsg_register(POPCORN_KMSG_SET_MODE, handle_set_mode);
	INIT_WORK(&mode_switch.work, mode_switch_fn);

	me = record(self);
	epoch = READ_ONCE(me->magic) == RECORD_MAGIC || READ_ONCE(me->magic) == RECORD_STOPPED ?
		READ_ONCE(me->epoch) + 1 : 1;
	WRITE_ONCE(me->kernel_id, self);
	WRITE_ONCE(me->apic_id, cpu_physical_id(0));	/* the boot CPU takes the IPIs */
	WRITE_ONCE(me->irq_wanted, 1);
	WRITE_ONCE(me->magic, RECORD_MAGIC);
	smp_store_release(&me->epoch, epoch);	/* after the ring resets */
	kmsg_heartbeat_fn(NULL);
	for (peer = 0; peer < NR_KERNELS; peer++)
		if (peer != self && peer_epoch(peer))
			popcorn_kmsg_send_nowait(peer, POPCORN_KMSG_CHECKIN, &epoch, sizeof(epoch));
	pr_info("kernel %d, epoch %u, region %pa (%lu KiB), IPIs to APIC ID %u\n", self, epoch,
		&region_phys, REGION_SIZE >> 10, me->apic_id);
	if (!proc_create_single("popcorn_kmsg", 0444, NULL, pkmsg_show))
		return -ENOMEM;
	return misc_register(&pkmsg_dev);
}
late_initcall_sync(popcorn_kmsg_init);
