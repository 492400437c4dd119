/* num.h - the one strict number parser of the command line. */
#ifndef PETRI_NUM_H
#define PETRI_NUM_H

enum { NUM_PLAIN = 0, NUM_SI = 1, NUM_TIME = 2 };

/* s as a decimal number (digits, one sign, one point, an exponent: no hex,
 * inf, nan, spaces or trailing text), times an optional suffix: NUM_SI
 * k/K, M, G (1e3, 1e6, 1e9); NUM_TIME s, m, h (1, 60, 3600 seconds).
 * 0 and *out when the result is finite and in [lo, hi]; else -1. */
int num_parse(const char *s, int suffixes, double lo, double hi, double *out);
/* the same for a whole number (after the suffix: "1.5k" is 1500) */
int num_whole(const char *s, int suffixes, double lo, double hi, double *out);
/* a number or a ratio of two ("1/255"), each as num_parse reads it with no
 * suffix; the result finite and in [lo, hi] */
int num_ratio(const char *s, double lo, double hi, double *out);

#endif
