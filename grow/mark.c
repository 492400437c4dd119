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

/* An imported network: the ends of its 4-d blocks. Activation (ReLU, clip,
 * hard swish, SiLU), Add and Concat outputs of at least 2x2 are block ends
 * (the first one is the stem), strided pools reductions; a net with no
 * other target grows at its stem. */
static int mark_imported(nn_graph *g)
{
	nn_shape *sh = malloc(sizeof *sh * (size_t)(g->n > 0 ? g->n : 1));
	if (!sh)
		return NN_ENOMEM;
	int rc = nn_graph_shapes(g, sh, NULL, 0);
	if (rc) {
		free(sh);
		return rc;
	}
	int stem = 0;
	for (int i = 0; i < g->n; i++) {
		nn_node *d = &g->nodes[i];
		if (sh[i].h < 2 || sh[i].w < 2)
			continue;
		if (d->op == NN_OP_RELU || d->op == NN_OP_CLIP || d->op == NN_OP_HSWISH || d->op == NN_OP_SILU ||
		    d->op == NN_OP_SUM || d->op == NN_OP_CONCAT) {
			d->role = stem ? NN_ROLE_BLOCK_END : NN_ROLE_STEM;
			stem = 1;
		} else if ((d->op == NN_OP_MAXPOOL || d->op == NN_OP_AVGPOOL) && d->p.stride > 1) {
			d->role = NN_ROLE_REDUCE;
		}
	}
	free(sh);
	if (!has_targets(g))
		for (int i = 0; i < g->n; i++)
			if (g->nodes[i].role == NN_ROLE_STEM)
				g->nodes[i].role = NN_ROLE_BLOCK_END;
	return 0;
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
