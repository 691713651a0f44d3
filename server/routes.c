/* SPDX-License-Identifier: MIT */
/*
 * routes.c - the route table (SPEC 4.1, 4.2) and the handlers behind it.
 *
 * A handler never fails: it fills a struct srv_response, with an error
 * body when something is wrong.  A model handler holds a reference to
 * the version in service from srv_store_acquire until its response body
 * is encoded, so a swap during the request never changes its answer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "server.h"

static const char *const endpoint_names[SRV_EP_COUNT] = {
    [SRV_EP_PREDICT] = "/predict",
    [SRV_EP_GATES] = "/gates",
    [SRV_EP_MODEL_PREDICT] = "/v1/models/{name}/predict",
    [SRV_EP_MODEL_GATES] = "/v1/models/{name}/gates",
    [SRV_EP_MODELS] = "/v1/models",
    [SRV_EP_MODEL] = "/v1/models/{name}",
    [SRV_EP_MODEL_RELOAD] = "/v1/models/{name}/reload",
    [SRV_EP_RELOAD] = "/v1/reload",
    [SRV_EP_HEALTHZ] = "/healthz",
    [SRV_EP_READYZ] = "/readyz",
    [SRV_EP_METRICS] = "/metrics",
    [SRV_EP_V2] = "/v2",
    [SRV_EP_V2_LIVE] = "/v2/health/live",
    [SRV_EP_V2_READY] = "/v2/health/ready",
    [SRV_EP_V2_MODEL] = "/v2/models/{name}",
    [SRV_EP_V2_MODEL_READY] = "/v2/models/{name}/ready",
    [SRV_EP_V2_INFER] = "/v2/models/{name}/infer",
    [SRV_EP_V2_VERSION_MODEL] = "/v2/models/{name}/versions/{version}",
    [SRV_EP_V2_VERSION_READY] = "/v2/models/{name}/versions/{version}/ready",
    [SRV_EP_V2_VERSION_INFER] = "/v2/models/{name}/versions/{version}/infer",
    [SRV_EP_UNKNOWN] = "other",
};

const char *srv_endpoint_name(enum srv_endpoint endpoint)
{
	return endpoint_names[endpoint];
}

/* Routing ---------------------------------------------------------------- */

#define MAX_SEGMENTS 8

/* A path cut at its slashes: "/v1/models/x" is {"v1", "models", "x"}. */
struct segments {
	const char *s[MAX_SEGMENTS];
	size_t len[MAX_SEGMENTS];
	size_t n;
	int too_many;
};

static void split_path(const char *path, struct segments *seg)
{
	const char *p = path;

	memset(seg, 0, sizeof(*seg));
	if (*p == '/')
		p++;
	while (1) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (seg->n == MAX_SEGMENTS) {
			seg->too_many = 1;
			return;
		}
		seg->s[seg->n] = p;
		seg->len[seg->n] = len;
		seg->n++;
		if (!end)
			return;
		p = end + 1;
	}
}

static int seg_is(const struct segments *seg, size_t i, const char *word)
{
	return i < seg->n && seg->len[i] == strlen(word) &&
	       memcmp(seg->s[i], word, seg->len[i]) == 0;
}

/* Copy segment i into buf; an empty or oversized segment is no match. */
static int seg_copy(const struct segments *seg, size_t i, char *buf,
                    size_t size)
{
	if (i >= seg->n || seg->len[i] == 0 || seg->len[i] >= size)
		return 0;
	memcpy(buf, seg->s[i], seg->len[i]);
	buf[seg->len[i]] = '\0';
	return 1;
}

/* /v1/models[/{name}[/predict|gates|reload]] and /v1/reload */
static enum srv_endpoint match_v1(const struct segments *seg,
                                  struct srv_route *r)
{
	if (seg->n == 2 && seg_is(seg, 1, "reload"))
		return SRV_EP_RELOAD;
	if (!seg_is(seg, 1, "models"))
		return SRV_EP_UNKNOWN;
	if (seg->n == 2)
		return SRV_EP_MODELS;
	if (!seg_copy(seg, 2, r->name, sizeof(r->name)))
		return SRV_EP_UNKNOWN;
	if (seg->n == 3)
		return SRV_EP_MODEL;
	if (seg->n != 4)
		return SRV_EP_UNKNOWN;
	if (seg_is(seg, 3, "predict"))
		return SRV_EP_MODEL_PREDICT;
	if (seg_is(seg, 3, "gates"))
		return SRV_EP_MODEL_GATES;
	if (seg_is(seg, 3, "reload"))
		return SRV_EP_MODEL_RELOAD;
	return SRV_EP_UNKNOWN;
}

/* The v2 endpoints of one model or one version of it. */
struct v2_leaves {
	enum srv_endpoint metadata, ready, infer;
};

/* What follows a v2 model (or version) whose last segment is at - 1:
 * nothing, /ready or /infer. */
static enum srv_endpoint match_v2_leaf(const struct segments *seg, size_t at,
                                       const struct v2_leaves *leaves)
{
	if (seg->n == at)
		return leaves->metadata;
	if (seg->n == at + 1 && seg_is(seg, at, "ready"))
		return leaves->ready;
	if (seg->n == at + 1 && seg_is(seg, at, "infer"))
		return leaves->infer;
	return SRV_EP_UNKNOWN;
}

/* /v2, /v2/health/{live,ready}, /v2/models/{name}[/...] */
static enum srv_endpoint match_v2(const struct segments *seg,
                                  struct srv_route *r)
{
	static const struct v2_leaves model = {
	    SRV_EP_V2_MODEL, SRV_EP_V2_MODEL_READY, SRV_EP_V2_INFER};
	static const struct v2_leaves version = {SRV_EP_V2_VERSION_MODEL,
	                                         SRV_EP_V2_VERSION_READY,
	                                         SRV_EP_V2_VERSION_INFER};

	if (seg->n == 1)
		return SRV_EP_V2;
	if (seg->n == 3 && seg_is(seg, 1, "health"))
		return seg_is(seg, 2, "live")    ? SRV_EP_V2_LIVE
		       : seg_is(seg, 2, "ready") ? SRV_EP_V2_READY
		                                 : SRV_EP_UNKNOWN;
	if (!seg_is(seg, 1, "models") ||
	    !seg_copy(seg, 2, r->name, sizeof(r->name)))
		return SRV_EP_UNKNOWN;
	if (seg->n < 5 || !seg_is(seg, 3, "versions"))
		return match_v2_leaf(seg, 3, &model);
	if (!seg_copy(seg, 4, r->version, sizeof(r->version)))
		return SRV_EP_UNKNOWN;
	return match_v2_leaf(seg, 5, &version);
}

static enum srv_endpoint match_path(const char *path, struct srv_route *r)
{
	struct segments seg;

	split_path(path, &seg);
	if (seg.too_many || path[0] != '/')
		return SRV_EP_UNKNOWN;
	if (seg.n == 1) {
		static const struct {
			const char *word;
			enum srv_endpoint ep;
		} top[] = {
		    {"predict", SRV_EP_PREDICT}, {"gates", SRV_EP_GATES},
		    {"healthz", SRV_EP_HEALTHZ}, {"readyz", SRV_EP_READYZ},
		    {"metrics", SRV_EP_METRICS}, {"v2", SRV_EP_V2},
		};
		size_t i;

		for (i = 0; i < sizeof(top) / sizeof(top[0]); i++)
			if (seg_is(&seg, 0, top[i].word))
				return top[i].ep;
		return SRV_EP_UNKNOWN;
	}
	if (seg_is(&seg, 0, "v1"))
		return match_v1(&seg, r);
	if (seg_is(&seg, 0, "v2"))
		return match_v2(&seg, r);
	return SRV_EP_UNKNOWN;
}

static int is_post(enum srv_endpoint ep)
{
	switch (ep) {
	case SRV_EP_PREDICT:
	case SRV_EP_GATES:
	case SRV_EP_MODEL_PREDICT:
	case SRV_EP_MODEL_GATES:
	case SRV_EP_MODEL_RELOAD:
	case SRV_EP_RELOAD:
	case SRV_EP_V2_INFER:
	case SRV_EP_V2_VERSION_INFER:
		return 1;
	default:
		return 0;
	}
}

static enum srv_access access_of(enum srv_endpoint ep)
{
	switch (ep) {
	case SRV_EP_HEALTHZ:
	case SRV_EP_READYZ:
	case SRV_EP_METRICS:
	case SRV_EP_V2_LIVE:
	case SRV_EP_V2_READY:
		return SRV_ACCESS_OPEN;
	case SRV_EP_MODEL_RELOAD:
	case SRV_EP_RELOAD:
		return SRV_ACCESS_ADMIN;
	default:
		return SRV_ACCESS_API;
	}
}

void srv_route_resolve(const char *method, const char *path,
                       struct srv_route *route)
{
	enum srv_endpoint ep;

	memset(route, 0, sizeof(*route));
	ep = match_path(path, route);
	route->endpoint = ep;
	route->access = access_of(ep);
	if (ep == SRV_EP_UNKNOWN) {
		route->method_ok = 1;
		return;
	}
	if (is_post(ep)) {
		route->allow = "POST";
		route->method_ok = strcmp(method, "POST") == 0;
		route->has_body =
		    ep != SRV_EP_RELOAD && ep != SRV_EP_MODEL_RELOAD;
	} else {
		route->allow = "GET, HEAD";
		route->method_ok =
		    strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	}
}

/* Per-thread state -------------------------------------------------------- */

/* What one request thread keeps between requests. */
struct worker {
	struct moe_scratch *scratch;
	struct api_buf buf;
};

static pthread_key_t worker_key;
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;

static void worker_free(void *p)
{
	struct worker *w = p;

	if (!w)
		return;
	moe_scratch_free(w->scratch);
	api_buf_free(&w->buf);
	free(w);
}

static void worker_key_make(void)
{
	pthread_key_create(&worker_key, worker_free);
}

/* The calling thread's worker, made on first use; NULL when out of memory. */
static struct worker *worker_get(void)
{
	struct worker *w;

	pthread_once(&worker_once, worker_key_make);
	w = pthread_getspecific(worker_key);
	if (w)
		return w;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->scratch = moe_scratch_new();
	if (!w->scratch || pthread_setspecific(worker_key, w) != 0) {
		worker_free(w);
		return NULL;
	}
	return w;
}

void srv_worker_release(void)
{
	pthread_once(&worker_once, worker_key_make);
	worker_free(pthread_getspecific(worker_key));
	pthread_setspecific(worker_key, NULL);
}

/* Responses -------------------------------------------------------------- */

static const char oom_body[] = "{\"error\": \"out of memory\"}";

/* Move the body out of b into resp; an encoder failure becomes a 500. */
static void respond_buf(struct srv_response *resp, int status,
                        struct api_buf *b, int rc)
{
	if (rc == 0 && !b->error) {
		resp->status = status;
		resp->body = api_buf_steal(b, &resp->len);
		resp->content_type = "application/json";
		return;
	}
	srv_respond_error(
	    resp, 500, "the response could not be encoded: %s",
	    strerror(rc == -E2BIG || b->error == -E2BIG ? E2BIG : ENOMEM));
}

void srv_respond_error(struct srv_response *resp, int status, const char *fmt,
                       ...)
{
	struct api_buf b;
	char msg[MOE_ERROR_BYTES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(resp->body);
	resp->status = status;
	resp->content_type = "application/json";
	api_buf_init(&b);
	if (api_encode_error(&b, msg) == 0 && !b.error) {
		resp->body = api_buf_steal(&b, &resp->len);
		return;
	}
	api_buf_free(&b);
	resp->body = strdup(oom_body);
	resp->len = resp->body ? strlen(oom_body) : 0;
}

static void respond_text(struct srv_response *resp, int status,
                         const char *json)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = strdup(json);
	resp->len = resp->body ? strlen(json) : 0;
	if (!resp->body)
		resp->status = 500;
}

/* Models ----------------------------------------------------------------- */

/*
 * Acquire model name; on failure fill resp (404 unknown, 503 not
 * available) and return a negative errno.
 */
static int acquire(struct srv_context *ctx, const char *name,
                   struct srv_version **v, struct srv_response *resp)
{
	char reason[MOE_ERROR_BYTES];
	int rc;

	reason[0] = '\0';
	rc = srv_store_acquire(ctx->store, name, v, reason, sizeof(reason));
	if (rc == -ENOENT)
		srv_respond_error(resp, 404, "model '%.*s' not found",
		                  API_MAX_ECHO_BYTES, name);
	else if (rc == -EAGAIN)
		srv_respond_error(resp, 503, "model '%s' is not available: %s",
		                  name, reason[0] ? reason : "loading");
	else if (rc < 0)
		srv_respond_error(resp, 500, "model '%s': %s", name,
		                  strerror(-rc));
	return rc;
}

/* "a, b, c" into buf: the names of every model, for a 404's message. */
static void list_names(struct srv_model_status *st, size_t n, char *buf,
                       size_t size)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < n && used + 1 < size; i++) {
		int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
		                 st[i].name);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/*
 * The store's status list as srv_store_status gives it (the caller frees
 * it with srv_store_status_free), or a negative errno after answering 500.
 */
static int store_status(struct srv_context *ctx, struct srv_model_status **st,
                        struct srv_response *resp)
{
	int n = srv_store_status(ctx->store, st);

	if (n < 0)
		srv_respond_error(resp, 500, "model list: %s", strerror(-n));
	return n;
}

/*
 * The model behind /predict and /gates: the default_model setting, else
 * the only model.  Returns 0 with name filled, or fills resp with a 404
 * naming the models to choose from.
 */
static int default_model(struct srv_context *ctx, char *name, size_t size,
                         struct srv_response *resp)
{
	struct srv_model_status *st;
	char names[1024];
	int n;

	if (ctx->cfg->default_model) {
		snprintf(name, size, "%s", ctx->cfg->default_model);
		return 0;
	}
	n = store_status(ctx, &st, resp);
	if (n < 0)
		return n;
	if (n == 1)
		snprintf(name, size, "%s", st[0].name);
	list_names(st, (size_t)n, names, sizeof(names));
	srv_store_status_free(st, (size_t)n);
	if (n == 1)
		return 0;
	if (n == 0)
		srv_respond_error(resp, 404, "no model is served from %s",
		                  srv_store_dir(ctx->store));
	else
		srv_respond_error(
		    resp, 404,
		    "no default model: use /v1/models/{name}/... with one of: %s",
		    names);
	return -ENOENT;
}

static enum api_kind kind_of(enum srv_endpoint ep)
{
	switch (ep) {
	case SRV_EP_PREDICT:
	case SRV_EP_MODEL_PREDICT:
		return API_PREDICT;
	case SRV_EP_GATES:
	case SRV_EP_MODEL_GATES:
		return API_GATES;
	default:
		return API_V2_INFER;
	}
}

/* 404 unless the route's {version} is the number in service. */
static int check_version(const struct srv_route *route,
                         const struct srv_version *v, struct srv_response *resp)
{
	char want[24];

	if (!route->version[0])
		return 0;
	snprintf(want, sizeof(want), "%llu", (unsigned long long)v->number);
	if (strcmp(want, route->version) == 0)
		return 0;
	srv_respond_error(
	    resp, 404,
	    "model '%s' has no version '%.*s' in service (version %s is)",
	    v->name, API_MAX_ECHO_BYTES, route->version, want);
	return -ENOENT;
}

/* moe_forward's failures as statuses: the input's fault or ours. */
static void forward_failed(struct srv_response *resp, int rc,
                           const struct moe_error *merr)
{
	if (rc == -EINVAL)
		srv_respond_error(resp, 400, "%s", merr->message);
	else if (rc == -E2BIG)
		srv_respond_error(resp, 413, "batch too large: %s",
		                  merr->message);
	else
		srv_respond_error(resp, 500, "forward pass failed: %s",
		                  merr->message);
}

/* Parse, compute, account, encode: the version is held throughout. */
static void compute(struct srv_context *ctx, struct worker *w,
                    struct srv_version *v, enum api_kind kind, const char *body,
                    size_t len, struct srv_response *resp)
{
	struct api_request req;
	struct api_error aerr;
	struct moe_output out;
	struct moe_error merr;
	struct api_result res;
	int rc;

	memset(&out, 0, sizeof(out));
	merr.message[0] = '\0';
	rc = api_parse_request(v->model, kind, body, len,
	                       ctx->cfg->max_instances, &req, &aerr);
	if (rc < 0) {
		srv_respond_error(resp, aerr.status, "%s", aerr.message);
		return;
	}
	rc = api_outputs_alloc(v->model, req.n, req.outputs | API_OUT_WEIGHTS,
	                       &out);
	if (rc < 0) {
		srv_respond_error(resp, rc == -E2BIG ? 413 : 500,
		                  "no memory for %zu rows", req.n);
		goto free_req;
	}
	rc = moe_forward(v->model, req.x, req.n, w->scratch, &out, &merr);
	if (rc < 0) {
		forward_failed(resp, rc, &merr);
		goto free_out;
	}
	srv_store_account(ctx->store, v, req.n, out.weights);
	res = (struct api_result){.model = v->model,
	                          .name = v->name,
	                          .version = v->number,
	                          .n = req.n,
	                          .out = &out};
	rc = api_encode_response(&w->buf, &req, &res);
	respond_buf(resp, 200, &w->buf, rc);
	resp->instances = req.n;
free_out:
	api_outputs_free(&out);
free_req:
	api_request_free(&req);
}

static void handle_compute(struct srv_context *ctx,
                           const struct srv_route *route, const char *body,
                           size_t len, struct srv_response *resp)
{
	char name[MOE_MODEL_NAME_MAX + 1];
	struct srv_version *v;
	struct worker *w = worker_get();

	if (!w) {
		srv_respond_error(resp, 500, "out of memory");
		return;
	}
	if (route->name[0])
		snprintf(name, sizeof(name), "%s", route->name);
	else if (default_model(ctx, name, sizeof(name), resp) < 0)
		return;
	if (acquire(ctx, name, &v, resp) < 0)
		return;
	snprintf(resp->model, sizeof(resp->model), "%s", v->name);
	resp->version = v->number;
	if (check_version(route, v, resp) == 0)
		compute(ctx, w, v, kind_of(route->endpoint), body, len, resp);
	srv_version_release(v);
}

/* Status pages ----------------------------------------------------------- */

static void to_api_status(const struct srv_model_status *st,
                          struct api_model_status *as)
{
	memset(as, 0, sizeof(*as));
	as->name = st->name;
	as->state = srv_model_state_name(st->state);
	as->file = st->file;
	as->last_error = st->last_error;
	as->last_error_at = st->last_error_at;
	if (st->version) {
		as->version = st->version->number;
		as->loaded_at = st->version->loaded_at;
		as->model = st->version->model;
	}
}

static void handle_models(struct srv_context *ctx, struct srv_response *resp)
{
	struct srv_model_status *st;
	struct api_model_status *as;
	struct api_buf b;
	int n, i, rc;

	n = store_status(ctx, &st, resp);
	if (n < 0)
		return;
	as = calloc((size_t)n + 1, sizeof(*as));
	if (!as) {
		srv_respond_error(resp, 500, "out of memory");
		goto free_status;
	}
	for (i = 0; i < n; i++)
		to_api_status(&st[i], &as[i]);
	api_buf_init(&b);
	rc = api_encode_model_list(&b, as, (size_t)n);
	respond_buf(resp, 200, &b, rc);
	api_buf_free(&b);
	free(as);
free_status:
	srv_store_status_free(st, (size_t)n);
}

/* GET /v1/models/{name}, also the answer of a model's reload. */
static void handle_model(struct srv_context *ctx, const char *name,
                         struct srv_response *resp)
{
	struct srv_model_status *st;
	struct api_model_status as;
	struct api_buf b;
	int n, i, rc;

	n = store_status(ctx, &st, resp);
	if (n < 0)
		return;
	for (i = 0; i < n && strcmp(st[i].name, name) != 0; i++)
		;
	if (i == n) {
		srv_respond_error(resp, 404, "model '%.*s' not found",
		                  API_MAX_ECHO_BYTES, name);
	} else {
		to_api_status(&st[i], &as);
		api_buf_init(&b);
		rc = api_encode_model_status(&b, &as);
		respond_buf(resp, 200, &b, rc);
		api_buf_free(&b);
		if (st[i].version) {
			snprintf(resp->model, sizeof(resp->model), "%s", name);
			resp->version = st[i].version->number;
		}
	}
	srv_store_status_free(st, (size_t)n);
}

static void handle_reload(struct srv_context *ctx,
                          const struct srv_route *route,
                          struct srv_response *resp)
{
	char body[64];
	int rc = srv_store_rescan(ctx->store);

	if (rc < 0) {
		srv_error("reload: rescan of %s failed: %s",
		          srv_store_dir(ctx->store), strerror(-rc));
		srv_respond_error(resp, 500,
		                  "rescan of the model directory failed: %s",
		                  strerror(-rc));
		return;
	}
	srv_info("reload requested: %d model(s) changed", rc);
	if (route->endpoint == SRV_EP_MODEL_RELOAD) {
		handle_model(ctx, route->name, resp);
		return;
	}
	snprintf(body, sizeof(body), "{\"changed\": %d}", rc);
	respond_text(resp, 200, body);
}

/* How many models are AVAILABLE; negative errno on failure. */
static int count_available(struct srv_context *ctx)
{
	struct srv_model_status *st;
	int n, i, avail = 0;

	n = srv_store_status(ctx->store, &st);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		avail += st[i].state == SRV_MODEL_AVAILABLE;
	srv_store_status_free(st, (size_t)n);
	return avail;
}

static void handle_ready(struct srv_context *ctx, struct srv_response *resp,
                         int v2)
{
	int avail = count_available(ctx);

	if (atomic_load(&ctx->draining))
		srv_respond_error(resp, 503, "the server is shutting down");
	else if (avail < 0)
		srv_respond_error(resp, 500, "model list: %s",
		                  strerror(-avail));
	else if (avail == 0)
		srv_respond_error(resp, 503, "no model is available");
	else
		respond_text(resp, 200,
		             v2 ? "{\"ready\": true}"
		                : "{\"status\": \"ready\"}");
}

static void handle_metrics(struct srv_context *ctx, struct srv_response *resp)
{
	int rc = srv_metrics_render(ctx, &resp->body, &resp->len);

	if (rc < 0) {
		srv_error("metrics: %s", strerror(-rc));
		srv_respond_error(resp, 500, "metrics: %s", strerror(-rc));
		return;
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void handle_v2_model(struct srv_context *ctx,
                            const struct srv_route *route,
                            struct srv_response *resp)
{
	struct srv_version *v;
	struct api_buf b;
	char json[MOE_MODEL_NAME_MAX + 48];
	int rc;

	if (acquire(ctx, route->name, &v, resp) < 0)
		return;
	snprintf(resp->model, sizeof(resp->model), "%s", v->name);
	resp->version = v->number;
	if (check_version(route, v, resp) < 0) {
		srv_version_release(v);
		return;
	}
	if (route->endpoint == SRV_EP_V2_MODEL_READY ||
	    route->endpoint == SRV_EP_V2_VERSION_READY) {
		snprintf(json, sizeof(json),
		         "{\"name\": \"%s\", \"ready\": true}", v->name);
		respond_text(resp, 200, json);
	} else {
		api_buf_init(&b);
		rc = api_encode_v2_model_metadata(&b, v->name, v->number,
		                                  v->model);
		respond_buf(resp, 200, &b, rc);
		api_buf_free(&b);
	}
	srv_version_release(v);
}

static void handle_v2_server(struct srv_response *resp)
{
	struct api_buf b;
	int rc;

	api_buf_init(&b);
	rc = api_encode_v2_server_metadata(&b);
	respond_buf(resp, 200, &b, rc);
	api_buf_free(&b);
}

void srv_route_run(struct srv_context *ctx, const struct srv_route *route,
                   const char *body, size_t len, struct srv_response *resp)
{
	switch (route->endpoint) {
	case SRV_EP_PREDICT:
	case SRV_EP_GATES:
	case SRV_EP_MODEL_PREDICT:
	case SRV_EP_MODEL_GATES:
	case SRV_EP_V2_INFER:
	case SRV_EP_V2_VERSION_INFER:
		handle_compute(ctx, route, body, len, resp);
		break;
	case SRV_EP_MODELS:
		handle_models(ctx, resp);
		break;
	case SRV_EP_MODEL:
		handle_model(ctx, route->name, resp);
		break;
	case SRV_EP_MODEL_RELOAD:
	case SRV_EP_RELOAD:
		handle_reload(ctx, route, resp);
		break;
	case SRV_EP_HEALTHZ:
	case SRV_EP_V2_LIVE:
		respond_text(resp, 200,
		             route->endpoint == SRV_EP_HEALTHZ
		                 ? "{\"status\": \"ok\"}"
		                 : "{\"live\": true}");
		break;
	case SRV_EP_READYZ:
	case SRV_EP_V2_READY:
		handle_ready(ctx, resp, route->endpoint == SRV_EP_V2_READY);
		break;
	case SRV_EP_METRICS:
		handle_metrics(ctx, resp);
		break;
	case SRV_EP_V2:
		handle_v2_server(resp);
		break;
	case SRV_EP_V2_MODEL:
	case SRV_EP_V2_MODEL_READY:
	case SRV_EP_V2_VERSION_MODEL:
	case SRV_EP_V2_VERSION_READY:
		handle_v2_model(ctx, route, resp);
		break;
	default:
		srv_respond_error(resp, 404, "no such route");
		break;
	}
}
