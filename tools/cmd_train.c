/* cmd_train.c - petri commands on model files and data sets: train, eval,
 * predict, inspect, grow, bench, version. */
#include "cmds.h"
#include "grow.h"
#include "nn.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- options: ids of every option of these commands ---- */
enum {
	/* training (train_opts, seed_opts, io_opts) */
	O_ARCH, O_FROM, O_FRESH, O_OUT, O_SHAPE, O_EPOCHS, O_EPOCH_FRAC, O_BATCH, O_LR, O_MOMENTUM, O_WD, O_CLIP, O_SEED,
	O_NO_COSINE, O_NO_AUGMENT, O_NO_FLIP, O_CROP_PAD, O_VAL, O_THREADS, O_FILTERS, O_STAGES, O_BLOCKS, O_JSON,
	O_QUIET, O_INPUT_SCALE,
	/* grow */
	O_OPS, O_K, O_TARGETS, O_WINDOW, O_INPUTS, O_LAMBDA, O_THRESHOLD, O_RANDOM, O_CAND_EPOCHS, O_GROW_SEED, O_FROZEN, O_JOINT, O_NARROW_AT, O_NARROW_KEEP,
	/* predict, bench */
	O_ROWS, O_STEPS, O_INFER_BATCH, O_SGEMM, O_PEAK,
};

/* lines that stand in several tables */
#define SHAPE_OPT { "--shape", NULL, "CxHxW", O_SHAPE, "image shape of a CSV data set" }
#define THREADS_OPT { "--threads", NULL, "T", O_THREADS, "threads (default: every core)" }
#define SCALE_OPT { "--input-scale", NULL, "X", O_INPUT_SCALE, "inputs are the data's values times X, e.g. 1/255 " \
			  "(default: the model's, else 1/255 for IDX, 1 for CSV)" }
#define JSON_OPT { "--json", NULL, NULL, O_JSON, "one JSON object on standard output" }
#define ARCH_OPT { "--arch", NULL, "NAME", O_ARCH, "mlp, cnn-small, cnn-mid (default) or seed" }

const opt_spec train_options[] = {
	ARCH_OPT,
	{ "--from", NULL, "MODEL", O_FROM, "start from this model and its weights (not with --arch)" },
	{ "--fresh", NULL, NULL, O_FRESH, "with --from: new random weights, the architecture alone is kept (final training)" },
	{ "--epochs", NULL, "N", O_EPOCHS, "passes over the training data (default 1)" },
	{ "--epoch-frac", NULL, "F", O_EPOCH_FRAC, "train for F epochs, a fraction allowed (not with --epochs)" },
	{ "--batch", NULL, "N", O_BATCH, "images per step (default 128)" },
	{ "--lr", NULL, "X", O_LR, "learning rate (default 0.1), cosine schedule" },
	{ "--momentum", NULL, "X", O_MOMENTUM, "SGD momentum (default 0.9)" },
	{ "--wd", NULL, "X", O_WD, "weight decay (default 5e-4)" },
	{ "--clip", NULL, "X", O_CLIP, "gradient norm clip (default 5)" },
	{ "--seed", NULL, "S", O_SEED, "random seed (default 1)" },
	{ "--val", NULL, "N", O_VAL, "validation rows (default a tenth, 5000 at most; 0: none)" },
	{ "--no-cosine", NULL, NULL, O_NO_COSINE, "constant learning rate" },
	{ "--no-augment", NULL, NULL, O_NO_AUGMENT, "no random crops" },
	{ "--no-flip", NULL, NULL, O_NO_FLIP, "no horizontal flips (the default)" },
	{ "--crop-pad", NULL, "P", O_CROP_PAD, "padding of the random crops (default 1)" },
	OPT_LAST,
};

const opt_spec seed_options[] = {
	{ "--filters", NULL, "F", O_FILTERS, "channels of the first stage (default 8)" },
	{ "--stages", NULL, "S", O_STAGES, "stages, each halving H and W (default 3)" },
	{ "--blocks", NULL, "B", O_BLOCKS, "seed blocks per stage (default 1)" },
	OPT_LAST,
};

const opt_spec io_options[] = {
	SHAPE_OPT,
	SCALE_OPT,
	THREADS_OPT,
	{ "--out", "-o", "FILE", O_OUT, "write the result there (.onnx: ONNX)" },
	JSON_OPT,
	{ "--quiet", "-q", NULL, O_QUIET, "no progress on standard error" },
	OPT_LAST,
};

const opt_spec grow_options[] = {
	{ "--cand-epochs", NULL, "F", O_CAND_EPOCHS, "epochs of the candidate job (default 1)" },
	{ "--ops", NULL, "LIST", O_OPS, "candidate ops, comma-separated: sep3x3, sep5x5, dil3x3, dil5x5, "
					  "maxpool3x3, avgpool3x3, identity, all (default)" },
	{ "--k", NULL, "K", O_K, "winners kept (default 3)" },
	{ "--targets", NULL, "T", O_TARGETS, "layers grown at once (default 1)" },
	{ "--window", NULL, "W", O_WINDOW, "inputs come from the last W blocks (default 3)" },
	{ "--inputs", NULL, "I", O_INPUTS, "inputs per target at most (default 3)" },
	{ "--lambda", NULL, "X", O_LAMBDA, "L1 penalty on the candidate weights (default 0)" },
	{ "--threshold", NULL, "X", O_THRESHOLD, "|omega| a winner needs (default 0.001)" },
	{ "--random-growth", NULL, NULL, O_RANDOM, "winners drawn at random (the baseline)" },
	{ "--frozen-parent", NULL, NULL, O_FROZEN, "the parent's weights stay as they are while the candidates train "
						   "(faster; default: joint training)" },
	{ "--joint", NULL, NULL, O_JOINT, "the parent trains with the candidates (joint training)" },
	{ "--narrow-at", NULL, "F", O_NARROW_AT, "after this fraction of the candidate job, keep on each target only its "
						 "--narrow-keep pairs of largest |omega| (0: never; default 0.5)" },
	{ "--narrow-keep", NULL, "N", O_NARROW_KEEP, "pairs kept per target by --narrow-at (default 2k)" },
	{ "--grow-seed", NULL, "S", O_GROW_SEED, "targets and inputs drawn with seed S (default: --seed, which then "
						 "sets the data order alone)" },
	OPT_LAST,
};

/* what eval, predict and inspect use of the options above (they accept
 * all of them) */
const opt_spec eval_options[] = {
	SHAPE_OPT,
	SCALE_OPT,
	THREADS_OPT,
	JSON_OPT,
	OPT_LAST,
};

const opt_spec predict_options[] = {
	{ "--rows", NULL, "N", O_ROWS, "the first N test images only" },
	SHAPE_OPT,
	SCALE_OPT,
	THREADS_OPT,
	{ "--out", "-o", "FILE", O_OUT, "write the CSV there (default standard output)" },
	OPT_LAST,
};

const opt_spec inspect_options[] = {
	JSON_OPT,
	OPT_LAST,
};

const opt_spec bench_options[] = {
	ARCH_OPT,
	{ "--batch", NULL, "N", O_BATCH, "training batch (default 128)" },
	{ "--infer-batch", NULL, "N", O_INFER_BATCH, "inference batch (default 256)" },
	{ "--steps", NULL, "N", O_STEPS, "timed steps, the median counts (default 30)" },
	{ "--sgemm", NULL, NULL, O_SGEMM, "cblas_sgemm GFLOP/s at 2048x2048 instead" },
	{ "--peak", NULL, NULL, O_PEAK, "the measured vector FMA peak instead" },
	OPT_LAST,
};

const opt_spec version_options[] = {
	{ "--json", NULL, NULL, O_JSON, "one JSON object" },
	OPT_LAST,
};

/* the positional arguments */
typedef struct {
	const char *pos[8];
	int npos;
} args;

/* ---- common training options ---- */
typedef struct {
	const char *data, *arch, *from, *out, *shape;
	int json, quiet, threads, nval;
	int fresh;                /* --fresh: --from's architecture, new weights */
	int set_epochs, set_frac; /* which of the two was given */
	double scale;             /* --input-scale; 0: not given */
	nn_train_opts t;
	grow_seed_opts seed;
} train_cfg;

static void cfg_defaults(train_cfg *c)
{
	memset(c, 0, sizeof *c);
	nn_train_defaults(&c->t);
	grow_seed_defaults(&c->seed);
	c->arch = NULL;
	c->nval = -1;
	c->t.verbose = 1;
}

/* returns 1 when the option was one of ours */
static int cfg_opt(train_cfg *c, const opt_iter *it, int id)
{
	switch (id) {
	case O_ARCH: c->arch = it->val; break;
	case O_FROM: c->from = it->val; break;
	case O_FRESH: c->fresh = 1; break;
	case O_OUT: c->out = it->val; break;
	case O_SHAPE: c->shape = it->val; break;
	case O_EPOCHS: c->t.epochs = (int)opt_whole(it, 1, 100000), c->set_epochs = 1; break;
	case O_EPOCH_FRAC: c->t.epoch_frac = opt_real(it, 1e-6, 1e6), c->set_frac = 1; break;
	case O_BATCH: c->t.batch = (int)opt_whole(it, 1, 65536); break;
	case O_LR: c->t.lr = (float)opt_real(it, 0, 100); break;
	case O_MOMENTUM: c->t.momentum = (float)opt_real(it, 0, 1); break;
	case O_WD: c->t.wd = (float)opt_real(it, 0, 1); break;
	case O_CLIP: c->t.clip = (float)opt_real(it, 0, 1e9); break;
	case O_SEED: c->t.seed = (uint64_t)opt_whole(it, 0, 0x7fffffffL); break;
	case O_NO_COSINE: c->t.cosine = 0; break;
	case O_NO_AUGMENT: c->t.augment = 0; break;
	case O_NO_FLIP: c->t.flip = 0; break;
	case O_CROP_PAD: c->t.crop_pad = (int)opt_whole(it, 0, 16); break;
	case O_VAL: c->nval = (int)opt_whole(it, 0, 100000000); break;
	case O_THREADS: c->threads = (int)opt_whole(it, 1, 1024); break;
	case O_FILTERS: c->seed.filters = (int)opt_whole(it, 1, 4096); break;
	case O_STAGES: c->seed.stages = (int)opt_whole(it, 1, 8); break;
	case O_BLOCKS: c->seed.blocks = (int)opt_whole(it, 0, 64); break;
	case O_JSON: c->json = 1; break;
	case O_QUIET: c->quiet = 1; break;
	case O_INPUT_SCALE: c->scale = opt_ratio(it, 1e-12, 1e12); break;
	default: return 0;
	}
	return 1;
}

/* The command's options into c, or first into extra (which returns 1 when
 * the option was one of its own); positional arguments into a. */
static void parse(const cli_cmd *cmd, int argc, char **argv, args *a, train_cfg *c,
		  int (*extra)(const opt_iter *, int, void *), void *ud)
{
	opt_iter it;
	cmd_opts(&it, cmd, argc, argv);
	for (int k; (k = opt_next(&it)) != OPT_END;) {
		if (k == OPT_ARG) {
			if (a->npos == 8)
				die(2, "too many arguments");
			a->pos[a->npos++] = it.val;
		} else if (!(extra && extra(&it, k, ud)) && !cfg_opt(c, &it, k)) {
			fprintf(stderr, "petri %s: option %s has no handler\n", cmd->name, it.opt);
			abort();
		}
	}
	if (c->set_epochs && c->set_frac)
		die(2, "--epochs and --epoch-frac exclude each other");
	if (c->from && strcmp(cmd->name, "train"))
		die(2, "--from is an option of train; %s takes the model as its first argument", cmd->name);
	if (c->fresh && !c->from)
		die(2, "--fresh needs --from MODEL (the architecture to train from new weights)");
}

/* validation rows: --val N, or a tenth of the data (5000 from 50000 rows
 * on); a data set too small for a default split needs --val 0 */
static int val_rows(int nval, int n)
{
	if (nval < 0) {
		nval = n >= 50000 ? 5000 : n / 10;
		if (nval == 0)
			die(2, "%d rows are too few for a validation split (10 at least); --val 0 trains without one", n);
	}
	if (nval >= n)
		die(2, "--val %d leaves no training rows (%d in all)", nval, n);
	return nval;
}

/* scale: the input scale, 0 for the format's default */
static void load_data(const char *spec, const char *split, const char *shape, double scale, nn_data *d)
{
	char err[512];
	int rc = nn_data_load_scaled(d, spec, split, shape, scale, err, sizeof err);
	if (!rc && !strcmp(split, "train"))
		rc = nn_data_check_classes(d, spec ? spec : "the training data", err, sizeof err);
	if (rc)
		die(1, "%s", err);
}

/* The input scale for data given to model m (read from file): --input-scale
 * when given, with a warning when m was trained with another; else m's;
 * else 0, the data format's default (m's is unknown: an older file, or an
 * ONNX file without it). */
static double model_scale(const train_cfg *c, const nn_model *m, const char *file)
{
	double ms = m->lineage.input_scale;
	if (!nn_scale_ok(ms))
		return c->scale;
	if (!c->scale)
		return ms;
	if (c->scale != ms) {
		char a[32], b[32];
		fprintf(stderr, "petri: warning: %s was trained with --input-scale %s; --input-scale %s gives it other inputs\n",
			file, nn_scale_str(ms, a, sizeof a), nn_scale_str(c->scale, b, sizeof b));
	}
	return c->scale;
}

static void build_graph(train_cfg *c, const nn_data *d, nn_graph *g)
{
	nn_shape in = { 1, d->c, d->h, d->w };
	const char *arch = c->arch ? c->arch : "cnn-mid";
	int rc;
	if (!strcmp(arch, "seed"))
		rc = grow_seed(g, in, d->classes, &c->seed);
	else
		rc = nn_arch(g, arch, in, d->classes);
	if (rc)
		die(2, "unknown --arch '%s' (mlp, cnn-small, cnn-mid, seed)", arch);
}

/* ---- progress ---- */
typedef struct {
	int tty, quiet;
	double t0, last;
	long lastpct;
} progress;

static void on_step(void *ud, long step, long steps, float loss, double img_s)
{
	progress *p = ud;
	if (p->quiet)
		return;
	double t = nn_now();
	if (p->tty) {
		if (t - p->last < 0.2 && step != steps)
			return;
		p->last = t;
		double el = t - p->t0, eta = step ? el * (steps - step) / step : 0;
		int w = 30, f = (int)(w * step / steps);
		char bar[64];
		for (int i = 0; i < w; i++)
			bar[i] = i < f ? '#' : '.';
		bar[w] = 0;
		fprintf(stderr, "\r[%s] %ld/%ld  %.0f img/s  loss %.4f  ETA %.0fs   ", bar, step, steps, img_s, loss, eta);
		if (step == steps)
			fputc('\n', stderr);
	} else {
		long pct = 10 * step / steps;
		if (pct == p->lastpct && step != steps)
			return;
		p->lastpct = pct;
		fprintf(stderr, "step %ld/%ld  %.0f img/s  loss %.4f  %.0fs\n", step, steps, img_s, loss, t - p->t0);
	}
}

/* ---- train ---- */
int cmd_train(const cli_cmd *cmd, int argc, char **argv)
{
	args a = { { 0 }, 0 };
	train_cfg c;
	cfg_defaults(&c);
	parse(cmd, argc, argv, &a, &c, NULL, NULL);
	if (a.npos > 1)
		die(2, "train takes one data set, got %d arguments", a.npos);
	if (c.threads)
		nn_set_threads(c.threads);
	c.data = a.npos ? a.pos[0] : NULL;
	const char *in[2] = { c.data, c.from };
	out_guard(c.out, in, 2, NULL);
	char err[512];
	nn_model from;
	int have_from = 0;
	if (c.from) {
		if (c.arch)
			die(2, "--from and --arch exclude each other");
		if (grow_load(&from, c.from, 0, err, sizeof err))
			die(1, "%s", err);
		have_from = 1;
	}
	nn_data all, tr, va, te;
	double scale = have_from ? model_scale(&c, &from, c.from) : c.scale;
	load_data(c.data, "train", c.shape, scale, &all);
	load_data(c.data, "test", c.shape, scale, &te);
	if (te.c != all.c || te.h != all.h || te.w != all.w)
		die(1, "test split is %dx%dx%d but training split is %dx%dx%d", te.c, te.h, te.w, all.c, all.h, all.w);
	int nval = val_rows(c.nval, all.n);
	if (nn_data_split(&all, nval, &tr, &va))
		die(1, "out of memory splitting the data");
	if (te.classes > all.classes)
		all.classes = te.classes;
	tr.classes = va.classes = te.classes = all.classes;
	nn_graph g;
	nn_net *net;
	int rc;
	if (have_from) {
		if (from.g.in.c != all.c || from.g.in.h != all.h || from.g.in.w != all.w)
			die(1, "%s takes %dx%dx%d inputs, data is %dx%dx%d", c.from, from.g.in.c, from.g.in.h, from.g.in.w,
			    all.c, all.h, all.w);
		if (from.g.classes < all.classes)
			die(1, "%s has %d classes, data has %d", c.from, from.g.classes, all.classes);
		if ((rc = nn_model_to_net(&from, c.t.batch, &net, err, sizeof err)))
			die(1, "%s: %s", c.from, err);
		nn_graph_copy(&g, &from.g);
		if (c.fresh) /* every weight and statistic drawn anew: final training */
			nn_net_init(net, c.t.seed);
	} else {
		build_graph(&c, &all, &g);
		if ((rc = nn_net_create(&net, &g, c.t.batch, err, sizeof err)))
			die(1, "cannot plan the network: %s", err);
		nn_net_init(net, c.t.seed);
	}
	nn_cost cost;
	nn_graph_cost(&g, c.t.batch, &cost, NULL, 0);
	if (!c.quiet)
		fprintf(stderr, "petri: %s, %llu params, %.2f M mult-adds/image; %d train / %d val / %d test images, %d threads\n",
			have_from ? c.from : (c.arch ? c.arch : "cnn-mid"), (unsigned long long)cost.params, cost.macs / 1e6,
			tr.n, va.n, te.n, nn_get_threads());
	progress pg = { isatty(2), c.quiet, nn_now(), 0, -1 };
	c.t.on_step = on_step;
	c.t.step_ud = &pg;
	nn_train_result r;
	rc = nn_train(net, &tr, &c.t, &r);
	if (rc)
		die(1, "training failed: %s", nn_strerror(rc));
	float vl, vacc, tl, tacc;
	nn_evaluate(net, &va, &vl, &vacc);
	nn_evaluate(net, &te, &tl, &tacc);
	nn_model m;
	if (nn_model_from_net(&m, net))
		die(1, "out of memory");
	nn_measure_latency(&m.g, m.params, m.state, 50, &m.cost.latency_ms);
	m.metrics = (nn_metrics){ vacc, vl, tacc, tl, (have_from && !c.fresh ? from.metrics.epochs : 0) +
			(c.t.epoch_frac > 0 ? c.t.epoch_frac : c.t.epochs) };
	snprintf(m.data, sizeof m.data, "%s", c.data ? c.data : NN_DEFAULT_DATA);
	if (have_from) {
		m.lineage = from.lineage;
		snprintf(m.lineage.parent, sizeof m.lineage.parent, "%s", from.lineage.id);
		m.lineage.id[0] = 0;
	}
	m.lineage.input_scale = all.scale;
	if (c.out && (rc = nn_model_save(&m, c.out, err, sizeof err)))
		die(1, "%s", err);
	if (c.json) {
		char b[8][JSON_NUM];
		printf("{\"test_acc\": %s, \"test_loss\": %s, \"val_acc\": %s, \"val_loss\": %s, "
		       "\"train_loss\": %s, \"train_img_s\": %s, \"seconds\": %.2f, \"params\": %llu, \"macs\": %llu, "
		       "\"act_bytes_1\": %llu, \"act_bytes_train\": %llu, \"latency_ms\": %s, \"threads\": %d",
		       json_fmt(b[0], tacc, 6), json_fmt(b[1], tl, 6), json_fmt(b[2], va.n ? vacc : NAN, 6),
		       json_fmt(b[3], va.n ? vl : NAN, 6),
		       json_fmt(b[4], r.train_loss, 6), json_fmt(b[5], r.train_img_s, 1), r.seconds,
		       (unsigned long long)m.cost.params, (unsigned long long)m.cost.macs,
		       (unsigned long long)m.cost.act_bytes_1, (unsigned long long)m.cost.act_bytes_train,
		       json_fmt(b[6], m.cost.latency_ms, 4), nn_get_threads());
		if (c.out) {
			printf(", \"model\": ");
			json_str(stdout, c.out);
		}
		printf("}\n");
	} else {
		if (va.n)
			printf("test accuracy %.2f%%  test loss %.4f  (val accuracy %.2f%%, val loss %.4f)\n", 100 * tacc, tl,
			       100 * vacc, vl);
		else
			printf("test accuracy %.2f%%  test loss %.4f  (no validation split: --val 0)\n", 100 * tacc, tl);
		printf("cost: %llu params, %.2f M mult-adds/image, peak activations %.1f KB (batch 1), %.1f MB (training batch %d), latency %.3f ms/image\n",
		       (unsigned long long)m.cost.params, m.cost.macs / 1e6, m.cost.act_bytes_1 / 1024.0,
		       m.cost.act_bytes_train / 1048576.0, c.t.batch, m.cost.latency_ms);
		printf("training: %.0f images/s, %.1f s\n", r.train_img_s, r.seconds);
		if (c.out)
			printf("model written to %s\n", c.out);
	}
	nn_model_free(&m);
	if (have_from)
		nn_model_free(&from);
	nn_net_free(net);
	nn_graph_free(&g);
	nn_data_free(&all), nn_data_free(&tr), nn_data_free(&va), nn_data_free(&te);
	return 0;
}

/* ---- eval ---- */
/* eval, predict: the model (first argument) and the test split of DATA
 * (second, optional), whose images and classes it must take; returns the
 * model planned for batches of 256 */
#define EVAL_BATCH 256
static nn_net *load_model_test(const args *a, const train_cfg *c, nn_model *m, nn_data *te)
{
	char err[512];
	if (c->threads)
		nn_set_threads(c->threads);
	if (grow_load(m, a->pos[0], 0, err, sizeof err))
		die(1, "%s", err);
	load_data(a->npos > 1 ? a->pos[1] : NULL, "test", c->shape, model_scale(c, m, a->pos[0]), te);
	if (te->c != m->g.in.c || te->h != m->g.in.h || te->w != m->g.in.w)
		die(1, "%s takes %dx%dx%d inputs, data is %dx%dx%d", a->pos[0], m->g.in.c, m->g.in.h, m->g.in.w, te->c,
		    te->h, te->w);
	if (te->classes > m->g.classes)
		die(1, "data has %d classes, %s has %d", te->classes, a->pos[0], m->g.classes);
	nn_net *net;
	if (nn_model_to_net(m, EVAL_BATCH, &net, err, sizeof err))
		die(1, "%s: %s", a->pos[0], err);
	return net;
}

int cmd_eval(const cli_cmd *cmd, int argc, char **argv)
{
	args a = { { 0 }, 0 };
	train_cfg c;
	cfg_defaults(&c);
	parse(cmd, argc, argv, &a, &c, NULL, NULL);
	if (a.npos < 1 || a.npos > 2)
		die(2, "usage: %s", cmd->usage);
	nn_model m;
	nn_data te;
	nn_net *net = load_model_test(&a, &c, &m, &te);
	float l, acc;
	nn_evaluate(net, &te, &l, &acc);
	if (c.json) {
		char b1[JSON_NUM], b2[JSON_NUM];
		printf("{\"test_acc\": %s, \"test_loss\": %s, \"images\": %d}\n", json_fmt(b1, acc, 6),
		       json_fmt(b2, l, 6), te.n);
	} else
		printf("test accuracy %.2f%%  test loss %.4f  (%d images)\n", 100 * acc, l, te.n);
	nn_net_free(net);
	nn_model_free(&m);
	nn_data_free(&te);
	return 0;
}

/* ---- predict ---- */
static int predict_opt(const opt_iter *it, int id, void *ud)
{
	if (id != O_ROWS)
		return 0;
	*(long *)ud = opt_whole(it, 1, 1L << 30);
	return 1;
}

/* logits of the first rows test images, one CSV line each */
int cmd_predict(const cli_cmd *cmd, int argc, char **argv)
{
	args a = { { 0 }, 0 };
	train_cfg c;
	long rows = 0;
	cfg_defaults(&c);
	parse(cmd, argc, argv, &a, &c, predict_opt, &rows);
	if (a.npos < 1 || a.npos > 2)
		die(2, "usage: %s", cmd->usage);
	out_guard(c.out, (const char *const *)a.pos, a.npos, NULL);
	nn_model m;
	nn_data te;
	nn_net *net = load_model_test(&a, &c, &m, &te);
	int n = rows && rows < te.n ? (int)rows : te.n, bs = EVAL_BATCH, k = m.g.classes;
	FILE *f = c.out ? out_open(c.out) : stdout;
	size_t img = (size_t)te.c * te.h * te.w;
	for (int r = 0; r < n; r += bs) {
		int rn = n - r < bs ? n - r : bs;
		const float *z = nn_forward(net, te.x + (size_t)r * img, rn, 0);
		for (int i = 0; i < rn; i++)
			for (int j = 0; j < k; j++)
				fprintf(f, "%.9g%c", z[(size_t)i * k + j], j + 1 < k ? ',' : '\n');
	}
	if (c.out)
		out_commit(f, c.out, NULL);
	nn_net_free(net);
	nn_model_free(&m);
	nn_data_free(&te);
	return 0;
}

/* ---- inspect ---- */
static const char *role_name(int r)
{
	static const char *n[] = { "", "block-end", "stem", "reduce", "head", "candidate", "grown" };
	return r >= 0 && r < 7 ? n[r] : "?";
}


int cmd_inspect(const cli_cmd *cmd, int argc, char **argv)
{
	args a = { { 0 }, 0 };
	train_cfg c;
	cfg_defaults(&c);
	parse(cmd, argc, argv, &a, &c, NULL, NULL);
	if (a.npos != 1)
		die(2, "usage: %s", cmd->usage);
	char err[512];
	nn_model m;
	if (grow_load(&m, a.pos[0], 0, err, sizeof err))
		die(1, "%s", err);
	nn_net *net;
	if (nn_model_to_net(&m, 1, &net, err, sizeof err))
		die(1, "%s: %s", a.pos[0], err);
	nn_cost cost;
	nn_graph_cost(&m.g, 128, &cost, NULL, 0);
	char scs[32];
	if (c.json) {
		printf("{\"file\": ");
		json_str(stdout, a.pos[0]);
		/* the input scale, exactly; null when unknown */
		snprintf(scs, sizeof scs, nn_scale_ok(m.lineage.input_scale) ? "%.17g" : "null", m.lineage.input_scale);
		printf(", \"input\": [%d, %d, %d], \"input_scale\": %s, \"classes\": %d, \"output\": %d, \"layers\": [",
		       m.g.in.c, m.g.in.h, m.g.in.w, scs, m.g.classes, m.g.output);
	} else {
		char ins[64] = "input scale not recorded";
		if (nn_scale_ok(m.lineage.input_scale))
			snprintf(ins, sizeof ins, "the data's values times %s", nn_scale_str(m.lineage.input_scale, scs, sizeof scs));
		printf("%s: input %dx%dx%d (%s), %d classes, %d layers, output node %d\n", a.pos[0], m.g.in.c, m.g.in.h,
		       m.g.in.w, ins, m.g.classes, m.g.n, m.g.output);
		printf("%5s  %-9s %-16s %-10s %9s  %s\n", "id", "op", "inputs", "role", "params", "output (CxHxW) / settings");
	}
	for (int i = 0; i < m.g.n; i++) {
		const nn_node *d = &m.g.nodes[i];
		nn_shape s = nn_net_shape(net, i);
		size_t off, len;
		nn_net_param_slice(net, i, &off, &len);
		char ins[256] = "", *p = ins;
		for (int j = 0; j < d->nin && p < ins + sizeof ins - 16; j++)
			p += snprintf(p, ins + sizeof ins - p, "%s%d", j ? "," : "", d->in[j]);
		char set[128] = "";
		if (d->op == NN_OP_CONV)
			snprintf(set, sizeof set, "k%d s%d p%d d%d g%d", d->p.k, d->p.stride, d->p.pad, d->p.dil, d->p.groups);
		else if (d->op == NN_OP_MAXPOOL || d->op == NN_OP_AVGPOOL) {
			int pd[4];
			nn_pool_pads(&d->p, pd);
			if (pd[0] == pd[1] && pd[0] == pd[2] && pd[0] == pd[3])
				snprintf(set, sizeof set, "k%d s%d p%d%s%s", d->p.k, d->p.stride, pd[0],
					 d->p.ceil_mode ? " ceil" : "", d->p.count_pad ? " count_pad" : "");
			else
				snprintf(set, sizeof set, "k%d s%d p%d,%d,%d,%d%s%s", d->p.k, d->p.stride, pd[0], pd[1], pd[2],
					 pd[3], d->p.ceil_mode ? " ceil" : "", d->p.count_pad ? " count_pad" : "");
		} else if (d->op == NN_OP_PAD)
			snprintf(set, sizeof set, "p%d,%d,%d,%d", d->p.pads[0], d->p.pads[1], d->p.pads[2], d->p.pads[3]);
		else if (d->op == NN_OP_SHUFFLE)
			snprintf(set, sizeof set, "g%d", d->p.groups);
		else if (d->op == NN_OP_SLICE)
			snprintf(set, sizeof set, "c%d..%d", d->p.start, d->p.start + d->p.cout - 1);
		else if (d->op == NN_OP_GATE)
			snprintf(set, sizeof set, "g=%.6g", m.params[off]);
		else if (d->op == NN_OP_CLIP)
			snprintf(set, sizeof set, "%.6g..%.6g", d->p.alpha, d->p.beta);
		else if (d->op == NN_OP_HSIGMOID)
			snprintf(set, sizeof set, "alpha=%.6g beta=%.6g", d->p.alpha, d->p.beta);
		if (c.json) {
			printf("%s{\"id\": %d, \"op\": \"%s\", \"inputs\": [%s], \"role\": \"%s\", \"stage\": %d, \"shape\": [%d, %d, %d], \"params\": %zu}",
			       i ? ", " : "", i, nn_op_name(d->op), ins, role_name(d->role), d->stage, s.c, s.h, s.w, len);
		} else {
			char sh[64];
			snprintf(sh, sizeof sh, "%dx%dx%d", s.c, s.h, s.w);
			printf("%5d  %-9s %-16s %-10s %9zu  %-12s %s\n", i, nn_op_name(d->op), ins, role_name(d->role), len, sh, set);
		}
	}
	if (c.json) {
		char b[6][JSON_NUM];
		printf("], \"cost\": {\"params\": %llu, \"macs\": %llu, \"act_bytes_1\": %llu, \"act_bytes_train\": %llu, \"latency_ms\": %s}",
		       (unsigned long long)cost.params, (unsigned long long)cost.macs, (unsigned long long)cost.act_bytes_1,
		       (unsigned long long)cost.act_bytes_train, json_fmt(b[0], m.cost.latency_ms, 4));
		printf(", \"metrics\": {\"val_acc\": %s, \"val_loss\": %s, \"test_acc\": %s, \"test_loss\": %s, \"epochs\": %s}",
		       json_fmt(b[1], m.metrics.val_acc, 6), json_fmt(b[2], m.metrics.val_loss, 6),
		       json_fmt(b[3], m.metrics.test_acc, 6), json_fmt(b[4], m.metrics.test_loss, 6),
		       json_fmt(b[5], m.metrics.epochs, 3));
		printf(", \"lineage\": {\"id\": ");
		json_str(stdout, m.lineage.id);
		printf(", \"parent\": ");
		json_str(stdout, m.lineage.parent);
		printf(", \"grown\": ");
		json_str(stdout, m.lineage.grown);
		printf(", \"search\": ");
		json_str(stdout, m.lineage.search);
		printf(", \"depth\": %d}, \"data\": ", m.lineage.depth);
		json_str(stdout, m.data);
		printf("}\n");
	} else {
		printf("cost: %llu params, %.3f M mult-adds/image, peak activations %.1f KB (batch 1) / %.1f MB (batch 128 training), latency %.3f ms/image (measured when trained)\n",
		       (unsigned long long)cost.params, cost.macs / 1e6, cost.act_bytes_1 / 1024.0,
		       cost.act_bytes_train / 1048576.0, m.cost.latency_ms);
		printf("metrics: val acc %.2f%% (loss %.4f), test acc %.2f%% (loss %.4f), %.2f epochs\n",
		       100 * m.metrics.val_acc, m.metrics.val_loss, 100 * m.metrics.test_acc, m.metrics.test_loss,
		       m.metrics.epochs);
		printf("lineage: id %s, parent %s, depth %d, search %s%s%s; data %s\n", m.lineage.id[0] ? m.lineage.id : "-",
		       m.lineage.parent[0] ? m.lineage.parent : "-", m.lineage.depth,
		       m.lineage.search[0] ? m.lineage.search : "-", m.lineage.grown[0] ? "; grown: " : "", m.lineage.grown,
		       m.data[0] ? m.data : "-");
	}
	nn_net_free(net);
	nn_model_free(&m);
	return 0;
}

/* ---- bench: time training steps and batch inference on real data ---- */
static int cmp_d(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof *v, cmp_d);
	return n ? v[n / 2] : 0;
}

/* multiply-adds per image of the matrix work only: conv (depthwise too),
 * factred (two 1x1 stride-2 convs) and linear. nn_graph_cost's macs also
 * count BN, pooling, gates, sums and GAP. */
static uint64_t useful_macs(const nn_graph *g)
{
	nn_shape *s = malloc(sizeof *s * (g->n > 0 ? g->n : 1));
	if (!s || nn_graph_shapes(g, s, NULL, 0))
		die(1, "cannot plan the network");
	uint64_t m = 0;
	for (int i = 0; i < g->n; i++) {
		const nn_node *d = &g->nodes[i];
		nn_shape x = d->nin ? s[d->in[0]] : s[i], y = s[i];
		if (d->op == NN_OP_CONV)
			m += (uint64_t)y.c * (x.c / d->p.groups) * d->p.k * d->p.k * y.h * y.w;
		else if (d->op == NN_OP_FACTRED)
			m += (uint64_t)y.c * x.c * y.h * y.w;
		else if (d->op == NN_OP_LINEAR)
			m += (uint64_t)y.c * x.c * x.h * x.w;
	}
	free(s);
	return m;
}

typedef struct {
	int steps, ibatch, sgemm, peak;
} bench_cfg;

static int bench_opt(const opt_iter *it, int id, void *ud)
{
	bench_cfg *b = ud;
	switch (id) {
	case O_STEPS: b->steps = (int)opt_whole(it, 3, 100000); break;
	case O_INFER_BATCH: b->ibatch = (int)opt_whole(it, 1, 65536); break;
	case O_SGEMM: b->sgemm = 1; break;
	case O_PEAK: b->peak = 1; break;
	default: return 0;
	}
	return 1;
}

int cmd_bench(const cli_cmd *cmd, int argc, char **argv)
{
	args a = { { 0 }, 0 };
	train_cfg c;
	cfg_defaults(&c);
	bench_cfg bc = { 30, 256, 0, 0 };
	c.t.batch = 128;
	parse(cmd, argc, argv, &a, &c, bench_opt, &bc);
	if (a.npos > 1)
		die(2, "bench takes one data set, got %d arguments", a.npos);
	int steps = bc.steps, ibatch = bc.ibatch;
	if (c.threads)
		nn_set_threads(c.threads);
	if (bc.peak) {
		/* vector FMA peak of the instruction set in use */
		int th = nn_get_threads();
		double p = nn_isa_peak_gflops(th, 1.0);
		printf("{\"peak_gflops\": %.1f, \"isa\": \"%s\", \"threads\": %d}\n", p, nn_isa_name(), th);
		return 0;
	}
	if (bc.sgemm) {
		/* sgemm GFLOP/s at a square size, median of 5 */
		int n = 2048;
		float *A = malloc(sizeof(float) * n * n), *B = malloc(sizeof(float) * n * n), *C = malloc(sizeof(float) * n * n);
		for (long i = 0; i < (long)n * n; i++)
			A[i] = (float)(i % 7) * 0.1f, B[i] = (float)(i % 5) * 0.1f;
		double t[5];
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
		for (int r = 0; r < 5; r++) {
			double t0 = nn_now();
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
			t[r] = nn_now() - t0;
		}
		printf("{\"sgemm_gflops\": %.1f, \"n\": %d, \"threads\": %d}\n", 2.0 * n * n * n / median(t, 5) / 1e9, n,
		       nn_get_threads());
		free(A), free(B), free(C);
		return 0;
	}
	nn_data d;
	load_data(a.npos ? a.pos[0] : NULL, "train", c.shape, c.scale, &d);
	nn_graph g;
	build_graph(&c, &d, &g);
	nn_cost cost;
	nn_graph_cost(&g, c.t.batch, &cost, NULL, 0);
	uint64_t umacs = useful_macs(&g);
	char err[512];
	nn_net *net = NULL, *inet = NULL, *lnet = NULL;
	if (nn_net_create(&net, &g, c.t.batch, err, sizeof err) || nn_net_create(&inet, &g, ibatch, err, sizeof err) ||
	    nn_net_create(&lnet, &g, 1, err, sizeof err))
		die(1, "%s", err);
	nn_net_init(net, 1);
	nn_net_init(inet, 1);
	nn_net_init(lnet, 1);
	int B = c.t.batch;
	if (d.n < B + ibatch + 1)
		die(1, "bench needs more than %d training images, the data has %d", B + ibatch, d.n);
	size_t f = (size_t)d.c * d.h * d.w;
	float *dl = malloc(sizeof(float) * B * d.classes);
	double *t = malloc(sizeof(double) * steps);
	if (!dl || !t)
		die(1, "out of memory");
	for (int s = -3; s < steps; s++) {
		int off = (int)(((long)(s + 3) * B) % (d.n - B - ibatch));
		double t0 = nn_now();
		const float *z = nn_forward(net, d.x + f * off, B, 1);
		nn_softmax_ce(z, d.y + off, B, d.classes, dl, NULL);
		nn_zero_grad(net);
		nn_backward(net, dl);
		nn_sgd_step(net, 0.01f, 0.9f, 5e-4f, 0);
		if (s >= 0)
			t[s] = nn_now() - t0;
	}
	double train = B / median(t, steps);
	for (int s = -2; s < steps; s++) {
		int off = (int)(((long)(s + 2) * ibatch) % (d.n - ibatch));
		double t0 = nn_now();
		nn_forward(inet, d.x + f * off, ibatch, 0);
		if (s >= 0)
			t[s] = nn_now() - t0;
	}
	double infer = ibatch / median(t, steps), tinfer = 0;
	for (int s = 0; s < steps; s++)
		tinfer += t[s];
	/* batch-1 latency: single images in eval mode for about as long as the
	 * batch inference took, at least 50 of them; median */
	for (int s = 0; s < 3; s++)
		nn_forward(lnet, d.x + f * s, 1, 0);
	double t0 = nn_now();
	nn_forward(lnet, d.x + f * 3, 1, 0);
	double per = nn_now() - t0;
	int nl = per > 0 ? (int)fmin(20000, fmax(50, tinfer / per)) : 50;
	double *tl = malloc(sizeof(double) * nl);
	if (!tl)
		die(1, "out of memory");
	for (int s = 0; s < nl; s++) {
		t0 = nn_now();
		nn_forward(lnet, d.x + f * (s % d.n), 1, 0);
		tl[s] = nn_now() - t0;
	}
	double lat = median(tl, nl) * 1e3;
	double gf = 3.0 * 2.0 * cost.macs * train / 1e9;
	printf("{\"arch\": \"%s\", \"batch\": %d, \"threads\": %d, \"isa\": \"%s\", \"train_img_s\": %.1f, "
	       "\"infer_img_s\": %.1f, \"infer_batch\": %d, \"latency_ms\": %.4f, \"latency_reps\": %d, \"macs\": %llu, "
	       "\"useful_macs\": %llu, \"params\": %llu, \"train_gflops\": %.2f, \"train_useful_gflops\": %.2f, "
	       "\"infer_gflops\": %.2f}\n",
	       c.arch ? c.arch : "cnn-mid", B, nn_get_threads(), nn_isa_name(), train, infer, ibatch, lat, nl,
	       (unsigned long long)cost.macs, (unsigned long long)umacs, (unsigned long long)cost.params, gf,
	       3.0 * 2.0 * umacs * train / 1e9, 2.0 * cost.macs * infer / 1e9);
	free(dl), free(t), free(tl);
	nn_net_free(net), nn_net_free(inet), nn_net_free(lnet);
	nn_graph_free(&g);
	nn_data_free(&d);
	return 0;
}

/* ---- version ---- */
#ifndef PETRI_VERSION
#define PETRI_VERSION "0.1"
#endif
/* OpenBLAS's build settings and the core it chose; not every cblas.h
 * declares them */
char *openblas_get_config(void);
char *openblas_get_corename(void);

int cmd_version(const cli_cmd *cmd, int argc, char **argv)
{
	int json = 0;
	opt_iter it;
	cmd_opts(&it, cmd, argc, argv);
	for (int k; (k = opt_next(&it)) != OPT_END;) {
		if (k == OPT_ARG)
			die(2, "usage: %s", cmd->usage);
		json = 1; /* --json, the only option */
	}
	const char *blas = openblas_get_config(), *isas = nn_isa_list();
	if (!json) {
		printf("petri %s\nisa: %s (this CPU runs: %s)\nblas: %s (core %s)\n", PETRI_VERSION, nn_isa_name(), isas,
		       blas, openblas_get_corename());
		return 0;
	}
	printf("{\"version\": ");
	json_str(stdout, PETRI_VERSION);
	printf(", \"isa\": ");
	json_str(stdout, nn_isa_name());
	printf(", \"isas\": [");
	for (const char *p = isas; *p;) {
		size_t n = strcspn(p, " ");
		printf("%s\"%.*s\"", p == isas ? "" : ", ", (int)n, p);
		p += n;
		p += strspn(p, " ");
	}
	printf("], \"blas\": ");
	json_str(stdout, blas);
	printf(", \"blas_core\": ");
	json_str(stdout, openblas_get_corename());
	printf("}\n");
	return 0;
}


/* ---- grow: one candidate job and one child job ---- */
typedef struct {
	grow_opts g;
	double cand_frac;
	int cand_epochs;
	long grow_seed; /* -1: --seed */
} grow_cfg;

static int grow_opt(const opt_iter *it, int id, void *ud)
{
	grow_cfg *c = ud;
	switch (id) {
	case O_OPS:
		if (grow_ops_parse(it->val, &c->g.ops))
			die(2, "--ops: '%s' names an unknown op (sep3x3, sep5x5, dil3x3, dil5x5, maxpool3x3, avgpool3x3, identity, all)",
			    it->val);
		break;
	case O_K: c->g.k = (int)opt_whole(it, 1, 16); break;
	case O_TARGETS: c->g.targets = (int)opt_whole(it, 1, 16); break;
	case O_WINDOW: c->g.window = (int)opt_whole(it, 1, 64); break;
	case O_INPUTS: c->g.max_inputs = (int)opt_whole(it, 1, 64); break;
	case O_LAMBDA: c->g.lambda = (float)opt_real(it, 0, 10); break;
	case O_THRESHOLD: c->g.threshold = (float)opt_real(it, 0, 1e6); break;
	case O_RANDOM: c->g.random = 1; break;
	case O_FROZEN: c->g.frozen = 1; break;
	case O_JOINT: c->g.frozen = 0; break;
	case O_NARROW_AT: c->g.narrow_at = (float)opt_real(it, 0, 1); break;
	case O_NARROW_KEEP: c->g.narrow_keep = (int)opt_whole(it, 1, 1000); break;
	case O_CAND_EPOCHS: c->cand_frac = opt_real(it, 1e-4, 1000); break;
	case O_GROW_SEED: c->grow_seed = opt_whole(it, 0, 0x7fffffffL); break;
	default: return 0;
	}
	return 1;
}

static void load_splits(const char *spec, const char *shape, double scale, int nval, nn_data *tr, nn_data *va,
			nn_data *te)
{
	nn_data all;
	load_data(spec, "train", shape, scale, &all);
	load_data(spec, "test", shape, scale, te);
	nval = val_rows(nval, all.n);
	if (nn_data_split(&all, nval, tr, va))
		die(1, "out of memory splitting the data");
	int k = all.classes > te->classes ? all.classes : te->classes;
	tr->classes = va->classes = te->classes = k;
	nn_data_free(&all);
}

int cmd_grow(const cli_cmd *cmd, int argc, char **argv)
{
	args a = { { 0 }, 0 };
	train_cfg c;
	cfg_defaults(&c);
	grow_cfg gc;
	grow_opts_defaults(&gc.g);
	gc.cand_frac = 1.0;
	gc.grow_seed = -1;
	gc.g.eval_rows = 0; /* by hand: every validation row */
	parse(cmd, argc, argv, &a, &c, grow_opt, &gc);
	if (a.npos < 1 || a.npos > 2 || !c.out)
		die(2, "usage: %s", cmd->usage);
	out_guard(c.out, (const char *const *)a.pos, a.npos, NULL);
	if (c.threads)
		nn_set_threads(c.threads);
	gc.g.seed = gc.grow_seed >= 0 ? (uint64_t)gc.grow_seed : c.t.seed;
	char err[512];
	nn_model parent, child;
	if (grow_load(&parent, a.pos[0], 0, err, sizeof err))
		die(1, "%s", err);
	nn_data tr, va, te;
	load_splits(a.npos > 1 ? a.pos[1] : NULL, c.shape, model_scale(&c, &parent, a.pos[0]), c.nval, &tr, &va, &te);
	if (parent.g.in.c != tr.c || parent.g.in.h != tr.h || parent.g.in.w != tr.w)
		die(1, "%s takes %dx%dx%d inputs, data is %dx%dx%d", a.pos[0], parent.g.in.c, parent.g.in.h, parent.g.in.w,
		    tr.c, tr.h, tr.w);
	/* the parent as given */
	nn_net *pn;
	if (nn_model_to_net(&parent, 256, &pn, err, sizeof err))
		die(1, "%s: %s", a.pos[0], err);
	float pvl, pva, ptl, pta;
	nn_evaluate(pn, &va, &pvl, &pva);
	nn_evaluate(pn, &te, &ptl, &pta);
	nn_net_free(pn);
	nn_train_opts ct = c.t;
	ct.epoch_frac = gc.cand_frac;
	progress pg = { isatty(2), c.quiet, nn_now(), 0, -1 };
	ct.on_step = on_step, ct.step_ud = &pg;
	grow_report rep;
	if (!c.quiet)
		fprintf(stderr, "candidate job: parent %s, %.2f epochs of joint training\n", a.pos[0], gc.cand_frac);
	if (grow_run_candidate(&parent, &tr, &va, &gc.g, &ct, &child, &rep, err, sizeof err))
		die(1, "candidate job failed: %s", err);
	if (!c.json) {
		printf("parent %s: val acc %.2f%% (loss %.4f), test acc %.2f%%; after joint training val acc %.2f%% (loss %.4f)\n",
		       a.pos[0], 100 * pva, pvl, 100 * pta, 100 * rep.parent_val_acc, rep.parent_val_loss);
		printf("omega ranking (%d pairs, %s):\n  rank  target  input  op          omega\n", rep.npairs,
		       gc.g.random ? "random-growth baseline: winners drawn at random" : "winners: top k above threshold");
		for (int i = 0; i < rep.npairs; i++) {
			int w = 0;
			for (int j = 0; j < rep.nwin; j++)
				w |= rep.win[j] == i;
			printf("  %4d  %6d  %5d  %-10s %+.5f%s\n", i + 1, rep.pairs[i].target, rep.pairs[i].input,
			       grow_op_name(rep.pairs[i].op), rep.pairs[i].omega, w ? "  <- winner" : "");
		}
		printf("grown: %s\n", rep.desc);
	}
	/* the ranking as JSON, kept for the --json line below */
	char *rank_json = NULL;
	size_t rank_len = 0;
	if (c.json) {
		FILE *f = open_memstream(&rank_json, &rank_len);
		if (!f)
			die(1, "out of memory");
		fputc('[', f);
		for (int i = 0; i < rep.npairs; i++) {
			int w = 0;
			for (int j = 0; j < rep.nwin; j++)
				w |= rep.win[j] == i;
			char b[JSON_NUM];
			fprintf(f, "%s{\"target\": %d, \"input\": %d, \"op\": \"%s\", \"omega\": %s, \"winner\": %s, \"dropped\": %s}",
				i ? ", " : "", rep.pairs[i].target, rep.pairs[i].input, grow_op_name(rep.pairs[i].op),
				json_fmt(b, rep.pairs[i].omega, 6), w ? "true" : "false", rep.pairs[i].dropped ? "true" : "false");
		}
		fputc(']', f);
		if (fclose(f))
			die(1, "out of memory");
	}
	double cand_s = rep.seconds;
	grow_report_free(&rep);
	if (!rep.has_child) {
		if (c.json) {
			printf("{\"child\": null, \"cand_seconds\": %.3f, \"ranking\": %s, \"reason\": ", cand_s, rank_json);
			json_str(stdout, rep.desc);
			printf("}\n");
		}
		free(rank_json);
		return 0;
	}
	float cvl0 = rep.child_val_loss0, cva0 = rep.child_val_acc0;
	nn_train_opts kt = c.t;
	pg = (progress){ isatty(2), c.quiet, nn_now(), 0, -1 };
	kt.on_step = on_step, kt.step_ud = &pg;
	if (!c.quiet)
		fprintf(stderr, "child job: %g epochs\n", kt.epoch_frac > 0 ? kt.epoch_frac : (double)kt.epochs);
	double t_child = nn_now();
	if (grow_train_child(&child, &tr, &va, &te, &kt, err, sizeof err))
		die(1, "child job failed: %s", err);
	double child_s = nn_now() - t_child;
	child.lineage.input_scale = tr.scale;
	if (nn_model_save(&child, c.out, err, sizeof err))
		die(1, "%s", err);
	nn_cost pc;
	nn_graph_cost(&parent.g, 128, &pc, NULL, 0);
	if (c.json) {
		char b[9][JSON_NUM];
		printf("{\"parent_val_acc\": %s, \"parent_val_acc_joint\": %s, \"child_val_acc_step0\": %s, "
		       "\"parent_val_loss\": %s, \"parent_val_loss_joint\": %s, \"child_val_loss_step0\": %s, "
		       "\"child_val_acc\": %s, \"child_test_acc\": %s, \"child_val_loss\": %s, \"grown\": ",
		       json_fmt(b[0], pva, 6), json_fmt(b[1], rep.parent_val_acc, 6), json_fmt(b[2], cva0, 6),
		       json_fmt(b[6], pvl, 9), json_fmt(b[7], rep.parent_val_loss, 9), json_fmt(b[8], cvl0, 9),
		       json_fmt(b[3], child.metrics.val_acc, 6), json_fmt(b[4], child.metrics.test_acc, 6),
		       json_fmt(b[5], child.metrics.val_loss, 6));
		json_str(stdout, rep.desc);
		printf(", \"parent_macs\": %llu, \"child_macs\": %llu, \"cand_seconds\": %.3f, \"child_seconds\": %.3f, "
		       "\"ranking\": %s, \"model\": ",
		       (unsigned long long)pc.macs, (unsigned long long)child.cost.macs, cand_s, child_s, rank_json);
		json_str(stdout, c.out);
		printf("}\n");
	} else {
		printf("child at step 0: val acc %.2f%% (loss %.6f); the parent after joint training: %.2f%% (loss %.6f)\n",
		       100 * cva0, cvl0, 100 * rep.parent_val_acc, rep.parent_val_loss);
		printf("child after %g epochs: val acc %.2f%% (loss %.4f), test acc %.2f%%\n",
		       kt.epoch_frac > 0 ? kt.epoch_frac : (double)kt.epochs,
		       100 * child.metrics.val_acc, child.metrics.val_loss, 100 * child.metrics.test_acc);
		printf("cost: parent %.3f M mult-adds, %llu params; child %.3f M mult-adds, %llu params\n", pc.macs / 1e6,
		       (unsigned long long)pc.params, child.cost.macs / 1e6, (unsigned long long)child.cost.params);
		printf("child written to %s\n", c.out);
	}
	nn_model_free(&child);
	free(rank_json);
	nn_model_free(&parent);
	nn_data_free(&tr), nn_data_free(&va), nn_data_free(&te);
	return 0;
}
