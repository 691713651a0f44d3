/* SPDX-License-Identifier: MIT */
/*
 * fit.c - `sigmoe fit DATA.csv --out MODEL [options]`: fit a model by
 * maximum likelihood (model/fit.h), show progress on stderr, write the
 * model, and print train and held-out accuracy and log-loss.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "csv.h"
#include "fit.h"

#define PROGRESS_SECONDS 0.5

static const char usage[] =
    "Usage: sigmoe fit DATA.csv --out MODEL [options]\n"
    "\n"
    "Fit a mixture of multinomial logistic experts to the labelled rows of\n"
    "DATA.csv by maximum likelihood (L-BFGS on the L2-penalized negative\n"
    "log-likelihood) and write it to MODEL (.json or .safetensors).\n"
    "Classes are the distinct labels: in numeric order when they are all\n"
    "integers, else sorted.  Features are the other columns, by name.\n"
    "\n"
    "  --out MODEL           where to write the model (required)\n"
    "  --label COL           the label column (default: the last one)\n"
    "  --experts E           number of experts (default 4)\n"
    "  --gate KIND           sigmoid or softmax (default sigmoid)\n"
    "  --score SCORE         euclidean or inner (default euclidean)\n"
    "  --temperature T       fixed gate temperature > 0 (default 1), or\n"
    "                        'learn': estimate it with the other\n"
    "                        parameters, from 1 or --init's\n"
    "  --init MODEL          start the first restart from MODEL's\n"
    "                        parameters, as they are for the inputs the\n"
    "                        fit works on (use --no-standardize when\n"
    "                        MODEL has no standardization); its experts,\n"
    "                        gate, score and temperature are the defaults\n"
    "  --top-k K             experts used per prediction, 0 = all; the\n"
    "                        fit itself uses every expert (default 0)\n"
    "  --l2 LAMBDA           penalty (LAMBDA/2)||theta||^2 on every\n"
    "                        parameter, per row (default 1e-4)\n"
    "  --max-iter N          L-BFGS iterations per restart (default 500)\n"
    "  --tol T               stop when f changes by <= T relative, or the\n"
    "                        largest gradient entry is <= T (default 1e-7)\n"
    "  --restarts R          fits from R starting points; the best is\n"
    "                        kept (default 1)\n"
    "  --seed S              seed of the split and the starts (default 1)\n"
    "  --holdout FRACTION    rows held out for evaluation (default 0.2)\n"
    "  --dtype F32|F64       precision of the written model (default F64)\n"
    "  --name NAME           the model's informational name\n"
    "  --description TEXT    its description (default: a summary of the\n"
    "                        fit and its accuracy)\n"
    "  --no-standardize      fit raw features (default: standardize them\n"
    "                        and store the mean and scale in the model)\n"
    "  --quiet               no progress on stderr\n";

struct fit_args {
	const char *data, *out, *label, *init;
	struct moe_fit_options opts;
	int quiet;
	int given_experts, given_gate, given_score, given_temperature;
};

/* Progress on stderr: a line updated in place on a terminal. */
struct progress {
	int tty, shown;
	double last;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int show_progress(void *ctx, const struct moe_fit_progress *p)
{
	struct progress *pr = ctx;
	double t = now();

	if (pr->shown && t - pr->last < PROGRESS_SECONDS)
		return 0;
	pr->last = t;
	pr->shown = 1;
	fprintf(
	    stderr,
	    "%srestart %zu, iteration %zu: log-likelihood %.6f, objective %.6f, %.1f s%s",
	    pr->tty ? "\r" : "", p->restart + 1, p->iteration, p->loglik,
	    p->objective, p->elapsed, pr->tty ? "\033[K" : "\n");
	return 0;
}

static int parse_real(const char *text, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(text, &end);
	return errno || end == text || *end || !isfinite(*v) ? -1 : 0;
}

static int parse_count(const char *opt, const char *text, uint64_t min,
                       uint64_t max, size_t *v)
{
	uint64_t u;

	if (cli_parse_count(text, min, max, &u))
		return cli_usage_error(
		    "fit", "--%s: '%s' is not a whole number in %llu..%llu",
		    opt, text, (unsigned long long)min,
		    (unsigned long long)max);
	*v = (size_t)u;
	return 0;
}

static int parse_real_option(const char *opt, const char *text, double min,
                             double *v)
{
	if (parse_real(text, v) || *v < min)
		return cli_usage_error(
		    "fit", "--%s: '%s' is not a number >= %g", opt, text, min);
	return 0;
}

static int parse_choice(const char *opt, const char *text, const char *a,
                        const char *b, int *v)
{
	if (!strcmp(text, a))
		*v = 0;
	else if (!strcmp(text, b))
		*v = 1;
	else
		return cli_usage_error("fit", "--%s must be %s or %s, not '%s'",
		                       opt, a, b, text);
	return 0;
}

/* --temperature: a number > 0, or "learn". */
static int parse_temperature(const char *text, struct moe_fit_options *o)
{
	o->learn_temperature = !strcmp(text, "learn");
	if (o->learn_temperature)
		return 0;
	if (parse_real(text, &o->gate.temperature) ||
	    !(o->gate.temperature > 0))
		return cli_usage_error(
		    "fit", "--temperature: '%s' is not a number > 0 or 'learn'",
		    text);
	return 0;
}

static const struct option options[] = {
    {"out", required_argument, NULL, 'o'},
    {"label", required_argument, NULL, 'l'},
    {"experts", required_argument, NULL, 'E'},
    {"gate", required_argument, NULL, 'g'},
    {"score", required_argument, NULL, 's'},
    {"temperature", required_argument, NULL, 't'},
    {"init", required_argument, NULL, 'I'},
    {"top-k", required_argument, NULL, 'k'},
    {"l2", required_argument, NULL, 'L'},
    {"max-iter", required_argument, NULL, 'i'},
    {"tol", required_argument, NULL, 'T'},
    {"restarts", required_argument, NULL, 'r'},
    {"seed", required_argument, NULL, 'S'},
    {"holdout", required_argument, NULL, 'H'},
    {"dtype", required_argument, NULL, 'd'},
    {"name", required_argument, NULL, 'n'},
    {"description", required_argument, NULL, 'D'},
    {"no-standardize", no_argument, NULL, 'N'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option into a; returns 0 or an exit code. */
static int parse_option(int c, struct fit_args *a, char **argv)
{
	struct moe_fit_options *o = &a->opts;
	int v = 0, rc = 0;
	uint64_t seed;

	switch (c) {
	case 'o':
		a->out = optarg;
		break;
	case 'l':
		a->label = optarg;
		break;
	case 'E':
		rc = parse_count("experts", optarg, 1, MOE_MAX_EXPERTS,
		                 &o->n_experts);
		a->given_experts = 1;
		break;
	case 'g':
		rc = parse_choice("gate", optarg, "sigmoid", "softmax", &v);
		o->gate.kind = v ? MOE_GATE_SOFTMAX : MOE_GATE_SIGMOID;
		a->given_gate = 1;
		break;
	case 's':
		rc = parse_choice("score", optarg, "inner", "euclidean", &v);
		o->gate.score = v ? MOE_SCORE_EUCLIDEAN : MOE_SCORE_INNER;
		a->given_score = 1;
		break;
	case 't':
		rc = parse_temperature(optarg, o);
		a->given_temperature = 1;
		break;
	case 'I':
		a->init = optarg;
		break;
	case 'k':
		rc = parse_count("top-k", optarg, 0, MOE_MAX_EXPERTS,
		                 &o->gate.top_k);
		break;
	case 'L':
		rc = parse_real_option("l2", optarg, 0, &o->l2);
		break;
	case 'i':
		rc =
		    parse_count("max-iter", optarg, 1, 100000000, &o->max_iter);
		break;
	case 'T':
		rc = parse_real_option("tol", optarg, 0, &o->tol);
		break;
	case 'r':
		rc = parse_count("restarts", optarg, 1, 100000, &o->restarts);
		break;
	case 'S':
		if (cli_parse_count(optarg, 0, UINT64_MAX, &seed))
			return cli_usage_error(
			    "fit", "--seed: '%s' is not a whole number",
			    optarg);
		o->seed = seed;
		break;
	case 'H':
		rc = parse_real_option("holdout", optarg, 0, &o->holdout);
		if (rc == 0 && o->holdout >= 1)
			rc = cli_usage_error("fit",
			                     "--holdout must be in [0, 1)");
		break;
	case 'd':
		rc = parse_choice("dtype", optarg, "F64", "F32", &v);
		o->dtype = v ? MOE_DTYPE_F32 : MOE_DTYPE_F64;
		break;
	case 'n':
		o->name = optarg;
		break;
	case 'D':
		o->description = optarg;
		break;
	case 'N':
		o->standardize = 0;
		break;
	case 'q':
		a->quiet = 1;
		break;
	default:
		return cli_unknown_option("fit", c, argv);
	}
	return rc;
}

/* The command line into a; returns -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, struct fit_args *a)
{
	enum moe_format format;
	int c, rc;

	moe_fit_options_default(&a->opts);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return -1;
		}
		rc = parse_option(c, a, argv);
		if (rc)
			return rc;
	}

	if (argc - optind != 1)
		return cli_usage_error("fit", "expected one DATA.csv");
	a->data = argv[optind];
	if (!a->out)
		return cli_usage_error("fit", "--out MODEL is required");
	if (moe_format_from_path(a->out, &format))
		return cli_usage_error(
		    "fit",
		    "%s: the output's extension must be .json or .safetensors",
		    a->out);
	if (a->opts.gate.top_k > a->opts.n_experts && !a->init)
		return cli_usage_error(
		    "fit", "--top-k %zu is more than the %zu experts",
		    a->opts.gate.top_k, a->opts.n_experts);
	return 0;
}

static int read_data(const struct fit_args *a, struct moe_dataset **set)
{
	struct moe_csv_options copts = {
	    .label = a->label ? MOE_CSV_LABEL_NAMED : MOE_CSV_LABEL_LAST,
	    .label_name = a->label,
	};
	struct moe_error err = {{0}};

	if (moe_csv_read(a->data, &copts, set, &err))
		return cli_file_error("fit", a->data, &err);
	if ((*set)->n_rows == 0) {
		cli_error("fit", "%s: no data rows", a->data);
		return CLI_EXIT_INPUT;
	}
	if ((*set)->n_classes < 2) {
		cli_error(
		    "fit",
		    "%s: every row has the label '%s'; fitting needs at least 2 classes",
		    a->data, (*set)->classes[0]);
		return CLI_EXIT_INPUT;
	}
	return CLI_EXIT_OK;
}

static void print_report(const struct moe_fit_report *r, const char *out)
{
	printf("train:    %zu rows, accuracy %.4f, log-loss %.6f\n", r->n_train,
	       r->train_accuracy, r->train_logloss);
	if (r->n_holdout > 0)
		printf("held-out: %zu rows, accuracy %.4f, log-loss %.6f\n",
		       r->n_holdout, r->holdout_accuracy, r->holdout_logloss);
	else
		printf("held-out: none\n");
	printf("objective %.9g after %zu iterations (%s), %zu evaluations, "
	       "%.2f s\n",
	       r->objective, r->iterations,
	       r->converged ? "converged" : "not converged", r->evaluations,
	       r->seconds);
	printf("temperature %.9g\n", r->temperature);
	printf("wrote %s\n", out);
}

/*
 * Load --init's model into *init: its experts, gate kind, score and
 * temperature become the settings the command line did not give.
 */
static int load_init(struct fit_args *a, struct moe_model **init)
{
	struct moe_fit_options *o = &a->opts;
	struct moe_error err = {{0}};

	if (moe_model_load(a->init, init, &err))
		return cli_file_error("fit", a->init, &err);
	if (!a->given_experts)
		o->n_experts = (*init)->n_experts;
	if (!a->given_gate)
		o->gate.kind = (*init)->gate.kind;
	if (!a->given_score)
		o->gate.score = (*init)->gate.score;
	if (!a->given_temperature || o->learn_temperature)
		o->gate.temperature = (*init)->gate.temperature;
	o->init = *init;
	if (o->gate.top_k > o->n_experts)
		return cli_usage_error(
		    "fit", "--top-k %zu is more than the %zu experts",
		    o->gate.top_k, o->n_experts);
	return CLI_EXIT_OK;
}

/* Fit the dataset and save the model. */
static int fit(struct fit_args *a, const struct moe_dataset *set)
{
	struct moe_fit_data data = {
	    .n_rows = set->n_rows,
	    .n_features = set->n_features,
	    .n_classes = set->n_classes,
	    .x = set->x,
	    .y = set->y,
	    .features = (const char *const *)set->feature_names,
	    .classes = (const char *const *)set->classes,
	};
	struct progress pr = {.tty = isatty(STDERR_FILENO)};
	struct moe_fit_report report;
	struct moe_model *model = NULL;
	struct moe_error err = {{0}};
	int rc;

	if (!a->quiet) {
		a->opts.progress = show_progress;
		a->opts.progress_ctx = &pr;
	}
	rc = moe_fit(&data, &a->opts, &model, &report, &err);
	if (pr.shown && pr.tty)
		fputc('\n', stderr);
	if (rc) {
		const char *msg = err.message;

		if (!strncmp(msg, "fit: ", 5))
			msg += 5;
		cli_error("fit", "%s: %s", a->data, msg);
		return CLI_EXIT_INPUT;
	}

	if (moe_model_save(model, a->out, &err))
		rc = cli_file_error("fit", a->out, &err);
	else
		print_report(&report, a->out);
	moe_model_free(model);
	return rc ? rc : cli_finish_output("fit");
}

int cli_fit(int argc, char **argv)
{
	struct fit_args a = {0};
	struct moe_dataset *set = NULL;
	struct moe_model *init = NULL;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc < 0)
		return cli_finish_output("fit");
	if (rc)
		return rc;

	rc = a.init ? load_init(&a, &init) : CLI_EXIT_OK;
	if (rc == CLI_EXIT_OK)
		rc = read_data(&a, &set);
	if (rc == CLI_EXIT_OK)
		rc = fit(&a, set);
	moe_dataset_free(set);
	moe_model_free(init);
	return rc;
}
