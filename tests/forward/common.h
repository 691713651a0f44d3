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

/* Outputs for n rows of a model, all allocated; tf_output_free frees. */
void tf_output_alloc(struct moe_output *out, const struct moe_model *m,
                     size_t n);
void tf_output_free(struct moe_output *out);

#endif
