/* cmd_search.c - petri search (start or resume the daemon) and petri stop. */
#include "cmds.h"
#include "num.h"
#include "petrid.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

enum {
	O_DIR, O_FROM, O_SHAPE, O_BUDGET, O_JOBS, O_MAX_MFLOPS, O_MAX_DEPTH, O_WORKERS, O_TPW, O_SEED, O_RANDOM,
	O_DETACH, O_QUIET, O_VAL, O_BATCH, O_LR, O_SEED_EPOCHS, O_CAND_EPOCHS, O_CHILD_EPOCHS, O_CKPT, O_FILTERS, O_STAGES,
	O_BLOCKS, O_K, O_OPS, O_INPUT_SCALE, O_JOB_MEMORY, O_DETERMINISTIC, O_SIMULATE, O_JOB_TIMEOUT, O_INPUTS, O_FROZEN, O_JOINT, O_NARROW_AT, O_NARROW_KEEP,
};

const opt_spec search_options[] = {
	{ "--dir", NULL, "EXP", O_DIR, "the experiment directory (required; created when new)" },
	{ "--from", NULL, "MODEL", O_FROM, "the first parent, with its weights (default: a seed network)" },
	{ "--shape", NULL, "CxHxW", O_SHAPE, "image shape of a CSV data set" },
	{ "--input-scale", NULL, "X", O_INPUT_SCALE, "inputs are the data's values times X, e.g. 1/255; kept by the "
						      "experiment (default: --from's, else 1/255 for IDX, 1 for CSV)" },
	{ "--budget", NULL, "TIME", O_BUDGET, "wall-clock budget over all runs: 90s, 30m, 1.5h" },
	{ "--jobs", NULL, "N", O_JOBS, "budget in finished jobs" },
	{ "--max-mflops", NULL, "X", O_MAX_MFLOPS, "no child above X MFLOPs per image" },
	{ "--max-depth", NULL, "D", O_MAX_DEPTH, "no parent grown more than D times (default: no limit)" },
	{ "--workers", NULL, "N", O_WORKERS, "jobs at once (default: cores / threads per worker)" },
	{ "--threads-per-worker", NULL, "T", O_TPW, "threads of each job (default 1)" },
	{ "--seed", NULL, "S", O_SEED, "random seed (default 1)" },
	{ "--random-growth", NULL, NULL, O_RANDOM, "winners drawn at random (the baseline)" },
	{ "--deterministic", NULL, NULL, O_DETERMINISTIC,
	  "the same models, bit for bit, whatever the workers or ranks: results applied in order, one "
	  "thread a job (kept by the experiment)" },
	{ "--detach", NULL, NULL, O_DETACH, "run in the background (output in EXP/daemon.out)" },
	{ "--quiet", "-q", NULL, O_QUIET, "no progress on standard error" },
	{ "--val", NULL, "N", O_VAL, "validation rows (default a tenth, 5000 at most)" },
	{ "--batch", NULL, "N", O_BATCH, "images per step (default 128)" },
	{ "--lr", NULL, "X", O_LR, "learning rate (default 0.05)" },
	{ "--seed-epochs", NULL, "F", O_SEED_EPOCHS, "epochs of the first model (default 1 for the seed, 0 for a --from model: evaluated as it is, no training)" },
	{ "--cand-epochs", NULL, "F", O_CAND_EPOCHS, "epochs of a candidate job (default 0.2)" },
	{ "--child-epochs", NULL, "F", O_CHILD_EPOCHS, "epochs of a child job (default 1)" },
	{ "--checkpoint-every", NULL, "TIME", O_CKPT,
	  "a running job's state into the store this often, so a stop or a kill costs at most that "
	  "much of its training (default 60s; 0: only when stopped)" },
	{ "--job-memory", NULL, "SIZE", O_JOB_MEMORY,
	  "memory a job may take in its worker process, e.g. 2G, 512M (default: no limit); a job "
	  "that needs more fails with 'out of memory', the search goes on" },
	{ "--job-timeout", NULL, "TIME", O_JOB_TIMEOUT,
	  "a job running longer is killed and fails, using one of its 3 attempts (default: no limit)" },
	{ "--simulate", NULL, "X", O_SIMULATE,
	  "a simulated search, for measuring the daemon: jobs do not train, they take their modelled "
	  "time divided by X (e.g. 1000) and give a synthetic accuracy (kept by the experiment)" },
	{ "--filters", NULL, "F", O_FILTERS, "seed network: channels of the first stage (default 8)" },
	{ "--stages", NULL, "S", O_STAGES, "seed network: stages (default 3)" },
	{ "--blocks", NULL, "B", O_BLOCKS, "seed network: blocks per stage (default 1)" },
	{ "--k", NULL, "K", O_K, "winners kept per candidate job (default 3)" },
	{ "--ops", NULL, "LIST", O_OPS, "candidate ops, comma-separated (default all)" },
	{ "--inputs", NULL, "I", O_INPUTS, "inputs per growth target at most (default 3)" },
	{ "--frozen-parent", NULL, NULL, O_FROZEN, "candidate jobs keep the parent's weights as they are" },
	{ "--joint", NULL, NULL, O_JOINT, "candidate jobs train the parent with the candidates" },
	{ "--narrow-at", NULL, "F", O_NARROW_AT, "after this fraction of a candidate job, each target keeps only its "
						 "--narrow-keep pairs of largest |omega| (0: never; default 0.5)" },
	{ "--narrow-keep", NULL, "N", O_NARROW_KEEP, "pairs kept per target by --narrow-at (default 2k)" },
	OPT_LAST,
};

const opt_spec stop_options[] = {
	{ "--dir", NULL, "EXP", O_DIR, "the experiment directory of the search" },
	OPT_LAST,
};

/* a daemon answers on DIR/control */
static int daemon_listens(const char *dir)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/control", dir) >= sizeof sa.sun_path)
		return 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	int up = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return up;
}

/* A search refused at its start (bad options, data or model) in a directory
 * it created itself leaves nothing behind: that directory holds only the
 * empty store and the log of the refusal. */
static void remove_new_experiment(const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "lock", "log", "control" };
	char path[4096];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, files[i]) < sizeof path)
			unlink(path);
	rmdir(dir); /* fails, and keeps it, when anything else is in it */
}

int cmd_search(const cli_cmd *cmd, int argc, char **argv)
{
	petrid_opts o;
	petrid_defaults(&o);
	int detach = 0;
	const char *data = NULL;
	opt_iter it;
	cmd_opts(&it, cmd, argc, argv);
	for (int k; (k = opt_next(&it)) != OPT_END;) {
		switch (k) {
		case O_DIR: o.dir = it.val; break;
		case O_FROM: o.from = it.val; break;
		case O_SHAPE: o.shape = it.val; break;
		case O_INPUT_SCALE: o.input_scale = opt_ratio(&it, 1e-12, 1e12); break;
		case O_BUDGET:
			/* a budget: at most a year */
			if (num_parse(it.val, NUM_TIME, 0, 366 * 86400.0, &o.budget_s))
				die(2, "--budget: '%s' is not a duration (e.g. 30m, 90s, 1.5h)", it.val);
			o.set |= PETRID_SET_BUDGET;
			break;
		case O_JOBS: o.budget_jobs = opt_whole(&it, 1, 1000000000); o.set |= PETRID_SET_JOBS; break;
		case O_MAX_MFLOPS: o.max_mflops = opt_real(&it, 0, 1e12); o.set |= PETRID_SET_MFLOPS; break;
		case O_MAX_DEPTH: o.max_depth = (int)opt_whole(&it, 0, 1000000); break;
		case O_WORKERS: o.workers = (int)opt_whole(&it, 1, 256); o.set |= PETRID_SET_WORKERS; break;
		case O_TPW: o.threads = (int)opt_whole(&it, 1, 256); o.set |= PETRID_SET_THREADS; break;
		case O_SEED: o.seed = (uint64_t)opt_whole(&it, 0, 2147483647L); break;
		case O_RANDOM: o.random_growth = 1; break;
		case O_DETERMINISTIC: o.deterministic = 1; break;
		case O_JOB_TIMEOUT:
			if (num_parse(it.val, NUM_TIME, 1, 1e7, &o.job_timeout))
				die(2, "--job-timeout: '%s' is not a duration of a second at least (e.g. 30m, 2h)", it.val);
			break;
		case O_SIMULATE: o.simulate = opt_real(&it, 1e-3, 1e9); break;
		case O_DETACH: detach = 1; break;
		case O_QUIET: o.quiet = 1; break;
		case O_VAL: o.nval = (int)opt_whole(&it, 1, 1000000000); break;
		case O_BATCH: o.batch = (int)opt_whole(&it, 1, 65536); o.set |= PETRID_SET_BATCH; break;
		case O_LR: o.lr = (float)opt_real(&it, 1e-6, 10); o.set |= PETRID_SET_LR; break;
		case O_SEED_EPOCHS: o.seed_epochs = opt_real(&it, 0, 1000); o.set |= PETRID_SET_SEED_EPOCHS; break;
		case O_CAND_EPOCHS: o.cand_epochs = opt_real(&it, 1e-3, 1000); o.set |= PETRID_SET_CAND_EPOCHS; break;
		case O_CHILD_EPOCHS: o.child_epochs = opt_real(&it, 1e-3, 1000); o.set |= PETRID_SET_CHILD_EPOCHS; break;
		case O_CKPT:
			if (num_parse(it.val, NUM_TIME, 0, 86400.0, &o.checkpoint_s))
				die(2, "--checkpoint-every: '%s' is not a duration of a day at most (e.g. 60s, 5m, 0)", it.val);
			break;
		case O_JOB_MEMORY:
			if (num_parse(it.val, NUM_SI, 1e6, 1e15, &o.job_memory))
				die(2, "--job-memory: '%s' is not a size in bytes of 1M at least (e.g. 512M, 2G)", it.val);
			break;
		case O_FILTERS: o.seed_net.filters = (int)opt_whole(&it, 1, 4096); break;
		case O_STAGES: o.seed_net.stages = (int)opt_whole(&it, 1, 8); break;
		case O_BLOCKS: o.seed_net.blocks = (int)opt_whole(&it, 0, 64); break;
		case O_K: o.grow.k = (int)opt_whole(&it, 1, 16); o.set |= PETRID_SET_K; break;
		case O_INPUTS: o.grow.max_inputs = (int)opt_whole(&it, 1, 64); o.set |= PETRID_SET_INPUTS; break;
		case O_FROZEN: o.grow.frozen = 1; o.set |= PETRID_SET_CAND_PARENT; break;
		case O_JOINT: o.grow.frozen = 0; o.set |= PETRID_SET_CAND_PARENT; break;
		case O_NARROW_AT: o.grow.narrow_at = (float)opt_real(&it, 0, 1); o.set |= PETRID_SET_NARROW; break;
		case O_NARROW_KEEP: o.grow.narrow_keep = (int)opt_whole(&it, 1, 1000); o.set |= PETRID_SET_NARROW; break;
		case O_OPS:
			if (grow_ops_parse(it.val, &o.grow.ops))
				die(2, "--ops: '%s' names an unknown op", it.val);
			o.set |= PETRID_SET_OPS;
			break;
		default:
			if (data)
				die(2, "search takes one data set; '%s' is extra", it.val);
			data = it.val;
			o.set |= PETRID_SET_DATA;
		}
	}
	o.data = data;
	if (!o.dir)
		die(2, "search needs --dir EXP (the experiment directory)");
	/* a model given with --from is trained already: it enters the frontier
	 * as it is, unless --seed-epochs asks to fine-tune it first */
	if (o.from && !(o.set & PETRID_SET_SEED_EPOCHS))
		o.seed_epochs = 0;
	if (!o.from && (o.set & PETRID_SET_SEED_EPOCHS) && o.seed_epochs < 1e-3)
		die(2, "--seed-epochs 0 is for a --from model; the seed network needs training (at least 0.001)");
	if (o.from) { /* refuse a bad model before anything is created */
		nn_model fm;
		char e2[1024];
		if (nn_model_load(&fm, o.from, e2, sizeof e2))
			die(1, "%s", e2);
		/* the model's input scale is the search's, unless one is given */
		double ms = fm.lineage.input_scale;
		if (nn_scale_ok(ms) && !o.input_scale)
			o.input_scale = ms;
		else if (nn_scale_ok(ms) && o.input_scale != ms) {
			char a[32], b[32];
			fprintf(stderr, "petri: warning: %s was trained with --input-scale %s; the search gives it %s\n",
				o.from, nn_scale_str(ms, a, sizeof a), nn_scale_str(o.input_scale, b, sizeof b));
		}
		nn_model_free(&fm);
	}
	/* under mpirun: rank 0 is the daemon, every other rank a worker */
	int ranks = petrid_mpi_init();
	if (ranks > 1 && detach)
		die(2, "--detach does not go with mpirun (run mpirun itself in the background)");
	if (ranks > 1 && petrid_mpi_rank() > 0) {
		char err[1024] = "";
		/* a refusal is rank 0's to report: it ends the search and
		 * exits non-zero; this rank says why and ends cleanly */
		if (petrid_mpi_worker(&o, err, sizeof err))
			fprintf(stderr, "petri rank %d: %s\n", petrid_mpi_rank(), err);
		petrid_mpi_finalize();
		return 0;
	}
	if (detach) {
		/* a second daemon would die on the store's lock while the socket
		 * of the first looked like its own start */
		if (daemon_listens(o.dir))
			die(1, "a search daemon already runs %s (petri status --dir %s)", o.dir, o.dir);
		if (mkdir(o.dir, 0755) && errno != EEXIST)
			die(1, "%s: cannot create: %s", o.dir, strerror(errno));
		char log[4096];
		snprintf(log, sizeof log, "%s/daemon.out", o.dir);
		pid_t pid = fork();
		if (pid < 0)
			die(1, "fork: %s", strerror(errno));
		if (pid == 0) {
			setsid();
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
			int nul = open("/dev/null", O_RDONLY);
			if (fd >= 0) {
				dup2(fd, 1), dup2(fd, 2);
				close(fd);
			}
			if (nul >= 0) {
				dup2(nul, 0);
				close(nul);
			}
			char err[1024] = "";
			int rc = petrid_run(&o, err, sizeof err);
			if (rc)
				fprintf(stderr, "petri: %s\n", err);
			_exit(rc ? 1 : 0);
		}
		/* wait until the daemon listens, or died */
		char sock[4096];
		snprintf(sock, sizeof sock, "%s/control", o.dir);
		for (int i = 0; i < 600; i++) {
			struct stat st;
			int status;
			if (waitpid(pid, &status, WNOHANG) == pid)
				die(1, "the daemon exited at start; see %s", log);
			if (stat(sock, &st) == 0) {
				printf("petri: search daemon %d runs %s (log %s/log, output %s)\n", (int)pid, o.dir, o.dir, log);
				return 0;
			}
			struct timespec ts = { 0, 100000000 };
			nanosleep(&ts, NULL);
		}
		printf("petri: search daemon %d started for %s (output %s)\n", (int)pid, o.dir, log);
		return 0;
	}
	struct stat sd;
	int new_dir = stat(o.dir, &sd) != 0 && errno == ENOENT;
	char err[1024] = "";
	int rc = petrid_run(&o, err, sizeof err);
	petrid_mpi_finalize();
	if (rc) {
		if (new_dir && (rc == PETRID_EINVAL || rc == PETRID_EDATA || rc == PETRID_EMODEL))
			remove_new_experiment(o.dir);
		fprintf(stderr, "petri: %s\n", err);
		return rc == PETRID_EINVAL ? 2 : 1;
	}
	return 0;
}

int cmd_stop(const cli_cmd *cmd, int argc, char **argv)
{
	const char *dir = NULL;
	opt_iter it;
	cmd_opts(&it, cmd, argc, argv);
	for (int k; (k = opt_next(&it)) != OPT_END;) {
		if (k == OPT_ARG)
			die(2, "usage: %s", cmd->usage);
		dir = it.val; /* --dir, the only option */
	}
	if (!dir)
		die(2, "usage: %s", cmd->usage);
	char err[1024];
	if (petrid_send_stop(dir, err, sizeof err)) {
		fprintf(stderr, "petri: %s\n", err);
		return 1;
	}
	printf("petri: the daemon of %s is stopping\n", dir);
	return 0;
}
