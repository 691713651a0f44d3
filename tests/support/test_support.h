/* SPDX-License-Identifier: MIT */
/*
 * test_support.h - what every area's Check suites share: running a suite
 * from main(), and reading a whole file.
 *
 * A helper that can fail fails the running Check test (ck_assert) rather
 * than returning an error, except where a return value says otherwise.
 */
#ifndef TESTS_SUPPORT_H
#define TESTS_SUPPORT_H

#include <stddef.h>

#include <check.h>

/*
 * ts_run - run every test of suite (Check's usual output, CK_NORMAL) and
 * free it.  Returns EXIT_SUCCESS when none failed, else EXIT_FAILURE:
 * what main() returns.
 */
int ts_run(Suite *suite);

/*
 * ts_read_file - the bytes of the file at path in a malloc'd buffer with
 * a NUL after them (the caller frees it); *len, unless len is NULL, gets
 * their number.  Fails the running test when the file cannot be read.
 */
char *ts_read_file(const char *path, size_t *len);

#endif
