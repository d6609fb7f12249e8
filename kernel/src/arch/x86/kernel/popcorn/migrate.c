// SPDX-License-Identifier: GPL-2.0
/*
 * Popcorn multikernel: live migration of a process to another kernel.
 *
 * The process stops in the kernel, in its own context: in the migrate ioctl it
 * called, or in a task work that popcornctl's ioctl queued on it. There its image
 * (migrate_image.c) and then its memory go to the destination over the messaging
 * layer, page by page, under credits the destination grants as it consumes them.
 * The destination builds a new task from them: a keeper thread starts it as its
 * child, the child execs the same binary, replaces that address space with the
 * process's, takes its registers and state, and says READY. Only when the origin
 * answers COMMIT does it run: until then the origin can still give up, and the
 * process runs on at home, unchanged.
 *
 * At the origin the task stays as the process's shadow: its parent waits for it,
 * signals sent to it are forwarded, what the process writes to its standard output
 * and error comes back to be written there, and its exit status becomes the
 * shadow's. Each kernel watches the other's epoch: a shadow whose process's kernel
 * went down ends as if killed, and a process whose home went down is killed.
 */
#define pr_fmt(fmt) "popcorn migrate: " fmt

#include <linux/anon_inodes.h>
#include <linux/binfmts.h>
#include <linux/ctype.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pid.h>
#include <linux/popcorn_kmsg.h>
#include <linux/proc_fs.h>
#include <linux/ptrace.h>
#include <linux/sched/task_stack.h>
#include <linux/refcount.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/task_work.h>
#include <linux/uio.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "migrate.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX	"popcorn_migrate."

static bool enabled;
module_param_named(enable, enabled, bool, 0444);
MODULE_PARM_DESC(enable, "Accept processes that other kernels migrate here");

#define MAX_IN		16		/* processes coming in or running here, at most */
#define QUEUE_MAX	(MIG_WINDOW + 8)
#define OUTPUT_MAX	8
#define STALL_MS	30000		/* no progress for this long: the peer is stuck */
#define POLL_MS		100
#define WATCH_MS	200
#define REQUEST_MS	120000		/* popcornctl waits this long for a migration */
#define RELIABLE_MS	60000
#define MAX_IN_PER_PEER	4
#define MEM_RESERVE_PAGES	(16UL << (20 - PAGE_SHIFT))	/* left to this kernel */

struct mig_wire {
	struct mig_hdr h;
	u8 data[MIG_CHUNK];
};

struct mig_msg {
	struct list_head node;
	struct mig_hdr h;
	u32 len;
	u8 data[];
};

/* A move of a shadow's process asked for here, forwarded by the shadow. */
struct mig_move {
	u32 kernel;
	bool sent;
	int result;		/* -EINPROGRESS until its MOVED */
};

/* Here, where it left from: a process being sent away, then its shadow. */
struct mig_out {
	struct list_head node;
	u32 id;
	u32 dest;
	u32 dest_epoch;
	struct task_struct *task;
	wait_queue_head_t wq;
	/* Under mig_lock. */
	u64 credit;
	bool ready, failed, exited;
	int error;
	pid_t remote_pid;
	int status;
	u32 at;			/* the kernel it runs on now */
	u64 output_dropped;
	struct list_head output;
	unsigned int nr_output;
	struct mig_move *move;
	char reason[MIG_REASON_MAX];
};

/* Here, where it goes to: a process coming in, then running here. */
struct mig_in {
	struct list_head node;
	refcount_t ref;
	u32 from;
	u32 id;
	u32 from_epoch;
	s32 home_pid;
	wait_queue_head_t wq;
	struct work_struct start;
	/* Under mig_lock. */
	struct list_head queue;
	unsigned int queued;
	bool gone;		/* aborted, broke the protocol, or its origin is down */
	bool ready_sent, committed, running, killed, moving;
	struct pid *pid;
	u64 out_seq, out_acked;
};

struct mig_output_file {
	struct mig_in *in;
	int fd;
};

/* popcornctl's ask, run by the task itself on its way back to user space. */
struct mig_request {
	struct callback_head work;
	refcount_t ref;
	u32 kernel;
	int result;
	struct completion done;
	char reason[MIG_REASON_MAX];
};

static DEFINE_SPINLOCK(mig_lock);
static LIST_HEAD(outs);
static LIST_HEAD(ins);
static unsigned int nr_ins;
static u32 next_id;
static DECLARE_WAIT_QUEUE_HEAD(moves_wq);

static void watch_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(watch_work, watch_fn);

static int send_to(u32 dest, struct mig_wire *w, u32 len, bool may_block)
{
	u32 size = sizeof(w->h) + len;

	return may_block ? popcorn_kmsg_send(dest, POPCORN_KMSG_MIGRATE, w, size) :
			   popcorn_kmsg_send_nowait(dest, POPCORN_KMSG_MIGRATE, w, size);
}

/* A message with no payload beyond its header, from any context. */
static int send_op(u32 dest, u32 id, u16 op, s64 arg, u64 addr, bool may_block)
{
	struct mig_wire *w = kzalloc(sizeof(w->h) + MIG_REASON_MAX, GFP_ATOMIC);
	int ret;

	if (!w)
		return -ENOMEM;
	w->h = (struct mig_hdr){ .id = id, .op = op, .arg = arg, .addr = addr };
	ret = send_to(dest, w, 0, may_block);
	kfree(w);
	return ret;
}

/*
 * A message that must arrive (EXIT, COMMIT, ABORT, a SIGKILL): tried again while the
 * peer is the same boot and its ring stays full, for RELIABLE_MS at most.
 */
static int send_reliably(u32 dest, u32 epoch, u32 id, u16 op, s64 arg)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(RELIABLE_MS);
	int ret;

	for (;;) {
		ret = send_op(dest, id, op, arg, 0, true);
		if (!ret || popcorn_kmsg_peer_epoch(dest) != epoch ||
		    time_after(jiffies, deadline))
			return ret;
		msleep(POLL_MS);
	}
}

static void send_failed(u32 dest, u32 id, int error, const char *reason, bool may_block)
{
	struct mig_wire *w = kzalloc(sizeof(w->h) + MIG_REASON_MAX, GFP_ATOMIC);

	if (!w)
		return;
	w->h = (struct mig_hdr){ .id = id, .op = MIG_OP_FAILED, .arg = error };
	strscpy(w->data, reason, MIG_REASON_MAX);
	send_to(dest, w, MIG_REASON_MAX, may_block);
	kfree(w);
}

static bool valid_errno(s64 e)
{
	return e < 0 && e >= -MAX_ERRNO;
}

/* Untrusted text: printable characters only, always terminated. */
static void copy_reason(char *dst, const char *src, u32 len)
{
	u32 i, n = min_t(u32, len, MIG_REASON_MAX - 1);

	for (i = 0; i < n && src[i]; i++)
		dst[i] = isprint(src[i]) ? src[i] : '?';
	dst[i] = '\0';
}

/* ---- The destination. ---- */

/* Ids start again when the origin restarts: its epoch tells its boots apart. */
static struct mig_in *find_in(u32 from, u32 epoch, u32 id)
{
	struct mig_in *in;

	list_for_each_entry(in, &ins, node)
		if (in->from == from && in->from_epoch == epoch && in->id == id)
			return in;
	return NULL;
}

static unsigned int ins_from(u32 from)
{
	unsigned int n = 0;
	struct mig_in *in;

	list_for_each_entry(in, &ins, node)
		n += in->from == from;
	return n;
}

/* The migrant whose task this is, if it is one; under mig_lock. */
static struct mig_in *in_of_task(struct task_struct *t)
{
	struct mig_in *in;

	list_for_each_entry(in, &ins, node)
		if (in->running && in->pid == task_pid(t))
			return in;
	return NULL;
}

static void put_in(struct mig_in *in)
{
	struct mig_msg *m, *n;

	if (!refcount_dec_and_test(&in->ref))
		return;
	list_for_each_entry_safe(m, n, &in->queue, node)
		kfree(m);
	put_pid(in->pid);
	kfree(in);
}

static void remove_in(struct mig_in *in)
{
	unsigned long flags;

	spin_lock_irqsave(&mig_lock, flags);
	list_del(&in->node);
	nr_ins--;
	in->gone = true;
	spin_unlock_irqrestore(&mig_lock, flags);
	wake_up_all(&in->wq);
	put_in(in);
}

/* The next message of the process's stream, or an error if it will not come. */
static struct mig_msg *next_msg(struct mig_in *in, u64 *consumed)
{
	unsigned long flags, deadline = jiffies + msecs_to_jiffies(STALL_MS);
	struct mig_msg *m = NULL;

	for (;;) {
		spin_lock_irqsave(&mig_lock, flags);
		if (!in->gone) {
			m = list_first_entry_or_null(&in->queue, struct mig_msg, node);
			if (m) {
				list_del(&m->node);
				in->queued--;
			}
		}
		spin_unlock_irqrestore(&mig_lock, flags);
		if (m)
			break;
		if (READ_ONCE(in->gone) || fatal_signal_pending(current))
			return ERR_PTR(-ECONNABORTED);
		if (time_after(jiffies, deadline))
			return ERR_PTR(-ETIMEDOUT);
		wait_event_killable_timeout(in->wq, !list_empty_careful(&in->queue) ||
					    READ_ONCE(in->gone), msecs_to_jiffies(POLL_MS));
	}
	if (++*consumed % MIG_CREDIT_EVERY == 0)
		send_op(in->from, in->id, MIG_OP_CREDIT, *consumed, 0, true);
	return m;
}

static int receive_image(struct mig_in *in, struct mig_image *img, u32 *size, u64 *consumed,
			 char *reason)
{
	u32 got = 0, total = 0;
	struct mig_msg *m;

	do {
		m = next_msg(in, consumed);
		if (IS_ERR(m))
			return PTR_ERR(m);
		if (m->h.op != MIG_OP_IMAGE || m->h.addr != got || !m->len ||
		    (got && m->h.arg != total) || m->h.arg > MIG_IMAGE_MAX ||
		    m->h.arg < sizeof(*img) || m->len > m->h.arg - got) {
			kfree(m);
			snprintf(reason, MIG_REASON_MAX, "its image came out of order");
			return -EPROTO;
		}
		total = m->h.arg;
		memcpy((u8 *)img + got, m->data, m->len);
		got += m->len;
		kfree(m);
	} while (got < total);
	*size = total;
	return 0;
}

/* No more than its mappings hold, and never the memory this kernel needs. */
static int page_budget(const struct mig_image *img, const struct mig_layout *l, u64 pages,
		       char *reason)
{
	u64 limit = 0;
	u32 i;

	for (i = 0; i < img->nr_vmas; i++)
		if (l->vmas[i].flags & MIG_VMA_PAGES)
			limit += (l->vmas[i].end - l->vmas[i].start) >> PAGE_SHIFT;
	if (pages >= limit)
		return (snprintf(reason, MIG_REASON_MAX, "more pages came than it maps"), -EPROTO);
	if (pages % 256 == 0 && si_mem_available() < MEM_RESERVE_PAGES)
		return (snprintf(reason, MIG_REASON_MAX, "out of memory here"), -ENOMEM);
	return 0;
}

static int receive_pages(struct mig_in *in, const struct mig_image *img,
			 const struct mig_layout *l, u64 *consumed, char *reason)
{
	struct mig_msg *m;
	u64 pages = 0;
	int ret;

	for (;;) {
		m = next_msg(in, consumed);
		if (IS_ERR(m))
			return PTR_ERR(m);
		if (m->h.op == MIG_OP_DONE) {
			ret = m->h.arg == pages ? 0 : -EPROTO;
			kfree(m);
			if (ret)
				snprintf(reason, MIG_REASON_MAX, "pages went missing");
			return ret;
		}
		ret = page_budget(img, l, pages, reason);
		if (ret) {
			kfree(m);
			return ret;
		}
		ret = m->h.op == MIG_OP_PAGE && m->len == PAGE_SIZE ?
		      mig_put_page(img, l, m->h.addr, m->data) : -EPROTO;
		kfree(m);
		if (ret) {
			snprintf(reason, MIG_REASON_MAX, "a page came for no mapping (%d)", ret);
			return ret;
		}
		pages++;
		cond_resched();
	}
}

/* Its writes go home in order; a shadow here writes with kernel_write(): an iter. */
static ssize_t output_write(struct kiocb *iocb, struct iov_iter *from)
{
	struct mig_output_file *of = iocb->ki_filp->private_data;
	size_t count = iov_iter_count(from);
	struct mig_in *in = of->in;
	unsigned long flags;
	struct mig_wire *w;
	size_t done = 0;
	ssize_t ret = 0;
	u64 seq;
	u32 n;

	w = kmalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	while (done < count && !ret) {
		n = min_t(size_t, count - done, MIG_CHUNK);
		if (copy_from_iter(w->data, n, from) != n) {
			ret = -EFAULT;
			break;
		}
		spin_lock_irqsave(&mig_lock, flags);
		seq = in->gone ? 0 : ++in->out_seq;
		spin_unlock_irqrestore(&mig_lock, flags);
		if (!seq) {
			ret = -EIO;
			break;
		}
		w->h = (struct mig_hdr){ .id = in->id, .op = MIG_OP_OUTPUT, .arg = of->fd,
					 .addr = seq };
		ret = send_to(in->from, w, n, true);
		/* Written at home before the next: its output stays in order there. */
		while (!ret && READ_ONCE(in->out_acked) < seq) {
			if (READ_ONCE(in->gone))
				ret = -EIO;
			else if (fatal_signal_pending(current))
				ret = -EINTR;
			else
				wait_event_killable_timeout(in->wq, READ_ONCE(in->out_acked) >= seq ||
							    READ_ONCE(in->gone),
							    msecs_to_jiffies(POLL_MS));
		}
		if (!ret)
			done += n;
	}
	kfree(w);
	return done ? done : ret;
}

static int output_release(struct inode *inode, struct file *file)
{
	struct mig_output_file *of = file->private_data;

	put_in(of->in);
	kfree(of);
	return 0;
}

static const struct file_operations output_fops = {
	.owner	= THIS_MODULE,
	.write_iter = output_write,
	.release = output_release,
	.llseek	= noop_llseek,
};

/* Opens path at each fd of the set; a negative errno if one cannot be. */
static int install_at(const char *path, int flags, u64 fds)
{
	struct file *f;
	int fd, ret = 0;

	for (fd = 0; fd < MIG_MAX_FD && ret >= 0; fd++) {
		if (!(fds & BIT_ULL(fd)))
			continue;
		f = filp_open(path, flags, 0);
		if (IS_ERR(f))
			return PTR_ERR(f);
		ret = replace_fd(fd, f, 0);
		fput(f);
	}
	return ret < 0 ? ret : 0;
}

/*
 * Standard input reads /dev/null here; output and error go home; fds it had on the
 * messaging device are on this kernel's.
 */
static int install_files(struct mig_in *in, u64 kmsg_fds, char *reason)
{
	struct mig_output_file *of;
	struct file *f;
	int fd, ret;

	ret = install_at("/dev/null", O_RDONLY, BIT_ULL(0));
	if (!ret)
		ret = install_at("/dev/popcorn_kmsg", O_RDWR, kmsg_fds);
	if (ret)
		return (snprintf(reason, MIG_REASON_MAX, "its files cannot be opened here (%d)",
				 ret), ret);
	for (fd = 1; fd <= 2 && ret >= 0; fd++) {
		of = kzalloc(sizeof(*of), GFP_KERNEL);
		if (!of)
			return -ENOMEM;
		of->in = in;
		of->fd = fd;
		f = anon_inode_getfile("[popcorn-output]", &output_fops, of, O_WRONLY);
		if (IS_ERR(f)) {
			kfree(of);
			return PTR_ERR(f);
		}
		refcount_inc(&in->ref);
		f->f_mode |= FMODE_STREAM;
		ret = replace_fd(fd, f, 0);
		fput(f);
	}
	if (ret < 0)
		snprintf(reason, MIG_REASON_MAX, "its standard files cannot be made (%d)", ret);
	return ret < 0 ? ret : 0;
}

/*
 * Until COMMIT, the origin can still give up: then it runs at home, not here. No
 * timeout of our own: the origin answers READY with COMMIT or ABORT while it runs,
 * and the watchdog ends the wait when it stops.
 */
static int wait_commit(struct mig_in *in)
{
	wait_event(in->wq, READ_ONCE(in->committed) || READ_ONCE(in->gone));
	return READ_ONCE(in->committed) ? 0 : -ECONNABORTED;
}

struct mig_resume {
	struct callback_head work;
	unsigned long ax;
};

/* ret_from_fork() zeroes ax after restore_fn(): this puts its value back after that. */
static void resume_fn(struct callback_head *work)
{
	struct mig_resume *r = container_of(work, struct mig_resume, work);

	current_pt_regs()->ax = r->ax;
	kfree(r);
}

/* The new task: from the keeper's child to the process, or gone. */
static int restore_fn(void *arg)
{
	static const char *const envp[] = { NULL };
	const char *argv[2] = {};
	struct file *open[MIG_MAX_FILES] = {};
	struct mig_resume *resume;
	struct mig_in *in = arg;
	struct mig_image *img;
	struct mig_layout l;
	char *reason;
	u64 consumed = 0;
	unsigned long flags;
	u32 size, i;
	int ret = -ENOMEM;

	img = kvzalloc(MIG_IMAGE_MAX, GFP_KERNEL);
	reason = kzalloc(MIG_REASON_MAX, GFP_KERNEL);
	resume = kzalloc(sizeof(*resume), GFP_KERNEL);
	if (!img || !reason || !resume)
		goto fail;
	strscpy(reason, "out of memory here", MIG_REASON_MAX);
	ret = receive_image(in, img, &size, &consumed, reason);
	if (!ret)
		ret = mig_validate(img, size, &l, reason);
	if (!ret)
		ret = mig_check_files(img, &l, open, reason);
	if (ret)
		goto fail;
	in->home_pid = img->home_pid;
	ret = mig_align_clocks(img, reason);
	if (ret)
		goto fail;
	argv[0] = l.files[img->exe].path;
	ret = kernel_execve(argv[0], argv, envp);
	if (ret) {
		snprintf(reason, MIG_REASON_MAX, "its binary does not run here (%d)", ret);
		goto fail;
	}
	ret = mig_build_mm(img, &l, open, reason);
	if (!ret)
		ret = install_files(in, img->kmsg_fds, reason);
	if (!ret)
		ret = receive_pages(in, img, &l, &consumed, reason);
	if (!ret)
		ret = mig_restore_task(img, &l, reason);
	if (ret)
		goto fail;
	spin_lock_irqsave(&mig_lock, flags);
	in->pid = get_pid(task_pid(current));
	in->ready_sent = true;
	spin_unlock_irqrestore(&mig_lock, flags);
	send_op(in->from, in->id, MIG_OP_READY, task_pid_vnr(current), 0, true);
	ret = wait_commit(in);
	if (ret)
		goto gone;
	resume->ax = img->regs.ax;
	init_task_work(&resume->work, resume_fn);
	if (task_work_add(current, &resume->work, TWA_RESUME))
		goto gone;	/* it is being killed */
	resume = NULL;
	for (i = 0; i < MIG_MAX_FILES; i++)
		if (open[i])
			fput(open[i]);
	pr_info("pid %d here is pid %d of kernel %u, from kernel %u\n", task_pid_nr(current),
		img->home_pid, img->home, in->from);
	kvfree(img);
	kfree(reason);
	return 0;	/* to user space, where it stopped at home */
fail:
	pr_info("a process from kernel %u is not taken: %s (%d)\n", in->from,
		reason ? reason : "out of memory", ret);
	send_failed(in->from, in->id, ret, reason ? reason : "out of memory here", true);
gone:
	for (i = 0; i < MIG_MAX_FILES; i++)
		if (open[i])
			fput(open[i]);
	kvfree(img);
	kfree(reason);
	kfree(resume);
	do_exit(SIGKILL);	/* after READY, its shadow learns it ended as killed */
}

/* Its parent here: starts it, waits for it, says home how it ended. */
static int keeper_fn(void *arg)
{
	struct mig_in *in = arg;
	int status = 0;
	pid_t pid;

	kernel_sigaction(SIGCHLD, SIG_DFL);	/* or its status is not kept for us */
	pid = user_mode_thread(restore_fn, in, SIGCHLD);
	if (pid < 0)
		send_failed(in->from, in->id, pid, "no task can be made here", true);
	else
		kernel_wait(pid, &status);
	if (READ_ONCE(in->ready_sent))
		send_reliably(in->from, in->from_epoch, in->id, MIG_OP_EXIT, status);
	remove_in(in);
	return 0;
}

static void start_fn(struct work_struct *work)
{
	struct mig_in *in = container_of(work, struct mig_in, start);
	struct task_struct *t;

	t = kthread_run(keeper_fn, in, "popcorn_mig%u", in->id);
	if (IS_ERR(t)) {
		send_failed(in->from, in->id, PTR_ERR(t), "no keeper thread here", true);
		remove_in(in);
	}
}

/* Under mig_lock: a new incoming process, or the reason there is none. */
static struct mig_in *new_in(u32 from, u32 epoch, u32 id, int *error, const char **reason)
{
	struct mig_in *in;

	*error = -EPERM;
	*reason = "migration is disabled on this kernel (popcorn_migrate.enable)";
	if (!enabled)
		return NULL;
	*error = -EBUSY;
	*reason = "this kernel takes no more migrations at once";
	if (nr_ins >= MAX_IN || ins_from(from) >= MAX_IN_PER_PEER)
		return NULL;
	*error = -ENOMEM;
	*reason = "out of memory here";
	in = kzalloc(sizeof(*in), GFP_ATOMIC);
	if (!in)
		return NULL;
	refcount_set(&in->ref, 1);
	in->from = from;
	in->id = id;
	in->from_epoch = epoch;
	init_waitqueue_head(&in->wq);
	INIT_LIST_HEAD(&in->queue);
	INIT_WORK(&in->start, start_fn);
	list_add_tail(&in->node, &ins);
	nr_ins++;
	*reason = NULL;
	schedule_work(&in->start);
	schedule_delayed_work(&watch_work, msecs_to_jiffies(WATCH_MS));
	return in;
}

struct move_work {
	struct work_struct work;
	struct mig_in *in;
	u32 kernel;
};

static int migrate_task(struct task_struct *t, u32 kernel, char *reason);

/* The origin asks the process running here to move on. */
static void move_fn(struct work_struct *work)
{
	struct move_work *mw = container_of(work, struct move_work, work);
	char reason[MIG_REASON_MAX] = "";
	struct task_struct *t = get_pid_task(mw->in->pid, PIDTYPE_PID);
	int ret = -ESRCH;

	if (t) {
		ret = migrate_task(t, mw->kernel, reason);
		put_task_struct(t);
	}
	send_op(mw->in->from, mw->in->id, MIG_OP_MOVED, ret, mw->kernel, true);
	WRITE_ONCE(mw->in->moving, false);
	put_in(mw->in);
	kfree(mw);
}

static void to_destination(u32 from, const struct mig_hdr *h, const void *data, u32 len)
{
	const char *reason = NULL;
	struct move_work *mw = NULL;
	struct pid *kill = NULL;
	struct mig_in *in;
	struct mig_msg *m;
	unsigned long flags;
	int error = 0;
	u32 epoch = popcorn_kmsg_peer_epoch(from);

	spin_lock_irqsave(&mig_lock, flags);
	in = find_in(from, epoch, h->id);
	if (!in && epoch && h->op == MIG_OP_IMAGE && !h->addr)
		in = new_in(from, epoch, h->id, &error, &reason);
	if (!in)
		goto unlock;
	switch (h->op) {
	case MIG_OP_IMAGE:
	case MIG_OP_PAGE:
	case MIG_OP_DONE:
		if (in->gone || in->ready_sent)
			break;
		m = in->queued < QUEUE_MAX ? kmalloc(struct_size(m, data, len), GFP_ATOMIC) : NULL;
		if (!m) {
			in->gone = true;	/* beyond its credits, or no memory: it ends */
			break;
		}
		m->h = *h;
		m->len = len;
		memcpy(m->data, data, len);
		list_add_tail(&m->node, &in->queue);
		in->queued++;
		break;
	case MIG_OP_ABORT:
		if (!in->running)
			in->gone = true;
		break;
	case MIG_OP_COMMIT:
		if (in->ready_sent && !in->gone)
			in->committed = in->running = true;
		break;
	case MIG_OP_SIGNAL:
		if (in->running && h->arg > 0 && h->arg <= MIG_NSIG)
			kill = get_pid(in->pid);
		break;
	case MIG_OP_MOVE:
		if (!in->running || in->moving || h->arg < 0 ||
		    h->arg >= POPCORN_KMSG_MAX_KERNELS)
			break;	/* one move at a time */
		mw = kzalloc(sizeof(*mw), GFP_ATOMIC);
		if (mw) {
			in->moving = true;
			refcount_inc(&in->ref);
			mw->in = in;
			mw->kernel = h->arg;
			INIT_WORK(&mw->work, move_fn);
		}
		break;
	case MIG_OP_OUTACK:
		if (h->arg > in->out_acked && h->arg <= in->out_seq)
			in->out_acked = h->arg;
		break;
	}
	wake_up_all(&in->wq);
unlock:
	spin_unlock_irqrestore(&mig_lock, flags);
	if (reason)
		send_failed(from, h->id, error, reason, false);
	if (kill) {
		kill_pid(kill, h->arg, 1);
		put_pid(kill);
	}
	if (mw)
		queue_work(system_unbound_wq, &mw->work);
}

/* A process here whose origin went down has nobody to answer to: it ends. */
static void watch_fn(struct work_struct *work)
{
	struct pid *kill[MAX_IN];
	unsigned int n = 0, i;
	unsigned long flags;
	struct mig_in *in;
	bool any;

	spin_lock_irqsave(&mig_lock, flags);
	list_for_each_entry(in, &ins, node) {
		if (popcorn_kmsg_peer_epoch(in->from) == in->from_epoch)
			continue;
		if (in->running && !in->killed) {
			in->killed = true;
			pr_warn("pid %d came from kernel %u, which is down: ending it\n",
				pid_nr(in->pid), in->from);
			kill[n++] = get_pid(in->pid);
		}
		in->gone = true;
		wake_up_all(&in->wq);
	}
	any = !list_empty(&ins);
	spin_unlock_irqrestore(&mig_lock, flags);
	for (i = 0; i < n; i++) {
		kill_pid(kill[i], SIGKILL, 1);
		put_pid(kill[i]);
	}
	if (any)
		schedule_delayed_work(&watch_work, msecs_to_jiffies(WATCH_MS));
}

/* ---- The origin. ---- */

static struct mig_out *find_out(u32 dest, u32 id)
{
	struct mig_out *out;

	list_for_each_entry(out, &outs, node)
		if (out->dest == dest && out->id == id)
			return out;
	return NULL;
}

static struct mig_out *out_of_task(struct task_struct *t)
{
	struct mig_out *out;

	list_for_each_entry(out, &outs, node)
		if (out->task == t)
			return out;
	return NULL;
}

static void to_origin(u32 from, const struct mig_hdr *h, const void *data, u32 len)
{
	struct mig_out *out;
	struct mig_msg *m;
	unsigned long flags;
	u64 ack = 0;

	spin_lock_irqsave(&mig_lock, flags);
	out = find_out(from, h->id);
	if (!out)
		goto unlock;
	switch (h->op) {
	case MIG_OP_CREDIT:
		if (h->arg > out->credit)
			out->credit = h->arg;
		break;
	case MIG_OP_READY:
		if (!out->failed && h->arg > 0) {
			out->ready = true;
			out->remote_pid = h->arg;
		}
		break;
	case MIG_OP_FAILED:
		if (out->ready || out->failed)
			break;
		out->failed = true;
		out->error = valid_errno(h->arg) ? h->arg : -EPROTO;
		copy_reason(out->reason, data, len);
		break;
	case MIG_OP_OUTPUT:
		if (!out->ready || (h->arg != 1 && h->arg != 2))
			break;
		m = out->nr_output < OUTPUT_MAX ? kmalloc(struct_size(m, data, len), GFP_ATOMIC) :
		      NULL;
		if (!m) {
			out->output_dropped++;	/* acknowledged, so its writer goes on */
			ack = h->addr;
			break;
		}
		m->h = *h;
		m->len = len;
		memcpy(m->data, data, len);
		list_add_tail(&m->node, &out->output);
		out->nr_output++;
		break;
	case MIG_OP_EXIT:
		if (out->ready) {
			out->exited = true;
			out->status = h->arg;
		}
		break;
	case MIG_OP_MOVED:
		if (h->arg == 0 && h->addr < POPCORN_KMSG_MAX_KERNELS)
			out->at = h->addr;
		if (out->move && out->move->sent && out->move->result == -EINPROGRESS) {
			out->move->result = valid_errno(h->arg) || !h->arg ? h->arg : -EPROTO;
			wake_up_all(&moves_wq);
		}
		break;
	}
	wake_up_all(&out->wq);
unlock:
	spin_unlock_irqrestore(&mig_lock, flags);
	if (ack)
		send_op(from, h->id, MIG_OP_OUTACK, ack, 0, false);
}

static void handle_migrate(const struct popcorn_kmsg *msg)
{
	struct mig_hdr h;

	if (msg->len < sizeof(h) || msg->len > sizeof(h) + MIG_CHUNK)
		return;
	memcpy(&h, msg->data, sizeof(h));	/* read once */
	if (h.op >= MIG_OP_IMAGE && h.op <= MIG_OP_COMMIT)
		to_destination(msg->from, &h, msg->data + sizeof(h), msg->len - sizeof(h));
	else if (h.op >= MIG_OP_CREDIT && h.op <= MIG_OP_MOVED)
		to_origin(msg->from, &h, msg->data + sizeof(h), msg->len - sizeof(h));
}

static void remove_out(struct mig_out *out)
{
	struct mig_msg *m, *n;
	unsigned long flags;

	spin_lock_irqsave(&mig_lock, flags);
	list_del(&out->node);
	if (out->move && out->move->result == -EINPROGRESS)
		out->move->result = -ESRCH;
	spin_unlock_irqrestore(&mig_lock, flags);
	wake_up_all(&moves_wq);
	list_for_each_entry_safe(m, n, &out->output, node)
		kfree(m);
	kfree(out);
}

/* Why the destination cannot go on, or 0. */
static int dest_trouble(struct mig_out *out)
{
	if (READ_ONCE(out->failed))
		return READ_ONCE(out->error);
	if (popcorn_kmsg_peer_epoch(out->dest) != out->dest_epoch)
		return -EHOSTDOWN;
	return fatal_signal_pending(current) ? -EINTR : 0;
}

/* Room for one more message: fewer than the window unconsumed. */
static int wait_credit(struct mig_out *out, u64 sent)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(STALL_MS);
	u64 credit = READ_ONCE(out->credit);
	int ret;

	while (sent - READ_ONCE(out->credit) >= MIG_WINDOW) {
		ret = dest_trouble(out);
		if (ret)
			return ret;
		if (READ_ONCE(out->credit) != credit) {
			credit = READ_ONCE(out->credit);
			deadline = jiffies + msecs_to_jiffies(STALL_MS);
		}
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		wait_event_killable_timeout(out->wq, sent - READ_ONCE(out->credit) < MIG_WINDOW ||
					    READ_ONCE(out->failed), msecs_to_jiffies(POLL_MS));
	}
	return dest_trouble(out);
}

static int send_image(struct mig_out *out, struct mig_wire *w, const struct mig_image *img,
		      u64 *sent)
{
	u32 off, n;
	int ret;

	for (off = 0; off < img->size; off += n) {
		n = min_t(u32, img->size - off, MIG_CHUNK);
		ret = wait_credit(out, *sent);
		if (ret)
			return ret;
		w->h = (struct mig_hdr){ .id = out->id, .op = MIG_OP_IMAGE, .arg = img->size,
					 .addr = off };
		memcpy(w->data, (const u8 *)img + off, n);
		ret = send_to(out->dest, w, n, true);
		if (ret)
			return ret;
		(*sent)++;
	}
	return 0;
}

static bool read_page(u64 addr, void *buf, u32 prot)
{
	if ((prot & PROT_READ) && !copy_from_user(buf, (const void __user *)addr, PAGE_SIZE))
		return true;
	/* Not readable, or not all there: as a debugger reads. */
	return access_process_vm(current, addr, buf, PAGE_SIZE, FOLL_FORCE) == PAGE_SIZE;
}

static int send_pages(struct mig_out *out, struct mig_wire *w, const struct mig_image *img,
		      u64 *sent, u64 *pages)
{
	struct mig_layout l = {
		.vmas = (const struct mig_vma *)((const u8 *)(img + 1) + img->xsave_size),
	};
	const struct mig_vma *v;
	u64 addr;
	u32 i;
	int ret;

	for (i = 0; i < img->nr_vmas; i++) {
		v = &l.vmas[i];
		if (!(v->flags & MIG_VMA_PAGES))
			continue;
		for (addr = v->start; addr < v->end; addr += PAGE_SIZE) {
			cond_resched();
			/* Beyond the end of its file, say: it has no contents to carry. */
			if (!read_page(addr, w->data, v->prot) || !mig_vma_page_wanted(v, w->data))
				continue;
			ret = wait_credit(out, *sent);
			if (ret)
				return ret;
			w->h = (struct mig_hdr){ .id = out->id, .op = MIG_OP_PAGE, .addr = addr };
			ret = send_to(out->dest, w, PAGE_SIZE, true);
			if (ret)
				return ret;
			(*sent)++;
			(*pages)++;
		}
	}
	return 0;
}

static int wait_ready(struct mig_out *out)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(STALL_MS);
	int ret;

	while (!READ_ONCE(out->ready)) {
		ret = dest_trouble(out);
		if (ret)
			return ret;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		wait_event_killable_timeout(out->wq, READ_ONCE(out->ready) ||
					    READ_ONCE(out->failed), msecs_to_jiffies(POLL_MS));
	}
	return 0;
}

/* The registers the destination resumes: where it would go on here. */
static void resume_point(struct mig_image *img, bool in_ioctl)
{
	struct user_regs_struct *r = &img->regs;

	if (in_ioctl) {
		r->ax = 0;	/* the migrate ioctl returns 0 there */
		return;
	}
	if ((long)r->orig_ax < 0)
		return;		/* it was not in a system call */
	switch ((long)r->ax) {
	case -ERESTARTNOHAND:
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
		r->ax = r->orig_ax;	/* the call starts again there */
		r->ip -= 2;
		break;
	case -ERESTART_RESTARTBLOCK:
		r->ax = -EINTR;		/* its restart state stays here */
		break;
	}
}

/* The chain a moved-on process leaves: its origin learns where it runs now. */
static void tell_origin_moved(u32 kernel)
{
	struct mig_in *in;
	unsigned long flags;
	u32 from = 0, id = 0;
	bool found;

	spin_lock_irqsave(&mig_lock, flags);
	in = in_of_task(current);
	found = in;
	if (in) {
		from = in->from;
		id = in->id;
	}
	spin_unlock_irqrestore(&mig_lock, flags);
	if (found)
		send_op(from, id, MIG_OP_MOVED, 0, kernel, true);
}

/*
 * Sends the calling task to kernel. Returns an error, with the reason, while the task
 * is still here unchanged; 0 when it runs there, and this task must be its shadow.
 */
static int migrate_current(u32 kernel, bool in_ioctl, char *reason, struct mig_out **shadowp)
{
	struct mig_image *img;
	struct mig_out *out;
	struct mig_wire *w;
	u64 sent = 0, pages = 0;
	unsigned long flags;
	struct mig_in *self_in;
	u32 image_size;
	pid_t home_pid;
	int ret, self = popcorn_kmsg_self();

	if (self < 0 || kernel >= POPCORN_KMSG_MAX_KERNELS || kernel == self)
		return (snprintf(reason, MIG_REASON_MAX, "kernel %u is not another kernel",
				 kernel), -EINVAL);
	if (!popcorn_kmsg_peer_up(kernel))
		return (snprintf(reason, MIG_REASON_MAX, "kernel %u is not up", kernel),
			-EHOSTDOWN);
	if (task_sigpending(current))
		return (snprintf(reason, MIG_REASON_MAX, "a signal is pending"), -EINTR);
	spin_lock_irqsave(&mig_lock, flags);
	self_in = in_of_task(current);
	home_pid = self_in ? self_in->home_pid : task_tgid_vnr(current);
	spin_unlock_irqrestore(&mig_lock, flags);

	img = mig_capture(self, home_pid, reason);
	if (IS_ERR(img))
		return PTR_ERR(img);
	resume_point(img, in_ioctl);
	out = kzalloc(sizeof(*out), GFP_KERNEL);
	w = kmalloc(sizeof(*w), GFP_KERNEL);
	if (!out || !w) {
		kfree(out);
		kfree(w);
		kvfree(img);
		return (snprintf(reason, MIG_REASON_MAX, "out of memory at home"), -ENOMEM);
	}
	out->dest = kernel;
	out->at = kernel;
	out->dest_epoch = popcorn_kmsg_peer_epoch(kernel);
	out->task = current;
	init_waitqueue_head(&out->wq);
	INIT_LIST_HEAD(&out->output);
	spin_lock_irqsave(&mig_lock, flags);
	out->id = ++next_id;
	list_add_tail(&out->node, &outs);
	spin_unlock_irqrestore(&mig_lock, flags);

	image_size = img->size;
	ret = send_image(out, w, img, &sent);
	if (!ret)
		ret = send_pages(out, w, img, &sent, &pages);
	if (!ret)
		ret = wait_credit(out, sent);
	w->h = (struct mig_hdr){ .id = out->id, .op = MIG_OP_DONE, .arg = pages };
	if (!ret)
		ret = send_to(kernel, w, 0, true);
	if (!ret)
		ret = wait_ready(out);
	kvfree(img);
	kfree(w);
	if (!ret)
		ret = send_reliably(kernel, out->dest_epoch, out->id, MIG_OP_COMMIT, 0);
	if (ret) {
		/* COMMIT may have gone in after all: ABORT is ignored then, and EXIT ends it. */
		send_reliably(kernel, out->dest_epoch, out->id, MIG_OP_ABORT, 0);
		if (out->failed && out->reason[0])
			snprintf(reason, MIG_REASON_MAX, "kernel %u: %s", kernel, out->reason);
		else if (!reason[0])
			snprintf(reason, MIG_REASON_MAX, "kernel %u did not take it (%d)", kernel,
				 ret);
		remove_out(out);
		return ret;
	}
	pr_info("pid %d runs on kernel %u as pid %d (%u image bytes, %llu pages sent)\n",
		task_pid_nr(current), kernel, out->remote_pid, image_size, pages);
	tell_origin_moved(kernel);
	*shadowp = out;
	return 0;
}

/* ---- The shadow. ---- */

/* Its signals are queued to be forwarded, never acted on here. */
static void become_shadow(void)
{
	struct k_sigaction *ka;
	sigset_t none;
	int i;

	spin_lock_irq(&current->sighand->siglock);
	for (i = 0; i < MIG_NSIG; i++) {
		ka = &current->sighand->action[i];
		memset(ka, 0, sizeof(*ka));
		if (i + 1 == SIGCHLD)
			ka->sa.sa_handler = SIG_IGN;	/* children left here are reaped */
		else if (i + 1 != SIGKILL && i + 1 != SIGSTOP)
			ka->sa.sa_handler = (__sighandler_t)TASK_SIZE_MAX;	/* never runs */
	}
	spin_unlock_irq(&current->sighand->siglock);
	sigemptyset(&none);
	set_current_blocked(&none);
	/* Its memory is there now: the shadow never runs in user space again. */
	vm_munmap(0, TASK_SIZE_MAX);
}

static void forward_signals(struct mig_out *out);

/* A write that a pending signal interrupts is tried again once it is forwarded. */
static void write_all(struct mig_out *out, struct file *f, const u8 *data, u32 len)
{
	unsigned int tries = 0;
	loff_t pos;
	ssize_t n;

	/* As __kernel_write_iter() refuses: /dev/null, say, with nothing to keep. */
	if (!f->f_op->write_iter || f->f_op->write)
		return;
	while (len && tries++ < 100 && !fatal_signal_pending(current)) {
		pos = f->f_pos;
		n = kernel_write(f, data, len, &pos);
		if (n > 0 && !(f->f_mode & FMODE_STREAM))
			f->f_pos = pos;
		if (n > 0) {
			data += n;
			len -= n;
		} else if (n == -ERESTARTSYS || n == -EINTR || n == -EAGAIN) {
			forward_signals(out);
		} else {
			return;		/* closed or broken here: the process goes on */
		}
	}
}

static void write_output(struct mig_out *out)
{
	unsigned long flags;
	struct mig_msg *m;
	struct file *f;

	for (;;) {
		spin_lock_irqsave(&mig_lock, flags);
		m = list_first_entry_or_null(&out->output, struct mig_msg, node);
		if (m) {
			list_del(&m->node);
			out->nr_output--;
		}
		spin_unlock_irqrestore(&mig_lock, flags);
		if (!m)
			return;
		f = fget(m->h.arg);
		if (f) {
			write_all(out, f, m->data, m->len);
			fput(f);
		}
		/* Written or not (closed here): the process goes on. */
		send_op(out->dest, out->id, MIG_OP_OUTACK, m->h.addr, 0, true);
		kfree(m);
	}
}

static void forward_signals(struct mig_out *out)
{
	kernel_siginfo_t info;
	enum pid_type type;
	sigset_t keep;
	int sig;

	siginitset(&keep, sigmask(SIGKILL));	/* SIGSTOP too: it stops the process */
	for (;;) {
		spin_lock_irq(&current->sighand->siglock);
		sig = dequeue_signal(&keep, &info, &type);
		spin_unlock_irq(&current->sighand->siglock);
		if (!sig)
			return;
		send_op(out->dest, out->id, MIG_OP_SIGNAL, sig, 0, true);
	}
}

static void forward_move(struct mig_out *out)
{
	unsigned long flags;
	u32 kernel = 0;
	bool send = false;

	spin_lock_irqsave(&mig_lock, flags);
	if (out->move && !out->move->sent) {
		out->move->sent = true;
		kernel = out->move->kernel;
		send = true;
	}
	spin_unlock_irqrestore(&mig_lock, flags);
	if (send && send_op(out->dest, out->id, MIG_OP_MOVE, kernel, 0, true)) {
		spin_lock_irqsave(&mig_lock, flags);
		if (out->move)
			out->move->result = -EHOSTDOWN;
		spin_unlock_irqrestore(&mig_lock, flags);
		wake_up_all(&moves_wq);
	}
}

static bool shadow_has_work(struct mig_out *out)
{
	unsigned long flags;
	bool move;

	spin_lock_irqsave(&mig_lock, flags);
	move = out->move && !out->move->sent;
	spin_unlock_irqrestore(&mig_lock, flags);
	return move || READ_ONCE(out->exited) || !list_empty_careful(&out->output) ||
	       signal_pending(current);
}

/* A wait status from the other kernel, as this kernel exits with it. */
static int exit_code(int status)
{
	int sig = status & 0x7f;

	if (!sig)
		return status & 0xff00;
	return sig <= MIG_NSIG ? sig : SIGKILL;
}

static int shadow(struct mig_out *out)
{
	int status;

	become_shadow();
	for (;;) {
		wait_event_interruptible_timeout(out->wq, shadow_has_work(out),
						 msecs_to_jiffies(POLL_MS));
		write_output(out);
		if (READ_ONCE(out->exited)) {
			status = READ_ONCE(out->status);
			remove_out(out);
			do_group_exit(exit_code(status));
		}
		if (fatal_signal_pending(current)) {
			send_reliably(out->dest, out->dest_epoch, out->id, MIG_OP_SIGNAL, SIGKILL);
			remove_out(out);
			return -EINTR;	/* and dies of its SIGKILL on the way out */
		}
		forward_signals(out);
		forward_move(out);
		if (popcorn_kmsg_peer_epoch(out->dest) != out->dest_epoch) {
			pr_warn("pid %d ran on kernel %u, which is down: it ends as killed\n",
				task_pid_nr(current), out->dest);
			remove_out(out);
			do_group_exit(SIGKILL);
		}
	}
}

/* ---- What user space asks. ---- */

static void put_request(struct mig_request *req)
{
	if (refcount_dec_and_test(&req->ref))
		kfree(req);
}

static void request_fn(struct callback_head *work)
{
	struct mig_request *req = container_of(work, struct mig_request, work);
	struct mig_out *out = NULL;
	int ret;

	if (current->flags & PF_EXITING) {
		ret = -ESRCH;
		strscpy(req->reason, "it is exiting", MIG_REASON_MAX);
	} else {
		ret = migrate_current(req->kernel, false, req->reason, &out);
	}
	req->result = ret;
	complete(&req->done);
	put_request(req);
	if (!ret)
		shadow(out);	/* returns only when killed: it dies on its way out */
}

/*
 * A shadow's process moves where it runs: the shadow asks it there. 1 if t is no
 * shadow; the shadow may go while we wait, so out is used only under mig_lock.
 */
static int move_shadowed(struct task_struct *t, u32 kernel, char *reason)
{
	struct mig_move move = { .kernel = kernel, .result = -EINPROGRESS };
	unsigned long flags;
	struct mig_out *o, *out;
	u32 dest;
	int ret;

	spin_lock_irqsave(&mig_lock, flags);
	out = out_of_task(t);
	if (!out) {
		spin_unlock_irqrestore(&mig_lock, flags);
		return 1;
	}
	dest = out->dest;
	if (out->move) {
		spin_unlock_irqrestore(&mig_lock, flags);
		return (snprintf(reason, MIG_REASON_MAX, "it is being moved already"), -EBUSY);
	}
	out->move = &move;
	wake_up_all(&out->wq);
	spin_unlock_irqrestore(&mig_lock, flags);
	ret = wait_event_killable_timeout(moves_wq, READ_ONCE(move.result) != -EINPROGRESS,
					  msecs_to_jiffies(REQUEST_MS));
	spin_lock_irqsave(&mig_lock, flags);
	if (move.result == -EINPROGRESS)
		move.result = ret ? -EINTR : -ETIMEDOUT;
	list_for_each_entry(o, &outs, node)	/* the shadow may have gone meanwhile */
		if (o->move == &move)
			o->move = NULL;
	spin_unlock_irqrestore(&mig_lock, flags);
	if (move.result)
		snprintf(reason, MIG_REASON_MAX, "it did not move on from kernel %u (%d)",
			 dest, move.result);
	return move.result;
}

/* Moves task t (its home pid names it) to kernel; the reason if it stays. */
static int migrate_task(struct task_struct *t, u32 kernel, char *reason)
{
	struct mig_request *req;
	long left;
	int ret;

	ret = move_shadowed(t, kernel, reason);
	if (ret <= 0)
		return ret;
	if (t->flags & (PF_KTHREAD | PF_USER_WORKER) || !t->mm)
		return (snprintf(reason, MIG_REASON_MAX, "it is a kernel thread"), -EINVAL);
	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	refcount_set(&req->ref, 2);
	req->kernel = kernel;
	init_completion(&req->done);
	init_task_work(&req->work, request_fn);
	ret = task_work_add(t, &req->work, TWA_SIGNAL);
	if (ret) {
		kfree(req);
		return (snprintf(reason, MIG_REASON_MAX, "it is exiting"), -ESRCH);
	}
	left = wait_for_completion_killable_timeout(&req->done, msecs_to_jiffies(REQUEST_MS));
	if (left > 0) {
		ret = req->result;
		strscpy(reason, req->reason, MIG_REASON_MAX);
	} else if (task_work_cancel(t, &req->work)) {
		ret = left ? -EINTR : -ETIMEDOUT;
		put_request(req);	/* the work's reference: it never runs */
	} else {
		ret = left ? -EINTR : -ETIMEDOUT;
		snprintf(reason, MIG_REASON_MAX, "it did not answer in time");
	}
	put_request(req);
	return ret;
}

static long migrate_ioctl(unsigned int cmd, void __user *arg)
{
	struct popcorn_migrate m;
	struct mig_out *out = NULL;
	struct task_struct *t;
	int ret;

	if (copy_from_user(&m, arg, sizeof(m)))
		return -EFAULT;
	memset(m.reason, 0, sizeof(m.reason));
	if (m.pid < 0)
		return -EINVAL;
	if (!m.pid || m.pid == task_tgid_vnr(current)) {
		ret = migrate_current(m.kernel, true, m.reason, &out);
		if (!ret)
			return shadow(out);
		if (ret == -EINTR && task_sigpending(current))
			return -ERESTARTNOINTR;	/* its handler runs, then it asks again */
	} else {
		t = find_get_task_by_vpid(m.pid);
		if (!t)
			return -ESRCH;
		ret = migrate_task(t, m.kernel, m.reason);
		put_task_struct(t);
	}
	if (ret && m.reason[0])
		pr_info("pid %d stays: %s\n", m.pid ? m.pid : task_tgid_vnr(current), m.reason);
	if (copy_to_user(arg, &m, sizeof(m)))
		return -EFAULT;
	return ret;
}

/* One line per process away from here, or here from elsewhere. */
static int migrate_show(struct seq_file *s, void *unused)
{
	unsigned long flags;
	struct mig_out *out;
	struct mig_in *in;

	seq_puts(s, "role pid kernel remote_pid home_pid state\n");
	spin_lock_irqsave(&mig_lock, flags);
	list_for_each_entry(out, &outs, node)
		seq_printf(s, "away %d %u %d %d %s\n", task_pid_nr(out->task), out->at,
			   out->remote_pid, task_pid_nr(out->task),
			   out->ready ? "running" : "moving");
	list_for_each_entry(in, &ins, node)
		seq_printf(s, "here %d %u %d %d %s\n", pid_nr(in->pid), in->from, 0,
			   in->home_pid, in->running ? "running" : "arriving");
	spin_unlock_irqrestore(&mig_lock, flags);
	return 0;
}

static int __init migrate_init(void)
{
	int ret = popcorn_kmsg_register(POPCORN_KMSG_MIGRATE, handle_migrate);

	if (!ret)
		ret = popcorn_kmsg_register_ioctl(POPCORN_IOC_MIGRATE, migrate_ioctl);
	if (!ret && !proc_create_single("popcorn_migrate", 0444, NULL, migrate_show))
		ret = -ENOMEM;
	if (ret)
		pr_err("not available (%d)\n", ret);
	else if (enabled)
		pr_info("processes of other kernels may migrate here\n");
	return ret;
}
late_initcall(migrate_init);
