/* SPDX-License-Identifier: MIT */
/*
 * request.c - checking a request body against a model (SPEC 4.1, 4.2).
 *
 * A body goes through two gates: a strict JSON check (strict.c) that
 * refuses malformed JSON with the line and column of the first bad byte
 * and nesting deeper than SRV_MAX_REQUEST_JSON_DEPTH, then a walk of the
 * checked text with a cursor (reader.c) that checks each key and value
 * in document order, stops at the first problem and names it by its
 * place in the body.  Numbers go straight from the text into the input
 * matrix: no tree is built, so a request costs its matrix and little
 * more.
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

#include "api.h"
#include "internal.h"

#define ECHO ((int)API_MAX_ECHO_BYTES)

/* Room for a key: longer ones match no name of a model. */
#define KEY_BYTES (MOE_MAX_NAME_BYTES + 1)

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

/* What the value at r is, for messages: "a string", "null"... */
static const char *kind_at(struct api_jr *r)
{
	return api_jr_kind_name(api_jr_peek(r));
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
 * Check the body and point *root at its value, which must be an object.
 */
static int check_json(const char *body, size_t len, struct api_jr *root,
                      struct api_error *err)
{
	enum api_json_verdict verdict;
	size_t pos;

	for (pos = 0; pos < len && (body[pos] == ' ' || body[pos] == '\t' ||
	                            body[pos] == '\n' || body[pos] == '\r');
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

	*root = (struct api_jr){body, len, 0};
	if (api_jr_peek(root) != API_JR_OBJECT)
		return api_fail(err, -EINVAL,
		                "body: expected an object, got %s",
		                kind_at(root));
	return 0;
}

/* A key an object may have, and where its value is once found. */
struct member {
	const char *key;
	int found;
	struct api_jr at;
	size_t count; /* elements or members, when the value is a container */
};

/*
 * Walk the members of the object at r: each key must be one of m[0..n)
 * and appear once, else "<where>unknown key 'k'" or "<where>duplicate
 * key 'k'".  Records where each value starts, and its size.
 */
static int scan_members(struct api_jr *r, struct member *m, size_t n,
                        const char *where, struct api_error *err)
{
	char key[KEY_BYTES];
	size_t klen, i;
	int first = 1;

	api_jr_enter(r);
	while (api_jr_next(r, &first)) {
		klen = api_jr_key(r, key, sizeof(key));
		for (i = 0; i < n; i++)
			if (klen < sizeof(key) && !strcmp(key, m[i].key))
				break;
		if (i == n)
			return api_fail(err, -EINVAL, "%sunknown key '%.*s'",
			                where, ECHO, key);
		if (m[i].found)
			return api_fail(err, -EINVAL, "%sduplicate key '%s'",
			                where, key);
		m[i].found = 1;
		m[i].at = *r;
		m[i].count = api_jr_skip_count(r);
	}
	return 0;
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

/*
 * The number at r, finite, into *out when out is not NULL.  The place
 * is "instances[row][col]", or "instances[row].name" when name is set.
 */
static int row_number(struct api_jr *r, double *out, struct row_ctx *c,
                      size_t row, size_t col, const char *name)
{
	enum api_jr_kind kind = api_jr_peek(r);
	char place[96 + API_MAX_ECHO_BYTES];
	double v = 0;

	if (kind == API_JR_NUMBER) {
		api_jr_number(r, &v);
		if (isfinite(v)) {
			if (out)
				*out = v;
			return 0;
		}
	}

	if (name)
		snprintf(place, sizeof(place), "instances[%zu].%.*s", row, ECHO,
		         name);
	else
		snprintf(place, sizeof(place), "instances[%zu][%zu]", row, col);
	if (kind != API_JR_NUMBER)
		return api_fail(c->err, -EINVAL,
		                "%s: expected a number, got %s", place,
		                api_jr_kind_name(kind));
	return api_fail(c->err, -EINVAL, "%s: number out of range", place);
}

/* 0 when the row at r holds d values, else "expected d values". */
static int row_length(const struct api_jr *r, size_t i, struct row_ctx *c)
{
	size_t d = c->model->n_features, got = api_jr_count(r);

	if (got == d)
		return 0;
	return api_fail(c->err, -EINVAL,
	                "instances[%zu]: expected %zu value%s, got %zu", i, d,
	                d == 1 ? "" : "s", got);
}

/*
 * The row's length is checked before its values, yet counted only when
 * something is wrong: reading stops at the first bad value or at value
 * d + 1, and the count then decides which message the row gets.
 */
static int array_row(struct api_jr *r, size_t i, struct row_ctx *c)
{
	size_t d = c->model->n_features, j = 0;
	double *xi = c->x ? c->x + i * d : NULL;
	struct api_jr row = *r;
	int first = 1, rc;

	api_jr_enter(r);
	while (api_jr_next(r, &first)) {
		if (j == d)
			return row_length(&row, i, c);
		rc = row_number(r, xi ? xi + j : NULL, c, i, j, NULL);
		if (rc && row_length(&row, i, c))
			return -EINVAL; /* the length's message replaced it */
		if (rc)
			return rc;
		j++;
	}
	return j == d ? 0 : row_length(&row, i, c);
}

static int object_row(struct api_jr *r, size_t i, struct row_ctx *c)
{
	size_t d = c->model->n_features, j, count = 0, klen;
	double *xi = c->x ? c->x + i * d : NULL;
	char key[KEY_BYTES];
	int first = 1, rc;
	long f;

	if (!c->model->features)
		return api_fail(
		    c->err, -EINVAL,
		    "instances[%zu]: the model has no feature names; send each row as an array of %zu numbers",
		    i, d);
	if (!c->order && (rc = build_index(c)))
		return rc;

	api_jr_enter(r);
	while (api_jr_next(r, &first)) {
		klen = api_jr_key(r, key, sizeof(key));
		f = klen < sizeof(key) ? find_feature(c, key) : -1;
		if (f < 0)
			return api_fail(
			    c->err, -EINVAL,
			    "instances[%zu]: unknown feature '%.*s'", i, ECHO,
			    key);
		if (c->seen[f] == i + 1)
			return api_fail(
			    c->err, -EINVAL,
			    "instances[%zu]: duplicate feature '%.*s'", i, ECHO,
			    key);
		c->seen[f] = i + 1;
		rc = row_number(r, xi ? xi + f : NULL, c, i, 0, key);
		if (rc)
			return rc;
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

static int parse_rows(const struct moe_model *model, struct api_jr *rows,
                      size_t len, struct api_request *req,
                      struct api_error *err)
{
	struct row_ctx c = {.model = model, .err = err};
	size_t n = req->n, d = model->n_features, i = 0;
	enum api_jr_kind kind;
	int first = 1, r = 0;

	if (d > 0 && n <= len / d) {
		c.x = malloc(n * d * sizeof(double));
		if (!c.x)
			return no_memory(err);
	}
	api_jr_enter(rows);
	while (api_jr_next(rows, &first)) {
		kind = api_jr_peek(rows);
		if (kind == API_JR_ARRAY)
			r = array_row(rows, i, &c);
		else if (kind == API_JR_OBJECT)
			r = object_row(rows, i, &c);
		else
			r = api_fail(
			    err, -EINVAL,
			    "instances[%zu]: expected an array or an object, got %s",
			    i, api_jr_kind_name(kind));
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

static int parse_native(const struct moe_model *model, struct api_jr *root,
                        size_t len, size_t max, struct api_request *req,
                        struct api_error *err)
{
	struct member m[] = {{"instances", 0, {0}, 0},
	                     {"expert_probabilities", 0, {0}, 0}};
	struct member *rows = &m[0], *ep = &m[1];
	int r;

	r = scan_members(root, m, req->kind == API_GATES ? 2 : 1, "", err);
	if (r)
		return r;
	if (ep->found && api_jr_peek(&ep->at) != API_JR_BOOL)
		return api_fail(
		    err, -EINVAL,
		    "expert_probabilities: expected true or false, got %s",
		    kind_at(&ep->at));
	if (!rows->found)
		return api_fail(err, -EINVAL, "missing key 'instances'");
	if (api_jr_peek(&rows->at) != API_JR_ARRAY)
		return api_fail(err, -EINVAL,
		                "instances: expected an array, got %s",
		                kind_at(&rows->at));

	req->n = rows->count;
	r = check_rows(req->n, max, "instances", err);
	if (r)
		return r;
	req->expert_probabilities = ep->found && api_jr_bool(&ep->at);
	if (req->kind == API_PREDICT)
		req->outputs = API_OUT_PROBABILITIES | API_OUT_LABELS;
	else
		req->outputs =
		    API_OUT_PROBABILITIES | API_OUT_ACTIVATIONS |
		    API_OUT_WEIGHTS | API_OUT_TOP_EXPERT |
		    (req->expert_probabilities ? API_OUT_EXPERT_PROBABILITIES
		                               : 0);
	return parse_rows(model, &rows->at, len, req, err);
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

static int v2_value(struct api_jr *r, struct v2_data *dt)
{
	const struct v2_type *t = dt->type;
	enum api_jr_kind kind = api_jr_peek(r);
	double x;

	if (kind != API_JR_NUMBER)
		return api_fail(
		    dt->err, -EINVAL,
		    "inputs[0].data: element %zu: expected a number, got %s",
		    dt->count, api_jr_kind_name(kind));
	api_jr_number(r, &x);
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

/* Walk the array at r, flat or nested; the depth is bounded. */
static int v2_walk(struct api_jr *r, struct v2_data *dt)
{
	int first = 1, rc;

	api_jr_enter(r);
	while (api_jr_next(r, &first)) {
		rc = api_jr_peek(r) == API_JR_ARRAY ? v2_walk(r, dt)
		                                    : v2_value(r, dt);
		if (rc)
			return rc;
	}
	return 0;
}

static int v2_datatype(struct api_jr *r, const struct v2_type **type,
                       struct api_error *err)
{
	char name[API_MAX_ECHO_BYTES + 1];
	size_t len, i;

	if (api_jr_peek(r) != API_JR_STRING)
		return api_fail(err, -EINVAL,
		                "inputs[0].datatype: expected a string, got %s",
		                kind_at(r));
	len = api_jr_string(r, name, sizeof(name));
	for (i = 0;
	     len < sizeof(name) && i < sizeof(v2_types) / sizeof(v2_types[0]);
	     i++) {
		if (!strcmp(name, v2_types[i].name)) {
			*type = &v2_types[i];
			return 0;
		}
	}
	return api_fail(
	    err, -EINVAL,
	    "inputs[0].datatype: expected FP32, FP64 or an integer type (INT8 to INT64, UINT8 to UINT64), got '%.*s'",
	    ECHO, name);
}

/* shape must be [n, d] with 1 <= n <= max. */
static int v2_shape(struct api_jr *r, size_t d, size_t max, size_t *n,
                    struct api_error *err)
{
	double s[2];
	size_t i = 0, dims;
	int first = 1;

	if (api_jr_peek(r) != API_JR_ARRAY)
		return api_fail(err, -EINVAL,
		                "inputs[0].shape: expected an array, got %s",
		                kind_at(r));
	dims = api_jr_count(r);
	if (dims != 2)
		return api_fail(
		    err, -EINVAL,
		    "inputs[0].shape: expected 2 dimensions [n, %zu], got %zu",
		    d, dims);
	api_jr_enter(r);
	while (api_jr_next(r, &first)) {
		s[i] = -1;
		if (api_jr_peek(r) == API_JR_NUMBER)
			api_jr_number(r, &s[i]);
		if (!(s[i] >= 0 && s[i] == floor(s[i]) &&
		      s[i] <= 9007199254740992.0))
			return api_fail(
			    err, -EINVAL,
			    "inputs[0].shape[%zu]: expected a non-negative integer",
			    i);
		i++;
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

static int v2_input(const struct moe_model *model, struct api_jr *in,
                    size_t max, struct api_request *req, struct api_error *err)
{
	struct member m[] = {{"name", 0, {0}, 0},
	                     {"shape", 0, {0}, 0},
	                     {"datatype", 0, {0}, 0},
	                     {"data", 0, {0}, 0},
	                     {"parameters", 0, {0}, 0}};
	struct v2_data dt = {.err = err};
	size_t d = model->n_features, i;
	struct api_jr data;
	int r;

	if (api_jr_peek(in) != API_JR_OBJECT)
		return api_fail(err, -EINVAL,
		                "inputs[0]: expected an object, got %s",
		                kind_at(in));
	r = scan_members(in, m, 5, "inputs[0]: ", err);
	if (r)
		return r;
	for (i = 0; i < 4; i++)
		if (!m[i].found)
			return api_fail(err, -EINVAL,
			                "inputs[0]: missing key '%s'",
			                m[i].key);
	if (api_jr_peek(&m[0].at) != API_JR_STRING)
		return api_fail(err, -EINVAL,
		                "inputs[0].name: expected a string, got %s",
		                kind_at(&m[0].at));
	if (m[4].found && api_jr_peek(&m[4].at) != API_JR_OBJECT)
		return api_fail(
		    err, -EINVAL,
		    "inputs[0].parameters: expected an object, got %s",
		    kind_at(&m[4].at));
	if ((r = v2_datatype(&m[2].at, &dt.type, err)) ||
	    (r = v2_shape(&m[1].at, d, max, &req->n, err)))
		return r;
	if (api_jr_peek(&m[3].at) != API_JR_ARRAY)
		return api_fail(err, -EINVAL,
		                "inputs[0].data: expected an array, got %s",
		                kind_at(&m[3].at));

	data = m[3].at;
	r = v2_walk(&data, &dt);
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
	data = m[3].at;
	(void)v2_walk(&data, &dt); /* cannot fail: checked above */
	req->x = dt.x;
	return 0;
}

static int v2_output(struct api_jr *r, size_t i, struct api_request *req,
                     struct api_error *err)
{
	struct member m[] = {{"name", 0, {0}, 0}, {"parameters", 0, {0}, 0}};
	char where[64], name[API_MAX_ECHO_BYTES + 1];
	size_t k, len;
	int rc;

	if (api_jr_peek(r) != API_JR_OBJECT)
		return api_fail(err, -EINVAL,
		                "outputs[%zu]: expected an object, got %s", i,
		                kind_at(r));
	snprintf(where, sizeof(where), "outputs[%zu]: ", i);
	rc = scan_members(r, m, 2, where, err);
	if (rc)
		return rc;
	if (!m[0].found || api_jr_peek(&m[0].at) != API_JR_STRING)
		return api_fail(err, -EINVAL,
		                "outputs[%zu].name: expected a string, got %s",
		                i, m[0].found ? kind_at(&m[0].at) : "nothing");

	len = api_jr_string(&m[0].at, name, sizeof(name));
	for (k = 0; len < sizeof(name) && k < API_V2_OUTPUT_COUNT; k++)
		if (!strcmp(name, v2_output_names[k]))
			break;
	if (len >= sizeof(name) || k == API_V2_OUTPUT_COUNT)
		return api_fail(
		    err, -EINVAL,
		    "outputs[%zu].name: unknown output '%.*s' (expected probabilities, label, gate_activations or gate_weights)",
		    i, ECHO, name);
	for (i = 0; i < req->n_v2_outputs; i++)
		if (req->v2_outputs[i] == k)
			return api_fail(err, -EINVAL,
			                "outputs: '%s' is requested twice",
			                name);
	req->v2_outputs[req->n_v2_outputs++] = (enum api_v2_output)k;
	return 0;
}

static int v2_outputs(struct member *outs, struct api_request *req,
                      struct api_error *err)
{
	static const unsigned bits[] = {
	    [API_V2_PROBABILITIES] = API_OUT_PROBABILITIES,
	    [API_V2_LABEL] = API_OUT_LABELS,
	    [API_V2_GATE_ACTIVATIONS] = API_OUT_ACTIVATIONS,
	    [API_V2_GATE_WEIGHTS] = API_OUT_WEIGHTS,
	};
	size_t i = 0;
	int first = 1, r;

	if (outs->found && api_jr_peek(&outs->at) != API_JR_ARRAY)
		return api_fail(err, -EINVAL,
		                "outputs: expected an array, got %s",
		                kind_at(&outs->at));
	if (outs->found) {
		api_jr_enter(&outs->at);
		while (api_jr_next(&outs->at, &first)) {
			r = v2_output(&outs->at, i++, req, err);
			if (r)
				return r;
		}
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

static int v2_id(struct member *id, struct api_request *req,
                 struct api_error *err)
{
	struct api_jr r = id->at;
	size_t len;

	if (!id->found)
		return 0;
	if (api_jr_peek(&r) != API_JR_STRING)
		return api_fail(err, -EINVAL, "id: expected a string, got %s",
		                kind_at(&r));
	len = api_jr_string(&r, NULL, 0);
	if (len > API_MAX_ID_BYTES)
		return api_fail(err, -EINVAL, "id: longer than %u bytes",
		                API_MAX_ID_BYTES);
	req->id = malloc(len + 1);
	if (!req->id)
		return no_memory(err);
	api_jr_string(&id->at, req->id, len + 1);
	return 0;
}

static int parse_v2(const struct moe_model *model, struct api_jr *root,
                    size_t max, struct api_request *req, struct api_error *err)
{
	struct member m[] = {{"inputs", 0, {0}, 0},
	                     {"outputs", 0, {0}, 0},
	                     {"id", 0, {0}, 0},
	                     {"parameters", 0, {0}, 0}};
	struct member *inputs = &m[0], *params = &m[3];
	size_t count;
	int first = 1, r;

	r = scan_members(root, m, 4, "", err);
	if (r)
		return r;
	if (params->found && api_jr_peek(&params->at) != API_JR_OBJECT)
		return api_fail(err, -EINVAL,
		                "parameters: expected an object, got %s",
		                kind_at(&params->at));
	if (!inputs->found)
		return api_fail(err, -EINVAL, "missing key 'inputs'");
	if (api_jr_peek(&inputs->at) != API_JR_ARRAY)
		return api_fail(err, -EINVAL,
		                "inputs: expected an array, got %s",
		                kind_at(&inputs->at));
	count = api_jr_count(&inputs->at);
	if (count != 1)
		return api_fail(
		    err, -EINVAL,
		    "inputs: expected exactly one input tensor, got %zu",
		    count);

	if ((r = v2_id(&m[2], req, err)) || (r = v2_outputs(&m[1], req, err)))
		return r;
	api_jr_enter(&inputs->at);
	api_jr_next(&inputs->at, &first);
	return v2_input(model, &inputs->at, max, req, err);
}

int api_parse_request(const struct moe_model *model, enum api_kind kind,
                      const char *body, size_t len, size_t max_instances,
                      struct api_request *req, struct api_error *err)
{
	struct api_jr root;
	int r;

	memset(req, 0, sizeof(*req));
	req->kind = kind;
	req->d = model->n_features;
	err->status = 0;
	err->message[0] = '\0';

	r = check_json(body, len, &root, err);
	if (r)
		return r;
	if (kind == API_V2_INFER)
		r = parse_v2(model, &root, max_instances, req, err);
	else
		r = parse_native(model, &root, len, max_instances, req, err);
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
