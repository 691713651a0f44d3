/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - the model store against a real directory: what a first
 * scan makes of good, bad, ignored and duplicate files; versions,
 * digests and references; every way a publisher changes a file; and the
 * watcher (inotify, and polling alone).
 *
 * Expected outputs and digests come from outside the code under test:
 * tests/reload/make_data.py (numpy) and the sha256sum command.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "reload_util.h"
#include "store.h"
#include "store_internal.h"
#include "test_support.h"

static struct rt_expect ex;
static char dir[1024];
static struct moe_scratch *scratch;

static void setup(void)
{
	rt_expect_load(&ex);
	rt_tmpdir(dir, sizeof(dir));
	scratch = moe_scratch_new();
	ck_assert(scratch != NULL);
}

static void teardown(void)
{
	moe_scratch_free(scratch);
	rt_rmtree(dir);
}

static struct srv_store *open_store(void)
{
	struct srv_store *store = NULL;
	int rc = srv_store_open(dir, &store);

	ck_assert_msg(rc == 0, "srv_store_open: %s", strerror(-rc));
	return store;
}

static void path_of(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* The number of the version in service, 0 if none. */
static uint64_t number_now(struct srv_store *store, const char *name)
{
	struct srv_version *v;
	uint64_t n;

	if (srv_store_acquire(store, name, &v, NULL, 0) < 0)
		return 0;
	n = v->number;
	srv_version_release(v);
	return n;
}

/* Which content ('a', 'b') the version in service has, checked by
 * running it; 0 if none. */
static char content_now(struct srv_store *store, const char *name)
{
	struct srv_version *v;
	char which;

	if (srv_store_acquire(store, name, &v, NULL, 0) < 0)
		return 0;
	which = rt_which(v->model, &ex);
	ck_assert_msg(which != 0, "unknown digest %s", v->model->digest);
	ck_assert_int_eq(rt_matches(v->model, &ex, which, scratch), 1);
	srv_version_release(v);
	return which;
}

static int wait_number(struct srv_store *store, const char *name,
                       uint64_t number, double timeout_ms)
{
	double end = rt_now_ms() + timeout_ms;

	while (number_now(store, name) < number) {
		if (rt_now_ms() > end)
			return 0;
		rt_sleep_ms(1);
	}
	return 1;
}

static struct srv_store_counts counts_of(struct srv_store *store,
                                         const char *name)
{
	struct srv_store_counts c;

	ck_assert_int_eq(srv_store_counts(store, name, &c), 0);
	return c;
}

static const struct srv_model_status *
find_status(const struct srv_model_status *st, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(st[i].name, name) == 0)
			return &st[i];
	return NULL;
}

static void write_text(const char *name, const char *text)
{
	rt_publish(dir, name, text, strlen(text));
}

/* The first half of a data file, published as name. */
static void publish_truncated(const char *name, const char *src)
{
	size_t len;
	char *bytes = ts_read_file(rt_data(src), &len);

	rt_publish(dir, name, bytes, len / 2);
	free(bytes);
}

/* ---- the first scan --------------------------------------------------- */

static void link_in(const char *target, const char *name)
{
	char path[4096];

	path_of(name, path, sizeof(path));
	ck_assert_int_eq(symlink(target, path), 0);
}

static void make_mixed_dir(void)
{
	char path[4096];

	rt_publish_data(dir, "a.json", "va.json");
	rt_publish_data(dir, "b.safetensors", "vb.safetensors");
	rt_publish_data(dir, "bad.json", "bad_shape.json");
	rt_publish_data(dir, "dup.json", "va.json");
	rt_publish_data(dir, "dup.safetensors", "vb.safetensors");
	rt_publish_data(dir, "v1.2-x_y.json", "vb.json");
	link_in("a.json", "link.json");
	link_in("nowhere.json", "dangling.json");

	/* ignored */
	rt_publish_data(dir, "x.json.tmp", "va.json");
	rt_publish_data(dir, "y.json.part", "va.json");
	rt_publish_data(dir, "z.json~", "va.json");
	rt_publish_data(dir, "bad name.json", "va.json");
	rt_publish_data(dir, "-lead.json", "va.json");
	rt_publish_data(dir, "notes.txt", "va.json");
	rt_publish_data(dir, ".hidden.json", "va.json");
	rt_publish_data(dir,
	                "n0123456789012345678901234567890123456789012345678901"
	                "234567890123.json",
	                "va.json");
	path_of("sub.json", path, sizeof(path));
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

START_TEST(test_first_scan)
{
	struct srv_model_status *st;
	const struct srv_model_status *s;
	struct srv_version *v;
	char reason[512], digest[65], path[4096];
	struct srv_store *store;
	int n;

	make_mixed_dir();
	rt_log_capture();
	store = open_store();

	n = srv_store_status(store, &st);
	ck_assert_int_eq(n, 7);
	ck_assert_str_eq(st[0].name, "a");
	ck_assert_str_eq(st[1].name, "b");
	ck_assert_str_eq(st[2].name, "bad");
	ck_assert_str_eq(st[3].name, "dangling");
	ck_assert_str_eq(st[4].name, "dup");
	ck_assert_str_eq(st[5].name, "link");
	ck_assert_str_eq(st[6].name, "v1.2-x_y");

	s = find_status(st, n, "a");
	ck_assert_int_eq(s->state, SRV_MODEL_AVAILABLE);
	ck_assert_ptr_nonnull(s->version);
	ck_assert_uint_eq(s->version->number, 1);
	ck_assert_str_eq(s->file, "a.json");
	ck_assert_ptr_null(s->last_error);
	ck_assert_uint_eq(s->loads_ok, 1);
	ck_assert_uint_eq(s->loads_failed, 0);

	s = find_status(st, n, "b");
	ck_assert_int_eq(s->state, SRV_MODEL_AVAILABLE);
	ck_assert_int_eq(s->version->model->format, MOE_FORMAT_SAFETENSORS);
	ck_assert_int_eq(s->version->model->mapped, 1);

	s = find_status(st, n, "bad");
	ck_assert_int_eq(s->state, SRV_MODEL_UNAVAILABLE);
	ck_assert_ptr_null(s->version);
	ck_assert_ptr_nonnull(s->last_error);
	ck_assert_msg(strstr(s->last_error, "bad.json: experts.weight"),
	              "last_error: %s", s->last_error);
	ck_assert(s->last_error_at > 0);
	ck_assert_uint_eq(s->loads_failed, 1);

	s = find_status(st, n, "dangling");
	ck_assert_int_eq(s->state, SRV_MODEL_UNAVAILABLE);
	ck_assert_ptr_nonnull(s->last_error);

	s = find_status(st, n, "dup");
	ck_assert_int_eq(s->state, SRV_MODEL_UNAVAILABLE);
	ck_assert_msg(strstr(s->last_error, "two files name model dup"),
	              "last_error: %s", s->last_error);
	ck_assert_uint_eq(s->loads_ok + s->loads_failed, 0);

	s = find_status(st, n, "link");
	ck_assert_int_eq(s->state, SRV_MODEL_AVAILABLE);
	ck_assert_str_eq(s->version->model->digest, ex.digest_a_json);
	srv_store_status_free(st, (size_t)n);

	/* the request path */
	ck_assert_int_eq(srv_store_acquire(store, "a", &v, NULL, 0), 0);
	ck_assert_str_eq(v->name, "a");
	ck_assert_str_eq(v->file, "a.json");
	ck_assert_int_eq(rt_matches(v->model, &ex, 'a', scratch), 1);
	srv_version_release(v);
	ck_assert_int_eq(content_now(store, "b"), 'b');
	ck_assert_int_eq(content_now(store, "v1.2-x_y"), 'b');
	ck_assert_int_eq(
	    srv_store_acquire(store, "bad", &v, reason, sizeof(reason)),
	    -EAGAIN);
	ck_assert_msg(strstr(reason, "bad.json"), "reason: %s", reason);
	ck_assert_int_eq(
	    srv_store_acquire(store, "dup", &v, reason, sizeof(reason)),
	    -EAGAIN);
	ck_assert_msg(strstr(reason, "two files"), "reason: %s", reason);
	ck_assert_int_eq(srv_store_acquire(store, "dup", &v, reason, 5),
	                 -EAGAIN);
	ck_assert_uint_eq(strlen(reason), 4);
	ck_assert_int_eq(srv_store_acquire(store, "x", &v, NULL, 0), -ENOENT);
	ck_assert_int_eq(srv_store_acquire(store, ".hidden", &v, NULL, 0),
	                 -ENOENT);
	ck_assert_int_eq(srv_store_acquire(store, "notes", &v, NULL, 0),
	                 -ENOENT);
	ck_assert_int_eq(srv_store_acquire(store, "sub", &v, NULL, 0), -ENOENT);
	ck_assert_int_eq(srv_store_acquire(store, "bad name", &v, NULL, 0),
	                 -ENOENT);

	/* the log: one line per load and failure, ignored names once */
	path_of("a.json", path, sizeof(path));
	rt_sha256sum(path, digest);
	snprintf(reason, sizeof(reason),
	         "loaded model a version 1 from a.json (sha256 %s)", digest);
	ck_assert_int_eq(rt_log_count(reason), 1);
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_int_eq(rt_log_count("model bad is unavailable"), 1);
	ck_assert_int_eq(rt_log_count("two files name model dup"), 1);
	ck_assert_int_eq(rt_log_count("ignoring x.json.tmp"), 1);
	ck_assert_int_eq(rt_log_count("ignoring y.json.part"), 1);
	ck_assert_int_eq(rt_log_count("ignoring z.json~"), 1);
	ck_assert_int_eq(rt_log_count("ignoring .hidden.json"), 1);
	ck_assert_int_eq(rt_log_count("ignoring bad name.json"), 1);
	ck_assert_int_eq(rt_log_count("ignoring -lead.json"), 1);
	ck_assert_int_eq(rt_log_count("ignoring notes.txt"), 1);
	ck_assert_int_eq(rt_log_count("ignoring n0123"), 1);
	ck_assert_int_eq(rt_log_count("ignoring sub.json"), 1);
	ck_assert_uint_eq(counts_of(store, "bad").scans, 3);
	n = srv_store_status(store, &st);
	ck_assert_uint_eq(find_status(st, n, "bad")->loads_failed, 1);
	srv_store_status_free(st, (size_t)n);
	srv_store_close(store);
	ck_assert_int_eq(srv_store_versions_alive(), 0);
}
END_TEST

START_TEST(test_open_errors)
{
	struct srv_store *store = NULL;
	struct srv_version *v;
	char path[4096];

	/* an empty directory is a store with no model */
	store = open_store();
	ck_assert_int_eq(srv_store_acquire(store, "m", &v, NULL, 0), -ENOENT);
	ck_assert_int_eq(srv_store_acquire(store, NULL, &v, NULL, 0), -ENOENT);
	ck_assert_str_eq(srv_store_dir(store), dir);
	srv_store_close(store);
	srv_store_close(NULL);
	srv_version_release(NULL);
	ck_assert_str_eq(srv_model_state_name(SRV_MODEL_LOADING), "LOADING");

	store = NULL;
	path_of("missing", path, sizeof(path));
	ck_assert_int_eq(srv_store_open(path, &store), -ENOENT);
	rt_publish_data(dir, "file.json", "va.json");
	path_of("file.json", path, sizeof(path));
	ck_assert_int_eq(srv_store_open(path, &store), -ENOTDIR);
	ck_assert_ptr_null(store);
}
END_TEST

/* ---- versions and references ----------------------------------------- */

START_TEST(test_versions_and_digests)
{
	struct srv_model_status *st;
	struct srv_version *v;
	struct srv_store *store;
	char digest[65], path[4096];
	double now = (double)time(NULL);
	int n;

	rt_publish_data(dir, "m.json", "va.json");
	store = open_store();
	path_of("m.json", path, sizeof(path));

	ck_assert_int_eq(srv_store_acquire(store, "m", &v, NULL, 0), 0);
	rt_sha256sum(path, digest);
	ck_assert_str_eq(v->model->digest, digest);
	ck_assert_uint_eq(v->number, 1);
	ck_assert(v->loaded_at > now - 60 && v->loaded_at < now + 60);
	srv_version_release(v);

	rt_publish_data(dir, "m.json", "vb.json");
	ck_assert_int_eq(srv_store_rescan(store), 1);
	ck_assert_int_eq(srv_store_acquire(store, "m", &v, NULL, 0), 0);
	rt_sha256sum(path, digest);
	ck_assert_str_eq(v->model->digest, digest);
	ck_assert_str_eq(v->model->digest, ex.digest_b_json);
	ck_assert_uint_eq(v->number, 2);
	ck_assert_int_eq(rt_matches(v->model, &ex, 'b', scratch), 1);
	srv_version_release(v);

	/* nothing changed: nothing loaded */
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_uint_eq(number_now(store, "m"), 2);

	/* the other format under the same name */
	rt_unlink(dir, "m.json");
	rt_publish_data(dir, "m.safetensors", "va.safetensors");
	ck_assert_int_eq(srv_store_rescan(store), 1);
	ck_assert_int_eq(srv_store_acquire(store, "m", &v, NULL, 0), 0);
	path_of("m.safetensors", path, sizeof(path));
	rt_sha256sum(path, digest);
	ck_assert_str_eq(v->model->digest, digest);
	ck_assert_str_eq(v->file, "m.safetensors");
	ck_assert_uint_eq(v->number, 3);
	ck_assert_int_eq(v->model->mapped, 1);
	ck_assert_int_eq(rt_matches(v->model, &ex, 'a', scratch), 1);
	srv_version_release(v);

	/* touching the file gives no new version: same content */
	ck_assert_int_eq(utimensat(AT_FDCWD, path, NULL, 0), 0);
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_uint_eq(number_now(store, "m"), 3);
	n = srv_store_status(store, &st);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(st[0].loads_ok, 3);
	ck_assert_str_eq(st[0].file, "m.safetensors");
	srv_store_status_free(st, (size_t)n);
	srv_store_close(store);
}
END_TEST

START_TEST(test_old_version_lives_on)
{
	struct srv_version *old, *cur;
	struct srv_store *store;
	struct srv_store_counts c;

	rt_publish_data(dir, "m.json", "va.json");
	store = open_store();
	ck_assert_int_eq(srv_store_acquire(store, "m", &old, NULL, 0), 0);

	rt_publish_data(dir, "m.json", "vb.json");
	ck_assert_int_eq(srv_store_rescan(store), 1);
	ck_assert_int_eq(srv_store_acquire(store, "m", &cur, NULL, 0), 0);
	ck_assert_uint_eq(cur->number, 2);
	ck_assert_int_eq(rt_matches(cur->model, &ex, 'b', scratch), 1);

	/* the old version is still whole while it is referenced */
	ck_assert_uint_eq(old->number, 1);
	ck_assert_str_eq(old->name, "m");
	ck_assert_int_eq(rt_matches(old->model, &ex, 'a', scratch), 1);
	c = counts_of(store, "m");
	ck_assert_uint_eq(c.alive, 2);
	ck_assert_uint_eq(c.freed, 0);
	ck_assert_int_eq(srv_store_versions_alive(), 2);

	srv_version_release(old);
	c = counts_of(store, "m");
	ck_assert_uint_eq(c.alive, 1);
	ck_assert_uint_eq(c.freed, 1);
	srv_version_release(cur);
	srv_store_close(store);
	ck_assert_int_eq(srv_store_versions_alive(), 0);
}
END_TEST

struct rescan_job {
	struct srv_store *store;
	atomic_int done;
	int result;
};

static void *rescan_thread(void *arg)
{
	struct rescan_job *job = arg;

	job->result = srv_store_rescan(job->store);
	atomic_store(&job->done, 1);
	return NULL;
}

/* A third version is not loaded while the oldest is still in use. */
START_TEST(test_at_most_two_versions)
{
	struct rescan_job job = {0};
	struct srv_version *v1;
	struct srv_store_counts c;
	pthread_t t;

	rt_publish_data(dir, "m.json", "va.json");
	job.store = open_store();
	ck_assert_int_eq(srv_store_acquire(job.store, "m", &v1, NULL, 0), 0);
	rt_publish_data(dir, "m.json", "vb.json");
	ck_assert_int_eq(srv_store_rescan(job.store), 1);

	rt_publish_data(dir, "m.json", "va.json");
	ck_assert_int_eq(pthread_create(&t, NULL, rescan_thread, &job), 0);
	rt_sleep_ms(200);
	ck_assert_int_eq(atomic_load(&job.done), 0);
	ck_assert_uint_eq(number_now(job.store, "m"), 2);
	ck_assert_uint_eq(counts_of(job.store, "m").alive, 2);

	srv_version_release(v1);
	pthread_join(t, NULL);
	ck_assert_int_eq(job.result, 1);
	ck_assert_uint_eq(number_now(job.store, "m"), 3);
	ck_assert_int_eq(content_now(job.store, "m"), 'a');
	c = counts_of(job.store, "m");
	ck_assert_uint_eq(c.max_alive, 2);
	ck_assert_uint_eq(c.created, 3);
	ck_assert_uint_eq(c.freed, 2);
	srv_store_close(job.store);
}
END_TEST

/* ---- files that go wrong ---------------------------------------------- */

START_TEST(test_bad_files_keep_old_version)
{
	struct srv_model_status *st;
	struct srv_store *store;
	size_t len;
	char *bytes;
	int n;

	rt_publish_data(dir, "m.json", "va.json");
	rt_publish_data(dir, "s.safetensors", "va.safetensors");
	rt_log_capture();
	store = open_store();

	/* truncated */
	publish_truncated("m.json", "va.json");
	publish_truncated("s.safetensors", "vb.safetensors");
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_int_eq(content_now(store, "m"), 'a');
	ck_assert_int_eq(content_now(store, "s"), 'a');
	ck_assert_uint_eq(number_now(store, "m"), 1);
	n = srv_store_status(store, &st);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(st[0].state, SRV_MODEL_AVAILABLE);
	ck_assert_msg(st[0].last_error && strstr(st[0].last_error, "m.json"),
	              "last_error: %s", st[0].last_error);
	ck_assert(st[0].last_error_at > 0);
	ck_assert_uint_eq(st[0].loads_failed, 1);
	ck_assert_msg(st[1].last_error &&
	                  strstr(st[1].last_error, "s.safetensors"),
	              "last_error: %s", st[1].last_error);
	srv_store_status_free(st, (size_t)n);

	/* the same bad file is not tried again, nor logged again */
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_int_eq(rt_log_count("version 1 stays in service"), 2);

	/* corrupt: an unknown key; then a wrong shape */
	bytes = ts_read_file(rt_data("va.json"), &len);
	memcpy(strstr(bytes, "\"format\""), "\"formax\"", 8);
	rt_publish(dir, "m.json", bytes, len);
	free(bytes);
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_int_eq(content_now(store, "m"), 'a');
	rt_publish_data(dir, "m.json", "bad_shape.json");
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_int_eq(content_now(store, "m"), 'a');
	n = srv_store_status(store, &st);
	ck_assert_uint_eq(st[0].loads_failed, 3);
	ck_assert_msg(strstr(st[0].last_error, "m.json: experts.weight"),
	              "last_error: %s", st[0].last_error);
	srv_store_status_free(st, (size_t)n);

	/* the next good file goes into service and clears the error */
	rt_publish_data(dir, "m.json", "vb.json");
	ck_assert_int_eq(srv_store_rescan(store), 1);
	ck_assert_int_eq(content_now(store, "m"), 'b');
	ck_assert_uint_eq(number_now(store, "m"), 2);
	n = srv_store_status(store, &st);
	ck_assert_ptr_null(st[0].last_error);
	ck_assert(st[0].last_error_at == 0);
	ck_assert_uint_eq(st[0].loads_ok, 2);
	srv_store_status_free(st, (size_t)n);
	srv_store_close(store);
}
END_TEST

START_TEST(test_first_file_bad_then_fixed)
{
	struct srv_version *v;
	struct srv_store *store;
	char reason[512];

	rt_publish_data(dir, "m.json", "bad_shape.json");
	store = open_store();
	ck_assert_int_eq(
	    srv_store_acquire(store, "m", &v, reason, sizeof(reason)), -EAGAIN);
	ck_assert_msg(strstr(reason, "m.json: experts.weight"), "reason: %s",
	              reason);

	write_text("m.json", "{\"format\": \"sigmoe-model\"");
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_int_eq(
	    srv_store_acquire(store, "m", &v, reason, sizeof(reason)), -EAGAIN);
	ck_assert_msg(strstr(reason, "m.json"), "reason: %s", reason);

	rt_publish_data(dir, "m.json", "va.json");
	ck_assert_int_eq(srv_store_rescan(store), 1);
	ck_assert_int_eq(
	    srv_store_acquire(store, "m", &v, reason, sizeof(reason)), 0);
	ck_assert_uint_eq(v->number, 1);
	ck_assert_str_eq(reason, "");
	srv_version_release(v);
	srv_store_close(store);
}
END_TEST

START_TEST(test_duplicate_while_serving)
{
	struct srv_model_status *st;
	struct srv_store *store;
	int n;

	rt_publish_data(dir, "m.json", "va.json");
	store = open_store();
	rt_publish_data(dir, "m.safetensors", "vb.safetensors");
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_int_eq(content_now(store, "m"), 'a');
	n = srv_store_status(store, &st);
	ck_assert_int_eq(st[0].state, SRV_MODEL_AVAILABLE);
	ck_assert_msg(st[0].last_error && strstr(st[0].last_error, "two files"),
	              "last_error: %s", st[0].last_error);
	srv_store_status_free(st, (size_t)n);

	/* the file in service goes: the other one is loaded */
	rt_unlink(dir, "m.json");
	ck_assert_int_eq(srv_store_rescan(store), 1);
	ck_assert_int_eq(content_now(store, "m"), 'b');
	ck_assert_uint_eq(number_now(store, "m"), 2);

	/* a duplicate comes and goes: no new version, no error left */
	rt_publish_data(dir, "m.json", "va.json");
	ck_assert_int_eq(srv_store_rescan(store), 0);
	rt_unlink(dir, "m.json");
	ck_assert_int_eq(srv_store_rescan(store), 0);
	ck_assert_uint_eq(number_now(store, "m"), 2);
	n = srv_store_status(store, &st);
	ck_assert_ptr_null(st[0].last_error);
	ck_assert_int_eq(st[0].state, SRV_MODEL_AVAILABLE);
	srv_store_status_free(st, (size_t)n);
	srv_store_close(store);
}
END_TEST

START_TEST(test_delete_then_add)
{
	struct srv_model_status *st;
	struct srv_version *held, *other;
	struct srv_store *store;
	struct srv_store_counts c;

	rt_publish_data(dir, "m.json", "va.json");
	rt_log_capture();
	store = open_store();
	ck_assert_int_eq(srv_store_acquire(store, "m", &held, NULL, 0), 0);

	rt_unlink(dir, "m.json");
	ck_assert_int_eq(srv_store_rescan(store), 1);
	ck_assert_int_eq(srv_store_acquire(store, "m", &other, NULL, 0),
	                 -ENOENT);
	ck_assert_int_eq(srv_store_status(store, &st), 0);
	srv_store_status_free(st, 0);
	ck_assert_int_eq(rt_log_count("removed model m (m.json is gone)"), 1);

	/* the request that started before still computes on it */
	ck_assert_int_eq(rt_matches(held->model, &ex, 'a', scratch), 1);
	c = counts_of(store, "m");
	ck_assert_uint_eq(c.alive, 1);
	srv_version_release(held);
	ck_assert_uint_eq(counts_of(store, "m").alive, 0);

	rt_publish_data(dir, "m.json", "vb.json");
	ck_assert_int_eq(srv_store_rescan(store), 1);
	ck_assert_uint_eq(number_now(store, "m"), 2);
	ck_assert_int_eq(content_now(store, "m"), 'b');
	srv_store_close(store);
}
END_TEST

/* A removed model is freed when its last reference goes, not before. */
START_TEST(test_removed_freed_after_last_reference)
{
	struct srv_version *held, *other;
	struct srv_store *store;
	struct srv_store_counts c;

	rt_publish_data(dir, "m.safetensors", "va.safetensors");
	store = open_store();
	ck_assert_int_eq(srv_store_acquire(store, "m", &held, NULL, 0), 0);
	rt_unlink(dir, "m.safetensors");
	ck_assert_int_eq(srv_store_rescan(store), 1);
	ck_assert_int_eq(srv_store_acquire(store, "m", &other, NULL, 0),
	                 -ENOENT);

	c = counts_of(store, "m");
	ck_assert_uint_eq(c.alive, 1);
	ck_assert_uint_eq(c.freed, 0);
	ck_assert_int_eq(held->model->mapped, 1);
	ck_assert_int_eq(rt_matches(held->model, &ex, 'a', scratch), 1);

	srv_version_release(held);
	c = counts_of(store, "m");
	ck_assert_uint_eq(c.alive, 0);
	ck_assert_uint_eq(c.freed, 1);
	ck_assert_int_eq(srv_store_versions_alive(), 0);
	srv_store_close(store);
}
END_TEST

/* ---- the settling rule and the hints ---------------------------------- */

/* Without inotify's word, a new file must look the same twice (or be
 * old enough); with it, it loads at once. */
START_TEST(test_settle_and_hints)
{
	struct srv_scan_hints none = {0};
	char *names[1] = {"m.json"};
	struct srv_scan_hints hint = {0, 1, names};
	struct srv_model_status *st;
	struct srv_version *v;
	struct timespec future[2] = {{time(NULL) + 3600, 0},
	                             {time(NULL) + 3600, 0}};
	struct srv_store *store;
	char reason[256], path[4096];
	int recheck, n;

	store = open_store();
	rt_publish_data(dir, "n.json", "va.json");
	ck_assert_int_eq(srv_store_scan(store, &none, &recheck), 0);
	ck_assert_int_eq(recheck, 1);
	n = srv_store_status(store, &st);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(st[0].state, SRV_MODEL_LOADING);
	srv_store_status_free(st, (size_t)n);
	ck_assert_int_eq(
	    srv_store_acquire(store, "n", &v, reason, sizeof(reason)), -EAGAIN);
	ck_assert_str_eq(reason, "model n is loading");

	/* still fresh: still settling; then old enough */
	ck_assert_int_eq(srv_store_scan(store, &none, &recheck), 0);
	ck_assert_int_eq(recheck, 1);
	rt_sleep_ms(120);
	ck_assert_int_eq(srv_store_scan(store, &none, &recheck), 1);
	ck_assert_int_eq(recheck, 0);
	ck_assert_uint_eq(number_now(store, "n"), 1);

	/* a clock that writes mtime in the future: the same look for long
	 * enough will do */
	rt_publish_data(dir, "f.json", "va.json");
	path_of("f.json", path, sizeof(path));
	ck_assert_int_eq(utimensat(AT_FDCWD, path, future, 0), 0);
	ck_assert_int_eq(srv_store_scan(store, &none, &recheck), 0);
	rt_sleep_ms(50);
	ck_assert_int_eq(srv_store_scan(store, &none, &recheck), 0);
	ck_assert_int_eq(recheck, 1);
	rt_sleep_ms(70);
	ck_assert_int_eq(srv_store_scan(store, &none, &recheck), 1);
	ck_assert_uint_eq(number_now(store, "f"), 1);

	/* named by inotify: at once */
	rt_publish_data(dir, "m.json", "vb.json");
	ck_assert_int_eq(srv_store_scan(store, &hint, &recheck), 1);
	ck_assert_int_eq(recheck, 0);
	ck_assert_uint_eq(number_now(store, "m"), 1);

	/* an old file settles at once */
	rt_publish_data(dir, "n.json", "vb.json");
	rt_sleep_ms(150);
	ck_assert_int_eq(srv_store_scan(store, &none, &recheck), 1);
	ck_assert_uint_eq(number_now(store, "n"), 2);

	/* a file that goes while settling is simply gone */
	rt_publish_data(dir, "o.json", "va.json");
	ck_assert_int_eq(srv_store_scan(store, &none, &recheck), 0);
	rt_unlink(dir, "o.json");
	ck_assert_int_eq(srv_store_scan(store, &none, &recheck), 1);
	ck_assert_int_eq(srv_store_acquire(store, "o", &v, NULL, 0), -ENOENT);
	srv_store_close(store);
}
END_TEST

START_TEST(test_account)
{
	const double w[2 * 3] = {0.2, 0.3, 0.5, 0.1, 0.1, 0.8};
	struct srv_model_status *st;
	struct srv_version *v;
	struct srv_store *store;
	int n;

	rt_publish_data(dir, "m.json", "va.json");
	store = open_store();
	ck_assert_int_eq(srv_store_acquire(store, "m", &v, NULL, 0), 0);
	srv_store_account(store, v, 2, w);
	srv_store_account(store, v, 5, NULL);
	srv_version_release(v);

	n = srv_store_status(store, &st);
	ck_assert_uint_eq(st[0].instances, 7);
	ck_assert_ptr_nonnull(st[0].expert_weight_sum);
	ck_assert_double_eq_tol(st[0].expert_weight_sum[0], 0.3, 1e-15);
	ck_assert_double_eq_tol(st[0].expert_weight_sum[1], 0.4, 1e-15);
	ck_assert_double_eq_tol(st[0].expert_weight_sum[2], 1.3, 1e-15);
	srv_store_status_free(st, (size_t)n);
	srv_store_close(store);
}
END_TEST

/* ---- the watcher ------------------------------------------------------ */

START_TEST(test_watch_rename_over)
{
	struct srv_store *store;
	double t0;

	rt_publish_data(dir, "m.json", "va.json");
	store = open_store();
	ck_assert_int_eq(srv_store_watch_ms(store, 0, 1), 0);
	ck_assert_int_eq(srv_store_watch_ms(store, 0, 1), -EALREADY);

	t0 = rt_now_ms();
	rt_publish_data(dir, "m.json", "vb.json");
	ck_assert_msg(wait_number(store, "m", 2, 2000), "no swap seen");
	ck_assert_msg(rt_now_ms() - t0 < 1000, "swap took %.0f ms",
	              rt_now_ms() - t0);
	ck_assert_int_eq(content_now(store, "m"), 'b');

	rt_unlink(dir, "m.json");
	ck_assert_msg(wait_number(store, "m", 0, 2000), "no swap seen");
	while (number_now(store, "m") != 0 && rt_now_ms() - t0 < 3000)
		rt_sleep_ms(1);
	ck_assert_uint_eq(number_now(store, "m"), 0);
	rt_publish_data(dir, "m.safetensors", "va.safetensors");
	ck_assert_msg(wait_number(store, "m", 3, 2000), "no swap seen");
	ck_assert_int_eq(content_now(store, "m"), 'a');
	srv_store_close(store);
}
END_TEST

/* A slow writer overwriting in place: the close loads the final bytes. */
START_TEST(test_watch_inplace_slow_writer)
{
	struct srv_store *store;
	char path[4096];
	size_t len;
	char *bytes;
	int fd;

	rt_publish_data(dir, "m.json", "va.json");
	store = open_store();
	ck_assert_int_eq(srv_store_watch_ms(store, 50, 1), 0);

	bytes = ts_read_file(rt_data("vb.json"), &len);
	path_of("m.json", path, sizeof(path));
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert(fd >= 0);
	for (size_t off = 0; off < len; off += 400) {
		size_t n = len - off < 400 ? len - off : 400;

		ck_assert(write(fd, bytes + off, n) == (ssize_t)n);
		rt_sleep_ms(60);
	}
	close(fd);
	free(bytes);
	ck_assert_msg(wait_number(store, "m", 2, 2000), "no swap seen");
	ck_assert_int_eq(content_now(store, "m"), 'b');
	srv_store_close(store);
}
END_TEST

/* An editor's burst of writes gives one load, of the final content. */
START_TEST(test_watch_burst_one_load)
{
	struct srv_model_status *st;
	struct srv_store *store;
	size_t la, lb;
	char *a = ts_read_file(rt_data("va.json"), &la);
	char *b = ts_read_file(rt_data("vb.json"), &lb);
	int n;

	rt_publish_data(dir, "m.json", "va.json");
	store = open_store();
	ck_assert_int_eq(srv_store_watch_ms(store, 0, 1), 0);
	for (int i = 0; i < 6; i++) {
		if (i % 2)
			rt_overwrite(dir, "m.json", b, lb);
		else
			rt_overwrite(dir, "m.json", a, la);
	}
	rt_publish(dir, "m.json", b, lb);
	ck_assert_msg(wait_number(store, "m", 2, 2000), "no swap seen");
	rt_sleep_ms(500);
	n = srv_store_status(store, &st);
	ck_assert_uint_eq(st[0].loads_ok, 2);
	ck_assert_uint_eq(st[0].loads_failed, 0);
	ck_assert_uint_eq(st[0].version->number, 2);
	srv_store_status_free(st, (size_t)n);
	ck_assert_int_eq(content_now(store, "m"), 'b');
	free(a);
	free(b);
	srv_store_close(store);
}
END_TEST

/* A rewrite in place that leaves size and mtime as they were (same
 * length, within one timestamp tick, or mtime put back): only inotify's
 * close-after-write can tell, and it must. */
START_TEST(test_watch_same_stat_rewrite)
{
	struct srv_version *v;
	struct srv_store *store;
	struct stat before;
	struct timespec keep[2];
	char path[4096], digest[65];
	size_t len;
	char *bytes = ts_read_file(rt_data("va.json"), &len);

	rt_publish(dir, "m.json", bytes, len);
	path_of("m.json", path, sizeof(path));
	ck_assert_int_eq(stat(path, &before), 0);
	store = open_store();
	ck_assert_int_eq(srv_store_watch_ms(store, 0, 1), 0);

	memcpy(strstr(bytes, "version A"), "version Z", 9);
	rt_overwrite(dir, "m.json", bytes, len);
	keep[0] = before.st_atim;
	keep[1] = before.st_mtim;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, keep, 0), 0);
	ck_assert_msg(wait_number(store, "m", 2, 2000), "no swap seen");

	ck_assert_int_eq(srv_store_acquire(store, "m", &v, NULL, 0), 0);
	rt_sha256sum(path, digest);
	ck_assert_str_eq(v->model->digest, digest);
	ck_assert_str_ne(digest, ex.digest_a_json);
	ck_assert_int_eq(rt_matches(v->model, &ex, 'a', scratch), 1);
	srv_version_release(v);
	free(bytes);
	srv_store_close(store);
}
END_TEST

/* A Kubernetes ConfigMap: m.json -> ..data/m.json, ..data -> ..v1; the
 * update swaps ..data to ..v2.  Polling alone must see it. */
START_TEST(test_poll_symlink_swap)
{
	struct srv_store *store;
	char a[4096], b[4096];
	double t0;

	snprintf(a, sizeof(a), "%s/..v1", dir);
	ck_assert_int_eq(mkdir(a, 0755), 0);
	rt_publish_data(a, "m.json", "va.json");
	snprintf(a, sizeof(a), "%s/..data", dir);
	ck_assert_int_eq(symlink("..v1", a), 0);
	snprintf(a, sizeof(a), "%s/m.json", dir);
	ck_assert_int_eq(symlink("..data/m.json", a), 0);
	rt_log_capture();
	store = open_store();
	ck_assert_int_eq(content_now(store, "m"), 'a');
	ck_assert_int_eq(srv_store_watch_ms(store, 100, 0), 0);

	snprintf(a, sizeof(a), "%s/..v2", dir);
	ck_assert_int_eq(mkdir(a, 0755), 0);
	rt_publish_data(a, "m.json", "vb.json");
	snprintf(a, sizeof(a), "%s/..data_tmp", dir);
	ck_assert_int_eq(symlink("..v2", a), 0);
	snprintf(b, sizeof(b), "%s/..data", dir);
	t0 = rt_now_ms();
	ck_assert_int_eq(rename(a, b), 0);
	ck_assert_msg(wait_number(store, "m", 2, 3000), "no swap seen");
	ck_assert_msg(rt_now_ms() - t0 < 1000, "swap took %.0f ms",
	              rt_now_ms() - t0);
	ck_assert_int_eq(content_now(store, "m"), 'b');
	ck_assert_int_eq(rt_log_count("ignoring ..data in"), 1);
	ck_assert_int_eq(rt_log_count("ignoring ..v1"), 1);
	ck_assert_int_eq(rt_log_count("loaded model m version 2 from m.json"),
	                 1);
	srv_store_close(store);
}
END_TEST

/* The watcher stops at once, whatever its poll interval. */
START_TEST(test_close_is_prompt)
{
	struct srv_store *store;
	double t0;

	rt_publish_data(dir, "m.json", "va.json");
	store = open_store();
	ck_assert_int_eq(srv_store_watch(store, 3600), 0);
	rt_sleep_ms(20);
	t0 = rt_now_ms();
	srv_store_close(store);
	ck_assert_msg(rt_now_ms() - t0 < 200, "close took %.0f ms",
	              rt_now_ms() - t0);
}
END_TEST

/* The directory goes and comes back: models stay, then rescans resume. */
START_TEST(test_directory_removed_and_back)
{
	struct srv_store *store;
	char moved[4200];

	rt_publish_data(dir, "m.json", "va.json");
	rt_log_capture();
	store = open_store();
	ck_assert_int_eq(srv_store_watch_ms(store, 0, 1), 0);

	snprintf(moved, sizeof(moved), "%s.moved", dir);
	ck_assert_int_eq(rename(dir, moved), 0);
	rt_sleep_ms(200);
	ck_assert_int_eq(content_now(store, "m"), 'a');
	ck_assert_int_eq(srv_store_rescan(store), -ENOENT);
	ck_assert_int_eq(rt_log_count("was removed or moved"), 1);

	ck_assert_int_eq(rename(moved, dir), 0);
	rt_sleep_ms(1300);
	ck_assert_int_eq(rt_log_count("watching model directory"), 1);
	rt_publish_data(dir, "m.json", "vb.json");
	ck_assert_msg(wait_number(store, "m", 2, 2000), "no swap seen");
	srv_store_close(store);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *scan = tcase_create("scan");
	TCase *watch = tcase_create("watch");

	tcase_add_checked_fixture(scan, setup, teardown);
	tcase_set_timeout(scan, 20);
	tcase_add_test(scan, test_first_scan);
	tcase_add_test(scan, test_open_errors);
	tcase_add_test(scan, test_versions_and_digests);
	tcase_add_test(scan, test_old_version_lives_on);
	tcase_add_test(scan, test_at_most_two_versions);
	tcase_add_test(scan, test_bad_files_keep_old_version);
	tcase_add_test(scan, test_first_file_bad_then_fixed);
	tcase_add_test(scan, test_duplicate_while_serving);
	tcase_add_test(scan, test_delete_then_add);
	tcase_add_test(scan, test_removed_freed_after_last_reference);
	tcase_add_test(scan, test_settle_and_hints);
	tcase_add_test(scan, test_account);
	suite_add_tcase(s, scan);

	tcase_add_checked_fixture(watch, setup, teardown);
	tcase_set_timeout(watch, 30);
	tcase_add_test(watch, test_watch_rename_over);
	tcase_add_test(watch, test_watch_inplace_slow_writer);
	tcase_add_test(watch, test_watch_burst_one_load);
	tcase_add_test(watch, test_watch_same_stat_rewrite);
	tcase_add_test(watch, test_poll_symlink_swap);
	tcase_add_test(watch, test_close_is_prompt);
	tcase_add_test(watch, test_directory_removed_and_back);
	suite_add_tcase(s, watch);
	return s;
}

int main(void)
{
	srv_log_setup(CFG_LOG_TEXT, CFG_LOG_DEBUG);
	return ts_run(store_suite());
}
