/* SPDX-License-Identifier: MIT */
/*
 * sigmoe.h - libsigmoe: mixture-of-experts classifiers with sigmoid gates.
 *
 * A model mixes E multinomial logistic experts over K classes through a
 * gate on d input features.  This header is the whole public interface of
 * the library in model/: the model object, loading and saving its two file
 * formats (JSON and safetensors), the batched forward pass, and sampling.
 *
 * Conventions, for every function here:
 *  - a function that can fail returns 0 on success or a negative errno
 *    (-EINVAL bad input or file, -ENOMEM, -EIO, -ENOENT, -E2BIG over a
 *    limit of moe_limits.h) and, when err is not NULL, writes one sentence
 *    into err->message naming what is wrong and where;
 *  - the library never logs, never exits and never aborts on bad input;
 *  - a loaded model is immutable: any number of threads may run the
 *    forward pass on it at once, each with its own struct moe_scratch.
 */
#ifndef SIGMOE_H
#define SIGMOE_H

#include <stddef.h>
#include <stdint.h>

#include "moe_limits.h"

#define SIGMOE_FORMAT_NAME    "sigmoe-model"
#define SIGMOE_FORMAT_VERSION 1

/* An error message; the library fills it, the caller owns it. */
struct moe_error {
	char message[MOE_ERROR_BYTES];
};

enum moe_dtype {
	MOE_DTYPE_F64 = 0,   /* compute and store in double */
	MOE_DTYPE_F32 = 1,   /* compute and store in float */
};

enum moe_gate_kind {
	MOE_GATE_SIGMOID = 0,   /* normalized sigmoid */
	MOE_GATE_SOFTMAX = 1,
};

enum moe_score {
	MOE_SCORE_INNER = 0,       /* (W_i . x + b_i) / tau */
	MOE_SCORE_EUCLIDEAN = 1,   /* b_i - ||x - W_i||^2 / tau */
};

enum moe_format {
	MOE_FORMAT_JSON = 0,
	MOE_FORMAT_SAFETENSORS = 1,
};

struct moe_gate {
	enum moe_gate_kind kind;
	enum moe_score score;
	double temperature;   /* tau > 0 */
	size_t top_k;         /* 0 = every expert, else 0 < top_k <= E */
};

/*
 * The parameters, each a dense row-major array of the model's dtype
 * (double for F64, float for F32).  mean and scale are both NULL when the
 * model has no standardization.  The arrays may point into a read-only
 * mapping of the model file: never write through them.
 */
struct moe_params {
	const void *gate_weight;     /* [E][d] */
	const void *gate_bias;       /* [E] */
	const void *expert_weight;   /* [E][K][d] */
	const void *expert_bias;     /* [E][K] */
	const void *mean;            /* [d] or NULL */
	const void *scale;           /* [d] or NULL */
};

/*
 * A model.  Every field is read-only after moe_model_load() or
 * moe_model_create() returns; the model owns all of its memory and
 * moe_model_free() releases it.
 */
struct moe_model {
	char *name;            /* informational; never NULL ("" if unset) */
	char *description;     /* informational; never NULL ("" if unset) */
	enum moe_dtype dtype;
	size_t n_features;     /* d */
	size_t n_experts;      /* E */
	size_t n_classes;      /* K */
	struct moe_gate gate;
	char **features;       /* d names, or NULL when the file has none */
	char **classes;        /* K names */
	struct moe_params params;

	/* Where the model came from; zeroed for moe_model_create(). */
	enum moe_format format;
	char digest[65];       /* SHA-256 of the file's bytes, lowercase hex */
	uint64_t file_bytes;
	int mapped;            /* 1 if tensors point into an mmap of the file */

	struct moe_model_private *priv;   /* storage; opaque */
};

/*
 * Everything needed to build a model in memory (moe_model_create), with
 * parameters given as doubles whatever the target dtype.
 */
struct moe_model_spec {
	const char *name;            /* may be NULL */
	const char *description;     /* may be NULL */
	enum moe_dtype dtype;
	size_t n_features, n_experts, n_classes;
	struct moe_gate gate;
	const char *const *features; /* d names or NULL */
	const char *const *classes;  /* K names */
	const double *gate_weight;   /* [E][d] */
	const double *gate_bias;     /* [E] */
	const double *expert_weight; /* [E][K][d] */
	const double *expert_bias;   /* [E][K] */
	const double *mean;          /* [d] or NULL */
	const double *scale;         /* [d] or NULL */
};

/*
 * moe_model_create - build and validate a model from a spec.
 * Copies everything it needs (converting to spec->dtype); the spec may be
 * freed afterwards.  Validation is that of a model file (SPEC 2.3).
 * On success *out owns a new model (free with moe_model_free).
 * Returns 0, -EINVAL (err names the field), -E2BIG or -ENOMEM.
 */
int moe_model_create(const struct moe_model_spec *spec,
		     struct moe_model **out, struct moe_error *err);

/*
 * moe_format_from_path - the format that a file name's extension names.
 * Returns 0 and sets *format for ".json" or ".safetensors", else -EINVAL.
 */
int moe_format_from_path(const char *path, enum moe_format *format);

/*
 * moe_model_load - read, validate and load one model file.
 * The format comes from the extension.  safetensors tensors whose bytes
 * are aligned are used in place from a read-only mapping; the rest is
 * copied.  The file's SHA-256 goes into model->digest.  Nothing is
 * half-loaded: on failure *out is untouched and nothing is kept.
 * err names the file (its base name), the field and the problem, e.g.
 * "iris.json: experts.weight[2]: expected 3 rows, found 2".
 * Returns 0, -ENOENT, -EIO, -EINVAL, -E2BIG or -ENOMEM.  Thread-safe.
 */
int moe_model_load(const char *path, struct moe_model **out,
		   struct moe_error *err);

/*
 * moe_model_load_buffer - as moe_model_load, from bytes in memory.
 * label is the file name used in messages ("iris.json").  The bytes are
 * copied when needed; data may be freed after the call.
 */
int moe_model_load_buffer(const void *data, size_t len,
			  enum moe_format format, const char *label,
			  struct moe_model **out, struct moe_error *err);

/*
 * moe_model_save - write a model to path, in the format its extension
 * names.  Writes a temporary file in the same directory and renames it
 * over path, so that a watching daemon never sees a partial file.
 * Output is deterministic: the same model gives the same bytes.
 * Returns 0, -EINVAL (unknown extension), -EIO, or the codes of
 * moe_model_serialize.
 */
int moe_model_save(const struct moe_model *model, const char *path,
		   struct moe_error *err);

/*
 * moe_model_serialize - the bytes moe_model_save would write, in a new
 * malloc'd buffer that the caller frees.  Returns 0, -ENOMEM, or -E2BIG
 * when the file would be over a limit of moe_limits.h that its reader
 * enforces (MOE_MAX_JSON_MODEL_BYTES for JSON).
 */
int moe_model_serialize(const struct moe_model *model, enum moe_format fmt,
			void **bytes, size_t *len, struct moe_error *err);

/*
 * moe_model_convert - a copy of model in another dtype (F64 -> F32 rounds
 * to nearest; F32 -> F64 is exact).  The copy owns its memory and has no
 * digest.  Returns 0, -EINVAL (a value overflows float) or -ENOMEM.
 */
int moe_model_convert(const struct moe_model *model, enum moe_dtype dtype,
		      struct moe_model **out, struct moe_error *err);

/* moe_model_free - release a model and everything it owns; NULL is ok. */
void moe_model_free(struct moe_model *model);

/* Names of the enums as written in files and shown to users. */
const char *moe_dtype_name(enum moe_dtype dtype);           /* "F64" */
const char *moe_gate_kind_name(enum moe_gate_kind kind);    /* "sigmoid" */
const char *moe_score_name(enum moe_score score);           /* "inner" */
const char *moe_format_name(enum moe_format format);   /* "safetensors" */

/*
 * Per-thread working memory for the forward pass.  It grows on demand up
 * to MOE_MAX_SCRATCH_BYTES and is reused, so that a steady stream of
 * requests allocates nothing.  Not thread-safe: one per thread.
 */
struct moe_scratch;

/* moe_scratch_new - an empty scratch, or NULL when out of memory. */
struct moe_scratch *moe_scratch_new(void);

/* moe_scratch_free - release a scratch; NULL is ok. */
void moe_scratch_free(struct moe_scratch *scratch);

/*
 * What the forward pass writes.  probabilities is required; every other
 * pointer may be NULL when that output is not wanted.  Arrays are
 * row-major and sized for n rows.
 */
struct moe_output {
	double *probabilities;          /* [n][K], rows sum to 1 */
	size_t *labels;                 /* [n], argmax, ties to lower index */
	double *activations;            /* [n][E], sigma(s_i) or softmax */
	double *weights;                /* [n][E], mixture weights G_i */
	size_t *top_expert;             /* [n], argmax of weights */
	double *expert_probabilities;   /* [n][E][K] */
};

/*
 * moe_forward - the model's outputs for n rows of x ([n][d], raw inputs:
 * the model's standardization is applied here).
 * Every value of x must be finite; else returns -EINVAL and err says
 * "row R, column C: not a finite number".  For finite inputs every output
 * is finite and each probability row sums to 1 (within 1e-12 for F64,
 * 1e-6 for F32).  Thread-safe for distinct scratches.
 * When the caller's OpenBLAS uses more than one thread
 * (openblas_get_num_threads(), up to MOE_MAX_ROW_THREADS) and n is
 * large enough (256 rows per thread), the rows are split between that
 * many threads, started and joined within the call, each computing its
 * share with OpenBLAS on one thread: meanwhile OpenBLAS is set to one
 * thread for the whole process (OpenBLAS 0.3.21 has no per-thread
 * count), and set back when the last such call returns.  A call too
 * small to split whose products are small too (under 4 million
 * multiply-adds a block) narrows OpenBLAS the same way, for its
 * duration.  The outputs are the same, bit for bit, as with one thread;
 * after an -EINVAL, rows without a bad value may have been written.
 * With one OpenBLAS thread (as the daemon sets) it starts none.
 * Returns 0, -EINVAL, -E2BIG (n too large for MOE_MAX_SCRATCH_BYTES) or
 * -ENOMEM.
 */
int moe_forward(const struct moe_model *model, const double *x, size_t n,
		struct moe_scratch *scratch, const struct moe_output *out,
		struct moe_error *err);

/*
 * A small, fast, seedable random generator (xoshiro256** seeded by
 * splitmix64), so that samples and fits are reproducible everywhere.
 */
struct moe_rng {
	uint64_t s[4];
};

void moe_rng_seed(struct moe_rng *rng, uint64_t seed);
uint64_t moe_rng_next(struct moe_rng *rng);
double moe_rng_uniform(struct moe_rng *rng);   /* in [0, 1) */
double moe_rng_normal(struct moe_rng *rng);    /* standard normal */

/*
 * moe_simulate - draw n labelled rows from the model.  Each feature j is
 * drawn from N(mean_j, scale_j^2) when the model has standardization,
 * else N(0, 1); the label is drawn from P(y | x).  x is [n][d], y is [n]
 * class indices; both are caller-allocated.  Deterministic for a seed.
 * Returns 0, -ENOMEM or -E2BIG.
 */
int moe_simulate(const struct moe_model *model, size_t n, uint64_t seed,
		 double *x, size_t *y, struct moe_error *err);

#endif
