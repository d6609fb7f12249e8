// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: a secondary kernel's console, as a ring in its control page.
 *
 * The secondary has no UART of its own (they belong to the primary), so its console
 * and /dev/hvc0 write into the ring; the primary drains it (popcornctl console) and
 * hands each kernel's output to the host as its own stream. Output that does not fit
 * waits for the primary to drain: hvc retries, nothing is overwritten.
 */
#include <linux/console.h>
#include <linux/init.h>
#include <linux/minmax.h>
#include <linux/printk.h>
#include <linux/spinlock.h>
#include <asm/popcorn.h>

#include "hvc_console.h"

#define RING_MASK	(POPCORN_CONSOLE_SIZE - 1)

/* The console and the tty both write: one writer at a time owns the head. */
static DEFINE_SPINLOCK(popcorn_con_lock);

static ssize_t popcorn_put_chars(u32 vtermno, const u8 *buf, size_t count)
{
	struct popcorn_ctrl *ctrl = popcorn_secondary_ctrl();
	unsigned long flags;
	bool locked = true;
	u32 head, used;
	size_t i, n;

	if (!ctrl)
		return count;
	/* A panic may have stopped the CPU that held the lock: try, then write anyway. */
	if (oops_in_progress)
		locked = spin_trylock_irqsave(&popcorn_con_lock, flags);
	else
		spin_lock_irqsave(&popcorn_con_lock, flags);
	head = ctrl->con_head;
	/* con_tail comes from the primary: bound it before trusting the arithmetic. */
	used = min_t(u32, head - READ_ONCE(ctrl->con_tail), POPCORN_CONSOLE_SIZE);
	n = min_t(size_t, count, POPCORN_CONSOLE_SIZE - used);
	for (i = 0; i < n; i++)
		ctrl->con_buf[(head + i) & RING_MASK] = buf[i];
	/* The bytes before the new head; pairs with the primary's smp_rmb(). */
	smp_wmb();
	WRITE_ONCE(ctrl->con_head, head + n);
	if (locked)
		spin_unlock_irqrestore(&popcorn_con_lock, flags);
	return n;
}

static ssize_t popcorn_get_chars(u32 vtermno, u8 *buf, size_t count)
{
	return 0;	/* no input to a secondary yet */
}

static const struct hv_ops popcorn_hvc_ops = {
	.get_chars = popcorn_get_chars,
	.put_chars = popcorn_put_chars,
};

static int __init popcorn_console_init(void)
{
	if (!popcorn_secondary_ctrl())
		return -ENODEV;
	hvc_instantiate(0, 0, &popcorn_hvc_ops);
	return 0;
}
console_initcall(popcorn_console_init);

static int __init popcorn_hvc_init(void)
{
	struct hvc_struct *hp;

	if (!popcorn_secondary_ctrl())
		return 0;
	hp = hvc_alloc(0, 0, &popcorn_hvc_ops, 256);
	return PTR_ERR_OR_ZERO(hp);
}
device_initcall(popcorn_hvc_init);
