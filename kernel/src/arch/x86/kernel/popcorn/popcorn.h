/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _X86_KERNEL_POPCORN_H
#define _X86_KERNEL_POPCORN_H

#include <linux/compiler_types.h>
#include <linux/types.h>

/* trampoline.S: the real-mode blob, its data block, and the far-jump targets. */
extern const u8 popcorn_trampoline_start[], popcorn_trampoline_end[];
extern const u8 popcorn_trampoline_data[];
extern const u32 popcorn_trampoline_32, popcorn_trampoline_64;

/* kmsg.c, for the stress test (kmsg_stress.c): around the send path's rules. */
int popcorn_kmsg_inject_raw(unsigned int dest, const void *lines, u32 nlines);
u64 popcorn_kmsg_rejected(unsigned int peer);
u32 popcorn_kmsg_tx_seq(unsigned int dest);

/* kmsg_stress.c: POPCORN_KMSG_IOC_STRESS and POPCORN_KMSG_IOC_STRESS_STATS. */
int popcorn_kmsg_stress_ioctl(unsigned int cmd, void __user *arg);

/* kmsg_fanin.c: POPCORN_KMSG_IOC_FANIN. */
int popcorn_kmsg_fanin_ioctl(void __user *arg);

#endif /* _X86_KERNEL_POPCORN_H */
