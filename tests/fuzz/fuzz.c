/* SPDX-License-Identifier: MIT */
/*
 * fuzz.c - the fixed models and the checks that every target shares.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* Expert probabilities are asked for only while they stay this small. */
#define FUZZ_MAX_EXPERT_PROBS (1UL << 20)

static const char named_f64[] =
    "{\"format\": \"sigmoe-model\", \"format_version\": 1,"
    " \"name\": \"fuzz-named\", \"dtype\": \"F64\","
    " \"features\": [\"a\", \"b\", \"c\", \"d\"],"
    " \"classes\": [\"x\", \"y\", \"z\"],"
    " \"standardize\": {\"mean\": [1, 2, 3, 4],"
    "                   \"scale\": [0.5, 1, 2, 4]},"
    " \"gate\": {\"kind\": \"sigmoid\", \"score\": \"euclidean\","
    "   \"temperature\": 1.5, \"top_k\": 0,"
    "   \"weight\": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, -1]],"
    "   \"bias\": [0, 0.5, -0.5]},"
    " \"experts\": {"
    "   \"weight\": [[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],"
    "                [[0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1]],"
    "                [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 0]]],"
    "   \"bias\": [[0, 0, 0], [1, 0, -1], [0.1, 0.2, 0.3]]}}";

static const char anon_f32[] =
    "{\"format\": \"sigmoe-model\", \"format_version\": 1,"
    " \"dtype\": \"F32\", \"classes\": [\"0\", \"1\"],"
    " \"gate\": {\"kind\": \"softmax\", \"score\": \"inner\","
    "   \"temperature\": 0.5, \"top_k\": 2,"
    "   \"weight\": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],"
    "   \"bias\": [0, 0, 0]},"
    " \"experts\": {"
    "   \"weight\": [[[1, 0, 0], [0, 1, 0]], [[0, 0, 1], [1, 1, 0]],"
    "                [[-1, 0, 0], [0, -1, 2]]],"
    "   \"bias\": [[0, 0], [1, 0], [0.25, 0.5]]}}";

void fuzz_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

const struct moe_model *fuzz_model(enum fuzz_model which)
{
	static const char *const text[FUZZ_MODEL_COUNT] = {named_f64, anon_f32};
	static struct moe_model *models[FUZZ_MODEL_COUNT];
	struct moe_error err;

	if (!models[which] &&
	    moe_model_load_buffer(text[which], strlen(text[which]),
	                          MOE_FORMAT_JSON, "fuzz.json", &models[which],
	                          &err))
		fuzz_die("fixed model %d: %s", (int)which, err.message);
	return models[which];
}

/* The promises of moe_forward for finite inputs. */
static void check_outputs(const struct moe_model *m, size_t n,
                          const struct moe_output *o, double tol)
{
	size_t i, j, E = m->n_experts, K = m->n_classes;
	double sum;

	for (i = 0; i < n; i++) {
		sum = 0;
		for (j = 0; j < K; j++) {
			double p = o->probabilities[i * K + j];

			if (!isfinite(p) || p < 0 || p > 1 + tol)
				fuzz_die("row %zu: probability %zu is %g", i, j,
				         p);
			sum += p;
		}
		if (fabs(sum - 1) > tol * (double)K)
			fuzz_die("row %zu: probabilities sum to %.17g", i, sum);
		if (o->labels[i] >= K || o->top_expert[i] >= E)
			fuzz_die("row %zu: label %zu, top expert %zu", i,
			         o->labels[i], o->top_expert[i]);
		for (j = 0; j < E; j++)
			if (!isfinite(o->activations[i * E + j]) ||
			    !isfinite(o->weights[i * E + j]))
				fuzz_die("row %zu: expert %zu: activation %g, "
				         "weight %g",
				         i, j, o->activations[i * E + j],
				         o->weights[i * E + j]);
	}
}

void fuzz_check_forward(const struct moe_model *m, const double *x, size_t n)
{
	struct moe_scratch *scratch = moe_scratch_new();
	struct moe_output o = {0};
	struct moe_error err;
	size_t E = m->n_experts, K = m->n_classes;
	int r;

	o.probabilities = calloc(n * K, sizeof(double));
	o.labels = calloc(n, sizeof(size_t));
	o.activations = calloc(n * E, sizeof(double));
	o.weights = calloc(n * E, sizeof(double));
	o.top_expert = calloc(n, sizeof(size_t));
	if (n * E * K <= FUZZ_MAX_EXPERT_PROBS)
		o.expert_probabilities = calloc(n * E * K, sizeof(double));
	if (!scratch || !o.probabilities || !o.labels || !o.activations ||
	    !o.weights || !o.top_expert)
		goto free_outputs;

	r = moe_forward(m, x, n, scratch, &o, &err);
	if (r == -EINVAL)
		fuzz_die("moe_forward refused finite rows: %s", err.message);
	if (r == 0)
		check_outputs(m, n, &o,
		              m->dtype == MOE_DTYPE_F64 ? 1e-12 : 1e-6);
free_outputs:
	free(o.probabilities);
	free(o.labels);
	free(o.activations);
	free(o.weights);
	free(o.top_expert);
	free(o.expert_probabilities);
	moe_scratch_free(scratch);
}

/* Serialize, load back, serialize again: the bytes must not change. */
static void round_trip(const struct moe_model *m, enum moe_format fmt)
{
	struct moe_model *back = NULL;
	void *first = NULL, *second = NULL;
	size_t first_len, second_len;
	struct moe_error err;
	int r;

	r = moe_model_serialize(m, fmt, &first, &first_len, &err);
	if (r == -E2BIG || r == -ENOMEM)
		return;
	if (r)
		fuzz_die("serialize %s: %s", moe_format_name(fmt), err.message);
	r = moe_model_load_buffer(first, first_len, fmt, "round-trip", &back,
	                          &err);
	if (r == -ENOMEM)
		goto free_all;
	if (r)
		fuzz_die("reload %s: %s", moe_format_name(fmt), err.message);
	if (moe_model_serialize(back, fmt, &second, &second_len, &err))
		fuzz_die("serialize again %s: %s", moe_format_name(fmt),
		         err.message);
	if (first_len != second_len || memcmp(first, second, first_len))
		fuzz_die("%s round trip changed the file (%zu -> %zu bytes)",
		         moe_format_name(fmt), first_len, second_len);
free_all:
	free(first);
	free(second);
	moe_model_free(back);
}

void fuzz_exercise_model(const struct moe_model *m)
{
	size_t d = m->n_features, j;
	double *x = calloc(2 * d, sizeof(double));

	if (!x)
		return;
	for (j = 0; j < d; j++)
		x[d + j] = (double)j - 1.5;
	fuzz_check_forward(m, x, 2);
	free(x);

	round_trip(m, MOE_FORMAT_JSON);
	round_trip(m, MOE_FORMAT_SAFETENSORS);
}
