/* exp_ckpt.c - a running job's checkpoint in the store (exp.h): its
 * training state between two steps, so that a job started again after a
 * stop, a budget end or a kill -9 goes on from there.
 *
 * Record: [magic, version, entry, model, kind, step, steps, params, mom,
 * state, check] through nn/rec; the three arrays are bins of float32 LE
 * whose lengths give nparams and nstate (mom has params' length). The
 * check is verified before anything is decoded, and a record that decodes
 * is one the encoder could have written: a job kind, 0 < step < steps, the
 * arrays' lengths whole floats. */
#include "exp.h"
#include "rec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_MAGIC "PETRICKP"
#define CKPT_VERSION NN_REC_CSUM_VERSION
#define CKPT_FIELDS 8 /* entry, model, kind, step, steps, params, mom, state */
#define MAX_STEPS 1000000000000L

static int ckpt_ok(const petrid_ckpt *c)
{
	return (c->kind == PETRID_JOB_CHILD || c->kind == PETRID_JOB_CAND) && c->step > 0 && c->step < c->steps &&
	       c->steps <= MAX_STEPS && c->model[0] && memchr(c->model, 0, sizeof c->model) && c->params &&
	       c->mom && (c->state || !c->nstate) && c->nparams > 0;
}

int petrid_ckpt_encode(const petrid_ckpt *c, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	if (!ckpt_ok(c))
		return -1;
	nn_rec_enc e;
	nn_rec_begin(&e, CKPT_MAGIC, CKPT_VERSION, CKPT_FIELDS);
	nn_rec_u64(&e, c->entry);
	nn_rec_str(&e, c->model);
	nn_rec_u64(&e, (uint64_t)c->kind);
	nn_rec_u64(&e, (uint64_t)c->step);
	nn_rec_u64(&e, (uint64_t)c->steps);
	nn_rec_bin(&e, c->params, sizeof(float) * c->nparams);
	nn_rec_bin(&e, c->mom, sizeof(float) * c->nparams);
	nn_rec_bin(&e, c->nstate ? (const void *)c->state : (const void *)"", sizeof(float) * c->nstate);
	return nn_rec_finish(&e, buf, len) ? -1 : 0;
}

int petrid_ckpt_decode(const void *buf, size_t len, petrid_ckpt *out, char *err, size_t errlen)
{
	static const char what[] = "job checkpoint";
	nn_rec_dec d;
	int rc = nn_rec_open(&d, buf, len, CKPT_MAGIC, CKPT_VERSION, CKPT_FIELDS, 2);
	if (rc == NN_REC_EVERSION) {
		nn_errf(err, errlen, "%s: version %llu, this petri reads up to %d", what, (unsigned long long)d.version,
			CKPT_VERSION);
		return Q_EVERSION;
	}
	if (rc) {
		nn_errf(err, errlen, "%s: %s", what, nn_rec_strerror(rc));
		return Q_ECORRUPT;
	}
	petrid_ckpt c;
	memset(&c, 0, sizeof c);
	c.entry = nn_rec_get_u64(&d, 0);
	nn_rec_get_str(&d, 1, c.model, sizeof c.model);
	c.kind = (int)nn_rec_get_range(&d, 2, PETRID_JOB_CHILD, PETRID_JOB_CAND);
	c.step = (long)nn_rec_get_range(&d, 3, 1, MAX_STEPS);
	c.steps = (long)nn_rec_get_range(&d, 4, 2, MAX_STEPS);
	size_t np, nm, ns;
	const void *p = nn_rec_get_bin(&d, 5, &np), *m = nn_rec_get_bin(&d, 6, &nm), *s = nn_rec_get_bin(&d, 7, &ns);
	int bad = d.bad;
	float *a = NULL;
	if (bad < 0 && (np == 0 || np % sizeof(float) || nm != np || ns % sizeof(float)))
		bad = 5;
	if (bad < 0 && !(a = malloc(np + nm + (ns ? ns : 1))))
		bad = 5;
	if (a) {
		memcpy(a, p, np);
		memcpy((char *)a + np, m, nm);
		if (ns)
			memcpy((char *)a + np + nm, s, ns);
	}
	nn_rec_close(&d);
	if (bad >= 0) {
		free(a);
		nn_errf(err, errlen, "%s: field %d is missing, mistyped or out of range", what, bad);
		return Q_ECORRUPT;
	}
	c.nparams = np / sizeof(float), c.nstate = ns / sizeof(float);
	c.params = a, c.mom = a + c.nparams, c.state = ns ? a + 2 * c.nparams : NULL;
	c.owned = a;
	if (!ckpt_ok(&c)) {
		free(a);
		nn_errf(err, errlen, "%s: step %ld of %ld, kind %d: not a state a job could be in", what, c.step, c.steps,
			c.kind);
		return Q_ECORRUPT;
	}
	*out = c;
	return 0;
}

void petrid_ckpt_free(petrid_ckpt *c)
{
	free(c->owned);
	memset(c, 0, sizeof *c);
}

int petrid_ckpt_key(char *key, size_t n, uint64_t entry)
{
	int k = snprintf(key, n, "%s%llu", PETRID_CKPT_PREFIX, (unsigned long long)entry);
	return k > 0 && (size_t)k < n ? 0 : -1;
}
