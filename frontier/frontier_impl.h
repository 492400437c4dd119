/* frontier_impl.h - internal state of a frontier, shared by the module's files. */
#ifndef FRONTIER_IMPL_H
#define FRONTIER_IMPL_H

#include "frontier.h"
#include "rec.h"

#include <stdbool.h>

__extension__ typedef __int128 fr_i128;

#define FR_EPS_ONE ((int64_t)1 << 24) /* eps fixed point: (1+eps) = f / 2^24 */
#define FR_ERR_ONE 4294967296.0       /* error keys: error * 2^32 */
#define FR_PASSES 16                  /* parent choice: scan passes before fallback */

/* One member of a pick index: the keys pick compares, kept contiguous. */
typedef struct {
	double err;       /* ranking error (val or test; +inf when unknown) */
	int64_t ax;       /* axis cost key (tie-break) */
	uint64_t macs, params, mem;
	double lat;       /* latency ms; +inf when not measured */
	size_t idx;
} fr_pm;

/* A band member with its keys, so re-checks scan memory in order. */
typedef struct {
	int64_t x, y;
	size_t idx;
} fr_be;

/* A growable array of indices. */
typedef struct {
	size_t *v;
	size_t n, cap;
} fr_vec;

struct fr_frontier {
	fr_opts o;
	int64_t f;          /* round((1 + eps) * 2^24) */
	uint64_t rng;       /* splitmix64 state for parent choice */
	uint64_t choices;   /* parent choices made so far */
	size_t load_n;      /* fr_load_*: the point count the header announced */

	fr_point *pts;      /* insertion order */
	int64_t *kx, *ky;   /* exact keys: axis cost, error * 2^32 */
	size_t n, cap;

	size_t *ht;         /* id hash: index + 1, 0 = empty; hcap a power of 2 */
	size_t hcap;

	fr_vec hull;        /* vertex indices, cost ascending */
	fr_be *band;        /* eligible points, sorted by (kx, ky, index) */
	size_t nb, bcap;
	fr_pm *pm[2];       /* pick index per metric, sorted by (err, ax, index) */
	size_t npm[2], pmcap[2];
};

/* Records are framed and checked by nn/rec (rec.h: msgpack-c only, no nn
 * engine). */
/* FNV-1a, 64 bits: the id hash */
uint64_t fr__fnv(const void *p, size_t n);
/* the message and FR_E* code of nn_rec_open()'s error rc on the record
 * what of len bytes (d: what was found; maxver: the version read) */
int fr__rec_err(int rc, const nn_rec_dec *d, const char *what, int maxver, size_t len, char *err, size_t errlen);
/* snprintf into err when err and errlen are set */
void fr__errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* frontier.c, used by the codec */
int fr__validate_point(const fr_point *p);
int fr__append(fr_frontier *fr, const fr_point *p);      /* store + hash, no hull work */
int fr__vec_reserve(fr_vec *v, size_t n);
int fr__band_reserve(fr_frontier *fr, size_t n);
int fr__pm_reserve(fr_frontier *fr, int m, size_t n);
void fr__pm_fill(const fr_frontier *fr, int m, size_t i, fr_pm *e);
int fr__below(const fr_frontier *fr, size_t i, size_t *pos);
int fr__in_band(const fr_frontier *fr, int64_t x, int64_t y);
fr_i128 fr__cross(const fr_frontier *fr, size_t o, size_t a, size_t b);
int fr__band_less(const fr_frontier *fr, size_t a, size_t b);
int fr__pm_less(const fr_pm *a, const fr_pm *b);

#endif
