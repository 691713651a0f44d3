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
#include <float.h>
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

/*
 * Past the array or object at pos: on checked text the brackets balance,
 * so one scan that counts them and steps over strings finds its end, and
 * *commas counts the commas between its own elements.  On any other
 * text it stops at len.
 */
static void skip_container(struct api_jr *r, size_t *commas)
{
	size_t depth = 0, n = 0;
	char c;

	while (r->pos < r->len) {
		c = r->s[r->pos];
		if (c == '"') {
			skip_string(r);
			continue;
		}
		r->pos++;
		if (c == '[' || c == '{')
			depth++;
		else if ((c == ']' || c == '}') && --depth == 0)
			break;
		else if (c == ',' && depth == 1)
			n++;
	}
	*commas = n;
}

/* Whether the container at pos (its bracket) holds nothing. */
static int empty_container(const struct api_jr *r)
{
	struct api_jr inside = *r;

	inside.pos++;
	skip_blanks(&inside);
	return inside.pos >= inside.len || at(&inside, ']') || at(&inside, '}');
}

size_t api_jr_skip_count(struct api_jr *r)
{
	size_t start, commas, count = 0;

	switch (api_jr_peek(r)) {
	case API_JR_STRING:
		start = r->pos;
		skip_string(r);
		break;
	case API_JR_ARRAY:
	case API_JR_OBJECT:
		start = r->pos;
		count = !empty_container(r);
		skip_container(r, &commas);
		count += count ? commas : 0;
		break;
	case API_JR_END:
		return 0;
	default:
		start = r->pos;
		skip_scalar(r);
		break;
	}
	if (r->pos == start && r->pos < r->len)
		r->pos++; /* always move on, even on text never checked */
	return count;
}

void api_jr_skip(struct api_jr *r)
{
	api_jr_skip_count(r);
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

	return api_jr_skip_count(&c);
}

int api_jr_bool(struct api_jr *r)
{
	int value = at(r, 't');

	skip_scalar(r);
	return value;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Clinger's fast path needs double operations rounded once, to double:
 * true with SSE2 (x86-64, aarch64), not with the x87 unit, where strtod
 * alone reads numbers.
 */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define FAST_NUMBERS 1
#else
#define FAST_NUMBERS 0
#endif

/* Every integer up to 2^53 is a double. */
#define EXACT_INTEGER_MAX (UINT64_C(1) << 53)

/* The decimal digits of a number as they are read: the significand
 * (leading zeros dropped) and how many digits it holds. */
struct decimal {
	uint64_t sig;
	int digits;
	int exp10;
};

/* One more digit c; 0 once the significand would exceed 19 digits. */
static int add_digit(struct decimal *d, char c)
{
	if (d->sig == 0 && c == '0')
		return 1;
	if (++d->digits > 19)
		return 0;
	d->sig = d->sig * 10 + (uint64_t)(c - '0');
	return 1;
}

/*
 * Scan the number at s[*i..len) into d (sign aside); *i ends after it.
 * Returns 0 when the number does not fit: more than 19 significant
 * digits, an exponent over 1000 or no digit before the point.
 */
static int scan_decimal(const char *s, size_t len, size_t *i,
                        struct decimal *d)
{
	size_t start = *i;
	int e = 0, eneg;

	for (; *i < len && is_digit(s[*i]); (*i)++)
		if (!add_digit(d, s[*i]))
			return 0;
	if (*i == start)
		return 0;
	if (*i < len && s[*i] == '.')
		for ((*i)++; *i < len && is_digit(s[*i]); (*i)++, d->exp10--)
			if (!add_digit(d, s[*i]))
				return 0;
	if (*i < len && (s[*i] == 'e' || s[*i] == 'E')) {
		(*i)++;
		eneg = *i < len && s[*i] == '-';
		*i += *i < len && (s[*i] == '-' || s[*i] == '+');
		for (; *i < len && is_digit(s[*i]); (*i)++)
			if ((e = e * 10 + (s[*i] - '0')) > 1000)
				return 0;
		d->exp10 += eneg ? -e : e;
	}
	return 1;
}

/*
 * Clinger's fast path for the number at pos: a significand of at most
 * 19 digits that is at most 2^53 is an exact double, and so is 10^k for
 * k <= 22; their product or quotient, rounded once, is the correctly
 * rounded value of the decimal, which is what strtod returns.  Returns 1
 * with pos after the number, or 0 (pos unchanged) for any other number,
 * and for text where skip_scalar would stop elsewhere.
 */
static int number_fast(struct api_jr *r, double *out)
{
	static const double p10[] = {
	    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
	    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	struct decimal d = {0, 0, 0};
	size_t i = r->pos;
	int neg = at(r, '-');
	double v;

	i += neg;
	if (!FAST_NUMBERS || !scan_decimal(r->s, r->len, &i, &d))
		return 0;
	if (i < r->len && scalar_byte(r->s[i]))
		return 0;
	if (d.sig != 0 &&
	    (d.sig > EXACT_INTEGER_MAX || d.exp10 < -22 || d.exp10 > 22))
		return 0;

	v = (double)d.sig;
	if (d.sig != 0)
		v = d.exp10 < 0 ? v / p10[-d.exp10] : v * p10[d.exp10];
	*out = neg ? -v : v;
	r->pos = i;
	return 1;
}

void api_jr_number(struct api_jr *r, double *out)
{
	char text[API_MAX_NUMBER_CHARS + 1];
	size_t start, len;

	skip_blanks(r);
	if (number_fast(r, out))
		return;
	start = r->pos;
	skip_scalar(r);
	len = r->pos - start;
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
