/* store_impl.h - internal declarations of queue/: the store handle, the
 * transaction, the id counters and the record coder shared by store.c,
 * models.c and entries.c. */
#ifndef Q_STORE_IMPL_H
#define Q_STORE_IMPL_H

#include "queue.h"

#include <lmdb.h>
#include <msgpack.h>
#include "rec.h"
#include <string.h>

enum { DB_META, DB_MODELS, DB_SUMMARIES, DB_ENTRIES, DB_QINDEX, DB_FRONTIER, DB_CONFIG, DB_EVENTS, DB__COUNT };

/* id counters and per-queue counts: meta "state", cached by the
 * transaction and written once before its commit */
typedef struct {
	uint64_t next_model, next_entry, next_event;
	uint64_t counts[Q_NQUEUES][Q_NSTATES];
} q_meta;

struct q_store {
	MDB_env *env;
	MDB_dbi db[DB__COUNT];
	char *dir;
	int flags;
	int lockfd, logfd;
	size_t map, map_max;
	char err[512];
};

struct q_txn {
	q_store *s;
	MDB_txn *txn;
	int write;
	int mapfull;       /* LMDB said MDB_MAP_FULL: q_write grows and retries */
	q_meta meta;
	int meta_loaded, meta_dirty;
	char *log;         /* event lines for DIR/log, written after commit */
	size_t loglen, logcap;
};

/* errors: set s->err and return rc */
int q_seterr(q_store *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* map an LMDB or errno code to Q_E*, noting what was being done */
int q_mdb_err(q_txn *t, int mrc, const char *what);
int64_t q_now_ms(void);

int q_need_write(q_txn *t);
/* get: Q_ENOTFOUND when absent; v points into LMDB memory (this txn only) */
int q_get(q_txn *t, int db, const void *key, size_t klen, MDB_val *v);
int q_put(q_txn *t, int db, const void *key, size_t klen, const void *val, size_t vlen);
int q_del(q_txn *t, int db, const void *key, size_t klen);
/* Walk a database in key order from start (NULL: the first key). fn gets
 * key and value (LMDB memory); its nonzero return stops and is returned. */
int q_walk(q_txn *t, int db, const MDB_val *start,
	   int (*fn)(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud), void *ud);
int q_meta_load(q_txn *t, q_meta **m); /* loaded on first use; set t->meta_dirty after changes */

/* keys: big-endian u64 so byte order is numeric order */
void q_put_be64(unsigned char *p, uint64_t v);
uint64_t q_get_be64(const unsigned char *p);
/* a string key: 1..maxlen bytes (Q_EINVAL otherwise); inline, returning a
 * constant, so that the compiler sees key checked for NULL */
static inline int q_check_key(q_txn *t, const char *key, size_t maxlen, const char *what)
{
	if (!key) {
		q_seterr(t->s, Q_EINVAL, "%s: no key", what);
		return Q_EINVAL;
	}
	size_t l = strnlen(key, maxlen + 1);
	if (l < 1 || l > maxlen) {
		q_seterr(t->s, Q_EINVAL, "%s: key must have 1 to %zu bytes", what, maxlen);
		return Q_EINVAL;
	}
	return 0;
}


/* ---- records: [magic, version, field...] ----
 * The framing is nn/rec's (rec.h); these name the store's tables and turn
 * rec's codes into Q_ECORRUPT / Q_EVERSION with the store's messages. */
typedef nn_rec_enc q_enc;
#define q_enc_begin(e, magic, version, nfields) nn_rec_begin(e, magic, version, (size_t)(nfields))
#define q_enc_u64 nn_rec_u64
#define q_enc_i64 nn_rec_i64
#define q_enc_f64 nn_rec_f64
#define q_enc_str nn_rec_str
#define q_enc_bin nn_rec_bin
/* put the record under key and free the buffer */
int q_enc_put(q_enc *e, q_txn *t, int db, const void *key, size_t klen);
#define q_enc_free nn_rec_discard

/* A decoded record. Field getters never fail: a missing or mistyped field
 * sets bad (the first bad field index) and yields 0 / "" / empty; check
 * q_dec_done() after reading. Strings and bins point into the buffer. */
typedef nn_rec_dec q_dec;
/* Checks bounds (nn_rec_check), magic, version <= maxver and that at
 * least nfields fields follow. what names the record in messages. */
int q_dec_open(q_txn *t, q_dec *d, const MDB_val *v, const char *magic, int maxver, uint32_t nfields,
	       const char *what);
#define q_dec_u64 nn_rec_get_u64
#define q_dec_i64 nn_rec_get_i64
#define q_dec_f64 nn_rec_get_f64
#define q_dec_str nn_rec_get_str
#define q_dec_bin nn_rec_get_bin
/* 0, or Q_ECORRUPT naming the bad field; closes d either way */
int q_dec_done(q_txn *t, q_dec *d, const char *what);
#define q_dec_close nn_rec_close

/* ---- salvage (salvage.c): the per-file parts ---- */
int q_event_copy(q_txn *t, const void *val, size_t vlen);
/* rebuild the queue index, the per-queue counts and next_entry from the
 * entries */
int q_entries_reindex(q_txn *t);

/* ---- per-file parts of q_verify ---- */
int q_verify_models(q_txn *t, uint64_t *records);
int q_verify_entries(q_txn *t, uint64_t *records);

#endif
