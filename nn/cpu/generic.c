/* generic.c - the hot kernels in plain C with 4-float vectors (SSE2 on
 * x86-64, NEON on aarch64): every CPU runs them; PETRI_ISA=generic forces them. */
#include "vec.h"
#include "kernels.inc"
