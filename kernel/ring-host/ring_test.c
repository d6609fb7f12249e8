// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's message ring (kernel/src/arch/x86/kernel/popcorn/ring.c, compiled
 * here unchanged) tested in user space:
 *
 *   ring_test unit             rules: sizes, wrap-around, a full ring, malformed input,
 *                              lying indices, the epoch handshake
 *   ring_test concurrent N     a producer and a consumer thread, N messages of random
 *                              sizes, each with its own sequence number and checksum,
 *                              and a malformed slot among every 100; the consumer
 *                              drains as the kernel does (hint, then a budget)
 *   ring_test pingpong N R     R rounds, each N round trips of 8 bytes between two
 *                              threads over two rings, then N over one shared cache
 *                              line (the raw cost of the hardware), alternating
 *
 * Prints "ok <what>" lines; the first failure prints "FAIL <what>" and exits 1.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ring.h"

#define MAX_LEN		8160	/* the messaging layer's largest payload */
#define MAX_TYPE	8
#define PAIR		pcn_ring_pair(3, 7)

static const struct pcn_ring_geometry geometry = { .nslots = 64, .ndata = 256 };

/* peek(), the payload copied into buf (max_len bytes), and consume(). */
static int pcn_ring_recv(struct pcn_ring_rx *rx, struct pcn_ring_msg *msg, void *buf)
{
	int ret = pcn_ring_peek(rx, msg);

	if (ret != 1)
		return ret;
	memcpy(buf, msg->data, msg->len);
	msg->data = buf;
	pcn_ring_consume(rx);
	return 1;
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		printf("FAIL %s\n", what);
		exit(1);
	}
}

static struct pcn_ring_shared *new_ring(const struct pcn_ring_geometry *g)
{
	struct pcn_ring_shared *sh = aligned_alloc(PCN_RING_PAIR, pcn_ring_bytes(g));

	check(sh != NULL, "allocate a ring");
	memset(sh, 0xa5, pcn_ring_bytes(g));	/* garbage, as shared memory may hold */
	return sh;
}

/* Both ends of one ring, reset for the same pair. */
static void connect(struct pcn_ring_tx *tx, struct pcn_ring_rx *rx, struct pcn_ring_shared *sh,
		    const struct pcn_ring_geometry *g)
{
	check(!pcn_ring_tx_init(tx, sh, g, 1) && !pcn_ring_rx_init(rx, sh, g, 1, MAX_TYPE, MAX_LEN),
	      "init");
	pcn_ring_rx_reset(rx, PAIR);
	pcn_ring_tx_reset(tx, PAIR);
}

/* A slot that is good but for what the caller spoils. */
static struct pcn_ring_slot good_slot(u32 len)
{
	struct pcn_ring_slot s = { .type = 1, .sender = 1, .len = len };

	return s;
}

static void unit_sizes(void)
{
	static u8 payload[MAX_LEN], got[MAX_LEN];
	struct pcn_ring_shared *sh = new_ring(&geometry);
	struct pcn_ring_geometry bad = { .nslots = 100, .ndata = 256 };
	struct pcn_ring_msg msg;
	struct pcn_ring_tx tx;
	struct pcn_ring_rx rx;
	u32 i, len, sent = 0;
	int ret;

	check(pcn_ring_tx_init(&tx, sh, &bad, 1) == -EINVAL, "a ring size must be a power of two");
	bad = (struct pcn_ring_geometry){ .nslots = 64, .ndata = 128 };
	check(pcn_ring_rx_init(&rx, sh, &bad, 1, MAX_TYPE, MAX_LEN) == -EINVAL,
	      "the largest message must fit in half the data lines");
	connect(&tx, &rx, sh, &geometry);
	check(pcn_ring_recv(&rx, &msg, got) == 0 && pcn_ring_empty(&rx), "a new ring is empty");
	for (i = 0; i < MAX_LEN; i++)
		payload[i] = (u8)(i * 7 + 3);

	/* Every size up to the largest, through many wrap-arounds of slots and data. */
	for (len = 0; len <= MAX_LEN; len += len < 128 ? 1 : 61) {
		check(!pcn_ring_send(&tx, len % MAX_TYPE, 0, len, payload, len), "send");
		check(pcn_ring_recv(&rx, &msg, got) == 1, "receive what was sent");
		check(msg.len == len && msg.type == len % MAX_TYPE && msg.cookie == len &&
		      !memcmp(got, payload, len), "the same message comes out");
		sent++;
	}
	check(tx.head == sent && rx.tail == sent, "one slot a message");
	printf("ok every size up to %u, %u messages across wrap-arounds\n", MAX_LEN, sent);

	/* Full: slots for small messages, data lines for large ones; nothing overwritten. */
	while ((ret = pcn_ring_send(&tx, 1, 0, 0, payload, 8)) == 0)
		;
	check(ret == -EAGAIN && tx.full == 1 && READ_ONCE(sh->ctl.waiting) == 1,
	      "a ring with no free slot says -EAGAIN and that it waits");
	for (i = 0; pcn_ring_recv(&rx, &msg, got) == 1; i++)
		check(msg.len == 8 && !memcmp(got, payload, 8), "nothing was overwritten");
	check(i == geometry.nslots, "a full ring held one message per slot");
	pcn_ring_rx_flush(&rx);
	while ((ret = pcn_ring_send(&tx, 1, 0, 0, payload, 4000)) == 0)
		;
	check(ret == -EAGAIN && READ_ONCE(sh->ctl.waiting) == 1, "data lines run out too");
	for (i = 0; pcn_ring_recv(&rx, &msg, got) == 1; i++)
		check(msg.len == 4000 && !memcmp(got, payload, 4000), "large ones intact");
	check(i >= 3 && i <= 4, "a full data ring held what fits without wrapping");
	check(pcn_ring_send(&tx, 1, 0, 0, payload, geometry.ndata * 64) == -EMSGSIZE,
	      "too large for the ring");
	printf("ok a full ring pushes back (%u large messages held)\n", i);
	free(sh);
}

/* The consumer publishes lazily, and at once when the producer waits. */
static void unit_lazy_tail(void)
{
	struct pcn_ring_shared *sh = new_ring(&geometry);
	struct pcn_ring_msg msg;
	struct pcn_ring_tx tx;
	struct pcn_ring_rx rx;
	u8 buf[MAX_LEN] = { 0 };
	u32 i;

	connect(&tx, &rx, sh, &geometry);
	for (i = 0; i < geometry.nslots / 4 - 1; i++)
		check(!pcn_ring_send(&tx, 1, 0, 0, buf, 8) && pcn_ring_recv(&rx, &msg, buf) == 1,
		      "send and receive");
	check(READ_ONCE(sh->ctl.tail) == 0, "less than a quarter ring: not published yet");
	check(!pcn_ring_send(&tx, 1, 0, 0, buf, 8) && pcn_ring_recv(&rx, &msg, buf) == 1, "one more");
	check(READ_ONCE(sh->ctl.tail) == geometry.nslots / 4, "a quarter ring: published");
	while (!pcn_ring_send(&tx, 1, 0, 0, buf, 8))
		;
	check(READ_ONCE(sh->ctl.waiting) == 1, "a full ring: the producer says it waits");
	check(pcn_ring_recv(&rx, &msg, buf) == 1 && READ_ONCE(sh->ctl.tail) == rx.tail,
	      "a waiting producer: the tail is published at once");
	check(!pcn_ring_send(&tx, 1, 0, 0, buf, 8) && READ_ONCE(sh->ctl.waiting) == 0,
	      "the producer found room and stopped waiting");
	check(pcn_ring_recv(&rx, &msg, buf) == 1 && READ_ONCE(sh->ctl.tail) != rx.tail,
	      "and the consumer is lazy again");
	pcn_ring_rx_flush(&rx);
	check(READ_ONCE(sh->ctl.tail) == rx.tail, "an empty ring: everything published");
	printf("ok the tail is published lazily, and at once for a waiting producer\n");
	free(sh);
}

/*
 * A lazy ring (the channel's): a waiting producer is told a quarter at a time, or when
 * the ring is empty, never per message; pcn_ring_room() asks as a send would.
 */
static void unit_lazy_ring(void)
{
	struct pcn_ring_shared *sh = new_ring(&geometry);
	struct pcn_ring_msg msg;
	struct pcn_ring_tx tx;
	struct pcn_ring_rx rx;
	u8 buf[MAX_LEN] = { 0 };
	u32 i, sent = 0;

	connect(&tx, &rx, sh, &geometry);
	rx.lazy = true;
	check(pcn_ring_room(&tx, MAX_LEN) == 0 && READ_ONCE(sh->ctl.waiting) == 0,
	      "an empty ring has room, and nobody waits");
	check(pcn_ring_room(&tx, geometry.ndata * 64) == -EMSGSIZE, "room for too large: never");
	while (!pcn_ring_send(&tx, 1, 0, 0, buf, 8))
		sent++;
	check(sent == geometry.nslots && READ_ONCE(sh->ctl.waiting) == 1, "full, and it waits");
	check(pcn_ring_room(&tx, 8) == -EAGAIN && tx.head == sent, "no room: nothing written");
	check(pcn_ring_recv(&rx, &msg, buf) == 1 && READ_ONCE(sh->ctl.tail) == 0,
	      "a lazy ring does not publish per message for a waiting producer");
	check(!pcn_ring_empty(&rx), "and its next message is still there");
	for (i = 1; i < geometry.nslots / 4; i++)
		check(pcn_ring_recv(&rx, &msg, buf) == 1, "receive");
	check(READ_ONCE(sh->ctl.tail) == geometry.nslots / 4, "a quarter: published");
	check(pcn_ring_room(&tx, 8) == 0 && READ_ONCE(sh->ctl.waiting) == 0,
	      "the producer sees the room and stops waiting");
	while (pcn_ring_recv(&rx, &msg, buf) == 1)
		;
	check(READ_ONCE(sh->ctl.tail) == rx.tail, "an empty ring: everything published");
	printf("ok a lazy ring tells a waiting producer a quarter at a time\n");
	free(sh);
}

/* Two pieces, as the network driver gathers a header and an skb's fragments. */
static void copy_two_pieces(void *dst, const void *src, u32 len)
{
	memcpy(dst, src, 10);
	memset((u8 *)dst + 10, 0xab, len - 10);
}

/* pcn_ring_send_copy(): the payload written in place by the caller's copy. */
static void unit_send_copy(void)
{
	struct pcn_ring_shared *sh = new_ring(&geometry);
	static u8 got[MAX_LEN], want[MAX_LEN];
	const u8 head[10] = "0123456789";
	struct pcn_ring_msg msg;
	struct pcn_ring_tx tx;
	struct pcn_ring_rx rx;
	u32 len;

	connect(&tx, &rx, sh, &geometry);
	for (len = 10; len <= MAX_LEN; len += 397) {
		copy_two_pieces(want, head, len);
		check(!pcn_ring_send_copy(&tx, 2, len, copy_two_pieces, head), "send by copy");
		check(pcn_ring_recv(&rx, &msg, got) == 1 && msg.len == len && msg.type == 2 &&
		      !memcmp(got, want, len), "what the copy wrote comes out");
	}
	check(pcn_ring_send_copy(&tx, 2, geometry.ndata * 64, copy_two_pieces, head) == -EMSGSIZE,
	      "too large: refused before any copy");
	printf("ok a payload written in place by the sender's copy\n");
	free(sh);
}

static void unit_malformed(void)
{
	struct pcn_ring_shared *sh = new_ring(&geometry);
	struct pcn_ring_slot s;
	struct pcn_ring_msg msg;
	struct pcn_ring_tx tx;
	struct pcn_ring_rx rx;
	u8 got[MAX_LEN], payload[64] = { 1, 2, 3 };
	int ret;
	u32 i;

	connect(&tx, &rx, sh, &geometry);
	s = good_slot(8);
	s.sender = 2;
	check(!pcn_ring_send_raw(&tx, &s, pcn_ring_next_lap(&tx)), "inject wrong sender");
	s = good_slot(8);
	s.type = MAX_TYPE;
	check(!pcn_ring_send_raw(&tx, &s, pcn_ring_next_lap(&tx)), "inject unknown type");
	s = good_slot(MAX_LEN + 1);
	check(!pcn_ring_send_raw(&tx, &s, pcn_ring_next_lap(&tx)), "inject length beyond limit");
	s = good_slot(8);
	s.flags = 0x80;
	check(!pcn_ring_send_raw(&tx, &s, pcn_ring_next_lap(&tx)), "inject unknown flag");
	s = good_slot(8);
	s.sender = 3;
	check(!pcn_ring_send_raw(&tx, &s, pcn_ring_next_lap(&tx)), "inject another kernel's id");
	s = good_slot(200);
	s.data = rx.data_tail + geometry.ndata;	/* a block beyond what it may have written */
	check(!pcn_ring_send_raw(&tx, &s, pcn_ring_next_lap(&tx)), "inject data out of window");
	s = good_slot(200);
	s.data = geometry.ndata - 1;	/* 4 lines from the last one: wraps */
	check(!pcn_ring_send_raw(&tx, &s, pcn_ring_next_lap(&tx)), "inject wrapping data");
	for (i = 0; (ret = pcn_ring_recv(&rx, &msg, got)) == -EBADMSG; i++)
		;
	check(i == 7 && rx.malformed == 7 && ret == 0, "every malformed slot rejected once");
	check(!pcn_ring_send(&tx, 2, 0, 0, payload, 64) && pcn_ring_recv(&rx, &msg, got) == 1 &&
	      !memcmp(got, payload, 64), "a good message after malformed ones");
	printf("ok 7 malformed slots rejected, the ring still works\n");

	/* Lies about the consumer's indices refuse sends, and are counted. */
	while (pcn_ring_send(&tx, 1, 0, 0, payload, 8) == 0)
		;
	WRITE_ONCE(sh->ctl.tail, tx.head + 1000);
	check(pcn_ring_send(&tx, 1, 0, 0, payload, 8) == -EIO && tx.bad_tail == 1,
	      "an impossible tail refuses sends");
	WRITE_ONCE(sh->ctl.tail, rx.published);
	WRITE_ONCE(sh->ctl.data_tail, tx.data_head + 1);
	check(pcn_ring_send(&tx, 1, 0, 0, payload, 8) == -EIO && tx.bad_tail == 2,
	      "an impossible data tail too");
	printf("ok impossible indices are refused and counted\n");
	free(sh);

	/*
	 * A lap word the producer made up (another pair's, or a later lap's): the slot is
	 * not written as far as the consumer knows. Its ring stops there; nothing is read.
	 */
	sh = new_ring(&geometry);
	connect(&tx, &rx, sh, &geometry);
	s = good_slot(8);
	check(!pcn_ring_send_raw(&tx, &s, pcn_ring_next_lap(&tx) ^ (1ULL << 40)) &&
	      !pcn_ring_send(&tx, 1, 0, 0, payload, 8), "a made-up lap word, then a message");
	check(pcn_ring_empty(&rx) && pcn_ring_recv(&rx, &msg, got) == 0 && rx.malformed == 0,
	      "a made-up lap word stops the producer's own ring: nothing read, nothing skipped");
	printf("ok a made-up lap word stops only its producer's ring\n");
	free(sh);
}

/* A restart on either side: each resets its own side; nothing of the old pair comes out. */
static void unit_epochs(void)
{
	struct pcn_ring_shared *sh = new_ring(&geometry);
	struct pcn_ring_msg msg;
	struct pcn_ring_tx tx;
	struct pcn_ring_rx rx;
	u8 got[MAX_LEN], payload[8] = { 9 };
	u32 i;

	check(!pcn_ring_tx_init(&tx, sh, &geometry, 1) &&
	      !pcn_ring_rx_init(&rx, sh, &geometry, 1, MAX_TYPE, MAX_LEN), "init");
	pcn_ring_tx_reset(&tx, PAIR);
	check(pcn_ring_send(&tx, 1, 0, 0, payload, 8) == -ENOTCONN,
	      "no send before the consumer was reset for the pair");
	pcn_ring_rx_reset(&rx, PAIR);
	for (i = 0; i < 10; i++)
		check(!pcn_ring_send(&tx, 1, 0, i, payload, 8), "send for the first pair");
	check(pcn_ring_recv(&rx, &msg, got) == 1 && msg.cookie == 0, "one of them is read");

	/* The consumer restarts: its side only. The producer's 9 messages are not read. */
	pcn_ring_rx_reset(&rx, pcn_ring_pair(3, 8));
	check(pcn_ring_recv(&rx, &msg, got) == 0, "nothing before the producer's reset");
	/* A late store of the old pair's producer lands after the consumer's reset. */
	check(!pcn_ring_send(&tx, 1, 0, 99, payload, 8), "the producer writes its old pair's slot");
	check(pcn_ring_recv(&rx, &msg, got) == 0 && rx.malformed == 0,
	      "a late store of the old pair is not read, nor taken for garbage");
	pcn_ring_tx_reset(&tx, pcn_ring_pair(3, 8));
	check(!pcn_ring_send(&tx, 1, 0, 1000, payload, 8) && pcn_ring_recv(&rx, &msg, got) == 1 &&
	      msg.cookie == 1000, "the new pair's first message is the first read");

	/* The producer restarts: it resets its side, and waits for the consumer's. */
	pcn_ring_tx_reset(&tx, pcn_ring_pair(4, 8));
	check(pcn_ring_send(&tx, 1, 0, 0, payload, 8) == -ENOTCONN, "wait for the consumer");
	check(pcn_ring_recv(&rx, &msg, got) == 0, "and the consumer reads nothing meanwhile");
	pcn_ring_rx_reset(&rx, pcn_ring_pair(4, 8));
	for (i = 0; i < 3 * geometry.nslots; i++)
		check(!pcn_ring_send(&tx, 1, 0, 2000 + i, payload, 8) &&
		      pcn_ring_recv(&rx, &msg, got) == 1 && msg.cookie == 2000 + i,
		      "in order after the restart, across laps");
	printf("ok restarts: each side resets its own, no message of an old pair is read\n");
	free(sh);
}

struct stream {
	struct pcn_ring_tx tx;
	struct pcn_ring_rx rx;
	u64 count;
	u64 injected, received, corrupted, out_of_order;
};

/* One of six kinds of malformed slot, as the kernel's stress test injects them. */
static void inject(struct stream *s, u64 kind)
{
	struct pcn_ring_slot slot = good_slot(8);

	switch (kind % 6) {
	case 0:
		slot.sender = 0x81;
		break;
	case 1:
		slot.type = MAX_TYPE;
		break;
	case 2:
		slot.len = MAX_LEN + 1;
		break;
	case 3:
		slot.flags = 0x80;
		break;
	case 4:
		slot.len = 200;
		slot.data = 0x7fffffff;
		break;
	default:
		slot.sender = 2;
		break;
	}
	while (pcn_ring_send_raw(&s->tx, &slot, pcn_ring_next_lap(&s->tx)) == -EAGAIN)
		__builtin_ia32_pause();
	s->injected++;
}

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
		len = 16 + (x & 3 ? x % 48 : x % (MAX_LEN - 16 + 1));
		memcpy(msg, &i, 8);
		for (j = 16; j < len; j++)
			msg[j] = (u8)(x >> (j % 56));
		sum = checksum(msg + 16, len - 16);
		memcpy(msg + 8, &sum, 4);
		memcpy(msg + 12, &len, 4);
		while (pcn_ring_send(&s->tx, (u16)(i % MAX_TYPE), 0, 0, msg, len) == -EAGAIN)
			__builtin_ia32_pause();
		if (i % 100 == 50)	/* never after the last message: the consumer stops there */
			inject(s, i / 100);
	}
	return NULL;
}

static void *consume_all(void *arg)
{
	struct stream *s = arg;
	struct pcn_ring_msg m;
	u8 msg[MAX_LEN];

	while (s->received < s->count) {
		u64 seq;
		u32 sum, len, budget = 64;
		int ret = 0;

		/* As the kernel drains: a look at the ring without peek(), then a budget. */
		if (pcn_ring_empty(&s->rx)) {
			__builtin_ia32_pause();
			continue;
		}
		while (budget-- && (ret = pcn_ring_recv(&s->rx, &m, msg)) < 0)
			;
		if (ret <= 0)
			continue;
		memcpy(&seq, msg, 8);
		memcpy(&sum, msg + 8, 4);
		memcpy(&len, msg + 12, 4);
		if (seq != s->received)
			s->out_of_order++;
		if (len != m.len || sum != checksum(msg + 16, m.len - 16))
			s->corrupted++;
		s->received++;
	}
	return NULL;
}

static void concurrent(u64 count)
{
	struct pcn_ring_geometry g = { .nslots = 256, .ndata = 512 };
	struct pcn_ring_shared *sh = new_ring(&g);
	struct stream s = { .count = count };
	pthread_t producer, consumer;

	connect(&s.tx, &s.rx, sh, &g);
	pthread_create(&consumer, NULL, consume_all, &s);
	pthread_create(&producer, NULL, produce, &s);
	pthread_join(producer, NULL);
	pthread_join(consumer, NULL);
	printf("sent=%llu received=%llu corrupted=%llu out_of_order=%llu injected=%llu malformed=%llu full=%llu\n",
	       (unsigned long long)(s.tx.sent - s.injected), (unsigned long long)s.received,
	       (unsigned long long)s.corrupted, (unsigned long long)s.out_of_order,
	       (unsigned long long)s.injected, (unsigned long long)s.rx.malformed,
	       (unsigned long long)s.tx.full);
	check(s.tx.sent - s.injected == count && s.received == count && !s.corrupted &&
	      !s.out_of_order && s.rx.malformed == s.injected,
	      "every message arrived once, in order, intact; every malformed one rejected");
	free(sh);
	printf("ok concurrent producer and consumer\n");
}

struct pong {
	struct pcn_ring_tx tx;
	struct pcn_ring_rx rx;
	u64 count;
	volatile u64 *line;	/* the raw baseline: one shared cache line */
};

static void *echo(void *arg)
{
	struct pong *p = arg;
	struct pcn_ring_msg m;
	u64 i;

	for (i = 0; i < p->count; i++) {
		while (pcn_ring_peek(&p->rx, &m) != 1)
			__builtin_ia32_pause();
		while (pcn_ring_send(&p->tx, 1, 0, 0, m.data, m.len))
			__builtin_ia32_pause();
		pcn_ring_consume(&p->rx);
	}
	return NULL;
}

/* The other thread answers every odd value with the next even one. */
static void *line_echo(void *arg)
{
	struct pong *p = arg;
	u64 i;

	for (i = 0; i < p->count; i++) {
		while (__atomic_load_n(p->line, __ATOMIC_ACQUIRE) != 2 * i + 1)
			__builtin_ia32_pause();
		__atomic_store_n(p->line, 2 * i + 2, __ATOMIC_RELEASE);
	}
	return NULL;
}

static double seconds(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

static double ring_round(u64 count)
{
	struct pcn_ring_geometry g = { .nslots = 256, .ndata = 512 };
	struct pcn_ring_shared *ab = new_ring(&g), *ba = new_ring(&g);
	struct pong me, peer = { .count = count };
	struct pcn_ring_msg m;
	struct timespec t0, t1;
	u8 msg[8] = { 0 };
	pthread_t thread;
	u64 i;

	connect(&me.tx, &peer.rx, ab, &g);
	connect(&peer.tx, &me.rx, ba, &g);
	pthread_create(&thread, NULL, echo, &peer);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		check(!pcn_ring_send(&me.tx, 1, 0, 0, msg, 8), "send");
		while (pcn_ring_peek(&me.rx, &m) != 1)
			__builtin_ia32_pause();
		pcn_ring_consume(&me.rx);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(thread, NULL);
	free(ab);
	free(ba);
	return seconds(&t0, &t1) * 1e9 / count;
}

static double line_round(u64 count)
{
	static u64 line[16] __attribute__((aligned(128)));
	struct pong peer = { .count = count, .line = line };
	struct timespec t0, t1;
	pthread_t thread;
	u64 i;

	line[0] = 0;
	pthread_create(&thread, NULL, line_echo, &peer);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		__atomic_store_n(&line[0], 2 * i + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&line[0], __ATOMIC_ACQUIRE) != 2 * i + 2)
			__builtin_ia32_pause();
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(thread, NULL);
	return seconds(&t0, &t1) * 1e9 / count;
}

/* One line per round: the ring's round trip and the raw cache line's, alternating. */
static void pingpong(u64 count, u64 rounds)
{
	u64 r;

	for (r = 0; r < rounds; r++) {
		double ring = ring_round(count), line = line_round(count);

		printf("round=%llu ring_round_trip_ns=%.1f line_round_trip_ns=%.1f\n",
		       (unsigned long long)r, ring, line);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "unit")) {
		unit_sizes();
		unit_lazy_tail();
		unit_lazy_ring();
		unit_send_copy();
		unit_malformed();
		unit_epochs();
	} else if (argc == 4 && !strcmp(argv[1], "pingpong")) {
		pingpong(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0));
	} else if (argc == 3 && !strcmp(argv[1], "concurrent")) {
		concurrent(strtoull(argv[2], NULL, 0));
	} else {
		return 2;
	}
	return 0;
}
