/* store.c - the experiment store: LMDB environment, transactions, records,
 * config, frontier blobs, events and the whole-store check.
 *
 * DESIGN
 * One LMDB environment per experiment directory is the single source of
 * truth. LMDB gives the properties the search needs: a write transaction is
 * atomic and durable once mdb_txn_commit returns (copy-on-write B+trees, two
 * meta pages), so a process killed at any instant leaves the last committed
 * state and nothing needs repair; readers in other processes get MVCC
 * snapshots without blocking the writer.
 *
 * Writers. q_write() runs a caller's function inside one transaction, so a
 * daemon step that finishes a job, stores a model and enqueues its children
 * commits all of it or none. MDB_MAP_FULL is an ordinary event: the
 * transaction is aborted, the map doubled (no transaction of this process is
 * open at that moment, as mdb_env_set_mapsize requires) and the function
 * run again. Only when the map has reached map_max, or the disk refuses the
 * pages, does the writer stop with Q_EFULL; the previous commit is intact.
 * One writer process at a time: DIR/lock is flock'ed (released by the kernel
 * when the process dies, so a kill -9 never leaves it stuck), which makes
 * q_recover() safe: no live process holds the leases it returns.
 *
 * Creation. A new store is built in DIR/.new-PID (schema record and empty
 * databases, synced), then its data.mdb is renamed into DIR. So data.mdb
 * exists only with a schema record in it, and a crash during creation leaves
 * no half-made store.
 *
 * Records. Every value is MessagePack [magic, version, fields..., check],
 * the check a CRC-32C of the bytes before it. Reads go through
 * q_dec_open(): the check is verified, nn_rec_check() bounds every declared size before
 * msgpack-c unpacks (it would otherwise allocate for array headers that the
 * bytes cannot hold), then magic and version are checked; getters copy out
 * of LMDB memory before the transaction ends. New fields are appended, so a
 * reader of the same version accepts longer records.
 *
 * Counters (next model id, entry id, event seq) and per-queue counts live in
 * one meta record that a transaction loads once and writes once, just before
 * it commits.
 */
#include "store_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define STORE_MAGIC "PETRISTO"
#define META_MAGIC "PETRIMET"
#define CONFIG_MAGIC "PETRICFG"
#define BLOB_MAGIC "PETRIBLB"
#define EVENT_MAGIC "PETRIEVT"
#define META_VERSION 2
#define CONFIG_VERSION 2
#define BLOB_VERSION 2
#define EVENT_VERSION 2

static const char *const db_names[DB__COUNT] = {
	[DB_META] = "meta", [DB_MODELS] = "models", [DB_SUMMARIES] = "summaries", [DB_ENTRIES] = "entries",
	[DB_QINDEX] = "qindex", [DB_FRONTIER] = "frontier", [DB_CONFIG] = "config", [DB_EVENTS] = "events",
};

const char *q_strerror(int err)
{
	switch (err) {
	case Q_OK: return "ok";
	case Q_EINVAL: return "invalid argument";
	case Q_ENOTFOUND: return "not found";
	case Q_ECORRUPT: return "corrupt record";
	case Q_EVERSION: return "written by another version of petri";
	case Q_EFULL: return "store is full";
	case Q_EIO: return "I/O or LMDB error";
	case Q_ENOMEM: return "out of memory";
	case Q_EBUSY: return "store is open for writing by another process";
	case Q_ERDONLY: return "store is read-only";
	case Q_EEMPTY: return "queue is empty";
	case Q_ESTATE: return "entry is not in the required state";
	case Q_EMAPFULL: return "map full (the transaction is retried in a larger map)";
	default: return "unknown error";
	}
}

int q_seterr(q_store *s, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof s->err, fmt, ap);
	va_end(ap);
	return rc;
}

const char *q_errmsg(const q_store *s) { return s->err; }
const char *q_dir(const q_store *s) { return s->dir; }
size_t q_map_size(const q_store *s) { return s->map; }
q_store *q_txn_store(q_txn *t) { return t->s; }

int64_t q_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int q_mdb_err(q_txn *t, int mrc, const char *what)
{
	q_store *s = t->s;
	switch (mrc) {
	case 0: return 0;
	case MDB_NOTFOUND: return q_seterr(s, Q_ENOTFOUND, "%s: not found", what);
	case MDB_MAP_FULL:
		t->mapfull = 1;
		return q_seterr(s, Q_EMAPFULL, "%s: map full at %zu bytes", what, s->map);
	case ENOSPC: return q_seterr(s, Q_EFULL, "%s: disk full (%s); committed data is intact", what, strerror(mrc));
	case EACCES: return q_seterr(s, Q_ERDONLY, "%s: store is read-only", what);
	case ENOMEM: return q_seterr(s, Q_ENOMEM, "%s: out of memory", what);
	case MDB_BAD_VALSIZE: return q_seterr(s, Q_EINVAL, "%s: key or value size not allowed", what);
	default: return q_seterr(s, Q_EIO, "%s: %s", what, mdb_strerror(mrc));
	}
}

void q_put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

uint64_t q_get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int q_need_write(q_txn *t)
{
	return t->write ? 0 : q_seterr(t->s, Q_ERDONLY, "write inside a read-only transaction");
}


int q_get(q_txn *t, int db, const void *key, size_t klen, MDB_val *v)
{
	MDB_val k = { klen, (void *)key };
	int m = mdb_get(t->txn, t->s->db[db], &k, v);
	if (m == MDB_NOTFOUND)
		return Q_ENOTFOUND;
	return m ? q_mdb_err(t, m, db_names[db]) : 0;
}

int q_put(q_txn *t, int db, const void *key, size_t klen, const void *val, size_t vlen)
{
	int rc = q_need_write(t);
	if (rc)
		return rc;
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	return q_mdb_err(t, mdb_put(t->txn, t->s->db[db], &k, &v, 0), db_names[db]);
}

int q_del(q_txn *t, int db, const void *key, size_t klen)
{
	int rc = q_need_write(t);
	if (rc)
		return rc;
	MDB_val k = { klen, (void *)key };
	int m = mdb_del(t->txn, t->s->db[db], &k, NULL);
	if (m == MDB_NOTFOUND)
		return Q_ENOTFOUND;
	return q_mdb_err(t, m, db_names[db]);
}

/* ---- records: nn/rec's framing, the store's codes and messages ---- */
int q_enc_put(q_enc *e, q_txn *t, int db, const void *key, size_t klen)
{
	char *buf;
	size_t len;
	if (nn_rec_finish(e, &buf, &len))
		return q_seterr(t->s, Q_ENOMEM, "encoding a %s record", db_names[db]);
	int rc = q_put(t, db, key, klen, buf, len);
	free(buf);
	return rc;
}

int q_dec_open(q_txn *t, q_dec *d, const MDB_val *v, const char *magic, int maxver, uint32_t nfields,
	       const char *what)
{
	switch (nn_rec_open(d, v->mv_data, v->mv_size, magic, maxver, nfields, 8)) {
	case 0:
		return 0;
	case NN_REC_EMAGIC:
		return q_seterr(t->s, Q_ECORRUPT, "%s: wrong magic (want %s)", what, magic);
	case NN_REC_ECHECKSUM:
		return q_seterr(t->s, Q_ECORRUPT, "%s: checksum mismatch (record corrupt)", what);
	case NN_REC_EOLD:
		return q_seterr(t->s, Q_EVERSION,
				"%s: record version %llu was written by an older petri without checksums; this petri "
				"reads version %d only (run the search again into a new directory)",
				what, (unsigned long long)d->version, maxver);
	case NN_REC_EVERSION:
		if (d->version < 1)
			break; /* version 0 was never written: damage */
		q_seterr(t->s, Q_EVERSION, "%s: record version %llu is not supported (this petri reads version %d)",
			 what, (unsigned long long)d->version, maxver);
		return Q_EVERSION;
	case NN_REC_EFIELDS:
		return q_seterr(t->s, Q_ECORRUPT, "%s: %u fields, needs %u", what, d->n, nfields);
	}
	return q_seterr(t->s, Q_ECORRUPT, "%s: truncated or malformed record (%zu bytes)", what, v->mv_size);
}

int q_dec_done(q_txn *t, q_dec *d, const char *what)
{
	if (nn_rec_done(d))
		return q_seterr(t->s, Q_ECORRUPT, "%s: field %d is missing or has the wrong type", what, d->bad + 2);
	return 0;
}

/* ---- meta ---- */
int q_meta_load(q_txn *t, q_meta **out)
{
	if (!t->meta_loaded) {
		MDB_val v;
		q_dec d;
		int rc = q_get(t, DB_META, "state", 5, &v);
		if (rc)
			return rc == Q_ENOTFOUND ? q_seterr(t->s, Q_ECORRUPT, "meta 'state' record is missing") : rc;
		if ((rc = q_dec_open(t, &d, &v, META_MAGIC, META_VERSION, 3 + Q_NQUEUES * Q_NSTATES, "meta 'state'")))
			return rc;
		q_meta *m = &t->meta;
		m->next_model = q_dec_u64(&d, 0);
		m->next_entry = q_dec_u64(&d, 1);
		m->next_event = q_dec_u64(&d, 2);
		for (int q = 0; q < Q_NQUEUES; q++)
			for (int s = 0; s < Q_NSTATES; s++)
				m->counts[q][s] = q_dec_u64(&d, 3 + (uint32_t)(q * Q_NSTATES + s));
		if ((rc = q_dec_done(t, &d, "meta 'state'")))
			return rc;
		if (!m->next_model || !m->next_entry || !m->next_event)
			return q_seterr(t->s, Q_ECORRUPT, "meta 'state': a counter is 0");
		t->meta_loaded = 1;
	}
	*out = &t->meta;
	return 0;
}

static int meta_write(q_txn *t, const q_meta *m)
{
	q_enc e;
	q_enc_begin(&e, META_MAGIC, META_VERSION, 3 + Q_NQUEUES * Q_NSTATES);
	q_enc_u64(&e, m->next_model);
	q_enc_u64(&e, m->next_entry);
	q_enc_u64(&e, m->next_event);
	for (int q = 0; q < Q_NQUEUES; q++)
		for (int s = 0; s < Q_NSTATES; s++)
			q_enc_u64(&e, m->counts[q][s]);
	return q_enc_put(&e, t, DB_META, "state", 5);
}

static int schema_write(q_txn *t, int version)
{
	q_enc e;
	q_enc_begin(&e, STORE_MAGIC, version, 0);
	return q_enc_put(&e, t, DB_META, "schema", 6);
}

static int schema_check(q_txn *t)
{
	MDB_val v;
	q_dec d;
	int rc = q_get(t, DB_META, "schema", 6, &v);
	if (rc == Q_ENOTFOUND)
		return q_seterr(t->s, Q_ECORRUPT, "%s: not a petri store, or a damaged one (no schema record)", t->s->dir);
	if (rc)
		return rc;
	char what[4200];
	snprintf(what, sizeof what, "%s: store schema", t->s->dir);
	if ((rc = q_dec_open(t, &d, &v, STORE_MAGIC, Q_SCHEMA_VERSION, 0, what)))
		return rc;
	q_dec_close(&d);
	return 0;
}

/* ---- transactions ---- */
static int txn_begin(q_txn *t, unsigned flags)
{
	q_store *s = t->s;
	for (int tries = 0;; tries++) {
		int m = mdb_txn_begin(s->env, NULL, flags, &t->txn);
		if (m == MDB_MAP_RESIZED && tries < 8) {
			/* another process grew the map: adopt its size */
			if ((m = mdb_env_set_mapsize(s->env, 0)))
				return q_mdb_err(t, m, "adopting the new map size");
			MDB_envinfo info;
			mdb_env_info(s->env, &info);
			s->map = info.me_mapsize;
			continue;
		}
		if (m)
			t->txn = NULL;
		return m ? q_mdb_err(t, m, "beginning a transaction") : 0;
	}
}

static void txn_end(q_txn *t)
{
	if (t->txn)
		mdb_txn_abort(t->txn);
	t->txn = NULL;
	free(t->log);
	t->log = NULL;
	t->loglen = t->logcap = 0;
}

static int grow(q_store *s)
{
	if (s->map >= s->map_max)
		return q_seterr(s, Q_EFULL,
				"%s: store is full: the map reached its maximum of %zu bytes; committed data is intact "
				"(raise the maximum or free space)", s->dir, s->map_max);
	size_t want = s->map > s->map_max / 2 ? s->map_max : s->map * 2;
	int m = mdb_env_set_mapsize(s->env, want);
	if (m)
		return q_seterr(s, m == ENOMEM ? Q_EFULL : Q_EIO, "%s: growing the map to %zu bytes: %s", s->dir, want,
				mdb_strerror(m));
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	s->map = info.me_mapsize;
	return 0;
}

/* LMDB reports a short write as EIO: tell a full disk apart by asking the
 * filesystem how much room is left. */
static int commit_io_err(q_store *s, int m)
{
	struct statvfs fs;
	if (m == ENOSPC || (statvfs(s->dir, &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize < ((uint64_t)16 << 20)))
		return q_seterr(s, Q_EFULL, "%s: commit failed, the disk is full (%s); committed data is intact",
				s->dir, m == ENOSPC ? strerror(m) : "less than 16 MB free");
	return q_seterr(s, Q_EIO, "%s: commit failed: %s", s->dir, mdb_strerror(m));
}

int q_write(q_store *s, q_txn_fn fn, void *ud)
{
	if (s->flags & Q_RDONLY)
		return q_seterr(s, Q_ERDONLY, "%s: opened read-only", s->dir);
	s->err[0] = 0;
	for (;;) {
		q_txn t = { .s = s, .write = 1 };
		int rc = txn_begin(&t, 0);
		if (rc)
			return rc;
		rc = fn(&t, ud);
		if (!rc && t.meta_dirty)
			rc = meta_write(&t, &t.meta);
		if (!rc) {
			q_test_kill_point("commit"); /* test hook, queue/testhook.c */
			int m = mdb_txn_commit(t.txn);
			t.txn = NULL; /* freed by commit, even on failure */
			rc = m == EIO || m == ENOSPC ? commit_io_err(s, m) : q_mdb_err(&t, m, "commit");
		}
		if (!rc) {
			if (t.loglen && s->logfd >= 0) {
				/* best effort: the events are committed in LMDB already */
				ssize_t w = write(s->logfd, t.log, t.loglen);
				(void)w;
			}
			txn_end(&t);
			s->err[0] = 0;
			return 0;
		}
		int again = t.mapfull || rc == Q_EMAPFULL;
		txn_end(&t);
		if (!again)
			return rc;
		if ((rc = grow(s)))
			return rc;
	}
}

int q_read(q_store *s, q_txn_fn fn, void *ud)
{
	q_txn t = { .s = s, .write = 0 };
	s->err[0] = 0;
	int rc = txn_begin(&t, MDB_RDONLY);
	if (rc)
		return rc;
	rc = fn(&t, ud);
	txn_end(&t);
	return rc;
}

/* ---- open / create / close ---- */
static int path_join(char *dst, size_t cap, const char *dir, const char *name)
{
	return snprintf(dst, cap, "%s/%s", dir, name) < (int)cap ? 0 : -1;
}

static void remove_tmp_env(const char *path)
{
	char p[4200];
	if (!path_join(p, sizeof p, path, "data.mdb"))
		unlink(p);
	if (!path_join(p, sizeof p, path, "lock.mdb"))
		unlink(p);
	rmdir(path);
}

/* Leftovers of a creation that was killed: only the lock holder calls it. */
static void remove_stale_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	char p[4200];
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, ".new-", 5) && !path_join(p, sizeof p, dir, de->d_name))
			remove_tmp_env(p);
	closedir(d);
}

static int init_txn(q_txn *t, void *ud)
{
	(void)ud;
	q_meta m = { .next_model = 1, .next_entry = 1, .next_event = 1 };
	int rc = schema_write(t, Q_SCHEMA_VERSION);
	return rc ? rc : meta_write(t, &m);
}

static int open_dbs(q_store *s, int create)
{
	q_txn t = { .s = s, .write = create };
	int rc = txn_begin(&t, create ? 0 : MDB_RDONLY);
	if (rc)
		return rc;
	for (int i = 0; i < DB__COUNT && !rc; i++) {
		int m = mdb_dbi_open(t.txn, db_names[i], create ? MDB_CREATE : 0, &s->db[i]);
		if (m == MDB_NOTFOUND)
			/* the first missing: another LMDB, or a damaged catalog page;
			 * a later one: a petri store that lost a database */
			rc = i ? q_seterr(s, Q_ECORRUPT, "%s: damaged petri store (no '%s' database)", s->dir, db_names[i])
			       : q_seterr(s, Q_ECORRUPT, "%s: not a petri store, or a damaged one (no '%s' database)",
					  s->dir, db_names[i]);
		else if (m)
			rc = q_mdb_err(&t, m, "opening the databases");
	}
	if (!rc && create) {
		MDB_val v;
		if (q_get(&t, DB_META, "schema", 6, &v) == Q_ENOTFOUND)
			rc = init_txn(&t, NULL);
	}
	if (!rc)
		rc = schema_check(&t);
	if (!rc) {
		int m = mdb_txn_commit(t.txn);
		t.txn = NULL;
		rc = q_mdb_err(&t, m, "opening the databases");
	}
	txn_end(&t);
	return rc;
}

/* LMDB maps lock.mdb and writes its reader table through the map; on a
 * full file system a page of it that the disk cannot hold is SIGBUS. So
 * the lock file's blocks are reserved here, where a full disk is an
 * ordinary error (LOCK_RESERVE covers LMDB's table for its default 126
 * readers, 8 KB, twice). Where the file cannot be opened for writing (a
 * read-only store), LMDB decides as before. */
#define LOCK_RESERVE 16384
static int reserve_lock(q_store *s, const char *path)
{
	char p[4200];
	if (path_join(p, sizeof p, path, "lock.mdb"))
		return 0;
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return 0;
	int e = posix_fallocate(fd, 0, LOCK_RESERVE);
	close(fd);
	if (e == ENOSPC || e == EDQUOT)
		return q_seterr(s, Q_EFULL, "%s: no space left on the device for the lock file: %s", p, strerror(e));
	return 0;
}

static int env_open(q_store *s, const char *path, unsigned flags, size_t map)
{
	int rc = reserve_lock(s, path);
	if (rc)
		return rc;
	int m = mdb_env_create(&s->env);
	if (!m)
		m = mdb_env_set_maxdbs(s->env, DB__COUNT + 4);
	if (!m && map)
		m = mdb_env_set_mapsize(s->env, map);
	if (!m)
		m = mdb_env_open(s->env, path, flags | MDB_NOTLS, 0644);
	if (m) {
		if (s->env)
			mdb_env_close(s->env);
		s->env = NULL;
		if (m == MDB_VERSION_MISMATCH || m == MDB_INVALID)
			return q_seterr(s, Q_ECORRUPT, "%s: not a valid LMDB environment: %s", path, mdb_strerror(m));
		return q_seterr(s, m == EACCES ? Q_ERDONLY : Q_EIO, "%s: cannot open: %s", path, mdb_strerror(m));
	}
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	s->map = info.me_mapsize;
	return 0;
}

/* Build a fresh store in DIR/.new-PID and rename its data.mdb into DIR. */
static int create_store(q_store *s, size_t map)
{
	char tmp[4200], from[4300], to[4300];
	snprintf(tmp, sizeof tmp, "%s/.new-%d", s->dir, (int)getpid());
	remove_stale_tmp(s->dir);
	if (mkdir(tmp, 0755))
		return q_seterr(s, Q_EIO, "%s: cannot create: %s", tmp, strerror(errno));
	int rc = env_open(s, tmp, 0, map);
	if (!rc)
		rc = open_dbs(s, 1);
	if (!rc && mdb_env_sync(s->env, 1))
		rc = q_seterr(s, Q_EIO, "%s: sync failed", tmp);
	if (s->env)
		mdb_env_close(s->env);
	s->env = NULL;
	snprintf(from, sizeof from, "%s/data.mdb", tmp);
	snprintf(to, sizeof to, "%s/data.mdb", s->dir);
	if (!rc && rename(from, to))
		rc = q_seterr(s, Q_EIO, "%s: cannot rename into place: %s", to, strerror(errno));
	if (!rc) {
		int dfd = open(s->dir, O_RDONLY);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	remove_tmp_env(tmp);
	return rc;
}

void q_close(q_store *s)
{
	if (!s)
		return;
	if (s->env)
		mdb_env_close(s->env);
	if (s->logfd >= 0)
		close(s->logfd);
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the flock */
	free(s->dir);
	free(s);
}

int q_open(q_store **out, const char *dir, const q_options *o, char *err, size_t errlen)
{
	q_options def = { 0, 0, 0 };
	if (!o)
		o = &def;
	*out = NULL;
	if (!dir || !*dir || strlen(dir) > 4000) {
		if (err && errlen)
			snprintf(err, errlen, "bad store directory");
		return Q_EINVAL;
	}
	q_store *s = calloc(1, sizeof *s);
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		return Q_ENOMEM;
	}
	s->flags = o->flags;
	s->lockfd = s->logfd = -1;
	s->map_max = o->map_max ? o->map_max : (size_t)1 << 40;
	size_t map = o->map_size ? o->map_size : (size_t)64 << 20;
	if (map > s->map_max)
		map = s->map_max;
	int rdonly = (o->flags & Q_RDONLY) != 0, rc = 0, created = 0;
	char p[4200];
	struct stat st;
	path_join(p, sizeof p, dir, "data.mdb");
	if (!(o->flags & Q_CREATE) && stat(p, &st)) {
		rc = q_seterr(s, Q_ENOTFOUND, "%s: no petri store here (%s)", dir, strerror(errno));
		goto fail;
	}
	if (!rdonly) {
		if ((o->flags & Q_CREATE) && mkdir(dir, 0755) && errno != EEXIST) {
			rc = q_seterr(s, Q_EIO, "%s: cannot create: %s", dir, strerror(errno));
			goto fail;
		}
		path_join(p, sizeof p, dir, "lock");
		if ((s->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
			rc = q_seterr(s, errno == ENOENT ? Q_ENOTFOUND : Q_EIO, "%s: %s", p, strerror(errno));
			goto fail;
		}
		if (flock(s->lockfd, LOCK_EX | LOCK_NB)) {
			rc = errno == EWOULDBLOCK
				     ? q_seterr(s, Q_EBUSY, "%s: another process has this store open for writing", dir)
				     : q_seterr(s, Q_EIO, "%s: cannot lock: %s", p, strerror(errno));
			goto fail;
		}
	}
	path_join(p, sizeof p, dir, "data.mdb");
	if (stat(p, &st)) {
		if (errno != ENOENT || rdonly || !(o->flags & Q_CREATE)) {
			rc = q_seterr(s, Q_ENOTFOUND, "%s: no petri store here (%s)", dir, strerror(errno));
			goto fail;
		}
		if ((rc = create_store(s, map)))
			goto fail;
		created = 1;
	}
	/* liblmdb trusts the file: check its header first, so that a store cut
	 * short, an empty file or a FIFO is an error here instead of a SIGBUS
	 * or a hang inside liblmdb */
	if ((rc = (o->flags & Q_CHECK) && !created ? q_check_store(dir, s->err, sizeof s->err)
				       : q_check_file(dir, NULL, s->err, sizeof s->err)))
		goto fail;
	/* An existing store keeps the map size its writer grew it to (LMDB
	 * reads it from the meta page when none is set); raise it to map if
	 * that is larger. */
	if ((rc = env_open(s, dir, (rdonly ? MDB_RDONLY : 0) | (o->flags & Q_NOSYNC ? MDB_NOSYNC : 0), 0)))
		goto fail;
	if (!rdonly && s->map < map) {
		int m = mdb_env_set_mapsize(s->env, map);
		if (m) {
			rc = q_seterr(s, Q_EIO, "%s: setting the map size: %s", dir, mdb_strerror(m));
			goto fail;
		}
		s->map = map;
	}
	if (s->map > s->map_max)
		s->map_max = s->map;
	if ((rc = open_dbs(s, 0)))
		goto fail;
	if (!rdonly) {
		int dead = 0;
		mdb_reader_check(s->env, &dead); /* free slots of killed readers */
		path_join(p, sizeof p, dir, "log");
		s->logfd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	}
	s->err[0] = 0;
	*out = s;
	return 0;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s", s->err);
	q_close(s);
	return rc;
}

/* ---- config ---- */
int q_config_set(q_txn *t, const char *key, const char *value)
{
	int rc = q_check_key(t, key, 255, "config");
	if (rc)
		return rc;
	if (!value)
		return q_seterr(t->s, Q_EINVAL, "config '%s': no value", key);
	q_enc e;
	q_enc_begin(&e, CONFIG_MAGIC, CONFIG_VERSION, 1);
	q_enc_str(&e, value);
	return q_enc_put(&e, t, DB_CONFIG, key, strlen(key));
}

static int config_decode(q_txn *t, const MDB_val *k, const MDB_val *v, char *value, size_t cap)
{
	char what[300];
	snprintf(what, sizeof what, "config '%.*s'", (int)(k->mv_size > 255 ? 255 : k->mv_size), (const char *)k->mv_data);
	q_dec d;
	int rc = q_dec_open(t, &d, v, CONFIG_MAGIC, CONFIG_VERSION, 1, what);
	if (rc)
		return rc;
	const msgpack_object *o = &d.f[0];
	if (o->type != MSGPACK_OBJECT_STR || memchr(o->via.str.ptr, 0, o->via.str.size)) {
		q_dec_close(&d);
		return q_seterr(t->s, Q_ECORRUPT, "%s: value is not a string", what);
	}
	if (o->via.str.size >= cap) {
		uint32_t n = o->via.str.size;
		q_dec_close(&d);
		return q_seterr(t->s, Q_EINVAL, "%s: value has %u bytes, buffer %zu", what, n, cap);
	}
	memcpy(value, o->via.str.ptr, o->via.str.size);
	value[o->via.str.size] = 0;
	q_dec_close(&d);
	return 0;
}

int q_config_get(q_txn *t, const char *key, char *value, size_t cap)
{
	int rc = q_check_key(t, key, 255, "config");
	if (rc)
		return rc;
	if (!value || !cap)
		return q_seterr(t->s, Q_EINVAL, "config '%s': no buffer", key);
	MDB_val k = { strlen(key), (void *)key }, v;
	if ((rc = q_get(t, DB_CONFIG, key, k.mv_size, &v)))
		return rc == Q_ENOTFOUND ? q_seterr(t->s, rc, "config '%s': not set", key) : rc;
	return config_decode(t, &k, &v, value, cap);
}

int q_walk(q_txn *t, int db, const MDB_val *start,
		   int (*fn)(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud), void *ud)
{
	MDB_cursor *c;
	int m = mdb_cursor_open(t->txn, t->s->db[db], &c);
	if (m)
		return q_mdb_err(t, m, db_names[db]);
	MDB_val k = { 0, NULL }, v;
	if (start)
		k = *start;
	int rc = 0;
	m = mdb_cursor_get(c, &k, &v, start ? MDB_SET_RANGE : MDB_FIRST);
	while (!m && !rc) {
		rc = fn(t, &k, &v, ud);
		if (!rc)
			m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (!rc && m != MDB_NOTFOUND)
		rc = q_mdb_err(t, m, db_names[db]);
	return rc;
}

struct config_walk {
	int (*fn)(const char *key, const char *value, void *ud);
	void *ud;
	char *val;
};

static int config_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	struct config_walk *w = ud;
	char key[256];
	if (k->mv_size > 255)
		return q_seterr(t->s, Q_ECORRUPT, "config: key of %zu bytes", k->mv_size);
	memcpy(key, k->mv_data, k->mv_size);
	key[k->mv_size] = 0;
	int rc = config_decode(t, k, v, w->val, v->mv_size + 1);
	return rc ? rc : w->fn ? w->fn(key, w->val, w->ud) : 0;
}

static int config_walk(q_txn *t, int (*fn)(const char *, const char *, void *), void *ud, uint64_t *n)
{
	/* a value is never longer than its record */
	struct config_walk w = { fn, ud, NULL };
	size_t cap = 1 << 16;
	w.val = malloc(cap);
	if (!w.val)
		return Q_ENOMEM;
	int rc = 0;
	MDB_cursor *c;
	int m = mdb_cursor_open(t->txn, t->s->db[DB_CONFIG], &c);
	if (m) {
		free(w.val);
		return q_mdb_err(t, m, "config");
	}
	MDB_val k, v;
	m = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (!m && !rc) {
		if (v.mv_size + 1 > cap) {
			char *nv = realloc(w.val, v.mv_size + 1);
			if (!nv) {
				rc = Q_ENOMEM;
				break;
			}
			w.val = nv, cap = v.mv_size + 1;
		}
		rc = config_one(t, &k, &v, &w);
		if (n)
			++*n;
		if (!rc)
			m = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	free(w.val);
	if (!rc && m != MDB_NOTFOUND)
		rc = q_mdb_err(t, m, "config");
	return rc;
}

int q_config_each(q_txn *t, int (*fn)(const char *key, const char *value, void *ud), void *ud)
{
	return config_walk(t, fn, ud, NULL);
}

/* ---- frontier blobs ---- */
int q_blob_put(q_txn *t, const char *key, const void *buf, size_t len)
{
	int rc = q_check_key(t, key, 255, "frontier blob");
	if (rc)
		return rc;
	if (len && !buf)
		return q_seterr(t->s, Q_EINVAL, "frontier blob '%s': no data", key);
	q_enc e;
	q_enc_begin(&e, BLOB_MAGIC, BLOB_VERSION, 1);
	q_enc_bin(&e, buf, len);
	return q_enc_put(&e, t, DB_FRONTIER, key, strlen(key));
}

/* The payload of a blob record: *p points into v (this transaction only). */
static int blob_view(q_txn *t, const MDB_val *v, const char *what, const void **p, size_t *n)
{
	q_dec d;
	int rc = q_dec_open(t, &d, v, BLOB_MAGIC, BLOB_VERSION, 1, what);
	if (rc)
		return rc;
	*p = q_dec_bin(&d, 0, n);
	return q_dec_done(t, &d, what); /* the bytes stay: they are LMDB's, not the decoder's */
}

int q_blob_get(q_txn *t, const char *key, void **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	int rc = q_check_key(t, key, 255, "frontier blob");
	if (rc)
		return rc;
	MDB_val v;
	char what[300];
	const void *p;
	size_t n;
	snprintf(what, sizeof what, "frontier blob '%s'", key);
	if ((rc = q_get(t, DB_FRONTIER, key, strlen(key), &v)))
		return rc == Q_ENOTFOUND ? q_seterr(t->s, rc, "%s: absent", what) : rc;
	if ((rc = blob_view(t, &v, what, &p, &n)))
		return rc;
	if (!(*buf = malloc(n ? n : 1)))
		return q_seterr(t->s, Q_ENOMEM, "%s: %zu bytes", what, n);
	if (n)
		memcpy(*buf, p, n);
	*len = n;
	return 0;
}

int q_blob_del(q_txn *t, const char *key)
{
	int rc = q_check_key(t, key, 255, "frontier blob");
	return rc ? rc : q_del(t, DB_FRONTIER, key, strlen(key));
}

struct blob_walk {
	const char *prefix;
	size_t plen;
	int end; /* the walk left the prefix: not an error */
	int (*fn)(const char *key, const void *buf, size_t len, void *ud);
	void *ud;
};

static int blob_walk_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	struct blob_walk *w = ud;
	char key[256], what[300];
	const void *p;
	size_t n;
	if (k->mv_size < w->plen || memcmp(k->mv_data, w->prefix, w->plen))
		return w->end = 1;
	if (k->mv_size > 255 || memchr(k->mv_data, 0, k->mv_size))
		return q_seterr(t->s, Q_ECORRUPT, "frontier blobs: bad key of %zu bytes", k->mv_size);
	memcpy(key, k->mv_data, k->mv_size);
	key[k->mv_size] = 0;
	snprintf(what, sizeof what, "frontier blob '%s'", key);
	int rc = blob_view(t, v, what, &p, &n);
	return rc ? rc : w->fn ? w->fn(key, p, n, w->ud) : 0;
}

int q_blob_each(q_txn *t, const char *prefix,
		int (*fn)(const char *key, const void *buf, size_t len, void *ud), void *ud)
{
	if (!prefix || strlen(prefix) > 255)
		return q_seterr(t->s, Q_EINVAL, "frontier blobs: bad prefix");
	struct blob_walk w = { prefix, strlen(prefix), 0, fn, ud };
	MDB_val start = { w.plen, (void *)prefix };
	int rc = q_walk(t, DB_FRONTIER, w.plen ? &start : NULL, blob_walk_one, &w);
	return w.end ? 0 : rc;
}

/* ---- events ---- */
static int log_append(q_txn *t, const char *line, size_t n)
{
	if (t->loglen + n > t->logcap) {
		size_t cap = t->logcap ? t->logcap : 256;
		while (cap < t->loglen + n)
			cap *= 2;
		char *nb = realloc(t->log, cap);
		if (!nb)
			return Q_ENOMEM;
		t->log = nb, t->logcap = cap;
	}
	memcpy(t->log + t->loglen, line, n);
	t->loglen += n;
	return 0;
}

int q_event(q_txn *t, const char *fmt, ...)
{
	int rc = q_need_write(t);
	q_meta *m;
	if (rc || (rc = q_meta_load(t, &m)))
		return rc;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return q_seterr(t->s, Q_EINVAL, "event: bad format");
	char *msg = malloc((size_t)n + 1);
	if (!msg)
		return Q_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	uint64_t seq = m->next_event;
	int64_t ms = q_now_ms();
	unsigned char key[8];
	q_put_be64(key, seq);
	q_enc e;
	q_enc_begin(&e, EVENT_MAGIC, EVENT_VERSION, 3);
	q_enc_u64(&e, seq);
	q_enc_i64(&e, ms);
	q_enc_str(&e, msg);
	rc = q_enc_put(&e, t, DB_EVENTS, key, 8);
	if (!rc) {
		m->next_event++;
		t->meta_dirty = 1;
		char head[64];
		time_t sec = (time_t)(ms / 1000);
		struct tm tm;
		gmtime_r(&sec, &tm);
		int hl = snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ #%llu ", tm.tm_year + 1900,
				  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000),
				  (unsigned long long)seq);
		if (log_append(t, head, (size_t)hl) || log_append(t, msg, (size_t)n) || log_append(t, "\n", 1))
			rc = Q_ENOMEM;
	}
	free(msg);
	return rc;
}

/* Append the event of record (val, vlen) from another store, keeping its
 * time and message, as the next event of this one (salvage). */
int q_event_copy(q_txn *t, const void *val, size_t vlen)
{
	MDB_val v = { vlen, (void *)val };
	q_dec d;
	q_meta *m;
	int rc = q_need_write(t);
	if (rc || (rc = q_meta_load(t, &m)) || (rc = q_dec_open(t, &d, &v, EVENT_MAGIC, EVENT_VERSION, 3, "event")))
		return rc;
	int64_t ms = q_dec_i64(&d, 1);
	const msgpack_object *o = &d.f[2];
	char *msg = NULL;
	if (o->type == MSGPACK_OBJECT_STR && !memchr(o->via.str.ptr, 0, o->via.str.size) &&
	    (msg = malloc(o->via.str.size + 1))) {
		memcpy(msg, o->via.str.ptr, o->via.str.size);
		msg[o->via.str.size] = 0;
	} else if (d.bad < 0) {
		d.bad = 2;
	}
	if ((rc = q_dec_done(t, &d, "event"))) {
		free(msg);
		return rc;
	}
	unsigned char key[8];
	q_put_be64(key, m->next_event);
	q_enc e;
	q_enc_begin(&e, EVENT_MAGIC, EVENT_VERSION, 3);
	q_enc_u64(&e, m->next_event);
	q_enc_i64(&e, ms);
	q_enc_str(&e, msg);
	free(msg);
	if ((rc = q_enc_put(&e, t, DB_EVENTS, key, 8)))
		return rc;
	m->next_event++;
	t->meta_dirty = 1;
	return 0;
}

struct event_walk {
	int (*fn)(uint64_t seq, int64_t ms, const char *msg, void *ud);
	void *ud;
};

static int event_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	struct event_walk *w = ud;
	if (k->mv_size != 8)
		return q_seterr(t->s, Q_ECORRUPT, "events: key of %zu bytes", k->mv_size);
	uint64_t key = q_get_be64(k->mv_data);
	char what[64];
	snprintf(what, sizeof what, "event %llu", (unsigned long long)key);
	q_dec d;
	int rc = q_dec_open(t, &d, v, EVENT_MAGIC, EVENT_VERSION, 3, what);
	if (rc)
		return rc;
	uint64_t seq = q_dec_u64(&d, 0);
	int64_t ms = q_dec_i64(&d, 1);
	const msgpack_object *o = &d.f[2];
	char *msg = NULL;
	if (o->type == MSGPACK_OBJECT_STR && (msg = malloc(o->via.str.size + 1))) {
		memcpy(msg, o->via.str.ptr, o->via.str.size);
		msg[o->via.str.size] = 0;
	} else if (d.bad < 0) {
		d.bad = 2;
	}
	if (!(rc = q_dec_done(t, &d, what)) && seq != key)
		rc = q_seterr(t->s, Q_ECORRUPT, "%s: record says seq %llu", what, (unsigned long long)seq);
	if (!rc && w->fn)
		rc = w->fn(seq, ms, msg, w->ud);
	free(msg);
	return rc;
}

int q_event_each(q_txn *t, uint64_t after,
		 int (*fn)(uint64_t seq, int64_t ms, const char *msg, void *ud), void *ud)
{
	if (after == UINT64_MAX)
		return 0;
	unsigned char key[8];
	q_put_be64(key, after + 1);
	MDB_val start = { 8, key };
	struct event_walk w = { fn, ud };
	return q_walk(t, DB_EVENTS, &start, event_one, &w);
}

/* ---- whole-store check ---- */
struct count_walk {
	uint64_t n;
};

static int blob_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	const void *p;
	size_t n;
	(void)k;
	((struct count_walk *)ud)->n++;
	return blob_view(t, v, "frontier blob", &p, &n);
}

static int event_count(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	struct event_walk w = { NULL, NULL };
	((struct count_walk *)ud)->n++;
	return event_one(t, k, v, &w);
}

struct verify_arg {
	uint64_t *records;
};

static int verify_txn(q_txn *t, void *ud)
{
	struct verify_arg *a = ud;
	q_meta *m;
	int rc = schema_check(t);
	if (rc || (rc = q_meta_load(t, &m)))
		return rc;
	uint64_t n = 2;
	struct count_walk c = { 0 };
	if ((rc = config_walk(t, NULL, NULL, &n)))
		return rc;
	if ((rc = q_walk(t, DB_FRONTIER, NULL, blob_one, &c)))
		return rc;
	uint64_t blobs = c.n;
	c.n = 0;
	if ((rc = q_walk(t, DB_EVENTS, NULL, event_count, &c)))
		return rc;
	if (c.n != m->next_event - 1)
		return q_seterr(t->s, Q_ECORRUPT, "events: %llu stored, counter says %llu", (unsigned long long)c.n,
				(unsigned long long)(m->next_event - 1));
	n += blobs + c.n;
	if ((rc = q_verify_models(t, &n)) || (rc = q_verify_entries(t, &n)))
		return rc;
	*a->records = n;
	return 0;
}

int q_verify(q_store *s, uint64_t *records)
{
	uint64_t dummy;
	struct verify_arg a = { records ? records : &dummy };
	*a.records = 0;
	return q_read(s, verify_txn, &a);
}
