/* salvage.c - reading a damaged store record by record, copying what still
 * verifies into a new one, and the whole-store check in a child process.
 *
 * DESIGN
 * A record is good when the getter of its database decodes it (q_model_get,
 * q_summary_get, q_entry_get, q_blob_get, q_config_get, the event walk), so
 * the salvage checks exactly what a reader would. Good records are copied as
 * they are (byte for byte), except events, which are renumbered so that they
 * stay contiguous. What is derived from the records is rebuilt rather than
 * copied: the queue index and the per-queue counts from the entries, the
 * counters from the ids, and a model is kept only with its summary. The
 * result passes q_verify.
 *
 * liblmdb may die on a damaged page, so q_check_store runs the record
 * check in a child and calls its death by a signal damage; the petri tools
 * do the same for the walks of q_records_each.
 */
#include "store_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const int data_db[Q_NDATA] = {
	[Q_DB_MODELS] = DB_MODELS, [Q_DB_SUMMARIES] = DB_SUMMARIES, [Q_DB_ENTRIES] = DB_ENTRIES,
	[Q_DB_FRONTIER] = DB_FRONTIER, [Q_DB_CONFIG] = DB_CONFIG, [Q_DB_EVENTS] = DB_EVENTS,
};
static const char *const data_names[Q_NDATA] = {
	[Q_DB_MODELS] = "models", [Q_DB_SUMMARIES] = "summaries", [Q_DB_ENTRIES] = "entries",
	[Q_DB_FRONTIER] = "frontier", [Q_DB_CONFIG] = "config", [Q_DB_EVENTS] = "events",
};

const char *q_data_name(int db) { return db >= 0 && db < Q_NDATA ? data_names[db] : "?"; }

/* a key that names a string record: 1..max bytes, no NUL */
static int str_key(q_txn *t, const MDB_val *k, size_t max, char *out, const char *what)
{
	if (k->mv_size < 1 || k->mv_size > max || memchr(k->mv_data, 0, k->mv_size))
		return q_seterr(t->s, Q_ECORRUPT, "%s: bad key of %zu bytes", what, k->mv_size);
	memcpy(out, k->mv_data, k->mv_size);
	out[k->mv_size] = 0;
	return 0;
}

static int first_event(uint64_t seq, int64_t ms, const char *msg, void *ud)
{
	(void)ms, (void)msg;
	*(uint64_t *)ud = seq;
	return 1; /* one is enough */
}

/* decode the record under k in database db the way its getter does */
static int check_record(q_txn *t, int db, const MDB_val *k, const MDB_val *v)
{
	char key[256];
	int rc;
	switch (db) {
	case Q_DB_MODELS: {
		nn_model m;
		if ((rc = str_key(t, k, Q_IDLEN - 1, key, "models")) || (rc = q_model_get(t, key, &m)))
			return rc;
		nn_model_free(&m);
		return 0;
	}
	case Q_DB_SUMMARIES: {
		q_summary s;
		if ((rc = str_key(t, k, Q_IDLEN - 1, key, "summaries")))
			return rc;
		return q_summary_get(t, key, &s);
	}
	case Q_DB_ENTRIES: {
		q_entry e = { 0 };
		if (k->mv_size != 8)
			return q_seterr(t->s, Q_ECORRUPT, "entries: key of %zu bytes", k->mv_size);
		rc = q_entry_get(t, q_get_be64(k->mv_data), &e);
		q_entry_free(&e);
		return rc;
	}
	case Q_DB_FRONTIER: {
		void *buf;
		size_t len;
		if ((rc = str_key(t, k, 255, key, "frontier")) || (rc = q_blob_get(t, key, &buf, &len)))
			return rc;
		free(buf);
		return 0;
	}
	case Q_DB_CONFIG: {
		char *val;
		if ((rc = str_key(t, k, 255, key, "config")))
			return rc;
		if (!(val = malloc(v->mv_size + 1)))
			return q_seterr(t->s, Q_ENOMEM, "config '%s': out of memory", key);
		rc = q_config_get(t, key, val, v->mv_size + 1);
		free(val);
		return rc;
	}
	case Q_DB_EVENTS: {
		uint64_t seq = 0;
		if (k->mv_size != 8)
			return q_seterr(t->s, Q_ECORRUPT, "events: key of %zu bytes", k->mv_size);
		uint64_t want = q_get_be64(k->mv_data);
		if (!want)
			return q_seterr(t->s, Q_ECORRUPT, "event 0: no such sequence number");
		rc = q_event_each(t, want - 1, first_event, &seq);
		if (rc == 1)
			rc = seq == want ? 0 : q_seterr(t->s, Q_ECORRUPT, "event %llu: not found again",
							(unsigned long long)want);
		return rc;
	}
	}
	return q_seterr(t->s, Q_EINVAL, "no database %d", db);
}

struct records_walk {
	int db;
	q_record_fn fn;
	void *ud;
};

static int record_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	struct records_walk *w = ud;
	int bad = check_record(t, w->db, k, v);
	if (bad == Q_ENOMEM)
		return bad;
	return w->fn(k->mv_data, k->mv_size, v->mv_data, v->mv_size, bad, bad ? q_errmsg(t->s) : "", w->ud);
}

static int records_txn(q_txn *t, void *ud)
{
	struct records_walk *w = ud;
	return q_walk(t, data_db[w->db], NULL, record_one, w);
}

int q_records_each(q_store *s, int db, q_record_fn fn, void *ud)
{
	if (db < 0 || db >= Q_NDATA || !fn)
		return q_seterr(s, Q_EINVAL, "records: no database %d", db);
	struct records_walk w = { db, fn, ud };
	return q_read(s, records_txn, &w);
}

int q_salvage_put(q_txn *t, int db, const void *key, size_t klen, const void *val, size_t vlen)
{
	if (db < 0 || db >= Q_NDATA)
		return q_seterr(t->s, Q_EINVAL, "salvage: no database %d", db);
	if (db == Q_DB_EVENTS)
		return q_event_copy(t, val, vlen);
	return q_put(t, data_db[db], key, klen, val, vlen);
}

/* ---- finishing a salvaged store ---- */
struct keys {
	char (*id)[Q_IDLEN];
	size_t n, cap;
	int other; /* the database to look the key up in */
	uint64_t max_model;
};

/* collect the keys of one database that have no record in the other */
static int orphan_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	struct keys *o = ud;
	MDB_val ov;
	(void)v;
	if (k->mv_size < 1 || k->mv_size >= Q_IDLEN)
		return 0; /* checked before the copy: cannot happen */
	char id[Q_IDLEN];
	memcpy(id, k->mv_data, k->mv_size);
	id[k->mv_size] = 0;
	unsigned long long num;
	char tail;
	if (sscanf(id, "m%llu%c", &num, &tail) == 1 && num >= o->max_model)
		o->max_model = num + 1;
	int rc = q_get(t, o->other, k->mv_data, k->mv_size, &ov);
	if (rc != Q_ENOTFOUND)
		return rc;
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 16;
		void *p = realloc(o->id, cap * sizeof *o->id);
		if (!p)
			return Q_ENOMEM;
		o->id = p, o->cap = cap;
	}
	memcpy(o->id[o->n++], id, Q_IDLEN);
	return 0;
}

static int drop_orphans(q_txn *t, int db, int other, uint64_t *dropped, uint64_t *next_model)
{
	struct keys o = { NULL, 0, 0, other, 0 };
	int rc = q_walk(t, db, NULL, orphan_one, &o);
	for (size_t i = 0; !rc && i < o.n; i++)
		rc = q_del(t, db, o.id[i], strlen(o.id[i]));
	free(o.id);
	*dropped += o.n;
	if (o.max_model > *next_model)
		*next_model = o.max_model;
	return rc;
}

/* records that fail their checks in this store: in a damaged tree a
 * lookup by key may have found another record than the walk gave */
struct bad_keys {
	int db;
	MDB_val *k;
	size_t n, cap;
};

static int bad_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	struct bad_keys *b = ud;
	int rc = check_record(t, b->db, k, v);
	if (rc == Q_ENOMEM)
		return rc;
	if (!rc)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		MDB_val *p = realloc(b->k, cap * sizeof *p);
		if (!p)
			return Q_ENOMEM;
		b->k = p, b->cap = cap;
	}
	if (!(b->k[b->n].mv_data = malloc(k->mv_size ? k->mv_size : 1)))
		return Q_ENOMEM;
	memcpy(b->k[b->n].mv_data, k->mv_data, k->mv_size);
	b->k[b->n++].mv_size = k->mv_size;
	return 0;
}

static int drop_bad(q_txn *t, int db, uint64_t *dropped)
{
	struct bad_keys b = { db, NULL, 0, 0 };
	int rc = q_walk(t, data_db[db], NULL, bad_one, &b);
	for (size_t i = 0; i < b.n; i++) {
		if (!rc)
			rc = q_del(t, data_db[db], b.k[i].mv_data, b.k[i].mv_size);
		free(b.k[i].mv_data);
	}
	free(b.k);
	*dropped += b.n;
	return rc;
}

int q_salvage_finish(q_txn *t, uint64_t *dropped)
{
	uint64_t n = 0, next_model = 1;
	q_meta *m;
	int rc = q_need_write(t);
	if (rc || (rc = q_meta_load(t, &m)))
		return rc;
	for (int db = 0; db < Q_NDATA; db++)
		if (db != Q_DB_EVENTS && (rc = drop_bad(t, db, &n)))
			return rc;
	if ((rc = drop_orphans(t, DB_MODELS, DB_SUMMARIES, &n, &next_model)) ||
	    (rc = drop_orphans(t, DB_SUMMARIES, DB_MODELS, &n, &next_model)))
		return rc;
	if (next_model > m->next_model) {
		m->next_model = next_model;
		t->meta_dirty = 1;
	}
	if ((rc = q_entries_reindex(t)))
		return rc;
	if (dropped)
		*dropped = n;
	return 0;
}

/* ---- the whole-store check, its liblmdb part in a child ---- */
const char *q_signame(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGABRT: return "SIGABRT";
	case SIGFPE: return "SIGFPE";
	case SIGILL: return "SIGILL";
	case SIGKILL: return "SIGKILL";
	case SIGTERM: return "SIGTERM";
	case SIGINT: return "SIGINT";
	case SIGPIPE: return "SIGPIPE";
	case SIGALRM: return "SIGALRM";
	case SIGXFSZ: return "SIGXFSZ";
	default: return "a signal";
	}
}

static void first_problem(const char *msg, void *ud)
{
	char *first = ud;
	if (!first[0])
		snprintf(first, 512, "%s", msg);
}

int q_check_store(const char *dir, char *err, size_t errlen)
{
	char first[512] = "";
	uint64_t problems = 0;
	int rc = q_check_pages(dir, first_problem, first, NULL, &problems, err, errlen);
	if (rc) {
		if (problems && err && errlen)
			snprintf(err + strlen(err), errlen - strlen(err), " (first: %s)", first);
		return rc;
	}
	int fd[2];
	if (pipe(fd))
		return snprintf(err, errlen, "%s: pipe: %s", dir, strerror(errno)), Q_EIO;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]), close(fd[1]);
		return snprintf(err, errlen, "%s: fork: %s", dir, strerror(errno)), Q_EIO;
	}
	if (pid == 0) { /* the child: open, check, say why in one write */
		close(fd[0]);
		q_store *s;
		q_options o = { Q_RDONLY, 0, 0 };
		char msg[600] = "";
		int crc = q_open(&s, dir, &o, msg, sizeof msg);
		if (!crc) {
			crc = q_verify(s, NULL);
			if (crc)
				snprintf(msg, sizeof msg, "%s", q_errmsg(s));
			q_close(s);
		}
		if (crc) {
			ssize_t w = write(fd[1], msg, strlen(msg));
			(void)w;
		}
		_exit(crc ? -crc : 0);
	}
	close(fd[1]);
	char msg[600];
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd[0], msg + got, sizeof msg - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof msg - 1)
			break;
	}
	msg[got] = 0;
	close(fd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st)) {
		snprintf(err, errlen, "%s/data.mdb is damaged: reading its records died of %s", dir,
			 q_signame(WTERMSIG(st)));
		return Q_ECORRUPT;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st)) {
		snprintf(err, errlen, "%s", msg[0] ? msg : "the record check failed");
		int code = -(int)WEXITSTATUS(st);
		return code <= -200 ? code : Q_ECORRUPT;
	}
	return 0;
}
