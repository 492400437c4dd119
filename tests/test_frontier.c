/* test_frontier.c - frontier: hull, band, pick against brute force on random
 * point sets; incremental == rebuild; parent choice determinism and
 * ceilings; encode/decode round trip and corrupt records; per-record state
 * written as a store would (only what changed) and loaded back; SVG that
 * renders.
 */
#include "frontier.h"
#include "check.h"
#include "rec.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

__extension__ typedef __int128 i128;

/* a record edited on purpose gets a check that holds again */
static void reseal(void *rec, size_t len)
{
	CHECK(nn_rec_seal(rec, len) == 0);
}

static uint64_t rs = 12345;
static uint64_t rnd(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static int rint_(int n) { return (int)(rnd() % (uint64_t)n); }

#define MAXN 14

/* ---- reference: keys and brute force, written from the definitions ---- */
static int64_t kx_of(int axis, const fr_point *p)
{
	const uint64_t counted[3] = { p->macs, p->params, p->mem_bytes }; /* macs, params, memory */
	return axis == FR_AXIS_LATENCY ? (int64_t)llround(p->latency_ms * 1e6) : (int64_t)counted[axis];
}
static int64_t ky_of(const fr_point *p) { return (int64_t)llround(p->val_error * 4294967296.0); }

typedef struct { int64_t x, y; } key;

static i128 cross(key o, key a, key b)
{
	return (i128)(a.x - o.x) * (b.y - o.y) - (i128)(a.y - o.y) * (b.x - o.x);
}

/* p is a hull vertex iff no other point is as cheap and as good (earlier
 * on exact ties) and p is not on or above a segment between two points
 * strictly left and right of it. */
static int brute_vertex(const key *k, int n, int p)
{
	for (int q = 0; q < n; q++)
		if (q != p && k[q].x <= k[p].x && k[q].y <= k[p].y && (k[q].x < k[p].x || k[q].y < k[p].y || q < p))
			return 0;
	for (int q = 0; q < n; q++)
		for (int r = 0; r < n; r++)
			if (k[q].x < k[p].x && k[p].x < k[r].x && cross(k[q], k[r], k[p]) >= 0)
				return 0;
	return 1;
}

/* hull vertices sorted by cost */
static int brute_hull(const key *k, int n, int *h)
{
	int nh = 0;
	for (int p = 0; p < n; p++)
		if (brute_vertex(k, n, p))
			h[nh++] = p;
	for (int a = 1; a < nh; a++)
		for (int b = a; b > 0 && k[h[b]].x < k[h[b - 1]].x; b--) {
			int t = h[b]; h[b] = h[b - 1]; h[b - 1] = t;
		}
	return nh;
}

/* y <= (1+eps) hull(x), exactly, with eps as f / 2^24 */
static int brute_in_band(const key *k, const int *h, int nh, int64_t f, key p)
{
	int a = 0;
	for (int j = 0; j < nh; j++)
		if (k[h[j]].x <= p.x)
			a = j;
	key A = k[h[a]];
	if (a == nh - 1 || A.x == p.x || p.x < A.x)
		return (i128)p.y * (1 << 24) <= (i128)f * A.y;
	key B = k[h[a + 1]];
	i128 dx = B.x - A.x;
	i128 num = (i128)A.y * dx + (i128)(B.y - A.y) * (p.x - A.x);
	return (i128)p.y * dx * (1 << 24) <= (i128)f * num;
}

/* double interpolation of the hull, for a tolerance cross-check */
static double hull_d(const double *c, const double *e, const int *h, int nh, double x)
{
	int a = 0;
	for (int j = 0; j < nh; j++)
		if (c[h[j]] <= x)
			a = j;
	if (a == nh - 1 || x <= c[h[a]])
		return e[h[a]];
	int b = a + 1;
	return e[h[a]] + (e[h[b]] - e[h[a]]) * (x - c[h[a]]) / (c[h[b]] - c[h[a]]);
}

/* A random point on a coarse grid, so ties, duplicates and collinear
 * points are common; sometimes a copy of an earlier point's values. */
static void rand_point(fr_point *p, int i, const fr_point *prev, int nprev)
{
	memset(p, 0, sizeof *p);
	if (nprev && rint_(5) == 0) {
		*p = prev[rint_(nprev)];
	} else {
		int g = rint_(3); /* grid coarseness */
		int cmax = g == 0 ? 4 : g == 1 ? 10 : 1000;
		p->macs = (uint64_t)rint_(cmax + 1) * (g == 2 ? 1000003 : 1000);
		p->params = (uint64_t)rint_(cmax + 1) * 100;
		p->mem_bytes = (uint64_t)rint_(cmax + 1) * 4096;
		p->latency_ms = rint_(4) == 0 ? 0 : rint_(cmax + 1) * 0.25;
		int emax = g == 0 ? 4 : g == 1 ? 8 : 100000;
		p->val_error = (double)rint_(emax + 1) / emax;
		p->val_loss = p->val_error * 2;
		p->test_acc = rint_(6) == 0 ? NAN : 1.0 - (double)rint_(emax + 1) / emax;
		p->depth = rint_(6);
		p->expanded = rint_(4) == 0 ? rint_(3) : 0;
	}
	snprintf(p->id, sizeof p->id, "m%d", i);
	snprintf(p->parent, sizeof p->parent, i ? "m%d" : "", i ? rint_(i) : 0);
}

static double rank_err(const fr_point *p, int metric)
{
	if (metric == FR_METRIC_VAL)
		return p->val_error;
	return isnan(p->test_acc) ? INFINITY : 1.0 - p->test_acc;
}

static int fits(const fr_point *p, const fr_limits *l)
{
	return (!l->max_macs || p->macs <= l->max_macs) && (!l->max_params || p->params <= l->max_params) &&
	       (!l->max_mem_bytes || p->mem_bytes <= l->max_mem_bytes) &&
	       (l->max_latency_ms == 0 || (p->latency_ms > 0 && p->latency_ms <= l->max_latency_ms));
}

static int64_t feps(double eps) { return (int64_t)llround((1 + eps) * (1 << 24)); }

/* Check fr's hull, band and pick against brute force over pts[0..n). */
static int check_against_brute(fr_frontier *fr, const fr_point *pts, int n, int axis, double eps)
{
	int f0 = check_fails;
	key k[MAXN];
	double c[MAXN], e[MAXN];
	for (int i = 0; i < n; i++) {
		k[i] = (key){ kx_of(axis, &pts[i]), ky_of(&pts[i]) };
		c[i] = fr_cost(fr, &pts[i]), e[i] = pts[i].val_error;
	}
	int h[MAXN];
	int nh = brute_hull(k, n, h);
	size_t got[MAXN];
	size_t gh = fr_hull(fr, got, MAXN);
	CHECKM(gh == (size_t)nh, "hull size %zu, brute %d, n %d", gh, nh, n);
	for (int j = 0; j < nh && (size_t)j < gh; j++)
		CHECKM(got[j] == (size_t)h[j], "hull vertex %d: %zu vs %d", j, got[j], h[j]);
	/* hull is non-increasing: strictly decreasing in error, increasing in cost */
	for (int j = 1; j < nh; j++)
		CHECK(k[h[j]].x > k[h[j - 1]].x && k[h[j]].y < k[h[j - 1]].y);
	/* band */
	size_t gb = fr_band(fr, got, MAXN), nbb = 0;
	for (int i = 0; i < n; i++) {
		int in = nh && brute_in_band(k, h, nh, feps(eps), k[i]);
		nbb += in;
		CHECKM(fr_is_eligible(fr, (size_t)i) == in, "point %d eligibility %d, brute %d", i, !in, in);
		if (nh) {
			double t = (1 + eps) * hull_d(c, e, h, nh, c[i]);
			if (e[i] < t - 1e-6)
				CHECKM(in, "point %d clearly inside the band", i);
			if (e[i] > t + 1e-6)
				CHECKM(!in, "point %d clearly outside the band", i);
			double he;
			CHECK_OK(fr_hull_at(fr, c[i], &he), fr_strerror);
			CHECK(fabs(he - hull_d(c, e, h, nh, c[i])) < 1e-9);
		}
	}
	CHECKM(gb == nbb, "band size %zu, brute %zu", gb, nbb);
	for (size_t j = 1; j < gb && j < MAXN; j++)
		CHECK(k[got[j - 1]].x <= k[got[j]].x);
	for (int j = 0; j < nh; j++)
		CHECK(fr_is_eligible(fr, (size_t)h[j]));
	/* pick, under random limits drawn from the points' own values */
	for (int t = 0; t < 6; t++) {
		fr_limits l = { 0, 0, 0, 0, rint_(2) };
		if (n && rint_(2)) l.max_macs = pts[rint_(n)].macs + (uint64_t)rint_(2);
		if (n && rint_(2)) l.max_params = pts[rint_(n)].params;
		if (n && rint_(2)) l.max_mem_bytes = pts[rint_(n)].mem_bytes;
		if (n && rint_(3) == 0) l.max_latency_ms = pts[rint_(n)].latency_ms;
		int best = -1;
		for (int i = 0; i < n; i++) {
			if (!fits(&pts[i], &l))
				continue;
			double ei = rank_err(&pts[i], l.metric), eb = best < 0 ? 0 : rank_err(&pts[best], l.metric);
			if (best < 0 || ei < eb || (ei == eb && k[i].x < k[best].x))
				best = i;
		}
		size_t idx = 99;
		int rc = fr_pick(fr, &l, &idx);
		if (n == 0) {
			CHECK(rc == FR_EEMPTY);
		} else if (best >= 0) {
			CHECKM(rc == 0 && idx == (size_t)best, "pick rc %d idx %zu, brute %d", rc, idx, best);
		} else {
			CHECKM(rc == FR_ENOFIT, "pick rc %d, brute: nothing fits", rc);
			int cheap = 0;
			for (int i = 1; i < n; i++)
				if (k[i].x < k[cheap].x || (k[i].x == k[cheap].x && k[i].y < k[cheap].y))
					cheap = i;
			CHECKM(idx == (size_t)cheap, "cheapest %zu, brute %d", idx, cheap);
		}
	}
	return check_fails == f0;
}

static int same_blob(const fr_frontier *a, const fr_frontier *b)
{
	char *x = NULL, *y = NULL;
	size_t lx = 0, ly = 0;
	int rc = fr_encode(a, &x, &lx) | fr_encode(b, &y, &ly);
	int same = !rc && lx == ly && !memcmp(x, y, lx);
	free(x), free(y);
	return same;
}

static void test_random_sets(void)
{
	int sets = 12000, bad = 0;
	for (int s = 0; s < sets; s++) {
		int n = s % 50 == 0 ? 0 : s % 50 == 1 ? 1 : rint_(MAXN + 1);
		int axis = rint_(FR_AXIS__COUNT);
		double eps = rint_(4) == 0 ? 0 : rint_(3) == 0 ? 0.5 : 0.025;
		fr_opts o = { axis, eps, (uint64_t)s };
		fr_frontier *fr = NULL, *re = NULL;
		CHECK_OK(fr_create(&fr, &o), fr_strerror);
		fr_point pts[MAXN];
		for (int i = 0; i < n; i++) {
			rand_point(&pts[i], i, pts, i);
			fr_insert_info info;
			CHECK_OK(fr_insert(fr, &pts[i], &info), fr_strerror);
			CHECK(info.index == (size_t)i && (!info.on_hull || info.eligible));
			/* every prefix against brute force (incremental correctness) */
			if (!check_against_brute(fr, pts, i + 1, axis, eps) && bad++ < 3)
				fprintf(stderr, "  (set %d, after point %d of %d, axis %s, eps %g)\n", s, i, n,
					fr_axis_name(axis), eps);
		}
		if (n == 0 && !check_against_brute(fr, pts, 0, axis, eps))
			bad++;
		/* incremental == recompute: the encoded state is byte-identical */
		CHECK_OK(fr_create(&re, &o), fr_strerror);
		for (int i = 0; i < n; i++)
			CHECK_OK(fr_insert(re, &pts[i], NULL), fr_strerror);
		CHECK_OK(fr_rebuild(re), fr_strerror);
		CHECKM(same_blob(fr, re), "set %d: rebuild differs from incremental", s);
		/* another insertion order gives the same hull and band keys */
		if (n > 1) {
			fr_frontier *sh = NULL;
			CHECK_OK(fr_create(&sh, &o), fr_strerror);
			int perm[MAXN];
			for (int i = 0; i < n; i++)
				perm[i] = i;
			for (int i = n - 1; i > 0; i--) {
				int j = rint_(i + 1), t = perm[i];
				perm[i] = perm[j], perm[j] = t;
			}
			for (int i = 0; i < n; i++)
				CHECK_OK(fr_insert(sh, &pts[perm[i]], NULL), fr_strerror);
			size_t a[MAXN], b[MAXN];
			size_t na = fr_hull(fr, a, MAXN), nb = fr_hull(sh, b, MAXN);
			CHECK(na == nb);
			for (size_t j = 0; j < na && j < nb; j++) {
				const fr_point *p = fr_point_at(fr, a[j]), *q = fr_point_at(sh, b[j]);
				CHECK(fr_cost(fr, p) == fr_cost(sh, q) && p->val_error == q->val_error);
			}
			na = fr_band(fr, a, MAXN), nb = fr_band(sh, b, MAXN);
			CHECK(na == nb);
			for (size_t j = 0; j < na && j < nb; j++) {
				const fr_point *p = fr_point_at(fr, a[j]), *q = fr_point_at(sh, b[j]);
				CHECK(fr_cost(fr, p) == fr_cost(sh, q) && p->val_error == q->val_error);
			}
			fr_free(sh);
		}
		fr_free(fr), fr_free(re);
	}
	printf("  %d random point sets\n", sets);
}

/* hand-made degenerate cases */
static fr_point mk(const char *id, uint64_t macs, double err)
{
	fr_point p;
	memset(&p, 0, sizeof p);
	snprintf(p.id, sizeof p.id, "%s", id);
	p.macs = macs, p.params = macs / 10, p.mem_bytes = macs / 100, p.latency_ms = (double)macs * 1e-6;
	p.val_error = err, p.val_loss = err, p.test_acc = 1 - err;
	return p;
}

static void test_edge_cases(void)
{
	fr_frontier *fr;
	size_t h[8], idx;
	double e;
	CHECK_OK(fr_create(&fr, NULL), fr_strerror);
	CHECK(fr_count(fr) == 0 && fr_hull(fr, h, 8) == 0 && fr_band(fr, h, 8) == 0);
	CHECK(fr_hull_at(fr, 1, &e) == FR_EEMPTY);
	fr_limits l = { 0 };
	CHECK(fr_pick(fr, &l, &idx) == FR_EEMPTY);
	fr_choice ch;
	CHECK(fr_choose(fr, NULL, &ch) == FR_EEMPTY && ch.reason[0]);
	/* one point */
	fr_point a = mk("a", 1000, 0.5);
	CHECK_OK(fr_insert(fr, &a, NULL), fr_strerror);
	CHECK(fr_hull(fr, h, 8) == 1 && h[0] == 0 && fr_is_eligible(fr, 0));
	CHECK(fr_insert(fr, &a, NULL) == FR_EEXIST);
	CHECK(fr_find(fr, "a", &idx) == 0 && idx == 0 && fr_find(fr, "zz", &idx) == FR_ENOTFOUND);
	/* duplicate values, other id: not a vertex, but eligible */
	fr_point a2 = mk("a2", 1000, 0.5);
	CHECK_OK(fr_insert(fr, &a2, NULL), fr_strerror);
	CHECK(fr_hull(fr, h, 8) == 1 && h[0] == 0 && fr_is_eligible(fr, 1));
	/* costlier and no better: never on the hull */
	fr_point b = mk("b", 2000, 0.5);
	fr_insert_info info;
	CHECK_OK(fr_insert(fr, &b, &info), fr_strerror);
	CHECK(!info.on_hull && fr_hull(fr, h, 8) == 1 && info.eligible);
	/* collinear: c on the segment a-d is not a vertex */
	fr_point d = mk("d", 5000, 0.1), c = mk("c", 3000, 0.3);
	CHECK_OK(fr_insert(fr, &d, NULL), fr_strerror);
	CHECK_OK(fr_insert(fr, &c, &info), fr_strerror);
	CHECK(!info.on_hull && info.eligible && fr_hull(fr, h, 8) == 2 && h[0] == 0 && h[1] == 3);
	/* same cost, lower error: replaces the vertex */
	fr_point a3 = mk("a3", 1000, 0.4);
	CHECK_OK(fr_insert(fr, &a3, &info), fr_strerror);
	CHECK(info.on_hull && info.hull_removed == 1 && fr_hull(fr, h, 8) == 2 && h[0] == 5);
	CHECK(!fr_is_eligible(fr, 0) && !fr_is_eligible(fr, 1)); /* 0.5 > 1.025 * 0.4 */
	/* flat right of the last vertex: hull(huge cost) = 0.1 */
	CHECK(fr_hull_at(fr, 1e12, &e) == 0 && e == 0.1);
	/* a point below everything makes the rest leave the band */
	fr_point z = mk("z", 500, 0.0);
	CHECK_OK(fr_insert(fr, &z, &info), fr_strerror);
	CHECK(info.on_hull && fr_hull(fr, h, 8) == 1 && fr_band(fr, h, 8) == 1);
	/* bad input */
	fr_point bad = mk("bad", 1, 0.1);
	bad.val_error = NAN;
	CHECK(fr_insert(fr, &bad, NULL) == FR_EINVAL);
	bad.val_error = 1.5;
	CHECK(fr_insert(fr, &bad, NULL) == FR_EINVAL);
	bad = mk("bad", 1, 0.1), bad.latency_ms = -1;
	CHECK(fr_insert(fr, &bad, NULL) == FR_EINVAL);
	bad = mk("bad", 1, 0.1), bad.macs = FR_COST_MAX + 1;
	CHECK(fr_insert(fr, &bad, NULL) == FR_EINVAL);
	bad = mk("", 1, 0.1);
	CHECK(fr_insert(fr, &bad, NULL) == FR_EINVAL);
	bad = mk("x", 1, 0.1);
	memset(bad.id, 'x', sizeof bad.id); /* no terminator within 40 bytes */
	CHECK(fr_insert(fr, &bad, NULL) == FR_EINVAL);
	bad = mk("bad", 1, 0.1), bad.depth = -1;
	CHECK(fr_insert(fr, &bad, NULL) == FR_EINVAL);
	CHECK(fr_count(fr) == 7);
	fr_opts o = { FR_AXIS__COUNT, 0.025, 1 };
	fr_frontier *x = NULL;
	CHECK(fr_create(&x, &o) == FR_EINVAL && !x);
	o.axis = 0, o.eps = -0.1;
	CHECK(fr_create(&x, &o) == FR_EINVAL);
	CHECK(fr_axis_from_name("latency") == FR_AXIS_LATENCY && fr_axis_from_name("nope") == -1);
	CHECK(!strcmp(fr_axis_name(FR_AXIS_MACS), "macs"));
	CHECK(strcmp(fr_strerror(FR_ENOFIT), fr_strerror(FR_ENOPARENT)));
	fr_free(fr);
	fr_free(NULL);
}

/* a frontier that looks like a search: error falls with cost, plus noise */
static void grow_like(fr_frontier *fr, int n, uint64_t seed)
{
	uint64_t save = rs;
	rs = seed;
	for (int i = 0; i < n; i++) {
		fr_point p;
		memset(&p, 0, sizeof p);
		snprintf(p.id, sizeof p.id, "m%04d", i);
		double lc = 5.5 + 3.0 * (double)(rnd() % 10000) / 10000; /* log10 MACs in [5.5, 8.5] */
		p.macs = (uint64_t)pow(10, lc);
		p.params = p.macs / 20 + rnd() % 1000;
		p.mem_bytes = p.macs / 8 + rnd() % 4096;
		p.latency_ms = (double)p.macs * 2e-8 * (0.8 + 0.4 * (double)(rnd() % 1000) / 1000);
		p.val_error = 0.06 + 0.5 * pow(10, -(lc - 5.5) / 1.5) + 0.04 * (double)(rnd() % 1000) / 1000;
		p.test_acc = 1 - p.val_error - 0.005;
		p.val_loss = p.val_error * 3;
		p.depth = (int)(rnd() % 8);
		if (i)
			snprintf(p.parent, sizeof p.parent, "m%04d", (int)(rnd() % (uint64_t)i));
		CHECK_OK(fr_insert(fr, &p, NULL), fr_strerror);
	}
	rs = save;
}

static void test_choose(void)
{
	fr_opts o;
	fr_opts_default(&o);
	o.seed = 7;
	/* same seed, same history: same choices; the history interleaves
	 * inserts and choices, and a restart through encode/decode continues
	 * the same sequence */
	fr_frontier *a, *b, *c = NULL;
	CHECK_OK(fr_create(&a, &o), fr_strerror);
	CHECK_OK(fr_create(&b, &o), fr_strerror);
	grow_like(a, 200, 99);
	grow_like(b, 200, 99);
	fr_ceilings ce = { 50000000, 6 };
	int same = 1, nchoice = 0;
	for (int r = 0; r < 300; r++) {
		if (r == 150) { /* restart b from its record */
			char *buf;
			size_t len;
			CHECK_OK(fr_encode(b, &buf, &len), fr_strerror);
			fr_free(b);
			CHECK_OK(fr_decode(&b, buf, len, NULL, 0), fr_strerror);
			free(buf);
			if (!b)
				return;
		}
		if (r % 10 == 9) { /* a child lands */
			fr_point p = mk("", 1000000 + 7919 * (uint64_t)r, 0.09 + 0.0001 * (r % 7));
			snprintf(p.id, sizeof p.id, "child%d", r);
			CHECK_OK(fr_insert(a, &p, NULL), fr_strerror);
			CHECK_OK(fr_insert(b, &p, NULL), fr_strerror);
		}
		/* the most costly eligible model within the ceilings: taken when never expanded */
		size_t band[4096], nb = fr_band(a, band, 4096), top = (size_t)-1;
		for (size_t k = 0; k < nb; k++) {
			const fr_point *p = fr_point_at(a, band[k]);
			if (p->macs <= ce.max_macs && p->depth < ce.max_depth)
				top = band[k];
		}
		int top_fresh = top != (size_t)-1 && fr_point_at(a, top)->expanded == 0;
		fr_choice x, y;
		int ra = fr_choose(a, &ce, &x), rb = fr_choose(b, &ce, &y);
		CHECK(ra == rb);
		if (ra) {
			CHECK(ra == FR_ENOPARENT);
			continue;
		}
		nchoice++;
		same &= x.index == y.index && !strcmp(x.reason, y.reason);
		const fr_point *p = fr_point_at(a, x.index);
		CHECK(fr_is_eligible(a, x.index));
		CHECK(p->macs <= ce.max_macs && p->depth < ce.max_depth);
		CHECK(p->expanded == x.expanded && !strcmp(p->id, x.id));
		CHECKM(!top_fresh || x.index == top, "the most costly unexpanded model was passed over");
		CHECK(strstr(x.reason, x.id) == x.reason);
	}
	CHECKM(same, "same seed and history gave different choices");
	CHECK(nchoice == 300);
	/* a different seed gives a different sequence once models are expanded */
	o.seed = 8;
	CHECK_OK(fr_create(&c, &o), fr_strerror);
	grow_like(c, 200, 99);
	o.seed = 7;
	fr_frontier *d;
	CHECK_OK(fr_create(&d, &o), fr_strerror);
	grow_like(d, 200, 99);
	int differ = 0;
	for (int r = 0; r < 300; r++) {
		fr_choice x, y;
		CHECK_OK(fr_choose(c, NULL, &x), fr_strerror);
		CHECK_OK(fr_choose(d, NULL, &y), fr_strerror);
		differ |= x.index != y.index;
	}
	CHECK(differ);
	printf("  e.g. %s\n", "choice reasons:");
	fr_choice z;
	CHECK_OK(fr_choose(d, NULL, &z), fr_strerror);
	printf("    %s\n", z.reason);
	/* ceilings: nothing eligible */
	fr_ceilings tight = { 1, 0 };
	CHECK(fr_choose(d, &tight, &z) == FR_ENOPARENT && strstr(z.reason, "MACs ceiling"));
	printf("    %s\n", z.reason);
	fr_ceilings shallow = { 0, 1 }; /* only depth-0 models may grow */
	size_t band[4096], nb = fr_band(d, band, 4096);
	int has0 = 0;
	for (size_t k = 0; k < nb; k++)
		has0 |= fr_point_at(d, band[k])->depth == 0;
	int rc = fr_choose(d, &shallow, &z);
	CHECK(has0 ? rc == 0 && fr_point_at(d, z.index)->depth == 0 : rc == FR_ENOPARENT);
	fr_ceilings neg = { 0, -1 };
	CHECK(fr_choose(d, &neg, &z) == FR_EINVAL);
	fr_free(a), fr_free(b), fr_free(c), fr_free(d);
}

/* The acceptance rule: with two eligible models, the costly one expanded k
 * times is taken with probability 1/(k+1) (then the cheap one, never
 * expanded, surely). Deterministic: fixed seeds. */
static void test_choose_rule(void)
{
	for (int k = 0; k <= 4; k++) {
		int trials = 4000, costly = 0;
		for (int t = 0; t < trials; t++) {
			fr_opts o;
			fr_opts_default(&o);
			o.seed = (uint64_t)t * 1000 + (uint64_t)k;
			fr_frontier *fr;
			CHECK_OK(fr_create(&fr, &o), fr_strerror);
			fr_point cheap = mk("cheap", 1000, 0.3), dear = mk("dear", 2000, 0.2);
			dear.expanded = k;
			CHECK_OK(fr_insert(fr, &cheap, NULL), fr_strerror);
			CHECK_OK(fr_insert(fr, &dear, NULL), fr_strerror);
			fr_choice ch;
			CHECK_OK(fr_choose(fr, NULL, &ch), fr_strerror);
			costly += ch.index == 1;
			CHECK(ch.expanded == (ch.index == 1 ? k + 1 : 1));
			fr_free(fr);
		}
		double f = (double)costly / trials, want = 1.0 / (k + 1);
		CHECKM(fabs(f - want) < 0.03, "expanded %d: costly model taken %.3f of the time, want %.3f", k, f, want);
	}
	/* all expanded many times: still one of them, never a failure */
	fr_frontier *fr;
	CHECK_OK(fr_create(&fr, NULL), fr_strerror);
	fr_point p = mk("only", 1000, 0.3);
	p.expanded = 1000000;
	CHECK_OK(fr_insert(fr, &p, NULL), fr_strerror);
	fr_choice ch;
	CHECK_OK(fr_choose(fr, NULL, &ch), fr_strerror);
	CHECK(ch.index == 0 && ch.expanded == 1000001 && strstr(ch.reason, "fewest"));
	fr_free(fr);
}

static void test_codec(void)
{
	/* round trips of random frontiers, including empty ones */
	for (int s = 0; s < 300; s++) {
		fr_opts o = { rint_(FR_AXIS__COUNT), rint_(2) ? 0.025 : 0.1, rnd() };
		fr_frontier *fr, *back = NULL;
		CHECK_OK(fr_create(&fr, &o), fr_strerror);
		int n = s % 10 == 0 ? 0 : rint_(MAXN + 1);
		fr_point pts[MAXN];
		for (int i = 0; i < n; i++) {
			rand_point(&pts[i], i, pts, i);
			CHECK_OK(fr_insert(fr, &pts[i], NULL), fr_strerror);
		}
		fr_choice ch;
		if (n)
			fr_choose(fr, NULL, &ch);
		char *buf;
		size_t len;
		CHECK_OK(fr_encode(fr, &buf, &len), fr_strerror);
		char err[200];
		CHECK_OK(fr_decode(&back, buf, len, err, sizeof err), fr_strerror);
		if (!back) {
			free(buf);
			fr_free(fr);
			continue;
		}
		CHECK(same_blob(fr, back) && fr_count(back) == (size_t)n);
		fr_opts ob = fr_get_opts(back);
		CHECK(ob.axis == o.axis && ob.eps == o.eps && ob.seed == o.seed);
		for (int i = 0; i < n; i++) {
			const fr_point *p = fr_point_at(fr, (size_t)i), *q = fr_point_at(back, (size_t)i);
			CHECK(!strcmp(p->id, q->id) && !strcmp(p->parent, q->parent) && p->macs == q->macs &&
			      p->params == q->params && p->mem_bytes == q->mem_bytes && p->latency_ms == q->latency_ms &&
			      p->val_error == q->val_error && p->val_loss == q->val_loss && p->depth == q->depth &&
			      p->expanded == q->expanded && (p->test_acc == q->test_acc || (isnan(p->test_acc) && isnan(q->test_acc))));
		}
		/* both continue identically */
		fr_choice c1, c2;
		if (n) {
			CHECK(fr_choose(fr, NULL, &c1) == fr_choose(back, NULL, &c2) && c1.index == c2.index);
			fr_point p = mk("late", 1234, 0.2);
			CHECK_OK(fr_insert(back, &p, NULL), fr_strerror);
			CHECK_OK(fr_insert(fr, &p, NULL), fr_strerror);
			CHECK(same_blob(fr, back));
		}
		/* corrupt: every truncation, random flips; never a crash, never
		 * accepted (the check), and anything that decodes still answers
		 * queries */
		for (size_t cut = 0; cut < len; cut += (len > 400 ? 7 : 1)) {
			fr_frontier *t = NULL;
			CHECK(fr_decode(&t, buf, cut, err, sizeof err) == FR_EFORMAT && !t);
		}
		char *mut = malloc(len);
		for (int k = 0; k < 60; k++) {
			memcpy(mut, buf, len);
			int flips = 1 + rint_(3);
			for (int j = 0; j < flips; j++)
				mut[rnd() % len] ^= (char)(1 + rint_(255));
			fr_frontier *t = NULL;
			int rc = fr_decode(&t, mut, len, err, sizeof err);
			CHECK((rc == 0) == (t != NULL));
			CHECKM(rc == FR_EFORMAT, "%s", err);
			if (t) {
				size_t idx;
				fr_limits l = { 0 };
				fr_pick(t, &l, &idx);
				fr_choose(t, NULL, &ch);
				fr_point p = mk("after", 777, 0.3);
				fr_insert(t, &p, NULL);
				fr_free(t);
			}
		}
		free(mut);
		free(buf);
		fr_free(fr), fr_free(back);
	}
	/* hand-made bad records */
	fr_frontier *t = NULL;
	char err[200];
	CHECK(fr_decode(&t, "hello world, not a frontier", 27, err, sizeof err) == FR_EFORMAT && strstr(err, "magic"));
	/* magic, then an array header claiming 4 billion entries, sealed */
	unsigned char huge[] = { 0x94, 0xa8, 'P', 'E', 'T', 'R', 'I', 'F', 'R', 'T', 0x02, 0xdd, 0xff, 0xff, 0xff, 0xff,
				 0, 0, 0, 0, 0 };
	reseal(huge, sizeof huge);
	CHECK(fr_decode(&t, huge, sizeof huge, err, sizeof err) == FR_EFORMAT && strstr(err, "malformed"));
	/* a newer version: a mismatch unless sealed again */
	fr_frontier *fr;
	CHECK_OK(fr_create(&fr, NULL), fr_strerror);
	char *buf;
	size_t len;
	CHECK_OK(fr_encode(fr, &buf, &len), fr_strerror);
	CHECK(buf[10] == FR_VERSION);
	buf[10] = FR_VERSION + 1;
	CHECK(fr_decode(&t, buf, len, err, sizeof err) == FR_EFORMAT && strstr(err, "checksum mismatch"));
	reseal(buf, len);
	CHECK(fr_decode(&t, buf, len, err, sizeof err) == FR_EVERSION && strstr(err, "version"));
	/* version 1, from before the check */
	buf[10] = 1;
	CHECK(fr_decode(&t, buf, len, err, sizeof err) == FR_EVERSION && strstr(err, "older petri without checksums"));
	free(buf);
	/* a hull out of order, not strictly convex, out of range: rejected */
	fr_point p1 = mk("p1", 1000, 0.5), p2 = mk("p2", 2000, 0.3), p3 = mk("p3", 3000, 0.1);
	CHECK_OK(fr_insert(fr, &p1, NULL), fr_strerror);
	CHECK_OK(fr_insert(fr, &p2, NULL), fr_strerror);
	CHECK_OK(fr_insert(fr, &p3, NULL), fr_strerror); /* p2 collinear: hull p1, p3 */
	CHECK_OK(fr_encode(fr, &buf, &len), fr_strerror);
	/* hull bin: 0x00.. index 0, index 2 -> make it 0, 1, 2 is impossible
	 * in place, but swapping the two indices breaks the order */
	unsigned char want[] = { 0xc4, 16, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0 };
	char *hit = NULL;
	for (size_t k = 0; k + sizeof want <= len && !hit; k++)
		if (!memcmp(buf + k, want, sizeof want))
			hit = buf + k;
	CHECK(hit != NULL);
	if (hit) {
		hit[2] = 2, hit[10] = 0; /* out of order */
		reseal(buf, len);
		CHECK(fr_decode(&t, buf, len, err, sizeof err) == FR_EFORMAT && strstr(err, "hull"));
		hit[2] = 0, hit[10] = 1; /* p1, p2: p3 lies below the flat end */
		reseal(buf, len);
		CHECK(fr_decode(&t, buf, len, err, sizeof err) == FR_EFORMAT && strstr(err, "hull"));
		hit[10] = 9; /* out of range */
		reseal(buf, len);
		CHECK(fr_decode(&t, buf, len, err, sizeof err) == FR_EFORMAT && !strstr(err, "checksum"));
	}
	free(buf);
	fr_free(fr);
}

/* ---- per-record state ---- */

/* The records a store would hold when it writes, after every insert and
 * choice, only the records that changed. */
#define RMAX 700
typedef struct {
	char *hdr, *pt[RMAX];
	size_t hlen, plen[RMAX];
	long writes;
} rec_store;

static void rec_point(rec_store *st, const fr_frontier *fr, size_t i)
{
	CHECK(i < RMAX);
	if (i >= RMAX)
		return;
	free(st->pt[i]);
	CHECK_OK(fr_point_encode(fr, i, &st->pt[i], &st->plen[i]), fr_strerror);
	free(st->hdr);
	CHECK_OK(fr_header_encode(fr, &st->hdr, &st->hlen), fr_strerror);
	st->writes += 2;
}

static void rec_free(rec_store *st)
{
	free(st->hdr);
	for (int i = 0; i < RMAX; i++)
		free(st->pt[i]);
	memset(st, 0, sizeof *st);
}

/* Load the header and the first n point records. */
static int rec_load(const rec_store *st, size_t n, fr_frontier **out, char *err, size_t errlen)
{
	int rc = fr_load_begin(out, st->hdr, st->hlen, err, errlen);
	for (size_t i = 0; !rc && i < n; i++)
		rc = fr_load_point(*out, st->pt[i], st->plen[i], err, errlen);
	if (!rc)
		rc = fr_load_end(*out, err, errlen);
	if (rc) {
		fr_free(*out);
		*out = NULL;
	}
	return rc;
}

/* insert p and record what changed */
static int rec_insert(rec_store *st, fr_frontier *fr, const fr_point *p)
{
	fr_insert_info info;
	int rc = fr_insert(fr, p, &info);
	if (!rc)
		rec_point(st, fr, info.index);
	return rc;
}

static int rec_choose(rec_store *st, fr_frontier *fr, fr_choice *ch)
{
	int rc = fr_choose(fr, NULL, ch);
	if (!rc)
		rec_point(st, fr, ch->index);
	return rc;
}

/* a record's checksum after an edit: FNV-1a 64 of the bytes before it */
static void test_records(void)
{
	char err[300];
	/* random histories: the records written change by change load back to
	 * the same frontier, which then continues the same way */
	for (int s = 0; s < 300; s++) {
		fr_opts o = { rint_(FR_AXIS__COUNT), rint_(2) ? 0.025 : 0.1, rnd() };
		fr_frontier *fr, *back = NULL;
		rec_store st;
		memset(&st, 0, sizeof st);
		CHECK_OK(fr_create(&fr, &o), fr_strerror);
		free(st.hdr);
		CHECK_OK(fr_header_encode(fr, &st.hdr, &st.hlen), fr_strerror);
		int n = s % 10 == 0 ? 0 : rint_(3 * MAXN + 1);
		fr_point pts[3 * MAXN];
		fr_choice ch;
		for (int i = 0; i < n; i++) {
			rand_point(&pts[i], i, pts, i);
			CHECK_OK(rec_insert(&st, fr, &pts[i]), fr_strerror);
			if (rint_(3) == 0)
				CHECK_OK(rec_choose(&st, fr, &ch), fr_strerror);
		}
		CHECK(st.writes <= 4 * n);
		CHECKM(rec_load(&st, (size_t)n, &back, err, sizeof err) == 0, "set %d: %s", s, err);
		if (back) {
			CHECKM(same_blob(fr, back), "set %d: loaded from records differs", s);
			fr_choice c1, c2;
			if (n)
				CHECK(fr_choose(fr, NULL, &c1) == 0 && fr_choose(back, NULL, &c2) == 0 && c1.index == c2.index);
		}
		fr_free(back);
		/* a record lost: the header's count says so */
		if (n > 1) {
			CHECK(rec_load(&st, (size_t)n - 1, &back, err, sizeof err) == FR_EFORMAT && !back &&
			      strstr(err, "header counts"));
			/* out of order */
			char *t = st.pt[0];
			size_t tl = st.plen[0];
			st.pt[0] = st.pt[1], st.plen[0] = st.plen[1];
			CHECK(rec_load(&st, (size_t)n, &back, err, sizeof err) == FR_EFORMAT && strstr(err, "expected"));
			st.pt[0] = t, st.plen[0] = tl;
		}
		rec_free(&st);
		fr_free(fr);
	}

	/* a search: restarted from its records halfway, it chooses the same
	 * parents as one that ran through */
	fr_opts o;
	fr_opts_default(&o);
	o.seed = 11;
	fr_frontier *a, *b, *t = NULL;
	rec_store st;
	memset(&st, 0, sizeof st);
	CHECK_OK(fr_create(&a, &o), fr_strerror);
	CHECK_OK(fr_create(&b, &o), fr_strerror);
	grow_like(a, 300, 3);
	for (size_t i = 0; i < 300; i++) {
		const fr_point *p = fr_point_at(a, i);
		CHECK_OK(rec_insert(&st, b, p), fr_strerror);
	}
	int same = 1;
	for (int r = 0; r < 300; r++) {
		fr_choice c1, c2;
		if (r == 150) {
			fr_free(b);
			CHECKM(rec_load(&st, fr_count(a), &b, err, sizeof err) == 0, "%s", err);
			if (!b)
				break;
		}
		if (r % 10 == 9) {
			fr_point p = mk("", 1000000 + 7919 * (uint64_t)r, 0.09 + 0.0001 * (r % 7));
			snprintf(p.id, sizeof p.id, "child%d", r);
			CHECK_OK(fr_insert(a, &p, NULL), fr_strerror);
			CHECK_OK(rec_insert(&st, b, &p), fr_strerror);
		}
		CHECK_OK(fr_choose(a, NULL, &c1), fr_strerror);
		CHECK_OK(rec_choose(&st, b, &c2), fr_strerror);
		same &= c1.index == c2.index && c1.expanded == c2.expanded;
	}
	CHECKM(same, "choices differ after a restart from records");
	CHECK(same_blob(a, b));

	/* a point record: its values back, and every damage refused */
	size_t idx = 99;
	fr_point q;
	CHECK_OK(fr_point_decode(st.pt[7], st.plen[7], &idx, &q, err, sizeof err), fr_strerror);
	const fr_point *p7 = fr_point_at(b, 7);
	CHECK(idx == 7 && !strcmp(q.id, p7->id) && !strcmp(q.parent, p7->parent) && q.macs == p7->macs &&
	      q.val_error == p7->val_error && q.expanded == p7->expanded && q.depth == p7->depth);
	char *rec = st.pt[7], *mut = malloc(st.plen[7]);
	size_t len = st.plen[7];
	for (size_t cut = 0; cut < len; cut++)
		CHECK(fr_point_decode(rec, cut, &idx, &q, err, sizeof err) == FR_EFORMAT);
	int refused = 0;
	for (size_t k = 0; k < len; k++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(mut, rec, len);
			mut[k] ^= (char)(1 << bit);
			refused += fr_point_decode(mut, len, &idx, &q, err, sizeof err) == FR_EFORMAT;
		}
	CHECKM(refused == (int)len * 8, "%d of %zu bit flips refused", refused, len * 8);
	/* a newer version, correctly sealed */
	memcpy(mut, rec, len);
	CHECK(mut[10] == FR_REC_VERSION);
	mut[10] = FR_REC_VERSION + 1;
	reseal(mut, len);
	CHECK(fr_point_decode(mut, len, &idx, &q, err, sizeof err) == FR_EVERSION && strstr(err, "version"));
	/* version 1 (its own FNV check then): refused as older */
	mut[10] = 1;
	CHECK(fr_point_decode(mut, len, &idx, &q, err, sizeof err) == FR_EVERSION &&
	      strstr(err, "frontier point record: record version 1 was written by an older petri"));
	free(mut);
	/* a header is not a point, a point not a header */
	CHECK(fr_point_decode(st.hdr, st.hlen, &idx, &q, err, sizeof err) == FR_EFORMAT && strstr(err, "magic"));
	CHECK(fr_load_begin(&t, rec, len, err, sizeof err) == FR_EFORMAT && !t && strstr(err, "magic"));
	CHECK(fr_point_encode(b, fr_count(b), &mut, &len) == FR_EINVAL && !mut);
	rec_free(&st);
	fr_free(a), fr_free(b);

	/* values out of range and duplicate ids, in well-sealed records */
	fr_frontier *x, *y;
	CHECK_OK(fr_create(&x, NULL), fr_strerror);
	CHECK_OK(fr_create(&y, NULL), fr_strerror);
	fr_point pa = mk("a", 1000, 0.25), pb = mk("b", 2000, 0.125), pc = mk("c", 3000, 0.0625);
	CHECK_OK(fr_insert(x, &pa, NULL), fr_strerror);
	CHECK_OK(fr_insert(x, &pb, NULL), fr_strerror);
	CHECK_OK(fr_insert(y, &pc, NULL), fr_strerror);
	CHECK_OK(fr_insert(y, &pa, NULL), fr_strerror);
	char *hx, *x0, *y1;
	size_t lhx, lx0, ly1;
	CHECK_OK(fr_header_encode(x, &hx, &lhx), fr_strerror);
	CHECK_OK(fr_point_encode(x, 0, &x0, &lx0), fr_strerror);
	CHECK_OK(fr_point_encode(y, 1, &y1, &ly1), fr_strerror); /* "a" again, as point 1 */
	CHECK_OK(fr_load_begin(&t, hx, lhx, err, sizeof err), fr_strerror);
	if (t) {
		CHECK_OK(fr_load_point(t, x0, lx0, err, sizeof err), fr_strerror);
		CHECK(fr_load_point(t, y1, ly1, err, sizeof err) == FR_EFORMAT && strstr(err, "duplicate"));
		fr_free(t);
	}
	/* val_error 0.25 -> 2: the first float64 0.25 in the record */
	unsigned char quarter[9] = { 0xcb, 0x3f, 0xd0 }, two[9] = { 0xcb, 0x40 };
	char *hit = NULL;
	for (size_t k = 0; k + 9 <= lx0 && !hit; k++)
		if (!memcmp(x0 + k, quarter, 9))
			hit = x0 + k;
	CHECK(hit != NULL);
	if (hit) {
		memcpy(hit, two, 9);
		reseal(x0, lx0);
		CHECK(fr_point_decode(x0, lx0, &idx, &q, err, sizeof err) == FR_EFORMAT && strstr(err, "out of range"));
	}
	free(hx), free(x0), free(y1);
	fr_free(x), fr_free(y);
}

/* The single-record format skips unknown keys, nested values included, and
 * refuses nesting deeper than it reads. */
static void test_codec_unknown_keys(void)
{
	fr_frontier *fr, *back = NULL;
	CHECK_OK(fr_create(&fr, NULL), fr_strerror);
	grow_like(fr, 40, 9);
	char *buf, err[200];
	size_t len;
	CHECK_OK(fr_encode(fr, &buf, &len), fr_strerror);
	/* [magic, version, map16 of 21 pairs]: the map header at byte 11 */
	CHECK(len > 14 && (unsigned char)buf[11] == 0xde && buf[12] == 0 && buf[13] == 21);
	unsigned char extra[] = { 0xa2, 'z', 'z', 0x92, 0x01, 0x81, 0xa1, 'a', 0x92, 0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0, 0xc0 };
	char *ext = malloc(len + sizeof extra + 16);
	memcpy(ext, buf, 14);
	ext[13] = 22;
	memcpy(ext + 14, extra, sizeof extra);
	memcpy(ext + 14 + sizeof extra, buf + 14, len - 14);
	reseal(ext, len + sizeof extra);
	CHECKM(fr_decode(&back, ext, len + sizeof extra, err, sizeof err) == 0, "%s", err);
	CHECK(back && same_blob(fr, back));
	fr_free(back);
	back = NULL;
	/* the same key holding arrays nested 12 deep */
	unsigned char deep[16] = { 0xa2, 'z', 'z' };
	for (int k = 3; k < 15; k++)
		deep[k] = 0x91;
	deep[15] = 0x01;
	memcpy(ext + 14, deep, sizeof deep);
	memcpy(ext + 14 + sizeof deep, buf + 14, len - 14);
	reseal(ext, len + sizeof deep);
	CHECK(fr_decode(&back, ext, len + sizeof deep, err, sizeof err) == FR_EFORMAT && !back && strstr(err, "malformed"));
	free(ext), free(buf);
	fr_free(fr);
}

/* ---- PNG: decode enough to look at the pixels ---- */
static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* RGB(A) 8-bit non-interlaced PNG to RGBA; returns malloc'd pixels or NULL */
static unsigned char *png_rgba(const char *path, int *w, int *h)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc((size_t)sz), *idat = malloc((size_t)sz), *raw = NULL, *out = NULL;
	size_t ni = 0;
	if (!b || !idat || fread(b, 1, (size_t)sz, f) != (size_t)sz || sz < 33 || memcmp(b, "\x89PNG\r\n\x1a\n", 8))
		goto done;
	int ct = b[25], bpp;
	*w = (int)be32(b + 16), *h = (int)be32(b + 20);
	if (b[24] != 8 || (ct != 2 && ct != 6) || b[28] != 0 || *w <= 0 || *h <= 0 || *w > 10000 || *h > 10000)
		goto done;
	bpp = ct == 6 ? 4 : 3;
	for (long p = 8; p + 12 <= sz;) {
		uint32_t l = be32(b + p);
		if ((long)l > sz - p - 12)
			break;
		if (!memcmp(b + p + 4, "IDAT", 4))
			memcpy(idat + ni, b + p + 8, l), ni += l;
		p += 12 + (long)l;
	}
	size_t stride = (size_t)*w * bpp, rl = (stride + 1) * (size_t)*h;
	uLongf dl = rl;
	raw = malloc(rl);
	out = malloc((size_t)*w * *h * 4);
	if (!raw || !out || uncompress(raw, &dl, idat, ni) != Z_OK || dl != rl) {
		free(out), out = NULL;
		goto done;
	}
	for (int y = 0; y < *h; y++) {
		unsigned char *row = raw + y * (stride + 1) + 1, *up = y ? row - (stride + 1) : NULL;
		int ft = row[-1];
		for (size_t x = 0; x < stride; x++) {
			int a = x >= (size_t)bpp ? row[x - bpp] : 0, u = up ? up[x] : 0, c = up && x >= (size_t)bpp ? up[x - bpp] : 0;
			int v = row[x];
			switch (ft) {
			case 1: v += a; break;
			case 2: v += u; break;
			case 3: v += (a + u) / 2; break;
			case 4: v += paeth(a, u, c); break;
			}
			row[x] = (unsigned char)v;
		}
		for (int x = 0; x < *w; x++) {
			unsigned char *o = out + ((size_t)y * *w + x) * 4;
			memcpy(o, row + x * bpp, 3);
			o[3] = bpp == 4 ? row[x * bpp + 3] : 255;
		}
	}
done:
	fclose(f);
	free(b), free(idat), free(raw);
	return out;
}

static void test_svg(void)
{
	fr_frontier *fr;
	CHECK_OK(fr_create(&fr, NULL), fr_strerror);
	grow_like(fr, 300, 5);
	fr_choice ch;
	for (int i = 0; i < 6; i++)
		CHECK_OK(fr_choose(fr, NULL, &ch), fr_strerror);
	fr_limits l = { 20000000, 0, 0, 0, FR_METRIC_VAL };
	size_t pick;
	CHECK_OK(fr_pick(fr, &l, &pick), fr_strerror);
	fr_svg_opts so;
	fr_svg_opts_default(&so);
	so.pick = (long)pick;
	so.title = "petri frontier <test> & friends";
	FILE *f = fopen("frontier_test.svg", "w");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_OK(fr_svg(fr, f, &so), fr_strerror);
	fclose(f);
	/* the empty frontier and a linear axis write too */
	fr_frontier *e;
	CHECK_OK(fr_create(&e, NULL), fr_strerror);
	FILE *g = fopen("frontier_empty.svg", "w");
	so.pick = -1, so.log_x = 0;
	CHECK(g && fr_svg(e, g, &so) == 0);
	if (g)
		fclose(g);
	fr_free(e);
	fr_free(fr);
	if (system("command -v rsvg-convert >/dev/null 2>&1") != 0) {
		CHECKM(0, "rsvg-convert not found: install the Debian package librsvg2-bin");
		return;
	}
	CHECK(system("rsvg-convert -o frontier_empty.png frontier_empty.svg") == 0);
	int rc = system("rsvg-convert -o frontier_test.png frontier_test.svg");
	CHECKM(rc == 0, "rsvg-convert rejected frontier_test.svg");
	int w = 0, h = 0;
	unsigned char *px = png_rgba("frontier_test.png", &w, &h);
	CHECKM(px != NULL, "frontier_test.png is not a readable RGB(A) PNG");
	if (!px)
		return;
	CHECK(w == 900 && h == 600);
	/* non-trivial: plenty of non-white pixels, the hull, band and pick colours */
	long ink = 0, hull = 0, pickc = 0, bandc = 0, parent = 0;
	for (long i = 0; i < (long)w * h; i++) {
		const unsigned char *p = px + 4 * i;
		if (p[3] > 200 && (p[0] < 235 || p[1] < 235 || p[2] < 235))
			ink++;
		if (abs(p[0] - 0x08) < 12 && abs(p[1] - 0x30) < 12 && abs(p[2] - 0x6b) < 12)
			hull++;
		if (abs(p[0] - 0xcb) < 12 && abs(p[1] - 0x18) < 12 && abs(p[2] - 0x1d) < 12)
			pickc++;
		if (abs(p[0] - 0xf1) < 12 && abs(p[1] - 0x69) < 12 && abs(p[2] - 0x13) < 12)
			parent++;
		if (p[2] > 200 && p[0] < 215 && p[0] > 150 && p[1] > 200) /* light blue band over white */
			bandc++;
	}
	printf("  PNG %dx%d: %ld ink, %ld hull, %ld band, %ld parent, %ld pick pixels\n", w, h, ink, hull, bandc,
	       parent, pickc);
	CHECK(ink > (long)w * h / 50);
	CHECK(hull > 200 && pickc > 40 && bandc > 200 && parent > 40);
	free(px);
}

int main(void)
{
	RUN(test_edge_cases);
	RUN(test_random_sets);
	RUN(test_choose);
	RUN(test_choose_rule);
	RUN(test_codec);
	RUN(test_codec_unknown_keys);
	RUN(test_records);
	RUN(test_svg);
	return check_report();
}
