/* test_exp.c - daemon/exp.h: the one model -> frontier point mapping that
 * the daemon and `petri frontier/pick` share. */
#include "check.h"
#include "exp.h"

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

int main(void)
{
	RUN(test_point);
	return check_report();
}
