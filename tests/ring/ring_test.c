// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's message ring (kernel/src/arch/x86/kernel/popcorn/ring.c, compiled
 * here unchanged) tested in user space:
 *
 *   ring_test unit             rules: sizes, wrap-around, a full ring, malformed input
 *   ring_test concurrent N     a producer and a consumer thread, N messages of random
 *                              sizes, each with its own sequence number and checksum
 *   ring_test pingpong N       N round trips of 8 bytes between two threads over two
 *                              rings (the ring's own cost, without a kernel around it)
 *
 * Prints "ok <what>" lines; the first failure prints "FAIL <what>" and exits 1.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ring.h"

#define MAX_LEN		4064	/* pcn_ring_msg_lines(MAX_LEN) == 64 */
#define MAX_TYPE	8

static void check(bool ok, const char *what)
{
	if (!ok) {
		printf("FAIL %s\n", what);
		exit(1);
	}
}

static struct pcn_ring_shared *new_ring(u32 nlines)
{
	struct pcn_ring_shared *sh = aligned_alloc(64, pcn_ring_bytes(nlines));

	check(sh != NULL, "allocate a ring");
	memset(sh, 0xa5, pcn_ring_bytes(nlines));	/* garbage, as shared memory may hold */
	pcn_ring_reset(sh);
	return sh;
}

/* One raw line holding a header; the test then spoils one field. */
static void raw_header(u8 line[PCN_RING_LINE], u8 sender, u16 type, u32 len, u32 seq)
{
	struct pcn_ring_hdr hdr = {
		.magic = PCN_RING_MAGIC, .sender = sender, .type = type,
		.lines = pcn_ring_msg_lines(len), .len = len, .seq = seq,
	};

	memset(line, 0, PCN_RING_LINE);
	memcpy(line, &hdr, sizeof(hdr));
}

static void unit(void)
{
	static u8 payload[MAX_LEN], got[MAX_LEN];
	struct pcn_ring_shared *sh = new_ring(128);
	struct pcn_ring_hdr hdr;
	struct pcn_ring_tx tx;
	struct pcn_ring_rx rx;
	u8 line[PCN_RING_LINE];
	u32 i, len, sent = 0;
	int ret;

	check(pcn_ring_tx_init(&tx, sh, 100, 1) == -EINVAL, "a ring size must be a power of two");
	check(pcn_ring_rx_init(&rx, sh, 64, 1, MAX_TYPE, MAX_LEN) == -EINVAL,
	      "the largest message must fit in half the ring");
	check(!pcn_ring_tx_init(&tx, sh, 128, 1) &&
	      !pcn_ring_rx_init(&rx, sh, 128, 1, MAX_TYPE, MAX_LEN), "init");
	check(pcn_ring_recv(&rx, &hdr, got) == 0 && pcn_ring_empty(&rx), "a new ring is empty");
	for (i = 0; i < MAX_LEN; i++)
		payload[i] = (u8)(i * 7 + 3);

	/* Every size from 0 to MAX_LEN, through many wrap-arounds of the ring. */
	for (len = 0; len <= MAX_LEN; len += 29) {
		check(!pcn_ring_send(&tx, len % MAX_TYPE, 0, len, payload, len), "send");
		check(pcn_ring_recv(&rx, &hdr, got) == 1, "receive what was sent");
		check(hdr.len == len && hdr.type == len % MAX_TYPE && hdr.cookie == len &&
		      hdr.seq == sent && !memcmp(got, payload, len), "the same message comes out");
		sent++;
	}
	printf("ok every size, %u messages across wrap-arounds\n", sent);

	/* A full ring pushes back and overwrites nothing. */
	while ((ret = pcn_ring_send(&tx, 1, 0, 0, payload, 100)) == 0)
		;
	check(ret == -EAGAIN && tx.full == 1, "a full ring says -EAGAIN");
	for (i = 0; pcn_ring_recv(&rx, &hdr, got) == 1; i++)
		check(hdr.len == 100 && !memcmp(got, payload, 100), "nothing was overwritten");
	check(i == 128 / pcn_ring_msg_lines(100), "a full ring held every message it took");
	check(pcn_ring_send(&tx, 1, 0, 0, payload, MAX_LEN + 64) == -EMSGSIZE,
	      "too large for the ring");
	printf("ok a full ring pushes back (%u messages held)\n", i);

	/* Malformed input: each message rejected once, then a good one goes through. */
	raw_header(line, 1, 1, 8, rx.seq);
	line[0] ^= 0xff;
	check(!pcn_ring_send_raw(&tx, line, 1), "inject bad magic");
	raw_header(line, 1, 1, 8, rx.seq);
	((struct pcn_ring_hdr *)line)->lines = 200;
	check(!pcn_ring_send_raw(&tx, line, 1), "inject impossible extent");
	raw_header(line, 2, 1, 8, rx.seq);
	check(!pcn_ring_send_raw(&tx, line, 1), "inject wrong sender");
	raw_header(line, 1, MAX_TYPE, 8, rx.seq);
	check(!pcn_ring_send_raw(&tx, line, 1), "inject unknown type");
	raw_header(line, 1, 1, 8, rx.seq);
	((struct pcn_ring_hdr *)line)->len = 40;	/* needs 2 lines, says 1 */
	check(!pcn_ring_send_raw(&tx, line, 1), "inject length beyond extent");
	raw_header(line, 1, 1, 8, rx.seq + 5);
	check(!pcn_ring_send_raw(&tx, line, 1), "inject wrong sequence number");
	raw_header(line, 1, 1, 8, rx.seq);
	((struct pcn_ring_hdr *)line)->flags = 0x80;
	check(!pcn_ring_send_raw(&tx, line, 1), "inject unknown flag");
	for (i = 0; (ret = pcn_ring_recv(&rx, &hdr, got)) == -EBADMSG; i++)
		;
	check(i == 7 && rx.malformed == 7 && ret == 0, "every malformed message rejected once");
	tx.seq = rx.seq;	/* the injections used no sequence numbers */
	check(!pcn_ring_send(&tx, 2, 0, 0, payload, 8) && pcn_ring_recv(&rx, &hdr, got) == 1,
	      "a good message after malformed ones");
	printf("ok 7 malformed messages rejected, the ring still works\n");

	/* Lies about the indices. */
	/* The producer looks at the tail again once its last view of it says full. */
	WRITE_ONCE(sh->tail, tx.head + 1000);
	for (i = 0; (ret = pcn_ring_send(&tx, 1, 0, 0, payload, 100)) == 0; i++)
		;
	check(ret == -EIO && tx.bad_tail == 1 && i < 128, "an impossible tail refuses sends");
	check(pcn_ring_send(&tx, 1, 0, 0, payload, 8) == -EIO, "and goes on refusing them");
	while (pcn_ring_recv(&rx, &hdr, got) == 1)
		;
	WRITE_ONCE(sh->tail, rx.tail);
	WRITE_ONCE(sh->head, rx.tail + 100000);
	check(pcn_ring_recv(&rx, &hdr, got) == -EBADMSG && rx.resyncs == 1,
	      "an impossible head is dropped");
	free(sh);
	printf("ok impossible indices are refused and counted\n");
}

struct stream {
	struct pcn_ring_tx tx;
	struct pcn_ring_rx rx;
	u64 count;
	u64 received, corrupted, out_of_order;
};

static u32 checksum(const u8 *p, u32 n)
{
	u32 sum = 2166136261u;	/* FNV-1a */

	while (n--)
		sum = (sum ^ *p++) * 16777619u;
	return sum;
}

/* Payload: our own sequence number, a checksum of the rest, then pseudo-random bytes. */
static void *produce(void *arg)
{
	struct stream *s = arg;
	u8 msg[MAX_LEN];
	u64 i, x = 88172645463325252ull;

	for (i = 0; i < s->count; i++) {
		u32 len, j, sum;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		len = 16 + x % (MAX_LEN - 16 + 1);
		memcpy(msg, &i, 8);
		for (j = 16; j < len; j++)
			msg[j] = (u8)(x >> (j % 56));
		sum = checksum(msg + 16, len - 16);
		memcpy(msg + 8, &sum, 4);
		memcpy(msg + 12, &len, 4);
		while (pcn_ring_send(&s->tx, (u16)(i % MAX_TYPE), 0, 0, msg, len) == -EAGAIN)
			__builtin_ia32_pause();
	}
	return NULL;
}

static void *consume_all(void *arg)
{
	struct stream *s = arg;
	struct pcn_ring_hdr hdr;
	u8 msg[MAX_LEN];

	while (s->received < s->count) {
		u64 seq;
		u32 sum, len;
		int ret = pcn_ring_recv(&s->rx, &hdr, msg);

		if (ret == 0) {
			__builtin_ia32_pause();
			continue;
		}
		if (ret < 0) {
			s->corrupted++;
			continue;
		}
		memcpy(&seq, msg, 8);
		memcpy(&sum, msg + 8, 4);
		memcpy(&len, msg + 12, 4);
		if (seq != s->received)
			s->out_of_order++;
		if (len != hdr.len || sum != checksum(msg + 16, hdr.len - 16))
			s->corrupted++;
		s->received++;
	}
	return NULL;
}

static void concurrent(u64 count)
{
	struct pcn_ring_shared *sh = new_ring(256);
	struct stream s = { .count = count };
	pthread_t producer, consumer;

	check(!pcn_ring_tx_init(&s.tx, sh, 256, 3) &&
	      !pcn_ring_rx_init(&s.rx, sh, 256, 3, MAX_TYPE, MAX_LEN), "init");
	pthread_create(&consumer, NULL, consume_all, &s);
	pthread_create(&producer, NULL, produce, &s);
	pthread_join(producer, NULL);
	pthread_join(consumer, NULL);
	printf("sent=%llu received=%llu corrupted=%llu out_of_order=%llu malformed=%llu full=%llu\n",
	       (unsigned long long)s.tx.sent, (unsigned long long)s.received,
	       (unsigned long long)s.corrupted, (unsigned long long)s.out_of_order,
	       (unsigned long long)s.rx.malformed, (unsigned long long)s.tx.full);
	check(s.tx.sent == count && s.received == count && !s.corrupted && !s.out_of_order &&
	      !s.rx.malformed, "every message arrived once, in order, intact");
	free(sh);
	printf("ok concurrent producer and consumer\n");
}

struct pong {
	struct pcn_ring_tx tx;
	struct pcn_ring_rx rx;
	u64 count;
};

static void *echo(void *arg)
{
	struct pong *p = arg;
	struct pcn_ring_hdr hdr;
	u8 msg[MAX_LEN];
	u64 i;

	for (i = 0; i < p->count; i++) {
		while (pcn_ring_recv(&p->rx, &hdr, msg) != 1)
			__builtin_ia32_pause();
		while (pcn_ring_send(&p->tx, 1, 0, 0, msg, hdr.len))
			__builtin_ia32_pause();
	}
	return NULL;
}

static void pingpong(u64 count)
{
	struct pcn_ring_shared *ab = new_ring(256), *ba = new_ring(256);
	struct pong me, peer = { .count = count };
	struct pcn_ring_hdr hdr;
	struct timespec t0, t1;
	u8 msg[MAX_LEN] = { 0 };
	pthread_t thread;
	u64 i;

	check(!pcn_ring_tx_init(&me.tx, ab, 256, 1) && !pcn_ring_rx_init(&peer.rx, ab, 256, 1,
	      MAX_TYPE, MAX_LEN) && !pcn_ring_tx_init(&peer.tx, ba, 256, 2) &&
	      !pcn_ring_rx_init(&me.rx, ba, 256, 2, MAX_TYPE, MAX_LEN), "init");
	pthread_create(&thread, NULL, echo, &peer);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		check(!pcn_ring_send(&me.tx, 1, 0, 0, msg, 8), "send");
		while (pcn_ring_recv(&me.rx, &hdr, msg) != 1)
			__builtin_ia32_pause();
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(thread, NULL);
	printf("round_trip_ns=%.0f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec))
	       / count);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "unit"))
		unit();
	else if (argc == 3 && !strcmp(argv[1], "pingpong"))
		pingpong(strtoull(argv[2], NULL, 0));
	else if (argc == 3 && !strcmp(argv[1], "concurrent"))
		concurrent(strtoull(argv[2], NULL, 0));
	else
		return 2;
	return 0;
}
