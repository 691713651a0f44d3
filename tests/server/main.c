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
	SRunner *sr;
	size_t i;
	int failed;

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
	sr = srunner_create(suites[i].make());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
