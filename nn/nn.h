/* nn.h - petri's CPU training engine for DAG convnets.
 *
 * A network is a graph (nn_graph): a plain array of nodes, each an op with
 * input node ids and a few typed params. Node ids are positions in that
 * array and never change once a node exists; growth only appends nodes.
 *
 * Planning comes before allocation: nn_net_create() checks the graph (unknown
 * op, bad input id, cycle, shape mismatch), computes every shape, the
 * parameter and activation bytes, and only then allocates four flat arenas:
 * parameters, gradients, optimizer state and activations. Tensors are
 * offsets into them. Layout is NCHW float32 throughout.
 *
 * Every function returns 0 or a negative NN_E* code; details of the last
 * error go to the caller's char buffer where one is taken.
 *
 * Threading: OpenMP on outer loops inside ops, single-threaded BLAS inside
 * those regions; BLAS called outside parallel regions may use its own
 * (OpenMP) threads. nn_set_threads() sets both.
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ----
 * Every module has its own range of negative codes, so a code names its
 * module wherever it ends up: nn -100..-199, queue -200..-299, frontier
 * -300..-399, grow -400..-499, daemon -500..-599. nn_strerror() names the
 * NN_E* codes. */
enum {
	NN_OK = 0,
	NN_EINVAL = -100,  /* bad argument or option */
	NN_ESHAPE = -101,  /* shapes do not fit */
	NN_ECYCLE = -102,  /* graph has a cycle */
	NN_EOP = -103,     /* unknown op */
	NN_ENOMEM = -104,  /* allocation failed or plan too large */
	NN_EIO = -105,     /* file could not be read or written */
	NN_EFORMAT = -106, /* file content is malformed */
	NN_ENAN = -107,    /* loss became NaN or diverged */
	NN_ESTOP = -108,   /* stopped by the caller's stop callback */
	NN_EVERSION = -109 /* file written by a newer format version */
};
const char *nn_strerror(int err);
/* printf into a caller's error buffer (NULL or 0 length: nothing) */
void nn_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* labels are class numbers 0 .. NN_MAX_CLASSES - 1 */
#define NN_MAX_CLASSES 1000

typedef struct { int n, c, h, w; } nn_shape;

static inline size_t nn_shape_numel(nn_shape s)
{
	return (size_t)s.n * s.c * s.h * s.w;
}

/* ---- ops: append-only ids, stored in model files, never renumbered ---- */
enum nn_op {
	NN_OP_INPUT = 0,    /* the network input x (one per graph) */
	NN_OP_CONV = 1,     /* y = W * x (+ b); k, stride, pad, dil, groups, cout */
	NN_OP_BN = 2,       /* y = gamma (x - mu) / sqrt(var + eps) + beta */
	NN_OP_RELU = 3,     /* y = max(x, 0) */
	NN_OP_MAXPOOL = 4,  /* y = max over the in-bounds k x k window; stride, pad (or pads), ceil_mode */
	NN_OP_AVGPOOL = 5,  /* y = mean over the in-bounds part of the k x k window (count_pad: over
			     * the window within the padded input); stride, pad (or pads), ceil_mode */
	NN_OP_IDENTITY = 6, /* y = x */
	NN_OP_FACTRED = 7,  /* y = concat(W1 x[2i,2j], W2 x[2i+1,2j+1]); cout */
	NN_OP_SUM = 8,      /* y = sum_i x_i (N inputs of one shape) */
	NN_OP_CONCAT = 9,   /* y = concat over channels of x_i */
	NN_OP_GATE = 10,    /* y = g x, g a trainable scalar (init p.init) */
	NN_OP_STOPGRAD = 11,/* y = x; dx = 0 */
	NN_OP_STOPFWD = 12, /* y = 0; dx = dy (no scaling) */
	NN_OP_GAP = 13,     /* y[n,c] = mean_hw x[n,c,h,w] */
	NN_OP_LINEAR = 14,  /* y = W flatten(x) + b; cout */
	NN_OP_CLIP = 15,    /* y = min(max(x, alpha), beta); ReLU6 is clip 0..6 */
	NN_OP_SIGMOID = 16, /* y = 1 / (1 + exp(-x)) */
	NN_OP_HSIGMOID = 17,/* y = max(0, min(1, alpha x + beta)) (PyTorch's: alpha 1/6, beta 1/2) */
	NN_OP_HSWISH = 18,  /* y = x relu6(x + 3) / 6 */
	NN_OP_SILU = 19,    /* y = x sigmoid(x) */
	NN_OP_MUL = 20,     /* y = x * s; s (input 1) of x's shape, or [n,c,1,1] broadcast over H, W */
	NN_OP_PAD = 21,     /* y = x with zeros around: p.pads top, left, bottom, right */
	NN_OP_SHUFFLE = 22, /* channel shuffle: y[:, i g + j] = x[:, j (C/g) + i], g = p.groups */
	NN_OP_SLICE = 23,   /* y = x[:, start : start + cout] (channels) */
	NN_OP__COUNT = 24
};
/* 1 when op is an id this build has an op for (ids may have gaps) */
int nn_op_known(int op);
const char *nn_op_name(int op);        /* "unknown" for an unknown id */
int nn_op_from_name(const char *name); /* -1 when unknown */

#define NN_MAXIN 64

/* node flags */
enum {
	NN_F_NOBIAS = 1,    /* conv/linear without bias */
	NN_F_NODECAY = 2,   /* no weight decay on this node's parameters */
	NN_F_FROZEN = 4     /* parameters do not move */
};

/* node roles, used by growth to find places to grow */
enum {
	NN_ROLE_NONE = 0,
	NN_ROLE_BLOCK_END = 1, /* end of a block: a growth target */
	NN_ROLE_STEM = 2,
	NN_ROLE_REDUCE = 3,    /* output of a stage reduction */
	NN_ROLE_HEAD = 4,
	NN_ROLE_CAND = 5,      /* part of a candidate (weak learner) */
	NN_ROLE_GROWN = 6      /* part of a grown layer */
};

typedef struct {
	int k, stride, pad, dil, groups; /* conv, pools; groups: shuffle too */
	int cout;                        /* conv, linear, factred, slice */
	float init;                      /* gate: initial value */
	float eps, momentum;             /* bn */
	float l1;                        /* L1 penalty on this node's params */
	float alpha, beta;               /* clip: bounds; hsigmoid: slope, offset */
	int pads[4];                     /* top, left, bottom, right: pad; pools with asymmetric
					  * padding (then pad is 0) */
	int ceil_mode;                   /* pools: output size rounded up (the last window may run
					  * past the input; one that would start in the bottom or
					  * right padding is dropped) */
	int count_pad;                   /* avg pool: padding counts in the divisor */
	int start;                       /* slice: first channel */
} nn_params;
/* a pool's padding, top, left, bottom, right: pads when any is set, else
 * pad on every side */
void nn_pool_pads(const nn_params *p, int pd[4]);

typedef struct {
	int op;
	int flags;
	int role, stage; /* role: NN_ROLE_*, stage: index of the network stage */
	int nin;
	int in[NN_MAXIN];
	nn_params p;
} nn_node;

/* A graph owns its node array. Plain value: copy with nn_graph_copy. */
typedef struct {
	nn_node *nodes;
	int n, cap;
	int output;   /* id of the node whose output is the logits */
	nn_shape in;  /* input shape with n = 1 */
	int classes;
} nn_graph;

void nn_graph_init(nn_graph *g, nn_shape in, int classes);
void nn_graph_free(nn_graph *g);
int nn_graph_copy(nn_graph *dst, const nn_graph *src);
/* Append a node; returns its id (>= 0) or NN_ENOMEM. */
int nn_add(nn_graph *g, int op, const int *in, int nin, nn_params p);

/* Builders: each appends nodes and returns the id of the last one. */
int nn_input(nn_graph *g);
int nn_conv(nn_graph *g, int x, int cout, int k, int stride, int pad, int dil, int groups, int bias);
int nn_bn(nn_graph *g, int x);
int nn_relu(nn_graph *g, int x);
int nn_pool(nn_graph *g, int op, int x, int k, int stride);
int nn_linear(nn_graph *g, int x, int cout);
int nn_gap(nn_graph *g, int x);
int nn_gate(nn_graph *g, int x, float init);
int nn_unary(nn_graph *g, int op, int x); /* identity, stopgrad, stopfwd */
int nn_sum(nn_graph *g, const int *in, int nin);
int nn_concat(nn_graph *g, const int *in, int nin);
/* clip (alpha, beta: bounds), sigmoid, hsigmoid (alpha, beta: slope,
 * offset), hswish, silu (alpha, beta unused) */
int nn_act(nn_graph *g, int op, int x, float alpha, float beta);
int nn_mul(nn_graph *g, int x, int s); /* x * s, s of x's shape or Cx1x1 */
/* Separable conv block: (ReLU, depthwise k x k dil, pointwise 1x1, BN) x reps.
 * reps 2 for "sep", 1 with dil 2 for "dil". Channels cin -> cout. */
int nn_sepconv(nn_graph *g, int x, int cin, int cout, int k, int dil, int stride, int reps);
/* Factorized reduction: ReLU, FACTRED (two shifted stride-2 1x1 paths), BN */
int nn_factred(nn_graph *g, int x, int cout);
/* 1x1 projection: ReLU, conv1x1, BN */
int nn_proj(nn_graph *g, int x, int cout);

/* Shapes (batch 1) of every node of a valid graph; out has g->n entries. */
int nn_graph_shapes(const nn_graph *g, nn_shape *out, char *err, size_t errlen);
/* Parameter and state float counts of a graph (planned at batch 1). */
int nn_plan_sizes(const nn_graph *g, size_t *np, size_t *ns);
/* classes of a graph whose class count is not known yet (an importer plans
 * shapes first): planning then checks only that the output is Cx1x1 */
#define NN_CLASSES_ANY (-1)
/* classes of a partial graph (an importer asking for the shapes so far):
 * planning checks nothing about the output */
#define NN_CLASSES_NONE (-2)

/* Reference nets: "mlp", "cnn-small", "cnn-mid". */
int nn_arch(nn_graph *g, const char *name, nn_shape in, int classes);

/* ---- planned, allocated network ---- */
typedef struct nn_net nn_net;

/* Plan and allocate for batch size n. err/errlen receive a message naming
 * the node and what is wrong. The graph is copied. */
int nn_net_create(nn_net **out, const nn_graph *g, int batch, char *err, size_t errlen);
void nn_net_free(nn_net *net);
const nn_graph *nn_net_graph(const nn_net *net);
nn_shape nn_net_shape(const nn_net *net, int node); /* shape at the planned batch */
int nn_net_batch(const nn_net *net);
/* threads a pass of the net runs on: nn_get_threads() of the thread that
 * created it, at most the batch */
int nn_net_threads(const nn_net *net);

/* Parameters: one flat float array; node i owns [off, off+len). Batch-norm
 * running statistics live in a second array (state), not trained. */
size_t nn_net_nparams(const nn_net *net);
float *nn_net_params(nn_net *net);
float *nn_net_grads(nn_net *net);
size_t nn_net_nstate(const nn_net *net);
float *nn_net_state(nn_net *net);
void nn_net_param_slice(const nn_net *net, int node, size_t *off, size_t *len);
void nn_net_state_slice(const nn_net *net, int node, size_t *off, size_t *len);
/* Freeze a node of the net (NN_F_FROZEN: its parameters no longer move)
 * or let it move again. A frozen gate whose weight is 0 is switched off:
 * what feeds it alone is then computed neither forward nor backward. */
void nn_net_freeze(nn_net *net, int node, int frozen);
/* Initialize parameters (He normal for conv/linear, BN gamma 1 beta 0,
 * gates p.init, running var 1) from seed. */
void nn_net_init(nn_net *net, uint64_t seed);
/* Copy parameters and state of every node of src whose id exists in dst
 * with the same op and the same slice lengths. Returns nodes copied. */
int nn_net_copy_weights(nn_net *dst, const nn_net *src);

/* Forward on x (batch rows at most the planned batch; rows = actual).
 * train: batch statistics for BN and running-stat updates. Returns the
 * logits pointer (rows x classes) owned by the net. */
const float *nn_forward(nn_net *net, const float *x, int rows, int train);
/* Node output after the last forward. */
const float *nn_net_out(const nn_net *net, int node);
/* Backward from dlogits (rows x classes); gradients accumulate (+=) into
 * nn_net_grads; call nn_zero_grad first. */
void nn_backward(nn_net *net, const float *dlogits);
void nn_zero_grad(nn_net *net);
/* Gradient w.r.t. the input after nn_backward (rows x C x H x W), computed
 * only when asked for with nn_net_want_dinput(net, 1) (training does not
 * need it: the first conv or linear layer then skips its data gradient). */
void nn_net_want_dinput(nn_net *net, int on);
const float *nn_net_dinput(const nn_net *net);

/* Softmax cross-entropy: mean loss over rows; dlogits (may be NULL) gets the
 * gradient of the mean loss. correct (may be NULL) counts argmax hits. */
float nn_softmax_ce(const float *logits, const int *labels, int rows, int classes,
		    float *dlogits, int *correct);

/* ---- instruction sets ----
 * The hot kernels are built once per instruction set (generic C, AVX2+FMA,
 * AVX-512) and the best one the CPU has is chosen on first use; the
 * environment variable PETRI_ISA (generic, avx2, avx512) forces a lower one.
 * nn_isa_init applies PETRI_ISA now and returns an error naming a bad or
 * unsupported value (call it first to report that cleanly; otherwise the
 * first kernel call exits with the message). */
int nn_isa_init(char *err, size_t errlen);
int nn_isa_set(const char *name, char *err, size_t errlen);
int nn_isa_supported(const char *name);
const char *nn_isa_name(void);      /* the one in use */
const char *nn_isa_list(void);      /* the ones this CPU runs, best first, space-separated */
/* measured FMA peak of the ISA in use on `threads` threads, GFLOP/s */
double nn_isa_peak_gflops(int threads, double seconds);

/* ---- threads ---- */
void nn_set_threads(int n);
/* the calling thread's own count (a worker's), over nn_set_threads' for
 * the nets it creates from now on; BLAS threads stay as they are */
void nn_set_thread_threads(int n);
int nn_get_threads(void);

/* ---- clock ---- */
double nn_now(void); /* monotonic seconds since an arbitrary start */

/* ---- random numbers: splitmix64 state ---- */
typedef struct { uint64_t s; } nn_rng;
uint64_t nn_rng_u64(nn_rng *r);
float nn_rng_uniform(nn_rng *r); /* [0,1) */
float nn_rng_normal(nn_rng *r);

/* ---- data ----
 * The input convention: a network's inputs are the values a data file
 * holds times an input scale, and nothing else (no mean, no deviation).
 * Each format has a default: IDX bytes times 1/255 (so [0, 1]), CSV values
 * as written (times 1). A model records the scale it was trained with
 * (nn_lineage.input_scale in nnio.h), so the same images in either format
 * reach it as the same inputs when the scale is given. */
#define NN_SCALE_IDX (1.0 / 255.0)
#define NN_SCALE_CSV 1.0
typedef struct {
	int n, c, h, w, classes;
	float *x;   /* n x c x h x w: the file's values times scale */
	int *y;     /* n labels in [0, classes) */
	double scale; /* the input scale applied (> 0) */
} nn_data;

/* Load IDX image+label files (plain or .gz), bytes times NN_SCALE_IDX. */
int nn_data_load_idx(nn_data *d, const char *images, const char *labels, char *err, size_t errlen);
/* Load CSV: label first, then c*h*w numeric features, as written
 * (NN_SCALE_CSV). shape "CxHxW" or "N". */
int nn_data_load_csv(nn_data *d, const char *path, const char *shape, char *err, size_t errlen);
/* Load a data set by spec: a directory holding Fashion-MNIST style IDX files
 * (split "train" or "test"), or a CSV file (shape needed), with the default
 * scale of its format. */
int nn_data_load(nn_data *d, const char *spec, const char *split, const char *shape, char *err, size_t errlen);
/* The same with an input scale: a number > 0 within float range, or 0 for
 * the format's default; NN_EINVAL for another, NN_EFORMAT when a value
 * times the scale is not a finite float. Values are multiplied in float
 * (float(value) * float(scale)), so IDX bytes and the same bytes in a CSV
 * file give the same inputs. */
int nn_data_load_scaled(nn_data *d, const char *spec, const char *split, const char *shape, double scale, char *err,
			size_t errlen);
/* 1 when s can be an input scale: finite and > 0 */
int nn_scale_ok(double s);
/* s for people: "1/255", "1", another number ("%.9g"), or "unknown" when
 * it cannot be a scale (0: not recorded); returns buf */
const char *nn_scale_str(double s, char *buf, size_t len);
void nn_data_free(nn_data *d);
/* 0 when path is a regular file; else NN_EIO with a message (a pipe or a
 * device given as an input would block or never end) */
int nn_check_regular(const char *path, char *err, size_t errlen);
/* Deterministic split of a training set into train and validation parts:
 * a fixed permutation (independent of the training seed); nval rows. */
/* A 64-bit fingerprint of a data set's contents: shape, rows, classes,
 * every label and every input value (as stored, after scaling). Two loads
 * of the same file with the same scale give the same fingerprint. */
uint64_t nn_data_fingerprint(const nn_data *d);
/* Training data must hold every class from 0 to its largest label: a
 * label number that never occurs is a gap (labels 0 and 5 alone would
 * build a 6-class model). 0, or NN_EFORMAT naming the first missing class. */
int nn_data_check_classes(const nn_data *d, const char *what, char *err, size_t errlen);
int nn_data_split(const nn_data *all, int nval, nn_data *train, nn_data *val);
/* Subset of the first n rows (copy). */
int nn_data_head(const nn_data *d, int n, nn_data *out);
#define NN_DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

/* ---- costs ---- */
typedef struct {
	uint64_t params;       /* trainable parameters */
	uint64_t macs;         /* multiply-adds per image, inference */
	uint64_t act_bytes_1;  /* peak live activation bytes, batch 1 inference */
	uint64_t act_bytes_train; /* activation bytes for training at planned batch */
	double latency_ms;     /* measured per image at batch 1 (0 when not measured) */
} nn_cost;
int nn_graph_cost(const nn_graph *g, int batch, nn_cost *c, char *err, size_t errlen);
/* Measure latency at batch 1: median over reps forward passes. */
int nn_measure_latency(const nn_graph *g, const float *params, const float *state, int reps, double *ms);

/* ---- training ---- */
/* A run's state between two steps: where a checkpoint resumes it. The
 * arrays are the net's parameters, momentum and state (BN statistics). */
typedef struct {
	long step;               /* steps done */
	size_t nparams, nstate;  /* the net's: a state of another net is refused */
	const float *params, *mom, *state;
} nn_train_state;

typedef struct {
	int epochs;
	double epoch_frac;   /* if > 0, train this fraction of one epoch in total */
	int batch;
	float lr, momentum, wd, clip; /* clip: global grad norm, 0 = none */
	int cosine;          /* cosine decay to 0 over the run */
	int augment;         /* random crop + horizontal flip */
	int crop_pad;        /* pad for random crop (2..4) */
	int flip;            /* horizontal flip on (1) or off (0) */
	uint64_t seed;
	int verbose;         /* 0 quiet, 1 progress */
	int (*stop)(void *ud); /* nonzero: stop between steps */
	void *stop_ud;
	/* called after every step; may be NULL */
	void (*on_step)(void *ud, long step, long steps, float loss, double img_s);
	void *step_ud;
	/* resume at resume->step with its weights and momentum (NULL: from
	 * step 0); the data order and augmentation of a step depend on (seed,
	 * step) alone, so a resumed run goes on as it would have */
	const nn_train_state *resume;
	/* every save_every_s seconds (> 0) between steps, and not after the
	 * last: the run's state (net, steps done) for a checkpoint */
	double save_every_s;
	void (*save)(void *ud, const nn_net *net, long step, long steps);
	void *save_ud;
} nn_train_opts;
void nn_train_defaults(nn_train_opts *o);

typedef struct {
	float train_loss, train_acc;
	double train_img_s;
	long steps;
	double seconds;
} nn_train_result;

/* The net's state after step steps done, for a checkpoint: pointers into
 * the net (parameters, momentum, BN statistics), valid while it lives. */
void nn_net_train_state(const nn_net *net, long step, nn_train_state *st);
/* Optimizer state lives in the net's optimizer arena. */
int nn_train(nn_net *net, const nn_data *train, const nn_train_opts *o, nn_train_result *r);
/* One SGD step with the given lr on the current gradients (clip, wd, L1,
 * momentum). Exposed for growth, which trains parent and candidate jointly. */
void nn_sgd_step(nn_net *net, float lr, float momentum, float wd, float clip);
/* Evaluate (eval mode) on a data set: mean loss and accuracy. */
int nn_evaluate(nn_net *net, const nn_data *d, float *loss, float *acc);
/* Fill a batch (rows) with optional augmentation. idx: row indices. */
void nn_make_batch(const nn_data *d, const int *idx, int rows, int augment, int pad, int flip,
		   nn_rng *rng, float *x, int *y);

#ifdef __cplusplus
}
#endif
#endif
