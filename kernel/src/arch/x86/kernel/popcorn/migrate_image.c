// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: a process's image, taken at home and built again elsewhere.
 *
 * At home, mig_capture() takes the calling task as it stopped: registers, XSAVE area,
 * TLS bases, signal handlers and mask, credentials, working directory and the layout
 * of its address space, or refuses, in one line, what cannot move. At the
 * destination, the image is untrusted: mig_validate() checks all of it before a task
 * is built, and mig_build_mm() and mig_restore_task() then run in the new task
 * itself, which the exec of the same binary gave an address space to replace.
 */
#define pr_fmt(fmt) "popcorn migrate: " fmt

#include <crypto/sha2.h>
#include <linux/binfmts.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/futex.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/namei.h>
#include <linux/personality.h>
#include <linux/ptrace.h>
#include <linux/regset.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/sched/user.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <linux/slab.h>
#include <linux/syscalls.h>
#include <linux/time_namespace.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/fpu/api.h>
#include <asm/fpu/signal.h>
#include <asm/fpu/types.h>
#include <asm/fsgsbase.h>
#include <asm/prctl.h>
#include <asm/proto.h>
#include <asm/segment.h>
#include <asm/tsc.h>
#include <asm/vdso.h>

/* The XSAVE copy helpers live with the FPU code; ptrace's regsets use them too. */
#include "../fpu/internal.h"
#include "../fpu/context.h"
#include "../fpu/legacy.h"
#include "../fpu/xstate.h"
#include "kmsg.h"
#include "migrate.h"

#define REFUSE(reason, ...)	(snprintf(reason, MIG_REASON_MAX, __VA_ARGS__), -EOPNOTSUPP)

#define USER_FLAGS	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF | \
			 X86_EFLAGS_SF | X86_EFLAGS_TF | X86_EFLAGS_DF | X86_EFLAGS_OF | \
			 X86_EFLAGS_RF | X86_EFLAGS_AC | X86_EFLAGS_ID)
#define SA_KNOWN	(SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | \
			 SA_NODEFER | SA_RESETHAND | SA_RESTORER)
#define HASH_CHUNK	(64 * 1024)
#define FILE_SIZE_MAX	(1ULL << 30)
#define CLOCK_NS_MAX	(1LL << 62)

static bool user_addr(u64 a)
{
	return a < TASK_SIZE_MAX;
}

static bool user_range(u64 start, u64 end)
{
	return start <= end && end <= TASK_SIZE_MAX;
}

/* The arrays after the image's fixed part, where its sizes say they are. */
static void layout(const struct mig_image *img, struct mig_layout *l)
{
	l->xsave = (const u8 *)(img + 1);
	l->vmas = (const struct mig_vma *)(l->xsave + img->xsave_size);
	l->files = (const struct mig_file *)(l->vmas + img->nr_vmas);
}

static int hash_file(struct file *f, u64 *size, u8 *digest)
{
	struct sha256_state s;
	loff_t pos = 0;
	ssize_t n;
	void *buf;

	*size = i_size_read(file_inode(f));
	if (!S_ISREG(file_inode(f)->i_mode) || *size > FILE_SIZE_MAX)
		return -EINVAL;
	buf = kvmalloc(HASH_CHUNK, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	sha256_init(&s);
	while ((n = kernel_read(f, buf, HASH_CHUNK, &pos)) > 0) {
		sha256_update(&s, buf, n);
		cond_resched();
	}
	kvfree(buf);
	if (n < 0 || pos != *size)
		return n < 0 ? n : -EIO;
	sha256_final(&s, digest);
	return 0;
}

/* The image's index of this file, added if it is new there; -1 when the table is full. */
static int file_index(struct mig_file *files, struct file **open, u32 *nr, struct file *f,
		      char *reason)
{
	char *p, *buf = kmalloc(MIG_PATH_MAX, GFP_KERNEL);
	u32 i;

	if (!buf)
		return -ENOMEM;
	p = d_path(&f->f_path, buf, MIG_PATH_MAX);
	if (IS_ERR(p)) {
		kfree(buf);
		return REFUSE(reason, "a mapped file's path is too long");
	}
	for (i = 0; i < *nr; i++)
		if (!strcmp(files[i].path, p))
			break;
	if (i == *nr) {
		if (*nr == MIG_MAX_FILES) {
			kfree(buf);
			return REFUSE(reason, "more than %d mapped files", MIG_MAX_FILES);
		}
		strscpy(files[i].path, p, MIG_PATH_MAX);
		open[i] = get_file(f);
		(*nr)++;
	}
	kfree(buf);
	return i;
}

/* Files other than 0, 1 and 2 stay, but for the messaging device every kernel has. */
static int other_fd(const void *kmsg_fds, struct file *f, unsigned int fd)
{
	if (fd < MIG_MAX_FD && kmsg_is_device(f)) {
		*(u64 *)kmsg_fds |= BIT_ULL(fd);
		return 0;
	}
	return fd + 1;
}

/* What makes a process impossible to move, in one line; 0 if nothing does. */
static int refusal(struct task_struct *t, u64 *kmsg_fds, char *reason)
{
	struct signal_struct *sig = t->signal;
	int fd;

	if (get_nr_threads(t) != 1 || refcount_read(&t->sighand->count) != 1)
		return REFUSE(reason, "it has more than one thread");
	if (t->vfork_done || atomic_read(&t->mm->mm_users) > 1)
		return REFUSE(reason, "its address space is shared");
	if (t->ptrace)
		return REFUSE(reason, "it is traced");
	if (!list_empty(&t->children))
		return REFUSE(reason, "it has child processes (they could not wait for it)");
#ifdef CONFIG_MODIFY_LDT_SYSCALL
	if (READ_ONCE(t->mm->context.ldt))
		return REFUSE(reason, "it has a local descriptor table");
#endif
#ifdef CONFIG_RSEQ
	if (t->rseq)
		return REFUSE(reason, "it has restartable sequences registered");
#endif
#ifdef CONFIG_SECCOMP
	if (t->seccomp.mode != SECCOMP_MODE_DISABLED)
		return REFUSE(reason, "it has a seccomp filter");
#endif
	if (hrtimer_active(&sig->real_timer) || sig->it[0].expires || sig->it[1].expires)
		return REFUSE(reason, "it has an interval timer armed");
#ifdef CONFIG_POSIX_TIMERS
	if (!hlist_empty(&sig->posix_timers))
		return REFUSE(reason, "it has POSIX timers");
#endif
	if (current_cred()->group_info->ngroups)
		return REFUSE(reason, "it has supplementary groups");
	*kmsg_fds = 0;
	fd = iterate_fd(t->files, 3, other_fd, kmsg_fds);
	if (fd)
		return REFUSE(reason, "it has file descriptor %d open (only 0, 1 and 2 move)",
			      fd - 1);
	return 0;
}

static void capture_regs(struct mig_image *img)
{
	struct pt_regs *r = current_pt_regs();
	struct user_regs_struct *u = &img->regs;

	u->r15 = r->r15; u->r14 = r->r14; u->r13 = r->r13; u->r12 = r->r12;
	u->bp = r->bp; u->bx = r->bx; u->r11 = r->r11; u->r10 = r->r10;
	u->r9 = r->r9; u->r8 = r->r8; u->ax = r->ax; u->cx = r->cx;
	u->dx = r->dx; u->si = r->si; u->di = r->di; u->orig_ax = r->orig_ax;
	u->ip = r->ip; u->cs = r->cs; u->flags = r->flags; u->sp = r->sp;
	u->ss = r->ss;
	u->fs_base = x86_fsbase_read_task(current);
	u->gs_base = x86_gsbase_read_task(current);
	savesegment(ds, u->ds);
	savesegment(es, u->es);
	savesegment(fs, u->fs);
	savesegment(gs, u->gs);
}

static void capture_task(struct mig_image *img)
{
	const struct cred *c = current_cred();
	struct k_sigaction *ka;
	int i;

	spin_lock_irq(&current->sighand->siglock);
	for (i = 0; i < MIG_NSIG; i++) {
		ka = &current->sighand->action[i];
		img->action[i].handler = (unsigned long)ka->sa.sa_handler;
		img->action[i].flags = ka->sa.sa_flags;
		img->action[i].restorer = (unsigned long)ka->sa.sa_restorer;
		img->action[i].mask = ka->sa.sa_mask.sig[0];
	}
	img->blocked = current->blocked.sig[0];
	spin_unlock_irq(&current->sighand->siglock);
	img->sas_sp = current->sas_ss_sp;
	img->sas_size = current->sas_ss_size;
	img->sas_flags = current->sas_ss_flags;
	img->personality = current->personality;
	img->umask = current_umask();
	img->uid = from_kuid(&init_user_ns, c->uid);
	img->euid = from_kuid(&init_user_ns, c->euid);
	img->suid = from_kuid(&init_user_ns, c->suid);
	img->fsuid = from_kuid(&init_user_ns, c->fsuid);
	img->gid = from_kgid(&init_user_ns, c->gid);
	img->egid = from_kgid(&init_user_ns, c->egid);
	img->sgid = from_kgid(&init_user_ns, c->sgid);
	img->fsgid = from_kgid(&init_user_ns, c->fsgid);
	img->securebits = c->securebits;
	img->cap_inheritable = c->cap_inheritable.val;
	img->cap_permitted = c->cap_permitted.val;
	img->cap_effective = c->cap_effective.val;
	img->cap_bset = c->cap_bset.val;
	img->cap_ambient = c->cap_ambient.val;
	img->clear_child_tid = (unsigned long)current->clear_child_tid;
	img->robust_list = (unsigned long)current->robust_list;
	img->robust_list_len = sizeof(*current->robust_list);
	get_task_comm(img->comm, current);
}

/* Its clocks as it sees them (in its time namespace), and the TSC at that moment. */
static void capture_clocks(struct mig_image *img)
{
	struct timespec64 mono, boot;

	ktime_get_ts64(&mono);
	img->tsc = rdtsc_ordered();
	ktime_get_boottime_ts64(&boot);
	timens_add_monotonic(&mono);
	timens_add_boottime(&boot);
	img->mono_ns = timespec64_to_ns(&mono);
	img->boot_ns = timespec64_to_ns(&boot);
}

static int capture_cwd(struct mig_image *img, char *reason)
{
	char *p, *buf = kmalloc(MIG_PATH_MAX, GFP_KERNEL);
	struct path pwd;

	if (!buf)
		return -ENOMEM;
	get_fs_pwd(current->fs, &pwd);
	p = d_path(&pwd, buf, MIG_PATH_MAX);
	path_put(&pwd);
	if (!IS_ERR(p))
		strscpy(img->cwd, p, MIG_PATH_MAX);
	kfree(buf);
	return IS_ERR(p) ? REFUSE(reason, "its working directory's path is too long") : 0;
}

/* Its C library keeps pointers into the vDSO: both kernels must have the same one. */
static void vdso_digest(u8 *digest)
{
	sha256(vdso_image_64.data, vdso_image_64.size, digest);
}

static bool is_vdso(struct mm_struct *mm, struct vm_area_struct *vma)
{
	unsigned long text = (unsigned long)mm->context.vdso;

	return !vma->vm_file && (vma->vm_start == text || vma->vm_end == text);
}

static u32 vma_prot(struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_READ ? PROT_READ : 0) |
	       (vma->vm_flags & VM_WRITE ? PROT_WRITE : 0) |
	       (vma->vm_flags & VM_EXEC ? PROT_EXEC : 0);
}

/* The VMAs and the mm's fields, under the mmap lock; mapped files get an index. */
static int capture_mm(struct mig_image *img, struct mig_vma *vmas, struct mig_file *files,
		      struct file **open, char *reason)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	struct mig_vma *v;
	int ret = 0;

	vma_iter_init(&vmi, mm, 0);
	mmap_read_lock(mm);
	img->start_code = mm->start_code;
	img->end_code = mm->end_code;
	img->start_data = mm->start_data;
	img->end_data = mm->end_data;
	img->start_brk = mm->start_brk;
	img->brk = mm->brk;
	img->start_stack = mm->start_stack;
	img->arg_start = mm->arg_start;
	img->arg_end = mm->arg_end;
	img->env_start = mm->env_start;
	img->env_end = mm->env_end;
	img->vdso = (unsigned long)mm->context.vdso;
	if (!mm->exe_file) {
		ret = REFUSE(reason, "it has no executable file");
		goto out;
	}
	ret = file_index(files, open, &img->nr_files, mm->exe_file, reason);
	if (ret < 0)
		goto out;
	img->exe = ret;
	ret = 0;
	for_each_vma(vmi, vma) {
		if (is_vdso(mm, vma))
			continue;
		if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE)) {
			ret = REFUSE(reason, "it has a shared mapping at %#lx", vma->vm_start);
			break;
		}
		if (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP | VM_HUGETLB)) {
			ret = REFUSE(reason, "it has a device or hugetlb mapping at %#lx",
				     vma->vm_start);
			break;
		}
		if (img->nr_vmas == MIG_MAX_VMAS) {
			ret = REFUSE(reason, "it has more than %d mappings", MIG_MAX_VMAS);
			break;
		}
		v = &vmas[img->nr_vmas++];
		v->start = vma->vm_start;
		v->end = vma->vm_end;
		v->prot = vma_prot(vma);
		v->file = -1;
		/* Pages of a file mapping move only if some were written (copied on write). */
		v->flags = (vma->vm_flags & VM_GROWSDOWN ? MIG_VMA_GROWSDOWN : 0) |
			   (!vma->vm_file || vma->anon_vma ? MIG_VMA_PAGES : 0);
		if (vma->vm_file) {
			ret = file_index(files, open, &img->nr_files, vma->vm_file, reason);
			if (ret < 0)
				break;
			v->file = ret;
			v->pgoff = vma->vm_pgoff;
			ret = 0;
		}
	}
out:
	mmap_read_unlock(mm);
	return ret;
}

/*
 * The calling task's image, or an error with the reason it cannot move. The caller has
 * set its registers as the destination must resume them.
 */
struct mig_image *mig_capture(u32 home, pid_t home_pid, char *reason)
{
	struct file *open[MIG_MAX_FILES] = {};
	struct mig_vma *vmas = NULL;
	struct mig_file *files = NULL;
	struct mig_image *img = NULL;
	u32 xsave_size = fpu_user_cfg.max_size;
	struct membuf mb;
	u64 kmsg_fds;
	int ret, i;
	u8 *p;

	ret = refusal(current, &kmsg_fds, reason);
	if (ret)
		goto fail;
	ret = -ENOMEM;
	if (xsave_size > MIG_XSAVE_MAX) {
		ret = REFUSE(reason, "this CPU's XSAVE area is larger than %d", MIG_XSAVE_MAX);
		goto fail;
	}
	vmas = kvcalloc(MIG_MAX_VMAS, sizeof(*vmas), GFP_KERNEL);
	files = kvcalloc(MIG_MAX_FILES, sizeof(*files), GFP_KERNEL);
	img = kvzalloc(MIG_IMAGE_MAX, GFP_KERNEL);
	if (!vmas || !files || !img)
		goto fail;
	img->magic = MIG_IMAGE_MAGIC;
	img->version = MIG_IMAGE_VERSION;
	img->home = home;
	img->home_pid = home_pid;
	img->xsave_size = xsave_size;
	img->kmsg_fds = kmsg_fds;
	vdso_digest(img->vdso_sha256);
	capture_regs(img);
	capture_task(img);
	ret = capture_cwd(img, reason);
	if (!ret)
		ret = capture_mm(img, vmas, files, open, reason);
	for (i = 0; !ret && i < img->nr_files; i++) {
		ret = hash_file(open[i], &files[i].size, files[i].sha256);
		if (ret)
			ret = REFUSE(reason, "its file %s cannot be read whole", files[i].path);
	}
	if (ret)
		goto fail;

	p = (u8 *)(img + 1);
	fpu_sync_fpstate(&current->thread.fpu);
	mb = (struct membuf){ .p = p, .left = xsave_size };
	copy_xstate_to_uabi_buf(mb, current, XSTATE_COPY_XSAVE);
	p += xsave_size;
	memcpy(p, vmas, img->nr_vmas * sizeof(*vmas));
	p += img->nr_vmas * sizeof(*vmas);
	memcpy(p, files, img->nr_files * sizeof(*files));
	p += img->nr_files * sizeof(*files);
	img->size = p - (u8 *)img;
	capture_clocks(img);
	goto out;
fail:
	if (ret == -ENOMEM)
		snprintf(reason, MIG_REASON_MAX, "out of memory at home");
	kvfree(img);
	img = ERR_PTR(ret);
out:
	for (i = 0; i < MIG_MAX_FILES; i++)
		if (open[i])
			fput(open[i]);
	kvfree(vmas);
	kvfree(files);
	return img;
}

/* An all-zero page of an anonymous mapping is what the destination has anyway. */
bool mig_vma_page_wanted(const struct mig_vma *v, const void *page)
{
	return v->file >= 0 || memchr_inv(page, 0, PAGE_SIZE);
}

static bool terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static int validate_regs(const struct user_regs_struct *r, char *reason)
{
	if (!user_addr(r->ip) || !user_addr(r->sp) || !user_addr(r->fs_base) ||
	    !user_addr(r->gs_base))
		return REFUSE(reason, "an address in its registers is not a user address");
	if (r->cs != __USER_CS || r->ss != __USER_DS || r->ds || r->es || r->fs || r->gs)
		return REFUSE(reason, "its segment selectors are not the 64-bit user ones");
	return 0;
}

static int validate_xsave(const struct mig_image *img, const u8 *xsave, char *reason)
{
	const struct xregs_state *x = (const struct xregs_state *)xsave;

	if (img->xsave_size != fpu_user_cfg.max_size)
		return REFUSE(reason, "its XSAVE area is %u bytes, %u here", img->xsave_size,
			      fpu_user_cfg.max_size);
	if (x->header.xfeatures & ~fpu_user_cfg.max_features || x->header.xcomp_bv ||
	    memchr_inv(x->header.reserved, 0, sizeof(x->header.reserved)))
		return REFUSE(reason, "its XSAVE header does not fit this kernel's XCR0");
	if (x->i387.mxcsr & ~mxcsr_feature_mask)
		return REFUSE(reason, "its MXCSR has reserved bits set");
	return 0;
}

static int validate_task(const struct mig_image *img, char *reason)
{
	const struct mig_sigaction *a;
	u32 ids[] = { img->uid, img->euid, img->suid, img->fsuid,
		      img->gid, img->egid, img->sgid, img->fsgid };
	u64 caps = CAP_VALID_MASK;
	int i;

	for (i = 0; i < MIG_NSIG; i++) {
		a = &img->action[i];
		if ((a->handler > 1 && !user_addr(a->handler)) || !user_addr(a->restorer) ||
		    a->flags & ~SA_KNOWN)
			return REFUSE(reason, "its handler of signal %d is not valid", i + 1);
		if ((i + 1 == SIGKILL || i + 1 == SIGSTOP) && a->handler)
			return REFUSE(reason, "it handles signal %d", i + 1);
	}
	if (img->sas_flags & ~(SS_ONSTACK | SS_DISABLE | SS_AUTODISARM) ||
	    !user_range(img->sas_sp, img->sas_sp + img->sas_size))
		return REFUSE(reason, "its alternate signal stack is not valid");
	if (img->personality & ~ADDR_NO_RANDOMIZE)
		return REFUSE(reason, "its personality %#x is not Linux's", img->personality);
	if (img->umask & ~0777)
		return REFUSE(reason, "its umask is not valid");
	for (i = 0; i < ARRAY_SIZE(ids); i++)
		if (ids[i] == (u32)-1)
			return REFUSE(reason, "one of its user or group ids is not valid");
	if ((img->cap_inheritable | img->cap_permitted | img->cap_effective | img->cap_bset |
	     img->cap_ambient) & ~caps || img->cap_effective & ~img->cap_permitted ||
	    img->cap_ambient & ~(img->cap_permitted & img->cap_inheritable) ||
	    img->securebits & ~SECURE_ALL_BITS & ~SECURE_ALL_LOCKS)
		return REFUSE(reason, "its capabilities are not valid");
	if (img->mono_ns < 0 || img->boot_ns < 0 || img->mono_ns > CLOCK_NS_MAX ||
	    img->boot_ns > CLOCK_NS_MAX)
		return REFUSE(reason, "its clocks are not valid");
	if (img->kmsg_fds & 0x7)
		return REFUSE(reason, "its standard files are not its own");
	if (img->robust_list_len != sizeof(struct robust_list_head) ||
	    !user_addr(img->robust_list) || !user_addr(img->clear_child_tid))
		return REFUSE(reason, "its robust futex list or tid address is not valid");
	return 0;
}

static int validate_mm(const struct mig_image *img, const struct mig_layout *l, char *reason)
{
	u64 vvar = img->vdso + vdso_image_64.sym_vvar_start;
	u64 vdso_end = img->vdso + vdso_image_64.size;
	u8 digest[SHA256_DIGEST_SIZE];
	const struct mig_vma *v;
	u64 prev_end = 0;
	u32 i;

	vdso_digest(digest);
	if (memcmp(digest, img->vdso_sha256, sizeof(digest)))
		return REFUSE(reason, "its vDSO is not this kernel's");
	if (!user_range(img->start_code, img->end_code) ||
	    !user_range(img->start_data, img->end_data) ||
	    !user_range(img->start_brk, img->brk) || !user_addr(img->start_stack) ||
	    !user_range(img->arg_start, img->arg_end) || !user_range(img->env_start, img->env_end))
		return REFUSE(reason, "its memory layout is not valid");
	if (!PAGE_ALIGNED(img->vdso) || img->vdso < -vdso_image_64.sym_vvar_start ||
	    !user_range(vvar, vdso_end))
		return REFUSE(reason, "its vDSO address is not valid");
	for (i = 0; i < img->nr_vmas; i++) {
		v = &l->vmas[i];
		if (!PAGE_ALIGNED(v->start) || !PAGE_ALIGNED(v->end) || v->start >= v->end ||
		    !user_range(v->start, v->end) || v->start < prev_end ||
		    (v->start < vdso_end && v->end > vvar))
			return REFUSE(reason, "its mapping %u is not valid", i);
		if (v->prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC) ||
		    v->flags & ~(MIG_VMA_GROWSDOWN | MIG_VMA_PAGES) || v->pad ||
		    (v->file != -1 && (v->file < 0 || v->file >= img->nr_files)) ||
		    (v->file < 0 && !(v->flags & MIG_VMA_PAGES)) ||
		    (v->file >= 0 && v->pgoff > (FILE_SIZE_MAX >> PAGE_SHIFT)))
			return REFUSE(reason, "its mapping %u is not valid", i);
		prev_end = v->end;
	}
	for (i = 0; i < img->nr_files; i++)
		if (!terminated(l->files[i].path, MIG_PATH_MAX) || l->files[i].path[0] != '/' ||
		    l->files[i].size > FILE_SIZE_MAX)
			return REFUSE(reason, "its file %u is not valid", i);
	return 0;
}

/* The whole image, before anything is built from it. */
int mig_validate(const struct mig_image *img, u32 size, struct mig_layout *l, char *reason)
{
	u64 need;
	int ret;

	if (size < sizeof(*img) || img->size != size || img->magic != MIG_IMAGE_MAGIC ||
	    img->version != MIG_IMAGE_VERSION)
		return REFUSE(reason, "its image is not a version %d image", MIG_IMAGE_VERSION);
	if (img->nr_vmas > MIG_MAX_VMAS || img->nr_files > MIG_MAX_FILES ||
	    img->xsave_size > MIG_XSAVE_MAX || !img->nr_files || img->exe >= img->nr_files)
		return REFUSE(reason, "its image's counts are out of bounds");
	need = sizeof(*img) + img->xsave_size + (u64)img->nr_vmas * sizeof(struct mig_vma) +
	       (u64)img->nr_files * sizeof(struct mig_file);
	if (need != size)
		return REFUSE(reason, "its image is %u bytes, its counts say %llu", size, need);
	if (!terminated(img->comm, sizeof(img->comm)) || !terminated(img->cwd, MIG_PATH_MAX) ||
	    img->cwd[0] != '/')
		return REFUSE(reason, "its name or working directory is not valid");
	layout(img, l);
	ret = validate_regs(&img->regs, reason);
	if (!ret)
		ret = validate_xsave(img, l->xsave, reason);
	if (!ret)
		ret = validate_task(img, reason);
	if (!ret)
		ret = validate_mm(img, l, reason);
	return ret;
}

/*
 * A path the peer named, opened only if it is a regular file (a FIFO would block, a
 * device might act on open), and the file that was looked at.
 */
static int open_regular(const char *name, struct file **filp)
{
	struct path path;
	struct file *f;
	int ret;

	*filp = NULL;
	ret = kern_path(name, 0, &path);
	if (ret)
		return ret;
	if (!d_is_reg(path.dentry)) {
		path_put(&path);
		return -EINVAL;
	}
	f = dentry_open(&path, O_RDONLY | O_LARGEFILE | O_NOFOLLOW | O_NONBLOCK,
			current_cred());
	path_put(&path);
	if (IS_ERR(f))
		return PTR_ERR(f);
	*filp = f;
	return 0;
}

/* Each mapped file is here, at the same path, with the same contents. */
int mig_check_files(const struct mig_image *img, const struct mig_layout *l,
		    struct file **open, char *reason)
{
	u8 digest[SHA256_DIGEST_SIZE];
	u64 size;
	u32 i;
	int ret;

	for (i = 0; i < img->nr_files; i++) {
		ret = open_regular(l->files[i].path, &open[i]);
		if (ret)
			return REFUSE(reason, "its file %s is not a file here (%d)",
				      l->files[i].path, ret);
		ret = hash_file(open[i], &size, digest);
		if (ret || size != l->files[i].size ||
		    memcmp(digest, l->files[i].sha256, sizeof(digest)))
			return REFUSE(reason, "its file %s differs here", l->files[i].path);
	}
	return 0;
}

/* In the new task, after the exec of its binary: its address space, as it was. */
int mig_build_mm(const struct mig_image *img, const struct mig_layout *l,
		 struct file **open, char *reason)
{
	struct mm_struct *mm = current->mm;
	const struct mig_vma *v;
	unsigned long addr, flags;
	u32 i;
	int ret;

	ret = vm_munmap(0, TASK_SIZE_MAX);
	if (ret)
		return REFUSE(reason, "its exec's mappings cannot be removed (%d)", ret);
	ret = map_vdso_once(&vdso_image_64, img->vdso + vdso_image_64.sym_vvar_start);
	if (!ret && (unsigned long)mm->context.vdso != img->vdso)
		ret = -EEXIST;	/* the address is a hint to map_vdso() */
	if (ret)
		return REFUSE(reason, "its vDSO cannot be mapped at %#llx (%d)", img->vdso, ret);
	for (i = 0; i < img->nr_vmas; i++) {
		v = &l->vmas[i];
		flags = MAP_PRIVATE | MAP_FIXED_NOREPLACE |
			(v->file < 0 ? MAP_ANONYMOUS : 0) |
			(v->flags & MIG_VMA_GROWSDOWN ? MAP_GROWSDOWN : 0);
		addr = vm_mmap(v->file < 0 ? NULL : open[v->file], v->start, v->end - v->start,
			       v->prot, flags, v->file < 0 ? 0 : v->pgoff << PAGE_SHIFT);
		if (addr != v->start) {
			ret = IS_ERR_VALUE(addr) ? (int)addr : -EEXIST;
			snprintf(reason, MIG_REASON_MAX, "%s for its mapping at %#llx-%#llx (%d)",
				 ret == -ENOMEM ? "out of memory here" : "no room", v->start,
				 v->end, ret);
			return ret;
		}
	}
	mmap_write_lock(mm);
	mm->start_code = img->start_code;
	mm->end_code = img->end_code;
	mm->start_data = img->start_data;
	mm->end_data = img->end_data;
	mm->start_brk = img->start_brk;
	mm->brk = img->brk;
	mm->start_stack = img->start_stack;
	mm->arg_start = img->arg_start;
	mm->arg_end = img->arg_end;
	mm->env_start = img->env_start;
	mm->env_end = img->env_end;
	mmap_write_unlock(mm);
	return 0;
}

static const struct mig_vma *find_vma_of(const struct mig_image *img,
					 const struct mig_layout *l, u64 addr)
{
	u32 lo = 0, hi = img->nr_vmas;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (addr < l->vmas[mid].start)
			hi = mid;
		else if (addr >= l->vmas[mid].end)
			lo = mid + 1;
		else
			return &l->vmas[mid];
	}
	return NULL;
}

/* One page of its memory, into the new task's own address space. */
int mig_put_page(const struct mig_image *img, const struct mig_layout *l, u64 addr,
		 const void *data)
{
	const struct mig_vma *v = find_vma_of(img, l, addr);

	if (!PAGE_ALIGNED(addr) || !v || !(v->flags & MIG_VMA_PAGES))
		return -EINVAL;
	if ((v->prot & PROT_WRITE) && !copy_to_user((void __user *)addr, data, PAGE_SIZE))
		return 0;
	/* Not writable: as a debugger writes, copying the page on write. */
	if (access_process_vm(current, addr, (void *)data, PAGE_SIZE,
			      FOLL_FORCE | FOLL_WRITE) != PAGE_SIZE)
		return -EFAULT;
	return 0;
}

/*
 * Before its exec: a time namespace of its own whose offsets make CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME go on from where they were at home, plus the time the move took on
 * the shared TSC. (CLOCK_REALTIME needs nothing: a secondary's time of day is the
 * primary's, carried by the same TSC.)
 */
int mig_align_clocks(const struct mig_image *img, char *reason)
{
	struct proc_timens_offset off[2] = {
		{ .clockid = CLOCK_MONOTONIC }, { .clockid = CLOCK_BOOTTIME },
	};
	struct timespec64 mono, boot;
	u64 tsc = rdtsc_ordered();
	s64 elapsed = 0;
	struct file *f;
	int ret;

	if (tsc > img->tsc && tsc_khz)
		elapsed = mul_u64_u32_div(tsc - img->tsc, NSEC_PER_MSEC, tsc_khz);
	ktime_get_ts64(&mono);
	ktime_get_boottime_ts64(&boot);
	off[0].val = ns_to_timespec64(img->mono_ns + elapsed - timespec64_to_ns(&mono));
	off[1].val = ns_to_timespec64(img->boot_ns + elapsed - timespec64_to_ns(&boot));
	ret = ksys_unshare(CLONE_NEWTIME);
	if (ret)
		return REFUSE(reason, "no time namespace for its clocks (%d)", ret);
	/* Its /proc file, as a writer of the offsets would have it open: the permission. */
	f = filp_open("/proc/self/timens_offsets", O_WRONLY, 0);
	if (IS_ERR(f))
		return REFUSE(reason, "no /proc here for its clocks (%ld)", PTR_ERR(f));
	ret = proc_timens_set_offset(f, current, off, ARRAY_SIZE(off));
	fput(f);
	return ret ? REFUSE(reason, "its clock offsets were refused (%d)", ret) : 0;
}

static void restore_regs(const struct user_regs_struct *u)
{
	struct pt_regs *r = current_pt_regs();

	r->r15 = u->r15; r->r14 = u->r14; r->r13 = u->r13; r->r12 = u->r12;
	r->bp = u->bp; r->bx = u->bx; r->r11 = u->r11; r->r10 = u->r10;
	r->r9 = u->r9; r->r8 = u->r8; r->ax = u->ax; r->cx = u->cx;
	r->dx = u->dx; r->si = u->si; r->di = u->di;
	r->orig_ax = -1;	/* no system call to restart on the way out */
	r->ip = u->ip;
	r->sp = u->sp;
	r->cs = __USER_CS;
	r->ss = __USER_DS;
	r->flags = (u->flags & USER_FLAGS) | X86_EFLAGS_IF | X86_EFLAGS_FIXED;
}

static int restore_fpu(const u8 *xsave, char *reason)
{
	struct fpu *fpu = &current->thread.fpu;
	int ret;

	fpu_sync_fpstate(fpu);
	fpregs_lock();
	ret = copy_uabi_from_kernel_to_xstate(fpu->fpstate, xsave, &current->thread.pkru);
	/* The registers no longer hold its state: load it from memory on the way out. */
	__fpu_invalidate_fpregs_state(fpu);
	set_thread_flag(TIF_NEED_FPU_LOAD);
	fpregs_unlock();
	return ret ? REFUSE(reason, "its XSAVE area was refused (%d)", ret) : 0;
}

static int restore_signals(const struct mig_image *img, char *reason)
{
	struct k_sigaction ka;
	sigset_t blocked;
	int i, ret;

	/* Its keeper ignores every signal, and exec keeps what is ignored: not these. */
	spin_lock_irq(&current->sighand->siglock);
	memset(&current->sighand->action[SIGKILL - 1], 0, sizeof(ka));
	memset(&current->sighand->action[SIGSTOP - 1], 0, sizeof(ka));
	spin_unlock_irq(&current->sighand->siglock);
	for (i = 0; i < MIG_NSIG; i++) {
		if (i + 1 == SIGKILL || i + 1 == SIGSTOP)
			continue;
		memset(&ka, 0, sizeof(ka));
		ka.sa.sa_handler = (__sighandler_t)(unsigned long)img->action[i].handler;
		ka.sa.sa_flags = img->action[i].flags;
		ka.sa.sa_restorer = (__sigrestore_t)(unsigned long)img->action[i].restorer;
		ka.sa.sa_mask.sig[0] = img->action[i].mask;
		ret = do_sigaction(i + 1, &ka, NULL);
		if (ret)
			return REFUSE(reason, "its handler of signal %d was refused (%d)", i + 1,
				      ret);
	}
	blocked.sig[0] = img->blocked;
	sigdelsetmask(&blocked, sigmask(SIGKILL) | sigmask(SIGSTOP));
	set_current_blocked(&blocked);
	current->sas_ss_sp = img->sas_sp;
	current->sas_ss_size = img->sas_size;
	current->sas_ss_flags = img->sas_flags;
	return 0;
}

static int restore_creds(const struct mig_image *img)
{
	struct cred *c = prepare_creds();
	struct user_struct *u;
	int ret;

	if (!c)
		return -ENOMEM;
	c->uid = make_kuid(&init_user_ns, img->uid);
	c->euid = make_kuid(&init_user_ns, img->euid);
	c->suid = make_kuid(&init_user_ns, img->suid);
	c->fsuid = make_kuid(&init_user_ns, img->fsuid);
	c->gid = make_kgid(&init_user_ns, img->gid);
	c->egid = make_kgid(&init_user_ns, img->egid);
	c->sgid = make_kgid(&init_user_ns, img->sgid);
	c->fsgid = make_kgid(&init_user_ns, img->fsgid);
	c->securebits = img->securebits;
	c->cap_inheritable.val = img->cap_inheritable;
	c->cap_permitted.val = img->cap_permitted;
	c->cap_effective.val = img->cap_effective;
	c->cap_bset.val = img->cap_bset;
	c->cap_ambient.val = img->cap_ambient;
	/* Its processes and limits count for its user, not for the keeper's root. */
	u = alloc_uid(c->uid);
	if (!u) {
		abort_creds(c);
		return -ENOMEM;
	}
	free_uid(c->user);
	c->user = u;
	ret = set_cred_ucounts(c);
	if (ret < 0) {
		abort_creds(c);
		return ret;
	}
	commit_creds(c);
	set_dumpable(current->mm, SUID_DUMP_USER);
	return 0;
}

/* In the new task, its memory in place: everything else it had at home. */
int mig_restore_task(const struct mig_image *img, const struct mig_layout *l, char *reason)
{
	struct path pwd;
	int ret;

	ret = kern_path(img->cwd, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &pwd);
	if (ret)
		return REFUSE(reason, "its working directory %s is not here", img->cwd);
	set_fs_pwd(current->fs, &pwd);
	path_put(&pwd);
	current->fs->umask = img->umask;
	ret = restore_fpu(l->xsave, reason);
	if (!ret)
		ret = restore_signals(img, reason);
	if (ret)
		return ret;
	if (do_arch_prctl_64(current, ARCH_SET_FS, img->regs.fs_base) ||
	    do_arch_prctl_64(current, ARCH_SET_GS, img->regs.gs_base))
		return REFUSE(reason, "its TLS bases were refused");
	current->personality = img->personality;
	current->clear_child_tid = (int __user *)(unsigned long)img->clear_child_tid;
	current->robust_list = (struct robust_list_head __user *)(unsigned long)img->robust_list;
	set_task_comm(current, img->comm);
	restore_regs(&img->regs);
	return restore_creds(img);
}
