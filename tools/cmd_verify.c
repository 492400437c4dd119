/* cmd_verify.c - petri commands for damaged stores: verify, salvage, and
 * store_child(), which runs the reading commands in a child process.
 *
 * liblmdb follows the page numbers of data.mdb without checking them, so a
 * damaged file can kill the process that reads it. What petri does about it:
 *   - q_open checks the header (q_check_file): a file cut short, empty, or
 *     not a regular file is an error before liblmdb sees it;
 *   - 'verify' walks every page with its own bounds-checked reads
 *     (q_check_pages), then decodes every record of every database, each
 *     database in a child process, and the cross checks (q_verify) in one
 *     more; a child killed by a signal is reported as damage;
 *   - 'salvage' reads each database in a child that sends every record that
 *     decodes through a pipe; the parent writes them into a new store and
 *     rebuilds what is derived from them; a child that dies loses only the
 *     rest of its database;
 *   - status, frontier, pick and export run in a child (store_child) whose
 *     output is passed on when it ends normally; its death by a signal
 *     becomes a message pointing at verify and salvage, exit 1.
 *
 * Exit codes: verify 0 whole, 1 damaged, 2 usage; salvage 0 the new store
 * was written, 1 nothing could be read, 2 usage.
 */
#include "cmds.h"
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SHOWN 20 /* damaged records listed per database */

enum { V_DIR, V_OUT, V_JSON };
const opt_spec verify_options[] = {
	{ "--dir", NULL, "EXP", V_DIR, "the experiment directory (required)" },
	OPT_LAST,
};
const opt_spec salvage_options[] = {
	{ "--dir", NULL, "EXP", V_DIR, "the damaged experiment directory (required)" },
	{ "--out", "-o", "NEW", V_OUT, "the new experiment directory (required; must not exist, or be empty)" },
	OPT_LAST,
};

static void parse(const cli_cmd *cmd, int argc, char **argv, const char **dir, const char **out)
{
	static char prog[32];
	snprintf(prog, sizeof prog, "petri %s", cmd->name);
	cli_prog = prog;
	opt_iter it;
	cmd_opts(&it, cmd, argc, argv);
	for (int k; (k = opt_next(&it)) != OPT_END;)
		switch (k) {
		case V_DIR: *dir = it.val; break;
		case V_OUT: *out = it.val; break;
		default: die(2, "unexpected argument '%s'\nusage: %s", it.val, cmd->usage);
		}
	if (!*dir)
		die(2, "--dir EXP is required (the experiment directory)\nusage: %s", cmd->usage);
}

/* ---- children ---- */
/* Fork with the child's standard output into a pipe. Returns the pid (0 in
 * the child); *rfd gets the read end in the parent. */
static pid_t child_with_pipe(int *rfd)
{
	int fd[2];
	if (pipe(fd))
		die(1, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die(1, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(fd[0]);
		if (dup2(fd[1], STDOUT_FILENO) < 0)
			_exit(1);
		close(fd[1]);
		return 0;
	}
	close(fd[1]);
	*rfd = fd[0];
	return pid;
}

/* everything the child writes, until it closes the pipe (malloc'd) */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		die(1, "out of memory");
	for (;;) {
		if (n + 1 >= cap) { /* room for a final NUL */
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				die(1, "out of memory");
			buf = nb;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	*len = n;
	return buf;
}

static int wait_child(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die(1, "waitpid: %s", strerror(errno));
	return st;
}

/* the parent's side: all the child wrote (malloc'd), then its wait status */
static char *child_output(pid_t pid, int rfd, size_t *len, int *st)
{
	char *out = read_all(rfd, len);
	*st = wait_child(pid);
	return out;
}

/* the child's side: close the store, flush what it printed, exit 3 on rc */
static void child_exit(q_store *s, int rc) __attribute__((noreturn));
static void child_exit(q_store *s, int rc)
{
	q_close(s);
	fflush(stdout);
	_exit(rc ? 3 : 0);
}

int store_child(const char *dir, int *code)
{
	int rfd;
	pid_t pid = child_with_pipe(&rfd);
	if (pid == 0)
		return 0;
	size_t len;
	int st;
	char *out = child_output(pid, rfd, &len, &st);
	if (WIFSIGNALED(st)) {
		free(out);
		fprintf(stderr,
			"%s: %s/data.mdb is damaged (the reader died of %s); 'petri verify --dir %s' shows the damage, "
			"'petri salvage --dir %s -o NEW' copies what is left\n",
			cli_prog, dir, q_signame(WTERMSIG(st)), dir, dir);
		*code = 1;
		return 1;
	}
	if (len && fwrite(out, 1, len, stdout) != len)
		die(1, "writing standard output failed: %s", strerror(errno));
	free(out);
	*code = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	return 1;
}

static q_store *open_rdonly(const char *dir)
{
	q_store *s;
	q_options o = { Q_RDONLY, 0, 0 };
	char err[600];
	int rc = q_open(&s, dir, &o, err, sizeof err);
	if (rc)
		die(1, "%s (%s)", err, q_strerror(rc));
	return s;
}

/* ---- verify ---- */
static void page_problem(const char *msg, void *ud)
{
	uint64_t *n = ud;
	if ((*n)++ < 50)
		printf("damaged: %s\n", msg);
}

struct vcount {
	uint64_t good, bad;
};

static int verify_record(const void *key, size_t klen, const void *val, size_t vlen, int bad, const char *why,
			 void *ud)
{
	struct vcount *c = ud;
	(void)key, (void)klen, (void)val, (void)vlen;
	if (!bad) {
		c->good++;
		return 0;
	}
	if (c->bad++ < MAX_SHOWN)
		printf("damaged: %s\n", why);
	return 0;
}

/* the records of database db, in a child; its last line is "n good bad" */
static int verify_db(const char *dir, int db, uint64_t *good, uint64_t *bad)
{
	int rfd;
	pid_t pid = child_with_pipe(&rfd);
	if (pid == 0) {
		q_store *s = open_rdonly(dir);
		struct vcount c = { 0, 0 };
		int rc = q_records_each(s, db, verify_record, &c);
		if (rc)
			printf("damaged: database '%s': %s (%s)\n", q_data_name(db), q_errmsg(s), q_strerror(rc));
		printf("n %llu %llu\n", (unsigned long long)c.good, (unsigned long long)c.bad);
		child_exit(s, rc);
	}
	size_t len;
	int st;
	char *out = child_output(pid, rfd, &len, &st);
	/* the damaged records, then "n GOOD BAD" when the child got to the end */
	unsigned long long g = 0, b = 0;
	char *tail = NULL;
	if (len && out[len - 1] == '\n') {
		out[len - 1] = 0;
		tail = strrchr(out, '\n');
		tail = tail ? tail + 1 : out;
		if (sscanf(tail, "n %llu %llu", &g, &b) == 2)
			*tail = 0;
		else
			out[len - 1] = '\n', tail = NULL;
	}
	fputs(out, stdout);
	if (!tail && len && out[len - 1] != '\n')
		putchar('\n');
	free(out);
	*good += g, *bad += b;
	if (WIFSIGNALED(st)) {
		printf("damaged: database '%s': reading it died of %s after %llu records\n", q_data_name(db),
		       q_signame(WTERMSIG(st)), g + b);
		return 1;
	}
	return !WIFEXITED(st) || WEXITSTATUS(st) || b;
}

/* q_verify in a child: the cross checks (counts, index, pairs) */
static int verify_whole(const char *dir, uint64_t *records)
{
	int rfd;
	pid_t pid = child_with_pipe(&rfd);
	if (pid == 0) {
		q_store *s = open_rdonly(dir);
		uint64_t n = 0;
		int rc = q_verify(s, &n);
		if (rc)
			printf("damaged: %s (%s)\n", q_errmsg(s), q_strerror(rc));
		else
			printf("%llu\n", (unsigned long long)n);
		child_exit(s, rc);
	}
	size_t len;
	int st;
	char *out = child_output(pid, rfd, &len, &st);
	int ok = WIFEXITED(st) && !WEXITSTATUS(st);
	if (ok) {
		out[len ? len - 1 : 0] = 0;
		*records = strtoull(out, NULL, 10);
	} else if (len) {
		fwrite(out, 1, len, stdout);
	}
	free(out);
	if (WIFSIGNALED(st))
		printf("damaged: the whole-store check died of %s\n", q_signame(WTERMSIG(st)));
	return !ok;
}

int cmd_verify(const cli_cmd *cmd, int argc, char **argv)
{
	const char *dir = NULL, *out = NULL;
	parse(cmd, argc, argv, &dir, &out);
	char err[600];
	struct stat st;
	if (stat(dir, &st))
		die(1, "%s: no such experiment directory (%s)", dir, strerror(errno));
	uint64_t pages = 0, problems = 0, shown = 0;
	int rc = q_check_pages(dir, page_problem, &shown, &pages, &problems, err, sizeof err);
	if (rc && !problems) { /* the header: nothing else can be read */
		if (rc == Q_ENOTFOUND)
			die(1, "%s is not a petri experiment: no store in it (no data.mdb)", dir);
		printf("damaged: %s\n", err);
		printf("%s: DAMAGED: the store's header is unusable; nothing can be read from it\n", dir);
		return 1;
	}
	if (problems > shown)
		printf("damaged: ... %llu more problems in the pages\n", (unsigned long long)(problems - shown));
	int bad = problems != 0;
	uint64_t good = 0, badrec = 0, records = 0;
	for (int db = 0; db < Q_NDATA; db++)
		bad |= verify_db(dir, db, &good, &badrec);
	if (!bad)
		bad = verify_whole(dir, &records);
	if (bad) {
		printf("%s: DAMAGED: %llu problem%s in %llu pages, %llu damaged record%s, %llu records read intact\n"
		       "'petri salvage --dir %s -o NEW' copies every record that verifies into a new store\n",
		       dir, (unsigned long long)problems, problems == 1 ? "" : "s", (unsigned long long)pages,
		       (unsigned long long)badrec, badrec == 1 ? "" : "s", (unsigned long long)good, dir);
		return 1;
	}
	printf("%s: ok: %llu pages, %llu records, all verified\n", dir, (unsigned long long)pages,
	       (unsigned long long)records);
	return 0;
}

/* ---- salvage ---- */
/* the child's frames: kind (1 record, 2 damaged), key length, value length
 * (u32 each, native order: the pipe stays on this machine), key, value (for
 * a damaged record: the reason) */
static int send_all(const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(STDOUT_FILENO, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w, n -= (size_t)w;
	}
	return 0;
}

static int send_record(const void *key, size_t klen, const void *val, size_t vlen, int bad, const char *why,
		       void *ud)
{
	(void)ud;
	uint32_t h[3] = { bad ? 2u : 1u, (uint32_t)klen, bad ? (uint32_t)strlen(why) : (uint32_t)vlen };
	if (send_all(h, sizeof h) || send_all(key, klen) || send_all(bad ? why : val, h[2]))
		_exit(4);
	return 0;
}

struct batch {
	int db;
	const char *buf;
	size_t len;
	uint64_t copied;
	uint64_t refused; /* read intact, but the new store's own decode refused it */
};

static int put_batch(q_txn *t, void *ud)
{
	struct batch *b = ud;
	b->copied = b->refused = 0; /* q_write may run this again */
	for (size_t at = 0; at + 12 <= b->len;) {
		uint32_t h[3];
		memcpy(h, b->buf + at, sizeof h);
		if (at + 12 + (size_t)h[1] + h[2] > b->len)
			break;
		const char *key = b->buf + at + 12, *val = key + h[1];
		at += 12 + (size_t)h[1] + h[2];
		if (h[0] != 1)
			continue;
		int rc = q_salvage_put(t, b->db, key, h[1], val, h[2]);
		if (rc == Q_ECORRUPT || rc == Q_EVERSION) {
			/* refused before anything of it was written: skipped */
			b->refused++;
			continue;
		}
		if (rc)
			return rc;
		b->copied++;
	}
	return 0;
}

static int finish(q_txn *t, void *ud) { return q_salvage_finish(t, ud); }

static int dir_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *de;
	int empty = 1;
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

int cmd_salvage(const cli_cmd *cmd, int argc, char **argv)
{
	const char *dir = NULL, *out = NULL;
	parse(cmd, argc, argv, &dir, &out);
	if (!out)
		die(2, "-o NEW is required (the new experiment directory)\nusage: %s", cmd->usage);
	struct stat st;
	if (stat(out, &st) == 0 && !(S_ISDIR(st.st_mode) && dir_empty(out)))
		die(2, "refusing to write %s: it exists and is not an empty directory", out);
	if (stat(dir, &st))
		die(1, "%s: no such experiment directory (%s)", dir, strerror(errno));
	char err[600];
	int rc = q_check_file(dir, NULL, err, sizeof err);
	if (rc == Q_ENOTFOUND)
		die(1, "%s is not a petri experiment: no store in it (no data.mdb)", dir);
	if (rc)
		die(1, "%s; nothing can be read from it", err);

	q_store *ns;
	q_options o = { Q_CREATE, 0, 0 };
	if ((rc = q_open(&ns, out, &o, err, sizeof err)))
		die(1, "cannot create the new store: %s (%s)", err, q_strerror(rc));
	uint64_t total = 0, lost = 0;
	int any_read = 0;
	for (int db = 0; db < Q_NDATA; db++) {
		int rfd;
		pid_t pid = child_with_pipe(&rfd);
		if (pid == 0) {
			q_store *s = open_rdonly(dir);
			child_exit(s, q_records_each(s, db, send_record, NULL));
		}
		size_t len;
		int wst;
		char *buf = child_output(pid, rfd, &len, &wst);
		uint64_t skipped = 0;
		const char *first = NULL;
		uint32_t first_len = 0;
		for (size_t at = 0; at + 12 <= len;) {
			uint32_t h[3];
			memcpy(h, buf + at, sizeof h);
			if (at + 12 + (size_t)h[1] + h[2] > len)
				break;
			if (h[0] == 2 && !skipped++)
				first = buf + at + 12 + h[1], first_len = h[2];
			at += 12 + (size_t)h[1] + h[2];
		}
		struct batch b = { db, buf, len, 0, 0 };
		if ((rc = q_write(ns, put_batch, &b)))
			die(1, "writing %s: %s (%s)", out, q_errmsg(ns), q_strerror(rc));
		skipped += b.refused;
		printf("%-10s %6llu copied, %6llu skipped", q_data_name(db), (unsigned long long)b.copied,
		       (unsigned long long)skipped);
		if (b.refused)
			printf(" (%llu of them refused by the new store)", (unsigned long long)b.refused);
		if (first)
			printf(" (first: %.*s)", (int)first_len, first);
		if (WIFSIGNALED(wst))
			printf("; reading it died of %s: the rest of it is lost", q_signame(WTERMSIG(wst)));
		else if (!WIFEXITED(wst) || WEXITSTATUS(wst))
			printf("; reading it stopped early: the rest of it is lost");
		else
			any_read = 1;
		printf("\n");
		total += b.copied, lost += skipped;
		any_read |= b.copied > 0;
		free(buf);
	}
	uint64_t dropped = 0, records = 0;
	if ((rc = q_write(ns, finish, &dropped)))
		die(1, "writing %s: %s (%s)", out, q_errmsg(ns), q_strerror(rc));
	if (dropped)
		printf("dropped %llu record%s that did not check out in the new store (a model or summary whose "
		       "other half was lost, or a record found under another key)\n",
		       (unsigned long long)dropped, dropped == 1 ? "" : "s");
	rc = q_verify(ns, &records);
	q_close(ns);
	if (rc)
		die(1, "the new store %s does not verify: %s", out, q_strerror(rc));
	if (!any_read) {
		printf("nothing could be read from %s\n", dir);
		return 1;
	}
	printf("%s: %llu records copied, %llu skipped; the new store verifies (%llu records)\n", out,
	       (unsigned long long)(total - dropped), (unsigned long long)(lost + dropped),
	       (unsigned long long)records);
	return 0;
}
