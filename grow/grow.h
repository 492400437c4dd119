/* grow.h - petri's forward growth (Petridish): seed networks, candidates
 * (weak learners) behind stop-gradient/stop-forward edges, L1 winner
 * selection, zero-gated children warm-started from their parent. */
#ifndef GROW_H
#define GROW_H

#include "nnio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors: -400..-499 (nn has -100..-199, queue -200.., frontier
 * -300.., the daemon -500..) ----
 * Functions that can fail return 0, a GROW_E* code for what grow itself
 * refuses, or the NN_E* code of the nn call that failed (NN_ESTOP when
 * training was stopped, NN_ENAN when it diverged, ...), passed on as it is.
 * grow_strerror() names both. */
enum {
	GROW_OK = 0,
	GROW_EINVAL = -400,   /* bad argument or option (seed sizes, op set, targets) */
	GROW_ENOMEM = -401,   /* allocation failed */
	GROW_ETOOMANY = -402, /* over a real limit: more winners on one target than a
				 concat takes (NN_MAXIN), or a caller's array too small */
	GROW_ENOTARGET = -403 /* no growth target, or a target with no layer to grow from */
};
const char *grow_strerror(int err);

/* ---- seed networks ---- */
typedef struct {
	int filters; /* F: stem channels (default 8) */
	int stages;  /* S (default 3) */
	int blocks;  /* B seed blocks per stage (default 1) */
} grow_seed_opts;

void grow_seed_defaults(grow_seed_opts *o);
/* Image seed: stem conv3x3 -> BN (F channels); S stages of B blocks
 * (block = sep3x3(x) + x), stages separated by reductions (stride 2,
 * channels x2: sep3x3 stride 2 + factorized reduction); ReLU, global average
 * pool, linear. Inputs with H = W = 1 (tabular) get an MLP-like seed: stem
 * conv1x1 -> BN, blocks proj(proj(x)) + x, no reductions. GROW_EINVAL for
 * sizes out of range (1 <= F <= 4096, 1 <= S <= 8, B >= 0). */
int grow_seed(nn_graph *g, nn_shape in, int classes, const grow_seed_opts *o);

/* ---- candidate ops: append-only ids, stored in job records ---- */
enum grow_op {
	GROW_OP_SEP3 = 0,  /* sep conv 3x3 (two reps) */
	GROW_OP_SEP5 = 1,  /* sep conv 5x5 */
	GROW_OP_DIL3 = 2,  /* dilated sep conv 3x3, dilation 2 (one rep) */
	GROW_OP_DIL5 = 3,  /* dilated sep conv 5x5, dilation 2 */
	GROW_OP_MAX3 = 4,  /* max pool 3x3 stride 1 */
	GROW_OP_AVG3 = 5,  /* avg pool 3x3 stride 1 */
	GROW_OP_IDENT = 6, /* identity */
	GROW_OP__COUNT
};
#define GROW_OPS_ALL ((1u << GROW_OP__COUNT) - 1)
const char *grow_op_name(int op);
int grow_op_from_name(const char *name); /* -1 when unknown */
/* Parse "sep3x3,maxpool3x3,..." (or "all") into a bit set; GROW_EINVAL on an
 * unknown name or an empty set. */
int grow_ops_parse(const char *list, unsigned *set);

typedef struct {
	int targets;      /* targets per candidate job (default 1; at most the graph's) */
	int window;       /* layers before the target that may be inputs (default 3) */
	int max_inputs;   /* at most I inputs, sampled from the window (default 3);
			     every (input, op) pair is kept, however many */
	unsigned ops;     /* set of GROW_OP_* (default all) */
	float lambda;     /* L1 weight on omega; <= 0 means 0.01 / pairs (default) */
	int k;            /* winners per target (default 3) */
	float threshold;  /* a winner's |omega| must exceed this (default 1e-3) */
	int random;       /* random-growth baseline: winners drawn at random */
	uint64_t seed;
	int eval_rows;    /* the candidate job measures the parent after joint
			     training and the child at step 0 on the first
			     eval_rows validation rows (0: all; default 1024) */
	int frozen;       /* 1: the parent's weights stay as they are while the
			     candidates train, so its weight updates and its
			     backward below the targets are skipped; 0: joint
			     training, the parent trains too (default 0) */
	float narrow_at;  /* after this fraction of its steps, a candidate job
			     keeps on each target only its narrow_keep pairs of
			     largest |omega|: the others are switched off (omega
			     0, frozen) and cost nothing from then on (0: never;
			     default 0.5) */
	int narrow_keep;  /* pairs kept per target (default 2k) */
} grow_opts;
void grow_opts_defaults(grow_opts *o);

/* One (input, op) pair of a candidate. */
typedef struct {
	int target, input, op;
	int gate;         /* node id of its omega (a NN_OP_GATE) in the candidate graph */
	int first, last;  /* its branch nodes: ids first..last (op and resizing) */
	float omega;      /* read back after training; a dropped pair's at the
			     step it was dropped (0 when that is not known:
			     the job resumed after it) */
	int dropped;      /* switched off before the end of training: never a
			     winner, ranked below every pair that was not */
} grow_pair;

/* A parent with candidates attached. The parent's nodes keep their ids
 * [0, parent_n); a candidate's nodes are appended and marked NN_ROLE_CAND.
 * Inputs reach a candidate through stop-gradient, the candidate reaches its
 * target through stop-forward: the parent computes exactly what it did.
 * targets and pairs are malloc'd and owned: grow_cand_free() frees them. */
typedef struct {
	nn_graph g;        /* parent + candidates */
	nn_graph parent;   /* the parent as it was */
	int parent_n;
	int ntargets;
	int *targets;      /* ntargets node ids, in id order when chosen */
	int npairs;
	grow_pair *pairs;  /* npairs, grouped by target */
} grow_cand;

/* Growth targets of a graph (block ends and reductions, in id order): returns
 * how many there are, and writes the first min(count, max) to out (out may
 * be NULL when max is 0). */
int grow_targets(const nn_graph *g, int *out, int max);
/* Build a candidate: choose targets spread over stages and inputs from each
 * target's window (seeded), or use the given targets when ntargets > 0
 * (distinct node ids, any number). A target's pairs are summed by one sum
 * node, or a tree of them beyond NN_MAXIN pairs. On failure c is freed. */
int grow_candidate(const nn_graph *parent, const grow_opts *o, const int *targets, int ntargets,
		   grow_cand *c, char *err, size_t errlen);
void grow_cand_free(grow_cand *c);
/* Read omega of every pair from a net planned from c->g. */
void grow_read_omegas(grow_cand *c, nn_net *net);
/* Winners: per target, the top k pairs by |omega| above the threshold (or k
 * random pairs in the baseline), of the pairs not dropped. Returns the count, idx gets pair indices;
 * GROW_ETOOMANY when more than max winners would not fit in idx (max =
 * c->npairs always suffices), GROW_ENOMEM. */
int grow_select(const grow_cand *c, const grow_opts *o, int *idx, int max);
/* Child: per target, the winners' branches (with their trained weights)
 * concatenated -> ReLU -> conv1x1 -> BN -> gate (0) -> added to the target.
 * Other weights come from the candidate net as they are. desc gets a
 * one-line description of what was grown. GROW_ETOOMANY when more than
 * NN_MAXIN winners target one layer (the inputs of one concat). */
int grow_child(const grow_cand *c, nn_net *cand_net, const int *win, int nwin, nn_model *child,
	       char *desc, size_t desclen, char *err, size_t errlen);

/* ---- places to grow in a foreign graph (mark.c) ----
 * A model built elsewhere has no growth roles. grow_mark gives an imported
 * one (m->imported, read from ONNX) block ends where its blocks end, at
 * least 2x2: residual adds, concatenations, squeeze-and-excitation
 * multiplies, channel shuffles, and linear bottlenecks (a BN after a 1x1
 * conv feeding the next conv); never an activation inside a block. The end
 * of the first conv's chain (conv, BN, activation) is the stem, strided
 * pools are reductions; a plain chain of convs has a block at every conv's
 * chain, and a net with no other target grows at its stem. warm (a
 * search's warm start): a model that still has no target gets one at every
 * sum and every batch norm. A model with targets is left as it is. */
int grow_mark(nn_model *m, int warm);
/* nn_model_load, then grow_mark: how a model to grow from is read. */
int grow_load(nn_model *m, const char *path, int warm, char *err, size_t errlen);

/* ---- jobs ---- */
/* What a candidate job did. pairs and win are malloc'd: free them with
 * grow_report_free(). */
typedef struct {
	int has_child;
	char desc[256];      /* what was grown, or why nothing was */
	int npairs;
	grow_pair *pairs;    /* all npairs pairs with omega, sorted by |omega| desc (the dropped after
				the others, NaN last, ties by target, input, op) */
	int nwin;
	int *win;            /* nwin indices into pairs[] */
	float parent_val_acc, parent_val_loss; /* parent after joint training */
	float child_val_acc0, child_val_loss0; /* the child before training (step 0):
						  the parent's function, so equal to the
						  two above; NAN without a child or val */
	double seconds;
} grow_report;
void grow_report_free(grow_report *rep);

/* Candidate job: attach a candidate to parent, train both jointly on train
 * (to: epochs or epoch_frac), select winners, build the child (not trained).
 * val is used to report the parent's validation metrics after joint
 * training, and the child's before any training of its own. rep is set from
 * the start (a previous report in it is not freed): free it with
 * grow_report_free() whatever the result. */
int grow_run_candidate(const nn_model *parent, const nn_data *train, const nn_data *val, const grow_opts *go,
		       const nn_train_opts *to, nn_model *child, grow_report *rep, char *err, size_t errlen);
/* Child job: train a child (warm start from its weights), then fill its
 * metrics (val on val, test on test when given) and costs. With neither
 * epoch_frac nor epochs above 0 nothing is trained: the model is only
 * evaluated (a trained model given to a search with --from). */
int grow_train_child(nn_model *child, const nn_data *train, const nn_data *val, const nn_data *test,
		     const nn_train_opts *to, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
