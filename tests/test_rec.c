/* test_rec.c - nn/rec, the [magic, version, field..., check] record codec:
 * round trips of every field type, the CRC-32C and its check on every
 * single and double bit flip, every truncation, wrong magic, newer, zero
 * and pre-checksum versions, too few fields, wrong field types, absurd
 * declared lengths and the bounds-checked reader on its own. Links
 * petri_rec alone. */
#include "check.h"
#include "rec.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* a record with one field of every type the writer has */
static void make(char **buf, size_t *len, int version)
{
	static const unsigned char blob[5] = { 0, 1, 2, 0xfe, 0xff };
	nn_rec_enc e;
	nn_rec_begin(&e, "PETRITST", version, 8);
	nn_rec_u64(&e, UINT64_MAX);
	nn_rec_i64(&e, INT64_MIN);
	nn_rec_i64(&e, 42);
	nn_rec_f64(&e, -0.15625);
	nn_rec_str(&e, "hello");
	nn_rec_bin(&e, blob, sizeof blob);
	nn_rec_bin(&e, NULL, 0);
	nn_rec_raw(&e, "\x92\x01\x02", 3); /* an array [1, 2], already packed */
	CHECK_OK(nn_rec_finish(&e, buf, len), nn_rec_strerror);
}

/* n bytes of src then a check item over them, into dst; the new length */
static size_t sealed(unsigned char *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
	CHECK(nn_rec_seal(dst, n + NN_REC_CHECK_BYTES) == 0);
	return n + NN_REC_CHECK_BYTES;
}

static void test_round_trip(void)
{
	char *buf;
	size_t len, n;
	make(&buf, &len, 3);
	/* the framing: fixarray 11, fixstr 8 magic, version; 0xce and the CRC-32C of the rest last */
	CHECK(len > 16 && (unsigned char)buf[0] == 0x9b && (unsigned char)buf[1] == 0xa8 && !memcmp(buf + 2, "PETRITST", 8));
	CHECK(buf[10] == 3);
	uint32_t crc = nn_rec_crc32c(0, buf, len - 5);
	const unsigned char *c = (const unsigned char *)buf + len - 5;
	CHECK(c[0] == 0xce && ((uint32_t)c[1] << 24 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 8 | c[4]) == crc);
	nn_rec_dec d;
	CHECK_OK(nn_rec_open(&d, buf, len, "PETRITST", 3, 8, 3), nn_rec_strerror);
	CHECK(d.version == 3 && d.n == 8 && d.bad == -1);
	CHECK(nn_rec_get_u64(&d, 0) == UINT64_MAX);
	CHECK(nn_rec_get_i64(&d, 1) == INT64_MIN);
	CHECK(nn_rec_get_i64(&d, 2) == 42);
	CHECK(nn_rec_get_range(&d, 2, 42, 42) == 42);
	CHECK(nn_rec_get_f64(&d, 3) == -0.15625);
	char s[8];
	nn_rec_get_str(&d, 4, s, sizeof s);
	CHECK(!strcmp(s, "hello"));
	const unsigned char *b = nn_rec_get_bin(&d, 5, &n);
	CHECK(b && n == 5 && b[0] == 0 && b[3] == 0xfe && b[4] == 0xff);
	nn_rec_get_bin(&d, 6, &n);
	CHECK(n == 0);
	const msgpack_object *a = nn_rec_get_obj(&d, 7, MSGPACK_OBJECT_ARRAY);
	CHECK(a && a->via.array.size == 2 && a->via.array.ptr[1].via.u64 == 2);
	CHECK(d.bad == -1);
	CHECK_OK(nn_rec_done(&d), nn_rec_strerror);
	/* an older version opens too; longer records open with fewer fields asked */
	CHECK_OK(nn_rec_open(&d, buf, len, "PETRITST", 9, 2, 3), nn_rec_strerror);
	CHECK(d.n == 8);
	nn_rec_close(&d);
	nn_rec_close(&d); /* twice is harmless */
	free(buf);
	/* the bytes are MessagePack's shortest forms, as msgpack-c writes them */
	nn_rec_enc e;
	nn_rec_begin(&e, "AB", 2, 2);
	nn_rec_u64(&e, 5);
	nn_rec_i64(&e, -1);
	CHECK_OK(nn_rec_finish(&e, &buf, &len), nn_rec_strerror);
	CHECK(len == 12 && !memcmp(buf, "\x95\xa2" "AB\x02\x05\xff\xce", 8));
	CHECK(nn_rec_crc32c(0, buf, 7) == ((uint32_t)(unsigned char)buf[8] << 24 | (uint32_t)(unsigned char)buf[9] << 16 |
					     (uint32_t)(unsigned char)buf[10] << 8 | (unsigned char)buf[11]));
	free(buf);
	/* the bytes so far, the check not yet added */
	nn_rec_begin(&e, "AB", 2, 0);
	const void *p = nn_rec_bytes(&e, &n);
	CHECK(p && n == 5);
	nn_rec_discard(&e);
}

/* CRC-32C itself: the standard check value, and continuing a run */
static void test_crc(void)
{
	CHECK(nn_rec_crc32c(0, "123456789", 9) == 0xe3069283u);
	CHECK(nn_rec_crc32c(nn_rec_crc32c(0, "1234", 4), "56789", 5) == 0xe3069283u);
	CHECK(nn_rec_crc32c(0, NULL, 0) == 0);
	unsigned char z[32] = { 0 };
	CHECK(nn_rec_crc32c(0, z, sizeof z) == 0x8a9136aau); /* RFC 3720 B.4: 32 zero bytes */
	CHECK(nn_rec_seal(z, 4) == -1 && nn_rec_seal(NULL, 9) == -1);
	/* the instruction path (where the CPU has one) and the table agree at
	 * every length and alignment, continuing runs included */
	unsigned char b[300];
	uint64_t s = 12345;
	for (size_t i = 0; i < sizeof b; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (unsigned char)(s >> 56);
	}
	CHECK(nn_rec_crc32c_table(0, "123456789", 9) == 0xe3069283u);
	int same = 1;
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= sizeof b; n++) {
			uint32_t a = nn_rec_crc32c(0, b + off, n), t = nn_rec_crc32c_table(0, b + off, n);
			uint32_t c = nn_rec_crc32c(nn_rec_crc32c(0, b + off, n / 3), b + off + n / 3, n - n / 3);
			same &= a == t && c == t;
		}
	CHECK(same);
}

/* Every single-bit flip, and every pair of flipped bits, is refused: the
 * check (or, in array header and magic, the framing) catches it. */
static void test_bit_flips(void)
{
	char *buf;
	size_t len;
	make(&buf, &len, 2);
	nn_rec_dec d;
	CHECK_OK(nn_rec_open(&d, buf, len, "PETRITST", 2, 8, 3), nn_rec_strerror);
	nn_rec_close(&d);
	size_t bits = 8 * len, missed = 0, wrong = 0, mismatch = 0;
	for (size_t i = 0; i < bits; i++) {
		buf[i / 8] ^= (char)(1 << i % 8);
		int rc = nn_rec_open(&d, buf, len, "PETRITST", 2, 8, 3);
		missed += rc == 0;
		/* beyond array header, magic and version, every flip is a checksum
		 * mismatch, or malformed where it breaks the structure */
		wrong += i / 8 > 10 && rc != NN_REC_ECHECKSUM && rc != NN_REC_EFORMAT;
		mismatch += rc == NN_REC_ECHECKSUM;
		for (size_t j = i + 1; j < bits; j++) {
			buf[j / 8] ^= (char)(1 << j % 8);
			missed += nn_rec_open(&d, buf, len, "PETRITST", 2, 8, 3) == 0;
			buf[j / 8] ^= (char)(1 << j % 8);
		}
		buf[i / 8] ^= (char)(1 << i % 8);
	}
	CHECKM(missed == 0 && wrong == 0, "%zu flips missed, %zu not reported as checksum mismatches", missed, wrong);
	CHECKM(mismatch > bits / 2, "%zu of %zu flips reported as checksum mismatches", mismatch, bits);
	CHECK_OK(nn_rec_open(&d, buf, len, "PETRITST", 2, 8, 3), nn_rec_strerror);
	nn_rec_close(&d);
	free(buf);
}

static void test_truncated(void)
{
	char *buf;
	size_t len;
	make(&buf, &len, 2);
	nn_rec_dec d;
	/* every cut: the check fails, and the bytes are not one whole value */
	for (size_t cut = 0; cut < len; cut++) {
		CHECKM(nn_rec_open(&d, buf, cut, "PETRITST", 2, 0, 3) == NN_REC_EFORMAT, "cut at %zu", cut);
		CHECK(nn_rec_check(buf, cut, 3) == NN_REC_EFORMAT);
	}
	/* one byte more is not one record either, even sealed again */
	unsigned char *more = malloc(len + 1 + NN_REC_CHECK_BYTES);
	memcpy(more, buf, len);
	more[len] = 0;
	CHECK(nn_rec_open(&d, more, len + 1, "PETRITST", 2, 0, 3) == NN_REC_EFORMAT);
	CHECK(nn_rec_open(&d, more, sealed(more, buf, len), "PETRITST", 2, 0, 3) == NN_REC_EFORMAT);
	free(more);
	CHECK(nn_rec_open(&d, NULL, 0, "PETRITST", 2, 0, 3) == NN_REC_EFORMAT);
	/* nesting deeper than allowed */
	CHECK(nn_rec_open(&d, buf, len, "PETRITST", 2, 0, 1) == NN_REC_EFORMAT);
	CHECK(nn_rec_open(&d, buf, len, "PETRITST", 2, 0, 2) == 0);
	nn_rec_close(&d);
	free(buf);
}

static void test_header(void)
{
	char *buf;
	size_t len;
	make(&buf, &len, 3);
	nn_rec_dec d;
	CHECK(nn_rec_open(&d, buf, len, "PETRIXXX", 3, 0, 3) == NN_REC_EMAGIC);
	CHECK(nn_rec_open(&d, buf, len, "PETRITS", 3, 0, 3) == NN_REC_EMAGIC);
	CHECK(nn_rec_open(&d, buf, len, "PETRITST", 2, 0, 3) == NN_REC_EVERSION && d.version == 3);
	CHECK(nn_rec_open(&d, buf, len, "PETRITST", 3, 9, 3) == NN_REC_EFIELDS && d.n == 8);
	/* version 0 was never written; sealed, it is refused as a version,
	 * unsealed (a flipped version byte) as a mismatch */
	buf[10] = 0;
	CHECK(nn_rec_open(&d, buf, len, "PETRITST", 3, 0, 3) == NN_REC_ECHECKSUM);
	CHECK(nn_rec_seal(buf, len) == 0);
	CHECK(nn_rec_open(&d, buf, len, "PETRITST", 3, 0, 3) == NN_REC_EVERSION && d.version == 0);
	buf[10] = 9;
	CHECK(nn_rec_open(&d, buf, len, "PETRITST", 3, 0, 3) == NN_REC_ECHECKSUM);
	buf[10] = (char)0xff; /* -1: not a version */
	CHECK(nn_rec_open(&d, buf, len, "PETRITST", 3, 0, 3) == NN_REC_EFORMAT);
	free(buf);
	/* version 1, from before checksums: refused as such, whatever follows */
	CHECK(nn_rec_open(&d, "\x93\xa8" "PETRITST\x01\x05", 12, "PETRITST", 2, 0, 3) == NN_REC_EOLD && d.version == 1 &&
	      d.n == 1);
	CHECK(!strcmp(nn_rec_strerror(NN_REC_EOLD), "written by an older petri without checksums"));
	/* not an array; an array too short for magic and version; magic not a string */
	CHECK(nn_rec_open(&d, "\x05", 1, "A", 2, 0, 3) == NN_REC_EFORMAT);
	CHECK(nn_rec_open(&d, "\x91\xa1" "A", 3, "A", 2, 0, 3) == NN_REC_EFORMAT);
	CHECK(nn_rec_open(&d, "\x92\x01\x01", 3, "A", 2, 0, 3) == NN_REC_EMAGIC);
	/* [magic, version] with no room for a check, with or without the bytes of one */
	CHECK(nn_rec_open(&d, "\x92\xa1" "A\x02", 4, "A", 2, 0, 3) == NN_REC_EFORMAT);
	unsigned char b[16];
	CHECK(nn_rec_open(&d, b, sealed(b, "\x92\xa1" "A\x02", 4), "A", 2, 0, 3) == NN_REC_EFORMAT);
	CHECK(nn_rec_open(&d, b, sealed(b, "\x93\xa1" "A\x02", 4), "A", 2, 0, 3) == 0 && d.n == 0);
	nn_rec_close(&d);
	/* the last item must be the check, not a field that happens to end the bytes */
	CHECK(nn_rec_open(&d, b, sealed(b, "\x93\xa1" "A\x02\xc4\x05", 6), "A", 2, 0, 3) == NN_REC_EFORMAT);
	/* a reader that asks for a version before checksums is a bug, refused */
	CHECK(nn_rec_open(&d, b, sealed(b, "\x93\xa1" "A\x02", 4), "A", 1, 0, 3) == NN_REC_EVERSION);
}

static void test_types(void)
{
	char *buf;
	size_t len, n;
	make(&buf, &len, 2);
	nn_rec_dec d;
	char s[8];
	/* every getter on a field of another type: 0 / "" / NULL, and the first bad one is kept */
	CHECK_OK(nn_rec_open(&d, buf, len, "PETRITST", 2, 8, 3), nn_rec_strerror);
	CHECK(nn_rec_get_u64(&d, 4) == 0 && d.bad == 4);
	CHECK(nn_rec_get_f64(&d, 0) == 0 && d.bad == 4);
	CHECK(nn_rec_done(&d) == NN_REC_ETYPE && d.bad == 4);
	struct { int what; uint32_t i; } wrong[] = {
		{ 0, 4 }, { 1, 0 }, { 2, 0 }, { 3, 0 }, { 4, 5 }, { 5, 4 }, { 6, 0 }, { 0, 8 }, { 7, 1 }, { 8, 4 },
	};
	for (size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
		CHECK_OK(nn_rec_open(&d, buf, len, "PETRITST", 2, 8, 3), nn_rec_strerror);
		uint32_t i = wrong[k].i;
		switch (wrong[k].what) {
		case 0: CHECK(nn_rec_get_u64(&d, i) == 0); break;
		case 1: CHECK(nn_rec_get_i64(&d, i) == 0); break; /* UINT64_MAX is no int64 */
		case 2: CHECK(nn_rec_get_range(&d, i, 0, 10) == 0); break;
		case 3: CHECK(nn_rec_get_f64(&d, i) == 0); break;
		case 4: nn_rec_get_str(&d, i, s, sizeof s); CHECK(s[0] == 0); break;
		case 5: CHECK(nn_rec_get_bin(&d, i, &n) == NULL && n == 0); break;
		case 6: CHECK(nn_rec_get_obj(&d, i, MSGPACK_OBJECT_MAP) == NULL); break;
		case 7: nn_rec_get_str(&d, i, s, sizeof s); CHECK(s[0] == 0); break;
		case 8: nn_rec_get_str(&d, i, s, 5); CHECK(s[0] == 0); break; /* "hello" needs 6 bytes */
		}
		CHECKM(nn_rec_done(&d) == NN_REC_ETYPE && d.bad == (int)i, "case %zu: bad %d", k, d.bad);
	}
	/* a value out of the caller's range */
	CHECK_OK(nn_rec_open(&d, buf, len, "PETRITST", 2, 8, 3), nn_rec_strerror);
	nn_rec_set_bad(&d, 6);
	nn_rec_set_bad(&d, 2);
	CHECK(nn_rec_done(&d) == NN_REC_ETYPE && d.bad == 6);
	free(buf);
	/* a string holding a NUL is refused */
	nn_rec_enc e;
	nn_rec_begin(&e, "A", 2, 1);
	nn_rec_raw(&e, "\xa3x\0y", 4);
	CHECK_OK(nn_rec_finish(&e, &buf, &len), nn_rec_strerror);
	CHECK_OK(nn_rec_open(&d, buf, len, "A", 2, 1, 2), nn_rec_strerror);
	nn_rec_get_str(&d, 0, s, sizeof s);
	CHECK(s[0] == 0 && nn_rec_done(&d) == NN_REC_ETYPE);
	free(buf);
	/* float32 reads as a number */
	unsigned char f32[16];
	size_t fl = sealed(f32, "\x94\xa1" "A\x02\xca\x3f\xc0\x00\x00", 9);
	CHECK_OK(nn_rec_open(&d, f32, fl, "A", 2, 1, 2), nn_rec_strerror);
	CHECK(nn_rec_get_f64(&d, 0) == 1.5 && nn_rec_done(&d) == 0);
}

/* declared sizes far beyond the bytes: refused before msgpack-c allocates,
 * even with a check that holds (a hostile record, not a damaged one) */
static void test_absurd(void)
{
	static const unsigned char cases[][16] = {
		{ 0xdd, 0xff, 0xff, 0xff, 0xff },             /* array 32 of 4 billion */
		{ 0x94, 0xa1, 'A', 0x02, 0xdf, 0xff, 0xff, 0xff, 0xff }, /* map 32 */
		{ 0x94, 0xa1, 'A', 0x02, 0xc6, 0xff, 0xff, 0xff, 0xff }, /* bin 32 */
		{ 0x94, 0xa1, 'A', 0x02, 0xdb, 0x7f, 0xff, 0xff, 0xff }, /* str 32 */
		{ 0x94, 0xa1, 'A', 0x02, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01 }, /* ext 32 */
		{ 0x94, 0xa1, 'A', 0x02, 0xdc, 0x00, 0x10 },  /* array 16 of 16, no items */
		{ 0x94, 0xa1, 'A', 0x02, 0xc1 },              /* the unused type byte */
	};
	static const size_t lens[] = { 5, 9, 9, 9, 10, 7, 5 };
	nn_rec_dec d;
	for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		unsigned char b[32];
		size_t n = sealed(b, cases[k], lens[k]);
		CHECKM(nn_rec_check(b, n, 8) == NN_REC_EFORMAT, "case %zu", k);
		CHECKM(nn_rec_open(&d, b, n, "A", 2, 0, 8) == NN_REC_EFORMAT, "case %zu", k);
	}
	/* the reader on its own: one value of each kind, then nothing */
	static const unsigned char v[] = { 0xc0, 0xc3, 0x7f, 0xd0, 0x80, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xa2,
					   'h', 'i', 0xc4, 0x01, 0x09, 0x82, 0x01, 0x02, 0x03, 0x04, 0xd4, 0x01, 0x02 };
	nn_rec_rd r = { v, v + sizeof v };
	nn_mpv x;
	const char *s;
	uint64_t u;
	double f;
	CHECK(nn_rec_next(&r, &x) == 0 && x.kind == NN_MP_NIL);
	CHECK(nn_rec_next(&r, &x) == 0 && x.kind == NN_MP_BOOL && x.u == 1);
	CHECK(nn_rec_rd_uint(&r, &u) == 0 && u == 127);
	CHECK(nn_rec_next(&r, &x) == 0 && x.kind == NN_MP_INT && x.i == -128);
	CHECK(nn_rec_rd_f64(&r, &f) == 0 && f == 1);
	CHECK(nn_rec_rd_str(&r, &s, &u) == 0 && u == 2 && !memcmp(s, "hi", 2));
	CHECK(nn_rec_next(&r, &x) == 0 && x.kind == NN_MP_BIN && x.n == 1 && x.s[0] == 9);
	CHECK(nn_rec_skip(&r, 1) == 0); /* the map {1: 2, 3: 4} */
	CHECK(nn_rec_next(&r, &x) == 0 && x.kind == NN_MP_EXT && x.n == 2);
	CHECK(r.p == r.end && nn_rec_next(&r, &x) == -1);
}

int main(void)
{
	RUN(test_round_trip);
	RUN(test_crc);
	RUN(test_bit_flips);
	RUN(test_truncated);
	RUN(test_header);
	RUN(test_types);
	RUN(test_absurd);
	CHECK(!strcmp(nn_rec_strerror(NN_REC_EVERSION), "record written by a newer version"));
	return check_report();
}
