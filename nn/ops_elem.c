/* ops_elem.c - the input, elementwise and wiring ops: relu, identity,
 * stop-gradient, stop-forward, sum, concat, gate; the activations clip,
 * sigmoid, hard sigmoid, hard swish, silu; the product mul. */
#include "ops.h"

#include <math.h>
#include <string.h>

/* ---- plans ---- */
int nn_plan_input(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	(void)x;
	pl[id].shape = g->in;
	pl[id].shape.n = batch;
	if (g->in.c < 1 || g->in.h < 1 || g->in.w < 1) {
		nn_errf(err, errlen, "node %d (input): bad input shape %dx%dx%d", id, g->in.c, g->in.h, g->in.w);
		return NN_ESHAPE;
	}
	return 0;
}

/* relu, identity, stopgrad, stopfwd: y has x's shape */
int nn_plan_same(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	(void)g, (void)batch, (void)err, (void)errlen;
	pl[id].shape = x;
	return 0;
}

/* sum (inputs of one shape), concat (of one height and width) */
int nn_plan_merge(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	const nn_node *d = &g->nodes[id];
	const char *on = nn_op_name(d->op);
	int sum = d->op == NN_OP_SUM;
	int64_t c = 0;
	(void)batch;
	for (int i = 0; i < d->nin; i++) {
		nn_shape s = pl[d->in[i]].shape;
		if (s.h != x.h || s.w != x.w || (sum && s.c != x.c)) {
			nn_errf(err, errlen, "node %d (%s): input %d is %dx%dx%d, input %d is %dx%dx%d", id, on, d->in[0], x.c,
				x.h, x.w, d->in[i], s.c, s.h, s.w);
			return NN_ESHAPE;
		}
		c += s.c;
	}
	if (c > NN_MAX_DIM) {
		nn_errf(err, errlen, "node %d (%s): %lld channels, more than %d", id, on, (long long)c, NN_MAX_DIM);
		return NN_ESHAPE;
	}
	pl[id].shape = x;
	if (!sum)
		pl[id].shape.c = (int)c;
	pl[id].macs = sum ? (uint64_t)(d->nin - 1) * x.c * x.h * x.w : 0;
	return 0;
}

int nn_plan_gate(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	(void)g, (void)batch, (void)err, (void)errlen;
	pl[id].shape = x;
	pl[id].plen = 1;
	pl[id].macs = (uint64_t)x.c * x.h * x.w;
	return 0;
}

void nn_init_gate(const nn_node *d, const nn_plan *p, nn_shape x, float *w, float *s, nn_rng *r)
{
	(void)p, (void)x, (void)s, (void)r;
	w[0] = d->p.init;
}

/* ---- passes: every op here works on the flat range of its rows ---- */
static size_t row_floats(nn_shape s) { return (size_t)s.c * s.h * s.w; }

/* dst[i0, i1) (+)= src[i0, i1) */
static void pass_rows(float *dst, const float *src, size_t i0, size_t i1, int assign)
{
	if (assign)
		memcpy(dst + i0, src + i0, sizeof(float) * (i1 - i0));
	else
		nn_cpu()->add(dst + i0, src + i0, NULL, i1 - i0);
}

void nn_fwd_input(const nn_run *r)
{
	size_t f = row_floats(r->ys);
	memcpy(r->y + f * r->n0, r->xin + f * r->n0, sizeof(float) * f * (r->n1 - r->n0));
}

void nn_fwd_relu(const nn_run *r)
{
	size_t f = row_floats(r->xs);
	nn_cpu()->relu_fwd(r->x + f * r->n0, r->y + f * r->n0, f * (r->n1 - r->n0));
}

void nn_bwd_relu(const nn_run *r)
{
	size_t f = row_floats(r->ys), i0 = f * r->n0;
	nn_cpu()->relu_bwd(r->y + i0, r->dy + i0, r->dx + i0, f * (r->n1 - r->n0), r->assign);
}

void nn_fwd_copy(const nn_run *r)
{
	size_t f = row_floats(r->xs);
	memcpy(r->y + f * r->n0, r->x + f * r->n0, sizeof(float) * f * (r->n1 - r->n0));
}

void nn_fwd_zero(const nn_run *r)
{
	size_t f = row_floats(r->xs);
	memset(r->y + f * r->n0, 0, sizeof(float) * f * (r->n1 - r->n0));
}

void nn_bwd_pass(const nn_run *r)
{
	size_t f = row_floats(r->ys);
	pass_rows(r->dx, r->dy, f * r->n0, f * r->n1, r->assign);
}

void nn_fwd_sum(const nn_run *r)
{
	size_t f = row_floats(r->xs), x0 = f * r->n0, n = f * (r->n1 - r->n0);
	int nin = r->d->nin;
	if (nin == 1) {
		memcpy(r->y + x0, r->x + x0, sizeof(float) * n);
		return;
	}
	nn_cpu()->add(r->y + x0, r->x + x0, nn_run_in(r, 1) + x0, n);
	for (int j = 2; j < nin; j++)
		nn_cpu()->add(r->y + x0, nn_run_in(r, j) + x0, NULL, n);
}

void nn_bwd_sum(const nn_run *r)
{
	size_t f = row_floats(r->ys);
	for (int j = 0; j < r->d->nin; j++)
		pass_rows(nn_run_din(r, j), r->dy, f * r->n0, f * r->n1, nn_run_assign(r, j));
}

void nn_fwd_concat(const nn_run *r)
{
	size_t hw = (size_t)r->ys.h * r->ys.w;
	int c0 = 0;
	for (int j = 0; j < r->d->nin; j++) {
		int c = nn_run_inshape(r, j).c;
		const float *a = nn_run_in(r, j);
		for (int n = r->n0; n < r->n1; n++)
			memcpy(r->y + ((size_t)n * r->ys.c + c0) * hw, a + (size_t)n * c * hw, sizeof(float) * c * hw);
		c0 += c;
	}
}

void nn_bwd_concat(const nn_run *r)
{
	size_t hw = (size_t)r->ys.h * r->ys.w;
	int c0 = 0;
	for (int j = 0; j < r->d->nin; j++) {
		int c = nn_run_inshape(r, j).c;
		float *da = nn_run_din(r, j);
		for (int n = r->n0; n < r->n1; n++)
			pass_rows(da + (size_t)n * c * hw, r->dy + ((size_t)n * r->ys.c + c0) * hw, 0, (size_t)c * hw, 0);
		c0 += c;
	}
}

void nn_fwd_gate(const nn_run *r)
{
	size_t f = row_floats(r->xs);
	float gv = r->w[0];
	if (gv == 0 && (r->d->flags & NN_F_FROZEN)) {
		/* switched off: its input was not computed (k_exec.c) */
		memset(r->y + f * r->n0, 0, sizeof(float) * f * (r->n1 - r->n0));
		return;
	}
	for (size_t i = f * r->n0; i < f * r->n1; i++)
		r->y[i] = gv * r->x[i];
}

void nn_bwd_gate(const nn_run *r)
{
	size_t f = row_floats(r->ys);
	double gs = 0;
	float gv = r->w[0];
	for (size_t i = f * r->n0; i < f * r->n1; i++) {
		gs += (double)r->dy[i] * r->x[i];
		r->dx[i] += gv * r->dy[i];
	}
	r->dw[0] += (float)gs;
}

/* ---- activations and the product: plain loops over the rows ----
 * MACs: one per element where the op multiplies by a tensor (hsigmoid's
 * slope, hswish's and silu's product with x, mul); none for clip and
 * sigmoid, as for relu. */
int nn_plan_act(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	const nn_node *d = &g->nodes[id];
	(void)batch;
	if ((d->op == NN_OP_CLIP || d->op == NN_OP_HSIGMOID) && (d->p.alpha != d->p.alpha || d->p.beta != d->p.beta)) {
		nn_errf(err, errlen, "node %d (%s): alpha or beta is not a number", id, nn_op_name(d->op));
		return NN_ESHAPE;
	}
	pl[id].shape = x;
	if (d->op == NN_OP_HSIGMOID || d->op == NN_OP_HSWISH || d->op == NN_OP_SILU)
		pl[id].macs = (uint64_t)x.c * x.h * x.w;
	return 0;
}

/* mul: s (input 1) has x's shape, or [n, c, 1, 1] */
int nn_plan_mul(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen)
{
	nn_shape s = pl[g->nodes[id].in[1]].shape;
	(void)batch;
	if (s.c != x.c || !((s.h == x.h && s.w == x.w) || (s.h == 1 && s.w == 1))) {
		nn_errf(err, errlen, "node %d (mul): input %d is %dx%dx%d, input %d is %dx%dx%d; the second must have "
			"the first's shape or be %dx1x1", id, g->nodes[id].in[0], x.c, x.h, x.w, g->nodes[id].in[1], s.c,
			s.h, s.w, x.c);
		return NN_ESHAPE;
	}
	pl[id].shape = x;
	pl[id].macs = (uint64_t)x.c * x.h * x.w;
	return 0;
}

static inline float sigm(float v) { return 1.0f / (1.0f + expf(-v)); }

void nn_fwd_act(const nn_run *r)
{
	size_t f = row_floats(r->xs), i0 = f * r->n0, i1 = f * r->n1;
	const float *x = r->x;
	float *y = r->y, a = r->d->p.alpha, b = r->d->p.beta;
	switch (r->d->op) {
	case NN_OP_CLIP:
		for (size_t i = i0; i < i1; i++)
			y[i] = fminf(fmaxf(x[i], a), b);
		break;
	case NN_OP_SIGMOID:
		for (size_t i = i0; i < i1; i++)
			y[i] = sigm(x[i]);
		break;
	case NN_OP_HSIGMOID:
		for (size_t i = i0; i < i1; i++)
			y[i] = fmaxf(0.0f, fminf(1.0f, a * x[i] + b));
		break;
	case NN_OP_HSWISH:
		for (size_t i = i0; i < i1; i++)
			y[i] = x[i] * fminf(fmaxf(x[i] + 3.0f, 0.0f), 6.0f) / 6.0f;
		break;
	case NN_OP_SILU:
		for (size_t i = i0; i < i1; i++)
			y[i] = x[i] * sigm(x[i]);
		break;
	default:
		NN_ASSERT(0);
	}
}

/* dx (+)= dy * y'(x): from x, or from y for sigmoid */
void nn_bwd_act(const nn_run *r)
{
	size_t f = row_floats(r->ys), i0 = f * r->n0, i1 = f * r->n1;
	const float *x = r->x, *y = r->y, *dy = r->dy;
	float *dx = r->dx, a = r->d->p.alpha, b = r->d->p.beta;
	int as = r->assign;
#define DX(i, v) do { float v_ = (v); if (as) dx[i] = v_; else dx[i] += v_; } while (0)
	switch (r->d->op) {
	case NN_OP_CLIP:
		for (size_t i = i0; i < i1; i++)
			DX(i, x[i] > a && x[i] < b ? dy[i] : 0.0f);
		break;
	case NN_OP_SIGMOID:
		for (size_t i = i0; i < i1; i++)
			DX(i, dy[i] * y[i] * (1.0f - y[i]));
		break;
	case NN_OP_HSIGMOID:
		for (size_t i = i0; i < i1; i++) {
			float t = a * x[i] + b;
			DX(i, t > 0.0f && t < 1.0f ? a * dy[i] : 0.0f);
		}
		break;
	case NN_OP_HSWISH:
		for (size_t i = i0; i < i1; i++)
			DX(i, x[i] <= -3.0f ? 0.0f : x[i] >= 3.0f ? dy[i] : dy[i] * (x[i] / 3.0f + 0.5f));
		break;
	case NN_OP_SILU:
		for (size_t i = i0; i < i1; i++) {
			float s = sigm(x[i]);
			DX(i, dy[i] * s * (1.0f + x[i] * (1.0f - s)));
		}
		break;
	default:
		NN_ASSERT(0);
	}
#undef DX
}

/* y[n,c,h,w] = x[n,c,h,w] s[n,c,h,w] or x[n,c,h,w] s[n,c] */
void nn_fwd_mul(const nn_run *r)
{
	const float *s = nn_run_in(r, 1);
	size_t f = row_floats(r->xs);
	if (nn_run_inshape(r, 1).h == r->xs.h && nn_run_inshape(r, 1).w == r->xs.w) {
		for (size_t i = f * r->n0; i < f * r->n1; i++)
			r->y[i] = r->x[i] * s[i];
		return;
	}
	size_t hw = (size_t)r->xs.h * r->xs.w, nc0 = (size_t)r->n0 * r->xs.c, nc1 = (size_t)r->n1 * r->xs.c;
	for (size_t nc = nc0; nc < nc1; nc++) {
		const float *xp = r->x + nc * hw;
		float *yp = r->y + nc * hw, sv = s[nc];
		for (size_t i = 0; i < hw; i++)
			yp[i] = xp[i] * sv;
	}
}

/* dx (+)= dy s; ds (+)= dy x, summed over H and W when s is broadcast. x
 * and s may be one node (x * x): its gradient is then added twice. */
void nn_bwd_mul(const nn_run *r)
{
	const float *s = nn_run_in(r, 1), *x = r->x, *dy = r->dy;
	float *dx = r->dx, *ds = nn_run_din(r, 1);
	int ax = r->assign, as = nn_run_assign(r, 1);
	size_t f = row_floats(r->xs);
	if (nn_run_inshape(r, 1).h == r->xs.h && nn_run_inshape(r, 1).w == r->xs.w) {
		for (size_t i = f * r->n0; i < f * r->n1; i++) {
			float gx = dy[i] * s[i], gs = dy[i] * x[i];
			dx[i] = ax ? gx : dx[i] + gx;
			ds[i] = as ? gs : ds[i] + gs;
		}
		return;
	}
	size_t hw = (size_t)r->xs.h * r->xs.w, nc0 = (size_t)r->n0 * r->xs.c, nc1 = (size_t)r->n1 * r->xs.c;
	for (size_t nc = nc0; nc < nc1; nc++) {
		const float *xp = x + nc * hw, *dyp = dy + nc * hw;
		float *dxp = dx + nc * hw, sv = s[nc], acc = 0;
		for (size_t i = 0; i < hw; i++) {
			acc += dyp[i] * xp[i];
			dxp[i] = ax ? dyp[i] * sv : dxp[i] + dyp[i] * sv;
		}
		ds[nc] = as ? acc : ds[nc] + acc;
	}
}
