/* rec.c - the record framing of rec.h: one bounds-checked MessagePack
 * reader, the writer and the checked decoder every petri record goes through.
 *
 * msgpack-c allocates count * sizeof(object) for an array header before it
 * knows whether the bytes exist; a 5-byte input could ask for 100 GB. So the
 * bytes are walked first with the pull reader, which checks every length
 * against the bytes left and every count against the bytes that could hold
 * it, and never allocates: a damaged or hostile record costs one pass.
 *
 * Before any of that, the checksum at the end is compared with the bytes,
 * so a record damaged in storage is reported as such (NN_REC_ECHECKSUM)
 * whatever the damage happens to decode to.
 */
#include "rec.h"

#include <stdlib.h>
#include <string.h>

const char *nn_rec_strerror(int err)
{
	switch (err) {
	case 0: return "ok";
	case NN_REC_EFORMAT: return "truncated or malformed record";
	case NN_REC_EMAGIC: return "wrong magic";
	case NN_REC_EVERSION: return "record written by a newer version";
	case NN_REC_EFIELDS: return "too few fields";
	case NN_REC_ETYPE: return "a field is missing or has the wrong type";
	case NN_REC_ENOMEM: return "out of memory";
	case NN_REC_EOLD: return "written by an older petri without checksums";
	case NN_REC_ECHECKSUM: return "checksum mismatch (record corrupt)";
	default: return "unknown record error";
	}
}

/* ---- reader ---- */
/* w big-endian bytes at r->p, consumed; -1 when fewer are left */
static int take(nn_rec_rd *r, unsigned w, uint64_t *v)
{
	if ((size_t)(r->end - r->p) < w)
		return -1;
	*v = 0;
	for (unsigned k = 0; k < w; k++)
		*v = *v << 8 | *r->p++;
	return 0;
}

/* n body bytes at r->p, consumed */
static int body(nn_rec_rd *r, nn_mpv *v, uint64_t n)
{
	if ((uint64_t)(r->end - r->p) < n)
		return -1;
	v->s = r->p, v->n = (size_t)n;
	r->p += n;
	return 0;
}

/* a w-byte length, then that many body bytes (plus extra: ext's type byte) */
static int sized(nn_rec_rd *r, nn_mpv *v, int kind, unsigned w, unsigned extra)
{
	uint64_t n;
	v->kind = kind;
	return take(r, w, &n) || body(r, v, n + extra) ? -1 : 0;
}

/* a container of n items (2n for a map) */
static int items(nn_rec_rd *r, nn_mpv *v, int kind, uint64_t n)
{
	v->kind = kind, v->u = n;
	return n > (uint64_t)(r->end - r->p) / (kind == NN_MP_MAP ? 2 : 1) ? -1 : 0;
}

int nn_rec_next(nn_rec_rd *r, nn_mpv *v)
{
	memset(v, 0, sizeof *v);
	if (r->p >= r->end)
		return -1;
	unsigned t = *r->p++;
	uint64_t x;
	if (t < 0x80 || t >= 0xe0) { /* fixint */
		v->kind = t < 0x80 ? NN_MP_UINT : NN_MP_INT;
		v->u = t, v->i = t < 0x80 ? (int64_t)t : (int64_t)t - 256;
		return 0;
	}
	if (t < 0x90)
		return items(r, v, NN_MP_MAP, t & 0x0f);
	if (t < 0xa0)
		return items(r, v, NN_MP_ARRAY, t & 0x0f);
	if (t < 0xc0) {
		v->kind = NN_MP_STR;
		return body(r, v, t & 0x1f);
	}
	if (t == 0xc0 || t == 0xc2 || t == 0xc3) {
		v->kind = t == 0xc0 ? NN_MP_NIL : NN_MP_BOOL;
		v->u = t == 0xc3;
		return 0;
	}
	if (t >= 0xc4 && t <= 0xc6) /* bin 8/16/32 */
		return sized(r, v, NN_MP_BIN, 1u << (t - 0xc4), 0);
	if (t >= 0xc7 && t <= 0xc9) /* ext 8/16/32: length, then a type byte */
		return sized(r, v, NN_MP_EXT, 1u << (t - 0xc7), 1);
	if (t == 0xca || t == 0xcb) {
		if (take(r, t == 0xca ? 4 : 8, &x))
			return -1;
		v->kind = NN_MP_FLOAT;
		if (t == 0xca) {
			uint32_t b = (uint32_t)x;
			float f;
			memcpy(&f, &b, 4);
			v->f = f;
		} else {
			memcpy(&v->f, &x, 8);
		}
		return 0;
	}
	if (t >= 0xcc && t <= 0xcf) { /* uint 8..64 */
		v->kind = NN_MP_UINT;
		return take(r, 1u << (t - 0xcc), &v->u);
	}
	if (t >= 0xd0 && t <= 0xd3) { /* int 8..64, sign-extended */
		unsigned w = 1u << (t - 0xd0);
		if (take(r, w, &x))
			return -1;
		if (w < 8 && (x >> (8 * w - 1)))
			x |= ~(uint64_t)0 << (8 * w);
		v->i = (int64_t)x, v->u = x;
		v->kind = v->i < 0 ? NN_MP_INT : NN_MP_UINT;
		return 0;
	}
	if (t >= 0xd4 && t <= 0xd8) { /* fixext 1..16 */
		v->kind = NN_MP_EXT;
		return body(r, v, (1u << (t - 0xd4)) + 1);
	}
	if (t >= 0xd9 && t <= 0xdb) /* str 8/16/32 */
		return sized(r, v, NN_MP_STR, 1u << (t - 0xd9), 0);
	if (t >= 0xdc) /* array 16/32, map 16/32 */
		return take(r, t & 1 ? 4 : 2, &x) ? -1 : items(r, v, t < 0xde ? NN_MP_ARRAY : NN_MP_MAP, x);
	return -1; /* 0xc1 is never used */
}

int nn_rec_skip(nn_rec_rd *r, int depth)
{
	nn_mpv v;
	if (depth < 0 || nn_rec_next(r, &v))
		return -1;
	if (v.kind != NN_MP_ARRAY && v.kind != NN_MP_MAP)
		return 0;
	for (uint64_t k = v.kind == NN_MP_MAP ? 2 * v.u : v.u; k > 0; k--)
		if (nn_rec_skip(r, depth - 1))
			return -1;
	return 0;
}

int nn_rec_rd_uint(nn_rec_rd *r, uint64_t *u)
{
	nn_mpv v;
	if (nn_rec_next(r, &v) || v.kind != NN_MP_UINT)
		return -1;
	*u = v.u;
	return 0;
}

int nn_rec_rd_f64(nn_rec_rd *r, double *f)
{
	nn_mpv v;
	if (nn_rec_next(r, &v) || v.kind != NN_MP_FLOAT)
		return -1;
	*f = v.f;
	return 0;
}

int nn_rec_rd_str(nn_rec_rd *r, const char **s, size_t *n)
{
	nn_mpv v;
	if (nn_rec_next(r, &v) || v.kind != NN_MP_STR)
		return -1;
	*s = (const char *)v.s, *n = v.n;
	return 0;
}

int nn_rec_check(const void *buf, size_t len, int depth)
{
	if (!buf)
		return NN_REC_EFORMAT;
	nn_rec_rd r = { buf, (const unsigned char *)buf + len };
	if (nn_rec_skip(&r, depth) || r.p != r.end)
		return NN_REC_EFORMAT;
	return 0;
}

/* ---- checksum ---- */
/* CRC-32C, reflected polynomial 0x82f63b78, four bits per step: entry i is
 * the register after shifting the nibble i out of it */
static const uint32_t crc_nibble[16] = {
	0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
	0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9, 0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

static uint32_t crc_soft(uint32_t crc, const unsigned char *b, size_t n)
{
	while (n--) {
		crc ^= *b++;
		crc = crc >> 4 ^ crc_nibble[crc & 15];
		crc = crc >> 4 ^ crc_nibble[crc & 15];
	}
	return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* SSE4.2's crc32 instruction computes this very CRC, 8 bytes a step: a
 * model record of 100 KB is checked in microseconds instead of a tenth of
 * a millisecond. Used when the CPU has it (every x86-64 CPU since 2008). */
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const unsigned char *b, size_t n)
{
	uint64_t c = crc;
	for (; n >= 8; n -= 8, b += 8) {
		uint64_t v;
		memcpy(&v, b, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	crc = (uint32_t)c;
	for (; n; n--)
		crc = __builtin_ia32_crc32qi(crc, *b++);
	return crc;
}
#endif

uint32_t nn_rec_crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc_sse42(~crc, b, n);
#endif
	return ~crc_soft(~crc, b, n);
}

uint32_t nn_rec_crc32c_table(uint32_t crc, const void *p, size_t n)
{
	return ~crc_soft(~crc, p, n);
}

/* the check item of the len - NN_REC_CHECK_BYTES bytes before it */
static void check_item(const void *buf, size_t len, unsigned char c[NN_REC_CHECK_BYTES])
{
	uint32_t crc = nn_rec_crc32c(0, buf, len);
	c[0] = 0xce;
	for (int k = 4; k >= 1; k--, crc >>= 8)
		c[k] = (unsigned char)crc;
}

int nn_rec_seal(void *buf, size_t len)
{
	if (!buf || len < NN_REC_CHECK_BYTES)
		return -1;
	check_item(buf, len - NN_REC_CHECK_BYTES, (unsigned char *)buf + len - NN_REC_CHECK_BYTES);
	return 0;
}

/* 0 when the record ends with the check of the bytes before it */
static int check_ok(const void *buf, size_t len)
{
	unsigned char c[NN_REC_CHECK_BYTES];
	if (len < NN_REC_CHECK_BYTES)
		return -1;
	check_item(buf, len - NN_REC_CHECK_BYTES, c);
	return memcmp(c, (const unsigned char *)buf + len - NN_REC_CHECK_BYTES, sizeof c) ? -1 : 0;
}

/* ---- writer ---- */
void nn_rec_begin(nn_rec_enc *e, const char *magic, int version, size_t nfields)
{
	msgpack_sbuffer_init(&e->sb);
	msgpack_packer_init(&e->pk, &e->sb, msgpack_sbuffer_write);
	e->err = msgpack_pack_array(&e->pk, nfields + 3) != 0; /* magic, version, fields, check */
	nn_rec_str(e, magic);
	e->err |= msgpack_pack_int(&e->pk, version) != 0;
}

void nn_rec_u64(nn_rec_enc *e, uint64_t v) { e->err |= msgpack_pack_uint64(&e->pk, v) != 0; }
void nn_rec_i64(nn_rec_enc *e, int64_t v) { e->err |= msgpack_pack_int64(&e->pk, v) != 0; }
void nn_rec_f64(nn_rec_enc *e, double v) { e->err |= msgpack_pack_double(&e->pk, v) != 0; }

void nn_rec_str(nn_rec_enc *e, const char *s)
{
	size_t l = strlen(s);
	e->err |= msgpack_pack_str(&e->pk, l) != 0;
	e->err |= msgpack_pack_str_body(&e->pk, s, l) != 0;
}

void nn_rec_bin(nn_rec_enc *e, const void *p, size_t n)
{
	e->err |= msgpack_pack_bin(&e->pk, n) != 0;
	if (n)
		e->err |= msgpack_pack_bin_body(&e->pk, p, n) != 0;
}

void nn_rec_raw(nn_rec_enc *e, const void *p, size_t n)
{
	if (n)
		e->err |= msgpack_sbuffer_write(&e->sb, p, n) != 0;
}

const void *nn_rec_bytes(const nn_rec_enc *e, size_t *n)
{
	*n = e->sb.data ? e->sb.size : 0;
	return e->sb.data;
}

int nn_rec_finish(nn_rec_enc *e, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	if (!e->err && e->sb.data) {
		unsigned char c[NN_REC_CHECK_BYTES];
		check_item(e->sb.data, e->sb.size, c);
		e->err |= msgpack_sbuffer_write(&e->sb, (const char *)c, sizeof c) != 0;
	}
	if (e->err || !e->sb.data) {
		nn_rec_discard(e);
		return NN_REC_ENOMEM;
	}
	*buf = e->sb.data, *len = e->sb.size;
	e->sb.data = NULL, e->sb.size = e->sb.alloc = 0;
	return 0;
}

void nn_rec_discard(nn_rec_enc *e)
{
	msgpack_sbuffer_destroy(&e->sb);
	e->sb.data = NULL, e->sb.size = e->sb.alloc = 0;
}

/* ---- checked decoder ---- */
/* [magic, version at the start of buf: the array's count, the version;
 * NN_REC_EFORMAT or NN_REC_EMAGIC when they are not there */
static int head(const void *buf, size_t len, const char *magic, uint64_t *count, uint64_t *version)
{
	nn_rec_rd r = { buf, (const unsigned char *)buf + len };
	nn_mpv v;
	size_t ml = strlen(magic);
	if (!buf || nn_rec_next(&r, &v) || v.kind != NN_MP_ARRAY || v.u < 2)
		return NN_REC_EFORMAT;
	*count = v.u;
	if (nn_rec_next(&r, &v))
		return NN_REC_EFORMAT;
	if (v.kind != NN_MP_STR || v.n != ml || memcmp(v.s, magic, ml))
		return NN_REC_EMAGIC;
	if (nn_rec_next(&r, &v) || v.kind != NN_MP_UINT)
		return NN_REC_EFORMAT;
	*version = v.u;
	return 0;
}

int nn_rec_open(nn_rec_dec *d, const void *buf, size_t len, const char *magic, int maxver, uint32_t nfields,
		int depth)
{
	msgpack_unpacked_init(&d->up);
	d->f = NULL, d->n = 0, d->version = 0, d->bad = -1;
	size_t off = 0;
	uint64_t count;
	const msgpack_object *r = &d->up.data;
	int rc = head(buf, len, magic, &count, &d->version);
	if (rc)
		goto fail;
	if (d->version > 0 && d->version < NN_REC_CSUM_VERSION) {
		d->n = count > 2 ? (uint32_t)(count - 2) : 0;
		rc = NN_REC_EOLD;
		goto fail;
	}
	/* a newer petri keeps the check: a version beyond maxver whose check
	 * fails is damage like any other */
	rc = NN_REC_EFORMAT;
	if (count < 3) /* no room for the check */
		goto fail;
	/* a mismatch in bytes that are not even one whole value (a record cut
	 * short, a length field hit) is reported as malformed */
	if (check_ok(buf, len)) {
		rc = nn_rec_check(buf, len, depth) ? NN_REC_EFORMAT : NN_REC_ECHECKSUM;
		goto fail;
	}
	d->n = (uint32_t)(count - 3);
	if (maxver < NN_REC_CSUM_VERSION || d->version < 1 || d->version > (uint64_t)maxver) {
		rc = NN_REC_EVERSION;
		goto fail;
	}
	rc = NN_REC_EFORMAT;
	if (nn_rec_check(buf, len, depth))
		goto fail;
	if (msgpack_unpack_next(&d->up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS)
		goto fail;
	if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != count)
		goto fail;
	/* the last item is the check: 5 bytes, so it is a uint32 */
	if (r->via.array.ptr[count - 1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		goto fail;
	if (d->n < nfields) {
		rc = NN_REC_EFIELDS;
		goto fail;
	}
	d->f = r->via.array.ptr + 2;
	return 0;
fail:
	msgpack_unpacked_destroy(&d->up);
	msgpack_unpacked_init(&d->up);
	d->f = NULL;
	return rc;
}

void nn_rec_close(nn_rec_dec *d)
{
	msgpack_unpacked_destroy(&d->up);
	msgpack_unpacked_init(&d->up);
	d->f = NULL, d->n = 0;
}

void nn_rec_set_bad(nn_rec_dec *d, uint32_t i)
{
	if (d->bad < 0)
		d->bad = (int)i;
}

const msgpack_object *nn_rec_get_obj(nn_rec_dec *d, uint32_t i, msgpack_object_type type)
{
	if (!d->f || i >= d->n || d->f[i].type != type) {
		nn_rec_set_bad(d, i);
		return NULL;
	}
	return &d->f[i];
}

uint64_t nn_rec_get_u64(nn_rec_dec *d, uint32_t i)
{
	const msgpack_object *o = nn_rec_get_obj(d, i, MSGPACK_OBJECT_POSITIVE_INTEGER);
	return o ? o->via.u64 : 0;
}

uint64_t nn_rec_get_range(nn_rec_dec *d, uint32_t i, uint64_t lo, uint64_t hi)
{
	const msgpack_object *o = nn_rec_get_obj(d, i, MSGPACK_OBJECT_POSITIVE_INTEGER);
	if (!o)
		return 0;
	if (o->via.u64 < lo || o->via.u64 > hi) {
		nn_rec_set_bad(d, i);
		return 0;
	}
	return o->via.u64;
}

int64_t nn_rec_get_i64(nn_rec_dec *d, uint32_t i)
{
	if (d->f && i < d->n && d->f[i].type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return d->f[i].via.i64;
	return (int64_t)nn_rec_get_range(d, i, 0, (uint64_t)INT64_MAX);
}

double nn_rec_get_f64(nn_rec_dec *d, uint32_t i)
{
	if (d->f && i < d->n && d->f[i].type == MSGPACK_OBJECT_FLOAT32)
		return d->f[i].via.f64;
	const msgpack_object *o = nn_rec_get_obj(d, i, MSGPACK_OBJECT_FLOAT64);
	return o ? o->via.f64 : 0;
}

void nn_rec_get_str(nn_rec_dec *d, uint32_t i, char *dst, size_t cap)
{
	const msgpack_object *o = nn_rec_get_obj(d, i, MSGPACK_OBJECT_STR);
	if (cap)
		dst[0] = 0;
	if (!o)
		return;
	if (o->via.str.size >= cap || memchr(o->via.str.ptr, 0, o->via.str.size)) {
		nn_rec_set_bad(d, i);
		return;
	}
	memcpy(dst, o->via.str.ptr, o->via.str.size);
	dst[o->via.str.size] = 0;
}

const void *nn_rec_get_bin(nn_rec_dec *d, uint32_t i, size_t *n)
{
	const msgpack_object *o = nn_rec_get_obj(d, i, MSGPACK_OBJECT_BIN);
	*n = o ? o->via.bin.size : 0;
	return o ? o->via.bin.ptr : NULL;
}

int nn_rec_done(nn_rec_dec *d)
{
	nn_rec_close(d);
	return d->bad >= 0 ? NN_REC_ETYPE : 0;
}
