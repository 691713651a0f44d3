/* SPDX-License-Identifier: MIT */
/*
 * fit.c - maximum-likelihood fitting: the objective, its gradient, an
 * L-BFGS minimizer with a strong Wolfe line search, initialization,
 * restarts, the held-out split and the report.  See fit.h.
 *
 * The objective works on one matrix product per evaluation: the rows of
 * the gate weights and of the expert weights are stacked into one
 * [C][d] matrix M (C = E + E*K), and U = Z M^T ([n][C]) holds every
 * inner product the model needs.  A pass over the rows turns U, in
 * place, into D, the derivative of f with respect to U; the gradient of
 * the weights is then D^T Z, a second product.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "fit.h"
#include "internal.h"

#define LBFGS_MEMORY 10 /* pairs (s, y) kept */
#define LS_MAX_EVALS 25 /* evaluations per line search */
#define WOLFE_C1 1e-4
#define WOLFE_C2 0.9
#define LOGLOSS_FLOOR 1e-300
#define INIT_WEIGHT_SD 0.01 /* slopes of experts at the start */
#define ROWS_PER_JOB 2048   /* fewest rows worth a thread */

/* A share of the rows, for one thread of the row pass. */
struct row_job {
	struct moe_fit_problem *p;
	const double *theta;
	size_t begin, end;
	double *buf; /* [6E] per-row working values */
	double *gb;  /* [E + 1] this share's gradient of the gate intercepts
	                and of log tau */
	double ll;   /* this share's log-likelihood */
};

struct moe_fit_problem {
	size_t n, d, E, K, C;
	struct moe_gate gate; /* temperature: the current one when learned */
	int learn_tau;        /* log tau is the last parameter */
	double tau0;          /* the temperature of the options */
	double lambda;
	double *z;  /* [n][d] */
	size_t *y;  /* [n] */
	double *zz; /* [n] squared norms, euclidean score only */
	double *u;  /* [n][C] products, then their derivatives */
	double *ww; /* [E] squared norms of the centres */
	size_t n_jobs;
	struct row_job *jobs;
	double *job_mem; /* [n_jobs][7E + 1]: the jobs' buf and gb */
	size_t evaluations;
};

/* ---- small numerics ---- */

/* log sigma(t) and sigma(-t) = 1 - sigma(t), with one exp. */
static double log_sigmoid(double t, double *sigma_neg)
{
	double e;

	if (t >= 0) {
		e = exp(-t);
		*sigma_neg = e / (1 + e);
		return -log1p(e);
	}
	e = exp(t);
	*sigma_neg = 1 / (1 + e);
	return t - log1p(e);
}

/*
 * log(sum_i exp(v[i])), computed from the largest v; ex[i] receives
 * exp(v[i] - max) (ex may be v) and *sum their sum.
 */
static double log_sum_exp(const double *v, double *ex, size_t n, double *sum)
{
	double top = v[0], s = 0;

	for (size_t i = 1; i < n; i++)
		if (v[i] > top)
			top = v[i];
	for (size_t i = 0; i < n; i++) {
		ex[i] = exp(v[i] - top);
		s += ex[i];
	}
	*sum = s;
	return top + log(s);
}

static double dot(const double *a, const double *b, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static double max_abs(const double *a, size_t n)
{
	double m = 0;

	for (size_t i = 0; i < n; i++)
		if (fabs(a[i]) > m)
			m = fabs(a[i]);
	return m;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the objective ---- */

/*
 * Where the blocks of theta start; size counts them, without log tau,
 * which follows them (at index size) when the temperature is learned.
 */
struct layout {
	size_t gate_w, expert_w, gate_b, expert_b, size;
};

static struct layout layout_of(size_t d, size_t E, size_t K)
{
	struct layout l;

	l.gate_w = 0;
	l.expert_w = E * d;
	l.gate_b = l.expert_w + E * K * d;
	l.expert_b = l.gate_b + E;
	l.size = l.expert_b + E * K;
	return l;
}

/*
 * The gate of one row, into buf: scores s, log-weights a (before
 * normalization), sm = sigma(-s) for the sigmoid gate, and the weights
 * G.  Returns log sum_i exp(a_i).
 */
static double row_gate(const struct moe_fit_problem *p, const double *theta,
                       const double *u, double zz, double *buf)
{
	const double *bias = theta + layout_of(p->d, p->E, p->K).gate_b;
	size_t E = p->E;
	double *s = buf, *a = s + E, *sm = a + E, *G = sm + E;
	double tau = p->gate.temperature, sum, norm;

	for (size_t i = 0; i < E; i++) {
		if (p->gate.score == MOE_SCORE_INNER)
			s[i] = (u[i] + bias[i]) / tau;
		else
			s[i] = bias[i] - (zz - 2 * u[i] + p->ww[i]) / tau;
		if (p->gate.kind == MOE_GATE_SIGMOID)
			a[i] = log_sigmoid(s[i], &sm[i]);
		else
			a[i] = s[i];
	}

	norm = log_sum_exp(a, G, E, &sum);
	for (size_t i = 0; i < E; i++)
		G[i] /= sum;
	return norm;
}

/*
 * d s_i / d log tau: the inner score (W_i . x + b_i) / tau gives -s_i;
 * the euclidean score b_i - ||x - W_i||^2 / tau gives
 * ||x - W_i||^2 / tau = b_i - s_i.
 */
static double score_dlogtau(const struct moe_fit_problem *p, double s, double b)
{
	return p->gate.score == MOE_SCORE_INNER ? -s : b - s;
}

/*
 * One row: from its products u[C] (and zz, its squared norm) to its
 * log-likelihood, leaving in u the derivative of -w * loglik with respect
 * to each product, and adding to gb[0..E) the derivative with respect to
 * the gate intercepts and to gb[E] that with respect to log tau.  buf
 * holds 6E doubles.  Returns the log-likelihood.
 */
static double row_pass(const struct moe_fit_problem *p, const double *theta,
                       double *u, double zz, size_t y, double w, double *buf,
                       double *gb)
{
	struct layout l = layout_of(p->d, p->E, p->K);
	const double *bias = theta + l.expert_b, *gbias = theta + l.gate_b;
	size_t E = p->E, K = p->K;
	double *sm = buf + 2 * E, *G = buf + 3 * E, *c = buf + 4 * E;
	double *r = buf + 5 * E, *eta = u + E;
	double tau = p->gate.temperature, norm, ll, sum;

	norm = row_gate(p, theta, u, zz, buf);
	for (size_t i = 0; i < E; i++) {
		double *e = eta + i * K, ey, lse;

		for (size_t k = 0; k < K; k++)
			e[k] += bias[i * K + k];
		ey = e[y];
		lse = log_sum_exp(e, e, K, &sum);
		for (size_t k = 0; k < K; k++)
			e[k] /= sum; /* p_i[k] */
		c[i] = buf[E + i] - norm + ey - lse;
	}
	ll = log_sum_exp(c, r, E, &sum);

	for (size_t i = 0; i < E; i++) {
		double ri = r[i] / sum, g = ri - G[i];
		double *e = eta + i * K;

		for (size_t k = 0; k < K; k++)
			e[k] *= w * ri;
		e[y] -= w * ri;

		if (p->gate.kind == MOE_GATE_SIGMOID)
			g *= sm[i];
		gb[E] -= w * g * score_dlogtau(p, buf[i], gbias[i]);
		if (p->gate.score == MOE_SCORE_INNER) {
			u[i] = -w * g / tau;
			gb[i] -= w * g / tau;
		} else {
			u[i] = -w * 2 * g / tau;
			gb[i] -= w * g;
		}
	}
	return ll;
}

static void *row_job_run(void *arg)
{
	struct row_job *job = arg;
	const struct moe_fit_problem *p = job->p;
	double w = 1.0 / (double)p->n;

	job->ll = 0;
	memset(job->gb, 0, (p->E + 1) * sizeof(double));
	for (size_t j = job->begin; j < job->end; j++)
		job->ll += row_pass(p, job->theta, p->u + j * p->C,
		                    p->zz ? p->zz[j] : 0, p->y[j], w, job->buf,
		                    job->gb);
	return NULL;
}

/*
 * The row pass over every row, shared between the problem's jobs
 * (moe_run_shares).  Sums the gradients of the gate intercepts and of
 * log tau into gb[0..E] and returns the mean log-likelihood.
 */
static double rows_all(struct moe_fit_problem *p, const double *theta,
                       double *gb)
{
	double ll = 0;

	for (size_t t = 0; t < p->n_jobs; t++)
		p->jobs[t].theta = theta;
	moe_run_shares(row_job_run, p->jobs, sizeof(*p->jobs), p->n_jobs);

	memset(gb, 0, (p->E + 1) * sizeof(double));
	for (size_t t = 0; t < p->n_jobs; t++) {
		ll += p->jobs[t].ll;
		for (size_t i = 0; i <= p->E; i++)
			gb[i] += p->jobs[t].gb[i];
	}
	return ll / (double)p->n;
}

/* theta's weight rows as the [C][d] matrix M; U = Z M^T. */
static void products(const struct moe_fit_problem *p, const double *theta)
{
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p->n,
	            (int)p->C, (int)p->d, 1.0, p->z, (int)p->d, theta,
	            (int)p->d, 0.0, p->u, (int)p->C);
}

/* The data part of the gradient: D^T Z, the intercepts, the centres. */
static void weight_gradient(const struct moe_fit_problem *p,
                            const double *theta, double *grad)
{
	struct layout l = layout_of(p->d, p->E, p->K);

	cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p->C,
	            (int)p->d, (int)p->n, 1.0, p->u, (int)p->C, p->z, (int)p->d,
	            0.0, grad, (int)p->d);

	for (size_t j = 0; j < p->n; j++) {
		const double *dj = p->u + j * p->C + p->E;

		for (size_t q = 0; q < p->E * p->K; q++)
			grad[l.expert_b + q] += dj[q];
	}

	/* -||W_i||^2 / tau in the euclidean score; the products leave the
	 * intercepts (after the weights in theta) untouched. */
	if (p->gate.score == MOE_SCORE_EUCLIDEAN)
		for (size_t i = 0; i < p->E; i++)
			for (size_t k = 0; k < p->d; k++)
				grad[i * p->d + k] -= 2 * grad[l.gate_b + i] *
				                      theta[i * p->d + k] /
				                      p->gate.temperature;
}

double moe_fit_objective(struct moe_fit_problem *p, const double *theta,
                         double *grad)
{
	struct layout l = layout_of(p->d, p->E, p->K);
	size_t P = moe_fit_problem_size(p);
	double gb[MOE_MAX_EXPERTS + 1];
	double ll;

	p->evaluations++;
	if (p->learn_tau)
		p->gate.temperature = exp(theta[l.size]);
	for (size_t i = 0; i < p->E; i++)
		p->ww[i] = dot(theta + i * p->d, theta + i * p->d, p->d);
	products(p, theta);
	ll = rows_all(p, theta, gb);

	if (grad) {
		memcpy(grad + l.gate_b, gb, p->E * sizeof(double));
		memset(grad + l.expert_b, 0, p->E * p->K * sizeof(double));
		weight_gradient(p, theta, grad);
		if (p->learn_tau)
			grad[l.size] = gb[p->E];
		for (size_t q = 0; q < P; q++)
			grad[q] += p->lambda * theta[q];
	}
	return -ll + 0.5 * p->lambda * dot(theta, theta, P);
}

/* ---- problems ---- */

size_t moe_fit_problem_size(const struct moe_fit_problem *p)
{
	return layout_of(p->d, p->E, p->K).size + (p->learn_tau ? 1 : 0);
}

void moe_fit_problem_free(struct moe_fit_problem *p)
{
	if (!p)
		return;
	free(p->z);
	free(p->y);
	free(p->zz);
	free(p->u);
	free(p->ww);
	free(p->jobs);
	free(p->job_mem);
	free(p);
}

/*
 * Threads for the row pass: as many as BLAS uses, up to
 * MOE_MAX_ROW_THREADS, with at least ROWS_PER_JOB rows each.
 */
static size_t row_jobs(size_t n)
{
	int blas = moe_blas_threads();
	size_t jobs = blas > 0 ? (size_t)blas : 1;

	if (jobs > MOE_MAX_ROW_THREADS)
		jobs = MOE_MAX_ROW_THREADS;
	if (jobs > n / ROWS_PER_JOB)
		jobs = n / ROWS_PER_JOB;
	return jobs > 0 ? jobs : 1;
}

/* Split the rows evenly between the jobs. */
static void share_rows(struct moe_fit_problem *p)
{
	for (size_t t = 0; t < p->n_jobs; t++) {
		struct row_job *job = &p->jobs[t];

		job->p = p;
		job->begin = p->n * t / p->n_jobs;
		job->end = p->n * (t + 1) / p->n_jobs;
		job->buf = p->job_mem + t * (7 * p->E + 1);
		job->gb = job->buf + 6 * p->E;
	}
}

/* Bytes a fit of n rows needs, as a double so that it cannot wrap. */
static double fit_bytes(size_t n, size_t d, size_t E, size_t K)
{
	double C = (double)E + (double)E * (double)K;
	double P = C * (double)d + C;
	double rows = (double)n * ((double)d * 2 + C + 4);

	return 8.0 * (rows + P * (2.0 * LBFGS_MEMORY + 8));
}

static int check_sizes(size_t n, size_t d, size_t E, size_t K,
                       struct moe_error *err)
{
	if (fit_bytes(n, d, E, K) > (double)MOE_MAX_FIT_BYTES)
		return moe_fail(
		    err, -E2BIG,
		    "fit: %zu rows of %zu features with %zu experts and %zu classes need more than %lu bytes of working memory",
		    n, d, E, K, (unsigned long)MOE_MAX_FIT_BYTES);
	return 0;
}

/*
 * A problem over rows[0..n) of data, standardized with mean and scale
 * when they are not NULL.
 */
static int problem_build(const struct moe_fit_data *data, const size_t *rows,
                         size_t n, const double *mean, const double *scale,
                         const struct moe_fit_options *opts,
                         struct moe_fit_problem **out, struct moe_error *err)
{
	struct moe_fit_problem *p = calloc(1, sizeof(*p));
	size_t d = data->n_features;

	if (!p)
		return moe_fail(err, -ENOMEM, "fit: out of memory");
	p->n = n;
	p->d = d;
	p->E = opts->n_experts;
	p->K = data->n_classes;
	p->C = p->E + p->E * p->K;
	p->gate = opts->gate;
	p->learn_tau = opts->learn_temperature != 0;
	p->tau0 = opts->gate.temperature;
	p->lambda = opts->l2;
	p->z = malloc(n * d * sizeof(double));
	p->y = malloc(n * sizeof(size_t));
	p->u = malloc(n * p->C * sizeof(double));
	p->ww = malloc(p->E * sizeof(double));
	p->n_jobs = row_jobs(n);
	p->jobs = calloc(p->n_jobs, sizeof(*p->jobs));
	p->job_mem = malloc(p->n_jobs * (7 * p->E + 1) * sizeof(double));
	if (opts->gate.score == MOE_SCORE_EUCLIDEAN)
		p->zz = malloc(n * sizeof(double));
	if (!p->z || !p->y || !p->u || !p->ww || !p->jobs || !p->job_mem ||
	    (opts->gate.score == MOE_SCORE_EUCLIDEAN && !p->zz)) {
		moe_fit_problem_free(p);
		return moe_fail(err, -ENOMEM, "fit: out of memory");
	}

	for (size_t j = 0; j < n; j++) {
		const double *x = data->x + rows[j] * d;
		double *z = p->z + j * d;

		for (size_t k = 0; k < d; k++)
			z[k] = mean ? (x[k] - mean[k]) / scale[k] : x[k];
		p->y[j] = data->y[rows[j]];
		if (p->zz)
			p->zz[j] = dot(z, z, d);
	}
	share_rows(p);
	*out = p;
	return 0;
}

static int check_options(const struct moe_fit_options *o, struct moe_error *err)
{
	if (o->n_experts < 1 || o->n_experts > MOE_MAX_EXPERTS)
		return moe_fail(err, -EINVAL,
		                "fit: experts: %zu is not in 1..%u",
		                o->n_experts, MOE_MAX_EXPERTS);
	if (o->gate.kind != MOE_GATE_SIGMOID &&
	    o->gate.kind != MOE_GATE_SOFTMAX)
		return moe_fail(err, -EINVAL, "fit: unknown gate kind");
	if (o->gate.score != MOE_SCORE_INNER &&
	    o->gate.score != MOE_SCORE_EUCLIDEAN)
		return moe_fail(err, -EINVAL, "fit: unknown gate score");
	if (!(o->gate.temperature > 0) || !isfinite(o->gate.temperature))
		return moe_fail(err, -EINVAL,
		                "fit: temperature: %g is not a positive number",
		                o->gate.temperature);
	if (o->gate.top_k > o->n_experts)
		return moe_fail(err, -EINVAL,
		                "fit: top_k: %zu is more than the %zu experts",
		                o->gate.top_k, o->n_experts);
	if (!(o->l2 >= 0) || !isfinite(o->l2))
		return moe_fail(err, -EINVAL,
		                "fit: l2: %g is not a number >= 0", o->l2);
	if (o->max_iter < 1)
		return moe_fail(err, -EINVAL, "fit: max_iter: must be >= 1");
	if (!(o->tol >= 0) || !isfinite(o->tol))
		return moe_fail(err, -EINVAL,
		                "fit: tol: %g is not a number >= 0", o->tol);
	if (o->restarts < 1)
		return moe_fail(err, -EINVAL, "fit: restarts: must be >= 1");
	if (!(o->holdout >= 0 && o->holdout < 1))
		return moe_fail(err, -EINVAL,
		                "fit: holdout: %g is not in [0, 1)",
		                o->holdout);
	if (o->dtype != MOE_DTYPE_F64 && o->dtype != MOE_DTYPE_F32)
		return moe_fail(err, -EINVAL, "fit: unknown dtype");
	return 0;
}

static int check_data(const struct moe_fit_data *data, struct moe_error *err)
{
	if (data->n_rows < 1)
		return moe_fail(err, -EINVAL, "fit: no rows");
	if (data->n_features < 1 || data->n_features > MOE_MAX_FEATURES)
		return moe_fail(err, -EINVAL,
		                "fit: %zu features is not in 1..%u",
		                data->n_features, MOE_MAX_FEATURES);
	if (data->n_classes < 2 || data->n_classes > MOE_MAX_CLASSES)
		return moe_fail(err, -EINVAL,
		                "fit: %zu classes: need 2..%u classes",
		                data->n_classes, MOE_MAX_CLASSES);
	if (data->n_rows > (size_t)1 << 30)
		return moe_fail(err, -E2BIG, "fit: more than 2^30 rows");

	for (size_t j = 0; j < data->n_rows; j++) {
		if (data->y[j] >= data->n_classes)
			return moe_fail(
			    err, -EINVAL,
			    "fit: row %zu: label %zu is not below the %zu classes",
			    j + 1, data->y[j], data->n_classes);
		for (size_t k = 0; k < data->n_features; k++)
			if (!isfinite(data->x[j * data->n_features + k]))
				return moe_fail(
				    err, -EINVAL,
				    "fit: row %zu, column %zu: not a finite number",
				    j + 1, k + 1);
	}
	return 0;
}

/*
 * The mean and the standard deviation (divisor n) of each column over
 * rows[0..n); a column with no spread gets scale 1.
 */
static void standardization(const struct moe_fit_data *data, const size_t *rows,
                            size_t n, double *mean, double *scale)
{
	size_t d = data->n_features;

	memset(mean, 0, d * sizeof(*mean));
	memset(scale, 0, d * sizeof(*scale));
	for (size_t j = 0; j < n; j++)
		for (size_t k = 0; k < d; k++)
			mean[k] += data->x[rows[j] * d + k];
	for (size_t k = 0; k < d; k++)
		mean[k] /= (double)n;

	for (size_t j = 0; j < n; j++)
		for (size_t k = 0; k < d; k++) {
			double t = data->x[rows[j] * d + k] - mean[k];

			scale[k] += t * t;
		}
	for (size_t k = 0; k < d; k++) {
		double v = sqrt(scale[k] / (double)n);

		scale[k] = v > 1e-12 * fmax(1.0, fabs(mean[k])) ? v : 1.0;
	}
}

int moe_fit_problem_new(const struct moe_fit_data *data,
                        const struct moe_fit_options *opts,
                        struct moe_fit_problem **out, struct moe_error *err)
{
	size_t *rows = NULL;
	double *mean = NULL, *scale = NULL;
	int rc;

	rc = check_options(opts, err);
	if (rc == 0)
		rc = check_data(data, err);
	if (rc == 0)
		rc = check_sizes(data->n_rows, data->n_features,
		                 opts->n_experts, data->n_classes, err);
	if (rc < 0)
		return rc;

	rows = malloc(data->n_rows * sizeof(*rows));
	mean = malloc(data->n_features * sizeof(*mean));
	scale = malloc(data->n_features * sizeof(*scale));
	if (!rows || !mean || !scale) {
		rc = moe_fail(err, -ENOMEM, "fit: out of memory");
		goto free_rows;
	}
	for (size_t j = 0; j < data->n_rows; j++)
		rows[j] = j;
	standardization(data, rows, data->n_rows, mean, scale);
	rc = problem_build(data, rows, data->n_rows,
	                   opts->standardize ? mean : NULL, scale, opts, out,
	                   err);
free_rows:
	free(rows);
	free(mean);
	free(scale);
	return rc;
}

/* ---- L-BFGS ---- */

struct lbfgs {
	struct moe_fit_problem *p;
	size_t P;           /* parameters */
	size_t count, head; /* pairs stored; next slot */
	double *s, *y;      /* [LBFGS_MEMORY][P] */
	double rho[LBFGS_MEMORY], alpha[LBFGS_MEMORY];
	double *x, *g, f; /* current point */
	double *dir;
	double *xt, *gt; /* trial point of the line search */
};

/* A point on the search line: step, value, directional derivative. */
struct ls_point {
	double a, f, d;
};

static void lbfgs_free(struct lbfgs *lb)
{
	free(lb->s);
	free(lb->y);
	free(lb->g);
	free(lb->dir);
	free(lb->xt);
	free(lb->gt);
}

static int lbfgs_init(struct lbfgs *lb, struct moe_fit_problem *p)
{
	size_t P = moe_fit_problem_size(p);

	memset(lb, 0, sizeof(*lb));
	lb->p = p;
	lb->P = P;
	lb->s = malloc(LBFGS_MEMORY * P * sizeof(double));
	lb->y = malloc(LBFGS_MEMORY * P * sizeof(double));
	lb->g = malloc(P * sizeof(double));
	lb->dir = malloc(P * sizeof(double));
	lb->xt = malloc(P * sizeof(double));
	lb->gt = malloc(P * sizeof(double));
	if (!lb->s || !lb->y || !lb->g || !lb->dir || !lb->xt || !lb->gt) {
		lbfgs_free(lb);
		return -ENOMEM;
	}
	return 0;
}

/* dir = -H g by the two-loop recursion over the stored pairs. */
static void lbfgs_direction(struct lbfgs *lb)
{
	size_t P = lb->P, m = LBFGS_MEMORY;
	double gamma = 1;

	for (size_t q = 0; q < P; q++)
		lb->dir[q] = -lb->g[q];

	for (size_t t = 0; t < lb->count; t++) {
		size_t i = (lb->head + m - 1 - t) % m;

		lb->alpha[i] = lb->rho[i] * dot(lb->s + i * P, lb->dir, P);
		cblas_daxpy((int)P, -lb->alpha[i], lb->y + i * P, 1, lb->dir,
		            1);
	}

	if (lb->count > 0) {
		size_t i = (lb->head + m - 1) % m;
		const double *y = lb->y + i * P;

		gamma = 1.0 / (lb->rho[i] * dot(y, y, P));
	}
	for (size_t q = 0; q < P; q++)
		lb->dir[q] *= gamma;

	for (size_t t = lb->count; t-- > 0;) {
		size_t i = (lb->head + m - 1 - t) % m;
		double beta = lb->rho[i] * dot(lb->y + i * P, lb->dir, P);

		cblas_daxpy((int)P, lb->alpha[i] - beta, lb->s + i * P, 1,
		            lb->dir, 1);
	}
}

/* Keep the pair (xt - x, gt - g) when its curvature is positive. */
static void lbfgs_remember(struct lbfgs *lb)
{
	size_t P = lb->P;
	double *s = lb->s + lb->head * P, *y = lb->y + lb->head * P;
	double sy, yy;

	for (size_t q = 0; q < P; q++) {
		s[q] = lb->xt[q] - lb->x[q];
		y[q] = lb->gt[q] - lb->g[q];
	}
	sy = dot(s, y, P);
	yy = dot(y, y, P);
	if (!(sy > DBL_EPSILON * yy) || !isfinite(sy))
		return;

	lb->rho[lb->head] = 1.0 / sy;
	lb->head = (lb->head + 1) % LBFGS_MEMORY;
	if (lb->count < LBFGS_MEMORY)
		lb->count++;
}

/* Evaluate f at x + a * dir into xt, gt. */
static struct ls_point ls_eval(struct lbfgs *lb, double a)
{
	struct ls_point pt = {.a = a};

	for (size_t q = 0; q < lb->P; q++)
		lb->xt[q] = lb->x[q] + a * lb->dir[q];
	pt.f = moe_fit_objective(lb->p, lb->xt, lb->gt);
	pt.d = dot(lb->gt, lb->dir, lb->P);
	if (!isfinite(pt.f) || !isfinite(pt.d)) {
		pt.f = INFINITY;
		pt.d = NAN;
	}
	return pt;
}

/*
 * The minimizer of the cubic through two points of the line, kept
 * within the middle 80% of the interval; the midpoint when the cubic
 * has no usable minimizer.
 */
static double ls_interpolate(struct ls_point lo, struct ls_point hi)
{
	double left = fmin(lo.a, hi.a), width = fabs(hi.a - lo.a);
	double d1, d2sq, d2, a;

	a = 0.5 * (lo.a + hi.a);
	if (!isfinite(hi.f) || !isfinite(hi.d) || !isfinite(lo.d))
		return a;
	d1 = lo.d + hi.d - 3 * (lo.f - hi.f) / (lo.a - hi.a);
	d2sq = d1 * d1 - lo.d * hi.d;
	if (d2sq < 0)
		return a;
	d2 = copysign(sqrt(d2sq), hi.a - lo.a);
	a = hi.a - (hi.a - lo.a) * (hi.d + d2 - d1) / (hi.d - lo.d + 2 * d2);
	if (!isfinite(a))
		return 0.5 * (lo.a + hi.a);
	return fmin(fmax(a, left + 0.1 * width), left + 0.9 * width);
}

static int wolfe(const struct ls_point *pt, const struct ls_point *start)
{
	return fabs(pt->d) <= -WOLFE_C2 * start->d;
}

static int armijo(const struct ls_point *pt, const struct ls_point *start)
{
	return pt->f <= start->f + WOLFE_C1 * pt->a * start->d;
}

/*
 * Shrink [lo, hi] until a point satisfies both Wolfe conditions (lo
 * always satisfies the first).  Returns 0 with the point in xt, gt and
 * *out, or -1 when no such point was found within the budget.
 */
static int ls_zoom(struct lbfgs *lb, struct ls_point start, struct ls_point lo,
                   struct ls_point hi, int evals, struct ls_point *out)
{
	for (; evals < LS_MAX_EVALS; evals++) {
		struct ls_point pt = ls_eval(lb, ls_interpolate(lo, hi));

		if (!armijo(&pt, &start) || pt.f >= lo.f) {
			hi = pt;
		} else {
			if (wolfe(&pt, &start)) {
				*out = pt;
				return 0;
			}
			if (pt.d * (hi.a - lo.a) >= 0)
				hi = lo;
			lo = pt;
		}
		if (fabs(hi.a - lo.a) <= 1e-14 * fmax(1.0, lo.a))
			break;
	}

	/* Out of budget: settle for lo when it made progress. */
	if (lo.a <= 0)
		return -1;
	*out = ls_eval(lb, lo.a);
	return out->f < start.f ? 0 : -1;
}

/*
 * A step along dir satisfying the strong Wolfe conditions, starting
 * from a0 and doubling while the function still falls.
 */
static int line_search(struct lbfgs *lb, double a0, struct ls_point *out)
{
	struct ls_point start = {0, lb->f, dot(lb->g, lb->dir, lb->P)};
	struct ls_point prev = start, pt;
	double a = a0;

	for (int evals = 1; evals <= LS_MAX_EVALS; evals++) {
		pt = ls_eval(lb, a);
		if (!armijo(&pt, &start) || (evals > 1 && pt.f >= prev.f))
			return ls_zoom(lb, start, prev, pt, evals, out);
		if (wolfe(&pt, &start)) {
			*out = pt;
			return 0;
		}
		if (pt.d >= 0)
			return ls_zoom(lb, start, pt, prev, evals, out);
		prev = pt;
		a *= 2;
	}
	*out = pt;
	return out->f < start.f ? 0 : -1;
}

/* What one run of the minimizer reports to moe_fit. */
struct run {
	size_t restart, iterations;
	int converged;
	double t0;
	const struct moe_fit_options *opts;
};

static int report_progress(struct lbfgs *lb, struct run *run)
{
	struct moe_fit_progress pr;
	double penalty = 0.5 * lb->p->lambda * dot(lb->x, lb->x, lb->P);

	if (!run->opts->progress)
		return 0;
	pr.restart = run->restart;
	pr.iteration = run->iterations;
	pr.objective = lb->f;
	pr.loglik = -(lb->f - penalty);
	pr.elapsed = now_seconds() - run->t0;
	return run->opts->progress(run->opts->progress_ctx, &pr);
}

/*
 * One step: a direction (steepest descent when the memory is empty or
 * its direction does not descend) and a line search along it.  Returns
 * 0 after a step, 1 when no step lowers f (a minimum at working
 * precision), or -1 when the steepest direction has to be retried.
 */
static int lbfgs_step(struct lbfgs *lb, double *f_old)
{
	struct ls_point pt;
	double a0 = 1;

	lbfgs_direction(lb);
	if (!(dot(lb->g, lb->dir, lb->P) < 0)) {
		lb->count = 0;
		lbfgs_direction(lb);
	}
	if (lb->count == 0)
		a0 = fmin(1.0, 1.0 / sqrt(dot(lb->g, lb->g, lb->P)));

	if (line_search(lb, a0, &pt) < 0) {
		if (lb->count == 0)
			return 1;
		lb->count = 0;
		return -1;
	}

	lbfgs_remember(lb);
	*f_old = lb->f;
	lb->f = pt.f;
	memcpy(lb->x, lb->xt, lb->P * sizeof(double));
	memcpy(lb->g, lb->gt, lb->P * sizeof(double));
	return 0;
}

/* Minimize f from x (updated in place).  Returns 0 or -ECANCELED. */
static int minimize(struct lbfgs *lb, double *x, struct run *run)
{
	double tol = run->opts->tol;

	lb->x = x;
	lb->count = 0;
	lb->head = 0;
	lb->f = moe_fit_objective(lb->p, x, lb->g);
	run->iterations = 0;
	run->converged = 0;

	while (run->iterations < run->opts->max_iter) {
		double f_old = lb->f;
		int rc;

		if (max_abs(lb->g, lb->P) <= tol) {
			run->converged = 1;
			break;
		}
		rc = lbfgs_step(lb, &f_old);
		if (rc < 0)
			continue;
		if (rc > 0) {
			run->converged = 1;
			break;
		}
		run->iterations++;
		if (report_progress(lb, run) != 0)
			return -ECANCELED;
		if (fabs(f_old - lb->f) <= tol * fmax(1.0, fabs(lb->f))) {
			run->converged = 1;
			break;
		}
	}
	return 0;
}

/* ---- initialization ---- */

/* k-means++ seeding: each centre a row drawn with probability in
 * proportion to its squared distance from the nearest centre so far.
 * dist is n doubles of scratch. */
static void init_centres(const struct moe_fit_problem *p, struct moe_rng *rng,
                         double *w, double *dist)
{
	size_t n = p->n, d = p->d;

	for (size_t i = 0; i < p->E; i++) {
		double total = 0, at;
		size_t pick = 0;

		for (size_t j = 0; j < n && i > 0; j++)
			total += dist[j];
		if (i == 0 || !(total > 0)) {
			pick = (size_t)(moe_rng_uniform(rng) * (double)n);
		} else {
			at = moe_rng_uniform(rng) * total;
			while (pick + 1 < n && at >= dist[pick])
				at -= dist[pick++];
		}
		if (pick >= n)
			pick = n - 1;
		memcpy(w + i * d, p->z + pick * d, d * sizeof(double));

		for (size_t j = 0; j < n; j++) {
			const double *z = p->z + j * d;
			double s = 0;

			for (size_t k = 0; k < d; k++)
				s += (z[k] - w[i * d + k]) *
				     (z[k] - w[i * d + k]);
			if (i == 0 || s < dist[j])
				dist[j] = s;
		}
	}
}

/*
 * A starting point: euclidean centres by k-means++, inner gate slopes
 * drawn so that scores have unit spread on standardized rows, small
 * random expert slopes, intercepts 0, the temperature of the options.
 */
static void init_theta(struct moe_fit_problem *p, struct moe_rng *rng,
                       double *theta)
{
	struct layout l = layout_of(p->d, p->E, p->K);
	double sd = 1.0 / sqrt((double)p->d);

	memset(theta, 0, l.size * sizeof(*theta));
	if (p->gate.score == MOE_SCORE_EUCLIDEAN)
		init_centres(p, rng, theta + l.gate_w, p->u);
	else
		for (size_t q = 0; q < p->E * p->d; q++)
			theta[l.gate_w + q] = sd * moe_rng_normal(rng);

	for (size_t q = 0; q < p->E * p->K * p->d; q++)
		theta[l.expert_w + q] = INIT_WEIGHT_SD * moe_rng_normal(rng);
	if (p->learn_tau)
		theta[l.size] = log(p->tau0);
}

/* Entry i of one of model's tensors, whatever its dtype. */
static double model_value(const struct moe_model *m, const void *a, size_t i)
{
	if (m->dtype == MOE_DTYPE_F32)
		return ((const float *)a)[i];
	return ((const double *)a)[i];
}

/* The parameters of init (checked by check_init) as a starting point. */
static void init_from_model(const struct moe_fit_problem *p,
                            const struct moe_model *init, double *theta)
{
	struct layout l = layout_of(p->d, p->E, p->K);
	const struct moe_params *m = &init->params;
	size_t E = p->E, d = p->d, K = p->K;

	for (size_t q = 0; q < E * d; q++)
		theta[l.gate_w + q] = model_value(init, m->gate_weight, q);
	for (size_t q = 0; q < E * K * d; q++)
		theta[l.expert_w + q] = model_value(init, m->expert_weight, q);
	for (size_t q = 0; q < E; q++)
		theta[l.gate_b + q] = model_value(init, m->gate_bias, q);
	for (size_t q = 0; q < E * K; q++)
		theta[l.expert_b + q] = model_value(init, m->expert_bias, q);
	if (p->learn_tau)
		theta[l.size] = log(init->gate.temperature);
}

static int check_init(const struct moe_fit_data *data,
                      const struct moe_fit_options *o, struct moe_error *err)
{
	const struct moe_model *m = o->init;

	if (!m)
		return 0;
	if (m->n_experts != o->n_experts || m->n_features != data->n_features ||
	    m->n_classes != data->n_classes)
		return moe_fail(
		    err, -EINVAL,
		    "fit: the starting model has %zu experts, %zu features and %zu classes; the fit has %zu, %zu and %zu",
		    m->n_experts, m->n_features, m->n_classes, o->n_experts,
		    data->n_features, data->n_classes);
	if (!(m->gate.temperature > 0) || !isfinite(m->gate.temperature))
		return moe_fail(
		    err, -EINVAL,
		    "fit: the starting model's temperature %g is not a positive number",
		    m->gate.temperature);
	return 0;
}

/* ---- evaluation ---- */

#define EVAL_CHUNK 1024

/* Add the chunk's correct count and log-loss sum to *hits, *loss. */
static int evaluate_chunk(const struct moe_model *model, const double *x,
                          const size_t *y, size_t n, struct moe_scratch *sc,
                          double *prob, size_t *label, double *hits,
                          double *loss, struct moe_error *err)
{
	struct moe_output out = {.probabilities = prob, .labels = label};
	size_t K = model->n_classes;
	int rc;

	rc = moe_forward(model, x, n, sc, &out, err);
	if (rc < 0)
		return rc;
	for (size_t j = 0; j < n; j++) {
		*hits += label[j] == y[j];
		*loss -= log(fmax(prob[j * K + y[j]], LOGLOSS_FLOOR));
	}
	return 0;
}

/*
 * Accuracy and log-loss of model over rows[0..n) of data (every row when
 * rows is NULL), gathered in chunks.
 */
static int evaluate_rows(const struct moe_model *model,
                         const struct moe_fit_data *data, const size_t *rows,
                         size_t n, double *accuracy, double *logloss,
                         struct moe_error *err)
{
	size_t d = model->n_features, K = model->n_classes;
	struct moe_scratch *sc = moe_scratch_new();
	double *x = malloc(EVAL_CHUNK * d * sizeof(double));
	double *prob = malloc(EVAL_CHUNK * K * sizeof(double));
	size_t *label = malloc(EVAL_CHUNK * sizeof(size_t));
	size_t *y = malloc(EVAL_CHUNK * sizeof(size_t));
	double hits = 0, loss = 0;
	int rc = 0;

	if (!sc || !x || !prob || !label || !y) {
		rc = moe_fail(err, -ENOMEM, "fit: out of memory");
		goto free_buffers;
	}
	for (size_t at = 0; at < n && rc == 0; at += EVAL_CHUNK) {
		size_t m = n - at < EVAL_CHUNK ? n - at : EVAL_CHUNK;

		for (size_t j = 0; j < m; j++) {
			size_t r = rows ? rows[at + j] : at + j;

			memcpy(x + j * d, data->x + r * d, d * sizeof(double));
			y[j] = data->y[r];
		}
		rc = evaluate_chunk(model, x, y, m, sc, prob, label, &hits,
		                    &loss, err);
	}
	*accuracy = n ? hits / (double)n : NAN;
	*logloss = n ? loss / (double)n : NAN;
free_buffers:
	moe_scratch_free(sc);
	free(x);
	free(prob);
	free(label);
	free(y);
	return rc;
}

int moe_fit_evaluate(const struct moe_model *model, const double *x,
                     const size_t *y, size_t n, double *accuracy,
                     double *logloss, struct moe_error *err)
{
	struct moe_fit_data data = {
	    .n_rows = n,
	    .n_features = model->n_features,
	    .n_classes = model->n_classes,
	    .x = x,
	    .y = y,
	};

	for (size_t j = 0; j < n; j++)
		if (y[j] >= model->n_classes)
			return moe_fail(
			    err, -EINVAL,
			    "row %zu: label %zu is not one of the model's %zu classes",
			    j + 1, y[j], model->n_classes);
	return evaluate_rows(model, &data, NULL, n, accuracy, logloss, err);
}

/* ---- the fit ---- */

void moe_fit_options_default(struct moe_fit_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->n_experts = 4;
	opts->gate.kind = MOE_GATE_SIGMOID;
	opts->gate.score = MOE_SCORE_EUCLIDEAN;
	opts->gate.temperature = 1;
	opts->gate.top_k = 0;
	opts->l2 = 1e-4;
	opts->max_iter = 500;
	opts->tol = 1e-7;
	opts->restarts = 1;
	opts->seed = 1;
	opts->holdout = 0.2;
	opts->standardize = 1;
	opts->dtype = MOE_DTYPE_F64;
}

/* Everything moe_fit allocates, freed in one place. */
struct fit_state {
	size_t *perm;
	double *mean, *scale;
	double *theta, *best;
	struct moe_fit_problem *problem;
	struct lbfgs lb;
	int lb_ready;
};

static void fit_state_free(struct fit_state *st)
{
	free(st->perm);
	free(st->mean);
	free(st->scale);
	free(st->theta);
	free(st->best);
	moe_fit_problem_free(st->problem);
	if (st->lb_ready)
		lbfgs_free(&st->lb);
}

static int compare_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/*
 * A random permutation of the rows: the first n_holdout are held out.
 * Each part is sorted, for memory order.
 */
static void split_rows(size_t *perm, size_t n, size_t n_holdout,
                       struct moe_rng *rng)
{
	for (size_t j = 0; j < n; j++)
		perm[j] = j;
	for (size_t j = n; j > 1; j--) {
		size_t r = (size_t)(moe_rng_uniform(rng) * (double)j);
		size_t t;

		if (r >= j)
			r = j - 1;
		t = perm[j - 1];
		perm[j - 1] = perm[r];
		perm[r] = t;
	}
	qsort(perm, n_holdout, sizeof(*perm), compare_size);
	qsort(perm + n_holdout, n - n_holdout, sizeof(*perm), compare_size);
}

static int fit_prepare(struct fit_state *st, const struct moe_fit_data *data,
                       const struct moe_fit_options *opts,
                       struct moe_fit_report *rep, struct moe_rng *rng,
                       struct moe_error *err)
{
	size_t n = data->n_rows, d = data->n_features;
	int rc;

	rep->n_holdout = (size_t)floor(opts->holdout * (double)n);
	rep->n_train = n - rep->n_holdout;
	if (rep->n_train < 1)
		return moe_fail(
		    err, -EINVAL,
		    "fit: holdout %g of %zu rows leaves no training rows",
		    opts->holdout, n);

	st->perm = malloc(n * sizeof(size_t));
	st->mean = malloc(d * sizeof(double));
	st->scale = malloc(d * sizeof(double));
	if (!st->perm || !st->mean || !st->scale)
		return moe_fail(err, -ENOMEM, "fit: out of memory");
	split_rows(st->perm, n, rep->n_holdout, rng);
	standardization(data, st->perm + rep->n_holdout, rep->n_train, st->mean,
	                st->scale);

	rc = problem_build(data, st->perm + rep->n_holdout, rep->n_train,
	                   opts->standardize ? st->mean : NULL, st->scale, opts,
	                   &st->problem, err);
	if (rc < 0)
		return rc;
	if (lbfgs_init(&st->lb, st->problem) < 0)
		return moe_fail(err, -ENOMEM, "fit: out of memory");
	st->lb_ready = 1;

	st->theta = malloc(st->lb.P * sizeof(double));
	st->best = malloc(st->lb.P * sizeof(double));
	if (!st->theta || !st->best)
		return moe_fail(err, -ENOMEM, "fit: out of memory");
	return 0;
}

/* Every restart from its own starting point; the lowest f into best. */
static int fit_restarts(struct fit_state *st,
                        const struct moe_fit_options *opts,
                        struct moe_fit_report *rep, struct moe_rng *rng,
                        double t0, struct moe_error *err)
{
	struct run run = {.t0 = t0, .opts = opts};

	rep->objective = INFINITY;
	for (run.restart = 0; run.restart < opts->restarts; run.restart++) {
		init_theta(st->problem, rng, st->theta);
		if (run.restart == 0 && opts->init)
			init_from_model(st->problem, opts->init, st->theta);
		if (minimize(&st->lb, st->theta, &run) < 0)
			return moe_fail(err, -ECANCELED, "fit: stopped");
		if (!(st->lb.f < rep->objective) && run.restart > 0)
			continue;
		rep->objective = st->lb.f;
		rep->iterations = run.iterations;
		rep->converged = run.converged;
		memcpy(st->best, st->theta, st->lb.P * sizeof(double));
	}
	if (!isfinite(rep->objective))
		return moe_fail(
		    err, -EINVAL,
		    "fit: the log-likelihood is not finite; are the features on a sane scale?");
	return 0;
}

/* The temperature of the parameters in st->best. */
static double fit_temperature(const struct fit_state *st)
{
	const struct moe_fit_problem *p = st->problem;

	if (!p->learn_tau)
		return p->tau0;
	return exp(st->best[layout_of(p->d, p->E, p->K).size]);
}

/* The model of the parameters in st->best. */
static int fit_model(const struct fit_state *st,
                     const struct moe_fit_data *data,
                     const struct moe_fit_options *opts,
                     const char *description, struct moe_model **out,
                     struct moe_error *err)
{
	const struct moe_fit_problem *p = st->problem;
	struct layout l = layout_of(p->d, p->E, p->K);
	struct moe_model_spec spec = {
	    .name = opts->name,
	    .description = description,
	    .dtype = opts->dtype,
	    .n_features = p->d,
	    .n_experts = p->E,
	    .n_classes = p->K,
	    .gate = opts->gate,
	    .features = data->features,
	    .classes = data->classes,
	    .gate_weight = st->best + l.gate_w,
	    .gate_bias = st->best + l.gate_b,
	    .expert_weight = st->best + l.expert_w,
	    .expert_bias = st->best + l.expert_b,
	    .mean = opts->standardize ? st->mean : NULL,
	    .scale = opts->standardize ? st->scale : NULL,
	};

	spec.gate.temperature = fit_temperature(st);
	return moe_model_create(&spec, out, err);
}

static void describe(char *buf, size_t size, const struct moe_fit_options *o,
                     const struct moe_fit_report *rep)
{
	int at = snprintf(
	    buf, size,
	    "Fitted by sigmoe fit: %zu experts, %s gate, %s score, temperature %g%s, top_k %zu, l2 %g, seed %llu; %zu training rows (accuracy %.4f, log-loss %.4f)",
	    o->n_experts, moe_gate_kind_name(o->gate.kind),
	    moe_score_name(o->gate.score), rep->temperature,
	    o->learn_temperature ? " (learned)" : "", o->gate.top_k, o->l2,
	    (unsigned long long)o->seed, rep->n_train, rep->train_accuracy,
	    rep->train_logloss);

	if (at > 0 && (size_t)at < size && rep->n_holdout > 0)
		snprintf(buf + at, size - (size_t)at,
		         ", %zu held-out rows (accuracy %.4f, log-loss %.4f)",
		         rep->n_holdout, rep->holdout_accuracy,
		         rep->holdout_logloss);
}

/* The returned model, its figures, and its description. */
static int fit_finish(struct fit_state *st, const struct moe_fit_data *data,
                      const struct moe_fit_options *opts,
                      struct moe_fit_report *rep, struct moe_model **out,
                      struct moe_error *err)
{
	struct moe_model *model = NULL;
	char text[512];
	int rc;

	rep->temperature = fit_temperature(st);
	rc = fit_model(st, data, opts, opts->description, &model, err);
	if (rc == 0)
		rc = evaluate_rows(model, data, st->perm + rep->n_holdout,
		                   rep->n_train, &rep->train_accuracy,
		                   &rep->train_logloss, err);
	if (rc == 0)
		rc = evaluate_rows(model, data, st->perm, rep->n_holdout,
		                   &rep->holdout_accuracy,
		                   &rep->holdout_logloss, err);
	if (rc < 0 || opts->description) {
		if (rc < 0)
			moe_model_free(model);
		else
			*out = model;
		return rc;
	}

	moe_model_free(model);
	describe(text, sizeof(text), opts, rep);
	return fit_model(st, data, opts, text, out, err);
}

int moe_fit(const struct moe_fit_data *data, const struct moe_fit_options *opts,
            struct moe_model **out, struct moe_fit_report *report,
            struct moe_error *err)
{
	struct fit_state st = {0};
	struct moe_fit_report rep = {0};
	struct moe_rng rng;
	double t0 = now_seconds();
	int rc;

	rc = check_options(opts, err);
	if (rc == 0)
		rc = check_data(data, err);
	if (rc == 0)
		rc = check_init(data, opts, err);
	if (rc == 0)
		rc = check_sizes(data->n_rows, data->n_features,
		                 opts->n_experts, data->n_classes, err);
	if (rc < 0)
		return rc;

	moe_rng_seed(&rng, opts->seed);
	rc = fit_prepare(&st, data, opts, &rep, &rng, err);
	if (rc == 0)
		rc = fit_restarts(&st, opts, &rep, &rng, t0, err);
	if (rc == 0) {
		rep.evaluations = st.problem->evaluations;
		rc = fit_finish(&st, data, opts, &rep, out, err);
	}
	rep.seconds = now_seconds() - t0;
	if (rc == 0 && report)
		*report = rep;
	fit_state_free(&st);
	return rc;
}
