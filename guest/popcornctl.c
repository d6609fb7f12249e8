// SPDX-License-Identifier: GPL-2.0
/*
 * popcornctl - drive the primary kernel's Popcorn loader from the boot image.
 *
 *   popcornctl boot --apic ID[,ID...] --mem START:SIZE --low ADDR --kernel FILE
 *                   --initrd FILE --cmdline TEXT [--kernel-len N] [--initrd-len N]
 *   popcornctl stop ID
 *   popcornctl list
 *   popcornctl console
 *   popcornctl migrate PID KERNEL
 *   popcornctl migrations
 *
 * `boot` gives the new kernel the CPUs with these APIC IDs (the first one boots it).
 * --kernel-len and --initrd-len tell the loader a length other than the file's, as
 * a broken or hostile caller of the raw ioctl would (for the loader's tests).
 * `stop` halts a secondary's CPUs whatever it is doing; they and its memory can
 * then boot another kernel.
 *
 * `console` runs until killed: it copies every secondary's console to standard
 * output, a line at a time, each prefixed "@@K<id>| " so that the host can give each
 * kernel its own log (console-k<id>.log).
 *
 * `migrate` moves process PID (a shadow's PID names its process, wherever it runs)
 * to kernel KERNEL, or says in one line why it stays; `migrations` lists the
 * processes away from this kernel and those here from another.
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

/* The kernel's log from now on: the loader says there why it refused a request. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Fails the request on one line: the loader's own reason if it logged one. */
static void __attribute__((noreturn)) refused(const char *what, int kmsg)
{
	char record[1024], reason[1024] = "";
	int err = errno;
	ssize_t n;

	while (kmsg >= 0 && (n = read(kmsg, record, sizeof(record) - 1)) > 0) {
		char *text = strchr(record, ';');

		record[n] = '\0';
		if (text && !strncmp(text + 1, "popcorn: ", 9)) {
			snprintf(reason, sizeof(reason), "%s", text + 10);
			reason[strcspn(reason, "\n")] = '\0';
		}
	}
	if (*reason)
		fprintf(stderr, "popcornctl: %s: %s (%s)\n", what, reason, strerror(err));
	else
		fprintf(stderr, "popcornctl: %s: %s\n", what, strerror(err));
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

/* "1,2,3" into apic_ids; at most POPCORN_MAX_CPUS of them. */
static void apic_list(struct popcorn_boot *req, char *text)
{
	char *item;

	req->nr_cpus = 0;
	for (item = strtok(text, ","); item; item = strtok(NULL, ",")) {
		if (req->nr_cpus == POPCORN_MAX_CPUS)
			die("--apic", "more CPUs than a secondary can have");
		req->apic_ids[req->nr_cpus++] = number("--apic", item);
	}
	if (!req->nr_cpus)
		die("--apic", "no APIC ID");
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
		{ "kernel-len", required_argument, NULL, 'K' },
		{ "initrd-len", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t kernel_len = 0, initrd_len = 0;
	struct popcorn_boot req = { 0 };
	const char *kernel = NULL, *initrd = NULL, *cmdline = NULL;
	char *colon;
	int opt, fd, kmsg;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'a':
			apic_list(&req, optarg);
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
		case 'K':
			kernel_len = number("--kernel-len", optarg);
			break;
		case 'I':
			initrd_len = number("--initrd-len", optarg);
			break;
		default:
			return 2;
		}
	}
	if (!kernel || !initrd || !cmdline || !req.nr_cpus || !req.mem_size || !req.low_window) {
		fprintf(stderr, "popcornctl boot: needs --apic --mem --low --kernel --initrd --cmdline\n");
		return 2;
	}
	req.kernel_ptr = (uintptr_t)read_file(kernel, &req.kernel_len);
	req.initrd_ptr = (uintptr_t)read_file(initrd, &req.initrd_len);
	req.cmdline_ptr = (uintptr_t)cmdline;
	if (kernel_len)
		req.kernel_len = kernel_len;
	if (initrd_len)
		req.initrd_len = initrd_len;
	fd = open("/dev/popcorn", O_RDWR);
	if (fd < 0)
		die("/dev/popcorn", strerror(errno));
	kmsg = kmsg_open();
	if (ioctl(fd, POPCORN_IOC_BOOT, &req))
		refused("boot", kmsg);
	printf("kernel %u started on %u CPU(s) from APIC ID %u\n", req.kernel_id, req.nr_cpus,
	       req.apic_ids[0]);
	return 0;
}

static int stop(const char *id)
{
	struct popcorn_stop req = { .kernel_id = number("kernel id", id) };
	int fd = open("/dev/popcorn", O_RDWR), kmsg;

	if (fd < 0)
		die("/dev/popcorn", strerror(errno));
	kmsg = kmsg_open();
	if (ioctl(fd, POPCORN_IOC_STOP, &req))
		refused("stop", kmsg);
	printf("kernel %u stopped\n", req.kernel_id);
	return 0;
}

static int migrate(const char *pid, const char *kernel)
{
	struct popcorn_migrate m = {
		.pid = number("pid", pid), .kernel = number("kernel", kernel),
	};
	int fd = open("/dev/popcorn_kmsg", O_RDWR);

	if (fd < 0)
		die("/dev/popcorn_kmsg", strerror(errno));
	if (ioctl(fd, POPCORN_IOC_MIGRATE, &m)) {
		m.reason[sizeof(m.reason) - 1] = '\0';
		fprintf(stderr, "popcornctl: migrate %d to kernel %u: %s%s%s\n", m.pid, m.kernel,
			strerror(errno), m.reason[0] ? ": " : "", m.reason);
		return 1;
	}
	printf("pid %d runs on kernel %u\n", m.pid, m.kernel);
	return 0;
}

static int cat(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		die(path, strerror(errno));
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
	if (argc == 3 && !strcmp(argv[1], "stop"))
		return stop(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "list"))
		return cat("/proc/popcorn");
	if (argc == 4 && !strcmp(argv[1], "migrate"))
		return migrate(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "migrations"))
		return cat("/proc/popcorn_migrate");
	if (argc == 2 && !strcmp(argv[1], "console"))
		console();
	fprintf(stderr, "usage: popcornctl boot --apic ID[,ID...] --mem START:SIZE --low ADDR "
		"--kernel FILE --initrd FILE --cmdline TEXT\n       popcornctl stop ID\n"
		"       popcornctl list\n       popcornctl console\n"
		"       popcornctl migrate PID KERNEL\n       popcornctl migrations\n");
	return 2;
}
