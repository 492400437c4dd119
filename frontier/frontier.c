/* frontier.c - points, exact lower hull, eps-band, parent choice, pick.
 *
 * DESIGN
 * Points live in insertion order (their index is their identity and the
 * last tie-break). Three derived sets are kept up to date on every insert:
 *  - hull: vertex indices, cost ascending. Inserting p: binary search its
 *    place; if p is strictly below the hull it becomes a vertex and its
 *    neighbours are popped while they are not strictly convex (the
 *    incremental form of the monotone chain). O(log h + popped).
 *  - band: eligible indices sorted by (cost, error, index). The hull only
 *    goes down when points are added, so only members under the part of
 *    the hull that moved, [left neighbour, right neighbour], are re-checked,
 *    and a point that left never returns. O(log b + moved + memmove).
 *  - pick index, one per metric: the points that no other point beats for
 *    every possible set of limits (all four costs <= and better rank), kept
 *    sorted by rank (error, axis cost, index). Pick under any limits is the
 *    first member that satisfies them. Insert: members ranked before p may
 *    beat p, p may beat members ranked after it. O(members).
 * Keys are integers (see frontier.h) so hull and band are exact and the
 * same whatever the insertion order; fr_rebuild() recomputes all three
 * from scratch with a sort and the monotone chain.
 */
#include "frontier_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *fr_strerror(int err)
{
	switch (err) {
	case FR_OK: return "ok";
	case FR_EINVAL: return "invalid argument";
	case FR_ENOMEM: return "out of memory";
	case FR_EEXIST: return "a point with this id already exists";
	case FR_ENOTFOUND: return "no point with this id";
	case FR_EEMPTY: return "the frontier has no points";
	case FR_ENOPARENT: return "no point is eligible as a parent";
	case FR_ENOFIT: return "no model satisfies the limits";
	case FR_EFORMAT: return "malformed frontier record";
	case FR_EVERSION: return "unsupported frontier record version";
	case FR_EIO: return "write failed";
	default: return "unknown frontier error";
	}
}

static const char *axis_names[FR_AXIS__COUNT] = {
	[FR_AXIS_MACS] = "macs",
	[FR_AXIS_PARAMS] = "params",
	[FR_AXIS_MEMORY] = "memory",
	[FR_AXIS_LATENCY] = "latency",
};
_Static_assert(sizeof axis_names / sizeof axis_names[0] == FR_AXIS__COUNT, "axis names");

const char *fr_axis_name(int axis)
{
	return axis >= 0 && axis < FR_AXIS__COUNT ? axis_names[axis] : "?";
}

int fr_axis_from_name(const char *name)
{
	for (int i = 0; name && i < FR_AXIS__COUNT; i++)
		if (!strcmp(name, axis_names[i]))
			return i;
	return -1;
}

void fr_opts_default(fr_opts *o)
{
	o->axis = FR_AXIS_MACS;
	o->eps = 0.025;
	o->seed = 1;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int fr_create(fr_frontier **out, const fr_opts *o)
{
	*out = NULL;
	fr_opts d;
	fr_opts_default(&d);
	if (o)
		d = *o;
	if (d.axis < 0 || d.axis >= FR_AXIS__COUNT || !(d.eps >= 0 && d.eps <= 1))
		return FR_EINVAL;
	fr_frontier *fr = calloc(1, sizeof *fr);
	if (!fr)
		return FR_ENOMEM;
	fr->o = d;
	fr->f = (int64_t)llround((1 + d.eps) * (double)FR_EPS_ONE);
	fr->rng = d.seed;
	*out = fr;
	return 0;
}

void fr_free(fr_frontier *fr)
{
	if (!fr)
		return;
	free(fr->pts), free(fr->kx), free(fr->ky), free(fr->ht);
	free(fr->hull.v), free(fr->band), free(fr->pm[0]), free(fr->pm[1]);
	free(fr);
}

fr_opts fr_get_opts(const fr_frontier *fr) { return fr->o; }
size_t fr_count(const fr_frontier *fr) { return fr->n; }

const fr_point *fr_point_at(const fr_frontier *fr, size_t i)
{
	return i < fr->n ? &fr->pts[i] : NULL;
}

/* ---- keys ---- */
static int64_t key_x(int axis, const fr_point *p)
{
	switch (axis) {
	case FR_AXIS_PARAMS: return (int64_t)p->params;
	case FR_AXIS_MEMORY: return (int64_t)p->mem_bytes;
	case FR_AXIS_LATENCY: return (int64_t)llround(p->latency_ms * 1e6);
	default: return (int64_t)p->macs;
	}
}

static int64_t key_y(double err) { return (int64_t)llround(err * FR_ERR_ONE); }

double fr_cost(const fr_frontier *fr, const fr_point *p)
{
	switch (fr->o.axis) {
	case FR_AXIS_PARAMS: return (double)p->params;
	case FR_AXIS_MEMORY: return (double)p->mem_bytes;
	case FR_AXIS_LATENCY: return p->latency_ms;
	default: return (double)p->macs;
	}
}

static size_t id_len(const char *s)
{
	const char *z = memchr(s, 0, FR_IDLEN);
	return z ? (size_t)(z - s) : FR_IDLEN;
}

int fr__validate_point(const fr_point *p)
{
	size_t l = id_len(p->id);
	if (l == 0 || l >= FR_IDLEN || id_len(p->parent) >= FR_IDLEN)
		return FR_EINVAL;
	if (p->macs > FR_COST_MAX || p->params > FR_COST_MAX || p->mem_bytes > FR_COST_MAX)
		return FR_EINVAL;
	if (!(p->latency_ms >= 0 && p->latency_ms * 1e6 <= (double)FR_COST_MAX))
		return FR_EINVAL;
	if (!(p->val_error >= 0 && p->val_error <= 1))
		return FR_EINVAL;
	if (!isnan(p->test_acc) && !(p->test_acc >= 0 && p->test_acc <= 1))
		return FR_EINVAL;
	if (isinf(p->val_loss) || p->depth < 0 || p->expanded < 0)
		return FR_EINVAL;
	return 0;
}

/* ---- id hash (open addressing, linear probing) ---- */
static uint64_t hash_id(const char *s) { return fr__fnv(s, strlen(s)); }

static size_t *hash_slot(const fr_frontier *fr, const char *id)
{
	size_t m = fr->hcap - 1;
	for (size_t i = hash_id(id) & m;; i = (i + 1) & m) {
		size_t e = fr->ht[i];
		if (!e || !strcmp(fr->pts[e - 1].id, id))
			return &fr->ht[i];
	}
}

static int hash_grow(fr_frontier *fr, size_t need)
{
	if (fr->hcap && need * 2 <= fr->hcap)
		return 0;
	size_t cap = fr->hcap ? fr->hcap : 64;
	while (cap < need * 2)
		cap *= 2;
	size_t *old = fr->ht, ocap = fr->hcap;
	if (!(fr->ht = calloc(cap, sizeof *fr->ht))) {
		fr->ht = old;
		return FR_ENOMEM;
	}
	fr->hcap = cap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			*hash_slot(fr, fr->pts[old[i] - 1].id) = old[i];
	free(old);
	return 0;
}

int fr_find(const fr_frontier *fr, const char *id, size_t *index)
{
	if (!id || !fr->n || id_len(id) >= FR_IDLEN)
		return FR_ENOTFOUND;
	size_t e = *hash_slot(fr, id);
	if (!e)
		return FR_ENOTFOUND;
	if (index)
		*index = e - 1;
	return 0;
}

/* ---- storage ---- */
static int grow_arr(void **p, size_t elem, size_t cap)
{
	void *q = realloc(*p, elem * cap);
	if (!q)
		return FR_ENOMEM;
	*p = q;
	return 0;
}

/* Make room for n elements of elem bytes in *arr (capacity *cap), doubling. */
static int reserve(void **arr, size_t *cap, size_t elem, size_t n)
{
	if (n <= *cap)
		return 0;
	size_t c = *cap ? *cap : 16;
	while (c < n)
		c *= 2;
	if (grow_arr(arr, elem, c))
		return FR_ENOMEM;
	*cap = c;
	return 0;
}

int fr__vec_reserve(fr_vec *v, size_t n) { return reserve((void **)&v->v, &v->cap, sizeof *v->v, n); }
int fr__band_reserve(fr_frontier *fr, size_t n) { return reserve((void **)&fr->band, &fr->bcap, sizeof *fr->band, n); }

int fr__pm_reserve(fr_frontier *fr, int m, size_t n)
{
	return reserve((void **)&fr->pm[m], &fr->pmcap[m], sizeof *fr->pm[m], n);
}

int fr_reserve(fr_frontier *fr, size_t n)
{
	if (n > fr->cap) {
		if (n > SIZE_MAX / sizeof *fr->pts / 2)
			return FR_ENOMEM;
		if (grow_arr((void **)&fr->pts, sizeof *fr->pts, n) ||
		    grow_arr((void **)&fr->kx, sizeof *fr->kx, n) ||
		    grow_arr((void **)&fr->ky, sizeof *fr->ky, n))
			return FR_ENOMEM;
		fr->cap = n;
	}
	return hash_grow(fr, n);
}

/* Store p at index n with its keys and hash entry; derived sets untouched. */
int fr__append(fr_frontier *fr, const fr_point *p)
{
	int rc = fr__validate_point(p);
	if (rc)
		return rc;
	if (fr->n && *hash_slot(fr, p->id))
		return FR_EEXIST;
	if (fr->n == fr->cap && (rc = fr_reserve(fr, fr->cap ? fr->cap * 2 : 64)))
		return rc;
	if ((rc = hash_grow(fr, fr->n + 1)))
		return rc;
	size_t i = fr->n;
	fr_point *d = &fr->pts[i];
	*d = *p;
	/* normalise the strings: NUL-padded, so encode writes no stray bytes */
	memset(d->id, 0, FR_IDLEN), memset(d->parent, 0, FR_IDLEN);
	memcpy(d->id, p->id, id_len(p->id));
	memcpy(d->parent, p->parent, id_len(p->parent));
	fr->kx[i] = key_x(fr->o.axis, d);
	fr->ky[i] = key_y(d->val_error);
	fr->n = i + 1;
	*hash_slot(fr, d->id) = i + 1;
	return 0;
}

/* ---- exact geometry ---- */

/* (a - o) x (b - o): > 0 when o, a, b turn counter-clockwise (strictly convex
 * for a lower hull traversed left to right). |dx| < 2^63, |dy| <= 2^32. */
fr_i128 fr__cross(const fr_frontier *fr, size_t o, size_t a, size_t b)
{
	fr_i128 ax = (fr_i128)fr->kx[a] - fr->kx[o], ay = (fr_i128)fr->ky[a] - fr->ky[o];
	fr_i128 bx = (fr_i128)fr->kx[b] - fr->kx[o], by = (fr_i128)fr->ky[b] - fr->ky[o];
	return ax * by - ay * bx;
}

/* last hull position with kx <= x, or (size_t)-1 */
static size_t hull_floor(const fr_frontier *fr, int64_t x)
{
	size_t lo = 0, hi = fr->hull.n; /* answer in [lo, hi) + 1 */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fr->kx[fr->hull.v[mid]] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

/* y * 2^24 <= f * hull(x), exactly, with k = hull_floor(x) (or -1).
 * y <= 2^32, dx <= 2^62, f <= 2^25: every product stays below 2^120. */
static int in_band_at(const fr_frontier *fr, size_t k, int64_t x, int64_t y)
{
	const size_t *h = fr->hull.v;
	if (k == (size_t)-1)
		k = 0;
	if (k + 1 >= fr->hull.n || fr->kx[h[k]] == x || x < fr->kx[h[0]])
		return (fr_i128)y * FR_EPS_ONE <= (fr_i128)fr->f * fr->ky[h[k]];
	size_t a = h[k], b = h[k + 1];
	/* fast path in doubles (relative error ~1e-15) when far from the edge */
	double ddx = (double)(fr->kx[b] - fr->kx[a]), ay = (double)fr->ky[a] * ddx;
	double lhs = (double)y * ddx * FR_EPS_ONE;
	double rhs = (double)fr->f * (ay + (double)(fr->ky[b] - fr->ky[a]) * (double)(x - fr->kx[a]));
	double tol = 1e-9 * (lhs + (double)fr->f * ay);
	if (rhs - lhs > tol)
		return 1;
	if (lhs - rhs > tol)
		return 0;
	fr_i128 dx = (fr_i128)fr->kx[b] - fr->kx[a];
	fr_i128 num = (fr_i128)fr->ky[a] * dx + ((fr_i128)fr->ky[b] - fr->ky[a]) * ((fr_i128)x - fr->kx[a]);
	return (fr_i128)y * dx * FR_EPS_ONE <= (fr_i128)fr->f * num;
}

/* The hull must be non-empty. */
int fr__in_band(const fr_frontier *fr, int64_t x, int64_t y)
{
	return in_band_at(fr, hull_floor(fr, x), x, y);
}

int fr_hull_at(const fr_frontier *fr, double cost, double *error)
{
	if (!fr->hull.n)
		return FR_EEMPTY;
	if (isnan(cost))
		return FR_EINVAL;
	const size_t *h = fr->hull.v;
	size_t nh = fr->hull.n, k = 0;
	while (k + 1 < nh && fr_cost(fr, &fr->pts[h[k + 1]]) <= cost)
		k++;
	const fr_point *a = &fr->pts[h[k]];
	double ca = fr_cost(fr, a);
	if (k + 1 >= nh || cost <= ca) {
		*error = a->val_error;
		return 0;
	}
	const fr_point *b = &fr->pts[h[k + 1]];
	double cb = fr_cost(fr, b);
	*error = a->val_error + (b->val_error - a->val_error) * (cost - ca) / (cb - ca);
	return 0;
}

/* band order: (kx, ky, index) */
int fr__band_less(const fr_frontier *fr, size_t a, size_t b)
{
	if (fr->kx[a] != fr->kx[b])
		return fr->kx[a] < fr->kx[b];
	if (fr->ky[a] != fr->ky[b])
		return fr->ky[a] < fr->ky[b];
	return a < b;
}

/* first band position whose kx >= x */
static size_t band_lower(const fr_frontier *fr, int64_t x)
{
	size_t lo = 0, hi = fr->nb;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fr->band[mid].x < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t band_find(const fr_frontier *fr, size_t i)
{
	size_t lo = 0, hi = fr->nb;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fr__band_less(fr, fr->band[mid].idx, i))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int fr_is_eligible(const fr_frontier *fr, size_t i)
{
	if (i >= fr->n)
		return 0;
	size_t k = band_find(fr, i);
	return k < fr->nb && fr->band[k].idx == i;
}

/* ---- incremental hull and band ---- */

/* Point i is strictly below the (non-empty) hull, so it would be a vertex;
 * *pos = the first vertex costlier than i. */
int fr__below(const fr_frontier *fr, size_t i, size_t *pos)
{
	const size_t *h = fr->hull.v;
	size_t nh = fr->hull.n;
	int64_t x = fr->kx[i], y = fr->ky[i];
	*pos = hull_floor(fr, x) + 1;
	if (*pos == 0)
		return 1; /* cheaper than every vertex */
	size_t a = h[*pos - 1];
	if (fr->kx[a] == x || *pos == nh)
		return y < fr->ky[a];
	return fr__cross(fr, a, h[*pos], i) < 0;
}

/* Insert point i into the hull if it is strictly below it. On a change,
 * [*lx, *rx] is the cost range where the hull moved. Capacity reserved. */
static int hull_insert(fr_frontier *fr, size_t i, size_t *removed, int64_t *lx, int64_t *rx)
{
	size_t *h = fr->hull.v, nh = fr->hull.n;
	int64_t x = fr->kx[i], y = fr->ky[i];
	*removed = 0;
	if (nh == 0) {
		h[0] = i;
		fr->hull.n = 1;
		*lx = INT64_MIN, *rx = INT64_MAX;
		return 1;
	}
	size_t pos;
	if (!fr__below(fr, i, &pos))
		return 0;
	size_t l = pos, r = pos;
	if (l > 0 && fr->kx[h[l - 1]] == x)
		l--; /* same cost, lower error: replaced */
	while (l >= 2 && fr__cross(fr, h[l - 2], h[l - 1], i) <= 0)
		l--;
	while (nh - r >= 2 && fr__cross(fr, i, h[r], h[r + 1]) <= 0)
		r++;
	if (r + 1 == nh && fr->ky[h[r]] >= y)
		r++; /* the last vertex is no better than i: truncated */
	*lx = l > 0 ? fr->kx[h[l - 1]] : INT64_MIN;
	*rx = r < nh ? fr->kx[h[r]] : INT64_MAX;
	*removed = (pos - l) + (r - pos);
	memmove(h + l + 1, h + r, (nh - r) * sizeof *h);
	h[l] = i;
	fr->hull.n = l + 1 + (nh - r);
	return 1;
}

/* Re-check band members with cost in [lx, rx]; returns how many left.
 * Members are sorted by cost, so the hull segment is found by walking. */
static size_t band_recheck(fr_frontier *fr, int64_t lx, int64_t rx)
{
	fr_be *b = fr->band;
	size_t nb = fr->nb, nh = fr->hull.n;
	const size_t *h = fr->hull.v;
	size_t k = band_lower(fr, lx), w = k, j = (size_t)-1;
	if (k < nb)
		j = hull_floor(fr, b[k].x);
	for (; k < nb && b[k].x <= rx; k++) {
		while (j + 1 < nh && fr->kx[h[j + 1]] <= b[k].x) /* (size_t)-1 + 1 == 0 */
			j++;
		if (in_band_at(fr, j, b[k].x, b[k].y))
			b[w++] = b[k];
	}
	size_t gone = k - w;
	if (gone)
		memmove(b + w, b + k, (nb - k) * sizeof *b);
	fr->nb = nb - gone;
	return gone;
}

static void band_add(fr_frontier *fr, size_t i)
{
	size_t k = band_find(fr, i);
	memmove(fr->band + k + 1, fr->band + k, (fr->nb - k) * sizeof *fr->band);
	fr->band[k] = (fr_be){ fr->kx[i], fr->ky[i], i };
	fr->nb++;
}

/* ---- pick index ---- */
void fr__pm_fill(const fr_frontier *fr, int m, size_t i, fr_pm *e)
{
	const fr_point *p = &fr->pts[i];
	e->err = m == FR_METRIC_VAL ? p->val_error : isnan(p->test_acc) ? INFINITY : 1.0 - p->test_acc;
	e->ax = fr->kx[i];
	e->macs = p->macs, e->params = p->params, e->mem = p->mem_bytes;
	e->lat = p->latency_ms > 0 ? p->latency_ms : INFINITY;
	e->idx = i;
}

int fr__pm_less(const fr_pm *a, const fr_pm *b)
{
	if (a->err != b->err)
		return a->err < b->err;
	if (a->ax != b->ax)
		return a->ax < b->ax;
	return a->idx < b->idx;
}

/* every cost of a <= b's, so a fits whatever limits b fits */
static int pm_covers(const fr_pm *a, const fr_pm *b)
{
	return a->macs <= b->macs && a->params <= b->params && a->mem <= b->mem &&
	       a->lat <= b->lat && a->err <= b->err;
}

/* Add point i to index m: dropped when a member ranked before it covers it;
 * otherwise members ranked after it that it covers are removed. */
static void pm_insert(fr_frontier *fr, int m, size_t i)
{
	fr_pm e, *v = fr->pm[m];
	size_t n = fr->npm[m];
	fr__pm_fill(fr, m, i, &e);
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fr__pm_less(&v[mid], &e))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = 0; k < lo; k++)
		if (pm_covers(&v[k], &e))
			return;
	size_t w = lo;
	for (size_t k = lo; k < n; k++)
		if (!pm_covers(&e, &v[k]))
			v[w++] = v[k];
	/* kept members after lo now occupy [lo, w); shift by one for e */
	memmove(v + lo + 1, v + lo, (w - lo) * sizeof *v);
	v[lo] = e;
	fr->npm[m] = w + 1;
}

/* ---- insert ---- */
int fr_insert(fr_frontier *fr, const fr_point *p, fr_insert_info *info)
{
	if (!p)
		return FR_EINVAL;
	/* reserve everything first so a failure leaves no half-inserted point */
	if (fr__vec_reserve(&fr->hull, fr->hull.n + 1) || fr__band_reserve(fr, fr->nb + 1) ||
	    fr__pm_reserve(fr, 0, fr->npm[0] + 1) || fr__pm_reserve(fr, 1, fr->npm[1] + 1))
		return FR_ENOMEM;
	int rc = fr__append(fr, p);
	if (rc)
		return rc;
	size_t i = fr->n - 1, hrem = 0, brem = 0;
	int64_t lx, rx;
	int on = hull_insert(fr, i, &hrem, &lx, &rx);
	if (on)
		brem = band_recheck(fr, lx, rx);
	int elig = on || fr__in_band(fr, fr->kx[i], fr->ky[i]);
	if (elig)
		band_add(fr, i);
	pm_insert(fr, FR_METRIC_VAL, i);
	pm_insert(fr, FR_METRIC_TEST, i);
	if (info) {
		info->index = i;
		info->on_hull = on;
		info->eligible = elig;
		info->hull_removed = hrem;
		info->band_removed = brem;
	}
	return 0;
}

size_t fr_hull(const fr_frontier *fr, size_t *idx, size_t cap)
{
	for (size_t k = 0; k < fr->hull.n && k < cap; k++)
		idx[k] = fr->hull.v[k];
	return fr->hull.n;
}

size_t fr_band(const fr_frontier *fr, size_t *idx, size_t cap)
{
	for (size_t k = 0; k < fr->nb && k < cap; k++)
		idx[k] = fr->band[k].idx;
	return fr->nb;
}

void fr_get_stats(const fr_frontier *fr, fr_stats *s)
{
	s->points = fr->n, s->hull = fr->hull.n, s->band = fr->nb;
	s->pick_val = fr->npm[0], s->pick_test = fr->npm[1];
	s->choices = fr->choices;
}

/* ---- rebuild from all points ---- */
#define PM_BLOCK 32 /* pick index rebuild: members per block of least costs */
static _Thread_local const fr_frontier *sort_fr; /* qsort has no context argument in C11 */

static int cmp_band(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	return fr__band_less(sort_fr, i, j) ? -1 : fr__band_less(sort_fr, j, i) ? 1 : 0;
}

static int cmp_pm(const void *a, const void *b)
{
	return fr__pm_less(a, b) ? -1 : fr__pm_less(b, a) ? 1 : 0;
}

int fr_rebuild(fr_frontier *fr)
{
	size_t n = fr->n;
	size_t *ord = malloc((n ? n : 1) * sizeof *ord);
	fr_pm *tmp = malloc((n ? n : 1) * sizeof *tmp);
	fr_pm *least = malloc((n / PM_BLOCK + 1) * sizeof *least); /* per block of members: each cost's least */
	if (!ord || !tmp || !least || fr__vec_reserve(&fr->hull, n) || fr__band_reserve(fr, n) ||
	    fr__pm_reserve(fr, 0, n) || fr__pm_reserve(fr, 1, n)) {
		free(ord), free(tmp), free(least);
		return FR_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		ord[i] = i;
	sort_fr = fr;
	qsort(ord, n, sizeof *ord, cmp_band);
	sort_fr = NULL;
	/* monotone chain, lower hull, one point per cost */
	size_t *h = fr->hull.v, nh = 0;
	for (size_t k = 0; k < n; k++) {
		size_t i = ord[k];
		if (nh && fr->kx[h[nh - 1]] == fr->kx[i])
			continue;
		while (nh >= 2 && fr__cross(fr, h[nh - 2], h[nh - 1], i) <= 0)
			nh--;
		h[nh++] = i;
	}
	/* keep the decreasing part: up to the cheapest point of lowest error */
	for (size_t k = 0; k + 1 < nh; k++)
		if (fr->ky[h[k + 1]] >= fr->ky[h[k]]) {
			nh = k + 1;
			break;
		}
	fr->hull.n = nh;
	fr->nb = 0;
	for (size_t k = 0; k < n; k++)
		if (fr__in_band(fr, fr->kx[ord[k]], fr->ky[ord[k]]))
			fr->band[fr->nb++] = (fr_be){ fr->kx[ord[k]], fr->ky[ord[k]], ord[k] };
	for (int m = 0; m < 2; m++) {
		for (size_t i = 0; i < n; i++)
			fr__pm_fill(fr, m, i, &tmp[i]);
		qsort(tmp, n, sizeof *tmp, cmp_pm);
		size_t w = 0, hint = 0;
		for (size_t k = 0; k < n; k++) {
			fr_pm *v = fr->pm[m];
			const fr_pm *e = &tmp[k];
			/* the member that covered the last point first (neighbours in
			 * rank order have similar costs), then the blocks whose least
			 * costs could cover e */
			int covered = w > 0 && pm_covers(&v[hint], e);
			for (size_t b = 0; !covered && b * PM_BLOCK < w; b++) {
				if (!pm_covers(&least[b], e))
					continue;
				for (size_t j = b * PM_BLOCK; !covered && j < w && j < (b + 1) * PM_BLOCK; j++)
					if ((covered = pm_covers(&v[j], e)))
						hint = j;
			}
			if (covered)
				continue;
			fr_pm *l = &least[w / PM_BLOCK];
			if (w % PM_BLOCK == 0)
				*l = *e;
			l->macs = e->macs < l->macs ? e->macs : l->macs;
			l->params = e->params < l->params ? e->params : l->params;
			l->mem = e->mem < l->mem ? e->mem : l->mem;
			l->lat = fmin(e->lat, l->lat), l->err = fmin(e->err, l->err);
			v[w++] = *e;
		}
		fr->npm[m] = w;
	}
	free(ord), free(tmp), free(least);
	return 0;
}

/* ---- parent choice ---- */
static void fmt_cost(char *b, size_t cap, int axis, double v)
{
	static const char *unit[FR_AXIS__COUNT] = { "MACs", "params", "B", "ms" };
	if (axis == FR_AXIS_LATENCY)
		snprintf(b, cap, "%.3g ms", v);
	else if (v >= 1e9)
		snprintf(b, cap, "%.4gG %s", v / 1e9, unit[axis]);
	else if (v >= 1e6)
		snprintf(b, cap, "%.4gM %s", v / 1e6, unit[axis]);
	else if (v >= 1e3)
		snprintf(b, cap, "%.4gk %s", v / 1e3, unit[axis]);
	else
		snprintf(b, cap, "%.4g %s", v, unit[axis]);
}

int fr_choose(fr_frontier *fr, const fr_ceilings *c, fr_choice *out)
{
	memset(out, 0, sizeof *out);
	fr_ceilings none = { 0, 0 };
	if (!c)
		c = &none;
	if (c->max_depth < 0)
		return FR_EINVAL;
	if (!fr->n) {
		snprintf(out->reason, sizeof out->reason, "no parent: the frontier is empty");
		return FR_EEMPTY;
	}
	const fr_be *b = fr->band;
	size_t nb = fr->nb, top = nb, seen = 0, pick = (size_t)-1;
	/* the band is sorted by axis cost: on the MACs axis the ceiling is a cut */
	if (c->max_macs && c->max_macs < FR_COST_MAX && fr->o.axis == FR_AXIS_MACS)
		top = band_lower(fr, (int64_t)c->max_macs + 1);
	int pass;
	for (pass = 1; pass <= FR_PASSES && pick == (size_t)-1; pass++) {
		for (size_t k = top; k-- > 0;) {
			const fr_point *p = &fr->pts[b[k].idx];
			if ((c->max_macs && p->macs > c->max_macs) || (c->max_depth && p->depth >= c->max_depth))
				continue;
			seen++;
			double u = (double)(splitmix(&fr->rng) >> 11) * 0x1p-53;
			if (u * (p->expanded + 1.0) < 1.0) {
				pick = b[k].idx;
				break;
			}
		}
		if (!seen) { /* nothing passes the ceilings: say why */
			size_t over_macs = 0, too_deep = 0;
			for (size_t k = 0; k < nb; k++) {
				const fr_point *p = &fr->pts[b[k].idx];
				if (c->max_macs && p->macs > c->max_macs)
					over_macs++;
				else
					too_deep++;
			}
			snprintf(out->reason, sizeof out->reason,
				 "no eligible parent: %zu in the band (eps %.3g); %zu over the MACs ceiling %llu, "
				 "%zu at the depth ceiling %d",
				 nb, fr->o.eps, over_macs, (unsigned long long)c->max_macs, too_deep, c->max_depth);
			return FR_ENOPARENT;
		}
	}
	pass--;
	int fallback = pick == (size_t)-1;
	if (fallback) {
		for (size_t k = top; k-- > 0;) {
			const fr_point *p = &fr->pts[b[k].idx];
			if ((c->max_macs && p->macs > c->max_macs) || (c->max_depth && p->depth >= c->max_depth))
				continue;
			if (pick == (size_t)-1 || p->expanded < fr->pts[pick].expanded)
				pick = b[k].idx;
		}
	}
	fr_point *p = &fr->pts[pick];
	double hull_err = 0, cost = fr_cost(fr, p);
	fr_hull_at(fr, cost, &hull_err);
	char cs[48], ex[96] = "";
	fmt_cost(cs, sizeof cs, fr->o.axis, cost);
	if (c->max_macs || c->max_depth)
		snprintf(ex, sizeof ex, " (ceilings: %llu MACs, depth %d)", (unsigned long long)c->max_macs,
			 c->max_depth);
	if (fallback)
		snprintf(out->reason, sizeof out->reason,
			 "%s: error %.2f%% within %.3g of the hull (%.2f%%) at %s; none accepted in %d passes "
			 "over %zu band models, so the eligible one expanded fewest times (%d)%s",
			 p->id, 100 * p->val_error, fr->o.eps, 100 * hull_err, cs, FR_PASSES, nb, p->expanded, ex);
	else
		snprintf(out->reason, sizeof out->reason,
			 "%s: error %.2f%% within %.3g of the hull (%.2f%%) at %s; expanded %d times before, "
			 "accepted with p=1/%d as eligible model %zu scanned from the most costly (pass %d, %zu in band)%s",
			 p->id, 100 * p->val_error, fr->o.eps, 100 * hull_err, cs, p->expanded, p->expanded + 1,
			 seen, pass, nb, ex);
	p->expanded++;
	fr->choices++;
	out->index = pick;
	memcpy(out->id, p->id, FR_IDLEN);
	out->expanded = p->expanded;
	return 0;
}

/* ---- pick ---- */
int fr_pick(const fr_frontier *fr, const fr_limits *l, size_t *index)
{
	if (!l || (l->metric != FR_METRIC_VAL && l->metric != FR_METRIC_TEST) ||
	    !(l->max_latency_ms >= 0))
		return FR_EINVAL;
	if (!fr->n)
		return FR_EEMPTY;
	uint64_t mm = l->max_macs ? l->max_macs : UINT64_MAX;
	uint64_t mp = l->max_params ? l->max_params : UINT64_MAX;
	uint64_t mb = l->max_mem_bytes ? l->max_mem_bytes : UINT64_MAX;
	double ml = l->max_latency_ms > 0 ? l->max_latency_ms : INFINITY;
	const fr_pm *v = fr->pm[l->metric];
	size_t n = fr->npm[l->metric];
	for (size_t k = 0; k < n; k++)
		if (v[k].macs <= mm && v[k].params <= mp && v[k].mem <= mb && v[k].lat <= ml) {
			*index = v[k].idx;
			return 0;
		}
	*index = fr->hull.v[0]; /* the cheapest point on the axis */
	return FR_ENOFIT;
}
