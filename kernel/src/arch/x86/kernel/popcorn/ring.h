/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Popcorn multikernel: one-way message ring in memory shared by two kernels.
 *
 * One producer kernel, one consumer kernel. The ring is a power-of-two number of
 * cache lines after two control lines: head (lines written, free-running) is written
 * by the producer only, tail (lines consumed) by the consumer only, each on its own
 * cache line. A message is a 32-byte header and its payload in consecutive lines
 * (wrapping at the end of the ring). Each side keeps its own copy of its index and
 * never reads it back; what it reads of the other side (the other index, and for
 * the consumer every header field) is untrusted and checked before use. A full
 * ring pushes back (-EAGAIN); nothing is ever overwritten.
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
#define PCN_RING_HDR_SIZE	32
#define PCN_RING_MAGIC		0x5043	/* "PC" */
#define PCN_RING_F_REPLY	0x01	/* an answer to the request with this cookie */
#define PCN_RING_F_REQUEST	0x02	/* the sender waits for an answer */
#define PCN_RING_FLAGS		(PCN_RING_F_REPLY | PCN_RING_F_REQUEST)

struct pcn_ring_shared {
	u32 head;
	u8 pad0[PCN_RING_LINE - sizeof(u32)];
	u32 tail;
	u8 pad1[PCN_RING_LINE - sizeof(u32)];
	u8 lines[][PCN_RING_LINE];
};

struct pcn_ring_hdr {
	u16 magic;
	u8 sender;
	u8 flags;
	u16 type;
	u16 lines;		/* this message's lines, header included */
	u32 len;		/* payload bytes */
	u32 seq;		/* per ring, from 0 */
	u32 cookie;		/* pairs a reply with its request */
	u32 reserved[3];
};

struct pcn_ring_tx {
	struct pcn_ring_shared *sh;
	u32 nlines;
	u32 head;		/* our copy */
	u32 tail_seen;		/* the consumer's tail when we last looked */
	u32 seq;
	u8 self;
	u64 sent;
	u64 full;		/* sends refused: no room */
	u64 bad_tail;		/* the consumer's tail was impossible */
};

struct pcn_ring_rx {
	struct pcn_ring_shared *sh;
	u32 nlines;
	u32 tail;		/* our copy */
	u32 seq;		/* the next one we accept */
	u8 peer;		/* the only sender this ring has */
	u16 max_type;		/* types are below this */
	u32 max_len;		/* payloads are at most this long */
	u64 received;
	u64 malformed;		/* messages rejected and skipped */
	u64 resyncs;		/* times the producer's head was impossible */
};

/* Bytes of shared memory a ring of nlines payload lines takes. */
static inline size_t pcn_ring_bytes(u32 nlines)
{
	return sizeof(struct pcn_ring_shared) + (size_t)nlines * PCN_RING_LINE;
}

/* Lines a message of len payload bytes takes. */
static inline u32 pcn_ring_msg_lines(u32 len)
{
	return (PCN_RING_HDR_SIZE + len + PCN_RING_LINE - 1) / PCN_RING_LINE;
}

void pcn_ring_reset(struct pcn_ring_shared *sh);
int pcn_ring_tx_init(struct pcn_ring_tx *tx, struct pcn_ring_shared *sh, u32 nlines, u8 self);
int pcn_ring_rx_init(struct pcn_ring_rx *rx, struct pcn_ring_shared *sh, u32 nlines, u8 peer,
		     u16 max_type, u32 max_len);
int pcn_ring_send(struct pcn_ring_tx *tx, u16 type, u8 flags, u32 cookie,
		  const void *data, u32 len);
int pcn_ring_send_raw(struct pcn_ring_tx *tx, const void *lines, u32 nlines);
int pcn_ring_recv(struct pcn_ring_rx *rx, struct pcn_ring_hdr *hdr, void *buf);
bool pcn_ring_empty(const struct pcn_ring_rx *rx);

#endif /* _POPCORN_RING_H */
