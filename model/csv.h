/* SPDX-License-Identifier: MIT */
/*
 * csv.h - reading labelled numeric tables from CSV files.
 *
 * The tool's predict, eval, fit and simulate verbs all read and write
 * the same kind of table: a header row of column names, one column of
 * string labels, and numeric feature columns.  Parsing is done by libcsv;
 * this module selects columns, converts numbers, collects the classes and
 * reports errors that name the file, the line and the column.
 */
#ifndef SIGMOE_CSV_H
#define SIGMOE_CSV_H

#include <stddef.h>

#include "sigmoe.h"

enum moe_csv_label {
	MOE_CSV_NO_LABEL = 0,   /* every selected column is a feature */
	MOE_CSV_LABEL_LAST,     /* the last column holds the labels */
	MOE_CSV_LABEL_NAMED,    /* the column named label_name does */
};

struct moe_csv_options {
	enum moe_csv_label label;
	const char *label_name;    /* for MOE_CSV_LABEL_NAMED */
	int label_optional;        /* a missing named label column is fine */

	/*
	 * Feature columns: when features is not NULL, exactly these names
	 * in this order (other columns are ignored and never parsed);
	 * otherwise every column but the label, in file order, and when
	 * expect_features is not 0 there must be exactly that many.
	 */
	const char *const *features;
	size_t n_features;
	size_t expect_features;
};

/* A table read from CSV.  It owns all of its memory. */
struct moe_dataset {
	size_t n_rows;
	size_t n_features;
	char **feature_names;   /* [n_features] */
	double *x;              /* [n_rows][n_features], all finite */

	/*
	 * Labels, when the file has a label column (else all NULL / 0).
	 * classes are the distinct labels: in numeric order when every label
	 * is an integer, else sorted by strcmp.  y[i] indexes classes.
	 */
	size_t n_classes;
	char **classes;
	size_t *y;              /* [n_rows] */
};

/*
 * moe_csv_read - read path into a new dataset.
 * Errors name the file, line and column: "data.csv:14: column
 * petal_width: 'abc' is not a number".  Returns 0, -ENOENT, -EIO,
 * -EINVAL, -E2BIG (a limit of moe_limits.h) or -ENOMEM; *out is set only on
 * success and is freed with moe_dataset_free().
 */
int moe_csv_read(const char *path, const struct moe_csv_options *opts,
		 struct moe_dataset **out, struct moe_error *err);

/*
 * moe_csv_read_buffer - as moe_csv_read, from len bytes of data; label
 * names the source in messages.
 */
int moe_csv_read_buffer(const char *data, size_t len, const char *label,
			const struct moe_csv_options *opts,
			struct moe_dataset **out, struct moe_error *err);

/* moe_dataset_free - release a dataset; NULL is ok. */
void moe_dataset_free(struct moe_dataset *set);

#endif
