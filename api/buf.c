/* SPDX-License-Identifier: MIT */
/*
 * buf.c - the growing output buffer of the encoders, and the JSON
 * scalars written into it (strings escaped, numbers that read back).
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

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = s[0] & (0x3f >> (len - 1));
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* One byte that needs an escape: a control character, '"' or '\\'. */
static void put_escape(struct api_buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};

	switch (c) {
	case '"':
		api_buf_add(b, "\\\"", 2);
		return;
	case '\\':
		api_buf_add(b, "\\\\", 2);
		return;
	case '\n':
		api_buf_add(b, "\\n", 2);
		return;
	case '\r':
		api_buf_add(b, "\\r", 2);
		return;
	case '\t':
		api_buf_add(b, "\\t", 2);
		return;
	default:
		api_buf_add(b, esc, 6);
	}
}

void api_buf_string(struct api_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, run, len;

	api_buf_putc(b, '"');
	while (i < n) {
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x80 &&
		              s[run] != '"' && s[run] != '\\';
		     run++)
			;
		api_buf_add(b, (const char *)s + i, run - i);
		i = run;
		if (i == n)
			break;
		if (s[i] < 0x80) {
			put_escape(b, s[i++]);
			continue;
		}
		len = utf8_length(s + i, n - i);
		if (len) {
			api_buf_add(b, (const char *)s + i, len);
			i += len;
		} else {
			api_buf_add(b, "\xef\xbf\xbd", 3); /* U+FFFD */
			i++;
		}
	}
	api_buf_putc(b, '"');
}

void api_buf_number(struct api_buf *b, double x, enum moe_dtype dtype)
{
	char num[API_NUMBER_MAX];
	int n = api_number_format(num, x, dtype);

	api_buf_add(b, num, (size_t)n);
}

void api_buf_uint(struct api_buf *b, uint64_t x)
{
	char num[24];
	size_t n = sizeof(num);

	do {
		num[--n] = (char)('0' + x % 10);
		x /= 10;
	} while (x);
	api_buf_add(b, num + n, sizeof(num) - n);
}

void api_buf_key(struct api_buf *b, const char *key)
{
	api_buf_string(b, key);
	api_buf_putc(b, ':');
}
