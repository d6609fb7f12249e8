// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel messaging: what test code needs beyond the transport, and the
 * one test service every kernel offers its peers, a switch of its mode (which starts a
 * CPU-burning poll thread). Peers may start test code here (this switch, the stress
 * test, all-to-one, the restart stream) only if this kernel was booted with
 * popcorn_kmsg.test=1; otherwise their requests are answered with -EPERM.
 */
#define pr_fmt(fmt) "popcorn kmsg: " fmt

#include <linux/moduleparam.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "kmsg.h"
#include "popcorn.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "popcorn_kmsg."
static bool test_opt_in;
module_param_named(test, test_opt_in, bool, 0400);

/* True if the request was refused (answered with -EPERM): this kernel did not opt in. */
bool popcorn_kmsg_test_refused(const struct popcorn_kmsg *request)
{
	int ret = -EPERM;

	if (test_opt_in)
		return false;
	if (request->request)
		popcorn_kmsg_reply(request, &ret, sizeof(ret));
	return true;
}

/* A request that nobody waits for, without waiting for room: -EAGAIN when full. */
int popcorn_kmsg_test_request_nowait(unsigned int dest, u16 type, const void *data, u32 len)
{
	return kmsg_send(dest, type, PCN_RING_F_REQUEST, U32_MAX, data, len, false);
}

/* Switching starts or stops a thread, which softirq context cannot do: a work item. */
static struct {
	struct work_struct work;
	struct popcorn_kmsg request;	/* data is not kept: the mode is copied */
	u32 mode;
	bool busy;
} mode_switch;

static void mode_switch_fn(struct work_struct *work)
{
	int ret = kmsg_set_mode(mode_switch.mode);

	popcorn_kmsg_reply(&mode_switch.request, &ret, sizeof(ret));
	WRITE_ONCE(mode_switch.busy, false);
}

static void handle_set_mode(const struct popcorn_kmsg *msg)
{
	int ret;

	if (!msg->request || popcorn_kmsg_test_refused(msg))
		return;
	if (msg->len != sizeof(u32) || READ_ONCE(mode_switch.busy)) {
		ret = msg->len != sizeof(u32) ? -EINVAL : -EBUSY;
		popcorn_kmsg_reply(msg, &ret, sizeof(ret));
		return;
	}
	mode_switch.busy = true;
	mode_switch.request = *msg;
	mode_switch.request.data = NULL;
	memcpy(&mode_switch.mode, msg->data, sizeof(u32));
	schedule_work(&mode_switch.work);
}

/* POPCORN_KMSG_IOC_MODE for another kernel: asks it (this kernel's own: kmsg.c). */
static long remote_mode_ioctl(unsigned int cmd, void __user *arg)
{
	struct popcorn_kmsg_set_mode m;
	int ret, answer;

	if (copy_from_user(&m, arg, sizeof(m)))
		return -EFAULT;
	ret = popcorn_kmsg_request(m.kernel, POPCORN_KMSG_SET_MODE, &m.mode, sizeof(m.mode),
				   &answer, sizeof(answer), 5000);
	if (ret < 0)
		return ret;
	return ret == sizeof(answer) ? answer : -EPROTO;
}

/* POPCORN_KMSG_IOC_PROBE: what this kernel's mapping of the region lets it touch. */
static long probe_ioctl(unsigned int cmd, void __user *arg)
{
	struct popcorn_kmsg_probe p;

	if (copy_from_user(&p, arg, sizeof(p)))
		return -EFAULT;
	kmsg_probe(p.a, p.b, p.peer, &p.read, &p.write);
	return copy_to_user(arg, &p, sizeof(p)) ? -EFAULT : 0;
}

static int __init kmsg_test_init(void)
{
	INIT_WORK(&mode_switch.work, mode_switch_fn);
	popcorn_kmsg_register(POPCORN_KMSG_SET_MODE, handle_set_mode);
	popcorn_kmsg_register_ioctl(POPCORN_KMSG_IOC_PROBE, probe_ioctl);
	return popcorn_kmsg_register_ioctl(POPCORN_KMSG_IOC_MODE, remote_mode_ioctl);
}
late_initcall_sync(kmsg_test_init);
