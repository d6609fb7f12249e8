// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: a peer that floods requests and never drains its replies.
 *
 * For a while this kernel sends echo requests to one peer as fast as the ring takes
 * them, and reads none of that peer's messages, so that the peer's replies find the
 * ring back full. The peer must not wait for room in softirq context: its heartbeat
 * and its traffic with other kernels keep moving, and it drops and counts what it
 * cannot send (replies_dropped in its /proc/popcorn_kmsg).
 */
#define pr_fmt(fmt) "popcorn kmsg flood: " fmt

#include <linux/delay.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/popcorn_kmsg.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "kmsg.h"
#include "popcorn.h"

#define FLOOD_MAX_MS	60000
#define FLOOD_PAYLOAD	8

static long flood_ioctl(unsigned int cmd, void __user *arg)
{
	static const u8 payload[FLOOD_PAYLOAD];
	struct popcorn_kmsg_flood f;
	unsigned long deadline;
	int ret = 0;

	if (copy_from_user(&f, arg, sizeof(f)))
		return -EFAULT;
	if (f.flags || f.pad || !f.ms || f.ms > FLOOD_MAX_MS ||
	    f.peer >= POPCORN_KMSG_MAX_KERNELS || f.peer == popcorn_kmsg_self())
		return -EINVAL;
	if (!popcorn_kmsg_peer_up(f.peer))
		return -EHOSTDOWN;
	f.sent = 0;
	f.full = 0;
	pr_info("flooding kernel %u for %u ms, its messages unread\n", f.peer, f.ms);
	kmsg_hold_rx(f.peer, true);
	deadline = jiffies + msecs_to_jiffies(f.ms);
	while (time_before(jiffies, deadline)) {
		ret = popcorn_kmsg_test_request_nowait(f.peer, POPCORN_KMSG_ECHO, payload,
						       sizeof(payload));
		if (!ret) {
			f.sent++;
		} else if (ret == -EAGAIN) {
			f.full++;
			usleep_range(20, 50);	/* its ring to us is full too, by design */
		} else {
			break;
		}
		cond_resched();
	}
	kmsg_hold_rx(f.peer, false);
	pr_info("sent %llu requests to kernel %u, found its ring full %llu times\n", f.sent,
		f.peer, f.full);
	if (ret && ret != -EAGAIN)
		return ret;
	return copy_to_user(arg, &f, sizeof(f)) ? -EFAULT : 0;
}

static int __init kmsg_flood_init(void)
{
	return popcorn_kmsg_register_ioctl(POPCORN_KMSG_IOC_FLOOD, flood_ioctl);
}
late_initcall_sync(kmsg_flood_init);
