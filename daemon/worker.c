/* worker.c - the daemon's workers: a thread each, and a process each.
 *
 * DESIGN
 * A worker is a thread of the daemon and a process of its own. The thread
 * waits for the job the loop gives it, sends the job to its process as
 * bytes (wire.c), relays what comes back (progress, checkpoints, the
 * result) and writes the job's address to the loop's pipe. The process
 * runs the job on the data sets it inherited when it was forked (shared,
 * read-only, copy on write) and the model it was sent.
 *
 * So a job that crashes (a signal), is killed, or runs out of memory fails
 * alone: the thread sees its process end, fails the job with the reason
 * (which uses one of its attempts), and forks a new process for the next
 * job. A process dies with the daemon (PR_SET_PDEATHSIG), closes every
 * descriptor it inherited but its socket (the store's lock stays the
 * daemon's), ignores SIGINT and SIGTERM (a ^C reaches the whole process
 * group: the daemon stops its jobs), and stops its job at the next step
 * when the daemon asks, or when the daemon is gone. --job-memory limits the
 * address space a job may add to its process (RLIMIT_AS, soft).
 *
 * A process after a failed job is replaced: nothing of a job that ran out
 * of memory is left for the next. Workers never touch the store.
 *
 * The processes are not forked by the worker threads. fork() copies only
 * the thread that calls it, and a lock another thread held at that moment
 * stays held in the child for good: glibc's malloc guards against that,
 * but not every allocator does (a sanitizer's does not), nor every
 * library. So at start, before it has any thread, the daemon forks one
 * process, the spawner, which has the data sets (copy on write) and its
 * socket and nothing else, and forks a worker process whenever a worker
 * thread asks. The worker processes are the spawner's children: it reaps
 * them and says how they ended. It dies with the daemon, and they with it.
 * (An MPI rank, which has no thread of petri's, forks its process itself.)
 * The same holds for OpenMP's threads: the daemon runs no parallel region
 * before the spawner is forked (libgomp's pool does not survive a fork,
 * and a process that inherits one waits for its threads for ever).
 */
#define _GNU_SOURCE
#include "petrid_impl.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the worker process ---- */
/* close every descriptor from lo up (one by one where close_range is not
 * there: a kernel before 5.9) */
static void close_from(int lo)
{
	if (close_range((unsigned)lo, ~0u, 0) == 0)
		return;
	long n = sysconf(_SC_OPEN_MAX);
	if (n < 0 || n > 1 << 20)
		n = 1 << 20;
	for (long fd = lo; fd < n; fd++)
		close((int)fd);
}

typedef struct {
	int fd;
	job_t *j;
	int stop;          /* the daemon asked for a stop, or is gone */
	double last_step;  /* nn_now() of the last progress sent */
} proc_t;

/* between two steps: a stop from the daemon, or the daemon gone */
static int proc_stop_cb(void *ud)
{
	proc_t *p = ud;
	while (!p->stop && pd_msg_ready(p->fd)) {
		int type = 0;
		char *b;
		size_t n;
		if (pd_msg_recv(p->fd, &type, &b, &n) || type == PD_MSG_STOP)
			p->stop = 1;
		free(b);
	}
	return p->stop;
}

/* after every step: a child's loss curve, and the progress five times a
 * second at most (and at the last step) */
static void proc_step_cb(void *ud, long step, long steps, float loss, double img_s)
{
	proc_t *p = ud;
	(void)img_s;
	if (p->j->kind == PETRID_JOB_CHILD)
		petrid_curve_add(&p->j->curve, step, steps, loss);
	double t = nn_now();
	if (step == steps || t - p->last_step >= 0.2) {
		p->last_step = t;
		if (pd_step_send(p->fd, step, steps))
			p->stop = 1;
	}
}

/* every checkpoint_s seconds and when stopped: the job's state, for the
 * daemon to store */
static void proc_save_cb(void *ud, const nn_net *net, long step, long steps)
{
	proc_t *p = ud;
	petrid_ckpt k;
	memset(&k, 0, sizeof k);
	k.entry = p->j->entry;
	snprintf(k.model, sizeof k.model, "%s", p->j->model_id);
	k.kind = p->j->kind;
	k.step = step, k.steps = steps;
	nn_train_state st;
	nn_net_train_state(net, step, &st);
	k.nparams = st.nparams, k.nstate = st.nstate;
	k.params = st.params, k.mom = st.mom, k.state = st.state;
	char *buf;
	size_t len;
	if (petrid_ckpt_encode(&k, &buf, &len))
		return; /* out of memory: the previous checkpoint stays */
	if (pd_msg_send(p->fd, PD_MSG_CKPT, buf, len))
		p->stop = 1;
	free(buf);
}

/* ---- simulated jobs (--simulate) ----
 * The daemon, queues, store and frontier are the real ones; a job does not
 * train. It takes the time a model of its training gives (3 multiply-adds
 * per weight use, forward and backward, at SIM_MACS_PER_S; a candidate net
 * about SIM_CAND_COST times its parent), divided by the speed-up, and a
 * child gets a synthetic accuracy that grows with its multiply-adds, with a
 * jitter drawn from its id: the same for the same model. A candidate job
 * still builds its candidate and its child for real (random winners, one
 * training step), so the models are real architectures. */
#define SIM_MACS_PER_S 1e10
#define SIM_CAND_COST 3.0

static uint64_t sim_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ^ (h >> 29);
}

/* t seconds, with the progress of steps pretend steps; NN_ESTOP when stopped */
static int sim_wait(proc_t *p, double t, long steps)
{
	double t0 = nn_now();
	for (;;) {
		double el = nn_now() - t0;
		if (el >= t)
			break;
		if (proc_stop_cb(p))
			return NN_ESTOP;
		long step = (long)((double)steps * el / t);
		if (step >= 1 && step < steps)
			proc_step_cb(p, step, steps, 1.0f, 0);
		double left = t - el;
		usleep(left > 0.01 ? 10000 : (useconds_t)(left * 1e6) + 1);
	}
	proc_step_cb(p, steps, steps, 1.0f, 0);
	return 0;
}

static double sim_seconds(uint64_t macs, double rows, double factor, double speedup)
{
	return 3.0 * (double)macs * rows * factor / SIM_MACS_PER_S / speedup;
}

static int sim_child(proc_t *p, const daemon_t *d, job_t *j)
{
	nn_model *m = &j->out;
	nn_cost c;
	int rc = nn_graph_cost(&m->g, 1, &c, j->err, sizeof j->err);
	if (rc)
		return rc;
	double rows = (double)d->tr.n * j->set.epoch_frac;
	if ((rc = sim_wait(p, sim_seconds(c.macs, rows, 1, j->set.simulate), 100)))
		return rc;
	double x = log1p((double)c.macs / 2e4) / 6;
	double h = (double)(sim_hash(m->lineage.id) >> 11) / 9007199254740992.0;
	float acc = (float)(0.55 + 0.4 * (1 - exp(-x)) + 0.02 * (h - 0.5));
	m->metrics.val_acc = acc, m->metrics.val_loss = -logf(acc);
	m->metrics.test_acc = acc - 0.005f, m->metrics.test_loss = -logf(acc - 0.005f);
	m->metrics.epochs += j->set.epoch_frac;
	c.latency_ms = (double)c.macs / 1e6; /* modelled: 1 G multiply-adds a second */
	m->cost = c;
	return 0;
}

static void run_job(proc_t *p, const daemon_t *d, job_t *j)
{
	const pd_settings *s = &j->set;
	double t0 = nn_now();
	nn_train_opts to;
	nn_train_defaults(&to);
	to.batch = s->batch;
	to.lr = s->lr;
	to.seed = j->seed;
	to.stop = proc_stop_cb;
	to.stop_ud = p;
	to.verbose = 0;
	to.on_step = proc_step_cb;
	to.step_ud = p;
	to.save = proc_save_cb;
	to.save_ud = p;
	to.save_every_s = s->checkpoint_s;
	to.epoch_frac = s->epoch_frac;
	nn_train_state rs;
	if (j->resume.owned) {
		rs = (nn_train_state){ j->resume.step, j->resume.nparams, j->resume.nstate, j->resume.params,
				       j->resume.mom, j->resume.state };
		to.resume = &rs;
	}
	petrid_curve_begin(&j->curve);
	/* the nets of this job are planned for these threads (nn_net_create) */
	int th = j->threads > 0 ? j->threads : 1;
	nn_set_threads(th); /* OpenMP and BLAS: the process is the job's */
	nn_set_thread_threads(th);
	if (j->kind == PETRID_JOB_CHILD && s->simulate > 0) {
		j->out = j->model;
		memset(&j->model, 0, sizeof j->model);
		j->rc = sim_child(p, d, j);
		petrid_curve_end(&j->curve);
	} else if (j->kind == PETRID_JOB_CHILD) {
		if (to.epoch_frac <= 0)
			to.epochs = 0; /* a warm start evaluated as it is */
		j->out = j->model;
		memset(&j->model, 0, sizeof j->model);
		j->rc = grow_train_child(&j->out, &d->tr, &d->va, &d->te, &to, j->err, sizeof j->err);
		petrid_curve_end(&j->curve);
		if (!j->rc && !(j->out.metrics.val_loss == j->out.metrics.val_loss))
			j->rc = NN_ENAN, snprintf(j->err, sizeof j->err, "validation loss is NaN");
	} else if (s->simulate > 0) {
		grow_opts go = s->grow;
		go.random = 1, go.eval_rows = 16;
		to.epoch_frac = 1e-9; /* one step */
		to.save_every_s = 0;
		nn_cost c;
		j->rc = nn_graph_cost(&j->model.g, 1, &c, j->err, sizeof j->err);
		if (!j->rc)
			j->rc = grow_run_candidate(&j->model, &d->tr, &d->va, &go, &to, &j->out, &j->rep, j->err,
						   sizeof j->err);
		if (!j->rc)
			j->rc = sim_wait(p, sim_seconds(c.macs, (double)d->tr.n * s->epoch_frac, SIM_CAND_COST, s->simulate),
					 100);
	} else {
		j->rc = grow_run_candidate(&j->model, &d->tr, &d->va, &s->grow, &to, &j->out, &j->rep, j->err,
					   sizeof j->err);
	}
	if (j->rc == NN_ESTOP)
		snprintf(j->err, sizeof j->err, "stopped");
	else if (j->rc && !j->err[0])
		snprintf(j->err, sizeof j->err, "%s", grow_strerror(j->rc));
	if (j->rc == NN_ENOMEM && s->job_memory) {
		size_t n = strlen(j->err);
		snprintf(j->err + n, sizeof j->err - n, " (over --job-memory, %.4g MB)", (double)s->job_memory / 1e6);
	}
	j->seconds = nn_now() - t0;
}

/* the address space of this process now, in bytes (0: unknown) */
static uint64_t vm_size(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long pages = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &pages) != 1)
		pages = 0;
	fclose(f);
	return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* a job's memory: what the process has when it starts, plus the limit */
static void limit_memory(uint64_t base, uint64_t extra)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_AS, &r))
		return;
	rlim_t want = extra ? (rlim_t)(base + extra) : r.rlim_max;
	if (r.rlim_max != RLIM_INFINITY && want > r.rlim_max)
		want = r.rlim_max;
	r.rlim_cur = want;
	setrlimit(RLIMIT_AS, &r);
}

/* A process the daemon's (the spawner) or the spawner's (a worker) has
 * just forked: it dies with its parent, leaves SIGINT and SIGTERM to the
 * daemon, and keeps its socket fd (as 3) and nothing else of its parent's
 * descriptors (the store's and its lock stay the daemon's); 3. */
static int child_setup(int fd, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0); /* the parent died before the line above */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (fd != 3 && dup2(fd, 3) < 0)
		_exit(1);
	close_from(4);
	return 3;
}

/* The worker process: jobs in, results out, until the daemon closes the
 * socket (or dies). Never returns. */
static void proc_main(const daemon_t *d, int fd, pid_t daemon_pid)
{
	fd = child_setup(fd, daemon_pid);
	uint64_t base = vm_size();
	for (;;) {
		int type = 0;
		char *b;
		size_t n;
		if (pd_msg_recv(fd, &type, &b, &n))
			break; /* the daemon closed the socket, or died */
		if (type != PD_MSG_JOB) {
			free(b);
			continue; /* a stop after its job ended */
		}
		job_t j;
		char err[512] = "";
		int rc = pd_job_decode(b, n, &j, err, sizeof err);
		free(b);
		if (rc) {
			/* the daemon's own message: it cannot be; say why and go */
			fprintf(stderr, "petri worker %d: %s\n", (int)getpid(), err);
			break;
		}
		limit_memory(base, j.set.job_memory);
		proc_t p = { fd, &j, 0, 0 };
		run_job(&p, d, &j);
		char *res;
		size_t len;
		if (pd_result_encode(&j, &res, &len)) {
			/* no memory for the result: the daemon sees the process end */
			fprintf(stderr, "petri worker %d: the result of job %llu cannot be encoded (out of memory)\n",
				(int)getpid(), (unsigned long long)j.entry);
			break;
		}
		int sent = pd_msg_send(fd, PD_MSG_RESULT, res, len);
		free(res);
		int failed = j.rc != 0;
		nn_model_free(&j.model);
		nn_model_free(&j.out);
		grow_report_free(&j.rep);
		petrid_ckpt_free(&j.resume);
		if (sent || failed)
			break; /* a new process for the next job */
	}
	_exit(0);
}

/* ---- the spawner ----
 * One request at a time on its socket (SOCK_SEQPACKET: a message each),
 * under d->spawner_mu, and one reply:
 *   SP_SPAWN, with the worker's end of its socket (SCM_RIGHTS): the new
 *     process's pid, or an errno;
 *   SP_WAIT pid: whether the process runs, or how it ended (waitpid's
 *     status; it is reaped).
 */
enum { SP_SPAWN = 1, SP_WAIT = 2 };
typedef struct {
	int32_t op, pid;
} sp_req;
typedef struct {
	int32_t state; /* SP_RUNS, SP_ENDED (status), SP_FAILED (errno in status) */
	int32_t pid, status;
} sp_rep;
enum { SP_RUNS = 0, SP_ENDED = 1, SP_FAILED = 2 };

/* a request and the descriptor it carries (*fdp, -1: none) */
static ssize_t sp_recv(int fd, sp_req *q, int *fdp)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec io = { q, sizeof *q };
	struct msghdr m = { 0 };
	m.msg_iov = &io, m.msg_iovlen = 1;
	m.msg_control = u.b, m.msg_controllen = sizeof u.b;
	*fdp = -1;
	ssize_t r;
	do
		r = recvmsg(fd, &m, 0);
	while (r < 0 && errno == EINTR);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); r > 0 && c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fdp, CMSG_DATA(c), sizeof(int));
	return r;
}

/* The spawner: requests in, replies out, until the daemon closes the
 * socket (or dies). Never returns. */
static void spawner_main(const daemon_t *d, int fd, pid_t daemon_pid)
{
	fd = child_setup(fd, daemon_pid);
	signal(SIGCHLD, SIG_DFL);
	pid_t me = getpid();
	for (;;) {
		sp_req q;
		int wfd;
		if (sp_recv(fd, &q, &wfd) != (ssize_t)sizeof q) {
			if (wfd >= 0)
				close(wfd);
			break; /* the daemon closed the socket, or died */
		}
		sp_rep a = { SP_FAILED, q.pid, EINVAL };
		if (q.op == SP_SPAWN && wfd >= 0) {
			pid_t pid = fork();
			if (pid == 0) {
				close(fd);
				proc_main(d, wfd, me);
			}
			if (pid < 0)
				a.status = errno;
			else
				a.state = SP_RUNS, a.pid = pid, a.status = 0;
		} else if (q.op == SP_WAIT && q.pid > 0) {
			int st = 0;
			pid_t r = waitpid(q.pid, &st, WNOHANG);
			if (r == q.pid)
				a.state = SP_ENDED, a.status = st;
			else if (r == 0)
				a.state = SP_RUNS, a.status = 0;
			else
				a.status = errno;
		}
		if (wfd >= 0)
			close(wfd);
		ssize_t s;
		do
			s = send(fd, &a, sizeof a, MSG_NOSIGNAL);
		while (s < 0 && errno == EINTR);
		if (s != (ssize_t)sizeof a)
			break;
	}
	_exit(0);
}

/* a request to the spawner (with descriptor sendfd, -1: none) and its
 * reply; 0, or -1: the spawner is gone */
static int sp_call(daemon_t *d, int op, pid_t pid, int sendfd, sp_rep *a)
{
	sp_req q = { op, (int32_t)pid };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct iovec io = { &q, sizeof q };
	struct msghdr m = { 0 };
	m.msg_iov = &io, m.msg_iovlen = 1;
	if (sendfd >= 0) {
		m.msg_control = u.b, m.msg_controllen = sizeof u.b;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &sendfd, sizeof(int));
	}
	pthread_mutex_lock(&d->spawner_mu);
	ssize_t s = -1, r = -1;
	if (!atomic_load(&d->spawner_gone)) {
		do
			s = sendmsg(d->spawner_fd, &m, MSG_NOSIGNAL);
		while (s < 0 && errno == EINTR);
	}
	/* a reply within 30 s (a fork takes milliseconds): a spawner that
	 * does not answer is killed, and gone */
	double t0 = nn_now();
	while (s == (ssize_t)sizeof q && r < 0) {
		int left = (int)(1000 * (30 - (nn_now() - t0)));
		if (left <= 0)
			break;
		struct pollfd p = { d->spawner_fd, POLLIN, 0 };
		int n = poll(&p, 1, left);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		do
			r = recv(d->spawner_fd, a, sizeof *a, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r < 0 && errno != EAGAIN)
			break;
	}
	if (r != (ssize_t)sizeof *a && !atomic_load(&d->spawner_gone)) {
		atomic_store(&d->spawner_gone, 1);
		kill(d->spawner, SIGKILL); /* reaped by spawner_stop */
	}
	pthread_mutex_unlock(&d->spawner_mu);
	return r == (ssize_t)sizeof *a ? 0 : -1;
}

/* Before the daemon has any thread: fork the spawner. */
static int spawner_start(daemon_t *d, char *err, size_t errlen)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		nn_errf(err, errlen, "the workers' spawner: socketpair: %s", strerror(errno));
		return PETRID_EWORKER;
	}
	int rc = pthread_mutex_init(&d->spawner_mu, NULL);
	if (rc) {
		close(sv[0]), close(sv[1]);
		nn_errf(err, errlen, "the workers' spawner: %s", strerror(rc));
		return PETRID_EWORKER;
	}
	pid_t me = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		spawner_main(d, sv[1], me);
	}
	close(sv[1]);
	if (pid < 0) {
		nn_errf(err, errlen, "the workers' spawner: fork: %s", strerror(errno));
		close(sv[0]);
		pthread_mutex_destroy(&d->spawner_mu);
		return PETRID_EWORKER;
	}
	d->spawner = pid, d->spawner_fd = sv[0];
	atomic_store(&d->spawner_gone, 0);
	return 0;
}

/* After the worker threads are gone: the spawner ends (its socket closed). */
static void spawner_stop(daemon_t *d)
{
	if (d->spawner <= 0)
		return;
	close(d->spawner_fd);
	double t0 = nn_now();
	while (waitpid(d->spawner, NULL, WNOHANG) == 0) {
		if (nn_now() - t0 > 5) {
			kill(d->spawner, SIGKILL);
			waitpid(d->spawner, NULL, 0);
			break;
		}
		usleep(2000);
	}
	pthread_mutex_destroy(&d->spawner_mu);
	d->spawner = 0, d->spawner_fd = -1;
}

/* ---- the worker thread ---- */
int pd_proc_spawn(worker_t *w, char *err, size_t errlen)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		nn_errf(err, errlen, "worker %d: socketpair: %s", w->idx, strerror(errno));
		return PETRID_EWORKER;
	}
	daemon_t *d = w->d;
	if (d->spawner > 0) {
		sp_rep a;
		int rc = sp_call(d, SP_SPAWN, 0, sv[1], &a);
		if (!rc && a.state != SP_RUNS) {
			close(sv[0]), close(sv[1]);
			nn_errf(err, errlen, "worker %d: fork: %s", w->idx, strerror(a.status));
			return PETRID_EWORKER;
		}
		if (!rc) {
			close(sv[1]);
			w->pid = a.pid, w->fd = sv[0], w->own = 0;
			return 0;
		}
		/* the spawner is gone (killed): forked here, as a last resort, on
		 * a new socket (a process the spawner forked before it died may
		 * hold the other end of this one) */
		close(sv[0]), close(sv[1]);
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
			nn_errf(err, errlen, "worker %d: socketpair: %s", w->idx, strerror(errno));
			return PETRID_EWORKER;
		}
	}
	pid_t me = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		nn_errf(err, errlen, "worker %d: fork: %s", w->idx, strerror(errno));
		close(sv[0]), close(sv[1]);
		return PETRID_EWORKER;
	}
	if (pid == 0) {
		close(sv[0]);
		proc_main(d, sv[1], me);
	}
	close(sv[1]);
	w->pid = pid, w->fd = sv[0], w->own = 1;
	return 0;
}

/* SIGKILL to w's process; not to one the spawner forked when the spawner
 * is gone: it died with it, and its pid may be another process's now */
static void proc_kill(worker_t *w)
{
	if (w->own || w->d->spawner <= 0 || !atomic_load(&w->d->spawner_gone))
		kill(w->pid, SIGKILL);
}

/* whether w's process ended (1: *st says how; -1: it is not known), or
 * runs (0) */
static int proc_ended(worker_t *w, int *st)
{
	if (w->d->spawner > 0 && !w->own) {
		sp_rep a;
		if (sp_call(w->d, SP_WAIT, w->pid, -1, &a) || a.state == SP_FAILED)
			return -1;
		*st = a.status;
		return a.state == SP_ENDED;
	}
	pid_t r = waitpid(w->pid, st, WNOHANG);
	return r == w->pid ? 1 : r == 0 ? 0 : -1;
}

void pd_proc_reap(worker_t *w, double wait_s, char *how, size_t howlen)
{
	if (how && howlen)
		how[0] = 0;
	if (w->remote)
		return;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->pid <= 0)
		return;
	int st = 0;
	double t0 = nn_now();
	int r;
	while ((r = proc_ended(w, &st)) == 0 && nn_now() - t0 < wait_s)
		usleep(10000);
	if (r == 0) {
		proc_kill(w);
		t0 = nn_now();
		while ((r = proc_ended(w, &st)) == 0 && nn_now() - t0 < 10)
			usleep(1000);
	}
	if (how && r == 1) {
		if (WIFSIGNALED(st))
			snprintf(how, howlen, "worker process %d killed by signal %d (%s)", (int)w->pid, WTERMSIG(st),
				 strsignal(WTERMSIG(st)));
		else if (WIFEXITED(st))
			snprintf(how, howlen, "worker process %d exited with status %d", (int)w->pid, WEXITSTATUS(st));
	}
	w->pid = 0;
}

/* the process ended in the middle of job j: the job fails with the reason */
static void died(worker_t *w, job_t *j)
{
	char how[200];
	pd_proc_reap(w, 5, how, sizeof how);
	j->rc = PETRID_EWORKER;
	if (w->remote)
		snprintf(j->err, sizeof j->err, "rank %d lost", w->remote);
	else
		snprintf(j->err, sizeof j->err, "%s", how[0] ? how : "worker process lost");
}

/* the job to the process, then its progress, checkpoints and result */
static void relay(worker_t *w, job_t *j)
{
	double t0 = nn_now();
	char *msg;
	size_t len;
	if (pd_job_encode(j, &msg, &len)) {
		j->rc = NN_ENOMEM;
		snprintf(j->err, sizeof j->err, "the job cannot be encoded for its worker (out of memory)");
		return;
	}
	int sent = 0;
	/* a process that died while idle is replaced, and the job sent again */
	for (int tries = 0; tries < 2 && !sent; tries++) {
		if (!w->remote && w->pid <= 0 && pd_proc_spawn(w, j->err, sizeof j->err))
			break;
		sent = pd_msg_send(w->fd, PD_MSG_JOB, msg, len) == 0;
		if (!sent)
			pd_proc_reap(w, 5, NULL, 0);
	}
	free(msg);
	if (!sent) {
		j->rc = PETRID_EWORKER;
		if (!j->err[0])
			snprintf(j->err, sizeof j->err, "worker %d: its process does not take jobs", w->idx);
		return;
	}
	int stop_sent = 0, killed = 0;
	double quit_at = 0, limit = w->d->o->job_timeout;
	for (;;) {
		if (!stop_sent && atomic_load(&w->cancel))
			stop_sent = pd_msg_send(w->fd, PD_MSG_STOP, NULL, 0) == 0;
		if (limit > 0 && !killed && nn_now() - t0 > limit) {
			/* a job past --job-timeout: its process is killed (a rank
			 * kills its own), and the job fails with the reason */
			killed = 1;
			if (w->remote)
				pd_msg_send(w->fd, PD_MSG_KILL, NULL, 0);
			else {
				proc_kill(w);
				pd_proc_reap(w, 5, NULL, 0);
				j->rc = PETRID_EWORKER;
				snprintf(j->err, sizeof j->err, "timed out after %.0f s (--job-timeout): its worker process was killed",
					 limit);
				break;
			}
		}
		if (!quit_at && w->quit)
			quit_at = nn_now();
		if (quit_at && nn_now() - quit_at > 30) {
			/* the daemon ends and the job does not stop: it ends with it */
			if (!w->remote)
				proc_kill(w);
			died(w, j);
			return;
		}
		struct pollfd p = { w->fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		int type = 0;
		char *b;
		size_t n;
		if (pd_msg_recv(w->fd, &type, &b, &n)) {
			died(w, j);
			return;
		}
		if (type == PD_MSG_STEP) {
			long step, steps;
			if (!pd_step_parse(b, n, &step, &steps)) {
				atomic_store_explicit(&w->steps, steps, memory_order_relaxed);
				atomic_store_explicit(&w->step, step, memory_order_relaxed);
			}
			free(b);
		} else if (type == PD_MSG_CKPT) {
			pthread_mutex_lock(&w->mu);
			free(w->ckpt);
			w->ckpt = b, w->ckptlen = n;
			pthread_mutex_unlock(&w->mu);
		} else if (type == PD_MSG_RESULT) {
			char err[400] = "";
			int rc = pd_result_decode(b, n, j, err, sizeof err);
			free(b);
			if (rc) {
				pd_proc_reap(w, 5, NULL, 0);
				j->rc = PETRID_EWORKER;
				snprintf(j->err, sizeof j->err, "worker %d: %s", w->idx, err);
			} else if (j->rc) {
				pd_proc_reap(w, 5, NULL, 0); /* a fresh process for the next job */
			}
			break;
		} else {
			free(b);
		}
	}
	if (j->seconds <= 0)
		j->seconds = nn_now() - t0;
}

/* A worker relays the job it is given and reports it once; `reported`
 * stays set until the loop has taken the result (finish) or given a new
 * job, so a new job at a recycled address is never mistaken for the old
 * one. */
static void *worker_main(void *arg)
{
	worker_t *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while ((!w->job || w->reported) && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		job_t *j = w->quit ? NULL : w->job;
		pthread_mutex_unlock(&w->mu);
		if (!j)
			break;
		relay(w, j);
		pthread_mutex_lock(&w->mu);
		w->reported = 1;
		pthread_mutex_unlock(&w->mu);
		ssize_t r;
		do
			r = write(w->d->pipefd[1], &j, sizeof j);
		while (r < 0 && errno == EINTR);
	}
	if (w->remote && w->fd >= 0)
		close(w->fd), w->fd = -1; /* the bridge tells the rank to quit */
	pd_proc_reap(w, 10, NULL, 0);
	return NULL;
}

int pd_workers_start(daemon_t *d, char *err, size_t errlen)
{
	d->w = calloc(d->nw, sizeof(worker_t));
	if (!d->w) {
		nn_errf(err, errlen, "out of memory for %d workers", d->nw);
		return PETRID_ESTORE;
	}
	for (int i = 0; i < d->nw; i++)
		d->w[i].d = d, d->w[i].idx = i, d->w[i].fd = -1;
	/* MPI: the workers' sockets lead to ranks, through the bridge; here,
	 * the spawner forks their processes */
	d->spawner_fd = -1;
	int rc = d->mpi ? pd_mpi_start(d, err, errlen) : spawner_start(d, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < d->nw; i++) {
		worker_t *w = &d->w[i];
		atomic_init(&w->cancel, 0);
		atomic_init(&w->step, 0);
		atomic_init(&w->steps, 0);
		rc = pthread_mutex_init(&w->mu, NULL);
		if (!rc && (rc = pthread_cond_init(&w->cv, NULL)))
			pthread_mutex_destroy(&w->mu);
		if (!rc) {
			w->inited = 1;
			rc = pthread_create(&w->th, NULL, worker_main, w);
		}
		if (rc) {
			nn_errf(err, errlen, "cannot start worker %d of %d: %s", i + 1, d->nw, strerror(rc));
			return PETRID_ESTORE;
		}
		w->running = 1;
	}
	return 0;
}

void pd_worker_give(worker_t *w, job_t *j)
{
	pthread_mutex_lock(&w->mu);
	w->job = j;
	w->reported = 0;
	w->busy = 1;
	free(w->ckpt);
	w->ckpt = NULL;
	atomic_store(&w->cancel, 0);
	atomic_store(&w->step, 0);
	atomic_store(&w->steps, 0);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void pd_worker_done(worker_t *w)
{
	pthread_mutex_lock(&w->mu);
	w->job = NULL;
	w->reported = 0;
	w->busy = 0;
	free(w->ckpt);
	w->ckpt = NULL;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void pd_workers_stop(daemon_t *d)
{
	if (!d->w)
		return;
	for (int i = 0; i < d->nw; i++) {
		worker_t *w = &d->w[i];
		if (!w->running)
			continue;
		pthread_mutex_lock(&w->mu);
		w->quit = 1;
		atomic_store(&w->cancel, 1);
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	for (int i = 0; i < d->nw; i++) {
		worker_t *w = &d->w[i];
		if (w->running)
			pthread_join(w->th, NULL);
		/* a result not read from the pipe: drop it, the lease returns */
		pd_job_free(w->job);
		free(w->ckpt);
		if (w->inited) {
			pthread_mutex_destroy(&w->mu);
			pthread_cond_destroy(&w->cv);
		}
		if (w->fd >= 0)
			close(w->fd); /* a worker whose thread never started */
	}
	if (d->mpi)
		pd_mpi_stop();
	spawner_stop(d);
	free(d->w);
	d->w = NULL;
}

void pd_job_free(job_t *j)
{
	if (!j)
		return;
	nn_model_free(&j->model);
	nn_model_free(&j->out);
	grow_report_free(&j->rep);
	petrid_ckpt_free(&j->resume);
	free(j->ckbuf);
	free(j);
}
