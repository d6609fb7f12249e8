/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Popcorn multikernel: the primary kernel's interface for booting secondary kernels
 * (/dev/popcorn), shared with the popcornctl tool in the boot image.
 */
#ifndef _UAPI_LINUX_POPCORN_H
#define _UAPI_LINUX_POPCORN_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define POPCORN_CMDLINE_MAX	4096
#define POPCORN_MAX_CPUS	8	/* per secondary */

/* The ioctl type of /dev/popcorn and /dev/popcorn_kmsg (ioctl-number.rst). */
#define POPCORN_IOC_MAGIC	0xBC

/* Boot a secondary kernel on some CPUs, in a reserved physical memory range. */
struct popcorn_boot {
	__u32 nr_cpus;
	__u32 apic_ids[POPCORN_MAX_CPUS];	/* CPUs the primary never onlined; */
						/* the first one boots the kernel */
	__u32 low_window;	/* 64 KiB of low RAM for the secondary's real-mode code */
	__u64 mem_start;	/* the partition: reserved (memmap=) in the primary */
	__u64 mem_size;
	__u64 kernel_ptr;	/* bzImage, in the caller's memory */
	__u64 kernel_len;
	__u64 initrd_ptr;	/* initramfs, in the caller's memory */
	__u64 initrd_len;
	__u64 cmdline_ptr;	/* NUL-terminated; at most the kernel's cmdline_size */
				/* bytes, less what the loader appends */
	__u32 kernel_id;	/* out: the new kernel's id (1, 2, ...) */
	__u32 flags;		/* must be 0 */
};

/*
 * Stop a secondary: its CPUs are put back into wait-for-SIPI (INIT), whatever the
 * kernel was doing. Its CPUs and memory can then be given to a new secondary.
 */
struct popcorn_stop {
	__u32 kernel_id;
	__u32 flags;		/* must be 0 */
};

/* Read what a secondary wrote to its console since the last read. */
struct popcorn_console {
	__u32 kernel_id;
	__u32 len;		/* in: size of buf; out: bytes copied */
	__u64 buf;
	__u64 resyncs;		/* out: times the ring held impossible indices */
};

/*
 * Messaging microbenchmarks (/dev/popcorn_kmsg, in every kernel). PING: count round
 * trips of len bytes to peer and back, each one's time in ns into samples (an array of
 * count __u64, or 0). STREAM: count one-way messages of len bytes, then one round trip
 * that returns once the peer has handled them all; elapsed_ns is the whole. Times are
 * this kernel's clock.
 */
#define POPCORN_KMSG_MAX_PAYLOAD	8160

struct popcorn_kmsg_bench {
	__u32 peer;
	__u32 len;
	__u32 count;
	__u32 flags;		/* must be 0 */
	__u64 samples;
	__u64 elapsed_ns;	/* out */
};

/* How this kernel learns of new messages: an IPI (mitigated), or a polling thread. */
enum popcorn_kmsg_mode {
	POPCORN_KMSG_MODE_IPI,
	POPCORN_KMSG_MODE_POLL,
};

/*
 * Stress test (kmsg_stress.c). START, on one kernel: every kernel that is up sends count
 * messages of random sizes to every other one, each carrying the test's own sequence
 * number and checksum, and writes malformed raw messages into its ring to each peer.
 * STATS: one kernel's counts (kernel U32_MAX: this one), per peer kernel.
 */
struct popcorn_kmsg_stress {
	__u32 count;		/* messages to each peer */
	__u32 malformed;	/* raw malformed messages to each peer */
	__u32 seed;
	__u32 flags;		/* must be 0 */
};

#define POPCORN_KMSG_STRESS_PEERS	8

struct popcorn_kmsg_stress_stats {
	__u32 kernel;		/* in: which kernel */
	__u32 running;		/* its sender has not finished */
	__u64 sent[POPCORN_KMSG_STRESS_PEERS];		/* to each peer */
	__u64 send_errors[POPCORN_KMSG_STRESS_PEERS];
	__u64 injected[POPCORN_KMSG_STRESS_PEERS];	/* malformed, to each peer */
	__u64 received[POPCORN_KMSG_STRESS_PEERS];	/* from each peer */
	__u64 lost[POPCORN_KMSG_STRESS_PEERS];		/* gaps in its sequence numbers */
	__u64 duplicated[POPCORN_KMSG_STRESS_PEERS];
	__u64 corrupted[POPCORN_KMSG_STRESS_PEERS];	/* bad checksum or length */
	__u64 rejected[POPCORN_KMSG_STRESS_PEERS];	/* malformed, by the ring */
};

#define POPCORN_KMSG_IOC_STRESS		_IOW(POPCORN_IOC_MAGIC, 19, struct popcorn_kmsg_stress)
#define POPCORN_KMSG_IOC_STRESS_STATS	_IOWR(POPCORN_IOC_MAGIC, 20, struct popcorn_kmsg_stress_stats)

/*
 * All-to-one: every kernel in senders (a bitmask) streams count messages of len bytes
 * to target at once, each then waits until target handled them all. span_ns runs from
 * the first sender's start to the last sender's end, on the TSC that all kernels share.
 */
struct popcorn_kmsg_fanin {
	__u32 target;
	__u32 senders;
	__u32 len;
	__u32 count;
	__u64 span_ns;						/* out */
	__u64 elapsed_ns[POPCORN_KMSG_STRESS_PEERS];		/* out: each sender's */
};

#define POPCORN_KMSG_IOC_FANIN		_IOWR(POPCORN_IOC_MAGIC, 21, struct popcorn_kmsg_fanin)

/*
 * Flood (tests only, CONFIG_POPCORN_KMSG_TEST): for ms milliseconds this kernel sends
 * echo requests to peer as fast as its ring takes them and reads none of peer's
 * messages, as a peer that never drains its replies would. peer must cost bounded
 * work per request and keep running.
 */
struct popcorn_kmsg_flood {
	__u32 peer;
	__u32 ms;
	__u32 flags;		/* must be 0 */
	__u32 pad;
	__u64 sent;		/* out: requests that went into the ring */
	__u64 full;		/* out: tries that found the ring full */
};

#define POPCORN_KMSG_IOC_FLOOD		_IOWR(POPCORN_IOC_MAGIC, 22, struct popcorn_kmsg_flood)

/*
 * Restart stream (tests only): kernel streams small messages to target (START) until
 * STOP; each says for which of target's epochs it went into the ring, and a sequence
 * number. STATS asks kernel what it received of such a stream in its current epoch:
 * messages for that epoch, stale ones (for another epoch) and gaps or repeats.
 */
enum popcorn_kmsg_restart_op {
	POPCORN_KMSG_RESTART_START,
	POPCORN_KMSG_RESTART_STOP,
	POPCORN_KMSG_RESTART_STATS,
};

struct popcorn_kmsg_restart {
	__u32 op;
	__u32 kernel;
	__u32 target;		/* START: where kernel streams to */
	__u32 epoch;		/* out (STATS): kernel's epoch */
	__u64 received;		/* out: in order, for that epoch */
	__u64 stale;		/* out: for another epoch */
	__u64 out_of_order;	/* out: a gap or a repeat */
};

#define POPCORN_KMSG_IOC_RESTART	_IOWR(POPCORN_IOC_MAGIC, 23, struct popcorn_kmsg_restart)

/*
 * Probe (tests only): what this kernel's mapping of the messaging region lets it do.
 * read: reading ring (a, b); write: writing kernel peer's record. Each 0 or -EFAULT.
 */
struct popcorn_kmsg_probe {
	__u32 a;
	__u32 b;
	__u32 peer;
	__s32 read;		/* out */
	__s32 write;		/* out */
	__u32 pad;
};

#define POPCORN_KMSG_IOC_PROBE		_IOWR(POPCORN_IOC_MAGIC, 24, struct popcorn_kmsg_probe)

/*
 * Migration: moves process pid (0: the caller) to kernel. A process away from home is
 * named by its home pid: the shadow's. Returns when the process runs there, or with
 * the reason it stays (it then runs on here, unchanged).
 */
#define POPCORN_MIGRATE_REASON	96

struct popcorn_migrate {
	__s32 pid;
	__u32 kernel;
	char reason[POPCORN_MIGRATE_REASON];	/* out: why it stays, if it does */
};

#define POPCORN_IOC_MIGRATE		_IOWR(POPCORN_IOC_MAGIC, 25, struct popcorn_migrate)

#define POPCORN_KMSG_IOC_PING	_IOWR(POPCORN_IOC_MAGIC, 16, struct popcorn_kmsg_bench)
#define POPCORN_KMSG_IOC_STREAM	_IOWR(POPCORN_IOC_MAGIC, 17, struct popcorn_kmsg_bench)
/* Sets the mode of this kernel, or of another one (through a message). */
struct popcorn_kmsg_set_mode {
	__u32 kernel;
	__u32 mode;
};

#define POPCORN_KMSG_IOC_MODE	_IOW(POPCORN_IOC_MAGIC, 18, struct popcorn_kmsg_set_mode)

#define POPCORN_IOC_BOOT	_IOWR(POPCORN_IOC_MAGIC, 1, struct popcorn_boot)
#define POPCORN_IOC_CONSOLE	_IOWR(POPCORN_IOC_MAGIC, 2, struct popcorn_console)
#define POPCORN_IOC_STOP	_IOW(POPCORN_IOC_MAGIC, 3, struct popcorn_stop)

#endif /* _UAPI_LINUX_POPCORN_H */
