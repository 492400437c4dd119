/* rec.h - petri's stored records: MessagePack [magic, version, field...,
 * check].
 *
 * Every record petri writes (store entries and meta, frontier points, model
 * files, job payloads) is one MessagePack array that starts with a magic
 * string and a positive version and ends with a checksum of everything
 * before it. This leaf library owns that framing: write the header and
 * typed fields, seal the bytes with the checksum and hand them over; check
 * hostile bytes before msgpack-c allocates anything for them, check magic,
 * version, checksum and field count, read typed fields. It links msgpack-c
 * only.
 *
 * The check is the last array item, always 5 bytes so that it is found
 * without parsing: 0xce (uint32) and the CRC-32C (Castagnoli) of every byte
 * before it, big-endian. CRC-32C finds every single-bit error and every
 * burst of up to 32 bits in a record of any length (and every error of up
 * to 3 bits below 256 MB).
 * Version 1 of every record family was written before checksums existed:
 * such records are refused with NN_REC_EOLD, never read unchecked.
 *
 * Reading: nn_rec_open() reads magic and version, verifies the checksum,
 * walks the bytes with the bounds-checked reader (nn_rec_check: every
 * declared size fits in the bytes left), then unpacks.
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
	NN_REC_ENOMEM = -155,   /* the encoder's buffer could not grow */
	NN_REC_EOLD = -156,     /* version 1: written by an older petri without checksums */
	NN_REC_ECHECKSUM = -157 /* the checksum does not match the bytes: the record is corrupt */
};
/* the first version of every family whose records end with the checksum */
#define NN_REC_CSUM_VERSION 2
/* bytes of the check item at the end of every record */
#define NN_REC_CHECK_BYTES 5
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

/* CRC-32C of n bytes, continuing from crc (0 to start): the CPU's crc32
 * instruction where there is one (x86-64 with SSE4.2), else a table */
uint32_t nn_rec_crc32c(uint32_t crc, const void *p, size_t n);
/* The same through the table alone, on every CPU (tests compare the two) */
uint32_t nn_rec_crc32c_table(uint32_t crc, const void *p, size_t n);
/* Recompute the check of a whole record in place (len bytes, ending with
 * the 5-byte check item): for tests and tools that edit a record on
 * purpose. -1 when buf cannot hold a check. */
int nn_rec_seal(void *buf, size_t len);

/* ---- writing ---- */
typedef struct {
	msgpack_sbuffer sb;
	msgpack_packer pk; /* for nested values (maps, arrays) inside a field */
	int err;           /* a write failed: nn_rec_finish() reports NN_REC_ENOMEM */
} nn_rec_enc;
/* [magic, version, then nfields fields; nn_rec_finish adds the check] */
void nn_rec_begin(nn_rec_enc *e, const char *magic, int version, size_t nfields);
void nn_rec_u64(nn_rec_enc *e, uint64_t v);
void nn_rec_i64(nn_rec_enc *e, int64_t v);
void nn_rec_f64(nn_rec_enc *e, double v);
void nn_rec_str(nn_rec_enc *e, const char *s);
void nn_rec_bin(nn_rec_enc *e, const void *p, size_t n);
/* bytes that are already MessagePack (one whole field) */
void nn_rec_raw(nn_rec_enc *e, const void *p, size_t n);
/* the bytes so far (the check not yet added); NULL when nothing could be written */
const void *nn_rec_bytes(const nn_rec_enc *e, size_t *n);
/* Appends the check, then hands the buffer over (*buf, free() it) or frees
 * it and returns NN_REC_ENOMEM. e is finished either way. */
int nn_rec_finish(nn_rec_enc *e, char **buf, size_t *len);
void nn_rec_discard(nn_rec_enc *e);

/* ---- reading ---- */
typedef struct {
	msgpack_unpacked up;
	const msgpack_object *f; /* the fields after magic and version */
	uint32_t n;              /* their number (the check not counted) */
	uint64_t version;
	int bad;                 /* -1 or the first bad field (0 = the one after the version) */
} nn_rec_dec;
/* Checks magic (NN_REC_EMAGIC) and version, then the checksum, then buf
 * with nn_rec_check (depth: nesting allowed, the record's own array counts)
 * and at least nfields fields. Versions: 1 is NN_REC_EOLD; 0 or above
 * maxver is NN_REC_EVERSION when the checksum holds (a newer petri wrote
 * it), else NN_REC_ECHECKSUM like every other mismatch. Bytes that do not
 * even hold [magic, version], or whose check fails and that are not one
 * whole MessagePack value (cut short, a length hit), are NN_REC_EFORMAT. On error d is closed, but
 * version and n tell what was found.
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
