/* test_queue.c - queue/: the experiment store. Opening and locking, schema
 * version, models and summaries, queues and leases, grouped transactions,
 * config, frontier blobs, events and the log, map growth, a map that may not
 * grow, corrupt records, and readers in another process during writes. */
#include "check.h"
#include "queue.h"
#include "rec.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmproot[] = "/tmp/petri_qtest_XXXXXX";
static int ndirs;

/* a fresh experiment directory (not created yet) */
static const char *newdir(void)
{
	static char p[256];
	snprintf(p, sizeof p, "%s/e%d", tmproot, ndirs++);
	return p;
}

static q_store *open_new(const char *dir, size_t map, size_t max)
{
	q_options o = { Q_CREATE | Q_NOSYNC, map, max };
	q_store *s = NULL;
	char err[512] = "";
	int rc = q_open(&s, dir, &o, err, sizeof err);
	CHECKM(rc == 0, "q_open %s: %s: %s", dir, q_strerror(rc), err);
	return s;
}

/* A tiny model: input 1x2x2 -> linear(2), weights from seed. */
static void tiny_model(nn_model *m, const char *id, const char *parent, int seed)
{
	nn_graph g;
	nn_graph_init(&g, (nn_shape){ 1, 1, 2, 2 }, 2);
	int x = nn_input(&g);
	g.output = nn_linear(&g, x, 2);
	nn_net *net;
	int rc = nn_net_create(&net, &g, 1, NULL, 0);
	CHECK_OK(rc, nn_strerror);
	nn_net_init(net, (uint64_t)seed);
	CHECK_OK(nn_model_from_net(m, net), nn_strerror);
	snprintf(m->lineage.id, sizeof m->lineage.id, "%s", id);
	snprintf(m->lineage.parent, sizeof m->lineage.parent, "%s", parent);
	m->lineage.depth = seed % 7;
	m->metrics.val_acc = 0.25f + (float)seed / 1000;
	m->metrics.epochs = seed;
	nn_net_free(net);
	nn_graph_free(&g);
}

/* ---- opening ---- */
static int put_config_a(q_txn *t, void *ud)
{
	(void)ud;
	return q_config_set(t, "a", "1");
}

static int get_config_a(q_txn *t, void *ud)
{
	return q_config_get(t, "a", ud, 16);
}

static void test_open(void)
{
	const char *dir = newdir();
	q_store *s = NULL, *s2 = NULL;
	char err[512] = "";
	CHECK(q_open(&s, dir, NULL, err, sizeof err) == Q_ENOTFOUND && s == NULL && strstr(err, "no petri store"));
	q_options ro = { Q_RDONLY, 0, 0 };
	CHECK(q_open(&s, dir, &ro, err, sizeof err) == Q_ENOTFOUND);
	s = open_new(dir, 0, 0);
	if (!s)
		return;
	CHECK_OK(q_write(s, put_config_a, NULL), q_strerror);
	/* a second writer is refused while the first is open */
	CHECK(q_open(&s2, dir, NULL, err, sizeof err) == Q_EBUSY && strstr(err, "another process"));
	/* a reader is not */
	CHECK_OK(q_open(&s2, dir, &ro, err, sizeof err), q_strerror);
	char v[16] = "";
	if (s2) {
		CHECK_OK(q_read(s2, get_config_a, v), q_strerror);
		CHECK(!strcmp(v, "1"));
		CHECK(q_write(s2, put_config_a, NULL) == Q_ERDONLY);
		q_close(s2);
	}
	q_close(s);
	/* reopen: the data is there, no creation flag needed */
	CHECK_OK(q_open(&s, dir, NULL, err, sizeof err), q_strerror);
	if (s) {
		v[0] = 0;
		CHECK_OK(q_read(s, get_config_a, v), q_strerror);
		CHECK(!strcmp(v, "1"));
		/* a write call inside a read transaction is refused */
		CHECK(q_read(s, put_config_a, NULL) == Q_ERDONLY);
		q_close(s);
	}
	/* no leftovers of creation */
	char p[300];
	snprintf(p, sizeof p, "%s/.new-%d", dir, (int)getpid());
	CHECK(access(p, F_OK) != 0);
}

/* Overwrite one record of a store with raw bytes (as a damaged disk or a
 * newer petri would leave it). */
static void raw_put(const char *dir, const char *db, const void *key, size_t klen, const void *val, size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	CHECK(mdb_env_create(&env) == 0);
	mdb_env_set_maxdbs(env, 16);
	CHECK(mdb_env_open(env, dir, 0, 0644) == 0);
	CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	CHECK(mdb_dbi_open(txn, db, 0, &dbi) == 0);
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
}

static void test_schema_version(void)
{
	const char *dir = newdir();
	q_store *s = open_new(dir, 0, 0);
	if (!s)
		return;
	q_close(s);
	/* ["PETRISTO", 99, check]: a newer petri's store */
	nn_rec_enc e;
	char *buf;
	size_t len;
	nn_rec_begin(&e, "PETRISTO", 99, 0);
	CHECK_OK(nn_rec_finish(&e, &buf, &len), nn_rec_strerror);
	raw_put(dir, "meta", "schema", 6, buf, len);
	free(buf);
	char err[512] = "";
	q_options ro = { Q_RDONLY, 0, 0 };
	CHECK(q_open(&s, dir, NULL, err, sizeof err) == Q_EVERSION && s == NULL);
	CHECKM(strstr(err, "version 99 is not supported") != NULL, "message: %s", err);
	CHECK(q_open(&s, dir, &ro, err, sizeof err) == Q_EVERSION);
	/* ["PETRISTO", 1]: a store from before checksums, refused saying why */
	raw_put(dir, "meta", "schema", 6, "\x92\xa8PETRISTO\x01", 11);
	CHECK(q_open(&s, dir, &ro, err, sizeof err) == Q_EVERSION && s == NULL);
	CHECKM(strstr(err, "store schema: record version 1 was written by an older petri without checksums") != NULL,
	       "message: %s", err);
	/* not a store at all: schema record missing */
	const char *dir2 = newdir();
	s = open_new(dir2, 0, 0);
	q_close(s);
	raw_put(dir2, "meta", "schema", 6, "\x93\xa8PETRIXXX\x02\x00", 12);
	CHECK(q_open(&s, dir2, NULL, err, sizeof err) == Q_ECORRUPT);
	CHECKM(strstr(err, "wrong magic") != NULL, "message: %s", err);
}

/* ---- models ---- */
struct models_arg {
	nn_model m[3];
	char ids[3][Q_IDLEN];
};

static int put_models(q_txn *t, void *ud)
{
	struct models_arg *a = ud;
	int rc = 0;
	for (int i = 0; i < 3 && !rc; i++) {
		if ((rc = q_model_new_id(t, a->ids[i])))
			break;
		tiny_model(&a->m[i], a->ids[i], i ? a->ids[i - 1] : "", i + 1);
		rc = q_model_put(t, &a->m[i], i == 0 ? Q_MODEL_TRAINED : i == 1 ? Q_MODEL_FAILED : Q_MODEL_NEW);
	}
	return rc;
}

struct list_arg {
	int n;
	char ids[8][Q_IDLEN];
};

static int list_one(const q_summary *s, void *ud)
{
	struct list_arg *l = ud;
	if (l->n < 8)
		snprintf(l->ids[l->n], Q_IDLEN, "%s", s->id);
	l->n++;
	return 0;
}

static int check_models(q_txn *t, void *ud)
{
	struct models_arg *a = ud;
	for (int i = 0; i < 3; i++) {
		nn_model m;
		CHECK_OK(q_model_get(t, a->ids[i], &m), q_strerror);
		/* the stored record is the model file: same bytes as encoding it */
		char *b1, *b2;
		size_t l1, l2;
		void *raw;
		size_t rawlen;
		CHECK_OK(nn_model_encode(&a->m[i], &b1, &l1), nn_strerror);
		CHECK_OK(nn_model_encode(&m, &b2, &l2), nn_strerror);
		CHECK(l1 == l2 && !memcmp(b1, b2, l1));
		CHECK_OK(q_model_bytes(t, a->ids[i], &raw, &rawlen), q_strerror);
		CHECK(rawlen == l1 && !memcmp(raw, b1, l1));
		free(b1), free(b2), free(raw);
		CHECK(m.nparams == 10 && !memcmp(m.params, a->m[i].params, 10 * sizeof(float)));
		nn_model_free(&m);
		q_summary s;
		CHECK_OK(q_summary_get(t, a->ids[i], &s), q_strerror);
		CHECK(!strcmp(s.id, a->ids[i]) && !strcmp(s.parent, i ? a->ids[i - 1] : ""));
		CHECK(s.depth == (i + 1) % 7 && s.cost.params == 10 && s.metrics.epochs == i + 1);
		CHECK(s.metrics.val_acc == a->m[i].metrics.val_acc && s.created_ms > 0);
		/* the third was put as new, then marked trained */
		CHECK(s.state == (i == 1 ? Q_MODEL_FAILED : Q_MODEL_TRAINED));
	}
	struct list_arg l = { 0 };
	CHECK_OK(q_summary_each(t, list_one, &l), q_strerror);
	CHECK(l.n == 3 && !strcmp(l.ids[0], "m000001") && !strcmp(l.ids[2], "m000003"));
	uint64_t n;
	CHECK_OK(q_model_count(t, &n), q_strerror);
	CHECK(n == 3);
	nn_model m;
	CHECK(q_model_get(t, "nope", &m) == Q_ENOTFOUND && strstr(q_errmsg(q_txn_store(t)), "nope"));
	CHECK(q_model_get(t, "", &m) == Q_EINVAL);
	return 0;
}

static int train_third(q_txn *t, void *ud)
{
	struct models_arg *a = ud;
	return q_model_set_state(t, a->ids[2], Q_MODEL_TRAINED);
}

static void test_models(void)
{
	q_store *s = open_new(newdir(), 0, 0);
	if (!s)
		return;
	struct models_arg a;
	memset(&a, 0, sizeof a);
	CHECK_OK(q_write(s, put_models, &a), q_strerror);
	CHECK(!strcmp(a.ids[0], "m000001") && !strcmp(a.ids[1], "m000002"));
	CHECK_OK(q_write(s, train_third, &a), q_strerror);
	CHECK_OK(q_read(s, check_models, &a), q_strerror);
	uint64_t recs = 0;
	CHECK_OK(q_verify(s, &recs), q_strerror);
	CHECK(recs >= 6);
	for (int i = 0; i < 3; i++)
		nn_model_free(&a.m[i]);
	q_close(s);
}

/* ---- queues ---- */
static int push5(q_txn *t, void *ud)
{
	uint64_t *ids = ud;
	for (int i = 0; i < 5; i++) {
		char pl[16];
		int n = snprintf(pl, sizeof pl, "job%d", i);
		int rc = q_push(t, Q_CANDIDATE, pl, (size_t)n, &ids[i]);
		if (rc)
			return rc;
	}
	return q_push(t, Q_CHILD, NULL, 0, &ids[5]);
}

struct lease_arg {
	const char *owner;
	int queue;
	q_entry e;
	int rc;
};

static int lease_one(q_txn *t, void *ud)
{
	struct lease_arg *a = ud;
	a->rc = q_lease(t, a->queue, a->owner, &a->e);
	return a->rc == Q_EEMPTY ? 0 : a->rc;
}

static q_entry lease(q_store *s, int queue, const char *owner, int *rc)
{
	struct lease_arg a = { owner, queue, { 0 }, 0 };
	int r = q_write(s, lease_one, &a);
	*rc = r ? r : a.rc;
	return a.e;
}

struct op_arg {
	int op; /* 0 done, 1 fail, 2 recover, 3 requeue, 4 recover without a charge */
	uint64_t id;
	const char *owner;
	int state, n;
};

static int do_op(q_txn *t, void *ud)
{
	struct op_arg *a = ud;
	switch (a->op) {
	case 0: return q_done(t, a->id, a->owner);
	case 1: return q_fail(t, a->id, a->owner, "out of memory", &a->state);
	case 3: return q_requeue(t, a->id, a->owner, "stopped");
	case 4: return q_recover(t, 0, &a->n);
	default: return q_recover(t, 1, &a->n);
	}
}

static int op(q_store *s, int which, uint64_t id, const char *owner, int *state)
{
	struct op_arg a = { which, id, owner, -1, 0 };
	int rc = q_write(s, do_op, &a);
	if (state)
		*state = which == 2 || which == 4 ? a.n : a.state;
	return rc;
}

struct counts_arg {
	uint64_t c[Q_NQUEUES][Q_NSTATES];
	int listed;
	uint64_t order[8];
};

static int list_entry(const q_entry *e, void *ud)
{
	struct counts_arg *a = ud;
	if (a->listed < 8)
		a->order[a->listed] = e->id;
	a->listed++;
	return 0;
}

static int get_counts(q_txn *t, void *ud)
{
	struct counts_arg *a = ud;
	for (int q = 0; q < Q_NQUEUES; q++)
		for (int st = 0; st < Q_NSTATES; st++) {
			int rc = q_count(t, q, st, &a->c[q][st]);
			if (rc)
				return rc;
		}
	a->listed = 0;
	return q_entry_each(t, Q_CANDIDATE, Q_QUEUED, list_entry, a);
}

static int get_entry(q_txn *t, void *ud)
{
	q_entry *e = ud;
	return q_entry_get(t, e->id, e);
}

static void test_queues(void)
{
	q_store *s = open_new(newdir(), 0, 0);
	if (!s)
		return;
	uint64_t ids[6];
	int rc, st;
	CHECK_OK(q_write(s, push5, ids), q_strerror);
	CHECK(ids[0] == 1 && ids[4] == 5 && ids[5] == 6);
	struct counts_arg c;
	CHECK_OK(q_read(s, get_counts, &c), q_strerror);
	CHECK(c.c[Q_CANDIDATE][Q_QUEUED] == 5 && c.c[Q_CHILD][Q_QUEUED] == 1 && c.c[Q_PARENT][Q_QUEUED] == 0);
	/* listed newest first */
	CHECK(c.listed == 5 && c.order[0] == 5 && c.order[4] == 1);
	/* leasing takes the newest queued entry, with its payload */
	q_entry e = lease(s, Q_CANDIDATE, "w1", &rc);
	CHECK_OK(rc, q_strerror);
	CHECK(e.id == 5 && e.state == Q_LEASED && e.attempts == 1 && !strcmp(e.owner, "w1"));
	CHECK(e.len == 4 && !memcmp(e.payload, "job4", 4) && e.lease_ms > 0);
	q_entry_free(&e);
	/* only the lease holder can finish it */
	CHECK(op(s, 0, 5, "w2", NULL) == Q_ESTATE && strstr(q_errmsg(s), "leased by 'w1'"));
	CHECK_OK(op(s, 0, 5, "w1", NULL), q_strerror);
	CHECK(op(s, 0, 5, "w1", NULL) == Q_ESTATE && strstr(q_errmsg(s), "is done, not leased"));
	CHECK(op(s, 1, 4, NULL, NULL) == Q_ESTATE && strstr(q_errmsg(s), "is queued, not leased"));
	CHECK(op(s, 0, 99, NULL, NULL) == Q_ENOTFOUND);
	/* an interrupted lease goes back to queued without using an attempt */
	e = lease(s, Q_CANDIDATE, "w1", &rc);
	CHECK(rc == 0 && e.id == 4 && e.attempts == 1);
	q_entry_free(&e);
	CHECK(op(s, 3, 4, "w2", NULL) == Q_ESTATE);
	CHECK_OK(op(s, 3, 4, "w1", NULL), q_strerror);
	CHECK(op(s, 3, 4, "w1", NULL) == Q_ESTATE);
	/* entry 4 fails three times, then is not retried */
	for (int i = 1; i <= Q_MAX_ATTEMPTS; i++) {
		e = lease(s, Q_CANDIDATE, "w1", &rc);
		CHECK(rc == 0 && e.id == 4 && e.attempts == i);
		q_entry_free(&e);
		CHECK_OK(op(s, 1, 4, "w1", &st), q_strerror);
		CHECK(st == (i < Q_MAX_ATTEMPTS ? Q_QUEUED : Q_FAILED));
	}
	e.id = 4;
	CHECK_OK(q_read(s, get_entry, &e), q_strerror);
	CHECK(e.state == Q_FAILED && e.attempts == 3 && !strcmp(e.reason, "out of memory"));
	CHECK(e.len == 4 && !memcmp(e.payload, "job3", 4));
	q_entry_free(&e);
	/* the next lease skips the failed entry */
	e = lease(s, Q_CANDIDATE, "w1", &rc);
	CHECK(rc == 0 && e.id == 3);
	q_entry_free(&e);
	e = lease(s, Q_CHILD, "w9", &rc);
	CHECK(rc == 0 && e.id == 6 && e.len == 0 && e.payload == NULL);
	q_entry_free(&e);
	e = lease(s, Q_CHILD, "w9", &rc);
	CHECK(rc == Q_EEMPTY);
	q_entry_free(&e);
	e = lease(s, Q_PARENT, "w9", &rc);
	CHECK(rc == Q_EEMPTY);
	q_entry_free(&e);
	/* a dead writer's leases (3 and 6) go back in line */
	int moved = -1;
	CHECK_OK(op(s, 2, 0, NULL, &moved), q_strerror);
	CHECK(moved == 2);
	CHECK_OK(q_read(s, get_counts, &c), q_strerror);
	CHECK(c.c[Q_CANDIDATE][Q_QUEUED] == 3 && c.c[Q_CANDIDATE][Q_LEASED] == 0);
	CHECK(c.c[Q_CANDIDATE][Q_DONE] == 1 && c.c[Q_CANDIDATE][Q_FAILED] == 1 && c.c[Q_CHILD][Q_QUEUED] == 1);
	e.id = 3;
	CHECK_OK(q_read(s, get_entry, &e), q_strerror);
	CHECK(e.state == Q_QUEUED && e.attempts == 1 && strstr(e.reason, "lease of 'w1' lost"));
	q_entry_free(&e);
	/* a recovery without a charge (the jobs ran apart from the writer) uses
	 * no attempt, however many times */
	e = lease(s, Q_CHILD, "w8", &rc);
	int a0 = e.attempts;
	CHECK(rc == 0 && e.id == 6 && a0 == 2);
	q_entry_free(&e);
	for (int i = 0; i < 4; i++) {
		CHECK_OK(op(s, 4, 0, NULL, &moved), q_strerror);
		CHECK(moved == 1);
		e = lease(s, Q_CHILD, "w8", &rc);
		CHECK(rc == 0 && e.id == 6 && e.attempts == a0);
		q_entry_free(&e);
	}
	CHECK_OK(op(s, 4, 0, NULL, &moved), q_strerror);
	e.id = 6;
	CHECK_OK(q_read(s, get_entry, &e), q_strerror);
	CHECK(e.state == Q_QUEUED && e.attempts == a0 - 1 && strstr(e.reason, "not counted"));
	q_entry_free(&e);
	/* recovery also counts attempts: the third lost lease fails it */
	for (int i = 0; i < 2; i++) {
		e = lease(s, Q_CHILD, "w9", &rc);
		CHECK(rc == 0 && e.id == 6);
		q_entry_free(&e);
		CHECK_OK(op(s, 2, 0, NULL, &moved), q_strerror);
	}
	e.id = 6;
	CHECK_OK(q_read(s, get_entry, &e), q_strerror);
	CHECK(e.state == Q_FAILED && e.attempts == 3);
	q_entry_free(&e);
	uint64_t recs;
	CHECK_OK(q_verify(s, &recs), q_strerror);
	q_close(s);
}

/* one transaction: all or nothing */
static int push_then_fail(q_txn *t, void *ud)
{
	(void)ud;
	int rc = q_push(t, Q_PARENT, "x", 1, NULL);
	if (!rc)
		rc = q_event(t, "should not be logged");
	return rc ? rc : Q_EINVAL;
}

static int push_and_log(q_txn *t, void *ud)
{
	(void)ud;
	int rc = q_push(t, Q_PARENT, "x", 1, NULL);
	if (!rc)
		rc = q_config_set(t, "seed", "7");
	if (!rc)
		rc = q_event(t, "pushed parent %d", 1);
	if (!rc)
		rc = q_event(t, "second");
	return rc;
}

struct ev_arg {
	int n;
	uint64_t last;
	char msg[2][64];
};

static int ev_one(uint64_t seq, int64_t ms, const char *msg, void *ud)
{
	struct ev_arg *a = ud;
	if (a->n < 2)
		snprintf(a->msg[a->n], 64, "%s", msg);
	CHECK(seq > a->last && ms > 0);
	a->last = seq;
	a->n++;
	return 0;
}

static int cfg_one(const char *k, const char *v, void *ud)
{
	int *n = ud;
	CHECK(!strcmp(k, "seed") && !strcmp(v, "7"));
	++*n;
	return 0;
}

static int read_all(q_txn *t, void *ud)
{
	struct ev_arg *a = ud;
	uint64_t n = 9;
	CHECK_OK(q_count(t, Q_PARENT, Q_QUEUED, &n), q_strerror);
	CHECK(n == 1);
	char v[8];
	CHECK_OK(q_config_get(t, "seed", v, sizeof v), q_strerror);
	CHECK(!strcmp(v, "7"));
	CHECK(q_config_get(t, "seed", v, 1) == Q_EINVAL);
	CHECK(q_config_get(t, "data", v, sizeof v) == Q_ENOTFOUND);
	int nc = 0;
	CHECK_OK(q_config_each(t, cfg_one, &nc), q_strerror);
	CHECK(nc == 1);
	memset(a, 0, sizeof *a);
	CHECK_OK(q_event_each(t, 0, ev_one, a), q_strerror);
	struct ev_arg b = { 0 };
	CHECK_OK(q_event_each(t, 1, ev_one, &b), q_strerror);
	CHECK(b.n == 1 && !strcmp(b.msg[0], "second"));
	return 0;
}

static int blob_write(q_txn *t, void *ud)
{
	(void)ud;
	unsigned char big[3000];
	for (int i = 0; i < 3000; i++)
		big[i] = (unsigned char)(i * 7);
	int rc = q_blob_put(t, "hull", big, sizeof big);
	return rc ? rc : q_blob_put(t, "empty", NULL, 0);
}

static int blob_read(q_txn *t, void *ud)
{
	(void)ud;
	void *b;
	size_t n;
	CHECK_OK(q_blob_get(t, "hull", &b, &n), q_strerror);
	int same = n == 3000;
	for (size_t i = 0; same && i < n; i++)
		same = ((unsigned char *)b)[i] == (unsigned char)(i * 7);
	CHECK(same);
	free(b);
	CHECK_OK(q_blob_get(t, "empty", &b, &n), q_strerror);
	CHECK(n == 0);
	free(b);
	CHECK(q_blob_get(t, "nope", &b, &n) == Q_ENOTFOUND && b == NULL);
	return 0;
}

static void test_txn_config_events(void)
{
	const char *dir = newdir();
	q_store *s = open_new(dir, 0, 0);
	if (!s)
		return;
	CHECK(q_write(s, push_then_fail, NULL) == Q_EINVAL);
	CHECK_OK(q_write(s, push_and_log, NULL), q_strerror);
	struct ev_arg a;
	CHECK_OK(q_read(s, read_all, &a), q_strerror);
	CHECK(a.n == 2 && !strcmp(a.msg[0], "pushed parent 1") && !strcmp(a.msg[1], "second"));
	CHECK_OK(q_write(s, blob_write, NULL), q_strerror);
	CHECK_OK(q_read(s, blob_read, NULL), q_strerror);
	/* the log holds the committed events only, in order */
	char p[300], buf[1024] = "";
	snprintf(p, sizeof p, "%s/log", dir);
	FILE *f = fopen(p, "r");
	CHECK(f != NULL);
	if (f) {
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = 0;
		fclose(f);
	}
	char *l1 = strstr(buf, " #1 pushed parent 1\n"), *l2 = strstr(buf, " #2 second\n");
	CHECKM(l1 && l2 && l1 < l2 && !strstr(buf, "should not"), "log: %s", buf);
	uint64_t recs;
	CHECK_OK(q_verify(s, &recs), q_strerror);
	q_close(s);
}

/* ---- many small blobs under prefixes ---- */
static int blobs_write(q_txn *t, void *ud)
{
	int n = *(int *)ud, rc = 0;
	char key[32], val[64];
	for (int i = 0; i < n && !rc; i++) {
		snprintf(key, sizeof key, "fr.p.%06d", i);
		snprintf(val, sizeof val, "point %d", i);
		rc = q_blob_put(t, key, val, strlen(val));
	}
	/* neighbours of the prefix in key order, and an empty blob */
	if (!rc)
		rc = q_blob_put(t, "fr.h", "header", 6);
	if (!rc)
		rc = q_blob_put(t, "fr.q", "after", 5);
	return rc ? rc : q_blob_put(t, "fr.p.", NULL, 0);
}

struct blob_seen {
	int n, bad, stop_at;
	char first[64], last[64];
};

static int blob_seen_one(const char *key, const void *buf, size_t len, void *ud)
{
	struct blob_seen *b = ud;
	char want[64];
	int i = atoi(key + 5);
	if (b->n == 0)
		snprintf(b->first, sizeof b->first, "%s", key);
	snprintf(b->last, sizeof b->last, "%s", key);
	snprintf(want, sizeof want, "point %d", i);
	if (strcmp(key, "fr.p.") && (len != strlen(want) || memcmp(buf, want, len)))
		b->bad++;
	if (!strcmp(key, "fr.p.") && len != 0)
		b->bad++;
	return ++b->n == b->stop_at ? 77 : 0;
}

static int blobs_walk(q_txn *t, void *ud)
{
	struct blob_seen *b = ud;
	return q_blob_each(t, b->first, blob_seen_one, b);
}

static int blobs_del(q_txn *t, void *ud)
{
	(void)ud;
	int rc = q_blob_del(t, "fr.p.000003");
	CHECK(q_blob_del(t, "fr.p.000003") == Q_ENOTFOUND);
	CHECK(q_blob_del(t, "") == Q_EINVAL);
	return rc;
}

static struct blob_seen walk_prefix(q_store *s, const char *prefix, int stop_at, int *rc)
{
	struct blob_seen b = { 0, 0, stop_at, "", "" };
	snprintf(b.first, sizeof b.first, "%s", prefix);
	*rc = q_read(s, blobs_walk, &b);
	return b;
}

static void test_blobs(void)
{
	const char *dir = newdir();
	q_store *s = open_new(dir, 0, 0);
	int n = 1000, rc;
	if (!s)
		return;
	CHECK_OK(q_write(s, blobs_write, &n), q_strerror);
	/* the prefix: its own key first, then every point in key order, and
	 * nothing past it */
	struct blob_seen b = walk_prefix(s, "fr.p.", 0, &rc);
	CHECK_OK(rc, q_strerror);
	CHECKM(b.n == n + 1 && !b.bad && !strcmp(b.first, "fr.p.") && !strcmp(b.last, "fr.p.000999"),
	       "%d blobs, %d bad, first %s, last %s", b.n, b.bad, b.first, b.last);
	b = walk_prefix(s, "fr.p.0001", 0, &rc);
	CHECK(rc == 0 && b.n == 100 && !strcmp(b.first, "fr.p.000100") && !strcmp(b.last, "fr.p.000199"));
	b = walk_prefix(s, "zz", 0, &rc);
	CHECK(rc == 0 && b.n == 0);
	b = walk_prefix(s, "", 0, &rc); /* all: fr.h, fr.p., the points, fr.q */
	CHECK(rc == 0 && b.n == n + 3 && !strcmp(b.first, "fr.h") && !strcmp(b.last, "fr.q"));
	/* fn's nonzero return stops the walk and is returned */
	b = walk_prefix(s, "fr.p.", 10, &rc);
	CHECK(rc == 77 && b.n == 10);
	/* a delete: gone from get and from the walk; a missing key is Q_ENOTFOUND */
	CHECK_OK(q_write(s, blobs_del, NULL), q_strerror);
	b = walk_prefix(s, "fr.p.", 0, &rc);
	CHECK(rc == 0 && b.n == n);
	uint64_t recs = 0;
	CHECK_OK(q_verify(s, &recs), q_strerror);
	q_close(s);
	/* a corrupt blob record stops the walk with Q_ECORRUPT naming it */
	raw_put(dir, "frontier", "fr.p.000005", 11, "\x92\xa8PETRIBL", 10);
	CHECK_OK(q_open(&s, dir, NULL, NULL, 0), q_strerror);
	if (!s)
		return;
	b = walk_prefix(s, "fr.p.", 0, &rc);
	CHECKM(rc == Q_ECORRUPT && b.n == 5 && strstr(q_errmsg(s), "fr.p.000005"), "rc %d after %d: %s", rc, b.n,
	       q_errmsg(s));
	CHECK(q_verify(s, NULL) == Q_ECORRUPT);
	q_close(s);
}

/* ---- map growth and a full map ---- */
struct fill_arg {
	int size, done;
};

static int push_big(q_txn *t, void *ud)
{
	struct fill_arg *a = ud;
	char *buf = malloc((size_t)a->size);
	if (!buf)
		return Q_ENOMEM;
	memset(buf, 'a' + a->done % 26, (size_t)a->size);
	int rc = q_push(t, Q_CHILD, buf, (size_t)a->size, NULL);
	free(buf);
	return rc;
}

struct check_fill {
	int n, bad;
};

static int fill_one(const q_entry *e, void *ud)
{
	struct check_fill *c = ud;
	/* entry id k (from 1) was the k-th push: payload of 'a' + (k-1) % 26 */
	char want = (char)('a' + (e->id - 1) % 26);
	if (e->len != 20000 || ((char *)e->payload)[0] != want || ((char *)e->payload)[19999] != want)
		c->bad++;
	c->n++;
	return 0;
}

static int check_fill(q_txn *t, void *ud)
{
	return q_entry_each(t, Q_CHILD, Q_QUEUED, fill_one, ud);
}

static void test_map_growth(void)
{
	q_store *s = open_new(newdir(), 64 << 10, 0);
	if (!s)
		return;
	size_t m0 = q_map_size(s);
	struct fill_arg a = { 20000, 0 };
	for (a.done = 0; a.done < 200; a.done++)
		if (q_write(s, push_big, &a))
			break;
	CHECKM(a.done == 200, "stopped after %d: %s", a.done, q_errmsg(s));
	CHECKM(q_map_size(s) >= 4 * m0, "map %zu from %zu", q_map_size(s), m0);
	struct check_fill c = { 0, 0 };
	CHECK_OK(q_read(s, check_fill, &c), q_strerror);
	CHECK(c.n == 200 && c.bad == 0);
	q_close(s);
}

static void test_map_full(void)
{
	const char *dir = newdir();
	q_store *s = open_new(dir, 64 << 10, 512 << 10);
	if (!s)
		return;
	struct fill_arg a = { 20000, 0 };
	int rc = 0;
	for (a.done = 0; a.done < 1000; a.done++)
		if ((rc = q_write(s, push_big, &a)))
			break;
	CHECK(rc == Q_EFULL && a.done > 5 && a.done < 1000);
	CHECKM(strstr(q_errmsg(s), "maximum of 524288 bytes") != NULL, "message: %s", q_errmsg(s));
	CHECK(q_map_size(s) == 512 << 10);
	/* the next write stops cleanly too */
	CHECK(q_write(s, push_big, &a) == Q_EFULL);
	q_close(s);
	/* everything committed is there, in a read-only open */
	q_options ro = { Q_RDONLY, 0, 0 };
	char err[512];
	CHECK_OK(q_open(&s, dir, &ro, err, sizeof err), q_strerror);
	if (!s)
		return;
	struct check_fill c = { 0, 0 };
	CHECK_OK(q_read(s, check_fill, &c), q_strerror);
	CHECKM(c.n == a.done && c.bad == 0, "%d entries readable, %d committed, %d bad", c.n, a.done, c.bad);
	uint64_t recs;
	CHECK_OK(q_verify(s, &recs), q_strerror);
	q_close(s);
}

/* ---- corrupt records ---- */
static int get_entry1(q_txn *t, void *ud)
{
	q_entry *e = ud;
	return q_entry_get(t, 1, e);
}

/* Reading entry 1 of the store in dir fails with rc and a message holding msg. */
static int read_entry1_fails(const char *dir, int rc, const char *msg)
{
	q_store *s;
	q_entry e;
	char err[512];
	int ok = q_open(&s, dir, NULL, err, sizeof err) == 0;
	CHECKM(ok, "q_open %s: %s", dir, err);
	if (!ok)
		return 0;
	ok = q_read(s, get_entry1, &e) == rc && strstr(q_errmsg(s), msg) != NULL;
	q_close(s);
	return ok;
}

static void test_corrupt(void)
{
	const char *dir = newdir();
	q_store *s = open_new(dir, 0, 0);
	if (!s)
		return;
	uint64_t ids[6];
	CHECK_OK(q_write(s, push5, ids), q_strerror);
	CHECK_OK(q_write(s, put_config_a, NULL), q_strerror);
	q_close(s);
	/* every prefix of a valid entry record, and some flipped bytes */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	unsigned char key[8] = { 0, 0, 0, 0, 0, 0, 0, 1 }, rec[256];
	size_t len = 0;
	CHECK(mdb_env_create(&env) == 0);
	mdb_env_set_maxdbs(env, 16);
	CHECK(mdb_env_open(env, dir, MDB_RDONLY, 0644) == 0);
	CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
	CHECK(mdb_dbi_open(txn, "entries", 0, &dbi) == 0);
	k.mv_size = 8, k.mv_data = key;
	if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size <= sizeof rec) {
		len = v.mv_size;
		memcpy(rec, v.mv_data, len);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	CHECK(len > 20);
	char err[512];
	int bad = 0;
	for (size_t cut = 0; cut < len; cut++) {
		raw_put(dir, "entries", key, 8, rec, cut);
		CHECK_OK(q_open(&s, dir, NULL, err, sizeof err), q_strerror);
		if (!s)
			return;
		q_entry e;
		int rc = q_read(s, get_entry1, &e);
		bad += rc == Q_ECORRUPT && strstr(q_errmsg(s), "queue entry 1") != NULL;
		CHECK(q_verify(s, NULL) == Q_ECORRUPT);
		q_close(s);
	}
	CHECKM(bad == (int)len, "%d of %zu prefixes reported as corrupt entry 1", bad, len);
	/* wrong magic */
	unsigned char r2[256];
	memcpy(r2, rec, len);
	r2[2] = 'X';
	raw_put(dir, "entries", key, 8, r2, len);
	CHECK(read_entry1_fails(dir, Q_ECORRUPT, "wrong magic"));
	/* a newer record version: refused as such when its check holds */
	memcpy(r2, rec, len);
	r2[10] = 3;
	raw_put(dir, "entries", key, 8, r2, len);
	CHECK(read_entry1_fails(dir, Q_ECORRUPT, "queue entry 1: checksum mismatch (record corrupt)"));
	CHECK(nn_rec_seal(r2, len) == 0);
	raw_put(dir, "entries", key, 8, r2, len);
	CHECK(read_entry1_fails(dir, Q_EVERSION, "version 3 is not supported"));
	/* version 1, from before checksums */
	memcpy(r2, rec, len);
	r2[0]--, r2[10] = 1; /* one item less: no check */
	raw_put(dir, "entries", key, 8, r2, len - NN_REC_CHECK_BYTES);
	CHECK(read_entry1_fails(dir, Q_EVERSION, "queue entry 1: record version 1 was written by an older petri without checksums"));
	/* a huge array header that the bytes cannot hold */
	raw_put(dir, "entries", key, 8, "\xdd\x7f\xff\xff\xff\xa8PETRIQUE", 14);
	raw_put(dir, "config", "a", 1, "\x92\xa8PETRICFG\x02", 11);
	CHECK_OK(q_open(&s, dir, NULL, err, sizeof err), q_strerror);
	if (s) {
		q_entry e;
		char val[16];
		CHECK(q_read(s, get_entry1, &e) == Q_ECORRUPT);
		CHECK(q_read(s, get_config_a, val) == Q_ECORRUPT && strstr(q_errmsg(s), "config 'a'"));
		q_close(s);
	}
	/* a damaged model record is reported, not decoded */
	const char *dir2 = newdir();
	s = open_new(dir2, 0, 0);
	struct models_arg ma;
	memset(&ma, 0, sizeof ma);
	CHECK_OK(q_write(s, put_models, &ma), q_strerror);
	q_close(s);
	char *mb;
	size_t ml;
	CHECK_OK(nn_model_encode(&ma.m[0], &mb, &ml), nn_strerror);
	raw_put(dir2, "models", "m000001", 7, mb, ml / 2);
	free(mb);
	CHECK_OK(q_open(&s, dir2, NULL, err, sizeof err), q_strerror);
	if (s) {
		CHECK(q_verify(s, NULL) == Q_ECORRUPT && strstr(q_errmsg(s), "model 'm000001'"));
		q_close(s);
	}
	for (int i = 0; i < 3; i++)
		nn_model_free(&ma.m[i]);
}

/* ---- bit flips ----
 * Every single-bit flip of a stored entry, config and model record is
 * refused as a corrupt record that the message names. The flipped copies
 * go into one raw transaction under keys of their own, then are read
 * through the store. */
typedef struct {
	const char *db;
	unsigned char rec[4096];
	size_t len, step; /* flip every step-th bit */
	q_store *s;
} flips;

/* key of flip i: entries 1000 + i (big-endian), else "f<i>" */
static size_t flip_key(const flips *f, size_t i, unsigned char *key)
{
	if (!strcmp(f->db, "entries")) {
		memset(key, 0, 8);
		for (int b = 0; b < 8; b++)
			key[7 - b] = (unsigned char)((1000 + i) >> 8 * b);
		return 8;
	}
	return (size_t)snprintf((char *)key, 32, "f%zu", i);
}

static void flips_put(const char *dir, const flips *f)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	CHECK(mdb_env_create(&env) == 0);
	mdb_env_set_maxdbs(env, 16);
	mdb_env_set_mapsize(env, (size_t)256 << 20);
	CHECK(mdb_env_open(env, dir, MDB_NOSYNC, 0644) == 0);
	CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	CHECK(mdb_dbi_open(txn, f->db, 0, &dbi) == 0);
	unsigned char v[sizeof f->rec], key[32];
	for (size_t i = 0; i < 8 * f->len; i += f->step) {
		memcpy(v, f->rec, f->len);
		v[i / 8] ^= (unsigned char)(1 << i % 8);
		MDB_val k = { flip_key(f, i, key), key }, val = { f->len, v };
		CHECK(mdb_put(txn, dbi, &k, &val, 0) == 0);
	}
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
}

static int flips_read(q_txn *t, void *ud)
{
	const flips *f = ud;
	unsigned char key[32];
	size_t missed = 0, unnamed = 0, mismatch = 0, n = (8 * f->len + f->step - 1) / f->step;
	for (size_t i = 0; i < 8 * f->len; i += f->step) {
		char what[64];
		int rc;
		size_t kl = flip_key(f, i, key);
		if (!strcmp(f->db, "entries")) {
			q_entry e;
			rc = q_entry_get(t, 1000 + i, &e);
			snprintf(what, sizeof what, "queue entry %zu", 1000 + i);
		} else if (!strcmp(f->db, "config")) {
			char val[64];
			key[kl] = 0;
			rc = q_config_get(t, (const char *)key, val, sizeof val);
			snprintf(what, sizeof what, "config '%s'", key);
		} else {
			nn_model m;
			key[kl] = 0;
			rc = q_model_get(t, (const char *)key, &m);
			if (!rc)
				nn_model_free(&m);
			snprintf(what, sizeof what, "model '%s'", key);
		}
		const char *msg = q_errmsg(f->s);
		missed += rc != Q_ECORRUPT;
		/* past array header, magic and version: a checksum mismatch (or
		 * malformed, where the flip breaks the structure) */
		unnamed += !strstr(msg, what) || (i / 8 > 10 && !strstr(msg, ": checksum mismatch (record corrupt)") &&
						  !strstr(msg, "corrupt") && !strstr(msg, "malformed"));
		mismatch += strstr(msg, ": checksum mismatch (record corrupt)") != NULL;
	}
	CHECKM(missed == 0 && unnamed == 0, "%s: of %zu flips, %zu not refused as corrupt, %zu without the message",
	       f->db, n, missed, unnamed);
	size_t past = (8 * f->len - 88 + f->step - 1) / f->step; /* flips past [array, magic, version */
	CHECKM(mismatch > past / 2, "%s: %zu of %zu flips reported as checksum mismatches", f->db, mismatch, past);
	return 0;
}

/* the value of key in db, copied into f */
static void flips_load(const char *dir, flips *f, const void *key, size_t klen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { klen, (void *)key }, v;
	f->len = 0;
	CHECK(mdb_env_create(&env) == 0);
	mdb_env_set_maxdbs(env, 16);
	CHECK(mdb_env_open(env, dir, MDB_RDONLY, 0644) == 0);
	CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
	CHECK(mdb_dbi_open(txn, f->db, 0, &dbi) == 0);
	if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size <= sizeof f->rec) {
		f->len = v.mv_size;
		memcpy(f->rec, v.mv_data, v.mv_size);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	CHECKM(f->len > 11, "%s: record of %zu bytes", f->db, f->len);
}

static void test_bit_flips(void)
{
	const char *dir = newdir();
	q_store *s = open_new(dir, 0, 0);
	if (!s)
		return;
	uint64_t ids[6];
	struct models_arg ma;
	memset(&ma, 0, sizeof ma);
	CHECK_OK(q_write(s, push5, ids), q_strerror);
	CHECK_OK(q_write(s, put_config_a, NULL), q_strerror);
	CHECK_OK(q_write(s, put_models, &ma), q_strerror);
	q_close(s);
	for (int i = 0; i < 3; i++)
		nn_model_free(&ma.m[i]);
	static flips f[3];
	unsigned char ekey[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	f[0] = (flips){ .db = "entries", .step = 1 };
	flips_load(dir, &f[0], ekey, 8);
	f[1] = (flips){ .db = "config", .step = 1 };
	flips_load(dir, &f[1], "a", 1);
	f[2] = (flips){ .db = "models", .step = 1 };
	flips_load(dir, &f[2], "m000001", 7);
	/* a model record of a few KB: every bit; a bigger one, a dense sample */
	f[2].step = f[2].len > 1024 ? 7 : 1;
	char err[512];
	for (int i = 0; i < 3; i++) {
		if (!f[i].len)
			continue;
		flips_put(dir, &f[i]);
		CHECK_OK(q_open(&s, dir, NULL, err, sizeof err), q_strerror);
		if (!s)
			return;
		f[i].s = s;
		CHECK_OK(q_read(s, flips_read, &f[i]), q_strerror);
		/* and the store check finds them */
		CHECK(q_verify(s, NULL) == Q_ECORRUPT);
		q_close(s);
	}
}

/* ---- a reader process sees consistent snapshots during writes ---- */
struct snap_arg {
	int ok, bad;
};

static int snapshot(q_txn *t, void *ud)
{
	struct snap_arg *a = ud;
	uint64_t models = 0, queued = 0;
	char v[32] = "0";
	int rc = q_config_get(t, "n", v, sizeof v);
	if (rc == Q_ENOTFOUND)
		rc = 0, strcpy(v, "0");
	if (!rc)
		rc = q_model_count(t, &models);
	if (!rc)
		rc = q_count(t, Q_CHILD, Q_QUEUED, &queued);
	/* one transaction wrote model n, entry n and config n together */
	if (rc || models != strtoull(v, NULL, 10) || queued != models)
		a->bad++;
	else
		a->ok++;
	return rc;
}

static void reader_child(const char *dir, int stopfd)
{
	q_options ro = { Q_RDONLY, 0, 0 };
	q_store *s = NULL;
	struct snap_arg a = { 0, 0 };
	char err[512], c;
	fcntl(stopfd, F_SETFL, O_NONBLOCK);
	/* the writer created the store before forking */
	if (q_open(&s, dir, &ro, err, sizeof err)) {
		fprintf(stderr, "reader: %s\n", err);
		_exit(2);
	}
	for (;;) {
		if (q_read(s, snapshot, &a)) {
			fprintf(stderr, "reader: %s\n", q_errmsg(s));
			a.bad++;
		}
		if (read(stopfd, &c, 1) == 0) /* the writer closed the pipe */
			break;
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
	if (q_read(s, snapshot, &a))
		a.bad++;
	q_close(s);
	printf("    reader: %d consistent snapshots, %d inconsistent\n", a.ok, a.bad);
	fflush(stdout);
	_exit(a.bad == 0 && a.ok > 0 ? 0 : 1);
}

struct grow_arg {
	int i;
	nn_model m;
};

static int write_step(q_txn *t, void *ud)
{
	struct grow_arg *a = ud;
	char v[32], pl[4096];
	memset(pl, 'p', sizeof pl);
	snprintf(a->m.lineage.id, sizeof a->m.lineage.id, "w%05d", a->i);
	snprintf(v, sizeof v, "%d", a->i + 1);
	int rc = q_model_put(t, &a->m, Q_MODEL_TRAINED);
	if (!rc)
		rc = q_push(t, Q_CHILD, pl, sizeof pl, NULL);
	return rc ? rc : q_config_set(t, "n", v);
}

static void test_readers(void)
{
	const char *dir = newdir();
	q_store *s = open_new(dir, 64 << 10, 0); /* small: the writer grows it under the reader */
	if (!s)
		return;
	q_close(s);
	int p[2];
	CHECK(pipe(p) == 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		reader_child(dir, p[0]);
	}
	close(p[0]);
	char err[512];
	q_options o = { 0, 64 << 10, 0 };
	CHECK_OK(q_open(&s, dir, &o, err, sizeof err), q_strerror);
	struct grow_arg a;
	tiny_model(&a.m, "w", "", 3);
	size_t m0 = s ? q_map_size(s) : 0;
	for (a.i = 0; s && a.i < 300; a.i++) {
		int rc = q_write(s, write_step, &a);
		CHECK_OK(rc, q_strerror);
		if (rc)
			break;
	}
	CHECK(s && q_map_size(s) > m0);
	close(p[1]);
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECKM(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader status %d", status);
	nn_model_free(&a.m);
	q_close(s);
}

static void cleanup(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
}

/* ---- damaged files: the header check, the page walk, salvage ---- */
static int events3(q_txn *t, void *ud)
{
	(void)ud;
	int rc = q_event(t, "one");
	return rc ? rc : q_event(t, "two") ? Q_EIO : q_event(t, "three");
}


struct copy_arg {
	q_store *dst;
	int db;
	uint64_t good, bad;
	uint64_t skip_key; /* an entry left out, as if it were damaged */
};

struct one_rec {
	struct copy_arg *a;
	const void *k, *v;
	size_t kl, vl;
};

static int put_one(q_txn *t, void *ud)
{
	struct one_rec *r = ud;
	return q_salvage_put(t, r->a->db, r->k, r->kl, r->v, r->vl);
}

static int copy_rec(const void *k, size_t kl, const void *v, size_t vl, int bad, const char *why, void *ud)
{
	struct copy_arg *a = ud;
	(void)why;
	if (bad) {
		a->bad++;
		return 0;
	}
	if ((a->db == Q_DB_ENTRIES || a->db == Q_DB_EVENTS) && kl == 8 && a->skip_key &&
	    ((const unsigned char *)k)[7] == a->skip_key)
		return 0;
	a->good++;
	struct one_rec r = { a, k, v, kl, vl };
	return q_write(a->dst, put_one, &r);
}

static int finish_salvage(q_txn *t, void *ud) { return q_salvage_finish(t, ud); }

static int count_cand(q_txn *t, void *ud)
{
	uint64_t *n = ud;
	int rc = q_count(t, Q_CANDIDATE, Q_QUEUED, &n[0]);
	return rc ? rc : q_count(t, Q_CANDIDATE, Q_LEASED, &n[1]);
}

static void test_damaged_files(void)
{
	const char *dir = newdir();
	char src[256], bad[256], dst[256], path[300], cmd[1200], err[512];
	snprintf(src, sizeof src, "%s", dir);
	q_store *s = open_new(src, 0, 0);
	if (!s)
		return;
	uint64_t ids[6], pages = 0, problems = 0;
	CHECK_OK(q_write(s, push5, ids), q_strerror);
	int lrc;
	q_entry le = lease(s, Q_CANDIDATE, "w1", &lrc);
	CHECK_OK(lrc, q_strerror);
	q_entry_free(&le);
	CHECK_OK(q_write(s, events3, NULL), q_strerror);
	q_close(s);
	q_file_info fi;
	CHECK_OK(q_check_file(src, &fi, err, sizeof err), q_strerror);
	CHECK(fi.psize >= 512 && (fi.last_pg + 1) * fi.psize <= fi.file_size);
	CHECK_OK(q_check_pages(src, NULL, NULL, &pages, &problems, err, sizeof err), q_strerror);
	CHECK(pages > 2 && problems == 0);
	CHECK_OK(q_check_store(src, err, sizeof err), q_strerror);

	/* cut short, empty, a FIFO: refused before liblmdb sees them */
	snprintf(bad, sizeof bad, "%s", newdir());
	snprintf(cmd, sizeof cmd, "mkdir -p %s && head -c %u %s/data.mdb > %s/data.mdb", bad, 2 * fi.psize, src, bad);
	CHECK(system(cmd) == 0);
	q_options ro = { Q_RDONLY, 0, 0 };
	CHECK(q_open(&s, bad, &ro, err, sizeof err) == Q_ECORRUPT && strstr(err, "cut short"));
	CHECK(q_check_pages(bad, NULL, NULL, NULL, NULL, err, sizeof err) == Q_ECORRUPT);
	snprintf(path, sizeof path, "%s/data.mdb", bad);
	CHECK(truncate(path, 0) == 0);
	CHECK(q_open(&s, bad, &ro, err, sizeof err) == Q_ECORRUPT && strstr(err, "empty"));
	CHECK(unlink(path) == 0 && mkfifo(path, 0644) == 0);
	CHECK(q_open(&s, bad, &ro, err, sizeof err) == Q_ECORRUPT && strstr(err, "FIFO"));
	q_options wr = { Q_CHECK, 0, 0 };
	CHECK(q_open(&s, bad, &wr, err, sizeof err) == Q_ECORRUPT);

	/* salvage with an entry and an event left out: the index, counts and
	 * event numbers are rebuilt, and the copy verifies */
	snprintf(dst, sizeof dst, "%s", newdir());
	q_store *d = open_new(dst, 0, 0);
	CHECK_OK(q_open(&s, src, &ro, err, sizeof err), q_strerror);
	if (!s || !d)
		return;
	for (int db = 0; db < Q_NDATA; db++) {
		struct copy_arg a = { d, db, 0, 0, db == Q_DB_ENTRIES ? ids[0] : db == Q_DB_EVENTS ? 2 : 0 };
		CHECK_OK(q_records_each(s, db, copy_rec, &a), q_strerror);
		CHECK(a.bad == 0);
	}
	uint64_t dropped = 1, recs = 0, n[2] = { 0, 0 };
	CHECK_OK(q_write(d, finish_salvage, &dropped), q_strerror);
	CHECK(dropped == 0);
	CHECKM(q_verify(d, &recs) == 0, "%s", q_errmsg(d));
	CHECK_OK(q_read(d, count_cand, n), q_strerror);
	CHECKM(n[0] + n[1] == 4 && n[1] == 1, "queued %llu leased %llu", (unsigned long long)n[0], (unsigned long long)n[1]);
	q_close(s);
	q_close(d);
}

int main(void)
{
	if (!mkdtemp(tmproot)) {
		perror("mkdtemp");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	RUN(test_open);
	RUN(test_schema_version);
	RUN(test_models);
	RUN(test_queues);
	RUN(test_txn_config_events);
	RUN(test_blobs);
	RUN(test_map_growth);
	RUN(test_map_full);
	RUN(test_corrupt);
	RUN(test_bit_flips);
	RUN(test_readers);
	RUN(test_damaged_files);
	cleanup();
	return check_report();
}
