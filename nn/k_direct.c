/* k_direct.c - direct stride-1 "same" convolution kernels on a padded grid.
 *
 * For a convolution with stride 1 and 2 pad = dil (k - 1) the output has the
 * input's size. The input of one image is copied into a zero-bordered grid of
 * width Wp = w + 2 pad (one plane per channel, plane stride ps); the output
 * is computed on the same grid, flattened: ygrid[co][oy*Wp + ox], ox < w
 * valid, the rest junk. Tap t = (ki, kj) of the kernel is then a constant
 * offset toff[t] = ki dil Wp + kj dil into the flattened input, so every
 * kernel below is a plain register-blocked GEMM over contiguous vectors.
 *
 * Backward data is the same kernel on the padded output gradient with the
 * kernel flipped and transposed; backward weights reduces over the grid with
 * junk positions of dy set to zero.
 *
 * All functions are single-threaded; callers split images over threads.
 */
#include "nn_impl.h"

#include <stdlib.h>

#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));

static inline v16 ld(const float *p) { return *(const v16u *)p; }
static inline void st(float *p, v16 v) { *(v16u *)p = v; }
static inline v16 bc(float s) { return (v16){ s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s }; }
#if defined(__AVX512F__)
static inline v16 fma16(v16 a, v16 b, v16 c) { return (v16)_mm512_fmadd_ps((__m512)b, (__m512)c, (__m512)a); }
static inline float hsum(v16 v) { return _mm512_reduce_add_ps((__m512)v); }
#else
static inline v16 fma16(v16 a, v16 b, v16 c) { return a + b * c; }
static inline float hsum(v16 v)
{
	float s = 0;
	for (int i = 0; i < 16; i++)
		s += v[i];
	return s;
}
#endif

#if defined(__AVX512F__)
/* store the valid lanes of v (mask m) contiguously at y + off; acc: add to
 * what is there. Turns grid rows into NCHW rows without a copy pass. */
static inline void st_compress(float *y, v16 v, int m, int off, int acc)
{
	if (!m)
		return;
	__mmask16 k = (__mmask16)m, kc = (__mmask16)((1u << __builtin_popcount((unsigned)m)) - 1);
	if (acc)
		v += (v16)_mm512_maskz_expand_ps(k, _mm512_maskz_loadu_ps(kc, y + off));
	_mm512_mask_storeu_ps(y + off, kc, _mm512_maskz_compress_ps(k, (__m512)v));
}
#endif

int nn_kd_direct_out(void)
{
#if defined(__AVX512F__)
	return 1;
#else
	return 0;
#endif
}

/* otab [gs/16][2]: for the vector of grid positions at 16 v: lane mask of
 * valid positions and the NCHW offset (in a channel plane) of the first */
void nn_kd_otab(const nn_kd *g, int32_t *otab)
{
	for (size_t v = 0; v < g->gs / 16; v++) {
		int m = 0, off = 0, first = 1;
		for (int l = 0; l < 16; l++) {
			size_t q = v * 16 + l;
			size_t row = q / g->wp, col = q % g->wp;
			if (row < (size_t)g->h && col < (size_t)g->w) {
				m |= 1 << l;
				if (first)
					off = (int)(row * g->w + col), first = 0;
			}
		}
		otab[2 * v] = m, otab[2 * v + 1] = off;
	}
}

#define KD_CB 8  /* output channels per register tile */
#define KD_NV 3  /* vectors of 16 grid positions per register tile */
#define KD_Q (16 * KD_NV)

int nn_kd_fits(nn_shape xs, const nn_params *p)
{
	if (p->stride != 1 || 2 * p->pad != p->dil * (p->k - 1) || p->k > 7)
		return 0;
	if (p->groups == 1)
		return 1;
	return p->groups == xs.c && p->cout == xs.c;
}

void nn_kd_geom(nn_shape xs, const nn_params *p, nn_kd *g)
{
	g->k = p->k, g->pad = p->pad, g->dil = p->dil;
	g->h = xs.h, g->w = xs.w;
	g->wp = xs.w + 2 * p->pad;
	g->hp = xs.h + 2 * p->pad;
	g->gs = ((size_t)xs.h * g->wp + KD_Q - 1) / KD_Q * KD_Q;
	/* a zero gap after each plane keeps grid reads past h*Wp inside zeros */
	g->ps = ((size_t)g->hp * g->wp + KD_Q + 15) & ~(size_t)15;
	g->maxoff = (size_t)(p->k - 1) * p->dil * (g->wp + 1);
	g->slack = (g->maxoff + 2 * KD_Q + 15) & ~(size_t)15;
	int kk = p->k * p->k;
	NN_ASSERT(kk <= NN_KD_MAXTAPS);
	for (int ki = 0; ki < p->k; ki++)
		for (int kj = 0; kj < p->k; kj++)
			g->toff[ki * p->k + kj] = (int)((size_t)ki * p->dil * g->wp + (size_t)kj * p->dil);
}

/* Stride-2 depthwise convs (dil 1): the zero-padded input is split into its
 * four (row, column) parity phases, each a plane of width Wq = ceil(Wp/2);
 * tap (ki, kj) then reads phase (ki&1, kj&1) at a constant offset from the
 * output grid position, so the stride-1 depthwise kernel applies unchanged.
 * The grid is oh x Wq; h, w, wp in the geometry describe that output grid. */
int nn_kd_fits_s2(nn_shape xs, const nn_params *p)
{
	return p->stride == 2 && p->dil == 1 && p->k <= 7 && p->groups > 1 && p->groups == xs.c && p->cout == xs.c &&
	       p->pad < p->k;
}

void nn_kd_geom_s2(nn_shape xs, const nn_params *p, nn_kd *g)
{
	int hp = xs.h + 2 * p->pad, wp = xs.w + 2 * p->pad;
	int hq = (hp + 1) / 2, wq = (wp + 1) / 2;
	g->k = p->k, g->pad = p->pad, g->dil = 1;
	g->h = (hp - p->k) / 2 + 1, g->w = (wp - p->k) / 2 + 1;
	g->wp = wq, g->hp = hq;
	g->gs = ((size_t)g->h * wq + KD_Q - 1) / KD_Q * KD_Q;
	size_t pps = ((size_t)hq * wq + KD_Q + 15) & ~(size_t)15;
	g->ps = 4 * pps;
	g->maxoff = 3 * pps + (size_t)(p->k / 2) * (wq + 1);
	g->slack = (g->maxoff + 2 * KD_Q + 15) & ~(size_t)15;
	for (int ki = 0; ki < p->k; ki++)
		for (int kj = 0; kj < p->k; kj++)
			g->toff[ki * p->k + kj] = (int)(((ki & 1) * 2 + (kj & 1)) * pps + (size_t)(ki >> 1) * wq + (kj >> 1));
}

/* xp [c][4 phases][pps] (+ slack) <- x [c][h][w] (input size ih x iw) */
void nn_kd_pad_s2(const float *x, int c, int ih, int iw, const nn_kd *g, float *xp)
{
	size_t pps = g->ps / 4;
	int pad = g->pad, hq = g->hp, wq = g->wp;
	for (int ch = 0; ch < c; ch++) {
		const float *xc = x + (size_t)ch * ih * iw;
		for (int ph = 0; ph < 4; ph++) {
			int a = ph >> 1, b = ph & 1;
			float *pl = xp + (size_t)ch * g->ps + ph * pps;
			for (int r = 0; r < hq; r++) {
				int y = 2 * r + a - pad;
				float *dr = pl + (size_t)r * wq;
				if (y < 0 || y >= ih) {
					memset(dr, 0, sizeof(float) * wq);
					continue;
				}
				const float *xr = xc + (size_t)y * iw;
				for (int cc = 0; cc < wq; cc++) {
					int xx = 2 * cc + b - pad;
					dr[cc] = xx >= 0 && xx < iw ? xr[xx] : 0;
				}
			}
			memset(pl + (size_t)hq * wq, 0, sizeof(float) * (pps - (size_t)hq * wq));
		}
	}
	memset(xp + (size_t)c * g->ps, 0, sizeof(float) * g->slack);
}

/* xp [c][ps] (+ slack) <- x [c][h][w], zero borders, gaps and slack */
void nn_kd_pad(const float *x, int c, const nn_kd *g, float *xp)
{
	int pad = g->pad, wp = g->wp, h = g->h, w = g->w;
	for (int ch = 0; ch < c; ch++) {
		float *pl = xp + (size_t)ch * g->ps;
		const float *xc = x + (size_t)ch * h * w;
		memset(pl, 0, sizeof(float) * ((size_t)pad * wp + pad));
		float *r = pl + (size_t)pad * wp + pad;
		for (int y = 0; y < h; y++) {
			memcpy(r, xc + (size_t)y * w, sizeof(float) * w);
			if (y + 1 < h)
				memset(r + w, 0, sizeof(float) * 2 * pad);
			r += wp;
		}
		/* after the last row: its right pad, bottom pad, gap */
		float *end = pl + g->ps;
		float *z = pl + (size_t)(pad + h - 1) * wp + pad + w;
		memset(z, 0, sizeof(float) * (size_t)(end - z));
	}
	memset(xp + (size_t)c * g->ps, 0, sizeof(float) * g->slack);
}

size_t nn_kd_padsize(int c, const nn_kd *g) { return (size_t)c * g->ps + g->slack; }

/* y [c][h][w] (+)= grid [c][gs] (valid part); bias b (may be NULL) */
void nn_kd_unpad(const float *grid, int c, const nn_kd *g, const float *b, float *y, int acc)
{
	int h = g->h, w = g->w, wp = g->wp;
	for (int ch = 0; ch < c; ch++) {
		const float *gc = grid + (size_t)ch * g->gs;
		float *yc = y + (size_t)ch * h * w;
		float bv = b ? b[ch] : 0;
		for (int yy = 0; yy < h; yy++) {
			const float *s = gc + (size_t)yy * wp;
			float *d = yc + (size_t)yy * w;
			if (acc)
				for (int i = 0; i < w; i++)
					d[i] += s[i];
			else
				for (int i = 0; i < w; i++)
					d[i] = s[i] + bv;
		}
	}
}

/* Weight packing for the forward kernel:
 * wp [ceil(cout/CB)][cin*kk][CB] <- w [cout][cin][kk] (zero rows past cout). */
void nn_kd_pack_fwd(const float *w, int cout, int cin, int kk, float *wp)
{
	int nb = (cout + KD_CB - 1) / KD_CB;
	size_t K = (size_t)cin * kk;
	for (int b = 0; b < nb; b++)
		for (size_t j = 0; j < K; j++)
			for (int r = 0; r < KD_CB; r++) {
				int co = b * KD_CB + r;
				wp[((size_t)b * K + j) * KD_CB + r] = co < cout ? w[(size_t)co * K + j] : 0;
			}
}

/* Backward data packing: wq [ceil(cin/CB)][cout*kk][CB], element
 * (ci, co, t) = w[co][ci][kk-1-t] (flipped, transposed). */
void nn_kd_pack_bwd(const float *w, int cout, int cin, int kk, float *wq)
{
	int nb = (cin + KD_CB - 1) / KD_CB;
	size_t K = (size_t)cout * kk;
	for (int b = 0; b < nb; b++)
		for (int co = 0; co < cout; co++)
			for (int t = 0; t < kk; t++)
				for (int r = 0; r < KD_CB; r++) {
					int ci = b * KD_CB + r;
					wq[((size_t)b * K + (size_t)co * kk + t) * KD_CB + r] =
						ci < cin ? w[((size_t)co * cin + ci) * kk + (kk - 1 - t)] : 0;
				}
}

size_t nn_kd_packsize(int cout, int cin, int kk)
{
	return (size_t)(cout + KD_CB - 1) / KD_CB * KD_CB * cin * kk;
}

/* The same for a block of R < 8 output rows (R a constant after inlining):
 * full tiles only, for outputs with very few channels such as the input
 * gradient of a first conv. Returns the first q not done. */
static inline __attribute__((always_inline)) size_t kd_conv_few(const float *xp, size_t xps, int cin, int kk,
								  const int *toff, const float *wb, float *yb, size_t ys,
								  size_t nq, int acc, const int32_t *otab,
								  const float *bias, int rows, const int R)
{
	size_t q0 = 0;
	for (; q0 + KD_Q <= nq; q0 += KD_Q) {
		v16 a[4][KD_NV];
#pragma GCC unroll 4
		for (int r = 0; r < 4; r++)
			a[r][0] = a[r][1] = a[r][2] = (v16){ 0 };
		const float *wk = wb;
		for (int ci = 0; ci < cin; ci++) {
			const float *xc = xp + (size_t)ci * xps + q0;
			for (int t = 0; t < kk; t++, wk += KD_CB) {
				const float *sp = xc + toff[t];
				v16 x0 = ld(sp), x1 = ld(sp + 16), x2 = ld(sp + 32);
#pragma GCC unroll 4
				for (int r = 0; r < R; r++) {
					v16 wv = bc(wk[r]);
					a[r][0] = fma16(a[r][0], wv, x0);
					a[r][1] = fma16(a[r][1], wv, x1);
					a[r][2] = fma16(a[r][2], wv, x2);
				}
			}
		}
#pragma GCC unroll 4
		for (int r = 0; r < R; r++) {
			if (r >= rows)
				break;
			float *yr = yb + (size_t)r * ys;
#if defined(__AVX512F__)
			if (otab) {
				const int32_t *ot = otab + 2 * (q0 / 16);
				v16 bv = bc(bias ? bias[r] : 0.0f);
				st_compress(yr, a[r][0] + bv, ot[0], ot[1], acc);
				st_compress(yr, a[r][1] + bv, ot[2], ot[3], acc);
				st_compress(yr, a[r][2] + bv, ot[4], ot[5], acc);
				continue;
			}
#endif
			float *yq = yr + q0;
			st(yq, acc ? a[r][0] + ld(yq) : a[r][0]);
			st(yq + 16, acc ? a[r][1] + ld(yq + 16) : a[r][1]);
			st(yq + 32, acc ? a[r][2] + ld(yq + 32) : a[r][2]);
		}
	}
	return q0;
}

/* y [cout][q] (+)= sum_{ci,t} wp * xp [ci][q + toff[t]] for q < nq; input
 * plane stride xps, output row stride ys. acc: add to y instead of storing. */
void nn_kd_conv(const float *xp, size_t xps, int cin, int cout, const nn_kd *g, const float *wp, float *y, size_t ys,
		size_t nq, int acc, const int32_t *otab, const float *bias)
{
	int kk = g->k * g->k;
	size_t K = (size_t)cin * kk;
	const int *toff = g->toff;
	for (int b = 0; b * KD_CB < cout; b++) {
		const float *wb = wp + (size_t)b * K * KD_CB;
		int rows = cout - b * KD_CB < KD_CB ? cout - b * KD_CB : KD_CB;
		float *yb = y + (size_t)b * KD_CB * ys;
		size_t q0 = 0;
		const float *bb = bias ? bias + b * KD_CB : NULL;
		if (rows == 1)
			q0 = kd_conv_few(xp, xps, cin, kk, toff, wb, yb, ys, nq, acc, otab, bb, rows, 1);
		else if (rows == 2)
			q0 = kd_conv_few(xp, xps, cin, kk, toff, wb, yb, ys, nq, acc, otab, bb, rows, 2);
		else if (rows <= 4)
			q0 = kd_conv_few(xp, xps, cin, kk, toff, wb, yb, ys, nq, acc, otab, bb, rows, 4);
		for (; q0 + KD_Q <= nq; q0 += KD_Q) {
			v16 a00 = { 0 }, a01 = { 0 }, a02 = { 0 }, a10 = { 0 }, a11 = { 0 }, a12 = { 0 };
			v16 a20 = { 0 }, a21 = { 0 }, a22 = { 0 }, a30 = { 0 }, a31 = { 0 }, a32 = { 0 };
			v16 a40 = { 0 }, a41 = { 0 }, a42 = { 0 }, a50 = { 0 }, a51 = { 0 }, a52 = { 0 };
			v16 a60 = { 0 }, a61 = { 0 }, a62 = { 0 }, a70 = { 0 }, a71 = { 0 }, a72 = { 0 };
			const float *wk = wb;
			for (int ci = 0; ci < cin; ci++) {
				const float *xc = xp + (size_t)ci * xps + q0;
				for (int t = 0; t < kk; t++, wk += KD_CB) {
					const float *s = xc + toff[t];
					v16 x0 = ld(s), x1 = ld(s + 16), x2 = ld(s + 32);
#define KD_ROW(r)                                      \
	{                                              \
		v16 wv = bc(wk[r]);                    \
		a##r##0 = fma16(a##r##0, wv, x0);      \
		a##r##1 = fma16(a##r##1, wv, x1);      \
		a##r##2 = fma16(a##r##2, wv, x2);      \
	}
					KD_ROW(0) KD_ROW(1) KD_ROW(2) KD_ROW(3)
					KD_ROW(4) KD_ROW(5) KD_ROW(6) KD_ROW(7)
#undef KD_ROW
				}
			}
#if defined(__AVX512F__)
			if (otab) {
				const int32_t *ot = otab + 2 * (q0 / 16);
#define KD_SC(r)                                                                                     \
	if (r < rows) {                                                                              \
		float *yr = yb + (size_t)r * ys;                                                     \
		v16 bv = bc(bias ? bias[b * KD_CB + r] : 0.0f);                                      \
		st_compress(yr, a##r##0 + bv, ot[0], ot[1], acc);                                    \
		st_compress(yr, a##r##1 + bv, ot[2], ot[3], acc);                                    \
		st_compress(yr, a##r##2 + bv, ot[4], ot[5], acc);                                    \
	}
				KD_SC(0) KD_SC(1) KD_SC(2) KD_SC(3) KD_SC(4) KD_SC(5) KD_SC(6) KD_SC(7)
#undef KD_SC
				continue;
			}
#endif
			NN_ASSERT(!otab);
			float *yq = yb + q0;
#define KD_ST(r)                                                                                    \
	if (r < rows) {                                                                             \
		float *yr = yq + (size_t)r * ys;                                                    \
		if (acc) {                                                                          \
			a##r##0 += ld(yr), a##r##1 += ld(yr + 16), a##r##2 += ld(yr + 32);          \
		}                                                                                   \
		st(yr, a##r##0), st(yr + 16, a##r##1), st(yr + 32, a##r##2);                        \
	}
			KD_ST(0) KD_ST(1) KD_ST(2) KD_ST(3) KD_ST(4) KD_ST(5) KD_ST(6) KD_ST(7)
#undef KD_ST
		}
		for (; q0 + 16 <= nq; q0 += 16) {
			v16 a[KD_CB];
			for (int r = 0; r < KD_CB; r++)
				a[r] = (v16){ 0 };
			const float *wk = wb;
			for (int ci = 0; ci < cin; ci++) {
				const float *xc = xp + (size_t)ci * xps + q0;
				for (int t = 0; t < kk; t++, wk += KD_CB) {
					v16 x0 = ld(xc + toff[t]);
#pragma GCC unroll 8
					for (int r = 0; r < KD_CB; r++)
						a[r] = fma16(a[r], bc(wk[r]), x0);
				}
			}
#pragma GCC unroll 8
			for (int r = 0; r < KD_CB; r++) {
				if (r >= rows)
					break;
				float *yr = yb + (size_t)r * ys + q0;
				st(yr, acc ? a[r] + ld(yr) : a[r]);
			}
		}
#if defined(__AVX512F__)
		if (q0 < nq) {
			/* masked last vector: lanes past nq are neither read nor written */
			__mmask16 mk = (__mmask16)((1u << (nq - q0)) - 1);
			v16 a[KD_CB];
			for (int r = 0; r < KD_CB; r++)
				a[r] = (v16){ 0 };
			const float *wk = wb;
			for (int ci = 0; ci < cin; ci++) {
				const float *xc = xp + (size_t)ci * xps + q0;
				for (int t = 0; t < kk; t++, wk += KD_CB) {
					v16 x0 = (v16)_mm512_maskz_loadu_ps(mk, xc + toff[t]);
#pragma GCC unroll 8
					for (int r = 0; r < KD_CB; r++)
						a[r] = fma16(a[r], bc(wk[r]), x0);
				}
			}
#pragma GCC unroll 8
			for (int r = 0; r < KD_CB; r++) {
				if (r >= rows)
					break;
				float *yr = yb + (size_t)r * ys + q0;
				if (acc)
					a[r] += (v16)_mm512_maskz_loadu_ps(mk, yr);
				_mm512_mask_storeu_ps(yr, mk, (__m512)a[r]);
			}
			q0 = nq;
		}
#endif
		for (; q0 < nq; q0++) {
			float a[KD_CB] = { 0 };
			const float *wk = wb;
			for (int ci = 0; ci < cin; ci++) {
				const float *xc = xp + (size_t)ci * xps + q0;
				for (int t = 0; t < kk; t++, wk += KD_CB) {
					float xv = xc[toff[t]];
					for (int r = 0; r < KD_CB; r++)
						a[r] += wk[r] * xv;
				}
			}
			for (int r = 0; r < rows; r++) {
				float *yr = yb + (size_t)r * ys + q0;
				*yr = acc ? *yr + a[r] : a[r];
			}
		}
	}
}

static float dot_tail(const float *a, const float *b, size_t q0, size_t nq)
{
	float s = 0;
	for (size_t q = q0; q < nq; q++)
		s += a[q] * b[q];
	return s;
}

/* dw [cout][cin][kk] += sum_{q < nq} dyg [co][q] xp [ci][q + toff[t]];
 * dyg is zero at junk grid positions, row stride dys; input plane stride xps. */
void nn_kd_wgrad(const float *xp, size_t xps, int cin, const float *dyg, size_t dys, int cout, const nn_kd *g,
		 size_t nq, float *dw)
{
	int kk = g->k * g->k;
	int K = cin * kk;
	size_t nv = nq & ~(size_t)15;
	int co = 0;
	for (; co + 4 <= cout; co += 4) {
		const float *d0 = dyg + (size_t)co * dys, *d1 = d0 + dys, *d2 = d1 + dys, *d3 = d2 + dys;
		int j = 0;
		for (; j + 6 <= K; j += 6) {
			const float *x[6];
			for (int i = 0; i < 6; i++)
				x[i] = xp + (size_t)((j + i) / kk) * xps + g->toff[(j + i) % kk];
			v16 a[4][6];
			for (int r = 0; r < 4; r++)
				for (int i = 0; i < 6; i++)
					a[r][i] = (v16){ 0 };
			for (size_t q = 0; q < nv; q += 16) {
				v16 e0 = ld(d0 + q), e1 = ld(d1 + q), e2 = ld(d2 + q), e3 = ld(d3 + q);
#pragma GCC unroll 6
				for (int i = 0; i < 6; i++) {
					v16 xv = ld(x[i] + q);
					__asm__("" : "+v"(xv)); /* keep x in a register: one load, four uses */
					a[0][i] = fma16(a[0][i], e0, xv);
					a[1][i] = fma16(a[1][i], e1, xv);
					a[2][i] = fma16(a[2][i], e2, xv);
					a[3][i] = fma16(a[3][i], e3, xv);
				}
			}
			for (int i = 0; i < 6; i++) {
				dw[(size_t)(co + 0) * K + j + i] += hsum(a[0][i]) + dot_tail(d0, x[i], nv, nq);
				dw[(size_t)(co + 1) * K + j + i] += hsum(a[1][i]) + dot_tail(d1, x[i], nv, nq);
				dw[(size_t)(co + 2) * K + j + i] += hsum(a[2][i]) + dot_tail(d2, x[i], nv, nq);
				dw[(size_t)(co + 3) * K + j + i] += hsum(a[3][i]) + dot_tail(d3, x[i], nv, nq);
			}
		}
		for (; j < K; j++) {
			const float *x0 = xp + (size_t)(j / kk) * xps + g->toff[j % kk];
			v16 b0 = { 0 }, b1 = { 0 }, b2 = { 0 }, b3 = { 0 };
			for (size_t q = 0; q < nv; q += 16) {
				v16 xv = ld(x0 + q);
				b0 = fma16(b0, ld(d0 + q), xv);
				b1 = fma16(b1, ld(d1 + q), xv);
				b2 = fma16(b2, ld(d2 + q), xv);
				b3 = fma16(b3, ld(d3 + q), xv);
			}
			dw[(size_t)(co + 0) * K + j] += hsum(b0) + dot_tail(d0, x0, nv, nq);
			dw[(size_t)(co + 1) * K + j] += hsum(b1) + dot_tail(d1, x0, nv, nq);
			dw[(size_t)(co + 2) * K + j] += hsum(b2) + dot_tail(d2, x0, nv, nq);
			dw[(size_t)(co + 3) * K + j] += hsum(b3) + dot_tail(d3, x0, nv, nq);
		}
	}
	for (; co < cout; co++) {
		const float *d0 = dyg + (size_t)co * dys;
		for (int j = 0; j < K; j++) {
			const float *x0 = xp + (size_t)(j / kk) * xps + g->toff[j % kk];
			v16 b0 = { 0 };
			for (size_t q = 0; q < nv; q += 16)
				b0 = fma16(b0, ld(d0 + q), ld(x0 + q));
			dw[(size_t)co * K + j] += hsum(b0) + dot_tail(d0, x0, nv, nq);
		}
	}
}

/* depthwise: ygrid [c][gs] = sum_t w[c][t] xp [c][q + toff[t]] */
void nn_kd_dw_conv(const float *xp, int c, const nn_kd *g, const float *w, int flip, float *ygrid,
		   const int32_t *otab, const float *bias, int acc)
{
	int kk = g->k * g->k;
	for (int ch = 0; ch < c; ch++) {
		const float *xc = xp + (size_t)ch * g->ps;
		const float *wc = w + (size_t)ch * kk;
		float *yc = ygrid + (size_t)ch * g->gs;
		for (size_t q0 = 0; q0 < g->gs; q0 += KD_Q) {
			v16 a0 = { 0 }, a1 = { 0 }, a2 = { 0 };
			for (int t = 0; t < kk; t++) {
				v16 wv = bc(wc[flip ? kk - 1 - t : t]);
				const float *s = xc + q0 + g->toff[t];
				a0 = fma16(a0, wv, ld(s));
				a1 = fma16(a1, wv, ld(s + 16));
				a2 = fma16(a2, wv, ld(s + 32));
			}
#if defined(__AVX512F__)
			if (otab) {
				const int32_t *ot = otab + 2 * (q0 / 16);
				float *yo = ygrid + (size_t)ch * g->h * g->w;
				v16 bv = bc(bias ? bias[ch] : 0.0f);
				st_compress(yo, a0 + bv, ot[0], ot[1], acc);
				st_compress(yo, a1 + bv, ot[2], ot[3], acc);
				st_compress(yo, a2 + bv, ot[4], ot[5], acc);
				continue;
			}
#endif
			NN_ASSERT(!otab);
			st(yc + q0, a0);
			st(yc + q0 + 16, a1);
			st(yc + q0 + 32, a2);
		}
	}
}

/* depthwise: dw [c][t] += sum_q dyg [c][q] xp [c][q + toff[t]] */
void nn_kd_dw_wgrad(const float *xp, int c, const float *dyg, size_t dys, const nn_kd *g, float *dw)
{
	int kk = g->k * g->k;
	for (int ch = 0; ch < c; ch++) {
		const float *xc = xp + (size_t)ch * g->ps;
		const float *dc = dyg + (size_t)ch * dys;
		for (int t = 0; t < kk; t++) {
			const float *s = xc + g->toff[t];
			v16 a0 = { 0 }, a1 = { 0 }, a2 = { 0 };
			for (size_t q = 0; q < g->gs; q += KD_Q) {
				a0 = fma16(a0, ld(dc + q), ld(s + q));
				a1 = fma16(a1, ld(dc + q + 16), ld(s + q + 16));
				a2 = fma16(a2, ld(dc + q + 32), ld(s + q + 32));
			}
			dw[(size_t)ch * kk + t] += hsum(a0 + a1 + a2);
		}
	}
}
