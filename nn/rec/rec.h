/* rec.h - petri's stored records: MessagePack [magic, version, field...].
 *
 * Every record petri writes (store entries and meta, frontier points, model
 * files, job payloads) is one MessagePack array that starts with a magic
 * string and a positive version. This leaf library owns that framing: write
 * the header and typed fields, hand the bytes over; check hostile bytes
 * before msgpack-c allocates anything for them, check magic, version and
 * field count, read typed fields. It links msgpack-c only.
 *
 * Reading: nn_rec_open() walks the bytes with the bounds-checked reader
 * (nn_rec_check: every declared size fits in the bytes left), then unpacks.
 * The getters never fail: a missing or mistyped field is remembered (the
 * first one, in bad) and yields 0 / "" / NULL; nn_rec_done() reports it.
 * Modules map these codes to their own (Q_ECORRUPT, FR_EFORMAT, ...).
 */
#ifndef NN_REC_H
#define NN_REC_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

enum {
	NN_REC_EFORMAT = -150,  /* truncated or malformed MessagePack, or no [magic, version] */
	NN_REC_EMAGIC = -151,   /* the magic is not the one asked for */
	NN_REC_EVERSION = -152, /* version 0 or newer than supported (nn_rec_dec.version says which) */
	NN_REC_EFIELDS = -153,  /* fewer fields than asked for (nn_rec_dec.n says how many) */
	NN_REC_ETYPE = -154,    /* a field is missing or has the wrong type (nn_rec_dec.bad) */
	NN_REC_ENOMEM = -155    /* the encoder's buffer could not grow */
};
const char *nn_rec_strerror(int err);

/* ---- the bounds-checked pull reader ----
 * Walks a byte range item by item: every length is checked against the
 * bytes left before it is used, nothing is allocated, and a container's
 * count can never exceed the bytes that could hold it (one byte per item). */
enum { NN_MP_NIL, NN_MP_BOOL, NN_MP_UINT, NN_MP_INT, NN_MP_FLOAT, NN_MP_STR, NN_MP_BIN, NN_MP_ARRAY, NN_MP_MAP,
       NN_MP_EXT };
typedef struct {
	const unsigned char *p, *end;
} nn_rec_rd;
typedef struct {
	int kind;                /* NN_MP_*; a non-negative signed int is NN_MP_UINT */
	uint64_t u;              /* UINT, BOOL; ARRAY and MAP: item count (items not consumed) */
	int64_t i;               /* INT (negative) */
	double f;                /* FLOAT (float32 widened) */
	const unsigned char *s;  /* STR, BIN, EXT: the body (consumed) */
	size_t n;                /* STR, BIN, EXT: body bytes */
} nn_mpv;
/* One item's header (and the body of a string, bin or ext); -1 when the
 * bytes end first or the type byte is never used (0xc1). */
int nn_rec_next(nn_rec_rd *r, nn_mpv *v);
/* skip one whole item, containers nested at most depth deep */
int nn_rec_skip(nn_rec_rd *r, int depth);
/* typed reads: -1 on any other type */
int nn_rec_rd_uint(nn_rec_rd *r, uint64_t *u);
int nn_rec_rd_f64(nn_rec_rd *r, double *f);
int nn_rec_rd_str(nn_rec_rd *r, const char **s, size_t *n);
/* 0 when buf holds exactly one MessagePack value nested at most depth deep
 * whose declared sizes all fit; NN_REC_EFORMAT otherwise */
int nn_rec_check(const void *buf, size_t len, int depth);

/* ---- writing ---- */
typedef struct {
	msgpack_sbuffer sb;
	msgpack_packer pk; /* for nested values (maps, arrays) inside a field */
	int err;           /* a write failed: nn_rec_finish() reports NN_REC_ENOMEM */
} nn_rec_enc;
/* [magic, version, then nfields fields] */
void nn_rec_begin(nn_rec_enc *e, const char *magic, int version, size_t nfields);
void nn_rec_u64(nn_rec_enc *e, uint64_t v);
void nn_rec_i64(nn_rec_enc *e, int64_t v);
void nn_rec_f64(nn_rec_enc *e, double v);
void nn_rec_str(nn_rec_enc *e, const char *s);
void nn_rec_bin(nn_rec_enc *e, const void *p, size_t n);
/* bytes that are already MessagePack (one whole field) */
void nn_rec_raw(nn_rec_enc *e, const void *p, size_t n);
/* the bytes so far (for a checksum); NULL when nothing could be written */
const void *nn_rec_bytes(const nn_rec_enc *e, size_t *n);
/* Hands the buffer over (*buf, free() it) or frees it and returns
 * NN_REC_ENOMEM. e is finished either way. */
int nn_rec_finish(nn_rec_enc *e, char **buf, size_t *len);
void nn_rec_discard(nn_rec_enc *e);

/* ---- reading ---- */
typedef struct {
	msgpack_unpacked up;
	const msgpack_object *f; /* the fields after magic and version */
	uint32_t n;              /* their number */
	uint64_t version;
	int bad;                 /* -1 or the first bad field (0 = the one after the version) */
} nn_rec_dec;
/* Checks buf with nn_rec_check (depth: nesting allowed, the record's own
 * array counts), then magic, a non-negative integer version with
 * 1 <= version <= maxver (else NN_REC_EVERSION) and at least nfields
 * fields. On error d is closed, but version and n tell what was found.
 * Strings, bins and objects point into buf and d: keep both open. */
int nn_rec_open(nn_rec_dec *d, const void *buf, size_t len, const char *magic, int maxver, uint32_t nfields,
		int depth);
uint64_t nn_rec_get_u64(nn_rec_dec *d, uint32_t i);
/* a positive integer in [lo, hi] */
uint64_t nn_rec_get_range(nn_rec_dec *d, uint32_t i, uint64_t lo, uint64_t hi);
int64_t nn_rec_get_i64(nn_rec_dec *d, uint32_t i);
/* float64 or float32 */
double nn_rec_get_f64(nn_rec_dec *d, uint32_t i);
/* a string of less than cap bytes without NULs, copied with its NUL */
void nn_rec_get_str(nn_rec_dec *d, uint32_t i, char *dst, size_t cap);
const void *nn_rec_get_bin(nn_rec_dec *d, uint32_t i, size_t *n);
/* any value of the given msgpack-c type (maps, arrays: read them in place) */
const msgpack_object *nn_rec_get_obj(nn_rec_dec *d, uint32_t i, msgpack_object_type type);
/* mark field i bad (a value out of range) unless an earlier one is */
void nn_rec_set_bad(nn_rec_dec *d, uint32_t i);
/* 0, or NN_REC_ETYPE when a field was bad (d->bad stays); closes d */
int nn_rec_done(nn_rec_dec *d);
void nn_rec_close(nn_rec_dec *d);

#endif
