/* ops_norm.c - pooling and batch-norm kernels. */
#include "nn_impl.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* max pool: y = max over the in-bounds window (padding never wins);
 * avg pool: y = mean over the in-bounds part of the window. arg: argmax
 * position in the input plane, for max pool backward. */
void nn_k_pool_fwd(int op, const float *x, nn_shape xs, float *y, nn_shape ys, const nn_params *p, int32_t *arg)
{
	int k = p->k, s = p->stride, pad = p->pad;
	int planes = xs.n * xs.c;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < planes; pl++) {
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

void nn_k_pool_bwd(int op, nn_shape xs, const float *dy, nn_shape ys, const nn_params *p, const int32_t *arg, float *dx)
{
	int k = p->k, s = p->stride, pad = p->pad;
	int planes = xs.n * xs.c;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < planes; pl++) {
		float *dxp = dx + (size_t)pl * xs.h * xs.w;
		const float *dyp = dy + (size_t)pl * ys.h * ys.w;
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

/* Batch norm over (n, h, w) per channel. gb = [gamma c | beta c],
 * run = [mean c | var c]. save = [xhat n*c*h*w | invstd c]. */
void nn_k_bn_fwd(const float *x, nn_shape s, const float *gb, float *run, float *y, float *save, int train,
		 float eps, float momentum)
{
	int C = s.c;
	size_t hw = (size_t)s.h * s.w, M = (size_t)s.n * hw;
	float *xhat = save, *invstd = save + nn_shape_numel(s);
#pragma omp parallel for schedule(static)
	for (int c = 0; c < C; c++) {
		float mean, inv;
		if (train) {
			double sum = 0, sq = 0;
			for (int n = 0; n < s.n; n++) {
				const float *xp = x + ((size_t)n * C + c) * hw;
				float ps = 0;
				for (size_t i = 0; i < hw; i++)
					ps += xp[i];
				sum += ps;
			}
			mean = (float)(sum / (double)M);
			for (int n = 0; n < s.n; n++) {
				const float *xp = x + ((size_t)n * C + c) * hw;
				float ps = 0;
				for (size_t i = 0; i < hw; i++) {
					float d = xp[i] - mean;
					ps += d * d;
				}
				sq += ps;
			}
			float var = (float)(sq / (double)M);
			inv = 1.0f / sqrtf(var + eps);
			float unb = M > 1 ? (float)(sq / (double)(M - 1)) : var;
			run[c] = (1 - momentum) * run[c] + momentum * mean;
			run[C + c] = (1 - momentum) * run[C + c] + momentum * unb;
			invstd[c] = inv;
		} else {
			mean = run[c];
			inv = 1.0f / sqrtf(run[C + c] + eps);
		}
		float g = gb[c], b = gb[C + c];
		for (int n = 0; n < s.n; n++) {
			size_t o = ((size_t)n * C + c) * hw;
			for (size_t i = 0; i < hw; i++) {
				float h = (x[o + i] - mean) * inv;
				if (train)
					xhat[o + i] = h;
				y[o + i] = g * h + b;
			}
		}
	}
}

/* dx += gamma*invstd/M * (M dy - sum dy - xhat sum(dy xhat)) */
void nn_k_bn_bwd(nn_shape s, const float *gb, const float *dy, const float *save, float *dx, float *dgb)
{
	int C = s.c;
	size_t hw = (size_t)s.h * s.w, M = (size_t)s.n * hw;
	const float *xhat = save, *invstd = save + nn_shape_numel(s);
#pragma omp parallel for schedule(static)
	for (int c = 0; c < C; c++) {
		double sdy = 0, sdyx = 0;
		for (int n = 0; n < s.n; n++) {
			size_t o = ((size_t)n * C + c) * hw;
			float a = 0, b = 0;
			for (size_t i = 0; i < hw; i++) {
				a += dy[o + i];
				b += dy[o + i] * xhat[o + i];
			}
			sdy += a, sdyx += b;
		}
		dgb[c] += (float)sdyx;
		dgb[C + c] += (float)sdy;
		float k = gb[c] * invstd[c] / (float)M;
		float m1 = (float)sdy, m2 = (float)sdyx;
		for (int n = 0; n < s.n; n++) {
			size_t o = ((size_t)n * C + c) * hw;
			for (size_t i = 0; i < hw; i++)
				dx[o + i] += k * ((float)M * dy[o + i] - m1 - xhat[o + i] * m2);
		}
	}
}
