/* SPDX-License-Identifier: MIT */
/*
 * main.c - run one suite of tests/server, named by the first argument.
 * Exit 0 when it passes, 1 when a test fails, 77 (skip) for the metrics
 * suite when promtool is not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "suites.h"
#include "test_support.h"

static const struct {
	const char *name;
	Suite *(*make)(void);
} suites[] = {
    {"http", suite_http},         {"config", suite_config},
    {"auth", suite_auth},         {"tls", suite_tls},
    {"shutdown", suite_shutdown}, {"metrics", suite_metrics},
};

int main(int argc, char **argv)
{
	size_t i;
	int result;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SUITE\n", argv[0]);
		return 2;
	}
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (strcmp(suites[i].name, argv[1]) == 0)
			break;
	if (i == sizeof(suites) / sizeof(suites[0])) {
		fprintf(stderr, "no suite %s\n", argv[1]);
		return 2;
	}
	if (strcmp(argv[1], "metrics") == 0 &&
	    system("command -v promtool >/dev/null 2>&1") != 0) {
		fprintf(stderr, "promtool not found: skipped\n");
		return 77;
	}
	curl_global_init(CURL_GLOBAL_ALL);
	result = ts_run(suites[i].make());
	curl_global_cleanup();
	return result;
}
