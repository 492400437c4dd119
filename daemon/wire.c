/* wire.c - what the daemon and its worker processes say to each other.
 *
 * DESIGN
 * A worker runs jobs in its own process, so a job that crashes or runs out
 * of memory takes down only its worker. The daemon and a worker share no
 * memory after the fork: a job goes out as bytes (the job, its settings,
 * the model, the checkpoint it resumes from) and comes back as bytes (the
 * trained or grown model, the candidate's report, the loss curve). Between
 * the two, the worker sends its progress and its checkpoints. The same
 * messages would carry a job to another machine.
 *
 * Frames on a stream: 4 bytes of length (little endian, the payload's),
 * 1 byte of type, the payload. Job and result payloads are records
 * (nn/rec: magic, version, checked fields, a checksum); every field is
 * checked on the way in, as for anything read from a store.
 */
#include "petrid_impl.h"

#include "rec.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRAME_MAX (1u << 30) /* 1 GiB: far beyond any model of a search */

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t r = write(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r, n -= (size_t)r;
	}
	return 0;
}

/* 0: all n bytes; 1: end of stream before the first; -1: error or cut */
static int read_all(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, c + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return got ? -1 : 1;
		got += (size_t)r;
	}
	return 0;
}

int pd_msg_send(int fd, int type, const void *buf, size_t len)
{
	if (len > FRAME_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	unsigned char h[5] = { (unsigned char)len, (unsigned char)(len >> 8), (unsigned char)(len >> 16),
			       (unsigned char)(len >> 24), (unsigned char)type };
	if (write_all(fd, h, sizeof h))
		return -1;
	return len ? write_all(fd, buf, len) : 0;
}

int pd_msg_recv(int fd, int *type, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	unsigned char h[5];
	int rc = read_all(fd, h, sizeof h);
	if (rc)
		return rc;
	size_t n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24;
	if (n > FRAME_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	char *b = malloc(n ? n : 1);
	if (!b)
		return -1;
	if (n && read_all(fd, b, n)) {
		free(b);
		return -1;
	}
	*type = h[4], *buf = b, *len = n;
	return 0;
}

int pd_msg_ready(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

/* ---- the job ---- */
#define JOB_MAGIC "PJOB"
#define JOB_VERSION 2
#define JOB_FIELDS 25
#define RES_MAGIC "PRES"
#define RES_VERSION 2
#define RES_FIELDS 18
#define MAX_THREADS 4096

int pd_job_encode(const job_t *j, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	char *model = NULL, *ck = NULL;
	size_t mlen = 0, cklen = 0;
	if (nn_model_encode(&j->model, &model, &mlen))
		return -1;
	if (j->resume.owned && petrid_ckpt_encode(&j->resume, &ck, &cklen)) {
		free(model);
		return -1;
	}
	const pd_settings *s = &j->set;
	nn_rec_enc e;
	nn_rec_begin(&e, JOB_MAGIC, JOB_VERSION, JOB_FIELDS);
	nn_rec_u64(&e, (uint64_t)j->kind);
	nn_rec_u64(&e, j->entry);
	nn_rec_str(&e, j->model_id);
	nn_rec_u64(&e, j->seed);
	nn_rec_u64(&e, (uint64_t)j->threads);
	nn_rec_f64(&e, s->epoch_frac);
	nn_rec_u64(&e, (uint64_t)s->batch);
	nn_rec_f64(&e, s->lr);
	nn_rec_f64(&e, s->checkpoint_s);
	nn_rec_u64(&e, (uint64_t)s->grow.targets);
	nn_rec_u64(&e, (uint64_t)s->grow.window);
	nn_rec_u64(&e, (uint64_t)s->grow.max_inputs);
	nn_rec_u64(&e, s->grow.ops);
	nn_rec_f64(&e, s->grow.lambda);
	nn_rec_u64(&e, (uint64_t)s->grow.k);
	nn_rec_f64(&e, s->grow.threshold);
	nn_rec_u64(&e, (uint64_t)s->grow.random);
	nn_rec_u64(&e, (uint64_t)s->grow.eval_rows);
	nn_rec_u64(&e, (uint64_t)s->job_memory);
	nn_rec_bin(&e, model, mlen);
	nn_rec_bin(&e, ck ? ck : "", cklen);
	nn_rec_f64(&e, s->simulate);
	nn_rec_u64(&e, (uint64_t)s->grow.frozen);
	nn_rec_f64(&e, s->grow.narrow_at);
	nn_rec_u64(&e, (uint64_t)s->grow.narrow_keep);
	free(model);
	free(ck);
	return nn_rec_finish(&e, buf, len) ? -1 : 0;
}

static int finite_in(double v, double lo, double hi) { return v == v && v >= lo && v <= hi; }

int pd_job_decode(const void *buf, size_t len, job_t *out, char *err, size_t errlen)
{
	static const char what[] = "job message";
	job_t J, *j = &J;
	memset(j, 0, sizeof *j);
	nn_rec_dec d;
	int rc = nn_rec_open(&d, buf, len, JOB_MAGIC, JOB_VERSION, JOB_FIELDS, 2);
	if (rc) {
		nn_errf(err, errlen, "%s: %s", what, nn_rec_strerror(rc));
		return PETRID_EINVAL;
	}
	pd_settings *s = &j->set;
	j->kind = (int)nn_rec_get_range(&d, 0, PETRID_JOB_CHILD, PETRID_JOB_CAND);
	j->entry = nn_rec_get_u64(&d, 1);
	nn_rec_get_str(&d, 2, j->model_id, sizeof j->model_id);
	j->seed = nn_rec_get_u64(&d, 3);
	j->threads = (int)nn_rec_get_range(&d, 4, 1, MAX_THREADS);
	s->epoch_frac = nn_rec_get_f64(&d, 5);
	if (!finite_in(s->epoch_frac, 0, 1e6))
		nn_rec_set_bad(&d, 5);
	s->batch = (int)nn_rec_get_range(&d, 6, 1, 65536);
	double lr = nn_rec_get_f64(&d, 7);
	if (!finite_in(lr, 1e-12, 100))
		nn_rec_set_bad(&d, 7);
	s->lr = (float)lr;
	s->checkpoint_s = nn_rec_get_f64(&d, 8);
	if (!finite_in(s->checkpoint_s, 0, 1e9))
		nn_rec_set_bad(&d, 8);
	s->grow.targets = (int)nn_rec_get_range(&d, 9, 0, 1 << 20);
	s->grow.window = (int)nn_rec_get_range(&d, 10, 0, 1 << 20);
	s->grow.max_inputs = (int)nn_rec_get_range(&d, 11, 0, 1 << 20);
	s->grow.ops = (unsigned)nn_rec_get_range(&d, 12, 0, GROW_OPS_ALL);
	double lambda = nn_rec_get_f64(&d, 13), thr = nn_rec_get_f64(&d, 15);
	if (!finite_in(lambda, -1e9, 1e9))
		nn_rec_set_bad(&d, 13);
	if (!finite_in(thr, -1e9, 1e9))
		nn_rec_set_bad(&d, 15);
	s->grow.lambda = (float)lambda, s->grow.threshold = (float)thr;
	s->grow.k = (int)nn_rec_get_range(&d, 14, 0, 1 << 20);
	s->grow.random = (int)nn_rec_get_range(&d, 16, 0, 1);
	s->grow.eval_rows = (int)nn_rec_get_range(&d, 17, 0, 1u << 30);
	s->job_memory = nn_rec_get_u64(&d, 18);
	size_t mlen, cklen;
	const void *m = nn_rec_get_bin(&d, 19, &mlen), *ck = nn_rec_get_bin(&d, 20, &cklen);
	s->simulate = nn_rec_get_f64(&d, 21);
	if (!finite_in(s->simulate, 0, 1e9))
		nn_rec_set_bad(&d, 21);
	s->grow.frozen = (int)nn_rec_get_range(&d, 22, 0, 1);
	double na = nn_rec_get_f64(&d, 23);
	if (!finite_in(na, 0, 1))
		nn_rec_set_bad(&d, 23);
	s->grow.narrow_at = (float)na;
	s->grow.narrow_keep = (int)nn_rec_get_range(&d, 24, 0, 1000);
	int bad = d.bad;
	char e2[300] = "";
	if (bad < 0 && nn_model_decode(&j->model, m, mlen, e2, sizeof e2))
		bad = 19;
	if (bad < 0 && cklen && petrid_ckpt_decode(ck, cklen, &j->resume, e2, sizeof e2))
		bad = 20;
	nn_rec_close(&d);
	if (bad >= 0) {
		nn_model_free(&j->model);
		petrid_ckpt_free(&j->resume);
		nn_errf(err, errlen, "%s: field %d is missing, mistyped or out of range%s%s", what, bad, e2[0] ? ": " : "",
			e2);
		return PETRID_EINVAL;
	}
	s->grow.seed = j->seed;
	*out = J;
	return 0;
}

/* ---- the result ---- */
/* a pair as 7 little-endian 32-bit words: target, input, op, gate, first,
 * last (integers), omega (float bits) */
static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16),
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#define PAIR_BYTES 28

int pd_result_encode(const job_t *j, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	char *model = NULL, *curve = NULL;
	size_t mlen = 0, clen = 0;
	if (j->out.g.n && nn_model_encode(&j->out, &model, &mlen))
		return -1;
	if (j->kind == PETRID_JOB_CHILD && petrid_curve_encode(&j->curve, &curve, &clen))
		curve = NULL, clen = 0; /* not a record: the model goes without its curve */
	const grow_report *r = &j->rep;
	int np = r->pairs ? r->npairs : 0, nw = r->win ? r->nwin : 0;
	unsigned char *pairs = malloc((size_t)np * PAIR_BYTES + 1), *win = malloc((size_t)nw * 4 + 1);
	if (!pairs || !win) {
		free(pairs), free(win), free(model), free(curve);
		return -1;
	}
	for (int i = 0; i < np; i++) {
		const grow_pair *p = &r->pairs[i];
		unsigned char *q = pairs + (size_t)i * PAIR_BYTES;
		uint32_t om;
		memcpy(&om, &p->omega, 4);
		put32(q, (uint32_t)p->target), put32(q + 4, (uint32_t)p->input), put32(q + 8, (uint32_t)p->op);
		put32(q + 12, (uint32_t)p->gate), put32(q + 16, (uint32_t)p->first), put32(q + 20, (uint32_t)p->last);
		put32(q + 24, om);
	}
	for (int i = 0; i < nw; i++)
		put32(win + 4 * i, (uint32_t)r->win[i]);
	nn_rec_enc e;
	nn_rec_begin(&e, RES_MAGIC, RES_VERSION, RES_FIELDS);
	nn_rec_u64(&e, j->entry);
	nn_rec_u64(&e, (uint64_t)j->kind);
	nn_rec_i64(&e, j->rc);
	nn_rec_str(&e, j->err);
	nn_rec_f64(&e, j->seconds);
	nn_rec_bin(&e, model ? model : "", mlen);
	nn_rec_bin(&e, curve ? curve : "", clen);
	nn_rec_u64(&e, (uint64_t)(r->has_child != 0));
	nn_rec_str(&e, r->desc);
	nn_rec_bin(&e, pairs, (size_t)np * PAIR_BYTES);
	nn_rec_bin(&e, win, (size_t)nw * 4);
	nn_rec_f64(&e, r->parent_val_acc);
	nn_rec_f64(&e, r->parent_val_loss);
	nn_rec_f64(&e, r->child_val_acc0);
	nn_rec_f64(&e, r->child_val_loss0);
	nn_rec_f64(&e, r->seconds);
	nn_rec_u64(&e, 0); /* reserved */
	nn_rec_u64(&e, 0);
	free(model), free(curve), free(pairs), free(win);
	return nn_rec_finish(&e, buf, len) ? -1 : 0;
}

int pd_result_decode(const void *buf, size_t len, job_t *j, char *err, size_t errlen)
{
	static const char what[] = "job result";
	nn_rec_dec d;
	int rc = nn_rec_open(&d, buf, len, RES_MAGIC, RES_VERSION, RES_FIELDS, 2);
	if (rc) {
		nn_errf(err, errlen, "%s: %s", what, nn_rec_strerror(rc));
		return PETRID_EINVAL;
	}
	uint64_t entry = nn_rec_get_u64(&d, 0);
	int kind = (int)nn_rec_get_range(&d, 1, PETRID_JOB_CHILD, PETRID_JOB_CAND);
	int64_t jrc = nn_rec_get_i64(&d, 2);
	char jerr[sizeof j->err];
	nn_rec_get_str(&d, 3, jerr, sizeof jerr);
	double secs = nn_rec_get_f64(&d, 4);
	size_t mlen, clen, plen, wlen;
	const void *m = nn_rec_get_bin(&d, 5, &mlen), *cv = nn_rec_get_bin(&d, 6, &clen);
	grow_report r;
	memset(&r, 0, sizeof r);
	r.has_child = (int)nn_rec_get_range(&d, 7, 0, 1);
	nn_rec_get_str(&d, 8, r.desc, sizeof r.desc);
	const unsigned char *pp = nn_rec_get_bin(&d, 9, &plen), *wp = nn_rec_get_bin(&d, 10, &wlen);
	r.parent_val_acc = (float)nn_rec_get_f64(&d, 11);
	r.parent_val_loss = (float)nn_rec_get_f64(&d, 12);
	r.child_val_acc0 = (float)nn_rec_get_f64(&d, 13);
	r.child_val_loss0 = (float)nn_rec_get_f64(&d, 14);
	r.seconds = nn_rec_get_f64(&d, 15);
	int bad = d.bad;
	if (bad < 0 && (entry != j->entry || kind != j->kind))
		bad = 0;
	if (bad < 0 && (jrc < INT32_MIN || jrc > 0))
		bad = 2;
	if (bad < 0 && !finite_in(secs, 0, 1e9))
		bad = 4;
	if (bad < 0 && (plen % PAIR_BYTES || plen / PAIR_BYTES > (1u << 20)))
		bad = 9;
	if (bad < 0 && (wlen % 4 || wlen / 4 > plen / PAIR_BYTES))
		bad = 10;
	char e2[300] = "";
	nn_model out;
	memset(&out, 0, sizeof out);
	petrid_curve curve;
	memset(&curve, 0, sizeof curve);
	r.npairs = (int)(plen / PAIR_BYTES), r.nwin = (int)(wlen / 4);
	if (bad < 0 && r.npairs && !(r.pairs = calloc((size_t)r.npairs, sizeof *r.pairs)))
		bad = 9;
	if (bad < 0 && r.nwin && !(r.win = calloc((size_t)r.nwin, sizeof *r.win)))
		bad = 10;
	for (int i = 0; bad < 0 && i < r.npairs; i++) {
		const unsigned char *q = pp + (size_t)i * PAIR_BYTES;
		grow_pair *p = &r.pairs[i];
		p->target = (int)get32(q), p->input = (int)get32(q + 4), p->op = (int)get32(q + 8);
		p->gate = (int)get32(q + 12), p->first = (int)get32(q + 16), p->last = (int)get32(q + 20);
		uint32_t om = get32(q + 24);
		memcpy(&p->omega, &om, 4);
		if (p->target < 0 || p->input < 0 || p->op < 0 || p->op >= GROW_OP__COUNT || p->gate < 0 || p->first < 0 ||
		    p->last < p->first)
			bad = 9;
	}
	for (int i = 0; bad < 0 && i < r.nwin; i++) {
		uint32_t w = get32(wp + 4 * i);
		if (w >= (uint32_t)r.npairs)
			bad = 10;
		else
			r.win[i] = (int)w;
	}
	if (bad < 0 && mlen && nn_model_decode(&out, m, mlen, e2, sizeof e2))
		bad = 5;
	if (bad < 0 && clen && petrid_curve_decode(cv, clen, &curve, e2, sizeof e2))
		bad = 6;
	if (bad < 0 && !jrc && !mlen && (kind == PETRID_JOB_CHILD || r.has_child))
		bad = 5; /* a success without its model */
	nn_rec_close(&d);
	if (bad >= 0) {
		nn_model_free(&out);
		grow_report_free(&r);
		nn_errf(err, errlen, "%s: field %d is missing, mistyped or out of range%s%s", what, bad, e2[0] ? ": " : "",
			e2);
		return PETRID_EINVAL;
	}
	j->rc = (int)jrc;
	snprintf(j->err, sizeof j->err, "%s", jerr);
	j->seconds = secs;
	j->out = out;
	j->rep = r;
	j->curve = curve;
	return 0;
}

/* ---- progress: step and steps as two 8-byte little-endian numbers ---- */
int pd_step_send(int fd, long step, long steps)
{
	unsigned char b[16];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)step >> (8 * i)), b[8 + i] = (unsigned char)((uint64_t)steps >> (8 * i));
	return pd_msg_send(fd, PD_MSG_STEP, b, sizeof b);
}

int pd_step_parse(const char *buf, size_t len, long *step, long *steps)
{
	if (len != 16)
		return -1;
	const unsigned char *b = (const unsigned char *)buf;
	uint64_t a = 0, s = 0;
	for (int i = 0; i < 8; i++)
		a |= (uint64_t)b[i] << (8 * i), s |= (uint64_t)b[8 + i] << (8 * i);
	if (a > (1ull << 40) || s > (1ull << 40) || a > s)
		return -1;
	*step = (long)a, *steps = (long)s;
	return 0;
}
