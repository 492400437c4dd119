/* num.c - the one strict number parser of the command line (num.h). */
#include "num.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int num_parse(const char *s, int suffixes, double lo, double hi, double *out)
{
	size_t n = strspn(s, "0123456789+-.eE");
	if (n == 0 || n > 64)
		return -1;
	char buf[72], *e;
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	double x = strtod(buf, &e);
	if (*e || errno || e == buf)
		return -1;
	const char *suf = s + n;
	double mul = 1;
	if (*suf) {
		if (suf[1])
			return -1;
		if (suffixes == NUM_SI && (*suf == 'k' || *suf == 'K')) mul = 1e3;
		else if (suffixes == NUM_SI && *suf == 'M') mul = 1e6;
		else if (suffixes == NUM_SI && *suf == 'G') mul = 1e9;
		else if (suffixes == NUM_TIME && *suf == 's') mul = 1;
		else if (suffixes == NUM_TIME && *suf == 'm') mul = 60;
		else if (suffixes == NUM_TIME && *suf == 'h') mul = 3600;
		else return -1;
	}
	x *= mul;
	if (!isfinite(x) || !(x >= lo && x <= hi))
		return -1;
	*out = x;
	return 0;
}

int num_whole(const char *s, int suffixes, double lo, double hi, double *out)
{
	double x;
	if (num_parse(s, suffixes, lo, hi, &x))
		return -1;
	double r = nearbyint(x); /* "0.933k" is 933, not 932.99999 */
	if (fabs(x - r) > 1e-9 * fabs(x))
		return -1;
	*out = r;
	return 0;
}

int num_ratio(const char *s, double lo, double hi, double *out)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return num_parse(s, NUM_PLAIN, lo, hi, out);
	char a[72];
	size_t n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof a)
		return -1;
	memcpy(a, s, n);
	a[n] = 0;
	double x, y;
	if (num_parse(a, NUM_PLAIN, -1e300, 1e300, &x) || num_parse(slash + 1, NUM_PLAIN, -1e300, 1e300, &y) || y == 0)
		return -1;
	x /= y;
	if (!isfinite(x) || !(x >= lo && x <= hi))
		return -1;
	*out = x;
	return 0;
}
