/* ops_pool.c - pooling: max and average pool over k x k windows, global
 * average pool.
 *
 * max pool: y = max over the in-bounds window (padding never wins);
 * avg pool: y = mean over the in-bounds part of the window, or with
 * count_pad the sum over it divided by the window's size within the padded
 * input (PyTorch's and ONNX's count_include_pad). Padding is pad on every
 * side, or pads (top, left, bottom, right); ceil_mode rounds the output
 * size up. arg: argmax
 * position in the input plane, for max pool backward. The 2x2 stride-2 max
 * pool is per instruction set (cpu/kernels.inc); the plan picks it
 * (NN_POOL_MAX22), and the executor may fuse it into a batch norm's apply. */
#include "ops.h"

#include <float.h>
#include <string.h>

int nn_pool_algo(int op, const nn_params *p)
{
	if (op == NN_OP_AVGPOOL)
		return NN_POOL_AVG;
	int asym = p->pads[0] | p->pads[1] | p->pads[2] | p->pads[3];
	return p->k == 2 && p->stride == 2 && p->pad == 0 && !asym && !p->ceil_mode ? NN_POOL_MAX22 : NN_POOL_MAX;
}

/* the padding of a pool: pads[] when any is set, else pad on every side */
void nn_pool_pads(const nn_params *p, int pd[4])
{
	int asym = p->pads[0] | p->pads[1] | p->pads[2] | p->pads[3];
	for (int j = 0; j < 4; j++)
		pd[j] = asym ? p->pads[j] : p->pad;
}

/* outputs along a side of n inputs, padded by a before and b after: floor
 * or ceil of (n + a + b - k) / s, plus 1; with ceil a last window that
 * would start in the padding after the input is dropped (PyTorch, ONNX) */
int nn_pool_out(int n, int k, int s, int a, int b, int ceil_mode)
{
	int64_t e = (int64_t)n + a + b - k;
	if (e < 0)
		return 0;
	int64_t o = (ceil_mode ? (e + s - 1) / s : e / s) + 1;
	if (ceil_mode && (o - 1) * s >= (int64_t)n + a)
		o--;
	return o > NN_MAX_DIM ? NN_MAX_DIM + 1 : (int)o;
}

/* one side of a window: lo, the start of output o's window (in input
 * coordinates, may be negative), the in-bounds part [*a, *b) and the
 * divisor's extent *cnt: within the padded input for count_pad, else the
 * in-bounds part */
typedef struct { int k, s, pa, pb, count_pad; } side;

static void window(int o, const side *sd, int n, int *a, int *b, int *cnt)
{
	int lo = o * sd->s - sd->pa, hi = lo + sd->k;
	*a = lo < 0 ? 0 : lo;
	*b = hi > n ? n : hi;
	if (sd->count_pad)
		*cnt = (hi > n + sd->pb ? n + sd->pb : hi) - lo;
	else
		*cnt = *b - *a;
}

/* the k x k windows of one plane, x [xs.h, xs.w] -> y [ys.h, ys.w]: the
 * forward (y, argmax ap for max pool), or with dx given the backward of
 * avg pool, dx += dy spread over each window */
static void pool_plane(int algo, const float *xp, float *yp, int32_t *ap, float *dxp, const float *dyp, nn_shape xs,
		       nn_shape ys, const nn_params *p)
{
	int pd[4];
	nn_pool_pads(p, pd);
	side sh = { p->k, p->stride, pd[0], pd[2], p->count_pad }, sw = { p->k, p->stride, pd[1], pd[3], p->count_pad };
	for (int oy = 0; oy < ys.h; oy++) {
		int y0, y1, ch;
		window(oy, &sh, xs.h, &y0, &y1, &ch);
		for (int ox = 0; ox < ys.w; ox++) {
			int x0, x1, cw, o = oy * ys.w + ox;
			window(ox, &sw, xs.w, &x0, &x1, &cw);
			if (dxp) {
				float g = dyp[o] / (float)(ch * cw);
				for (int iy = y0; iy < y1; iy++)
					for (int ix = x0; ix < x1; ix++)
						dxp[iy * xs.w + ix] += g;
			} else if (algo == NN_POOL_MAX) {
				float m = -FLT_MAX;
				int am = y0 * xs.w + x0;
				for (int iy = y0; iy < y1; iy++)
					for (int ix = x0; ix < x1; ix++)
						if (xp[iy * xs.w + ix] > m)
							m = xp[iy * xs.w + ix], am = iy * xs.w + ix;
				yp[o] = m;
				ap[o] = am;
			} else {
				float sum = 0;
				for (int iy = y0; iy < y1; iy++)
					for (int ix = x0; ix < x1; ix++)
						sum += xp[iy * xs.w + ix];
				yp[o] = sum / (float)(ch * cw);
			}
		}
	}
}

/* the 3x3 stride-1 pad-1 pools of growth (in-bounds counts, same size out):
 * the plane's border through pool_plane's rules, its inside unrolled; the
 * same values, argmax and order of additions as pool_plane. */
static int is_pool3s1(const nn_params *p, nn_shape xs)
{
	int pd[4];
	nn_pool_pads(p, pd);
	return p->k == 3 && p->stride == 1 && pd[0] == 1 && pd[1] == 1 && pd[2] == 1 && pd[3] == 1 && !p->count_pad &&
	       xs.h >= 3 && xs.w >= 3;
}

static void pool3s1_fwd(int algo, const float *xp, float *yp, int32_t *ap, nn_shape xs)
{
	int h = xs.h, w = xs.w;
	/* the border: rows 0 and h-1, columns 0 and w-1, by the general rules */
	for (int oy = 0; oy < h; oy++) {
		int full = oy > 0 && oy < h - 1;
		for (int ox = 0; ox < w; ox += full ? w - 1 : 1) {
			int y0 = oy ? oy - 1 : 0, y1 = oy + 2 > h ? h : oy + 2;
			int x0 = ox ? ox - 1 : 0, x1 = ox + 2 > w ? w : ox + 2, o = oy * w + ox;
			if (algo == NN_POOL_MAX) {
				float m = -FLT_MAX;
				int am = y0 * w + x0;
				for (int iy = y0; iy < y1; iy++)
					for (int ix = x0; ix < x1; ix++)
						if (xp[iy * w + ix] > m)
							m = xp[iy * w + ix], am = iy * w + ix;
				yp[o] = m, ap[o] = am;
			} else {
				float sum = 0;
				for (int iy = y0; iy < y1; iy++)
					for (int ix = x0; ix < x1; ix++)
						sum += xp[iy * w + ix];
				yp[o] = sum / (float)((y1 - y0) * (x1 - x0));
			}
		}
	}
	for (int oy = 1; oy < h - 1; oy++) {
		const float *r0 = xp + (oy - 1) * w, *r1 = r0 + w, *r2 = r1 + w;
		float *yr = yp + oy * w;
		if (algo == NN_POOL_MAX) {
			int32_t *ar = ap + oy * w;
			for (int ox = 1; ox < w - 1; ox++) {
				float m = -FLT_MAX;
				int am = (oy - 1) * w + ox - 1;
#define POOL3_AT(r, dy, dx)                                                    \
	if (r[ox + (dx)] > m)                                                  \
		m = r[ox + (dx)], am = (oy + (dy)) * w + ox + (dx);
				POOL3_AT(r0, -1, -1) POOL3_AT(r0, -1, 0) POOL3_AT(r0, -1, 1)
				POOL3_AT(r1, 0, -1) POOL3_AT(r1, 0, 0) POOL3_AT(r1, 0, 1)
				POOL3_AT(r2, 1, -1) POOL3_AT(r2, 1, 0) POOL3_AT(r2, 1, 1)
#undef POOL3_AT
				yr[ox] = m, ar[ox] = am;
			}
		} else {
			for (int ox = 1; ox < w - 1; ox++) {
				float sum = 0;
				sum += r0[ox - 1], sum += r0[ox], sum += r0[ox + 1];
				sum += r1[ox - 1], sum += r1[ox], sum += r1[ox + 1];
				sum += r2[ox - 1], sum += r2[ox], sum += r2[ox + 1];
				yr[ox] = sum / 9.0f;
			}
		}
	}
}

void nn_k_pool_fwd(int algo, const float *x, nn_shape xs, float *y, nn_shape ys, const nn_params *p, int32_t *arg,
		   int n0, int n1)
{
	if (algo != NN_POOL_MAX22 && is_pool3s1(p, xs)) {
		for (int pl = n0 * xs.c; pl < n1 * xs.c; pl++)
			pool3s1_fwd(algo, x + (size_t)pl * xs.h * xs.w, y + (size_t)pl * ys.h * ys.w,
				    arg ? arg + (size_t)pl * ys.h * ys.w : NULL, xs);
		return;
	}
	for (int pl = n0 * xs.c; pl < n1 * xs.c; pl++) {
		const float *xp = x + (size_t)pl * xs.h * xs.w;
		float *yp = y + (size_t)pl * ys.h * ys.w;
		int32_t *ap = arg ? arg + (size_t)pl * ys.h * ys.w : NULL;
		if (algo == NN_POOL_MAX22)
			nn_cpu()->maxpool22(xp, xs.w, yp, ap, ys.h, ys.w);
		else
			pool_plane(algo, xp, yp, ap, NULL, NULL, xs, ys, p);
	}
}

void nn_k_pool_bwd(int algo, nn_shape xs, const float *dy, nn_shape ys, const nn_params *p, const int32_t *arg,
		   float *dx, int n0, int n1, int assign)
{
	for (int pl = n0 * xs.c; pl < n1 * xs.c; pl++) {
		float *dxp = dx + (size_t)pl * xs.h * xs.w;
		const float *dyp = dy + (size_t)pl * ys.h * ys.w;
		if (assign)
			memset(dxp, 0, sizeof(float) * xs.h * xs.w);
		if (algo != NN_POOL_AVG) {
			const int32_t *ap = arg + (size_t)pl * ys.h * ys.w;
			for (int i = 0; i < ys.h * ys.w; i++)
				dxp[ap[i]] += dyp[i];
		} else if (is_pool3s1(p, xs)) {
			/* pool_plane's order: outputs row by row, each window's rows */
			int h = xs.h, w = xs.w;
			for (int oy = 0; oy < h; oy++)
				for (int ox = 0; ox < w; ox++) {
					int y0 = oy ? oy - 1 : 0, y1 = oy + 2 > h ? h : oy + 2;
					int x0 = ox ? ox - 1 : 0, x1 = ox + 2 > w ? w : ox + 2;
					float g = dyp[oy * w + ox] / (float)((y1 - y0) * (x1 - x0));
					for (int iy = y0; iy < y1; iy++) {
						float *d = dxp + iy * w;
						if (x1 - x0 == 3)
							d[x0] += g, d[x0 + 1] += g, d[x0 + 2] += g;
						else
							for (int ix = x0; ix < x1; ix++)
								d[ix] += g;
					}
				}
		} else {
			pool_plane(algo, NULL, NULL, NULL, dxp, dyp, xs, ys, p);
		}
	}
}

/* ---- the pool ops (table entries in ops.c) ---- */
int nn_plan_pool(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	const nn_node *d = &g->nodes[id];
	const nn_params *p = &d->p;
	const char *on = nn_op_name(d->op);
	nn_plan *me = &pl[id];
	int pd[4], asym = p->pads[0] | p->pads[1] | p->pads[2] | p->pads[3];
	nn_pool_pads(p, pd);
	int bad = p->k < 1 || p->stride < 1 || p->pad < 0 || (asym && p->pad) || p->ceil_mode < 0 || p->ceil_mode > 1 ||
		  p->count_pad < 0 || p->count_pad > 1 || (p->count_pad && d->op != NN_OP_AVGPOOL);
	for (int j = 0; j < 4; j++)
		bad |= pd[j] < 0 || pd[j] >= p->k;
	if (bad) {
		nn_errf(err, errlen,
			"node %d (%s): bad params k=%d stride=%d pad=%d pads=%d,%d,%d,%d ceil_mode=%d count_pad=%d "
			"(pads below k; pad or pads, not both)",
			id, on, p->k, p->stride, p->pad, p->pads[0], p->pads[1], p->pads[2], p->pads[3], p->ceil_mode,
			p->count_pad);
		return NN_ESHAPE;
	}
	int oh = nn_pool_out(x.h, p->k, p->stride, pd[0], pd[2], p->ceil_mode);
	int ow = nn_pool_out(x.w, p->k, p->stride, pd[1], pd[3], p->ceil_mode);
	if (oh < 1 || ow < 1) {
		nn_errf(err, errlen, "node %d (%s): %dx%d input too small", id, on, x.h, x.w);
		return NN_ESHAPE;
	}
	me->shape = (nn_shape){ batch, x.c, oh, ow };
	me->algo = nn_pool_algo(d->op, p);
	if (me->algo != NN_POOL_AVG)
		me->nsave = nn_shape_numel(me->shape); /* argmax as int32 */
	me->macs = (uint64_t)x.c * oh * ow * p->k * p->k;
	return 0;
}

void nn_fwd_pool(const nn_run *r)
{
	nn_k_pool_fwd(r->p->algo, r->x, r->xs, r->y, r->ys, &r->d->p, (int32_t *)nn_run_save(r), r->n0, r->n1);
}

void nn_bwd_pool(const nn_run *r)
{
	nn_k_pool_bwd(r->p->algo, r->xs, r->dy, r->ys, &r->d->p, (const int32_t *)nn_run_save(r), r->dx, r->n0, r->n1,
		      r->assign);
}

/* y[n,c] = mean_hw x[n,c,h,w] */
int nn_plan_gap(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	(void)g, (void)err, (void)errlen;
	pl[id].shape = (nn_shape){ batch, x.c, 1, 1 };
	pl[id].macs = (uint64_t)x.c * x.h * x.w;
	return 0;
}

void nn_fwd_gap(const nn_run *r)
{
	size_t hw = (size_t)r->xs.h * r->xs.w;
	for (size_t i = (size_t)r->n0 * r->xs.c; i < (size_t)r->n1 * r->xs.c; i++) {
		float s = 0;
		for (size_t j = 0; j < hw; j++)
			s += r->x[i * hw + j];
		r->y[i] = s / (float)hw;
	}
}

void nn_bwd_gap(const nn_run *r)
{
	size_t hw = (size_t)r->xs.h * r->xs.w;
	float inv = 1.0f / (float)hw;
	for (size_t i = (size_t)r->n0 * r->xs.c; i < (size_t)r->n1 * r->xs.c; i++)
		for (size_t j = 0; j < hw; j++)
			r->dx[i * hw + j] = (r->assign ? 0 : r->dx[i * hw + j]) + r->dy[i] * inv;
}
