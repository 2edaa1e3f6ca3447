/* net_act.c - activations and output losses of the feed-forward networks: elementwise
 * float kernels (OpenMP over rows) and the stable per-case loss pieces in double. */
#include "net_internal.h"

#include <math.h>

/* Parallelise elementwise loops only when there is enough work to pay for the team. */
#define NG_ACT_PAR_MIN 32768

static inline float sigmoidf_(float x)
{
    /* exp of a non-positive argument only: no overflow in either branch */
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static inline float softplusf_(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }

double ng_sigmoid_d(double x)
{
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double ng_softplus_d(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

void ng_act_apply(ng_act a, float *x, size_t m, size_t d, size_t ld)
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
            for (size_t j = 0; j < d; j++) r[j] = tanhf(r[j]);
            break;
        case NG_ACT_RELU:
            for (size_t j = 0; j < d; j++) r[j] = r[j] > 0.0f ? r[j] : 0.0f;
            break;
        case NG_ACT_SOFTPLUS:
            for (size_t j = 0; j < d; j++) r[j] = softplusf_(r[j]);
            break;
        case NG_ACT_LINEAR:
            break;
        }
    }
}

void ng_act_mul_deriv(ng_act act, const float *a, size_t lda, float *x, size_t ldx, size_t m,
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
            /* sigma(s) = 1 - exp(-softplus(s)); expm1 keeps it accurate for small a */
            for (size_t j = 0; j < d; j++) xr[j] *= -expm1f(-ar[j]);
            break;
        case NG_ACT_LINEAR:
            break;
        }
    }
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

double ng_loss_case(ng_loss l, const float *z, const float *y, size_t d)
{
    double acc = 0.0;
    switch (l) {
    case NG_LOSS_BERNOULLI:
        /* -[y log sigma(z) + (1-y) log(1-sigma(z))] = softplus(z) - y z */
        for (size_t j = 0; j < d; j++) acc += ng_softplus_d(z[j]) - (double)y[j] * z[j];
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

void ng_loss_grad_case(ng_loss l, const float *z, const float *y, size_t d, float *g)
{
    switch (l) {
    case NG_LOSS_BERNOULLI:
        for (size_t j = 0; j < d; j++) g[j] = (float)(ng_sigmoid_d(z[j]) - y[j]);
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

void ng_loss_mean_case(ng_loss l, const float *z, size_t d, float *out)
{
    switch (l) {
    case NG_LOSS_BERNOULLI:
        for (size_t j = 0; j < d; j++) out[j] = (float)ng_sigmoid_d(z[j]);
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
