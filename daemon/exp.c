/* exp.c - the experiment's layout (exp.h): config values, the job payload
 * codec, the frontier point of a model, MFLOPs <-> multiply-adds. */
#include "exp.h"

#include <float.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- config values ---- */
int petrid_cfg_set_num(q_txn *t, const char *key, double v)
{
	char b[64];
	snprintf(b, sizeof b, "%.17g", v);
	return q_config_set(t, key, b);
}

int petrid_cfg_get_num(q_txn *t, const char *key, double *v)
{
	char b[128];
	int rc = q_config_get(t, key, b, sizeof b);
	if (rc)
		return rc;
	*v = strtod(b, NULL);
	return 0;
}

/* ---- job payloads ---- */
#define JOB_MAGIC "PETRIJOB"
#define JOB_VERSION 1
#define JOB_FIELDS 5

static int pack_text(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

int petrid_job_encode(const petrid_job *j, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	if (j->kind < PETRID_JOB_CHILD || j->kind > PETRID_JOB_PARENT || !memchr(j->model, 0, sizeof j->model))
		return -1;
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	/* msgpack_sbuffer_write fails only when memory runs out */
	if (msgpack_pack_array(&pk, JOB_FIELDS) || pack_text(&pk, JOB_MAGIC) || msgpack_pack_int(&pk, JOB_VERSION) ||
	    msgpack_pack_int(&pk, j->kind) || pack_text(&pk, j->model) || msgpack_pack_uint64(&pk, j->seed) || !sb.data) {
		msgpack_sbuffer_destroy(&sb);
		return -1;
	}
	*buf = sb.data, *len = sb.size;
	return 0;
}

static int is_text(const msgpack_object *o, size_t maxlen)
{
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size <= maxlen;
}

static int is_uint(const msgpack_object *o, uint64_t lo, uint64_t hi)
{
	return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 >= lo && o->via.u64 <= hi;
}

int petrid_job_decode(const void *buf, size_t len, petrid_job *j)
{
	if (!buf || nn_msgpack_check(buf, len, 4))
		return -1;
	msgpack_unpacked up;
	msgpack_unpacked_init(&up);
	size_t off = 0;
	int rc = -1;
	if (msgpack_unpack_next(&up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS)
		goto out;
	const msgpack_object *o = &up.data;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != JOB_FIELDS)
		goto out;
	const msgpack_object *f = o->via.array.ptr;
	size_t ml = sizeof JOB_MAGIC - 1;
	if (!is_text(&f[0], ml) || f[0].via.str.size != ml || memcmp(f[0].via.str.ptr, JOB_MAGIC, ml))
		goto out;
	if (!is_uint(&f[1], JOB_VERSION, JOB_VERSION) || !is_uint(&f[2], PETRID_JOB_CHILD, PETRID_JOB_PARENT))
		goto out;
	if (!is_text(&f[3], Q_IDLEN - 1) || !is_uint(&f[4], 0, UINT64_MAX))
		goto out;
	j->kind = (int)f[2].via.u64;
	memcpy(j->model, f[3].via.str.ptr, f[3].via.str.size);
	j->model[f[3].via.str.size] = 0;
	j->seed = f[4].via.u64;
	rc = 0;
out:
	msgpack_unpacked_destroy(&up);
	return rc;
}

int petrid_job_push(q_txn *t, int queue, const char *model, uint64_t seed, uint64_t *entry)
{
	static const int kinds[Q_NQUEUES] = { [Q_PARENT] = PETRID_JOB_PARENT, [Q_CANDIDATE] = PETRID_JOB_CAND,
					      [Q_CHILD] = PETRID_JOB_CHILD };
	petrid_job j = { .seed = seed };
	size_t n = strlen(model);
	if (queue < 0 || queue >= Q_NQUEUES || n >= sizeof j.model)
		return Q_EINVAL;
	j.kind = kinds[queue];
	memcpy(j.model, model, n + 1);
	char *buf;
	size_t len;
	if (petrid_job_encode(&j, &buf, &len))
		return Q_ENOMEM;
	int rc = q_push(t, queue, buf, len, entry);
	free(buf);
	return rc;
}

/* ---- the frontier point of a model ---- */
fr_point petrid_point(const char *id, const char *parent, int depth, const nn_cost *cost, const nn_metrics *m)
{
	fr_point p;
	memset(&p, 0, sizeof p);
	snprintf(p.id, sizeof p.id, "%s", id);
	snprintf(p.parent, sizeof p.parent, "%s", parent);
	p.macs = cost->macs;
	p.params = cost->params;
	p.mem_bytes = cost->act_bytes_1;
	p.latency_ms = isfinite(cost->latency_ms) && cost->latency_ms > 0 ? cost->latency_ms : 0;
	double e = 1.0 - (double)m->val_acc;
	p.val_error = isfinite(e) ? (e < 0 ? 0 : e > 1 ? 1 : e) : 1;
	p.val_loss = isfinite(m->val_loss) ? m->val_loss : 1e9;
	double ta = m->test_acc;
	p.test_acc = isfinite(ta) && ta >= 0 && ta <= 1 ? ta : NAN;
	p.depth = depth > 0 ? depth : 0;
	return p;
}

fr_point petrid_model_point(const nn_model *m)
{
	return petrid_point(m->lineage.id, m->lineage.parent, m->lineage.depth, &m->cost, &m->metrics);
}

/* ---- MFLOPs <-> multiply-adds ---- */
uint64_t petrid_mflops_to_macs(double mflops)
{
	if (!(mflops > 0))
		return 0;
	double m = mflops * PETRID_MACS_PER_MFLOP;
	/* a product within rounding error of an integer is that integer:
	 * 0.000498 MFLOPs are 249 multiply-adds (the product is 248.99...), and
	 * macs -> MFLOPs -> macs comes back the same (below 2^50) */
	double r = nearbyint(m);
	m = fabs(m - r) <= 4 * DBL_EPSILON * m ? r : floor(m);
	return m >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)m;
}

double petrid_macs_to_mflops(uint64_t macs) { return (double)macs / PETRID_MACS_PER_MFLOP; }
