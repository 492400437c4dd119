/* daemon.c - the search's event loop.
 *
 * DESIGN
 * One thread (the loop) owns the experiment: the store, the frontier, the
 * budget. N worker threads each run one job at a time on a private copy of
 * the model it needs (the data sets are shared read-only) and report the
 * result through a pipe. Every state change is one store transaction made
 * by the loop:
 *   seed          model (state new) + child job
 *   child done    trained model + job done + its frontier point + frontier
 *                 header + event
 *   parent chosen the parent's frontier point (expanded count) + frontier
 *                 header (generator) + parent entry
 *                 (done) + 1-2 candidate jobs + event with the reason
 *   cand done     child model (state new) + child job + job done + event
 *   job failed    entry back to queued (or failed for good after 3) + event
 * Jobs are leased newest first (depth first): children before candidates,
 * so finished growth is trained before more is proposed. A killed daemon
 * loses only the jobs in flight: on restart q_recover() returns their
 * leases to the queue and they run again; nothing committed is redone.
 * Signal handlers only set a flag; "stop" on the control socket too.
 */
#include "petrid.h"
#include "exp.h"

#include "frontier.h"
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <msgpack.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static volatile sig_atomic_t g_stop;

void petrid_request_stop(void) { g_stop = 1; }

const char *petrid_strerror(int err)
{
	switch (err) {
	case PETRID_OK: return "ok";
	case PETRID_EINVAL: return "invalid option";
	case PETRID_EDATA: return "data set problem";
	case PETRID_ESTORE: return "store problem";
	case PETRID_EMODEL: return "model problem";
	case PETRID_EBUSY: return "another daemon runs this experiment";
	}
	return "unknown error";
}

void petrid_defaults(petrid_opts *o)
{
	memset(o, 0, sizeof *o);
	o->threads = 1;
	o->seed = 1;
	o->nval = -1;
	o->batch = 128;
	o->lr = 0.05f;
	o->seed_epochs = 1;
	o->cand_epochs = 0.5;
	o->child_epochs = 1;
	o->cands_per_parent = 2;
	grow_seed_defaults(&o->seed_net);
	grow_opts_defaults(&o->grow);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- job payloads: ["PETRIJOB", 1, kind, model id, seed] ---- */
enum { JOB_CHILD = 1, JOB_CAND = 2, JOB_PARENT = 3 };

static int job_encode(int kind, const char *model, uint64_t seed, char **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_str(&pk, 8);
	msgpack_pack_str_body(&pk, "PETRIJOB", 8);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_int(&pk, kind);
	size_t l = strlen(model);
	msgpack_pack_str(&pk, l);
	msgpack_pack_str_body(&pk, model, l);
	msgpack_pack_uint64(&pk, seed);
	*buf = sb.data, *len = sb.size;
	return sb.data ? 0 : -1;
}

static int job_decode(const void *buf, size_t len, int *kind, char model[Q_IDLEN], uint64_t *seed)
{
	if (!buf || nn_msgpack_check(buf, len, 4))
		return -1;
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	int rc = -1;
	if (msgpack_unpack_next(&up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS)
		goto out;
	msgpack_object *o = &up.data;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 5)
		goto out;
	msgpack_object *f = o->via.array.ptr;
	if (f[0].type != MSGPACK_OBJECT_STR || f[0].via.str.size != 8 || memcmp(f[0].via.str.ptr, "PETRIJOB", 8))
		goto out;
	if (f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[1].via.u64 != 1)
		goto out;
	if (f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[2].via.u64 < 1 || f[2].via.u64 > 3)
		goto out;
	if (f[3].type != MSGPACK_OBJECT_STR || f[3].via.str.size >= Q_IDLEN || f[4].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		goto out;
	*kind = (int)f[2].via.u64;
	memcpy(model, f[3].via.str.ptr, f[3].via.str.size);
	model[f[3].via.str.size] = 0;
	*seed = f[4].via.u64;
	rc = 0;
out:
	msgpack_unpacked_destroy(&up);
	return rc;
}

/* ---- workers ---- */
typedef struct daemon daemon_t;

typedef struct {
	int kind;            /* JOB_CHILD, JOB_CAND */
	uint64_t entry;      /* queue entry id */
	char owner[64];
	char model_id[Q_IDLEN]; /* the job's model (child to train, or parent) */
	uint64_t seed;
	nn_model model;      /* private copy */
	/* results */
	int rc;
	char err[512];
	nn_model out;        /* trained child, or the grown (untrained) child */
	grow_report rep;
	double seconds;
} job_t;

typedef struct {
	daemon_t *d;
	int idx;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job_t *job;          /* set by the loop, cleared by the loop after the result */
	int quit;
	int reported;        /* the worker has reported w->job */
	volatile int cancel;
	int busy;
} worker_t;

struct daemon {
	const petrid_opts *o;
	q_store *st;
	fr_frontier *fr;
	nn_data tr, va, te;
	int pipefd[2];
	int sock;
	worker_t *w;
	int nw;
	double t0, elapsed0, budget_s;
	long budget_jobs, jobs_done;
	uint64_t max_macs;
	int max_depth;
	double cand_epochs, child_epochs, seed_epochs;
	int random_growth;
	uint64_t seed;
	int tty;
	double last_progress;
	float best_acc;
	char best_id[Q_IDLEN];
	int stopping;
	char stop_reason[160];
	int store_rc;       /* a failed store write that stopped the search (exit non-zero) */
	int fails_in_row;    /* failed jobs since the last success */
};

static int worker_stop_cb(void *ud)
{
	worker_t *w = ud;
	return w->cancel || g_stop;
}

static void run_job(worker_t *w, job_t *j)
{
	daemon_t *d = w->d;
	double t0 = now_s();
	nn_train_opts to;
	nn_train_defaults(&to);
	to.batch = d->o->batch;
	to.lr = d->o->lr;
	to.seed = j->seed;
	to.stop = worker_stop_cb;
	to.stop_ud = w;
	to.verbose = 0;
	if (j->kind == JOB_CHILD) {
		to.epoch_frac = j->model.lineage.depth == 0 && !j->model.lineage.parent[0] ? d->seed_epochs : d->child_epochs;
		j->out = j->model;
		memset(&j->model, 0, sizeof j->model);
		j->rc = grow_train_child(&j->out, &d->tr, &d->va, &d->te, &to, j->err, sizeof j->err);
		if (!j->rc && !(j->out.metrics.val_loss == j->out.metrics.val_loss))
			j->rc = NN_ENAN, snprintf(j->err, sizeof j->err, "validation loss is NaN");
	} else {
		grow_opts go = d->o->grow;
		go.seed = j->seed;
		go.random = d->random_growth;
		to.epoch_frac = d->cand_epochs;
		j->rc = grow_run_candidate(&j->model, &d->tr, &d->va, &go, &to, &j->out, &j->rep, j->err, sizeof j->err);
	}
	if (j->rc == NN_ESTOP)
		snprintf(j->err, sizeof j->err, "stopped");
	else if (j->rc && !j->err[0])
		snprintf(j->err, sizeof j->err, "%s", nn_strerror(j->rc));
	j->seconds = now_s() - t0;
}

/* A worker runs the job it is given and reports it once; `reported` stays
 * set until the loop has taken the result (finish) or given a new job, so
 * a new job at a recycled address is never mistaken for the old one. */
static void *worker_main(void *arg)
{
	worker_t *w = arg;
#ifdef _OPENMP
	omp_set_num_threads(w->d->o->threads > 0 ? w->d->o->threads : 1);
#endif
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while ((!w->job || w->reported) && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		job_t *j = w->quit ? NULL : w->job;
		pthread_mutex_unlock(&w->mu);
		if (!j)
			break;
		run_job(w, j);
		pthread_mutex_lock(&w->mu);
		w->reported = 1;
		pthread_mutex_unlock(&w->mu);
		ssize_t r;
		do
			r = write(w->d->pipefd[1], &j, sizeof j);
		while (r < 0 && errno == EINTR);
	}
	return NULL;
}

static void job_free(job_t *j)
{
	if (!j)
		return;
	nn_model_free(&j->model);
	nn_model_free(&j->out);
	free(j);
}

/* ---- logging ---- */
static void say(daemon_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(daemon_t *d, const char *fmt, ...)
{
	if (d->o->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (d->tty)
		fputs("\r\033[K", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- store transactions ---- */
typedef struct {
	daemon_t *d;
	job_t *j;
	char msg[600];
	int state;
	char child_id[Q_IDLEN];
	uint64_t child_entry;
	int pushed;
	const char *reason;
} tx_t;

static int cfg_set_num(q_txn *t, const char *k, double v)
{
	char b[64];
	snprintf(b, sizeof b, "%.17g", v);
	return q_config_set(t, k, b);
}

static double elapsed(const daemon_t *d) { return d->elapsed0 + (now_s() - d->t0); }

static int tx_child_done(q_txn *t, void *ud)
{
	tx_t *x = ud;
	int rc;
	if ((rc = q_model_put(t, &x->j->out, Q_MODEL_TRAINED)))
		return rc;
	if ((rc = q_done(t, x->j->entry, x->j->owner)))
		return rc;
	if ((rc = petrid_frontier_save(t, x->d->fr, x->j->out.lineage.id)))
		return rc;
	if ((rc = cfg_set_num(t, "jobs_done", (double)(x->d->jobs_done + 1))))
		return rc;
	if ((rc = cfg_set_num(t, "elapsed_s", elapsed(x->d))))
		return rc;
	return q_event(t, "%s", x->msg);
}

static int tx_cand_done(q_txn *t, void *ud)
{
	tx_t *x = ud;
	int rc;
	x->pushed = 0;
	if (x->j->rep.has_child) {
		if ((rc = q_model_new_id(t, x->child_id)))
			return rc;
		snprintf(x->j->out.lineage.id, sizeof x->j->out.lineage.id, "%s", x->child_id);
		if ((rc = q_model_put(t, &x->j->out, Q_MODEL_NEW)))
			return rc;
		char *p;
		size_t l;
		if (job_encode(JOB_CHILD, x->child_id, x->j->seed * 31 + 7, &p, &l))
			return Q_ENOMEM;
		rc = q_push(t, Q_CHILD, p, l, &x->child_entry);
		free(p);
		if (rc)
			return rc;
		x->pushed = 1;
	}
	if ((rc = q_done(t, x->j->entry, x->j->owner)))
		return rc;
	if ((rc = cfg_set_num(t, "jobs_done", (double)(x->d->jobs_done + 1))))
		return rc;
	if ((rc = cfg_set_num(t, "elapsed_s", elapsed(x->d))))
		return rc;
	if (x->pushed)
		return q_event(t, "candidate %llu on %s: grew %s (%s) -> child %s", (unsigned long long)x->j->entry,
			       x->j->model_id, x->j->rep.desc, x->msg, x->child_id);
	return q_event(t, "candidate %llu on %s: %s (%s)", (unsigned long long)x->j->entry, x->j->model_id,
		       x->j->rep.desc, x->msg);
}

static int tx_fail(q_txn *t, void *ud)
{
	tx_t *x = ud;
	int rc = q_fail(t, x->j->entry, x->j->owner, x->j->err, &x->state);
	if (rc)
		return rc;
	return q_event(t, "%s job %llu on %s failed: %s%s", x->j->kind == JOB_CHILD ? "child" : "candidate",
		       (unsigned long long)x->j->entry, x->j->model_id, x->j->err,
		       x->state == Q_FAILED ? " (not retried again)" : " (queued again)");
}

static int tx_requeue(q_txn *t, void *ud)
{
	tx_t *x = ud;
	int rc = q_requeue(t, x->j->entry, x->j->owner, "interrupted by the end of the run");
	if (rc)
		return rc;
	return q_event(t, "%s job %llu on %s interrupted: queued again", x->j->kind == JOB_CHILD ? "child" : "candidate",
		       (unsigned long long)x->j->entry, x->j->model_id);
}

static int tx_elapsed(q_txn *t, void *ud)
{
	daemon_t *d = ud;
	return cfg_set_num(t, "elapsed_s", elapsed(d));
}

/* ---- lease the next job ---- */
typedef struct {
	daemon_t *d;
	q_entry e;
	int have;
	char owner[64];
	char msg[400];
	int chose;
	int ncand;
} lease_t;

static int tx_lease(q_txn *t, void *ud)
{
	lease_t *l = ud;
	l->have = 0;
	int rc = q_lease(t, Q_CHILD, l->owner, &l->e);
	if (rc == Q_EEMPTY)
		rc = q_lease(t, Q_CANDIDATE, l->owner, &l->e);
	if (rc == 0)
		l->have = 1;
	return rc == Q_EEMPTY ? 0 : rc;
}

/* parent chosen: entry in the parent queue (done at once), candidate jobs */
static int tx_parent(q_txn *t, void *ud)
{
	lease_t *l = ud;
	int rc;
	char *p;
	size_t n;
	uint64_t pid;
	if ((rc = petrid_frontier_save(t, l->d->fr, l->msg))) /* l->msg: the chosen parent's id */
		return rc;
	if (job_encode(JOB_PARENT, l->msg, 0, &p, &n))
		return Q_ENOMEM;
	rc = q_push(t, Q_PARENT, p, n, &pid);
	free(p);
	if (rc)
		return rc;
	q_entry pe;
	if ((rc = q_lease(t, Q_PARENT, "loop", &pe)))
		return rc;
	q_entry_free(&pe);
	if ((rc = q_done(t, pid, "loop")))
		return rc;
	for (int i = 0; i < l->ncand; i++) {
		uint64_t s = l->d->seed * 1000003ull + pid * 97 + (uint64_t)i;
		if (job_encode(JOB_CAND, l->msg, s, &p, &n))
			return Q_ENOMEM;
		rc = q_push(t, Q_CANDIDATE, p, n, NULL);
		free(p);
		if (rc)
			return rc;
	}
	return 0;
}

static int tx_event(q_txn *t, void *ud) { return q_event(t, "%s", (const char *)ud); }

static int write_or_stop(daemon_t *d, q_txn_fn fn, void *ud)
{
	int rc = q_write(d->st, fn, ud);
	if (rc) {
		say(d, "petri: store write failed: %s: %s", q_strerror(rc), q_errmsg(d->st));
		d->stopping = 1;
		d->store_rc = rc;
		snprintf(d->stop_reason, sizeof d->stop_reason, "store write failed: %s", q_strerror(rc));
	}
	return rc;
}

typedef struct {
	const char *id;
	nn_model m;
} load_t;

static int tx_load_model(q_txn *t, void *ud)
{
	load_t *l = ud;
	return q_model_get(t, l->id, &l->m);
}

/* Give worker w its next job; 1 when it got one. */
static int dispatch(daemon_t *d, worker_t *w)
{
	lease_t l;
	memset(&l, 0, sizeof l);
	l.d = d;
	snprintf(l.owner, sizeof l.owner, "worker%d:%d", w->idx, (int)getpid());
	if (write_or_stop(d, tx_lease, &l))
		return 0;
	if (!l.have) {
		/* nothing queued: the frontier chooses a parent */
		if (fr_count(d->fr) == 0)
			return 0;
		fr_ceilings c = { d->max_macs, d->max_depth };
		fr_choice ch;
		int rc = fr_choose(d->fr, &c, &ch);
		if (rc) {
			if (rc == FR_ENOPARENT && !d->stopping) {
				/* nothing eligible; stop when no job is running */
				int busy = 0;
				for (int i = 0; i < d->nw; i++)
					busy |= d->w[i].busy;
				if (!busy) {
					d->stopping = 1;
					snprintf(d->stop_reason, sizeof d->stop_reason, "no eligible parent: %.100s", ch.reason);
				}
			}
			return 0;
		}
		snprintf(l.msg, sizeof l.msg, "%s", ch.id);
		l.ncand = d->o->cands_per_parent < 1 ? 1 : d->o->cands_per_parent > 2 ? 2 : d->o->cands_per_parent;
		char ev[600];
		snprintf(ev, sizeof ev, "parent %s chosen: %s", ch.id, ch.reason);
		rc = write_or_stop(d, tx_parent, &l);
		if (rc)
			return 0;
		write_or_stop(d, tx_event, ev);
		say(d, "%s", ev);
		if (write_or_stop(d, tx_lease, &l) || !l.have)
			return 0;
	}
	job_t *j = calloc(1, sizeof *j);
	if (!j)
		return 0;
	j->entry = l.e.id;
	snprintf(j->owner, sizeof j->owner, "%s", l.owner);
	uint64_t seed;
	int kind;
	if (job_decode(l.e.payload, l.e.len, &kind, j->model_id, &seed)) {
		snprintf(j->err, sizeof j->err, "job payload is corrupt");
		q_entry_free(&l.e);
		j->kind = JOB_CAND;
		tx_t x = { .d = d, .j = j };
		write_or_stop(d, tx_fail, &x);
		free(j);
		return 0;
	}
	q_entry_free(&l.e);
	j->kind = kind;
	j->seed = seed;
	load_t ld;
	memset(&ld, 0, sizeof ld);
	ld.id = j->model_id;
	int rc = q_read(d->st, tx_load_model, &ld);
	if (rc) {
		snprintf(j->err, sizeof j->err, "model %s cannot be read: %s %s", j->model_id, q_strerror(rc), q_errmsg(d->st));
		tx_t x = { .d = d, .j = j };
		write_or_stop(d, tx_fail, &x);
		job_free(j);
		return 0;
	}
	j->model = ld.m;
	pthread_mutex_lock(&w->mu);
	w->job = j;
	w->reported = 0;
	w->busy = 1;
	w->cancel = 0;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	say(d, "%s job %llu (%s) -> worker %d", kind == JOB_CHILD ? "child" : "candidate", (unsigned long long)j->entry,
	    j->model_id, w->idx);
	return 1;
}

static fr_point point_of(const nn_model *m)
{
	return petrid_point(m->lineage.id, m->lineage.parent, m->lineage.depth, &m->cost, &m->metrics);
}

/* A worker finished: commit its result. */
static void finish(daemon_t *d, worker_t *w, job_t *j)
{
	tx_t x;
	memset(&x, 0, sizeof x);
	x.d = d, x.j = j;
	if (j->rc == NN_ESTOP || (d->stopping && j->rc)) {
		/* cancelled: queued again, without using up one of its attempts */
		write_or_stop(d, tx_requeue, &x);
		say(d, "job %llu (%s) interrupted; it runs again when the search resumes", (unsigned long long)j->entry,
		    j->model_id);
	} else if (j->rc) {
		write_or_stop(d, tx_fail, &x);
		say(d, "job %llu (%s) failed: %s%s", (unsigned long long)j->entry, j->model_id, j->err,
		    x.state == Q_FAILED ? " (not retried again)" : "");
		if (++d->fails_in_row >= 30 && !d->stopping) {
			/* every job fails: something is wrong with the setup, not a job */
			d->stopping = 1;
			snprintf(d->stop_reason, sizeof d->stop_reason, "30 jobs failed in a row, the last: %.100s", j->err);
		}
	} else if (j->kind == JOB_CHILD) {
		d->fails_in_row = 0;
		fr_point p = point_of(&j->out);
		fr_insert_info info;
		int rc = fr_insert(d->fr, &p, &info);
		if (rc == FR_EEXIST) {
			/* already in the frontier (should not happen): keep going */
			memset(&info, 0, sizeof info);
		}
		snprintf(x.msg, sizeof x.msg,
			 "trained %s (parent %s, depth %d): val acc %.2f%%, test acc %.2f%%, %.3f M mult-adds, %llu params, %.3f ms%s%s, %.0f s",
			 j->out.lineage.id, j->out.lineage.parent[0] ? j->out.lineage.parent : "-", j->out.lineage.depth,
			 100 * j->out.metrics.val_acc, 100 * j->out.metrics.test_acc, j->out.cost.macs / 1e6,
			 (unsigned long long)j->out.cost.params, j->out.cost.latency_ms, info.on_hull ? ", on the hull" : "",
			 info.eligible ? ", eligible parent" : "", j->seconds);
		if (write_or_stop(d, tx_child_done, &x) == 0) {
			d->jobs_done++;
			if (j->out.metrics.val_acc > d->best_acc) {
				d->best_acc = j->out.metrics.val_acc;
				snprintf(d->best_id, sizeof d->best_id, "%s", j->out.lineage.id);
			}
			say(d, "%s", x.msg);
		}
	} else {
		d->fails_in_row = 0;
		snprintf(x.msg, sizeof x.msg, "parent val acc after joint training %.2f%%, %.0f s",
			 100 * j->rep.parent_val_acc, j->seconds);
		if (write_or_stop(d, tx_cand_done, &x) == 0) {
			d->jobs_done++;
			say(d, "candidate %llu on %s: %s%s%s", (unsigned long long)j->entry, j->model_id, j->rep.desc,
			    x.pushed ? " -> " : "", x.pushed ? x.child_id : "");
		}
	}
	pthread_mutex_lock(&w->mu);
	w->job = NULL;
	w->reported = 0;
	w->busy = 0;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	job_free(j);
}

/* ---- control socket ---- */
static int open_socket(const char *dir, char *err, size_t errlen)
{
	struct sockaddr_un a;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	if (snprintf(a.sun_path, sizeof a.sun_path, "%s/control", dir) >= (int)sizeof a.sun_path) {
		nn_errf(err, errlen, "%s: path too long for a control socket", dir);
		return -1;
	}
	unlink(a.sun_path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	mode_t old = umask(077);
	int rc = bind(s, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (rc || chmod(a.sun_path, 0600) || listen(s, 4)) {
		nn_errf(err, errlen, "%s: cannot listen: %s", a.sun_path, strerror(errno));
		close(s);
		return -1;
	}
	return s;
}

static void serve_socket(daemon_t *d)
{
	for (;;) {
		int c = accept(d->sock, NULL, NULL);
		if (c < 0)
			return;
		char buf[64] = "";
		struct pollfd p = { c, POLLIN, 0 };
		if (poll(&p, 1, 200) > 0) {
			ssize_t n = read(c, buf, sizeof buf - 1);
			if (n > 0)
				buf[n] = 0;
		}
		const char *reply = "unknown command\n";
		if (!strncmp(buf, "stop", 4)) {
			d->stopping = 1;
			snprintf(d->stop_reason, sizeof d->stop_reason, "stop requested");
			reply = "stopping\n";
		} else if (!strncmp(buf, "ping", 4)) {
			reply = "pong\n";
		}
		ssize_t wr = write(c, reply, strlen(reply));
		(void)wr;
		close(c);
	}
}

int petrid_send_stop(const char *dir, char *err, size_t errlen)
{
	struct sockaddr_un a;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof a.sun_path, "%s/control", dir);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a)) {
		nn_errf(err, errlen, "%s: no daemon is running this experiment (%s)", dir, strerror(errno));
		if (s >= 0)
			close(s);
		return PETRID_EINVAL;
	}
	ssize_t w = write(s, "stop\n", 5);
	char buf[64] = "";
	ssize_t n = w == 5 ? read(s, buf, sizeof buf - 1) : -1;
	close(s);
	if (n <= 0 || strncmp(buf, "stopping", 8)) {
		nn_errf(err, errlen, "%s: the daemon did not acknowledge the stop", dir);
		return PETRID_EINVAL;
	}
	return 0;
}

/* ---- progress ---- */
typedef struct {
	uint64_t n[Q_NQUEUES][Q_NSTATES];
	uint64_t models;
} counts_t;

static int tx_counts(q_txn *t, void *ud)
{
	counts_t *c = ud;
	for (int q = 0; q < Q_NQUEUES; q++)
		for (int s = 0; s < Q_NSTATES; s++)
			if (q_count(t, q, s, &c->n[q][s]))
				return -1;
	return q_model_count(t, &c->models);
}

static void progress(daemon_t *d, int force)
{
	double t = now_s();
	if (d->o->quiet || (!force && t - d->last_progress < (d->tty ? 1.0 : 30.0)))
		return;
	d->last_progress = t;
	counts_t c;
	memset(&c, 0, sizeof c);
	q_read(d->st, tx_counts, &c);
	fr_stats fs;
	fr_get_stats(d->fr, &fs);
	char budget[64] = "";
	if (d->budget_s > 0)
		snprintf(budget, sizeof budget, "/%.0fs", d->budget_s);
	else if (d->budget_jobs > 0)
		snprintf(budget, sizeof budget, " (jobs %ld/%ld)", d->jobs_done, d->budget_jobs);
	char line[400];
	snprintf(line, sizeof line,
		 "[%.0fs%s] child %llu done %llu running %llu queued | cand %llu done %llu running %llu queued | best val acc %.2f%% (%s) | frontier %zu models, hull %zu",
		 elapsed(d), budget, (unsigned long long)c.n[Q_CHILD][Q_DONE], (unsigned long long)c.n[Q_CHILD][Q_LEASED],
		 (unsigned long long)c.n[Q_CHILD][Q_QUEUED], (unsigned long long)c.n[Q_CANDIDATE][Q_DONE],
		 (unsigned long long)c.n[Q_CANDIDATE][Q_LEASED], (unsigned long long)c.n[Q_CANDIDATE][Q_QUEUED],
		 100 * d->best_acc, d->best_id[0] ? d->best_id : "-", fs.points, fs.hull);
	if (d->tty)
		fprintf(stderr, "\r\033[K%s", line);
	else
		fprintf(stderr, "%s\n", line);
}

/* ---- start / resume ---- */
typedef struct {
	daemon_t *d;
	const petrid_opts *o;
	char data[512];
	char shape[64];      /* CSV shape stored with the experiment */
	int fresh;
	char msg[400];
	nn_model *seed;
	char seed_id[Q_IDLEN];
	int recovered;
	char frerr[256];     /* why the stored frontier does not decode */
	char cfg[16][2][128];
} start_t;

static int tx_read_config(q_txn *t, void *ud)
{
	start_t *s = ud;
	char v[512];
	int rc = q_config_get(t, "data", v, sizeof v);
	if (rc == Q_ENOTFOUND) {
		s->fresh = 1;
		return 0;
	}
	if (rc)
		return rc;
	snprintf(s->data, sizeof s->data, "%s", v);
	if (q_config_get(t, "shape", v, sizeof v) == 0)
		snprintf(s->shape, sizeof s->shape, "%.63s", v);
	return 0;
}

static int tx_start(q_txn *t, void *ud)
{
	start_t *s = ud;
	const petrid_opts *o = s->o;
	daemon_t *d = s->d;
	int rc;
	if ((rc = q_recover(t, &s->recovered)))
		return rc;
	if (s->fresh) {
		if ((rc = q_config_set(t, "data", s->data)))
			return rc;
		if (o->shape && (rc = q_config_set(t, "shape", o->shape)))
			return rc;
		cfg_set_num(t, "seed", (double)o->seed);
		cfg_set_num(t, "random_growth", o->random_growth);
		cfg_set_num(t, "created", (double)time(NULL));
		cfg_set_num(t, "elapsed_s", 0);
		cfg_set_num(t, "jobs_done", 0);
		cfg_set_num(t, "max_depth", o->max_depth);
		cfg_set_num(t, "cand_epochs", o->cand_epochs);
		cfg_set_num(t, "child_epochs", o->child_epochs);
		cfg_set_num(t, "seed_epochs", o->seed_epochs);
		q_config_set(t, "cost_axis", "macs");
		cfg_set_num(t, "eps", 0.025);
		if ((rc = q_model_new_id(t, s->seed_id)))
			return rc;
		snprintf(s->seed->lineage.id, sizeof s->seed->lineage.id, "%s", s->seed_id);
		if ((rc = q_model_put(t, s->seed, Q_MODEL_NEW)))
			return rc;
		char *p;
		size_t l;
		if (job_encode(JOB_CHILD, s->seed_id, o->seed, &p, &l))
			return Q_ENOMEM;
		rc = q_push(t, Q_CHILD, p, l, NULL);
		free(p);
		if (rc)
			return rc;
		if ((rc = q_event(t, "search created: data %s, seed model %s (%s), seed %llu%s", s->data, s->seed_id,
				  o->from ? o->from : "petri seed", (unsigned long long)o->seed,
				  o->random_growth ? ", random growth" : "")))
			return rc;
	}
	/* options that may change on resume */
	if (s->fresh || (o->set & PETRID_SET_BUDGET))
		cfg_set_num(t, "budget_s", d->budget_s);
	if (s->fresh || (o->set & PETRID_SET_JOBS))
		cfg_set_num(t, "budget_jobs", (double)d->budget_jobs);
	if (s->fresh || (o->set & PETRID_SET_MFLOPS))
		cfg_set_num(t, "max_mflops", o->max_mflops);
	cfg_set_num(t, "workers", d->nw);
	cfg_set_num(t, "threads_per_worker", o->threads);
	cfg_set_num(t, "pid", (double)getpid());
	q_config_set(t, "state", "running");
	if (!s->fresh)
		q_event(t, "search resumed (pid %d): %d leased jobs of the previous run back in their queues", (int)getpid(),
			s->recovered);
	return 0;
}

static int get_num(q_txn *t, const char *k, double *v)
{
	char b[128];
	int rc = q_config_get(t, k, b, sizeof b);
	if (rc)
		return rc;
	*v = strtod(b, NULL);
	return 0;
}

static int tx_load_state(q_txn *t, void *ud)
{
	start_t *s = ud;
	daemon_t *d = s->d;
	double v;
	if (!get_num(t, "elapsed_s", &v)) d->elapsed0 = v;
	if (!get_num(t, "jobs_done", &v)) d->jobs_done = (long)v;
	if (!get_num(t, "budget_s", &v)) d->budget_s = v;
	if (!get_num(t, "budget_jobs", &v)) d->budget_jobs = (long)v;
	if (!get_num(t, "max_mflops", &v)) d->max_macs = v > 0 ? (uint64_t)(v * 1e6 / 2) : 0;
	if (!get_num(t, "max_depth", &v)) d->max_depth = (int)v;
	if (!get_num(t, "seed", &v)) d->seed = (uint64_t)v;
	if (!get_num(t, "random_growth", &v)) d->random_growth = (int)v;
	if (!get_num(t, "cand_epochs", &v)) d->cand_epochs = v;
	if (!get_num(t, "child_epochs", &v)) d->child_epochs = v;
	if (!get_num(t, "seed_epochs", &v)) d->seed_epochs = v;
	/* the frontier: its records, or the single record of an older store */
	return petrid_frontier_load(t, &d->fr, s->frerr, sizeof s->frerr);
}

static int summary_best(const q_summary *s, void *ud)
{
	daemon_t *d = ud;
	if (s->state == Q_MODEL_TRAINED && s->metrics.val_acc > d->best_acc) {
		d->best_acc = s->metrics.val_acc;
		snprintf(d->best_id, sizeof d->best_id, "%s", s->id);
	}
	return 0;
}

static int tx_best(q_txn *t, void *ud) { return q_summary_each(t, summary_best, ud); }

static int tx_stopped(q_txn *t, void *ud)
{
	daemon_t *d = ud;
	int n = 0, rc = q_recover(t, &n); /* interrupted jobs: queued for the next run */
	if (rc)
		return rc;
	cfg_set_num(t, "elapsed_s", elapsed(d));
	q_config_set(t, "pid", "0");
	q_config_set(t, "state", d->stop_reason[0] && !strncmp(d->stop_reason, "budget", 6) ? "done" : "stopped");
	return q_event(t, "search stopped: %s", d->stop_reason[0] ? d->stop_reason : "stopped");
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

int petrid_run(const petrid_opts *o, char *err, size_t errlen)
{
	daemon_t D, *d = &D;
	memset(d, 0, sizeof *d);
	d->o = o;
	d->pipefd[0] = d->pipefd[1] = d->sock = -1;
	int rc = 0;
	start_t s;
	memset(&s, 0, sizeof s);
	nn_model seed;
	memset(&seed, 0, sizeof seed);
	if (!o->dir) {
		nn_errf(err, errlen, "--dir EXP is required");
		return PETRID_EINVAL;
	}
	if (o->budget_s < 0 || o->budget_jobs < 0 || o->threads < 1 || o->workers < 0) {
		nn_errf(err, errlen, "bad budget, workers or threads");
		return PETRID_EINVAL;
	}
	d->tty = isatty(2);
	g_stop = 0;
	/* the store: a second daemon on the same experiment is refused */
	q_options qo = { Q_CREATE, 0, 0 };
	int qrc = q_open(&d->st, o->dir, &qo, err, errlen);
	if (qrc) {
		return qrc == Q_EBUSY ? PETRID_EBUSY : PETRID_ESTORE;
	}
	s.d = d, s.o = o, s.seed = &seed;
	if ((qrc = q_read(d->st, tx_read_config, &s))) {
		nn_errf(err, errlen, "%s: cannot read the experiment: %s %s", o->dir, q_strerror(qrc), q_errmsg(d->st));
		rc = PETRID_ESTORE;
		goto out;
	}
	/* the data set is kept as an absolute path, so a resume works from any
	 * working directory */
	char absdata[PATH_MAX];
	const char *given = o->data ? o->data : NULL;
	if (given && realpath(given, absdata))
		given = absdata;
	if (given && strlen(given) >= sizeof s.data) {
		nn_errf(err, errlen, "%.200s...: data set path longer than %zu bytes", given, sizeof s.data - 1);
		rc = PETRID_EINVAL;
		goto out;
	}
	if (s.fresh) {
		snprintf(s.data, sizeof s.data, "%.*s", (int)sizeof s.data - 1, given ? given : NN_DEFAULT_DATA);
	} else if (given && strcmp(given, s.data) && strcmp(o->data, s.data)) {
		nn_errf(err, errlen, "%s belongs to the data set %s, not %s (use another --dir for a new search)", o->dir,
			s.data, o->data);
		rc = PETRID_EDATA;
		goto out;
	}
	if (!s.fresh && o->from) {
		nn_errf(err, errlen, "%s is an existing search; --from only starts a new one", o->dir);
		rc = PETRID_EINVAL;
		goto out;
	}
	/* data */
	{
		nn_data all;
		char e2[512];
		const char *shape = o->shape;
		if (!s.fresh && s.shape[0]) {
			if (shape && strcmp(shape, s.shape)) {
				nn_errf(err, errlen, "%s was made with --shape %s, not %s", o->dir, s.shape, shape);
				rc = PETRID_EDATA;
				goto out;
			}
			shape = s.shape;
		}
		if ((rc = nn_data_load(&all, s.data, "train", shape, e2, sizeof e2))) {
			nn_errf(err, errlen, "%s", e2);
			rc = PETRID_EDATA;
			goto out;
		}
		if ((rc = nn_data_load(&d->te, s.data, "test", shape, e2, sizeof e2))) {
			nn_errf(err, errlen, "%s", e2);
			nn_data_free(&all);
			rc = PETRID_EDATA;
			goto out;
		}
		int nval = o->nval >= 0 ? o->nval : (all.n >= 50000 ? 5000 : all.n / 10);
		if (nval < 1 || nval >= all.n || nn_data_split(&all, nval, &d->tr, &d->va)) {
			nn_errf(err, errlen, "%s: %d rows cannot be split into training and validation parts", s.data, all.n);
			nn_data_free(&all);
			rc = PETRID_EDATA;
			goto out;
		}
		int k = all.classes > d->te.classes ? all.classes : d->te.classes;
		d->tr.classes = d->va.classes = d->te.classes = k;
		nn_data_free(&all);
		if (d->te.c != d->tr.c || d->te.h != d->tr.h || d->te.w != d->tr.w) {
			nn_errf(err, errlen, "%s: test images are %dx%dx%d, training images %dx%dx%d", s.data, d->te.c, d->te.h,
				d->te.w, d->tr.c, d->tr.h, d->tr.w);
			rc = PETRID_EDATA;
			goto out;
		}
	}
	/* a fresh search: the seed (or the warm-start model) */
	if (s.fresh) {
		char e2[512];
		nn_shape in = { 1, d->tr.c, d->tr.h, d->tr.w };
		if (o->from) {
			if (nn_model_load(&seed, o->from, e2, sizeof e2)) {
				nn_errf(err, errlen, "%s", e2);
				rc = PETRID_EMODEL;
				goto out;
			}
			if (seed.g.in.c != in.c || seed.g.in.h != in.h || seed.g.in.w != in.w || seed.g.classes < d->tr.classes) {
				nn_errf(err, errlen, "%s takes %dx%dx%d inputs and %d classes; the data has %dx%dx%d and %d", o->from,
					seed.g.in.c, seed.g.in.h, seed.g.in.w, seed.g.classes, in.c, in.h, in.w, d->tr.classes);
				rc = PETRID_EMODEL;
				goto out;
			}
			int nt[1];
			if (grow_targets(&seed.g, nt, 1) == 0) {
				/* a model from elsewhere: every sum and every BN is a block end */
				for (int i = 0; i < seed.g.n; i++)
					if (seed.g.nodes[i].op == NN_OP_SUM || seed.g.nodes[i].op == NN_OP_BN)
						seed.g.nodes[i].role = NN_ROLE_BLOCK_END;
			}
			seed.lineage.parent[0] = 0;
			seed.lineage.depth = 0;
			snprintf(seed.lineage.grown, sizeof seed.lineage.grown, "warm start from %.200s", o->from);
		} else {
			nn_graph g;
			nn_net *net;
			if (grow_seed(&g, in, d->tr.classes, &o->seed_net) || nn_net_create(&net, &g, 1, e2, sizeof e2)) {
				nn_errf(err, errlen, "cannot build the seed network: %s", e2);
				rc = PETRID_EINVAL;
				goto out;
			}
			nn_net_init(net, o->seed);
			nn_model_from_net(&seed, net);
			nn_net_free(net);
			nn_graph_free(&g);
		}
		snprintf(seed.data, sizeof seed.data, "%.255s", s.data);
	}
	d->budget_s = o->budget_s;
	d->budget_jobs = o->budget_jobs;
	d->nw = o->workers > 0 ? o->workers : (int)(sysconf(_SC_NPROCESSORS_ONLN) / o->threads);
	if (d->nw < 1)
		d->nw = 1;
	if ((qrc = q_write(d->st, tx_start, &s))) {
		nn_errf(err, errlen, "%s: cannot start: %s %s", o->dir, q_strerror(qrc), q_errmsg(d->st));
		rc = PETRID_ESTORE;
		goto out;
	}
	if ((qrc = q_read(d->st, tx_load_state, &s))) {
		if (s.frerr[0])
			nn_errf(err, errlen, "%s: frontier state is corrupt: %s", o->dir, s.frerr);
		else
			nn_errf(err, errlen, "%s: cannot read the experiment state: %s %s", o->dir, q_strerror(qrc),
				q_errmsg(d->st));
		rc = PETRID_ESTORE;
		goto out;
	}
	if (!d->fr) {
		fr_opts fo;
		fr_opts_default(&fo);
		fo.seed = d->seed;
		fr_create(&d->fr, &fo);
	}
	q_read(d->st, tx_best, d);
	if (s.recovered)
		say(d, "resumed: %d jobs in flight when the last run ended are queued again", s.recovered);
	/* workers, pipe, socket, signals */
	if (pipe(d->pipefd)) {
		nn_errf(err, errlen, "pipe: %s", strerror(errno));
		rc = PETRID_ESTORE;
		goto out;
	}
	fcntl(d->pipefd[0], F_SETFD, FD_CLOEXEC);
	fcntl(d->pipefd[1], F_SETFD, FD_CLOEXEC);
	{
		char e2[256] = "";
		d->sock = open_socket(o->dir, e2, sizeof e2);
		if (d->sock < 0)
			say(d, "petri: no control socket (%s); stop with SIGTERM", e2);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	nn_set_threads(o->threads);
	d->w = calloc(d->nw, sizeof(worker_t));
	for (int i = 0; i < d->nw; i++) {
		worker_t *w = &d->w[i];
		w->d = d, w->idx = i;
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		pthread_create(&w->th, NULL, worker_main, w);
	}
	d->t0 = now_s();
	say(d, "search %s: data %s (%d train / %d val / %d test), %d workers x %d threads, budget %s", o->dir, s.data,
	    d->tr.n, d->va.n, d->te.n, d->nw, o->threads,
	    d->budget_s > 0 ? "time" : d->budget_jobs > 0 ? "jobs" : "none (until stopped)");
	double last_save = now_s();
	for (;;) {
		if (g_stop && !d->stopping) {
			d->stopping = 1;
			snprintf(d->stop_reason, sizeof d->stop_reason, "signal");
		}
		if (!d->stopping && d->budget_s > 0 && elapsed(d) >= d->budget_s) {
			d->stopping = 1;
			snprintf(d->stop_reason, sizeof d->stop_reason, "budget of %.0f s spent", d->budget_s);
		}
		if (!d->stopping && d->budget_jobs > 0 && d->jobs_done >= d->budget_jobs) {
			d->stopping = 1;
			snprintf(d->stop_reason, sizeof d->stop_reason, "budget of %ld jobs spent", d->budget_jobs);
		}
		int busy = 0;
		for (int i = 0; i < d->nw; i++) {
			worker_t *w = &d->w[i];
			if (d->stopping && w->busy)
				w->cancel = 1;
			if (!d->stopping && !w->busy)
				dispatch(d, w);
			busy += w->busy;
		}
		if (d->stopping && !busy)
			break;
		if (!busy && !d->stopping) {
			/* nothing to run and nothing running: the search cannot go on */
			counts_t c;
			memset(&c, 0, sizeof c);
			q_read(d->st, tx_counts, &c);
			if (!c.n[Q_CHILD][Q_QUEUED] && !c.n[Q_CANDIDATE][Q_QUEUED] && fr_count(d->fr) == 0) {
				d->stopping = 1;
				snprintf(d->stop_reason, sizeof d->stop_reason, "nothing left to train (every job failed)");
				continue;
			}
		}
		struct pollfd p[2] = { { d->pipefd[0], POLLIN, 0 }, { d->sock, POLLIN, 0 } };
		int np = d->sock >= 0 ? 2 : 1;
		int pr = poll(p, np, 500);
		if (pr > 0 && (p[0].revents & POLLIN)) {
			job_t *j;
			ssize_t n = read(d->pipefd[0], &j, sizeof j);
			if (n == sizeof j) {
				for (int i = 0; i < d->nw; i++)
					if (d->w[i].job == j) {
						finish(d, &d->w[i], j);
						break;
					}
			}
		}
		if (np == 2 && pr > 0 && (p[1].revents & POLLIN))
			serve_socket(d);
		if (now_s() - last_save > 10) {
			write_or_stop(d, tx_elapsed, d);
			last_save = now_s();
		}
		progress(d, 0);
	}
	progress(d, 1);
	if (d->tty && !o->quiet)
		fputc('\n', stderr);
	say(d, "search stopped: %s", d->stop_reason);
	q_write(d->st, tx_stopped, d);
	if (d->store_rc && !rc) {
		/* e.g. a full disk: what was committed before stays; not a success */
		const char *m = q_errmsg(d->st);
		nn_errf(err, errlen, "%s: %s%s%s%s; the search stopped, the models stored before are kept", o->dir,
			d->stop_reason, m[0] ? " (" : "", m, m[0] ? ")" : "");
		rc = PETRID_ESTORE;
	}
out:
	if (d->w) {
		for (int i = 0; i < d->nw; i++) {
			pthread_mutex_lock(&d->w[i].mu);
			d->w[i].quit = 1;
			d->w[i].cancel = 1;
			pthread_cond_signal(&d->w[i].cv);
			pthread_mutex_unlock(&d->w[i].mu);
		}
		for (int i = 0; i < d->nw; i++) {
			pthread_join(d->w[i].th, NULL);
			job_t *j = d->w[i].job;
			if (j) {
				/* a result not read from the pipe: drop it, the lease returns */
				job_free(j);
			}
			pthread_mutex_destroy(&d->w[i].mu);
			pthread_cond_destroy(&d->w[i].cv);
		}
		free(d->w);
	}
	if (d->sock >= 0) {
		char path[600];
		snprintf(path, sizeof path, "%s/control", o->dir);
		unlink(path);
		close(d->sock);
	}
	if (d->pipefd[0] >= 0)
		close(d->pipefd[0]), close(d->pipefd[1]);
	fr_free(d->fr);
	nn_model_free(&seed);
	nn_data_free(&d->tr), nn_data_free(&d->va), nn_data_free(&d->te);
	q_close(d->st);
	return rc;
}
