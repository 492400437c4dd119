/* ops_linear.c - linear (fully connected) kernels, on the direct kernels of
 * k_direct.c: a 1x1 "conv" whose pixels are the other matrix dimension. The
 * executor splits rows over threads; every kernel here is single-threaded. */
#include "ops.h"

#include <string.h>

size_t nn_k_linear_scratch(int rows, int k, int m)
{
	size_t r8 = (size_t)(rows + 7) / 8 * 8, m8 = (size_t)(m + 7) / 8 * 8;
	size_t a = r8 * k, b = m8 * rows, c = r8 * m;
	size_t s = a > b ? a : b;
	return (s > c ? s : c) + 16;
}

/* wt [k][m], rows [k0, k1), <- W [m][k] */
void nn_k_linear_wt(const float *w, int m, int k, float *wt, int k0, int k1)
{
	/* in 16 x 16 blocks: both sides stay in cache lines already loaded */
	for (int i0 = k0; i0 < k1; i0 += 16) {
		int i1 = i0 + 16 < k1 ? i0 + 16 : k1;
		for (int j0 = 0; j0 < m; j0 += 16) {
			int j1 = j0 + 16 < m ? j0 + 16 : m;
			for (int i = i0; i < i1; i++)
				for (int j = j0; j < j1; j++)
					wt[(size_t)i * m + j] = w[(size_t)j * k + i];
		}
	}
}

/* y [n, m] = x [n, k] W^T + b on rows [n0, n1); wt = W^T [k, m], or NULL:
 * y^T [m][nr] = dot products of W's rows with x's rows (the weight-gradient
 * kernel with W as "dy" and x's rows as taps) */
void nn_k_linear_fwd(const float *x, int n0, int n1, int k, const float *w, const float *wt, const float *b, float *y,
		     int m, float *scratch)
{
	int nr = n1 - n0;
	if (nr <= 0)
		return;
	x += (size_t)n0 * k, y += (size_t)n0 * m;
	if (!wt) {
		NN_ASSERT(nr <= NN_LIN_DOT_ROWS);
		float yt[NN_LIN_DOT_ROWS * 64];
		for (int j0 = 0; j0 < m; j0 += 64) {
			int mj = m - j0 < 64 ? m - j0 : 64;
			memset(yt, 0, sizeof(float) * mj * nr);
			nn_cpu()->kd_wgrad(x, k, nr, w + (size_t)j0 * k, k, mj, &nn_kd_1x1, k, yt);
			for (int i = 0; i < nr; i++)
				for (int j = 0; j < mj; j++)
					y[(size_t)i * m + j0 + j] = yt[j * nr + i] + (b ? b[j0 + j] : 0);
		}
		return;
	}
	/* y [n][q = j] = sum_i x [n][i] wt [i][j] */
	nn_kd_pack_fwd(x, nr, k, 1, scratch);
	nn_cpu()->kd_conv(wt, m, k, nr, &nn_kd_1x1, scratch, y, m, m, 0, NULL, NULL);
	if (b)
		for (int i = 0; i < nr; i++)
			for (int j = 0; j < m; j++)
				y[(size_t)i * m + j] += b[j];
}

void nn_k_linear_bwd(const float *x, int n0, int n1, int k, const float *w, const float *dy, int m,
		     float *dx, float *dw, float *db, float *scratch, int assign)
{
	int nr = n1 - n0;
	if (nr <= 0)
		return;
	x += (size_t)n0 * k, dy += (size_t)n0 * m;
	if (dx)
		dx += (size_t)n0 * k;
	/* dW [j][q = i] += sum_n dy [n][j] x [n][i] */
	nn_kd_pack_bwd(dy, nr, m, 1, scratch);
	nn_cpu()->kd_conv(x, k, nr, m, &nn_kd_1x1, scratch, dw, k, k, 1, NULL, NULL);
	/* dx [n][q = i] += sum_j dy [n][j] W [j][i] */
	if (dx) {
		nn_kd_pack_fwd(dy, nr, m, 1, scratch);
		nn_cpu()->kd_conv(w, k, m, nr, &nn_kd_1x1, scratch, dx, k, k, !assign, NULL, NULL);
	}
	if (db)
		for (int j = 0; j < m; j++) {
			float s = 0;
			for (int i = 0; i < nr; i++)
				s += dy[(size_t)i * m + j];
			db[j] += s;
		}
}

/* ---- the linear op (table entry in ops.c) ---- */
int nn_plan_linear(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	const nn_node *d = &g->nodes[id];
	nn_plan *me = &pl[id];
	size_t chw = (size_t)x.c * x.h * x.w;
	if (d->p.cout < 1) {
		nn_errf(err, errlen, "node %d (linear): bad cout %d", id, d->p.cout);
		return NN_ESHAPE;
	}
	me->shape = (nn_shape){ batch, d->p.cout, 1, 1 };
	me->plen = (size_t)d->p.cout * chw + (d->flags & NN_F_NOBIAS ? 0 : d->p.cout);
	me->macs = (uint64_t)d->p.cout * chw;
	return 0;
}

/* uniform +-1/sqrt(fan_in) */
void nn_init_linear(const nn_node *d, const nn_plan *p, nn_shape x, float *w, float *s, nn_rng *r)
{
	size_t fan_in = (size_t)x.c * x.h * x.w;
	(void)s;
	nn_init_weights(w, (size_t)d->p.cout * fan_in, p->plen, fan_in, 1, r);
}

size_t nn_scratch_linear(const nn_node *d, const nn_plan *p, nn_shape x, int batch)
{
	(void)p;
	return nn_k_linear_scratch(batch, x.c * x.h * x.w, d->p.cout);
}

void nn_fwd_linear(const nn_run *r)
{
	int k = r->xs.c * r->xs.h * r->xs.w, m = r->d->p.cout;
	nn_k_linear_fwd(r->x, r->n0, r->n1, k, r->w, r->wt, nn_run_bias(r), r->y, m, r->scratch);
}

void nn_bwd_linear(const nn_run *r)
{
	int k = r->xs.c * r->xs.h * r->xs.w;
	nn_k_linear_bwd(r->x, r->n0, r->n1, k, r->w, r->dy, r->d->p.cout, r->dxk, r->dw, nn_run_dbias(r), r->scratch,
			r->assign);
}
