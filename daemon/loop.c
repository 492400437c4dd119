/* loop.c - the search's event loop.
 *
 * DESIGN
 * One thread (the loop) owns the experiment: the store, the frontier, the
 * budget. N worker threads (worker.c) each run one job at a time on a
 * private copy of the model it needs and report the result through a pipe.
 * Every state change is one store transaction made by the loop:
 *   seed          model (state new) + child job (start.c)
 *   child done    trained model + job done + its frontier point + frontier
 *                 header + its loss curve + event
 *   parent chosen the parent's frontier point (expanded count) + frontier
 *                 header (generator) + parent entry
 *                 (done) + 1-2 candidate jobs + event with the reason +
 *                 the lease of the first of them
 *   cand done     child model (state new) + its omega ranking + child job +
 *                 job done + event
 *   progress      the running jobs' steps (every 2 s while they change;
 *                 deleted at the stop)
 *   job failed    entry back to queued (or failed for good after 3) + event
 * Jobs are leased newest first (depth first): children before candidates,
 * so finished growth is trained before more is proposed. A killed daemon
 * loses only the jobs in flight: on restart q_recover() returns their
 * leases to the queue and they run again; nothing committed is redone.
 * Signal handlers only set a flag; "stop" on the control socket too.
 */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include "petrid_impl.h"

#include <poll.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- stop, time, messages ---- */
static volatile sig_atomic_t g_stop;

void petrid_request_stop(void) { g_stop = 1; }

int pd_stop_requested(void) { return g_stop != 0; }

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

void pd_stop_clear(void) { g_stop = 0; }

void pd_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

double pd_elapsed(const daemon_t *d) { return d->elapsed0 + (nn_now() - d->t0); }

void pd_say(daemon_t *d, const char *fmt, ...)
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

void pd_stop(daemon_t *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->stop_reason, sizeof d->stop_reason, fmt, ap);
	va_end(ap);
	d->stopping = 1;
}

/* Memory ran out: stop the search, which then ends with an error. */
static void out_of_memory(daemon_t *d, const char *what)
{
	pd_say(d, "petri: out of memory (%s)", what);
	pd_stop(d, "out of memory (%s)", what);
	d->nomem = 1;
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
	/* the model card's record (encoded before the transaction; NULL: not
	 * stored, and skip says why) */
	char *card;
	size_t cardlen;
	char skip[200];
	/* a stopped job's last checkpoint record (NULL: none) */
	char *ckpt;
	size_t ckptlen;
} tx_t;

/* a job that ends takes its checkpoint with it */
static int ckpt_drop(q_txn *t, uint64_t entry)
{
	char key[64];
	petrid_ckpt_key(key, sizeof key, entry);
	int rc = q_blob_del(t, key);
	return rc == Q_ENOTFOUND ? 0 : rc;
}

/* the blob key of a card record of model id */
static void card_key(char *key, size_t n, const char *prefix, const char *id) { snprintf(key, n, "%s%s", prefix, id); }

/* the job counter and the clock, with every finished job */
static int count_job(q_txn *t, const daemon_t *d)
{
	int rc = petrid_cfg_set_num(t, PETRID_CFG_JOBS_DONE, (double)(d->jobs_done + 1));
	return rc ? rc : petrid_cfg_set_num(t, PETRID_CFG_ELAPSED, pd_elapsed(d));
}

static int tx_child_done(q_txn *t, void *ud)
{
	tx_t *x = ud;
	int rc = petrid_tx_trained(t, &x->j->out, x->j->entry, x->j->owner, x->d->fr, x->d->jobs_done + 1,
				   pd_elapsed(x->d), x->msg);
	if (rc || (rc = ckpt_drop(t, x->j->entry)))
		return rc;
	if (!x->card)
		return q_event(t, "model card of %s: training curve not stored (%s)", x->j->out.lineage.id, x->skip);
	char key[Q_IDLEN + 16];
	card_key(key, sizeof key, PETRID_CARD_CURVE, x->j->out.lineage.id);
	return q_blob_put(t, key, x->card, x->cardlen);
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
		char key[Q_IDLEN + 16];
		card_key(key, sizeof key, PETRID_CARD_OMEGA, x->child_id);
		if (x->card && (rc = q_blob_put(t, key, x->card, x->cardlen)))
			return rc;
		if (!x->card && (rc = q_event(t, "model card of %s: omega ranking not stored (%s)", x->child_id, x->skip)))
			return rc;
		if ((rc = petrid_job_push(t, Q_CHILD, x->child_id, x->j->seed * 31 + 7, &x->child_entry)))
			return rc;
		x->pushed = 1;
	}
	if ((rc = q_done(t, x->j->entry, x->j->owner)) || (rc = ckpt_drop(t, x->j->entry)))
		return rc;
	if ((rc = count_job(t, x->d)))
		return rc;
	if (x->pushed)
		return q_event(t, "candidate %llu on %s: grew %s (%s) -> child %s", (unsigned long long)x->j->entry,
			       x->j->model_id, x->j->rep.desc, x->msg, x->child_id);
	return q_event(t, "candidate %llu on %s: %s (%s)", (unsigned long long)x->j->entry, x->j->model_id,
		       x->j->rep.desc, x->msg);
}

static const char *kind_name(const job_t *j) { return j->kind == PETRID_JOB_CHILD ? "child" : "candidate"; }

static int tx_fail(q_txn *t, void *ud)
{
	tx_t *x = ud;
	/* a job that failed starts over from nothing if it runs again */
	int rc = q_fail(t, x->j->entry, x->j->owner, x->j->err, &x->state);
	if (rc || (rc = ckpt_drop(t, x->j->entry)))
		return rc;
	return q_event(t, "%s job %llu on %s failed: %s%s", kind_name(x->j), (unsigned long long)x->j->entry,
		       x->j->model_id, x->j->err, x->state == Q_FAILED ? " (not retried again)" : " (queued again)");
}

static int tx_requeue(q_txn *t, void *ud)
{
	tx_t *x = ud;
	int rc = q_requeue(t, x->j->entry, x->j->owner, "interrupted by the end of the run");
	if (rc)
		return rc;
	if (x->ckpt) {
		char key[64];
		petrid_ckpt_key(key, sizeof key, x->j->entry);
		if ((rc = q_blob_put(t, key, x->ckpt, x->ckptlen)))
			return rc;
	}
	return q_event(t, "%s job %llu on %s interrupted: queued again", kind_name(x->j),
		       (unsigned long long)x->j->entry, x->j->model_id);
}

static int tx_elapsed(q_txn *t, void *ud)
{
	daemon_t *d = ud;
	int rc = petrid_cfg_set_num(t, PETRID_CFG_ELAPSED, pd_elapsed(d));
	q_test_kill_point("checkpoint"); /* test hook, queue/testhook.c */
	return rc;
}

/* ---- lease the next job ---- */
typedef struct {
	daemon_t *d;
	q_entry e;
	int have;
	char owner[64];
	char parent[FR_IDLEN]; /* the parent chosen */
	int ncand;
	char ev[600];          /* and why */
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
	uint64_t pid;
	if ((rc = petrid_frontier_save(t, l->d->fr, l->parent)))
		return rc;
	if ((rc = petrid_job_push(t, Q_PARENT, l->parent, 0, &pid)))
		return rc;
	q_entry pe;
	if ((rc = q_lease(t, Q_PARENT, "loop", &pe)))
		return rc;
	q_entry_free(&pe);
	if ((rc = q_done(t, pid, "loop")))
		return rc;
	for (int i = 0; i < l->ncand; i++) {
		uint64_t s = l->d->seed * 1000003ull + pid * 97 + (uint64_t)i;
		if ((rc = petrid_job_push(t, Q_CANDIDATE, l->parent, s, NULL)))
			return rc;
	}
	return 0;
}

static int tx_event(q_txn *t, void *ud) { return q_event(t, "%s", (const char *)ud); }

/* a parent chosen, its event, and the lease of its first job: one commit */
static int tx_choose(q_txn *t, void *ud)
{
	lease_t *l = ud;
	int rc = tx_parent(t, l);
	if (!rc)
		rc = q_event(t, "%s", l->ev);
	return rc ? rc : tx_lease(t, l);
}

static int write_or_stop(daemon_t *d, q_txn_fn fn, void *ud)
{
	double t0 = nn_now();
	int rc = q_write(d->st, fn, ud);
	d->store_s += nn_now() - t0;
	if (rc) {
		pd_say(d, "petri: store write failed: %s: %s", q_strerror(rc), q_errmsg(d->st));
		pd_stop(d, "store write failed: %s", q_strerror(rc));
		d->store_rc = rc;
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

static int any_busy(const daemon_t *d)
{
	if (d->det)
		return d->nout > 0; /* dispatched and not applied: not the workers' timing */
	int busy = d->leased > 0; /* jobs leased by this pass of schedule(), not given yet */
	for (int i = 0; i < d->nw; i++)
		busy |= d->w[i].busy;
	return busy;
}

/* Nothing queued: the frontier chooses a parent, whose candidate jobs are
 * queued; then lease again. 1 when l holds a job. */
static int choose_parent(daemon_t *d, lease_t *l)
{
	if (fr_count(d->fr) == 0)
		return 0;
	fr_ceilings c = { d->max_macs, d->max_depth };
	fr_choice ch;
	int rc = fr_choose(d->fr, &c, &ch);
	if (rc) {
		/* nothing eligible; stop when no job is running */
		if (rc == FR_ENOPARENT && !d->stopping && !any_busy(d))
			pd_stop(d, "no eligible parent: %.100s", ch.reason);
		return 0;
	}
	snprintf(l->parent, sizeof l->parent, "%s", ch.id);
	l->ncand = d->o->cands_per_parent < 1 ? 1 : d->o->cands_per_parent > 2 ? 2 : d->o->cands_per_parent;
	snprintf(l->ev, sizeof l->ev, "parent %s chosen: %s", ch.id, ch.reason);
	rc = write_or_stop(d, tx_choose, l);
	if (rc)
		return 0;
	pd_say(d, "%s", l->ev);
	return l->have;
}

/* A job that cannot start: failed (or queued again) in the store. */
static void job_cannot_start(daemon_t *d, job_t *j)
{
	tx_t x = { .d = d, .j = j };
	write_or_stop(d, tx_fail, &x);
	pd_job_free(j);
}

typedef struct {
	uint64_t entry;
	void *buf;
	size_t len;
} ckpt_get_t;

static int tx_ckpt_get(q_txn *t, void *ud)
{
	ckpt_get_t *c = ud;
	char key[64];
	petrid_ckpt_key(key, sizeof key, c->entry);
	return q_blob_get(t, key, &c->buf, &c->len);
}

/* A job that ran before and left a checkpoint goes on from it. One that
 * does not decode, or is not this job's, is not used: the job starts over
 * (and its end deletes the record). */
static void resume_from(daemon_t *d, job_t *j)
{
	ckpt_get_t c = { j->entry, NULL, 0 };
	int rc = q_read(d->st, tx_ckpt_get, &c);
	if (rc) {
		if (rc != Q_ENOTFOUND)
			pd_say(d, "job %llu (%s): its checkpoint cannot be read (%s); it starts over",
			       (unsigned long long)j->entry, j->model_id, q_strerror(rc));
		return;
	}
	char err[300] = "";
	petrid_ckpt k;
	rc = petrid_ckpt_decode(c.buf, c.len, &k, err, sizeof err);
	free(c.buf);
	if (rc) {
		pd_say(d, "job %llu (%s): %s; it starts over", (unsigned long long)j->entry, j->model_id, err);
		return;
	}
	if (k.entry != j->entry || k.kind != j->kind || strcmp(k.model, j->model_id)) {
		pd_say(d, "job %llu (%s): its checkpoint is of job %llu (%s); it starts over", (unsigned long long)j->entry,
		       j->model_id, (unsigned long long)k.entry, k.model);
		petrid_ckpt_free(&k);
		return;
	}
	j->resume = k;
	pd_say(d, "%s job %llu (%s) resumes at step %ld of %ld", kind_name(j), (unsigned long long)j->entry,
	       j->model_id, k.step, k.steps);
}

/* The next job for worker idx (-1: the deterministic order's), leased and
 * loaded (not given yet); NULL: none. */
static job_t *next_job(daemon_t *d, int idx)
{
	lease_t l;
	memset(&l, 0, sizeof l);
	l.d = d;
	if (idx >= 0)
		snprintf(l.owner, sizeof l.owner, "worker%d:%d", idx, (int)getpid());
	else
		snprintf(l.owner, sizeof l.owner, "ordered:%d", (int)getpid());
	if (write_or_stop(d, tx_lease, &l))
		return NULL;
	if (!l.have && !choose_parent(d, &l))
		return NULL;
	job_t *j = calloc(1, sizeof *j);
	if (!j) {
		/* the lease returns to the queue when the search stops */
		q_entry_free(&l.e);
		out_of_memory(d, "a job");
		return NULL;
	}
	j->entry = l.e.id;
	snprintf(j->owner, sizeof j->owner, "%s", l.owner);
	petrid_job job;
	int bad = petrid_job_decode(l.e.payload, l.e.len, &job);
	q_entry_free(&l.e);
	if (bad) {
		snprintf(j->err, sizeof j->err, "job payload is corrupt");
		j->kind = PETRID_JOB_CAND;
		job_cannot_start(d, j);
		return NULL;
	}
	j->kind = job.kind;
	j->seed = job.seed;
	snprintf(j->model_id, sizeof j->model_id, "%s", job.model);
	load_t ld;
	memset(&ld, 0, sizeof ld);
	ld.id = j->model_id;
	int rc = q_read(d->st, tx_load_model, &ld);
	if (rc) {
		snprintf(j->err, sizeof j->err, "model %s cannot be read: %s %s", j->model_id, q_strerror(rc), q_errmsg(d->st));
		job_cannot_start(d, j);
		return NULL;
	}
	j->model = ld.m;
	resume_from(d, j);
	pd_settings *st = &j->set;
	st->batch = d->batch, st->lr = d->lr;
	st->checkpoint_s = d->o->checkpoint_s;
	st->job_memory = d->o->job_memory > 0 ? (uint64_t)d->o->job_memory : 0;
	st->simulate = d->simulate;
	if (j->kind == PETRID_JOB_CHILD) {
		int first = j->model.lineage.depth == 0 && !j->model.lineage.parent[0];
		st->epoch_frac = first ? d->seed_epochs : d->child_epochs;
	} else {
		st->epoch_frac = d->cand_epochs;
		st->grow = d->grow;
		st->grow.seed = j->seed;
		st->grow.random = d->random_growth;
	}
	j->run_kind = j->kind == PETRID_JOB_CAND ? PETRID_RUN_CAND
		      : j->model.lineage.depth == 0 && !j->model.lineage.parent[0] ? PETRID_RUN_SEED
										     : PETRID_RUN_CHILD;
	return j;
}

/* ---- a worker finished: commit its result ---- */
static void finish_child(daemon_t *d, job_t *j, tx_t *x)
{
	d->fails_in_row = 0;
	fr_point p = petrid_model_point(&j->out);
	fr_insert_info info;
	int rc = fr_insert(d->fr, &p, &info);
	if (rc == FR_EEXIST) {
		/* already in the frontier (should not happen): keep going */
		memset(&info, 0, sizeof info);
	} else if (rc) {
		/* not in the frontier, so not stored as trained: it runs again */
		write_or_stop(d, tx_requeue, x);
		out_of_memory(d, "the frontier");
		return;
	}
	snprintf(x->msg, sizeof x->msg,
		 "trained %s (parent %s, depth %d): val acc %.2f%%, test acc %.2f%%, %.3f M mult-adds, %llu params, %.3f ms%s%s, %.0f s",
		 j->out.lineage.id, j->out.lineage.parent[0] ? j->out.lineage.parent : "-", j->out.lineage.depth,
		 100 * j->out.metrics.val_acc, 100 * j->out.metrics.test_acc, j->out.cost.macs / 1e6,
		 (unsigned long long)j->out.cost.params, j->out.cost.latency_ms, info.on_hull ? ", on the hull" : "",
		 info.eligible ? ", eligible parent" : "", j->seconds);
	if (petrid_curve_encode(&j->curve, &x->card, &x->cardlen))
		snprintf(x->skip, sizeof x->skip, "%d points over steps %ld..%ld do not make a record", j->curve.n,
			 j->curve.first_step, j->curve.steps);
	int wrc = write_or_stop(d, tx_child_done, x);
	free(x->card);
	x->card = NULL;
	if (wrc == 0) {
		d->jobs_done++;
		if (j->out.metrics.val_acc > d->best_acc) {
			d->best_acc = j->out.metrics.val_acc;
			snprintf(d->best_id, sizeof d->best_id, "%s", j->out.lineage.id);
		}
		pd_say(d, "%s", x->msg);
	}
}

static void finish_cand(daemon_t *d, job_t *j, tx_t *x)
{
	d->fails_in_row = 0;
	/* the candidate job measures on the first eval_rows validation rows */
	int er = d->o->grow.eval_rows, rows = er > 0 && er < d->va.n ? er : d->va.n;
	if (j->rep.has_child)
		snprintf(x->msg, sizeof x->msg,
			 "parent val acc after joint training %.2f%% (loss %.9g), child at step 0 %.2f%% (loss %.9g), "
			 "on %d val rows, %.0f s",
			 100 * j->rep.parent_val_acc, j->rep.parent_val_loss, 100 * j->rep.child_val_acc0,
			 j->rep.child_val_loss0, rows, j->seconds);
	else
		snprintf(x->msg, sizeof x->msg, "parent val acc after joint training %.2f%% on %d val rows, %.0f s",
			 100 * j->rep.parent_val_acc, rows, j->seconds);
	if (j->rep.has_child) {
		petrid_omega_rank *r = malloc(sizeof *r);
		if (!r)
			snprintf(x->skip, sizeof x->skip, "out of memory");
		else if (petrid_omega_make(&j->rep, j->model_id, j->entry, j->model.metrics.val_acc, r))
			snprintf(x->skip, sizeof x->skip, "%d winners, more than the %d pairs a ranking keeps", j->rep.nwin,
				 PETRID_OMEGA_MAX);
		else if (petrid_omega_encode(r, &x->card, &x->cardlen))
			snprintf(x->skip, sizeof x->skip, "the ranking of %d pairs cannot be encoded", r->n);
		free(r);
	}
	int wrc = write_or_stop(d, tx_cand_done, x);
	free(x->card);
	x->card = NULL;
	if (wrc == 0) {
		d->jobs_done++;
		pd_say(d, "candidate %llu on %s: %s%s%s", (unsigned long long)j->entry, j->model_id, j->rep.desc,
		       x->pushed ? " -> " : "", x->pushed ? x->child_id : "");
	}
}

/* worker w's newest checkpoint record, taken out of its hands */
static char *take_ckpt(worker_t *w, size_t *len)
{
	pthread_mutex_lock(&w->mu);
	char *c = w->ckpt;
	*len = w->ckptlen;
	w->ckpt = NULL;
	pthread_mutex_unlock(&w->mu);
	return c;
}

typedef struct {
	uint64_t entry;
	const char *buf;
	size_t len;
} ckpt_put_t;

static int tx_ckpt(q_txn *t, void *ud)
{
	const ckpt_put_t *c = ud;
	char key[64];
	petrid_ckpt_key(key, sizeof key, c->entry);
	return q_blob_put(t, key, c->buf, c->len);
}

/* the checkpoints the running jobs made since the last look, stored */
static void write_ckpts(daemon_t *d)
{
	for (int i = 0; i < d->nw && !d->store_rc; i++) {
		worker_t *w = &d->w[i];
		if (!w->busy || !w->job)
			continue;
		ckpt_put_t c = { w->job->entry, NULL, 0 };
		char *buf = take_ckpt(w, &c.len);
		if (!buf)
			continue;
		c.buf = buf;
		write_or_stop(d, tx_ckpt, &c);
		free(buf);
	}
}

/* Commit job j's result (ck: its last checkpoint, taken), then free j. */
static void apply(daemon_t *d, job_t *j, char *ck, size_t cklen)
{
	d->applied++;
	d->work_s += j->seconds;
	tx_t x;
	memset(&x, 0, sizeof x);
	x.d = d, x.j = j;
	x.ckptlen = cklen;
	if (j->rc == NN_ESTOP || (d->stopping && j->rc)) {
		x.ckpt = ck, ck = NULL;
		/* cancelled: queued again, without using up one of its attempts */
		write_or_stop(d, tx_requeue, &x);
		pd_say(d, "job %llu (%s) interrupted; it runs again when the search resumes", (unsigned long long)j->entry,
		       j->model_id);
	} else if (j->rc) {
		write_or_stop(d, tx_fail, &x);
		pd_say(d, "job %llu (%s) failed: %s%s", (unsigned long long)j->entry, j->model_id, j->err,
		       x.state == Q_FAILED ? " (not retried again)" : "");
		/* every job fails: something is wrong with the setup, not a job */
		if (++d->fails_in_row >= 30 && !d->stopping)
			pd_stop(d, "30 jobs failed in a row, the last: %.100s", j->err);
	} else if (j->kind == PETRID_JOB_CHILD) {
		finish_child(d, j, &x);
	} else {
		finish_cand(d, j, &x);
	}
	free(ck);
	free(x.ckpt);
	pd_job_free(j);
}

static void finish(daemon_t *d, worker_t *w, job_t *j)
{
	size_t len;
	char *ck = take_ckpt(w, &len);
	pd_worker_done(w);
	apply(d, j, ck, len);
}

/* ---- the running jobs' progress ---- */
#define RUNNING_EVERY 2.0 /* seconds between writes of the running jobs */

/* The jobs in the workers' hands now; *sig: a hash of what changes (which
 * job on which worker, steps done and planned), not of the clock. */
static void running_now(const daemon_t *d, petrid_running *r, uint64_t *sig)
{
	double now = nn_now();
	uint64_t h = 1469598103934665603ull;
	r->n = 0;
	for (int i = 0; i < d->nw && r->n < PETRID_RUN_MAX; i++) {
		const worker_t *w = &d->w[i];
		const job_t *j = w->busy ? w->job : NULL;
		if (!j)
			continue;
		petrid_run_job *o = &r->job[r->n++];
		memset(o, 0, sizeof *o);
		o->kind = j->run_kind;
		snprintf(o->model, sizeof o->model, "%s", j->model_id);
		o->worker = w->idx < PETRID_RUN_MAX ? w->idx : PETRID_RUN_MAX - 1;
		o->steps = atomic_load_explicit(&((worker_t *)w)->steps, memory_order_relaxed);
		o->step = atomic_load_explicit(&((worker_t *)w)->step, memory_order_relaxed);
		if (o->step > o->steps) /* read between the two stores */
			o->step = o->steps;
		o->elapsed_s = now > j->t0 ? now - j->t0 : 0;
		uint64_t v[4] = { (uint64_t)w->idx, j->entry, (uint64_t)o->step, (uint64_t)o->steps };
		for (int k = 0; k < 4; k++)
			h = (h ^ v[k]) * 1099511628211ull;
	}
	*sig = h ^ (uint64_t)r->n;
}

typedef struct {
	char *buf;
	size_t len;
} blob_t;

static int tx_running(q_txn *t, void *ud)
{
	blob_t *b = ud;
	return q_blob_put(t, PETRID_RUN_JOBS, b->buf, b->len);
}

/* Every RUNNING_EVERY seconds, when something changed: the running jobs in
 * one small write transaction, for `petri status` (a record of none once
 * the last job ended). A record that cannot be encoded is not written. */
static void write_running(daemon_t *d)
{
	double t = nn_now();
	if (t - d->last_running < RUNNING_EVERY)
		return;
	d->last_running = t;
	petrid_running *r = malloc(sizeof *r);
	if (!r)
		return;
	uint64_t sig;
	running_now(d, r, &sig);
	if ((r->n || d->running_stored) && sig != d->running_sig) {
		r->pid = (int64_t)getpid();
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		r->ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		blob_t b = { NULL, 0 };
		if (!petrid_running_encode(r, &b.buf, &b.len) && write_or_stop(d, tx_running, &b) == 0) {
			d->running_sig = sig;
			d->running_stored = r->n > 0;
		}
		free(b.buf);
	}
	free(r);
}

/* the running jobs for the progress line: " | child m000005 43% eta 12s, ..." */
static void running_text(const daemon_t *d, char *out, size_t n)
{
	out[0] = 0;
	petrid_running *r = malloc(sizeof *r);
	if (!r)
		return;
	uint64_t sig;
	running_now(d, r, &sig);
	size_t k = 0;
	for (int i = 0; i < r->n && k + 1 < n; i++) {
		const petrid_run_job *j = &r->job[i];
		double frac = j->steps > 0 ? (double)j->step / (double)j->steps : 0;
		int w = snprintf(out + k, n - k, "%s%s %s %.0f%%", i ? ", " : " | ", petrid_run_kind_name(j->kind), j->model,
				 100 * frac);
		if (w > 0 && (size_t)w < n - k)
			k += (size_t)w;
		if (frac > 0 && k + 1 < n) {
			w = snprintf(out + k, n - k, " eta %.0fs", j->elapsed_s * (1 - frac) / frac);
			if (w > 0 && (size_t)w < n - k)
				k += (size_t)w;
		}
	}
	free(r);
}

/* ---- progress ---- */
typedef struct {
	uint64_t n[Q_NQUEUES][Q_NSTATES];
	uint64_t models;
} counts_t;

static int tx_counts(q_txn *t, void *ud)
{
	counts_t *c = ud;
	int rc;
	for (int q = 0; q < Q_NQUEUES; q++)
		for (int s = 0; s < Q_NSTATES; s++)
			if ((rc = q_count(t, q, s, &c->n[q][s])))
				return rc;
	return q_model_count(t, &c->models);
}

static void progress(daemon_t *d, int force)
{
	double t = nn_now();
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
	char jobs[400], line[800];
	running_text(d, jobs, sizeof jobs);
	snprintf(line, sizeof line,
		 "[%.0fs%s] child %llu done %llu running %llu queued | cand %llu done %llu running %llu queued | best val acc %.2f%% (%s) | frontier %zu models, hull %zu%s",
		 pd_elapsed(d), budget, (unsigned long long)c.n[Q_CHILD][Q_DONE], (unsigned long long)c.n[Q_CHILD][Q_LEASED],
		 (unsigned long long)c.n[Q_CHILD][Q_QUEUED], (unsigned long long)c.n[Q_CANDIDATE][Q_DONE],
		 (unsigned long long)c.n[Q_CANDIDATE][Q_LEASED], (unsigned long long)c.n[Q_CANDIDATE][Q_QUEUED],
		 100 * d->best_acc, d->best_id[0] ? d->best_id : "-", fs.points, fs.hull, jobs);
	if (d->tty)
		fprintf(stderr, "\r\033[K%s", line);
	else
		fprintf(stderr, "%s\n", line);
}

/* ---- the loop ---- */
static int tx_stopped(q_txn *t, void *ud)
{
	daemon_t *d = ud;
	int n = 0, rc = q_recover(t, 0, &n); /* interrupted jobs: queued for the next run */
	if (rc)
		return rc;
	petrid_cfg_set_num(t, PETRID_CFG_ELAPSED, pd_elapsed(d));
	q_config_set(t, PETRID_CFG_PID, "0");
	if ((rc = q_blob_del(t, PETRID_RUN_JOBS)) && rc != Q_ENOTFOUND)
		return rc;
	q_config_set(t, PETRID_CFG_STATE, d->stop_reason[0] && !strncmp(d->stop_reason, "budget", 6)
						  ? PETRID_STATE_DONE
						  : PETRID_STATE_STOPPED);
	return q_event(t, "search stopped: %s", d->stop_reason[0] ? d->stop_reason : "stopped");
}

void pd_record_stop(daemon_t *d) { q_write(d->st, tx_stopped, d); }

/* Stop when a signal, the budget or the failures say so. */
static void check_budget(daemon_t *d)
{
	if (g_stop && !d->stopping)
		pd_stop(d, "signal");
	if (!d->stopping && d->budget_s > 0 && pd_elapsed(d) >= d->budget_s)
		pd_stop(d, "budget of %.0f s spent", d->budget_s);
	if (!d->stopping && d->budget_jobs > 0 && d->jobs_done >= d->budget_jobs)
		pd_stop(d, "budget of %ld jobs spent", d->budget_jobs);
}

/* ---- the deterministic order (--deterministic) ----
 * Jobs are numbered in the order they are leased, and their results are
 * applied in that order; a job is leased only right after the result
 * PD_DET_WINDOW jobs before it was applied (or at the start), and never
 * more than the jobs budget. So every decision of the search (what to
 * lease, which parent, which child) sees the same store whatever the number
 * of workers and whenever each result arrives: the sequence of models is
 * the same with 1, 2 or 64 workers. A job's randomness comes from its seed
 * (the search's seed and its queue entries); each job runs on one thread,
 * so that its numbers do not depend on how threads split its sums. */
static int det_room(const daemon_t *d)
{
	if (d->nout >= PD_DET_WINDOW)
		return 0;
	return !(d->budget_jobs > 0 && d->jobs_done + d->nout >= d->budget_jobs);
}

/* lease in order while the window and the budget allow */
static void det_fill(daemon_t *d)
{
	while (!d->stopping && det_room(d)) {
		job_t *j = next_job(d, -1);
		if (!j)
			break;
		j->threads = 1;
		d->out[(d->out0 + d->nout) % PD_DET_WINDOW] = j;
		d->nout++;
	}
}

static int det_schedule(daemon_t *d)
{
	/* the oldest results, in order; after each, what it allows to lease */
	if (!d->started) {
		d->started = 1;
		det_fill(d);
	}
	while (d->nout > 0 && d->out[d->out0]->done) {
		job_t *j = d->out[d->out0];
		d->out[d->out0] = NULL;
		d->out0 = (d->out0 + 1) % PD_DET_WINDOW;
		d->nout--;
		char *ck = j->ckbuf;
		j->ckbuf = NULL;
		apply(d, j, ck, j->cklen);
		check_budget(d);
		det_fill(d);
	}
	for (int i = 0; i < d->nw; i++)
		if (d->stopping && d->w[i].busy)
			atomic_store(&d->w[i].cancel, 1);
	/* the jobs not running yet: to idle workers, oldest first; when the
	 * search stops they go back to their queue */
	int w = 0;
	for (int k = 0; k < d->nout; k++) {
		job_t *j = d->out[(d->out0 + k) % PD_DET_WINDOW];
		if (j->given || j->done)
			continue;
		if (d->stopping) {
			j->rc = NN_ESTOP;
			snprintf(j->err, sizeof j->err, "stopped");
			j->done = 1;
			continue;
		}
		while (w < d->nw && d->w[w].busy)
			w++;
		if (w == d->nw)
			break;
		j->given = 1;
		j->t0 = nn_now();
		pd_worker_give(&d->w[w], j);
		pd_say(d, "%s job %llu (%s) -> worker %d, 1 thread (ordered)", kind_name(j), (unsigned long long)j->entry,
		       j->model_id, w);
	}
	return d->nout;
}

/* a worker reported j: its result waits for its turn; the worker is free */
static void det_report(daemon_t *d, worker_t *w, job_t *j)
{
	j->ckbuf = take_ckpt(w, &j->cklen);
	j->done = 1;
	pd_worker_done(w);
	(void)d;
}

/* Cancel or feed the workers; the number busy. The new jobs share the
 * threads that no running job holds: when fewer jobs can run than there
 * are workers, the cores of the idle ones go to the jobs that start (a
 * job's threads are fixed when it starts, its nets are planned for them;
 * they return at its end). */
static int schedule(daemon_t *d)
{
	if (d->det)
		return det_schedule(d);
	int busy = 0, held = 0, nnew = 0;
	job_t *nj[PD_MAX_WORKERS];
	worker_t *nw[PD_MAX_WORKERS];
	d->leased = 0;
	for (int i = 0; i < d->nw; i++) {
		worker_t *w = &d->w[i];
		if (d->stopping && w->busy)
			atomic_store(&w->cancel, 1);
		if (w->busy) {
			held += w->job && w->job->threads > 0 ? w->job->threads : d->o->threads;
			busy++;
		} else if (!d->stopping && (nj[nnew] = next_job(d, w->idx))) {
			nw[nnew++] = w;
			d->leased = nnew;
		}
	}
	/* the cores the workers share: theirs, but never more than the machine's */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int total = d->nw * d->o->threads;
	if (ncpu > 0 && total > ncpu)
		total = ncpu > d->o->threads ? (int)ncpu : d->o->threads;
	int spare = total - held;
	for (int k = 0; k < nnew; k++) {
		job_t *j = nj[k];
		int share = spare > 0 ? spare / nnew + (k < spare % nnew) : 0;
		j->threads = share > d->o->threads ? share : d->o->threads;
		if (d->mpi)
			j->threads = d->o->threads; /* a rank's cores are its machine's */
		j->t0 = nn_now();
		pd_worker_give(nw[k], j);
		pd_say(d, "%s job %llu (%s) -> worker %d, %d thread%s", kind_name(j), (unsigned long long)j->entry,
		       j->model_id, nw[k]->idx, j->threads, j->threads == 1 ? "" : "s");
		busy++;
	}
	d->leased = 0;
	return busy;
}

/* Wait up to half a second for a finished job or a control request. */
static void wait_events(daemon_t *d)
{
	struct pollfd p[2] = { { d->pipefd[0], POLLIN, 0 }, { d->sock, POLLIN, 0 } };
	int np = d->sock >= 0 ? 2 : 1;
	double t0 = nn_now();
	int pr = poll(p, np, 500);
	d->wait_s += nn_now() - t0;
	if (pr > 0 && (p[0].revents & POLLIN)) {
		job_t *j;
		ssize_t n = read(d->pipefd[0], &j, sizeof j);
		if (n == sizeof j) {
			for (int i = 0; i < d->nw; i++)
				if (d->w[i].job == j) {
					if (d->det)
						det_report(d, &d->w[i], j);
					else
						finish(d, &d->w[i], j);
					break;
				}
		}
	}
	if (np == 2 && pr > 0 && (p[1].revents & POLLIN))
		pd_control_serve(d);
}

int pd_loop(daemon_t *d, char *err, size_t errlen)
{
	double last_save = nn_now(), loop_t0 = nn_now();
	struct rusage ru0;
	double cpu0 = getrusage(RUSAGE_THREAD, &ru0) ? 0
		      : (double)ru0.ru_utime.tv_sec + (double)ru0.ru_stime.tv_sec +
				1e-6 * (double)(ru0.ru_utime.tv_usec + ru0.ru_stime.tv_usec);
	for (;;) {
		check_budget(d);
		int busy = schedule(d);
		if (d->stopping && !busy)
			break;
		if (!busy && !d->stopping) {
			/* nothing to run and nothing running: the search cannot go on */
			counts_t c;
			memset(&c, 0, sizeof c);
			q_read(d->st, tx_counts, &c);
			if (!c.n[Q_CHILD][Q_QUEUED] && !c.n[Q_CANDIDATE][Q_QUEUED] && fr_count(d->fr) == 0) {
				pd_stop(d, "nothing left to train (every job failed)");
				continue;
			}
		}
		wait_events(d);
		write_ckpts(d);
		if (nn_now() - last_save > 10) {
			write_or_stop(d, tx_elapsed, d);
			last_save = nn_now();
		}
		write_running(d);
		progress(d, 0);
	}
	progress(d, 1);
	if (d->tty && !d->o->quiet)
		fputc('\n', stderr);
	if (d->applied > 0) {
		/* the loop's own time: all but its waits for events */
		double loop_s = nn_now() - loop_t0, own = loop_s - d->wait_s;
		char ev[300];
		struct rusage ru;
		double cpu = getrusage(RUSAGE_THREAD, &ru) ? 0
			     : (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
				       1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
		snprintf(ev, sizeof ev,
			 "daemon time: %.3f ms a job over %ld jobs, %.3f ms of it in store writes; workers busy %.1f s "
			 "in %.1f s; frontier %zu models; the loop's CPU %.3f ms a job",
			 1e3 * own / (double)d->applied, d->applied, 1e3 * d->store_s / (double)d->applied, d->work_s, loop_s,
			 fr_count(d->fr), 1e3 * (cpu - cpu0) / (double)d->applied);
		pd_say(d, "%s", ev);
		if (!d->store_rc)
			write_or_stop(d, tx_event, ev);
	}
	pd_say(d, "search stopped: %s", d->stop_reason);
	pd_record_stop(d);
	if (d->store_rc || d->nomem) {
		/* e.g. a full disk: what was committed before stays; not a success */
		const char *m = d->store_rc ? q_errmsg(d->st) : "";
		nn_errf(err, errlen, "%s: %s%s%s%s; the search stopped, the models stored before are kept", d->o->dir,
			d->stop_reason, m[0] ? " (" : "", m, m[0] ? ")" : "");
		return PETRID_ESTORE;
	}
	return 0;
}
