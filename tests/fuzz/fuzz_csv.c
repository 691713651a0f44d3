/* SPDX-License-Identifier: MIT */
/*
 * fuzz_csv.c - the CSV reader (moe_csv_read_buffer).  The first byte of
 * an input picks one of the option sets below, the rest is the file.  A
 * table that is read must hold what its header promises.
 */
#include <math.h>

#include "csv.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ab[] = {"a", "b"};
static const char *const iris[] = {"petal_width", "sepal_length"};
static const char *const dup[] = {"a", "a"};

static const struct moe_csv_options option_sets[] = {
    {.label = MOE_CSV_NO_LABEL},
    {.label = MOE_CSV_LABEL_LAST},
    {.label = MOE_CSV_LABEL_NAMED, .label_name = "label"},
    {.label = MOE_CSV_LABEL_NAMED,
     .label_name = "species",
     .label_optional = 1,
     .features = ab,
     .n_features = 2},
    {.label = MOE_CSV_NO_LABEL, .expect_features = 3},
    {.label = MOE_CSV_LABEL_LAST, .features = iris, .n_features = 2},
    {.label = MOE_CSV_LABEL_LAST, .expect_features = 4},
    {.label = MOE_CSV_NO_LABEL, .features = dup, .n_features = 2},
};

#define N_SETS (sizeof(option_sets) / sizeof(option_sets[0]))

/* What moe_csv_read_buffer promises about a table it returns. */
static void check_table(const struct moe_dataset *t,
                        const struct moe_csv_options *o)
{
	size_t i;

	if (o->features && t->n_features != o->n_features)
		fuzz_die("%zu features for %zu names", t->n_features,
		         o->n_features);
	if (o->expect_features && t->n_features != o->expect_features)
		fuzz_die("%zu features, %zu expected", t->n_features,
		         o->expect_features);
	for (i = 0; i < t->n_features; i++)
		if (!t->feature_names[i])
			fuzz_die("feature %zu has no name", i);
	for (i = 0; i < t->n_rows * t->n_features; i++)
		if (!isfinite(t->x[i]))
			fuzz_die("value %zu is %g", i, t->x[i]);
	if (!t->y)
		return;
	for (i = 0; i < t->n_rows; i++)
		if (t->y[i] >= t->n_classes)
			fuzz_die("row %zu: class %zu of %zu", i, t->y[i],
			         t->n_classes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct moe_csv_options *o;
	struct moe_dataset *t = NULL;
	struct moe_error err;

	if (size == 0)
		return 0;
	o = &option_sets[data[0] % N_SETS];
	if (moe_csv_read_buffer((const char *)data + 1, size - 1, "fuzz.csv", o,
	                        &t, &err))
		return 0;
	check_table(t, o);
	moe_dataset_free(t);
	return 0;
}
