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

void pcn_ring_reset(struct pcn_ring_shared *sh)
{
	WRITE_ONCE(sh->head, 0);
	WRITE_ONCE(sh->tail, 0);
	smp_wmb();	/* empty before whatever announces the ring (an epoch) */
}

static bool valid_size(u32 nlines)
{
	return nlines >= 4 && !(nlines & (nlines - 1)) && nlines <= 0xffff;
}

int pcn_ring_tx_init(struct pcn_ring_tx *tx, struct pcn_ring_shared *sh, u32 nlines, u8 self)
{
	if (!valid_size(nlines))
		return -EINVAL;
	memset(tx, 0, sizeof(*tx));
	tx->sh = sh;
	tx->nlines = nlines;
	tx->self = self;
	return 0;
}

int pcn_ring_rx_init(struct pcn_ring_rx *rx, struct pcn_ring_shared *sh, u32 nlines, u8 peer,
		     u16 max_type, u32 max_len)
{
	if (!valid_size(nlines) || pcn_ring_msg_lines(max_len) > nlines / 2)
		return -EINVAL;
	memset(rx, 0, sizeof(*rx));
	rx->sh = sh;
	rx->nlines = nlines;
	rx->peer = peer;
	rx->max_type = max_type;
	rx->max_len = max_len;
	return 0;
}

/* Copies n bytes into the ring from byte offset off of line index idx, wrapping. */
static void copy_in(struct pcn_ring_shared *sh, u32 nlines, u32 idx, u32 off,
		    const void *src, u32 n)
{
	size_t size = (size_t)nlines * PCN_RING_LINE;
	size_t at = ((size_t)(idx & (nlines - 1)) * PCN_RING_LINE + off) % size;
	size_t first = n < size - at ? n : size - at;

	memcpy(&sh->lines[0][0] + at, src, first);
	if (first < n)
		memcpy(&sh->lines[0][0], (const u8 *)src + first, n - first);
}

static void copy_out(const struct pcn_ring_shared *sh, u32 nlines, u32 idx, u32 off,
		     void *dst, u32 n)
{
	size_t size = (size_t)nlines * PCN_RING_LINE;
	size_t at = ((size_t)(idx & (nlines - 1)) * PCN_RING_LINE + off) % size;
	size_t first = n < size - at ? n : size - at;

	memcpy(dst, &sh->lines[0][0] + at, first);
	if (first < n)
		memcpy((u8 *)dst + first, &sh->lines[0][0], n - first);
}

/*
 * Room for n lines? Only when the tail we saw last says no is the consumer's tail read
 * again: a cache line less to fetch per message. That tail is untrusted.
 */
static int reserve(struct pcn_ring_tx *tx, u32 n)
{
	u32 used = tx->head - tx->tail_seen;

	if (tx->nlines - used >= n)
		return 0;
	/* Acquire: the consumer copied those lines out before it moved its tail. */
	tx->tail_seen = smp_load_acquire(&tx->sh->tail);
	used = tx->head - tx->tail_seen;
	if (used > tx->nlines) {
		tx->tail_seen = tx->head - tx->nlines;	/* trust nothing: the ring is full */
		tx->bad_tail++;
		return -EIO;
	}
	if (tx->nlines - used < n) {
		tx->full++;
		return -EAGAIN;
	}
	return 0;
}

int pcn_ring_send(struct pcn_ring_tx *tx, u16 type, u8 flags, u32 cookie,
		  const void *data, u32 len)
{
	struct pcn_ring_hdr hdr;
	u32 n = pcn_ring_msg_lines(len);
	int ret;

	if (len > tx->nlines * PCN_RING_LINE || n > tx->nlines / 2)
		return -EMSGSIZE;
	ret = reserve(tx, n);
	if (ret)
		return ret;
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = PCN_RING_MAGIC;
	hdr.sender = tx->self;
	hdr.flags = flags;
	hdr.type = type;
	hdr.lines = n;
	hdr.len = len;
	hdr.seq = tx->seq;
	hdr.cookie = cookie;
	copy_in(tx->sh, tx->nlines, tx->head, 0, &hdr, sizeof(hdr));
	if (len)
		copy_in(tx->sh, tx->nlines, tx->head, PCN_RING_HDR_SIZE, data, len);
	tx->head += n;
	tx->seq++;
	tx->sent++;
	smp_store_release(&tx->sh->head, tx->head);	/* the lines before the index */
	return 0;
}

/* Writes whole lines as they are, bypassing every rule: for tests of the consumer. */
int pcn_ring_send_raw(struct pcn_ring_tx *tx, const void *lines, u32 nlines)
{
	int ret = nlines <= tx->nlines / 2 ? reserve(tx, nlines) : -EMSGSIZE;

	if (ret)
		return ret;
	copy_in(tx->sh, tx->nlines, tx->head, 0, lines, nlines * PCN_RING_LINE);
	tx->head += nlines;
	smp_store_release(&tx->sh->head, tx->head);	/* the lines before the index */
	return 0;
}

bool pcn_ring_empty(const struct pcn_ring_rx *rx)
{
	return READ_ONCE(rx->sh->head) == rx->tail;
}

static void consume(struct pcn_ring_rx *rx, u32 n)
{
	rx->tail += n;
	smp_store_release(&rx->sh->tail, rx->tail);	/* after we copied the lines out */
}

/*
 * Takes the next message: 1 and its header and payload (buf holds max_len bytes),
 * 0 if the ring is empty, -EBADMSG if it was malformed (skipped and counted).
 */
int pcn_ring_recv(struct pcn_ring_rx *rx, struct pcn_ring_hdr *hdr, void *buf)
{
	/* Acquire: the producer wrote the lines before it moved its head. */
	u32 avail = smp_load_acquire(&rx->sh->head) - rx->tail;
	u32 skip = 1;

	if (!avail)
		return 0;
	if (avail > rx->nlines) {
		/* Impossible for an honest producer: drop what it claims to have written. */
		rx->resyncs++;
		consume(rx, avail);
		return -EBADMSG;
	}
	copy_out(rx->sh, rx->nlines, rx->tail, 0, hdr, sizeof(*hdr));
	if (hdr->magic != PCN_RING_MAGIC || !hdr->lines || hdr->lines > avail ||
	    hdr->lines > rx->nlines / 2)
		goto bad;
	skip = hdr->lines;	/* the header knows its extent: skip the whole message */
	if (hdr->sender != rx->peer || hdr->type >= rx->max_type || hdr->len > rx->max_len ||
	    pcn_ring_msg_lines(hdr->len) != hdr->lines || (hdr->flags & ~PCN_RING_FLAGS) ||
	    hdr->seq != rx->seq)
		goto bad;
	if (hdr->len)
		copy_out(rx->sh, rx->nlines, rx->tail, PCN_RING_HDR_SIZE, buf, hdr->len);
	rx->seq++;
	rx->received++;
	consume(rx, skip);
	return 1;
bad:
	rx->malformed++;
	consume(rx, skip);
	return -EBADMSG;
}
