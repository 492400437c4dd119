/* model.c - the model value, its link to a planned net, and petri's own
 * model record: one MessagePack record per model.
 *
 * Record: ["PETRIMDL", version, map, check] (the check is nn/rec's CRC-32C
 * of the bytes before it; version 1 had none and is refused) where map holds
 *   "input"   [c, h, w]            "classes"  int       "output" int
 *   "nodes"   [[op, flags, role, stage, [in...],
 *               [k, stride, pad, dil, groups, cout, init, eps, momentum, l1, alpha, beta,
 *                pad_top, pad_left, pad_bottom, pad_right, ceil_mode, count_pad, start]], ...]
 *             (an entry missing from an older file reads 0; entries past
 *             the known are skipped)
 *   "params"  bin: float32 LE      "state"    bin: float32 LE (BN running stats)
 *   "cost"    {params, macs, act1, act_train, latency_ms}
 *   "metrics" {val_acc, val_loss, test_acc, test_loss, epochs}
 *   "lineage" {id, parent, grown, search, depth, input_scale}  (input_scale
 *             since it was recorded; missing: 0, unknown)
 *   "data"    str
 * Unknown map keys are skipped (readers of the same version stay compatible);
 * a newer version is refused. Op ids are the append-only enum nn_op.
 */
#include "nnio.h"
#include "rec.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "weights are stored as little-endian float32");

/* The maps "cost", "metrics" and "lineage": each field's key, how it is
 * stored and where it lives in nn_model; encode and decode both read these
 * tables, so the two sides cannot drift apart. */
enum { F_U64, F_DBL, F_FLT, F_STR, F_DEPTH };
typedef struct {
	const char *key;
	int type;   /* F_U64: uint; F_DBL, F_FLT: a double in the file; F_STR; F_DEPTH: int 0..2^20 */
	size_t off, size;
} field;
#define FIELD(k, t, member) { k, t, offsetof(nn_model, member), sizeof(((nn_model *)0)->member) }
static const field cost_fields[] = {
	FIELD("params", F_U64, cost.params), FIELD("macs", F_U64, cost.macs), FIELD("act1", F_U64, cost.act_bytes_1),
	FIELD("act_train", F_U64, cost.act_bytes_train), FIELD("latency_ms", F_DBL, cost.latency_ms),
};
static const field metrics_fields[] = {
	FIELD("val_acc", F_FLT, metrics.val_acc), FIELD("val_loss", F_FLT, metrics.val_loss),
	FIELD("test_acc", F_FLT, metrics.test_acc), FIELD("test_loss", F_FLT, metrics.test_loss),
	FIELD("epochs", F_DBL, metrics.epochs),
};
static const field lineage_fields[] = {
	FIELD("id", F_STR, lineage.id), FIELD("parent", F_STR, lineage.parent), FIELD("grown", F_STR, lineage.grown),
	FIELD("search", F_STR, lineage.search), FIELD("depth", F_DEPTH, lineage.depth),
	FIELD("input_scale", F_DBL, lineage.input_scale),
};
#undef FIELD
static const struct {
	const char *name;
	const field *f;
	int n;
} field_maps[] = {
	{ "cost", cost_fields, sizeof cost_fields / sizeof cost_fields[0] },
	{ "metrics", metrics_fields, sizeof metrics_fields / sizeof metrics_fields[0] },
	{ "lineage", lineage_fields, sizeof lineage_fields / sizeof lineage_fields[0] },
};

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
	int rc = nn_graph_copy(&m->g, nn_net_graph(net));
	if (rc)
		return rc;
	m->nparams = nn_net_nparams(net), m->nstate = nn_net_nstate(net);
	m->params = malloc(sizeof(float) * (m->nparams + 1));
	m->state = malloc(sizeof(float) * (m->nstate + 1));
	if (!m->params || !m->state) {
		nn_model_free(m);
		return NN_ENOMEM;
	}
	memcpy(m->params, nn_net_params(net), sizeof(float) * m->nparams);
	memcpy(m->state, nn_net_state(net), sizeof(float) * m->nstate);
	nn_graph_cost(&m->g, 128, &m->cost, NULL, 0);
	return 0;
}

int nn_model_to_net(const nn_model *m, int batch, nn_net **out, char *err, size_t errlen)
{
	nn_net *net;
	int rc = nn_net_create(&net, &m->g, batch, err, errlen);
	if (rc)
		return rc;
	size_t np = nn_net_nparams(net), ns = nn_net_nstate(net);
	if (np != m->nparams || ns != m->nstate) {
		nn_errf(err, errlen, "model has %zu weights and %zu state values, its graph needs %zu and %zu",
			m->nparams, m->nstate, np, ns);
		nn_net_free(net);
		return NN_EFORMAT;
	}
	memcpy(nn_net_params(net), m->params, sizeof(float) * m->nparams);
	memcpy(nn_net_state(net), m->state, sizeof(float) * m->nstate);
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

static void pk_fields(msgpack_packer *pk, const nn_model *m, const field *f, int n)
{
	msgpack_pack_map(pk, n);
	for (int i = 0; i < n; i++) {
		const char *p = (const char *)m + f[i].off;
		int depth;
		pk_str(pk, f[i].key);
		switch (f[i].type) {
		case F_U64: msgpack_pack_uint64(pk, *(const uint64_t *)p); break;
		case F_DBL: msgpack_pack_double(pk, *(const double *)p); break;
		case F_FLT: msgpack_pack_double(pk, *(const float *)p); break;
		case F_STR: pk_str(pk, p); break;
		case F_DEPTH:
			depth = *(const int *)p;
			msgpack_pack_uint64(pk, (uint64_t)(depth < 0 ? 0 : depth));
			break;
		}
	}
}

static void pk_floats(msgpack_packer *pk, const float *f, size_t n)
{
	msgpack_pack_bin(pk, n * 4);
	msgpack_pack_bin_body(pk, f, n * 4);
}

int nn_model_encode(const nn_model *m, char **buf, size_t *len)
{
	nn_rec_enc e;
	nn_rec_begin(&e, NN_MODEL_MAGIC, NN_MODEL_VERSION, 1); /* [magic, version, body] */
	msgpack_packer *pk = &e.pk;
	msgpack_pack_map(pk, 10);
	pk_str(pk, "input");
	msgpack_pack_array(pk, 3);
	msgpack_pack_int(pk, m->g.in.c), msgpack_pack_int(pk, m->g.in.h), msgpack_pack_int(pk, m->g.in.w);
	pk_kv_u64(pk, "classes", (uint64_t)m->g.classes);
	pk_kv_u64(pk, "output", (uint64_t)m->g.output);
	pk_str(pk, "nodes");
	msgpack_pack_array(pk, m->g.n);
	for (int i = 0; i < m->g.n; i++) {
		const nn_node *d = &m->g.nodes[i];
		msgpack_pack_array(pk, 6);
		msgpack_pack_int(pk, d->op);
		msgpack_pack_int(pk, d->flags);
		msgpack_pack_int(pk, d->role);
		msgpack_pack_int(pk, d->stage);
		msgpack_pack_array(pk, d->nin);
		for (int j = 0; j < d->nin; j++)
			msgpack_pack_int(pk, d->in[j]);
		const nn_params *p = &d->p;
		msgpack_pack_array(pk, 19);
		msgpack_pack_int(pk, p->k), msgpack_pack_int(pk, p->stride), msgpack_pack_int(pk, p->pad);
		msgpack_pack_int(pk, p->dil), msgpack_pack_int(pk, p->groups), msgpack_pack_int(pk, p->cout);
		msgpack_pack_float(pk, p->init), msgpack_pack_float(pk, p->eps);
		msgpack_pack_float(pk, p->momentum), msgpack_pack_float(pk, p->l1);
		msgpack_pack_float(pk, p->alpha), msgpack_pack_float(pk, p->beta);
		for (int j = 0; j < 4; j++)
			msgpack_pack_int(pk, p->pads[j]);
		msgpack_pack_int(pk, p->ceil_mode), msgpack_pack_int(pk, p->count_pad), msgpack_pack_int(pk, p->start);
	}
	pk_str(pk, "params");
	pk_floats(pk, m->params, m->nparams);
	pk_str(pk, "state");
	pk_floats(pk, m->state, m->nstate);
	for (size_t i = 0; i < sizeof field_maps / sizeof field_maps[0]; i++) {
		pk_str(pk, field_maps[i].name);
		pk_fields(pk, m, field_maps[i].f, field_maps[i].n);
	}
	pk_str(pk, "data");
	pk_str(pk, m->data);
	return nn_rec_finish(&e, buf, len) ? NN_ENOMEM : 0;
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

/* fields of a map that are present and of the right type; others stay 0 */
static void get_fields(const msgpack_object *o, nn_model *m, const field *f, int n)
{
	for (int i = 0; i < n; i++) {
		const msgpack_object *c = map_get(o, f[i].key);
		char *p = (char *)m + f[i].off;
		int64_t v;
		double x;
		if (!c)
			continue;
		switch (f[i].type) {
		case F_U64: if (!get_int(c, 0, INT64_MAX, &v)) *(uint64_t *)p = (uint64_t)v; break;
		case F_DBL: if (!get_num(c, &x)) *(double *)p = x; break;
		case F_FLT: if (!get_num(c, &x)) *(float *)p = (float)x; break;
		case F_STR: get_str(c, p, f[i].size); break;
		case F_DEPTH: if (!get_int(c, 0, 1 << 20, &v)) *(int *)p = (int)v; break;
		}
	}
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
	if (!nn_op_known((int)v)) {
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
	float *fp[6] = { &d->p.init, &d->p.eps, &d->p.momentum, &d->p.l1, &d->p.alpha, &d->p.beta };
	for (int j = 0; j < 6 && 6 + j < (int)f[5].via.array.size; j++) {
		double x;
		if (get_num(&p[6 + j], &x) || !(x == x) || x > 1e30 || x < -1e30)
			BAD("node %d (%s): param %d is not a number", i, nn_op_name(d->op), 6 + j);
		*fp[j] = (float)x;
	}
	/* since shape ops: entries 12..18, each 0 when missing (10 and 11 are
	 * the activation ops' floats) */
	int *xp[7] = { &d->p.pads[0], &d->p.pads[1], &d->p.pads[2], &d->p.pads[3], &d->p.ceil_mode, &d->p.count_pad,
		       &d->p.start };
	static const char *const xname[7] = { "pad_top", "pad_left", "pad_bottom", "pad_right", "ceil_mode",
					       "count_pad", "start" };
	static const int xmax[7] = { 1 << 12, 1 << 12, 1 << 12, 1 << 12, 1, 1, 1 << 20 };
	for (uint32_t j = 0; j < 7 && 12 + j < f[5].via.array.size; j++) {
		if (get_int(&p[12 + j], 0, xmax[j], &v))
			BAD("node %d (%s): param %s out of range 0..%d", i, nn_op_name(d->op), xname[j], xmax[j]);
		*xp[j] = (int)v;
	}
fail:
	return rc;
}

int nn_model_decode(nn_model *m, const void *buf, size_t len, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	int rc = 0;
	nn_rec_dec d;
	if (len < 10) {
		nn_errf(err, errlen, "truncated: %zu bytes is too short for a model", len);
		return NN_EFORMAT;
	}
	/* magic before anything else, so a foreign file gets the right message
	 * (an array of 4; of 3 before checksums, refused below as such) */
	const unsigned char *b = buf;
	if ((b[0] != 0x94 && b[0] != 0x93) || b[1] != (0xa0 | 8) || memcmp(b + 2, NN_MODEL_MAGIC, 8)) {
		nn_errf(err, errlen, "wrong magic: not a petri model file");
		return NN_EFORMAT;
	}
	switch (nn_rec_open(&d, buf, len, NN_MODEL_MAGIC, NN_MODEL_VERSION, 1, 16)) {
	case 0:
		break;
	case NN_REC_ECHECKSUM:
		nn_errf(err, errlen, "checksum mismatch (record corrupt)");
		return NN_EFORMAT;
	case NN_REC_EOLD:
		nn_errf(err, errlen,
			"model format version %lld was written by an older petri without checksums; this petri reads "
			"version %d only (train it again, or convert it to ONNX with the petri that wrote it)",
			(long long)d.version, NN_MODEL_VERSION);
		return NN_EVERSION;
	case NN_REC_EVERSION:
		if (d.version > INT32_MAX) {
			nn_errf(err, errlen, "bad version field");
			return NN_EFORMAT;
		}
		nn_errf(err, errlen, "model format version %lld is not supported (this petri reads version %d)",
			(long long)d.version, NN_MODEL_VERSION);
		return NN_EVERSION;
	default:
		nn_errf(err, errlen, "truncated or corrupt MessagePack (%zu bytes)", len);
		return NN_EFORMAT;
	}
	if (d.n != 1)
		BAD("record is not [magic, version, body]");
	const msgpack_object *body = nn_rec_get_obj(&d, 0, MSGPACK_OBJECT_MAP), *o;
	if (!body)
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
	for (size_t i = 0; i < sizeof field_maps / sizeof field_maps[0]; i++)
		if ((o = map_get(body, field_maps[i].name)))
			get_fields(o, m, field_maps[i].f, field_maps[i].n);
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
	nn_rec_close(&d);
	return 0;
fail:
	nn_rec_close(&d);
	nn_model_free(m);
	return rc ? rc : NN_EFORMAT;
}
