/* msgpack.c - the bounded structural check before msgpack-c unpacks, in
 * nn's codes: the reader that does it is nn/rec's (nn_rec_check), which
 * every record petri reads goes through (models, store records, frontier
 * state, job payloads).
 */
#include "nnio.h"
#include "rec.h"

int nn_msgpack_check(const void *buf, size_t len, int depth)
{
	return nn_rec_check(buf, len, depth) ? NN_EFORMAT : 0;
}
