/* mpi.c - workers as MPI ranks: all of petri's MPI code.
 *
 * DESIGN
 * `mpirun -np N petri search --dir EXP ...` starts N copies of the same
 * command. Rank 0 is the daemon, the only process that opens the store;
 * ranks 1..N-1 are its N-1 workers. Nothing is shared but messages: no
 * file system in common is needed.
 *
 * The daemon's workers are the same as without MPI (worker.c): a thread
 * each, relaying jobs as frames (wire.c) over a socket. With MPI the other
 * end of each socket is not a forked process but the bridge, one thread of
 * rank 0 and the only one that calls MPI there (MPI_THREAD_SERIALIZED): it
 * forwards each frame from worker i's socket to rank i + 1 as one message
 * (its tag the frame's type) and each message of rank i + 1 back as a frame.
 *
 * A worker rank is a small bridge too: between rank 0 and a worker process
 * it forks (worker.c's), which runs the jobs on the data set the rank read
 * itself. So a job that crashes takes down that process, not the rank: the
 * rank sends the job's failure with its reason, as a local worker would,
 * and forks a new process for the next job.
 *
 * Start: rank 0 sends every rank the data set (path, shape, input scale,
 * validation rows, fingerprint); each reads it from that path (or from the
 * one on its own command line) and answers, refusing a data set whose
 * fingerprint differs; one refusal ends the search before it starts. End:
 * a closed socket is a "quit" for its rank. A rank that dies, or a rank 0
 * that dies, makes Open MPI end the run; the store is consistent at every
 * instant, so the same command resumes it.
 */
#include "petrid_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef PETRI_MPI
#include "rec.h"

#include <errno.h>
#include <mpi.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

enum { TAG_HELLO = 'H', TAG_OK = 'O', TAG_REFUSE = 'E', TAG_QUIT = 'Q' };

static int g_size = 1, g_rank = 0, g_inited;

int petrid_mpi_init(void)
{
	/* only under mpirun (or another launcher of Open MPI) */
	if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK"))
		return 1;
	int prov = 0;
	if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &prov) != MPI_SUCCESS)
		return 1;
	g_inited = 1;
	MPI_Comm_size(MPI_COMM_WORLD, &g_size);
	MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
	if (prov < MPI_THREAD_SERIALIZED && g_size > 1) {
		fprintf(stderr, "petri: this MPI gives thread level %d, petri needs MPI_THREAD_SERIALIZED\n", prov);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	return g_size;
}

int petrid_mpi_rank(void) { return g_inited ? g_rank : -1; }

int petrid_mpi_size(void) { return g_inited ? g_size : 1; }

/* ---- rank 0: the handshake and the bridge ---- */
#define HELLO_MAGIC "PHEL"
#define HELLO_VERSION 2
#define HELLO_FIELDS 5

static struct {
	int n;            /* worker ranks */
	int *fd;          /* the bridge's end of worker i's socket, -1 once closed */
	int *told;        /* rank i + 1 was told to quit */
	pthread_t th;
	int running;
} B;

static void tell_quit(int r)
{
	if (!B.told[r]) {
		MPI_Send(NULL, 0, MPI_BYTE, r + 1, TAG_QUIT, MPI_COMM_WORLD);
		B.told[r] = 1;
	}
}

static void *bridge_main(void *arg)
{
	(void)arg;
	struct pollfd *p = calloc((size_t)B.n, sizeof *p);
	int *who = calloc((size_t)B.n, sizeof *who);
	if (!p || !who) {
		free(p), free(who);
		return NULL;
	}
	for (;;) {
		int open = 0;
		for (int r = 0; r < B.n; r++)
			if (B.fd[r] >= 0)
				p[open].fd = B.fd[r], p[open].events = POLLIN, who[open++] = r;
		if (!open)
			break;
		/* a rank's message to its worker thread */
		int flag = 0;
		MPI_Status st;
		MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
		if (flag) {
			int n = 0;
			MPI_Get_count(&st, MPI_BYTE, &n);
			char *b = malloc(n > 0 ? (size_t)n : 1);
			if (!b)
				continue; /* it stays queued: tried again */
			MPI_Recv(b, n, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			int r = st.MPI_SOURCE - 1;
			if (r >= 0 && r < B.n && B.fd[r] >= 0 && pd_msg_send(B.fd[r], st.MPI_TAG, b, (size_t)n)) {
				close(B.fd[r]);
				B.fd[r] = -1;
				tell_quit(r);
			}
			free(b);
		}
		/* a worker thread's frame to its rank; a closed socket: quit */
		if (poll(p, (nfds_t)open, flag ? 0 : 1) <= 0)
			continue;
		for (int k = 0; k < open; k++) {
			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int r = who[k], type = 0;
			char *b;
			size_t n;
			if (pd_msg_recv(B.fd[r], &type, &b, &n)) {
				close(B.fd[r]);
				B.fd[r] = -1;
				tell_quit(r);
				continue;
			}
			MPI_Send(b, (int)n, MPI_BYTE, r + 1, type, MPI_COMM_WORLD);
			free(b);
		}
	}
	free(p), free(who);
	return NULL;
}

int pd_mpi_start(daemon_t *d, char *err, size_t errlen)
{
	B.n = d->nw;
	B.fd = malloc(sizeof *B.fd * (size_t)B.n);
	B.told = calloc((size_t)B.n, sizeof *B.told);
	if (!B.fd || !B.told) {
		nn_errf(err, errlen, "out of memory for %d ranks", B.n);
		return PETRID_ESTORE;
	}
	for (int r = 0; r < B.n; r++)
		B.fd[r] = -1;
	/* the data set, to every rank; each reads it and answers */
	nn_rec_enc e;
	nn_rec_begin(&e, HELLO_MAGIC, HELLO_VERSION, HELLO_FIELDS);
	nn_rec_str(&e, d->data_path);
	nn_rec_str(&e, d->shape);
	nn_rec_f64(&e, d->tr.scale);
	nn_rec_u64(&e, (uint64_t)d->va.n);
	nn_rec_str(&e, d->data_fp);
	char *hello;
	size_t hlen;
	if (nn_rec_finish(&e, &hello, &hlen)) {
		nn_errf(err, errlen, "out of memory");
		return PETRID_ESTORE;
	}
	for (int r = 0; r < B.n; r++)
		MPI_Send(hello, (int)hlen, MPI_BYTE, r + 1, TAG_HELLO, MPI_COMM_WORLD);
	free(hello);
	int refused = 0;
	for (int r = 0; r < B.n; r++) {
		MPI_Status st;
		int n = 0;
		MPI_Probe(r + 1, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
		MPI_Get_count(&st, MPI_BYTE, &n);
		char msg[600] = "";
		char *b = malloc(n > 0 ? (size_t)n : 1);
		if (!b) {
			nn_errf(err, errlen, "out of memory");
			return PETRID_ESTORE;
		}
		MPI_Recv(b, n, MPI_BYTE, r + 1, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		snprintf(msg, sizeof msg, "%.*s", n, b);
		free(b);
		if (st.MPI_TAG != TAG_OK && !refused++)
			nn_errf(err, errlen, "rank %d refuses the search: %s", r + 1,
				st.MPI_TAG == TAG_REFUSE ? msg : "it does not speak petri's messages");
		else if (st.MPI_TAG == TAG_OK)
			pd_say(d, "rank %d: %s", r + 1, msg);
	}
	if (refused)
		return PETRID_EDATA;
	/* the workers' sockets, the bridge at their other end */
	for (int r = 0; r < B.n; r++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
			nn_errf(err, errlen, "socketpair: %s", strerror(errno));
			return PETRID_EWORKER;
		}
		d->w[r].fd = sv[0], d->w[r].remote = r + 1;
		B.fd[r] = sv[1];
	}
	int rc = pthread_create(&B.th, NULL, bridge_main, NULL);
	if (rc) {
		nn_errf(err, errlen, "cannot start the MPI bridge: %s", strerror(rc));
		return PETRID_EWORKER;
	}
	B.running = 1;
	return 0;
}

void pd_mpi_stop(void)
{
	if (B.running)
		pthread_join(B.th, NULL);
	B.running = 0;
	for (int r = 0; r < B.n; r++)
		if (B.fd[r] >= 0)
			close(B.fd[r]), B.fd[r] = -1;
}

void petrid_mpi_finalize(void)
{
	if (!g_inited)
		return;
	if (g_rank == 0) {
		/* ranks never told (a search that did not start): quit now */
		for (int r = 1; r < g_size; r++)
			if (!B.told || r - 1 >= B.n || !B.told[r - 1])
				MPI_Send(NULL, 0, MPI_BYTE, r, TAG_QUIT, MPI_COMM_WORLD);
	}
	free(B.fd), free(B.told);
	B.fd = B.told = NULL;
	B.n = 0;
	MPI_Finalize();
	g_inited = 0;
}

/* ---- a worker rank ---- */
/* the next message from rank 0 (*buf malloc'd); wait: block until one */
static int from0(int wait, int *tag, char **buf, int *len)
{
	MPI_Status st;
	int flag = 1;
	if (wait)
		MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
	else
		MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
	if (!flag)
		return 0;
	int n = 0;
	MPI_Get_count(&st, MPI_BYTE, &n);
	char *b = malloc(n > 0 ? (size_t)n : 1);
	if (!b) {
		fprintf(stderr, "petri rank %d: out of memory for a message of %d bytes\n", g_rank, n);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	MPI_Recv(b, n, MPI_BYTE, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	*tag = st.MPI_TAG, *buf = b, *len = n;
	return 1;
}

static void to0(int tag, const void *buf, size_t len)
{
	MPI_Send(len ? buf : NULL, (int)len, MPI_BYTE, 0, tag, MPI_COMM_WORLD);
}

/* the data set of the hello, read as the rank's own; 0 or PETRID_E* */
static int rank_data(daemon_t *d, const petrid_opts *o, const char *buf, int len, char *err, size_t errlen)
{
	nn_rec_dec dec;
	int rc = nn_rec_open(&dec, buf, (size_t)len, HELLO_MAGIC, HELLO_VERSION, HELLO_FIELDS, 2);
	if (rc) {
		nn_errf(err, errlen, "the daemon's hello: %s", nn_rec_strerror(rc));
		return PETRID_EINVAL;
	}
	char data[512], shape[64], fp[24];
	nn_rec_get_str(&dec, 0, data, sizeof data);
	nn_rec_get_str(&dec, 1, shape, sizeof shape);
	double scale = nn_rec_get_f64(&dec, 2);
	uint64_t nval = nn_rec_get_range(&dec, 3, 1, 1u << 30);
	nn_rec_get_str(&dec, 4, fp, sizeof fp);
	int bad = dec.bad;
	nn_rec_close(&dec);
	if (bad >= 0) {
		nn_errf(err, errlen, "the daemon's hello: field %d is missing, mistyped or out of range", bad);
		return PETRID_EINVAL;
	}
	/* the rank's own path when its command line names one */
	return pd_load_data_as(d, o->data ? o->data : data, shape, scale, (int)nval, fp, err, errlen);
}

int petrid_mpi_worker(const petrid_opts *o, char *err, size_t errlen)
{
	daemon_t D, *d = &D;
	memset(d, 0, sizeof *d);
	d->o = o;
	char host[256] = "?";
	gethostname(host, sizeof host);
	int tag = 0, len = 0;
	char *b = NULL;
	from0(1, &tag, &b, &len);
	if (tag != TAG_HELLO) {
		free(b);
		return 0; /* the search did not start: nothing to do */
	}
	int rc = rank_data(d, o, b, len, err, errlen);
	free(b);
	if (rc) {
		char msg[700];
		snprintf(msg, sizeof msg, "%s: %s", host, err);
		to0(TAG_REFUSE, msg, strlen(msg));
	} else {
		char msg[400];
		snprintf(msg, sizeof msg, "%s (pid %d), %d training rows, %d threads per job", host, (int)getpid(), d->tr.n,
			 o->threads);
		to0(TAG_OK, msg, strlen(msg));
	}
	worker_t w;
	memset(&w, 0, sizeof w);
	w.d = d, w.idx = g_rank - 1, w.fd = -1;
	job_t inflight; /* the job the process has: its entry and kind */
	int busy = 0;
	for (;;) {
		int got = from0(0, &tag, &b, &len);
		if (got) {
			if (tag == TAG_QUIT) {
				free(b);
				break;
			}
			if (tag == PD_MSG_JOB && !rc) {
				job_t *j = calloc(1, sizeof *j);
				char e2[512] = "";
				if (j && pd_job_decode(b, (size_t)len, j, e2, sizeof e2) == 0) {
					memset(&inflight, 0, sizeof inflight);
					inflight.entry = j->entry, inflight.kind = j->kind;
					int sent = 0;
					for (int tries = 0; tries < 2 && !sent; tries++) {
						if (w.pid <= 0 && pd_proc_spawn(&w, inflight.err, sizeof inflight.err))
							break;
						sent = pd_msg_send(w.fd, PD_MSG_JOB, b, (size_t)len) == 0;
						if (!sent)
							pd_proc_reap(&w, 5, NULL, 0);
					}
					busy = 1;
					if (!sent) {
						inflight.rc = PETRID_EWORKER;
						if (!inflight.err[0])
							snprintf(inflight.err, sizeof inflight.err,
								 "rank %d: its worker process does not take jobs", g_rank);
					}
				} else {
					memset(&inflight, 0, sizeof inflight);
					busy = 0;
					fprintf(stderr, "petri rank %d: %s\n", g_rank, e2[0] ? e2 : "out of memory");
				}
				if (j) {
					nn_model_free(&j->model);
					petrid_ckpt_free(&j->resume);
					free(j);
				}
			} else if (tag == PD_MSG_STOP && w.fd >= 0) {
				pd_msg_send(w.fd, PD_MSG_STOP, NULL, 0);
			} else if (tag == PD_MSG_KILL && busy && w.pid > 0) {
				/* past the daemon's --job-timeout */
				kill(w.pid, SIGKILL);
				pd_proc_reap(&w, 5, NULL, 0);
				if (!inflight.rc) {
					inflight.rc = PETRID_EWORKER;
					snprintf(inflight.err, sizeof inflight.err,
						 "timed out (--job-timeout): its worker process on rank %d was killed", g_rank);
				}
			}
			free(b);
		}
		/* the process's frames to rank 0; its end in the middle of a job
		 * is that job's failure */
		if (busy && w.fd < 0 && inflight.rc == 0) {
			inflight.rc = PETRID_EWORKER;
			snprintf(inflight.err, sizeof inflight.err, "rank %d: worker process lost", g_rank);
		}
		if (busy && inflight.rc) {
			char *res;
			size_t rlen;
			if (pd_result_encode(&inflight, &res, &rlen) == 0) {
				to0(PD_MSG_RESULT, res, rlen);
				free(res);
			}
			busy = 0;
			continue;
		}
		if (w.fd < 0) {
			if (!got)
				usleep(1000);
			continue;
		}
		struct pollfd p = { w.fd, POLLIN, 0 };
		if (poll(&p, 1, got ? 0 : 1) <= 0)
			continue;
		int type = 0;
		char *f;
		size_t n;
		if (pd_msg_recv(w.fd, &type, &f, &n)) {
			char how[200];
			pd_proc_reap(&w, 5, how, sizeof how);
			if (busy) {
				inflight.rc = PETRID_EWORKER;
				snprintf(inflight.err, sizeof inflight.err, "rank %d on %s: %s", g_rank, host,
					 how[0] ? how : "worker process lost");
			}
			continue;
		}
		to0(type, f, n);
		if (type == PD_MSG_RESULT)
			busy = 0;
		free(f);
	}
	pd_proc_reap(&w, 10, NULL, 0);
	nn_data_free(&d->tr), nn_data_free(&d->va), nn_data_free(&d->te);
	return rc;
}

#else /* no MPI in this build */

int petrid_mpi_init(void)
{
	if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK"))
		fprintf(stderr, "petri: warning: started by an MPI launcher, but this petri was built without MPI "
				"(apt-get install libopenmpi-dev, then rebuild): each rank runs a search of its own\n");
	return 1;
}

int petrid_mpi_rank(void) { return -1; }

int petrid_mpi_size(void) { return 1; }

int pd_mpi_start(daemon_t *d, char *err, size_t errlen)
{
	(void)d;
	nn_errf(err, errlen, "this petri was built without MPI");
	return PETRID_EINVAL;
}

void pd_mpi_stop(void) {}

void petrid_mpi_finalize(void) {}

int petrid_mpi_worker(const petrid_opts *o, char *err, size_t errlen)
{
	(void)o;
	nn_errf(err, errlen, "this petri was built without MPI");
	return PETRID_EINVAL;
}

#endif
