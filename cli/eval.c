/* SPDX-License-Identifier: MIT */
/*
 * eval.c - `sigmoe eval MODEL DATA.csv [--label COL]`: accuracy, log-loss
 * and a confusion matrix of a model on labelled rows.  The file's labels
 * are matched to the model's classes by name.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csv.h"

#define EVAL_BATCH 1024
#define LOGLOSS_FLOOR 1e-300

static const char usage[] =
    "Usage: sigmoe eval MODEL DATA.csv [--label COL]\n"
    "\n"
    "Score the labelled rows of DATA.csv with MODEL and print the accuracy,\n"
    "the log-loss (mean of -log P(true label)) and the confusion matrix\n"
    "(rows: true class, columns: predicted class).  Columns are matched to\n"
    "the model's features by name when the model has names; labels are\n"
    "matched to its classes by name.\n"
    "\n"
    "  --label COL   the label column (default: the last one)\n";

/* The figures of one evaluation. */
struct tally {
	size_t n, hits;
	double loss;
	size_t *confusion; /* [K][K] or NULL when K is too large */
};

/*
 * The line on which data record `row` (0 = the first after the header)
 * starts in path, counting as the CSV reader does: a line feed outside
 * quotes ends a record and empty records do not count.  0 if unknown.
 */
static size_t line_of_row(const char *path, size_t row)
{
	FILE *f = fopen(path, "rb");
	size_t line = 1, start = 1, record = 0;
	int c, quoted = 0, content = 0;

	if (!f)
		return 0;
	while ((c = getc(f)) != EOF) {
		if (!content && c != '\r' && c != '\n') {
			content = 1;
			start = line;
		}
		if (c == '"')
			quoted = !quoted;
		if (c != '\n')
			continue;
		line++;
		if (quoted || !content)
			continue;
		if (record++ == row + 1)
			break;
		content = 0;
	}
	fclose(f);
	return record == row + 2 || (c == EOF && content) ? start : 0;
}

/*
 * map[c]: the model's index of the file's class c.  A label the model
 * does not know is an error naming the first line that has it.
 */
static int map_classes(const struct moe_model *model,
                       const struct moe_dataset *set, const char *path,
                       size_t *map)
{
	for (size_t c = 0; c < set->n_classes; c++) {
		size_t k, row = 0;

		for (k = 0; k < model->n_classes; k++)
			if (!strcmp(model->classes[k], set->classes[c]))
				break;
		map[c] = k;
		if (k < model->n_classes)
			continue;

		while (set->y[row] != c)
			row++;
		cli_error(
		    "eval",
		    "%s:%zu: label '%s' is not one of the model's %zu classes",
		    path, line_of_row(path, row), set->classes[c],
		    model->n_classes);
		return CLI_EXIT_INPUT;
	}
	return CLI_EXIT_OK;
}

static int read_data(const struct moe_model *model, const char *path,
                     const char *label, struct moe_dataset **set)
{
	struct moe_csv_options copts = {
	    .label = label ? MOE_CSV_LABEL_NAMED : MOE_CSV_LABEL_LAST,
	    .label_name = label,
	    .features = (const char *const *)model->features,
	    .n_features = model->features ? model->n_features : 0,
	    .expect_features = model->features ? 0 : model->n_features,
	};
	struct moe_error err = {{0}};

	if (moe_csv_read(path, &copts, set, &err))
		return cli_file_error("eval", path, &err);
	if ((*set)->n_rows == 0) {
		cli_error("eval", "%s: no data rows", path);
		return CLI_EXIT_INPUT;
	}
	return CLI_EXIT_OK;
}

/* Score rows [at, at + n) and add them to t. */
static int score_batch(const struct moe_model *model,
                       const struct moe_dataset *set, const size_t *map,
                       size_t at, size_t n, struct moe_scratch *sc,
                       double *prob, size_t *label, struct tally *t)
{
	struct moe_output out = {.probabilities = prob, .labels = label};
	struct moe_error err = {{0}};
	size_t K = model->n_classes;

	if (moe_forward(model, set->x + at * set->n_features, n, sc, &out,
	                &err)) {
		cli_error("eval", "rows %zu..%zu: %s", at + 1, at + n,
		          err.message);
		return CLI_EXIT_INPUT;
	}
	for (size_t j = 0; j < n; j++) {
		size_t truth = map[set->y[at + j]];

		t->hits += label[j] == truth;
		t->loss -= log(fmax(prob[j * K + truth], LOGLOSS_FLOOR));
		if (t->confusion)
			t->confusion[truth * K + label[j]]++;
	}
	t->n += n;
	return CLI_EXIT_OK;
}

static int score(const struct moe_model *model, const struct moe_dataset *set,
                 const size_t *map, struct tally *t)
{
	struct moe_scratch *sc = moe_scratch_new();
	double *prob = malloc(EVAL_BATCH * model->n_classes * sizeof(double));
	size_t *label = malloc(EVAL_BATCH * sizeof(size_t));
	int rc = CLI_EXIT_OK;

	if (!sc || !prob || !label) {
		cli_error("eval", "out of memory");
		rc = CLI_EXIT_INPUT;
		goto free_buffers;
	}
	for (size_t at = 0; at < set->n_rows && rc == CLI_EXIT_OK;
	     at += EVAL_BATCH) {
		size_t n = set->n_rows - at;

		rc = score_batch(model, set, map, at,
		                 n < EVAL_BATCH ? n : EVAL_BATCH, sc, prob,
		                 label, t);
	}
free_buffers:
	moe_scratch_free(sc);
	free(prob);
	free(label);
	return rc;
}

static void print_confusion(const struct moe_model *model,
                            const struct tally *t)
{
	size_t K = model->n_classes;
	int first = (int)strlen("true \\ predicted"), width = 1;

	for (size_t k = 0; k < K; k++) {
		int len = (int)strlen(model->classes[k]);

		if (len > first)
			first = len;
		if (len > width)
			width = len;
	}
	if (width < snprintf(NULL, 0, "%zu", t->n))
		width = snprintf(NULL, 0, "%zu", t->n);

	printf("confusion matrix (rows: true class, columns: predicted):\n");
	printf("%-*s", first, "true \\ predicted");
	for (size_t k = 0; k < K; k++)
		printf("  %*s", width, model->classes[k]);
	putchar('\n');
	for (size_t i = 0; i < K; i++) {
		printf("%-*s", first, model->classes[i]);
		for (size_t k = 0; k < K; k++)
			printf("  %*zu", width, t->confusion[i * K + k]);
		putchar('\n');
	}
}

static int evaluate(const char *model_path, const char *data_path,
                    const char *label)
{
	struct moe_model *model = NULL;
	struct moe_dataset *set = NULL;
	struct tally t = {0};
	size_t *map = NULL;
	int rc;

	rc = cli_load_model("eval", model_path, &model);
	if (rc)
		return rc;
	rc = read_data(model, data_path, label, &set);
	if (rc)
		goto free_model;

	map = malloc(set->n_classes * sizeof(*map));
	if (model->n_classes <= CLI_MAX_CONFUSION_CLASSES)
		t.confusion =
		    calloc(model->n_classes * model->n_classes, sizeof(size_t));
	if (!map ||
	    (model->n_classes <= CLI_MAX_CONFUSION_CLASSES && !t.confusion)) {
		cli_error("eval", "out of memory");
		rc = CLI_EXIT_INPUT;
		goto free_model;
	}
	rc = map_classes(model, set, data_path, map);
	if (rc == CLI_EXIT_OK)
		rc = score(model, set, map, &t);
	if (rc == CLI_EXIT_OK) {
		printf("rows %zu, accuracy %.4f, log-loss %.6f\n", t.n,
		       (double)t.hits / (double)t.n, t.loss / (double)t.n);
		if (t.confusion)
			print_confusion(model, &t);
		else
			printf(
			    "confusion matrix: omitted, more than %u classes\n",
			    CLI_MAX_CONFUSION_CLASSES);
		rc = cli_finish_output("eval");
	}
free_model:
	free(map);
	free(t.confusion);
	moe_dataset_free(set);
	moe_model_free(model);
	return rc;
}

int cli_eval(int argc, char **argv)
{
	static const struct option options[] = {
	    {"label", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *label = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'l':
			label = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return cli_finish_output("eval");
		default:
			return cli_unknown_option("eval", c, argv);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("eval", "expected MODEL and DATA.csv");

	return evaluate(argv[optind], argv[optind + 1], label);
}
