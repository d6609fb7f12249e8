// SPDX-License-Identifier: GPL-2.0
/*
 * udpsoak - a bulk transfer checked by the application itself, not by TCP.
 *
 *   udpsoak send HOST PORT BYTES SIZE MBIT   BYTES in datagrams of SIZE bytes, paced
 *                                            to MBIT Mbit/s (0: as fast as it can)
 *   udpsoak recv PORT BYTES SIZE TIMEOUT_S   until every datagram came, or nothing came
 *                                            for 3 s, or TIMEOUT_S passed
 *
 * Each datagram carries its sequence number, and its payload is a pseudo-random
 * function of that number: the receiver regenerates it and compares every byte, so a
 * corrupted ring cannot hide behind a checksum that the stack (or a NIC) checked or
 * skipped. The receiver prints one line:
 *   datagrams=N received=R lost=L duplicated=D corrupted=C corrupted_bytes=B
 *   bytes=X elapsed_s=T mbit=M
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x534f414bu	/* "SOAK" */
#define HDR 8			/* magic, sequence number */
#define MAX_SIZE 65000
#define IDLE_S 3

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The payload of datagram seq: xorshift32 seeded from the sequence number. */
static void fill(uint8_t *p, size_t n, uint32_t seq)
{
	uint32_t x = seq * 2654435761u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static unsigned long arg(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "udpsoak: %s: not a number: %s\n", what, s);
		exit(2);
	}
	return v;
}

static int do_send(const char *host, int port, unsigned long bytes, size_t size,
		   unsigned long mbit)
{
	static uint8_t buf[MAX_SIZE];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	unsigned long count = (bytes + size - HDR - 1) / (size - HDR), seq;
	double start = now(), per = mbit ? size * 8.0 / (mbit * 1e6) : 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &to.sin_addr) != 1) {
		perror("udpsoak: socket or address");
		return 1;
	}
	for (seq = 0; seq < count; seq++) {
		uint32_t hdr[2] = { htonl(MAGIC), htonl(seq) };

		memcpy(buf, hdr, HDR);
		fill(buf + HDR, size - HDR, seq);
		while (sendto(fd, buf, size, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			usleep(100);	/* a full socket buffer: wait, the datagram is not lost */
		while (per && now() < start + (seq + 1) * per)
			;
	}
	printf("sent=%lu\n", count);
	return 0;
}

static int do_recv(int port, unsigned long bytes, size_t size, unsigned long timeout_s)
{
	static uint8_t buf[MAX_SIZE + 1], want[MAX_SIZE];
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	unsigned long count = (bytes + size - HDR - 1) / (size - HDR);
	unsigned long received = 0, intact = 0, dup = 0, corrupted = 0, bad_bytes = 0;
	unsigned long got_bytes = 0;
	struct timeval idle = { .tv_sec = 1 };
	int rcvbuf = 8 << 20, fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint8_t *seen = calloc(count, 1);
	double start = 0, last = now(), deadline = now() + timeout_s;

	if (fd < 0 || !seen || bind(fd, (struct sockaddr *)&me, sizeof(me))) {
		perror("udpsoak: socket or bind");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
	printf("listening=%d\n", port);
	fflush(stdout);
	while (intact < count && now() < deadline &&
	       (!start || now() - last < IDLE_S)) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		uint32_t hdr[2] = { 0, 0 }, seq;
		size_t i, bad = 0;

		if (n < 0)
			continue;	/* a second without data: check the limits */
		last = now();
		if (!start)
			start = last;
		received++;
		got_bytes += n;
		memcpy(hdr, buf, n >= HDR ? HDR : 0);
		seq = ntohl(hdr[1]);
		if ((size_t)n != size || ntohl(hdr[0]) != MAGIC || seq >= count) {
			corrupted++;
			bad_bytes += n;
			continue;
		}
		if (seen[seq]++) {
			dup++;
			continue;
		}
		fill(want, size - HDR, seq);
		for (i = 0; i < size - HDR; i++)
			bad += buf[HDR + i] != want[i];
		if (bad) {
			corrupted++;
			bad_bytes += bad;
			seen[seq] = 0;	/* it did not arrive intact */
			continue;
		}
		intact++;
	}
	{
		double t = start ? last - start : 0;

		printf("datagrams=%lu received=%lu lost=%lu duplicated=%lu corrupted=%lu "
		       "corrupted_bytes=%lu bytes=%lu elapsed_s=%.3f mbit=%.1f\n", count, received,
		       count - intact, dup, corrupted, bad_bytes, got_bytes, t,
		       t > 0 ? got_bytes * 8 / t / 1e6 : 0.0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t size;

	if (argc == 7 && !strcmp(argv[1], "send")) {
		size = arg(argv[5], "SIZE");
		if (size <= HDR || size > MAX_SIZE) {
			fprintf(stderr, "udpsoak: SIZE must be %d..%d\n", HDR + 1, MAX_SIZE);
			return 2;
		}
		return do_send(argv[2], arg(argv[3], "PORT"), arg(argv[4], "BYTES"), size,
			       arg(argv[6], "MBIT"));
	}
	if (argc == 6 && !strcmp(argv[1], "recv")) {
		size = arg(argv[4], "SIZE");
		if (size <= HDR || size > MAX_SIZE) {
			fprintf(stderr, "udpsoak: SIZE must be %d..%d\n", HDR + 1, MAX_SIZE);
			return 2;
		}
		return do_recv(arg(argv[2], "PORT"), arg(argv[3], "BYTES"), size,
			       arg(argv[5], "TIMEOUT_S"));
	}
	fprintf(stderr, "usage: udpsoak send HOST PORT BYTES SIZE MBIT\n"
		"       udpsoak recv PORT BYTES SIZE TIMEOUT_S\n");
	return 2;
}
