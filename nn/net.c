/* net.c - the planned, allocated net: arenas, parameter init, weight
 * copies, and the forward/backward entry points (run by k_exec.c). */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

int nn_net_create(nn_net **out, const nn_graph *g, int batch, char *err, size_t errlen)
{
	*out = NULL;
	if (batch < 1) {
		nn_errf(err, errlen, "batch %d < 1", batch);
		return NN_EINVAL;
	}
	nn_net *net = calloc(1, sizeof *net);
	if (!net)
		return NN_ENOMEM;
	int rc = nn_graph_copy(&net->g, g);
	if (rc)
		goto fail;
	int n = g->n > 0 ? g->n : 1;
	net->plan = calloc(n, sizeof(nn_plan));
	net->order = calloc(n, sizeof(int));
	rc = NN_ENOMEM;
	if (!net->plan || !net->order)
		goto fail;
	if ((rc = nn_plan_graph(g, batch, net->plan, net->order, &net->input, err, errlen)))
		goto fail;
	net->norder = g->n;
	net->batch = batch;
	/* no more threads than images: a thread without rows would only wait
	 * at every barrier (and stall a batch-1 forward when its core is busy) */
	int nthreads = nn_get_threads() < batch ? nn_get_threads() : batch;
	/* offsets: params, state, then activations (outputs, grads, saves) */
	size_t po = 0, so = 0, ao = 0;
	for (int i = 0; i < g->n; i++) {
		nn_plan *p = &net->plan[i];
		p->poff = po, po += p->plen;
		p->soff = so, so += p->slen;
	}
	for (int i = 0; i < g->n; i++)
		net->plan[i].out = ao, ao += (nn_shape_numel(net->plan[i].shape) + 15) & ~(size_t)15;
	for (int i = 0; i < g->n; i++)
		net->plan[i].dout = ao, ao += (nn_shape_numel(net->plan[i].shape) + 15) & ~(size_t)15;
	for (int i = 0; i < g->n; i++)
		net->plan[i].save = ao, ao += (net->plan[i].nsave + 15) & ~(size_t)15;
	net->nparams = po, net->nstate = so, net->nact = ao;
	double total = 4.0 * (3.0 * po + so + ao) + (double)nn_exec_bytes(net, nthreads);
	if (total > 16e9) {
		nn_errf(err, errlen, "plan needs %.1f GB, more than the 16 GB limit", total / 1e9);
		rc = NN_ENOMEM;
		goto fail;
	}
	net->params = calloc(po + 1, sizeof(float));
	net->grads = calloc(po + 1, sizeof(float));
	net->mom = calloc(po + 1, sizeof(float));
	net->state = calloc(so + 1, sizeof(float));
	net->act = calloc(ao + 1, sizeof(float));
	net->ex = nn_exec_new(net, nthreads);
	if (!net->params || !net->grads || !net->mom || !net->state || !net->act || !net->ex) {
		nn_errf(err, errlen, "cannot allocate %.1f MB for the net", total / 1e6);
		rc = NN_ENOMEM;
		goto fail;
	}
	nn_net_init(net, 1);
	*out = net;
	return 0;
fail:
	nn_net_free(net);
	return rc;
}

void nn_net_free(nn_net *net)
{
	if (!net)
		return;
	nn_graph_free(&net->g);
	free(net->plan);
	free(net->order);
	free(net->params);
	free(net->grads);
	free(net->mom);
	free(net->state);
	free(net->act);
	nn_exec_free(net->ex);
	free(net);
}

const nn_graph *nn_net_graph(const nn_net *net) { return &net->g; }
nn_shape nn_net_shape(const nn_net *net, int node) { return net->plan[node].shape; }
int nn_net_batch(const nn_net *net) { return net->batch; }

int nn_net_threads(const nn_net *net) { return net->ex->nthreads; }
size_t nn_net_nparams(const nn_net *net) { return net->nparams; }
float *nn_net_params(nn_net *net) { return net->params; }
float *nn_net_grads(nn_net *net) { return net->grads; }
size_t nn_net_nstate(const nn_net *net) { return net->nstate; }
float *nn_net_state(nn_net *net) { return net->state; }

void nn_net_param_slice(const nn_net *net, int node, size_t *off, size_t *len)
{
	*off = net->plan[node].poff;
	*len = net->plan[node].plen;
}

void nn_net_state_slice(const nn_net *net, int node, size_t *off, size_t *len)
{
	*off = net->plan[node].soff;
	*len = net->plan[node].slen;
}

void nn_net_init(nn_net *net, uint64_t seed)
{
	nn_rng r = { seed * 0x9E3779B97F4A7C15ull + 12345 };
	for (int i = 0; i < net->g.n; i++) {
		const nn_node *d = &net->g.nodes[i];
		const nn_plan *p = &net->plan[i];
		nn_shape x = d->nin ? net->plan[d->in[0]].shape : p->shape;
		if (nn_ops[d->op].init)
			nn_ops[d->op].init(d, p, x, net->params + p->poff, net->state + p->soff, &r);
	}
	memset(net->mom, 0, sizeof(float) * net->nparams);
}

void nn_net_train_state(const nn_net *net, long step, nn_train_state *st)
{
	st->step = step;
	st->nparams = net->nparams, st->nstate = net->nstate;
	st->params = net->params, st->mom = net->mom, st->state = net->state;
}

int nn_net_copy_weights(nn_net *dst, const nn_net *src)
{
	int copied = 0;
	for (int i = 0; i < dst->g.n && i < src->g.n; i++) {
		if (dst->g.nodes[i].op != src->g.nodes[i].op)
			continue;
		nn_plan *a = &dst->plan[i];
		const nn_plan *b = &src->plan[i];
		if (a->plen != b->plen || a->slen != b->slen)
			continue;
		memcpy(dst->params + a->poff, src->params + b->poff, sizeof(float) * a->plen);
		memcpy(dst->mom + a->poff, src->mom + b->poff, sizeof(float) * a->plen);
		memcpy(dst->state + a->soff, src->state + b->soff, sizeof(float) * a->slen);
		copied++;
	}
	return copied;
}

/* ---- execution ---- */
const float *nn_forward(nn_net *net, const float *x, int rows, int train)
{
	NN_ASSERT(rows >= 1 && rows <= net->batch);
	return nn_exec_forward(net, x, rows, train);
}

const float *nn_net_out(const nn_net *net, int node) { return net->act + net->plan[node].out; }
void nn_net_want_dinput(nn_net *net, int on) { net->ex->want_dinput = on != 0; }
const float *nn_net_dinput(const nn_net *net) { return net->act + net->plan[net->input].dout; }

void nn_zero_grad(nn_net *net) { memset(net->grads, 0, sizeof(float) * net->nparams); }

void nn_net_freeze(nn_net *net, int node, int frozen)
{
	NN_ASSERT(node >= 0 && node < net->g.n);
	if (frozen)
		net->g.nodes[node].flags |= NN_F_FROZEN;
	else
		net->g.nodes[node].flags &= ~NN_F_FROZEN;
}

void nn_backward(nn_net *net, const float *dlogits)
{
	nn_exec_backward(net, dlogits);
}
