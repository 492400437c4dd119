/* fr_mp.c - the frontier records' checksum and error messages. The
 * MessagePack framing and its bounds-checked reader are nn/rec's (rec.h).
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
