/* SPDX-License-Identifier: MIT */
/*
 * test_http.c - the swap storm end to end: sigmoed serves a directory,
 * client threads POST predictions over HTTP (libcurl, keep-alive), and
 * the main thread swaps the model 200 times by rename, by overwriting
 * in place and with bad files, noticed by inotify or by SIGHUP.
 *
 * Every response must be 200, its probabilities those of version A or
 * of version B (computed by numpy), and one model_version must always
 * mean one content.  Usage: test_reload_http PATH_TO_SIGMOED.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reload_util.h"
#include "test_support.h"

#define CLIENTS 3
#define SWAPS 200
#define MAX_VERSIONS 1024

static const char *sigmoed;

struct run {
	char models[1024];
	char log[1100];
	pid_t pid;
	int port;
	struct rt_expect ex;
	char body[4096];

	atomic_int stop;
	atomic_long served, failed, mismatches;
	atomic_char content[MAX_VERSIONS]; /* 'a'/'b' per version seen */
};

struct reply {
	char *data;
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	char *grown = realloc(r->data, r->len + size * n + 1);

	if (!grown)
		return 0;
	memcpy(grown + r->len, p, size * n);
	r->len += size * n;
	grown[r->len] = '\0';
	r->data = grown;
	return size * n;
}

/* One request; returns the status code and the body in *r. */
static long http(CURL *c, const struct run *run, const char *path,
                 const char *body, struct reply *r)
{
	char url[256];
	long code = 0;

	r->data = NULL;
	r->len = 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", run->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	else
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

/* 'a' or 'b' for a predict response's probabilities, else 0. */
static char which_of(const struct run *run, const cJSON *probs)
{
	for (int w = 0; w < 2; w++) {
		const double *want = w ? run->ex.prob_b : run->ex.prob_a;
		int ok = cJSON_GetArraySize(probs) == RT_N;

		for (int i = 0; ok && i < RT_N; i++) {
			cJSON *row = cJSON_GetArrayItem(probs, i);

			for (int k = 0; ok && k < RT_K; k++) {
				cJSON *v = cJSON_GetArrayItem(row, k);

				ok = cJSON_IsNumber(v) &&
				     fabs(v->valuedouble -
				          want[i * RT_K + k]) <= 1e-12;
			}
		}
		if (ok)
			return w ? 'b' : 'a';
	}
	return 0;
}

/* Check one predict response; count what it was. */
static void judge(struct run *run, long code, const char *body)
{
	cJSON *doc = code == 200 ? cJSON_Parse(body) : NULL;
	cJSON *ver = cJSON_GetObjectItem(doc, "model_version");
	char which = which_of(run, cJSON_GetObjectItem(doc, "probabilities"));
	char none = 0;
	long n = cJSON_IsNumber(ver) ? (long)ver->valuedouble : -1;

	if (!doc || n < 1 || n >= MAX_VERSIONS) {
		atomic_fetch_add(&run->failed, 1);
	} else if (!which || (!atomic_compare_exchange_strong(&run->content[n],
	                                                      &none, which) &&
	                      none != which)) {
		atomic_fetch_add(&run->mismatches, 1);
	} else {
		atomic_fetch_add(&run->served, 1);
	}
	cJSON_Delete(doc);
}

static void *client(void *arg)
{
	struct run *run = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *hdr =
	    curl_slist_append(NULL, "Content-Type: application/json");

	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	while (!atomic_load(&run->stop)) {
		struct reply r;
		long code = http(c, run, "/v1/models/m/predict", run->body, &r);

		judge(run, code, r.data ? r.data : "");
		free(r.data);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return NULL;
}

/* ---- the daemon ------------------------------------------------------- */

static int logged_port(const char *log)
{
	size_t len;
	char *text = ts_read_file(log, &len);
	char *p = strstr(text, "listening on http://");
	char *colon, *end;
	int port = 0;

	if (p && (end = strstr(p, " with")) != NULL) {
		for (colon = end; colon > p && *colon != ':'; colon--)
			;
		port = atoi(colon + 1);
	}
	free(text);
	return port;
}

static void daemon_start(struct run *run)
{
	int fd;

	fd = open(run->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert(fd >= 0);
	run->pid = fork();
	ck_assert(run->pid >= 0);
	if (run->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 2);
		execl(sigmoed, sigmoed, "--listen", "127.0.0.1:0", "--models",
		      run->models, "--poll-interval", "1", "--threads", "4",
		      (char *)NULL);
		_exit(127);
	}
	close(fd);
	for (int i = 0; i < 1000 && !run->port; i++) {
		rt_sleep_ms(20);
		run->port = logged_port(run->log);
	}
	ck_assert_msg(run->port > 0, "sigmoed did not start: see %s", run->log);
}

static int daemon_stop(struct run *run)
{
	int status;

	kill(run->pid, SIGTERM);
	ck_assert_int_eq(waitpid(run->pid, &status, 0), run->pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* GET /v1/models/m until its version is number (and then its digest
 * must be digest), or until it shows a failure newer than since. */
static void await_status(struct run *run, CURL *c, long number,
                         const char *digest, int want_error)
{
	double end = rt_now_ms() + 5000;

	for (;;) {
		struct reply r;
		long code = http(c, run, "/v1/models/m", NULL, &r);
		cJSON *doc = code == 200 ? cJSON_Parse(r.data) : NULL;
		cJSON *ver = cJSON_GetObjectItem(doc, "version");
		cJSON *dig = cJSON_GetObjectItem(doc, "digest");
		cJSON *err = cJSON_GetObjectItem(doc, "last_error");
		int done =
		    cJSON_IsNumber(ver) && (long)ver->valuedouble == number &&
		    (want_error ? cJSON_IsString(err) : cJSON_IsNull(err));

		if (done)
			ck_assert_str_eq(cJSON_GetStringValue(dig), digest);
		cJSON_Delete(doc);
		free(r.data);
		if (done)
			return;
		ck_assert_msg(rt_now_ms() < end,
		              "version %ld (error %d) not seen in 5 s", number,
		              want_error);
		rt_sleep_ms(2);
	}
}

static void make_body(struct run *run)
{
	size_t n =
	    (size_t)snprintf(run->body, sizeof(run->body), "{\"instances\": [");

	for (int i = 0; i < RT_N; i++) {
		n += (size_t)snprintf(run->body + n, sizeof(run->body) - n,
		                      "%s[", i ? ", " : "");
		for (int j = 0; j < RT_D; j++)
			n += (size_t)snprintf(
			    run->body + n, sizeof(run->body) - n, "%s%.17g",
			    j ? ", " : "", run->ex.x[i * RT_D + j]);
		n +=
		    (size_t)snprintf(run->body + n, sizeof(run->body) - n, "]");
	}
	snprintf(run->body + n, sizeof(run->body) - n, "]}");
}

START_TEST(test_http_storm)
{
	static struct run run;
	CURL *c = curl_easy_init();
	pthread_t t[CLIENTS];
	long number = 1;
	char cur = 'a', tmp[900];
	int swaps = 0, rejected = 0;
	uint64_t rng = 99;
	char *log;
	size_t len;

	memset(&run, 0, sizeof(run));
	rt_expect_load(&run.ex);
	make_body(&run);
	rt_tmpdir(tmp, sizeof(tmp));
	snprintf(run.models, sizeof(run.models), "%s/models", tmp);
	snprintf(run.log, sizeof(run.log), "%s/sigmoed.log", tmp);
	ck_assert_int_eq(mkdir(run.models, 0755), 0);
	rt_publish_data(run.models, "m.json", "va.json");
	daemon_start(&run);
	await_status(&run, c, 1, run.ex.digest_a_json, 0);
	for (int i = 0; i < CLIENTS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, client, &run), 0);

	while (swaps < SWAPS) {
		char next = cur == 'a' ? 'b' : 'a';
		char *bytes = ts_read_file(
		    rt_data(next == 'a' ? "va.json" : "vb.json"), &len);
		unsigned op;

		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		op = (unsigned)((rng >> 33) % 10);
		if (op < 4) {
			rt_publish(run.models, "m.json", bytes, len);
		} else if (op < 7) {
			rt_overwrite(run.models, "m.json", bytes, len);
		} else if (op < 9) {
			rt_publish(run.models, "m.json", bytes, len);
			kill(run.pid, SIGHUP);
		} else {
			rt_publish(run.models, "m.json", bytes, len / 2);
		}
		free(bytes);
		if (op < 9) {
			cur = next;
			swaps++;
			number++;
		} else {
			rejected++;
		}
		await_status(&run, c, number,
		             cur == 'a' ? run.ex.digest_a_json
		                        : run.ex.digest_b_json,
		             op == 9);
	}
	atomic_store(&run.stop, 1);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(t[i], NULL);
	curl_easy_cleanup(c);

	printf("http storm: %d swaps, %d bad files rejected; %ld responses "
	       "checked, %ld mismatches, %ld failed\n",
	       swaps, rejected, atomic_load(&run.served),
	       atomic_load(&run.mismatches), atomic_load(&run.failed));
	fflush(stdout);
	ck_assert_int_eq(daemon_stop(&run), 0);
	log = ts_read_file(run.log, &len);
	ck_assert_msg(!strstr(log, "Sanitizer") &&
	                  !strstr(log, "runtime error"),
	              "sanitizer report in %s", run.log);
	free(log);
	ck_assert_int_eq(atomic_load(&run.mismatches), 0);
	ck_assert_int_eq(atomic_load(&run.failed), 0);
	ck_assert_int_gt(atomic_load(&run.served), SWAPS);
	rt_rmtree(tmp);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("reload_http");
	TCase *tc = tcase_create("http");
	int result;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH_TO_SIGMOED\n", argv[0]);
		return 2;
	}
	sigmoed = argv[1];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_http_storm);
	suite_add_tcase(s, tc);
	result = ts_run(s);
	curl_global_cleanup();
	return result;
}
