/* test_exp.c - daemon/exp.h, the experiment's layout that the daemon, the
 * command line and tests/mkexp share: the model -> frontier point mapping,
 * the job payload codec, MFLOPs <-> multiply-adds, config numbers and
 * jobs in a store; and the error codes of every module: each in its own
 * range, each named by its module's strerror and by petrid_strerror, none
 * shared by two modules; and the frontier's records in the store: saved
 * change by change, loaded back, older stores converted; the model card
 * records (omega ranking, loss curve) and the running jobs' record: round
 * trips, every cut and bit flip refused, the card of a model in a store;
 * the messages between the daemon and its worker processes (wire.c): jobs
 * and results round trip, every cut and bit flip refused, frames on a
 * socket whole, cut or oversized. */
#include "check.h"
#include "exp.h"
#include "grow.h"
#include "petrid.h"
#include "petrid_impl.h"
#include "queue.h"
#include "rec.h"
#include "tiny_model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* ---- model cards and running jobs (exp_card.c) ---- */
/* every record must decode whole, and refuse every cut and every bit flip */
typedef int (*dec_fn)(const void *buf, size_t len, void *out, char *err, size_t errlen);
static int d_omega(const void *b, size_t n, void *o, char *e, size_t el) { return petrid_omega_decode(b, n, o, e, el); }
static int d_curve(const void *b, size_t n, void *o, char *e, size_t el) { return petrid_curve_decode(b, n, o, e, el); }
static int d_run(const void *b, size_t n, void *o, char *e, size_t el) { return petrid_running_decode(b, n, o, e, el); }

static void hostile(const char *what, const char *buf, size_t len, dec_fn dec, void *out, size_t outsize)
{
	char err[256];
	unsigned char *copy = malloc(len + 1);
	unsigned char *keep = malloc(outsize);
	if (!copy || !keep) {
		CHECK(!"malloc");
		free(copy), free(keep);
		return;
	}
	memcpy(keep, out, outsize);
	int cuts = 0, flips = 0;
	for (size_t n = 0; n < len; n++) {
		err[0] = 0;
		if (dec(buf, n, out, err, sizeof err) == 0)
			cuts++;
		else if (!err[0])
			cuts++; /* refused without a reason */
	}
	CHECKM(cuts == 0, "%s: %d of %zu cuts accepted or unexplained", what, cuts, len);
	for (size_t i = 0; i < len; i++)
		for (int b = 0; b < 8; b++) {
			memcpy(copy, buf, len);
			copy[i] ^= (unsigned char)(1u << b);
			if (dec(copy, len, out, err, sizeof err) == 0)
				flips++;
		}
	CHECKM(flips == 0, "%s: %d of %zu bit flips accepted", what, flips, 8 * len);
	CHECKM(!memcmp(keep, out, outsize), "%s: a refused record changed the output", what);
	free(copy), free(keep);
}

/* a report as grow_run_candidate leaves it: pairs and winners */
static grow_report report(int npairs, const int *win, int nwin)
{
	grow_report rep;
	memset(&rep, 0, sizeof rep);
	rep.has_child = 1;
	rep.npairs = npairs;
	rep.pairs = calloc((size_t)npairs + 1, sizeof *rep.pairs);
	rep.win = calloc((size_t)nwin + 1, sizeof *rep.win);
	for (int i = 0; rep.pairs && i < npairs; i++) {
		grow_pair *p = &rep.pairs[i];
		p->target = 10 + i % 3, p->input = i % 5, p->op = i % GROW_OP__COUNT;
		p->omega = (float)((i % 2 ? -1 : 1) * 0.001 * ((i * 37) % 101));
	}
	for (int i = 0; rep.win && i < nwin; i++)
		rep.win[rep.nwin++] = win[i];
	rep.parent_val_acc = 0.75f;
	return rep;
}

static void test_omega_rank(void)
{
	/* 100 pairs, two NaN, winners among the lowest |omega|: all kept, 64 in all */
	int win[3] = { 0, 50, 97 };
	grow_report rep = report(100, win, 3);
	if (!rep.pairs || !rep.win)
		return;
	rep.pairs[7].omega = NAN, rep.pairs[97].omega = NAN;
	rep.pairs[50].omega = 0; /* a winner below every other |omega| */
	petrid_omega_rank r;
	CHECK(petrid_omega_make(&rep, "m000007", 12, 0.5, &r) == 0);
	CHECK(r.npairs == 100 && r.n == PETRID_OMEGA_MAX && !strcmp(r.parent, "m000007") && r.cand_entry == 12);
	CHECK(r.parent_val_acc == 0.5 && fabs(r.joint_val_acc - 0.75) < 1e-6);
	int chosen = 0, nan = 0;
	for (int i = 0; i < r.n; i++) {
		chosen += r.pair[i].chosen;
		nan += isnan(r.pair[i].omega);
		if (i)
			CHECKM(petrid_omega_cmp(&r.pair[i - 1], &r.pair[i]) < 0, "pair %d out of order", i);
		if (i && !isnan(r.pair[i].omega))
			CHECKM(!isnan(r.pair[i - 1].omega) && fabs(r.pair[i - 1].omega) >= fabs(r.pair[i].omega),
			       "pair %d: |omega| not descending, NaN not last", i);
	}
	CHECKM(chosen == 3, "%d winners kept", chosen);
	CHECK(nan >= 1 && isnan(r.pair[r.n - 1].omega) && r.pair[r.n - 1].chosen); /* winner 97, NaN: last */
	/* the pairs kept besides the winners are the best of the others */
	double worst_kept = INFINITY;
	for (int i = 0; i < r.n; i++)
		if (!r.pair[i].chosen && fabs(r.pair[i].omega) < worst_kept)
			worst_kept = fabs(r.pair[i].omega);
	int better_left_out = 0;
	for (int i = 0; i < rep.npairs; i++) {
		int kept = 0;
		for (int k = 0; k < r.n; k++)
			kept |= r.pair[k].target == rep.pairs[i].target && r.pair[k].input == rep.pairs[i].input &&
				r.pair[k].op == rep.pairs[i].op && (r.pair[k].omega == rep.pairs[i].omega ||
								   (isnan(r.pair[k].omega) && isnan(rep.pairs[i].omega)));
		better_left_out += !kept && fabsf(rep.pairs[i].omega) > worst_kept;
	}
	CHECKM(better_left_out == 0, "%d better pairs left out", better_left_out);
	/* the total order: equal |omega|, ties by target, input, op, then sign; NaN last */
	petrid_omega_pair a = { 1, 2, 3, 0.5, 0 }, b = { 1, 2, 3, -0.5, 0 }, n1 = { 0, 0, 0, NAN, 0 }, n2 = { 0, 0, 1, NAN, 0 };
	CHECK(petrid_omega_cmp(&b, &a) < 0 && petrid_omega_cmp(&a, &b) > 0 && petrid_omega_cmp(&a, &a) == 0);
	CHECK(petrid_omega_cmp(&a, &n1) < 0 && petrid_omega_cmp(&n1, &a) > 0 && petrid_omega_cmp(&n1, &n2) < 0);
	/* round trip */
	char *buf;
	size_t len;
	CHECK(petrid_omega_encode(&r, &buf, &len) == 0);
	petrid_omega_rank back;
	char err[256] = "";
	CHECKM(buf && petrid_omega_decode(buf, len, &back, err, sizeof err) == 0, "%s", err);
	int same = back.n == r.n && back.npairs == r.npairs && !strcmp(back.parent, r.parent) &&
		   back.cand_entry == r.cand_entry && back.parent_val_acc == r.parent_val_acc &&
		   back.joint_val_acc == r.joint_val_acc;
	for (int i = 0; same && i < r.n; i++)
		same = back.pair[i].target == r.pair[i].target && back.pair[i].input == r.pair[i].input &&
		       back.pair[i].op == r.pair[i].op && back.pair[i].chosen == r.pair[i].chosen &&
		       (back.pair[i].omega == r.pair[i].omega || (isnan(back.pair[i].omega) && isnan(r.pair[i].omega)));
	CHECK(same);
	if (buf)
		hostile("omega ranking", buf, len, d_omega, &back, sizeof back);
	/* sealed but wrong inside: the reason is named */
	if (buf) {
		size_t at = 0; /* the first pair's op (2 in "\x95\x0a\x00\x02"...): set it past the op table */
		for (size_t i = 0; i + 3 < len; i++)
			if ((unsigned char)buf[i] == 0x95 && buf[i + 1] == r.pair[0].target && buf[i + 2] == r.pair[0].input &&
			    buf[i + 3] == r.pair[0].op) {
				at = i + 3;
				break;
			}
		CHECK(at > 0);
		if (at) {
			char *bad = malloc(len);
			memcpy(bad, buf, len);
			bad[at] = GROW_OP__COUNT;
			CHECK(nn_rec_seal(bad, len) == 0);
			CHECKM(petrid_omega_decode(bad, len, &back, err, sizeof err) == Q_ECORRUPT && strstr(err, "pair 0"),
			       "%s", err);
			free(bad);
		}
	}
	free(buf);
	/* invalid rankings are not encoded */
	petrid_omega_rank w = r;
	w.pair[0] = r.pair[1], w.pair[1] = r.pair[0]; /* out of order */
	CHECK(petrid_omega_encode(&w, &buf, &len) == -1 && !buf);
	w = r, w.npairs = 3;
	CHECK(petrid_omega_encode(&w, &buf, &len) == -1);
	w = r, w.pair[5].op = GROW_OP__COUNT;
	CHECK(petrid_omega_encode(&w, &buf, &len) == -1);
	grow_report_free(&rep);
	/* more winners than a ranking keeps: nothing */
	int many[PETRID_OMEGA_MAX + 1];
	for (int i = 0; i <= PETRID_OMEGA_MAX; i++)
		many[i] = i;
	rep = report(PETRID_OMEGA_MAX + 5, many, PETRID_OMEGA_MAX + 1);
	CHECK(petrid_omega_make(&rep, "m1", 1, 0, &r) == -1);
	grow_report_free(&rep);
	/* no pairs at all: an empty ranking still round-trips */
	rep = report(0, NULL, 0);
	CHECK(petrid_omega_make(&rep, "m1", 1, NAN, &r) == 0 && r.n == 0);
	CHECK(petrid_omega_encode(&r, &buf, &len) == 0);
	CHECK(buf && petrid_omega_decode(buf, len, &back, err, sizeof err) == 0 && back.n == 0 && isnan(back.parent_val_acc));
	free(buf);
	grow_report_free(&rep);
}

static void test_curve(void)
{
	/* 1000 steps: 64 ranges of 16 (the last one 8), means of the losses */
	petrid_curve c;
	petrid_curve_begin(&c);
	for (long s = 1; s <= 1000; s++)
		petrid_curve_add(&c, s, 1000, (double)s);
	petrid_curve_end(&c);
	CHECKM(c.n == 63 && c.first_step == 1 && c.steps == 1000, "%d points, steps %ld..%ld", c.n, c.first_step, c.steps);
	CHECK(c.step[0] == 16 && c.loss[0] == 8.5 && c.step[c.n - 1] == 1000 && c.loss[c.n - 1] == (993 + 1000) / 2.0);
	/* fewer steps than points: one point a step; a stopped run: what ran */
	petrid_curve_begin(&c);
	for (long s = 1; s <= 10; s++)
		petrid_curve_add(&c, s, 10, 1.0 / (double)s);
	petrid_curve_end(&c);
	CHECK(c.n == 10 && c.step[9] == 10 && c.loss[1] == 0.5);
	petrid_curve_begin(&c);
	for (long s = 1; s <= 100; s++)
		petrid_curve_add(&c, s, 100000, 2.0);
	petrid_curve_end(&c);
	CHECK(c.n == 1 && c.step[0] == 100 && c.steps == 100 && c.loss[0] == 2.0);
	/* every count of steps stays within 64 points */
	int over = 0;
	for (long steps = 1; steps <= 300; steps += 7) {
		petrid_curve_begin(&c);
		for (long s = 1; s <= steps; s++)
			petrid_curve_add(&c, s, steps, 1);
		petrid_curve_end(&c);
		over += c.n > PETRID_CURVE_MAX || c.n < 1 || c.step[c.n - 1] != steps;
	}
	CHECK(over == 0);
	/* round trip of a curve with a NaN loss */
	petrid_curve_begin(&c);
	for (long s = 1; s <= 640; s++)
		petrid_curve_add(&c, s, 640, s == 300 ? NAN : 1.0 / (double)s);
	petrid_curve_end(&c);
	char *buf, err[256] = "";
	size_t len;
	CHECK(petrid_curve_encode(&c, &buf, &len) == 0);
	petrid_curve back;
	CHECKM(buf && petrid_curve_decode(buf, len, &back, err, sizeof err) == 0, "%s", err);
	int same = back.n == c.n && back.first_step == c.first_step && back.steps == c.steps;
	for (int i = 0; same && i < c.n; i++)
		same = back.step[i] == c.step[i] && (back.loss[i] == c.loss[i] || (isnan(back.loss[i]) && isnan(c.loss[i])));
	CHECK(same);
	if (buf)
		hostile("training curve", buf, len, d_curve, &back, sizeof back);
	free(buf);
	/* invalid curves are not encoded */
	petrid_curve w = c;
	w.step[3] = w.step[2];
	CHECK(petrid_curve_encode(&w, &buf, &len) == -1 && !buf);
	w = c, w.first_step = 0;
	CHECK(petrid_curve_encode(&w, &buf, &len) == -1);
	w = c, w.step[c.n - 1] = c.steps + 1;
	CHECK(petrid_curve_encode(&w, &buf, &len) == -1);
}

/* a job's checkpoint: round trip, every cut and flip refused, and states
 * no job could be in not encoded */
static int d_ckpt(const void *b, size_t n, void *o, char *e, size_t el) { return petrid_ckpt_decode(b, n, o, e, el); }

static void test_ckpt(void)
{
	float a[3 * 40 + 6];
	for (int i = 0; i < (int)(sizeof a / sizeof a[0]); i++)
		a[i] = (float)i * 0.25f - 3;
	petrid_ckpt c;
	memset(&c, 0, sizeof c);
	c.entry = 77, c.kind = PETRID_JOB_CAND, c.step = 5, c.steps = 90;
	snprintf(c.model, sizeof c.model, "m000012");
	c.nparams = 40, c.nstate = 6;
	c.params = a, c.mom = a + 40, c.state = a + 80;
	char *buf = NULL, err[256] = "";
	size_t len;
	CHECK(petrid_ckpt_encode(&c, &buf, &len) == 0);
	petrid_ckpt back;
	memset(&back, 0, sizeof back);
	CHECKM(buf && petrid_ckpt_decode(buf, len, &back, err, sizeof err) == 0, "%s", err);
	CHECK(back.entry == 77 && back.kind == PETRID_JOB_CAND && back.step == 5 && back.steps == 90 &&
	      !strcmp(back.model, "m000012") && back.nparams == 40 && back.nstate == 6);
	CHECK(back.owned && !memcmp(back.params, a, 40 * sizeof(float)) && !memcmp(back.mom, a + 40, 40 * sizeof(float)) &&
	      !memcmp(back.state, a + 80, 6 * sizeof(float)));
	petrid_ckpt keep = back;
	if (buf)
		hostile("job checkpoint", buf, len, d_ckpt, &back, sizeof back);
	CHECK(back.owned == keep.owned);
	petrid_ckpt_free(&back);
	CHECK(back.owned == NULL);
	free(buf);
	/* a net without BN statistics */
	c.nstate = 0, c.state = NULL, c.kind = PETRID_JOB_CHILD;
	CHECK(petrid_ckpt_encode(&c, &buf, &len) == 0);
	CHECKM(buf && petrid_ckpt_decode(buf, len, &back, err, sizeof err) == 0 && back.nstate == 0 && !back.state, "%s", err);
	petrid_ckpt_free(&back);
	free(buf);
	/* no such state: nothing trained yet, all trained, no kind, no model */
	petrid_ckpt w = c;
	w.step = 0;
	CHECK(petrid_ckpt_encode(&w, &buf, &len) == -1 && !buf);
	w = c, w.step = w.steps;
	CHECK(petrid_ckpt_encode(&w, &buf, &len) == -1);
	w = c, w.kind = PETRID_JOB_PARENT;
	CHECK(petrid_ckpt_encode(&w, &buf, &len) == -1);
	w = c, w.model[0] = 0;
	CHECK(petrid_ckpt_encode(&w, &buf, &len) == -1);
	w = c, w.nparams = 0;
	CHECK(petrid_ckpt_encode(&w, &buf, &len) == -1);
	char key[64];
	CHECK(petrid_ckpt_key(key, sizeof key, 77) == 0 && !strcmp(key, PETRID_CKPT_PREFIX "77"));
	CHECK(petrid_ckpt_key(key, 4, 77) == -1);
}

static void test_running(void)
{
	petrid_running *r = calloc(2, sizeof *r);
	if (!r) {
		CHECK(!"calloc");
		return;
	}
	petrid_running *back = r + 1;
	r->pid = 4242, r->ms = 1700000000123;
	static const int kinds[] = { PETRID_RUN_SEED, PETRID_RUN_CHILD, PETRID_RUN_CAND };
	for (int i = 0; i < 3; i++) {
		petrid_run_job *j = &r->job[r->n++];
		j->kind = kinds[i], j->worker = i, j->step = 10 * i, j->steps = 100, j->elapsed_s = 1.5 * i;
		snprintf(j->model, sizeof j->model, "m%06d", i + 1);
	}
	CHECK(!strcmp(petrid_run_kind_name(PETRID_RUN_SEED), "seed") && !strcmp(petrid_run_kind_name(PETRID_RUN_CAND), "candidate") &&
	      !strcmp(petrid_run_kind_name(PETRID_RUN_CHILD), "child"));
	char *buf, err[256] = "";
	size_t len;
	CHECK(petrid_running_encode(r, &buf, &len) == 0);
	CHECKM(buf && petrid_running_decode(buf, len, back, err, sizeof err) == 0, "%s", err);
	CHECK(back->pid == 4242 && back->ms == r->ms && back->n == 3 && !memcmp(back->job, r->job, 3 * sizeof r->job[0]));
	if (buf)
		hostile("running jobs", buf, len, d_run, back, sizeof *back);
	free(buf);
	/* none running: an empty record */
	r->n = 0;
	CHECK(petrid_running_encode(r, &buf, &len) == 0 && buf && petrid_running_decode(buf, len, back, err, sizeof err) == 0 &&
	      back->n == 0);
	free(buf);
	/* invalid jobs are not encoded */
	r->n = 1;
	r->job[0].step = 101;
	CHECK(petrid_running_encode(r, &buf, &len) == -1 && !buf);
	r->job[0].step = 1, r->job[0].kind = 9;
	CHECK(petrid_running_encode(r, &buf, &len) == -1);
	r->job[0].kind = PETRID_RUN_CHILD, r->job[0].model[0] = 0;
	CHECK(petrid_running_encode(r, &buf, &len) == -1);
	free(r);
}

/* the card of a model in a store: what is stored, what is not, what is damaged */
static int tx_card_put(q_txn *t, void *ud)
{
	const char **rec = ud; /* [omega, omega len as text, curve, curve len] */
	nn_graph g;
	nn_net *net;
	nn_model m;
	nn_graph_init(&g, (nn_shape){ 1, 1, 2, 2 }, 2);
	g.output = nn_linear(&g, nn_input(&g), 2);
	if (nn_net_create(&net, &g, 1, NULL, 0))
		return Q_EINVAL;
	nn_net_init(net, 1);
	int rc = nn_model_from_net(&m, net) ? Q_ENOMEM : 0;
	nn_net_free(net);
	nn_graph_free(&g);
	if (rc)
		return rc;
	snprintf(m.lineage.id, sizeof m.lineage.id, "m000001");
	if ((rc = q_model_put(t, &m, Q_MODEL_TRAINED)))
		goto out;
	snprintf(m.lineage.id, sizeof m.lineage.id, "m000002");
	snprintf(m.lineage.parent, sizeof m.lineage.parent, "m000001");
	snprintf(m.lineage.grown, sizeof m.lineage.grown, "sep3x3(2) -> 11");
	m.lineage.depth = 1;
	if ((rc = q_model_put(t, &m, Q_MODEL_TRAINED)))
		goto out;
	if ((rc = q_blob_put(t, PETRID_CARD_OMEGA "m000002", rec[0], (size_t)atol(rec[1]))))
		goto out;
	rc = q_blob_put(t, PETRID_CARD_CURVE "m000002", rec[2], (size_t)atol(rec[3]));
out:
	nn_model_free(&m);
	return rc;
}

typedef struct {
	const char *id;
	char *text;
	size_t len;
	int rc;
	char err[256];
} card_out;

static int tx_card_json(q_txn *t, void *ud)
{
	card_out *o = ud;
	FILE *f = open_memstream(&o->text, &o->len);
	if (!f)
		return Q_ENOMEM;
	o->rc = petrid_card_json(t, o->id, f, o->err, sizeof o->err);
	fclose(f);
	return 0;
}

static void card_of(q_store *s, const char *id, card_out *o)
{
	memset(o, 0, sizeof *o);
	o->id = id;
	CHECK(q_read(s, tx_card_json, o) == 0);
}

static void test_card_store(void)
{
	char dir[] = "/tmp/petri_cardtest_XXXXXX", err[512];
	CHECK(mkdtemp(dir) != NULL);
	q_options qo = { Q_CREATE | Q_NOSYNC, 0, 0 };
	q_store *s = NULL;
	CHECK_OK(q_open(&s, dir, &qo, err, sizeof err), q_strerror);
	if (!s)
		return;
	int win[1] = { 0 };
	grow_report rep = report(5, win, 1);
	petrid_omega_rank r;
	petrid_curve c;
	CHECK(petrid_omega_make(&rep, "m000001", 3, 0.5, &r) == 0);
	petrid_curve_begin(&c);
	for (long k = 1; k <= 20; k++)
		petrid_curve_add(&c, k, 20, 2.0 / (double)k);
	petrid_curve_end(&c);
	char *ob, *cb, ol[32], cl[32];
	size_t on, cn;
	CHECK(petrid_omega_encode(&r, &ob, &on) == 0 && petrid_curve_encode(&c, &cb, &cn) == 0);
	snprintf(ol, sizeof ol, "%zu", on), snprintf(cl, sizeof cl, "%zu", cn);
	const char *rec[4] = { ob, ol, cb, cl };
	CHECK_OK(q_write(s, tx_card_put, rec), q_strerror);
	card_out o;
	/* the grown child: both records, and what growth added from the ranking */
	card_of(s, "m000002", &o);
	CHECKM(o.rc == 0 && o.text && strstr(o.text, "\"omega_ranking\": {\"candidate\": \"3\", \"parent\": \"m000001\"") &&
	       strstr(o.text, "\"curve\": {\"first_step\": 1, \"steps\": 20, \"points\": [[1, 2], [2, 1]") &&
	       strstr(o.text, "\"not_stored\": []") && strstr(o.text, "\"text\": \"sep3x3(2) -> 11\"") &&
	       strstr(o.text, "\"layers\": [{\"target\": 10, \"inputs\": [0], \"ops\": [\"sep3x3\"]}]") &&
	       strstr(o.text, "\"nodes_added\": 0"),
	       "rc %d: %s", o.rc, o.text ? o.text : "");
	free(o.text);
	/* the seed: neither, and it says so */
	card_of(s, "m000001", &o);
	CHECKM(o.rc == 0 && o.text && strstr(o.text, "\"omega_ranking\": null") && strstr(o.text, "\"curve\": null") &&
	       strstr(o.text, "\"not_stored\": [\"omega_ranking\", \"curve\"]") && strstr(o.text, "\"grown\": null"),
	       "%s", o.text ? o.text : "");
	free(o.text);
	/* no such model: nothing written */
	card_of(s, "m000099", &o);
	CHECK(o.rc == Q_ENOTFOUND && o.len == 0 && strstr(o.err, "m000099"));
	free(o.text);
	/* a damaged ranking: the card still comes, null, with the reason */
	ob[on / 2] ^= 1;
	CHECK_OK(q_write(s, tx_card_put, rec), q_strerror);
	card_of(s, "m000002", &o);
	CHECKM(o.rc == Q_ECORRUPT && o.text && strstr(o.text, "\"omega_ranking\": null") &&
	       strstr(o.text, "\"damaged\": {\"omega_ranking\": \"omega ranking: ") && strstr(o.err, "omega ranking"),
	       "%s / %s", o.text ? o.text : "", o.err);
	free(o.text);
	free(ob), free(cb);
	grow_report_free(&rep);
	q_close(s);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

/* ---- wire.c ---- */

static int d_job(const void *b, size_t n, void *o, char *e, size_t el) { return pd_job_decode(b, n, o, e, el); }

static int d_res(const void *b, size_t n, void *o, char *e, size_t el)
{
	/* into a copy: a refused result leaves the job as it was */
	job_t *j = o, t;
	memset(&t, 0, sizeof t);
	t.entry = j->entry, t.kind = j->kind;
	int rc = pd_result_decode(b, n, &t, e, el);
	if (!rc) {
		nn_model_free(&t.out);
		grow_report_free(&t.rep);
	}
	return rc;
}


static int same_model(const nn_model *a, const nn_model *b)
{
	char *x = NULL, *y = NULL;
	size_t nx = 0, ny = 0;
	int same = !nn_model_encode(a, &x, &nx) && !nn_model_encode(b, &y, &ny) && nx == ny && !memcmp(x, y, nx);
	free(x), free(y);
	return same;
}

static void test_wire_job(void)
{
	job_t j;
	memset(&j, 0, sizeof j);
	if (tiny_model(&j.model)) {
		CHECK(!"tiny model");
		return;
	}
	snprintf(j.model.lineage.id, sizeof j.model.lineage.id, "m000003");
	j.model.metrics.val_acc = 0.5f;
	j.kind = PETRID_JOB_CAND, j.entry = 7, j.seed = 42, j.threads = 2;
	snprintf(j.model_id, sizeof j.model_id, "m000003");
	j.set.epoch_frac = 0.2, j.set.batch = 32, j.set.lr = 0.05f, j.set.checkpoint_s = 60;
	grow_opts_defaults(&j.set.grow);
	j.set.grow.k = 2, j.set.grow.eval_rows = 512, j.set.grow.random = 1, j.set.grow.ops = 0x15;
	j.set.grow.frozen = !j.set.grow.frozen, j.set.grow.max_inputs = 2; /* not the defaults */
	j.set.grow.narrow_at = 0.375f, j.set.grow.narrow_keep = 5;
	j.set.job_memory = 2000000000ull;
	float a[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	petrid_ckpt k;
	memset(&k, 0, sizeof k);
	k.entry = 7, k.kind = PETRID_JOB_CAND, k.step = 3, k.steps = 9, k.nparams = 4, k.nstate = 2;
	k.params = a, k.mom = a + 4, k.state = a + 8;
	snprintf(k.model, sizeof k.model, "m000003");
	char *ck = NULL, err[256] = "";
	size_t cklen;
	CHECK(petrid_ckpt_encode(&k, &ck, &cklen) == 0);
	CHECKM(ck && petrid_ckpt_decode(ck, cklen, &j.resume, err, sizeof err) == 0, "%s", err);
	free(ck);
	char *buf = NULL;
	size_t len;
	CHECK(pd_job_encode(&j, &buf, &len) == 0 && buf);
	job_t *back = calloc(1, sizeof *back);
	if (!buf || !back) {
		free(buf), free(back);
		CHECK(!"encode");
		return;
	}
	CHECKM(pd_job_decode(buf, len, back, err, sizeof err) == 0, "%s", err);
	CHECK(back->kind == PETRID_JOB_CAND && back->entry == 7 && back->seed == 42 && back->threads == 2 &&
	      !strcmp(back->model_id, "m000003"));
	CHECK(back->set.epoch_frac == 0.2 && back->set.batch == 32 && back->set.lr == 0.05f && back->set.checkpoint_s == 60 &&
	      back->set.job_memory == 2000000000ull);
	CHECK(back->set.grow.k == 2 && back->set.grow.eval_rows == 512 && back->set.grow.random == 1 &&
	      back->set.grow.ops == 0x15 && back->set.grow.seed == 42 && back->set.grow.lambda == j.set.grow.lambda &&
	      back->set.grow.threshold == j.set.grow.threshold && back->set.grow.window == j.set.grow.window &&
	      back->set.grow.max_inputs == 2 && back->set.grow.targets == j.set.grow.targets &&
	      back->set.grow.frozen == j.set.grow.frozen && back->set.grow.narrow_at == 0.375f &&
	      back->set.grow.narrow_keep == 5);
	CHECK(same_model(&j.model, &back->model));
	CHECK(back->resume.owned && back->resume.step == 3 && back->resume.nparams == 4 && back->resume.nstate == 2 &&
	      !memcmp(back->resume.params, a, 4 * sizeof(float)) && !memcmp(back->resume.state, a + 8, 2 * sizeof(float)));
	nn_model_free(&back->model);
	petrid_ckpt_free(&back->resume);
	memset(back, 0, sizeof *back);
	hostile("job message", buf, len, d_job, back, sizeof *back);
	free(buf);
	/* without a checkpoint: none comes back */
	petrid_ckpt_free(&j.resume);
	CHECK(pd_job_encode(&j, &buf, &len) == 0 && buf);
	CHECKM(buf && pd_job_decode(buf, len, back, err, sizeof err) == 0 && !back->resume.owned, "%s", err);
	nn_model_free(&back->model);
	free(buf);
	free(back);
	nn_model_free(&j.model);
}

static void test_wire_result(void)
{
	job_t *j = calloc(2, sizeof *j);
	if (!j || tiny_model(&j->out)) {
		free(j);
		CHECK(!"tiny model");
		return;
	}
	job_t *back = j + 1;
	char err[256] = "", *buf = NULL;
	size_t len;
	/* a candidate's result: the grown child and the ranking */
	j->kind = PETRID_JOB_CAND, j->entry = 9, j->seconds = 12.5;
	static const int win[2] = { 2, 0 };
	j->rep = report(3, win, 2);
	for (int i = 0; i < 3; i++)
		j->rep.pairs[i].target = 4, j->rep.pairs[i].input = i, j->rep.pairs[i].op = i + 1,
		j->rep.pairs[i].gate = 10 + i, j->rep.pairs[i].first = 20 + 2 * i, j->rep.pairs[i].last = 21 + 2 * i,
		j->rep.pairs[i].omega = 0.5f - 0.25f * (float)i;
	j->rep.pairs[1].omega = NAN;
	snprintf(j->rep.desc, sizeof j->rep.desc, "sep3x3(2)+identity(1) -> 4");
	j->rep.parent_val_acc = 0.75f, j->rep.parent_val_loss = 0.6f, j->rep.child_val_acc0 = 0.75f;
	j->rep.child_val_loss0 = 0.6f, j->rep.seconds = 11;
	CHECK(pd_result_encode(j, &buf, &len) == 0 && buf);
	back->entry = 9, back->kind = PETRID_JOB_CAND;
	CHECKM(buf && pd_result_decode(buf, len, back, err, sizeof err) == 0, "%s", err);
	CHECK(back->rc == 0 && back->seconds == 12.5 && same_model(&j->out, &back->out));
	CHECK(back->rep.has_child && back->rep.npairs == 3 && back->rep.nwin == 2 && back->rep.win[0] == 2 &&
	      back->rep.win[1] == 0 && !strcmp(back->rep.desc, j->rep.desc) && back->rep.parent_val_acc == 0.75f &&
	      back->rep.child_val_loss0 == 0.6f && back->rep.seconds == 11);
	int pairs_same = 1;
	for (int i = 0; i < 3; i++) {
		const grow_pair *p = &j->rep.pairs[i], *q = &back->rep.pairs[i];
		pairs_same &= p->target == q->target && p->input == q->input && p->op == q->op && p->gate == q->gate &&
			      p->first == q->first && p->last == q->last &&
			      (p->omega == q->omega || (isnan(p->omega) && isnan(q->omega)));
	}
	CHECK(pairs_same);
	nn_model_free(&back->out);
	grow_report_free(&back->rep);
	/* another job's result is refused */
	back->entry = 10;
	CHECK(pd_result_decode(buf, len, back, err, sizeof err) != 0 && err[0]);
	back->entry = 9, back->kind = PETRID_JOB_CHILD;
	CHECK(pd_result_decode(buf, len, back, err, sizeof err) != 0);
	back->kind = PETRID_JOB_CAND;
	if (buf)
		hostile("job result", buf, len, d_res, back, sizeof *back);
	free(buf);
	/* a child's result: the trained model and its loss curve */
	grow_report_free(&j->rep);
	memset(&j->rep, 0, sizeof j->rep);
	j->kind = PETRID_JOB_CHILD;
	petrid_curve_begin(&j->curve);
	for (long s = 1; s <= 100; s++)
		petrid_curve_add(&j->curve, s, 100, 3.0 / (double)s);
	petrid_curve_end(&j->curve);
	CHECK(pd_result_encode(j, &buf, &len) == 0 && buf);
	memset(back, 0, sizeof *back);
	back->entry = 9, back->kind = PETRID_JOB_CHILD;
	CHECKM(buf && pd_result_decode(buf, len, back, err, sizeof err) == 0, "%s", err);
	CHECK(back->curve.n == j->curve.n && back->curve.steps == 100 && back->curve.loss[0] == j->curve.loss[0] &&
	      same_model(&j->out, &back->out) && !back->rep.has_child);
	nn_model_free(&back->out);
	free(buf);
	/* a failure: its code and reason, and no model */
	nn_model_free(&j->out);
	j->rc = PETRID_EWORKER;
	snprintf(j->err, sizeof j->err, "worker process 12 killed by signal 9 (Killed)");
	CHECK(pd_result_encode(j, &buf, &len) == 0 && buf);
	memset(back, 0, sizeof *back);
	back->entry = 9, back->kind = PETRID_JOB_CHILD;
	CHECKM(buf && pd_result_decode(buf, len, back, err, sizeof err) == 0, "%s", err);
	CHECK(back->rc == PETRID_EWORKER && !strcmp(back->err, j->err) && back->out.g.n == 0);
	free(buf);
	/* a success without its model is not one */
	j->rc = 0, j->err[0] = 0;
	CHECK(pd_result_encode(j, &buf, &len) == 0 && buf);
	CHECK(buf && pd_result_decode(buf, len, back, err, sizeof err) != 0);
	free(buf);
	free(j);
}

static void test_wire_frames(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		CHECK(!"socketpair");
		return;
	}
	CHECK(!pd_msg_ready(sv[1]));
	CHECK(pd_msg_send(sv[0], PD_MSG_CKPT, "abcdef", 6) == 0 && pd_msg_send(sv[0], PD_MSG_STOP, NULL, 0) == 0 &&
	      pd_step_send(sv[0], 5, 80) == 0);
	CHECK(pd_msg_ready(sv[1]));
	int type = 0;
	char *b = NULL;
	size_t n = 0;
	long step = 0, steps = 0;
	CHECK(pd_msg_recv(sv[1], &type, &b, &n) == 0 && type == PD_MSG_CKPT && n == 6 && !memcmp(b, "abcdef", 6));
	free(b);
	CHECK(pd_msg_recv(sv[1], &type, &b, &n) == 0 && type == PD_MSG_STOP && n == 0);
	free(b);
	CHECK(pd_msg_recv(sv[1], &type, &b, &n) == 0 && type == PD_MSG_STEP && !pd_step_parse(b, n, &step, &steps) &&
	      step == 5 && steps == 80);
	CHECK(pd_step_parse(b, n - 1, &step, &steps) != 0);
	b[0] = 81; /* step beyond steps */
	CHECK(pd_step_parse(b, n, &step, &steps) != 0);
	free(b);
	/* a frame cut short by the end of the stream, an oversized one, the end */
	static const unsigned char cut[] = { 10, 0, 0, 0, 'R', 'x', 'y' }, huge[] = { 0, 0, 0, 0x41, 'R' };
	CHECK(write(sv[0], cut, sizeof cut) == (ssize_t)sizeof cut);
	shutdown(sv[0], SHUT_WR);
	CHECK(pd_msg_recv(sv[1], &type, &b, &n) == -1 && !b);
	close(sv[0]), close(sv[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(sv[0], huge, sizeof huge) == (ssize_t)sizeof huge);
	CHECK(pd_msg_recv(sv[1], &type, &b, &n) == -1 && !b);
	close(sv[0]);
	CHECK(pd_msg_recv(sv[1], &type, &b, &n) != 0);
	close(sv[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[0]);
	CHECK(pd_msg_ready(sv[1]) && pd_msg_recv(sv[1], &type, &b, &n) == 1 && !b);
	close(sv[1]);
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
	RUN(test_omega_rank);
	RUN(test_curve);
	RUN(test_ckpt);
	RUN(test_running);
	RUN(test_card_store);
	RUN(test_wire_job);
	RUN(test_wire_result);
	RUN(test_wire_frames);
	return check_report();
}
