/* fr_codec.c - frontier state as one MessagePack record.
 *
 * Record: ["PETRIFRT", version, map, check] (nn/rec's CRC-32C), map keys:
 *   "axis" int   "eps" float64   "seed" uint   "rng" uint   "choices" uint   "n" uint
 *   point columns, n entries each, raw little-endian bin:
 *   "id" "parent"  bin: n NUL-terminated strings, one after another
 *   "macs" "params" "mem"  bin: uint64      "latency" "val_error" "val_loss" "test_acc"  bin: float64
 *   "depth" "expanded"  bin: int32
 *   derived sets, bin of uint64 indices: "hull", "band", "pick_val", "pick_test"
 * Columns keep msgpack-c's object tree tiny whatever the number of points.
 * Unknown keys are skipped; a newer version is refused.
 *
 * Decode checks the bytes with nn/rec's bounds-checked reader before
 * msgpack-c unpacks (columns stay in the buffer), re-validates every point (as fr_insert does), rejects duplicate
 * ids, and checks the stored sets against the points without re-deriving
 * them (no sort): indices in range and in order, hull strictly decreasing
 * and strictly convex with no point below it, the band holding exactly the
 * points inside it: O(n log h). The pick index is checked for range and
 * order only (re-deriving it is O(n * members); fr_rebuild() does).
 */
#include "frontier_impl.h"

#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "columns are stored little-endian");

/* ---- encode ---- */
static void pk_key(msgpack_packer *pk, const char *k)
{
	msgpack_pack_str(pk, strlen(k));
	msgpack_pack_str_body(pk, k, strlen(k));
}

/* a column of n fixed-size values, each read at base + i * stride */
static void pk_col(msgpack_packer *pk, const char *k, const void *base, size_t stride, size_t size, size_t n)
{
	char chunk[4096];
	size_t used = 0;
	pk_key(pk, k);
	msgpack_pack_bin(pk, n * size);
	for (size_t i = 0; i < n; i++) {
		memcpy(chunk + used, (const char *)base + i * stride, size);
		if ((used += size) + size > sizeof chunk) {
			msgpack_pack_bin_body(pk, chunk, used);
			used = 0;
		}
	}
	if (used)
		msgpack_pack_bin_body(pk, chunk, used);
}

static void pk_strs(msgpack_packer *pk, const char *k, const fr_point *pts, size_t off, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += strlen((const char *)&pts[i] + off) + 1;
	pk_key(pk, k);
	msgpack_pack_bin(pk, total);
	for (size_t i = 0; i < n; i++) {
		const char *s = (const char *)&pts[i] + off;
		msgpack_pack_bin_body(pk, s, strlen(s) + 1);
	}
}

static void pk_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
	pk_key(pk, k);
	msgpack_pack_uint64(pk, v);
}

int fr_encode(const fr_frontier *fr, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	nn_rec_enc e;
	nn_rec_begin(&e, FR_MAGIC, FR_VERSION, 1); /* [magic, version, map] */
	msgpack_packer *pk = &e.pk;
	size_t n = fr->n;
	const fr_point *p = fr->pts;
	msgpack_pack_map(pk, 21);
	pk_u64(pk, "axis", (uint64_t)fr->o.axis);
	pk_key(pk, "eps");
	msgpack_pack_double(pk, fr->o.eps);
	pk_u64(pk, "seed", fr->o.seed);
	pk_u64(pk, "rng", fr->rng);
	pk_u64(pk, "choices", fr->choices);
	pk_u64(pk, "n", n);
	pk_strs(pk, "id", p, offsetof(fr_point, id), n);
	pk_strs(pk, "parent", p, offsetof(fr_point, parent), n);
	pk_col(pk, "macs", n ? &p->macs : NULL, sizeof *p, 8, n);
	pk_col(pk, "params", n ? &p->params : NULL, sizeof *p, 8, n);
	pk_col(pk, "mem", n ? &p->mem_bytes : NULL, sizeof *p, 8, n);
	pk_col(pk, "latency", n ? &p->latency_ms : NULL, sizeof *p, 8, n);
	pk_col(pk, "val_error", n ? &p->val_error : NULL, sizeof *p, 8, n);
	pk_col(pk, "val_loss", n ? &p->val_loss : NULL, sizeof *p, 8, n);
	pk_col(pk, "test_acc", n ? &p->test_acc : NULL, sizeof *p, 8, n);
	pk_col(pk, "depth", n ? &p->depth : NULL, sizeof *p, 4, n);
	pk_col(pk, "expanded", n ? &p->expanded : NULL, sizeof *p, 4, n);
	_Static_assert(sizeof(size_t) == 8, "indices are stored as uint64");
	pk_col(pk, "hull", fr->hull.v, sizeof(size_t), 8, fr->hull.n);
	pk_col(pk, "band", fr->nb ? &fr->band[0].idx : NULL, sizeof(fr_be), 8, fr->nb);
	pk_col(pk, "pick_val", fr->npm[0] ? &fr->pm[0][0].idx : NULL, sizeof(fr_pm), 8, fr->npm[0]);
	pk_col(pk, "pick_test", fr->npm[1] ? &fr->pm[1][0].idx : NULL, sizeof(fr_pm), 8, fr->npm[1]);
	return nn_rec_finish(&e, buf, len) ? FR_ENOMEM : 0;
}

/* ---- decode ---- */

/* The fields of the record's map that decode reads; a field of the wrong
 * type counts as missing. Unknown keys are skipped. */
enum { C_ID, C_PARENT, C_MACS, C_PARAMS, C_MEM, C_LAT, C_VERR, C_VLOSS, C_TACC, C_DEPTH, C_EXP, C_HULL, C_BAND,
       C_PICKV, C_PICKT, C__COUNT };
enum { U_AXIS, U_SEED, U_RNG, U_CHOICES, U_N, U__COUNT };
static const char *const col_names[C__COUNT] = {
	[C_ID] = "id", [C_PARENT] = "parent", [C_MACS] = "macs", [C_PARAMS] = "params", [C_MEM] = "mem",
	[C_LAT] = "latency", [C_VERR] = "val_error", [C_VLOSS] = "val_loss", [C_TACC] = "test_acc",
	[C_DEPTH] = "depth", [C_EXP] = "expanded", [C_HULL] = "hull", [C_BAND] = "band", [C_PICKV] = "pick_val",
	[C_PICKT] = "pick_test",
};
static const char *const u64_names[U__COUNT] = {
	[U_AXIS] = "axis", [U_SEED] = "seed", [U_RNG] = "rng", [U_CHOICES] = "choices", [U_N] = "n",
};

typedef struct {
	const char *col[C__COUNT]; /* bin bodies, NULL when missing */
	size_t coln[C__COUNT];
	uint64_t u[U__COUNT];
	int have_u[U__COUNT];
	double eps;
	int have_eps;
} fields;

static int name_is(const msgpack_object *k, const char *name)
{
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(name) &&
	       !memcmp(k->via.str.ptr, name, k->via.str.size);
}

/* Read the body map's pairs into f (nn_rec_open has bounded its nesting). */
static void read_fields(const msgpack_object *map, fields *f)
{
	memset(f, 0, sizeof *f);
	for (uint32_t k = 0; k < map->via.map.size; k++) {
		const msgpack_object *key = &map->via.map.ptr[k].key, *v = &map->via.map.ptr[k].val;
		int c = -1, u = -1;
		for (int i = 0; i < C__COUNT && c < 0; i++)
			c = name_is(key, col_names[i]) ? i : -1;
		for (int i = 0; i < U__COUNT && u < 0; i++)
			u = name_is(key, u64_names[i]) ? i : -1;
		if (c >= 0 && v->type == MSGPACK_OBJECT_BIN)
			f->col[c] = v->via.bin.size ? v->via.bin.ptr : "", f->coln[c] = v->via.bin.size;
		if (u >= 0 && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			f->u[u] = v->via.u64, f->have_u[u] = 1;
		if (name_is(key, "eps") && (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32))
			f->eps = v->via.f64, f->have_eps = 1;
	}
}

/* a bin column of exactly n * size bytes (size 0: any length) */
static const char *get_col(const fields *f, int c, size_t n, size_t size)
{
	if (!f->col[c] || (size && (f->coln[c] % size || f->coln[c] / size != n)))
		return NULL;
	return f->col[c];
}

/* next NUL-terminated string of at most FR_IDLEN - 1 chars in [*p, end) */
static int next_str(const char **p, const char *end, char *dst)
{
	const char *z = memchr(*p, 0, (size_t)(end - *p));
	if (!z || z - *p >= FR_IDLEN)
		return -1;
	memset(dst, 0, FR_IDLEN);
	memcpy(dst, *p, (size_t)(z - *p));
	*p = z + 1;
	return 0;
}

/* Read an index column into dst (n entries), each < npts. */
static int get_idx(const fields *f, int c, size_t npts, size_t *dst, size_t *n)
{
	if (!f->col[c] || f->coln[c] % 8 || f->coln[c] / 8 > npts)
		return -1;
	*n = f->coln[c] / 8;
	for (size_t i = 0; i < *n; i++) {
		uint64_t v;
		memcpy(&v, f->col[c] + 8 * i, 8);
		if (v >= npts)
			return -1;
		dst[i] = (size_t)v;
	}
	return 0;
}

#define BAD(...) do { fr__errf(err, errlen, __VA_ARGS__); rc = FR_EFORMAT; goto fail; } while (0)

int fr_decode(fr_frontier **out, const void *buf, size_t len, char *err, size_t errlen)
{
	*out = NULL;
	fr__errf(err, errlen, "ok");
	int rc = 0;
	fr_frontier *fr = NULL;
	size_t *tmp = NULL;
	nn_rec_dec d;
	int opened = 0;
	const unsigned char *b = buf;
	/* magic before anything else, so a foreign blob gets the right message */
	if (!buf || len < 11 || (b[0] != 0x94 && b[0] != 0x93) || b[1] != (0xa0 | 8) || memcmp(b + 2, FR_MAGIC, 8))
		BAD("not a petri frontier record (wrong magic or %zu bytes too short)", len);
	/* the record, its map and values nested up to 6 deep inside unknown keys */
	if ((rc = nn_rec_open(&d, buf, len, FR_MAGIC, FR_VERSION, 1, 8))) {
		rc = fr__rec_err(rc, &d, "frontier record", FR_VERSION, len, err, errlen);
		goto fail;
	}
	opened = 1;
	fields m;
	const msgpack_object *body = nn_rec_get_obj(&d, 0, MSGPACK_OBJECT_MAP);
	if (!body)
		BAD("body is not a map");
	read_fields(body, &m);
	fr_opts o;
	uint64_t n = m.u[U_N];
	if (!m.have_u[U_AXIS] || m.u[U_AXIS] >= FR_AXIS__COUNT)
		BAD("field 'axis': missing or unknown");
	if (!m.have_eps || !(m.eps >= 0 && m.eps <= 1))
		BAD("field 'eps': missing or outside [0, 1]");
	if (!m.have_u[U_SEED] || !m.have_u[U_RNG] || !m.have_u[U_CHOICES])
		BAD("fields 'seed', 'rng', 'choices': missing or not unsigned");
	if (!m.have_u[U_N] || n > len)
		BAD("field 'n': missing or larger than the record");
	o.axis = (int)m.u[U_AXIS], o.eps = m.eps, o.seed = m.u[U_SEED];
	const char *ids = get_col(&m, C_ID, n, 0), *par = get_col(&m, C_PARENT, n, 0);
	const char *macs = get_col(&m, C_MACS, n, 8), *params = get_col(&m, C_PARAMS, n, 8);
	const char *mem = get_col(&m, C_MEM, n, 8), *lat = get_col(&m, C_LAT, n, 8);
	const char *verr = get_col(&m, C_VERR, n, 8), *vloss = get_col(&m, C_VLOSS, n, 8);
	const char *tacc = get_col(&m, C_TACC, n, 8);
	const char *depth = get_col(&m, C_DEPTH, n, 4), *exp = get_col(&m, C_EXP, n, 4);
	if (!ids || !par || !macs || !params || !mem || !lat || !verr || !vloss || !tacc || !depth || !exp)
		BAD("a point column is missing or does not hold %llu entries", (unsigned long long)n);
	const char *ide = ids + m.coln[C_ID], *pare = par + m.coln[C_PARENT];
	uint64_t rng = m.u[U_RNG], choices = m.u[U_CHOICES];
	if ((rc = fr_create(&fr, &o)))
		goto fail;
	fr->rng = rng, fr->choices = choices;
	if ((rc = fr_reserve(fr, n)))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		fr_point p;
		if (next_str(&ids, ide, p.id) || next_str(&par, pare, p.parent))
			BAD("point %zu: id or parent is not a string of at most %d bytes", i, FR_IDLEN - 1);
		memcpy(&p.macs, macs + 8 * i, 8), memcpy(&p.params, params + 8 * i, 8);
		memcpy(&p.mem_bytes, mem + 8 * i, 8), memcpy(&p.latency_ms, lat + 8 * i, 8);
		memcpy(&p.val_error, verr + 8 * i, 8), memcpy(&p.val_loss, vloss + 8 * i, 8);
		memcpy(&p.test_acc, tacc + 8 * i, 8);
		memcpy(&p.depth, depth + 4 * i, 4), memcpy(&p.expanded, exp + 4 * i, 4);
		if ((rc = fr__append(fr, &p))) {
			if (rc == FR_ENOMEM)
				goto fail;
			BAD("point %zu ('%s'): %s", i, p.id, rc == FR_EEXIST ? "duplicate id" : "value out of range");
		}
	}
	if (ids != ide || par != pare)
		BAD("id columns hold more than %llu strings", (unsigned long long)n);
	if (fr__vec_reserve(&fr->hull, n + 1) || fr__band_reserve(fr, n + 1) ||
	    fr__pm_reserve(fr, 0, n + 1) || fr__pm_reserve(fr, 1, n + 1)) {
		rc = FR_ENOMEM;
		goto fail;
	}
	/* hull: non-empty iff points; cost strictly up, error strictly down, strictly convex */
	if (get_idx(&m, C_HULL, n, fr->hull.v, &fr->hull.n) || (fr->hull.n == 0) != (n == 0))
		BAD("field 'hull': missing, out of range or empty");
	const size_t *h = fr->hull.v;
	for (size_t k = 1; k < fr->hull.n; k++) {
		if (fr->kx[h[k]] <= fr->kx[h[k - 1]] || fr->ky[h[k]] >= fr->ky[h[k - 1]])
			BAD("field 'hull': vertex %zu is not cheaper-to-costlier and better", k);
		if (k >= 2 && fr__cross(fr, h[k - 2], h[k - 1], h[k]) <= 0)
			BAD("field 'hull': vertex %zu is not strictly convex", k - 1);
	}
	tmp = calloc(n ? n : 1, sizeof *tmp);
	if (!tmp) {
		rc = FR_ENOMEM;
		goto fail;
	}
	if (get_idx(&m, C_BAND, n, tmp, &fr->nb))
		BAD("field 'band': missing or out of range");
	for (size_t k = 0; k < fr->nb; k++) {
		size_t i = tmp[k];
		fr->band[k] = (fr_be){ fr->kx[i], fr->ky[i], i };
		if (k && !fr__band_less(fr, tmp[k - 1], i))
			BAD("field 'band': not sorted by cost");
		if (!fr__in_band(fr, fr->kx[i], fr->ky[i]))
			BAD("field 'band': point %zu is outside the band", i);
	}
	/* every point: not below the hull, not an earlier twin of a vertex,
	 * in the band exactly when listed. O(n log h), no sort. */
	memset(tmp, 0, (n ? n : 1) * sizeof *tmp);
	for (size_t k = 0; k < fr->nb; k++)
		tmp[fr->band[k].idx] = 1;
	for (size_t i = 0; i < n; i++) {
		size_t pos;
		if (fr__below(fr, i, &pos) ||
		    (pos > 0 && fr->kx[h[pos - 1]] == fr->kx[i] && fr->ky[h[pos - 1]] == fr->ky[i] && i < h[pos - 1])) {
			BAD("field 'hull': point %zu is below the stored hull", i);
		}
		if ((size_t)fr__in_band(fr, fr->kx[i], fr->ky[i]) != tmp[i]) {
			BAD("field 'band': point %zu is %s", i, tmp[i] ? "listed but outside" : "inside but not listed");
		}
	}
	for (int mi = 0; mi < 2; mi++) {
		size_t np = 0;
		if (get_idx(&m, mi ? C_PICKT : C_PICKV, n, tmp, &np) || (np == 0) != (n == 0)) {
			BAD("field '%s': missing, out of range or empty", col_names[mi ? C_PICKT : C_PICKV]);
		}
		for (size_t k = 0; k < np; k++) {
			fr__pm_fill(fr, mi, tmp[k], &fr->pm[mi][k]);
			if (k && !fr__pm_less(&fr->pm[mi][k - 1], &fr->pm[mi][k])) {
				BAD("field '%s': not sorted by error", col_names[mi ? C_PICKT : C_PICKV]);
			}
		}
		fr->npm[mi] = np;
	}
	free(tmp);
	nn_rec_close(&d);
	*out = fr;
	return 0;
fail:
	if (opened)
		nn_rec_close(&d);
	free(tmp);
	fr_free(fr);
	return rc;
}
