/* dwe_bidiag.c - the variational family of smoothing DWE (spec dwe.md section 2): per
 * (word, dimension, u or v) trajectory x in R^T, q = N(mu, (B^T B)^-1) with B upper
 * bidiagonal (diagonal b_t > 0, stored as log b_t; superdiagonal e_t = b_t tanh theta_t,
 * stored as theta_t, so |e_t| < b_t: see dwe_internal.h). B is the Cholesky
 * factor of q's precision, so every operation is an O(T) recursion:
 *   sample   x = mu + B^-1 eps                (back substitution)
 *   entropy  H = -sum log b_t + T (1 + log 2pi)/2
 *   gradient y = B^-T g                        (forward substitution), then
 *            d/db_t = -y_t x~_t, d/de_t = -y_t x~_{t+1}  (from dx~ = -B^-1 dB x~),
 *            then through e_t = b_t tanh theta_t to log b_t and theta_t
 * The d trajectories of a row are processed together (k innermost: contiguous floats);
 * recursions run in double. */
#include "dwe_internal.h"

#include <math.h>

/* tanh x through one exp (libm's tanh costs about five of them): tanh |x| = (1 - u) / (1 + u)
 * with u = e^-2|x|; the absolute error stays near 1e-16. */
static inline double tanh_e(double x)
{
    const double u = exp(-2.0 * fabs(x));
    return copysign((1.0 - u) / (1.0 + u), x);
}

void ngi_dwe_bidiag_sample(size_t T, size_t d, const float *logb, const float *th, size_t ps,
                           float *xt, size_t xs, double *y)
{
    for (size_t t = T; t-- > 0;) {
        const float *lb = logb + t * ps;
        float *x = xt + t * xs;
        if (t + 1 == T) {
            for (size_t k = 0; k < d; k++) y[k] = (double)x[k] / exp((double)lb[k]);
        } else {
            const float *tt = th + t * ps;
            for (size_t k = 0; k < d; k++) y[k] = (double)x[k] / exp((double)lb[k]) - tanh_e((double)tt[k]) * y[k];
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

double ngi_dwe_theta_of(double e, double b)
{
    const double r = e / b, lim = 1.0 - 1e-6; /* atanh(lim) = 7.25: far inside float's range */
    return atanh(r > lim ? lim : r < -lim ? -lim : r);
}

/* One forward step of y = B^-T g at slice t (y holds y_{t-1} on entry). */
static inline void solve_t_step(size_t t, size_t d, const float *logb, const float *th, size_t ps,
                                const float *g, double *y)
{
    const float *lb = logb + t * ps;
    if (t == 0) {
        for (size_t k = 0; k < d; k++) y[k] = (double)g[k] / exp((double)lb[k]);
    } else {
        const float *tp = th + (t - 1) * ps, *lp = logb + (t - 1) * ps;
        for (size_t k = 0; k < d; k++) {
            const double ep = exp((double)lp[k]) * tanh_e((double)tp[k]);
            y[k] = ((double)g[k] - ep * y[k]) / exp((double)lb[k]);
        }
    }
}

void ngi_dwe_bidiag_solve_t(size_t T, size_t d, const float *logb, const float *th, size_t ps,
                            const float *g, size_t gs, float *yo, size_t ys, double *y)
{
    for (size_t t = 0; t < T; t++) {
        solve_t_step(t, d, logb, th, ps, g + t * gs, y);
        for (size_t k = 0; k < d; k++) yo[t * ys + k] = (float)y[k];
    }
}

void ngi_dwe_bidiag_grad(size_t T, size_t d, const float *logb, const float *th, size_t ps,
                         const float *xt, const float *g, size_t xs, float *glogb, float *gth,
                         size_t gs, double *y)
{
    /* b_t and tanh th_t once per entry: bp, tp hold slice t-1's, bc slice t's */
    double *bp = y + d, *tp = y + 2 * d, *bc = y + 3 * d;
    for (size_t t = 0; t < T; t++) {
        const float *x = xt + t * xs, *gt_in = g + t * xs, *lb = logb + t * ps;
        for (size_t k = 0; k < d; k++) bc[k] = exp((double)lb[k]);
        if (t > 0) { /* y still holds y_{t-1}; glogb_{t-1} is written, x~_{t-1} no longer read */
            float *gt = gth + (t - 1) * gs, *gl = glogb + (t - 1) * gs;
            for (size_t k = 0; k < d; k++) {
                const double ge = -y[k] * (double)x[k];
                gt[k] = (float)(ge * bp[k] * (1.0 - tp[k] * tp[k]));
                gl[k] = (float)((double)gl[k] + ge * bp[k] * tp[k]);
            }
            /* y_t = (g_t - e_{t-1} y_{t-1}) / b_t */
            for (size_t k = 0; k < d; k++) y[k] = ((double)gt_in[k] - bp[k] * tp[k] * y[k]) / bc[k];
        } else {
            for (size_t k = 0; k < d; k++) y[k] = (double)gt_in[k] / bc[k];
        }
        float *gl = glogb + t * gs;
        for (size_t k = 0; k < d; k++) gl[k] = (float)(-bc[k] * y[k] * (double)x[k] + 1.0);
        if (t + 1 < T) {
            const float *tt = th + t * ps;
            for (size_t k = 0; k < d; k++) tp[k] = tanh_e((double)tt[k]);
            double *sw = bp;
            bp = bc;
            bc = sw;
        }
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
    for (size_t t = 0; t < T; t++) ngi_normal_fill_f(&r, eps + t * xs, d);
}
