// SPDX-License-Identifier: GPL-2.0
/*
 * kmsgbench - the kernel messaging microbenchmarks, driven from user space.
 *
 *   kmsgbench mode ipi|poll [KERNEL]    how a kernel (default: this one) learns of
 *                                       new messages
 *   kmsgbench ping PEER LEN COUNT       COUNT round trips of LEN bytes to kernel PEER
 *   kmsgbench stream PEER LEN COUNT     COUNT one-way messages, then one round trip
 *   kmsgbench fanin TARGET K1,K2.. LEN COUNT   all-to-one: the kernels K1.. each stream
 *                                       COUNT messages to TARGET at once
 *   kmsgbench stress COUNT MALFORMED SEED   start the stress test on every kernel
 *   kmsgbench stress-stats KERNEL       one kernel's stress counts, per peer kernel
 *   kmsgbench flood PEER MS             MS milliseconds of requests to PEER whose
 *                                       replies are never read (a faulty peer)
 *   kmsgbench restart start KERNEL TARGET | stop KERNEL | stats KERNEL
 *                                       the restart test's stream from KERNEL to
 *                                       TARGET, and what KERNEL received of it
 *   kmsgbench probe A B PEER            can this kernel read ring (A, B), write
 *                                       PEER's record? "read=0|-14 write=0|-14"
 *
 * The kernel runs the loop (/dev/popcorn_kmsg) and times it on this kernel's clock.
 * ping prints "p50_ns=.. p99_ns=.. samples=.." and, with PINGPONG_RAW set, every
 * sample; stream prints "elapsed_ns=.. msgs_per_s=.. mb_per_s=..". Errors are one line
 * naming what failed; the exit code is 1 (2 for usage).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/popcorn.h>

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "kmsgbench: %s: %s\n", what, detail);
	exit(1);
}

static unsigned long number(const char *what, const char *text)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(text, &end, 0);
	if (errno || end == text || *end)
		die(what, "not a number");
	return value;
}

static int device(void)
{
	int fd = open("/dev/popcorn_kmsg", O_RDWR);

	if (fd < 0)
		die("/dev/popcorn_kmsg", strerror(errno));
	return fd;
}

static int compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The value below which q of the samples lie (nearest rank). */
static uint64_t quantile(const uint64_t *sorted, uint32_t n, double q)
{
	uint32_t rank = (uint32_t)(q * n + 0.999999);

	return sorted[rank ? rank - 1 : 0];
}

static int bench(int argc, char **argv, int stream)
{
	struct popcorn_kmsg_bench b = { 0 };
	uint64_t *samples = NULL;
	uint32_t i;

	if (argc != 5)
		return 2;
	b.peer = number("PEER", argv[2]);
	b.len = number("LEN", argv[3]);
	b.count = number("COUNT", argv[4]);
	if (!b.count)
		die("COUNT", "must be at least 1");
	if (!stream) {
		samples = calloc(b.count, sizeof(*samples));
		if (!samples)
			die("samples", "out of memory");
		b.samples = (uintptr_t)samples;
	}
	if (ioctl(device(), stream ? POPCORN_KMSG_IOC_STREAM : POPCORN_KMSG_IOC_PING, &b))
		die(stream ? "stream" : "ping", strerror(errno));
	if (stream) {
		double s = b.elapsed_ns / 1e9;

		printf("elapsed_ns=%llu msgs_per_s=%.0f mb_per_s=%.3f\n",
		       (unsigned long long)b.elapsed_ns, b.count / s, b.count * (double)b.len / s / 1e6);
		return 0;
	}
	if (getenv("PINGPONG_RAW")) {
		printf("raw_ns=");
		for (i = 0; i < b.count; i++)
			printf("%s%llu", i ? ";" : "", (unsigned long long)samples[i]);
		printf("\n");
	}
	qsort(samples, b.count, sizeof(*samples), compare);
	printf("p50_ns=%llu p99_ns=%llu samples=%u\n",
	       (unsigned long long)quantile(samples, b.count, 0.50),
	       (unsigned long long)quantile(samples, b.count, 0.99), b.count);
	return 0;
}

static void print_counts(const char *name, const __u64 *v)
{
	int i;

	printf(" %s=", name);
	for (i = 0; i < POPCORN_KMSG_STRESS_PEERS; i++)
		printf("%s%llu", i ? ";" : "", (unsigned long long)v[i]);
}

static int fanin(int argc, char **argv)
{
	struct popcorn_kmsg_fanin f = { 0 };
	unsigned int n = 0;
	char *item;
	double s;

	if (argc != 6)
		return 2;
	f.target = number("TARGET", argv[2]);
	for (item = strtok(argv[3], ","); item; item = strtok(NULL, ","), n++)
		f.senders |= 1u << (number("sender", item) & 31);
	f.len = number("LEN", argv[4]);
	f.count = number("COUNT", argv[5]);
	if (ioctl(device(), POPCORN_KMSG_IOC_FANIN, &f))
		die("fanin", strerror(errno));
	s = f.span_ns / 1e9;
	printf("senders=%u span_ns=%llu msgs_per_s=%.0f mb_per_s=%.3f\n", n,
	       (unsigned long long)f.span_ns, (double)n * f.count / s,
	       (double)n * f.count * f.len / s / 1e6);
	return 0;
}

static int stress(int argc, char **argv)
{
	struct popcorn_kmsg_stress p = { 0 };
	struct popcorn_kmsg_stress_stats s = { 0 };

	if (!strcmp(argv[1], "stress")) {
		if (argc != 5)
			return 2;
		p.count = number("COUNT", argv[2]);
		p.malformed = number("MALFORMED", argv[3]);
		p.seed = number("SEED", argv[4]);
		if (ioctl(device(), POPCORN_KMSG_IOC_STRESS, &p))
			die("stress", strerror(errno));
		return 0;
	}
	if (argc != 3)
		return 2;
	s.kernel = number("KERNEL", argv[2]);
	if (ioctl(device(), POPCORN_KMSG_IOC_STRESS_STATS, &s))
		die("stress-stats", strerror(errno));
	printf("kernel=%u running=%u", s.kernel, s.running);
	print_counts("sent", s.sent);
	print_counts("send_errors", s.send_errors);
	print_counts("injected", s.injected);
	print_counts("received", s.received);
	print_counts("lost", s.lost);
	print_counts("duplicated", s.duplicated);
	print_counts("corrupted", s.corrupted);
	print_counts("rejected", s.rejected);
	printf("\n");
	return 0;
}

static int flood(int argc, char **argv)
{
	struct popcorn_kmsg_flood f = { 0 };

	if (argc != 4)
		return 2;
	f.peer = number("PEER", argv[2]);
	f.ms = number("MS", argv[3]);
	if (ioctl(device(), POPCORN_KMSG_IOC_FLOOD, &f))
		die("flood", strerror(errno));
	printf("sent=%llu full=%llu\n", (unsigned long long)f.sent, (unsigned long long)f.full);
	return 0;
}

static int restart(int argc, char **argv)
{
	struct popcorn_kmsg_restart r = { 0 };

	if (argc == 5 && !strcmp(argv[2], "start")) {
		r.op = POPCORN_KMSG_RESTART_START;
		r.target = number("TARGET", argv[4]);
	} else if (argc == 4 && !strcmp(argv[2], "stop")) {
		r.op = POPCORN_KMSG_RESTART_STOP;
	} else if (argc == 4 && !strcmp(argv[2], "stats")) {
		r.op = POPCORN_KMSG_RESTART_STATS;
	} else {
		return 2;
	}
	r.kernel = number("KERNEL", argv[3]);
	if (ioctl(device(), POPCORN_KMSG_IOC_RESTART, &r))
		die("restart", strerror(errno));
	if (r.op == POPCORN_KMSG_RESTART_STATS)
		printf("epoch=%u received=%llu stale=%llu out_of_order=%llu\n", r.epoch,
		       (unsigned long long)r.received, (unsigned long long)r.stale,
		       (unsigned long long)r.out_of_order);
	return 0;
}

static int probe(char **argv)
{
	struct popcorn_kmsg_probe p = { 0 };

	p.a = number("A", argv[2]);
	p.b = number("B", argv[3]);
	p.peer = number("PEER", argv[4]);
	if (ioctl(device(), POPCORN_KMSG_IOC_PROBE, &p))
		die("probe", strerror(errno));
	printf("read=%d write=%d\n", p.read, p.write);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "mode")) {
		struct popcorn_kmsg_set_mode m = { .kernel = (__u32)-1 };

		if (!strcmp(argv[2], "ipi"))
			m.mode = POPCORN_KMSG_MODE_IPI;
		else if (!strcmp(argv[2], "poll"))
			m.mode = POPCORN_KMSG_MODE_POLL;
		else
			die(argv[2], "not a mode (ipi or poll)");
		if (argc == 4)
			m.kernel = number("KERNEL", argv[3]);
		if (ioctl(device(), POPCORN_KMSG_IOC_MODE, &m))
			die("mode", strerror(errno));
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "ping"))
		return bench(argc, argv, 0);
	if (argc >= 2 && !strcmp(argv[1], "stream"))
		return bench(argc, argv, 1);
	if (argc >= 2 && !strcmp(argv[1], "fanin"))
		return fanin(argc, argv);
	if (argc >= 2 && (!strcmp(argv[1], "stress") || !strcmp(argv[1], "stress-stats")) &&
	    !stress(argc, argv))
		return 0;
	if (argc == 4 && !strcmp(argv[1], "flood"))
		return flood(argc, argv);
	if (argc >= 4 && !strcmp(argv[1], "restart") && restart(argc, argv) != 2)
		return 0;
	if (argc == 5 && !strcmp(argv[1], "probe"))
		return probe(argv);
	fprintf(stderr, "usage: kmsgbench mode ipi|poll [KERNEL]\n"
		"       kmsgbench ping PEER LEN COUNT\n"
		"       kmsgbench stream PEER LEN COUNT\n"
		"       kmsgbench fanin TARGET K1,K2.. LEN COUNT\n"
		"       kmsgbench stress COUNT MALFORMED SEED\n"
		"       kmsgbench stress-stats KERNEL\n"
		"       kmsgbench flood PEER MS\n"
		"       kmsgbench restart start KERNEL TARGET | stop KERNEL | stats KERNEL\n"
		"       kmsgbench probe A B PEER\n");
	return 2;
}
