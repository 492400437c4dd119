/* test_exp.c - daemon/exp.h, the experiment's layout that the daemon, the
 * command line and tests/mkexp share: the model -> frontier point mapping,
 * the job payload codec, MFLOPs <-> multiply-adds, config numbers and
 * jobs in a store; and the error codes of every module: each in its own
 * range, each named by its module's strerror and by petrid_strerror, none
 * shared by two modules; and the frontier's records in the store: saved
 * change by change, loaded back, older stores converted. */
#include "check.h"
#include "exp.h"
#include "grow.h"
#include "petrid.h"
#include "queue.h"
#include "rec.h"

#include <math.h>
#include <stdint.h>
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

static void test_model_point(void)
{
	nn_model m;
	memset(&m, 0, sizeof m);
	snprintf(m.lineage.id, sizeof m.lineage.id, "m000009");
	snprintf(m.lineage.parent, sizeof m.lineage.parent, "m000004");
	m.lineage.depth = 2;
	m.cost.macs = 777, m.cost.params = 12;
	m.metrics.val_acc = 0.5f, m.metrics.val_loss = 1, m.metrics.test_acc = 0.25f;
	fr_point a = petrid_model_point(&m), b = petrid_point("m000009", "m000004", 2, &m.cost, &m.metrics);
	CHECK(!memcmp(&a, &b, sizeof a));
}

/* ["PETRIJOB", 2, kind, id, seed, check], byte for byte: stores written
 * before keep their meaning */
static const unsigned char job_bytes[] = { 0x96, 0xa8, 'P', 'E', 'T', 'R', 'I', 'J', 'O', 'B', 0x02, 0x01, 0xa7,
					   'm',  '0',  '0', '0', '0', '0', '1', 0x05, 0xce, 0x57, 0x13, 0x18, 0xa9 };
/* the same job as version 1 wrote it, without a check: refused */
static const unsigned char job_v1[] = { 0x95, 0xa8, 'P', 'E', 'T', 'R', 'I', 'J', 'O', 'B', 0x01, 0x01,
					0xa7, 'm',  '0',  '0', '0', '0', '0', '1', 0x05 };

static void test_job_codec(void)
{
	char *buf;
	size_t len;
	petrid_job j = { .kind = PETRID_JOB_CHILD, .model = "m000001", .seed = 5 };
	CHECK(petrid_job_encode(&j, &buf, &len) == 0);
	CHECKM(len == sizeof job_bytes && !memcmp(buf, job_bytes, len), "%zu bytes", len);
	free(buf);
	/* round trips: every kind, extreme seeds, the longest id */
	static const uint64_t seeds[] = { 0, 1, 127, 128, 65536, (uint64_t)1 << 32, UINT64_MAX };
	char longest[Q_IDLEN];
	memset(longest, 'x', Q_IDLEN - 1);
	longest[Q_IDLEN - 1] = 0;
	for (int k = PETRID_JOB_CHILD; k <= PETRID_JOB_PARENT; k++)
		for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
			petrid_job a = { .kind = k, .seed = seeds[i] }, b;
			snprintf(a.model, sizeof a.model, "%s", i & 1 ? longest : "m123456");
			memset(&b, 0, sizeof b);
			CHECK(petrid_job_encode(&a, &buf, &len) == 0);
			CHECK(petrid_job_decode(buf, len, &b) == 0);
			CHECKM(b.kind == a.kind && b.seed == a.seed && !strcmp(b.model, a.model), "kind %d seed %llu", k,
			       (unsigned long long)seeds[i]);
			free(buf);
		}
	/* what is not a job is refused */
	j.kind = 0;
	CHECK(petrid_job_encode(&j, &buf, &len) == -1 && buf == NULL);
	j.kind = PETRID_JOB_PARENT + 1;
	CHECK(petrid_job_encode(&j, &buf, &len) == -1);
	j.kind = PETRID_JOB_CAND;
	memset(j.model, 'x', sizeof j.model); /* no room for the end of the id */
	CHECK(petrid_job_encode(&j, &buf, &len) == -1);
	petrid_job out = { .kind = 9, .model = "keep", .seed = 3 };
	CHECK(petrid_job_decode(NULL, 0, &out) == -1);
	CHECK(petrid_job_decode(job_v1, sizeof job_v1, &out) == -1);
	for (size_t n = 0; n < sizeof job_bytes; n++) /* every truncation */
		CHECKM(petrid_job_decode(job_bytes, n, &out) == -1, "%zu bytes", n);
	unsigned char bad[sizeof job_bytes];
	for (size_t i = 0; i < 8 * sizeof job_bytes; i++) { /* every bit flip */
		memcpy(bad, job_bytes, sizeof bad);
		bad[i / 8] ^= (unsigned char)(1 << i % 8);
		CHECKM(petrid_job_decode(bad, sizeof bad, &out) == -1, "bit %zu", i);
	}
	/* fields out of range in a record whose check holds */
	size_t at[] = { 0, 2, 10, 11, sizeof bad - 6 }; /* array size, magic, version, kind, seed */
	unsigned char to[] = { 0x95, 'Q', 0x03, 0x04, 0xff /* a negative seed */ };
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		memcpy(bad, job_bytes, sizeof bad);
		bad[at[i]] = to[i];
		CHECK(nn_rec_seal(bad, sizeof bad) == 0);
		CHECKM(petrid_job_decode(bad, sizeof bad, &out) == -1, "byte %zu", at[i]);
	}
	/* an id with no room for its end in petrid_job.model, then one that fits
	 * (str 8: 0xd9, length) */
	unsigned char big[64] = { 0x96, 0xa8, 'P', 'E', 'T', 'R', 'I', 'J', 'O', 'B', 0x02, 0x02, 0xd9, Q_IDLEN };
	memset(big + 14, 'y', Q_IDLEN + 1); /* the id, then 'y' as the seed */
	CHECK(nn_rec_seal(big, 20 + Q_IDLEN) == 0);
	CHECK(petrid_job_decode(big, 20 + Q_IDLEN, &out) == -1);
	big[13] = Q_IDLEN - 1;
	CHECK(nn_rec_seal(big, 19 + Q_IDLEN) == 0);
	CHECK(petrid_job_decode(big, 19 + Q_IDLEN, &out) == 0 && out.kind == PETRID_JOB_CAND && out.seed == 'y' &&
	      strlen(out.model) == Q_IDLEN - 1);
	out = (petrid_job){ .kind = 9, .model = "keep", .seed = 3 };
	CHECK(petrid_job_decode("\x93\x01\x02\x03", 4, &out) == -1);
	CHECK(out.kind == 9 && !strcmp(out.model, "keep") && out.seed == 3); /* unchanged */
}

static void test_mflops(void)
{
	CHECK(petrid_mflops_to_macs(0) == 0 && petrid_mflops_to_macs(-1) == 0 && petrid_mflops_to_macs(NAN) == 0);
	CHECK(petrid_mflops_to_macs(1) == 500000 && petrid_macs_to_mflops(500000) == 1);
	CHECK(petrid_mflops_to_macs(5) == 2500000 && petrid_mflops_to_macs(0.3) == 150000);
	/* rounded down, but not below a product that is an integer in decimal */
	CHECK(petrid_mflops_to_macs(0.000003) == 1 && petrid_mflops_to_macs(0.0000019) == 0);
	CHECKM(petrid_mflops_to_macs(0.000498) == 249, "%llu", (unsigned long long)petrid_mflops_to_macs(0.000498));
	CHECK(petrid_mflops_to_macs(1e300) == UINT64_MAX && petrid_mflops_to_macs(INFINITY) == UINT64_MAX);
	/* macs -> MFLOPs -> macs, over small and large counts */
	int bad = 0;
	for (uint64_t m = 0; m < 2000000; m++)
		bad += petrid_mflops_to_macs(petrid_macs_to_mflops(m)) != m;
	uint64_t x = 88172645463325252ull; /* xorshift64 */
	for (int i = 0; i < 1000000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t m = x >> (14 + i % 40); /* below 2^50 */
		bad += petrid_mflops_to_macs(petrid_macs_to_mflops(m)) != m;
	}
	CHECKM(bad == 0, "%d counts do not come back", bad);
	/* MFLOPs -> macs -> MFLOPs, for values that are whole multiply-adds */
	static const double mf[] = { 0.002, 0.5, 1.25, 3.75, 123.456, 1e6 };
	for (size_t i = 0; i < sizeof mf / sizeof mf[0]; i++)
		CHECKM(petrid_macs_to_mflops(petrid_mflops_to_macs(mf[i])) == mf[i], "%g", mf[i]);
}

static int tx_set(q_txn *t, void *ud)
{
	const double *v = ud;
	int rc = petrid_cfg_set_num(t, PETRID_CFG_ELAPSED, v[0]);
	return rc ? rc : petrid_cfg_set_num(t, PETRID_CFG_SEED, v[1]);
}

static int tx_get(q_txn *t, void *ud)
{
	double *v = ud;
	int rc = petrid_cfg_get_num(t, PETRID_CFG_ELAPSED, &v[0]);
	if (!rc)
		rc = petrid_cfg_get_num(t, PETRID_CFG_SEED, &v[1]);
	if (!rc && petrid_cfg_get_num(t, PETRID_CFG_DATA, &v[2]) != Q_ENOTFOUND)
		rc = -100;
	return rc;
}

/* each queue gets its own kind of job */
static int tx_push(q_txn *t, void *ud)
{
	(void)ud;
	int rc = 0;
	for (int q = 0; q < Q_NQUEUES && !rc; q++)
		rc = petrid_job_push(t, q, "m000003", 40 + (uint64_t)q, NULL);
	return rc;
}

static int tx_push_bad(q_txn *t, void *ud)
{
	(void)ud;
	char longest[Q_IDLEN + 1];
	memset(longest, 'x', Q_IDLEN);
	longest[Q_IDLEN] = 0;
	if (petrid_job_push(t, Q_NQUEUES, "m000003", 0, NULL) != Q_EINVAL)
		return -100;
	return petrid_job_push(t, Q_CHILD, longest, 0, NULL) == Q_EINVAL ? 0 : -101;
}

static int tx_lease_all(q_txn *t, void *ud)
{
	petrid_job *j = ud;
	for (int q = 0; q < Q_NQUEUES; q++) {
		q_entry e;
		int rc = q_lease(t, q, "test", &e);
		if (rc)
			return rc;
		rc = petrid_job_decode(e.payload, e.len, &j[q]);
		q_entry_free(&e);
		if (rc)
			return -102;
		if (q_lease(t, q, "test", &e) != Q_EEMPTY)
			return -103;
	}
	return 0;
}

static void test_store(void)
{
	char dir[] = "/tmp/petri-test-exp-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	char err[512];
	q_store *s;
	q_options o = { Q_CREATE | Q_NOSYNC, 0, 0 };
	CHECK_OK(q_open(&s, dir, &o, err, sizeof err), q_strerror);
	double in[2] = { 754.125, 18446744073709549568.0 }, out[3] = { 0, 0, 0 };
	CHECK_OK(q_write(s, tx_set, in), q_strerror);
	CHECK_OK(q_read(s, tx_get, out), q_strerror);
	CHECK(out[0] == in[0] && out[1] == in[1]); /* the same number back */
	CHECK_OK(q_write(s, tx_push, NULL), q_strerror);
	CHECK_OK(q_write(s, tx_push_bad, NULL), q_strerror);
	petrid_job j[Q_NQUEUES];
	memset(j, 0, sizeof j);
	CHECK_OK(q_write(s, tx_lease_all, j), q_strerror);
	CHECK(j[Q_PARENT].kind == PETRID_JOB_PARENT && j[Q_CANDIDATE].kind == PETRID_JOB_CAND &&
	      j[Q_CHILD].kind == PETRID_JOB_CHILD);
	for (int q = 0; q < Q_NQUEUES; q++)
		CHECK(!strcmp(j[q].model, "m000003") && j[q].seed == 40 + (uint64_t)q);
	q_close(s);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

/* ---- error codes ---- */
typedef struct {
	int code;
	const char *name;
} code_t;
#define C(x) { x, #x }

static const code_t nn_codes[] = {
	C(NN_EINVAL), C(NN_ESHAPE), C(NN_ECYCLE), C(NN_EOP), C(NN_ENOMEM),
	C(NN_EIO), C(NN_EFORMAT), C(NN_ENAN), C(NN_ESTOP), C(NN_EVERSION),
};
static const code_t q_codes[] = {
	C(Q_EINVAL), C(Q_ENOTFOUND), C(Q_ECORRUPT), C(Q_EVERSION), C(Q_EFULL), C(Q_EIO),
	C(Q_ENOMEM), C(Q_EBUSY), C(Q_ERDONLY), C(Q_EEMPTY), C(Q_ESTATE), C(Q_EMAPFULL),
};
static const code_t fr_codes[] = {
	C(FR_EINVAL), C(FR_ENOMEM), C(FR_EEXIST), C(FR_ENOTFOUND), C(FR_EEMPTY),
	C(FR_ENOPARENT), C(FR_ENOFIT), C(FR_EFORMAT), C(FR_EVERSION), C(FR_EIO),
};
static const code_t grow_codes[] = {
	C(GROW_EINVAL), C(GROW_ENOMEM), C(GROW_ETOOMANY), C(GROW_ENOTARGET),
};
static const code_t petrid_codes[] = {
	C(PETRID_EINVAL), C(PETRID_EDATA), C(PETRID_ESTORE), C(PETRID_EMODEL), C(PETRID_EBUSY),
};

typedef struct {
	const char *module;
	const code_t *codes;
	int n;
	int hi;                      /* range: hi down to hi - 99 */
	const char *(*str)(int);
} module_t;
#define M(mod, codes, hi, str) { mod, codes, (int)(sizeof codes / sizeof codes[0]), hi, str }
static const module_t modules[] = {
	M("nn", nn_codes, -100, nn_strerror),
	M("queue", q_codes, -200, q_strerror),
	M("frontier", fr_codes, -300, fr_strerror),
	M("grow", grow_codes, -400, grow_strerror),
	M("daemon", petrid_codes, -500, petrid_strerror),
};
#define NMOD (int)(sizeof modules / sizeof modules[0])

static int listed(const module_t *m, int v)
{
	for (int i = 0; i < m->n; i++)
		if (m->codes[i].code == v)
			return 1;
	return 0;
}

/* one module: every code in its range, named, names distinct; every other
 * value of the range unknown (so a new code must be listed here) */
static void check_module(const module_t *m)
{
	const char *unknown = m->str(m->hi - 99);
	CHECKM(!listed(m, m->hi - 99), "%s: the last value of its range is a code", m->module);
	CHECKM(!strcmp(m->str(0), "ok"), "%s_strerror(0) is '%s'", m->module, m->str(0));
	for (int i = 0; i < m->n; i++) {
		const code_t *c = &m->codes[i];
		CHECKM(c->code <= m->hi && c->code > m->hi - 100, "%s = %d is outside %s's range %d..%d", c->name, c->code,
		       m->module, m->hi, m->hi - 99);
		CHECKM(strcmp(m->str(c->code), unknown), "%s (%d) is not named by the %s strerror", c->name, c->code,
		       m->module);
		for (int j = 0; j < i; j++)
			CHECKM(strcmp(m->str(c->code), m->str(m->codes[j].code)), "%s and %s have the same message '%s'",
			       c->name, m->codes[j].name, m->str(c->code));
		/* the daemon names every module's codes */
		CHECKM(!strcmp(petrid_strerror(c->code), m->str(c->code)), "petrid_strerror(%s) is '%s', not '%s'", c->name,
		       petrid_strerror(c->code), m->str(c->code));
	}
	for (int v = m->hi; v > m->hi - 100; v--)
		CHECKM(listed(m, v) || !strcmp(m->str(v), unknown), "%s: %d is named '%s' but not listed in this test",
		       m->module, v, m->str(v));
}

static void test_codes_nn(void) { check_module(&modules[0]); }
static void test_codes_queue(void) { check_module(&modules[1]); }
static void test_codes_frontier(void) { check_module(&modules[2]); }
static void test_codes_daemon(void) { check_module(&modules[4]); }

static void test_codes_grow(void)
{
	check_module(&modules[3]);
	/* grow passes nn codes on: grow_strerror names them as nn does */
	for (int i = 0; i < modules[0].n; i++)
		CHECKM(!strcmp(grow_strerror(nn_codes[i].code), nn_strerror(nn_codes[i].code)), "grow_strerror(%s)",
		       nn_codes[i].name);
}

/* no two modules share a code: a code names its module wherever it ends up */
static void test_codes_disjoint(void)
{
	for (int a = 0; a < NMOD; a++)
		for (int i = 0; i < modules[a].n; i++) {
			const code_t *c = &modules[a].codes[i];
			CHECKM(c->code < 0, "%s = %d", c->name, c->code);
			for (int b = 0; b < NMOD; b++)
				for (int j = 0; j < modules[b].n; j++)
					if (a != b || i != j)
						CHECKM(c->code != modules[b].codes[j].code, "%s and %s are both %d", c->name,
						       modules[b].codes[j].name, c->code);
		}
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
	RUN(test_model_point);
	RUN(test_job_codec);
	RUN(test_mflops);
	RUN(test_store);
	RUN(test_codes_nn);
	RUN(test_codes_queue);
	RUN(test_codes_frontier);
	RUN(test_codes_grow);
	RUN(test_codes_daemon);
	RUN(test_codes_disjoint);
	RUN(test_frontier_store);
	return check_report();
}
