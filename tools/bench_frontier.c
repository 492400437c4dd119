/* bench_frontier.c - frontier at scale: insert, parent choice and pick with
 * a million models, in memory and on the daemon's path through the store
 * (not a test: prints figures, asserts nothing on time).
 *
 *   bench_frontier [models (default 1000000)] [seed] [store dir | -]
 *
 * Models look like a search's: log-uniform multiply-adds over 4 decades,
 * params, memory and latency correlated with them plus noise, validation
 * error falling with cost plus noise, test accuracy close to validation.
 *
 * The daemon's path: a store (queue/, opened as the daemon opens it, so
 * every commit is synced) holding the models' summaries, model records and
 * frontier records, then the transaction the daemon commits for a trained
 * model (daemon/loop.c tx_child_done: model record + summary, job done, the
 * frontier's records through petrid_frontier_save, two config values, an
 * event), timed with the in-memory fr_insert before it. The model record is
 * a seed network's (grow_seed, 1x28x28, 10 classes); the prefill uses a tiny
 * model record to keep the store small. The same runs again with the store
 * opened Q_NOSYNC (no fsync at commit) to show what the sync costs. The
 * store directory (default: a new one under /tmp) is removed at the end.
 */
#include "exp.h"
#include "frontier.h"
#include "grow.h"
#include "queue.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rs;
static uint64_t rnd(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static double unif(void) { return (double)(rnd() >> 11) * 0x1p-53; }

static double now_ms(void) { return nn_now() * 1e3; }

static void model(fr_point *p, long i)
{
	memset(p, 0, sizeof *p);
	snprintf(p->id, sizeof p->id, "m%08ld", i);
	if (i)
		snprintf(p->parent, sizeof p->parent, "m%08ld", (long)(rnd() % (uint64_t)i));
	double lc = 5 + 4 * unif(); /* log10 MACs in [5, 9] */
	p->macs = (uint64_t)pow(10, lc);
	p->params = (uint64_t)(p->macs * (0.02 + 0.06 * unif()));
	p->mem_bytes = (uint64_t)(p->macs * (0.05 + 0.2 * unif()));
	p->latency_ms = p->macs * 1e-8 * (0.7 + 0.6 * unif());
	p->val_error = 0.05 + 0.45 * pow(10, -(lc - 5) / 1.3) + 0.03 * unif() * unif();
	p->val_loss = 3 * p->val_error;
	p->test_acc = 1 - p->val_error - 0.01 * (unif() - 0.5);
	p->depth = (int)(lc - 5) * 3 + (int)(rnd() % 3);
}

/* timings of one operation: mean, median, 99th percentile, max. The max
 * on a shared machine includes preemption; the percentiles show the rest. */
typedef struct { double sum, max; long n, cap; double *v; } stat;
static void add(stat *s, double v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->v = realloc(s->v, (size_t)s->cap * sizeof *s->v);
		if (!s->v)
			exit(1);
	}
	s->v[s->n++] = v, s->sum += v;
	if (v > s->max)
		s->max = v;
}
static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
static const char *fmt(stat *s)
{
	static char b[160];
	qsort(s->v, (size_t)s->n, sizeof *s->v, cmpd);
	snprintf(b, sizeof b, "mean %.4f ms, median %.4f, p99 %.4f, max %.4f", s->sum / s->n, s->v[s->n / 2],
		 s->v[s->n * 99 / 100], s->max);
	free(s->v);
	s->v = NULL, s->cap = 0;
	return b;
}

/* ---- the daemon's path ---- */
#define RUNS 300       /* timed trained models per sync setting */
#define BATCH 10000    /* prefill models per transaction */

typedef struct {
	fr_frontier *fr;
	nn_model *m;       /* the model to store: its id, costs and metrics set per model */
	long from, to;     /* prefill: points [from, to) */
	uint64_t entry;    /* the leased child job */
	double t_body;     /* time when the transaction's body ended (commit follows) */
	long jobs;
} dtx;

static void set_model(nn_model *m, const fr_point *p)
{
	snprintf(m->lineage.id, sizeof m->lineage.id, "%s", p->id);
	snprintf(m->lineage.parent, sizeof m->lineage.parent, "%s", p->parent);
	m->lineage.depth = p->depth;
	m->cost.macs = p->macs, m->cost.params = p->params, m->cost.act_bytes_1 = p->mem_bytes;
	m->cost.latency_ms = p->latency_ms;
	m->metrics.val_acc = (float)(1 - p->val_error), m->metrics.val_loss = (float)p->val_loss;
	m->metrics.test_acc = (float)p->test_acc;
}

/* prefill: models and frontier records of points [from, to), inserted in
 * memory already; runs again as a whole when the map grows */
static int tx_prefill(q_txn *t, void *ud)
{
	dtx *x = ud;
	int rc = 0;
	for (long i = x->from; i < x->to && !rc; i++) {
		set_model(x->m, fr_point_at(x->fr, (size_t)i));
		if (!(rc = q_model_put(t, x->m, Q_MODEL_TRAINED)))
			rc = petrid_frontier_save(t, x->fr, x->m->lineage.id);
	}
	return rc;
}

/* the daemon's lease, not timed: a child job pushed and leased */
static int tx_job(q_txn *t, void *ud)
{
	dtx *x = ud;
	static const char payload[48] = "child job payload: kind, model id, seed";
	int rc = q_push(t, Q_CHILD, payload, sizeof payload, NULL);
	q_entry e;
	if (rc || (rc = q_lease(t, Q_CHILD, "worker0:1", &e)))
		return rc;
	x->entry = e.id;
	q_entry_free(&e);
	return 0;
}

/* the daemon's own transaction for a trained model (daemon/loop.c
 * tx_child_done calls the same petrid_tx_trained) */
static int tx_child_done(q_txn *t, void *ud)
{
	dtx *x = ud;
	const nn_model *m = x->m;
	char ev[600];
	snprintf(ev, sizeof ev,
		 "trained %s (parent %s, depth %d): val acc %.2f%%, test acc %.2f%%, %.3f M mult-adds, %llu params, "
		 "%.3f ms, on the hull, eligible parent, %.0f s", m->lineage.id, m->lineage.parent, m->lineage.depth,
		 100 * m->metrics.val_acc, 100 * m->metrics.test_acc, m->cost.macs / 1e6,
		 (unsigned long long)m->cost.params, m->cost.latency_ms, 42.0);
	int rc = petrid_tx_trained(t, m, x->entry, "worker0:1", x->fr, x->jobs, 1234.5 + (double)x->jobs, ev);
	x->t_body = now_ms();
	return rc;
}

typedef struct {
	fr_frontier **fr;
	char *err;
	size_t errlen;
} load_arg;

static int tx_load(q_txn *t, void *ud)
{
	load_arg *l = ud;
	return petrid_frontier_load(t, l->fr, l->err, l->errlen);
}

static q_store *open_store(const char *dir, int flags)
{
	q_options o = { flags, 0, 0 };
	q_store *s;
	char err[600];
	int rc = q_open(&s, dir, &o, err, sizeof err);
	if (rc)
		fprintf(stderr, "q_open %s: %s: %s\n", dir, q_strerror(rc), err);
	return rc ? NULL : s;
}

/* RUNS trained models into the store: the timings of each part */
static int timed_runs(q_store *s, dtx *x, long *next, const char *label)
{
	stat all = { 0 }, ins = { 0 }, body = { 0 }, commit = { 0 };
	fr_point p;
	int rc = 0;
	for (int r = 0; r < RUNS && !rc; r++) {
		model(&p, (*next)++);
		if (r % 100 == 0) /* now and then a new best: the hull and band move */
			p.val_error *= 0.97;
		set_model(x->m, &p);
		if ((rc = q_write(s, tx_job, x)))
			break;
		x->jobs++;
		double a = now_ms();
		if ((rc = fr_insert(x->fr, &p, NULL))) {
			fprintf(stderr, "fr_insert: %s\n", fr_strerror(rc));
			return 1;
		}
		double b = now_ms();
		rc = q_write(s, tx_child_done, x);
		double c = now_ms();
		add(&all, c - a), add(&ins, b - a), add(&body, x->t_body - b), add(&commit, c - x->t_body);
	}
	if (rc) {
		fprintf(stderr, "store: %s: %s\n", q_strerror(rc), q_errmsg(s));
		return 1;
	}
	printf("  %s, %d trained models:\n", label, RUNS);
	printf("    insert + transaction  %s   [target median <= 1 ms]\n", fmt(&all));
	printf("      fr_insert           %s\n", fmt(&ins));
	printf("      transaction body    %s\n", fmt(&body));
	printf("      commit              %s\n", fmt(&commit));
	return 0;
}

static int daemon_path(long n, const char *dir)
{
	char tmp[] = "/tmp/petri_benchfr_XXXXXX", path[600];
	if (!dir && !(dir = mkdtemp(tmp)))
		return fprintf(stderr, "mkdtemp: failed\n"), 1;
	/* the record of a seed network, and a tiny one for the prefill */
	grow_seed_opts so;
	grow_seed_defaults(&so);
	nn_graph g, tg;
	nn_net *net, *tnet;
	nn_model seed, tiny;
	char err[300] = "";
	nn_graph_init(&tg, (nn_shape){ 1, 1, 2, 2 }, 2);
	tg.output = nn_linear(&tg, nn_input(&tg), 2);
	if (grow_seed(&g, (nn_shape){ 1, 1, 28, 28 }, 10, &so) || nn_net_create(&net, &g, 1, err, sizeof err) ||
	    nn_net_create(&tnet, &tg, 1, err, sizeof err))
		return fprintf(stderr, "seed network: %s\n", err), 1;
	nn_net_init(net, 1), nn_net_init(tnet, 1);
	if (nn_model_from_net(&seed, net) || nn_model_from_net(&tiny, tnet))
		return fprintf(stderr, "seed model: failed\n"), 1;
	char *mb;
	size_t seed_bytes, tiny_bytes;
	nn_model_encode(&seed, &mb, &seed_bytes), free(mb);
	nn_model_encode(&tiny, &mb, &tiny_bytes), free(mb);
	nn_net_free(net), nn_net_free(tnet), nn_graph_free(&g), nn_graph_free(&tg);

	q_store *s = open_store(dir, Q_CREATE); /* the daemon's flags: every commit synced */
	if (!s)
		return 1;
	dtx x = { 0 };
	if (fr_create(&x.fr, NULL) || fr_reserve(x.fr, (size_t)n + 2 * RUNS + 16))
		return fprintf(stderr, "fr_create: failed\n"), 1;
	fr_point p;
	long next = 0;
	int rc = 0;
	double t0 = now_ms();
	x.m = &tiny;
	while (next < n && !rc) {
		x.from = next;
		for (; next < n && next < x.from + BATCH; next++) {
			model(&p, next);
			if ((rc = fr_insert(x.fr, &p, NULL)))
				return fprintf(stderr, "fr_insert: %s\n", fr_strerror(rc)), 1;
		}
		x.to = next;
		rc = q_write(s, tx_prefill, &x);
	}
	if (rc)
		return fprintf(stderr, "prefill: %s: %s\n", q_strerror(rc), q_errmsg(s)), 1;
	printf("daemon path: store in %s\n", dir);
	printf("  prefill         %ld models (summary, %zu-byte model record, frontier point record) in %.1f s, "
	       "map %.0f MB\n", n, tiny_bytes, (now_ms() - t0) / 1e3, q_map_size(s) / 1e6);
	printf("  trained model   %zu-byte model record (seed network 1x28x28, 10 classes)\n", seed_bytes);
	x.m = &seed;
	rc = timed_runs(s, &x, &next, "synced commits (the daemon's setting: fsync at every commit)");
	/* a restart: every record read back, hull, band and pick index rebuilt */
	fr_frontier *back = NULL;
	char lerr[300] = "";
	if (!rc) {
		load_arg la = { &back, lerr, sizeof lerr };
		t0 = now_ms();
		rc = q_read(s, tx_load, &la);
		printf("  restart         load %zu point records and rebuild: %.1f s%s%s\n", back ? fr_count(back) : 0,
		       (now_ms() - t0) / 1e3, rc ? ", FAILED: " : "", rc ? lerr : "");
		if (!rc && fr_count(back) != fr_count(x.fr))
			rc = fprintf(stderr, "restart: %zu points, %zu expected\n", fr_count(back), fr_count(x.fr));
		fr_free(back);
	}
	q_close(s);
	if (!rc && (s = open_store(dir, Q_NOSYNC))) {
		rc = timed_runs(s, &x, &next, "Q_NOSYNC (no fsync at commit: shows what the sync costs)");
		q_close(s);
	}
	fr_free(x.fr);
	nn_model_free(&seed), nn_model_free(&tiny);
	if (dir == tmp) {
		static const char *files[] = { "data.mdb", "lock.mdb", "lock", "log" };
		for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
			snprintf(path, sizeof path, "%s/%s", dir, files[k]);
			unlink(path);
		}
		rmdir(dir);
	}
	return rc;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	rs = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
	const char *dir = argc > 3 ? argv[3] : NULL;
	if (n < 1) {
		fprintf(stderr, "usage: bench_frontier [models] [seed] [store dir | -]\n");
		return 2;
	}
	fr_frontier *fr;
	int rc = fr_create(&fr, NULL);
	if (rc) {
		fprintf(stderr, "fr_create: %s\n", fr_strerror(rc));
		return 1;
	}
	fr_point p;
	double t0 = now_ms();
	if ((rc = fr_reserve(fr, (size_t)n + 4096))) {
		fprintf(stderr, "fr_reserve: %s\n", fr_strerror(rc));
		return 1;
	}
	stat ins = { 0 };
	for (long i = 0; i < n; i++) {
		model(&p, i);
		double a = now_ms();
		if ((rc = fr_insert(fr, &p, NULL))) {
			fprintf(stderr, "fr_insert: %s\n", fr_strerror(rc));
			return 1;
		}
		add(&ins, now_ms() - a);
	}
	double build = now_ms() - t0;
	fr_stats st;
	fr_get_stats(fr, &st);
	printf("frontier bench: %ld models, axis %s, eps %.3g\n", n, fr_axis_name(fr_get_opts(fr).axis),
	       fr_get_opts(fr).eps);
	printf("  build           %.1f ms total; insert %s\n", build, fmt(&ins));
	printf("  sets            hull %zu, band %zu, pick index %zu (val) %zu (test)\n", st.hull, st.band,
	       st.pick_val, st.pick_test);

	/* the daemon's step: a child lands, then the next parent is chosen */
	stat one = { 0 }, sins = { 0 }, sch = { 0 };
	fr_ceilings ce = { 300000000, 12 };
	for (long r = 0; r < 2000; r++) {
		model(&p, n + r);
		if (r % 100 == 0) /* now and then a new best: the hull and band move */
			p.val_error *= 0.97;
		fr_choice ch;
		double a = now_ms();
		rc = fr_insert(fr, &p, NULL);
		double b = now_ms();
		int rc2 = fr_choose(fr, &ce, &ch);
		double c = now_ms();
		if (rc || rc2) {
			fprintf(stderr, "insert/choose: %s / %s\n", fr_strerror(rc), fr_strerror(rc2));
			return 1;
		}
		add(&sins, b - a), add(&sch, c - b), add(&one, c - a);
	}
	printf("  insert          %s (2000 children, 1 in 100 a new best)\n", fmt(&sins));
	printf("  parent choice   %s\n", fmt(&sch));
	printf("  insert+choice   %s   [target < 10 ms]\n", fmt(&one));

	struct { const char *name; fr_limits l; } q[] = {
		{ "no limits", { 0, 0, 0, 0, FR_METRIC_VAL } },
		{ "max 50 MMACs", { 50000000, 0, 0, 0, FR_METRIC_VAL } },
		{ "5 MMACs, 200k params, 1 ms", { 5000000, 200000, 0, 1.0, FR_METRIC_VAL } },
		{ "all four limits, test metric", { 20000000, 1000000, 2000000, 0.2, FR_METRIC_TEST } },
		{ "tight: 200k MACs, 5k params", { 200000, 5000, 0, 0, FR_METRIC_VAL } },
		{ "impossible: 10 MACs", { 10, 0, 0, 0, FR_METRIC_VAL } },
	};
	for (size_t k = 0; k < sizeof q / sizeof q[0]; k++) {
		stat s = { 0 };
		size_t idx = 0;
		for (int r = 0; r < 200; r++) {
			double a = now_ms();
			rc = fr_pick(fr, &q[k].l, &idx);
			add(&s, now_ms() - a);
		}
		const fr_point *m = fr_point_at(fr, idx);
		printf("  pick %-30s %s -> %s %s (%.2f%% err, %.3g MMACs)\n", q[k].name,
		       fmt(&s), rc == 0 ? "picked" : rc == FR_ENOFIT ? "no fit, cheapest" : fr_strerror(rc),
		       m->id, 100 * (q[k].l.metric ? 1 - m->test_acc : m->val_error), m->macs / 1e6);
	}

	char *buf;
	size_t len;
	double a = now_ms();
	if ((rc = fr_encode(fr, &buf, &len)))
		return fprintf(stderr, "fr_encode: %s\n", fr_strerror(rc)), 1;
	double b = now_ms();
	fr_frontier *back;
	char err[200];
	if ((rc = fr_decode(&back, buf, len, err, sizeof err)))
		return fprintf(stderr, "fr_decode: %s: %s\n", fr_strerror(rc), err), 1;
	double c = now_ms();
	printf("  encode %.1f ms, decode %.1f ms, record %.1f MB\n", b - a, c - b, len / 1e6);
	a = now_ms();
	fr_rebuild(back);
	printf("  rebuild from all points %.1f ms (what a start from per-point records does once)\n", now_ms() - a);
	free(buf);
	fr_free(back);
	fr_free(fr);
	if (dir && !strcmp(dir, "-"))
		return 0;
	rs = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
	return daemon_path(n, dir);
}
