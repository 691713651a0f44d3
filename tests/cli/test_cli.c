/* SPDX-License-Identifier: MIT */
/*
 * test_cli.c - the `sigmoe` binary end to end: every verb run as a user
 * would, its exit code, stdout and stderr checked.
 *
 * The binary's path is the first argument.  Expected predictions come
 * from tests/tools/cli_reference.py (numpy), committed as
 * tests/data/cli/expected_*.csv, and are compared number by number with
 * a tolerance of 1e-12 (F64 models) or 1e-5 (F32 models, whose
 * reference is computed in double from float-rounded parameters).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sigmoe.h"
#include "test_support.h"

#define TOL_F64 1e-12
#define TOL_F32 1e-5
#define MAX_ARGS 16

static const char *tool;
static char tmp_dir[] = "/tmp/sigmoe-cli-XXXXXX";

/* What one run of the tool did. */
struct run {
	int status; /* exit code, or -1 if it did not exit */
	char *out;
	char *err;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static const char *data(const char *name)
{
	static char paths[8][4096];
	static int next;
	const char *dir = getenv("SIGMOE_TEST_DATA");
	char *p = paths[next++ % 8];

	snprintf(p, 4096, "%s/cli/%s", dir ? dir : "tests/data", name);
	return p;
}

static const char *tmp(const char *name)
{
	static char paths[8][4096];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 4096, "%s/%s", tmp_dir, name);
	return p;
}

static void redirect(int fd, const char *path)
{
	int file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (file < 0 || dup2(file, fd) < 0)
		_exit(127);
	close(file);
}

/* run_tool - run sigmoe with the given arguments, NULL-terminated. */
static struct run run_tool(const char *first, ...)
{
	const char *argv[MAX_ARGS + 2] = {tool};
	struct run r = {.status = -1};
	char out_path[4200], err_path[4200];
	va_list ap;
	int n = 1, status;
	pid_t pid;

	va_start(ap, first);
	for (const char *a = first; a && n <= MAX_ARGS; a = va_arg(ap, char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;

	snprintf(out_path, sizeof(out_path), "%s/.stdout", tmp_dir);
	snprintf(err_path, sizeof(err_path), "%s/.stderr", tmp_dir);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		redirect(1, out_path);
		redirect(2, err_path);
		execv(tool, (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status))
		r.status = WEXITSTATUS(status);
	r.out = ts_read_file(out_path, NULL);
	r.err = ts_read_file(err_path, NULL);
	return r;
}

/* Run the tool and save its stdout as file name in the temporary dir. */
static struct run run_to_file(const char *name, const char *first, ...)
{
	const char *args[MAX_ARGS + 1];
	va_list ap;
	int n = 0;
	struct run r;

	va_start(ap, first);
	for (const char *a = first; a && n < MAX_ARGS; a = va_arg(ap, char *))
		args[n++] = a;
	va_end(ap);
	for (; n < MAX_ARGS; n++)
		args[n] = NULL;

	r = run_tool(args[0], args[1], args[2], args[3], args[4], args[5],
	             args[6], args[7], NULL);
	write_file(tmp(name), r.out);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void teardown(void)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp_dir);
	strcpy(tmp_dir + strlen(tmp_dir) - 6, "XXXXXX");
}

/* Split s at sep in place; returns the number of pieces (<= max). */
static size_t split(char *s, char sep, char **pieces, size_t max)
{
	size_t n = 0;

	while (n < max) {
		char *next = strchr(s, sep);

		pieces[n++] = s;
		if (!next)
			break;
		*next = '\0';
		s = next + 1;
	}
	return n;
}

static int is_number(const char *s, double *v)
{
	char *end;

	if (!*s)
		return 0;
	*v = strtod(s, &end);
	return *end == '\0';
}

/*
 * assert_csv_close - two CSV texts (no quoted fields) equal line by line:
 * numbers within tol, everything else exactly.
 */
static void assert_csv_close(const char *got_text, const char *want_text,
                             double tol)
{
	char *got = strdup(got_text), *want = strdup(want_text);
	char *gl[20000], *wl[20000], *gf[64], *wf[64];
	size_t n_got = split(got, '\n', gl, 20000);
	size_t n_want = split(want, '\n', wl, 20000);

	ck_assert_uint_eq(n_got, n_want);
	ck_assert_str_eq(gl[0], wl[0]);
	for (size_t i = 1; i < n_got; i++) {
		size_t nf = split(gl[i], ',', gf, 64);

		ck_assert_uint_eq(nf, split(wl[i], ',', wf, 64));
		for (size_t j = 0; j < nf; j++) {
			double g, w;

			if (!is_number(wf[j], &w)) {
				ck_assert_str_eq(gf[j], wf[j]);
				continue;
			}
			ck_assert_msg(is_number(gf[j], &g),
			              "line %zu: '%s' is not a number", i + 1,
			              gf[j]);
			ck_assert_msg(fabs(g - w) <= tol,
			              "line %zu field %zu: %.17g, want %.17g",
			              i + 1, j + 1, g, w);
		}
	}
	free(got);
	free(want);
}

static void assert_predict(const char *model, const char *input,
                           const char *expected, const char *flag, double tol)
{
	struct run r =
	    run_tool("predict", data(model), data(input), flag, NULL);
	char *want = ts_read_file(data(expected), NULL);

	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err, "");
	assert_csv_close(r.out, want, tol);
	free(want);
	run_free(&r);
}

START_TEST(help_and_version)
{
	static const char *const verbs[] = {"check", "inspect", "convert",
	                                    "predict", "simulate"};
	struct run r = run_tool("--version", NULL);
	char usage[64];

	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "sigmoe " SIGMOE_VERSION "\n");
	run_free(&r);

	r = run_tool("--help", NULL);
	ck_assert_int_eq(r.status, 0);
	for (size_t i = 0; i < 5; i++)
		ck_assert_ptr_nonnull(strstr(r.out, verbs[i]));
	run_free(&r);

	for (size_t i = 0; i < 5; i++) {
		r = run_tool(verbs[i], "--help", NULL);
		snprintf(usage, sizeof(usage), "Usage: sigmoe %s ", verbs[i]);
		ck_assert_int_eq(r.status, 0);
		ck_assert_msg(!strncmp(r.out, usage, strlen(usage)), "%s",
		              r.out);
		run_free(&r);
	}
}
END_TEST

START_TEST(usage_errors_exit_2)
{
	struct run r = run_tool(NULL);

	ck_assert_int_eq(r.status, 2);
	run_free(&r);

	r = run_tool("frobnicate", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.err, "sigmoe: unknown command 'frobnicate'\n"
	                        "Try 'sigmoe --help'.\n");
	run_free(&r);

	r = run_tool("predict", "--bogus", data("named.json"), NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(
	    strstr(r.err, "sigmoe predict: unknown option '--bogus'"));
	run_free(&r);

	r = run_tool("check", NULL);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);

	r = run_tool("simulate", data("named.json"), "--n", "zero", NULL);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);

	r = run_tool("simulate", data("named.json"), NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(
	    strstr(r.err, "sigmoe simulate: --n N is required"));
	run_free(&r);

	r = run_tool("convert", data("named.json"), tmp("out.txt"), NULL);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);

	r = run_tool("convert", data("named.json"), tmp("out.json"), "--dtype",
	             "F16", NULL);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);
}
END_TEST

START_TEST(check_good_files)
{
	struct run r = run_tool("check", data("named.json"),
	                        data("unnamed.json"), data("f32.json"), NULL);
	char want[16384];

	snprintf(want, sizeof(want), "%s: ok\n%s: ok\n%s: ok\n",
	         data("named.json"), data("unnamed.json"), data("f32.json"));
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, want);
	ck_assert_str_eq(r.err, "");
	run_free(&r);
}
END_TEST

/* A bad file among good ones: exit 1, the good ones still reported. */
START_TEST(check_bad_files)
{
	static const char *const bad[] = {
	    "bad_shape.json", "bad_key.json",        "bad_temperature.json",
	    "truncated.json", "wrong_extension.txt", "missing.json",
	};
	char prefix[4200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run r =
		    run_tool("check", data("named.json"), data(bad[i]), NULL);

		ck_assert_msg(r.status == 1, "%s: exit %d", bad[i], r.status);
		snprintf(prefix, sizeof(prefix), "%s: ok\n",
		         data("named.json"));
		ck_assert_str_eq(r.out, prefix);
		snprintf(prefix, sizeof(prefix),
		         "sigmoe check: %s: ", data(bad[i]));
		ck_assert_msg(!strncmp(r.err, prefix, strlen(prefix)), "%s: %s",
		              bad[i], r.err);
		/* One line of message. */
		ck_assert_ptr_eq(strchr(r.err, '\n'),
		                 r.err + strlen(r.err) - 1);
		run_free(&r);
	}
}
END_TEST

static size_t file_size(const char *path)
{
	size_t len;

	free(ts_read_file(path, &len));
	return len;
}

START_TEST(inspect_summary)
{
	struct run r = run_tool("inspect", data("named.json"), NULL);
	char cmd[4200], digest[80] = "", line[200];
	FILE *sum;

	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", data("named.json"));
	sum = popen(cmd, "r");
	ck_assert_ptr_nonnull(sum);
	ck_assert_int_eq(fscanf(sum, "%64s", digest), 1);
	pclose(sum);

	ck_assert_int_eq(r.status, 0);
	snprintf(line, sizeof(line), "digest:        sha256:%s\n", digest);
	ck_assert_ptr_nonnull(strstr(r.out, line));
	ck_assert_ptr_nonnull(strstr(r.out, "format:        json\n"));
	snprintf(line, sizeof(line), "size:          %zu bytes\n",
	         file_size(data("named.json")));
	ck_assert_ptr_nonnull(strstr(r.out, line));
	ck_assert_ptr_nonnull(strstr(r.out, "dtype:         F64\n"));
	ck_assert_ptr_nonnull(
	    strstr(r.out, "features (d):  3: f_a, f_b, f_c\n"));
	ck_assert_ptr_nonnull(
	    strstr(r.out, "classes (K):   3: cat, dog, bird\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "experts (E):   3\n"));
	ck_assert_ptr_nonnull(strstr(
	    r.out,
	    "gate:          sigmoid, score euclidean, temperature 2, top_k 2\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "standardize:   yes\n"));
	/* 3*3 + 3 + 3*3*3 + 3*3 + 2*3 */
	ck_assert_ptr_nonnull(strstr(r.out, "parameters:    54\n"));
	run_free(&r);

	r = run_tool("inspect", data("unnamed.json"), NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "features (d):  2 (unnamed)\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "standardize:   no\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "parameters:    18\n"));
	run_free(&r);

	r = run_tool("inspect", data("bad_shape.json"), NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	run_free(&r);
}
END_TEST

static int files_equal(const char *a, const char *b)
{
	size_t la, lb;
	char *ta = ts_read_file(a, &la), *tb = ts_read_file(b, &lb);
	int same = la == lb && !memcmp(ta, tb, la);

	free(ta);
	free(tb);
	return same;
}

/* JSON -> safetensors -> JSON gives the bytes JSON -> JSON gives. */
START_TEST(convert_round_trip_bytes)
{
	static const char *const models[] = {"named.json", "unnamed.json",
	                                     "f32.json"};

	for (size_t i = 0; i < 3; i++) {
		struct run r;

		r = run_tool("convert", data(models[i]), tmp("a.json"), NULL);
		ck_assert_msg(r.status == 0, "%s", r.err);
		run_free(&r);
		r = run_tool("convert", data(models[i]), tmp("b.safetensors"),
		             NULL);
		ck_assert_msg(r.status == 0, "%s", r.err);
		run_free(&r);
		r = run_tool("convert", tmp("b.safetensors"), tmp("c.json"),
		             NULL);
		ck_assert_msg(r.status == 0, "%s", r.err);
		run_free(&r);
		r = run_tool("convert", tmp("c.json"), tmp("d.safetensors"),
		             NULL);
		ck_assert_msg(r.status == 0, "%s", r.err);
		run_free(&r);

		ck_assert_msg(files_equal(tmp("a.json"), tmp("c.json")), "%s",
		              models[i]);
		ck_assert_msg(
		    files_equal(tmp("b.safetensors"), tmp("d.safetensors")),
		    "%s", models[i]);

		r = run_tool("check", tmp("b.safetensors"), NULL);
		ck_assert_int_eq(r.status, 0);
		run_free(&r);
	}
}
END_TEST

static void assert_params_rounded(const double *orig, const void *conv,
                                  size_t n)
{
	const double *c = conv;

	for (size_t i = 0; i < n; i++)
		ck_assert_msg(c[i] == (double)(float)orig[i],
		              "[%zu]: %.17g, want %.17g", i, c[i],
		              (double)(float)orig[i]);
}

/* F64 -> F32 -> F64: every parameter is the float nearest the original. */
START_TEST(convert_dtype_round_trip)
{
	struct moe_model *orig = NULL, *back = NULL;
	struct moe_error err;
	struct run r;
	size_t e, d, k;

	r = run_tool("convert", data("named.json"), tmp("f.safetensors"),
	             "--dtype", "F32", NULL);
	ck_assert_msg(r.status == 0, "%s", r.err);
	run_free(&r);
	r = run_tool("inspect", tmp("f.safetensors"), NULL);
	ck_assert_ptr_nonnull(strstr(r.out, "dtype:         F32\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "format:        safetensors\n"));
	run_free(&r);
	r = run_tool("convert", "--dtype", "F64", tmp("f.safetensors"),
	             tmp("g.json"), NULL);
	ck_assert_msg(r.status == 0, "%s", r.err);
	run_free(&r);

	ck_assert_int_eq(moe_model_load(data("named.json"), &orig, &err), 0);
	ck_assert_int_eq(moe_model_load(tmp("g.json"), &back, &err), 0);
	ck_assert_int_eq(back->dtype, MOE_DTYPE_F64);
	e = orig->n_experts;
	d = orig->n_features;
	k = orig->n_classes;
	assert_params_rounded(orig->params.gate_weight,
	                      back->params.gate_weight, e * d);
	assert_params_rounded(orig->params.gate_bias, back->params.gate_bias,
	                      e);
	assert_params_rounded(orig->params.expert_weight,
	                      back->params.expert_weight, e * k * d);
	assert_params_rounded(orig->params.expert_bias,
	                      back->params.expert_bias, e * k);
	assert_params_rounded(orig->params.mean, back->params.mean, d);
	assert_params_rounded(orig->params.scale, back->params.scale, d);
	moe_model_free(orig);
	moe_model_free(back);
}
END_TEST

START_TEST(predict_named_columns)
{
	assert_predict("named.json", "named_input.csv", "expected_named.csv",
	               NULL, TOL_F64);
	assert_predict("named.json", "named_input.csv",
	               "expected_named_gates.csv", "--gates", TOL_F64);
}
END_TEST

START_TEST(predict_unnamed_columns)
{
	/* d + 1 columns: the last is the label. */
	assert_predict("unnamed.json", "unnamed_input.csv",
	               "expected_unnamed.csv", NULL, TOL_F64);
	assert_predict("unnamed.json", "unnamed_input.csv",
	               "expected_unnamed_gates.csv", "--gates", TOL_F64);
}
END_TEST

START_TEST(predict_unnamed_label_option)
{
	struct run last, named, bare;

	/* The label last (default), first (named), or absent. */
	write_file(tmp("last.csv"), "x0,x1,label\n1.5,-2,no\n0.25,3,yes\n");
	write_file(tmp("first.csv"), "label,x0,x1\nno,1.5,-2\nyes,0.25,3\n");
	write_file(tmp("bare.csv"), "x0,x1\n1.5,-2\n0.25,3\n");
	last = run_tool("predict", data("unnamed.json"), tmp("last.csv"), NULL);
	named = run_tool("predict", data("unnamed.json"), tmp("first.csv"),
	                 "--label", "label", NULL);
	bare = run_tool("predict", data("unnamed.json"), tmp("bare.csv"), NULL);

	ck_assert_msg(last.status == 0, "%s", last.err);
	ck_assert_msg(named.status == 0, "%s", named.err);
	ck_assert_msg(bare.status == 0, "%s", bare.err);
	ck_assert(!strncmp(last.out, "label,p_no,p_yes\n", 17));
	ck_assert_str_eq(named.out, last.out);
	ck_assert_str_eq(bare.out, last.out);
	run_free(&last);
	run_free(&named);
	run_free(&bare);
}
END_TEST

/* F32 models print 9 significant digits, F64 ones up to 17. */
START_TEST(predict_f32_digits)
{
	struct run r;
	char *line, *field;

	assert_predict("f32.json", "f32_input.csv", "expected_f32.csv", NULL,
	               TOL_F32);
	assert_predict("f32.json", "f32_input.csv", "expected_f32_gates.csv",
	               "--gates", TOL_F32);

	r = run_tool("predict", data("f32.json"), data("f32_input.csv"), NULL);
	line = strchr(r.out, '\n') + 1;
	field = strchr(line, ',') + 1;
	ck_assert_int_le(strcspn(field, ",e\n") - 2, 9); /* "0." + digits */
	run_free(&r);
}
END_TEST

static char *skip_lines(char *p, size_t n)
{
	while (n-- > 0)
		p = strchr(p, '\n') + 1;
	return p;
}

/* Rows scored in batches give what they give alone. */
START_TEST(predict_across_batches)
{
	struct run sim, whole, part;
	char *rows, *end, *want;
	FILE *f;

	sim = run_to_file("big.csv", "simulate", data("named.json"), "--n",
	                  "9000", "--seed", "5", NULL);
	ck_assert_int_eq(sim.status, 0);

	/* The header and rows 4090..4105, around the first batch's end. */
	rows = skip_lines(sim.out, 4090);
	end = skip_lines(rows, 16);
	f = fopen(tmp("part.csv"), "wb");
	fprintf(f, "%.*s%.*s", (int)(skip_lines(sim.out, 1) - sim.out), sim.out,
	        (int)(end - rows), rows);
	fclose(f);

	whole = run_tool("predict", data("named.json"), tmp("big.csv"), NULL);
	part = run_tool("predict", data("named.json"), tmp("part.csv"), NULL);
	ck_assert_int_eq(whole.status, 0);
	ck_assert_int_eq(part.status, 0);
	want = skip_lines(part.out, 1);
	ck_assert_int_eq(
	    strncmp(skip_lines(whole.out, 4090), want, strlen(want)), 0);
	run_free(&sim);
	run_free(&whole);
	run_free(&part);
}
END_TEST

START_TEST(predict_bad_inputs)
{
	char want[8400];
	struct run r;

	write_file(tmp("bad.csv"), "f_a,f_b,f_c\n1,2,3\n4,x5,6\n");
	r = run_tool("predict", data("named.json"), tmp("bad.csv"), NULL);
	snprintf(want, sizeof(want),
	         "sigmoe predict: %s:3: column f_b: 'x5' is not a number\n",
	         tmp("bad.csv"));
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, want);
	ck_assert_str_eq(r.out, "");
	run_free(&r);

	write_file(tmp("cols.csv"), "f_a,f_c,label\n1,3,x\n");
	r = run_tool("predict", data("named.json"), tmp("cols.csv"), NULL);
	snprintf(want, sizeof(want),
	         "sigmoe predict: %s:1: no column named 'f_b'\n",
	         tmp("cols.csv"));
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, want);
	run_free(&r);

	write_file(tmp("three.csv"), "a,b,c,d\n1,2,3,4\n");
	r = run_tool("predict", data("unnamed.json"), tmp("three.csv"), NULL);
	snprintf(want, sizeof(want),
	         "sigmoe predict: %s:1: expected 2 feature columns, found 4\n",
	         tmp("three.csv"));
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, want);
	run_free(&r);

	r = run_tool("predict", data("missing.json"), tmp("three.csv"), NULL);
	ck_assert_int_eq(r.status, 1);
	run_free(&r);
}
END_TEST

START_TEST(simulate_is_deterministic)
{
	struct run a = run_tool("simulate", data("named.json"), "--n", "500",
	                        "--seed", "42", NULL);
	struct run b = run_tool("simulate", "--seed", "42", "--n", "500",
	                        data("named.json"), NULL);
	struct run c = run_tool("simulate", data("named.json"), "--n", "500",
	                        "--seed", "43", NULL);
	size_t lines = 0;

	ck_assert_int_eq(a.status, 0);
	ck_assert_str_eq(a.out, b.out);
	ck_assert_str_ne(a.out, c.out);
	ck_assert(!strncmp(a.out, "f_a,f_b,f_c,label\n", 18));
	for (const char *p = a.out; (p = strchr(p, '\n')); p++)
		lines++;
	ck_assert_uint_eq(lines, 501);
	run_free(&a);
	run_free(&b);
	run_free(&c);
}
END_TEST

START_TEST(simulate_headers)
{
	struct run r =
	    run_tool("simulate", data("unnamed.json"), "--n", "3", NULL);

	ck_assert_int_eq(r.status, 0);
	ck_assert(!strncmp(r.out, "x0,x1,label\n", 12));
	run_free(&r);

	r = run_tool("simulate", data("label_feature.json"), "--n", "3", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert(!strncmp(r.out, "label,z,label_\n", 15));
	run_free(&r);
}
END_TEST

/*
 * Labels drawn from P(y|x) agree with the argmax as often as the mean
 * of max_k P(k|x) says: within 5 standard errors.
 */
START_TEST(simulate_agrees_with_predict)
{
	struct run sim, pred;
	char *s, *p, *sl[4002], *pl[4002], *f[8];
	double sum_max = 0, sum_sq = 0, agree = 0, n = 4000, mean, se;

	sim = run_to_file("sim.csv", "simulate", data("named.json"), "--n",
	                  "4000", "--seed", "7", NULL);
	ck_assert_int_eq(sim.status, 0);
	pred = run_tool("predict", data("named.json"), tmp("sim.csv"), NULL);
	ck_assert_int_eq(pred.status, 0);

	s = sim.out;
	p = pred.out;
	ck_assert_uint_eq(split(s, '\n', sl, 4002), 4002);
	ck_assert_uint_eq(split(p, '\n', pl, 4002), 4002);
	for (size_t i = 1; i <= 4000; i++) {
		double m = 0;
		char *truth = strrchr(sl[i], ',') + 1;

		ck_assert_uint_eq(split(pl[i], ',', f, 8), 4);
		for (int k = 1; k < 4; k++)
			m = fmax(m, strtod(f[k], NULL));
		sum_max += m;
		sum_sq += m * (1 - m);
		agree += !strcmp(truth, f[0]);
	}
	mean = sum_max / n;
	se = sqrt(sum_sq) / n;
	ck_assert_msg(fabs(agree / n - mean) <= 5 * se,
	              "agreement %.4f, expected %.4f +- %.4f", agree / n, mean,
	              5 * se);
	ck_assert_msg(agree / n > 0.5, "agreement %.4f", agree / n);
	run_free(&sim);
	run_free(&pred);
}
END_TEST

static const char *source(const char *name)
{
	static char path[4096];
	const char *root = getenv("SIGMOE_SOURCE_ROOT");

	snprintf(path, sizeof(path), "%s/%s", root ? root : ".", name);
	return path;
}

/*
 * The bundled hand-made model on the Iris data: valid, and right on 144
 * of 150 flowers, as tests/tools/cli_reference.py computes.
 */
START_TEST(example_model_on_iris)
{
	char model[4096], iris[4096], *pl[160], *il[160], *text;
	struct run r;
	size_t right = 0, n;

	snprintf(model, sizeof(model), "%s", source("models/example.json"));
	snprintf(iris, sizeof(iris), "%s", source("data/iris.csv"));
	r = run_tool("check", model, NULL);
	ck_assert_int_eq(r.status, 0);
	run_free(&r);

	r = run_tool("predict", model, iris, "--label", "species", NULL);
	ck_assert_msg(r.status == 0, "%s", r.err);
	text = ts_read_file(iris, NULL);
	n = split(r.out, '\n', pl, 160);
	ck_assert_uint_eq(n, 152);
	ck_assert_uint_eq(split(text, '\n', il, 160), 152);
	for (size_t i = 1; i <= 150; i++) {
		*strchr(pl[i], ',') = '\0';
		right += !strcmp(pl[i], strrchr(il[i], ',') + 1);
	}
	ck_assert_uint_eq(right, 144);
	free(text);
	run_free(&r);
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *t = tcase_create("verbs");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, help_and_version);
	tcase_add_test(t, usage_errors_exit_2);
	tcase_add_test(t, check_good_files);
	tcase_add_test(t, check_bad_files);
	tcase_add_test(t, inspect_summary);
	tcase_add_test(t, convert_round_trip_bytes);
	tcase_add_test(t, convert_dtype_round_trip);
	tcase_add_test(t, predict_named_columns);
	tcase_add_test(t, predict_unnamed_columns);
	tcase_add_test(t, predict_unnamed_label_option);
	tcase_add_test(t, predict_f32_digits);
	tcase_add_test(t, predict_across_batches);
	tcase_add_test(t, predict_bad_inputs);
	tcase_add_test(t, simulate_is_deterministic);
	tcase_add_test(t, simulate_headers);
	tcase_add_test(t, simulate_agrees_with_predict);
	tcase_add_test(t, example_model_on_iris);
	suite_add_tcase(s, t);
	return s;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-SIGMOE\n", argv[0]);
		return EXIT_FAILURE;
	}
	tool = argv[1];
	return ts_run(cli_suite());
}
