/* SPDX-License-Identifier: MIT */
/*
 * api_samples.c - write one body of each kind the encoders produce into
 * a directory, for tests/api/validate_samples.pl, which checks each
 * against its schema in api/openapi.yaml.  The bodies come from the
 * real parser, forward pass and encoders on models/iris.json.
 *
 * Usage: api_samples MODEL.json OUTDIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static int write_body(const char *dir, const char *name,
		      const struct api_buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	f = fopen(path, "w");
	if (!f || fwrite(b->data, 1, b->len, f) != b->len) {
		perror(path);
		return 1;
	}
	return fclose(f) != 0;
}

/* Parse body, run the model, encode the response into b. */
static int answer(const struct moe_model *m, enum api_kind kind,
		  const char *body, struct api_buf *b)
{
	struct moe_scratch *scratch = moe_scratch_new();
	struct api_request req;
	struct api_error err;
	struct moe_error merr;
	struct moe_output out;
	struct api_result res;
	int r;

	r = api_parse_request(m, kind, body, strlen(body), 100, &req, &err);
	if (r) {
		fprintf(stderr, "parse: %s\n", err.message);
		moe_scratch_free(scratch);
		return 1;
	}
	r = api_outputs_alloc(m, req.n, req.outputs, &out);
	if (!r)
		r = moe_forward(m, req.x, req.n, scratch, &out, &merr);
	res = (struct api_result){m, "iris", 3, req.n, &out};
	if (!r)
		r = api_encode_response(b, &req, &res);
	api_outputs_free(&out);
	api_request_free(&req);
	moe_scratch_free(scratch);
	return r != 0;
}

int main(int argc, char **argv)
{
	static const char rows[] =
		"{\"instances\": [[5.1, 3.5, 1.4, 0.2], {\"sepal_length\": "
		"6.2, \"sepal_width\": 2.9, \"petal_length\": 4.3, "
		"\"petal_width\": 1.3}]%s}";
	struct api_model_status s[2] = {
		{"iris", "AVAILABLE", 3, "/srv/models/iris.json",
		 1764787200.5, "iris.json: gate.bias: expected 3 values",
		 1764787260.0, NULL},
		{"wine", "UNAVAILABLE", 0, "/srv/models/wine.json", 0,
		 "wine.json: not valid JSON", 1764787261.0, NULL},
	};
	struct api_buf b = {0};
	struct moe_model *m;
	struct moe_error err;
	char body[512];
	int bad = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: api_samples MODEL.json OUTDIR\n");
		return 2;
	}
	if (moe_model_load(argv[1], &m, &err)) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	s[0].model = m;

	snprintf(body, sizeof(body), rows, "");
	bad |= answer(m, API_PREDICT, body, &b) ||
	       write_body(argv[2], "PredictResponse", &b);
	bad |= answer(m, API_GATES, body, &b) ||
	       write_body(argv[2], "GatesResponse", &b);
	snprintf(body, sizeof(body), rows, ", \"expert_probabilities\": true");
	bad |= answer(m, API_GATES, body, &b) ||
	       write_body(argv[2], "GatesResponse.ep", &b);
	bad |= api_encode_model_status(&b, &s[0]) ||
	       write_body(argv[2], "ModelStatus", &b);
	bad |= api_encode_model_status(&b, &s[1]) ||
	       write_body(argv[2], "ModelStatus.none", &b);
	bad |= api_encode_model_list(&b, s, 2) ||
	       write_body(argv[2], "ModelList", &b);
	bad |= api_encode_error(&b, "instances[3]: expected 4 values, got 5") ||
	       write_body(argv[2], "Error", &b);

	api_buf_free(&b);
	moe_model_free(m);
	return bad;
}
