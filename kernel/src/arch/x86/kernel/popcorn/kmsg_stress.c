// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: stress test of the messaging layer.
 *
 * Every kernel that is up sends count messages of random sizes to every other one.
 * Each payload carries the test's own sequence number, its length and a checksum,
 * which the receiving handler checks itself: the layer's own counters are not
 * trusted. Between them, each sender writes malformed messages as raw slots into its
 * ring to each peer, bypassing the send path, and the receiving ring must reject
 * every one. One kernel starts the test everywhere in two phases (all reset, then
 * all go), so that no message arrives at a kernel that has not reset yet.
 */
#define pr_fmt(fmt) "popcorn kmsg stress: " fmt

#include <linux/delay.h>
#include <linux/popcorn_kmsg.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "kmsg.h"
#include "popcorn.h"

#define PEERS		POPCORN_KMSG_STRESS_PEERS
#define SMALL_MAX	512	/* most messages; one in 16 is up to the largest */

struct stress_payload {
	u64 seq;		/* the test's, per sender and receiver */
	u32 len;		/* the whole payload, this header included */
	u32 sum;		/* of the bytes after this header */
};

enum stress_phase { STRESS_RESET, STRESS_GO };

struct stress_start {
	struct popcorn_kmsg_stress params;
	u32 phase;
};

static struct {
	struct popcorn_kmsg_stress params;
	bool running;
	u64 sent[PEERS], send_errors[PEERS], injected[PEERS];
	u64 expected[PEERS], received[PEERS], lost[PEERS], duplicated[PEERS], corrupted[PEERS];
	struct work_struct work;
} st;

static u32 stress_sum(const u8 *p, u32 n)
{
	u64 h = 0xcbf29ce484222325ULL, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h ^ (h >> 32);
}

static u64 xorshift(u64 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* One raw slot that the receiving ring must reject: kind picks what is wrong. */
static u64 malformed_slot(struct pcn_ring_slot *slot, u64 kind)
{
	memset(slot, 0, sizeof(*slot));
	slot->sender = popcorn_kmsg_self();
	slot->type = POPCORN_KMSG_STRESS;
	slot->len = 8;
	switch (kind % 6) {
	case 0:
		slot->sender ^= 0x80;
		break;
	case 1:
		slot->type = POPCORN_KMSG_NR_TYPES;
		break;
	case 2:
		slot->len = POPCORN_KMSG_MAX_PAYLOAD + 1;
		break;
	case 3:
		slot->flags = 0x80;
		break;
	case 4:
		slot->len = 200;	/* a data block far beyond what it may have written */
		slot->data = U32_MAX / 2;
		break;
	default:
		slot->sender = (slot->sender + 1) % POPCORN_KMSG_MAX_KERNELS;	/* not the peer */
		break;
	}
	return 0;
}

static void inject(unsigned int dest)
{
	struct pcn_ring_slot slot;
	u64 lap_xor = malformed_slot(&slot, st.injected[dest]);
	int ret, tries = 0;

	while ((ret = kmsg_inject_raw(dest, &slot, lap_xor)) == -EAGAIN && tries++ < 100000)
		usleep_range(10, 50);
	if (!ret)
		st.injected[dest]++;
	else
		st.send_errors[dest]++;
}

static void stress_send_fn(struct work_struct *work)
{
	const struct popcorn_kmsg_stress *p = &st.params;
	u64 x = ((u64)p->seed << 32 | 0x9e3779b9) ^ ((u64)popcorn_kmsg_self() << 56);
	struct stress_payload *h;
	bool peers[PEERS];
	unsigned int dest;
	u8 *buf;
	u32 i, j, len;

	buf = kmalloc(POPCORN_KMSG_MAX_PAYLOAD, GFP_KERNEL);
	if (!buf)
		goto out;
	h = (struct stress_payload *)buf;
	for (dest = 0; dest < PEERS; dest++)
		peers[dest] = popcorn_kmsg_peer_up(dest);
	for (i = 0; i < p->count; i++) {
		for (dest = 0; dest < PEERS; dest++) {
			if (!peers[dest])
				continue;
			xorshift(&x);
			len = x % 16 ? sizeof(*h) + (x >> 8) % (SMALL_MAX - sizeof(*h) + 1) :
				sizeof(*h) + (x >> 8) % (POPCORN_KMSG_MAX_PAYLOAD - sizeof(*h) + 1);
			for (j = sizeof(*h); j + 8 <= len; j += 8) {
				u64 w = xorshift(&x);

				memcpy(buf + j, &w, 8);
			}
			for (; j < len; j++)
				buf[j] = (u8)xorshift(&x);
			h->seq = i;
			h->len = len;
			h->sum = stress_sum(buf + sizeof(*h), len - sizeof(*h));
			if (popcorn_kmsg_send(dest, POPCORN_KMSG_STRESS, buf, len))
				st.send_errors[dest]++;
			else
				st.sent[dest]++;
			/* Spread the malformed ones evenly over the run. */
			if ((u64)i * p->malformed / p->count != ((u64)i + 1) * p->malformed / p->count)
				inject(dest);
		}
		if (!(i & 63))
			cond_resched();
	}
	kfree(buf);
out:
	WRITE_ONCE(st.running, false);
	pr_info("sender done\n");
}

/* Checks a message with the test's own sequence number and checksum. */
static void handle_stress(const struct popcorn_kmsg *msg)
{
	const struct stress_payload *h = msg->data;
	unsigned int from = msg->from;

	if (from >= PEERS)
		return;
	st.received[from]++;
	if (msg->len < sizeof(*h) || h->len != msg->len ||
	    h->sum != stress_sum((const u8 *)msg->data + sizeof(*h), msg->len - sizeof(*h))) {
		st.corrupted[from]++;
		return;
	}
	if (h->seq == st.expected[from]) {
		st.expected[from]++;
	} else if (h->seq < st.expected[from]) {
		st.duplicated[from]++;
	} else {
		st.lost[from] += h->seq - st.expected[from];
		st.expected[from] = h->seq + 1;
	}
}

static int stress_phase(const struct stress_start *s)
{
	if (s->params.flags || !s->params.count)
		return -EINVAL;
	if (READ_ONCE(st.running))
		return -EBUSY;
	if (s->phase == STRESS_RESET) {
		memset(st.sent, 0, sizeof(st.sent));
		memset(st.send_errors, 0, sizeof(st.send_errors));
		memset(st.injected, 0, sizeof(st.injected));
		memset(st.expected, 0, sizeof(st.expected));
		memset(st.received, 0, sizeof(st.received));
		memset(st.lost, 0, sizeof(st.lost));
		memset(st.duplicated, 0, sizeof(st.duplicated));
		memset(st.corrupted, 0, sizeof(st.corrupted));
		return 0;
	}
	if (s->phase != STRESS_GO)
		return -EINVAL;
	st.params = s->params;
	WRITE_ONCE(st.running, true);
	queue_work(system_unbound_wq, &st.work);
	return 0;
}

static void handle_start(const struct popcorn_kmsg *msg)
{
	struct stress_start s;
	int ret = -EINVAL;

	if (popcorn_kmsg_test_refused(msg))
		return;

	if (msg->len == sizeof(s)) {
		memcpy(&s, msg->data, sizeof(s));
		ret = stress_phase(&s);
	}
	if (msg->request)
		popcorn_kmsg_reply(msg, &ret, sizeof(ret));
}

static void fill_stats(struct popcorn_kmsg_stress_stats *s)
{
	unsigned int peer;

	s->running = READ_ONCE(st.running);
	memcpy(s->sent, st.sent, sizeof(s->sent));
	memcpy(s->send_errors, st.send_errors, sizeof(s->send_errors));
	memcpy(s->injected, st.injected, sizeof(s->injected));
	memcpy(s->received, st.received, sizeof(s->received));
	memcpy(s->lost, st.lost, sizeof(s->lost));
	memcpy(s->duplicated, st.duplicated, sizeof(s->duplicated));
	memcpy(s->corrupted, st.corrupted, sizeof(s->corrupted));
	for (peer = 0; peer < PEERS; peer++)
		s->rejected[peer] = kmsg_rejected(peer);
}

static void handle_stats(const struct popcorn_kmsg *msg)
{
	struct popcorn_kmsg_stress_stats s = { .kernel = popcorn_kmsg_self() };

	if (popcorn_kmsg_test_refused(msg))
		return;

	BUILD_BUG_ON(sizeof(s) > POPCORN_KMSG_MAX_PAYLOAD);
	fill_stats(&s);
	if (msg->request)
		popcorn_kmsg_reply(msg, &s, sizeof(s));
}

/* Both phases on every kernel that is up, this one last in each. */
static int stress_start_all(const struct popcorn_kmsg_stress *params)
{
	struct stress_start s = { .params = *params };
	unsigned int peer;
	int ret, answer;

	for (s.phase = STRESS_RESET; s.phase <= STRESS_GO; s.phase++) {
		for (peer = 0; peer < PEERS; peer++) {
			if (!popcorn_kmsg_peer_up(peer))
				continue;
			ret = popcorn_kmsg_request(peer, POPCORN_KMSG_STRESS_START, &s, sizeof(s),
						   &answer, sizeof(answer), 5000);
			if (ret < 0)
				return ret;
			if (ret != sizeof(answer) || answer)
				return ret != sizeof(answer) ? -EPROTO : answer;
		}
		ret = stress_phase(&s);
		if (ret)
			return ret;
	}
	return 0;
}

static long stress_ioctl(unsigned int cmd, void __user *arg)
{
	struct popcorn_kmsg_stress_stats stats;
	struct popcorn_kmsg_stress params;
	int ret;

	if (cmd == POPCORN_KMSG_IOC_STRESS) {
		if (copy_from_user(&params, arg, sizeof(params)))
			return -EFAULT;
		return stress_start_all(&params);
	}
	if (copy_from_user(&stats, arg, sizeof(stats)))
		return -EFAULT;
	if (stats.kernel == U32_MAX || stats.kernel == popcorn_kmsg_self()) {
		fill_stats(&stats);
		stats.kernel = popcorn_kmsg_self();
	} else {
		ret = popcorn_kmsg_request(stats.kernel, POPCORN_KMSG_STRESS_STATS, NULL, 0, &stats,
					   sizeof(stats), 5000);
		if (ret < 0)
			return ret;
		if (ret != sizeof(stats))
			return -EPROTO;
	}
	return copy_to_user(arg, &stats, sizeof(stats)) ? -EFAULT : 0;
}

static int __init kmsg_stress_init(void)
{
	INIT_WORK(&st.work, stress_send_fn);
	popcorn_kmsg_register(POPCORN_KMSG_STRESS, handle_stress);
	popcorn_kmsg_register(POPCORN_KMSG_STRESS_START, handle_start);
	popcorn_kmsg_register(POPCORN_KMSG_STRESS_STATS, handle_stats);
	popcorn_kmsg_register_ioctl(POPCORN_KMSG_IOC_STRESS, stress_ioctl);
	return popcorn_kmsg_register_ioctl(POPCORN_KMSG_IOC_STRESS_STATS, stress_ioctl);
}
late_initcall_sync(kmsg_stress_init);
