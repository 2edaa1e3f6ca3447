/* dwe_prior.c - the diffusion prior of dynamic word embeddings (spec dwe.md section 1):
 * per (word, dimension, u or v) trajectory x in R^T, N(0, Pi^-1) with the tridiagonal
 * precision Pi = diag(local) + L_c, L_c the chain Laplacian with couplings c_t =
 * 1/(D (tau_{t+1} - tau_t)) (the discretised Ornstein-Uhlenbeck process).
 *   product form: local_t = 1/sigma0^2 (the N(0, sigma0^2) factor at every slice);
 *   conditional:  local_t = 1/sigma0^2 - 1/(sigma0^2 + 1/c_t) for t < T-1, i.e. every
 *                 conditional p(x_{t+1} | x_t) normalised on its own.
 * Only the L_c part couples the slices and breaks the rotation symmetry (Goldstone-GD's
 * psi with lambda -> c_t); local is rotation invariant. */
#include "dwe_internal.h"

#include <math.h>

ng_status ngi_dwe_prior_build(size_t T, const double *tau, double D, double sigma0,
                              ng_dwe_prior kind, double *diag, double *off, double *local,
                              double *c)
{
    if (!(D > 0) || !isfinite(D)) return ngi_fail(NG_EINVAL, "dwe prior: D = %g; expected finite and > 0", D);
    if (!(sigma0 > 0) || !isfinite(sigma0))
        return ngi_fail(NG_EINVAL, "dwe prior: sigma0 = %g; expected finite and > 0", sigma0);
    if (kind != NG_DWE_PRIOR_PRODUCT && kind != NG_DWE_PRIOR_CONDITIONAL)
        return ngi_fail(NG_EINVAL, "dwe prior: kind = %d; expected product or conditional", (int)kind);
    const double s2 = sigma0 * sigma0;
    for (size_t t = 0; t + 1 < T; t++) {
        double dt = tau[t + 1] - tau[t];
        if (!(dt > 0) || !isfinite(dt))
            return ngi_fail(NG_EINVAL, "dwe prior: times must increase: tau[%zu] = %g, tau[%zu] = %g", t,
                            tau[t], t + 1, tau[t + 1]);
        c[t] = 1.0 / (D * dt);
        if (!isfinite(c[t])) return ngi_fail(NG_EINVAL, "dwe prior: coupling 1/(D dtau) overflows at slice %zu", t);
    }
    for (size_t t = 0; t < T; t++) {
        local[t] = 1.0 / s2;
        if (kind == NG_DWE_PRIOR_CONDITIONAL && t + 1 < T) local[t] -= 1.0 / (s2 + 1.0 / c[t]);
        diag[t] = local[t] + (t > 0 ? c[t - 1] : 0.0) + (t + 1 < T ? c[t] : 0.0);
        if (t + 1 < T) off[t] = -c[t];
    }
    return NG_OK;
}

ng_status ngi_dwe_prior_chol(size_t T, const double *diag, const double *off, double *b0,
                             double *e0, double *logdet)
{
    double ld = 0.0;
    for (size_t t = 0; t < T; t++) {
        double piv = diag[t] - (t > 0 ? e0[t - 1] * e0[t - 1] : 0.0);
        if (!(piv > 0) || !isfinite(piv))
            return ngi_fail(NG_ENUMERIC, "dwe prior: precision not positive definite (pivot %g at slice %zu)",
                            piv, t);
        b0[t] = sqrt(piv);
        if (t + 1 < T) e0[t] = off[t] / b0[t];
        ld += 2.0 * log(b0[t]);
    }
    *logdet = ld;
    return NG_OK;
}

double ngi_dwe_prior_row(size_t T, size_t d, const double *diag, const double *off,
                         const float *x, size_t xs, float *g, size_t gs)
{
    double v = 0.0;
    for (size_t t = 0; t < T; t++) {
        const float *xt = x + t * xs;
        const float *xp = t > 0 ? x + (t - 1) * xs : NULL, *xn = t + 1 < T ? x + (t + 1) * xs : NULL;
        float *gt = g ? g + t * gs : NULL;
        for (size_t k = 0; k < d; k++) {
            double xv = xt[k];
            double px = diag[t] * xv;
            if (xp) px += off[t - 1] * (double)xp[k];
            if (xn) px += off[t] * (double)xn[k];
            v += xv * px; /* x^T Pi x = sum_t x_t (Pi x)_t */
            if (gt) gt[k] += (float)px;
        }
    }
    return 0.5 * v;
}

double ngi_dwe_prior_lognorm(size_t T, double logdet)
{
    return 0.5 * logdet - 0.5 * (double)T * log(2.0 * M_PI);
}
