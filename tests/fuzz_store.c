/* fuzz_store.c - libFuzzer target for the store's record decoders (built
 * by fuzz.sh). The first input byte picks a record of a small store (queue
 * entry, summary, config, frontier blob, event, meta counters, model,
 * schema, and the daemon's omega ranking, loss curve, running jobs and a
 * job's checkpoint inside their blobs); the rest replaces it. Every read and write path that decodes it
 * must fail cleanly or succeed; after the original record is put back, the
 * store must verify again. */
#include "fuzz_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fz_store st;
static int ready;

static void done(void) { fz_store_close(&st); }

static int sum_one(const q_summary *s, void *ud) { (void)s, (void)ud; return 0; }
static int cfg_one(const char *k, const char *v, void *ud) { (void)k, (void)v, (void)ud; return 0; }
static int ent_one(const q_entry *e, void *ud) { (void)e, (void)ud; return 0; }
static int ev_one(uint64_t seq, int64_t ms, const char *msg, void *ud)
{
	(void)seq, (void)ms, (void)ud;
	return msg ? 0 : Q_EINVAL;
}

static int reads(q_txn *t, void *ud)
{
	(void)ud;
	q_entry e;
	q_summary s;
	nn_model m;
	void *b;
	size_t n;
	char v[64];
	uint64_t c;
	if (!q_entry_get(t, 1, &e))
		q_entry_free(&e);
	q_summary_get(t, "m1", &s);
	q_summary_each(t, sum_one, NULL);
	if (!q_model_get(t, "m1", &m))
		nn_model_free(&m);
	if (!q_model_bytes(t, "m1", &b, &n))
		free(b);
	q_config_get(t, "a", v, sizeof v);
	q_config_each(t, cfg_one, NULL);
	if (!q_blob_get(t, "b", &b, &n))
		free(b);
	q_event_each(t, 0, ev_one, NULL);
	/* the daemon's records: the decoders, and the card that reads them all */
	char err[256];
	petrid_omega_rank r;
	petrid_curve cv;
	petrid_running *run = malloc(sizeof *run);
	if (!q_blob_get(t, PETRID_CKPT_PREFIX "1", &b, &n)) {
		petrid_ckpt k;
		if (!petrid_ckpt_decode(b, n, &k, err, sizeof err))
			petrid_ckpt_free(&k);
		free(b);
	}
	petrid_omega_get(t, "m1", &r, err, sizeof err);
	petrid_curve_get(t, "m1", &cv, err, sizeof err);
	if (run)
		petrid_running_get(t, run, err, sizeof err);
	free(run);
	FILE *f = fopen("/dev/null", "w");
	if (f) {
		petrid_card_json(t, "m1", f, err, sizeof err);
		fclose(f);
	}
	for (int q = 0; q < Q_NQUEUES; q++)
		for (int k = 0; k < Q_NSTATES; k++) {
			q_count(t, q, k, &c);
			q_entry_each(t, q, k, ent_one, NULL);
		}
	return 0;
}

/* write paths that decode, then abort: nothing of this is committed */
static int writes(q_txn *t, void *ud)
{
	(void)ud;
	q_entry e;
	int n;
	char id[Q_IDLEN];
	if (!q_lease(t, Q_CANDIDATE, "f", &e)) {
		q_done(t, e.id, "f");
		q_entry_free(&e);
	}
	q_fail(t, 2, NULL, "x", NULL);
	q_recover(t, 1, &n);
	q_model_set_state(t, "m1", Q_MODEL_FAILED);
	q_model_new_id(t, id);
	q_push(t, Q_PARENT, "p", 1, NULL);
	q_event(t, "e");
	return Q_EINVAL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		if (fz_store_open(&st))
			abort();
		atexit(done);
		ready = 1;
	}
	if (size < 1)
		return 0;
	int sel = data[0] % FZ_NSEL;
	/* an odd data[0] / FZ_NSEL: the record's check is sealed, so that the
	 * decoders behind it are reached */
	uint8_t *rec = malloc(size);
	if (!rec)
		abort();
	memcpy(rec, data + 1, size - 1);
	if ((data[0] / FZ_NSEL) & 1)
		nn_rec_seal(rec, size - 1);
	if (fz_put(&st, sel, rec, size - 1))
		abort();
	free(rec);
	q_read(st.s, reads, NULL);
	q_write(st.s, writes, NULL);
	q_verify(st.s, NULL);
	if (fz_put(&st, sel, st.orig[sel], st.origlen[sel]) || q_verify(st.s, NULL)) {
		fprintf(stderr, "store does not verify after restoring record %d: %s\n", sel, q_errmsg(st.s));
		abort();
	}
	return 0;
}
