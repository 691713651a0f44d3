/* SPDX-License-Identifier: MIT */
/*
 * test_forward.c - the forward pass against the independent reference
 * of tests/tools/forward_reference.py, hand-computed cases, numerics on
 * extreme inputs, input rejection, scratch reuse, and the same outputs
 * whether OpenBLAS (and so the per-row work) uses one thread or two.
 *
 * Each reference case runs with the slopes in the three layouts of
 * enum tf_layout (one product in place, one product on a copy, two
 * products).
 *
 * Tolerances: each reference case carries its own (F64: 1e-11 absolute
 * plus 1e-9 relative; F32: 2e-5 absolute plus 1e-4 relative), applied as
 * |got - want| <= abs + rel * |want|.  Rows must sum to 1 within 1e-12
 * (F64) or 1e-6 (F32).
 */
#include <cblas.h>
#include <check.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "test_support.h"

static double sum_tol(const struct moe_model *m)
{
	return m->dtype == MOE_DTYPE_F64 ? 1e-12 : 1e-6;
}

static void check_array(const char *name, const char *what, const double *got,
                        const double *want, size_t n, double abs_tol,
                        double rel_tol)
{
	for (size_t i = 0; i < n; i++) {
		double tol = abs_tol + rel_tol * fabs(want[i]);

		ck_assert_msg(isfinite(got[i]), "%s: %s[%zu] = %g not finite",
		              name, what, i, got[i]);
		ck_assert_msg(fabs(got[i] - want[i]) <= tol,
		              "%s: %s[%zu] = %.17g, want %.17g (tol %g)", name,
		              what, i, got[i], want[i], tol);
	}
}

/* Labels: equal to the reference's where its margin is clear, and in
 * every case the argmax of our own values with ties to the lower index. */
static void check_argmax(const char *name, const char *what, const size_t *got,
                         const double *want, const double *margins,
                         const double *values, size_t n, size_t width,
                         double tol)
{
	for (size_t r = 0; r < n; r++) {
		const double *v = values + r * width;
		size_t best = 0;

		for (size_t i = 1; i < width; i++)
			if (v[i] > v[best])
				best = i;
		ck_assert_msg(got[r] == best, "%s: %s[%zu] = %zu, argmax %zu",
		              name, what, r, got[r], best);
		if (margins[r] > tol)
			ck_assert_msg(got[r] == (size_t)want[r],
			              "%s: %s[%zu] = %zu, want %zu", name, what,
			              r, got[r], (size_t)want[r]);
	}
}

static void check_sums(const char *name, const struct moe_model *m,
                       const double *p, size_t n, size_t width)
{
	for (size_t r = 0; r < n; r++) {
		double s = 0;

		for (size_t c = 0; c < width; c++)
			s += p[r * width + c];
		ck_assert_msg(fabs(s - 1) <= sum_tol(m),
		              "%s: row %zu sums to %.17g", name, r, s);
	}
}

static void run_reference_case(const cJSON *c, struct moe_scratch *scratch,
                               enum tf_layout layout)
{
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expected");
	const cJSON *tol = cJSON_GetObjectItemCaseSensitive(c, "tolerance");
	const char *name =
	    cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
	double abs_tol =
	    cJSON_GetObjectItemCaseSensitive(tol, "abs")->valuedouble;
	double rel_tol =
	    cJSON_GetObjectItemCaseSensitive(tol, "rel")->valuedouble;
	struct moe_model *m = tf_relayout(tf_case_model(c), layout);
	struct moe_error err = {{0}};
	struct moe_output out;
	double *x, *want[8];
	size_t n, len, e = m->n_experts, k = m->n_classes;
	static const char *const keys[8] = {
	    "probabilities", "activations",
	    "weights",       "expert_probabilities",
	    "labels",        "label_margins",
	    "top_expert",    "top_expert_margins",
	};
	int r;

	x = tf_doubles(c, "x", &len);
	n = len / m->n_features;
	for (int i = 0; i < 8; i++) {
		want[i] = tf_doubles(exp, keys[i], &len);
		ck_assert_ptr_nonnull(want[i]);
	}

	tf_output_alloc(&out, m, n);
	r = moe_forward(m, x, n, scratch, &out, &err);
	ck_assert_msg(r == 0, "%s: %s", name, err.message);

	check_array(name, "probabilities", out.probabilities, want[0], n * k,
	            abs_tol, rel_tol);
	check_array(name, "activations", out.activations, want[1], n * e,
	            abs_tol, rel_tol);
	check_array(name, "weights", out.weights, want[2], n * e, abs_tol,
	            rel_tol);
	check_array(name, "expert_probabilities", out.expert_probabilities,
	            want[3], n * e * k, abs_tol, rel_tol);
	check_argmax(name, "labels", out.labels, want[4], want[5],
	             out.probabilities, n, k, 2 * abs_tol);
	check_argmax(name, "top_expert", out.top_expert, want[6], want[7],
	             out.weights, n, e, 2 * abs_tol);
	check_sums(name, m, out.probabilities, n, k);
	check_sums(name, m, out.weights, n, e);

	tf_output_free(&out);
	for (int i = 0; i < 8; i++)
		free(want[i]);
	free(x);
	moe_model_free(m);
}

static void run_reference_file(const char *file)
{
	cJSON *json = tf_load_json(file);
	const cJSON *cases = cJSON_GetObjectItemCaseSensitive(json, "cases");
	struct moe_scratch *scratch = moe_scratch_new();
	const cJSON *c;
	int count = 0;

	ck_assert_ptr_nonnull(scratch);
	cJSON_ArrayForEach(c, cases)
	{
		for (int layout = 0; layout < 3; layout++)
			run_reference_case(c, scratch, layout);
		count++;
	}
	ck_assert_int_gt(count, 10);
	moe_scratch_free(scratch);
	cJSON_Delete(json);
}

START_TEST(test_reference_variants_f64)
{
	run_reference_file("variants_f64.json");
}
END_TEST

START_TEST(test_reference_variants_f32)
{
	run_reference_file("variants_f32.json");
}
END_TEST

START_TEST(test_reference_extreme_f64)
{
	run_reference_file("extreme_f64.json");
}
END_TEST

START_TEST(test_reference_extreme_f32)
{
	run_reference_file("extreme_f32.json");
}
END_TEST

START_TEST(test_reference_many_experts)
{
	run_reference_file("many_experts.json");
}
END_TEST

/*
 * A model worked out on paper: d = 1, E = 2, K = 2, x = ln 3.
 * Gate slopes (1, -1), biases 0, tau 1: s = (ln 3, -ln 3), so
 * sigma(s) = (3/4, 1/4) and the sigmoid weights are (3/4, 1/4).
 * Expert 0 has logits (ln 3, 0): p0 = (3/4, 1/4); expert 1 has zero
 * logits: p1 = (1/2, 1/2).  P = 3/4 p0 + 1/4 p1 = (11/16, 5/16).
 * With a softmax gate: weights e^s / sum = (9/10, 1/10) and
 * P = (0.725, 0.275).  With top_k = 1 only expert 0 counts: P = p0.
 */
static struct moe_model *tiny_model(enum moe_gate_kind kind,
                                    enum moe_score score, size_t top_k,
                                    const double *gw)
{
	static const char *const classes[] = {"yes", "no"};
	double gb[2] = {0, 0}, ew[4] = {0, 0, 0, 0};
	double eb[4] = {log(3.0), 0, 0, 0};
	struct moe_model_spec spec = {
	    .dtype = MOE_DTYPE_F64,
	    .n_features = 1,
	    .n_experts = 2,
	    .n_classes = 2,
	    .gate = {kind, score, 1.0, top_k},
	    .classes = classes,
	    .gate_weight = gw,
	    .gate_bias = gb,
	    .expert_weight = ew,
	    .expert_bias = eb,
	};
	struct moe_model *m = NULL;
	struct moe_error err;

	ck_assert_msg(moe_model_create(&spec, &m, &err) == 0, "%s",
	              err.message);
	return m;
}

static void expect_tiny(struct moe_model *m, double x, const double *p,
                        const double *w, size_t label, size_t top)
{
	struct moe_scratch *scratch = moe_scratch_new();
	struct moe_output out;
	struct moe_error err;

	tf_output_alloc(&out, m, 1);
	ck_assert_int_eq(moe_forward(m, &x, 1, scratch, &out, &err), 0);
	ck_assert_double_eq_tol(out.probabilities[0], p[0], 1e-15);
	ck_assert_double_eq_tol(out.probabilities[1], p[1], 1e-15);
	ck_assert_double_eq_tol(out.weights[0], w[0], 1e-15);
	ck_assert_double_eq_tol(out.weights[1], w[1], 1e-15);
	ck_assert_uint_eq(out.labels[0], label);
	ck_assert_uint_eq(out.top_expert[0], top);
	tf_output_free(&out);
	moe_scratch_free(scratch);
	moe_model_free(m);
}

START_TEST(test_hand_computed)
{
	const double slopes[2] = {1, -1}, centres[2] = {0, 2};
	double x = log(3.0);

	expect_tiny(tiny_model(MOE_GATE_SIGMOID, MOE_SCORE_INNER, 0, slopes), x,
	            (double[]){11.0 / 16, 5.0 / 16}, (double[]){0.75, 0.25}, 0,
	            0);
	expect_tiny(tiny_model(MOE_GATE_SOFTMAX, MOE_SCORE_INNER, 0, slopes), x,
	            (double[]){0.725, 0.275}, (double[]){0.9, 0.1}, 0, 0);
	expect_tiny(tiny_model(MOE_GATE_SIGMOID, MOE_SCORE_INNER, 1, slopes), x,
	            (double[]){0.75, 0.25}, (double[]){1, 0}, 0, 0);

	/* Euclidean, x = 1 halfway between centres 0 and 2: a tie, equal
	 * weights; with top_k = 1 the tie goes to expert 0. */
	expect_tiny(
	    tiny_model(MOE_GATE_SIGMOID, MOE_SCORE_EUCLIDEAN, 0, centres), 1.0,
	    (double[]){0.625, 0.375}, (double[]){0.5, 0.5}, 0, 0);
	expect_tiny(
	    tiny_model(MOE_GATE_SIGMOID, MOE_SCORE_EUCLIDEAN, 1, centres), 1.0,
	    (double[]){0.75, 0.25}, (double[]){1, 0}, 0, 0);
}
END_TEST

/*
 * Euclidean centres +-1e200, whose squared norms (1e400) overflow a
 * double: at x = 0 both scores are -1e400, equal, so the weights are
 * (1/2, 1/2) and P = (5/8, 3/8) as above; with top_k = 1 the tie goes to
 * expert 0.  At x = 1e200, s = (0, -4e400): all the weight on expert 0.
 * (Found by tests/fuzz: the long double path took the norms from double
 * and answered NaN.)
 */
START_TEST(test_overflowing_centres)
{
	const double centres[2] = {1e200, -1e200};

	expect_tiny(
	    tiny_model(MOE_GATE_SIGMOID, MOE_SCORE_EUCLIDEAN, 0, centres), 0.0,
	    (double[]){0.625, 0.375}, (double[]){0.5, 0.5}, 0, 0);
	expect_tiny(
	    tiny_model(MOE_GATE_SIGMOID, MOE_SCORE_EUCLIDEAN, 1, centres), 0.0,
	    (double[]){0.75, 0.25}, (double[]){1, 0}, 0, 0);
	expect_tiny(
	    tiny_model(MOE_GATE_SOFTMAX, MOE_SCORE_EUCLIDEAN, 0, centres), 0.0,
	    (double[]){0.625, 0.375}, (double[]){0.5, 0.5}, 0, 0);
	expect_tiny(
	    tiny_model(MOE_GATE_SIGMOID, MOE_SCORE_EUCLIDEAN, 0, centres),
	    1e200, (double[]){0.75, 0.25}, (double[]){1, 0}, 0, 0);
}
END_TEST

/* A random model of a given variant. */
static struct moe_model *random_model(uint64_t seed, enum moe_dtype dtype,
                                      int variant, size_t d, size_t e, size_t k)
{
	static const char *const classes[] = {"a", "b", "c", "d", "e",
	                                      "f", "g", "h", "i", "j"};
	struct moe_rng rng;
	size_t np = e * d + e + e * k * d + e * k + 2 * d;
	double *p = malloc(np * sizeof(double));
	struct moe_model_spec spec = {
	    .dtype = dtype,
	    .n_features = d,
	    .n_experts = e,
	    .n_classes = k,
	    .gate = {(variant & 1) ? MOE_GATE_SOFTMAX : MOE_GATE_SIGMOID,
	             (variant & 2) ? MOE_SCORE_EUCLIDEAN : MOE_SCORE_INNER,
	             (variant & 4) ? 0.3 : 1.0,
	             (size_t)((variant >> 3) % 3) * (e / 2)},
	    .classes = classes,
	};
	struct moe_model *m = NULL;
	struct moe_error err;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_le(k, 10);
	moe_rng_seed(&rng, seed);
	for (size_t i = 0; i < np; i++)
		p[i] = moe_rng_normal(&rng);
	spec.gate_weight = p;
	spec.gate_bias = p + e * d;
	spec.expert_weight = p + e * d + e;
	spec.expert_bias = p + e * d + e + e * k * d;
	if (variant & 32) {
		double *mean = p + np - 2 * d;

		spec.mean = mean;
		spec.scale = mean + d;
		for (size_t j = 0; j < d; j++)
			mean[d + j] = 0.5 + fabs(mean[d + j]);
	}
	ck_assert_msg(moe_model_create(&spec, &m, &err) == 0, "%s",
	              err.message);
	free(p);
	return m;
}

/* Every output finite and every row summing to 1, for inputs spread over
 * the whole double range, in every variant and both dtypes. */
START_TEST(test_finite_everywhere)
{
	struct moe_scratch *scratch = moe_scratch_new();
	const size_t d = 3, e = 4, k = 5, n = 64;
	double x[64 * 3];
	struct moe_rng rng;

	moe_rng_seed(&rng, 42);
	for (int variant = 0; variant < 96; variant++) {
		enum moe_dtype dt =
		    variant & 64 ? MOE_DTYPE_F32 : MOE_DTYPE_F64;
		struct moe_model *m =
		    random_model(variant + 1, dt, variant, d, e, k);
		struct moe_output out;
		struct moe_error err;

		for (size_t i = 0; i < n * d; i++) {
			double mag = pow(10, 616 * moe_rng_uniform(&rng) - 308);

			x[i] = moe_rng_uniform(&rng) < 0.5 ? -mag : mag;
			if (i % 7 == 0)
				x[i] = 0;
		}
		tf_output_alloc(&out, m, n);
		ck_assert_int_eq(moe_forward(m, x, n, scratch, &out, &err), 0);
		for (size_t i = 0; i < n * e; i++) {
			ck_assert(isfinite(out.activations[i]));
			ck_assert(isfinite(out.weights[i]));
		}
		for (size_t i = 0; i < n * e * k; i++)
			ck_assert(isfinite(out.expert_probabilities[i]));
		check_sums("random", m, out.probabilities, n, k);
		check_sums("random", m, out.weights, n, e);
		tf_output_free(&out);
		moe_model_free(m);
	}
	moe_scratch_free(scratch);
}
END_TEST

/* One scratch serves batches of different sizes and models, and gives
 * the same results as a fresh scratch per row. */
START_TEST(test_scratch_reuse)
{
	struct moe_scratch *shared = moe_scratch_new();
	const size_t sizes[] = {7, 1, 300, 2, 1, 64};
	struct moe_rng rng;

	moe_rng_seed(&rng, 7);
	for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
		size_t n = sizes[t], d = 5 + t, e = 3 + t % 3, k = 2 + t;
		struct moe_model *m =
		    random_model(100 + t, t % 2, (int)t * 11, d, e, k);
		double *x = malloc(n * d * sizeof(double));
		struct moe_output batch, one;
		struct moe_error err;

		for (size_t i = 0; i < n * d; i++)
			x[i] = 2 * moe_rng_normal(&rng);
		tf_output_alloc(&batch, m, n);
		tf_output_alloc(&one, m, 1);
		ck_assert_int_eq(moe_forward(m, x, n, shared, &batch, &err), 0);
		for (size_t r = 0; r < n; r++) {
			struct moe_scratch *fresh = moe_scratch_new();

			ck_assert_int_eq(
			    moe_forward(m, x + r * d, 1, fresh, &one, &err), 0);
			for (size_t c = 0; c < k; c++)
				ck_assert_double_eq_tol(
				    one.probabilities[c],
				    batch.probabilities[r * k + c],
				    m->dtype == MOE_DTYPE_F64 ? 1e-13 : 1e-6);
			moe_scratch_free(fresh);
		}
		tf_output_free(&batch);
		tf_output_free(&one);
		free(x);
		moe_model_free(m);
	}
	moe_scratch_free(shared);
}
END_TEST

/* Only probabilities are required; the other outputs may be NULL. */
START_TEST(test_optional_outputs)
{
	struct moe_model *m = random_model(5, MOE_DTYPE_F64, 8, 4, 4, 3);
	struct moe_scratch *scratch = moe_scratch_new();
	double x[8] = {1, 2, 3, 4, -1, 0.5, 0, 2}, p[6];
	struct moe_output full, only = {.probabilities = p};
	struct moe_error err;

	tf_output_alloc(&full, m, 2);
	ck_assert_int_eq(moe_forward(m, x, 2, scratch, &full, &err), 0);
	ck_assert_int_eq(moe_forward(m, x, 2, scratch, &only, &err), 0);
	for (int i = 0; i < 6; i++)
		ck_assert_double_eq_tol(p[i], full.probabilities[i], 1e-15);
	tf_output_free(&full);
	moe_scratch_free(scratch);
	moe_model_free(m);
}
END_TEST

START_TEST(test_rejects_non_finite)
{
	struct moe_model *m = random_model(3, MOE_DTYPE_F64, 0, 3, 2, 2);
	struct moe_scratch *scratch = moe_scratch_new();
	double x[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8}, p[6];
	struct moe_output out = {.probabilities = p};
	struct moe_error err = {{0}};

	x[7] = NAN;
	ck_assert_int_eq(moe_forward(m, x, 3, scratch, &out, &err), -EINVAL);
	ck_assert_str_eq(err.message, "row 2, column 1: not a finite number");
	x[7] = 7;
	x[3] = -INFINITY;
	ck_assert_int_eq(moe_forward(m, x, 3, scratch, &out, &err), -EINVAL);
	ck_assert_str_eq(err.message, "row 1, column 0: not a finite number");
	x[3] = 3;
	ck_assert_int_eq(moe_forward(m, x, 3, scratch, &out, &err), 0);
	out.probabilities = NULL;
	ck_assert_int_eq(moe_forward(m, x, 3, scratch, &out, &err), -EINVAL);
	ck_assert_str_eq(err.message, "no array for the probabilities");
	out.probabilities = p;
	ck_assert_int_eq(moe_forward(m, x, 0, scratch, &out, &err), 0);
	moe_scratch_free(scratch);
	moe_model_free(m);
}
END_TEST

/*
 * The batch of the threading tests: d = 250 features with E = 4 and
 * K = 3 makes blocks of 512 rows (the forward pass's smallest), which
 * two BLAS threads split into two shares of 256 rows; 1300 rows make two
 * full blocks and a last one of 276 rows, left whole.  Rows 300 (second
 * share of the first block) and 700 (first share of the second) have
 * values whose squared norm overflows a double (F64), or which are past
 * the range of float (F32), so that they take the long double path.
 *
 * OpenBLAS's GEMM does not give the same bits on one thread and on two
 * (its shares round differently), so the model's values are multiples
 * of 1/8 below 4, the inputs small integers, the means integers and
 * the scales powers of two: every product and sum is then exact, in
 * float too, and any difference comes from the forward pass itself.
 */
#define SPLIT_D 250
#define SPLIT_N 1300

static double dyadic(struct moe_rng *rng)
{
	double v = round(8 * moe_rng_normal(rng)) / 8;

	return fmax(-4, fmin(4, v));
}

/* A sigmoid, euclidean model of exact values (see above). */
static struct moe_model *split_model(enum moe_dtype dtype, int standardize)
{
	static const char *const classes[] = {"a", "b", "c"};
	const size_t d = SPLIT_D, e = 4, k = 3;
	size_t np = e * d + e + e * k * d + e * k + 2 * d;
	double *p = malloc(np * sizeof(double)), *mean = p + np - 2 * d;
	struct moe_model_spec spec = {
	    .dtype = dtype,
	    .n_features = d,
	    .n_experts = e,
	    .n_classes = k,
	    .gate = {MOE_GATE_SIGMOID, MOE_SCORE_EUCLIDEAN, 1.0, 0},
	    .classes = classes,
	};
	struct moe_model *m = NULL;
	struct moe_rng rng;
	struct moe_error err;

	ck_assert_ptr_nonnull(p);
	moe_rng_seed(&rng, 31);
	for (size_t i = 0; i < np; i++)
		p[i] = dyadic(&rng);
	for (size_t j = 0; j < d; j++) {
		mean[j] = round(mean[j]);
		mean[d + j] = ldexp(1, (int)(j % 3) - 1);
	}
	spec.gate_weight = p;
	spec.gate_bias = p + e * d;
	spec.expert_weight = p + e * d + e;
	spec.expert_bias = p + e * d + e + e * k * d;
	spec.mean = standardize ? mean : NULL;
	spec.scale = standardize ? mean + d : NULL;
	ck_assert_msg(moe_model_create(&spec, &m, &err) == 0, "%s",
	              err.message);
	free(p);
	return m;
}

static double *split_input(enum moe_dtype dtype)
{
	double big = dtype == MOE_DTYPE_F64 ? 1e200 : 1e39;
	double *x = malloc(SPLIT_N * SPLIT_D * sizeof(double));
	struct moe_rng rng;

	ck_assert_ptr_nonnull(x);
	moe_rng_seed(&rng, 17);
	for (size_t i = 0; i < SPLIT_N * SPLIT_D; i++)
		x[i] = round(2 * moe_rng_normal(&rng));
	for (size_t j = 0; j < SPLIT_D; j += 7) {
		x[300 * SPLIT_D + j] = big;
		x[700 * SPLIT_D + j] = -big;
	}
	return x;
}

/* The forward pass of n rows with OpenBLAS on the given threads. */
static int forward_on(int threads, const struct moe_model *m, const double *x,
                      size_t n, const struct moe_output *out,
                      struct moe_error *err)
{
	struct moe_scratch *scratch = moe_scratch_new();
	int r;

	ck_assert_ptr_nonnull(scratch);
	openblas_set_num_threads(threads);
	ck_assert_int_eq(openblas_get_num_threads(), threads);
	r = moe_forward(m, x, n, scratch, out, err);
	ck_assert_int_eq(openblas_get_num_threads(), threads);
	moe_scratch_free(scratch);
	return r;
}

static void assert_same_outputs(const struct moe_output *a,
                                const struct moe_output *b,
                                const struct moe_model *m, size_t n)
{
	size_t e = m->n_experts, k = m->n_classes, dbl = sizeof(double);

	ck_assert(!memcmp(a->probabilities, b->probabilities, n * k * dbl));
	ck_assert(!memcmp(a->labels, b->labels, n * sizeof(size_t)));
	ck_assert(!memcmp(a->activations, b->activations, n * e * dbl));
	ck_assert(!memcmp(a->weights, b->weights, n * e * dbl));
	ck_assert(!memcmp(a->top_expert, b->top_expert, n * sizeof(size_t)));
	ck_assert(!memcmp(a->expert_probabilities, b->expert_probabilities,
	                  n * e * k * dbl));
}

/*
 * Every output the same, bit for bit, with OpenBLAS on one thread and on
 * two (the batch then split), in both dtypes, with and without
 * standardization, including the rows of the long double path; and for
 * a batch of 64 rows, which two threads do not split and whose small
 * products run on one OpenBLAS thread (forward_on checks that the count
 * is back at two afterwards).
 */
static void check_split(enum moe_dtype dtype, int standardize)
{
	struct moe_model *m = split_model(dtype, standardize);
	double *x = split_input(dtype);
	struct moe_output one, two;
	struct moe_error err;
	int saved = openblas_get_num_threads();

	tf_output_alloc(&one, m, SPLIT_N);
	tf_output_alloc(&two, m, SPLIT_N);
	ck_assert_int_eq(forward_on(1, m, x, SPLIT_N, &one, &err), 0);
	ck_assert_int_eq(forward_on(2, m, x, SPLIT_N, &two, &err), 0);
	assert_same_outputs(&one, &two, m, SPLIT_N);

	ck_assert_int_eq(forward_on(1, m, x, 64, &one, &err), 0);
	ck_assert_int_eq(forward_on(2, m, x, 64, &two, &err), 0);
	assert_same_outputs(&one, &two, m, 64);
	openblas_set_num_threads(saved);

	tf_output_free(&one);
	tf_output_free(&two);
	free(x);
	moe_model_free(m);
}

START_TEST(test_split_same_outputs)
{
	check_split(_i < 2 ? MOE_DTYPE_F64 : MOE_DTYPE_F32, _i % 2);
}
END_TEST

/*
 * A value that is not finite in the second block of a batch: the error
 * names the first bad value, with one thread and with two, and each
 * row's probabilities are either those of a whole run or untouched,
 * never anything else.  With one thread the rows of the first block are
 * written and no later row: an F64 model without standardization reads
 * x in place, so its blocks hold only the products, 4096 rows here, the
 * whole batch, and nothing is written.  With two, each thread has its
 * own half of the rows and blocks: the second half, which holds no bad
 * value, may be written too.
 */
/*
 * Row i of part's probabilities: the same as whole's, or untouched (all
 * zero); only untouched when must_be_untouched.
 */
static void assert_whole_or_untouched(const struct moe_output *whole,
                                      const struct moe_output *part,
                                      size_t i, size_t k,
                                      int must_be_untouched)
{
	const double *got = part->probabilities + i * k;
	const double *want = whole->probabilities + i * k;
	int untouched = 1;

	for (size_t c = 0; c < k; c++)
		untouched &= got[c] == 0;

	if (must_be_untouched)
		ck_assert_msg(untouched, "row %zu written", i);
	else
		ck_assert_msg(untouched || !memcmp(got, want, k * sizeof(*got)),
		              "row %zu neither written right nor untouched",
		              i);
}

START_TEST(test_split_non_finite_later_block)
{
	enum moe_dtype dtype = _i < 2 ? MOE_DTYPE_F64 : MOE_DTYPE_F32;
	struct moe_model *m = split_model(dtype, _i % 2);
	size_t written = _i == 0 ? 0 : 512;
	double *x = split_input(dtype);
	struct moe_output whole, part;
	struct moe_error err;
	int saved = openblas_get_num_threads();

	tf_output_alloc(&whole, m, SPLIT_N);
	ck_assert_int_eq(forward_on(1, m, x, SPLIT_N, &whole, &err), 0);
	x[900 * SPLIT_D + 5] = NAN;
	x[1000 * SPLIT_D + 1] = INFINITY;

	for (int threads = 1; threads <= 2; threads++) {
		tf_output_alloc(&part, m, SPLIT_N);
		ck_assert_int_eq(forward_on(threads, m, x, SPLIT_N, &part, &err),
		                 -EINVAL);
		ck_assert_str_eq(err.message,
		                 "row 900, column 5: not a finite number");
		assert_same_outputs(&whole, &part, m, written);
		for (size_t i = written; i < SPLIT_N; i++)
			assert_whole_or_untouched(&whole, &part, i,
			                          m->n_classes, threads == 1);
		tf_output_free(&part);
	}
	openblas_set_num_threads(saved);
	tf_output_free(&whole);
	free(x);
	moe_model_free(m);
}
END_TEST

struct worker {
	const struct moe_model *m;
	const double *x;
	const double *want;  /* [n][K] from a lone batch call */
	const double *first; /* [K] from a lone single-row call */
	size_t n;
	int mismatches;
};

/* Batches and single rows, alternately, compared with a lone caller's
 * results of the same call (one row takes gemv, a batch gemm). */
static void *run_worker(void *arg)
{
	struct worker *w = arg;
	struct moe_scratch *scratch = moe_scratch_new();
	size_t k = w->m->n_classes;
	double *p = malloc(w->n * k * sizeof(double));
	struct moe_output out = {.probabilities = p};
	struct moe_error err;

	for (int rep = 0; rep < 30; rep++) {
		size_t rows = rep % 3 == 0 ? 1 : w->n;
		const double *want = rows == 1 ? w->first : w->want;

		if (scratch == NULL || p == NULL ||
		    moe_forward(w->m, w->x, rows, scratch, &out, &err) != 0 ||
		    memcmp(p, want, rows * k * sizeof(double)) != 0)
			w->mismatches++;
	}
	free(p);
	moe_scratch_free(scratch);
	return NULL;
}

/*
 * Four threads run run_worker at once on m and x[n][d], each with its
 * own scratch: every one of their results must be want (a batch) or
 * first (a single row).
 */
static void assert_workers_agree(const struct moe_model *m, const double *x,
                                 const double *want, const double *first,
                                 size_t n)
{
	struct worker w[4];
	pthread_t tid[4];

	for (int t = 0; t < 4; t++) {
		w[t] = (struct worker){m, x, want, first, n, 0};
		ck_assert_int_eq(
		    pthread_create(&tid[t], NULL, run_worker, &w[t]), 0);
	}
	for (int t = 0; t < 4; t++) {
		ck_assert_int_eq(pthread_join(tid[t], NULL), 0);
		ck_assert_int_eq(w[t].mismatches, 0);
	}
}

/* Threads share one model, each with its own scratch, and get exactly
 * the results of a lone caller. */
START_TEST(test_threads_share_a_model)
{
	const size_t n = 200, d = 6, e = 5, k = 4;
	struct moe_model *m = random_model(11, MOE_DTYPE_F64, 2 + 32, d, e, k);
	struct moe_scratch *scratch = moe_scratch_new();
	double x[200 * 6], want[200 * 4], first[4];
	struct moe_output out = {.probabilities = want};
	struct moe_output out1 = {.probabilities = first};
	struct moe_rng rng;
	struct moe_error err;

	moe_rng_seed(&rng, 5);
	for (size_t i = 0; i < n * d; i++)
		x[i] = 3 * moe_rng_normal(&rng);
	ck_assert_int_eq(moe_forward(m, x, n, scratch, &out, &err), 0);
	ck_assert_int_eq(moe_forward(m, x, 1, scratch, &out1, &err), 0);

	assert_workers_agree(m, x, want, first, n);
	moe_scratch_free(scratch);
	moe_model_free(m);
}
END_TEST

/*
 * Calls from four threads at once, with OpenBLAS on two threads so that
 * each batch is split between two threads of its own and OpenBLAS is
 * narrowed to one while any of them runs: every result is a lone
 * caller's, and OpenBLAS is back on two threads afterwards.
 */
START_TEST(test_split_calls_overlap)
{
	struct moe_model *m = split_model(MOE_DTYPE_F32, 1);
	double *x = split_input(MOE_DTYPE_F32);
	double *want = malloc(SPLIT_N * 3 * sizeof(double)), first[3];
	struct moe_output out = {.probabilities = want};
	struct moe_output out1 = {.probabilities = first};
	int saved = openblas_get_num_threads();
	struct moe_error err;

	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(forward_on(1, m, x, SPLIT_N, &out, &err), 0);
	ck_assert_int_eq(forward_on(1, m, x, 1, &out1, &err), 0);

	openblas_set_num_threads(2);
	assert_workers_agree(m, x, want, first, SPLIT_N);
	ck_assert_int_eq(openblas_get_num_threads(), 2);

	openblas_set_num_threads(saved);
	free(want);
	free(x);
	moe_model_free(m);
}
END_TEST

static Suite *forward_suite(void)
{
	Suite *s = suite_create("forward");
	TCase *ref = tcase_create("reference");
	TCase *num = tcase_create("numerics");

	tcase_set_timeout(ref, 60);
	tcase_add_test(ref, test_reference_variants_f64);
	tcase_add_test(ref, test_reference_variants_f32);
	tcase_add_test(ref, test_reference_extreme_f64);
	tcase_add_test(ref, test_reference_extreme_f32);
	tcase_add_test(ref, test_reference_many_experts);
	tcase_add_test(ref, test_hand_computed);
	tcase_add_test(ref, test_overflowing_centres);
	suite_add_tcase(s, ref);

	tcase_set_timeout(num, 60);
	tcase_add_test(num, test_finite_everywhere);
	tcase_add_test(num, test_scratch_reuse);
	tcase_add_test(num, test_optional_outputs);
	tcase_add_test(num, test_rejects_non_finite);
	tcase_add_test(num, test_threads_share_a_model);
	tcase_add_loop_test(num, test_split_same_outputs, 0, 4);
	tcase_add_loop_test(num, test_split_non_finite_later_block, 0, 4);
	tcase_add_test(num, test_split_calls_overlap);
	suite_add_tcase(s, num);
	return s;
}

int main(void)
{
	return ts_run(forward_suite());
}
