/* SPDX-License-Identifier: MIT */
/*
 * request.c - checking a request body against a model (SPEC 4.1, 4.2).
 *
 * A body goes through three gates: a strict JSON check (strict.c) that
 * refuses malformed JSON with the line and column of the first bad byte
 * and nesting deeper than SRV_MAX_REQUEST_JSON_DEPTH (so cJSON never
 * recurses far), the cJSON parser, and a walk of the tree that checks
 * each key and value in document order and stops at the first problem,
 * which it names by its place in the body.
 *
 * The input matrix is allocated before the rows are checked only when
 * its size is plausible for the body: a valid body spends at least one
 * byte per value, so n * d <= len.  A body that claims more rows than it
 * can hold is walked without a matrix and refused at its first bad row.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "internal.h"

#define ECHO ((int)API_MAX_ECHO_BYTES)

static int api_fail(struct api_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write the message and the status for code; returns code. */
static int api_fail(struct api_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->status = code == -E2BIG ? 413 : code == -ENOMEM ? 500 : 400;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

static int no_memory(struct api_error *err)
{
	return api_fail(err, -ENOMEM, "out of memory");
}

/* "a string", "an object": what a JSON value is, for messages. */
static const char *json_kind(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsArray(v))
		return "an array";
	return "an object";
}

/*
 * "body is not valid JSON: <what> at line L, column C" for the byte at
 * pos; <what> says what is wrong there.
 */
static int json_error(const char *body, size_t len, size_t pos,
                      enum api_json_verdict verdict, struct api_error *err)
{
	const char *lead = "unexpected ";
	size_t i, line = 1, col = 1;
	unsigned char c;
	char what[64];

	if (pos >= len)
		return api_fail(
		    err, -EINVAL,
		    "body is not valid JSON: unexpected end of body");
	for (i = 0; i < pos; i++) {
		col++;
		if (body[i] == '\n') {
			line++;
			col = 1;
		}
	}

	c = (unsigned char)body[pos];
	if (c > 0x20 && c < 0x7f)
		snprintf(what, sizeof(what), "'%c'", c);
	else
		snprintf(what, sizeof(what), "byte 0x%02x", c);
	if (verdict == API_JSON_TRAILING)
		lead = "unexpected text after the value: ";
	if (verdict == API_JSON_LONG_NUMBER || verdict == API_JSON_SURROGATE) {
		lead = verdict == API_JSON_SURROGATE
		           ? "unpaired UTF-16 surrogate"
		           : "number longer than " API_MAX_NUMBER_TEXT
		             " characters";
		what[0] = '\0';
	}
	return api_fail(err, -EINVAL,
	                "body is not valid JSON: %s%s at line %zu, column %zu",
	                lead, what, line, col);
}

/*
 * Check the body, then parse it into *root.  The strict checker names
 * the first bad byte, so cJSON only fails when out of memory.
 */
static int parse_json(const char *body, size_t len, cJSON **root,
                      struct api_error *err)
{
	enum api_json_verdict verdict;
	size_t pos;

	for (pos = 0;
	     pos < len && strchr(" \t\r\n", body[pos]) && body[pos] != '\0';
	     pos++)
		;
	if (pos == len)
		return api_fail(err, -EINVAL, "body is empty");

	verdict = api_json_check(body, len, SRV_MAX_REQUEST_JSON_DEPTH, &pos);
	if (verdict == API_JSON_TOO_DEEP)
		return api_fail(err, -EINVAL,
		                "body nests deeper than %u levels",
		                SRV_MAX_REQUEST_JSON_DEPTH);
	if (verdict != API_JSON_OK)
		return json_error(body, len, pos, verdict, err);

	*root = cJSON_ParseWithLength(body, len);
	return *root ? 0 : no_memory(err);
}

/*
 * The rows of "instances" (native requests).
 */

/* Feature names sorted, for object rows; built on the first one. */
struct row_ctx {
	const struct moe_model *model;
	double *x;     /* [n][d] or NULL (checking only) */
	size_t *order; /* feature indices sorted by name, or NULL */
	size_t *seen;  /* [d]: row + 1 that last set each feature */
	struct api_error *err;
};

/* qsort_r order of feature indices by name. */
static int cmp_feature_r(const void *a, const void *b, void *model)
{
	const struct moe_model *m = model;

	return strcmp(m->features[*(const size_t *)a],
	              m->features[*(const size_t *)b]);
}

static int build_index(struct row_ctx *c)
{
	size_t i, d = c->model->n_features;

	c->order = malloc(d * sizeof(*c->order));
	c->seen = calloc(d, sizeof(*c->seen));
	if (!c->order || !c->seen)
		return no_memory(c->err);
	for (i = 0; i < d; i++)
		c->order[i] = i;
	qsort_r(c->order, d, sizeof(*c->order), cmp_feature_r,
	        (void *)c->model);
	return 0;
}

/* Index of feature name, or -1. */
static long find_feature(const struct row_ctx *c, const char *name)
{
	size_t lo = 0, hi = c->model->n_features, mid;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = strcmp(name, c->model->features[c->order[mid]]);
		if (r == 0)
			return (long)c->order[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* A number of a row: finite, written to *out when out is not NULL. */
static int row_number(const cJSON *v, double *out, struct row_ctx *c,
                      size_t row, size_t col, const char *name)
{
	char place[96 + API_MAX_ECHO_BYTES];

	if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
		if (out)
			*out = v->valuedouble;
		return 0;
	}

	if (name)
		snprintf(place, sizeof(place), "instances[%zu].%.*s", row, ECHO,
		         name);
	else
		snprintf(place, sizeof(place), "instances[%zu][%zu]", row, col);
	if (!cJSON_IsNumber(v))
		return api_fail(c->err, -EINVAL,
		                "%s: expected a number, got %s", place,
		                json_kind(v));
	return api_fail(c->err, -EINVAL, "%s: number out of range", place);
}

static int array_row(const cJSON *row, size_t i, struct row_ctx *c)
{
	size_t d = c->model->n_features, j = 0, got;
	double *xi = c->x ? c->x + i * d : NULL;
	const cJSON *v;
	int r;

	got = (size_t)cJSON_GetArraySize(row);
	if (got != d)
		return api_fail(c->err, -EINVAL,
		                "instances[%zu]: expected %zu value%s, got %zu",
		                i, d, d == 1 ? "" : "s", got);
	cJSON_ArrayForEach(v, row)
	{
		r = row_number(v, xi ? xi + j : NULL, c, i, j, NULL);
		if (r)
			return r;
		j++;
	}
	return 0;
}

static int object_row(const cJSON *row, size_t i, struct row_ctx *c)
{
	size_t d = c->model->n_features, j, count = 0;
	double *xi = c->x ? c->x + i * d : NULL;
	const cJSON *v;
	long f;
	int r;

	if (!c->model->features)
		return api_fail(
		    c->err, -EINVAL,
		    "instances[%zu]: the model has no feature names; send each row as an array of %zu numbers",
		    i, d);
	if (!c->order && (r = build_index(c)))
		return r;

	cJSON_ArrayForEach(v, row)
	{
		f = find_feature(c, v->string);
		if (f < 0)
			return api_fail(
			    c->err, -EINVAL,
			    "instances[%zu]: unknown feature '%.*s'", i, ECHO,
			    v->string);
		if (c->seen[f] == i + 1)
			return api_fail(
			    c->err, -EINVAL,
			    "instances[%zu]: duplicate feature '%.*s'", i, ECHO,
			    v->string);
		c->seen[f] = i + 1;
		r = row_number(v, xi ? xi + f : NULL, c, i, 0, v->string);
		if (r)
			return r;
		count++;
	}
	for (j = 0; count < d && j < d; j++)
		if (c->seen[j] != i + 1)
			return api_fail(
			    c->err, -EINVAL,
			    "instances[%zu]: missing feature '%.*s'", i, ECHO,
			    c->model->features[j]);
	return 0;
}

static int parse_rows(const struct moe_model *model, const cJSON *rows,
                      size_t len, struct api_request *req,
                      struct api_error *err)
{
	struct row_ctx c = {.model = model, .err = err};
	size_t n = req->n, d = model->n_features, i = 0;
	const cJSON *row;
	int r = 0;

	if (d > 0 && n <= len / d) {
		c.x = malloc(n * d * sizeof(double));
		if (!c.x)
			return no_memory(err);
	}
	cJSON_ArrayForEach(row, rows)
	{
		if (cJSON_IsArray(row))
			r = array_row(row, i, &c);
		else if (cJSON_IsObject(row))
			r = object_row(row, i, &c);
		else
			r = api_fail(
			    err, -EINVAL,
			    "instances[%zu]: expected an array or an object, got %s",
			    i, json_kind(row));
		if (r)
			goto free_rows;
		i++;
	}
	if (!c.x) {
		r = api_fail(
		    err, -EINVAL,
		    "instances: %zu rows of %zu values cannot fit in a body of %zu bytes",
		    n, d, len);
		goto free_rows;
	}
	req->x = c.x;
	c.x = NULL;
free_rows:
	free(c.x);
	free(c.order);
	free(c.seen);
	return r;
}

/* 400 for no rows, 413 for more than max_instances. */
static int check_rows(size_t n, size_t max, const char *where,
                      struct api_error *err)
{
	if (n == 0 || n > max)
		return api_fail(err, n ? -E2BIG : -EINVAL,
		                "%s: expected 1 to %zu rows, got %zu", where,
		                max, n);
	return 0;
}

static int parse_native(const struct moe_model *model, const cJSON *root,
                        size_t len, size_t max, struct api_request *req,
                        struct api_error *err)
{
	const cJSON *v, *rows = NULL, *ep = NULL;
	int r;

	cJSON_ArrayForEach(v, root)
	{
		const cJSON **slot =
		    !strcmp(v->string, "instances") ? &rows
		    : req->kind == API_GATES &&
		            !strcmp(v->string, "expert_probabilities")
		        ? &ep
		        : NULL;

		if (!slot)
			return api_fail(err, -EINVAL, "unknown key '%.*s'",
			                ECHO, v->string);
		if (*slot)
			return api_fail(err, -EINVAL, "duplicate key '%s'",
			                v->string);
		*slot = v;
	}
	if (ep && !cJSON_IsBool(ep))
		return api_fail(
		    err, -EINVAL,
		    "expert_probabilities: expected true or false, got %s",
		    json_kind(ep));
	if (!rows)
		return api_fail(err, -EINVAL, "missing key 'instances'");
	if (!cJSON_IsArray(rows))
		return api_fail(err, -EINVAL,
		                "instances: expected an array, got %s",
		                json_kind(rows));

	req->n = (size_t)cJSON_GetArraySize(rows);
	r = check_rows(req->n, max, "instances", err);
	if (r)
		return r;
	req->expert_probabilities = ep && cJSON_IsTrue(ep);
	if (req->kind == API_PREDICT)
		req->outputs = API_OUT_PROBABILITIES | API_OUT_LABELS;
	else
		req->outputs =
		    API_OUT_PROBABILITIES | API_OUT_ACTIVATIONS |
		    API_OUT_WEIGHTS | API_OUT_TOP_EXPERT |
		    (req->expert_probabilities ? API_OUT_EXPERT_PROBABILITIES
		                               : 0);
	return parse_rows(model, rows, len, req, err);
}

/*
 * KServe V2 infer requests.
 */

enum v2_class { V2_FP64, V2_FP32, V2_INT };

struct v2_type {
	const char *name;
	enum v2_class class;
	double lo, hi; /* the range of an integer type */
};

static const struct v2_type v2_types[] = {
    {"FP64", V2_FP64, 0, 0},
    {"FP32", V2_FP32, 0, 0},
    {"INT8", V2_INT, -128.0, 127.0},
    {"INT16", V2_INT, -32768.0, 32767.0},
    {"INT32", V2_INT, -2147483648.0, 2147483647.0},
    {"INT64", V2_INT, -9223372036854775808.0, 9223372036854775807.0},
    {"UINT8", V2_INT, 0, 255.0},
    {"UINT16", V2_INT, 0, 65535.0},
    {"UINT32", V2_INT, 0, 4294967295.0},
    {"UINT64", V2_INT, 0, 18446744073709551615.0},
};

static const char *const v2_output_names[] = {
    [API_V2_PROBABILITIES] = "probabilities",
    [API_V2_LABEL] = "label",
    [API_V2_GATE_ACTIVATIONS] = "gate_activations",
    [API_V2_GATE_WEIGHTS] = "gate_weights",
};

const char *api_v2_output_name(enum api_v2_output output)
{
	if ((unsigned)output >= API_V2_OUTPUT_COUNT)
		return NULL;
	return v2_output_names[output];
}

/* The flattened data of an input while it is walked. */
struct v2_data {
	const struct v2_type *type;
	double *x; /* NULL while counting */
	size_t count;
	struct api_error *err;
};

static int v2_value(const cJSON *v, struct v2_data *dt)
{
	const struct v2_type *t = dt->type;
	double x;

	if (!cJSON_IsNumber(v))
		return api_fail(
		    dt->err, -EINVAL,
		    "inputs[0].data: element %zu: expected a number, got %s",
		    dt->count, json_kind(v));
	x = v->valuedouble;
	if (!isfinite(x) || (t->class == V2_FP32 && fabs(x) > FLT_MAX))
		return api_fail(
		    dt->err, -EINVAL,
		    "inputs[0].data: element %zu: number out of range for %s",
		    dt->count, t->name);
	if (t->class == V2_INT && (x != floor(x) || x < t->lo || x > t->hi))
		return api_fail(
		    dt->err, -EINVAL,
		    "inputs[0].data: element %zu: expected an integer from %.0f to %.0f for %s, got %.17g",
		    dt->count, t->lo, t->hi, t->name, x);
	if (dt->x)
		dt->x[dt->count] = x;
	dt->count++;
	return 0;
}

/* Walk data, flat or nested; the depth is bounded by scan_body. */
static int v2_walk(const cJSON *data, struct v2_data *dt)
{
	const cJSON *v;
	int r;

	cJSON_ArrayForEach(v, data)
	{
		r = cJSON_IsArray(v) ? v2_walk(v, dt) : v2_value(v, dt);
		if (r)
			return r;
	}
	return 0;
}

static int v2_datatype(const cJSON *v, const struct v2_type **type,
                       struct api_error *err)
{
	size_t i;

	if (!cJSON_IsString(v))
		return api_fail(err, -EINVAL,
		                "inputs[0].datatype: expected a string, got %s",
		                json_kind(v));
	for (i = 0; i < sizeof(v2_types) / sizeof(v2_types[0]); i++) {
		if (!strcmp(v->valuestring, v2_types[i].name)) {
			*type = &v2_types[i];
			return 0;
		}
	}
	return api_fail(
	    err, -EINVAL,
	    "inputs[0].datatype: expected FP32, FP64 or an integer type (INT8 to INT64, UINT8 to UINT64), got '%.*s'",
	    ECHO, v->valuestring);
}

/* shape must be [n, d] with 1 <= n <= max. */
static int v2_shape(const cJSON *v, size_t d, size_t max, size_t *n,
                    struct api_error *err)
{
	const cJSON *dim;
	double s[2];
	size_t i = 0;

	if (!cJSON_IsArray(v))
		return api_fail(err, -EINVAL,
		                "inputs[0].shape: expected an array, got %s",
		                json_kind(v));
	if (cJSON_GetArraySize(v) != 2)
		return api_fail(
		    err, -EINVAL,
		    "inputs[0].shape: expected 2 dimensions [n, %zu], got %d",
		    d, cJSON_GetArraySize(v));
	cJSON_ArrayForEach(dim, v)
	{
		if (!cJSON_IsNumber(dim) || dim->valuedouble < 0 ||
		    dim->valuedouble != floor(dim->valuedouble) ||
		    dim->valuedouble > 9007199254740992.0)
			return api_fail(
			    err, -EINVAL,
			    "inputs[0].shape[%zu]: expected a non-negative integer",
			    i);
		s[i++] = dim->valuedouble;
	}
	if (s[1] != (double)d)
		return api_fail(
		    err, -EINVAL,
		    "inputs[0].shape: expected [n, %zu], got [%.0f, %.0f]", d,
		    s[0], s[1]);
	if (s[0] < 1 || s[0] > (double)max)
		return api_fail(
		    err, s[0] < 1 ? -EINVAL : -E2BIG,
		    "inputs[0].shape: expected 1 to %zu rows, got %.0f", max,
		    s[0]);
	*n = (size_t)s[0];
	return 0;
}

static int v2_input(const struct moe_model *model, const cJSON *in, size_t max,
                    struct api_request *req, struct api_error *err)
{
	const cJSON *v, *name = NULL, *shape = NULL, *type = NULL, *data = NULL,
	                *params = NULL;
	struct v2_data dt = {.err = err};
	size_t d = model->n_features;
	int r;

	if (!cJSON_IsObject(in))
		return api_fail(err, -EINVAL,
		                "inputs[0]: expected an object, got %s",
		                json_kind(in));
	cJSON_ArrayForEach(v, in)
	{
		const cJSON **slot = !strcmp(v->string, "name")       ? &name
		                     : !strcmp(v->string, "shape")    ? &shape
		                     : !strcmp(v->string, "datatype") ? &type
		                     : !strcmp(v->string, "data")     ? &data
		                     : !strcmp(v->string, "parameters")
		                         ? &params
		                         : NULL;

		if (!slot)
			return api_fail(err, -EINVAL,
			                "inputs[0]: unknown key '%.*s'", ECHO,
			                v->string);
		if (*slot)
			return api_fail(err, -EINVAL,
			                "inputs[0]: duplicate key '%s'",
			                v->string);
		*slot = v;
	}
	if (!name || !shape || !type || !data)
		return api_fail(err, -EINVAL, "inputs[0]: missing key '%s'",
		                !name    ? "name"
		                : !shape ? "shape"
		                : !type  ? "datatype"
		                         : "data");
	if (!cJSON_IsString(name))
		return api_fail(err, -EINVAL,
		                "inputs[0].name: expected a string, got %s",
		                json_kind(name));
	if (params && !cJSON_IsObject(params))
		return api_fail(
		    err, -EINVAL,
		    "inputs[0].parameters: expected an object, got %s",
		    json_kind(params));
	if ((r = v2_datatype(type, &dt.type, err)) ||
	    (r = v2_shape(shape, d, max, &req->n, err)))
		return r;
	if (!cJSON_IsArray(data))
		return api_fail(err, -EINVAL,
		                "inputs[0].data: expected an array, got %s",
		                json_kind(data));

	r = v2_walk(data, &dt);
	if (r)
		return r;
	if (dt.count != req->n * d)
		return api_fail(
		    err, -EINVAL,
		    "inputs[0].data: expected %zu values for shape [%zu, %zu], got %zu",
		    req->n * d, req->n, d, dt.count);
	dt.x = malloc(dt.count * sizeof(double));
	if (!dt.x)
		return no_memory(err);
	dt.count = 0;
	(void)v2_walk(data, &dt); /* cannot fail: checked above */
	req->x = dt.x;
	return 0;
}

static int v2_output(const cJSON *out, size_t i, struct api_request *req,
                     struct api_error *err)
{
	const cJSON *v, *name = NULL;
	size_t k;

	if (!cJSON_IsObject(out))
		return api_fail(err, -EINVAL,
		                "outputs[%zu]: expected an object, got %s", i,
		                json_kind(out));
	cJSON_ArrayForEach(v, out)
	{
		if (!strcmp(v->string, "name") && !name)
			name = v;
		else if (strcmp(v->string, "parameters") != 0)
			return api_fail(
			    err, -EINVAL,
			    "outputs[%zu]: unknown or duplicate key '%.*s'", i,
			    ECHO, v->string);
	}
	if (!name || !cJSON_IsString(name))
		return api_fail(err, -EINVAL,
		                "outputs[%zu].name: expected a string, got %s",
		                i, name ? json_kind(name) : "nothing");

	for (k = 0; k < API_V2_OUTPUT_COUNT; k++)
		if (!strcmp(name->valuestring, v2_output_names[k]))
			break;
	if (k == API_V2_OUTPUT_COUNT)
		return api_fail(
		    err, -EINVAL,
		    "outputs[%zu].name: unknown output '%.*s' (expected probabilities, label, gate_activations or gate_weights)",
		    i, ECHO, name->valuestring);
	for (i = 0; i < req->n_v2_outputs; i++)
		if (req->v2_outputs[i] == k)
			return api_fail(err, -EINVAL,
			                "outputs: '%s' is requested twice",
			                name->valuestring);
	req->v2_outputs[req->n_v2_outputs++] = (enum api_v2_output)k;
	return 0;
}

static int v2_outputs(const cJSON *outs, struct api_request *req,
                      struct api_error *err)
{
	static const unsigned bits[] = {
	    [API_V2_PROBABILITIES] = API_OUT_PROBABILITIES,
	    [API_V2_LABEL] = API_OUT_LABELS,
	    [API_V2_GATE_ACTIVATIONS] = API_OUT_ACTIVATIONS,
	    [API_V2_GATE_WEIGHTS] = API_OUT_WEIGHTS,
	};
	const cJSON *o;
	size_t i = 0;
	int r;

	if (outs && !cJSON_IsArray(outs))
		return api_fail(err, -EINVAL,
		                "outputs: expected an array, got %s",
		                json_kind(outs));
	cJSON_ArrayForEach(o, outs)
	{
		r = v2_output(o, i++, req, err);
		if (r)
			return r;
	}
	if (req->n_v2_outputs == 0) {
		req->v2_outputs[req->n_v2_outputs++] = API_V2_PROBABILITIES;
		req->v2_outputs[req->n_v2_outputs++] = API_V2_LABEL;
	}
	req->outputs = API_OUT_PROBABILITIES;
	for (i = 0; i < req->n_v2_outputs; i++)
		req->outputs |= bits[req->v2_outputs[i]];
	return 0;
}

static int v2_id(const cJSON *id, struct api_request *req,
                 struct api_error *err)
{
	if (!id)
		return 0;
	if (!cJSON_IsString(id))
		return api_fail(err, -EINVAL, "id: expected a string, got %s",
		                json_kind(id));
	if (strlen(id->valuestring) > API_MAX_ID_BYTES)
		return api_fail(err, -EINVAL, "id: longer than %u bytes",
		                API_MAX_ID_BYTES);
	req->id = strdup(id->valuestring);
	return req->id ? 0 : no_memory(err);
}

static int parse_v2(const struct moe_model *model, const cJSON *root,
                    size_t max, struct api_request *req, struct api_error *err)
{
	const cJSON *v, *inputs = NULL, *outputs = NULL, *id = NULL,
	                *params = NULL;
	int r;

	cJSON_ArrayForEach(v, root)
	{
		const cJSON **slot = !strcmp(v->string, "inputs")    ? &inputs
		                     : !strcmp(v->string, "outputs") ? &outputs
		                     : !strcmp(v->string, "id")      ? &id
		                     : !strcmp(v->string, "parameters")
		                         ? &params
		                         : NULL;

		if (!slot)
			return api_fail(err, -EINVAL, "unknown key '%.*s'",
			                ECHO, v->string);
		if (*slot)
			return api_fail(err, -EINVAL, "duplicate key '%s'",
			                v->string);
		*slot = v;
	}
	if (params && !cJSON_IsObject(params))
		return api_fail(err, -EINVAL,
		                "parameters: expected an object, got %s",
		                json_kind(params));
	if (!inputs)
		return api_fail(err, -EINVAL, "missing key 'inputs'");
	if (!cJSON_IsArray(inputs))
		return api_fail(err, -EINVAL,
		                "inputs: expected an array, got %s",
		                json_kind(inputs));
	if (cJSON_GetArraySize(inputs) != 1)
		return api_fail(
		    err, -EINVAL,
		    "inputs: expected exactly one input tensor, got %d",
		    cJSON_GetArraySize(inputs));

	if ((r = v2_id(id, req, err)) || (r = v2_outputs(outputs, req, err)))
		return r;
	return v2_input(model, inputs->child, max, req, err);
}

int api_parse_request(const struct moe_model *model, enum api_kind kind,
                      const char *body, size_t len, size_t max_instances,
                      struct api_request *req, struct api_error *err)
{
	cJSON *root = NULL;
	int r;

	memset(req, 0, sizeof(*req));
	req->kind = kind;
	req->d = model->n_features;
	err->status = 0;
	err->message[0] = '\0';

	r = parse_json(body, len, &root, err);
	if (r)
		goto free_root;
	if (!cJSON_IsObject(root)) {
		r = api_fail(err, -EINVAL, "body: expected an object, got %s",
		             json_kind(root));
		goto free_root;
	}

	if (kind == API_V2_INFER)
		r = parse_v2(model, root, max_instances, req, err);
	else
		r = parse_native(model, root, len, max_instances, req, err);
free_root:
	cJSON_Delete(root);
	if (r)
		api_request_free(req);
	return r;
}

void api_request_free(struct api_request *req)
{
	if (!req)
		return;
	free(req->x);
	free(req->id);
	req->x = NULL;
	req->id = NULL;
}
