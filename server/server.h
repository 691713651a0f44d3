/* SPDX-License-Identifier: MIT */
/*
 * server.h - shared between the files of server/, not part of any API.
 *
 * The daemon is split by concern: main.c starts and stops everything,
 * http.c speaks HTTP through libmicrohttpd (connections, bodies, response
 * headers, the access log), routes.c maps a method and path to a handler
 * and runs it, auth.c checks bearer tokens, metrics.c counts requests and
 * renders the Prometheus page.  They share one struct srv_context, built
 * by main.c before the HTTP daemon starts and read-only afterwards except
 * for the fields marked atomic.
 */
#ifndef SIGMOE_SRV_SERVER_H
#define SIGMOE_SRV_SERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"
#include "store.h"

/*
 * The route templates, which are also the "endpoint" label of the
 * metrics (a bounded set: raw paths never become labels).
 */
enum srv_endpoint {
	SRV_EP_PREDICT = 0,      /* POST /predict */
	SRV_EP_GATES,            /* POST /gates */
	SRV_EP_MODEL_PREDICT,    /* POST /v1/models/{name}/predict */
	SRV_EP_MODEL_GATES,      /* POST /v1/models/{name}/gates */
	SRV_EP_MODELS,           /* GET /v1/models */
	SRV_EP_MODEL,            /* GET /v1/models/{name} */
	SRV_EP_MODEL_RELOAD,     /* POST /v1/models/{name}/reload */
	SRV_EP_RELOAD,           /* POST /v1/reload */
	SRV_EP_HEALTHZ,          /* GET /healthz */
	SRV_EP_READYZ,           /* GET /readyz */
	SRV_EP_METRICS,          /* GET /metrics */
	SRV_EP_V2,               /* GET /v2 */
	SRV_EP_V2_LIVE,          /* GET /v2/health/live */
	SRV_EP_V2_READY,         /* GET /v2/health/ready */
	SRV_EP_V2_MODEL,         /* GET /v2/models/{name} */
	SRV_EP_V2_MODEL_READY,   /* GET /v2/models/{name}/ready */
	SRV_EP_V2_INFER,         /* POST /v2/models/{name}/infer */
	SRV_EP_V2_VERSION_MODEL, /* GET .../{name}/versions/{version} */
	SRV_EP_V2_VERSION_READY, /* GET .../versions/{version}/ready */
	SRV_EP_V2_VERSION_INFER, /* POST .../versions/{version}/infer */
	SRV_EP_UNKNOWN,          /* no route matched */
	SRV_EP_COUNT,
};

/* Who may call a route. */
enum srv_access {
	SRV_ACCESS_OPEN = 0, /* health and metrics: no token */
	SRV_ACCESS_API,      /* the API token, when one is configured */
	SRV_ACCESS_ADMIN,    /* the admin token; 403 when none configured */
};

/* A route resolved from a method and a path. */
struct srv_route {
	enum srv_endpoint endpoint;
	enum srv_access access;
	int has_body;      /* reads a JSON body (content type checked) */
	int method_ok;     /* 0: path known, method not: 405 */
	const char *allow; /* the Allow header for a 405 */
	char name[MOE_MODEL_NAME_MAX + 1]; /* {name}, "" if none */
	char version[24];                  /* {version}, "" if none */
};

/* A response being built by a handler; http.c sends it. */
struct srv_response {
	int status;
	char *body; /* malloc'd, owned; NULL for empty */
	size_t len;
	const char *content_type; /* static string */
	const char *allow;        /* static string or NULL (405 only) */
	char model[MOE_MODEL_NAME_MAX + 1]; /* answered by, "" if none */
	uint64_t version;                   /* 0 if none */
	size_t instances; /* rows computed, for the access log */
};

struct srv_metrics;

/* Everything the request threads share. */
struct srv_context {
	const struct cfg_settings *cfg;
	struct srv_store *store;
	struct srv_metrics *metrics;
	char *api_token; /* NULL when none configured */
	char *admin_token;
	double start_time;     /* Unix seconds */
	atomic_int draining;   /* set once shutdown begins */
	atomic_long in_flight; /* requests started and not completed */
};

/* route - routes.c */

/*
 * srv_route_resolve - match method and path against the route table.
 * Fills *route (endpoint SRV_EP_UNKNOWN for no match;
 * method_ok 0 for a known path with another method).  Pure.
 */
void srv_route_resolve(const char *method, const char *path,
                       struct srv_route *route);

/*
 * srv_route_run - run the handler of a resolved, authorized route on a
 * body and fill *resp.  Never fails: every problem becomes an error
 * response.  Thread-safe (uses the calling thread's scratch).
 */
void srv_route_run(struct srv_context *ctx, const struct srv_route *route,
                   const char *body, size_t len, struct srv_response *resp);

/*
 * srv_respond_error - fill *resp with status and {"error": message}.
 * Falls back to a static body when out of memory.
 */
void srv_respond_error(struct srv_response *resp, int status, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

/* srv_endpoint_name - the route template of an endpoint, for labels. */
const char *srv_endpoint_name(enum srv_endpoint endpoint);

/*
 * srv_worker_release - free the calling thread's scratch and buffers
 * (also done automatically when a thread exits).
 */
void srv_worker_release(void);

/* auth - auth.c */

/*
 * srv_token_read - read a bearer token from path into *out (malloc'd,
 * trailing CR/LF removed).  An empty or oversized file, or one with
 * other control characters, is an error.  Returns 0 or -errno and a
 * sentence in msg naming the file.
 */
int srv_token_read(const char *path, char **out, char *msg, size_t len);

/*
 * srv_token_check - whether the Authorization header value (may be NULL)
 * is "Bearer <token>".  Compares digests in constant time, so neither
 * the content nor the length of the token leaks through timing.
 */
int srv_token_check(const char *token, const char *authorization);

/* metrics - metrics.c */

/* srv_metrics_new - zeroed counters, or NULL when out of memory. */
struct srv_metrics *srv_metrics_new(void);

/* srv_metrics_free - NULL is ok. */
void srv_metrics_free(struct srv_metrics *m);

/*
 * srv_metrics_observe - count one finished request of an endpoint with
 * its status code and duration.  Lock-free (atomics); thread-safe.
 */
void srv_metrics_observe(struct srv_metrics *m, enum srv_endpoint ep,
                         int status, double seconds);

/*
 * srv_metrics_refused - count one connection closed unanswered at the
 * connection limit.  Lock-free; thread-safe.
 */
void srv_metrics_refused(struct srv_metrics *m);

/*
 * srv_metrics_render - the Prometheus text page (format 0.0.4) with the
 * request counters, the models' state from the store, build info and
 * the process gauges.  Returns 0 and a malloc'd body in *out, *len, or
 * -ENOMEM / -E2BIG (over SRV_MAX_METRICS_BYTES).  Thread-safe.
 */
int srv_metrics_render(struct srv_context *ctx, char **out, size_t *len);

/* srv_now - Unix time in seconds; srv_monotonic - for durations. */
double srv_now(void);
double srv_monotonic(void);

/* http - http.c */

struct srv_http;

/*
 * srv_http_start - listen on the settings' address and start the HTTP
 * daemon's thread pool and accept thread.  Returns 0 and *out, or
 * -errno with a sentence in msg: -EADDRNOTAVAIL when the address cannot
 * be served (in use, not local, no permission) or libmicrohttpd does not
 * start, -EINVAL or -EIO for an unresolvable address or unreadable TLS
 * files.  ctx must outlive the daemon.
 */
int srv_http_start(struct srv_context *ctx, struct srv_http **out, char *msg,
                   size_t len);

/*
 * srv_http_quiesce - stop accepting: the listening socket is closed, so
 * new clients are refused; connections open now keep being served.
 * Idempotent; called from the thread that started the daemon.
 */
void srv_http_quiesce(struct srv_http *http);

/* srv_http_stop - close every connection, join the threads, free. */
void srv_http_stop(struct srv_http *http);

#endif
