/* SPDX-License-Identifier: MIT */
/*
 * moe_limits.h - every compile-time limit of sigmoe, in one place.
 *
 * Anything that grows from input (a model file, a request body, a CSV
 * file, a config file) is bounded by a constant here or by a setting in
 * config/config.h whose default is defined here.  Raising a limit is a
 * one-line change in this file.
 */
#ifndef SIGMOE_LIMITS_H
#define SIGMOE_LIMITS_H

/* Model files (SPEC 2.3 "sizes are bounded"). */
#define MOE_MAX_MODEL_FILE_BYTES  (2UL << 30)     /* 2 GiB */
#define MOE_MAX_JSON_MODEL_BYTES  (256UL << 20)   /* 256 MiB of JSON text */
#define MOE_MAX_ST_HEADER_BYTES   (16UL << 20)    /* safetensors header */
#define MOE_MAX_FEATURES          (1U << 20)      /* d */
#define MOE_MAX_EXPERTS           4096U           /* E */
#define MOE_MAX_CLASSES           65536U          /* K */
#define MOE_MAX_PARAMETERS        (256UL << 20)   /* total scalars */
#define MOE_MAX_NAME_BYTES        1024U           /* feature, class name */
#define MOE_MAX_TEXT_BYTES        65536U          /* description */
#define MOE_MAX_JSON_DEPTH        64U             /* nesting in files */

/* Model names in a directory (SPEC 3). */
#define MOE_MODEL_NAME_MAX        64U

/* Error messages written by the library. */
#define MOE_ERROR_BYTES           512U

/* CSV files read by the tool. */
#define MOE_MAX_CSV_FIELD_BYTES   4096U
#define MOE_MAX_CSV_COLUMNS       (1U << 20)
#define MOE_MAX_CSV_ROWS          (1UL << 26)

/* The tool: a CSV header row read ahead; rows per forward call. */
#define CLI_MAX_HEADER_BYTES      (64UL << 20)
#define CLI_BATCH_ROWS            4096U
#define CLI_MAX_CONFUSION_CLASSES 256U   /* `sigmoe eval` prints K x K */

/* Per-thread scratch used by the forward pass. */
#define MOE_MAX_SCRATCH_BYTES     (1UL << 31)     /* 2 GiB */
/* Threads one forward call, or one pass of a fit, splits its rows between
 * (it follows the caller's OpenBLAS thread count up to this). */
#define MOE_MAX_ROW_THREADS       64U
/* A model keeps its gate and expert slopes a second time, side by side,
 * for the forward pass's single product, up to this size. */
#define MOE_MAX_FUSED_COPY_BYTES  (64UL << 20)    /* 64 MiB */

/* Working memory of one fit (data copies, products, L-BFGS memory). */
#define MOE_MAX_FIT_BYTES         (8UL << 30)     /* 8 GiB */

/* Daemon settings: defaults of SPEC 5, and hard ceilings. */
#define SRV_DEFAULT_PORT            8080
#define SRV_DEFAULT_POLL_SECONDS    5
#define SRV_DEFAULT_MAX_BODY_BYTES  8388608UL
#define SRV_DEFAULT_MAX_INSTANCES   65536UL
#define SRV_DEFAULT_CONN_TIMEOUT    30
#define SRV_DEFAULT_MAX_CONNECTIONS 1024
#define SRV_MAX_MODELS              1024U     /* models in one directory */
#define SRV_MAX_THREADS             1024U
#define SRV_MAX_BODY_CEILING        (1UL << 30)
#define SRV_MAX_INSTANCES_CEILING   (1UL << 24)   /* max_instances */
#define SRV_MAX_TOKEN_BYTES         4096U
#define SRV_SHUTDOWN_DRAIN_SECONDS  10
#define SRV_ACCEPT_RETRY_MS         10     /* after accept fails (EMFILE) */
#define SRV_MAX_REQUEST_JSON_DEPTH  32U

/* The model store and its watcher (server/store.c, server/watcher.c). */
#define SRV_MAX_IGNORED_LOGGED      4096U     /* ignored names logged once */
#define SRV_MAX_SCAN_HINTS          2048U     /* files named by one burst */
#define SRV_LOG_LINE_BYTES          8192U     /* one log line */
#define SRV_MAX_METRICS_BYTES       (64UL << 20)  /* the /metrics page */
#define SRV_MAX_PEM_BYTES           (1UL << 20)   /* a TLS cert or key file */

/* Request and response bodies (api/). */
#define API_MAX_RESPONSE_BYTES      (1UL << 30)   /* one encoded body */
#define API_MAX_ID_BYTES            1024U         /* a KServe V2 "id" */
#define API_MAX_ECHO_BYTES          64U    /* client text quoted in errors */
#define API_MAX_NUMBER_CHARS        63U    /* a JSON number (cJSON 1.7's) */
#define API_MAX_NUMBER_TEXT         "63"   /* the same, for messages */

/* Config files. */
#define CFG_MAX_FILE_BYTES          (1UL << 20)
#define CFG_MAX_VALUE_BYTES         4096U

#endif
