// SPDX-License-Identifier: GPL-2.0
/*
 * init - the first process of every experiment boot.
 *
 * It notes the kernel's uptime the moment it starts (the boot time the pipeline
 * reports), mounts the pseudo file systems, runs /exp/<name>.sh for the experiment
 * named by popcorn.exp=<name> on the kernel command line, frames its output between
 * markers on the console, and restarts the machine, which ends QEMU (it runs with
 * -no-reboot). It never returns: an init that exits would panic the kernel, which the
 * host would then report as a panic.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MARK "@@POPCORN:"
#define EXP_NAME_MAX 64

static void mount_or_warn(const char *src, const char *dir, const char *type)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, 0, NULL) && errno != EBUSY)
		printf(MARK "WARN mount %s on %s: %s\n", type, dir, strerror(errno));
}

static char cmdline[4096];

static void read_cmdline(void)
{
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f || !fgets(cmdline, sizeof(cmdline), f))
		cmdline[0] = '\0';
	if (f)
		fclose(f);
}

/* Is this word (e.g. "popcorn.stay=1") on the kernel command line? */
static int has_word(const char *word)
{
	size_t len = strlen(word);
	const char *p;

	for (p = strstr(cmdline, word); p; p = strstr(p + 1, word))
		if ((p == cmdline || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' ||
						       p[len] == '\0'))
			return 1;
	return 0;
}

/* Copies the value of popcorn.exp= from the command line; "none" when absent. */
static void experiment_name(char *name, size_t size)
{
	const char *key = "popcorn.exp=";
	char *start, *end;

	snprintf(name, size, "none");
	for (start = strstr(cmdline, key); start; start = strstr(start + 1, key)) {
		if (start == cmdline || start[-1] == ' ')
			break;
	}
	if (!start)
		return;
	start += strlen(key);
	end = start + strcspn(start, " \n");
	if (end - start <= 0 || (size_t)(end - start) >= size)
		return;
	memcpy(name, start, end - start);
	name[end - start] = '\0';
	/* Only plain names: the value becomes part of a path. */
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name))
		snprintf(name, size, "invalid");
}

static int run_experiment(const char *name)
{
	char script[EXP_NAME_MAX + 16];
	int status;
	pid_t pid;

	snprintf(script, sizeof(script), "/exp/%s.sh", name);
	if (access(script, R_OK)) {
		printf(MARK "WARN no experiment script %s\n", script);
		return 127;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", script, (char *)NULL);
		_exit(126);
	}
	if (pid < 0)
		return 125;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return 124;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void)
{
	char name[EXP_NAME_MAX];
	struct timespec boot;
	int rc;

	clock_gettime(CLOCK_BOOTTIME, &boot);
	setvbuf(stdout, NULL, _IOLBF, 0);
	mount_or_warn("proc", "/proc", "proc");
	mount_or_warn("sysfs", "/sys", "sysfs");
	mount_or_warn("devtmpfs", "/dev", "devtmpfs");
	mount_or_warn("tmpfs", "/tmp", "tmpfs");
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);

	read_cmdline();
	experiment_name(name, sizeof(name));
	printf(MARK "BEGIN exp=%s\n", name);
	printf(MARK "KV init_uptime_s=%ld.%06ld\n", (long)boot.tv_sec, boot.tv_nsec / 1000);
	rc = run_experiment(name);
	printf(MARK "END exp=%s rc=%d\n", name, rc);
	fflush(stdout);
	/* popcorn.stay=1: keep this kernel running (a secondary others are tested beside). */
	while (has_word("popcorn.stay=1"))
		pause();
	sync();
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
