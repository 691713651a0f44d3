/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - request parsing and response encoding.
 *
 *  - every body of tests/data/api/bad/ gives the status and the exact
 *    message of its MANIFEST.tsv line (the catalog is written by
 *    tests/api/make_bad.py);
 *  - every body of tests/data/api/good/ decodes to the matrix of its
 *    .expected file (numbers read with strtod, not with cJSON);
 *  - encoded responses, status and metadata bodies are parsed back with
 *    cJSON and compared with the values that went in, exactly: doubles
 *    for F64 models, floats for F32 models.
 */
#include <check.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "internal.h" /* the number reader, tested against strtod */
#include "test_support.h"

#define TEST_MAX 1000

static char data_dir[4096];
static struct moe_model *iris, *iris32, *anon;

static const char *const iris_features[] = {"sepal_length", "sepal_width",
                                            "petal_length", "petal_width"};
static const char *const iris_classes[] = {"setosa", "versi\"color\\",
                                           "virginica \xc3\xa9\t"};
static const char *const anon_classes[] = {"no", "yes"};

/* A model with simple, fixed parameters of the given shape. */
static struct moe_model *make_model(enum moe_dtype dtype, size_t d, size_t e,
                                    size_t k, const char *const *features,
                                    const char *const *classes)
{
	double gw[64], gb[8], ew[256], eb[32];
	struct moe_model_spec spec = {
	    .name = "test",
	    .dtype = dtype,
	    .n_features = d,
	    .n_experts = e,
	    .n_classes = k,
	    .gate = {MOE_GATE_SIGMOID, MOE_SCORE_EUCLIDEAN, 2.0, 0},
	    .features = features,
	    .classes = classes,
	    .gate_weight = gw,
	    .gate_bias = gb,
	    .expert_weight = ew,
	    .expert_bias = eb,
	};
	struct moe_model *m = NULL;
	struct moe_error err;
	size_t i;

	for (i = 0; i < e * d; i++)
		gw[i] = (double)(i % 7) - 3.0;
	for (i = 0; i < e; i++)
		gb[i] = 0.25 * (double)i;
	for (i = 0; i < e * k * d; i++)
		ew[i] = 0.5 * (double)((i * 5) % 11) - 2.5;
	for (i = 0; i < e * k; i++)
		eb[i] = 0.1 * (double)i;
	ck_assert_msg(moe_model_create(&spec, &m, &err) == 0, "%s",
	              err.message);
	return m;
}

static void setup(void)
{
	iris = make_model(MOE_DTYPE_F64, 4, 3, 3, iris_features, iris_classes);
	iris32 =
	    make_model(MOE_DTYPE_F32, 4, 3, 3, iris_features, iris_classes);
	anon = make_model(MOE_DTYPE_F64, 2, 2, 2, NULL, anon_classes);
}

static void teardown(void)
{
	moe_model_free(iris);
	moe_model_free(iris32);
	moe_model_free(anon);
}

/* The whole file in a malloc'd buffer (not NUL-terminated on purpose). */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(size > 0 ? (size_t)size : 1);
	ck_assert_ptr_nonnull(buf);
	*len = fread(buf, 1, (size_t)size, f);
	ck_assert_uint_eq(*len, (size_t)size);
	fclose(f);
	return buf;
}

/* Endpoint and model from a file's prefix (see make_bad.py). */
static void pick(const char *file, enum api_kind *kind,
                 const struct moe_model **model)
{
	*model = iris;
	*kind = API_PREDICT;
	if (!strncmp(file, "gates_", 6))
		*kind = API_GATES;
	else if (!strncmp(file, "v2_", 3))
		*kind = API_V2_INFER;
	else if (!strncmp(file, "anon_", 5))
		*model = anon;
}

START_TEST(bad_catalog)
{
	char path[8192], line[8192], *file, *status, *message;
	const struct moe_model *model;
	struct api_request req;
	struct api_error err;
	enum api_kind kind;
	size_t len, cases = 0, failures = 0;
	char *body;
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/api/bad/MANIFEST.tsv", data_dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		file = strtok(line, "\t");
		status = strtok(NULL, "\t");
		message = strtok(NULL, "");
		ck_assert(file && status && message);

		snprintf(path, sizeof(path), "%s/api/bad/%s", data_dir, file);
		body = read_all(path, &len);
		pick(file, &kind, &model);
		memset(&req, 0xa5, sizeof(req));
		r = api_parse_request(model, kind, body, len, TEST_MAX, &req,
		                      &err);
		free(body);

		if (r == 0 || err.status != atoi(status) ||
		    strcmp(err.message, message) != 0) {
			fprintf(stderr, "%s: got %d %d '%s', want %s '%s'\n",
			        file, r, err.status, err.message, status,
			        message);
			failures++;
		}
		ck_assert_int_eq(r, err.status == 413 ? -E2BIG : -EINVAL);
		ck_assert_ptr_null(req.x);
		ck_assert_ptr_null(req.id);
		cases++;
	}
	fclose(f);
	ck_assert_uint_eq(failures, 0);
	ck_assert_uint_ge(cases, 40);
}
END_TEST

/* Rows of numbers, one row a line, read with strtod. */
static double *read_expected(const char *path, size_t *n, size_t d)
{
	double *x = malloc(1024 * sizeof(double));
	char line[4096], *p, *end;
	size_t count = 0, rows = 0;
	FILE *f = fopen(path, "r");

	ck_assert(f && x);
	while (fgets(line, sizeof(line), f)) {
		for (p = line;; p = end) {
			double v = strtod(p, &end);

			if (end == p)
				break;
			ck_assert_uint_lt(count, 1024);
			x[count++] = v;
		}
		rows++;
	}
	fclose(f);
	ck_assert_uint_eq(count, rows * d);
	*n = rows;
	return x;
}

static void check_good(const char *name)
{
	char path[8192];
	const struct moe_model *model;
	struct api_request req;
	struct api_error err;
	enum api_kind kind;
	size_t len, n, i;
	double *want;
	char *body;
	int r;

	snprintf(path, sizeof(path), "%s/api/good/%s.json", data_dir, name);
	body = read_all(path, &len);
	pick(name, &kind, &model);
	r = api_parse_request(model, kind, body, len, TEST_MAX, &req, &err);
	free(body);
	ck_assert_msg(r == 0, "%s: %s", name, err.message);

	snprintf(path, sizeof(path), "%s/api/good/%s.expected", data_dir, name);
	want = read_expected(path, &n, model->n_features);
	ck_assert_uint_eq(req.n, n);
	ck_assert_uint_eq(req.d, model->n_features);
	for (i = 0; i < n * req.d; i++) {
		ck_assert_msg(req.x[i] == want[i] &&
		                  signbit(req.x[i]) == signbit(want[i]),
		              "%s: value %zu: got %.17g, want %.17g", name, i,
		              req.x[i], want[i]);
	}
	free(want);
	api_request_free(&req);
}

START_TEST(good_requests)
{
	static const char *const names[] = {
	    "predict_arrays",
	    "predict_mixed",
	    "gates_expert_probabilities",
	    "gates_no_expert_probabilities",
	    "v2_flat",
	    "v2_nested_int",
	    "v2_outputs_id",
	    "v2_uint8",
	    "anon_arrays",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		check_good(names[i]);
}
END_TEST

static int parse_str(const struct moe_model *m, enum api_kind kind,
                     const char *body, size_t max, struct api_request *req,
                     struct api_error *err)
{
	return api_parse_request(m, kind, body, strlen(body), max, req, err);
}

START_TEST(request_options)
{
	struct api_request req;
	struct api_error err;

	ck_assert_int_eq(parse_str(iris, API_PREDICT,
	                           "{\"instances\":[[1,2,3,4]]}", 10, &req,
	                           &err),
	                 0);
	ck_assert_uint_eq(req.outputs, API_OUT_PROBABILITIES | API_OUT_LABELS);
	ck_assert_int_eq(req.expert_probabilities, 0);
	api_request_free(&req);

	ck_assert_int_eq(parse_str(iris, API_GATES,
	                           "{\"instances\":[[1,2,3,4]],"
	                           "\"expert_probabilities\":true}",
	                           10, &req, &err),
	                 0);
	ck_assert_int_eq(req.expert_probabilities, 1);
	ck_assert_uint_eq(req.outputs,
	                  API_OUT_PROBABILITIES | API_OUT_ACTIVATIONS |
	                      API_OUT_WEIGHTS | API_OUT_TOP_EXPERT |
	                      API_OUT_EXPERT_PROBABILITIES);
	api_request_free(&req);

	/* V2 defaults: probabilities and label, no id. */
	ck_assert_int_eq(
	    parse_str(iris, API_V2_INFER,
	              "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,4],"
	              "\"datatype\":\"FP64\",\"data\":[1,2,3,4]}]}",
	              10, &req, &err),
	    0);
	ck_assert_uint_eq(req.n_v2_outputs, 2);
	ck_assert_int_eq(req.v2_outputs[0], API_V2_PROBABILITIES);
	ck_assert_int_eq(req.v2_outputs[1], API_V2_LABEL);
	ck_assert_ptr_null(req.id);
	ck_assert_uint_eq(req.outputs, API_OUT_PROBABILITIES | API_OUT_LABELS);
	api_request_free(&req);

	/* "outputs": [] means the default outputs. */
	ck_assert_int_eq(
	    parse_str(iris, API_V2_INFER,
	              "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,4],"
	              "\"datatype\":\"INT8\",\"data\":[[1,2,3,4]]}],"
	              "\"outputs\":[]}",
	              10, &req, &err),
	    0);
	ck_assert_uint_eq(req.n_v2_outputs, 2);
	ck_assert_int_eq(req.v2_outputs[1], API_V2_LABEL);
	api_request_free(&req);

	/* The exact row limit passes; one more is 413. */
	ck_assert_int_eq(parse_str(iris, API_PREDICT,
	                           "{\"instances\":[[1,2,3,4],[5,6,7,8]]}", 2,
	                           &req, &err),
	                 0);
	api_request_free(&req);
	ck_assert_int_eq(parse_str(iris, API_PREDICT,
	                           "{\"instances\":[[1,2,3,4],[5,6,7,8]]}", 1,
	                           &req, &err),
	                 -E2BIG);
	ck_assert_int_eq(err.status, 413);
	ck_assert_str_eq(err.message, "instances: expected 1 to 1 rows, got 2");
	api_request_free(&req); /* harmless after a failure */
	api_request_free(NULL);
}
END_TEST

START_TEST(v2_outputs_and_id)
{
	char path[8192];
	struct api_request req;
	struct api_error err;
	size_t len;
	char *body;

	snprintf(path, sizeof(path), "%s/api/good/v2_outputs_id.json",
	         data_dir);
	body = read_all(path, &len);
	ck_assert_int_eq(
	    api_parse_request(iris, API_V2_INFER, body, len, 10, &req, &err),
	    0);
	free(body);
	ck_assert_str_eq(req.id, "req-42 \"quoted\"");
	ck_assert_uint_eq(req.n_v2_outputs, 3);
	ck_assert_int_eq(req.v2_outputs[0], API_V2_GATE_WEIGHTS);
	ck_assert_int_eq(req.v2_outputs[1], API_V2_LABEL);
	ck_assert_int_eq(req.v2_outputs[2], API_V2_GATE_ACTIVATIONS);
	ck_assert_uint_eq(req.outputs, API_OUT_PROBABILITIES | API_OUT_LABELS |
	                                   API_OUT_ACTIVATIONS |
	                                   API_OUT_WEIGHTS);
	api_request_free(&req);
}
END_TEST

/* {"instances":[[0,0,0,0],...]} with n rows, built in memory. */
static char *batch_body(size_t n, size_t *len)
{
	const char *row = "[0,1,2,3]";
	char *body = malloc(16 + n * (strlen(row) + 1)), *p = body;
	size_t i;

	ck_assert_ptr_nonnull(body);
	p += sprintf(p, "{\"instances\":[");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", row);
	p += sprintf(p, "]}");
	*len = (size_t)(p - body);
	return body;
}

START_TEST(default_batch_limit)
{
	struct api_request req;
	struct api_error err;
	size_t len;
	char *body;

	body = batch_body(SRV_DEFAULT_MAX_INSTANCES, &len);
	ck_assert_int_eq(api_parse_request(iris, API_PREDICT, body, len,
	                                   SRV_DEFAULT_MAX_INSTANCES, &req,
	                                   &err),
	                 0);
	ck_assert_uint_eq(req.n, 65536);
	ck_assert(req.x[65535 * 4 + 3] == 3.0 && req.x[4] == 0.0);
	api_request_free(&req);
	free(body);

	body = batch_body(SRV_DEFAULT_MAX_INSTANCES + 1, &len);
	ck_assert_int_eq(api_parse_request(iris, API_PREDICT, body, len,
	                                   SRV_DEFAULT_MAX_INSTANCES, &req,
	                                   &err),
	                 -E2BIG);
	ck_assert_int_eq(err.status, 413);
	ck_assert_str_eq(err.message,
	                 "instances: expected 1 to 65536 rows, got 65537");
	free(body);
}
END_TEST

/* The body is only read within len: no NUL is needed after it. */
START_TEST(body_not_nul_terminated)
{
	const char *text = "{\"instances\":[[1,2,3,4]]}garbage";
	size_t len = strlen("{\"instances\":[[1,2,3,4]]}");
	char *body = malloc(len);
	struct api_request req;
	struct api_error err;

	memcpy(body, text, len);
	ck_assert_int_eq(
	    api_parse_request(iris, API_PREDICT, body, len, 10, &req, &err), 0);
	ck_assert(req.x[3] == 4.0);
	api_request_free(&req);
	free(body);
}
END_TEST

/* Outputs filled with awkward numbers: what the encoder must keep. */
static const double awkward[] = {
    0.1,
    1.0 / 3.0,
    5e-324,
    1.0 - 0x1p-53,
    2.2250738585072014e-308,
    0.0,
    1.0,
    0.999999999999999,
    123456.789e-10,
    0.5,
    0x1.fffffffffffffp-2,
    0.7,
    1e-17,
    0.25,
    0.3,
    0.30000000000000004,
    1e-300,
    0.9,
    0.0625,
    2.0 / 3.0,
};
#define N_AWKWARD (sizeof(awkward) / sizeof(awkward[0]))

static void fill_outputs(const struct moe_model *m, size_t n,
                         struct moe_output *out, int as_float)
{
	size_t i, e = m->n_experts, k = m->n_classes;

	ck_assert_int_eq(
	    api_outputs_alloc(m, n,
	                      API_OUT_LABELS | API_OUT_ACTIVATIONS |
	                          API_OUT_WEIGHTS | API_OUT_TOP_EXPERT |
	                          API_OUT_EXPERT_PROBABILITIES,
	                      out),
	    0);
	for (i = 0; i < n * k; i++)
		out->probabilities[i] = awkward[i % N_AWKWARD];
	for (i = 0; i < n * e; i++) {
		out->activations[i] = awkward[(i + 3) % N_AWKWARD];
		out->weights[i] = awkward[(i + 7) % N_AWKWARD];
	}
	for (i = 0; i < n * e * k; i++)
		out->expert_probabilities[i] = awkward[(i + 11) % N_AWKWARD];
	for (i = 0; i < n; i++) {
		out->labels[i] = (i * 2) % k;
		out->top_expert[i] = (i + 1) % e;
	}
	if (!as_float)
		return;
	for (i = 0; i < n * k; i++)
		out->probabilities[i] = (float)out->probabilities[i];
	for (i = 0; i < n * e; i++) {
		out->activations[i] = (float)out->activations[i];
		out->weights[i] = (float)out->weights[i];
	}
	for (i = 0; i < n * e * k; i++)
		out->expert_probabilities[i] =
		    (float)out->expert_probabilities[i];
}

/* Compare a JSON array of arrays with m[rows][cols], exactly. */
static void check_matrix(const cJSON *a, const double *m, size_t rows,
                         size_t cols, int as_float)
{
	const cJSON *row, *v;
	size_t i = 0, j;

	ck_assert(cJSON_IsArray(a));
	ck_assert_int_eq(cJSON_GetArraySize(a), (int)rows);
	cJSON_ArrayForEach(row, a)
	{
		ck_assert_int_eq(cJSON_GetArraySize(row), (int)cols);
		j = 0;
		cJSON_ArrayForEach(v, row)
		{
			double want = m[i * cols + j];
			double got = as_float ? (double)(float)v->valuedouble
			                      : v->valuedouble;

			ck_assert(cJSON_IsNumber(v));
			ck_assert_msg(got == want, "[%zu][%zu]: %.17g != %.17g",
			              i, j, got, want);
			j++;
		}
		i++;
	}
}

static void check_flat(const cJSON *a, const double *m, size_t count,
                       int as_float)
{
	const cJSON *v;
	size_t i = 0;

	ck_assert_int_eq(cJSON_GetArraySize(a), (int)count);
	cJSON_ArrayForEach(v, a)
	{
		double got =
		    as_float ? (double)(float)v->valuedouble : v->valuedouble;

		ck_assert_msg(got == m[i], "[%zu]: %.17g != %.17g", i, got,
		              m[i]);
		i++;
	}
}

static cJSON *parse_back(const struct api_buf *b)
{
	cJSON *root;

	ck_assert_ptr_nonnull(b->data);
	ck_assert_uint_eq(strlen(b->data), b->len);
	root = cJSON_ParseWithLength(b->data, b->len);
	ck_assert_msg(root != NULL, "not JSON: %.200s", b->data);
	return root;
}

static const cJSON *get(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(v != NULL, "no key %s", key);
	return v;
}

static void check_labels(const cJSON *a, const struct moe_model *m,
                         const size_t *labels, size_t n)
{
	const cJSON *v;
	size_t i = 0;

	ck_assert_int_eq(cJSON_GetArraySize(a), (int)n);
	cJSON_ArrayForEach(v, a)
	{
		ck_assert(cJSON_IsString(v));
		ck_assert_str_eq(v->valuestring, m->classes[labels[i]]);
		i++;
	}
}

/*
 * The body that api_encode_response writes into b for req and res,
 * parsed back, after filling out (what res->out points to) for res->n
 * rows of res->model.
 */
static cJSON *encode_filled(const struct api_request *req,
                            const struct api_result *res,
                            struct moe_output *out, int as_float,
                            struct api_buf *b)
{
	fill_outputs(res->model, res->n, out, as_float);
	ck_assert_int_eq(api_encode_response(b, req, res), 0);
	return parse_back(b);
}

static void encode_predict(const struct moe_model *m, int as_float)
{
	const size_t n = 5;
	struct api_request req = {.kind = API_PREDICT,
	                          .n = n,
	                          .outputs =
	                              API_OUT_PROBABILITIES | API_OUT_LABELS};
	struct moe_output out;
	struct api_result res = {m, "iris", 7, n, &out};
	struct api_buf b = {0};
	const cJSON *classes;
	cJSON *root;
	size_t i;

	root = encode_filled(&req, &res, &out, as_float, &b);
	ck_assert_str_eq(get(root, "model")->valuestring, "iris");
	ck_assert(get(root, "model_version")->valuedouble == 7.0);
	classes = get(root, "classes");
	ck_assert_int_eq(cJSON_GetArraySize(classes), 3);
	for (i = 0; i < 3; i++)
		ck_assert_str_eq(
		    cJSON_GetArrayItem(classes, (int)i)->valuestring,
		    iris_classes[i]);
	check_labels(get(root, "labels"), m, out.labels, n);
	check_matrix(get(root, "probabilities"), out.probabilities, n, 3,
	             as_float);
	ck_assert_int_eq(cJSON_GetArraySize(root), 5);
	cJSON_Delete(root);
	api_buf_free(&b);
	api_outputs_free(&out);
}

START_TEST(encode_predict_f64)
{
	encode_predict(iris, 0);
}
END_TEST

START_TEST(encode_predict_f32)
{
	encode_predict(iris32, 1);
}
END_TEST

/* F32 bodies are shorter: 9 significant digits, not 17. */
START_TEST(f32_digits)
{
	struct api_request req = {.kind = API_PREDICT,
	                          .n = 1,
	                          .outputs =
	                              API_OUT_PROBABILITIES | API_OUT_LABELS};
	double p[3] = {(float)0.1, (float)(1.0 / 3.0), 0.5};
	size_t label = 0;
	struct moe_output out = {.probabilities = p, .labels = &label};
	struct api_result r32 = {iris32, "m", 1, 1, &out};
	struct api_result r64 = {iris, "m", 1, 1, &out};
	struct api_buf b = {0};

	ck_assert_int_eq(api_encode_response(&b, &req, &r32), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "[[0.1,0.33333334,0.5]]"));
	ck_assert_int_eq(api_encode_response(&b, &req, &r64), 0);
	ck_assert_ptr_nonnull(
	    strstr(b.data, "[[0.10000000149011612,0.3333333432674408,0.5]]"));
	api_buf_free(&b);
}
END_TEST

static void encode_gates(const struct moe_model *m, int as_float, int ep)
{
	const size_t n = 4, e = 3, k = 3;
	struct api_request req = {
	    .kind = API_GATES,
	    .n = n,
	    .expert_probabilities = ep,
	    .outputs = API_OUT_PROBABILITIES | API_OUT_ACTIVATIONS |
	               API_OUT_WEIGHTS | API_OUT_TOP_EXPERT};
	struct moe_output out;
	struct api_result res = {m, "iris", 12, n, &out};
	struct api_buf b = {0};
	const cJSON *gate, *v, *all;
	cJSON *root;
	size_t i;

	root = encode_filled(&req, &res, &out, as_float, &b);
	ck_assert_str_eq(get(root, "model")->valuestring, "iris");
	ck_assert(get(root, "model_version")->valuedouble == 12.0);
	gate = get(root, "gate");
	ck_assert_str_eq(get(gate, "kind")->valuestring, "sigmoid");
	ck_assert_str_eq(get(gate, "score")->valuestring, "euclidean");
	ck_assert(get(gate, "temperature")->valuedouble == 2.0);
	ck_assert(get(gate, "top_k")->valuedouble == 0.0);
	check_matrix(get(root, "activations"), out.activations, n, e, as_float);
	check_matrix(get(root, "weights"), out.weights, n, e, as_float);
	i = 0;
	cJSON_ArrayForEach(v, get(root, "top_expert"))
	{
		ck_assert(v->valuedouble == (double)out.top_expert[i]);
		i++;
	}
	ck_assert_uint_eq(i, n);

	all = cJSON_GetObjectItemCaseSensitive(root, "expert_probabilities");
	if (!ep) {
		ck_assert_ptr_null(all);
	} else {
		ck_assert_int_eq(cJSON_GetArraySize(all), (int)n);
		i = 0;
		cJSON_ArrayForEach(v, all)
		{
			check_matrix(v, out.expert_probabilities + i * e * k, e,
			             k, as_float);
			i++;
		}
	}
	cJSON_Delete(root);
	api_buf_free(&b);
	api_outputs_free(&out);
}

START_TEST(encode_gates_all)
{
	encode_gates(iris, 0, 0);
	encode_gates(iris, 0, 1);
	encode_gates(iris32, 1, 1);
}
END_TEST

static void check_v2_tensor(const cJSON *t, const char *name,
                            const char *datatype, size_t n, size_t cols)
{
	const cJSON *shape = get(t, "shape");

	ck_assert_str_eq(get(t, "name")->valuestring, name);
	ck_assert_str_eq(get(t, "datatype")->valuestring, datatype);
	ck_assert_int_eq(cJSON_GetArraySize(shape), cols ? 2 : 1);
	ck_assert(cJSON_GetArrayItem(shape, 0)->valuedouble == (double)n);
	if (cols)
		ck_assert(cJSON_GetArrayItem(shape, 1)->valuedouble ==
		          (double)cols);
}

START_TEST(encode_v2)
{
	const size_t n = 3;
	struct api_request req = {
	    .kind = API_V2_INFER,
	    .n = n,
	    .v2_outputs = {API_V2_GATE_WEIGHTS, API_V2_LABEL,
	                   API_V2_PROBABILITIES, API_V2_GATE_ACTIVATIONS},
	    .n_v2_outputs = 4,
	    .id = (char *)"id \"7\"",
	    .outputs = API_OUT_PROBABILITIES | API_OUT_LABELS |
	               API_OUT_ACTIVATIONS | API_OUT_WEIGHTS};
	struct moe_output out;
	struct api_result res = {iris, "iris", 3, n, &out};
	struct api_buf b = {0};
	const cJSON *outs, *t;
	cJSON *root;

	root = encode_filled(&req, &res, &out, 0, &b);
	ck_assert_str_eq(get(root, "model_name")->valuestring, "iris");
	ck_assert_str_eq(get(root, "model_version")->valuestring, "3");
	ck_assert_str_eq(get(root, "id")->valuestring, "id \"7\"");
	outs = get(root, "outputs");
	ck_assert_int_eq(cJSON_GetArraySize(outs), 4);

	t = cJSON_GetArrayItem(outs, 0);
	check_v2_tensor(t, "gate_weights", "FP64", n, 3);
	check_flat(get(t, "data"), out.weights, n * 3, 0);
	t = cJSON_GetArrayItem(outs, 1);
	check_v2_tensor(t, "label", "BYTES", n, 0);
	check_labels(get(t, "data"), iris, out.labels, n);
	t = cJSON_GetArrayItem(outs, 2);
	check_v2_tensor(t, "probabilities", "FP64", n, 3);
	check_flat(get(t, "data"), out.probabilities, n * 3, 0);
	t = cJSON_GetArrayItem(outs, 3);
	check_v2_tensor(t, "gate_activations", "FP64", n, 3);
	check_flat(get(t, "data"), out.activations, n * 3, 0);
	cJSON_Delete(root);

	/* Without an id, no "id"; F32 models answer FP32. */
	req.id = NULL;
	req.n_v2_outputs = 1;
	res.model = iris32;
	ck_assert_int_eq(api_encode_response(&b, &req, &res), 0);
	root = parse_back(&b);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(root, "id"));
	t = cJSON_GetArrayItem(get(root, "outputs"), 0);
	check_v2_tensor(t, "gate_weights", "FP32", n, 3);
	cJSON_Delete(root);
	api_buf_free(&b);
	api_outputs_free(&out);
}
END_TEST

/* Parse, forward, encode: the numbers of the body are those computed. */
START_TEST(end_to_end_forward)
{
	const char *body = "{\"instances\":[[5.1,3.5,1.4,0.2],"
	                   "{\"petal_width\":1.3,\"sepal_length\":6.2,"
	                   "\"petal_length\":4.3,\"sepal_width\":2.9}],"
	                   "\"expert_probabilities\":true}";
	struct moe_scratch *scratch = moe_scratch_new();
	struct api_request req;
	struct api_error err;
	struct moe_error merr;
	struct moe_output out;
	struct api_buf b;
	struct api_result res;
	cJSON *root;

	ck_assert_ptr_nonnull(scratch);
	ck_assert_int_eq(parse_str(iris, API_GATES, body, 10, &req, &err), 0);
	ck_assert_int_eq(api_outputs_alloc(iris, req.n, req.outputs, &out), 0);
	ck_assert_ptr_null(out.labels);
	ck_assert_ptr_nonnull(out.expert_probabilities);
	ck_assert_msg(moe_forward(iris, req.x, req.n, scratch, &out, &merr) ==
	                  0,
	              "%s", merr.message);

	api_buf_init(&b);
	res = (struct api_result){iris, "iris", 1, req.n, &out};
	ck_assert_int_eq(api_encode_response(&b, &req, &res), 0);
	root = parse_back(&b);
	check_matrix(get(root, "weights"), out.weights, 2, 3, 0);
	check_matrix(get(root, "activations"), out.activations, 2, 3, 0);
	cJSON_Delete(root);

	/* Mismatched outputs are a caller's bug, refused. */
	res.n = 1;
	ck_assert_int_eq(api_encode_response(&b, &req, &res), -EINVAL);

	api_buf_free(&b);
	api_outputs_free(&out);
	api_request_free(&req);
	moe_scratch_free(scratch);
}
END_TEST

START_TEST(deterministic)
{
	struct api_request req = {.kind = API_PREDICT,
	                          .n = 4,
	                          .outputs =
	                              API_OUT_PROBABILITIES | API_OUT_LABELS};
	struct moe_output out;
	struct api_result res = {iris, "iris", 2, 4, &out};
	struct api_buf a = {0}, b = {0};

	fill_outputs(iris, 4, &out, 0);
	ck_assert_int_eq(api_encode_response(&a, &req, &res), 0);
	ck_assert_int_eq(api_encode_response(&b, &req, &res), 0);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_eq(memcmp(a.data, b.data, a.len), 0);
	/* A reused buffer is reset, not appended to. */
	ck_assert_int_eq(api_encode_response(&a, &req, &res), 0);
	ck_assert_uint_eq(a.len, b.len);
	api_buf_free(&a);
	api_buf_free(&b);
	api_outputs_free(&out);
}
END_TEST

static void check_error_body(const char *message, const char *want)
{
	struct api_buf b = {0};
	cJSON *root;

	ck_assert_int_eq(api_encode_error(&b, message), 0);
	root = parse_back(&b);
	ck_assert_int_eq(cJSON_GetArraySize(root), 1);
	ck_assert_str_eq(get(root, "error")->valuestring, want);
	cJSON_Delete(root);
	api_buf_free(&b);
}

START_TEST(error_bodies)
{
	struct api_buf b = {0};
	size_t len;
	char *stolen;

	check_error_body("plain", "plain");
	check_error_body("q\"b\\s/", "q\"b\\s/");
	check_error_body("ctl \x01\x1f\n\r\t\b\f", "ctl \x01\x1f\n\r\t\b\f");
	check_error_body("utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	                 "utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* invalid UTF-8: a lone continuation, a truncated sequence, an
	 * overlong '/', a surrogate: each bad byte becomes U+FFFD */
	check_error_body("a\x80z", "a\xef\xbf\xbdz");
	check_error_body("b\xe2\x82", "b\xef\xbf\xbd\xef\xbf\xbd");
	check_error_body("c\xc0\xaf", "c\xef\xbf\xbd\xef\xbf\xbd");
	check_error_body("d\xed\xa0\x80",
	                 "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");

	ck_assert_int_eq(api_encode_error(&b, "x"), 0);
	ck_assert_str_eq(b.data, "{\"error\":\"x\"}");
	ck_assert_int_eq(api_encode_error(&b, "\x01"), 0);
	ck_assert_str_eq(b.data, "{\"error\":\"\\u0001\"}");
	stolen = api_buf_steal(&b, &len);
	ck_assert_uint_eq(len, strlen("{\"error\":\"\\u0001\"}"));
	ck_assert_ptr_null(b.data);
	free(stolen);
	ck_assert_ptr_null(api_buf_steal(&b, &len));
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(model_status)
{
	struct api_model_status s = {
	    .name = "iris",
	    .state = "AVAILABLE",
	    .version = 4,
	    .file = "/models/iris.json",
	    .loaded_at = 1767225600.25,
	    .last_error = "iris.json: gate.bias: expected 3 values",
	    .last_error_at = 1767225661.0,
	    .model = iris};
	struct api_model_status none = {.name = "bad",
	                                .state = "UNAVAILABLE",
	                                .last_error = "bad.json: not JSON",
	                                .last_error_at = 1.5};
	struct api_model_status both[2];
	struct api_buf b = {0};
	const cJSON *gate, *list, *first;
	cJSON *root;

	ck_assert_int_eq(api_encode_model_status(&b, &s), 0);
	root = parse_back(&b);
	ck_assert_str_eq(get(root, "name")->valuestring, "iris");
	ck_assert_str_eq(get(root, "state")->valuestring, "AVAILABLE");
	ck_assert(get(root, "version")->valuedouble == 4.0);
	ck_assert_str_eq(get(root, "file")->valuestring, "/models/iris.json");
	ck_assert_str_eq(get(root, "loaded_at")->valuestring,
	                 "2026-01-01T00:00:00.250Z");
	ck_assert_str_eq(get(root, "dtype")->valuestring, "F64");
	ck_assert_str_eq(get(root, "format")->valuestring, "json");
	ck_assert(cJSON_IsString(get(root, "digest")));
	ck_assert(get(root, "n_features")->valuedouble == 4.0);
	ck_assert(get(root, "n_experts")->valuedouble == 3.0);
	ck_assert(get(root, "n_classes")->valuedouble == 3.0);
	gate = get(root, "gate");
	ck_assert_str_eq(get(gate, "kind")->valuestring, "sigmoid");
	ck_assert_str_eq(
	    cJSON_GetArrayItem(get(root, "features"), 3)->valuestring,
	    "petal_width");
	ck_assert_str_eq(
	    cJSON_GetArrayItem(get(root, "classes"), 1)->valuestring,
	    iris_classes[1]);
	ck_assert_str_eq(get(root, "last_error")->valuestring, s.last_error);
	ck_assert_str_eq(get(root, "last_error_at")->valuestring,
	                 "2026-01-01T00:01:01.000Z");
	cJSON_Delete(root);

	/* No model in service: model fields are null. */
	ck_assert_int_eq(api_encode_model_status(&b, &none), 0);
	root = parse_back(&b);
	ck_assert(cJSON_IsNull(get(root, "version")));
	ck_assert(cJSON_IsNull(get(root, "digest")));
	ck_assert(cJSON_IsNull(get(root, "file")));
	ck_assert(cJSON_IsNull(get(root, "loaded_at")));
	ck_assert(cJSON_IsNull(get(root, "features")));
	ck_assert_str_eq(get(root, "last_error_at")->valuestring,
	                 "1970-01-01T00:00:01.500Z");
	cJSON_Delete(root);

	/* The list: both, without features, classes and description. */
	both[0] = s;
	both[1] = none;
	ck_assert_int_eq(api_encode_model_list(&b, both, 2), 0);
	root = parse_back(&b);
	list = get(root, "models");
	ck_assert_int_eq(cJSON_GetArraySize(list), 2);
	first = cJSON_GetArrayItem(list, 0);
	ck_assert_str_eq(get(first, "name")->valuestring, "iris");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(first, "features"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(first, "classes"));
	ck_assert_str_eq(get(cJSON_GetArrayItem(list, 1), "state")->valuestring,
	                 "UNAVAILABLE");
	cJSON_Delete(root);

	ck_assert_int_eq(api_encode_model_list(&b, NULL, 0), 0);
	ck_assert_str_eq(b.data, "{\"models\":[]}");
	api_buf_free(&b);
}
END_TEST

START_TEST(v2_metadata)
{
	static const char *const names[] = {"probabilities", "label",
	                                    "gate_activations", "gate_weights"};
	static const size_t cols[] = {3, 0, 3, 3};
	struct api_buf b = {0};
	const cJSON *in, *outs;
	cJSON *root;
	size_t i;

	ck_assert_int_eq(api_encode_v2_server_metadata(&b), 0);
	root = parse_back(&b);
	ck_assert_str_eq(get(root, "name")->valuestring, "sigmoe");
	ck_assert_str_eq(get(root, "version")->valuestring, SIGMOE_VERSION);
	ck_assert_int_eq(cJSON_GetArraySize(get(root, "extensions")), 0);
	cJSON_Delete(root);

	ck_assert_int_eq(api_encode_v2_model_metadata(&b, "iris", 9, iris32),
	                 0);
	root = parse_back(&b);
	ck_assert_str_eq(get(root, "name")->valuestring, "iris");
	ck_assert_str_eq(
	    cJSON_GetArrayItem(get(root, "versions"), 0)->valuestring, "9");
	ck_assert_str_eq(get(root, "platform")->valuestring, "sigmoe");
	in = cJSON_GetArrayItem(get(root, "inputs"), 0);
	ck_assert_str_eq(get(in, "name")->valuestring, "input");
	ck_assert_str_eq(get(in, "datatype")->valuestring, "FP32");
	ck_assert(cJSON_GetArrayItem(get(in, "shape"), 0)->valuedouble == -1);
	ck_assert(cJSON_GetArrayItem(get(in, "shape"), 1)->valuedouble == 4);
	outs = get(root, "outputs");
	ck_assert_int_eq(cJSON_GetArraySize(outs), 4);
	for (i = 0; i < 4; i++) {
		const cJSON *t = cJSON_GetArrayItem(outs, (int)i);
		const cJSON *shape = get(t, "shape");

		ck_assert_str_eq(get(t, "name")->valuestring, names[i]);
		ck_assert_str_eq(api_v2_output_name((enum api_v2_output)i),
		                 names[i]);
		ck_assert_str_eq(get(t, "datatype")->valuestring,
		                 cols[i] ? "FP32" : "BYTES");
		ck_assert_int_eq(cJSON_GetArraySize(shape), cols[i] ? 2 : 1);
		ck_assert(cJSON_GetArrayItem(shape, 0)->valuedouble == -1);
	}
	ck_assert_ptr_null(api_v2_output_name(API_V2_OUTPUT_COUNT));
	cJSON_Delete(root);
	api_buf_free(&b);
}
END_TEST

START_TEST(outputs_alloc)
{
	struct moe_output out;

	ck_assert_int_eq(api_outputs_alloc(iris, 2, 0, &out), 0);
	ck_assert_ptr_nonnull(out.probabilities);
	ck_assert_ptr_null(out.labels);
	ck_assert_ptr_null(out.weights);
	api_outputs_free(&out);
	ck_assert_ptr_null(out.probabilities);
	api_outputs_free(NULL);
	ck_assert_int_eq(api_outputs_alloc(iris, 0, 0, &out), -EINVAL);
	ck_assert_ptr_null(out.probabilities);
	ck_assert_int_eq(api_outputs_alloc(iris, (size_t)-1 / 2,
	                                   API_OUT_EXPERT_PROBABILITIES, &out),
	                 -E2BIG);
}
END_TEST

/* A random JSON number: sign, 1-20 digits, a fraction, an exponent. */
static size_t random_number(char *buf, unsigned *seed)
{
	size_t n = 0, i, digits = 1 + (size_t)(rand_r(seed) % 20);

	if (rand_r(seed) % 2)
		buf[n++] = '-';
	buf[n++] = (char)('1' + rand_r(seed) % 9);
	if (rand_r(seed) % 8 == 0)
		n = n - 1, buf[n++] = '0', digits = 1;
	for (i = 1; i < digits; i++)
		buf[n++] = (char)('0' + rand_r(seed) % 10);
	if (rand_r(seed) % 2) {
		buf[n++] = '.';
		for (i = 0, digits = 1 + (size_t)(rand_r(seed) % 18);
		     i < digits; i++)
			buf[n++] = (char)('0' + rand_r(seed) % 10);
	}
	if (rand_r(seed) % 2)
		n += (size_t)sprintf(
		    buf + n, "%c%s%d", rand_r(seed) % 2 ? 'e' : 'E',
		    rand_r(seed) % 3 ? "-" : "+",
		    rand_r(seed) % (rand_r(seed) % 4 ? 30 : 340));
	buf[n] = '\0';
	return n;
}

/* Read text with the cursor; fails unless the double is strtod's, bit
 * for bit, and the cursor stops at the end of the text.  (Check records
 * every assertion it passes, so the test asserts only on failure.) */
static void check_number(const char *text)
{
	struct api_jr r = {text, strlen(text), 0};
	double got, want = strtod(text, NULL);

	api_jr_number(&r, &got);
	if (memcmp(&got, &want, sizeof(got)) != 0 || r.pos != r.len)
		ck_abort_msg("%s: got %a, want %a; stopped at %zu of %zu",
		             text, got, want, r.pos, r.len);
}

/* n random decimal digits, the first not 0, into buf. */
static size_t random_digits(char *buf, size_t n, unsigned *seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (char)('0' + rand_r(seed) % 10);
	if (n)
		buf[0] = (char)('1' + rand_r(seed) % 9);
	return n;
}

/*
 * digits (a string of decimal digits) written as a number with the
 * point after `point` of them (none when point >= its length), then
 * e<exp> unless exp is 0, and a sign.
 */
static void put_decimal(char *buf, size_t cap, int neg, const char *digits,
                        size_t point, int exp)
{
	size_t n = strlen(digits);
	int len;

	if (point == 0)
		len = snprintf(buf, cap, "%s0.%s", neg ? "-" : "", digits);
	else if (point >= n)
		len = snprintf(buf, cap, "%s%s", neg ? "-" : "", digits);
	else
		len = snprintf(buf, cap, "%s%.*s.%s", neg ? "-" : "",
		               (int)point, digits, digits + point);
	if (exp)
		snprintf(buf + len, cap - (size_t)len, "e%d", exp);
}

/* Texts that sit on the edges of the reader's fast path. */
START_TEST(numbers_edges_equal_strtod)
{
	static const char *const fixed[] = {
	    "0", "-0", "-0.0", "0e999", "-0e-999", "0.000", "1", "-1",
	    "5e-324", "4.9406564584124654e-324", "2.4703282292062327e-324",
	    "2.4703282292062328e-324", "2.2250738585072011e-308",
	    "2.2250738585072014e-308", "1.7976931348623157e308",
	    "1.7976931348623159e308", "1e308", "1e309", "1e-400", "1e400",
	    "9007199254740991", "9007199254740992", "9007199254740993",
	    "9007199254740994", "9007199254740995", "90071992547409921",
	    "9007199254740993e-22", "9007199254740993e22",
	    "900719925474099.3", "0.9007199254740993", "1e22", "1e23",
	    "1e-22", "1e-23", "1E+22", "-1E-022", "1e0000022", "1e-0000023",
	    "123456789012345e-22", "999999999999999e22",
	    "9999999999999999999", "99999999999999999999",
	    "1234567890123456789e-22", "0.000000000000000000001",
	    "0.1", "0.2", "0.3", "4.35", "8.589973e9", "1.5e-10",
	    "3.0000000000000004", "2.9999999999999996", "0.30000000000000004",
	};
	char digits[64], buf[128];
	int exp, point, k, neg;
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_number(fixed[i]);

	/* 2^53 - 3 .. 2^53 + 3 and every power of ten near the limit */
	for (k = -3; k <= 3; k++) {
		snprintf(digits, sizeof(digits), "%llu",
		         (unsigned long long)((1ULL << 53) + (unsigned long long)
		                                                 (long long)k));
		for (point = 0; point <= 17; point++)
			for (exp = -30; exp <= 30; exp++)
				for (neg = 0; neg < 2; neg++) {
					put_decimal(buf, sizeof(buf), neg,
					            digits, (size_t)point, exp);
					check_number(buf);
				}
	}

	/* 1 to 9 followed by zeros: trailing zeros count as digits */
	for (i = 1; i <= 25; i++) {
		memset(digits, '0', i);
		digits[i] = '\0';
		for (k = 1; k <= 9; k++) {
			digits[0] = (char)('0' + k);
			for (exp = -26; exp <= 26; exp++) {
				put_decimal(buf, sizeof(buf), 0, digits, i, exp);
				check_number(buf);
				put_decimal(buf, sizeof(buf), 1, digits, 1, exp);
				check_number(buf);
			}
		}
	}
}
END_TEST

/*
 * Millions of random numbers, bit for bit against strtod: 1 to 21
 * significant digits (the fast path takes up to 19 when they are at most
 * 2^53), the point anywhere or absent, leading zeros, exponents around
 * 10^+-22 and far beyond, into the subnormals and past the overflow.
 */
START_TEST(numbers_random_equal_strtod)
{
	unsigned seed = 12345;
	char digits[64], buf[160];
	size_t i, n, point, zeros;
	int exp;

	for (i = 0; i < 3000000; i++) {
		n = 1 + (size_t)(rand_r(&seed) % 21);
		digits[random_digits(digits, n, &seed)] = '\0';
		point = (size_t)rand_r(&seed) % (n + 2);
		switch (rand_r(&seed) % 4) {
		case 0:
			exp = 0;
			break;
		case 1:
			exp = rand_r(&seed) % 61 - 30;
			break;
		case 2:
			exp = rand_r(&seed) % 701 - 350;
			break;
		default:
			exp = -(int)n + (int)point + rand_r(&seed) % 47 - 23;
			break;
		}
		if (rand_r(&seed) % 8 == 0 && point == 0) {
			zeros = (size_t)rand_r(&seed) % 30;
			memmove(digits + zeros, digits, n + 1);
			memset(digits, '0', zeros);
		}
		put_decimal(buf, sizeof(buf), rand_r(&seed) % 2, digits, point,
		            exp);
		check_number(buf);
	}

	/* numbers the old generator wrote: signs, E, explicit + */
	for (i = 0; i < 1000000; i++) {
		random_number(buf, &seed);
		check_number(buf);
	}
}
END_TEST

/* One random edit of body (len bytes, room for len + 8) in place. */
static size_t mutate(char *body, size_t len, unsigned *seed)
{
	static const char bytes[] = "[]{},:\"0-.eE1\\ tfn\x01\xff";
	size_t at = len ? (size_t)rand_r(seed) % len : 0;

	switch (rand_r(seed) % 4) {
	case 0: /* replace a byte */
		if (len)
			body[at] = bytes[rand_r(seed) % (sizeof(bytes) - 1)];
		return len;
	case 1: /* insert a byte */
		memmove(body + at + 1, body + at, len - at);
		body[at] = bytes[rand_r(seed) % (sizeof(bytes) - 1)];
		return len + 1;
	case 2: /* delete a byte */
		if (len)
			memmove(body + at, body + at + 1, len - at - 1);
		return len ? len - 1 : 0;
	default: /* cut the body */
		return at;
	}
}

/*
 * Random edits of the good bodies: the parser must never crash (the
 * cursor trusts the strict checker), must answer 400 or 413 with a
 * message, or give finite numbers; and what the checker accepts must be
 * JSON to cJSON too.
 */
START_TEST(mutated_bodies)
{
	static const char *const names[] = {
	    "predict_arrays", "predict_mixed", "gates_expert_probabilities",
	    "v2_flat",        "v2_nested_int", "v2_outputs_id",
	    "anon_arrays",
	};
	unsigned seed = 777;
	size_t i, k, len, orig, j, accepted = 0, refused = 0;
	char path[8192], *body, *work;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct moe_model *model;
		enum api_kind kind;

		snprintf(path, sizeof(path), "%s/api/good/%s.json", data_dir,
		         names[i]);
		body = read_all(path, &orig);
		work = malloc(orig + 64);
		ck_assert_ptr_nonnull(work);
		pick(names[i], &kind, &model);
		for (k = 0; k < 3000; k++) {
			struct api_request req;
			struct api_error err;
			size_t pos, edits = 1 + (size_t)rand_r(&seed) % 3;
			int r;

			memcpy(work, body, orig);
			len = orig;
			for (j = 0; j < edits && len + 1 < orig + 64; j++)
				len = mutate(work, len, &seed);

			if (api_json_check(work, len, 32, &pos) ==
			    API_JSON_OK) {
				cJSON *tree = cJSON_ParseWithLength(work, len);

				ck_assert_msg(tree != NULL,
				              "cJSON refuses %.*s", (int)len,
				              work);
				cJSON_Delete(tree);
			}
			r = api_parse_request(model, kind, work, len, TEST_MAX,
			                      &req, &err);
			if (r) {
				ck_assert(err.status == 400 ||
				          err.status == 413);
				ck_assert(err.message[0] != '\0');
				refused++;
				continue;
			}
			for (j = 0; j < req.n * req.d; j++)
				ck_assert(isfinite(req.x[j]));
			api_request_free(&req);
			accepted++;
		}
		free(work);
		free(body);
	}
	ck_assert_uint_gt(accepted, 100);
	ck_assert_uint_gt(refused, 1000);
}
END_TEST

/* Strict JSON or not: the checker against Python's json module. */
START_TEST(checker_matches_python)
{
	static char line[65536];
	unsigned char *text = malloc(sizeof(line) / 2);
	char path[8192];
	size_t n, i, pos, cases = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/api/json_cases.tsv", data_dir);
	f = fopen(path, "r");
	ck_assert(f && text);
	while (fgets(line, sizeof(line), f)) {
		const char *hex = line + 2;
		int want = line[0] == '1', got;

		line[strcspn(line, "\n")] = '\0';
		n = strlen(hex) / 2;
		for (i = 0; i < n; i++) {
			unsigned byte;

			ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &byte), 1);
			text[i] = (unsigned char)byte;
		}
		got = api_json_check((const char *)text, n, 32, &pos) ==
		      API_JSON_OK;
		ck_assert_msg(got == want, "line %zu: %s, checker says %d",
		              cases + 1, hex, got);
		cases++;
	}
	fclose(f);
	free(text);
	ck_assert_uint_ge(cases, 1000);
}
END_TEST

/* Numbers: api_number_format against strtod/strtof and printf ---------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		if (!(*++s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

/*
 * The significant digits of a number's text into digits (no leading or
 * trailing zeros) and the power of ten of its last one into *scale: so
 * "0.0250" and "2.5e-2" both give "25" and -3.
 */
static void decimal_of(const char *s, char digits[40], int *scale)
{
	int n = 0, after_point = 0, point = 0;

	for (; *s && *s != 'e'; s++) {
		if (*s == '.') {
			point = 1;
			continue;
		}
		if (*s < '0' || *s > '9' || (*s == '0' && n == 0)) {
			after_point += point && *s == '0';
			continue;
		}
		digits[n++] = *s;
		after_point += point;
	}
	*scale = (*s == 'e' ? atoi(s + 1) : 0) - after_point;
	while (n > 0 && digits[n - 1] == '0') {
		n--;
		(*scale)++;
	}
	digits[n] = '\0';
}

/* Significant digits of a number's text: leading and trailing zeros
 * do not count. */
static int significant(const char *s)
{
	char digits[40];
	int scale;

	decimal_of(s, digits, &scale);
	return (int)strlen(digits);
}

/* text reads back to x (bit for bit), is JSON, and is no longer than
 * printf's %.17g / %.9g. */
static void check_f64(double x)
{
	char text[API_NUMBER_MAX], ref[40];
	int len = api_number_format(text, x, MOE_DTYPE_F64);
	double back = strtod(text, NULL);

	ck_assert_msg(memcmp(&back, &x, sizeof(x)) == 0, "%a printed as %s",
	              x, text);
	ck_assert_msg(json_number(text), "%a printed as %s", x, text);
	ck_assert_int_eq(len, (int)strlen(text));
	ck_assert_int_le(len, snprintf(ref, sizeof(ref), "%.17g", x));
}

static void check_f32(float f)
{
	char text[API_NUMBER_MAX], ref[40];
	int len = api_number_format(text, f, MOE_DTYPE_F32);
	float back = strtof(text, NULL);

	if (isinf(f)) { /* a double out of a float's range */
		ck_assert_str_eq(text, "null");
		return;
	}
	ck_assert_msg(memcmp(&back, &f, sizeof(f)) == 0, "%a printed as %s",
	              (double)f, text);
	ck_assert_msg(json_number(text), "%a printed as %s", (double)f, text);
	ck_assert_int_eq(len, (int)strlen(text));
	ck_assert_int_le(len, snprintf(ref, sizeof(ref), "%.9g", (double)f));
}

/* The fewest digits p for which printf's %.{p}g reads back to x. */
static int fewest_f64(double x)
{
	char ref[40];
	int p;

	for (p = 1; p < 17; p++) {
		snprintf(ref, sizeof(ref), "%.*g", p, x);
		if (strtod(ref, NULL) == x)
			break;
	}
	return p;
}

static int fewest_f32(float f)
{
	char ref[40];
	int p;

	for (p = 1; p < 9; p++) {
		snprintf(ref, sizeof(ref), "%.*g", p, (double)f);
		if (strtof(ref, NULL) == f)
			break;
	}
	return p;
}

START_TEST(number_edges)
{
	static const double edges[] = {
	    0.0,    -0.0,    5e-324,  -5e-324, DBL_MIN, DBL_MAX, -DBL_MAX,
	    1e-300, 1e300,   0.1,     0.2,     0.3,     1.0,     2.0,
	    0.5,    1e16,    1e17,    1e22,    1e23,    9.5,     1e-5,
	    0.001,  1e-4,    123.456, 1.0 / 3, 2.0 / 3, 1 - 0x1p-53,
	    0x1p-1022 - 0x1p-1074, 4.9406564584124654e-324, 0x1p-1074 * 3,
	};
	char text[API_NUMBER_MAX];
	double x;
	size_t i;
	int e;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		check_f64(edges[i]);
		check_f32((float)edges[i]);
	}
	for (e = -330; e <= 308; e++) {
		x = pow(10, e);
		check_f64(x);
		check_f64(nextafter(x, 0));
		check_f64(nextafter(x, INFINITY));
		check_f32((float)x);
	}
	for (e = -1074; e <= 1023; e++) {
		check_f64(ldexp(1, e));
		check_f64(-ldexp(1, e));
		check_f32((float)ldexp(1, e));
	}
	for (e = -323; e <= 308; e++) {
		snprintf(text, sizeof(text), "1e%d", e);
		x = strtod(text, NULL);
		api_number_format(text, x, MOE_DTYPE_F64);
		ck_assert_int_eq(significant(text), 1);
	}

	api_number_format(text, 0.1, MOE_DTYPE_F64);
	ck_assert_str_eq(text, "0.1");
	api_number_format(text, -0.0, MOE_DTYPE_F64);
	ck_assert_str_eq(text, "-0");
	api_number_format(text, 5e-324, MOE_DTYPE_F64);
	ck_assert_str_eq(text, "5e-324");
	api_number_format(text, 1e-5, MOE_DTYPE_F64);
	ck_assert_str_eq(text, "1e-05");
	api_number_format(text, 1e16, MOE_DTYPE_F64);
	ck_assert_str_eq(text, "10000000000000000");
	api_number_format(text, 1e17, MOE_DTYPE_F64);
	ck_assert_str_eq(text, "1e+17");
	api_number_format(text, DBL_MAX, MOE_DTYPE_F64);
	ck_assert_str_eq(text, "1.7976931348623157e+308");
	api_number_format(text, 0.1, MOE_DTYPE_F32);
	ck_assert_str_eq(text, "0.1");
	api_number_format(text, 1e300, MOE_DTYPE_F32);
	ck_assert_str_eq(text, "null");
	api_number_format(text, NAN, MOE_DTYPE_F64);
	ck_assert_str_eq(text, "null");
	api_number_format(text, -INFINITY, MOE_DTYPE_F64);
	ck_assert_str_eq(text, "null");
}
END_TEST

/* 1.2 million numbers: doubles of every exponent, probabilities, floats
 * of every exponent and float probabilities. */
START_TEST(number_random)
{
	const long n = 300000;
	uint64_t bits;
	uint32_t fbits;
	double x;
	float f;
	long i;

	for (i = 0; i < n; i++) {
		bits = next_random();
		memcpy(&x, &bits, sizeof(x));
		if (isfinite(x))
			check_f64(x);
		check_f64((double)(next_random() >> 11) * 0x1p-53);
		fbits = (uint32_t)(next_random() >> 32);
		memcpy(&f, &fbits, sizeof(f));
		if (isfinite(f))
			check_f32(f);
		check_f32((float)(next_random() >> 40) * 0x1p-24f);
	}
}
END_TEST

/* The two texts are the same decimal number. */
static int same_decimal(const char *a, const char *b)
{
	char da[40], db[40];
	int sa, sb;

	decimal_of(a, da, &sa);
	decimal_of(b, db, &sb);
	return sa == sb && !strcmp(da, db);
}

START_TEST(number_same_decimal)
{
	ck_assert(same_decimal("0.0250", "2.5e-2"));
	ck_assert(same_decimal("1200", "1.2e+03"));
	ck_assert(same_decimal("-3", "-3.000"));
	ck_assert(!same_decimal("0.25", "0.025"));
	ck_assert(!same_decimal("1.5", "1.6"));
}
END_TEST

/*
 * The digits are the fewest that read back, by printf's %.{p}g, and the
 * same as printf's for that p: the nearest decimal of p digits.
 */
START_TEST(number_shortest)
{
	char text[API_NUMBER_MAX], ref[40];
	uint64_t bits;
	double x;
	float f;
	long i;

	for (i = 0; i < 50000; i++) {
		bits = next_random();
		memcpy(&x, &bits, sizeof(x));
		if (i % 2)
			x = (double)(bits >> 11) * 0x1p-53;
		if (!isfinite(x) || x == 0)
			continue;
		api_number_format(text, x, MOE_DTYPE_F64);
		ck_assert_msg(significant(text) == fewest_f64(x),
		              "%a printed as %s", x, text);
		snprintf(ref, sizeof(ref), "%.*g", fewest_f64(x), x);
		ck_assert_msg(same_decimal(text, ref), "%a printed as %s, not %s",
		              x, text, ref);
		f = (float)x;
		if (!isfinite(f) || f == 0)
			continue;
		api_number_format(text, f, MOE_DTYPE_F32);
		ck_assert_msg(significant(text) == fewest_f32(f),
		              "%a printed as %s", (double)f, text);
		snprintf(ref, sizeof(ref), "%.*g", fewest_f32(f), (double)f);
		ck_assert_msg(same_decimal(text, ref), "%a printed as %s, not %s",
		              (double)f, text, ref);
	}
	for (i = 1; i < 20000; i++) {
		x = (double)i / 20000;
		api_number_format(text, x, MOE_DTYPE_F64);
		ck_assert_int_eq(significant(text), fewest_f64(x));
	}
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *req = tcase_create("request");
	TCase *enc = tcase_create("encode");
	TCase *num = tcase_create("number");

	tcase_add_checked_fixture(req, setup, teardown);
	tcase_add_test(req, bad_catalog);
	tcase_add_test(req, good_requests);
	tcase_add_test(req, request_options);
	tcase_add_test(req, v2_outputs_and_id);
	tcase_add_test(req, default_batch_limit);
	tcase_add_test(req, body_not_nul_terminated);
	tcase_add_test(req, mutated_bodies);
	tcase_add_test(req, checker_matches_python);
	tcase_set_timeout(req, 60);
	suite_add_tcase(s, req);

	tcase_add_checked_fixture(enc, setup, teardown);
	tcase_add_test(enc, encode_predict_f64);
	tcase_add_test(enc, encode_predict_f32);
	tcase_add_test(enc, f32_digits);
	tcase_add_test(enc, encode_gates_all);
	tcase_add_test(enc, encode_v2);
	tcase_add_test(enc, end_to_end_forward);
	tcase_add_test(enc, deterministic);
	tcase_add_test(enc, error_bodies);
	tcase_add_test(enc, model_status);
	tcase_add_test(enc, v2_metadata);
	tcase_add_test(enc, outputs_alloc);
	suite_add_tcase(s, enc);

	tcase_add_test(num, numbers_edges_equal_strtod);
	tcase_add_test(num, numbers_random_equal_strtod);
	tcase_add_test(num, number_edges);
	tcase_add_test(num, number_random);
	tcase_add_test(num, number_same_decimal);
	tcase_add_test(num, number_shortest);
	tcase_set_timeout(num, 100);
	suite_add_tcase(s, num);
	return s;
}

int main(void)
{
	const char *dir = getenv("SIGMOE_TEST_DATA");

	if (!dir) {
		fprintf(stderr, "SIGMOE_TEST_DATA is not set\n");
		return 1;
	}
	snprintf(data_dir, sizeof(data_dir), "%s", dir);
	return ts_run(api_suite());
}
