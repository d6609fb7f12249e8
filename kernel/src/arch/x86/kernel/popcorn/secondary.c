// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: the secondary kernel's platform.
 *
 * A kernel started by the Popcorn loader finds its control page in a SETUP_POPCORN
 * setup_data entry, before any option is parsed (setup_arch() calls
 * popcorn_secondary_setup()). It then owns only its own CPUs and memory, so
 * everything that would touch
 * state shared with the primary is switched off before it is used: no 8259 PIC, no
 * PIT or HPET (the TSC frequency and the LAPIC timer period come from the primary),
 * no RTC/CMOS, no i8042, no IOAPIC, no ACPI, no PCI, no MP table scan (only its own
 * APIC IDs, from the control page, are registered; it wakes them itself, from its
 * own low-memory window, and never sends INIT to the machine's real BSP), and no
 * broadcast IPI, whatever its command line says: "all but self" would reach every
 * other kernel's CPUs, and a panic that stops the others with it would stop them all.
 * Restart, power-off and halt stop its own CPUs only, and report it in the control
 * page; so does a panic. A heartbeat counter in the control
 * page tells the primary that this kernel is alive.
 */
#define pr_fmt(fmt) "popcorn: " fmt

#include <linux/acpi.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/panic_notifier.h>
#include <linux/reboot.h>
#include <linux/workqueue.h>
#include <asm/apic.h>
#include <asm/bootparam.h>
#include <asm/i8259.h>
#include <asm/io_apic.h>
#include <asm/pci_x86.h>
#include <asm/popcorn.h>
#include <asm/reboot.h>
#include <asm/setup.h>
#include <asm/tsc.h>
#include <asm/x86_init.h>

#define HEARTBEAT_MS	100
#define SETUP_DATA_MAX	64	/* entries looked at: the list is the loader's */

static struct popcorn_ctrl handover __initdata;
static struct popcorn_ctrl *ctrl;	/* the shared page, mapped for good */
static u64 ctrl_phys;
static u64 wallclock_ns, wallclock_tsc;	/* kept from the handover */
static u32 wallclock_khz;		/* tsc_khz is not set yet when timekeeping starts */

static unsigned long __init popcorn_get_tsc(void)
{
	return handover.tsc_khz;
}

static void __init popcorn_timer_init(void)
{
	/* The period is per jiffy of the primary; scale it to ours. */
	lapic_timer_period = (u64)handover.lapic_timer_period * handover.hz / HZ;
	preset_lpj = handover.lpj * handover.hz / HZ;
}

static void __init popcorn_parse_smp_config(void)
{
	unsigned int i;

	register_lapic_address(APIC_DEFAULT_PHYS_BASE);
	for (i = 0; i < handover.nr_cpus; i++)
		topology_register_apic(handover.apic_ids[i], CPU_ACPIID_INVALID, true);
	smp_found_config = 1;
}

/*
 * No RTC: the primary owns the CMOS. The time of day is the primary's at the
 * handover, advanced by the TSC both kernels share. (A clock left at 1970 made
 * nginx crash at start, now and then.)
 */
static void popcorn_get_wallclock(struct timespec64 *now)
{
	u64 tsc = rdtsc(), ns = wallclock_ns;

	if (ns && tsc > wallclock_tsc && wallclock_khz)
		ns += mul_u64_u32_div(tsc - wallclock_tsc, NSEC_PER_MSEC, wallclock_khz);
	*now = ns_to_timespec64(ns);
}

/* The CMOS clock is the primary's too: the time of day is never written back. */
static int popcorn_set_wallclock(const struct timespec64 *now)
{
	return -ENODEV;
}

/* An NMI's reason is in the primary's system control port (0x61): not ours to read. */
static unsigned char popcorn_get_nmi_reason(void)
{
	return 0;
}

/*
 * The local APIC's LINT0 would take the machine's 8259 (ExtINT), which setup_local_APIC()
 * leaves unmasked on the boot CPU when there is no IOAPIC: the 8259 is the primary's.
 */
static void __init popcorn_intr_mode_init(void)
{
	apic_intr_mode_init();
	apic_write(APIC_LVT0, APIC_DM_EXTINT | APIC_LVT_MASKED);
}

static int __init popcorn_pci_arch_init(void)
{
	pci_probe = 0;
	return 0;	/* no PCI configuration space: it is the primary's */
}

static void popcorn_set_state(u32 state)
{
	if (ctrl)
		WRITE_ONCE(ctrl->state, state);
}

static void popcorn_stop(void)
{
	popcorn_set_state(POPCORN_CTRL_STOPPED);
	pr_notice("stopping this kernel's CPUs only\n");
	machine_halt();
}

static void popcorn_restart(char *cmd)
{
	popcorn_stop();
}

static void popcorn_emergency_restart(void)
{
	popcorn_stop();
}

static int popcorn_panic(struct notifier_block *nb, unsigned long event, void *unused)
{
	if (ctrl) {
		WRITE_ONCE(ctrl->panicked, 1);
		WRITE_ONCE(ctrl->state, POPCORN_CTRL_PANICKED);
	}
	return NOTIFY_DONE;
}

static struct notifier_block popcorn_panic_nb = {
	.notifier_call = popcorn_panic,
	.priority = INT_MAX,
};

static void popcorn_heartbeat(struct work_struct *work);
static DECLARE_DELAYED_WORK(heartbeat_work, popcorn_heartbeat);

static void popcorn_heartbeat(struct work_struct *work)
{
	WRITE_ONCE(ctrl->heartbeat, READ_ONCE(ctrl->heartbeat) + 1);
	schedule_delayed_work(&heartbeat_work, msecs_to_jiffies(HEARTBEAT_MS));
}

/* Reads and checks the primary's handover before any of it is used. */
static int __init popcorn_read_handover(u64 phys)
{
	struct popcorn_ctrl *page = early_memremap(phys, sizeof(*page));
	unsigned int i;

	if (!page)
		return -ENOMEM;
	memcpy(&handover, page, sizeof(handover));
	early_memunmap(page, sizeof(*page));
	if (handover.magic != POPCORN_CTRL_MAGIC || handover.self_phys != phys ||
	    handover.version != POPCORN_CTRL_VERSION || handover.size < sizeof(handover) ||
	    !handover.tsc_khz || !handover.lapic_timer_period || !handover.hz || !handover.lpj ||
	    !handover.nr_cpus || handover.nr_cpus > POPCORN_MAX_CPUS)
		return -EINVAL;
	for (i = 0; i < handover.nr_cpus; i++)
		if (handover.apic_ids[i] == handover.bsp_apic_id)
			return -EINVAL;	/* INIT to it would reset the machine */
	return 0;
}

/* The control page's address from the loader's setup_data entry; 0 if there is none. */
static u64 __init popcorn_find_handover(void)
{
	u64 pa = boot_params.hdr.setup_data, found = 0;
	struct popcorn_setup *payload;
	struct setup_data *sd;
	unsigned int n;

	for (n = 0; pa && n < SETUP_DATA_MAX; n++) {
		sd = early_memremap(pa, sizeof(*sd));
		if (!sd)
			break;
		if (sd->type == SETUP_POPCORN && sd->len == sizeof(*payload)) {
			payload = early_memremap(pa + sizeof(*sd), sizeof(*payload));
			if (payload && payload->magic == POPCORN_SETUP_MAGIC)
				found = payload->ctrl_phys;
			if (payload)
				early_memunmap(payload, sizeof(*payload));
		}
		pa = sd->next;
		early_memunmap(sd, sizeof(*sd));
		if (found)
			break;
	}
	return found;
}

/* Was this kernel started on the machine's boot processor? */
static bool __init popcorn_on_bsp(void)
{
	u64 base;

	rdmsrl(MSR_IA32_APICBASE, base);
	return base & MSR_IA32_APICBASE_BSP;
}

/*
 * Before any option is parsed: a secondary's platform comes from the handover,
 * whatever its command line says. A kernel that starts on an AP without one was
 * started by a loader whose handover got lost, and probing the platform would take
 * the machine's devices from the kernel that owns them: it halts. A kdump kernel
 * (elfcorehdr=) starts on whichever CPU crashed, and boots as usual.
 */
void __init popcorn_secondary_setup(void)
{
	u64 phys = popcorn_find_handover();

	if (!phys) {
		if (!popcorn_on_bsp() && !strstr(boot_command_line, "elfcorehdr="))
			for (;;)
				halt();
		return;
	}
	if (!IS_ALIGNED(phys, PAGE_SIZE) || popcorn_read_handover(phys))
		panic("popcorn: no valid control page at %#llx", phys);
	ctrl_phys = phys;
	wallclock_ns = handover.wallclock_ns;
	wallclock_tsc = handover.wallclock_tsc;
	wallclock_khz = handover.tsc_khz;

	x86_init.irqs.pre_vector_init		= x86_init_noop;
	x86_init.irqs.intr_mode_init		= popcorn_intr_mode_init;
	x86_init.timers.timer_init		= popcorn_timer_init;
	x86_init.mpparse.find_mptable		= x86_init_noop;
	x86_init.mpparse.early_parse_smp_cfg	= x86_init_noop;
	x86_init.mpparse.parse_smp_cfg		= popcorn_parse_smp_config;
	x86_init.pci.arch_init			= popcorn_pci_arch_init;
	x86_platform.calibrate_cpu		= popcorn_get_tsc;
	x86_platform.calibrate_tsc		= popcorn_get_tsc;
	x86_platform.get_wallclock		= popcorn_get_wallclock;
	x86_platform.set_wallclock		= popcorn_set_wallclock;
	x86_platform.get_nmi_reason		= popcorn_get_nmi_reason;
	x86_platform.legacy.rtc			= 0;
	x86_platform.legacy.warm_reset		= 0;
	x86_platform.legacy.i8042		= X86_LEGACY_I8042_PLATFORM_ABSENT;
	legacy_pic				= &null_legacy_pic;
	machine_ops.restart			= popcorn_restart;
	machine_ops.emergency_restart		= popcorn_emergency_restart;
	machine_ops.power_off			= popcorn_stop;
	setup_force_cpu_cap(X86_FEATURE_TSC_KNOWN_FREQ);
	apic_ipi_shorthand_forbid();
	/* It boots on an AP: the BSP is the primary's, not a sign of a crash kernel. */
	topology_set_real_bsp(handover.bsp_apic_id);
	/* As pci=off, and before the early PCI quirks scan bus 0 through port 0xcf8. */
	pci_probe = 0;
	/* No IOAPIC and no ACPI tables: they describe the whole machine. */
	ioapic_is_disabled = true;
	disable_acpi();
	pr_info("secondary kernel %u on %u CPU(s) from APIC ID %u, control page %#llx\n",
		handover.kernel_id, handover.nr_cpus, handover.apic_ids[0], phys);
}

/* The control page of this secondary, mapped on first use; NULL on a primary. */
struct popcorn_ctrl *popcorn_secondary_ctrl(void)
{
	if (ctrl_phys && !ctrl)
		ctrl = memremap(ctrl_phys, sizeof(*ctrl), MEMREMAP_WB);
	return ctrl;
}

static int __init popcorn_secondary_init(void)
{
	struct timespec64 now;

	if (!ctrl_phys)
		return 0;
	/*
	 * The clock stood still between timekeeping_init() and the TSC clocksource (no
	 * timer ticked yet): set the time of day again, now that the TSC keeps it, so
	 * that it is the primary's (a migrated process's CLOCK_REALTIME does not jump).
	 */
	popcorn_get_wallclock(&now);
	if (now.tv_sec)
		do_settimeofday64(&now);
	if (!popcorn_secondary_ctrl()) {
		pr_err("cannot map the control page\n");
		return -ENOMEM;
	}
	atomic_notifier_chain_register(&panic_notifier_list, &popcorn_panic_nb);
	popcorn_set_state(POPCORN_CTRL_RUNNING);
	popcorn_heartbeat(NULL);
	return 0;
}
late_initcall(popcorn_secondary_init);
