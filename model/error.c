/* SPDX-License-Identifier: MIT */
/*
 * error.c - the one-sentence error messages of the library.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

int moe_fail(struct moe_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;

	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

void moe_prefix(struct moe_error *err, const char *prefix)
{
	char out[sizeof(err->message)];
	size_t cap = sizeof(out), n, rest;

	if (err == NULL || prefix == NULL)
		return;

	n = strnlen(prefix, cap - 1);
	memcpy(out, prefix, n);
	if (n + 2 < cap) {
		out[n++] = ':';
		out[n++] = ' ';
	}
	rest = strnlen(err->message, sizeof(err->message));
	if (rest > cap - 1 - n)
		rest = cap - 1 - n;
	memcpy(out + n, err->message, rest);
	out[n + rest] = '\0';
	memcpy(err->message, out, cap);
}
