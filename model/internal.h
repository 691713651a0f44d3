/* SPDX-License-Identifier: MIT */
/*
 * internal.h - shared between the files of model/, not installed.
 *
 * A model's parameters live in one of two places: a malloc'd block the
 * model owns, or a read-only mmap of a safetensors file.  The loaders
 * build a model in three steps: moe_model_new_shell() validates and
 * copies the metadata, the loader points model->params into its storage
 * and records that storage in model->priv, then moe_model_finish() checks
 * every value and computes what the forward pass precomputes.
 */
#ifndef SIGMOE_INTERNAL_H
#define SIGMOE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "sigmoe.h"

struct moe_model_private {
	void *owned;          /* malloc'd parameter block, or NULL */
	size_t owned_bytes;
	void *map;            /* mmap of the file, or NULL */
	size_t map_bytes;
	void *derived;        /* precomputed by moe_model_finish, owned */
};

/*
 * moe_fail - write a printf-style message into err (if not NULL) and
 * return code, so that error paths read "return moe_fail(err, -EINVAL,
 * ...)".
 */
int moe_fail(struct moe_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * moe_prefix - put "prefix: " in front of the message already in err.
 * Used by the loaders to name the file.  NULL err is ok.
 */
void moe_prefix(struct moe_error *err, const char *prefix);

/* moe_dtype_size - bytes per scalar: 8 or 4. */
size_t moe_dtype_size(enum moe_dtype dtype);

/*
 * moe_model_new_shell - a model with spec's metadata (names, dims, gate,
 * dtype) validated and copied, and no parameters (params all NULL, priv
 * zeroed).  spec's parameter pointers are ignored.  Messages name the
 * field: "classes[2]: duplicate name 'setosa'".
 */
int moe_model_new_shell(const struct moe_model_spec *spec,
			struct moe_model **out, struct moe_error *err);

/*
 * moe_model_finish - check every parameter value (finite; scale != 0)
 * of a shell whose params now point into priv's storage, and compute
 * priv->derived.  Messages name the element: "gate.weight[1][2]: not a
 * finite number".  On failure the model is left for moe_model_free.
 */
int moe_model_finish(struct moe_model *model, struct moe_error *err);

/* The six parameter tensors, in the order of struct moe_params. */
enum moe_tensor {
	MOE_TENSOR_GATE_WEIGHT = 0,
	MOE_TENSOR_GATE_BIAS,
	MOE_TENSOR_EXPERT_WEIGHT,
	MOE_TENSOR_EXPERT_BIAS,
	MOE_TENSOR_MEAN,
	MOE_TENSOR_SCALE,
	MOE_TENSOR_COUNT
};

/* moe_tensor_name - the tensor's name in files: "gate.weight". */
const char *moe_tensor_name(enum moe_tensor tensor);

/*
 * moe_tensor_shape - writes the tensor's shape for model's dims into
 * shape and returns its rank (1 to 3).  mean and scale have shape [d]
 * whether or not the model has them.
 */
size_t moe_tensor_shape(const struct moe_model *model, enum moe_tensor tensor,
			size_t shape[3]);

/* moe_tensor_count - the number of scalars in the tensor (its shape's
 * product; 0 for mean and scale when the model has none). */
size_t moe_tensor_count(const struct moe_model *model,
			enum moe_tensor tensor);

/* moe_tensor_data - the tensor's pointer in model->params (may be NULL). */
const void *moe_tensor_data(const struct moe_model *model,
			    enum moe_tensor tensor);

/*
 * What moe_model_finish precomputes for the forward pass, in one
 * malloc'd block at priv->derived (the arrays follow the struct).
 * The biases and norms are double whatever the dtype.
 */
struct moe_derived {
	const double *gate_bias;     /* [E] */
	const double *expert_bias;   /* [E][K] */
	const double *gate_norm2;    /* [E], ||gate.weight[i]||^2 */
	/* Standardization as (x - center) * inv_scale, [d] each; NULL
	 * when the model has none. */
	const double *center;
	const double *inv_scale;
	/*
	 * gate.weight and experts.weight as one [E + E*K][d] matrix of the
	 * dtype, so that one product gives scores and logits: the params
	 * themselves when they are adjacent in memory (the loaders and
	 * writers lay them out so), else a copy when the model is not
	 * mapped and the copy fits in MOE_MAX_FUSED_COPY_BYTES, else NULL
	 * (two products).
	 */
	const void *slopes;
};

/*
 * moe_blas_threads - OpenBLAS's thread count as the process set it:
 * while some call has narrowed it (moe_blas_narrow), the count from
 * before.
 */
int moe_blas_threads(void);

/*
 * moe_blas_narrow, moe_blas_widen - bracket work whose threads each run
 * their own products: OpenBLAS runs on one thread from the first narrow
 * to the last widen, process-wide, then on the count it had.  Pairs may
 * overlap from any number of threads.
 */
void moe_blas_narrow(void);
void moe_blas_widen(void);

/*
 * moe_run_shares - run(share) for each of the count shares of size bytes
 * at shares: the first on the calling thread, every other on a thread
 * started here, or on the calling thread too when its thread cannot be
 * started (or it is past MOE_MAX_ROW_THREADS); returns once all are
 * done.
 */
void moe_run_shares(void *(*run)(void *), void *shares, size_t size,
                    size_t count);

#endif
