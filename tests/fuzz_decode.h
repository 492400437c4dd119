/* fuzz_decode.h - the libFuzzer entry point of the model and ONNX fuzz
 * targets (built by fuzz.sh). A target defines FUZZ_DECODE (a decoder
 * with nn_model_decode's signature), includes this header and defines
 * fuzz_roundtrip.
 *
 * Any input must either decode or fail with a message, without crashes,
 * leaks, undefined behaviour or huge allocations, and leave no partial
 * model; a decoded model goes to fuzz_roundtrip, which aborts when it does
 * not survive being written and read again. */
#ifndef FUZZ_DECODE_H
#define FUZZ_DECODE_H

#include "nnio.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void fuzz_roundtrip(const nn_model *m, char *err, size_t errlen);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nn_model m;
	char err[600] = "";
	int rc = FUZZ_DECODE(&m, data, size, err, sizeof err);
	if (rc) {
		if (!err[0] || m.params || m.state || m.g.nodes) {
			fprintf(stderr, "decode failed (%d) without a message or left a partial model\n", rc);
			abort();
		}
		return 0;
	}
	fuzz_roundtrip(&m, err, sizeof err);
	nn_model_free(&m);
	return 0;
}

#endif
