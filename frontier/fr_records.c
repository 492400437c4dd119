/* fr_records.c - frontier state as one small record per point plus a
 * header, so that a store writes O(1) records per change.
 *
 * Records (MessagePack arrays, ending with a checksum):
 *   header ["PETRIFRH", 2, axis, eps, seed, rng, choices, n, check]
 *   point  ["PETRIFRP", 2, index, id, parent, macs, params, mem, latency,
 *           val_error, val_loss, test_acc, depth, expanded, check]
 * check is nn/rec's: 0xce + the CRC-32C of every byte before it. Version 1
 * ended with its own FNV-1a 64 check instead; since every other record of
 * a store from that time is refused, so are these, with the codec's
 * message. The header's n is the number of
 * points, so a lost point record is noticed; a point's index is its place in
 * insertion order, which decides ties and the order of the parent choice's
 * scan, so a loaded frontier continues exactly as the saved one would.
 *
 * Hull, band and pick index are not stored: they follow from the points,
 * and fr_load_end() rebuilds them (O(n log n) once per start) instead of
 * every insert rewriting them.
 */
#include "frontier_impl.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_FIELDS 9
#define POINT_FIELDS 15

static int rec_end(nn_rec_enc *e, char **buf, size_t *len)
{
	return nn_rec_finish(e, buf, len) ? FR_ENOMEM : 0;
}

int fr_header_encode(const fr_frontier *fr, char **buf, size_t *len)
{
	nn_rec_enc e;
	nn_rec_begin(&e, FR_HEADER_MAGIC, FR_REC_VERSION, HEADER_FIELDS - 3);
	nn_rec_u64(&e, (uint64_t)fr->o.axis);
	nn_rec_f64(&e, fr->o.eps);
	nn_rec_u64(&e, fr->o.seed);
	nn_rec_u64(&e, fr->rng);
	nn_rec_u64(&e, fr->choices);
	nn_rec_u64(&e, fr->n);
	return rec_end(&e, buf, len);
}

int fr_point_encode(const fr_frontier *fr, size_t i, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	if (i >= fr->n)
		return FR_EINVAL;
	const fr_point *p = &fr->pts[i];
	nn_rec_enc e;
	nn_rec_begin(&e, FR_POINT_MAGIC, FR_REC_VERSION, POINT_FIELDS - 3);
	nn_rec_u64(&e, i);
	nn_rec_str(&e, p->id);
	nn_rec_str(&e, p->parent);
	nn_rec_u64(&e, p->macs);
	nn_rec_u64(&e, p->params);
	nn_rec_u64(&e, p->mem_bytes);
	nn_rec_f64(&e, p->latency_ms);
	nn_rec_f64(&e, p->val_error);
	nn_rec_f64(&e, p->val_loss);
	nn_rec_f64(&e, p->test_acc);
	nn_rec_u64(&e, (uint64_t)p->depth);
	nn_rec_u64(&e, (uint64_t)p->expanded);
	return rec_end(&e, buf, len);
}

/* Open the record (nn_rec_open: magic, version, checksum) and check that
 * it has exactly nfields array items (magic, version and check included).
 * what names the record in messages. On success d is open on the fields. */
static int rec_open(nn_rec_dec *d, const void *buf, size_t len, const char *magic, uint32_t nfields,
		    const char *what, char *err, size_t errlen)
{
	int rc = nn_rec_open(d, buf, len, magic, FR_REC_VERSION, 0, 2);
	if (rc)
		return fr__rec_err(rc, d, what, FR_REC_VERSION, len, err, errlen);
	if (d->n + 3 != nfields) {
		fr__errf(err, errlen, "%s: %llu fields, version %d has %llu", what, (unsigned long long)d->n + 3,
			 FR_REC_VERSION, (unsigned long long)nfields);
		nn_rec_close(d);
		return FR_EFORMAT;
	}
	return 0;
}

int fr_point_decode(const void *buf, size_t len, size_t *index, fr_point *p, char *err, size_t errlen)
{
	nn_rec_dec d;
	int rc = rec_open(&d, buf, len, FR_POINT_MAGIC, POINT_FIELDS, "frontier point record", err, errlen);
	if (rc)
		return rc;
	memset(p, 0, sizeof *p);
	uint64_t i = nn_rec_get_u64(&d, 0);
	nn_rec_get_str(&d, 1, p->id, FR_IDLEN);
	nn_rec_get_str(&d, 2, p->parent, FR_IDLEN);
	p->macs = nn_rec_get_u64(&d, 3);
	p->params = nn_rec_get_u64(&d, 4);
	p->mem_bytes = nn_rec_get_u64(&d, 5);
	p->latency_ms = nn_rec_get_f64(&d, 6);
	p->val_error = nn_rec_get_f64(&d, 7);
	p->val_loss = nn_rec_get_f64(&d, 8);
	p->test_acc = nn_rec_get_f64(&d, 9);
	p->depth = (int)nn_rec_get_range(&d, 10, 0, INT32_MAX);
	p->expanded = (int)nn_rec_get_range(&d, 11, 0, INT32_MAX);
	if (nn_rec_done(&d)) {
		fr__errf(err, errlen, "frontier point record: a field is missing or has the wrong type");
		return FR_EFORMAT;
	}
	if (i >= SIZE_MAX / 2 || fr__validate_point(p)) {
		fr__errf(err, errlen, "frontier point record %llu ('%s'): value out of range", (unsigned long long)i, p->id);
		return FR_EFORMAT;
	}
	*index = (size_t)i;
	return 0;
}

int fr_load_begin(fr_frontier **out, const void *buf, size_t len, char *err, size_t errlen)
{
	nn_rec_dec d;
	fr_opts o;
	*out = NULL;
	fr__errf(err, errlen, "ok");
	int rc = rec_open(&d, buf, len, FR_HEADER_MAGIC, HEADER_FIELDS, "frontier header", err, errlen);
	if (rc)
		return rc;
	uint64_t axis = nn_rec_get_u64(&d, 0);
	o.eps = nn_rec_get_f64(&d, 1);
	o.seed = nn_rec_get_u64(&d, 2);
	uint64_t rng = nn_rec_get_u64(&d, 3), choices = nn_rec_get_u64(&d, 4), n = nn_rec_get_u64(&d, 5);
	if (nn_rec_done(&d)) {
		fr__errf(err, errlen, "frontier header: a field is missing or has the wrong type");
		return FR_EFORMAT;
	}
	if (axis >= FR_AXIS__COUNT || !(o.eps >= 0 && o.eps <= 1) || n >= SIZE_MAX / 2) {
		fr__errf(err, errlen, "frontier header: axis %llu, eps %g or %llu points out of range",
			 (unsigned long long)axis, o.eps, (unsigned long long)n);
		return FR_EFORMAT;
	}
	o.axis = (int)axis;
	if ((rc = fr_create(out, &o)))
		return rc;
	(*out)->rng = rng, (*out)->choices = choices, (*out)->load_n = (size_t)n;
	/* room for every point at once, unless the count is beyond belief */
	if (n && n <= ((size_t)1 << 26) && (rc = fr_reserve(*out, (size_t)n))) {
		fr_free(*out);
		*out = NULL;
	}
	return rc;
}

int fr_load_point(fr_frontier *fr, const void *buf, size_t len, char *err, size_t errlen)
{
	fr_point p;
	size_t i;
	int rc = fr_point_decode(buf, len, &i, &p, err, errlen);
	if (rc)
		return rc;
	if (i != fr->n || i >= fr->load_n) {
		fr__errf(err, errlen, "frontier point record %zu ('%s') where point %zu of %zu was expected", i, p.id, fr->n,
			 fr->load_n);
		return FR_EFORMAT;
	}
	if ((rc = fr__append(fr, &p)) && rc != FR_ENOMEM) {
		fr__errf(err, errlen, "frontier point record %zu ('%s'): duplicate id", i, p.id);
		return FR_EFORMAT;
	}
	return rc;
}

int fr_load_end(fr_frontier *fr, char *err, size_t errlen)
{
	if (fr->n != fr->load_n) {
		fr__errf(err, errlen, "frontier header counts %zu points, %zu point records were found", fr->load_n, fr->n);
		return FR_EFORMAT;
	}
	return fr_rebuild(fr);
}
