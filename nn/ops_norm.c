/* ops_norm.c - batch-norm kernels, in phases around the executor's
 * reduction (see nn_impl.h); the per-ISA bodies are in cpu/kernels.inc. */
#include "ops.h"

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

/* ---- the bn op (table entry in ops.c; its passes are the executor's
 * phases, k_exec.c). Saves x - mean's mean and 1/std after the rows. ---- */
int nn_plan_bn(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	nn_plan *me = &pl[id];
	(void)g, (void)batch, (void)err, (void)errlen;
	me->shape = x;
	me->plen = 2 * (size_t)x.c;
	me->slen = 2 * (size_t)x.c;
	me->nsave = nn_shape_numel(x) + x.c;
	me->macs = 2 * (uint64_t)x.c * x.h * x.w;
	return 0;
}

/* gamma 1, beta 0; running mean 0, running var 1 */
void nn_init_bn(const nn_node *d, const nn_plan *p, nn_shape x, float *w, float *s, nn_rng *r)
{
	int c = p->shape.c;
	(void)d, (void)x, (void)r;
	for (int j = 0; j < c; j++) {
		w[j] = 1, w[c + j] = 0;
		s[j] = 0, s[c + j] = 1;
	}
}
