/* SPDX-License-Identifier: MIT */
/*
 * fit_support.h - what the fitting suites share: a random generator of
 * their own, random rows drawn from it, the models of tests/data/fit,
 * and the check of an analytic gradient against finite differences.
 *
 * The generator is deliberately not the library's (model/rng.c): rows
 * that test the fit must not come from code under test.  Helpers that
 * can fail fail the running Check test instead of returning an error.
 */
#ifndef TESTS_FIT_SUPPORT_H
#define TESTS_FIT_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "fit.h"
#include "sigmoe.h"

/* A 64-bit linear congruential generator; seed it by setting state. */
struct ft_lcg {
	uint64_t state;
};

/* ft_uniform - the next draw, uniform in (0, 1) (never 0 or 1). */
double ft_uniform(struct ft_lcg *g);

/* ft_normal - a standard normal draw (Box-Muller from two uniforms). */
double ft_normal(struct ft_lcg *g);

/*
 * ft_random_rows - n rows of d features and a class each, drawn from g
 * row by row: feature k is mean[k] + sd[k] * ft_normal(g), then the
 * class y[j] is uniform in 0 .. n_classes - 1.  x holds n * d values,
 * row-major; y holds n.
 */
void ft_random_rows(struct ft_lcg *g, size_t n, size_t d, size_t n_classes,
                    const double *mean, const double *sd, double *x, size_t *y);

/*
 * ft_load_model - the model file tests/data/fit/<name>, found through
 * $SIGMOE_TEST_DATA.  The caller frees it with moe_model_free.
 */
struct moe_model *ft_load_model(const char *name);

/*
 * ft_gradient_error - how far the analytic gradient of p at theta is
 * from central finite differences (step 1e-5 * max(1, |theta[q]|)): the
 * relative error sqrt(sum (g - fd)^2 / sum g^2).  g receives the
 * analytic gradient and fd, unless NULL, the finite differences (both
 * moe_fit_problem_size(p) values); theta is as it was on return.
 */
double ft_gradient_error(struct moe_fit_problem *p, double *theta, double *g,
                         double *fd);

#endif
