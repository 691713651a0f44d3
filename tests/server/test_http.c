/* SPDX-License-Identifier: MIT */
/*
 * test_http.c - suite "http": every route and status code of the real
 * daemon, the numbers it answers checked against expected.json (written
 * by tests/tools/server_reference.py with numpy), and a catalog of bad
 * requests after which the daemon still answers correctly.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>

#include "harness.h"
#include "suites.h"

static struct daemon dm;
static cJSON *expected;

/* iris.json (F64 JSON), blobs.safetensors (F64), tiny32.safetensors (F32)
 * and bad.json (invalid), with small limits for the catalog. */
static void load_expected(void)
{
	char *text = read_text(data_path("expected.json"));

	ck_assert_ptr_nonnull(text);
	expected = cJSON_Parse(text);
	ck_assert_ptr_nonnull(expected);
	free(text);
}

static void setup(void)
{
	static const char *const args[] = {
	    "--max-body-bytes",
	    "4096",
	    "--max-instances",
	    "8",
	    "--log-level",
	    "debug",
	    "--access-log",
	    "true",
	    NULL,
	};

	daemon_prepare(&dm);
	daemon_add_model(&dm, "models/iris.json");
	daemon_add_model(&dm, "models/blobs.safetensors");
	daemon_add_model(&dm, "models/tiny32.safetensors");
	daemon_add_model(&dm, "models/bad.json");
	daemon_start(&dm, args, NULL);
	load_expected();
}

static void teardown(void)
{
	ck_assert_int_eq(daemon_stop(&dm), 0);
	daemon_cleanup(&dm);
	cJSON_Delete(expected);
}

/* Helpers ----------------------------------------------------------------- */

static cJSON *model_case(const char *name)
{
	cJSON *m = cJSON_GetObjectItem(expected, name);

	ck_assert_ptr_nonnull(m);
	return m;
}

static double tolerance(const char *name)
{
	const char *dtype =
	    cJSON_GetObjectItem(model_case(name), "dtype")->valuestring;

	return strcmp(dtype, "F32") == 0 ? 2e-5 : 1e-12;
}

/* The expected rows of a model as {"instances": [[...], ...]}. */
static char *array_body(const char *name)
{
	cJSON *doc = cJSON_CreateObject();
	char *s;

	cJSON_AddItemToObject(
	    doc, "instances",
	    cJSON_Duplicate(cJSON_GetObjectItem(model_case(name), "rows"), 1));
	s = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return s;
}

/* The same rows as objects keyed by feature name, in reverse order. */
static char *object_body(const char *name)
{
	cJSON *m = model_case(name), *doc = cJSON_CreateObject(), *rows, *r;
	cJSON *feats = cJSON_GetObjectItem(m, "features");
	int j, n = cJSON_GetArraySize(feats);
	char *s;

	rows = cJSON_AddArrayToObject(doc, "instances");
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(m, "rows"))
	{
		cJSON *o = cJSON_CreateObject();

		for (j = n - 1; j >= 0; j--)
			cJSON_AddNumberToObject(
			    o, cJSON_GetArrayItem(feats, j)->valuestring,
			    cJSON_GetArrayItem(r, j)->valuedouble);
		cJSON_AddItemToArray(rows, o);
	}
	s = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return s;
}

/* The V2 body for a model's rows, data flat. */
static char *v2_body(const char *name, const char *outputs)
{
	cJSON *m = model_case(name), *rows = cJSON_GetObjectItem(m, "rows");
	cJSON *r, *v;
	char *data = calloc(1, 65536), *body = malloc(70000);
	size_t used = 0;
	int n = cJSON_GetArraySize(rows);
	int d = cJSON_GetArraySize(cJSON_GetArrayItem(rows, 0));

	cJSON_ArrayForEach(r, rows)
	{
		cJSON_ArrayForEach(v, r)
		{
			used += (size_t)snprintf(data + used, 65536 - used,
			                         "%s%.17g", used ? ", " : "",
			                         v->valuedouble);
		}
	}
	snprintf(body, 70000,
	         "{\"id\": \"req-7\", \"inputs\": [{\"name\": \"input\", "
	         "\"shape\": [%d, %d], \"datatype\": \"FP64\", \"data\": "
	         "[%s]}]%s}",
	         n, d, data, outputs ? outputs : "");
	free(data);
	return body;
}

/* Compare a [n][k] (or [n], flat when flat_k > 0) array to expected. */
static void check_matrix(const cJSON *got, const char *model, const char *key,
                         int flat_k, double tol)
{
	cJSON *outs = cJSON_GetObjectItem(model_case(model), "outputs");
	int i, j, n = cJSON_GetArraySize(outs);

	ck_assert_ptr_nonnull(got);
	for (i = 0; i < n; i++) {
		cJSON *want =
		    cJSON_GetObjectItem(cJSON_GetArrayItem(outs, i), key);
		int k = cJSON_GetArraySize(want);
		const cJSON *row = flat_k ? got : cJSON_GetArrayItem(got, i);

		ck_assert_ptr_nonnull(row);
		if (!flat_k)
			ck_assert_int_eq(cJSON_GetArraySize(row), k);
		for (j = 0; j < k; j++) {
			double w = cJSON_GetArrayItem(want, j)->valuedouble;
			double g =
			    cJSON_GetArrayItem(row, flat_k ? i * k + j : j)
			        ->valuedouble;

			ck_assert_msg(fabs(w - g) <= tol,
			              "%s %s[%d][%d]: got %.17g, want %.17g",
			              model, key, i, j, g, w);
		}
	}
}

/* Labels: names for native answers, indexes into classes. */
static void check_labels(const cJSON *got, const char *model, const char *key)
{
	cJSON *m = model_case(model), *outs = cJSON_GetObjectItem(m, "outputs");
	cJSON *classes = cJSON_GetObjectItem(m, "classes");
	int i, n = cJSON_GetArraySize(outs);

	ck_assert_int_eq(cJSON_GetArraySize(got), n);
	for (i = 0; i < n; i++) {
		int want = cJSON_GetObjectItem(cJSON_GetArrayItem(outs, i), key)
		               ->valueint;
		cJSON *g = cJSON_GetArrayItem(got, i);

		if (cJSON_IsString(g))
			ck_assert_str_eq(
			    g->valuestring,
			    cJSON_GetArrayItem(classes, want)->valuestring);
		else
			ck_assert_int_eq(g->valueint, want);
	}
}

static void post_ok(const char *path, const char *body, struct response *r)
{
	http(&dm, "POST", path, NULL, body, r);
	ck_assert_msg(r->status == 200, "POST %s: %ld %s", path, r->status,
	              r->body ? r->body : "");
	ck_assert_ptr_nonnull(r->json);
}

static void check_predict(const char *model, const char *body)
{
	char path[128];
	struct response r;

	snprintf(path, sizeof(path), "/v1/models/%s/predict", model);
	post_ok(path, body, &r);
	ck_assert_str_eq(cJSON_GetObjectItem(r.json, "model")->valuestring,
	                 model);
	ck_assert_int_eq(cJSON_GetObjectItem(r.json, "model_version")->valueint,
	                 1);
	ck_assert_str_eq(r.model_name, model);
	ck_assert_str_eq(r.model_version, "1");
	check_matrix(cJSON_GetObjectItem(r.json, "probabilities"), model,
	             "probabilities", 0, tolerance(model));
	check_labels(cJSON_GetObjectItem(r.json, "labels"), model, "label");
	response_free(&r);
}

/* Routes and numbers ------------------------------------------------------- */

START_TEST(predict_array_rows)
{
	static const char *const models[] = {"iris", "blobs", "tiny32"};
	char *body = array_body(models[_i]);

	check_predict(models[_i], body);
	free(body);
}
END_TEST

START_TEST(predict_object_rows)
{
	static const char *const models[] = {"iris", "tiny32"};
	char *body = object_body(models[_i]);

	check_predict(models[_i], body);
	free(body);
}
END_TEST

START_TEST(gates_with_expert_probabilities)
{
	static const char *const models[] = {"iris", "blobs", "tiny32"};
	const char *model = models[_i];
	char path[128], *rows = array_body(model), body[70000];
	struct response r;
	cJSON *gate;
	int i, n;

	snprintf(path, sizeof(path), "/v1/models/%s/gates", model);
	snprintf(body, sizeof(body), "%.*s, \"expert_probabilities\": true}",
	         (int)strlen(rows) - 1, rows);
	post_ok(path, body, &r);
	check_matrix(cJSON_GetObjectItem(r.json, "activations"), model,
	             "activations", 0, tolerance(model));
	check_matrix(cJSON_GetObjectItem(r.json, "weights"), model, "weights",
	             0, tolerance(model));
	check_labels(cJSON_GetObjectItem(r.json, "top_expert"), model,
	             "top_expert");
	gate = cJSON_GetObjectItem(r.json, "gate");
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(gate, "kind"));
	n = cJSON_GetArraySize(
	    cJSON_GetObjectItem(r.json, "expert_probabilities"));
	ck_assert_int_eq(n, 5);
	for (i = 0; i < n; i++) {
		cJSON *got = cJSON_GetArrayItem(
		    cJSON_GetObjectItem(r.json, "expert_probabilities"), i);
		cJSON *want = cJSON_GetObjectItem(
		    cJSON_GetArrayItem(
		        cJSON_GetObjectItem(model_case(model), "outputs"), i),
		    "expert_probabilities");
		int e, k;

		for (e = 0; e < cJSON_GetArraySize(want); e++)
			for (k = 0; k < cJSON_GetArraySize(
			                    cJSON_GetArrayItem(want, e));
			     k++)
				ck_assert(
				    fabs(cJSON_GetArrayItem(
				             cJSON_GetArrayItem(got, e), k)
				             ->valuedouble -
				         cJSON_GetArrayItem(
				             cJSON_GetArrayItem(want, e), k)
				             ->valuedouble) <=
				    tolerance(model));
	}
	response_free(&r);
	free(rows);
}
END_TEST

START_TEST(gates_without_expert_probabilities)
{
	char *body = array_body("iris");
	struct response r;

	post_ok("/v1/models/iris/gates", body, &r);
	ck_assert_ptr_null(cJSON_GetObjectItem(r.json, "expert_probabilities"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(r.json, "weights"));
	response_free(&r);
	free(body);
}
END_TEST

/* The output named name in a V2 answer. */
static cJSON *v2_output(cJSON *doc, const char *name)
{
	cJSON *o;

	cJSON_ArrayForEach(o, cJSON_GetObjectItem(doc, "outputs"))
	{
		if (strcmp(cJSON_GetObjectItem(o, "name")->valuestring, name) ==
		    0)
			return o;
	}
	ck_abort_msg("no output %s", name);
	return NULL;
}

START_TEST(v2_infer_equals_native_predict)
{
	static const char *const models[] = {"iris", "blobs", "tiny32"};
	const char *model = models[_i];
	char path[128], *body = v2_body(model, NULL), *native;
	struct response r, p;
	cJSON *probs, *nat;
	int i;

	snprintf(path, sizeof(path), "/v2/models/%s/infer", model);
	post_ok(path, body, &r);
	ck_assert_str_eq(cJSON_GetObjectItem(r.json, "model_name")->valuestring,
	                 model);
	ck_assert_str_eq(
	    cJSON_GetObjectItem(r.json, "model_version")->valuestring, "1");
	ck_assert_str_eq(cJSON_GetObjectItem(r.json, "id")->valuestring,
	                 "req-7");
	probs = v2_output(r.json, "probabilities");
	check_matrix(cJSON_GetObjectItem(probs, "data"), model, "probabilities",
	             1, tolerance(model));
	check_labels(cJSON_GetObjectItem(v2_output(r.json, "label"), "data"),
	             model, "label");

	/* bit for bit what the native endpoint answers */
	native = array_body(model);
	snprintf(path, sizeof(path), "/v1/models/%s/predict", model);
	post_ok(path, native, &p);
	nat = cJSON_GetObjectItem(p.json, "probabilities");
	for (i = 0; i < cJSON_GetArraySize(cJSON_GetObjectItem(probs, "data"));
	     i++) {
		int k = cJSON_GetArraySize(cJSON_GetArrayItem(nat, 0));

		ck_assert(
		    cJSON_GetArrayItem(cJSON_GetObjectItem(probs, "data"), i)
		        ->valuedouble ==
		    cJSON_GetArrayItem(cJSON_GetArrayItem(nat, i / k), i % k)
		        ->valuedouble);
	}
	response_free(&p);
	response_free(&r);
	free(native);
	free(body);
}
END_TEST

START_TEST(v2_versioned_infer_and_outputs)
{
	char *body = v2_body("blobs", ", \"outputs\": [{\"name\": "
	                              "\"gate_weights\"}, {\"name\": "
	                              "\"gate_activations\"}]");
	struct response r;

	post_ok("/v2/models/blobs/versions/1/infer", body, &r);
	ck_assert_int_eq(
	    cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "outputs")), 2);
	check_matrix(
	    cJSON_GetObjectItem(v2_output(r.json, "gate_weights"), "data"),
	    "blobs", "weights", 1, 1e-12);
	check_matrix(
	    cJSON_GetObjectItem(v2_output(r.json, "gate_activations"), "data"),
	    "blobs", "activations", 1, 1e-12);
	response_free(&r);
	free(body);
}
END_TEST

START_TEST(missing_content_type_accepted)
{
	static const char *const no_type[] = {"Content-Type:", NULL};
	static const char *const charset[] = {
	    "Content-Type: Application/JSON; charset=utf-8", NULL};
	char *body = array_body("iris");
	struct response r;

	http(&dm, "POST", "/v1/models/iris/predict", no_type, body, &r);
	ck_assert_int_eq(r.status, 200);
	response_free(&r);
	http(&dm, "POST", "/v1/models/iris/predict", charset, body, &r);
	ck_assert_int_eq(r.status, 200);
	response_free(&r);
	free(body);
}
END_TEST

START_TEST(health_and_metadata)
{
	static const char *const ok_paths[] = {
	    "/healthz",
	    "/readyz",
	    "/v2/health/live",
	    "/v2/health/ready",
	    "/v2",
	    "/v2/models/iris",
	    "/v2/models/tiny32/ready",
	    "/v2/models/iris/versions/1",
	    "/v2/models/iris/versions/1/ready",
	    "/v1/models",
	    "/v1/models/iris",
	    "/metrics",
	};
	struct response r;
	size_t i;

	for (i = 0; i < sizeof(ok_paths) / sizeof(ok_paths[0]); i++) {
		http(&dm, "GET", ok_paths[i], NULL, NULL, &r);
		ck_assert_msg(r.status == 200, "GET %s: %ld", ok_paths[i],
		              r.status);
		response_free(&r);
	}
	http(&dm, "HEAD", "/healthz", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	response_free(&r);

	http(&dm, "GET", "/v2/models/tiny32", NULL, NULL, &r);
	ck_assert_str_eq(
	    cJSON_GetObjectItem(
	        cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "inputs"), 0),
	        "datatype")
	        ->valuestring,
	    "FP32");
	response_free(&r);
}
END_TEST

/* The digest of a model is sha256sum of its file. */
START_TEST(model_status_and_list)
{
	char cmd[600], *out;
	struct response r;
	cJSON *m;

	http(&dm, "GET", "/v1/models/iris", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(cJSON_GetObjectItem(r.json, "state")->valuestring,
	                 "AVAILABLE");
	ck_assert_int_eq(cJSON_GetObjectItem(r.json, "version")->valueint, 1);
	snprintf(cmd, sizeof(cmd), "sha256sum '%s/iris.json'", dm.models);
	ck_assert_int_eq(run_command(cmd, &out), 0);
	ck_assert_int_eq(
	    strncmp(out, cJSON_GetObjectItem(r.json, "digest")->valuestring,
	            64),
	    0);
	free(out);
	ck_assert_int_eq(cJSON_GetObjectItem(r.json, "n_features")->valueint,
	                 4);
	response_free(&r);

	http(&dm, "GET", "/v1/models/bad", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(cJSON_GetObjectItem(r.json, "state")->valuestring,
	                 "UNAVAILABLE");
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(r.json, "last_error")));
	response_free(&r);

	http(&dm, "GET", "/v1/models", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	m = cJSON_GetObjectItem(r.json, "models");
	ck_assert_int_eq(cJSON_GetArraySize(m), 4);
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "name")->valuestring,
	    "bad");
	response_free(&r);
}
END_TEST

START_TEST(errors_name_the_problem)
{
	struct response r;

	http(&dm, "POST", "/v1/models/iris/predict", NULL,
	     "{\"instances\": [[1, 2, 3, 4], [1, 2, 3, 4, 5]]}", &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_msg(strstr(cJSON_GetObjectItem(r.json, "error")->valuestring,
	                     "instances[1]") != NULL,
	              "%s", r.body);
	response_free(&r);

	http(&dm, "POST", "/predict", NULL, "{\"instances\": [[1]]}", &r);
	ck_assert_int_eq(r.status, 404);
	ck_assert(strstr(r.body, "blobs") && strstr(r.body, "iris"));
	response_free(&r);

	http(&dm, "GET", "/v1/models/iris/predict", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(r.allow, "POST");
	response_free(&r);

	http(&dm, "DELETE", "/healthz", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	response_free(&r);

	http(&dm, "POST", "/v1/models/bad/predict", NULL,
	     "{\"instances\": [[1, 2]]}", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_msg(strstr(r.body, "bad.json") != NULL, "%s", r.body);
	response_free(&r);
}
END_TEST

/* The catalog of bad requests ---------------------------------------------- */

static char *generated_body(const char *kind)
{
	char *b = calloc(1, 8192);
	size_t n;

	ck_assert_ptr_nonnull(b);
	if (strcmp(kind, "BIG") == 0) {
		strcpy(b, "{\"instances\": [[1, 2, 3, 4]]");
		n = strlen(b);
		memset(b + n, ' ', 5000);
		b[n + 5000] = '}';
	} else if (strcmp(kind, "DEEP") == 0) {
		strcpy(b, "{\"instances\": ");
		n = strlen(b);
		memset(b + n, '[', 40);
		b[n + 40] = '1';
		memset(b + n + 41, ']', 40);
		b[n + 81] = '}';
	}
	return b;
}

/* Run one "status method path type body case" line. */
static void run_case(char *line)
{
	char *f[6], *save = NULL, *body = NULL, type[160];
	const char *headers[2] = {NULL, NULL};
	struct response r;
	int i, want;

	for (i = 0; i < 6; i++) {
		f[i] = strtok_r(i ? NULL : line, "\t\n", &save);
		ck_assert_msg(f[i] != NULL, "bad catalog line");
	}
	want = atoi(f[0]);
	if (strcmp(f[4], "EMPTY") == 0 || strcmp(f[4], "BIG") == 0 ||
	    strcmp(f[4], "DEEP") == 0)
		body = generated_body(f[4]);
	else if (strcmp(f[4], "-") != 0)
		body = strdup(f[4]);
	if (strcmp(f[3], "-") != 0) {
		snprintf(type, sizeof(type), "Content-Type: %s", f[3]);
		headers[0] = type;
	}
	http(&dm, f[1], f[2], headers, body, &r);
	ck_assert_msg(r.status == want, "%s: %s %s: got %ld, want %d (%s)",
	              f[5], f[1], f[2], r.status, want, r.body ? r.body : "");
	ck_assert_msg(r.json &&
	                  cJSON_IsString(cJSON_GetObjectItem(r.json, "error")),
	              "%s: error body %s", f[5], r.body ? r.body : "");
	if (want == 405)
		ck_assert_msg(r.allow[0] != '\0', "%s: no Allow", f[5]);
	response_free(&r);
	free(body);
}

START_TEST(bad_request_catalog)
{
	char *text = read_text(data_path("bad_requests.tsv")), *line, *save;
	int n = 0;

	ck_assert_ptr_nonnull(text);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char copy[8192];

		if (line[0] == '#' || line[0] == '\0')
			continue;
		snprintf(copy, sizeof(copy), "%s", line);
		run_case(copy);
		n++;
	}
	free(text);
	ck_assert_int_ge(n, 40);

	/* and the daemon still answers a good request correctly */
	{
		char *body = array_body("iris");

		check_predict("iris", body);
		free(body);
	}
}
END_TEST

/* Requests libcurl will not send: broken framing, oversize chunks. */
START_TEST(raw_http_requests)
{
	static const char short_len[] =
	    "POST /v1/models/iris/predict HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 12\r\n\r\n"
	    "{\"instances\": [[1, 2, 3, 4]]}";
	static const char chunk_head[] =
	    "POST /v1/models/iris/predict HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	static const char garbage[] = "HELLO THERE\r\n\r\n";
	static const char bad_len[] =
	    "POST /v1/models/iris/predict HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: abc\r\n\r\n";
	char big[12000], *out;
	size_t n;
	char *body = array_body("iris");

	out = raw_request(&dm, short_len, strlen(short_len), 0);
	ck_assert_msg(raw_status(out) == 400, "short length: %s", out);
	free(out);

	n = (size_t)snprintf(big, sizeof(big), "%s", chunk_head);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "1770\r\n");
	memset(big + n, ' ', 6000);
	n += 6000;
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n0\r\n\r\n");
	out = raw_request(&dm, big, n, 0);
	ck_assert_msg(raw_status(out) == 413, "chunked: %s", out);
	free(out);

	out = raw_request(&dm, garbage, strlen(garbage), 1);
	ck_assert_msg(raw_status(out) == 400 || raw_status(out) == 0, "%s",
	              out);
	free(out);

	out = raw_request(&dm, bad_len, strlen(bad_len), 1);
	ck_assert_msg(raw_status(out) == 400 || raw_status(out) == 0, "%s",
	              out);
	free(out);

	/* a client that goes away mid-body */
	out = raw_request(&dm, short_len, strlen(short_len) - 20, 1);
	free(out);

	check_predict("iris", body);
	free(body);
}
END_TEST

/* Load and swap ------------------------------------------------------------ */

#define LOAD_THREADS 4
#define LOAD_MAX_REQUESTS 20000 /* per client, a bound on the test */
#define LOAD_AFTER_SWAP 20      /* answers each client wants from v2 */

/* One client thread's view; checked by the main thread after the join. */
struct client {
	pthread_t thread;
	char body[4096];
	int port;
	int ok;            /* answers with the right numbers */
	int seen[3];       /* answers from version 1 and 2 (atomic) */
	int failures;      /* anything else */
	long last_version; /* never goes down */
	char first_error[256];
};

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	char *p = realloc(r->body, r->len + size * n + 1);

	if (!p)
		return 0;
	memcpy(p + r->len, data, size * n);
	r->body = p;
	r->len += size * n;
	p[r->len] = '\0';
	return size * n;
}

/* Whether probabilities match the expected outputs of version v. */
static int numbers_match(cJSON *doc, long v)
{
	cJSON *outs = cJSON_GetObjectItem(
	    model_case(v == 1 ? "iris" : "iris_v2"), "outputs");
	cJSON *got = cJSON_GetObjectItem(doc, "probabilities");
	int i, k;

	for (i = 0; i < cJSON_GetArraySize(outs); i++) {
		cJSON *want = cJSON_GetObjectItem(cJSON_GetArrayItem(outs, i),
		                                  "probabilities");

		for (k = 0; k < cJSON_GetArraySize(want); k++)
			if (fabs(cJSON_GetArrayItem(want, k)->valuedouble -
			         cJSON_GetArrayItem(cJSON_GetArrayItem(got, i),
			                            k)
			             ->valuedouble) > 1e-12)
				return 0;
	}
	return 1;
}

static void client_fail(struct client *c, const char *what)
{
	if (!c->failures++)
		snprintf(c->first_error, sizeof(c->first_error), "%s", what);
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct curl_slist *hl =
	    curl_slist_append(NULL, "Content-Type: application/json");
	CURL *curl = curl_easy_init();
	char url[128];
	int i;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/models/iris/predict",
	         c->port);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
	for (i = 0;
	     i < LOAD_MAX_REQUESTS &&
	     __atomic_load_n(&c->seen[2], __ATOMIC_RELAXED) < LOAD_AFTER_SWAP;
	     i++) {
		struct response r;
		cJSON *doc, *ver;
		long status = 0;

		memset(&r, 0, sizeof(r));
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
		if (curl_easy_perform(curl) != CURLE_OK) {
			client_fail(c, "request failed");
			continue;
		}
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		doc = r.body ? cJSON_Parse(r.body) : NULL;
		ver = doc ? cJSON_GetObjectItem(doc, "model_version") : NULL;
		if (status != 200 || !ver)
			client_fail(c, r.body ? r.body : "no body");
		else if (ver->valueint < c->last_version)
			client_fail(c, "the version went back");
		else if (!numbers_match(doc, ver->valueint))
			client_fail(c, "numbers of another version");
		else
			c->ok++;
		if (ver && ver->valueint >= 1 && ver->valueint <= 2)
			__atomic_add_fetch(&c->seen[ver->valueint], 1,
			                   __ATOMIC_RELAXED);
		if (ver)
			c->last_version = ver->valueint;
		cJSON_Delete(doc);
		free(r.body);
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(curl);
	return NULL;
}

/* Publish the second version of iris the way SPEC 3 says: rename. */
static void publish_iris_v2(void)
{
	char tmp[512], dst[512], *text;
	FILE *f;

	text = read_text(data_path("models/iris_v2.json.in"));
	ck_assert_ptr_nonnull(text);
	snprintf(tmp, sizeof(tmp), "%s/iris.json.tmp", dm.models);
	snprintf(dst, sizeof(dst), "%s/iris.json", dm.models);
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(rename(tmp, dst), 0);
	free(text);
}

/* Clients hammer iris while a new version is published: every answer is
 * 200 and carries the numbers of the version it names. */
START_TEST(swap_under_load)
{
	struct client c[LOAD_THREADS];
	char *body = array_body("iris");
	struct response r;
	int i, version = 0;

	for (i = 0; i < LOAD_THREADS; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		snprintf(c[i].body, sizeof(c[i].body), "%s", body);
		c[i].port = dm.port;
		c[i].last_version = 1;
		ck_assert_int_eq(
		    pthread_create(&c[i].thread, NULL, client_main, &c[i]), 0);
	}
	/* publish once every client has had answers from version 1 */
	for (i = 0; i < LOAD_THREADS; i++)
		while (__atomic_load_n(&c[i].seen[1], __ATOMIC_RELAXED) < 10)
			usleep(1000);
	publish_iris_v2();
	for (i = 0; i < LOAD_THREADS; i++)
		pthread_join(c[i].thread, NULL);
	for (i = 0; i < LOAD_THREADS; i++) {
		ck_assert_msg(c[i].failures == 0, "client %d: %d failures: %s",
		              i, c[i].failures, c[i].first_error);
		ck_assert_int_ge(c[i].seen[1], 10);
		ck_assert_int_eq(c[i].seen[2], LOAD_AFTER_SWAP);
		ck_assert_int_eq(c[i].ok, c[i].seen[1] + c[i].seen[2]);
	}

	/* the new version is in service within a few seconds */
	for (i = 0; i < 100 && version != 2; i++) {
		http(&dm, "GET", "/v1/models/iris", NULL, NULL, &r);
		version = cJSON_GetObjectItem(r.json, "version")->valueint;
		response_free(&r);
		usleep(50 * 1000);
	}
	ck_assert_int_eq(version, 2);
	post_ok("/v1/models/iris/predict", body, &r);
	ck_assert_str_eq(r.model_version, "2");
	ck_assert(numbers_match(r.json, 2));
	response_free(&r);
	free(body);
}
END_TEST

/* The api helper's catalog, on the daemon ----------------------------- */

/* After the catalog, a good request still gets the right numbers. */
static int status_of_good(void)
{
	char *body = array_body("iris");

	check_predict("iris", body);
	free(body);
	return 200;
}

static void setup_catalog(void)
{
	static const char *const args[] = {"--max-instances", "1000", NULL};

	daemon_prepare(&dm);
	daemon_add_model(&dm, "models/iris.json");
	daemon_add_model(&dm, "models/anon.json");
	daemon_start(&dm, args, NULL);
	load_expected();
}

static void teardown_catalog(void)
{
	ck_assert_int_eq(daemon_stop(&dm), 0);
	daemon_cleanup(&dm);
	cJSON_Delete(expected);
}

/* The endpoint a catalog file is for, from its prefix. */
static const char *catalog_path(const char *file)
{
	if (strncmp(file, "gates_", 6) == 0)
		return "/v1/models/iris/gates";
	if (strncmp(file, "anon_", 5) == 0)
		return "/v1/models/anon/predict";
	if (strncmp(file, "v2_", 3) == 0)
		return "/v2/models/iris/infer";
	return "/v1/models/iris/predict";
}

/* Send a catalog body byte for byte (it may hold a NUL). */
static void post_file(const char *path, const char *file, int *status,
                      char **message)
{
	char name[300], head[512], *body, *out, *p;
	struct stat sb;
	size_t n;
	FILE *f;
	cJSON *doc;

	snprintf(name, sizeof(name), "%s/api/bad/%s",
	         getenv("SIGMOE_TEST_DATA"), file);
	ck_assert_int_eq(stat(name, &sb), 0);
	f = fopen(name, "rb");
	ck_assert_ptr_nonnull(f);
	n = (size_t)snprintf(head, sizeof(head),
	                     "POST %s HTTP/1.1\r\nHost: x\r\nConnection: "
	                     "close\r\nContent-Type: application/json\r\n"
	                     "Content-Length: %lld\r\n\r\n",
	                     path, (long long)sb.st_size);
	body = malloc(n + (size_t)sb.st_size);
	memcpy(body, head, n);
	ck_assert_uint_eq(fread(body + n, 1, (size_t)sb.st_size, f),
	                  (size_t)sb.st_size);
	fclose(f);
	out = raw_request(&dm, body, n + (size_t)sb.st_size, 0);
	*status = raw_status(out);
	p = strstr(out, "\r\n\r\n");
	doc = p ? cJSON_Parse(p + 4) : NULL;
	*message = doc && cJSON_IsString(cJSON_GetObjectItem(doc, "error"))
	               ? strdup(cJSON_GetObjectItem(doc, "error")->valuestring)
	               : NULL;
	cJSON_Delete(doc);
	free(out);
	free(body);
}

START_TEST(api_body_catalog)
{
	char path[300], *text, *line, *save;
	int n = 0;

	snprintf(path, sizeof(path), "%s/api/bad/MANIFEST.tsv",
	         getenv("SIGMOE_TEST_DATA"));
	text = read_text(path);
	ck_assert_msg(text != NULL, "no %s", path);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *file, *want, *msg, *got = NULL, *s2 = NULL;
		int status;

		if (line[0] == '#')
			continue;
		file = strtok_r(line, "\t", &s2);
		want = strtok_r(NULL, "\t", &s2);
		msg = strtok_r(NULL, "\t", &s2);
		post_file(catalog_path(file), file, &status, &got);
		ck_assert_msg(status == atoi(want), "%s: status %d, want %s",
		              file, status, want);
		ck_assert_msg(got != NULL, "%s: no error body", file);
		if (msg)
			ck_assert_msg(strcmp(got, msg) == 0,
			              "%s: message '%s', want '%s'", file, got,
			              msg);
		free(got);
		n++;
	}
	free(text);
	ck_assert_int_ge(n, 40);
	ck_assert_int_eq(status_of_good(), 200);
}
END_TEST

Suite *suite_http(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("routes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, predict_array_rows, 0, 3);
	tcase_add_loop_test(tc, predict_object_rows, 0, 2);
	tcase_add_loop_test(tc, gates_with_expert_probabilities, 0, 3);
	tcase_add_test(tc, gates_without_expert_probabilities);
	tcase_add_loop_test(tc, v2_infer_equals_native_predict, 0, 3);
	tcase_add_test(tc, v2_versioned_infer_and_outputs);
	tcase_add_test(tc, missing_content_type_accepted);
	tcase_add_test(tc, health_and_metadata);
	tcase_add_test(tc, model_status_and_list);
	tcase_add_test(tc, errors_name_the_problem);
	tcase_add_test(tc, bad_request_catalog);
	tcase_add_test(tc, raw_http_requests);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, swap_under_load);
	suite_add_tcase(s, tc);

	tc = tcase_create("api-catalog");
	tcase_add_checked_fixture(tc, setup_catalog, teardown_catalog);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, api_body_catalog);
	suite_add_tcase(s, tc);
	return s;
}
