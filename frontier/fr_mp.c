/* fr_mp.c - the frontier records' error messages and the id hash. The
 * MessagePack framing, its checksum and its bounds-checked reader are
 * nn/rec's (rec.h).
 */
#include "frontier_impl.h"

#include <stdarg.h>
#include <string.h>

void fr__errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt), vsnprintf(err, errlen, fmt, ap), va_end(ap);
}

uint64_t fr__fnv(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ull;
	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

int fr__rec_err(int rc, const nn_rec_dec *d, const char *what, int maxver, size_t len, char *err, size_t errlen)
{
	switch (rc) {
	case NN_REC_ECHECKSUM:
		fr__errf(err, errlen, "%s: checksum mismatch (record corrupt)", what);
		return FR_EFORMAT;
	case NN_REC_EOLD:
		fr__errf(err, errlen,
			 "%s: record version %llu was written by an older petri without checksums; this petri reads "
			 "version %d only",
			 what, (unsigned long long)d->version, maxver);
		return FR_EVERSION;
	case NN_REC_EVERSION:
		if (d->version < 1)
			break; /* version 0 was never written: damage */
		fr__errf(err, errlen, "%s: record version %llu is not supported (this petri reads version %d)", what,
			 (unsigned long long)d->version, maxver);
		return FR_EVERSION;
	case NN_REC_EMAGIC:
		fr__errf(err, errlen, "%s: wrong magic", what);
		return FR_EFORMAT;
	}
	fr__errf(err, errlen, "%s: truncated or malformed record (%zu bytes)", what, len);
	return FR_EFORMAT;
}
