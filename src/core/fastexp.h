/* fastexp.h - e^y for y <= 0 in float without a libm call, so that a loop over an array
 * vectorises (libm's expf is a call per element unless -ffast-math, which this project
 * does not use). Cody-Waite reduction y = k ln2 + r, |r| <= ln2/2, and Cephes' degree-7
 * polynomial for e^r; relative error below 2.5e-7 for y >= -87 (tests/test_fastmath.c
 * against double exp). Below -87 the result is e^-87 (1.6e-38): it only ever meets 1 + e or
 * e itself beside O(1) terms. NaN stays NaN. */
#ifndef NG_FASTEXP_H
#define NG_FASTEXP_H

#include <stdint.h>
#include <string.h>

static inline float ngi_exp_nonpos(float y)
{
    const float yc = y >= -87.0f ? y : -87.0f; /* NaN too: k below must stay an int */
    /* k = round(y / ln2): for y <= 0, truncating y/ln2 - 1/2 toward zero rounds to nearest */
    const int32_t k = (int32_t)(yc * 1.44269504088896341f - 0.5f);
    const float fk = (float)k;
    const float r = (yc - fk * 0.693359375f) - fk * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^k from its exponent bits (k >= -126 for y >= -87) */
    const uint32_t bits = (uint32_t)(k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    const float e = p * scale;
    return y == y ? e : y;
}

#endif
