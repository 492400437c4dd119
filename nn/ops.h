/* ops.h - the op table: one entry per op id of nn.h, holding all that
 * planning, parameter init, the executor and the optimizer need to know
 * about an op. A new op is an entry in ops.c and its functions in the
 * ops_*.c file of its family; nothing else switches over op ids (the
 * executor's bn/relu/pool fusions aside).
 *
 * Op functions run one node on images [n0, n1) of a pass (nn_run); they
 * are single-threaded, the executor splits the batch over its threads. */
#ifndef NN_OPS_H
#define NN_OPS_H

#include "exec.h"

/* one node's share of a pass: images [n0, n1) of rows, on thread t */
typedef struct nn_run {
	nn_net *net;
	const nn_node *d;
	const nn_plan *p;
	int id, rows, n0, n1, t;
	int first;          /* the thread's first chunk of the pass: caches are filled */
	nn_shape xs, ys;    /* input 0 and output, n = rows */
	const float *x;     /* input 0's output */
	float *y;           /* output */
	const float *w;     /* parameters */
	float *scratch;     /* this thread's scratch (nn_op_def.scratch floats) */
	float *cache;       /* this node's and thread's cache (nn_op_def.cache floats) */
	const float *xin;   /* forward of the input node: the network input */
	const float *wt;    /* forward of an NN_OPF_WT op: W^T, or NULL for at most NN_LIN_DOT_ROWS rows */
	const float *dy;    /* backward: output gradient */
	float *dx;          /* backward: input 0's gradient */
	float *dxk;         /* dx, or NULL where no one wants it (the network input) */
	float *dw;          /* backward: this thread's gradients of the parameters */
	int assign;         /* backward: store dx, do not add (input 0's only consumer) */
} nn_run;

/* output, output gradient, shape and store flag of input j */
static inline const float *nn_run_in(const nn_run *r, int j) { return r->net->act + r->net->plan[r->d->in[j]].out; }
static inline float *nn_run_din(const nn_run *r, int j) { return r->net->act + r->net->plan[r->d->in[j]].dout; }
static inline nn_shape nn_run_inshape(const nn_run *r, int j) { return r->net->plan[r->d->in[j]].shape; }
static inline int nn_run_assign(const nn_run *r, int j) { return r->net->ex->assign[r->d->in[j]]; }
/* saved scratch of the node (bn statistics, pool argmax) */
static inline float *nn_run_save(const nn_run *r) { return r->net->act + r->p->save; }
/* bias and its gradient of an NN_OPF_BIAS op: the last cout parameters */
static inline const float *nn_run_bias(const nn_run *r)
{
	return r->d->flags & NN_F_NOBIAS ? NULL : r->w + (r->p->plen - r->d->p.cout);
}
static inline float *nn_run_dbias(const nn_run *r)
{
	return r->d->flags & NN_F_NOBIAS ? NULL : r->dw + (r->p->plen - r->d->p.cout);
}

enum {
	NN_OPF_STORE = 1,  /* stores (not adds) the gradient of an input it alone consumes */
	NN_OPF_HEAVY = 2,  /* always worth all threads */
	NN_OPF_MACS = 4,   /* worth all threads when rows x MACs > 2^20 */
	NN_OPF_DECAY = 8,  /* parameters are weights under weight decay (but a bias) */
	NN_OPF_BIAS = 16,  /* the last cout parameters are a bias, unless NN_F_NOBIAS */
	NN_OPF_BN = 32,    /* runs as the executor's batch-norm phases (stats, combine, apply) */
	NN_OPF_WT = 64     /* forward takes W^T, made by a barrier item before it */
};

typedef struct nn_op_def {
	const char *name;  /* as in model files and messages */
	int nin;           /* exact input count; -1: one or more */
	unsigned flags;    /* NN_OPF_* */
	/* pl[id]: shape at batch, plen, slen, nsave, MACs per image and (conv)
	 * algo from the inputs' plans; x is input 0's shape. NN_ESHAPE and a
	 * message naming the node on bad params. */
	int (*plan)(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
	/* parameters w and state s of a planned node; NULL: nothing to set */
	void (*init)(const nn_node *d, const nn_plan *p, nn_shape x, float *w, float *s, nn_rng *r);
	/* per-thread floats: scratch for one call, cache kept by the node
	 * across a pass; NULL: none */
	size_t (*scratch)(const nn_node *d, const nn_plan *p, nn_shape x, int batch);
	size_t (*cache)(const nn_node *d, const nn_plan *p, nn_shape x);
	void (*fwd)(const nn_run *r);  /* NULL for NN_OPF_BN (phases in k_exec.c) */
	void (*bwd)(const nn_run *r);  /* NULL: no gradient to pass (input, stopgrad) or NN_OPF_BN */
} nn_op_def;

extern const nn_op_def nn_ops[NN_OP__COUNT];

/* planning helpers (plan.c) */
#define NN_MAX_DIM (1 << 24) /* channels, height or width of any tensor */
int nn_conv_out(int h, int k, int s, int pad, int dil);
/* weights w[0, nw) He normal (or uniform +-1/sqrt(fan_in)), w[nw, plen) 0 */
void nn_init_weights(float *w, size_t nw, size_t plen, size_t fan_in, int uniform, nn_rng *r);

/* ops_elem.c: input, relu, identity, stopgrad, stopfwd, sum, concat, gate,
 * clip, sigmoid, hsigmoid, hswish, silu, mul */
int nn_plan_input(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
int nn_plan_same(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
int nn_plan_merge(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
int nn_plan_gate(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_init_gate(const nn_node *d, const nn_plan *p, nn_shape x, float *w, float *s, nn_rng *r);
void nn_fwd_input(const nn_run *r);
void nn_fwd_relu(const nn_run *r);
void nn_bwd_relu(const nn_run *r);
void nn_fwd_copy(const nn_run *r);   /* identity, stopgrad */
void nn_fwd_zero(const nn_run *r);   /* stopfwd */
void nn_bwd_pass(const nn_run *r);   /* identity, stopfwd: dx (+)= dy */
void nn_fwd_sum(const nn_run *r);
void nn_bwd_sum(const nn_run *r);
void nn_fwd_concat(const nn_run *r);
void nn_bwd_concat(const nn_run *r);
void nn_fwd_gate(const nn_run *r);
void nn_bwd_gate(const nn_run *r);
/* clip, sigmoid, hsigmoid, hswish, silu: one switch over the op per call */
int nn_plan_act(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_fwd_act(const nn_run *r);
void nn_bwd_act(const nn_run *r);
int nn_plan_mul(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_fwd_mul(const nn_run *r);
void nn_bwd_mul(const nn_run *r);
/* ops_conv.c: conv, factorized reduction */
int nn_plan_conv(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_init_conv(const nn_node *d, const nn_plan *p, nn_shape x, float *w, float *s, nn_rng *r);
size_t nn_scratch_conv(const nn_node *d, const nn_plan *p, nn_shape x, int batch);
size_t nn_cache_conv(const nn_node *d, const nn_plan *p, nn_shape x);
void nn_fwd_conv(const nn_run *r);
void nn_bwd_conv(const nn_run *r);
int nn_plan_factred(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_init_factred(const nn_node *d, const nn_plan *p, nn_shape x, float *w, float *s, nn_rng *r);
size_t nn_scratch_factred(const nn_node *d, const nn_plan *p, nn_shape x, int batch);
void nn_fwd_factred(const nn_run *r);
void nn_bwd_factred(const nn_run *r);
/* ops_linear.c */
int nn_plan_linear(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_init_linear(const nn_node *d, const nn_plan *p, nn_shape x, float *w, float *s, nn_rng *r);
size_t nn_scratch_linear(const nn_node *d, const nn_plan *p, nn_shape x, int batch);
void nn_fwd_linear(const nn_run *r);
void nn_bwd_linear(const nn_run *r);
/* ops_pool.c: max and average pool, global average pool */
int nn_plan_pool(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_fwd_pool(const nn_run *r);
void nn_bwd_pool(const nn_run *r);
int nn_plan_gap(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_fwd_gap(const nn_run *r);
void nn_bwd_gap(const nn_run *r);
/* ops_shape.c: pad, channel shuffle, channel slice */
#define NN_MAX_PAD (1 << 12) /* padding on one side, pad op and pools */
int nn_plan_pad(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_fwd_pad(const nn_run *r);
void nn_bwd_pad(const nn_run *r);
int nn_plan_shuffle(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_fwd_shuffle(const nn_run *r);
void nn_bwd_shuffle(const nn_run *r);
int nn_plan_slice(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_fwd_slice(const nn_run *r);
void nn_bwd_slice(const nn_run *r);
/* ops_norm.c: batch norm (its passes are the executor's phases) */
int nn_plan_bn(const nn_graph *g, int id, nn_plan *pl, nn_shape x, int batch, char *err, size_t errlen);
void nn_init_bn(const nn_node *d, const nn_plan *p, nn_shape x, float *w, float *s, nn_rng *r);

#endif
