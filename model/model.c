/* SPDX-License-Identifier: MIT */
/*
 * model.c - the model object: validating and copying metadata, checking
 * parameter values, building a model from a spec, converting between
 * dtypes and freeing.
 *
 * Every loader goes through moe_model_new_shell() and moe_model_finish(),
 * so that a model built from a JSON file, a safetensors file or a spec is
 * held to the same rules (SPEC 2.3).
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

const char *moe_dtype_name(enum moe_dtype dtype)
{
	switch (dtype) {
	case MOE_DTYPE_F64:
		return "F64";
	case MOE_DTYPE_F32:
		return "F32";
	}
	return "unknown";
}

const char *moe_gate_kind_name(enum moe_gate_kind kind)
{
	switch (kind) {
	case MOE_GATE_SIGMOID:
		return "sigmoid";
	case MOE_GATE_SOFTMAX:
		return "softmax";
	}
	return "unknown";
}

const char *moe_score_name(enum moe_score score)
{
	switch (score) {
	case MOE_SCORE_INNER:
		return "inner";
	case MOE_SCORE_EUCLIDEAN:
		return "euclidean";
	}
	return "unknown";
}

const char *moe_format_name(enum moe_format format)
{
	switch (format) {
	case MOE_FORMAT_JSON:
		return "json";
	case MOE_FORMAT_SAFETENSORS:
		return "safetensors";
	}
	return "unknown";
}

size_t moe_dtype_size(enum moe_dtype dtype)
{
	return dtype == MOE_DTYPE_F32 ? sizeof(float) : sizeof(double);
}

const char *moe_tensor_name(enum moe_tensor tensor)
{
	static const char *const names[MOE_TENSOR_COUNT] = {
	    "gate.weight",  "gate.bias",        "experts.weight",
	    "experts.bias", "standardize.mean", "standardize.scale",
	};

	if ((unsigned)tensor >= MOE_TENSOR_COUNT)
		return "unknown";
	return names[tensor];
}

size_t moe_tensor_shape(const struct moe_model *model, enum moe_tensor tensor,
                        size_t shape[3])
{
	size_t d = model->n_features, e = model->n_experts;
	size_t k = model->n_classes;

	switch (tensor) {
	case MOE_TENSOR_GATE_WEIGHT:
		shape[0] = e;
		shape[1] = d;
		return 2;
	case MOE_TENSOR_GATE_BIAS:
		shape[0] = e;
		return 1;
	case MOE_TENSOR_EXPERT_WEIGHT:
		shape[0] = e;
		shape[1] = k;
		shape[2] = d;
		return 3;
	case MOE_TENSOR_EXPERT_BIAS:
		shape[0] = e;
		shape[1] = k;
		return 2;
	default:
		shape[0] = d;
		return 1;
	}
}

size_t moe_tensor_count(const struct moe_model *model, enum moe_tensor tensor)
{
	size_t shape[3], rank, count = 1;

	if ((tensor == MOE_TENSOR_MEAN || tensor == MOE_TENSOR_SCALE) &&
	    model->params.mean == NULL && model->params.scale == NULL)
		return 0;

	rank = moe_tensor_shape(model, tensor, shape);
	for (size_t i = 0; i < rank; i++)
		count *= shape[i];
	return count;
}

const void *moe_tensor_data(const struct moe_model *model,
                            enum moe_tensor tensor)
{
	const struct moe_params *p = &model->params;

	switch (tensor) {
	case MOE_TENSOR_GATE_WEIGHT:
		return p->gate_weight;
	case MOE_TENSOR_GATE_BIAS:
		return p->gate_bias;
	case MOE_TENSOR_EXPERT_WEIGHT:
		return p->expert_weight;
	case MOE_TENSOR_EXPERT_BIAS:
		return p->expert_bias;
	case MOE_TENSOR_MEAN:
		return p->mean;
	case MOE_TENSOR_SCALE:
		return p->scale;
	default:
		return NULL;
	}
}

/* Writes "gate.weight[1][2]" for the flat index i of a tensor. */
static void element_name(const struct moe_model *model, enum moe_tensor t,
                         size_t i, char *buf, size_t len)
{
	size_t shape[3], idx[3], rank;
	int n;

	rank = moe_tensor_shape(model, t, shape);
	for (size_t r = rank; r-- > 0;) {
		idx[r] = i % shape[r];
		i /= shape[r];
	}

	n = snprintf(buf, len, "%s", moe_tensor_name(t));
	for (size_t r = 0; r < rank && n > 0 && (size_t)n < len; r++)
		n += snprintf(buf + n, len - n, "[%zu]", idx[r]);
}

static char *dup_text(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static void free_names(char **names, size_t n)
{
	if (names == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void moe_model_free(struct moe_model *model)
{
	struct moe_model_private *priv;

	if (model == NULL)
		return;

	priv = model->priv;
	if (priv != NULL) {
		free(priv->owned);
		if (priv->map != NULL)
			munmap(priv->map, priv->map_bytes);
		free(priv->derived);
		free(priv);
	}

	free_names(model->features, model->n_features);
	free_names(model->classes, model->n_classes);
	free(model->name);
	free(model->description);
	free(model);
}

static int check_dim(size_t value, size_t min, size_t max, const char *what,
                     struct moe_error *err)
{
	if (value >= min && value <= max)
		return 0;
	return moe_fail(err, value > max ? -E2BIG : -EINVAL,
	                "%s: %zu, must be between %zu and %zu", what, value,
	                min, max);
}

static int check_dims(const struct moe_model_spec *spec, struct moe_error *err)
{
	uint64_t d = spec->n_features, e = spec->n_experts;
	uint64_t k = spec->n_classes, total;
	int r;

	r = check_dim(spec->n_features, 1, MOE_MAX_FEATURES, "features (d)",
	              err);
	if (r == 0)
		r = check_dim(spec->n_experts, 1, MOE_MAX_EXPERTS,
		              "experts (E)", err);
	if (r == 0)
		r = check_dim(spec->n_classes, 2, MOE_MAX_CLASSES,
		              "classes (K)", err);
	if (r < 0)
		return r;

	/* Within the limits above none of these products overflows. */
	total = e * k * d + e * d + e * k + e + 2 * d;
	if (total > MOE_MAX_PARAMETERS)
		return moe_fail(
		    err, -E2BIG,
		    "model has %llu parameters, more than the limit of %llu",
		    (unsigned long long)total,
		    (unsigned long long)MOE_MAX_PARAMETERS);
	return 0;
}

static int check_gate(const struct moe_model_spec *spec, struct moe_error *err)
{
	const struct moe_gate *g = &spec->gate;

	if (spec->dtype != MOE_DTYPE_F64 && spec->dtype != MOE_DTYPE_F32)
		return moe_fail(err, -EINVAL, "dtype: must be F64 or F32");
	if (g->kind != MOE_GATE_SIGMOID && g->kind != MOE_GATE_SOFTMAX)
		return moe_fail(err, -EINVAL,
		                "gate.kind: must be sigmoid or softmax");
	if (g->score != MOE_SCORE_INNER && g->score != MOE_SCORE_EUCLIDEAN)
		return moe_fail(err, -EINVAL,
		                "gate.score: must be inner or euclidean");
	if (!isfinite(g->temperature) || g->temperature <= 0)
		return moe_fail(
		    err, -EINVAL,
		    "gate.temperature: must be a finite number > 0, got %g",
		    g->temperature);
	if (g->top_k > spec->n_experts)
		return moe_fail(err, -EINVAL,
		                "gate.top_k: %zu is more than the %zu experts",
		                g->top_k, spec->n_experts);
	return 0;
}

struct name_ref {
	const char *name;
	size_t index;
};

static int cmp_name_ref(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Finds the lowest index whose name repeats an earlier one, by sorting
 * (name, index) pairs: O(n log n), since d may be a million.  Returns
 * 0 and sets *dup (n when there is none) or -ENOMEM.
 */
static int find_duplicate(const char *const *names, size_t n, size_t *dup)
{
	struct name_ref *refs;

	refs = malloc(n * sizeof(*refs));
	if (refs == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct name_ref){names[i], i};
	qsort(refs, n, sizeof(*refs), cmp_name_ref);

	*dup = n;
	for (size_t i = 1; i < n; i++) {
		if (strcmp(refs[i].name, refs[i - 1].name) == 0 &&
		    refs[i].index < *dup)
			*dup = refs[i].index;
	}
	free(refs);
	return 0;
}

static int check_names(const char *const *names, size_t n, const char *what,
                       struct moe_error *err)
{
	size_t dup;

	if (names == NULL)
		return moe_fail(err, -EINVAL, "%s: missing", what);

	for (size_t i = 0; i < n; i++) {
		if (names[i] == NULL || names[i][0] == '\0')
			return moe_fail(err, -EINVAL, "%s[%zu]: empty name",
			                what, i);
		if (strlen(names[i]) > MOE_MAX_NAME_BYTES)
			return moe_fail(err, -E2BIG,
			                "%s[%zu]: name longer than %u bytes",
			                what, i, MOE_MAX_NAME_BYTES);
	}

	if (find_duplicate(names, n, &dup) < 0)
		return moe_fail(err, -ENOMEM, "out of memory");
	if (dup < n)
		return moe_fail(err, -EINVAL, "%s[%zu]: duplicate name '%s'",
		                what, dup, names[dup]);
	return 0;
}

static int check_text(const char *s, const char *what, struct moe_error *err)
{
	if (s != NULL && strlen(s) > MOE_MAX_TEXT_BYTES)
		return moe_fail(err, -E2BIG, "%s: longer than %u bytes", what,
		                MOE_MAX_TEXT_BYTES);
	return 0;
}

static char **copy_names(const char *const *names, size_t n)
{
	char **copy = calloc(n, sizeof(*copy));

	if (copy == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(names[i]);
		if (copy[i] == NULL) {
			free_names(copy, n);
			return NULL;
		}
	}
	return copy;
}

static int validate_spec(const struct moe_model_spec *spec,
                         struct moe_error *err)
{
	int r;

	r = check_dims(spec, err);
	if (r == 0)
		r = check_gate(spec, err);
	if (r == 0)
		r = check_names(spec->classes, spec->n_classes, "classes", err);
	if (r == 0 && spec->features != NULL)
		r = check_names(spec->features, spec->n_features, "features",
		                err);
	if (r == 0)
		r = check_text(spec->name, "name", err);
	if (r == 0)
		r = check_text(spec->description, "description", err);
	return r;
}

int moe_model_new_shell(const struct moe_model_spec *spec,
                        struct moe_model **out, struct moe_error *err)
{
	struct moe_model *m;
	int r;

	r = validate_spec(spec, err);
	if (r < 0)
		return r;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return moe_fail(err, -ENOMEM, "out of memory");
	m->dtype = spec->dtype;
	m->n_features = spec->n_features;
	m->n_experts = spec->n_experts;
	m->n_classes = spec->n_classes;
	m->gate = spec->gate;

	m->priv = calloc(1, sizeof(*m->priv));
	m->name = dup_text(spec->name);
	m->description = dup_text(spec->description);
	m->classes = copy_names(spec->classes, spec->n_classes);
	if (spec->features != NULL)
		m->features = copy_names(spec->features, spec->n_features);
	if (m->priv == NULL || m->name == NULL || m->description == NULL ||
	    m->classes == NULL ||
	    (spec->features != NULL && m->features == NULL)) {
		moe_model_free(m);
		return moe_fail(err, -ENOMEM, "out of memory");
	}

	*out = m;
	return 0;
}

static double value_at(const void *data, enum moe_dtype dtype, size_t i)
{
	if (dtype == MOE_DTYPE_F32)
		return ((const float *)data)[i];
	return ((const double *)data)[i];
}

static int check_values(const struct moe_model *model, struct moe_error *err)
{
	char where[128];

	for (int t = 0; t < MOE_TENSOR_COUNT; t++) {
		const void *data = moe_tensor_data(model, t);
		size_t n = moe_tensor_count(model, t);

		if (n > 0 && data == NULL)
			return moe_fail(err, -EINVAL, "%s: missing",
			                moe_tensor_name(t));

		for (size_t i = 0; i < n; i++) {
			double v = value_at(data, model->dtype, i);
			const char *bad = NULL;

			if (!isfinite(v))
				bad = "not a finite number";
			else if (t == MOE_TENSOR_SCALE && v == 0)
				bad = "must not be 0";
			if (bad == NULL)
				continue;
			element_name(model, t, i, where, sizeof(where));
			return moe_fail(err, -EINVAL, "%s: %s", where, bad);
		}
	}
	return 0;
}

/* The gate's biases and squared norms, and the experts' biases, in double. */
static void fill_doubles(const struct moe_model *model, double *gb,
                         double *norm2, double *eb)
{
	size_t d = model->n_features, e = model->n_experts;
	size_t ek = e * model->n_classes;

	for (size_t i = 0; i < e; i++) {
		double s = 0;

		gb[i] = value_at(model->params.gate_bias, model->dtype, i);
		for (size_t j = 0; j < d; j++) {
			double w = value_at(model->params.gate_weight,
			                    model->dtype, i * d + j);
			s += w * w;
		}
		norm2[i] = s;
	}
	for (size_t i = 0; i < ek; i++)
		eb[i] = value_at(model->params.expert_bias, model->dtype, i);
}

/*
 * The standardization as a center and a reciprocal scale in the doubles
 * at at ([2][d]), so that the forward pass multiplies instead of
 * dividing; NULL pointers when the model has none.
 */
static void fill_standardize(const struct moe_model *model,
                             struct moe_derived *dv, double *at)
{
	size_t d = model->n_features;

	dv->center = dv->inv_scale = NULL;
	if (model->params.mean == NULL)
		return;
	for (size_t j = 0; j < d; j++) {
		at[j] = value_at(model->params.mean, model->dtype, j);
		at[d + j] =
		    1.0 / value_at(model->params.scale, model->dtype, j);
	}
	dv->center = at;
	dv->inv_scale = at + d;
}

/*
 * Fills priv->derived (struct moe_derived): the doubles, and the slopes
 * as one matrix when they are adjacent or small enough to copy.
 */
static int compute_derived(struct moe_model *model)
{
	size_t d = model->n_features, e = model->n_experts;
	size_t ek = e * model->n_classes, size = moe_dtype_size(model->dtype);
	size_t gate_bytes = e * d * size, expert_bytes = ek * d * size;
	const char *gw = model->params.gate_weight;
	const char *ew = model->params.expert_weight;
	int adjacent = gw + gate_bytes == ew;
	size_t sd = model->params.mean != NULL ? d : 0, copy = 0;
	struct moe_derived *dv;
	double *gb;

	/* A mapped file is never copied: it gets two products instead. */
	if (!adjacent && !model->mapped &&
	    gate_bytes + expert_bytes <= MOE_MAX_FUSED_COPY_BYTES)
		copy = gate_bytes + expert_bytes;

	dv =
	    malloc(sizeof(*dv) + (2 * e + ek + 2 * sd) * sizeof(double) + copy);
	if (dv == NULL)
		return -ENOMEM;
	gb = (double *)(dv + 1);
	fill_doubles(model, gb, gb + e, gb + 2 * e);
	dv->gate_bias = gb;
	dv->gate_norm2 = gb + e;
	dv->expert_bias = gb + 2 * e;
	fill_standardize(model, dv, gb + 2 * e + ek);

	dv->slopes = adjacent ? (const void *)gw : NULL;
	if (copy > 0) {
		char *slopes = (char *)(gb + 2 * e + ek + 2 * sd);

		memcpy(slopes, gw, gate_bytes);
		memcpy(slopes + gate_bytes, ew, expert_bytes);
		dv->slopes = slopes;
	}

	free(model->priv->derived);
	model->priv->derived = dv;
	return 0;
}

int moe_model_finish(struct moe_model *model, struct moe_error *err)
{
	int r;

	if ((model->params.mean == NULL) != (model->params.scale == NULL))
		return moe_fail(err, -EINVAL,
		                "standardize: needs both mean and scale");

	r = check_values(model, err);
	if (r < 0)
		return r;

	if (compute_derived(model) < 0)
		return moe_fail(err, -ENOMEM, "out of memory");
	return 0;
}

/*
 * Gives model one owned block holding every tensor of its dtype and
 * points model->params into it.
 */
static int alloc_params(struct moe_model *model, int standardize)
{
	size_t size = moe_dtype_size(model->dtype), total = 0;
	size_t d = model->n_features, e = model->n_experts;
	size_t k = model->n_classes;
	/* The slopes first and side by side: one matrix for the forward
	 * pass's product (struct moe_derived). */
	size_t counts[MOE_TENSOR_COUNT] = {
	    e * d, e * k * d,           e,
	    e * k, standardize ? d : 0, standardize ? d : 0,
	};
	const void **slots[MOE_TENSOR_COUNT] = {
	    &model->params.gate_weight, &model->params.expert_weight,
	    &model->params.gate_bias,   &model->params.expert_bias,
	    &model->params.mean,        &model->params.scale,
	};
	char *block;

	for (int t = 0; t < MOE_TENSOR_COUNT; t++)
		total += counts[t];

	block = malloc(total * size);
	if (block == NULL)
		return -ENOMEM;
	model->priv->owned = block;
	model->priv->owned_bytes = total * size;

	for (int t = 0; t < MOE_TENSOR_COUNT; t++) {
		*slots[t] = counts[t] > 0 ? block : NULL;
		block += counts[t] * size;
	}
	return 0;
}

/*
 * Copies n values of one tensor into dst of dtype.  A finite value that
 * does not fit in a float is an error naming the element; non-finite
 * values are left for moe_model_finish to report.
 */
static int store_values(const struct moe_model *model, enum moe_tensor t,
                        const void *src, enum moe_dtype src_dtype, void *dst,
                        struct moe_error *err)
{
	size_t n = moe_tensor_count(model, t);
	char where[128];

	for (size_t i = 0; i < n; i++) {
		double v = value_at(src, src_dtype, i);
		float f;

		if (model->dtype == MOE_DTYPE_F64) {
			((double *)dst)[i] = v;
			continue;
		}
		f = (float)v;
		if (isinf(f) && isfinite(v)) {
			element_name(model, t, i, where, sizeof(where));
			return moe_fail(err, -EINVAL,
			                "%s: %g does not fit in F32", where, v);
		}
		((float *)dst)[i] = f;
	}
	return 0;
}

/* Fills a new shell's parameters from sources of src_dtype, then checks. */
static int fill_params(struct moe_model *model, const void *const src[],
                       enum moe_dtype src_dtype, struct moe_error *err)
{
	int r;

	if (alloc_params(model, src[MOE_TENSOR_MEAN] != NULL) < 0)
		return moe_fail(err, -ENOMEM, "out of memory");

	for (int t = 0; t < MOE_TENSOR_COUNT; t++) {
		void *dst = (void *)moe_tensor_data(model, t);

		if (dst == NULL)
			continue;
		if (src[t] == NULL)
			return moe_fail(err, -EINVAL, "%s: missing",
			                moe_tensor_name(t));
		r = store_values(model, t, src[t], src_dtype, dst, err);
		if (r < 0)
			return r;
	}
	return moe_model_finish(model, err);
}

int moe_model_create(const struct moe_model_spec *spec, struct moe_model **out,
                     struct moe_error *err)
{
	const void *src[MOE_TENSOR_COUNT] = {
	    spec->gate_weight, spec->gate_bias, spec->expert_weight,
	    spec->expert_bias, spec->mean,      spec->scale,
	};
	struct moe_model *m;
	int r;

	if ((spec->mean == NULL) != (spec->scale == NULL))
		return moe_fail(err, -EINVAL,
		                "standardize: needs both mean and scale");

	r = moe_model_new_shell(spec, &m, err);
	if (r < 0)
		return r;

	r = fill_params(m, src, MOE_DTYPE_F64, err);
	if (r < 0) {
		moe_model_free(m);
		return r;
	}
	*out = m;
	return 0;
}

int moe_model_convert(const struct moe_model *model, enum moe_dtype dtype,
                      struct moe_model **out, struct moe_error *err)
{
	const void *src[MOE_TENSOR_COUNT];
	struct moe_model_spec spec = {
	    .name = model->name,
	    .description = model->description,
	    .dtype = dtype,
	    .n_features = model->n_features,
	    .n_experts = model->n_experts,
	    .n_classes = model->n_classes,
	    .gate = model->gate,
	    .features = (const char *const *)model->features,
	    .classes = (const char *const *)model->classes,
	};
	struct moe_model *m;
	int r;

	r = moe_model_new_shell(&spec, &m, err);
	if (r < 0)
		return r;

	for (int t = 0; t < MOE_TENSOR_COUNT; t++)
		src[t] = moe_tensor_data(model, t);
	r = fill_params(m, src, model->dtype, err);
	if (r < 0) {
		moe_model_free(m);
		return r;
	}
	*out = m;
	return 0;
}
