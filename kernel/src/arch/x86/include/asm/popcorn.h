/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Popcorn multikernel: the control page shared by the primary and one secondary.
 *
 * The primary fills the handover part before it wakes the secondary; the secondary
 * finds the page through a SETUP_POPCORN setup_data entry (struct popcorn_setup),
 * never through its command line, which a user may cut short or change; it checks
 * magic, version, size and its own address before trusting anything in it, and then
 * only writes its own fields (state, heartbeat, panic flag). The primary treats every
 * field the secondary writes as untrusted.
 */
#ifndef _ASM_X86_POPCORN_H
#define _ASM_X86_POPCORN_H

#include <linux/types.h>
#include <uapi/linux/popcorn.h>

#define POPCORN_CTRL_MAGIC	0x4c5254434e504fULL	/* "OPNCTRL" */
#define POPCORN_CTRL_VERSION	4
#define POPCORN_CTRL_KERNELS	8	/* POPCORN_KMSG_MAX_KERNELS */
#define POPCORN_CONSOLE_SIZE	16384	/* a power of two */

enum popcorn_ctrl_state {
	POPCORN_CTRL_LOADED = 1,	/* written by the primary before the kick */
	POPCORN_CTRL_RUNNING,		/* the secondary's first heartbeat */
	POPCORN_CTRL_STOPPED,		/* it halted itself (restart, power-off, halt) */
	POPCORN_CTRL_PANICKED,
};

struct popcorn_ctrl {
	/* Handover, written by the primary only. */
	u64 magic;
	u32 version;
	u32 size;			/* sizeof(struct popcorn_ctrl) of the writer */
	u64 self_phys;			/* where the primary put this page */
	u32 kernel_id;
	u32 nr_cpus;
	u32 apic_ids[POPCORN_MAX_CPUS];	/* the first one is the boot CPU */
	u32 bsp_apic_id;		/* the machine's real BSP, the primary's */
	u32 pad;
	u64 tsc_khz;
	u32 lapic_timer_period;		/* LAPIC timer ticks per jiffy */
	u32 hz;				/* the primary's HZ: lapic_timer_period is per jiffy */
	u64 lpj;			/* loops_per_jiffy */
	u64 kmsg_phys;			/* the messaging region, 0 if none */
	u64 kmsg_size;
	u64 wallclock_ns;		/* the primary's time of day (ns since 1970)... */
	u64 wallclock_tsc;		/* ...at this TSC value, which the kernels share */
	/*
	 * Where each kernel's message IPIs go: kept up to date by the primary as it boots
	 * kernels, never taken from memory another secondary can write.
	 */
	u32 kmsg_targets[POPCORN_CTRL_KERNELS];
	u64 reserved[4];
	/* Written by the secondary only, each on its own cache line. */
	__aligned(64) u32 state;
	u32 panicked;
	__aligned(64) u64 heartbeat;
	/*
	 * Console ring, secondary to primary: the secondary writes bytes and then
	 * advances con_head; the primary reads and advances con_tail. Both count
	 * bytes, free-running; neither side ever writes into unread bytes.
	 */
	__aligned(64) u32 con_head;
	__aligned(64) u32 con_tail;
	__aligned(64) u8 con_buf[POPCORN_CONSOLE_SIZE];
};

/* The payload of the loader's SETUP_POPCORN setup_data entry. */
#define POPCORN_SETUP_MAGIC	0x50555445534e5043ULL	/* "CPNSETUP" */

struct popcorn_setup {
	u64 magic;
	u64 ctrl_phys;			/* the control page */
};

struct popcorn_ctrl *popcorn_secondary_ctrl(void);

#ifdef CONFIG_POPCORN
void __init popcorn_secondary_setup(void);
#else
static inline void popcorn_secondary_setup(void) { }
#endif

#endif /* _ASM_X86_POPCORN_H */
