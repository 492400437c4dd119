/* exp.h - the experiment's layout: what the daemon writes into the store
 * and the command line and tests read back. Each piece is defined once
 * (exp.c), so the daemon, `petri status/frontier/pick` and tests/mkexp
 * always agree on it:
 *   - the config keys and how their values are written,
 *   - the job payload of the three queues,
 *   - the frontier point of a trained model,
 *   - MFLOPs <-> multiply-adds.
 */
#ifndef PETRID_EXP_H
#define PETRID_EXP_H

#include <stddef.h>
#include <stdint.h>

#include "frontier.h"
#include "nnio.h"
#include "queue.h"

/* ---- config keys (q_config_*), each value text ---- */
/* written when the search is created */
#define PETRID_CFG_DATA "data"                  /* data set, an absolute path */
#define PETRID_CFG_SHAPE "shape"                /* CSV shape, e.g. "1x8x8" (only when given) */
#define PETRID_CFG_DATA_FP "data_fingerprint" /* nn_data_fingerprint of the training and test data, hex */
#define PETRID_CFG_INPUT_SCALE "input_scale"    /* inputs = the data's values times this (a number);
						 * absent in older stores: the format's default */
#define PETRID_CFG_SEED "seed"
#define PETRID_CFG_RANDOM_GROWTH "random_growth" /* 0 or 1 */
#define PETRID_CFG_CREATED "created"            /* Unix time */
#define PETRID_CFG_MAX_DEPTH "max_depth"
#define PETRID_CFG_CAND_EPOCHS "cand_epochs"
#define PETRID_CFG_CHILD_EPOCHS "child_epochs"
#define PETRID_CFG_SEED_EPOCHS "seed_epochs"
#define PETRID_CFG_COST_AXIS "cost_axis"        /* fr_axis_name() of the frontier's axis */
#define PETRID_CFG_EPS "eps"                    /* the frontier's tolerance band */
/* options that a resume may change */
#define PETRID_CFG_BUDGET_S "budget_s"
#define PETRID_CFG_BUDGET_JOBS "budget_jobs"
#define PETRID_CFG_MAX_MFLOPS "max_mflops"      /* 0: no ceiling */
/* the running search */
#define PETRID_CFG_WORKERS "workers"
#define PETRID_CFG_THREADS "threads_per_worker"
#define PETRID_CFG_PID "pid"                    /* the daemon's, 0 once stopped */
#define PETRID_CFG_STATE "state"                /* PETRID_STATE_* */
#define PETRID_CFG_ELAPSED "elapsed_s"          /* wall clock over all runs */
#define PETRID_CFG_JOBS_DONE "jobs_done"

#define PETRID_STATE_RUNNING "running"
#define PETRID_STATE_DONE "done"                /* its budget is spent */
#define PETRID_STATE_STOPPED "stopped"

/* What a fresh search writes for the frontier it starts with. */
#define PETRID_COST_AXIS "macs"
#define PETRID_EPS 0.025

/* A number as a config value ("%.17g": it reads back the same). */
int petrid_cfg_set_num(q_txn *t, const char *key, double v);
/* The config value of key as a number; the q_config_get() error when it is
 * not set or does not fit. */
int petrid_cfg_get_num(q_txn *t, const char *key, double *v);

/* ---- job payloads ----
 * A queue entry's payload is the MessagePack array
 *   ["PETRIJOB", 1, kind, model id, seed]
 * kind: what the job does with the model: train it (a child), grow it (a
 * candidate on a parent), or the record of a parent choice. */
enum { PETRID_JOB_CHILD = 1, PETRID_JOB_CAND = 2, PETRID_JOB_PARENT = 3 };

typedef struct {
	int kind;             /* PETRID_JOB_* */
	char model[Q_IDLEN];  /* the child to train, or the parent */
	uint64_t seed;
} petrid_job;

/* Encode j into *buf (malloc'd, the caller frees it) of *len bytes.
 * 0, or -1 when j is not a valid job (kind, model id too long) or memory
 * ran out; *buf is then NULL. */
int petrid_job_encode(const petrid_job *j, char **buf, size_t *len);
/* Decode a payload; every field is checked. 0, or -1 when buf is not a job
 * payload of this version (j is then unchanged). */
int petrid_job_decode(const void *buf, size_t len, petrid_job *j);
/* Push the job of a queue (Q_PARENT: PETRID_JOB_PARENT, Q_CANDIDATE:
 * PETRID_JOB_CAND, Q_CHILD: PETRID_JOB_CHILD) on model; entry may be NULL.
 * 0, Q_EINVAL (bad queue, model id too long), Q_ENOMEM, or q_push()'s error. */
int petrid_job_push(q_txn *t, int queue, const char *model, uint64_t seed, uint64_t *entry);

/* ---- the frontier point of a trained model ----
 * Values that are not finite never look good: validation error 1 - val_acc
 * clamped to [0, 1] (1 when not finite), validation loss 1e9 when not
 * finite, latency 0 (unknown) when not finite or negative, test accuracy NaN
 * (unknown) outside [0, 1]. */
fr_point petrid_point(const char *id, const char *parent, int depth, const nn_cost *cost, const nn_metrics *m);
/* The same for a whole model (its lineage, cost and metrics). */
fr_point petrid_model_point(const nn_model *m);

/* ---- MFLOPs <-> multiply-adds ----
 * FLOPs count a multiply-add as two operations: X MFLOPs = X * 1e6 / 2
 * multiply-adds. */
#define PETRID_MACS_PER_MFLOP 5e5
/* The multiply-adds that fit in mflops, rounded down; 0 (no ceiling) when
 * mflops is not a positive number, UINT64_MAX when they do not fit. */
uint64_t petrid_mflops_to_macs(double mflops);
double petrid_macs_to_mflops(uint64_t macs);

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

/* The store work of one trained model, as the daemon commits it (inside the
 * write transaction): the model record and its summary (trained), the job
 * entry done by owner, the model's frontier record and the frontier header
 * (m must already be in fr), the job counter and the search's clock, and the
 * event. bench_frontier times this very function. */
int petrid_tx_trained(q_txn *t, const nn_model *m, uint64_t entry, const char *owner, const fr_frontier *fr,
		      long jobs_done, double elapsed_s, const char *event);

#endif
