/* exp.h - the experiment's layout that the daemon writes and the command
 * line and tests read: here, how a trained model becomes a frontier point.
 * One definition (exp.c), so the daemon and `petri frontier/pick` always
 * agree on it. */
#ifndef PETRID_EXP_H
#define PETRID_EXP_H

#include "frontier.h"
#include "nn.h"
#include "queue.h"

/* The frontier point of a trained model. Values that are not finite never
 * look good: validation error 1 - val_acc clamped to [0, 1] (1 when not
 * finite), validation loss 1e9 when not finite, latency 0 (unknown) when not
 * finite or negative, test accuracy NaN (unknown) outside [0, 1]. */
fr_point petrid_point(const char *id, const char *parent, int depth, const nn_cost *cost, const nn_metrics *m);

/* The frontier in the store (exp_frontier.c), as frontier blobs:
 *   "fr.h"                 the header (fr_header_encode)
 *   "fr.p." + 12 digits    one record per point, by index in insertion order
 *   "frontier"             the whole frontier in one record (fr_encode), as
 *                          older stores hold it: read while it is there,
 *                          replaced by the records on the first save */
#define PETRID_FR_HEADER "fr.h"
#define PETRID_FR_POINTS "fr.p."
#define PETRID_FR_SINGLE "frontier"
/* Inside the write transaction that commits a change of fr: write the
 * record of the point with this id (the model just inserted or the parent
 * just chosen; NULL or an id not in fr: none) and the header. On an older
 * store, write every point and delete the single record instead (once,
 * O(n)). Safe to run again when q_write retries. */
int petrid_frontier_save(q_txn *t, const fr_frontier *fr, const char *id);
/* The stored frontier (*out owned by the caller), or *out = NULL and 0 when
 * none is stored. When the stored records do not decode: Q_ECORRUPT or
 * Q_EVERSION (Q_ENOMEM) with the reason in err; other store errors leave
 * err empty (q_errmsg has them). */
int petrid_frontier_load(q_txn *t, fr_frontier **out, char *err, size_t errlen);

#endif
