/* SPDX-License-Identifier: MIT */
/* suites.h - the Check suites of tests/server, one meson test each. */
#ifndef SIGMOE_TEST_SERVER_SUITES_H
#define SIGMOE_TEST_SERVER_SUITES_H

#include <check.h>

Suite *suite_http(void);
Suite *suite_config(void);
Suite *suite_auth(void);
Suite *suite_tls(void);
Suite *suite_shutdown(void);
Suite *suite_metrics(void);

#endif
