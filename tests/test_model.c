/* test_model.c - model files: round trip and corruption. Included by
 * test_nn.c (part of the nn module's test executable). */
#include "nnio.h"
#include "rec.h"

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

/* every activation and both forms of mul, through a petri record and
 * through ONNX (hard swish and silu written as products, read back as
 * themselves): the same ops, alpha and beta, and outputs */
static void test_model_act_roundtrip(void)
{
	nn_graph g;
	nn_graph_init(&g, (nn_shape){ 1, 2, 6, 6 }, 3);
	int x = nn_input(&g);
	int c = nn_conv(&g, x, 4, 3, 1, 1, 1, 1, 1);
	int a = nn_act(&g, NN_OP_CLIP, c, -0.5f, 2.0f);
	int b = nn_act(&g, NN_OP_HSWISH, c, 0, 0);
	int m = nn_mul(&g, nn_act(&g, NN_OP_SILU, a, 0, 0), b);
	int s = nn_act(&g, NN_OP_HSIGMOID, nn_conv(&g, nn_gap(&g, m), 4, 1, 1, 0, 1, 1, 1), 0.7f, 0.4f);
	int e = nn_act(&g, NN_OP_SIGMOID, nn_mul(&g, m, s), 0, 0);
	g.output = nn_linear(&g, nn_gap(&g, e), 3);
	nn_net *net;
	CHECK_OK(nn_net_create(&net, &g, 4, NULL, 0), nn_strerror);
	nn_net_init(net, 21);
	float xin[4 * 72], z[12];
	nn_rng r = { 9 };
	for (int i = 0; i < 4 * 72; i++)
		xin[i] = 3 * nn_rng_normal(&r);
	memcpy(z, nn_forward(net, xin, 4, 0), sizeof z);
	nn_model md, back[2];
	CHECK_OK(nn_model_from_net(&md, net), nn_strerror);
	char *buf = NULL, err[256] = "";
	size_t len = 0;
	CHECK_OK(nn_model_encode(&md, &buf, &len), nn_strerror);
	CHECK_OK(nn_model_decode(&back[0], buf, len, err, sizeof err), nn_strerror);
	free(buf);
	CHECK_OK(nn_onnx_encode(&md, &buf, &len, err, sizeof err), nn_strerror);
	CHECKM(nn_onnx_decode(&back[1], buf, len, err, sizeof err) == 0, "%s", err);
	free(buf);
	for (int k = 0; k < 2; k++) {
		const nn_graph *h = &back[k].g;
		int ops[NN_OP__COUNT] = { 0 }, want[NN_OP__COUNT] = { 0 };
		for (int i = 0; i < h->n; i++) {
			ops[h->nodes[i].op]++;
			if (h->nodes[i].op == NN_OP_CLIP)
				CHECK(h->nodes[i].p.alpha == -0.5f && h->nodes[i].p.beta == 2.0f);
			if (h->nodes[i].op == NN_OP_HSIGMOID)
				CHECK(h->nodes[i].p.alpha == 0.7f && h->nodes[i].p.beta == 0.4f);
		}
		for (int i = 0; i < g.n; i++)
			want[g.nodes[i].op]++;
		CHECKM(!memcmp(ops, want, sizeof ops), "%s: other ops came back", k ? "onnx" : "petri record");
		nn_net *n2;
		CHECK_OK(nn_model_to_net(&back[k], 4, &n2, err, sizeof err), nn_strerror);
		const float *z2 = nn_forward(n2, xin, 4, 0);
		for (int i = 0; i < 12; i++)
			CHECKM(fabsf(z2[i] - z[i]) <= 1e-6f * (1 + fabsf(z[i])), "%s: logit %d %g, want %g", k ? "onnx" : "record",
			       i, z2[i], z[i]);
		nn_net_free(n2);
		nn_model_free(&back[k]);
	}
	nn_model_free(&md);
	nn_net_free(net);
	nn_graph_free(&g);
}

/* the shape ops' and pools' params survive a round trip */
static void test_model_shape_params(void)
{
	nn_graph g;
	nn_graph_init(&g, (nn_shape){ 1, 4, 9, 9 }, 3);
	int x = nn_input(&g);
	nn_params p;
	memset(&p, 0, sizeof p);
	p.pads[0] = 1, p.pads[1] = 2, p.pads[2] = 3, p.pads[3] = 0;
	x = nn_add(&g, NN_OP_PAD, &x, 1, p);
	memset(&p, 0, sizeof p);
	p.groups = 2;
	x = nn_add(&g, NN_OP_SHUFFLE, &x, 1, p);
	memset(&p, 0, sizeof p);
	p.start = 1, p.cout = 3;
	x = nn_add(&g, NN_OP_SLICE, &x, 1, p);
	memset(&p, 0, sizeof p);
	p.k = 3, p.stride = 2, p.pads[0] = 2, p.pads[3] = 1, p.ceil_mode = 1, p.count_pad = 1;
	x = nn_add(&g, NN_OP_AVGPOOL, &x, 1, p);
	x = nn_gap(&g, x);
	nn_linear(&g, x, 3);
	nn_net *net, *net2;
	CHECK_OK(nn_net_create(&net, &g, 2, NULL, 0), nn_strerror);
	nn_net_init(net, 7);
	nn_model m, m2;
	CHECK_OK(nn_model_from_net(&m, net), nn_strerror);
	char *buf;
	size_t len;
	char err[256] = "";
	CHECK_OK(nn_model_encode(&m, &buf, &len), nn_strerror);
	CHECK_OK(nn_model_decode(&m2, buf, len, err, sizeof err), nn_strerror);
	CHECK(m2.g.n == g.n);
	for (int i = 0; i < g.n && m2.g.n == g.n; i++)
		CHECKM(!memcmp(&m2.g.nodes[i].p, &g.nodes[i].p, sizeof(nn_params)), "node %d params differ", i);
	float xin[2 * 4 * 81], z[6];
	for (int i = 0; i < 2 * 4 * 81; i++)
		xin[i] = (float)((i * 37) % 11) - 5;
	memcpy(z, nn_forward(net, xin, 2, 0), sizeof z);
	CHECK_OK(nn_model_to_net(&m2, 2, &net2, err, sizeof err), nn_strerror);
	CHECK(memcmp(z, nn_forward(net2, xin, 2, 0), sizeof z) == 0);
	free(buf);
	nn_model_free(&m), nn_model_free(&m2);
	nn_net_free(net), nn_net_free(net2);
	nn_graph_free(&g);
}

/* A small model: input 1x4x4 -> conv3x3(4) -> bn -> relu -> gap -> linear(3).
 * Node ids: 0 input, 1 conv, 2 bn, 3 relu, 4 gap, 5 linear. */
static void small_model(nn_model *m)
{
	nn_graph g;
	nn_graph_init(&g, (nn_shape){ 1, 1, 4, 4 }, 3);
	int x = nn_input(&g);
	x = nn_conv(&g, x, 4, 3, 1, 1, 1, 1, 1);
	x = nn_bn(&g, x);
	x = nn_relu(&g, x);
	x = nn_gap(&g, x);
	g.output = nn_linear(&g, x, 3);
	nn_net *net;
	CHECK_OK(nn_net_create(&net, &g, 1, NULL, 0), nn_strerror);
	nn_net_init(net, 3);
	CHECK_OK(nn_model_from_net(m, net), nn_strerror);
	snprintf(m->lineage.id, sizeof m->lineage.id, "m1");
	nn_net_free(net);
	nn_graph_free(&g);
}

/* decode must fail with rc (0: any error) and a message containing want */
static void expect_bad(const void *buf, size_t len, int rc, const char *want, int line)
{
	nn_model m;
	char err[400] = "";
	int r = nn_model_decode(&m, buf, len, err, sizeof err);
	CHECKM(r != 0 && (rc == 0 || r == rc), "line %d: rc %d (%s), want %d: %s", line, r, nn_strerror(r), rc, err);
	CHECKM(!want || strstr(err, want), "line %d: message '%s' lacks '%s'", line, err, want);
	CHECKM(err[0] != 0, "line %d: no message", line);
	/* nothing partial is returned */
	CHECK(m.params == NULL && m.state == NULL && m.g.nodes == NULL && m.g.n == 0);
	if (!r)
		nn_model_free(&m);
}
#define EXPECT_BAD(buf, len, rc, want) expect_bad(buf, len, rc, want, __LINE__)

/* encode m after edit() changed a copy of its graph */
static void encode_edited(const nn_model *m, void (*edit)(nn_model *c), char **buf, size_t *len)
{
	nn_model c = *m;
	CHECK_OK(nn_graph_copy(&c.g, &m->g), nn_strerror);
	/* room for edits that claim more values than the model has */
	c.params = calloc(m->nparams + 4, sizeof(float));
	c.state = calloc(m->nstate + 4, sizeof(float));
	memcpy(c.params, m->params, m->nparams * sizeof(float));
	memcpy(c.state, m->state, m->nstate * sizeof(float));
	edit(&c);
	CHECK_OK(nn_model_encode(&c, buf, len), nn_strerror);
	nn_model_free(&c);
}

static void edit_op(nn_model *c) { c->g.nodes[2].op = 99; }
static void edit_input(nn_model *c) { c->g.nodes[3].in[0] = 17; }
static void edit_cycle(nn_model *c) { c->g.nodes[1].in[0] = 3; }
static void edit_params(nn_model *c) { c->nparams--; }
static void edit_state(nn_model *c) { c->nstate += 2; }
static void edit_cout(nn_model *c) { c->g.nodes[1].p.cout = 5; }
static void edit_output(nn_model *c) { c->g.output = 4; }
static void edit_two_inputs(nn_model *c) { c->g.nodes[2].nin = 2, c->g.nodes[2].in[1] = 0; }
static void edit_kernel(nn_model *c) { c->g.nodes[1].p.k = 9; }
static void edit_dil(nn_model *c) { c->g.nodes[1].p.dil = 1 << 20; }
static void edit_op_gap(nn_model *c) { c->g.nodes[3].op = NN_OP__COUNT; }
static void edit_pads(nn_model *c) { c->g.nodes[1].p.pads[2] = 1 << 13; }
static void edit_ceil(nn_model *c) { c->g.nodes[1].p.ceil_mode = 2; }
static void edit_start(nn_model *c) { c->g.nodes[1].p.start = -1; }

static void test_model_corrupt(void)
{
	nn_model m;
	small_model(&m);
	char *buf;
	size_t len;
	CHECK_OK(nn_model_encode(&m, &buf, &len), nn_strerror);
	/* the intact record decodes */
	nn_model ok;
	char err[400] = "";
	CHECK_OK(nn_model_decode(&ok, buf, len, err, sizeof err), nn_strerror);
	CHECK(ok.g.n == 6 && ok.nparams == m.nparams && !strcmp(ok.lineage.id, "m1"));
	nn_model_free(&ok);
	/* every truncation fails cleanly with a message */
	int clean = 0;
	for (size_t cut = 0; cut < len; cut++) {
		nn_model t;
		err[0] = 0;
		int r = nn_model_decode(&t, buf, cut, err, sizeof err);
		clean += r == NN_EFORMAT && err[0] && t.params == NULL && t.g.nodes == NULL;
		if (!r)
			nn_model_free(&t);
	}
	CHECKM(clean == (int)len, "%d of %zu truncations failed cleanly", clean, len);
	EXPECT_BAD(buf, 5, NN_EFORMAT, "truncated");
	EXPECT_BAD(buf, len - 1, NN_EFORMAT, "truncated or corrupt");
	/* a trailing byte is not ignored */
	char *longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 0;
	EXPECT_BAD(longer, len + 1, NN_EFORMAT, "corrupt");
	free(longer);
	/* every single-bit flip is refused, and past [array, magic, version]
	 * as a checksum mismatch (or as corrupt MessagePack where it breaks the
	 * structure); nothing partial is returned */
	char *b2 = malloc(len);
	int flipped = 0, named = 0;
	for (size_t i = 0; i < 8 * len; i++) {
		nn_model t;
		memcpy(b2, buf, len);
		b2[i / 8] ^= (char)(1 << i % 8);
		err[0] = 0;
		int r = nn_model_decode(&t, b2, len, err, sizeof err);
		flipped += r != 0 && err[0] && t.params == NULL && t.g.nodes == NULL;
		named += i / 8 <= 10 || (r == NN_EFORMAT && (!strcmp(err, "checksum mismatch (record corrupt)") ||
							      strstr(err, "truncated or corrupt")));
		if (!r)
			nn_model_free(&t);
	}
	CHECKM(flipped == (int)(8 * len) && named == (int)(8 * len), "of %zu bit flips: %d refused, %d as mismatches",
	       8 * len, flipped, named);
	/* wrong magic; a newer version (a mismatch unless sealed again); a
	 * version 0; version 1, from before checksums */
	memcpy(b2, buf, len);
	b2[3] = 'X';
	EXPECT_BAD(b2, len, NN_EFORMAT, "wrong magic");
	memcpy(b2, buf, len);
	CHECK((unsigned char)b2[0] == 0x94 && b2[10] == 2); /* [fixarray 4, fixstr 8, "PETRIMDL", version, map, check] */
	b2[10] = 3;
	EXPECT_BAD(b2, len, NN_EFORMAT, "checksum mismatch");
	CHECK(nn_rec_seal(b2, len) == 0);
	EXPECT_BAD(b2, len, NN_EVERSION, "version 3 is not supported");
	b2[10] = 0;
	CHECK(nn_rec_seal(b2, len) == 0);
	EXPECT_BAD(b2, len, NN_EVERSION, "version 0 is not supported");
	b2[0] = (char)0x93, b2[10] = 1;
	EXPECT_BAD(b2, len - 5, NN_EVERSION, "model format version 1 was written by an older petri without checksums");
	free(b2);
	/* a map header claiming 4 billion pairs in 5 bytes; the unused type
	 * byte; an empty map: each with a check that holds */
	unsigned char h[32];
	memcpy(h, "\x94\xa8PETRIMDL\x02\xdf\xff\xff\xff\xff", 16);
	CHECK(nn_rec_seal(h, 21) == 0);
	EXPECT_BAD(h, 21, NN_EFORMAT, "truncated or corrupt");
	memcpy(h, "\x94\xa8PETRIMDL\x02\xc1", 12);
	CHECK(nn_rec_seal(h, 17) == 0);
	EXPECT_BAD(h, 17, NN_EFORMAT, "corrupt");
	memcpy(h, "\x94\xa8PETRIMDL\x02\x80", 12);
	CHECK(nn_rec_seal(h, 17) == 0);
	EXPECT_BAD(h, 17, NN_EFORMAT, "field 'input'");
	free(buf);
	/* graph-level damage names the node */
	static const struct {
		void (*edit)(nn_model *c);
		int rc;
		const char *want;
	} cases[] = {
		{ edit_op, NN_EOP, "node 2: unknown op 99" },
		{ edit_input, NN_EFORMAT, "node 3 (relu): input 0 is not a node id" },
		{ edit_cycle, NN_ECYCLE, "cycle through node 1 (conv)" },
		{ edit_params, NN_EFORMAT, "inconsistent shapes: 62 weights and 8 state values stored, graph needs 63 and 8" },
		{ edit_state, NN_EFORMAT, "63 weights and 10 state values stored, graph needs 63 and 8" },
		{ edit_cout, NN_EFORMAT, "inconsistent shapes" },
		{ edit_output, NN_ESHAPE, "output node 4 (gap)" },
		{ edit_two_inputs, NN_ESHAPE, "node 2 (bn): has 2 inputs, needs 1" },
		{ edit_kernel, NN_ESHAPE, "node 1 (conv)" },
		{ edit_dil, NN_EFORMAT, "node 1 (conv): param dil out of range" },
		{ edit_op_gap, NN_EOP, "node 3: unknown op" },
		{ edit_pads, NN_EFORMAT, "node 1 (conv): param pad_bottom out of range" },
		{ edit_ceil, NN_EFORMAT, "node 1 (conv): param ceil_mode out of range" },
		{ edit_start, NN_EFORMAT, "node 1 (conv): param start out of range" },
	};
	CHECK(m.nparams == 63 && m.nstate == 8); /* conv 36+4, bn 4+4, linear 12+3; bn stats 4+4 */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_OK(nn_model_encode(&m, &buf, &len), nn_strerror);
		free(buf);
		encode_edited(&m, cases[i].edit, &buf, &len);
		expect_bad(buf, len, cases[i].rc, cases[i].want, (int)i);
		free(buf);
	}
	nn_model_free(&m);
}

/* a damaged file: the message names the file */
static void test_model_file_errors(void)
{
	nn_model m, t;
	small_model(&m);
	char path[] = "/tmp/petri_model_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	char err[600] = "";
	CHECK_OK(nn_model_save(&m, path, err, sizeof err), nn_strerror);
	/* one flipped bit among the weights */
	char *buf;
	size_t len;
	CHECK_OK(nn_model_encode(&m, &buf, &len), nn_strerror);
	FILE *f = fopen(path, "r+b");
	CHECK(f && fseek(f, (long)len / 2, SEEK_SET) == 0);
	int c = f ? fgetc(f) : EOF;
	CHECK(c != EOF && fseek(f, (long)len / 2, SEEK_SET) == 0 && fputc(c ^ 0x10, f) != EOF);
	if (f)
		fclose(f);
	CHECK(nn_model_load(&t, path, err, sizeof err) == NN_EFORMAT);
	CHECKM(!strncmp(err, path, strlen(path)) && strstr(err, ": checksum mismatch (record corrupt)"), "message: %s", err);
	/* a file from before checksums: version 1, [magic, version, map] */
	buf[0] = (char)0x93, buf[10] = 1;
	f = fopen(path, "wb");
	CHECK(f && fwrite(buf, 1, len - 5, f) == len - 5);
	if (f)
		fclose(f);
	free(buf);
	CHECK(nn_model_load(&t, path, err, sizeof err) == NN_EVERSION);
	CHECKM(!strncmp(err, path, strlen(path)) && strstr(err, "written by an older petri without checksums"), "message: %s",
	       err);
	CHECK_OK(nn_model_save(&m, path, err, sizeof err), nn_strerror);
	CHECK(truncate(path, 100) == 0);
	CHECK(nn_model_load(&t, path, err, sizeof err) == NN_EFORMAT);
	CHECKM(!strncmp(err, path, strlen(path)) && strstr(err, "truncated"), "message: %s", err);
	unlink(path);
	CHECK(nn_model_load(&t, path, err, sizeof err) == NN_EIO && strstr(err, "cannot open"));
	nn_model_free(&m);
}

/* nn_msgpack_check: one value of every type byte 0xc0..0xdf (but the
 * unused 0xc1) in an array passes; every shorter prefix, a trailing byte,
 * 0xc1 and nesting deeper than allowed fail */
static void test_msgpack_check(void)
{
	static const unsigned char v[] = {
		0xdc, 0x00, 0x1f,                                     /* array 16 of 31 */
		0xc0, 0xc2, 0xc3,                                     /* nil, false, true */
		0xc4, 2, 1, 2, 0xc5, 0, 2, 1, 2, 0xc6, 0, 0, 0, 2, 1, 2, /* bin 8, 16, 32 */
		0xc7, 1, 5, 1, 0xc8, 0, 1, 5, 1, 0xc9, 0, 0, 0, 1, 5, 1, /* ext 8, 16, 32 */
		0xca, 0, 0, 0, 0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0,       /* float 32, 64 */
		0xcc, 0, 0xcd, 0, 0, 0xce, 0, 0, 0, 0, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0, /* uint */
		0xd0, 0, 0xd1, 0, 0, 0xd2, 0, 0, 0, 0, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0, /* int */
		0xd4, 5, 1, 0xd5, 5, 1, 2, 0xd6, 5, 1, 2, 3, 4,       /* fixext 1, 2, 4 */
		0xd7, 5, 1, 2, 3, 4, 5, 6, 7, 8,                      /* fixext 8 */
		0xd8, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, /* fixext 16 */
		0xd9, 2, 'a', 'b', 0xda, 0, 2, 'a', 'b', 0xdb, 0, 0, 0, 2, 'a', 'b', /* str 8, 16, 32 */
		0xdc, 0, 1, 1, 0xdd, 0, 0, 0, 1, 1,                   /* array 16, 32 of one */
		0xde, 0, 1, 1, 2, 0xdf, 0, 0, 0, 1, 1, 2,             /* map 16, 32 of one pair */
	};
	unsigned char b[sizeof v + 1];
	memcpy(b, v, sizeof v);
	CHECK(nn_msgpack_check(b, sizeof v, 2) == 0);
	CHECK(nn_msgpack_check(b, sizeof v, 1) == NN_EFORMAT); /* the inner arrays and maps nest deeper */
	int prefixes = 0;
	for (size_t n = 0; n < sizeof v; n++)
		prefixes += nn_msgpack_check(b, n, 2) == NN_EFORMAT;
	CHECKM(prefixes == (int)sizeof v, "%d of %zu truncations refused", prefixes, sizeof v);
	b[sizeof v] = 0xc0;
	CHECK(nn_msgpack_check(b, sizeof v + 1, 2) == NN_EFORMAT);
	b[3] = 0xc1;
	CHECK(nn_msgpack_check(b, sizeof v, 2) == NN_EFORMAT);
}

static void run_model_tests(void)
{
	RUN(test_msgpack_check);
	RUN(test_model_roundtrip);
	RUN(test_model_act_roundtrip);
	RUN(test_model_shape_params);
	RUN(test_model_corrupt);
	RUN(test_model_file_errors);
}
