/* grab_state.h - a training run's state at one step, copied by nn_train's
 * save callback: what a resumed run starts from in the resume tests. */
#ifndef GRAB_STATE_H
#define GRAB_STATE_H

#include "nn.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	long at, got; /* the step to keep; the step kept (0: none yet) */
	float *params, *mom, *state; /* malloc'd copies: free them */
	size_t np, ns;
} grab_t;

static void grab(void *ud, const nn_net *net, long step, long steps)
{
	grab_t *g = ud;
	(void)steps;
	if (step != g->at)
		return;
	nn_train_state st;
	nn_net_train_state(net, step, &st);
	g->np = st.nparams, g->ns = st.nstate;
	g->params = malloc(sizeof(float) * st.nparams), g->mom = malloc(sizeof(float) * st.nparams);
	g->state = malloc(sizeof(float) * (st.nstate ? st.nstate : 1));
	memcpy(g->params, st.params, sizeof(float) * st.nparams);
	memcpy(g->mom, st.mom, sizeof(float) * st.nparams);
	memcpy(g->state, st.state, sizeof(float) * st.nstate);
	g->got = step;
}

#endif
