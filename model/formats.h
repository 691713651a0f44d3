/* SPDX-License-Identifier: MIT */
/*
 * formats.h - the two model file formats, shared by load.c, json.c,
 * safetensors.c and digest.c; not installed.
 *
 * The readers take the whole file in memory and return a finished model
 * or nothing; their messages name the field but not the file (load.c
 * puts the file's name in front).  The writers append to a growing byte
 * buffer that has a size limit, so that a model too large to be read back
 * is refused when it is written.
 */
#ifndef SIGMOE_FORMATS_H
#define SIGMOE_FORMATS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "sigmoe.h"

/*
 * A byte buffer that grows up to limit bytes; the owner frees data.  The
 * first failure sticks in error and makes later appends do nothing, so
 * that a writer checks once at the end.
 */
struct moe_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;
	int error; /* 0, -ENOMEM or -E2BIG */
};

/* moe_buf_put - append n bytes.  Returns buf->error: 0, -ENOMEM, -E2BIG. */
int moe_buf_put(struct moe_buf *buf, const void *bytes, size_t n);

/* moe_buf_puts - append a C string.  Returns 0, -ENOMEM or -E2BIG. */
int moe_buf_puts(struct moe_buf *buf, const char *s);

/*
 * moe_buf_put_string - append s as a quoted JSON string, escaping quotes,
 * backslashes and control bytes.  Returns 0, -ENOMEM or -E2BIG.
 */
int moe_buf_put_string(struct moe_buf *buf, const char *s);

/*
 * moe_format_number - the shortest of "%.15g".."%.17g" (F64) or
 * "%.6g".."%.9g" (F32, v holds the float's value) that reads back to v,
 * into out (at least 32 bytes).  Deterministic: the text depends on the
 * value only.
 */
void moe_format_number(char *out, size_t size, double v, enum moe_dtype dtype);

/*
 * moe_json_parse - parse len bytes of JSON text with cJSON after checking
 * that it holds no NUL byte and nests at most MOE_MAX_JSON_DEPTH levels,
 * and that nothing but white space follows the value.  field, if not
 * NULL, starts the message ("header: not valid JSON at ...").
 * Returns the tree (free with cJSON_Delete) or NULL with err set.
 * cJSON records its last error position in a global variable: callers in
 * several threads race on that variable, though not on the trees.
 */
cJSON *moe_json_parse(const char *text, size_t len, const char *field,
                      struct moe_error *err);

/*
 * moe_json_read - a model from the text of a .json file.  On success *out
 * owns a finished model (format, digest and file_bytes left to the
 * caller).  Returns 0, -EINVAL, -E2BIG or -ENOMEM.
 */
int moe_json_read(const char *text, size_t len, struct moe_model **out,
                  struct moe_error *err);

/* moe_json_write - append the model as JSON.  0, -ENOMEM or -E2BIG. */
int moe_json_write(const struct moe_model *model, struct moe_buf *buf,
                   struct moe_error *err);

/*
 * moe_st_read - a model from the bytes of a .safetensors file.  When
 * borrow is not 0, tensors whose bytes are aligned for their dtype point
 * into data and model->mapped is set to 1: the caller must then keep data
 * alive as long as the model (load.c hands its mapping to priv->map).
 * Everything else is copied.  Returns 0, -EINVAL, -E2BIG or -ENOMEM.
 */
int moe_st_read(const unsigned char *data, size_t len, int borrow,
                struct moe_model **out, struct moe_error *err);

/* moe_st_write - append the model as safetensors.  0, -ENOMEM, -E2BIG. */
int moe_st_write(const struct moe_model *model, struct moe_buf *buf,
                 struct moe_error *err);

/* The enums from their names as files write them; 0 or -EINVAL. */
int moe_dtype_from_name(const char *s, enum moe_dtype *dtype);
int moe_gate_kind_from_name(const char *s, enum moe_gate_kind *kind);
int moe_score_from_name(const char *s, enum moe_score *score);

/* moe_sha256_hex - SHA-256 of len bytes as 64 lowercase hex digits. */
void moe_sha256_hex(const void *data, size_t len, char hex[65]);

/* moe_param_get - element i of a parameter array of the given dtype. */
static inline double moe_param_get(const void *array, size_t i,
                                   enum moe_dtype dtype)
{
	if (dtype == MOE_DTYPE_F32)
		return ((const float *)array)[i];
	return ((const double *)array)[i];
}

#endif
