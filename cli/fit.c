/* SPDX-License-Identifier: MIT */
/*
 * fit.c - `sigmoe fit`: a stand-in until the fitting verb is written.
 */
#include <stdio.h>

#include "cli.h"

int cli_fit(int argc, char **argv)
{
	fputs("sigmoe fit: not built yet\n", stderr);
	return CLI_EXIT_USAGE;
}
