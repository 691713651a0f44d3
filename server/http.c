/* SPDX-License-Identifier: MIT */
/*
 * http.c - HTTP through libmicrohttpd: connections, bodies, headers.
 *
 * MHD runs a pool of `threads` threads, each polling its share of the
 * connections with epoll, so a slow or idle client only costs a socket
 * until connection_timeout closes it.  The listening socket is ours, not
 * MHD's: one accept thread hands each new connection to the pool
 * (MHD_add_connection), which closes it at once when every thread is at
 * its share of max_connections.  Stopping to accept is then closing our
 * socket, which MHD_quiesce_daemon cannot do safely with epoll and a
 * pool: its worker threads and the caller both remove the listening
 * socket from the epoll sets, and the loser of that race aborts the
 * process (docs/ARCHITECTURE.md, "Shutdown").  A request goes through
 * three steps in its connection's thread:
 *  1. headers: resolve the route, then refuse early what can be refused
 *     without the body (404, 405, 401, 403, 415, and 413 from the
 *     Content-Length);
 *  2. body: accumulate up to max_body_bytes; past it (a chunked body
 *     with no Content-Length), the rest is dropped as it arrives and
 *     the 413 is sent at its end;
 *  3. end: run the handler and queue its response.
 * A queued response is counted in the metrics at once; MHD's completion
 * callback then writes the access log line (with the time until the
 * last byte was sent) and frees the request's state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "server.h"

#define PATH_LOG_BYTES 256 /* how much of a path the access log shows */
#define BODY_RESERVE_BYTES (1UL << 20) /* see body_reserve */

struct srv_http {
	struct MHD_Daemon *daemon;
	struct srv_context *ctx;
	char *cert, *key; /* PEM text handed to MHD; freed after stop */
	int listen_fd;    /* ours; -1 once closed by srv_http_quiesce */
	pthread_t acceptor; /* runs from a successful start to quiesce */
	atomic_int stopping; /* tells the accept thread to end */
};

/* One request's state, owned by its connection's thread. */
struct request {
	double t0; /* srv_monotonic() at the headers */
	struct srv_route route;
	char method[16];
	char path[PATH_LOG_BYTES];
	char *body; /* accumulated, up to max_body_bytes */
	size_t len, cap;
	int responded;            /* a response is queued */
	int overflow;             /* the body went over max_body_bytes */
	struct srv_response resp; /* what was sent, for log and metrics */
};

/* Sending --------------------------------------------------------------- */

static void add_header(struct MHD_Response *r, const char *k, const char *v)
{
	MHD_add_response_header(r, k, v);
}

static enum MHD_Result queue(struct srv_context *ctx,
                             struct MHD_Connection *conn, struct request *rq)
{
	struct srv_response *resp = &rq->resp;
	struct MHD_Response *r;
	enum MHD_Result ok;
	char num[32];

	/* a success body goes to MHD as is; an error body is kept for the log
	 */
	if (resp->status < 400) {
		r = MHD_create_response_from_buffer(resp->len, resp->body,
		                                    MHD_RESPMEM_MUST_FREE);
		if (r)
			resp->body = NULL;
	} else {
		r = MHD_create_response_from_buffer(resp->len, resp->body,
		                                    MHD_RESPMEM_MUST_COPY);
	}
	if (!r)
		return MHD_NO;
	if (resp->content_type)
		add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	if (resp->status == 405 && resp->allow)
		add_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
	if (resp->status == 401)
		add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		           "Bearer realm=\"sigmoed\"");
	if (resp->model[0]) {
		add_header(r, "X-Model-Name", resp->model);
		snprintf(num, sizeof(num), "%llu",
		         (unsigned long long)resp->version);
		add_header(r, "X-Model-Version", num);
	}
	if (atomic_load(&ctx->draining) || rq->overflow)
		add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ok = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	rq->responded = ok == MHD_YES;
	/* counted now, so that a client that has its answer sees it counted */
	if (rq->responded)
		srv_metrics_observe(ctx->metrics, rq->route.endpoint,
		                    resp->status, srv_monotonic() - rq->t0);
	return ok;
}

static enum MHD_Result refuse(struct srv_context *ctx,
                              struct MHD_Connection *conn, struct request *rq,
                              int status, const char *msg)
{
	srv_respond_error(&rq->resp, status, "%s", msg);
	return queue(ctx, conn, rq);
}

/* Checks on the headers ---------------------------------------------- */

static int json_type(const char *type)
{
	size_t n;

	if (!type)
		return 1;
	while (*type == ' ' || *type == '\t')
		type++;
	n = strcspn(type, ";");
	while (n > 0 && (type[n - 1] == ' ' || type[n - 1] == '\t'))
		n--;
	return n == strlen("application/json") &&
	       strncasecmp(type, "application/json", n) == 0;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* 401 or 403 message, or NULL when the caller may use the route. */
static const char *auth_problem(struct srv_context *ctx,
                                struct MHD_Connection *conn,
                                enum srv_access access, int *status)
{
	const char *token =
	    access == SRV_ACCESS_ADMIN ? ctx->admin_token : ctx->api_token;
	const char *authz;

	if (access == SRV_ACCESS_OPEN)
		return NULL;
	if (access == SRV_ACCESS_ADMIN && !token) {
		*status = 403;
		return "admin endpoints are disabled: no admin_token_file is configured";
	}
	if (!token)
		return NULL;
	authz = header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
	*status = 401;
	if (!authz)
		return "missing bearer token (Authorization: Bearer <token>)";
	if (!srv_token_check(token, authz))
		return "wrong bearer token";
	return NULL;
}

/*
 * Size the body buffer once from a Content-Length already checked
 * against max_body_bytes, up to BODY_RESERVE_BYTES so that a client
 * announcing a big body and sending nothing does not pin memory; past
 * that, or on failure, the buffer grows as the body arrives.
 */
static void body_reserve(struct request *rq, unsigned long long len)
{
	if (len == 0 || rq->body)
		return;
	if (len > BODY_RESERVE_BYTES)
		len = BODY_RESERVE_BYTES;
	rq->body = malloc((size_t)len + 1);
	rq->cap = rq->body ? (size_t)len + 1 : 0;
}

/* Refuse from the headers alone; returns 1 when a response was queued. */
static int check_headers(struct srv_context *ctx, struct MHD_Connection *conn,
                         struct request *rq, enum MHD_Result *ret)
{
	const struct srv_route *route = &rq->route;
	const char *problem, *clen;
	char msg[128];
	int status = 0;

	if (route->endpoint == SRV_EP_UNKNOWN) {
		snprintf(msg, sizeof(msg), "no route for %s %.64s", rq->method,
		         rq->path);
		*ret = refuse(ctx, conn, rq, 404, msg);
		return 1;
	}
	if (!route->method_ok) {
		snprintf(msg, sizeof(msg),
		         "method %s not allowed (allowed: %s)", rq->method,
		         route->allow);
		rq->resp.allow = route->allow;
		*ret = refuse(ctx, conn, rq, 405, msg);
		return 1;
	}
	problem = auth_problem(ctx, conn, route->access, &status);
	if (problem) {
		*ret = refuse(ctx, conn, rq, status, problem);
		return 1;
	}
	if (!route->has_body)
		return 0;
	if (!json_type(header(conn, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		*ret = refuse(ctx, conn, rq, 415,
		              "expected Content-Type: application/json");
		return 1;
	}
	clen = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (clen && strtoull(clen, NULL, 10) > ctx->cfg->max_body_bytes) {
		snprintf(msg, sizeof(msg),
		         "body of %s bytes is over the limit of %zu bytes",
		         clen, ctx->cfg->max_body_bytes);
		*ret = refuse(ctx, conn, rq, 413, msg);
		return 1;
	}
	if (clen)
		body_reserve(rq, strtoull(clen, NULL, 10));
	return 0;
}

/* The body ---------------------------------------------------------------- */

/* Append data; -E2BIG past max, -ENOMEM when memory runs out. */
static int body_append(struct request *rq, const char *data, size_t n,
                       size_t max)
{
	size_t cap;
	char *p;

	if (n > max - rq->len)
		return -E2BIG;
	if (rq->len + n + 1 > rq->cap) {
		cap = rq->cap ? rq->cap : 4096;
		while (cap < rq->len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		p = realloc(rq->body, cap);
		if (!p)
			return -ENOMEM;
		rq->body = p;
		rq->cap = cap;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	rq->body[rq->len] = '\0';
	return 0;
}

/*
 * The body is over the limit.  This MHD cannot queue a response before
 * the body has been received, so the rest is read and dropped (never
 * stored) and the 413 goes out at its end, with Connection: close.
 */
static void body_overflow(struct request *rq)
{
	free(rq->body);
	rq->body = NULL;
	rq->len = rq->cap = 0;
	rq->overflow = 1;
}

static struct request *request_new(struct srv_context *ctx, const char *url,
                                   const char *method)
{
	struct request *rq = calloc(1, sizeof(*rq));

	if (!rq)
		return NULL;
	rq->t0 = srv_monotonic();
	snprintf(rq->method, sizeof(rq->method), "%s", method);
	snprintf(rq->path, sizeof(rq->path), "%s", url);
	srv_route_resolve(method, url, &rq->route);
	atomic_fetch_add(&ctx->in_flight, 1);
	return rq;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	struct srv_context *ctx = cls;
	struct request *rq = *con_cls;
	enum MHD_Result ret = MHD_YES;
	int rc;

	if (!rq) {
		rq = request_new(ctx, url, method);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		check_headers(ctx, conn, rq, &ret);
		return ret;
	}
	if (*upload_size > 0) {
		size_t n = *upload_size;

		*upload_size = 0;
		if (rq->responded || rq->overflow)
			return MHD_YES;
		rc = body_append(rq, upload, n, ctx->cfg->max_body_bytes);
		if (rc == -E2BIG)
			body_overflow(rq);
		else if (rc < 0)
			return MHD_NO;
		return MHD_YES;
	}
	if (rq->responded)
		return MHD_YES;
	if (rq->overflow) {
		srv_respond_error(&rq->resp, 413,
		                  "body is over the limit of %zu bytes",
		                  ctx->cfg->max_body_bytes);
		return queue(ctx, conn, rq);
	}
	srv_route_run(ctx, &rq->route, rq->body ? rq->body : "", rq->len,
	              &rq->resp);
	return queue(ctx, conn, rq);
}

/* Completion: metrics, logs, cleanup ---------------------------------- */

static void log_request(struct request *rq, double seconds)
{
	const struct srv_response *resp = &rq->resp;
	char model[MOE_MODEL_NAME_MAX + 48] = "";

	if (resp->model[0])
		snprintf(model, sizeof(model), " model=%s version=%llu",
		         resp->model, (unsigned long long)resp->version);
	srv_info("access %s %s %d %zu bytes %.6f s%s", rq->method, rq->path,
	         resp->status, resp->len, seconds, model);
}

/* Client errors are debug; our own failures are errors. */
static void log_failure(struct request *rq)
{
	const struct srv_response *resp = &rq->resp;
	enum cfg_log_level level = resp->status >= 500 && resp->status != 503
	                               ? CFG_LOG_ERROR
	                               : CFG_LOG_DEBUG;

	if (resp->status < 400 || !srv_log_enabled(level))
		return;
	srv_log(level, "%s %s: %d %.*s", rq->method, rq->path, resp->status,
	        (int)resp->len, resp->body ? resp->body : "");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
	struct srv_context *ctx = cls;
	struct request *rq = *con_cls;
	double seconds;

	if (!rq)
		return;
	*con_cls = NULL;
	seconds = srv_monotonic() - rq->t0;
	if (rq->responded) {
		log_failure(rq);
		if (ctx->cfg->access_log)
			log_request(rq, seconds);
	} else {
		srv_debug("%s %s: connection closed before a response (%d)",
		          rq->method, rq->path, (int)code);
	}
	free(rq->body);
	free(rq->resp.body);
	free(rq);
	atomic_fetch_sub(&ctx->in_flight, 1);
}

/* MHD's own messages (a malformed request line, a failed accept). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	if (!srv_log_enabled(CFG_LOG_DEBUG))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	srv_debug("microhttpd: %s", msg);
}

/*
 * libmicrohttpd calls this on an internal error it cannot recover from
 * (a failed mutex, thread or epoll call); it must not return.  The
 * message goes to our log, with where libmicrohttpd hit it, before the
 * abort that its default handler would also do.
 */
static void on_mhd_panic(void *cls, const char *file, unsigned int line,
                         const char *reason)
{
	size_t n = reason ? strcspn(reason, "\n") : 0;

	(void)cls;
	srv_error("microhttpd: fatal error at %s:%u: %.*s", file ? file : "?",
	          line, (int)n, reason ? reason : "");
	abort();
}

/* Start and stop ------------------------------------------------------- */

static int read_pem(const char *path, char **out, char *msg, size_t len)
{
	struct stat sb;
	char *buf;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size <= 0 ||
	    (size_t)sb.st_size > SRV_MAX_PEM_BYTES) {
		snprintf(msg, len, "%s: %s", path,
		         fd < 0 ? strerror(errno) : "empty or over 1 MiB");
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)sb.st_size + 1);
	n = buf ? read(fd, buf, (size_t)sb.st_size) : -1;
	close(fd);
	if (n != sb.st_size) {
		free(buf);
		snprintf(msg, len, "%s: could not be read", path);
		return -EIO;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

static int resolve(const struct cfg_settings *cfg, struct sockaddr_storage *ss,
                   char *msg, size_t len)
{
	struct addrinfo hints, *ai;
	char port[16];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", cfg->listen_port);
	rc = getaddrinfo(cfg->listen_host, port, &hints, &ai);
	if (rc != 0) {
		snprintf(msg, len, "listen: %s: %s", cfg->listen_host,
		         gai_strerror(rc));
		return -EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

/*
 * No listening socket of MHD's own (the accept thread has ours); ITC so
 * that MHD_add_connection from that thread wakes a pool thread.
 */
static unsigned daemon_flags(int tls)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
	                 MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET;

	flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES
	             ? MHD_USE_EPOLL
	             : MHD_USE_AUTO;
	if (tls)
		flags |= MHD_USE_TLS;
	return flags;
}

static int load_tls(struct srv_http *h, const struct cfg_settings *cfg,
                    char *msg, size_t len)
{
	int rc;

	if (!cfg->tls_cert && !cfg->tls_key)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(msg, len,
		         "tls_cert: this libmicrohttpd was built without TLS");
		return -ENOTSUP;
	}
	if (!cfg->tls_cert || !cfg->tls_key) {
		snprintf(msg, len, "%s: TLS needs both tls_cert and tls_key",
		         cfg->tls_cert ? "tls_key" : "tls_cert");
		return -EINVAL;
	}
	rc = read_pem(cfg->tls_cert, &h->cert, msg, len);
	if (rc == 0)
		rc = read_pem(cfg->tls_key, &h->key, msg, len);
	return rc;
}

static void http_free(struct srv_http *h)
{
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	free(h->cert);
	free(h->key);
	free(h);
}

/* The port the listening socket is bound to (the chosen one for 0). */
static unsigned bound_port(int fd, unsigned asked)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return asked;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void log_listening(struct srv_http *h, const struct cfg_settings *cfg)
{
	int v6 = strchr(cfg->listen_host, ':') != NULL;

	srv_info("listening on %s://%s%s%s:%u with %u threads",
	         h->cert ? "https" : "http", v6 ? "[" : "", cfg->listen_host,
	         v6 ? "]" : "", bound_port(h->listen_fd, cfg->listen_port),
	         cfg->threads);
}

/* Listening and accepting ---------------------------------------------- */

/*
 * Opens, binds and listens on the resolved address: SO_REUSEADDR, and
 * an IPv6 address serves IPv6 only.  Returns the socket, or -errno with
 * a sentence in msg.
 */
static int open_listener(const struct cfg_settings *cfg,
                         const struct sockaddr_storage *ss, char *msg,
                         size_t len)
{
	socklen_t alen = ss->ss_family == AF_INET6
	                     ? sizeof(struct sockaddr_in6)
	                     : sizeof(struct sockaddr_in);
	int one = 1, fd, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)ss, alen) < 0 ||
	    listen(fd, SOMAXCONN) < 0)
		goto fail;
	return fd;

fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	snprintf(msg, len, "listen: could not serve on %s port %u: %s",
	         cfg->listen_host, cfg->listen_port, strerror(err));
	return -err;
}

/*
 * The accept thread: hands every accepted connection to MHD's pool until
 * srv_http_quiesce shuts the socket down.  A failure for lack of file
 * descriptors or memory is retried after SRV_ACCEPT_RETRY_MS, so that a
 * full table slows accepting instead of spinning on it.
 */
static void *accept_main(void *arg)
{
	struct srv_http *h = arg;
	struct timespec pause = {0, SRV_ACCEPT_RETRY_MS * 1000000L};
	int warned = 0;

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(h->listen_fd, (struct sockaddr *)&peer,
		                 &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			/* On failure (every thread at its limit) MHD has
			 * closed fd: the client sees the connection end. */
			if (MHD_add_connection(h->daemon, fd,
			                       (struct sockaddr *)&peer,
			                       plen) != MHD_YES)
				srv_metrics_refused(h->ctx->metrics);
			warned = 0;
			continue;
		}
		if (atomic_load(&h->stopping))
			break;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (!warned)
			srv_warn("accept: %s; retrying every %d ms",
			         strerror(errno), SRV_ACCEPT_RETRY_MS);
		warned = 1;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

int srv_http_start(struct srv_context *ctx, struct srv_http **out, char *msg,
                   size_t len)
{
	const struct cfg_settings *cfg = ctx->cfg;
	struct sockaddr_storage ss;
	struct srv_http *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return -ENOMEM;
	h->ctx = ctx;
	h->listen_fd = -1;
	rc = resolve(cfg, &ss, msg, len);
	if (rc == 0)
		rc = load_tls(h, cfg, msg, len);
	if (rc == 0) {
		h->listen_fd = open_listener(cfg, &ss, msg, len);
		rc = h->listen_fd < 0 ? -EADDRNOTAVAIL : 0;
	}
	if (rc < 0)
		goto fail_http;

	MHD_set_panic_func(on_mhd_panic, NULL);
	h->daemon = MHD_start_daemon(
	    daemon_flags(h->cert != NULL), 0, NULL, NULL, on_request,
	    ctx, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, ctx,
	    h->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->cert,
	    MHD_OPTION_HTTPS_MEM_KEY, h->key, MHD_OPTION_END);
	if (!h->daemon) {
		rc = -EADDRNOTAVAIL;
		snprintf(msg, len,
		         "listen: libmicrohttpd did not start on %s port %u "
		         "(bad TLS files, or too many threads)",
		         cfg->listen_host, cfg->listen_port);
		goto fail_http;
	}

	rc = -pthread_create(&h->acceptor, NULL, accept_main, h);
	if (rc < 0) {
		snprintf(msg, len, "listen: no accept thread: %s",
		         strerror(-rc));
		goto fail_http;
	}
	log_listening(h, cfg);
	*out = h;
	return 0;

fail_http:
	http_free(h);
	return rc;
}

void srv_http_quiesce(struct srv_http *http)
{
	/*
	 * Shutting the socket down ends the accept thread's accept4 (with
	 * EINVAL) and refuses new clients at once, so that they go
	 * elsewhere instead of waiting in the backlog.
	 */
	if (http->listen_fd < 0)
		return;
	atomic_store(&http->stopping, 1);
	shutdown(http->listen_fd, SHUT_RDWR);
	pthread_join(http->acceptor, NULL);
	close(http->listen_fd);
	http->listen_fd = -1;
}

void srv_http_stop(struct srv_http *http)
{
	if (!http)
		return;
	srv_http_quiesce(http);
	http_free(http);
}
