/* SPDX-License-Identifier: MIT */
/*
 * store.h - the models a daemon serves, and how they change (SPEC 3).
 *
 * The store owns one slot per model name found in the model directory.
 * A slot publishes at most one version at a time through an atomic
 * pointer; a request acquires a reference to the version in service,
 * computes on it, and releases it.  A rescan (at start, from the watcher,
 * on SIGHUP or from the reload endpoints) loads and validates a changed
 * file completely before swapping it in; the old version is freed by
 * whoever drops its last reference.  At most two versions of a model
 * exist at once.
 *
 * Request-path functions (srv_store_acquire, srv_version_release) take
 * no lock and never wait for a load.  Everything else may block.
 */
#ifndef SIGMOE_SRV_STORE_H
#define SIGMOE_SRV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../model/sigmoe.h"

struct srv_store;

/* One loaded, immutable version of a model. */
struct srv_version {
	struct moe_model *model;   /* owned */
	const char *name;          /* the slot's name; lives as long as store */
	uint64_t number;           /* 1, 2, ... per successful load */
	double loaded_at;          /* Unix time, seconds */
	char *file;                /* path it was loaded from; owned */
	/* private: reference count and slot link follow in store.c */
};

enum srv_model_state {
	SRV_MODEL_AVAILABLE = 0,
	SRV_MODEL_LOADING,
	SRV_MODEL_UNAVAILABLE,
};

/* A copy of one slot's state, for status pages and metrics. */
struct srv_model_status {
	char name[MOE_MODEL_NAME_MAX + 1];
	enum srv_model_state state;
	struct srv_version *version;   /* acquired reference, or NULL */
	char *file;                    /* newest file seen; owned */
	char *last_error;              /* newest failure, or NULL; owned */
	double last_error_at;          /* Unix time, 0 if none */
	uint64_t loads_ok;             /* successful loads so far */
	uint64_t loads_failed;         /* failed loads so far */
	uint64_t instances;            /* rows computed on this model */
	double *expert_weight_sum;     /* [E] of the version, or NULL; owned */
};

/*
 * srv_store_open - a store for directory dir, loaded once (every good
 * file becomes a model, every bad one an UNAVAILABLE slot with its
 * error, both logged).  A missing or unreadable directory fails with
 * -ENOENT/-EACCES and *out untouched.  Free with srv_store_close().
 */
int srv_store_open(const char *dir, struct srv_store **out);

/*
 * srv_store_watch - start the watcher thread: inotify on dir, plus a poll
 * every poll_interval seconds (0: inotify only).  Returns 0 or -errno.
 */
int srv_store_watch(struct srv_store *store, unsigned poll_interval);

/*
 * srv_store_rescan - compare the directory with the store and load,
 * swap or remove what changed, now, in the calling thread.  Serialized
 * with the watcher.  Returns the number of models changed, or -errno.
 */
int srv_store_rescan(struct srv_store *store);

/*
 * srv_store_close - stop the watcher, wait for every reference to be
 * released, and free everything.  NULL is ok.
 */
void srv_store_close(struct srv_store *store);

/*
 * srv_store_acquire - the version of model name now in service.
 * Returns 0 and a reference in *out (release with srv_version_release);
 * -ENOENT when no such model exists; -EAGAIN when the model exists but
 * has no version in service (first file bad, or loading), with the
 * reason copied into reason (NUL-terminated, truncated to reason_len).
 * Lock-free; thread-safe.
 */
int srv_store_acquire(struct srv_store *store, const char *name,
		      struct srv_version **out, char *reason,
		      size_t reason_len);

/* srv_version_release - drop a reference; NULL is ok.  Lock-free. */
void srv_version_release(struct srv_version *version);

/*
 * srv_store_account - add a request's work to the model's counters: n
 * rows and, when weights is not NULL, the [n][E] mixture weights to the
 * per-expert totals.  Thread-safe; cheap (atomics).
 */
void srv_store_account(struct srv_store *store, struct srv_version *version,
		       size_t n, const double *weights);

/*
 * srv_store_status - copies of every slot's state, sorted by name.
 * Returns the count and a new array in *out (free with
 * srv_store_status_free), or a negative errno.  Thread-safe.
 */
int srv_store_status(struct srv_store *store, struct srv_model_status **out);

/* srv_store_status_free - release what srv_store_status returned. */
void srv_store_status_free(struct srv_model_status *status, size_t count);

/* srv_store_dir - the directory served. */
const char *srv_store_dir(const struct srv_store *store);

/* srv_model_state_name - "AVAILABLE", "LOADING", "UNAVAILABLE". */
const char *srv_model_state_name(enum srv_model_state state);

#endif
