/* entries.c - the three persistent queues (parent, candidate, child) and
 * their leases.
 *
 * DESIGN
 * An entry is one record under its u64 id ("entries"); its place in line is
 * a key in "qindex": (queue, state, ~seq, id), big-endian, with an empty
 * value. Because seq is stored inverted, the first key of the prefix
 * (queue, queued) is the newest queued entry: leasing is one cursor seek,
 * which gives the depth-first order the search wants (children of the latest
 * model are expanded first). Every state change rewrites the record, moves
 * the index key and updates the per-queue counts in the meta record, all in
 * the caller's transaction, so the index and the counts can never disagree
 * with the entries after a crash (q_verify checks that they agree).
 *
 * Leases. q_lease marks an entry leased to an owner at a time and counts
 * the attempt. A job finishes with q_done or q_fail. When a writer dies, its
 * leases stay in the store; the next writer (which holds the store's lock,
 * so the old one is gone) calls q_recover to put them back in line. An entry
 * leased Q_MAX_ATTEMPTS times is failed for good on its next failure or
 * charged recovery, so a job that crashes its writer cannot crash it
 * forever; a writer whose jobs run apart (the daemon's worker processes)
 * recovers without a charge.
 *
 * The payload is opaque bytes owned by the job's producer (grow/ and the
 * daemon): the store never looks inside.
 */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_MAGIC "PETRIQUE"
#define ENTRY_VERSION 2
#define ENTRY_FIELDS 11
#define IKEY 18

static const char *const queue_names[Q_NQUEUES] = { "parent", "candidate", "child" };
static const char *const state_names[Q_NSTATES] = { "queued", "leased", "done", "failed" };

const char *q_queue_name(int q) { return q >= 0 && q < Q_NQUEUES ? queue_names[q] : "?"; }
const char *q_state_name(int s) { return s >= 0 && s < Q_NSTATES ? state_names[s] : "?"; }

void q_entry_free(q_entry *e)
{
	if (!e)
		return;
	free(e->payload);
	e->payload = NULL;
	e->len = 0;
}

static void ikey(unsigned char k[IKEY], int queue, int state, uint64_t seq, uint64_t id)
{
	k[0] = (unsigned char)queue;
	k[1] = (unsigned char)state;
	q_put_be64(k + 2, ~seq);
	q_put_be64(k + 10, id);
}

static int qs_ok(q_txn *t, int queue, int state)
{
	if (queue < 0 || queue >= Q_NQUEUES)
		return q_seterr(t->s, Q_EINVAL, "bad queue %d", queue);
	if (state < 0 || state >= Q_NSTATES)
		return q_seterr(t->s, Q_EINVAL, "bad entry state %d", state);
	return 0;
}

/* Decode an entry record; with payload != 0 the payload is copied (malloc). */
static int entry_decode(q_txn *t, uint64_t key, const MDB_val *v, q_entry *e, int payload)
{
	char what[64];
	snprintf(what, sizeof what, "queue entry %llu", (unsigned long long)key);
	memset(e, 0, sizeof *e);
	q_dec d;
	int rc = q_dec_open(t, &d, v, ENTRY_MAGIC, ENTRY_VERSION, ENTRY_FIELDS, what);
	if (rc)
		return rc;
	e->id = q_dec_u64(&d, 0);
	e->seq = q_dec_u64(&d, 1);
	uint64_t queue = q_dec_u64(&d, 2), state = q_dec_u64(&d, 3), att = q_dec_u64(&d, 4);
	q_dec_str(&d, 5, e->owner, sizeof e->owner);
	e->lease_ms = q_dec_i64(&d, 6);
	e->created_ms = q_dec_i64(&d, 7);
	e->updated_ms = q_dec_i64(&d, 8);
	q_dec_str(&d, 9, e->reason, sizeof e->reason);
	size_t n;
	const void *p = q_dec_bin(&d, 10, &n);
	if (d.bad < 0 && payload && n) {
		if (!(e->payload = malloc(n))) {
			q_dec_close(&d);
			return q_seterr(t->s, Q_ENOMEM, "%s: payload of %zu bytes", what, n);
		}
		memcpy(e->payload, p, n);
		e->len = n;
	}
	if ((rc = q_dec_done(t, &d, what)))
		goto fail;
	if (queue >= Q_NQUEUES || state >= Q_NSTATES || att > 1000000 || e->id != key) {
		rc = q_seterr(t->s, Q_ECORRUPT, "%s: queue %llu, state %llu, attempts %llu or id %llu out of range", what,
			      (unsigned long long)queue, (unsigned long long)state, (unsigned long long)att,
			      (unsigned long long)e->id);
		goto fail;
	}
	e->queue = (int)queue, e->state = (int)state, e->attempts = (int)att;
	if (!payload)
		e->len = n;
	return 0;
fail:
	q_entry_free(e);
	return rc;
}

static int entry_load(q_txn *t, uint64_t id, q_entry *e, int payload)
{
	unsigned char k[8];
	MDB_val v;
	q_put_be64(k, id);
	int rc = q_get(t, DB_ENTRIES, k, 8, &v);
	if (rc)
		return rc == Q_ENOTFOUND ? q_seterr(t->s, rc, "queue entry %llu: no such entry", (unsigned long long)id)
					 : rc;
	return entry_decode(t, id, &v, e, payload);
}

/* Write e (payload given separately, NULL to keep the stored one) and move
 * its index key from (old queue/state/seq) when old is not NULL. */
static int entry_store(q_txn *t, const q_entry *e, const void *payload, size_t len, const q_entry *old)
{
	q_meta *m;
	int rc = q_meta_load(t, &m);
	if (rc)
		return rc;
	unsigned char k[8], ik[IKEY];
	q_put_be64(k, e->id);
	q_enc enc;
	q_enc_begin(&enc, ENTRY_MAGIC, ENTRY_VERSION, ENTRY_FIELDS);
	q_enc_u64(&enc, e->id);
	q_enc_u64(&enc, e->seq);
	q_enc_u64(&enc, (uint64_t)e->queue);
	q_enc_u64(&enc, (uint64_t)e->state);
	q_enc_u64(&enc, (uint64_t)e->attempts);
	q_enc_str(&enc, e->owner);
	q_enc_i64(&enc, e->lease_ms);
	q_enc_i64(&enc, e->created_ms);
	q_enc_i64(&enc, e->updated_ms);
	q_enc_str(&enc, e->reason);
	if (payload) {
		q_enc_bin(&enc, payload, len);
	} else {
		/* keep the stored payload: copy it out of LMDB before the put */
		MDB_val v;
		q_dec d;
		if ((rc = q_get(t, DB_ENTRIES, k, 8, &v)) ||
		    (rc = q_dec_open(t, &d, &v, ENTRY_MAGIC, ENTRY_VERSION, ENTRY_FIELDS, "queue entry"))) {
			q_enc_free(&enc);
			return rc;
		}
		size_t n;
		const void *p = q_dec_bin(&d, 10, &n);
		q_enc_bin(&enc, p, n); /* copied into the encoder's buffer */
		if ((rc = q_dec_done(t, &d, "queue entry"))) {
			q_enc_free(&enc);
			return rc;
		}
	}
	if ((rc = q_enc_put(&enc, t, DB_ENTRIES, k, 8)))
		return rc;
	if (old) {
		ikey(ik, old->queue, old->state, old->seq, old->id);
		if ((rc = q_del(t, DB_QINDEX, ik, IKEY)))
			return rc == Q_ENOTFOUND ? q_seterr(t->s, Q_ECORRUPT, "queue entry %llu: index key missing",
							    (unsigned long long)e->id)
						 : rc;
		m->counts[old->queue][old->state]--;
	}
	ikey(ik, e->queue, e->state, e->seq, e->id);
	if ((rc = q_put(t, DB_QINDEX, ik, IKEY, "", 0)))
		return rc;
	m->counts[e->queue][e->state]++;
	t->meta_dirty = 1;
	return 0;
}

int q_push(q_txn *t, int queue, const void *payload, size_t len, uint64_t *id)
{
	q_meta *m;
	int rc = q_need_write(t);
	if (rc || (rc = qs_ok(t, queue, 0)) || (rc = q_meta_load(t, &m)))
		return rc;
	if (len && !payload)
		return q_seterr(t->s, Q_EINVAL, "push: no payload");
	q_entry e = { .id = m->next_entry, .seq = m->next_entry, .queue = queue, .state = Q_QUEUED };
	e.created_ms = e.updated_ms = q_now_ms();
	if ((rc = entry_store(t, &e, payload ? payload : "", len, NULL)))
		return rc;
	m->next_entry++;
	if (id)
		*id = e.id;
	return 0;
}

/* Walk the entry ids of (queue, state) in index order, newest first; fn's
 * nonzero return stops and is returned. */
struct qs_walk {
	int queue, state;
	int end; /* the walk left the prefix: not an error */
	int (*fn)(q_txn *t, uint64_t id, void *ud);
	void *ud;
};

static int qs_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	struct qs_walk *w = ud;
	const unsigned char *kb = k->mv_data;
	(void)v;
	if (k->mv_size < 2 || kb[0] != w->queue || kb[1] != w->state)
		return w->end = 1;
	if (k->mv_size != IKEY)
		return q_seterr(t->s, Q_ECORRUPT, "qindex: key of %zu bytes", k->mv_size);
	return w->fn(t, q_get_be64(kb + 10), w->ud);
}

static int walk_ids(q_txn *t, int queue, int state, int (*fn)(q_txn *t, uint64_t id, void *ud), void *ud)
{
	unsigned char ik[IKEY];
	ikey(ik, queue, state, UINT64_MAX, 0); /* ~seq = 0: before every key */
	MDB_val start = { IKEY, ik };
	struct qs_walk w = { queue, state, 0, fn, ud };
	int rc = q_walk(t, DB_QINDEX, &start, qs_one, &w);
	return w.end ? 0 : rc;
}

#define FOUND 1 /* first_one's stop: not an error code */

static int first_one(q_txn *t, uint64_t id, void *ud)
{
	(void)t;
	*(uint64_t *)ud = id;
	return FOUND;
}

/* First index key with the prefix (queue, state): the newest such entry. */
static int first_in(q_txn *t, int queue, int state, uint64_t *id)
{
	int rc = walk_ids(t, queue, state, first_one, id);
	return rc == FOUND ? 0 : rc ? rc : Q_EEMPTY;
}

int q_lease(q_txn *t, int queue, const char *owner, q_entry *out)
{
	int rc = q_need_write(t);
	if (rc || (rc = qs_ok(t, queue, 0)))
		return rc;
	uint64_t id;
	if ((rc = first_in(t, queue, Q_QUEUED, &id)))
		return rc == Q_EEMPTY ? q_seterr(t->s, rc, "%s queue: nothing queued", queue_names[queue]) : rc;
	q_entry e, old;
	if ((rc = entry_load(t, id, &e, out != NULL)))
		return rc;
	if (e.queue != queue || e.state != Q_QUEUED) {
		q_entry_free(&e);
		return q_seterr(t->s, Q_ECORRUPT, "queue entry %llu: indexed as %s/queued but is %s/%s",
				(unsigned long long)id, queue_names[queue], q_queue_name(e.queue), q_state_name(e.state));
	}
	old = e;
	e.state = Q_LEASED;
	e.attempts++;
	snprintf(e.owner, sizeof e.owner, "%s", owner ? owner : "");
	e.lease_ms = e.updated_ms = q_now_ms();
	if ((rc = entry_store(t, &e, NULL, 0, &old))) {
		q_entry_free(&e);
		return rc;
	}
	if (out)
		*out = e;
	return 0;
}

/* Load a leased entry that owner (NULL: anyone) holds. */
static int load_leased(q_txn *t, uint64_t id, const char *owner, q_entry *e)
{
	int rc = entry_load(t, id, e, 0);
	if (rc)
		return rc;
	if (e->state != Q_LEASED)
		return q_seterr(t->s, Q_ESTATE, "queue entry %llu is %s, not leased", (unsigned long long)id,
				q_state_name(e->state));
	if (owner && strcmp(owner, e->owner))
		return q_seterr(t->s, Q_ESTATE, "queue entry %llu is leased by '%s', not '%s'", (unsigned long long)id,
				e->owner, owner);
	return 0;
}

int q_done(q_txn *t, uint64_t id, const char *owner)
{
	q_entry e, old;
	int rc = q_need_write(t);
	if (rc || (rc = load_leased(t, id, owner, &e)))
		return rc;
	old = e;
	e.state = Q_DONE;
	e.updated_ms = q_now_ms();
	return entry_store(t, &e, NULL, 0, &old);
}

/* leased -> queued, or failed when its attempts are used up */
static int release(q_txn *t, q_entry *e, const char *reason, int *state)
{
	q_entry old = *e;
	e->state = e->attempts >= Q_MAX_ATTEMPTS ? Q_FAILED : Q_QUEUED;
	e->updated_ms = q_now_ms();
	snprintf(e->reason, sizeof e->reason, "%s", reason ? reason : "");
	if (state)
		*state = e->state;
	return entry_store(t, e, NULL, 0, &old);
}

int q_fail(q_txn *t, uint64_t id, const char *owner, const char *reason, int *state)
{
	q_entry e;
	int rc = q_need_write(t);
	if (rc || (rc = load_leased(t, id, owner, &e)))
		return rc;
	return release(t, &e, reason, state);
}

int q_requeue(q_txn *t, uint64_t id, const char *owner, const char *reason)
{
	q_entry e;
	int rc = q_need_write(t);
	if (rc || (rc = load_leased(t, id, owner, &e)))
		return rc;
	q_entry old = e;
	if (e.attempts > 0)
		e.attempts--; /* interrupted, not failed: the lease does not count */
	e.state = Q_QUEUED;
	e.updated_ms = q_now_ms();
	snprintf(e.reason, sizeof e.reason, "%s", reason ? reason : "");
	return entry_store(t, &e, NULL, 0, &old);
}

int q_recover(q_txn *t, int charge, int *n)
{
	int rc = q_need_write(t), moved = 0;
	if (rc)
		return rc;
	for (int q = 0; q < Q_NQUEUES && !rc; q++) {
		/* each release moves the first leased key away: seek again */
		uint64_t id;
		while (!rc && !(rc = first_in(t, q, Q_LEASED, &id))) {
			q_entry e;
			if ((rc = entry_load(t, id, &e, 0)))
				break;
			if (e.state != Q_LEASED || e.queue != q) {
				rc = q_seterr(t->s, Q_ECORRUPT, "queue entry %llu: indexed as %s/leased but is %s/%s",
					      (unsigned long long)id, queue_names[q], q_queue_name(e.queue),
					      q_state_name(e.state));
				break;
			}
			char why[128];
			if (!charge && e.attempts > 0)
				e.attempts--;
			snprintf(why, sizeof why, "lease of '%s' lost (writer died), %s %d", e.owner,
				 charge ? "attempt" : "not counted; attempts", e.attempts);
			if (!(rc = release(t, &e, why, NULL)))
				moved++;
		}
		if (rc == Q_EEMPTY)
			rc = 0;
	}
	if (n)
		*n = moved;
	return rc;
}

int q_entry_get(q_txn *t, uint64_t id, q_entry *e)
{
	return entry_load(t, id, e, 1);
}

struct each_arg {
	int (*fn)(const q_entry *e, void *ud);
	void *ud;
};

static int each_one(q_txn *t, uint64_t id, void *ud)
{
	struct each_arg *a = ud;
	q_entry e;
	int rc = entry_load(t, id, &e, 1);
	if (rc)
		return rc;
	rc = a->fn(&e, a->ud);
	q_entry_free(&e);
	return rc;
}

int q_entry_each(q_txn *t, int queue, int state, int (*fn)(const q_entry *e, void *ud), void *ud)
{
	struct each_arg a = { fn, ud };
	int rc = qs_ok(t, queue, state);
	return rc ? rc : walk_ids(t, queue, state, each_one, &a);
}

int q_count(q_txn *t, int queue, int state, uint64_t *n)
{
	q_meta *m;
	int rc = qs_ok(t, queue, state);
	if (rc || (rc = q_meta_load(t, &m)))
		return rc;
	*n = m->counts[queue][state];
	return 0;
}

struct entry_check {
	uint64_t counts[Q_NQUEUES][Q_NSTATES];
	uint64_t max_id, n;
};

/* the entry of one record of the entries database, and its index key */
static int entry_of_record(q_txn *t, const MDB_val *k, const MDB_val *v, q_entry *e, unsigned char ik[IKEY])
{
	if (k->mv_size != 8)
		return q_seterr(t->s, Q_ECORRUPT, "entries: key of %zu bytes", k->mv_size);
	int rc = entry_decode(t, q_get_be64(k->mv_data), v, e, 0);
	if (!rc)
		ikey(ik, e->queue, e->state, e->seq, e->id);
	return rc;
}

/* an entry decodes and its index key is there */
static int entry_check_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	struct entry_check *c = ud;
	q_entry e;
	MDB_val iv;
	unsigned char ik[IKEY];
	int rc = entry_of_record(t, k, v, &e, ik);
	if (rc)
		return rc;
	if ((rc = q_get(t, DB_QINDEX, ik, IKEY, &iv)) == Q_ENOTFOUND)
		rc = q_seterr(t->s, Q_ECORRUPT, "queue entry %llu (%s/%s) is not in the index",
			      (unsigned long long)e.id, q_queue_name(e.queue), q_state_name(e.state));
	c->counts[e.queue][e.state]++;
	c->max_id = e.id > c->max_id ? e.id : c->max_id;
	c->n++;
	return rc;
}

/* an index key points at an entry in its queue and state */
static int index_check_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	const unsigned char *kb = k->mv_data;
	q_entry e;
	if (k->mv_size != IKEY || v->mv_size != 0 || kb[0] >= Q_NQUEUES || kb[1] >= Q_NSTATES)
		return q_seterr(t->s, Q_ECORRUPT, "qindex: malformed key or value");
	int rc = entry_load(t, q_get_be64(kb + 10), &e, 0);
	if (rc)
		return rc;
	if (e.queue != kb[0] || e.state != kb[1] || ~e.seq != q_get_be64(kb + 2))
		return q_seterr(t->s, Q_ECORRUPT, "qindex: key for entry %llu does not match it", (unsigned long long)e.id);
	++*(uint64_t *)ud;
	return 0;
}

/* Every entry decodes and has exactly its index key; every index key
 * points at an entry in that queue and state; the counts match. */
int q_verify_entries(q_txn *t, uint64_t *records)
{
	q_meta *meta;
	struct entry_check c;
	uint64_t nidx = 0;
	memset(&c, 0, sizeof c);
	int rc = q_meta_load(t, &meta);
	if (rc || (rc = q_walk(t, DB_ENTRIES, NULL, entry_check_one, &c)) ||
	    (rc = q_walk(t, DB_QINDEX, NULL, index_check_one, &nidx)))
		return rc;
	if (nidx != c.n)
		return q_seterr(t->s, Q_ECORRUPT, "qindex has %llu keys for %llu entries", (unsigned long long)nidx,
				(unsigned long long)c.n);
	if (memcmp(c.counts, meta->counts, sizeof c.counts))
		return q_seterr(t->s, Q_ECORRUPT, "per-queue counts in meta do not match the entries");
	if (c.max_id >= meta->next_entry)
		return q_seterr(t->s, Q_ECORRUPT, "entry id %llu is not below the counter %llu",
				(unsigned long long)c.max_id, (unsigned long long)meta->next_entry);
	*records += c.n + nidx;
	return 0;
}

struct reindex {
	q_meta *m;
	uint64_t max_id;
};

static int reindex_one(q_txn *t, const MDB_val *k, const MDB_val *v, void *ud)
{
	struct reindex *r = ud;
	q_entry e;
	unsigned char ik[IKEY];
	int rc = entry_of_record(t, k, v, &e, ik);
	if (rc)
		return rc;
	if ((rc = q_put(t, DB_QINDEX, ik, IKEY, "", 0)))
		return rc;
	r->m->counts[e.queue][e.state]++;
	r->max_id = e.id > r->max_id ? e.id : r->max_id;
	return 0;
}

/* The index and the counts again from the entries (a salvaged store). */
int q_entries_reindex(q_txn *t)
{
	q_meta *m;
	int rc = q_need_write(t);
	if (rc || (rc = q_meta_load(t, &m)))
		return rc;
	int mrc = mdb_drop(t->txn, t->s->db[DB_QINDEX], 0);
	if (mrc)
		return q_mdb_err(t, mrc, "qindex");
	memset(m->counts, 0, sizeof m->counts);
	struct reindex r = { m, 0 };
	if ((rc = q_walk(t, DB_ENTRIES, NULL, reindex_one, &r)))
		return rc;
	if (r.max_id >= m->next_entry)
		m->next_entry = r.max_id + 1;
	t->meta_dirty = 1;
	return 0;
}
