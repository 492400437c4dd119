/* petrid.h - the search daemon: one event loop that owns an experiment.
 *
 * petrid_run() opens (or creates) the experiment store in a directory,
 * trains the seed (or a warm-start model), and grows networks until the
 * budget is spent or a stop is asked for: by petrid_request_stop() (signal
 * handlers), SIGTERM/SIGINT, or "stop" on the control socket DIR/control
 * (mode 0600). Worker processes run candidate and child jobs on copies of
 * what they need, so a job that crashes or runs out of memory fails alone;
 * only the loop writes the store.
 */
#ifndef PETRID_H
#define PETRID_H

#include <stddef.h>
#include <stdint.h>

#include "grow.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Errors: -500..-599 (nn has -100..-199, queue -200.., frontier -300..,
 * grow -400..). petrid_run() and petrid_send_stop() return PETRID_E* codes
 * only; petrid_strerror() also names the codes of the other modules. */
const char *petrid_strerror(int err);
enum {
	PETRID_OK = 0,
	PETRID_EINVAL = -500, /* bad option */
	PETRID_EDATA = -501,  /* data set missing, unreadable, or not this experiment's */
	PETRID_ESTORE = -502, /* the store could not be opened or written */
	PETRID_EMODEL = -503, /* --from model unusable */
	PETRID_EBUSY = -504,  /* another daemon runs this experiment */
	PETRID_EWORKER = -505 /* a worker process died or could not start */
};

typedef struct {
	const char *dir;         /* experiment directory (required) */
	const char *data;        /* data set; NULL: the experiment's, or Fashion-MNIST */
	const char *shape;       /* CSV shape, e.g. "1x8x8" */
	double input_scale;      /* inputs = the data's values times this; 0: the
				  * experiment's, or the data format's default */
	const char *from;        /* warm-start model file; NULL: the seed */
	double budget_s;         /* wall-clock budget in seconds over all runs (0 none) */
	long budget_jobs;        /* finished jobs budget (0 none) */
	double max_mflops;       /* cost ceiling for parents (0 none) */
	int max_depth;           /* growth-depth ceiling for parents (0 none) */
	int workers;             /* 0: number of cores / threads */
	int threads;             /* threads per worker (default 1) */
	uint64_t seed;
	int random_growth;
	int deterministic;       /* results applied in lease order, one thread a job:
				  * the same models whatever the workers (kept by the experiment) */
	int nval;                /* validation rows (-1 default) */
	int batch;
	float lr;
	double seed_epochs;      /* training of the seed / warm-start model; 0: the
				  * --from model enters evaluated as it is */
	double cand_epochs;      /* joint training of a candidate job */
	double child_epochs;     /* training of a child job */
	int cands_per_parent;    /* candidate jobs queued per parent choice (1-2) */
	double checkpoint_s;     /* a running job's checkpoint every this many
				  * seconds (0: none; it also checkpoints when stopped) */
	double job_memory;       /* bytes a job may allocate in its worker process (0: no limit) */
	double job_timeout;      /* seconds a job may run before its worker is killed and the job
				  * fails (0: no limit) */
	double simulate;         /* > 0: a simulated search (kept by the experiment): jobs do not
				  * train, they take their modelled time divided by this and
				  * give a synthetic accuracy; for measuring the daemon */
	grow_seed_opts seed_net;
	grow_opts grow;
	int quiet;
	int set;                 /* bit set of options given on this command line (PETRID_SET_*) */
} petrid_opts;

enum {
	PETRID_SET_BUDGET = 1, PETRID_SET_JOBS = 2, PETRID_SET_MFLOPS = 4, PETRID_SET_WORKERS = 8,
	PETRID_SET_THREADS = 16, PETRID_SET_DATA = 32, PETRID_SET_SEED_EPOCHS = 64,
	PETRID_SET_BATCH = 128, PETRID_SET_LR = 256, PETRID_SET_CAND_EPOCHS = 512, PETRID_SET_CHILD_EPOCHS = 1024,
	PETRID_SET_K = 2048, PETRID_SET_OPS = 4096, PETRID_SET_INPUTS = 8192, PETRID_SET_CAND_PARENT = 16384,
	PETRID_SET_NARROW = 32768
};

void petrid_defaults(petrid_opts *o);
/* Run (or resume) the search; returns 0 when it ended cleanly (budget
 * spent, stopped, or nothing left to grow). err gets a message. */
int petrid_run(const petrid_opts *o, char *err, size_t errlen);
/* Async-signal-safe: ask the running loop to stop. */
void petrid_request_stop(void);
/* Ask the daemon of dir to stop through its control socket. */
int petrid_send_stop(const char *dir, char *err, size_t errlen);

/* ---- MPI (daemon/mpi.c): under mpirun, rank 0 is the daemon, the other
 * ranks are its workers ---- */
/* MPI_Init when an MPI launcher started this process; the number of ranks
 * (1: no MPI). */
int petrid_mpi_init(void);
int petrid_mpi_rank(void);   /* -1: no MPI */
int petrid_mpi_size(void);   /* 1: no MPI */
/* A worker rank's life: the data set rank 0 names (o->data, when given,
 * read instead), then jobs until rank 0 is done. 0, or PETRID_E* with err
 * when the rank refused the search. */
int petrid_mpi_worker(const petrid_opts *o, char *err, size_t errlen);
/* Rank 0 tells ranks not yet told to quit; then MPI_Finalize. */
void petrid_mpi_finalize(void);

#ifdef __cplusplus
}
#endif
#endif
