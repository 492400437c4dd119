/* seed.c - petri's seed networks: the smallest nets growth starts from. */
#include "grow.h"

#include <string.h>

void grow_seed_defaults(grow_seed_opts *o)
{
	o->filters = 8;
	o->stages = 3;
	o->blocks = 1;
}

#define TRY(e) do { int r_ = (e); if (r_ < 0) return r_; } while (0)

static void mark(nn_graph *g, int id, int role, int stage)
{
	g->nodes[id].role = role;
	g->nodes[id].stage = stage;
}

int grow_seed(nn_graph *g, nn_shape in, int classes, const grow_seed_opts *o)
{
	grow_seed_opts d;
	if (!o) {
		grow_seed_defaults(&d);
		o = &d;
	}
	if (o->filters < 1 || o->stages < 1 || o->blocks < 0 || o->filters > 4096 || o->stages > 8)
		return GROW_EINVAL;
	nn_graph_init(g, in, classes);
	int tab = in.h == 1 && in.w == 1;
	int x, c = o->filters;
	TRY(x = nn_input(g));
	if (tab)
		TRY(x = nn_conv(g, x, c, 1, 1, 0, 1, 1, 0));
	else
		TRY(x = nn_conv(g, x, c, 3, 1, 1, 1, 1, 0));
	TRY(x = nn_bn(g, x));
	mark(g, x, NN_ROLE_STEM, 0);
	int h = in.h;
	for (int s = 0; s < o->stages; s++) {
		if (s > 0 && !tab && h > 1) {
			int a, b, pair[2];
			TRY(a = nn_sepconv(g, x, c, 2 * c, 3, 1, 2, 2));
			TRY(b = nn_factred(g, x, 2 * c));
			pair[0] = a, pair[1] = b;
			TRY(x = nn_sum(g, pair, 2));
			mark(g, x, NN_ROLE_REDUCE, s);
			c *= 2;
			h = (h + 1) / 2;
		}
		for (int b = 0; b < o->blocks; b++) {
			int y, pair[2];
			if (tab) {
				TRY(y = nn_proj(g, x, c));
				TRY(y = nn_proj(g, y, c));
			} else {
				TRY(y = nn_sepconv(g, x, c, c, 3, 1, 1, 2));
			}
			pair[0] = y, pair[1] = x;
			TRY(x = nn_sum(g, pair, 2));
			mark(g, x, NN_ROLE_BLOCK_END, s);
		}
	}
	TRY(x = nn_relu(g, x));
	mark(g, x, NN_ROLE_HEAD, o->stages - 1);
	TRY(x = nn_gap(g, x));
	TRY(x = nn_linear(g, x, classes));
	mark(g, x, NN_ROLE_HEAD, o->stages - 1);
	return 0;
}
