/* SPDX-License-Identifier: MIT */
/*
 * status.c - model status and metadata bodies: GET /v1/models,
 * GET /v1/models/{name}, GET /v2 and GET /v2/models/{name}.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "api.h"
#include "internal.h"

/* An RFC 3339 UTC time with milliseconds, or null for 0. */
static void put_time(struct api_buf *b, double t)
{
	char text[96];
	struct tm tm;
	time_t secs;
	int ms;

	if (t <= 0 || !isfinite(t)) {
		api_buf_puts(b, "null");
		return;
	}
	secs = (time_t)t;
	ms = (int)((t - (double)secs) * 1000.0);
	if (ms > 999)
		ms = 999;
	if (!gmtime_r(&secs, &tm)) {
		api_buf_puts(b, "null");
		return;
	}
	snprintf(text, sizeof(text), "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, ms);
	api_buf_puts(b, text);
}

static void put_string_or_null(struct api_buf *b, const char *s)
{
	if (s)
		api_buf_string(b, s);
	else
		api_buf_puts(b, "null");
}

/* "key":value pairs that come from the model version in service. */
static void put_model_fields(struct api_buf *b, const struct moe_model *m,
                             int full)
{
	if (!m) {
		api_buf_puts(b,
		             ",\"digest\":null,\"format\":null,\"dtype\":null,"
		             "\"n_features\":null,\"n_experts\":null,"
		             "\"n_classes\":null,\"gate\":null");
		if (full)
			api_buf_puts(b, ",\"features\":null,\"classes\":null,"
			                "\"description\":null");
		return;
	}
	api_buf_puts(b, ",\"digest\":");
	api_buf_string(b, m->digest);
	api_buf_puts(b, ",\"format\":");
	api_buf_string(b, moe_format_name(m->format));
	api_buf_puts(b, ",\"dtype\":");
	api_buf_string(b, moe_dtype_name(m->dtype));
	api_buf_puts(b, ",\"n_features\":");
	api_buf_uint(b, m->n_features);
	api_buf_puts(b, ",\"n_experts\":");
	api_buf_uint(b, m->n_experts);
	api_buf_puts(b, ",\"n_classes\":");
	api_buf_uint(b, m->n_classes);
	api_buf_puts(b, ",\"gate\":");
	api_put_gate(b, &m->gate);
	if (!full)
		return;
	api_buf_puts(b, ",\"features\":");
	api_put_strings(b, m->features, m->n_features);
	api_buf_puts(b, ",\"classes\":");
	api_put_strings(b, m->classes, m->n_classes);
	api_buf_puts(b, ",\"description\":");
	api_buf_string(b, m->description);
}

static void put_status(struct api_buf *b, const struct api_model_status *s,
                       int full)
{
	const struct moe_model *m = s->model;

	api_buf_puts(b, "{\"name\":");
	api_buf_string(b, s->name);
	api_buf_puts(b, ",\"state\":");
	api_buf_string(b, s->state);
	api_buf_puts(b, ",\"version\":");
	if (s->version)
		api_buf_uint(b, s->version);
	else
		api_buf_puts(b, "null");
	api_buf_puts(b, ",\"file\":");
	put_string_or_null(b, s->file);
	api_buf_puts(b, ",\"loaded_at\":");
	put_time(b, m ? s->loaded_at : 0);
	put_model_fields(b, m, full);
	api_buf_puts(b, ",\"last_error\":");
	put_string_or_null(b, s->last_error);
	api_buf_puts(b, ",\"last_error_at\":");
	put_time(b, s->last_error ? s->last_error_at : 0);
	api_buf_putc(b, '}');
}

int api_encode_model_status(struct api_buf *b, const struct api_model_status *s)
{
	api_buf_reset(b);
	put_status(b, s, 1);
	return b->error;
}

int api_encode_model_list(struct api_buf *b, const struct api_model_status *s,
                          size_t count)
{
	size_t i;

	api_buf_reset(b);
	api_buf_puts(b, "{\"models\":[");
	for (i = 0; i < count; i++) {
		if (i)
			api_buf_putc(b, ',');
		put_status(b, &s[i], 0);
	}
	api_buf_puts(b, "]}");
	return b->error;
}

int api_encode_v2_server_metadata(struct api_buf *b)
{
	api_buf_reset(b);
	api_buf_puts(b, "{\"name\":\"sigmoe\",\"version\":");
	api_buf_string(b, SIGMOE_VERSION);
	api_buf_puts(b, ",\"extensions\":[]}");
	return b->error;
}

/* {"name": name, "datatype": type, "shape": [-1(, cols)]} */
static void put_tensor_meta(struct api_buf *b, const char *name,
                            const char *type, size_t cols)
{
	api_buf_puts(b, "{\"name\":");
	api_buf_string(b, name);
	api_buf_puts(b, ",\"datatype\":");
	api_buf_string(b, type);
	api_buf_puts(b, ",\"shape\":[-1");
	if (cols) {
		api_buf_putc(b, ',');
		api_buf_uint(b, cols);
	}
	api_buf_puts(b, "]}");
}

int api_encode_v2_model_metadata(struct api_buf *b, const char *name,
                                 uint64_t version,
                                 const struct moe_model *model)
{
	const char *fp = model->dtype == MOE_DTYPE_F32 ? "FP32" : "FP64";

	api_buf_reset(b);
	api_buf_puts(b, "{\"name\":");
	api_buf_string(b, name);
	api_buf_puts(b, ",\"versions\":[\"");
	api_buf_uint(b, version);
	api_buf_puts(b, "\"],\"platform\":\"sigmoe\",\"inputs\":[");
	put_tensor_meta(b, "input", fp, model->n_features);
	api_buf_puts(b, "],\"outputs\":[");
	put_tensor_meta(b, "probabilities", fp, model->n_classes);
	api_buf_putc(b, ',');
	put_tensor_meta(b, "label", "BYTES", 0);
	api_buf_putc(b, ',');
	put_tensor_meta(b, "gate_activations", fp, model->n_experts);
	api_buf_putc(b, ',');
	put_tensor_meta(b, "gate_weights", fp, model->n_experts);
	api_buf_puts(b, "]}");
	return b->error;
}
