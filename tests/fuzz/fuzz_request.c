/* SPDX-License-Identifier: MIT */
/*
 * fuzz_request.c - native predict and gates bodies: each input is parsed
 * as /predict and as /gates against a model with feature names (F64) and
 * one without (F32).
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_request_body(0, data, size);
	return 0;
}
