/* onnx_import.c - ONNX models to petri models.
 *
 * Convention, as for export: the input is NCHW float32, a data set's values
 * times the input scale the metadata's "input_scale" names (unknown when it
 * is absent, as in files other tools write), the output the logits. Import
 * reads the ops of petri's own exports and of what torch.onnx.export writes
 * for such conv nets (torchvision's ResNet, MobileNet V2 and V3,
 * EfficientNet, ShuffleNet, SqueezeNet, RegNet and DenseNet among them):
 * Conv, BatchNormalization, Relu, Clip (to [0, inf): a ReLU), Sigmoid,
 * HardSigmoid, HardSwish, MaxPool, AveragePool (asymmetric pads, ceil_mode,
 * count_include_pad), GlobalAveragePool, ReduceMean over H and W, Add, Sum,
 * Concat, Mul (by a scalar: a gate; of two tensors, one possibly broadcast
 * over H and W; x * Sigmoid(x): a SiLU; x * HardSigmoid(x): a hard swish),
 * Gemm, MatMul (+ Add of a bias), Flatten, Reshape, the channel shuffle
 * (Reshape [n, g, c/g, h, w] -> Transpose [0, 2, 1, 3, 4] -> Reshape
 * [n, c, h, w]), Slice and Split along the channels (torch.chunk), Pad with
 * zeros, Identity, Dropout, Constant, and a Softmax or LogSoftmax at the
 * output (dropped: petri's outputs are logits). Shape arithmetic (Shape,
 * Gather, Unsqueeze, Squeeze, Concat, Cast, Add, Sub, Mul, Div of sizes,
 * as x.size() exports without constant folding) is evaluated at import on
 * the shapes planned so far; only the batch size stays a symbol. Each op
 * has a handler in the table imp_ops; anything else is refused with the
 * node's name and op.
 *
 * The imported graph has no growth roles: where to grow in it is search
 * policy (grow_mark in grow/).
 */
#include "onnx_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* V_SHIFT: x[:, :, 1:, 1:] (a Slice); V_ODD: a stride-2 1x1 conv of one:
 * the second half of an exported factorized reduction, joined at its Concat.
 * V_GROUP: node id's tensor viewed as [n, g, c/g, h, w] (a Reshape), and
 * V_GROUPT that view transposed to [n, c/g, g, h, w]: the halves of a
 * channel shuffle, whose last Reshape back to [n, c, h, w] makes the
 * shuffle node (g in cout) */
enum { V_NODE = 1, V_CONST, V_SHAPE, V_SHIFT, V_ODD, V_GROUP, V_GROUPT };
#define SV_BATCH INT64_MIN
#define SV_UNKNOWN (INT64_MIN + 1)
#define SV_HUGE ((int64_t)1 << 62) /* constants are clamped to +-SV_HUGE */
#define NN_MAX_PAD_IMPORT 4096 /* the pad op's limit per side */

/* a named value of the ONNX graph */
typedef struct {
	const char *name;
	int kind;
	int id, rank;                 /* V_NODE: petri node and ONNX rank (2 or 4) */
	const Onnx__TensorProto *t;   /* V_CONST */
	int64_t *sv;                  /* V_SHAPE: a small int64 vector, known or */
	int svn;                      /* SV_BATCH / SV_UNKNOWN entries; */
	int srows;                    /* > 0: a matrix of srows rows (row-major) */
	float *fw;                    /* V_ODD: weights [cout, cin] */
	size_t fwn;
	int cout;
} val;

typedef struct {
	const Onnx__ModelProto *mp;
	val *v;
	size_t nv, capv;
	int *slot;                    /* hash table of value indices, -1 empty */
	size_t nslot;
	nn_graph g;
	/* per petri node: weights and BN state read from the file, the ONNX
	 * node it came from, and shape conditions checked after planning */
	float **w, **s;
	size_t *wn, *sn;
	int *src;                     /* ONNX node index, -1 for the input */
	int64_t *flat;                /* required flattened size, 0 = none */
	unsigned char *vec1;          /* must be 1x1 spatially */
	unsigned char *open_bias;     /* linear from MatMul: a following Add sets the bias */
	int capn;
	nn_shape *shp;                /* shapes of nodes [0, nshp), planned when asked for */
	int nshp;
	int64_t batch;                /* the input's fixed batch size, 0 when free */
	char *err;
	size_t errlen;
} imp;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static val *find(imp *m, const char *name)
{
	if (!name || !m->nslot)
		return NULL;
	for (size_t i = hash_str(name) & (m->nslot - 1);; i = (i + 1) & (m->nslot - 1)) {
		if (m->slot[i] < 0)
			return NULL;
		if (!strcmp(m->v[m->slot[i]].name, name))
			return &m->v[m->slot[i]];
	}
}

/* define name (later definitions of the same name replace earlier ones) */
static val *define(imp *m, const char *name, int kind)
{
	if (!name)
		return NULL;
	val *old = find(m, name);
	if (old) {
		free(old->sv);
		free(old->fw);
		memset(old, 0, sizeof *old);
		old->name = name, old->kind = kind;
		return old;
	}
	if (m->nv == m->capv || 2 * (m->nv + 1) > m->nslot) {
		size_t cv = m->capv ? 2 * m->capv : 64;
		val *q = realloc(m->v, cv * sizeof *q);
		if (!q)
			return NULL;
		m->v = q, m->capv = cv;
		size_t ns = 2 * cv;
		int *sl = malloc(ns * sizeof *sl);
		if (!sl)
			return NULL;
		for (size_t i = 0; i < ns; i++)
			sl[i] = -1;
		for (size_t j = 0; j < m->nv; j++) {
			size_t i = hash_str(m->v[j].name) & (ns - 1);
			while (sl[i] >= 0)
				i = (i + 1) & (ns - 1);
			sl[i] = (int)j;
		}
		free(m->slot);
		m->slot = sl, m->nslot = ns;
	}
	size_t i = hash_str(name) & (m->nslot - 1);
	while (m->slot[i] >= 0)
		i = (i + 1) & (m->nslot - 1);
	m->slot[i] = (int)m->nv;
	val *v = &m->v[m->nv++];
	memset(v, 0, sizeof *v);
	v->name = name, v->kind = kind;
	return v;
}

static const char *node_name(const Onnx__NodeProto *n, char *buf, size_t len, int idx)
{
	if (n->name && n->name[0])
		return n->name;
	snprintf(buf, len, "#%d", idx);
	return buf;
}

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name)
{
	for (size_t i = 0; i < n->n_attribute; i++)
		if (n->attribute[i] && n->attribute[i]->name && !strcmp(n->attribute[i]->name, name))
			return n->attribute[i];
	return NULL;
}

static int64_t attr_i(const Onnx__NodeProto *n, const char *name, int64_t def)
{
	const Onnx__AttributeProto *a = attr(n, name);
	return a && a->has_i ? a->i : def;
}

static float attr_f(const Onnx__NodeProto *n, const char *name, float def)
{
	const Onnx__AttributeProto *a = attr(n, name);
	return a && a->has_f ? a->f : def;
}

/* number of elements of a tensor, -1 when a dimension is negative or the
 * count exceeds 2^31 */
static int64_t numel(const Onnx__TensorProto *t)
{
	int64_t ne = 1;
	for (size_t i = 0; i < t->n_dims; i++) {
		if (t->dims[i] < 0 || t->dims[i] > (1ll << 31))
			return -1;
		ne *= t->dims[i];
		if (ne > (1ll << 31))
			return -1;
	}
	return ne;
}

static int tensor_ok(imp *m, const Onnx__TensorProto *t, int type, int64_t *ne)
{
	const char *nm = t->name ? t->name : "?";
	if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
		nn_errf(m->err, m->errlen, "tensor '%.100s' keeps its data in an external file, which petri does not "
			"read: save the model with its weights inside the .onnx file", nm);
		return NN_EFORMAT;
	}
	if (t->data_type != type) {
		nn_errf(m->err, m->errlen, "tensor '%.100s' has ONNX data type %d; petri reads %s here", nm,
			(int)t->data_type, type == ONNX_FLOAT ? "float32 (1)" : "int64 (7)");
		return NN_EFORMAT;
	}
	*ne = numel(t);
	size_t esz = type == ONNX_FLOAT ? 4 : 8;
	size_t have = t->has_raw_data ? t->raw_data.len / esz : type == ONNX_FLOAT ? t->n_float_data : t->n_int64_data;
	if (*ne < 0 || (t->has_raw_data && t->raw_data.len % esz) || have != (size_t)*ne) {
		nn_errf(m->err, m->errlen, "tensor '%.100s': %zu values stored for %lld elements", nm, have,
			(long long)*ne);
		return NN_EFORMAT;
	}
	return 0;
}

/* the values of a constant tensor of type (float32 or int64), malloc'd;
 * NULL on error */
static void *tensor_values(imp *m, const Onnx__TensorProto *t, int type, int64_t *ne)
{
	if (tensor_ok(m, t, type, ne))
		return NULL;
	size_t esz = type == ONNX_INT64 ? 8 : 4;
	void *v = malloc(esz * (size_t)(*ne > 0 ? *ne : 1));
	if (!v) {
		nn_errf(m->err, m->errlen, "out of memory reading tensor '%.100s'", t->name ? t->name : "?");
		return NULL;
	}
	if (*ne > 0)
		memcpy(v, t->has_raw_data ? (const void *)t->raw_data.data
					  : type == ONNX_INT64 ? (const void *)t->int64_data : (const void *)t->float_data,
		       esz * (size_t)*ne);
	return v;
}

static float *tensor_floats(imp *m, const Onnx__TensorProto *t, int64_t *ne)
{
	return tensor_values(m, t, ONNX_FLOAT, ne);
}

static int64_t *tensor_ints(imp *m, const Onnx__TensorProto *t, int64_t *ne)
{
	return tensor_values(m, t, ONNX_INT64, ne);
}

/* a weight and an optional bias (B may be NULL: *b NULL, *nb 0) */
static int weight_bias(imp *m, const val *W, const val *B, float **w, int64_t *nw, float **b, int64_t *nb)
{
	*b = NULL, *nb = 0;
	if (!(*w = tensor_floats(m, W->t, nw)))
		return NN_EFORMAT;
	if (B && !(*b = tensor_floats(m, B->t, nb))) {
		free(*w);
		return NN_EFORMAT;
	}
	return 0;
}

/* room for petri node id in the per-node arrays */
static int grow_arrays(imp *m, int id)
{
	if (id < m->capn)
		return 0;
	int c = m->capn ? 2 * m->capn : 64;
	while (c <= id)
		c *= 2;
#define GROW(a) do { void *q_ = realloc(m->a, (size_t)c * sizeof *m->a); if (!q_) return NN_ENOMEM; m->a = q_; \
		memset(m->a + m->capn, 0, (size_t)(c - m->capn) * sizeof *m->a); } while (0)
	GROW(w); GROW(s); GROW(wn); GROW(sn); GROW(src); GROW(flat); GROW(vec1); GROW(open_bias);
#undef GROW
	m->capn = c;
	return 0;
}

/* append a petri node made from ONNX node idx */
static int add(imp *m, int op, const int *in, int nin, nn_params p, int flags, int idx)
{
	int id = nn_add(&m->g, op, in, nin, p);
	if (id < 0 || grow_arrays(m, id)) {
		nn_errf(m->err, m->errlen, "out of memory building the graph");
		return NN_ENOMEM;
	}
	m->g.nodes[id].flags = flags;
	m->src[id] = idx;
	return id;
}

static nn_params p0(void)
{
	nn_params p;
	memset(&p, 0, sizeof p);
	p.dil = 1, p.groups = 1, p.stride = 1;
	return p;
}

/* the shape (batch 1) of petri node id, planned on the graph so far; the
 * nodes only grow, so the shapes of earlier ones stay valid */
static int shape_of(imp *m, int id, nn_shape *out)
{
	if (id >= m->nshp) {
		nn_graph g = m->g;
		char e[300] = "";
		nn_shape *sh = realloc(m->shp, sizeof *sh * (size_t)(g.n > 0 ? g.n : 1));
		if (!sh)
			return NN_ENOMEM;
		m->shp = sh;
		g.classes = NN_CLASSES_NONE, g.output = id;
		int rc = nn_graph_shapes(&g, sh, e, sizeof e);
		if (rc) {
			nn_errf(m->err, m->errlen, "shapes do not fit: %s", e);
			return rc;
		}
		m->nshp = g.n;
	}
	*out = m->shp[id];
	return 0;
}

/* an ONNX node being imported */
typedef struct {
	const Onnx__NodeProto *n;
	int idx;                 /* its index in the graph */
	const char *name, *op;   /* its name (or "#idx") and op, for messages */
	val *x;                  /* input 0 when it is a tensor of the network */
	const char *graph_out;   /* the graph's output name */
} onode;

/* error for node c: "node 'name' (Op): ..."; returns NN_EFORMAT */
static int node_err(imp *m, const onode *c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int node_err(imp *m, const onode *c, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	nn_errf(m->err, m->errlen, "node '%.100s' (%.40s): %s", c->name, c->op, msg);
	return NN_EFORMAT;
}
#define NERR(...) return node_err(m, c, __VA_ARGS__)

/* input j of n as a node value (rank 4 when want4) */
static val *in_node(imp *m, const Onnx__NodeProto *n, size_t j)
{
	if (j >= n->n_input || !n->input[j] || !n->input[j][0])
		return NULL;
	val *v = find(m, n->input[j]);
	return v && v->kind == V_NODE ? v : NULL;
}

/* kind of input j of n, 0 when absent */
static int kind_of(imp *m, const Onnx__NodeProto *n, size_t j)
{
	val *v = j < n->n_input && n->input[j] ? find(m, n->input[j]) : NULL;
	return v ? v->kind : 0;
}

static val *in_const(imp *m, const Onnx__NodeProto *n, size_t j)
{
	if (j >= n->n_input || !n->input[j] || !n->input[j][0])
		return NULL;
	val *v = find(m, n->input[j]);
	return v && v->kind == V_CONST ? v : NULL;
}

/* square kernel, equal strides, pads (top, left, bottom, right), dilation:
 * conv and pools */
static int geom(imp *m, const onode *c, int kdef, int *k, int *s, int pd[4], int *dil)
{
	const Onnx__NodeProto *n = c->n;
	const Onnx__AttributeProto *a;
	*k = kdef, *s = 1, *dil = 1;
	pd[0] = pd[1] = pd[2] = pd[3] = 0;
	if ((a = attr(n, "kernel_shape"))) {
		if (a->n_ints != 2 || a->ints[0] != a->ints[1] || a->ints[0] < 1 || a->ints[0] > 64)
			NERR("kernel_shape must be square, 1..64 (petri has no %zu-d or rectangular kernels)", a->n_ints);
		if (kdef > 0 && a->ints[0] != kdef)
			NERR("kernel_shape %lld disagrees with the weight's %d", (long long)a->ints[0], kdef);
		*k = (int)a->ints[0];
	}
	if (*k < 1)
		NERR("no kernel_shape");
	if ((a = attr(n, "strides"))) {
		if (a->n_ints != 2 || a->ints[0] != a->ints[1] || a->ints[0] < 1 || a->ints[0] > 64)
			NERR("strides must be equal in H and W, 1..64");
		*s = (int)a->ints[0];
	}
	if ((a = attr(n, "dilations"))) {
		if (a->n_ints != 2 || a->ints[0] != a->ints[1] || a->ints[0] < 1 || a->ints[0] > 64)
			NERR("dilations must be equal in H and W, 1..64");
		*dil = (int)a->ints[0];
	}
	if ((a = attr(n, "pads"))) {
		if (a->n_ints != 4)
			NERR("pads must have 4 values (top, left, bottom, right)");
		for (int j = 0; j < 4; j++) {
			if (a->ints[j] < 0 || a->ints[j] > 64)
				NERR("pads must be 0..64");
			pd[j] = (int)a->ints[j];
		}
	}
	if ((a = attr(n, "auto_pad")) && a->has_s && a->s.len) {
		const char *ap = (const char *)a->s.data;
		size_t l = a->s.len;
		if (l == 5 && !memcmp(ap, "VALID", 5))
			pd[0] = pd[1] = pd[2] = pd[3] = 0;
		else if ((l == 10 && !memcmp(ap, "SAME_UPPER", 10)) || (l == 10 && !memcmp(ap, "SAME_LOWER", 10))) {
			if (*s != 1 || ((*k - 1) * *dil) % 2)
				NERR("auto_pad SAME needs asymmetric padding here; export with explicit pads");
			pd[0] = pd[1] = pd[2] = pd[3] = (*k - 1) * *dil / 2;
		} else if (!(l == 6 && !memcmp(ap, "NOTSET", 6)))
			NERR("unknown auto_pad");
	}
	return 0;
}

static int symmetric(const int pd[4]) { return pd[0] == pd[1] && pd[0] == pd[2] && pd[0] == pd[3]; }

static int take_weights(imp *m, int id, float *w, size_t wn, float *s, size_t sn)
{
	m->w[id] = w, m->wn[id] = wn, m->s[id] = s, m->sn[id] = sn;
	return id;
}

static int def_node(imp *m, const Onnx__NodeProto *n, int id, int rank)
{
	if (n->n_output < 1 || !n->output[0])
		return NN_EFORMAT;
	val *v = define(m, n->output[0], V_NODE);
	if (!v) {
		nn_errf(m->err, m->errlen, "out of memory");
		return NN_ENOMEM;
	}
	v->id = id, v->rank = rank;
	return 0;
}

static int alias(imp *m, const Onnx__NodeProto *n, const val *src)
{
	if (n->n_output < 1 || !n->output[0])
		return NN_EFORMAT;
	val cp = *src;
	val *v = define(m, n->output[0], src->kind);
	if (!v)
		return NN_ENOMEM;
	v->id = cp.id, v->rank = cp.rank, v->t = cp.t, v->cout = cp.kind == V_ODD ? 0 : cp.cout;
	if (cp.kind == V_SHAPE) {
		v->sv = malloc(sizeof(int64_t) * (size_t)(cp.svn ? cp.svn : 1));
		if (!v->sv)
			return NN_ENOMEM;
		if (cp.svn)
			memcpy(v->sv, cp.sv, sizeof(int64_t) * (size_t)cp.svn);
		v->svn = cp.svn, v->srows = cp.srows;
	}
	return 0;
}

/* an int64 vector from a constant or a shape value; malloc'd */
static int int_vector(imp *m, const val *v, int64_t **out, int *n)
{
	if (v->kind == V_SHAPE) {
		*out = malloc(sizeof(int64_t) * (size_t)(v->svn ? v->svn : 1));
		if (!*out)
			return NN_ENOMEM;
		if (v->svn)
			memcpy(*out, v->sv, sizeof(int64_t) * (size_t)v->svn);
		*n = v->svn;
		return 0;
	}
	int64_t ne;
	if (v->kind != V_CONST || !(*out = tensor_ints(m, v->t, &ne)))
		return NN_EFORMAT;
	if (ne > 64) {
		free(*out);
		return NN_EFORMAT;
	}
	*n = (int)ne;
	/* "past the end" stays that, and never reads as SV_BATCH or SV_UNKNOWN */
	for (int j = 0; j < *n; j++)
		(*out)[j] = (*out)[j] < -SV_HUGE ? -SV_HUGE : (*out)[j] > SV_HUGE ? SV_HUGE : (*out)[j];
	return 0;
}

static int def_shape(imp *m, const Onnx__NodeProto *n, int64_t *sv, int svn)
{
	val *v = n->n_output >= 1 && n->output[0] ? define(m, n->output[0], V_SHAPE) : NULL;
	if (!v) {
		free(sv);
		return NN_ENOMEM;
	}
	v->sv = sv, v->svn = svn;
	return 0;
}

static int is(const char *op, const char *name) { return !strcmp(op, name); }

/* ---- op handlers: one per ONNX op (or family), in the table below ----
 * A handler reads ONNX node c->n and defines its outputs: petri nodes,
 * or values that later nodes consume (constants, shape vectors, the halves
 * of an exported factorized reduction). */

/* Constant: a tensor, or integers (a shape vector) */
static int imp_constant(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	const Onnx__AttributeProto *a;
	if ((a = attr(n, "value")) && a->t) {
		val *v = define(m, n->output[0], V_CONST);
		if (!v)
			return NN_ENOMEM;
		v->t = a->t;
		return 0;
	}
	if ((a = attr(n, "value_ints")) || (a = attr(n, "value_int"))) {
		int cnt = !strcmp(a->name, "value_int") ? 1 : (int)a->n_ints;
		if (cnt > 64)
			NERR("more than 64 integers");
		int64_t *sv = malloc(sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
		if (!sv)
			return NN_ENOMEM;
		if (!strcmp(a->name, "value_int"))
			sv[0] = a->i;
		else if (cnt)
			memcpy(sv, a->ints, sizeof(int64_t) * (size_t)cnt);
		for (int j = 0; j < cnt; j++)
			sv[j] = sv[j] < -SV_HUGE ? -SV_HUGE : sv[j] > SV_HUGE ? SV_HUGE : sv[j];
		return def_shape(m, n, sv, cnt);
	}
	NERR("only tensor and integer constants are supported");
}

/* Identity, Dropout (inference), Cast of a shape vector: the input again */
static int imp_alias(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *v = n->n_input ? find(m, n->input[0]) : NULL;
	if (!v)
		NERR("needs an input");
	if (is(c->op, "Cast") && v->kind != V_SHAPE)
		NERR("Cast is supported only on shape values");
	return alias(m, n, v);
}

/* Shape of a network tensor: [batch, c, h, w], or [batch, c h w] when
 * flattened (the batch size stays a symbol); opset 15's start and end
 * take a part */
static int imp_shape(imp *m, const onode *c)
{
	if (!c->x)
		NERR("input is not a tensor of the network");
	nn_shape sh;
	int rc = shape_of(m, c->x->id, &sh), r = c->x->rank;
	if (rc)
		return rc;
	int64_t full[4] = { SV_BATCH, sh.c, sh.h, sh.w };
	if (r == 2)
		full[1] = (int64_t)sh.c * sh.h * sh.w;
	int64_t st = attr_i(c->n, "start", 0), en = attr_i(c->n, "end", r);
	st = st < 0 ? st + r : st, en = en < 0 ? en + r : en;
	st = st < 0 ? 0 : st > r ? r : st, en = en < 0 ? 0 : en > r ? r : en;
	int cnt = en > st ? (int)(en - st) : 0;
	int64_t *sv = malloc(sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
	if (!sv)
		return NN_ENOMEM;
	if (cnt)
		memcpy(sv, full + st, sizeof(int64_t) * (size_t)cnt);
	return def_shape(m, c->n, sv, cnt);
}

/* rows of a shape value or int64 constant: 0 for a vector, else the
 * rows of a matrix */
static int rows_of(const val *v)
{
	if (v->kind == V_SHAPE)
		return v->srows;
	return v->kind == V_CONST && v->t->n_dims == 2 ? (int)v->t->dims[0] : 0;
}

static int def_matrix(imp *m, const Onnx__NodeProto *n, int64_t *sv, int svn, int rows)
{
	int rc = def_shape(m, n, sv, svn);
	if (!rc)
		find(m, n->output[0])->srows = rows;
	return rc;
}

/* ConstantOfShape of a known shape of at most 2 dims and 64 values: a
 * shape value (F.pad builds its pads with one) */
static int imp_constant_of_shape(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *sv = n->n_input ? find(m, n->input[0]) : NULL;
	const Onnx__AttributeProto *a = attr(n, "value");
	int64_t *d = NULL, fill = 0, ne = 1;
	int dn = 0;
	if (!sv || sv->kind == V_NODE || int_vector(m, sv, &d, &dn) || dn < 1 || dn > 2) {
		free(d);
		NERR("supported only on a known shape of 1 or 2 dims");
	}
	for (int j = 0; j < dn; j++)
		ne = d[j] < 0 || d[j] > 64 ? 65 : ne * d[j];
	int rows = dn == 2 ? (int)d[0] : 0;
	free(d);
	if (ne > 64)
		NERR("more than 64 values");
	if (a && a->t) {
		int64_t cnt;
		void *fv = tensor_values(m, a->t, a->t->data_type == ONNX_INT64 ? ONNX_INT64 : ONNX_FLOAT, &cnt);
		if (!fv || cnt != 1) {
			free(fv);
			NERR("value must be one int64 or float32");
		}
		if (a->t->data_type == ONNX_INT64) {
			fill = *(int64_t *)fv;
		} else {
			float f = *(float *)fv;
			if (!(f > -1e18f && f < 1e18f)) { /* NaN, inf, or no int64 */
				free(fv);
				NERR("value %g is not a size", (double)f);
			}
			fill = (int64_t)f;
		}
		free(fv);
		/* never the batch or unknown symbols */
		fill = fill < -SV_HUGE ? -SV_HUGE : fill > SV_HUGE ? SV_HUGE : fill;
	}
	int64_t *out = malloc(sizeof(int64_t) * (size_t)(ne ? ne : 1));
	if (!out)
		return NN_ENOMEM;
	for (int64_t j = 0; j < ne; j++)
		out[j] = fill;
	return def_matrix(m, n, out, (int)ne, rows);
}

/* Reshape, Slice (axis 0, any step) and Transpose of shape values: the
 * arithmetic F.pad exports for its pads (reshaped to [-1, 2], rows
 * reversed, transposed, flattened) */
static int imp_shape_layout(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *xv = find(m, n->input[0]);
	int64_t *x = NULL, *a[4] = { 0 }, *out = NULL;
	int xn = 0, an[4] = { 0 }, rows = rows_of(xv), rc = 0, orows = 0, on = 0;
	if (int_vector(m, xv, &x, &xn))
		NERR("supported on int64 shape values of at most 64 entries");
	if (rows < 0 || rows > xn || (rows && xn % rows)) {
		free(x);
		NERR("a matrix of shape values with %d rows and %d entries", rows, xn);
	}
	int cols = rows > 0 ? xn / rows : xn, r = rows > 0 ? rows : 1;
	for (size_t j = 1; j < n->n_input && j < 5; j++) {
		val *v = n->input[j][0] ? find(m, n->input[j]) : NULL;
		if (v && int_vector(m, v, &a[j - 1], &an[j - 1]))
			rc = -1;
	}
	if (!rc && !(out = malloc(sizeof(int64_t) * (size_t)(xn ? xn : 1))))
		rc = NN_ENOMEM;
	if (!rc && is(c->op, "Reshape")) { /* to [-1], [k] or [r, k] */
		int64_t t0 = an[0] >= 1 ? a[0][0] : -2, t1 = an[0] == 2 ? a[0][1] : 0;
		if (an[0] == 1 && (t0 == -1 || t0 == xn))
			orows = 0;
		else if (an[0] == 2 && t1 > 0 && xn % t1 == 0 && (t0 == -1 || (t0 >= 0 && t0 <= xn && t0 * t1 == xn)))
			orows = (int)(xn / t1);
		else if (an[0] == 2 && t0 > 0 && xn % t0 == 0 && t1 == -1)
			orows = (int)t0;
		else
			rc = -1;
		if (!rc)
			memcpy(out, x, sizeof(int64_t) * (size_t)xn), on = xn;
	} else if (!rc && is(c->op, "Slice")) { /* along axis 0: elements, or rows */
		int64_t ax = an[2] ? a[2][0] : 0, sp = an[3] ? a[3][0] : 1, d = r > 1 || rows > 0 ? r : xn;
		int64_t st = an[0] == 1 ? a[0][0] : 0, en = an[1] == 1 ? a[1][0] : 0;
		if (an[0] != 1 || an[1] != 1 || ax != 0 || sp == 0 || an[2] > 1 || an[3] > 1 || st <= SV_UNKNOWN ||
		    en <= SV_UNKNOWN)
			rc = -1;
		st = st < 0 ? st + d : st, en = en < 0 ? en + d : en;
		if (sp > 0)
			st = st < 0 ? 0 : st > d ? d : st, en = en < 0 ? 0 : en > d ? d : en;
		else
			st = st < 0 ? 0 : st > d - 1 ? d - 1 : st, en = en < -1 ? -1 : en > d - 1 ? d - 1 : en;
		int w = rows > 0 ? cols : 1;
		for (int64_t i = st; !rc && d > 0 && (sp > 0 ? i < en : i > en); i += sp, orows++)
			for (int k = 0; k < w; k++)
				out[on++] = x[i * w + k];
		orows = rows > 0 ? orows : 0;
	} else if (!rc) { /* Transpose [1, 0] of a matrix */
		const Onnx__AttributeProto *pa = attr(n, "perm");
		if (rows > 0 && (!pa || (pa->n_ints == 2 && pa->ints[0] == 1 && pa->ints[1] == 0))) {
			for (int k = 0; k < cols; k++)
				for (int i = 0; i < rows; i++)
					out[on++] = x[i * cols + k];
			orows = cols;
		} else if (rows == 0 && (!pa || (pa->n_ints == 1 && pa->ints[0] == 0))) {
			memcpy(out, x, sizeof(int64_t) * (size_t)xn), on = xn;
		} else
			rc = -1;
	}
	free(x);
	for (int j = 0; j < 4; j++)
		free(a[j]);
	if (rc) {
		free(out);
		if (rc == NN_ENOMEM)
			return rc;
		NERR("this %s of shape values is not supported", c->op);
	}
	return def_matrix(m, n, out, on, orows);
}

/* Add, Sub, Mul, Div of shape values (the sizes that x.size() gives, as a
 * channel shuffle or torch.chunk computes them): evaluated at import; a
 * result that depends on the batch size is unknown (a Reshape or Slice
 * that needs it is refused) */
static int imp_arith(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *va = n->n_input == 2 ? find(m, n->input[0]) : NULL, *vb = n->n_input == 2 ? find(m, n->input[1]) : NULL;
	int64_t *a = NULL, *b = NULL, *r = NULL;
	int na = 0, nb = 0, bad = 0;
	if (!va || !vb || int_vector(m, va, &a, &na) || int_vector(m, vb, &b, &nb))
		bad = 1;
	else if ((na != nb && na != 1 && nb != 1) || !na || !nb)
		bad = 2;
	int nr = na > nb ? na : nb;
	if (!bad && !(r = malloc(sizeof(int64_t) * (size_t)nr)))
		bad = 3;
	for (int j = 0; !bad && j < nr; j++) {
		int64_t x = a[na == 1 ? 0 : j], y = b[nb == 1 ? 0 : j];
		const int64_t lim = (int64_t)1 << 31; /* products stay in int64 */
		if (x <= SV_UNKNOWN || y <= SV_UNKNOWN || x > lim || x < -lim || y > lim || y < -lim)
			r[j] = SV_UNKNOWN;
		else if (is(c->op, "Add"))
			r[j] = x + y;
		else if (is(c->op, "Sub"))
			r[j] = x - y;
		else if (is(c->op, "Mul"))
			r[j] = x * y;
		else if (y == 0)
			bad = 4;
		else
			r[j] = x / y; /* integer Div truncates */
	}
	free(a), free(b);
	if (bad)
		free(r);
	if (bad == 1)
		NERR("supported on tensors of the network, or on int64 shape values");
	if (bad == 2)
		NERR("shape values of %d and %d entries do not broadcast", na, nb);
	if (bad == 3)
		return NN_ENOMEM;
	if (bad == 4)
		NERR("divides a shape value by 0");
	return def_shape(m, n, r, nr);
}

/* Gather, Squeeze, Unsqueeze of shape vectors (the batch size computed
 * for a Reshape) */
static int imp_shape_values(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *v = n->n_input ? find(m, n->input[0]) : NULL;
	val tmp;
	if (v && v->kind == V_CONST && v->t->data_type == ONNX_INT64) { /* as a shape value */
		memset(&tmp, 0, sizeof tmp);
		tmp.kind = V_SHAPE;
		if (int_vector(m, v, &tmp.sv, &tmp.svn))
			NERR("int64 constant of more than 64 values");
		if (!is(c->op, "Gather"))
			return def_shape(m, n, tmp.sv, tmp.svn);
		v = &tmp;
	} else {
		tmp.sv = NULL;
	}
	if (!v || v->kind != V_SHAPE)
		NERR("supported only on shape values (the batch size computed for a Reshape)");
	if (!is(c->op, "Gather"))
		return alias(m, n, v);
	val *iv = n->n_input > 1 ? find(m, n->input[1]) : NULL;
	int64_t *ix = NULL, *sv = NULL;
	int ni = 0, bad = 0;
	long long badix = 0;
	if (!iv || attr_i(n, "axis", 0) != 0 || int_vector(m, iv, &ix, &ni))
		bad = 1, ix = NULL;
	else if (!(sv = malloc(sizeof(int64_t) * (size_t)(ni ? ni : 1))))
		bad = 2;
	for (int j = 0; !bad && j < ni; j++) {
		int64_t k = ix[j] < 0 ? ix[j] + v->svn : ix[j];
		if (k < 0 || k >= v->svn)
			bad = 3, badix = (long long)ix[j];
		else
			sv[j] = v->sv[k];
	}
	free(ix), free(tmp.sv);
	if (bad)
		free(sv);
	if (bad == 1)
		NERR("needs constant indices on axis 0");
	if (bad == 2)
		return NN_ENOMEM;
	if (bad == 3)
		NERR("index %lld out of range", badix);
	return def_shape(m, n, sv, ni);
}

/* Unsqueeze of a network tensor: [N, C] -> [N, C, 1, 1]; else of a shape vector */
static int imp_unsqueeze(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *x = c->x;
	if (!x)
		return imp_shape_values(m, c);
	val *av = n->n_input > 1 ? find(m, n->input[1]) : NULL;
	const Onnx__AttributeProto *aa = attr(n, "axes");
	int64_t *ax = NULL;
	int na = 0, ok = x->rank == 2;
	if (ok && av)
		ok = !int_vector(m, av, &ax, &na);
	else if (ok && aa && aa->n_ints <= 64) {
		na = (int)aa->n_ints;
		ax = malloc(sizeof(int64_t) * (size_t)(na ? na : 1));
		ok = ax != NULL;
		if (ok && na)
			memcpy(ax, aa->ints, sizeof(int64_t) * (size_t)na);
	} else
		ok = 0;
	ok = ok && na == 2 && (ax[0] == 2 || ax[0] == -2) && (ax[1] == 3 || ax[1] == -1);
	free(ax);
	if (!ok)
		NERR("supported on network tensors only as [N, C] -> [N, C, 1, 1] (axes [2, 3])");
	m->vec1[x->id] = 1;
	return def_node(m, n, x->id, 4);
}

/* Concat of an exported factorized reduction's halves: its even conv
 * (input 0) and the odd one on the shifted tensor (input 1, a V_ODD) */
static int imp_factred(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *e = in_node(m, n, 0), *o = find(m, n->input[1]);
	const nn_node *ev = e ? &m->g.nodes[e->id] : NULL;
	if (!ev || ev->op != NN_OP_CONV || ev->p.k != 1 || ev->p.stride != 2 || ev->p.pad || ev->p.groups != 1 ||
	    !(ev->flags & NN_F_NOBIAS) || ev->in[0] != o->id || ev->p.cout != o->cout || m->wn[e->id] != o->fwn)
		NERR("joins a shifted stride-2 conv with something other than its unshifted twin");
	size_t half = m->wn[e->id];
	float *w = malloc(sizeof(float) * (2 * half + 1));
	if (!w)
		return NN_ENOMEM;
	memcpy(w, m->w[e->id], sizeof(float) * half);
	memcpy(w + half, o->fw, sizeof(float) * half);
	nn_params p = p0();
	p.cout = 2 * o->cout;
	int id = add(m, NN_OP_FACTRED, &o->id, 1, p, 0, c->idx);
	if (id < 0) {
		free(w);
		return id;
	}
	take_weights(m, id, w, 2 * half, NULL, 0);
	return def_node(m, n, id, 4);
}

/* Concat of shape vectors */
static int imp_concat_shapes(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	int64_t *sv = NULL;
	int svn = 0;
	for (size_t j = 0; j < n->n_input; j++) {
		val *v = find(m, n->input[j]);
		int64_t *part;
		int pn;
		if (!v || v->kind == V_NODE || int_vector(m, v, &part, &pn)) {
			free(sv);
			NERR("mixes shape values and network tensors, or has a non-int64 constant");
		}
		int64_t *q = realloc(sv, sizeof(int64_t) * (size_t)(svn + pn + 1));
		if (!q || svn + pn > 64) {
			free(part), free(q ? q : sv);
			NERR("shape vector too long");
		}
		sv = q;
		if (pn)
			memcpy(sv + svn, part, sizeof(int64_t) * (size_t)pn);
		svn += pn;
		free(part);
	}
	return def_shape(m, n, sv, svn);
}

/* Concat over channels of network tensors */
static int imp_concat(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	if (n->n_input == 2 && kind_of(m, n, 1) == V_ODD)
		return imp_factred(m, c);
	val *v0 = n->n_input ? find(m, n->input[0]) : NULL;
	if (v0 && v0->kind != V_NODE)
		return imp_concat_shapes(m, c);
	int ins[NN_MAXIN];
	if (n->n_input < 1 || n->n_input > NN_MAXIN)
		NERR("has %zu inputs (1..%d)", n->n_input, NN_MAXIN);
	for (size_t j = 0; j < n->n_input; j++) {
		val *v = in_node(m, n, j);
		if (!v || v->rank != 4)
			NERR("input '%.100s' is not a 4-d tensor of the network", n->input[j]);
		ins[j] = v->id;
	}
	int64_t ax = attr_i(n, "axis", 1);
	if (ax != 1 && ax != -3)
		NERR("concatenates on axis %lld; petri concatenates channels (axis 1)", (long long)ax);
	int id = add(m, NN_OP_CONCAT, ins, (int)n->n_input, p0(), 0, c->idx);
	return id < 0 ? id : def_node(m, n, id, 4);
}

/* define output j of n as petri node id of rank */
static int def_out(imp *m, const Onnx__NodeProto *n, size_t j, int id, int rank)
{
	val *v = define(m, n->output[j], V_NODE);
	if (!v) {
		nn_errf(m->err, m->errlen, "out of memory");
		return NN_ENOMEM;
	}
	v->id = id, v->rank = rank;
	return 0;
}

/* "[a, b, ...]" of a shape vector, for messages */
static const char *sv_str(const int64_t *v, int n, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (int j = 0; j < n && o + 24 < len; j++) {
		if (v[j] == SV_BATCH)
			o += (size_t)snprintf(buf + o, len - o, "%sbatch", j ? ", " : "[");
		else if (v[j] == SV_UNKNOWN)
			o += (size_t)snprintf(buf + o, len - o, "%s?", j ? ", " : "[");
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%lld", j ? ", " : "[", (long long)v[j]);
	}
	snprintf(buf + o, len - o, "%s]", n ? "" : "[");
	return buf;
}

/* The target t[0, tn) of a Reshape of a tensor whose dims are in[0, inn)
 * (in[0] the batch) resolved into out: 0 copies, -1 is inferred, out[0]
 * is the batch. 0, or -1 when the target does not fit or needs a size
 * unknown at import. */
static int reshape_to(imp *m, const int64_t *t, int tn, const int64_t *in, int inn, int64_t *out)
{
	int64_t total = 1, known = 1;
	int infer = -1;
	if (tn < 1 || tn > 5)
		return -1;
	for (int j = 1; j < inn; j++)
		total *= in[j];
	out[0] = SV_UNKNOWN;
	for (int j = 0; j < tn; j++) {
		int64_t v = t[j];
		if (j == 0 && (v == SV_BATCH || v == 0 || (m->batch > 0 && v == m->batch))) {
			out[0] = SV_BATCH;
			continue;
		}
		if (v == 0 && j < inn)
			v = in[j];
		if (v == -1) {
			if (infer >= 0)
				return -1;
			infer = j;
			continue;
		}
		if (v < 1 || v > ((int64_t)1 << 34) || j == 0)
			return -1;
		out[j] = v;
		if (v > (((int64_t)1 << 34) / known)) /* known * v past 2^34: before it can wrap */
			return -1;
		known *= v;
	}
	if (infer == 0) {
		if (known != total)
			return -1;
		out[0] = SV_BATCH;
	} else if (infer > 0) {
		if (out[0] != SV_BATCH || total % known)
			return -1;
		out[infer] = total / known;
	} else if (known != total || out[0] != SV_BATCH) {
		return -1;
	}
	return 0;
}

/* Reshape: to [batch, features] before the classifier; to the same
 * [batch, c, h, w]; and the two of a channel shuffle: [n, c, h, w] to
 * [n, g, c/g, h, w] (a V_GROUP), and after the Transpose back to
 * [n, c, h, w] (the shuffle node) */
static int imp_reshape(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *xv = n->n_input ? find(m, n->input[0]) : NULL;
	val *sv = n->n_input > 1 ? find(m, n->input[1]) : NULL;
	if (xv && (xv->kind == V_SHAPE || xv->kind == V_CONST))
		return imp_shape_layout(m, c);
	int64_t *t, in[5], out[5];
	int tn, inn = 4;
	char b1[200], b2[200];
	if (!xv || (xv->kind != V_NODE && xv->kind != V_GROUP && xv->kind != V_GROUPT))
		NERR("input is not a tensor of the network");
	if (!sv || int_vector(m, sv, &t, &tn))
		NERR("the target shape must be a constant (or computed from the input's sizes)");
	int id = xv->id, kind = xv->kind, rank = xv->rank, g = xv->cout;
	nn_shape sh;
	int rc = shape_of(m, id, &sh);
	if (rc) {
		free(t);
		return rc;
	}
	int64_t chw = (int64_t)sh.c * sh.h * sh.w;
	in[0] = SV_BATCH, in[1] = sh.c, in[2] = sh.h, in[3] = sh.w;
	if (kind == V_NODE && rank == 2)
		in[1] = chw, inn = 2;
	else if (kind != V_NODE) {
		int64_t a = kind == V_GROUP ? g : sh.c / g, b = kind == V_GROUP ? sh.c / g : g;
		in[1] = a, in[2] = b, in[3] = sh.h, in[4] = sh.w, inn = 5;
	}
	rc = reshape_to(m, t, tn, in, inn, out);
	sv_str(t, tn, b1, sizeof b1);
	free(t);
	if (rc)
		NERR("target shape %s does not fit the input %s", b1, sv_str(in, inn, b2, sizeof b2));
	if (tn == 2 && kind == V_NODE) { /* [batch, features] */
		m->flat[id] = out[1];
		return def_node(m, n, id, 2);
	}
	if (tn == 4 && out[1] == sh.c && out[2] == sh.h && out[3] == sh.w) {
		if (kind == V_GROUPT) {
			nn_params p = p0();
			p.groups = g;
			int sid = add(m, NN_OP_SHUFFLE, &id, 1, p, 0, c->idx);
			return sid < 0 ? sid : def_node(m, n, sid, 4);
		}
		return def_node(m, n, id, 4); /* the same tensor (or its flattened form again) */
	}
	if (tn == 5 && kind == V_NODE && rank == 4 && out[1] * out[2] == sh.c && out[3] == sh.h && out[4] == sh.w) {
		val *v = define(m, n->output[0], V_GROUP);
		if (!v)
			return NN_ENOMEM;
		v->id = id, v->rank = 5, v->cout = (int)out[1];
		return 0;
	}
	NERR("Reshape to %s is not supported: petri reshapes to [batch, features], to the same [batch, c, h, w], and "
	     "as a channel shuffle ([n, g, c/g, h, w], Transpose [0, 2, 1, 3, 4], [n, c, h, w])", b1);
}

/* Transpose: the middle of a channel shuffle, or the identity */
static int imp_transpose(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *xv = n->n_input ? find(m, n->input[0]) : NULL;
	const Onnx__AttributeProto *a = attr(n, "perm");
	if (!xv)
		NERR("needs an input");
	if (xv->kind == V_SHAPE || xv->kind == V_CONST)
		return imp_shape_layout(m, c);
	int r = xv->rank, ident = a && (int)a->n_ints == r, swap = a && a->n_ints == 5;
	for (int j = 0; a && j < (int)a->n_ints && j < 5; j++) {
		ident &= a->ints[j] == j;
		swap &= a->ints[j] == (j == 1 ? 2 : j == 2 ? 1 : j);
	}
	if ((xv->kind == V_GROUP || xv->kind == V_GROUPT) && swap) {
		int id = xv->id, g = xv->cout, k = xv->kind == V_GROUP ? V_GROUPT : V_GROUP;
		val *v = define(m, n->output[0], k);
		if (!v)
			return NN_ENOMEM;
		v->id = id, v->rank = 5, v->cout = g;
		return 0;
	}
	if (xv->kind == V_NODE && ident)
		return alias(m, n, xv);
	NERR("supported only as the identity or inside a channel shuffle (Reshape [n, g, c/g, h, w], Transpose "
	     "[0, 2, 1, 3, 4], Reshape [n, c, h, w])");
}

static int imp_flatten(imp *m, const onode *c)
{
	val *x = c->x;
	if (!x)
		NERR("input is not a tensor of the network");
	int64_t fa = attr_i(c->n, "axis", 1);
	if (fa != 1 && !(fa == -1 && x->rank == 2) && !(fa == -3 && x->rank == 4))
		NERR("flattens from axis %lld; petri flattens from axis 1", (long long)fa);
	return def_node(m, c->n, x->id, 2);
}

/* Softmax, LogSoftmax: dropped at the output (petri's output is logits) */
static int imp_softmax(imp *m, const onode *c)
{
	if (!c->x || !c->graph_out || strcmp(c->n->output[0], c->graph_out))
		NERR("supported only as the last node (it is dropped: petri's output is logits)");
	return alias(m, c->n, c->x);
}

/* Slice x[:, :, 1:, 1:], the shift of a factorized reduction */
static int imp_slice_shift(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *x = c->x;
	int64_t *v[4] = { 0 };
	int cnt[4] = { 0 }, ok = x && x->rank == 4 && n->n_input >= 4 && n->n_input <= 5; /* axes given */
	for (size_t j = 1; ok && j < n->n_input; j++) {
		val *cv = find(m, n->input[j]);
		ok = cv && !int_vector(m, cv, &v[j - 1], &cnt[j - 1]) && cnt[j - 1] == 2;
	}
	if (ok) { /* starts [1,1], ends past the end, axes [2,3], steps 1 */
		ok = v[0][0] == 1 && v[0][1] == 1 && v[1][0] >= (1 << 30) && v[1][1] >= (1 << 30);
		ok = ok && v[2] && (v[2][0] == 2 || v[2][0] == -2) && (v[2][1] == 3 || v[2][1] == -1);
		ok = ok && (!v[3] || (v[3][0] == 1 && v[3][1] == 1));
	}
	for (int j = 0; j < 4; j++)
		free(v[j]);
	if (!ok)
		NERR("petri supports Slice along the channels, and along H and W only as the shift x[:, :, 1:, 1:] of a "
		     "factorized reduction");
	int xid = x->id; /* define may move the values */
	val *sv = define(m, n->output[0], V_SHIFT);
	if (!sv)
		return NN_ENOMEM;
	sv->id = xid, sv->rank = 4;
	return 0;
}

/* channels [lo, hi) of x as output j of n: the tensor itself when all,
 * else a slice node */
static int def_slice(imp *m, const onode *c, size_t j, const val *x, int lo, int hi, int cin)
{
	if (lo == 0 && hi == cin)
		return def_out(m, c->n, j, x->id, 4);
	nn_params p = p0();
	p.start = lo, p.cout = hi - lo;
	int id = add(m, NN_OP_SLICE, &x->id, 1, p, 0, c->idx);
	return id < 0 ? id : def_out(m, c->n, j, id, 4);
}

/* Slice: along the channels (torch.chunk, x[:, a:b]) with starts and ends
 * known at import; along H and W only the shift of a factorized reduction */
static int imp_slice(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *x = c->x;
	static const char *const an[4] = { "starts", "ends", "axes", "steps" };
	int64_t *v[4] = { 0 };
	int cnt[4] = { 0 }, bad = 0, spatial = 0;
	val *xv = n->n_input ? find(m, n->input[0]) : NULL;
	if (xv && (xv->kind == V_SHAPE || xv->kind == V_CONST))
		return imp_shape_layout(m, c);
	if (!x || x->rank != 4)
		return imp_slice_shift(m, c);
	for (int j = 0; j < 4 && !bad; j++) {
		val *cv = (size_t)j + 1 < n->n_input && n->input[j + 1][0] ? find(m, n->input[j + 1]) : NULL;
		const Onnx__AttributeProto *a = n->n_input == 1 ? attr(n, an[j]) : NULL; /* before opset 10 */
		if (cv)
			bad = int_vector(m, cv, &v[j], &cnt[j]) ? 1 : 0;
		else if (a && a->n_ints <= 8 && (v[j] = malloc(sizeof(int64_t) * 8))) {
			cnt[j] = (int)a->n_ints;
			memcpy(v[j], a->ints, sizeof(int64_t) * a->n_ints);
		} else if (j < 2)
			bad = 1;
	}
	nn_shape sh;
	int rc = bad ? 0 : shape_of(m, x->id, &sh);
	if (rc) {
		for (int j = 0; j < 4; j++)
			free(v[j]);
		return rc;
	}
	int64_t dim[4] = { 0, bad ? 0 : sh.c, bad ? 0 : sh.h, bad ? 0 : sh.w }, lo = 0, hi = dim[1];
	int seen = 0;
	if (!bad && (cnt[0] != cnt[1] || cnt[0] < 1 || cnt[0] > 4 || (v[2] && cnt[2] != cnt[0]) ||
		     (v[3] && cnt[3] != cnt[0])))
		bad = 2;
	for (int i = 0; !bad && i < cnt[0]; i++) {
		int64_t ax = v[2] ? v[2][i] : i, st = v[0][i], en = v[1][i], sp = v[3] ? v[3][i] : 1;
		ax = ax < 0 ? ax + 4 : ax;
		if (ax < 0 || ax > 3 || (seen & (1 << ax)))
			bad = 2;
		else if (st <= SV_UNKNOWN || en <= SV_UNKNOWN)
			bad = 3;
		else if (sp != 1)
			bad = 4;
		else if (ax == 0)
			bad = st == 0 && en >= ((int64_t)1 << 30) ? 0 : 5;
		else {
			int64_t d = dim[ax];
			st = st < 0 ? st + d : st, en = en < 0 ? en + d : en;
			st = st < 0 ? 0 : st > d ? d : st, en = en < 0 ? 0 : en > d ? d : en;
			if (ax == 1)
				lo = st, hi = en;
			else
				spatial |= st != 0 || en != d;
		}
		seen |= 1 << (ax > 0 && ax < 4 ? ax : 0);
	}
	for (int j = 0; j < 4; j++)
		free(v[j]);
	if (bad == 1)
		NERR("starts and ends must be int64 constants or computed from the input's sizes");
	if (bad == 2)
		NERR("starts, ends, axes and steps disagree, or an axis repeats");
	if (bad == 3)
		NERR("starts or ends depend on the batch size");
	if (bad == 4)
		NERR("steps other than 1 are not supported");
	if (bad == 5)
		NERR("slicing the batch is not supported");
	if (spatial)
		return imp_slice_shift(m, c);
	if (hi <= lo)
		NERR("takes no channels (%lld..%lld of %d)", (long long)lo, (long long)hi, sh.c);
	return def_slice(m, c, 0, x, (int)lo, (int)hi, sh.c);
}

/* Split along the channels: sizes as an input (opset 13), an attribute,
 * or equal parts (the last one smaller with opset 18's num_outputs) */
static int imp_split(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *x = c->x;
	int64_t ax = attr_i(n, "axis", 0), *sz = NULL;
	int ns = 0, no = (int)n->n_output;
	if (x->rank != 4 || (ax != 1 && ax != -3))
		NERR("supported only along the channels (axis 1) of a 4-d tensor");
	nn_shape sh;
	int rc = shape_of(m, x->id, &sh);
	if (rc)
		return rc;
	val *sv = n->n_input > 1 && n->input[1][0] ? find(m, n->input[1]) : NULL;
	const Onnx__AttributeProto *a = attr(n, "split");
	if (no < 1 || no > NN_MAXIN)
		NERR("has %d outputs (1..%d)", no, NN_MAXIN);
	if (sv) {
		if (int_vector(m, sv, &sz, &ns))
			NERR("split sizes must be int64 constants");
	} else if (a && a->n_ints <= NN_MAXIN) {
		ns = (int)a->n_ints;
		if (!(sz = malloc(sizeof(int64_t) * (size_t)(ns ? ns : 1))))
			return NN_ENOMEM;
		if (ns)
			memcpy(sz, a->ints, sizeof(int64_t) * (size_t)ns);
	} else {
		int64_t part = (sh.c + no - 1) / no;
		if (!(sz = malloc(sizeof(int64_t) * (size_t)no)))
			return NN_ENOMEM;
		ns = no;
		for (int j = 0; j < no; j++)
			sz[j] = j < no - 1 ? part : sh.c - part * (no - 1);
		if (!attr(n, "num_outputs") && sh.c % no) {
			free(sz);
			NERR("%d channels do not split into %d equal parts", sh.c, no);
		}
	}
	int64_t sum = 0;
	int ok = ns == no;
	for (int j = 0; ok && j < ns; j++) {
		ok = sz[j] > 0 && sz[j] <= sh.c;
		sum += ok ? sz[j] : 0;
	}
	if (!ok || sum != sh.c) {
		free(sz);
		NERR("split sizes do not cover the %d channels in %d parts", sh.c, no);
	}
	int lo = 0;
	val xc = *x; /* define may move the values */
	for (int j = 0; j < no && !rc; j++) {
		int hi = lo + (int)sz[j];
		if (n->output[j] && n->output[j][0])
			rc = def_slice(m, c, (size_t)j, &xc, lo, hi, sh.c);
		lo = hi;
	}
	free(sz);
	return rc;
}

/* Pad with zeros (constant mode) of H and W: the pad op, or nothing when
 * all pads are 0 (as torch writes before an AveragePool) */
static int imp_pad(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *x = c->x;
	const Onnx__AttributeProto *a = attr(n, "mode");
	if (a && a->has_s && !(a->s.len == 8 && !memcmp(a->s.data, "constant", 8)))
		NERR("mode '%.*s' is not supported (only constant, with 0)", (int)(a->s.len < 20 ? a->s.len : 20),
		     (const char *)a->s.data);
	if (n->n_input > 3 && n->input[3][0])
		NERR("the axes input is not supported");
	int64_t *pv = NULL;
	int pn = 0;
	float value = attr_f(n, "value", 0);
	if (n->n_input > 1) { /* opset 11: pads and the value are inputs */
		val *pvv = n->input[1][0] ? find(m, n->input[1]) : NULL;
		if (!pvv || int_vector(m, pvv, &pv, &pn))
			NERR("pads must be an int64 constant");
		if (n->n_input > 2 && n->input[2][0]) {
			val *cv = in_const(m, n, 2);
			int64_t ne;
			float *f = cv ? tensor_floats(m, cv->t, &ne) : NULL;
			if (!f || ne != 1) {
				free(f), free(pv);
				NERR("the pad value must be a float32 scalar constant");
			}
			value = f[0];
			free(f);
		}
	} else if ((a = attr(n, "pads")) && a->n_ints <= 8) {
		pn = (int)a->n_ints;
		if (!(pv = malloc(sizeof(int64_t) * 8)))
			return NN_ENOMEM;
		memcpy(pv, a->ints, sizeof(int64_t) * (size_t)pn);
	} else
		NERR("no pads");
	int r = x->rank, ok = pn == 2 * r, any = 0, pd[4] = { 0 };
	for (int j = 0; ok && j < pn; j++) {
		int ax = j % r;
		any |= pv[j] != 0;
		ok = pv[j] == 0 || (r == 4 && ax >= 2 && pv[j] > 0 && pv[j] <= NN_MAX_PAD_IMPORT);
		if (ok && r == 4 && ax >= 2)
			pd[(j >= r ? 2 : 0) + ax - 2] = (int)pv[j];
	}
	char b1[200];
	sv_str(pv, pn, b1, sizeof b1);
	free(pv);
	if (!ok)
		NERR("pads %s: petri pads H and W of a 4-d tensor, 0..%d on a side (not N or C, not cropping)", b1,
		     NN_MAX_PAD_IMPORT);
	if (value != 0)
		NERR("pads with %g; petri pads with zeros", value);
	if (!any)
		return alias(m, n, x);
	nn_params p = p0();
	memcpy(p.pads, pd, sizeof p.pads);
	int id = add(m, NN_OP_PAD, &x->id, 1, p, 0, c->idx);
	return id < 0 ? id : def_node(m, n, id, 4);
}

/* Conv of a shifted tensor: the odd half of a factorized reduction */
static int imp_conv_shifted(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *sh = find(m, n->input[0]), *W = in_const(m, n, 1);
	const Onnx__AttributeProto *a = attr(n, "pads"), *st = attr(n, "strides");
	int ok = W && W->t->n_dims == 4 && W->t->dims[2] == 1 && W->t->dims[3] == 1 && n->n_input == 2 &&
		 attr_i(n, "group", 1) == 1 && a && a->n_ints == 4 && !a->ints[0] && !a->ints[1] &&
		 a->ints[2] == 1 && a->ints[3] == 1 && st && st->n_ints == 2 && st->ints[0] == 2 && st->ints[1] == 2;
	if (!ok)
		NERR("a Conv of a shifted tensor must be the 1x1, stride-2, bias-free second half of a "
		     "factorized reduction");
	int64_t nw;
	float *w = tensor_floats(m, W->t, &nw);
	if (!w)
		return NN_EFORMAT;
	int xid = sh->id, cout = (int)W->t->dims[0]; /* define may move the values */
	val *o = define(m, n->output[0], V_ODD);
	if (!o) {
		free(w);
		return NN_ENOMEM;
	}
	o->id = xid, o->rank = 4, o->fw = w, o->fwn = (size_t)nw, o->cout = cout;
	return 0;
}

/* the handlers below take a tensor of the network as first input */
static int not_a_tensor(imp *m, const onode *c)
{
	NERR("first input '%.100s' is not a tensor of the network (a constant?)", c->n->n_input ? c->n->input[0] : "");
}

static int imp_conv(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *x = c->x;
	if (n->n_input >= 2 && kind_of(m, n, 0) == V_SHIFT)
		return imp_conv_shifted(m, c);
	if (!x)
		return not_a_tensor(m, c);
	val *W = in_const(m, n, 1), *B = n->n_input > 2 ? in_const(m, n, 2) : NULL;
	if (x->rank != 4)
		NERR("input is not 4-d");
	if (!W || W->t->n_dims != 4)
		NERR("weight must be a constant 4-d tensor [cout, cin/group, k, k]");
	if (n->n_input > 2 && n->input[2][0] && !B)
		NERR("bias must be a constant");
	const int64_t *wd = W->t->dims;
	if (wd[2] != wd[3] || wd[2] < 1 || wd[2] > 64)
		NERR("kernel %lldx%lld is not square, or not in 1..64", (long long)wd[2], (long long)wd[3]);
	int k, s, pd[4], dil, xid = x->id;
	if (geom(m, c, (int)wd[2], &k, &s, pd, &dil))
		return NN_EFORMAT;
	/* a zero Pad on every side before it: the conv's own padding */
	const nn_node *xn = &m->g.nodes[xid];
	if (xn->op == NN_OP_PAD && symmetric(xn->p.pads) && symmetric(pd) && pd[0] + xn->p.pads[0] <= 64) {
		for (int j = 0; j < 4; j++)
			pd[j] += xn->p.pads[j];
		xid = xn->in[0];
	}
	if (!symmetric(pd))
		NERR("pads must be the same on all four sides (petri pads convolutions symmetrically)");
	int pad = pd[0];
	if (wd[0] < 1 || wd[0] > (1 << 20) || wd[1] < 1 || wd[1] > (1 << 20))
		NERR("weight is [%lld, %lld, %lld, %lld]", (long long)wd[0], (long long)wd[1], (long long)wd[2],
		     (long long)wd[3]);
	int64_t grp = attr_i(n, "group", 1);
	if (grp < 1 || wd[0] < 1 || wd[0] > (1 << 20) || grp > wd[0] || wd[0] % grp)
		NERR("group %lld does not divide %lld output channels", (long long)grp, (long long)wd[0]);
	nn_params p = p0();
	p.k = k, p.stride = s, p.pad = pad, p.dil = dil, p.groups = (int)grp, p.cout = (int)wd[0];
	int64_t nw, nb = 0;
	float *w, *b;
	if (weight_bias(m, W, B, &w, &nw, &b, &nb))
		return NN_EFORMAT;
	if (B && nb != wd[0]) {
		free(w), free(b);
		NERR("bias has %lld values for %lld output channels", (long long)nb, (long long)wd[0]);
	}
	float *all = realloc(w, sizeof(float) * (size_t)(nw + nb + 1));
	if (!all) {
		free(w), free(b);
		return NN_ENOMEM;
	}
	if (b)
		memcpy(all + nw, b, sizeof(float) * (size_t)nb);
	free(b);
	int id = add(m, NN_OP_CONV, &xid, 1, p, B ? 0 : NN_F_NOBIAS, c->idx);
	if (id < 0) {
		free(all);
		return id;
	}
	take_weights(m, id, all, (size_t)(nw + nb), NULL, 0);
	return def_node(m, n, id, 4);
}

/* BatchNormalization in inference mode, its running statistics kept */
static int imp_bn(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *x = c->x;
	if (attr_i(n, "training_mode", 0))
		NERR("training_mode is set; export the model in inference mode");
	for (size_t j = 1; j < n->n_output; j++)
		if (n->output[j] && n->output[j][0])
			NERR("training outputs (running mean/var) are not supported");
	float *part[4] = { 0 };
	int64_t ch = -1, ne = 0;
	int bad = 0;
	for (int j = 0; j < 4 && !bad; j++) {
		val *v = in_const(m, n, (size_t)j + 1);
		if (!v)
			bad = 1;
		else if (!(part[j] = tensor_floats(m, v->t, &ne)))
			bad = 2;
		else if (ch >= 0 && ne != ch)
			bad = 3;
		ch = ne;
	}
	if (bad) {
		for (int q = 0; q < 4; q++)
			free(part[q]);
		if (bad == 1)
			NERR("scale, bias, mean and var must be constants");
		if (bad == 3)
			NERR("scale, bias, mean and var differ in length");
		return NN_EFORMAT;
	}
	float *w = malloc(sizeof(float) * (2 * (size_t)ch + 1)), *s = malloc(sizeof(float) * (2 * (size_t)ch + 1));
	if (!w || !s) {
		free(w), free(s);
		for (int q = 0; q < 4; q++)
			free(part[q]);
		return NN_ENOMEM;
	}
	memcpy(w, part[0], sizeof(float) * (size_t)ch);
	memcpy(w + ch, part[1], sizeof(float) * (size_t)ch);
	memcpy(s, part[2], sizeof(float) * (size_t)ch);
	memcpy(s + ch, part[3], sizeof(float) * (size_t)ch);
	for (int q = 0; q < 4; q++)
		free(part[q]);
	float mom = attr_f(n, "momentum", 0.9f), eps = attr_f(n, "epsilon", 1e-5f);
	nn_params p = p0();
	p.eps = eps > 0 && eps < 1 ? eps : 1e-5f;
	p.momentum = mom > 0 && mom < 1 ? 1.0f - mom : 0.1f;
	int id = add(m, NN_OP_BN, &x->id, 1, p, 0, c->idx);
	if (id < 0) {
		free(w), free(s);
		return id;
	}
	take_weights(m, id, w, 2 * (size_t)ch, s, 2 * (size_t)ch);
	if (x->rank == 2)
		m->vec1[id] = 1;
	return def_node(m, n, id, x->rank);
}

static int imp_relu(imp *m, const onode *c)
{
	int id = add(m, NN_OP_RELU, &c->x->id, 1, p0(), 0, c->idx);
	return id < 0 ? id : def_node(m, c->n, id, c->x->rank);
}

/* Clip: bounds from inputs 1, 2 (opset 11 on; either may be absent or
 * empty) or attributes min, max (before); [0, +inf) is a ReLU. A missing
 * bound is stored as -1e30 or 1e30, as model files hold only finite
 * numbers (no float activation gets near either). */
static int imp_clip(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	float lo = attr_f(n, "min", -INFINITY), hi = attr_f(n, "max", INFINITY);
	int64_t ne;
	for (size_t j = 1; j < n->n_input && j < 3; j++) {
		val *cv = in_const(m, n, j);
		float *f = NULL;
		if (!n->input[j][0])
			continue;
		if (!cv || !(f = tensor_floats(m, cv->t, &ne)) || ne != 1) {
			free(f);
			NERR("%s must be a scalar constant", j == 1 ? "min" : "max");
		}
		*(j == 1 ? &lo : &hi) = f[0];
		free(f);
	}
	if (lo != lo || hi != hi)
		NERR("a bound is NaN");
	if (lo == 0 && hi >= 1e30f)
		return imp_relu(m, c);
	nn_params p = p0();
	p.alpha = lo < -1e30f ? -1e30f : lo > 1e30f ? 1e30f : lo;
	p.beta = hi > 1e30f ? 1e30f : hi < -1e30f ? -1e30f : hi;
	int id = add(m, NN_OP_CLIP, &c->x->id, 1, p, 0, c->idx);
	return id < 0 ? id : def_node(m, n, id, c->x->rank);
}

/* Sigmoid, HardSigmoid (alpha, beta; ONNX's defaults 0.2, 0.5), HardSwish */
static int imp_act(imp *m, const onode *c)
{
	nn_params p = p0();
	int op = is(c->op, "Sigmoid") ? NN_OP_SIGMOID : is(c->op, "HardSwish") ? NN_OP_HSWISH : NN_OP_HSIGMOID;
	if (op == NN_OP_HSIGMOID) {
		p.alpha = attr_f(c->n, "alpha", 0.2f), p.beta = attr_f(c->n, "beta", 0.5f);
		if (!isfinite(p.alpha) || !isfinite(p.beta) || fabsf(p.alpha) > 1e30f || fabsf(p.beta) > 1e30f)
			NERR("alpha %g, beta %g: not finite numbers", p.alpha, p.beta);
	}
	int id = add(m, op, &c->x->id, 1, p, 0, c->idx);
	return id < 0 ? id : def_node(m, c->n, id, c->x->rank);
}

/* MaxPool, AveragePool: pads (asymmetric too), ceil_mode,
 * count_include_pad; an AveragePool counting its padding absorbs a zero
 * Pad before it */
static int imp_pool(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	int k, s, pd[4], dil, avg = is(c->op, "AveragePool"), xid = c->x->id;
	if (c->x->rank != 4)
		NERR("input is not 4-d");
	if (geom(m, c, 0, &k, &s, pd, &dil))
		return NN_EFORMAT;
	if (dil != 1)
		NERR("dilated pooling is not supported");
	int64_t ceil = attr_i(n, "ceil_mode", 0), cnt = avg ? attr_i(n, "count_include_pad", 0) : 0;
	if (ceil < 0 || ceil > 1 || cnt < 0 || cnt > 1)
		NERR("ceil_mode and count_include_pad must be 0 or 1");
	if (n->n_output > 1 && n->output[1] && n->output[1][0])
		NERR("the indices output is not supported");
	const nn_node *xn = &m->g.nodes[xid];
	int padded = pd[0] | pd[1] | pd[2] | pd[3];
	if (avg && xn->op == NN_OP_PAD && !ceil && (cnt || !padded)) {
		int q[4], ok = 1;
		for (int j = 0; j < 4; j++)
			q[j] = pd[j] + xn->p.pads[j], ok &= q[j] < k;
		if (ok) {
			memcpy(pd, q, sizeof q);
			cnt = 1, padded = 1, xid = xn->in[0];
		}
	}
	for (int j = 0; j < 4; j++)
		if (pd[j] >= k)
			NERR("pad %d not smaller than kernel %d", pd[j], k);
	nn_params p = p0();
	p.k = k, p.stride = s, p.ceil_mode = (int)ceil, p.count_pad = cnt && padded;
	if (symmetric(pd))
		p.pad = pd[0];
	else
		memcpy(p.pads, pd, sizeof p.pads);
	int id = add(m, avg ? NN_OP_AVGPOOL : NN_OP_MAXPOOL, &xid, 1, p, 0, c->idx);
	return id < 0 ? id : def_node(m, n, id, 4);
}

/* GlobalAveragePool, ReduceMean over H and W */
static int imp_gap(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	int rank = 4;
	if (c->x->rank != 4)
		NERR("input is not 4-d");
	if (is(c->op, "ReduceMean")) {
		const Onnx__AttributeProto *a = attr(n, "axes");
		val *av = n->n_input > 1 ? find(m, n->input[1]) : NULL; /* opset 18: an input */
		int64_t ax[2] = { 0, 0 }, *iv = NULL;
		int ni = 0;
		if (av && !int_vector(m, av, &iv, &ni) && ni == 2)
			ax[0] = iv[0], ax[1] = iv[1];
		else if (a && a->n_ints == 2)
			ax[0] = a->ints[0], ax[1] = a->ints[1];
		else {
			free(iv);
			NERR("supported only over axes [2, 3]");
		}
		free(iv);
		for (int j = 0; j < 2; j++)
			ax[j] = ax[j] < 0 ? ax[j] + 4 : ax[j];
		if (!((ax[0] == 2 && ax[1] == 3) || (ax[0] == 3 && ax[1] == 2)))
			NERR("supported only over axes [2, 3]");
		rank = attr_i(n, "keepdims", 1) ? 4 : 2;
	}
	int id = add(m, NN_OP_GAP, &c->x->id, 1, p0(), 0, c->idx);
	return id < 0 ? id : def_node(m, n, id, rank);
}

/* Add of a constant after MatMul: that linear layer's bias */
static int imp_bias(imp *m, const onode *c, const val *cv)
{
	const Onnx__NodeProto *n = c->n;
	val *y = in_node(m, n, in_const(m, n, 1) ? 0 : 1);
	int64_t ne;
	if (!y || !m->open_bias[y->id])
		NERR("adding a constant is supported only as the bias of a MatMul");
	int cout = m->g.nodes[y->id].p.cout;
	float *b = tensor_floats(m, cv->t, &ne);
	if (!b)
		return NN_EFORMAT;
	if (ne != cout && ne != 1) {
		free(b);
		NERR("bias has %lld values for %d outputs", (long long)ne, cout);
	}
	float *bias = m->w[y->id] + (m->wn[y->id] - (size_t)cout);
	for (int j = 0; j < cout; j++)
		bias[j] += b[ne == 1 ? 0 : j];
	free(b);
	m->open_bias[y->id] = 0;
	return alias(m, n, y);
}

/* Add, Sum of network tensors of one rank */
static int imp_add(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	int ins[NN_MAXIN];
	if (n->n_input < 1 || n->n_input > NN_MAXIN)
		NERR("has %zu inputs (1..%d)", n->n_input, NN_MAXIN);
	val *cv = n->n_input == 2 ? (in_const(m, n, 1) ? in_const(m, n, 1) : in_const(m, n, 0)) : NULL;
	if (cv)
		return imp_bias(m, c, cv);
	int rank = 0;
	for (size_t j = 0; j < n->n_input; j++) {
		val *v = in_node(m, n, j);
		if (!v)
			NERR("input '%.100s' is not a tensor of the network", n->input[j]);
		if (rank && v->rank != rank)
			NERR("adds tensors of different ranks");
		rank = v->rank, ins[j] = v->id;
	}
	int id = add(m, NN_OP_SUM, ins, (int)n->n_input, p0(), 0, c->idx);
	return id < 0 ? id : def_node(m, n, id, rank);
}

/* Mul of a tensor of the network by a constant scalar: a gate */
static int imp_gate(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *cv = in_const(m, n, 1) ? in_const(m, n, 1) : in_const(m, n, 0);
	val *y = in_node(m, n, in_const(m, n, 1) ? 0 : 1);
	int64_t ne;
	float *g;
	if (n->n_input != 2 || !cv || !y)
		NERR("supported only as a product with a constant scalar (a gate) or of two tensors of the network");
	if (!(g = tensor_floats(m, cv->t, &ne)))
		return NN_EFORMAT;
	if (ne != 1) {
		free(g);
		NERR("multiplies by %lld values; petri supports a scalar gate", (long long)ne);
	}
	nn_params p = p0();
	p.init = g[0];
	int id = add(m, NN_OP_GATE, &y->id, 1, p, 0, c->idx);
	if (id < 0) {
		free(g);
		return id;
	}
	take_weights(m, id, g, 1, NULL, 0);
	return def_node(m, n, id, y->rank);
}

/* Mul: x * Sigmoid(x) is a SiLU, x * HardSigmoid(x) with PyTorch's slope
 * and offset (1/6, 1/2) a hard swish (as opset 13 writes them); another
 * product of two tensors of the network is a mul, the one broadcast over
 * H and W (a squeeze-and-excitation scale, [N, C, 1, 1]) second; a
 * constant scalar factor is a gate */
static int imp_mul(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *a = in_node(m, n, 0), *b = in_node(m, n, 1);
	if (n->n_input != 2 || !a || !b)
		return imp_gate(m, c);
	if (a->rank != b->rank)
		NERR("multiplies a %d-d tensor by a %d-d one", a->rank, b->rank);
	for (int k = 0; k < 2; k++) {
		const val *x = k ? b : a, *f = k ? a : b;
		const nn_node *fd = &m->g.nodes[f->id];
		int silu = fd->op == NN_OP_SIGMOID;
		int hswish = fd->op == NN_OP_HSIGMOID && fd->p.alpha == 1.0f / 6 && fd->p.beta == 0.5f;
		if ((silu || hswish) && fd->in[0] == x->id) {
			int id = add(m, silu ? NN_OP_SILU : NN_OP_HSWISH, &x->id, 1, p0(), 0, c->idx);
			return id < 0 ? id : def_node(m, n, id, x->rank);
		}
	}
	int ins[2] = { a->id, b->id }, rank = a->rank;
	nn_shape sa, sb;
	if (!shape_of(m, a->id, &sa) && !shape_of(m, b->id, &sb) && sa.h == 1 && sa.w == 1 && (sb.h > 1 || sb.w > 1))
		ins[0] = b->id, ins[1] = a->id;
	int id = add(m, NN_OP_MUL, ins, 2, p0(), 0, c->idx);
	return id < 0 ? id : def_node(m, n, id, rank);
}

/* Gemm, MatMul (its bias from a following Add): a linear layer */
static int imp_gemm(imp *m, const onode *c)
{
	const Onnx__NodeProto *n = c->n;
	val *x = c->x;
	val *W = in_const(m, n, 1), *B = n->n_input > 2 ? in_const(m, n, 2) : NULL;
	int gemm = is(c->op, "Gemm");
	if (x->rank != 2)
		NERR("input must be 2-d [batch, features] (after Flatten or Reshape)");
	if (!W || W->t->n_dims != 2)
		NERR("weight must be a constant 2-d tensor");
	if (gemm && attr_i(n, "transA", 0))
		NERR("transA is not supported");
	if (n->n_input > 2 && n->input[2][0] && !B)
		NERR("bias must be a constant");
	int tb = gemm ? (int)attr_i(n, "transB", 0) : 0;
	float alpha = gemm ? attr_f(n, "alpha", 1) : 1, beta = gemm ? attr_f(n, "beta", 1) : 1;
	int64_t cout = tb ? W->t->dims[0] : W->t->dims[1], fan = tb ? W->t->dims[1] : W->t->dims[0];
	if (cout < 1 || fan < 1 || cout > (1 << 24))
		NERR("weight is %lldx%lld", (long long)W->t->dims[0], (long long)W->t->dims[1]);
	int64_t nw, nb = 0;
	float *w, *b;
	if (weight_bias(m, W, B, &w, &nw, &b, &nb))
		return NN_EFORMAT;
	if (B && nb != cout && nb != 1) {
		free(w), free(b);
		NERR("bias has %lld values for %lld outputs", (long long)nb, (long long)cout);
	}
	float *all = malloc(sizeof(float) * (size_t)(nw + cout + 1));
	if (!all) {
		free(w), free(b);
		return NN_ENOMEM;
	}
	for (int64_t o = 0; o < cout; o++) /* petri: [cout, fan] */
		for (int64_t i = 0; i < fan; i++)
			all[o * fan + i] = alpha * (tb ? w[o * fan + i] : w[i * cout + o]);
	for (int64_t o = 0; o < cout; o++)
		all[nw + o] = b ? beta * b[nb == 1 ? 0 : o] : 0;
	free(w), free(b);
	nn_params p = p0();
	p.cout = (int)cout;
	int id = add(m, NN_OP_LINEAR, &x->id, 1, p, 0, c->idx);
	if (id < 0) {
		free(all);
		return id;
	}
	take_weights(m, id, all, (size_t)(nw + cout), NULL, 0);
	m->flat[x->id] = m->flat[x->id] ? m->flat[x->id] : fan;
	if (m->flat[x->id] != fan)
		NERR("takes %lld features but the Reshape before it gives %lld", (long long)fan,
		     (long long)m->flat[x->id]);
	m->open_bias[id] = !gemm;
	return def_node(m, n, id, 2);
}

/* Add, Sub, Mul, Div: of shape values, evaluated; else of tensors of the
 * network (a sum, a bias, a gate) */
static int imp_binary(imp *m, const onode *c)
{
	for (size_t j = 0; j < c->n->n_input; j++)
		if (kind_of(m, c->n, j) == V_NODE) {
			if (is(c->op, "Mul")) /* a gate or a product, in either order */
				return imp_mul(m, c);
			if (!c->x)
				return not_a_tensor(m, c);
			if (is(c->op, "Add"))
				return imp_add(m, c);
			NERR("is supported on shape values only");
		}
	return imp_arith(m, c);
}

/* The ops petri imports, by family. NEED_X: the handler needs a tensor of
 * the network as first input (checked before it runs; Conv checks itself,
 * as the odd half of a factorized reduction reads a shifted tensor). */
enum { NEED_X = 1 };
static const struct {
	const char *op;
	int (*fn)(imp *m, const onode *c);
	int flags;
} imp_ops[] = {
	/* values that later nodes read: constants, aliases, shape vectors */
	{ "Constant", imp_constant, 0 }, { "Shape", imp_shape, 0 }, { "ConstantOfShape", imp_constant_of_shape, 0 },
	{ "Identity", imp_alias, 0 }, { "Dropout", imp_alias, 0 }, { "Cast", imp_alias, 0 },
	{ "Gather", imp_shape_values, 0 }, { "Squeeze", imp_shape_values, 0 }, { "Unsqueeze", imp_unsqueeze, 0 },
	{ "Add", imp_binary, 0 }, { "Sub", imp_binary, 0 }, { "Mul", imp_binary, 0 }, { "Div", imp_binary, 0 },
	/* layout: reshapes, concatenation, channel shuffle, slices, padding, a final softmax */
	{ "Reshape", imp_reshape, 0 }, { "Flatten", imp_flatten, 0 }, { "Concat", imp_concat, 0 },
	{ "Transpose", imp_transpose, 0 }, { "Slice", imp_slice, 0 }, { "Split", imp_split, NEED_X },
	{ "Pad", imp_pad, NEED_X }, { "Softmax", imp_softmax, 0 }, { "LogSoftmax", imp_softmax, 0 },
	/* layers */
	{ "Conv", imp_conv, 0 }, { "BatchNormalization", imp_bn, NEED_X }, { "Relu", imp_relu, NEED_X },
	{ "Clip", imp_clip, NEED_X }, { "MaxPool", imp_pool, NEED_X }, { "AveragePool", imp_pool, NEED_X },
	{ "GlobalAveragePool", imp_gap, NEED_X }, { "ReduceMean", imp_gap, NEED_X },
	{ "Sigmoid", imp_act, NEED_X }, { "HardSigmoid", imp_act, NEED_X }, { "HardSwish", imp_act, NEED_X },
	{ "Sum", imp_add, NEED_X },
	{ "Gemm", imp_gemm, NEED_X }, { "MatMul", imp_gemm, NEED_X },
};

/* import one ONNX node: checks every node needs, then its op's handler */
static int import_node(imp *m, const Onnx__NodeProto *n, int idx, const char *graph_out)
{
	char nbuf[32];
	onode C = { n, idx, node_name(n, nbuf, sizeof nbuf, idx), n->op_type ? n->op_type : "", NULL, graph_out };
	const onode *c = &C;
	if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx"))
		NERR("op of domain '%.60s' is not supported", n->domain);
	if (n->n_output < 1 || !n->output[0] || !n->output[0][0])
		NERR("has no output");
	/* ONNX graphs assign every name once */
	for (size_t j = 0; j < n->n_output; j++)
		if (n->output[j] && n->output[j][0] && find(m, n->output[j]))
			NERR("output '%.100s' is already defined (every name must be assigned once)", n->output[j]);
	/* every input must exist already: ONNX lists nodes in topological order */
	for (size_t j = 0; j < n->n_input; j++)
		if (n->input[j] && n->input[j][0] && !find(m, n->input[j]))
			NERR("input '%.100s' is not produced by an earlier node, an initializer or the graph input",
			     n->input[j]);
	C.x = in_node(m, n, 0);
	size_t h = 0, nops = sizeof imp_ops / sizeof imp_ops[0];
	while (h < nops && strcmp(imp_ops[h].op, c->op))
		h++;
	if ((h == nops || (imp_ops[h].flags & NEED_X)) && !c->x)
		return not_a_tensor(m, c);
	if (h < nops)
		return imp_ops[h].fn(m, c);
	NERR("op not supported: petri imports Conv, BatchNormalization, Relu, Clip, Sigmoid, HardSigmoid, "
	     "HardSwish, MaxPool, AveragePool, GlobalAveragePool, ReduceMean, Add, Sum, Concat, Mul (by a scalar, "
	     "or of two tensors, one possibly [N, C, 1, 1]), Gemm, MatMul, Flatten, Reshape, Transpose and Reshape "
	     "of a channel shuffle, Slice and Split of channels, Pad with zeros, Identity, Dropout, shape "
	     "arithmetic, and a final Softmax");
}

static void imp_free(imp *m)
{
	for (size_t i = 0; i < m->nv; i++)
		free(m->v[i].sv), free(m->v[i].fw);
	free(m->v);
	free(m->slot);
	for (int i = 0; i < m->capn; i++)
		free(m->w[i]), free(m->s[i]);
	free(m->w), free(m->s), free(m->wn), free(m->sn), free(m->src), free(m->flat), free(m->vec1);
	free(m->open_bias);
	free(m->shp);
	nn_graph_free(&m->g);
}

/* "node 'name' (Op)" of the ONNX node petri node id came from */
static void src_name(imp *m, int id, char *buf, size_t len)
{
	const Onnx__GraphProto *gr = m->mp->graph;
	int k = id >= 0 && id < m->capn ? m->src[id] : -1;
	if (k < 0 || (size_t)k >= gr->n_node) {
		snprintf(buf, len, "the graph input");
		return;
	}
	char nb[32];
	const Onnx__NodeProto *n = gr->node[k];
	snprintf(buf, len, "node '%.100s' (%.40s)", node_name(n, nb, sizeof nb, k), n->op_type ? n->op_type : "");
}

/* Drop nodes the output does not depend on (an unused branch, or the first
 * half of a factorized reduction that its Concat absorbed), keeping order. */
static int compact(imp *m)
{
	nn_graph *g = &m->g;
	int *map = malloc(sizeof(int) * (size_t)g->n), *stk = malloc(sizeof(int) * (size_t)g->n);
	if (!map || !stk) {
		free(map), free(stk);
		return NN_ENOMEM;
	}
	for (int i = 0; i < g->n; i++)
		map[i] = g->nodes[i].op == NN_OP_INPUT ? 1 : 0;
	int sp = 0;
	stk[sp++] = g->output, map[g->output] = 1;
	while (sp) {
		const nn_node *d = &g->nodes[stk[--sp]];
		for (int j = 0; j < d->nin; j++)
			if (!map[d->in[j]])
				map[d->in[j]] = 1, stk[sp++] = d->in[j];
	}
	int k = 0;
	for (int i = 0; i < g->n; i++) {
		if (!map[i]) {
			free(m->w[i]), free(m->s[i]);
			m->w[i] = m->s[i] = NULL;
			map[i] = -1;
			continue;
		}
		map[i] = k;
		nn_node d = g->nodes[i];
		for (int j = 0; j < d.nin; j++)
			d.in[j] = map[d.in[j]]; /* inputs come before i: already mapped */
		g->nodes[k] = d;
		m->w[k] = m->w[i], m->s[k] = m->s[i], m->wn[k] = m->wn[i], m->sn[k] = m->sn[i];
		m->src[k] = m->src[i], m->flat[k] = m->flat[i], m->vec1[k] = m->vec1[i];
		m->open_bias[k] = m->open_bias[i];
		if (k != i)
			m->w[i] = m->s[i] = NULL;
		k++;
	}
	g->output = map[g->output];
	g->n = k;
	free(map), free(stk);
	return 0;
}

static void meta_str(const Onnx__ModelProto *mp, const char *key, char *dst, size_t len)
{
	for (size_t i = 0; i < mp->n_metadata_props; i++) {
		const Onnx__StringStringEntryProto *e = mp->metadata_props[i];
		if (e && e->key && e->value && !strcmp(e->key, key)) {
			snprintf(dst, len, "%s", e->value);
			return;
		}
	}
}

int nn_onnx_decode(nn_model *out, const void *buf, size_t len, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (err && errlen)
		err[0] = 0;
	Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
	if (!mp) {
		nn_errf(err, errlen, "not a valid ONNX model: the protobuf does not parse (corrupt or truncated)");
		return NN_EFORMAT;
	}
	imp M, *m = &M;
	memset(m, 0, sizeof *m);
	m->mp = mp, m->err = err, m->errlen = errlen;
	int rc = NN_EFORMAT;
	nn_net *net = NULL;
	nn_shape *sh = NULL;
	const Onnx__GraphProto *gr = mp->graph;
	int64_t opset = -1;
	for (size_t i = 0; i < mp->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
		if (o && (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")))
			opset = o->version;
	}
	if (!gr) {
		nn_errf(err, errlen, "ONNX model has no graph");
		goto out;
	}
	if (opset < 9 || opset > 21) {
		nn_errf(err, errlen, "ONNX opset %lld is not supported (petri reads opsets 9 to 21)", (long long)opset);
		goto out;
	}
	if (gr->n_node > (1u << 20)) {
		nn_errf(err, errlen, "ONNX graph has %zu nodes, more than petri reads", gr->n_node);
		goto out;
	}
	/* initializers */
	for (size_t i = 0; i < gr->n_initializer; i++) {
		const Onnx__TensorProto *t = gr->initializer[i];
		int64_t ne;
		if (!t || !t->name || !t->name[0]) {
			nn_errf(err, errlen, "initializer %zu has no name", i);
			goto out;
		}
		if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
			char e2[300] = "";
			tensor_ok(m, t, ONNX_FLOAT, &ne);
			for (size_t k = 0; k < gr->n_node && !e2[0]; k++) /* name the node that reads it */
				for (size_t j = 0; gr->node[k] && j < gr->node[k]->n_input; j++)
					if (gr->node[k]->input[j] && !strcmp(gr->node[k]->input[j], t->name)) {
						char nb[32];
						snprintf(e2, sizeof e2, "node '%.100s' (%.40s): ",
							 node_name(gr->node[k], nb, sizeof nb, (int)k),
							 gr->node[k]->op_type ? gr->node[k]->op_type : "");
						break;
					}
			if (e2[0]) {
				char e3[600];
				snprintf(e3, sizeof e3, "%s%s", e2, err ? err : "");
				nn_errf(err, errlen, "%s", e3);
			}
			goto out;
		}
		if (find(m, t->name)) {
			nn_errf(err, errlen, "initializer '%.100s' is defined twice", t->name);
			goto out;
		}
		val *v = define(m, t->name, V_CONST);
		if (!v) {
			rc = NN_ENOMEM;
			goto out;
		}
		v->t = t;
	}
	/* the one graph input that is not an initializer */
	const Onnx__ValueInfoProto *vin = NULL;
	for (size_t i = 0; i < gr->n_input; i++) {
		const Onnx__ValueInfoProto *v = gr->input[i];
		if (!v || !v->name) {
			nn_errf(err, errlen, "graph input %zu has no name", i);
			goto out;
		}
		val *c = find(m, v->name);
		if (c && c->kind == V_CONST)
			continue;
		if (vin) {
			nn_errf(err, errlen, "the graph has several inputs ('%.100s', '%.100s'); petri takes one image",
				vin->name, v->name);
			goto out;
		}
		vin = v;
	}
	if (!vin) {
		nn_errf(err, errlen, "the graph has no input");
		goto out;
	}
	{
		const Onnx__TypeProto *tp = vin->type;
		const Onnx__TensorShapeProto *shp = tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
								tp->tensor_type ? tp->tensor_type->shape : NULL;
		if (!shp || (tp->tensor_type->elem_type != ONNX_FLOAT)) {
			nn_errf(err, errlen, "input '%.100s' is not a float32 tensor with a shape", vin->name);
			goto out;
		}
		int rank = (int)shp->n_dim;
		int64_t d[4] = { 0, 1, 1, 1 };
		if (rank != 4 && rank != 2) {
			nn_errf(err, errlen, "input '%.100s' has rank %d; petri takes [N, C, H, W] or [N, features]",
				vin->name, rank);
			goto out;
		}
		if (shp->dim[0] && shp->dim[0]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
			m->batch = shp->dim[0]->dim_value;
		for (int j = 1; j < rank; j++) {
			const Onnx__TensorShapeProto__Dimension *e = shp->dim[j];
			if (!e || e->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || e->dim_value < 1 ||
			    e->dim_value > (1 << 20)) {
				nn_errf(err, errlen, "input '%.100s': dimension %d is %s%.60s%s; petri needs fixed sizes for "
					"every dimension but the batch", vin->name, j,
					e && e->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? "'" : "",
					e && e->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && e->dim_param
						? e->dim_param : "not fixed",
					e && e->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? "'" : "");
				goto out;
			}
			d[j] = e->dim_value;
		}
		nn_shape in = { 1, (int)d[1], (int)d[2], (int)d[3] };
		nn_graph_init(&m->g, in, NN_CLASSES_ANY);
		int id = nn_input(&m->g);
		if (id < 0 || grow_arrays(m, id)) {
			rc = NN_ENOMEM;
			goto out;
		}
		m->src[id] = -1;
		val *v = define(m, vin->name, V_NODE);
		if (!v) {
			rc = NN_ENOMEM;
			goto out;
		}
		v->id = id, v->rank = rank;
	}
	if (gr->n_output != 1 || !gr->output[0] || !gr->output[0]->name) {
		nn_errf(err, errlen, "the graph has %zu outputs; petri needs one (the class scores)", gr->n_output);
		goto out;
	}
	const char *oname = gr->output[0]->name;
	for (size_t i = 0; i < gr->n_node; i++) {
		if (!gr->node[i]) {
			nn_errf(err, errlen, "node %zu is empty", i);
			goto out;
		}
		if ((rc = import_node(m, gr->node[i], (int)i, oname))) {
			if (err && errlen && strncmp(err, "node '", 6)) { /* name the node */
				char e3[700], nb[32];
				const Onnx__NodeProto *nd = gr->node[i];
				snprintf(e3, sizeof e3, "node '%.100s' (%.40s): %s", node_name(nd, nb, sizeof nb, (int)i),
					 nd->op_type ? nd->op_type : "", err[0] ? err : nn_strerror(rc));
				nn_errf(err, errlen, "%s", e3);
			}
			goto out;
		}
	}
	rc = NN_EFORMAT;
	val *ov = find(m, oname);
	if (!ov || ov->kind != V_NODE || m->g.nodes[ov->id].op == NN_OP_INPUT) {
		nn_errf(err, errlen, "graph output '%.100s' is not computed by the network", oname);
		goto out;
	}
	m->g.output = ov->id;
	if ((rc = compact(m)))
		goto out;
	rc = NN_EFORMAT;
	/* shapes: the planner's error names a petri node; name the ONNX one */
	sh = malloc(sizeof *sh * (size_t)m->g.n);
	if (!sh) {
		rc = NN_ENOMEM;
		goto out;
	}
	char e2[400], where[200];
	int sr = nn_graph_shapes(&m->g, sh, e2, sizeof e2);
	if (sr) {
		int bad = -1;
		if (sscanf(e2, "node %d", &bad) == 1)
			src_name(m, bad, where, sizeof where);
		else
			snprintf(where, sizeof where, "the graph");
		nn_errf(err, errlen, "%s: shapes do not fit: %s", where, e2);
		rc = sr;
		goto out;
	}
	nn_shape os = sh[m->g.output];
	if (os.h != 1 || os.w != 1) {
		src_name(m, m->g.output, where, sizeof where);
		nn_errf(err, errlen, "%s gives %dx%dx%d per image; the output must be a vector of class scores", where,
			os.c, os.h, os.w);
		goto out;
	}
	m->g.classes = os.c;
	for (int i = 0; i < m->g.n; i++) {
		int64_t chw = (int64_t)sh[i].c * sh[i].h * sh[i].w;
		if ((m->flat[i] && m->flat[i] != chw) || (m->vec1[i] && (sh[i].h != 1 || sh[i].w != 1))) {
			int who = m->vec1[i] ? i : -1;
			for (int j = 0; who < 0 && j < m->g.n; j++) /* the consumer that flattened i */
				for (int q = 0; q < m->g.nodes[j].nin; q++)
					if (m->g.nodes[j].in[q] == i && m->g.nodes[j].op == NN_OP_LINEAR)
						who = j;
			src_name(m, who >= 0 ? who : i, where, sizeof where);
			nn_errf(err, errlen, "%s: expects %lld features, the tensor before it has %dx%dx%d = %lld", where,
				(long long)(m->flat[i] ? m->flat[i] : sh[i].c), sh[i].c, sh[i].h, sh[i].w, (long long)chw);
			goto out;
		}
	}
	if ((rc = nn_net_create(&net, &m->g, 1, e2, sizeof e2))) {
		nn_errf(err, errlen, "cannot plan the imported network: %s", e2);
		goto out;
	}
	rc = NN_EFORMAT;
	for (int i = 0; i < m->g.n; i++) {
		size_t po, pl, so, sl;
		nn_net_param_slice(net, i, &po, &pl);
		nn_net_state_slice(net, i, &so, &sl);
		if (pl != m->wn[i] || sl != m->sn[i]) {
			src_name(m, i, where, sizeof where);
			nn_errf(err, errlen, "%s: has %zu weights and %zu statistics, the input's shape needs %zu and %zu",
				where, m->wn[i], m->sn[i], pl, sl);
			goto out;
		}
		if (pl)
			memcpy(nn_net_params(net) + po, m->w[i], sizeof(float) * pl);
		if (sl)
			memcpy(nn_net_state(net) + so, m->s[i], sizeof(float) * sl);
	}
	for (int i = 0; i < m->g.n; i++) {
		size_t po, pl, so, sl;
		int finite = 1;
		nn_net_param_slice(net, i, &po, &pl);
		nn_net_state_slice(net, i, &so, &sl);
		for (size_t j = 0; j < pl; j++)
			finite &= isfinite(nn_net_params(net)[po + j]) != 0;
		for (size_t j = 0; j < sl; j++)
			finite &= isfinite(nn_net_state(net)[so + j]) != 0;
		if (!finite) {
			src_name(m, i, where, sizeof where);
			nn_errf(err, errlen, "%s: a weight or statistic is not finite (NaN or infinity)", where);
			goto out;
		}
	}
	if ((rc = nn_model_from_net(out, net))) {
		nn_errf(err, errlen, "out of memory");
		goto out;
	}
	meta_str(mp, "petri.data", out->data, sizeof out->data);
	{
		/* a number that can be a scale, or unknown */
		char sv[64] = "", *end = sv;
		double sc = 0;
		meta_str(mp, "input_scale", sv, sizeof sv);
		if (sv[0] && strspn(sv, "0123456789+-.eE") == strlen(sv))
			sc = strtod(sv, &end);
		out->lineage.input_scale = end != sv && !*end && nn_scale_ok(sc) ? sc : 0;
	}
	out->imported = 1;
	rc = 0;
out:
	if (rc && err && errlen && !err[0])
		nn_errf(err, errlen, "cannot import the model: %s", nn_strerror(rc));
	free(sh);
	nn_net_free(net);
	imp_free(m);
	onnx__model_proto__free_unpacked(mp, NULL);
	return rc;
}
