/* crash_search.c PETRI DATA.csv SHAPE KILLS JOBS - kill -9 the search daemon
 * at moments spread over whole searches, restart it each time, and check
 * after every kill that the store opens and verifies without repair, that no
 * trained model was lost and that the queue counts agree; at the end of each
 * search, that the budget completed with every job done once, and count the
 * jobs that failed because of the kills.
 *
 * Kill moments. First a reference search of JOBS jobs runs unkilled; its
 * store is read every 100 ms, which gives t(p), the moment p jobs were done,
 * its whole length T (the expected length of a search) and its start-up s
 * (until its store existed). Then rounds: a fresh search of JOBS jobs with
 * JOBS/10 kill moments x drawn uniformly over [0, T] and sorted. A daemon
 * started on a store with p jobs done stands at t(p) of the search, so the
 * next moment x > t(p) is s + x - t(p) after its start (moments it has
 * passed already are dropped). The kill at that moment is
 *   - in two runs of three, a kill -9 from here;
 *   - in one of three, the daemon's own, through the test hook
 *     PETRI_TEST_KILL_AT=WHERE:T (queue/testhook.c): SIGKILL at the first
 *     store commit ("commit", the transaction written, mdb_txn_commit not
 *     yet called), frontier write ("frontier", point records written, the
 *     header not) or periodic state save ("checkpoint", every 10 s of a run)
 *     at or after it, the kind with the fewest kills so far first.
 * When the moments of a round are used up, the daemon runs to the end of the
 * budget, the round's store is checked and the next round starts, until
 * KILLS kills have landed.
 *
 * Failed jobs. Jobs run in worker processes, so a daemon that dies was not
 * killed by its jobs: a lease it lost does not count as one of the job's
 * attempts (queue.h: Q_MAX_ATTEMPTS), and a job that runs through any
 * number of kills is never failed for it. The test counts the jobs failed
 * with the reason "lease ... lost (writer died)", the jobs failed on their
 * own, and the finished jobs that used more than one attempt (a kill that
 * was charged); the first and the last must be 0. It also fails on lost
 * models, on stores that do not open or verify, on counts that disagree and
 * on an unfinished budget. */
#include "check.h"
#include "exp.h"
#include "queue.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *petri, *data, *shape;
static char dir[256];
static int jobs;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double uniform(void) { return rand() / ((double)RAND_MAX + 1); }

static void pause_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	nanosleep(&ts, NULL);
}

/* the daemon on dir; hook: PETRI_TEST_KILL_AT for it, or NULL */
static pid_t start(const char *hook)
{
	pid_t p = fork();
	if (p == 0) {
		char jb[32];
		snprintf(jb, sizeof jb, "%d", jobs);
		if (hook)
			setenv("PETRI_TEST_KILL_AT", hook, 1);
		else
			unsetenv("PETRI_TEST_KILL_AT");
		freopen("/dev/null", "w", stderr);
		freopen("/dev/null", "w", stdout);
		execl(petri, petri, "search", data, "--shape", shape, "--dir", dir, "--jobs", jb, "--workers", "2",
		      "--filters", "4", "--stages", "2", "--seed-epochs", "1", "--cand-epochs", "0.3", "--child-epochs",
		      "0.5", "--batch", "32", "--quiet", (char *)NULL);
		_exit(127);
	}
	return p;
}

typedef struct {
	char (*ids)[Q_IDLEN];
	int n, cap;
	uint64_t child_done, cand_done, jobs_done;
	int failed_kill, failed_own; /* failed entries: leases lost to kills, or their own failure */
	int charged;                 /* finished entries leased more than once: a lost lease counted */
} snap;

static int collect(const q_summary *s, void *ud)
{
	snap *x = ud;
	if (s->state != Q_MODEL_TRAINED)
		return 0;
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 64;
		x->ids = realloc(x->ids, sizeof *x->ids * x->cap);
	}
	memcpy(x->ids[x->n++], s->id, Q_IDLEN);
	return 0;
}

static int failed(const q_entry *e, void *ud)
{
	snap *x = ud;
	if (strstr(e->reason, "(writer died)"))
		x->failed_kill++;
	else
		x->failed_own++;
	return 0;
}

static int done_entry(const q_entry *e, void *ud)
{
	snap *x = ud;
	x->charged += e->attempts > 1;
	return 0;
}

static int tx_snap(q_txn *t, void *ud)
{
	snap *x = ud;
	int rc = q_summary_each(t, collect, x);
	if (!rc)
		rc = q_count(t, Q_CHILD, Q_DONE, &x->child_done);
	if (!rc)
		rc = q_count(t, Q_CANDIDATE, Q_DONE, &x->cand_done);
	for (int q = 0; q < Q_NQUEUES && !rc; q++)
		rc = q_entry_each(t, q, Q_FAILED, failed, x);
	for (int q = 0; q < Q_NQUEUES && !rc; q++)
		rc = q_entry_each(t, q, Q_DONE, done_entry, x);
	double v = 0;
	if (!rc && (rc = petrid_cfg_get_num(t, PETRID_CFG_JOBS_DONE, &v)) == Q_ENOTFOUND)
		rc = 0; /* killed before the search was set up in the store */
	x->jobs_done = (uint64_t)v;
	return rc;
}

/* open read-only, verify every record, list trained models */
static int take(snap *x)
{
	memset(x, 0, sizeof *x);
	q_store *s;
	q_options o = { Q_RDONLY, 0, 0 };
	char err[512];
	int rc = q_open(&s, dir, &o, err, sizeof err);
	if (rc == Q_ENOTFOUND)
		return 1; /* killed before the store was made */
	if (rc) {
		fprintf(stderr, "open: %s\n", err);
		return -1;
	}
	uint64_t recs = 0;
	rc = q_verify(s, &recs);
	if (rc)
		fprintf(stderr, "verify: %s: %s\n", q_strerror(rc), q_errmsg(s));
	if (!rc && (rc = q_read(s, tx_snap, x)))
		fprintf(stderr, "read: %s: %s\n", q_strerror(rc), q_errmsg(s));
	q_close(s);
	return rc ? -1 : 0;
}

static int has(const snap *x, const char *id)
{
	for (int i = 0; i < x->n; i++)
		if (!strcmp(x->ids[i], id))
			return 1;
	return 0;
}

static int lost; /* models lost, over the whole test */

/* after a run: nothing trained is lost, finished jobs stay finished, and
 * the counts agree (trained models = finished child jobs; the job counter =
 * finished child + candidate jobs) */
static void check_run(const snap *prev, const snap *x, int run)
{
	for (int i = 0; i < prev->n; i++)
		if (!has(x, prev->ids[i])) {
			fprintf(stderr, "run %d: model %s was trained before and is gone\n", run, prev->ids[i]);
			lost++;
		}
	if (x->child_done != (uint64_t)x->n) {
		fprintf(stderr, "run %d: %d trained models but %llu finished child jobs\n", run, x->n,
			(unsigned long long)x->child_done);
		lost++;
	}
	CHECKM(x->child_done >= prev->child_done && x->cand_done >= prev->cand_done,
	       "run %d: finished jobs went back: child %llu -> %llu, candidate %llu -> %llu", run,
	       (unsigned long long)prev->child_done, (unsigned long long)x->child_done,
	       (unsigned long long)prev->cand_done, (unsigned long long)x->cand_done);
	CHECKM(x->jobs_done == x->child_done + x->cand_done,
	       "run %d: the job counter says %llu, the queues %llu + %llu finished", run,
	       (unsigned long long)x->jobs_done, (unsigned long long)x->child_done, (unsigned long long)x->cand_done);
}

/* jobs done in the store of dir, -1 when there is none yet */
static long progress(void)
{
	q_store *s;
	q_options o = { Q_RDONLY, 0, 0 };
	char err[512];
	if (q_open(&s, dir, &o, err, sizeof err))
		return -1;
	snap x;
	memset(&x, 0, sizeof x);
	long n = q_read(s, tx_snap, &x) ? -1 : (long)(x.child_done + x.cand_done);
	free(x.ids);
	q_close(s);
	return n;
}

/* the reference search: t[p] = seconds until p jobs were done (p <= jobs),
 * *len its whole length, *startup until its store existed, *ref its end */
static void reference(double *t, double *len, double *startup, snap *ref)
{
	double t0 = now();
	*startup = -1;
	for (int p = 0; p <= jobs; p++)
		t[p] = -1;
	t[0] = 0;
	pid_t p = start(NULL);
	int st;
	while (waitpid(p, &st, WNOHANG) == 0) {
		pause_s(0.1);
		long n = progress();
		double at = now() - t0;
		if (n >= 0 && *startup < 0)
			*startup = at;
		for (long i = 1; i <= n && i <= jobs; i++)
			if (t[i] < 0)
				t[i] = at;
	}
	*len = now() - t0;
	CHECKM(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the reference search did not end cleanly (status %d)", st);
	if (*startup < 0)
		*startup = *len;
	for (int i = 1; i <= jobs; i++)
		if (t[i] < 0)
			t[i] = *len;
	CHECK(take(ref) == 0);
}

static int cmp_double(const void *a, const void *b)
{
	double u = *(const double *)a, v = *(const double *)b;
	return u < v ? -1 : u > v;
}

enum { BY_TEST, AT_COMMIT, AT_FRONTIER, AT_CHECKPOINT, NKINDS };
static const char *kind_name[NKINDS] = { "kill -9", "commit", "frontier", "checkpoint" };
#define SAVE_EVERY 10.0 /* daemon/loop.c: the periodic state save */

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: crash_search PETRI DATA.csv SHAPE KILLS JOBS\n");
		return 2;
	}
	petri = argv[1], data = argv[2], shape = argv[3];
	int kills = atoi(argv[4]);
	jobs = atoi(argv[5]);
	if (kills < 0 || jobs < 1) {
		fprintf(stderr, "crash_search: KILLS >= 0 and JOBS >= 1\n");
		return 2;
	}
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	srand(seed);
	double began = now();
	char cmd[600];

	/* the reference: how long a run of this size lasts, unkilled */
	snprintf(dir, sizeof dir, "/tmp/petri_crash_%d_ref", (int)getpid());
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd)) return 1;
	double *tref = malloc(sizeof *tref * (size_t)(jobs + 1)), tlen, tstart;
	snap ref;
	reference(tref, &tlen, &tstart, &ref);
	if (system(cmd)) return 1;
	printf("crash: seed %u; reference search of %d jobs: %.1f s (start-up %.1f s), %d trained models, %d failed jobs\n",
	       seed, jobs, tlen, tstart, ref.n, ref.failed_kill + ref.failed_own);
	fflush(stdout);

	snprintf(dir, sizeof dir, "/tmp/petri_crash_%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	int bad_open = 0, bad_exit = 0, hung = 0, done_kills = 0, rounds = 0, runs = 0, passed = 0, early = 0;
	int by_kind[NKINDS] = { 0 }, failed_kill = 0, failed_own = 0, charged = 0, trained = 0;
	int per_round = jobs / 10 > 0 ? jobs / 10 : 1;
	double *x = malloc(sizeof *x * (size_t)per_round);
	for (; done_kills < kills && !hung && bad_exit <= 3; rounds++) {
		/* one round: a fresh search, killed at per_round moments */
		if (system(cmd)) return 1;
		for (int i = 0; i < per_round; i++)
			x[i] = uniform() * tlen;
		qsort(x, (size_t)per_round, sizeof *x, cmp_double);
		snap prev = { 0 };
		int round_kills = 0, next = 0;
		for (;;) {
			runs++;
			long p = (long)(prev.child_done + prev.cand_done);
			double pos = tref[p < jobs ? p : jobs];
			while (next < per_round && x[next] <= pos)
				next++, passed++;
			int kind = BY_TEST, last = next == per_round;
			double at = last ? 0 : tstart + x[next] - pos;
			if (!last && uniform() < 1.0 / 3) {
				kind = AT_COMMIT;
				for (int k = AT_FRONTIER; k < NKINDS; k++)
					if (by_kind[k] < by_kind[kind] && (k != AT_CHECKPOINT || pos + tstart + SAVE_EVERY < tlen))
						kind = k;
			}
			double t0 = now();
			char hook[64];
			snprintf(hook, sizeof hook, "%s:%.3f", kind_name[kind], t0 + at);
			pid_t pid = start(last || kind == BY_TEST ? NULL : hook);
			int st = 0;
			if (!last && kind == BY_TEST) {
				pause_s(at);
				if (waitpid(pid, &st, WNOHANG) != pid) {
					kill(pid, SIGKILL);
					waitpid(pid, &st, 0);
				}
			} else {
				/* to the end of the budget or the daemon's own kill; a
				 * run far past the length of a whole search is hung */
				while (waitpid(pid, &st, WNOHANG) != pid) {
					if (now() - t0 > 3 * tlen + 120) {
						fprintf(stderr, "run %d: still running %.0f s after its start\n", runs,
							now() - t0);
						hung++;
						kill(pid, SIGKILL);
						waitpid(pid, &st, 0);
						break;
					}
					pause_s(0.05);
				}
			}
			int ended = WIFEXITED(st) && WEXITSTATUS(st) == 0;
			if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && !hung) {
				done_kills++, round_kills++, next++;
				by_kind[kind]++;
			} else if (ended && !last) {
				early++; /* the budget was spent before the kill */
			} else if (!ended) {
				fprintf(stderr, "run %d: the daemon ended with status %d\n", runs, st);
				bad_exit++;
			}
			snap now_;
			int rc = take(&now_);
			if (rc < 0)
				bad_open++;
			if (rc == 0) {
				check_run(&prev, &now_, runs);
				free(prev.ids);
				prev = now_;
			}
			if (ended || !WIFSIGNALED(st) || hung || bad_exit > 3)
				break;
		}
		if (hung || bad_exit > 3)
			break;
		/* the round ended: every job once, the budget complete */
		CHECKM(prev.child_done == (uint64_t)prev.n, "round %d: %d trained models, %llu finished child jobs",
		       rounds, prev.n, (unsigned long long)prev.child_done);
		CHECKM(prev.child_done + prev.cand_done >= (uint64_t)jobs, "round %d: budget of %d jobs: only %llu done",
		       rounds, jobs, (unsigned long long)(prev.child_done + prev.cand_done));
		passed += per_round - next;
		failed_kill += prev.failed_kill, failed_own += prev.failed_own, trained += prev.n;
		charged += prev.charged;
		printf("round %d: %d kills, %d trained models, %llu child + %llu candidate jobs done, %d + %d failed\n",
		       rounds, round_kills, prev.n, (unsigned long long)prev.child_done,
		       (unsigned long long)prev.cand_done, prev.failed_kill, prev.failed_own);
		fflush(stdout);
		free(prev.ids);
	}
	printf("crash: %d kills in %d rounds of %d jobs (%d kill -9 at a random moment, %d in a commit, %d in a frontier write, %d in a checkpoint; %d moments passed over, %d runs ended before their kill); %d trained models, %d lost, %d stores that did not open, %d bad exits, %d hung; failed jobs: %d after leases lost to kills, %d of their own (reference: %d); finished jobs charged an attempt: %d; %.0f s\n",
	       done_kills, rounds, jobs, by_kind[BY_TEST], by_kind[AT_COMMIT], by_kind[AT_FRONTIER],
	       by_kind[AT_CHECKPOINT], passed, early, trained, lost, bad_open, bad_exit, hung, failed_kill, failed_own,
	       ref.failed_kill + ref.failed_own, charged, now() - began);
	CHECK(lost == 0);
	CHECKM(failed_kill == 0, "%d jobs failed for good after leases lost to kills", failed_kill);
	CHECKM(charged == 0, "%d finished jobs used an attempt for a kill of the daemon", charged);
	CHECK(bad_open == 0);
	CHECK(bad_exit == 0);
	CHECK(hung == 0);
	CHECKM(done_kills >= kills, "only %d kills landed in a running search", done_kills);
	free(ref.ids);
	free(tref);
	free(x);
	if (system(cmd)) return 1;
	return check_report();
}
