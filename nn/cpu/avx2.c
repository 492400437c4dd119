/* avx2.c - the hot kernels for AVX2 + FMA: 8-float vectors, tiles sized for
 * 16 ymm registers. Compiled with -mavx2 -mfma (CMakeLists.txt); chosen at
 * run time only on CPUs that have both. */
#if !defined(__AVX2__) || !defined(__FMA__)
#error "avx2.c needs -mavx2 -mfma"
#endif
#define NN_VEC_AVX2
#include "vec.h"
#include "kernels.inc"
