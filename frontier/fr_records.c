/* fr_records.c - frontier state as one small record per point plus a
 * header, so that a store writes O(1) records per change.
 *
 * Records (MessagePack arrays, ending with a checksum):
 *   header ["PETRIFRH", 1, axis, eps, seed, rng, choices, n, check]
 *   point  ["PETRIFRP", 1, index, id, parent, macs, params, mem, latency,
 *           val_error, val_loss, test_acc, depth, expanded, check]
 * check is 0xcf + the FNV-1a 64 of every byte before it, big-endian (always
 * 9 bytes, so it is found without parsing). The header's n is the number of
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
#define CHECK_BYTES 9

static void pk_str(msgpack_packer *pk, const char *s)
{
	size_t l = strlen(s);
	msgpack_pack_str(pk, l);
	msgpack_pack_str_body(pk, s, l);
}

/* start a record: array header, magic, version */
static void rec_begin(msgpack_sbuffer *sb, msgpack_packer *pk, const char *magic, size_t nfields)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(pk, nfields);
	pk_str(pk, magic);
	msgpack_pack_int(pk, FR_REC_VERSION);
}

/* append the checksum and hand the buffer over */
static int rec_end(msgpack_sbuffer *sb, char **buf, size_t *len)
{
	unsigned char c[CHECK_BYTES] = { 0xcf };
	uint64_t h = sb->data ? fr__fnv(sb->data, sb->size) : 0;
	for (int k = 8; k >= 1; k--, h >>= 8)
		c[k] = (unsigned char)h;
	msgpack_sbuffer_write(sb, (const char *)c, sizeof c);
	if (!sb->data) {
		msgpack_sbuffer_destroy(sb);
		return FR_ENOMEM;
	}
	*buf = sb->data, *len = sb->size;
	return 0;
}

int fr_header_encode(const fr_frontier *fr, char **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	*buf = NULL, *len = 0;
	rec_begin(&sb, &pk, FR_HEADER_MAGIC, HEADER_FIELDS);
	msgpack_pack_uint64(&pk, (uint64_t)fr->o.axis);
	msgpack_pack_double(&pk, fr->o.eps);
	msgpack_pack_uint64(&pk, fr->o.seed);
	msgpack_pack_uint64(&pk, fr->rng);
	msgpack_pack_uint64(&pk, fr->choices);
	msgpack_pack_uint64(&pk, fr->n);
	return rec_end(&sb, buf, len);
}

int fr_point_encode(const fr_frontier *fr, size_t i, char **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	*buf = NULL, *len = 0;
	if (i >= fr->n)
		return FR_EINVAL;
	const fr_point *p = &fr->pts[i];
	rec_begin(&sb, &pk, FR_POINT_MAGIC, POINT_FIELDS);
	msgpack_pack_uint64(&pk, i);
	pk_str(&pk, p->id);
	pk_str(&pk, p->parent);
	msgpack_pack_uint64(&pk, p->macs);
	msgpack_pack_uint64(&pk, p->params);
	msgpack_pack_uint64(&pk, p->mem_bytes);
	msgpack_pack_double(&pk, p->latency_ms);
	msgpack_pack_double(&pk, p->val_error);
	msgpack_pack_double(&pk, p->val_loss);
	msgpack_pack_double(&pk, p->test_acc);
	msgpack_pack_uint64(&pk, (uint64_t)p->depth);
	msgpack_pack_uint64(&pk, (uint64_t)p->expanded);
	return rec_end(&sb, buf, len);
}

/* Check the checksum, the array header, magic and version; r is left on
 * the first field. what names the record in messages. */
static int rec_open(fr_rd *r, const void *buf, size_t len, const char *magic, uint64_t nfields, const char *what,
		    char *err, size_t errlen)
{
	const unsigned char *b = buf;
	fr_mpv a, ver;
	const char *m;
	size_t ml;
	uint64_t want = 0;
	if (!buf || len < CHECK_BYTES + 11 || b[len - CHECK_BYTES] != 0xcf) {
		fr__errf(err, errlen, "%s: not a frontier record (%zu bytes)", what, len);
		return FR_EFORMAT;
	}
	for (size_t k = len - 8; k < len; k++)
		want = want << 8 | b[k];
	if (fr__fnv(b, len - CHECK_BYTES) != want) {
		fr__errf(err, errlen, "%s: checksum mismatch (%zu bytes)", what, len);
		return FR_EFORMAT;
	}
	r->p = b, r->end = b + len - CHECK_BYTES;
	if (fr__rd_next(r, &a) || a.kind != FR_MP_ARRAY || fr__rd_str(r, &m, &ml) || ml != strlen(magic) ||
	    memcmp(m, magic, ml)) {
		fr__errf(err, errlen, "%s: wrong magic (want %s)", what, magic);
		return FR_EFORMAT;
	}
	if (fr__rd_next(r, &ver) || ver.kind != FR_MP_UINT || ver.u < 1) {
		fr__errf(err, errlen, "%s: bad version field", what);
		return FR_EFORMAT;
	}
	if (ver.u > FR_REC_VERSION) {
		fr__errf(err, errlen, "%s: record version %llu is not supported (this petri reads version %d)", what,
			 (unsigned long long)ver.u, FR_REC_VERSION);
		return FR_EVERSION;
	}
	if (a.u != nfields) {
		fr__errf(err, errlen, "%s: %llu fields, version 1 has %llu", what, (unsigned long long)a.u,
			 (unsigned long long)nfields);
		return FR_EFORMAT;
	}
	return 0;
}

/* a string of at most FR_IDLEN - 1 bytes without NULs, NUL-padded into dst */
static int rd_id(fr_rd *r, char dst[FR_IDLEN])
{
	const char *s;
	size_t n;
	if (fr__rd_str(r, &s, &n) || n >= FR_IDLEN || memchr(s, 0, n))
		return -1;
	memset(dst, 0, FR_IDLEN);
	memcpy(dst, s, n);
	return 0;
}

/* an int field in [0, INT32_MAX] */
static int rd_count(fr_rd *r, int *v)
{
	uint64_t u;
	if (fr__rd_uint(r, &u) || u > INT32_MAX)
		return -1;
	*v = (int)u;
	return 0;
}

int fr_point_decode(const void *buf, size_t len, size_t *index, fr_point *p, char *err, size_t errlen)
{
	fr_rd r;
	uint64_t i;
	int rc = rec_open(&r, buf, len, FR_POINT_MAGIC, POINT_FIELDS, "frontier point record", err, errlen);
	if (rc)
		return rc;
	memset(p, 0, sizeof *p);
	if (fr__rd_uint(&r, &i) || rd_id(&r, p->id) || rd_id(&r, p->parent) || fr__rd_uint(&r, &p->macs) ||
	    fr__rd_uint(&r, &p->params) || fr__rd_uint(&r, &p->mem_bytes) || fr__rd_f64(&r, &p->latency_ms) ||
	    fr__rd_f64(&r, &p->val_error) || fr__rd_f64(&r, &p->val_loss) || fr__rd_f64(&r, &p->test_acc) ||
	    rd_count(&r, &p->depth) || rd_count(&r, &p->expanded) || r.p != r.end) {
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
	fr_rd r;
	fr_opts o;
	uint64_t axis, rng, choices, n;
	*out = NULL;
	fr__errf(err, errlen, "ok");
	int rc = rec_open(&r, buf, len, FR_HEADER_MAGIC, HEADER_FIELDS, "frontier header", err, errlen);
	if (rc)
		return rc;
	if (fr__rd_uint(&r, &axis) || fr__rd_f64(&r, &o.eps) || fr__rd_uint(&r, &o.seed) || fr__rd_uint(&r, &rng) ||
	    fr__rd_uint(&r, &choices) || fr__rd_uint(&r, &n) || r.p != r.end) {
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
