/* SPDX-License-Identifier: MIT */
/*
 * simulate.c - `sigmoe simulate MODEL --n N --seed S`: a labelled sample
 * drawn from the model, as CSV on stdout, that predict, eval and fit read
 * back.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: sigmoe simulate MODEL --n N [--seed S]\n"
    "\n"
    "Draw N labelled rows from the model and write them as CSV to stdout:\n"
    "the model's feature names (x0, x1, ... when it has none) and a label\n"
    "column of class names. Each feature is drawn from N(mean, scale^2)\n"
    "of the model's standardization, else N(0, 1); the label from\n"
    "P(y | x). The same model, N and seed give the same bytes.\n"
    "\n"
    "  --n N     rows to draw (1 to 67108864)\n"
    "  --seed S  random seed, 0 to 2^64 - 1 (default 0)\n";

struct request {
	const char *model_path;
	uint64_t n;
	uint64_t seed;
	int have_n;
};

/* Is name one of the model's feature names? */
static int is_feature(const struct moe_model *m, const char *name)
{
	size_t j;

	for (j = 0; m->features && j < m->n_features; j++)
		if (!strcmp(m->features[j], name))
			return 1;
	return 0;
}

/*
 * The label column is "label", with underscores added while a feature
 * has that name.  Returns a malloc'd name or NULL.
 */
static char *label_column(const struct moe_model *m)
{
	size_t len = strlen("label");
	char *name = malloc(len + m->n_features + 1);

	if (!name)
		return NULL;
	strcpy(name, "label");
	while (is_feature(m, name))
		strcpy(name + len++, "_");
	return name;
}

static int write_header(const struct moe_model *m)
{
	char *label = label_column(m);
	size_t j;

	if (!label)
		return -1;
	for (j = 0; j < m->n_features; j++) {
		if (m->features)
			cli_write_field(stdout, m->features[j]);
		else
			printf("x%zu", j);
		fputc(',', stdout);
	}
	cli_write_field(stdout, label);
	fputc('\n', stdout);
	free(label);
	return 0;
}

/* The inputs are doubles whatever the dtype: print them exactly. */
static void write_rows(const struct moe_model *m, const double *x,
                       const size_t *y, size_t n)
{
	size_t i, j, d = m->n_features;

	for (i = 0; i < n; i++) {
		for (j = 0; j < d; j++)
			printf("%.17g,", x[i * d + j]);
		cli_write_field(stdout, m->classes[y[i]]);
		fputc('\n', stdout);
	}
}

static int simulate(const struct request *req)
{
	struct moe_model *model = NULL;
	struct moe_error err = {{0}};
	double *x = NULL;
	size_t *y = NULL;
	int rc;

	rc = cli_load_model("simulate", req->model_path, &model);
	if (rc)
		return rc;

	x = calloc(req->n * model->n_features, sizeof(*x));
	y = calloc(req->n, sizeof(*y));
	if (!x || !y) {
		cli_error("simulate", "out of memory");
		rc = CLI_EXIT_INPUT;
		goto free_all;
	}
	if (moe_simulate(model, req->n, req->seed, x, y, &err)) {
		rc = cli_file_error("simulate", req->model_path, &err);
		goto free_all;
	}
	if (write_header(model)) {
		cli_error("simulate", "out of memory");
		rc = CLI_EXIT_INPUT;
		goto free_all;
	}
	write_rows(model, x, y, req->n);
	rc = cli_finish_output("simulate");

free_all:
	free(x);
	free(y);
	moe_model_free(model);
	return rc;
}

static int parse_options(int argc, char **argv, struct request *req)
{
	static const struct option options[] = {
	    {"n", required_argument, NULL, 'n'},
	    {"seed", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_parse_count(optarg, 1, MOE_MAX_CSV_ROWS,
			                    &req->n))
				return cli_usage_error(
				    "simulate",
				    "--n must be a whole number from 1 to %lu, not '%s'",
				    MOE_MAX_CSV_ROWS, optarg);
			req->have_n = 1;
			break;
		case 's':
			if (cli_parse_count(optarg, 0, UINT64_MAX, &req->seed))
				return cli_usage_error(
				    "simulate",
				    "--seed must be a whole number from 0 to 2^64 - 1, not '%s'",
				    optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return cli_finish_output("simulate") ? CLI_EXIT_INPUT
			                                     : -1;
		default:
			return cli_unknown_option("simulate", c, argv);
		}
	}
	return 0;
}

int cli_simulate(int argc, char **argv)
{
	struct request req = {0};
	int rc = parse_options(argc, argv, &req);

	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (argc - optind != 1)
		return cli_usage_error("simulate", "expected one model file");
	if (!req.have_n)
		return cli_usage_error("simulate", "--n N is required");

	req.model_path = argv[optind];
	return simulate(&req);
}
