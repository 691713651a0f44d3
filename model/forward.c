/* SPDX-License-Identifier: MIT */
/*
 * forward.c - the batched forward pass (SPEC 1).
 *
 * For a batch of n rows the products are BLAS calls on blocks of up to
 * several hundred rows (the whole batch when smaller): the gate scores Z W^T
 * ([n][E]) and every expert's logits Z A^T
 * ([n][E*K], experts.weight viewed as an (E*K) x d matrix).  When the
 * model holds W and A as one [E + E*K][d] matrix (struct moe_derived),
 * a single product gives both, which saves reading and packing Z a
 * second time and the poor speed of a GEMM only E columns wide;
 * otherwise they are two products.  F64 models use dgemm in double, F32
 * models sgemm in float; one row uses gemv, whose call costs less.
 * Everything after the products is per row and in double, whatever the
 * dtype, except the experts' softmax of F32 models, which is in float
 * with an exponential of its own that the compiler vectorizes:
 *
 *  - gate weights as the active activations over their sum while those
 *    are normal numbers, else in the log domain: log sigma(s) computed
 *    without overflow or cancellation, and G_i = exp(l_i - max l) / sum,
 *    so that the weights stay right when every sigma(s_i) underflows;
 *  - softmax (gate and experts) after subtracting the maximum;
 *  - the euclidean score uses ||z||^2 - 2 z.W_i + ||W_i||^2 from the
 *    product, except where that cancels (a distance small next to the
 *    norms): those entries are recomputed as a sum of squared differences;
 *  - a row whose scores or logits came out non-finite (inputs near
 *    1e200 overflow double products; near 1e20 they overflow float) is
 *    recomputed alone in long double, whose range (1e4932 in the x87
 *    format of x86-64 and the binary128 of aarch64) holds any product of
 *    finite doubles, and then reduced to shifted log values that fit in
 *    double.  So every finite input gives finite outputs.  This relies on
 *    that range: where long double is only a double (and under valgrind,
 *    which computes long double as double) such rows come out NaN.
 *
 * When the caller's OpenBLAS runs several threads, a large batch is
 * split into lanes of consecutive rows, one per thread, each going
 * through its own blocks as above with OpenBLAS narrowed to one thread
 * (FORWARD_ROWS_PER_THREAD, model/blas.c).
 *
 * All memory comes from the caller's scratch, which grows and is reused:
 * a steady stream of batches allocates nothing.
 */
#include <cblas.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * A euclidean distance from the expanded form is recomputed directly when
 * it is below this fraction of ||z||^2 + ||W_i||^2: the expanded form's
 * error is a few (d + 3) ulps of that sum, so what is kept has a relative
 * error below about (d + 3) * eps / fraction.
 */
#define EUCLID_RECOMPUTE_F64 0x1p-10
#define EUCLID_RECOMPUTE_F32 0x1p-4

/*
 * Below this score sigma(s) < 5e-18: the sigmoid gate then works from
 * the row's t (gate_weights).
 */
#define DEEP_SCORE (-40.0)

/*
 * Above this score sigma(s) > 1e-304 is a normal double, with its full
 * precision: the sigmoid gate's weights then come from the activations
 * themselves (gate_weights).
 */
#define NORMAL_SCORE (-700.0)

/*
 * A large batch goes through in blocks of rows whose converted input and
 * products take about FORWARD_BLOCK_BYTES, so that they are still in
 * cache when the per-row work reads them; but a block has at least
 * BLOCK_MIN_ROWS rows, because each product packs the whole weight
 * matrix again: with d = 784, 136-row blocks made the pass 20 % slower
 * than one block of 4096 rows, 512-row blocks 7 % faster.
 */
#define FORWARD_BLOCK_BYTES (512 * 1024)
#define BLOCK_MIN_ROWS 512

/*
 * When the caller's OpenBLAS uses several threads, the call's rows are
 * split into as many lanes of consecutive rows, each given at least
 * this many, and each lane runs on a thread of its own: its pass over
 * the input, its products on a one-thread OpenBLAS (moe_blas_narrow)
 * and its per-row work, block after block.  Splitting only the per-row
 * work after a two-thread GEMM left OpenBLAS's idle worker spinning on
 * the CPU the second thread needed, and the input pass on one thread:
 * see docs/PERFORMANCE.md.
 */
#define FORWARD_ROWS_PER_THREAD 256

/*
 * A call that is not split and whose block products are below this many
 * multiply-adds runs them on one OpenBLAS thread.  On the 2-CPU test
 * machine two threads gained nothing at d = 64 with 64 to 511 rows (up
 * to 2.9 million) and now and then lost a quarter of the call waiting
 * for OpenBLAS's worker; at d = 784 with 64 rows (8.8 million) they were
 * 1.3 to 1.5 times as fast.  Single rows (gemv) are left to OpenBLAS.
 */
#define FORWARD_MIN_THREADED_PRODUCT (4UL << 20)

/* Above this k, the top-k set is found with a heap instead of insertion. */
#define TOPK_INSERTION_MAX 32

struct moe_scratch {
	unsigned char *buf;
	size_t bytes;
};

/* Where one lane's arrays live in the scratch. */
struct plan {
	const struct moe_model *model;
	const struct moe_derived *dv;
	size_t d, e, k, ek, rows;
	size_t dsize;

	void *z;      /* [rows][d] standardized input, dtype */
	void *sc;     /* [rows][ld_sc] gate products, dtype */
	void *lg;     /* [rows][ld_lg] expert logits, dtype */
	size_t ld_sc; /* row strides of sc and lg (elements) */
	size_t ld_lg;
	double *zn; /* [rows] ||z||^2 (euclidean) */

	double *s;             /* [E] scores of the current row */
	double *t;             /* [E] scores plus a constant (row_scores) */
	double *act;           /* [E] activations */
	double *lw;            /* [E] log weights, -inf outside the set */
	double *w;             /* [E] weights */
	double *lrow;          /* [E*K] fallback's logits (F32) */
	float *lf;             /* [E*K] logits, then distributions (F32) */
	float *shift;          /* [E*K] each expert's largest logit (F32) */
	double *p;             /* [K] mixture */
	size_t *idx;           /* [E] */
	unsigned char *active; /* [E] */
	long double *zl;       /* [d] fallback: standardized row */
	long double *sl;       /* [E] fallback: scores */
	long double *tle;      /* [E] fallback: t */
	long double *tl;       /* [K] fallback: one expert's logits */
};

/*
 * One thread's share of a call: rows [begin, end) of x, in blocks of
 * pl.rows rows, with arrays of its own.
 */
struct lane {
	struct plan pl;
	const double *x;
	const struct moe_output *out;
	size_t begin, end;
	int status; /* 0, or -1 when a value of its rows is not finite */
};

/* A call's lanes, carved from the front of the scratch. */
struct call {
	struct lane *lanes;
	size_t n_lanes;
};

struct moe_scratch *moe_scratch_new(void)
{
	return calloc(1, sizeof(struct moe_scratch));
}

void moe_scratch_free(struct moe_scratch *scratch)
{
	if (scratch == NULL)
		return;
	free(scratch->buf);
	free(scratch);
}

static size_t round_up(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/* Makes the scratch hold at least bytes; the old contents are dropped. */
static int scratch_reserve(struct moe_scratch *s, size_t bytes)
{
	unsigned char *buf;

	if (bytes <= s->bytes)
		return 0;
	if (bytes > MOE_MAX_SCRATCH_BYTES)
		return -E2BIG;

	bytes = round_up(bytes);
	buf = aligned_alloc(64, bytes);
	if (buf == NULL)
		return -ENOMEM;
	free(s->buf);
	s->buf = buf;
	s->bytes = bytes;
	return 0;
}

/* Carves n bytes at *at from base (base NULL: only count). */
static void *carve(unsigned char *base, size_t *at, size_t n)
{
	void *p = base != NULL ? base + *at : NULL;

	*at += round_up(n);
	return p;
}

/* Bytes needed by everything that does not depend on the rows. */
static size_t lay_row_buffers(struct plan *pl, unsigned char *base, size_t at)
{
	size_t e = pl->e, k = pl->k;

	pl->s = carve(base, &at, e * sizeof(double));
	pl->t = carve(base, &at, e * sizeof(double));
	pl->act = carve(base, &at, e * sizeof(double));
	pl->lw = carve(base, &at, e * sizeof(double));
	pl->w = carve(base, &at, e * sizeof(double));
	pl->lrow = carve(base, &at, pl->ek * sizeof(double));
	pl->lf = carve(base, &at, pl->ek * sizeof(float));
	pl->shift = carve(base, &at, pl->ek * sizeof(float));
	pl->p = carve(base, &at, k * sizeof(double));
	pl->idx = carve(base, &at, e * sizeof(size_t));
	pl->active = carve(base, &at, e);
	pl->zl = carve(base, &at, pl->d * sizeof(long double));
	pl->sl = carve(base, &at, e * sizeof(long double));
	pl->tle = carve(base, &at, e * sizeof(long double));
	pl->tl = carve(base, &at, k * sizeof(long double));
	return at;
}

/* Whether the products read a converted copy of x rather than x. */
static int needs_copy(const struct plan *pl)
{
	return pl->model->dtype == MOE_DTYPE_F32 ||
	       pl->model->params.mean != NULL;
}

/*
 * Lays out a plan for blocks of rows rows from offset at of base;
 * returns the offset after it.
 */
static size_t lay_out(struct plan *pl, unsigned char *base, size_t at,
                      size_t rows)
{
	pl->rows = rows;
	pl->z = carve(base, &at, needs_copy(pl) ? rows * pl->d * pl->dsize : 0);
	if (pl->dv->slopes != NULL) {
		/* One product: each row holds E scores, then E*K logits. */
		pl->ld_sc = pl->ld_lg = pl->e + pl->ek;
		pl->sc = carve(base, &at, rows * pl->ld_sc * pl->dsize);
		pl->lg =
		    base != NULL ? (char *)pl->sc + pl->e * pl->dsize : NULL;
	} else {
		pl->ld_sc = pl->e;
		pl->ld_lg = pl->ek;
		pl->sc = carve(base, &at, rows * pl->e * pl->dsize);
		pl->lg = carve(base, &at, rows * pl->ek * pl->dsize);
	}
	pl->zn = carve(base, &at, rows * sizeof(double));
	return lay_row_buffers(pl, base, at);
}

/*
 * Lays out n_lanes lanes, each a copy of proto with arrays for blocks of
 * rows rows, at base (NULL: only count); returns the bytes they take.
 */
static size_t lay_call(struct call *c, const struct plan *proto,
                       unsigned char *base, size_t n_lanes, size_t rows)
{
	size_t at = 0;

	c->n_lanes = n_lanes;
	c->lanes = carve(base, &at, n_lanes * sizeof(struct lane));
	for (size_t t = 0; t < n_lanes; t++) {
		struct plan pl = *proto;

		at = lay_out(&pl, base, at, rows);
		if (base != NULL)
			c->lanes[t].pl = pl;
	}
	return at;
}

/* The rows of a block: about FORWARD_BLOCK_BYTES of input and products. */
static size_t block_rows(const struct plan *pl)
{
	size_t bytes = (pl->e + pl->ek) * pl->dsize, rows;

	if (needs_copy(pl))
		bytes += pl->d * pl->dsize;
	rows = FORWARD_BLOCK_BYTES / bytes;
	return rows < BLOCK_MIN_ROWS ? BLOCK_MIN_ROWS : rows;
}

/*
 * Lanes for n rows: as many as the caller's OpenBLAS uses threads, up
 * to MOE_MAX_ROW_THREADS, with FORWARD_ROWS_PER_THREAD rows each.
 */
static size_t call_lanes(size_t n)
{
	int blas = moe_blas_threads();
	size_t lanes = blas > 1 ? (size_t)blas : 1;

	if (lanes > MOE_MAX_ROW_THREADS)
		lanes = MOE_MAX_ROW_THREADS;
	if (lanes > n / FORWARD_ROWS_PER_THREAD)
		lanes = n / FORWARD_ROWS_PER_THREAD;
	return lanes > 0 ? lanes : 1;
}

/*
 * Chooses the lanes of a call of n rows, and how many rows each lane
 * takes at once (a block, fewer when the lanes' arrays would pass
 * MOE_MAX_SCRATCH_BYTES); reserves the scratch and lays the lanes out
 * in it.
 */
static int plan_call(struct call *c, const struct moe_model *model,
                     size_t n, struct moe_scratch *scratch)
{
	size_t fixed, per_row, rows, n_lanes, share;
	struct plan proto = {0};
	int r;

	proto.model = model;
	proto.dv = model->priv->derived;
	proto.d = model->n_features;
	proto.e = model->n_experts;
	proto.k = model->n_classes;
	proto.ek = proto.e * proto.k;
	proto.dsize = moe_dtype_size(model->dtype);
	n_lanes = call_lanes(n);
	share = (n + n_lanes - 1) / n_lanes;

	fixed = lay_call(c, &proto, NULL, n_lanes, 0);
	per_row = lay_call(c, &proto, NULL, n_lanes, 1) - fixed +
	          n_lanes * 64 * 4;
	if (fixed + per_row > MOE_MAX_SCRATCH_BYTES)
		return -E2BIG;
	rows = (MOE_MAX_SCRATCH_BYTES - fixed) / per_row;
	if (rows > block_rows(&proto))
		rows = block_rows(&proto);
	if (rows > share)
		rows = share;

	r = scratch_reserve(scratch, lay_call(c, &proto, NULL, n_lanes, rows));
	if (r < 0)
		return r;
	lay_call(c, &proto, scratch->buf, n_lanes, rows);
	return 0;
}

/* The message for the first value of x that is not finite. */
static int report_input(const double *x, size_t n, size_t d,
                        struct moe_error *err)
{
	size_t i = 0;

	while (i + 1 < n * d && isfinite(x[i]))
		i++;
	return moe_fail(err, -EINVAL,
	                "row %zu, column %zu: not a finite number", i / d,
	                i % d);
}

static double param(const struct plan *pl, const void *data, size_t i)
{
	if (pl->model->dtype == MOE_DTYPE_F32)
		return ((const float *)data)[i];
	return ((const double *)data)[i];
}

/*
 * The loops over a row's values below go in steps of LANES values, an
 * inner loop of fixed count, then a tail: gcc vectorizes that inner loop
 * at -O2 too, where it takes no loop whose count might not be a multiple
 * of the vector width.  Each keeps LANES partial results.  Whether an
 * input is finite comes out of the same loop as a probe, the sum of
 * x * 0: 0 when every x is finite, NaN otherwise.
 */
#define LANES 8

static double sum_lanes(const double acc[LANES])
{
	double s = 0;

	for (size_t u = 0; u < LANES; u++)
		s += acc[u];
	return s;
}

/* The probe of x[0..d). */
static double probe_row(const double *restrict x, size_t d)
{
	double acc[LANES] = {0};
	size_t j = 0;

	for (; j + LANES <= d; j += LANES)
		for (size_t u = 0; u < LANES; u++)
			acc[u] += x[j + u] * 0.0;
	for (; j < d; j++)
		acc[0] += x[j] * 0.0;
	return sum_lanes(acc);
}

/* z = (x - c) * is over d values; returns the probe of x. */
static double standardize_f64(const double *restrict x,
                              const double *restrict c,
                              const double *restrict is, double *restrict z,
                              size_t d)
{
	double acc[LANES] = {0};
	size_t j = 0;

	for (; j + LANES <= d; j += LANES)
		for (size_t u = 0; u < LANES; u++) {
			z[j + u] = (x[j + u] - c[j + u]) * is[j + u];
			acc[u] += x[j + u] * 0.0;
		}
	for (; j < d; j++) {
		z[j] = (x[j] - c[j]) * is[j];
		acc[0] += x[j] * 0.0;
	}
	return sum_lanes(acc);
}

/* As standardize_f64, rounded to float. */
static double standardize_f32(const double *restrict x,
                              const double *restrict c,
                              const double *restrict is, float *restrict z,
                              size_t d)
{
	double acc[LANES] = {0};
	size_t j = 0;

	for (; j + LANES <= d; j += LANES)
		for (size_t u = 0; u < LANES; u++) {
			z[j + u] = (float)((x[j + u] - c[j + u]) * is[j + u]);
			acc[u] += x[j + u] * 0.0;
		}
	for (; j < d; j++) {
		z[j] = (float)((x[j] - c[j]) * is[j]);
		acc[0] += x[j] * 0.0;
	}
	return sum_lanes(acc);
}

/* z = x rounded to float; returns the probe of x. */
static double convert_f32(const double *restrict x, float *restrict z, size_t d)
{
	double acc[LANES] = {0};
	size_t j = 0;

	for (; j + LANES <= d; j += LANES)
		for (size_t u = 0; u < LANES; u++) {
			z[j + u] = (float)x[j + u];
			acc[u] += x[j + u] * 0.0;
		}
	for (; j < d; j++) {
		z[j] = (float)x[j];
		acc[0] += x[j] * 0.0;
	}
	return sum_lanes(acc);
}

static double norm2_f64(const double *restrict z, size_t d)
{
	double acc[LANES] = {0};
	size_t j = 0;

	for (; j + LANES <= d; j += LANES)
		for (size_t u = 0; u < LANES; u++)
			acc[u] += z[j + u] * z[j + u];
	for (; j < d; j++)
		acc[0] += z[j] * z[j];
	return sum_lanes(acc);
}

/* ||z||^2 of a float row, summed in double. */
static double norm2_f32(const float *restrict z, size_t d)
{
	double acc[LANES] = {0};
	size_t j = 0;

	for (; j + LANES <= d; j += LANES)
		for (size_t u = 0; u < LANES; u++)
			acc[u] += (double)z[j + u] * z[j + u];
	for (; j < d; j++)
		acc[0] += (double)z[j] * z[j];
	return sum_lanes(acc);
}

/*
 * Row r's pass over its input x: standardized (when the model has
 * mean and scale) or converted (F32) into pl->z, and ||z||^2 into
 * pl->zn for the euclidean score.  Returns the row's probe.  The input
 * is read once: for a large batch it comes from memory, and reading it
 * twice costs as much as the work.
 */
static double pass_row(const struct plan *pl, const double *x, size_t r)
{
	const double *c = pl->dv->center, *is = pl->dv->inv_scale;
	int want_norm = pl->model->gate.score == MOE_SCORE_EUCLIDEAN;
	size_t d = pl->d;
	double probe;

	if (pl->model->dtype == MOE_DTYPE_F32) {
		float *z = (float *)pl->z + r * d;

		probe = c != NULL ? standardize_f32(x, c, is, z, d)
		                  : convert_f32(x, z, d);
		if (want_norm)
			pl->zn[r] = norm2_f32(z, d);
		return probe;
	}

	if (c != NULL) {
		double *z = (double *)pl->z + r * d;

		probe = standardize_f64(x, c, is, z, d);
		x = z;
	} else {
		probe = probe_row(x, d);
	}
	if (want_norm)
		pl->zn[r] = norm2_f64(x, d);
	return probe;
}

/*
 * The pass over the rows of the block x (pass_row).  Returns 0, or -1
 * when a value is not finite.
 */
static int prepare_rows(const struct plan *pl, const double *x, size_t rows)
{
	double probe = 0;

	for (size_t r = 0; r < rows; r++)
		probe += pass_row(pl, x + r * pl->d, r);
	return probe == 0 ? 0 : -1;
}

/* out[rows][m] = z[rows][d] times a[m][d] transposed, in the dtype. */
static void product(const struct plan *pl, const void *z, size_t rows,
                    const void *a, size_t m, void *out)
{
	int d = (int)pl->d, mi = (int)m, ri = (int)rows;

	if (pl->model->dtype == MOE_DTYPE_F64) {
		if (rows == 1)
			cblas_dgemv(CblasRowMajor, CblasNoTrans, mi, d, 1.0, a,
			            d, z, 1, 0.0, out, 1);
		else
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ri,
			            mi, d, 1.0, z, d, a, d, 0.0, out, mi);
		return;
	}

	if (rows == 1)
		cblas_sgemv(CblasRowMajor, CblasNoTrans, mi, d, 1.0f, a, d, z,
		            1, 0.0f, out, 1);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ri, mi, d,
		            1.0f, z, d, a, d, 0.0f, out, mi);
}

static double direct_distance(const struct plan *pl, const void *z, size_t r,
                              size_t i)
{
	const void *w = pl->model->params.gate_weight;
	size_t d = pl->d;
	double acc = 0;

	for (size_t j = 0; j < d; j++) {
		double diff = param(pl, z, r * d + j) - param(pl, w, i * d + j);
		acc += diff * diff;
	}
	return acc;
}

/*
 * The gate scores of row r into pl->s, and pl->t: t_i = s_i + c for one
 * constant c of the row, kept because t's differences can be exact
 * where s's are not.  For the euclidean score t_i = b_i + (2 z.W_i -
 * ||W_i||^2) / tau (c = ||z||^2 / tau): for an input far from every
 * centre each s_i is about -||z||^2 / tau and rounding s loses what tells
 * the experts apart, but t keeps it.  Returns 0, or -1 when a value is
 * not finite (the row then goes to the long double path).
 */
static int row_scores(const struct plan *pl, const void *z, size_t r)
{
	const struct moe_gate *g = &pl->model->gate;
	const double *b = pl->dv->gate_bias, *wn = pl->dv->gate_norm2;
	double tau = g->temperature;
	double zn = g->score == MOE_SCORE_EUCLIDEAN ? pl->zn[r] : 0;
	double frac = pl->model->dtype == MOE_DTYPE_F64 ? EUCLID_RECOMPUTE_F64
	                                                : EUCLID_RECOMPUTE_F32;
	size_t e = pl->e;
	int ok = 1;

	for (size_t i = 0; i < e; i++) {
		double c = param(pl, pl->sc, r * pl->ld_sc + i), s, t, dist;

		if (g->score == MOE_SCORE_INNER) {
			s = (c + b[i]) / tau;
			t = s;
		} else {
			dist = zn - 2 * c + wn[i];
			t = b[i] + (2 * c - wn[i]) / tau;
			if (dist < frac * (zn + wn[i])) {
				dist = direct_distance(pl, z, r, i);
				s = b[i] - dist / tau;
				t = s + zn / tau;
			} else {
				s = b[i] - dist / tau;
			}
		}
		pl->s[i] = s;
		pl->t[i] = t;
		ok &= isfinite(s) && isfinite(t);
	}
	return ok ? 0 : -1;
}

/*
 * The logits of row r with their biases into pl->lf, in float (F32).
 * Returns 0, or -1 when one is not finite.
 */
static int row_logits_f32(const struct plan *pl, size_t r)
{
	const float *restrict in = (const float *)pl->lg + r * pl->ld_lg;
	const double *restrict b = pl->dv->expert_bias;
	float *restrict out = pl->lf;
	float acc[LANES] = {0}, probe = 0;
	size_t ek = pl->ek, j = 0;

	/* The biases of an F32 model are floats: (float)b[j] is exact. */
	for (; j + LANES <= ek; j += LANES)
		for (size_t u = 0; u < LANES; u++) {
			out[j + u] = in[j + u] + (float)b[j + u];
			acc[u] += out[j + u] * 0.0f;
		}
	for (; j < ek; j++) {
		out[j] = in[j] + (float)b[j];
		acc[0] += out[j] * 0.0f;
	}
	for (size_t u = 0; u < LANES; u++)
		probe += acc[u];
	return probe == 0 ? 0 : -1;
}

/*
 * The logits of row r with their biases: as doubles, in place in the
 * logits block, for F64; in pl->lf for F32 (row_logits_f32), *row then
 * being pl->lrow for the fallback.  Sets *row and returns 0, or -1 when
 * one is not finite.
 */
static int row_logits(const struct plan *pl, size_t r, double **row)
{
	const double *b = pl->dv->expert_bias;
	size_t ek = pl->ek;
	double *out;
	int ok = 1;

	if (pl->model->dtype == MOE_DTYPE_F32) {
		*row = pl->lrow;
		return row_logits_f32(pl, r);
	}

	out = (double *)pl->lg + r * pl->ld_lg;
	for (size_t i = 0; i < ek; i++) {
		out[i] += b[i];
		ok &= isfinite(out[i]) != 0;
	}
	*row = out;
	return ok ? 0 : -1;
}

/* Orders expert indices by key, largest first, ties to the lower index. */
struct key_order {
	const double *keys;
	const long double *keys_l; /* used instead when not NULL */
};

static int greater(const struct key_order *o, size_t i, size_t j)
{
	if (o->keys_l != NULL)
		return o->keys_l[i] > o->keys_l[j] ||
		       (o->keys_l[i] == o->keys_l[j] && i < j);
	return o->keys[i] > o->keys[j] || (o->keys[i] == o->keys[j] && i < j);
}

/*
 * Restores the heap idx[0..n) from position at down: each parent ranks
 * below its children, so idx[0] is the weakest of the kept experts.
 */
static void sift_down(const struct key_order *o, size_t *idx, size_t n,
                      size_t at)
{
	for (;;) {
		size_t weakest = at, l = 2 * at + 1, r = l + 1, tmp;

		if (l < n && greater(o, idx[weakest], idx[l]))
			weakest = l;
		if (r < n && greater(o, idx[weakest], idx[r]))
			weakest = r;
		if (weakest == at)
			return;
		tmp = idx[at];
		idx[at] = idx[weakest];
		idx[weakest] = tmp;
		at = weakest;
	}
}

/* The k strongest of e experts into idx[0..k), in O(e log k). */
static void top_k_heap(const struct key_order *o, size_t *idx, size_t e,
                       size_t k)
{
	for (size_t i = 0; i < k; i++)
		idx[i] = i;
	for (size_t i = k / 2; i-- > 0;)
		sift_down(o, idx, k, i);
	for (size_t i = k; i < e; i++) {
		if (!greater(o, i, idx[0]))
			continue;
		idx[0] = i;
		sift_down(o, idx, k, 0);
	}
}

/* The k strongest of e experts into idx[0..k), by insertion: O(e k). */
static void top_k_insertion(const struct key_order *o, size_t *idx, size_t e,
                            size_t k)
{
	size_t count = 0;

	/* idx[0..count) stays sorted; a later index only passes an earlier
	 * one on a strictly larger key. */
	for (size_t i = 0; i < e; i++) {
		size_t at;

		if (count == k && !greater(o, i, idx[k - 1]))
			continue;
		at = count < k ? count++ : k - 1;
		while (at > 0 && greater(o, i, idx[at - 1])) {
			idx[at] = idx[at - 1];
			at--;
		}
		idx[at] = i;
	}
}

/*
 * Marks in pl->active the experts of the active set: all of them, or the
 * top_k largest keys (ties to the lower index).
 */
static void select_active(const struct plan *pl, const struct key_order *o)
{
	size_t e = pl->e, k = pl->model->gate.top_k;

	if (k == 0 || k >= e) {
		memset(pl->active, 1, e);
		return;
	}

	if (k > TOPK_INSERTION_MAX)
		top_k_heap(o, pl->idx, e, k);
	else
		top_k_insertion(o, pl->idx, e, k);
	memset(pl->active, 0, e);
	for (size_t i = 0; i < k; i++)
		pl->active[pl->idx[i]] = 1;
}

/*
 * w_i = act_i / (the sum of act over the active set), 0 outside it: the
 * weights straight from activations that are normal numbers.
 */
static void weights_from_activations(const struct plan *pl)
{
	double sum = 0;
	size_t e = pl->e;

	for (size_t i = 0; i < e; i++)
		sum += pl->active[i] ? pl->act[i] : 0;
	for (size_t i = 0; i < e; i++)
		pl->w[i] = pl->active[i] ? pl->act[i] / sum : 0;
}

/*
 * Activations (pl->act) from pl->s and pl->t, and either the weights
 * (pl->w; returns 1) or log weights for weights_from_logs (pl->lw;
 * returns 0); selects the active set first unless selected.
 *
 * The softmax gate's weights are its activations renormalized over the
 * active set, which holds the largest t.  So are the sigmoid gate's
 * while every active sigma(s_i) is a normal number and one of them is
 * not tiny (s_i >= DEEP_SCORE): that needs one exponential per expert.
 * Otherwise the sigmoid gate works in the log domain: when every active
 * s_i is below DEEP_SCORE, log sigma(s_i) - c is taken as t_i - log(1 +
 * e^s_i), which keeps the experts apart where s alone cannot (see
 * row_scores); else log sigma(s_i) itself.
 */
static int gate_weights(const struct plan *pl, int selected)
{
	struct key_order o = {pl->t, NULL};
	size_t e = pl->e;
	int deep = 1, normal = 1;

	if (!selected)
		select_active(pl, &o);

	if (pl->model->gate.kind == MOE_GATE_SOFTMAX) {
		double top = pl->t[0], sum = 0;

		for (size_t i = 1; i < e; i++)
			top = pl->t[i] > top ? pl->t[i] : top;
		for (size_t i = 0; i < e; i++) {
			pl->act[i] = exp(pl->t[i] - top);
			sum += pl->act[i];
		}
		for (size_t i = 0; i < e; i++)
			pl->act[i] /= sum;
		weights_from_activations(pl);
		return 1;
	}

	for (size_t i = 0; i < e; i++) {
		if (!pl->active[i])
			continue;
		deep &= pl->s[i] < DEEP_SCORE;
		normal &= pl->s[i] >= NORMAL_SCORE;
	}
	/* From one exponential x = e^-|s| per expert, without overflow or
	 * cancellation: sigma(s) = 1 / (1 + x) for s >= 0, x / (1 + x)
	 * below; l = log(1 + x), log sigma(s) = -l for s >= 0 and s - l
	 * below; when deep, s < 0 and l = log(1 + e^s). */
	for (size_t i = 0; i < e; i++) {
		double s = pl->s[i], x = exp(-fabs(s));

		pl->act[i] = s >= 0 ? 1 / (1 + x) : x / (1 + x);
	}
	if (!deep && normal) {
		weights_from_activations(pl);
		return 1;
	}
	for (size_t i = 0; i < e; i++) {
		double s = pl->s[i], l = log1p(exp(-fabs(s)));

		if (!pl->active[i])
			pl->lw[i] = -INFINITY;
		else if (deep)
			pl->lw[i] = pl->t[i] - l;
		else
			pl->lw[i] = s >= 0 ? -l : s - l;
	}
	return 0;
}

/* Softmax of v[0..k) in place. */
static void softmax(double *v, size_t k)
{
	double top = v[0], sum = 0;

	for (size_t i = 1; i < k; i++)
		top = v[i] > top ? v[i] : top;
	for (size_t i = 0; i < k; i++) {
		v[i] = exp(v[i] - top);
		sum += v[i];
	}
	sum = 1 / sum;
	for (size_t i = 0; i < k; i++)
		v[i] *= sum;
}

static size_t argmax(const double *v, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

/* The mixture weights pl->w from the log weights pl->lw. */
static void weights_from_logs(const struct plan *pl)
{
	double top = -INFINITY, sum = 0;
	size_t e = pl->e;

	for (size_t i = 0; i < e; i++)
		top = pl->lw[i] > top ? pl->lw[i] : top;
	for (size_t i = 0; i < e; i++) {
		pl->w[i] = exp(pl->lw[i] - top);
		sum += pl->w[i];
	}
	for (size_t i = 0; i < e; i++)
		pl->w[i] /= sum;
}

/*
 * The mixture of the experts' distributions into pl->p, each computed in
 * place in row from its logits (only for experts with a weight, unless
 * every expert's distribution is wanted).
 */
static void mix_experts(const struct plan *pl, double *row, int all)
{
	size_t e = pl->e, k = pl->k;

	memset(pl->p, 0, k * sizeof(double));
	for (size_t i = 0; i < e; i++) {
		double *pi = row + i * k;

		if (pl->w[i] == 0 && !all)
			continue;
		softmax(pi, k);
		for (size_t c = 0; c < k; c++)
			pl->p[c] += pl->w[i] * pi[c];
	}
}

/*
 * e^x for x <= 0 in float, without a branch so that loops over it
 * vectorize: x = n ln 2 + r with |r| <= ln(2) / 2, e^r from its Taylor
 * polynomial to degree 7 (truncation below 5e-9), 2^n put into the
 * exponent bits.  Measured relative error below 1.1e-7 (2 ulps) on
 * [-87, 0]; below -87 it returns about e^-87 = 1.6e-38 (an absolute
 * error below 2e-38), where e^x would leave the normal floats.
 */
static inline float exp_nonpositive(float x)
{
	const uint32_t floor_bits = 0xc2ae0000u; /* -87.0f */
	const float round = 0x1.8p23f; /* adding it rounds to an integer */
	float t, n, r, p, scale;
	uint32_t b;

	memcpy(&b, &x, sizeof(b));
	b = b > floor_bits ? floor_bits : b; /* negative floats: max(x, -87) */
	memcpy(&x, &b, sizeof(x));

	t = x * 1.44269504f + round;
	n = t - round;
	r = x - n * 0.693359375f;    /* ln 2, its high bits exact */
	r = r - n * -2.12194440e-4f; /* and the rest */
	p = 1.0f / 5040;
	p = p * r + 1.0f / 720;
	p = p * r + 1.0f / 120;
	p = p * r + 1.0f / 24;
	p = p * r + 1.0f / 6;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;

	/* t's low mantissa bits hold n (-126 <= n <= 0): 2^n's exponent. */
	memcpy(&b, &t, sizeof(b));
	b = (b - 0x4b400000u + 127u) << 23;
	memcpy(&scale, &b, sizeof(scale));
	return p * scale;
}

/* v[i] = e^(v[i] - shift[i]) for n values, shift[i] >= v[i]. */
static void exp_shifted(float *restrict v, const float *restrict shift,
                        size_t n)
{
	size_t j = 0;

	for (; j + LANES <= n; j += LANES)
		for (size_t u = 0; u < LANES; u++)
			v[j + u] = exp_nonpositive(v[j + u] - shift[j + u]);
	for (; j < n; j++)
		v[j] = exp_nonpositive(v[j] - shift[j]);
}

/*
 * Every expert's softmax of the logits in pl->lf, in place, in float:
 * the exponentials of all E*K values in one loop.
 */
static void softmax_experts_f32(const struct plan *pl)
{
	size_t e = pl->e, k = pl->k;
	float *v = pl->lf;

	for (size_t i = 0; i < e; i++) {
		float top = v[i * k];

		for (size_t c = 1; c < k; c++)
			top = v[i * k + c] > top ? v[i * k + c] : top;
		for (size_t c = 0; c < k; c++)
			pl->shift[i * k + c] = top;
	}

	exp_shifted(v, pl->shift, pl->ek);

	for (size_t i = 0; i < e; i++) {
		double sum = 0;
		float inv;

		for (size_t c = 0; c < k; c++)
			sum += v[i * k + c];
		inv = (float)(1 / sum);
		for (size_t c = 0; c < k; c++)
			v[i * k + c] *= inv;
	}
}

/* The mixture pl->p of the experts' distributions in pl->lf (F32). */
static void mix_experts_f32(const struct plan *pl)
{
	size_t e = pl->e, k = pl->k;

	memset(pl->p, 0, k * sizeof(double));
	for (size_t i = 0; i < e; i++) {
		const float *pi = pl->lf + i * k;

		if (pl->w[i] == 0)
			continue;
		for (size_t c = 0; c < k; c++)
			pl->p[c] += pl->w[i] * pi[c];
	}
}

/*
 * Row r's outputs from the mixture pl->p and the gate (pl->act,
 * pl->w), all but the experts' distributions.
 */
static void write_row(const struct plan *pl, size_t r,
                      const struct moe_output *out)
{
	size_t e = pl->e, k = pl->k;
	double *prob = out->probabilities + r * k, psum = 0;

	for (size_t c = 0; c < k; c++)
		psum += pl->p[c];
	for (size_t c = 0; c < k; c++)
		prob[c] = pl->p[c] / psum;

	if (out->labels != NULL)
		out->labels[r] = argmax(prob, k);
	if (out->activations != NULL)
		memcpy(out->activations + r * e, pl->act, e * sizeof(double));
	if (out->weights != NULL)
		memcpy(out->weights + r * e, pl->w, e * sizeof(double));
	if (out->top_expert != NULL)
		out->top_expert[r] = argmax(pl->w, e);
}

/*
 * The rest of a row, shared by the F64 path and the fallback: weights
 * from pl->lw unless have_weights, the mixture from the logits in row
 * (changed in place), and every requested output for row r of the call.
 */
static void finish_row(const struct plan *pl, double *row, size_t r,
                       int have_weights, const struct moe_output *out)
{
	if (!have_weights)
		weights_from_logs(pl);
	mix_experts(pl, row, out->expert_probabilities != NULL);
	write_row(pl, r, out);
	if (out->expert_probabilities != NULL)
		memcpy(out->expert_probabilities + r * pl->ek, row,
		       pl->ek * sizeof(double));
}

/* As finish_row, for an F32 row whose logits are in pl->lf. */
static void finish_row_f32(const struct plan *pl, size_t r, int have_weights,
                           const struct moe_output *out)
{
	double *ep = out->expert_probabilities;

	if (!have_weights)
		weights_from_logs(pl);
	softmax_experts_f32(pl);
	mix_experts_f32(pl);
	write_row(pl, r, out);
	if (ep == NULL)
		return;
	for (size_t i = 0; i < pl->ek; i++)
		ep[r * pl->ek + i] = pl->lf[i];
}

/* The fallback's standardized row, ||z||^2 and z.W_i, in long double. */
static long double input_long(const struct plan *pl, const double *x)
{
	const struct moe_params *p = &pl->model->params;
	long double zn = 0;

	for (size_t j = 0; j < pl->d; j++) {
		long double v = x[j];

		if (p->mean != NULL)
			v = (v - param(pl, p->mean, j)) /
			    param(pl, p->scale, j);
		pl->zl[j] = v;
		zn += v * v;
	}
	return zn;
}

/* The fallback's scores s and t (as in row_scores), in long double. */
static void scores_long(const struct plan *pl, const double *x)
{
	const struct moe_model *m = pl->model;
	const void *gw = m->params.gate_weight;
	const double *b = pl->dv->gate_bias;
	long double tau = m->gate.temperature, zn = input_long(pl, x);
	size_t d = pl->d;

	/* ||W_i||^2 is summed here too: the double of pl->dv may be inf. */
	for (size_t i = 0; i < pl->e; i++) {
		long double c = 0, dist = 0, wn = 0, expanded;

		for (size_t j = 0; j < d; j++) {
			long double w = param(pl, gw, i * d + j);

			c += w * pl->zl[j];
			dist += (pl->zl[j] - w) * (pl->zl[j] - w);
			wn += w * w;
		}
		if (m->gate.score == MOE_SCORE_INNER) {
			pl->sl[i] = (c + b[i]) / tau;
			pl->tle[i] = pl->sl[i];
			continue;
		}
		pl->sl[i] = b[i] - dist / tau;
		expanded = zn - 2 * c + wn;
		if (expanded < EUCLID_RECOMPUTE_F64 * (zn + wn))
			pl->tle[i] = pl->sl[i] + zn / tau;
		else
			pl->tle[i] = b[i] + (2 * c - wn) / tau;
	}
}

/*
 * The fallback's gate: the active set from the long double t, then s
 * and t shifted by the largest active t brought into double (values out
 * of range become infinities, which the shared code handles); returns
 * what gate_weights does.
 */
static int gate_long(const struct plan *pl)
{
	struct key_order o = {NULL, pl->tle};
	long double top = -INFINITY;

	select_active(pl, &o);

	for (size_t i = 0; i < pl->e; i++)
		if (pl->active[i])
			top = fmaxl(top, pl->tle[i]);
	for (size_t i = 0; i < pl->e; i++) {
		pl->s[i] = (double)pl->sl[i];
		pl->t[i] = (double)(pl->tle[i] - top);
	}
	return gate_weights(pl, 1);
}

/* The fallback's logits, each expert's shifted to max 0, into row. */
static void logits_long(const struct plan *pl, double *row)
{
	const struct moe_params *p = &pl->model->params;
	size_t d = pl->d, k = pl->k;

	for (size_t i = 0; i < pl->e; i++) {
		long double top = -INFINITY;

		for (size_t c = 0; c < k; c++) {
			size_t at = (i * k + c);
			long double acc = pl->dv->expert_bias[at];

			for (size_t j = 0; j < d; j++)
				acc += (long double)param(pl, p->expert_weight,
				                          at * d + j) *
				       pl->zl[j];
			pl->tl[c] = acc;
			top = fmaxl(top, acc);
		}
		for (size_t c = 0; c < k; c++)
			row[i * k + c] = (double)(pl->tl[c] - top);
	}
}

/*
 * Row r of the call, whose main path overflowed, redone from its input
 * xr in long double; row is where its logits go ([E*K] doubles).
 */
static void row_long(const struct plan *pl, const double *xr, double *row,
                     size_t r, const struct moe_output *out)
{
	int have_weights;

	scores_long(pl, xr);
	have_weights = gate_long(pl);
	logits_long(pl, row);
	finish_row(pl, row, r, have_weights, out);
}

/* The block's products from z, the matrix of its rows rows. */
static void block_products(const struct plan *pl, const void *z, size_t rows)
{
	const struct moe_params *p = &pl->model->params;

	if (pl->dv->slopes != NULL) {
		product(pl, z, rows, pl->dv->slopes, pl->e + pl->ek, pl->sc);
		return;
	}
	product(pl, z, rows, p->gate_weight, pl->e, pl->sc);
	product(pl, z, rows, p->expert_weight, pl->ek, pl->lg);
}

/*
 * Rows [begin, end) of the block whose products are laid out, its first
 * row being row r0 of the call; outputs are indexed from 0.
 */
static void run_rows(const struct plan *pl, const double *x, const void *z,
                     size_t r0, size_t begin, size_t end,
                     const struct moe_output *out)
{
	for (size_t r = begin; r < end; r++) {
		double *row;
		int bad, have_weights;

		bad = row_scores(pl, z, r) | row_logits(pl, r, &row);
		if (bad) {
			row_long(pl, x + (r0 + r) * pl->d, row, r0 + r, out);
			continue;
		}
		have_weights = gate_weights(pl, 0);
		if (pl->model->dtype == MOE_DTYPE_F32)
			finish_row_f32(pl, r0 + r, have_weights, out);
		else
			finish_row(pl, row, r0 + r, have_weights, out);
	}
}

/*
 * Runs rows [r0, r0 + rows) of the call: their pass over the input, the
 * products, then the per-row work.  Returns 0, or -1 when an input value
 * is not finite.
 */
static int run_chunk(const struct plan *pl, const double *x, size_t r0,
                     size_t rows, const struct moe_output *out)
{
	const void *z = needs_copy(pl) ? pl->z : x + r0 * pl->d;

	if (prepare_rows(pl, x + r0 * pl->d, rows) < 0)
		return -1;
	block_products(pl, z, rows);
	run_rows(pl, x, z, r0, 0, rows, out);
	return 0;
}

/* A lane's rows, block after block, until one holds a value not finite. */
static void *lane_run(void *arg)
{
	struct lane *lane = arg;
	const struct plan *pl = &lane->pl;

	lane->status = 0;
	for (size_t r0 = lane->begin; r0 < lane->end; r0 += pl->rows) {
		size_t left = lane->end - r0;
		size_t rows = left < pl->rows ? left : pl->rows;

		if (run_chunk(pl, lane->x, r0, rows, lane->out) < 0) {
			lane->status = -1;
			break;
		}
	}
	return NULL;
}

/*
 * Whether a call of one lane should run its products on one OpenBLAS
 * thread although the caller's uses several: blocks of several rows
 * (one row is a gemv) whose products are small.
 */
static int small_products(const struct plan *pl)
{
	size_t per_row = (pl->e + pl->ek) * pl->d;

	return pl->rows > 1 && moe_blas_threads() > 1 &&
	       pl->rows * per_row < FORWARD_MIN_THREADED_PRODUCT;
}

/*
 * Runs the call's lanes (moe_run_shares), with OpenBLAS narrowed to one
 * thread when there are several or when the products are small.  Each
 * row's outputs do not depend on the lanes.  Returns 0, or -1 when an
 * input value is not finite.
 */
static int run_lanes(const struct call *c, const double *x, size_t n,
                     const struct moe_output *out)
{
	int narrow = c->n_lanes > 1 || small_products(&c->lanes[0].pl);
	int status = 0;

	for (size_t t = 0; t < c->n_lanes; t++) {
		c->lanes[t].x = x;
		c->lanes[t].out = out;
		c->lanes[t].begin = n * t / c->n_lanes;
		c->lanes[t].end = n * (t + 1) / c->n_lanes;
	}

	if (narrow)
		moe_blas_narrow();
	moe_run_shares(lane_run, c->lanes, sizeof(*c->lanes), c->n_lanes);
	if (narrow)
		moe_blas_widen();

	for (size_t t = 0; t < c->n_lanes; t++)
		status |= c->lanes[t].status;
	return status;
}

int moe_forward(const struct moe_model *model, const double *x, size_t n,
                struct moe_scratch *scratch, const struct moe_output *out,
                struct moe_error *err)
{
	size_t d = model->n_features;
	struct call c;
	int r;

	if (out == NULL || out->probabilities == NULL)
		return moe_fail(err, -EINVAL, "no array for the probabilities");
	if (n == 0)
		return 0;

	r = plan_call(&c, model, n, scratch);
	if (r == -E2BIG)
		return moe_fail(err, r, "a row needs more than %lu bytes",
		                (unsigned long)MOE_MAX_SCRATCH_BYTES);
	if (r < 0)
		return moe_fail(err, r, "out of memory");

	if (run_lanes(&c, x, n, out) < 0)
		return report_input(x, n, d, err);
	return 0;
}
