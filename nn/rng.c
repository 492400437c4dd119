/* rng.c - random numbers: splitmix64, uniform and normal draws. */
#include "nn.h"

#include <math.h>

uint64_t nn_rng_u64(nn_rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

float nn_rng_uniform(nn_rng *r) { return (float)(nn_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

float nn_rng_normal(nn_rng *r)
{
	double u1 = ((nn_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
	double u2 = (nn_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
	return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
