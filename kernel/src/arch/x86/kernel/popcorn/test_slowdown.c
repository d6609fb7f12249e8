// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: slowdowns injected on purpose, so that the regression tests can
 * check that a regression run catches them. Both are off unless the kernel is booted
 * with them:
 *
 *   popcorn.test_spin_per_msg=N   each message this kernel takes from a ring first
 *                                 costs N turns of an empty loop (a fixed number of
 *                                 instructions, so a fixed cost under icount);
 *   popcorn.test_boot_delay_ms=N  a secondary sleeps N ms before its init runs, after
 *                                 it is up for the primary (so the boot is slower, not
 *                                 failed).
 */
#define pr_fmt(fmt) "popcorn test: " fmt

#include <linux/delay.h>
#include <linux/init.h>
#include <linux/moduleparam.h>
#include <asm/popcorn.h>

#include "kmsg.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "popcorn."
static unsigned int test_spin_per_msg;
module_param(test_spin_per_msg, uint, 0400);
static unsigned int test_boot_delay_ms;
module_param(test_boot_delay_ms, uint, 0400);

void kmsg_test_spin(void)
{
	unsigned int i, turns = READ_ONCE(test_spin_per_msg);

	for (i = 0; i < turns; i++)
		barrier();	/* keeps every turn: the count is the cost */
}

static int __init test_boot_delay(void)
{
	if (!test_boot_delay_ms || !popcorn_secondary_ctrl())
		return 0;
	pr_info("delaying init by %u ms\n", test_boot_delay_ms);
	msleep(test_boot_delay_ms);
	return 0;
}
/* After popcorn_secondary_init() (a late_initcall) has said this kernel is running. */
late_initcall_sync(test_boot_delay);
