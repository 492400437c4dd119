/* fuzz_data.c - libFuzzer target for the data set readers, nn_data_load
 * on IDX and CSV files (plain or gzip; built by fuzz.sh).
 *
 * The readers take paths, so each input is written to files in a private
 * directory under /dev/shm (a memory file system: no disk traffic) and
 * loaded as petri loads a data set. The first byte picks the reader:
 *   0  CSV:  the rest is DIR/d.csv, loaded with no --shape;
 *   1  CSV with a shape: the rest up to the first newline is the --shape
 *      string (at most 63 bytes), what follows is DIR/d.csv;
 *   2  IDX:  two bytes (big-endian) give the length L of the image file;
 *      the next L bytes are DIR/train-images-idx3-ubyte, the remainder
 *      DIR/train-labels-idx1-ubyte, and DIR is loaded as a directory.
 * (the byte is taken modulo 3). gzip is detected from the content, so the
 * same modes cover .csv.gz and .gz IDX files.
 *
 * Any input must either load or fail with a message, a negative code and
 * an empty nn_data, without crashes, leaks, undefined behaviour or huge
 * allocations. A loaded set must be well formed (at least one row, shape
 * and classes in range, every label below classes, every value finite,
 * IDX pixels in [0,1]) and must survive a validation split, a head and an
 * augmented batch, as training uses it. */
#include "nn.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64], g_csv[96], g_im[96], g_lb[96];

static void fuzz_cleanup(void)
{
	unlink(g_csv);
	unlink(g_im);
	unlink(g_lb);
	rmdir(g_dir);
}

static void fuzz_setup(void)
{
	if (g_dir[0])
		return;
	/* fuzz.sh names the directory, so that it can remove it after a crash */
	const char *dir = getenv("PETRI_FUZZ_DATA_DIR");
	if (dir && *dir && strlen(dir) < sizeof g_dir)
		snprintf(g_dir, sizeof g_dir, "%s", dir);
	else
		snprintf(g_dir, sizeof g_dir, "%s/petri-fuzz-data-%ld", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm",
			(long)getpid());
	snprintf(g_csv, sizeof g_csv, "%s/d.csv", g_dir);
	snprintf(g_im, sizeof g_im, "%s/train-images-idx3-ubyte", g_dir);
	snprintf(g_lb, sizeof g_lb, "%s/train-labels-idx1-ubyte", g_dir);
	if (mkdir(g_dir, 0700) != 0 && errno != EEXIST) {
		perror(g_dir);
		abort();
	}
	atexit(fuzz_cleanup);
}

static void put(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(b, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

static void fail(const char *what, const nn_data *d)
{
	fprintf(stderr, "loaded data set (n %d, %dx%dx%d, %d classes): %s\n", d->n, d->c, d->h, d->w, d->classes,
		what);
	abort();
}

/* what training does with a data set: split, head, augmented batches */
static void use(const nn_data *d)
{
	nn_data tr, va, hd;
	if (nn_data_split(d, d->n / 10, &tr, &va) != 0)
		fail("split failed", d);
	if (tr.n + va.n != d->n)
		fail("split lost rows", d);
	if (nn_data_head(&tr, 4, &hd) != 0)
		fail("head failed", d);
	size_t f = (size_t)d->c * d->h * d->w;
	int rows = hd.n, ix[4] = { 0, 1, 2, 3 }, y[4];
	float *x = malloc(sizeof(float) * f * (size_t)(rows > 0 ? rows : 1));
	if (!x)
		abort();
	nn_rng r = { 1 };
	nn_make_batch(&hd, ix, rows, 1, 2, 1, &r, x, y);
	for (int i = 0; i < rows; i++)
		if (y[i] < 0 || y[i] >= d->classes)
			fail("batch label out of range", d);
	free(x);
	nn_data_free(&hd);
	nn_data_free(&tr);
	nn_data_free(&va);
}

static void check(const nn_data *d, int idx)
{
	if (d->n < 1 || d->c < 1 || d->h < 1 || d->w < 1 || !d->x || !d->y)
		fail("empty or bad shape", d);
	if (d->classes < 2 || d->classes > NN_MAX_CLASSES)
		fail("classes out of range", d);
	size_t f = (size_t)d->c * d->h * d->w;
	for (int i = 0; i < d->n; i++)
		if (d->y[i] < 0 || d->y[i] >= d->classes)
			fail("label out of range", d);
	for (size_t i = 0; i < f * (size_t)d->n; i++)
		if (!isfinite(d->x[i]) || (idx && (d->x[i] < 0 || d->x[i] > 1)))
			fail(idx ? "pixel outside [0,1]" : "value not finite", d);
	use(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_setup();
	int mode = data[0] % 3;
	data++, size--;
	nn_data d;
	char err[600] = "", shape[64];
	const char *sh = NULL;
	int rc;
	if (mode == 2) {
		if (size < 2)
			return 0;
		size_t l = (size_t)data[0] << 8 | data[1];
		data += 2, size -= 2;
		if (l > size)
			l = size;
		put(g_im, data, l);
		put(g_lb, data + l, size - l);
		rc = nn_data_load(&d, g_dir, "train", NULL, err, sizeof err);
	} else {
		if (mode == 1) {
			const uint8_t *nl = memchr(data, '\n', size);
			size_t l = nl ? (size_t)(nl - data) : size;
			if (l >= sizeof shape || memchr(data, 0, l))
				return 0;
			memcpy(shape, data, l);
			shape[l] = 0;
			sh = shape;
			l += nl != NULL;
			data += l, size -= l;
		}
		put(g_csv, data, size);
		rc = nn_data_load(&d, g_csv, "train", sh, err, sizeof err);
	}
	if (rc) {
		if (rc > 0 || !err[0] || d.x || d.y || d.n) {
			fprintf(stderr, "load failed (%d: %s) without a message or left a partial data set\n", rc,
				nn_strerror(rc));
			abort();
		}
		return 0;
	}
	check(&d, mode == 2);
	nn_data_free(&d);
	return 0;
}
