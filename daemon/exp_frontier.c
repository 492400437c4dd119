/* exp_frontier.c - the experiment's frontier in the store (exp.h).
 *
 * DESIGN
 * A trained model or a parent choice changes one point and the header, so
 * the daemon writes just those two records in the transaction that commits
 * the change: O(log n) store work whatever the number of models, where one
 * record of the whole frontier grew by ~86 bytes per model and was
 * rewritten every time. Stores written before hold that one record under
 * "frontier": it is read as it is, and the first save writes every point
 * record and deletes it, in the same transaction, so a store never holds
 * both. Loading walks the point records in key (= index) order and rebuilds
 * hull, band and pick index once.
 */
#include "exp.h"

#include <stdio.h>
#include <stdlib.h>

static void point_key(char key[32], size_t i)
{
	snprintf(key, 32, "%s%012zu", PETRID_FR_POINTS, i);
}

/* store a record that fr_*_encode made (frc its result), then free it */
static int put_rec(q_txn *t, const char *key, int frc, char *buf, size_t len)
{
	int rc = frc ? Q_ENOMEM : q_blob_put(t, key, buf, len);
	free(buf);
	return rc;
}

int petrid_frontier_save(q_txn *t, const fr_frontier *fr, const char *id)
{
	char key[32], *buf;
	size_t len, from = 0, to = 0;
	int rc = q_blob_del(t, PETRID_FR_SINGLE);
	if (rc == 0) /* an older store: every point, once */
		to = fr_count(fr);
	else if (rc != Q_ENOTFOUND)
		return rc;
	else if (id && fr_find(fr, id, &from) == 0)
		to = from + 1;
	for (size_t i = from; i < to; i++) {
		point_key(key, i);
		int frc = fr_point_encode(fr, i, &buf, &len);
		if ((rc = put_rec(t, key, frc, buf, len)))
			return rc;
	}
	q_test_kill_point("frontier"); /* test hook, queue/testhook.c */
	int frc = fr_header_encode(fr, &buf, &len);
	return put_rec(t, PETRID_FR_HEADER, frc, buf, len);
}

struct load {
	fr_frontier *fr;
	char *err;
	size_t errlen;
	int frc;
};

static int load_point(const char *key, const void *buf, size_t len, void *ud)
{
	struct load *l = ud;
	(void)key;
	l->frc = fr_load_point(l->fr, buf, len, l->err, l->errlen);
	return l->frc ? Q_ECORRUPT : 0;
}

static int fr_to_q(int frc)
{
	return frc == FR_ENOMEM ? Q_ENOMEM : frc == FR_EVERSION ? Q_EVERSION : Q_ECORRUPT;
}

/* The frontier from the records (or the single record); fr_*'s error codes
 * in l->frc, the store's returned. */
static int load(q_txn *t, struct load *l)
{
	void *buf;
	size_t len;
	int rc = q_blob_get(t, PETRID_FR_HEADER, &buf, &len);
	if (rc == Q_ENOTFOUND) { /* an older store, or no frontier yet */
		if ((rc = q_blob_get(t, PETRID_FR_SINGLE, &buf, &len)))
			return rc == Q_ENOTFOUND ? 0 : rc;
		l->frc = fr_decode(&l->fr, buf, len, l->err, l->errlen);
		free(buf);
		return 0;
	}
	if (rc)
		return rc;
	l->frc = fr_load_begin(&l->fr, buf, len, l->err, l->errlen);
	free(buf);
	if (!l->frc && (rc = q_blob_each(t, PETRID_FR_POINTS, load_point, l)) && !l->frc)
		return rc;
	if (!l->frc)
		l->frc = fr_load_end(l->fr, l->err, l->errlen);
	return 0;
}

int petrid_frontier_load(q_txn *t, fr_frontier **out, char *err, size_t errlen)
{
	struct load l = { NULL, err, errlen, 0 };
	int rc = load(t, &l);
	*out = NULL;
	if (!rc && !l.frc) {
		*out = l.fr;
		l.fr = NULL;
	}
	fr_free(l.fr);
	if ((rc || !l.frc) && err && errlen)
		err[0] = 0; /* a message only when the records do not decode */
	return rc ? rc : l.frc ? fr_to_q(l.frc) : 0;
}

int petrid_tx_trained(q_txn *t, const nn_model *m, uint64_t entry, const char *owner, const fr_frontier *fr,
		      long jobs_done, double elapsed_s, const char *event)
{
	int rc;
	if ((rc = q_model_put(t, m, Q_MODEL_TRAINED)) || (rc = q_done(t, entry, owner)) ||
	    (rc = petrid_frontier_save(t, fr, m->lineage.id)) ||
	    (rc = petrid_cfg_set_num(t, PETRID_CFG_JOBS_DONE, (double)jobs_done)) ||
	    (rc = petrid_cfg_set_num(t, PETRID_CFG_ELAPSED, elapsed_s)))
		return rc;
	return q_event(t, "%s", event);
}
