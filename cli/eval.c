/* SPDX-License-Identifier: MIT */
/*
 * eval.c - `sigmoe eval`: a stand-in until the evaluation verb is written.
 */
#include <stdio.h>

#include "cli.h"

int cli_eval(int argc, char **argv)
{
	fputs("sigmoe eval: not built yet\n", stderr);
	return CLI_EXIT_USAGE;
}
