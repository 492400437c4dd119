/* fuzz_store.h - a small populated store for the store fuzzer and its seed
 * generator: one record of each kind the store reads, and a way to replace
 * any of them with raw bytes. Uses the store's internals (store_impl.h). */
#ifndef FUZZ_STORE_H
#define FUZZ_STORE_H

#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* selectors: which record an input replaces */
enum { FZ_ENTRY, FZ_SUMMARY, FZ_CONFIG, FZ_BLOB, FZ_EVENT, FZ_META, FZ_MODEL, FZ_SCHEMA, FZ_NSEL };

static const struct {
	int db;
	const char *key;
	size_t klen;
} fz_keys[FZ_NSEL] = {
	[FZ_ENTRY] = { DB_ENTRIES, "\0\0\0\0\0\0\0\1", 8 }, [FZ_SUMMARY] = { DB_SUMMARIES, "m1", 2 },
	[FZ_CONFIG] = { DB_CONFIG, "a", 1 },                 [FZ_BLOB] = { DB_FRONTIER, "b", 1 },
	[FZ_EVENT] = { DB_EVENTS, "\0\0\0\0\0\0\0\1", 8 },   [FZ_META] = { DB_META, "state", 5 },
	[FZ_MODEL] = { DB_MODELS, "m1", 2 },                 [FZ_SCHEMA] = { DB_META, "schema", 6 },
};

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
	return rc;
}

static int fz_copy(q_txn *t, void *ud)
{
	fz_store *st = ud;
	for (int i = 0; i < FZ_NSEL; i++) {
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
