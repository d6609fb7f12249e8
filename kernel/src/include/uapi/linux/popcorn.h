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
	__u64 cmdline_ptr;	/* NUL-terminated, shorter than POPCORN_CMDLINE_MAX */
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

#define POPCORN_IOC_BOOT	_IOWR('P', 1, struct popcorn_boot)
#define POPCORN_IOC_CONSOLE	_IOWR('P', 2, struct popcorn_console)
#define POPCORN_IOC_STOP	_IOW('P', 3, struct popcorn_stop)

#endif /* _UAPI_LINUX_POPCORN_H */
