/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Popcorn multikernel messaging: send messages to the other kernels on this machine.
 *
 * Kernels are numbered: the primary is 0, secondaries 1..POPCORN_KMSG_MAX_KERNELS-1.
 * A handler runs in softirq context (or in the polling thread) for each message of
 * its type; the message is valid only during the call. A handler may send (with
 * popcorn_kmsg_send_nowait()) and reply, but never waits: neither for room in a ring
 * nor for a reply. popcorn_kmsg_send() and popcorn_kmsg_request() may sleep.
 */
#ifndef _LINUX_POPCORN_KMSG_H
#define _LINUX_POPCORN_KMSG_H

#include <linux/types.h>
#include <uapi/linux/popcorn.h>

#define POPCORN_KMSG_MAX_KERNELS	8

enum popcorn_kmsg_type {
	POPCORN_KMSG_UNUSED,		/* was a check-in; epochs say it now */
	POPCORN_KMSG_ECHO,		/* request: the reply carries the same payload */
	POPCORN_KMSG_SINK,		/* counted and dropped */
	POPCORN_KMSG_SYNC,		/* request: answered once everything before it ran */
	POPCORN_KMSG_SET_MODE,		/* request: switch to this enum popcorn_kmsg_mode */
	POPCORN_KMSG_STRESS,		/* the stress test's payload (kmsg_stress.c) */
	POPCORN_KMSG_STRESS_START,	/* request: send the stress test's messages */
	POPCORN_KMSG_STRESS_STATS,	/* request: the stress test's counts here */
	POPCORN_KMSG_FANIN_START,	/* request: stream to a kernel (kmsg_fanin.c) */
	POPCORN_KMSG_FANIN_RESULT,	/* request: when that stream started and ended */
	POPCORN_KMSG_NET,		/* unused: frames go through the channel */
	POPCORN_KMSG_RSTREAM,		/* the restart test's stream (kmsg_restart.c) */
	POPCORN_KMSG_RSTREAM_CTL,	/* request: start or stop that stream */
	POPCORN_KMSG_RSTREAM_STATS,	/* request: what this kernel received of it */
	POPCORN_KMSG_MIGRATE,		/* process migration, every step (migrate.c) */
	POPCORN_KMSG_NR_TYPES = 32,
};

struct popcorn_kmsg {
	u8 from;
	u16 type;
	bool request;		/* the sender waits: answer with popcorn_kmsg_reply() */
	u32 cookie;
	const void *data;
	u32 len;
};

typedef void (*popcorn_kmsg_handler_t)(const struct popcorn_kmsg *msg);
typedef long (*popcorn_kmsg_ioctl_t)(unsigned int cmd, void __user *arg);

int popcorn_kmsg_register(u16 type, popcorn_kmsg_handler_t handler);
int popcorn_kmsg_register_ioctl(unsigned int cmd, popcorn_kmsg_ioctl_t fn);
int popcorn_kmsg_self(void);
bool popcorn_kmsg_peer_up(unsigned int kernel);
u32 popcorn_kmsg_peer_epoch(unsigned int kernel);
int popcorn_kmsg_send(unsigned int dest, u16 type, const void *data, u32 len);
int popcorn_kmsg_send_nowait(unsigned int dest, u16 type, const void *data, u32 len);
int popcorn_kmsg_request(unsigned int dest, u16 type, const void *data, u32 len,
			 void *reply, u32 reply_len, unsigned int timeout_ms);
int popcorn_kmsg_reply(const struct popcorn_kmsg *request, const void *data, u32 len);

/*
 * The channel (arch/x86/kernel/popcorn/kmsg_chan.c): a ring of its own to and from
 * every peer, for the network driver. Its user opens it once with two callbacks,
 * called from the IPI or the heartbeat: rx_ready when messages wait in a ring it
 * slept on, tx_room when a ring it found full has room again. Its poll peeks at each
 * message in place, reads it once and consumes it; only that poll reads a peer's ring.
 */
struct popcorn_kmsg_chan_ops {
	void (*rx_ready)(unsigned int peer);
	void (*tx_room)(unsigned int peer);
};

struct popcorn_kmsg_chan_msg {
	const void *data;	/* len bytes in the ring, written by the peer: read once */
	u32 len;
};

/* Per peer, since this kernel started. */
struct popcorn_kmsg_chan_stats {
	u64 sent;
	u64 received;
	u64 malformed;		/* slots from the peer rejected */
	u64 full;		/* sends and room checks that found no room */
	u64 waits;		/* times this kernel waited for room */
	u64 data_ipis;		/* IPIs sent to wake the peer's poll */
	u64 room_ipis;		/* IPIs sent to a peer that waited for room */
	u64 wakeups;		/* times our poll was woken (IPI, or the heartbeat) */
};

int popcorn_kmsg_chan_open(const struct popcorn_kmsg_chan_ops *ops);
typedef void (*popcorn_kmsg_copy_t)(void *dst, const void *src, u32 len);

int popcorn_kmsg_chan_send(unsigned int peer, u32 len, popcorn_kmsg_copy_t copy,
			   const void *src);
int popcorn_kmsg_chan_room(unsigned int peer, u32 len);
int popcorn_kmsg_chan_peek(unsigned int peer, struct popcorn_kmsg_chan_msg *m);
void popcorn_kmsg_chan_consume(unsigned int peer);
bool popcorn_kmsg_chan_sleep(unsigned int peer);
void popcorn_kmsg_chan_stats(unsigned int peer, struct popcorn_kmsg_chan_stats *s);

/* The primary's loader hands the region to each secondary it boots. */
phys_addr_t popcorn_kmsg_region(size_t *size);
void popcorn_kmsg_set_ipi_target(unsigned int kernel, u32 apic_id);

#endif /* _LINUX_POPCORN_KMSG_H */
