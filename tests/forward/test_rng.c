/* SPDX-License-Identifier: MIT */
/*
 * test_rng.c - the random generator and moe_simulate.
 *
 * The expected generator outputs were computed by an independent Python
 * implementation of splitmix64 and xoshiro256** (the values for seed 0
 * are also the published first outputs of that combination).
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sigmoe.h"
#include "test_support.h"

START_TEST(test_known_values)
{
	struct moe_rng rng;

	moe_rng_seed(&rng, 0);
	ck_assert_uint_eq(moe_rng_next(&rng), 0x99ec5f36cb75f2b4ULL);
	ck_assert_uint_eq(moe_rng_next(&rng), 0xbf6e1f784956452aULL);
	ck_assert_uint_eq(moe_rng_next(&rng), 0x1a5f849d4933e6e0ULL);
	ck_assert_uint_eq(moe_rng_next(&rng), 0x6aa594f1262d2d2cULL);

	moe_rng_seed(&rng, 12345);
	ck_assert_uint_eq(moe_rng_next(&rng), 0xbe6a36374160d49bULL);
	ck_assert_uint_eq(moe_rng_next(&rng), 0x214aaa0637a688c6ULL);

	moe_rng_seed(&rng, 7);
	ck_assert(moe_rng_uniform(&rng) == 0.7005764821796896);
	ck_assert(moe_rng_uniform(&rng) == 0.2787512294737843);
	ck_assert(moe_rng_uniform(&rng) == 0.8396274618764198);
}
END_TEST

/* Mean and variance of 200000 draws, within 5 standard errors. */
START_TEST(test_moments)
{
	const int n = 200000;
	struct moe_rng rng;
	double su = 0, su2 = 0, sn = 0, sn2 = 0, sn4 = 0;

	moe_rng_seed(&rng, 99);
	for (int i = 0; i < n; i++) {
		double u = moe_rng_uniform(&rng), z = moe_rng_normal(&rng);

		ck_assert(u >= 0 && u < 1);
		ck_assert(isfinite(z));
		su += u;
		su2 += u * u;
		sn += z;
		sn2 += z * z;
		sn4 += z * z * z * z;
	}
	ck_assert_double_eq_tol(su / n, 0.5, 5 * sqrt(1.0 / 12 / n));
	ck_assert_double_eq_tol(su2 / n, 1.0 / 3, 5 * sqrt(4.0 / 45 / n));
	ck_assert_double_eq_tol(sn / n, 0, 5 * sqrt(1.0 / n));
	ck_assert_double_eq_tol(sn2 / n, 1, 5 * sqrt(2.0 / n));
	ck_assert_double_eq_tol(sn4 / n, 3, 5 * sqrt(96.0 / n));
}
END_TEST

/*
 * A model whose P(y | x) does not depend on x: one expert, zero slopes,
 * biases log(0.5), log(0.3), log(0.2).  Every label is drawn from
 * (0.5, 0.3, 0.2), and x from N(mean, scale^2).
 */
static struct moe_model *constant_model(int standardize)
{
	static const char *const classes[] = {"a", "b", "c"};
	static double gw[2], gb[1], ew[6], eb[3], mean[2] = {10, -5},
	                                          scale[2] = {2, 0.5};
	struct moe_model_spec spec = {
	    .dtype = MOE_DTYPE_F64,
	    .n_features = 2,
	    .n_experts = 1,
	    .n_classes = 3,
	    .gate = {MOE_GATE_SIGMOID, MOE_SCORE_INNER, 1.0, 0},
	    .classes = classes,
	    .gate_weight = gw,
	    .gate_bias = gb,
	    .expert_weight = ew,
	    .expert_bias = eb,
	    .mean = standardize ? mean : NULL,
	    .scale = standardize ? scale : NULL,
	};
	struct moe_model *m = NULL;
	struct moe_error err;

	eb[0] = log(0.5);
	eb[1] = log(0.3);
	eb[2] = log(0.2);
	ck_assert_int_eq(moe_model_create(&spec, &m, &err), 0);
	return m;
}

START_TEST(test_simulate_frequencies)
{
	const size_t n = 20000;
	struct moe_model *m = constant_model(1);
	double *x = malloc(n * 2 * sizeof(double));
	size_t *y = malloc(n * sizeof(size_t));
	size_t count[3] = {0, 0, 0};
	double mx = 0, my = 0, vx = 0, vy = 0;
	const double p[3] = {0.5, 0.3, 0.2};
	struct moe_error err;

	ck_assert_int_eq(moe_simulate(m, n, 1, x, y, &err), 0);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_lt(y[i], 3);
		count[y[i]]++;
		mx += x[2 * i];
		my += x[2 * i + 1];
	}
	mx /= n;
	my /= n;
	for (size_t i = 0; i < n; i++) {
		vx += (x[2 * i] - mx) * (x[2 * i] - mx);
		vy += (x[2 * i + 1] - my) * (x[2 * i + 1] - my);
	}
	for (int c = 0; c < 3; c++)
		ck_assert_double_eq_tol((double)count[c] / n, p[c],
		                        5 * sqrt(p[c] * (1 - p[c]) / n));
	ck_assert_double_eq_tol(mx, 10, 5 * 2 / sqrt(n));
	ck_assert_double_eq_tol(my, -5, 5 * 0.5 / sqrt(n));
	ck_assert_double_eq_tol(vx / n, 4, 5 * 4 * sqrt(2.0 / n));
	ck_assert_double_eq_tol(vy / n, 0.25, 5 * 0.25 * sqrt(2.0 / n));
	free(x);
	free(y);
	moe_model_free(m);
}
END_TEST

/*
 * A model whose labels depend on x: for a fixed x, the labels' empirical
 * frequencies match moe_forward's probabilities.  Simulated rows are
 * sorted by the sign of the first feature, which decides the class
 * through a steep gate.
 */
START_TEST(test_simulate_follows_model)
{
	static const char *const classes[] = {"neg", "pos"};
	double gw[2] = {50, -50}, gb[2] = {0, 0};
	double ew[4] = {0, 0, 0, 0}, eb[4] = {2, 0, 0, 1};
	struct moe_model_spec spec = {
	    .dtype = MOE_DTYPE_F64,
	    .n_features = 1,
	    .n_experts = 2,
	    .n_classes = 2,
	    .gate = {MOE_GATE_SOFTMAX, MOE_SCORE_INNER, 1.0, 1},
	    .classes = classes,
	    .gate_weight = gw,
	    .gate_bias = gb,
	    .expert_weight = ew,
	    .expert_bias = eb,
	};
	const size_t n = 20000;
	double *x = malloc(n * sizeof(double));
	size_t *y = malloc(n * sizeof(size_t));
	size_t pos[2] = {0, 0}, tot[2] = {0, 0};
	double prob[2], one = 1.0, minus = -1.0;
	struct moe_output out = {.probabilities = prob};
	struct moe_scratch *scratch = moe_scratch_new();
	struct moe_model *m;
	struct moe_error err;

	ck_assert_int_eq(moe_model_create(&spec, &m, &err), 0);
	ck_assert_int_eq(moe_simulate(m, n, 3, x, y, &err), 0);
	for (size_t i = 0; i < n; i++) {
		int side = x[i] > 0;

		tot[side]++;
		pos[side] += y[i];
	}

	/* x > 0: expert 0 (logits 2, 0); x < 0: expert 1 (logits 0, 1). */
	ck_assert_int_eq(moe_forward(m, &one, 1, scratch, &out, &err), 0);
	ck_assert_double_eq_tol(prob[1], 1 / (1 + exp(2)), 1e-12);
	ck_assert_double_eq_tol((double)pos[1] / tot[1], prob[1], 0.02);
	ck_assert_int_eq(moe_forward(m, &minus, 1, scratch, &out, &err), 0);
	ck_assert_double_eq_tol((double)pos[0] / tot[0], prob[1], 0.02);

	moe_scratch_free(scratch);
	moe_model_free(m);
	free(x);
	free(y);
}
END_TEST

START_TEST(test_simulate_deterministic)
{
	const size_t n = 1000;
	struct moe_model *m = constant_model(0);
	double *x1 = malloc(n * 2 * sizeof(double));
	double *x2 = malloc(n * 2 * sizeof(double));
	size_t *y1 = malloc(n * sizeof(size_t)),
	       *y2 = malloc(n * sizeof(size_t));
	struct moe_error err;

	ck_assert_int_eq(moe_simulate(m, n, 42, x1, y1, &err), 0);
	ck_assert_int_eq(moe_simulate(m, n, 42, x2, y2, &err), 0);
	ck_assert(memcmp(x1, x2, n * 2 * sizeof(double)) == 0);
	ck_assert(memcmp(y1, y2, n * sizeof(size_t)) == 0);

	/* The first rows do not depend on n (no batching effects). */
	ck_assert_int_eq(moe_simulate(m, 300, 42, x2, y2, &err), 0);
	ck_assert(memcmp(x1, x2, 300 * 2 * sizeof(double)) == 0);
	ck_assert(memcmp(y1, y2, 300 * sizeof(size_t)) == 0);

	ck_assert_int_eq(moe_simulate(m, n, 43, x2, y2, &err), 0);
	ck_assert(memcmp(x1, x2, n * 2 * sizeof(double)) != 0);
	ck_assert_int_eq(moe_simulate(m, 0, 43, x2, y2, &err), 0);

	free(x1);
	free(x2);
	free(y1);
	free(y2);
	moe_model_free(m);
}
END_TEST

static Suite *rng_suite(void)
{
	Suite *s = suite_create("rng");
	TCase *tc = tcase_create("rng");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_known_values);
	tcase_add_test(tc, test_moments);
	tcase_add_test(tc, test_simulate_frequencies);
	tcase_add_test(tc, test_simulate_follows_model);
	tcase_add_test(tc, test_simulate_deterministic);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run(rng_suite());
}
