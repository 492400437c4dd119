/* exp.c - the experiment's layout (exp.h). */
#include "exp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

fr_point petrid_point(const char *id, const char *parent, int depth, const nn_cost *cost, const nn_metrics *m)
{
	fr_point p;
	memset(&p, 0, sizeof p);
	snprintf(p.id, sizeof p.id, "%s", id);
	snprintf(p.parent, sizeof p.parent, "%s", parent);
	p.macs = cost->macs;
	p.params = cost->params;
	p.mem_bytes = cost->act_bytes_1;
	p.latency_ms = isfinite(cost->latency_ms) && cost->latency_ms > 0 ? cost->latency_ms : 0;
	double e = 1.0 - (double)m->val_acc;
	p.val_error = isfinite(e) ? (e < 0 ? 0 : e > 1 ? 1 : e) : 1;
	p.val_loss = isfinite(m->val_loss) ? m->val_loss : 1e9;
	double ta = m->test_acc;
	p.test_acc = isfinite(ta) && ta >= 0 && ta <= 1 ? ta : NAN;
	p.depth = depth > 0 ? depth : 0;
	return p;
}
