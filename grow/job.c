/* job.c - the two growth jobs: a candidate job (joint training of parent and
 * candidate, winner selection, child construction) and a child job
 * (training a warm-started child, then measuring it). */
#include "grow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* |omega| descending with NaN last, then target, input, op: a total order,
 * so the report's order is defined whatever omega training gave */
static int cmp_abs_omega(const void *a, const void *b)
{
	const grow_pair *p = a, *q = b;
	if (p->dropped != q->dropped)
		return p->dropped ? 1 : -1;
	float x = fabsf(p->omega), y = fabsf(q->omega);
	if (isnan(x) != isnan(y))
		return isnan(x) ? 1 : -1;
	if (!isnan(x) && x != y)
		return x < y ? 1 : -1;
	if (p->target != q->target)
		return p->target < q->target ? -1 : 1;
	if (p->input != q->input)
		return p->input < q->input ? -1 : 1;
	return p->op < q->op ? -1 : p->op > q->op;
}

void grow_report_free(grow_report *rep)
{
	free(rep->pairs);
	free(rep->win);
	rep->pairs = NULL, rep->win = NULL;
	rep->npairs = rep->nwin = 0;
}

/* ---- narrowing: dropping the clearly losing pairs part-way ----
 * After narrow_at of its steps, a candidate job keeps on each target its
 * narrow_keep pairs of largest |omega|; each other pair's omega is set to 0
 * and frozen, which switches its branch off (nn_net_freeze): from then on
 * it costs nothing, and its omega at that step is kept for the report. A
 * job resumed after that step finds those pairs by their omega of exactly
 * 0, which training does not otherwise give, and switches them off again
 * before its first step, so it goes on as it would have. */
typedef struct {
	grow_cand *c;
	nn_net *net;
	const grow_opts *go;
	const nn_train_opts *to; /* the caller's, whose on_step is chained */
	int done;
} narrow_t;

static void narrow_off(narrow_t *nw, int i)
{
	size_t off, len;
	nn_net_param_slice(nw->net, nw->c->pairs[i].gate, &off, &len);
	nn_net_params(nw->net)[off] = 0;
	nn_net_freeze(nw->net, nw->c->pairs[i].gate, 1);
	nw->c->pairs[i].dropped = 1;
}

static void narrow_now(narrow_t *nw)
{
	grow_cand *c = nw->c;
	int keep = nw->go->narrow_keep > 0 ? nw->go->narrow_keep : 2 * nw->go->k;
	grow_read_omegas(c, nw->net);
	/* a pair is dropped when keep pairs of its target rank above it (none
	 * is dropped yet: the order is by |omega|, then target, input, op) */
	unsigned char *drop = calloc((size_t)c->npairs + 1, 1);
	nw->done = 1;
	if (!drop)
		return; /* out of memory: the job trains every pair */
	for (int i = 0; i < c->npairs; i++) {
		int above = 0;
		for (int j = 0; j < c->npairs; j++)
			above += j != i && c->pairs[j].target == c->pairs[i].target && cmp_abs_omega(&c->pairs[j], &c->pairs[i]) < 0;
		drop[i] = above >= keep;
	}
	for (int i = 0; i < c->npairs; i++)
		if (drop[i])
			narrow_off(nw, i); /* omega keeps its value in c->pairs */
	free(drop);
}

static void narrow_step(void *ud, long step, long steps, float loss, double img_s)
{
	narrow_t *nw = ud;
	if (!nw->done && step >= (long)ceil(nw->go->narrow_at * (double)steps) && step < steps)
		narrow_now(nw);
	if (nw->to->on_step)
		nw->to->on_step(nw->to->step_ud, step, steps, loss, img_s);
}

/* a resumed job: its pairs dropped before the checkpoint, switched off again */
static void narrow_resume(narrow_t *nw)
{
	const nn_train_state *st = nw->to->resume;
	for (int i = 0; i < nw->c->npairs; i++) {
		size_t off, len;
		nn_net_param_slice(nw->net, nw->c->pairs[i].gate, &off, &len);
		if (off < st->nparams && st->params[off] == 0) {
			narrow_off(nw, i);
			nw->c->pairs[i].omega = 0; /* its value when dropped is not known */
			nw->done = 1;
		}
	}
}

int grow_run_candidate(const nn_model *parent, const nn_data *train, const nn_data *val, const grow_opts *go,
		       const nn_train_opts *to, nn_model *child, grow_report *rep, char *err, size_t errlen)
{
	memset(rep, 0, sizeof *rep);
	memset(child, 0, sizeof *child);
	rep->child_val_acc0 = rep->child_val_loss0 = NAN;
	double t0 = nn_now();
	grow_cand c;
	nn_net *pnet = NULL, *cnet = NULL;
	int *cwin = NULL;
	int rc = grow_candidate(&parent->g, go, NULL, 0, &c, err, errlen);
	if (rc)
		return rc;
	if ((rc = nn_model_to_net(parent, 1, &pnet, err, errlen)))
		goto fail;
	/* a frozen parent: only the candidates' weights move, and the
	 * backward runs only where it reaches them (above the targets) */
	for (int i = 0; go->frozen && i < c.parent_n; i++)
		c.g.nodes[i].flags |= NN_F_FROZEN;
	if ((rc = nn_net_create(&cnet, &c.g, to->batch, err, errlen)))
		goto fail;
	nn_net_init(cnet, go->seed ^ 0xC0FFEEull);
	nn_net_copy_weights(cnet, pnet);
	nn_train_result tr;
	/* narrowing (not in the random baseline, whose winners know no omega) */
	narrow_t nw = { &c, cnet, go, to, 0 };
	nn_train_opts tn = *to;
	if (go->narrow_at > 0 && !go->random) {
		tn.on_step = narrow_step, tn.step_ud = &nw;
		if (to->resume)
			narrow_resume(&nw);
	}
	if ((rc = nn_train(cnet, train, &tn, &tr))) {
		nn_errf(err, errlen, "candidate training failed: %s", nn_strerror(rc));
		goto fail;
	}
	/* omega after training; a dropped pair's as it was dropped */
	float *dropped_omega = malloc(sizeof(float) * (size_t)(c.npairs + 1));
	if (!dropped_omega) {
		rc = GROW_ENOMEM;
		goto fail;
	}
	for (int i = 0; i < c.npairs; i++)
		dropped_omega[i] = c.pairs[i].omega;
	grow_read_omegas(&c, cnet);
	for (int i = 0; i < c.npairs; i++)
		if (c.pairs[i].dropped)
			c.pairs[i].omega = dropped_omega[i];
	free(dropped_omega);
	/* both measurements on the same rows: a view of the first eval_rows */
	nn_data vsub;
	if (val && go->eval_rows > 0 && val->n > go->eval_rows) {
		vsub = *val;
		vsub.n = go->eval_rows;
		val = &vsub;
	}
	if (val && val->n)
		nn_evaluate(cnet, val, &rep->parent_val_loss, &rep->parent_val_acc);
	/* winners as pair indices of the candidate (npairs always suffice) */
	cwin = malloc(sizeof(int) * (size_t)(c.npairs + 1));
	rep->pairs = malloc(sizeof(grow_pair) * (size_t)(c.npairs + 1));
	rep->win = malloc(sizeof(int) * (size_t)(c.npairs + 1));
	if (!cwin || !rep->pairs || !rep->win) {
		rc = GROW_ENOMEM;
		goto fail;
	}
	int nwin = grow_select(&c, go, cwin, c.npairs);
	if (nwin < 0) {
		rc = nwin;
		goto fail;
	}
	/* report: all pairs by |omega|, winners as indices into that order */
	rep->npairs = c.npairs;
	memcpy(rep->pairs, c.pairs, sizeof(grow_pair) * (size_t)rep->npairs);
	qsort(rep->pairs, (size_t)rep->npairs, sizeof(grow_pair), cmp_abs_omega);
	for (int i = 0; i < nwin; i++)
		for (int j = 0; j < rep->npairs; j++)
			if (rep->pairs[j].gate == c.pairs[cwin[i]].gate)
				rep->win[rep->nwin++] = j;
	if (!nwin) {
		snprintf(rep->desc, sizeof rep->desc, "no pair has |omega| above %g (largest %g): no child",
			 go->threshold, rep->npairs ? fabsf(rep->pairs[0].omega) : 0.0);
		rep->has_child = 0;
	} else {
		if ((rc = grow_child(&c, cnet, cwin, nwin, child, rep->desc, sizeof rep->desc, err, errlen)))
			goto fail;
		rep->has_child = 1;
		child->lineage = parent->lineage;
		snprintf(child->lineage.parent, sizeof child->lineage.parent, "%s", parent->lineage.id);
		child->lineage.id[0] = 0;
		child->lineage.depth = parent->lineage.depth + 1;
		snprintf(child->lineage.grown, sizeof child->lineage.grown, "%s%.240s", go->random ? "random: " : "", rep->desc);
		snprintf(child->data, sizeof child->data, "%s", parent->data);
		child->metrics = parent->metrics;
		child->metrics.val_acc = rep->parent_val_acc;
		child->metrics.val_loss = rep->parent_val_loss;
		/* the child at step 0, measured: a zero gate must leave the
		 * parent's function as it was */
		if (val && val->n) {
			nn_net *net0;
			if ((rc = nn_model_to_net(child, to->batch, &net0, err, errlen))) {
				nn_model_free(child);
				rep->has_child = 0;
				goto fail;
			}
			nn_evaluate(net0, val, &rep->child_val_loss0, &rep->child_val_acc0);
			nn_net_free(net0);
		}
	}
	rep->seconds = nn_now() - t0;
fail:
	free(cwin);
	nn_net_free(pnet);
	nn_net_free(cnet);
	grow_cand_free(&c);
	return rc;
}

int grow_train_child(nn_model *child, const nn_data *train, const nn_data *val, const nn_data *test,
		     const nn_train_opts *to, char *err, size_t errlen)
{
	nn_net *net;
	int rc = nn_model_to_net(child, to->batch, &net, err, errlen);
	if (rc)
		return rc;
	nn_train_result tr;
	/* no epochs at all: the model is only evaluated (a trained warm start) */
	int train_it = to->epoch_frac > 0 || to->epochs > 0;
	if (train_it && (rc = nn_train(net, train, to, &tr))) {
		nn_errf(err, errlen, "training failed: %s", nn_strerror(rc));
		nn_net_free(net);
		return rc;
	}
	nn_metrics m = child->metrics;
	if (val && val->n)
		nn_evaluate(net, val, &m.val_loss, &m.val_acc);
	if (test && test->n)
		nn_evaluate(net, test, &m.test_loss, &m.test_acc);
	m.epochs += to->epoch_frac > 0 ? to->epoch_frac : to->epochs;
	nn_model fresh;
	if ((rc = nn_model_from_net(&fresh, net))) {
		nn_net_free(net);
		return rc;
	}
	nn_net_free(net);
	fresh.metrics = m;
	fresh.lineage = child->lineage;
	memcpy(fresh.data, child->data, sizeof fresh.data);
	nn_measure_latency(&fresh.g, fresh.params, fresh.state, 30, &fresh.cost.latency_ms);
	nn_model_free(child);
	*child = fresh;
	return 0;
}
