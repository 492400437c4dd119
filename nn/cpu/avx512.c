/* avx512.c - the hot kernels for AVX-512 (F, BW, DQ, VL): 16-float vectors,
 * tiles sized for 32 zmm registers, masked tails and compressed stores.
 * Compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl (CMakeLists.txt);
 * chosen at run time only on CPUs that have them. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "avx512.c needs -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif
#define NN_VEC_AVX512
#include "vec.h"
#include "kernels.inc"
