/* cmd_serve.c - petri serve: the live dashboard of one or more experiments
 * over HTTP (libmicrohttpd), read-only.
 *
 * DESIGN
 * - The page (tools/serve/index.html: plain JS and SVG) is compiled into
 *   the binary (serve_page[], made by tools/embed.cmake); it polls the JSON
 *   API below. Nothing is fetched from elsewhere, nothing built at run time.
 * - The API answers with the writers of the store commands (cmds.h:
 *   store_status_json, store_frontier_json, store_pick_json) and the model
 *   card (card.c), so /api/pick gives what 'petri pick --json' gives for the
 *   same limits, byte for byte.
 * - Each answer that reads a store is made in a child process, as the
 *   commands read theirs (store_child): liblmdb may die on a damaged file,
 *   and the writers die() on a failure. The child writes the body to a pipe
 *   and its message to another; a clean exit is 200, exit 2 is 400, exit
 *   STORE_EXIT_NOTFOUND 404, anything else (a signal included) 500 with
 *   {"error": "..."}. The server itself never reads the store through
 *   liblmdb: only q_check_file, which never trusts the file.
 * - Answers are cached per experiment and request, keyed by the store's
 *   last transaction (q_check_file reads it from the meta pages): a store
 *   that has not changed is not read again. Status also depends on whether
 *   the daemon lives, so it is kept for at most one second.
 * - Nothing of the request becomes a path: "exp" names one of the listed
 *   experiments exactly, model ids are checked to be ids (letters, digits,
 *   '_', '-', '.'; not starting with '.'), and unknown parameters are 400.
 * - Loopback only, unless --allow-remote: the dashboard has no login.
 */
#include "cmds.h"
#include "num.h"
#include "queue.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern const unsigned char serve_page[];
extern const size_t serve_page_len;

#define MAX_ROOTS 64
#define MAX_EXPS 256
#define CACHE_SLOTS 24          /* cached answers per experiment */
#define CHILD_TIMEOUT_MS 120000 /* a child that takes longer is killed: 500 */
#define MAX_BODY ((size_t)1 << 31)

enum { O_DIR, O_PORT, O_BIND, O_REMOTE, O_THREADS, O_QUIET };
const opt_spec serve_options[] = {
	{ "--dir", NULL, "EXP", O_DIR,
	  "an experiment, or a directory of experiments (repeat it for more; required)" },
	{ "--port", NULL, "N", O_PORT, "the TCP port (default 8080; 0: any free port, printed)" },
	{ "--bind", NULL, "ADDR", O_BIND, "the address to listen on (default 127.0.0.1)" },
	{ "--allow-remote", NULL, NULL, O_REMOTE, "allow --bind to an address other than loopback" },
	{ "--threads", NULL, "N", O_THREADS, "threads answering requests (default 2)" },
	{ "--quiet", NULL, NULL, O_QUIET, "no line per failed request on standard error" },
	OPT_LAST,
};

/* ---- answers: a body shared by the cache and the responses in flight ---- */
typedef struct {
	atomic_int refs;
	int status;            /* HTTP status */
	const char *type;      /* content type (a static string) */
	char *data;
	size_t len;
} body;

static body *body_new(int status, const char *type, char *data, size_t len)
{
	body *b = malloc(sizeof *b);
	if (!b) {
		free(data);
		return NULL;
	}
	atomic_init(&b->refs, 1);
	b->status = status, b->type = type, b->data = data, b->len = len;
	return b;
}

static void body_unref(void *cls)
{
	body *b = cls;
	if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
		free(b->data);
		free(b);
	}
}

/* {"error": msg} with status */
static body *error_body(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static body *error_body(int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char *data = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&data, &len);
	if (!f)
		return NULL;
	fprintf(f, "{\"error\": ");
	json_str(f, msg);
	fprintf(f, "}\n");
	if (fclose(f))
		return NULL;
	return body_new(status, "application/json", data, len);
}

/* ---- the experiments ---- */
typedef struct {
	char *data, *key; /* the body; the request it answers */
	uint64_t txn;
	struct timespec at;
	body *b;
} cache_slot;

typedef struct {
	char name[128];
	char dir[PATH_MAX];
	pthread_mutex_t lock; /* the cache */
	cache_slot cache[CACHE_SLOTS];
	unsigned next; /* the slot to replace */
} exp_entry;

static struct {
	const char *roots[MAX_ROOTS];
	int nroots;
	exp_entry *exps[MAX_EXPS];
	int nexps;
	pthread_mutex_t lock; /* roots and exps; an entry, once listed, stays */
	int quiet;
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int has_store(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;
	return snprintf(p, sizeof p, "%s/data.mdb", dir) < (int)sizeof p && stat(p, &st) == 0;
}

/* list dir as an experiment (once); srv.lock held */
static void add_exp(const char *dir)
{
	char real[PATH_MAX];
	if (!realpath(dir, real) || srv.nexps == MAX_EXPS)
		return;
	for (int i = 0; i < srv.nexps; i++)
		if (!strcmp(srv.exps[i]->dir, real))
			return;
	exp_entry *e = calloc(1, sizeof *e);
	if (!e)
		return;
	snprintf(e->dir, sizeof e->dir, "%s", real);
	const char *base = strrchr(real, '/');
	base = base && base[1] ? base + 1 : real;
	snprintf(e->name, sizeof e->name, "%.100s", base);
	for (int k = 2, clash = 1; clash; k++) { /* the same name twice: name-2, name-3 ... */
		clash = 0;
		for (int i = 0; i < srv.nexps; i++)
			if (!strcmp(srv.exps[i]->name, e->name))
				clash = 1;
		if (clash)
			snprintf(e->name, sizeof e->name, "%.100s-%d", base, k);
	}
	pthread_mutex_init(&e->lock, NULL);
	srv.exps[srv.nexps++] = e;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* each root: an experiment itself, or the experiments in it (a new one
 * appears on the next scan) */
static void scan(void)
{
	pthread_mutex_lock(&srv.lock);
	for (int r = 0; r < srv.nroots; r++) {
		const char *root = srv.roots[r];
		if (has_store(root)) {
			add_exp(root);
			continue;
		}
		DIR *d = opendir(root);
		if (!d)
			continue;
		char *names[MAX_EXPS];
		int n = 0;
		for (struct dirent *de; (de = readdir(d)) && n < MAX_EXPS;) {
			char p[PATH_MAX];
			if (de->d_name[0] == '.' || snprintf(p, sizeof p, "%s/%s", root, de->d_name) >= (int)sizeof p)
				continue;
			if (has_store(p) && (names[n] = strdup(p)))
				n++;
		}
		closedir(d);
		qsort(names, (size_t)n, sizeof names[0], by_name);
		for (int i = 0; i < n; i++) {
			add_exp(names[i]);
			free(names[i]);
		}
	}
	pthread_mutex_unlock(&srv.lock);
}

static exp_entry *find_exp(const char *name)
{
	exp_entry *e = NULL;
	pthread_mutex_lock(&srv.lock);
	for (int i = 0; i < srv.nexps && !e; i++)
		if (!strcmp(srv.exps[i]->name, name))
			e = srv.exps[i];
	pthread_mutex_unlock(&srv.lock);
	return e;
}

/* ---- answers made in a child ---- */
typedef enum { J_STATUS, J_FRONTIER, J_PICK, J_MODEL, J_EXPORT } job_kind;

typedef struct {
	job_kind kind;
	const char *dir, *id;
	int all, onnx;
	fr_limits l;
} job;

static int run_job(const job *j)
{
	switch (j->kind) {
	case J_STATUS: store_status_json(stdout, j->dir); return 0;
	case J_FRONTIER: store_frontier_json(stdout, j->dir, j->all); return 0;
	case J_PICK: store_pick_json(stdout, j->dir, &j->l); return 0; /* "fit": false is an answer too */
	case J_MODEL: store_model_json(stdout, j->dir, j->id); return 0;
	case J_EXPORT: store_export_bytes(stdout, j->dir, j->id, j->onnx); return 0;
	}
	return 1;
}

typedef struct {
	char *data;
	size_t len, cap;
} buf;

static int buf_read(buf *b, int fd, size_t limit)
{
	if (b->cap - b->len < 65536) {
		size_t cap = b->cap ? 2 * b->cap : 65536;
		char *p = realloc(b->data, cap + 1);
		if (!p)
			return -1;
		b->data = p, b->cap = cap;
	}
	ssize_t r = read(fd, b->data + b->len, b->cap - b->len);
	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (r == 0)
		return 0;
	b->len += (size_t)r;
	return b->len > limit ? -1 : 1;
}

static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;

/* the job's answer, made in a child */
static body *child_answer(const job *j, const char *type)
{
	int out[2], err[2];
	/* one fork at a time, with standard output flushed (a child must not
	 * write what the server had buffered); the pipes are made and their
	 * write ends closed under the same lock, so no other request's child
	 * holds them open (its answer would wait for that child's end) */
	pthread_mutex_lock(&fork_lock);
	if (pipe(out)) {
		pthread_mutex_unlock(&fork_lock);
		return error_body(500, "pipe: %s", strerror(errno));
	}
	if (pipe(err)) {
		close(out[0]), close(out[1]);
		pthread_mutex_unlock(&fork_lock);
		return error_body(500, "pipe: %s", strerror(errno));
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0)
			_exit(1);
		/* nothing of the server's: its sockets, other answers' pipes */
		if (syscall(SYS_close_range, 3u, ~0u, 0u))
			for (int fd = 3; fd < 65536; fd++)
				close(fd);
		cli_prog = "petri serve";
		cli_child_exit = 1;
		int rc = run_job(j);
		if (fflush(stdout))
			_exit(1);
		_exit(rc);
	}
	close(out[1]), close(err[1]);
	pthread_mutex_unlock(&fork_lock);
	if (pid < 0) {
		close(out[0]), close(err[0]);
		return error_body(500, "fork: %s", strerror(errno));
	}
	buf ob = { 0 }, eb = { 0 };
	struct pollfd p[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
	int open_fds = 2, failed = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (open_fds && !failed) {
		int n = poll(p, 2, 1000);
		if (n < 0 && errno != EINTR)
			failed = 1;
		for (int k = 0; k < 2 && n > 0; k++) {
			if (p[k].fd < 0 || !p[k].revents)
				continue;
			int r = buf_read(k ? &eb : &ob, p[k].fd, k ? 65536 : MAX_BODY);
			if (r < 0)
				failed = 1;
			if (r == 0) {
				close(p[k].fd);
				p[k].fd = -1;
				open_fds--;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > CHILD_TIMEOUT_MS)
			failed = 2;
	}
	if (failed)
		kill(pid, SIGKILL);
	for (int k = 0; k < 2; k++)
		if (p[k].fd >= 0)
			close(p[k].fd);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	/* the message: what the child said last, without its prefix */
	char msg[1024] = "";
	if (eb.len) {
		eb.data[eb.len] = 0;
		char *m = eb.data;
		while (eb.len && (m[eb.len - 1] == '\n'))
			m[--eb.len] = 0;
		char *last = strrchr(m, '\n');
		last = last ? last + 1 : m;
		if (!strncmp(last, "petri serve: ", 13))
			last += 13;
		snprintf(msg, sizeof msg, "%s", last);
	}
	free(eb.data);
	body *b;
	if (failed == 2)
		b = error_body(500, "reading %s took more than %d s; the answer was abandoned", j->dir,
			       CHILD_TIMEOUT_MS / 1000);
	else if (failed)
		b = error_body(500, "reading %s failed (out of memory, or an answer too large)", j->dir);
	else if (WIFSIGNALED(st))
		b = error_body(500, "%s/data.mdb is damaged: reading it was killed by signal %d (%s); "
				    "'petri verify --dir %s' shows the damage",
			       j->dir, WTERMSIG(st), strsignal(WTERMSIG(st)), j->dir);
	else if (WEXITSTATUS(st) == 0) {
		b = body_new(200, type, ob.data, ob.len);
		ob.data = NULL;
	} else if (WEXITSTATUS(st) == 2)
		b = error_body(400, "%s", msg[0] ? msg : "bad request");
	else if (WEXITSTATUS(st) == STORE_EXIT_NOTFOUND)
		b = error_body(404, "%s", msg[0] ? msg : "not found");
	else
		b = error_body(500, "%s", msg[0] ? msg : "the store could not be read");
	free(ob.data);
	return b;
}

/* ---- the cache ---- */
static double since(const struct timespec *t)
{
	struct timespec n;
	clock_gettime(CLOCK_MONOTONIC, &n);
	return (double)(n.tv_sec - t->tv_sec) + 1e-9 * (double)(n.tv_nsec - t->tv_nsec);
}

/* the job's answer: cached while the store's last transaction is the
 * same (and younger than max_age seconds when max_age > 0) */
static body *answer(exp_entry *e, const job *j, const char *key, const char *type, double max_age, int cache)
{
	q_file_info info;
	char err[600];
	int rc = q_check_file(e->dir, &info, err, sizeof err);
	if (rc == Q_ENOTFOUND)
		return error_body(404, "experiment '%s' has no store (no data.mdb in %s)", e->name, e->dir);
	if (rc)
		return error_body(500, "%s; 'petri verify --dir %s' shows the damage", err, e->dir);
	if (cache) {
		pthread_mutex_lock(&e->lock);
		for (int i = 0; i < CACHE_SLOTS; i++) {
			cache_slot *c = &e->cache[i];
			if (c->b && c->txn == info.txnid && !strcmp(c->key, key) && (max_age <= 0 || since(&c->at) < max_age)) {
				atomic_fetch_add(&c->b->refs, 1);
				body *b = c->b;
				pthread_mutex_unlock(&e->lock);
				return b;
			}
		}
		pthread_mutex_unlock(&e->lock);
	}
	body *b = child_answer(j, type);
	if (!cache || !b || b->status >= 500)
		return b;
	char *k = strdup(key);
	if (!k)
		return b;
	pthread_mutex_lock(&e->lock);
	cache_slot *c = NULL;
	for (int i = 0; i < CACHE_SLOTS && !c; i++)
		if (e->cache[i].b && !strcmp(e->cache[i].key, key))
			c = &e->cache[i]; /* the same request: replace it */
	if (!c)
		c = &e->cache[e->next++ % CACHE_SLOTS];
	body_unref(c->b);
	free(c->key);
	c->key = k, c->txn = info.txnid, c->b = b;
	clock_gettime(CLOCK_MONOTONIC, &c->at);
	atomic_fetch_add(&b->refs, 1);
	pthread_mutex_unlock(&e->lock);
	return b;
}

/* ---- requests ---- */
typedef struct {
	const char *allowed[8];
	const char *bad; /* the first parameter not allowed */
	const char *nul; /* the first one holding a NUL byte (%00) */
	const char *dup; /* the first allowed one given twice */
	int toolong;     /* the allowed ones do not fit in key */
	unsigned seen;   /* bit i: allowed[i] given */
	char key[512];   /* the allowed ones, in order, for the cache */
} params;

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *k, size_t klen, const char *v,
				   size_t vlen)
{
	(void)kind;
	params *p = cls;
	if ((strlen(k) != klen || (v && strlen(v) != vlen)) && !p->nul)
		p->nul = k;
	for (int i = 0; p->allowed[i]; i++)
		if (!strcmp(k, p->allowed[i])) {
			if ((p->seen >> i) & 1u) {
				if (!p->dup)
					p->dup = k;
				return MHD_YES;
			}
			p->seen |= 1u << i;
			size_t n = strlen(p->key);
			int w = snprintf(p->key + n, sizeof p->key - n, "&%s=%s", k, v ? v : "");
			if (w < 0 || (size_t)w >= sizeof p->key - n)
				p->toolong = 1;
			return MHD_YES;
		}
	if (!p->bad)
		p->bad = k;
	return MHD_YES;
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static int id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n < 1 || n >= Q_IDLEN || id[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '-' || ch == '.'))
			return 0;
	}
	return 1;
}

static body *experiments_body(void)
{
	scan();
	char *data = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&data, &len);
	if (!f)
		return NULL;
	fprintf(f, "{\"experiments\": [");
	pthread_mutex_lock(&srv.lock);
	int n = srv.nexps;
	exp_entry *list[MAX_EXPS];
	memcpy(list, srv.exps, (size_t)n * sizeof list[0]);
	pthread_mutex_unlock(&srv.lock);
	for (int i = 0; i < n; i++) {
		q_file_info info;
		char err[600];
		int rc = q_check_file(list[i]->dir, &info, err, sizeof err);
		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		json_str(f, list[i]->name);
		fprintf(f, ", \"dir\": ");
		json_str(f, list[i]->dir);
		if (rc) {
			fprintf(f, ", \"txn\": null, \"error\": ");
			json_str(f, err);
		} else {
			fprintf(f, ", \"txn\": %llu, \"error\": null", (unsigned long long)info.txnid);
		}
		fprintf(f, "}");
	}
	fprintf(f, "]}\n");
	if (fclose(f))
		return NULL;
	return body_new(200, "application/json", data, len);
}

/* the limits of /api/pick, as 'petri pick' reads its options */
static body *pick_limits(struct MHD_Connection *c, fr_limits *l)
{
	static const struct { const char *name; int whole; } lim[] = {
		{ "max_macs", 1 }, { "max_mflops", 0 }, { "max_params", 1 }, { "max_mem", 1 }, { "max_latency_ms", 0 },
	};
	double v[5] = { 0 };
	memset(l, 0, sizeof *l);
	for (int i = 0; i < 5; i++) {
		const char *s = arg(c, lim[i].name);
		if (!s || !s[0])
			continue;
		int rc = lim[i].whole ? num_whole(s, NUM_SI, 1, 1e18, &v[i]) : num_parse(s, NUM_SI, 0, 1e18, &v[i]);
		if (rc || (!lim[i].whole && !(v[i] > 0)))
			return error_body(400, "%s: '%.100s' is not a %s", lim[i].name, s,
					  lim[i].whole ? "whole number >= 1 (k, M, G suffixes)" : "number > 0 (k, M, G suffixes)");
	}
	l->max_macs = (uint64_t)v[0], l->max_params = (uint64_t)v[2], l->max_mem_bytes = (uint64_t)v[3];
	l->max_latency_ms = v[4];
	l->metric = FR_METRIC_VAL;
	const char *m = arg(c, "metric");
	if (m && !strcmp(m, "test"))
		l->metric = FR_METRIC_TEST;
	else if (m && strcmp(m, "val"))
		return error_body(400, "metric: '%.100s' is neither val nor test", m);
	if (store_limit_mflops(l, v[1]))
		return error_body(400, "max_mflops: %g is below one multiply-add", v[1]);
	return NULL;
}

static body *route(struct MHD_Connection *c, const char *url, char *disp, size_t displen)
{
	if (!strcmp(url, "/") || !strcmp(url, "/index.html")) {
		body *b = body_new(200, "text/html; charset=utf-8", NULL, serve_page_len);
		return b; /* data NULL: the embedded page */
	}
	if (!strcmp(url, "/api/experiments")) {
		params p = { { NULL }, NULL, NULL, NULL, 0, 0, "" };
		MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, check_param, &p);
		if (p.bad)
			return error_body(400, "unknown parameter '%.100s' (/api/experiments takes none)", p.bad);
		return experiments_body();
	}
	static const struct {
		const char *path;
		job_kind kind;
		const char *allowed[8];
	} api[] = {
		{ "/api/status", J_STATUS, { "exp" } },
		{ "/api/frontier", J_FRONTIER, { "exp", "all" } },
		{ "/api/pick", J_PICK, { "exp", "max_macs", "max_mflops", "max_params", "max_mem", "max_latency_ms", "metric" } },
		{ "/api/model", J_MODEL, { "exp", "id" } },
		{ "/api/export", J_EXPORT, { "exp", "id", "format" } },
	};
	int k = -1;
	for (int i = 0; i < (int)(sizeof api / sizeof api[0]); i++)
		if (!strcmp(url, api[i].path))
			k = i;
	if (k < 0)
		return error_body(404, "no such page: %.200s (the API: /api/experiments, /api/status, /api/frontier, "
				       "/api/pick, /api/model, /api/export)", url);
	params p = { { NULL }, NULL, NULL, NULL, 0, 0, "" };
	memcpy(p.allowed, api[k].allowed, sizeof p.allowed);
	snprintf(p.key, sizeof p.key, "%s?", url);
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, check_param, &p);
	if (p.nul)
		return error_body(400, "parameter '%.100s' holds a NUL byte", p.nul);
	if (p.bad)
		return error_body(400, "unknown parameter '%.100s' for %s", p.bad, url);
	if (p.dup)
		return error_body(400, "parameter '%.100s' given twice", p.dup);
	if (p.toolong)
		return error_body(400, "the parameters are too long (%zu bytes at most)", sizeof p.key - 1);
	const char *name = arg(c, "exp");
	if (!name || !name[0])
		return error_body(400, "exp= is required: the name of an experiment (see /api/experiments)");
	exp_entry *e = find_exp(name);
	if (!e) {
		scan(); /* a new experiment in a directory of experiments */
		e = find_exp(name);
	}
	if (!e)
		return error_body(404, "no experiment named '%.200s' (see /api/experiments)", name);
	job j = { api[k].kind, e->dir, NULL, 0, 0, { 0 } };
	const char *type = "application/json";
	double max_age = 0;
	int cache = 1;
	switch (j.kind) {
	case J_STATUS: max_age = 1; break;
	case J_FRONTIER: {
		const char *all = arg(c, "all");
		if (all && strcmp(all, "0") && strcmp(all, "1"))
			return error_body(400, "all: '%.100s' is neither 0 nor 1", all);
		j.all = all && !strcmp(all, "1");
		break;
	}
	case J_PICK: {
		body *bad = pick_limits(c, &j.l);
		if (bad)
			return bad;
		break;
	}
	case J_MODEL:
	case J_EXPORT:
		j.id = arg(c, "id");
		if (!j.id || !j.id[0])
			return error_body(400, "id= is required: a model id (see /api/frontier)");
		if (!id_ok(j.id))
			return error_body(400, "id: '%.100s' is not a model id (letters, digits, '_', '-', '.', at most %d)",
					  j.id, Q_IDLEN - 1);
		if (j.kind == J_EXPORT) {
			const char *fmt = arg(c, "format");
			if (!fmt || (strcmp(fmt, "onnx") && strcmp(fmt, "petri")))
				return error_body(400, "format: '%.100s' is neither onnx nor petri", fmt ? fmt : "");
			j.onnx = !strcmp(fmt, "onnx");
			type = "application/octet-stream";
			cache = 0;
			/* the experiment's name may hold any byte: keep a safe file name */
			char safe[128];
			size_t n = 0;
			for (const char *s = e->name; *s && n < sizeof safe - 1; s++)
				safe[n++] = id_ok((char[]){ *s, 0 }) ? *s : '_';
			safe[n] = 0;
			snprintf(disp, displen, "attachment; filename=\"%s-%s.%s\"", safe, j.id, j.onnx ? "onnx" : "petri");
		}
		break;
	}
	return answer(e, &j, p.key, type, max_age, cache);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)cls, (void)version, (void)upload, (void)upload_size, (void)con_cls;
	char disp[300] = "";
	body *b;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		b = error_body(405, "method %.50s not allowed: the dashboard only reads (GET, HEAD)", method);
	else
		b = route(c, url, disp, sizeof disp);
	if (!b)
		return MHD_NO; /* out of memory: MHD drops the connection */
	struct MHD_Response *r;
	if (!b->data && b->status == 200) { /* the page */
		r = MHD_create_response_from_buffer(serve_page_len, (void *)serve_page, MHD_RESPMEM_PERSISTENT);
		body_unref(b);
		b = NULL;
	} else {
		r = MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->data, body_unref, b);
	}
	if (!r) {
		body_unref(b);
		return MHD_NO;
	}
	int status = b ? b->status : 200;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, b ? b->type : "text/html; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (disp[0] && status == 200)
		MHD_add_response_header(r, "Content-Disposition", disp);
	if (status == 405)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status >= 400 && !srv.quiet)
		fprintf(stderr, "petri serve: %s %.200s: %d %.*s", method, url, status, b ? (int)b->len : 0,
			b ? b->data : "");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (srv.quiet)
		return;
	fprintf(stderr, "petri serve: ");
	vfprintf(stderr, fmt, ap);
}

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int loopback(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
	const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
	if (IN6_IS_ADDR_LOOPBACK(x))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127;
}

int cmd_serve(const cli_cmd *cmd, int argc, char **argv)
{
	cli_prog = "petri serve";
	const char *bind_addr = "127.0.0.1";
	long port = 8080, threads = 2;
	int remote = 0;
	opt_iter it;
	cmd_opts(&it, cmd, argc, argv);
	for (int k; (k = opt_next(&it)) != OPT_END;)
		switch (k) {
		case O_DIR:
			if (srv.nroots == MAX_ROOTS)
				die(2, "--dir: at most %d", MAX_ROOTS);
			srv.roots[srv.nroots++] = it.val;
			break;
		case O_PORT: port = opt_whole(&it, 0, 65535); break;
		case O_BIND: bind_addr = it.val; break;
		case O_REMOTE: remote = 1; break;
		case O_THREADS: threads = opt_whole(&it, 1, 64); break;
		case O_QUIET: srv.quiet = 1; break;
		default: die(2, "unexpected argument '%s'\nusage: %s", it.val, cmd->usage);
		}
	if (!srv.nroots)
		die(2, "--dir EXP is required (an experiment, or a directory of experiments)\nusage: %s", cmd->usage);
	for (int r = 0; r < srv.nroots; r++) {
		struct stat st;
		if (stat(srv.roots[r], &st))
			die(1, "--dir %s: %s", srv.roots[r], strerror(errno));
		if (!S_ISDIR(st.st_mode))
			die(1, "--dir %s is not a directory", srv.roots[r]);
	}
	struct sockaddr_storage sa;
	memset(&sa, 0, sizeof sa);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (inet_pton(AF_INET, bind_addr, &((struct sockaddr_in *)&sa)->sin_addr) == 1) {
		sa.ss_family = AF_INET;
		((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, bind_addr, &((struct sockaddr_in6 *)&sa)->sin6_addr) == 1) {
		sa.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		die(2, "--bind: '%s' is not an IPv4 or IPv6 address", bind_addr);
	}
	if (!loopback(&sa)) {
		if (!remote)
			die(2, "--bind %s is not a loopback address: the dashboard has no login, so anyone who reaches "
			       "it reads the experiments and downloads their models; add --allow-remote to serve it "
			       "there anyway",
			    bind_addr);
		fprintf(stderr, "petri serve: warning: serving on %s, not loopback: anyone who reaches it reads the "
				"experiments and downloads their models (no login)\n",
			bind_addr);
	}
	scan();
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		MHD_OPTION_END);
	if (!d)
		die(1, "cannot listen on %s port %ld: %s", bind_addr, port, errno ? strerror(errno) : "libmicrohttpd failed");
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	unsigned bound = di ? di->port : (unsigned)port;
	pthread_mutex_lock(&srv.lock);
	printf("petri serve: http://%s%s%s:%u/ (%d experiment%s", sa.ss_family == AF_INET6 ? "[" : "", bind_addr,
	       sa.ss_family == AF_INET6 ? "]" : "", bound, srv.nexps, srv.nexps == 1 ? "" : "s");
	for (int i = 0; i < srv.nexps; i++)
		printf("%s%s", i ? ", " : ": ", srv.exps[i]->name);
	printf(")\n");
	pthread_mutex_unlock(&srv.lock);
	fflush(stdout);
	struct sigaction act;
	memset(&act, 0, sizeof act);
	act.sa_handler = on_signal;
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	while (!stop_flag)
		sleep(1); /* a signal ends it early */
	MHD_stop_daemon(d);
	fprintf(stderr, "petri serve: stopped\n");
	return 0;
}
