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

/* Append s escaped for a JSON string (json 1) or a text line (json 0). */
static void line_escaped(struct line *l, const char *s, int json)
{
	char esc[8];

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (json && (c == '"' || c == '\\')) {
			esc[0] = '\\';
			esc[1] = (char)c;
			line_add(l, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			if (json)
				snprintf(esc, sizeof(esc), "\\u%04x", c);
			else
				snprintf(esc, sizeof(esc), "\\x%02x", c);
			line_puts(l, esc);
		} else {
			line_add(l, (const char *)&c, 1);
		}
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
