/* cpu.h - the hot kernels' function table, one per instruction set, and
 * the one dispatch that picks the best the CPU has at start-up.
 *
 * The kernels are written once (kernels.inc) against a width-agnostic
 * vector layer (vec.h) and compiled once per ISA, each in its own file with
 * its own compiler flags: generic.c (plain C, every CPU, aarch64 too),
 * avx2.c (AVX2 + FMA), avx512.c (AVX-512 F/BW/DQ/VL). nn_cpu() returns the
 * table in use: the best the CPU supports, or the one PETRI_ISA names
 * (generic, avx2, avx512), chosen on first use and never changed behind a
 * running pass. Shapes and semantics are those of nn_impl.h. */
#ifndef NN_CPU_H
#define NN_CPU_H

#include "../nn.h"

#include <stddef.h>
#include <stdint.h>

struct nn_kd;

typedef struct nn_cpu_ops {
	const char *name;
	int lanes;      /* floats per vector register */
	int direct_out; /* kd_conv / kd_dw_conv can write NCHW through an otab */
	void (*kd_conv)(const float *xp, size_t xps, int cin, int cout, const struct nn_kd *g, const float *wp,
			float *y, size_t ys, size_t nq, int acc, const int32_t *otab, const float *bias);
	void (*kd_wgrad)(const float *xp, size_t xps, int cin, const float *dyg, size_t dys, int cout,
			 const struct nn_kd *g, size_t nq, float *dw);
	void (*kd_dw_conv)(const float *xp, int c, const struct nn_kd *g, const float *w, int flip, float *ygrid,
			   const int32_t *otab, const float *bias, int acc);
	void (*kd_dw_wgrad)(const float *xp, int c, const float *dyg, size_t dys, const struct nn_kd *g, float *dw);
	/* 2x2 stride-2 max pool of one plane (row width w) with argmax */
	void (*maxpool22)(const float *x, int w, float *y, int32_t *arg, int oh, int ow);
	void (*bn_stats)(const float *x, nn_shape s, int n0, int n1, int srow, double *part);
	void (*bn_apply)(const float *x, nn_shape s, const float *mean, const float *sc, const float *beta, float *y,
			 float *yr, float *py, int32_t *pa, nn_shape ps, int n0, int n1);
	void (*bn_bwd_sums)(const float *x, nn_shape s, const float *dy, const float *rsc, const float *rbeta,
			    const float *mean, int n0, int n1, double *part);
	void (*bn_bwd_dx)(const float *x, nn_shape s, const float *dy, const float *rsc, const float *rbeta,
			  const float *mean, const float *a, const float *b, const float *c0, float *dx, int n0, int n1,
			  int assign);
	/* elementwise: y = max(x, 0); dx (+)= y > 0 ? dy : 0; y = a + b or y += a (b NULL) */
	void (*relu_fwd)(const float *x, float *y, size_t n);
	void (*relu_bwd)(const float *y, const float *dy, float *dx, size_t n, int assign);
	void (*add)(float *y, const float *a, const float *b, size_t n);
	/* iters rounds of 12 independent vector FMA chains: for measuring peak */
	float (*fma_loop)(long iters, float seed);
} nn_cpu_ops;

/* the table in use (first call: detect, honour PETRI_ISA) */
const nn_cpu_ops *nn_cpu(void);
/* every table built into this binary, best first; NULL-terminated */
extern const nn_cpu_ops *const nn_cpu_all[];

#endif
