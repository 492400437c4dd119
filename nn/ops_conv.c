/* ops_conv.c - convolution, factorized reduction and linear kernels.
 *
 * conv: per image, im2col + sgemm, images split over OpenMP threads, BLAS
 * single-threaded inside the region. Depthwise convs run a direct kernel.
 * Weight gradients accumulate per thread and are reduced in thread order,
 * so results depend only on the thread count.
 */
#include "nn_impl.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#define TID() omp_get_thread_num()
#define NTH() omp_get_num_threads()
#else
#define TID() 0
#define NTH() 1
#endif

static int is_depthwise(nn_shape xs, const nn_params *p)
{
	return p->groups == xs.c && p->cout == xs.c && p->groups > 1;
}

static int is_pointwise(const nn_params *p)
{
	return p->k == 1 && p->stride == 1 && p->pad == 0;
}

size_t nn_k_conv_scratch(nn_shape xs, nn_shape ys, const nn_params *p, size_t cin)
{
	(void)cin;
	if (is_depthwise(xs, p) || is_pointwise(p))
		return 0;
	return (size_t)(xs.c / p->groups) * p->k * p->k * ys.h * ys.w;
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
		float *dxc = dx + (size_t)ch * h * w;
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
					float *dxr = dxc + (size_t)iy * w + ddx;
					const float *dyr = dyc + (size_t)oy * ow;
					for (int ox = lo; ox < hi; ox++) {
						gw += dyr[ox] * xr[ox * s];
						dxr[ox * s] += wv * dyr[ox];
					}
				}
				dwt[wi] += gw;
			}
	}
}

void nn_k_conv_fwd(const float *x, nn_shape xs, const float *w, const float *b, float *y, nn_shape ys,
		   const nn_params *p, float *scratch, size_t spt, int nthreads)
{
	int G = p->groups, cin_g = xs.c / G, cout_g = p->cout / G;
	int K = cin_g * p->k * p->k, ohw = ys.h * ys.w;
	int dw = is_depthwise(xs, p), pw = is_pointwise(p);
#pragma omp parallel num_threads(nthreads)
	{
		float *col = scratch + (size_t)TID() * spt;
#pragma omp for schedule(static)
		for (int n = 0; n < xs.n; n++) {
			const float *xn = x + (size_t)n * xs.c * xs.h * xs.w;
			float *yn = y + (size_t)n * ys.c * ohw;
			if (dw) {
				dw_fwd(xn, xs.c, xs.h, xs.w, w, b, yn, p, ys.h, ys.w);
				continue;
			}
			for (int g = 0; g < G; g++) {
				const float *src = xn + (size_t)g * cin_g * xs.h * xs.w;
				if (!pw) {
					im2col(src, cin_g, xs.h, xs.w, p, ys.h, ys.w, col);
					src = col;
				}
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout_g, ohw, K, 1.0f,
					    w + (size_t)g * cout_g * K, K, src, ohw, 0.0f, yn + (size_t)g * cout_g * ohw, ohw);
			}
			if (b)
				for (int c = 0; c < ys.c; c++)
					for (int i = 0; i < ohw; i++)
						yn[(size_t)c * ohw + i] += b[c];
		}
	}
}

void nn_k_conv_bwd(const float *x, nn_shape xs, const float *w, const float *dy, nn_shape ys,
		   const nn_params *p, float *dx, float *dwt, float *db, float *scratch, size_t spt, int nthreads)
{
	int G = p->groups, cin_g = xs.c / G, cout_g = p->cout / G;
	int K = cin_g * p->k * p->k, ohw = ys.h * ys.w;
	size_t nw = (size_t)p->cout * K, nacc = nw + (db ? (size_t)p->cout : 0);
	size_t colsz = nn_k_conv_scratch(xs, ys, p, xs.c);
	int dw = is_depthwise(xs, p), pw = is_pointwise(p);
	int T = 1;
#pragma omp parallel num_threads(nthreads)
	{
		int t = TID();
#pragma omp single
		T = NTH();
		float *acc = scratch + (size_t)t * spt;
		float *col = acc + nacc;
		(void)colsz;
		memset(acc, 0, sizeof(float) * nacc);
		float *accb = db ? acc + nw : NULL;
#pragma omp for schedule(static)
		for (int n = 0; n < xs.n; n++) {
			const float *xn = x + (size_t)n * xs.c * xs.h * xs.w;
			float *dxn = dx + (size_t)n * xs.c * xs.h * xs.w;
			const float *dyn = dy + (size_t)n * ys.c * ohw;
			if (dw) {
				dw_bwd(xn, xs.c, xs.h, xs.w, w, dyn, dxn, acc, accb, p, ys.h, ys.w);
				continue;
			}
			if (accb)
				for (int c = 0; c < ys.c; c++) {
					float s = 0;
					for (int i = 0; i < ohw; i++)
						s += dyn[(size_t)c * ohw + i];
					accb[c] += s;
				}
			for (int g = 0; g < G; g++) {
				const float *src = xn + (size_t)g * cin_g * xs.h * xs.w;
				const float *wg = w + (size_t)g * cout_g * K;
				const float *dyg = dyn + (size_t)g * cout_g * ohw;
				float *dxg = dxn + (size_t)g * cin_g * xs.h * xs.w;
				if (!pw) {
					im2col(src, cin_g, xs.h, xs.w, p, ys.h, ys.w, col);
					src = col;
				}
				/* dW_g [cout_g, K] += dy_g [cout_g, ohw] col^T [ohw, K] */
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cout_g, K, ohw, 1.0f, dyg, ohw, src, ohw,
					    1.0f, acc + (size_t)g * cout_g * K, K);
				if (pw) {
					/* dx_g [cin_g, hw] += W_g^T [K, cout_g] dy_g */
					cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, ohw, cout_g, 1.0f, wg, K, dyg,
						    ohw, 1.0f, dxg, ohw);
				} else {
					cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, ohw, cout_g, 1.0f, wg, K, dyg,
						    ohw, 0.0f, col, ohw);
					col2im(col, cin_g, xs.h, xs.w, p, ys.h, ys.w, dxg);
				}
			}
		}
	}
	/* reduce in thread order: deterministic for a given thread count */
	for (int t = 0; t < T; t++) {
		const float *acc = scratch + (size_t)t * spt;
		for (size_t i = 0; i < nw; i++)
			dwt[i] += acc[i];
		if (db)
			for (int c = 0; c < p->cout; c++)
				db[c] += acc[nw + c];
	}
}

/* y [n, m] = x [n, k] W^T [k, m] + b */
void nn_k_linear_fwd(const float *x, int n, int k, const float *w, const float *b, float *y, int m)
{
	if (b)
		for (int i = 0; i < n; i++)
			memcpy(y + (size_t)i * m, b, sizeof(float) * m);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1.0f, x, k, w, k, b ? 1.0f : 0.0f, y, m);
}

void nn_k_linear_bwd(const float *x, int n, int k, const float *w, const float *dy, int m,
		     float *dx, float *dw, float *db)
{
	/* dW [m, k] += dy^T [m, n] x [n, k];  dx [n, k] += dy [n, m] W [m, k] */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, k, n, 1.0f, dy, m, x, k, 1.0f, dw, k);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, m, 1.0f, dy, m, w, k, 1.0f, dx, k);
	if (db)
		for (int j = 0; j < m; j++) {
			float s = 0;
			for (int i = 0; i < n; i++)
				s += dy[(size_t)i * m + j];
			db[j] += s;
		}
}

/* gather x[c, 2i+o, 2j+o] into buf [c, oh*ow] (0 outside) */
static void fr_gather(const float *x, nn_shape xs, int oh, int ow, int o, float *buf)
{
	for (int c = 0; c < xs.c; c++)
		for (int i = 0; i < oh; i++)
			for (int j = 0; j < ow; j++) {
				int iy = 2 * i + o, ix = 2 * j + o;
				buf[((size_t)c * oh + i) * ow + j] =
					iy < xs.h && ix < xs.w ? x[((size_t)c * xs.h + iy) * xs.w + ix] : 0;
			}
}

static void fr_scatter(const float *buf, nn_shape xs, int oh, int ow, int o, float *dx)
{
	for (int c = 0; c < xs.c; c++)
		for (int i = 0; i < oh; i++)
			for (int j = 0; j < ow; j++) {
				int iy = 2 * i + o, ix = 2 * j + o;
				if (iy < xs.h && ix < xs.w)
					dx[((size_t)c * xs.h + iy) * xs.w + ix] += buf[((size_t)c * oh + i) * ow + j];
			}
}

/* y[:half] = W1 x[2i,2j], y[half:] = W2 x[2i+1,2j+1]; W [cout, cin] */
void nn_k_factred_fwd(const float *x, nn_shape xs, const float *w, float *y, nn_shape ys)
{
	int half = ys.c / 2, ohw = ys.h * ys.w;
#pragma omp parallel
	{
		float *buf = malloc(sizeof(float) * (size_t)xs.c * ohw);
		NN_ASSERT(buf);
#pragma omp for schedule(static)
		for (int n = 0; n < xs.n; n++) {
			const float *xn = x + (size_t)n * xs.c * xs.h * xs.w;
			float *yn = y + (size_t)n * ys.c * ohw;
			for (int o = 0; o < 2; o++) {
				fr_gather(xn, xs, ys.h, ys.w, o, buf);
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, half, ohw, xs.c, 1.0f,
					    w + (size_t)o * half * xs.c, xs.c, buf, ohw, 0.0f, yn + (size_t)o * half * ohw, ohw);
			}
		}
		free(buf);
	}
}

void nn_k_factred_bwd(const float *x, nn_shape xs, const float *w, const float *dy, nn_shape ys,
		      float *dx, float *dw)
{
	int half = ys.c / 2, ohw = ys.h * ys.w;
	size_t nw = (size_t)ys.c * xs.c;
	int T = 1;
	float *accs = NULL;
#pragma omp parallel
	{
#pragma omp single
		{
			T = NTH();
			accs = calloc((size_t)T * nw, sizeof(float));
			NN_ASSERT(accs);
		}
		float *acc = accs + (size_t)TID() * nw;
		float *buf = malloc(sizeof(float) * (size_t)xs.c * ohw * 2);
		NN_ASSERT(buf);
		float *dbuf = buf + (size_t)xs.c * ohw;
#pragma omp for schedule(static)
		for (int n = 0; n < xs.n; n++) {
			const float *xn = x + (size_t)n * xs.c * xs.h * xs.w;
			float *dxn = dx + (size_t)n * xs.c * xs.h * xs.w;
			const float *dyn = dy + (size_t)n * ys.c * ohw;
			for (int o = 0; o < 2; o++) {
				const float *dyo = dyn + (size_t)o * half * ohw;
				fr_gather(xn, xs, ys.h, ys.w, o, buf);
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, half, xs.c, ohw, 1.0f, dyo, ohw, buf, ohw,
					    1.0f, acc + (size_t)o * half * xs.c, xs.c);
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, xs.c, ohw, half, 1.0f,
					    w + (size_t)o * half * xs.c, xs.c, dyo, ohw, 0.0f, dbuf, ohw);
				fr_scatter(dbuf, xs, ys.h, ys.w, o, dxn);
			}
		}
		free(buf);
	}
	for (int t = 0; t < T; t++)
		for (size_t i = 0; i < nw; i++)
			dw[i] += accs[(size_t)t * nw + i];
	free(accs);
}
