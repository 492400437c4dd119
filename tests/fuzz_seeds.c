/* fuzz_seeds.c - writes the seed corpora of the fuzz targets (run by
 * fuzz.sh): small models using every op for fuzz_model, and one record of
 * each kind the store reads, prefixed by its selector byte, for fuzz_store.
 *
 * The same models exported as ONNX seed the importer's target (fuzz_onnx).
 *
 * usage: fuzz_seeds MODEL_DIR STORE_DIR [ONNX_DIR] */
#include "fuzz_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_file(const char *dir, const char *name, const void *b, size_t n, int sel)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	if (!f)
		return -1;
	unsigned char s = (unsigned char)sel;
	int ok = (sel < 0 || fwrite(&s, 1, 1, f) == 1) && fwrite(b, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* graphs over a 2x6x6 input, 3 classes, each ending in gap + linear */
static int build(nn_graph *g, int which)
{
	nn_graph_init(g, (nn_shape){ 1, 2, 6, 6 }, 3);
	int x = nn_input(g), a, b, in[3];
	switch (which) {
	case 0: /* mlp */
		x = nn_relu(g, nn_linear(g, x, 4));
		break;
	case 1: /* conv, bn, pools */
		x = nn_relu(g, nn_bn(g, nn_conv(g, x, 4, 3, 1, 1, 1, 1, 1)));
		x = nn_pool(g, NN_OP_MAXPOOL, x, 3, 1);
		x = nn_pool(g, NN_OP_AVGPOOL, x, 3, 2);
		break;
	case 2: /* separable and dilated convs, factorized reduction, projection */
		a = nn_sepconv(g, x, 2, 2, 3, 1, 1, 2);
		b = nn_sepconv(g, x, 2, 2, 3, 2, 1, 1);
		in[0] = a, in[1] = b, in[2] = x;
		x = nn_sum(g, in, 3);
		x = nn_factred(g, x, 4);
		x = nn_proj(g, x, 2);
		break;
	case 4: { /* the shape ops and pool modes of exported nets: pad, chunk, shuffle, ceil, count_pad */
		nn_params p;
		memset(&p, 0, sizeof p);
		p.pads[0] = 1, p.pads[3] = 2;
		a = nn_add(g, NN_OP_PAD, &x, 1, p);
		memset(&p, 0, sizeof p);
		p.start = 1, p.cout = 1;
		b = nn_add(g, NN_OP_SLICE, &a, 1, p);
		in[0] = nn_conv(g, b, 3, 3, 1, 1, 1, 1, 1), in[1] = a;
		a = nn_concat(g, in, 2);
		memset(&p, 0, sizeof p);
		p.groups = 5;
		a = nn_add(g, NN_OP_SHUFFLE, &a, 1, p);
		memset(&p, 0, sizeof p);
		p.k = 3, p.stride = 2, p.ceil_mode = 1;
		a = nn_add(g, NN_OP_MAXPOOL, &a, 1, p);
		p.pad = 1, p.count_pad = 1;
		x = nn_add(g, NN_OP_AVGPOOL, &a, 1, p);
		break;
	}
	case 3: /* a candidate-like block: stop-gradient inputs, gate, stop-forward edge */
		a = nn_unary(g, NN_OP_STOPGRAD, x);
		b = nn_unary(g, NN_OP_IDENTITY, a);
		in[0] = a, in[1] = b;
		a = nn_concat(g, in, 2);
		a = nn_gate(g, nn_conv(g, a, 2, 1, 1, 0, 1, 1, 0), 0.5f);
		b = nn_unary(g, NN_OP_STOPFWD, a);
		in[0] = x, in[1] = b;
		x = nn_sum(g, in, 2);
		break;
	default: /* activations, products, squeeze-and-excitation */
		a = nn_act(g, NN_OP_CLIP, nn_conv(g, x, 4, 3, 1, 1, 1, 1, 1), 0, 6);
		b = nn_act(g, NN_OP_HSWISH, a, 0, 0);
		x = nn_mul(g, nn_act(g, NN_OP_SILU, a, 0, 0), b);
		a = nn_act(g, NN_OP_HSIGMOID, nn_conv(g, nn_gap(g, x), 4, 1, 1, 0, 1, 1, 1), 1.0f / 6, 0.5f);
		x = nn_act(g, NN_OP_SIGMOID, nn_mul(g, x, a), 0, 0);
		break;
	}
	g->output = nn_linear(g, nn_gap(g, x), 3);
	return g->output;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: fuzz_seeds MODEL_DIR STORE_DIR [ONNX_DIR]\n");
		return 2;
	}
	mkdir(argv[1], 0755);
	mkdir(argv[2], 0755);
	if (argc == 4)
		mkdir(argv[3], 0755);
	for (int i = 0; i < 6; i++) {
		nn_graph g;
		nn_net *net;
		nn_model m;
		char err[256] = "", name[32];
		if (build(&g, i) < 0 || nn_net_create(&net, &g, 1, err, sizeof err)) {
			fprintf(stderr, "seed %d: %s\n", i, err);
			return 1;
		}
		nn_net_init(net, (uint64_t)i + 1);
		if (nn_model_from_net(&m, net))
			return 1;
		snprintf(m.lineage.id, sizeof m.lineage.id, "m%d", i);
		snprintf(m.lineage.parent, sizeof m.lineage.parent, i ? "m%d" : "", i - 1);
		snprintf(m.lineage.grown, sizeof m.lineage.grown, "seed %d", i);
		snprintf(m.data, sizeof m.data, "fashion-mnist");
		m.lineage.depth = i;
		m.metrics.val_acc = 0.5f;
		char *buf;
		size_t len;
		if (nn_model_encode(&m, &buf, &len))
			return 1;
		snprintf(name, sizeof name, "model%d", i);
		if (write_file(argv[1], name, buf, len, -1))
			return 1;
		free(buf);
		if (argc == 4) {
			if (nn_onnx_encode(&m, &buf, &len, err, sizeof err)) {
				fprintf(stderr, "seed %d: %s\n", i, err);
				return 1;
			}
			snprintf(name, sizeof name, "model%d.onnx", i);
			if (write_file(argv[3], name, buf, len, -1))
				return 1;
			free(buf);
		}
		nn_model_free(&m);
		nn_net_free(net);
		nn_graph_free(&g);
	}
	/* store records: build a store and copy each record out raw */
	fz_store st;
	if (fz_store_open(&st))
		return 1;
	for (int sel = 0; sel < FZ_NSEL; sel++) {
		char name[32];
		snprintf(name, sizeof name, "record%d", sel);
		if (write_file(argv[2], name, st.orig[sel], st.origlen[sel], sel))
			return 1;
		/* the same record with the selector that seals mutations' checks */
		snprintf(name, sizeof name, "sealed%d", sel);
		if (write_file(argv[2], name, st.orig[sel], st.origlen[sel], sel + FZ_NSEL))
			return 1;
	}
	fz_store_close(&st);
	return 0;
}
