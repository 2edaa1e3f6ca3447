/* dwe_filtering.c - filtering variational inference for DWE (DSG-F, spec dwe.md section
 * 2): slices in order; q_t = N(mu_t, s_t^2) factorised (stored as log b = -log s, the
 * one-slice case of the bidiagonal family), with the prior of slice t from q_{t-1}:
 *   b = s_{t-1}^2 + D (tau_t - tau_{t-1}),  mean m = sigma0^2 mu_{t-1} / (sigma0^2 + b),
 *   precision pi = 1/b + 1/sigma0^2          (t = 0: N(0, sigma0^2)).
 * Loss of slice t: -E_q[log p(n_t | .)] + sum KL(q_t || prior_t), per entry
 *   KL = pi/2 ((mu - m)^2 + s^2) - 1/2 log pi - log s - 1/2
 * (the spec's objective plus constants, so that it is 0 at q_t = prior). With one sample
 * x = mu + s eps and g = d(-log p)/dx:
 *   dloss/dmu = g + pi (mu - m),  dloss/dlog b = -g s eps - pi s^2 + 1. */
#include "dwe_internal.h"

#include <math.h>
#include <omp.h>
#include <string.h>

void ngi_dwe_filter_prior(const ng_dwe *m, size_t t, size_t n, size_t k, double *mean,
                          double *prec)
{
    const double s02 = m->p.sigma0 * m->p.sigma0;
    if (t == 0) {
        *mean = 0.0;
        *prec = 1.0 / s02;
        return;
    }
    size_t q = ((t - 1) * m->N + n) * m->d + k;
    double sp = exp(-(double)m->v.logb[q]);
    double b = sp * sp + m->p.D * (m->c->time[t] - m->c->time[t - 1]);
    *mean = s02 * (double)m->v.mu[q] / (s02 + b);
    *prec = 1.0 / b + 1.0 / s02;
}

void ngi_dwe_filter_eval(ng_dwe *m, size_t t, uint64_t base, int grad, int want_value,
                         double alpha_u, double alpha_v, ngi_dwe_parts *parts)
{
    const size_t N = m->N, d = m->d, nI = m->nI, nr = m->nI + m->nJ;
    const size_t xs = nr * d;
    const float *mu = m->v.mu + t * N * d, *logb = m->v.logb + t * N * d;
    const int nt = ngi_dwe_threads(m, nr * d * 8);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long lp = 0; lp < (long)nr; lp++) {
        size_t p = (size_t)lp, n = ngi_dwe_row(m, p);
        float *eps = m->XT + p * d, *x = m->X + p * d;
        ngi_dwe_row_noise(base, n, 1, d, eps, xs);
        for (size_t k = 0; k < d; k++)
            x[k] = (float)((double)mu[n * d + k] + exp(-(double)logb[n * d + k]) * (double)eps[k]);
    }
    const ngi_dwe_block b = ngi_dwe_cur_block(m);
    parts->loglik = ngi_dwe_lik_slices(m, &b, t, t + 1, NULL, m->X, m->X + nI * d, xs,
                                       grad ? m->G : NULL, grad ? m->G + nI * d : NULL, alpha_u,
                                       alpha_v, 0, want_value);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long lp = 0; lp < (long)nr; lp++) {
        size_t p = (size_t)lp, n = ngi_dwe_row(m, p);
        float *eps = m->XT + p * d, *g = m->G + p * d;
        double kl = 0.0;
        for (size_t k = 0; k < d; k++) {
            double mean, prec;
            ngi_dwe_filter_prior(m, t, n, k, &mean, &prec);
            double mv = mu[n * d + k], lb = logb[n * d + k], s = exp(-lb), dm = mv - mean;
            kl += 0.5 * prec * (dm * dm + s * s) - 0.5 * log(prec) + lb - 0.5;
            if (grad) {
                double gx = g[k];
                eps[k] = (float)(-gx * s * (double)eps[k] - prec * s * s + 1.0);
                g[k] = (float)(gx + prec * dm);
            }
        }
        m->row_val[2 * p] = -kl;
        m->row_val[2 * p + 1] = 0.0;
    }
    parts->row_u[0] = parts->row_u[1] = parts->row_v[0] = parts->row_v[1] = 0.0;
    for (size_t p = 0; p < nr; p++) (p < nI ? parts->row_u : parts->row_v)[0] += m->row_val[2 * p];
}

ng_status ng_dwe_filter_begin(ng_dwe *m, size_t t)
{
    if (!m) return ngi_fail(NG_EINVAL, "ng_dwe_filter_begin: model is NULL");
    if (m->p.method != NG_DWE_FILTERING)
        return ngi_fail(NG_EINVAL, "ng_dwe_filter_begin: the model's method is %s, not filtering",
                        ng_dwe_method_name(m->p.method));
    if (t >= m->T) return ngi_fail(NG_EINVAL, "ng_dwe_filter_begin: slice %zu of %zu", t, m->T);
    const size_t N = m->N, d = m->d, off = t * N * d;
    const int nt = ngi_dwe_threads(m, N * d * 8);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long ln = 0; ln < (long)N; ln++) {
        size_t n = (size_t)ln;
        for (size_t k = 0; k < d; k++) {
            double mean, prec;
            ngi_dwe_filter_prior(m, t, n, k, &mean, &prec);
            m->v.mu[off + n * d + k] = (float)mean;
            m->v.logb[off + n * d + k] = (float)(0.5 * log(prec));
        }
    }
    for (int j = 0; j < m->nopt; j++) {
        memset(m->v.opt_mu[j] + off, 0, N * d * sizeof(float));
        memset(m->v.opt_logb[j] + off, 0, N * d * sizeof(float));
    }
    memset(m->v.row_steps, 0, N * sizeof *m->v.row_steps);
    m->v.counters[1] = (int64_t)t;
    m->v.counters[2] = 0;
    return NG_OK;
}
