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

/* A number that reads back to x (F64) or to (float)x (F32), in the
 * fewest digits; null if x is not finite. */
void api_buf_number(struct api_buf *b, double x, enum moe_dtype dtype);

/* Room for the text of api_number_format, NUL included. */
#define API_NUMBER_MAX 32

/*
 * api_number_format - write into out (API_NUMBER_MAX bytes) the shortest
 * decimal text that strtod reads back to x (F64), or strtof to (float)x
 * (F32), in the shape of printf's %.17g / %.9g; "null" when x (or
 * (float)x) is not finite, "-0" for negative zero.  Returns the length.
 * Thread-safe; never fails.
 */
int api_number_format(char *out, double x, enum moe_dtype dtype);

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

/*
 * A cursor over a body that api_json_check accepted (reader.c).  Every
 * function expects the value it reads to be at pos (after blanks) and
 * leaves pos after it.
 */
struct api_jr {
	const char *s;
	size_t len;
	size_t pos;
};

enum api_jr_kind {
	API_JR_NULL = 0,
	API_JR_BOOL,
	API_JR_NUMBER,
	API_JR_STRING,
	API_JR_ARRAY,
	API_JR_OBJECT,
	API_JR_END, /* no more input */
};

/* The kind of the value at pos (blanks skipped). */
enum api_jr_kind api_jr_peek(struct api_jr *r);

/* "null", "a boolean", "a number", "a string", "an array", "an object". */
const char *api_jr_kind_name(enum api_jr_kind kind);

/* Skip the value at pos, whatever it is. */
void api_jr_skip(struct api_jr *r);

/* Skip the value at pos; returns its number of elements or members when
 * it is an array or an object (as api_jr_count), else 0.  One scan. */
size_t api_jr_skip_count(struct api_jr *r);

/* Step into the array or object at pos. */
void api_jr_enter(struct api_jr *r);

/*
 * Before each element of the container entered: 1 when there is one
 * (its ',' consumed), 0 at the end (the closing bracket consumed).
 * *first starts at 1.
 */
int api_jr_next(struct api_jr *r, int *first);

/* The number of elements or members of the container at pos; r stays. */
size_t api_jr_count(const struct api_jr *r);

/* The boolean at pos. */
int api_jr_bool(struct api_jr *r);

/* The number at pos, by strtod: overflow gives an infinity. */
void api_jr_number(struct api_jr *r, double *out);

/*
 * The string at pos, unescaped to UTF-8 into buf (NUL-terminated,
 * truncated to cap - 1 bytes).  Returns its whole length.
 */
size_t api_jr_string(struct api_jr *r, char *buf, size_t cap);

/* A member's key (as api_jr_string), and its ':'; pos at the value. */
size_t api_jr_key(struct api_jr *r, char *buf, size_t cap);

#endif
