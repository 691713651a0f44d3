/* SPDX-License-Identifier: MIT */
/*
 * latency.c - how long a published file takes to be in service: from
 * the rename(2) that publishes it to the first srv_store_acquire that
 * returns the new version, over many swaps, with inotify and with
 * polling alone.  Prints p50, p99 and the maximum.
 *
 * Usage: reload_latency [SWAPS [POLL_MS]]   (defaults 200 and 1000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "reload_util.h"
#include "store.h"
#include "store_internal.h"

static uint64_t number_now(struct srv_store *store)
{
	struct srv_version *v;
	uint64_t n;

	if (srv_store_acquire(store, "m", &v, NULL, 0) < 0)
		return 0;
	n = v->number;
	srv_version_release(v);
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int measure(const char *label, unsigned poll_ms, int use_inotify,
                   int swaps)
{
	double *ms = calloc((size_t)swaps, sizeof(double));
	struct srv_store *store = NULL;
	char dir[4096];
	int rc;

	rt_tmpdir(dir, sizeof(dir));
	rt_publish_data(dir, "m.json", "va.json");
	rc = srv_store_open(dir, &store);
	if (rc < 0 || !ms || srv_store_watch_ms(store, poll_ms, use_inotify))
		return 1;

	for (int i = 0; i < swaps; i++) {
		double t0;

		rt_sleep_ms(20);
		t0 = rt_now_ms();
		rt_publish_data(dir, "m.json", i % 2 ? "va.json" : "vb.json");
		while (number_now(store) < (uint64_t)i + 2)
			rt_sleep_ms(0.1);
		ms[i] = rt_now_ms() - t0;
	}
	qsort(ms, (size_t)swaps, sizeof(double), cmp_double);
	printf("%s: %d swaps, rename to new version visible: p50 %.1f ms, "
	       "p99 %.1f ms, max %.1f ms\n",
	       label, swaps, ms[swaps / 2], ms[(swaps * 99) / 100],
	       ms[swaps - 1]);
	fflush(stdout);
	srv_store_close(store);
	rt_rmtree(dir);
	free(ms);
	return 0;
}

int main(int argc, char **argv)
{
	int swaps = argc > 1 ? atoi(argv[1]) : 200;
	unsigned poll_ms = argc > 2 ? (unsigned)atoi(argv[2]) : 1000;
	char label[64];

	srv_log_setup(CFG_LOG_TEXT, CFG_LOG_ERROR);
	if (swaps < 1)
		return 2;
	if (measure("inotify (no poll)", 0, 1, swaps))
		return 1;
	snprintf(label, sizeof(label), "polling only, every %u ms", poll_ms);
	return measure(label, poll_ms, 0, swaps);
}
