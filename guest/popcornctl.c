// SPDX-License-Identifier: GPL-2.0
/*
 * popcornctl - drive the primary kernel's Popcorn loader from the boot image.
 *
 *   popcornctl boot --apic ID --mem START:SIZE --low ADDR --kernel FILE
 *                   --initrd FILE --cmdline TEXT
 *   popcornctl list
 *   popcornctl console
 *
 * `console` runs until killed: it copies every secondary's console to standard
 * output, a line at a time, each prefixed "@@K<id>| " so that the host can give each
 * kernel its own log (console-k<id>.log).
 *
 * Numbers take C syntax (0x... for hex). Every error is one line naming the bad
 * argument or file, and the exit code is 1 (2 for usage errors).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/popcorn.h>

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "popcornctl: %s: %s\n", what, detail);
	exit(1);
}

static uint64_t number(const char *option, const char *text)
{
	char *end;
	uint64_t value;

	errno = 0;
	value = strtoull(text, &end, 0);
	if (errno || end == text || *end)
		die(option, "not a number");
	return value;
}

static void *read_file(const char *path, __u64 *len)
{
	struct stat st;
	uint64_t done = 0;
	char *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		die(path, strerror(errno));
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf)
		die(path, "out of memory");
	while (done < (uint64_t)st.st_size) {
		ssize_t n = read(fd, buf + done, st.st_size - done);

		if (n <= 0)
			die(path, n ? strerror(errno) : "file shrank while reading");
		done += n;
	}
	close(fd);
	*len = done;
	return buf;
}

static int boot(int argc, char **argv)
{
	static const struct option options[] = {
		{ "apic", required_argument, NULL, 'a' },
		{ "mem", required_argument, NULL, 'm' },
		{ "low", required_argument, NULL, 'l' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct popcorn_boot req = { 0 };
	const char *kernel = NULL, *initrd = NULL, *cmdline = NULL;
	char *colon;
	int opt, fd;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'a':
			req.apic_id = number("--apic", optarg);
			break;
		case 'm':
			colon = strchr(optarg, ':');
			if (!colon)
				die("--mem", "expected START:SIZE");
			*colon = '\0';
			req.mem_start = number("--mem start", optarg);
			req.mem_size = number("--mem size", colon + 1);
			break;
		case 'l':
			req.low_window = number("--low", optarg);
			break;
		case 'k':
			kernel = optarg;
			break;
		case 'i':
			initrd = optarg;
			break;
		case 'c':
			cmdline = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!kernel || !initrd || !cmdline || !req.mem_size || !req.low_window) {
		fprintf(stderr, "popcornctl boot: needs --apic --mem --low --kernel --initrd --cmdline\n");
		return 2;
	}
	req.kernel_ptr = (uintptr_t)read_file(kernel, &req.kernel_len);
	req.initrd_ptr = (uintptr_t)read_file(initrd, &req.initrd_len);
	req.cmdline_ptr = (uintptr_t)cmdline;
	fd = open("/dev/popcorn", O_RDWR);
	if (fd < 0)
		die("/dev/popcorn", strerror(errno));
	if (ioctl(fd, POPCORN_IOC_BOOT, &req))
		die("boot", strerror(errno));
	printf("kernel %u started on APIC ID %u\n", req.kernel_id, req.apic_id);
	return 0;
}

static int list(void)
{
	char line[256];
	FILE *f = fopen("/proc/popcorn", "r");

	if (!f)
		die("/proc/popcorn", strerror(errno));
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	fclose(f);
	return 0;
}

#define MAX_KERNELS	16
#define LINE_MAX_LEN	1024

/* Prints complete lines of one kernel's output; keeps a partial line for later. */
static void emit(unsigned int id, char *line, size_t *len, const char *data, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (data[i] == '\r')
			continue;
		if (data[i] != '\n' && *len < LINE_MAX_LEN - 1) {
			line[(*len)++] = data[i];
			continue;
		}
		line[*len] = '\0';
		printf("@@K%u| %s\n", id, line);
		*len = 0;
		if (data[i] != '\n')
			line[(*len)++] = data[i];
	}
	fflush(stdout);
}

static __attribute__((noreturn)) void console(void)
{
	static char lines[MAX_KERNELS + 1][LINE_MAX_LEN];
	static size_t lens[MAX_KERNELS + 1];
	char buf[4096];
	unsigned int id;
	int fd = open("/dev/popcorn", O_RDWR);

	if (fd < 0)
		die("/dev/popcorn", strerror(errno));
	for (;;) {
		for (id = 1; id <= MAX_KERNELS; id++) {
			struct popcorn_console con = {
				.kernel_id = id, .len = sizeof(buf), .buf = (uintptr_t)buf,
			};

			if (ioctl(fd, POPCORN_IOC_CONSOLE, &con))
				continue;	/* no such kernel (yet) */
			emit(id, lines[id], &lens[id], buf, con.len);
		}
		usleep(20000);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "boot"))
		return boot(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "list"))
		return list();
	if (argc == 2 && !strcmp(argv[1], "console"))
		console();
	fprintf(stderr, "usage: popcornctl boot --apic ID --mem START:SIZE --low ADDR "
		"--kernel FILE --initrd FILE --cmdline TEXT\n       popcornctl list\n"
		"       popcornctl console\n");
	return 2;
}
