/* SPDX-License-Identifier: MIT */
/*
 * common.h - helpers shared by the forward-pass test suites: reading the
 * reference cases that tests/tools/forward_reference.py wrote, and
 * building their models.
 */
#ifndef TESTS_FORWARD_COMMON_H
#define TESTS_FORWARD_COMMON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "sigmoe.h"

/* The file's parsed JSON (free with cJSON_Delete); fails the test if
 * the file cannot be read. */
cJSON *tf_load_json(const char *name);

/* A numeric array member as a malloc'd array of doubles (NULL for a
 * JSON null or a missing member); *len gets its length. */
double *tf_doubles(const cJSON *obj, const char *key, size_t *len);

/* The model of one reference case (fails the test on error). */
struct moe_model *tf_case_model(const cJSON *c);

/*
 * How the forward pass gets a model's slopes (struct moe_derived): as
 * moe_model_create lays them out (side by side, used in place), apart
 * in memory (copied side by side by moe_model_finish), or in two
 * products (as for models over MOE_MAX_FUSED_COPY_BYTES).
 */
enum tf_layout {
	TF_LAYOUT_CREATED,
	TF_LAYOUT_APART,
	TF_LAYOUT_TWO_PRODUCTS,
};

/* m in another layout: a new model (m is freed) or m itself. */
struct moe_model *tf_relayout(struct moe_model *m, enum tf_layout layout);

/* Outputs for n rows of a model, all allocated; tf_output_free frees. */
void tf_output_alloc(struct moe_output *out, const struct moe_model *m,
                     size_t n);
void tf_output_free(struct moe_output *out);

#endif
