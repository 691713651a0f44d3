/* SPDX-License-Identifier: MIT */
/*
 * fit.h - maximum-likelihood fitting of mixture-of-experts classifiers.
 *
 * moe_fit() estimates every parameter of a model (SPEC 1) from labelled
 * rows by minimizing the penalized negative log-likelihood
 *
 *     f(theta) = -(1/n) sum_r log P(y_r | z_r; theta)
 *                + (lambda / 2) ||theta||^2
 *
 * over the n training rows, where z_r is row r after standardization.
 * The penalty covers every parameter, intercepts and euclidean centres
 * included, so that f has a finite minimizer for any data when lambda > 0
 * (separable classes included).  The minimizer is L-BFGS with a line
 * search satisfying the strong Wolfe conditions, on all parameters
 * jointly, with analytic gradients; the large products run through BLAS.
 *
 * The gate's kind and score are fixed settings, not fitted.  The
 * temperature is fixed too, unless learn_temperature asks for it to be
 * estimated jointly with the other parameters, through its logarithm
 * (one more parameter, penalized like the others, so towards tau = 1).
 * top_k is not used in training: the fit uses every expert and the model
 * it returns applies top_k when it predicts (SPEC 1, step 2).  Accuracy
 * and log-loss in the report are those of the returned model, top_k and
 * dtype included.
 *
 * The library prints nothing: progress goes to an optional callback.
 * Nothing here keeps global state; distinct fits may run in parallel
 * threads (BLAS itself may use several threads for one fit).
 */
#ifndef SIGMOE_FIT_H
#define SIGMOE_FIT_H

#include <stddef.h>
#include <stdint.h>

#include "sigmoe.h"

/* Labelled rows; the caller owns every array. */
struct moe_fit_data {
	size_t n_rows;
	size_t n_features;           /* d */
	size_t n_classes;            /* K >= 2 */
	const double *x;             /* [n_rows][d], raw, finite */
	const size_t *y;             /* [n_rows], each < K */
	const char *const *features; /* d names or NULL */
	const char *const *classes;  /* K names */
};

/* What the progress callback is told, once per L-BFGS iteration. */
struct moe_fit_progress {
	size_t restart;   /* 0 .. restarts - 1 */
	size_t iteration; /* 1 .. max_iter within the restart */
	double loglik;    /* mean training log-likelihood */
	double objective; /* f(theta), penalized */
	double elapsed;   /* seconds since moe_fit started */
};

/*
 * Returns 0 to go on; anything else stops the fit, which then fails with
 * -ECANCELED.
 */
typedef int (*moe_fit_progress_fn)(void *ctx,
                                   const struct moe_fit_progress *progress);

struct moe_fit_options {
	size_t n_experts;             /* E >= 1 */
	struct moe_gate gate;         /* fixed; top_k applied at prediction */
	double l2;                    /* lambda >= 0 */
	size_t max_iter;              /* L-BFGS iterations per restart, >= 1 */
	double tol;                   /* stop: relative change of f <= tol, or
	                                 max |gradient| <= tol */
	size_t restarts;              /* >= 1; the lowest f is kept */
	uint64_t seed;                /* initialization and held-out split */
	double holdout;               /* fraction held out, in [0, 1) */
	int standardize;              /* 1: fit on z = (x - mean) / scale */
	enum moe_dtype dtype;         /* of the returned model */
	const char *name;             /* may be NULL */
	const char *description;      /* NULL: a summary of the fit and its
	                                 accuracy is written instead */
	moe_fit_progress_fn progress; /* may be NULL */
	void *progress_ctx;
	int learn_temperature;        /* 1: tau is estimated, starting from
	                                 gate.temperature */
	const struct moe_model *init; /* NULL, or the first restart starts
	                                 from its parameters (and, when tau
	                                 is learned, its temperature); the
	                                 caller keeps it alive during the
	                                 fit */
};

/* The outcome of a fit.  held-out figures are NAN when holdout is 0. */
struct moe_fit_report {
	size_t n_train, n_holdout;
	size_t iterations;  /* of the restart that was kept */
	size_t evaluations; /* of f and its gradient, all restarts */
	int converged;      /* the kept restart met tol */
	double objective;   /* f at the kept optimum */
	double temperature; /* of the returned model (learned or fixed) */
	double train_accuracy, train_logloss;
	double holdout_accuracy, holdout_logloss;
	double seconds;
};

/*
 * moe_fit_options_default - the defaults of `sigmoe fit`: 4 experts,
 * sigmoid gate, euclidean score, temperature 1, top_k 0, lambda 1e-4,
 * 500 iterations, tol 1e-7, 1 restart, seed 1, holdout 0.2, standardize,
 * F64, no progress callback, fixed temperature, random starts.
 */
void moe_fit_options_default(struct moe_fit_options *opts);

/*
 * moe_fit - fit a model to data.
 * The held-out rows are a random subset (the seed fixes it) of
 * floor(holdout * n) rows; the rest are the training rows, from which
 * the standardization is computed (a column with no spread gets scale
 * 1).  Deterministic for a seed and a BLAS that is deterministic.
 * With opts->init, restart 0 starts from init's parameters, taken as
 * they are for the inputs the fit works on (raw with standardize 0,
 * else standardized by the training rows): init must have E experts,
 * d features and K classes, else -EINVAL.  Later restarts start at
 * random.
 * On success *out owns a new model (free with moe_model_free) and
 * *report (may be NULL) is filled.  log-loss is the mean of
 * -log max(P(y | x), 1e-300).
 * Returns 0, -EINVAL (bad options or data: err names which), -ENOMEM,
 * -E2BIG (working memory over MOE_MAX_FIT_BYTES), -ECANCELED (the
 * callback stopped it).  Thread-safe.
 */
int moe_fit(const struct moe_fit_data *data, const struct moe_fit_options *opts,
            struct moe_model **out, struct moe_fit_report *report,
            struct moe_error *err);

/*
 * moe_fit_evaluate - accuracy and mean log-loss of model on rows x
 * ([n][d], raw) with labels y (indices of model->classes).
 * Returns 0 or an error of moe_forward().
 */
int moe_fit_evaluate(const struct moe_model *model, const double *x,
                     const size_t *y, size_t n, double *accuracy,
                     double *logloss, struct moe_error *err);

/*
 * The objective itself, for tests and studies.  A problem holds training
 * rows (standardized when opts->standardize) and the settings of opts
 * that shape f: E, gate kind, score, temperature and lambda.  The
 * parameter vector theta has moe_fit_problem_size() doubles, in this
 * order: gate.weight [E][d], experts.weight [E][K][d], gate.bias [E],
 * experts.bias [E][K] -- the parameters of the standardized inputs --
 * and, when opts->learn_temperature, log tau last.
 */
struct moe_fit_problem;

/*
 * moe_fit_problem_new - a problem over every row of data (no held-out
 * split).  Returns 0, -EINVAL, -E2BIG or -ENOMEM; free the result with
 * moe_fit_problem_free().  Not shared between threads.
 */
int moe_fit_problem_new(const struct moe_fit_data *data,
                        const struct moe_fit_options *opts,
                        struct moe_fit_problem **out, struct moe_error *err);

/* moe_fit_problem_size - the number of parameters in theta. */
size_t moe_fit_problem_size(const struct moe_fit_problem *problem);

/*
 * moe_fit_objective - f(theta); when grad is not NULL it receives the
 * gradient of f (same layout as theta).  Not thread-safe for one problem
 * (it uses the problem's working memory).
 */
double moe_fit_objective(struct moe_fit_problem *problem, const double *theta,
                         double *grad);

/* moe_fit_problem_free - release a problem; NULL is ok. */
void moe_fit_problem_free(struct moe_fit_problem *problem);

#endif
