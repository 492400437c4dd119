/* ops_conv.c - convolution and factorized reduction kernels.
 *
 * Every kernel here is single-threaded over images [n0, n1) of the batch;
 * the executor (graph.c) runs one OpenMP region per pass and splits the
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

/* col [cin*k*k, oh*ow] from x [cin, h, w] */
static void im2col(const float *x, int cin, int h, int w, const nn_params *p, int oh, int ow, float *col)
{
	int k = p->k, s = p->stride, pad = p->pad, dil = p->dil;
	for (int c = 0; c < cin; c++)
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				float *row = col + (((size_t)c * k + ki) * k + kj) * oh * ow;
				const float *xc = x + (size_t)c * h * w;
				int dx = kj * dil - pad;
				/* valid ox: 0 <= ox*s + dx < w */
				int lo = dx >= 0 ? 0 : (-dx + s - 1) / s;
				int hi = (w - 1 - dx) < 0 ? 0 : (w - 1 - dx) / s + 1;
				if (hi > ow)
					hi = ow;
				if (lo > hi)
					lo = hi;
				for (int oy = 0; oy < oh; oy++) {
					float *r = row + (size_t)oy * ow;
					int iy = oy * s - pad + ki * dil;
					if (iy < 0 || iy >= h) {
						memset(r, 0, sizeof(float) * ow);
						continue;
					}
					const float *xr = xc + (size_t)iy * w;
					for (int ox = 0; ox < lo; ox++)
						r[ox] = 0;
					if (s == 1)
						memcpy(r + lo, xr + lo + dx, sizeof(float) * (hi - lo));
					else
						for (int ox = lo; ox < hi; ox++)
							r[ox] = xr[ox * s + dx];
					for (int ox = hi; ox < ow; ox++)
						r[ox] = 0;
				}
			}
}

/* dx [cin, h, w] += col2im(dcol) */
static void col2im(const float *col, int cin, int h, int w, const nn_params *p, int oh, int ow, float *x)
{
	int k = p->k, s = p->stride, pad = p->pad, dil = p->dil;
	for (int c = 0; c < cin; c++)
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				const float *row = col + (((size_t)c * k + ki) * k + kj) * oh * ow;
				float *xc = x + (size_t)c * h * w;
				int dx = kj * dil - pad;
				int lo = dx >= 0 ? 0 : (-dx + s - 1) / s;
				int hi = (w - 1 - dx) < 0 ? 0 : (w - 1 - dx) / s + 1;
				if (hi > ow)
					hi = ow;
				if (lo > hi)
					lo = hi;
				for (int oy = 0; oy < oh; oy++) {
					int iy = oy * s - pad + ki * dil;
					if (iy < 0 || iy >= h)
						continue;
					const float *r = row + (size_t)oy * ow;
					float *xr = xc + (size_t)iy * w;
					for (int ox = lo; ox < hi; ox++)
						xr[ox * s + dx] += r[ox];
				}
			}
}

/* depthwise: y[c] = sum_{ki,kj} w[c,ki,kj] x[c, oy*s-pad+ki*dil, ox*s-pad+kj*dil] */
static void dw_fwd(const float *x, int c, int h, int w, const float *wt, const float *b, float *y,
		   const nn_params *p, int oh, int ow)
{
	int k = p->k, s = p->stride, pad = p->pad, dil = p->dil;
	for (int ch = 0; ch < c; ch++) {
		float *yc = y + (size_t)ch * oh * ow;
		const float *xc = x + (size_t)ch * h * w;
		float bv = b ? b[ch] : 0;
		for (int i = 0; i < oh * ow; i++)
			yc[i] = bv;
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				float wv = wt[((size_t)ch * k + ki) * k + kj];
				int dx = kj * dil - pad;
				int lo = dx >= 0 ? 0 : (-dx + s - 1) / s;
				int hi = (w - 1 - dx) < 0 ? 0 : (w - 1 - dx) / s + 1;
				if (hi > ow)
					hi = ow;
				for (int oy = 0; oy < oh; oy++) {
					int iy = oy * s - pad + ki * dil;
					if (iy < 0 || iy >= h)
						continue;
					const float *xr = xc + (size_t)iy * w + dx;
					float *yr = yc + (size_t)oy * ow;
					if (s == 1)
						for (int ox = lo; ox < hi; ox++)
							yr[ox] += wv * xr[ox];
					else
						for (int ox = lo; ox < hi; ox++)
							yr[ox] += wv * xr[ox * s];
				}
			}
	}
}

static void dw_bwd(const float *x, int c, int h, int w, const float *wt, const float *dy, float *dx,
		   float *dwt, float *db, const nn_params *p, int oh, int ow)
{
	int k = p->k, s = p->stride, pad = p->pad, dil = p->dil;
	for (int ch = 0; ch < c; ch++) {
		const float *dyc = dy + (size_t)ch * oh * ow;
		const float *xc = x + (size_t)ch * h * w;
		float *dxc = dx ? dx + (size_t)ch * h * w : NULL;
		if (db) {
			float sb = 0;
			for (int i = 0; i < oh * ow; i++)
				sb += dyc[i];
			db[ch] += sb;
		}
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				size_t wi = ((size_t)ch * k + ki) * k + kj;
				float wv = wt[wi], gw = 0;
				int ddx = kj * dil - pad;
				int lo = ddx >= 0 ? 0 : (-ddx + s - 1) / s;
				int hi = (w - 1 - ddx) < 0 ? 0 : (w - 1 - ddx) / s + 1;
				if (hi > ow)
					hi = ow;
				for (int oy = 0; oy < oh; oy++) {
					int iy = oy * s - pad + ki * dil;
					if (iy < 0 || iy >= h)
						continue;
					const float *xr = xc + (size_t)iy * w + ddx;
					const float *dyr = dyc + (size_t)oy * ow;
					for (int ox = lo; ox < hi; ox++)
						gw += dyr[ox] * xr[ox * s];
					if (!dxc)
						continue;
					float *dxr = dxc + (size_t)iy * w + ddx;
					for (int ox = lo; ox < hi; ox++)
						dxr[ox * s] += wv * dyr[ox];
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

void nn_k_conv_fwd(const float *x, nn_shape xs, const float *w, const float *b, float *y, nn_shape ys,
		   const nn_params *p, int algo, int n0, int n1, float *scratch, float *cache, int first)
{
	int G = p->groups, cin_g = xs.c / G, cout_g = p->cout / G;
	int K = cin_g * p->k * p->k, ohw = ys.h * ys.w;
	int dw = algo == NN_CONV_GRID_DW, pw = algo == NN_CONV_GEMM_1X1;
	size_t xsz = (size_t)xs.c * xs.h * xs.w, ysz = (size_t)ys.c * ohw;
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
			float *yn = y + (size_t)n * ysz;
			nn_cpu()->kd_conv(x + (size_t)n * xsz, ohw, xs.c, p->cout, &g, wp, yn, ohw, ohw, 0, NULL, NULL);
			if (b)
				for (int c = 0; c < ys.c; c++)
					for (int i = 0; i < ohw; i++)
						yn[(size_t)c * ohw + i] += b[c];
		}
		return;
	}
	if (algo == NN_CONV_GRID || algo == NN_CONV_GRID_DW) {
		nn_kd g;
		nn_kd_geom(xs, p, &g);
		int kk = p->k * p->k;
		float *wp = cache ? cache : scratch, *xp = scratch, *grid;
		if (!dw) {
			if (!cache || first)
				nn_kd_pack_fwd(w, p->cout, xs.c, kk, wp);
			xp = al16(scratch + nn_kd_packsize(p->cout, xs.c, kk));
		}
		grid = al16(xp + nn_kd_padsize(xs.c, &g));
		int32_t *ot = NULL;
		if (nn_cpu()->direct_out) {
			size_t pf = dw ? 0 : nn_kd_packsize(p->cout, xs.c, kk), pb = dw ? 0 : nn_kd_packsize(xs.c, p->cout, kk);
			ot = cache ? (int32_t *)(cache + pf + pb) : (int32_t *)grid;
			if (!cache || first)
				nn_kd_otab(&g, ot);
		}
		for (int n = n0; n < n1; n++) {
			float *yn = y + (size_t)n * ysz;
			nn_kd_pad(x + (size_t)n * xsz, xs.c, &g, xp);
			if (dw)
				nn_cpu()->kd_dw_conv(xp, xs.c, &g, w, 0, ot ? yn : grid, ot, b, 0);
			else
				nn_cpu()->kd_conv(xp, g.ps, xs.c, p->cout, &g, wp, ot ? yn : grid, ot ? (size_t)ohw : g.gs, g.gs, 0,
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
			float *yn = y + (size_t)n * ysz;
			nn_kd_pad_s2(x + (size_t)n * xsz, xs.c, xs.h, xs.w, &g, xp);
			nn_cpu()->kd_dw_conv(xp, xs.c, &g, w, 0, ot ? yn : grid, ot, b, 0);
			if (!ot)
				nn_kd_unpad(grid, p->cout, &g, b, yn, 0);
		}
		return;
	}
	NN_ASSERT(algo == NN_CONV_DWLOOP || algo == NN_CONV_GEMM || algo == NN_CONV_GEMM_1X1);
	float *col = scratch;
	for (int n = n0; n < n1; n++) {
		const float *xn = x + (size_t)n * xsz;
		float *yn = y + (size_t)n * ysz;
		if (algo == NN_CONV_DWLOOP) {
			dw_fwd(xn, xs.c, xs.h, xs.w, w, b, yn, p, ys.h, ys.w);
			continue;
		}
		for (int gi = 0; gi < G; gi++) {
			const float *src = xn + (size_t)gi * cin_g * xs.h * xs.w;
			if (!pw) {
				im2col(src, cin_g, xs.h, xs.w, p, ys.h, ys.w, col);
				src = col;
			}
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout_g, ohw, K, 1.0f,
				    w + (size_t)gi * cout_g * K, K, src, ohw, 0.0f, yn + (size_t)gi * cout_g * ohw, ohw);
		}
		if (b)
			for (int c = 0; c < ys.c; c++)
				for (int i = 0; i < ohw; i++)
					yn[(size_t)c * ohw + i] += b[c];
	}
}

void nn_k_conv_bwd(const float *x, nn_shape xs, const float *w, const float *dy, nn_shape ys,
		   const nn_params *p, int algo, float *dx, float *dwt, float *db, int n0, int n1, float *scratch,
		   int assign, float *cache, int first)
{
	int G = p->groups, cin_g = xs.c / G, cout_g = p->cout / G;
	int K = cin_g * p->k * p->k, ohw = ys.h * ys.w;
	int dw = algo == NN_CONV_GRID_DW, pw = algo == NN_CONV_GEMM_1X1;
	size_t xsz = (size_t)xs.c * xs.h * xs.w, ysz = (size_t)ys.c * ohw;
	if (n0 >= n1)
		return;
	if (db)
		for (int n = n0; n < n1; n++) {
			const float *dyn = dy + (size_t)n * ysz;
			for (int c = 0; c < ys.c; c++) {
				float s = 0;
				for (int i = 0; i < ohw; i++)
					s += dyn[(size_t)c * ohw + i];
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
			const float *xn = x + (size_t)n * xsz, *dyn = dy + (size_t)n * ysz;
			nn_cpu()->kd_wgrad(xn, ohw, xs.c, dyn, ohw, p->cout, &g, ohw, dwt);
			if (dx)
				nn_cpu()->kd_conv(dyn, ohw, p->cout, xs.c, &g, wq, dx + (size_t)n * xsz, ohw, ohw, !assign, NULL,
						  NULL);
		}
		return;
	}
	if (algo == NN_CONV_GRID || algo == NN_CONV_GRID_DW) {
		nn_kd g;
		nn_kd_geom(xs, p, &g);
		int kk = p->k * p->k;
		size_t pf = dw ? 0 : nn_kd_packsize(p->cout, xs.c, kk), pb = dw ? 0 : nn_kd_packsize(xs.c, p->cout, kk);
		float *wq = cache ? cache + pf : scratch, *xp = scratch, *dyp, *grid;
		if (!dw) {
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
			nn_kd_pad(x + (size_t)n * xsz, xs.c, &g, xp);
			nn_kd_pad(dy + (size_t)n * ysz, p->cout, &g, dyp);
			if (dw)
				nn_cpu()->kd_dw_wgrad(xp, xs.c, dyg, g.ps, &g, dwt);
			else
				nn_cpu()->kd_wgrad(xp, g.ps, xs.c, dyg, g.ps, p->cout, &g, g.gs, dwt);
			if (!dx)
				continue;
			float *dxn = dx + (size_t)n * xsz;
			if (dw)
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
		memset(dx + (size_t)n0 * xsz, 0, sizeof(float) * xsz * (n1 - n0));
	for (int n = n0; n < n1; n++) {
		const float *xn = x + (size_t)n * xsz;
		float *dxn = dx ? dx + (size_t)n * xsz : NULL;
		const float *dyn = dy + (size_t)n * ysz;
		if (algo == NN_CONV_DWLOOP || algo == NN_CONV_GRID_S2) {
			dw_bwd(xn, xs.c, xs.h, xs.w, w, dyn, dxn, dwt, NULL, p, ys.h, ys.w);
			continue;
		}
		for (int gi = 0; gi < G; gi++) {
			const float *src = xn + (size_t)gi * cin_g * xs.h * xs.w;
			const float *wg = w + (size_t)gi * cout_g * K;
			const float *dyg = dyn + (size_t)gi * cout_g * ohw;
			float *dxg = dxn ? dxn + (size_t)gi * cin_g * xs.h * xs.w : NULL;
			if (!pw) {
				im2col(src, cin_g, xs.h, xs.w, p, ys.h, ys.w, col);
				src = col;
			}
			/* dW_g [cout_g, K] += dy_g [cout_g, ohw] col^T [ohw, K] */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cout_g, K, ohw, 1.0f, dyg, ohw, src, ohw,
				    1.0f, dwt + (size_t)gi * cout_g * K, K);
			if (!dxg)
				continue;
			if (pw) {
				/* dx_g [cin_g, hw] += W_g^T [K, cout_g] dy_g */
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, ohw, cout_g, 1.0f, wg, K, dyg, ohw,
					    1.0f, dxg, ohw);
			} else {
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, ohw, cout_g, 1.0f, wg, K, dyg, ohw,
					    0.0f, col, ohw);
				col2im(col, cin_g, xs.h, xs.w, p, ys.h, ys.w, dxg);
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

/* y[:half] = W1 x[2i,2j], y[half:] = W2 x[2i+1,2j+1]; W [cout, cin] */
void nn_k_factred_fwd(const float *x, nn_shape xs, const float *w, float *y, nn_shape ys, int n0, int n1,
		      float *buf)
{
	int half = ys.c / 2, ohw = ys.h * ys.w;
	nn_kd g;
	nn_kd_geom_1x1(&g); /* the two paths are 1x1 convs of the gathered planes */
	size_t pk = nn_kd_packsize(half, xs.c, 1);
	float *wp = buf + (size_t)xs.c * ohw * 2;
	if (n0 >= n1)
		return;
	for (int o = 0; o < 2; o++)
		nn_kd_pack_fwd(w + (size_t)o * half * xs.c, half, xs.c, 1, wp + o * pk);
	for (int n = n0; n < n1; n++) {
		const float *xn = x + (size_t)n * xs.c * xs.h * xs.w;
		float *yn = y + (size_t)n * ys.c * ohw;
		for (int o = 0; o < 2; o++) {
			fr_gather(xn, xs, ys.h, ys.w, o, buf);
			nn_cpu()->kd_conv(buf, ohw, xs.c, half, &g, wp + o * pk, yn + (size_t)o * half * ohw, ohw, ohw, 0, NULL, NULL);
		}
	}
}

void nn_k_factred_bwd(const float *x, nn_shape xs, const float *w, const float *dy, nn_shape ys,
		      float *dx, float *dw, int n0, int n1, float *buf)
{
	int half = ys.c / 2, ohw = ys.h * ys.w;
	float *dbuf = buf + (size_t)xs.c * ohw;
	nn_kd g;
	nn_kd_geom_1x1(&g);
	size_t pk = nn_kd_packsize(xs.c, half, 1);
	float *wq = buf + (size_t)xs.c * ohw * 2;
	if (n0 >= n1)
		return;
	for (int o = 0; o < 2; o++)
		nn_kd_pack_bwd(w + (size_t)o * half * xs.c, half, xs.c, 1, wq + o * pk);
	for (int n = n0; n < n1; n++) {
		const float *xn = x + (size_t)n * xs.c * xs.h * xs.w;
		float *dxn = dx + (size_t)n * xs.c * xs.h * xs.w;
		const float *dyn = dy + (size_t)n * ys.c * ohw;
		for (int o = 0; o < 2; o++) {
			const float *dyo = dyn + (size_t)o * half * ohw;
			fr_gather(xn, xs, ys.h, ys.w, o, buf);
			nn_cpu()->kd_wgrad(buf, ohw, xs.c, dyo, ohw, half, &g, ohw, dw + (size_t)o * half * xs.c);
			nn_cpu()->kd_conv(dyo, ohw, half, xs.c, &g, wq + o * pk, dbuf, ohw, ohw, 0, NULL, NULL);
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
