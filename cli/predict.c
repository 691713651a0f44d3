/* SPDX-License-Identifier: MIT */
/*
 * predict.c - `sigmoe predict MODEL DATA.csv`: the model's class
 * probabilities (or, with --gates, its gate) for every row, as CSV on
 * stdout.
 *
 * Columns: by name when the model names its features (others ignored);
 * otherwise d feature columns in file order, besides the --label column.
 * Without --label, a file with d + 1 columns has its label last.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csv.h"

static const char usage[] =
    "Usage: sigmoe predict MODEL DATA.csv [--gates] [--label NAME]\n"
    "\n"
    "Score every row of DATA.csv and write CSV to stdout: the header\n"
    "label,p_<class>,... and one row per input row. DATA.csv has a header\n"
    "row. Its columns are matched to the model's features by name when\n"
    "the model names them (other columns are ignored); otherwise it has\n"
    "exactly d feature columns, taken in order, besides the label column.\n"
    "\n"
    "  --gates       write top_expert,activation_0..,weight_0.. instead\n"
    "  --label NAME  the label column, skipped (default: the last column\n"
    "                when the file has d + 1 columns); not needed when\n"
    "                the model names its features\n";

struct request {
	const char *model_path;
	const char *data_path;
	const char *label; /* --label, or NULL */
	int gates;
};

/* Output buffers for one batch. */
struct batch {
	struct moe_output out;
	double *probabilities;
	size_t *labels;
	double *activations;
	double *weights;
	size_t *top_expert;
};

/*
 * first_line - the first line of f that is not blank, with its line
 * feed, in a malloc'd buffer; NULL at end of file, past
 * CLI_MAX_HEADER_BYTES or out of memory.
 */
static char *first_line(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0, content = 0;
	char *buf = malloc(cap), *grown;
	int ch;

	while (buf && (ch = getc(f)) != EOF) {
		if (n + 1 == cap) {
			grown = cap < CLI_MAX_HEADER_BYTES
			            ? realloc(buf, cap * 2)
			            : NULL;
			if (!grown)
				break;
			buf = grown;
			cap *= 2;
		}
		buf[n++] = (char)ch;
		if (ch != '\n' && ch != '\r' && ch != ' ' && ch != '\t')
			content = 1;
		if (ch == '\n' && content) {
			*len = n;
			return buf;
		}
	}
	if (buf && content && feof(f)) {
		*len = n;
		return buf;
	}
	free(buf);
	return NULL;
}

/* How many columns the header of path has; 0 when it cannot tell. */
static size_t count_columns(const char *path)
{
	struct moe_csv_options opts = {.label = MOE_CSV_NO_LABEL};
	struct moe_dataset *set = NULL;
	struct moe_error err;
	FILE *f = fopen(path, "rb");
	size_t n = 0, len = 0;
	char *line;

	if (!f)
		return 0;
	line = first_line(f, &len);
	fclose(f);
	if (!line)
		return 0;

	if (!moe_csv_read_buffer(line, len, path, &opts, &set, &err))
		n = set->n_features;
	moe_dataset_free(set);
	free(line);
	return n;
}

static void csv_options(const struct request *req,
                        const struct moe_model *model,
                        struct moe_csv_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	if (model->features) {
		opts->label = MOE_CSV_NO_LABEL;
		opts->features = (const char *const *)model->features;
		opts->n_features = model->n_features;
		return;
	}

	opts->expect_features = model->n_features;
	if (req->label) {
		opts->label = MOE_CSV_LABEL_NAMED;
		opts->label_name = req->label;
	} else if (count_columns(req->data_path) == model->n_features + 1) {
		opts->label = MOE_CSV_LABEL_LAST;
	} else {
		opts->label = MOE_CSV_NO_LABEL;
	}
}

static void batch_free(struct batch *b)
{
	free(b->probabilities);
	free(b->labels);
	free(b->activations);
	free(b->weights);
	free(b->top_expert);
}

static int batch_alloc(struct batch *b, const struct moe_model *m, int gates)
{
	size_t n = CLI_BATCH_ROWS;

	memset(b, 0, sizeof(*b));
	b->probabilities = calloc(n * m->n_classes, sizeof(double));
	b->labels = calloc(n, sizeof(size_t));
	if (gates) {
		b->activations = calloc(n * m->n_experts, sizeof(double));
		b->weights = calloc(n * m->n_experts, sizeof(double));
		b->top_expert = calloc(n, sizeof(size_t));
	}
	if (!b->probabilities || !b->labels ||
	    (gates && (!b->activations || !b->weights || !b->top_expert))) {
		batch_free(b);
		return -1;
	}

	b->out.probabilities = b->probabilities;
	b->out.labels = b->labels;
	b->out.activations = b->activations;
	b->out.weights = b->weights;
	b->out.top_expert = b->top_expert;
	return 0;
}

/* A header field made of a prefix and a name, quoted as needed. */
static void write_prefixed(const char *prefix, const char *name)
{
	size_t len = strlen(prefix) + strlen(name) + 1;
	char *field = malloc(len);

	if (!field) {
		fputs(prefix, stdout);
		return;
	}
	snprintf(field, len, "%s%s", prefix, name);
	cli_write_field(stdout, field);
	free(field);
}

static void write_header(const struct moe_model *m, int gates)
{
	size_t i;

	if (!gates) {
		fputs("label", stdout);
		for (i = 0; i < m->n_classes; i++) {
			fputc(',', stdout);
			write_prefixed("p_", m->classes[i]);
		}
		fputc('\n', stdout);
		return;
	}

	fputs("top_expert", stdout);
	for (i = 0; i < m->n_experts; i++)
		printf(",activation_%zu", i);
	for (i = 0; i < m->n_experts; i++)
		printf(",weight_%zu", i);
	fputc('\n', stdout);
}

static void write_values(const struct moe_model *m, const double *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		fputc(',', stdout);
		cli_write_number(stdout, m, v[i]);
	}
}

static void write_rows(const struct moe_model *m, const struct batch *b,
                       size_t n, int gates)
{
	size_t i, e = m->n_experts, k = m->n_classes;

	for (i = 0; i < n; i++) {
		if (gates) {
			printf("%zu", b->top_expert[i]);
			write_values(m, b->activations + i * e, e);
			write_values(m, b->weights + i * e, e);
		} else {
			cli_write_field(stdout, m->classes[b->labels[i]]);
			write_values(m, b->probabilities + i * k, k);
		}
		fputc('\n', stdout);
	}
}

/* Run the model over the rows in batches, writing each batch out. */
static int score(const struct request *req, const struct moe_model *model,
                 const struct moe_dataset *set)
{
	struct moe_scratch *scratch = moe_scratch_new();
	struct moe_error err = {{0}};
	struct batch b;
	size_t row, n, d = model->n_features;
	int rc = CLI_EXIT_OK;

	if (!scratch || batch_alloc(&b, model, req->gates)) {
		moe_scratch_free(scratch);
		cli_error("predict", "out of memory");
		return CLI_EXIT_INPUT;
	}

	write_header(model, req->gates);
	for (row = 0; row < set->n_rows && rc == CLI_EXIT_OK; row += n) {
		n = set->n_rows - row;
		if (n > CLI_BATCH_ROWS)
			n = CLI_BATCH_ROWS;
		if (moe_forward(model, set->x + row * d, n, scratch, &b.out,
		                &err)) {
			cli_error("predict", "%s: rows %zu to %zu: %s",
			          req->data_path, row + 1, row + n,
			          err.message);
			rc = CLI_EXIT_INPUT;
			break;
		}
		write_rows(model, &b, n, req->gates);
	}

	batch_free(&b);
	moe_scratch_free(scratch);
	return rc;
}

static int predict(const struct request *req)
{
	struct moe_model *model = NULL;
	struct moe_dataset *set = NULL;
	struct moe_csv_options opts;
	struct moe_error err = {{0}};
	int rc;

	rc = cli_load_model("predict", req->model_path, &model);
	if (rc)
		return rc;

	csv_options(req, model, &opts);
	if (moe_csv_read(req->data_path, &opts, &set, &err)) {
		rc = cli_file_error("predict", req->data_path, &err);
		goto free_model;
	}

	rc = score(req, model, set);
	if (rc == CLI_EXIT_OK)
		rc = cli_finish_output("predict");

	moe_dataset_free(set);
free_model:
	moe_model_free(model);
	return rc;
}

int cli_predict(int argc, char **argv)
{
	static const struct option options[] = {
	    {"gates", no_argument, NULL, 'g'},
	    {"label", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct request req = {0};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'g':
			req.gates = 1;
			break;
		case 'l':
			req.label = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return cli_finish_output("predict");
		default:
			return cli_unknown_option("predict", c, argv);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("predict",
		                       "expected MODEL and DATA.csv");

	req.model_path = argv[optind];
	req.data_path = argv[optind + 1];
	return predict(&req);
}
