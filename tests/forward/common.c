/* SPDX-License-Identifier: MIT */
/*
 * common.c - see common.h.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "internal.h"
#include "test_support.h"

cJSON *tf_load_json(const char *name)
{
	const char *dir = getenv("SIGMOE_TEST_DATA");
	char path[4096];
	char *text;
	cJSON *json;

	ck_assert_msg(dir != NULL, "SIGMOE_TEST_DATA is not set");
	snprintf(path, sizeof(path), "%s/forward/%s", dir, name);
	text = ts_read_file(path, NULL);
	json = cJSON_Parse(text);
	free(text);
	ck_assert_msg(json != NULL, "%s: not JSON", path);
	return json;
}

double *tf_doubles(const cJSON *obj, const char *key, size_t *len)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
	const cJSON *item;
	double *out;
	size_t i = 0;

	*len = 0;
	if (arr == NULL || cJSON_IsNull(arr))
		return NULL;
	ck_assert_msg(cJSON_IsArray(arr), "%s: not an array", key);
	*len = (size_t)cJSON_GetArraySize(arr);
	out = malloc((*len + 1) * sizeof(double));
	ck_assert_ptr_nonnull(out);
	cJSON_ArrayForEach(item, arr)
	{
		ck_assert_msg(cJSON_IsNumber(item), "%s[%zu]: not a number",
		              key, i);
		out[i++] = item->valuedouble;
	}
	return out;
}

static size_t member_size(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	ck_assert_msg(cJSON_IsNumber(v), "%s: not a number", key);
	return (size_t)v->valuedouble;
}

static const char *member_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	ck_assert_msg(cJSON_IsString(v), "%s: not a string", key);
	return v->valuestring;
}

struct moe_model *tf_case_model(const cJSON *c)
{
	static const char *const classes[] = {"c0", "c1", "c2", "c3",
	                                      "c4", "c5", "c6", "c7"};
	const cJSON *gate = cJSON_GetObjectItemCaseSensitive(c, "gate");
	struct moe_model_spec spec = {0};
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};
	double *arrays[6];
	size_t len;
	int r;

	spec.name = member_string(c, "name");
	spec.dtype = strcmp(member_string(c, "dtype"), "F32") == 0
	                 ? MOE_DTYPE_F32
	                 : MOE_DTYPE_F64;
	spec.n_features = member_size(c, "d");
	spec.n_experts = member_size(c, "E");
	spec.n_classes = member_size(c, "K");
	ck_assert_uint_le(spec.n_classes, 8);
	spec.classes = classes;
	spec.gate.kind = strcmp(member_string(gate, "kind"), "softmax") == 0
	                     ? MOE_GATE_SOFTMAX
	                     : MOE_GATE_SIGMOID;
	spec.gate.score = strcmp(member_string(gate, "score"), "euclidean") == 0
	                      ? MOE_SCORE_EUCLIDEAN
	                      : MOE_SCORE_INNER;
	spec.gate.temperature =
	    cJSON_GetObjectItemCaseSensitive(gate, "temperature")->valuedouble;
	spec.gate.top_k = member_size(gate, "top_k");

	spec.gate_weight = arrays[0] = tf_doubles(c, "gate_weight", &len);
	spec.gate_bias = arrays[1] = tf_doubles(c, "gate_bias", &len);
	spec.expert_weight = arrays[2] = tf_doubles(c, "expert_weight", &len);
	spec.expert_bias = arrays[3] = tf_doubles(c, "expert_bias", &len);
	spec.mean = arrays[4] = tf_doubles(c, "mean", &len);
	spec.scale = arrays[5] = tf_doubles(c, "scale", &len);

	r = moe_model_create(&spec, &m, &err);
	ck_assert_msg(r == 0, "%s: %s", spec.name, err.message);
	for (int i = 0; i < 6; i++)
		free(arrays[i]);
	return m;
}

void tf_output_alloc(struct moe_output *out, const struct moe_model *m,
                     size_t n)
{
	size_t e = m->n_experts, k = m->n_classes;

	out->probabilities = calloc(n * k, sizeof(double));
	out->labels = calloc(n, sizeof(size_t));
	out->activations = calloc(n * e, sizeof(double));
	out->weights = calloc(n * e, sizeof(double));
	out->top_expert = calloc(n, sizeof(size_t));
	out->expert_probabilities = calloc(n * e * k, sizeof(double));
	ck_assert(out->probabilities && out->labels && out->activations &&
	          out->weights && out->top_expert && out->expert_probabilities);
}

void tf_output_free(struct moe_output *out)
{
	free(out->probabilities);
	free(out->labels);
	free(out->activations);
	free(out->weights);
	free(out->top_expert);
	free(out->expert_probabilities);
}

/* A copy of m whose tensors lie in one block in the order of the enum,
 * with gate.bias between the two slopes. */
static struct moe_model *clone_apart(const struct moe_model *m)
{
	struct moe_model_spec spec = {
	    .name = m->name,
	    .dtype = m->dtype,
	    .n_features = m->n_features,
	    .n_experts = m->n_experts,
	    .n_classes = m->n_classes,
	    .gate = m->gate,
	    .classes = (const char *const *)m->classes,
	};
	size_t size = moe_dtype_size(m->dtype), total = 0, at = 0;
	const void **slots[MOE_TENSOR_COUNT];
	struct moe_model *c = NULL;
	struct moe_error err;
	char *block;

	ck_assert_int_eq(moe_model_new_shell(&spec, &c, &err), 0);
	for (int t = 0; t < MOE_TENSOR_COUNT; t++)
		total += moe_tensor_count(m, t) * size;
	block = malloc(total);
	ck_assert_ptr_nonnull(block);
	c->priv->owned = block;
	c->priv->owned_bytes = total;

	slots[MOE_TENSOR_GATE_WEIGHT] = &c->params.gate_weight;
	slots[MOE_TENSOR_GATE_BIAS] = &c->params.gate_bias;
	slots[MOE_TENSOR_EXPERT_WEIGHT] = &c->params.expert_weight;
	slots[MOE_TENSOR_EXPERT_BIAS] = &c->params.expert_bias;
	slots[MOE_TENSOR_MEAN] = &c->params.mean;
	slots[MOE_TENSOR_SCALE] = &c->params.scale;
	for (int t = 0; t < MOE_TENSOR_COUNT; t++) {
		size_t bytes = moe_tensor_count(m, t) * size;

		if (bytes == 0)
			continue;
		memcpy(block + at, moe_tensor_data(m, t), bytes);
		*slots[t] = block + at;
		at += bytes;
	}
	ck_assert_int_eq(moe_model_finish(c, &err), 0);
	return c;
}

struct moe_model *tf_relayout(struct moe_model *m, enum tf_layout layout)
{
	struct moe_derived *dv = m->priv->derived;
	struct moe_model *c;

	switch (layout) {
	case TF_LAYOUT_CREATED:
		ck_assert_ptr_eq(dv->slopes, m->params.gate_weight);
		return m;
	case TF_LAYOUT_APART:
		c = clone_apart(m);
		moe_model_free(m);
		dv = c->priv->derived;
		ck_assert_ptr_nonnull(dv->slopes);
		ck_assert_ptr_ne(dv->slopes, c->params.gate_weight);
		return c;
	case TF_LAYOUT_TWO_PRODUCTS:
		dv->slopes = NULL;
		return m;
	}
	return m;
}
