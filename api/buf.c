/* SPDX-License-Identifier: MIT */
/*
 * buf.c - the growing output buffer of the encoders.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "internal.h"

void api_buf_init(struct api_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void api_buf_free(struct api_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

char *api_buf_steal(struct api_buf *b, size_t *len)
{
	char *data = b->data;

	*len = data ? b->len : 0;
	memset(b, 0, sizeof(*b));
	return data;
}

void api_buf_reset(struct api_buf *b)
{
	b->len = 0;
	b->error = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Make room for extra more bytes plus the NUL; sets b->error on failure. */
static int buf_reserve(struct api_buf *b, size_t extra)
{
	size_t need, cap;
	char *data;

	if (b->error)
		return b->error;
	if (extra > API_MAX_RESPONSE_BYTES - b->len) {
		b->error = -E2BIG;
		return b->error;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;

	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	data = realloc(b->data, cap);
	if (!data) {
		b->error = -ENOMEM;
		return b->error;
	}
	b->data = data;
	b->cap = cap;
	return 0;
}

void api_buf_add(struct api_buf *b, const char *bytes, size_t len)
{
	if (buf_reserve(b, len))
		return;
	memcpy(b->data + b->len, bytes, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void api_buf_puts(struct api_buf *b, const char *s)
{
	api_buf_add(b, s, strlen(s));
}

void api_buf_putc(struct api_buf *b, char c)
{
	api_buf_add(b, &c, 1);
}
