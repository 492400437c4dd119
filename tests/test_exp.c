/* test_exp.c - daemon/exp.h: the one model -> frontier point mapping that
 * the daemon and `petri frontier/pick` share, and the frontier's records in
 * the store: saved change by change, loaded back, older stores converted. */
#include "check.h"
#include "exp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_point(void)
{
	nn_cost c;
	nn_metrics m;
	memset(&c, 0, sizeof c);
	memset(&m, 0, sizeof m);
	c.macs = 1000, c.params = 50, c.act_bytes_1 = 4096, c.latency_ms = 0.25;
	m.val_acc = 0.875f, m.val_loss = 0.5f, m.test_acc = 0.86f;
	fr_point p = petrid_point("m000002", "m000001", 3, &c, &m);
	CHECK(!strcmp(p.id, "m000002") && !strcmp(p.parent, "m000001") && p.depth == 3);
	CHECK(p.macs == 1000 && p.params == 50 && p.mem_bytes == 4096 && p.latency_ms == 0.25);
	CHECK(fabs(p.val_error - 0.125) < 1e-6 && fabs(p.val_loss - 0.5) < 1e-6 && fabs(p.test_acc - 0.86) < 1e-6);
	/* what is not finite never looks good */
	m.val_acc = NAN, m.val_loss = NAN, m.test_acc = NAN, c.latency_ms = NAN;
	p = petrid_point("a", "", -1, &c, &m);
	CHECKM(p.val_error == 1 && p.val_loss >= 1e9 && isnan(p.test_acc) && p.latency_ms == 0 && p.depth == 0,
	       "val_error %g val_loss %g test_acc %g latency %g depth %d", p.val_error, p.val_loss, p.test_acc,
	       p.latency_ms, p.depth);
	m.val_acc = 1.5f, m.val_loss = INFINITY, m.test_acc = 2;
	p = petrid_point("a", "", 0, &c, &m);
	CHECK(p.val_error == 0 && p.val_loss >= 1e9 && isnan(p.test_acc));
}

/* ---- the frontier in the store ---- */
typedef struct {
	fr_frontier *fr;
	const char *id;     /* petrid_frontier_save's id */
	int legacy;         /* store the single record instead */
	char err[256];
	long blobs;
} fr_tx;

static int tx_save(q_txn *t, void *ud)
{
	fr_tx *x = ud;
	if (!x->legacy)
		return petrid_frontier_save(t, x->fr, x->id);
	char *buf;
	size_t len;
	if (fr_encode(x->fr, &buf, &len))
		return Q_ENOMEM;
	int rc = q_blob_put(t, PETRID_FR_SINGLE, buf, len);
	free(buf);
	return rc;
}

static int tx_load(q_txn *t, void *ud)
{
	fr_tx *x = ud;
	fr_free(x->fr);
	return petrid_frontier_load(t, &x->fr, x->err, sizeof x->err);
}

static int count_blob(const char *key, const void *buf, size_t len, void *ud)
{
	(void)key, (void)buf, (void)len;
	++*(long *)ud;
	return 0;
}

static int tx_count(q_txn *t, void *ud)
{
	fr_tx *x = ud;
	x->blobs = 0;
	return q_blob_each(t, "", count_blob, &x->blobs);
}

static int same_state(const fr_frontier *a, const fr_frontier *b)
{
	char *x = NULL, *y = NULL;
	size_t lx = 0, ly = 0;
	int ok = a && b && !fr_encode(a, &x, &lx) && !fr_encode(b, &y, &ly) && lx == ly && !memcmp(x, y, lx);
	free(x), free(y);
	return ok;
}

static fr_point model_point(int i)
{
	fr_point p;
	memset(&p, 0, sizeof p);
	snprintf(p.id, sizeof p.id, "m%06d", i);
	p.macs = 100000 + 7919 * (uint64_t)((i * 37) % 101);
	p.params = p.macs / 10, p.mem_bytes = p.macs / 3, p.latency_ms = 0.5;
	p.val_error = 0.05 + 0.3 / (1 + (double)p.macs / 200000) + 0.01 * (i % 5);
	p.val_loss = 2 * p.val_error, p.test_acc = 1 - p.val_error;
	return p;
}

static int tx_del_point7(q_txn *t, void *ud)
{
	(void)ud;
	return q_blob_del(t, PETRID_FR_POINTS "000000000007");
}

static void test_frontier_store(void)
{
	char dir[] = "/tmp/petri_exptest_XXXXXX", err[512];
	CHECK(mkdtemp(dir) != NULL);
	q_options qo = { Q_CREATE | Q_NOSYNC, 0, 0 };
	q_store *s = NULL;
	CHECK_OK(q_open(&s, dir, &qo, err, sizeof err), q_strerror);
	if (!s)
		return;
	fr_tx x = { NULL, NULL, 0, "", 0 }, y = { NULL, NULL, 0, "", 0 };
	/* nothing stored: no frontier, no error */
	CHECK(q_read(s, tx_load, &y) == 0 && !y.fr);
	/* an older store: 40 models in the single record */
	CHECK_OK(fr_create(&x.fr, NULL), fr_strerror);
	for (int i = 0; i < 40; i++) {
		fr_point p = model_point(i);
		CHECK_OK(fr_insert(x.fr, &p, NULL), fr_strerror);
	}
	fr_choice ch;
	CHECK_OK(fr_choose(x.fr, NULL, &ch), fr_strerror);
	x.legacy = 1;
	CHECK_OK(q_write(s, tx_save, &x), q_strerror);
	CHECK(q_read(s, tx_load, &y) == 0 && same_state(x.fr, y.fr) && y.err[0] == 0);
	/* the first save converts it: every point, the header, no single record */
	fr_point p = model_point(40);
	CHECK_OK(fr_insert(x.fr, &p, NULL), fr_strerror);
	x.legacy = 0, x.id = p.id;
	CHECK_OK(q_write(s, tx_save, &x), q_strerror);
	CHECK(q_read(s, tx_count, &x) == 0 && x.blobs == 41 + 1);
	CHECKM(q_read(s, tx_load, &y) == 0 && same_state(x.fr, y.fr) && y.err[0] == 0, "%s", y.err);
	/* then only what changed: a choice, an insert; each save adds at most a point */
	for (int i = 41; i < 60; i++) {
		CHECK_OK(fr_choose(x.fr, NULL, &ch), fr_strerror);
		x.id = ch.id;
		CHECK_OK(q_write(s, tx_save, &x), q_strerror);
		p = model_point(i);
		CHECK_OK(fr_insert(x.fr, &p, NULL), fr_strerror);
		x.id = p.id;
		CHECK_OK(q_write(s, tx_save, &x), q_strerror);
	}
	CHECK(q_read(s, tx_count, &x) == 0 && x.blobs == 60 + 1);
	CHECKM(q_read(s, tx_load, &y) == 0 && same_state(x.fr, y.fr), "%s", y.err);
	/* a lost point record: refused with the reason */
	q_close(s);
	CHECK_OK(q_open(&s, dir, &qo, err, sizeof err), q_strerror);
	if (!s)
		return;
	x.id = NULL;
	CHECK(q_write(s, tx_del_point7, NULL) == 0);
	CHECKM(q_read(s, tx_load, &y) == Q_ECORRUPT && !y.fr && strstr(y.err, "expected"), "%s", y.err);
	q_close(s);
	fr_free(x.fr), fr_free(y.fr);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	RUN(test_point);
	RUN(test_frontier_store);
	return check_report();
}
