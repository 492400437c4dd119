/* mark.c - places to grow in a foreign graph.
 *
 * petri's own seeds and children carry growth roles (block ends, the stem,
 * reductions); a network built elsewhere has none, so growth would find no
 * target in it. Where to grow in such a graph is search policy, decided
 * here and nowhere else: the importer leaves roles alone, and every caller
 * that loads a model to grow (the petri commands, the search's warm start)
 * goes through grow_mark.
 */
#include "grow.h"

#include <stdlib.h>

static int has_targets(const nn_graph *g)
{
	int t[1];
	return grow_targets(g, t, 1) > 0;
}

/* An imported network: the ends of its 4-d blocks, each at least 2x2.
 *  - merges: residual adds (sum), concatenations (a concat whose only
 *    consumer is a channel shuffle leaves the mark to the shuffle), the
 *    broadcast multiply that ends a squeeze-and-excitation block, channel
 *    shuffles;
 *  - linear bottlenecks: a batch norm after a 1x1 conv that goes straight
 *    into the next block's conv (an inverted-residual block without a
 *    residual add: no activation follows it);
 *  - the stem: the end of the first conv's chain of one-input, same-shape
 *    layers (its batch norm and activation);
 *  - reductions: strided pools.
 * Activations inside a block (the ReLU, Clip or HardSwish after every conv)
 * are not targets. A plain chain of convs (no merge, no bottleneck) has its
 * blocks at the end of every conv's chain; a net with no target but the
 * stem grows at its stem. */
typedef struct {
	const nn_graph *g;
	const nn_shape *sh;
	int *nuse, *use; /* consumers of each node: how many, and the last one */
} graph_view;

static int big(const graph_view *v, int i) { return v->sh[i].h >= 2 && v->sh[i].w >= 2; }

/* one input, the shape of that input, no weights of its own to speak of:
 * batch norm, activations, identity */
static int is_pointwise(const graph_view *v, int i)
{
	const nn_node *d = &v->g->nodes[i];
	if (d->nin != 1 || d->op == NN_OP_CONV || d->op == NN_OP_LINEAR || d->op == NN_OP_GAP ||
	    d->op == NN_OP_MAXPOOL || d->op == NN_OP_AVGPOOL || d->op == NN_OP_FACTRED || d->op == NN_OP_SHUFFLE)
		return 0;
	nn_shape a = v->sh[i], b = v->sh[d->in[0]];
	return a.c == b.c && a.h == b.h && a.w == b.w;
}

/* the last node of the chain of pointwise layers after conv i */
static int chain_end(const graph_view *v, int i)
{
	while (v->nuse[i] == 1 && is_pointwise(v, v->use[i]))
		i = v->use[i];
	return i;
}

static int is_merge(const graph_view *v, int i)
{
	int op = v->g->nodes[i].op;
	if (op == NN_OP_CONCAT)
		return !(v->nuse[i] == 1 && v->g->nodes[v->use[i]].op == NN_OP_SHUFFLE);
	return op == NN_OP_SUM || op == NN_OP_MUL || op == NN_OP_SHUFFLE;
}

/* a batch norm of a 1x1 conv whose consumers are convs (at least one) and
 * residual adds */
static int is_bottleneck(const graph_view *v, int i)
{
	const nn_node *d = &v->g->nodes[i];
	if (d->op != NN_OP_BN || v->g->nodes[d->in[0]].op != NN_OP_CONV || v->g->nodes[d->in[0]].p.k != 1)
		return 0;
	int convs = 0, seen = 0;
	for (int j = i + 1; j < v->g->n && seen < v->nuse[i]; j++) { /* up to its last consumer */
		const nn_node *u = &v->g->nodes[j];
		for (int k = 0; k < u->nin; k++)
			if (u->in[k] == i) {
				if (u->op != NN_OP_CONV && u->op != NN_OP_SUM)
					return 0;
				convs += u->op == NN_OP_CONV;
				seen++;
			}
	}
	return convs > 0;
}

static int mark_imported(nn_graph *g)
{
	size_t n = (size_t)(g->n > 0 ? g->n : 1);
	nn_shape *sh = malloc(sizeof *sh * n);
	int *nuse = calloc(n, sizeof(int)), *use = calloc(n, sizeof(int));
	int rc = NN_ENOMEM;
	if (!sh || !nuse || !use)
		goto done;
	if ((rc = nn_graph_shapes(g, sh, NULL, 0)))
		goto done;
	for (int i = 0; i < g->n; i++)
		for (int k = 0; k < g->nodes[i].nin; k++)
			nuse[g->nodes[i].in[k]]++, use[g->nodes[i].in[k]] = i;
	graph_view v = { g, sh, nuse, use };
	int stem = -1, ends = 0;
	for (int i = 0; i < g->n; i++) {
		nn_node *d = &g->nodes[i];
		if (d->op == NN_OP_CONV && stem < 0) {
			stem = chain_end(&v, i);
			if (big(&v, stem))
				g->nodes[stem].role = NN_ROLE_STEM;
			else
				stem = g->n; /* no stem of 2x2 or more */
		}
		if (!big(&v, i) || i == stem)
			continue;
		if (is_merge(&v, i) || is_bottleneck(&v, i)) {
			d->role = NN_ROLE_BLOCK_END;
			ends++;
		} else if ((d->op == NN_OP_MAXPOOL || d->op == NN_OP_AVGPOOL) && d->p.stride > 1) {
			d->role = NN_ROLE_REDUCE;
		}
	}
	/* a plain chain of convs: each conv's chain is a block */
	if (!ends)
		for (int i = 0; i < g->n; i++) {
			int e = g->nodes[i].op == NN_OP_CONV ? chain_end(&v, i) : -1;
			if (e >= 0 && e != stem && big(&v, e) && g->nodes[e].role == NN_ROLE_NONE)
				g->nodes[e].role = NN_ROLE_BLOCK_END;
		}
	if (!has_targets(g))
		for (int i = 0; i < g->n; i++)
			if (g->nodes[i].role == NN_ROLE_STEM)
				g->nodes[i].role = NN_ROLE_BLOCK_END;
	rc = 0;
done:
	free(sh);
	free(nuse);
	free(use);
	return rc;
}

int grow_mark(nn_model *m, int warm)
{
	nn_graph *g = &m->g;
	if (m->imported && !has_targets(g)) {
		int rc = mark_imported(g);
		if (rc)
			return rc;
	}
	/* a search starting from any model without targets (a reference net,
	 * an import with no block of 2x2 or more): every sum and every batch
	 * norm is a block end */
	if (warm && !has_targets(g))
		for (int i = 0; i < g->n; i++)
			if (g->nodes[i].op == NN_OP_SUM || g->nodes[i].op == NN_OP_BN)
				g->nodes[i].role = NN_ROLE_BLOCK_END;
	return 0;
}

int grow_load(nn_model *m, const char *path, int warm, char *err, size_t errlen)
{
	int rc = nn_model_load(m, path, err, errlen);
	if (rc)
		return rc;
	if ((rc = grow_mark(m, warm))) {
		nn_errf(err, errlen, "%s: cannot find places to grow: %s", path, nn_strerror(rc));
		nn_model_free(m);
	}
	return rc;
}
