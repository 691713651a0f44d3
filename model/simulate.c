/* SPDX-License-Identifier: MIT */
/*
 * simulate.c - draw labelled samples from a model, for studies and tests.
 *
 * Two streams come from the seed: one for the features and one for the
 * labels, so that the sample does not depend on how rows are batched
 * through the forward pass.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "internal.h"

/* Rows sent through the forward pass at once. */
#define SIMULATE_BATCH 256

static double param_at(const struct moe_model *m, const void *data, size_t i)
{
	if (m->dtype == MOE_DTYPE_F32)
		return ((const float *)data)[i];
	return ((const double *)data)[i];
}

/* Features of n rows; a draw past the double range is clamped to it. */
static void draw_features(const struct moe_model *m, struct moe_rng *rng,
                          double *x, size_t n)
{
	size_t d = m->n_features;

	for (size_t i = 0; i < n * d; i++) {
		double v = moe_rng_normal(rng);

		if (m->params.mean != NULL)
			v = param_at(m, m->params.mean, i % d) +
			    fabs(param_at(m, m->params.scale, i % d)) * v;
		if (!isfinite(v))
			v = v > 0 ? DBL_MAX : -DBL_MAX;
		x[i] = v;
	}
}

/* A class drawn from one row of probabilities. */
static size_t draw_label(struct moe_rng *rng, const double *p, size_t k)
{
	double u = moe_rng_uniform(rng), cum = 0;
	size_t last = 0;

	for (size_t c = 0; c < k; c++) {
		if (p[c] <= 0)
			continue;
		cum += p[c];
		last = c;
		if (u < cum)
			return c;
	}
	return last; /* rounding left u above the total */
}

int moe_simulate(const struct moe_model *model, size_t n, uint64_t seed,
                 double *x, size_t *y, struct moe_error *err)
{
	size_t k = model->n_classes, d = model->n_features;
	struct moe_rng rx, ry;
	struct moe_scratch *scratch;
	struct moe_output out = {0};
	int r = 0;

	moe_rng_seed(&rx, seed);
	moe_rng_seed(&ry, moe_rng_next(&rx));
	draw_features(model, &rx, x, n);

	scratch = moe_scratch_new();
	out.probabilities = malloc(SIMULATE_BATCH * k * sizeof(double));
	if (scratch == NULL || out.probabilities == NULL) {
		r = moe_fail(err, -ENOMEM, "out of memory");
		goto free_buffers;
	}

	for (size_t r0 = 0; r0 < n; r0 += SIMULATE_BATCH) {
		size_t rows = n - r0 < SIMULATE_BATCH ? n - r0 : SIMULATE_BATCH;

		r = moe_forward(model, x + r0 * d, rows, scratch, &out, err);
		if (r < 0)
			goto free_buffers;
		for (size_t i = 0; i < rows; i++)
			y[r0 + i] =
			    draw_label(&ry, out.probabilities + i * k, k);
	}

free_buffers:
	free(out.probabilities);
	moe_scratch_free(scratch);
	return r;
}
