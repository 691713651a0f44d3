/* SPDX-License-Identifier: MIT */
/*
 * reader.c - a cursor over a JSON body that api_json_check accepted.
 *
 * The request parser reads values straight from the body into the input
 * matrix instead of building a tree: memory stays at the matrix (a tree
 * costs about 64 bytes a value), and numbers are converted once.  The
 * syntax is known to be valid, so the cursor only has to know where each
 * value starts and ends; it still never reads past len.  Recursion (in
 * api_jr_skip) is bounded by the depth the checker allowed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int at(const struct api_jr *r, char c)
{
	return r->pos < r->len && r->s[r->pos] == c;
}

static void skip_blanks(struct api_jr *r)
{
	while (r->pos < r->len &&
	       (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' ||
	        r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
		r->pos++;
}

enum api_jr_kind api_jr_peek(struct api_jr *r)
{
	skip_blanks(r);
	if (r->pos >= r->len)
		return API_JR_END;
	switch (r->s[r->pos]) {
	case '{':
		return API_JR_OBJECT;
	case '[':
		return API_JR_ARRAY;
	case '"':
		return API_JR_STRING;
	case 't':
	case 'f':
		return API_JR_BOOL;
	case 'n':
		return API_JR_NULL;
	default:
		return API_JR_NUMBER;
	}
}

const char *api_jr_kind_name(enum api_jr_kind kind)
{
	static const char *const names[] = {
	    [API_JR_NULL] = "null",       [API_JR_BOOL] = "a boolean",
	    [API_JR_NUMBER] = "a number", [API_JR_STRING] = "a string",
	    [API_JR_ARRAY] = "an array",  [API_JR_OBJECT] = "an object",
	    [API_JR_END] = "nothing",
	};

	return names[kind];
}

/* Past the closing quote of the string at pos. */
static void skip_string(struct api_jr *r)
{
	r->pos++;
	while (r->pos < r->len && r->s[r->pos] != '"')
		r->pos += r->s[r->pos] == '\\' ? 2 : 1;
	r->pos = r->pos < r->len ? r->pos + 1 : r->len;
}

/* Bytes of numbers and of true, false and null. */
static int scalar_byte(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' ||
	       c == '-' || c == '+' || c == 'E';
}

static void skip_scalar(struct api_jr *r)
{
	while (r->pos < r->len && scalar_byte(r->s[r->pos]))
		r->pos++;
}

void api_jr_skip(struct api_jr *r)
{
	size_t start;
	int first = 1;

	api_jr_peek(r);
	start = r->pos;
	switch (api_jr_peek(r)) {
	case API_JR_STRING:
		skip_string(r);
		break;
	case API_JR_ARRAY:
	case API_JR_OBJECT:
		api_jr_enter(r);
		while (api_jr_next(r, &first)) {
			/* an element, or a member's key and then its value */
			api_jr_skip(r);
			skip_blanks(r);
			if (at(r, ':')) {
				r->pos++;
				api_jr_skip(r);
			}
		}
		break;
	case API_JR_END:
		break;
	default:
		skip_scalar(r);
		break;
	}
	if (r->pos == start && r->pos < r->len)
		r->pos++; /* always move on, even on text never checked */
}

void api_jr_enter(struct api_jr *r)
{
	skip_blanks(r);
	r->pos++;
}

int api_jr_next(struct api_jr *r, int *first)
{
	skip_blanks(r);
	if (r->pos >= r->len)
		return 0;
	if (r->s[r->pos] == ']' || r->s[r->pos] == '}') {
		r->pos++;
		return 0;
	}
	if (!*first) {
		if (r->s[r->pos] != ',')
			return 0; /* not after a check; ends any loop */
		r->pos++;
		skip_blanks(r);
	}
	*first = 0;
	return 1;
}

size_t api_jr_count(const struct api_jr *r)
{
	struct api_jr c = *r;
	size_t n = 0;
	int first = 1;
	int object = api_jr_peek(&c) == API_JR_OBJECT;

	api_jr_enter(&c);
	while (api_jr_next(&c, &first)) {
		if (object) {
			skip_string(&c);
			skip_blanks(&c);
			c.pos++; /* ':' */
		}
		api_jr_skip(&c);
		n++;
	}
	return n;
}

int api_jr_bool(struct api_jr *r)
{
	int value = at(r, 't');

	skip_scalar(r);
	return value;
}

/*
 * Clinger's fast path: a decimal of at most 15 significant digits times
 * a power of ten within 1e-22..1e22 is one correctly rounded operation
 * on two exact doubles, so it equals what strtod gives.  Returns 0 when
 * the number is not of that kind.
 */
static int number_fast(const char *s, size_t len, double *out)
{
	static const double p10[] = {
	    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
	    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	uint64_t sig = 0;
	int digits = 0, exp10 = 0, e = 0, eneg = 0, frac = 0;
	size_t i = 0;
	double v;

	for (i = s[0] == '-'; i < len; i++) {
		if (s[i] == '.' && !frac) {
			frac = 1;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			break;
		exp10 -= frac;
		if (sig == 0 && s[i] == '0')
			continue;
		if (++digits > 15)
			return 0;
		sig = sig * 10 + (uint64_t)(s[i] - '0');
	}
	if (i < len) { /* 'e' or 'E', then a sign and digits */
		i++;
		eneg = i < len && s[i] == '-';
		i += i < len && (s[i] == '-' || s[i] == '+');
		for (; i < len; i++) {
			e = e * 10 + (s[i] - '0');
			if (e > 1000)
				return 0;
		}
		exp10 += eneg ? -e : e;
	}

	if (sig != 0 && (exp10 < -22 || exp10 > 22))
		return 0;
	v = (double)sig;
	if (sig != 0)
		v = exp10 < 0 ? v / p10[-exp10] : v * p10[exp10];
	*out = s[0] == '-' ? -v : v;
	return 1;
}

void api_jr_number(struct api_jr *r, double *out)
{
	char text[API_MAX_NUMBER_CHARS + 1];
	size_t start = r->pos, len;

	skip_scalar(r);
	len = r->pos - start;
	if (len && number_fast(r->s + start, len, out))
		return;
	len = len < sizeof(text) ? len : sizeof(text) - 1;
	memcpy(text, r->s + start, len);
	text[len] = '\0';
	*out = strtod(text, NULL);
}

static unsigned hex4(const char *s)
{
	unsigned u = 0, i;

	for (i = 0; i < 4; i++) {
		unsigned char h = (unsigned char)s[i];

		u = u << 4 | (h <= '9' ? (unsigned)(h - '0')
		                       : (unsigned)((h | 0x20) - 'a' + 10));
	}
	return u;
}

/* Append code point u as UTF-8 to buf, within cap; *len counts all. */
static void put_utf8(char *buf, size_t cap, size_t *len, uint32_t u)
{
	unsigned char b[4];
	size_t n, i;

	if (u < 0x80) {
		b[0] = (unsigned char)u;
		n = 1;
	} else if (u < 0x800) {
		b[0] = (unsigned char)(0xc0 | u >> 6);
		b[1] = (unsigned char)(0x80 | (u & 0x3f));
		n = 2;
	} else if (u < 0x10000) {
		b[0] = (unsigned char)(0xe0 | u >> 12);
		b[1] = (unsigned char)(0x80 | (u >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (u & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | u >> 18);
		b[1] = (unsigned char)(0x80 | (u >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (u >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (u & 0x3f));
		n = 4;
	}
	for (i = 0; i < n; i++, (*len)++)
		if (*len + 1 < cap)
			buf[*len] = (char)b[i];
}

/* One escape after the backslash at pos; returns the code point. */
static uint32_t read_escape(struct api_jr *r)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	uint32_t u, low;

	r->pos++;
	if (r->s[r->pos] != 'u') {
		u = (unsigned char)to[strchr(from, r->s[r->pos]) - from];
		r->pos++;
		return u;
	}
	u = hex4(r->s + r->pos + 1);
	r->pos += 5;
	if (u >= 0xd800 && u <= 0xdbff) { /* the checker paired it */
		low = hex4(r->s + r->pos + 2);
		r->pos += 6;
		u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
	}
	return u;
}

size_t api_jr_string(struct api_jr *r, char *buf, size_t cap)
{
	size_t len = 0;
	char c;

	skip_blanks(r);
	r->pos++;
	while (r->pos < r->len && (c = r->s[r->pos]) != '"') {
		if (c == '\\') {
			put_utf8(buf, cap, &len, read_escape(r));
			continue;
		}
		if (len + 1 < cap)
			buf[len] = c;
		len++;
		r->pos++;
	}
	r->pos += r->pos < r->len;
	if (cap)
		buf[len < cap ? len : cap - 1] = '\0';
	return len;
}

size_t api_jr_key(struct api_jr *r, char *buf, size_t cap)
{
	size_t len = api_jr_string(r, buf, cap);

	skip_blanks(r);
	r->pos += r->pos < r->len; /* ':' */
	skip_blanks(r);
	return len;
}
