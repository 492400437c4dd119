/* queue.h - petri's experiment store: models, the three persistent queues,
 * frontier state, config and events in one LMDB environment.
 *
 * An experiment is a directory holding data.mdb (+ lock.mdb) and a log file
 * ("log", the committed events as text). The LMDB environment is the single
 * source of truth; every state change is one write transaction, so a crash at
 * any instant (kill -9 included) leaves the last committed state, and a
 * reopened store needs no repair.
 *
 * Named databases (every value a MessagePack record that starts with a magic
 * and a version; every read is checked, a bad record gives Q_ECORRUPT):
 *   models     id -> model file bytes (nn_model_encode, "PETRIMDL")
 *   summaries  id -> id, parent, depth, state, costs, metrics ("PETRISUM")
 *   entries    u64 id -> queue entry ("PETRIQUE")
 *   qindex     (queue, state, ~seq, id) -> empty: newest-first order per state
 *   frontier   key -> opaque blob ("PETRIBLB"): the frontier's, one per
 *              point and a header; the daemon's model cards and running
 *              jobs (each key's record: daemon/exp.h)
 *   config     key -> string ("PETRICFG")
 *   events     u64 seq -> time, message ("PETRIEVT")
 *   meta       "schema" -> store schema version ("PETRISTO"),
 *              "state" -> id counters and per-queue counts ("PETRIMET")
 *
 * Processes: one writer (the daemon) holds an exclusive lock on DIR/lock;
 * any number of readers (the petri CLI) open with Q_RDONLY and see
 * consistent snapshots while the writer writes.
 *
 * Threads: a q_store handle is used by one thread at a time. The map may be
 * remapped inside q_write, so no q_read of the same handle may be running
 * in another thread then.
 *
 * Errors: functions return 0 or a negative Q_E* code; q_strerror() names
 * the code and q_errmsg() gives the details of the handle's last error
 * (which record, which size, what the OS said).
 *
 * Lifetime: everything a function hands back is a copy owned by the caller
 * (strings in fixed arrays, payloads and blobs malloc'd: free them with
 * q_entry_free() or free()). Nothing points into LMDB memory, which dies with
 * its transaction, except the values q_blob_each lends its callback for the
 * length of one call. A q_txn is valid only inside the callback it was
 * given to.
 */
#ifndef Q_QUEUE_H
#define Q_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "nnio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors: -200..-299 (nn has -100..-199, frontier -300.., grow -400..,
 * the daemon -500..). An nn code met inside a call is mapped to a Q_E* code;
 * q_write() and q_read() return a callback's non-zero value as it is. ---- */
enum {
	Q_OK = 0,
	Q_EINVAL = -200,    /* bad argument */
	Q_ENOTFOUND = -201, /* no such record, or no store in the directory */
	Q_ECORRUPT = -202,  /* a record failed its checks */
	Q_EVERSION = -203,  /* store or record written by a newer petri, or an older one without checksums */
	Q_EFULL = -204,     /* map reached its maximum size, or the disk is full */
	Q_EIO = -205,       /* the OS or LMDB reported an error */
	Q_ENOMEM = -206,    /* allocation failed */
	Q_EBUSY = -207,     /* another process has the store open for writing */
	Q_ERDONLY = -208,   /* write on a read-only store */
	Q_EEMPTY = -209,    /* no queued entry in that queue */
	Q_ESTATE = -210,    /* entry is not in the state (or lease) this needs */
	Q_EMAPFULL = -211   /* map full inside a transaction: q_write grows the
			       map and retries; callbacks just return it */
};
const char *q_strerror(int err);

#define Q_SCHEMA_VERSION 2
#define Q_MAX_ATTEMPTS 3   /* an entry leased this many times is not retried */
#define Q_IDLEN 40         /* model ids: at most 39 characters */

/* ---- opening ---- */
enum {
	Q_RDONLY = 1,  /* read-only (MDB_RDONLY): no lock, works beside a writer */
	Q_CREATE = 2,  /* create DIR and the store if missing */
	Q_NOSYNC = 4,  /* no fsync at commit: survives a killed process, not a
			  power loss (tests, scratch experiments) */
	Q_CHECK = 8    /* an existing store must pass q_check_store (pages and
			  records, in a child) before it is used: Q_ECORRUPT
			  otherwise; a writer checks once it holds the lock */
};

typedef struct {
	int flags;        /* Q_RDONLY, Q_CREATE, Q_NOSYNC, Q_CHECK */
	size_t map_size;  /* initial map size in bytes (0: 64 MB) */
	size_t map_max;   /* the map doubles up to this (0: 1 TB) */
} q_options;

typedef struct q_store q_store;
typedef struct q_txn q_txn;

/* Open the store in dir. o may be NULL (writable, existing store). A
 * writable open takes DIR/lock (Q_EBUSY when another live process holds it).
 * Opening a store whose schema is newer than Q_SCHEMA_VERSION is Q_EVERSION.
 * err/errlen receive the details on failure. */
int q_open(q_store **out, const char *dir, const q_options *o, char *err, size_t errlen);
void q_close(q_store *s);
const char *q_errmsg(const q_store *s);  /* details of the last error ("" none) */
const char *q_dir(const q_store *s);
size_t q_map_size(const q_store *s);     /* current map size in bytes */

/* Run fn in one write transaction: begin, fn, commit. fn returns 0 to commit
 * or an error code to abort (q_write returns it). When the map is full
 * (Q_EMAPFULL from a store call, or at commit), the transaction is aborted,
 * the map doubled (up to map_max) and fn run again from the start: fn must
 * not keep effects outside the transaction between runs. A map that may not
 * grow, or a full disk, aborts with Q_EFULL; what was committed before stays
 * readable. Events (q_event) are appended to DIR/log after the commit. */
typedef int (*q_txn_fn)(q_txn *t, void *ud);
int q_write(q_store *s, q_txn_fn fn, void *ud);
/* Test hook (tests/crash_search.c; queue/testhook.c): with PETRI_TEST_KILL_AT
 * set to "where:T", SIGKILL this process at the point named where, once the
 * CLOCK_MONOTONIC time is >= T seconds. Without the variable it does nothing. */
void q_test_kill_point(const char *where);
/* Run fn in a read-only snapshot (works on a Q_RDONLY store). */
int q_read(q_store *s, q_txn_fn fn, void *ud);
q_store *q_txn_store(q_txn *t);

/* Decode every record of every database and check the queue index and the
 * counts against the entries. 0 when all is well, else Q_ECORRUPT with the
 * first problem in q_errmsg(). records: how many records were decoded. */
int q_verify(q_store *s, uint64_t *records);

/* ---- damaged stores: checks that never trust the file, and salvage ----
 * liblmdb follows the file's page numbers without checking them, so a
 * damaged data.mdb can kill the process that reads it (SIGBUS, SIGSEGV).
 * q_check_file and q_check_pages read the file with pread and bounds checks
 * (check.c, after LMDB's documented on-disk format) and never crash; the
 * record checks go through liblmdb, so callers run them in a child process
 * and take its death by a signal as damage (q_check_store does). */
typedef struct {
	unsigned psize;               /* page size */
	uint64_t last_pg;             /* last page in use: the file holds at least last_pg + 1 pages */
	uint64_t txnid;               /* the current meta's transaction */
	uint64_t map_size, file_size;
	uint64_t free_root, main_root; /* UINT64_MAX: empty */
} q_file_info;
/* DIR/data.mdb is a regular file, not empty, with two meta pages whose magic,
 * format version and page size are right and whose last page lies inside
 * the file. Q_ECORRUPT with the reason in err when not; Q_ENOTFOUND when
 * there is no data.mdb. info may be NULL. q_open calls it on every store. */
int q_check_file(const char *dir, q_file_info *info, char *err, size_t errlen);
/* q_check_file, then every page of every B-tree: page numbers, flags,
 * bounds, nodes, key order, overflow pages, entry counts, no page reached
 * twice. Each problem goes to report (may be NULL) as one line; Q_ECORRUPT
 * when there was any. pages/problems (may be NULL): what was found. */
int q_check_pages(const char *dir, void (*report)(const char *msg, void *ud), void *ud, uint64_t *pages,
		  uint64_t *problems, char *err, size_t errlen);
/* q_check_pages, then q_verify in a child process (its death by a signal
 * is damage): 0 when the store is whole, else Q_ECORRUPT (or the code of
 * the failure) and the first problem in err. */
int q_check_store(const char *dir, char *err, size_t errlen);
/* "SIGSEGV", "SIGBUS", ...: the name of the signal that ended a reader */
const char *q_signame(int sig);

/* the databases that hold records (the queue index and the counters are
 * derived from them) */
enum { Q_DB_MODELS, Q_DB_SUMMARIES, Q_DB_ENTRIES, Q_DB_FRONTIER, Q_DB_CONFIG, Q_DB_EVENTS, Q_NDATA };
const char *q_data_name(int db);
/* Every record of database db (Q_DB_*) in key order, each decoded with the
 * checks its getter does: fn gets the key and value (LMDB memory, valid
 * during the call), bad (0, or the Q_E* code decoding gave) and why (the
 * message; "" when good). A nonzero return of fn stops the walk. */
typedef int (*q_record_fn)(const void *key, size_t klen, const void *val, size_t vlen, int bad, const char *why,
			   void *ud);
int q_records_each(q_store *s, int db, q_record_fn fn, void *ud);
/* Put a record that q_records_each passed as good into this store, as it
 * is; events are renumbered to follow the ones here. */
int q_salvage_put(q_txn *t, int db, const void *key, size_t klen, const void *val, size_t vlen);
/* After the puts: drop records that fail their checks here (in a damaged
 * tree a lookup may find another record than the walk gave), models
 * without summary and summaries without model; rebuild the queue index, the per-queue counts and the counters, so that
 * q_verify passes. dropped (may be NULL): records dropped. */
int q_salvage_finish(q_txn *t, uint64_t *dropped);

/* ---- models ---- */
enum { Q_MODEL_NEW = 0, Q_MODEL_TRAINED = 1, Q_MODEL_FAILED = 2 };

typedef struct {
	char id[Q_IDLEN], parent[Q_IDLEN];
	int depth;
	int state;          /* Q_MODEL_* */
	nn_cost cost;
	nn_metrics metrics;
	int64_t created_ms; /* unix time of the first put */
} q_summary;

/* A fresh model id ("m000001", "m000002", ...): unique within the store. */
int q_model_new_id(q_txn *t, char id[Q_IDLEN]);
/* Store the model under m->lineage.id (required, 1..39 chars) and its
 * summary (id, parent, depth, costs, metrics from m; state given). Replaces
 * a model of the same id. */
int q_model_put(q_txn *t, const nn_model *m, int state);
/* Decode a model (the caller frees it with nn_model_free). */
int q_model_get(q_txn *t, const char *id, nn_model *m);
/* A malloc'd copy of the model's record: the bytes of a petri model file. */
int q_model_bytes(q_txn *t, const char *id, void **buf, size_t *len);
int q_model_set_state(q_txn *t, const char *id, int state);
int q_summary_get(q_txn *t, const char *id, q_summary *s);
/* Every summary in id order; a nonzero return of fn stops and is returned. */
int q_summary_each(q_txn *t, int (*fn)(const q_summary *s, void *ud), void *ud);
int q_model_count(q_txn *t, uint64_t *n);

/* ---- queues ---- */
enum { Q_PARENT = 0, Q_CANDIDATE = 1, Q_CHILD = 2, Q_NQUEUES = 3 };
enum { Q_QUEUED = 0, Q_LEASED = 1, Q_DONE = 2, Q_FAILED = 3, Q_NSTATES = 4 };
const char *q_queue_name(int queue);
const char *q_state_name(int state);

typedef struct {
	uint64_t id;        /* unique, never reused */
	uint64_t seq;       /* order: the newest queued entry is leased first */
	int queue, state;   /* Q_PARENT.., Q_QUEUED.. */
	int attempts;       /* times leased */
	char owner[64];     /* lease owner ("" when never leased) */
	int64_t lease_ms;   /* unix time of the last lease */
	int64_t created_ms, updated_ms;
	char reason[256];   /* last failure or recovery reason */
	void *payload;      /* malloc'd copy (NULL when len is 0) */
	size_t len;
} q_entry;
void q_entry_free(q_entry *e);

/* Enqueue an opaque payload (the job); id may be NULL. */
int q_push(q_txn *t, int queue, const void *payload, size_t len, uint64_t *id);
/* Lease the newest queued entry of queue for owner: state leased, attempts
 * + 1, lease time now. Q_EEMPTY when none is queued. e may be NULL. */
int q_lease(q_txn *t, int queue, const char *owner, q_entry *e);
/* Finish a leased entry. owner NULL: any owner; else it must hold the lease
 * (Q_ESTATE otherwise, e.g. a worker whose lease was recovered). */
int q_done(q_txn *t, uint64_t id, const char *owner);
/* A leased entry failed: back to queued, or failed for good once it was
 * leased Q_MAX_ATTEMPTS times. *state (may be NULL) gets the new state. */
int q_fail(q_txn *t, uint64_t id, const char *owner, const char *reason, int *state);
/* Return every leased entry to queued (a dead writer's jobs). charge: the
 * lease counts as an attempt, so an entry that has used its attempts is
 * failed (a writer whose jobs may have killed it); 0: it does not (the jobs
 * ran apart from the writer, so its death is not theirs). n (may be NULL)
 * gets how many moved. */
int q_recover(q_txn *t, int charge, int *n);
/* A leased entry was interrupted (the search stopped), not failed: back to
 * queued without using up an attempt. */
int q_requeue(q_txn *t, uint64_t id, const char *owner, const char *reason);
int q_entry_get(q_txn *t, uint64_t id, q_entry *e);
/* Entries of queue in state, newest first; e->payload is freed after fn. */
int q_entry_each(q_txn *t, int queue, int state, int (*fn)(const q_entry *e, void *ud), void *ud);
int q_count(q_txn *t, int queue, int state, uint64_t *n);

/* ---- frontier state: opaque blobs owned by the frontier module ----
 * Keys are 1..255 bytes; a blob is any bytes. Many small blobs under a
 * common prefix (one per point) let a change rewrite only its own records:
 * each put or delete is O(log n) in the number of blobs. */
int q_blob_put(q_txn *t, const char *key, const void *buf, size_t len);
/* *buf is malloc'd (free it); Q_ENOTFOUND when the key is absent. */
int q_blob_get(q_txn *t, const char *key, void **buf, size_t *len);
/* Q_ENOTFOUND when the key is absent (nothing changes then). */
int q_blob_del(q_txn *t, const char *key);
/* Every blob whose key starts with prefix ("" for all), in key order (byte
 * order). buf is borrowed: valid only during the call to fn; a nonzero
 * return of fn stops the walk and is returned. */
int q_blob_each(q_txn *t, const char *prefix,
		int (*fn)(const char *key, const void *buf, size_t len, void *ud), void *ud);

/* ---- experiment config: data set, seed, op set, budgets ---- */
int q_config_set(q_txn *t, const char *key, const char *value);
int q_config_get(q_txn *t, const char *key, char *value, size_t cap);
int q_config_each(q_txn *t, int (*fn)(const char *key, const char *value, void *ud), void *ud);

/* ---- events: append-only, numbered from 1 ---- */
int q_event(q_txn *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Events with seq > after, oldest first. */
int q_event_each(q_txn *t, uint64_t after,
		 int (*fn)(uint64_t seq, int64_t ms, const char *msg, void *ud), void *ud);

#ifdef __cplusplus
}
#endif
#endif
