/* fuzz_onnx.c - libFuzzer target for the ONNX importer (built by fuzz.sh).
 *
 * Any input must either import or fail with a message, without crashes,
 * leaks, undefined behaviour or huge allocations. An imported model must
 * export again, and that export must import to the same network: same
 * nodes, same weights. */
#include "nn.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nn_model m, m2;
	char err[600] = "";
	int rc = nn_onnx_decode(&m, data, size, err, sizeof err);
	if (rc) {
		if (!err[0] || m.params || m.state || m.g.nodes) {
			fprintf(stderr, "import failed (%d) without a message or left a partial model\n", rc);
			abort();
		}
		return 0;
	}
	char *buf;
	size_t len;
	if (nn_onnx_encode(&m, &buf, &len, err, sizeof err)) {
		fprintf(stderr, "an imported model does not export: %s\n", err);
		abort();
	}
	if (nn_onnx_decode(&m2, buf, len, err, sizeof err)) {
		fprintf(stderr, "the export of an imported model does not import: %s\n", err);
		abort();
	}
	if (m2.g.n != m.g.n || m2.nparams != m.nparams || m2.nstate != m.nstate ||
	    memcmp(m2.params, m.params, sizeof(float) * m.nparams) ||
	    (m.nstate && memcmp(m2.state, m.state, sizeof(float) * m.nstate))) {
		fprintf(stderr, "import(export(m)) differs from m\n");
		abort();
	}
	for (int i = 0; i < m.g.n; i++)
		if (m.g.nodes[i].op != m2.g.nodes[i].op || m.g.nodes[i].nin != m2.g.nodes[i].nin) {
			fprintf(stderr, "node %d differs after the round trip\n", i);
			abort();
		}
	free(buf);
	nn_model_free(&m);
	nn_model_free(&m2);
	return 0;
}
