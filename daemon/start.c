/* start.c - petrid_run(): start or resume a search, run it, end it.
 *
 * DESIGN
 * Start, in the order that rejects a bad request before it changes
 * anything: the options; the store (a second daemon on the experiment is
 * refused by its lock); the experiment's config (a fresh search, or the
 * data set and shape it was made with); the data; for a fresh search the
 * seed or the warm-start model. Then one transaction records the start
 * (a fresh search: its config, the seed model and its child job; always:
 * the leases of a killed run back in their queues, the options a resume
 * may change, state running), and the state is read back: budget, counters,
 * the frontier. Then the services: the workers' pipe, the control socket,
 * the signal handlers, the workers; then the loop (loop.c). Whatever
 * started is ended in one place, in reverse.
 */
#include "petrid_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	/* a code of another module, by its range */
	if (err <= -100 && err > -200)
		return nn_strerror(err);
	if (err <= -200 && err > -300)
		return q_strerror(err);
	if (err <= -300 && err > -400)
		return fr_strerror(err);
	if (err <= -400 && err > -500)
		return grow_strerror(err);
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
	o->cand_epochs = 0.2;
	o->checkpoint_s = 60;
	o->child_epochs = 1;
	o->cands_per_parent = 2;
	grow_seed_defaults(&o->seed_net);
	grow_opts_defaults(&o->grow);
}

typedef struct {
	daemon_t *d;
	const petrid_opts *o;
	char data[512];
	char shape[64];      /* CSV shape stored with the experiment */
	char fp[24];         /* the data's fingerprint: stored (resume) or computed (fresh) */
	double scale;        /* its input scale; 0: not stored (an older store) */
	int fresh;
	nn_model seed;       /* a fresh search: its first model */
	char seed_id[Q_IDLEN];
	int recovered;
	char frerr[256];     /* why the stored frontier does not decode */
} start_t;

/* ---- store transactions ---- */
static int tx_read_config(q_txn *t, void *ud)
{
	start_t *s = ud;
	char v[512];
	int rc = q_config_get(t, PETRID_CFG_DATA, v, sizeof v);
	if (rc == Q_ENOTFOUND) {
		s->fresh = 1;
		return 0;
	}
	if (rc)
		return rc;
	snprintf(s->data, sizeof s->data, "%s", v);
	if (q_config_get(t, PETRID_CFG_SHAPE, v, sizeof v) == 0)
		snprintf(s->shape, sizeof s->shape, "%.63s", v);
	if (q_config_get(t, PETRID_CFG_DATA_FP, v, sizeof v) == 0)
		snprintf(s->fp, sizeof s->fp, "%.23s", v);
	double sc;
	if (petrid_cfg_get_num(t, PETRID_CFG_INPUT_SCALE, &sc) == 0 && nn_scale_ok(sc))
		s->scale = sc;
	return 0;
}

/* a fresh search: its config, the seed model and its child job */
static int create_search(q_txn *t, start_t *s)
{
	const petrid_opts *o = s->o;
	int rc;
	if ((rc = q_config_set(t, PETRID_CFG_DATA, s->data)))
		return rc;
	if (o->shape && (rc = q_config_set(t, PETRID_CFG_SHAPE, o->shape)))
		return rc;
	if ((rc = petrid_cfg_set_num(t, PETRID_CFG_INPUT_SCALE, s->d->tr.scale)))
		return rc;
	if ((rc = q_config_set(t, PETRID_CFG_DATA_FP, s->fp)))
		return rc;
	petrid_cfg_set_num(t, PETRID_CFG_SEED, (double)o->seed);
	petrid_cfg_set_num(t, PETRID_CFG_RANDOM_GROWTH, o->random_growth);
	petrid_cfg_set_num(t, PETRID_CFG_DETERMINISTIC, o->deterministic != 0);
	petrid_cfg_set_num(t, PETRID_CFG_SIMULATE, o->simulate > 0 ? o->simulate : 0);
	petrid_cfg_set_num(t, PETRID_CFG_CREATED, (double)time(NULL));
	petrid_cfg_set_num(t, PETRID_CFG_ELAPSED, 0);
	petrid_cfg_set_num(t, PETRID_CFG_JOBS_DONE, 0);
	petrid_cfg_set_num(t, PETRID_CFG_MAX_DEPTH, o->max_depth);
	petrid_cfg_set_num(t, PETRID_CFG_CAND_EPOCHS, o->cand_epochs);
	petrid_cfg_set_num(t, PETRID_CFG_CHILD_EPOCHS, o->child_epochs);
	petrid_cfg_set_num(t, PETRID_CFG_GROW_K, o->grow.k);
	char ops[256] = "";
	for (int i = 0; i < GROW_OP__COUNT; i++)
		if (o->grow.ops & (1u << i))
			snprintf(ops + strlen(ops), sizeof ops - strlen(ops), "%s%s", ops[0] ? "," : "", grow_op_name(i));
	q_config_set(t, PETRID_CFG_GROW_OPS, ops);
	petrid_cfg_set_num(t, PETRID_CFG_GROW_INPUTS, o->grow.max_inputs);
	q_config_set(t, PETRID_CFG_CAND_PARENT, o->grow.frozen ? "frozen" : "joint");
	petrid_cfg_set_num(t, PETRID_CFG_NARROW_AT, o->grow.narrow_at);
	petrid_cfg_set_num(t, PETRID_CFG_NARROW_KEEP, o->grow.narrow_keep);
	petrid_cfg_set_num(t, PETRID_CFG_SEED_EPOCHS, o->seed_epochs);
	petrid_cfg_set_num(t, PETRID_CFG_BATCH, o->batch);
	petrid_cfg_set_num(t, PETRID_CFG_LR, o->lr);
	q_config_set(t, PETRID_CFG_COST_AXIS, PETRID_COST_AXIS);
	petrid_cfg_set_num(t, PETRID_CFG_EPS, PETRID_EPS);
	if ((rc = q_model_new_id(t, s->seed_id)))
		return rc;
	snprintf(s->seed.lineage.id, sizeof s->seed.lineage.id, "%s", s->seed_id);
	if ((rc = q_model_put(t, &s->seed, Q_MODEL_NEW)))
		return rc;
	if ((rc = petrid_job_push(t, Q_CHILD, s->seed_id, o->seed, NULL)))
		return rc;
	char sc[32];
	return q_event(t, "search created: data %s (inputs: its values times %s), seed model %s (%s), seed %llu%s",
		       s->data, nn_scale_str(s->d->tr.scale, sc, sizeof sc), s->seed_id, o->from ? o->from : "petri seed",
		       (unsigned long long)o->seed,
		       o->random_growth ? ", random growth" : "");
}

static int tx_start(q_txn *t, void *ud)
{
	start_t *s = ud;
	const petrid_opts *o = s->o;
	daemon_t *d = s->d;
	int rc;
	/* jobs run in worker processes: a daemon that died was not killed by
	 * one of them, so its jobs in flight use no attempt */
	if ((rc = q_recover(t, 0, &s->recovered)))
		return rc;
	if (s->fresh && (rc = create_search(t, s)))
		return rc;
	/* options that may change on resume */
	if (s->fresh || (o->set & PETRID_SET_BUDGET))
		petrid_cfg_set_num(t, PETRID_CFG_BUDGET_S, d->budget_s);
	if (s->fresh || (o->set & PETRID_SET_JOBS))
		petrid_cfg_set_num(t, PETRID_CFG_BUDGET_JOBS, (double)d->budget_jobs);
	if (s->fresh || (o->set & PETRID_SET_MFLOPS))
		petrid_cfg_set_num(t, PETRID_CFG_MAX_MFLOPS, o->max_mflops);
	petrid_cfg_set_num(t, PETRID_CFG_WORKERS, d->nw);
	petrid_cfg_set_num(t, PETRID_CFG_THREADS, o->threads);
	petrid_cfg_set_num(t, PETRID_CFG_PID, (double)getpid());
	q_config_set(t, PETRID_CFG_STATE, PETRID_STATE_RUNNING);
	if (!s->fresh)
		q_event(t, "search resumed (pid %d): %d leased jobs of the previous run back in their queues", (int)getpid(),
			s->recovered);
	return 0;
}

static int tx_load_state(q_txn *t, void *ud)
{
	start_t *s = ud;
	daemon_t *d = s->d;
	double v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_ELAPSED, &v)) d->elapsed0 = v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_JOBS_DONE, &v)) d->jobs_done = (long)v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_BUDGET_S, &v)) d->budget_s = v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_BUDGET_JOBS, &v)) d->budget_jobs = (long)v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_MAX_MFLOPS, &v)) d->max_macs = petrid_mflops_to_macs(v);
	if (!petrid_cfg_get_num(t, PETRID_CFG_MAX_DEPTH, &v)) d->max_depth = (int)v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_SEED, &v)) d->seed = (uint64_t)v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_RANDOM_GROWTH, &v)) d->random_growth = (int)v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_DETERMINISTIC, &v)) d->det = v != 0;
	if (!petrid_cfg_get_num(t, PETRID_CFG_SIMULATE, &v) && v > 0 && v <= 1e9) d->simulate = v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_CAND_EPOCHS, &v)) d->cand_epochs = v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_CHILD_EPOCHS, &v)) d->child_epochs = v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_SEED_EPOCHS, &v)) d->seed_epochs = v;
	/* growth as the search was created; an older store kept none of it:
	 * this run's options */
	d->grow = d->o->grow;
	if (!petrid_cfg_get_num(t, PETRID_CFG_GROW_K, &v) && v >= 1 && v <= 16) d->grow.k = (int)v;
	char ops[256];
	unsigned set;
	if (!q_config_get(t, PETRID_CFG_GROW_OPS, ops, sizeof ops) && !grow_ops_parse(ops, &set))
		d->grow.ops = set;
	if (!petrid_cfg_get_num(t, PETRID_CFG_GROW_INPUTS, &v) && v >= 1 && v <= 64) d->grow.max_inputs = (int)v;
	char cp[16];
	if (!q_config_get(t, PETRID_CFG_CAND_PARENT, cp, sizeof cp))
		d->grow.frozen = !strcmp(cp, "frozen");
	if (!petrid_cfg_get_num(t, PETRID_CFG_NARROW_AT, &v) && v >= 0 && v <= 1) d->grow.narrow_at = (float)v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_NARROW_KEEP, &v) && v >= 0 && v <= 1000) d->grow.narrow_keep = (int)v;
	/* an older store has no batch and learning rate: this run's options */
	d->batch = d->o->batch, d->lr = d->o->lr;
	if (!petrid_cfg_get_num(t, PETRID_CFG_BATCH, &v) && v >= 1 && v <= 65536) d->batch = (int)v;
	if (!petrid_cfg_get_num(t, PETRID_CFG_LR, &v) && v > 0 && v <= 100) d->lr = (float)v;
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

/* ---- start ---- */
/* The store and what it says about the experiment, against the options. */
static int open_experiment(daemon_t *d, start_t *s, char *err, size_t errlen)
{
	const petrid_opts *o = d->o;
	/* the store: a second daemon on the same experiment is refused */
	/* a store to resume is checked first (pages and records, in a child,
	 * as 'petri verify' does): a damaged one is refused, never written */
	q_options qo = { Q_CREATE | Q_CHECK, 0, 0 };
	int qrc = q_open(&d->st, o->dir, &qo, err, errlen);
	if (qrc == Q_ECORRUPT) {
		char why[400];
		snprintf(why, sizeof why, "%s", err);
		nn_errf(err, errlen,
			"%s: the store fails verification, so the search does not resume it: %s; "
			"'petri verify --dir %s' lists the damage; 'petri salvage --dir %s -o NEW' copies what is "
			"intact into NEW, where the search can resume",
			o->dir, why, o->dir, o->dir);
	}
	if (qrc)
		return qrc == Q_EBUSY ? PETRID_EBUSY : PETRID_ESTORE;
	if ((qrc = q_read(d->st, tx_read_config, s))) {
		nn_errf(err, errlen, "%s: cannot read the experiment: %s %s", o->dir, q_strerror(qrc), q_errmsg(d->st));
		return PETRID_ESTORE;
	}
	/* the data set is kept as an absolute path, so a resume works from any
	 * working directory */
	char absdata[PATH_MAX];
	const char *given = o->data ? o->data : NULL;
	if (given && realpath(given, absdata))
		given = absdata;
	if (given && strlen(given) >= sizeof s->data) {
		nn_errf(err, errlen, "%.200s...: data set path longer than %zu bytes", given, sizeof s->data - 1);
		return PETRID_EINVAL;
	}
	if (s->fresh) {
		snprintf(s->data, sizeof s->data, "%.*s", (int)sizeof s->data - 1, given ? given : NN_DEFAULT_DATA);
	} else if (given && strcmp(given, s->data) && strcmp(o->data, s->data)) {
		nn_errf(err, errlen, "%s belongs to the data set %s, not %s (use another --dir for a new search)", o->dir,
			s->data, o->data);
		return PETRID_EDATA;
	}
	if (!s->fresh && o->from) {
		nn_errf(err, errlen, "%s is an existing search; --from only starts a new one", o->dir);
		return PETRID_EINVAL;
	}
	return 0;
}

/* The training, validation and test sets, with the experiment's shape. */
static int load_data(daemon_t *d, start_t *s, char *err, size_t errlen)
{
	const petrid_opts *o = d->o;
	nn_data all;
	char e2[512];
	const char *shape = o->shape;
	if (!s->fresh && s->shape[0]) {
		if (shape && strcmp(shape, s->shape)) {
			nn_errf(err, errlen, "%s was made with --shape %s, not %s", o->dir, s->shape, shape);
			return PETRID_EDATA;
		}
		shape = s->shape;
	}
	/* the input scale: a resume keeps the experiment's (an older store:
	 * the format's default) */
	double scale = s->fresh ? o->input_scale : s->scale;
	if (nn_data_load_scaled(&all, s->data, "train", shape, scale, e2, sizeof e2)) {
		nn_errf(err, errlen, "%s", e2);
		return PETRID_EDATA;
	}
	if (nn_data_check_classes(&all, s->data, e2, sizeof e2)) {
		nn_errf(err, errlen, "%s", e2);
		nn_data_free(&all);
		return PETRID_EDATA;
	}
	if (!s->fresh && o->input_scale && o->input_scale != all.scale) {
		char a[32], b[32];
		nn_errf(err, errlen, "%s was made with --input-scale %s, not %s", o->dir,
			nn_scale_str(all.scale, a, sizeof a), nn_scale_str(o->input_scale, b, sizeof b));
		nn_data_free(&all);
		return PETRID_EDATA;
	}
	if (nn_data_load_scaled(&d->te, s->data, "test", shape, all.scale, e2, sizeof e2)) {
		nn_errf(err, errlen, "%s", e2);
		nn_data_free(&all);
		return PETRID_EDATA;
	}
	/* the same data as when the search started, not only the same path */
	char fp[24];
	snprintf(fp, sizeof fp, "%016llx",
		 (unsigned long long)(nn_data_fingerprint(&all) * 31 + nn_data_fingerprint(&d->te)));
	if (!s->fresh && s->fp[0] && strcmp(fp, s->fp)) {
		nn_errf(err, errlen,
			"%s: the data set %s changed since the search started (fingerprint %s, the search's %s); "
			"restore it or start a new search in another --dir", o->dir, s->data, fp, s->fp);
		nn_data_free(&all);
		return PETRID_EDATA;
	}
	snprintf(s->fp, sizeof s->fp, "%s", fp);
	int nval = o->nval >= 0 ? o->nval : (all.n >= 50000 ? 5000 : all.n / 10);
	if (nval < 1 || nval >= all.n || nn_data_split(&all, nval, &d->tr, &d->va)) {
		nn_errf(err, errlen, "%s: %d rows cannot be split into training and validation parts", s->data, all.n);
		nn_data_free(&all);
		return PETRID_EDATA;
	}
	int k = all.classes > d->te.classes ? all.classes : d->te.classes;
	d->tr.classes = d->va.classes = d->te.classes = k;
	nn_data_free(&all);
	if (d->te.c != d->tr.c || d->te.h != d->tr.h || d->te.w != d->tr.w) {
		nn_errf(err, errlen, "%s: test images are %dx%dx%d, training images %dx%dx%d", s->data, d->te.c, d->te.h,
			d->te.w, d->tr.c, d->tr.h, d->tr.w);
		return PETRID_EDATA;
	}
	return 0;
}

int pd_load_data_as(daemon_t *d, const char *data, const char *shape, double scale, int nval, const char *fp,
		    char *err, size_t errlen)
{
	/* read as a fresh search would (shape and scale as given), then
	 * compared with the search's fingerprint */
	petrid_opts o = *d->o;
	o.shape = shape[0] ? shape : NULL;
	o.input_scale = scale;
	o.nval = nval;
	const petrid_opts *keep = d->o;
	d->o = &o;
	start_t s;
	memset(&s, 0, sizeof s);
	s.d = d, s.o = &o, s.fresh = 1;
	snprintf(s.data, sizeof s.data, "%s", data);
	int rc = load_data(d, &s, err, errlen);
	d->o = keep;
	if (!rc && strcmp(s.fp, fp)) {
		nn_errf(err, errlen, "%s is not the search's data set (fingerprint %s, the search's %s)", data, s.fp, fp);
		nn_data_free(&d->tr), nn_data_free(&d->va), nn_data_free(&d->te);
		rc = PETRID_EDATA;
	}
	return rc;
}

/* A fresh search: the warm-start model (--from) or the seed network. */
static int make_seed(daemon_t *d, start_t *s, char *err, size_t errlen)
{
	const petrid_opts *o = d->o;
	nn_model seed;
	memset(&seed, 0, sizeof seed);
	int rc = 0;
	char e2[512];
	nn_shape in = { 1, d->tr.c, d->tr.h, d->tr.w };
	if (o->from) {
		if (grow_load(&seed, o->from, 1, e2, sizeof e2)) {
			nn_errf(err, errlen, "%s", e2);
			rc = PETRID_EMODEL;
			goto fail;
		}
		if (seed.g.in.c != in.c || seed.g.in.h != in.h || seed.g.in.w != in.w || seed.g.classes < d->tr.classes) {
			nn_errf(err, errlen, "%s takes %dx%dx%d inputs and %d classes; the data has %dx%dx%d and %d", o->from,
				seed.g.in.c, seed.g.in.h, seed.g.in.w, seed.g.classes, in.c, in.h, in.w, d->tr.classes);
			rc = PETRID_EMODEL;
			goto fail;
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
			goto fail;
		}
		nn_net_init(net, o->seed);
		int mrc = nn_model_from_net(&seed, net);
		nn_net_free(net);
		nn_graph_free(&g);
		if (mrc) {
			nn_errf(err, errlen, "cannot build the seed network: %s", nn_strerror(mrc));
			rc = PETRID_EINVAL;
			goto fail;
		}
	}
	snprintf(seed.data, sizeof seed.data, "%.255s", s->data);
	seed.lineage.input_scale = d->tr.scale;
	s->seed = seed;
	return 0;
fail:
	nn_model_free(&seed);
	return rc;
}

/* Record the start, then read the state back: budget, counters, frontier. */
static int load_state(daemon_t *d, start_t *s, char *err, size_t errlen)
{
	const petrid_opts *o = d->o;
	d->budget_s = o->budget_s;
	d->budget_jobs = o->budget_jobs;
	d->nw = o->workers > 0 ? o->workers : (int)(sysconf(_SC_NPROCESSORS_ONLN) / o->threads);
	if (petrid_mpi_size() > 1) {
		/* under mpirun: one worker per rank but this one */
		d->mpi = 1;
		d->nw = petrid_mpi_size() - 1;
		if (o->workers > 0 && o->workers != d->nw)
			pd_say(d, "petri: warning: --workers %d ignored: the search has %d worker ranks", o->workers, d->nw);
	}
	if (d->nw > PD_MAX_WORKERS)
		d->nw = PD_MAX_WORKERS;
	if (d->nw < 1)
		d->nw = 1;
	int qrc = q_write(d->st, tx_start, s);
	if (qrc) {
		nn_errf(err, errlen, "%s: cannot start: %s %s", o->dir, q_strerror(qrc), q_errmsg(d->st));
		return PETRID_ESTORE;
	}
	if ((qrc = q_read(d->st, tx_load_state, s))) {
		if (s->frerr[0])
			nn_errf(err, errlen, "%s: frontier state is corrupt: %s", o->dir, s->frerr);
		else
			nn_errf(err, errlen, "%s: cannot read the experiment state: %s %s", o->dir, q_strerror(qrc),
				q_errmsg(d->st));
		return PETRID_ESTORE;
	}
	if (!d->fr) {
		fr_opts fo;
		fr_opts_default(&fo);
		fo.seed = d->seed;
		int rc = fr_create(&d->fr, &fo);
		if (rc) {
			nn_errf(err, errlen, "%s: cannot create the frontier: %s", o->dir, fr_strerror(rc));
			return PETRID_ESTORE;
		}
	}
	q_read(d->st, tx_best, d);
	/* the experiment trains as it was created: say so when a resume asks
	 * for something else */
	if (!s->fresh) {
		const struct { int set; double given, kept; const char *opt; } k[] = {
			{ PETRID_SET_BATCH, o->batch, d->batch, "--batch" },
			{ PETRID_SET_LR, o->lr, d->lr, "--lr" },
			{ PETRID_SET_SEED_EPOCHS, o->seed_epochs, d->seed_epochs, "--seed-epochs" },
			{ PETRID_SET_CAND_EPOCHS, o->cand_epochs, d->cand_epochs, "--cand-epochs" },
			{ PETRID_SET_CHILD_EPOCHS, o->child_epochs, d->child_epochs, "--child-epochs" },
			{ PETRID_SET_K, o->grow.k, d->grow.k, "--k" },
			{ PETRID_SET_INPUTS, o->grow.max_inputs, d->grow.max_inputs, "--inputs" },
		};
		for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
			if ((o->set & k[i].set) && (float)k[i].given != (float)k[i].kept)
				pd_say(d, "petri: warning: %s %g ignored: %s trains with %g, as it was created", k[i].opt,
				       k[i].given, o->dir, k[i].kept);
	}
	if (s->recovered)
		pd_say(d, "resumed: %d jobs in flight when the last run ended are queued again", s->recovered);
	if (!s->fresh && (o->simulate > 0) != (d->simulate > 0))
		pd_say(d, "petri: warning: --simulate %s: %s %s simulated", o->simulate > 0 ? "ignored" : "kept", o->dir,
		       d->simulate > 0 ? "was created" : "was not");
	if (!s->fresh && (o->set & PETRID_SET_OPS) && o->grow.ops != d->grow.ops)
		pd_say(d, "petri: warning: --ops ignored: %s grows with the ops it was created with", o->dir);
	if (!s->fresh && (o->set & PETRID_SET_NARROW) &&
	    ((float)o->grow.narrow_at != (float)d->grow.narrow_at || o->grow.narrow_keep != d->grow.narrow_keep))
		pd_say(d, "petri: warning: --narrow-at/--narrow-keep ignored: %s narrows candidate jobs at %g keeping %d, "
			  "as it was created", o->dir, d->grow.narrow_at, d->grow.narrow_keep);
	if (!s->fresh && (o->set & PETRID_SET_CAND_PARENT) && o->grow.frozen != d->grow.frozen)
		pd_say(d, "petri: warning: %s ignored: %s scores candidates with a %s parent, as it was created",
		       o->grow.frozen ? "--frozen-parent" : "--joint", o->dir, d->grow.frozen ? "frozen" : "jointly trained");
	if (!s->fresh && o->deterministic && !d->det)
		pd_say(d, "petri: warning: --deterministic ignored: %s was created without it", o->dir);
	if (d->det && o->threads > 1)
		pd_say(d, "petri: warning: --threads-per-worker %d ignored: a deterministic search runs each job on one "
			  "thread", o->threads);
	return 0;
}

/* The workers' pipe, the control socket, the signal handlers, the workers. */
static int start_services(daemon_t *d, char *err, size_t errlen)
{
	const petrid_opts *o = d->o;
	if (pipe(d->pipefd)) {
		nn_errf(err, errlen, "pipe: %s", strerror(errno));
		d->pipefd[0] = d->pipefd[1] = -1;
		return PETRID_ESTORE;
	}
	fcntl(d->pipefd[0], F_SETFD, FD_CLOEXEC);
	fcntl(d->pipefd[1], F_SETFD, FD_CLOEXEC);
	char e2[256] = "";
	d->sock = pd_control_open(o->dir, e2, sizeof e2);
	if (d->sock < 0)
		pd_say(d, "petri: no control socket (%s); stop with SIGTERM", e2);
	pd_signals();
	nn_set_threads(o->threads);
	return pd_workers_start(d, err, errlen);
}

/* Undo what started, in reverse. */
static void end(daemon_t *d, start_t *s)
{
	pd_workers_stop(d);
	pd_control_close(d);
	if (d->pipefd[0] >= 0)
		close(d->pipefd[0]), close(d->pipefd[1]);
	fr_free(d->fr);
	nn_model_free(&s->seed);
	nn_data_free(&d->tr), nn_data_free(&d->va), nn_data_free(&d->te);
	q_close(d->st);
}

int petrid_run(const petrid_opts *o, char *err, size_t errlen)
{
	if (!o->dir) {
		nn_errf(err, errlen, "--dir EXP is required");
		return PETRID_EINVAL;
	}
	if (o->budget_s < 0 || o->budget_jobs < 0 || o->threads < 1 || o->workers < 0) {
		nn_errf(err, errlen, "bad budget, workers or threads");
		return PETRID_EINVAL;
	}
	daemon_t D, *d = &D;
	memset(d, 0, sizeof *d);
	d->o = o;
	d->pipefd[0] = d->pipefd[1] = d->sock = d->spawner_fd = -1;
	d->tty = isatty(2);
	start_t s;
	memset(&s, 0, sizeof s);
	s.d = d, s.o = o;
	pd_stop_clear();
	int rc = open_experiment(d, &s, err, errlen);
	if (!rc)
		rc = load_data(d, &s, err, errlen);
	if (!rc) {
		snprintf(d->data_path, sizeof d->data_path, "%s", s.data);
		snprintf(d->shape, sizeof d->shape, "%s", o->shape && s.fresh ? o->shape : s.shape);
		snprintf(d->data_fp, sizeof d->data_fp, "%s", s.fp);
	}
	if (!rc && s.fresh)
		rc = make_seed(d, &s, err, errlen);
	if (!rc && s.fresh && o->simulate > 0) /* the seed is not trained either */
		s.seed.metrics.epochs = 0;
	if (!rc)
		rc = load_state(d, &s, err, errlen);
	if (!rc) {
		d->t0 = nn_now();
		rc = start_services(d, err, errlen);
		if (rc) {
			/* the store says running: it says stopped again */
			pd_stop(d, "%s", err);
			pd_record_stop(d);
		}
	}
	if (!rc) {
		pd_say(d, "search %s: data %s (%d train / %d val / %d test), %d %s x %d threads, budget %s", o->dir,
		       s.data, d->tr.n, d->va.n, d->te.n, d->nw, d->mpi ? "worker ranks" : "workers", o->threads,
		       d->budget_s > 0 ? "time" : d->budget_jobs > 0 ? "jobs" : "none (until stopped)");
		rc = pd_loop(d, err, errlen);
	}
	end(d, &s);
	return rc;
}
