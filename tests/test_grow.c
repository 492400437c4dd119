/* test_grow.c - grow/: seed networks, and the four claims of forward growth:
 * 1. a candidate leaves its parent bit-identical (outputs, loss, gradients);
 * 2. omega carries a real signal: the one useful (input, op) pair wins;
 * 3. a child computes what its parent computes at step 0, and always plans;
 * 4. a warm-started child beats the same architecture trained from scratch;
 * and where an imported graph grows (grow_mark on small hand-built graphs). */
#include "check.h"
#include "grab_state.h"
#include "grow.h"

#include <math.h>
#include <string.h>

static void test_seed_shapes(void)
{
	nn_graph g;
	grow_seed_opts o;
	grow_seed_defaults(&o);
	CHECK_OK(grow_seed(&g, (nn_shape){ 1, 1, 28, 28 }, 10, &o), grow_strerror);
	nn_net *net;
	char err[256] = "";
	CHECK_OK(nn_net_create(&net, &g, 4, err, sizeof err), nn_strerror);
	int ends[3] = { 0 }, reduce = 0;
	for (int i = 0; i < g.n; i++) {
		if (g.nodes[i].role == NN_ROLE_BLOCK_END) {
			nn_shape s = nn_net_shape(net, i);
			int st = g.nodes[i].stage;
			CHECK(st >= 0 && st < 3);
			ends[st]++;
			/* stage s has 8 << s channels (the default filters) at
			 * 28 >> s (rounded up) */
			CHECK(o.filters == 8 && s.c == 8 << st);
			CHECK(s.h == (st == 0 ? 28 : st == 1 ? 14 : 7));
		}
		reduce += g.nodes[i].role == NN_ROLE_REDUCE;
	}
	CHECK(ends[0] == 1 && ends[1] == 1 && ends[2] == 1);
	CHECK(reduce == 2);
	static float x[4 * 784];
	for (int i = 0; i < 4 * 784; i++)
		x[i] = (float)(i % 13) / 13.0f;
	const float *z = nn_forward(net, x, 4, 1);
	CHECK(z[0] == z[0]);
	nn_net_free(net);
	nn_graph_free(&g);
	/* sizes are options */
	o.filters = 8, o.stages = 2, o.blocks = 3;
	CHECK_OK(grow_seed(&g, (nn_shape){ 1, 3, 16, 16 }, 5, &o), grow_strerror);
	CHECK_OK(nn_net_create(&net, &g, 2, err, sizeof err), nn_strerror);
	int n = 0;
	for (int i = 0; i < g.n; i++)
		n += g.nodes[i].role == NN_ROLE_BLOCK_END;
	CHECK(n == 6);
	nn_net_free(net);
	nn_graph_free(&g);
	/* tabular seed */
	CHECK_OK(grow_seed(&g, (nn_shape){ 1, 12, 1, 1 }, 3, NULL), grow_strerror);
	CHECK_OK(nn_net_create(&net, &g, 2, err, sizeof err), nn_strerror);
	nn_net_free(net);
	nn_graph_free(&g);
	o.stages = 0;
	CHECK(grow_seed(&g, (nn_shape){ 1, 1, 8, 8 }, 3, &o) == GROW_EINVAL);
}

/* ---- helpers ---- */
static void rand_input(float *x, size_t n, uint64_t seed)
{
	nn_rng r = { seed };
	for (size_t i = 0; i < n; i++)
		x[i] = nn_rng_uniform(&r);
}

/* A random parent: a seed of random size, sometimes a plain conv net whose
 * block ends are not sums (growth must then insert a sum). */
static void random_parent(nn_graph *g, nn_rng *r, nn_shape in, int classes)
{
	if (nn_rng_u64(r) % 4 == 0) {
		nn_graph_init(g, in, classes);
		int x = nn_input(g);
		x = nn_conv(g, x, 6, 3, 1, 1, 1, 1, 0);
		x = nn_bn(g, x);
		g->nodes[x].role = NN_ROLE_STEM;
		x = nn_relu(g, x);
		x = nn_conv(g, x, 6, 3, 1, 1, 1, 1, 0);
		x = nn_bn(g, x);
		g->nodes[x].role = NN_ROLE_BLOCK_END;
		int y = nn_relu(g, x);
		y = nn_conv(g, y, 8, 3, 2, 1, 1, 1, 0);
		y = nn_bn(g, y);
		g->nodes[y].role = NN_ROLE_REDUCE, g->nodes[y].stage = 1;
		y = nn_relu(g, y);
		y = nn_gap(g, y);
		nn_linear(g, y, classes);
		return;
	}
	grow_seed_opts o = { 2 + 2 * (int)(nn_rng_u64(r) % 3), 1 + (int)(nn_rng_u64(r) % 3), 1 + (int)(nn_rng_u64(r) % 2) };
	grow_seed(g, in, classes, &o);
}

static void random_gopts(grow_opts *go, nn_rng *r)
{
	grow_opts_defaults(go);
	go->ops = 0;
	while (!go->ops)
		go->ops = (unsigned)(nn_rng_u64(r) & GROW_OPS_ALL);
	go->targets = 1 + (int)(nn_rng_u64(r) % 2);
	go->window = 1 + (int)(nn_rng_u64(r) % 4);
	go->max_inputs = 1 + (int)(nn_rng_u64(r) % 3);
	go->k = 1 + (int)(nn_rng_u64(r) % 3);
	go->seed = nn_rng_u64(r);
}

/* 1. parent alone vs parent with candidate: bit-identical outputs, loss and
 * parent gradients, for several random parents and candidates */
static void test_candidate_is_invisible(void)
{
	nn_rng r = { 77 };
	nn_shape in = { 1, 2, 10, 10 };
	int rows = 3, bad = 0, runs = 0;
	float x[3 * 200];
	int y[3] = { 0, 2, 1 };
	for (int it = 0; it < 12; it++) {
		nn_graph pg;
		random_parent(&pg, &r, in, 3);
		grow_opts go;
		random_gopts(&go, &r);
		grow_cand c;
		char err[256] = "";
		int rc = grow_candidate(&pg, &go, NULL, 0, &c, err, sizeof err);
		CHECKM(rc == 0, "candidate: %s", err);
		if (rc) {
			nn_graph_free(&pg);
			continue;
		}
		nn_net *pn, *cn;
		CHECK_OK(nn_net_create(&pn, &pg, rows, err, sizeof err), nn_strerror);
		rc = nn_net_create(&cn, &c.g, rows, err, sizeof err);
		CHECKM(rc == 0, "parent %d: candidate does not plan: %s", it, err);
		if (rc) {
			nn_net_free(pn);
			grow_cand_free(&c);
			nn_graph_free(&pg);
			continue;
		}
		nn_net_init(pn, it + 1);
		nn_net_init(cn, it + 1000);
		CHECK(nn_net_copy_weights(cn, pn) > 0);
		rand_input(x, sizeof x / sizeof *x, it);
		float dp[9], dc[9];
		const float *zp = nn_forward(pn, x, rows, 1);
		float lp = nn_softmax_ce(zp, y, rows, 3, dp, NULL);
		const float *zc = nn_forward(cn, x, rows, 1);
		float lc = nn_softmax_ce(zc, y, rows, 3, dc, NULL);
		int same = memcmp(zp, zc, sizeof(float) * 9) == 0 && lp == lc;
		nn_zero_grad(pn), nn_zero_grad(cn);
		nn_backward(pn, dp), nn_backward(cn, dc);
		for (int i = 0; i < pg.n; i++) {
			size_t o1, l1, o2, l2;
			nn_net_param_slice(pn, i, &o1, &l1);
			nn_net_param_slice(cn, i, &o2, &l2);
			same &= l1 == l2 && !memcmp(nn_net_grads(pn) + o1, nn_net_grads(cn) + o2, sizeof(float) * l1);
		}
		/* inference too, which skips the branches behind stop-forward */
		zp = nn_forward(pn, x, rows, 0);
		zc = nn_forward(cn, x, rows, 0);
		same &= memcmp(zp, zc, sizeof(float) * 9) == 0;
		/* and the candidate did learn something: omega gradients are live */
		double gsum = 0;
		for (int i = 0; i < c.npairs; i++) {
			size_t o, l;
			nn_net_param_slice(cn, c.pairs[i].gate, &o, &l);
			gsum += fabsf(nn_net_grads(cn)[o]);
		}
		CHECKM(gsum > 0, "parent %d: omega gradients are all zero", it);
		bad += !same;
		runs++;
		nn_net_free(pn), nn_net_free(cn);
		grow_cand_free(&c);
		nn_graph_free(&pg);
	}
	CHECKM(bad == 0 && runs == 12, "%d of %d parents changed when a candidate was attached", bad, runs);
}

/* 2. signal: input channel 0 holds either uniform noise or a few bright
 * spikes with the same mean; channel 1 is noise. The parent sees channel 0
 * only through a 1x1 conv, ReLU and global average pool, so it cannot tell
 * the classes apart. Of the pairs {a, b} x {identity, avgpool, maxpool},
 * only maxpool on a (channel 0) changes the pooled mean between classes. */
static void make_spikes(nn_data *d, int n, uint64_t seed)
{
	int H = 10;
	d->n = n, d->c = 2, d->h = H, d->w = H, d->classes = 2;
	d->x = calloc((size_t)n * 2 * H * H, sizeof(float));
	d->y = malloc(sizeof(int) * n);
	nn_rng r = { seed };
	for (int i = 0; i < n; i++) {
		int cls = i % 2;
		d->y[i] = cls;
		float *c0 = d->x + (size_t)i * 2 * H * H, *c1 = c0 + H * H;
		if (cls == 0) {
			for (int j = 0; j < H * H; j++)
				c0[j] = 0.2f * nn_rng_uniform(&r); /* mean 0.1 */
		} else {
			for (int s = 0; s < 5; s++) /* 5 spikes of 2.0: mean 0.1 */
				c0[nn_rng_u64(&r) % (H * H)] += 2.0f;
		}
		for (int j = 0; j < H * H; j++)
			c1[j] = 0.2f * nn_rng_uniform(&r);
	}
}

static void test_omega_signal(void)
{
	nn_data d;
	make_spikes(&d, 512, 3);
	nn_shape in = { 1, 2, 10, 10 };
	int wins = 0;
	double ratio_min = 1e9;
	for (int seed = 1; seed <= 10; seed++) {
		nn_graph pg;
		nn_graph_init(&pg, in, 2);
		int x = nn_input(&pg);
		int a = nn_conv(&pg, x, 4, 1, 1, 0, 1, 1, 0);
		int b = nn_conv(&pg, x, 4, 1, 1, 0, 1, 1, 0);
		pg.nodes[a].role = pg.nodes[b].role = NN_ROLE_STEM;
		int ab[2] = { a, b };
		int t = nn_sum(&pg, ab, 2);
		pg.nodes[t].role = NN_ROLE_BLOCK_END;
		int h = nn_relu(&pg, t);
		h = nn_gap(&pg, h);
		nn_linear(&pg, h, 2);
		for (int i = 0; i < pg.n; i++)
			pg.nodes[i].flags |= NN_F_FROZEN;
		grow_opts go;
		grow_opts_defaults(&go);
		go.ops = 1u << GROW_OP_IDENT | 1u << GROW_OP_AVG3 | 1u << GROW_OP_MAX3;
		go.window = 2, go.max_inputs = 2, go.seed = (uint64_t)seed;
		grow_cand c;
		char err[256] = "";
		CHECK_OK(grow_candidate(&pg, &go, &t, 1, &c, err, sizeof err), grow_strerror);
		CHECK(c.npairs == 6);
		nn_net *net;
		CHECK_OK(nn_net_create(&net, &c.g, 32, err, sizeof err), nn_strerror);
		nn_net_init(net, (uint64_t)seed);
		/* a copies channel 0, b channel 1 */
		size_t o, l;
		float *w = nn_net_params(net);
		nn_net_param_slice(net, a, &o, &l);
		for (int k = 0; k < 4; k++)
			w[o + 2 * k] = 1, w[o + 2 * k + 1] = 0;
		nn_net_param_slice(net, b, &o, &l);
		for (int k = 0; k < 4; k++)
			w[o + 2 * k] = 0, w[o + 2 * k + 1] = 1;
		nn_train_opts to;
		nn_train_defaults(&to);
		to.batch = 32, to.epochs = 8, to.augment = 0, to.lr = 0.05f, to.seed = (uint64_t)seed;
		nn_train_result tr;
		CHECK_OK(nn_train(net, &d, &to, &tr), nn_strerror);
		grow_read_omegas(&c, net);
		int best = 0;
		for (int i = 1; i < c.npairs; i++)
			if (fabsf(c.pairs[i].omega) > fabsf(c.pairs[best].omega))
				best = i;
		int right = c.pairs[best].input == a && c.pairs[best].op == GROW_OP_MAX3;
		wins += right;
		float second = 0;
		for (int i = 0; i < c.npairs; i++)
			if (i != best && fabsf(c.pairs[i].omega) > second)
				second = fabsf(c.pairs[i].omega);
		double ratio = fabsf(c.pairs[best].omega) / (second > 1e-12f ? second : 1e-12f);
		if (right && ratio < ratio_min)
			ratio_min = ratio;
		if (!right || seed == 1) {
			fprintf(stderr, "  seed %d omegas:", seed);
			for (int i = 0; i < c.npairs; i++)
				fprintf(stderr, " %s(%d)=%.4g", grow_op_name(c.pairs[i].op), c.pairs[i].input, c.pairs[i].omega);
			fprintf(stderr, "\n");
		}
		/* the winner is selected; with the default threshold, it is the only one */
		int idx[8];
		int nw = grow_select(&c, &go, idx, 8);
		CHECK(nw >= 1 && (!right || idx[0] == best));
		nn_net_free(net);
		grow_cand_free(&c);
		nn_graph_free(&pg);
	}
	fprintf(stderr, "  maxpool(a) has the largest |omega| in %d of 10 seeds; winner / runner-up >= %.1f\n", wins,
		ratio_min);
	CHECKM(wins >= 9, "the useful pair won in %d of 10 seeds", wins);
	CHECKM(ratio_min >= 5, "winner |omega| only %.2fx the next one", ratio_min);
	nn_data_free(&d);
}

/* 3. children at step 0 compute what their parents compute; 200 random
 * growths (children become parents half of the time), every child plans */
static void test_children_start_equal(void)
{
	nn_rng r = { 2024 };
	nn_shape in = { 1, 2, 9, 9 };
	int rows = 2, made = 0, equal = 0, planned = 0, nochild = 0;
	float x[2 * 162];
	double worst = 0;
	nn_graph pg;
	int have = 0;
	for (int it = 0; it < 200; it++) {
		if (!have || nn_rng_u64(&r) % 2 == 0) {
			if (have)
				nn_graph_free(&pg);
			random_parent(&pg, &r, in, 3);
			have = 1;
		}
		grow_opts go;
		random_gopts(&go, &r);
		go.random = (int)(nn_rng_u64(&r) % 2);
		go.threshold = 0; /* omegas start at 1/n: every pair can win */
		grow_cand c;
		char err[256] = "";
		int rc = grow_candidate(&pg, &go, NULL, 0, &c, err, sizeof err);
		CHECKM(rc == 0, "growth %d: candidate: %s", it, err);
		if (rc)
			continue;
		nn_net *cn;
		CHECK_OK(nn_net_create(&cn, &c.g, rows, err, sizeof err), nn_strerror);
		nn_net_init(cn, nn_rng_u64(&r));
		rand_input(x, sizeof x / sizeof *x, it);
		for (int k = 0; k < 3; k++)
			nn_forward(cn, x, rows, 1); /* move BN running statistics */
		/* random omegas */
		for (int i = 0; i < c.npairs; i++) {
			size_t o, l;
			nn_net_param_slice(cn, c.pairs[i].gate, &o, &l);
			nn_net_params(cn)[o] = nn_rng_normal(&r);
		}
		grow_read_omegas(&c, cn);
		int win[48];
		int nw = grow_select(&c, &go, win, 48);
		if (!nw) {
			nochild++;
			nn_net_free(cn);
			grow_cand_free(&c);
			continue;
		}
		nn_model child;
		char desc[256];
		rc = grow_child(&c, cn, win, nw, &child, desc, sizeof desc, err, sizeof err);
		CHECKM(rc == 0, "growth %d: child: %s", it, err);
		if (rc) {
			nn_net_free(cn);
			grow_cand_free(&c);
			continue;
		}
		made++;
		nn_net *ch;
		if (nn_model_to_net(&child, rows, &ch, err, sizeof err) == 0) {
			planned++;
			float zc[6];
			memcpy(zc, nn_forward(cn, x, rows, 0), sizeof zc);
			const float *zk = nn_forward(ch, x, rows, 0);
			double m = 0;
			for (int i = 0; i < 6; i++)
				m = fmax(m, fabs((double)zk[i] - zc[i]));
			worst = fmax(worst, m);
			equal += m <= 1e-6;
			/* and the child trains: one step runs */
			nn_forward(ch, x, rows, 1);
			nn_net_free(ch);
		} else {
			fprintf(stderr, "  growth %d: child does not plan: %s\n", it, err);
		}
		/* half of the time the child becomes the next parent */
		if (nn_rng_u64(&r) % 2) {
			nn_graph_free(&pg);
			nn_graph_copy(&pg, &child.g);
		}
		nn_model_free(&child);
		nn_net_free(cn);
		grow_cand_free(&c);
	}
	if (have)
		nn_graph_free(&pg);
	fprintf(stderr, "  %d children (%d growths yielded none), %d planned, %d equal; worst |diff| %.3g\n", made,
		nochild, planned, equal, worst);
	CHECK(made >= 150);
	CHECK(planned == made);
	CHECKM(equal == made, "%d of %d children differ from their parent at step 0 (worst %.3g)", made - equal, made,
	       worst);
}

/* 4. warm start: on a Fashion-MNIST subset, a child trained from inherited
 * weights reaches a lower validation loss than the same architecture trained
 * from scratch for the same number of steps */
static void test_warm_start_wins(void)
{
	nn_data all, sub, tr, va;
	char err[512] = "";
	int rc = nn_data_load(&all, NULL, "train", NULL, err, sizeof err);
	CHECKM(rc == 0, "Fashion-MNIST is needed for this test (Debian's dataset-fashion-mnist): %s", err);
	if (rc)
		return;
	nn_data_head(&all, 7000, &sub);
	nn_data_split(&sub, 1000, &tr, &va);
	nn_graph pg;
	grow_seed_opts so = { 8, 2, 1 };
	grow_seed(&pg, (nn_shape){ 1, 1, 28, 28 }, 10, &so);
	nn_net *pn;
	CHECK_OK(nn_net_create(&pn, &pg, 128, err, sizeof err), nn_strerror);
	nn_net_init(pn, 5);
	nn_train_opts to;
	nn_train_defaults(&to);
	to.epochs = 2, to.lr = 0.05f, to.seed = 5;
	nn_train_result r;
	CHECK_OK(nn_train(pn, &tr, &to, &r), nn_strerror);
	nn_model parent;
	nn_model_from_net(&parent, pn);
	grow_opts go;
	grow_opts_defaults(&go);
	go.seed = 3;
	nn_train_opts ct = to;
	ct.epochs = 1;
	nn_model child;
	grow_report rep;
	CHECK_OK(grow_run_candidate(&parent, &tr, &va, &go, &ct, &child, &rep, err, sizeof err), grow_strerror);
	CHECKM(rep.has_child, "no child: %s", rep.desc);
	if (rep.has_child) {
		nn_model scratch;
		nn_net *sn;
		CHECK_OK(nn_net_create(&sn, &child.g, 128, err, sizeof err), nn_strerror);
		nn_net_init(sn, 9);
		nn_model_from_net(&scratch, sn);
		nn_net_free(sn);
		nn_train_opts kt = to;
		kt.epochs = 2;
		CHECK_OK(grow_train_child(&child, &tr, &va, NULL, &kt, err, sizeof err), grow_strerror);
		CHECK_OK(grow_train_child(&scratch, &tr, &va, NULL, &kt, err, sizeof err), grow_strerror);
		fprintf(stderr, "  grown %s; val loss: warm %.4f (acc %.3f), scratch %.4f (acc %.3f), parent %.4f\n",
			rep.desc, child.metrics.val_loss, child.metrics.val_acc, scratch.metrics.val_loss,
			scratch.metrics.val_acc, rep.parent_val_loss);
		CHECK(child.metrics.val_loss < scratch.metrics.val_loss);
		nn_model_free(&scratch);
		nn_model_free(&child);
	}
	grow_report_free(&rep);
	nn_model_free(&parent);
	nn_net_free(pn);
	nn_graph_free(&pg);
	nn_data_free(&all), nn_data_free(&sub), nn_data_free(&tr), nn_data_free(&va);
}

/* ---- grow's codes, and no silent caps ---- */
static void test_errors(void)
{
	nn_graph g;
	grow_seed_opts so = { 2, 1, 1 };
	CHECK_OK(grow_seed(&g, (nn_shape){ 1, 2, 4, 4 }, 3, &so), grow_strerror);
	grow_opts go;
	grow_opts_defaults(&go);
	grow_cand c;
	char err[256] = "";
	/* an empty op set, a target that is not a node, a target given twice */
	go.ops = 0;
	CHECK(grow_candidate(&g, &go, NULL, 0, &c, err, sizeof err) == GROW_EINVAL);
	go.ops = GROW_OPS_ALL;
	int bad = g.n, t = -1;
	CHECK(grow_candidate(&g, &go, &bad, 1, &c, err, sizeof err) == GROW_EINVAL);
	CHECK(grow_targets(&g, &t, 1) == 1);
	int twice[2] = { t, t };
	CHECK(grow_candidate(&g, &go, twice, 2, &c, err, sizeof err) == GROW_EINVAL);
	CHECKM(strstr(err, "twice") != NULL, "%s", err);
	/* no growth target at all */
	for (int i = 0; i < g.n; i++)
		g.nodes[i].role = NN_ROLE_NONE;
	CHECK(grow_candidate(&g, &go, NULL, 0, &c, err, sizeof err) == GROW_ENOTARGET);
	nn_graph_free(&g);
	/* op lists: unknown names and empty sets are refused */
	unsigned set;
	CHECK(grow_ops_parse("sep3x3,bogus", &set) == GROW_EINVAL);
	CHECK(grow_ops_parse(",", &set) == GROW_EINVAL);
	CHECK(grow_ops_parse("maxpool3x3, identity", &set) == 0 && set == (1u << GROW_OP_MAX3 | 1u << GROW_OP_IDENT));
	CHECK(strcmp(grow_strerror(GROW_ETOOMANY), grow_strerror(GROW_EINVAL)) != 0);
	CHECK(!strcmp(grow_strerror(NN_ESTOP), nn_strerror(NN_ESTOP))); /* nn codes grow passes on */
}

/* A list of op names longer than the 512 bytes the parser once copied: the
 * name after the old cut still counts. */
static void test_cap_op_list(void)
{
	char list[1200] = "";
	while (strlen(list) < 600)
		strcat(list, "identity,");
	strcat(list, "bogus");
	unsigned set;
	CHECK(grow_ops_parse(list, &set) == GROW_EINVAL);
	list[strlen(list) - 5] = 0;
	strcat(list, "maxpool3x3");
	CHECK(grow_ops_parse(list, &set) == 0 && set == (1u << GROW_OP_IDENT | 1u << GROW_OP_MAX3));
}

/* More targets than the old caps: 1100 growth targets (the target list held
 * 1024) in 1100 stages (256 were counted; beyond, choosing looped forever),
 * all of them in one candidate (a candidate held 16). */
static void test_cap_targets(void)
{
	nn_graph g;
	grow_seed_opts so = { 2, 1, 1100 };
	CHECK_OK(grow_seed(&g, (nn_shape){ 1, 3, 1, 1 }, 2, &so), grow_strerror);
	int n = grow_targets(&g, NULL, 0);
	CHECK(n == 1100);
	int *ids = malloc(sizeof(int) * (size_t)n);
	CHECK(grow_targets(&g, ids, n) == n);
	for (int i = 0; i < n; i++)
		g.nodes[ids[i]].stage = i;
	grow_opts go;
	grow_opts_defaults(&go);
	go.ops = 1u << GROW_OP_IDENT;
	go.targets = n;
	grow_cand c;
	char err[256] = "";
	CHECK_OK(grow_candidate(&g, &go, NULL, 0, &c, err, sizeof err), grow_strerror);
	CHECKM(c.ntargets == n, "%d of %d targets", c.ntargets, n);
	int sorted = 1;
	for (int i = 1; i < c.ntargets; i++)
		sorted &= c.targets[i - 1] < c.targets[i];
	CHECK(sorted);
	grow_cand_free(&c);
	/* the same targets given explicitly */
	CHECK_OK(grow_candidate(&g, &go, ids, 40, &c, err, sizeof err), grow_strerror);
	CHECK(c.ntargets == 40 && c.targets[39] == ids[39]);
	nn_net *net;
	CHECK_OK(nn_net_create(&net, &c.g, 2, err, sizeof err), nn_strerror);
	nn_net_free(net);
	grow_cand_free(&c);
	free(ids);
	nn_graph_free(&g);
}

/* One target with 70 layers in its window (the window held 64) and 140
 * (input, op) pairs (pairs were cut to the 64 inputs of one sum node): every
 * pair is kept, summed by a tree of sums, and the parent still computes what
 * it did. 70 winners on that target cannot be merged by one concat: a clear
 * error; 64 can. */
static void test_cap_pairs_per_target(void)
{
	nn_graph pg;
	grow_seed_opts so = { 2, 1, 70 };
	nn_shape in = { 1, 2, 4, 4 };
	CHECK_OK(grow_seed(&pg, in, 3, &so), grow_strerror);
	int nt = grow_targets(&pg, NULL, 0);
	int *ids = malloc(sizeof(int) * (size_t)nt);
	grow_targets(&pg, ids, nt);
	int t = ids[nt - 1];
	free(ids);
	grow_opts go;
	grow_opts_defaults(&go);
	go.ops = 1u << GROW_OP_IDENT | 1u << GROW_OP_AVG3;
	go.window = 70, go.max_inputs = 70;
	grow_cand c;
	char err[256] = "";
	CHECK_OK(grow_candidate(&pg, &go, &t, 1, &c, err, sizeof err), grow_strerror);
	CHECKM(c.npairs == 140, "%d pairs", c.npairs);
	nn_net *pn, *cn;
	int rows = 2;
	CHECK_OK(nn_net_create(&pn, &pg, rows, err, sizeof err), nn_strerror);
	CHECK_OK(nn_net_create(&cn, &c.g, rows, err, sizeof err), nn_strerror);
	nn_net_init(pn, 1);
	nn_net_init(cn, 2);
	nn_net_copy_weights(cn, pn);
	float x[2 * 32], zp[6];
	rand_input(x, 64, 5);
	memcpy(zp, nn_forward(pn, x, rows, 0), sizeof zp);
	CHECK(!memcmp(zp, nn_forward(cn, x, rows, 0), sizeof zp));
	/* every omega is live: dL/domega reaches all 140 gates */
	float dz[6];
	int y[2] = { 0, 1 };
	nn_softmax_ce(nn_forward(cn, x, rows, 1), y, rows, 3, dz, NULL);
	nn_zero_grad(cn);
	nn_backward(cn, dz);
	int live = 0;
	for (int i = 0; i < c.npairs; i++) {
		size_t o, l;
		nn_net_param_slice(cn, c.pairs[i].gate, &o, &l);
		live += nn_net_grads(cn)[o] != 0;
	}
	CHECKM(live == 140, "%d of 140 omegas have a gradient", live);
	grow_read_omegas(&c, cn);
	/* winners: an index array too small is an error, not a shorter list */
	go.k = 200, go.threshold = 0;
	int *win = malloc(sizeof(int) * (size_t)c.npairs);
	CHECK(grow_select(&c, &go, win, 10) == GROW_ETOOMANY);
	int nw = grow_select(&c, &go, win, c.npairs);
	CHECK(nw == 140);
	nn_model child;
	char desc[256];
	CHECK(grow_child(&c, cn, win, 70, &child, desc, sizeof desc, err, sizeof err) == GROW_ETOOMANY);
	CHECKM(strstr(err, "64") != NULL, "%s", err);
	CHECK_OK(grow_child(&c, cn, win, 64, &child, desc, sizeof desc, err, sizeof err), grow_strerror);
	nn_net *kn;
	CHECK_OK(nn_model_to_net(&child, rows, &kn, err, sizeof err), nn_strerror);
	float zk[6];
	memcpy(zk, nn_forward(cn, x, rows, 0), sizeof zk);
	const float *zc = nn_forward(kn, x, rows, 0);
	double m = 0;
	for (int i = 0; i < 6; i++)
		m = fmax(m, fabs((double)zc[i] - zk[i]));
	CHECKM(m <= 1e-6, "child differs from its parent at step 0 by %g", m);
	nn_net_free(kn);
	nn_model_free(&child);
	free(win);
	nn_net_free(pn), nn_net_free(cn);
	grow_cand_free(&c);
	nn_graph_free(&pg);
}

/* A candidate job over 20 targets: about 400 pairs (the report held 128) and
 * 60 winners (the job kept 48): the report holds them all, in |omega| order,
 * and the child grows on every target. */
static void test_cap_report(void)
{
	nn_graph pg;
	grow_seed_opts so = { 2, 1, 20 };
	nn_shape in = { 1, 2, 4, 4 };
	CHECK_OK(grow_seed(&pg, in, 3, &so), grow_strerror);
	nn_net *pn;
	char err[512] = "";
	CHECK_OK(nn_net_create(&pn, &pg, 1, err, sizeof err), nn_strerror);
	nn_net_init(pn, 3);
	nn_model parent;
	CHECK_OK(nn_model_from_net(&parent, pn), nn_strerror);
	nn_net_free(pn);
	nn_data d;
	memset(&d, 0, sizeof d);
	d.n = 64, d.c = 2, d.h = 4, d.w = 4, d.classes = 3;
	d.x = malloc(sizeof(float) * 64 * 32);
	d.y = malloc(sizeof(int) * 64);
	rand_input(d.x, 64 * 32, 11);
	for (int i = 0; i < 64; i++)
		d.y[i] = i % 3;
	grow_opts go;
	grow_opts_defaults(&go);
	go.targets = 20, go.threshold = 0, go.seed = 4;
	grow_cand c;
	CHECK_OK(grow_candidate(&parent.g, &go, NULL, 0, &c, err, sizeof err), grow_strerror);
	int npairs = c.npairs;
	grow_cand_free(&c);
	CHECKM(npairs > 128, "%d pairs", npairs);
	nn_train_opts to;
	nn_train_defaults(&to);
	to.batch = 32, to.epoch_frac = 0.5, to.augment = 0, to.seed = 4;
	nn_model child;
	grow_report rep;
	CHECK_OK(grow_run_candidate(&parent, &d, &d, &go, &to, &child, &rep, err, sizeof err), grow_strerror);
	CHECKM(rep.npairs == npairs && rep.nwin == 60 && rep.has_child, "%d pairs, %d winners: %s", rep.npairs, rep.nwin,
	       err);
	int ordered = 1, inrange = 1;
	for (int i = 1; i < rep.npairs; i++)
		ordered &= fabsf(rep.pairs[i - 1].omega) >= fabsf(rep.pairs[i].omega);
	for (int i = 0; i < rep.nwin; i++)
		inrange &= rep.win[i] >= 0 && rep.win[i] < rep.npairs;
	CHECK(ordered && inrange);
	if (rep.has_child) {
		int grown_on = 0;
		for (int i = 0; i < child.g.n; i++)
			grown_on += child.g.nodes[i].op == NN_OP_GATE && child.g.nodes[i].role == NN_ROLE_GROWN;
		CHECKM(grown_on == 20, "the child grew on %d of 20 targets", grown_on);
		nn_net *cn;
		CHECK_OK(nn_model_to_net(&child, 2, &cn, err, sizeof err), nn_strerror);
		nn_net_free(cn);
		nn_model_free(&child);
	}
	grow_report_free(&rep);
	CHECK(!rep.pairs && !rep.win && !rep.npairs && !rep.nwin);
	nn_model_free(&parent);
	nn_graph_free(&pg);
	nn_data_free(&d);
}

/* The short candidate job of a search (a tenth of an epoch, measurements on
 * the first eval_rows validation rows): the candidate stays invisible (the
 * parent after joint training, measured with its candidates, equals the
 * child at step 0 bit for bit, and both equal the child's net measured
 * alone on those rows), and eval_rows 0 measures every row. */
/* a small seed parent, 440 training rows and 200 validation rows (va's
 * arrays are d's): free with nn_model_free, nn_graph_free, free(d.x, d.y) */
static void small_job(nn_model *parent, nn_graph *pg, nn_data *d, nn_data *va)
{
	grow_seed_opts so = { 4, 2, 1 };
	nn_shape in = { 1, 1, 8, 8 };
	CHECK_OK(grow_seed(pg, in, 3, &so), grow_strerror);
	nn_net *pn;
	char err[512] = "";
	CHECK_OK(nn_net_create(&pn, pg, 16, err, sizeof err), nn_strerror);
	nn_net_init(pn, 6);
	CHECK_OK(nn_model_from_net(parent, pn), nn_strerror);
	nn_net_free(pn);
	memset(d, 0, sizeof *d);
	d->n = 640, d->c = 1, d->h = 8, d->w = 8, d->classes = 3, d->scale = 1;
	d->x = malloc(sizeof(float) * 640 * 64);
	d->y = malloc(sizeof(int) * 640);
	rand_input(d->x, 640 * 64, 12);
	for (int i = 0; i < 640; i++)
		d->y[i] = (d->x[i * 64 + 9] > 0) + (d->x[i * 64 + 27] > 0);
	*va = *d;
	va->n = 200;
	va->x = d->x + 440 * 64, va->y = d->y + 440;
	d->n = 440;
}

static void test_short_scoring(void)
{
	nn_graph pg;
	nn_model parent;
	nn_data d, va;
	char err[512] = "";
	small_job(&parent, &pg, &d, &va);
	/* the first 50 rows or all of them, with joint training; then the
	 * first 50 with the parent frozen */
	for (int mode = 0; mode < 3; mode++) {
		int all = mode == 1, frozen = mode == 2;
		grow_opts go;
		grow_opts_defaults(&go);
		go.seed = 8, go.threshold = 0, go.frozen = frozen;
		if (all)
			go.eval_rows = 0;
		else
			CHECK(go.eval_rows == 1024);
		if (!all)
			go.eval_rows = 50;
		nn_train_opts to;
		nn_train_defaults(&to);
		to.batch = 16, to.epoch_frac = 0.1, to.augment = 0, to.seed = 8;
		nn_model child;
		grow_report rep;
		CHECK_OK(grow_run_candidate(&parent, &d, &va, &go, &to, &child, &rep, err, sizeof err), grow_strerror);
		CHECKM(rep.has_child, "no child: %s", rep.desc);
		if (!rep.has_child) {
			grow_report_free(&rep);
			continue;
		}
		CHECKM(rep.child_val_loss0 == rep.parent_val_loss && rep.child_val_acc0 == rep.parent_val_acc,
		       "eval_rows %d: child at step 0 %.9g, parent after joint training %.9g", go.eval_rows,
		       rep.child_val_loss0, rep.parent_val_loss);
		nn_data sub = va;
		sub.n = all ? va.n : 50;
		nn_net *cn;
		float l, a, l2, a2;
		CHECK_OK(nn_model_to_net(&child, 16, &cn, err, sizeof err), nn_strerror);
		nn_evaluate(cn, &sub, &l, &a);
		CHECKM(fabsf(l - rep.parent_val_loss) <= 1e-6f * fmaxf(1, fabsf(l)),
		       "eval_rows %d: the child alone %.9g, the report %.9g", go.eval_rows, l, rep.parent_val_loss);
		/* and the other row count gives another measurement */
		sub.n = all ? 50 : va.n;
		nn_evaluate(cn, &sub, &l2, &a2);
		CHECKM(l2 != l, "the first 50 rows and all 200 measure the same loss %.9g", l);
		/* the parent's layers in the child: as they were when frozen,
		 * trained further by joint training */
		nn_net *pn2;
		CHECK_OK(nn_model_to_net(&parent, 16, &pn2, err, sizeof err), nn_strerror);
		size_t nsame = 0, nall = 0;
		for (int id = 0; id < pg.n; id++) {
			size_t po, pl, co, cl;
			nn_net_param_slice(pn2, id, &po, &pl);
			nn_net_param_slice(cn, id, &co, &cl);
			for (size_t j = 0; j < pl && pl == cl; j++)
				nsame += nn_net_params(pn2)[po + j] == nn_net_params(cn)[co + j];
			nall += pl;
		}
		if (frozen)
			CHECKM(nsame == nall, "frozen parent: %zu of %zu of its weights moved", nall - nsame, nall);
		else
			CHECKM(nsame < nall / 2, "joint training: %zu of %zu of the parent's weights did not move", nsame, nall);
		nn_net_free(pn2);
		nn_net_free(cn);
		nn_model_free(&child);
		grow_report_free(&rep);
	}
	nn_model_free(&parent);
	nn_graph_free(&pg);
	free(d.x), free(d.y);
}

/* Narrowing: half-way, each target keeps its 4 pairs of largest |omega|.
 * The dropped pairs never win and rank below the others; the child still
 * starts equal to its parent; and a job resumed after the drop ends with
 * the same child, bit for bit, as the whole run. */
static void test_narrowing(void)
{
	nn_graph pg;
	nn_model parent;
	nn_data d, va;
	char err[512] = "";
	small_job(&parent, &pg, &d, &va);
	grow_opts go;
	grow_opts_defaults(&go);
	go.seed = 8, go.threshold = 0, go.narrow_at = 0.5f, go.narrow_keep = 4, go.targets = 2;
	nn_train_opts to;
	nn_train_defaults(&to);
	to.batch = 16, to.epoch_frac = 0.5, to.augment = 0, to.seed = 8; /* 14 steps, dropped after 7 */
	grab_t gr = { 10, 0, NULL, NULL, NULL, 0, 0 };
	to.save = grab, to.save_ud = &gr, to.save_every_s = 1e-9;
	nn_model child[2];
	grow_report rep[2];
	CHECK_OK(grow_run_candidate(&parent, &d, &va, &go, &to, &child[0], &rep[0], err, sizeof err), grow_strerror);
	CHECKM(gr.got == 10, "no state saved after step 10 (%ld)", gr.got);
	nn_train_state st = { gr.got, gr.np, gr.ns, gr.params, gr.mom, gr.state };
	to.save = NULL, to.resume = &st;
	CHECK_OK(grow_run_candidate(&parent, &d, &va, &go, &to, &child[1], &rep[1], err, sizeof err), grow_strerror);
	for (int r = 0; r < 2; r++) {
		const grow_report *p = &rep[r];
		int ndrop = 0, order = 1, win_dropped = 0;
		for (int i = 0; i < p->npairs; i++) {
			ndrop += p->pairs[i].dropped != 0;
			if (i && !p->pairs[i].dropped && p->pairs[i - 1].dropped)
				order = 0;
		}
		for (int i = 0; i < p->nwin; i++)
			win_dropped |= p->pairs[p->win[i]].dropped;
		int targets = 0;
		for (int i = 0; i < p->npairs; i++) {
			int first = 1;
			for (int j = 0; j < i; j++)
				first &= p->pairs[j].target != p->pairs[i].target;
			targets += first;
		}
		CHECKM(targets == 2 && ndrop == p->npairs - 4 * targets, "run %d: %d of %d pairs dropped on %d targets", r,
		       ndrop, p->npairs, targets);
		CHECKM(order, "run %d: a dropped pair ranks above one that was kept", r);
		CHECKM(p->has_child && !win_dropped && p->nwin == 6, "run %d: %d winners, a dropped one among them: %d", r,
		       p->nwin, win_dropped);
		CHECKM(p->child_val_loss0 == p->parent_val_loss, "run %d: child at step 0 %.9g, parent %.9g", r,
		       p->child_val_loss0, p->parent_val_loss);
	}
	/* resumed after the drop: the same winners and weights; the dropped
	 * pairs' omega at the drop is not known there */
	CHECKM(!strcmp(rep[0].desc, rep[1].desc), "resumed: grew '%s', the whole run '%s'", rep[1].desc, rep[0].desc);
	int same = child[0].nparams == child[1].nparams &&
		   !memcmp(child[0].params, child[1].params, sizeof(float) * child[0].nparams);
	CHECKM(same, "resumed after the drop: other weights than the whole run");
	int known = 0, zero = 1;
	for (int i = 0; i < rep[0].npairs; i++)
		if (rep[0].pairs[i].dropped)
			known += rep[0].pairs[i].omega != 0;
	for (int i = 0; i < rep[1].npairs; i++)
		if (rep[1].pairs[i].dropped)
			zero &= rep[1].pairs[i].omega == 0;
	CHECKM(known > 0 && zero, "dropped pairs' omega: %d known in the whole run, all 0 when resumed: %d", known, zero);
	for (int r = 0; r < 2; r++) {
		nn_model_free(&child[r]);
		grow_report_free(&rep[r]);
	}
	free(gr.params), free(gr.mom), free(gr.state);
	nn_model_free(&parent);
	nn_graph_free(&pg);
	free(d.x), free(d.y);
}

/* ---- places to grow in imported graphs (grow_mark) ---- */

/* roles of g after grow_mark as an imported model (g is taken) */
static void mark(nn_graph *g)
{
	nn_model m;
	memset(&m, 0, sizeof m);
	m.g = *g;
	m.imported = 1;
	CHECK_OK(grow_mark(&m, 0), grow_strerror);
	*g = m.g;
}

static int count_role(const nn_graph *g, int role)
{
	int n = 0;
	for (int i = 0; i < g->n; i++)
		n += g->nodes[i].role == role;
	return n;
}

/* conv k x k -> BN -> ReLU, as torch exports it; returns the ReLU */
static int cbr(nn_graph *g, int x, int cout, int k, int stride, int groups)
{
	return nn_relu(g, nn_bn(g, nn_conv(g, x, cout, k, stride, k / 2, 1, groups, 0)));
}

/* inverted residual (mobilenet_v2): expand 1x1, depthwise 3x3, project 1x1
 * + BN, no activation after it; a residual add when shapes allow. *proj
 * gets the projection's BN. */
static int inverted(nn_graph *g, int x, int cin, int cout, int stride, int *proj)
{
	int h = cbr(g, x, cin * 4, 1, 1, 1);
	h = cbr(g, h, cin * 4, 3, stride, cin * 4);
	h = nn_bn(g, nn_conv(g, h, cout, 1, 1, 0, 1, 1, 0));
	*proj = h;
	if (stride == 1 && cin == cout) {
		int in[2] = { x, h };
		return nn_sum(g, in, 2);
	}
	return h;
}

/* mobilenet_v2 in small: the stem, the ends of inverted-residual blocks
 * (their adds, or the projection's BN without an add), never the
 * activations inside a block or a block of 1x1 */
static void test_mark_inverted_residual(void)
{
	nn_graph g;
	nn_graph_init(&g, (nn_shape){ 1, 1, 16, 16 }, 10);
	int x = nn_input(&g);
	int stem = cbr(&g, x, 8, 3, 2, 1);                 /* 8x8x8 */
	int p1, p2, p3, p4;
	int b1 = inverted(&g, stem, 8, 16, 2, &p1);        /* 16x4x4, no add: its BN */
	int b2 = inverted(&g, b1, 16, 16, 1, &p2);         /* 16x4x4, an add */
	int b3 = inverted(&g, b2, 16, 16, 4, &p3);         /* 16x1x1: too small */
	int b4 = inverted(&g, b3, 16, 16, 1, &p4);         /* 16x1x1 add: too small */
	nn_linear(&g, nn_gap(&g, b4), 10);
	mark(&g);
	CHECK(g.nodes[stem].role == NN_ROLE_STEM);
	CHECK(b1 == p1 && g.nodes[b1].role == NN_ROLE_BLOCK_END);
	CHECK(g.nodes[b2].op == NN_OP_SUM && g.nodes[b2].role == NN_ROLE_BLOCK_END);
	CHECK(g.nodes[p2].role == NN_ROLE_NONE); /* the add is the block's end */
	CHECK(g.nodes[b3].role == NN_ROLE_NONE && g.nodes[b4].role == NN_ROLE_NONE);
	CHECKM(count_role(&g, NN_ROLE_BLOCK_END) == 2, "%d block ends", count_role(&g, NN_ROLE_BLOCK_END));
	for (int i = 0; i < g.n; i++)
		CHECKM(g.nodes[i].op != NN_OP_RELU || i == stem || g.nodes[i].role == NN_ROLE_NONE,
		       "ReLU %d inside a block is marked", i);
	/* and it grows: a candidate on those targets plans */
	int t[4];
	CHECK(grow_targets(&g, t, 4) == 2 && t[0] == b1 && t[1] == b2);
	grow_opts go;
	grow_opts_defaults(&go);
	grow_cand c;
	char err[512] = "";
	CHECK_OK(grow_candidate(&g, &go, &b2, 1, &c, err, sizeof err), grow_strerror);
	if (!c.g.n)
		fprintf(stderr, "%s\n", err);
	nn_net *net;
	CHECK_OK(nn_net_create(&net, &c.g, 2, err, sizeof err), nn_strerror);
	nn_net_free(net);
	grow_cand_free(&c);
	nn_graph_free(&g);
}

/* resnet and densenet in small: residual adds and concatenations are block
 * ends, the ReLU after an add is not, strided pools are reductions */
static void test_mark_residual_dense(void)
{
	nn_graph g;
	nn_graph_init(&g, (nn_shape){ 1, 1, 12, 12 }, 10);
	int x = nn_input(&g);
	int stem = cbr(&g, x, 8, 3, 1, 1);
	int pool = nn_pool(&g, NN_OP_MAXPOOL, stem, 3, 2);   /* 8x6x6 */
	int h = nn_bn(&g, nn_conv(&g, cbr(&g, pool, 8, 3, 1, 1), 8, 3, 1, 1, 1, 1, 0));
	int in[3] = { pool, h };
	int add = nn_sum(&g, in, 2);
	int post = nn_relu(&g, add);
	/* two dense layers: BN -> ReLU -> conv1x1 -> BN -> ReLU -> conv3x3, concat */
	int cat = post, c = 8;
	int cats[2];
	for (int k = 0; k < 2; k++) {
		int y = nn_conv(&g, cbr(&g, nn_relu(&g, nn_bn(&g, cat)), 16, 1, 1, 1), 4, 3, 1, 1, 1, 1, 0);
		in[0] = cat, in[1] = y;
		cats[k] = cat = nn_concat(&g, in, 2);
		c += 4;
	}
	/* transition: BN -> ReLU -> conv1x1 -> avgpool 2 stride 2 */
	int tr = nn_pool(&g, NN_OP_AVGPOOL, nn_conv(&g, nn_relu(&g, nn_bn(&g, cat)), c / 2, 1, 1, 0, 1, 1, 0), 2, 2);
	nn_linear(&g, nn_gap(&g, tr), 10);
	mark(&g);
	CHECK(g.nodes[stem].role == NN_ROLE_STEM);
	CHECK(g.nodes[pool].role == NN_ROLE_REDUCE && g.nodes[tr].role == NN_ROLE_REDUCE);
	CHECK(g.nodes[add].role == NN_ROLE_BLOCK_END && g.nodes[post].role == NN_ROLE_NONE);
	CHECK(g.nodes[cats[0]].role == NN_ROLE_BLOCK_END && g.nodes[cats[1]].role == NN_ROLE_BLOCK_END);
	CHECKM(count_role(&g, NN_ROLE_BLOCK_END) == 3, "%d block ends", count_role(&g, NN_ROLE_BLOCK_END));
	nn_graph_free(&g);
}

/* a plain chain of convs (no merge): the end of each conv's chain is a
 * block; a model that has roles already is left as it is */
static void test_mark_plain(void)
{
	nn_graph g;
	nn_graph_init(&g, (nn_shape){ 1, 1, 8, 8 }, 10);
	int x = nn_input(&g);
	int a = cbr(&g, x, 4, 3, 1, 1);
	int b = cbr(&g, nn_pool(&g, NN_OP_MAXPOOL, a, 3, 2), 8, 3, 1, 1); /* 4x4 */
	int c = cbr(&g, nn_pool(&g, NN_OP_MAXPOOL, b, 3, 2), 8, 3, 1, 1); /* 2x2 */
	int d = cbr(&g, nn_pool(&g, NN_OP_MAXPOOL, c, 3, 2), 8, 3, 1, 1); /* 1x1 */
	nn_linear(&g, d, 10);
	mark(&g);
	CHECK(g.nodes[a].role == NN_ROLE_STEM);
	CHECK(g.nodes[b].role == NN_ROLE_BLOCK_END && g.nodes[c].role == NN_ROLE_BLOCK_END);
	CHECK(g.nodes[d].role == NN_ROLE_NONE);
	CHECK(count_role(&g, NN_ROLE_BLOCK_END) == 2 && count_role(&g, NN_ROLE_REDUCE) == 2); /* the last pool is 1x1 */
	/* marked again: nothing changes */
	nn_graph h;
	CHECK_OK(nn_graph_copy(&h, &g), nn_strerror);
	mark(&h);
	int same = 1;
	for (int i = 0; i < g.n; i++)
		same &= g.nodes[i].role == h.nodes[i].role;
	CHECK(same);
	nn_graph_free(&h);
	/* only the stem is big enough: it becomes the target */
	nn_graph s;
	nn_graph_init(&s, (nn_shape){ 1, 1, 4, 4 }, 3);
	int e = cbr(&s, nn_input(&s), 4, 3, 1, 1);
	int f = cbr(&s, nn_pool(&s, NN_OP_MAXPOOL, e, 3, 4), 4, 3, 1, 1); /* 1x1 */
	nn_linear(&s, f, 3);
	mark(&s);
	CHECK(s.nodes[e].role == NN_ROLE_BLOCK_END && count_role(&s, NN_ROLE_BLOCK_END) == 1);
	nn_graph_free(&s);
	nn_graph_free(&g);
}

/* squeeze-and-excitation (a broadcast multiply) and channel shuffles: the
 * block's end is the multiply or the shuffle, not the concat before a
 * shuffle */
static void test_mark_se_shuffle(void)
{
	{
		nn_graph g;
		nn_graph_init(&g, (nn_shape){ 1, 1, 8, 8 }, 10);
		int x = cbr(&g, nn_input(&g), 8, 3, 1, 1);
		int h = cbr(&g, cbr(&g, x, 16, 1, 1, 1), 16, 3, 1, 16);
		int s = nn_relu(&g, nn_conv(&g, nn_gap(&g, h), 4, 1, 1, 0, 1, 1, 1));
		s = nn_conv(&g, s, 16, 1, 1, 0, 1, 1, 1);
		int se = nn_mul(&g, h, s);
		int out = nn_bn(&g, nn_conv(&g, se, 8, 1, 1, 0, 1, 1, 0));
		int in[2] = { x, out };
		int add = nn_sum(&g, in, 2);
		nn_linear(&g, nn_gap(&g, add), 10);
		nn_shape *sh = malloc(sizeof *sh * (size_t)g.n);
		char err[256] = "";
		CHECKM(sh && nn_graph_shapes(&g, sh, err, sizeof err) == 0, "the SE block does not plan: %s", err);
		mark(&g);
		CHECK(g.nodes[se].role == NN_ROLE_BLOCK_END && g.nodes[add].role == NN_ROLE_BLOCK_END);
		CHECK(count_role(&g, NN_ROLE_BLOCK_END) == 2);
		free(sh);
		nn_graph_free(&g);
	}
	{
		nn_graph g;
		nn_graph_init(&g, (nn_shape){ 1, 1, 8, 8 }, 10);
		int x = cbr(&g, nn_input(&g), 8, 3, 1, 1);
		int a = cbr(&g, x, 8, 1, 1, 1), b = cbr(&g, x, 8, 1, 1, 1);
		int in[2] = { a, b };
		int cat = nn_concat(&g, in, 2);
		nn_params p = { 0 };
		p.groups = 2;
		int sh1 = nn_add(&g, NN_OP_SHUFFLE, &cat, 1, p);
		nn_linear(&g, nn_gap(&g, sh1), 10);
		nn_shape *sh = malloc(sizeof *sh * (size_t)g.n);
		char err[256] = "";
		CHECKM(sh && nn_graph_shapes(&g, sh, err, sizeof err) == 0, "the shuffle does not plan: %s", err);
		mark(&g);
		CHECK(g.nodes[sh1].role == NN_ROLE_BLOCK_END && g.nodes[cat].role == NN_ROLE_NONE);
		free(sh);
		nn_graph_free(&g);
	}
}

int main(void)
{
	RUN(test_seed_shapes);
	RUN(test_candidate_is_invisible);
	RUN(test_omega_signal);
	RUN(test_children_start_equal);
	RUN(test_warm_start_wins);
	RUN(test_errors);
	RUN(test_cap_op_list);
	RUN(test_cap_targets);
	RUN(test_cap_pairs_per_target);
	RUN(test_cap_report);
	RUN(test_short_scoring);
	RUN(test_narrowing);
	RUN(test_mark_inverted_residual);
	RUN(test_mark_residual_dense);
	RUN(test_mark_plain);
	RUN(test_mark_se_shuffle);
	return check_report();
}
