/* SPDX-License-Identifier: MIT */
/*
 * convert.c - `sigmoe convert IN OUT [--dtype F32|F64]`: rewrite a model
 * in the format OUT's extension names, optionally in another dtype.
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: sigmoe convert IN OUT [--dtype F32|F64]\n"
    "\n"
    "Write the model in IN to OUT, in the format OUT's extension names\n"
    "(.json or .safetensors). OUT is replaced atomically.\n"
    "\n"
    "  --dtype F32|F64  store and compute in this precision (F64 -> F32\n"
    "                   rounds to nearest; F32 -> F64 is exact)\n";

static int parse_dtype(const char *text, enum moe_dtype *dtype)
{
	if (!strcmp(text, "F64"))
		*dtype = MOE_DTYPE_F64;
	else if (!strcmp(text, "F32"))
		*dtype = MOE_DTYPE_F32;
	else
		return -1;
	return 0;
}

/* Load in, convert it when asked, save it to out. */
static int convert(const char *in, const char *out, int set_dtype,
                   enum moe_dtype dtype)
{
	struct moe_model *model = NULL, *copy = NULL;
	struct moe_error err = {{0}};
	int rc;

	rc = cli_load_model("convert", in, &model);
	if (rc)
		return rc;

	if (set_dtype && dtype != model->dtype) {
		if (moe_model_convert(model, dtype, &copy, &err)) {
			rc = cli_file_error("convert", in, &err);
			goto free_model;
		}
	}

	if (moe_model_save(copy ? copy : model, out, &err))
		rc = cli_file_error("convert", out, &err);

free_model:
	moe_model_free(copy);
	moe_model_free(model);
	return rc;
}

int cli_convert(int argc, char **argv)
{
	static const struct option options[] = {
	    {"dtype", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum moe_dtype dtype = MOE_DTYPE_F64;
	enum moe_format format;
	int c, set_dtype = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_dtype(optarg, &dtype))
				return cli_usage_error(
				    "convert",
				    "--dtype must be F32 or F64, not '%s'",
				    optarg);
			set_dtype = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return cli_finish_output("convert");
		default:
			return cli_unknown_option("convert", c, argv);
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("convert", "expected IN and OUT");
	if (moe_format_from_path(argv[optind + 1], &format))
		return cli_usage_error(
		    "convert",
		    "%s: the output's extension must be .json or .safetensors",
		    argv[optind + 1]);

	return convert(argv[optind], argv[optind + 1], set_dtype, dtype);
}
