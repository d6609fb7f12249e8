// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: the transport between the kernels of one machine.
 *
 * The primary allocates one region at boot and hands its address to every secondary
 * in the control page. The region holds a record per kernel, a page each (written by
 * that kernel only: its epoch, a heartbeat, whether it wants an IPI or polls) and a
 * one-way ring (ring.c) for every ordered pair of kernels, page-aligned. A secondary
 * maps its own record read-write, its peers' read-only, and only the rings it is an
 * end of; the primary, whose memory the region is, has it all. Where a kernel's
 * message IPIs go comes from the primary: its own table, or a secondary's control
 * page, never from memory another secondary can write. Everything read from another
 * kernel's record or ring is untrusted and checked.
 *
 * A sender writes into the ring and, if the receiver asked for one, sends an IPI on
 * POPCORN_KMSG_VECTOR. The receiver's IPI handler stops further IPIs and queues a
 * softirq work item that drains the rings while there is work, then asks for IPIs
 * again (NAPI-style mitigation). In polling mode no IPIs are sent and a thread drains.
 *
 * A kernel that (re)starts bumps its epoch. Each ring is reset for the pair of its
 * two ends' epochs, each end resetting only its own side (ring.h): the receiver when
 * it sees the sender's new epoch (on the heartbeat, or when it drains), the sender
 * on its next send. A peer whose heartbeat stops is reported down, and its pending
 * requests fail; one that the primary stops is down at once (the primary marks its
 * record stopped).
 *
 * The request/reply layer is kmsg_rpc.c; test code registers its handlers and ioctls
 * here (kmsg_test.c and what it names). The network driver's rings are not in the
 * region: kmsg_chan.c allocates them, and the primary's record names where.
 */
#define pr_fmt(fmt) "popcorn kmsg: " fmt

#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mutex.h>
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

#include "kmsg.h"
#include "popcorn.h"

#define NR_KERNELS		POPCORN_KMSG_MAX_KERNELS
#define RING_SLOTS		256
#define RING_DATA_LINES		512		/* 32 KiB: the largest payload fits twice */
#define RING_STRIDE		PAGE_ALIGN(sizeof(struct pcn_ring_shared) + \
					   (RING_SLOTS + RING_DATA_LINES) * PCN_RING_LINE)
#define RECORDS_BYTES		SZ_64K		/* a page per kernel */
#define REGION_SIZE		(RECORDS_BYTES + NR_KERNELS * NR_KERNELS * RING_STRIDE)
#define RECORD_MAGIC		0x4b4d4e50	/* "PNMK" */
#define RECORD_STOPPED		0x4b4d5453	/* "STMK": stopped by the primary */
#define BUDGET			64		/* messages per ring per pass */
#define SEND_WAIT_MS		1000
#define MAX_IOCTLS		16

static const struct pcn_ring_geometry geometry = {
	.nslots = RING_SLOTS, .ndata = RING_DATA_LINES,
};

/* One per kernel in the region, a page each; written by that kernel only. */
struct kmsg_record {
	u32 magic;
	u32 kernel_id;
	u32 epoch;		/* bumped at every start */
	u32 apic_id;		/* its boot CPU; only the primary's is used */
	u64 heartbeat;
	u32 polls;		/* it polls: it wants no IPI, senders need not look */
	/* Its own cache line: senders read it after every message. */
	u32 irq_wanted __aligned(64);
	/* The primary's only: where each kernel's channel rings are (kmsg_chan.c). */
	u64 chan_phys[NR_KERNELS] __aligned(64);
};

/* Our side of the two rings we share with one peer. */
struct kmsg_link {
	spinlock_t tx_lock;
	struct pcn_ring_tx tx;
	u32 tx_epoch;		/* the peer epoch our side of its ring was reset for */
	spinlock_t rx_lock;
	struct pcn_ring_rx rx;
	u32 rx_epoch;
	u8 *rx_buf;
	bool up;		/* its heartbeat moves */
	u64 last_heartbeat;
	unsigned long last_change;
	u32 apic_id;
	u64 ipis_sent;
	/* Its record, as the heartbeat (or an error) last read it: not read per message. */
	u32 epoch_seen;
	bool polls_seen;
	bool hold_rx;		/* tests only: leave this peer's messages unread */
};

struct kmsg_ioctl {
	unsigned int cmd;
	popcorn_kmsg_ioctl_t fn;
};

static u8 *region;			/* mapped; NULL: no messaging */
static phys_addr_t region_phys;
static int self = -1;
static u32 my_epoch;
static struct kmsg_link links[NR_KERNELS];
static popcorn_kmsg_handler_t handlers[POPCORN_KMSG_NR_TYPES];
static struct kmsg_ioctl ioctls[MAX_IOCTLS];
static DEFINE_SPINLOCK(ioctls_lock);
static u32 mode = POPCORN_KMSG_MODE_IPI;
static u32 primary_targets[NR_KERNELS];	/* the primary's: where secondaries' IPIs go */
static struct task_struct *poller;
static u64 ipis_received;

static void kmsg_rx_work_fn(struct work_struct *work);
static DECLARE_WORK(kmsg_rx_work, kmsg_rx_work_fn);
static void kmsg_heartbeat_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(kmsg_heartbeat_work, kmsg_heartbeat_fn);

static struct kmsg_record *record(unsigned int kernel)
{
	return (struct kmsg_record *)(region + kernel * PAGE_SIZE);
}

/*
 * The APIC ID that takes a peer's message IPIs: the primary names its own CPU in its
 * record (its memory, never written by a secondary); the loader names every
 * secondary's, in the primary's own table and in each secondary's control page.
 */
static u32 ipi_target(unsigned int peer)
{
	struct popcorn_ctrl *ctrl = popcorn_secondary_ctrl();

	if (!peer)
		return READ_ONCE(record(0)->apic_id);
	return ctrl ? READ_ONCE(ctrl->kmsg_targets[peer]) : READ_ONCE(primary_targets[peer]);
}

static struct pcn_ring_shared *ring(unsigned int from, unsigned int to)
{
	return (struct pcn_ring_shared *)(region + RECORDS_BYTES +
					  (from * NR_KERNELS + to) * RING_STRIDE);
}

/* The peer's epoch, if its record is valid; 0 otherwise. */
static u32 peer_epoch(unsigned int peer)
{
	struct kmsg_record *r = record(peer);

	/* Acquire: its epoch, and its sides of our rings, came before it said it runs. */
	if (smp_load_acquire(&r->magic) != RECORD_MAGIC || READ_ONCE(r->kernel_id) != peer)
		return 0;
	return READ_ONCE(r->epoch);
}

u32 kmsg_epoch(void)
{
	return my_epoch;
}

/* The peer restarted, or we did: our side of our ring to it, for the new pair. */
static void resync_tx(struct kmsg_link *l, unsigned int peer, u32 epoch)
{
	pcn_ring_tx_reset(&l->tx, pcn_ring_pair(my_epoch, epoch));
	l->tx_epoch = epoch;
	l->apic_id = ipi_target(peer);
}

static void resync_rx(struct kmsg_link *l, unsigned int peer, u32 epoch)
{
	pcn_ring_rx_reset(&l->rx, pcn_ring_pair(epoch, my_epoch));
	l->rx_epoch = epoch;
}

/*
 * Under rx_lock: our side of the peer's ring, reset if its record says a new epoch
 * now. Epochs only grow, and the record is read under the lock: one reset per epoch.
 */
static void resync_if_restarted(struct kmsg_link *l, unsigned int peer)
{
	u32 epoch = peer_epoch(peer);

	if (epoch && epoch != l->rx_epoch)
		resync_rx(l, peer, epoch);
}

static void send_ipi(u32 apic_id)
{
	unsigned long flags;

	local_irq_save(flags);
	if (x2apic_enabled())
		weak_wrmsr_fence();	/* the x2APIC's WRMSR: our stores before the IPI */
	apic_icr_write(POPCORN_KMSG_VECTOR | APIC_DM_FIXED | APIC_DEST_PHYSICAL, apic_id);
	if (!x2apic_enabled())
		safe_apic_wait_icr_idle();
	local_irq_restore(flags);
}

/*
 * For the channels: an IPI to peer, if it still runs in the epoch the caller's ring
 * was reset for (its CPUs may be the primary's a moment after it stopped).
 */
void kmsg_kick(unsigned int peer, u32 epoch)
{
	if (peer_epoch(peer) == epoch)
		send_ipi(ipi_target(peer));
}

/* The peer's epoch as the heartbeat last saw it (0: not running), or read now. */
u32 kmsg_peer_epoch(unsigned int peer, bool now)
{
	return now ? peer_epoch(peer) : READ_ONCE(links[peer].epoch_seen);
}

/* The primary's record: where the channels' rings are. */
u64 *kmsg_chan_table(void)
{
	return record(0)->chan_phys;
}

/* What the heartbeat (or an error) reads of a peer's record, kept for the hot path. */
static void refresh_peer(unsigned int peer)
{
	struct kmsg_link *l = &links[peer];
	u32 epoch = peer_epoch(peer);

	WRITE_ONCE(l->polls_seen, epoch && READ_ONCE(record(peer)->polls));
	WRITE_ONCE(l->epoch_seen, epoch);
}

/*
 * Takes our ring to dest, in step with dest's epoch as last seen; false if dest is not
 * running. A ring its receiver has not reset for that epoch makes the sender look again
 * (kmsg_send()).
 */
static bool lock_tx(struct kmsg_link *l, unsigned int dest, unsigned long *irqflags)
{
	u32 epoch;

	spin_lock_irqsave(&l->tx_lock, *irqflags);
	epoch = READ_ONCE(l->epoch_seen);
	/*
	 * A reset only for what the record says now, read under the lock: a stale view
	 * (an older refresh that landed late) never resets a ring a second time.
	 */
	if (epoch != l->tx_epoch)
		epoch = peer_epoch(dest);
	if (!epoch) {
		spin_unlock_irqrestore(&l->tx_lock, *irqflags);
		return false;
	}
	if (epoch != l->tx_epoch)
		resync_tx(l, dest, epoch);
	return true;
}

/*
 * After a message went into the ring: an IPI, if dest asked for one. A poller never
 * does. Its record is read live before an IPI: a kernel the primary stopped a moment
 * ago has CPUs that may be the primary's now.
 */
static void notify(struct kmsg_link *l, unsigned int dest)
{
	if (READ_ONCE(l->polls_seen))
		return;
	smp_mb();	/* the slot before irq_wanted; pairs with the receiver's re-check */
	if (READ_ONCE(record(dest)->irq_wanted) && peer_epoch(dest) == l->tx_epoch) {
		send_ipi(l->apic_id);
		l->ipis_sent++;
	}
}

/*
 * After a send under the ring's lock: an IPI if it went in; if dest's side of the ring
 * is not reset for our view of its epoch, or its indices are impossible, look at its
 * record again (it may have restarted since the heartbeat) and say -EAGAIN.
 */
static int sent(struct kmsg_link *l, unsigned int dest, int ret)
{
	if (!ret) {
		notify(l, dest);
	} else if (ret == -ENOTCONN || ret == -EIO) {
		refresh_peer(dest);
		ret = -EAGAIN;
	}
	return ret;
}

/* Has dest stopped answering for longer than a request waits? */
bool kmsg_gave_up_on(unsigned int dest)
{
	const struct kmsg_link *l = &links[dest];

	return !READ_ONCE(l->up) &&
	       time_after(jiffies, l->last_change + msecs_to_jiffies(KMSG_PEER_TIMEOUT_MS));
}

/*
 * Into our ring to dest. A full ring, or one whose receiver has not yet reset its side
 * for our epochs: -EAGAIN at once, unless the caller may block (process context, no
 * lock held), which then waits for room up to SEND_WAIT_MS.
 */
int kmsg_send(unsigned int dest, u16 type, u8 flags, u32 cookie, const void *data, u32 len,
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
		ret = sent(l, dest, ret);
		if (ret != -EAGAIN || !may_block)
			return ret;
		if (time_after(jiffies, deadline))
			return -EHOSTDOWN;	/* it does not drain its ring */
		usleep_range(10, 50);
	}
}

/* Process context only: waits for room in a full ring. Handlers use _nowait. */
int popcorn_kmsg_send(unsigned int dest, u16 type, const void *data, u32 len)
{
	might_sleep();
	return kmsg_send(dest, type, 0, 0, data, len, true);
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_send);

int popcorn_kmsg_send_nowait(unsigned int dest, u16 type, const void *data, u32 len)
{
	return kmsg_send(dest, type, 0, 0, data, len, false);
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_send_nowait);

int popcorn_kmsg_register(u16 type, popcorn_kmsg_handler_t handler)
{
	if (type >= POPCORN_KMSG_NR_TYPES)
		return -EINVAL;
	return cmpxchg(&handlers[type], NULL, handler) ? -EBUSY : 0;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_register);

/* An ioctl of /dev/popcorn_kmsg that code above the transport serves. */
int popcorn_kmsg_register_ioctl(unsigned int cmd, popcorn_kmsg_ioctl_t fn)
{
	unsigned int i;
	int ret = -ENOSPC;

	spin_lock(&ioctls_lock);
	for (i = 0; i < MAX_IOCTLS; i++) {
		if (ioctls[i].cmd == cmd) {
			ret = -EBUSY;
			break;
		}
		if (!ioctls[i].fn) {
			WRITE_ONCE(ioctls[i].cmd, cmd);
			/* The command before the function that marks the entry used. */
			smp_store_release(&ioctls[i].fn, fn);
			ret = 0;
			break;
		}
	}
	spin_unlock(&ioctls_lock);
	return ret;
}

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

/* The peer's epoch while it runs, 0 otherwise: a changed epoch is a restarted peer. */
u32 popcorn_kmsg_peer_epoch(unsigned int kernel)
{
	return popcorn_kmsg_peer_up(kernel) ? peer_epoch(kernel) : 0;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_peer_epoch);

/* The primary, stopping a secondary: its peers see it down before its CPUs stop. */
void popcorn_kmsg_kernel_stopped(unsigned int kernel)
{
	if (!region || self != 0 || !kernel || kernel >= NR_KERNELS)
		return;
	/* Its epoch stays: the next kernel there starts from it, and peers resync. */
	WRITE_ONCE(record(kernel)->magic, RECORD_STOPPED);
	WRITE_ONCE(links[kernel].up, false);
	refresh_peer(kernel);	/* here at once; the others on their next heartbeat */
	smp_mb();	/* stopped before its CPUs get INIT */
}

/* A message at our tail: a reply goes straight to its waiter, the rest to a handler. */
static void dispatch(struct kmsg_link *l, const struct pcn_ring_msg *m)
{
	struct popcorn_kmsg msg = {
		.from = m->sender, .type = m->type, .cookie = m->cookie,
		.request = m->flags & PCN_RING_F_REQUEST, .data = l->rx_buf, .len = m->len,
	};
	popcorn_kmsg_handler_t handler;

	kmsg_test_spin();	/* nothing unless a regression test asks for it */
	if (m->flags & PCN_RING_F_REPLY) {
		kmsg_deliver_reply(m);	/* copied once, from the ring into the waiter's buffer */
		return;
	}
	handler = READ_ONCE(handlers[m->type]);
	if (!handler)
		return;
	memcpy(l->rx_buf, m->data, m->len);	/* read once: the handler sees our copy */
	handler(&msg);
}

/*
 * Work from this peer? A hint without the lock, for pollers that pass here millions
 * of times with nothing: a new epoch, or a written slot at our tail.
 */
static bool rx_hint(unsigned int peer, u32 epoch)
{
	const struct kmsg_link *l = &links[peer];

	return READ_ONCE(l->rx_epoch) != epoch || !pcn_ring_empty(&l->rx);
}

/* Drains up to budget messages from one peer; returns how many were taken. */
static int drain_peer(unsigned int peer, int budget)
{
	struct kmsg_link *l = &links[peer];
	struct pcn_ring_msg m;
	u32 epoch = READ_ONCE(l->epoch_seen);
	int done = 0, ret;

	if (!epoch || READ_ONCE(l->hold_rx) || !rx_hint(peer, epoch) ||
	    !spin_trylock(&l->rx_lock))
		return 0;
	resync_if_restarted(l, peer);
	while (done < budget) {
		ret = pcn_ring_peek(&l->rx, &m);
		if (!ret)
			break;
		done++;
		if (ret > 0) {
			dispatch(l, &m);
			pcn_ring_consume(&l->rx);
		}
	}
	spin_unlock(&l->rx_lock);
	return done;
}

int kmsg_drain_peer(unsigned int peer)
{
	return peer < NR_KERNELS && peer != self ? drain_peer(peer, BUDGET) : 0;
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
		u32 epoch = READ_ONCE(links[peer].epoch_seen);

		if (peer == self || !links[peer].rx_buf || !epoch || READ_ONCE(links[peer].hold_rx))
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
		kmsg_chan_irq();
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

u32 kmsg_mode(void)
{
	return READ_ONCE(mode);
}

int kmsg_set_mode(u32 new_mode)
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
		WRITE_ONCE(record(self)->polls, 1);
		poller = t;
	} else {
		kthread_stop(poller);
		poller = NULL;
		WRITE_ONCE(record(self)->polls, 0);
		WRITE_ONCE(mode, new_mode);
		queue_work(system_bh_highpri_wq, &kmsg_rx_work);	/* re-arms irq_wanted */
	}
	pr_info("mode %s\n", new_mode == POPCORN_KMSG_MODE_POLL ? "poll" : "ipi");
	return 0;
}

/*
 * A peer that restarted waits for our side of its ring to us before it sends: reset
 * it here too, not only when a message makes us drain.
 */
static void resync_restarted(unsigned int peer, u32 epoch)
{
	struct kmsg_link *l = &links[peer];

	if (!epoch || epoch == READ_ONCE(l->rx_epoch))
		return;
	spin_lock_bh(&l->rx_lock);
	resync_if_restarted(l, peer);
	spin_unlock_bh(&l->rx_lock);
}

/* Heartbeat, and which peers are alive: a peer is down when its heartbeat stops. */
static void kmsg_heartbeat_fn(struct work_struct *work)
{
	struct kmsg_record *me = record(self);
	unsigned int peer;

	WRITE_ONCE(me->heartbeat, READ_ONCE(me->heartbeat) + 1);
	for (peer = 0; peer < NR_KERNELS; peer++) {
		struct kmsg_link *l = &links[peer];
		u32 epoch;
		u64 beat;

		if (peer == self)
			continue;
		refresh_peer(peer);
		epoch = READ_ONCE(l->epoch_seen);
		resync_restarted(peer, epoch);
		beat = epoch ? READ_ONCE(record(peer)->heartbeat) : l->last_heartbeat;
		if (beat != l->last_heartbeat) {
			l->last_heartbeat = beat;
			l->last_change = jiffies;
			if (!l->up) {
				WRITE_ONCE(l->up, true);
				pr_info("kernel %u is up (epoch %u)\n", peer, epoch);
			}
		} else if (l->up && time_after(jiffies, l->last_change +
					       msecs_to_jiffies(KMSG_PEER_TIMEOUT_MS))) {
			WRITE_ONCE(l->up, false);
			pr_warn("kernel %u stopped answering\n", peer);
		}
	}
	/* Also the safety net for a lost IPI. */
	if (READ_ONCE(mode) == POPCORN_KMSG_MODE_IPI && !rings_empty())
		queue_work(system_bh_highpri_wq, &kmsg_rx_work);
	kmsg_chan_heartbeat();
	schedule_delayed_work(&kmsg_heartbeat_work, msecs_to_jiffies(KMSG_HEARTBEAT_MS));
}

#ifdef CONFIG_POPCORN_KMSG_TEST
/*
 * Writes a slot into our ring to dest as it is, its lap word xor lap_xor, bypassing
 * every rule of the send path: for the stress test's malformed messages only.
 */
int kmsg_inject_raw(unsigned int dest, const struct pcn_ring_slot *slot, u64 lap_xor)
{
	struct kmsg_link *l;
	unsigned long irqflags;
	int ret;

	if (!region || dest >= NR_KERNELS || dest == self)
		return -EINVAL;
	l = &links[dest];
	if (!lock_tx(l, dest, &irqflags))
		return -EHOSTDOWN;
	ret = pcn_ring_send_raw(&l->tx, slot, pcn_ring_next_lap(&l->tx) ^ lap_xor);
	spin_unlock_irqrestore(&l->tx_lock, irqflags);
	return sent(l, dest, ret);
}

/*
 * Sends len bytes whose first four the transport fills, under the ring's lock, with
 * the epoch of dest that the ring was reset for: what a test above the layer compares
 * with the receiver's own, to catch a message that outlived a restart.
 */
int kmsg_send_epoch_tagged(unsigned int dest, u16 type, void *data, u32 len)
{
	struct kmsg_link *l;
	unsigned long irqflags;
	int ret;

	if (!region || dest >= NR_KERNELS || dest == self || len < sizeof(u32) ||
	    len > POPCORN_KMSG_MAX_PAYLOAD)
		return -EINVAL;
	l = &links[dest];
	if (!lock_tx(l, dest, &irqflags))
		return -EHOSTDOWN;
	memcpy(data, &l->tx_epoch, sizeof(u32));
	ret = pcn_ring_send(&l->tx, type, 0, 0, data, len);
	spin_unlock_irqrestore(&l->tx_lock, irqflags);
	return sent(l, dest, ret);
}

/*
 * What this kernel can do to the region: read ring (a, b), write peer's record. 0 or
 * the fault (-EFAULT) of each, from the nofault accessors: a secondary must fault on
 * the ring of two other kernels and on a peer's record.
 */
void kmsg_probe(unsigned int a, unsigned int b, unsigned int peer, int *read, int *write)
{
	u32 word = 0;

	*read = *write = -EINVAL;
	if (!region || a >= NR_KERNELS || b >= NR_KERNELS || a == b || peer >= NR_KERNELS)
		return;
	*read = copy_from_kernel_nofault(&word, &ring(a, b)->ctl.tail, sizeof(word));
	if (peer == self)
		return;
	word = READ_ONCE(record(peer)->kernel_id);	/* the same value: no harm if it lands */
	*write = copy_to_kernel_nofault(&record(peer)->kernel_id, &word, sizeof(word));
}

/* How many slots from this peer our ring rejected as malformed. */
u64 kmsg_rejected(unsigned int peer)
{
	return peer < NR_KERNELS && peer != self ? READ_ONCE(links[peer].rx.malformed) : 0;
}

/* Leave a peer's messages unread (true), or read them again (false). */
void kmsg_hold_rx(unsigned int peer, bool hold)
{
	if (peer < NR_KERNELS && peer != self) {
		WRITE_ONCE(links[peer].hold_rx, hold);
		if (!hold)
			queue_work(system_bh_highpri_wq, &kmsg_rx_work);
	}
}
#endif

static long pkmsg_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct popcorn_kmsg_bench b;
	struct popcorn_kmsg_set_mode m;
	popcorn_kmsg_ioctl_t fn;
	unsigned int i;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case POPCORN_KMSG_IOC_PING:
	case POPCORN_KMSG_IOC_STREAM:
		if (copy_from_user(&b, (void __user *)arg, sizeof(b)))
			return -EFAULT;
		ret = kmsg_bench(&b, cmd == POPCORN_KMSG_IOC_STREAM);
		if (copy_to_user((void __user *)arg, &b, sizeof(b)))
			return -EFAULT;
		return ret;
	case POPCORN_KMSG_IOC_MODE:
		if (copy_from_user(&m, (void __user *)arg, sizeof(m)))
			return -EFAULT;
		if (m.kernel == U32_MAX || m.kernel == self)	/* U32_MAX: this kernel */
			return kmsg_set_mode(m.mode);
		break;	/* another kernel's: test code (kmsg_test.c) */
	}
	for (i = 0; i < MAX_IOCTLS; i++) {
		/* Pairs with popcorn_kmsg_register_ioctl(): then cmd is the entry's. */
		fn = smp_load_acquire(&ioctls[i].fn);
		if (fn && READ_ONCE(ioctls[i].cmd) == cmd)
			return fn(cmd, (void __user *)arg);
	}
	return -ENOTTY;
}

static const struct file_operations pkmsg_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= pkmsg_ioctl,
};

/* For migration: this device is on every kernel, so a process's fds on it can move. */
bool kmsg_is_device(const struct file *f)
{
	return f->f_op == &pkmsg_fops;
}

static struct miscdevice pkmsg_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "popcorn_kmsg",
	.fops	= &pkmsg_fops,
};

static int pkmsg_show(struct seq_file *m, void *v)
{
	unsigned int peer;

	seq_printf(m, "self %d mode %s ipis_received %llu epoch %u\n", self,
		   mode == POPCORN_KMSG_MODE_POLL ? "poll" : "ipi", ipis_received, my_epoch);
	seq_puts(m, "peer up epoch sent received malformed full bad_tail ipis_sent replies_deferred replies_dropped\n");
	for (peer = 0; peer < NR_KERNELS; peer++) {
		const struct kmsg_link *l = &links[peer];

		if (peer == self || !peer_epoch(peer))
			continue;
		seq_printf(m, "%u %d %u %llu %llu %llu %llu %llu %llu", peer, l->up,
			   peer_epoch(peer), l->tx.sent, l->rx.received, l->rx.malformed,
			   l->tx.full, l->tx.bad_tail, l->ipis_sent);
		kmsg_rpc_show(m, peer);
		seq_putc(m, '\n');
	}
	return 0;
}

/* The loader, before it starts a secondary: the CPU that takes its message IPIs. */
void popcorn_kmsg_set_ipi_target(unsigned int kernel, u32 apic_id)
{
	if (region && self == 0 && kernel && kernel < NR_KERNELS) {
		WRITE_ONCE(primary_targets[kernel], apic_id);
		kmsg_chan_prepare();	/* the network driver's rings, the first time */
	}
}

phys_addr_t popcorn_kmsg_region(size_t *size)
{
	*size = REGION_SIZE;
	return region ? region_phys : 0;
}

struct map_ctx {
	phys_addr_t phys;
	pgprot_t prot;
};

static int map_pte(pte_t *pte, unsigned long addr, void *data)
{
	struct map_ctx *c = data;

	set_pte_at(&init_mm, addr, pte, pfn_pte(c->phys >> PAGE_SHIFT, c->prot));
	c->phys += PAGE_SIZE;
	return 0;
}

/*
 * Maps size bytes at phys (page-aligned) at va, inside a window of our own
 * (ioremap_page_range() maps only whole areas). Not-present to present: no flush.
 */
int kmsg_map(void *va, phys_addr_t phys, size_t size, pgprot_t prot)
{
	struct map_ctx c = { .phys = phys, .prot = prot };

	return apply_to_page_range(&init_mm, (unsigned long)va, size, map_pte, &c);
}

/* One page-aligned piece of the region, at its offset in our window onto it. */
static int map_piece(unsigned long offset, size_t size, pgprot_t prot)
{
	return kmsg_map(region + offset, region_phys + offset, size, prot);
}

/*
 * A secondary's window onto the region: a virtual range as large as the region, in
 * which only what this kernel may touch is mapped. Its own record read-write, its
 * peers' read-only, the two rings it shares with each peer read-write; anything else
 * (another pair's ring) is not mapped at all.
 */
static int __init map_region(unsigned int me)
{
	struct vm_struct *area = get_vm_area(REGION_SIZE, VM_IOREMAP);
	unsigned int k;
	int ret = 0;

	if (!area)
		return -ENOMEM;
	region = area->addr;
	for (k = 0; k < NR_KERNELS && !ret; k++) {
		ret = map_piece(k * PAGE_SIZE, PAGE_SIZE, k == me ? PAGE_KERNEL : PAGE_KERNEL_RO);
		if (!ret && k != me)
			ret = map_piece((u8 *)ring(me, k) - region, RING_STRIDE, PAGE_KERNEL);
		if (!ret && k != me)
			ret = map_piece((u8 *)ring(k, me) - region, RING_STRIDE, PAGE_KERNEL);
	}
	if (ret) {
		free_vm_area(area);
		region = NULL;
	}
	return ret;
}

/* Where the region is: the primary allocates it, a secondary reads its control page. */
static int __init kmsg_find_region(void)
{
	struct popcorn_ctrl *ctrl = popcorn_secondary_ctrl();
	void *pages;
	int ret;

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
	region_phys = ctrl->kmsg_phys;
	ret = map_region(ctrl->kernel_id);
	if (!ret)
		self = ctrl->kernel_id;	/* the IPI handler does nothing before this */
	return ret;
}

static int __init popcorn_kmsg_init(void)
{
	struct kmsg_record *me;
	unsigned int peer;
	u32 magic;
	int ret;

	BUILD_BUG_ON(sizeof(struct kmsg_record) > PAGE_SIZE ||
		     NR_KERNELS * PAGE_SIZE > RECORDS_BYTES);
	ret = kmsg_find_region();
	if (ret) {
		pr_err("no messaging: %d\n", ret);
		return ret;
	}
	me = record(self);
	magic = READ_ONCE(me->magic);
	my_epoch = magic == RECORD_MAGIC || magic == RECORD_STOPPED ? READ_ONCE(me->epoch) + 1 : 1;
	for (peer = 0; peer < NR_KERNELS; peer++) {
		struct kmsg_link *l = &links[peer];

		spin_lock_init(&l->tx_lock);
		spin_lock_init(&l->rx_lock);
		if (peer == self)
			continue;
		l->rx_buf = kmalloc(POPCORN_KMSG_MAX_PAYLOAD, GFP_KERNEL);
		if (!l->rx_buf)
			return -ENOMEM;
		if (pcn_ring_tx_init(&l->tx, ring(self, peer), &geometry, self) ||
		    pcn_ring_rx_init(&l->rx, ring(peer, self), &geometry, peer,
				     POPCORN_KMSG_NR_TYPES, POPCORN_KMSG_MAX_PAYLOAD))
			return -EINVAL;
		/* Our side of its ring to us, before it can see our new epoch. */
		refresh_peer(peer);
		if (l->epoch_seen)
			resync_rx(l, peer, l->epoch_seen);
	}
	kmsg_rpc_init();
	kmsg_chan_init(self);	/* without it, messages still go: no pcn links */

	WRITE_ONCE(me->kernel_id, self);
	WRITE_ONCE(me->apic_id, cpu_physical_id(0));	/* the boot CPU takes the IPIs */
	WRITE_ONCE(me->irq_wanted, 1);
	WRITE_ONCE(me->polls, 0);
	WRITE_ONCE(me->epoch, my_epoch);
	smp_store_release(&me->magic, RECORD_MAGIC);	/* after our sides of the rings */
	kmsg_heartbeat_fn(NULL);
	pr_info("kernel %d, epoch %u, region %pa (%lu KiB), IPIs to APIC ID %u\n", self,
		my_epoch, &region_phys, REGION_SIZE >> 10, me->apic_id);
	if (!proc_create_single("popcorn_kmsg", 0444, NULL, pkmsg_show))
		return -ENOMEM;
	return misc_register(&pkmsg_dev);
}
late_initcall_sync(popcorn_kmsg_init);
