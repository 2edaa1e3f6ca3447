/* fastmath.c - standard normal floats by a Box-Muller transform that vectorises: log and
 * sin/cos as polynomials (Cephes' single-precision coefficients) instead of libm calls,
 * on 24-bit uniforms. Compiled with -fno-math-errno (CMakeLists.txt), so that sqrtf is
 * an instruction, not a call that may set errno; the results are those of IEEE sqrt
 * either way (never -ffast-math). Accuracy against double references: tests/test_fastmath.c. */
#include "internal.h"

#include <stdint.h>
#include <string.h>

#include <math.h>

/* Branch-free choices by bit masks (mask all ones: a; zero: b) and sign flips, so that the
 * loops below have no control flow and vectorise. */
static inline float pick(uint32_t mask, float a, float b)
{
    uint32_t ba, bb;
    memcpy(&ba, &a, sizeof ba);
    memcpy(&bb, &b, sizeof bb);
    ba = (ba & mask) | (bb & ~mask);
    memcpy(&a, &ba, sizeof a);
    return a;
}
static inline float flip_if(uint32_t sign, float a) /* sign: 0 or 0x80000000 */
{
    uint32_t ba;
    memcpy(&ba, &a, sizeof ba);
    ba ^= sign;
    memcpy(&a, &ba, sizeof a);
    return a;
}

static inline float log_unit(float u)
{
    /* u = m 2^e with m in [sqrt(1/2), sqrt(2)): log u = e log 2 + log(1 + f), f = m - 1 */
    uint32_t bits;
    memcpy(&bits, &u, sizeof bits);
    int32_t e = (int32_t)((bits >> 23) & 0xffu) - 127;
    uint32_t mb = (bits & 0x007fffffu) | 0x3f800000u; /* m in [1, 2) */
    float m;
    memcpy(&m, &mb, sizeof m);
    const int32_t big = m > 1.41421356f;
    m = pick(0u - (uint32_t)big, 0.5f * m, m);
    e += big;
    const float f = m - 1.0f, z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z;
    const float fe = (float)e;
    y += fe * -2.12194440e-4f;
    y += -0.5f * z;
    return f + y + fe * 0.693359375f;
}

static inline void sincos_2pi(float v, float *s, float *c)
{
    /* v in [-1/2, 1/2]: quadrant q = round(4v), a = 2 pi (v - q/4) in [-pi/4, pi/4] */
    const int32_t q = (int32_t)(4.0f * v + copysignf(0.5f, v));
    const float a = 6.28318530717958648f * (v - 0.25f * (float)q), z = a * a;
    const float sa = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * a + a;
    const float ca = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z -
                     0.5f * z + 1.0f;
    /* rotate by q quarter turns: odd q swaps sin and cos, then the signs of the quadrant */
    const uint32_t odd = 0u - (uint32_t)(q & 1);
    *s = flip_if((uint32_t)(q & 2) << 30, pick(odd, ca, sa));
    *c = flip_if((uint32_t)((q + 1) & 2) << 30, pick(odd, sa, ca));
}

float ngi_log_unit(float u) { return log_unit(u); }
void ngi_sincos_2pi(float v, float *s, float *c) { sincos_2pi(v, s, c); }

/* u1 in (0, 1] and an angle v in [-1/2, 1/2) from 64 random bits (24 bits each) */
static inline float uniform_open0(uint64_t b) { return (float)((b >> 40) + 1) * 5.9604644775390625e-8f; }
static inline float uniform_angle(uint64_t b)
{
    return (float)((b >> 16) & 0xffffffu) * 5.9604644775390625e-8f - 0.5f;
}

void ngi_normal_fill_f(ng_rng *r, float *x, size_t n)
{
    const size_t m = n / 2; /* pairs (x[i], x[m + i]): first the uniforms, then in place */
    for (size_t i = 0; i < m; i++) {
        const uint64_t b = ng_rng_u64(r);
        x[i] = uniform_open0(b);
        x[m + i] = uniform_angle(b);
    }
    float *restrict u = x, *restrict w = x + m;
    for (size_t i = 0; i < m; i++) {
        float s, c;
        sincos_2pi(w[i], &s, &c);
        const float rad = sqrtf(-2.0f * log_unit(u[i]));
        u[i] = rad * c;
        w[i] = rad * s;
    }
    if (n & 1) { /* the last one alone: the cosine half of a pair */
        const uint64_t b = ng_rng_u64(r);
        float s, c;
        sincos_2pi(uniform_angle(b), &s, &c);
        x[n - 1] = sqrtf(-2.0f * log_unit(uniform_open0(b))) * c;
    }
}
