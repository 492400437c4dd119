/* fr_mp.c - a bounds-checked MessagePack pull reader for the frontier's
 * records, the record checksum and error messages.
 *
 * The reader walks a byte range item by item: every length is checked
 * against the bytes left before it is used, nothing is allocated, and a
 * container's declared count can never exceed the bytes that could hold it.
 * So decoding a damaged or hostile record costs at most one pass over it.
 */
#include "frontier_impl.h"

#include <stdarg.h>
#include <string.h>

void fr__errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt), vsnprintf(err, errlen, fmt, ap), va_end(ap);
}

uint64_t fr__fnv(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ull;
	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

/* w big-endian bytes at r->p, consumed; -1 when fewer are left */
static int take(fr_rd *r, unsigned w, uint64_t *v)
{
	if ((size_t)(r->end - r->p) < w)
		return -1;
	*v = 0;
	for (unsigned k = 0; k < w; k++)
		*v = *v << 8 | *r->p++;
	return 0;
}

/* n body bytes at r->p, consumed */
static int body(fr_rd *r, fr_mpv *v, uint64_t n)
{
	if ((uint64_t)(r->end - r->p) < n)
		return -1;
	v->s = r->p, v->n = (size_t)n;
	r->p += n;
	return 0;
}

/* a w-byte length, then that many body bytes (plus extra: ext's type byte) */
static int sized(fr_rd *r, fr_mpv *v, int kind, unsigned w, unsigned extra)
{
	uint64_t n;
	v->kind = kind;
	return take(r, w, &n) || body(r, v, n + extra) ? -1 : 0;
}

/* a container of n items (2n for a map) */
static int items(fr_rd *r, fr_mpv *v, int kind, uint64_t n)
{
	v->kind = kind, v->u = n;
	return n > (uint64_t)(r->end - r->p) / (kind == FR_MP_MAP ? 2 : 1) ? -1 : 0;
}

int fr__rd_next(fr_rd *r, fr_mpv *v)
{
	memset(v, 0, sizeof *v);
	if (r->p >= r->end)
		return -1;
	unsigned t = *r->p++;
	uint64_t x;
	if (t < 0x80 || t >= 0xe0) { /* fixint */
		v->kind = t < 0x80 ? FR_MP_UINT : FR_MP_INT;
		v->u = t, v->i = t < 0x80 ? (int64_t)t : (int64_t)t - 256;
		return 0;
	}
	if (t < 0x90)
		return items(r, v, FR_MP_MAP, t & 0x0f);
	if (t < 0xa0)
		return items(r, v, FR_MP_ARRAY, t & 0x0f);
	if (t < 0xc0) {
		v->kind = FR_MP_STR;
		return body(r, v, t & 0x1f);
	}
	if (t == 0xc0 || t == 0xc2 || t == 0xc3) {
		v->kind = t == 0xc0 ? FR_MP_NIL : FR_MP_BOOL;
		v->u = t == 0xc3;
		return 0;
	}
	if (t >= 0xc4 && t <= 0xc6) /* bin 8/16/32 */
		return sized(r, v, FR_MP_BIN, 1u << (t - 0xc4), 0);
	if (t >= 0xc7 && t <= 0xc9) /* ext 8/16/32: length, then a type byte */
		return sized(r, v, FR_MP_EXT, 1u << (t - 0xc7), 1);
	if (t == 0xca || t == 0xcb) {
		if (take(r, t == 0xca ? 4 : 8, &x))
			return -1;
		v->kind = FR_MP_FLOAT;
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
		v->kind = FR_MP_UINT;
		return take(r, 1u << (t - 0xcc), &v->u);
	}
	if (t >= 0xd0 && t <= 0xd3) { /* int 8..64, sign-extended */
		unsigned w = 1u << (t - 0xd0);
		if (take(r, w, &x))
			return -1;
		if (w < 8 && (x >> (8 * w - 1)))
			x |= ~(uint64_t)0 << (8 * w);
		v->i = (int64_t)x, v->u = x;
		v->kind = v->i < 0 ? FR_MP_INT : FR_MP_UINT;
		return 0;
	}
	if (t >= 0xd4 && t <= 0xd8) { /* fixext 1..16 */
		v->kind = FR_MP_EXT;
		return body(r, v, (1u << (t - 0xd4)) + 1);
	}
	if (t >= 0xd9 && t <= 0xdb) /* str 8/16/32 */
		return sized(r, v, FR_MP_STR, 1u << (t - 0xd9), 0);
	if (t >= 0xdc) /* array 16/32, map 16/32 */
		return take(r, t & 1 ? 4 : 2, &x) ? -1 : items(r, v, t < 0xde ? FR_MP_ARRAY : FR_MP_MAP, x);
	return -1; /* 0xc1 is never used */
}

int fr__rd_skip(fr_rd *r, int depth)
{
	fr_mpv v;
	if (depth < 0 || fr__rd_next(r, &v))
		return -1;
	if (v.kind != FR_MP_ARRAY && v.kind != FR_MP_MAP)
		return 0;
	for (uint64_t k = v.kind == FR_MP_MAP ? 2 * v.u : v.u; k > 0; k--)
		if (fr__rd_skip(r, depth - 1))
			return -1;
	return 0;
}

int fr__rd_uint(fr_rd *r, uint64_t *u)
{
	fr_mpv v;
	if (fr__rd_next(r, &v) || v.kind != FR_MP_UINT)
		return -1;
	*u = v.u;
	return 0;
}

int fr__rd_f64(fr_rd *r, double *f)
{
	fr_mpv v;
	if (fr__rd_next(r, &v) || v.kind != FR_MP_FLOAT)
		return -1;
	*f = v.f;
	return 0;
}

int fr__rd_str(fr_rd *r, const char **s, size_t *n)
{
	fr_mpv v;
	if (fr__rd_next(r, &v) || v.kind != FR_MP_STR)
		return -1;
	*s = (const char *)v.s, *n = v.n;
	return 0;
}

int fr__rd_array(fr_rd *r, uint64_t n)
{
	fr_mpv v;
	return fr__rd_next(r, &v) || v.kind != FR_MP_ARRAY || v.u != n ? -1 : 0;
}
