/* SPDX-License-Identifier: MIT */
/*
 * reload_util.c - helpers of the reload tests (see reload_util.h).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "reload_util.h"
#include "test_support.h"

/*
 * Under ThreadSanitizer, the first report ends the test program (and so
 * fails the test), with no variable to set.
 */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "halt_on_error=1 second_deadlock_stack=1";
}

const char *rt_data(const char *name)
{
	static char path[4096];
	const char *root = getenv("SIGMOE_TEST_DATA");

	ck_assert_msg(root != NULL, "SIGMOE_TEST_DATA is not set");
	snprintf(path, sizeof(path), "%s/reload/%s", root, name);
	return path;
}

void rt_tmpdir(char *out, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(out, len, "%s/sigmoe-reload-XXXXXX", tmp ? tmp : "/tmp");
	ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp: %s", strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void rt_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_all(int fd, const void *bytes, size_t len)
{
	const char *p = bytes;

	while (len > 0) {
		size_t chunk = len < 512 ? len : 512;
		ssize_t n = write(fd, p, chunk);

		ck_assert_msg(n > 0, "write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

void rt_publish(const char *dir, const char *name, const void *bytes,
                size_t len)
{
	char tmp[4096], path[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", tmp, strerror(errno));
	write_all(fd, bytes, len);
	close(fd);
	ck_assert_msg(rename(tmp, path) == 0, "rename: %s", strerror(errno));
}

void rt_overwrite(const char *dir, const char *name, const void *bytes,
                  size_t len)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	write_all(fd, bytes, len);
	close(fd);
}

void rt_publish_data(const char *dir, const char *name, const char *src)
{
	size_t len;
	char *bytes = ts_read_file(rt_data(src), &len);

	rt_publish(dir, name, bytes, len);
	free(bytes);
}

void rt_unlink(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_msg(unlink(path) == 0, "unlink %s: %s", path,
	              strerror(errno));
}

void rt_sha256sum(const char *path, char out[65])
{
	char cmd[4200];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	p = popen(cmd, "r");
	ck_assert(p != NULL);
	ck_assert_msg(fscanf(p, "%64s", out) == 1, "sha256sum printed nothing");
	pclose(p);
	ck_assert_uint_eq(strlen(out), 64);
}

static void read_rows(const char *name, double *v, size_t count)
{
	FILE *f = fopen(rt_data(name), "r");

	ck_assert_msg(f != NULL, "%s: %s", name, strerror(errno));
	for (size_t i = 0; i < count; i++)
		ck_assert_msg(fscanf(f, "%lf", &v[i]) == 1, "%s: value %zu",
		              name, i);
	fclose(f);
}

void rt_expect_load(struct rt_expect *ex)
{
	read_rows("input.txt", ex->x, RT_N * RT_D);
	read_rows("expect_va.txt", ex->prob_a, RT_N * RT_K);
	read_rows("expect_vb.txt", ex->prob_b, RT_N * RT_K);
	rt_sha256sum(rt_data("va.json"), ex->digest_a_json);
	rt_sha256sum(rt_data("vb.json"), ex->digest_b_json);
	rt_sha256sum(rt_data("va.safetensors"), ex->digest_a_st);
	rt_sha256sum(rt_data("vb.safetensors"), ex->digest_b_st);
}

int rt_matches(const struct moe_model *model, const struct rt_expect *ex,
               char which, struct moe_scratch *scratch)
{
	const double *want = which == 'a' ? ex->prob_a : ex->prob_b;
	double prob[RT_N * RT_K];
	struct moe_output out = {.probabilities = prob};
	struct moe_error err;

	if (moe_forward(model, ex->x, RT_N, scratch, &out, &err) < 0)
		return -1;
	for (size_t i = 0; i < RT_N * RT_K; i++)
		if (!(fabs(prob[i] - want[i]) <= 1e-12))
			return 0;
	return 1;
}

char rt_which(const struct moe_model *model, const struct rt_expect *ex)
{
	if (!strcmp(model->digest, ex->digest_a_json) ||
	    !strcmp(model->digest, ex->digest_a_st))
		return 'a';
	if (!strcmp(model->digest, ex->digest_b_json) ||
	    !strcmp(model->digest, ex->digest_b_st))
		return 'b';
	return 0;
}

/* The log goes to an unlinked file opened for reading and writing as
 * fd 2, so that it can be read back and leaves nothing behind. */
void rt_log_capture(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/sigmoe-reload-log-XXXXXX",
	         tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	ck_assert(fd >= 0);
	unlink(path);
	ck_assert(dup2(fd, 2) == 2);
	close(fd);
}

int rt_log_count(const char *needle)
{
	size_t cap = 1 << 16, len = 0;
	char *text = malloc(cap + 1);
	ssize_t n;
	int count = 0;

	ck_assert(text != NULL);
	while ((n = pread(2, text + len, cap - len, (off_t)len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			cap *= 2;
			text = realloc(text, cap + 1);
			ck_assert(text != NULL);
		}
	}
	text[len] = '\0';
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, needle))
			count++;
	free(text);
	return count;
}

double rt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void rt_sleep_ms(double ms)
{
	struct timespec ts = {(time_t)(ms / 1e3), (long)(fmod(ms, 1e3) * 1e6)};

	nanosleep(&ts, NULL);
}
