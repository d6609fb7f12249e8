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
 *  - The consumer that found its ring empty says so in its ring (ctl.notify) and
 *    sleeps; the producer's next message sends it an IPI, and the IPI handler hands
 *    the ring to the user (rx_ready: NAPI is scheduled). The consumer polls until the
 *    ring is empty again, so a busy link costs no IPI at all.
 *  - The producer that finds no room for a message says it waits (ctl.waiting) and
 *    stops (its queue is stopped). The consumer publishes its tail lazily, a quarter
 *    of the ring at a time or when it finds the ring empty, and sends an IPI when it
 *    publishes to a producer that waits: the producer is woken with a quarter of the
 *    ring free, not per frame (tx_room). Nothing polls on a timer.
 *
 * The heartbeat (100 ms) is the safety net for a lost IPI and resets the rings of a
 * peer that restarted (through the user's poll, which owns the consumer's side).
 *
 * The primary allocates the rings, one block per sending kernel, and names each
 * block's address in its record. A secondary maps its own block and, of each other
 * block, only the ring to it; an address that overlaps this kernel's own RAM is
 * refused. What a peer writes (its ring's slots and indices, its notify and waiting
 * words) is checked by ring.c or only decides whether an IPI is sent.
 */
#define pr_fmt(fmt) "popcorn kmsg chan: " fmt

#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>

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
	struct pcn_ring_rx rx;	/* the user's poll only */
	u32 rx_epoch;
	unsigned long flags;	/* CHAN_ARMED: the consumer sleeps; CHAN_WAITS: the producer */
	bool usable;		/* both rings mapped */
	struct popcorn_kmsg_chan_stats stats;
};

static struct kmsg_chan chans[NR_KERNELS];
static const struct popcorn_kmsg_chan_ops *chan_ops;
static u8 *blocks[NR_KERNELS];	/* each sender's block, as this kernel sees it */
static unsigned int me;

/* The ring from one kernel to another, in the sender's block. */
static struct pcn_ring_shared *chan_ring(unsigned int from, unsigned int to)
{
	return (struct pcn_ring_shared *)(blocks[from] + (to - (to > from)) * CHAN_STRIDE);
}

/* The primary: a block per kernel from its own memory, named in its record. */
static int __init alloc_blocks(void)
{
	u64 *table = kmsg_chan_table();
	unsigned int k;

	for (k = 0; k < NR_KERNELS; k++) {
		blocks[k] = alloc_pages_exact(CHAN_BLOCK, GFP_KERNEL | __GFP_ZERO);
		if (!blocks[k])
			return -ENOMEM;
		WRITE_ONCE(table[k], virt_to_phys(blocks[k]));
	}
	return 0;
}

/* Is a block the primary names one this kernel may map: not its own RAM? */
static bool __init valid_block(phys_addr_t phys)
{
	return phys && PAGE_ALIGNED(phys) && phys + CHAN_BLOCK > phys &&
	       region_intersects(phys, CHAN_BLOCK, IORESOURCE_SYSTEM_RAM,
				 IORES_DESC_NONE) == REGION_DISJOINT;
}

/*
 * A secondary: a window as large as all blocks, in which its own block and the ring
 * to it of every other block are mapped. A peer whose block is missing or not valid
 * has no channel with us.
 */
static int __init map_blocks(void)
{
	struct vm_struct *area = get_vm_area(NR_KERNELS * CHAN_BLOCK, VM_IOREMAP);
	const u64 *table = kmsg_chan_table();
	phys_addr_t phys[NR_KERNELS];
	unsigned int k;
	int ret;

	if (!area)
		return -ENOMEM;
	for (k = 0; k < NR_KERNELS; k++)
		phys[k] = READ_ONCE(table[k]);	/* read once: checked, then mapped */
	if (!valid_block(phys[me])) {
		pr_err("the primary names no usable block for this kernel (%pa)\n", &phys[me]);
		free_vm_area(area);
		return -ENODEV;
	}
	for (k = 0; k < NR_KERNELS; k++) {
		u8 *va = (u8 *)area->addr + k * CHAN_BLOCK;
		size_t off = (me - (me > k)) * CHAN_STRIDE;

		if (k == me) {
			ret = kmsg_map(va, phys[k], CHAN_BLOCK, PAGE_KERNEL);
		} else if (valid_block(phys[k])) {
			ret = kmsg_map(va + off, phys[k] + off, CHAN_STRIDE, PAGE_KERNEL);
		} else {
			pr_warn("kernel %u: no channel, its block %pa is not usable\n", k, &phys[k]);
			continue;
		}
		if (ret) {
			free_vm_area(area);
			return ret;
		}
		blocks[k] = va;
	}
	return 0;
}

int __init kmsg_chan_init(unsigned int self)
{
	unsigned int peer;
	int ret;

	me = self;
	ret = self ? map_blocks() : alloc_blocks();
	if (ret) {
		pr_err("no channel: %d\n", ret);
		return ret;
	}
	for (peer = 0; peer < NR_KERNELS; peer++) {
		struct kmsg_chan *c = &chans[peer];

		spin_lock_init(&c->tx_lock);
		if (peer == me || !blocks[peer])
			continue;
		if (pcn_ring_tx_init(&c->tx, chan_ring(me, peer), &chan_geometry, me) ||
		    pcn_ring_rx_init(&c->rx, chan_ring(peer, me), &chan_geometry, peer,
				     CHAN_TYPE + 1, POPCORN_KMSG_MAX_PAYLOAD))
			return -EINVAL;
		c->rx.lazy = true;	/* the producer is woken by IPI, a quarter at a time */
		c->usable = true;
	}
	return 0;
}

static struct kmsg_chan *chan_of(unsigned int peer)
{
	return peer < NR_KERNELS && peer != me && chans[peer].usable ? &chans[peer] : NULL;
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
	}
	return 0;
}

/*
 * One message into the ring to peer, from any context: 0; -EAGAIN if there is no
 * room (the caller stops and waits for tx_room); -ENOTCONN while peer has not reset
 * its side for our epochs; -EHOSTDOWN if it does not run.
 */
int popcorn_kmsg_chan_send(unsigned int peer, const void *data, u32 len)
{
	struct kmsg_chan *c = chan_of(peer);
	unsigned long irqflags;
	int ret;

	if (!c)
		return -ENODEV;
	spin_lock_irqsave(&c->tx_lock, irqflags);
	ret = sync_tx(c, peer);
	if (!ret)
		ret = pcn_ring_send(&c->tx, CHAN_TYPE, 0, 0, data, len);
	if (!ret) {
		smp_mb();	/* the slot before notify; pairs with popcorn_kmsg_chan_sleep() */
		if (READ_ONCE(c->tx.sh->ctl.notify)) {
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

/* The consumer's side of a restarted peer's ring, reset in the user's poll. */
static bool peer_restarted(const struct kmsg_chan *c, unsigned int peer)
{
	u32 epoch = kmsg_peer_epoch(peer, false);

	return epoch && epoch != READ_ONCE(c->rx_epoch);
}

static void sync_rx(struct kmsg_chan *c, unsigned int peer)
{
	u32 epoch;

	if (!peer_restarted(c, peer))
		return;
	epoch = kmsg_peer_epoch(peer, true);
	if (epoch && epoch != c->rx_epoch) {
		pcn_ring_rx_reset(&c->rx, pcn_ring_pair(epoch, kmsg_epoch()));
		WRITE_ONCE(c->rx_epoch, epoch);
	}
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
	WRITE_ONCE(c->rx.sh->ctl.notify, 1);
	smp_mb();	/* notify before the re-check; pairs with popcorn_kmsg_chan_send() */
	if (rx_pending(c, peer) && test_and_clear_bit(CHAN_ARMED, &c->flags)) {
		WRITE_ONCE(c->rx.sh->ctl.notify, 0);
		return false;
	}
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

int popcorn_kmsg_chan_open(const struct popcorn_kmsg_chan_ops *ops)
{
	if (!blocks[me])
		return -ENODEV;	/* no messaging, or kmsg_chan_init() failed */
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
		if (test_bit(CHAN_ARMED, &c->flags) && rx_pending(c, peer) &&
		    test_and_clear_bit(CHAN_ARMED, &c->flags)) {
			WRITE_ONCE(c->rx.sh->ctl.notify, 0);
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
