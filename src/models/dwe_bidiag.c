/* dwe_bidiag.c - the variational family of smoothing DWE (spec dwe.md section 2): per
 * (word, dimension, u or v) trajectory x in R^T, q = N(mu, (B^T B)^-1) with B upper
 * bidiagonal (diagonal b_t > 0, stored as log b_t; superdiagonal e_t). B is the Cholesky
 * factor of q's precision, so every operation is an O(T) recursion:
 *   sample   x = mu + B^-1 eps                (back substitution)
 *   entropy  H = -sum log b_t + T (1 + log 2pi)/2
 *   gradient y = B^-T g                        (forward substitution), then
 *            d/db_t = -y_t x~_t, d/de_t = -y_t x~_{t+1}  (from dx~ = -B^-1 dB x~)
 * The d trajectories of a row are processed together (k innermost: contiguous floats);
 * recursions run in double. */
#include "dwe_internal.h"

#include <math.h>

void ngi_dwe_bidiag_sample(size_t T, size_t d, const float *logb, const float *e, size_t ps,
                           float *xt, size_t xs, double *y)
{
    for (size_t t = T; t-- > 0;) {
        const float *lb = logb + t * ps;
        float *x = xt + t * xs;
        if (t + 1 == T) {
            for (size_t k = 0; k < d; k++) y[k] = (double)x[k] / exp((double)lb[k]);
        } else {
            const float *et = e + t * ps;
            for (size_t k = 0; k < d; k++) y[k] = ((double)x[k] - (double)et[k] * y[k]) / exp((double)lb[k]);
        }
        for (size_t k = 0; k < d; k++) x[k] = (float)y[k];
    }
}

double ngi_dwe_bidiag_logdet(size_t T, size_t d, const float *logb, size_t ps)
{
    double s = 0.0;
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < d; k++) s += logb[t * ps + k];
    return s;
}

/* One forward step of y = B^-T g at slice t (y holds y_{t-1} on entry). */
static inline void solve_t_step(size_t t, size_t d, const float *logb, const float *e, size_t ps,
                                const float *g, double *y)
{
    const float *lb = logb + t * ps;
    if (t == 0) {
        for (size_t k = 0; k < d; k++) y[k] = (double)g[k] / exp((double)lb[k]);
    } else {
        const float *ep = e + (t - 1) * ps;
        for (size_t k = 0; k < d; k++) y[k] = ((double)g[k] - (double)ep[k] * y[k]) / exp((double)lb[k]);
    }
}

void ngi_dwe_bidiag_solve_t(size_t T, size_t d, const float *logb, const float *e, size_t ps,
                            const float *g, size_t gs, float *yo, size_t ys, double *y)
{
    for (size_t t = 0; t < T; t++) {
        solve_t_step(t, d, logb, e, ps, g + t * gs, y);
        for (size_t k = 0; k < d; k++) yo[t * ys + k] = (float)y[k];
    }
}

void ngi_dwe_bidiag_grad(size_t T, size_t d, const float *logb, const float *e, size_t ps,
                         const float *xt, const float *g, size_t xs, float *glogb, float *ge,
                         size_t gs, double *y)
{
    for (size_t t = 0; t < T; t++) {
        const float *x = xt + t * xs;
        if (t > 0) { /* y still holds y_{t-1} */
            float *get = ge + (t - 1) * gs;
            for (size_t k = 0; k < d; k++) get[k] = (float)(-y[k] * (double)x[k]);
        }
        solve_t_step(t, d, logb, e, ps, g + t * xs, y);
        const float *lb = logb + t * ps;
        float *gl = glogb + t * gs;
        for (size_t k = 0; k < d; k++) gl[k] = (float)(-exp((double)lb[k]) * y[k] * (double)x[k] + 1.0);
    }
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ngi_dwe_row_noise(uint64_t base, size_t n, size_t T, size_t d, float *eps, size_t xs)
{
    ng_rng r;
    ng_rng_seed(&r, mix64(base ^ mix64((uint64_t)n)));
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < d; k++) eps[t * xs + k] = (float)ng_rng_normal(&r);
}
