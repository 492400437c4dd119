/* fuzz_model.c - libFuzzer target for nn_model_decode (built by fuzz.sh).
 *
 * Any input must either decode or fail with a message, without crashes,
 * leaks, undefined behaviour or huge allocations. A decoded model must
 * encode again, and that encoding must decode to the same bytes. */
#include "nn.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nn_model m, m2;
	char err[400] = "";
	int rc = nn_model_decode(&m, data, size, err, sizeof err);
	if (rc) {
		if (!err[0] || m.params || m.state || m.g.nodes) {
			fprintf(stderr, "decode failed (%d) without a message or left a partial model\n", rc);
			abort();
		}
		return 0;
	}
	char *b1, *b2;
	size_t l1, l2;
	if (nn_model_encode(&m, &b1, &l1))
		abort();
	if (nn_model_decode(&m2, b1, l1, err, sizeof err)) {
		fprintf(stderr, "re-encoded model does not decode: %s\n", err);
		abort();
	}
	if (nn_model_encode(&m2, &b2, &l2) || l1 != l2 || memcmp(b1, b2, l1)) {
		fprintf(stderr, "encode(decode(encode(m))) differs from encode(m)\n");
		abort();
	}
	free(b1);
	free(b2);
	nn_model_free(&m);
	nn_model_free(&m2);
	return 0;
}
