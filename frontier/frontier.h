/* frontier.h - petri's loss-vs-cost frontier: points, lower convex hull,
 * eps-band of eligible parents, parent choice, pick under serving limits,
 * serialization and an SVG plot.
 *
 * Every trained model is a point (fr_point). One cost (the frontier's axis,
 * multiply-adds by default) and the validation error span the plane.
 *
 * Hull: the lower convex hull of the points, non-increasing in error as cost
 * grows: it starts at the cheapest point (lowest error among the cheapest,
 * earliest inserted among exact duplicates) and ends at the cheapest point
 * of lowest error. Collinear points are not vertices. Right of the last
 * vertex the hull is flat:
 *   hull(c) = linear interpolation between vertices, = last error for c >= last cost.
 * Band: a point is eligible as a parent when
 *   error <= (1 + eps) * hull(cost).
 * The predicates are exact: costs and errors are mapped to integer keys
 * (errors in units of 2^-32, latency in nanoseconds, eps in units of 2^-24)
 * and compared in 128-bit integer arithmetic, so the hull and band depend
 * only on the set of points, never on the insertion order or on rounding;
 * two errors within 2^-32 of each other are a tie.
 *
 * Insertion is incremental: O(log h + h) for the hull, and only band members
 * under the part of the hull that moved are re-checked (the hull only goes
 * down as points are added, so a point that left the band never returns).
 * A second structure keeps, for pick, the points not dominated in
 * (MACs, params, memory, latency, error); pick scans it in error order.
 *
 * Ownership: a fr_frontier owns copies of every point it was given; nothing
 * is borrowed from the caller. Pointers returned by fr_point_at() stay valid
 * until the next fr_insert()/fr_rebuild()/fr_free() on that frontier.
 * Buffers returned by fr_encode() and the record encoders are malloc'd and
 * belong to the caller.
 *
 * Threading: none inside; a frontier is used by one thread at a time
 * (read-only calls may run concurrently with each other).
 *
 * Every function that can fail returns 0 or a negative FR_E* code;
 * fr_strerror() names the code.
 */
#ifndef FRONTIER_H
#define FRONTIER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors: -300..-399 (nn has -100..-199, queue -200.., grow -400..,
 * the daemon -500..) ---- */
enum {
	FR_OK = 0,
	FR_EINVAL = -300,    /* bad argument: NaN, negative cost, error outside [0,1], ... */
	FR_ENOMEM = -301,    /* allocation failed */
	FR_EEXIST = -302,    /* a point with this id is already in the frontier */
	FR_ENOTFOUND = -303, /* no point with this id */
	FR_EEMPTY = -304,    /* the frontier has no points */
	FR_ENOPARENT = -305, /* no point is eligible as a parent under the ceilings */
	FR_ENOFIT = -306,    /* no point satisfies the pick limits (cheapest returned) */
	FR_EFORMAT = -307,   /* encoded frontier is malformed */
	FR_EVERSION = -308,  /* encoded frontier has an unsupported version */
	FR_EIO = -309        /* write to the output stream failed */
};
const char *fr_strerror(int err);

/* ---- cost axes (append-only: stored in encoded frontiers) ---- */
enum fr_axis {
	FR_AXIS_MACS = 0,    /* multiply-adds per image, inference */
	FR_AXIS_PARAMS = 1,  /* trainable parameters */
	FR_AXIS_MEMORY = 2,  /* peak live activation bytes, batch 1 inference */
	FR_AXIS_LATENCY = 3, /* measured latency per image, ms */
	FR_AXIS__COUNT
};
const char *fr_axis_name(int axis);      /* "macs", "params", "memory", "latency" */
int fr_axis_from_name(const char *name); /* -1 when unknown */

/* Largest accepted integer cost (2^62) and latency (2^62 ns). */
#define FR_COST_MAX ((uint64_t)1 << 62)
#define FR_IDLEN 40 /* id buffers: up to 39 chars + NUL */

/* A trained model. A plain value; the frontier keeps its own copy. */
typedef struct {
	char id[FR_IDLEN];     /* unique, non-empty */
	char parent[FR_IDLEN]; /* "" for a seed or a warm-start model */
	uint64_t macs;         /* multiply-adds per image */
	uint64_t params;       /* trainable parameters */
	uint64_t mem_bytes;    /* peak live activation bytes, batch 1 */
	double latency_ms;     /* measured per image; 0 = not measured */
	double val_error;      /* 1 - validation accuracy, in [0, 1] */
	double val_loss;       /* validation loss (reported, not ranked) */
	double test_acc;       /* test accuracy in [0, 1]; NaN = not measured */
	int depth;             /* growth steps from the seed, >= 0 */
	int expanded;          /* times chosen as a parent, >= 0 */
} fr_point;

/* ---- frontier ---- */
typedef struct fr_frontier fr_frontier;

typedef struct {
	int axis;      /* FR_AXIS_*, default FR_AXIS_MACS */
	double eps;    /* band tolerance in [0, 1], default 0.025 */
	uint64_t seed; /* parent choice seed, default 1 */
} fr_opts;
void fr_opts_default(fr_opts *o);

/* o may be NULL (defaults). *out is owned by the caller: fr_free(). */
int fr_create(fr_frontier **out, const fr_opts *o);
void fr_free(fr_frontier *fr); /* NULL is fine */
fr_opts fr_get_opts(const fr_frontier *fr);

/* What an insertion changed. */
typedef struct {
	size_t index;     /* the new point's index (insertion order) */
	int on_hull;      /* the new point is a hull vertex */
	int eligible;     /* the new point is in the band */
	size_t hull_removed; /* vertices that stopped being vertices */
	size_t band_removed; /* earlier points that left the band */
} fr_insert_info;

/* Copy p in. p->expanded may be > 0 (a point restored from a store).
 * FR_EINVAL: empty or too long id, NaN or infinite values, cost above
 * FR_COST_MAX, val_error outside [0,1], negative depth or expanded.
 * FR_EEXIST: id already present. info may be NULL. */
int fr_insert(fr_frontier *fr, const fr_point *p, fr_insert_info *info);

/* Make room for n points in all (optional: growth doubles, and a doubling
 * of a large frontier costs one copy of it, so reserve ahead to keep every
 * insert fast). */
int fr_reserve(fr_frontier *fr, size_t n);

size_t fr_count(const fr_frontier *fr);
/* Point i in insertion order, NULL when out of range. Borrowed pointer. */
const fr_point *fr_point_at(const fr_frontier *fr, size_t i);
/* Index of the point with this id, or FR_ENOTFOUND. */
int fr_find(const fr_frontier *fr, const char *id, size_t *index);

/* Hull vertices (indices, cost ascending) and band members (indices, cost
 * ascending, then error, then insertion order). Write up to cap indices to
 * idx (may be NULL with cap 0) and return the total count. */
size_t fr_hull(const fr_frontier *fr, size_t *idx, size_t cap);
size_t fr_band(const fr_frontier *fr, size_t *idx, size_t cap);
/* Hull error at a cost on the frontier's axis (flat beyond the last vertex,
 * the first vertex's error before the first). FR_EEMPTY without points. */
int fr_hull_at(const fr_frontier *fr, double cost, double *error);
/* 1 when point i is in the band, 0 when not (or out of range). */
int fr_is_eligible(const fr_frontier *fr, size_t i);
/* Cost of point p on the frontier's axis, as a double (latency in ms). */
double fr_cost(const fr_frontier *fr, const fr_point *p);

/* Sizes of the derived sets. */
typedef struct {
	size_t points, hull, band, pick_val, pick_test;
	uint64_t choices; /* parent choices made */
} fr_stats;
void fr_get_stats(const fr_frontier *fr, fr_stats *s);

/* Recompute hull, band and pick index from all points (same result as the
 * incremental updates; used by tests and after bulk changes). */
int fr_rebuild(fr_frontier *fr);

/* ---- parent choice ----
 * Eligible = in the band, macs <= max_macs, depth < max_depth (a child
 * would be one level deeper). Among the eligible, scan from most to least
 * costly (on the axis), accepting each with probability 1/(expanded + 1),
 * wrapping around up to 16 passes; if nothing is accepted, take the
 * eligible point expanded fewest times (most costly on ties). So a point
 * never expanded is taken whenever the scan reaches it, and a point
 * expanded k times is passed over with probability k/(k+1): the choice
 * favours the least expanded, leaning to the costly end as the original
 * Petridish did. The chosen point's expanded count is incremented. The generator
 * lives in the frontier (seeded by fr_opts.seed, carried by fr_encode), so
 * the choice depends only on the seed and the history of inserts and
 * choices. */
typedef struct {
	uint64_t max_macs; /* 0 = no ceiling */
	int max_depth;     /* 0 = no ceiling */
} fr_ceilings;

typedef struct {
	size_t index;
	char id[FR_IDLEN];
	int expanded;      /* count after this choice */
	char reason[320];  /* human-readable, for the event log */
} fr_choice;

/* FR_EEMPTY without points; FR_ENOPARENT when no band member passes the
 * ceilings (out->reason says why). c may be NULL (no ceilings). */
int fr_choose(fr_frontier *fr, const fr_ceilings *c, fr_choice *out);

/* ---- pick under serving limits ----
 * Lowest error (validation or test, by metric) among ALL points satisfying
 * every limit; ties go to the lower axis cost, then the earlier point. A
 * point with latency 0 (not measured) fails a latency limit; a point
 * without a test accuracy ranks last under FR_METRIC_TEST. */
enum { FR_METRIC_VAL = 0, FR_METRIC_TEST = 1 };
typedef struct {
	uint64_t max_macs, max_params, max_mem_bytes; /* 0 = no limit */
	double max_latency_ms;                        /* 0 = no limit */
	int metric;                                   /* FR_METRIC_* */
} fr_limits;

/* 0 and *index = the pick; FR_ENOFIT and *index = the cheapest point on the
 * axis (lowest error among equals), so a caller can print its costs;
 * FR_EEMPTY without points; FR_EINVAL for bad limits. */
int fr_pick(const fr_frontier *fr, const fr_limits *l, size_t *index);

/* ---- serialization ----
 * ["PETRIFRT", version, {map}, check] MessagePack: options, generator state, the
 * points as columns, hull, band and pick index, in one record (the format
 * of stores written before per-record state; still read and written).
 * *buf is malloc'd (caller frees). Decode never reads or allocates beyond
 * the bytes it is given, validates every field,
 * checks hull and band against the points (O(n log h), no sort) and the
 * pick index's range and order, and returns nothing on error; err (may be
 * NULL) receives a message. *out belongs to the caller. */
#define FR_MAGIC "PETRIFRT"
#define FR_VERSION 2
int fr_encode(const fr_frontier *fr, char **buf, size_t *len);
int fr_decode(fr_frontier **out, const void *buf, size_t len, char *err, size_t errlen);

/* ---- per-record state ----
 * The same state as O(1)-sized records, so that a store rewrites only what
 * changed: one header (options, generator state, choices made, point
 * count) and one record per point (its values, expanded count and index in
 * insertion order). fr_insert() changes the new point's record and the
 * header; fr_choose() the chosen point's record (its expanded count) and
 * the header. Records are MessagePack [magic, version, fields..., check],
 * framed and checked by nn/rec;
 * buffers from *_encode are malloc'd and belong to the caller.
 * Loading: fr_load_begin() on the header, fr_load_point() on every point
 * record in index order, fr_load_end() checks that the header's count
 * arrived and rebuilds hull, band and pick index (O(n log n), once). On an
 * error err says why and the caller frees the frontier (fr_free). */
#define FR_HEADER_MAGIC "PETRIFRH"
#define FR_POINT_MAGIC "PETRIFRP"
#define FR_REC_VERSION 2
int fr_header_encode(const fr_frontier *fr, char **buf, size_t *len);
/* FR_EINVAL when i >= fr_count(fr) */
int fr_point_encode(const fr_frontier *fr, size_t i, char **buf, size_t *len);
/* One point record: its values and index, checked as fr_insert checks. */
int fr_point_decode(const void *buf, size_t len, size_t *index, fr_point *p, char *err, size_t errlen);
int fr_load_begin(fr_frontier **out, const void *buf, size_t len, char *err, size_t errlen);
int fr_load_point(fr_frontier *fr, const void *buf, size_t len, char *err, size_t errlen);
int fr_load_end(fr_frontier *fr, char *err, size_t errlen);

/* ---- plot ----
 * SVG scatter of all points (cost on x, validation error in % on y), the
 * hull polyline, the shaded eps-band, points chosen as parents (expanded >
 * 0), the picked point, axes with units and a legend. */
typedef struct {
	int width, height;  /* pixels, default 900 x 600 */
	int log_x;          /* -1 auto (log when costs span > 30x), 0 linear, 1 log */
	const char *title;  /* NULL: "petri frontier" */
	long pick;          /* index of the picked point to mark, -1 none */
} fr_svg_opts;
void fr_svg_opts_default(fr_svg_opts *o);
/* o may be NULL. FR_EIO when writing to f fails. */
int fr_svg(const fr_frontier *fr, FILE *f, const fr_svg_opts *o);

#ifdef __cplusplus
}
#endif
#endif
