/* dmf_gauss.c - Model 1: dense dynamic Gaussian matrix factorisation,
 * l = 1/2 sum_t ||X_t - U_t^T V_t||^2, the model of the paper's toy experiment (5.1).
 * Slice t stores U_t's columns as rows 0..n_rows-1 and V_t's after them. */
#include "goldstone_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ng_gauss_mf {
    size_t T, nr, nc, d;
    float *X;   /* T x nr x nc */
    float *res; /* nr x nc scratch: the residual of one slice */
};

ng_status ng_gauss_mf_new(size_t T, size_t n_rows, size_t n_cols, size_t d, const float *X,
                          ng_gauss_mf **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_gauss_mf_new: out is NULL");
    *out = NULL;
    if (T == 0 || n_rows == 0 || n_cols == 0 || d == 0)
        return ngi_fail(NG_EINVAL, "ng_gauss_mf_new: T = %zu, rows = %zu, cols = %zu, d = %zu; expected all > 0",
                       T, n_rows, n_cols, d);
    if (n_rows > (1u << 20) || n_cols > (1u << 20) || T > (1u << 20) || d > 4096 ||
        n_rows * n_cols > SIZE_MAX / T / sizeof(float))
        return ngi_fail(NG_EINVAL, "ng_gauss_mf_new: %zu x %zu x %zu (d = %zu) is too large", T, n_rows,
                       n_cols, d);
    if (!X) return ngi_fail(NG_EINVAL, "ng_gauss_mf_new: X is NULL");
    size_t n = T * n_rows * n_cols;
    for (size_t k = 0; k < n; k++)
        if (!isfinite(X[k]))
            return ngi_fail(NG_EINVAL, "ng_gauss_mf_new: X[%zu] (t %zu, row %zu, col %zu) = %g; expected finite data",
                           k, k / (n_rows * n_cols), k / n_cols % n_rows, k % n_cols, (double)X[k]);
    ng_gauss_mf *m = ngi_xcalloc(1, sizeof *m);
    if (!m) return NG_ENOMEM;
    m->T = T;
    m->nr = n_rows;
    m->nc = n_cols;
    m->d = d;
    m->X = ngi_xmalloc(n * sizeof *m->X);
    m->res = ngi_xmalloc(n_rows * n_cols * sizeof *m->res);
    if (!m->X || !m->res) {
        ng_gauss_mf_free(m);
        return NG_ENOMEM;
    }
    memcpy(m->X, X, n * sizeof *m->X);
    *out = m;
    return NG_OK;
}

ng_status ng_gauss_mf_toy(size_t T, size_t n_rows, size_t n_cols, size_t d, double noise_var,
                          uint64_t data_seed, ng_gauss_mf **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_gauss_mf_toy: out is NULL");
    *out = NULL;
    if (!(noise_var >= 0) || !isfinite(noise_var))
        return ngi_fail(NG_EINVAL, "ng_gauss_mf_toy: noise variance %g; expected finite >= 0", noise_var);
    if (T == 0 || n_rows == 0 || n_cols == 0 || d == 0 || n_rows > (1u << 16) || n_cols > (1u << 16) ||
        T > (1u << 16) || d > 4096)
        return ngi_fail(NG_EINVAL, "ng_gauss_mf_toy: T = %zu, rows = %zu, cols = %zu, d = %zu; expected "
                       "positive sizes up to 65536 (d up to 4096)", T, n_rows, n_cols, d);
    size_t nx = n_rows * n_cols;
    float *U = ngi_xmalloc(d * n_rows * sizeof *U), *V = ngi_xmalloc(d * n_cols * sizeof *V);
    float *X = ngi_xmalloc(T * nx * sizeof *X);
    ng_status st = NG_ENOMEM;
    if (U && V && X) {
        ng_rng r;
        ng_rng_seed(&r, data_seed);
        ng_rng_fill_normal(&r, U, d * n_rows, 0.0f, 1.0f);
        ng_rng_fill_normal(&r, V, d * n_cols, 0.0f, 1.0f);
        /* X = Ubar^T Vbar: (n_rows x d) (d x n_cols) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n_rows, (int)n_cols, (int)d, 1.0f, U,
                    (int)n_rows, V, (int)n_cols, 0.0f, X, (int)n_cols);
        double sd = sqrt(noise_var);
        for (size_t k = 0; k < nx; k++) X[k] += (float)(sd * ng_rng_normal(&r));
        for (size_t t = 1; t < T; t++) memcpy(X + t * nx, X, nx * sizeof *X);
        st = ng_gauss_mf_new(T, n_rows, n_cols, d, X, out);
    }
    free(U);
    free(V);
    free(X);
    return st;
}

void ng_gauss_mf_free(ng_gauss_mf *m)
{
    if (!m) return;
    free(m->X);
    free(m->res);
    free(m);
}

size_t ng_gauss_mf_num_vectors(const ng_gauss_mf *m) { return m ? m->nr + m->nc : 0; }
const float *ng_gauss_mf_data(const ng_gauss_mf *m) { return m ? m->X : NULL; }

ng_status ng_gauss_mf_loss(void *user, const float *Z, float *grad, double *ell)
{
    ng_gauss_mf *m = user;
    if (!m || !Z || !ell) return ngi_fail(NG_EINVAL, "ng_gauss_mf_loss: model, Z or ell is NULL");
    size_t nr = m->nr, nc = m->nc, d = m->d, nx = nr * nc, nd = (nr + nc) * d;
    double total = 0.0;
    for (size_t t = 0; t < m->T; t++) {
        const float *U = Z + t * nd, *V = U + nr * d, *X = m->X + t * nx;
        float *R = m->res;
        /* R = U V^T - X: prediction minus data */
        memcpy(R, X, nx * sizeof *R);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)nc, (int)d, 1.0f, U, (int)d,
                    V, (int)d, -1.0f, R, (int)nc);
        double s = 0.0;
        for (size_t k = 0; k < nx; k++) s += (double)R[k] * R[k];
        total += 0.5 * s;
        if (grad) {
            float *GU = grad + t * nd, *GV = GU + nr * d;
            /* dl/dU = R V, dl/dV = R^T U (added) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)d, (int)nc, 1.0f, R,
                        (int)nc, V, (int)d, 1.0f, GU, (int)d);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nc, (int)d, (int)nr, 1.0f, R,
                        (int)nc, U, (int)d, 1.0f, GV, (int)d);
        }
    }
    *ell = total;
    return NG_OK;
}

ng_status ng_gauss_mf_rank_bound(const ng_gauss_mf *m, double *bound)
{
    if (!m || !bound) return ngi_fail(NG_EINVAL, "ng_gauss_mf_rank_bound: model or bound is NULL");
    size_t nr = m->nr, nc = m->nc, nx = nr * nc, k = nr < nc ? nr : nc;
    double *A = ngi_xmalloc(nx * sizeof *A), *U = ngi_xmalloc(nr * k * sizeof *U),
           *s = ngi_xmalloc(k * sizeof *s), *Vt = ngi_xmalloc(k * nc * sizeof *Vt);
    ng_status st = NG_ENOMEM;
    double total = 0.0;
    if (A && U && s && Vt) {
        st = NG_OK;
        for (size_t t = 0; t < m->T && !st; t++) {
            /* identical consecutive slices (the toy) share one SVD */
            if (t > 0 && !memcmp(m->X + t * nx, m->X + (t - 1) * nx, nx * sizeof(float))) {
                double tail = 0.0;
                for (size_t j = m->d; j < k; j++) tail += s[j] * s[j];
                total += 0.5 * tail;
                continue;
            }
            for (size_t j = 0; j < nx; j++) A[j] = m->X[t * nx + j];
            if ((st = ng_dsvd(nr, nc, A, U, s, Vt))) break;
            double tail = 0.0;
            for (size_t j = m->d; j < k; j++) tail += s[j] * s[j];
            total += 0.5 * tail;
        }
    }
    free(A);
    free(U);
    free(s);
    free(Vt);
    if (!st) *bound = total;
    return st;
}

void ng_gauss_mf_init(const ng_gauss_mf *m, ng_rng *rng, double stddev, float *Z)
{
    ng_rng_fill_normal(rng, Z, m->T * (m->nr + m->nc) * m->d, 0.0f, (float)stddev);
}
