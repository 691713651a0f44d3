/* SPDX-License-Identifier: MIT */
/*
 * test_fit_cli.c - `sigmoe fit` and `sigmoe eval`, run as a user would.
 *
 * argv[1] is the sigmoe binary.  Bad CSV files under tests/data/fit/
 * must fail with exit status 1 and a message naming the file and line;
 * a fit of data/iris.csv must write a model that `sigmoe eval` scores.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"

static const char *sigmoe;
static char tmpdir[] = "/tmp/sigmoe-test-fit-XXXXXX";

/* What a run printed, and its exit status. */
struct result {
	int status;
	char out[8192];
	char err[8192];
};

static void slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* Run `sigmoe ARGS` (args is shell-quoted by the caller). */
static void run(struct result *r, const char *args)
{
	char cmd[8192], out[512], err[512];
	int st;

	snprintf(out, sizeof(out), "%s/stdout", tmpdir);
	snprintf(err, sizeof(err), "%s/stderr", tmpdir);
	snprintf(cmd, sizeof(cmd), "'%s' %s >'%s' 2>'%s'", sigmoe, args, out,
	         err);
	st = system(cmd);
	ck_assert_msg(st != -1 && WIFEXITED(st), "cannot run %s", cmd);
	r->status = WEXITSTATUS(st);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

static const char *data_dir(void)
{
	const char *dir = getenv("SIGMOE_TEST_DATA");

	ck_assert_msg(dir != NULL, "SIGMOE_TEST_DATA is not set");
	return dir;
}

/* `sigmoe fit tests/data/fit/NAME --out ...` fails with want in stderr. */
static void fit_fails(const char *name, const char *extra, int status,
                      const char *want)
{
	struct result r;
	char args[4096], model[512];

	snprintf(model, sizeof(model), "%s/m.json", tmpdir);
	snprintf(args, sizeof(args), "fit '%s/fit/%s' --out '%s' %s",
	         data_dir(), name, model, extra);
	run(&r, args);
	ck_assert_msg(r.status == status, "%s: status %d, stderr: %s", name,
	              r.status, r.err);
	ck_assert_msg(strstr(r.err, want) != NULL, "%s: stderr lacks '%s': %s",
	              name, want, r.err);
	ck_assert_msg(access(model, F_OK) != 0, "a model was written");
}

static void setup(void)
{
	ck_assert(mkdtemp(tmpdir) != NULL);
}

static void teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(tmpdir, "/tmp/sigmoe-test-fit-XXXXXX");
}

START_TEST(test_bad_number)
{
	fit_fails("bad_number.csv", "", 1, "bad_number.csv:3:");
	fit_fails("bad_number.csv", "", 1, "abc");
}
END_TEST

START_TEST(test_ragged_row)
{
	fit_fails("ragged.csv", "", 1, "ragged.csv:4:");
}
END_TEST

START_TEST(test_not_finite)
{
	fit_fails("not_finite.csv", "", 1, "not_finite.csv:4:");
}
END_TEST

START_TEST(test_one_class)
{
	fit_fails("one_class.csv", "", 1, "at least 2 classes");
}
END_TEST

START_TEST(test_no_rows)
{
	fit_fails("header_only.csv", "", 1, "header_only.csv: no data rows");
}
END_TEST

START_TEST(test_missing_file)
{
	fit_fails("no_such_file.csv", "", 1, "no_such_file.csv");
}
END_TEST

START_TEST(test_unknown_label_column)
{
	fit_fails("bad_number.csv", "--label species", 1, "'species'");
}
END_TEST

START_TEST(test_usage)
{
	fit_fails("one_class.csv", "--experts 0", 2, "--experts");
	fit_fails("one_class.csv", "--gate relu", 2, "--gate");
	fit_fails("one_class.csv", "--holdout 1", 2, "--holdout");
	fit_fails("one_class.csv", "--experts 2 --top-k 3", 2, "--top-k");
}
END_TEST

/* Fit Iris, then evaluate it: on Iris, and on a file with a new label. */
START_TEST(test_fit_then_eval)
{
	const char *root = getenv("SIGMOE_SOURCE_ROOT");
	struct result r;
	char args[4096];
	double acc = 0;

	ck_assert(root != NULL);
	snprintf(args, sizeof(args),
	         "fit '%s/data/iris.csv' --out '%s/iris.json' --experts 2 "
	         "--l2 1e-3 --seed 3",
	         root, tmpdir);
	run(&r, args);
	ck_assert_msg(r.status == 0, "fit: %s", r.err);
	ck_assert_msg(strstr(r.out, "held-out: 30 rows, accuracy") != NULL,
	              "%s", r.out);
	ck_assert_msg(strstr(r.err, "log-likelihood") != NULL, "%s", r.err);

	snprintf(args, sizeof(args), "eval '%s/iris.json' '%s/data/iris.csv'",
	         tmpdir, root);
	run(&r, args);
	ck_assert_msg(r.status == 0, "eval: %s", r.err);
	ck_assert(sscanf(r.out, "rows 150, accuracy %lf", &acc) == 1);
	ck_assert_msg(acc > 0.9, "accuracy %g", acc);
	ck_assert(strstr(r.out, "setosa") != NULL);

	snprintf(args, sizeof(args), "eval '%s/iris.json' '%s/fit/%s'", tmpdir,
	         data_dir(), "unknown_label.csv");
	run(&r, args);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(r.err, "unknown_label.csv:6: label 'rose") != NULL,
	              "%s", r.err);
}
END_TEST

/* The confusion matrix counts, on rows whose predictions are certain. */
START_TEST(test_eval_confusion)
{
	struct result r;
	char args[4096];

	snprintf(args, sizeof(args),
	         "eval '%s/fit/truth.json' '%s/fit/confusion.csv'", data_dir(),
	         data_dir());
	run(&r, args);
	ck_assert_msg(r.status == 0, "eval: %s", r.err);
	ck_assert_msg(strstr(r.out, "rows 5, accuracy 0.6000") != NULL, "%s",
	              r.out);
	ck_assert_msg(strstr(r.out, "a                 1  1  0\n"
	                            "b                 0  1  0\n"
	                            "c                 1  0  1\n") != NULL,
	              "%s", r.out);
}
END_TEST

/*
 * --temperature learn writes the learned temperature; --init takes the
 * starting model's experts (2 here, not the default 4) and resumes from
 * its optimum: 3 iterations end no higher than the first fit.
 */
START_TEST(test_learned_temperature_and_init)
{
	const char *root = getenv("SIGMOE_SOURCE_ROOT");
	struct result r;
	char args[4096];
	const char *at;
	double f1 = 0, f2 = 0, tau = 0;

	ck_assert(root != NULL);
	fit_fails("one_class.csv", "--temperature hot", 2, "--temperature");
	fit_fails("one_class.csv", "--init nowhere.json", 1, "nowhere.json");

	snprintf(args, sizeof(args),
	         "fit '%s/data/iris.csv' --out '%s/t.json' --experts 2 "
	         "--temperature learn --seed 3 --quiet",
	         root, tmpdir);
	run(&r, args);
	ck_assert_msg(r.status == 0, "fit: %s", r.err);
	at = strstr(r.out, "objective ");
	ck_assert(at && sscanf(at, "objective %lf", &f1) == 1);
	at = strstr(r.out, "temperature ");
	ck_assert(at && sscanf(at, "temperature %lf", &tau) == 1);
	ck_assert_msg(tau > 0 && tau != 1, "learned temperature %g", tau);

	snprintf(args, sizeof(args),
	         "fit '%s/data/iris.csv' --out '%s/t2.json' --init '%s/t.json' "
	         "--temperature learn --seed 3 --max-iter 3 --quiet",
	         root, tmpdir, tmpdir);
	run(&r, args);
	ck_assert_msg(r.status == 0, "fit --init: %s", r.err);
	at = strstr(r.out, "objective ");
	ck_assert(at && sscanf(at, "objective %lf", &f2) == 1);
	ck_assert_msg(f2 <= f1 + 1e-9, "from the optimum %.9g, first %.9g", f2,
	              f1);
}
END_TEST

static Suite *fit_cli_suite(void)
{
	Suite *s = suite_create("fit-cli");
	TCase *tc = tcase_create("cli");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bad_number);
	tcase_add_test(tc, test_ragged_row);
	tcase_add_test(tc, test_not_finite);
	tcase_add_test(tc, test_one_class);
	tcase_add_test(tc, test_no_rows);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_unknown_label_column);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_fit_then_eval);
	tcase_add_test(tc, test_eval_confusion);
	tcase_add_test(tc, test_learned_temperature_and_init);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SIGMOE_BINARY\n", argv[0]);
		return EXIT_FAILURE;
	}
	sigmoe = argv[1];
	return ts_run(fit_cli_suite());
}
