/* kfac_stats.c - K-FAC's curvature statistics (Martens & Grosse 2015, §2 and appendix):
 * the Kronecker factors A = E[abar abar^T] and G = E[g g^T], with g from a backward pass
 * whose targets are sampled from the model's predictive distribution (the true Fisher),
 * on the first ceil(tau1 m) cases, kept as running averages X = eps X + (1 - eps) Xhat.
 * The block-tridiagonal inverse also needs the cross moments A_{i,i+1} and G_{i,i+1}. */
#include "kfac_internal.h"

#include <cblas.h>

/* Lower triangle of the row-major d x d X from its upper one, in tiles. */
static void mirror_upper(double *X, size_t d)
{
    const size_t TB = 32, nb = (d + TB - 1) / TB;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t bi = 0; bi < nb; bi++)
        for (size_t bj = 0; bj <= bi; bj++)
            for (size_t i = bi * TB; i < d && i < (bi + 1) * TB; i++)
                for (size_t j = bj * TB; j < i && j < (bj + 1) * TB; j++) X[i * d + j] = X[j * d + i];
}

/* Each iteration updates only the upper triangles of A and G (the lower one is read only
 * at a refresh, by the checkpoint and by the tests). */
void ngi_kfac_stats_symmetric(ng_kfac *kf)
{
    for (int i = 0; i < kf->L; i++) {
        mirror_upper(kf->A[i], kf->din[i]);
        mirror_upper(kf->G[i], kf->dout[i]);
    }
}

/* Upper triangle of X = eps X + (1 - eps) Xhat/ms with Xhat = P^T P from ssyrk; the lower
 * one is filled by ngi_kfac_stats_symmetric when needed (mirroring every iteration cost as
 * much as the ssyrk itself). */
static void avg_sym(double *X, const float *P, size_t rows, size_t d, double eps, float *ft)
{
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)rows, 1.0f / (float)rows, P,
                (int)d, 0.0f, ft, (int)d);
    double w = 1.0 - eps;
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < d; i++)
        for (size_t j = i; j < d; j++) X[i * d + j] = eps * X[i * d + j] + w * (double)ft[i * d + j];
}

static void avg_cross(double *X, const float *P, size_t dp, const float *Q, size_t dq,
                      size_t rows, double eps, float *ft)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)dp, (int)dq, (int)rows,
                1.0f / (float)rows, P, (int)dp, Q, (int)dq, 0.0f, ft, (int)dq);
    double w = 1.0 - eps;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < dp * dq; i++) X[i] = eps * X[i] + w * (double)ft[i];
}

void ngi_kfac_update_stats(ng_kfac *kf, long k, size_t ms)
{
    double eps = ngi_kfac_eps(k, kf->p.eps_max);
    int tri = kf->p.curvature == NG_KFAC_TRIDIAG;
    for (int i = 0; i < kf->L; i++) {
        const float *a = ng_net_abar(kf->net, i), *g = ng_net_g(kf->net, i);
        avg_sym(kf->A[i], a, ms, kf->din[i], eps, kf->ft);
        avg_sym(kf->G[i], g, ms, kf->dout[i], eps, kf->ft);
        if (tri && i + 1 < kf->L) {
            avg_cross(kf->Ax[i], a, kf->din[i], ng_net_abar(kf->net, i + 1), kf->din[i + 1], ms,
                      eps, kf->ft);
            avg_cross(kf->Gx[i], g, kf->dout[i], ng_net_g(kf->net, i + 1), kf->dout[i + 1], ms,
                      eps, kf->ft);
        }
    }
}

ng_status ngi_kfac_collect_stats(ng_kfac *kf, long k, size_t m, ng_rng *rng, size_t *ms)
{
    /* the forward pass of the gradient already left abar; the empirical Fisher reuses the
     * gradient's own backward */
    *ms = ngi_kfac_cases(kf->p.tau1, m);
    if (!kf->p.empirical_fisher) {
        ng_status st = ng_net_sample_targets(kf->net, *ms, rng, kf->Yhat);
        if (st) return st;
        st = ng_net_backward(kf->net, kf->Yhat, *ms, NULL);
        if (st) return st;
    }
    ngi_kfac_update_stats(kf, k, *ms);
    return NG_OK;
}

/* internal entry for the tests: fold the current net buffers (first ms rows) into the
 * statistics as iteration k. */
void ngi_kfac_debug_stats(ng_kfac *kf, long k, size_t ms) { ngi_kfac_update_stats(kf, k, ms); }

double *ngi_kfac_debug_factor(ng_kfac *kf, int which, int layer)
{
    ngi_kfac_stats_symmetric(kf);
    switch (which) {
    case 0: return kf->A[layer];
    case 1: return kf->G[layer];
    case 2: return kf->Ax[layer];
    case 3: return kf->Gx[layer];
    default: return kf->pi;
    }
}
