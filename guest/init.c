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
 *
 * On the hardware target (popcorn.hw=1) there is no console the host reads: init first
 * runs /exp/hw-up.sh (the machine's NIC and an SSH server), copies everything it and the
 * experiment print into /tmp/console.log as well, and after the experiment waits for
 * the host, which fetches that log over SSH and then reboots the machine.
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

static int run_script(const char *script)
{
	int status;
	pid_t pid;

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

static int run_experiment(const char *name)
{
	char script[EXP_NAME_MAX + 16];

	snprintf(script, sizeof(script), "/exp/%s.sh", name);
	return run_script(script);
}

/* From here on, stdout and stderr go to the console and to LOG (busybox's tee). */
static void copy_output_to(const char *log)
{
	int fds[2];
	pid_t pid;

	fflush(stdout);
	if (pipe(fds)) {
		printf(MARK "WARN pipe for %s: %s\n", log, strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/busybox", "tee", "-a", log, (char *)NULL);
		_exit(126);
	}
	if (pid < 0) {
		printf(MARK "WARN fork for %s: %s\n", log, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	dup2(fds[1], 1);
	dup2(fds[1], 2);
	close(fds[0]);
	close(fds[1]);
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
	if (has_word("popcorn.hw=1")) {
		copy_output_to("/tmp/console.log");
		rc = run_script("/exp/hw-up.sh");
		if (rc)
			printf(MARK "WARN hw-up.sh exited with %d\n", rc);
	}
	printf(MARK "BEGIN exp=%s\n", name);
	printf(MARK "KV init_uptime_s=%ld.%06ld\n", (long)boot.tv_sec, boot.tv_nsec / 1000);
	rc = run_experiment(name);
	printf(MARK "END exp=%s rc=%d\n", name, rc);
	fflush(stdout);
	/*
	 * popcorn.stay=1: keep this kernel running (a secondary others are tested beside);
	 * popcorn.hw=1: until the host has fetched the results and reboots the machine.
	 */
	while (has_word("popcorn.stay=1") || has_word("popcorn.hw=1"))
		pause();
	sync();
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
