/* base.c - what every part of nn/ shares: error strings and messages, the
 * thread count, the monotonic clock. */
#include "nn_impl.h"

#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

const char *nn_strerror(int err)
{
	switch (err) {
	case NN_OK: return "ok";
	case NN_EINVAL: return "invalid argument";
	case NN_ESHAPE: return "shape mismatch";
	case NN_ECYCLE: return "graph has a cycle";
	case NN_EOP: return "unknown op";
	case NN_ENOMEM: return "out of memory";
	case NN_EIO: return "I/O error";
	case NN_EFORMAT: return "malformed file";
	case NN_ENAN: return "loss is NaN or diverged";
	case NN_ESTOP: return "stopped";
	case NN_EVERSION: return "unsupported format version";
	}
	return "unknown error";
}

void nn_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- threads ---- */
extern void openblas_set_num_threads(int);
static int g_threads = 0;
static _Thread_local int t_threads = 0; /* this thread's own, over g_threads */

void nn_set_threads(int n)
{
	if (n < 1)
		n = 1;
	g_threads = n;
#ifdef _OPENMP
	omp_set_num_threads(n);
#endif
	openblas_set_num_threads(n);
}

void nn_set_thread_threads(int n)
{
	if (n < 1)
		n = 1;
	t_threads = n;
#ifdef _OPENMP
	omp_set_num_threads(n);
#endif
}

int nn_get_threads(void)
{
	if (t_threads > 0)
		return t_threads;
	if (g_threads > 0)
		return g_threads;
#ifdef _OPENMP
	return omp_get_max_threads();
#else
	return 1;
#endif
}

double nn_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
