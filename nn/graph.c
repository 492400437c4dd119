/* graph.c - graph building, planning (shapes, bytes) and execution. */
#include "nn_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *const op_names[NN_OP__COUNT] = {
	[NN_OP_INPUT] = "input",
	[NN_OP_CONV] = "conv",
	[NN_OP_BN] = "bn",
	[NN_OP_RELU] = "relu",
	[NN_OP_MAXPOOL] = "maxpool",
	[NN_OP_AVGPOOL] = "avgpool",
	[NN_OP_IDENTITY] = "identity",
	[NN_OP_FACTRED] = "factred",
	[NN_OP_SUM] = "sum",
	[NN_OP_CONCAT] = "concat",
	[NN_OP_GATE] = "gate",
	[NN_OP_STOPGRAD] = "stopgrad",
	[NN_OP_STOPFWD] = "stopfwd",
	[NN_OP_GAP] = "gap",
	[NN_OP_LINEAR] = "linear",
};
_Static_assert(NN_OP__COUNT == 15, "op ids are append-only: add names above");

const char *nn_op_name(int op)
{
	if (op < 0 || op >= NN_OP__COUNT)
		return "unknown";
	return op_names[op];
}

int nn_op_from_name(const char *name)
{
	for (int i = 0; i < NN_OP__COUNT; i++)
		if (!strcmp(op_names[i], name))
			return i;
	return -1;
}

const char *nn_strerror(int err)
{
	switch (err) {
	case NN_OK: return "ok";
	case NN_EINVAL: return "invalid argument";
	case NN_ESHAPE: return "shape mismatch";
	case NN_ECYCLE: return "graph has a cycle";
	case NN_EOP: return "unknown op";
	case NN_ENOMEM: return "out of memory";
	case NN_EIO: return "I/O error";
	case NN_EFORMAT: return "malformed file";
	case NN_ENAN: return "loss is NaN or diverged";
	case NN_ESTOP: return "stopped";
	case NN_EVERSION: return "unsupported format version";
	}
	return "unknown error";
}

void nn_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- threads ---- */
extern void openblas_set_num_threads(int);
static int g_threads = 0;

void nn_set_threads(int n)
{
	if (n < 1)
		n = 1;
	g_threads = n;
#ifdef _OPENMP
	omp_set_num_threads(n);
#endif
	openblas_set_num_threads(n);
}

int nn_get_threads(void)
{
	if (g_threads > 0)
		return g_threads;
#ifdef _OPENMP
	return omp_get_max_threads();
#else
	return 1;
#endif
}

/* ---- building ---- */
void nn_graph_init(nn_graph *g, nn_shape in, int classes)
{
	memset(g, 0, sizeof *g);
	g->in = in;
	g->in.n = 1;
	g->classes = classes;
	g->output = -1;
}

void nn_graph_free(nn_graph *g)
{
	free(g->nodes);
	g->nodes = NULL;
	g->n = g->cap = 0;
}

int nn_graph_copy(nn_graph *dst, const nn_graph *src)
{
	*dst = *src;
	dst->nodes = NULL;
	dst->cap = src->n > 0 ? src->n : 1;
	dst->nodes = malloc(sizeof(nn_node) * dst->cap);
	if (!dst->nodes)
		return NN_ENOMEM;
	if (src->n)
		memcpy(dst->nodes, src->nodes, sizeof(nn_node) * src->n);
	return 0;
}

int nn_add(nn_graph *g, int op, const int *in, int nin, nn_params p)
{
	if (nin < 0 || nin > NN_MAXIN)
		return NN_EINVAL;
	if (g->n == g->cap) {
		int cap = g->cap ? g->cap * 2 : 16;
		nn_node *nn = realloc(g->nodes, sizeof(nn_node) * cap);
		if (!nn)
			return NN_ENOMEM;
		g->nodes = nn;
		g->cap = cap;
	}
	nn_node *d = &g->nodes[g->n];
	memset(d, 0, sizeof *d);
	d->op = op;
	d->nin = nin;
	for (int i = 0; i < nin; i++)
		d->in[i] = in[i];
	d->p = p;
	g->output = g->n;
	return g->n++;
}

static nn_params P0(void)
{
	nn_params p;
	memset(&p, 0, sizeof p);
	return p;
}

int nn_input(nn_graph *g) { return nn_add(g, NN_OP_INPUT, NULL, 0, P0()); }

int nn_conv(nn_graph *g, int x, int cout, int k, int stride, int pad, int dil, int groups, int bias)
{
	nn_params p = P0();
	p.cout = cout, p.k = k, p.stride = stride, p.pad = pad, p.dil = dil, p.groups = groups;
	int id = nn_add(g, NN_OP_CONV, &x, 1, p);
	if (id >= 0 && !bias)
		g->nodes[id].flags |= NN_F_NOBIAS;
	return id;
}

int nn_bn(nn_graph *g, int x)
{
	nn_params p = P0();
	p.eps = 1e-5f, p.momentum = 0.1f;
	return nn_add(g, NN_OP_BN, &x, 1, p);
}

int nn_relu(nn_graph *g, int x) { return nn_add(g, NN_OP_RELU, &x, 1, P0()); }

int nn_pool(nn_graph *g, int op, int x, int k, int stride)
{
	nn_params p = P0();
	p.k = k, p.stride = stride, p.pad = k / 2;
	return nn_add(g, op, &x, 1, p);
}

int nn_linear(nn_graph *g, int x, int cout)
{
	nn_params p = P0();
	p.cout = cout;
	return nn_add(g, NN_OP_LINEAR, &x, 1, p);
}

int nn_gap(nn_graph *g, int x) { return nn_add(g, NN_OP_GAP, &x, 1, P0()); }

int nn_gate(nn_graph *g, int x, float init)
{
	nn_params p = P0();
	p.init = init;
	int id = nn_add(g, NN_OP_GATE, &x, 1, p);
	if (id >= 0)
		g->nodes[id].flags |= NN_F_NODECAY;
	return id;
}

int nn_unary(nn_graph *g, int op, int x) { return nn_add(g, op, &x, 1, P0()); }
int nn_sum(nn_graph *g, const int *in, int nin) { return nn_add(g, NN_OP_SUM, in, nin, P0()); }
int nn_concat(nn_graph *g, const int *in, int nin) { return nn_add(g, NN_OP_CONCAT, in, nin, P0()); }

#define TRY(e) do { int r_ = (e); if (r_ < 0) return r_; } while (0)

int nn_sepconv(nn_graph *g, int x, int cin, int cout, int k, int dil, int stride, int reps)
{
	int y = x, c = cin;
	for (int r = 0; r < reps; r++) {
		int s = r == 0 ? stride : 1;
		int oc = r == reps - 1 ? cout : cin;
		TRY(y = nn_relu(g, y));
		TRY(y = nn_conv(g, y, c, k, s, dil * (k - 1) / 2, dil, c, 0));
		TRY(y = nn_conv(g, y, oc, 1, 1, 0, 1, 1, 0));
		TRY(y = nn_bn(g, y));
		c = oc;
	}
	return y;
}

int nn_factred(nn_graph *g, int x, int cout)
{
	int y;
	TRY(y = nn_relu(g, x));
	nn_params p = P0();
	p.cout = cout;
	TRY(y = nn_add(g, NN_OP_FACTRED, &y, 1, p));
	return nn_bn(g, y);
}

int nn_proj(nn_graph *g, int x, int cout)
{
	int y;
	TRY(y = nn_relu(g, x));
	TRY(y = nn_conv(g, y, cout, 1, 1, 0, 1, 1, 0));
	return nn_bn(g, y);
}

int nn_arch(nn_graph *g, const char *name, nn_shape in, int classes)
{
	nn_graph_init(g, in, classes);
	int x;
	TRY(x = nn_input(g));
	if (!strcmp(name, "mlp")) {
		TRY(x = nn_linear(g, x, 256));
		TRY(x = nn_relu(g, x));
		TRY(x = nn_linear(g, x, classes));
		return 0;
	}
	int small = !strcmp(name, "cnn-small");
	if (!small && strcmp(name, "cnn-mid"))
		return NN_EINVAL;
	static const int csmall[] = { 16, -1, 32, -1, 0 };
	static const int cmid[] = { 32, 32, -1, 64, 64, -1, 0 };
	const int *c = small ? csmall : cmid;
	int last = in.c;
	for (; *c; c++) {
		if (*c < 0) {
			TRY(x = nn_pool(g, NN_OP_MAXPOOL, x, 2, 2));
			g->nodes[x].p.pad = 0;
			continue;
		}
		TRY(x = nn_conv(g, x, *c, 3, 1, 1, 1, 1, 0));
		TRY(x = nn_bn(g, x));
		TRY(x = nn_relu(g, x));
		last = *c;
	}
	(void)last;
	TRY(x = nn_gap(g, x));
	TRY(x = nn_linear(g, x, classes));
	return 0;
}

/* ---- planning ---- */
#define NN_MAX_DIM (1 << 24) /* channels, height or width of any tensor */
static int conv_out(int h, int k, int s, int pad, int dil)
{
	int64_t e = (int64_t)h + 2 * (int64_t)pad - (int64_t)dil * (k - 1) - 1;
	if (e < 0)
		return 0;
	e = e / s + 1;
	return e > NN_MAX_DIM ? NN_MAX_DIM + 1 : (int)e;
}

/* Shape, params and state sizes of one node given its input shapes. */
static int plan_node(const nn_graph *g, int id, nn_plan *pl, int batch, char *err, size_t errlen)
{
	const nn_node *d = &g->nodes[id];
	nn_plan *me = &pl[id];
	const nn_params *p = &d->p;
	nn_shape x = { 0, 0, 0, 0 };
	const char *on = nn_op_name(d->op);
	if (d->nin > 0)
		x = pl[d->in[0]].shape;
	me->plen = me->slen = me->nsave = 0;
	me->macs = 0;
	int want = -1; /* exact input count, -1 = at least one */
	switch (d->op) {
	case NN_OP_INPUT: want = 0; break;
	case NN_OP_SUM: case NN_OP_CONCAT: want = -1; break;
	default: want = 1;
	}
	if (want >= 0 && d->nin != want) {
		nn_errf(err, errlen, "node %d (%s): has %d inputs, needs %d", id, on, d->nin, want);
		return NN_ESHAPE;
	}
	if (want < 0 && d->nin < 1) {
		nn_errf(err, errlen, "node %d (%s): has no inputs", id, on);
		return NN_ESHAPE;
	}
	size_t chw = (size_t)x.c * x.h * x.w;
	switch (d->op) {
	case NN_OP_INPUT:
		me->shape = g->in;
		me->shape.n = batch;
		if (g->in.c < 1 || g->in.h < 1 || g->in.w < 1) {
			nn_errf(err, errlen, "node %d (input): bad input shape %dx%dx%d", id, g->in.c, g->in.h, g->in.w);
			return NN_ESHAPE;
		}
		break;
	case NN_OP_CONV: {
		int gr = p->groups;
		if (p->k < 1 || p->stride < 1 || p->dil < 1 || gr < 1 || p->pad < 0 || p->cout < 1) {
			nn_errf(err, errlen, "node %d (conv): bad params k=%d stride=%d pad=%d dil=%d groups=%d cout=%d",
				id, p->k, p->stride, p->pad, p->dil, gr, p->cout);
			return NN_ESHAPE;
		}
		if (x.c % gr || p->cout % gr) {
			nn_errf(err, errlen, "node %d (conv): groups %d do not divide channels %d -> %d", id, gr, x.c, p->cout);
			return NN_ESHAPE;
		}
		int oh = conv_out(x.h, p->k, p->stride, p->pad, p->dil);
		int ow = conv_out(x.w, p->k, p->stride, p->pad, p->dil);
		if (oh < 1 || ow < 1) {
			nn_errf(err, errlen, "node %d (conv): %dx%d input too small for kernel %d dil %d", id, x.h, x.w, p->k, p->dil);
			return NN_ESHAPE;
		}
		me->shape = (nn_shape){ batch, p->cout, oh, ow };
		me->plen = (size_t)p->cout * (x.c / gr) * p->k * p->k + (d->flags & NN_F_NOBIAS ? 0 : p->cout);
		me->macs = (uint64_t)p->cout * (x.c / gr) * p->k * p->k * oh * ow;
		me->algo = nn_conv_algo(x, p);
		break;
	}
	case NN_OP_BN:
		me->shape = x;
		me->plen = 2 * (size_t)x.c;
		me->slen = 2 * (size_t)x.c;
		me->nsave = nn_shape_numel(x) + x.c;
		me->macs = 2 * chw;
		break;
	case NN_OP_RELU: case NN_OP_IDENTITY: case NN_OP_STOPGRAD: case NN_OP_STOPFWD:
		me->shape = x;
		break;
	case NN_OP_GATE:
		me->shape = x;
		me->plen = 1;
		me->macs = chw;
		break;
	case NN_OP_MAXPOOL: case NN_OP_AVGPOOL: {
		if (p->k < 1 || p->stride < 1 || p->pad < 0 || p->pad >= p->k) {
			nn_errf(err, errlen, "node %d (%s): bad params k=%d stride=%d pad=%d", id, on, p->k, p->stride, p->pad);
			return NN_ESHAPE;
		}
		int oh = conv_out(x.h, p->k, p->stride, p->pad, 1);
		int ow = conv_out(x.w, p->k, p->stride, p->pad, 1);
		if (oh < 1 || ow < 1) {
			nn_errf(err, errlen, "node %d (%s): %dx%d input too small", id, on, x.h, x.w);
			return NN_ESHAPE;
		}
		me->shape = (nn_shape){ batch, x.c, oh, ow };
		if (d->op == NN_OP_MAXPOOL)
			me->nsave = nn_shape_numel(me->shape); /* argmax as int32 */
		me->macs = (uint64_t)x.c * oh * ow * p->k * p->k;
		break;
	}
	case NN_OP_FACTRED:
		if (p->cout < 2 || p->cout % 2) {
			nn_errf(err, errlen, "node %d (factred): cout %d must be even", id, p->cout);
			return NN_ESHAPE;
		}
		me->shape = (nn_shape){ batch, p->cout, (x.h + 1) / 2, (x.w + 1) / 2 };
		me->plen = (size_t)p->cout * x.c;
		me->macs = (uint64_t)p->cout * x.c * me->shape.h * me->shape.w;
		break;
	case NN_OP_SUM: case NN_OP_CONCAT: {
		int64_t c = 0;
		for (int i = 0; i < d->nin; i++) {
			nn_shape s = pl[d->in[i]].shape;
			if (s.h != x.h || s.w != x.w || (d->op == NN_OP_SUM && s.c != x.c)) {
				nn_errf(err, errlen, "node %d (%s): input %d is %dx%dx%d, input %d is %dx%dx%d", id, on,
					d->in[0], x.c, x.h, x.w, d->in[i], s.c, s.h, s.w);
				return NN_ESHAPE;
			}
			c += s.c;
		}
		if (c > NN_MAX_DIM) {
			nn_errf(err, errlen, "node %d (%s): %lld channels, more than %d", id, on, (long long)c, NN_MAX_DIM);
			return NN_ESHAPE;
		}
		me->shape = x;
		if (d->op == NN_OP_CONCAT)
			me->shape.c = (int)c;
		me->macs = d->op == NN_OP_SUM ? (uint64_t)(d->nin - 1) * chw : 0;
		break;
	}
	case NN_OP_GAP:
		me->shape = (nn_shape){ batch, x.c, 1, 1 };
		me->macs = chw;
		break;
	case NN_OP_LINEAR:
		if (p->cout < 1) {
			nn_errf(err, errlen, "node %d (linear): bad cout %d", id, p->cout);
			return NN_ESHAPE;
		}
		me->shape = (nn_shape){ batch, p->cout, 1, 1 };
		me->plen = (size_t)p->cout * chw + (d->flags & NN_F_NOBIAS ? 0 : p->cout);
		me->macs = (uint64_t)p->cout * chw;
		break;
	default:
		nn_errf(err, errlen, "node %d: unknown op %d", id, d->op);
		return NN_EOP;
	}
	if (me->shape.c > NN_MAX_DIM || me->shape.h > NN_MAX_DIM || me->shape.w > NN_MAX_DIM) {
		nn_errf(err, errlen, "node %d (%s): output %dx%dx%d exceeds %d in a dimension", id, on, me->shape.c,
			me->shape.h, me->shape.w, NN_MAX_DIM);
		return NN_ESHAPE;
	}
	if (nn_shape_numel(me->shape) > ((size_t)1 << 34)) {
		nn_errf(err, errlen, "node %d (%s): output too large", id, on);
		return NN_ENOMEM;
	}
	return 0;
}

/* Topological order: nodes in id order, each preceded by its not yet
 * placed inputs (iterative depth-first search). Nodes appended to a graph
 * and feeding an existing node are placed right before it, so the relative
 * order of the existing nodes never changes: growth keeps the parent's
 * execution order, and with it bit-identical sums. NN_ECYCLE when not a DAG. */
static int topo(const nn_graph *g, int *order, char *err, size_t errlen)
{
	int n = g->n, ni = 0, rc = 0;
	unsigned char *mark = calloc(n > 0 ? n : 1, 1); /* 0 new, 1 on stack, 2 placed */
	int *stk = malloc(sizeof(int) * (n > 0 ? n : 1)), *pos = malloc(sizeof(int) * (n > 0 ? n : 1));
	if (!mark || !stk || !pos) {
		rc = NN_ENOMEM;
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		const nn_node *d = &g->nodes[i];
		if (d->op < 0 || d->op >= NN_OP__COUNT) {
			nn_errf(err, errlen, "node %d: unknown op %d", i, d->op);
			rc = NN_EOP;
			goto fail;
		}
		if (d->nin < 0 || d->nin > NN_MAXIN) {
			nn_errf(err, errlen, "node %d (%s): bad input count %d", i, nn_op_name(d->op), d->nin);
			rc = NN_ESHAPE;
			goto fail;
		}
		for (int j = 0; j < d->nin; j++)
			if (d->in[j] < 0 || d->in[j] >= n) {
				nn_errf(err, errlen, "node %d (%s): input %d does not exist", i, nn_op_name(d->op), d->in[j]);
				rc = NN_ESHAPE;
				goto fail;
			}
	}
	for (int r = 0; r < n; r++) {
		if (mark[r])
			continue;
		int sp = 0;
		stk[sp] = r, pos[sp] = 0, sp++;
		mark[r] = 1;
		while (sp) {
			int u = stk[sp - 1];
			const nn_node *d = &g->nodes[u];
			if (pos[sp - 1] < d->nin) {
				int v = d->in[pos[sp - 1]++];
				if (mark[v] == 1) {
					nn_errf(err, errlen, "graph has a cycle through node %d (%s)", v, nn_op_name(g->nodes[v].op));
					rc = NN_ECYCLE;
					goto fail;
				}
				if (!mark[v]) {
					mark[v] = 1;
					stk[sp] = v, pos[sp] = 0, sp++;
				}
				continue;
			}
			mark[u] = 2;
			order[ni++] = u;
			sp--;
		}
	}
fail:
	free(mark);
	free(stk);
	free(pos);
	return rc;
}

/* Plan shapes for a whole graph; pl has g->n entries, order too. */
static int plan_graph(const nn_graph *g, int batch, nn_plan *pl, int *order, int *input, char *err, size_t errlen)
{
	if (g->n < 1) {
		nn_errf(err, errlen, "graph is empty");
		return NN_ESHAPE;
	}
	if (g->classes < 1 && g->classes != NN_CLASSES_ANY) {
		nn_errf(err, errlen, "graph has %d classes", g->classes);
		return NN_ESHAPE;
	}
	int rc = topo(g, order, err, errlen);
	if (rc)
		return rc;
	int nin = 0;
	for (int i = 0; i < g->n; i++) {
		int id = order[i];
		if (g->nodes[id].op == NN_OP_INPUT) {
			nin++;
			*input = id;
		}
		if ((rc = plan_node(g, id, pl, batch, err, errlen)))
			return rc;
	}
	if (nin != 1) {
		nn_errf(err, errlen, "graph has %d input nodes, needs exactly 1", nin);
		return NN_ESHAPE;
	}
	if (g->output < 0 || g->output >= g->n) {
		nn_errf(err, errlen, "graph output %d does not exist", g->output);
		return NN_ESHAPE;
	}
	nn_shape o = pl[g->output].shape;
	if (g->classes == NN_CLASSES_ANY && (o.h != 1 || o.w != 1)) {
		nn_errf(err, errlen, "output node %d (%s) is %dx%dx%d, not a vector (Cx1x1) of class scores", g->output,
			nn_op_name(g->nodes[g->output].op), o.c, o.h, o.w);
		return NN_ESHAPE;
	}
	if (g->classes != NN_CLASSES_ANY && (o.c != g->classes || o.h != 1 || o.w != 1)) {
		nn_errf(err, errlen, "output node %d (%s) is %dx%dx%d, needs %dx1x1 (classes)", g->output,
			nn_op_name(g->nodes[g->output].op), o.c, o.h, o.w, g->classes);
		return NN_ESHAPE;
	}
	return 0;
}

int nn_graph_cost(const nn_graph *g, int batch, nn_cost *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	nn_plan *pl = calloc(g->n > 0 ? g->n : 1, sizeof *pl);
	int *order = calloc(g->n > 0 ? g->n : 1, sizeof(int));
	int *last = calloc(g->n > 0 ? g->n : 1, sizeof(int));
	int input, rc = NN_ENOMEM;
	if (!pl || !order || !last)
		goto fail;
	if ((rc = plan_graph(g, 1, pl, order, &input, err, errlen)))
		goto fail;
	uint64_t train = 0;
	for (int i = 0; i < g->n; i++) {
		int id = order[i];
		c->params += pl[id].plen;
		c->macs += pl[id].macs;
		const nn_node *d = &g->nodes[id];
		/* gates and bn's beta count as parameters; bn has two per channel */
		train += 2 * nn_shape_numel(pl[id].shape) + pl[id].nsave;
		last[id] = i;
		for (int j = 0; j < d->nin; j++)
			if (last[d->in[j]] < i)
				last[d->in[j]] = i;
	}
	c->act_bytes_train = train * 4 * (uint64_t)batch;
	/* batch-1 inference: an output lives from its node until its last use */
	uint64_t live = 0, peak = 0;
	for (int i = 0; i < g->n; i++) {
		int id = order[i];
		live += nn_shape_numel(pl[id].shape) * 4;
		if (live > peak)
			peak = live;
		const nn_node *d = &g->nodes[id];
		for (int j = 0; j < d->nin; j++) {
			int s = d->in[j];
			int dup = 0;
			for (int k = 0; k < j; k++)
				dup |= d->in[k] == s;
			if (!dup && last[s] == i && s != g->output)
				live -= nn_shape_numel(pl[s].shape) * 4;
		}
	}
	c->act_bytes_1 = peak;
	rc = 0;
fail:
	free(pl);
	free(order);
	free(last);
	return rc;
}

int nn_graph_shapes(const nn_graph *g, nn_shape *out, char *err, size_t errlen)
{
	nn_plan *pl = calloc(g->n > 0 ? g->n : 1, sizeof *pl);
	int *order = calloc(g->n > 0 ? g->n : 1, sizeof(int));
	int input, rc = NN_ENOMEM;
	if (pl && order && !(rc = plan_graph(g, 1, pl, order, &input, err, errlen)))
		for (int i = 0; i < g->n; i++)
			out[i] = pl[i].shape;
	free(pl);
	free(order);
	return rc;
}

int nn_plan_sizes(const nn_graph *g, size_t *np, size_t *ns)
{
	nn_plan *pl = calloc(g->n > 0 ? g->n : 1, sizeof *pl);
	int *order = calloc(g->n > 0 ? g->n : 1, sizeof(int));
	int input, rc = NN_ENOMEM;
	*np = *ns = 0;
	if (pl && order && !(rc = plan_graph(g, 1, pl, order, &input, NULL, 0)))
		for (int i = 0; i < g->n; i++)
			*np += pl[i].plen, *ns += pl[i].slen;
	free(pl);
	free(order);
	return rc;
}

/* ---- net ---- */
int nn_net_create(nn_net **out, const nn_graph *g, int batch, char *err, size_t errlen)
{
	*out = NULL;
	if (batch < 1) {
		nn_errf(err, errlen, "batch %d < 1", batch);
		return NN_EINVAL;
	}
	nn_net *net = calloc(1, sizeof *net);
	if (!net)
		return NN_ENOMEM;
	int rc = nn_graph_copy(&net->g, g);
	if (rc)
		goto fail;
	int n = g->n > 0 ? g->n : 1;
	net->plan = calloc(n, sizeof(nn_plan));
	net->order = calloc(n, sizeof(int));
	rc = NN_ENOMEM;
	if (!net->plan || !net->order)
		goto fail;
	if ((rc = plan_graph(g, batch, net->plan, net->order, &net->input, err, errlen)))
		goto fail;
	net->norder = g->n;
	net->batch = batch;
	/* no more threads than images: a thread without rows would only wait
	 * at every barrier (and stall a batch-1 forward when its core is busy) */
	net->nthreads = nn_get_threads() < batch ? nn_get_threads() : batch;
	/* offsets: params, state, then activations (outputs, grads, saves) */
	size_t po = 0, so = 0, ao = 0, scr = 0;
	for (int i = 0; i < g->n; i++) {
		nn_plan *p = &net->plan[i];
		p->poff = po, po += p->plen;
		p->soff = so, so += p->slen;
	}
	for (int i = 0; i < g->n; i++) {
		nn_plan *p = &net->plan[i];
		size_t sz = (nn_shape_numel(p->shape) + 15) & ~(size_t)15;
		p->out = ao, ao += sz;
	}
	size_t dstart = ao;
	for (int i = 0; i < g->n; i++) {
		nn_plan *p = &net->plan[i];
		size_t sz = (nn_shape_numel(p->shape) + 15) & ~(size_t)15;
		p->dout = ao, ao += sz;
	}
	(void)dstart;
	for (int i = 0; i < g->n; i++) {
		nn_plan *p = &net->plan[i];
		p->save = ao, ao += (p->nsave + 15) & ~(size_t)15;
	}
	net->nparams = po, net->nstate = so, net->nact = ao;
	/* per-thread scratch, then the executor's shared state */
	net->scratch_per_thread = nn_exec_scratch(net);
	scr = nn_exec_shared(net);
	double total = 4.0 * (3.0 * po + so + ao + (double)net->scratch_per_thread * net->nthreads + (double)scr);
	if (total > 16e9) {
		nn_errf(err, errlen, "plan needs %.1f GB, more than the 16 GB limit", total / 1e9);
		rc = NN_ENOMEM;
		goto fail;
	}
	net->params = calloc(po + 1, sizeof(float));
	net->grads = calloc(po + 1, sizeof(float));
	net->mom = calloc(po + 1, sizeof(float));
	net->state = calloc(so + 1, sizeof(float));
	net->act = calloc(ao + 1, sizeof(float));
	net->scratch = calloc(net->scratch_per_thread * net->nthreads + scr + 1, sizeof(float));
	if (!net->params || !net->grads || !net->mom || !net->state || !net->act || !net->scratch) {
		nn_errf(err, errlen, "cannot allocate %.1f MB for the net", total / 1e6);
		rc = NN_ENOMEM;
		goto fail;
	}
	nn_exec_bind(net);
	nn_net_init(net, 1);
	*out = net;
	return 0;
fail:
	nn_net_free(net);
	return rc;
}

void nn_net_free(nn_net *net)
{
	if (!net)
		return;
	nn_graph_free(&net->g);
	free(net->plan);
	free(net->order);
	free(net->params);
	free(net->grads);
	free(net->mom);
	free(net->state);
	free(net->act);
	free(net->scratch);
	free(net->dlogits);
	free(net);
}

const nn_graph *nn_net_graph(const nn_net *net) { return &net->g; }
nn_shape nn_net_shape(const nn_net *net, int node) { return net->plan[node].shape; }
int nn_net_batch(const nn_net *net) { return net->batch; }
size_t nn_net_nparams(const nn_net *net) { return net->nparams; }
float *nn_net_params(nn_net *net) { return net->params; }
float *nn_net_grads(nn_net *net) { return net->grads; }
size_t nn_net_nstate(const nn_net *net) { return net->nstate; }
float *nn_net_state(nn_net *net) { return net->state; }

void nn_net_param_slice(const nn_net *net, int node, size_t *off, size_t *len)
{
	*off = net->plan[node].poff;
	*len = net->plan[node].plen;
}

void nn_net_state_slice(const nn_net *net, int node, size_t *off, size_t *len)
{
	*off = net->plan[node].soff;
	*len = net->plan[node].slen;
}

void nn_net_init(nn_net *net, uint64_t seed)
{
	nn_rng r = { seed * 0x9E3779B97F4A7C15ull + 12345 };
	for (int i = 0; i < net->g.n; i++) {
		const nn_node *d = &net->g.nodes[i];
		nn_plan *p = &net->plan[i];
		float *w = net->params + p->poff;
		float *s = net->state + p->soff;
		switch (d->op) {
		case NN_OP_CONV: case NN_OP_LINEAR: case NN_OP_FACTRED: {
			nn_shape x = net->plan[d->in[0]].shape;
			size_t fan_in;
			size_t nw;
			if (d->op == NN_OP_CONV) {
				fan_in = (size_t)(x.c / d->p.groups) * d->p.k * d->p.k;
				nw = (size_t)d->p.cout * fan_in;
			} else if (d->op == NN_OP_LINEAR) {
				fan_in = (size_t)x.c * x.h * x.w;
				nw = (size_t)d->p.cout * fan_in;
			} else {
				fan_in = x.c;
				nw = (size_t)d->p.cout * x.c;
			}
			/* He normal for conv (fan_in), uniform +-1/sqrt(fan_in) for linear */
			float sd = sqrtf(2.0f / (float)fan_in);
			for (size_t j = 0; j < nw; j++)
				w[j] = d->op == NN_OP_LINEAR ? (2 * nn_rng_uniform(&r) - 1) / sqrtf((float)fan_in)
							      : sd * nn_rng_normal(&r);
			for (size_t j = nw; j < p->plen; j++)
				w[j] = 0;
			break;
		}
		case NN_OP_BN: {
			int c = p->shape.c;
			for (int j = 0; j < c; j++) {
				w[j] = 1, w[c + j] = 0;
				s[j] = 0, s[c + j] = 1;
			}
			break;
		}
		case NN_OP_GATE:
			w[0] = d->p.init;
			break;
		default:
			break;
		}
	}
	memset(net->mom, 0, sizeof(float) * net->nparams);
}

int nn_net_copy_weights(nn_net *dst, const nn_net *src)
{
	int copied = 0;
	for (int i = 0; i < dst->g.n && i < src->g.n; i++) {
		if (dst->g.nodes[i].op != src->g.nodes[i].op)
			continue;
		nn_plan *a = &dst->plan[i];
		const nn_plan *b = &src->plan[i];
		if (a->plen != b->plen || a->slen != b->slen)
			continue;
		memcpy(dst->params + a->poff, src->params + b->poff, sizeof(float) * a->plen);
		memcpy(dst->mom + a->poff, src->mom + b->poff, sizeof(float) * a->plen);
		memcpy(dst->state + a->soff, src->state + b->soff, sizeof(float) * a->slen);
		copied++;
	}
	return copied;
}

/* ---- execution ---- */
#define OUT(id) (net->act + net->plan[id].out)
#define DOUT(id) (net->act + net->plan[id].dout)

static void sh_rows(nn_shape *s, int rows) { s->n = rows; }

const float *nn_forward(nn_net *net, const float *x, int rows, int train)
{
	NN_ASSERT(rows >= 1 && rows <= net->batch);
	nn_shape xs = net->plan[net->input].shape;
	sh_rows(&xs, rows);
	NN_ASSERT(nn_shape_numel(xs) == (size_t)rows * net->g.in.c * net->g.in.h * net->g.in.w);
	return nn_exec_forward(net, x, rows, train);
}

const float *nn_net_out(const nn_net *net, int node) { return net->act + net->plan[node].out; }
void nn_net_want_dinput(nn_net *net, int on) { net->want_dinput = on != 0; }
const float *nn_net_dinput(const nn_net *net) { return net->act + net->plan[net->input].dout; }

void nn_zero_grad(nn_net *net) { memset(net->grads, 0, sizeof(float) * net->nparams); }

void nn_backward(nn_net *net, const float *dlogits)
{
	nn_exec_backward(net, dlogits);
}

float nn_softmax_ce(const float *logits, const int *labels, int rows, int classes, float *dlogits, int *correct)
{
	double loss = 0;
	int hits = 0;
	for (int n = 0; n < rows; n++) {
		const float *z = logits + (size_t)n * classes;
		float m = z[0];
		int am = 0;
		for (int c = 1; c < classes; c++)
			if (z[c] > m)
				m = z[c], am = c;
		double s = 0;
		for (int c = 0; c < classes; c++)
			s += exp((double)z[c] - m);
		double lse = m + log(s);
		loss += lse - z[labels[n]];
		hits += am == labels[n];
		if (dlogits)
			for (int c = 0; c < classes; c++)
				dlogits[(size_t)n * classes + c] =
					(float)((exp((double)z[c] - lse) - (c == labels[n])) / rows);
	}
	if (correct)
		*correct = hits;
	return (float)(loss / rows);
}

/* ---- rng ---- */
uint64_t nn_rng_u64(nn_rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

float nn_rng_uniform(nn_rng *r) { return (float)(nn_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

float nn_rng_normal(nn_rng *r)
{
	double u1 = ((nn_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
	double u2 = (nn_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
	return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
