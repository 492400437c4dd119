/* cmd_store.c - petri commands that read an experiment store: status,
 * frontier, pick, export, card.
 *
 * Every command opens EXP read-only (Q_RDONLY), so it works beside a running
 * daemon and never changes the store. What a command shows is read in one
 * snapshot (one q_read): config, summaries, queue counts, the frontier
 * and the last events are consistent with each other.
 *
 * The frontier comes from the records the daemon stores (exp.h: one per
 * point and a header, or one record in older stores); when it is missing
 * (or unreadable) it is rebuilt from the trained models' summaries, and
 * trained models it does not hold yet are added, so pick always answers
 * from every trained model.
 *
 * liblmdb does not check the pages it follows, so a damaged store could
 * kill the reading process: each command reads the store in a child
 * (store_child, cmd_verify.c), and a child killed by a signal becomes the
 * message "EXP/data.mdb is damaged", exit 1, pointing at verify and salvage.
 *
 * Exit codes: 0 ok, 1 the experiment cannot be read, 2 bad usage,
 * 3 (pick) no model satisfies the limits.
 */
#include "cmds.h"
#include "exp.h"
#include "frontier.h"
#include "grow.h"
#include "nn.h"
#include "queue.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#define NEVENTS 5       /* events shown by status */
#define LAT_REPS 30     /* forward passes per latency measurement */
#define EXIT_NOFIT 3

/* ---- options of the four commands ---- */
enum {
	S_DIR, S_JSON, S_ALL, S_SVG, S_OUT, S_REMEASURE, S_MAX_MACS, S_MAX_MFLOPS, S_MAX_PARAMS, S_MAX_MEMORY,
	S_MAX_LATENCY, S_THREADS, S_METRIC,
};
#define DIR_OPT { "--dir", NULL, "EXP", S_DIR, "the experiment directory (required)" }
#define JSON_OPT { "--json", NULL, NULL, S_JSON, "one JSON object on standard output" }

const opt_spec status_options[] = { DIR_OPT, JSON_OPT, OPT_LAST };

const opt_spec frontier_options[] = {
	DIR_OPT,
	{ "--all", NULL, NULL, S_ALL, "every trained model, not only the hull and its band" },
	{ "--svg", NULL, "FILE", S_SVG, "plot error against cost into FILE" },
	JSON_OPT,
	OPT_LAST,
};

const opt_spec pick_options[] = {
	DIR_OPT,
	{ "--max-macs", NULL, "N", S_MAX_MACS, "multiply-adds per image at most" },
	{ "--max-mflops", NULL, "X", S_MAX_MFLOPS, "MFLOPs per image at most (a multiply-add is 2)" },
	{ "--max-params", NULL, "N", S_MAX_PARAMS, "parameters at most" },
	{ "--max-memory", NULL, "BYTES", S_MAX_MEMORY, "peak activation memory (batch 1) at most" },
	{ "--max-latency-ms", NULL, "X", S_MAX_LATENCY, "batch-1 latency at most" },
	{ "--metric", NULL, "val|test", S_METRIC, "the error to minimize (default val)" },
	{ "--remeasure", NULL, NULL, S_REMEASURE, "measure the latencies again on this machine" },
	{ "--threads", NULL, "T", S_THREADS, "threads of --remeasure" },
	{ "--out", "-o", "FILE", S_OUT, "write the model picked (.onnx: ONNX)" },
	JSON_OPT,
	OPT_LAST,
};

const opt_spec card_options[] = { DIR_OPT, JSON_OPT, OPT_LAST };

const opt_spec export_options[] = {
	DIR_OPT,
	{ "--out", "-o", "FILE", S_OUT, "the file to write (required; .onnx: ONNX)" },
	JSON_OPT,
	OPT_LAST,
};

static void need_dir(const char *dir, const char *usage)
{
	if (!dir)
		die(2, "--dir EXP is required (the experiment directory)\nusage: %s", usage);
}

/* what the options of the four commands say; each command's table says
 * which it takes */
typedef struct {
	const char *dir, *out, *svg, *id;
	int json, all, remeasure, threads;
	double mflops;
	fr_limits l;
} store_args;

/* export takes a model id (takes_id), the others no argument */
static void store_parse(const cli_cmd *cmd, int argc, char **argv, int takes_id, store_args *a)
{
	static char prog[32];
	snprintf(prog, sizeof prog, "petri %s", cmd->name);
	cli_prog = prog;
	memset(a, 0, sizeof *a);
	a->l.metric = FR_METRIC_VAL;
	opt_iter it;
	cmd_opts(&it, cmd, argc, argv);
	for (int k; (k = opt_next(&it)) != OPT_END;)
		switch (k) {
		case S_DIR: a->dir = it.val; break;
		case S_JSON: a->json = 1; break;
		case S_ALL: a->all = 1; break;
		case S_SVG: a->svg = it.val; break;
		case S_REMEASURE: a->remeasure = 1; break;
		case S_OUT: a->out = it.val; break;
		case S_MAX_MACS: a->l.max_macs = opt_count(&it); break;
		case S_MAX_MFLOPS: a->mflops = opt_positive(&it); break;
		case S_MAX_PARAMS: a->l.max_params = opt_count(&it); break;
		case S_MAX_MEMORY: a->l.max_mem_bytes = opt_count(&it); break;
		case S_MAX_LATENCY: a->l.max_latency_ms = opt_positive(&it); break;
		case S_THREADS: a->threads = (int)opt_count(&it); break;
		case S_METRIC:
			if (!strcmp(it.val, "val")) a->l.metric = FR_METRIC_VAL;
			else if (!strcmp(it.val, "test")) a->l.metric = FR_METRIC_TEST;
			else die(2, "--metric: '%s' is neither val nor test", it.val);
			break;
		default:
			if (!takes_id)
				die(2, "unexpected argument '%s'\nusage: %s", it.val, cmd->usage);
			if (a->id)
				die(2, "one model id only ('%s' and '%s')\nusage: %s", a->id, it.val, cmd->usage);
			a->id = it.val;
		}
}

/* 1234567 -> "1.23M" (a short human form beside the exact numbers) */
static const char *human(char *b, size_t n, double x)
{
	if (x >= 1e9) snprintf(b, n, "%.3gG", x / 1e9);
	else if (x >= 1e6) snprintf(b, n, "%.3gM", x / 1e6);
	else if (x >= 1e3) snprintf(b, n, "%.3gk", x / 1e3);
	else snprintf(b, n, "%.0f", x);
	return b;
}

static const char *human_bytes(char *b, size_t n, double x)
{
	if (x >= 1024.0 * 1024 * 1024) snprintf(b, n, "%.1f GB", x / (1024.0 * 1024 * 1024));
	else if (x >= 1024.0 * 1024) snprintf(b, n, "%.1f MB", x / (1024.0 * 1024));
	else if (x >= 1024) snprintf(b, n, "%.1f KB", x / 1024);
	else snprintf(b, n, "%.0f B", x);
	return b;
}

static const char *duration(char *b, size_t n, double s)
{
	long t = s > 0 ? (long)(s + 0.5) : 0;
	if (t >= 86400) snprintf(b, n, "%ldd %02ldh %02ldm", t / 86400, t / 3600 % 24, t / 60 % 60);
	else if (t >= 3600) snprintf(b, n, "%ldh %02ldm %02lds", t / 3600, t / 60 % 60, t % 60);
	else if (t >= 60) snprintf(b, n, "%ldm %02lds", t / 60, t % 60);
	else snprintf(b, n, "%lds", t);
	return b;
}

static const char *clock_str(char *b, size_t n, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(b, n, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(b, n, "%lld", (long long)ms);
	return b;
}

static const char *pct(char *b, size_t n, double acc)
{
	if (isfinite(acc))
		snprintf(b, n, "%.2f%%", 100 * acc);
	else
		snprintf(b, n, "-");
	return b;
}

/* ---- one snapshot of an experiment ---- */
typedef struct {
	uint64_t seq;
	int64_t ms;
	char msg[512];
} ev_rec;

typedef struct {
	const char *dir;
	q_store *s;
	/* config (empty string: not set) */
	char data[512], seed[32], budget_s[32], budget_jobs[32], max_mflops[32], workers[32], tpw[32], random[8], det[8],
		axis[32], eps[32], created[32], elapsed[32], state[32], pid[32], jobs_done[32], shape[64], batch[32],
		lr[32], seed_epochs[32], cand_epochs[32], child_epochs[32], grow_k[32], grow_ops[256], grow_inputs[32],
		cand_parent[16], narrow_at[32], narrow_keep[32];
	/* queue counts [queue][state] */
	uint64_t count[Q_NQUEUES][Q_NSTATES];
	/* summaries of every model */
	q_summary *sum;
	size_t nsum, capsum;
	/* the stored frontier (NULL: none, or unreadable and frerr says why) */
	fr_frontier *fr;
	char frerr[256];
	/* the last NEVENTS events, a ring */
	ev_rec ev[NEVENTS];
	uint64_t nev;
	int want_events;
	/* the running jobs as the daemon last wrote them (run_rc: 0, or
	 * Q_ENOTFOUND, or why they do not decode in run_err) */
	petrid_running *run;
	int run_rc;
	char run_err[256];
} exp_view;

static int on_summary(const q_summary *s, void *ud)
{
	exp_view *v = ud;
	if (v->nsum == v->capsum) {
		size_t cap = v->capsum ? 2 * v->capsum : 64;
		q_summary *p = realloc(v->sum, cap * sizeof *p);
		if (!p)
			return Q_ENOMEM;
		v->sum = p, v->capsum = cap;
	}
	v->sum[v->nsum++] = *s;
	return 0;
}

static int on_event(uint64_t seq, int64_t ms, const char *msg, void *ud)
{
	exp_view *v = ud;
	ev_rec *e = &v->ev[v->nev++ % NEVENTS];
	e->seq = seq, e->ms = ms;
	snprintf(e->msg, sizeof e->msg, "%s", msg);
	return 0;
}

static int cfg(q_txn *t, const char *key, char *val, size_t cap)
{
	int rc = q_config_get(t, key, val, cap);
	if (rc == Q_ENOTFOUND || rc == Q_EINVAL) { /* not set, or too long to show */
		val[0] = 0;
		return 0;
	}
	return rc;
}

static int read_view(q_txn *t, void *ud)
{
	exp_view *v = ud;
	int rc;
	/* q_read may run this again from the start */
	v->nsum = 0, v->nev = 0;
	fr_free(v->fr), v->fr = NULL, v->frerr[0] = 0;
	struct { const char *key; char *val; size_t cap; } keys[] = {
		{ PETRID_CFG_DATA, v->data, sizeof v->data }, { PETRID_CFG_SEED, v->seed, sizeof v->seed },
		{ PETRID_CFG_BUDGET_S, v->budget_s, sizeof v->budget_s },
		{ PETRID_CFG_BUDGET_JOBS, v->budget_jobs, sizeof v->budget_jobs },
		{ PETRID_CFG_MAX_MFLOPS, v->max_mflops, sizeof v->max_mflops },
		{ PETRID_CFG_WORKERS, v->workers, sizeof v->workers }, { PETRID_CFG_THREADS, v->tpw, sizeof v->tpw },
		{ PETRID_CFG_RANDOM_GROWTH, v->random, sizeof v->random },
		{ PETRID_CFG_DETERMINISTIC, v->det, sizeof v->det },
		{ PETRID_CFG_COST_AXIS, v->axis, sizeof v->axis }, { PETRID_CFG_EPS, v->eps, sizeof v->eps },
		{ PETRID_CFG_CREATED, v->created, sizeof v->created }, { PETRID_CFG_ELAPSED, v->elapsed, sizeof v->elapsed },
		{ PETRID_CFG_STATE, v->state, sizeof v->state }, { PETRID_CFG_PID, v->pid, sizeof v->pid },
		{ PETRID_CFG_JOBS_DONE, v->jobs_done, sizeof v->jobs_done }, { PETRID_CFG_SHAPE, v->shape, sizeof v->shape },
		{ PETRID_CFG_BATCH, v->batch, sizeof v->batch }, { PETRID_CFG_LR, v->lr, sizeof v->lr },
		{ PETRID_CFG_SEED_EPOCHS, v->seed_epochs, sizeof v->seed_epochs },
		{ PETRID_CFG_CAND_EPOCHS, v->cand_epochs, sizeof v->cand_epochs },
		{ PETRID_CFG_CHILD_EPOCHS, v->child_epochs, sizeof v->child_epochs },
		{ PETRID_CFG_GROW_K, v->grow_k, sizeof v->grow_k }, { PETRID_CFG_GROW_OPS, v->grow_ops, sizeof v->grow_ops },
		{ PETRID_CFG_GROW_INPUTS, v->grow_inputs, sizeof v->grow_inputs },
		{ PETRID_CFG_CAND_PARENT, v->cand_parent, sizeof v->cand_parent },
		{ PETRID_CFG_NARROW_AT, v->narrow_at, sizeof v->narrow_at },
		{ PETRID_CFG_NARROW_KEEP, v->narrow_keep, sizeof v->narrow_keep },
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if ((rc = cfg(t, keys[i].key, keys[i].val, keys[i].cap)))
			return rc;
	for (int q = 0; q < Q_NQUEUES; q++)
		for (int st = 0; st < Q_NSTATES; st++)
			if ((rc = q_count(t, q, st, &v->count[q][st])))
				return rc;
	if ((rc = q_summary_each(t, on_summary, v)))
		return rc;
	rc = petrid_frontier_load(t, &v->fr, v->frerr, sizeof v->frerr);
	if (rc == Q_ECORRUPT || rc == Q_EVERSION) { /* rebuilt from the models, with a warning */
		if (!v->frerr[0])
			snprintf(v->frerr, sizeof v->frerr, "%s", q_errmsg(q_txn_store(t)));
		rc = 0;
	}
	if (rc)
		return rc;
	if (v->want_events && (rc = q_event_each(t, 0, on_event, v)))
		return rc;
	if (v->run) {
		v->run_err[0] = 0;
		v->run_rc = petrid_running_get(t, v->run, v->run_err, sizeof v->run_err);
		if (v->run_rc && v->run_rc != Q_ENOTFOUND && v->run_rc != Q_ECORRUPT && v->run_rc != Q_EVERSION)
			return v->run_rc;
	}
	return 0;
}

static void open_view(exp_view *v, const char *dir, int events)
{
	memset(v, 0, sizeof *v);
	v->dir = dir;
	v->want_events = events;
	if (events && !(v->run = malloc(sizeof *v->run))) /* status: the running jobs too */
		die(1, "out of memory");
	char err[600];
	q_options o = { Q_RDONLY, 0, 0 };
	int rc = q_open(&v->s, dir, &o, err, sizeof err);
	if (rc) {
		struct stat st;
		if (rc == Q_ENOTFOUND && stat(dir, &st))
			die(1, "%s: no such experiment directory, so no store (%s)", dir, strerror(errno));
		if (rc == Q_ENOTFOUND)
			die(1, "%s is not a petri experiment: no store in it (no data.mdb)", dir);
		if (rc == Q_ECORRUPT)
			die(1, "%s; 'petri verify --dir %s' shows the damage, 'petri salvage --dir %s -o NEW' copies what "
			    "is left", err, dir, dir);
		die(1, "cannot open the experiment in %s: %s (%s)", dir, err, q_strerror(rc));
	}
	if ((rc = q_read(v->s, read_view, v))) {
		if (rc == Q_ECORRUPT)
			die(1, "cannot read the experiment in %s: %s (corrupt record); 'petri verify --dir %s' lists the "
			    "damage, 'petri salvage --dir %s -o NEW' copies what is intact", dir, q_errmsg(v->s), dir, dir);
		die(1, "cannot read the experiment in %s: %s (%s)", dir, q_errmsg(v->s), q_strerror(rc));
	}
}

static void close_view(exp_view *v)
{
	free(v->sum);
	free(v->run);
	fr_free(v->fr);
	q_close(v->s);
}

static int trained(const q_summary *s) { return s->state == Q_MODEL_TRAINED; }

static fr_point point_of(const q_summary *s)
{
	return petrid_point(s->id, s->parent, s->depth, &s->cost, &s->metrics);
}

/* The experiment's frontier: the stored one, plus any trained model it does
 * not hold yet; rebuilt from the summaries when none is stored. *source
 * says which. */
static fr_frontier *load_frontier(exp_view *v, const char **source)
{
	fr_frontier *fr = v->fr;
	int rc;
	v->fr = NULL; /* the caller's now */
	*source = "stored";
	if (v->frerr[0])
		fprintf(stderr, "%s: warning: the stored frontier cannot be read (%s); rebuilt from the models\n", cli_prog,
			v->frerr);
	if (!fr) {
		*source = "rebuilt from the models";
		fr_opts o;
		fr_opts_default(&o);
		if (v->axis[0]) {
			int ax = fr_axis_from_name(v->axis);
			if (ax < 0)
				fprintf(stderr, "%s: warning: unknown cost_axis '%s' in the config; using %s\n", cli_prog,
					v->axis, fr_axis_name(o.axis));
			else
				o.axis = ax;
		}
		if (v->eps[0]) {
			char *e;
			double x = strtod(v->eps, &e);
			if (!*e && x >= 0 && x <= 1)
				o.eps = x;
		}
		if ((rc = fr_create(&fr, &o)))
			die(1, "frontier: %s", fr_strerror(rc));
	}
	size_t added = 0;
	for (size_t i = 0; i < v->nsum; i++) {
		size_t idx;
		if (!trained(&v->sum[i]) || fr_find(fr, v->sum[i].id, &idx) == 0)
			continue;
		fr_point p = point_of(&v->sum[i]);
		rc = fr_insert(fr, &p, NULL);
		if (rc == FR_ENOMEM)
			die(1, "out of memory");
		if (rc)
			fprintf(stderr, "%s: warning: model %s left out of the frontier: %s\n", cli_prog, p.id,
				fr_strerror(rc));
		else
			added++;
	}
	if (added && !strcmp(*source, "stored"))
		*source = "stored, with the newest trained models added";
	return fr;
}

/* open_view and load_frontier, with the frontier's numbers */
static fr_frontier *open_frontier(exp_view *v, const char *dir, int events, const char **source, fr_stats *fs,
				  fr_opts *fo)
{
	open_view(v, dir, events);
	fr_frontier *fr = load_frontier(v, source);
	fr_get_stats(fr, fs);
	*fo = fr_get_opts(fr);
	return fr;
}

static int pid_alive(long pid)
{
	if (pid <= 0)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static double num_or(const char *s, double def)
{
	char *e;
	if (!s[0])
		return def;
	double x = strtod(s, &e);
	return *e ? def : x;
}

/* ---- status ---- */
/* status of the experiment in dir, as text or JSON, to f */
static void status_report(FILE *f, const char *dir, int json)
{
	exp_view v;
	const char *source;
	fr_stats fs;
	fr_opts fo;
	fr_frontier *fr = open_frontier(&v, dir, 1, &source, &fs, &fo);

	long pid = v.pid[0] ? strtol(v.pid, NULL, 10) : 0;
	int alive = pid_alive(pid);
	double elapsed = num_or(v.elapsed, 0), budget_s = num_or(v.budget_s, 0);
	double budget_jobs = num_or(v.budget_jobs, 0), jobs_done = num_or(v.jobs_done, -1);
	uint64_t ntrained = 0, nfailed = 0, nnew = 0;
	const q_summary *best = NULL;
	for (size_t i = 0; i < v.nsum; i++) {
		const q_summary *s = &v.sum[i];
		if (s->state == Q_MODEL_FAILED) nfailed++;
		else if (s->state == Q_MODEL_NEW) nnew++;
		if (!trained(s))
			continue;
		ntrained++;
		if (!best || s->metrics.val_acc > best->metrics.val_acc ||
		    (s->metrics.val_acc == best->metrics.val_acc && s->cost.macs < best->cost.macs))
			best = s;
	}
	if (jobs_done < 0) { /* not in the config: count finished queue entries */
		jobs_done = 0;
		for (int q = 0; q < Q_NQUEUES; q++)
			jobs_done += (double)v.count[q][Q_DONE];
	}
	const char *state = v.state[0] ? v.state : "unknown";
	size_t nshow = v.nev < NEVENTS ? (size_t)v.nev : NEVENTS;
	/* running jobs: only those of the daemon that runs now (a record left
	 * by a killed daemon, or by an earlier one, is not live) */
	int nrun = 0;
	if (v.run_rc && v.run_rc != Q_ENOTFOUND)
		fprintf(stderr, "%s: warning: the running jobs' record cannot be read (%s)\n", cli_prog, v.run_err);
	else if (!v.run_rc && alive && !strcmp(state, PETRID_STATE_RUNNING) && v.run->pid == pid)
		nrun = v.run->n;

	if (json) {
		fprintf(f, "{\"dir\": ");
		json_str(f, dir);
		fprintf(f, ", \"state\": ");
		json_str(f, state);
		fprintf(f, ", \"pid\": %ld, \"alive\": %s, \"created\": %lld, \"elapsed_s\": %.0f, \"budget_s\": %.0f, "
		       "\"budget_jobs\": %.0f, \"jobs_done\": %.0f",
		       pid, alive ? "true" : "false", (long long)num_or(v.created, 0), elapsed, budget_s, budget_jobs,
		       jobs_done);
		const char *conf[][2] = { { "data", v.data }, { "shape", v.shape }, { "seed", v.seed },
					  { "workers", v.workers }, { "threads_per_worker", v.tpw },
					  { "max_mflops", v.max_mflops }, { "random_growth", v.random }, { "deterministic", v.det }, { "batch", v.batch },
					  { "lr", v.lr }, { "seed_epochs", v.seed_epochs }, { "cand_epochs", v.cand_epochs },
					  { "child_epochs", v.child_epochs }, { "k", v.grow_k }, { "ops", v.grow_ops },
					  { "inputs", v.grow_inputs }, { "cand_parent", v.cand_parent },
					  { "narrow_at", v.narrow_at }, { "narrow_keep", v.narrow_keep } };
		fprintf(f, ", \"config\": {");
		for (size_t i = 0; i < sizeof conf / sizeof conf[0]; i++) {
			fprintf(f, "%s\"%s\": ", i ? ", " : "", conf[i][0]);
			json_str(f, conf[i][1]);
		}
		fprintf(f, "}, \"queues\": {");
		for (int q = 0; q < Q_NQUEUES; q++) {
			fprintf(f, "%s\"%s\": {", q ? ", " : "", q_queue_name(q));
			for (int st = 0; st < Q_NSTATES; st++)
				fprintf(f, "%s\"%s\": %llu", st ? ", " : "", q_state_name(st),
				       (unsigned long long)v.count[q][st]);
			fprintf(f, "}");
		}
		fprintf(f, "}, \"models\": {\"total\": %zu, \"trained\": %llu, \"failed\": %llu, \"new\": %llu}", v.nsum,
		       (unsigned long long)ntrained, (unsigned long long)nfailed, (unsigned long long)nnew);
		fprintf(f, ", \"best\": ");
		if (best) {
			fprintf(f, "{\"id\": ");
			json_str(f, best->id);
			char b1[JSON_NUM], b2[JSON_NUM];
			fprintf(f, ", \"val_acc\": %s, \"test_acc\": ", json_fmt(b1, best->metrics.val_acc, 6));
			json_num(f, best->metrics.test_acc, 6);
			fprintf(f, ", \"macs\": %llu, \"params\": %llu, \"mem_bytes\": %llu, \"latency_ms\": %s, \"depth\": %d}",
			       (unsigned long long)best->cost.macs, (unsigned long long)best->cost.params,
			       (unsigned long long)best->cost.act_bytes_1, json_fmt(b2, best->cost.latency_ms, 6), best->depth);
		} else {
			fprintf(f, "null");
		}
		fprintf(f, ", \"frontier\": {\"points\": %zu, \"hull\": %zu, \"band\": %zu, \"axis\": \"%s\", \"eps\": %g, "
		       "\"source\": \"%s\"}",
		       fs.points, fs.hull, fs.band, fr_axis_name(fo.axis), fo.eps, source);
		if (nrun) {
			fprintf(f, ", \"jobs\": [");
			for (int k = 0; k < nrun; k++) {
				const petrid_run_job *j = &v.run->job[k];
				double frac = j->steps > 0 ? (double)j->step / (double)j->steps : 0;
				char b1[JSON_NUM], b2[JSON_NUM], b3[JSON_NUM];
				fprintf(f, "%s{\"kind\": \"%s\", \"model\": ", k ? ", " : "", petrid_run_kind_name(j->kind));
				json_str(f, j->model);
				fprintf(f, ", \"worker\": %d, \"frac\": %s, \"eta_s\": %s, \"elapsed_s\": %s, \"step\": %ld, "
				       "\"steps\": %ld}",
				       j->worker, json_fmt(b1, frac, 4),
				       frac > 0 ? json_fmt(b2, j->elapsed_s * (1 - frac) / frac, 1) : "null",
				       json_fmt(b3, j->elapsed_s, 1), j->step, j->steps);
			}
			fprintf(f, "]");
		}
		fprintf(f, ", \"events\": [");
		for (size_t k = 0; k < nshow; k++) {
			const ev_rec *e = &v.ev[(v.nev - nshow + k) % NEVENTS];
			fprintf(f, "%s{\"seq\": %llu, \"ms\": %lld, \"msg\": ", k ? ", " : "", (unsigned long long)e->seq,
			       (long long)e->ms);
			json_str(f, e->msg);
			fprintf(f, "}");
		}
		fprintf(f, "]}\n");
	} else {
		char b1[64], b2[64], b3[64], b4[64], b5[64];
		fprintf(f, "experiment %s: %s", dir, state);
		if (pid > 0)
			fprintf(f, ", daemon pid %ld (%s)", pid,
			       alive ? "running" : !strcmp(state, "running") ? "not running: it died or was killed"
									: "exited");
		fprintf(f, "\n");
		fprintf(f, "elapsed %s", duration(b1, sizeof b1, elapsed));
		if (budget_s > 0)
			fprintf(f, " of %s budget (%.0f%%)", duration(b2, sizeof b2, budget_s), 100 * elapsed / budget_s);
		else
			fprintf(f, " (no time budget)");
		fprintf(f, "; jobs done %.0f", jobs_done);
		if (budget_jobs > 0)
			fprintf(f, " of %.0f", budget_jobs);
		fprintf(f, "\n");
		if (v.data[0] || v.workers[0])
			fprintf(f, "data %s%s%s%s; seed %s; %s workers x %s threads; cost axis %s; eps %g%s%s%s%s\n",
			       v.data[0] ? v.data : "-", v.shape[0] ? " (shape " : "", v.shape, v.shape[0] ? ")" : "", v.seed[0] ? v.seed : "-", v.workers[0] ? v.workers : "?",
			       v.tpw[0] ? v.tpw : "?", fr_axis_name(fo.axis), fo.eps,
			       num_or(v.max_mflops, 0) > 0 ? "; max MFLOPs " : "", num_or(v.max_mflops, 0) > 0 ? v.max_mflops : "",
			       !strcmp(v.random, "1") ? "; random growth (baseline)" : "",
			       !strcmp(v.det, "1") ? "; deterministic" : "");
		fprintf(f, "%-10s %8s %8s %8s %8s\n", "queue", "queued", "running", "done", "failed");
		for (int q = 0; q < Q_NQUEUES; q++)
			fprintf(f, "%-10s %8llu %8llu %8llu %8llu\n", q_queue_name(q), (unsigned long long)v.count[q][Q_QUEUED],
			       (unsigned long long)v.count[q][Q_LEASED], (unsigned long long)v.count[q][Q_DONE],
			       (unsigned long long)v.count[q][Q_FAILED]);
		fprintf(f, "models: %llu trained, %llu failed, %llu not trained yet\n", (unsigned long long)ntrained,
		       (unsigned long long)nfailed, (unsigned long long)nnew);
		if (best) {
			fprintf(f, "best val acc %s (test %s): %s, %s mult-adds, %s params, %s peak memory, ",
			       pct(b1, sizeof b1, best->metrics.val_acc), pct(b2, sizeof b2, best->metrics.test_acc), best->id,
			       human(b3, sizeof b3, (double)best->cost.macs), human(b4, sizeof b4, (double)best->cost.params),
			       human_bytes(b5, sizeof b5, (double)best->cost.act_bytes_1));
			if (best->cost.latency_ms > 0)
				fprintf(f, "%.3f ms\n", best->cost.latency_ms);
			else
				fprintf(f, "latency not measured\n");
		} else {
			fprintf(f, "best val acc: no trained model yet\n");
		}
		fprintf(f, "frontier: %zu points, %zu on the hull, %zu in the band (axis %s, eps %g; %s)\n", fs.points, fs.hull,
		       fs.band, fr_axis_name(fo.axis), fo.eps, source);
		if (nrun)
			fprintf(f, "running jobs:\n");
		for (int k = 0; k < nrun; k++) {
			const petrid_run_job *j = &v.run->job[k];
			double frac = j->steps > 0 ? (double)j->step / (double)j->steps : 0;
			fprintf(f, "  worker %d: %-9s %-12s %5.1f%% (step %ld of %ld), %s elapsed, eta %s\n", j->worker,
			       petrid_run_kind_name(j->kind), j->model, 100 * frac, j->step, j->steps,
			       duration(b1, sizeof b1, j->elapsed_s),
			       frac > 0 ? duration(b2, sizeof b2, j->elapsed_s * (1 - frac) / frac) : "unknown");
		}
		if (nshow) {
			fprintf(f, "last events:\n");
			for (size_t k = 0; k < nshow; k++) {
				const ev_rec *e = &v.ev[(v.nev - nshow + k) % NEVENTS];
				fprintf(f, "  %s  %s\n", clock_str(b1, sizeof b1, e->ms), e->msg);
			}
		}
	}
	fr_free(fr);
	close_view(&v);
}

void store_status_json(FILE *f, const char *dir)
{
	status_report(f, dir, 1);
}

int cmd_status(const cli_cmd *cmd, int argc, char **argv)
{
	store_args a;
	store_parse(cmd, argc, argv, 0, &a);
	need_dir(a.dir, cmd->usage);
	int code;
	if (store_child(a.dir, &code))
		return code;
	status_report(stdout, a.dir, a.json);
	return 0;
}

/* ---- frontier ---- */
static const fr_frontier *sort_fr; /* qsort has no context argument */

static int by_cost(const void *x, const void *y)
{
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	const fr_point *p = fr_point_at(sort_fr, i), *q = fr_point_at(sort_fr, j);
	double a = fr_cost(sort_fr, p), b = fr_cost(sort_fr, q);
	if (a != b) return a < b ? -1 : 1;
	if (p->val_error != q->val_error) return p->val_error < q->val_error ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* hull < 0: no hull and band flags; order < 0: no order (the point's
 * place in the frontier: the order the models were trained in) */
static void point_json(FILE *f, const fr_point *p, int hull, int band, long order)
{
	fprintf(f, "{\"id\": ");
	json_str(f, p->id);
	char b1[JSON_NUM], b2[JSON_NUM], b3[JSON_NUM];
	fprintf(f, ", \"macs\": %llu, \"params\": %llu, \"mem_bytes\": %llu, \"latency_ms\": %s, \"val_acc\": %s, "
		   "\"val_loss\": %s, \"test_acc\": ",
		(unsigned long long)p->macs, (unsigned long long)p->params, (unsigned long long)p->mem_bytes,
		json_fmt(b1, p->latency_ms, 6), json_fmt(b2, 1.0 - p->val_error, 6), json_fmt(b3, p->val_loss, 6));
	json_num(f, p->test_acc, 6);
	fprintf(f, ", \"depth\": %d, \"parent\": ", p->depth);
	json_str(f, p->parent);
	fprintf(f, ", \"expanded\": %d", p->expanded);
	if (hull >= 0)
		fprintf(f, ", \"on_hull\": %s, \"in_band\": %s", hull ? "true" : "false", band ? "true" : "false");
	if (order >= 0)
		fprintf(f, ", \"order\": %ld", order);
	fprintf(f, "}");
}

/* the frontier of the experiment in dir (all: every trained model), as
 * text or JSON, to f; svg: plot it there too */
static void frontier_report(FILE *f, const char *dir, int all, int json, const char *svg)
{
	exp_view v;
	const char *source;
	fr_stats fs;
	fr_opts fo;
	fr_frontier *fr = open_frontier(&v, dir, 0, &source, &fs, &fo);
	size_t n = fr_count(fr);
	char *onhull = calloc(n + 1, 1);
	size_t *hull = malloc((n + 1) * sizeof *hull), *rows = malloc((n + 1) * sizeof *rows);
	if (!onhull || !hull || !rows)
		die(1, "out of memory");
	size_t nh = fr_hull(fr, hull, n);
	for (size_t k = 0; k < nh; k++)
		onhull[hull[k]] = 1;
	size_t nrows = 0;
	for (size_t i = 0; i < n; i++)
		if (all || onhull[i] || fr_is_eligible(fr, i))
			rows[nrows++] = i;
	sort_fr = fr;
	qsort(rows, nrows, sizeof *rows, by_cost);

	if (svg) {
		FILE *sf = out_open(svg);
		fr_svg_opts so;
		fr_svg_opts_default(&so);
		char title[300];
		snprintf(title, sizeof title, "petri frontier: %s", dir);
		so.title = title;
		int rc = fr_svg(fr, sf, &so);
		out_commit(sf, svg, rc && !ferror(sf) ? fr_strerror(rc) : NULL); /* a write error: its errno */
	}
	if (json) {
		fprintf(f, "{\"dir\": ");
		json_str(f, dir);
		fprintf(f, ", \"axis\": \"%s\", \"eps\": %g, \"source\": \"%s\", \"points\": %zu, \"hull\": %zu, \"band\": %zu, "
		       "\"all\": %s, ",
		       fr_axis_name(fo.axis), fo.eps, source, fs.points, fs.hull, fs.band, all ? "true" : "false");
		if (svg) {
			fprintf(f, "\"svg\": ");
			json_str(f, svg);
			fprintf(f, ", ");
		}
		fprintf(f, "\"models\": [");
		for (size_t k = 0; k < nrows; k++) {
			size_t i = rows[k];
			fprintf(f, "%s", k ? ", " : "");
			point_json(f, fr_point_at(fr, i), onhull[i], fr_is_eligible(fr, i), (long)i);
		}
		fprintf(f, "]}\n");
	} else {
		fprintf(f, "%s: %zu trained models, %zu on the hull, %zu in the band (axis %s, eps %g; frontier %s)\n", dir,
		       fs.points, fs.hull, fs.band, fr_axis_name(fo.axis), fo.eps, source);
		if (nrows) {
			fprintf(f, "%-12s %12s %10s %10s %10s %8s %8s %5s %-12s %s\n", "id", "MACs", "params", "peak mem", "latency",
			       "val acc", "test acc", "depth", "parent", "frontier");
			for (size_t k = 0; k < nrows; k++) {
				const fr_point *p = fr_point_at(fr, rows[k]);
				char va[16], ta[16], lat[32], mark[64];
				if (p->latency_ms > 0)
					snprintf(lat, sizeof lat, "%.3f ms", p->latency_ms);
				else
					snprintf(lat, sizeof lat, "-");
				int band = fr_is_eligible(fr, rows[k]);
				int mn = snprintf(mark, sizeof mark, "%s%s", onhull[rows[k]] ? "hull " : "", band ? "band " : "");
				if (p->expanded)
					mn += snprintf(mark + mn, sizeof mark - mn, "parent x%d ", p->expanded);
				if (mn > 0)
					mark[mn - 1] = 0;
				fprintf(f, "%-12s %12llu %10llu %10llu %10s %8s %8s %5d %-12s %s\n", p->id,
				       (unsigned long long)p->macs, (unsigned long long)p->params,
				       (unsigned long long)p->mem_bytes, lat, pct(va, sizeof va, 1.0 - p->val_error),
				       pct(ta, sizeof ta, p->test_acc), p->depth, p->parent[0] ? p->parent : "-", mark);
			}
			if (!all && nrows < n)
				fprintf(f, "(%zu more trained models off the band: --all lists them)\n", n - nrows);
		} else {
			fprintf(f, "no trained model yet\n");
		}
		if (svg)
			fprintf(f, "plot written to %s\n", svg);
	}
	free(onhull), free(hull), free(rows);
	fr_free(fr);
	close_view(&v);
}

void store_frontier_json(FILE *f, const char *dir, int all)
{
	frontier_report(f, dir, all, 1, NULL);
}

int cmd_frontier(const cli_cmd *cmd, int argc, char **argv)
{
	store_args a;
	store_parse(cmd, argc, argv, 0, &a);
	need_dir(a.dir, cmd->usage);
	out_guard(a.svg, NULL, 0, a.dir);
	int code;
	if (store_child(a.dir, &code))
		return code;
	frontier_report(stdout, a.dir, a.all, a.json, a.svg);
	return 0;
}

/* ---- pick ---- */
/* nonzero when p satisfies the limits other than latency */
static int fits_costs(const fr_point *p, const fr_limits *l)
{
	return (!l->max_macs || p->macs <= l->max_macs) && (!l->max_params || p->params <= l->max_params) &&
	       (!l->max_mem_bytes || p->mem_bytes <= l->max_mem_bytes);
}

typedef struct {
	const char *id;
	nn_model *m;
	char err[600];
} get_ctx;

static int get_model(q_txn *t, void *ud)
{
	get_ctx *c = ud;
	int rc = q_model_get(t, c->id, c->m);
	if (rc)
		snprintf(c->err, sizeof c->err, "%s", q_errmsg(q_txn_store(t)));
	return rc;
}

static void load_model(q_store *s, const char *dir, const char *id, nn_model *m)
{
	get_ctx c = { id, m, "" };
	int rc = q_read(s, get_model, &c);
	if (rc == Q_ENOTFOUND)
		die(1, "no model '%s' in %s", id, dir);
	if (rc)
		die(1, "cannot read model '%s' from %s: %s (%s)", id, dir, c.err, q_strerror(rc));
}

static void print_limits(FILE *f, const fr_limits *l, int json)
{
	char b[64];
	int n = 0;
	if (json) {
		fprintf(f, "{\"max_macs\": %llu, \"max_params\": %llu, \"max_mem_bytes\": %llu, \"max_latency_ms\": %g, "
			   "\"metric\": \"%s\"}",
			(unsigned long long)l->max_macs, (unsigned long long)l->max_params,
			(unsigned long long)l->max_mem_bytes, l->max_latency_ms, l->metric == FR_METRIC_TEST ? "test" : "val");
		return;
	}
	if (l->max_macs) fprintf(f, "%smult-adds <= %s", n++ ? ", " : "", human(b, sizeof b, (double)l->max_macs));
	if (l->max_params) fprintf(f, "%sparams <= %s", n++ ? ", " : "", human(b, sizeof b, (double)l->max_params));
	if (l->max_mem_bytes) fprintf(f, "%speak memory <= %s", n++ ? ", " : "", human_bytes(b, sizeof b, (double)l->max_mem_bytes));
	if (l->max_latency_ms > 0) fprintf(f, "%slatency <= %g ms", n++ ? ", " : "", l->max_latency_ms);
	if (!n) fprintf(f, "no limits");
}

static void costs_text(FILE *f, const fr_point *p)
{
	char b1[32], b2[32], b3[32];
	fprintf(f, "%llu mult-adds (%s), %llu params (%s), peak memory %llu bytes (%s), latency ",
		(unsigned long long)p->macs, human(b1, sizeof b1, (double)p->macs), (unsigned long long)p->params,
		human(b2, sizeof b2, (double)p->params), (unsigned long long)p->mem_bytes,
		human_bytes(b3, sizeof b3, (double)p->mem_bytes));
	if (p->latency_ms > 0)
		fprintf(f, "%.4f ms", p->latency_ms);
	else
		fprintf(f, "not measured");
}

int store_limit_mflops(fr_limits *l, double mflops)
{
	if (mflops > 0) { /* both given: the tighter one */
		uint64_t m = petrid_mflops_to_macs(mflops);
		if (m < 1)
			return -1;
		if (!l->max_macs || m < l->max_macs)
			l->max_macs = m;
	}
	return 0;
}

/* the model of dir that fits l, as text or JSON, to f; remeasure: the
 * latencies again; out: write the model there. 0, or EXIT_NOFIT. */
static int pick_report(FILE *f, const char *dir, fr_limits l, int json, int remeasure, const char *out)
{
	exp_view v;
	open_view(&v, dir, 0);
	const char *source;
	fr_frontier *fr = load_frontier(&v, &source);
	size_t n = fr_count(fr);
	if (!n)
		die(1, "%s has no trained model yet", dir);

	/* --remeasure: latency of every model within the other limits, on this
	 * machine, in a copy of the frontier */
	size_t nmeasured = 0;
	if (remeasure) {
		fr_frontier *f2;
		fr_opts fo = fr_get_opts(fr);
		int rc = fr_create(&f2, &fo);
		if (rc)
			die(1, "frontier: %s", fr_strerror(rc));
		for (size_t i = 0; i < n; i++) {
			fr_point p = *fr_point_at(fr, i);
			if (fits_costs(&p, &l)) {
				nn_model m;
				load_model(v.s, dir, p.id, &m);
				double ms = 0;
				rc = nn_measure_latency(&m.g, m.params, m.state, LAT_REPS, &ms);
				if (rc)
					die(1, "measuring the latency of %s: %s", p.id, nn_strerror(rc));
				nn_model_free(&m);
				p.latency_ms = ms > 0 ? ms : 1e-6;
				nmeasured++;
			}
			if ((rc = fr_insert(f2, &p, NULL)))
				die(1, "frontier: %s: %s", p.id, fr_strerror(rc));
		}
		fr_free(fr);
		fr = f2;
	}

	size_t idx;
	int rc = fr_pick(fr, &l, &idx);
	if (rc && rc != FR_ENOFIT)
		die(rc == FR_EINVAL ? 2 : 1, "pick: %s", fr_strerror(rc));
	const fr_point *p = fr_point_at(fr, idx);
	const char *metric = l.metric == FR_METRIC_TEST ? "test" : "validation";
	if (rc == FR_ENOFIT) {
		if (json) {
			fprintf(f, "{\"fit\": false, \"id\": null, \"limits\": ");
			print_limits(f, &l, 1);
			fprintf(f, ", \"remeasured\": %s, \"remeasured_models\": %zu, \"models\": %zu, \"cheapest\": ",
			       remeasure ? "true" : "false", nmeasured, n);
			point_json(f, p, -1, 0, -1);
			fprintf(f, "}\n");
		}
		fprintf(stderr, "%s: no model of %zu trained fits ", cli_prog, n);
		print_limits(stderr, &l, 0);
		fprintf(stderr, "%s\n", remeasure ? " (latency remeasured on this machine)" : "");
		fprintf(stderr, "%s: the cheapest model (by %s) is %s: ", cli_prog, fr_axis_name(fr_get_opts(fr).axis), p->id);
		costs_text(stderr, p);
		fprintf(stderr, "; val acc %.2f%%\n", 100 * (1 - p->val_error));
		fr_free(fr);
		close_view(&v);
		return EXIT_NOFIT;
	}
	nn_model m;
	int have_model = 0;
	if (out) {
		load_model(v.s, dir, p->id, &m);
		have_model = 1;
		if (remeasure)
			m.cost.latency_ms = p->latency_ms;
		char err[600];
		if (nn_model_save(&m, out, err, sizeof err))
			die(1, "%s", err);
	}
	if (json) {
		fprintf(f, "{\"fit\": true, \"id\": ");
		json_str(f, p->id);
		fprintf(f, ", \"metric\": \"%s\", \"limits\": ", l.metric == FR_METRIC_TEST ? "test" : "val");
		print_limits(f, &l, 1);
		fprintf(f, ", \"remeasured\": %s, \"remeasured_models\": %zu, \"models\": %zu, \"model\": ",
		       remeasure ? "true" : "false", nmeasured, n);
		point_json(f, p, -1, 0, -1);
		if (out) {
			fprintf(f, ", \"file\": ");
			json_str(f, out);
		}
		fprintf(f, "}\n");
	} else {
		char b1[16], b2[16];
		fprintf(f, "picked %s: lowest %s error among %zu trained models", p->id, metric, n);
		if (l.max_macs || l.max_params || l.max_mem_bytes || l.max_latency_ms > 0) {
			fprintf(f, " with ");
			print_limits(f, &l, 0);
		} else {
			fprintf(f, " (no limits)");
		}
		fprintf(f, "\n  cost: ");
		costs_text(f, p);
		fprintf(f, "%s\n", remeasure ? " (remeasured on this machine)" : "");
		fprintf(f, "  accuracy: val %s (loss %.4f), test %s\n", pct(b1, sizeof b1, 1 - p->val_error), p->val_loss,
		       pct(b2, sizeof b2, p->test_acc));
		fprintf(f, "  lineage: depth %d, parent %s\n", p->depth, p->parent[0] ? p->parent : "-");
		if (remeasure)
			fprintf(f, "latency remeasured on this machine for %zu models within the other limits (median of %d runs, batch 1, %d threads)\n",
			       nmeasured, LAT_REPS, nn_get_threads());
		if (out)
			fprintf(f, "model written to %s\n", out);
	}
	if (have_model)
		nn_model_free(&m);
	fr_free(fr);
	close_view(&v);
	return 0;
}

int store_pick_json(FILE *f, const char *dir, const fr_limits *l)
{
	return pick_report(f, dir, *l, 1, 0, NULL);
}

int cmd_pick(const cli_cmd *cmd, int argc, char **argv)
{
	store_args a;
	store_parse(cmd, argc, argv, 0, &a);
	need_dir(a.dir, cmd->usage);
	out_guard(a.out, NULL, 0, a.dir);
	if (store_limit_mflops(&a.l, a.mflops))
		die(2, "--max-mflops %g is below one multiply-add", a.mflops);
	int code;
	if (store_child(a.dir, &code))
		return code;
	if (a.threads)
		nn_set_threads(a.threads);
	return pick_report(stdout, a.dir, a.l, a.json, a.remeasure, a.out);
}

/* ---- export ---- */
int cmd_export(const cli_cmd *cmd, int argc, char **argv)
{
	store_args a;
	store_parse(cmd, argc, argv, 1, &a);
	const char *dir = a.dir, *out = a.out, *id = a.id;
	int json = a.json;
	if (!id)
		die(2, "which model? give its id (see 'petri frontier --dir EXP') or a model file\nusage: %s",
		    cmd->usage);
	if (!out)
		die(2, "-o FILE is required\nusage: %s", cmd->usage);
	nn_model m;
	char err[600];
	exp_view v;
	int from_file = !dir && access(id, F_OK) == 0;
	const char *in[1] = { id };
	out_guard(out, from_file ? in : NULL, from_file, dir);
	if (from_file) { /* a model file: convert it */
		if (grow_load(&m, id, 0, err, sizeof err))
			die(1, "%s", err);
	} else {
		need_dir(dir, cmd->usage);
		int code;
		if (store_child(dir, &code))
			return code;
		open_view(&v, dir, 0);
		const q_summary *s = NULL;
		for (size_t i = 0; i < v.nsum && !s; i++)
			if (!strcmp(v.sum[i].id, id))
				s = &v.sum[i];
		if (!s)
			die(1, "no model '%s' in %s (see 'petri frontier --dir %s --all')", id, dir, dir);
		if (!trained(s))
			fprintf(stderr, "%s: warning: model %s is %s, not trained\n", cli_prog, id,
				s->state == Q_MODEL_FAILED ? "failed" : "new");
		load_model(v.s, dir, id, &m);
	}
	if (nn_model_save(&m, out, err, sizeof err))
		die(1, "%s", err);
	if (json) {
		printf("{\"id\": ");
		json_str(stdout, id);
		printf(", \"file\": ");
		json_str(stdout, out);
		printf(", \"macs\": %llu, \"params\": %llu, \"val_acc\": %.6f, \"test_acc\": ", (unsigned long long)m.cost.macs,
		       (unsigned long long)m.cost.params, m.metrics.val_acc);
		json_num(stdout, m.metrics.test_acc, 6);
		printf("}\n");
	} else {
		char b1[32], b2[32], b3[16];
		printf("model %s written to %s: %s mult-adds, %s params, val acc %s\n", id, out,
		       human(b1, sizeof b1, (double)m.cost.macs), human(b2, sizeof b2, (double)m.cost.params),
		       pct(b3, sizeof b3, m.metrics.val_acc));
	}
	nn_model_free(&m);
	if (!from_file)
		close_view(&v);
	return 0;
}

/* ---- card ---- */
typedef struct {
	const char *id;
	petrid_card *c;
	char err[600];
} card_ctx;

static int read_card(q_txn *t, void *ud)
{
	card_ctx *x = ud;
	return petrid_card_load(t, x->id, x->c, x->err, sizeof x->err);
}

static void card_text(const petrid_card *c)
{
	const q_summary *s = &c->s;
	char b1[32], b2[32], b3[32], b4[16], b5[16];
	static const char *states[] = { "not trained yet", "trained", "failed" };
	printf("model %s: %s, depth %d, parent %s\n", s->id, s->state >= 0 && s->state <= 2 ? states[s->state] : "?",
	       s->depth, s->parent[0] ? s->parent : "- (a seed or a model given with --from)");
	printf("  costs: %llu params (%s), %llu mult-adds (%s), peak memory %s, latency ", (unsigned long long)s->cost.params,
	       human(b1, sizeof b1, (double)s->cost.params), (unsigned long long)s->cost.macs,
	       human(b2, sizeof b2, (double)s->cost.macs), human_bytes(b3, sizeof b3, (double)s->cost.act_bytes_1));
	if (s->cost.latency_ms > 0)
		printf("%.4f ms\n", s->cost.latency_ms);
	else
		printf("not measured\n");
	printf("  accuracy: val %s (loss %.4f), test %s (loss %.4f), %.2f epochs\n", pct(b4, sizeof b4, s->metrics.val_acc),
	       s->metrics.val_loss, pct(b5, sizeof b5, s->metrics.test_acc), s->metrics.test_loss, s->metrics.epochs);
	if (s->parent[0]) {
		printf("  grown: %s", c->grown[0] ? c->grown : "-");
		if (c->parent_nodes >= 0)
			printf("; %+d layers", c->nodes - c->parent_nodes);
		if (c->has_parent)
			printf(", %+lld params; parent val acc %s", (long long)s->cost.params - (long long)c->ps.cost.params,
			       pct(b4, sizeof b4, c->ps.metrics.val_acc));
		printf("\n");
	}
	if (c->rc_omega == 0) {
		const petrid_omega_rank *r = &c->omega;
		printf("  omega ranking: candidate job %llu on %s (val acc %s, %s after joint training), %d pairs scored, "
		       "%d shown\n",
		       (unsigned long long)r->cand_entry, r->parent, pct(b4, sizeof b4, r->parent_val_acc),
		       pct(b5, sizeof b5, r->joint_val_acc), r->npairs, r->n);
		printf("    %4s %6s %6s %-10s %12s %s\n", "rank", "target", "input", "op", "omega", "chosen");
		for (int i = 0; i < r->n; i++) {
			const petrid_omega_pair *p = &r->pair[i];
			printf("    %4d %6d %6d %-10s %12.6g %s\n", i + 1, p->target, p->input, grow_op_name(p->op), p->omega,
			       p->chosen ? "yes" : "");
		}
	}
	if (c->rc_curve == 0) {
		const petrid_curve *v = &c->curve;
		printf("  training loss: steps %ld..%ld, %d points (step: mean loss up to it)\n", v->first_step, v->steps, v->n);
		for (int i = 0; i < v->n; i++)
			printf("%s%6ld: %-9.4g%s", i % 6 ? " " : "    ", v->step[i], v->loss[i],
			       i % 6 == 5 || i + 1 == v->n ? "\n" : "");
	}
	const char *miss[2] = { c->rc_omega == Q_ENOTFOUND ? "omega ranking" : NULL,
				c->rc_curve == Q_ENOTFOUND ? "training curve" : NULL };
	if (miss[0] || miss[1])
		printf("  not stored: %s%s%s (a seed, a model given with --from, a model not trained yet or one of an older "
		       "store has none)\n",
		       miss[0] ? miss[0] : "", miss[0] && miss[1] ? ", " : "", miss[1] ? miss[1] : "");
}

int cmd_card(const cli_cmd *cmd, int argc, char **argv)
{
	store_args a;
	store_parse(cmd, argc, argv, 1, &a);
	if (!a.id)
		die(2, "which model? give its id (see 'petri frontier --dir EXP --all')\nusage: %s", cmd->usage);
	need_dir(a.dir, cmd->usage);
	int code;
	if (store_child(a.dir, &code))
		return code;
	exp_view v;
	open_view(&v, a.dir, 0);
	card_ctx x = { a.id, malloc(sizeof(petrid_card)), "" };
	if (!x.c)
		die(1, "out of memory");
	int rc = q_read(v.s, read_card, &x);
	if (rc == Q_ENOTFOUND)
		die(1, "no model '%s' in %s (see 'petri frontier --dir %s --all')", a.id, a.dir, a.dir);
	if (rc)
		die(1, "cannot read the card of '%s' from %s: %s (%s)", a.id, a.dir, x.err, q_strerror(rc));
	if (a.json) {
		petrid_card_write_json(x.c, stdout);
		printf("\n");
	} else {
		card_text(x.c);
	}
	int bad = 0;
	if (x.c->rc_omega && x.c->rc_omega != Q_ENOTFOUND)
		fprintf(stderr, "%s: model %s: %s\n", cli_prog, a.id, x.c->err_omega), bad = 1;
	if (x.c->rc_curve && x.c->rc_curve != Q_ENOTFOUND)
		fprintf(stderr, "%s: model %s: %s\n", cli_prog, a.id, x.c->err_curve), bad = 1;
	free(x.c);
	close_view(&v);
	return bad;
}
