/* test_model.c - model files: round trip and corruption. Included by
 * test_nn.c (part of the nn module's test executable). */
#include <stdint.h>

/* save -> load gives bit-identical outputs on the same input */
static void test_model_roundtrip(void)
{
	nn_graph g;
	CHECK_OK(nn_arch(&g, "cnn-small", (nn_shape){ 1, 1, 8, 8 }, 3), nn_strerror);
	nn_net *net;
	CHECK_OK(nn_net_create(&net, &g, 4, NULL, 0), nn_strerror);
	nn_net_init(net, 11);
	float x[4 * 64];
	nn_rng r = { 5 };
	for (int i = 0; i < 4 * 64; i++)
		x[i] = nn_rng_uniform(&r);
	for (int i = 0; i < 3; i++)
		nn_forward(net, x, 4, 1); /* move BN running statistics */
	float z[12];
	memcpy(z, nn_forward(net, x, 4, 0), sizeof z);
	nn_model m, m2;
	CHECK_OK(nn_model_from_net(&m, net), nn_strerror);
	m.metrics.test_acc = 0.5f;
	snprintf(m.lineage.parent, sizeof m.lineage.parent, "abc");
	char path[] = "/tmp/petri_model_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	char err[256] = "";
	CHECK_OK(nn_model_save(&m, path, err, sizeof err), nn_strerror);
	CHECK_OK(nn_model_load(&m2, path, err, sizeof err), nn_strerror);
	CHECK(m2.g.n == g.n && m2.nparams == m.nparams && m2.metrics.test_acc == 0.5f);
	CHECK(!strcmp(m2.lineage.parent, "abc"));
	nn_net *net2;
	CHECK_OK(nn_model_to_net(&m2, 4, &net2, err, sizeof err), nn_strerror);
	CHECK(memcmp(z, nn_forward(net2, x, 4, 0), sizeof z) == 0);
	unlink(path);
	nn_model_free(&m), nn_model_free(&m2);
	nn_net_free(net), nn_net_free(net2);
	nn_graph_free(&g);
}

static void run_model_tests(void)
{
	RUN(test_model_roundtrip);
}
