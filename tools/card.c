/* card.c - a model's card as JSON: what 'petri serve' answers on
 * /api/model (cmds.h, store_model_json).
 *
 * A card holds the model's summary (costs, accuracies, state), its lineage
 * (the ancestors back to the seed, its children), what its growth step
 * added against its parent (the nodes appended, the nodes whose inputs
 * changed) and the records of how it was made: the omega ranking of the
 * candidate job that made it and its training curve, as the daemon stored
 * them (daemon/exp.h, petrid_card_records_json: null and named in
 * "not_stored" when the store has none, as for the first model).
 *
 * It reads the store in one snapshot, read-only, in a process that may die
 * (a damaged store): failures die() with exit 1, an unknown model with
 * STORE_EXIT_NOTFOUND.
 */
#include "cmds.h"
#include "exp.h"
#include "nn.h"
#include "queue.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LINEAGE 100000 /* ancestors followed at most (a loop in a damaged store ends there) */

typedef struct {
	const char *id;
	q_summary s;
	nn_model m, pm; /* the model and its parent */
	int have_pm;
	char (*anc)[Q_IDLEN]; /* ancestors, parent first */
	size_t nanc;
	char (*kids)[Q_IDLEN];
	size_t nkids, capkids;
	int notfound;
	petrid_card *pc; /* the daemon's records of how it was made */
	char err[600];
} card;

static int on_kid(const q_summary *s, void *ud)
{
	card *c = ud;
	if (strcmp(s->parent, c->id))
		return 0;
	if (c->nkids == c->capkids) {
		size_t cap = c->capkids ? 2 * c->capkids : 8;
		char (*p)[Q_IDLEN] = realloc(c->kids, cap * sizeof *p);
		if (!p)
			return Q_ENOMEM;
		c->kids = p, c->capkids = cap;
	}
	memcpy(c->kids[c->nkids++], s->id, Q_IDLEN);
	return 0;
}

static void card_reset(card *c)
{
	if (c->have_pm)
		nn_model_free(&c->pm);
	c->have_pm = 0;
	c->nanc = c->nkids = 0;
}

static int read_card(q_txn *t, void *ud)
{
	card *c = ud;
	card_reset(c); /* q_read may run this again */
	int rc = q_summary_get(t, c->id, &c->s);
	if (rc == Q_ENOTFOUND) {
		c->notfound = 1;
		return rc;
	}
	if (rc || (rc = q_model_get(t, c->id, &c->m)))
		goto fail;
	if (c->m.lineage.parent[0]) {
		rc = q_model_get(t, c->m.lineage.parent, &c->pm);
		if (rc && rc != Q_ENOTFOUND) {
			nn_model_free(&c->m);
			goto fail;
		}
		c->have_pm = rc == 0;
	}
	q_summary a = c->s;
	while (a.parent[0] && c->nanc < MAX_LINEAGE) {
		char (*p)[Q_IDLEN] = realloc(c->anc, (c->nanc + 1) * sizeof *p);
		if (!p) {
			rc = Q_ENOMEM;
			goto fail_models;
		}
		c->anc = p;
		memcpy(c->anc[c->nanc++], a.parent, Q_IDLEN);
		char pid[Q_IDLEN];
		memcpy(pid, a.parent, Q_IDLEN); /* a is overwritten */
		if ((rc = q_summary_get(t, pid, &a))) {
			if (rc == Q_ENOTFOUND) /* an imported parent, or one salvage dropped */
				break;
			goto fail_models;
		}
	}
	if ((rc = q_summary_each(t, on_kid, c)))
		goto fail_models;
	if ((rc = petrid_card_load(t, c->id, c->pc, c->err, sizeof c->err)))
		goto fail_models;
	return 0;
fail_models:
	nn_model_free(&c->m);
	card_reset(c);
fail:
	snprintf(c->err, sizeof c->err, "%s", q_errmsg(q_txn_store(t)));
	return rc;
}

static void node_json(FILE *f, const nn_node *d, int i, nn_shape s)
{
	fprintf(f, "{\"id\": %d, \"op\": \"%s\", \"inputs\": [", i, nn_op_name(d->op));
	for (int j = 0; j < d->nin; j++)
		fprintf(f, "%s%d", j ? ", " : "", d->in[j]);
	fprintf(f, "], \"stage\": %d, \"shape\": [%d, %d, %d]}", d->stage, s.c, s.h, s.w);
}

static void ints_json(FILE *f, const int *v, int n)
{
	fputc('[', f);
	for (int j = 0; j < n; j++)
		fprintf(f, "%s%d", j ? ", " : "", v[j]);
	fputc(']', f);
}


void store_model_json(FILE *f, const char *dir, const char *id)
{
	char err[600];
	q_store *s;
	q_options o = { Q_RDONLY, 0, 0 };
	int rc = q_open(&s, dir, &o, err, sizeof err);
	if (rc)
		die(1, "cannot open the experiment in %s: %s (%s)", dir, err, q_strerror(rc));
	card c;
	memset(&c, 0, sizeof c);
	c.id = id;
	if (!(c.pc = malloc(sizeof *c.pc)))
		die(1, "out of memory");
	if ((rc = q_read(s, read_card, &c))) {
		free(c.anc), free(c.kids), free(c.pc);
		q_close(s); /* nothing left behind: a leak checker must not change the exit code */
		if (c.notfound)
			die(STORE_EXIT_NOTFOUND, "no model '%s' in %s", id, dir);
		die(1, "cannot read model '%s' from %s: %s (%s)", id, dir, c.err, q_strerror(rc));
	}
	const nn_graph *g = &c.m.g, *pg = c.have_pm ? &c.pm.g : NULL;
	nn_shape *sh = calloc((size_t)g->n + 1, sizeof *sh);
	if (!sh)
		die(1, "out of memory");
	if (nn_graph_shapes(g, sh, err, sizeof err))
		die(1, "model '%s': %s", id, err);
	static const char *states[] = { "new", "trained", "failed" };
	const q_summary *q = &c.s;
	char b[8][JSON_NUM];
	fprintf(f, "{\"id\": ");
	json_str(f, q->id);
	fprintf(f, ", \"parent\": ");
	if (q->parent[0])
		json_str(f, q->parent);
	else
		fprintf(f, "null");
	fprintf(f, ", \"depth\": %d, \"state\": \"%s\", \"created_ms\": %lld, \"grown\": ", q->depth,
		q->state >= 0 && q->state < 3 ? states[q->state] : "unknown", (long long)q->created_ms);
	json_str(f, c.m.lineage.grown);
	fprintf(f, ", \"cost\": {\"macs\": %llu, \"params\": %llu, \"mem_bytes\": %llu, \"latency_ms\": %s}",
		(unsigned long long)q->cost.macs, (unsigned long long)q->cost.params,
		(unsigned long long)q->cost.act_bytes_1, json_fmt(b[0], q->cost.latency_ms, 6));
	fprintf(f, ", \"metrics\": {\"val_acc\": %s, \"val_loss\": %s, \"test_acc\": %s, \"test_loss\": %s, "
		   "\"epochs\": %s}",
		json_fmt(b[1], q->metrics.val_acc, 6), json_fmt(b[2], q->metrics.val_loss, 6),
		json_fmt(b[3], q->metrics.test_acc, 6), json_fmt(b[4], q->metrics.test_loss, 6),
		json_fmt(b[5], q->metrics.epochs, 3));
	fprintf(f, ", \"lineage\": [");
	for (size_t k = c.nanc; k-- > 0;) {
		json_str(f, c.anc[k]);
		fprintf(f, ", ");
	}
	json_str(f, q->id);
	fprintf(f, "], \"children\": [");
	for (size_t k = 0; k < c.nkids; k++) {
		fprintf(f, "%s", k ? ", " : "");
		json_str(f, c.kids[k]);
	}
	fprintf(f, "], \"layers\": %d, \"parent_layers\": ", g->n);
	if (pg)
		fprintf(f, "%d", pg->n);
	else
		fprintf(f, "null");
	/* growth appends nodes and rewires the target's consumers: the diff is
	 * the nodes past the parent's and the parent's nodes whose inputs moved */
	fprintf(f, ", \"added\": [");
	int first = 1;
	for (int i = pg ? pg->n : g->n; i < g->n; i++) {
		fprintf(f, "%s", first ? "" : ", ");
		node_json(f, &g->nodes[i], i, sh[i]);
		first = 0;
	}
	fprintf(f, "], \"rewired\": [");
	first = 1;
	for (int i = 0; pg && i < pg->n && i < g->n; i++) {
		const nn_node *a = &pg->nodes[i], *d = &g->nodes[i];
		if (a->nin == d->nin && !memcmp(a->in, d->in, (size_t)d->nin * sizeof d->in[0]) && a->op == d->op)
			continue;
		fprintf(f, "%s{\"id\": %d, \"op\": \"%s\", \"inputs_before\": ", first ? "" : ", ", i, nn_op_name(d->op));
		ints_json(f, a->in, a->nin);
		fprintf(f, ", \"inputs_after\": ");
		ints_json(f, d->in, d->nin);
		fprintf(f, "}");
		first = 0;
	}
	fprintf(f, "], ");
	petrid_card_records_json(c.pc, f);
	fprintf(f, "}\n");
	free(sh);
	free(c.pc);
	free(c.anc);
	free(c.kids);
	nn_model_free(&c.m);
	card_reset(&c);
	q_close(s);
}

typedef struct {
	const char *id;
	int onnx, notfound;
	nn_model m;
	void *buf;
	size_t len;
	char err[600];
} export_ctx;

static int read_export(q_txn *t, void *ud)
{
	export_ctx *e = ud;
	q_summary s;
	int rc = q_summary_get(t, e->id, &s);
	if (rc == Q_ENOTFOUND)
		e->notfound = 1;
	if (!rc)
		rc = e->onnx ? q_model_get(t, e->id, &e->m) : q_model_bytes(t, e->id, &e->buf, &e->len);
	if (rc)
		snprintf(e->err, sizeof e->err, "%s", q_errmsg(q_txn_store(t)));
	return rc;
}

void store_export_bytes(FILE *f, const char *dir, const char *id, int onnx)
{
	char err[600];
	q_store *s;
	q_options o = { Q_RDONLY, 0, 0 };
	int rc = q_open(&s, dir, &o, err, sizeof err);
	if (rc)
		die(1, "cannot open the experiment in %s: %s (%s)", dir, err, q_strerror(rc));
	export_ctx e;
	memset(&e, 0, sizeof e);
	e.id = id, e.onnx = onnx;
	if ((rc = q_read(s, read_export, &e))) {
		q_close(s);
		if (e.notfound)
			die(STORE_EXIT_NOTFOUND, "no model '%s' in %s", id, dir);
		die(1, "cannot read model '%s' from %s: %s (%s)", id, dir, e.err, q_strerror(rc));
	}
	if (onnx) {
		char *b;
		if (nn_onnx_encode(&e.m, &b, &e.len, err, sizeof err))
			die(1, "model '%s' as ONNX: %s", id, err);
		nn_model_free(&e.m);
		e.buf = b;
	}
	if (fwrite(e.buf, 1, e.len, f) != e.len)
		die(1, "writing model '%s' failed", id);
	free(e.buf);
	q_close(s);
}
