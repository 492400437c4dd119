/* onnx_export.c - petri models to ONNX.
 *
 * Convention, both ways: the input is NCHW float32, the data file's values
 * times the model's input scale (1/255 for IDX bytes: pixels in [0, 1]),
 * named "input" with a free batch dimension "N"; the output is the logits
 * [N, classes], named "logits". petri applies no normalization outside the
 * network, and the exported model's metadata says so: "input" in words,
 * "input_scale" as a number ("%.17g", absent when the model's is unknown).
 *
 * Export writes opset 13: each petri node becomes one ONNX node, except
 * factorized reduction (Conv, Slice + Conv, Concat), linear (Flatten + Gemm),
 * stop-forward (Mul by 0), hard swish (x * HardSigmoid(x), as HardSwish
 * needs opset 14), silu (x * Sigmoid(x)) and channel shuffle (Reshape to
 * [n, g, c/g, h, w], Transpose, Reshape back, with constant shapes whose 0
 * keeps the free batch). Pad writes its pads as an initializer; slice is a
 * Slice of the channels with constant starts, ends and axes.
 */
#include "onnx_impl.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every message of the model under construction is allocated here and
 * freed at once; the model is packed before the arena goes. */
typedef struct {
	void **p;
	size_t n, cap;
	int oom;
	Onnx__NodeProto **nodes;
	size_t nnodes, capnodes;
	Onnx__TensorProto **inits;
	size_t ninits, capinits;
} ox;

static void *ox_alloc(ox *x, size_t sz)
{
	if (x->oom)
		return NULL;
	if (x->n == x->cap) {
		size_t c = x->cap ? 2 * x->cap : 256;
		void **q = realloc(x->p, c * sizeof *q);
		if (!q) {
			x->oom = 1;
			return NULL;
		}
		x->p = q, x->cap = c;
	}
	void *m = calloc(1, sz ? sz : 1);
	if (!m) {
		x->oom = 1;
		return NULL;
	}
	x->p[x->n++] = m;
	return m;
}

static char *ox_strf(ox *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *ox_strf(ox *x, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	char *s = ox_alloc(x, strlen(buf) + 1);
	if (s)
		memcpy(s, buf, strlen(buf) + 1);
	return s;
}

static int ox_push(ox *x, void ***arr, size_t *n, size_t *cap, void *item)
{
	if (!item || x->oom)
		return (x->oom = 1), -1;
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		void **q = realloc(*arr, c * sizeof *q);
		if (!q)
			return (x->oom = 1), -1;
		*arr = q, *cap = c;
	}
	(*arr)[(*n)++] = item;
	return 0;
}

static void ox_free(ox *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->p[i]);
	free(x->p);
	free(x->nodes);
	free(x->inits);
}

#define MAXATTR 8
/* A node with up to MAXATTR attributes (added by ox_attr_*). */
static Onnx__NodeProto *ox_node(ox *x, const char *op, const char *name, const char *const *in, int nin,
				const char *out)
{
	Onnx__NodeProto *n = ox_alloc(x, sizeof *n);
	char **ins = ox_alloc(x, sizeof(char *) * (size_t)(nin > 0 ? nin : 1));
	char **outs = ox_alloc(x, sizeof(char *));
	Onnx__AttributeProto **at = ox_alloc(x, sizeof(*at) * MAXATTR);
	if (!n || !ins || !outs || !at)
		return NULL;
	Onnx__NodeProto init = ONNX__NODE_PROTO__INIT;
	*n = init;
	n->op_type = (char *)op;
	n->name = ox_strf(x, "%s", name);
	for (int i = 0; i < nin; i++)
		ins[i] = ox_strf(x, "%s", in[i]);
	outs[0] = ox_strf(x, "%s", out);
	n->input = ins, n->n_input = (size_t)nin;
	n->output = outs, n->n_output = 1;
	n->attribute = at;
	ox_push(x, (void ***)&x->nodes, &x->nnodes, &x->capnodes, n);
	return n;
}

static Onnx__AttributeProto *ox_attr(ox *x, Onnx__NodeProto *n, const char *name)
{
	if (!n || n->n_attribute >= MAXATTR)
		return (x->oom = 1), NULL;
	Onnx__AttributeProto *a = ox_alloc(x, sizeof *a);
	if (!a)
		return NULL;
	Onnx__AttributeProto init = ONNX__ATTRIBUTE_PROTO__INIT;
	*a = init;
	a->name = (char *)name;
	a->has_type = 1;
	n->attribute[n->n_attribute++] = a;
	return a;
}

static void ox_attr_int(ox *x, Onnx__NodeProto *n, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = ox_attr(x, n, name);
	if (a)
		a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, a->has_i = 1, a->i = v;
}

static void ox_attr_float(ox *x, Onnx__NodeProto *n, const char *name, float v)
{
	Onnx__AttributeProto *a = ox_attr(x, n, name);
	if (a)
		a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, a->has_f = 1, a->f = v;
}

static void ox_attr_ints(ox *x, Onnx__NodeProto *n, const char *name, int64_t a0, int64_t a1, int64_t a2,
			 int64_t a3, int cnt)
{
	Onnx__AttributeProto *a = ox_attr(x, n, name);
	int64_t *v = ox_alloc(x, sizeof(int64_t) * 4);
	if (!a || !v)
		return;
	v[0] = a0, v[1] = a1, v[2] = a2, v[3] = a3;
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
	a->ints = v, a->n_ints = (size_t)cnt;
}

static void ox_attr_intv(ox *x, Onnx__NodeProto *n, const char *name, const int64_t *iv, int cnt)
{
	Onnx__AttributeProto *a = ox_attr(x, n, name);
	int64_t *v = ox_alloc(x, sizeof(int64_t) * (size_t)cnt);
	if (!a || !v)
		return;
	memcpy(v, iv, sizeof(int64_t) * (size_t)cnt);
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
	a->ints = v, a->n_ints = (size_t)cnt;
}

/* An initializer; data (float32 or int64, ne elements) is copied. */
static char *ox_init(ox *x, const char *name, int type, const int64_t *dims, int nd, const void *data, size_t ne)
{
	Onnx__TensorProto *t = ox_alloc(x, sizeof *t);
	int64_t *d = ox_alloc(x, sizeof(int64_t) * (size_t)(nd > 0 ? nd : 1));
	size_t esz = type == ONNX_INT64 ? 8 : 4;
	uint8_t *raw = ox_alloc(x, ne * esz);
	char *nm = ox_strf(x, "%s", name);
	if (!t || !d || !raw || !nm)
		return NULL;
	Onnx__TensorProto init = ONNX__TENSOR_PROTO__INIT;
	*t = init;
	memcpy(d, dims, sizeof(int64_t) * (size_t)nd);
	t->dims = d, t->n_dims = (size_t)nd;
	t->has_data_type = 1, t->data_type = type;
	t->name = nm;
	if (ne)
		memcpy(raw, data, ne * esz); /* little-endian, as ONNX's raw_data */
	t->has_raw_data = 1, t->raw_data.len = ne * esz, t->raw_data.data = raw;
	ox_push(x, (void ***)&x->inits, &x->ninits, &x->capinits, t);
	return nm;
}

static Onnx__ValueInfoProto *ox_value(ox *x, const char *name, const int64_t *dims, int nd)
{
	Onnx__ValueInfoProto *v = ox_alloc(x, sizeof *v);
	Onnx__TypeProto *tp = ox_alloc(x, sizeof *tp);
	Onnx__TypeProto__Tensor *tt = ox_alloc(x, sizeof *tt);
	Onnx__TensorShapeProto *sh = ox_alloc(x, sizeof *sh);
	Onnx__TensorShapeProto__Dimension **dd = ox_alloc(x, sizeof(*dd) * (size_t)nd);
	if (!v || !tp || !tt || !sh || !dd)
		return NULL;
	Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
	Onnx__TypeProto ti = ONNX__TYPE_PROTO__INIT;
	Onnx__TypeProto__Tensor tti = ONNX__TYPE_PROTO__TENSOR__INIT;
	Onnx__TensorShapeProto si = ONNX__TENSOR_SHAPE_PROTO__INIT;
	*v = vi, *tp = ti, *tt = tti, *sh = si;
	for (int i = 0; i < nd; i++) {
		Onnx__TensorShapeProto__Dimension *e = ox_alloc(x, sizeof *e);
		if (!e)
			return NULL;
		Onnx__TensorShapeProto__Dimension ei = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
		*e = ei;
		if (dims[i] < 0) {
			e->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			e->dim_param = "N";
		} else {
			e->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			e->dim_value = dims[i];
		}
		dd[i] = e;
	}
	sh->dim = dd, sh->n_dim = (size_t)nd;
	tt->has_elem_type = 1, tt->elem_type = ONNX_FLOAT, tt->shape = sh;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, tp->tensor_type = tt;
	v->name = (char *)name, v->type = tp;
	return v;
}

static void ox_conv_attrs(ox *x, Onnx__NodeProto *n, int k, int s, int pad, int dil, int groups)
{
	ox_attr_ints(x, n, "kernel_shape", k, k, 0, 0, 2);
	ox_attr_ints(x, n, "strides", s, s, 0, 0, 2);
	ox_attr_ints(x, n, "pads", pad, pad, pad, pad, 4);
	if (dil)
		ox_attr_ints(x, n, "dilations", dil, dil, 0, 0, 2);
	if (groups)
		ox_attr_int(x, n, "group", groups);
}

/* names of node outputs: "logits" for a linear graph output, else op_id */
static const char *ox_tname(ox *x, const nn_graph *g, int id)
{
	if (id == g->output && g->nodes[id].op == NN_OP_LINEAR)
		return "logits";
	if (g->nodes[id].op == NN_OP_INPUT)
		return "input";
	return ox_strf(x, "%s_%d", nn_op_name(g->nodes[id].op), id);
}

static Onnx__StringStringEntryProto *ox_meta(ox *x, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static Onnx__StringStringEntryProto *ox_meta(ox *x, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	Onnx__StringStringEntryProto *e = ox_alloc(x, sizeof *e);
	if (!e)
		return NULL;
	Onnx__StringStringEntryProto init = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
	*e = init;
	e->key = (char *)key;
	e->value = ox_strf(x, "%s", buf);
	return e;
}

/* ONNX lists nodes in topological order. petri writes them in the order
 * the engine runs them: nodes in id order, each preceded by its inputs not
 * yet placed, depth first. g is planned, so it has no cycle. order and the
 * stacks have g->n entries each. */
static void run_order(const nn_graph *g, int *order, int *stk, int *next, unsigned char *placed)
{
	int k = 0;
	for (int r = 0; r < g->n; r++) {
		int sp = 0;
		if (!placed[r])
			stk[0] = r, next[0] = 0, sp = 1;
		while (sp) {
			const nn_node *d = &g->nodes[stk[sp - 1]];
			if (next[sp - 1] < d->nin) {
				int v = d->in[next[sp - 1]++];
				if (!placed[v])
					stk[sp] = v, next[sp] = 0, sp++;
				continue;
			}
			placed[stk[--sp]] = 1;
			order[k++] = stk[sp];
		}
	}
}

int nn_onnx_encode(const nn_model *m, char **out, size_t *outlen, char *err, size_t errlen)
{
	const nn_graph *g = &m->g;
	*out = NULL, *outlen = 0;
	nn_net *net = NULL;
	char e2[400];
	int rc = nn_model_to_net(m, 1, &net, e2, sizeof e2);
	if (rc) {
		nn_errf(err, errlen, "cannot plan the model: %s", e2);
		return rc;
	}
	ox X = { 0 }, *x = &X;
	const char **names = calloc((size_t)g->n, sizeof *names);
	int *order = malloc(sizeof(int) * 3 * (size_t)g->n);
	unsigned char *placed = calloc((size_t)g->n, 1);
	if (!names || !order || !placed) {
		free(names), free(order), free(placed);
		nn_net_free(net);
		return NN_ENOMEM;
	}
	run_order(g, order, order + g->n, order + 2 * g->n, placed);
	const float *P = nn_net_params(net), *S = nn_net_state(net);
	for (int i = 0; i < g->n && !x->oom; i++)
		names[i] = ox_tname(x, g, i);
	for (int oi = 0; oi < g->n && !x->oom; oi++) {
		int i = order[oi];
		const nn_node *d = &g->nodes[i];
		const nn_params *p = &d->p;
		const char *on = names[i];
		const char *in0 = d->nin ? names[d->in[0]] : NULL;
		nn_shape xs = d->nin ? nn_net_shape(net, d->in[0]) : (nn_shape){ 0, 0, 0, 0 };
		size_t po, pl, so, sl;
		nn_net_param_slice(net, i, &po, &pl);
		nn_net_state_slice(net, i, &so, &sl);
		const float *w = P + po;
		char nm[96];
		Onnx__NodeProto *n = NULL;
		switch (d->op) {
		case NN_OP_INPUT:
			break;
		case NN_OP_CONV: {
			int cig = xs.c / p->groups;
			int64_t wd[4] = { p->cout, cig, p->k, p->k };
			size_t nw = (size_t)p->cout * cig * p->k * p->k;
			const char *ins[3] = { in0, NULL, NULL };
			snprintf(nm, sizeof nm, "%s.weight", on);
			ins[1] = ox_init(x, nm, ONNX_FLOAT, wd, 4, w, nw);
			int nin = 2;
			if (!(d->flags & NN_F_NOBIAS)) {
				int64_t bd[1] = { p->cout };
				snprintf(nm, sizeof nm, "%s.bias", on);
				ins[nin++] = ox_init(x, nm, ONNX_FLOAT, bd, 1, w + nw, (size_t)p->cout);
			}
			n = ox_node(x, "Conv", on, ins, nin, on);
			ox_conv_attrs(x, n, p->k, p->stride, p->pad, p->dil, p->groups);
			break;
		}
		case NN_OP_BN: {
			int64_t cd[1] = { xs.c };
			const char *ins[5] = { in0 };
			const char *part[4] = { "scale", "bias", "mean", "var" };
			const float *src[4] = { w, w + xs.c, S + so, S + so + xs.c };
			for (int j = 0; j < 4; j++) {
				snprintf(nm, sizeof nm, "%s.%s", on, part[j]);
				ins[j + 1] = ox_init(x, nm, ONNX_FLOAT, cd, 1, src[j], (size_t)xs.c);
			}
			n = ox_node(x, "BatchNormalization", on, ins, 5, on);
			ox_attr_float(x, n, "epsilon", p->eps);
			ox_attr_float(x, n, "momentum", 1.0f - p->momentum);
			break;
		}
		case NN_OP_RELU:
			ox_node(x, "Relu", on, &in0, 1, on);
			break;
		case NN_OP_MAXPOOL: case NN_OP_AVGPOOL: {
			int pd[4];
			nn_pool_pads(p, pd);
			n = ox_node(x, d->op == NN_OP_MAXPOOL ? "MaxPool" : "AveragePool", on, &in0, 1, on);
			ox_attr_ints(x, n, "kernel_shape", p->k, p->k, 0, 0, 2);
			ox_attr_ints(x, n, "strides", p->stride, p->stride, 0, 0, 2);
			ox_attr_ints(x, n, "pads", pd[0], pd[1], pd[2], pd[3], 4);
			if (p->ceil_mode)
				ox_attr_int(x, n, "ceil_mode", 1);
			if (d->op == NN_OP_AVGPOOL) /* the mean over the in-bounds part, or the padded window */
				ox_attr_int(x, n, "count_include_pad", p->count_pad);
			break;
		}
		case NN_OP_PAD: { /* zeros: [n, c, top, left] before, [n, c, bottom, right] after */
			int64_t eight[1] = { 8 }, pv[8] = { 0, 0, p->pads[0], p->pads[1], 0, 0, p->pads[2], p->pads[3] };
			const char *ins[2] = { in0, NULL };
			snprintf(nm, sizeof nm, "%s.pads", on);
			ins[1] = ox_init(x, nm, ONNX_INT64, eight, 1, pv, 8);
			ox_node(x, "Pad", on, ins, 2, on);
			break;
		}
		case NN_OP_SHUFFLE: { /* [n, g, c/g, h, w], swap the two, [n, c, h, w]; 0: the free batch */
			int64_t five[1] = { 5 }, four[1] = { 4 }, perm[5] = { 0, 2, 1, 3, 4 };
			int64_t s5[5] = { 0, p->groups, xs.c / p->groups, xs.h, xs.w }, s4[4] = { 0, xs.c, xs.h, xs.w };
			char r5[96], tr[96];
			const char *ins[2] = { in0, NULL };
			snprintf(r5, sizeof r5, "%s.grouped", on);
			snprintf(tr, sizeof tr, "%s.swapped", on);
			snprintf(nm, sizeof nm, "%s.shape5", on);
			ins[1] = ox_init(x, nm, ONNX_INT64, five, 1, s5, 5);
			ox_node(x, "Reshape", r5, ins, 2, r5);
			n = ox_node(x, "Transpose", tr, (const char *const[]){ r5 }, 1, tr);
			ox_attr_intv(x, n, "perm", perm, 5);
			ins[0] = tr;
			snprintf(nm, sizeof nm, "%s.shape4", on);
			ins[1] = ox_init(x, nm, ONNX_INT64, four, 1, s4, 4);
			ox_node(x, "Reshape", on, ins, 2, on);
			break;
		}
		case NN_OP_SLICE: { /* x[:, start : start + cout] */
			int64_t one[1] = { 1 }, st[1] = { p->start }, en[1] = { p->start + p->cout }, ax[1] = { 1 };
			const char *ins[4] = { in0 };
			snprintf(nm, sizeof nm, "%s.starts", on);
			ins[1] = ox_init(x, nm, ONNX_INT64, one, 1, st, 1);
			snprintf(nm, sizeof nm, "%s.ends", on);
			ins[2] = ox_init(x, nm, ONNX_INT64, one, 1, en, 1);
			snprintf(nm, sizeof nm, "%s.axes", on);
			ins[3] = ox_init(x, nm, ONNX_INT64, one, 1, ax, 1);
			ox_node(x, "Slice", on, ins, 4, on);
			break;
		}
		case NN_OP_IDENTITY: case NN_OP_STOPGRAD:
			ox_node(x, "Identity", on, &in0, 1, on);
			break;
		case NN_OP_STOPFWD: { /* forward value 0 */
			int64_t one[1] = { 1 };
			float zero = 0;
			const char *ins[2] = { in0, NULL };
			snprintf(nm, sizeof nm, "%s.zero", on);
			ins[1] = ox_init(x, nm, ONNX_FLOAT, one, 1, &zero, 1);
			ox_node(x, "Mul", on, ins, 2, on);
			break;
		}
		case NN_OP_FACTRED: {
			/* y = concat(W1 x[2i,2j], W2 x[2i+1,2j+1]): a stride-2 1x1 conv
			 * of x, and of x shifted by one (Slice from 1, padded at the
			 * end so odd sizes give (h+1)/2 as petri does) */
			int half = p->cout / 2;
			int64_t wd[4] = { half, xs.c, 1, 1 };
			char a[96], b[96], shf[96];
			const char *ins[5];
			snprintf(nm, sizeof nm, "%s.w1", on);
			ins[0] = in0, ins[1] = ox_init(x, nm, ONNX_FLOAT, wd, 4, w, (size_t)half * xs.c);
			snprintf(a, sizeof a, "%s.even", on);
			n = ox_node(x, "Conv", a, ins, 2, a);
			ox_conv_attrs(x, n, 1, 2, 0, 0, 0);
			int64_t two[1] = { 2 }, st[2] = { 1, 1 }, en[2] = { INT64_MAX, INT64_MAX }, ax[2] = { 2, 3 };
			snprintf(shf, sizeof shf, "%s.shift", on);
			ins[0] = in0;
			snprintf(nm, sizeof nm, "%s.starts", on);
			ins[1] = ox_init(x, nm, ONNX_INT64, two, 1, st, 2);
			snprintf(nm, sizeof nm, "%s.ends", on);
			ins[2] = ox_init(x, nm, ONNX_INT64, two, 1, en, 2);
			snprintf(nm, sizeof nm, "%s.axes", on);
			ins[3] = ox_init(x, nm, ONNX_INT64, two, 1, ax, 2);
			ox_node(x, "Slice", shf, ins, 4, shf);
			snprintf(nm, sizeof nm, "%s.w2", on);
			ins[0] = shf, ins[1] = ox_init(x, nm, ONNX_FLOAT, wd, 4, w + (size_t)half * xs.c, (size_t)half * xs.c);
			snprintf(b, sizeof b, "%s.odd", on);
			n = ox_node(x, "Conv", b, ins, 2, b);
			ox_attr_ints(x, n, "kernel_shape", 1, 1, 0, 0, 2);
			ox_attr_ints(x, n, "strides", 2, 2, 0, 0, 2);
			ox_attr_ints(x, n, "pads", 0, 0, 1, 1, 4);
			const char *cat[2] = { a, b };
			n = ox_node(x, "Concat", on, cat, 2, on);
			ox_attr_int(x, n, "axis", 1);
			break;
		}
		case NN_OP_SUM: case NN_OP_CONCAT: {
			const char *ins[NN_MAXIN];
			for (int j = 0; j < d->nin; j++)
				ins[j] = names[d->in[j]];
			const char *op = d->op == NN_OP_CONCAT ? "Concat" : d->nin == 2 ? "Add" : "Sum";
			n = ox_node(x, op, on, ins, d->nin, on);
			if (d->op == NN_OP_CONCAT)
				ox_attr_int(x, n, "axis", 1);
			break;
		}
		case NN_OP_GATE: {
			int64_t one[1] = { 1 };
			const char *ins[2] = { in0, NULL };
			snprintf(nm, sizeof nm, "%s.gate", on);
			ins[1] = ox_init(x, nm, ONNX_FLOAT, one, 1, w, 1);
			ox_node(x, "Mul", on, ins, 2, on);
			break;
		}
		case NN_OP_GAP:
			ox_node(x, "GlobalAveragePool", on, &in0, 1, on);
			break;
		case NN_OP_CLIP: { /* bounds as scalar inputs (opset 11 on) */
			int64_t none[1] = { 0 };
			const char *ins[3] = { in0, NULL, NULL };
			snprintf(nm, sizeof nm, "%s.min", on);
			ins[1] = ox_init(x, nm, ONNX_FLOAT, none, 0, &p->alpha, 1);
			snprintf(nm, sizeof nm, "%s.max", on);
			ins[2] = ox_init(x, nm, ONNX_FLOAT, none, 0, &p->beta, 1);
			ox_node(x, "Clip", on, ins, 3, on);
			break;
		}
		case NN_OP_SIGMOID:
			ox_node(x, "Sigmoid", on, &in0, 1, on);
			break;
		case NN_OP_HSIGMOID:
			n = ox_node(x, "HardSigmoid", on, &in0, 1, on);
			ox_attr_float(x, n, "alpha", p->alpha);
			ox_attr_float(x, n, "beta", p->beta);
			break;
		case NN_OP_HSWISH: case NN_OP_SILU: {
			/* HardSwish needs opset 14: x * HardSigmoid(x) (slope 1/6,
			 * offset 1/2); silu: x * Sigmoid(x) */
			char a[96];
			const char *ins[2] = { in0, a };
			snprintf(a, sizeof a, "%s.gate", on);
			n = ox_node(x, d->op == NN_OP_SILU ? "Sigmoid" : "HardSigmoid", a, &in0, 1, a);
			if (d->op == NN_OP_HSWISH) {
				ox_attr_float(x, n, "alpha", 1.0f / 6);
				ox_attr_float(x, n, "beta", 0.5f);
			}
			ox_node(x, "Mul", on, ins, 2, on);
			break;
		}
		case NN_OP_MUL: { /* ONNX broadcasts [N, C, 1, 1] itself */
			const char *ins[2] = { in0, names[d->in[1]] };
			ox_node(x, "Mul", on, ins, 2, on);
			break;
		}
		case NN_OP_LINEAR: {
			size_t fan = (size_t)xs.c * xs.h * xs.w;
			char fl[96];
			snprintf(fl, sizeof fl, "%s.flat", on);
			n = ox_node(x, "Flatten", fl, &in0, 1, fl);
			ox_attr_int(x, n, "axis", 1);
			int64_t wd[2] = { p->cout, (int64_t)fan }, bd[1] = { p->cout };
			const char *ins[3] = { fl, NULL, NULL };
			snprintf(nm, sizeof nm, "%s.weight", on);
			ins[1] = ox_init(x, nm, ONNX_FLOAT, wd, 2, w, (size_t)p->cout * fan);
			int nin = 2;
			if (!(d->flags & NN_F_NOBIAS)) {
				snprintf(nm, sizeof nm, "%s.bias", on);
				ins[nin++] = ox_init(x, nm, ONNX_FLOAT, bd, 1, w + (size_t)p->cout * fan, (size_t)p->cout);
			}
			/* every tensor but the logits is 4-d: [N, cout] -> [N, cout, 1, 1] */
			char g2[96];
			snprintf(g2, sizeof g2, "%s.2d", on);
			int last = i == g->output;
			n = ox_node(x, "Gemm", last ? on : g2, ins, nin, last ? on : g2);
			ox_attr_int(x, n, "transB", 1);
			if (!last) {
				int64_t two[1] = { 2 }, ax[2] = { 2, 3 };
				ins[0] = g2;
				snprintf(nm, sizeof nm, "%s.axes", on);
				ins[1] = ox_init(x, nm, ONNX_INT64, two, 1, ax, 2);
				ox_node(x, "Unsqueeze", on, ins, 2, on);
			}
			break;
		}
		default:
			nn_errf(err, errlen, "node %d: op %d cannot be exported", i, d->op);
			rc = NN_EOP;
			goto done;
		}
	}
	{
		nn_shape os = nn_net_shape(net, g->output);
		const char *outname = names[g->output];
		if (g->nodes[g->output].op == NN_OP_INPUT || os.h != 1 || os.w != 1) {
			nn_errf(err, errlen, "output node %d is %dx%dx%d, not a vector of class scores", g->output, os.c,
				os.h, os.w);
			rc = NN_ESHAPE;
			goto done;
		}
		if (g->nodes[g->output].op != NN_OP_LINEAR) { /* [N, C, 1, 1] -> [N, C] */
			Onnx__NodeProto *f = ox_node(x, "Flatten", "logits", &outname, 1, "logits");
			ox_attr_int(x, f, "axis", 1);
			outname = "logits";
		}
		int64_t ind[4] = { -1, g->in.c, g->in.h, g->in.w }, outd[2] = { -1, os.c };
		Onnx__ValueInfoProto *vin = ox_value(x, "input", ind, 4);
		Onnx__ValueInfoProto *vout = ox_value(x, outname, outd, 2);
		Onnx__GraphProto *gr = ox_alloc(x, sizeof *gr);
		Onnx__ModelProto *mp = ox_alloc(x, sizeof *mp);
		Onnx__OperatorSetIdProto *os_ = ox_alloc(x, sizeof *os_);
		Onnx__ValueInfoProto **vins = ox_alloc(x, sizeof(*vins)), **vouts = ox_alloc(x, sizeof(*vouts));
		Onnx__OperatorSetIdProto **osl = ox_alloc(x, sizeof(*osl));
		Onnx__StringStringEntryProto **meta = ox_alloc(x, sizeof(*meta) * 16);
		if (x->oom || !vin || !vout || !gr || !mp || !os_ || !vins || !vouts || !osl || !meta) {
			rc = NN_ENOMEM;
			goto done;
		}
		Onnx__GraphProto gi = ONNX__GRAPH_PROTO__INIT;
		Onnx__ModelProto mi = ONNX__MODEL_PROTO__INIT;
		Onnx__OperatorSetIdProto oi = ONNX__OPERATOR_SET_ID_PROTO__INIT;
		*gr = gi, *mp = mi, *os_ = oi;
		os_->domain = "", os_->has_version = 1, os_->version = ONNX_OPSET;
		vins[0] = vin, vouts[0] = vout, osl[0] = os_;
		gr->name = "petri";
		gr->node = x->nodes, gr->n_node = x->nnodes;
		gr->initializer = x->inits, gr->n_initializer = x->ninits;
		gr->input = vins, gr->n_input = 1;
		gr->output = vouts, gr->n_output = 1;
		int nm = 0;
		double sc = m->lineage.input_scale;
		char scs[32];
		if (sc == NN_SCALE_IDX)
			meta[nm++] = ox_meta(x, "input", "NCHW float32 %dx%dx%d, pixels scaled to [0,1] (byte/255)",
					     g->in.c, g->in.h, g->in.w);
		else if (nn_scale_ok(sc))
			meta[nm++] = ox_meta(x, "input", "NCHW float32 %dx%dx%d, the data set's values times %s (input_scale)",
					     g->in.c, g->in.h, g->in.w, nn_scale_str(sc, scs, sizeof scs));
		else
			meta[nm++] = ox_meta(x, "input", "NCHW float32 %dx%dx%d, scale unknown (not recorded in the petri model)",
					     g->in.c, g->in.h, g->in.w);
		if (nn_scale_ok(sc))
			meta[nm++] = ox_meta(x, "input_scale", "%.17g", sc);
		meta[nm++] = ox_meta(x, "normalization", "none outside the graph: any normalization is inside it");
		meta[nm++] = ox_meta(x, "output", "logits: %d unnormalized class scores (softmax gives probabilities)",
				     os.c);
		meta[nm++] = ox_meta(x, "classes", "%d", os.c);
		if (m->lineage.id[0])
			meta[nm++] = ox_meta(x, "petri.id", "%s", m->lineage.id);
		if (m->lineage.parent[0])
			meta[nm++] = ox_meta(x, "petri.parent", "%s", m->lineage.parent);
		if (m->data[0])
			meta[nm++] = ox_meta(x, "petri.data", "%s", m->data);
		if (m->metrics.epochs > 0) {
			meta[nm++] = ox_meta(x, "petri.val_acc", "%.6f", m->metrics.val_acc);
			meta[nm++] = ox_meta(x, "petri.test_acc", "%.6f", m->metrics.test_acc);
		}
		meta[nm++] = ox_meta(x, "petri.macs", "%llu", (unsigned long long)m->cost.macs);
		meta[nm++] = ox_meta(x, "petri.params", "%llu", (unsigned long long)m->cost.params);
		for (int j = 0; j < nm; j++)
			if (!meta[j]) {
				rc = NN_ENOMEM;
				goto done;
			}
		mp->has_ir_version = 1, mp->ir_version = ONNX_IR;
		mp->producer_name = "petri";
		mp->producer_version = "1";
		mp->opset_import = osl, mp->n_opset_import = 1;
		mp->graph = gr;
		mp->metadata_props = meta, mp->n_metadata_props = (size_t)nm;
		size_t len = onnx__model_proto__get_packed_size(mp);
		char *buf = malloc(len ? len : 1);
		if (!buf) {
			rc = NN_ENOMEM;
			goto done;
		}
		onnx__model_proto__pack(mp, (uint8_t *)buf);
		*out = buf, *outlen = len;
	}
done:
	if (!rc && x->oom)
		rc = NN_ENOMEM;
	ox_free(x);
	free(names), free(order), free(placed);
	nn_net_free(net);
	return rc;
}
