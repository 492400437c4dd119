/* fuzz_model.c - libFuzzer target for nn_model_decode (built by fuzz.sh).
 *
 * A decoded model must encode again, and that encoding must decode to the
 * same bytes. Each input is also decoded with its record check sealed, so
 * that mutations reach the decoder behind the check. */
#include "rec.h"
#define FUZZ_DECODE nn_model_decode
#define FUZZ_SEAL nn_rec_seal
#include "fuzz_decode.h"

#include <string.h>

static void fuzz_roundtrip(const nn_model *m, char *err, size_t errlen)
{
	nn_model m2;
	char *b1, *b2;
	size_t l1, l2;
	if (nn_model_encode(m, &b1, &l1))
		abort();
	if (nn_model_decode(&m2, b1, l1, err, errlen)) {
		fprintf(stderr, "re-encoded model does not decode: %s\n", err);
		abort();
	}
	if (nn_model_encode(&m2, &b2, &l2) || l1 != l2 || memcmp(b1, b2, l1)) {
		fprintf(stderr, "encode(decode(encode(m))) differs from encode(m)\n");
		abort();
	}
	free(b1);
	free(b2);
	nn_model_free(&m2);
}
