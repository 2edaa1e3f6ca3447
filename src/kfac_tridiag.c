/* kfac_tridiag.c - the dense pieces of K-FAC's inverses (Martens & Grosse 2015, §3-4):
 * symmetric eigendecompositions with preallocated LAPACK work, matrix functions of the
 * Kronecker factors, (A (x) B - C (x) D)^-1 through two generalised eigenproblems, and the
 * block-tridiagonal inverse F^-1 = Xi^T Lambda Xi. All double; never forms a Kronecker
 * product: (A (x) B) vec(X) = vec(B X A^T). */
#include "internal.h"
#include "kfac_internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

size_t ng_kfac_eig_lwork(size_t n) { return 1 + 6 * n + 2 * n * n; }
size_t ng_kfac_eig_liwork(size_t n) { return 3 + 5 * n; }

void ng_kfac_symmetrise(size_t n, double *A)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double v = 0.5 * (A[i * n + j] + A[j * n + i]);
            A[i * n + j] = v;
            A[j * n + i] = v;
        }
}

ng_status ng_kfac_eig(size_t n, const double *A, double *Q, double *w, double *work, int *iwork)
{
    if (n == 0) return NG_OK;
    if (Q != A) memcpy(Q, A, n * n * sizeof *Q);
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(Q[i])) return ng_fail(NG_ENUMERIC, "kfac_tridiag.c: non-finite entry in a %zu x %zu curvature factor", n, n);
    /* Symmetric input: the column-major call sees the same matrix; its column-major
     * eigenvectors come back as rows here, so transpose afterwards. */
    lapack_int info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)n, Q,
                                          (lapack_int)n, w, work,
                                          (lapack_int)ng_kfac_eig_lwork(n), iwork,
                                          (lapack_int)ng_kfac_eig_liwork(n));
    if (info != 0)
        return ng_fail(NG_ENUMERIC, "kfac_tridiag.c: dsyevd failed on a %zu x %zu factor (info %d)", n, n, (int)info);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double t = Q[i * n + j];
            Q[i * n + j] = Q[j * n + i];
            Q[j * n + i] = t;
        }
    return NG_OK;
}

ng_status ng_kfac_spd_shift_inverse(size_t n, const double *S, double shift, double *out)
{
    if (n == 0) return NG_OK;
    for (size_t i = 0; i < n * n; i++) out[i] = S[i];
    for (size_t i = 0; i < n; i++) out[i * n + i] += shift;
    /* The column-major 'U' triangle of a row-major symmetric matrix is its row-major lower
     * triangle; LAPACKE's column-major calls work in place without a transposed copy. */
    lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, out, (lapack_int)n);
    if (info > 0)
        return ng_fail(NG_ENUMERIC, "kfac_tridiag.c: %zu x %zu damped factor is not positive definite (pivot %d)", n, n, (int)info);
    if (info == 0) info = LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, out, (lapack_int)n);
    if (info != 0)
        return ng_fail(NG_ENUMERIC, "kfac_tridiag.c: Cholesky inverse of a %zu x %zu factor failed (info %d)", n, n, (int)info);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) out[i * n + j] = out[j * n + i];
    return NG_OK;
}

void ng_kfac_sym_fn(size_t n, const double *Q, const double *w, double shift, double power,
                    double *out, double *tmp)
{
    if (n == 0) return;
    for (size_t j = 0; j < n; j++) {
        double x = (w[j] > 0.0 ? w[j] : 0.0) + shift;
        double f = power == -1.0 ? 1.0 / x : power == -0.5 ? 1.0 / sqrt(x) : pow(x, power);
        for (size_t i = 0; i < n; i++) tmp[i * n + j] = Q[i * n + j] * f;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)n, 1.0, tmp,
                (int)n, Q, (int)n, 0.0, out, (int)n);
    ng_kfac_symmetrise(n, out);
}

ng_status ng_kfac_kron_sub_factor(size_t n, const double *Ais, const double *C, double *K,
                                  double *s, double *tmp, double *work, int *iwork)
{
    /* K <- Ais C Ais (symmetrised), eigendecompose in place, then K <- Ais E. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, Ais,
                (int)n, C, (int)n, 0.0, tmp, (int)n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, tmp,
                (int)n, Ais, (int)n, 0.0, K, (int)n);
    ng_kfac_symmetrise(n, K);
    ng_status st = ng_kfac_eig(n, K, K, s, work, iwork);
    if (st) return st;
    for (size_t i = 0; i < n; i++) s[i] = s[i] < 0.0 ? 0.0 : s[i] > 1.0 ? 1.0 : s[i];
    memcpy(tmp, K, n * n * sizeof *tmp);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, Ais,
                (int)n, tmp, (int)n, 0.0, K, (int)n);
    return NG_OK;
}

void ng_kfac_kron_sub_apply(size_t n2, size_t n1, const double *K2, const double *s2,
                            const double *K1, const double *s1, const double *V, double *X,
                            double *tmp)
{
    /* tmp = K2^T V ; X = tmp K1 ; X ./= (1 - s2 s1^T) ; tmp = K2 X ; X = tmp K1^T */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n2, (int)n1, (int)n2, 1.0, K2,
                (int)n2, V, (int)n1, 0.0, tmp, (int)n1);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n2, (int)n1, (int)n1, 1.0, tmp,
                (int)n1, K1, (int)n1, 0.0, X, (int)n1);
    for (size_t i = 0; i < n2; i++)
        for (size_t j = 0; j < n1; j++) {
            double d = 1.0 - s2[i] * s1[j];
            X[i * n1 + j] /= d > 1e-12 ? d : 1e-12; /* s <= 1 is clamped; keep it finite */
        }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n2, (int)n1, (int)n2, 1.0, K2,
                (int)n2, X, (int)n1, 0.0, tmp, (int)n1);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n2, (int)n1, (int)n1, 1.0, tmp,
                (int)n1, K1, (int)n1, 0.0, X, (int)n1);
}

void ng_kfac_tridiag_apply(const ng_kfac_tridiag_view *t, const double *V, double *out,
                           double *tmp1, double *tmp2)
{
    int L = t->L;
    /* Xi: U_k = V_k - PsiG_k V_{k+1} PsiA_k^T, U_{L-1} = V_{L-1}  (into out) */
    for (int k = 0; k < L; k++) {
        size_t m = t->dout[k], n = t->din[k];
        double *U = out + t->off[k];
        memcpy(U, V + t->off[k], m * n * sizeof *U);
        if (k < L - 1) {
            size_t m2 = t->dout[k + 1], n2 = t->din[k + 1];
            /* tmp1 (m x n2) = PsiG_k (m x m2) V_{k+1} (m2 x n2) */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n2, (int)m2, 1.0,
                        t->PsiG[k], (int)m2, V + t->off[k + 1], (int)n2, 0.0, tmp1, (int)n2);
            /* U -= tmp1 (m x n2) PsiA_k^T (n2 x n) */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)n2, -1.0,
                        tmp1, (int)n2, t->PsiA[k], (int)n2, 1.0, U, (int)n);
        }
    }
    /* Lambda: W_k = Sigma_{k|k+1}^-1 U_k, W_{L-1} = Ginv U Ainv */
    for (int k = 0; k < L; k++) {
        size_t m = t->dout[k], n = t->din[k];
        double *U = out + t->off[k];
        if (k < L - 1) {
            ng_kfac_kron_sub_apply(m, n, t->K2[k], t->s2[k], t->K1[k], t->s1[k], U, U, tmp1);
        } else {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)m, 1.0,
                        t->Ginv_last, (int)m, U, (int)n, 0.0, tmp1, (int)n);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)n, 1.0,
                        tmp1, (int)n, t->Ainv_last, (int)n, 0.0, U, (int)n);
        }
    }
    /* Xi^T: X_k = W_k - PsiG_{k-1}^T W_{k-1} PsiA_{k-1}, top-down from the last layer so
     * W_{k-1} is still unmodified when X_k needs it. */
    for (int k = L - 1; k >= 1; k--) {
        size_t m = t->dout[k], n = t->din[k];
        size_t mp = t->dout[k - 1], np = t->din[k - 1];
        /* tmp2 (m x np) = PsiG_{k-1}^T (m x mp) W_{k-1} (mp x np) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)np, (int)mp, 1.0,
                    t->PsiG[k - 1], (int)m, out + t->off[k - 1], (int)np, 0.0, tmp2, (int)np);
        /* X_k -= tmp2 (m x np) PsiA_{k-1} (np x n) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)np, -1.0,
                    tmp2, (int)np, t->PsiA[k - 1], (int)n, 1.0, out + t->off[k], (int)n);
    }
}
