/* dwe_smoothing.c - smoothing variational inference for DWE (DSG-S, spec dwe.md section
 * 2): the negative ELBO
 *   -E_q[log p(n | U, V)] - E_q[log p(U, V)] - H[q]
 * estimated with one sample x = mu + B^-1 eps per drawn row, and its gradients for the
 * drawn rows: dloss/dmu = g, the loss gradient at the sample (likelihood + Pi x), and the
 * bidiagonal family's log b and theta gradients from y = B^-T g (dwe_bidiag.c). */
#include "dwe_internal.h"

#include <math.h>
#include <omp.h>

void ngi_dwe_smoothing_eval(ng_dwe *m, uint64_t base, int grad, int want_value,
                            double alpha_u, double alpha_v, ngi_dwe_parts *parts)
{
    const size_t T = m->T, N = m->N, d = m->d, nI = m->nI, nr = m->nI + m->nJ;
    const size_t xs = nr * d; /* compact slice stride */
    const float *mu = m->v.mu, *logb = m->v.logb, *th = m->v.th;
    const double lognorm = ngi_dwe_prior_lognorm(T, m->logdet);
    const double hconst = 0.5 * (double)T * (1.0 + log(2.0 * M_PI));
    const int nt = ngi_dwe_threads(m, T * nr * d);
    /* the sample: x~ = B^-1 eps into XT, x = mu + x~ into X */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long lp = 0; lp < (long)nr; lp++) {
        size_t p = (size_t)lp, n = ngi_dwe_row(m, p);
        double *y = m->ybuf + (size_t)omp_get_thread_num() * 4 * d;
        float *xt = m->XT + p * d, *x = m->X + p * d;
        ngi_dwe_row_noise(base, n, T, d, xt, xs);
        ngi_dwe_bidiag_sample(T, d, logb + n * d, th ? th + n * d : NULL, N * d, xt, xs, y);
        for (size_t t = 0; t < T; t++) {
            const float *mt = mu + (t * N + n) * d;
            for (size_t k = 0; k < d; k++) x[t * xs + k] = mt[k] + xt[t * xs + k];
        }
    }
    const ngi_dwe_block b = ngi_dwe_cur_block(m);
    parts->loglik = ngi_dwe_lik_slices(m, &b, 0, T, NULL, m->X, m->X + nI * d, xs,
                                       grad ? m->G : NULL, grad ? m->G + nI * d : NULL, alpha_u,
                                       alpha_v, 0, want_value);
    /* per row: the prior (its gradient Pi x joins g), the entropy, then log b and theta */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long lp = 0; lp < (long)nr; lp++) {
        size_t p = (size_t)lp, n = ngi_dwe_row(m, p);
        double *y = m->ybuf + (size_t)omp_get_thread_num() * 4 * d;
        double q = ngi_dwe_prior_row(T, d, m->pdiag, m->poff, m->X + p * d, xs,
                                     grad ? m->G + p * d : NULL, xs);
        m->row_val[2 * p] = -q + (double)d * lognorm;
        m->row_val[2 * p + 1] = -ngi_dwe_bidiag_logdet(T, d, logb + n * d, N * d) + (double)d * hconst;
        if (grad)
            ngi_dwe_bidiag_grad(T, d, logb + n * d, th ? th + n * d : NULL, N * d, m->XT + p * d,
                                m->G + p * d, xs, m->XT + p * d, th ? m->GTH + p * d : NULL, xs, y);
    }
    parts->row_u[0] = parts->row_u[1] = parts->row_v[0] = parts->row_v[1] = 0.0;
    for (size_t p = 0; p < nr; p++) {
        double *r = p < nI ? parts->row_u : parts->row_v;
        r[0] += m->row_val[2 * p];
        r[1] += m->row_val[2 * p + 1];
    }
}
