/* fuzz_wire.c - libFuzzer target for the messages between the daemon and
 * its worker processes (daemon/wire.c; built by fuzz.sh). The first input
 * byte picks what the rest is: a job message, a candidate job's result, a
 * child job's result, a progress payload, or a stream of frames read from
 * a socket until its end. An odd first byte / 5 seals the record's check
 * first, so that the field decoders behind it are reached. Everything must
 * decode or fail with a message, without crashes, leaks or undefined
 * behaviour; a decoded job or result must encode and decode again.
 *
 * Seeds: with PETRI_FUZZ_SEEDS=DIR, the first run writes one of each kind
 * into DIR (fuzz.sh points it at the corpus). */
#include "petrid_impl.h"

#include "rec.h"
#include "tiny_model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

enum { SEL_JOB, SEL_RES_CAND, SEL_RES_CHILD, SEL_STEP, SEL_FRAMES, NSEL };

static void seed(const char *dir, const char *name, int sel, const char *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	fputc(sel, f);
	fwrite(buf, 1, len, f);
	fclose(f);
}


static void write_seeds(const char *dir)
{
	job_t *j = calloc(1, sizeof *j);
	if (!j || tiny_model(&j->model)) {
		free(j);
		return;
	}
	char *buf;
	size_t len;
	j->kind = PETRID_JOB_CAND, j->entry = 9, j->seed = 3, j->threads = 1;
	snprintf(j->model_id, sizeof j->model_id, "m000002");
	j->set.epoch_frac = 0.2, j->set.batch = 32, j->set.lr = 0.05f, j->set.checkpoint_s = 60;
	grow_opts_defaults(&j->set.grow);
	if (!pd_job_encode(j, &buf, &len)) {
		seed(dir, "job", SEL_JOB, buf, len);
		free(buf);
	}
	j->out = j->model;
	memset(&j->model, 0, sizeof j->model);
	j->rep.has_child = 1, j->rep.npairs = 2, j->rep.nwin = 1;
	j->rep.pairs = calloc(2, sizeof *j->rep.pairs);
	j->rep.win = calloc(1, sizeof *j->rep.win);
	if (j->rep.pairs && j->rep.win) {
		j->rep.pairs[0] = (grow_pair){ 4, 2, 1, 10, 11, 12, 0.5f };
		j->rep.pairs[1] = (grow_pair){ 4, 1, 6, 13, 14, 14, -0.25f };
		snprintf(j->rep.desc, sizeof j->rep.desc, "sep5x5(2) -> 4");
		if (!pd_result_encode(j, &buf, &len)) {
			seed(dir, "result_cand", SEL_RES_CAND, buf, len);
			free(buf);
		}
	}
	grow_report_free(&j->rep);
	memset(&j->rep, 0, sizeof j->rep);
	j->kind = PETRID_JOB_CHILD;
	petrid_curve_begin(&j->curve);
	for (long s = 1; s <= 20; s++)
		petrid_curve_add(&j->curve, s, 20, 1.0 / (double)s);
	petrid_curve_end(&j->curve);
	if (!pd_result_encode(j, &buf, &len)) {
		seed(dir, "result_child", SEL_RES_CHILD, buf, len);
		/* the same result as a stream of frames: progress, then it */
		int sv[2];
		if (!socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
			pd_step_send(sv[0], 3, 20);
			pd_msg_send(sv[0], PD_MSG_RESULT, buf, len);
			close(sv[0]);
			char s[1 << 16];
			ssize_t n = read(sv[1], s, sizeof s);
			if (n > 0)
				seed(dir, "frames", SEL_FRAMES, s, (size_t)n);
			close(sv[1]);
		}
		free(buf);
	}
	static const unsigned char step[16] = { 3, 0, 0, 0, 0, 0, 0, 0, 20 };
	seed(dir, "step", SEL_STEP, (const char *)step, sizeof step);
	nn_model_free(&j->out);
	free(j);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *dir = getenv("PETRI_FUZZ_SEEDS");
	if (dir && *dir)
		write_seeds(dir);
	return 0;
}

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_wire: %s\n", what);
	abort();
}

/* a decoded result must encode and decode to the same again */
static void result_again(job_t *j)
{
	char *buf, err[400] = "";
	size_t len;
	if (pd_result_encode(j, &buf, &len))
		fail("a decoded result does not encode");
	job_t *k = calloc(1, sizeof *k);
	if (!k)
		abort();
	k->entry = j->entry, k->kind = j->kind;
	if (pd_result_decode(buf, len, k, err, sizeof err))
		fail(err);
	if (k->rc != j->rc || strcmp(k->err, j->err) || k->rep.npairs != j->rep.npairs || k->rep.nwin != j->rep.nwin)
		fail("a result changed on its way round");
	nn_model_free(&k->out);
	grow_report_free(&k->rep);
	free(k);
	free(buf);
}

static void one(int sel, const uint8_t *p, size_t n)
{
	char err[600] = "";
	if (sel == SEL_JOB) {
		job_t *j = calloc(1, sizeof *j);
		if (!j)
			abort();
		if (pd_job_decode(p, n, j, err, sizeof err) == 0) {
			char *buf;
			size_t len;
			if (pd_job_encode(j, &buf, &len))
				fail("a decoded job does not encode");
			job_t *k = calloc(1, sizeof *k);
			if (!k || pd_job_decode(buf, len, k, err, sizeof err))
				fail("a job does not decode after its encoding");
			nn_model_free(&k->model);
			petrid_ckpt_free(&k->resume);
			free(k);
			free(buf);
			nn_model_free(&j->model);
			petrid_ckpt_free(&j->resume);
		} else if (!err[0]) {
			fail("a job refused without a message");
		}
		free(j);
	} else if (sel == SEL_RES_CAND || sel == SEL_RES_CHILD) {
		job_t *j = calloc(1, sizeof *j);
		if (!j)
			abort();
		j->entry = 9, j->kind = sel == SEL_RES_CAND ? PETRID_JOB_CAND : PETRID_JOB_CHILD;
		if (pd_result_decode(p, n, j, err, sizeof err) == 0) {
			result_again(j);
			nn_model_free(&j->out);
			grow_report_free(&j->rep);
		} else if (!err[0]) {
			fail("a result refused without a message");
		}
		free(j);
	} else if (sel == SEL_STEP) {
		long a, b;
		if (pd_step_parse((const char *)p, n, &a, &b) == 0 && (a < 0 || a > b))
			fail("a step beyond its steps");
	} else {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return;
		/* a socket holds some 200 KB: more is not written */
		size_t w = n < 65536 ? n : 65536;
		if (w && write(sv[0], p, w) != (ssize_t)w) {
			close(sv[0]), close(sv[1]);
			return;
		}
		close(sv[0]);
		for (int k = 0; k < 1000; k++) {
			int type;
			char *b;
			size_t len;
			if (pd_msg_recv(sv[1], &type, &b, &len))
				break;
			if (type == PD_MSG_RESULT) {
				job_t *j = calloc(1, sizeof *j);
				if (!j)
					abort();
				j->entry = 9, j->kind = PETRID_JOB_CHILD;
				if (!pd_result_decode(b, len, j, err, sizeof err)) {
					nn_model_free(&j->out);
					grow_report_free(&j->rep);
				}
				free(j);
			}
			free(b);
		}
		close(sv[1]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int sel = data[0] % NSEL;
	uint8_t *rec = malloc(size);
	if (!rec)
		abort();
	memcpy(rec, data + 1, size - 1);
	if ((data[0] / NSEL) & 1)
		nn_rec_seal(rec, size - 1);
	one(sel, rec, size - 1);
	free(rec);
	return 0;
}
