// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: slowdowns injected on purpose, so that the regression tests can
 * check that a regression run catches them. Both are off unless the kernel is booted
 * with them, and both are bounded:
 *
 *   popcorn.test_spin_per_msg=N   each message this kernel takes from a ring first
 *                                 costs N turns of an empty loop (a fixed number of
 *                                 instructions, so a fixed cost under icount); at most
 *                                 TEST_SPIN_MAX, the loop runs with the ring's lock held;
 *   popcorn.test_boot_delay_ms=N  a secondary sleeps N ms before its init runs, after
 *                                 it is up for the primary (so the boot is slower, not
 *                                 failed); at most TEST_DELAY_MAX_MS, below the 30 s
 *                                 the guest scripts wait for a secondary's report.
 */
#define pr_fmt(fmt) "popcorn test: " fmt

#include <linux/delay.h>
#include <linux/init.h>
#include <linux/moduleparam.h>
#include <asm/popcorn.h>

#include "kmsg.h"

#define TEST_SPIN_MAX		1000000
#define TEST_DELAY_MAX_MS	20000

unsigned int kmsg_test_spin_turns __read_mostly;

static int set_spin(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, TEST_SPIN_MAX);
}

static int set_delay(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, TEST_DELAY_MAX_MS);
}

static const struct kernel_param_ops spin_ops = { .set = set_spin, .get = param_get_uint };
static const struct kernel_param_ops delay_ops = { .set = set_delay, .get = param_get_uint };
static unsigned int test_boot_delay_ms __ro_after_init;

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "popcorn."
module_param_cb(test_spin_per_msg, &spin_ops, &kmsg_test_spin_turns, 0400);
module_param_cb(test_boot_delay_ms, &delay_ops, &test_boot_delay_ms, 0400);

static int __init test_boot_delay(void)
{
	if (!test_boot_delay_ms || !popcorn_secondary_ctrl())
		return 0;
	pr_info("delaying init by %u ms\n", test_boot_delay_ms);
	msleep(test_boot_delay_ms);
	return 0;
}
/*
 * After popcorn_secondary_init() (a late_initcall) has said this kernel is running, and
 * after kmsg's own late_initcall_sync (kmsg.o links before this file): its heartbeat
 * goes on meanwhile, from delayed work.
 */
late_initcall_sync(test_boot_delay);
