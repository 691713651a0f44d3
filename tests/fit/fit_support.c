/* SPDX-License-Identifier: MIT */
/* fit_support.c - helpers of the fitting suites (see fit_support.h). */
#include "fit_support.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

double ft_uniform(struct ft_lcg *g)
{
	g->state = g->state * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((double)(g->state >> 11) + 0.5) * 0x1.0p-53;
}

double ft_normal(struct ft_lcg *g)
{
	double u = ft_uniform(g), v = ft_uniform(g);

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

void ft_random_rows(struct ft_lcg *g, size_t n, size_t d, size_t n_classes,
                    const double *mean, const double *sd, double *x, size_t *y)
{
	for (size_t j = 0; j < n; j++) {
		for (size_t k = 0; k < d; k++)
			x[j * d + k] = mean[k] + sd[k] * ft_normal(g);
		y[j] = (size_t)(ft_uniform(g) * n_classes);
	}
}

struct moe_model *ft_load_model(const char *name)
{
	const char *dir = getenv("SIGMOE_TEST_DATA");
	char path[4096];
	struct moe_model *m = NULL;
	struct moe_error err = {{0}};

	ck_assert_msg(dir != NULL, "SIGMOE_TEST_DATA is not set");
	snprintf(path, sizeof(path), "%s/fit/%s", dir, name);
	ck_assert_msg(moe_model_load(path, &m, &err) == 0, "%s", err.message);
	return m;
}

double ft_gradient_error(struct moe_fit_problem *p, double *theta, double *g,
                         double *fd)
{
	size_t P = moe_fit_problem_size(p);
	double num = 0, den = 0;

	moe_fit_objective(p, theta, g);

	for (size_t q = 0; q < P; q++) {
		double keep = theta[q], h = 1e-5 * fmax(1, fabs(keep));
		double up, down, diff;

		theta[q] = keep + h;
		up = moe_fit_objective(p, theta, NULL);
		theta[q] = keep - h;
		down = moe_fit_objective(p, theta, NULL);
		theta[q] = keep;
		diff = (up - down) / (2 * h);
		if (fd != NULL)
			fd[q] = diff;
		num += (g[q] - diff) * (g[q] - diff);
		den += g[q] * g[q];
	}
	return sqrt(num / den);
}
