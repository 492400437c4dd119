/* petrid_impl.h - what the daemon's files share: the state of the daemon,
 * its workers and their jobs, and what each file offers the others
 * (internal names: pd_). Only daemon/ includes it; petrid.h is the API.
 *
 *   start.c    petrid_run(): start or resume (options, store, config, data,
 *              seed), the services, the end of the run
 *   loop.c     the event loop: budget and stop, dispatch, finish, progress,
 *              the store transactions of the search
 *   worker.c   workers: a thread of the daemon per worker, relaying its jobs
 *              to a worker process that runs them; cancel, report
 *   wire.c     the messages between the daemon and its worker processes
 *   mpi.c      workers as MPI ranks: the bridge on rank 0, the worker ranks
 *   control.c  the control socket (stop, ping) and petrid_send_stop()
 *   exp.c      the experiment's layout (exp.h), shared with the CLI
 *
 * Threads: the loop owns the daemon (every field of daemon_t and the
 * busy field of each worker). A worker and the loop share the fields of
 * worker_t marked "under mu"; cancel is atomic; the stop flag of signal
 * handlers is a volatile sig_atomic_t (loop.c). */
#ifndef PETRID_IMPL_H
#define PETRID_IMPL_H

#include "petrid.h"
#include "exp.h"

#include "frontier.h"
#include "queue.h"

#include <pthread.h>
#include <sys/types.h>
#include <stdatomic.h>

typedef struct daemon daemon_t;

#define PD_MAX_WORKERS 1024 /* workers of one daemon at most */
#define PD_DET_WINDOW 4     /* --deterministic: jobs leased before the oldest is applied */

/* How a job runs: what the loop decides, sent with the job. */
typedef struct {
	double epoch_frac;   /* training length (0: a child evaluated as it is) */
	int batch;
	float lr;
	double checkpoint_s;
	grow_opts grow;      /* a candidate job's (seed: the job's) */
	uint64_t job_memory; /* bytes a job may add to its worker's address space (0: no limit) */
	double simulate;     /* > 0: no training; jobs take their modelled time divided by this */
} pd_settings;

/* One job: what the loop gives a worker, and the worker's result. */
typedef struct {
	int kind;            /* PETRID_JOB_CHILD, PETRID_JOB_CAND */
	uint64_t entry;      /* queue entry id */
	char owner[64];      /* its lease */
	char model_id[Q_IDLEN]; /* the job's model (child to train, or parent) */
	uint64_t seed;
	int threads;         /* OpenMP threads of its nets: its worker's, plus
			      * those of workers idle when it started */
	petrid_ckpt resume;  /* its checkpoint when it ran before (owned: none) */
	pd_settings set;
	nn_model model;      /* private copy */
	/* results */
	int rc;
	char err[512];
	nn_model out;        /* trained child, or the grown (untrained) child */
	grow_report rep;
	double seconds;
	/* progress and the card (the worker's while it runs, the loop's after) */
	int run_kind;        /* PETRID_RUN_*: what `petri status` calls it */
	double t0;           /* nn_now() when the loop gave it */
	petrid_curve curve;  /* a child job's training loss curve */
	/* the deterministic order's (loop.c) */
	int given, done;     /* given to a worker; its result is in */
	char *ckbuf;         /* its last checkpoint, taken from its worker */
	size_t cklen;
} job_t;

typedef struct {
	daemon_t *d;
	int idx;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inited;          /* mu and cv initialized */
	int running;         /* th started */
	/* under mu */
	job_t *job;          /* set by the loop, cleared by the loop after the result */
	int quit;
	int reported;        /* the worker has reported job */
	/* any thread */
	atomic_int cancel;   /* the job in hand should stop at its next step */
	atomic_long step, steps; /* training steps done and planned of the job in hand */
	/* under mu: the job's newest checkpoint record, not yet written */
	char *ckpt;
	size_t ckptlen;
	/* the loop's */
	int busy;
	/* the worker thread's: its process (pid 0: none yet, or it died) */
	pid_t pid;
	int fd;              /* the daemon's end of the socket to it */
	int own;             /* the process is the daemon's child, not the spawner's */
	int remote;          /* an MPI rank (its number) behind the socket, not a process */
} worker_t;

struct daemon {
	const petrid_opts *o;
	q_store *st;
	fr_frontier *fr;
	nn_data tr, va, te;
	int pipefd[2];       /* workers -> loop: the job_t * of a finished job */
	int sock;            /* control socket, -1: none */
	worker_t *w;
	int nw;
	double t0, elapsed0, budget_s;
	long budget_jobs, jobs_done;
	uint64_t max_macs;
	int max_depth;
	double cand_epochs, child_epochs, seed_epochs;
	grow_opts grow;      /* growth as the search was created (start.c) */
	int leased;          /* jobs leased by schedule() and not yet given */
	int batch;           /* the experiment's training settings: what it */
	float lr;            /* was created with, whatever a resume says */
	int random_growth;
	uint64_t seed;
	int tty;
	double last_progress;
	double last_running; /* the running jobs' record: when written, */
	uint64_t running_sig; /* what it said (a hash), */
	int running_stored;  /* whether one is stored */
	float best_acc;
	char best_id[Q_IDLEN];
	int stopping;
	char stop_reason[160];
	int store_rc;        /* a failed store write that stopped the search (exit non-zero) */
	int nomem;           /* memory ran out: the search stopped (exit non-zero) */
	int fails_in_row;    /* failed jobs since the last success */
	int mpi;             /* the workers are MPI ranks */
	/* the spawner (worker.c): the process that forks the worker processes */
	pid_t spawner;       /* its pid (0: none; processes are forked here) */
	int spawner_fd;      /* the socket to it, one request at a time: */
	pthread_mutex_t spawner_mu; /* under this */
	atomic_int spawner_gone; /* it died or stopped answering (killed) */
	int det;             /* --deterministic: results applied in lease order (loop.c) */
	double simulate;     /* a simulated search: its speed-up (0: a real one) */
	long applied;        /* jobs whose result the loop took, this run */
	double work_s;       /* their seconds in the workers */
	double wait_s;       /* the loop's time waiting for events */
	double store_s;      /* its time in store writes */
	job_t *out[PD_DET_WINDOW]; /* its jobs leased and not applied, oldest at out0 */
	int out0, nout, started;
	char data_path[512]; /* the data set as the experiment has it: */
	char shape[64];      /* what an MPI rank is told to read */
	char data_fp[24];
};

/* ---- loop.c ---- */
/* Wall clock of the search over all its runs. */
double pd_elapsed(const daemon_t *d);
/* A line on stderr (not with --quiet). */
void pd_say(daemon_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Stop the search after the running jobs; the reason goes to the log. */
void pd_stop(daemon_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A signal (or petrid_request_stop()) asked for a stop; any thread. */
int pd_stop_requested(void);
/* Forget an earlier request, at the start of a run. */
void pd_stop_clear(void);
/* SIGTERM/SIGINT ask for a stop; SIGPIPE is ignored. */
void pd_signals(void);
/* Run the search until it stops, then record the stop; 0 or PETRID_E*. */
int pd_loop(daemon_t *d, char *err, size_t errlen);
/* Record the end of the run (d->stop_reason) in the store: the jobs in
 * flight back in their queues, the clock, state done or stopped. */
void pd_record_stop(daemon_t *d);

/* ---- start.c ---- */
/* Read a data set as the daemon does (train/val split, test, shape, input
 * scale), and refuse it when its fingerprint is not fp: an MPI rank's. */
int pd_load_data_as(daemon_t *d, const char *data, const char *shape, double scale, int nval, const char *fp,
		    char *err, size_t errlen);

/* ---- worker.c ---- */
/* Start d->nw workers (d->w); on failure the ones started keep running
 * until pd_workers_stop(). */
int pd_workers_start(daemon_t *d, char *err, size_t errlen);
/* Give an idle worker its job (it owns j until pd_worker_done()). */
void pd_worker_give(worker_t *w, job_t *j);
/* The loop has taken the worker's result: it is idle again. */
void pd_worker_done(worker_t *w);
/* Stop every worker and free them; a result not taken is dropped (its
 * lease returns to the queue). */
void pd_workers_stop(daemon_t *d);
void pd_job_free(job_t *j);
/* A worker process for w (w->pid, w->fd), forked by the spawner (or, with
 * none, from the calling thread); it runs jobs on w->d's data sets. */
int pd_proc_spawn(worker_t *w, char *err, size_t errlen);
/* End w's process: close the socket, wait wait_s at most, then SIGKILL;
 * how (may be NULL) gets how it ended. Nothing for a remote worker. */
void pd_proc_reap(worker_t *w, double wait_s, char *how, size_t howlen);

/* ---- mpi.c ---- */
/* Rank 0: tell every rank the data set and wait for each to accept it, then
 * connect worker i to rank i + 1 through the bridge thread. */
int pd_mpi_start(daemon_t *d, char *err, size_t errlen);
/* After the workers have closed their sockets: the bridge has told every
 * rank to quit; join it. */
void pd_mpi_stop(void);

/* ---- wire.c ---- */
enum { PD_MSG_JOB = 'J', PD_MSG_STOP = 'S', PD_MSG_KILL = 'K', PD_MSG_STEP = 'P', PD_MSG_CKPT = 'C', PD_MSG_RESULT = 'R' };
/* One frame (type, payload) on a stream; 0, or -1 with errno. */
int pd_msg_send(int fd, int type, const void *buf, size_t len);
/* The next frame (*buf malloc'd); 0, 1 at the end of the stream, -1 on an
 * error or a frame cut short. */
int pd_msg_recv(int fd, int *type, char **buf, size_t *len);
/* A frame (or the end) can be read without waiting. */
int pd_msg_ready(int fd);
/* A job and its settings, model and checkpoint; decoded into a zeroed j. */
int pd_job_encode(const job_t *j, char **buf, size_t *len);
int pd_job_decode(const void *buf, size_t len, job_t *j, char *err, size_t errlen);
/* A job's result: rc, err, seconds, out, rep, curve. Decoding checks that
 * it is j's (entry and kind) and fills those fields of j. */
int pd_result_encode(const job_t *j, char **buf, size_t *len);
int pd_result_decode(const void *buf, size_t len, job_t *j, char *err, size_t errlen);
int pd_step_send(int fd, long step, long steps);
int pd_step_parse(const char *buf, size_t len, long *step, long *steps);

/* ---- control.c ---- */
/* Listen on DIR/control (mode 0600); -1 and err when it cannot. */
int pd_control_open(const char *dir, char *err, size_t errlen);
/* Answer every waiting connection: "stop" stops the search, "ping". */
void pd_control_serve(daemon_t *d);
/* Close the socket and remove DIR/control. */
void pd_control_close(daemon_t *d);

#endif
