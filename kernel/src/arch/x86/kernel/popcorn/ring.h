/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Popcorn multikernel: one-way message ring in memory shared by two kernels.
 *
 * One producer kernel, one consumer kernel (kernel/src/README.md has the whole design).
 * The ring is a control area, a power-of-two number of slots of one cache line each,
 * and a power-of-two number of data lines. A message is one slot: a header and up to
 * PCN_RING_INLINE payload bytes; a longer payload goes into consecutive data lines
 * (never wrapping) that the slot names. The producer writes the slot's lap word last,
 * with release; the consumer waits on the lap word of its next slot only, so a small
 * message costs it one cache line. The consumer publishes how far it got lazily: at
 * least every quarter of the slots or data lines, when it finds the ring empty, and
 * at once when the producer says it waits for room (unless the ring is lazy: then
 * the producer is told by IPI, kmsg_chan.c).
 *
 * Each side writes only what it owns: the producer its slots, data lines and its
 * control words, the consumer its own control words. Each side keeps its own copy of
 * its indices and never reads them back. Both sides' control words say for which pair
 * of epochs (the producer kernel's, the consumer kernel's) they were last reset; a
 * ring carries messages only when both say the current pair, so a kernel that
 * restarts never touches its peer's side, and a late store from an old epoch is never
 * taken for a new message. What a side reads of the other (the consumer's indices,
 * every field of a slot) is untrusted and checked before use. A full ring pushes back
 * (-EAGAIN); nothing is ever overwritten.
 *
 * The same source is compiled for user space by the tests (tests/ring/).
 */
#ifndef _POPCORN_RING_H
#define _POPCORN_RING_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include "popcorn_ring_user.h"
#endif

#define PCN_RING_LINE		64
#define PCN_RING_PAIR		128	/* lines the adjacent-line prefetcher fetches together */
#define PCN_RING_HDR_SIZE	24
#define PCN_RING_INLINE		(PCN_RING_LINE - PCN_RING_HDR_SIZE)
#define PCN_RING_F_REPLY	0x01	/* an answer to the request with this cookie */
#define PCN_RING_F_REQUEST	0x02	/* the sender waits for an answer */
#define PCN_RING_FLAGS		(PCN_RING_F_REPLY | PCN_RING_F_REQUEST)

/* One slot, one cache line. */
struct pcn_ring_slot {
	u64 lap;		/* written last: this pair's generation and slot index + 1 */
	u16 type;
	u8 sender;
	u8 flags;
	u32 len;		/* payload bytes */
	u32 cookie;		/* pairs a reply with its request */
	u32 data;		/* first data line (free-running) when len > PCN_RING_INLINE */
	u8 inline_data[PCN_RING_INLINE];
};

/* Control words, each side's on a prefetch pair of its own. */
struct pcn_ring_ctl {
	/* The producer's. */
	u64 prod_pair;		/* the epoch pair its slots were reset for */
	u32 waiting;		/* it found the ring full: publish your tail now */
	u8 pad0[PCN_RING_PAIR - sizeof(u64) - sizeof(u32)];
	/* The consumer's. */
	u64 cons_pair;		/* the epoch pair its indices were reset for */
	u32 tail;		/* slots consumed, free-running */
	u32 data_tail;		/* data lines consumed, free-running */
	u32 notify;		/* channels: its count of sleeps, an IPI for each */
	u8 pad1[PCN_RING_PAIR - sizeof(u64) - 3 * sizeof(u32)];
};

struct pcn_ring_shared {
	struct pcn_ring_ctl ctl;
	struct pcn_ring_slot slots[];	/* then the data lines */
};

/* Sizes of one ring, the same at both ends. */
struct pcn_ring_geometry {
	u32 nslots;
	u32 ndata;		/* data lines */
};

struct pcn_ring_tx {
	struct pcn_ring_shared *sh;
	u8 (*data)[PCN_RING_LINE];
	struct pcn_ring_geometry g;
	u64 pair;		/* 0: not reset for any pair yet */
	u64 gen;		/* the lap words' upper half, from the pair */
	u32 head;		/* our copy: slots written */
	u32 data_head;		/* data lines written */
	u32 tail_seen;		/* the consumer's indices when we last looked */
	u32 data_tail_seen;
	bool ready;		/* the consumer said it was reset for our pair */
	u8 self;
	u64 sent;
	u64 full;		/* sends refused: no room */
	u64 bad_tail;		/* the consumer's indices were impossible */
};

struct pcn_ring_rx {
	struct pcn_ring_shared *sh;
	const u8 (*data)[PCN_RING_LINE];
	struct pcn_ring_geometry g;
	u64 pair;
	u64 gen;
	u32 tail;		/* our copies: slots and data lines consumed */
	u32 data_tail;
	u32 published;		/* the indices the producer can see */
	u32 published_data;
	u32 peeked_end;		/* data_tail after the message peek() gave */
	bool ready;		/* the producer said it was reset for our pair */
	bool lazy;		/* a waiting producer does not make us publish at once */
	u8 peer;		/* the only sender this ring has */
	u16 max_type;		/* types are below this */
	u32 max_len;		/* payloads are at most this long */
	u64 received;
	u64 malformed;		/* slots rejected and skipped */
};

/* A message at the consumer's tail, valid until pcn_ring_consume(). */
struct pcn_ring_msg {
	u16 type;
	u8 sender;
	u8 flags;
	u32 len;
	u32 cookie;
	const void *data;	/* len bytes in the ring: read them once */
};

/* Bytes of shared memory one ring takes. */
static inline size_t pcn_ring_bytes(const struct pcn_ring_geometry *g)
{
	return sizeof(struct pcn_ring_shared) + (size_t)g->nslots * PCN_RING_LINE +
	       (size_t)g->ndata * PCN_RING_LINE;
}

/* Data lines a payload of len bytes takes (0: it fits in the slot). */
static inline u32 pcn_ring_data_lines(u32 len)
{
	return len > PCN_RING_INLINE ? (len + PCN_RING_LINE - 1) / PCN_RING_LINE : 0;
}

/* The epoch pair a ring is reset for: the producer kernel's epoch, then the consumer's. */
static inline u64 pcn_ring_pair(u32 producer_epoch, u32 consumer_epoch)
{
	return (u64)producer_epoch << 32 | consumer_epoch;
}

int pcn_ring_tx_init(struct pcn_ring_tx *tx, struct pcn_ring_shared *sh,
		     const struct pcn_ring_geometry *g, u8 self);
int pcn_ring_rx_init(struct pcn_ring_rx *rx, struct pcn_ring_shared *sh,
		     const struct pcn_ring_geometry *g, u8 peer, u16 max_type, u32 max_len);
void pcn_ring_tx_reset(struct pcn_ring_tx *tx, u64 pair);
void pcn_ring_rx_reset(struct pcn_ring_rx *rx, u64 pair);
int pcn_ring_send(struct pcn_ring_tx *tx, u16 type, u8 flags, u32 cookie,
		  const void *data, u32 len);
typedef void (*pcn_ring_copy_t)(void *dst, const void *src, u32 len);
int pcn_ring_send_copy(struct pcn_ring_tx *tx, u16 type, u32 len, pcn_ring_copy_t copy,
		       const void *src);
int pcn_ring_room(struct pcn_ring_tx *tx, u32 len);
int pcn_ring_send_raw(struct pcn_ring_tx *tx, const struct pcn_ring_slot *slot, u64 lap);
u64 pcn_ring_next_lap(const struct pcn_ring_tx *tx);
int pcn_ring_peek(struct pcn_ring_rx *rx, struct pcn_ring_msg *msg);
void pcn_ring_consume(struct pcn_ring_rx *rx);
void pcn_ring_rx_flush(struct pcn_ring_rx *rx);
bool pcn_ring_empty(const struct pcn_ring_rx *rx);

#endif /* _POPCORN_RING_H */
