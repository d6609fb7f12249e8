// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: one-way message ring in shared memory (see ring.h).
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/string.h>
#include <asm/barrier.h>
#endif

#include "ring.h"

#define MAX_SLOTS	65536
#define MAX_DATA	(1U << 20)

static bool power_of_two(u32 n, u32 min, u32 max)
{
	return n >= min && n <= max && !(n & (n - 1));
}

static bool valid_geometry(const struct pcn_ring_geometry *g)
{
	return power_of_two(g->nslots, 4, MAX_SLOTS) && power_of_two(g->ndata, 2, MAX_DATA);
}

/* The lap words' upper half: different for every pair, so no stale slot matches. */
static u64 generation(u64 pair)
{
	u32 mix = (u32)(pair >> 32) * 0x9e3779b1u ^ (u32)pair * 0x85ebca6bu;

	return (u64)(mix | 1) << 32;	/* never 0: a wiped slot holds 0 */
}

int pcn_ring_tx_init(struct pcn_ring_tx *tx, struct pcn_ring_shared *sh,
		     const struct pcn_ring_geometry *g, u8 self)
{
	if (!valid_geometry(g))
		return -EINVAL;
	memset(tx, 0, sizeof(*tx));
	tx->sh = sh;
	tx->data = (u8 (*)[PCN_RING_LINE])&sh->slots[g->nslots];
	tx->g = *g;
	tx->self = self;
	return 0;
}

int pcn_ring_rx_init(struct pcn_ring_rx *rx, struct pcn_ring_shared *sh,
		     const struct pcn_ring_geometry *g, u8 peer, u16 max_type, u32 max_len)
{
	if (!valid_geometry(g) || pcn_ring_data_lines(max_len) > g->ndata / 2)
		return -EINVAL;
	memset(rx, 0, sizeof(*rx));
	rx->sh = sh;
	rx->data = (const u8 (*)[PCN_RING_LINE])&sh->slots[g->nslots];
	rx->g = *g;
	rx->peer = peer;
	rx->max_type = max_type;
	rx->max_len = max_len;
	return 0;
}

/*
 * The producer's side, reset for a new epoch pair: every slot wiped, then the pair
 * announced. It sends once the consumer has said the same pair.
 */
void pcn_ring_tx_reset(struct pcn_ring_tx *tx, u64 pair)
{
	u32 i;

	for (i = 0; i < tx->g.nslots; i++)
		WRITE_ONCE(tx->sh->slots[i].lap, 0);
	tx->pair = pair;
	tx->gen = generation(pair);
	tx->head = 0;
	tx->data_head = 0;
	tx->tail_seen = 0;
	tx->data_tail_seen = 0;
	tx->ready = false;
	WRITE_ONCE(tx->sh->ctl.waiting, 0);
	smp_store_release(&tx->sh->ctl.prod_pair, pair);	/* after the wiped slots */
}

/* The consumer's side: its indices back to 0, then the pair announced. */
void pcn_ring_rx_reset(struct pcn_ring_rx *rx, u64 pair)
{
	rx->pair = pair;
	rx->gen = generation(pair);
	rx->tail = 0;
	rx->data_tail = 0;
	rx->published = 0;
	rx->published_data = 0;
	rx->ready = false;
	/* No pair while the indices change: a producer never takes them for the old one's. */
	WRITE_ONCE(rx->sh->ctl.cons_pair, 0);
	smp_wmb();	/* the cleared pair before the indices; pairs with read_tail()'s smp_rmb() */
	WRITE_ONCE(rx->sh->ctl.data_tail, 0);
	WRITE_ONCE(rx->sh->ctl.tail, 0);
	smp_store_release(&rx->sh->ctl.cons_pair, pair);	/* after the indices */
}

/*
 * The consumer's indices, read again: 0, -ENOTCONN while it is not reset for our pair
 * (its indices then mean nothing to us), -EIO if they are impossible.
 */
static int read_tail(struct pcn_ring_tx *tx)
{
	struct pcn_ring_ctl *ctl = &tx->sh->ctl;
	u32 tail, data_tail;

	/* Acquire: its indices were reset before it said the pair. */
	if (smp_load_acquire(&ctl->cons_pair) != tx->pair)
		goto not_ready;
	tail = smp_load_acquire(&ctl->tail);	/* it read those slots before it moved on */
	data_tail = READ_ONCE(ctl->data_tail);
	smp_rmb();	/* the indices before the pair they belong to */
	if (READ_ONCE(ctl->cons_pair) != tx->pair)
		goto not_ready;
	if (tx->head - tail > tx->g.nslots || tx->data_head - data_tail > tx->g.ndata) {
		tx->bad_tail++;	/* trust nothing: the ring stays as full as we last saw it */
		return -EIO;
	}
	tx->tail_seen = tail;
	tx->data_tail_seen = data_tail;
	return 0;
not_ready:
	tx->ready = false;
	return -ENOTCONN;
}

/* The first data line of a payload of n lines: never wrapping, so it is one block. */
static u32 data_start(const struct pcn_ring_tx *tx, u32 n)
{
	u32 at = tx->data_head & (tx->g.ndata - 1);

	return n && at + n > tx->g.ndata ? tx->data_head + tx->g.ndata - at : tx->data_head;
}

static bool room(const struct pcn_ring_tx *tx, u32 start, u32 n)
{
	return tx->head - tx->tail_seen < tx->g.nslots &&
	       start + n - tx->data_tail_seen <= tx->g.ndata;
}

/*
 * Room for a slot and n data lines? The consumer's indices are read again only when
 * our last view of them says no: a cache line less to fetch per message.
 */
static int reserve(struct pcn_ring_tx *tx, u32 n, u32 *start)
{
	int ret;

	if (!tx->ready) {
		/* Acquire: the consumer reset its indices before it said the pair. */
		if (smp_load_acquire(&tx->sh->ctl.cons_pair) != tx->pair || !tx->pair)
			return -ENOTCONN;
		tx->ready = true;
	}
	*start = data_start(tx, n);
	if (room(tx, *start, n))
		return 0;
	ret = read_tail(tx);
	if (ret)
		return ret;
	if (room(tx, *start, n)) {
		if (READ_ONCE(tx->sh->ctl.waiting))
			WRITE_ONCE(tx->sh->ctl.waiting, 0);
		return 0;
	}
	tx->full++;
	WRITE_ONCE(tx->sh->ctl.waiting, 1);
	return -EAGAIN;
}

/*
 * Room for a message of len bytes now? 0 or why not, as pcn_ring_send() would say; a
 * producer told -EAGAIN has said it waits (the consumer publishes its tail).
 */
int pcn_ring_room(struct pcn_ring_tx *tx, u32 len)
{
	u32 n = pcn_ring_data_lines(len), start;

	if (n > tx->g.ndata / 2)
		return -EMSGSIZE;
	return reserve(tx, n, &start);
}

static void publish_slot(struct pcn_ring_tx *tx, struct pcn_ring_slot *slot, u64 lap, u32 end)
{
	smp_store_release(&slot->lap, lap);	/* the slot and its data before its lap */
	tx->head++;
	tx->data_head = end;
	tx->sent++;
}

u64 pcn_ring_next_lap(const struct pcn_ring_tx *tx)
{
	return tx->gen | (u32)(tx->head + 1);
}

/*
 * The next slot, filled in for a message of len bytes, and where its payload goes (in
 * the slot, or its data lines); the caller writes the payload, then publishes.
 */
static int claim(struct pcn_ring_tx *tx, u16 type, u8 flags, u32 cookie, u32 len,
		 struct pcn_ring_slot **slotp, void **payload, u32 *end)
{
	u32 n = pcn_ring_data_lines(len), start;
	struct pcn_ring_slot *slot;
	int ret;

	if (n > tx->g.ndata / 2)
		return -EMSGSIZE;
	ret = reserve(tx, n, &start);
	if (ret)
		return ret;
	slot = &tx->sh->slots[tx->head & (tx->g.nslots - 1)];
	slot->type = type;
	slot->sender = tx->self;
	slot->flags = flags;
	slot->len = len;
	slot->cookie = cookie;
	slot->data = start;
	*payload = n ? (void *)tx->data[start & (tx->g.ndata - 1)] : (void *)slot->inline_data;
	*slotp = slot;
	*end = start + n;
	return 0;
}

int pcn_ring_send(struct pcn_ring_tx *tx, u16 type, u8 flags, u32 cookie,
		  const void *data, u32 len)
{
	struct pcn_ring_slot *slot;
	void *payload;
	u32 end;
	int ret = claim(tx, type, flags, cookie, len, &slot, &payload, &end);

	if (ret)
		return ret;
	if (len)
		memcpy(payload, data, len);
	publish_slot(tx, slot, pcn_ring_next_lap(tx), end);
	return 0;
}

/* As pcn_ring_send(), the payload written by copy(): gathered, straight into the ring. */
int pcn_ring_send_copy(struct pcn_ring_tx *tx, u16 type, u32 len, pcn_ring_copy_t copy,
		       const void *src)
{
	struct pcn_ring_slot *slot;
	void *payload;
	u32 end;
	int ret = claim(tx, type, 0, 0, len, &slot, &payload, &end);

	if (ret)
		return ret;
	copy(payload, src, len);
	publish_slot(tx, slot, pcn_ring_next_lap(tx), end);
	return 0;
}

/*
 * Writes a slot as it is, with this lap word, bypassing every rule of the send path
 * (its data lines are not written): for tests of the consumer.
 */
int pcn_ring_send_raw(struct pcn_ring_tx *tx, const struct pcn_ring_slot *raw, u64 lap)
{
	struct pcn_ring_slot *slot;
	u32 start;
	int ret = reserve(tx, 0, &start);

	if (ret)
		return ret;
	slot = &tx->sh->slots[tx->head & (tx->g.nslots - 1)];
	memcpy((u8 *)slot + sizeof(slot->lap), (const u8 *)raw + sizeof(raw->lap),
	       sizeof(*slot) - sizeof(slot->lap));
	publish_slot(tx, slot, lap, start);
	return 0;
}

static void publish_tail(struct pcn_ring_rx *rx)
{
	WRITE_ONCE(rx->sh->ctl.data_tail, rx->data_tail);
	smp_store_release(&rx->sh->ctl.tail, rx->tail);	/* after we read the slots */
	rx->published = rx->tail;
	rx->published_data = rx->data_tail;
}

/*
 * Lazily: every quarter of the slots or of the data lines, at once when the producer
 * waits for room (unless this ring is lazy: its producer is told by IPI, a quarter at
 * a time), and when the ring is found empty (pcn_ring_rx_flush()).
 */
static void advance(struct pcn_ring_rx *rx, u32 data_end)
{
	rx->tail++;
	rx->data_tail = data_end;
	if (rx->tail - rx->published >= rx->g.nslots / 4 ||
	    rx->data_tail - rx->published_data >= rx->g.ndata / 4 ||
	    (!rx->lazy && READ_ONCE(rx->sh->ctl.waiting)))
		publish_tail(rx);
}

/* The producer can see everything consumed. */
void pcn_ring_rx_flush(struct pcn_ring_rx *rx)
{
	if (rx->published != rx->tail)
		publish_tail(rx);
}

static const struct pcn_ring_slot *tail_slot(const struct pcn_ring_rx *rx)
{
	return &rx->sh->slots[rx->tail & (rx->g.nslots - 1)];
}

static u64 expected_lap(const struct pcn_ring_rx *rx)
{
	return rx->gen | (u32)(rx->tail + 1);
}

/*
 * Nothing for peek() to do? A hint without side effects, for pollers: the slot at our
 * tail does not hold this lap's message (and the producer does not wait for a tail we
 * have not published), or the producer has not reset its side for our pair.
 */
bool pcn_ring_empty(const struct pcn_ring_rx *rx)
{
	if (!rx->pair || (!rx->ready && READ_ONCE(rx->sh->ctl.prod_pair) != rx->pair))
		return true;
	if (!rx->lazy && rx->published != rx->tail && READ_ONCE(rx->sh->ctl.waiting))
		return false;
	return READ_ONCE(tail_slot(rx)->lap) != expected_lap(rx);
}

/* Is this data block one the producer may have written for the slot at our tail? */
static bool valid_data(const struct pcn_ring_rx *rx, u32 start, u32 n)
{
	u32 ahead = start - rx->data_tail;

	return n <= rx->g.ndata / 2 && ahead < rx->g.ndata && ahead + n <= rx->g.ndata &&
	       (start & (rx->g.ndata - 1)) + n <= rx->g.ndata;
}

/*
 * The message at our tail: 1 and msg (its data still in the ring until
 * pcn_ring_consume()), 0 if there is none yet, -EBADMSG if the slot was malformed
 * (skipped and counted). Every field is read once, into msg, and checked.
 *
 * Only the lap word says whether a slot holds this lap's message: whatever else is
 * there (wiped, what an earlier lap left, a lap word a faulty producer made up) is a
 * slot not written yet. A producer that writes a wrong lap word stops its own ring to
 * us, and costs us nothing more than an empty ring does.
 */
int pcn_ring_peek(struct pcn_ring_rx *rx, struct pcn_ring_msg *msg)
{
	const struct pcn_ring_slot *slot = tail_slot(rx);
	u32 n, start;

	if (!rx->ready) {
		/* Acquire: the producer wiped its slots before it said the pair. */
		if (!rx->pair || smp_load_acquire(&rx->sh->ctl.prod_pair) != rx->pair)
			return 0;
		rx->ready = true;
	}
	/* Acquire: the producer wrote the slot and its data before the lap word. */
	if (smp_load_acquire(&slot->lap) != expected_lap(rx)) {
		pcn_ring_rx_flush(rx);
		return 0;
	}
	msg->type = READ_ONCE(slot->type);
	msg->sender = READ_ONCE(slot->sender);
	msg->flags = READ_ONCE(slot->flags);
	msg->len = READ_ONCE(slot->len);
	msg->cookie = READ_ONCE(slot->cookie);
	start = READ_ONCE(slot->data);
	if (msg->sender != rx->peer || msg->type >= rx->max_type || msg->len > rx->max_len ||
	    (msg->flags & ~PCN_RING_FLAGS))
		goto bad;
	n = pcn_ring_data_lines(msg->len);
	if (n && !valid_data(rx, start, n))
		goto bad;
	msg->data = n ? (const void *)rx->data[start & (rx->g.ndata - 1)] : slot->inline_data;
	rx->peeked_end = n ? start + n : rx->data_tail;
	return 1;
bad:
	rx->malformed++;
	advance(rx, rx->data_tail);	/* the slot only: its data block is not to be trusted */
	return -EBADMSG;
}

/* Done with the message peek() gave: its slot and data lines go back to the producer. */
void pcn_ring_consume(struct pcn_ring_rx *rx)
{
	rx->received++;
	advance(rx, rx->peeked_end);	/* as peek() checked it: the slot is not read again */
}
