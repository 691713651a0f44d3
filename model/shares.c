/* SPDX-License-Identifier: MIT */
/*
 * shares.c - running a call's shares of rows on threads of its own.
 */
#include <pthread.h>

#include "internal.h"

void moe_run_shares(void *(*run)(void *), void *shares, size_t size,
                    size_t count)
{
	pthread_t threads[MOE_MAX_ROW_THREADS];
	int started[MOE_MAX_ROW_THREADS] = {0};
	char *share = shares;

	for (size_t t = 1; t < count && t < MOE_MAX_ROW_THREADS; t++)
		started[t] = pthread_create(&threads[t], NULL, run,
		                            share + t * size) == 0;
	run(share);
	for (size_t t = 1; t < count; t++) {
		if (t < MOE_MAX_ROW_THREADS && started[t])
			pthread_join(threads[t], NULL);
		else
			run(share + t * size);
	}
}
