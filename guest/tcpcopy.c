// SPDX-License-Identifier: GPL-2.0
/*
 * tcpcopy - one stream over TCP, ended by the sender's end of input.
 *
 *   tcpcopy recv PORT         takes one connection and copies it to standard output
 *   tcpcopy send HOST PORT    copies standard input to HOST (an IPv4 address), trying
 *                             to connect for up to 30 s (the receiver may start later)
 *
 * The migrate experiment carries CRIU's images between kernels with it. On success
 * it prints nothing and exits 0; an error is one line and exit 1 (2: usage).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "tcpcopy: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void copy(int from, int to)
{
	static char buf[1 << 16];
	ssize_t n, w, off;

	while ((n = read(from, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		for (off = 0; off < n; off += w) {
			w = write(to, buf + off, n - off);
			if (w < 0)
				die("write");
		}
	}
}

static int recv_one(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM, 0), c, one = 1;

	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1))
		die("bind");
	c = accept(s, NULL, NULL);
	if (c < 0)
		die("accept");
	copy(c, 1);
	return 0;
}

static int send_one(const char *host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = -1, tries;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "tcpcopy: %s: not an IPv4 address\n", host);
		return 1;
	}
	for (tries = 0; tries < 300; tries++) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			die("socket");
		if (!connect(s, (struct sockaddr *)&a, sizeof(a)))
			break;
		close(s);
		s = -1;
		usleep(100000);
	}
	if (s < 0)
		die(host);
	copy(0, s);
	return close(s) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "recv"))
		return recv_one(atoi(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "send"))
		return send_one(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: tcpcopy recv PORT | tcpcopy send HOST PORT\n");
	return 2;
}
