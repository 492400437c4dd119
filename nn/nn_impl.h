/* nn_impl.h - internal declarations of nn/: the planned net and kernels. */
#ifndef NN_IMPL_H
#define NN_IMPL_H

#include "nn.h"

#include <stdio.h>
#include <stdarg.h>

typedef struct {
	nn_shape shape;   /* at planned batch */
	size_t out;       /* offset of output in act arena */
	size_t dout;      /* offset of output gradient in act arena */
	size_t save;      /* offset of saved scratch (bn xhat, pool argmax) */
	size_t nsave;
	size_t poff, plen; /* parameters */
	size_t soff, slen; /* state (bn running mean/var) */
	uint64_t macs;     /* per image */
} nn_plan;

struct nn_net {
	nn_graph g;
	int batch, rows;   /* planned batch, rows of the last forward */
	nn_plan *plan;
	int *order;        /* topological order of node ids */
	int norder;
	float *params, *grads, *mom, *state;
	size_t nparams, nstate;
	float *act;
	size_t nact;
	int input;         /* id of the input node */
	float *scratch;    /* per-thread scratch (im2col) */
	size_t scratch_per_thread;
	int nthreads;
	float *dlogits;
};

#define NN_ASSERT(c) do { if (!(c)) { fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

/* parameter and state float counts of a graph (planned at batch 1) */
int nn_plan_sizes(const nn_graph *g, size_t *np, size_t *ns);
void nn_errf(char *err, size_t errlen, const char *fmt, ...);

/* kernels (ops_*.c). Shapes in comments. */
/* conv forward, x [n,cin,h,w] -> y [n,cout,oh,ow] */
void nn_k_conv_fwd(const float *x, nn_shape xs, const float *w, const float *b, float *y, nn_shape ys,
		   const nn_params *p, float *scratch, size_t scratch_per_thread, int nthreads);
void nn_k_conv_bwd(const float *x, nn_shape xs, const float *w, const float *dy, nn_shape ys,
		   const nn_params *p, float *dx, float *dw, float *db, float *scratch, size_t scratch_per_thread,
		   int nthreads);
size_t nn_k_conv_scratch(nn_shape xs, nn_shape ys, const nn_params *p, size_t cin);
void nn_k_linear_fwd(const float *x, int n, int k, const float *w, const float *b, float *y, int m);
void nn_k_linear_bwd(const float *x, int n, int k, const float *w, const float *dy, int m,
		     float *dx, float *dw, float *db);
void nn_k_factred_fwd(const float *x, nn_shape xs, const float *w, float *y, nn_shape ys);
void nn_k_factred_bwd(const float *x, nn_shape xs, const float *w, const float *dy, nn_shape ys,
		      float *dx, float *dw);
void nn_k_pool_fwd(int op, const float *x, nn_shape xs, float *y, nn_shape ys, const nn_params *p, int32_t *arg);
void nn_k_pool_bwd(int op, nn_shape xs, const float *dy, nn_shape ys, const nn_params *p, const int32_t *arg, float *dx);
void nn_k_bn_fwd(const float *x, nn_shape s, const float *gb, float *run, float *y, float *save, int train,
		 float eps, float momentum);
void nn_k_bn_bwd(nn_shape s, const float *gb, const float *dy, const float *save, float *dx, float *dgb);

#endif
