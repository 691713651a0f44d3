/* SPDX-License-Identifier: MIT */
/*
 * test_ops.c - suites "config", "auth", "tls", "shutdown" and "metrics":
 * how the real daemon is configured, protected, stopped and observed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "suites.h"

static const char iris_rows[] =
    "{\"instances\": [[0.948, 2.765, 0.844, -0.958], "
    "[-0.899, -0.236, -3.154, 1.74]]}";

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int status_of(struct daemon *d, const char *method, const char *path,
                     const char *const *headers, const char *body)
{
	struct response r;
	long status;

	http(d, method, path, headers, body, &r);
	status = r.status;
	response_free(&r);
	return (int)status;
}

/* "$SIGMOED" with a shell prefix (variables) and arguments. */
static int run_sigmoed(const char *prefix, const char *args, char **out)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "%s \"$SIGMOED\" %s 2>&1", prefix, args);
	return run_command(cmd, out);
}

/* config --------------------------------------------------------------- */

START_TEST(check_config_precedence)
{
	struct daemon d;
	char args[600], *out;
	const char *conf;

	daemon_prepare(&d);
	conf = daemon_write_file(&d, "sigmoed.conf",
	                         "# test\nmax_body_bytes = 1000\n"
	                         "threads = 3\nlog_format = json\n");
	snprintf(args, sizeof(args), "--config '%s' --check-config", conf);

	ck_assert_int_eq(run_sigmoed("", args, &out), 0);
	ck_assert_msg(strstr(out, "max_body_bytes = 1000\n"), "%s", out);
	ck_assert(strstr(out, "threads = 3\n"));
	ck_assert(strstr(out, "log_format = json\n"));
	ck_assert(strstr(out, "listen = 127.0.0.1:8080\n"));
	free(out);

	ck_assert_int_eq(run_sigmoed("SIGMOED_MAX_BODY_BYTES=2000", args, &out),
	                 0);
	ck_assert_msg(strstr(out, "max_body_bytes = 2000\n"), "%s", out);
	free(out);

	snprintf(args, sizeof(args),
	         "--config '%s' --max-body-bytes 3000 --check-config", conf);
	ck_assert_int_eq(run_sigmoed("SIGMOED_MAX_BODY_BYTES=2000", args, &out),
	                 0);
	ck_assert_msg(strstr(out, "max_body_bytes = 3000\n"), "%s", out);
	ck_assert(strstr(out, "threads = 3\n"));
	free(out);
	daemon_cleanup(&d);
}
END_TEST

START_TEST(bad_settings_exit_naming_them)
{
	struct daemon d;
	char args[1200], *out;
	const char *conf;

	ck_assert_int_eq(run_sigmoed("", "--threads abc", &out), 2);
	ck_assert_msg(strstr(out, "threads"), "%s", out);
	free(out);

	ck_assert_int_ne(run_sigmoed("SIGMOED_LOG_LEVEL=loud", "", &out), 0);
	ck_assert_msg(strstr(out, "log_level"), "%s", out);
	free(out);

	ck_assert_int_ne(run_sigmoed("", "--no-such-flag", &out), 0);
	free(out);

	daemon_prepare(&d);
	conf = daemon_write_file(&d, "bad.conf", "max_body_bytes = big\n");
	snprintf(args, sizeof(args), "--config '%s'", conf);
	ck_assert_int_eq(run_sigmoed("", args, &out), 2);
	ck_assert_msg(strstr(out, "max_body_bytes"), "%s", out);
	free(out);

	/* a token file that cannot be read stops the start */
	snprintf(
	    args, sizeof(args),
	    "--listen 127.0.0.1:0 --models '%s' --api-token-file '%s/none'",
	    d.models, d.dir);
	ck_assert_int_ne(run_sigmoed("", args, &out), 0);
	ck_assert_msg(strstr(out, "api_token_file"), "%s", out);
	free(out);

	/* a port in use is a start failure (1), named with the reason */
	daemon_add_model(&d, "models/iris.json");
	daemon_start(&d, NULL, NULL);
	snprintf(args, sizeof(args), "--listen 127.0.0.1:%d --models '%s'",
	         d.port, d.models);
	ck_assert_int_eq(run_sigmoed("", args, &out), 1);
	ck_assert_msg(strstr(out, "in use"), "%s", out);
	free(out);
	ck_assert_int_eq(daemon_stop(&d), 0);

	/* so does a missing model directory */
	snprintf(args, sizeof(args), "--listen 127.0.0.1:0 --models '%s/none'",
	         d.dir);
	ck_assert_int_ne(run_sigmoed("", args, &out), 0);
	free(out);
	daemon_cleanup(&d);
}
END_TEST

START_TEST(help_and_version)
{
	char *out;

	ck_assert_int_eq(run_sigmoed("", "--help", &out), 0);
	ck_assert(strstr(out, "--max-body-bytes"));
	ck_assert(strstr(out, "SIGMOED_MAX_BODY_BYTES"));
	free(out);
	ck_assert_int_eq(run_sigmoed("", "--version", &out), 0);
	ck_assert(strstr(out, "sigmoed"));
	free(out);
}
END_TEST

/* File, environment and flag reach the running daemon in that order. */
START_TEST(precedence_on_the_running_daemon)
{
	static const char three[] =
	    "{\"instances\": [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]}";
	struct daemon d;
	char conf_arg[400];
	const char *args[3] = {"--config", conf_arg, NULL};
	const char *args_flag[5] = {"--config", conf_arg, "--max-instances",
	                            "1", NULL};
	static const char *const env[] = {"SIGMOED_MAX_INSTANCES=2", NULL};

	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	snprintf(conf_arg, sizeof(conf_arg), "%s",
	         daemon_write_file(&d, "d.conf", "max_instances = 1\n"));

	daemon_start(&d, args, NULL);
	ck_assert_int_eq(status_of(&d, "POST", "/predict", NULL, iris_rows),
	                 413);
	ck_assert_int_eq(daemon_stop(&d), 0);

	daemon_start(&d, args, env);
	ck_assert_int_eq(status_of(&d, "POST", "/predict", NULL, iris_rows),
	                 200);
	ck_assert_int_eq(status_of(&d, "POST", "/predict", NULL, three), 413);
	ck_assert_int_eq(daemon_stop(&d), 0);

	daemon_start(&d, args_flag, env);
	ck_assert_int_eq(status_of(&d, "POST", "/predict", NULL, iris_rows),
	                 413);
	ck_assert_int_eq(daemon_stop(&d), 0);
	daemon_cleanup(&d);
}
END_TEST

START_TEST(default_model_setting)
{
	static const char *const args[] = {"--default-model", "blobs", NULL};
	static const char blobs_row[] = "{\"instances\": [[1, 2, 3]]}";
	struct daemon d;
	struct response r;

	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	daemon_add_model(&d, "models/blobs.safetensors");
	daemon_start(&d, args, NULL);
	http(&d, "POST", "/predict", NULL, blobs_row, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.model_name, "blobs");
	response_free(&r);
	http(&d, "POST", "/gates", NULL, blobs_row, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(cJSON_GetObjectItem(r.json, "model")->valuestring,
	                 "blobs");
	response_free(&r);
	ck_assert_int_eq(daemon_stop(&d), 0);
	daemon_cleanup(&d);

	/* one model: it is the default without a setting */
	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	daemon_start(&d, NULL, NULL);
	http(&d, "POST", "/predict", NULL, iris_rows, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.model_name, "iris");
	response_free(&r);
	ck_assert_int_eq(daemon_stop(&d), 0);
	daemon_cleanup(&d);
}
END_TEST

START_TEST(json_log_lines)
{
	static const char *const args[] = {"--log-format", "json",
	                                   "--access-log", "true", NULL};
	struct daemon d;
	char *log, *line, *save;
	int lines = 0;

	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	daemon_start(&d, args, NULL);
	ck_assert_int_eq(status_of(&d, "POST", "/predict", NULL, iris_rows),
	                 200);
	ck_assert_int_eq(status_of(&d, "GET", "/nope%22%5C%FF%0A", NULL, NULL),
	                 404);
	ck_assert_int_eq(daemon_stop(&d), 0);
	log = read_text(d.log);
	ck_assert_ptr_nonnull(log);
	for (line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line);

		ck_assert_msg(o != NULL, "not JSON: %s", line);
		ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "time")));
		ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "level")));
		ck_assert(cJSON_IsString(cJSON_GetObjectItem(o, "msg")));
		cJSON_Delete(o);
		lines++;
	}
	ck_assert_int_gt(lines, 5);
	free(log);
	/* the path's quote, backslash, bad byte and newline, escaped */
	log = read_text(d.log);
	ck_assert_msg(strstr(log, "/nope\\\"\\\\\\ufffd\\u000a"), "%s", log);
	free(log);
	ck_assert(1);
	daemon_cleanup(&d);
}
END_TEST

static int have_ipv6_loopback(void)
{
	struct sockaddr_in6 sa;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

START_TEST(ipv6_listen)
{
	static const char *const args[] = {"--listen", "[::1]:0", NULL};
	struct daemon d;

	if (!have_ipv6_loopback())
		return;
	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	daemon_start(&d, args, NULL);
	ck_assert_str_eq(d.host, "[::1]");
	ck_assert_int_eq(status_of(&d, "POST", "/predict", NULL, iris_rows),
	                 200);
	ck_assert_int_eq(daemon_stop(&d), 0);
	daemon_cleanup(&d);
}
END_TEST

/* Read until the peer closes; returns 1 if it did within ms. */
static int closed_within(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[512];

	while (poll(&p, 1, ms) > 0) {
		if (recv(fd, buf, sizeof(buf), 0) <= 0)
			return 1;
	}
	return 0;
}

/*
 * connection_timeout closes idle connections; max_connections refuses a
 * connection over the limit (the daemon closes it before answering
 * anything) and serves new ones once slots are free again.
 */
START_TEST(connection_limits)
{
	static const char *const args[] = {"--connection-timeout",
	                                   "1",
	                                   "--max-connections",
	                                   "2",
	                                   "--threads",
	                                   "1",
	                                   NULL};
	static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char metrics[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n"
	                              "Connection: close\r\n\r\n";
	struct pollfd p;
	struct daemon d;
	char buf[256], *page;
	int a, b, c;

	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	daemon_start(&d, args, NULL);
	a = connect_port(d.port);
	b = connect_port(d.port);
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	sleep_ms(100);

	/* the third is closed with no answer, long before the timeout */
	c = connect_port(d.port);
	ck_assert_int_ge(c, 0);
	send(c, get, strlen(get), MSG_NOSIGNAL);
	p.fd = c;
	p.events = POLLIN;
	ck_assert_int_eq(poll(&p, 1, 500), 1);
	ck_assert_int_le(recv(c, buf, sizeof(buf), 0), 0);

	/* the idle two are closed after about a second, then a new
	 * connection is served, and the metrics count the refusal */
	ck_assert(closed_within(a, 3000));
	ck_assert(closed_within(b, 3000));
	sleep_ms(100);
	page = raw_request(&d, metrics, strlen(metrics), 0);
	ck_assert_int_eq(raw_status(page), 200);
	ck_assert_msg(strstr(page, "\nsigmoe_connections_refused_total 1\n"),
	              "%s", page);
	free(page);
	close(a);
	close(b);
	close(c);
	ck_assert_int_eq(daemon_stop(&d), 0);
	daemon_cleanup(&d);
}
END_TEST

/* Clients that stall mid-request do not hold up the others. */
START_TEST(stalled_clients_do_not_block)
{
	static const char *const args[] = {"--threads", "1", NULL};
	static const char part[] = "POST /predict HTTP/1.1\r\nHost: x\r\n"
	                           "Content-Length: 50\r\n\r\n{\"inst";
	struct daemon d;
	struct timespec t0, t1;
	int fds[8], i;

	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	daemon_start(&d, args, NULL);
	for (i = 0; i < 8; i++) {
		fds[i] = connect_port(d.port);
		ck_assert_int_ge(fds[i], 0);
		if (i % 2)
			ck_assert_int_eq(
			    send(fds[i], part, strlen(part), MSG_NOSIGNAL),
			    (ssize_t)strlen(part));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(
		    status_of(&d, "POST", "/predict", NULL, iris_rows), 200);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 3);
	for (i = 0; i < 8; i++)
		close(fds[i]);
	ck_assert_int_eq(daemon_stop(&d), 0);
	daemon_cleanup(&d);
}
END_TEST

Suite *suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, check_config_precedence);
	tcase_add_test(tc, bad_settings_exit_naming_them);
	tcase_add_test(tc, help_and_version);
	tcase_add_test(tc, precedence_on_the_running_daemon);
	tcase_add_test(tc, default_model_setting);
	tcase_add_test(tc, json_log_lines);
	tcase_add_test(tc, ipv6_listen);
	tcase_add_test(tc, connection_limits);
	tcase_add_test(tc, stalled_clients_do_not_block);
	suite_add_tcase(s, tc);
	return s;
}

/* auth ------------------------------------------------------------------- */

START_TEST(tokens)
{
	static const char *const api[] = {"Authorization: Bearer s3cret-api",
	                                  NULL};
	static const char *const admin[] = {"Authorization: Bearer adm1n-token",
	                                    NULL};
	static const char *const wrong[] = {"Authorization: Bearer s3cret-apI",
	                                    NULL};
	static const char *const basic[] = {"Authorization: Basic czNjcmV0",
	                                    NULL};
	static const char *const open_paths[] = {
	    "/healthz",        "/readyz",          "/metrics",
	    "/v2/health/live", "/v2/health/ready",
	};
	static const char *const closed_paths[] = {
	    "/v1/models",      "/v1/models/iris",       "/v2",
	    "/v2/models/iris", "/v2/models/iris/ready",
	};
	struct daemon d;
	char a1[400], a2[400];
	const char *args[5] = {"--api-token-file", a1, "--admin-token-file", a2,
	                       NULL};
	struct response r;
	size_t i;

	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	snprintf(a1, sizeof(a1), "%s",
	         daemon_write_file(&d, "api.token", "s3cret-api\n"));
	snprintf(a2, sizeof(a2), "%s",
	         daemon_write_file(&d, "admin.token", "adm1n-token\r\n"));
	daemon_start(&d, args, NULL);

	for (i = 0; i < sizeof(open_paths) / sizeof(open_paths[0]); i++)
		ck_assert_int_eq(
		    status_of(&d, "GET", open_paths[i], NULL, NULL), 200);
	for (i = 0; i < sizeof(closed_paths) / sizeof(closed_paths[0]); i++) {
		ck_assert_int_eq(
		    status_of(&d, "GET", closed_paths[i], NULL, NULL), 401);
		ck_assert_int_eq(
		    status_of(&d, "GET", closed_paths[i], wrong, NULL), 401);
		ck_assert_int_eq(
		    status_of(&d, "GET", closed_paths[i], api, NULL), 200);
	}
	http(&d, "POST", "/predict", basic, iris_rows, &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert_msg(strstr(r.www_auth, "Bearer") != NULL, "%s", r.www_auth);
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(r.json, "error")));
	response_free(&r);
	ck_assert_int_eq(status_of(&d, "POST", "/predict", api, iris_rows),
	                 200);

	/* admin endpoints take the admin token only */
	ck_assert_int_eq(status_of(&d, "POST", "/v1/reload", NULL, NULL), 401);
	ck_assert_int_eq(status_of(&d, "POST", "/v1/reload", api, NULL), 401);
	ck_assert_int_eq(status_of(&d, "POST", "/v1/reload", admin, NULL), 200);
	ck_assert_int_eq(daemon_stop(&d), 0);
	daemon_cleanup(&d);
}
END_TEST

/* A file added later appears on a reload and on SIGHUP. */
START_TEST(reload_and_sighup)
{
	static const char *const admin[] = {"Authorization: Bearer adm1n-token",
	                                    NULL};
	struct daemon d;
	char a2[400];
	const char *args[5] = {"--admin-token-file", a2, "--poll-interval", "0",
	                       NULL};
	struct response r;
	int i, status = 0;

	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	snprintf(a2, sizeof(a2), "%s",
	         daemon_write_file(&d, "admin.token", "adm1n-token"));
	daemon_start(&d, args, NULL);
	daemon_add_model(&d, "models/blobs.safetensors");
	http(&d, "POST", "/v1/models/blobs/reload", admin, NULL, &r);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	ck_assert_str_eq(cJSON_GetObjectItem(r.json, "state")->valuestring,
	                 "AVAILABLE");
	response_free(&r);
	ck_assert_int_eq(
	    status_of(&d, "POST", "/v1/models/nosuch/reload", admin, NULL),
	    404);

	daemon_add_model(&d, "models/tiny32.safetensors");
	kill(d.pid, SIGHUP);
	for (i = 0; i < 100 && status != 200; i++) {
		status = status_of(&d, "GET", "/v1/models/tiny32", NULL, NULL);
		sleep_ms(50);
	}
	ck_assert_int_eq(status, 200);
	ck_assert_int_eq(daemon_stop(&d), 0);
	daemon_cleanup(&d);
}
END_TEST

Suite *suite_auth(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tokens);
	tcase_add_test(tc, reload_and_sighup);
	suite_add_tcase(s, tc);
	return s;
}

/* tls -------------------------------------------------------------------- */

START_TEST(https)
{
	struct daemon d;
	char cmd[1200], key[400], *out;
	const char *args[5] = {"--tls-cert", d.cacert, "--tls-key", key, NULL};
	static const char plain[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	struct response r;

	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	snprintf(d.cacert, sizeof(d.cacert), "%s/cert.pem", d.dir);
	snprintf(key, sizeof(key), "%s/key.pem", d.dir);
	snprintf(cmd, sizeof(cmd),
	         "openssl req -x509 -newkey ec -pkeyopt "
	         "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
	         "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
	         "-keyout '%s' -out '%s' 2>&1",
	         key, d.cacert);
	ck_assert_int_eq(run_command(cmd, NULL), 0);
	daemon_start(&d, args, NULL);
	ck_assert(daemon_log_has(&d, "listening on https://"));
	d.tls = 1;
	http(&d, "POST", "/v1/models/iris/predict", NULL, iris_rows, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(cJSON_GetObjectItem(r.json, "model")->valuestring,
	                 "iris");
	response_free(&r);
	ck_assert_int_eq(status_of(&d, "GET", "/healthz", NULL, NULL), 200);

	/* plain HTTP on the TLS port gets no HTTP answer */
	out = raw_request(&d, plain, strlen(plain), 1);
	ck_assert_int_ne(raw_status(out), 200);
	free(out);
	ck_assert_int_eq(status_of(&d, "GET", "/healthz", NULL, NULL), 200);
	ck_assert_int_eq(daemon_stop(&d), 0);

	/* a certificate without its key is refused at start */
	snprintf(cmd, sizeof(cmd),
	         "--listen 127.0.0.1:0 --models '%s' --tls-cert '%s'", d.models,
	         d.cacert);
	ck_assert_int_ne(run_sigmoed("", cmd, &out), 0);
	ck_assert_msg(strstr(out, "tls"), "%s", out);
	free(out);
	daemon_cleanup(&d);
}
END_TEST

Suite *suite_tls(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, https);
	suite_add_tcase(s, tc);
	return s;
}

/* shutdown --------------------------------------------------------------- */

static void send_all(int fd, const char *s, size_t n)
{
	ck_assert_int_eq(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

static int read_status(int fd)
{
	char buf[4096];
	size_t used = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int status = 0;

	while (used < sizeof(buf) - 1 && poll(&p, 1, 5000) > 0) {
		ssize_t n = recv(fd, buf + used, sizeof(buf) - 1 - used, 0);

		if (n <= 0)
			break;
		used += (size_t)n;
		buf[used] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	buf[used] = '\0';
	sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

/* A request that started before SIGTERM completes; then exit 0. */
START_TEST(sigterm_drains_requests_in_flight)
{
	static const int sigs[] = {SIGTERM, SIGINT};
	struct daemon d;
	char head[256];
	size_t half = strlen(iris_rows) / 2;
	int fd, status, i, other = 0;

	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	daemon_start(&d, NULL, NULL);
	fd = connect_port(d.port);
	ck_assert_int_ge(fd, 0);
	snprintf(head, sizeof(head),
	         "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
	         "application/json\r\nContent-Length: %zu\r\n\r\n",
	         strlen(iris_rows));
	send_all(fd, head, strlen(head));
	send_all(fd, iris_rows, half);
	sleep_ms(200);

	kill(d.pid, sigs[_i]);
	/* soon no new connections are accepted */
	for (i = 0; i < 50 && (other = connect_port(d.port)) >= 0; i++) {
		close(other);
		sleep_ms(100);
	}
	ck_assert_int_lt(other, 0);
	ck_assert_int_eq(waitpid(d.pid, &status, WNOHANG), 0);

	send_all(fd, iris_rows + half, strlen(iris_rows) - half);
	ck_assert_int_eq(read_status(fd), 200);
	close(fd);
	ck_assert_int_eq(waitpid(d.pid, &status, 0), d.pid);
	d.pid = 0;
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert(daemon_log_has(&d, "shutting down"));
	ck_assert(daemon_log_has(&d, "stopped"));
	daemon_cleanup(&d);
}
END_TEST

/* A client that never finishes cannot hold the daemon past the drain. */
START_TEST(sigterm_gives_up_on_a_stuck_client)
{
	struct daemon d;
	static const char head[] =
	    "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
	    "application/json\r\nContent-Length: 100\r\n\r\n{";
	struct timespec t0, t1;
	int fd, status;

	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	daemon_start(&d, NULL, NULL);
	fd = connect_port(d.port);
	send_all(fd, head, strlen(head));
	sleep_ms(100);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kill(d.pid, SIGTERM);
	ck_assert_int_eq(waitpid(d.pid, &status, 0), d.pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	d.pid = 0;
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_le(t1.tv_sec - t0.tv_sec, 13);
	ck_assert_int_ge(t1.tv_sec - t0.tv_sec, 9);
	close(fd);
	daemon_cleanup(&d);
}
END_TEST

Suite *suite_shutdown(void)
{
	Suite *s = suite_create("shutdown");
	TCase *tc = tcase_create("shutdown");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, sigterm_drains_requests_in_flight, 0, 2);
	tcase_add_test(tc, sigterm_gives_up_on_a_stuck_client);
	suite_add_tcase(s, tc);
	return s;
}

/* metrics ------------------------------------------------------------------ */

/* The value of the sample whose name and labels are exactly series. */
static double sample(const char *page, const char *series)
{
	size_t n = strlen(series);
	const char *p = page;

	while ((p = strstr(p, series))) {
		if ((p == page || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	ck_abort_msg("no sample %s", series);
	return NAN;
}

/* Sum over experts of expected weights of the model's rows. */
static double expected_weight(cJSON *exp, const char *model, int expert)
{
	cJSON *o;
	double sum = 0;

	cJSON_ArrayForEach(
	    o, cJSON_GetObjectItem(cJSON_GetObjectItem(exp, model), "outputs"))
	{
		sum += cJSON_GetArrayItem(cJSON_GetObjectItem(o, "weights"),
		                          expert)
		           ->valuedouble;
	}
	return sum;
}

static char *rows_body(cJSON *exp, const char *model)
{
	cJSON *doc = cJSON_CreateObject();
	char *s;

	cJSON_AddItemToObject(
	    doc, "instances",
	    cJSON_Duplicate(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(exp, model), "rows"),
	        1));
	s = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return s;
}

START_TEST(prometheus_page)
{
	struct daemon d;
	struct response r;
	char *text = read_text(data_path("expected.json")), *iris, *blobs;
	char path[600], cmd[800], series[300], *out, digest[65];
	cJSON *exp = cJSON_Parse(text);
	int e;

	ck_assert_ptr_nonnull(exp);
	daemon_prepare(&d);
	daemon_add_model(&d, "models/iris.json");
	daemon_add_model(&d, "models/blobs.safetensors");
	daemon_start(&d, NULL, NULL);
	iris = rows_body(exp, "iris");
	blobs = rows_body(exp, "blobs");
	ck_assert_int_eq(
	    status_of(&d, "POST", "/v1/models/iris/predict", NULL, iris), 200);
	ck_assert_int_eq(
	    status_of(&d, "POST", "/v1/models/iris/predict", NULL, iris), 200);
	ck_assert_int_eq(
	    status_of(&d, "POST", "/v1/models/blobs/gates", NULL, blobs), 200);
	ck_assert_int_eq(status_of(&d, "GET", "/no/such/route", NULL, NULL),
	                 404);
	ck_assert_int_eq(
	    status_of(&d, "GET", "/v1/models/iris/predict", NULL, NULL), 405);

	http(&d, "GET", "/metrics", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.content_type, "text/plain") &&
	                  strstr(r.content_type, "version=0.0.4"),
	              "%s", r.content_type);
	ck_assert_double_eq(sample(r.body,
	                           "sigmoe_requests_total{endpoint=\""
	                           "/v1/models/{name}/predict\",code=\"200\"}"),
	                    2);
	ck_assert_double_eq(sample(r.body,
	                           "sigmoe_requests_total{endpoint=\""
	                           "/v1/models/{name}/predict\",code=\"405\"}"),
	                    1);
	ck_assert_double_eq(sample(r.body, "sigmoe_requests_total{endpoint="
	                                   "\"other\",code=\"404\"}"),
	                    1);
	ck_assert_double_eq(
	    sample(r.body, "sigmoe_request_duration_seconds_count{endpoint="
	                   "\"/v1/models/{name}/gates\"}"),
	    1);
	ck_assert_double_eq(
	    sample(r.body, "sigmoe_request_duration_seconds_bucket{endpoint="
	                   "\"/v1/models/{name}/predict\",le=\"+Inf\"}"),
	    3);
	ck_assert_double_eq(sample(r.body, "sigmoe_instances_total{model="
	                                   "\"iris\"}"),
	                    10);
	ck_assert_double_eq(sample(r.body, "sigmoe_model_version{model="
	                                   "\"blobs\"}"),
	                    1);
	ck_assert_double_eq(sample(r.body, "sigmoe_model_loads_total{model="
	                                   "\"iris\",result=\"success\"}"),
	                    1);
	for (e = 0; e < 3; e++) {
		snprintf(series, sizeof(series),
		         "sigmoe_expert_weight_total{model=\"iris\","
		         "expert=\"%d\"}",
		         e);
		ck_assert_double_eq_tol(sample(r.body, series),
		                        2 * expected_weight(exp, "iris", e),
		                        1e-9);
	}
	for (e = 0; e < 4; e++) {
		snprintf(series, sizeof(series),
		         "sigmoe_expert_weight_total{model=\"blobs\","
		         "expert=\"%d\"}",
		         e);
		ck_assert_double_eq_tol(sample(r.body, series),
		                        expected_weight(exp, "blobs", e), 1e-9);
	}
	snprintf(cmd, sizeof(cmd), "sha256sum '%s/iris.json'", d.models);
	ck_assert_int_eq(run_command(cmd, &out), 0);
	snprintf(digest, sizeof(digest), "%.64s", out);
	free(out);
	snprintf(series, sizeof(series),
	         "sigmoe_model_info{model=\"iris\",digest=\"%s\","
	         "gate=\"sigmoid\",score=\"euclidean\"}",
	         digest);
	ck_assert_double_eq(sample(r.body, series), 1);
	ck_assert(sample(r.body, "sigmoe_model_last_load_timestamp_seconds"
	                         "{model=\"iris\"}") > 1e9);
	ck_assert(sample(r.body, "process_open_fds") > 3);
	ck_assert(sample(r.body, "process_max_fds") > 0);
	ck_assert(sample(r.body, "process_resident_memory_bytes") > 1e5);
	ck_assert(sample(r.body, "process_virtual_memory_bytes") > 1e5);
	ck_assert(sample(r.body, "process_cpu_seconds_total") >= 0);
	ck_assert(fabs(sample(r.body, "process_start_time_seconds") -
	               (double)time(NULL)) < 120);
	ck_assert(strstr(r.body, "sigmoe_build_info{version=\""));

	snprintf(path, sizeof(path), "%s",
	         daemon_write_file(&d, "metrics.txt", r.body));
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", path);
	ck_assert_msg(run_command(cmd, &out) == 0, "promtool: %s", out);
	free(out);
	response_free(&r);
	ck_assert_int_eq(daemon_stop(&d), 0);
	daemon_cleanup(&d);
	free(iris);
	free(blobs);
	free(text);
	cJSON_Delete(exp);
}
END_TEST

Suite *suite_metrics(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, prometheus_page);
	suite_add_tcase(s, tc);
	return s;
}
