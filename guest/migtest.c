// SPDX-License-Identifier: GPL-2.0
/*
 * migtest - a process that is migrated while it computes, and checks itself.
 *
 *   migtest SIZE ROUNDS [KERNEL...]
 *   migtest hold SIZE
 *   migtest tsc
 *
 * Fills SIZE bytes (heap below 128 KiB, an anonymous mapping above) with a pattern,
 * then each round computes on all of it (an integer checksum, floating point, a
 * __thread counter), raises SIGALRM (a handler counts) and changes it, and prints the
 * round's checksum. After round i it moves itself to KERNEL[i] with the migrate ioctl
 * and reports on standard error how long that took, on the TSC every kernel shares:
 *   @@MIG kernel=K size=SIZE cycles=C ns=N mono_ns=M real_ns=W rc=R [reason=...]
 * (N from the TSC rate measured against CLOCK_MONOTONIC at start; M and W: how far
 * CLOCK_MONOTONIC and CLOCK_REALTIME moved across the ioctl). The last line of
 * standard output is the result, the same for every run of the same SIZE and ROUNDS,
 * migrated or not; the exit code is 7, for the parent to see through a shadow.
 *
 * hold is the migrate experiment's process: see hold() below. tsc prints the TSC.
 *
 * MIGTEST_SPIN_MS=N spins N ms after each round (so that popcornctl can move it from
 * outside meanwhile); MIGTEST_OPEN=PATH keeps PATH open and MIGTEST_THREAD=1 starts a
 * second thread that sleeps (a migration must refuse either).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/popcorn.h>

#define EXIT_CODE	7

static __thread uint64_t tls_rounds;
static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* TSC cycles per ns, against this kernel's clock over 50 ms. */
static double tsc_per_ns(void)
{
	uint64_t t0 = now_ns(), c0 = rdtsc(), t1;

	do
		t1 = now_ns();
	while (t1 - t0 < 50000000u);
	return (double)(rdtsc() - c0) / (double)(t1 - t0);
}

static void spin_ms(long ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;

	while (now_ns() < end)
		;
}

static uint64_t round_checksum(unsigned char *buf, size_t size, int round, double *fp)
{
	uint64_t sum = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < size; i++) {
		sum = (sum ^ buf[i]) * 1099511628211ull;
		buf[i] = (unsigned char)(buf[i] * 31 + round + i);
	}
	*fp += (double)(sum % 1000003) / (round + 1) * 1.000000119;
	tls_rounds += round + 1;
	return sum;
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Moves itself, and says how long that took on the TSC and by its clocks: they must
 * neither jump nor go back.
 */
static void migrate(int fd, const char *kernel, size_t size, double rate)
{
	struct popcorn_migrate m = { .kernel = strtoul(kernel, NULL, 0) };
	int64_t m0, r0, m1, r1;
	uint64_t c0, c1;
	int rc;

	m0 = clock_ns(CLOCK_MONOTONIC);
	r0 = clock_ns(CLOCK_REALTIME);
	c0 = rdtsc();
	rc = ioctl(fd, POPCORN_IOC_MIGRATE, &m);
	c1 = rdtsc();
	r1 = clock_ns(CLOCK_REALTIME);
	m1 = clock_ns(CLOCK_MONOTONIC);
	m.reason[sizeof(m.reason) - 1] = '\0';
	fprintf(stderr, "@@MIG kernel=%u size=%zu cycles=%llu ns=%.0f mono_ns=%lld real_ns=%lld "
		"rc=%d%s%s\n", m.kernel, size, (unsigned long long)(c1 - c0),
		(double)(c1 - c0) / rate, (long long)(m1 - m0), (long long)(r1 - r0),
		rc ? errno : 0, m.reason[0] ? " reason=" : "", m.reason);
}

/*
 * hold SIZE: fills SIZE bytes, says "ready", then spins on the TSC until its pid or its
 * parent's differs (popcorn: its pid there; CRIU keeps the pid, but its parent there is
 * criu). Then it says when it last ran at home and first ran there, on the TSC, checks
 * its memory, and exits. The move is the longer of the two pauses around the check
 * that saw it (no file is opened while it spins: an open fd would not move).
 */
static int hold(size_t size)
{
	uint64_t sum, prev, now, after, start, end, deadline;
	unsigned char *buf = malloc(size ? size : 1);
	double rate = tsc_per_ns(), fp = 0;
	pid_t pid = getpid(), parent = getppid();
	size_t i;

	if (!buf)
		return 1;
	for (i = 0; i < size; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	sum = round_checksum(buf, size, 0, &fp);
	for (i = 0; i < size; i++)	/* as it was: the same sum again below */
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	printf("ready size=%zu rate=%.6f\n", size, rate);
	fflush(stdout);
	deadline = rdtsc() + (uint64_t)(rate * 6e11);	/* 600 s */
	prev = rdtsc();
	for (;;) {
		now = rdtsc();
		if (getpid() != pid || getppid() != parent)
			break;
		if (now > deadline) {
			printf("@@GAP none size=%zu\n", size);
			return 1;
		}
		prev = now;
	}
	after = rdtsc();
	/* Moved before this turn's TSC read, or after it (in the check itself). */
	start = now - prev > after - now ? prev : now;
	end = now - prev > after - now ? now : after;
	printf("@@GAP size=%zu from=%llu to=%llu rate=%.6f correct=%d\n", size,
	       (unsigned long long)start, (unsigned long long)end, rate,
	       round_checksum(buf, size, 0, &fp) == sum);
	return 0;
}

int main(int argc, char **argv)
{
	const char *spin = getenv("MIGTEST_SPIN_MS"), *keep = getenv("MIGTEST_OPEN");
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	uint64_t seed = 88172645463325252ull, sum = 0;
	unsigned char *buf;
	double fp = 0, rate;
	size_t size, i;
	int rounds, r, fd = -1;

	if (argc == 2 && !strcmp(argv[1], "tsc")) {
		printf("%llu\n", (unsigned long long)rdtsc());
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold(strtoull(argv[2], NULL, 0));
	if (argc < 3) {
		fprintf(stderr, "usage: migtest SIZE ROUNDS [KERNEL...] | migtest hold SIZE | "
			"migtest tsc\n");
		return 2;
	}
	size = strtoull(argv[1], NULL, 0);
	rounds = atoi(argv[2]);
	buf = malloc(size ? size : 1);
	if (!buf) {
		fprintf(stderr, "migtest: %zu bytes: %s\n", size, strerror(errno));
		return 1;
	}
	for (i = 0; i < size; i++) {	/* xorshift64 */
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		buf[i] = (unsigned char)seed;
	}
	sigaction(SIGALRM, &sa, NULL);
	if (keep && open(keep, O_RDONLY) < 0)
		fprintf(stderr, "migtest: %s: %s\n", keep, strerror(errno));
	if (getenv("MIGTEST_THREAD")) {
		pthread_t t;

		if (pthread_create(&t, NULL, sleeper, NULL))
			fprintf(stderr, "migtest: no second thread\n");
	}
	if (argc > 3) {
		fd = open("/dev/popcorn_kmsg", O_RDWR);
		if (fd < 0)
			fprintf(stderr, "migtest: /dev/popcorn_kmsg: %s\n", strerror(errno));
	}
	rate = tsc_per_ns();
	for (r = 0; r < rounds; r++) {
		sum = round_checksum(buf, size, r, &fp);
		raise(SIGALRM);
		printf("round %d checksum %016llx\n", r, (unsigned long long)sum);
		fflush(stdout);
		if (spin)
			spin_ms(atol(spin));
		if (fd >= 0 && r + 3 < argc)
			migrate(fd, argv[r + 3], size, rate);
	}
	printf("result size=%zu rounds=%d checksum=%016llx fp=%.9f tls=%llu alarms=%d\n", size,
	       rounds, (unsigned long long)sum, fp, (unsigned long long)tls_rounds, (int)alarms);
	return EXIT_CODE;
}
