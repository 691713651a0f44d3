/* SPDX-License-Identifier: MIT */
/*
 * store_internal.h - what store.c and watcher.c share, and the hooks the
 * reload tests use.  Not part of the daemon's interface: the rest of
 * server/ uses store.h only.
 *
 * The watcher is a thread that turns directory events and poll ticks
 * into calls of srv_store_scan(); the store decides what changed.  The
 * hints tell a scan which files were closed after writing or moved into
 * the directory since the previous scan: those are complete and load at
 * once, while any other changed file must first look the same twice.
 */
#ifndef SIGMOE_SRV_STORE_INTERNAL_H
#define SIGMOE_SRV_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Files a burst of inotify events named as complete; owned by the watcher. */
struct srv_scan_hints {
	int all;      /* every changed file counts as complete */
	size_t count; /* names in use, at most SRV_MAX_SCAN_HINTS */
	char **names; /* file names (not paths) */
};

/*
 * srv_store_scan - compare the directory with the store, load what changed
 * and is complete, swap it in, remove what is gone.  hints NULL means an
 * explicit rescan: every changed file counts as complete.  Sets *recheck
 * to 1 when a changed file was left for a later look because it may still
 * be being written.  Returns the number of models loaded or removed, or a
 * negative errno when the directory cannot be read.  Serialized by the
 * store's scan lock; may block on loads and on the release of a retired
 * version.
 */
int srv_store_scan(struct srv_store *store, const struct srv_scan_hints *hints,
                   int *recheck);

struct srv_watcher;

/*
 * srv_watcher_start - a thread watching dir for store: inotify unless
 * use_inotify is 0 (or inotify cannot be had), plus a poll every poll_ms
 * milliseconds (0: none; forced to SRV_DEFAULT_POLL_SECONDS when inotify
 * is not in use).  Returns 0 and *out, or a negative errno.
 */
int srv_watcher_start(struct srv_store *store, const char *dir,
                      unsigned poll_ms, int use_inotify,
                      struct srv_watcher **out);

/* srv_watcher_stop - wake the thread, join it, free it.  NULL is ok. */
void srv_watcher_stop(struct srv_watcher *watcher);

/*
 * srv_store_watch_ms - srv_store_watch with the poll interval in
 * milliseconds and inotify optional, for tests and benchmarks.
 */
int srv_store_watch_ms(struct srv_store *store, unsigned poll_ms,
                       int use_inotify);

/* What the tests count, per slot (srv_store_counts). */
struct srv_store_counts {
	uint64_t created;   /* versions made for this slot */
	uint64_t freed;     /* versions of this slot freed */
	unsigned alive;     /* versions of this slot in memory now */
	unsigned max_alive; /* the most that ever were at once */
	uint64_t scans;     /* scans of the whole store so far */
};

/*
 * srv_store_counts - the counts of model name.  Returns 0, or -ENOENT
 * when no slot has that name.  Thread-safe.
 */
int srv_store_counts(struct srv_store *store, const char *name,
                     struct srv_store_counts *out);

/* srv_store_versions_alive - versions in memory, in every store. */
long srv_store_versions_alive(void);

#endif
