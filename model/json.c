/* SPDX-License-Identifier: MIT */
/*
 * json.c - the JSON model format (SPEC 2.1), and the JSON helpers that the
 * safetensors header shares: a bounded byte buffer, number formatting that
 * reads back exactly, and a guarded cJSON parse.
 *
 * The reader walks the cJSON tree twice: a first pass checks every shape
 * and value without storing anything, so that a bad file is rejected
 * before any parameter memory is allocated; the second pass fills one
 * block in the model's dtype.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"
#include "internal.h"

/* ---- bounded byte buffer ---- */

int moe_buf_put(struct moe_buf *buf, const void *bytes, size_t n)
{
	size_t cap;
	char *grown;

	if (buf->error || n == 0)
		return buf->error;

	if (n > buf->limit || buf->len > buf->limit - n)
		return buf->error = -E2BIG;

	if (buf->len + n > buf->cap) {
		cap = buf->cap ? buf->cap : 4096;
		while (cap < buf->len + n && cap <= buf->limit / 2)
			cap *= 2;
		if (cap < buf->len + n || cap > buf->limit)
			cap = buf->limit;
		grown = realloc(buf->data, cap);
		if (grown == NULL)
			return buf->error = -ENOMEM;
		buf->data = grown;
		buf->cap = cap;
	}

	memcpy(buf->data + buf->len, bytes, n);
	buf->len += n;
	return 0;
}

int moe_buf_puts(struct moe_buf *buf, const char *s)
{
	return moe_buf_put(buf, s, strlen(s));
}

int moe_buf_put_string(struct moe_buf *buf, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];
	size_t run;

	moe_buf_put(buf, "\"", 1);
	while (*p != '\0') {
		for (run = 0; p[run] >= 0x20 && p[run] != '"' && p[run] != '\\';
		     run++)
			;
		moe_buf_put(buf, p, run);
		p += run;
		if (*p == '\0')
			break;

		if (*p == '"' || *p == '\\')
			snprintf(esc, sizeof(esc), "\\%c", *p);
		else if (*p == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (*p == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else if (*p == '\r')
			snprintf(esc, sizeof(esc), "\\r");
		else
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
		moe_buf_puts(buf, esc);
		p++;
	}
	return moe_buf_put(buf, "\"", 1);
}

/* ---- numbers ---- */

static int reads_back(const char *text, double v, enum moe_dtype dtype)
{
	double r = strtod(text, NULL);

	if (dtype == MOE_DTYPE_F32)
		return (float)r == (float)v;
	return r == v;
}

void moe_format_number(char *out, size_t size, double v, enum moe_dtype dtype)
{
	int lo = dtype == MOE_DTYPE_F32 ? 6 : 15;
	int hi = dtype == MOE_DTYPE_F32 ? 9 : 17;
	int precision;

	for (precision = lo; precision < hi; precision++) {
		snprintf(out, size, "%.*g", precision, v);
		if (reads_back(out, v, dtype))
			return;
	}
	snprintf(out, size, "%.*g", hi, v);
}

/* ---- enum names ---- */

int moe_dtype_from_name(const char *s, enum moe_dtype *dtype)
{
	if (strcmp(s, moe_dtype_name(MOE_DTYPE_F64)) == 0)
		*dtype = MOE_DTYPE_F64;
	else if (strcmp(s, moe_dtype_name(MOE_DTYPE_F32)) == 0)
		*dtype = MOE_DTYPE_F32;
	else
		return -EINVAL;
	return 0;
}

int moe_gate_kind_from_name(const char *s, enum moe_gate_kind *kind)
{
	if (strcmp(s, moe_gate_kind_name(MOE_GATE_SIGMOID)) == 0)
		*kind = MOE_GATE_SIGMOID;
	else if (strcmp(s, moe_gate_kind_name(MOE_GATE_SOFTMAX)) == 0)
		*kind = MOE_GATE_SOFTMAX;
	else
		return -EINVAL;
	return 0;
}

int moe_score_from_name(const char *s, enum moe_score *score)
{
	if (strcmp(s, moe_score_name(MOE_SCORE_INNER)) == 0)
		*score = MOE_SCORE_INNER;
	else if (strcmp(s, moe_score_name(MOE_SCORE_EUCLIDEAN)) == 0)
		*score = MOE_SCORE_EUCLIDEAN;
	else
		return -EINVAL;
	return 0;
}

/* ---- guarded parse ---- */

/* Fail with "[field: ]what at line L, column C" for byte off of text. */
static int fail_at(struct moe_error *err, const char *field, const char *text,
                   size_t off, const char *what)
{
	size_t line = 1, column = 1, i;

	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
	}
	return moe_fail(err, -EINVAL, "%s%s%s at line %zu, column %zu",
	                field ? field : "", field ? ": " : "", what, line,
	                column);
}

enum scan_result { SCAN_OK, SCAN_NUL, SCAN_TOO_DEEP, SCAN_UNFINISHED };

/*
 * Look over the text before cJSON does: a NUL byte or nesting too deep
 * stop the scan (*at gets the offset); a text that ends inside a string
 * or an open bracket is SCAN_UNFINISHED.
 */
static enum scan_result scan_text(const char *text, size_t len, size_t *at)
{
	size_t depth = 0, i;
	int in_string = 0, escaped = 0;

	for (i = 0; i < len; i++) {
		char c = text[i];

		*at = i;
		if (c == '\0')
			return SCAN_NUL;
		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (c == '\\')
				escaped = 1;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > MOE_MAX_JSON_DEPTH)
				return SCAN_TOO_DEEP;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return in_string || depth > 0 ? SCAN_UNFINISHED : SCAN_OK;
}

cJSON *moe_json_parse(const char *text, size_t len, const char *field,
                      struct moe_error *err)
{
	char what[64];
	const char *end = NULL;
	enum scan_result scan;
	size_t off = 0;
	cJSON *tree;

	scan = scan_text(text, len, &off);
	if (scan == SCAN_NUL || scan == SCAN_TOO_DEEP) {
		if (scan == SCAN_TOO_DEEP)
			snprintf(what, sizeof(what),
			         "nesting deeper than %u levels",
			         MOE_MAX_JSON_DEPTH);
		else
			snprintf(what, sizeof(what), "NUL byte");
		fail_at(err, field, text, off, what);
		return NULL;
	}

	tree = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	off = end ? (size_t)(end - text) : 0;
	if (off > len)
		off = len;
	if (tree == NULL) {
		/* cJSON points at the last byte when the text ran out */
		fail_at(err, field, text, off,
		        scan == SCAN_UNFINISHED && off + 1 >= len
		            ? "not valid JSON: the text ends early"
		            : "not valid JSON");
		return NULL;
	}

	while (off < len && strchr(" \t\r\n", text[off]) != NULL)
		off++;
	if (off < len) {
		cJSON_Delete(tree);
		fail_at(err, field, text, off,
		        "unexpected text after the value");
		return NULL;
	}
	return tree;
}

/* ---- reader: keys ---- */

enum top_key {
	T_FORMAT,
	T_VERSION,
	T_NAME,
	T_DESCRIPTION,
	T_FEATURES,
	T_CLASSES,
	T_DTYPE,
	T_STANDARDIZE,
	T_GATE,
	T_EXPERTS,
	T_COUNT
};
static const char *const top_names[T_COUNT] = {
    "format",  "format_version", "name",        "description", "features",
    "classes", "dtype",          "standardize", "gate",        "experts",
};

enum gate_key {
	G_KIND,
	G_SCORE,
	G_TEMPERATURE,
	G_TOP_K,
	G_WEIGHT,
	G_BIAS,
	G_COUNT
};
static const char *const gate_names[G_COUNT] = {
    "kind", "score", "temperature", "top_k", "weight", "bias",
};

enum pair_key { P_FIRST, P_SECOND, P_COUNT };
static const char *const expert_names[P_COUNT] = {"weight", "bias"};
static const char *const standardize_names[P_COUNT] = {"mean", "scale"};

/*
 * Sort the members of object into slots by name (slots[i] gets the member
 * named names[i], or NULL); an unknown or repeated name is an error.
 * where is the object's path, "" for the top level.
 */
static int pick_keys(const cJSON *object, const char *where,
                     const char *const *names, size_t n, const cJSON **slots,
                     struct moe_error *err)
{
	const char *dot = where[0] ? "." : "";
	const cJSON *item;
	size_t i;

	if (!cJSON_IsObject(object))
		return moe_fail(err, -EINVAL, "%s: expected an object", where);

	memset(slots, 0, n * sizeof(*slots));
	for (item = object->child; item != NULL; item = item->next) {
		for (i = 0; i < n && strcmp(item->string, names[i]) != 0; i++)
			;
		if (i == n)
			return moe_fail(err, -EINVAL, "%s%s%.64s: unknown key",
			                where, dot, item->string);
		if (slots[i] != NULL)
			return moe_fail(err, -EINVAL, "%s%s%s: duplicate key",
			                where, dot, names[i]);
		slots[i] = item;
	}
	return 0;
}

static int require(const cJSON *item, const char *path, struct moe_error *err)
{
	if (item == NULL)
		return moe_fail(err, -EINVAL, "%s: required key is missing",
		                path);
	return 0;
}

static size_t array_length(const cJSON *array)
{
	const cJSON *item;
	size_t n = 0;

	for (item = array->child; item != NULL; item = item->next)
		n++;
	return n;
}

/* ---- reader: the parsed file ---- */

struct jfile {
	const cJSON *top[T_COUNT];
	const cJSON *gate[G_COUNT];
	const cJSON *experts[P_COUNT];
	const cJSON *standardize[P_COUNT];
	struct moe_model_spec spec;
	const char **features;
	const char **classes;
};

static int read_string(const cJSON *item, const char *path, const char **out,
                       struct moe_error *err)
{
	if (item == NULL)
		return 0;
	if (!cJSON_IsString(item))
		return moe_fail(err, -EINVAL, "%s: expected a string", path);
	*out = item->valuestring;
	return 0;
}

static int read_names(const cJSON *item, const char *path, size_t limit,
                      const char ***out, size_t *count, struct moe_error *err)
{
	const cJSON *name;
	size_t n, i = 0;

	if (!cJSON_IsArray(item))
		return moe_fail(err, -EINVAL,
		                "%s: expected an array of strings", path);

	n = array_length(item);
	if (n == 0)
		return moe_fail(err, -EINVAL, "%s: expected at least one name",
		                path);
	if (n > limit)
		return moe_fail(err, -E2BIG,
		                "%s: %zu names, over the limit of %zu", path, n,
		                limit);

	*out = calloc(n, sizeof(**out));
	if (*out == NULL)
		return moe_fail(err, -ENOMEM, "%s: out of memory", path);
	for (name = item->child; name != NULL; name = name->next, i++) {
		if (!cJSON_IsString(name))
			return moe_fail(err, -EINVAL,
			                "%s[%zu]: expected a string", path, i);
		(*out)[i] = name->valuestring;
	}
	*count = n;
	return 0;
}

static int read_header(struct jfile *jf, struct moe_error *err)
{
	const cJSON *format = jf->top[T_FORMAT];
	const cJSON *version = jf->top[T_VERSION];
	const cJSON *dtype = jf->top[T_DTYPE];
	int rc;

	if ((rc = require(format, "format", err)) < 0 ||
	    (rc = require(version, "format_version", err)) < 0)
		return rc;
	if (!cJSON_IsString(format) ||
	    strcmp(format->valuestring, SIGMOE_FORMAT_NAME) != 0)
		return moe_fail(err, -EINVAL, "format: expected \"%s\"",
		                SIGMOE_FORMAT_NAME);
	if (!cJSON_IsNumber(version))
		return moe_fail(err, -EINVAL,
		                "format_version: expected a number");
	if (version->valuedouble != SIGMOE_FORMAT_VERSION)
		return moe_fail(
		    err, -EINVAL,
		    "format_version: version %g is not supported (expected %d)",
		    version->valuedouble, SIGMOE_FORMAT_VERSION);

	jf->spec.dtype = MOE_DTYPE_F64;
	if (dtype != NULL &&
	    (!cJSON_IsString(dtype) ||
	     moe_dtype_from_name(dtype->valuestring, &jf->spec.dtype) < 0))
		return moe_fail(err, -EINVAL,
		                "dtype: expected \"F64\" or \"F32\"");

	if ((rc = read_string(jf->top[T_NAME], "name", &jf->spec.name, err)) <
	    0)
		return rc;
	return read_string(jf->top[T_DESCRIPTION], "description",
	                   &jf->spec.description, err);
}

static int read_gate_settings(struct jfile *jf, struct moe_error *err)
{
	const cJSON *kind = jf->gate[G_KIND], *score = jf->gate[G_SCORE];
	const cJSON *tau = jf->gate[G_TEMPERATURE], *top_k = jf->gate[G_TOP_K];
	struct moe_gate *gate = &jf->spec.gate;

	gate->kind = MOE_GATE_SIGMOID;
	gate->score = MOE_SCORE_INNER;
	gate->temperature = 1.0;
	gate->top_k = 0;

	if (kind != NULL &&
	    (!cJSON_IsString(kind) ||
	     moe_gate_kind_from_name(kind->valuestring, &gate->kind) < 0))
		return moe_fail(
		    err, -EINVAL,
		    "gate.kind: expected \"sigmoid\" or \"softmax\"");
	if (score != NULL &&
	    (!cJSON_IsString(score) ||
	     moe_score_from_name(score->valuestring, &gate->score) < 0))
		return moe_fail(
		    err, -EINVAL,
		    "gate.score: expected \"inner\" or \"euclidean\"");

	if (tau != NULL) {
		if (!cJSON_IsNumber(tau))
			return moe_fail(err, -EINVAL,
			                "gate.temperature: expected a number");
		gate->temperature = tau->valuedouble;
	}
	if (top_k != NULL) {
		double k = cJSON_IsNumber(top_k) ? top_k->valuedouble : -1;

		if (!(k >= 0 && k <= MOE_MAX_EXPERTS + 1.0) || k != floor(k))
			return moe_fail(
			    err, -EINVAL,
			    "gate.top_k: expected a whole number from 0 to the number of experts");
		gate->top_k = (size_t)k;
	}
	return 0;
}

static int read_sections(struct jfile *jf, const cJSON *root,
                         struct moe_error *err)
{
	int rc;

	if (!cJSON_IsObject(root))
		return moe_fail(err, -EINVAL,
		                "expected a JSON object at the top level");
	if ((rc = pick_keys(root, "", top_names, T_COUNT, jf->top, err)) < 0)
		return rc;
	if ((rc = read_header(jf, err)) < 0)
		return rc;

	if ((rc = require(jf->top[T_CLASSES], "classes", err)) < 0 ||
	    (rc = require(jf->top[T_GATE], "gate", err)) < 0 ||
	    (rc = require(jf->top[T_EXPERTS], "experts", err)) < 0)
		return rc;
	if ((rc = pick_keys(jf->top[T_GATE], "gate", gate_names, G_COUNT,
	                    jf->gate, err)) < 0 ||
	    (rc = pick_keys(jf->top[T_EXPERTS], "experts", expert_names,
	                    P_COUNT, jf->experts, err)) < 0)
		return rc;
	if (jf->top[T_STANDARDIZE] != NULL &&
	    (rc = pick_keys(jf->top[T_STANDARDIZE], "standardize",
	                    standardize_names, P_COUNT, jf->standardize, err)) <
	        0)
		return rc;

	if ((rc = require(jf->gate[G_WEIGHT], "gate.weight", err)) < 0 ||
	    (rc = require(jf->gate[G_BIAS], "gate.bias", err)) < 0 ||
	    (rc = require(jf->experts[P_FIRST], "experts.weight", err)) < 0 ||
	    (rc = require(jf->experts[P_SECOND], "experts.bias", err)) < 0)
		return rc;
	if (jf->top[T_STANDARDIZE] != NULL &&
	    ((rc = require(jf->standardize[P_FIRST], "standardize.mean", err)) <
	         0 ||
	     (rc = require(jf->standardize[P_SECOND], "standardize.scale",
	                   err)) < 0))
		return rc;
	return read_gate_settings(jf, err);
}

/* d, E and K from features (or the first gate row), gate.weight, classes */
static int read_dimensions(struct jfile *jf, struct moe_error *err)
{
	const cJSON *weight = jf->gate[G_WEIGHT];
	struct moe_model_spec *spec = &jf->spec;
	int rc;

	rc = read_names(jf->top[T_CLASSES], "classes", MOE_MAX_CLASSES,
	                &jf->classes, &spec->n_classes, err);
	if (rc == 0 && jf->top[T_FEATURES] != NULL)
		rc = read_names(jf->top[T_FEATURES], "features",
		                MOE_MAX_FEATURES, &jf->features,
		                &spec->n_features, err);
	if (rc < 0)
		return rc;

	if (!cJSON_IsArray(weight) || weight->child == NULL)
		return moe_fail(err, -EINVAL,
		                "gate.weight: expected an array of rows");
	spec->n_experts = array_length(weight);
	if (spec->n_experts > MOE_MAX_EXPERTS)
		return moe_fail(
		    err, -E2BIG,
		    "gate.weight: %zu experts, over the limit of %u",
		    spec->n_experts, MOE_MAX_EXPERTS);

	if (jf->features == NULL) {
		if (!cJSON_IsArray(weight->child) ||
		    weight->child->child == NULL)
			return moe_fail(
			    err, -EINVAL,
			    "gate.weight[0]: expected an array of numbers");
		spec->n_features = array_length(weight->child);
		if (spec->n_features > MOE_MAX_FEATURES)
			return moe_fail(
			    err, -E2BIG,
			    "gate.weight[0]: %zu features, over the limit of %u",
			    spec->n_features, MOE_MAX_FEATURES);
	}
	spec->features = jf->features;
	spec->classes = jf->classes;
	return 0;
}

/* ---- reader: values ---- */

/* The least magnitude that rounds to an infinite float: FLT_MAX + ulp/2. */
#define F32_OVERFLOW 0x1.ffffffp127

/* Where values go: block is NULL in the checking pass. */
struct fill {
	enum moe_dtype dtype;
	void *block;
	size_t at; /* next element of block */
};

static int read_vector(struct fill *fill, const cJSON *array, size_t n,
                       const char *path, struct moe_error *err)
{
	const cJSON *item;
	size_t i = 0;
	double v;

	if (!cJSON_IsArray(array))
		return moe_fail(err, -EINVAL,
		                "%s: expected an array of numbers", path);
	if (array_length(array) != n)
		return moe_fail(err, -EINVAL,
		                "%s: expected %zu values, found %zu", path, n,
		                array_length(array));

	for (item = array->child; item != NULL; item = item->next, i++) {
		if (!cJSON_IsNumber(item))
			return moe_fail(err, -EINVAL,
			                "%s[%zu]: expected a number", path, i);
		v = item->valuedouble;
		if (!isfinite(v))
			return moe_fail(err, -EINVAL,
			                "%s[%zu]: not a finite number", path,
			                i);
		if (fill->dtype == MOE_DTYPE_F32 && fabs(v) >= F32_OVERFLOW)
			return moe_fail(
			    err, -EINVAL,
			    "%s[%zu]: %g is out of the range of F32", path, i,
			    v);
		if (fill->block == NULL)
			continue;
		if (fill->dtype == MOE_DTYPE_F32)
			((float *)fill->block)[fill->at++] = (float)v;
		else
			((double *)fill->block)[fill->at++] = v;
	}
	return 0;
}

/* rows x cols; noun names the rows in messages ("rows", "experts"). */
static int read_matrix(struct fill *fill, const cJSON *array, size_t rows,
                       size_t cols, const char *path, const char *noun,
                       struct moe_error *err)
{
	char row_path[96];
	const cJSON *row;
	size_t i = 0;
	int rc;

	if (!cJSON_IsArray(array))
		return moe_fail(err, -EINVAL, "%s: expected an array of %s",
		                path, noun);
	if (array_length(array) != rows)
		return moe_fail(err, -EINVAL, "%s: expected %zu %s, found %zu",
		                path, rows, noun, array_length(array));

	for (row = array->child; row != NULL; row = row->next, i++) {
		snprintf(row_path, sizeof(row_path), "%s[%zu]", path, i);
		if ((rc = read_vector(fill, row, cols, row_path, err)) < 0)
			return rc;
	}
	return 0;
}

static int read_experts(struct fill *fill, const cJSON *array, size_t e,
                        size_t k, size_t d, struct moe_error *err)
{
	char path[96];
	const cJSON *matrix;
	size_t i = 0;
	int rc;

	if (!cJSON_IsArray(array))
		return moe_fail(err, -EINVAL,
		                "experts.weight: expected an array of experts");
	if (array_length(array) != e)
		return moe_fail(
		    err, -EINVAL,
		    "experts.weight: expected %zu experts, found %zu", e,
		    array_length(array));

	for (matrix = array->child; matrix != NULL; matrix = matrix->next) {
		snprintf(path, sizeof(path), "experts.weight[%zu]", i++);
		rc = read_matrix(fill, matrix, k, d, path, "rows", err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * Both passes over the parameters, in the block's order: gate.weight right
 * before experts.weight, so that the forward pass multiplies both in one
 * product without a copy (see struct moe_derived).
 */
static int read_parameters(const struct jfile *jf, struct fill *fill,
                           struct moe_error *err)
{
	const struct moe_model_spec *s = &jf->spec;
	size_t e = s->n_experts, k = s->n_classes, d = s->n_features;
	int rc;

	fill->at = 0;
	rc = read_matrix(fill, jf->gate[G_WEIGHT], e, d, "gate.weight", "rows",
	                 err);
	if (rc == 0)
		rc = read_experts(fill, jf->experts[P_FIRST], e, k, d, err);
	if (rc == 0)
		rc = read_vector(fill, jf->gate[G_BIAS], e, "gate.bias", err);
	if (rc == 0)
		rc = read_matrix(fill, jf->experts[P_SECOND], e, k,
		                 "experts.bias", "experts", err);
	if (rc == 0 && jf->top[T_STANDARDIZE] != NULL)
		rc = read_vector(fill, jf->standardize[P_FIRST], d,
		                 "standardize.mean", err);
	if (rc == 0 && jf->top[T_STANDARDIZE] != NULL)
		rc = read_vector(fill, jf->standardize[P_SECOND], d,
		                 "standardize.scale", err);
	return rc;
}

/* Point the model's params into its block, in read_parameters' order. */
static void point_params(struct moe_model *m, char *block, int standardize)
{
	size_t e = m->n_experts, k = m->n_classes, d = m->n_features;
	size_t size = moe_dtype_size(m->dtype);

	m->params.gate_weight = block;
	block += e * d * size;
	m->params.expert_weight = block;
	block += e * k * d * size;
	m->params.gate_bias = block;
	block += e * size;
	m->params.expert_bias = block;
	block += e * k * size;
	if (standardize) {
		m->params.mean = block;
		m->params.scale = block + d * size;
	}
}

static int parameter_count(const struct moe_model_spec *s, int standardize,
                           size_t *count, struct moe_error *err)
{
	size_t e = s->n_experts, k = s->n_classes, d = s->n_features;
	size_t n;

	/* each factor is within its limit, so nothing here overflows */
	n = e * d + e + e * k * d + e * k + (standardize ? 2 * d : 0);
	if (n > MOE_MAX_PARAMETERS)
		return moe_fail(
		    err, -E2BIG,
		    "the model has %zu parameters, over the limit of %lu", n,
		    MOE_MAX_PARAMETERS);
	*count = n;
	return 0;
}

static int build_model(struct jfile *jf, struct moe_model **out,
                       struct moe_error *err)
{
	int standardize = jf->top[T_STANDARDIZE] != NULL;
	struct fill fill = {.dtype = jf->spec.dtype};
	struct moe_model *model = NULL;
	size_t count = 0, bytes;
	int rc;

	if ((rc = read_parameters(jf, &fill, err)) < 0 ||
	    (rc = parameter_count(&jf->spec, standardize, &count, err)) < 0)
		return rc;
	if ((rc = moe_model_new_shell(&jf->spec, &model, err)) < 0)
		return rc;

	bytes = count * moe_dtype_size(jf->spec.dtype);
	fill.block = malloc(bytes ? bytes : 1);
	if (fill.block == NULL) {
		moe_model_free(model);
		return moe_fail(err, -ENOMEM, "out of memory for %zu bytes",
		                bytes);
	}
	read_parameters(jf, &fill, err);
	model->priv->owned = fill.block;
	model->priv->owned_bytes = bytes;
	point_params(model, fill.block, standardize);

	if ((rc = moe_model_finish(model, err)) < 0) {
		moe_model_free(model);
		return rc;
	}
	model->format = MOE_FORMAT_JSON;
	*out = model;
	return 0;
}

int moe_json_read(const char *text, size_t len, struct moe_model **out,
                  struct moe_error *err)
{
	struct jfile jf;
	cJSON *root;
	int rc;

	if (len > MOE_MAX_JSON_MODEL_BYTES)
		return moe_fail(err, -E2BIG,
		                "%zu bytes of JSON, over the limit of %lu", len,
		                MOE_MAX_JSON_MODEL_BYTES);
	root = moe_json_parse(text, len, NULL, err);
	if (root == NULL)
		return -EINVAL;

	memset(&jf, 0, sizeof(jf));
	rc = read_sections(&jf, root, err);
	if (rc == 0)
		rc = read_dimensions(&jf, err);
	if (rc == 0)
		rc = build_model(&jf, out, err);

	free(jf.features);
	free(jf.classes);
	cJSON_Delete(root);
	return rc;
}

/* ---- writer ---- */

static void put_number(struct moe_buf *buf, double v, enum moe_dtype dtype)
{
	char text[40];

	moe_format_number(text, sizeof(text), v, dtype);
	moe_buf_puts(buf, text);
}

/* "[a, b, c]" from n elements of array starting at element at */
static void put_row(struct moe_buf *buf, const void *array, size_t at, size_t n,
                    enum moe_dtype dtype)
{
	size_t i;

	moe_buf_put(buf, "[", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			moe_buf_put(buf, ", ", 2);
		put_number(buf, moe_param_get(array, at + i, dtype), dtype);
	}
	moe_buf_put(buf, "]", 1);
}

/* rows of n elements, one per line, indented by indent spaces */
static void put_rows(struct moe_buf *buf, const void *array, size_t at,
                     size_t rows, size_t n, enum moe_dtype dtype, int indent)
{
	size_t r;

	moe_buf_puts(buf, "[\n");
	for (r = 0; r < rows; r++) {
		moe_buf_put(buf, "                ", (size_t)indent);
		put_row(buf, array, at + r * n, n, dtype);
		moe_buf_puts(buf, r + 1 < rows ? ",\n" : "\n");
	}
	moe_buf_put(buf, "                ", (size_t)indent - 2);
	moe_buf_put(buf, "]", 1);
}

static void put_names(struct moe_buf *buf, char *const *names, size_t n)
{
	size_t i;

	moe_buf_put(buf, "[", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			moe_buf_put(buf, ", ", 2);
		moe_buf_put_string(buf, names[i]);
	}
	moe_buf_put(buf, "]", 1);
}

static void put_head(struct moe_buf *buf, const struct moe_model *m)
{
	char line[64];

	snprintf(line, sizeof(line), "{\n  \"format\": \"%s\",\n",
	         SIGMOE_FORMAT_NAME);
	moe_buf_puts(buf, line);
	snprintf(line, sizeof(line), "  \"format_version\": %d,\n",
	         SIGMOE_FORMAT_VERSION);
	moe_buf_puts(buf, line);
	moe_buf_puts(buf, "  \"name\": ");
	moe_buf_put_string(buf, m->name);
	moe_buf_puts(buf, ",\n  \"description\": ");
	moe_buf_put_string(buf, m->description);
	if (m->features != NULL) {
		moe_buf_puts(buf, ",\n  \"features\": ");
		put_names(buf, m->features, m->n_features);
	}
	moe_buf_puts(buf, ",\n  \"classes\": ");
	put_names(buf, m->classes, m->n_classes);
	moe_buf_puts(buf, ",\n  \"dtype\": ");
	moe_buf_put_string(buf, moe_dtype_name(m->dtype));
	moe_buf_puts(buf, ",\n");
}

static void put_gate(struct moe_buf *buf, const struct moe_model *m)
{
	char line[64];

	moe_buf_puts(buf, "  \"gate\": {\n    \"kind\": ");
	moe_buf_put_string(buf, moe_gate_kind_name(m->gate.kind));
	moe_buf_puts(buf, ",\n    \"score\": ");
	moe_buf_put_string(buf, moe_score_name(m->gate.score));
	moe_buf_puts(buf, ",\n    \"temperature\": ");
	put_number(buf, m->gate.temperature, MOE_DTYPE_F64);
	snprintf(line, sizeof(line), ",\n    \"top_k\": %zu,\n", m->gate.top_k);
	moe_buf_puts(buf, line);
	moe_buf_puts(buf, "    \"weight\": ");
	put_rows(buf, m->params.gate_weight, 0, m->n_experts, m->n_features,
	         m->dtype, 6);
	moe_buf_puts(buf, ",\n    \"bias\": ");
	put_row(buf, m->params.gate_bias, 0, m->n_experts, m->dtype);
	moe_buf_puts(buf, "\n  },\n");
}

static void put_experts(struct moe_buf *buf, const struct moe_model *m)
{
	size_t e, k = m->n_classes, d = m->n_features;

	moe_buf_puts(buf, "  \"experts\": {\n    \"weight\": [\n");
	for (e = 0; e < m->n_experts; e++) {
		moe_buf_puts(buf, "      ");
		put_rows(buf, m->params.expert_weight, e * k * d, k, d,
		         m->dtype, 8);
		moe_buf_puts(buf, e + 1 < m->n_experts ? ",\n" : "\n");
	}
	moe_buf_puts(buf, "    ],\n    \"bias\": ");
	put_rows(buf, m->params.expert_bias, 0, m->n_experts, k, m->dtype, 6);
	moe_buf_puts(buf, "\n  }\n}\n");
}

int moe_json_write(const struct moe_model *model, struct moe_buf *buf,
                   struct moe_error *err)
{
	size_t e = model->n_experts, k = model->n_classes;
	size_t d = model->n_features;

	/* every number takes at least 3 bytes with its ", ": fail early */
	if (e * (d + 1) * (k + 1) > buf->limit / 3)
		buf->error = -E2BIG;

	put_head(buf, model);
	if (model->params.mean != NULL) {
		moe_buf_puts(buf, "  \"standardize\": {\n    \"mean\": ");
		put_row(buf, model->params.mean, 0, model->n_features,
		        model->dtype);
		moe_buf_puts(buf, ",\n    \"scale\": ");
		put_row(buf, model->params.scale, 0, model->n_features,
		        model->dtype);
		moe_buf_puts(buf, "\n  },\n");
	}
	put_gate(buf, model);
	put_experts(buf, model);

	if (buf->error == -E2BIG)
		return moe_fail(
		    err, -E2BIG,
		    "the model takes more than %zu bytes as JSON, the limit of the reader",
		    buf->limit);
	if (buf->error < 0)
		return moe_fail(err, buf->error, "out of memory");
	return 0;
}
