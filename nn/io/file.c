/* file.c - model files: petri's own record or ONNX, chosen by the path's
 * extension and, when reading, by the content (a petri model starts with
 * the MessagePack header of a 3-element array). Writes go to a temporary
 * file beside the target, fsynced and renamed into place. */
#include "nnio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int nn_is_onnx_path(const char *path)
{
	size_t l = path ? strlen(path) : 0;
	return l >= 5 && !strcmp(path + l - 5, ".onnx");
}

int nn_model_save(const nn_model *m, const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	char e2[400] = "";
	int rc = nn_is_onnx_path(path) ? nn_onnx_encode(m, &buf, &len, e2, sizeof e2) : nn_model_encode(m, &buf, &len);
	if (rc) {
		nn_errf(err, errlen, "%s: cannot encode: %s", path, e2[0] ? e2 : nn_strerror(rc));
		return rc;
	}
	size_t pl = strlen(path);
	char *tmp = malloc(pl + 16);
	if (!tmp) {
		free(buf);
		return NN_ENOMEM;
	}
	snprintf(tmp, pl + 16, "%s.tmp%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		nn_errf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		free(buf);
		free(tmp);
		return NN_EIO;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		done += (size_t)w;
	}
	int ok = done == len && fsync(fd) == 0;
	int e = errno;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path)) {
		nn_errf(err, errlen, "%s: cannot write: %s", path, strerror(ok ? errno : e));
		unlink(tmp);
		free(buf);
		free(tmp);
		return NN_EIO;
	}
	free(buf);
	free(tmp);
	return 0;
}

int nn_model_load(nn_model *m, const char *path, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	int rc0 = nn_check_regular(path, err, errlen);
	if (rc0)
		return rc0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		nn_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NN_EIO;
	}
	if (fseek(f, 0, SEEK_END) != 0) {
		fclose(f);
		nn_errf(err, errlen, "%s: not a regular file", path);
		return NN_EIO;
	}
	long sz = ftell(f);
	rewind(f);
	if (sz < 0 || sz > (1L << 34)) {
		fclose(f);
		nn_errf(err, errlen, "%s: bad size", path);
		return NN_EIO;
	}
	char *buf = malloc((size_t)sz + 1);
	if (!buf) {
		fclose(f);
		return NN_ENOMEM;
	}
	size_t got = fread(buf, 1, (size_t)sz, f);
	fclose(f);
	char e2[400] = "";
	int rc = NN_EIO;
	/* a petri model is a MessagePack array of 4 (0x94; 3, 0x93, before
	 * checksums: refused with its own message): anything else may be ONNX */
	int petri = got > 0 && ((unsigned char)buf[0] == 0x94 || (unsigned char)buf[0] == 0x93);
	if (got != (size_t)sz)
		snprintf(e2, sizeof e2, "read error");
	else if (nn_is_onnx_path(path) || (got > 0 && !petri))
		rc = nn_onnx_decode(m, buf, got, e2, sizeof e2);
	else
		rc = nn_model_decode(m, buf, got, e2, sizeof e2);
	if (rc && nn_is_onnx_path(path) && petri && got >= 10 && !memcmp(buf + 2, "PETRIMDL", 8))
		nn_errf(err, errlen, "%s: this is a petri model file, not ONNX; name it .petri", path);
	else if (rc && !nn_is_onnx_path(path) && got > 0 && !petri)
		nn_errf(err, errlen, "%s: not a petri model (bad magic: no PETRIMDL header) and not an ONNX model (%s)", path, e2);
	else if (rc)
		nn_errf(err, errlen, "%s: %s", path, e2);
	free(buf);
	return rc;
}
