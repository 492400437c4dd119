/* check.h - the tests' tiny harness: CHECK prints file:line and counts. */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_fails, check_runs;

#define CHECK(c) do { check_runs++; if (!(c)) { check_fails++; \
	fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); } } while (0)
#define CHECKM(c, ...) do { check_runs++; if (!(c)) { check_fails++; \
	fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #c); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
/* rc: 0 expected; else print the module's error string */
#define CHECK_OK(rc, strerr) do { int r_ = (rc); check_runs++; if (r_) { check_fails++; \
	fprintf(stderr, "%s:%d: %s returned %d (%s)\n", __FILE__, __LINE__, #rc, r_, strerr(r_)); } } while (0)

#define RUN(t) do { int f0_ = check_fails; t(); printf("%-40s %s\n", #t, check_fails == f0_ ? "ok" : "FAILED"); \
	fflush(stdout); } while (0)

static int check_report(void)
{
	printf("%d checks, %d failed\n", check_runs, check_fails);
	return check_fails ? 1 : 0;
}

#endif
