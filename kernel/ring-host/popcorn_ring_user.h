/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel primitives that kernel/src/arch/x86/kernel/popcorn/ring.c uses, for
 * compiling that same file in user space (tests/ring/ring_test.c). x86-64 only: its
 * memory model makes acquire/release plain ordered accesses plus a compiler barrier.
 */
#ifndef POPCORN_RING_USER_H
#define POPCORN_RING_USER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)

#endif
