/* loss.c - softmax cross-entropy over class scores. */
#include "nn.h"

#include <math.h>
#include <stddef.h>

float nn_softmax_ce(const float *logits, const int *labels, int rows, int classes, float *dlogits, int *correct)
{
	double loss = 0;
	int hits = 0;
	for (int n = 0; n < rows; n++) {
		const float *z = logits + (size_t)n * classes;
		float m = z[0];
		int am = 0;
		for (int c = 1; c < classes; c++)
			if (z[c] > m)
				m = z[c], am = c;
		double s = 0;
		for (int c = 0; c < classes; c++)
			s += exp((double)z[c] - m);
		double lse = m + log(s);
		loss += lse - z[labels[n]];
		hits += am == labels[n];
		if (dlogits)
			for (int c = 0; c < classes; c++)
				dlogits[(size_t)n * classes + c] =
					(float)((exp((double)z[c] - lse) - (c == labels[n])) / rows);
	}
	if (correct)
		*correct = hits;
	return (float)(loss / rows);
}
