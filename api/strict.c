/* SPDX-License-Identifier: MIT */
/*
 * strict.c - a strict JSON checker (RFC 8259) that runs before cJSON.
 *
 * cJSON is lenient (it takes control bytes as blanks, leading zeros,
 * raw control characters in strings) and, when it fails, names a byte
 * near the problem rather than the problem.  This checker walks the body
 * once without building anything, refuses nesting deeper than a limit
 * before it recurses further, and reports the offset of the first byte
 * that cannot be part of a JSON text.  A body it accepts, cJSON parses.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

struct checker {
	const unsigned char *s;
	size_t len, pos;
	unsigned depth, max_depth;
	enum api_json_verdict why; /* API_JSON_BAD unless more is known */
};

static int value(struct checker *c);

static void skip_blanks(struct checker *c)
{
	while (c->pos < c->len &&
	       (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' ||
	        c->s[c->pos] == '\n' || c->s[c->pos] == '\r'))
		c->pos++;
}

/* Accept byte ch at pos. */
static int eat(struct checker *c, unsigned char ch)
{
	if (c->pos < c->len && c->s[c->pos] == ch) {
		c->pos++;
		return 1;
	}
	return 0;
}

static int is_digit(const struct checker *c)
{
	return c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9';
}

static int digits(struct checker *c)
{
	if (!is_digit(c))
		return 0;
	while (is_digit(c))
		c->pos++;
	return 1;
}

/* Is there a digit at pos + ahead? */
static int digit_at(const struct checker *c, size_t ahead)
{
	return c->pos + ahead < c->len && c->s[c->pos + ahead] >= '0' &&
	       c->s[c->pos + ahead] <= '9';
}

/*
 * The longest number at pos: "1." is the number 1 followed by a stray
 * '.', as in other strict parsers.  On failure pos is left at the first
 * byte of the number.
 */
static int number(struct checker *c)
{
	size_t start = c->pos, sign;

	eat(c, '-');
	if (!eat(c, '0') && !digits(c)) {
		c->pos = start;
		return 0;
	}
	if (c->pos < c->len && c->s[c->pos] == '.' && digit_at(c, 1)) {
		c->pos++;
		digits(c);
	}
	if (c->pos < c->len && (c->s[c->pos] | 0x20) == 'e') {
		sign = c->pos + 1 < c->len &&
		       (c->s[c->pos + 1] == '+' || c->s[c->pos + 1] == '-');
		if (digit_at(c, 1 + sign)) {
			c->pos += 1 + sign;
			digits(c);
		}
	}
	if (c->pos - start > API_MAX_NUMBER_CHARS) {
		c->why = API_JSON_LONG_NUMBER;
		c->pos = start;
		return 0;
	}
	return 1;
}

/* Four hex digits after "\u"; their value in *u. */
static int hex4(struct checker *c, unsigned *u)
{
	size_t i;
	unsigned char h;

	*u = 0;
	for (i = 0; i < 4; i++, c->pos++) {
		if (c->pos >= c->len)
			return 0;
		h = c->s[c->pos];
		if (h >= '0' && h <= '9')
			*u = *u << 4 | (unsigned)(h - '0');
		else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
			*u = *u << 4 | (unsigned)((h | 0x20) - 'a' + 10);
		else
			return 0;
	}
	return 1;
}

/* "\uXXXX" at pos (after the backslash), with surrogates paired. */
static int unicode_escape(struct checker *c)
{
	size_t start = c->pos - 1;
	unsigned u, low;

	c->pos++;
	if (!hex4(c, &u))
		return 0;
	if (u >= 0xdc00 && u <= 0xdfff)
		goto unpaired;
	if (u < 0xd800 || u > 0xdbff)
		return 1;
	if (c->len - c->pos < 2 || c->s[c->pos] != '\\' ||
	    c->s[c->pos + 1] != 'u')
		goto unpaired;
	c->pos += 2;
	if (!hex4(c, &low))
		return 0;
	if (low >= 0xdc00 && low <= 0xdfff)
		return 1;
unpaired:
	c->why = API_JSON_SURROGATE;
	c->pos = start;
	return 0;
}

static int string(struct checker *c)
{
	unsigned char ch;

	if (!eat(c, '"'))
		return 0;
	while (c->pos < c->len) {
		ch = c->s[c->pos];
		if (ch == '"') {
			c->pos++;
			return 1;
		}
		if (ch < 0x20)
			return 0;
		c->pos++;
		if (ch != '\\')
			continue;
		if (c->pos >= c->len)
			return 0;
		ch = c->s[c->pos];
		if (ch == 'u') {
			if (!unicode_escape(c))
				return 0;
		} else if (ch && strchr("\"\\/bfnrt", ch)) {
			c->pos++;
		} else {
			c->pos--; /* name the backslash */
			return 0;
		}
	}
	return 0;
}

/* true, false or null; on failure pos is left at the first byte. */
static int literal(struct checker *c, const char *word)
{
	size_t n = strlen(word);

	if (c->len - c->pos < n || memcmp(c->s + c->pos, word, n) != 0)
		return 0;
	c->pos += n;
	return 1;
}

/* The members of an object or the elements of an array. */
static int members(struct checker *c, unsigned char close, int keys)
{
	skip_blanks(c);
	if (eat(c, close))
		return 1;
	for (;;) {
		if (keys) {
			skip_blanks(c);
			if (!string(c))
				return 0;
			skip_blanks(c);
			if (!eat(c, ':'))
				return 0;
		}
		if (!value(c))
			return 0;
		if (eat(c, close))
			return 1;
		if (!eat(c, ','))
			return 0;
	}
}

static int nested(struct checker *c, unsigned char close, int keys)
{
	int ok;

	if (++c->depth > c->max_depth) {
		c->why = API_JSON_TOO_DEEP;
		return 0;
	}
	c->pos++;
	ok = members(c, close, keys);
	c->depth--;
	return ok;
}

static int value(struct checker *c)
{
	int ok;

	skip_blanks(c);
	if (c->pos >= c->len)
		return 0;
	switch (c->s[c->pos]) {
	case '{':
		ok = nested(c, '}', 1);
		break;
	case '[':
		ok = nested(c, ']', 0);
		break;
	case '"':
		ok = string(c);
		break;
	case 't':
		ok = literal(c, "true");
		break;
	case 'f':
		ok = literal(c, "false");
		break;
	case 'n':
		ok = literal(c, "null");
		break;
	default:
		ok = (c->s[c->pos] == '-' || is_digit(c)) && number(c);
		break;
	}
	if (ok)
		skip_blanks(c);
	return ok;
}

enum api_json_verdict api_json_check(const char *body, size_t len,
                                     unsigned max_depth, size_t *pos)
{
	struct checker c = {
	    (const unsigned char *)body, len, 0, 0, max_depth, API_JSON_BAD};
	int ok = value(&c);

	*pos = c.pos;
	if (!ok)
		return c.why;
	return c.pos == len ? API_JSON_OK : API_JSON_TRAILING;
}
