/* SPDX-License-Identifier: MIT */
/*
 * main.c - `sigmoe VERB ARGS...`: find the verb in the table and run it.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct verb verbs[] = {
    {"check", cli_check, "validate model files"},
    {"inspect", cli_inspect, "summarize a model file"},
    {"convert", cli_convert,
     "convert between JSON and safetensors, F32 and F64"},
    {"predict", cli_predict, "score the rows of a CSV file"},
    {"eval", cli_eval, "accuracy, log-loss and confusion matrix on a CSV file"},
    {"fit", cli_fit, "fit a model to a CSV file"},
    {"simulate", cli_simulate, "draw a labelled sample from a model"},
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static void usage(FILE *f)
{
	size_t i;

	fputs("Usage: sigmoe COMMAND [ARGS...]\n"
	      "       sigmoe COMMAND --help\n"
	      "       sigmoe --version\n"
	      "\n"
	      "Mixture-of-experts classifiers with sigmoid gates, offline.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < N_VERBS; i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fputs("\nExit status: 0 ok, 1 a bad input file, 2 a usage error.\n", f);
}

static const struct verb *find_verb(const char *name)
{
	size_t i;

	for (i = 0; i < N_VERBS; i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

static int unknown_verb(const char *name)
{
	fprintf(stderr,
	        "sigmoe: unknown command '%s'\n"
	        "Try 'sigmoe --help'.\n",
	        name);
	return CLI_EXIT_USAGE;
}

/* `sigmoe help VERB` is `sigmoe VERB --help`. */
static int help_verb(const char *name)
{
	const struct verb *verb = find_verb(name);
	char *argv[] = {(char *)name, "--help", NULL};

	if (!verb)
		return unknown_verb(name);
	return verb->run(2, argv);
}

int main(int argc, char **argv)
{
	const struct verb *verb;

	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help") && argc > 2)
		return help_verb(argv[2]);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return cli_finish_output("help");
	}
	if (!strcmp(argv[1], "--version")) {
		printf("sigmoe %s\n", SIGMOE_VERSION);
		return cli_finish_output("version");
	}

	verb = find_verb(argv[1]);
	if (!verb)
		return unknown_verb(argv[1]);
	return verb->run(argc - 1, argv + 1);
}
