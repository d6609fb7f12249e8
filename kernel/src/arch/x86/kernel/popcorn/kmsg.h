/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Popcorn multikernel messaging, inside: what the transport (kmsg.c) gives the
 * request/reply layer (kmsg_rpc.c) and the test code (kmsg_test.c and the tests it
 * carries). Nothing in the transport calls into the layers above it but through the
 * handlers and ioctls they register.
 */
#ifndef _X86_KERNEL_POPCORN_KMSG_H
#define _X86_KERNEL_POPCORN_KMSG_H

#include <linux/popcorn_kmsg.h>

#include "ring.h"

#define KMSG_HEARTBEAT_MS	100
#define KMSG_PEER_TIMEOUT_MS	5000	/* generous: emulated CPUs stall for seconds */

struct popcorn_kmsg_bench;
struct file;
struct seq_file;

/* kmsg.c: the transport. */
int kmsg_send(unsigned int dest, u16 type, u8 flags, u32 cookie, const void *data, u32 len,
	      bool may_block);
bool kmsg_gave_up_on(unsigned int peer);
int kmsg_drain_peer(unsigned int peer);
u32 kmsg_mode(void);
int kmsg_set_mode(u32 mode);
u32 kmsg_epoch(void);
bool kmsg_is_device(const struct file *f);
void kmsg_kick(unsigned int peer, u32 epoch);
u32 kmsg_peer_epoch(unsigned int peer, bool now);
u64 *kmsg_chan_table(void);
int kmsg_map(void *va, phys_addr_t phys, size_t size, pgprot_t prot);

/* kmsg_chan.c: rings of their own for one user (the network driver). */
int kmsg_chan_init(unsigned int self);
void kmsg_chan_prepare(void);
void kmsg_chan_irq(void);
void kmsg_chan_heartbeat(void);

/* kmsg_rpc.c: replies, the built-in handlers and the benchmarks. */
void kmsg_deliver_reply(const struct pcn_ring_msg *msg);
void kmsg_rpc_init(void);
int kmsg_bench(struct popcorn_kmsg_bench *b, bool stream);
void kmsg_rpc_show(struct seq_file *m, unsigned int peer);

#ifdef CONFIG_POPCORN_KMSG_TEST
/* kmsg.c, for the tests only: around the send path's and the receive path's rules. */
int kmsg_inject_raw(unsigned int dest, const struct pcn_ring_slot *slot, u64 lap_xor);
u64 kmsg_rejected(unsigned int peer);
int kmsg_send_epoch_tagged(unsigned int dest, u16 type, void *data, u32 len);
void kmsg_probe(unsigned int a, unsigned int b, unsigned int peer, int *read, int *write);
void kmsg_hold_rx(unsigned int peer, bool hold);
/* test_slowdown.c: popcorn.test_spin_per_msg, for the regression tests. */
extern unsigned int kmsg_test_spin_turns;

static inline void kmsg_test_spin(void)
{
	unsigned int i, turns = READ_ONCE(kmsg_test_spin_turns);

	for (i = 0; i < turns; i++)
		barrier();	/* keeps every turn: the count is the cost */
}
#else
static inline void kmsg_test_spin(void) { }
#endif

#endif /* _X86_KERNEL_POPCORN_KMSG_H */
