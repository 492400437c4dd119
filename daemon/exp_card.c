/* exp_card.c - model cards and running jobs in the store (exp.h): the
 * omega ranking of the candidate job that grew a model, the training loss
 * curve of its child job, the running jobs' progress, and the model card
 * as JSON.
 *
 * DESIGN
 * Each record is [magic, version, fields..., check] through nn/rec (the
 * check is verified before anything is decoded); nested values (the pairs,
 * the points, the jobs) are arrays of fixed-size arrays whose every item
 * is checked for type and range here, so a record that decodes is one the
 * encoder could have written: counts within their bounds, a ranking in
 * its total order, curve steps increasing inside [first_step, steps],
 * steps done never above steps planned. */
#include "exp.h"
#include "rec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_VERSION NN_REC_CSUM_VERSION
#define OMEGA_MAGIC "PETRIOMG"
#define OMEGA_FIELDS 6 /* parent, cand_entry, parent_val_acc, joint_val_acc, npairs, pairs */
#define CURVE_MAGIC "PETRICRV"
#define CURVE_FIELDS 3 /* first_step, steps, points */
#define RUN_MAGIC "PETRIRUN"
#define RUN_FIELDS 3   /* pid, ms, jobs */
#define MAX_NODE 1000000000L
#define MAX_STEPS 1000000000000L

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Open a record; the reason of a refusal in err. */
static int open_rec(nn_rec_dec *d, const void *buf, size_t len, const char *what, const char *magic,
		    uint32_t nfields, char *err, size_t errlen)
{
	int rc = nn_rec_open(d, buf, len, magic, REC_VERSION, nfields, 3);
	if (!rc && d->n != nfields) {
		nn_rec_close(d);
		return fail(err, errlen, Q_ECORRUPT, "%s: %u fields, want %u", what, (unsigned)d->n, (unsigned)nfields);
	}
	if (rc == NN_REC_EMAGIC)
		return fail(err, errlen, Q_ECORRUPT, "%s: wrong magic (want %s)", what, magic);
	if (rc == NN_REC_EVERSION)
		return fail(err, errlen, Q_EVERSION, "%s: version %llu, this petri reads up to %d", what,
			    (unsigned long long)d->version, REC_VERSION);
	if (rc)
		return fail(err, errlen, Q_ECORRUPT, "%s: %s", what, nn_rec_strerror(rc));
	return 0;
}

/* typed items of a nested array */
static int obj_int(const msgpack_object *o, long lo, long hi, long *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)hi && (int64_t)o->via.u64 >= lo)
		return *v = (long)o->via.u64, 0;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 >= lo && o->via.i64 <= hi)
		return *v = (long)o->via.i64, 0;
	return -1;
}

static int obj_f64(const msgpack_object *o, double *v)
{
	if (o->type != MSGPACK_OBJECT_FLOAT64 && o->type != MSGPACK_OBJECT_FLOAT32)
		return -1;
	*v = o->via.f64;
	return 0;
}

/* the array field i of n items of want items each, at most max */
static const msgpack_object *rows(nn_rec_dec *d, uint32_t i, uint32_t max, uint32_t want)
{
	const msgpack_object *a = nn_rec_get_obj(d, i, MSGPACK_OBJECT_ARRAY);
	if (!a)
		return NULL;
	if (a->via.array.size > max)
		return NULL;
	for (uint32_t k = 0; k < a->via.array.size; k++) {
		const msgpack_object *r = &a->via.array.ptr[k];
		if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != want)
			return NULL;
	}
	return a;
}

/* ---- omega rankings ---- */
static int omega_nan_last(double a, double b) { return isnan(a) - isnan(b); }

int petrid_omega_cmp(const void *x, const void *y)
{
	const petrid_omega_pair *a = x, *b = y;
	int c = omega_nan_last(a->omega, b->omega);
	if (c)
		return c;
	double fa = fabs(a->omega), fb = fabs(b->omega);
	if (!isnan(fa) && fa != fb)
		return fa > fb ? -1 : 1;
	if (a->target != b->target) return a->target < b->target ? -1 : 1;
	if (a->input != b->input) return a->input < b->input ? -1 : 1;
	if (a->op != b->op) return a->op < b->op ? -1 : 1;
	if (!isnan(a->omega) && a->omega != b->omega) return a->omega < b->omega ? -1 : 1;
	return 0;
}

int petrid_omega_make(const grow_report *rep, const char *parent, uint64_t cand_entry, double parent_val_acc,
		      petrid_omega_rank *r)
{
	memset(r, 0, sizeof *r);
	if (rep->npairs < 0 || rep->nwin > PETRID_OMEGA_MAX || strlen(parent) >= sizeof r->parent)
		return -1;
	petrid_omega_pair *all = malloc(sizeof *all * (size_t)(rep->npairs + 1));
	if (!all)
		return -1;
	for (int i = 0; i < rep->npairs; i++) {
		const grow_pair *p = &rep->pairs[i];
		all[i] = (petrid_omega_pair){ p->target, p->input, p->op, p->omega, 0 };
	}
	for (int w = 0; w < rep->nwin; w++)
		if (rep->win[w] >= 0 && rep->win[w] < rep->npairs)
			all[rep->win[w]].chosen = 1;
	qsort(all, (size_t)rep->npairs, sizeof *all, petrid_omega_cmp);
	/* every winner, then the best others; the order stays the total one */
	int nwin = 0;
	for (int i = 0; i < rep->npairs; i++)
		nwin += all[i].chosen;
	int others = PETRID_OMEGA_MAX - nwin;
	for (int i = 0; i < rep->npairs; i++)
		if (all[i].chosen || others-- > 0)
			r->pair[r->n++] = all[i];
	free(all);
	memcpy(r->parent, parent, strlen(parent) + 1);
	r->cand_entry = cand_entry;
	r->parent_val_acc = parent_val_acc;
	r->joint_val_acc = rep->parent_val_acc;
	r->npairs = rep->npairs;
	return 0;
}

static int pair_ok(const petrid_omega_pair *p)
{
	return p->target >= 0 && p->target <= MAX_NODE && p->input >= 0 && p->input <= MAX_NODE && p->op >= 0 &&
	       p->op < GROW_OP__COUNT && (p->chosen == 0 || p->chosen == 1);
}

int petrid_omega_encode(const petrid_omega_rank *r, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	if (r->n < 0 || r->n > PETRID_OMEGA_MAX || r->npairs < r->n || !memchr(r->parent, 0, sizeof r->parent))
		return -1;
	for (int i = 0; i < r->n; i++)
		if (!pair_ok(&r->pair[i]) || (i && petrid_omega_cmp(&r->pair[i - 1], &r->pair[i]) > 0))
			return -1;
	nn_rec_enc e;
	nn_rec_begin(&e, OMEGA_MAGIC, REC_VERSION, OMEGA_FIELDS);
	nn_rec_str(&e, r->parent);
	nn_rec_u64(&e, r->cand_entry);
	nn_rec_f64(&e, r->parent_val_acc);
	nn_rec_f64(&e, r->joint_val_acc);
	nn_rec_u64(&e, (uint64_t)r->npairs);
	msgpack_pack_array(&e.pk, (size_t)r->n);
	for (int i = 0; i < r->n; i++) {
		const petrid_omega_pair *p = &r->pair[i];
		msgpack_pack_array(&e.pk, 5);
		msgpack_pack_int64(&e.pk, p->target);
		msgpack_pack_int64(&e.pk, p->input);
		msgpack_pack_int64(&e.pk, p->op);
		msgpack_pack_double(&e.pk, p->omega);
		if (p->chosen)
			msgpack_pack_true(&e.pk);
		else
			msgpack_pack_false(&e.pk);
	}
	return nn_rec_finish(&e, buf, len) ? -1 : 0;
}

int petrid_omega_decode(const void *buf, size_t len, petrid_omega_rank *out, char *err, size_t errlen)
{
	static const char what[] = "omega ranking";
	nn_rec_dec d;
	int rc = open_rec(&d, buf, len, what, OMEGA_MAGIC, OMEGA_FIELDS, err, errlen);
	if (rc)
		return rc;
	petrid_omega_rank r;
	memset(&r, 0, sizeof r);
	nn_rec_get_str(&d, 0, r.parent, sizeof r.parent);
	r.cand_entry = nn_rec_get_u64(&d, 1);
	r.parent_val_acc = nn_rec_get_f64(&d, 2);
	r.joint_val_acc = nn_rec_get_f64(&d, 3);
	r.npairs = (int)nn_rec_get_range(&d, 4, 0, MAX_NODE);
	const msgpack_object *a = rows(&d, 5, PETRID_OMEGA_MAX, 5);
	if (!a)
		nn_rec_set_bad(&d, 5);
	for (uint32_t k = 0; a && k < a->via.array.size; k++) {
		const msgpack_object *o = a->via.array.ptr[k].via.array.ptr;
		petrid_omega_pair *p = &r.pair[r.n];
		long t, in, op;
		if (obj_int(&o[0], 0, MAX_NODE, &t) || obj_int(&o[1], 0, MAX_NODE, &in) ||
		    obj_int(&o[2], 0, GROW_OP__COUNT - 1, &op) || obj_f64(&o[3], &p->omega) ||
		    o[4].type != MSGPACK_OBJECT_BOOLEAN) {
			nn_rec_close(&d);
			return fail(err, errlen, Q_ECORRUPT, "%s: pair %u is not [target, input, op, omega, chosen]",
				    what, (unsigned)k);
		}
		p->target = (int)t, p->input = (int)in, p->op = (int)op, p->chosen = o[4].via.boolean;
		if (r.n && petrid_omega_cmp(&r.pair[r.n - 1], p) > 0) {
			nn_rec_close(&d);
			return fail(err, errlen, Q_ECORRUPT, "%s: pair %u is out of order (by |omega|)", what,
				    (unsigned)k);
		}
		r.n++;
	}
	int bad = d.bad;
	if (nn_rec_done(&d))
		return fail(err, errlen, Q_ECORRUPT, "%s: field %d (%s) is missing, mistyped or out of range", what,
			    bad, (const char *[]){ "parent", "candidate", "parent val acc", "joint val acc", "pairs scored",
						   "pairs" }[bad >= 0 && bad < OMEGA_FIELDS ? bad : 0]);
	if (r.npairs < r.n)
		return fail(err, errlen, Q_ECORRUPT, "%s: %d pairs kept of %d scored", what, r.n, r.npairs);
	*out = r;
	return 0;
}

/* ---- training curves ---- */
void petrid_curve_begin(petrid_curve *c) { memset(c, 0, sizeof *c); }

static void curve_flush(petrid_curve *c, long last)
{
	if (!c->count || c->n >= PETRID_CURVE_MAX)
		return;
	c->step[c->n] = last;
	c->loss[c->n] = c->sum / (double)c->count;
	c->n++;
	c->sum = 0, c->count = 0;
}

void petrid_curve_add(petrid_curve *c, long step, long steps, double loss)
{
	if (step < 1 || steps < step || step <= c->steps)
		return; /* not a step after the last one */
	if (!c->width) {
		c->width = (steps + PETRID_CURVE_MAX - 1) / PETRID_CURVE_MAX;
		c->first_step = step;
		c->bucket_end = ((step - 1) / c->width + 1) * c->width;
	}
	if (step > c->bucket_end) {
		curve_flush(c, c->steps);
		c->bucket_end = ((step - 1) / c->width + 1) * c->width;
	}
	c->sum += loss, c->count++;
	c->steps = step;
}

void petrid_curve_end(petrid_curve *c)
{
	curve_flush(c, c->steps);
	c->width = c->bucket_end = 0;
}

static int curve_ok(const petrid_curve *c, char *why, size_t n)
{
	if (c->n < 0 || c->n > PETRID_CURVE_MAX)
		return snprintf(why, n, "%d points", c->n), -1;
	if (c->first_step < 1 || c->steps < c->first_step || c->steps > MAX_STEPS)
		return snprintf(why, n, "steps %ld..%ld", c->first_step, c->steps), -1;
	for (int i = 0; i < c->n; i++)
		if (c->step[i] < c->first_step || c->step[i] > c->steps || (i && c->step[i] <= c->step[i - 1]))
			return snprintf(why, n, "point %d at step %ld is outside %ld..%ld or not after the one before", i,
					c->step[i], c->first_step, c->steps),
			       -1;
	return 0;
}

int petrid_curve_encode(const petrid_curve *c, char **buf, size_t *len)
{
	char why[160];
	*buf = NULL, *len = 0;
	if (curve_ok(c, why, sizeof why))
		return -1;
	nn_rec_enc e;
	nn_rec_begin(&e, CURVE_MAGIC, REC_VERSION, CURVE_FIELDS);
	nn_rec_u64(&e, (uint64_t)c->first_step);
	nn_rec_u64(&e, (uint64_t)c->steps);
	msgpack_pack_array(&e.pk, (size_t)c->n);
	for (int i = 0; i < c->n; i++) {
		msgpack_pack_array(&e.pk, 2);
		msgpack_pack_int64(&e.pk, c->step[i]);
		msgpack_pack_double(&e.pk, c->loss[i]);
	}
	return nn_rec_finish(&e, buf, len) ? -1 : 0;
}

int petrid_curve_decode(const void *buf, size_t len, petrid_curve *out, char *err, size_t errlen)
{
	static const char what[] = "training curve";
	nn_rec_dec d;
	int rc = open_rec(&d, buf, len, what, CURVE_MAGIC, CURVE_FIELDS, err, errlen);
	if (rc)
		return rc;
	petrid_curve c;
	memset(&c, 0, sizeof c);
	c.first_step = (long)nn_rec_get_range(&d, 0, 1, MAX_STEPS);
	c.steps = (long)nn_rec_get_range(&d, 1, 1, MAX_STEPS);
	const msgpack_object *a = rows(&d, 2, PETRID_CURVE_MAX, 2);
	if (!a)
		nn_rec_set_bad(&d, 2);
	for (uint32_t k = 0; a && k < a->via.array.size; k++, c.n++) {
		const msgpack_object *o = a->via.array.ptr[k].via.array.ptr;
		if (obj_int(&o[0], 1, MAX_STEPS, &c.step[k]) || obj_f64(&o[1], &c.loss[k])) {
			nn_rec_close(&d);
			return fail(err, errlen, Q_ECORRUPT, "%s: point %u is not [step, loss]", what, (unsigned)k);
		}
	}
	int bad = d.bad;
	if (nn_rec_done(&d))
		return fail(err, errlen, Q_ECORRUPT, "%s: field %d (%s) is missing, mistyped or out of range", what,
			    bad, bad == 0 ? "first step" : bad == 1 ? "steps" : "points");
	char why[160];
	if (curve_ok(&c, why, sizeof why))
		return fail(err, errlen, Q_ECORRUPT, "%s: %s", what, why);
	*out = c;
	return 0;
}

/* ---- running jobs ---- */
const char *petrid_run_kind_name(int kind)
{
	return kind == PETRID_RUN_CHILD ? "child" : kind == PETRID_RUN_CAND ? "candidate" : kind == PETRID_RUN_SEED ? "seed" : "?";
}

static int run_job_ok(const petrid_run_job *j)
{
	return j->kind >= PETRID_RUN_CHILD && j->kind <= PETRID_RUN_SEED && memchr(j->model, 0, sizeof j->model) &&
	       j->model[0] && j->worker >= 0 && j->worker < PETRID_RUN_MAX && j->steps >= 0 && j->steps <= MAX_STEPS &&
	       j->step >= 0 && j->step <= j->steps && isfinite(j->elapsed_s) && j->elapsed_s >= 0;
}

int petrid_running_encode(const petrid_running *r, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	if (r->n < 0 || r->n > PETRID_RUN_MAX || r->pid < 0 || r->ms < 0)
		return -1;
	for (int i = 0; i < r->n; i++)
		if (!run_job_ok(&r->job[i]))
			return -1;
	nn_rec_enc e;
	nn_rec_begin(&e, RUN_MAGIC, REC_VERSION, RUN_FIELDS);
	nn_rec_u64(&e, (uint64_t)r->pid);
	nn_rec_u64(&e, (uint64_t)r->ms);
	msgpack_pack_array(&e.pk, (size_t)r->n);
	for (int i = 0; i < r->n; i++) {
		const petrid_run_job *j = &r->job[i];
		msgpack_pack_array(&e.pk, 6);
		msgpack_pack_int64(&e.pk, j->kind);
		msgpack_pack_str(&e.pk, strlen(j->model));
		msgpack_pack_str_body(&e.pk, j->model, strlen(j->model));
		msgpack_pack_int64(&e.pk, j->worker);
		msgpack_pack_int64(&e.pk, j->step);
		msgpack_pack_int64(&e.pk, j->steps);
		msgpack_pack_double(&e.pk, j->elapsed_s);
	}
	return nn_rec_finish(&e, buf, len) ? -1 : 0;
}

int petrid_running_decode(const void *buf, size_t len, petrid_running *out, char *err, size_t errlen)
{
	static const char what[] = "running jobs";
	nn_rec_dec d;
	int rc = open_rec(&d, buf, len, what, RUN_MAGIC, RUN_FIELDS, err, errlen);
	if (rc)
		return rc;
	petrid_running *r = malloc(sizeof *r); /* out is written only when all is well */
	if (!r) {
		nn_rec_close(&d);
		return fail(err, errlen, Q_ENOMEM, "%s: out of memory", what);
	}
	int64_t pid = (int64_t)nn_rec_get_range(&d, 0, 0, INT32_MAX);
	int64_t ms = (int64_t)nn_rec_get_range(&d, 1, 0, INT64_MAX);
	const msgpack_object *a = rows(&d, 2, PETRID_RUN_MAX, 6);
	int n = 0;
	if (!a)
		nn_rec_set_bad(&d, 2);
	for (uint32_t k = 0; a && k < a->via.array.size; k++) {
		const msgpack_object *o = a->via.array.ptr[k].via.array.ptr;
		petrid_run_job j;
		memset(&j, 0, sizeof j);
		long kind, worker;
		if (obj_int(&o[0], PETRID_RUN_CHILD, PETRID_RUN_SEED, &kind) || o[1].type != MSGPACK_OBJECT_STR ||
		    o[1].via.str.size == 0 || o[1].via.str.size >= sizeof j.model ||
		    memchr(o[1].via.str.ptr, 0, o[1].via.str.size) || obj_int(&o[2], 0, PETRID_RUN_MAX - 1, &worker) ||
		    obj_int(&o[3], 0, MAX_STEPS, &j.step) || obj_int(&o[4], 0, MAX_STEPS, &j.steps) ||
		    obj_f64(&o[5], &j.elapsed_s) || j.step > j.steps || !isfinite(j.elapsed_s) || j.elapsed_s < 0) {
			nn_rec_close(&d);
			free(r);
			return fail(err, errlen, Q_ECORRUPT,
				    "%s: job %u is not [kind, model, worker, step, steps, elapsed] within range", what,
				    (unsigned)k);
		}
		j.kind = (int)kind, j.worker = (int)worker;
		memcpy(j.model, o[1].via.str.ptr, o[1].via.str.size);
		r->job[n++] = j;
	}
	int bad = d.bad;
	if (nn_rec_done(&d)) {
		free(r);
		return fail(err, errlen, Q_ECORRUPT, "%s: field %d (%s) is missing, mistyped or out of range", what,
			    bad, bad == 0 ? "pid" : bad == 1 ? "time" : "jobs");
	}
	r->pid = pid, r->ms = ms, r->n = n;
	memcpy(out, r, sizeof *r);
	free(r);
	return 0;
}

/* ---- the stored records ---- */
typedef int (*decode_fn)(const void *buf, size_t len, void *out, char *err, size_t errlen);

static int get_rec(q_txn *t, const char *prefix, const char *id, decode_fn dec, void *out, char *err, size_t errlen)
{
	char key[Q_IDLEN + 16];
	if (strlen(id) >= Q_IDLEN)
		return fail(err, errlen, Q_EINVAL, "model id '%.60s' is too long", id);
	snprintf(key, sizeof key, "%s%s", prefix, id);
	void *buf;
	size_t len;
	int rc = q_blob_get(t, key, &buf, &len);
	if (rc)
		return rc == Q_ENOTFOUND ? rc : fail(err, errlen, rc, "%s", q_errmsg(q_txn_store(t)));
	rc = dec(buf, len, out, err, errlen);
	free(buf);
	return rc;
}

static int dec_omega(const void *b, size_t n, void *o, char *e, size_t el) { return petrid_omega_decode(b, n, o, e, el); }
static int dec_curve(const void *b, size_t n, void *o, char *e, size_t el) { return petrid_curve_decode(b, n, o, e, el); }
static int dec_run(const void *b, size_t n, void *o, char *e, size_t el) { return petrid_running_decode(b, n, o, e, el); }

int petrid_omega_get(q_txn *t, const char *id, petrid_omega_rank *r, char *err, size_t errlen)
{
	return get_rec(t, PETRID_CARD_OMEGA, id, dec_omega, r, err, errlen);
}

int petrid_curve_get(q_txn *t, const char *id, petrid_curve *c, char *err, size_t errlen)
{
	return get_rec(t, PETRID_CARD_CURVE, id, dec_curve, c, err, errlen);
}

int petrid_running_get(q_txn *t, petrid_running *r, char *err, size_t errlen)
{
	return get_rec(t, PETRID_RUN_JOBS, "", dec_run, r, err, errlen);
}

/* ---- the model card as JSON ---- */
/* a JSON string: quotes, backslashes and control bytes escaped; bytes
 * above 0x7f (ids and descriptions petri writes are ASCII) as U+FFFD, so
 * the text is always valid JSON */
static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else if (*p < 0x80)
			fputc(*p, f);
		else
			fputs("\\ufffd", f);
	}
	fputc('"', f);
}

/* a number, or null when not finite */
static void jnum(FILE *f, double x)
{
	if (isfinite(x))
		fprintf(f, "%.9g", x);
	else
		fputs("null", f);
}

static const char *state_name(int s)
{
	return s == Q_MODEL_TRAINED ? "trained" : s == Q_MODEL_FAILED ? "failed" : "new";
}

/* what growth added: per target of the chosen pairs, its inputs and ops */
static void grown_layers(FILE *f, const petrid_omega_rank *r)
{
	fputs("[", f);
	int done[PETRID_OMEGA_MAX] = { 0 }, first = 1;
	for (int i = 0; i < r->n; i++) {
		if (!r->pair[i].chosen || done[i])
			continue;
		int t = r->pair[i].target;
		fprintf(f, "%s{\"target\": %d, \"inputs\": [", first ? "" : ", ", t);
		first = 0;
		int k = 0;
		for (int j = i; j < r->n; j++)
			if (r->pair[j].chosen && r->pair[j].target == t)
				fprintf(f, "%s%d", k++ ? ", " : "", r->pair[j].input);
		fputs("], \"ops\": [", f);
		k = 0;
		for (int j = i; j < r->n; j++)
			if (r->pair[j].chosen && r->pair[j].target == t) {
				fputs(k++ ? ", " : "", f);
				jstr(f, grow_op_name(r->pair[j].op));
				done[j] = 1;
			}
		fputs("]}", f);
	}
	fputs("]", f);
}

static int parent_nodes(q_txn *t, const char *id, int *n)
{
	nn_model p;
	int rc = q_model_get(t, id, &p);
	if (rc)
		return rc;
	*n = p.g.n;
	nn_model_free(&p);
	return 0;
}

int petrid_card_load(q_txn *t, const char *id, petrid_card *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (err && errlen)
		err[0] = 0;
	if (!id[0] || strlen(id) >= Q_IDLEN)
		return fail(err, errlen, Q_ENOTFOUND, "no model '%.60s'", id);
	nn_model m;
	int rc = q_summary_get(t, id, &c->s);
	if (!rc)
		rc = q_model_get(t, id, &m);
	if (rc == Q_ENOTFOUND)
		return fail(err, errlen, rc, "no model '%s'", id);
	if (rc)
		return fail(err, errlen, rc, "model '%s': %s", id, q_errmsg(q_txn_store(t)));
	memcpy(c->grown, m.lineage.grown, sizeof c->grown);
	c->grown[sizeof c->grown - 1] = 0;
	c->nodes = m.g.n;
	nn_model_free(&m);
	c->parent_nodes = -1;
	if (c->s.parent[0] && q_summary_get(t, c->s.parent, &c->ps) == 0) {
		c->has_parent = 1;
		if (parent_nodes(t, c->s.parent, &c->parent_nodes))
			c->parent_nodes = -1;
	}
	c->rc_omega = petrid_omega_get(t, id, &c->omega, c->err_omega, sizeof c->err_omega);
	c->rc_curve = petrid_curve_get(t, id, &c->curve, c->err_curve, sizeof c->err_curve);
	/* a record that does not decode is the card's business; the store's
	 * own failures are the caller's */
	int bad[2] = { c->rc_omega, c->rc_curve };
	for (int k = 0; k < 2; k++)
		if (bad[k] && bad[k] != Q_ENOTFOUND && bad[k] != Q_ECORRUPT && bad[k] != Q_EVERSION)
			return fail(err, errlen, bad[k], "model '%s': %s", id, k ? c->err_curve : c->err_omega);
	return 0;
}

static int damaged(int rc) { return rc && rc != Q_ENOTFOUND; }

void petrid_card_write_json(const petrid_card *c, FILE *f)
{
	const q_summary *s = &c->s;
	fputs("{\"id\": ", f);
	jstr(f, s->id);
	fputs(", \"parent\": ", f);
	if (s->parent[0])
		jstr(f, s->parent);
	else
		fputs("null", f);
	fprintf(f, ", \"depth\": %d, \"state\": \"%s\", \"created_ms\": %lld", s->depth, state_name(s->state),
		(long long)s->created_ms);
	fprintf(f, ", \"costs\": {\"params\": %llu, \"macs\": %llu, \"mem_bytes\": %llu, \"latency_ms\": ",
		(unsigned long long)s->cost.params, (unsigned long long)s->cost.macs,
		(unsigned long long)s->cost.act_bytes_1);
	jnum(f, s->cost.latency_ms > 0 ? s->cost.latency_ms : NAN);
	fputs("}, \"val_acc\": ", f);
	jnum(f, s->metrics.val_acc);
	fputs(", \"val_loss\": ", f);
	jnum(f, s->metrics.val_loss);
	fputs(", \"test_acc\": ", f);
	jnum(f, s->metrics.test_acc);
	fputs(", \"test_loss\": ", f);
	jnum(f, s->metrics.test_loss);
	fputs(", \"epochs\": ", f);
	jnum(f, s->metrics.epochs);
	/* what growth added versus the parent */
	fputs(", \"grown\": ", f);
	if (s->parent[0]) {
		fputs("{\"text\": ", f);
		jstr(f, c->grown);
		fputs(", \"layers\": ", f);
		if (c->rc_omega == 0)
			grown_layers(f, &c->omega);
		else
			fputs("null", f);
		fputs(", \"nodes_added\": ", f);
		if (c->parent_nodes >= 0)
			fprintf(f, "%d", c->nodes - c->parent_nodes);
		else
			fputs("null", f);
		fputs(", \"params_added\": ", f);
		if (c->has_parent)
			fprintf(f, "%lld", (long long)s->cost.params - (long long)c->ps.cost.params);
		else
			fputs("null", f);
		fputs(", \"parent_val_acc\": ", f);
		jnum(f, c->has_parent ? c->ps.metrics.val_acc : NAN);
		fputs("}", f);
	} else {
		fputs("null", f);
	}
	fputs(", ", f);
	petrid_card_records_json(c, f);
	fputs("}", f);
}

void petrid_card_records_json(const petrid_card *c, FILE *f)
{
	fputs("\"omega_ranking\": ", f);
	if (c->rc_omega == 0) {
		const petrid_omega_rank *r = &c->omega;
		fprintf(f, "{\"candidate\": \"%llu\", \"parent\": ", (unsigned long long)r->cand_entry);
		jstr(f, r->parent);
		fputs(", \"parent_val_acc\": ", f);
		jnum(f, r->parent_val_acc);
		fputs(", \"joint_val_acc\": ", f);
		jnum(f, r->joint_val_acc);
		fprintf(f, ", \"pairs\": %d, \"ranking\": [", r->npairs);
		for (int i = 0; i < r->n; i++) {
			const petrid_omega_pair *p = &r->pair[i];
			fprintf(f, "%s{\"target\": %d, \"input\": %d, \"op\": ", i ? ", " : "", p->target, p->input);
			jstr(f, grow_op_name(p->op));
			fputs(", \"omega\": ", f);
			jnum(f, p->omega);
			fprintf(f, ", \"chosen\": %s}", p->chosen ? "true" : "false");
		}
		fputs("]}", f);
	} else {
		fputs("null", f);
	}
	fputs(", \"curve\": ", f);
	if (c->rc_curve == 0) {
		fprintf(f, "{\"first_step\": %ld, \"steps\": %ld, \"points\": [", c->curve.first_step, c->curve.steps);
		for (int i = 0; i < c->curve.n; i++) {
			fprintf(f, "%s[%ld, ", i ? ", " : "", c->curve.step[i]);
			jnum(f, c->curve.loss[i]);
			fputs("]", f);
		}
		fputs("]}", f);
	} else {
		fputs("null", f);
	}
	fputs(", \"not_stored\": [", f);
	int k = 0;
	if (c->rc_omega == Q_ENOTFOUND)
		fprintf(f, "%s\"omega_ranking\"", k++ ? ", " : "");
	if (c->rc_curve == Q_ENOTFOUND)
		fprintf(f, "%s\"curve\"", k++ ? ", " : "");
	fputs("]", f);
	if (damaged(c->rc_omega) || damaged(c->rc_curve)) {
		fputs(", \"damaged\": {", f);
		if (damaged(c->rc_omega)) {
			fputs("\"omega_ranking\": ", f);
			jstr(f, c->err_omega);
		}
		if (damaged(c->rc_curve)) {
			fputs(damaged(c->rc_omega) ? ", \"curve\": " : "\"curve\": ", f);
			jstr(f, c->err_curve);
		}
		fputs("}", f);
	}
}

int petrid_card_json(q_txn *t, const char *id, FILE *f, char *err, size_t errlen)
{
	petrid_card *c = malloc(sizeof *c);
	if (!c)
		return fail(err, errlen, Q_ENOMEM, "out of memory");
	int rc = petrid_card_load(t, id, c, err, errlen);
	if (!rc) {
		petrid_card_write_json(c, f);
		if (damaged(c->rc_omega) || damaged(c->rc_curve)) {
			rc = Q_ECORRUPT;
			fail(err, errlen, rc, "model '%s': %s%s%s", id, damaged(c->rc_omega) ? c->err_omega : "",
			     damaged(c->rc_omega) && damaged(c->rc_curve) ? "; " : "",
			     damaged(c->rc_curve) ? c->err_curve : "");
		}
	}
	free(c);
	return rc;
}
