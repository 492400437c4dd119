/* mkexp.c - writes a small synthetic experiment for the store commands'
 * tests (tests/test_cli_store.sh), with the daemon's layout (daemon/exp.h):
 * real tiny models (grow_seed, untrained weights) with chosen metrics, the
 * config keys, job payloads in every queue and state, events, and the
 * frontier blob.
 *
 * usage: mkexp DIR [--no-frontier] [--pid N] [--hold] [--models N]
 *   --models N     then N more trained models (for load tests: tools/
 *                  load_serve.sh), copies of the first with spread costs
 *                  and accuracies, children of m000001; not in the stored
 *                  frontier blob (readers add them), not printed
 *   --no-frontier  store no "frontier" blob (readers rebuild it)
 *   --pid N        the daemon pid to record (default: this process, which
 *                  exits, so the recorded daemon is not running)
 *   --hold         afterwards keep the store open for writing (holding its
 *                  lock, like a running daemon), print "holding" and wait
 *                  until stdin reaches end of file
 *
 * Prints one line per trained model: id macs params mem_bytes latency_ms
 * val_acc test_acc. Models, by growing cost:
 *   m000001 .. m000006 trained; val acc .70 .80 .78 .88 .86 .90,
 *   test acc .69 .79 .81 .86 .87 .89; so the hull (and band, eps 0.025)
 *   is m000001 m000002 m000004 m000006; m000007 new, m000008 failed.
 */
#include "exp.h"
#include "frontier.h"
#include "grow.h"
#include "nn.h"
#include "queue.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NMODELS 8
#define NTRAINED 6

static const int filters[NMODELS] = { 2, 3, 4, 5, 6, 8, 10, 12 };
static const float val_acc[NMODELS] = { 0.70f, 0.80f, 0.78f, 0.88f, 0.86f, 0.90f, 0, 0 };
static const float test_acc[NMODELS] = { 0.69f, 0.79f, 0.81f, 0.86f, 0.87f, 0.89f, 0, 0 };
static const double latency[NMODELS] = { 0.05, 0.08, 0.11, 0.15, 0.2, 0.3, 0, 0 };
static const int parent[NMODELS] = { -1, 0, 0, 1, 1, 3, 5, 5 }; /* index, -1 none */

typedef struct {
	nn_model m[NMODELS];
	char ids[NMODELS][Q_IDLEN];
	int frontier;
	long pid;
} mk;

static void fail(const char *what, const char *msg)
{
	fprintf(stderr, "mkexp: %s: %s\n", what, msg);
	exit(1);
}

static void make_model(nn_model *all, int i)
{
	nn_model *m = &all[i];
	nn_graph g;
	grow_seed_opts o;
	grow_seed_defaults(&o);
	o.filters = filters[i];
	o.stages = 2;
	o.blocks = 1;
	nn_shape in = { 1, 1, 8, 8 };
	if (grow_seed(&g, in, 3, &o))
		fail("grow_seed", "failed");
	char err[512];
	nn_net *net;
	if (nn_net_create(&net, &g, 1, err, sizeof err))
		fail("nn_net_create", err);
	nn_net_init(net, 7 + (uint64_t)i);
	if (nn_model_from_net(m, net))
		fail("nn_model_from_net", "out of memory");
	nn_net_free(net);
	nn_graph_free(&g);
	m->cost.latency_ms = latency[i];
	m->metrics = (nn_metrics){ val_acc[i], 1.5f - val_acc[i], test_acc[i], 1.5f - test_acc[i], 1 + i };
	snprintf(m->lineage.search, sizeof m->lineage.search, "synthetic");
	m->lineage.depth = parent[i] < 0 ? 0 : all[parent[i]].lineage.depth + 1;
	snprintf(m->data, sizeof m->data, "/nonexistent/synthetic-data");
}

static int put_all(q_txn *t, void *ud)
{
	mk *k = ud;
	int rc;
	char id[Q_IDLEN];
	for (int i = 0; i < NMODELS; i++) {
		nn_model *m = &k->m[i];
		if ((rc = q_model_new_id(t, id)))
			return rc;
		snprintf(m->lineage.id, sizeof m->lineage.id, "%s", id);
		memcpy(k->ids[i], id, sizeof id);
		if (parent[i] >= 0)
			memcpy(m->lineage.parent, k->ids[parent[i]], sizeof m->lineage.parent); /* both Q_IDLEN */
		snprintf(m->lineage.grown, sizeof m->lineage.grown, "synthetic model %d", i + 1);
		int st = i < NTRAINED ? Q_MODEL_TRAINED : i == NTRAINED ? Q_MODEL_NEW : Q_MODEL_FAILED;
		if ((rc = q_model_put(t, m, st)))
			return rc;
		if (st == Q_MODEL_TRAINED && (rc = q_event(t, "model %s trained: val acc %.2f%%", id, 100 * val_acc[i])))
			return rc;
	}
	char pid[32];
	snprintf(pid, sizeof pid, "%ld", k->pid);
	const char *cfg[][2] = {
		{ PETRID_CFG_DATA, "/nonexistent/synthetic-data" }, { PETRID_CFG_SEED, "5" },
		{ PETRID_CFG_BUDGET_S, "3600" }, { PETRID_CFG_BUDGET_JOBS, "0" }, { PETRID_CFG_MAX_MFLOPS, "0" },
		{ PETRID_CFG_WORKERS, "2" }, { PETRID_CFG_THREADS, "1" }, { PETRID_CFG_RANDOM_GROWTH, "0" },
		{ PETRID_CFG_COST_AXIS, PETRID_COST_AXIS }, { PETRID_CFG_EPS, "0.025" },
		{ PETRID_CFG_CREATED, "1700000000" }, { PETRID_CFG_ELAPSED, "754" },
		{ PETRID_CFG_STATE, PETRID_STATE_RUNNING }, { PETRID_CFG_PID, pid }, { PETRID_CFG_JOBS_DONE, "11" },
	};
	for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++)
		if ((rc = q_config_set(t, cfg[i][0], cfg[i][1])))
			return rc;
	/* parent: 1 queued, 1 done; candidate: 1 queued, 1 leased, 1 done;
	 * child: 1 queued, 1 failed (leased Q_MAX_ATTEMPTS times) */
	for (int q = 0; q < Q_NQUEUES; q++)
		for (int j = 0; j < (q == Q_CANDIDATE ? 3 : 2); j++)
			if ((rc = petrid_job_push(t, q, k->ids[q == Q_CHILD ? NTRAINED : 3 + j], (uint64_t)(10 * q + j), NULL)))
				return rc;
	q_entry en;
	if ((rc = q_lease(t, Q_PARENT, "w0", &en)))
		return rc;
	if ((rc = q_done(t, en.id, "w0")))
		return rc;
	q_entry_free(&en);
	if ((rc = q_lease(t, Q_CANDIDATE, "w0", &en)))
		return rc;
	if ((rc = q_done(t, en.id, "w0")))
		return rc;
	q_entry_free(&en);
	if ((rc = q_lease(t, Q_CANDIDATE, "w1", NULL)))
		return rc;
	int st = Q_QUEUED;
	while (st != Q_FAILED) {
		if ((rc = q_lease(t, Q_CHILD, "w1", &en)))
			return rc;
		rc = q_fail(t, en.id, "w1", "synthetic failure", &st);
		q_entry_free(&en);
		if (rc)
			return rc;
	}
	if ((rc = q_event(t, "synthetic experiment written")))
		return rc;
	if (!k->frontier)
		return 0;
	fr_frontier *fr;
	fr_opts o;
	fr_opts_default(&o);
	o.axis = FR_AXIS_MACS;
	o.eps = PETRID_EPS;
	if (fr_create(&fr, &o))
		return Q_ENOMEM;
	for (int i = 0; i < NTRAINED; i++) {
		const nn_model *m = &k->m[i];
		fr_point p = petrid_model_point(m);
		if (fr_insert(fr, &p, NULL))
			fail("fr_insert", p.id);
	}
	fr_choice c; /* two parent choices, so the plot marks chosen parents */
	for (int i = 0; i < 2; i++)
		if (fr_choose(fr, NULL, &c))
			fail("fr_choose", "no parent");
	char *buf;
	size_t len;
	if (fr_encode(fr, &buf, &len))
		fail("fr_encode", "failed");
	rc = q_blob_put(t, "frontier", buf, len);
	free(buf);
	fr_free(fr);
	return rc;
}

typedef struct {
	mk *k;
	long from, n;
} extra;

/* models from .. from + n - 1 of --models */
static int put_extra(q_txn *t, void *ud)
{
	extra *x = ud;
	nn_model m = x->k->m[0]; /* a shallow copy: only the lineage, costs and metrics change */
	uint64_t r = 88172645463325252ull + (uint64_t)x->from;
	int rc;
	for (long i = 0; i < x->n; i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		double u = (double)(r >> 11) / 9007199254740992.0;
		if ((rc = q_model_new_id(t, m.lineage.id)))
			return rc;
		memcpy(m.lineage.parent, x->k->ids[0], Q_IDLEN);
		m.lineage.depth = 1;
		m.cost.macs = 8000 + (uint64_t)(u * 4e6);
		m.cost.params = 200 + (uint64_t)(u * 1e5) + (r & 255);
		m.cost.act_bytes_1 = 1024 + (uint64_t)(u * 1e6);
		m.cost.latency_ms = 0.01 + u;
		float acc = (float)(0.6 + 0.35 * sqrt(u) - 0.1 * (double)((r >> 20) & 1023) / 1023);
		m.metrics = (nn_metrics){ acc, 1.5f - acc, acc - 0.01f, 1.51f - acc, 1 };
		if ((rc = q_model_put(t, &m, Q_MODEL_TRAINED)))
			return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long nextra = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: mkexp DIR [--no-frontier] [--pid N] [--hold]\n");
		return 2;
	}
	mk k;
	memset(&k, 0, sizeof k);
	k.frontier = 1;
	k.pid = (long)getpid();
	int hold = 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--no-frontier")) k.frontier = 0;
		else if (!strcmp(argv[i], "--hold")) hold = 1;
		else if (!strcmp(argv[i], "--pid") && i + 1 < argc) k.pid = atol(argv[++i]);
		else if (!strcmp(argv[i], "--models") && i + 1 < argc) nextra = atol(argv[++i]);
		else {
			fprintf(stderr, "mkexp: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	for (int i = 0; i < NMODELS; i++)
		make_model(k.m, i);
	for (int i = 1; i < NMODELS; i++) /* distinct, growing costs */
		if (k.m[i].cost.macs <= k.m[i - 1].cost.macs || k.m[i].cost.params <= k.m[i - 1].cost.params ||
		    k.m[i].cost.act_bytes_1 < k.m[i - 1].cost.act_bytes_1)
			fail("models", "costs do not grow with the filters");
	char err[512];
	q_store *s;
	q_options o = { Q_CREATE | Q_NOSYNC, 0, 0 };
	int rc = q_open(&s, argv[1], &o, err, sizeof err);
	if (rc)
		fail(argv[1], err);
	if ((rc = q_write(s, put_all, &k)))
		fail("write", q_errmsg(s)[0] ? q_errmsg(s) : q_strerror(rc));
	for (long from = 0; from < nextra; from += 5000) {
		extra x = { &k, from, nextra - from < 5000 ? nextra - from : 5000 };
		if ((rc = q_write(s, put_extra, &x)))
			fail("write", q_errmsg(s)[0] ? q_errmsg(s) : q_strerror(rc));
	}
	for (int i = 0; i < NTRAINED; i++) {
		const nn_model *m = &k.m[i];
		printf("%s %llu %llu %llu %.4f %.2f %.2f\n", m->lineage.id, (unsigned long long)m->cost.macs,
		       (unsigned long long)m->cost.params, (unsigned long long)m->cost.act_bytes_1, m->cost.latency_ms,
		       m->metrics.val_acc, m->metrics.test_acc);
	}
	fflush(stdout);
	if (hold) {
		printf("holding\n");
		fflush(stdout);
		while (getchar() != EOF)
			;
	}
	q_close(s);
	for (int i = 0; i < NMODELS; i++)
		nn_model_free(&k.m[i]);
	return 0;
}
