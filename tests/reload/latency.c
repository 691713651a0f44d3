/* SPDX-License-Identifier: MIT */
/*
 * latency.c - how long a published file takes to be in service: from
 * the rename(2) that publishes it to the first srv_store_acquire that
 * returns the new version, over many swaps, with inotify and with
 * polling alone.  Prints p50, p99 and the maximum; and what one
 * acquire and release costs, with one thread and with two.
 *
 * Usage: reload_latency [SWAPS [POLL_MS]]   (defaults 200 and 1000)
 * It runs as a Check test so that the helpers of reload_util.c work.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
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

static void measure(const char *label, unsigned poll_ms, int use_inotify,
                    int n_swaps)
{
	double *ms = calloc((size_t)n_swaps, sizeof(double));
	uint64_t rng = 7;
	struct srv_store *store = NULL;
	char dir[4096];
	int rc;

	rt_tmpdir(dir, sizeof(dir));
	rt_publish_data(dir, "m.json", "va.json");
	rc = srv_store_open(dir, &store);
	ck_assert(rc == 0 && ms != NULL);
	ck_assert_int_eq(srv_store_watch_ms(store, poll_ms, use_inotify), 0);

	for (int i = 0; i < n_swaps; i++) {
		double t0;

		/* publish at a random phase of the poll period */
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		rt_sleep_ms(20 + (double)((rng >> 33) % (poll_ms + 1)));
		t0 = rt_now_ms();
		rt_publish_data(dir, "m.json", i % 2 ? "va.json" : "vb.json");
		while (number_now(store) < (uint64_t)i + 2)
			rt_sleep_ms(0.1);
		ms[i] = rt_now_ms() - t0;
	}
	qsort(ms, (size_t)n_swaps, sizeof(double), cmp_double);
	printf("%s: %d swaps, rename to new version visible: p50 %.1f ms, "
	       "p99 %.1f ms, max %.1f ms\n",
	       label, n_swaps, ms[n_swaps / 2], ms[(n_swaps * 99) / 100],
	       ms[n_swaps - 1]);
	fflush(stdout);
	srv_store_close(store);
	rt_rmtree(dir);
	free(ms);
}

struct spin {
	struct srv_store *store;
	long rounds;
	atomic_long failed;
};

static void *acquire_loop(void *arg)
{
	struct spin *sp = arg;
	struct srv_version *v;

	/* no ck_assert in the loop: each records a mark point */
	for (long i = 0; i < sp->rounds; i++) {
		if (srv_store_acquire(sp->store, "m", &v, NULL, 0) < 0)
			atomic_fetch_add(&sp->failed, 1);
		else
			srv_version_release(v);
	}
	return NULL;
}

/* ns per acquire and release, each of threads doing rounds of them. */
static void acquire_cost(int threads, long rounds)
{
	struct spin sp = {NULL, rounds, 0};
	pthread_t t[2];
	char dir[4096];
	double t0, ns;

	rt_tmpdir(dir, sizeof(dir));
	rt_publish_data(dir, "m.json", "va.json");
	ck_assert_int_eq(srv_store_open(dir, &sp.store), 0);
	t0 = rt_now_ms();
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, acquire_loop, &sp);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	ns = (rt_now_ms() - t0) * 1e6 / (double)rounds;
	ck_assert_int_eq(atomic_load(&sp.failed), 0);
	printf("acquire + release, %d thread(s): %.1f ns a pair per thread\n",
	       threads, ns);
	srv_store_close(sp.store);
	rt_rmtree(dir);
}

static int swaps = 200;
static unsigned poll_ms = 1000;

START_TEST(test_latency)
{
	char label[64];

	acquire_cost(1, 10000000);
	acquire_cost(2, 10000000);
	measure("inotify (no poll)", 0, 1, swaps);
	snprintf(label, sizeof(label), "polling only, every %u ms", poll_ms);
	measure(label, poll_ms, 0, swaps);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("latency");
	TCase *tc = tcase_create("latency");
	SRunner *sr;
	int failed;

	if (argc > 1)
		swaps = atoi(argv[1]);
	if (argc > 2)
		poll_ms = (unsigned)atoi(argv[2]);
	if (swaps < 1)
		return 2;
	srv_log_setup(CFG_LOG_TEXT, CFG_LOG_ERROR);
	tcase_set_timeout(tc, 3600);
	tcase_add_test(tc, test_latency);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
