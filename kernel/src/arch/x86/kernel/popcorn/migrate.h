/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Popcorn multikernel: process migration, what two kernels say to each other.
 *
 * Every message of a migration is one POPCORN_KMSG_MIGRATE message that starts with
 * struct mig_hdr: the migration's id (chosen by the kernel that sends the process)
 * and the step. The process's image (struct mig_image, then its XSAVE area, VMAs and
 * files) goes in IMAGE chunks, its memory in PAGE messages, all of it under credits
 * the destination grants as it consumes (no queue grows without bound). Everything a
 * destination receives is untrusted: migrate_image.c validates the whole image before
 * a task is built from it.
 */
#ifndef _X86_KERNEL_POPCORN_MIGRATE_H
#define _X86_KERNEL_POPCORN_MIGRATE_H

#include <linux/types.h>
#include <asm/user.h>
#include <uapi/linux/popcorn.h>

#define MIG_IMAGE_MAGIC		0x50434d49	/* "PCMI" */
#define MIG_IMAGE_VERSION	1
#define MIG_MAX_VMAS		256
#define MIG_MAX_FILES		16
#define MIG_PATH_MAX		256
#define MIG_XSAVE_MAX		8192
#define MIG_IMAGE_MAX		(64 * 1024)
#define MIG_REASON_MAX		POPCORN_MIGRATE_REASON
#define MIG_CHUNK		4096		/* payload of IMAGE, PAGE and OUTPUT */
#define MIG_WINDOW		32		/* messages in flight before a credit */
#define MIG_CREDIT_EVERY	8
#define MIG_NSIG		64
#define MIG_MAX_FD		64	/* fds below this on /dev/popcorn_kmsg move */

enum mig_op {
	/* Towards the destination. */
	MIG_OP_IMAGE = 1,	/* a chunk of the image at offset */
	MIG_OP_PAGE,		/* one page of memory at addr */
	MIG_OP_DONE,		/* that was all: arg = pages sent */
	MIG_OP_ABORT,		/* the origin gave up before the process ran */
	MIG_OP_SIGNAL,		/* arg = signal for the process */
	MIG_OP_MOVE,		/* arg = kernel the process moves on to */
	MIG_OP_OUTACK,		/* its output up to arg was written at home */
	MIG_OP_COMMIT,		/* answers READY: run it (the origin is its shadow now) */
	/* Towards the origin. */
	MIG_OP_CREDIT,		/* arg = messages consumed so far */
	MIG_OP_READY,		/* built whole, waits for COMMIT: arg = its pid there */
	MIG_OP_FAILED,		/* it will not run: arg = -errno, then a reason */
	MIG_OP_OUTPUT,		/* arg = fd (1 or 2), addr = sequence, then what it wrote */
	MIG_OP_EXIT,		/* arg = its wait status (after READY, always sent) */
	MIG_OP_MOVED,		/* arg = -errno of a MOVE, addr = where it runs now */
};

struct mig_hdr {
	u32 id;
	u16 op;
	u16 pad;
	s64 arg;
	u64 addr;		/* IMAGE: offset; PAGE: user address */
};

struct mig_vma {
	u64 start;
	u64 end;
	u64 pgoff;		/* file mappings: in pages */
	u32 prot;		/* PROT_* */
	u32 flags;		/* MIG_VMA_* */
	s32 file;		/* index into the files, or -1 */
	u32 pad;
};

#define MIG_VMA_GROWSDOWN	0x1
#define MIG_VMA_PAGES		0x2	/* its pages come in PAGE messages */

struct mig_file {
	char path[MIG_PATH_MAX];
	u64 size;
	u8 sha256[32];
};

struct mig_sigaction {
	u64 handler;
	u64 flags;
	u64 restorer;
	u64 mask;
};

/* The process, as it stopped at home: sizes say where the arrays after it start. */
struct mig_image {
	u32 magic;
	u32 version;
	u32 size;		/* of the whole image */
	u32 home;		/* the kernel that holds its shadow */
	s32 home_pid;
	u32 nr_vmas;
	u32 nr_files;
	u32 xsave_size;
	struct user_regs_struct regs;
	u64 blocked;
	struct mig_sigaction action[MIG_NSIG];
	u64 sas_sp;
	u64 sas_size;
	u32 sas_flags;
	u32 personality;
	u32 umask;
	u32 uid, euid, suid, fsuid;
	u32 gid, egid, sgid, fsgid;
	u32 securebits;
	u64 cap_inheritable, cap_permitted, cap_effective, cap_bset, cap_ambient;
	u64 start_code, end_code, start_data, end_data;
	u64 start_brk, brk, start_stack;
	u64 arg_start, arg_end, env_start, env_end;
	u64 vdso;		/* where its vDSO text is */
	u8 vdso_sha256[32];	/* which vDSO that is */
	u64 clear_child_tid;
	u64 robust_list;
	u64 robust_list_len;
	u64 kmsg_fds;		/* fds open on /dev/popcorn_kmsg, opened again there */
	u64 tsc;		/* when it stopped, on the TSC every kernel shares */
	s64 mono_ns;		/* its CLOCK_MONOTONIC then, as it sees it */
	s64 boot_ns;		/* its CLOCK_BOOTTIME then */
	u32 exe;		/* index into the files */
	char comm[16];
	char cwd[MIG_PATH_MAX];
	/* Then: u8 xsave[xsave_size], struct mig_vma[nr_vmas], struct mig_file[nr_files]. */
};

struct mig_layout {
	const u8 *xsave;
	const struct mig_vma *vmas;
	const struct mig_file *files;
};

struct file;

/* migrate_image.c */
struct mig_image *mig_capture(u32 home, pid_t home_pid, char *reason);
bool mig_vma_page_wanted(const struct mig_vma *v, const void *page);
int mig_validate(const struct mig_image *img, u32 size, struct mig_layout *l, char *reason);
int mig_check_files(const struct mig_image *img, const struct mig_layout *l,
		    struct file **open, char *reason);
int mig_build_mm(const struct mig_image *img, const struct mig_layout *l,
		 struct file **open, char *reason);
int mig_align_clocks(const struct mig_image *img, char *reason);
int mig_restore_task(const struct mig_image *img, const struct mig_layout *l, char *reason);
int mig_put_page(const struct mig_image *img, const struct mig_layout *l, u64 addr,
		 const void *data);

#endif /* _X86_KERNEL_POPCORN_MIGRATE_H */
