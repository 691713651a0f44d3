/* SPDX-License-Identifier: MIT */
/*
 * cli.h - the verbs of the `sigmoe` tool and the helpers they share.
 *
 * main.c dispatches `sigmoe VERB ARGS...` to cli_VERB(argc, argv), where
 * argv[0] is the verb's name.  A verb returns the process's exit code:
 * CLI_EXIT_OK, CLI_EXIT_INPUT when an input file is bad or cannot be
 * read or written (the message names it), CLI_EXIT_USAGE when the command
 * line is wrong.  Every message goes to stderr as "sigmoe VERB: ...".
 * Results go to stdout.
 */
#ifndef SIGMOE_CLI_H
#define SIGMOE_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "sigmoe.h"

enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_INPUT = 1,
	CLI_EXIT_USAGE = 2,
};

/* The verbs, one file each. */
int cli_check(int argc, char **argv);
int cli_inspect(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_simulate(int argc, char **argv);
int cli_fit(int argc, char **argv);
int cli_eval(int argc, char **argv);

/* cli_error - print "sigmoe VERB: message" and a newline to stderr. */
void cli_error(const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * cli_usage_error - report a wrong command line, point at --help and
 * return CLI_EXIT_USAGE.
 */
int cli_usage_error(const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * cli_file_error - report a library error about the file at path.  The
 * library names files by their base name; the message shown names the
 * path as the user typed it.  Returns CLI_EXIT_INPUT.
 */
int cli_file_error(const char *verb, const char *path,
                   const struct moe_error *err);

/*
 * cli_load_model - moe_model_load, reporting a failure.  Returns
 * CLI_EXIT_OK with *out set (free with moe_model_free), or CLI_EXIT_INPUT.
 */
int cli_load_model(const char *verb, const char *path, struct moe_model **out);

/*
 * cli_parse_count - text as a whole decimal number in [min, max].
 * Returns 0, or -1 (nothing reported).
 */
int cli_parse_count(const char *text, uint64_t min, uint64_t max,
                    uint64_t *value);

/*
 * cli_unknown_option - report what getopt_long rejected (opterr must be
 * 0 and optstring start with ':').  Returns CLI_EXIT_USAGE.
 */
int cli_unknown_option(const char *verb, int code, char **argv);

/*
 * cli_write_field - write s as one CSV field, quoted when it holds a
 * comma, a quote, a line break or outer spaces.
 */
void cli_write_field(FILE *f, const char *s);

/*
 * cli_write_number - write v so that it reads back as the same value of
 * the model's dtype: 17 significant digits for F64, 9 for F32.
 */
void cli_write_number(FILE *f, const struct moe_model *model, double v);

/*
 * cli_finish_output - flush stdout and report a write error (a full disk,
 * a closed pipe).  Returns CLI_EXIT_OK or CLI_EXIT_INPUT.
 */
int cli_finish_output(const char *verb);

#endif
