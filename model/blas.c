/* SPDX-License-Identifier: MIT */
/*
 * blas.c - how many threads OpenBLAS runs, and narrowing it to one while
 * a forward call runs products on threads of its own or small products.
 *
 * OpenBLAS 0.3.21 (Debian 12) has one thread count for the whole process
 * (openblas_set_num_threads); a per-thread count arrived in 0.3.27.  Two
 * threads that each call a threaded GEMM take turns on OpenBLAS's lock
 * and its workers, which then spin on the CPUs those threads need; and a
 * small GEMM loses more waiting for the workers than they save.  So
 * while any call splits its rows between threads, or has only small
 * products, the count is set to one, and the count found before the
 * first such call is restored after the last.  The lock orders those
 * changes between calls from different threads; it does not stop code
 * outside this library from changing the count meanwhile
 * (docs/KNOWN_ISSUES.md).
 */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

static pthread_mutex_t width_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint narrowed; /* calls between narrow and widen */
static int wide_threads;     /* the count before the first of them */

/*
 * Without a narrowing under way (the daemon's case, every call) this
 * takes no lock.  A narrowing that begins meanwhile can make it answer
 * 1: the caller then runs on one thread, which is still correct.
 */
int moe_blas_threads(void)
{
	int threads;

	if (atomic_load(&narrowed) == 0)
		return openblas_get_num_threads();

	pthread_mutex_lock(&width_lock);
	threads = atomic_load(&narrowed) > 0 ? wide_threads
	                                     : openblas_get_num_threads();
	pthread_mutex_unlock(&width_lock);
	return threads;
}

void moe_blas_narrow(void)
{
	pthread_mutex_lock(&width_lock);
	if (atomic_fetch_add(&narrowed, 1) == 0) {
		wide_threads = openblas_get_num_threads();
		openblas_set_num_threads(1);
	}
	pthread_mutex_unlock(&width_lock);
}

void moe_blas_widen(void)
{
	pthread_mutex_lock(&width_lock);
	if (atomic_fetch_sub(&narrowed, 1) == 1)
		openblas_set_num_threads(wide_threads);
	pthread_mutex_unlock(&width_lock);
}
