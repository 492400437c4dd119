/* vec.h - the width-agnostic vector layer of the hot kernels.
 *
 * Each per-ISA file (generic.c, avx2.c, avx512.c) defines one NN_VEC_*
 * macro, includes this header, then kernels.inc. The kernels are written
 * once against the names below; what differs per instruction set is the
 * vector width, the register tiles sized to the register file, and a few
 * AVX-512 only paths (masked tails, compressed stores).
 *
 *   VL            floats per vector register
 *   vf            a vector of VL floats (GCC vector extension)
 *   VEC_LD/ST     unaligned load, store
 *   VEC_BC(s)     s in every lane
 *   VEC_FMA(a,b,c) a + b * c (fused where the ISA has FMA)
 *   VEC_HSUM(v)   sum of the lanes
 *   KD_TR         output channels per register tile of the grid conv
 *   KD_NV         vectors per register tile (tile = KD_TR x KD_NV vectors)
 *   WG_R, WG_T    output channels x taps per tile of the weight gradient
 *   NN_CPU_FN(f)  f with the ISA's suffix (every symbol of a variant is
 *                 static or suffixed, so variants never share code)
 */
#ifndef NN_CPU_VEC_H
#define NN_CPU_VEC_H

#include <stdint.h>

#if defined(NN_VEC_AVX512)
#include <immintrin.h>
#define VL 16
#define KD_TR 8 /* 8 x 3 accumulators of 32 zmm */
#define KD_NV 3
#define WG_R 4  /* 4 x 6 accumulators + 4 dy + 1 x */
#define WG_T 6
#define NN_CPU_FN(f) f##_avx512
#define NN_CPU_NAME "avx512"
#elif defined(NN_VEC_AVX2)
#include <immintrin.h>
#define VL 8
#define KD_TR 4 /* 4 x 3 accumulators + 3 x + 1 broadcast of 16 ymm */
#define KD_NV 3
#define WG_R 3  /* 3 x 4 accumulators + 3 dy + 1 x */
#define WG_T 4
#define NN_CPU_FN(f) f##_avx2
#define NN_CPU_NAME "avx2"
#else
#define VL 4    /* one SSE / NEON register: the baseline of every 64-bit CPU */
#define KD_TR 4
#define KD_NV 3
#define WG_R 3
#define WG_T 3
#define NN_CPU_FN(f) f##_generic
#define NN_CPU_NAME "generic"
#endif

#define KD_QT (VL * KD_NV) /* grid positions per tile; divides the grid quantum 48 */
_Static_assert(48 % KD_QT == 0, "tile must divide the grid quantum");

typedef float vf __attribute__((vector_size(VL * 4)));
typedef int32_t vi __attribute__((vector_size(VL * 4)));
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4), may_alias));

static inline vf VEC_LD(const float *p) { return *(const vfu *)p; }
static inline void VEC_ST(float *p, vf v) { *(vfu *)p = v; }

#if defined(NN_VEC_AVX512)
static inline vf VEC_BC(float s) { return (vf)_mm512_set1_ps(s); }
static inline vf VEC_FMA(vf a, vf b, vf c) { return (vf)_mm512_fmadd_ps((__m512)b, (__m512)c, (__m512)a); }
static inline float VEC_HSUM(vf v) { return _mm512_reduce_add_ps((__m512)v); }
#elif defined(NN_VEC_AVX2)
static inline vf VEC_BC(float s) { return (vf)_mm256_set1_ps(s); }
static inline vf VEC_FMA(vf a, vf b, vf c) { return (vf)_mm256_fmadd_ps((__m256)b, (__m256)c, (__m256)a); }
static inline float VEC_HSUM(vf v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128((__m256)v), _mm256_extractf128_ps((__m256)v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}
#else
static inline vf VEC_BC(float s) { return (vf){ s, s, s, s }; }
static inline vf VEC_FMA(vf a, vf b, vf c) { return a + b * c; }
static inline float VEC_HSUM(vf v)
{
	float s = 0;
	for (int i = 0; i < VL; i++)
		s += v[i];
	return s;
}
#endif

/* keep v in a register (x86: one load, several uses); elsewhere nothing */
#if defined(NN_VEC_AVX512)
#define VEC_PIN(v) __asm__("" : "+v"(v))
#elif defined(__x86_64__) || defined(__i386__)
#define VEC_PIN(v) __asm__("" : "+x"(v))
#else
#define VEC_PIN(v) ((void)0)
#endif

#endif
