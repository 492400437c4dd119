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
#include <stdio.h>

#include "frontier.h"
#include "grow.h"
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
#define PETRID_CFG_DETERMINISTIC "deterministic" /* 0 or 1 (absent in older stores: 0) */
#define PETRID_CFG_SIMULATE "simulate"          /* 0, or the speed-up of a simulated search */
#define PETRID_CFG_CREATED "created"            /* Unix time */
#define PETRID_CFG_MAX_DEPTH "max_depth"
#define PETRID_CFG_CAND_EPOCHS "cand_epochs"
#define PETRID_CFG_CHILD_EPOCHS "child_epochs"
#define PETRID_CFG_GROW_K "grow_k"              /* winners per candidate job (absent in older stores) */
#define PETRID_CFG_GROW_OPS "grow_ops"          /* candidate ops: their names, comma-separated */
#define PETRID_CFG_GROW_INPUTS "grow_inputs"    /* inputs per target at most */
#define PETRID_CFG_CAND_PARENT "cand_parent"    /* "frozen" or "joint": the parent in a candidate job */
#define PETRID_CFG_NARROW_AT "narrow_at"        /* candidate jobs drop losing pairs after this fraction (0: never) */
#define PETRID_CFG_NARROW_KEEP "narrow_keep"    /* pairs kept per target then (0: 2k) */
#define PETRID_CFG_SEED_EPOCHS "seed_epochs"
#define PETRID_CFG_BATCH "batch"                /* images per training step (absent in older stores) */
#define PETRID_CFG_LR "lr"                      /* learning rate (absent in older stores) */
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

/* ---- model cards and running jobs (exp_card.c) ----
 * What a search records so that users and a dashboard understand it, as
 * blobs beside the frontier's (keys never start with "fr"):
 *   "card.o." + model id  the omega ranking of the candidate job that grew
 *                         the model ("PETRIOMG"), written with the child
 *   "card.c." + model id  the training loss curve of the model's child job
 *                         ("PETRICRV"), written with the trained model
 *   "run.jobs"            the running jobs' progress ("PETRIRUN"), rewritten
 *                         by the loop every few seconds while something
 *                         changed, deleted when the search stops
 * Each is one record [magic, version, fields..., check] (nn/rec/rec.h);
 * a record that cannot be encoded is skipped (the search logs it), and
 * every decoder checks every field: Q_ECORRUPT or Q_EVERSION with the
 * reason in err (Q_ENOMEM never: the values are fixed-size). A model
 * without a record (the seed, an imported model, an older store) simply
 * has none: Q_ENOTFOUND from the getters. */
#define PETRID_CARD_OMEGA "card.o."
#define PETRID_CARD_CURVE "card.c."
#define PETRID_RUN_JOBS "run.jobs"
#define PETRID_OMEGA_MAX 64   /* pairs kept in a ranking */
#define PETRID_CURVE_MAX 64   /* points of a curve */
#define PETRID_RUN_MAX 256    /* jobs of the running record (= the most workers) */

/* One (target, input, op) pair of a candidate: node ids of the parent, a
 * GROW_OP_* op, its trained omega, whether it was a winner. */
typedef struct {
	int target, input, op;
	double omega;
	int chosen;
} petrid_omega_pair;

typedef struct {
	char parent[Q_IDLEN];   /* the model the candidate grew on */
	uint64_t cand_entry;    /* the candidate job's queue entry */
	double parent_val_acc;  /* the parent's, as trained (NaN: unknown) */
	double joint_val_acc;   /* the parent's after joint training with the candidate */
	int npairs;             /* pairs scored */
	int n;                  /* pairs kept: every winner, then the best others */
	petrid_omega_pair pair[PETRID_OMEGA_MAX]; /* by |omega| descending, NaN last */
} petrid_omega_rank;

/* The total order of a ranking: |omega| descending, NaN last, then target,
 * input, op ascending, then omega ascending. qsort comparator. */
int petrid_omega_cmp(const void *a, const void *b);
/* The ranking of a candidate job's report: every pair of rep with its
 * winner flag, sorted; all winners kept, then the best others up to
 * PETRID_OMEGA_MAX. -1 when more winners than that (nothing to store). */
int petrid_omega_make(const grow_report *rep, const char *parent, uint64_t cand_entry, double parent_val_acc,
		      petrid_omega_rank *r);
/* 0, or -1 when r is not a valid ranking (counts, order, ops) or memory
 * ran out; *buf (malloc'd) is then NULL. */
int petrid_omega_encode(const petrid_omega_rank *r, char **buf, size_t *len);
int petrid_omega_decode(const void *buf, size_t len, petrid_omega_rank *r, char *err, size_t errlen);

/* The training loss curve of a job: the mean loss of each step range. */
typedef struct {
	long first_step;        /* the first step trained (1 from scratch) */
	long steps;             /* the last step trained */
	int n;
	long step[PETRID_CURVE_MAX];   /* the last step of each range, increasing */
	double loss[PETRID_CURVE_MAX]; /* its mean training loss */
	/* while collecting */
	long width, bucket_end;
	double sum;
	long count;
} petrid_curve;
/* Collecting, from a training step callback: begin, then add every step
 * (step of steps planned, 1-based), then end. Ranges are ceil(steps / 64)
 * steps wide, so at most PETRID_CURVE_MAX points. */
void petrid_curve_begin(petrid_curve *c);
void petrid_curve_add(petrid_curve *c, long step, long steps, double loss);
void petrid_curve_end(petrid_curve *c);
int petrid_curve_encode(const petrid_curve *c, char **buf, size_t *len);
int petrid_curve_decode(const void *buf, size_t len, petrid_curve *c, char *err, size_t errlen);

/* The running jobs, as the loop last wrote them. */
enum { PETRID_RUN_CHILD = 1, PETRID_RUN_CAND = 2, PETRID_RUN_SEED = 3 };
const char *petrid_run_kind_name(int kind); /* "child", "candidate", "seed" */
typedef struct {
	int kind;               /* PETRID_RUN_* */
	char model[Q_IDLEN];    /* the model trained, or the parent of a candidate */
	int worker;
	long step, steps;       /* steps done of steps planned (0: not started) */
	double elapsed_s;       /* since the job started */
} petrid_run_job;
typedef struct {
	int64_t pid;            /* the daemon that wrote it */
	int64_t ms;             /* Unix time of the write, ms */
	int n;
	petrid_run_job job[PETRID_RUN_MAX];
} petrid_running;
int petrid_running_encode(const petrid_running *r, char **buf, size_t *len);
int petrid_running_decode(const void *buf, size_t len, petrid_running *r, char *err, size_t errlen);

/* ---- job checkpoints ----
 * A running job's training state between two steps (nn_train_state), kept
 * under "ckpt.<queue entry>" while the job runs: the loop writes it at
 * intervals and deletes it in the transaction that ends the job, so a job
 * started again (after a stop, a budget end or a kill -9) resumes there. */
#define PETRID_CKPT_PREFIX "ckpt."
typedef struct {
	uint64_t entry;          /* the job's queue entry */
	char model[Q_IDLEN];     /* its model: the child trained, or a candidate's parent */
	int kind;                /* PETRID_JOB_CHILD, PETRID_JOB_CAND */
	long step, steps;        /* steps done (0 < step < steps) of steps planned */
	size_t nparams, nstate;
	const float *params, *mom, *state; /* nparams, nparams, nstate floats */
	float *owned;            /* decode: the arrays, one allocation (petrid_ckpt_free) */
} petrid_ckpt;
/* 0, or -1 when c is not a state a job could be in, or memory ran out
 * (*buf, malloc'd, is then NULL). */
int petrid_ckpt_encode(const petrid_ckpt *c, char **buf, size_t *len);
/* Every field checked; the arrays are copied (free with petrid_ckpt_free).
 * Q_ECORRUPT or Q_EVERSION with err, c untouched. */
int petrid_ckpt_decode(const void *buf, size_t len, petrid_ckpt *c, char *err, size_t errlen);
void petrid_ckpt_free(petrid_ckpt *c);
/* the store key of entry's checkpoint; -1 when n is too small */
int petrid_ckpt_key(char *key, size_t n, uint64_t entry);

/* The stored records (free nothing: the values are copies). Q_ENOTFOUND
 * when the model has none; the decoders' codes otherwise. */
int petrid_omega_get(q_txn *t, const char *id, petrid_omega_rank *r, char *err, size_t errlen);
int petrid_curve_get(q_txn *t, const char *id, petrid_curve *c, char *err, size_t errlen);
int petrid_running_get(q_txn *t, petrid_running *r, char *err, size_t errlen);

/* A model card: what the store holds about one model. */
typedef struct {
	q_summary s;            /* the model: id, parent, depth, state, costs, metrics */
	char grown[256];        /* what growth added, in words (lineage) */
	int nodes;              /* layers of its graph */
	int has_parent;         /* the parent's summary is stored: */
	q_summary ps;
	int parent_nodes;       /* -1: unknown */
	int rc_omega, rc_curve; /* 0 (stored), Q_ENOTFOUND (not stored), or why it
				 * does not decode (Q_ECORRUPT, Q_EVERSION; err_*) */
	char err_omega[256], err_curve[256];
	petrid_omega_rank omega;
	petrid_curve curve;
} petrid_card;
/* Read the card of model id (inside the caller's read transaction): 0,
 * also when a card record is missing or damaged (rc_* say so); Q_ENOTFOUND
 * when there is no such model; another store error, with err. */
int petrid_card_load(q_txn *t, const char *id, petrid_card *c, char *err, size_t errlen);
/* The card as one JSON object on f: id, parent, depth, state, costs,
 * accuracies and losses, "grown" (what growth added versus the parent:
 * its text, the layers by target from the chosen pairs, layers and params
 * added), "omega_ranking" and "curve" (null when not stored, named in
 * "not_stored"; null too when damaged, with the reason in "damaged"). */
void petrid_card_write_json(const petrid_card *c, FILE *f);
/* The card's records alone, as members of an object the caller writes:
 * "omega_ranking", "curve", "not_stored" and, when damaged, "damaged". */
void petrid_card_records_json(const petrid_card *c, FILE *f);
/* Both, for a dashboard: 0, Q_ENOTFOUND (nothing written), Q_ECORRUPT
 * when a card record is damaged (the card is written, err says which),
 * another store error. f may be an open_memstream FILE. */
int petrid_card_json(q_txn *t, const char *id, FILE *f, char *err, size_t errlen);

#endif
