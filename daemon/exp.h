/* exp.h - the experiment's layout that the daemon writes and the command
 * line and tests read: here, how a trained model becomes a frontier point.
 * One definition (exp.c), so the daemon and `petri frontier/pick` always
 * agree on it. */
#ifndef PETRID_EXP_H
#define PETRID_EXP_H

#include "frontier.h"
#include "nnio.h"

/* The frontier point of a trained model. Values that are not finite never
 * look good: validation error 1 - val_acc clamped to [0, 1] (1 when not
 * finite), validation loss 1e9 when not finite, latency 0 (unknown) when not
 * finite or negative, test accuracy NaN (unknown) outside [0, 1]. */
fr_point petrid_point(const char *id, const char *parent, int depth, const nn_cost *cost, const nn_metrics *m);

#endif
