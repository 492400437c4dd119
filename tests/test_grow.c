/* test_grow.c - grow/: seed networks. */
#include "check.h"
#include "grow.h"

#include <string.h>

static void test_seed_shapes(void)
{
	nn_graph g;
	grow_seed_opts o;
	grow_seed_defaults(&o);
	CHECK_OK(grow_seed(&g, (nn_shape){ 1, 1, 28, 28 }, 10, &o), nn_strerror);
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
			/* stage s has 16 << s channels at 28 >> s (rounded up) */
			CHECK(s.c == 16 << st);
			CHECK(s.h == (st == 0 ? 28 : st == 1 ? 14 : 7));
		}
		reduce += g.nodes[i].role == NN_ROLE_REDUCE;
	}
	CHECK(ends[0] == 1 && ends[1] == 1 && ends[2] == 1);
	CHECK(reduce == 2);
	float x[4 * 784] = { 0 };
	for (int i = 0; i < 4 * 784; i++)
		x[i] = (float)(i % 13) / 13.0f;
	const float *z = nn_forward(net, x, 4, 1);
	CHECK(z[0] == z[0]);
	nn_net_free(net);
	nn_graph_free(&g);
	/* sizes are options */
	o.filters = 8, o.stages = 2, o.blocks = 3;
	CHECK_OK(grow_seed(&g, (nn_shape){ 1, 3, 16, 16 }, 5, &o), nn_strerror);
	CHECK_OK(nn_net_create(&net, &g, 2, err, sizeof err), nn_strerror);
	int n = 0;
	for (int i = 0; i < g.n; i++)
		n += g.nodes[i].role == NN_ROLE_BLOCK_END;
	CHECK(n == 6);
	nn_net_free(net);
	nn_graph_free(&g);
	/* tabular seed */
	CHECK_OK(grow_seed(&g, (nn_shape){ 1, 12, 1, 1 }, 3, NULL), nn_strerror);
	CHECK_OK(nn_net_create(&net, &g, 2, err, sizeof err), nn_strerror);
	nn_net_free(net);
	nn_graph_free(&g);
	o.stages = 0;
	CHECK(grow_seed(&g, (nn_shape){ 1, 1, 8, 8 }, 3, &o) == NN_EINVAL);
}

int main(void)
{
	RUN(test_seed_shapes);
	return check_report();
}
