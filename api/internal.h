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

enum api_json_verdict {
	API_JSON_OK = 0,      /* one JSON value, blanks around it */
	API_JSON_BAD,         /* *pos: the first byte that cannot be there */
	API_JSON_TRAILING,    /* a value, then more text at *pos */
	API_JSON_TOO_DEEP,    /* nesting over max_depth at *pos */
	API_JSON_LONG_NUMBER, /* over API_MAX_NUMBER_CHARS, from *pos */
	API_JSON_SURROGATE,   /* an unpaired \\uD800-\\uDFFF escape at *pos */
};

/*
 * api_json_check - is body[0..len) strict JSON (RFC 8259), nested at
 * most max_depth deep?  *pos is where it stopped: len when the body ends
 * too early.  Recursion is bounded by max_depth.  Thread-safe.
 */
enum api_json_verdict api_json_check(const char *body, size_t len,
                                     unsigned max_depth, size_t *pos);

#endif
