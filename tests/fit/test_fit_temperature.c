/* SPDX-License-Identifier: MIT */
/*
 * test_fit_temperature.c - the learned temperature and the starting
 * model of the fitting module (model/fit.h: learn_temperature, init).
 *
 *  - the gradient with respect to log tau (the last parameter) against
 *    central finite differences, for both gate kinds and both scores;
 *    the whole gradient is checked too, since tau enters every score;
 *  - a fit started from the optimum of an earlier fit stays there within
 *    a few iterations, which a random start cannot do;
 *  - a starting model of the wrong shape is refused;
 *  - with the euclidean score, the learned temperature does not depend
 *    on where it starts, and beats the fixed one.
 *
 * Rows of the gradient test come from the suites' own generator
 * (fit_support.c), not from the library's.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "fit_support.h"
#include "sigmoe.h"
#include "test_support.h"

#define GN 80 /* rows */
#define GD 2  /* features */
#define GE 3  /* experts */
#define GK 3  /* classes */

static const char *const classes[GK] = {"a", "b", "c"};

/* GN rows written into x and y, drawn from g (seeded here). */
static struct moe_fit_data grad_data(struct ft_lcg *g, double *x, size_t *y)
{
	static const double mean[GD] = {0, 0};
	static const double sd[GD] = {1.3, 1.3};
	struct moe_fit_data data = {
	    .n_rows = GN,
	    .n_features = GD,
	    .n_classes = GK,
	    .x = x,
	    .y = y,
	    .classes = classes,
	};

	g->state = 4242;
	ft_random_rows(g, GN, GD, GK, mean, sd, x, y);
	return data;
}

/* Case i: gate kind (bit 0), score (bit 1), log tau -0.7 or 0.4. */
START_TEST(test_gradient_log_tau)
{
	struct ft_lcg lcg;
	double x[GN * GD];
	size_t y[GN];
	struct moe_fit_data data = grad_data(&lcg, x, y);
	struct moe_fit_options opts;
	struct moe_fit_problem *p = NULL;
	struct moe_error err = {{0}};
	size_t P, base = GE * GD + GE * GK * GD + GE + GE * GK;
	double *theta, *g, *fd, error;

	moe_fit_options_default(&opts);
	opts.n_experts = GE;
	opts.gate.kind = _i & 1 ? MOE_GATE_SOFTMAX : MOE_GATE_SIGMOID;
	opts.gate.score = _i & 2 ? MOE_SCORE_EUCLIDEAN : MOE_SCORE_INNER;
	opts.learn_temperature = 1;
	opts.l2 = 0.01;
	opts.standardize = 0;
	ck_assert_msg(moe_fit_problem_new(&data, &opts, &p, &err) == 0, "%s",
	              err.message);
	P = moe_fit_problem_size(p);
	ck_assert_uint_eq(P, base + 1);

	theta = malloc(P * sizeof(double));
	g = malloc(P * sizeof(double));
	fd = malloc(P * sizeof(double));
	for (size_t q = 0; q < P; q++)
		theta[q] = 0.8 * ft_normal(&lcg);
	theta[base] = _i & 4 ? 0.4 : -0.7;

	error = ft_gradient_error(p, theta, g, fd);
	ck_assert_msg(fabs(fd[base]) > 1e-4,
	              "case %d: d f / d log tau %g is too small to test", _i,
	              fd[base]);
	ck_assert_msg(
	    fabs(g[base] - fd[base]) < 1e-6 * fabs(fd[base]),
	    "case %d: d f / d log tau: analytic %.12g, finite difference %.12g",
	    _i, g[base], fd[base]);
	ck_assert_msg(error < 1e-6, "case %d: relative gradient error %g", _i,
	              error);

	free(theta);
	free(g);
	free(fd);
	moe_fit_problem_free(p);
}
END_TEST

/* truth.json with its temperature replaced by tau. */
static struct moe_model *with_temperature(const struct moe_model *t, double tau)
{
	struct moe_model_spec spec = {
	    .dtype = MOE_DTYPE_F64,
	    .n_features = t->n_features,
	    .n_experts = t->n_experts,
	    .n_classes = t->n_classes,
	    .gate = t->gate,
	    .classes = (const char *const *)t->classes,
	    .gate_weight = t->params.gate_weight,
	    .gate_bias = t->params.gate_bias,
	    .expert_weight = t->params.expert_weight,
	    .expert_bias = t->params.expert_bias,
	};
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};

	ck_assert_uint_eq(t->dtype, MOE_DTYPE_F64);
	spec.gate.temperature = tau;
	ck_assert_msg(moe_model_create(&spec, &m, &err) == 0, "%s",
	              err.message);
	return m;
}

#define RN 6000

struct sample {
	struct moe_model *truth;
	double *x;
	size_t *y;
	struct moe_fit_data data;
	struct moe_fit_options opts;
};

static void sample_new(struct sample *s)
{
	struct moe_error err = {{0}};
	size_t d;

	s->truth = ft_load_model("truth.json");
	d = s->truth->n_features;
	s->x = malloc(RN * d * sizeof(double));
	s->y = malloc(RN * sizeof(size_t));
	ck_assert_int_eq(moe_simulate(s->truth, RN, 77, s->x, s->y, &err), 0);
	s->data = (struct moe_fit_data){
	    .n_rows = RN,
	    .n_features = d,
	    .n_classes = s->truth->n_classes,
	    .x = s->x,
	    .y = s->y,
	    .classes = (const char *const *)s->truth->classes,
	};
	moe_fit_options_default(&s->opts);
	s->opts.n_experts = s->truth->n_experts;
	s->opts.gate = s->truth->gate;
	s->opts.l2 = 1e-6;
	s->opts.holdout = 0;
	s->opts.standardize = 0;
	s->opts.max_iter = 2000;
	s->opts.tol = 1e-10;
}

static void sample_free(struct sample *s)
{
	moe_model_free(s->truth);
	free(s->x);
	free(s->y);
}

START_TEST(test_init_resumes_optimum)
{
	struct sample s;
	struct moe_model *first = NULL, *again = NULL;
	struct moe_fit_report r1, r2, r3;
	struct moe_error err = {{0}};

	sample_new(&s);
	ck_assert_msg(moe_fit(&s.data, &s.opts, &first, &r1, &err) == 0, "%s",
	              err.message);

	s.opts.init = first;
	s.opts.max_iter = 5;
	ck_assert_msg(moe_fit(&s.data, &s.opts, &again, &r2, &err) == 0, "%s",
	              err.message);
	ck_assert_msg(fabs(r2.objective - r1.objective) < 1e-9,
	              "from the optimum: objective %.12g, first fit %.12g",
	              r2.objective, r1.objective);

	/* The same budget from a random start ends far above. */
	s.opts.init = NULL;
	moe_model_free(again);
	again = NULL;
	ck_assert_int_eq(moe_fit(&s.data, &s.opts, &again, &r3, &err), 0);
	ck_assert_msg(
	    r3.objective > r1.objective + 1e-3,
	    "5 iterations from a random start reached %.9g (optimum %.9g)",
	    r3.objective, r1.objective);

	moe_model_free(again);
	moe_model_free(first);
	sample_free(&s);
}
END_TEST

START_TEST(test_init_wrong_shape)
{
	struct sample s;
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};

	sample_new(&s);
	s.opts.n_experts = 4;
	s.opts.init = s.truth;
	ck_assert_int_eq(moe_fit(&s.data, &s.opts, &m, NULL, &err), -EINVAL);
	ck_assert_msg(strstr(err.message, "3 experts") != NULL, "%s",
	              err.message);
	ck_assert_ptr_null(m);
	sample_free(&s);
}
END_TEST

/*
 * The euclidean score breaks the scaling symmetry of the temperature, so
 * the learned one is a property of the data, not of the start: from the
 * truth's parameters with tau = 1 and with tau = 2.5 the fit reaches the
 * same optimum (6,000 rows put it near 0.65: tau is loosely determined
 * when the gate's sigmoids saturate, as truth.json's large intercepts
 * make them), and that optimum is at least as good as the fit with tau
 * fixed at 1.
 */
START_TEST(test_learns_euclidean_temperature)
{
	struct sample s;
	struct moe_model *start, *m = NULL;
	struct moe_fit_report r1, r2, fixed;
	struct moe_error err = {{0}};

	sample_new(&s);
	ck_assert_int_eq(s.truth->gate.score, MOE_SCORE_EUCLIDEAN);
	ck_assert(s.truth->gate.temperature == 1.0);
	s.opts.init = s.truth;
	ck_assert_int_eq(moe_fit(&s.data, &s.opts, &m, &fixed, &err), 0);
	ck_assert(fixed.temperature == 1.0);
	moe_model_free(m);

	s.opts.learn_temperature = 1;
	ck_assert_int_eq(moe_fit(&s.data, &s.opts, &m, &r1, &err), 0);
	moe_model_free(m);

	start = with_temperature(s.truth, 2.5);
	s.opts.init = start;
	ck_assert_msg(moe_fit(&s.data, &s.opts, &m, &r2, &err) == 0, "%s",
	              err.message);
	fprintf(stderr, "learned temperature %.6f and %.6f\n", r1.temperature,
	        r2.temperature);
	ck_assert(m->gate.temperature == r2.temperature);
	ck_assert_msg(fabs(r1.temperature - r2.temperature) < 0.01,
	              "from tau 1: %.6f, from tau 2.5: %.6f", r1.temperature,
	              r2.temperature);
	ck_assert_msg(fabs(r1.objective - r2.objective) < 1e-7,
	              "objectives %.10g and %.10g", r1.objective, r2.objective);
	ck_assert_msg(r1.objective <= fixed.objective + 1e-9,
	              "learned tau: %.10g, fixed tau 1: %.10g", r1.objective,
	              fixed.objective);
	ck_assert(r1.temperature > 0.3 && r1.temperature < 1.5);
	moe_model_free(m);
	moe_model_free(start);
	sample_free(&s);
}
END_TEST

static Suite *temperature_suite(void)
{
	Suite *s = suite_create("fit-temperature");
	TCase *grad = tcase_create("gradient");
	TCase *fits = tcase_create("fits");

	tcase_add_loop_test(grad, test_gradient_log_tau, 0, 8);
	suite_add_tcase(s, grad);

	tcase_set_timeout(fits, 120);
	tcase_add_test(fits, test_init_resumes_optimum);
	tcase_add_test(fits, test_init_wrong_shape);
	tcase_add_test(fits, test_learns_euclidean_temperature);
	suite_add_tcase(s, fits);
	return s;
}

int main(void)
{
	return ts_run(temperature_suite());
}
