/* SPDX-License-Identifier: MIT */
/*
 * inspect.c - `sigmoe inspect FILE`: a readable summary of one model.
 */
#include <getopt.h>
#include <inttypes.h>

#include "cli.h"

#define LIST_SHOWN 20 /* names listed before "... and N more" */

static const char usage[] =
    "Usage: sigmoe inspect FILE\n"
    "\n"
    "Load and validate a model file and print a summary: format, dtype,\n"
    "shapes, gate, standardization, feature and class names, SHA-256\n"
    "digest, file size and parameter count.\n";

static void print_names(const char *title, char *const *names, size_t n)
{
	size_t i;

	printf("%-14s %zu", title, n);
	if (!names) {
		fputs(" (unnamed)\n", stdout);
		return;
	}

	fputs(":", stdout);
	for (i = 0; i < n && i < LIST_SHOWN; i++) {
		fputs(i ? ", " : " ", stdout);
		cli_write_field(stdout, names[i]);
	}
	if (n > LIST_SHOWN)
		printf(", ... and %zu more", n - LIST_SHOWN);
	fputc('\n', stdout);
}

static uint64_t parameter_count(const struct moe_model *m)
{
	uint64_t d = m->n_features, e = m->n_experts, k = m->n_classes;
	uint64_t n = e * d + e + e * k * d + e * k;

	if (m->params.mean)
		n += 2 * d;
	return n;
}

static void print_gate(const struct moe_model *m)
{
	printf("%-14s %s, score %s, temperature %.17g, ",
	       "gate:", moe_gate_kind_name(m->gate.kind),
	       moe_score_name(m->gate.score), m->gate.temperature);
	if (m->gate.top_k == 0 || m->gate.top_k == m->n_experts)
		printf("top_k %zu (every expert)\n", m->gate.top_k);
	else
		printf("top_k %zu\n", m->gate.top_k);
}

static void print_summary(const char *path, const struct moe_model *m)
{
	printf("%-14s %s\n", "file:", path);
	printf("%-14s %s\n", "format:", moe_format_name(m->format));
	printf("%-14s %" PRIu64 " bytes\n", "size:", m->file_bytes);
	printf("%-14s sha256:%s\n", "digest:", m->digest);
	printf("%-14s %s\n", "name:", m->name);
	printf("%-14s %s\n", "description:", m->description);
	printf("%-14s %s\n", "dtype:", moe_dtype_name(m->dtype));
	print_names("features (d):", m->features, m->n_features);
	print_names("classes (K):", m->classes, m->n_classes);
	printf("%-14s %zu\n", "experts (E):", m->n_experts);
	print_gate(m);
	printf("%-14s %s\n", "standardize:", m->params.mean ? "yes" : "no");
	printf("%-14s %" PRIu64 "\n", "parameters:", parameter_count(m));
}

int cli_inspect(int argc, char **argv)
{
	static const struct option options[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct moe_model *model = NULL;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c != 'h')
			return cli_unknown_option("inspect", c, argv);
		fputs(usage, stdout);
		return cli_finish_output("inspect");
	}
	if (argc - optind != 1)
		return cli_usage_error("inspect", "expected one model file");

	rc = cli_load_model("inspect", argv[optind], &model);
	if (rc)
		return rc;
	print_summary(argv[optind], model);
	moe_model_free(model);
	return cli_finish_output("inspect");
}
