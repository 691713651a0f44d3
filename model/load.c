/* SPDX-License-Identifier: MIT */
/*
 * load.c - model files in and out: picking the format from the name,
 * reading a file (JSON into memory, safetensors through a read-only
 * mapping), its digest, and saving through a temporary file and a rename
 * so that a watching daemon never sees half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats.h"
#include "internal.h"

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

int moe_format_from_path(const char *path, enum moe_format *format)
{
	if (has_suffix(path, ".json"))
		*format = MOE_FORMAT_JSON;
	else if (has_suffix(path, ".safetensors"))
		*format = MOE_FORMAT_SAFETENSORS;
	else
		return -EINVAL;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Parse bytes; borrow lets safetensors tensors point into them. */
static int parse(const void *data, size_t len, enum moe_format format,
                 int borrow, struct moe_model **out, struct moe_error *err)
{
	struct moe_model *model = NULL;
	int rc;

	if (len == 0)
		return moe_fail(err, -EINVAL, "empty file");
	if (len > MOE_MAX_MODEL_FILE_BYTES)
		return moe_fail(err, -E2BIG,
		                "file is %zu bytes, over the limit of %lu", len,
		                MOE_MAX_MODEL_FILE_BYTES);

	if (format == MOE_FORMAT_JSON)
		rc = moe_json_read(data, len, &model, err);
	else
		rc = moe_st_read(data, len, borrow, &model, err);
	if (rc < 0)
		return rc;

	moe_sha256_hex(data, len, model->digest);
	model->file_bytes = len;
	*out = model;
	return 0;
}

int moe_model_load_buffer(const void *data, size_t len, enum moe_format format,
                          const char *label, struct moe_model **out,
                          struct moe_error *err)
{
	int rc;

	rc = parse(data, len, format, 0, out, err);
	if (rc < 0)
		moe_prefix(err, label);
	return rc;
}

/* Read exactly len bytes of fd into a new buffer. */
static int read_all(int fd, size_t len, char **out, struct moe_error *err)
{
	char *text = malloc(len ? len : 1);
	size_t done = 0;
	ssize_t n;

	if (text == NULL)
		return moe_fail(err, -ENOMEM, "out of memory for %zu bytes",
		                len);
	while (done < len) {
		n = read(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(text);
			if (n == 0)
				return moe_fail(err, -EIO,
				                "file shrank while being read");
			return moe_fail(err, -EIO, "read failed: %s",
			                strerror(errno));
		}
		done += (size_t)n;
	}
	*out = text;
	return 0;
}

static int load_json(int fd, size_t len, struct moe_model **out,
                     struct moe_error *err)
{
	char *text = NULL;
	int rc;

	if (len > MOE_MAX_JSON_MODEL_BYTES)
		return moe_fail(
		    err, -E2BIG,
		    "file is %zu bytes, over the limit of %lu for JSON", len,
		    MOE_MAX_JSON_MODEL_BYTES);
	if (len == 0)
		return moe_fail(err, -EINVAL, "empty file");
	if ((rc = read_all(fd, len, &text, err)) < 0)
		return rc;
	rc = parse(text, len, MOE_FORMAT_JSON, 0, out, err);
	free(text);
	return rc;
}

static int load_safetensors(int fd, size_t len, struct moe_model **out,
                            struct moe_error *err)
{
	struct moe_model *model = NULL;
	void *map;
	int rc;

	if (len == 0)
		return moe_fail(err, -EINVAL, "empty file");
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return moe_fail(err, -EIO, "cannot map the file: %s",
		                strerror(errno));

	rc = parse(map, len, MOE_FORMAT_SAFETENSORS, 1, &model, err);
	if (rc < 0 || !model->mapped) {
		munmap(map, len);
	} else {
		model->priv->map = map;
		model->priv->map_bytes = len;
	}
	if (rc == 0)
		*out = model;
	return rc;
}

static int load_fd(int fd, enum moe_format format, struct moe_model **out,
                   struct moe_error *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return moe_fail(err, -EIO, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return moe_fail(err, -EINVAL, "not a regular file");
	if ((uint64_t)st.st_size > MOE_MAX_MODEL_FILE_BYTES)
		return moe_fail(err, -E2BIG,
		                "file is %jd bytes, over the limit of %lu",
		                (intmax_t)st.st_size, MOE_MAX_MODEL_FILE_BYTES);

	if (format == MOE_FORMAT_JSON)
		return load_json(fd, (size_t)st.st_size, out, err);
	return load_safetensors(fd, (size_t)st.st_size, out, err);
}

int moe_model_load(const char *path, struct moe_model **out,
                   struct moe_error *err)
{
	enum moe_format format;
	int fd, rc;

	if (moe_format_from_path(path, &format) < 0) {
		rc = moe_fail(
		    err, -EINVAL,
		    "unknown extension (expected .json or .safetensors)");
		goto prefix;
	}

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = moe_fail(err, errno == ENOENT ? -ENOENT : -EIO,
		              "cannot open: %s", strerror(errno));
		goto prefix;
	}
	rc = load_fd(fd, format, out, err);
	close(fd);

prefix:
	if (rc < 0)
		moe_prefix(err, base_name(path));
	return rc;
}

int moe_model_serialize(const struct moe_model *model, enum moe_format fmt,
                        void **bytes, size_t *len, struct moe_error *err)
{
	struct moe_buf buf = {0};
	int rc;

	if (fmt == MOE_FORMAT_JSON) {
		buf.limit = MOE_MAX_JSON_MODEL_BYTES;
		rc = moe_json_write(model, &buf, err);
	} else {
		buf.limit = MOE_MAX_MODEL_FILE_BYTES;
		rc = moe_st_write(model, &buf, err);
	}
	if (rc < 0) {
		free(buf.data);
		return rc;
	}
	*bytes = buf.data;
	*len = buf.len;
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* "DIR/.BASE.XXXXXX.tmp": hidden and ".tmp", so a daemon ignores it. */
static char *temp_path(const char *path)
{
	const char *base = base_name(path);
	size_t dir_len = (size_t)(base - path);
	char *tmp = malloc(strlen(path) + 16);

	if (tmp != NULL)
		sprintf(tmp, "%.*s.%s.XXXXXX.tmp", (int)dir_len, path, base);
	return tmp;
}

/* fsync the directory that holds path, so that the rename is durable. */
static void sync_dir(const char *path)
{
	const char *base = base_name(path);
	char *dir = strndup(path, (size_t)(base - path));
	int fd;

	if (dir == NULL)
		return;
	fd = open(dir[0] ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

static int write_file(const char *path, const void *bytes, size_t len,
                      struct moe_error *err)
{
	char *tmp = temp_path(path);
	int fd, rc;

	if (tmp == NULL)
		return moe_fail(err, -ENOMEM, "%s: out of memory", path);
	fd = mkstemps(tmp, 4);
	if (fd < 0) {
		rc = moe_fail(err, -EIO,
		              "%s: cannot create a temporary file: %s", path,
		              strerror(errno));
		goto free_tmp;
	}

	rc = write_all(fd, bytes, len);
	if (rc == 0 && fchmod(fd, 0644) < 0)
		rc = -errno;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		rc = moe_fail(err, -EIO, "%s: cannot write: %s", path,
		              strerror(-rc));
		goto free_tmp;
	}
	sync_dir(path);

free_tmp:
	free(tmp);
	return rc;
}

int moe_model_save(const struct moe_model *model, const char *path,
                   struct moe_error *err)
{
	enum moe_format format;
	void *bytes;
	size_t len;
	int rc;

	if (moe_format_from_path(path, &format) < 0)
		return moe_fail(
		    err, -EINVAL,
		    "%s: unknown extension (expected .json or .safetensors)",
		    path);
	rc = moe_model_serialize(model, format, &bytes, &len, err);
	if (rc < 0) {
		moe_prefix(err, path);
		return rc;
	}
	rc = write_file(path, bytes, len, err);
	free(bytes);
	return rc;
}
