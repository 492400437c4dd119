/* msgpack.c - the bounded structural check before msgpack-c unpacks.
 *
 * msgpack-c allocates count * sizeof(object) for an array header before it
 * knows whether the bytes exist; a 5-byte input could ask for 100 GB. Walk
 * the bytes first: every declared element needs at least one byte. Used for
 * every record petri reads: models, store records, frontier state.
 */
#include "nnio.h"

#include <stdint.h>

/* The type bytes 0xc0..0xdf and what follows them:
 *   F  a fixed payload of w bytes (nil, bool, numbers, fixext: type + data)
 *   B  a w-byte big-endian length, then that many bytes (bin, str)
 *   E  a w-byte length, a type byte, then that many bytes (ext)
 *   A  a w-byte element count (array);  M  a w-byte pair count (map)
 *   .  never used (0xc1) */
static const char mp_kind[] = "F.FFBBBEEE" "FFFFFFFFFFFFFFF" "BBBAAMM"; /* 0xc0.., 0xca.., 0xd9.. */
_Static_assert(sizeof mp_kind == 32 + 1, "one kind per type byte 0xc0..0xdf");
static const unsigned char mp_width[32] = {
	0, 0, 0, 0, 1, 2, 4, 1, 2, 4,   /* 0xc0 nil .. 0xc9 ext 32 */
	4, 8, 1, 2, 4, 8, 1, 2, 4, 8,   /* 0xca float 32 .. 0xd3 int 64 */
	2, 3, 5, 9, 17,                 /* 0xd4 fixext 1 .. 0xd8 fixext 16 */
	1, 2, 4, 2, 4, 2, 4             /* 0xd9 str 8 .. 0xdf map 32 */
};

static int need(size_t pos, size_t n, size_t len) { return n <= len && pos <= len - n; }

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int walk(const unsigned char *b, size_t len, size_t *pos, int depth)
{
	if (depth < 0 || *pos >= len)
		return -1;
	unsigned t = b[(*pos)++];
	uint64_t n = 0, items = 0;
	int nest = 0;
	if (t <= 0x7f || t >= 0xe0) /* positive and negative fixint */
		return 0;
	if ((t & 0xe0) == 0xa0) {   /* fixstr */
		n = t & 0x1f;
	} else if ((t & 0xf0) == 0x90) { /* fixarray */
		items = t & 0x0f, nest = 1;
	} else if ((t & 0xf0) == 0x80) { /* fixmap */
		items = 2 * (uint64_t)(t & 0x0f), nest = 1;
	} else {
		char k = mp_kind[t - 0xc0];
		int w = mp_width[t - 0xc0];
		if (k == '.')
			return -1;
		if (k == 'F') {
			n = (uint64_t)w;
		} else {
			if (!need(*pos, (size_t)w, len))
				return -1;
			uint64_t v = be(b + *pos, w);
			*pos += (size_t)w;
			n = k == 'E' ? v + 1 : v;
			items = k == 'M' ? 2 * v : v;
			nest = k == 'A' || k == 'M';
		}
	}
	if (!nest) {
		if (!need(*pos, n, len))
			return -1;
		*pos += n;
		return 0;
	}
	if (items > len - *pos)
		return -1;
	for (uint64_t i = 0; i < items; i++)
		if (walk(b, len, pos, depth - 1))
			return -1;
	return 0;
}

int nn_msgpack_check(const void *buf, size_t len, int depth)
{
	size_t pos = 0;
	if (walk(buf, len, &pos, depth))
		return NN_EFORMAT;
	return pos == len ? 0 : NN_EFORMAT;
}
