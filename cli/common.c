/* SPDX-License-Identifier: MIT */
/*
 * common.c - what the verbs of the tool share: reporting errors, loading
 * a model, reading counts and writing CSV fields.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void verror(const char *verb, const char *fmt, va_list ap)
{
	fprintf(stderr, "sigmoe %s: ", verb);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(verb, fmt, ap);
	va_end(ap);
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(verb, fmt, ap);
	va_end(ap);

	fprintf(stderr, "Try 'sigmoe %s --help'.\n", verb);
	return CLI_EXIT_USAGE;
}

int cli_file_error(const char *verb, const char *path,
                   const struct moe_error *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t len = strlen(base);
	const char *msg = err->message;

	if (!strncmp(msg, base, len) && msg[len] == ':')
		cli_error(verb, "%s%s", path, msg + len);
	else
		cli_error(verb, "%s: %s", path, msg);
	return CLI_EXIT_INPUT;
}

int cli_load_model(const char *verb, const char *path, struct moe_model **out)
{
	struct moe_error err = {{0}};

	if (moe_model_load(path, out, &err))
		return cli_file_error(verb, path, &err);
	return CLI_EXIT_OK;
}

int cli_parse_count(const char *text, uint64_t min, uint64_t max,
                    uint64_t *value)
{
	unsigned long long v;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -1;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*value = v;
	return 0;
}

int cli_unknown_option(const char *verb, int code, char **argv)
{
	const char *arg = argv[optind - 1];

	if (code == ':')
		return cli_usage_error(verb, "option '%s' needs a value", arg);
	if (optopt)
		return cli_usage_error(verb, "unknown option '-%c'", optopt);
	return cli_usage_error(verb, "unknown option '%s'", arg);
}

static int needs_quotes(const char *s)
{
	size_t len = strlen(s);

	if (len == 0)
		return 0;
	if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' ||
	    s[len - 1] == '\t')
		return 1;
	return strpbrk(s, ",\"\r\n") != NULL;
}

void cli_write_field(FILE *f, const char *s)
{
	if (!needs_quotes(s)) {
		fputs(s, f);
		return;
	}

	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void cli_write_number(FILE *f, const struct moe_model *model, double v)
{
	if (model->dtype == MOE_DTYPE_F32)
		fprintf(f, "%.9g", v);
	else
		fprintf(f, "%.17g", v);
}

int cli_finish_output(const char *verb)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return CLI_EXIT_OK;

	cli_error(verb, "cannot write the output: %s", strerror(errno));
	return CLI_EXIT_INPUT;
}
