/* SPDX-License-Identifier: MIT */
/*
 * test_csv.c - the CSV reader: good tables read right, every bad table
 * of tests/data/csv rejected with its exact message, classes ordered by
 * the rule of csv.h.  Expected values are written out by hand from the
 * files' text.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "test_support.h"

static char path_buf[4096];

/* The path of a file under tests/data/csv. */
static const char *data_path(const char *name)
{
	const char *dir = getenv("SIGMOE_TEST_DATA");

	snprintf(path_buf, sizeof(path_buf), "%s/csv/%s", dir ? dir : ".",
	         name);
	return path_buf;
}

static const struct moe_csv_options label_last = {
    .label = MOE_CSV_LABEL_LAST,
};

static struct moe_dataset *read_ok(const char *name,
                                   const struct moe_csv_options *opts)
{
	struct moe_dataset *set = NULL;
	struct moe_error err = {{0}};
	int rc = moe_csv_read(data_path(name), opts, &set, &err);

	ck_assert_msg(rc == 0, "%s: %d %s", name, rc, err.message);
	ck_assert_ptr_nonnull(set);
	return set;
}

static void assert_classes(const struct moe_dataset *set,
                           const char *const *classes, size_t n)
{
	size_t i;

	ck_assert_uint_eq(set->n_classes, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(set->classes[i], classes[i]);
}

static void assert_y(const struct moe_dataset *set, const size_t *y, size_t n)
{
	size_t i;

	ck_assert_uint_eq(set->n_rows, n);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(set->y[i], y[i]);
}

static void assert_x(const struct moe_dataset *set, const double *x, size_t n)
{
	size_t i;

	ck_assert_uint_eq(set->n_rows * set->n_features, n);
	for (i = 0; i < n; i++)
		ck_assert_msg(set->x[i] == x[i], "x[%zu] = %.17g, want %.17g",
		              i, set->x[i], x[i]);
}

START_TEST(basic_table)
{
	static const char *const classes[] = {"setosa", "versicolor",
	                                      "virginica"};
	static const size_t y[] = {0, 1, 2, 0};
	struct moe_dataset *set = read_ok("basic.csv", &label_last);

	ck_assert_uint_eq(set->n_features, 4);
	ck_assert_str_eq(set->feature_names[0], "sepal_length");
	ck_assert_str_eq(set->feature_names[3], "petal_width");
	assert_classes(set, classes, 3);
	assert_y(set, y, 4);
	ck_assert(set->x[1 * 4 + 2] == 4.7);
	ck_assert(set->x[3 * 4 + 0] == 4.9);
	moe_dataset_free(set);
}
END_TEST

START_TEST(crlf_without_final_newline)
{
	static const char *const classes[] = {"x", "y"};
	static const size_t y[] = {0, 1, 0};
	static const double x[] = {1, 2, 3, 4, -0.5, 16};
	struct moe_dataset *set =
	    read_ok("crlf_no_final_newline.csv", &label_last);

	assert_classes(set, classes, 2);
	assert_y(set, y, 3);
	assert_x(set, x, 6);
	moe_dataset_free(set);
}
END_TEST

START_TEST(quoted_fields)
{
	static const char *const classes[] = {" padded ", "say \"hi\"",
	                                      "two\nlines"};
	static const size_t y[] = {1, 2, 0, 1};
	static const double x[] = {1.5, 2, 3, -4, 5, 6, 7, 8};
	struct moe_dataset *set = read_ok("quoted.csv", &label_last);

	ck_assert_uint_eq(set->n_features, 2);
	ck_assert_str_eq(set->feature_names[1], "b, with comma");
	assert_classes(set, classes, 3);
	assert_y(set, y, 4);
	assert_x(set, x, 8);
	moe_dataset_free(set);
}
END_TEST

START_TEST(integer_labels_in_numeric_order)
{
	static const char *const classes[] = {"-1", "2", "+3", "007", "10"};
	static const size_t y[] = {4, 1, 0, 1, 3, 2};
	struct moe_dataset *set = read_ok("int_labels.csv", &label_last);

	assert_classes(set, classes, 5);
	assert_y(set, y, 6);
	moe_dataset_free(set);
}
END_TEST

START_TEST(mixed_labels_in_strcmp_order)
{
	static const char *const classes[] = {"10", "2", "A", "b"};
	static const size_t y[] = {0, 1, 3, 2};
	struct moe_dataset *set = read_ok("mixed_labels.csv", &label_last);

	assert_classes(set, classes, 4);
	assert_y(set, y, 4);
	moe_dataset_free(set);
}
END_TEST

START_TEST(named_features_ignore_other_columns)
{
	static const char *const features[] = {"a", "b"};
	static const char *const classes[] = {"p", "q"};
	static const size_t y[] = {0, 1};
	static const double x[] = {1, 2, 3, 4};
	struct moe_csv_options opts = {
	    .label = MOE_CSV_LABEL_NAMED,
	    .label_name = "label",
	    .features = features,
	    .n_features = 2,
	};
	struct moe_dataset *set = read_ok("named.csv", &opts);

	ck_assert_str_eq(set->feature_names[0], "a");
	ck_assert_str_eq(set->feature_names[1], "b");
	assert_classes(set, classes, 2);
	assert_y(set, y, 2);
	assert_x(set, x, 4);
	moe_dataset_free(set);
}
END_TEST

START_TEST(optional_label_missing)
{
	static const char *const features[] = {"b"};
	static const double x[] = {2, 4};
	struct moe_csv_options opts = {
	    .label = MOE_CSV_LABEL_NAMED,
	    .label_name = "species",
	    .label_optional = 1,
	    .features = features,
	    .n_features = 1,
	};
	struct moe_dataset *set = read_ok("named.csv", &opts);

	ck_assert_uint_eq(set->n_classes, 0);
	ck_assert_ptr_null(set->y);
	ck_assert_ptr_null(set->classes);
	assert_x(set, x, 2);
	moe_dataset_free(set);
}
END_TEST

START_TEST(no_label_reads_every_column)
{
	static const double x[] = {1, 10, 2, 2, 3, -1, 4, 2, 5, 7, 6, 3};
	struct moe_csv_options opts = {
	    .label = MOE_CSV_NO_LABEL,
	    .expect_features = 2,
	};
	struct moe_dataset *set = read_ok("int_labels.csv", &opts);

	ck_assert_ptr_null(set->y);
	ck_assert_str_eq(set->feature_names[1], "y");
	assert_x(set, x, 12);
	moe_dataset_free(set);
}
END_TEST

START_TEST(blank_lines_skipped)
{
	static const char *const classes[] = {"x", "y"};
	static const size_t y[] = {0, 1};
	static const double x[] = {1, 2};
	struct moe_dataset *set = read_ok("blank_lines.csv", &label_last);

	assert_classes(set, classes, 2);
	assert_y(set, y, 2);
	assert_x(set, x, 2);
	moe_dataset_free(set);
}
END_TEST

START_TEST(header_only_is_empty_table)
{
	struct moe_dataset *set = read_ok("header_only.csv", &label_last);

	ck_assert_uint_eq(set->n_rows, 0);
	ck_assert_uint_eq(set->n_features, 2);
	ck_assert_uint_eq(set->n_classes, 0);
	moe_dataset_free(set);
}
END_TEST

/* A bad file, how it is read, and what the reader must say. */
struct bad_case {
	const char *file;
	struct moe_csv_options opts;
	int code;
	const char *message;
};

static const char *const iris_features[] = {"sepal_length", "petal_size"};
static const char *const label_too[] = {"sepal_length", "species"};

#define LAST                                                                   \
	{                                                                      \
		.label = MOE_CSV_LABEL_LAST                                    \
	}

static const struct bad_case bad_cases[] = {
    {"not_number.csv", LAST, -EINVAL,
     "not_number.csv:14: column petal_width: 'abc' is not a number"},
    {"short_row.csv", LAST, -EINVAL,
     "short_row.csv:7: expected 5 fields, found 4"},
    {"long_row.csv", LAST, -EINVAL,
     "long_row.csv:3: expected 5 fields, found 6"},
    {"duplicate_header.csv", LAST, -EINVAL,
     "duplicate_header.csv:1: duplicate column name 'a'"},
    {"empty.csv", LAST, -EINVAL,
     "empty.csv: empty file, expected a header row"},
    {"blank_only.csv", LAST, -EINVAL,
     "blank_only.csv: empty file, expected a header row"},
    {"no_header.csv", LAST, -EINVAL,
     "no_header.csv:1: no header row: the first row holds data ('5.1')"},
    {"bad_quote.csv", LAST, -EINVAL,
     "bad_quote.csv:3: misplaced quote (quote a whole field, double a quote inside)"},
    {"text_after_quote.csv", LAST, -EINVAL,
     "text_after_quote.csv:3: misplaced quote (quote a whole field, double a quote inside)"},
    {"unclosed_quote.csv", LAST, -EINVAL,
     "unclosed_quote.csv:3: a quoted field is not closed at the end of the file"},
    {"nan.csv", LAST, -EINVAL, "nan.csv:2: column b: 'nan' is not a number"},
    {"inf.csv", LAST, -EINVAL, "inf.csv:3: column a: '-inf' is not a number"},
    {"empty_field.csv", LAST, -EINVAL,
     "empty_field.csv:2: column b: '' is not a number"},
    {"trailing_junk.csv", LAST, -EINVAL,
     "trailing_junk.csv:2: column b: '1.5x' is not a number"},
    {"overflow.csv", LAST, -EINVAL,
     "overflow.csv:3: column a: '1e999' is not a number"},
    {"leading_space.csv", LAST, -EINVAL,
     "leading_space.csv:3: column b: ' 4' is not a number"},
    {"after_multiline.csv", LAST, -EINVAL,
     "after_multiline.csv:6: column b: 'zz' is not a number"},
    {"crlf_error.csv", LAST, -EINVAL,
     "crlf_error.csv:4: column b: 'abc' is not a number"},
    {"empty_label.csv", LAST, -EINVAL,
     "empty_label.csv:3: column label: empty label"},
    {"basic.csv",
     {.label = MOE_CSV_LABEL_NAMED, .label_name = "label"},
     -EINVAL,
     "basic.csv:1: no column named 'label'"},
    {"basic.csv",
     {.label = MOE_CSV_LABEL_LAST, .features = iris_features, .n_features = 2},
     -EINVAL,
     "basic.csv:1: no column named 'petal_size'"},
    {"basic.csv",
     {.label = MOE_CSV_LABEL_LAST, .features = label_too, .n_features = 2},
     -EINVAL,
     "basic.csv:1: column 'species' cannot be both the label and a feature"},
    {"basic.csv",
     {.label = MOE_CSV_LABEL_LAST, .expect_features = 3},
     -EINVAL,
     "basic.csv:1: expected 3 feature columns besides the label, found 4"},
    {"basic.csv",
     {.label = MOE_CSV_NO_LABEL},
     -EINVAL,
     "basic.csv:2: column species: 'setosa' is not a number"},
    {"missing.csv", LAST, -ENOENT, "missing.csv: No such file or directory"},
};

#define N_BAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

START_TEST(bad_file)
{
	const struct bad_case *c = &bad_cases[_i];
	struct moe_dataset *set = NULL;
	struct moe_error err = {{0}};
	int rc = moe_csv_read(data_path(c->file), &c->opts, &set, &err);

	ck_assert_msg(rc == c->code, "%s: rc %d, want %d (%s)", c->file, rc,
	              c->code, err.message);
	ck_assert_str_eq(err.message, c->message);
	ck_assert_ptr_null(set);
}
END_TEST

/* A table with one field of len bytes in its label column. */
static char *long_field_table(size_t len, size_t *size)
{
	char *text = malloc(len + 32);

	strcpy(text, "a,label\n1,");
	memset(text + strlen(text), 'z', len);
	strcpy(text + 10 + len, "\n");
	*size = strlen(text);
	return text;
}

START_TEST(field_length_limit)
{
	struct moe_dataset *set = NULL;
	struct moe_error err = {{0}};
	size_t size;
	char *text = long_field_table(MOE_MAX_CSV_FIELD_BYTES, &size);
	int rc = moe_csv_read_buffer(text, size, "dir/long.csv", &label_last,
	                             &set, &err);

	ck_assert_msg(rc == 0, "%s", err.message);
	ck_assert_uint_eq(strlen(set->classes[0]), MOE_MAX_CSV_FIELD_BYTES);
	moe_dataset_free(set);
	free(text);

	set = NULL;
	text = long_field_table(MOE_MAX_CSV_FIELD_BYTES + 1, &size);
	rc = moe_csv_read_buffer(text, size, "dir/long.csv", &label_last, &set,
	                         &err);
	ck_assert_int_eq(rc, -E2BIG);
	ck_assert_str_eq(err.message,
	                 "long.csv:2: a field is longer than 4096 bytes");
	ck_assert_ptr_null(set);
	free(text);
}
END_TEST

START_TEST(buffer_matches_file)
{
	static const char text[] = "u,v,w\n1,2,b\n3,4,a\n";
	struct moe_dataset *set = NULL;
	struct moe_error err = {{0}};
	static const double x[] = {1, 2, 3, 4};
	static const size_t y[] = {1, 0};
	static const char *const classes[] = {"a", "b"};

	ck_assert_int_eq(moe_csv_read_buffer(text, sizeof(text) - 1, "t.csv",
	                                     &label_last, &set, &err),
	                 0);
	assert_x(set, x, 4);
	assert_y(set, y, 2);
	assert_classes(set, classes, 2);
	moe_dataset_free(set);
}
END_TEST

static Suite *csv_suite(void)
{
	Suite *s = suite_create("csv");
	TCase *good = tcase_create("good");
	TCase *bad = tcase_create("bad");

	tcase_add_test(good, basic_table);
	tcase_add_test(good, crlf_without_final_newline);
	tcase_add_test(good, quoted_fields);
	tcase_add_test(good, integer_labels_in_numeric_order);
	tcase_add_test(good, mixed_labels_in_strcmp_order);
	tcase_add_test(good, named_features_ignore_other_columns);
	tcase_add_test(good, optional_label_missing);
	tcase_add_test(good, no_label_reads_every_column);
	tcase_add_test(good, blank_lines_skipped);
	tcase_add_test(good, header_only_is_empty_table);
	tcase_add_test(good, buffer_matches_file);
	tcase_add_test(good, field_length_limit);
	suite_add_tcase(s, good);

	tcase_add_loop_test(bad, bad_file, 0, (int)N_BAD);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	return ts_run(csv_suite());
}
