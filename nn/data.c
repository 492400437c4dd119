/* data.c - IDX (plain or gzip) and CSV data sets, splits, batches; the
 * input scale (nn.h: a file's values times the scale are the inputs). */
#include "nn_impl.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

void nn_data_free(nn_data *d)
{
	free(d->x);
	free(d->y);
	memset(d, 0, sizeof *d);
}

int nn_scale_ok(double s) { return isfinite(s) && s > 0; }

const char *nn_scale_str(double s, char *buf, size_t len)
{
	if (!nn_scale_ok(s))
		snprintf(buf, len, "unknown");
	else if (s == NN_SCALE_IDX)
		snprintf(buf, len, "1/255");
	else
		snprintf(buf, len, "%.9g", s);
	return buf;
}

/* inputs are computed in float: the scale must be a normal float too */
static int bad_scale(double scale, char *err, size_t errlen)
{
	if (nn_scale_ok(scale) && scale >= FLT_MIN && scale <= FLT_MAX)
		return 0;
	nn_errf(err, errlen, "input scale %g is not a number > 0 within float range", scale);
	return NN_EINVAL;
}

int nn_check_regular(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		nn_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NN_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		nn_errf(err, errlen, "%s: not a regular file (%s)", path,
			S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a pipe" : "a device or socket");
		return NN_EIO;
	}
	return 0;
}

/* Read a whole file through zlib (handles plain files too). */
static int slurp(const char *path, unsigned char **buf, size_t *len, char *err, size_t errlen)
{
	*buf = NULL, *len = 0;
	int rc0 = nn_check_regular(path, err, errlen);
	if (rc0)
		return rc0;
	gzFile f = gzopen(path, "rb");
	if (!f) {
		nn_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
		return NN_EIO;
	}
	size_t cap = 1 << 20, n = 0;
	unsigned char *b = malloc(cap);
	if (!b) {
		nn_errf(err, errlen, "%s: out of memory reading it", path);
		gzclose(f);
		return NN_ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			if (cap > ((size_t)1 << 33)) {
				nn_errf(err, errlen, "%s: larger than 8 GB", path);
				free(b);
				gzclose(f);
				return NN_EFORMAT;
			}
			unsigned char *nb = realloc(b, cap * 2);
			if (!nb) {
				nn_errf(err, errlen, "%s: out of memory reading it (%zu bytes so far)", path, n);
				free(b);
				gzclose(f);
				return NN_ENOMEM;
			}
			b = nb, cap *= 2;
		}
		int r = gzread(f, b + n, (unsigned)(cap - n > (1u << 30) ? (1u << 30) : cap - n));
		if (r < 0) {
			int e;
			const char *m = gzerror(f, &e);
			nn_errf(err, errlen, "%s: read error (corrupt gzip?): %s", path, m);
			free(b);
			gzclose(f);
			return NN_EFORMAT;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	int e = 0;
	const char *m = gzerror(f, &e);
	if (e != Z_OK) { /* Z_BUF_ERROR: the gzip stream ends before its end */
		if (e == Z_BUF_ERROR)
			nn_errf(err, errlen, "%s: truncated gzip file (it ends before its end)", path);
		else
			nn_errf(err, errlen, "%s: corrupt gzip: %s", path, m);
		free(b);
		gzclose(f);
		return NN_EFORMAT;
	}
	gzclose(f);
	*buf = b, *len = n;
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int load_idx(nn_data *d, const char *images, const char *labels, double scale, char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	if (bad_scale(scale, err, errlen))
		return NN_EINVAL;
	float fs = (float)scale;
	if (!isfinite(fs * 255.0f)) {
		nn_errf(err, errlen, "%s: input scale %g takes bytes out of float range", images, scale);
		return NN_EINVAL;
	}
	unsigned char *ib = NULL, *lb = NULL;
	size_t il, ll;
	int rc = slurp(images, &ib, &il, err, errlen);
	if (rc)
		return rc;
	if ((rc = slurp(labels, &lb, &ll, err, errlen)))
		goto fail;
	rc = NN_EFORMAT;
	if (il < 16 || be32(ib) != 0x00000803) {
		nn_errf(err, errlen, "%s: not an IDX image file (wrong magic or shorter than its header)", images);
		goto fail;
	}
	if (ll < 8 || be32(lb) != 0x00000801) {
		nn_errf(err, errlen, "%s: not an IDX label file (wrong magic or shorter than its header)", labels);
		goto fail;
	}
	uint32_t n = be32(ib + 4), h = be32(ib + 8), w = be32(ib + 12), nl = be32(lb + 4);
	if (n == 0 || n > INT_MAX - 1 || h == 0 || w == 0 || h > 4096 || w > 4096) {
		nn_errf(err, errlen, "%s: bad dimensions %u x %u x %u", images, n, h, w);
		goto fail;
	}
	if ((uint64_t)n * h * w + 16 > il) {
		nn_errf(err, errlen, "%s: truncated: header says %u images of %ux%u (%llu bytes), file has %zu",
			images, n, h, w, (unsigned long long)((uint64_t)n * h * w + 16), il);
		goto fail;
	}
	if ((uint64_t)nl + 8 > ll) {
		nn_errf(err, errlen, "%s: truncated: header says %u labels, file has %zu bytes", labels, nl, ll);
		goto fail;
	}
	if (nl != n) {
		nn_errf(err, errlen, "%s has %u images but %s has %u labels", images, n, labels, nl);
		goto fail;
	}
	d->n = (int)n, d->c = 1, d->h = (int)h, d->w = (int)w;
	rc = NN_ENOMEM;
	d->x = malloc(sizeof(float) * (size_t)n * h * w);
	d->y = malloc(sizeof(int) * n);
	if (!d->x || !d->y) {
		nn_errf(err, errlen, "%s: out of memory for %u images of %ux%u", images, n, h, w);
		goto fail;
	}
	for (size_t i = 0; i < (size_t)n * h * w; i++)
		d->x[i] = ib[16 + i] * fs;
	d->scale = scale;
	int maxl = 0;
	for (uint32_t i = 0; i < n; i++) {
		d->y[i] = lb[8 + i];
		if (d->y[i] > maxl)
			maxl = d->y[i];
	}
	d->classes = maxl + 1 < 2 ? 2 : maxl + 1;
	free(ib);
	free(lb);
	return 0;
fail:
	free(ib);
	free(lb);
	nn_data_free(d);
	return rc;
}

/* features per row at most: 4096 x 4096, the largest IDX image; keeps
 * c * h * w and the sizes built from it far from int overflow */
#define DATA_MAX_FEATURES (1 << 24)

/* "CxHxW" or "N": decimal digits only, each at least 1; 0 ok, -1 bad
 * syntax, -2 more than DATA_MAX_FEATURES features */
static int parse_shape(const char *s, int *c, int *h, int *w)
{
	long long v[3] = { 1, 1, 1 }, prod = 1;
	int k = 0;
	for (;;) {
		if (*s < '0' || *s > '9')
			return -1;
		long long x = 0;
		while (*s >= '0' && *s <= '9') {
			x = x * 10 + (*s++ - '0');
			if (x > DATA_MAX_FEATURES)
				return -2;
		}
		if (x == 0)
			return -1;
		v[k++] = x;
		if ((prod *= x) > DATA_MAX_FEATURES)
			return -2;
		if (!*s)
			break;
		if (*s++ != 'x' || k == 3)
			return -1;
	}
	if (k == 2)
		return -1;
	*c = (int)v[0], *h = (int)v[1], *w = (int)v[2];
	return 0;
}

int nn_data_load_idx(nn_data *d, const char *images, const char *labels, char *err, size_t errlen)
{
	return load_idx(d, images, labels, NN_SCALE_IDX, err, errlen);
}

static int load_csv(nn_data *d, const char *path, const char *shape, double scale, char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	if (bad_scale(scale, err, errlen))
		return NN_EINVAL;
	unsigned char *buf = NULL;
	size_t len;
	int c = 0, h = 1, w = 1, rc;
	if (shape && (rc = parse_shape(shape, &c, &h, &w))) {
		if (rc == -2)
			nn_errf(err, errlen, "bad shape '%.64s': more than %d features", shape, DATA_MAX_FEATURES);
		else
			nn_errf(err, errlen, "bad shape '%.64s' (use CxHxW, e.g. 1x8x8, or a feature count)", shape);
		return NN_EINVAL;
	}
	if ((rc = slurp(path, &buf, &len, err, errlen)))
		return rc;
	char *s = (char *)buf;
	if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf)
		s += 3; /* a UTF-8 byte order mark is not part of the first cell */
	char *end = (char *)buf + len;
	/* rows parsed, rows y (and x, once feat is known) hold, features per
	 * row (from the first data row), cells x holds while the first row is
	 * read */
	size_t rows = 0, cap = 0, feat = 0, cap1 = 0;
	float *x = NULL;
	int *y = NULL;
	int line = 0, maxl = 0;
	char *p = s;
	while (p < end) {
		line++;
		char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		char *q = p;
		while (q < eol && isspace((unsigned char)*q))
			q++;
		if (q == eol) {
			p = eol < end ? eol + 1 : end;
			continue;
		}
		/* a header line (first line, non-numeric first cell) is skipped */
		size_t ncell = 0;
		float *row = NULL;
		for (;;) {
			char *cell = q;
			char *comma = memchr(q, ',', (size_t)(eol - q));
			char *ce = comma ? comma : eol;
			char tmp[64];
			size_t cl = (size_t)(ce - cell);
			while (cl && isspace((unsigned char)cell[cl - 1]))
				cl--;
			while (cl && isspace((unsigned char)*cell))
				cell++, cl--;
			/* decimal numbers only: no hex, inf or nan, finite; the
			 * characters are checked on the cell itself, as a NUL byte
			 * in it would end the copy early and pass for an empty tail */
			size_t ok = 0;
			while (ok < cl && cell[ok] && strchr("0123456789+-.eE", cell[ok]))
				ok++;
			int num = cl > 0 && cl < sizeof tmp && ok == cl;
			double v = 0;
			if (num) {
				char *ep;
				memcpy(tmp, cell, cl);
				tmp[cl] = 0;
				errno = 0;
				v = strtod(tmp, &ep);
				num = ep != tmp && !*ep && errno != ERANGE && isfinite(v);
			}
			if (!num) {
				if (rows == 0 && ncell == 0 && line == 1 && !feat) {
					/* header */
					ncell = (size_t)-1;
					break;
				}
				nn_errf(err, errlen, "%s:%d: cell %zu is not a number: '%.*s'", path, line, ncell + 1,
					(int)(cl > 40 ? 40 : cl), cell);
				rc = NN_EFORMAT;
				goto fail;
			}
			if (ncell == 0) {
				/* the range first: (int)v is undefined for values out of int's range */
				if (v < 0 || v >= NN_MAX_CLASSES || v != (double)(int)v) {
					nn_errf(err, errlen, "%s:%d: label '%.*s' is not a class number (0 to %d)", path, line,
						(int)cl, cell, NN_MAX_CLASSES - 1);
					rc = NN_EFORMAT;
					goto fail;
				}
				if (rows == cap) {
					/* room for this row in y, and in x once feat is known */
					size_t nc = cap ? cap * 2 : 64;
					int *ny = realloc(y, sizeof(int) * nc);
					if (!ny)
						goto nomem;
					y = ny;
					if (feat) {
						float *nx = realloc(x, sizeof(float) * feat * nc);
						if (!nx)
							goto nomem;
						x = nx;
					}
					cap = nc;
				}
				y[rows] = (int)v;
				if (y[rows] > maxl)
					maxl = y[rows];
			} else {
				/* a finite double can still overflow the float it is kept in */
				if (fabs(v) > FLT_MAX) {
					nn_errf(err, errlen, "%s:%d: cell %zu is out of float range: '%.*s'", path, line, ncell + 1,
						(int)cl, cell);
					rc = NN_EFORMAT;
					goto fail;
				}
				if (!feat) {
					/* first data row: x grows with it */
					if (ncell > DATA_MAX_FEATURES) {
						nn_errf(err, errlen, "%s:%d: more than %d features", path, line,
							DATA_MAX_FEATURES);
						rc = NN_EFORMAT;
						goto fail;
					}
					if (ncell > cap1) {
						size_t nc = cap1 ? cap1 * 2 : 256;
						float *nx = realloc(x, sizeof(float) * nc);
						if (!nx)
							goto nomem;
						x = nx, cap1 = nc;
					}
					row = x;
				} else {
					if (ncell > feat) {
						nn_errf(err, errlen, "%s:%d: more than %zu features", path, line, feat);
						rc = NN_EFORMAT;
						goto fail;
					}
					row = x + rows * feat;
				}
				/* the input: the value times the scale, in float as
				 * for IDX bytes, so the same images give the same
				 * inputs in either format; a finite float */
				float xv = (float)v * (float)scale;
				if (!isfinite(xv)) {
					nn_errf(err, errlen, "%s:%d: cell %zu: '%.*s' times the input scale %g is out of float range",
						path, line, ncell + 1, (int)(cl > 40 ? 40 : cl), cell, scale);
					rc = NN_EFORMAT;
					goto fail;
				}
				row[ncell - 1] = xv;
			}
			ncell++;
			if (!comma)
				break;
			q = comma + 1;
		}
		if (ncell != (size_t)-1) {
			if (ncell < 2) {
				nn_errf(err, errlen, "%s:%d: a row needs a label and at least one feature", path, line);
				rc = NN_EFORMAT;
				goto fail;
			}
			if (!feat) {
				feat = ncell - 1;
				float *nx = realloc(x, sizeof(float) * feat * cap);
				if (!nx)
					goto nomem;
				x = nx;
			} else if (ncell - 1 != feat) {
				nn_errf(err, errlen, "%s:%d: %zu features, earlier rows have %zu", path, line, ncell - 1, feat);
				rc = NN_EFORMAT;
				goto fail;
			}
			if (++rows == INT_MAX) {
				nn_errf(err, errlen, "%s:%d: more than %d rows", path, line, INT_MAX - 1);
				rc = NN_EFORMAT;
				goto fail;
			}
		}
		p = eol < end ? eol + 1 : end;
	}
	if (rows == 0) {
		nn_errf(err, errlen, "%s: no data rows", path);
		rc = NN_EFORMAT;
		goto fail;
	}
	if (!shape) {
		c = (int)feat, h = w = 1;
	} else if ((size_t)c * h * w != feat) {
		nn_errf(err, errlen, "%s: rows have %zu features but shape %s needs %zu", path, feat, shape,
			(size_t)c * h * w);
		rc = NN_EFORMAT;
		goto fail;
	}
	free(buf);
	d->n = (int)rows, d->c = c, d->h = h, d->w = w;
	d->x = x, d->y = y;
	d->classes = maxl + 1 < 2 ? 2 : maxl + 1;
	d->scale = scale;
	return 0;
nomem:
	nn_errf(err, errlen, "%s: out of memory reading the data set (%zu rows of %zu features so far)", path, rows,
		feat);
	rc = NN_ENOMEM;
fail:
	free(buf);
	free(x);
	free(y);
	return rc;
}

int nn_data_load_csv(nn_data *d, const char *path, const char *shape, char *err, size_t errlen)
{
	return load_csv(d, path, shape, NN_SCALE_CSV, err, errlen);
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int nn_data_load(nn_data *d, const char *spec, const char *split, const char *shape, char *err, size_t errlen)
{
	return nn_data_load_scaled(d, spec, split, shape, 0, err, errlen);
}

int nn_data_load_scaled(nn_data *d, const char *spec, const char *split, const char *shape, double scale, char *err,
			size_t errlen)
{
	memset(d, 0, sizeof *d);
	if (!spec)
		spec = NN_DEFAULT_DATA;
	if (scale != 0 && bad_scale(scale, err, errlen))
		return NN_EINVAL;
	if (is_dir(spec)) {
		const char *pre = !strcmp(split, "test") ? "t10k" : "train";
		char im[4096], lb[4096];
		for (int gz = 1; gz >= 0; gz--) {
			snprintf(im, sizeof im, "%s/%s-images-idx3-ubyte%s", spec, pre, gz ? ".gz" : "");
			snprintf(lb, sizeof lb, "%s/%s-labels-idx1-ubyte%s", spec, pre, gz ? ".gz" : "");
			struct stat st;
			if (stat(im, &st) == 0)
				return load_idx(d, im, lb, scale ? scale : NN_SCALE_IDX, err, errlen);
		}
		nn_errf(err, errlen, "%s: no %s-images-idx3-ubyte[.gz] in this directory%s", spec, pre,
			!strcmp(spec, NN_DEFAULT_DATA) ? " (install Debian's dataset-fashion-mnist)" : "");
		return NN_EIO;
	}
	size_t l = strlen(spec);
	if ((l > 4 && !strcmp(spec + l - 4, ".csv")) || (l > 7 && !strcmp(spec + l - 7, ".csv.gz"))) {
		/* NAME.csv: split "test" reads NAME.test.csv when it exists */
		if (!strcmp(split, "test")) {
			char tp[4096];
			size_t bl = l - (spec[l - 1] == 'z' ? 7 : 4);
			snprintf(tp, sizeof tp, "%.*s.test%s", (int)bl, spec, spec + bl);
			struct stat st;
			if (stat(tp, &st) == 0)
				return load_csv(d, tp, shape, scale ? scale : NN_SCALE_CSV, err, errlen);
		}
		return load_csv(d, spec, shape, scale ? scale : NN_SCALE_CSV, err, errlen);
	}
	struct stat st;
	if (stat(spec, &st) != 0) {
		nn_errf(err, errlen, "%s: no such data set (a directory of IDX files or a .csv file)", spec);
		return NN_EIO;
	}
	nn_errf(err, errlen, "%s: not a data set (a directory of IDX files or a .csv file)", spec);
	return NN_EINVAL;
}

static int copy_rows(const nn_data *a, const int *idx, int n, nn_data *out)
{
	memset(out, 0, sizeof *out);
	size_t f = (size_t)a->c * a->h * a->w;
	out->x = malloc(sizeof(float) * f * (n > 0 ? n : 1));
	out->y = malloc(sizeof(int) * (n > 0 ? n : 1));
	if (!out->x || !out->y) {
		nn_data_free(out);
		return NN_ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		memcpy(out->x + f * i, a->x + f * idx[i], sizeof(float) * f);
		out->y[i] = a->y[idx[i]];
	}
	out->n = n, out->c = a->c, out->h = a->h, out->w = a->w, out->classes = a->classes, out->scale = a->scale;
	return 0;
}

int nn_data_split(const nn_data *all, int nval, nn_data *train, nn_data *val)
{
	if (nval < 0 || nval >= all->n)
		return NN_EINVAL;
	int *perm = malloc(sizeof(int) * all->n);
	if (!perm)
		return NN_ENOMEM;
	for (int i = 0; i < all->n; i++)
		perm[i] = i;
	nn_rng r = { 0x5EED5EEDull }; /* fixed: the split never depends on the training seed */
	for (int i = all->n - 1; i > 0; i--) {
		int j = (int)(nn_rng_u64(&r) % (uint64_t)(i + 1));
		int t = perm[i];
		perm[i] = perm[j], perm[j] = t;
	}
	int rc = copy_rows(all, perm, all->n - nval, train);
	if (!rc && (rc = copy_rows(all, perm + all->n - nval, nval, val)))
		nn_data_free(train);
	free(perm);
	return rc;
}

int nn_data_head(const nn_data *d, int n, nn_data *out)
{
	if (n > d->n)
		n = d->n;
	int *idx = malloc(sizeof(int) * (n > 0 ? n : 1));
	if (!idx)
		return NN_ENOMEM;
	for (int i = 0; i < n; i++)
		idx[i] = i;
	int rc = copy_rows(d, idx, n, out);
	free(idx);
	return rc;
}

void nn_make_batch(const nn_data *d, const int *idx, int rows, int augment, int pad, int flip, nn_rng *rng,
		   float *x, int *y)
{
	size_t f = (size_t)d->c * d->h * d->w;
	for (int i = 0; i < rows; i++) {
		const float *src = d->x + f * idx[i];
		float *dst = x + f * i;
		y[i] = d->y[idx[i]];
		if (!augment || d->h < 2) {
			memcpy(dst, src, sizeof(float) * f);
			continue;
		}
		int dy = (int)(nn_rng_u64(rng) % (uint64_t)(2 * pad + 1)) - pad;
		int dx = (int)(nn_rng_u64(rng) % (uint64_t)(2 * pad + 1)) - pad;
		int fl = flip ? (int)(nn_rng_u64(rng) & 1) : 0;
		for (int c = 0; c < d->c; c++)
			for (int r = 0; r < d->h; r++)
				for (int q = 0; q < d->w; q++) {
					int sr = r + dy, sq = (fl ? d->w - 1 - q : q) + dx;
					dst[((size_t)c * d->h + r) * d->w + q] =
						sr >= 0 && sr < d->h && sq >= 0 && sq < d->w
							? src[((size_t)c * d->h + sr) * d->w + sq] : 0;
				}
	}
}

int nn_data_check_classes(const nn_data *d, const char *what, char *err, size_t errlen)
{
	if (d->classes < 1 || d->n < 1)
		return 0;
	unsigned char *seen = calloc((size_t)d->classes, 1);
	if (!seen)
		return nn_errf(err, errlen, "%s: out of memory", what), NN_ENOMEM;
	for (int i = 0; i < d->n; i++)
		if (d->y[i] >= 0 && d->y[i] < d->classes)
			seen[d->y[i]] = 1;
	/* up to the largest label: a set of one class is reported elsewhere */
	int top = d->classes - 1;
	while (top > 0 && !seen[top])
		top--;
	int miss = -1, nmiss = 0;
	for (int k = 0; k <= top; k++)
		if (!seen[k] && nmiss++ == 0)
			miss = k;
	free(seen);
	if (!nmiss)
		return 0;
	nn_errf(err, errlen,
		"%s: labels run to %d but class %d has no example (%d of %d classes missing); class numbers must run from 0 without gaps",
		what, top, miss, nmiss, top + 1);
	return NN_EFORMAT;
}

static uint64_t fp_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

static uint64_t fp_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		memcpy(&v, b + i, 8);
		h = fp_mix(h, v);
	}
	uint64_t t = 0;
	for (; i < n; i++)
		t = t << 8 | b[i];
	return fp_mix(h, t ^ n);
}

uint64_t nn_data_fingerprint(const nn_data *d)
{
	uint64_t h = 0x70657472692d6670ull;
	int hdr[5] = { d->n, d->c, d->h, d->w, d->classes };
	h = fp_bytes(h, hdr, sizeof hdr);
	if (d->n > 0) {
		h = fp_bytes(h, d->y, sizeof(int) * (size_t)d->n);
		h = fp_bytes(h, d->x, sizeof(float) * (size_t)d->n * d->c * d->h * d->w);
	}
	return h;
}
