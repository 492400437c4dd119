/* graph.c - building graphs: nodes, builders of common blocks, reference
 * nets. */
#include "nn_impl.h"

#include <stdlib.h>
#include <string.h>

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

int nn_act(nn_graph *g, int op, int x, float alpha, float beta)
{
	nn_params p = P0();
	p.alpha = alpha, p.beta = beta;
	return nn_add(g, op, &x, 1, p);
}

int nn_mul(nn_graph *g, int x, int s)
{
	int in[2] = { x, s };
	return nn_add(g, NN_OP_MUL, in, 2, P0());
}

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
