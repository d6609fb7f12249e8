/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Popcorn secondary-kernel trampoline.
 *
 * A CPU woken by INIT/SIPI starts here in real mode, at offset 0 of a page below
 * 1 MiB (CS = page >> 4). The primary copies this blob to that page and fills in the
 * data block at its end: a GDT, the far-jump targets, the identity page tables' root,
 * and where the secondary's boot_params and 64-bit kernel entry are. The code walks
 * real mode -> protected mode -> long mode and jumps to the entry with RSI pointing
 * at boot_params, as Documentation/arch/x86/boot.rst asks of a 64-bit boot loader.
 * It marks its progress in pt_stage, which the primary reads when a secondary does
 * not come up.
 */
#include <linux/linkage.h>
#include <asm/processor-flags.h>
#include <asm/msr-index.h>

#define OFF(sym)	((sym) - popcorn_trampoline_start)

	.section ".rodata", "a"
	.balign	16
	.code16
SYM_DATA_START(popcorn_trampoline_start)
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds
	/* The page's linear address, for the 32-bit code: there is no stack for call/pop. */
	movzwl	%ax, %ebx
	shll	$4, %ebx
	movl	$1, OFF(pt_stage)
	lgdtl	OFF(pt_gdt_desc)
	/*
	 * A clean CR0, as the kernel's own trampoline loads: INIT leaves CD and NW set,
	 * and the decompressor would run with the caches off.
	 */
	movl	$(CR0_STATE & ~X86_CR0_PG), %eax
	movl	%eax, %cr0
	ljmpl	*OFF(pt_jump32)

	.code32
pt_32:
	movl	$0x18, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movl	$2, OFF(pt_stage)(%ebx)
	movl	%cr4, %eax
	orl	$X86_CR4_PAE, %eax
	movl	%eax, %cr4
	movl	OFF(pt_cr3)(%ebx), %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$X86_CR0_PG, %eax
	movl	%eax, %cr0
	ljmpl	*OFF(pt_jump64)(%ebx)

	.code64
pt_64:
	movl	%ebx, %ebx
	movl	$3, OFF(pt_stage)(%rbx)
	movq	OFF(pt_boot_params)(%rbx), %rsi
	movq	OFF(pt_entry)(%rbx), %rax
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	jmpq	*%rax

	/* Filled in by the primary (struct popcorn_trampoline_data in loader.c). */
	.balign	8
	.globl	popcorn_trampoline_data
popcorn_trampoline_data:
pt_gdt:		.quad	0, 0, 0, 0	/* null; 0x08 code32; 0x10 code64; 0x18 data */
pt_gdt_desc:	.word	0
		.long	0
		.word	0
pt_jump32:	.long	0
		.word	0
		.word	0
pt_jump64:	.long	0
		.word	0
		.word	0
pt_cr3:		.quad	0
pt_boot_params:	.quad	0
pt_entry:	.quad	0
pt_stage:	.long	0
		.long	0
SYM_DATA_END_LABEL(popcorn_trampoline_start, SYM_L_GLOBAL, popcorn_trampoline_end)

	/* Offsets of the code labels, for the far jumps. */
SYM_DATA(popcorn_trampoline_32, .long OFF(pt_32))
SYM_DATA(popcorn_trampoline_64, .long OFF(pt_64))
