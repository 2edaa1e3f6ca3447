/* net_act.c - activations and output losses of the feed-forward networks: elementwise
 * float kernels (OpenMP over rows) and the stable per-case loss pieces in double. */
#include "net_internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Parallelise elementwise loops only when there is enough work to pay for the team. */
#define NG_ACT_PAR_MIN 32768
/* the vector kernels must be inlined into their loops to vectorise */
#define NG_INLINE inline __attribute__((always_inline))
/* per-case sums: float terms in stack chunks of this many, added in double */
#define NG_TERM_CHUNK 256

/* exp for the elementwise float kernels. libm's expf is a scalar call (glibc offers its
 * vector variants only under -ffast-math), which made the logistic layers cost as much as
 * their sgemm. This version is branch-free in the integer domain so gcc vectorises it even
 * with the default -ftrapping-math and SSE2: |x| is clamped to 87 on its bit pattern (NaN
 * passes through), n = round(x log2 e) by the 1.5 * 2^23 trick (n read back from the bits,
 * no float->int conversion), r = x - n ln2 (Cody-Waite) with |r| <= ln2/2, e^r by its
 * degree-6 Taylor polynomial. Relative error <= 2.5e-7 (tested against exp); e^x is
 * 1.6e-38 for x <= -87 and 6.1e37 for x >= 87 (also for +-Inf). */
static NG_INLINE float expf_vec_(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    int32_t ab = (int32_t)(b & 0x7fffffffu);
    const int32_t lim = 0x42ae0000; /* 87.0f */
    ab = ((ab > lim) & (ab <= 0x7f800000)) ? lim : ab;
    b = (b & 0x80000000u) | (uint32_t)ab;
    memcpy(&x, &b, sizeof x);
    const float magic = 12582912.0f;
    float y = x * 1.44269504088896341f + magic;
    float n = y - magic;
    float r = x - n * 0.693145751953125f;   /* ln 2, high part: n * it is exact */
    r = r - n * 1.42860682030941723212e-6f; /* ln 2, low part */
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t yb;
    memcpy(&yb, &y, sizeof yb);
    uint32_t sb = ((yb - 0x4B400000u) + 127u) << 23; /* 2^n */
    float scale;
    memcpy(&scale, &sb, sizeof scale);
    return p * scale;
}

float ngi_expf_vec(float x) { return expf_vec_(x); }

/* 1 / (1 + e^-x); 1.6e-38 instead of a smaller value for x < -87. */
static NG_INLINE float sigmoidf_(float x) { return 1.0f / (1.0f + expf_vec_(-x)); }

/* Bit helpers: branch-free selections in the integer domain vectorise under gcc's default
 * -ftrapping-math, where float compares block if-conversion. */
static NG_INLINE uint32_t fbits_(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}
static NG_INLINE float bitsf_(uint32_t b)
{
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}
static NG_INLINE float neg_abs_(float x) { return bitsf_(fbits_(x) | 0x80000000u); }
static NG_INLINE float relu_(float x)
{
    uint32_t b = fbits_(x);
    uint32_t neg = 0u - (b >> 31); /* all ones when the sign bit is set */
    return bitsf_(b & ~neg);
}

/* log(1 + u) for u in [0, 1]: 2 atanh(s), s = u / (2 + u) in [0, 1/3] (no cancellation for
 * small u); the odd series to s^13 leaves a relative error below 1e-7. */
static NG_INLINE float log1p_unit_(float u)
{
    float s = u / (2.0f + u), s2 = s * s;
    float q = 1.0f / 13.0f;
    q = q * s2 + 1.0f / 11.0f;
    q = q * s2 + 1.0f / 9.0f;
    q = q * s2 + 1.0f / 7.0f;
    q = q * s2 + 1.0f / 5.0f;
    q = q * s2 + 1.0f / 3.0f;
    q = q * s2 + 1.0f;
    return 2.0f * s * q;
}

/* log(1 + e^x) = max(x, 0) + log1p(e^-|x|) */
static NG_INLINE float softplusf_(float x)
{
    float r = relu_(x);
    /* -|x| as x - 2 max(x, 0) (exact): gcc turns the bit-pattern version into a float
     * compare inside expf_vec_, which stops the loop from vectorising */
    return r + log1p_unit_(expf_vec_(x - 2.0f * r));
}

/* tanh(x) = sign(x) (1 - e) / (1 + e), e = e^-2|x|: absolute error ~3e-7 */
static NG_INLINE float tanhf_(float x)
{
    float e = expf_vec_(2.0f * neg_abs_(x));
    float t = (1.0f - e) / (1.0f + e);
    return bitsf_(fbits_(t) | (fbits_(x) & 0x80000000u));
}

/* softplus'(s) = sigma(s) from a = softplus(s) >= 0: 1 - e^-a, with the series
 * a - a^2/2 + a^3/6 - a^4/24 below a = 1/64 where the subtraction would cancel. */
static NG_INLINE float softplus_deriv_(float a)
{
    float big = 1.0f - expf_vec_(-a);
    float small = a * (1.0f - a * (0.5f - a * (1.0f / 6.0f - a * (1.0f / 24.0f))));
    int32_t sel = (int32_t)0 - (int32_t)((int32_t)fbits_(a) < 0x3c800000); /* a < 1/64 (a >= 0) */
    return bitsf_((fbits_(small) & (uint32_t)sel) | (fbits_(big) & ~(uint32_t)sel));
}

float ngi_act_scalar(ng_act a, float x)
{
    switch (a) {
    case NG_ACT_LOGISTIC: return sigmoidf_(x);
    case NG_ACT_TANH: return tanhf_(x);
    case NG_ACT_RELU: return relu_(x);
    case NG_ACT_SOFTPLUS: return softplusf_(x);
    case NG_ACT_LINEAR: return x;
    }
    return x;
}

double ngi_sigmoid_d(double x)
{
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double ngi_softplus_d(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

void ngi_act_apply(ng_act a, float *x, size_t m, size_t d, size_t ld)
{
    if (a == NG_ACT_LINEAR) return;
    long mm = (long)m;
#pragma omp parallel for schedule(static) if (m * d >= NG_ACT_PAR_MIN)
    for (long i = 0; i < mm; i++) {
        float *r = x + (size_t)i * ld;
        switch (a) {
        case NG_ACT_LOGISTIC:
            for (size_t j = 0; j < d; j++) r[j] = sigmoidf_(r[j]);
            break;
        case NG_ACT_TANH:
            for (size_t j = 0; j < d; j++) r[j] = tanhf_(r[j]);
            break;
        case NG_ACT_RELU:
            for (size_t j = 0; j < d; j++) r[j] = relu_(r[j]);
            break;
        case NG_ACT_SOFTPLUS:
            for (size_t j = 0; j < d; j++) r[j] = softplusf_(r[j]);
            break;
        case NG_ACT_LINEAR:
            break;
        }
    }
}

void ngi_act_mul_deriv(ng_act act, const float *a, size_t lda, float *x, size_t ldx, size_t m,
                      size_t d)
{
    if (act == NG_ACT_LINEAR) return;
    long mm = (long)m;
#pragma omp parallel for schedule(static) if (m * d >= NG_ACT_PAR_MIN)
    for (long i = 0; i < mm; i++) {
        const float *ar = a + (size_t)i * lda;
        float *xr = x + (size_t)i * ldx;
        switch (act) {
        case NG_ACT_LOGISTIC:
            for (size_t j = 0; j < d; j++) xr[j] *= ar[j] * (1.0f - ar[j]);
            break;
        case NG_ACT_TANH:
            for (size_t j = 0; j < d; j++) xr[j] *= 1.0f - ar[j] * ar[j];
            break;
        case NG_ACT_RELU:
            for (size_t j = 0; j < d; j++) xr[j] = ar[j] > 0.0f ? xr[j] : 0.0f;
            break;
        case NG_ACT_SOFTPLUS:
            for (size_t j = 0; j < d; j++) xr[j] *= softplus_deriv_(ar[j]);
            break;
        case NG_ACT_LINEAR:
            break;
        }
    }
}

double ngi_bernoulli_sqerr_case(const float *z, const float *y, size_t d)
{
    double acc = 0.0;
    for (size_t j0 = 0; j0 < d; j0 += NG_TERM_CHUNK) {
        float t[NG_TERM_CHUNK];
        size_t n = d - j0 < NG_TERM_CHUNK ? d - j0 : NG_TERM_CHUNK;
        for (size_t j = 0; j < n; j++) {
            float r = sigmoidf_(z[j0 + j]) - y[j0 + j];
            t[j] = r * r;
        }
        for (size_t j = 0; j < n; j++) acc += t[j];
    }
    return acc;
}

double ngi_bernoulli_fisher_case(const float *z, const float *a, const float *b, size_t d)
{
    double acc = 0.0;
    for (size_t j0 = 0; j0 < d; j0 += NG_TERM_CHUNK) {
        float t[NG_TERM_CHUNK];
        size_t n = d - j0 < NG_TERM_CHUNK ? d - j0 : NG_TERM_CHUNK;
        for (size_t j = 0; j < n; j++) {
            float p = sigmoidf_(z[j0 + j]);
            t[j] = p * (1.0f - p) * a[j0 + j] * b[j0 + j];
        }
        for (size_t j = 0; j < n; j++) acc += t[j];
    }
    return acc;
}

/* log-sum-exp of a float vector in double */
static double lse_(const float *z, size_t d, double *zmax_out)
{
    double zmax = -INFINITY;
    for (size_t j = 0; j < d; j++)
        if (z[j] > zmax) zmax = z[j];
    double s = 0.0;
    for (size_t j = 0; j < d; j++) s += exp((double)z[j] - zmax);
    if (zmax_out) *zmax_out = zmax;
    return zmax + log(s);
}

double ngi_loss_case(ng_loss l, const float *z, const float *y, size_t d)
{
    double acc = 0.0;
    switch (l) {
    case NG_LOSS_BERNOULLI:
        /* -[y log sigma(z) + (1-y) log(1-sigma(z))] = softplus(z) - y z: the terms in float
         * (vectorised, relative error ~2e-7 each), their sum in double */
        for (size_t j0 = 0; j0 < d; j0 += NG_TERM_CHUNK) {
            float t[NG_TERM_CHUNK];
            size_t n = d - j0 < NG_TERM_CHUNK ? d - j0 : NG_TERM_CHUNK;
            for (size_t j = 0; j < n; j++) t[j] = softplusf_(z[j0 + j]) - y[j0 + j] * z[j0 + j];
            for (size_t j = 0; j < n; j++) acc += t[j];
        }
        break;
    case NG_LOSS_SOFTMAX: {
        double lse = lse_(z, d, NULL);
        for (size_t j = 0; j < d; j++)
            if (y[j] != 0.0f) acc += (double)y[j] * (lse - z[j]);
        break;
    }
    case NG_LOSS_GAUSSIAN:
        for (size_t j = 0; j < d; j++) {
            double r = (double)y[j] - z[j];
            acc += 0.5 * r * r;
        }
        break;
    }
    return acc;
}

void ngi_loss_grad_case(ng_loss l, const float *z, const float *y, size_t d, float *g)
{
    switch (l) {
    case NG_LOSS_BERNOULLI:
        for (size_t j = 0; j < d; j++) g[j] = sigmoidf_(z[j]) - y[j];
        break;
    case NG_LOSS_SOFTMAX: {
        /* exact gradient of sum_j y_j (lse - z_j): p * sum(y) - y (= p - y for one-hot) */
        double zmax, lse = lse_(z, d, &zmax), sy = 0.0;
        for (size_t j = 0; j < d; j++) sy += y[j];
        for (size_t j = 0; j < d; j++) g[j] = (float)(exp((double)z[j] - lse) * sy - y[j]);
        (void)zmax;
        break;
    }
    case NG_LOSS_GAUSSIAN:
        for (size_t j = 0; j < d; j++) g[j] = z[j] - y[j];
        break;
    }
}

void ngi_loss_mean_case(ng_loss l, const float *z, size_t d, float *out)
{
    switch (l) {
    case NG_LOSS_BERNOULLI:
        for (size_t j = 0; j < d; j++) out[j] = sigmoidf_(z[j]);
        break;
    case NG_LOSS_SOFTMAX: {
        double lse = lse_(z, d, NULL);
        for (size_t j = 0; j < d; j++) out[j] = (float)exp((double)z[j] - lse);
        break;
    }
    case NG_LOSS_GAUSSIAN:
        for (size_t j = 0; j < d; j++) out[j] = z[j];
        break;
    }
}
