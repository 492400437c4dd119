/* cli.c - what every petri command shares (cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *cli_prog = "petri";

int cli_child_exit;

void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", cli_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (cli_child_exit) {
		fflush(NULL);
		_exit(code);
	}
	exit(code);
}

/* same file (device and inode) as path b, when both exist */
static int same_file(const struct stat *sa, const char *b)
{
	struct stat sb;
	return b && stat(b, &sb) == 0 && sa->st_dev == sb.st_dev && sa->st_ino == sb.st_ino;
}

void out_guard(const char *out, const char *const *inputs, int nin, const char *dir)
{
	if (!out || !strcmp(out, "-"))
		return;
	struct stat so;
	if (stat(out, &so) == 0) {
		if (S_ISDIR(so.st_mode))
			die(2, "%s: is a directory; give a file to write", out);
		for (int i = 0; i < nin; i++)
			if (same_file(&so, inputs[i]))
				die(2, "refusing to write %s: it is the input %s", out, inputs[i]);
	}
	if (!dir)
		return;
	/* the store's files, existing or not: compare the output's directory
	 * and name with the experiment directory's */
	static const char *const store[] = { "data.mdb", "lock.mdb" };
	char path[4096];
	for (size_t i = 0; i < sizeof store / sizeof store[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, store[i]);
		if (stat(out, &so) == 0 && same_file(&so, path))
			die(2, "refusing to write %s: it is the experiment's store (%s)", out, path);
	}
	const char *base = strrchr(out, '/');
	base = base ? base + 1 : out;
	for (size_t i = 0; i < sizeof store / sizeof store[0]; i++)
		if (!strcmp(base, store[i])) {
			char od[4096];
			snprintf(od, sizeof od, "%.*s", base == out ? 1 : (int)(base - out - 1), base == out ? "." : out);
			struct stat sd, se;
			if (stat(od[0] ? od : "/", &sd) == 0 && stat(dir, &se) == 0 && sd.st_dev == se.st_dev &&
			    sd.st_ino == se.st_ino)
				die(2, "refusing to write %s: it is the experiment's store", out);
		}
}

static void tmp_name(char *buf, size_t n, const char *path)
{
	if ((size_t)snprintf(buf, n, "%s.tmp%d", path, (int)getpid()) >= n)
		die(1, "%s: cannot write: path too long", path);
}

FILE *out_open(const char *path)
{
	char tmp[4096 + 16];
	tmp_name(tmp, sizeof tmp, path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die(1, "%s: cannot write: %s", path, strerror(errno));
	return f;
}

void out_commit(FILE *f, const char *path, const char *why)
{
	char tmp[4096 + 16];
	tmp_name(tmp, sizeof tmp, path);
	int bad = ferror(f) || why, e = errno;
	if (fflush(f) || fsync(fileno(f)))
		bad = 1, e = errno;
	if (fclose(f) && !bad)
		bad = 1, e = errno;
	if (!bad && rename(tmp, path))
		bad = 1, e = errno;
	if (bad) {
		unlink(tmp);
		die(1, "%s: cannot write: %s", path, why ? why : e ? strerror(e) : "write error");
	}
}
