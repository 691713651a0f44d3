/* SPDX-License-Identifier: MIT */
/*
 * response.c - the bodies of predict, gates and KServe V2 infer
 * responses, and error bodies.
 *
 * The JSON is written by hand into a struct api_buf: keys in a fixed
 * order, no spaces, numbers that read back to the computed values.  The
 * same outputs always give the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "internal.h"

/* A [rows][cols] matrix as nested arrays, or flat when flat is set. */
static void put_matrix(struct api_buf *b, const double *m, size_t rows,
                       size_t cols, enum moe_dtype dtype, int flat)
{
	size_t i, j;

	api_buf_putc(b, '[');
	for (i = 0; i < rows && !b->error; i++) {
		if (i)
			api_buf_putc(b, ',');
		if (!flat)
			api_buf_putc(b, '[');
		for (j = 0; j < cols; j++) {
			if (j)
				api_buf_putc(b, ',');
			api_buf_number(b, m[i * cols + j], dtype);
		}
		if (!flat)
			api_buf_putc(b, ']');
	}
	api_buf_putc(b, ']');
}

/* [labels[0], ...] as class names (strings). */
static void put_labels(struct api_buf *b, const struct moe_model *model,
                       const size_t *labels, size_t n)
{
	size_t i;

	api_buf_putc(b, '[');
	for (i = 0; i < n && !b->error; i++) {
		if (i)
			api_buf_putc(b, ',');
		api_buf_string(b, model->classes[labels[i]]);
	}
	api_buf_putc(b, ']');
}

void api_put_strings(struct api_buf *b, char *const *s, size_t n)
{
	size_t i;

	if (!s) {
		api_buf_puts(b, "null");
		return;
	}
	api_buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		if (i)
			api_buf_putc(b, ',');
		api_buf_string(b, s[i]);
	}
	api_buf_putc(b, ']');
}

void api_put_gate(struct api_buf *b, const struct moe_gate *gate)
{
	api_buf_puts(b, "{\"kind\":");
	api_buf_string(b, moe_gate_kind_name(gate->kind));
	api_buf_puts(b, ",\"score\":");
	api_buf_string(b, moe_score_name(gate->score));
	api_buf_puts(b, ",\"temperature\":");
	api_buf_number(b, gate->temperature, MOE_DTYPE_F64);
	api_buf_puts(b, ",\"top_k\":");
	api_buf_uint(b, gate->top_k);
	api_buf_putc(b, '}');
}

/* {"model": name, "model_version": version, */
static void put_head(struct api_buf *b, const struct api_result *res)
{
	api_buf_puts(b, "{\"model\":");
	api_buf_string(b, res->name);
	api_buf_puts(b, ",\"model_version\":");
	api_buf_uint(b, res->version);
}

static void encode_predict(struct api_buf *b, const struct api_result *res)
{
	const struct moe_model *m = res->model;

	put_head(b, res);
	api_buf_puts(b, ",\"classes\":");
	api_put_strings(b, m->classes, m->n_classes);
	api_buf_puts(b, ",\"labels\":");
	put_labels(b, m, res->out->labels, res->n);
	api_buf_puts(b, ",\"probabilities\":");
	put_matrix(b, res->out->probabilities, res->n, m->n_classes, m->dtype,
	           0);
	api_buf_putc(b, '}');
}

static void put_top_expert(struct api_buf *b, const size_t *top, size_t n)
{
	size_t i;

	api_buf_putc(b, '[');
	for (i = 0; i < n && !b->error; i++) {
		if (i)
			api_buf_putc(b, ',');
		api_buf_uint(b, top[i]);
	}
	api_buf_putc(b, ']');
}

static void encode_gates(struct api_buf *b, const struct api_request *req,
                         const struct api_result *res)
{
	const struct moe_model *m = res->model;
	const struct moe_output *out = res->out;
	size_t i, e = m->n_experts, k = m->n_classes;

	put_head(b, res);
	api_buf_puts(b, ",\"gate\":");
	api_put_gate(b, &m->gate);
	api_buf_puts(b, ",\"activations\":");
	put_matrix(b, out->activations, res->n, e, m->dtype, 0);
	api_buf_puts(b, ",\"weights\":");
	put_matrix(b, out->weights, res->n, e, m->dtype, 0);
	api_buf_puts(b, ",\"top_expert\":");
	put_top_expert(b, out->top_expert, res->n);

	if (req->expert_probabilities && out->expert_probabilities) {
		api_buf_puts(b, ",\"expert_probabilities\":[");
		for (i = 0; i < res->n && !b->error; i++) {
			if (i)
				api_buf_putc(b, ',');
			put_matrix(b, out->expert_probabilities + i * e * k, e,
			           k, m->dtype, 0);
		}
		api_buf_putc(b, ']');
	}
	api_buf_putc(b, '}');
}

/* {"name": ..., "datatype": ..., "shape": [n(, cols)], "data": */
static void put_v2_tensor_head(struct api_buf *b, const char *name,
                               const char *datatype, size_t n, size_t cols)
{
	api_buf_puts(b, "{\"name\":");
	api_buf_string(b, name);
	api_buf_puts(b, ",\"datatype\":");
	api_buf_string(b, datatype);
	api_buf_puts(b, ",\"shape\":[");
	api_buf_uint(b, n);
	if (cols) {
		api_buf_putc(b, ',');
		api_buf_uint(b, cols);
	}
	api_buf_puts(b, "],\"data\":");
}

static void put_v2_output(struct api_buf *b, enum api_v2_output which,
                          const struct api_result *res)
{
	const struct moe_model *m = res->model;
	const char *fp = m->dtype == MOE_DTYPE_F32 ? "FP32" : "FP64";
	const double *data = res->out->probabilities;
	size_t cols = m->n_classes;
	const char *name = api_v2_output_name(which);

	if (which == API_V2_LABEL) {
		put_v2_tensor_head(b, name, "BYTES", res->n, 0);
		put_labels(b, m, res->out->labels, res->n);
		api_buf_putc(b, '}');
		return;
	}
	if (which != API_V2_PROBABILITIES) {
		cols = m->n_experts;
		data = which == API_V2_GATE_WEIGHTS ? res->out->weights
		                                    : res->out->activations;
	}
	put_v2_tensor_head(b, name, fp, res->n, cols);
	put_matrix(b, data, res->n, cols, m->dtype, 1);
	api_buf_putc(b, '}');
}

static void encode_v2(struct api_buf *b, const struct api_request *req,
                      const struct api_result *res)
{
	size_t i;

	api_buf_puts(b, "{\"model_name\":");
	api_buf_string(b, res->name);
	api_buf_puts(b, ",\"model_version\":\"");
	api_buf_uint(b, res->version);
	api_buf_putc(b, '"');
	if (req->id) {
		api_buf_puts(b, ",\"id\":");
		api_buf_string(b, req->id);
	}
	api_buf_puts(b, ",\"outputs\":[");
	for (i = 0; i < req->n_v2_outputs; i++) {
		if (i)
			api_buf_putc(b, ',');
		put_v2_output(b, req->v2_outputs[i], res);
	}
	api_buf_puts(b, "]}");
}

/* Are the arrays that req->outputs names present in res->out? */
static int outputs_present(const struct api_request *req,
                           const struct api_result *res)
{
	const struct moe_output *o = res->out;
	unsigned need = req->outputs;

	if (!o || !res->model || !res->name || res->n != req->n)
		return 0;
	return !((need & API_OUT_PROBABILITIES && !o->probabilities) ||
	         (need & API_OUT_LABELS && !o->labels) ||
	         (need & API_OUT_ACTIVATIONS && !o->activations) ||
	         (need & API_OUT_WEIGHTS && !o->weights) ||
	         (need & API_OUT_TOP_EXPERT && !o->top_expert));
}

int api_encode_response(struct api_buf *b, const struct api_request *req,
                        const struct api_result *res)
{
	api_buf_reset(b);
	if (!outputs_present(req, res))
		return -EINVAL;

	switch (req->kind) {
	case API_PREDICT:
		encode_predict(b, res);
		break;
	case API_GATES:
		encode_gates(b, req, res);
		break;
	default:
		encode_v2(b, req, res);
		break;
	}
	return b->error;
}

int api_encode_error(struct api_buf *b, const char *message)
{
	api_buf_reset(b);
	api_buf_puts(b, "{\"error\":");
	api_buf_string(b, message);
	api_buf_putc(b, '}');
	return b->error;
}

int api_outputs_alloc(const struct moe_model *model, size_t n, unsigned bits,
                      struct moe_output *out)
{
	size_t e = model->n_experts, k = model->n_classes;
	int bad = 0;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return -EINVAL;
	if (e > SIZE_MAX / sizeof(double) / k / n)
		return -E2BIG;

	out->probabilities = malloc(n * k * sizeof(double));
	bad |= !out->probabilities;
	if (bits & API_OUT_LABELS)
		bad |= !(out->labels = malloc(n * sizeof(size_t)));
	if (bits & API_OUT_ACTIVATIONS)
		bad |= !(out->activations = malloc(n * e * sizeof(double)));
	if (bits & API_OUT_WEIGHTS)
		bad |= !(out->weights = malloc(n * e * sizeof(double)));
	if (bits & API_OUT_TOP_EXPERT)
		bad |= !(out->top_expert = malloc(n * sizeof(size_t)));
	if (bits & API_OUT_EXPERT_PROBABILITIES)
		bad |= !(out->expert_probabilities =
		             malloc(n * e * k * sizeof(double)));
	if (bad) {
		api_outputs_free(out);
		return -ENOMEM;
	}
	return 0;
}

void api_outputs_free(struct moe_output *out)
{
	if (!out)
		return;
	free(out->probabilities);
	free(out->labels);
	free(out->activations);
	free(out->weights);
	free(out->top_expert);
	free(out->expert_probabilities);
	memset(out, 0, sizeof(*out));
}
