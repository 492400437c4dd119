/* bench_frontier.c - frontier at scale: insert, parent choice and pick with
 * a million models (not a test: prints figures, asserts nothing on time).
 *
 *   bench_frontier [models (default 1000000)] [seed]
 *
 * Models look like a search's: log-uniform multiply-adds over 4 decades,
 * params, memory and latency correlated with them plus noise, validation
 * error falling with cost plus noise, test accuracy close to validation.
 */
#include "frontier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rs;
static uint64_t rnd(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static double unif(void) { return (double)(rnd() >> 11) * 0x1p-53; }

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

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

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	rs = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
	if (n < 1) {
		fprintf(stderr, "usage: bench_frontier [models] [seed]\n");
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
	printf("  rebuild from all points %.1f ms (for comparison; restart uses decode)\n", now_ms() - a);
	free(buf);
	fr_free(back);
	fr_free(fr);
	return 0;
}
