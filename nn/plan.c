/* plan.c - planning a graph before any allocation: topological order,
 * every node's shape, parameter, state and saved sizes, MACs and conv
 * algorithm; costs (params, MACs, activation bytes). */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

int nn_conv_out(int h, int k, int s, int pad, int dil)
{
	int64_t e = (int64_t)h + 2 * (int64_t)pad - (int64_t)dil * (k - 1) - 1;
	if (e < 0)
		return 0;
	e = e / s + 1;
	return e > NN_MAX_DIM ? NN_MAX_DIM + 1 : (int)e;
}

/* Shape, params and state sizes of one node given its input shapes: the
 * input count here, the rest by the op's table entry, the size limits
 * again here. */
static int plan_node(const nn_graph *g, int id, nn_plan *pl, int batch, char *err, size_t errlen)
{
	const nn_node *d = &g->nodes[id];
	const nn_op_def *op = &nn_ops[d->op];
	nn_plan *me = &pl[id];
	nn_shape x = { 0, 0, 0, 0 };
	if (d->nin > 0)
		x = pl[d->in[0]].shape;
	me->plen = me->slen = me->nsave = 0;
	me->macs = 0;
	if (op->nin >= 0 && d->nin != op->nin) {
		nn_errf(err, errlen, "node %d (%s): has %d inputs, needs %d", id, op->name, d->nin, op->nin);
		return NN_ESHAPE;
	}
	if (op->nin < 0 && d->nin < 1) {
		nn_errf(err, errlen, "node %d (%s): has no inputs", id, op->name);
		return NN_ESHAPE;
	}
	int rc = op->plan(g, id, pl, x, batch, err, errlen);
	if (rc)
		return rc;
	if (me->shape.c > NN_MAX_DIM || me->shape.h > NN_MAX_DIM || me->shape.w > NN_MAX_DIM) {
		nn_errf(err, errlen, "node %d (%s): output %dx%dx%d exceeds %d in a dimension", id, op->name, me->shape.c,
			me->shape.h, me->shape.w, NN_MAX_DIM);
		return NN_ESHAPE;
	}
	if (nn_shape_numel(me->shape) > ((size_t)1 << 34)) {
		nn_errf(err, errlen, "node %d (%s): output too large", id, op->name);
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
		if (!nn_op_known(d->op)) {
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
int nn_plan_graph(const nn_graph *g, int batch, nn_plan *pl, int *order, int *input, char *err, size_t errlen)
{
	if (g->n < 1) {
		nn_errf(err, errlen, "graph is empty");
		return NN_ESHAPE;
	}
	if (g->classes < 1 && g->classes != NN_CLASSES_ANY && g->classes != NN_CLASSES_NONE) {
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
	if (g->classes == NN_CLASSES_NONE)
		return 0;
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
	if ((rc = nn_plan_graph(g, 1, pl, order, &input, err, errlen)))
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
	if (pl && order && !(rc = nn_plan_graph(g, 1, pl, order, &input, err, errlen)))
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
	if (pl && order && !(rc = nn_plan_graph(g, 1, pl, order, &input, NULL, 0)))
		for (int i = 0; i < g->n; i++)
			*np += pl[i].plen, *ns += pl[i].slen;
	free(pl);
	free(order);
	return rc;
}
