// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: the primary kernel boots secondary kernels.
 *
 * A secondary gets CPUs that the primary never onlined (addressed by APIC ID), a
 * physical memory partition that the primary reserved at boot with memmap=, and a
 * 64 KiB window of low RAM for its own real-mode code (its own trampoline, with
 * which it wakes its other CPUs). The loader lays out, at the
 * start of the partition, the secondary's boot_params (with an e820 map of just its
 * low window and its partition), its command line and identity page tables; the
 * protected-mode kernel goes 16 MiB in and the initramfs after the kernel's init_size.
 * The CPU is then woken with INIT/SIPI at a real-mode trampoline in a fixed low page,
 * which enters long mode and jumps to the kernel's 64-bit entry.
 *
 * Stopping a secondary sends INIT to its CPUs, whatever that kernel was doing (running,
 * halted, panicked), and parks them in a halt loop with interrupts off; its CPUs and
 * memory can then be booted again, without restarting the machine.
 */
#define pr_fmt(fmt) "popcorn: " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/miscdevice.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/popcorn_kmsg.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <asm/apic.h>
#include <asm/bootparam.h>
#include <asm/e820/api.h>
#include <asm/e820/types.h>
#include <asm/popcorn.h>
#include <asm/realmode.h>
#include <asm/tsc.h>
#include <uapi/linux/popcorn.h>

#include "popcorn.h"

#define POPCORN_MAX_KERNELS	(POPCORN_KMSG_MAX_KERNELS - 1)	/* secondaries */
#define TRAMPOLINE_PAGE		0x10000UL
#define PARK_PAGE		0x11000UL	/* cli; hlt; jmp back: where stopped CPUs wait */
#define LOW_WINDOW_SIZE		SZ_64K
#define LOW_WINDOW_MIN		0x20000UL
#define LOW_WINDOW_MAX		0x100000UL	/* real mode reaches the first MiB */
#define KERNEL_OFFSET		SZ_16M
#define BP_OFFSET		0x0000
#define CMDLINE_OFFSET		0x1000
#define CMDLINE_EXTRA		64		/* room for what the loader appends */
#define PGTABLE_OFFSET		0x2000		/* PML4, PDPT, 4 PDs: 4 GiB identity map */
#define PGTABLE_PAGES		6
#define SETUP_DATA_OFFSET	0x8000		/* SETUP_POPCORN: the handover */
#define CTRL_OFFSET		0x10000		/* struct popcorn_ctrl */
#define HEAD_RESERVED		SZ_1M		/* not RAM for the secondary */
#define MONITOR_MS		10
#define SETUP_HDR_OFFSET	0x1f1
#define BZIMAGE_HEADER_LEN	1024
#define TRAMPOLINE_WAIT_MS	2000

/* Must match the data block at the end of trampoline.S. */
struct popcorn_trampoline_data {
	u64 gdt[4];
	u16 gdt_limit;
	u32 gdt_base;
	u16 pad0;
	u32 jump32_offset;
	u16 jump32_selector;
	u16 pad1;
	u32 jump64_offset;
	u16 jump64_selector;
	u16 pad2;
	u64 cr3;
	u64 boot_params;
	u64 entry;
	u32 stage;
	u32 pad3;
} __packed;

enum popcorn_state {
	POPCORN_RESERVED,	/* these three hold CPUs and memory */
	POPCORN_BOOTING,
	POPCORN_STARTED,
	POPCORN_FAILED,		/* it never left the trampoline; its CPUs got INIT */
	POPCORN_STOPPED,
};

static const char * const state_names[] = {
	[POPCORN_RESERVED] = "reserved",
	[POPCORN_BOOTING] = "booting",
	[POPCORN_STARTED] = "started",
	[POPCORN_FAILED] = "failed",
	[POPCORN_STOPPED] = "stopped",
};

struct popcorn_kernel {
	u32 id;
	u32 nr_cpus;
	u32 apic_ids[POPCORN_MAX_CPUS];
	u32 low_window;
	u64 mem_start;
	u64 mem_size;
	enum popcorn_state state;
	struct popcorn_ctrl *ctrl;	/* mapped for good; the secondary's fields untrusted */
	u64 kick_ns;			/* primary's clock, when the SIPIs went out */
	u64 up_ns;			/* ... and when the first heartbeat was seen */
	u32 con_tail;			/* our copy: never read back from shared memory */
	u64 con_resyncs;
};

static DEFINE_MUTEX(popcorn_lock);	/* kernels[], nr_kernels, the trampoline page */
static struct popcorn_kernel kernels[POPCORN_MAX_KERNELS];
static unsigned int nr_kernels;		/* slots ever used; a stopped one is reused */

#ifdef CONFIG_POPCORN_KMSG_TEST
#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "popcorn."
/* Tests only: how long a boot waits between lending its CPUs and waking them. */
static unsigned int test_hold_ms;
module_param(test_hold_ms, uint, 0600);
/* Tests only: boot without the SETUP_POPCORN entry, as if the handover got lost. */
static bool test_no_handover;
module_param(test_no_handover, bool, 0600);
#endif

static void popcorn_monitor(struct work_struct *work);
static DECLARE_DELAYED_WORK(monitor_work, popcorn_monitor);

static bool ranges_overlap(u64 a, u64 a_len, u64 b, u64 b_len)
{
	return a < b + b_len && b < a + a_len;
}

/* Does this kernel hold its CPUs and memory? */
static bool kernel_holds(const struct popcorn_kernel *k)
{
	return k->state == POPCORN_RESERVED || k->state == POPCORN_BOOTING ||
	       k->state == POPCORN_STARTED;
}

/*
 * Is this APIC ID lent to a secondary? Callers hold popcorn_lock, or the hotplug
 * lock for writing: CPUs are lent under popcorn_lock and cpus_read_lock().
 */
static bool apic_id_lent(u32 apic_id)
{
	unsigned int i, j;

	for (i = 0; i < nr_kernels; i++) {
		if (!kernel_holds(&kernels[i]))
			continue;
		for (j = 0; j < kernels[i].nr_cpus; j++)
			if (kernels[i].apic_ids[j] == apic_id)
				return true;
	}
	return false;
}

/* CPU hotplug veto: the primary must never online a CPU that runs another kernel. */
static int popcorn_cpu_prepare(unsigned int cpu)
{
	if (apic_id_lent(cpu_physical_id(cpu))) {
		pr_warn("CPU %u (APIC ID %u) runs a secondary kernel: not onlining it\n",
			cpu, cpu_physical_id(cpu));
		return -EBUSY;
	}
	return 0;
}

static int check_cpu(u32 apic_id)
{
	unsigned int cpu;

	for_each_present_cpu(cpu) {
		if (cpu_physical_id(cpu) != apic_id)
			continue;
		if (cpu_online(cpu)) {
			pr_err("APIC ID %u is CPU %u, online in the primary\n", apic_id, cpu);
			return -EBUSY;
		}
		if (apic_id_lent(apic_id)) {
			pr_err("APIC ID %u already runs a secondary\n", apic_id);
			return -EBUSY;
		}
		/* A broadcast ("all but self") would reach the lent CPU too. */
		if (apic_ipi_shorthand_in_use()) {
			pr_err("APIC ID %u: this kernel sends broadcast IPIs to it (boot with no_ipi_broadcast=1)\n",
			       apic_id);
			return -EBUSY;
		}
		return 0;
	}
	pr_err("APIC ID %u is not a present CPU\n", apic_id);
	return -ENODEV;
}

static int check_cpus(const struct popcorn_boot *req)
{
	unsigned int i, j;
	int ret;

	if (!req->nr_cpus || req->nr_cpus > POPCORN_MAX_CPUS) {
		pr_err("%u CPUs: a secondary has 1 to %u\n", req->nr_cpus, POPCORN_MAX_CPUS);
		return -EINVAL;
	}
	for (i = 0; i < req->nr_cpus; i++) {
		for (j = 0; j < i; j++) {
			if (req->apic_ids[j] == req->apic_ids[i]) {
				pr_err("APIC ID %u is named twice\n", req->apic_ids[i]);
				return -EINVAL;
			}
		}
		ret = check_cpu(req->apic_ids[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Is [start, start + size) all RAM in the firmware's own map? memmap= turns any range
 * into "reserved", also a hole or the firmware's ACPI tables, which must never be lent.
 */
static bool firmware_ram(u64 start, u64 size)
{
	u64 covered = 0;
	int i;

	for (i = 0; i < e820_table_firmware->nr_entries; i++) {
		const struct e820_entry *e = &e820_table_firmware->entries[i];
		u64 from = max(start, e->addr), to = min(start + size, e->addr + e->size);

		if (e->type == E820_TYPE_RAM && from < to)
			covered += to - from;
	}
	return covered == size;	/* the sanitized map's entries do not overlap */
}

/* This kernel's own real-mode trampoline (its CPUs' start-up): where, and its size. */
static u64 primary_trampoline(void)
{
	return real_mode_header ? __pa(real_mode_header) : 0;
}

static u64 primary_trampoline_size;	/* the blob is init data: measured at boot */

static int check_memory(const struct popcorn_boot *req)
{
	u64 start = req->mem_start, size = req->mem_size;
	unsigned int i;

	if (!IS_ALIGNED(start, SZ_2M) || !IS_ALIGNED(size, SZ_2M) || size < SZ_64M ||
	    start + size > SZ_4G || start + size < start) {
		pr_err("partition %#llx+%#llx: must be 2 MiB aligned, at least 64 MiB, below 4 GiB\n",
		       start, size);
		return -EINVAL;
	}
	/* memmap=size$start makes a "Reserved" resource that is not System RAM. */
	if (region_intersects(start, size, IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) !=
	    REGION_DISJOINT ||
	    region_intersects(start, size, IORESOURCE_MEM, IORES_DESC_RESERVED) !=
	    REGION_INTERSECTS) {
		pr_err("partition %#llx-%#llx is not reserved at boot (memmap=size$start)\n",
		       start, start + size - 1);
		return -EINVAL;
	}
	if (!firmware_ram(start, size)) {
		pr_err("partition %#llx-%#llx is not all RAM in the firmware's memory map\n",
		       start, start + size - 1);
		return -EINVAL;
	}
	if (!IS_ALIGNED(req->low_window, LOW_WINDOW_SIZE) || req->low_window < LOW_WINDOW_MIN ||
	    req->low_window + LOW_WINDOW_SIZE > LOW_WINDOW_MAX ||
	    !firmware_ram(req->low_window, LOW_WINDOW_SIZE)) {
		pr_err("low window %#x: must be 64 KiB aligned RAM within %#lx-%#lx\n",
		       req->low_window, LOW_WINDOW_MIN, LOW_WINDOW_MAX - 1);
		return -EINVAL;
	}
	if (ranges_overlap(req->low_window, LOW_WINDOW_SIZE, primary_trampoline(),
			   primary_trampoline_size)) {
		pr_err("low window %#x overlaps this kernel's own real-mode trampoline at %#llx\n",
		       req->low_window, primary_trampoline());
		return -EBUSY;
	}
	for (i = 0; i < nr_kernels; i++) {
		const struct popcorn_kernel *k = &kernels[i];

		if (!kernel_holds(k))
			continue;
		if (ranges_overlap(start, size, k->mem_start, k->mem_size) ||
		    ranges_overlap(req->low_window, LOW_WINDOW_SIZE, k->low_window,
				   LOW_WINDOW_SIZE)) {
			pr_err("memory of kernel %u overlaps the request\n", k->id);
			return -EBUSY;
		}
	}
	return 0;
}

/* Reads and checks the bzImage's setup header; returns the protected-mode offset. */
static long parse_bzimage(const u8 *head, u64 kernel_len, struct setup_header *hdr)
{
	size_t hdr_len = 0x0202 + head[0x0201] - SETUP_HDR_OFFSET;
	unsigned int setup_sects;

	if (hdr_len > sizeof(*hdr) || SETUP_HDR_OFFSET + hdr_len > BZIMAGE_HEADER_LEN) {
		pr_err("kernel image: setup header of %zu bytes is not a bzImage's\n", hdr_len);
		return -ENOEXEC;
	}
	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr, head + SETUP_HDR_OFFSET, hdr_len);
	if (hdr->header != 0x53726448 || hdr->version < 0x020c ||
	    !(hdr->xloadflags & XLF_KERNEL_64) || !hdr->relocatable_kernel) {
		pr_err("kernel image: not a relocatable 64-bit bzImage (boot protocol 2.12+)\n");
		return -ENOEXEC;
	}
	setup_sects = hdr->setup_sects ? hdr->setup_sects : 4;
	if ((setup_sects + 1) * 512 >= kernel_len) {
		pr_err("kernel image: truncated (%llu bytes)\n", kernel_len);
		return -ENOEXEC;
	}
	return (setup_sects + 1) * 512;
}

/* An initramfs starts as a cpio archive or as one of the kernel's compressed formats. */
static int check_initramfs(const u8 *part_initrd, u64 len)
{
	static const struct { u8 len; u8 magic[6]; } formats[] = {
		{ 6, "070701" }, { 6, "070702" },		/* cpio, newc */
		{ 2, "\x1f\x8b" }, { 3, "BZh" },		/* gzip, bzip2 */
		{ 6, "\xfd\x37zXZ\0" }, { 2, "\x5d\0" },	/* xz, lzma */
		{ 3, "\x89LZ" }, { 4, "\x02\x21\x4c\x18" },	/* lzo, lz4 */
		{ 4, "\x28\xb5\x2f\xfd" },			/* zstd */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(formats); i++)
		if (len >= formats[i].len && !memcmp(part_initrd, formats[i].magic, formats[i].len))
			return 0;
	pr_err("initramfs: %llu bytes, neither a cpio archive nor compressed\n", len);
	return -ENOEXEC;
}

/* Identity map of the low 4 GiB with 2 MiB pages; returns the PML4's address. */
static u64 build_page_tables(void *base, u64 phys)
{
	u64 *pml4 = base, *pdpt = base + PAGE_SIZE;
	unsigned int i, j;

	memset(base, 0, PGTABLE_PAGES * PAGE_SIZE);
	pml4[0] = (phys + PAGE_SIZE) | _PAGE_PRESENT | _PAGE_RW;
	for (i = 0; i < 4; i++) {
		u64 *pd = base + (2 + i) * PAGE_SIZE;

		pdpt[i] = (phys + (2 + i) * PAGE_SIZE) | _PAGE_PRESENT | _PAGE_RW;
		for (j = 0; j < 512; j++)
			pd[j] = ((u64)i << 30 | (u64)j << 21) | _PAGE_PRESENT | _PAGE_RW |
				_PAGE_PSE;
	}
	return phys;
}

/* The handover's address, where the secondary looks before it parses any option. */
static u64 fill_setup_data(u8 *part, const struct popcorn_boot *req)
{
	struct setup_data *sd = (struct setup_data *)(part + SETUP_DATA_OFFSET);
	struct popcorn_setup *payload = (struct popcorn_setup *)sd->data;

#ifdef CONFIG_POPCORN_KMSG_TEST
	if (test_no_handover)
		return 0;
#endif
	BUILD_BUG_ON(PGTABLE_OFFSET + PGTABLE_PAGES * PAGE_SIZE > SETUP_DATA_OFFSET ||
		     SETUP_DATA_OFFSET + sizeof(*sd) + sizeof(*payload) > CTRL_OFFSET);
	sd->next = 0;
	sd->type = SETUP_POPCORN;
	sd->len = sizeof(*payload);
	payload->magic = POPCORN_SETUP_MAGIC;
	payload->ctrl_phys = req->mem_start + CTRL_OFFSET;
	return req->mem_start + SETUP_DATA_OFFSET;
}

static void fill_boot_params(struct boot_params *bp, const struct setup_header *hdr,
			     const struct popcorn_boot *req, u64 initrd_phys, u64 setup_data)
{
	u64 cmdline = req->mem_start + CMDLINE_OFFSET;

	memset(bp, 0, sizeof(*bp));
	bp->hdr = *hdr;
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.setup_data = setup_data;
	bp->hdr.cmd_line_ptr = lower_32_bits(cmdline);
	bp->ext_cmd_line_ptr = upper_32_bits(cmdline);
	bp->hdr.ramdisk_image = lower_32_bits(initrd_phys);
	bp->ext_ramdisk_image = upper_32_bits(initrd_phys);
	bp->hdr.ramdisk_size = lower_32_bits(req->initrd_len);
	bp->ext_ramdisk_size = upper_32_bits(req->initrd_len);
	/* At least two entries: with one, the kernel invents a PC memory map. */
	bp->e820_table[0].addr = req->low_window;
	bp->e820_table[0].size = LOW_WINDOW_SIZE;
	bp->e820_table[0].type = E820_TYPE_RAM;
	/* The partition's head holds boot_params, page tables and the control page. */
	bp->e820_table[1].addr = req->mem_start;
	bp->e820_table[1].size = HEAD_RESERVED;
	bp->e820_table[1].type = E820_TYPE_RESERVED;
	bp->e820_table[2].addr = req->mem_start + HEAD_RESERVED;
	bp->e820_table[2].size = req->mem_size - HEAD_RESERVED;
	bp->e820_table[2].type = E820_TYPE_RAM;
	bp->e820_entries = 3;
}

/* The boot CPU of every kernel that holds its CPUs, by kernel id; the primary's too. */
static void fill_targets(u32 *targets)
{
	unsigned int i;

	targets[0] = boot_cpu_physical_apicid;
	for (i = 0; i < nr_kernels; i++)
		if (kernel_holds(&kernels[i]) && kernels[i].state != POPCORN_RESERVED)
			targets[kernels[i].id] = kernels[i].apic_ids[0];
}

static void fill_ctrl(struct popcorn_ctrl *ctrl, u64 phys, u32 kernel_id,
		      const struct popcorn_boot *req)
{
	size_t kmsg_size;

	BUILD_BUG_ON(CTRL_OFFSET + sizeof(*ctrl) > HEAD_RESERVED);
	BUILD_BUG_ON(POPCORN_CTRL_KERNELS != POPCORN_KMSG_MAX_KERNELS);
	memset(ctrl, 0, sizeof(*ctrl));
	ctrl->magic = POPCORN_CTRL_MAGIC;
	ctrl->version = POPCORN_CTRL_VERSION;
	ctrl->size = sizeof(*ctrl);
	ctrl->self_phys = phys;
	ctrl->kernel_id = kernel_id;
	ctrl->nr_cpus = req->nr_cpus;
	memcpy(ctrl->apic_ids, req->apic_ids, sizeof(ctrl->apic_ids));
	ctrl->bsp_apic_id = boot_cpu_physical_apicid;
	ctrl->tsc_khz = tsc_khz;
	ctrl->lapic_timer_period = lapic_timer_period;
	ctrl->hz = HZ;
	ctrl->lpj = loops_per_jiffy;
	ctrl->kmsg_phys = popcorn_kmsg_region(&kmsg_size);
	ctrl->kmsg_size = kmsg_size;
	ctrl->wallclock_tsc = rdtsc();
	ctrl->wallclock_ns = ktime_get_real_ns();
	fill_targets(ctrl->kmsg_targets);
	ctrl->kmsg_targets[kernel_id] = req->apic_ids[0];
	ctrl->state = POPCORN_CTRL_LOADED;
}

/* Every other running secondary learns where the new kernel's message IPIs go. */
static void announce_target(const struct popcorn_kernel *new)
{
	unsigned int i;

	for (i = 0; i < nr_kernels; i++) {
		struct popcorn_kernel *k = &kernels[i];

		if (k != new && kernel_holds(k) && k->state != POPCORN_RESERVED && k->ctrl)
			WRITE_ONCE(k->ctrl->kmsg_targets[new->id], new->apic_ids[0]);
	}
}

static void fill_trampoline(u8 *page, u64 boot_params, u64 entry, u64 cr3)
{
	size_t len = popcorn_trampoline_end - popcorn_trampoline_start;
	size_t data_off = popcorn_trampoline_data - popcorn_trampoline_start;
	struct popcorn_trampoline_data *d;

	BUILD_BUG_ON(sizeof(*d) != 88);
	memcpy(page, popcorn_trampoline_start, len);
	d = (struct popcorn_trampoline_data *)(page + data_off);
	d->gdt[0] = 0;
	d->gdt[1] = 0x00cf9a000000ffffULL;	/* 0x08: 32-bit code */
	d->gdt[2] = 0x00af9a000000ffffULL;	/* 0x10: 64-bit code, __BOOT_CS */
	d->gdt[3] = 0x00cf92000000ffffULL;	/* 0x18: data, __BOOT_DS */
	d->gdt_limit = sizeof(d->gdt) - 1;
	d->gdt_base = TRAMPOLINE_PAGE + data_off;
	d->jump32_offset = TRAMPOLINE_PAGE + popcorn_trampoline_32;
	d->jump32_selector = 0x08;
	d->jump64_offset = TRAMPOLINE_PAGE + popcorn_trampoline_64;
	d->jump64_selector = 0x10;
	d->cr3 = cr3;
	d->boot_params = boot_params;
	d->entry = entry;
	WRITE_ONCE(d->stage, 0);
}

/* INIT, asserted and deasserted: the CPU then waits for a start-up IPI. */
static void send_init(u32 apic_id)
{
	unsigned long flags;

	local_irq_save(flags);
	apic_icr_write(APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT, apic_id);
	safe_apic_wait_icr_idle();
	local_irq_restore(flags);
	mdelay(10);
	local_irq_save(flags);
	apic_icr_write(APIC_INT_LEVELTRIG | APIC_DM_INIT, apic_id);
	safe_apic_wait_icr_idle();
	local_irq_restore(flags);
}

/*
 * INIT, then a start-up IPI into a halt loop with interrupts off. A CPU left waiting
 * for a start-up IPI is stopped on hardware, but QEMU's TCG wakes it on the first
 * message IPI a peer still sends it and runs the firmware's reset code there, whose
 * triple fault resets the machine. Parked, an interrupt only ends one hlt.
 */
static void stop_cpus(const struct popcorn_kernel *k)
{
	unsigned long flags;
	unsigned int i;

	for (i = 0; i < k->nr_cpus; i++) {
		send_init(k->apic_ids[i]);
		local_irq_save(flags);
		apic_icr_write(APIC_DM_STARTUP | (PARK_PAGE >> 12), k->apic_ids[i]);
		safe_apic_wait_icr_idle();
		local_irq_restore(flags);
	}
}

/* The park loop, written once: the page is the primary's, never lent or rewritten. */
static int __init write_park_page(void)
{
	static const u8 park[] = { 0xfa, 0xf4, 0xeb, 0xfd };	/* cli; 1: hlt; jmp 1b */
	u8 *page = memremap(PARK_PAGE, PAGE_SIZE, MEMREMAP_WB);

	if (!page)
		return -ENOMEM;
	memcpy(page, park, sizeof(park));
	memunmap(page);
	return 0;
}

static void send_init_sipi(u32 apic_id)
{
	unsigned long flags;
	int i;

	send_init(apic_id);
	local_irq_save(flags);
	for (i = 0; i < 2; i++) {
		apic_icr_write(APIC_DM_STARTUP | (TRAMPOLINE_PAGE >> 12), apic_id);
		safe_apic_wait_icr_idle();
		udelay(200);
	}
	local_irq_restore(flags);
}

/* Waits until the woken CPU has left the trampoline page (stage 3). */
static int wait_trampoline(u8 *page, u32 apic_id)
{
	size_t data_off = popcorn_trampoline_data - popcorn_trampoline_start;
	struct popcorn_trampoline_data *d = (void *)(page + data_off);
	unsigned int ms;

	for (ms = 0; ms < TRAMPOLINE_WAIT_MS; ms++) {
		if (READ_ONCE(d->stage) == 3)
			return 0;
		usleep_range(1000, 2000);
	}
	pr_err("APIC ID %u did not leave the trampoline (stage %u)\n", apic_id,
	       READ_ONCE(d->stage));
	return -ETIMEDOUT;
}

/*
 * Megabytes of images: in chunks, letting other work run between them (the
 * heartbeats that other kernels watch, on a kernel that does not preempt).
 */
static int copy_in_chunks(void *dst, u64 src, u64 len)
{
	u64 done, n;

	for (done = 0; done < len; done += n) {
		n = min_t(u64, len - done, SZ_1M);
		if (copy_from_user(dst + done, u64_to_user_ptr(src + done), n))
			return -EFAULT;
		cond_resched();
	}
	return 0;
}

/*
 * The command line, with what the loader appends, into the partition: no longer than
 * the kernel's own boot protocol takes (cmdline_size), or the kernel would cut off
 * what the loader appended.
 */
static int load_cmdline(u8 *part, const struct popcorn_boot *req,
			const struct setup_header *hdr)
{
	char extra[CMDLINE_EXTRA];
	u32 max = min_t(u32, hdr->cmdline_size, POPCORN_CMDLINE_MAX - 1);
	int len, room;
	long ret;

	/* The UARTs are the primary's: the 8250 driver must not probe them. */
	len = snprintf(extra, sizeof(extra), " 8250.nr_uarts=0");
	room = max - len;
	ret = strncpy_from_user(part + CMDLINE_OFFSET, u64_to_user_ptr(req->cmdline_ptr),
				room + 1);
	if (ret < 0)
		return ret;
	if (ret > room) {
		pr_err("command line: longer than %d bytes (the kernel takes %u, the loader adds %d)\n",
		       room, max, len);
		return -E2BIG;
	}
	memcpy(part + CMDLINE_OFFSET + ret, extra, len + 1);
	return 0;
}

static int load_images(u8 *part, const struct popcorn_boot *req, u64 *entry)
{
	struct setup_header *hdr;
	u64 initrd_off, initrd_end, pm_len;
	long pm_offset;
	u8 *head;
	int ret;

	head = kmalloc(BZIMAGE_HEADER_LEN, GFP_KERNEL);
	hdr = kmalloc(sizeof(*hdr), GFP_KERNEL);
	ret = -ENOMEM;
	if (!head || !hdr)
		goto out;
	ret = -E2BIG;
	/* Lengths from the caller: bounded before any arithmetic on them. */
	if (req->kernel_len > req->mem_size || req->initrd_len > req->mem_size) {
		pr_err("%s: %llu bytes, larger than the partition\n",
		       req->kernel_len > req->mem_size ? "kernel image" : "initramfs",
		       max(req->kernel_len, req->initrd_len));
		goto out;
	}
	ret = -ENOEXEC;
	if (req->kernel_len < BZIMAGE_HEADER_LEN) {
		pr_err("kernel image: %llu bytes, too short for a bzImage\n", req->kernel_len);
		goto out;
	}
	ret = -EFAULT;
	if (copy_from_user(head, u64_to_user_ptr(req->kernel_ptr), BZIMAGE_HEADER_LEN))
		goto out;
	pm_offset = parse_bzimage(head, req->kernel_len, hdr);
	ret = pm_offset;
	if (pm_offset < 0)
		goto out;
	pm_len = req->kernel_len - pm_offset;
	initrd_off = KERNEL_OFFSET + ALIGN(max_t(u64, hdr->init_size, pm_len), SZ_2M);
	ret = -E2BIG;
	if (check_add_overflow(initrd_off, req->initrd_len, &initrd_end) ||
	    initrd_end > req->mem_size) {
		pr_err("kernel (init_size %#x) and initramfs (%llu bytes) do not fit in %llu MiB\n",
		       hdr->init_size, req->initrd_len, req->mem_size >> 20);
		goto out;
	}
	ret = -EFAULT;
	if (copy_in_chunks(part + KERNEL_OFFSET, req->kernel_ptr + pm_offset, pm_len) ||
	    copy_in_chunks(part + initrd_off, req->initrd_ptr, req->initrd_len))
		goto out;
	ret = check_initramfs(part + initrd_off, req->initrd_len);
	if (ret)
		goto out;
	ret = load_cmdline(part, req, hdr);
	if (ret)
		goto out;
	fill_boot_params((struct boot_params *)(part + BP_OFFSET), hdr, req,
			 req->mem_start + initrd_off, fill_setup_data(part, req));
	*entry = req->mem_start + KERNEL_OFFSET + 0x200;	/* 64-bit entry point */
	ret = 0;
out:
	kfree(head);
	kfree(hdr);
	return ret;
}

/* The first slot that holds nothing (a stopped or failed kernel's), or a new one. */
static struct popcorn_kernel *free_slot(void)
{
	unsigned int i;

	for (i = 0; i < nr_kernels; i++)
		if (!kernel_holds(&kernels[i]))
			return &kernels[i];
	if (nr_kernels == POPCORN_MAX_KERNELS)
		return NULL;
	memset(&kernels[nr_kernels], 0, sizeof(kernels[0]));
	kernels[nr_kernels].id = nr_kernels + 1;
	kernels[nr_kernels].state = POPCORN_STOPPED;
	return &kernels[nr_kernels++];
}

/*
 * Checks the request and lends its CPUs and memory to a slot before anything is
 * copied, under the hotplug lock: the veto sees the CPUs lent from here on, so the
 * primary cannot online one of them between the check and the start-up IPIs. From
 * here on this kernel never sends broadcast IPIs again.
 */
/*
 * A kernel that is gone keeps its control page mapped, for its last console output,
 * until its memory is lent again: then the page may be part of another kernel, and
 * nothing of the loader must read or write it any more.
 */
static void forget_consoles(const struct popcorn_boot *req)
{
	unsigned int i;

	for (i = 0; i < nr_kernels; i++) {
		struct popcorn_kernel *k = &kernels[i];

		if (!kernel_holds(k) && k->ctrl &&
		    ranges_overlap(req->mem_start, req->mem_size, k->mem_start, k->mem_size)) {
			memunmap(k->ctrl);
			k->ctrl = NULL;
		}
	}
}

struct slot_undo {
	struct popcorn_kernel slot;
	bool fresh;		/* the slot was new */
};

static struct popcorn_kernel *reserve_slot(const struct popcorn_boot *req,
					   struct slot_undo *undo)
{
	struct popcorn_kernel *k = NULL;
	unsigned int i;
	int ret;

	cpus_read_lock();
	ret = check_cpus(req);
	if (!ret)
		ret = check_memory(req);
	if (ret)
		goto unlock;
	ret = -ENOSPC;
	undo->fresh = true;
	for (i = 0; i < nr_kernels; i++)
		undo->fresh &= kernel_holds(&kernels[i]);
	k = free_slot();
	if (!k) {
		pr_err("all %u kernel slots hold a kernel\n", POPCORN_MAX_KERNELS);
		goto unlock;
	}
	forget_consoles(req);
	undo->slot = *k;
	k->nr_cpus = req->nr_cpus;
	memcpy(k->apic_ids, req->apic_ids, sizeof(k->apic_ids));
	k->low_window = req->low_window;
	k->mem_start = req->mem_start;
	k->mem_size = req->mem_size;
	k->state = POPCORN_RESERVED;
	apic_ipi_shorthand_forbid();
	ret = 0;
unlock:
	cpus_read_unlock();
	return ret ? ERR_PTR(ret) : k;
}

/* A boot that failed before any CPU was woken: the slot is as it was. */
static void unreserve_slot(struct popcorn_kernel *k, const struct slot_undo *undo)
{
	cpus_read_lock();
	*k = undo->slot;
	if (undo->fresh && k == &kernels[nr_kernels - 1])
		nr_kernels--;	/* as if never used */
	cpus_read_unlock();
}

/*
 * Lends the CPUs and memory under popcorn_lock, copies the images without it (the
 * consoles of running secondaries keep flowing; nobody else can take a reserved
 * slot), and wakes the kernel under it again.
 */
static int popcorn_boot_kernel(struct popcorn_boot *req)
{
	struct popcorn_ctrl *ctrl = NULL;
	struct slot_undo undo;
	struct popcorn_kernel *k;
	u8 *part, *page = NULL;
	u64 entry, cr3;
	int ret;

	if (req->flags)
		return -EINVAL;
	mutex_lock(&popcorn_lock);
	k = reserve_slot(req, &undo);
	mutex_unlock(&popcorn_lock);
	if (IS_ERR(k))
		return PTR_ERR(k);
#ifdef CONFIG_POPCORN_KMSG_TEST
	if (test_hold_ms)
		msleep(test_hold_ms);
#endif
	ret = -ENOMEM;
	part = memremap(req->mem_start, req->mem_size, MEMREMAP_WB);
	if (part)
		ret = load_images(part, req, &entry);
	if (!ret) {
		ret = -ENOMEM;
		ctrl = memremap(req->mem_start + CTRL_OFFSET, sizeof(*ctrl), MEMREMAP_WB);
		page = memremap(TRAMPOLINE_PAGE, PAGE_SIZE, MEMREMAP_WB);
		if (ctrl && page)
			ret = 0;
	}
	mutex_lock(&popcorn_lock);
	if (ret) {
		unreserve_slot(k, &undo);
		if (ctrl)
			memunmap(ctrl);
		goto unmap;
	}
	if (k->ctrl)
		memunmap(k->ctrl);	/* the slot's last kernel, stopped: its console is gone */
	k->ctrl = ctrl;
	cr3 = build_page_tables(part + PGTABLE_OFFSET, req->mem_start + PGTABLE_OFFSET);
	fill_trampoline(page, req->mem_start + BP_OFFSET, entry, cr3);
	fill_ctrl(k->ctrl, req->mem_start + CTRL_OFFSET, k->id, req);
	k->state = POPCORN_BOOTING;

	pr_info("kernel %u: booting on %u CPU(s) from APIC ID %u, memory %#llx-%#llx\n",
		k->id, k->nr_cpus, k->apic_ids[0], k->mem_start,
		k->mem_start + k->mem_size - 1);
	popcorn_kmsg_set_ipi_target(k->id, k->apic_ids[0]);	/* its boot CPU */
	announce_target(k);
	k->kick_ns = ktime_get_ns();
	k->up_ns = 0;
	k->con_tail = 0;
	k->con_resyncs = 0;
	send_init_sipi(k->apic_ids[0]);
	ret = wait_trampoline(page, k->apic_ids[0]);
	if (ret) {
		stop_cpus(k);
		k->state = POPCORN_FAILED;
	} else {
		k->state = POPCORN_STARTED;
		schedule_delayed_work(&monitor_work, 0);
	}
	req->kernel_id = k->id;
unmap:
	mutex_unlock(&popcorn_lock);
	if (page)
		memunmap(page);
	if (part)
		memunmap(part);
	return ret;
}

static int popcorn_stop_kernel(const struct popcorn_stop *req)
{
	struct popcorn_kernel *k;
	int ret = 0;

	if (req->flags)
		return -EINVAL;
	mutex_lock(&popcorn_lock);
	if (!req->kernel_id || req->kernel_id > nr_kernels) {
		pr_err("no kernel %u\n", req->kernel_id);
		ret = -ENOENT;
		goto unlock;
	}
	k = &kernels[req->kernel_id - 1];
	if (k->state == POPCORN_RESERVED) {
		pr_err("kernel %u is being loaded: stop it once it runs\n", k->id);
		ret = -EBUSY;
		goto unlock;
	}
	if (!kernel_holds(k)) {
		pr_err("kernel %u is %s already\n", k->id, state_names[k->state]);
		ret = -EALREADY;
		goto unlock;
	}
	popcorn_kmsg_kernel_stopped(k->id);	/* peers see it down before it goes */
	stop_cpus(k);
	popcorn_kmsg_kernel_stopped(k->id);	/* and if it said it runs meanwhile */
	k->state = POPCORN_STOPPED;
	pr_info("kernel %u: stopped; its CPUs and memory can boot a new kernel\n", k->id);
unlock:
	mutex_unlock(&popcorn_lock);
	return ret;
}

/* Copies new console bytes of one secondary; its head index is untrusted. */
static int popcorn_read_console(struct popcorn_console *con)
{
	struct popcorn_kernel *k;
	u32 head, avail, i;
	u8 *bounce;
	int ret = 0;

	bounce = kmalloc(POPCORN_CONSOLE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	mutex_lock(&popcorn_lock);
	if (!con->kernel_id || con->kernel_id > nr_kernels ||
	    !kernels[con->kernel_id - 1].ctrl) {
		ret = -ENOENT;
		goto unlock;
	}
	k = &kernels[con->kernel_id - 1];
	head = READ_ONCE(k->ctrl->con_head);
	smp_rmb();	/* the bytes after the head; pairs with the secondary's smp_wmb() */
	avail = head - k->con_tail;
	if (avail > POPCORN_CONSOLE_SIZE) {
		/* Impossible for an honest writer: skip to its head, and count it. */
		k->con_tail = head;
		k->con_resyncs++;
		avail = 0;
	}
	avail = min(avail, con->len);
	avail = min_t(u32, avail, POPCORN_CONSOLE_SIZE);
	for (i = 0; i < avail; i++)
		bounce[i] = READ_ONCE(k->ctrl->con_buf[(k->con_tail + i) &
						       (POPCORN_CONSOLE_SIZE - 1)]);
	k->con_tail += avail;
	WRITE_ONCE(k->ctrl->con_tail, k->con_tail);
	con->len = avail;
	con->resyncs = k->con_resyncs;
unlock:
	mutex_unlock(&popcorn_lock);
	if (!ret && copy_to_user(u64_to_user_ptr(con->buf), bounce, con->len))
		ret = -EFAULT;
	kfree(bounce);
	return ret;
}

static long popcorn_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct popcorn_console con;
	struct popcorn_stop stop;
	struct popcorn_boot req;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case POPCORN_IOC_BOOT:
		if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
			return -EFAULT;
		ret = popcorn_boot_kernel(&req);
		if (!ret && copy_to_user((void __user *)arg, &req, sizeof(req)))
			return -EFAULT;
		return ret;
	case POPCORN_IOC_CONSOLE:
		if (copy_from_user(&con, (void __user *)arg, sizeof(con)))
			return -EFAULT;
		ret = popcorn_read_console(&con);
		if (!ret && copy_to_user((void __user *)arg, &con, sizeof(con)))
			return -EFAULT;
		return ret;
	case POPCORN_IOC_STOP:
		if (copy_from_user(&stop, (void __user *)arg, sizeof(stop)))
			return -EFAULT;
		return popcorn_stop_kernel(&stop);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations popcorn_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= popcorn_ioctl,
};

static struct miscdevice popcorn_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "popcorn",
	.fops	= &popcorn_fops,
};

/* What the secondary says of itself, bounded: its fields are not trusted. */
static const char *kernel_state(const struct popcorn_kernel *k)
{
	if (k->state != POPCORN_STARTED || !k->ctrl)
		return state_names[k->state];
	if (READ_ONCE(k->ctrl->panicked))
		return "panicked";
	switch (READ_ONCE(k->ctrl->state)) {
	case POPCORN_CTRL_LOADED:
		return "booting";
	case POPCORN_CTRL_RUNNING:
		return "running";
	case POPCORN_CTRL_STOPPED:
		return "halted";	/* by itself; it holds its CPUs until stopped */
	case POPCORN_CTRL_PANICKED:
		return "panicked";
	default:
		return "invalid";
	}
}

/* Notes, on the primary's clock, when each new kernel's first heartbeat arrives. */
static void popcorn_monitor(struct work_struct *work)
{
	bool waiting = false;
	unsigned int i;

	mutex_lock(&popcorn_lock);
	for (i = 0; i < nr_kernels; i++) {
		struct popcorn_kernel *k = &kernels[i];

		if (k->state != POPCORN_STARTED || k->up_ns)
			continue;
		if (READ_ONCE(k->ctrl->heartbeat)) {
			k->up_ns = ktime_get_ns();
			pr_info("kernel %u: up %llu us after the kick\n", k->id,
				(k->up_ns - k->kick_ns) / 1000);
		} else {
			waiting = true;
		}
	}
	mutex_unlock(&popcorn_lock);
	if (waiting)
		schedule_delayed_work(&monitor_work, msecs_to_jiffies(MONITOR_MS));
}

static int popcorn_show(struct seq_file *m, void *v)
{
	unsigned int i;

	mutex_lock(&popcorn_lock);
	seq_puts(m, "id apic_ids mem_start mem_end low_window state kick_to_up_us heartbeat\n");
	for (i = 0; i < nr_kernels; i++) {
		const struct popcorn_kernel *k = &kernels[i];
		unsigned int j;

		seq_printf(m, "%u ", k->id);
		for (j = 0; j < k->nr_cpus; j++)
			seq_printf(m, "%s%u", j ? "," : "", k->apic_ids[j]);
		seq_printf(m, " %#llx %#llx %#x %s %lld %llu\n",
			   k->mem_start, k->mem_start + k->mem_size - 1, k->low_window,
			   kernel_state(k),
			   k->up_ns ? (s64)((k->up_ns - k->kick_ns) / 1000) : -1LL,
			   k->ctrl ? READ_ONCE(k->ctrl->heartbeat) : 0);
	}
	mutex_unlock(&popcorn_lock);
	return 0;
}

static int __init popcorn_init(void)
{
	int ret;

	primary_trampoline_size = real_mode_blob_end - real_mode_blob;
	ret = write_park_page();
	if (ret)
		return ret;
	ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "x86/popcorn:lent",
					popcorn_cpu_prepare, NULL);
	if (ret < 0)
		return ret;
	if (!proc_create_single("popcorn", 0400, NULL, popcorn_show))
		return -ENOMEM;
	return misc_register(&popcorn_dev);
}
device_initcall(popcorn_init);
