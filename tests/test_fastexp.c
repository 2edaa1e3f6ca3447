/* test_fastexp.c - ngi_exp_nonpos (src/core/fastexp.h) against double exp: relative error
 * below 2.5e-7 on [-87, 0] (every 61st float, 18 million of them, and a few chosen ones),
 * exactly 1 at 0 and -0, the floor e^-87 below -87 and at -inf, NaN kept. */
#include "fastexp.h"
#include "ngtest.h"

static void test_against_double_exp(void)
{
    double worst = 0.0;
    float at = 0.0f;
    /* negative floats in order of magnitude: -0 is 0x80000000, -87 is 0xc2ae0000 */
    for (uint32_t bits = 0x80000000u; bits <= 0xc2ae0000u; bits += 61) {
        float y;
        memcpy(&y, &bits, sizeof y);
        const double want = exp((double)y), rel = fabs((double)ngi_exp_nonpos(y) - want) / want;
        if (!(rel <= worst)) {
            worst = rel;
            at = y;
        }
    }
    const float ends[] = {-87.0f, -86.99999f, -0.34657359f, -0.34657362f, -1e-30f, -1.0f, -2.0f, -50.5f};
    for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) {
        const double want = exp((double)ends[i]);
        const double rel = fabs((double)ngi_exp_nonpos(ends[i]) - want) / want;
        if (!(rel <= worst)) {
            worst = rel;
            at = ends[i];
        }
    }
    NG_CHECK_MSG(worst < 2.5e-7, "relative error %.3g at y = %.9g", worst, (double)at);
}

static void test_special_values(void)
{
    NG_CHECK(ngi_exp_nonpos(0.0f) == 1.0f);
    NG_CHECK(ngi_exp_nonpos(-0.0f) == 1.0f);
    const float floor87 = ngi_exp_nonpos(-87.0f);
    NG_CHECK(floor87 > 0.0f && floor87 < 1.7e-38f);
    NG_CHECK(ngi_exp_nonpos(-88.0f) == floor87);
    NG_CHECK(ngi_exp_nonpos(-1e30f) == floor87);
    NG_CHECK(ngi_exp_nonpos(-INFINITY) == floor87);
    NG_CHECK(isnan(ngi_exp_nonpos(NAN)));
    NG_CHECK(isnan(ngi_exp_nonpos(-NAN)));
}

/* The loop the likelihood runs (e^-|x| with the sign of x) gives the scalar's bits. */
static void test_loop_same_as_scalar(void)
{
    enum { n = 1003 };
    float x[n], e[n];
    for (int i = 0; i < n; i++) x[i] = (float)((i * 7919) % 2001 - 1000) * 0.037f;
    for (int i = 0; i < n; i++) e[i] = copysignf(ngi_exp_nonpos(-fabsf(x[i])), x[i]);
    int same = 1;
    for (volatile int i = 0; i < n; i++) {
        const float one = copysignf(ngi_exp_nonpos(-fabsf(x[i])), x[i]);
        same &= memcmp(&one, &e[i], sizeof one) == 0;
    }
    NG_CHECK(same);
}

int main(void)
{
    NG_RUN(test_against_double_exp);
    NG_RUN(test_special_values);
    NG_RUN(test_loop_same_as_scalar);
    return ng_test_summary();
}
