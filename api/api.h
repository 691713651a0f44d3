/* SPDX-License-Identifier: MIT */
/*
 * api.h - the HTTP request and response bodies of sigmoed, without HTTP.
 *
 * The daemon hands this module a request body and the model that will
 * answer it; the module checks the body against the model and returns an
 * input matrix, or an HTTP status and one sentence that names the place
 * of the first problem ("instances[3]: expected 4 values, got 5").  After
 * the forward pass the module writes the response body (SPEC 4.1 native,
 * SPEC 4.2 KServe V2), and also the model status, metadata and error
 * bodies.  Nothing here knows about sockets, threads or the model store:
 * everything comes in through the arguments, so the whole module is
 * tested on plain buffers.
 *
 * Decisions, for clients and for the OpenAPI file (api/openapi.yaml):
 *  - a body is one JSON object; an unknown or repeated top-level key is
 *    a 400 (a typo such as "instance" must not pass silently);
 *  - bodies are strict JSON (RFC 8259): NaN, Infinity, comments,
 *    trailing commas, leading zeros, raw control characters and unpaired
 *    UTF-16 surrogates are refused with the line and column of the first
 *    bad byte; a number has at most API_MAX_NUMBER_CHARS characters;
 *  - the nesting depth is bounded (SRV_MAX_REQUEST_JSON_DEPTH) during
 *    that check, before anything recurses, so a hostile body cannot;
 *  - a number that overflows a double (1e400) is a 400 naming its place;
 *  - KServe V2 integer datatypes take integral numbers within the type's
 *    range; FP32 takes numbers within float's range; BOOL, BYTES and
 *    FP16 inputs are a 400; "outputs": [] means the default outputs;
 *  - numbers are written with 17 significant digits for F64 models and 9
 *    for F32 models, so that each reads back to the value computed;
 *  - no JSON tree is built: values go from the text into the matrix, so
 *    a request costs its matrix (8 bytes a value) and little more.
 *
 * Ownership: what a parse function fills is freed by its _free function;
 * what an encoder writes lives in the caller's struct api_buf.  Every
 * function is thread-safe for distinct arguments (a loaded model is
 * immutable and may be shared).
 */
#ifndef SIGMOE_API_H
#define SIGMOE_API_H

#include <stddef.h>
#include <stdint.h>

#include "../model/sigmoe.h"

/* Why a request was refused: an HTTP status and one sentence. */
struct api_error {
	int status; /* 400, 413 or 500 */
	char message[MOE_ERROR_BYTES];
};

/* Which endpoint a body was sent to; it decides what a body may hold. */
enum api_kind {
	API_PREDICT = 0, /* POST /predict, /v1/models/{name}/predict */
	API_GATES,       /* POST /gates, /v1/models/{name}/gates */
	API_V2_INFER,    /* POST /v2/models/{name}[/versions/{v}]/infer */
};

/* What the forward pass must compute for a request: moe_output fields. */
enum api_output_bits {
	API_OUT_PROBABILITIES = 1u << 0,
	API_OUT_LABELS = 1u << 1,
	API_OUT_ACTIVATIONS = 1u << 2,
	API_OUT_WEIGHTS = 1u << 3,
	API_OUT_TOP_EXPERT = 1u << 4,
	API_OUT_EXPERT_PROBABILITIES = 1u << 5,
};

/* The outputs a KServe V2 client may ask for by name. */
enum api_v2_output {
	API_V2_PROBABILITIES = 0, /* "probabilities" [n, K], FP32|FP64 */
	API_V2_LABEL,             /* "label" [n], BYTES */
	API_V2_GATE_ACTIVATIONS,  /* "gate_activations" [n, E] */
	API_V2_GATE_WEIGHTS,      /* "gate_weights" [n, E] */
	API_V2_OUTPUT_COUNT,
};

/*
 * A parsed request.  x is the input matrix [n][d] in row-major order,
 * raw (the model standardizes it in moe_forward), every value finite.
 */
struct api_request {
	enum api_kind kind;
	double *x;                /* [n][d], owned */
	size_t n;                 /* rows, 1..max_instances */
	size_t d;                 /* the model's n_features */
	unsigned outputs;         /* API_OUT_* bits that the response needs */
	int expert_probabilities; /* gates: "expert_probabilities": true */

	/* KServe V2 only. */
	enum api_v2_output v2_outputs[API_V2_OUTPUT_COUNT]; /* in order */
	size_t n_v2_outputs; /* default: probabilities, label */
	char *id;            /* the request's "id", or NULL; owned */
};

/*
 * api_parse_request - check a request body against the model that will
 * answer it and fill *req.
 *
 * body need not be NUL-terminated; len is its size (the daemon has
 * already refused bodies over max_body_bytes).  max_instances is the
 * row limit of the settings.
 *
 * Native bodies (API_PREDICT, API_GATES):
 *   {"instances": [ROW, ...]} and, for API_GATES only, an optional
 *   "expert_probabilities": true|false.  A ROW is an array of exactly d
 *   numbers, or an object whose keys are exactly the model's feature
 *   names in any order (only for models with feature names).
 * KServe V2 bodies (API_V2_INFER):
 *   {"inputs": [{"name": any string, "shape": [n, d], "datatype": T,
 *                "data": [...], "parameters": {...}}],
 *    "outputs": [{"name": "probabilities"|"label"|"gate_activations"|
 *                 "gate_weights", "parameters": {...}}, ...],
 *    "id": "string", "parameters": {...}}
 *   exactly one input; T is FP32, FP64, INT8..INT64 or UINT8..UINT64;
 *   data holds n*d numbers, flat or nested, in row-major order; outputs
 *   default to probabilities and label; a repeated output is a 400.
 *   "parameters" objects are accepted and ignored (there is no binary
 *   extension: responses are always JSON).
 *
 * On success returns 0 and *req owns a new matrix (api_request_free).
 * On failure returns -EINVAL (err->status 400), -E2BIG (413: more rows
 * than max_instances) or -ENOMEM (500), *req holds nothing to free, and
 * err->message names the place, e.g.
 *   "instances[1][2]: expected a number, got a string",
 *   "instances[0]: unknown feature 'foo'",
 *   "instances: expected 1 to 65536 rows, got 0",
 *   "inputs[0].data: expected 12 values for shape [3, 4], got 11",
 *   "body is not valid JSON: unexpected character at line 1, column 14".
 * Thread-safe.
 */
int api_parse_request(const struct moe_model *model, enum api_kind kind,
                      const char *body, size_t len, size_t max_instances,
                      struct api_request *req, struct api_error *err);

/* api_request_free - release what api_parse_request filled; NULL is ok. */
void api_request_free(struct api_request *req);

/*
 * api_outputs_alloc - allocate the arrays of *out that the bits ask for
 * (probabilities always: moe_forward needs it), sized for n rows of
 * model, others NULL.  Returns 0, -ENOMEM (nothing kept), -E2BIG (the
 * sizes overflow) or -EINVAL (n is 0).  Free with api_outputs_free.
 */
int api_outputs_alloc(const struct moe_model *model, size_t n, unsigned bits,
                      struct moe_output *out);

/* api_outputs_free - free the arrays of *out and zero it; NULL is ok. */
void api_outputs_free(struct moe_output *out);

/*
 * A growing output buffer.  Start it zeroed (or api_buf_init); an
 * encoder resets it and writes one whole body, NUL-terminated, data[0..
 * len).  Reusing one buffer per thread avoids allocation per request.
 * The size is capped at API_MAX_RESPONSE_BYTES.
 */
struct api_buf {
	char *data;
	size_t len;
	size_t cap;
	int error; /* sticky during one encode: 0, -ENOMEM or -E2BIG */
};

void api_buf_init(struct api_buf *b);

/* api_buf_free - release the memory of b and zero it. */
void api_buf_free(struct api_buf *b);

/*
 * api_buf_steal - take the body out of b: returns the malloc'd data
 * (the caller frees it with free()) and its length in *len, and leaves b
 * empty.  Returns NULL (and *len 0) when b holds nothing.
 */
char *api_buf_steal(struct api_buf *b, size_t *len);

/*
 * What the forward pass produced for a request, and which model version
 * produced it.  name is the name the model is served under (its file
 * stem), not model->name.
 */
struct api_result {
	const struct moe_model *model;
	const char *name;
	uint64_t version;
	size_t n;                     /* rows of out */
	const struct moe_output *out; /* filled for req->outputs */
};

/*
 * api_encode_response - the response body for req, from res:
 *  API_PREDICT: {"model", "model_version", "classes", "labels",
 *               "probabilities"};
 *  API_GATES:   {"model", "model_version", "gate": {"kind", "score",
 *               "temperature", "top_k"}, "activations", "weights",
 *               "top_expert"[, "expert_probabilities"]};
 *  API_V2_INFER: {"model_name", "model_version" (a string), ["id",]
 *               "outputs": [{"name", "datatype", "shape", "data"}...]}
 *               in the order req->v2_outputs names them; data flat;
 *               "label" is BYTES, the others FP64 or FP32 as the model.
 * Returns 0, -ENOMEM or -E2BIG (b->data is then not a valid body), or
 * -EINVAL when res lacks an array that req->outputs asks for or res->n
 * differs from req->n (a caller's bug).
 */
int api_encode_response(struct api_buf *b, const struct api_request *req,
                        const struct api_result *res);

/*
 * api_encode_error - {"error": message} with message escaped; invalid
 * UTF-8 in message is replaced by U+FFFD.  Returns 0 or -ENOMEM.
 */
int api_encode_error(struct api_buf *b, const char *message);

/*
 * The state of one served model, as the daemon's store sees it, for
 * GET /v1/models and GET /v1/models/{name}.  Every pointer but name and
 * state may be NULL; times are Unix seconds, 0 for "never".  digest,
 * format, dtype, dimensions, gate, features and classes are read from
 * model, the version in service (NULL when none).
 */
struct api_model_status {
	const char *name;
	const char *state;      /* "AVAILABLE", "LOADING", ... */
	uint64_t version;       /* in service; 0 when none */
	const char *file;       /* the newest file seen */
	double loaded_at;       /* when the version was loaded */
	const char *last_error; /* newest load failure, or NULL */
	double last_error_at;
	const struct moe_model *model;
};

/*
 * api_encode_model_status - GET /v1/models/{name}:
 *   {"name", "state", "version" (null when none), "digest", "file",
 *    "format", "dtype", "loaded_at" (RFC 3339 UTC or null), "n_features",
 *    "n_experts", "n_classes", "gate": {kind, score, temperature, top_k},
 *    "features" (null when the model has none), "classes", "description",
 *    "last_error", "last_error_at"}
 * Fields that come from the model are null when s->model is NULL.
 * Returns 0, -ENOMEM or -E2BIG.
 */
int api_encode_model_status(struct api_buf *b,
                            const struct api_model_status *s);

/*
 * api_encode_model_list - GET /v1/models: {"models": [...]}, one object
 * per entry as api_encode_model_status but without "features",
 * "classes" and "description" (a list stays small).  Returns 0, -ENOMEM
 * or -E2BIG.
 */
int api_encode_model_list(struct api_buf *b, const struct api_model_status *s,
                          size_t count);

/*
 * api_encode_v2_server_metadata - GET /v2:
 *   {"name": "sigmoe", "version": SIGMOE_VERSION, "extensions": []}.
 */
int api_encode_v2_server_metadata(struct api_buf *b);

/*
 * api_encode_v2_model_metadata - GET /v2/models/{name}:
 *   {"name", "versions": ["3"], "platform": "sigmoe",
 *    "inputs": [{"name": "input", "datatype": "FP64", "shape": [-1, d]}],
 *    "outputs": [probabilities [-1, K], label [-1] BYTES,
 *                gate_activations [-1, E], gate_weights [-1, E]]}
 * with FP32 in place of FP64 for F32 models.  model must not be NULL.
 */
int api_encode_v2_model_metadata(struct api_buf *b, const char *name,
                                 uint64_t version,
                                 const struct moe_model *model);

/* api_v2_output_name - "probabilities", "label", ... or NULL. */
const char *api_v2_output_name(enum api_v2_output output);

#endif
