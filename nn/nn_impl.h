/* nn_impl.h - internal declarations of nn/: the planned net and kernels. */
#ifndef NN_IMPL_H
#define NN_IMPL_H

#include "nn.h"

#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>

typedef struct {
	nn_shape shape;   /* at planned batch */
	size_t out;       /* offset of output in act arena */
	size_t dout;      /* offset of output gradient in act arena */
	size_t save;      /* offset of saved scratch (bn xhat, pool argmax) */
	size_t nsave;
	size_t poff, plen; /* parameters */
	size_t soff, slen; /* state (bn running mean/var) */
	uint64_t macs;     /* per image */
	int algo;          /* conv: NN_CONV_*, pools: NN_POOL_*; chosen once at plan time */
} nn_plan;

struct nn_net {
	nn_graph g;
	int batch;         /* planned batch */
	nn_plan *plan;
	int *order;        /* topological order of node ids */
	int norder;
	int input;         /* id of the input node */
	float *params, *grads, *mom, *state;
	size_t nparams, nstate;
	float *act;        /* activations: outputs, output gradients, saves */
	size_t nact;
	struct nn_exec *ex; /* the executor (exec.h) */
};

#define NN_ASSERT(c) do { if (!(c)) { fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

/* plan a whole graph at batch (plan.c): pl and order have g->n entries;
 * *input gets the input node's id */
int nn_plan_graph(const nn_graph *g, int batch, nn_plan *pl, int *order, int *input, char *err, size_t errlen);

/* kernels (ops_*.c, k_*.c). Shapes in comments. Unless said otherwise a
 * kernel is single-threaded and handles images [n0, n1) of the batch: the
 * executor splits the batch over its threads. Weight gradients go to the
 * calling thread's gradient buffer (+=). */
/* How a conv runs: decided once per node at plan time (nn_plan.algo) by
 * nn_conv_algo, the only function that looks at the params to choose; its
 * scratch, cache, forward and backward all take the stored algo. */
enum {
	NN_CONV_PW = 1,   /* dense 1x1 stride 1: direct kernels on the plain layout */
	NN_CONV_GRID,     /* dense stride-1 "same" (k <= 7): the padded grid (k_direct.c) */
	NN_CONV_GRID_DW,  /* depthwise stride-1 "same": the padded grid */
	NN_CONV_GRID_S2,  /* depthwise stride 2: grid of parity phases; backward as DWLOOP */
	NN_CONV_DWLOOP,   /* other depthwise: direct loops */
	NN_CONV_GEMM,     /* the rest but grouped 1x1: im2col + sgemm per group */
	NN_CONV_GEMM_1X1, /* grouped 1x1 stride 1 unpadded: sgemm per group on x itself */
};
int nn_conv_algo(nn_shape xs, const nn_params *p);
/* conv, x [n,cin,h,w] -> y [n,cout,oh,ow]; scratch: nn_k_conv_scratch
 * floats; cache (may be NULL): nn_k_conv_cache floats kept by the caller
 * for this node and thread, holding packed weights and store tables, filled
 * when first is set (the first call of a pass) */
void nn_k_conv_fwd(const float *x, nn_shape xs, const float *w, const float *b, float *y, nn_shape ys,
		   const nn_params *p, int algo, int n0, int n1, float *scratch, float *cache, int first);
/* assign: dx is stored, not accumulated; dx NULL: no input gradient (the
 * network's input), only dw and db */
void nn_k_conv_bwd(const float *x, nn_shape xs, const float *w, const float *dy, nn_shape ys,
		   const nn_params *p, int algo, float *dx, float *dw, float *db, int n0, int n1, float *scratch,
		   int assign, float *cache, int first);
size_t nn_k_conv_cache(nn_shape xs, const nn_params *p, int algo);
size_t nn_k_conv_scratch(nn_shape xs, nn_shape ys, const nn_params *p, int algo);
/* linear on rows [n0, n1): x [n, k], W [m, k], y [n, m]; forward takes
 * wt = W^T [k, m], made by nn_k_linear_wt (rows [k0, k1) of it), or NULL
 * for a forward of at most NN_LIN_DOT_ROWS rows (batch-1 latency), which
 * takes dot products with W's rows instead of transposing W each time */
#define NN_LIN_DOT_ROWS 4
void nn_k_linear_wt(const float *w, int m, int k, float *wt, int k0, int k1);
void nn_k_linear_fwd(const float *x, int n0, int n1, int k, const float *w, const float *wt, const float *b, float *y,
		     int m, float *scratch);
void nn_k_linear_bwd(const float *x, int n0, int n1, int k, const float *w, const float *dy, int m,
		     float *dx, float *dw, float *db, float *scratch, int assign);
size_t nn_k_linear_scratch(int rows, int k, int m);
void nn_k_factred_fwd(const float *x, nn_shape xs, const float *w, float *y, nn_shape ys, int n0, int n1,
		      float *scratch);
void nn_k_factred_bwd(const float *x, nn_shape xs, const float *w, const float *dy, nn_shape ys,
		      float *dx, float *dw, int n0, int n1, float *scratch);
size_t nn_k_factred_scratch(nn_shape xs, nn_shape ys);
/* pooling, decided once per node at plan time (nn_plan.algo) */
enum {
	NN_POOL_MAX = 1,  /* max over the in-bounds window, argmax saved */
	NN_POOL_MAX22,    /* 2x2 stride-2 unpadded max pool: the per-ISA kernel */
	NN_POOL_AVG,      /* mean over the in-bounds part of the window */
};
int nn_pool_algo(int op, const nn_params *p);
/* outputs of a pool along a side of n inputs padded by a and b */
int nn_pool_out(int n, int k, int s, int a, int b, int ceil_mode);
void nn_k_pool_fwd(int algo, const float *x, nn_shape xs, float *y, nn_shape ys, const nn_params *p, int32_t *arg,
		   int n0, int n1);
void nn_k_pool_bwd(int algo, nn_shape xs, const float *dy, nn_shape ys, const nn_params *p, const int32_t *arg,
		   float *dx, int n0, int n1, int assign);
/* batch norm over (n, h, w) per channel, in phases around the executor's
 * reduction. stats: part [2c] += sums of (x - shift) and (x - shift)^2 over
 * rows [n0, n1), shift[c] = x[srow, c, 0, 0]. */
void nn_k_bn_stats(const float *x, nn_shape s, int n0, int n1, int srow, double *part);
/* y = (x - mean[c]) sc[c] + beta[c] on rows [n0, n1); yr (may be NULL): also
 * yr = max(y, 0), a fused relu; py (may be NULL, needs yr): also the 2x2
 * stride-2 max pool of yr, shape ps, argmax pa */
void nn_k_bn_apply(const float *x, nn_shape s, const float *mean, const float *sc, const float *beta, float *y,
		   float *yr, float *py, int32_t *pa, nn_shape ps, int n0, int n1);
/* bwd sums over rows: part [2c] += sum dy, sum dy (x - mean). rsc (may be
 * NULL): a fused relu follows, dy is its output gradient, masked where the
 * bn output (x - mean) rsc + rbeta is not > 0 (as the forward computed it) */
void nn_k_bn_bwd_sums(const float *x, nn_shape s, const float *dy, const float *rsc, const float *rbeta,
		      const float *mean, int n0, int n1, double *part);
/* dx (+)= a[c] dy + b[c] (x - mean[c]) + c0[c] on rows (dy masked as above);
 * assign: store instead of add */
void nn_k_bn_bwd_dx(const float *x, nn_shape s, const float *dy, const float *rsc, const float *rbeta,
		    const float *mean, const float *a, const float *b, const float *c0, float *dx, int n0, int n1,
		    int assign);


/* direct stride-1 "same" convolution on a padded grid (k_direct.c; the
 * kernels are per instruction set in cpu/, reached through nn_cpu()) */
#define NN_KD_MAXTAPS 49
#define NN_KD_CB 8  /* output channels per block of packed weights */
#define NN_KD_Q 48  /* grids are whole multiples of this many positions */
typedef struct nn_kd {
	int k, pad, dil, h, w, wp, hp;
	size_t gs;     /* grid floats per channel of the output, rounded to the tile */
	size_t ps;     /* plane stride of a padded input */
	size_t maxoff, slack;
	int toff[NN_KD_MAXTAPS];
} nn_kd;
int nn_kd_fits(nn_shape xs, const nn_params *p);
int nn_kd_fits_s2(nn_shape xs, const nn_params *p);
void nn_kd_geom_s2(nn_shape xs, const nn_params *p, nn_kd *g);
void nn_kd_pad_s2(const float *x, int c, int ih, int iw, const nn_kd *g, float *xp);
void nn_kd_geom(nn_shape xs, const nn_params *p, nn_kd *g);
/* a 1x1 kernel over flat planes (linear layers, factorized reduction) */
extern const nn_kd nn_kd_1x1;
size_t nn_kd_padsize(int c, const nn_kd *g);
void nn_kd_pad(const float *x, int c, const nn_kd *g, float *xp);
void nn_kd_unpad(const float *grid, int c, const nn_kd *g, const float *b, float *y, int acc);
size_t nn_kd_packsize(int cout, int cin, int kk);
void nn_kd_pack_fwd(const float *w, int cout, int cin, int kk, float *wp);
void nn_kd_pack_bwd(const float *w, int cout, int cin, int kk, float *wq);
/* otab [gs/16][2] for nn_cpu()->direct_out kernels, which then write y as
 * NCHW with the grid's junk dropped */
void nn_kd_otab(const nn_kd *g, int32_t *otab);

#include "cpu/cpu.h"

#endif
