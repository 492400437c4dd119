/* crash_store.c - the store survives kill -9.
 *
 * A child process opens the store (as a restarted daemon would: recovering
 * the dead writer's leases) and commits transactions in a loop; each one
 * stores a model, pushes a queue entry, leases and finishes or fails older
 * entries, rewrites a frontier blob and config, and logs an event. Only
 * after q_write returns does the child report the transaction's number
 * through a pipe. The parent kills it with SIGKILL after a random delay,
 * KILLS times, and after each kill reopens the store without any repair and
 * checks that every reported transaction is there in full, that nothing of
 * an unreported one beyond the last committed is visible, and that every
 * record of every database decodes (q_verify).
 *
 * usage: crash_store [kills] [seed]   (defaults 200 and 1)
 */
#include "check.h"
#include "queue.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/petri_crash_XXXXXX";

struct step {
	uint64_t k;   /* transaction number, from 1 */
	nn_model m;
};

static void model_id(char *id, uint64_t k) { snprintf(id, Q_IDLEN, "k%08llu", (unsigned long long)k); }

/* transaction k: model k, entry k (ids are sequential: one push each) */
static int step_txn(q_txn *t, void *ud)
{
	struct step *a = ud;
	char v[32];
	uint64_t id, pl[4] = { a->k, a->k * 3, a->k * 5, a->k * 7 };
	model_id(a->m.lineage.id, a->k);
	a->m.metrics.epochs = (double)a->k;
	a->m.params[0] = (float)a->k;
	int rc = q_model_put(t, &a->m, Q_MODEL_TRAINED);
	if (!rc)
		rc = q_push(t, (int)(a->k % Q_NQUEUES), pl, sizeof pl, &id);
	if (!rc && id != a->k)
		rc = Q_ECORRUPT;
	if (!rc && a->k % 2 == 0) {
		q_entry e;
		int q = (int)(a->k / 2 % Q_NQUEUES);
		rc = q_lease(t, q, "crash-child", &e);
		if (!rc) {
			uint64_t lid = e.id;
			q_entry_free(&e);
			rc = a->k % 4 ? q_done(t, lid, "crash-child") : q_fail(t, lid, "crash-child", "test", NULL);
		} else if (rc == Q_EEMPTY) {
			rc = 0;
		}
	}
	if (!rc && a->k % 3 == 0) { /* a lease left open: the next child recovers it */
		rc = q_lease(t, (int)(a->k % Q_NQUEUES), "crash-child", NULL);
		if (rc == Q_EEMPTY)
			rc = 0;
	}
	snprintf(v, sizeof v, "%llu", (unsigned long long)a->k);
	if (!rc)
		rc = q_config_set(t, "last", v);
	if (!rc)
		rc = q_blob_put(t, "hull", pl, sizeof pl);
	if (!rc)
		rc = q_event(t, "transaction %llu", (unsigned long long)a->k);
	return rc;
}

static int get_last(q_txn *t, void *ud)
{
	char v[32];
	int rc = q_config_get(t, "last", v, sizeof v);
	*(uint64_t *)ud = rc == Q_ENOTFOUND ? 0 : strtoull(v, NULL, 10);
	return rc == Q_ENOTFOUND ? 0 : rc;
}

static int recover(q_txn *t, void *ud)
{
	return q_recover(t, 1, ud);
}

static void child(int fd, int nosync)
{
	/* small map: growth happens under the kills too */
	q_options o = { nosync ? Q_NOSYNC : 0, 256 << 10, 0 };
	q_store *s;
	char err[512];
	int rc = q_open(&s, dir, &o, err, sizeof err), n = 0;
	if (rc) {
		fprintf(stderr, "child: %s\n", err);
		_exit(2);
	}
	struct step a;
	if (q_read(s, get_last, &a.k) || q_write(s, recover, &n)) {
		fprintf(stderr, "child: %s\n", q_errmsg(s));
		_exit(2);
	}
	nn_graph g;
	nn_graph_init(&g, (nn_shape){ 1, 1, 2, 2 }, 2);
	g.output = nn_linear(&g, nn_input(&g), 2);
	nn_net *net;
	if (nn_net_create(&net, &g, 1, NULL, 0) || nn_model_from_net(&a.m, net))
		_exit(2);
	for (;;) {
		a.k++;
		if ((rc = q_write(s, step_txn, &a))) {
			fprintf(stderr, "child: transaction %llu: %s: %s\n", (unsigned long long)a.k, q_strerror(rc),
				q_errmsg(s));
			_exit(3);
		}
		if (write(fd, &a.k, sizeof a.k) != sizeof a.k) /* reported only after commit returned */
			_exit(4);
		if (nosync) { /* without fsync a run would commit thousands: keep the store small */
			struct timespec ts = { 0, 250000 };
			nanosleep(&ts, NULL);
		}
	}
}

struct verify {
	uint64_t last, lost, upto;
	char why[256];
};

/* every k <= upto is there in full; nothing of last + 1 exists */
static int check_txn(q_txn *t, void *ud)
{
	struct verify *v = ud;
	int rc = get_last(t, &v->last);
	if (rc)
		return rc;
	for (uint64_t k = 1; k <= v->upto; k++) {
		char id[Q_IDLEN];
		nn_model m;
		q_entry e;
		model_id(id, k);
		int bad = 0;
		if (q_model_get(t, id, &m)) {
			bad = 1;
		} else {
			bad = m.metrics.epochs != (double)k || m.params[0] != (float)k;
			nn_model_free(&m);
		}
		if (!bad && q_entry_get(t, k, &e) == 0) {
			bad = e.len != 32 || ((uint64_t *)e.payload)[0] != k || ((uint64_t *)e.payload)[3] != 7 * k;
			q_entry_free(&e);
		} else {
			bad = 1;
		}
		if (bad) {
			if (!v->lost)
				snprintf(v->why, sizeof v->why, "transaction %llu: %s", (unsigned long long)k,
					 q_errmsg(q_txn_store(t)));
			v->lost++;
		}
	}
	char id[Q_IDLEN];
	q_summary sm;
	q_entry e;
	model_id(id, v->last + 1);
	if (q_summary_get(t, id, &sm) != Q_ENOTFOUND || q_entry_get(t, v->last + 1, &e) != Q_ENOTFOUND) {
		snprintf(v->why, sizeof v->why, "parts of uncommitted transaction %llu are visible",
			 (unsigned long long)(v->last + 1));
		return Q_ECORRUPT;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int kills = argc > 1 ? atoi(argv[1]) : 200;
	unsigned seed = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	srand(seed);
	q_store *s;
	q_options o = { Q_CREATE, 256 << 10, 0 };
	char err[512];
	CHECK_OK(q_open(&s, dir, &o, err, sizeof err), q_strerror);
	if (!s)
		return 1;
	q_close(s);
	uint64_t reported = 0, lost = 0, records = 0;
	int done = 0, dead_early = 0;
	for (; done < kills; done++) {
		int p[2];
		if (pipe(p)) {
			perror("pipe");
			return 1;
		}
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			close(p[0]);
			child(p[1], done % 2); /* every other child without fsync: more commits per run */
		}
		close(p[1]);
		/* a random moment: 0 to 50 ms, sometimes during the open */
		struct timespec ts = { 0, (long)(rand() % 50000) * 1000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		if (!WIFSIGNALED(status)) {
			dead_early++;
			fprintf(stderr, "child exited by itself (status %d)\n", status);
		}
		uint64_t k;
		ssize_t r;
		while ((r = read(p[0], &k, sizeof k)) == (ssize_t)sizeof k)
			reported = k > reported ? k : reported;
		close(p[0]);
		/* reopen without repair, as the next daemon would */
		CHECK_OK(q_open(&s, dir, NULL, err, sizeof err), q_strerror);
		if (!s)
			break;
		struct verify v = { 0, 0, reported, "" };
		int rc = q_read(s, check_txn, &v);
		CHECKM(rc == 0, "after kill %d: %s %s", done + 1, v.why, q_errmsg(s));
		CHECKM(v.last >= reported, "after kill %d: last committed %llu < reported %llu", done + 1,
		       (unsigned long long)v.last, (unsigned long long)reported);
		if (v.lost)
			fprintf(stderr, "after kill %d: %llu lost, first: %s\n", done + 1, (unsigned long long)v.lost,
				v.why);
		lost += v.lost;
		rc = q_verify(s, &records);
		CHECKM(rc == 0, "after kill %d: %s", done + 1, q_errmsg(s));
		q_close(s);
		if (rc)
			break;
		/* the next child continues from what is committed, reported or not */
		reported = v.last > reported ? v.last : reported;
	}
	printf("crash: %d kills, %llu transactions committed, %llu records in the store (all decoded), %llu lost records\n", done,
	       (unsigned long long)reported, (unsigned long long)records, (unsigned long long)lost);
	CHECK(lost == 0);
	CHECK(dead_early == 0);
	CHECK(done == kills);
	CHECKM(reported >= (uint64_t)kills / 4, "only %llu transactions in %d runs", (unsigned long long)reported, kills);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_report();
}
