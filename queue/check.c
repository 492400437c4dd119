/* check.c - checks of a store file that never trust it: the header (LMDB's
 * two meta pages against the file's size) and a walk of every page of every
 * B-tree, done with pread() on the file, never through liblmdb.
 *
 * DESIGN
 * liblmdb maps data.mdb and follows the page numbers it finds there without
 * checking them: a file cut short makes it touch pages past the end of the
 * file (SIGBUS), flipped bytes send it through wild pointers (SIGSEGV), and a
 * FIFO in place of data.mdb blocks its open forever. So before a store is
 * handed to liblmdb, q_check_file() reads the header itself; and the page
 * walk of 'petri verify' (q_check_pages) reads every page through bounds
 * checks, so it reports damage instead of dying of it.
 *
 * The on-disk layout used here is LMDB's documented format (lmdb.h, format
 * version 1), for a 64-bit build:
 *   page header, 16 bytes: pgno u64, pad u16, flags u16, then either
 *     lower u16 + upper u16 (branch and leaf pages: the free space between
 *     the node offsets and the nodes) or pages u32 (overflow pages).
 *   page flags: branch 0x01, leaf 0x02, overflow 0x04, meta 0x08,
 *     leaf2 0x20, sub-page 0x40.
 *   meta page (pages 0 and 1), after the header: magic u32 0xBEEFC0DE,
 *     version u32 (1), address u64, map size u64, two database records
 *     (free pages, main) of 48 bytes each, last page number u64, txn id u64.
 *     The free-pages record's first u32 holds the page size. The meta with
 *     the larger txn id is the current one.
 *   database record, 48 bytes: pad u32, flags u16, depth u16, branch pages
 *     u64, leaf pages u64, overflow pages u64, entries u64, root u64
 *     (all ones: empty).
 *   node, at the offset its page lists: lo u16, hi u16, flags u16, key size
 *     u16, key, then data. A branch node's child page is lo | hi << 16 |
 *     flags << 32; a leaf node's data size is lo | hi << 16. Leaf node
 *     flags: data on overflow pages 0x01 (data is their first page number),
 *     a named database 0x02 (data is its 48-byte record), duplicates 0x04.
 * Named databases are the main database's leaf nodes with flag 0x02.
 */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MDB_FILE_MAGIC 0xBEEFC0DEu
#define MDB_FILE_VERSION 1
#define PG_HDR 16
#define PG_BRANCH 0x01
#define PG_LEAF 0x02
#define PG_OVERFLOW 0x04
#define PG_META 0x08
#define PG_LEAF2 0x20
#define PG_SUBP 0x40
#define ND_BIG 0x01
#define ND_SUB 0x02
#define ND_DUP 0x04
#define DBREC 48
#define META_DBS 24     /* offset of the two database records in a meta */
#define META_LAST 120   /* last page number */
#define META_TXN 128    /* txn id */
#define NO_PAGE UINT64_MAX
#define MAX_DEPTH 32    /* deeper than any real tree: a loop */
#define MAX_REPORTS 1000

static uint16_t rd16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const unsigned char *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m)) return "a directory";
	if (S_ISFIFO(m)) return "a FIFO";
	if (S_ISSOCK(m)) return "a socket";
	if (S_ISCHR(m)) return "a character device";
	if (S_ISBLK(m)) return "a block device";
	return "not a regular file";
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int full_pread(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* one meta page, read at offset off of the file: 0, or a message in why */
static int meta_parse(const unsigned char *pg, uint64_t pgno, q_file_info *m, char *why, size_t wlen)
{
	const unsigned char *mm = pg + PG_HDR;
	if (!(rd16(pg + 10) & PG_META))
		return fail(why, wlen, -1, "page %llu is not a meta page", (unsigned long long)pgno);
	if (rd32(mm) != MDB_FILE_MAGIC)
		return fail(why, wlen, -1, "meta page %llu has a bad magic number", (unsigned long long)pgno);
	if (rd32(mm + 4) != MDB_FILE_VERSION)
		return fail(why, wlen, -1, "meta page %llu has format version %u (this petri reads %d)",
			    (unsigned long long)pgno, rd32(mm + 4), MDB_FILE_VERSION);
	m->psize = rd32(mm + META_DBS);
	m->map_size = rd64(mm + 16);
	m->last_pg = rd64(mm + META_LAST);
	m->txnid = rd64(mm + META_TXN);
	m->free_root = rd64(mm + META_DBS + 40);
	m->main_root = rd64(mm + META_DBS + DBREC + 40);
	if (m->psize < 512 || m->psize > 65536 || (m->psize & (m->psize - 1)))
		return fail(why, wlen, -1, "meta page %llu gives a page size of %u bytes", (unsigned long long)pgno,
			    m->psize);
	if (m->last_pg < 1)
		return fail(why, wlen, -1, "meta page %llu gives last page %llu", (unsigned long long)pgno,
			    (unsigned long long)m->last_pg);
	if ((m->free_root != NO_PAGE && (m->free_root < 2 || m->free_root > m->last_pg)) ||
	    (m->main_root != NO_PAGE && (m->main_root < 2 || m->main_root > m->last_pg)))
		return fail(why, wlen, -1, "meta page %llu has a root page outside pages 2..%llu",
			    (unsigned long long)pgno, (unsigned long long)m->last_pg);
	return 0;
}

static int check_once(const char *path, q_file_info *info, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st))
		return fail(err, errlen, errno == ENOENT ? Q_ENOTFOUND : Q_EIO, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, Q_ECORRUPT, "%s is %s, not a store file", path, file_kind(st.st_mode));
	if (st.st_size == 0)
		return fail(err, errlen, Q_ECORRUPT, "%s is empty (0 bytes): the store is damaged", path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(err, errlen, Q_EIO, "%s: %s", path, strerror(errno));
	/* the second meta page starts at the page size, which only the first
	 * says: read 64 KB (the largest page) and find it */
	unsigned char *buf = calloc(1, 65536 + 4096);
	q_file_info m[2];
	char why[2][200];
	int rc = 0, ok[2] = { 0, 0 };
	if (!buf) {
		close(fd);
		return fail(err, errlen, Q_ENOMEM, "%s: out of memory", path);
	}
	uint64_t size = (uint64_t)st.st_size;
	size_t head = size < 65536 + 4096 ? (size_t)size : 65536 + 4096;
	if (full_pread(fd, buf, head, 0)) {
		rc = fail(err, errlen, Q_EIO, "%s: cannot read: %s", path, strerror(errno ? errno : EIO));
		goto out;
	}
	close(fd);
	fd = -1;
	if (head < PG_HDR + META_TXN + 8) {
		rc = fail(err, errlen, Q_ECORRUPT, "%s is damaged: %llu bytes, too short for a store header", path,
			  (unsigned long long)size);
		goto out;
	}
	ok[0] = !meta_parse(buf, 0, &m[0], why[0], sizeof why[0]);
	unsigned ps = ok[0] ? m[0].psize : 4096;
	if ((uint64_t)ps + PG_HDR + META_TXN + 8 > head) {
		snprintf(why[1], sizeof why[1], "the file ends before meta page 1");
	} else {
		ok[1] = !meta_parse(buf + ps, 1, &m[1], why[1], sizeof why[1]);
		if (ok[1] && ok[0] && m[1].psize != m[0].psize) {
			ok[1] = 0;
			snprintf(why[1], sizeof why[1], "the meta pages disagree on the page size");
		}
	}
	/* liblmdb reads both metas and refuses the file when either is bad */
	if (!ok[0] || !ok[1]) {
		rc = fail(err, errlen, Q_ECORRUPT, "%s is damaged: %s", path, !ok[0] ? why[0] : why[1]);
		goto out;
	}
	int cur = m[1].txnid > m[0].txnid;
	for (int i = 0; i < 2; i++) {
		uint64_t need = (m[i].last_pg + 1) * (uint64_t)m[i].psize;
		if (m[i].last_pg >= UINT64_MAX / m[i].psize || need > size) {
			rc = fail(err, errlen, Q_ECORRUPT,
				  "%s is damaged: %llu bytes, but its header says it holds %llu pages of %u bytes "
				  "(%llu bytes); it was cut short",
				  path, (unsigned long long)size, (unsigned long long)(m[i].last_pg + 1), m[i].psize,
				  (unsigned long long)need);
			goto out;
		}
	}
	if (info) {
		*info = m[cur];
		info->file_size = size;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

int q_check_file(const char *dir, q_file_info *info, char *err, size_t errlen)
{
	char path[4200];
	if (!dir || snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
		return fail(err, errlen, Q_EINVAL, "bad store directory");
	int rc = 0;
	/* a writer in another process may be writing a meta page as we read
	 * it: a bad header is only believed when it reads the same again */
	for (int tries = 0; tries < 3; tries++) {
		if (!(rc = check_once(path, info, err, errlen)) || rc != Q_ECORRUPT)
			return rc;
		usleep(20000);
	}
	return rc;
}

/* ---- the page walk ---- */
typedef struct {
	int fd;
	const q_file_info *fi;
	unsigned char *seen;    /* one bit per page */
	unsigned char *pg[MAX_DEPTH + 1]; /* a page buffer per level */
	void (*report)(const char *msg, void *ud);
	void *ud;
	uint64_t problems, pages;
	const char *db;         /* the database being walked */
	char dbname[80];
	int keyorder;           /* check that keys ascend (bytewise) */
	int in_main;            /* walking the main database (named databases are its leaves) */
	uint64_t leaves;        /* leaf nodes of this database */
} walk;

static void problem(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(walk *w, const char *fmt, ...)
{
	if (w->problems++ >= MAX_REPORTS || !w->report)
		return;
	char msg[400];
	int n = snprintf(msg, sizeof msg, "%s: ", w->db);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	va_end(ap);
	w->report(msg, w->ud);
}

/* mark pgno (and n - 1 following) as used; 0 if they were free */
static int mark(walk *w, uint64_t pgno, uint64_t n)
{
	int twice = 0;
	for (uint64_t p = pgno; p < pgno + n; p++) {
		if (w->seen[p >> 3] & (1u << (p & 7)))
			twice = 1;
		w->seen[p >> 3] |= (unsigned char)(1u << (p & 7));
	}
	w->pages += n;
	return twice;
}

static int tree(walk *w, uint64_t pgno, int depth, const unsigned char *lo_key, size_t lo_len);

static int keycmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : al < bl ? -1 : al > bl;
}

static void subdb(walk *w, const unsigned char *key, size_t klen, const unsigned char *rec, int depth)
{
	const char *saved = w->db;
	uint64_t saved_leaves = w->leaves;
	int saved_order = w->keyorder;
	char name[80];
	snprintf(name, sizeof name, "database '%.*s'", (int)(klen > 60 ? 60 : klen), (const char *)key);
	snprintf(w->dbname, sizeof w->dbname, "%s", name);
	w->db = w->dbname;
	w->leaves = 0;
	w->keyorder = 1;
	w->in_main = 0;
	uint64_t root = rd64(rec + 40), entries = rd64(rec + 32);
	uint16_t flags = rd16(rec + 4);
	if (flags & ~0x7eu)
		problem(w, "unknown flags 0x%x", flags);
	if (root != NO_PAGE && !tree(w, root, depth + 1, NULL, 0) && w->leaves != entries)
		problem(w, "its record says %llu entries, its pages hold %llu", (unsigned long long)entries,
			(unsigned long long)w->leaves);
	if (root == NO_PAGE && entries)
		problem(w, "no pages, but its record says %llu entries", (unsigned long long)entries);
	w->db = saved;
	w->leaves = saved_leaves;
	w->keyorder = saved_order;
	w->in_main = 1;
}

/* walk the tree under pgno; nonzero when the page itself could not be
 * used (its subtree is lost) */
static int tree(walk *w, uint64_t pgno, int depth, const unsigned char *lo_key, size_t lo_len)
{
	const q_file_info *fi = w->fi;
	unsigned ps = fi->psize;
	if (depth > MAX_DEPTH) {
		problem(w, "the tree is deeper than %d levels (a loop)", MAX_DEPTH);
		return 1;
	}
	if (pgno < 2 || pgno > fi->last_pg) {
		problem(w, "page %llu is outside the file's pages 2..%llu", (unsigned long long)pgno,
			(unsigned long long)fi->last_pg);
		return 1;
	}
	if (mark(w, pgno, 1)) {
		problem(w, "page %llu is reached twice", (unsigned long long)pgno);
		return 1;
	}
	unsigned char *pg = w->pg[depth];
	if (full_pread(w->fd, pg, ps, pgno * ps)) {
		problem(w, "page %llu cannot be read", (unsigned long long)pgno);
		return 1;
	}
	uint16_t flags = rd16(pg + 10);
	if (rd64(pg) != pgno) {
		problem(w, "page %llu says it is page %llu", (unsigned long long)pgno, (unsigned long long)rd64(pg));
		return 1;
	}
	int branch = flags & PG_BRANCH, leaf = flags & PG_LEAF;
	if (branch == leaf || (flags & (PG_OVERFLOW | PG_META | PG_SUBP))) {
		problem(w, "page %llu has flags 0x%x, neither a branch nor a leaf", (unsigned long long)pgno, flags);
		return 1;
	}
	if (flags & PG_LEAF2) { /* fixed-size keys: only in databases of duplicates, which petri has none of */
		problem(w, "page %llu is a page of fixed-size duplicates", (unsigned long long)pgno);
		return 1;
	}
	unsigned lower = rd16(pg + 12), upper = rd16(pg + 14);
	if (lower < PG_HDR || (lower - PG_HDR) % 2 || lower > upper || upper > ps) {
		problem(w, "page %llu has bad bounds (lower %u, upper %u)", (unsigned long long)pgno, lower, upper);
		return 1;
	}
	unsigned n = (lower - PG_HDR) / 2;
	if (!n) {
		problem(w, "page %llu has no nodes", (unsigned long long)pgno);
		return 1;
	}
	const unsigned char *prev = lo_key;
	size_t prev_len = lo_len;
	for (unsigned i = 0; i < n; i++) {
		unsigned off = rd16(pg + PG_HDR + 2 * i);
		if (off < upper || off + 8u > ps) {
			problem(w, "page %llu: node %u is outside the page", (unsigned long long)pgno, i);
			continue;
		}
		const unsigned char *nd = pg + off;
		unsigned ksize = rd16(nd + 6), nflags = rd16(nd + 4);
		uint64_t dsize = (uint64_t)rd16(nd) | (uint64_t)rd16(nd + 2) << 16;
		if (off + 8u + ksize > ps) {
			problem(w, "page %llu: the key of node %u runs past the page", (unsigned long long)pgno, i);
			continue;
		}
		const unsigned char *key = nd + 8;
		int first_branch_key = branch && i == 0; /* a branch's first key is implicit */
		if (w->keyorder && !first_branch_key && prev && keycmp(prev, prev_len, key, ksize) > 0)
			problem(w, "page %llu: node %u is out of key order", (unsigned long long)pgno, i);
		if (!first_branch_key)
			prev = key, prev_len = ksize;
		if (branch) {
			uint64_t child = dsize | (uint64_t)nflags << 32;
			tree(w, child, depth + 1, first_branch_key ? lo_key : key, first_branch_key ? lo_len : ksize);
			/* the child's buffer is another level's: this page is intact */
			continue;
		}
		w->leaves++;
		const unsigned char *data = key + ksize;
		if (nflags & ~(unsigned)(ND_BIG | ND_SUB | ND_DUP)) {
			problem(w, "page %llu: node %u has flags 0x%x", (unsigned long long)pgno, i, nflags);
			continue;
		}
		if (nflags & ND_BIG) {
			if (off + 8u + ksize + 8u > ps) {
				problem(w, "page %llu: node %u runs past the page", (unsigned long long)pgno, i);
				continue;
			}
			uint64_t ov = rd64(data);
			uint64_t npg = (dsize + PG_HDR + ps - 1) / ps;
			unsigned char hdr[PG_HDR];
			if (ov < 2 || ov > fi->last_pg || npg > fi->last_pg - ov + 1) {
				problem(w, "page %llu: node %u's value (%llu bytes) lies outside the file",
					(unsigned long long)pgno, i, (unsigned long long)dsize);
				continue;
			}
			if (full_pread(w->fd, hdr, PG_HDR, ov * ps) || rd64(hdr) != ov || !(rd16(hdr + 10) & PG_OVERFLOW) ||
			    rd32(hdr + 12) < npg) {
				problem(w, "page %llu: node %u's value is not on overflow pages at page %llu",
					(unsigned long long)pgno, i, (unsigned long long)ov);
				continue;
			}
			if (mark(w, ov, npg))
				problem(w, "overflow pages from %llu are reached twice", (unsigned long long)ov);
			continue;
		}
		if (off + 8u + ksize + dsize > ps) {
			problem(w, "page %llu: the value of node %u runs past the page", (unsigned long long)pgno, i);
			continue;
		}
		if (nflags & ND_SUB) {
			if (dsize != DBREC)
				problem(w, "page %llu: node %u is a database record of %llu bytes",
					(unsigned long long)pgno, i, (unsigned long long)dsize);
			else if (w->in_main)
				subdb(w, key, ksize, data, depth);
			else
				problem(w, "page %llu: node %u is a database inside a database", (unsigned long long)pgno, i);
		}
	}
	return 0;
}

int q_check_pages(const char *dir, void (*report)(const char *msg, void *ud), void *ud, uint64_t *pages,
		  uint64_t *problems, char *err, size_t errlen)
{
	q_file_info fi;
	int rc = q_check_file(dir, &fi, err, errlen);
	if (pages)
		*pages = 0;
	if (problems)
		*problems = 0;
	if (rc)
		return rc;
	char path[4200];
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	walk w = { .fi = &fi, .report = report, .ud = ud, .db = "free-page list" };
	w.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (w.fd < 0)
		return fail(err, errlen, Q_EIO, "%s: %s", path, strerror(errno));
	w.seen = calloc((size_t)(fi.last_pg / 8 + 1), 1);
	for (int i = 0; i <= MAX_DEPTH; i++)
		if (!(w.pg[i] = malloc(fi.psize)))
			w.seen = (free(w.seen), NULL);
	if (!w.seen) {
		rc = fail(err, errlen, Q_ENOMEM, "%s: out of memory for %llu pages", path,
			  (unsigned long long)fi.last_pg + 1);
		goto out;
	}
	mark(&w, 0, 2);
	if (fi.free_root != NO_PAGE)
		tree(&w, fi.free_root, 1, NULL, 0); /* integer keys: no byte order */
	w.db = "main database";
	w.keyorder = 1;
	w.in_main = 1;
	if (fi.main_root != NO_PAGE)
		tree(&w, fi.main_root, 1, NULL, 0);
	if (pages)
		*pages = w.pages;
	if (problems)
		*problems = w.problems;
	if (w.problems)
		rc = fail(err, errlen, Q_ECORRUPT, "%s is damaged: %llu problem%s in its pages", path,
			  (unsigned long long)w.problems, w.problems == 1 ? "" : "s");
out:
	for (int i = 0; i <= MAX_DEPTH; i++)
		free(w.pg[i]);
	free(w.seen);
	close(w.fd);
	return rc;
}
