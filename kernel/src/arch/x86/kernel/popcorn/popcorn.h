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

#ifdef CONFIG_POPCORN_KMSG_TEST
/* kmsg_test.c, for the tests: refuse what a peer asks unless this kernel opted in. */
bool popcorn_kmsg_test_refused(const struct popcorn_kmsg *request);
int popcorn_kmsg_test_request_nowait(unsigned int dest, u16 type, const void *data, u32 len);
#endif

#endif /* _X86_KERNEL_POPCORN_H */
