/* k_direct.c - direct stride-1 "same" convolution kernels on a padded grid.
 *
 * For a convolution with stride 1 and 2 pad = dil (k - 1) the output has the
 * input's size. The input of one image is copied into a zero-bordered grid of
 * width Wp = w + 2 pad (one plane per channel, plane stride ps); the output
 * is computed on the same grid, flattened: ygrid[co][oy*Wp + ox], ox < w
 * valid, the rest junk. Tap t = (ki, kj) of the kernel is then a constant
 * offset toff[t] = ki dil Wp + kj dil into the flattened input, so every
 * kernel below is a plain register-blocked GEMM over contiguous vectors.
 *
 * Backward data is the same kernel on the padded output gradient with the
 * kernel flipped and transposed; backward weights reduces over the grid with
 * junk positions of dy set to zero.
 *
 * This file holds the geometry, padding and weight packing; the kernels
 * themselves are per instruction set in cpu/ (kernels.inc), reached through
 * nn_cpu(). All functions are single-threaded; callers split images over
 * threads.
 */
#include "nn_impl.h"

#include <stdlib.h>

#include <string.h>

/* otab [gs/16][2]: for the vector of grid positions at 16 v: lane mask of
 * valid positions and the NCHW offset (in a channel plane) of the first */
void nn_kd_otab(const nn_kd *g, int32_t *otab)
{
	for (size_t v = 0; v < g->gs / 16; v++) {
		int m = 0, off = 0, first = 1;
		for (int l = 0; l < 16; l++) {
			size_t q = v * 16 + l;
			size_t row = q / g->wp, col = q % g->wp;
			if (row < (size_t)g->h && col < (size_t)g->w) {
				m |= 1 << l;
				if (first)
					off = (int)(row * g->w + col), first = 0;
			}
		}
		otab[2 * v] = m, otab[2 * v + 1] = off;
	}
}

#define KD_CB NN_KD_CB
#define KD_Q NN_KD_Q

int nn_kd_fits(nn_shape xs, const nn_params *p)
{
	if (p->stride != 1 || 2 * p->pad != p->dil * (p->k - 1) || p->k > 7)
		return 0;
	if (p->groups == 1)
		return 1;
	return p->groups == xs.c && p->cout == xs.c;
}

void nn_kd_geom(nn_shape xs, const nn_params *p, nn_kd *g)
{
	g->k = p->k, g->pad = p->pad, g->dil = p->dil;
	g->h = xs.h, g->w = xs.w;
	g->wp = xs.w + 2 * p->pad;
	g->hp = xs.h + 2 * p->pad;
	g->gs = ((size_t)xs.h * g->wp + KD_Q - 1) / KD_Q * KD_Q;
	/* a zero gap after each plane keeps grid reads past h*Wp inside zeros */
	g->ps = ((size_t)g->hp * g->wp + KD_Q + 15) & ~(size_t)15;
	g->maxoff = (size_t)(p->k - 1) * p->dil * (g->wp + 1);
	g->slack = (g->maxoff + 2 * KD_Q + 15) & ~(size_t)15;
	int kk = p->k * p->k;
	NN_ASSERT(kk <= NN_KD_MAXTAPS);
	for (int ki = 0; ki < p->k; ki++)
		for (int kj = 0; kj < p->k; kj++)
			g->toff[ki * p->k + kj] = (int)((size_t)ki * p->dil * g->wp + (size_t)kj * p->dil);
}

/* Stride-2 depthwise convs (dil 1): the zero-padded input is split into its
 * four (row, column) parity phases, each a plane of width Wq = ceil(Wp/2);
 * tap (ki, kj) then reads phase (ki&1, kj&1) at a constant offset from the
 * output grid position, so the stride-1 depthwise kernel applies unchanged.
 * The grid is oh x Wq; h, w, wp in the geometry describe that output grid. */
int nn_kd_fits_s2(nn_shape xs, const nn_params *p)
{
	return p->stride == 2 && p->dil == 1 && p->k <= 7 && p->groups > 1 && p->groups == xs.c && p->cout == xs.c &&
	       p->pad < p->k;
}

void nn_kd_geom_s2(nn_shape xs, const nn_params *p, nn_kd *g)
{
	int hp = xs.h + 2 * p->pad, wp = xs.w + 2 * p->pad;
	int hq = (hp + 1) / 2, wq = (wp + 1) / 2;
	g->k = p->k, g->pad = p->pad, g->dil = 1;
	g->h = (hp - p->k) / 2 + 1, g->w = (wp - p->k) / 2 + 1;
	g->wp = wq, g->hp = hq;
	g->gs = ((size_t)g->h * wq + KD_Q - 1) / KD_Q * KD_Q;
	size_t pps = ((size_t)hq * wq + KD_Q + 15) & ~(size_t)15;
	g->ps = 4 * pps;
	g->maxoff = 3 * pps + (size_t)(p->k / 2) * (wq + 1);
	g->slack = (g->maxoff + 2 * KD_Q + 15) & ~(size_t)15;
	for (int ki = 0; ki < p->k; ki++)
		for (int kj = 0; kj < p->k; kj++)
			g->toff[ki * p->k + kj] = (int)(((ki & 1) * 2 + (kj & 1)) * pps + (size_t)(ki >> 1) * wq + (kj >> 1));
}

/* xp [c][4 phases][pps] (+ slack) <- x [c][h][w] (input size ih x iw) */
void nn_kd_pad_s2(const float *x, int c, int ih, int iw, const nn_kd *g, float *xp)
{
	size_t pps = g->ps / 4;
	int pad = g->pad, hq = g->hp, wq = g->wp;
	for (int ch = 0; ch < c; ch++) {
		const float *xc = x + (size_t)ch * ih * iw;
		for (int ph = 0; ph < 4; ph++) {
			int a = ph >> 1, b = ph & 1;
			float *pl = xp + (size_t)ch * g->ps + ph * pps;
			for (int r = 0; r < hq; r++) {
				int y = 2 * r + a - pad;
				float *dr = pl + (size_t)r * wq;
				if (y < 0 || y >= ih) {
					memset(dr, 0, sizeof(float) * wq);
					continue;
				}
				const float *xr = xc + (size_t)y * iw;
				for (int cc = 0; cc < wq; cc++) {
					int xx = 2 * cc + b - pad;
					dr[cc] = xx >= 0 && xx < iw ? xr[xx] : 0;
				}
			}
			memset(pl + (size_t)hq * wq, 0, sizeof(float) * (pps - (size_t)hq * wq));
		}
	}
	memset(xp + (size_t)c * g->ps, 0, sizeof(float) * g->slack);
}

/* xp [c][ps] (+ slack) <- x [c][h][w], zero borders, gaps and slack */
void nn_kd_pad(const float *x, int c, const nn_kd *g, float *xp)
{
	int pad = g->pad, wp = g->wp, h = g->h, w = g->w;
	for (int ch = 0; ch < c; ch++) {
		float *pl = xp + (size_t)ch * g->ps;
		const float *xc = x + (size_t)ch * h * w;
		memset(pl, 0, sizeof(float) * ((size_t)pad * wp + pad));
		float *r = pl + (size_t)pad * wp + pad;
		for (int y = 0; y < h; y++) {
			memcpy(r, xc + (size_t)y * w, sizeof(float) * w);
			if (y + 1 < h)
				memset(r + w, 0, sizeof(float) * 2 * pad);
			r += wp;
		}
		/* after the last row: its right pad, bottom pad, gap */
		float *end = pl + g->ps;
		float *z = pl + (size_t)(pad + h - 1) * wp + pad + w;
		memset(z, 0, sizeof(float) * (size_t)(end - z));
	}
	memset(xp + (size_t)c * g->ps, 0, sizeof(float) * g->slack);
}

const nn_kd nn_kd_1x1 = { .k = 1, .dil = 1 };

size_t nn_kd_padsize(int c, const nn_kd *g) { return (size_t)c * g->ps + g->slack; }

/* y [c][h][w] (+)= grid [c][gs] (valid part); bias b (may be NULL) */
void nn_kd_unpad(const float *grid, int c, const nn_kd *g, const float *b, float *y, int acc)
{
	int h = g->h, w = g->w, wp = g->wp;
	for (int ch = 0; ch < c; ch++) {
		const float *gc = grid + (size_t)ch * g->gs;
		float *yc = y + (size_t)ch * h * w;
		float bv = b ? b[ch] : 0;
		for (int yy = 0; yy < h; yy++) {
			const float *s = gc + (size_t)yy * wp;
			float *d = yc + (size_t)yy * w;
			if (acc)
				for (int i = 0; i < w; i++)
					d[i] += s[i];
			else
				for (int i = 0; i < w; i++)
					d[i] = s[i] + bv;
		}
	}
}

/* Weight packing for the forward kernel:
 * wp [ceil(cout/CB)][cin*kk][CB] <- w [cout][cin][kk] (zero rows past cout). */
void nn_kd_pack_fwd(const float *w, int cout, int cin, int kk, float *wp)
{
	int nb = (cout + KD_CB - 1) / KD_CB;
	size_t K = (size_t)cin * kk;
	for (int b = 0; b < nb; b++)
		for (size_t j = 0; j < K; j++)
			for (int r = 0; r < KD_CB; r++) {
				int co = b * KD_CB + r;
				wp[((size_t)b * K + j) * KD_CB + r] = co < cout ? w[(size_t)co * K + j] : 0;
			}
}

/* Backward data packing: wq [ceil(cin/CB)][cout*kk][CB], element
 * (ci, co, t) = w[co][ci][kk-1-t] (flipped, transposed). */
void nn_kd_pack_bwd(const float *w, int cout, int cin, int kk, float *wq)
{
	int nb = (cin + KD_CB - 1) / KD_CB;
	size_t K = (size_t)cout * kk;
	for (int b = 0; b < nb; b++)
		for (int co = 0; co < cout; co++)
			for (int t = 0; t < kk; t++)
				for (int r = 0; r < KD_CB; r++) {
					int ci = b * KD_CB + r;
					wq[((size_t)b * K + (size_t)co * kk + t) * KD_CB + r] =
						ci < cin ? w[((size_t)co * cin + ci) * kk + (kk - 1 - t)] : 0;
				}
}

size_t nn_kd_packsize(int cout, int cin, int kk)
{
	return (size_t)(cout + KD_CB - 1) / KD_CB * KD_CB * cin * kk;
}
