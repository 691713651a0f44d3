/* SPDX-License-Identifier: MIT */
/*
 * rng.c - xoshiro256** seeded by splitmix64: a small, fast generator
 * whose streams are the same on every platform, so that samples and fits
 * are reproducible from a seed.
 */
#include <math.h>

#include "sigmoe.h"

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* One step of splitmix64: spreads a seed over all 64 bits. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Any seed, 0 included, gives a state that is not all zero. */
void moe_rng_seed(struct moe_rng *rng, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&seed);
}

uint64_t moe_rng_next(struct moe_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* The top 53 bits as a multiple of 2^-53: uniform on [0, 1). */
double moe_rng_uniform(struct moe_rng *rng)
{
	return (double)(moe_rng_next(rng) >> 11) * 0x1p-53;
}

/*
 * Box-Muller: one standard normal from two uniforms (the second value of
 * the pair is dropped, so that the state stays four words).  1 - u is in
 * (0, 1], so the logarithm is finite.
 */
double moe_rng_normal(struct moe_rng *rng)
{
	double u = 1.0 - moe_rng_uniform(rng);
	double v = moe_rng_uniform(rng);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}
