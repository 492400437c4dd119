/* grow.h - petri's forward growth (Petridish): seed networks, candidates
 * (weak learners) behind stop-gradient/stop-forward edges, L1 winner
 * selection, zero-gated children warm-started from their parent. */
#ifndef GROW_H
#define GROW_H

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- seed networks ---- */
typedef struct {
	int filters; /* F: stem channels (default 16) */
	int stages;  /* S (default 3) */
	int blocks;  /* B seed blocks per stage (default 1) */
} grow_seed_opts;

void grow_seed_defaults(grow_seed_opts *o);
/* Image seed: stem conv3x3 -> BN (F channels); S stages of B blocks
 * (block = sep3x3(x) + x), stages separated by reductions (stride 2,
 * channels x2: sep3x3 stride 2 + factorized reduction); ReLU, global average
 * pool, linear. Inputs with H = W = 1 (tabular) get an MLP-like seed: stem
 * conv1x1 -> BN, blocks proj(proj(x)) + x, no reductions. */
int grow_seed(nn_graph *g, nn_shape in, int classes, const grow_seed_opts *o);

#ifdef __cplusplus
}
#endif
#endif
