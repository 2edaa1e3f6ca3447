/* test_fastmath.c - the float functions that replace libm calls in the normal generator's
 * loop, so that it vectorises (src/core/fastmath.c), against double references:
 * ngi_log_unit on (0, 1] and ngi_sincos_2pi on [-1/2, 1/2]; and ngi_normal_fill_f: moments,
 * the normal CDF on a grid, determinism in the seed. */
#include "internal.h"
#include "ngtest.h"

/* log u within 1.5e-7 absolute (near u = 1, where log u -> 0) or relative */
static void test_log_unit(void)
{
    double worst = 0.0;
    float at = 0.0f;
    for (uint32_t bits = 0x00800000u; bits <= 0x3f800000u; bits += 101) { /* 2^-126 .. 1 */
        float u;
        memcpy(&u, &bits, sizeof u);
        const double want = log((double)u), err = fabs((double)ngi_log_unit(u) - want) / fmax(fabs(want), 1.0);
        if (!(err <= worst)) {
            worst = err;
            at = u;
        }
    }
    NG_CHECK_MSG(worst < 1.5e-7, "log error %.3g at u = %.9g", worst, (double)at);
    NG_CHECK(ngi_log_unit(1.0f) == 0.0f);
}

/* sin and cos of 2 pi v within 2e-7 absolute, at and between the quadrant boundaries */
static void test_sincos(void)
{
    double worst = 0.0;
    float at = 0.0f;
    for (long i = -4000000; i <= 4000000; i++) {
        const float v = (float)i / 8000000.0f;
        float s, c;
        ngi_sincos_2pi(v, &s, &c);
        const double a = 2.0 * M_PI * (double)v;
        const double err = fmax(fabs((double)s - sin(a)), fabs((double)c - cos(a)));
        if (!(err <= worst)) {
            worst = err;
            at = v;
        }
    }
    NG_CHECK_MSG(worst < 2e-7, "sincos error %.3g at v = %.9g", worst, (double)at);
}

/* Phi(x) to double precision, for the CDF check */
static double phi(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

static void test_normal_fill(void)
{
    enum { n = 2000001 }; /* odd: the lone last draw too */
    float *x = malloc(n * sizeof *x);
    NG_CHECK(x != NULL);
    if (!x) return;
    ng_rng r;
    ng_rng_seed(&r, 5);
    ngi_normal_fill_f(&r, x, n);
    double m1 = 0, m2 = 0, m4 = 0, amax = 0;
    for (size_t i = 0; i < n; i++) {
        const double v = x[i];
        m1 += v;
        m2 += v * v;
        m4 += v * v * v * v;
        amax = fmax(amax, fabs(v));
    }
    m1 /= n;
    m2 /= n;
    m4 /= n;
    /* standard errors: 1/sqrt(n) = 7e-4 for the mean, sqrt(2/n) = 1e-3 for the variance */
    NG_CHECK_NEAR(m1, 0.0, 4e-3);
    NG_CHECK_NEAR(m2, 1.0, 6e-3);
    NG_CHECK_NEAR(m4, 3.0, 0.05);
    NG_CHECK(amax <= 5.8 && amax > 4.5);
    /* the empirical CDF at 13 points within 4 standard errors of Phi */
    const double grid[] = {-3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3};
    for (size_t g = 0; g < sizeof grid / sizeof *grid; g++) {
        size_t below = 0;
        for (size_t i = 0; i < n; i++) below += x[i] <= grid[g];
        const double p = phi(grid[g]), f = (double)below / n, se = sqrt(p * (1 - p) / n);
        NG_CHECK_MSG(fabs(f - p) <= 4 * se, "CDF at %g: %.6f vs %.6f (se %.2g)", grid[g], f, p, se);
    }
    /* the pairs are (cos, sin) halves: the first and second half are not the same draws */
    NG_CHECK(memcmp(x, x + n / 2, 64 * sizeof *x) != 0);
    /* deterministic in the seed */
    float y[7];
    ng_rng_seed(&r, 5);
    ngi_normal_fill_f(&r, y, 7);
    float z[7];
    ng_rng_seed(&r, 5);
    ngi_normal_fill_f(&r, z, 7);
    NG_CHECK(memcmp(y, z, sizeof y) == 0);
    free(x);
}

int main(void)
{
    NG_RUN(test_log_unit);
    NG_RUN(test_sincos);
    NG_RUN(test_normal_fill);
    return ng_test_summary();
}
