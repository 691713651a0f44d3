/* SPDX-License-Identifier: MIT */
/*
 * fuzz_v2.c - KServe V2 infer bodies: each input is parsed as an infer
 * request against a model with feature names (F64) and one without (F32).
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_request_body(1, data, size);
	return 0;
}
