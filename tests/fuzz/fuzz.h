/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz share.
 *
 * Each target feeds one parser arbitrary bytes.  A parser may refuse an
 * input, but must never crash, leak, read out of bounds or trip UBSan,
 * and what it accepts must behave: a loaded model runs the forward pass
 * with valid outputs and survives a save/load round trip unchanged.  A
 * broken promise calls fuzz_die(), which aborts so that libFuzzer keeps
 * the input.
 */
#ifndef SIGMOE_FUZZ_H
#define SIGMOE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "sigmoe.h"

/* The fixed small models that request bodies are parsed against. */
enum fuzz_model {
	FUZZ_NAMED_F64 = 0, /* 4 named features, 3 experts, 3 classes */
	FUZZ_ANON_F32,      /* 3 unnamed features, softmax top-2 gate */
	FUZZ_MODEL_COUNT,
};

/*
 * fuzz_model - one of the fixed models, loaded on first use and kept for
 * the life of the process (libFuzzer runs inputs on one thread).
 */
const struct moe_model *fuzz_model(enum fuzz_model which);

/* fuzz_die - report a broken promise on stderr and abort. */
void fuzz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

/*
 * fuzz_check_forward - run moe_forward on n rows of x and check what SPEC
 * promises for finite inputs: finite outputs, probability rows summing
 * to 1, labels and top experts in range.  A refusal (-E2BIG, -ENOMEM) is
 * fine; -EINVAL on finite input is not.
 */
void fuzz_check_forward(const struct moe_model *m, const double *x, size_t n);

/*
 * fuzz_exercise_model - what every target does with a model it loaded:
 * the forward pass on two fixed rows, then for each format a save/load
 * round trip that must give back the same bytes.
 */
void fuzz_exercise_model(const struct moe_model *m);

/*
 * fuzz_request_body - a request body through the api module as the
 * daemon handles it: parsed against each fixed model (as /predict and
 * /gates, or as a V2 infer body when v2 is not 0); an accepted body then
 * goes through the forward pass and the response encoder.
 */
void fuzz_request_body(int v2, const uint8_t *data, size_t size);

#endif
