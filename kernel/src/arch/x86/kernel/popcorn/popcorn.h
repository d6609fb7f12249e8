/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _X86_KERNEL_POPCORN_H
#define _X86_KERNEL_POPCORN_H

#include <linux/compiler_types.h>
#include <linux/types.h>

/* trampoline.S: the real-mode blob, its data block, and the far-jump targets. */
extern const u8 popcorn_trampoline_start[], popcorn_trampoline_end[];
extern const u8 popcorn_trampoline_data[];
extern const u32 popcorn_trampoline_32, popcorn_trampoline_64;

struct popcorn_kmsg;

/* kmsg.c, for the loader: a secondary it stops is down for every peer at once. */
void popcorn_kmsg_kernel_stopped(unsigned int kernel);

/* kmsg.c: test code refuses requests from peers unless this kernel opted in. */
bool popcorn_kmsg_test_refused(const struct popcorn_kmsg *request);

#ifdef CONFIG_POPCORN_KMSG_TEST
/* kmsg.c, for the tests: around the send path's rules. */
int popcorn_kmsg_inject_raw(unsigned int dest, const void *lines, u32 nlines);
u64 popcorn_kmsg_rejected(unsigned int peer);
u32 popcorn_kmsg_tx_seq(unsigned int dest);
void popcorn_kmsg_test_hold_rx(unsigned int peer, bool hold);
int popcorn_kmsg_test_request_nowait(unsigned int dest, u16 type, const void *data, u32 len);

/* kmsg_stress.c: POPCORN_KMSG_IOC_STRESS and POPCORN_KMSG_IOC_STRESS_STATS. */
int popcorn_kmsg_stress_ioctl(unsigned int cmd, void __user *arg);

/* kmsg_fanin.c: POPCORN_KMSG_IOC_FANIN. */
int popcorn_kmsg_fanin_ioctl(void __user *arg);

/* kmsg_flood.c: POPCORN_KMSG_IOC_FLOOD. */
int popcorn_kmsg_flood_ioctl(void __user *arg);
#endif

#endif /* _X86_KERNEL_POPCORN_H */
