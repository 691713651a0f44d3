/* SPDX-License-Identifier: MIT */
/*
 * test_fit.c - the fitting module (model/fit.h).
 *
 *  - the gradient of the penalized negative log-likelihood against
 *    central finite differences, for every gate variant, with and without
 *    standardization;
 *  - the objective against the forward pass (a separate module) of the
 *    model the parameters describe;
 *  - recovery of a known euclidean sigmoid model (tests/data/fit/
 *    truth.json) from 20,000 rows simulated from it;
 *  - finite parameters on separable classes thanks to the penalty.
 *
 * The rows of the gradient test come from the suites' own generator
 * (fit_support.c), not from the library's.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "fit_support.h"
#include "sigmoe.h"
#include "test_support.h"

#define GN 60 /* rows */
#define GD 3  /* features */
#define GE 3  /* experts */
#define GK 4  /* classes */

static const char *const grad_classes[GK] = {"a", "b", "c", "d"};

struct grad_case {
	enum moe_gate_kind kind;
	enum moe_score score;
	double tau;
	int standardize;
};

/* Every gate kind x score x temperature (!= 1) x standardization. */
static struct grad_case grad_case(int i)
{
	struct grad_case c;

	c.kind = i & 1 ? MOE_GATE_SOFTMAX : MOE_GATE_SIGMOID;
	c.score = i & 2 ? MOE_SCORE_EUCLIDEAN : MOE_SCORE_INNER;
	c.tau = i & 4 ? 2.5 : 0.6;
	c.standardize = (i & 8) != 0;
	return c;
}

/*
 * The problem of case c on GN rows written into x and y, drawn from g
 * (seeded here) independently of moe_rng; g goes on for the parameters.
 */
static struct moe_fit_problem *
grad_problem(const struct grad_case *c, struct ft_lcg *g, double *x, size_t *y)
{
	static const double mean[GD] = {1.5, -2, 0.5};
	static const double sd[GD] = {2, 0.5, 1.5};
	struct moe_fit_data data = {
	    .n_rows = GN,
	    .n_features = GD,
	    .n_classes = GK,
	    .x = x,
	    .y = y,
	    .classes = grad_classes,
	};
	struct moe_fit_options opts;
	struct moe_fit_problem *p = NULL;
	struct moe_error err = {{0}};

	moe_fit_options_default(&opts);
	opts.n_experts = GE;
	opts.gate.kind = c->kind;
	opts.gate.score = c->score;
	opts.gate.temperature = c->tau;
	opts.l2 = 0.01;
	opts.standardize = c->standardize;
	g->state = 12345;
	ft_random_rows(g, GN, GD, GK, mean, sd, x, y);
	ck_assert_msg(moe_fit_problem_new(&data, &opts, &p, &err) == 0, "%s",
	              err.message);
	return p;
}

START_TEST(test_gradient)
{
	struct grad_case c = grad_case(_i);
	struct ft_lcg lcg;
	double x[GN * GD];
	size_t y[GN];
	struct moe_fit_problem *p = grad_problem(&c, &lcg, x, y);
	size_t P = moe_fit_problem_size(p);
	double *theta = malloc(P * sizeof(double));
	double *g = malloc(P * sizeof(double));
	double error;

	ck_assert_uint_eq(P, GE * GD + GE * GK * GD + GE + GE * GK);
	for (size_t q = 0; q < P; q++)
		theta[q] = 0.7 * ft_normal(&lcg);

	error = ft_gradient_error(p, theta, g, NULL);
	ck_assert_msg(error < 1e-6, "case %d: relative gradient error %g", _i,
	              error);

	free(theta);
	free(g);
	moe_fit_problem_free(p);
}
END_TEST

/* mean and population standard deviation, as SPEC'd for the fit. */
static void column_moments(const double *x, double *mean, double *scale)
{
	for (size_t k = 0; k < GD; k++) {
		double m = 0, v = 0;

		for (size_t j = 0; j < GN; j++)
			m += x[j * GD + k];
		m /= GN;
		for (size_t j = 0; j < GN; j++)
			v += (x[j * GD + k] - m) * (x[j * GD + k] - m);
		mean[k] = m;
		scale[k] = sqrt(v / GN);
	}
}

/* f(theta) - penalty must be the mean -log P(y | x) of the forward pass. */
START_TEST(test_objective_is_loglik)
{
	struct grad_case c = grad_case(_i);
	struct ft_lcg lcg;
	double x[GN * GD], mean[GD], scale[GD], prob[GN * GK];
	size_t y[GN];
	struct moe_fit_problem *p = grad_problem(&c, &lcg, x, y);
	size_t P = moe_fit_problem_size(p);
	double *theta = malloc(P * sizeof(double));
	struct moe_model_spec spec = {
	    .dtype = MOE_DTYPE_F64,
	    .n_features = GD,
	    .n_experts = GE,
	    .n_classes = GK,
	    .gate = {c.kind, c.score, c.tau, 0},
	    .classes = grad_classes,
	};
	struct moe_output out = {.probabilities = prob};
	struct moe_scratch *sc = moe_scratch_new();
	struct moe_model *model = NULL;
	struct moe_error err = {{0}};
	double f, pen = 0, nll = 0;

	for (size_t q = 0; q < P; q++) {
		theta[q] = 0.7 * ft_normal(&lcg);
		pen += 0.5 * 0.01 * theta[q] * theta[q];
	}
	f = moe_fit_objective(p, theta, NULL);

	column_moments(x, mean, scale);
	spec.gate_weight = theta;
	spec.expert_weight = theta + GE * GD;
	spec.gate_bias = theta + GE * GD + GE * GK * GD;
	spec.expert_bias = spec.gate_bias + GE;
	spec.mean = c.standardize ? mean : NULL;
	spec.scale = c.standardize ? scale : NULL;
	ck_assert_msg(moe_model_create(&spec, &model, &err) == 0, "%s",
	              err.message);
	ck_assert_int_eq(moe_forward(model, x, GN, sc, &out, &err), 0);
	for (size_t j = 0; j < GN; j++)
		nll -= log(prob[j * GK + y[j]]) / GN;
	ck_assert_msg(fabs(f - pen - nll) < 1e-10 * fmax(1, nll),
	              "case %d: objective %.15g, forward %.15g", _i, f - pen,
	              nll);

	moe_model_free(model);
	moe_scratch_free(sc);
	free(theta);
	moe_fit_problem_free(p);
}
END_TEST

/* ---- recovery of a known model ---- */

#define RN 20000     /* simulated rows */
#define RTRAIN 16000 /* the first RTRAIN fit, the rest are held out */

static double param(const struct moe_model *m, int which, size_t i)
{
	const double *a[] = {m->params.gate_weight, m->params.gate_bias,
	                     m->params.expert_weight, m->params.expert_bias};

	return a[which][i];
}

/*
 * The largest difference between the parameters of fit (its experts in
 * order perm) and truth, over the gate centres and the experts' slopes
 * and intercepts.  Expert parameters are compared after centring over the
 * classes, since adding a vector to every class of one expert does not
 * change the model.  The gate intercepts are left to gate_error().
 */
static double param_error(const struct moe_model *truth,
                          const struct moe_model *fit, const size_t *perm)
{
	size_t d = truth->n_features, K = truth->n_classes;
	double worst = 0;

	for (size_t i = 0; i < truth->n_experts; i++) {
		size_t f = perm[i];

		for (size_t k = 0; k < d; k++)
			worst = fmax(worst, fabs(param(truth, 0, i * d + k) -
			                         param(fit, 0, f * d + k)));

		for (size_t k = 0; k <= d; k++) {
			double ct = 0, cf = 0;
			int w = k < d ? 2 : 3;
			size_t st = k < d ? d : 1, o = k < d ? k : 0;
			size_t bt = k < d ? i * K * d : i * K;
			size_t bf = k < d ? f * K * d : f * K;

			for (size_t c = 0; c < K; c++) {
				ct += param(truth, w, bt + c * st + o) / K;
				cf += param(fit, w, bf + c * st + o) / K;
			}
			for (size_t c = 0; c < K; c++)
				worst = fmax(
				    worst,
				    fabs(
				        param(truth, w, bt + c * st + o) - ct -
				        (param(fit, w, bf + c * st + o) - cf)));
		}
	}
	return worst;
}

static const size_t perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

/* The order of fit's 3 experts that best matches truth's. */
static int best_perm(const struct moe_model *truth, const struct moe_model *fit,
                     double *error)
{
	int best = 0;

	*error = INFINITY;
	for (int p = 0; p < 6; p++) {
		double e = param_error(truth, fit, perms[p]);

		if (e < *error) {
			*error = e;
			best = p;
		}
	}
	return best;
}

/*
 * The gate intercepts are judged by what they do: the largest, over the
 * experts, mean absolute difference of the mixture weights G_i(x) of the
 * two models on n rows of x.
 */
static double gate_error(const struct moe_model *truth,
                         const struct moe_model *fit, const size_t *perm,
                         const double *x, size_t n)
{
	size_t E = truth->n_experts;
	double *prob = malloc(n * truth->n_classes * sizeof(double));
	double *gt = malloc(n * E * sizeof(double));
	double *gf = malloc(n * E * sizeof(double));
	struct moe_output ot = {.probabilities = prob, .weights = gt};
	struct moe_output of = {.probabilities = prob, .weights = gf};
	struct moe_scratch *sc = moe_scratch_new();
	struct moe_error err = {{0}};
	double worst = 0;

	ck_assert_int_eq(moe_forward(truth, x, n, sc, &ot, &err), 0);
	ck_assert_int_eq(moe_forward(fit, x, n, sc, &of, &err), 0);
	for (size_t i = 0; i < E; i++) {
		double sum = 0;

		for (size_t j = 0; j < n; j++)
			sum += fabs(gt[j * E + i] - gf[j * E + perm[i]]);
		worst = fmax(worst, sum / (double)n);
	}
	moe_scratch_free(sc);
	free(prob);
	free(gt);
	free(gf);
	return worst;
}

START_TEST(test_recovers_known_model)
{
	struct moe_model *truth = ft_load_model("truth.json"), *fit = NULL;
	size_t d = truth->n_features;
	double *x = malloc(RN * d * sizeof(double));
	size_t *y = malloc(RN * sizeof(size_t));
	struct moe_fit_data data = {
	    .n_rows = RTRAIN,
	    .n_features = d,
	    .n_classes = truth->n_classes,
	    .x = x,
	    .y = y,
	    .classes = (const char *const *)truth->classes,
	};
	struct moe_fit_options opts;
	struct moe_fit_report rep;
	struct moe_error err = {{0}};
	double acc_t, ll_t, acc_f, ll_f, perr, gerr;
	int perm;

	ck_assert_uint_eq(truth->n_experts, 3);
	ck_assert_int_eq(moe_simulate(truth, RN, 2024, x, y, &err), 0);

	moe_fit_options_default(&opts);
	opts.n_experts = 3;
	opts.gate = truth->gate;
	opts.l2 = 1e-6;
	opts.holdout = 0;
	opts.standardize = 0;
	opts.restarts = 5;
	opts.max_iter = 1000;
	opts.tol = 1e-8;
	ck_assert_msg(moe_fit(&data, &opts, &fit, &rep, &err) == 0, "%s",
	              err.message);

	ck_assert_int_eq(moe_fit_evaluate(truth, x + RTRAIN * d, y + RTRAIN,
	                                  RN - RTRAIN, &acc_t, &ll_t, &err),
	                 0);
	ck_assert_int_eq(moe_fit_evaluate(fit, x + RTRAIN * d, y + RTRAIN,
	                                  RN - RTRAIN, &acc_f, &ll_f, &err),
	                 0);
	ck_assert_msg(ll_f <= 1.01 * ll_t,
	              "held-out log-loss: fitted %.6f, truth %.6f", ll_f, ll_t);

	/*
	 * Tolerances, for parameters of size 0.5 to 3.5 estimated from
	 * 16,000 rows: 0.6 on the gate centres and the class-centred expert
	 * slopes and intercepts (their standard errors reach about 0.15 and
	 * this is the worst of 45 estimates: 0.42 was seen);
	 * 0.03 on the mean absolute difference of each expert's mixture
	 * weight.  The gate intercepts are not compared directly: where
	 * sigma(s) saturates, near 1 or in its exponential tail, a common
	 * shift of them barely changes the model, and single intercepts
	 * err by more than 1 while the weights they give stay within 0.03.
	 */
	perm = best_perm(truth, fit, &perr);
	gerr = gate_error(truth, fit, perms[perm], x + RTRAIN * d, RN - RTRAIN);
	fprintf(
	    stderr,
	    "recovery: held-out log-loss %.6f (truth %.6f); parameter error %.4f; gate weight error %.4f\n",
	    ll_f, ll_t, perr, gerr);
	ck_assert_msg(perr < 0.6, "largest parameter error %.4f", perr);
	ck_assert_msg(gerr < 0.03, "gate weight error %.4f", gerr);

	moe_model_free(fit);
	moe_model_free(truth);
	free(x);
	free(y);
}
END_TEST

/* ---- separable classes ---- */

START_TEST(test_separable_finite)
{
	enum { N = 400 };
	static const char *const classes[2] = {"left", "right"};
	double x[N * 2];
	size_t y[N];
	struct moe_fit_data data = {
	    .n_rows = N,
	    .n_features = 2,
	    .n_classes = 2,
	    .x = x,
	    .y = y,
	    .classes = classes,
	};
	struct moe_fit_options opts;
	struct moe_fit_report rep;
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};
	const double *blocks[4];
	size_t sizes[4] = {2 * 2, 2, 2 * 2 * 2, 2 * 2};
	struct ft_lcg lcg = {99};
	double norm2 = 0, lambda = 0.01;

	for (size_t j = 0; j < N; j++) {
		y[j] = j % 2;
		x[j * 2] = (y[j] ? 4 : -4) + 0.5 * ft_normal(&lcg);
		x[j * 2 + 1] = ft_normal(&lcg);
	}

	moe_fit_options_default(&opts);
	opts.n_experts = 2;
	opts.l2 = lambda;
	opts.max_iter = 2000;
	opts.tol = 1e-12;
	ck_assert_msg(moe_fit(&data, &opts, &m, &rep, &err) == 0, "%s",
	              err.message);
	ck_assert_msg(rep.converged, "no convergence in %zu iterations",
	              rep.iterations);
	ck_assert(rep.train_accuracy == 1.0);

	blocks[0] = m->params.gate_weight;
	blocks[1] = m->params.gate_bias;
	blocks[2] = m->params.expert_weight;
	blocks[3] = m->params.expert_bias;
	for (int b = 0; b < 4; b++)
		for (size_t i = 0; i < sizes[b]; i++) {
			ck_assert(isfinite(blocks[b][i]));
			norm2 += blocks[b][i] * blocks[b][i];
		}
	/* f(theta*) <= f(0) = log 2 bounds the penalty term. */
	ck_assert_msg(0.5 * lambda * norm2 <= log(2.0),
	              "||theta||^2 = %g is over 2 log 2 / lambda", norm2);
	ck_assert(rep.objective <= log(2.0));

	moe_model_free(m);
}
END_TEST

static Suite *fit_suite(void)
{
	Suite *s = suite_create("fit");
	TCase *grad = tcase_create("gradient");
	TCase *fits = tcase_create("fits");

	tcase_add_loop_test(grad, test_gradient, 0, 16);
	tcase_add_loop_test(grad, test_objective_is_loglik, 0, 16);
	suite_add_tcase(s, grad);

	tcase_set_timeout(fits, 120);
	tcase_add_test(fits, test_recovers_known_model);
	tcase_add_test(fits, test_separable_finite);
	suite_add_tcase(s, fits);
	return s;
}

int main(void)
{
	return ts_run(fit_suite());
}
