/* SPDX-License-Identifier: MIT */
/*
 * log.c - one event a line on stderr, as text or as JSON.
 *
 * A line is built whole in a stack buffer and written with one write(2),
 * so that lines from different threads never interleave.  A message
 * longer than SRV_LOG_LINE_BYTES is cut short; control characters are
 * escaped so that one event always stays one line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Set once by srv_log_setup before any thread starts; read-only after. */
static enum cfg_log_format log_format = CFG_LOG_TEXT;
static enum cfg_log_level log_level = CFG_LOG_INFO;

static const char *const level_names[] = {
    [CFG_LOG_ERROR] = "error",
    [CFG_LOG_WARN] = "warn",
    [CFG_LOG_INFO] = "info",
    [CFG_LOG_DEBUG] = "debug",
};

/* A line under construction; stops growing when full. */
struct line {
	char data[SRV_LOG_LINE_BYTES];
	size_t len;
	int full; /* a piece did not fit: nothing more is added */
};

void srv_log_setup(enum cfg_log_format format, enum cfg_log_level level)
{
	log_format = format;
	log_level = level;
}

int srv_log_enabled(enum cfg_log_level level)
{
	return level <= log_level;
}

/*
 * Add a piece whole or not at all (an escape sequence is never cut),
 * keeping room for the closing characters and the newline.
 */
static void line_add(struct line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->data) - 4 - l->len;

	if (l->full || n > room) {
		l->full = 1;
		return;
	}
	memcpy(l->data + l->len, s, n);
	l->len += n;
}

static void line_puts(struct line *l, const char *s)
{
	line_add(l, s, strlen(s));
}

/*
 * Length of the valid UTF-8 sequence at s (1 to 4), or 0 when the bytes
 * there are not one (overlong forms and surrogates included).
 */
static size_t utf8_length(const unsigned char *s)
{
	size_t n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/*
 * Append s escaped for a JSON string (json 1) or a text line (json 0):
 * control characters become escapes, and in JSON a byte that is not
 * valid UTF-8 becomes U+FFFD, so that every line parses.
 */
static void line_escaped(struct line *l, const char *s, int json)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];

	while (*p) {
		size_t n = utf8_length(p);

		if (json && (*p == '"' || *p == '\\')) {
			esc[0] = '\\';
			esc[1] = (char)*p;
			line_add(l, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x",
			         *p);
			line_puts(l, esc);
		} else if (json && n == 0) {
			line_puts(l, "\\ufffd");
		} else {
			n = n ? n : 1;
			line_add(l, (const char *)p, n);
			p += n;
			continue;
		}
		p++;
	}
}

/* "2026-12-03T18:40:00.123Z" */
static void format_time(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

static void write_all(const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

void srv_log(enum cfg_log_level level, const char *fmt, ...)
{
	char msg[SRV_LOG_LINE_BYTES];
	char when[64];
	struct line l;
	va_list ap;
	int json = log_format == CFG_LOG_JSON;

	if (!srv_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	format_time(when, sizeof(when));

	l.len = 0;
	l.full = 0;
	if (json) {
		line_puts(&l, "{\"time\":\"");
		line_puts(&l, when);
		line_puts(&l, "\",\"level\":\"");
		line_puts(&l, level_names[level]);
		line_puts(&l, "\",\"msg\":\"");
		line_escaped(&l, msg, 1);
		memcpy(l.data + l.len, "\"}", 2);
		l.len += 2;
	} else {
		line_puts(&l, when);
		line_puts(&l, " ");
		line_puts(&l, level_names[level]);
		line_puts(&l, " ");
		line_escaped(&l, msg, 0);
	}
	l.data[l.len++] = '\n';
	write_all(l.data, l.len);
}
