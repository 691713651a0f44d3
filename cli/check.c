/* SPDX-License-Identifier: MIT */
/*
 * check.c - `sigmoe check FILE...`: load each model file as the daemon
 * would, and say which ones are good.
 */
#include <getopt.h>

#include "cli.h"

static const char usage[] =
    "Usage: sigmoe check FILE...\n"
    "\n"
    "Load and validate each model file (.json or .safetensors) as the\n"
    "daemon does. Prints 'FILE: ok' for a good file and the reason for a\n"
    "bad one. Exits 0 only if every file is good, else 1.\n";

static int check_one(const char *path)
{
	struct moe_model *model = NULL;
	struct moe_error err = {{0}};

	if (moe_model_load(path, &model, &err))
		return cli_file_error("check", path, &err);

	printf("%s: ok\n", path);
	moe_model_free(model);
	return CLI_EXIT_OK;
}

int cli_check(int argc, char **argv)
{
	static const struct option options[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, i, status = CLI_EXIT_OK;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c != 'h')
			return cli_unknown_option("check", c, argv);
		fputs(usage, stdout);
		return cli_finish_output("check");
	}
	if (optind >= argc)
		return cli_usage_error("check", "no model file named");

	for (i = optind; i < argc; i++)
		if (check_one(argv[i]) != CLI_EXIT_OK)
			status = CLI_EXIT_INPUT;

	if (cli_finish_output("check") != CLI_EXIT_OK)
		return CLI_EXIT_INPUT;
	return status;
}
