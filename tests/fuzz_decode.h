/* fuzz_decode.h - the libFuzzer entry point of the model and ONNX fuzz
 * targets (built by fuzz.sh). A target defines FUZZ_DECODE (a decoder
 * with nn_model_decode's signature), includes this header and defines
 * fuzz_roundtrip.
 *
 * Any input must either decode or fail with a message, without crashes,
 * leaks, undefined behaviour or huge allocations, and leave no partial
 * model; a decoded model goes to fuzz_roundtrip, which aborts when it does
 * not survive being written and read again. A target may define FUZZ_SEAL
 * (nn_rec_seal's signature) to decode, besides the input, a copy whose
 * record check holds. */
#ifndef FUZZ_DECODE_H
#define FUZZ_DECODE_H

#include "nnio.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_roundtrip(const nn_model *m, char *err, size_t errlen);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_one(const uint8_t *data, size_t size)
{
	nn_model m;
	char err[600] = "";
	int rc = FUZZ_DECODE(&m, data, size, err, sizeof err);
	if (rc) {
		if (!err[0] || m.params || m.state || m.g.nodes) {
			fprintf(stderr, "decode failed (%d) without a message or left a partial model\n", rc);
			abort();
		}
		return;
	}
	fuzz_roundtrip(&m, err, sizeof err);
	nn_model_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one(data, size);
#ifdef FUZZ_SEAL
	/* nearly every mutation fails the record's check: decode a copy whose
	 * check holds too, so that the decoder behind it is explored */
	uint8_t *c = malloc(size ? size : 1);
	if (!c)
		abort();
	memcpy(c, data, size);
	if (FUZZ_SEAL(c, size) == 0)
		fuzz_one(c, size);
	free(c);
#endif
	return 0;
}

#endif
