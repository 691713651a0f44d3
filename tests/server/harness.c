/* SPDX-License-Identifier: MIT */
/*
 * harness.c - start, talk to and stop the real sigmoed binary.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>

#include "harness.h"

extern char **environ;

const char *data_path(const char *rel)
{
	static char buf[1024];
	const char *root = getenv("SIGMOE_TEST_DATA");

	snprintf(buf, sizeof(buf), "%s/server/%s", root ? root : "tests/data",
	         rel);
	return buf;
}

char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static void write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

void daemon_prepare(struct daemon *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/sigmoe-server-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	snprintf(d->models, sizeof(d->models), "%s/models", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/stderr.log", d->dir);
	ck_assert_int_eq(mkdir(d->models, 0755), 0);
}

void daemon_add_model(struct daemon *d, const char *file)
{
	char path[512];
	char *text;
	struct stat sb;

	ck_assert_int_eq(stat(data_path("models"), &sb), 0);
	text = read_text(data_path(file));
	ck_assert_msg(text != NULL, "missing test data %s", file);
	ck_assert_int_eq(stat(data_path(file), &sb), 0);
	snprintf(path, sizeof(path), "%s/%s", d->models,
	         strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
	write_text(path, text, (size_t)sb.st_size);
	free(text);
}

const char *daemon_write_file(struct daemon *d, const char *rel,
                              const char *content)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", d->dir, rel);
	write_text(path, content, strlen(content));
	return path;
}

int daemon_log_has(struct daemon *d, const char *text)
{
	char *log = read_text(d->log);
	int found = log && strstr(log, text) != NULL;

	free(log);
	return found;
}

/* The host and port from "listening on http://HOST:PORT with", or 0. */
static int logged_port(struct daemon *d)
{
	char *log = read_text(d->log), *p, *end;
	int port = 0;

	if (!log)
		return 0;
	p = strstr(log, "listening on http");
	if (p && (p = strstr(p, "://")) && (end = strstr(p, " with"))) {
		char *colon = end;

		while (colon > p && *colon != ':')
			colon--;
		port = atoi(colon + 1);
		snprintf(d->host, sizeof(d->host), "%.*s", (int)(colon - p - 3),
		         p + 3);
	}
	free(log);
	return port;
}

static void exec_daemon(struct daemon *d, const char *const *args,
                        const char *const *env)
{
	const char *argv[64];
	size_t n = 0;
	int fd;

	argv[n++] = getenv("SIGMOED");
	if (!args || !args[0] || strcmp(args[0], "--listen") != 0) {
		argv[n++] = "--listen";
		argv[n++] = "127.0.0.1:0";
	}
	argv[n++] = "--models";
	argv[n++] = d->models;
	while (args && *args && n < 62)
		argv[n++] = *args++;
	argv[n] = NULL;
	/* a failed test exits without teardown: take the daemon with it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (env && *env)
		putenv((char *)*env++);
	fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0 || dup2(fd, 2) < 0)
		_exit(127);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

void daemon_start(struct daemon *d, const char *const *args,
                  const char *const *env)
{
	struct timespec tick = {0, 20 * 1000 * 1000};
	int i, status;

	ck_assert_msg(getenv("SIGMOED") != NULL, "SIGMOED is not set");
	d->port = 0;
	unlink(d->log);
	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0)
		exec_daemon(d, args, env);
	for (i = 0; i < 1000 && !d->port; i++) {
		d->port = logged_port(d);
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			char *log = read_text(d->log);

			ck_abort_msg("sigmoed exited at start: %s",
			             log ? log : "");
		}
		nanosleep(&tick, NULL);
	}
	ck_assert_msg(d->port > 0, "sigmoed did not listen within 20 s");
}

int daemon_stop(struct daemon *d)
{
	int status;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	ck_assert_int_eq(waitpid(d->pid, &status, 0), d->pid);
	d->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void daemon_cleanup(struct daemon *d)
{
	char cmd[600];

	if (d->pid > 0)
		daemon_stop(d);
	/* a sanitizer report in the daemon fails the test that ran it */
	ck_assert_msg(!daemon_log_has(d, "runtime error:"),
	              "UBSan report in %s", d->log);
	ck_assert_msg(!daemon_log_has(d, "Sanitizer"), "ASan report in %s",
	              d->log);
	if (d->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}

/* libcurl --------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t add = size * n;
	char *p = realloc(r->body, r->len + add + 1);

	if (!p)
		return 0;
	memcpy(p + r->len, data, add);
	r->body = p;
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

static void keep_header(const char *line, size_t len, const char *name,
                        char *dst, size_t size)
{
	size_t nl = strlen(name);
	const char *v;
	size_t vl;

	if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 ||
	    line[nl] != ':')
		return;
	v = line + nl + 1;
	while (*v == ' ')
		v++;
	vl = len - (size_t)(v - line);
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	if (vl >= size)
		vl = size - 1;
	memcpy(dst, v, vl);
	dst[vl] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;

	keep_header(data, len, "Allow", r->allow, sizeof(r->allow));
	keep_header(data, len, "Content-Type", r->content_type,
	            sizeof(r->content_type));
	keep_header(data, len, "X-Model-Name", r->model_name,
	            sizeof(r->model_name));
	keep_header(data, len, "X-Model-Version", r->model_version,
	            sizeof(r->model_version));
	keep_header(data, len, "WWW-Authenticate", r->www_auth,
	            sizeof(r->www_auth));
	return len;
}

static int names_type(const char *const *headers)
{
	for (; headers && *headers; headers++)
		if (strncasecmp(*headers, "Content-Type:", 13) == 0)
			return 1;
	return 0;
}

void http(struct daemon *d, const char *method, const char *path,
          const char *const *headers, const char *body, struct response *r)
{
	struct curl_slist *hl = NULL;
	char url[1024];
	CURL *c = curl_easy_init();
	CURLcode rc;

	ck_assert_ptr_nonnull(c);
	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s://%s:%d%s", d->tls ? "https" : "http",
	         d->host, d->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		if (!names_type(headers))
			hl = curl_slist_append(
			    hl, "Content-Type: application/json");
	}
	for (; headers && *headers; headers++)
		hl = curl_slist_append(hl, *headers);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (d->tls)
		curl_easy_setopt(c, CURLOPT_CAINFO, d->cacert);
	rc = curl_easy_perform(c);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path,
	              curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	if (r->body)
		r->json = cJSON_Parse(r->body);
}

void response_free(struct response *r)
{
	free(r->body);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

/* Raw sockets ------------------------------------------------------------ */

int connect_port(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

char *raw_request(struct daemon *d, const char *bytes, size_t len,
                  int close_write)
{
	struct pollfd pfd;
	char *out = calloc(1, 65536);
	size_t used = 0;
	ssize_t n;
	int fd = connect_port(d->port);

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	ck_assert_ptr_nonnull(out);
	signal(SIGPIPE, SIG_IGN);
	n = send(fd, bytes, len, MSG_NOSIGNAL);
	(void)n;
	if (close_write)
		shutdown(fd, SHUT_WR);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (used < 65535 && poll(&pfd, 1, 5000) > 0) {
		n = recv(fd, out + used, 65535 - used, 0);
		if (n <= 0)
			break;
		used += (size_t)n;
		if (!close_write && strstr(out, "\r\n\r\n")) {
			/* enough for a status line; wait briefly for more */
			if (poll(&pfd, 1, 200) <= 0)
				break;
		}
	}
	close(fd);
	out[used] = '\0';
	return out;
}

int raw_status(const char *response)
{
	int status = 0;

	if (sscanf(response, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	return status;
}

int run_command(const char *cmd, char **out)
{
	FILE *p = popen(cmd, "r");
	char *buf = NULL;
	size_t len = 0, n;
	int status;

	ck_assert_ptr_nonnull(p);
	buf = malloc(1 << 20);
	ck_assert_ptr_nonnull(buf);
	while ((n = fread(buf + len, 1, (1 << 20) - 1 - len, p)) > 0)
		len += n;
	buf[len] = '\0';
	status = pclose(p);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
