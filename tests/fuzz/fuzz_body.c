/* SPDX-License-Identifier: MIT */
/*
 * fuzz_body.c - a request body through the api module, as the daemon
 * handles it: parse against each fixed model, then for an accepted body
 * the forward pass and the response encoder.
 */
#include <errno.h>
#include <stdlib.h>

#include "api.h"
#include "fuzz.h"

#define MAX_INSTANCES 64

/* What the daemon does with a parsed request, without HTTP. */
static void answer(const struct moe_model *m, const struct api_request *req)
{
	struct moe_output out = {0};
	struct moe_scratch *scratch;
	struct moe_error merr;
	struct api_result res;
	struct api_buf buf;

	if (req->n == 0 || req->n > MAX_INSTANCES || req->d != m->n_features)
		fuzz_die("accepted %zu rows of %zu values", req->n, req->d);
	if (api_outputs_alloc(m, req->n, req->outputs | API_OUT_WEIGHTS, &out))
		return;
	scratch = moe_scratch_new();
	if (!scratch)
		goto free_out;
	if (moe_forward(m, req->x, req->n, scratch, &out, &merr))
		fuzz_die("forward on an accepted body: %s", merr.message);

	res = (struct api_result){
	    .model = m, .name = "fuzz", .version = 1, .n = req->n, .out = &out};
	api_buf_init(&buf);
	if (api_encode_response(&buf, req, &res) == -EINVAL)
		fuzz_die("the encoder refused a parsed request");
	api_buf_free(&buf);
	moe_scratch_free(scratch);
free_out:
	api_outputs_free(&out);
}

void fuzz_request_body(int v2, const uint8_t *data, size_t size)
{
	static const enum api_kind native[] = {API_PREDICT, API_GATES};
	static const enum api_kind infer[] = {API_V2_INFER};
	const enum api_kind *kinds = v2 ? infer : native;
	size_t k, n_kinds = v2 ? 1 : 2;
	struct api_request req;
	struct api_error err;
	int m;

	for (m = 0; m < FUZZ_MODEL_COUNT; m++) {
		const struct moe_model *model = fuzz_model(m);

		for (k = 0; k < n_kinds; k++) {
			if (api_parse_request(model, kinds[k],
			                      (const char *)data, size,
			                      MAX_INSTANCES, &req, &err))
				continue;
			answer(model, &req);
			api_request_free(&req);
		}
	}
}
