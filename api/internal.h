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

#endif
