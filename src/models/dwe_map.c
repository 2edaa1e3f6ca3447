/* dwe_map.c - the MAP baseline of DWE (spec dwe.md section 2): the means only,
 * minimising -log p(n | mu) - log p(mu). On a minibatch (lazy optimiser) and, for
 * Goldstone-GD, as a full-batch ng_local_loss_fn whose local part excludes the chain
 * coupling psi that ng_goldstone adds from ng_dwe_graph. */
#include "dwe_internal.h"

#include <math.h>
#include <omp.h>

void ngi_dwe_map_eval(ng_dwe *m, int grad, int want_value, double alpha_u, double alpha_v,
                      ngi_dwe_parts *parts)
{
    const size_t T = m->T, N = m->N, d = m->d, nI = m->nI, nr = m->nI + m->nJ;
    const size_t xs = nr * d;
    const double lognorm = ngi_dwe_prior_lognorm(T, m->logdet);
    const int nt = ngi_dwe_threads(m, T * nr * d);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long lp = 0; lp < (long)nr; lp++) {
        size_t p = (size_t)lp, n = ngi_dwe_row(m, p);
        for (size_t t = 0; t < T; t++) {
            const float *mt = m->v.mu + (t * N + n) * d;
            float *x = m->X + t * xs + p * d;
            for (size_t k = 0; k < d; k++) x[k] = mt[k];
        }
    }
    const ngi_dwe_block b = ngi_dwe_cur_block(m);
    parts->loglik = ngi_dwe_lik_slices(m, &b, 0, T, NULL, m->X, m->X + nI * d, xs,
                                       grad ? m->G : NULL, grad ? m->G + nI * d : NULL, alpha_u,
                                       alpha_v, 0, want_value);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long lp = 0; lp < (long)nr; lp++) {
        size_t p = (size_t)lp;
        double q = ngi_dwe_prior_row(T, d, m->pdiag, m->poff, m->X + p * d, xs,
                                     grad ? m->G + p * d : NULL, xs);
        m->row_val[2 * p] = -q + (double)d * lognorm;
        m->row_val[2 * p + 1] = 0.0;
    }
    parts->row_u[0] = parts->row_u[1] = parts->row_v[0] = parts->row_v[1] = 0.0;
    for (size_t p = 0; p < nr; p++) (p < nI ? parts->row_u : parts->row_v)[0] += m->row_val[2 * p];
}

ng_status ng_dwe_map_loss(void *user, const float *Z, float *grad, double *ell)
{
    ng_dwe *m = user;
    if (!m || !Z || !ell) return ngi_fail(NG_EINVAL, "ng_dwe_map_loss: NULL argument");
    const size_t T = m->T, N = m->N, W = m->W, d = m->d, sl = N * d;
    const ngi_dwe_block b = ngi_dwe_full_block(m);
    double ll = ngi_dwe_lik_slices(m, &b, 0, T, NULL, Z, Z + W * d, sl, grad,
                                   grad ? grad + W * d : NULL, 1.0, 1.0, 1, 1);
    /* the rotation-invariant part of the prior, sum_t local_t/2 ||Z_t||^2, per slice */
    const int nt = ngi_dwe_threads(m, T * sl);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long lt = 0; lt < (long)T; lt++) {
        size_t t = (size_t)lt;
        const float *z = Z + t * sl;
        const double a = m->plocal[t];
        double s = 0.0;
        for (size_t k = 0; k < sl; k++) s += (double)z[k] * z[k];
        if (grad)
            for (size_t k = 0; k < sl; k++) grad[t * sl + k] += (float)(a * z[k]);
        m->slice_val[t] = 0.5 * a * s;
    }
    double q = 0.0;
    for (size_t t = 0; t < T; t++) q += m->slice_val[t];
    double v = -ll + q - (double)N * (double)d * ngi_dwe_prior_lognorm(T, m->logdet);
    *ell = v;
    if (!isfinite(v)) return ngi_fail(NG_ENUMERIC, "dwe: MAP loss is %g (diverged)", v);
    return NG_OK;
}
