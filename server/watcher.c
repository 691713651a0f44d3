/* SPDX-License-Identifier: MIT */
/*
 * watcher.c - the thread that notices changes in the model directory and
 * asks the store to scan it (SPEC 3, "Watching").
 *
 * Two sources wake it: inotify events on the directory, and a poll tick
 * every poll interval (for network volumes, where inotify sees nothing,
 * and for Kubernetes ConfigMaps, whose files change when a symlink of
 * the directory is swapped).  Events come in bursts -- an editor writes,
 * renames and touches -- so a scan starts only after QUIET_MS without an
 * event, or BURST_MAX_MS after the first one, and one burst gives one
 * load of the final content.  Files that inotify saw closed after writing
 * or moved in are complete and load at once; any other changed file is
 * left for a second look SETTLE_MS later (see srv_store_scan).
 *
 * All state here belongs to the watcher thread, except wake_fd, which
 * srv_watcher_stop writes to end the thread.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store_internal.h"

#define QUIET_MS 50
#define BURST_MAX_MS 250
#define SETTLE_MS 110   /* a little over store.c's SETTLE_NS */
#define REWATCH_MS 1000 /* retry a lost directory watch this often */
#define NEVER INT64_MAX

#define WATCH_MASK                                                             \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |            \
	 IN_CREATE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct srv_watcher {
	struct srv_store *store;
	char *dir;
	unsigned poll_ms; /* 0: no poll */
	int inotify_fd;   /* -1: polling only */
	int wd;           /* -1: the directory watch is lost */
	int wake_fd;      /* eventfd; readable when the thread must end */
	pthread_t thread;

	struct srv_scan_hints hints; /* of the burst under way */
	int64_t burst_first;         /* ms of its first event, or NEVER */
	int64_t burst_last;          /* ms of its last event */
	int64_t next_poll;
	int64_t recheck_at;
	int64_t rewatch_at;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static void hints_clear(struct srv_scan_hints *hints)
{
	for (size_t i = 0; i < hints->count; i++)
		free(hints->names[i]);
	hints->count = 0;
	hints->all = 0;
}

/* Note that file was closed after writing or moved in. */
static void hints_add(struct srv_scan_hints *hints, const char *file)
{
	char *copy;

	if (hints->all)
		return;
	for (size_t i = 0; i < hints->count; i++)
		if (strcmp(hints->names[i], file) == 0)
			return;
	copy = hints->count < SRV_MAX_SCAN_HINTS ? strdup(file) : NULL;
	if (!copy) {
		hints->all = 1; /* too many to name: trust them all */
		return;
	}
	hints->names[hints->count++] = copy;
}

static void burst_note(struct srv_watcher *w, int64_t now)
{
	if (w->burst_first == NEVER)
		w->burst_first = now;
	w->burst_last = now;
}

static int64_t burst_deadline(const struct srv_watcher *w)
{
	if (w->burst_first == NEVER)
		return NEVER;
	return min64(w->burst_last + QUIET_MS, w->burst_first + BURST_MAX_MS);
}

/* The directory itself went away or moved: stop watching the old inode
 * and look for the path again later. */
static void watch_lost(struct srv_watcher *w, int64_t now)
{
	if (w->wd < 0)
		return;
	inotify_rm_watch(w->inotify_fd, w->wd);
	w->wd = -1;
	w->rewatch_at = now + REWATCH_MS;
	srv_warn(
	    "model directory %s was removed or moved; the models loaded stay in service until it is back",
	    w->dir);
}

static void watch_again(struct srv_watcher *w, int64_t now)
{
	w->wd = inotify_add_watch(w->inotify_fd, w->dir, WATCH_MASK);
	if (w->wd < 0) {
		w->rewatch_at = now + REWATCH_MS;
		return;
	}
	w->rewatch_at = NEVER;
	srv_info("watching model directory %s again", w->dir);
	w->hints.all = 1;
	burst_note(w, now);
}

static void event_take(struct srv_watcher *w, const struct inotify_event *ev,
                       int64_t now)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		srv_debug("inotify queue overflow on %s; rescanning", w->dir);
		w->hints.all = 1;
	} else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		if (ev->wd == w->wd)
			watch_lost(w, now);
		return;
	} else if (ev->wd != w->wd) {
		return; /* a late event of a watch already removed */
	}
	if (ev->len > 0 && (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
		hints_add(&w->hints, ev->name);
	burst_note(w, now);
}

/* Read every pending event; the fd is non-blocking. */
static void events_read(struct srv_watcher *w, int64_t now)
{
	alignas(struct inotify_event) char buf[8192];

	for (;;) {
		ssize_t n = read(w->inotify_fd, buf, sizeof(buf));

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			event_take(w, ev, now);
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* Scan with whatever the burst named, and plan what comes next. */
static void watcher_scan(struct srv_watcher *w)
{
	int recheck = 0;
	int64_t now;

	srv_store_scan(w->store, &w->hints, &recheck);
	hints_clear(&w->hints);
	now = now_ms();
	w->burst_first = NEVER;
	w->recheck_at = recheck ? now + SETTLE_MS : NEVER;
	if (w->poll_ms && w->next_poll <= now)
		w->next_poll = now + w->poll_ms;
}

static int64_t watcher_deadline(const struct srv_watcher *w)
{
	int64_t t = burst_deadline(w);

	t = min64(t, w->recheck_at);
	t = min64(t, w->rewatch_at);
	if (w->poll_ms)
		t = min64(t, w->next_poll);
	return t;
}

static void *watcher_main(void *arg)
{
	struct srv_watcher *w = arg;
	struct pollfd fds[2] = {
	    {.fd = w->wake_fd, .events = POLLIN},
	    {.fd = w->inotify_fd, .events = POLLIN},
	};
	nfds_t nfds = w->inotify_fd >= 0 ? 2 : 1;

	for (;;) {
		int64_t now = now_ms();
		int64_t deadline = watcher_deadline(w);
		int timeout = deadline == NEVER ? -1
		              : deadline <= now
		                  ? 0
		                  : (int)min64(deadline - now, INT32_MAX);

		if (poll(fds, nfds, timeout) < 0 && errno != EINTR) {
			srv_error("watcher of %s stops: poll: %s", w->dir,
			          strerror(errno));
			break;
		}
		if (fds[0].revents)
			break;
		now = now_ms();
		if (nfds == 2 && fds[1].revents)
			events_read(w, now);
		if (w->rewatch_at <= now)
			watch_again(w, now);
		if (burst_deadline(w) <= now || w->recheck_at <= now ||
		    (w->poll_ms && w->next_poll <= now))
			watcher_scan(w);
	}
	return NULL;
}

static void watcher_free(struct srv_watcher *w)
{
	if (w->inotify_fd >= 0)
		close(w->inotify_fd);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	hints_clear(&w->hints);
	free(w->hints.names);
	free(w->dir);
	free(w);
}

/* Set up inotify on the directory; on failure the watcher polls. */
static void watcher_inotify(struct srv_watcher *w)
{
	w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->inotify_fd < 0) {
		srv_warn(
		    "inotify is not available (%s); polling %s every %u ms",
		    strerror(errno), w->dir, w->poll_ms);
		return;
	}
	w->wd = inotify_add_watch(w->inotify_fd, w->dir, WATCH_MASK);
	if (w->wd < 0) {
		srv_warn(
		    "cannot watch %s with inotify (%s); polling it every %u ms",
		    w->dir, strerror(errno), w->poll_ms);
		close(w->inotify_fd);
		w->inotify_fd = -1;
	}
}

int srv_watcher_start(struct srv_store *store, const char *dir,
                      unsigned poll_ms, int use_inotify,
                      struct srv_watcher **out)
{
	struct srv_watcher *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;
	w->store = store;
	w->inotify_fd = w->wake_fd = w->wd = -1;
	w->dir = strdup(dir);
	w->hints.names = calloc(SRV_MAX_SCAN_HINTS, sizeof(char *));
	w->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (!w->dir || !w->hints.names || w->wake_fd < 0) {
		rc = w->wake_fd < 0 ? -errno : -ENOMEM;
		goto fail_free;
	}

	w->poll_ms = poll_ms;
	if (use_inotify)
		watcher_inotify(w);
	if (w->inotify_fd < 0 && w->poll_ms == 0)
		w->poll_ms = SRV_DEFAULT_POLL_SECONDS * 1000U;
	w->burst_first = w->recheck_at = w->rewatch_at = NEVER;
	w->next_poll = w->poll_ms ? now_ms() + w->poll_ms : NEVER;

	rc = -pthread_create(&w->thread, NULL, watcher_main, w);
	if (rc < 0)
		goto fail_free;
	srv_debug("watching %s: %s, poll every %u ms", dir,
	          w->inotify_fd >= 0 ? "inotify" : "no inotify", w->poll_ms);
	*out = w;
	return 0;

fail_free:
	watcher_free(w);
	return rc;
}

void srv_watcher_stop(struct srv_watcher *w)
{
	uint64_t one = 1;

	if (!w)
		return;
	if (write(w->wake_fd, &one, sizeof(one)) < 0)
		srv_error("cannot wake the watcher of %s: %s", w->dir,
		          strerror(errno));
	pthread_join(w->thread, NULL);
	watcher_free(w);
}
