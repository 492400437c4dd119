/* model.c - petri model files: one MessagePack record per model.
 *
 * Record: ["PETRIMDL", version, map] where map holds
 *   "input"   [c, h, w]            "classes"  int       "output" int
 *   "nodes"   [[op, flags, role, stage, [in...],
 *               [k, stride, pad, dil, groups, cout, init, eps, momentum, l1]], ...]
 *   "params"  bin: float32 LE      "state"    bin: float32 LE (BN running stats)
 *   "cost"    {params, macs, act1, act_train, latency_ms}
 *   "metrics" {val_acc, val_loss, test_acc, test_loss, epochs}
 *   "lineage" {id, parent, grown, search, depth}
 *   "data"    str
 * Unknown map keys are skipped (readers of the same version stay compatible);
 * a newer version is refused. Op ids are the append-only enum nn_op.
 */
#include "nn_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "weights are stored as little-endian float32");

void nn_model_free(nn_model *m)
{
	nn_graph_free(&m->g);
	free(m->params);
	free(m->state);
	memset(m, 0, sizeof *m);
}

int nn_model_from_net(nn_model *m, nn_net *net)
{
	memset(m, 0, sizeof *m);
	int rc = nn_graph_copy(&m->g, &net->g);
	if (rc)
		return rc;
	m->nparams = net->nparams, m->nstate = net->nstate;
	m->params = malloc(sizeof(float) * (m->nparams + 1));
	m->state = malloc(sizeof(float) * (m->nstate + 1));
	if (!m->params || !m->state) {
		nn_model_free(m);
		return NN_ENOMEM;
	}
	memcpy(m->params, net->params, sizeof(float) * m->nparams);
	memcpy(m->state, net->state, sizeof(float) * m->nstate);
	nn_graph_cost(&m->g, 128, &m->cost, NULL, 0);
	return 0;
}

int nn_model_to_net(const nn_model *m, int batch, nn_net **out, char *err, size_t errlen)
{
	nn_net *net;
	int rc = nn_net_create(&net, &m->g, batch, err, errlen);
	if (rc)
		return rc;
	if (net->nparams != m->nparams || net->nstate != m->nstate) {
		nn_errf(err, errlen, "model has %zu weights and %zu state values, its graph needs %zu and %zu",
			m->nparams, m->nstate, net->nparams, net->nstate);
		nn_net_free(net);
		return NN_EFORMAT;
	}
	memcpy(net->params, m->params, sizeof(float) * m->nparams);
	memcpy(net->state, m->state, sizeof(float) * m->nstate);
	*out = net;
	return 0;
}

/* ---- encode ---- */
static void pk_str(msgpack_packer *pk, const char *s)
{
	size_t l = strlen(s);
	msgpack_pack_str(pk, l);
	msgpack_pack_str_body(pk, s, l);
}

static void pk_kv_u64(msgpack_packer *pk, const char *k, uint64_t v) { pk_str(pk, k); msgpack_pack_uint64(pk, v); }
static void pk_kv_f(msgpack_packer *pk, const char *k, double v) { pk_str(pk, k); msgpack_pack_double(pk, v); }
static void pk_kv_s(msgpack_packer *pk, const char *k, const char *v) { pk_str(pk, k); pk_str(pk, v); }

static void pk_floats(msgpack_packer *pk, const float *f, size_t n)
{
	msgpack_pack_bin(pk, n * 4);
	msgpack_pack_bin_body(pk, f, n * 4);
}

int nn_model_encode(const nn_model *m, char **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	pk_str(&pk, NN_MODEL_MAGIC);
	msgpack_pack_int(&pk, NN_MODEL_VERSION);
	msgpack_pack_map(&pk, 10);
	pk_str(&pk, "input");
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, m->g.in.c), msgpack_pack_int(&pk, m->g.in.h), msgpack_pack_int(&pk, m->g.in.w);
	pk_kv_u64(&pk, "classes", (uint64_t)m->g.classes);
	pk_kv_u64(&pk, "output", (uint64_t)m->g.output);
	pk_str(&pk, "nodes");
	msgpack_pack_array(&pk, m->g.n);
	for (int i = 0; i < m->g.n; i++) {
		const nn_node *d = &m->g.nodes[i];
		msgpack_pack_array(&pk, 6);
		msgpack_pack_int(&pk, d->op);
		msgpack_pack_int(&pk, d->flags);
		msgpack_pack_int(&pk, d->role);
		msgpack_pack_int(&pk, d->stage);
		msgpack_pack_array(&pk, d->nin);
		for (int j = 0; j < d->nin; j++)
			msgpack_pack_int(&pk, d->in[j]);
		const nn_params *p = &d->p;
		msgpack_pack_array(&pk, 10);
		msgpack_pack_int(&pk, p->k), msgpack_pack_int(&pk, p->stride), msgpack_pack_int(&pk, p->pad);
		msgpack_pack_int(&pk, p->dil), msgpack_pack_int(&pk, p->groups), msgpack_pack_int(&pk, p->cout);
		msgpack_pack_float(&pk, p->init), msgpack_pack_float(&pk, p->eps);
		msgpack_pack_float(&pk, p->momentum), msgpack_pack_float(&pk, p->l1);
	}
	pk_str(&pk, "params");
	pk_floats(&pk, m->params, m->nparams);
	pk_str(&pk, "state");
	pk_floats(&pk, m->state, m->nstate);
	pk_str(&pk, "cost");
	msgpack_pack_map(&pk, 5);
	pk_kv_u64(&pk, "params", m->cost.params);
	pk_kv_u64(&pk, "macs", m->cost.macs);
	pk_kv_u64(&pk, "act1", m->cost.act_bytes_1);
	pk_kv_u64(&pk, "act_train", m->cost.act_bytes_train);
	pk_kv_f(&pk, "latency_ms", m->cost.latency_ms);
	pk_str(&pk, "metrics");
	msgpack_pack_map(&pk, 5);
	pk_kv_f(&pk, "val_acc", m->metrics.val_acc);
	pk_kv_f(&pk, "val_loss", m->metrics.val_loss);
	pk_kv_f(&pk, "test_acc", m->metrics.test_acc);
	pk_kv_f(&pk, "test_loss", m->metrics.test_loss);
	pk_kv_f(&pk, "epochs", m->metrics.epochs);
	pk_str(&pk, "lineage");
	msgpack_pack_map(&pk, 5);
	pk_kv_s(&pk, "id", m->lineage.id);
	pk_kv_s(&pk, "parent", m->lineage.parent);
	pk_kv_s(&pk, "grown", m->lineage.grown);
	pk_kv_s(&pk, "search", m->lineage.search);
	pk_kv_u64(&pk, "depth", (uint64_t)(m->lineage.depth < 0 ? 0 : m->lineage.depth));
	pk_kv_s(&pk, "data", m->data);
	*buf = sb.data;
	*len = sb.size;
	if (!sb.data)
		return NN_ENOMEM;
	return 0;
}

/* ---- bounded structural check before msgpack-c unpacks ----
 * msgpack-c allocates count * sizeof(object) for an array header before it
 * knows whether the bytes exist; a 5-byte input could ask for 100 GB. Walk
 * the bytes first: every declared element needs at least one byte. */
static int need(size_t pos, size_t n, size_t len) { return n <= len && pos <= len - n; }

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int walk(const unsigned char *b, size_t len, size_t *pos, int depth)
{
	if (depth < 0 || *pos >= len)
		return -1;
	unsigned t = b[(*pos)++];
	uint64_t n = 0, items = 0;
	int lb = 0;
	if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
		return 0;
	if ((t & 0xe0) == 0xa0) { n = t & 0x1f; goto skip; }
	if ((t & 0xf0) == 0x90) { items = t & 0x0f; goto nest; }
	if ((t & 0xf0) == 0x80) { items = 2 * (uint64_t)(t & 0x0f); goto nest; }
	switch (t) {
	case 0xc4: case 0xd9: lb = 1; goto sized;
	case 0xc5: case 0xda: lb = 2; goto sized;
	case 0xc6: case 0xdb: lb = 4; goto sized;
	case 0xc7: lb = 1; goto ext;
	case 0xc8: lb = 2; goto ext;
	case 0xc9: lb = 4; goto ext;
	case 0xca: case 0xce: case 0xd2: n = 4; goto skip;
	case 0xcb: case 0xcf: case 0xd3: n = 8; goto skip;
	case 0xcc: case 0xd0: n = 1; goto skip;
	case 0xcd: case 0xd1: n = 2; goto skip;
	case 0xd4: n = 2; goto skip;
	case 0xd5: n = 3; goto skip;
	case 0xd6: n = 5; goto skip;
	case 0xd7: n = 9; goto skip;
	case 0xd8: n = 17; goto skip;
	case 0xdc: case 0xde:
		if (!need(*pos, 2, len)) return -1;
		items = be(b + *pos, 2) * (t == 0xde ? 2 : 1);
		*pos += 2;
		goto nest;
	case 0xdd: case 0xdf:
		if (!need(*pos, 4, len)) return -1;
		items = be(b + *pos, 4) * (t == 0xdf ? 2 : 1);
		*pos += 4;
		goto nest;
	default:
		return -1; /* 0xc1: never used */
	}
sized:
	if (!need(*pos, lb, len)) return -1;
	n = be(b + *pos, lb);
	*pos += lb;
	goto skip;
ext:
	if (!need(*pos, lb, len)) return -1;
	n = be(b + *pos, lb) + 1;
	*pos += lb;
skip:
	if (!need(*pos, n, len)) return -1;
	*pos += n;
	return 0;
nest:
	if (items > len - *pos)
		return -1;
	for (uint64_t i = 0; i < items; i++)
		if (walk(b, len, pos, depth - 1))
			return -1;
	return 0;
}

int nn_msgpack_check(const void *buf, size_t len, int depth)
{
	size_t pos = 0;
	if (walk(buf, len, &pos, depth))
		return NN_EFORMAT;
	return pos == len ? 0 : NN_EFORMAT;
}

/* ---- decode ---- */
static int str_eq(const msgpack_object *o, const char *s)
{
	size_t l = strlen(s);
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == l && !memcmp(o->via.str.ptr, s, l);
}

static int get_int(const msgpack_object *o, int64_t lo, int64_t hi, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > (uint64_t)INT64_MAX)
			return -1;
		*v = (int64_t)o->via.u64;
	} else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
	} else {
		return -1;
	}
	return *v < lo || *v > hi ? -1 : 0;
}

static int get_num(const msgpack_object *o, double *v)
{
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64: *v = o->via.f64; return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: *v = (double)o->via.u64; return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: *v = (double)o->via.i64; return 0;
	default: return -1;
	}
}

static void get_str(const msgpack_object *o, char *dst, size_t cap)
{
	dst[0] = 0;
	if (o->type != MSGPACK_OBJECT_STR)
		return;
	size_t l = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
	memcpy(dst, o->via.str.ptr, l);
	dst[l] = 0;
}

static const msgpack_object *map_get(const msgpack_object *m, const char *k)
{
	if (m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < m->via.map.size; i++)
		if (str_eq(&m->via.map.ptr[i].key, k))
			return &m->via.map.ptr[i].val;
	return NULL;
}

static int get_floats(const msgpack_object *o, float **dst, size_t *n)
{
	if (!o || o->type != MSGPACK_OBJECT_BIN || o->via.bin.size % 4)
		return -1;
	*n = o->via.bin.size / 4;
	*dst = malloc(o->via.bin.size + 4);
	if (!*dst)
		return -1;
	if (o->via.bin.size)
		memcpy(*dst, o->via.bin.ptr, o->via.bin.size);
	return 0;
}

#define BAD(...) do { nn_errf(err, errlen, __VA_ARGS__); rc = NN_EFORMAT; goto fail; } while (0)

static int decode_node(const msgpack_object *o, nn_node *d, int i, int nnodes, char *err, size_t errlen)
{
	int rc = 0;
	int64_t v;
	memset(d, 0, sizeof *d);
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 6)
		BAD("node %d: not an array of 6 fields", i);
	const msgpack_object *f = o->via.array.ptr;
	if (get_int(&f[0], 0, INT32_MAX, &v))
		BAD("node %d: bad op field", i);
	if (v >= NN_OP__COUNT) {
		nn_errf(err, errlen, "node %d: unknown op %lld (written by a newer petri?)", i, (long long)v);
		return NN_EOP;
	}
	d->op = (int)v;
	if (get_int(&f[1], 0, 0xffff, &v)) BAD("node %d (%s): bad flags", i, nn_op_name(d->op));
	d->flags = (int)v;
	if (get_int(&f[2], 0, 255, &v)) BAD("node %d (%s): bad role", i, nn_op_name(d->op));
	d->role = (int)v;
	if (get_int(&f[3], 0, 255, &v)) BAD("node %d (%s): bad stage", i, nn_op_name(d->op));
	d->stage = (int)v;
	if (f[4].type != MSGPACK_OBJECT_ARRAY || f[4].via.array.size > NN_MAXIN)
		BAD("node %d (%s): bad input list", i, nn_op_name(d->op));
	d->nin = (int)f[4].via.array.size;
	for (int j = 0; j < d->nin; j++) {
		if (get_int(&f[4].via.array.ptr[j], 0, nnodes - 1, &v))
			BAD("node %d (%s): input %d is not a node id", i, nn_op_name(d->op), j);
		d->in[j] = (int)v;
	}
	if (f[5].type != MSGPACK_OBJECT_ARRAY || f[5].via.array.size < 10)
		BAD("node %d (%s): bad params", i, nn_op_name(d->op));
	const msgpack_object *p = f[5].via.array.ptr;
	/* bounds keep the planner's int arithmetic (h + 2 pad - dil (k - 1))
	 * far from overflow; real nets stay well inside them */
	int *ip[6] = { &d->p.k, &d->p.stride, &d->p.pad, &d->p.dil, &d->p.groups, &d->p.cout };
	static const char *const pname[6] = { "k", "stride", "pad", "dil", "groups", "cout" };
	static const int pmax[6] = { 1 << 10, 1 << 10, 1 << 12, 1 << 10, 1 << 20, 1 << 20 };
	for (int j = 0; j < 6; j++) {
		if (get_int(&p[j], 0, pmax[j], &v))
			BAD("node %d (%s): param %s out of range 0..%d", i, nn_op_name(d->op), pname[j], pmax[j]);
		*ip[j] = (int)v;
	}
	float *fp[4] = { &d->p.init, &d->p.eps, &d->p.momentum, &d->p.l1 };
	for (int j = 0; j < 4; j++) {
		double x;
		if (get_num(&p[6 + j], &x) || !(x == x) || x > 1e30 || x < -1e30)
			BAD("node %d (%s): param %d is not a number", i, nn_op_name(d->op), 6 + j);
		*fp[j] = (float)x;
	}
fail:
	return rc;
}

int nn_model_decode(nn_model *m, const void *buf, size_t len, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	int rc = 0;
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	if (len < 10) {
		nn_errf(err, errlen, "truncated: %zu bytes is too short for a model", len);
		msgpack_unpacked_destroy(&up);
		return NN_EFORMAT;
	}
	/* magic before anything else, so a foreign file gets the right message */
	const unsigned char *b = buf;
	if (b[0] != 0x93 || b[1] != (0xa0 | 8) || memcmp(b + 2, NN_MODEL_MAGIC, 8)) {
		nn_errf(err, errlen, "wrong magic: not a petri model file");
		msgpack_unpacked_destroy(&up);
		return NN_EFORMAT;
	}
	if (nn_msgpack_check(buf, len, 16))
		BAD("truncated or corrupt MessagePack (%zu bytes)", len);
	size_t off = 0;
	if (msgpack_unpack_next(&up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS)
		BAD("corrupt MessagePack");
	const msgpack_object *root = &up.data;
	if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != 3)
		BAD("record is not [magic, version, body]");
	int64_t ver;
	if (get_int(&root->via.array.ptr[1], 0, INT32_MAX, &ver))
		BAD("bad version field");
	if (ver > NN_MODEL_VERSION || ver < 1) {
		nn_errf(err, errlen, "model format version %lld is not supported (this petri reads version %d)",
			(long long)ver, NN_MODEL_VERSION);
		rc = NN_EVERSION;
		goto fail;
	}
	const msgpack_object *body = &root->via.array.ptr[2], *o;
	if (body->type != MSGPACK_OBJECT_MAP)
		BAD("body is not a map");
	int64_t v;
	o = map_get(body, "input");
	if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3)
		BAD("field 'input': missing or not [c, h, w]");
	int dims[3];
	for (int i = 0; i < 3; i++) {
		if (get_int(&o->via.array.ptr[i], 1, 1 << 16, &v))
			BAD("field 'input': dimension %d out of range", i);
		dims[i] = (int)v;
	}
	o = map_get(body, "classes");
	if (!o || get_int(o, 1, 1 << 20, &v))
		BAD("field 'classes': missing or out of range");
	nn_graph_init(&m->g, (nn_shape){ 1, dims[0], dims[1], dims[2] }, (int)v);
	o = map_get(body, "nodes");
	if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1 || o->via.array.size > 1000000)
		BAD("field 'nodes': missing or empty");
	int n = (int)o->via.array.size;
	m->g.nodes = calloc(n, sizeof(nn_node));
	if (!m->g.nodes) {
		rc = NN_ENOMEM;
		goto fail;
	}
	m->g.cap = n;
	for (int i = 0; i < n; i++) {
		if ((rc = decode_node(&o->via.array.ptr[i], &m->g.nodes[i], i, n, err, errlen)))
			goto fail;
		m->g.n = i + 1;
	}
	o = map_get(body, "output");
	if (!o || get_int(o, 0, n - 1, &v))
		BAD("field 'output': missing or not a node id");
	m->g.output = (int)v;
	if (get_floats(map_get(body, "params"), &m->params, &m->nparams))
		BAD("field 'params': missing or not float32 bytes");
	if (get_floats(map_get(body, "state"), &m->state, &m->nstate))
		BAD("field 'state': missing or not float32 bytes");
	if ((o = map_get(body, "cost"))) {
		const msgpack_object *c;
		double x;
		if ((c = map_get(o, "params")) && !get_int(c, 0, INT64_MAX, &v)) m->cost.params = (uint64_t)v;
		if ((c = map_get(o, "macs")) && !get_int(c, 0, INT64_MAX, &v)) m->cost.macs = (uint64_t)v;
		if ((c = map_get(o, "act1")) && !get_int(c, 0, INT64_MAX, &v)) m->cost.act_bytes_1 = (uint64_t)v;
		if ((c = map_get(o, "act_train")) && !get_int(c, 0, INT64_MAX, &v)) m->cost.act_bytes_train = (uint64_t)v;
		if ((c = map_get(o, "latency_ms")) && !get_num(c, &x)) m->cost.latency_ms = x;
	}
	if ((o = map_get(body, "metrics"))) {
		const msgpack_object *c;
		double x;
		if ((c = map_get(o, "val_acc")) && !get_num(c, &x)) m->metrics.val_acc = (float)x;
		if ((c = map_get(o, "val_loss")) && !get_num(c, &x)) m->metrics.val_loss = (float)x;
		if ((c = map_get(o, "test_acc")) && !get_num(c, &x)) m->metrics.test_acc = (float)x;
		if ((c = map_get(o, "test_loss")) && !get_num(c, &x)) m->metrics.test_loss = (float)x;
		if ((c = map_get(o, "epochs")) && !get_num(c, &x)) m->metrics.epochs = x;
	}
	if ((o = map_get(body, "lineage"))) {
		const msgpack_object *c;
		if ((c = map_get(o, "id"))) get_str(c, m->lineage.id, sizeof m->lineage.id);
		if ((c = map_get(o, "parent"))) get_str(c, m->lineage.parent, sizeof m->lineage.parent);
		if ((c = map_get(o, "grown"))) get_str(c, m->lineage.grown, sizeof m->lineage.grown);
		if ((c = map_get(o, "search"))) get_str(c, m->lineage.search, sizeof m->lineage.search);
		if ((c = map_get(o, "depth")) && !get_int(c, 0, 1 << 20, &v)) m->lineage.depth = (int)v;
	}
	if ((o = map_get(body, "data")))
		get_str(o, m->data, sizeof m->data);
	/* the graph must plan and its weights must fit it exactly */
	nn_cost cost;
	char perr[256] = "";
	if ((rc = nn_graph_cost(&m->g, 1, &cost, perr, sizeof perr))) {
		nn_errf(err, errlen, "inconsistent graph: %s", perr);
		if (rc == NN_ENOMEM)
			rc = NN_EFORMAT;
		goto fail;
	}
	{
		size_t np = 0, ns = 0;
		nn_plan_sizes(&m->g, &np, &ns);
		if (np != m->nparams || ns != m->nstate)
			BAD("inconsistent shapes: %zu weights and %zu state values stored, graph needs %zu and %zu",
			    m->nparams, m->nstate, np, ns);
	}
	msgpack_unpacked_destroy(&up);
	return 0;
fail:
	msgpack_unpacked_destroy(&up);
	nn_model_free(m);
	return rc ? rc : NN_EFORMAT;
}

int nn_is_onnx_path(const char *path)
{
	size_t l = path ? strlen(path) : 0;
	return l >= 5 && !strcmp(path + l - 5, ".onnx");
}

int nn_model_save(const nn_model *m, const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	char e2[400] = "";
	int rc = nn_is_onnx_path(path) ? nn_onnx_encode(m, &buf, &len, e2, sizeof e2) : nn_model_encode(m, &buf, &len);
	if (rc) {
		nn_errf(err, errlen, "%s: cannot encode: %s", path, e2[0] ? e2 : nn_strerror(rc));
		return rc;
	}
	size_t pl = strlen(path);
	char *tmp = malloc(pl + 16);
	if (!tmp) {
		free(buf);
		return NN_ENOMEM;
	}
	snprintf(tmp, pl + 16, "%s.tmp%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		nn_errf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		free(buf);
		free(tmp);
		return NN_EIO;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		done += (size_t)w;
	}
	int ok = done == len && fsync(fd) == 0;
	int e = errno;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path)) {
		nn_errf(err, errlen, "%s: cannot write: %s", path, strerror(ok ? errno : e));
		unlink(tmp);
		free(buf);
		free(tmp);
		return NN_EIO;
	}
	free(buf);
	free(tmp);
	return 0;
}

int nn_model_load(nn_model *m, const char *path, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	int rc0 = nn_check_regular(path, err, errlen);
	if (rc0)
		return rc0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		nn_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NN_EIO;
	}
	if (fseek(f, 0, SEEK_END) != 0) {
		fclose(f);
		nn_errf(err, errlen, "%s: not a regular file", path);
		return NN_EIO;
	}
	long sz = ftell(f);
	rewind(f);
	if (sz < 0 || sz > (1L << 34)) {
		fclose(f);
		nn_errf(err, errlen, "%s: bad size", path);
		return NN_EIO;
	}
	char *buf = malloc((size_t)sz + 1);
	if (!buf) {
		fclose(f);
		return NN_ENOMEM;
	}
	size_t got = fread(buf, 1, (size_t)sz, f);
	fclose(f);
	char e2[400] = "";
	int rc = NN_EIO;
	/* a petri model is a MessagePack array of 3 (0x93): anything else may be ONNX */
	int petri = got > 0 && (unsigned char)buf[0] == 0x93;
	if (got != (size_t)sz)
		snprintf(e2, sizeof e2, "read error");
	else if (nn_is_onnx_path(path) || (got > 0 && !petri))
		rc = nn_onnx_decode(m, buf, got, e2, sizeof e2);
	else
		rc = nn_model_decode(m, buf, got, e2, sizeof e2);
	if (rc && !nn_is_onnx_path(path) && got > 0 && !petri)
		nn_errf(err, errlen, "%s: not a petri model (bad magic: no PETRIMDL header) and not an ONNX model (%s)", path, e2);
	else if (rc)
		nn_errf(err, errlen, "%s: %s", path, e2);
	free(buf);
	return rc;
}
