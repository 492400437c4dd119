/* crash_search.c PETRI DATA.csv SHAPE KILLS JOBS - kill -9 the search daemon
 * at random moments, restart it each time, and check after every kill that
 * the store opens and verifies without repair, that no trained model was
 * lost, and at the end that the budget completes with every job done once. */
#include "check.h"
#include "queue.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *petri, *data, *shape;
static char dir[256];
static int jobs;

static pid_t start(int quiet_budget)
{
	pid_t p = fork();
	if (p == 0) {
		char jb[32];
		snprintf(jb, sizeof jb, "%d", jobs);
		freopen("/dev/null", "w", stderr);
		freopen("/dev/null", "w", stdout);
		execl(petri, petri, "search", data, "--shape", shape, "--dir", dir, "--jobs", jb, "--workers", "2",
		      "--filters", "4", "--stages", "2", "--seed-epochs", "1", "--cand-epochs", "0.3", "--child-epochs",
		      "0.5", "--batch", "32", "--quiet", (char *)NULL);
		_exit(127);
	}
	(void)quiet_budget;
	return p;
}

typedef struct {
	char (*ids)[Q_IDLEN];
	int n, cap;
	uint64_t child_done, cand_done;
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

static int tx_snap(q_txn *t, void *ud)
{
	snap *x = ud;
	int rc = q_summary_each(t, collect, x);
	if (!rc)
		rc = q_count(t, Q_CHILD, Q_DONE, &x->child_done);
	if (!rc)
		rc = q_count(t, Q_CANDIDATE, Q_DONE, &x->cand_done);
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
	if (!rc)
		rc = q_read(s, tx_snap, x);
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

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: crash_search PETRI DATA.csv SHAPE KILLS JOBS\n");
		return 2;
	}
	petri = argv[1], data = argv[2], shape = argv[3];
	int kills = atoi(argv[4]);
	jobs = atoi(argv[5]);
	snprintf(dir, sizeof dir, "/tmp/petri_crash_%d", (int)getpid());
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd)) return 1;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	snap prev = { 0 };
	int lost = 0, bad_open = 0, done_kills = 0, finished_early = 0;
	for (int k = 0; done_kills < kills && k < 3 * kills; k++) {
		pid_t p = start(0);
		/* a random moment: 0.05 .. 1.5 s into the run */
		struct timespec ts = { 0, 0 };
		long ms = 50 + rand() % 1450;
		ts.tv_sec = ms / 1000, ts.tv_nsec = (ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		int st;
		if (waitpid(p, &st, WNOHANG) == p) {
			finished_early++; /* the budget was spent before the kill */
		} else {
			kill(p, SIGKILL);
			waitpid(p, &st, 0);
			done_kills++;
		}
		snap now;
		int rc = take(&now);
		if (rc < 0) {
			bad_open++;
			continue;
		}
		for (int i = 0; i < prev.n; i++)
			if (!has(&now, prev.ids[i])) {
				fprintf(stderr, "kill %d: model %s was trained before and is gone\n", k, prev.ids[i]);
				lost++;
			}
		if (now.child_done != (uint64_t)now.n) {
			fprintf(stderr, "kill %d: %d trained models but %llu finished child jobs\n", k, now.n,
				(unsigned long long)now.child_done);
			lost++;
		}
		free(prev.ids);
		prev = now;
	}
	/* run to the end of the budget */
	pid_t p = start(1);
	int st;
	waitpid(p, &st, 0);
	CHECKM(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the final run did not end cleanly (status %d)", st);
	snap fin;
	CHECK(take(&fin) == 0);
	for (int i = 0; i < prev.n; i++)
		if (!has(&fin, prev.ids[i]))
			lost++;
	/* every job once: trained models == finished child jobs, and the budget
	 * (finished jobs) is complete */
	CHECKM(fin.child_done == (uint64_t)fin.n, "%d trained models, %llu finished child jobs", fin.n,
	       (unsigned long long)fin.child_done);
	CHECKM(fin.child_done + fin.cand_done >= (uint64_t)jobs, "budget of %d jobs: only %llu done", jobs,
	       (unsigned long long)(fin.child_done + fin.cand_done));
	printf("crash: %d kills (%d runs ended before their kill), %d trained models, %llu child + %llu candidate jobs done, %d lost models, %d stores that did not open\n",
	       done_kills, finished_early, fin.n, (unsigned long long)fin.child_done, (unsigned long long)fin.cand_done,
	       lost, bad_open);
	CHECK(lost == 0);
	CHECK(bad_open == 0);
	CHECKM(done_kills >= kills, "only %d kills landed in a running search", done_kills);
	free(prev.ids);
	free(fin.ids);
	if (system(cmd)) return 1;
	return check_report();
}
