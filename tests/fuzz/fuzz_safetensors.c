/* SPDX-License-Identifier: MIT */
/*
 * fuzz_safetensors.c - safetensors model files (moe_model_load_buffer).  A
 * model that loads runs the forward pass and survives save/load round trips.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct moe_model *m = NULL;
	struct moe_error err;

	if (moe_model_load_buffer(data, size, MOE_FORMAT_SAFETENSORS,
	                          "fuzz.safetensors", &m, &err))
		return 0;
	fuzz_exercise_model(m);
	moe_model_free(m);
	return 0;
}
