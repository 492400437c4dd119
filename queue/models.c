/* models.c - model records and their summaries in the experiment store.
 *
 * DESIGN
 * A model is stored twice, in one transaction: its full record (the bytes of
 * a petri model file, nn_model_encode: graph, weights, costs, metrics,
 * lineage) under "models", and a summary of a few hundred bytes under
 * "summaries" (id, parent, depth, state, costs, metrics). Listing a million
 * models, drawing the frontier or picking under limits reads only summaries;
 * weights are decoded when a model is trained, grown or exported.
 *
 * Ids are strings so that models brought in from outside keep readable
 * names; fresh ids come from a counter in the meta record ("m000001", ...),
 * so that key order is creation order for the first million.
 *
 * The model record is checked in full on every read (nn_model_decode
 * verifies structure, op ids and that the weights fit the graph), so a
 * damaged record is reported, never trained on.
 */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUM_MAGIC "PETRISUM"
#define SUM_VERSION 2
#define SUM_FIELDS 15

static int id_ok(q_txn *t, const char *id)
{
	return q_check_key(t, id, Q_IDLEN - 1, "model id");
}

int q_model_new_id(q_txn *t, char id[Q_IDLEN])
{
	q_meta *m;
	if (!id)
		return q_seterr(t->s, Q_EINVAL, "model id: no buffer");
	int rc = q_need_write(t);
	if (rc || (rc = q_meta_load(t, &m)))
		return rc;
	for (;;) {
		MDB_val v;
		snprintf(id, Q_IDLEN, "m%06llu", (unsigned long long)m->next_model++);
		t->meta_dirty = 1;
		rc = q_get(t, DB_SUMMARIES, id, strlen(id), &v);
		if (rc == Q_ENOTFOUND)
			return 0;
		if (rc)
			return rc;
	}
}

static int summary_put(q_txn *t, const q_summary *s)
{
	q_enc e;
	q_enc_begin(&e, SUM_MAGIC, SUM_VERSION, SUM_FIELDS);
	q_enc_str(&e, s->id);
	q_enc_str(&e, s->parent);
	q_enc_i64(&e, s->depth);
	q_enc_i64(&e, s->state);
	q_enc_u64(&e, s->cost.params);
	q_enc_u64(&e, s->cost.macs);
	q_enc_u64(&e, s->cost.act_bytes_1);
	q_enc_u64(&e, s->cost.act_bytes_train);
	q_enc_f64(&e, s->cost.latency_ms);
	q_enc_f64(&e, s->metrics.val_acc);
	q_enc_f64(&e, s->metrics.val_loss);
	q_enc_f64(&e, s->metrics.test_acc);
	q_enc_f64(&e, s->metrics.test_loss);
	q_enc_f64(&e, s->metrics.epochs);
	q_enc_i64(&e, s->created_ms);
	return q_enc_put(&e, t, DB_SUMMARIES, s->id, strlen(s->id));
}

static int summary_decode(q_txn *t, const MDB_val *k, const MDB_val *v, q_summary *s)
{
	char what[80];
	snprintf(what, sizeof what, "summary '%.*s'", (int)(k->mv_size < 40 ? k->mv_size : 40), (const char *)k->mv_data);
	q_dec d;
	memset(s, 0, sizeof *s);
	int rc = q_dec_open(t, &d, v, SUM_MAGIC, SUM_VERSION, SUM_FIELDS, what);
	if (rc)
		return rc;
	q_dec_str(&d, 0, s->id, sizeof s->id);
	q_dec_str(&d, 1, s->parent, sizeof s->parent);
	int64_t depth = q_dec_i64(&d, 2), state = q_dec_i64(&d, 3);
	s->cost.params = q_dec_u64(&d, 4);
	s->cost.macs = q_dec_u64(&d, 5);
	s->cost.act_bytes_1 = q_dec_u64(&d, 6);
	s->cost.act_bytes_train = q_dec_u64(&d, 7);
	s->cost.latency_ms = q_dec_f64(&d, 8);
	s->metrics.val_acc = (float)q_dec_f64(&d, 9);
	s->metrics.val_loss = (float)q_dec_f64(&d, 10);
	s->metrics.test_acc = (float)q_dec_f64(&d, 11);
	s->metrics.test_loss = (float)q_dec_f64(&d, 12);
	s->metrics.epochs = q_dec_f64(&d, 13);
	s->created_ms = q_dec_i64(&d, 14);
	if ((rc = q_dec_done(t, &d, what)))
		return rc;
	if (depth < 0 || depth > INT32_MAX || state < 0 || state > Q_MODEL_FAILED)
		return q_seterr(t->s, Q_ECORRUPT, "%s: depth %lld or state %lld out of range", what, (long long)depth,
				(long long)state);
	s->depth = (int)depth, s->state = (int)state;
	if (strlen(s->id) != k->mv_size || memcmp(s->id, k->mv_data, k->mv_size))
		return q_seterr(t->s, Q_ECORRUPT, "%s: record names model '%s'", what, s->id);
	return 0;
}

int q_summary_get(q_txn *t, const char *id, q_summary *s)
{
	int rc = id_ok(t, id);
	if (rc)
		return rc;
	MDB_val k = { strlen(id), (void *)id }, v;
	if ((rc = q_get(t, DB_SUMMARIES, id, k.mv_size, &v)))
		return rc == Q_ENOTFOUND ? q_seterr(t->s, rc, "model '%s': no such model", id) : rc;
	return summary_decode(t, &k, &v, s);
}

int q_model_put(q_txn *t, const nn_model *m, int state)
{
	int rc = q_need_write(t);
	if (rc || (rc = id_ok(t, m->lineage.id)))
		return rc;
	if (state < Q_MODEL_NEW || state > Q_MODEL_FAILED)
		return q_seterr(t->s, Q_EINVAL, "model '%s': bad state %d", m->lineage.id, state);
	const char *id = m->lineage.id;
	q_summary s = { .depth = m->lineage.depth, .state = state, .cost = m->cost, .metrics = m->metrics };
	snprintf(s.id, sizeof s.id, "%s", id);
	snprintf(s.parent, sizeof s.parent, "%s", m->lineage.parent);
	q_summary old;
	rc = q_summary_get(t, id, &old);
	if (rc && rc != Q_ENOTFOUND)
		return rc;
	s.created_ms = rc ? q_now_ms() : old.created_ms;
	char *buf;
	size_t len;
	if (nn_model_encode(m, &buf, &len))
		return q_seterr(t->s, Q_ENOMEM, "model '%s': cannot encode", id);
	rc = q_put(t, DB_MODELS, id, strlen(id), buf, len);
	free(buf);
	return rc ? rc : summary_put(t, &s);
}

static int model_decode(q_txn *t, const char *id, const MDB_val *v, nn_model *m)
{
	char err[300] = "";
	int rc = nn_model_decode(m, v->mv_data, v->mv_size, err, sizeof err);
	if (rc)
		return q_seterr(t->s, rc == NN_EVERSION ? Q_EVERSION : rc == NN_ENOMEM ? Q_ENOMEM : Q_ECORRUPT,
				"model '%s': %s", id, err);
	if (strcmp(m->lineage.id, id)) {
		q_seterr(t->s, Q_ECORRUPT, "model '%s': record names model '%s'", id, m->lineage.id);
		nn_model_free(m);
		return Q_ECORRUPT;
	}
	return 0;
}

int q_model_get(q_txn *t, const char *id, nn_model *m)
{
	memset(m, 0, sizeof *m);
	int rc = id_ok(t, id);
	if (rc)
		return rc;
	MDB_val v;
	if ((rc = q_get(t, DB_MODELS, id, strlen(id), &v)))
		return rc == Q_ENOTFOUND ? q_seterr(t->s, rc, "model '%s': no such model", id) : rc;
	return model_decode(t, id, &v, m);
}

int q_model_bytes(q_txn *t, const char *id, void **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	nn_model m;
	int rc = q_model_get(t, id, &m); /* checks the record in full */
	if (rc)
		return rc;
	nn_model_free(&m);
	MDB_val v;
	if ((rc = q_get(t, DB_MODELS, id, strlen(id), &v)))
		return rc;
	if (!(*buf = malloc(v.mv_size)))
		return q_seterr(t->s, Q_ENOMEM, "model '%s': %zu bytes", id, v.mv_size);
	memcpy(*buf, v.mv_data, v.mv_size);
	*len = v.mv_size;
	return 0;
}

int q_model_set_state(q_txn *t, const char *id, int state)
{
	q_summary s;
	int rc = q_need_write(t);
	if (rc || (rc = q_summary_get(t, id, &s)))
		return rc;
	if (state < Q_MODEL_NEW || state > Q_MODEL_FAILED)
		return q_seterr(t->s, Q_EINVAL, "model '%s': bad state %d", id, state);
	s.state = state;
	return summary_put(t, &s);
}

struct summary_walk {
	int (*fn)(const q_summary *s, void *ud);
	void *ud;
	uint64_t n;
};

static int summary_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	struct summary_walk *w = ud;
	q_summary s;
	int rc = summary_decode(t, k, v, &s);
	w->n += !rc;
	return rc ? rc : w->fn ? w->fn(&s, w->ud) : 0;
}

int q_summary_each(q_txn *t, int (*fn)(const q_summary *s, void *ud), void *ud)
{
	struct summary_walk w = { fn, ud, 0 };
	return q_walk(t, DB_SUMMARIES, NULL, summary_one, &w);
}

int q_model_count(q_txn *t, uint64_t *n)
{
	MDB_stat st;
	int m = mdb_stat(t->txn, t->s->db[DB_SUMMARIES], &st);
	*n = m ? 0 : st.ms_entries;
	return q_mdb_err(t, m, "summaries");
}

/* a model decodes, names its key and has a summary */
static int model_check_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	char id[Q_IDLEN];
	nn_model mod;
	MDB_val sv;
	if (k->mv_size < 1 || k->mv_size >= Q_IDLEN || memchr(k->mv_data, 0, k->mv_size))
		return q_seterr(t->s, Q_ECORRUPT, "models: bad key of %zu bytes", k->mv_size);
	memcpy(id, k->mv_data, k->mv_size);
	id[k->mv_size] = 0;
	int rc = model_decode(t, id, v, &mod);
	if (rc)
		return rc;
	nn_model_free(&mod);
	if ((rc = q_get(t, DB_SUMMARIES, id, k->mv_size, &sv)) == Q_ENOTFOUND)
		rc = q_seterr(t->s, Q_ECORRUPT, "model '%s' has no summary", id);
	++*(uint64_t *)ud;
	return rc;
}

/* Every model decodes, names its key, and has a summary; every summary has
 * a model. */
int q_verify_models(q_txn *t, uint64_t *records)
{
	uint64_t nmodels = 0;
	struct summary_walk sums = { NULL, NULL, 0 };
	int rc = q_walk(t, DB_MODELS, NULL, model_check_one, &nmodels);
	if (rc || (rc = q_walk(t, DB_SUMMARIES, NULL, summary_one, &sums)))
		return rc;
	if (sums.n != nmodels)
		return q_seterr(t->s, Q_ECORRUPT, "%llu summaries for %llu models", (unsigned long long)sums.n,
				(unsigned long long)nmodels);
	*records += nmodels + sums.n;
	return 0;
}
