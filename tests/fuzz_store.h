/* fuzz_store.h - a small populated store for the store fuzzer and its seed
 * generator: one record of each kind the store reads, and a way to replace
 * any of them with raw bytes. Uses the store's internals (store_impl.h).
 * The daemon's records kept in blobs (model cards, running jobs; exp.h)
 * are replaced inside their blob, so that their own decoders are reached. */
#ifndef FUZZ_STORE_H
#define FUZZ_STORE_H

#include "exp.h"
#include "store_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* selectors: which record an input replaces */
enum { FZ_ENTRY, FZ_SUMMARY, FZ_CONFIG, FZ_BLOB, FZ_EVENT, FZ_META, FZ_MODEL, FZ_SCHEMA, FZ_OMEGA, FZ_CURVE, FZ_RUN,
       FZ_CKPT, FZ_NSEL };
/* the selectors whose bytes are a blob's payload (q_blob_put wraps them) */
#define FZ_IN_BLOB(sel) ((sel) >= FZ_OMEGA)

static const struct {
	int db;
	const char *key;
	size_t klen;
} fz_keys[FZ_NSEL] = {
	[FZ_ENTRY] = { DB_ENTRIES, "\0\0\0\0\0\0\0\1", 8 }, [FZ_SUMMARY] = { DB_SUMMARIES, "m1", 2 },
	[FZ_CONFIG] = { DB_CONFIG, "a", 1 },                 [FZ_BLOB] = { DB_FRONTIER, "b", 1 },
	[FZ_EVENT] = { DB_EVENTS, "\0\0\0\0\0\0\0\1", 8 },   [FZ_META] = { DB_META, "state", 5 },
	[FZ_MODEL] = { DB_MODELS, "m1", 2 },                 [FZ_SCHEMA] = { DB_META, "schema", 6 },
	[FZ_OMEGA] = { DB_FRONTIER, PETRID_CARD_OMEGA "m1", 9 }, [FZ_CURVE] = { DB_FRONTIER, PETRID_CARD_CURVE "m1", 9 },
	[FZ_RUN] = { DB_FRONTIER, PETRID_RUN_JOBS, 8 },     [FZ_CKPT] = { DB_FRONTIER, PETRID_CKPT_PREFIX "1", 6 },
};

/* the daemon's blob records of the store: a ranking, a curve, two running
 * jobs, the checkpoint of job 1 */
static int fz_put_cards(q_txn *t)
{
	petrid_omega_rank r;
	memset(&r, 0, sizeof r);
	snprintf(r.parent, sizeof r.parent, "m0");
	r.cand_entry = 3, r.parent_val_acc = 0.5, r.joint_val_acc = 0.25, r.npairs = 4, r.n = 3;
	r.pair[0] = (petrid_omega_pair){ 11, 2, 1, -0.5, 1 };
	r.pair[1] = (petrid_omega_pair){ 11, 3, 6, 0.25, 0 };
	r.pair[2] = (petrid_omega_pair){ 12, 2, 4, NAN, 0 };
	petrid_curve c;
	petrid_curve_begin(&c);
	for (long s = 1; s <= 100; s++)
		petrid_curve_add(&c, s, 100, 2.0 / (double)s);
	petrid_curve_end(&c);
	petrid_running *run = calloc(1, sizeof *run);
	if (!run)
		return Q_ENOMEM;
	run->pid = 77, run->ms = 1700000000000, run->n = 2;
	run->job[0] = (petrid_run_job){ PETRID_RUN_CHILD, "m1", 0, 5, 10, 1.5 };
	run->job[1] = (petrid_run_job){ PETRID_RUN_CAND, "m0", 1, 0, 0, 0 };
	float w[2 * 5 + 2] = { 1, -2, 3, 0.5f, 0, 0.25f, 0, 0, -1, 2, 1, 0.5f };
	petrid_ckpt k = { 1, "m1", PETRID_JOB_CHILD, 3, 9, 5, 2, w, w + 5, w + 10, NULL };
	char *b[4] = { NULL, NULL, NULL, NULL };
	size_t n[4];
	int rc = petrid_omega_encode(&r, &b[0], &n[0]) || petrid_curve_encode(&c, &b[1], &n[1]) ||
			 petrid_running_encode(run, &b[2], &n[2]) || petrid_ckpt_encode(&k, &b[3], &n[3])
		 ? Q_EINVAL
		 : 0;
	for (int i = 0; i < 4 && !rc; i++)
		rc = q_blob_put(t, fz_keys[FZ_OMEGA + i].key, b[i], n[i]);
	for (int i = 0; i < 4; i++)
		free(b[i]);
	free(run);
	return rc;
}

typedef struct {
	q_store *s;
	char dir[64];
	void *orig[FZ_NSEL];
	size_t origlen[FZ_NSEL];
} fz_store;

static int fz_populate(q_txn *t, void *ud)
{
	(void)ud;
	nn_graph g;
	nn_net *net;
	nn_model m;
	nn_graph_init(&g, (nn_shape){ 1, 1, 2, 2 }, 2);
	g.output = nn_linear(&g, nn_input(&g), 2);
	if (nn_net_create(&net, &g, 1, NULL, 0))
		return Q_EINVAL;
	nn_net_init(net, 1);
	int rc = nn_model_from_net(&m, net) ? Q_ENOMEM : 0;
	nn_net_free(net);
	nn_graph_free(&g);
	if (rc)
		return rc;
	snprintf(m.lineage.id, sizeof m.lineage.id, "m1");
	rc = q_model_put(t, &m, Q_MODEL_TRAINED);
	nn_model_free(&m);
	if (!rc)
		rc = q_push(t, Q_CANDIDATE, "job1", 4, NULL);
	if (!rc)
		rc = q_push(t, Q_CANDIDATE, "job2", 4, NULL);
	if (!rc)
		rc = q_lease(t, Q_CANDIDATE, "w", NULL); /* entry 2 */
	if (!rc)
		rc = q_config_set(t, "a", "value");
	if (!rc)
		rc = q_blob_put(t, "b", "hull", 4);
	if (!rc)
		rc = q_event(t, "event %d", 1);
	if (!rc)
		rc = fz_put_cards(t);
	return rc;
}

static int fz_copy(q_txn *t, void *ud)
{
	fz_store *st = ud;
	for (int i = 0; i < FZ_NSEL; i++) {
		if (FZ_IN_BLOB(i)) { /* the payload inside the blob */
			int rc = q_blob_get(t, fz_keys[i].key, &st->orig[i], &st->origlen[i]);
			if (rc)
				return rc;
			continue;
		}
		MDB_val v;
		int rc = q_get(t, fz_keys[i].db, fz_keys[i].key, fz_keys[i].klen, &v);
		if (rc)
			return rc;
		if (!(st->orig[i] = malloc(v.mv_size)))
			return Q_ENOMEM;
		memcpy(st->orig[i], v.mv_data, v.mv_size);
		st->origlen[i] = v.mv_size;
	}
	return 0;
}

static int fz_store_open(fz_store *st)
{
	memset(st, 0, sizeof *st);
	snprintf(st->dir, sizeof st->dir, "/tmp/petri_fuzzstore_XXXXXX");
	if (!mkdtemp(st->dir))
		return -1;
	q_options o = { Q_CREATE | Q_NOSYNC, 1 << 20, 0 };
	char err[512];
	int rc = q_open(&st->s, st->dir, &o, err, sizeof err);
	if (!rc && (rc = q_write(st->s, fz_populate, NULL)) == 0)
		rc = q_read(st->s, fz_copy, st);
	if (rc)
		fprintf(stderr, "fuzz store: %s %s\n", err, st->s ? q_errmsg(st->s) : "");
	return rc;
}

struct fz_put_arg {
	int sel;
	const void *b;
	size_t n;
};

static int fz_put_txn(q_txn *t, void *ud)
{
	struct fz_put_arg *a = ud;
	if (FZ_IN_BLOB(a->sel)) /* an empty blob is refused: one byte then */
		return q_blob_put(t, fz_keys[a->sel].key, a->n ? a->b : "", a->n ? a->n : 1);
	return q_put(t, fz_keys[a->sel].db, fz_keys[a->sel].key, fz_keys[a->sel].klen, a->b, a->n);
}

/* replace record sel with n raw bytes */
static int fz_put(fz_store *st, int sel, const void *b, size_t n)
{
	struct fz_put_arg a = { sel, b, n };
	return q_write(st->s, fz_put_txn, &a);
}

static void fz_store_close(fz_store *st)
{
	q_close(st->s);
	for (int i = 0; i < FZ_NSEL; i++)
		free(st->orig[i]);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", st->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", st->dir);
	memset(st, 0, sizeof *st);
}

#endif
