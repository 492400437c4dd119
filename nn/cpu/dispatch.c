/* dispatch.c - pick the kernel table once: the best instruction set the
 * CPU has, or the one PETRI_ISA names (generic, avx2, avx512). */
#include "cpu.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

extern const nn_cpu_ops nn_cpu_generic;
#if defined(__x86_64__)
extern const nn_cpu_ops nn_cpu_avx2, nn_cpu_avx512;
#endif

/* best first */
const nn_cpu_ops *const nn_cpu_all[] = {
#if defined(__x86_64__)
	&nn_cpu_avx512,
	&nn_cpu_avx2,
#endif
	&nn_cpu_generic,
	NULL,
};

static int supported(const nn_cpu_ops *o)
{
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (o == &nn_cpu_avx512)
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
		       __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	if (o == &nn_cpu_avx2)
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
	return o == &nn_cpu_generic;
}

static _Atomic(const nn_cpu_ops *) g_cpu;

int nn_isa_supported(const char *name)
{
	for (int i = 0; nn_cpu_all[i]; i++)
		if (!strcmp(nn_cpu_all[i]->name, name))
			return supported(nn_cpu_all[i]);
	return 0;
}

int nn_isa_set(const char *name, char *err, size_t errlen)
{
	for (int i = 0; nn_cpu_all[i]; i++) {
		const nn_cpu_ops *o = nn_cpu_all[i];
		if (strcmp(o->name, name))
			continue;
		if (!supported(o)) {
			snprintf(err, errlen, "instruction set '%s' is not supported by this CPU (it has: %s)", name,
				 nn_isa_list());
			return NN_EINVAL;
		}
		atomic_store(&g_cpu, o);
		return 0;
	}
	snprintf(err, errlen, "unknown instruction set '%s' (known: generic, avx2, avx512; this CPU has: %s)", name,
		 nn_isa_list());
	return NN_EINVAL;
}

const char *nn_isa_list(void)
{
	static char buf[64];
	static _Atomic int done;
	if (!atomic_load(&done)) {
		char tmp[64] = "";
		for (int i = 0; nn_cpu_all[i]; i++)
			if (supported(nn_cpu_all[i])) {
				if (tmp[0])
					strcat(tmp, " ");
				strcat(tmp, nn_cpu_all[i]->name);
			}
		memcpy(buf, tmp, sizeof buf);
		atomic_store(&done, 1);
	}
	return buf;
}

int nn_isa_init(char *err, size_t errlen)
{
	const char *e = getenv("PETRI_ISA");
	if (e && *e) {
		char tmp[240];
		if (nn_isa_set(e, tmp, sizeof tmp)) {
			snprintf(err, errlen, "PETRI_ISA: %s", tmp);
			return NN_EINVAL;
		}
		return 0;
	}
	for (int i = 0; nn_cpu_all[i]; i++)
		if (supported(nn_cpu_all[i])) {
			atomic_store(&g_cpu, nn_cpu_all[i]);
			return 0;
		}
	atomic_store(&g_cpu, &nn_cpu_generic);
	return 0;
}

const nn_cpu_ops *nn_cpu(void)
{
	const nn_cpu_ops *c = atomic_load_explicit(&g_cpu, memory_order_acquire);
	if (c)
		return c;
	char err[256];
	if (nn_isa_init(err, sizeof err)) {
		/* callers that want this as an error call nn_isa_init first */
		fprintf(stderr, "petri: %s\n", err);
		exit(2);
	}
	return atomic_load(&g_cpu);
}

const char *nn_isa_name(void) { return nn_cpu()->name; }

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double nn_isa_peak_gflops(int threads, double seconds)
{
	const nn_cpu_ops *c = nn_cpu();
	long iters = 1000;
	volatile float sink = 0;
	for (;;) { /* calibrate on one thread */
		double t0 = now();
		sink += c->fma_loop(iters, 1.0f);
		double t = now() - t0;
		if (t >= seconds / 4 || iters > (1L << 40))
			break;
		iters = t > 1e-4 ? (long)((double)iters * seconds / t) + 1 : iters * 16;
	}
	if (threads < 1)
		threads = 1;
	double t0 = now();
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
	{
		float s = c->fma_loop(iters, 1.0f);
#ifdef _OPENMP
#pragma omp atomic
#endif
		sink += s;
	}
	double t = now() - t0;
	(void)sink;
	return 12.0 * 2.0 * c->lanes * (double)iters * threads / t / 1e9;
}
