/* tiny_model.h - a tiny model for codec tests and fuzz seeds: the seed
 * network of 1x4x4 inputs, 2 filters, 1 stage, 3 classes, with its initial
 * weights (seeded, so always the same). */
#ifndef TINY_MODEL_H
#define TINY_MODEL_H

#include "grow.h"
#include "nnio.h"

#include <string.h>

static int tiny_model(nn_model *m)
{
	memset(m, 0, sizeof *m);
	grow_seed_opts so;
	grow_seed_defaults(&so);
	so.filters = 2, so.stages = 1, so.blocks = 1;
	nn_graph g;
	nn_net *net;
	char err[256];
	nn_shape in = { 1, 1, 4, 4 };
	if (grow_seed(&g, in, 3, &so))
		return -1;
	if (nn_net_create(&net, &g, 1, err, sizeof err)) {
		nn_graph_free(&g);
		return -1;
	}
	nn_net_init(net, 5);
	int rc = nn_model_from_net(m, net);
	nn_net_free(net);
	nn_graph_free(&g);
	return rc;
}

#endif
