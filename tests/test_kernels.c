/* test_kernels.c - every kernel variant of nn/cpu against plain reference
 * loops: convolution forward, input gradient and weight gradient over a
 * sweep of shapes that reaches every tile and tail (channels 1..33, planes
 * up to 30x30, kernels 1/3/5, stride 1/2, dilation 1/2, dense and
 * depthwise), linear layers, factorized reduction, 2x2 max pool and the
 * batch-norm phases.
 *
 *   test_kernels ISA [--quick]  one instruction set (generic, avx2, avx512);
 *                       exits 77 (skipped) with the reason when the CPU lacks
 *                       it; --quick: a quarter of the conv sweep (for
 *                       emulated CPUs)
 */
#include "check.h"
#include "nn_impl.h"

#include <math.h>
#include <string.h>

static nn_rng g_rng = { 12345 };

static float *rnd(size_t n)
{
	float *v = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64 + 64);
	for (size_t i = 0; i < n; i++)
		v[i] = 2 * nn_rng_uniform(&g_rng) - 1;
	return v;
}

static float *zeros(size_t n)
{
	float *v = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64 + 64);
	memset(v, 0, n * sizeof(float));
	return v;
}

/* worst |got - want| / (tol * (|terms| sum) + 1e-6) over n values; > 1 fails */
static double worst_err(const float *got, const double *want, const double *mag, size_t n)
{
	double w = 0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)got[i] - want[i]) / (3e-6 * mag[i] + 1e-6);
		if (!(e <= w)) /* NaN counts as a failure */
			w = isnan(e) ? INFINITY : e;
	}
	return w;
}

/* reference conv: y, dx, dw in double, with sums of |terms| */
typedef struct {
	nn_shape xs, ys;
	nn_params p;
} conv_case;

static int in_at(const conv_case *c, int oy, int ki, int *iy)
{
	*iy = oy * c->p.stride - c->p.pad + ki * c->p.dil;
	return *iy >= 0 && *iy < c->xs.h;
}

static void ref_conv(const conv_case *c, int N, const float *x, const float *w, const float *b, const float *dy,
		     double *y, double *ym, double *dx, double *dxm, double *dw, double *dwm)
{
	int G = c->p.groups, cig = c->xs.c / G, cog = c->p.cout / G, k = c->p.k;
	size_t xsz = (size_t)c->xs.c * c->xs.h * c->xs.w, ysz = (size_t)c->ys.c * c->ys.h * c->ys.w;
	memset(dx, 0, sizeof(double) * N * xsz), memset(dxm, 0, sizeof(double) * N * xsz);
	memset(dw, 0, sizeof(double) * c->p.cout * cig * k * k), memset(dwm, 0, sizeof(double) * c->p.cout * cig * k * k);
	for (int n = 0; n < N; n++)
		for (int co = 0; co < c->p.cout; co++) {
			int gi = co / cog;
			for (int oy = 0; oy < c->ys.h; oy++)
				for (int ox = 0; ox < c->ys.w; ox++) {
					size_t yo = (size_t)n * ysz + ((size_t)co * c->ys.h + oy) * c->ys.w + ox;
					double s = b ? b[co] : 0, m = b ? fabs(b[co]) : 0;
					double g = dy[yo];
					for (int cj = 0; cj < cig; cj++) {
						int ci = gi * cig + cj;
						for (int ki = 0; ki < k; ki++) {
							int iy;
							if (!in_at(c, oy, ki, &iy))
								continue;
							for (int kj = 0; kj < k; kj++) {
								int ix = ox * c->p.stride - c->p.pad + kj * c->p.dil;
								if (ix < 0 || ix >= c->xs.w)
									continue;
								size_t xo = (size_t)n * xsz + ((size_t)ci * c->xs.h + iy) * c->xs.w + ix;
								size_t wo = (((size_t)co * cig + cj) * k + ki) * k + kj;
								s += (double)w[wo] * x[xo], m += fabs((double)w[wo] * x[xo]);
								dx[xo] += g * w[wo], dxm[xo] += fabs(g * w[wo]);
								dw[wo] += g * x[xo], dwm[wo] += fabs(g * x[xo]);
							}
						}
					}
					y[yo] = s, ym[yo] = m;
				}
		}
}

static int g_cases;
static int g_quick; /* --quick: every fourth shape of the sweep (emulated CPUs) */

static void conv_check(conv_case c, int N, const char *what)
{
	c.xs.n = c.ys.n = N;
	int G = c.p.groups, k = c.p.k;
	size_t nx = (size_t)N * c.xs.c * c.xs.h * c.xs.w, ny = (size_t)N * c.ys.c * c.ys.h * c.ys.w;
	size_t nw = (size_t)c.p.cout * (c.xs.c / G) * k * k;
	float *x = rnd(nx), *w = rnd(nw), *b = rnd(c.p.cout), *dy = rnd(ny);
	double *y = malloc(sizeof(double) * ny), *ym = malloc(sizeof(double) * ny);
	double *dx = malloc(sizeof(double) * nx), *dxm = malloc(sizeof(double) * nx);
	double *dw = malloc(sizeof(double) * nw), *dwm = malloc(sizeof(double) * nw);
	ref_conv(&c, N, x, w, b, dy, y, ym, dx, dxm, dw, dwm);
	int algo = nn_conv_algo(c.xs, &c.p);
	size_t ns = nn_k_conv_scratch(c.xs, c.ys, &c.p, algo) + 64, nc = nn_k_conv_cache(c.xs, &c.p, algo) + 64;
	float *scr = zeros(ns), *cache = zeros(nc), *gy = zeros(ny), *gdx = zeros(nx), *gdw = zeros(nw);
	float *pre = rnd(nx);
	char tag[160];
	snprintf(tag, sizeof tag, "%s: %dx%dx%d -> %d, k%d s%d p%d d%d g%d", what, c.xs.c, c.xs.h, c.xs.w, c.p.cout, k,
		 c.p.stride, c.p.pad, c.p.dil, G);
	for (int pass = 0; pass < 2; pass++) {
		/* pass 0: no cache; pass 1: cache filled by the first call, reused by the second */
		float *ca = pass ? cache : NULL;
		memset(gy, 0, sizeof(float) * ny);
		nn_k_conv_fwd(x, c.xs, w, b, gy, c.ys, &c.p, algo, 0, 1, scr, ca, 1);
		nn_k_conv_fwd(x, c.xs, w, b, gy, c.ys, &c.p, algo, 1, N, scr, ca, 0);
		double e = worst_err(gy, y, ym, ny);
		CHECKM(e <= 1, "%s: forward (cache %d): error %.3g of tolerance", tag, pass, e);
		/* input gradient stored (assign), weight gradient accumulated */
		memset(gdw, 0, sizeof(float) * nw);
		for (size_t i = 0; i < nx; i++)
			gdx[i] = NAN;
		nn_k_conv_bwd(x, c.xs, w, dy, c.ys, &c.p, algo, gdx, gdw, NULL, 0, 1, scr, 1, ca, 1);
		nn_k_conv_bwd(x, c.xs, w, dy, c.ys, &c.p, algo, gdx, gdw, NULL, 1, N, scr, 1, ca, 0);
		e = worst_err(gdx, dx, dxm, nx);
		CHECKM(e <= 1, "%s: input gradient, assign (cache %d): error %.3g of tolerance", tag, pass, e);
		e = worst_err(gdw, dw, dwm, nw);
		CHECKM(e <= 1, "%s: weight gradient (cache %d): error %.3g of tolerance", tag, pass, e);
		/* input gradient added to what is there */
		memcpy(gdx, pre, sizeof(float) * nx);
		nn_k_conv_bwd(x, c.xs, w, dy, c.ys, &c.p, algo, gdx, gdw, NULL, 0, N, scr, 0, ca, 1);
		for (size_t i = 0; i < nx; i++)
			gdx[i] -= pre[i];
		e = worst_err(gdx, dx, dxm, nx);
		CHECKM(e <= 2, "%s: input gradient, accumulate (cache %d): error %.3g of tolerance", tag, pass, e);
	}
	g_cases++;
	free(x), free(w), free(b), free(dy), free(y), free(ym), free(dx), free(dxm), free(dw), free(dwm);
	free(scr), free(cache), free(gy), free(gdx), free(gdw), free(pre);
}

static void test_conv_sweep(void)
{
	static const int planes[][2] = { { 1, 1 }, { 2, 3 }, { 5, 5 }, { 7, 9 }, { 14, 14 }, { 13, 30 }, { 30, 30 } };
	static const int ks[] = { 1, 3, 5 };
	int i = 0;
	for (size_t pl = 0; pl < sizeof planes / sizeof planes[0]; pl++)
		for (int ki = 0; ki < 3; ki++)
			for (int s = 1; s <= 2; s++)
				for (int d = 1; d <= 2; d++)
					for (int dwise = 0; dwise < 2; dwise++, i++) {
						int k = ks[ki], h = planes[pl][0], w = planes[pl][1];
						if (g_quick && i % 4)
							continue;
						if (k == 1 && d == 2)
							continue;
						/* channels cycle through 1..33 across the cases */
						int cin = 1 + (i * 7) % 33, cout = 1 + (i * 11 + 3) % 33;
						if (h * w >= 400 && cin * cout > 300)
							cin = 1 + cin % 12; /* keep the reference quick */
						if (dwise) {
							cin = cin < 2 ? 2 : cin;
							cout = cin;
						}
						conv_case c = { { 1, cin, h, w }, { 1, cout, 0, 0 }, { 0 } };
						c.p = (nn_params){ .k = k, .stride = s, .pad = d * (k - 1) / 2, .dil = d,
								   .groups = dwise ? cin : 1, .cout = cout };
						/* every third case without padding: the generic paths' borders */
						if (i % 3 == 2)
							c.p.pad = 0;
						int eh = h + 2 * c.p.pad - d * (k - 1), ew = w + 2 * c.p.pad - d * (k - 1);
						if (eh < 1 || ew < 1)
							continue;
						c.ys.h = (eh - 1) / s + 1, c.ys.w = (ew - 1) / s + 1;
						conv_check(c, 2, "conv");
					}
	/* every output-channel count 1..33 of a 3x3 same conv: all row tails
	 * of the register tiles, forward and backward (cin = cout there) */
	for (int co = 1; co <= 33; co += g_quick ? 4 : 1) {
		conv_case c = { { 1, 1 + (co * 5) % 17, 6, 11 }, { 1, co, 6, 11 }, { 0 } };
		c.p = (nn_params){ .k = 3, .stride = 1, .pad = 1, .dil = 1, .groups = 1, .cout = co };
		conv_check(c, 2, "conv rows");
	}
	/* the reference nets' layer shapes */
	static const int nets[][4] = { { 1, 32, 28, 28 }, { 32, 32, 28, 28 }, { 32, 64, 14, 14 }, { 64, 64, 14, 14 },
				       { 16, 16, 7, 7 }, { 64, 64, 7, 7 } };
	for (size_t t = 0; t < sizeof nets / sizeof nets[0] && !g_quick; t++) {
		conv_case c = { { 1, nets[t][0], nets[t][2], nets[t][3] }, { 1, nets[t][1], nets[t][2], nets[t][3] }, { 0 } };
		c.p = (nn_params){ .k = 3, .stride = 1, .pad = 1, .dil = 1, .groups = 1, .cout = nets[t][1] };
		conv_check(c, 3, "net conv");
	}
	/* grouped (not depthwise) */
	conv_case c = { { 1, 8, 9, 9 }, { 1, 12, 9, 9 }, { 0 } };
	c.p = (nn_params){ .k = 3, .stride = 1, .pad = 1, .dil = 1, .groups = 4, .cout = 12 };
	conv_check(c, 2, "grouped conv");
	printf("  %d conv shapes\n", g_cases);
}

/* linear: y = x W^T + b, x [n, k], W [m, k] */
static void test_linear(void)
{
	static const int dims[][3] = { { 1, 1, 1 }, { 3, 5, 7 }, { 1, 784, 256 }, { 4, 256, 70 }, { 9, 17, 10 }, { 64, 784, 33 }, { 13, 40, 256 } };
	for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
		int n = dims[t][0], k = dims[t][1], m = dims[t][2];
		float *x = rnd((size_t)n * k), *w = rnd((size_t)m * k), *b = rnd(m), *dy = rnd((size_t)n * m);
		float *wt = zeros((size_t)k * m), *y = zeros((size_t)n * m), *dx = zeros((size_t)n * k);
		float *dw = zeros((size_t)m * k), *db = zeros(m), *scr = zeros(nn_k_linear_scratch(n, k, m) + 64);
		double *ry = calloc((size_t)n * m, sizeof(double)), *ryg = calloc((size_t)n * m, sizeof(double));
		double *rdx = calloc((size_t)n * k, sizeof(double)), *rdxm = calloc((size_t)n * k, sizeof(double));
		double *rdw = calloc((size_t)m * k, sizeof(double)), *rdwm = calloc((size_t)m * k, sizeof(double));
		for (int i = 0; i < n; i++)
			for (int j = 0; j < m; j++) {
				double s = b[j], a = fabs(b[j]);
				for (int l = 0; l < k; l++) {
					double v = (double)x[(size_t)i * k + l] * w[(size_t)j * k + l];
					s += v, a += fabs(v);
					double g = dy[(size_t)i * m + j];
					rdx[(size_t)i * k + l] += g * w[(size_t)j * k + l];
					rdxm[(size_t)i * k + l] += fabs(g * w[(size_t)j * k + l]);
					rdw[(size_t)j * k + l] += g * x[(size_t)i * k + l];
					rdwm[(size_t)j * k + l] += fabs(g * x[(size_t)i * k + l]);
				}
				ry[(size_t)i * m + j] = s, ryg[(size_t)i * m + j] = a;
			}
		nn_k_linear_wt(w, m, k, wt, 0, k);
		nn_k_linear_fwd(x, 0, n, k, w, wt, b, y, m, scr);
		double e = worst_err(y, ry, ryg, (size_t)n * m);
		CHECKM(e <= 1, "linear %dx%d -> %d: forward error %.3g of tolerance", n, k, m, e);
		if (n <= NN_LIN_DOT_ROWS) {
			memset(y, 0, sizeof(float) * n * m);
			nn_k_linear_fwd(x, 0, n, k, w, NULL, b, y, m, scr);
			e = worst_err(y, ry, ryg, (size_t)n * m);
			CHECKM(e <= 1, "linear %dx%d -> %d: forward without W^T, error %.3g of tolerance", n, k, m, e);
		}
		nn_k_linear_bwd(x, 0, n, k, w, dy, m, dx, dw, db, scr, 1);
		e = worst_err(dx, rdx, rdxm, (size_t)n * k);
		CHECKM(e <= 1, "linear %dx%d -> %d: input gradient error %.3g of tolerance", n, k, m, e);
		e = worst_err(dw, rdw, rdwm, (size_t)m * k);
		CHECKM(e <= 1, "linear %dx%d -> %d: weight gradient error %.3g of tolerance", n, k, m, e);
		free(x), free(w), free(b), free(dy), free(wt), free(y), free(dx), free(dw), free(db), free(scr);
		free(ry), free(ryg), free(rdx), free(rdxm), free(rdw), free(rdwm);
	}
}

/* factorized reduction: y[:half] = W1 x[2i, 2j], y[half:] = W2 x[2i+1, 2j+1] */
static void test_factred(void)
{
	static const int dims[][4] = { { 1, 2, 2, 2 }, { 3, 7, 5, 4 }, { 16, 28, 28, 32 }, { 9, 13, 11, 10 } };
	for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
		int N = 2, ci = dims[t][0], h = dims[t][1], w = dims[t][2], co = dims[t][3], half = co / 2;
		nn_shape xs = { N, ci, h, w }, ys = { N, co, (h + 1) / 2, (w + 1) / 2 };
		size_t nx = nn_shape_numel(xs), ny = nn_shape_numel(ys), nw = (size_t)co * ci;
		float *x = rnd(nx), *wt = rnd(nw), *dy = rnd(ny), *y = zeros(ny), *dx = zeros(nx), *dw = zeros(nw);
		float *scr = zeros(nn_k_factred_scratch(xs, ys) + 64);
		double *ry = calloc(ny, sizeof(double)), *rym = calloc(ny, sizeof(double));
		double *rdx = calloc(nx, sizeof(double)), *rdxm = calloc(nx, sizeof(double));
		double *rdw = calloc(nw, sizeof(double)), *rdwm = calloc(nw, sizeof(double));
		for (int n = 0; n < N; n++)
			for (int c = 0; c < co; c++)
				for (int i = 0; i < ys.h; i++)
					for (int j = 0; j < ys.w; j++) {
						int o = c < half ? 0 : 1, iy = 2 * i + o, ix = 2 * j + o;
						size_t yo = (((size_t)n * co + c) * ys.h + i) * ys.w + j;
						if (iy >= h || ix >= w)
							continue;
						for (int k = 0; k < ci; k++) {
							size_t xo = (((size_t)n * ci + k) * h + iy) * w + ix, wo = (size_t)c * ci + k;
							ry[yo] += (double)wt[wo] * x[xo], rym[yo] += fabs((double)wt[wo] * x[xo]);
							rdx[xo] += (double)dy[yo] * wt[wo], rdxm[xo] += fabs((double)dy[yo] * wt[wo]);
							rdw[wo] += (double)dy[yo] * x[xo], rdwm[wo] += fabs((double)dy[yo] * x[xo]);
						}
					}
		nn_k_factred_fwd(x, xs, wt, y, ys, 0, N, scr);
		double e = worst_err(y, ry, rym, ny);
		CHECKM(e <= 1, "factred %dx%dx%d -> %d: forward error %.3g of tolerance", ci, h, w, co, e);
		nn_k_factred_bwd(x, xs, wt, dy, ys, dx, dw, 0, N, scr);
		e = worst_err(dx, rdx, rdxm, nx);
		CHECKM(e <= 1, "factred %dx%dx%d -> %d: input gradient error %.3g of tolerance", ci, h, w, co, e);
		e = worst_err(dw, rdw, rdwm, nw);
		CHECKM(e <= 1, "factred %dx%dx%d -> %d: weight gradient error %.3g of tolerance", ci, h, w, co, e);
		free(x), free(wt), free(dy), free(y), free(dx), free(dw), free(scr);
		free(ry), free(rym), free(rdx), free(rdxm), free(rdw), free(rdwm);
	}
}

/* 2x2 stride-2 max pool, widths around the vector tails */
static void test_maxpool22(void)
{
	for (int w = 2; w <= 70; w += 3)
		for (int h = 2; h <= 6; h += 4) {
			float *x = rnd((size_t)h * w);
			if (w > 5)
				x[3] = x[2]; /* a tie: the first in row-major order wins */
			int oh = h / 2, ow = w / 2;
			float *y = zeros((size_t)oh * ow);
			int32_t *a = calloc((size_t)oh * ow, sizeof(int32_t));
			nn_cpu()->maxpool22(x, w, y, a, oh, ow);
			int bad = 0;
			for (int oy = 0; oy < oh; oy++)
				for (int ox = 0; ox < ow; ox++) {
					float m = -INFINITY;
					int am = -1;
					for (int i = 0; i < 2; i++)
						for (int j = 0; j < 2; j++) {
							int o = (2 * oy + i) * w + 2 * ox + j;
							if (x[o] > m)
								m = x[o], am = o;
						}
					bad += y[oy * ow + ox] != m || a[oy * ow + ox] != am;
				}
			CHECKM(!bad, "maxpool22 %dx%d: %d outputs wrong", h, w, bad);
			free(x), free(y), free(a);
		}
}

/* batch norm phases against double loops, with and without the fused relu
 * and pool */
static void test_bn(void)
{
	static const int shapes[][4] = { { 3, 5, 1, 1 }, { 2, 3, 7, 7 }, { 4, 17, 14, 14 }, { 2, 2, 5, 33 } };
	for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
		nn_shape s = { shapes[t][0], shapes[t][1], shapes[t][2], shapes[t][3] };
		int C = s.c;
		size_t hw = (size_t)s.h * s.w, n = (size_t)s.n * C * hw;
		float *x = rnd(n), *dy = rnd(n), *mean = rnd(C), *sc = rnd(C), *beta = rnd(C);
		float *a = rnd(C), *bb = rnd(C), *c0 = rnd(C);
		double *part = calloc(2 * C, sizeof(double)), *dpart = calloc(2 * C, sizeof(double));
		float *y = zeros(n), *yr = zeros(n), *dx = zeros(n);
		nn_shape ps = { s.n, C, s.h / 2, s.w / 2 };
		size_t np = (size_t)s.n * C * ps.h * ps.w;
		float *py = zeros(np + 1);
		int32_t *pa = calloc(np + 1, sizeof(int32_t));
		nn_cpu()->bn_stats(x, s, 0, s.n, 0, part);
		int bad = 0;
		for (int c = 0; c < C; c++) {
			double k = x[(size_t)c * hw], s1 = 0, s2 = 0;
			for (int i = 0; i < s.n; i++)
				for (size_t j = 0; j < hw; j++) {
					double d = x[((size_t)i * C + c) * hw + j] - k;
					s1 += d, s2 += d * d;
				}
			bad += fabs(part[c] - s1) > 1e-4 * (1 + fabs(s1)) || fabs(part[C + c] - s2) > 1e-4 * (1 + s2);
		}
		CHECKM(!bad, "bn stats %dx%dx%dx%d: %d channels wrong", s.n, C, s.h, s.w, bad);
		int pool = s.h >= 2 && s.w >= 2;
		nn_cpu()->bn_apply(x, s, mean, sc, beta, y, yr, pool ? py : NULL, pool ? pa : NULL, ps, 0, s.n);
		nn_cpu()->bn_bwd_sums(x, s, dy, sc, beta, mean, 0, s.n, dpart);
		nn_cpu()->bn_bwd_dx(x, s, dy, sc, beta, mean, a, bb, c0, dx, 0, s.n, 1);
		bad = 0;
		int badb = 0, badd = 0;
		for (int c = 0; c < C; c++) {
			double s1 = 0, s2 = 0;
			for (int i = 0; i < s.n; i++)
				for (size_t j = 0; j < hw; j++) {
					size_t o = ((size_t)i * C + c) * hw + j;
					double v = ((double)x[o] - mean[c]) * sc[c] + beta[c];
					bad += fabs(y[o] - v) > 1e-5 * (1 + fabs(v)) ||
					       fabs(yr[o] - (y[o] > 0 ? y[o] : 0)) > 0;
					/* the mask as the kernel computed it (its own y) */
					double d = y[o] > 0 ? dy[o] : 0;
					s1 += d, s2 += d * ((double)x[o] - mean[c]);
					double r = a[c] * d + bb[c] * ((double)x[o] - mean[c]) + c0[c];
					badd += fabs(dx[o] - r) > 1e-5 * (1 + fabs(r));
				}
			badb += fabs(dpart[c] - s1) > 1e-4 * (1 + fabs(s1)) || fabs(dpart[C + c] - s2) > 1e-4 * (1 + fabs(s2));
		}
		CHECKM(!bad, "bn apply %dx%dx%dx%d: %d values wrong", s.n, C, s.h, s.w, bad);
		CHECKM(!badb, "bn backward sums %dx%dx%dx%d: %d channels wrong", s.n, C, s.h, s.w, badb);
		CHECKM(!badd, "bn backward dx %dx%dx%dx%d: %d values wrong", s.n, C, s.h, s.w, badd);
		if (pool) {
			int badp = 0;
			for (int pl = 0; pl < s.n * C; pl++)
				for (int oy = 0; oy < ps.h; oy++)
					for (int ox = 0; ox < ps.w; ox++) {
						const float *r = yr + (size_t)pl * hw;
						float m = -INFINITY;
						for (int i = 0; i < 2; i++)
							for (int j = 0; j < 2; j++) {
								float v = r[(2 * oy + i) * s.w + 2 * ox + j];
								m = v > m ? v : m;
							}
						badp += py[((size_t)pl * ps.h + oy) * ps.w + ox] != m;
					}
			CHECKM(!badp, "bn fused pool %dx%dx%dx%d: %d values wrong", s.n, C, s.h, s.w, badp);
		}
		free(x), free(dy), free(mean), free(sc), free(beta), free(a), free(bb), free(c0), free(part), free(dpart);
		free(y), free(yr), free(dx), free(py), free(pa);
	}
}

/* relu forward and backward, sums: every length around the vector tails */
static void test_elementwise(void)
{
	int bad = 0;
	for (size_t n = 0; n <= 70; n++) {
		float *x = rnd(n + 1), *dy = rnd(n + 1), *y = zeros(n + 1), *dx = rnd(n + 1), *dx0 = zeros(n + 1);
		memcpy(dx0, dx, sizeof(float) * n);
		nn_cpu()->relu_fwd(x, y, n);
		for (size_t i = 0; i < n; i++)
			bad += y[i] != (x[i] > 0 ? x[i] : 0);
		nn_cpu()->relu_bwd(x, dy, dx, n, 0);
		for (size_t i = 0; i < n; i++)
			bad += dx[i] != dx0[i] + (x[i] > 0 ? dy[i] : 0);
		nn_cpu()->relu_bwd(x, dy, dx, n, 1);
		for (size_t i = 0; i < n; i++)
			bad += dx[i] != (x[i] > 0 ? dy[i] : 0);
		nn_cpu()->add(y, x, dy, n);
		for (size_t i = 0; i < n; i++)
			bad += y[i] != x[i] + dy[i];
		memcpy(dx, dx0, sizeof(float) * n);
		nn_cpu()->add(dx, x, NULL, n);
		for (size_t i = 0; i < n; i++)
			bad += dx[i] != dx0[i] + x[i];
		bad += y[n] != 0; /* nothing written past n */
		free(x), free(dy), free(y), free(dx), free(dx0);
	}
	CHECKM(!bad, "%d elementwise results wrong", bad);
}

static void test_peak(void)
{
	double p = nn_isa_peak_gflops(1, 0.05);
	CHECKM(p > 0 && isfinite(p), "peak %g", p);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--quick"))) {
		fprintf(stderr, "usage: test_kernels generic|avx2|avx512 [--quick]\n");
		return 2;
	}
	g_quick = argc == 3;
	char err[256];
	if (!nn_isa_supported(argv[1])) {
		if (nn_isa_set(argv[1], err, sizeof err) && strstr(err, "unknown")) {
			fprintf(stderr, "test_kernels: %s\n", err);
			return 2;
		}
		printf("skipped: this CPU has no %s (it runs: %s)\n", argv[1], nn_isa_list());
		return 77;
	}
	if (nn_isa_set(argv[1], err, sizeof err)) {
		fprintf(stderr, "test_kernels: %s\n", err);
		return 2;
	}
	printf("kernels: %s (%d floats per vector)\n", nn_isa_name(), nn_cpu()->lanes);
	RUN(test_conv_sweep);
	RUN(test_linear);
	RUN(test_factred);
	RUN(test_maxpool22);
	RUN(test_bn);
	RUN(test_elementwise);
	RUN(test_peak);
	return check_report();
}
