/* exp.c - the experiment's layout (exp.h): config values, the job payload
 * codec, the frontier point of a model, MFLOPs <-> multiply-adds. */
#include "exp.h"
#include "rec.h"

#include <float.h>
#include <math.h>
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
#define JOB_VERSION 2
#define JOB_FIELDS 3 /* after magic and version: kind, model, seed */

int petrid_job_encode(const petrid_job *j, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	if (j->kind < PETRID_JOB_CHILD || j->kind > PETRID_JOB_PARENT || !memchr(j->model, 0, sizeof j->model))
		return -1;
	nn_rec_enc e;
	nn_rec_begin(&e, JOB_MAGIC, JOB_VERSION, JOB_FIELDS);
	nn_rec_i64(&e, j->kind);
	nn_rec_str(&e, j->model);
	nn_rec_u64(&e, j->seed);
	return nn_rec_finish(&e, buf, len) ? -1 : 0; /* fails only when memory runs out */
}

int petrid_job_decode(const void *buf, size_t len, petrid_job *j)
{
	nn_rec_dec d;
	if (nn_rec_open(&d, buf, len, JOB_MAGIC, JOB_VERSION, JOB_FIELDS, 4))
		return -1;
	if (d.n != JOB_FIELDS) {
		nn_rec_close(&d);
		return -1;
	}
	int kind = (int)nn_rec_get_range(&d, 0, PETRID_JOB_CHILD, PETRID_JOB_PARENT);
	char model[Q_IDLEN];
	nn_rec_get_str(&d, 1, model, sizeof model);
	uint64_t seed = nn_rec_get_u64(&d, 2);
	if (nn_rec_done(&d))
		return -1;
	j->kind = kind, j->seed = seed;
	memcpy(j->model, model, strlen(model) + 1);
	return 0;
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
