/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _X86_KERNEL_POPCORN_H
#define _X86_KERNEL_POPCORN_H

#include <linux/types.h>

/* trampoline.S: the real-mode blob, its data block, and the far-jump targets. */
extern const u8 popcorn_trampoline_start[], popcorn_trampoline_end[];
extern const u8 popcorn_trampoline_data[];
extern const u32 popcorn_trampoline_32, popcorn_trampoline_64;

#endif /* _X86_KERNEL_POPCORN_H */
