/* ops_norm.c - pooling and batch-norm kernels. */
#include "nn_impl.h"

#include <float.h>
#include <math.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t vi16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));
static inline v16 ldv(const float *p) { return *(const v16u *)p; }
static inline void stv(float *p, v16 v) { *(v16u *)p = v; }
static inline v16 bcv(float s) { return (v16){ s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s }; }
static inline float hsumv(v16 v)
{
	float s = 0;
	for (int i = 0; i < 16; i++)
		s += v[i];
	return s;
}
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* max pool: y = max over the in-bounds window (padding never wins);
 * avg pool: y = mean over the in-bounds part of the window. arg: argmax
 * position in the input plane, for max pool backward. */
/* 2x2 stride-2 max pool without padding; ties keep the first element in
 * row-major order, as the general loop does */
static void maxpool22(const float *xp, int w, float *yp, int32_t *ap, int oh, int ow)
{
#if defined(__AVX512F__)
	const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
	const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
	const __m512i two = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
	for (int oy = 0; oy < oh; oy++) {
		const float *r0 = xp + (size_t)(2 * oy) * w, *r1 = r0 + w;
		float *yr = yp + (size_t)oy * ow;
		int32_t *ar = ap + (size_t)oy * ow;
		for (int ox = 0; ox < ow; ox += 16) {
			int n = ow - ox < 16 ? ow - ox : 16, n2 = 2 * n;
			__mmask16 ml = (__mmask16)(n2 >= 16 ? 0xffff : (1u << n2) - 1);
			__mmask16 mh = (__mmask16)(n2 <= 16 ? 0 : (1u << (n2 - 16)) - 1);
			__mmask16 mo = (__mmask16)(n == 16 ? 0xffff : (1u << n) - 1);
			const float *p0 = r0 + 2 * ox, *p1 = r1 + 2 * ox;
			__m512 l0 = _mm512_maskz_loadu_ps(ml, p0), h0 = _mm512_maskz_loadu_ps(mh, p0 + 16);
			__m512 l1 = _mm512_maskz_loadu_ps(ml, p1), h1 = _mm512_maskz_loadu_ps(mh, p1 + 16);
			__m512 a = _mm512_permutex2var_ps(l0, ev, h0), b = _mm512_permutex2var_ps(l0, od, h0);
			__m512 c = _mm512_permutex2var_ps(l1, ev, h1), d = _mm512_permutex2var_ps(l1, od, h1);
			__m512i ia = _mm512_add_epi32(_mm512_set1_epi32(2 * oy * w + 2 * ox), two);
			__mmask16 gb = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ), gd = _mm512_cmp_ps_mask(d, c, _CMP_GT_OQ);
			__m512 m1 = _mm512_mask_blend_ps(gb, a, b), m2 = _mm512_mask_blend_ps(gd, c, d);
			__m512i i1 = _mm512_mask_add_epi32(ia, gb, ia, _mm512_set1_epi32(1));
			__m512i i2 = _mm512_add_epi32(ia, _mm512_set1_epi32(w));
			i2 = _mm512_mask_add_epi32(i2, gd, i2, _mm512_set1_epi32(1));
			__mmask16 g2 = _mm512_cmp_ps_mask(m2, m1, _CMP_GT_OQ);
			_mm512_mask_storeu_ps(yr + ox, mo, _mm512_mask_blend_ps(g2, m1, m2));
			_mm512_mask_storeu_epi32(ar + ox, mo, _mm512_mask_blend_epi32(g2, i1, i2));
		}
	}
#else
	for (int oy = 0; oy < oh; oy++) {
		const float *r0 = xp + (size_t)(2 * oy) * w, *r1 = r0 + w;
		float *yr = yp + (size_t)oy * ow;
		int32_t *ar = ap + (size_t)oy * ow;
		int base = 2 * oy * w;
		for (int ox = 0; ox < ow; ox++) {
			int i = 2 * ox;
			float a = r0[i], b = r0[i + 1], c = r1[i], d = r1[i + 1];
			int ia = base + i;
			float m1 = b > a ? b : a, m2 = d > c ? d : c;
			int i1 = b > a ? ia + 1 : ia, i2 = d > c ? ia + w + 1 : ia + w;
			yr[ox] = m2 > m1 ? m2 : m1;
			ar[ox] = m2 > m1 ? i2 : i1;
		}
	}
#endif
}

int nn_k_pool_is22(const nn_params *p) { return p->k == 2 && p->stride == 2 && p->pad == 0; }

void nn_k_pool_fwd(int op, const float *x, nn_shape xs, float *y, nn_shape ys, const nn_params *p, int32_t *arg,
		   int n0, int n1)
{
	int k = p->k, s = p->stride, pad = p->pad;
	int fast = op == NN_OP_MAXPOOL && k == 2 && s == 2 && pad == 0 && 2 * ys.h <= xs.h && 2 * ys.w <= xs.w;
	for (int pl = n0 * xs.c; pl < n1 * xs.c; pl++) {
		if (fast) {
			size_t o = (size_t)pl * ys.h * ys.w;
			maxpool22(x + (size_t)pl * xs.h * xs.w, xs.w, y + o, arg + o, ys.h, ys.w);
			continue;
		}
		const float *xp = x + (size_t)pl * xs.h * xs.w;
		float *yp = y + (size_t)pl * ys.h * ys.w;
		int32_t *ap = arg ? arg + (size_t)pl * ys.h * ys.w : NULL;
		for (int oy = 0; oy < ys.h; oy++) {
			int y0 = oy * s - pad, y1 = y0 + k;
			if (y0 < 0) y0 = 0;
			if (y1 > xs.h) y1 = xs.h;
			for (int ox = 0; ox < ys.w; ox++) {
				int x0 = ox * s - pad, x1 = x0 + k;
				if (x0 < 0) x0 = 0;
				if (x1 > xs.w) x1 = xs.w;
				if (op == NN_OP_MAXPOOL) {
					float m = -FLT_MAX;
					int am = y0 * xs.w + x0;
					for (int iy = y0; iy < y1; iy++)
						for (int ix = x0; ix < x1; ix++)
							if (xp[iy * xs.w + ix] > m)
								m = xp[iy * xs.w + ix], am = iy * xs.w + ix;
					yp[oy * ys.w + ox] = m;
					ap[oy * ys.w + ox] = am;
				} else {
					float sum = 0;
					for (int iy = y0; iy < y1; iy++)
						for (int ix = x0; ix < x1; ix++)
							sum += xp[iy * xs.w + ix];
					yp[oy * ys.w + ox] = sum / (float)((y1 - y0) * (x1 - x0));
				}
			}
		}
	}
}

void nn_k_pool_bwd(int op, nn_shape xs, const float *dy, nn_shape ys, const nn_params *p, const int32_t *arg,
		   float *dx, int n0, int n1, int assign)
{
	int k = p->k, s = p->stride, pad = p->pad;
	for (int pl = n0 * xs.c; pl < n1 * xs.c; pl++) {
		float *dxp = dx + (size_t)pl * xs.h * xs.w;
		const float *dyp = dy + (size_t)pl * ys.h * ys.w;
		if (assign)
			memset(dxp, 0, sizeof(float) * xs.h * xs.w);
		if (op == NN_OP_MAXPOOL) {
			const int32_t *ap = arg + (size_t)pl * ys.h * ys.w;
			for (int i = 0; i < ys.h * ys.w; i++)
				dxp[ap[i]] += dyp[i];
			continue;
		}
		for (int oy = 0; oy < ys.h; oy++) {
			int y0 = oy * s - pad, y1 = y0 + k;
			if (y0 < 0) y0 = 0;
			if (y1 > xs.h) y1 = xs.h;
			for (int ox = 0; ox < ys.w; ox++) {
				int x0 = ox * s - pad, x1 = x0 + k;
				if (x0 < 0) x0 = 0;
				if (x1 > xs.w) x1 = xs.w;
				float g = dyp[oy * ys.w + ox] / (float)((y1 - y0) * (x1 - x0));
				for (int iy = y0; iy < y1; iy++)
					for (int ix = x0; ix < x1; ix++)
						dxp[iy * xs.w + ix] += g;
			}
		}
	}
}

/* ---- batch norm, in phases (see nn_impl.h) ---- */
void nn_k_bn_stats(const float *x, nn_shape s, int n0, int n1, int srow, double *part)
{
	int C = s.c;
	size_t hw = (size_t)s.h * s.w;
	for (int c = 0; c < C; c++) {
		float k = x[((size_t)srow * C + c) * hw];
		v16 vk = bcv(k);
		double s1 = 0, s2 = 0;
		for (int n = n0; n < n1; n++) {
			const float *xp = x + ((size_t)n * C + c) * hw;
			v16 a = { 0 }, b = { 0 };
			size_t i = 0;
			for (; i + 16 <= hw; i += 16) {
				v16 d = ldv(xp + i) - vk;
				a += d;
				b += d * d;
			}
			float ra = hsumv(a), rb = hsumv(b);
			for (; i < hw; i++) {
				float d = xp[i] - k;
				ra += d;
				rb += d * d;
			}
			s1 += ra, s2 += rb;
		}
		part[c] += s1;
		part[C + c] += s2;
	}
}

void nn_k_bn_apply(const float *x, nn_shape s, const float *mean, const float *sc, const float *beta, float *y,
		   float *yr, float *py, int32_t *pa, nn_shape ps, int n0, int n1)
{
	int C = s.c;
	size_t hw = (size_t)s.h * s.w, phw = (size_t)ps.h * ps.w;
	for (int n = n0; n < n1; n++)
		for (int c = 0; c < C; c++) {
			size_t o = ((size_t)n * C + c) * hw;
			const float *xp = x + o;
			float *yp = y + o, m = mean[c], a = sc[c], b = beta[c];
			if (yr) {
				float *rp = yr + o;
				for (size_t i = 0; i < hw; i++) {
					float v = (xp[i] - m) * a + b;
					yp[i] = v;
					rp[i] = v > 0 ? v : 0;
				}
				if (py) {
					size_t po = ((size_t)n * C + c) * phw;
					maxpool22(rp, s.w, py + po, pa + po, ps.h, ps.w);
				}
			} else {
				for (size_t i = 0; i < hw; i++)
					yp[i] = (xp[i] - m) * a + b;
			}
		}
}

/* relu mask of the fused relu, recomputed from x exactly as the forward
 * computed the bn output: (x - m) sc + beta > 0 */
#define BN_ON(xv) (((xv) - m) * rs + rb > 0)

void nn_k_bn_bwd_sums(const float *x, nn_shape s, const float *dy, const float *rsc, const float *rbeta,
		      const float *mean, int n0, int n1, double *part)
{
	int C = s.c;
	size_t hw = (size_t)s.h * s.w;
	for (int c = 0; c < C; c++) {
		double s1 = 0, s2 = 0;
		float m = mean[c], rs = rsc ? rsc[c] : 0, rb = rsc ? rbeta[c] : 0;
		v16 vm = bcv(m), vs = bcv(rs), vb = bcv(rb), zero = { 0 };
		for (int n = n0; n < n1; n++) {
			size_t o = ((size_t)n * C + c) * hw;
			const float *xp = x + o, *dp = dy + o;
			v16 a = { 0 }, b = { 0 };
			size_t i = 0;
			for (; i + 16 <= hw; i += 16) {
				v16 xv = ldv(xp + i), d = ldv(dp + i);
				if (rsc)
					d = (v16)((vi16)d & ((xv - vm) * vs + vb > zero));
				a += d;
				b += d * (xv - vm);
			}
			float ra = hsumv(a), rb2 = hsumv(b);
			for (; i < hw; i++) {
				float d = rsc && !BN_ON(xp[i]) ? 0 : dp[i];
				ra += d;
				rb2 += d * (xp[i] - m);
			}
			s1 += ra, s2 += rb2;
		}
		part[c] += s1;
		part[C + c] += s2;
	}
}

void nn_k_bn_bwd_dx(const float *x, nn_shape s, const float *dy, const float *rsc, const float *rbeta,
		    const float *mean, const float *a, const float *b, const float *c0, float *dx, int n0, int n1,
		    int assign)
{
	int C = s.c;
	size_t hw = (size_t)s.h * s.w;
	for (int n = n0; n < n1; n++)
		for (int c = 0; c < C; c++) {
			size_t o = ((size_t)n * C + c) * hw;
			const float *xp = x + o, *dp = dy + o;
			float *dxp = dx + o, m = mean[c], ac = a[c], bc = b[c], cc = c0[c];
			float rs = rsc ? rsc[c] : 0, rb = rsc ? rbeta[c] : 0;
			v16 vm = bcv(m), vs = bcv(rs), vb = bcv(rb), va = bcv(ac), vbc = bcv(bc), vc = bcv(cc), zero = { 0 };
			size_t i = 0;
			for (; i + 16 <= hw; i += 16) {
				v16 xv = ldv(xp + i), d = ldv(dp + i);
				if (rsc)
					d = (v16)((vi16)d & ((xv - vm) * vs + vb > zero));
				v16 r = va * d + vbc * (xv - vm) + vc;
				stv(dxp + i, assign ? r : r + ldv(dxp + i));
			}
			for (; i < hw; i++) {
				float xv = xp[i];
				float d = rsc && !BN_ON(xv) ? 0 : dp[i];
				float r = ac * d + bc * (xv - m) + cc;
				dxp[i] = assign ? r : dxp[i] + r;
			}
		}
}
