/* ops_pool.c - pooling kernels: max and average pool. */
#include "nn_impl.h"

#include <float.h>
#include <string.h>

/* max pool: y = max over the in-bounds window (padding never wins);
 * avg pool: y = mean over the in-bounds part of the window. arg: argmax
 * position in the input plane, for max pool backward. The 2x2 stride-2 max
 * pool and batch norm are per instruction set (cpu/kernels.inc). */
int nn_k_pool_is22(const nn_params *p) { return p->k == 2 && p->stride == 2 && p->pad == 0; }

void nn_k_pool_fwd(int op, const float *x, nn_shape xs, float *y, nn_shape ys, const nn_params *p, int32_t *arg,
		   int n0, int n1)
{
	int k = p->k, s = p->stride, pad = p->pad;
	int fast = op == NN_OP_MAXPOOL && k == 2 && s == 2 && pad == 0 && 2 * ys.h <= xs.h && 2 * ys.w <= xs.w;
	for (int pl = n0 * xs.c; pl < n1 * xs.c; pl++) {
		if (fast) {
			size_t o = (size_t)pl * ys.h * ys.w;
			nn_cpu()->maxpool22(x + (size_t)pl * xs.h * xs.w, xs.w, y + o, arg + o, ys.h, ys.w);
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
