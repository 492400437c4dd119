/* cand.c - candidates (weak learners) and children.
 *
 * A candidate for target T: every (input, op) pair over T's window is
 * computed on stop-gradient inputs, resized to T's shape (factorized
 * reductions for each halving of H/W, a 1x1 projection for channels),
 * weighted by omega (a gate, init 1/n, L1 penalty) and summed; the sum
 * reaches T through stop-forward. So the parent computes exactly what it did
 * while every omega receives dL/dT . branch: the candidate learns to fit
 * the parent's loss gradient, with no scaling of that gradient.
 *
 * The child keeps the winners' branches and their weights, merges them
 * (concat -> ReLU -> conv1x1 -> BN) and adds them to T through a gate that
 * starts at 0, so at step 0 it computes what its parent computes.
 */
#include "grow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[GROW_OP__COUNT] = {
	[GROW_OP_SEP3] = "sep3x3",
	[GROW_OP_SEP5] = "sep5x5",
	[GROW_OP_DIL3] = "dil3x3",
	[GROW_OP_DIL5] = "dil5x5",
	[GROW_OP_MAX3] = "maxpool3x3",
	[GROW_OP_AVG3] = "avgpool3x3",
	[GROW_OP_IDENT] = "identity",
};
_Static_assert(GROW_OP__COUNT == 7, "grow op ids are append-only: add names above");

const char *grow_op_name(int op) { return op >= 0 && op < GROW_OP__COUNT ? op_names[op] : "unknown"; }

int grow_op_from_name(const char *name)
{
	for (int i = 0; i < GROW_OP__COUNT; i++)
		if (!strcmp(op_names[i], name))
			return i;
	return -1;
}

int grow_ops_parse(const char *list, unsigned *set)
{
	*set = 0;
	char *buf = strdup(list), *save = NULL; /* a list of any length */
	if (!buf)
		return GROW_ENOMEM;
	int rc = 0;
	for (char *t = strtok_r(buf, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (!strcmp(t, "all")) {
			*set |= GROW_OPS_ALL;
			continue;
		}
		int op = grow_op_from_name(t);
		if (op < 0)
			rc = GROW_EINVAL;
		else
			*set |= 1u << op;
	}
	free(buf);
	return rc ? rc : *set ? 0 : GROW_EINVAL;
}

void grow_opts_defaults(grow_opts *o)
{
	memset(o, 0, sizeof *o);
	o->targets = 1;
	o->window = 3;
	o->max_inputs = 3;
	o->ops = GROW_OPS_ALL;
	o->lambda = 0;
	o->k = 3;
	o->threshold = 1e-3f;
	o->seed = 1;
	o->eval_rows = 1024;
	o->narrow_at = 0.5f; /* by rank_agree.sh and defaults.sh: README */
	o->narrow_keep = 0;  /* 2k */
}

static int is_target_role(int r) { return r == NN_ROLE_BLOCK_END || r == NN_ROLE_REDUCE; }
static int is_input_role(int r) { return r == NN_ROLE_BLOCK_END || r == NN_ROLE_REDUCE || r == NN_ROLE_STEM; }

int grow_targets(const nn_graph *g, int *out, int max)
{
	int n = 0;
	for (int i = 0; i < g->n; i++)
		if (is_target_role(g->nodes[i].role)) {
			if (n < max)
				out[n] = i;
			n++;
		}
	return n;
}

void grow_cand_free(grow_cand *c)
{
	nn_graph_free(&c->g);
	nn_graph_free(&c->parent);
	free(c->targets);
	free(c->pairs);
	memset(c, 0, sizeof *c);
}

#define TRY(e) do { int r_ = (e); if (r_ < 0) { rc = r_; goto fail; } } while (0)

/* Add `node` to target t: appended to t's inputs when t is a sum, else a
 * new sum(t, node) takes t's place for all of t's consumers (the caller
 * moves the graph output when it was t: builders move g->output). */
static int attach(nn_graph *g, int t, int node)
{
	nn_node *d = &g->nodes[t];
	if (d->op == NN_OP_SUM && d->nin < NN_MAXIN) {
		d->in[d->nin++] = node;
		return t;
	}
	int pair[2] = { t, node };
	int s = nn_sum(g, pair, 2);
	if (s < 0)
		return s;
	for (int i = 0; i < g->n; i++) {
		if (i == s)
			continue;
		nn_node *u = &g->nodes[i];
		for (int j = 0; j < u->nin; j++)
			if (u->in[j] == t && i != node)
				u->in[j] = s;
	}
	/* the consumers above include nothing of the new branch: it only
	 * reads layers before t */
	g->nodes[s].role = g->nodes[t].role;
	g->nodes[s].stage = g->nodes[t].stage;
	g->nodes[t].role = NN_ROLE_NONE;
	return s;
}

/* ancestors of t (inputs reachable backwards), as a 0/1 array */
static unsigned char *ancestors(const nn_graph *g, int t)
{
	unsigned char *a = calloc(g->n, 1);
	int *stk = malloc(sizeof(int) * (g->n + 1));
	if (!a || !stk) {
		free(a);
		free(stk);
		return NULL;
	}
	int sp = 0;
	stk[sp++] = t;
	while (sp) {
		int u = stk[--sp];
		for (int j = 0; j < g->nodes[u].nin; j++) {
			int v = g->nodes[u].in[j];
			if (!a[v]) {
				a[v] = 1;
				stk[sp++] = v;
			}
		}
	}
	free(stk);
	return a;
}

/* halvings needed to go from (h, w) to (th, tw) by factorized reductions;
 * -1 when impossible */
static int halvings(int h, int w, int th, int tw)
{
	int n = 0;
	while ((h > th || w > tw) && n < 16)
		h = (h + 1) / 2, w = (w + 1) / 2, n++;
	return h == th && w == tw ? n : -1;
}

/* Append the op and resizing of one pair; returns the branch's last node. */
static int build_branch(nn_graph *g, int x, nn_shape xs, nn_shape ts, int op)
{
	int y, c = xs.c;
	switch (op) {
	case GROW_OP_SEP3: y = nn_sepconv(g, x, c, c, 3, 1, 1, 2); break;
	case GROW_OP_SEP5: y = nn_sepconv(g, x, c, c, 5, 1, 1, 2); break;
	case GROW_OP_DIL3: y = nn_sepconv(g, x, c, c, 3, 2, 1, 1); break;
	case GROW_OP_DIL5: y = nn_sepconv(g, x, c, c, 5, 2, 1, 1); break;
	case GROW_OP_MAX3: y = nn_pool(g, NN_OP_MAXPOOL, x, 3, 1); break;
	case GROW_OP_AVG3: y = nn_pool(g, NN_OP_AVGPOOL, x, 3, 1); break;
	case GROW_OP_IDENT: y = nn_unary(g, NN_OP_IDENTITY, x); break;
	default: return GROW_EINVAL;
	}
	if (y < 0)
		return y;
	int h = xs.h, w = xs.w;
	while (h > ts.h || w > ts.w) {
		int co = ts.c % 2 ? ts.c + 1 : ts.c;
		if ((y = nn_factred(g, y, co)) < 0)
			return y;
		c = co, h = (h + 1) / 2, w = (w + 1) / 2;
	}
	if (c != ts.c && (y = nn_proj(g, y, ts.c)) < 0)
		return y;
	return y;
}

static void shuffle(int *v, int n, nn_rng *r)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(nn_rng_u64(r) % (uint64_t)(i + 1));
		int t = v[i];
		v[i] = v[j], v[j] = t;
	}
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void sort_ids(int *v, int n) { qsort(v, (size_t)n, sizeof *v, cmp_int); }

/* choose nt targets spread over stages into *out (malloc'd); returns how
 * many (0 when the graph has none), or GROW_ENOMEM */
static int choose_targets(const nn_graph *g, int nt, nn_rng *r, int **out)
{
	int n = grow_targets(g, NULL, 0);
	*out = NULL;
	if (n == 0)
		return 0;
	if (nt > n)
		nt = n;
	int *all = malloc(sizeof(int) * (size_t)n), *stages = malloc(sizeof(int) * (size_t)n);
	unsigned char *used = calloc((size_t)n, 1);
	if (!all || !stages || !used || !(*out = malloc(sizeof(int) * (size_t)nt))) {
		free(all), free(stages), free(used);
		return GROW_ENOMEM;
	}
	grow_targets(g, all, n);
	/* stages present, in random order; then one target per stage round robin */
	int ns = 0;
	for (int i = 0; i < n; i++) {
		int s = g->nodes[all[i]].stage, seen = 0;
		for (int j = 0; j < ns; j++)
			seen |= stages[j] == s;
		if (!seen)
			stages[ns++] = s;
	}
	shuffle(stages, ns, r);
	shuffle(all, n, r);
	int k = 0;
	while (k < nt) {
		for (int si = 0; si < ns && k < nt; si++)
			for (int i = 0; i < n; i++)
				if (!used[i] && g->nodes[all[i]].stage == stages[si]) {
					used[i] = 1;
					(*out)[k++] = all[i];
					break;
				}
	}
	free(all), free(stages), free(used);
	sort_ids(*out, k); /* the same set always builds the same graph */
	return k;
}

/* Sum ids[0..n) (n >= 1): one sum node, or a tree of them when there are
 * more terms than one node takes (NN_MAXIN); returns the last node, or ids[0]
 * alone. ids is overwritten. */
static int sum_wide(nn_graph *g, int *ids, int n)
{
	while (n > 1) {
		int k = 0;
		for (int i = 0; i < n; i += NN_MAXIN) {
			int m = n - i < NN_MAXIN ? n - i : NN_MAXIN;
			int s = m > 1 ? nn_sum(g, ids + i, m) : ids[i];
			if (s < 0)
				return s;
			ids[k++] = s;
		}
		n = k;
	}
	return ids[0];
}

int grow_candidate(const nn_graph *parent, const grow_opts *o, const int *targets, int ntargets, grow_cand *c,
		   char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	int rc = 0;
	nn_shape *sh = NULL;
	unsigned char *anc = NULL;
	int *win = NULL, *gates = NULL;
	nn_rng r = { o->seed * 0x2545F4914F6CDD1Dull + 99 };
	TRY(nn_graph_copy(&c->g, parent));
	TRY(nn_graph_copy(&c->parent, parent));
	c->parent_n = parent->n;
	int out = parent->output;
	sh = malloc(sizeof(nn_shape) * (parent->n + 1));
	win = malloc(sizeof(int) * (parent->n + 1));
	if (!sh || !win) {
		rc = GROW_ENOMEM;
		goto fail;
	}
	TRY(nn_graph_shapes(parent, sh, err, errlen));
	if (ntargets > 0) {
		if (!(c->targets = malloc(sizeof(int) * (size_t)ntargets))) {
			rc = GROW_ENOMEM;
			goto fail;
		}
		for (int i = 0; i < ntargets; i++) {
			if (targets[i] < 0 || targets[i] >= parent->n) {
				nn_errf(err, errlen, "target %d is not a node", targets[i]);
				rc = GROW_EINVAL;
				goto fail;
			}
			for (int j = 0; j < i; j++)
				if (targets[j] == targets[i]) {
					nn_errf(err, errlen, "target %d is given twice", targets[i]);
					rc = GROW_EINVAL;
					goto fail;
				}
			c->targets[i] = targets[i];
		}
		c->ntargets = ntargets;
	} else {
		TRY(c->ntargets = choose_targets(parent, o->targets < 1 ? 1 : o->targets, &r, &c->targets));
		if (!c->ntargets) {
			nn_errf(err, errlen, "the network has no growth targets (block ends)");
			rc = GROW_ENOTARGET;
			goto fail;
		}
	}
	int nops = 0, ops[GROW_OP__COUNT];
	for (int i = 0; i < GROW_OP__COUNT; i++)
		if (o->ops & (1u << i))
			ops[nops++] = i;
	if (!nops) {
		nn_errf(err, errlen, "empty op set");
		rc = GROW_EINVAL;
		goto fail;
	}
	for (int ti = 0; ti < c->ntargets; ti++) {
		int t = c->targets[ti];
		free(anc);
		if (!(anc = ancestors(parent, t))) {
			rc = GROW_ENOMEM;
			goto fail;
		}
		/* window: the nearest input-role ancestors of t that can be resized to t */
		int nw = 0, maxw = o->window < 1 ? 1 : o->window;
		for (int i = parent->n - 1; i >= 0 && nw < maxw; i--)
			if (anc[i] && is_input_role(parent->nodes[i].role) && halvings(sh[i].h, sh[i].w, sh[t].h, sh[t].w) >= 0)
				win[nw++] = i;
		if (!nw) {
			/* no marked layers before t: use its direct inputs */
			for (int j = 0; j < parent->nodes[t].nin && nw < maxw; j++) {
				int i = parent->nodes[t].in[j];
				if (halvings(sh[i].h, sh[i].w, sh[t].h, sh[t].w) >= 0)
					win[nw++] = i;
			}
		}
		if (!nw) {
			nn_errf(err, errlen, "target %d has no layer before it to grow from", t);
			rc = GROW_ENOTARGET;
			goto fail;
		}
		int ni = o->max_inputs < 1 ? 1 : o->max_inputs;
		if (ni < nw) {
			shuffle(win, nw, &r);
			nw = ni;
			sort_ids(win, nw);
		}
		/* every (input, op) pair: their gates are summed by a tree of sum
		 * nodes when one node cannot take them all */
		int np = nw * nops;
		grow_pair *pp = realloc(c->pairs, sizeof(grow_pair) * (size_t)(c->npairs + np));
		int *gp = realloc(gates, sizeof(int) * (size_t)np);
		if (pp)
			c->pairs = pp;
		if (gp)
			gates = gp;
		if (!pp || !gp) {
			rc = GROW_ENOMEM;
			goto fail;
		}
		memset(c->pairs + c->npairs, 0, sizeof(grow_pair) * (size_t)np);
		float lambda = o->lambda > 0 ? o->lambda : 0.01f / (float)np;
		int ng = 0;
		for (int wi = 0; wi < nw; wi++) {
			int x = win[wi], sg;
			TRY(sg = nn_unary(&c->g, NN_OP_STOPGRAD, x));
			c->g.nodes[sg].role = NN_ROLE_CAND;
			c->g.nodes[sg].stage = parent->nodes[t].stage;
			for (int oi = 0; oi < nops; oi++) {
				grow_pair *p = &c->pairs[c->npairs];
				p->target = t, p->input = x, p->op = ops[oi];
				p->first = c->g.n;
				int y;
				TRY(y = build_branch(&c->g, sg, sh[x], sh[t], ops[oi]));
				p->last = y;
				int gt;
				TRY(gt = nn_gate(&c->g, y, 1.0f / (float)np));
				c->g.nodes[gt].p.l1 = lambda;
				p->gate = gt;
				for (int i = p->first; i <= gt; i++) {
					c->g.nodes[i].role = NN_ROLE_CAND;
					c->g.nodes[i].stage = parent->nodes[t].stage;
				}
				gates[ng++] = gt;
				c->npairs++;
			}
		}
		int first = c->g.n, s, sf;
		TRY(s = sum_wide(&c->g, gates, ng));
		TRY(sf = nn_unary(&c->g, NN_OP_STOPFWD, s));
		for (int i = first; i <= sf; i++) {
			c->g.nodes[i].role = NN_ROLE_CAND;
			c->g.nodes[i].stage = parent->nodes[t].stage;
		}
		int at = attach(&c->g, t, sf);
		TRY(at);
		if (out == t)
			out = at;
		if (at != t) {
			/* a new sum took t's place in the candidate graph; later targets
			 * keep naming the parent's node */
			c->g.nodes[at].role = NN_ROLE_CAND;
		}
	}
	c->g.output = out;
	free(sh);
	free(anc);
	free(win);
	free(gates);
	return 0;
fail:
	free(sh);
	free(anc);
	free(win);
	free(gates);
	grow_cand_free(c);
	return rc < 0 ? rc : GROW_EINVAL;
}

void grow_read_omegas(grow_cand *c, nn_net *net)
{
	const float *w = nn_net_params(net);
	for (int i = 0; i < c->npairs; i++) {
		size_t off, len;
		nn_net_param_slice(net, c->pairs[i].gate, &off, &len);
		c->pairs[i].omega = w[off];
	}
}

int grow_select(const grow_cand *c, const grow_opts *o, int *idx, int max)
{
	int n = 0;
	nn_rng r = { o->seed * 0x9E3779B97F4A7C15ull + 4242 };
	int *cand = malloc(sizeof(int) * (size_t)(c->npairs + 1));
	if (!cand)
		return GROW_ENOMEM;
	for (int ti = 0; ti < c->ntargets; ti++) {
		int t = c->targets[ti];
		int nc = 0;
		for (int i = 0; i < c->npairs; i++)
			if (c->pairs[i].target == t && !c->pairs[i].dropped)
				cand[nc++] = i;
		if (o->random) {
			shuffle(cand, nc, &r);
		} else {
			for (int i = 1; i < nc; i++)
				for (int j = i; j > 0 && fabsf(c->pairs[cand[j - 1]].omega) < fabsf(c->pairs[cand[j]].omega); j--) {
					int tmp = cand[j];
					cand[j] = cand[j - 1], cand[j - 1] = tmp;
				}
		}
		int k = 0;
		for (int i = 0; i < nc && k < o->k; i++) {
			if (!o->random && !(fabsf(c->pairs[cand[i]].omega) > o->threshold))
				break;
			if (n == max) {
				free(cand);
				return GROW_ETOOMANY;
			}
			idx[n++] = cand[i];
			k++;
		}
	}
	free(cand);
	return n;
}

int grow_child(const grow_cand *c, nn_net *cand_net, const int *win, int nwin, nn_model *child, char *desc,
	       size_t desclen, char *err, size_t errlen)
{
	memset(child, 0, sizeof *child);
	nn_graph g;
	int rc = 0;
	nn_net *net = NULL;
	int *map = NULL; /* candidate node id -> child node id */
	const nn_graph *cg = &c->g;
	for (int wi = 0; wi < nwin; wi++)
		if (win[wi] < 0 || win[wi] >= c->npairs) {
			nn_errf(err, errlen, "winner %d is not a pair of the candidate (%d pairs)", win[wi], c->npairs);
			return GROW_EINVAL;
		}
	if ((rc = nn_graph_copy(&g, &c->parent)))
		return rc;
	int out = g.output;
	map = malloc(sizeof(int) * (cg->n + 1));
	if (!map) {
		rc = GROW_ENOMEM;
		goto fail;
	}

	for (int i = 0; i < cg->n; i++)
		map[i] = i < c->parent_n ? i : -1;
	char *dp = desc;
	size_t dl = desclen;
	if (dl)
		desc[0] = 0;
	nn_shape *sh = malloc(sizeof(nn_shape) * (g.n + 1));
	if (!sh) {
		rc = GROW_ENOMEM;
		goto fail;
	}
	if ((rc = nn_graph_shapes(&g, sh, err, errlen))) {
		free(sh);
		goto fail;
	}
	for (int ti = 0; ti < c->ntargets; ti++) {
		int t = c->targets[ti];
		int outs[NN_MAXIN], no = 0;
		for (int wi = 0; wi < nwin; wi++) {
			const grow_pair *p = &c->pairs[win[wi]];
			if (p->target != t)
				continue;
			if (no == NN_MAXIN) {
				nn_errf(err, errlen, "more than %d winners on target %d: one concat takes at most %d inputs",
					NN_MAXIN, t, NN_MAXIN);
				rc = GROW_ETOOMANY;
				free(sh);
				goto fail;
			}
			for (int i = p->first; i <= p->last; i++) {
				nn_node d = cg->nodes[i];
				for (int j = 0; j < d.nin; j++) {
					int v = d.in[j];
					if (v >= c->parent_n && cg->nodes[v].op == NN_OP_STOPGRAD)
						d.in[j] = cg->nodes[v].in[0];
					else
						d.in[j] = map[v]; /* branch nodes only read earlier branch nodes */
				}
				int id = nn_add(&g, d.op, d.in, d.nin, d.p);
				if (id < 0) {
					rc = id;
					free(sh);
					goto fail;
				}
				g.nodes[id].flags = d.flags;
				g.nodes[id].role = NN_ROLE_GROWN;
				g.nodes[id].stage = d.stage;
				g.nodes[id].p.l1 = 0;
				map[i] = id;
			}
			outs[no++] = map[p->last];
			if (dl > 1) {
				int w = snprintf(dp, dl, "%s%s(%d)", dp == desc ? "" : no > 1 ? "+" : " ", grow_op_name(p->op), p->input);
				if (w > 0 && (size_t)w < dl)
					dp += w, dl -= (size_t)w;
			}
		}
		if (!no)
			continue;
		int y, ct = sh[t].c;
		if (no > 1) {
			if ((y = nn_concat(&g, outs, no)) < 0) { rc = y; free(sh); goto fail; }
			g.nodes[y].role = NN_ROLE_GROWN;
		} else {
			y = outs[0];
		}
		int first = g.n;
		if ((y = nn_proj(&g, y, ct)) < 0 || (y = nn_gate(&g, y, 0.0f)) < 0) {
			rc = y;
			free(sh);
			goto fail;
		}
		for (int i = first; i < g.n; i++) {
			g.nodes[i].role = NN_ROLE_GROWN;
			g.nodes[i].stage = g.nodes[t].stage;
		}
		int at = attach(&g, t, y);
		if (at < 0) { rc = at; free(sh); goto fail; }
		if (out == t)
			out = at;
		if (dl > 1) {
			int w = snprintf(dp, dl, " -> %d", t);
			if (w > 0 && (size_t)w < dl)
				dp += w, dl -= (size_t)w;
		}
		if (ti + 1 < c->ntargets && dl > 2) {
			*dp++ = ';', *dp = 0, dl--;
		}
	}
	free(sh);
	g.output = out;
	if ((rc = nn_net_create(&net, &g, 1, err, errlen)))
		goto fail;
	nn_net_init(net, 12345);
	{
		/* weights: parent nodes by id, branch nodes through map, merge
		 * layers freshly initialized, gates 0 */
		float *dst = nn_net_params(net), *dsts = nn_net_state(net);
		const float *src = nn_net_params(cand_net), *srcs = nn_net_state(cand_net);
		for (int i = 0; i < cg->n; i++) {
			if (map[i] < 0)
				continue;
			size_t so, sl, doff, dlen;
			nn_net_param_slice(cand_net, i, &so, &sl);
			nn_net_param_slice(net, map[i], &doff, &dlen);
			if (sl != dlen) {
				nn_errf(err, errlen, "node %d: %zu weights in the candidate net, %zu in the child: "
					"the net was not planned from this candidate", i, sl, dlen);
				rc = GROW_EINVAL;
				goto fail;
			}
			memcpy(dst + doff, src + so, sizeof(float) * sl);
			nn_net_state_slice(cand_net, i, &so, &sl);
			nn_net_state_slice(net, map[i], &doff, &dlen);
			memcpy(dsts + doff, srcs + so, sizeof(float) * sl);
		}
	}
	if ((rc = nn_model_from_net(child, net)))
		goto fail;
	nn_net_free(net);
	nn_graph_free(&g);
	free(map);
	return 0;
fail:
	nn_net_free(net);
	nn_graph_free(&g);
	free(map);
	nn_model_free(child);
	return rc < 0 ? rc : GROW_EINVAL;
}
