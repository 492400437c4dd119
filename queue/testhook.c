/* testhook.c - a test hook for the search crash test (tests/crash_search.c);
 * it does nothing unless PETRI_TEST_KILL_AT is set.
 *
 * PETRI_TEST_KILL_AT=WHERE:T makes the process kill itself with SIGKILL the
 * first time it reaches the point WHERE at or after T, in seconds of
 * CLOCK_MONOTONIC (one clock for every process of the machine, so the test
 * can draw the moment). The points:
 *   commit      q_write, the whole transaction written, just before
 *               mdb_txn_commit
 *   checkpoint  the daemon's periodic state save, inside its transaction
 *   frontier    petrid_frontier_save, the point records written, the header
 *               not yet
 * SIGKILL cannot be caught, so this is the same death as a kill -9 from
 * outside, only at a chosen place. The variable is read once, by the first
 * call; the points are all on the store's writer thread. */
#include "queue.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void q_test_kill_point(const char *where)
{
	static int read_env;
	static char at[16];
	static double t_at;
	if (!read_env) {
		const char *e = getenv("PETRI_TEST_KILL_AT"), *c = e ? strchr(e, ':') : NULL;
		if (c && (size_t)(c - e) < sizeof at) {
			memcpy(at, e, (size_t)(c - e));
			t_at = strtod(c + 1, NULL);
		}
		read_env = 1;
	}
	if (!at[0] || strcmp(at, where))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if ((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 >= t_at)
		raise(SIGKILL);
}
