/* ops_norm.c - batch-norm kernels, in phases around the executor's
 * reduction (see nn_impl.h); the per-ISA bodies are in cpu/kernels.inc. */
#include "nn_impl.h"

void nn_k_bn_stats(const float *x, nn_shape s, int n0, int n1, int srow, double *part)
{
	nn_cpu()->bn_stats(x, s, n0, n1, srow, part);
}

void nn_k_bn_apply(const float *x, nn_shape s, const float *mean, const float *sc, const float *beta, float *y,
		   float *yr, float *py, int32_t *pa, nn_shape ps, int n0, int n1)
{
	nn_cpu()->bn_apply(x, s, mean, sc, beta, y, yr, py, pa, ps, n0, n1);
}

void nn_k_bn_bwd_sums(const float *x, nn_shape s, const float *dy, const float *rsc, const float *rbeta,
		      const float *mean, int n0, int n1, double *part)
{
	nn_cpu()->bn_bwd_sums(x, s, dy, rsc, rbeta, mean, n0, n1, part);
}

void nn_k_bn_bwd_dx(const float *x, nn_shape s, const float *dy, const float *rsc, const float *rbeta,
		    const float *mean, const float *a, const float *b, const float *c0, float *dx, int n0, int n1,
		    int assign)
{
	nn_cpu()->bn_bwd_dx(x, s, dy, rsc, rbeta, mean, a, b, c0, dx, n0, n1, assign);
}
