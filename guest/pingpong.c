// SPDX-License-Identifier: GPL-2.0
/*
 * pingpong - SMP Linux baselines for the messaging benchmarks: round trips between
 * two processes pinned to CPU 0 and CPU 1 of one kernel.
 *
 *   pingpong pipe|unix LEN COUNT     LEN bytes each way through a pipe pair / a socketpair
 *   pingpong eventfd COUNT           an eventfd each way (8 bytes)
 *   pingpong cacheline COUNT         one shared cache line, both sides spinning (8 bytes):
 *                                    the floor for any shared-memory messaging
 *   pingpong memcpy LEN COUNT        COUNT copies of LEN bytes on CPU 0, into a 32 KiB
 *                                    area as large as a kmsg ring's data lines: the copy
 *                                    bandwidth a one-way message stream is held against
 *
 * Prints "p50_ns=.. p99_ns=.. samples=.." (CLOCK_MONOTONIC, per round trip), and every
 * sample with PINGPONG_RAW set; memcpy prints "elapsed_ns=.. msgs_per_s=.. mb_per_s=..",
 * as kmsgbench stream does. Errors are one line; the exit code is 1 (2 for usage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LEN	65536

static void die(const char *what)
{
	fprintf(stderr, "pingpong: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die(cpu ? "pin to CPU 1" : "pin to CPU 0");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void full(ssize_t (*io)(int, void *, size_t), int fd, char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = io(fd, buf + done, len - done);

		if (n <= 0)
			die("transfer");
		done += n;
	}
}

static ssize_t do_read(int fd, void *buf, size_t len)
{
	return read(fd, buf, len);
}

static ssize_t do_write(int fd, void *buf, size_t len)
{
	return write(fd, buf, len);
}

struct link {
	int to_child[2], to_parent[2];	/* [0] read end, [1] write end */
};

static void open_link(const char *kind, struct link *l)
{
	int a[2], b[2];

	if (!strcmp(kind, "pipe")) {
		if (pipe(l->to_child) || pipe(l->to_parent))
			die("pipe");
		return;
	}
	if (!strcmp(kind, "unix")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, a))
			die("socketpair");
		l->to_child[0] = a[1], l->to_child[1] = a[0];
		l->to_parent[0] = a[0], l->to_parent[1] = a[1];
		return;
	}
	a[0] = a[1] = eventfd(0, 0);
	b[0] = b[1] = eventfd(0, 0);
	if (a[0] < 0 || b[0] < 0)
		die("eventfd");
	memcpy(l->to_child, a, sizeof(a));
	memcpy(l->to_parent, b, sizeof(b));
}

/* The parent's side; the child echoes every message back. */
static void fd_pingpong(const char *kind, size_t len, uint32_t count, uint64_t *samples)
{
	static char buf[MAX_LEN];
	struct link l;
	uint32_t i;
	pid_t child;

	open_link(kind, &l);
	child = fork();
	if (child < 0)
		die("fork");
	if (!child) {
		pin(1);
		for (i = 0; i < count; i++) {
			full(do_read, l.to_child[0], buf, len);
			full(do_write, l.to_parent[1], buf, len);
		}
		_exit(0);
	}
	pin(0);
	memset(buf, 1, len);	/* an eventfd takes any non-zero 8 bytes */
	for (i = 0; i < count; i++) {
		uint64_t t0 = now_ns();

		full(do_write, l.to_child[1], buf, len);
		full(do_read, l.to_parent[0], buf, len);
		samples[i] = now_ns() - t0;
	}
	waitpid(child, NULL, 0);
}

static void cacheline_pingpong(uint32_t count, uint64_t *samples)
{
	volatile uint64_t *line = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint32_t i;
	pid_t child;

	if (line == MAP_FAILED)
		die("mmap");
	line[0] = 0;	/* odd: the ping, even: the pong */
	child = fork();
	if (child < 0)
		die("fork");
	if (!child) {
		pin(1);
		for (i = 1; i <= count; i++) {
			while (__atomic_load_n(&line[0], __ATOMIC_ACQUIRE) != 2 * i - 1)
				__builtin_ia32_pause();
			__atomic_store_n(&line[0], 2 * i, __ATOMIC_RELEASE);
		}
		_exit(0);
	}
	pin(0);
	for (i = 1; i <= count; i++) {
		uint64_t t0 = now_ns();

		__atomic_store_n(&line[0], 2 * i - 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&line[0], __ATOMIC_ACQUIRE) != 2 * i)
			__builtin_ia32_pause();
		samples[i - 1] = now_ns() - t0;
	}
	waitpid(child, NULL, 0);
}

#define COPY_AREA	32768

static int copy_bandwidth(size_t len, uint32_t count)
{
	static char src[MAX_LEN], area[COPY_AREA + MAX_LEN] __attribute__((aligned(64)));
	size_t at = 0;
	uint64_t t0, ns;
	uint32_t i;

	pin(0);
	memset(src, 0x5a, len);
	t0 = now_ns();
	for (i = 0; i < count; i++) {
		memcpy(area + at, src, len);
		__asm__ volatile("" : : "r"(area) : "memory");	/* the copy is not dead */
		at = (at + ((len + 63) & ~(size_t)63)) % COPY_AREA;
	}
	ns = now_ns() - t0;
	printf("elapsed_ns=%llu msgs_per_s=%.0f mb_per_s=%.3f\n", (unsigned long long)ns,
	       count / (ns / 1e9), (double)count * len / (ns / 1e9) / 1e6);
	return 0;
}

static int compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static unsigned long number(const char *text)
{
	char *end;
	unsigned long v = strtoul(text, &end, 0);

	if (end == text || *end) {
		fprintf(stderr, "pingpong: %s: not a number\n", text);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "";
	int with_len = !strcmp(kind, "pipe") || !strcmp(kind, "unix") || !strcmp(kind, "memcpy");
	size_t len = 8;
	uint32_t count, i, p50, p99;
	uint64_t *samples;

	if (argc != (with_len ? 4 : 3) ||
	    (!with_len && strcmp(kind, "eventfd") && strcmp(kind, "cacheline"))) {
		fprintf(stderr, "usage: pingpong pipe|unix|memcpy LEN COUNT\n"
			"       pingpong eventfd|cacheline COUNT\n");
		return 2;
	}
	if (with_len)
		len = number(argv[2]);
	count = number(argv[argc - 1]);
	if (!count || !len || len > MAX_LEN) {
		fprintf(stderr, "pingpong: COUNT must be >= 1 and LEN 1..%d\n", MAX_LEN);
		return 2;
	}
	if (!strcmp(kind, "memcpy"))
		return copy_bandwidth(len, count);
	samples = calloc(count, sizeof(*samples));
	if (!samples)
		die("samples");
	if (!strcmp(kind, "cacheline"))
		cacheline_pingpong(count, samples);
	else
		fd_pingpong(kind, len, count, samples);
	if (getenv("PINGPONG_RAW")) {
		printf("raw_ns=");
		for (i = 0; i < count; i++)
			printf("%s%llu", i ? ";" : "", (unsigned long long)samples[i]);
		printf("\n");
	}
	qsort(samples, count, sizeof(*samples), compare);
	p50 = (uint32_t)(0.50 * count + 0.999999);
	p99 = (uint32_t)(0.99 * count + 0.999999);
	printf("p50_ns=%llu p99_ns=%llu samples=%u\n",
	       (unsigned long long)samples[p50 ? p50 - 1 : 0],
	       (unsigned long long)samples[p99 ? p99 - 1 : 0], count);
	return 0;
}
