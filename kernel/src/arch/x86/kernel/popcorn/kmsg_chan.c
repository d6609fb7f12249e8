// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: the channel, rings of their own to and from every peer for one
 * user, the network driver (drivers/net/popcorn_net.c).
 *
 * Frames never wait behind requests or migration in the messaging rings, and they are
 * read in place: the user peeks at a message in the ring, copies it once (into an
 * skb) and consumes it. Both directions are driven by IPIs on the messaging layer's
 * vector, as a NIC's interrupts drive its driver:
 *
 *  - The consumer that found its ring empty says so in its ring and sleeps: it bumps
 *    ctl.notify, its count of sleeps. The producer's next message sends it one IPI
 *    for that count, and the IPI handler hands the ring to the user (rx_ready: NAPI
 *    is scheduled). The consumer polls until the ring is empty again, so a busy link
 *    costs no IPI at all.
 *  - The producer that finds no room for a message says it waits (ctl.waiting) and
 *    stops (its queue is stopped). The consumer publishes its tail lazily, a quarter
 *    of the ring at a time or when it finds the ring empty, and sends an IPI when it
 *    publishes to a producer that waits: the producer is woken with a quarter of the
 *    ring free, not per frame (tx_room). Nothing polls on a timer.
 *
 * The heartbeat (100 ms) is the safety net for a lost IPI and resets the rings of a
 * peer that restarted (through the user's poll, which owns the consumer's side).
 *
 * The primary allocates the rings when it first boots a secondary (an SMP kernel, or a
 * primary alone, never pays for them), one block per sending kernel, and names each
 * block's address in its record. A secondary maps its own block and, of each other
 * block, only the ring to it; an address beyond the CPU's physical address width, or
 * that overlaps this kernel's own RAM, the messaging region or another block, is
 * refused. What a peer writes (its ring's slots and indices, its notify and waiting
 * words) is checked by ring.c or only decides whether an IPI is sent: one per send
 * at most.
 */
#define pr_fmt(fmt) "popcorn kmsg chan: " fmt

#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>
#include <asm/processor.h>

#include "kmsg.h"

#define NR_KERNELS	POPCORN_KMSG_MAX_KERNELS
#define CHAN_SLOTS	256
#define CHAN_DATA_LINES	2048		/* 128 KiB: 85 frames of 1514 bytes */
#define CHAN_STRIDE	PAGE_ALIGN(sizeof(struct pcn_ring_shared) + \
				   (CHAN_SLOTS + CHAN_DATA_LINES) * PCN_RING_LINE)
#define CHAN_BLOCK	((NR_KERNELS - 1) * CHAN_STRIDE)	/* one sender's rings */
#define CHAN_TYPE	0

enum { CHAN_ARMED, CHAN_WAITS };

static const struct pcn_ring_geometry chan_geometry = {
	.nslots = CHAN_SLOTS, .ndata = CHAN_DATA_LINES,
};

struct kmsg_chan {
	spinlock_t tx_lock;
	struct pcn_ring_tx tx;
	u32 tx_epoch;		/* the peer epoch our side of its ring was reset for */
	u32 kicked;		/* the peer's count of sleeps we last sent an IPI for */
	struct pcn_ring_rx rx;	/* the user's poll only */
	u32 rx_epoch;
	u32 rx_seen;		/* the heartbeat's view of the peer epoch we synced for */
	u32 sleeps;		/* our count of sleeps on the peer's ring, its ctl.notify */
	unsigned long flags;	/* CHAN_ARMED: the consumer sleeps; CHAN_WAITS: the producer */
	bool usable;		/* both rings mapped; set once, with release */
	struct popcorn_kmsg_chan_stats stats;
};

static struct kmsg_chan chans[NR_KERNELS];
static const struct popcorn_kmsg_chan_ops *chan_ops;
static u8 *blocks[NR_KERNELS];	/* each sender's block, as this kernel sees it */
static unsigned int me;
static bool started;		/* kmsg_chan_init() ran: this kernel has messaging */
static DEFINE_MUTEX(prepare_lock);

/* The ring from one kernel to another, in the sender's block. */
static struct pcn_ring_shared *chan_ring(unsigned int from, unsigned int to)
{
	return (struct pcn_ring_shared *)(blocks[from] + (to - (to > from)) * CHAN_STRIDE);
}

/*
 * The primary: a block per kernel from its own memory, named in its record before it
 * boots a secondary (which reads the record once it starts). All or none.
 */
static int alloc_blocks(void)
{
	u64 *table = kmsg_chan_table();
	u8 *got[NR_KERNELS] = { };
	unsigned int k;

	for (k = 0; k < NR_KERNELS; k++) {
		got[k] = alloc_pages_exact(CHAN_BLOCK, GFP_KERNEL | __GFP_ZERO);
		if (!got[k])
			goto fail;
	}
	for (k = 0; k < NR_KERNELS; k++) {
		blocks[k] = got[k];
		WRITE_ONCE(table[k], virt_to_phys(got[k]));
	}
	return 0;
fail:
	while (k--)
		free_pages_exact(got[k], CHAN_BLOCK);
	return -ENOMEM;
}

static bool overlaps(phys_addr_t a, size_t a_len, phys_addr_t b, size_t b_len)
{
	return a < b + b_len && b < a + a_len;
}

/*
 * Is the block the primary names at index k one this kernel may map: addressable, not
 * its own RAM, not the messaging region, not another block?
 */
static bool __init valid_block(const phys_addr_t *phys, unsigned int k)
{
	phys_addr_t p = phys[k], region;
	size_t region_size;
	unsigned int other;

	if (!p || !PAGE_ALIGNED(p) || p + CHAN_BLOCK < p ||
	    p + CHAN_BLOCK > BIT_ULL(boot_cpu_data.x86_phys_bits) ||
	    region_intersects(p, CHAN_BLOCK, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT)
		return false;
	region = popcorn_kmsg_region(&region_size);
	if (overlaps(p, CHAN_BLOCK, region, region_size))
		return false;
	for (other = 0; other < NR_KERNELS; other++)
		if (other != k && phys[other] && overlaps(p, CHAN_BLOCK, phys[other], CHAN_BLOCK))
			return false;
	return true;
}

/*
 * A secondary: a window as large as all blocks, in which its own block and the ring
 * to it of every other block are mapped. A peer whose block is missing or not valid
 * has no channel with us.
 */
static int __init map_blocks(void)
{
	const u64 *table = kmsg_chan_table();
	phys_addr_t phys[NR_KERNELS];
	u8 *got[NR_KERNELS] = { };
	struct vm_struct *area;
	unsigned int k;
	int ret = 0;

	/* Acquire: the primary named its blocks before its record said it runs. */
	if (!kmsg_peer_epoch(0, true))
		return -ENODEV;
	for (k = 0; k < NR_KERNELS; k++)
		phys[k] = READ_ONCE(table[k]);	/* read once: checked, then mapped */
	if (!valid_block(phys, me)) {
		pr_err("the primary names no usable block for this kernel (%pa)\n", &phys[me]);
		return -ENODEV;
	}
	area = get_vm_area(NR_KERNELS * CHAN_BLOCK, VM_IOREMAP);
	if (!area)
		return -ENOMEM;
	for (k = 0; k < NR_KERNELS && !ret; k++) {
		u8 *va = (u8 *)area->addr + k * CHAN_BLOCK;
		size_t off = (me - (me > k)) * CHAN_STRIDE;

		if (k == me) {
			ret = kmsg_map(va, phys[k], CHAN_BLOCK, PAGE_KERNEL);
		} else if (valid_block(phys, k)) {
			ret = kmsg_map(va + off, phys[k] + off, CHAN_STRIDE, PAGE_KERNEL);
		} else {
			pr_warn("kernel %u: no channel, its block %pa is not usable\n", k, &phys[k]);
			continue;
		}
		got[k] = va;
	}
	if (ret) {
		free_vm_area(area);
		return ret;
	}
	memcpy(blocks, got, sizeof(blocks));
	return 0;
}

/* Our ends of the rings in the blocks we have, each usable from then on. */
static int open_rings(void)
{
	const struct popcorn_kmsg_chan_ops *ops = READ_ONCE(chan_ops);
	unsigned int peer;

	for (peer = 0; peer < NR_KERNELS; peer++) {
		struct kmsg_chan *c = &chans[peer];

		if (peer == me || !blocks[peer])
			continue;
		if (pcn_ring_tx_init(&c->tx, chan_ring(me, peer), &chan_geometry, me) ||
		    pcn_ring_rx_init(&c->rx, chan_ring(peer, me), &chan_geometry, peer,
				     CHAN_TYPE + 1, POPCORN_KMSG_MAX_PAYLOAD))
			return -EINVAL;
		c->rx.lazy = true;	/* the producer is woken by IPI, a quarter at a time */
		smp_store_release(&c->usable, true);	/* after the rings' state */
		if (ops)
			ops->rx_ready(peer);	/* its first poll resets our side and sleeps */
	}
	return 0;
}

/* A secondary maps its blocks now; the primary allocates its own when they are needed. */
int __init kmsg_chan_init(unsigned int self)
{
	unsigned int peer;
	int ret;

	me = self;
	for (peer = 0; peer < NR_KERNELS; peer++)
		spin_lock_init(&chans[peer].tx_lock);
	WRITE_ONCE(started, true);
	if (!self)
		return 0;
	ret = map_blocks();
	if (!ret)
		ret = open_rings();
	if (ret)
		pr_err("no channel: %d\n", ret);
	return ret;
}

/*
 * The primary, before it boots a secondary (process context): its blocks, allocated
 * the first time. A secondary booted without them has no channel with anyone.
 */
void kmsg_chan_prepare(void)
{
	int ret;

	guard(mutex)(&prepare_lock);
	if (me || !READ_ONCE(started) || blocks[0])
		return;
	ret = alloc_blocks();
	if (!ret) {
		local_bh_disable();	/* what rx_ready schedules runs at bh enable */
		ret = open_rings();
		local_bh_enable();
	}
	if (ret)
		pr_err("no channel for the secondaries: %d\n", ret);
	else
		pr_info("rings for %u kernels, %lu KiB each\n", NR_KERNELS, CHAN_BLOCK >> 10);
}

static struct kmsg_chan *chan_of(unsigned int peer)
{
	/* Acquire: the rings' state was set before usable. */
	return peer < NR_KERNELS && peer != me && smp_load_acquire(&chans[peer].usable) ?
	       &chans[peer] : NULL;
}

/*
 * Under tx_lock: our side of the ring to peer, in step with its epoch. A reset only
 * for what its record says now, so a stale view never resets the ring twice.
 */
static int sync_tx(struct kmsg_chan *c, unsigned int peer)
{
	u32 epoch = kmsg_peer_epoch(peer, false);

	if (epoch != c->tx_epoch)
		epoch = kmsg_peer_epoch(peer, true);
	if (!epoch)
		return -EHOSTDOWN;
	if (epoch != c->tx_epoch) {
		pcn_ring_tx_reset(&c->tx, pcn_ring_pair(kmsg_epoch(), epoch));
		c->tx_epoch = epoch;
		c->kicked = 0;	/* a restarted consumer counts its sleeps from 0 */
	}
	return 0;
}

/*
 * One message of len bytes into the ring to peer, from any context, written by copy()
 * from src (under the ring's lock, so it must not sleep): 0; -EAGAIN if there is no
 * room (the caller stops and waits for tx_room); -ENOTCONN while peer has not reset
 * its side for our epochs; -EHOSTDOWN if it does not run.
 */
int popcorn_kmsg_chan_send(unsigned int peer, u32 len, popcorn_kmsg_copy_t copy,
			   const void *src)
{
	struct kmsg_chan *c = chan_of(peer);
	unsigned long irqflags;
	int ret;

	u32 sleeps;

	if (!c)
		return -ENODEV;
	if (len > POPCORN_KMSG_MAX_PAYLOAD)
		return -EMSGSIZE;	/* the receiver's limit */
	spin_lock_irqsave(&c->tx_lock, irqflags);
	ret = sync_tx(c, peer);
	if (!ret)
		ret = pcn_ring_send_copy(&c->tx, CHAN_TYPE, len, copy, src);
	if (!ret) {
		smp_mb();	/* the slot before notify; pairs with popcorn_kmsg_chan_sleep() */
		sleeps = READ_ONCE(c->tx.sh->ctl.notify);
		if (sleeps != c->kicked) {	/* one IPI per sleep, whatever the peer writes */
			c->kicked = sleeps;
			kmsg_kick(peer, c->tx_epoch);
			c->stats.data_ipis++;
		}
	}
	spin_unlock_irqrestore(&c->tx_lock, irqflags);
	return ret == -EIO ? -EAGAIN : ret;	/* lying indices: as full as last seen */
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_chan_send);

/*
 * Room in the ring to peer for a message of len bytes? 0, or -EAGAIN: then peer knows
 * we wait and sends tx_room when it has freed a quarter of the ring or emptied it.
 */
int popcorn_kmsg_chan_room(unsigned int peer, u32 len)
{
	struct kmsg_chan *c = chan_of(peer);
	unsigned long irqflags;
	int ret;

	if (!c)
		return -ENODEV;
	spin_lock_irqsave(&c->tx_lock, irqflags);
	ret = sync_tx(c, peer);
	if (!ret)
		ret = pcn_ring_room(&c->tx, len);
	if (ret == -EAGAIN || ret == -EIO) {
		if (!test_and_set_bit(CHAN_WAITS, &c->flags))
			c->stats.waits++;
		/*
		 * ctl.waiting before the tail read again: a consumer that published before
		 * it could see waiting has its tail seen here. Pairs with room_freed().
		 */
		smp_mb();
		ret = pcn_ring_room(&c->tx, len);
	}
	if (!ret)
		clear_bit(CHAN_WAITS, &c->flags);
	spin_unlock_irqrestore(&c->tx_lock, irqflags);
	return ret == -EIO ? -EAGAIN : ret;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_chan_room);

/*
 * The consumer's side of a restarted peer's ring, reset in the user's poll: when the
 * heartbeat's view of the peer's epoch is not the one we last synced for.
 */
static bool peer_restarted(const struct kmsg_chan *c, unsigned int peer)
{
	u32 seen = kmsg_peer_epoch(peer, false);

	return seen && seen != READ_ONCE(c->rx_seen);
}

static void sync_rx(struct kmsg_chan *c, unsigned int peer)
{
	u32 seen = kmsg_peer_epoch(peer, false), epoch;

	if (!seen || seen == c->rx_seen)
		return;
	/* What its record says now: another restart since the heartbeat, or a stop. */
	epoch = kmsg_peer_epoch(peer, true);
	if (epoch && epoch != c->rx_epoch) {
		pcn_ring_rx_reset(&c->rx, pcn_ring_pair(epoch, kmsg_epoch()));
		c->rx_epoch = epoch;
	}
	WRITE_ONCE(c->rx_seen, seen);	/* synced for this view, whatever it found */
}

/* After our tail may have moved: an IPI to a producer that waits for room. */
static void room_freed(struct kmsg_chan *c, unsigned int peer, u32 published)
{
	if (c->rx.published == published)
		return;
	smp_mb();	/* the tail before waiting; pairs with popcorn_kmsg_chan_room() */
	if (READ_ONCE(c->rx.sh->ctl.waiting)) {
		kmsg_kick(peer, c->rx_epoch);
		c->stats.room_ipis++;
	}
}

/*
 * The message at our tail of the ring from peer, for the user's poll only: 1 and m
 * (in the ring: read it once, then popcorn_kmsg_chan_consume()), 0 if none, or
 * -EBADMSG for a malformed slot (skipped and counted).
 */
int popcorn_kmsg_chan_peek(unsigned int peer, struct popcorn_kmsg_chan_msg *m)
{
	struct kmsg_chan *c = chan_of(peer);
	struct pcn_ring_msg msg;
	u32 published;
	int ret;

	if (!c)
		return 0;
	sync_rx(c, peer);
	published = c->rx.published;
	ret = pcn_ring_peek(&c->rx, &msg);	/* an empty ring publishes our tail */
	room_freed(c, peer, published);
	if (ret > 0) {
		m->data = msg.data;
		m->len = msg.len;
	}
	return ret;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_chan_peek);

void popcorn_kmsg_chan_consume(unsigned int peer)
{
	struct kmsg_chan *c = chan_of(peer);
	u32 published;

	if (!c)
		return;
	published = c->rx.published;
	pcn_ring_consume(&c->rx);
	room_freed(c, peer, published);
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_chan_consume);

static bool rx_pending(const struct kmsg_chan *c, unsigned int peer)
{
	return !pcn_ring_empty(&c->rx) || peer_restarted(c, peer);
}

/*
 * The user's poll found the ring from peer empty: true if we now sleep until an IPI
 * (rx_ready), false if a message came meanwhile (poll again).
 */
bool popcorn_kmsg_chan_sleep(unsigned int peer)
{
	struct kmsg_chan *c = chan_of(peer);

	if (!c)
		return true;
	set_bit(CHAN_ARMED, &c->flags);
	WRITE_ONCE(c->rx.sh->ctl.notify, ++c->sleeps);
	smp_mb();	/* notify before the re-check; pairs with popcorn_kmsg_chan_send() */
	if (rx_pending(c, peer) && test_and_clear_bit(CHAN_ARMED, &c->flags))
		return false;
	return true;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_chan_sleep);

void popcorn_kmsg_chan_stats(unsigned int peer, struct popcorn_kmsg_chan_stats *s)
{
	struct kmsg_chan *c = chan_of(peer);

	memset(s, 0, sizeof(*s));
	if (!c)
		return;
	*s = c->stats;
	s->sent = c->tx.sent;
	s->full = c->tx.full;
	s->received = c->rx.received;
	s->malformed = c->rx.malformed;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_chan_stats);

/* The primary's rings may come later (kmsg_chan_prepare()): the user is told then. */
int popcorn_kmsg_chan_open(const struct popcorn_kmsg_chan_ops *ops)
{
	if (!READ_ONCE(started) || (me && !blocks[me]))
		return -ENODEV;	/* no messaging, or this secondary could not map its rings */
	return cmpxchg(&chan_ops, NULL, ops) ? -EBUSY : 0;
}
EXPORT_SYMBOL_GPL(popcorn_kmsg_chan_open);

/* Wakes whoever waits on a ring with something for it: the IPI, or the heartbeat. */
static void chan_wake(void)
{
	const struct popcorn_kmsg_chan_ops *ops = READ_ONCE(chan_ops);
	unsigned int peer;

	if (!ops)
		return;
	for (peer = 0; peer < NR_KERNELS; peer++) {
		struct kmsg_chan *c = chan_of(peer);

		if (!c)
			continue;
		/* A hint read beside the poll: test_and_clear_bit() decides. */
		if (test_bit(CHAN_ARMED, &c->flags) && data_race(rx_pending(c, peer)) &&
		    test_and_clear_bit(CHAN_ARMED, &c->flags)) {
			c->stats.wakeups++;
			ops->rx_ready(peer);
		}
		if (test_bit(CHAN_WAITS, &c->flags))
			ops->tx_room(peer);
	}
}

void kmsg_chan_irq(void)
{
	chan_wake();
}

void kmsg_chan_heartbeat(void)
{
	local_bh_disable();	/* what rx_ready schedules runs at bh enable */
	chan_wake();
	local_bh_enable();
}
