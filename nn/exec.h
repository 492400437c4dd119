/* exec.h - the executor's state (k_exec.c), kept apart from the net it
 * runs: the net owns the graph, the plan and the arenas of parameters and
 * activations; the executor owns its threads' scratch, the per-thread
 * gradient buffers, the reductions of batch norm, the fusions it decided
 * for the net and the schedule of the running pass. One allocation, sized
 * and carved by the same walk of the plan (exec_layout). */
#ifndef NN_EXEC_H
#define NN_EXEC_H

#include "nn_impl.h"

typedef struct nn_exec {
	int nthreads;      /* at most the planned batch */
	int rows;          /* rows of the last forward */
	int want_dinput;   /* compute the input gradient (nn_net_want_dinput) */
	/* decided once per net */
	int *fuse;         /* per node: bn -> id of the relu its forward also computes, else -1;
			    * relu -> id of that bn, else -1 */
	int *bwdfuse;      /* per node: 1 for such a bn/relu pair whose backward runs as one */
	int *poolfuse;     /* per node: bn -> id of a 2x2 max pool of its fused relu, computed in
			    * the same pass, else -1; that pool -> id of the bn, else -1 */
	int *assign;       /* per node: 1 when its single consumer stores (not adds) its output
			    * gradient, so it is not zeroed first */
	/* buffers */
	float *scratch;    /* [nthreads][scratch_per_thread]: kernel scratch (im2col, packing) */
	size_t scratch_per_thread;
	float *tgrad;      /* (nthreads - 1) x nparams: gradients of threads 1.. */
	double *red;       /* [2][nthreads][3 maxc]: batch-norm reductions */
	int maxc;          /* most channels of a batch-norm node */
	float *linwt;      /* [2][maxwt]: transposed linear weights, shared by the threads */
	size_t maxwt;
	float *bnp;        /* [nthreads][nbnp]: per-thread bn parameters, 3 c per bn node */
	size_t nbnp;
	int *bnoff;        /* per node: offset of its bn parameters in a thread's block */
	float *ccache;     /* [nthreads][nccache]: conv caches (nn_k_conv_cache) */
	size_t nccache;
	int *ccoff;        /* per node: offset of its conv cache in a thread's block */
	int *grad;         /* per node, set by each backward: GRAD_RUN when its backward runs (it
			    * has parameters that move, or an input that needs a gradient),
			    * GRAD_ZERO when its output gradient is written, so zeroed first */
	int *live;         /* per node, set by each forward: 1 when the output depends on it, so
			    * it is computed (and, training, its backward may run) */
	int *sched;        /* [4 n]: the current pass's schedule */
	void *mem;         /* the one allocation all of the above live in */
	size_t bytes;
} nn_exec;

/* bytes nn_exec_new would allocate for net on nthreads threads */
size_t nn_exec_bytes(const nn_net *net, int nthreads);
/* the executor of a planned net (its plan and arenas' sizes set); NULL when
 * out of memory. Freed with nn_exec_free. */
nn_exec *nn_exec_new(const nn_net *net, int nthreads);
void nn_exec_free(nn_exec *e);
/* one OpenMP region per pass, the batch split over threads; nn_forward and
 * nn_backward call these */
const float *nn_exec_forward(nn_net *net, const float *x, int rows, int train);
void nn_exec_backward(nn_net *net, const float *dlogits);

#endif
