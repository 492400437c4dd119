/* test_exp.c - daemon/exp.h: the one model -> frontier point mapping that
 * the daemon and `petri frontier/pick` share; and the error codes of every
 * module: each in its own range, each named by its module's strerror and by
 * petrid_strerror, none shared by two modules. */
#include "check.h"
#include "exp.h"
#include "grow.h"
#include "petrid.h"
#include "queue.h"

#include <math.h>
#include <string.h>

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

int main(void)
{
	RUN(test_point);
	RUN(test_codes_nn);
	RUN(test_codes_queue);
	RUN(test_codes_frontier);
	RUN(test_codes_grow);
	RUN(test_codes_daemon);
	RUN(test_codes_disjoint);
	return check_report();
}
