/* SPDX-License-Identifier: MIT */
/*
 * number.c - the shortest decimal text that reads back to a double (F64)
 * or to a float (F32), written without printf.
 *
 * The value x is scaled by a power of ten in long double arithmetic (64
 * bits of mantissa) to y = x * 10^s, an integer part of P digits (P = 17
 * for F64, 9 for F32).  Rounding y to a multiple of 10^drop gives a
 * candidate of P - drop digits; the candidate reads back to x when its
 * distance to y is below half the gap from x to its neighbour on that
 * side, also scaled by 10^s.  The scaling is off by at most a few units
 * in the last place of a long double, a few hundredths of a unit of y:
 * a candidate whose distance lies within MARGIN of the half gap is
 * decided by strtod (strtof), which rounds correctly.  Should even the
 * P-digit candidate fail, snprintf("%.17g") / ("%.9g") answers.
 *
 * The text has the shape of printf's %g with precision P: fixed
 * notation for decimal exponents -4..P-1, otherwise d.ddde+dd.
 *
 * Nothing on the common path calls libm: the binary exponent and the
 * neighbours of x come from its bits, and the rounding to fixed point
 * from the significand of a long double sum.  Each replaces a call with
 * the same result (llrintl, nextafter, frexp, floor).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* How far from a rounding boundary (in units of y) the arithmetic is not
 * trusted; the error is below 0.02 + 3 / 2^FRAC_BITS units. */
#define MARGIN 8 /* 1/8, in fixed point */

/* 10^s = tens_hi[(s - POW_MIN) / 28] * tens_lo[(s - POW_MIN) % 28]. */
#define POW_MIN (-364)
#define POW_MAX 363

static const long double tens_lo[28] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L,
};

static const long double tens_hi[26] = {
    1e-364L, 1e-336L, 1e-308L, 1e-280L, 1e-252L, 1e-224L, 1e-196L,
    1e-168L, 1e-140L, 1e-112L, 1e-84L,  1e-56L,  1e-28L,  1e0L,
    1e28L,   1e56L,   1e84L,   1e112L,  1e140L,  1e168L,  1e196L,
    1e224L,  1e252L,  1e280L,  1e308L,  1e336L,
};

static const uint64_t tens_u64[20] = {
    1ull,
    10ull,
    100ull,
    1000ull,
    10000ull,
    100000ull,
    1000000ull,
    10000000ull,
    100000000ull,
    1000000000ull,
    10000000000ull,
    100000000000ull,
    1000000000000ull,
    10000000000000ull,
    100000000000000ull,
    1000000000000000ull,
    10000000000000000ull,
    100000000000000000ull,
    1000000000000000000ull,
    10000000000000000000ull,
};

/* What is being printed: |x| at its own precision, scaled, in fixed
 * point with FRAC_BITS bits of fraction (y < 10^17 * 2^6 < 2^63). */
#define FRAC_BITS 6

/*
 * v * 2^FRAC_BITS rounded to the nearest integer, ties to even: what
 * llrintl gives in the default rounding mode, for 0 <= v * 2^FRAC_BITS
 * < 2^63, without a call into libm.
 *
 * With the x87 format (64-bit significand, stored first), t + 2^63 lies
 * in [2^63, 2^64) where the unit in the last place is 1, so the addition
 * rounds t to an integer, ties to even, and the significand of the sum
 * is 2^63 plus that integer: reading it saves the switches of the
 * rounding mode that a conversion to an integer costs on x87.
 * Elsewhere the fraction t - whole is exact (t is below 2^63 and whole
 * is its integer part) and decides the rounding.
 */
static uint64_t fixed(long double v)
{
	long double t = v * (1 << FRAC_BITS);
#if LDBL_MANT_DIG == 64 && (defined(__x86_64__) || defined(__i386__))
	uint64_t significand;

	t += 0x1p63L;
	memcpy(&significand, &t, sizeof(significand));
	return significand - (UINT64_C(1) << 63);
#else
	uint64_t whole = (uint64_t)t;
	long double frac = t - (long double)whole;

	if (frac > 0.5L || (frac == 0.5L && (whole & 1)))
		whole++;
	return whole;
#endif
}

struct scaled {
	long double tens;  /* 10^s */
	long double exact; /* |x| * 10^s, in [10^(P-1), 10^P) */
	uint64_t y;        /* exact, in fixed point */
	uint64_t up;       /* half the gap to the next larger value */
	uint64_t down;     /* half the gap to the next smaller value */
	int s;
	int digits; /* P */
	int f32;
};

static long double pow10l_table(int s)
{
	int i = s - POW_MIN;

	return tens_hi[i / 28] * tens_lo[i % 28];
}

/* The exponent e of ax = m * 2^e with 0.5 <= m < 1, as frexp gives it,
 * for a positive finite ax (subnormals included). */
static int binary_exponent(double ax)
{
	uint64_t bits;
	int biased;

	memcpy(&bits, &ax, sizeof(bits));
	biased = (int)(bits >> 52);
	if (biased)
		return biased - 1022;
	return -1074 + 64 - __builtin_clzll(bits); /* subnormal */
}

/* floor(t) for |t| < 2^31, without a call into libm. */
static int floor_int(double t)
{
	int i = (int)t;

	return (double)i > t ? i - 1 : i;
}

/* Scale ax > 0 so that its integer part has sc->digits digits. */
static int scale(struct scaled *sc, double ax)
{
	long double lo = tens_lo[sc->digits - 1], hi = tens_lo[sc->digits];
	int e10, i;

	e10 = floor_int((binary_exponent(ax) - 1) * 0.30102999566398120);
	for (i = 0; i < 4; i++) {
		sc->s = sc->digits - 1 - e10;
		if (sc->s < POW_MIN || sc->s > POW_MAX)
			return -1;
		sc->tens = pow10l_table(sc->s);
		sc->exact = (long double)ax * sc->tens;
		if (sc->exact >= hi)
			e10++;
		else if (sc->exact < lo)
			e10--;
		else
			return 0;
	}
	return -1;
}

/* The neighbours of a positive finite double or float, from its bits:
 * what nextafter(ax, INFINITY) and nextafter(ax, 0) give. */
static double double_step(double ax, int up)
{
	uint64_t bits;

	memcpy(&bits, &ax, sizeof(bits));
	bits = up ? bits + 1 : bits - 1;
	memcpy(&ax, &bits, sizeof(bits));
	return ax;
}

static float float_step(float f, int up)
{
	uint32_t bits;

	memcpy(&bits, &f, sizeof(bits));
	bits = up ? bits + 1 : bits - 1;
	memcpy(&f, &bits, sizeof(bits));
	return f;
}

/* Half gaps around ax (a positive double, or float when sc->f32). */
static void gaps(struct scaled *sc, double ax)
{
	long double p = sc->tens, up, down;

	if (sc->f32) {
		float f = (float)ax;

		up = f < FLT_MAX ? (long double)float_step(f, 1) - f
		                 : (long double)f - float_step(f, 0);
		down = (long double)f - float_step(f, 0);
	} else {
		up = ax < DBL_MAX ? (long double)double_step(ax, 1) - ax
		                  : (long double)ax - double_step(ax, 0);
		down = (long double)ax - double_step(ax, 0);
	}
	sc->y = fixed(sc->exact);
	sc->up = fixed(up * p / 2);
	sc->down = fixed(down * p / 2);
}

/*
 * The number of decimal digits of c > 0: from its bit length, since
 * 1233 / 4096 is just below log10(2), an estimate that is exact or one
 * short (n <= 19, so tens_u64[n] exists), then one comparison.
 */
static int decimal_digits(uint64_t c)
{
	int n = (64 - __builtin_clzll(c)) * 1233 >> 12;

	return c >= tens_u64[n] ? n + 1 : n;
}

/* Digits of c > 0 into out (no trailing zeros), written from the last
 * pair to the first; returns how many, and adds the stripped zeros to
 * *q. */
static int put_digits(char *out, uint64_t c, int *q)
{
	static const char pairs[] = "00010203040506070809101112131415161718"
	                            "19202122232425262728293031323334353637"
	                            "38394041424344454647484950515253545556"
	                            "57585960616263646566676869707172737475"
	                            "767778798081828384858687888990919293949596"
	                            "979899";
	int n, i;

	while (c % 100 == 0) {
		c /= 100;
		*q += 2;
	}
	if (c % 10 == 0) {
		c /= 10;
		(*q)++;
	}
	n = decimal_digits(c);
	for (i = n; c >= 100; c /= 100) {
		i -= 2;
		memcpy(out + i, pairs + c % 100 * 2, 2);
	}
	if (c >= 10)
		memcpy(out, pairs + c * 2, 2);
	else
		out[0] = (char)('0' + c);
	return n;
}

/* e+dd, e-dd or e-ddd as printf writes it; returns the length. */
static int put_exponent(char *out, int e)
{
	int a = abs(e), len = 0;

	out[len++] = 'e';
	out[len++] = e < 0 ? '-' : '+';
	if (a >= 100)
		out[len++] = (char)('0' + a / 100);
	out[len++] = (char)('0' + a / 10 % 10);
	out[len++] = (char)('0' + a % 10);
	out[len] = '\0';
	return len;
}

/* Text of (sign) c * 10^q in %g shape with precision p; returns length. */
static int format(char *out, int neg, uint64_t c, int q, int p)
{
	char d[24];
	int n = put_digits(d, c, &q), e = n - 1 + q, len = 0, i;

	if (neg)
		out[len++] = '-';
	if (e < -4 || e >= p) {
		out[len++] = d[0];
		if (n > 1) {
			out[len++] = '.';
			memcpy(out + len, d + 1, (size_t)n - 1);
			len += n - 1;
		}
		return len + put_exponent(out + len, e);
	}
	if (e < 0) {
		memcpy(out + len, "0.", 2);
		len += 2;
		for (i = -1; i > e; i--)
			out[len++] = '0';
		memcpy(out + len, d, (size_t)n);
		len += n;
	} else {
		for (i = 0; i <= e; i++)
			out[len++] = i < n ? d[i] : '0';
		if (n > e + 1) {
			out[len++] = '.';
			memcpy(out + len, d + e + 1, (size_t)(n - e - 1));
			len += n - e - 1;
		}
	}
	out[len] = '\0';
	return len;
}

/* Whether text reads back to x at the precision of sc. */
static int reads_back(const struct scaled *sc, const char *text, double x)
{
	if (sc->f32)
		return strtof(text, NULL) == (float)x;
	return strtod(text, NULL) == x;
}

/* 1: the candidate v (in fixed point) surely reads back, 0: surely not,
 * -1: too close to tell. */
static int fits(const struct scaled *sc, uint64_t v)
{
	uint64_t dist = v >= sc->y ? v - sc->y : sc->y - v;
	uint64_t half = v >= sc->y ? sc->up : sc->down;

	if (dist + MARGIN < half)
		return 1;
	if (dist > half + MARGIN)
		return 0;
	return -1;
}

/*
 * The shortest text for x != 0 into out; -1 if none was found.  The
 * candidate of each drop is y rounded to a multiple of 10^drop: q is the
 * integer part of y divided by 10^drop, unit 10^drop in fixed point.  The
 * distance from y to its nearest multiple of 10^drop grows with drop, so
 * the search stops at the first candidate that does not read back.
 */
static int shortest(char *out, double x, int f32)
{
	struct scaled sc = {.digits = f32 ? 9 : 17, .f32 = f32};
	char tmp[API_NUMBER_MAX];
	uint64_t q, unit, rest, c, best_c = 0;
	int drop, ok, best = -1;

	if (scale(&sc, fabs(x)))
		return -1;
	gaps(&sc, fabs(x));
	q = sc.y >> FRAC_BITS;

	for (drop = 0; drop < sc.digits; drop++) {
		unit = tens_u64[drop] << FRAC_BITS;
		rest = sc.y - q * unit;
		c = q + (rest * 2 >= unit);
		ok = fits(&sc, c * unit);
		if (ok < 0) {
			format(tmp, x < 0, c, drop - sc.s, sc.digits);
			ok = reads_back(&sc, tmp, x);
		}
		if (!ok)
			break;
		best = drop;
		best_c = c;
		q /= 10;
	}
	if (best < 0)
		return -1;
	return format(out, x < 0, best_c, best - sc.s, sc.digits);
}

int api_number_format(char *out, double x, enum moe_dtype dtype)
{
	int f32 = dtype == MOE_DTYPE_F32, len;

	if (f32)
		x = (float)x;
	if (!isfinite(x))
		return sprintf(out, "null");
	if (x == 0)
		return sprintf(out, signbit(x) ? "-0" : "0");

	len = shortest(out, x, f32);
	if (len > 0)
		return len;
	return snprintf(out, API_NUMBER_MAX, f32 ? "%.9g" : "%.17g", x);
}
