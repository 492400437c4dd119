/* fuzz_onnx.c - libFuzzer target for the ONNX importer (built by fuzz.sh).
 *
 * An imported model must export again, and that export must import to the
 * same network: same nodes, same weights. */
#define FUZZ_DECODE nn_onnx_decode
#include "fuzz_decode.h"

#include <string.h>

static void fuzz_roundtrip(const nn_model *m, char *err, size_t errlen)
{
	nn_model m2;
	char *buf;
	size_t len;
	if (nn_onnx_encode(m, &buf, &len, err, errlen)) {
		fprintf(stderr, "an imported model does not export: %s\n", err);
		abort();
	}
	if (nn_onnx_decode(&m2, buf, len, err, errlen)) {
		fprintf(stderr, "the export of an imported model does not import: %s\n", err);
		abort();
	}
	if (m2.g.n != m->g.n || m2.nparams != m->nparams || m2.nstate != m->nstate ||
	    memcmp(m2.params, m->params, sizeof(float) * m->nparams) ||
	    (m->nstate && memcmp(m2.state, m->state, sizeof(float) * m->nstate))) {
		fprintf(stderr, "import(export(m)) differs from m\n");
		abort();
	}
	for (int i = 0; i < m->g.n; i++)
		if (m->g.nodes[i].op != m2.g.nodes[i].op || m->g.nodes[i].nin != m2.g.nodes[i].nin) {
			fprintf(stderr, "node %d differs after the round trip\n", i);
			abort();
		}
	free(buf);
	nn_model_free(&m2);
}
