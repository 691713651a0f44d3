/* SPDX-License-Identifier: MIT */
/*
 * blas.c - how many threads OpenBLAS runs, and narrowing it to one while
 * a forward call runs products on threads of its own.
 *
 * OpenBLAS 0.3.21 (Debian 12) has one thread count for the whole process
 * (openblas_set_num_threads); a per-thread count arrived in 0.3.27.  Two
 * threads that each call a threaded GEMM take turns on OpenBLAS's lock
 * and its workers, which then spin on the CPUs those threads need.  So
 * while any call splits its rows between threads, the count is set to
 * one, and the count found before the first such call is restored after
 * the last.  The lock orders those changes between calls from different
 * threads; it does not stop code outside this library from changing the
 * count meanwhile (docs/KNOWN_ISSUES.md).
 */
#include <cblas.h>
#include <pthread.h>

#include "internal.h"

static pthread_mutex_t width_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned narrowed;  /* calls between narrow and widen */
static int wide_threads;   /* the count before the first of them */

int moe_blas_threads(void)
{
	int threads;

	pthread_mutex_lock(&width_lock);
	threads = narrowed > 0 ? wide_threads : openblas_get_num_threads();
	pthread_mutex_unlock(&width_lock);
	return threads;
}

void moe_blas_narrow(void)
{
	pthread_mutex_lock(&width_lock);
	if (narrowed++ == 0) {
		wide_threads = openblas_get_num_threads();
		openblas_set_num_threads(1);
	}
	pthread_mutex_unlock(&width_lock);
}

void moe_blas_widen(void)
{
	pthread_mutex_lock(&width_lock);
	if (--narrowed == 0)
		openblas_set_num_threads(wide_threads);
	pthread_mutex_unlock(&width_lock);
}
