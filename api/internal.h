/* SPDX-License-Identifier: MIT */
/*
 * internal.h - shared between the files of api/, not part of its API.
 *
 * The appending primitives of struct api_buf: each one records the first
 * failure in b->error and does nothing afterwards, so an encoder writes
 * a whole body and checks b->error once at the end.
 */
#ifndef SIGMOE_API_INTERNAL_H
#define SIGMOE_API_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"

/* api_buf_reset - empty b, keeping its memory, and clear b->error. */
void api_buf_reset(struct api_buf *b);

void api_buf_add(struct api_buf *b, const char *bytes, size_t len);
void api_buf_puts(struct api_buf *b, const char *s);
void api_buf_putc(struct api_buf *b, char c);

/* A JSON string: escaped, invalid UTF-8 replaced by U+FFFD. */
void api_buf_string(struct api_buf *b, const char *s);

/* "key": */
void api_buf_key(struct api_buf *b, const char *key);

/* A number that reads back to x: %.17g (F64) or %.9g (F32); null if x
 * is not finite. */
void api_buf_number(struct api_buf *b, double x, enum moe_dtype dtype);

void api_buf_uint(struct api_buf *b, uint64_t x);

/* {"kind", "score", "temperature", "top_k"} of a gate. */
void api_put_gate(struct api_buf *b, const struct moe_gate *gate);

/* An array of n strings, or null when s is NULL. */
void api_put_strings(struct api_buf *b, char *const *s, size_t n);

#endif
