/* SPDX-License-Identifier: MIT */
/*
 * safetensors.c - the safetensors model format (SPEC 2.2): reader and
 * writer.
 *
 * A file is an 8-byte little-endian header length, a JSON header, and a
 * data area of raw little-endian tensors.  The reader trusts nothing in
 * the header: every tensor must be one of the six known names, have the
 * rank and dimensions the others imply, and occupy exactly its bytes
 * inside the data area without overlapping another.  Tensors aligned for
 * their dtype are used where they lie (in the caller's mapping), the rest
 * are copied into one block the model owns.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"
#include "internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c uses tensor bytes in place: it needs a little-endian host"
#endif

enum tensor_id {
	GATE_WEIGHT,
	GATE_BIAS,
	EXPERT_WEIGHT,
	EXPERT_BIAS,
	MEAN,
	SCALE,
	N_TENSORS
};

/* Also the order in which the writer lays tensors out. */
static const char *const tensor_names[N_TENSORS] = {
    "gate.weight",  "gate.bias",        "experts.weight",
    "experts.bias", "standardize.mean", "standardize.scale",
};
static const size_t tensor_rank[N_TENSORS] = {2, 1, 3, 2, 1, 1};

/*
 * The order of the tensors' bytes, in written files and in the block of
 * copied tensors: gate.weight right before experts.weight, so that the
 * forward pass multiplies both in one product, straight from the mapping
 * (see struct moe_derived).  Mean and scale, optional, come last.
 */
static const enum tensor_id layout_order[N_TENSORS] = {
    GATE_WEIGHT, EXPERT_WEIGHT, GATE_BIAS, EXPERT_BIAS, MEAN, SCALE,
};

enum meta_key {
	M_CLASSES,
	M_DESCRIPTION,
	M_FEATURES,
	M_FORMAT,
	M_VERSION,
	M_KIND,
	M_SCORE,
	M_TEMPERATURE,
	M_TOP_K,
	M_NAME,
	M_COUNT
};

/* Sorted, as the writer writes them. */
static const char *const meta_names[M_COUNT] = {
    "classes",        "description", "features",   "format",
    "format_version", "gate.kind",   "gate.score", "gate.temperature",
    "gate.top_k",     "name",
};

#define MAX_INDEX 9007199254740992.0 /* 2^53: exact in a double */

struct tensor {
	const cJSON *entry; /* NULL when absent */
	enum moe_dtype dtype;
	unsigned long long shape[3];
	unsigned long long begin, end; /* data_offsets */
	size_t count;                  /* elements */
};

struct stfile {
	const unsigned char *area; /* the data area */
	size_t area_len;
	const cJSON *meta[M_COUNT];
	struct tensor t[N_TENSORS];
	struct moe_model_spec spec;
	cJSON *class_tree, *feature_tree;
	const char **classes, **features;
	size_t n_class_names, n_feature_names;
};

/* ---- header: metadata ---- */

static int pick_metadata(struct stfile *st, const cJSON *meta,
                         struct moe_error *err)
{
	const cJSON *item;
	size_t i;

	if (meta == NULL)
		return moe_fail(err, -EINVAL,
		                "__metadata__: required key is missing");
	if (!cJSON_IsObject(meta))
		return moe_fail(err, -EINVAL,
		                "__metadata__: expected an object of strings");

	for (item = meta->child; item != NULL; item = item->next) {
		for (i = 0; i < M_COUNT && strcmp(item->string, meta_names[i]);
		     i++)
			;
		if (i == M_COUNT)
			return moe_fail(err, -EINVAL,
			                "__metadata__.%.64s: unknown key",
			                item->string);
		if (st->meta[i] != NULL)
			return moe_fail(err, -EINVAL,
			                "__metadata__.%s: duplicate key",
			                meta_names[i]);
		if (!cJSON_IsString(item))
			return moe_fail(err, -EINVAL,
			                "__metadata__.%s: expected a string",
			                meta_names[i]);
		st->meta[i] = item;
	}
	return 0;
}

static const char *meta_string(const struct stfile *st, enum meta_key key)
{
	return st->meta[key] ? st->meta[key]->valuestring : NULL;
}

/* A names array encoded as a JSON string ("[\"a\", \"b\"]"). */
static int read_names(const char *text, enum meta_key key, cJSON **tree,
                      const char ***names, size_t *count, struct moe_error *err)
{
	char field[48];
	const cJSON *item;
	size_t n = 0;

	snprintf(field, sizeof(field), "__metadata__.%s", meta_names[key]);
	*tree = moe_json_parse(text, strlen(text), field, err);
	if (*tree == NULL)
		return -EINVAL;
	if (!cJSON_IsArray(*tree))
		return moe_fail(err, -EINVAL,
		                "%s: expected a JSON array of strings", field);

	for (item = (*tree)->child; item != NULL; item = item->next)
		n++;
	*names = calloc(n ? n : 1, sizeof(**names));
	if (*names == NULL)
		return moe_fail(err, -ENOMEM, "%s: out of memory", field);
	for (n = 0, item = (*tree)->child; item; item = item->next, n++) {
		if (!cJSON_IsString(item))
			return moe_fail(err, -EINVAL,
			                "%s[%zu]: expected a string", field, n);
		(*names)[n] = item->valuestring;
	}
	*count = n;
	return 0;
}

/* A number as JSON writes it: no "inf", "nan", hex or white space. */
static int parse_number(const char *s, double *v)
{
	char *end;

	if (s[0] == '\0' || strspn(s, "0123456789+-.eE") != strlen(s))
		return -EINVAL;
	*v = strtod(s, &end);
	return *end == '\0' && isfinite(*v) ? 0 : -EINVAL;
}

static int read_gate_settings(struct stfile *st, struct moe_error *err)
{
	const char *kind = meta_string(st, M_KIND);
	const char *score = meta_string(st, M_SCORE);
	const char *tau = meta_string(st, M_TEMPERATURE);
	const char *top_k = meta_string(st, M_TOP_K);
	struct moe_gate *gate = &st->spec.gate;

	gate->kind = MOE_GATE_SIGMOID;
	gate->score = MOE_SCORE_INNER;
	gate->temperature = 1.0;
	gate->top_k = 0;

	if (kind != NULL && moe_gate_kind_from_name(kind, &gate->kind) < 0)
		return moe_fail(
		    err, -EINVAL,
		    "__metadata__.gate.kind: expected \"sigmoid\" or \"softmax\"");
	if (score != NULL && moe_score_from_name(score, &gate->score) < 0)
		return moe_fail(
		    err, -EINVAL,
		    "__metadata__.gate.score: expected \"inner\" or \"euclidean\"");
	if (tau != NULL && parse_number(tau, &gate->temperature) < 0)
		return moe_fail(
		    err, -EINVAL,
		    "__metadata__.gate.temperature: expected a finite number");
	if (top_k != NULL) {
		if (top_k[0] == '\0' || strlen(top_k) > 9 ||
		    strspn(top_k, "0123456789") != strlen(top_k))
			return moe_fail(
			    err, -EINVAL,
			    "__metadata__.gate.top_k: expected a whole number from 0 to the number of experts");
		gate->top_k = (size_t)strtoul(top_k, NULL, 10);
	}
	return 0;
}

static int read_metadata(struct stfile *st, const cJSON *meta,
                         struct moe_error *err)
{
	const char *format, *version;
	int rc;

	if ((rc = pick_metadata(st, meta, err)) < 0)
		return rc;

	format = meta_string(st, M_FORMAT);
	version = meta_string(st, M_VERSION);
	if (format == NULL || version == NULL || st->meta[M_CLASSES] == NULL)
		return moe_fail(err, -EINVAL,
		                "__metadata__.%s: required key is missing",
		                format == NULL    ? "format"
		                : version == NULL ? "format_version"
		                                  : "classes");
	if (strcmp(format, SIGMOE_FORMAT_NAME) != 0)
		return moe_fail(err, -EINVAL,
		                "__metadata__.format: expected \"%s\"",
		                SIGMOE_FORMAT_NAME);
	if (strcmp(version, "1") != 0)
		return moe_fail(err, -EINVAL,
		                "__metadata__.format_version: expected \"1\"");

	st->spec.name = meta_string(st, M_NAME);
	st->spec.description = meta_string(st, M_DESCRIPTION);
	rc = read_names(meta_string(st, M_CLASSES), M_CLASSES, &st->class_tree,
	                &st->classes, &st->n_class_names, err);
	if (rc == 0 && st->meta[M_FEATURES] != NULL)
		rc = read_names(meta_string(st, M_FEATURES), M_FEATURES,
		                &st->feature_tree, &st->features,
		                &st->n_feature_names, err);
	if (rc < 0)
		return rc;
	return read_gate_settings(st, err);
}

/* ---- header: tensor entries ---- */

static int read_index(const cJSON *item, unsigned long long *out)
{
	double v;

	if (!cJSON_IsNumber(item))
		return -EINVAL;
	v = item->valuedouble;
	if (!(v >= 0 && v <= MAX_INDEX) || v != floor(v))
		return -EINVAL;
	*out = (unsigned long long)v;
	return 0;
}

static int count_items(const cJSON *array)
{
	const cJSON *item;
	int n = 0;

	for (item = array->child; item != NULL; item = item->next)
		n++;
	return n;
}

static int read_shape(struct tensor *t, const char *name, size_t rank,
                      const cJSON *shape, struct moe_error *err)
{
	const cJSON *item;
	size_t i = 0;

	if (!cJSON_IsArray(shape))
		return moe_fail(err, -EINVAL,
		                "%s.shape: expected an array of sizes", name);
	if ((size_t)count_items(shape) != rank)
		return moe_fail(err, -EINVAL,
		                "%s.shape: expected %zu dimensions, found %d",
		                name, rank, count_items(shape));
	for (item = shape->child; item != NULL; item = item->next, i++)
		if (read_index(item, &t->shape[i]) < 0)
			return moe_fail(
			    err, -EINVAL,
			    "%s.shape[%zu]: expected a whole number from 0 to 2^53",
			    name, i);
	return 0;
}

static int read_offsets(struct tensor *t, const char *name,
                        const cJSON *offsets, struct moe_error *err)
{
	if (!cJSON_IsArray(offsets) || count_items(offsets) != 2 ||
	    read_index(offsets->child, &t->begin) < 0 ||
	    read_index(offsets->child->next, &t->end) < 0)
		return moe_fail(
		    err, -EINVAL,
		    "%s.data_offsets: expected [begin, end], two whole numbers from 0 to 2^53",
		    name);
	return 0;
}

static int read_entry(struct stfile *st, enum tensor_id id, const cJSON *entry,
                      struct moe_error *err)
{
	struct tensor *t = &st->t[id];
	const char *name = tensor_names[id];
	const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
	const cJSON **slot, *item;
	int rc;

	if (!cJSON_IsObject(entry))
		return moe_fail(
		    err, -EINVAL,
		    "%s: expected an object with dtype, shape and data_offsets",
		    name);
	for (item = entry->child; item != NULL; item = item->next) {
		if (strcmp(item->string, "dtype") == 0)
			slot = &dtype;
		else if (strcmp(item->string, "shape") == 0)
			slot = &shape;
		else if (strcmp(item->string, "data_offsets") == 0)
			slot = &offsets;
		else
			return moe_fail(err, -EINVAL, "%s.%.64s: unknown key",
			                name, item->string);
		if (*slot != NULL)
			return moe_fail(err, -EINVAL, "%s.%s: duplicate key",
			                name, item->string);
		*slot = item;
	}

	if (dtype == NULL || shape == NULL || offsets == NULL)
		return moe_fail(err, -EINVAL, "%s.%s: required key is missing",
		                name,
		                dtype == NULL   ? "dtype"
		                : shape == NULL ? "shape"
		                                : "data_offsets");
	if (!cJSON_IsString(dtype) ||
	    moe_dtype_from_name(dtype->valuestring, &t->dtype) < 0)
		return moe_fail(err, -EINVAL,
		                "%s.dtype: expected \"F64\" or \"F32\"", name);

	if ((rc = read_shape(t, name, tensor_rank[id], shape, err)) < 0)
		return rc;
	t->entry = entry;
	return read_offsets(t, name, offsets, err);
}

/* Sort the header's members into metadata and the six tensors. */
static int read_members(struct stfile *st, const cJSON *header,
                        struct moe_error *err)
{
	const cJSON *item, *meta = NULL;
	size_t i;
	int rc;

	if (!cJSON_IsObject(header))
		return moe_fail(err, -EINVAL, "header: expected a JSON object");

	for (item = header->child; item != NULL; item = item->next) {
		if (strcmp(item->string, "__metadata__") == 0) {
			if (meta != NULL)
				return moe_fail(err, -EINVAL,
				                "__metadata__: duplicate key");
			meta = item;
			continue;
		}
		for (i = 0;
		     i < N_TENSORS && strcmp(item->string, tensor_names[i]);
		     i++)
			;
		if (i == N_TENSORS)
			return moe_fail(err, -EINVAL, "%.64s: unknown tensor",
			                item->string);
		if (st->t[i].entry != NULL)
			return moe_fail(err, -EINVAL, "%s: duplicate tensor",
			                tensor_names[i]);
		if ((rc = read_entry(st, (enum tensor_id)i, item, err)) < 0)
			return rc;
	}
	return read_metadata(st, meta, err);
}

/* ---- consistency ---- */

static int require_tensors(const struct stfile *st, struct moe_error *err)
{
	size_t i;

	for (i = 0; i <= EXPERT_BIAS; i++)
		if (st->t[i].entry == NULL)
			return moe_fail(err, -EINVAL, "%s: missing tensor",
			                tensor_names[i]);
	if ((st->t[MEAN].entry == NULL) != (st->t[SCALE].entry == NULL))
		return moe_fail(err, -EINVAL,
		                "%s: missing tensor (%s is present)",
		                tensor_names[st->t[MEAN].entry ? SCALE : MEAN],
		                tensor_names[st->t[MEAN].entry ? MEAN : SCALE]);

	for (i = 1; i < N_TENSORS; i++)
		if (st->t[i].entry != NULL &&
		    st->t[i].dtype != st->t[GATE_WEIGHT].dtype)
			return moe_fail(
			    err, -EINVAL,
			    "%s.dtype: %s differs from %s of gate.weight",
			    tensor_names[i], moe_dtype_name(st->t[i].dtype),
			    moe_dtype_name(st->t[GATE_WEIGHT].dtype));
	return 0;
}

static int expect_dim(const struct stfile *st, enum tensor_id id, size_t axis,
                      unsigned long long want, const char *source,
                      struct moe_error *err)
{
	unsigned long long found = st->t[id].shape[axis];

	if (found != want)
		return moe_fail(
		    err, -EINVAL,
		    "%s.shape[%zu]: expected %llu as in %s, found %llu",
		    tensor_names[id], axis, want, source, found);
	return 0;
}

static int check_limits(const unsigned long long *ekd, struct moe_error *err)
{
	if (ekd[0] > MOE_MAX_EXPERTS)
		return moe_fail(
		    err, -E2BIG,
		    "gate.weight.shape[0]: %llu experts, over the limit of %u",
		    ekd[0], MOE_MAX_EXPERTS);
	if (ekd[1] > MOE_MAX_CLASSES)
		return moe_fail(
		    err, -E2BIG,
		    "experts.weight.shape[1]: %llu classes, over the limit of %u",
		    ekd[1], MOE_MAX_CLASSES);
	if (ekd[2] > MOE_MAX_FEATURES)
		return moe_fail(
		    err, -E2BIG,
		    "gate.weight.shape[1]: %llu features, over the limit of %u",
		    ekd[2], MOE_MAX_FEATURES);
	return 0;
}

/* Shapes agree with E and d of gate.weight and K of experts.weight. */
static int check_shapes(struct stfile *st, struct moe_error *err)
{
	unsigned long long e = st->t[GATE_WEIGHT].shape[0];
	unsigned long long d = st->t[GATE_WEIGHT].shape[1];
	unsigned long long k = st->t[EXPERT_WEIGHT].shape[1];
	unsigned long long ekd[3] = {e, k, d};
	int rc;

	if ((rc = expect_dim(st, GATE_BIAS, 0, e, "gate.weight", err)) ||
	    (rc = expect_dim(st, EXPERT_WEIGHT, 0, e, "gate.weight", err)) ||
	    (rc = expect_dim(st, EXPERT_WEIGHT, 2, d, "gate.weight", err)) ||
	    (rc = expect_dim(st, EXPERT_BIAS, 0, e, "gate.weight", err)) ||
	    (rc = expect_dim(st, EXPERT_BIAS, 1, k, "experts.weight", err)))
		return rc;
	if (st->t[MEAN].entry != NULL &&
	    ((rc = expect_dim(st, MEAN, 0, d, "gate.weight", err)) ||
	     (rc = expect_dim(st, SCALE, 0, d, "gate.weight", err))))
		return rc;
	if ((rc = check_limits(ekd, err)) < 0)
		return rc;

	st->t[GATE_WEIGHT].count = (size_t)(e * d);
	st->t[GATE_BIAS].count = (size_t)e;
	st->t[EXPERT_WEIGHT].count = (size_t)(e * k * d);
	st->t[EXPERT_BIAS].count = (size_t)(e * k);
	st->t[MEAN].count = st->t[SCALE].count = (size_t)d;

	st->spec.n_experts = (size_t)e;
	st->spec.n_classes = (size_t)k;
	st->spec.n_features = (size_t)d;
	st->spec.dtype = st->t[GATE_WEIGHT].dtype;
	return 0;
}

/* Tensor i lies inside the data area and has the bytes its shape needs. */
static int check_extent(const struct stfile *st, size_t i,
                        struct moe_error *err)
{
	const struct tensor *t = &st->t[i];
	size_t size = moe_dtype_size(st->spec.dtype);

	if (t->end < t->begin)
		return moe_fail(
		    err, -EINVAL,
		    "%s: data_offsets [%llu, %llu] end before they begin",
		    tensor_names[i], t->begin, t->end);
	if (t->end > st->area_len)
		return moe_fail(
		    err, -EINVAL,
		    "%s: data_offsets [%llu, %llu] exceed the data area of %zu bytes",
		    tensor_names[i], t->begin, t->end, st->area_len);
	if (t->end - t->begin != t->count * size)
		return moe_fail(
		    err, -EINVAL,
		    "%s: data_offsets [%llu, %llu] hold %llu bytes, but %zu %s values take %zu",
		    tensor_names[i], t->begin, t->end, t->end - t->begin,
		    t->count, moe_dtype_name(st->spec.dtype), t->count * size);
	return 0;
}

static int check_offsets(const struct stfile *st, struct moe_error *err)
{
	const struct tensor *t, *u;
	size_t i, j;
	int rc;

	for (i = 0; i < N_TENSORS; i++)
		if (st->t[i].entry != NULL &&
		    (rc = check_extent(st, i, err)) < 0)
			return rc;

	for (i = 0; i < N_TENSORS; i++) {
		for (j = 0; j < i; j++) {
			t = &st->t[i];
			u = &st->t[j];
			if (t->entry == NULL || u->entry == NULL ||
			    t->begin >= u->end || u->begin >= t->end)
				continue;
			return moe_fail(
			    err, -EINVAL,
			    "%s: data_offsets [%llu, %llu] overlap %s [%llu, %llu]",
			    tensor_names[i], t->begin, t->end, tensor_names[j],
			    u->begin, u->end);
		}
	}
	return 0;
}

static int check_names(struct stfile *st, struct moe_error *err)
{
	if (st->n_class_names != st->spec.n_classes)
		return moe_fail(
		    err, -EINVAL,
		    "__metadata__.classes: expected %zu names as in experts.weight, found %zu",
		    st->spec.n_classes, st->n_class_names);
	if (st->features != NULL && st->n_feature_names != st->spec.n_features)
		return moe_fail(
		    err, -EINVAL,
		    "__metadata__.features: expected %zu names as in gate.weight, found %zu",
		    st->spec.n_features, st->n_feature_names);
	st->spec.classes = st->classes;
	st->spec.features = st->features;
	return 0;
}

/* ---- parameters ---- */

static const void **param_slot(struct moe_model *m, enum tensor_id id)
{
	switch (id) {
	case GATE_WEIGHT:
		return &m->params.gate_weight;
	case GATE_BIAS:
		return &m->params.gate_bias;
	case EXPERT_WEIGHT:
		return &m->params.expert_weight;
	case EXPERT_BIAS:
		return &m->params.expert_bias;
	case MEAN:
		return &m->params.mean;
	default:
		return &m->params.scale;
	}
}

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Point params at aligned tensors in place, copy the others. */
static int place_params(const struct stfile *st, struct moe_model *m,
                        int borrow, struct moe_error *err)
{
	size_t size = moe_dtype_size(m->dtype), bytes = 0, at = 0, i, j;
	int in_place[N_TENSORS] = {0};
	char *block;

	for (i = 0; i < N_TENSORS; i++) {
		const unsigned char *src = st->area + st->t[i].begin;

		if (st->t[i].entry == NULL)
			continue;
		in_place[i] = borrow && (uintptr_t)src % size == 0;
		if (!in_place[i])
			bytes += round8(st->t[i].count * size);
		else
			m->mapped = 1;
	}

	block = malloc(bytes ? bytes : 1);
	if (block == NULL)
		return moe_fail(err, -ENOMEM, "out of memory for %zu bytes",
		                bytes);
	m->priv->owned = block;
	m->priv->owned_bytes = bytes;

	for (j = 0; j < N_TENSORS; j++) {
		enum tensor_id id = layout_order[j];
		const unsigned char *src = st->area + st->t[id].begin;
		size_t n = st->t[id].count * size;

		if (st->t[id].entry == NULL)
			continue;
		if (in_place[id]) {
			*param_slot(m, id) = src;
			continue;
		}
		memcpy(block + at, src, n);
		*param_slot(m, id) = block + at;
		at += round8(n);
	}
	return 0;
}

/* ---- reader ---- */

static int read_layout(struct stfile *st, const unsigned char *data, size_t len,
                       cJSON **header, struct moe_error *err)
{
	unsigned long long n = 0;
	int i;

	if (len < 8)
		return moe_fail(
		    err, -EINVAL,
		    "file is %zu bytes, too short for the 8-byte header length",
		    len);
	for (i = 7; i >= 0; i--)
		n = n << 8 | data[i];
	if (n > MOE_MAX_ST_HEADER_BYTES)
		return moe_fail(
		    err, -E2BIG,
		    "header: length %llu is over the limit of %lu bytes", n,
		    MOE_MAX_ST_HEADER_BYTES);
	if (n > len - 8)
		return moe_fail(
		    err, -EINVAL,
		    "header: length %llu runs past the end of the file (%zu bytes)",
		    n, len);

	st->area = data + 8 + n;
	st->area_len = len - 8 - (size_t)n;
	*header =
	    moe_json_parse((const char *)data + 8, (size_t)n, "header", err);
	return *header ? 0 : -EINVAL;
}

static int build_model(struct stfile *st, int borrow, struct moe_model **out,
                       struct moe_error *err)
{
	struct moe_model *model = NULL;
	int rc;

	if ((rc = moe_model_new_shell(&st->spec, &model, err)) < 0)
		return rc;
	rc = place_params(st, model, borrow, err);
	if (rc == 0)
		rc = moe_model_finish(model, err);
	if (rc < 0) {
		moe_model_free(model);
		return rc;
	}
	model->format = MOE_FORMAT_SAFETENSORS;
	*out = model;
	return 0;
}

int moe_st_read(const unsigned char *data, size_t len, int borrow,
                struct moe_model **out, struct moe_error *err)
{
	struct stfile st;
	cJSON *header = NULL;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = read_layout(&st, data, len, &header, err);
	if (rc == 0)
		rc = read_members(&st, header, err);
	if (rc == 0)
		rc = require_tensors(&st, err);
	if (rc == 0)
		rc = check_shapes(&st, err);
	if (rc == 0)
		rc = check_offsets(&st, err);
	if (rc == 0)
		rc = check_names(&st, err);
	if (rc == 0)
		rc = build_model(&st, borrow, out, err);

	free(st.classes);
	free(st.features);
	cJSON_Delete(st.class_tree);
	cJSON_Delete(st.feature_tree);
	cJSON_Delete(header);
	return rc;
}

/* ---- writer ---- */

static void put_names_string(struct moe_buf *buf, char *const *names, size_t n)
{
	struct moe_buf inner = {.limit = MOE_MAX_ST_HEADER_BYTES};
	size_t i;

	moe_buf_put(&inner, "[", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			moe_buf_put(&inner, ",", 1);
		moe_buf_put_string(&inner, names[i]);
	}
	moe_buf_put(&inner, "]", 2); /* with the terminating NUL */

	if (inner.error)
		buf->error = buf->error ? buf->error : inner.error;
	else
		moe_buf_put_string(buf, inner.data);
	free(inner.data);
}

static void put_meta(struct moe_buf *buf, enum meta_key key, int first)
{
	if (!first)
		moe_buf_put(buf, ",", 1);
	moe_buf_put_string(buf, meta_names[key]);
	moe_buf_put(buf, ":", 1);
}

static void put_metadata(struct moe_buf *buf, const struct moe_model *m)
{
	char text[40];

	moe_buf_puts(buf, "{\"__metadata__\":{");
	put_meta(buf, M_CLASSES, 1);
	put_names_string(buf, m->classes, m->n_classes);
	put_meta(buf, M_DESCRIPTION, 0);
	moe_buf_put_string(buf, m->description);
	if (m->features != NULL) {
		put_meta(buf, M_FEATURES, 0);
		put_names_string(buf, m->features, m->n_features);
	}
	put_meta(buf, M_FORMAT, 0);
	moe_buf_put_string(buf, SIGMOE_FORMAT_NAME);
	put_meta(buf, M_VERSION, 0);
	snprintf(text, sizeof(text), "%d", SIGMOE_FORMAT_VERSION);
	moe_buf_put_string(buf, text);
	put_meta(buf, M_KIND, 0);
	moe_buf_put_string(buf, moe_gate_kind_name(m->gate.kind));
	put_meta(buf, M_SCORE, 0);
	moe_buf_put_string(buf, moe_score_name(m->gate.score));
	put_meta(buf, M_TEMPERATURE, 0);
	moe_format_number(text, sizeof(text), m->gate.temperature,
	                  MOE_DTYPE_F64);
	moe_buf_put_string(buf, text);
	put_meta(buf, M_TOP_K, 0);
	snprintf(text, sizeof(text), "%zu", m->gate.top_k);
	moe_buf_put_string(buf, text);
	put_meta(buf, M_NAME, 0);
	moe_buf_put_string(buf, m->name);
	moe_buf_put(buf, "}", 1);
}

/* The model's tensors: their arrays and shapes, in the writer's order. */
static size_t model_tensors(const struct moe_model *m,
                            const void *arrays[N_TENSORS],
                            size_t shapes[N_TENSORS][3])
{
	size_t e = m->n_experts, k = m->n_classes, d = m->n_features;
	size_t table[N_TENSORS][3] = {
	    {e, d, 0}, {e, 0, 0}, {e, k, d}, {e, k, 0}, {d, 0, 0}, {d, 0, 0},
	};

	arrays[GATE_WEIGHT] = m->params.gate_weight;
	arrays[GATE_BIAS] = m->params.gate_bias;
	arrays[EXPERT_WEIGHT] = m->params.expert_weight;
	arrays[EXPERT_BIAS] = m->params.expert_bias;
	arrays[MEAN] = m->params.mean;
	arrays[SCALE] = m->params.scale;
	memcpy(shapes, table, sizeof(table));
	return m->params.mean != NULL ? N_TENSORS : MEAN;
}

static size_t element_count(const size_t *shape, size_t rank)
{
	size_t n = 1, i;

	for (i = 0; i < rank; i++)
		n *= shape[i];
	return n;
}

static void put_header(struct moe_buf *buf, const struct moe_model *m)
{
	const void *arrays[N_TENSORS];
	size_t shapes[N_TENSORS][3], n, at = 0, j, k;
	size_t size = moe_dtype_size(m->dtype);
	char text[96];

	n = model_tensors(m, arrays, shapes);
	put_metadata(buf, m);
	for (k = 0; k < n; k++) {
		enum tensor_id i = layout_order[k];
		size_t bytes = element_count(shapes[i], tensor_rank[i]) * size;

		moe_buf_put(buf, ",", 1);
		moe_buf_put_string(buf, tensor_names[i]);
		snprintf(text, sizeof(text), ":{\"dtype\":\"%s\",\"shape\":[",
		         moe_dtype_name(m->dtype));
		moe_buf_puts(buf, text);
		for (j = 0; j < tensor_rank[i]; j++) {
			snprintf(text, sizeof(text), "%s%zu", j ? "," : "",
			         shapes[i][j]);
			moe_buf_puts(buf, text);
		}
		snprintf(text, sizeof(text), "],\"data_offsets\":[%zu,%zu]}",
		         at, at + bytes);
		moe_buf_puts(buf, text);
		at += bytes;
	}
	moe_buf_put(buf, "}", 1);

	/* spaces so that the data area starts 8-byte aligned */
	while (buf->error == 0 && (8 + buf->len) % 8 != 0)
		moe_buf_put(buf, " ", 1);
}

static void put_data(struct moe_buf *buf, const struct moe_model *m)
{
	const void *arrays[N_TENSORS];
	size_t shapes[N_TENSORS][3], n, k;
	size_t size = moe_dtype_size(m->dtype);

	n = model_tensors(m, arrays, shapes);
	for (k = 0; k < n; k++) {
		enum tensor_id i = layout_order[k];

		moe_buf_put(buf, arrays[i],
		            element_count(shapes[i], tensor_rank[i]) * size);
	}
}

int moe_st_write(const struct moe_model *model, struct moe_buf *buf,
                 struct moe_error *err)
{
	struct moe_buf header = {.limit = MOE_MAX_ST_HEADER_BYTES};
	unsigned char length[8];
	uint64_t n;
	int i, rc;

	put_header(&header, model);
	if (header.error == 0) {
		for (n = header.len, i = 0; i < 8; i++, n >>= 8)
			length[i] = (unsigned char)(n & 0xff);
		moe_buf_put(buf, length, sizeof(length));
		moe_buf_put(buf, header.data, header.len);
		put_data(buf, model);
	}
	rc = header.error ? header.error : buf->error;
	free(header.data);

	if (rc == -E2BIG)
		return moe_fail(
		    err, rc,
		    "the model does not fit the safetensors limits (%lu header bytes, %zu file bytes)",
		    MOE_MAX_ST_HEADER_BYTES, buf->limit);
	if (rc < 0)
		return moe_fail(err, rc, "out of memory");
	return 0;
}
