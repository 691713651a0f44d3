/* SPDX-License-Identifier: MIT */
/*
 * number.c - the shortest decimal text that reads back to a double (F64)
 * or to a float (F32), written without printf.
 *
 * The digits come from R. Giulietti's Schubfach method ("The Schubfach
 * way to render doubles", 2020), written here from the paper.  A
 * positive value v = c * 2^q rounds back from every decimal in its
 * rounding interval, from halfway to its lower neighbour to halfway to
 * its upper one, both ends included when c is even (strtod rounds ties
 * to even).  In units of 2^(q-2) the value is cb = 4c and the ends are
 * cbl = 4c - 2 (4c - 1 when c is the smallest significand of its
 * binade, whose lower neighbour is nearer) and cbr = 4c + 2.
 *
 * With k = floor(log10(2^q)) (floor(log10(3/4 * 2^q)) for such a c),
 * the interval measured in units of 10^k is at least 1 and less than
 * 10 wide.  So it holds at most one multiple of 10, which then is the
 * only candidate one digit shorter than the others; failing that, it
 * holds s = floor(v / 10^k) or s + 1, or both, the nearer to v being
 * chosen (ties to even).  The three scaled values 4v / 10^k and its
 * ends are computed as cb * 2^q * 10^-k with 10^-k from a table of 126
 * bits rounded up (api/pow10.h), the product rounded to odd: the paper
 * proves that the comparisons of those 64-bit results with 4s are then
 * exact.  A float is handled the same way, with its own c and q.
 *
 * The text has the shape of printf's %g with precision P (17 for F64, 9
 * for F32): fixed notation for decimal exponents -4..P-1, otherwise
 * d.ddde+dd.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pow10.h"

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

/* A binary floating-point format: its width, significand bits (the
 * hidden one included), exponent bits, and the exponent of its smallest
 * value. */
struct binary_format {
	int width;
	int precision;
	int exponent_bits;
	int q_min;
	int print_digits; /* P of the %g shape */
};

static const struct binary_format f64_format = {64, 53, 11, -1074, 17};
static const struct binary_format f32_format = {32, 24, 8, -149, 9};

/* A decimal digits * 10^exponent. */
struct decimal {
	uint64_t digits;
	int exponent;
};

/* The high 64 bits of the 128-bit product a * b. */
#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 uint128;

static uint64_t multiply_high(uint64_t a, uint64_t b)
{
	return (uint64_t)((uint128)a * b >> 64);
}
#else
static uint64_t multiply_high(uint64_t a, uint64_t b)
{
	uint64_t a_lo = (uint32_t)a, a_hi = a >> 32;
	uint64_t b_lo = (uint32_t)b, b_hi = b >> 32;
	uint64_t hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi;
	uint64_t cross = (a_lo * b_lo >> 32) + (uint32_t)hi_lo + lo_hi;

	return a_hi * b_hi + (hi_lo >> 32) + (cross >> 32);
}
#endif

/*
 * g * cp / 2^127 rounded to odd, where g = hi * 2^63 + lo is a table
 * entry: the integer part, with its lowest bit set when a fraction was
 * dropped.  The fraction is judged from the 63 bits below the integer
 * part that the sum of the two partial products keeps, as the paper's
 * proof assumes.
 */
static uint64_t round_to_odd(const struct pow10_entry *g, uint64_t cp)
{
	const uint64_t low63 = (UINT64_C(1) << 63) - 1;
	uint64_t mid = (g->hi * cp >> 1) + multiply_high(g->lo, cp);
	uint64_t whole = multiply_high(g->hi, cp) + (mid >> 63);

	return whole | (((mid & low63) + low63) >> 63);
}

/*
 * The shortest decimal in the rounding interval of c * 2^q (c > 0),
 * the nearest to it among the shortest; boundary says that c is the
 * smallest significand of a binade above the subnormals.
 */
static struct decimal shortest(uint64_t c, int q, int boundary)
{
	uint64_t odd = c & 1, cb = c << 2, cbr = cb + 2, cbl;
	uint64_t vb, vbl, vbr, s, t, below, above;
	const struct pow10_entry *g;
	int k, h, below_in, above_in, s_in, t_in;

	if (boundary) {
		cbl = cb - 1;
		k = FLOOR_LOG10_THREE_QUARTERS_POW2(q);
	} else {
		cbl = cb - 2;
		k = FLOOR_LOG10_POW2(q);
	}
	h = q + FLOOR_LOG2_POW10(-k) + 2;
	g = &pow10_table[-k - POW10_MIN];
	vb = round_to_odd(g, cb << h);
	vbl = round_to_odd(g, cbl << h);
	vbr = round_to_odd(g, cbr << h);

	/* A multiple of 10 in the interval (never both, the interval being
	 * narrower than 10): one digit fewer.  An odd c's interval has no
	 * ends, hence the + odd. */
	s = vb >> 2;
	if (s >= 10) {
		below = s / 10 * 10;
		above = below + 10;
		below_in = vbl + odd <= below << 2;
		above_in = (above << 2) + odd <= vbr;
		if (below_in != above_in)
			return (struct decimal){below_in ? below : above, k};
	}

	/* Else s or s + 1, the nearer to v when both are in. */
	t = s + 1;
	s_in = vbl + odd <= s << 2;
	t_in = (t << 2) + odd <= vbr;
	if (s_in != t_in)
		return (struct decimal){s_in ? s : t, k};
	if (vb < (s + t) << 1 || (vb == (s + t) << 1 && (s & 1) == 0))
		return (struct decimal){s, k};
	return (struct decimal){t, k};
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

static const char digit_pairs[] = "0001020304050607080910111213141516171819"
                                  "2021222324252627282930313233343536373839"
                                  "4041424344454647484950515253545556575859"
                                  "6061626364656667686970717273747576777879"
                                  "8081828384858687888990919293949596979899";

/* The n lowest digits of v, leading zeros included, into out[0..n). */
static void put_fixed(char *out, uint32_t v, int n)
{
	while (n >= 2) {
		n -= 2;
		memcpy(out + n, digit_pairs + v % 100 * 2, 2);
		v /= 100;
	}
	if (n)
		out[0] = (char)('0' + v % 10);
}

/*
 * Digits of c > 0 into out (no trailing zeros); returns how many, and
 * adds the stripped zeros to *q.  Up to 8 digits in 32-bit arithmetic;
 * more (c < 10^18 here) as two such halves, whose steps overlap.
 */
static int put_digits(char *out, uint64_t c, int *q)
{
	int n;

	while (c % 100 == 0) {
		c /= 100;
		*q += 2;
	}
	if (c % 10 == 0) {
		c /= 10;
		(*q)++;
	}
	n = decimal_digits(c);
	if (n <= 8) {
		put_fixed(out, (uint32_t)c, n);
		return n;
	}
	put_fixed(out, (uint32_t)(c / 100000000), n - 8);
	put_fixed(out + n - 8, (uint32_t)(c % 100000000), 8);
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
		/* "0." and -e - 1 zeros: -4 <= e here. */
		memcpy(out + len, "0.000", (size_t)(1 - e));
		len += 1 - e;
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

/* The shortest text of the finite, nonzero x of format f. */
static int format_binary(char *out, double x, const struct binary_format *f)
{
	int fraction_bits = f->precision - 1;
	uint64_t bits, fraction, c;
	int biased, q, neg;
	struct decimal d;

	if (f->width == 32) {
		float v = (float)x;
		uint32_t b32;

		memcpy(&b32, &v, sizeof(b32));
		bits = b32;
	} else {
		memcpy(&bits, &x, sizeof(bits));
	}
	neg = (int)(bits >> (fraction_bits + f->exponent_bits));
	biased = (int)(bits >> fraction_bits) & ((1 << f->exponent_bits) - 1);
	fraction = bits & ((UINT64_C(1) << fraction_bits) - 1);

	if (biased == 0) {
		c = fraction;
		q = f->q_min;
	} else {
		c = fraction | UINT64_C(1) << fraction_bits;
		q = f->q_min + biased - 1;
	}
	d = shortest(c, q, biased > 1 && fraction == 0);
	return format(out, neg, d.digits, d.exponent, f->print_digits);
}

int api_number_format(char *out, double x, enum moe_dtype dtype)
{
	int f32 = dtype == MOE_DTYPE_F32;

	if (f32)
		x = (float)x;
	if (!isfinite(x))
		return sprintf(out, "null");
	if (x == 0)
		return sprintf(out, signbit(x) ? "-0" : "0");
	return format_binary(out, x, f32 ? &f32_format : &f64_format);
}
