/* ops_shape.c - the ops that only move values: zero padding, channel
 * shuffle, a channel slice. What PyTorch exports write as Pad, as
 * Reshape -> Transpose -> Reshape (ShuffleNet's channel shuffle) and as
 * Split or Slice along the channels (torch.chunk). No parameters, no
 * multiply-adds: their cost is the memory they move. */
#include "ops.h"

#include <string.h>

/* ---- pad: y [n, c, t + h + b, l + w + r], x at (t, l), zeros around ---- */
int nn_plan_pad(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	const int *pd = g->nodes[id].p.pads;
	for (int j = 0; j < 4; j++)
		if (pd[j] < 0 || pd[j] > NN_MAX_PAD) {
			nn_errf(err, errlen, "node %d (pad): bad pads %d %d %d %d (top left bottom right, 0..%d)", id,
				pd[0], pd[1], pd[2], pd[3], NN_MAX_PAD);
			return NN_ESHAPE;
		}
	pl[id].shape = (nn_shape){ batch, x.c, x.h + pd[0] + pd[2], x.w + pd[1] + pd[3] };
	return 0;
}

void nn_fwd_pad(const nn_run *r)
{
	const int *pd = r->d->p.pads;
	nn_shape xs = r->xs, ys = r->ys;
	for (size_t pl = (size_t)r->n0 * xs.c; pl < (size_t)r->n1 * xs.c; pl++) {
		const float *xp = r->x + pl * xs.h * xs.w;
		float *yp = r->y + pl * ys.h * ys.w;
		memset(yp, 0, sizeof(float) * ys.w * pd[0]);
		for (int i = 0; i < xs.h; i++) {
			float *row = yp + (size_t)(i + pd[0]) * ys.w;
			memset(row, 0, sizeof(float) * pd[1]);
			memcpy(row + pd[1], xp + (size_t)i * xs.w, sizeof(float) * xs.w);
			memset(row + pd[1] + xs.w, 0, sizeof(float) * pd[3]);
		}
		memset(yp + (size_t)(pd[0] + xs.h) * ys.w, 0, sizeof(float) * ys.w * pd[2]);
	}
}

/* dx (+)= dy[t : t + h, l : l + w] */
void nn_bwd_pad(const nn_run *r)
{
	const int *pd = r->d->p.pads;
	nn_shape xs = r->xs, ys = r->ys;
	for (size_t pl = (size_t)r->n0 * xs.c; pl < (size_t)r->n1 * xs.c; pl++) {
		float *dxp = r->dx + pl * xs.h * xs.w;
		const float *dyp = r->dy + pl * ys.h * ys.w + (size_t)pd[0] * ys.w + pd[1];
		for (int i = 0; i < xs.h; i++) {
			float *d = dxp + (size_t)i * xs.w;
			const float *s = dyp + (size_t)i * ys.w;
			if (r->assign)
				memcpy(d, s, sizeof(float) * xs.w);
			else
				for (int j = 0; j < xs.w; j++)
					d[j] += s[j];
		}
	}
}

/* ---- shuffle: x as [n, g, c/g, hw], transposed to [n, c/g, g, hw] ---- */
int nn_plan_shuffle(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	int gr = g->nodes[id].p.groups;
	if (gr < 1 || x.c % gr) {
		nn_errf(err, errlen, "node %d (shuffle): %d groups do not divide %d channels", id, gr, x.c);
		return NN_ESHAPE;
	}
	pl[id].shape = x;
	pl[id].shape.n = batch;
	return 0;
}

/* one image: dst[i g + j] = src[j cpg + i] (fwd) or dst[j cpg + i] (+)=
 * src[i g + j] (bwd), planes of hw floats */
static void shuffle_image(float *dst, const float *src, int c, int gr, size_t hw, int bwd, int assign)
{
	int cpg = c / gr;
	for (int j = 0; j < gr; j++)
		for (int i = 0; i < cpg; i++) {
			size_t a = (size_t)(i * gr + j) * hw, b = (size_t)(j * cpg + i) * hw;
			if (!bwd)
				memcpy(dst + a, src + b, sizeof(float) * hw);
			else if (assign)
				memcpy(dst + b, src + a, sizeof(float) * hw);
			else
				for (size_t q = 0; q < hw; q++)
					dst[b + q] += src[a + q];
		}
}

void nn_fwd_shuffle(const nn_run *r)
{
	size_t hw = (size_t)r->xs.h * r->xs.w, f = hw * r->xs.c;
	for (int n = r->n0; n < r->n1; n++)
		shuffle_image(r->y + f * n, r->x + f * n, r->xs.c, r->d->p.groups, hw, 0, 0);
}

void nn_bwd_shuffle(const nn_run *r)
{
	size_t hw = (size_t)r->xs.h * r->xs.w, f = hw * r->xs.c;
	for (int n = r->n0; n < r->n1; n++)
		shuffle_image(r->dx + f * n, r->dy + f * n, r->xs.c, r->d->p.groups, hw, 1, r->assign);
}

/* ---- slice: channels [start, start + cout), one block per image ---- */
int nn_plan_slice(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	const nn_params *p = &g->nodes[id].p;
	if (p->start < 0 || p->cout < 1 || p->start > x.c || p->cout > x.c - p->start) {
		nn_errf(err, errlen, "node %d (slice): channels %d..%d of a %d-channel input", id, p->start,
			p->start + p->cout - 1, x.c);
		return NN_ESHAPE;
	}
	pl[id].shape = (nn_shape){ batch, p->cout, x.h, x.w };
	return 0;
}

void nn_fwd_slice(const nn_run *r)
{
	size_t hw = (size_t)r->xs.h * r->xs.w, fx = hw * r->xs.c, fy = hw * r->ys.c;
	for (int n = r->n0; n < r->n1; n++)
		memcpy(r->y + fy * n, r->x + fx * n + hw * r->d->p.start, sizeof(float) * fy);
}

/* dx[:, start : start + cout] += dy; the other channels of dx are left as
 * they are (so never stored: not NN_OPF_STORE) */
void nn_bwd_slice(const nn_run *r)
{
	size_t hw = (size_t)r->xs.h * r->xs.w, fx = hw * r->xs.c, fy = hw * r->ys.c;
	for (int n = r->n0; n < r->n1; n++)
		nn_cpu()->add(r->dx + fx * n + hw * r->d->p.start, r->dy + fy * n, NULL, fy);
}
