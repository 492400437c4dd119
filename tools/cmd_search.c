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

static int fail(int code, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "petri: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return code;
}

/* "30m", "90s", "1.5h", "3600" -> seconds; -1 when malformed */
/* a budget: at most a year */
static double parse_duration(const char *s)
{
	double v;
	return num_parse(s, NUM_TIME, 0, 366 * 86400.0, &v) ? -1 : v;
}

static int num(const char *opt, const char *v, double lo, double hi, double *out)
{
	if (num_parse(v, NUM_PLAIN, lo, hi, out)) {
		fprintf(stderr, "petri: option %s: '%s' is not a number in [%g, %g]\n", opt, v, lo, hi);
		return -1;
	}
	return 0;
}

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

int cmd_search(int argc, char **argv)
{
	petrid_opts o;
	petrid_defaults(&o);
	int detach = 0;
	const char *data = NULL;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		double x;
#define NEED() do { if (!v) return fail(2, "option %s needs a value%s", a, ""); i++; } while (0)
#define NUM(lo, hi) do { NEED(); if (num(a, v, lo, hi, &x)) return 2; } while (0)
		if (!strcmp(a, "--dir")) { NEED(); o.dir = v; }
		else if (!strcmp(a, "--from")) { NEED(); o.from = v; }
		else if (!strcmp(a, "--shape")) { NEED(); o.shape = v; }
		else if (!strcmp(a, "--budget")) {
			NEED();
			if ((o.budget_s = parse_duration(v)) < 0)
				return fail(2, "--budget: '%s' is not a duration (e.g. 30m, 90s, 1.5h)%s", v, "");
			o.set |= PETRID_SET_BUDGET;
		}
		else if (!strcmp(a, "--jobs")) { NUM(1, 1e9); o.budget_jobs = (long)x; o.set |= PETRID_SET_JOBS; }
		else if (!strcmp(a, "--max-mflops")) { NUM(0, 1e12); o.max_mflops = x; o.set |= PETRID_SET_MFLOPS; }
		else if (!strcmp(a, "--max-depth")) { NUM(0, 1e6); o.max_depth = (int)x; }
		else if (!strcmp(a, "--workers")) { NUM(1, 256); o.workers = (int)x; o.set |= PETRID_SET_WORKERS; }
		else if (!strcmp(a, "--threads-per-worker")) { NUM(1, 256); o.threads = (int)x; o.set |= PETRID_SET_THREADS; }
		else if (!strcmp(a, "--seed")) { NUM(0, 2147483647.0); o.seed = (uint64_t)x; }
		else if (!strcmp(a, "--random-growth")) o.random_growth = 1;
		else if (!strcmp(a, "--detach")) detach = 1;
		else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) o.quiet = 1;
		else if (!strcmp(a, "--val")) { NUM(1, 1e9); o.nval = (int)x; }
		else if (!strcmp(a, "--batch")) { NUM(1, 65536); o.batch = (int)x; }
		else if (!strcmp(a, "--lr")) { NUM(1e-6, 10); o.lr = (float)x; }
		else if (!strcmp(a, "--seed-epochs")) { NUM(1e-3, 1000); o.seed_epochs = x; }
		else if (!strcmp(a, "--cand-epochs")) { NUM(1e-3, 1000); o.cand_epochs = x; }
		else if (!strcmp(a, "--child-epochs")) { NUM(1e-3, 1000); o.child_epochs = x; }
		else if (!strcmp(a, "--filters")) { NUM(1, 4096); o.seed_net.filters = (int)x; }
		else if (!strcmp(a, "--stages")) { NUM(1, 8); o.seed_net.stages = (int)x; }
		else if (!strcmp(a, "--blocks")) { NUM(0, 64); o.seed_net.blocks = (int)x; }
		else if (!strcmp(a, "--k")) { NUM(1, 16); o.grow.k = (int)x; }
		else if (!strcmp(a, "--ops")) {
			NEED();
			if (grow_ops_parse(v, &o.grow.ops))
				return fail(2, "--ops: '%s' names an unknown op%s", v, "");
		}
		else if (a[0] == '-' && a[1])
			return fail(2, "unknown option %s (see 'petri help')%s", a, "");
		else if (!data) { data = a; o.set |= PETRID_SET_DATA; }
		else
			return fail(2, "search takes one data set; '%s' is extra%s", a, "");
#undef NUM
#undef NEED
	}
	o.data = data;
	if (!o.dir)
		return fail(2, "search needs --dir EXP (the experiment directory)%s%s", "", "");
	if (o.from) { /* refuse a bad model before anything is created */
		nn_model fm;
		char e2[1024];
		if (nn_model_load(&fm, o.from, e2, sizeof e2))
			return fail(1, "%s%s", e2, "");
		nn_model_free(&fm);
	}
	if (detach) {
		/* a second daemon would die on the store's lock while the socket
		 * of the first looked like its own start */
		if (daemon_listens(o.dir))
			return fail(1, "a search daemon already runs %s (petri status --dir %s)", o.dir, o.dir);
		if (mkdir(o.dir, 0755) && errno != EEXIST)
			return fail(1, "%s: cannot create: %s", o.dir, strerror(errno));
		char log[4096];
		snprintf(log, sizeof log, "%s/daemon.out", o.dir);
		pid_t pid = fork();
		if (pid < 0)
			return fail(1, "fork: %s%s", strerror(errno), "");
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
				return fail(1, "the daemon exited at start; see %s%s", log, "");
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
	char err[1024] = "";
	int rc = petrid_run(&o, err, sizeof err);
	if (rc) {
		fprintf(stderr, "petri: %s\n", err);
		return rc == PETRID_EINVAL ? 2 : 1;
	}
	return 0;
}

int cmd_stop(int argc, char **argv)
{
	const char *dir = NULL;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else
			return fail(2, "usage: petri stop --dir EXP%s%s", "", "");
	}
	if (!dir)
		return fail(2, "usage: petri stop --dir EXP%s%s", "", "");
	char err[1024];
	if (petrid_send_stop(dir, err, sizeof err)) {
		fprintf(stderr, "petri: %s\n", err);
		return 1;
	}
	printf("petri: the daemon of %s is stopping\n", dir);
	return 0;
}
