/* rng.c - xoshiro256** (Blackman & Vigna) seeded through splitmix64, and the draws built
 * on it: uniform, unbiased bounded integers, Box-Muller normals, categorical, shuffles and
 * sampling without replacement. Everything is a pure function of the ng_rng words, so a
 * saved rng resumes the exact sequence. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void ng_rng_seed(ng_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    /* splitmix64 never yields four zero words from one seed, but be safe: the all-zero
     * state is the one fixed point of xoshiro. */
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
    r->spare_normal = 0.0;
    r->has_spare = 0;
}

uint64_t ng_rng_u64(ng_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Top 53 bits: every double in [0, 1) on the 2^-53 grid, equally likely. */
double ng_rng_uniform(ng_rng *r) { return (double)(ng_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t ng_rng_below(ng_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    /* Reject the lowest (2^64 mod n) values so the rest split evenly into n classes. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = ng_rng_u64(r);
        if (x >= threshold) return x % n;
    }
}

double ng_rng_normal(ng_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare_normal;
    }
    /* u1 in (0, 1] keeps log() finite. */
    double u1 = 1.0 - ng_rng_uniform(r);
    double u2 = ng_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    double th = 6.283185307179586476925 * u2;
    r->spare_normal = rad * sin(th);
    r->has_spare = 1;
    return rad * cos(th);
}

int ng_rng_bernoulli(ng_rng *r, double p) { return ng_rng_uniform(r) < p; }

size_t ng_rng_categorical(ng_rng *r, const double *p, size_t n)
{
    if (n == 0) return 0;
    double total = 0.0;
    for (size_t k = 0; k < n; k++) total += p[k] > 0.0 ? p[k] : 0.0;
    if (!(total > 0.0)) return 0;
    double u = ng_rng_uniform(r) * total, c = 0.0;
    size_t last = 0;
    for (size_t k = 0; k < n; k++) {
        if (!(p[k] > 0.0)) continue;
        c += p[k];
        last = k;
        if (u < c) return k;
    }
    return last; /* rounding left u just above the cumulative sum: the last positive entry */
}

void ng_rng_shuffle(ng_rng *r, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ng_rng_below(r, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Slots of the workspace the sampler uses for k of n: the whole permutation in the dense
 * case, the hash set (>= 2k slots, a power of two) in the sparse one; never more than n
 * (the sparse case has 1 <= k < n/8, so n >= 16 and 2k < n/4). */
static size_t sample_ws_len(size_t n, size_t k)
{
    if (k >= n / 8) return n;
    size_t cap = 16;
    while (cap < 2 * k) cap <<= 1;
    return cap;
}

static void sample_with(ng_rng *r, size_t n, size_t k, size_t *out, size_t *ws)
{
    if (k >= n / 8) {
        /* Dense case: partial Fisher-Yates over [0, n), O(n) memory. */
        size_t *perm = ws;
        for (size_t i = 0; i < n; i++) perm[i] = i;
        for (size_t i = 0; i < k; i++) {
            size_t j = i + (size_t)ng_rng_below(r, n - i);
            size_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
            out[i] = perm[i];
        }
        return;
    }
    /* Sparse case (k < n/8): draw and reject repeats, remembering drawn values in an
     * open-addressing hash set of >= 2k slots; O(k) memory, expected < 1.15 k draws.
     * Sequential rejection gives every ordered k-tuple of distinct values equal odds. */
    size_t cap = sample_ws_len(n, k), *set = ws;
    const size_t empty = (size_t)-1; /* n <= SIZE_MAX, so values are < SIZE_MAX */
    for (size_t i = 0; i < cap; i++) set[i] = empty;
    size_t got = 0;
    while (got < k) {
        size_t v = (size_t)ng_rng_below(r, n);
        size_t h = (size_t)mix64(v) & (cap - 1);
        while (set[h] != empty && set[h] != v) h = (h + 1) & (cap - 1);
        if (set[h] == v) continue;
        set[h] = v;
        out[got++] = v;
    }
}

ng_status ng_rng_sample(ng_rng *r, size_t n, size_t k, size_t *out)
{
    if (k > n) return ngi_fail(NG_EINVAL, "ng_rng_sample: k = %zu exceeds n = %zu", k, n);
    if (k == 0) return NG_OK;
    size_t *ws = ngi_xmalloc(sample_ws_len(n, k) * sizeof *ws);
    if (!ws) return NG_ENOMEM;
    sample_with(r, n, k, out, ws);
    free(ws);
    return NG_OK;
}

ng_status ngi_rng_sample_ws(ng_rng *r, size_t n, size_t k, size_t *out, size_t *ws)
{
    if (k > n) return ngi_fail(NG_EINVAL, "ng_rng_sample: k = %zu exceeds n = %zu", k, n);
    if (k == 0) return NG_OK;
    sample_with(r, n, k, out, ws);
    return NG_OK;
}

void ng_rng_fill_normal(ng_rng *r, float *x, size_t n, float mean, float stddev)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)((double)mean + (double)stddev * ng_rng_normal(r));
}
