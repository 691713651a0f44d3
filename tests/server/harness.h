/* SPDX-License-Identifier: MIT */
/*
 * harness.h - drive the real sigmoed binary from the Check suites.
 *
 * A test starts the daemon on 127.0.0.1 port 0 with a temporary model
 * directory (the daemon logs the port it got; the harness reads it from
 * the daemon's stderr, which goes to a file), talks to it with libcurl or
 * with raw sockets, and stops it with SIGTERM.  Paths come from the
 * environment set by meson: SIGMOED (the binary) and SIGMOE_TEST_DATA.
 */
#ifndef SIGMOE_TEST_SERVER_HARNESS_H
#define SIGMOE_TEST_SERVER_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct daemon {
	pid_t pid;
	int port;
	int tls;
	char host[64];    /* as in a URL: 127.0.0.1 or [::1] */
	char dir[256];    /* temporary directory: models/, files */
	char models[300]; /* dir/models */
	char log[300];    /* dir/stderr.log */
	char cacert[300]; /* for TLS: the certificate to trust */
};

struct response {
	long status;
	char *body;
	size_t len;
	char allow[128];
	char content_type[128];
	char model_name[80];
	char model_version[32];
	char www_auth[128];
	cJSON *json; /* the body parsed, or NULL */
};

/* The test data directory and a path inside it (static buffer). */
const char *data_path(const char *rel);

/* A fresh temporary directory with an empty models/ in d. */
void daemon_prepare(struct daemon *d);

/* Copy tests/data/server/models/<file> into the model directory. */
void daemon_add_model(struct daemon *d, const char *file);

/* Write a file with content into d->dir (rel path); returns its path. */
const char *daemon_write_file(struct daemon *d, const char *rel,
                              const char *content);

/*
 * daemon_start - run sigmoed with --listen 127.0.0.1:0 (unless args
 * start with --listen) --models d->models, then args (NULL-terminated, may be
 * NULL), and env entries "K=V" added to the environment (NULL-terminated, may
 * be NULL).  Waits until it listens; fails the test when it does not within 10
 * s.
 */
void daemon_start(struct daemon *d, const char *const *args,
                  const char *const *env);

/* daemon_stop - SIGTERM, wait, return the exit status (-1 if killed). */
int daemon_stop(struct daemon *d);

/* daemon_cleanup - remove the temporary directory. */
void daemon_cleanup(struct daemon *d);

/* daemon_log_has - whether the daemon's stderr holds text. */
int daemon_log_has(struct daemon *d, const char *text);

/*
 * http - one request.  headers: NULL-terminated "Name: value" strings or
 * NULL; body NULL for none.  A body is sent with Content-Type:
 * application/json unless headers name another type.  Fills *r (free
 * with response_free).  Fails the test when the request cannot be made.
 */
void http(struct daemon *d, const char *method, const char *path,
          const char *const *headers, const char *body, struct response *r);

void response_free(struct response *r);

/*
 * connect_port - a new TCP connection to 127.0.0.1:port, or -1 with
 * errno set when connect(2) fails (a daemon that stopped listening).
 */
int connect_port(int port);

/*
 * raw_request - send bytes on a new TCP connection, shut the write side
 * when close_write, and return what came back within 5 s (malloc'd,
 * NUL-terminated).  For requests libcurl will not send.
 */
char *raw_request(struct daemon *d, const char *bytes, size_t len,
                  int close_write);

/* The status code of a raw HTTP response, or 0 when there is none. */
int raw_status(const char *response);

/* Run a shell command, return its exit status; output into *out. */
int run_command(const char *cmd, char **out);

/* Read a whole file (malloc'd, NUL-terminated), or NULL. */
char *read_text(const char *path);

#endif
