/* SPDX-License-Identifier: MIT */
/*
 * reload_util.h - what the reload tests share: a scratch model directory,
 * the ways a publisher writes files into it, the expected outputs of the
 * two test versions, and a capture of the daemon log.
 *
 * Every helper fails the running Check test (ck_abort) rather than
 * returning an error, except where a return value is documented.
 */
#ifndef SIGMOE_RELOAD_UTIL_H
#define SIGMOE_RELOAD_UTIL_H

#include <stddef.h>

#include "sigmoe.h"

#define RT_N 8 /* rows of input.txt */
#define RT_D 4
#define RT_K 3

/* The two versions' inputs, outputs and file digests. */
struct rt_expect {
	double x[RT_N * RT_D];
	double prob_a[RT_N * RT_K];
	double prob_b[RT_N * RT_K];
	char digest_a_json[65], digest_b_json[65];
	char digest_a_st[65], digest_b_st[65];
};

/* rt_data - path of a file of tests/data/reload (a static buffer). */
const char *rt_data(const char *name);

/* rt_tmpdir - a new empty directory; rt_rmtree removes it. */
void rt_tmpdir(char *out, size_t len);
void rt_rmtree(const char *dir);

/* Publish bytes as dir/name: through "dir/.name.tmp" and rename(2). */
void rt_publish(const char *dir, const char *name, const void *bytes,
                size_t len);
/* Overwrite dir/name in place: open O_TRUNC, write in chunks, close. */
void rt_overwrite(const char *dir, const char *name, const void *bytes,
                  size_t len);
/* Copy data file src as dir/name with rt_publish. */
void rt_publish_data(const char *dir, const char *name, const char *src);
void rt_unlink(const char *dir, const char *name);

/* rt_sha256sum - what `sha256sum path` prints as the digest. */
void rt_sha256sum(const char *path, char out[65]);

/* rt_expect_load - inputs, outputs and digests of va and vb. */
void rt_expect_load(struct rt_expect *ex);

/*
 * rt_matches - run model on the inputs and compare with the outputs of
 * version A (which 'a') or B ('b').  Returns 1 when every probability
 * is within 1e-12, 0 when not, -1 when the forward pass fails.
 */
int rt_matches(const struct moe_model *model, const struct rt_expect *ex,
               char which, struct moe_scratch *scratch);

/* rt_which - 'a' or 'b' for a model's digest, or 0. */
char rt_which(const struct moe_model *model, const struct rt_expect *ex);

/* rt_log_capture - send the daemon log (fd 2) to a file from now on. */
void rt_log_capture(void);
/* rt_log_count - lines of the captured log that contain needle. */
int rt_log_count(const char *needle);

/* rt_now_ms - monotonic milliseconds; rt_sleep_ms - sleep. */
double rt_now_ms(void);
void rt_sleep_ms(double ms);

#endif
