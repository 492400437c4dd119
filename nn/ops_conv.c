/* ops_conv.c - convolution and factorized reduction kernels.
 *
 * Every kernel here is single-threaded over images [n0, n1) of the batch;
 * the executor (k_exec.c) runs one OpenMP region per pass and splits the
 * batch over its threads, so BLAS calls here run single-threaded.
 * conv: stride-1 "same" convs (dense and depthwise) run the direct grid
 * kernels of k_direct.c; the rest per image im2col + sgemm (or a direct
 * depthwise loop).
 */
#include "ops.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

static int is_depthwise(nn_shape xs, const nn_params *p)
{
	return p->groups == xs.c && p->cout == xs.c && p->groups > 1;
}

static int is_pointwise(const nn_params *p)
{
	return p->k == 1 && p->stride == 1 && p->pad == 0;
}

int nn_conv_algo(nn_shape xs, const nn_params *p)
{
	int dw = is_depthwise(xs, p);
	if (nn_kd_fits(xs, p))
		return is_pointwise(p) && p->groups == 1 ? NN_CONV_PW : dw ? NN_CONV_GRID_DW : NN_CONV_GRID;
	if (nn_kd_fits_s2(xs, p))
		return NN_CONV_GRID_S2;
	return dw ? NN_CONV_DWLOOP : is_pointwise(p) ? NN_CONV_GEMM_1X1 : NN_CONV_GEMM;
}

/* outputs [*lo, *hi) of a row (or column) of n outputs whose input ox s + d
 * lies in [0, w) */
static void in_range(int w, int d, int s, int n, int *lo, int *hi)
{
	int a = d >= 0 ? 0 : (-d + s - 1) / s;
	int b = (w - 1 - d) < 0 ? 0 : (w - 1 - d) / s + 1;
	if (b > n)
		b = n;
	*lo = a > b ? b : a, *hi = b;
}

/* tap (ki, kj) of a k x k kernel: output (oy, ox) reads input row oy s + ry,
 * column ox s + rx; in bounds for oy in [y0, y1), ox in [x0, x1) */
typedef struct {
	int ry, rx, y0, y1, x0, x1;
} tap;

static tap tap_of(const nn_params *p, int ki, int kj, int h, int w, int oh, int ow)
{
	tap t;
	t.ry = ki * p->dil - p->pad, t.rx = kj * p->dil - p->pad;
	in_range(h, t.ry, p->stride, oh, &t.y0, &t.y1);
	in_range(w, t.rx, p->stride, ow, &t.x0, &t.x1);
	return t;
}

/* y [c, hw] += b[c] */
static void add_bias(float *y, const float *b, int c, int hw)
{
	for (int ch = 0; ch < c; ch++)
		for (int i = 0; i < hw; i++)
			y[(size_t)ch * hw + i] += b[ch];
}

/* col [cin*k*k, oh*ow] from x [cin, h, w] */
static void im2col(const float *x, int cin, int h, int w, const nn_params *p, int oh, int ow, float *col)
{
	int k = p->k, s = p->stride;
	for (int c = 0; c < cin; c++)
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				float *row = col + (((size_t)c * k + ki) * k + kj) * oh * ow;
				const float *xc = x + (size_t)c * h * w;
				tap q = tap_of(p, ki, kj, h, w, oh, ow);
				for (int oy = 0; oy < oh; oy++) {
					float *r = row + (size_t)oy * ow;
					if (oy < q.y0 || oy >= q.y1) {
						memset(r, 0, sizeof(float) * ow);
						continue;
					}
					const float *xr = xc + (size_t)(oy * s + q.ry) * w;
					for (int ox = 0; ox < q.x0; ox++)
						r[ox] = 0;
					if (s == 1)
						memcpy(r + q.x0, xr + q.x0 + q.rx, sizeof(float) * (q.x1 - q.x0));
					else
						for (int ox = q.x0; ox < q.x1; ox++)
							r[ox] = xr[ox * s + q.rx];
					for (int ox = q.x1; ox < ow; ox++)
						r[ox] = 0;
				}
			}
}

/* dx [cin, h, w] += col2im(dcol) */
static void col2im(const float *col, int cin, int h, int w, const nn_params *p, int oh, int ow, float *x)
{
	int k = p->k, s = p->stride;
	for (int c = 0; c < cin; c++)
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				const float *row = col + (((size_t)c * k + ki) * k + kj) * oh * ow;
				float *xc = x + (size_t)c * h * w;
				tap q = tap_of(p, ki, kj, h, w, oh, ow);
				for (int oy = q.y0; oy < q.y1; oy++) {
					const float *r = row + (size_t)oy * ow;
					float *xr = xc + (size_t)(oy * s + q.ry) * w + q.rx;
					for (int ox = q.x0; ox < q.x1; ox++)
						xr[ox * s] += r[ox];
				}
			}
}

/* depthwise: y[c] = sum_{ki,kj} w[c,ki,kj] x[c, oy*s-pad+ki*dil, ox*s-pad+kj*dil] */
static void dw_fwd(const float *x, int c, int h, int w, const float *wt, const float *b, float *y,
		   const nn_params *p, int oh, int ow)
{
	int k = p->k, s = p->stride;
	for (int ch = 0; ch < c; ch++) {
		float *yc = y + (size_t)ch * oh * ow;
		const float *xc = x + (size_t)ch * h * w;
		float bv = b ? b[ch] : 0;
		for (int i = 0; i < oh * ow; i++)
			yc[i] = bv;
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				float wv = wt[((size_t)ch * k + ki) * k + kj];
				tap q = tap_of(p, ki, kj, h, w, oh, ow);
				for (int oy = q.y0; oy < q.y1; oy++) {
					const float *xr = xc + (size_t)(oy * s + q.ry) * w + q.rx;
					float *yr = yc + (size_t)oy * ow;
					if (s == 1)
						for (int ox = q.x0; ox < q.x1; ox++)
							yr[ox] += wv * xr[ox];
					else
						for (int ox = q.x0; ox < q.x1; ox++)
							yr[ox] += wv * xr[ox * s];
				}
			}
	}
}

static void dw_bwd(const float *x, int c, int h, int w, const float *wt, const float *dy, float *dx,
		   float *dwt, const nn_params *p, int oh, int ow)
{
	int k = p->k, s = p->stride;
	for (int ch = 0; ch < c; ch++) {
		const float *dyc = dy + (size_t)ch * oh * ow;
		const float *xc = x + (size_t)ch * h * w;
		float *dxc = dx ? dx + (size_t)ch * h * w : NULL;
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				size_t wi = ((size_t)ch * k + ki) * k + kj;
				float wv = wt[wi], gw = 0;
				tap q = tap_of(p, ki, kj, h, w, oh, ow);
				for (int oy = q.y0; oy < q.y1; oy++) {
					size_t io = (size_t)(oy * s + q.ry) * w + q.rx;
					const float *dyr = dyc + (size_t)oy * ow;
					for (int ox = q.x0; ox < q.x1; ox++)
						gw += dyr[ox] * xc[io + (size_t)ox * s];
					if (dxc)
						for (int ox = q.x0; ox < q.x1; ox++)
							dxc[io + (size_t)ox * s] += wv * dyr[ox];
				}
				dwt[wi] += gw;
			}
	}
}


/* scratch layout, direct path:  packed weights | padded x | padded dy | grid
 * generic path: col [K, oh*ow] */
size_t nn_k_conv_scratch(nn_shape xs, nn_shape ys, const nn_params *p, int algo)
{
	nn_kd g;
	switch (algo) {
	case NN_CONV_PW: {
		size_t a = nn_kd_packsize(p->cout, xs.c, 1), b = nn_kd_packsize(xs.c, p->cout, 1);
		return a > b ? a : b;
	}
	case NN_CONV_GRID: case NN_CONV_GRID_DW: {
		nn_kd_geom(xs, p, &g);
		int kk = p->k * p->k;
		size_t pk = 0;
		if (algo == NN_CONV_GRID) {
			size_t a = nn_kd_packsize(p->cout, xs.c, kk), b = nn_kd_packsize(xs.c, p->cout, kk);
			pk = (a > b ? a : b) + 16;
		}
		int cm = xs.c > p->cout ? xs.c : p->cout;
		return pk + nn_kd_padsize(xs.c, &g) + 16 + nn_kd_padsize(p->cout, &g) + 16 + (size_t)cm * g.gs + 16 + g.gs / 8 + 16;
	}
	case NN_CONV_GRID_S2: /* backward: the depthwise loops, no scratch */
		nn_kd_geom_s2(xs, p, &g);
		return nn_kd_padsize(xs.c, &g) + 16 + (size_t)xs.c * g.gs + 16 + g.gs / 8 + 16;
	case NN_CONV_DWLOOP:
		return 0;
	case NN_CONV_GEMM_1X1:
		return 0;
	default:
		NN_ASSERT(algo == NN_CONV_GEMM);
		return (size_t)(xs.c / p->groups) * p->k * p->k * ys.h * ys.w;
	}
}

size_t nn_k_conv_cache(nn_shape xs, const nn_params *p, int algo)
{
	if (algo != NN_CONV_PW && algo != NN_CONV_GRID && algo != NN_CONV_GRID_DW)
		return 0;
	nn_kd g;
	nn_kd_geom(xs, p, &g);
	int kk = p->k * p->k, dense = algo != NN_CONV_GRID_DW;
	size_t pf = dense ? nn_kd_packsize(p->cout, xs.c, kk) : 0, pb = dense ? nn_kd_packsize(xs.c, p->cout, kk) : 0;
	/* store table of the grid paths (nn_kd_otab) */
	size_t ot = algo == NN_CONV_PW ? 0 : g.gs / 8 + 16;
	return (pf + pb + ot + 15) & ~(size_t)15;
}

static float *al16(float *p) { return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

/* the sizes both directions of a conv use */
typedef struct {
	int G, cin_g, cout_g; /* groups, channels per group */
	int K, ohw;           /* im2col rows per group, output pixels */
	int dw, pw;           /* algo is the depthwise grid; the grouped 1x1 */
	size_t xsz, ysz;      /* floats per image of x and y */
} cdims;

static cdims conv_dims(nn_shape xs, nn_shape ys, const nn_params *p, int algo)
{
	cdims z;
	z.G = p->groups, z.cin_g = xs.c / z.G, z.cout_g = p->cout / z.G;
	z.K = z.cin_g * p->k * p->k, z.ohw = ys.h * ys.w;
	z.dw = algo == NN_CONV_GRID_DW, z.pw = algo == NN_CONV_GEMM_1X1;
	z.xsz = (size_t)xs.c * xs.h * xs.w, z.ysz = (size_t)ys.c * z.ohw;
	return z;
}

void nn_k_conv_fwd(const float *x, nn_shape xs, const float *w, const float *b, float *y, nn_shape ys,
		   const nn_params *p, int algo, int n0, int n1, float *scratch, float *cache, int first)
{
	cdims z = conv_dims(xs, ys, p, algo);
	if (n0 >= n1)
		return;
	if (algo == NN_CONV_PW) {
		/* 1x1: the plain layout is the grid; no copies */
		nn_kd g;
		nn_kd_geom(xs, p, &g);
		float *wp = cache ? cache : scratch;
		if (!cache || first)
			nn_kd_pack_fwd(w, p->cout, xs.c, 1, wp);
		for (int n = n0; n < n1; n++) {
			float *yn = y + (size_t)n * z.ysz;
			nn_cpu()->kd_conv(x + (size_t)n * z.xsz, z.ohw, xs.c, p->cout, &g, wp, yn, z.ohw, z.ohw, 0, NULL, NULL);
			if (b)
				add_bias(yn, b, ys.c, z.ohw);
		}
		return;
	}
	if (algo == NN_CONV_GRID || algo == NN_CONV_GRID_DW) {
		nn_kd g;
		nn_kd_geom(xs, p, &g);
		int kk = p->k * p->k;
		float *wp = cache ? cache : scratch, *xp = scratch, *grid;
		if (!z.dw) {
			if (!cache || first)
				nn_kd_pack_fwd(w, p->cout, xs.c, kk, wp);
			xp = al16(scratch + nn_kd_packsize(p->cout, xs.c, kk));
		}
		grid = al16(xp + nn_kd_padsize(xs.c, &g));
		int32_t *ot = NULL;
		if (nn_cpu()->direct_out) {
			size_t pf = z.dw ? 0 : nn_kd_packsize(p->cout, xs.c, kk), pb = z.dw ? 0 : nn_kd_packsize(xs.c, p->cout, kk);
			ot = cache ? (int32_t *)(cache + pf + pb) : (int32_t *)grid;
			if (!cache || first)
				nn_kd_otab(&g, ot);
		}
		for (int n = n0; n < n1; n++) {
			float *yn = y + (size_t)n * z.ysz;
			nn_kd_pad(x + (size_t)n * z.xsz, xs.c, &g, xp);
			if (z.dw)
				nn_cpu()->kd_dw_conv(xp, xs.c, &g, w, 0, ot ? yn : grid, ot, b, 0);
			else
				nn_cpu()->kd_conv(xp, g.ps, xs.c, p->cout, &g, wp, ot ? yn : grid, ot ? (size_t)z.ohw : g.gs, g.gs, 0,
					   ot, b);
			if (!ot)
				nn_kd_unpad(grid, p->cout, &g, b, yn, 0);
		}
		return;
	}
	if (algo == NN_CONV_GRID_S2) {
		nn_kd g;
		nn_kd_geom_s2(xs, p, &g);
		NN_ASSERT(g.h == ys.h && g.w == ys.w);
		float *xp = scratch, *grid = al16(xp + nn_kd_padsize(xs.c, &g));
		int32_t *ot = NULL;
		if (nn_cpu()->direct_out) {
			ot = (int32_t *)al16(grid + (size_t)xs.c * g.gs);
			nn_kd_otab(&g, ot);
		}
		for (int n = n0; n < n1; n++) {
			float *yn = y + (size_t)n * z.ysz;
			nn_kd_pad_s2(x + (size_t)n * z.xsz, xs.c, xs.h, xs.w, &g, xp);
			nn_cpu()->kd_dw_conv(xp, xs.c, &g, w, 0, ot ? yn : grid, ot, b, 0);
			if (!ot)
				nn_kd_unpad(grid, p->cout, &g, b, yn, 0);
		}
		return;
	}
	NN_ASSERT(algo == NN_CONV_DWLOOP || algo == NN_CONV_GEMM || algo == NN_CONV_GEMM_1X1);
	float *col = scratch;
	for (int n = n0; n < n1; n++) {
		const float *xn = x + (size_t)n * z.xsz;
		float *yn = y + (size_t)n * z.ysz;
		if (algo == NN_CONV_DWLOOP) {
			dw_fwd(xn, xs.c, xs.h, xs.w, w, b, yn, p, ys.h, ys.w);
			continue;
		}
		for (int gi = 0; gi < z.G; gi++) {
			const float *src = xn + (size_t)gi * z.cin_g * xs.h * xs.w;
			if (!z.pw) {
				im2col(src, z.cin_g, xs.h, xs.w, p, ys.h, ys.w, col);
				src = col;
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, z.cout_g, z.ohw, z.K, 1.0f,
				    w + (size_t)gi * z.cout_g * z.K, z.K, src, z.ohw, 0.0f, yn + (size_t)gi * z.cout_g * z.ohw, z.ohw);
		}
		if (b)
			add_bias(yn, b, ys.c, z.ohw);
	}
}

void nn_k_conv_bwd(const float *x, nn_shape xs, const float *w, const float *dy, nn_shape ys,
		   const nn_params *p, int algo, float *dx, float *dwt, float *db, int n0, int n1, float *scratch,
		   int assign, float *cache, int first)
{
	cdims z = conv_dims(xs, ys, p, algo);
	if (n0 >= n1)
		return;
	if (db)
		for (int n = n0; n < n1; n++) {
			const float *dyn = dy + (size_t)n * z.ysz;
			for (int c = 0; c < ys.c; c++) {
				float s = 0;
				for (int i = 0; i < z.ohw; i++)
					s += dyn[(size_t)c * z.ohw + i];
				db[c] += s;
			}
		}
	if (algo == NN_CONV_PW) {
		nn_kd g;
		nn_kd_geom(xs, p, &g);
		float *wq = cache ? cache + nn_kd_packsize(p->cout, xs.c, 1) : scratch;
		if (!cache || first)
			nn_kd_pack_bwd(w, p->cout, xs.c, 1, wq);
		for (int n = n0; n < n1; n++) {
			const float *xn = x + (size_t)n * z.xsz, *dyn = dy + (size_t)n * z.ysz;
			nn_cpu()->kd_wgrad(xn, z.ohw, xs.c, dyn, z.ohw, p->cout, &g, z.ohw, dwt);
			if (dx)
				nn_cpu()->kd_conv(dyn, z.ohw, p->cout, xs.c, &g, wq, dx + (size_t)n * z.xsz, z.ohw, z.ohw, !assign, NULL,
						  NULL);
		}
		return;
	}
	if (algo == NN_CONV_GRID || algo == NN_CONV_GRID_DW) {
		nn_kd g;
		nn_kd_geom(xs, p, &g);
		int kk = p->k * p->k;
		size_t pf = z.dw ? 0 : nn_kd_packsize(p->cout, xs.c, kk), pb = z.dw ? 0 : nn_kd_packsize(xs.c, p->cout, kk);
		float *wq = cache ? cache + pf : scratch, *xp = scratch, *dyp, *grid;
		if (!z.dw) {
			if (!cache || first)
				nn_kd_pack_bwd(w, p->cout, xs.c, kk, wq);
			xp = al16(scratch + pb);
		}
		dyp = al16(xp + nn_kd_padsize(xs.c, &g));
		grid = al16(dyp + nn_kd_padsize(p->cout, &g));
		int32_t *ot = NULL;
		if (nn_cpu()->direct_out) {
			ot = cache ? (int32_t *)(cache + pf + pb) : (int32_t *)grid;
			if (!cache || first)
				nn_kd_otab(&g, ot);
		}
		/* output gradient on the grid: dypad shifted by (pad, pad) */
		const float *dyg = dyp + (size_t)g.pad * g.wp + g.pad;
		for (int n = n0; n < n1; n++) {
			nn_kd_pad(x + (size_t)n * z.xsz, xs.c, &g, xp);
			nn_kd_pad(dy + (size_t)n * z.ysz, p->cout, &g, dyp);
			if (z.dw)
				nn_cpu()->kd_dw_wgrad(xp, xs.c, dyg, g.ps, &g, dwt);
			else
				nn_cpu()->kd_wgrad(xp, g.ps, xs.c, dyg, g.ps, p->cout, &g, g.gs, dwt);
			if (!dx)
				continue;
			float *dxn = dx + (size_t)n * z.xsz;
			if (z.dw)
				nn_cpu()->kd_dw_conv(dyp, xs.c, &g, w, 1, ot ? dxn : grid, ot, NULL, !assign);
			else
				nn_cpu()->kd_conv(dyp, g.ps, p->cout, xs.c, &g, wq, ot ? dxn : grid, ot ? (size_t)xs.h * xs.w : g.gs,
						  g.gs, ot && !assign, ot, NULL);
			if (!ot)
				nn_kd_unpad(grid, xs.c, &g, NULL, dxn, !assign);
		}
		return;
	}
	NN_ASSERT(algo == NN_CONV_DWLOOP || algo == NN_CONV_GRID_S2 || algo == NN_CONV_GEMM || algo == NN_CONV_GEMM_1X1);
	float *col = scratch;
	if (assign && dx)
		memset(dx + (size_t)n0 * z.xsz, 0, sizeof(float) * z.xsz * (n1 - n0));
	for (int n = n0; n < n1; n++) {
		const float *xn = x + (size_t)n * z.xsz;
		float *dxn = dx ? dx + (size_t)n * z.xsz : NULL;
		const float *dyn = dy + (size_t)n * z.ysz;
		if (algo == NN_CONV_DWLOOP || algo == NN_CONV_GRID_S2) {
			dw_bwd(xn, xs.c, xs.h, xs.w, w, dyn, dxn, dwt, p, ys.h, ys.w);
			continue;
		}
		for (int gi = 0; gi < z.G; gi++) {
			const float *src = xn + (size_t)gi * z.cin_g * xs.h * xs.w;
			const float *wg = w + (size_t)gi * z.cout_g * z.K;
			const float *dyg = dyn + (size_t)gi * z.cout_g * z.ohw;
			float *dxg = dxn ? dxn + (size_t)gi * z.cin_g * xs.h * xs.w : NULL;
			if (!z.pw) {
				im2col(src, z.cin_g, xs.h, xs.w, p, ys.h, ys.w, col);
				src = col;
			}
			/* dW_g [cout_g, K] += dy_g [cout_g, ohw] col^T [ohw, K] */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, z.cout_g, z.K, z.ohw, 1.0f, dyg, z.ohw, src, z.ohw,
				    1.0f, dwt + (size_t)gi * z.cout_g * z.K, z.K);
			if (!dxg)
				continue;
			if (z.pw) {
				/* dx_g [cin_g, hw] += W_g^T [K, cout_g] dy_g */
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, z.K, z.ohw, z.cout_g, 1.0f, wg, z.K, dyg, z.ohw,
					    1.0f, dxg, z.ohw);
			} else {
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, z.K, z.ohw, z.cout_g, 1.0f, wg, z.K, dyg, z.ohw,
					    0.0f, col, z.ohw);
				col2im(col, z.cin_g, xs.h, xs.w, p, ys.h, ys.w, dxg);
			}
		}
	}
}

/* gather x[c, 2i+o, 2j+o] into buf [c, oh*ow] (0 outside) */
static void fr_gather(const float *x, nn_shape xs, int oh, int ow, int o, float *buf)
{
	for (int c = 0; c < xs.c; c++)
		for (int i = 0; i < oh; i++) {
			int iy = 2 * i + o;
			float *b = buf + ((size_t)c * oh + i) * ow;
			if (iy >= xs.h) {
				memset(b, 0, sizeof(float) * ow);
				continue;
			}
			const float *xr = x + ((size_t)c * xs.h + iy) * xs.w;
			for (int j = 0; j < ow; j++) {
				int ix = 2 * j + o;
				b[j] = ix < xs.w ? xr[ix] : 0;
			}
		}
}

static void fr_scatter(const float *buf, nn_shape xs, int oh, int ow, int o, float *dx)
{
	for (int c = 0; c < xs.c; c++)
		for (int i = 0; i < oh; i++) {
			int iy = 2 * i + o;
			if (iy >= xs.h)
				continue;
			const float *b = buf + ((size_t)c * oh + i) * ow;
			float *dr = dx + ((size_t)c * xs.h + iy) * xs.w;
			for (int j = 0; j < ow; j++) {
				int ix = 2 * j + o;
				if (ix < xs.w)
					dr[ix] += b[j];
			}
		}
}

size_t nn_k_factred_scratch(nn_shape xs, nn_shape ys)
{
	int half = ys.c / 2;
	size_t a = nn_kd_packsize(half, xs.c, 1), b = nn_kd_packsize(xs.c, half, 1);
	return (size_t)xs.c * ys.h * ys.w * 2 + 2 * (a > b ? a : b) + 64;
}

/* the two paths are 1x1 convs of the gathered planes (nn_kd_1x1), their
 * weights packed after the two gather planes of buf, for the forward or
 * (bwd) the backward kernel; *pk: floats per path */
static float *fr_pack(const float *w, nn_shape xs, nn_shape ys, int bwd, float *buf, size_t *pk)
{
	int half = ys.c / 2;
	float *wp = buf + (size_t)xs.c * ys.h * ys.w * 2;
	*pk = bwd ? nn_kd_packsize(xs.c, half, 1) : nn_kd_packsize(half, xs.c, 1);
	for (int o = 0; o < 2; o++)
		(bwd ? nn_kd_pack_bwd : nn_kd_pack_fwd)(w + (size_t)o * half * xs.c, half, xs.c, 1, wp + o * *pk);
	return wp;
}

/* y[:half] = W1 x[2i,2j], y[half:] = W2 x[2i+1,2j+1]; W [cout, cin] */
void nn_k_factred_fwd(const float *x, nn_shape xs, const float *w, float *y, nn_shape ys, int n0, int n1,
		      float *buf)
{
	int half = ys.c / 2, ohw = ys.h * ys.w;
	if (n0 >= n1)
		return;
	size_t pk;
	float *wp = fr_pack(w, xs, ys, 0, buf, &pk);
	for (int n = n0; n < n1; n++) {
		const float *xn = x + (size_t)n * xs.c * xs.h * xs.w;
		float *yn = y + (size_t)n * ys.c * ohw;
		for (int o = 0; o < 2; o++) {
			fr_gather(xn, xs, ys.h, ys.w, o, buf);
			nn_cpu()->kd_conv(buf, ohw, xs.c, half, &nn_kd_1x1, wp + o * pk, yn + (size_t)o * half * ohw, ohw, ohw, 0, NULL, NULL);
		}
	}
}

void nn_k_factred_bwd(const float *x, nn_shape xs, const float *w, const float *dy, nn_shape ys,
		      float *dx, float *dw, int n0, int n1, float *buf)
{
	int half = ys.c / 2, ohw = ys.h * ys.w;
	if (n0 >= n1)
		return;
	size_t pk;
	float *wq = fr_pack(w, xs, ys, 1, buf, &pk), *dbuf = buf + (size_t)xs.c * ohw;
	for (int n = n0; n < n1; n++) {
		const float *xn = x + (size_t)n * xs.c * xs.h * xs.w;
		float *dxn = dx + (size_t)n * xs.c * xs.h * xs.w;
		const float *dyn = dy + (size_t)n * ys.c * ohw;
		for (int o = 0; o < 2; o++) {
			const float *dyo = dyn + (size_t)o * half * ohw;
			fr_gather(xn, xs, ys.h, ys.w, o, buf);
			nn_cpu()->kd_wgrad(buf, ohw, xs.c, dyo, ohw, half, &nn_kd_1x1, ohw, dw + (size_t)o * half * xs.c);
			nn_cpu()->kd_conv(dyo, ohw, half, xs.c, &nn_kd_1x1, wq + o * pk, dbuf, ohw, ohw, 0, NULL, NULL);
			fr_scatter(dbuf, xs, ys.h, ys.w, o, dxn);
		}
	}
}

/* ---- the conv and factred ops (table entries in ops.c) ---- */
int nn_plan_conv(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	const nn_node *d = &g->nodes[id];
	const nn_params *p = &d->p;
	nn_plan *me = &pl[id];
	int gr = p->groups;
	if (p->k < 1 || p->stride < 1 || p->dil < 1 || gr < 1 || p->pad < 0 || p->cout < 1) {
		nn_errf(err, errlen, "node %d (conv): bad params k=%d stride=%d pad=%d dil=%d groups=%d cout=%d", id, p->k,
			p->stride, p->pad, p->dil, gr, p->cout);
		return NN_ESHAPE;
	}
	if (x.c % gr || p->cout % gr) {
		nn_errf(err, errlen, "node %d (conv): groups %d do not divide channels %d -> %d", id, gr, x.c, p->cout);
		return NN_ESHAPE;
	}
	int oh = nn_conv_out(x.h, p->k, p->stride, p->pad, p->dil);
	int ow = nn_conv_out(x.w, p->k, p->stride, p->pad, p->dil);
	if (oh < 1 || ow < 1) {
		nn_errf(err, errlen, "node %d (conv): %dx%d input too small for kernel %d dil %d", id, x.h, x.w, p->k, p->dil);
		return NN_ESHAPE;
	}
	me->shape = (nn_shape){ batch, p->cout, oh, ow };
	me->plen = (size_t)p->cout * (x.c / gr) * p->k * p->k + (d->flags & NN_F_NOBIAS ? 0 : p->cout);
	me->macs = (uint64_t)p->cout * (x.c / gr) * p->k * p->k * oh * ow;
	me->algo = nn_conv_algo(x, p);
	return 0;
}

void nn_init_conv(const nn_node *d, const nn_plan *p, nn_shape x, float *w, float *s, nn_rng *r)
{
	size_t fan_in = (size_t)(x.c / d->p.groups) * d->p.k * d->p.k;
	(void)s;
	nn_init_weights(w, (size_t)d->p.cout * fan_in, p->plen, fan_in, 0, r);
}

size_t nn_scratch_conv(const nn_node *d, const nn_plan *p, nn_shape x, int batch)
{
	(void)batch;
	return nn_k_conv_scratch(x, p->shape, &d->p, p->algo);
}

size_t nn_cache_conv(const nn_node *d, const nn_plan *p, nn_shape x) { return nn_k_conv_cache(x, &d->p, p->algo); }

void nn_fwd_conv(const nn_run *r)
{
	nn_k_conv_fwd(r->x, r->xs, r->w, nn_run_bias(r), r->y, r->ys, &r->d->p, r->p->algo, r->n0, r->n1, r->scratch,
		      r->cache, r->first);
}

void nn_bwd_conv(const nn_run *r)
{
	nn_k_conv_bwd(r->x, r->xs, r->w, r->dy, r->ys, &r->d->p, r->p->algo, r->dxk, r->dw, nn_run_dbias(r), r->n0, r->n1,
		      r->scratch, r->assign, r->cache, r->first);
}

int nn_plan_factred(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	const nn_params *p = &g->nodes[id].p;
	nn_plan *me = &pl[id];
	if (p->cout < 2 || p->cout % 2) {
		nn_errf(err, errlen, "node %d (factred): cout %d must be even", id, p->cout);
		return NN_ESHAPE;
	}
	me->shape = (nn_shape){ batch, p->cout, (x.h + 1) / 2, (x.w + 1) / 2 };
	me->plen = (size_t)p->cout * x.c;
	me->macs = (uint64_t)p->cout * x.c * me->shape.h * me->shape.w;
	return 0;
}

void nn_init_factred(const nn_node *d, const nn_plan *p, nn_shape x, float *w, float *s, nn_rng *r)
{
	(void)s;
	nn_init_weights(w, (size_t)d->p.cout * x.c, p->plen, (size_t)x.c, 0, r);
}

size_t nn_scratch_factred(const nn_node *d, const nn_plan *p, nn_shape x, int batch)
{
	(void)d, (void)batch;
	return nn_k_factred_scratch(x, p->shape);
}

void nn_fwd_factred(const nn_run *r) { nn_k_factred_fwd(r->x, r->xs, r->w, r->y, r->ys, r->n0, r->n1, r->scratch); }

void nn_bwd_factred(const nn_run *r)
{
	nn_k_factred_bwd(r->x, r->xs, r->w, r->dy, r->ys, r->dx, r->dw, r->n0, r->n1, r->scratch);
}
