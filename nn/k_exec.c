/* k_exec.c - graph execution: forward and backward passes.
 *
 * One OpenMP region per pass. The batch is split into contiguous row ranges,
 * one per thread, and every thread walks the whole node order on its rows:
 * all ops but batch norm are independent per image, so threads meet only at
 * batch-norm reductions (one barrier each) and at the end of the backward
 * pass, where the per-thread weight gradients are summed in thread order.
 * Results depend on the thread count only, never on timing.
 *
 * A relu whose input is a batch norm is computed by the bn's forward in the
 * same pass over memory; when the relu is the bn's only consumer their
 * backward runs as one too (the bn's own output gradient is never formed).
 *
 * Each node runs through its op table entry (ops.h); the executor's own
 * state is an nn_exec (exec.h) whose memory one walk of the plan both
 * sizes and carves.
 */
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#define TID() omp_get_thread_num()
#define NTH() omp_get_num_threads()
#define BARRIER() _Pragma("omp barrier")
#else
#define TID() 0
#define NTH() 1
#define BARRIER() ((void)0)
#endif

#define OUT(id) (net->act + net->plan[id].out)
#define DOUT(id) (net->act + net->plan[id].dout)

/* nn_exec.grad's bits (the backward's needs, below) */
enum { GRAD_RUN = 1, GRAD_ZERO = 2 };

/* ---- memory: sized and carved in one walk ----
 * exec_layout walks the plan once and takes every buffer in turn from a
 * cursor. With base NULL it only counts bytes; with base it also sets the
 * pointers and per-node offsets. Both runs take the same path, so what is
 * sized is exactly what is carved. */
typedef struct {
	char *base;
	size_t off;
} carver;

static void *carve(carver *c, size_t n, size_t size)
{
	size_t o = (c->off + 63) & ~(size_t)63;
	c->off = o + n * size;
	return c->base ? c->base + o : NULL;
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static size_t exec_layout(nn_exec *e, const nn_net *net, char *base)
{
	const nn_graph *g = &net->g;
	size_t T = (size_t)e->nthreads, n = (size_t)g->n;
	size_t spt = 0, nbnp = 0, ncc = 0, maxwt = 16;
	int maxc = 1;
	carver c = { base, 0 };
	e->bnoff = carve(&c, n, sizeof(int));
	e->ccoff = carve(&c, n, sizeof(int));
	for (size_t i = 0; i < n; i++) {
		const nn_node *d = &g->nodes[i];
		const nn_plan *p = &net->plan[i];
		nn_shape x = d->nin ? net->plan[d->in[0]].shape : p->shape;
		const nn_op_def *op = &nn_ops[d->op];
		size_t s = op->scratch ? op->scratch(d, p, x, net->batch) : 0, chw = (size_t)x.c * x.h * x.w;
		if (s > spt)
			spt = s;
		if (base)
			e->bnoff[i] = (int)nbnp, e->ccoff[i] = (int)ncc;
		if (op->flags & NN_OPF_BN) {
			nbnp += 3 * (size_t)p->shape.c;
			if (p->shape.c > maxc)
				maxc = p->shape.c;
		}
		if (op->cache)
			ncc += op->cache(d, p, x);
		if ((op->flags & NN_OPF_WT) && round16(chw * d->p.cout) > maxwt)
			maxwt = round16(chw * d->p.cout);
	}
	e->scratch_per_thread = round16(spt + 64);
	e->nbnp = round16(nbnp);
	e->nccache = round16(ncc);
	e->maxwt = maxwt;
	e->maxc = maxc;
	e->scratch = carve(&c, T * e->scratch_per_thread, sizeof(float));
	e->tgrad = carve(&c, (T - 1) * round16(net->nparams), sizeof(float));
	e->red = carve(&c, 2 * T * 3 * (size_t)maxc, sizeof(double));
	e->linwt = carve(&c, 2 * maxwt, sizeof(float));
	e->bnp = carve(&c, T * e->nbnp, sizeof(float));
	e->ccache = carve(&c, T * e->nccache, sizeof(float));
	e->fuse = carve(&c, n, sizeof(int));
	e->bwdfuse = carve(&c, n, sizeof(int));
	e->poolfuse = carve(&c, n, sizeof(int));
	e->assign = carve(&c, n, sizeof(int));
	e->grad = carve(&c, n, sizeof(int));
	e->live = carve(&c, n, sizeof(int));
	e->sched = carve(&c, 4 * n, sizeof(int));
	return (c.off + 63) & ~(size_t)63;
}

/* ---- fusions and stored gradients, decided once per net ---- */
static void plan_fusions(nn_exec *e, const nn_net *net)
{
	const nn_graph *g = &net->g;
	size_t n = (size_t)g->n;
	for (size_t i = 0; i < n; i++)
		e->fuse[i] = -1, e->bwdfuse[i] = 0, e->poolfuse[i] = -1, e->assign[i] = 0;
	/* output gradients stored by a single consumer: count edges into
	 * assign, then keep the flag only where that consumer stores */
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < g->nodes[i].nin; j++)
			e->assign[g->nodes[i].in[j]]++;
	for (size_t i = 0; i < n; i++)
		e->assign[i] = e->assign[i] == 1 ? 2 : 0;
	for (size_t i = 0; i < n; i++) {
		const nn_node *d = &g->nodes[i];
		if (nn_ops[d->op].flags & NN_OPF_STORE)
			for (int j = 0; j < d->nin; j++)
				if (e->assign[d->in[j]] == 2)
					e->assign[d->in[j]] = 1;
	}
	for (size_t i = 0; i < n; i++)
		if (e->assign[i] == 2)
			e->assign[i] = 0;
	for (size_t i = 0; i < n; i++) {
		const nn_node *d = &g->nodes[i];
		if (d->op != NN_OP_RELU || g->nodes[d->in[0]].op != NN_OP_BN || e->fuse[d->in[0]] >= 0)
			continue;
		e->fuse[d->in[0]] = (int)i;
		e->fuse[i] = d->in[0];
	}
	for (size_t i = 0; i < n; i++) {
		const nn_node *d = &g->nodes[i];
		if (d->op != NN_OP_MAXPOOL || net->plan[i].algo != NN_POOL_MAX22 || g->nodes[d->in[0]].op != NN_OP_RELU)
			continue;
		int bn = e->fuse[d->in[0]];
		if (bn < 0 || e->poolfuse[bn] >= 0)
			continue;
		e->poolfuse[bn] = (int)i;
		e->poolfuse[i] = bn;
	}
	/* backward fusion when the relu is the bn's only consumer */
	for (size_t i = 0; i < n; i++) {
		if (g->nodes[i].op != NN_OP_BN || e->fuse[i] < 0)
			continue;
		int uses = 0;
		for (size_t j = 0; j < n; j++)
			for (int k = 0; k < g->nodes[j].nin; k++)
				uses += g->nodes[j].in[k] == (int)i;
		if (uses == 1)
			e->bwdfuse[i] = e->bwdfuse[e->fuse[i]] = 1;
	}
}

size_t nn_exec_bytes(const nn_net *net, int nthreads)
{
	nn_exec e;
	memset(&e, 0, sizeof e);
	e.nthreads = nthreads;
	return exec_layout(&e, net, NULL);
}

nn_exec *nn_exec_new(const nn_net *net, int nthreads)
{
	nn_exec *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->nthreads = nthreads;
	e->bytes = exec_layout(e, net, NULL);
	e->mem = aligned_alloc(64, e->bytes);
	if (!e->mem) {
		free(e);
		return NULL;
	}
	memset(e->mem, 0, e->bytes);
	NN_ASSERT(exec_layout(e, net, e->mem) == e->bytes);
	plan_fusions(e, net);
	return e;
}

void nn_exec_free(nn_exec *e)
{
	if (!e)
		return;
	free(e->mem);
	free(e);
}

static void rows_of(int rows, int t, int nt, int *n0, int *n1)
{
	*n0 = (int)((long)rows * t / nt);
	*n1 = (int)((long)rows * (t + 1) / nt);
}

/* ---- schedules ----
 * A pass is a list of items (node, kind). Items between two barrier items
 * form a run; a run is executed image chunk by image chunk (all its items
 * on a few images, then the next images), so the tensors a chain of per-image
 * ops passes along stay in cache. Batch norm splits into per-chunk partial
 * sums, a barrier item that combines them, and a per-chunk apply; a linear
 * layer into a barrier item that transposes its weights and a per-chunk
 * product. */
enum { K_OP, K_STATS, K_FIN, K_APPLY };
#define ITEM(id, k) ((id) << 2 | (k))
#define ITEM_ID(it) ((it) >> 2)
#define ITEM_K(it) ((it) & 3)

static float *bn_params(nn_net *net, int id, int t) { return net->ex->bnp + (size_t)t * net->ex->nbnp + net->ex->bnoff[id]; }

/* ---- batch norm, forward ---- */
static void bn_fwd_stats(nn_net *net, int id, nn_shape xs, int c0, int c1, int n0, int t, int nt, int par)
{
	const nn_node *d = &net->g.nodes[id];
	int C = xs.c;
	const float *x = OUT(d->in[0]);
	size_t mc = (size_t)3 * net->ex->maxc;
	double *part = net->ex->red + ((size_t)par * nt + t) * mc;
	size_t hw = (size_t)xs.h * xs.w;
	if (c0 == n0)
		for (int c = 0; c < C; c++) {
			part[c] = part[C + c] = 0;
			part[2 * C + c] = x[((size_t)n0 * C + c) * hw];
		}
	nn_k_bn_stats(x, xs, c0, c1, n0, part);
}

/* combine the threads' sums (after a barrier); per-thread mean and scale */
static void bn_fwd_fin(nn_net *net, int id, nn_shape xs, int train, int t, int nt, int par)
{
	const nn_node *d = &net->g.nodes[id];
	nn_plan *p = &net->plan[id];
	int C = xs.c;
	const float *gb = net->params + p->poff;
	float *run = net->state + p->soff;
	float *mean = bn_params(net, id, t), *sc = mean + C;
	if (!train) {
		for (int c = 0; c < C; c++) {
			mean[c] = run[c];
			sc[c] = gb[c] / sqrtf(run[C + c] + d->p.eps);
		}
		return;
	}
	size_t hw = (size_t)xs.h * xs.w, mc = (size_t)3 * net->ex->maxc;
	double *red = net->ex->red + (size_t)par * nt * mc;
	double M = (double)xs.n * hw;
	float *save = net->act + p->save;
	for (int c = 0; c < C; c++) {
		/* combine per-thread shifted sums at the first thread's shift */
		double A = 0, B = 0, K = 0;
		int first = 1;
		for (int u = 0; u < nt; u++) {
			int a0, a1;
			rows_of(xs.n, u, nt, &a0, &a1);
			if (a1 <= a0)
				continue;
			const double *pu = red + (size_t)u * mc;
			double ku = pu[2 * C + c], cnt = (double)(a1 - a0) * hw;
			if (first)
				K = ku, first = 0;
			double dd = ku - K;
			A += pu[c] + cnt * dd;
			B += pu[C + c] + 2 * dd * pu[c] + cnt * dd * dd;
		}
		double m1 = A / M, var = B / M - m1 * m1;
		if (var < 0)
			var = 0;
		float inv = 1.0f / sqrtf((float)var + d->p.eps);
		mean[c] = (float)(K + m1);
		sc[c] = gb[c] * inv;
		if (t == 0) {
			float mom = d->p.momentum;
			float unb = M > 1 ? (float)(var * M / (M - 1)) : (float)var;
			run[c] = (1 - mom) * run[c] + mom * mean[c];
			run[C + c] = (1 - mom) * run[C + c] + mom * unb;
			save[c] = mean[c];
			save[nn_shape_numel(xs) + c] = inv;
		}
	}
}

static void bn_fwd_apply(nn_net *net, int id, nn_shape xs, int c0, int c1, int t)
{
	const nn_node *d = &net->g.nodes[id];
	nn_plan *p = &net->plan[id];
	int C = xs.c;
	const float *gb = net->params + p->poff;
	float *mean = bn_params(net, id, t), *sc = mean + C;
	float *yr = net->ex->fuse[id] >= 0 ? OUT(net->ex->fuse[id]) : NULL;
	int pool = net->ex->poolfuse[id];
	nn_shape ps = pool >= 0 ? net->plan[pool].shape : xs;
	nn_k_bn_apply(OUT(d->in[0]), xs, mean, sc, gb + C, OUT(id), yr, pool >= 0 ? OUT(pool) : NULL,
		      pool >= 0 ? (int32_t *)(net->act + net->plan[pool].save) : NULL, ps, c0, c1);
}

/* ---- batch norm, backward ----
 * bn backward in three items: per-chunk sums, a barrier item combining
 * them into per-thread coefficients, per-chunk dx */
static const float *bn_bwd_dy(nn_net *net, int id)
{
	return net->ex->bwdfuse[id] ? DOUT(net->ex->fuse[id]) : DOUT(id);
}

static void bn_bwd_sums_item(nn_net *net, int id, nn_shape xs, int c0, int c1, int n0, int t, int nt, int par)
{
	const nn_node *d = &net->g.nodes[id];
	nn_plan *p = &net->plan[id];
	int C = xs.c;
	const float *gb = net->params + p->poff;
	const float *save = net->act + p->save;
	float *a = bn_params(net, id, t);
	size_t mc = (size_t)3 * net->ex->maxc;
	double *part = net->ex->red + ((size_t)par * nt + t) * mc;
	if (c0 == n0) {
		for (int c = 0; c < C; c++) {
			a[c] = gb[c] * save[nn_shape_numel(xs) + c]; /* the forward's scale, for the relu mask */
			part[c] = part[C + c] = 0;
		}
	}
	nn_k_bn_bwd_sums(OUT(d->in[0]), xs, bn_bwd_dy(net, id), net->ex->bwdfuse[id] ? a : NULL, gb + C, save, c0, c1,
			 part);
}

static void bn_bwd_fin(nn_net *net, int id, nn_shape xs, float *gbuf, int t, int nt, int par)
{
	nn_plan *p = &net->plan[id];
	int C = xs.c;
	const float *gb = net->params + p->poff;
	const float *invstd = net->act + p->save + nn_shape_numel(xs);
	float *a = bn_params(net, id, t), *b = a + C, *c0 = a + 2 * C;
	size_t mc = (size_t)3 * net->ex->maxc;
	double *red = net->ex->red + (size_t)par * nt * mc;
	float M = (float)((double)xs.n * xs.h * xs.w);
	float *dgb = gbuf + p->poff;
	for (int c = 0; c < C; c++) {
		double s1 = 0, s2 = 0;
		for (int u = 0; u < nt; u++) {
			int a0, a1;
			rows_of(xs.n, u, nt, &a0, &a1);
			if (a1 > a0)
				s1 += red[(size_t)u * mc + c], s2 += red[(size_t)u * mc + C + c];
		}
		float inv = invstd[c], g = gb[c];
		a[c] = g * inv;
		b[c] = -g * inv * inv * inv / M * (float)s2;
		c0[c] = -g * inv / M * (float)s1;
		if (t == 0) {
			dgb[c] += inv * (float)s2;
			dgb[C + c] += (float)s1;
		}
	}
}

static void bn_bwd_dx_item(nn_net *net, int id, nn_shape xs, int c0, int c1, int t)
{
	const nn_node *d = &net->g.nodes[id];
	nn_plan *p = &net->plan[id];
	int C = xs.c;
	const float *gb = net->params + p->poff;
	float *a = bn_params(net, id, t);
	nn_k_bn_bwd_dx(OUT(d->in[0]), xs, bn_bwd_dy(net, id), net->ex->bwdfuse[id] ? a : NULL, gb + C, net->act + p->save,
		       a, a + C, a + 2 * C, DOUT(d->in[0]), c0, c1, net->ex->assign[d->in[0]]);
}

/* ---- one node on a chunk of rows ---- */
static void run_init(nn_run *r, nn_net *net, int id, int rows, int t, int n0, int n1, int first)
{
	nn_exec *e = net->ex;
	const nn_node *d = &net->g.nodes[id];
	const nn_plan *p = &net->plan[id];
	memset(r, 0, sizeof *r);
	r->net = net, r->d = d, r->p = p;
	r->id = id, r->rows = rows, r->t = t, r->n0 = n0, r->n1 = n1, r->first = first;
	r->ys = p->shape;
	r->ys.n = rows;
	r->y = OUT(id);
	r->dy = DOUT(id);
	r->w = net->params + p->poff;
	r->scratch = e->scratch + e->scratch_per_thread * t;
	r->cache = e->ccache + e->nccache * t + e->ccoff[id];
	if (d->nin) {
		r->xs = net->plan[d->in[0]].shape;
		r->xs.n = rows;
		r->x = OUT(d->in[0]);
		r->dx = DOUT(d->in[0]);
		/* no gradient for an input that needs none (the network's,
		 * unless asked for): convs and linears skip it */
		r->dxk = e->grad[d->in[0]] & GRAD_RUN ? r->dx : NULL;
		r->assign = e->assign[d->in[0]];
	}
}

/* Threads for the nodes order[lo, hi): a region of cheap elementwise ops on
 * little data runs on one thread, as forking a team costs more than it saves
 * (and it interleaves badly with BLAS's own threads). */
static int seg_threads(const nn_net *net, int lo, int hi, int rows)
{
	size_t el = 0;
	for (int i = lo; i < hi; i++) {
		int id = net->order[i];
		unsigned f = nn_ops[net->g.nodes[id].op].flags;
		if ((f & NN_OPF_HEAVY) || ((f & NN_OPF_MACS) && (uint64_t)rows * net->plan[id].macs > ((uint64_t)1 << 20)))
			return net->ex->nthreads;
		nn_shape s = net->plan[id].shape;
		el += (size_t)rows * s.c * s.h * s.w;
	}
	return el < ((size_t)1 << 18) ? 1 : net->ex->nthreads;
}

/* end of the run of schedule items from i that needs no barrier: the
 * next barrier item (K_FIN: a batch-norm combine or a linear transpose),
 * or ni */
static int segment_end(const nn_net *net, int i, int ni)
{
	while (i < ni && ITEM_K(net->ex->sched[i]) != K_FIN)
		i++;
	return i;
}

/* images per chunk of a run: its tensors for one chunk fit in about half
 * of a core's L2 */
static int chunk_rows(const nn_net *net, int i, int j, int cap)
{
	size_t b = 0;
	for (int k = i; k < j; k++) {
		int id = ITEM_ID(net->ex->sched[k]);
		const nn_node *d = &net->g.nodes[id];
		nn_shape s = net->plan[id].shape;
		b += (size_t)s.c * s.h * s.w;
		if (d->nin) {
			nn_shape x = net->plan[d->in[0]].shape;
			b += (size_t)x.c * x.h * x.w;
		}
	}
	size_t cs = ((size_t)1 << 19) / (4 * b + 1);
	if (cs < 1)
		cs = 1;
	return cs > (size_t)cap ? cap : (int)cs;
}

/* ---- passes ----
 * What one thread carries through a pass: its rows [n0, n1), the parities
 * of the double-buffered shared state (par[0]: bn reductions, par[1]:
 * linear W^T) and, backward, its weight-gradient buffer. */
typedef struct {
	nn_net *net;
	const float *x;     /* forward: the network input */
	float *gbuf;        /* backward: this thread's parameter gradients */
	int rows, train, bwd, t, nt, n0, n1;
	int par[2];
} pass;

/* a barrier item: after the barrier the bn combine; before it, by all
 * threads, a linear's W^T into one of two shared buffers (alternating: a
 * thread running ahead to the next linear node cannot overwrite one still
 * being read) */
static void run_fin(pass *ps, int id)
{
	nn_net *net = ps->net;
	const nn_node *d = &net->g.nodes[id];
	nn_shape xs = net->plan[d->in[0]].shape;
	xs.n = ps->rows;
	if (nn_ops[d->op].flags & NN_OPF_BN) {
		BARRIER();
		if (ps->bwd)
			bn_bwd_fin(net, id, xs, ps->gbuf, ps->t, ps->nt, ps->par[0]);
		else
			bn_fwd_fin(net, id, xs, ps->train, ps->t, ps->nt, ps->par[0]);
		ps->par[0] ^= 1;
	} else if (ps->rows > NN_LIN_DOT_ROWS) {
		int k = xs.c * xs.h * xs.w, m = d->p.cout, t = ps->t, nt = ps->nt;
		ps->par[1] ^= 1;
		float *wt = net->ex->linwt + (size_t)ps->par[1] * net->ex->maxwt;
		nn_k_linear_wt(net->params + net->plan[id].poff, m, k, wt, (int)((long)k * t / nt),
			       (int)((long)k * (t + 1) / nt));
		BARRIER();
	}
}

/* one item on images [c0, c1) */
static void run_item(pass *ps, int it, int c0, int c1)
{
	nn_net *net = ps->net;
	int id = ITEM_ID(it), t = ps->t;
	const nn_op_def *op = &nn_ops[net->g.nodes[id].op];
	nn_shape xs = net->plan[net->g.nodes[id].in[0]].shape; /* in[0] is 0 for the input node */
	xs.n = ps->rows;
	switch (ITEM_K(it)) {
	case K_OP: {
		nn_run r;
		run_init(&r, net, id, ps->rows, t, c0, c1, c0 == ps->n0);
		if (ps->bwd) {
			r.dw = ps->gbuf + r.p->poff;
			if (op->bwd)
				op->bwd(&r);
			break;
		}
		r.xin = ps->x;
		if ((op->flags & NN_OPF_WT) && ps->rows > NN_LIN_DOT_ROWS)
			r.wt = net->ex->linwt + (size_t)ps->par[1] * net->ex->maxwt; /* made by the K_FIN item before */
		op->fwd(&r);
		break;
	}
	case K_STATS:
		if (ps->bwd)
			bn_bwd_sums_item(net, id, xs, c0, c1, ps->n0, t, ps->nt, ps->par[0]);
		else
			bn_fwd_stats(net, id, xs, c0, c1, ps->n0, t, ps->nt, ps->par[0]);
		break;
	case K_APPLY:
		if (ps->bwd)
			bn_bwd_dx_item(net, id, xs, c0, c1, t);
		else
			bn_fwd_apply(net, id, xs, c0, c1, t);
		break;
	}
}

/* the schedule's ni items: barrier items alone, the runs between them
 * chunk by chunk */
static void run_schedule(pass *ps, int ni)
{
	nn_net *net = ps->net;
	int i = 0;
	while (i < ni) {
		int it = net->ex->sched[i];
		if (ITEM_K(it) == K_FIN) {
			run_fin(ps, ITEM_ID(it));
			i++;
			continue;
		}
		int j = segment_end(net, i, ni);
		int cs = chunk_rows(net, i, j, ps->n1 - ps->n0 > 0 ? ps->n1 - ps->n0 : 1);
		for (int c0 = ps->n0; c0 < ps->n1; c0 += cs) {
			int c1 = c0 + cs < ps->n1 ? c0 + cs : ps->n1;
			for (int k = i; k < j; k++)
				run_item(ps, net->ex->sched[k], c0, c1);
		}
		i = j;
	}
}

static void pass_init(pass *ps, nn_net *net, int rows, int bwd, int t, int nt)
{
	memset(ps, 0, sizeof *ps);
	ps->net = net, ps->rows = rows, ps->bwd = bwd, ps->t = t, ps->nt = nt;
	rows_of(rows, t, nt, &ps->n0, &ps->n1);
}

/* ---- forward ----
 * A pass computes only what the output depends on. A frozen gate whose
 * weight is 0 is switched off: its output is 0, and what feeds it alone (a
 * candidate's pair dropped during its training) is computed neither
 * forward nor backward. Inference also skips what feeds a stop-forward
 * node alone, whose output is 0 whatever its input (a candidate's
 * branches); training needs those for their gradients. */
static int gate_off(const nn_net *net, int id)
{
	const nn_node *d = &net->g.nodes[id];
	return d->op == NN_OP_GATE && (d->flags & NN_F_FROZEN) && net->params[net->plan[id].poff] == 0;
}

static void mark_live(nn_net *net, int train)
{
	nn_exec *e = net->ex;
	const nn_graph *g = &net->g;
	for (int i = 0; i < g->n; i++)
		e->live[i] = 0;
	e->live[g->output] = 1;
	for (int oi = net->norder - 1; oi >= 0; oi--) {
		int id = net->order[oi];
		const nn_node *d = &g->nodes[id];
		if (!e->live[id] || (!train && d->op == NN_OP_STOPFWD) || gate_off(net, id))
			continue;
		for (int j = 0; j < d->nin; j++)
			e->live[d->in[j]] = 1;
	}
}

static int fwd_schedule(nn_net *net, int train)
{
	nn_exec *e = net->ex;
	int ni = 0;
	mark_live(net, train);
	for (int oi = 0; oi < net->norder; oi++) {
		int id = net->order[oi];
		const nn_node *d = &net->g.nodes[id];
		unsigned f = nn_ops[d->op].flags;
		if (!e->live[id])
			continue; /* the output does not depend on it */
		if (f & NN_OPF_BN) {
			if (train)
				e->sched[ni++] = ITEM(id, K_STATS), e->sched[ni++] = ITEM(id, K_FIN);
			e->sched[ni++] = ITEM(id, K_APPLY);
		} else if (f & NN_OPF_WT) {
			e->sched[ni++] = ITEM(id, K_FIN);
			e->sched[ni++] = ITEM(id, K_OP);
		} else if ((d->op == NN_OP_RELU && e->fuse[id] >= 0) || (d->op == NN_OP_MAXPOOL && e->poolfuse[id] >= 0)) {
			continue; /* computed by a bn's apply */
		} else {
			e->sched[ni++] = ITEM(id, K_OP);
		}
	}
	return ni;
}

static void fwd_pass(nn_net *net, const float *x, int rows, int train, int ni, int t, int nt)
{
	pass ps;
	pass_init(&ps, net, rows, 0, t, nt);
	ps.x = x, ps.train = train;
	if (!train)
		for (int i = 0; i < net->g.n; i++)
			if (nn_ops[net->g.nodes[i].op].flags & NN_OPF_BN) {
				nn_shape xs = net->plan[net->g.nodes[i].in[0]].shape;
				xs.n = rows;
				bn_fwd_fin(net, i, xs, 0, t, nt, 0);
			}
	run_schedule(&ps, ni);
}

const float *nn_exec_forward(nn_net *net, const float *x, int rows, int train)
{
	net->ex->rows = rows;
	int ni = fwd_schedule(net, train);
	if (seg_threads(net, 0, net->norder, rows) == 1) {
		fwd_pass(net, x, rows, train, ni, 0, 1);
		return OUT(net->g.output);
	}
#pragma omp parallel num_threads(net->ex->nthreads)
	fwd_pass(net, x, rows, train, ni, TID(), NTH());
	return OUT(net->g.output);
}

/* ---- backward ----
 * Only what a gradient is needed for runs: a node's backward runs when it
 * has parameters that move (not NN_F_FROZEN) or an input whose gradient is
 * needed; stop-gradient edges pass none; the network's input needs one
 * only when asked for; and only what a training forward computes runs. So
 * the layers below a frozen part, the candidate branches that have no
 * weights, the weight-free side of a stop-gradient and a switched-off
 * gate's branch cost nothing; a conv or linear whose input needs no
 * gradient skips it. */
static void bwd_needs(nn_net *net)
{
	nn_exec *e = net->ex;
	const nn_graph *g = &net->g;
	mark_live(net, 1); /* what a training forward computes */
	for (int i = 0; i < g->n; i++)
		e->grad[i] = 0;
	for (int oi = 0; oi < net->norder; oi++) {
		int id = net->order[oi];
		const nn_node *d = &g->nodes[id];
		int run = id == net->input ? e->want_dinput : net->plan[id].plen && !(d->flags & NN_F_FROZEN);
		if (d->op != NN_OP_STOPGRAD)
			for (int j = 0; j < d->nin; j++)
				run |= e->grad[d->in[j]] & GRAD_RUN;
		run &= e->live[id];
		e->grad[id] |= run ? GRAD_RUN | GRAD_ZERO : 0;
		if (run)
			for (int j = 0; j < d->nin; j++)
				e->grad[d->in[j]] |= GRAD_ZERO;
	}
}

static int bwd_schedule(nn_net *net)
{
	nn_exec *e = net->ex;
	bwd_needs(net);
	int ni = 0;
	for (int oi = net->norder - 1; oi >= 0; oi--) {
		int id = net->order[oi];
		const nn_node *d = &net->g.nodes[id];
		if (!d->nin || (d->op == NN_OP_RELU && e->bwdfuse[id]) || !(e->grad[id] & GRAD_RUN))
			continue; /* the input; a relu run inside its bn's backward; no gradient needed */
		if (nn_ops[d->op].flags & NN_OPF_BN) {
			e->sched[ni++] = ITEM(id, K_STATS);
			e->sched[ni++] = ITEM(id, K_FIN);
			e->sched[ni++] = ITEM(id, K_APPLY);
		} else {
			e->sched[ni++] = ITEM(id, K_OP);
		}
	}
	return ni;
}

static void bwd_body(nn_net *net, const float *dlogits, int ni, int t, int nt)
{
	nn_exec *e = net->ex;
	pass ps;
	pass_init(&ps, net, e->rows, 1, t, nt);
	int n0 = ps.n0, n1 = ps.n1;
	size_t np = net->nparams, nps = (np + 15) & ~(size_t)15;
	ps.gbuf = t == 0 ? net->grads : e->tgrad + (size_t)(t - 1) * nps;
	if (t > 0)
		memset(ps.gbuf, 0, sizeof(float) * np);
	/* zero this thread's rows of every output gradient */
	for (int i = 0; i < net->g.n; i++) {
		if (((nn_ops[net->g.nodes[i].op].flags & NN_OPF_BN) && e->bwdfuse[i]) || e->assign[i] ||
		    !(e->grad[i] & GRAD_ZERO))
			continue;
		nn_shape s = net->plan[i].shape;
		size_t f = (size_t)s.c * s.h * s.w;
		memset(DOUT(i) + f * n0, 0, sizeof(float) * f * (n1 - n0));
	}
	size_t cls = (size_t)net->g.classes;
	memcpy(DOUT(net->g.output) + cls * n0, dlogits + cls * n0, sizeof(float) * cls * (n1 - n0));
	run_schedule(&ps, ni);
}

/* Weight gradients: thread 0 accumulates into net->grads, thread t > 0 into
 * its own zeroed buffer; at the end those are added in thread order. A small
 * net runs without an OpenMP region: an idle one-thread region costs more
 * than the work. */
void nn_exec_backward(nn_net *net, const float *dlogits)
{
	int rows = net->ex->rows;
	size_t np = net->nparams, nps = (np + 15) & ~(size_t)15;
	int ni = bwd_schedule(net);
	if (seg_threads(net, 0, net->norder, rows) == 1) {
		bwd_body(net, dlogits, ni, 0, 1);
		return;
	}
#pragma omp parallel num_threads(net->ex->nthreads)
	{
		int t = TID(), nt = NTH();
		bwd_body(net, dlogits, ni, t, nt);
		if (nt > 1) {
			/* sum the threads' weight gradients in thread order */
			BARRIER();
			size_t a = np * t / nt, b = np * (t + 1) / nt;
			for (int u = 1; u < nt; u++) {
				const float *src = net->ex->tgrad + (size_t)(u - 1) * nps;
				for (size_t i = a; i < b; i++)
					net->grads[i] += src[i];
			}
		}
	}
}
