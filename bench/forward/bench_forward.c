/* SPDX-License-Identifier: MIT */
/*
 * bench_forward - rows per second of moe_forward on a random model, and
 * the GFLOP/s that OpenBLAS's own GEMM reaches on the same machine.
 *
 * One invocation measures one thing and prints one "key=value" line per
 * measurement on stdout, for bench/forward/run to collect:
 *
 *   bench_forward --info
 *   bench_forward --gemm [--min-time S] [--reps R]
 *   bench_forward --d D --experts E --classes K --dtype F64|F32
 *                 --score euclidean|inner [--batches 1,64,4096]
 *                 [--min-time S] [--reps R] [--dump PREFIX]
 *
 * The model comes from a fixed seed, so that the PyTorch peer can be
 * given the very same parameters: --dump writes PREFIX.json (shapes and
 * settings) and PREFIX.bin (the parameters as little-endian doubles, a
 * block of check rows and moe_forward's probabilities for them).
 *
 * Every timing is: a warm-up, then R repetitions that each call the
 * function until at least S seconds have passed; the median repetition
 * is reported.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigmoe.h"

#define BENCH_MAX_BATCHES 8
#define BENCH_MAX_REPS 64
#define BENCH_CHECK_ROWS 64
#define BENCH_SEED 20260
#define BENCH_GEMM_ROWS 4096
#define BENCH_GEMM_DEPTH 784
#define BENCH_GEMM_SQUARE 1024

struct bench_opts {
	size_t d, n_experts, n_classes;
	enum moe_dtype dtype;
	enum moe_score score;
	size_t batches[BENCH_MAX_BATCHES];
	size_t n_batches;
	double min_time;
	int reps;
	const char *dump;
	int gemm;
	int info;
};

/* The model's parameters as doubles, as moe_model_create takes them. */
struct bench_params {
	double *gate_weight, *gate_bias, *expert_weight, *expert_bias;
	double *mean, *scale;
	double temperature;
};

/* splitmix64 and Box-Muller: the harness draws its own numbers. */
struct bench_rng {
	uint64_t state;
};

static uint64_t rng_next(struct bench_rng *rng)
{
	uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_uniform(struct bench_rng *rng)
{
	return (double)(rng_next(rng) >> 11) * 0x1.0p-53;
}

static double rng_normal(struct bench_rng *rng)
{
	double u = 1.0 - rng_uniform(rng);
	double v = rng_uniform(rng);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static void fill_normal(struct bench_rng *rng, double *a, size_t n, double sd)
{
	for (size_t i = 0; i < n; i++)
		a[i] = sd * rng_normal(rng);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

typedef int (*bench_fn)(void *ctx);

/*
 * time_call - the median over reps of the seconds one call of fn takes,
 * or a negative number when fn fails.
 */
static double time_call(bench_fn fn, void *ctx, double min_time, int reps)
{
	double rep[BENCH_MAX_REPS];
	double start = now_seconds();

	do {
		if (fn(ctx) < 0)
			return -1.0;
	} while (now_seconds() - start < min_time / 4);

	for (int r = 0; r < reps; r++) {
		size_t calls = 0;
		double elapsed;

		start = now_seconds();
		do {
			if (fn(ctx) < 0)
				return -1.0;
			calls++;
			elapsed = now_seconds() - start;
		} while (elapsed < min_time);
		rep[r] = elapsed / (double)calls;
	}

	qsort(rep, (size_t)reps, sizeof(rep[0]), cmp_double);
	return rep[reps / 2];
}

static int parse_size(const char *text, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || *end || v == 0)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

static int parse_batches(const char *text, struct bench_opts *o)
{
	char buf[256];
	char *save = NULL;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);

	o->n_batches = 0;
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (o->n_batches == BENCH_MAX_BATCHES ||
		    parse_size(t, &o->batches[o->n_batches]) < 0)
			return -EINVAL;
		o->n_batches++;
	}
	return o->n_batches ? 0 : -EINVAL;
}

static int parse_enum(const char *key, const char *v, struct bench_opts *o)
{
	if (!strcmp(key, "--dtype")) {
		if (strcmp(v, "F64") && strcmp(v, "F32"))
			return -EINVAL;
		o->dtype = strcmp(v, "F32") ? MOE_DTYPE_F64 : MOE_DTYPE_F32;
		return 0;
	}
	if (strcmp(v, "euclidean") && strcmp(v, "inner"))
		return -EINVAL;
	o->score = strcmp(v, "inner") ? MOE_SCORE_EUCLIDEAN : MOE_SCORE_INNER;
	return 0;
}

static int parse_option(const char *key, const char *v, struct bench_opts *o)
{
	size_t reps;

	if (!strcmp(key, "--d"))
		return parse_size(v, &o->d);
	if (!strcmp(key, "--experts"))
		return parse_size(v, &o->n_experts);
	if (!strcmp(key, "--classes"))
		return parse_size(v, &o->n_classes);
	if (!strcmp(key, "--dtype") || !strcmp(key, "--score"))
		return parse_enum(key, v, o);
	if (!strcmp(key, "--batches"))
		return parse_batches(v, o);
	if (!strcmp(key, "--dump")) {
		o->dump = v;
		return 0;
	}
	if (!strcmp(key, "--min-time")) {
		o->min_time = atof(v);
		return o->min_time > 0 ? 0 : -EINVAL;
	}
	if (!strcmp(key, "--reps")) {
		if (parse_size(v, &reps) < 0 || reps > BENCH_MAX_REPS)
			return -EINVAL;
		o->reps = (int)reps;
		return 0;
	}
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	*o = (struct bench_opts){
	    .d = 4,
	    .n_experts = 4,
	    .n_classes = 3,
	    .dtype = MOE_DTYPE_F64,
	    .score = MOE_SCORE_EUCLIDEAN,
	    .batches = {1, 64, 4096},
	    .n_batches = 3,
	    .min_time = 0.2,
	    .reps = 5,
	};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--gemm")) {
			o->gemm = 1;
		} else if (!strcmp(argv[i], "--info")) {
			o->info = 1;
		} else if (i + 1 >= argc ||
		           parse_option(argv[i], argv[i + 1], o) < 0) {
			fprintf(stderr, "bench_forward: bad option '%s'\n",
			        argv[i]);
			return -EINVAL;
		} else {
			i++;
		}
	}
	return 0;
}

static void params_free(struct bench_params *p)
{
	free(p->gate_weight);
	free(p->gate_bias);
	free(p->expert_weight);
	free(p->expert_bias);
	free(p->mean);
	free(p->scale);
}

/*
 * params_draw - random parameters whose gate scores are of order one,
 * so that every expert takes part: euclidean centres near the
 * standardized data with tau = d, or inner slopes of size 1/sqrt(d).
 */
static int params_draw(const struct bench_opts *o, struct bench_rng *rng,
                       struct bench_params *p)
{
	size_t d = o->d, e = o->n_experts, k = o->n_classes;

	*p = (struct bench_params){
	    .gate_weight = malloc(e * d * sizeof(double)),
	    .gate_bias = malloc(e * sizeof(double)),
	    .expert_weight = malloc(e * k * d * sizeof(double)),
	    .expert_bias = malloc(e * k * sizeof(double)),
	    .mean = malloc(d * sizeof(double)),
	    .scale = malloc(d * sizeof(double)),
	};
	if (!p->gate_weight || !p->gate_bias || !p->expert_weight ||
	    !p->expert_bias || !p->mean || !p->scale) {
		params_free(p);
		return -ENOMEM;
	}

	if (o->score == MOE_SCORE_EUCLIDEAN) {
		fill_normal(rng, p->gate_weight, e * d, 0.5);
		p->temperature = (double)d;
	} else {
		fill_normal(rng, p->gate_weight, e * d, 1.0 / sqrt((double)d));
		p->temperature = 1.0;
	}
	fill_normal(rng, p->gate_bias, e, 0.5);
	fill_normal(rng, p->expert_weight, e * k * d, 2.0 / sqrt((double)d));
	fill_normal(rng, p->expert_bias, e * k, 0.5);
	fill_normal(rng, p->mean, d, 1.0);
	for (size_t j = 0; j < d; j++)
		p->scale[j] = 0.5 + 1.5 * rng_uniform(rng);
	return 0;
}

/* draw_rows - n raw input rows, distributed like the standardization. */
static void draw_rows(const struct bench_params *p, size_t d,
                      struct bench_rng *rng, double *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++)
			x[i * d + j] =
			    p->mean[j] + p->scale[j] * rng_normal(rng);
}

static char **make_class_names(size_t k)
{
	char **names = calloc(k, sizeof(*names));

	for (size_t c = 0; names && c < k; c++) {
		names[c] = malloc(24);
		if (!names[c])
			return names;
		snprintf(names[c], 24, "c%zu", c);
	}
	return names;
}

static void free_names(char **names, size_t k)
{
	for (size_t c = 0; names && c < k; c++)
		free(names[c]);
	free(names);
}

static int build_model(const struct bench_opts *o, const struct bench_params *p,
                       struct moe_model **out)
{
	struct moe_error err = {{0}};
	char **classes = make_class_names(o->n_classes);
	struct moe_model_spec spec = {
	    .name = "bench",
	    .dtype = o->dtype,
	    .n_features = o->d,
	    .n_experts = o->n_experts,
	    .n_classes = o->n_classes,
	    .gate = {MOE_GATE_SIGMOID, o->score, p->temperature, 0},
	    .classes = (const char *const *)classes,
	    .gate_weight = p->gate_weight,
	    .gate_bias = p->gate_bias,
	    .expert_weight = p->expert_weight,
	    .expert_bias = p->expert_bias,
	    .mean = p->mean,
	    .scale = p->scale,
	};
	int rc = -ENOMEM;

	if (classes && classes[o->n_classes - 1])
		rc = moe_model_create(&spec, out, &err);
	if (rc < 0)
		fprintf(stderr, "bench_forward: moe_model_create: %s\n",
		        err.message);
	free_names(classes, o->n_classes);
	return rc;
}

static int write_doubles(FILE *f, const double *a, size_t n)
{
	return fwrite(a, sizeof(double), n, f) == n ? 0 : -EIO;
}

static int dump_meta(const struct bench_opts *o, const struct bench_params *p,
                     const char *prefix)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s.json", prefix);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f,
	        "{\"d\": %zu, \"experts\": %zu, \"classes\": %zu, "
	        "\"dtype\": \"%s\", \"score\": \"%s\", "
	        "\"temperature\": %.17g, \"check_rows\": %d}\n",
	        o->d, o->n_experts, o->n_classes,
	        o->dtype == MOE_DTYPE_F32 ? "F32" : "F64",
	        o->score == MOE_SCORE_INNER ? "inner" : "euclidean",
	        p->temperature, BENCH_CHECK_ROWS);
	return fclose(f) ? -EIO : 0;
}

/*
 * dump_model - PREFIX.json and PREFIX.bin for the peer: the parameters,
 * BENCH_CHECK_ROWS raw rows and moe_forward's probabilities for them.
 */
static int dump_model(const struct bench_opts *o, const struct bench_params *p,
                      const double *x, const double *prob, const char *prefix)
{
	size_t d = o->d, e = o->n_experts, k = o->n_classes;
	char path[4096];
	FILE *f;
	int rc = 0;

	if (dump_meta(o, p, prefix) < 0)
		return -EIO;

	snprintf(path, sizeof(path), "%s.bin", prefix);
	f = fopen(path, "wb");
	if (!f)
		return -errno;
	rc |= write_doubles(f, p->mean, d);
	rc |= write_doubles(f, p->scale, d);
	rc |= write_doubles(f, p->gate_weight, e * d);
	rc |= write_doubles(f, p->gate_bias, e);
	rc |= write_doubles(f, p->expert_weight, e * k * d);
	rc |= write_doubles(f, p->expert_bias, e * k);
	rc |= write_doubles(f, x, BENCH_CHECK_ROWS * d);
	rc |= write_doubles(f, prob, BENCH_CHECK_ROWS * k);
	if (fclose(f))
		rc = -EIO;
	return rc ? -EIO : 0;
}

struct forward_ctx {
	const struct moe_model *model;
	const double *x;
	size_t n;
	struct moe_scratch *scratch;
	struct moe_output out;
};

static int forward_once(void *ctx)
{
	struct forward_ctx *c = ctx;
	struct moe_error err = {{0}};
	int rc = moe_forward(c->model, c->x, c->n, c->scratch, &c->out, &err);

	if (rc < 0)
		fprintf(stderr, "bench_forward: moe_forward: %s\n",
		        err.message);
	return rc;
}

static size_t max_batch(const struct bench_opts *o)
{
	size_t n = BENCH_CHECK_ROWS;

	for (size_t i = 0; i < o->n_batches; i++)
		if (o->batches[i] > n)
			n = o->batches[i];
	return n;
}

static int time_batches(const struct bench_opts *o, struct forward_ctx *c)
{
	for (size_t i = 0; i < o->n_batches; i++) {
		double sec;

		c->n = o->batches[i];
		sec = time_call(forward_once, c, o->min_time, o->reps);
		if (sec < 0)
			return -EINVAL;
		printf("forward impl=sigmoe d=%zu E=%zu K=%zu dtype=%s "
		       "score=%s batch=%zu rows_per_s=%.6g ns_per_call=%.6g\n",
		       o->d, o->n_experts, o->n_classes,
		       o->dtype == MOE_DTYPE_F32 ? "F32" : "F64",
		       o->score == MOE_SCORE_INNER ? "inner" : "euclidean",
		       c->n, (double)c->n / sec, sec * 1e9);
		fflush(stdout);
	}
	return 0;
}

static int run_forward(const struct bench_opts *o)
{
	struct bench_rng rng = {BENCH_SEED};
	struct bench_params p;
	struct moe_model *model = NULL;
	struct forward_ctx c = {0};
	size_t n = max_batch(o);
	double *x = malloc(n * o->d * sizeof(double));
	int rc = params_draw(o, &rng, &p);

	if (rc < 0 || !x) {
		if (rc == 0)
			params_free(&p);
		free(x);
		return -ENOMEM;
	}
	draw_rows(&p, o->d, &rng, x, n);

	c.out.probabilities = malloc(n * o->n_classes * sizeof(double));
	c.out.labels = malloc(n * sizeof(size_t));
	c.scratch = moe_scratch_new();
	c.x = x;
	rc = -ENOMEM;
	if (!c.out.probabilities || !c.out.labels || !c.scratch)
		goto free_all;
	rc = build_model(o, &p, &model);
	if (rc < 0)
		goto free_all;
	c.model = model;

	c.n = BENCH_CHECK_ROWS;
	rc = forward_once(&c);
	if (rc == 0 && o->dump)
		rc = dump_model(o, &p, x, c.out.probabilities, o->dump);
	if (rc == 0)
		rc = time_batches(o, &c);

free_all:
	moe_model_free(model);
	moe_scratch_free(c.scratch);
	free(c.out.probabilities);
	free(c.out.labels);
	free(x);
	params_free(&p);
	return rc;
}

struct gemm_ctx {
	int f32;
	size_t m, n, k;
	const void *a, *b;
	void *c;
};

/* gemm_once - C[m][n] = A[m][k] B[n][k]^T, the forward pass's layout. */
static int gemm_once(void *ctx)
{
	struct gemm_ctx *g = ctx;
	int m = (int)g->m, n = (int)g->n, k = (int)g->k;

	if (g->f32)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k,
		            1.0f, g->a, k, g->b, k, 0.0f, g->c, n);
	else
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k,
		            1.0, g->a, k, g->b, k, 0.0, g->c, n);
	return 0;
}

static void fill_buffer(void *buf, size_t count, int f32, struct bench_rng *rng)
{
	for (size_t i = 0; i < count; i++) {
		double v = rng_normal(rng);

		if (f32)
			((float *)buf)[i] = (float)v;
		else
			((double *)buf)[i] = v;
	}
}

static int time_gemm(int f32, size_t m, size_t n, size_t k,
                     const struct bench_opts *o)
{
	struct bench_rng rng = {BENCH_SEED + 1};
	size_t sz = f32 ? sizeof(float) : sizeof(double);
	void *a = malloc(m * k * sz), *b = malloc(n * k * sz);
	void *c = malloc(m * n * sz);
	struct gemm_ctx g = {f32, m, n, k, a, b, c};
	double sec;
	int rc = -ENOMEM;

	if (!a || !b || !c)
		goto free_buffers;
	fill_buffer(a, m * k, f32, &rng);
	fill_buffer(b, n * k, f32, &rng);

	sec = time_call(gemm_once, &g, o->min_time, o->reps);
	printf("gemm dtype=%s m=%zu n=%zu k=%zu seconds=%.6g gflops=%.6g\n",
	       f32 ? "F32" : "F64", m, n, k, sec,
	       2.0 * (double)m * (double)n * (double)k / sec * 1e-9);
	fflush(stdout);
	rc = 0;

free_buffers:
	free(a);
	free(b);
	free(c);
	return rc;
}

/*
 * run_gemm - the products of the largest benchmark shape (E = 16 gate
 * columns, E * K = 160 expert columns, and both at once), and a square
 * GEMM for reference, in both precisions.
 */
static int run_gemm(const struct bench_opts *o)
{
	static const size_t cols[] = {16, 160, 176};
	int rc = 0;

	for (int f32 = 0; f32 <= 1 && rc == 0; f32++) {
		for (size_t i = 0; i < 3 && rc == 0; i++)
			rc = time_gemm(f32, BENCH_GEMM_ROWS, cols[i],
			               BENCH_GEMM_DEPTH, o);
		if (rc == 0)
			rc = time_gemm(f32, BENCH_GEMM_SQUARE,
			               BENCH_GEMM_SQUARE, BENCH_GEMM_SQUARE, o);
	}
	return rc;
}

static void print_info(void)
{
	printf("info openblas_config=\"%s\" openblas_core=%s "
	       "openblas_threads=%d\n",
	       openblas_get_config(), openblas_get_corename(),
	       openblas_get_num_threads());
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	int rc;

	if (parse_args(argc, argv, &o) < 0)
		return 2;

	if (o.info) {
		print_info();
		return 0;
	}
	rc = o.gemm ? run_gemm(&o) : run_forward(&o);
	if (rc < 0) {
		fprintf(stderr, "bench_forward: failed: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}
