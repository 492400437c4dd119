/* worker.c - the daemon's worker threads.
 *
 * DESIGN
 * A worker waits for the job the loop gives it, runs it on the private copy
 * of the model in the job (the data sets are shared read-only), and writes
 * the job's address to the loop's pipe. Training polls a stop callback
 * between steps: the worker's atomic cancel flag (set by the loop when the
 * search stops) or a signal. Workers never touch the store.
 */
#include "petrid_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int worker_stop_cb(void *ud)
{
	worker_t *w = ud;
	return atomic_load(&w->cancel) || pd_stop_requested();
}

/* after every training step: the progress the loop reads, and a child's
 * loss curve; two relaxed stores and a few adds, nothing that waits */
typedef struct {
	worker_t *w;
	job_t *j;
} step_ctx;

static void worker_step_cb(void *ud, long step, long steps, float loss, double img_s)
{
	step_ctx *c = ud;
	(void)img_s;
	atomic_store_explicit(&c->w->steps, steps, memory_order_relaxed);
	atomic_store_explicit(&c->w->step, step, memory_order_relaxed);
	if (c->j->kind == PETRID_JOB_CHILD)
		petrid_curve_add(&c->j->curve, step, steps, loss);
}

/* between two training steps, every checkpoint_s seconds and when the
 * job is stopped: its state, encoded for the loop to store (a newer one
 * replaces one the loop has not taken yet) */
static void worker_save_cb(void *ud, const nn_net *net, long step, long steps)
{
	step_ctx *c = ud;
	petrid_ckpt k;
	memset(&k, 0, sizeof k);
	k.entry = c->j->entry;
	snprintf(k.model, sizeof k.model, "%s", c->j->model_id);
	k.kind = c->j->kind;
	k.step = step, k.steps = steps;
	nn_train_state st;
	nn_net_train_state(net, step, &st);
	k.nparams = st.nparams, k.nstate = st.nstate;
	k.params = st.params, k.mom = st.mom, k.state = st.state;
	char *buf;
	size_t len;
	if (petrid_ckpt_encode(&k, &buf, &len))
		return; /* out of memory: the previous checkpoint stays */
	pthread_mutex_lock(&c->w->mu);
	free(c->w->ckpt);
	c->w->ckpt = buf, c->w->ckptlen = len;
	pthread_mutex_unlock(&c->w->mu);
}

static void run_job(worker_t *w, job_t *j)
{
	daemon_t *d = w->d;
	double t0 = nn_now();
	nn_train_opts to;
	nn_train_defaults(&to);
	to.batch = d->batch;
	to.lr = d->lr;
	to.seed = j->seed;
	to.stop = worker_stop_cb;
	to.stop_ud = w;
	to.verbose = 0;
	step_ctx sc = { w, j };
	to.on_step = worker_step_cb;
	to.step_ud = &sc;
	to.save = worker_save_cb;
	to.save_ud = &sc;
	to.save_every_s = d->o->checkpoint_s;
	nn_train_state rs;
	if (j->resume.owned) {
		rs = (nn_train_state){ j->resume.step, j->resume.nparams, j->resume.nstate, j->resume.params,
				       j->resume.mom, j->resume.state };
		to.resume = &rs;
	}
	petrid_curve_begin(&j->curve);
	/* the nets of this job are planned for these threads (nn_net_create) */
	nn_set_thread_threads(j->threads > 0 ? j->threads : 1);
	if (j->kind == PETRID_JOB_CHILD) {
		to.epoch_frac = j->model.lineage.depth == 0 && !j->model.lineage.parent[0] ? d->seed_epochs : d->child_epochs;
		if (to.epoch_frac <= 0)
			to.epochs = 0; /* a warm start evaluated as it is */
		j->out = j->model;
		memset(&j->model, 0, sizeof j->model);
		j->rc = grow_train_child(&j->out, &d->tr, &d->va, &d->te, &to, j->err, sizeof j->err);
		petrid_curve_end(&j->curve);
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
		snprintf(j->err, sizeof j->err, "%s", grow_strerror(j->rc));
	j->seconds = nn_now() - t0;
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

int pd_workers_start(daemon_t *d, char *err, size_t errlen)
{
	d->w = calloc(d->nw, sizeof(worker_t));
	if (!d->w) {
		nn_errf(err, errlen, "out of memory for %d workers", d->nw);
		return PETRID_ESTORE;
	}
	for (int i = 0; i < d->nw; i++) {
		worker_t *w = &d->w[i];
		w->d = d, w->idx = i;
		atomic_init(&w->cancel, 0);
		atomic_init(&w->step, 0);
		atomic_init(&w->steps, 0);
		int rc = pthread_mutex_init(&w->mu, NULL);
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
	}
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
	free(j);
}
