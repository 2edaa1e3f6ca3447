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

size_t ngi_kfac_eig_lwork(size_t n) { return 1 + 6 * n + 2 * n * n; }
size_t ngi_kfac_eig_liwork(size_t n) { return 3 + 5 * n; }

/* In-place transpose of the n x n X: LAPACK's column-major eigenvectors, read row-major,
 * are rows; the callers want them as columns. */
static void transpose_sq(size_t n, double *X)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double t = X[i * n + j];
            X[i * n + j] = X[j * n + i];
            X[j * n + i] = t;
        }
}

/* Sigma's s are in [0, 1] in exact arithmetic */
static void clamp01(size_t n, double *s)
{
    for (size_t i = 0; i < n; i++) s[i] = s[i] < 0.0 ? 0.0 : s[i] > 1.0 ? 1.0 : s[i];
}

void ngi_kfac_symmetrise(size_t n, double *A)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double v = 0.5 * (A[i * n + j] + A[j * n + i]);
            A[i * n + j] = v;
            A[j * n + i] = v;
        }
}

ng_status ngi_kfac_eig(size_t n, const double *A, double *Q, double *w, double *work, int *iwork)
{
    if (n == 0) return NG_OK;
    if (Q != A) memcpy(Q, A, n * n * sizeof *Q);
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(Q[i])) return ngi_fail(NG_ENUMERIC, "kfac_tridiag.c: non-finite entry in a %zu x %zu curvature factor", n, n);
    /* Symmetric input: the column-major call sees the same matrix; its column-major
     * eigenvectors come back as rows here, so transpose afterwards. */
    lapack_int info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)n, Q,
                                          (lapack_int)n, w, work,
                                          (lapack_int)ngi_kfac_eig_lwork(n), iwork,
                                          (lapack_int)ngi_kfac_eig_liwork(n));
    if (info != 0)
        return ngi_fail(NG_ENUMERIC, "kfac_tridiag.c: dsyevd failed on a %zu x %zu factor (info %d)", n, n, (int)info);
    transpose_sq(n, Q);
    return NG_OK;
}

ng_status ngi_kfac_spd_shift_inverse(size_t n, const double *S, double shift, double *out)
{
    if (n == 0) return NG_OK;
    /* The column-major 'U' triangle of a row-major symmetric matrix is its row-major lower
     * triangle; LAPACKE's column-major calls work in place without a transposed copy. */
    ng_status st = ngi_kfac_chol_shift(n, S, shift, out);
    if (st) return st;
    lapack_int info = LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, out, (lapack_int)n);
    if (info != 0)
        return ngi_fail(NG_ENUMERIC, "kfac_tridiag.c: Cholesky inverse of a %zu x %zu factor failed (info %d)", n, n, (int)info);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) out[i * n + j] = out[j * n + i];
    return NG_OK;
}

void ngi_kfac_sym_fn(size_t n, const double *Q, const double *w, double shift, double power,
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
    ngi_kfac_symmetrise(n, out);
}

ng_status ngi_kfac_kron_sub_factor(size_t n, const double *Ais, const double *C, double *K,
                                  double *s, double *tmp, double *work, int *iwork)
{
    /* K <- Ais C Ais (symmetrised), eigendecompose in place, then K <- Ais E. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, Ais,
                (int)n, C, (int)n, 0.0, tmp, (int)n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, tmp,
                (int)n, Ais, (int)n, 0.0, K, (int)n);
    ngi_kfac_symmetrise(n, K);
    ng_status st = ngi_kfac_eig(n, K, K, s, work, iwork);
    if (st) return st;
    clamp01(n, s);
    memcpy(tmp, K, n * n * sizeof *tmp);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, Ais,
                (int)n, tmp, (int)n, 0.0, K, (int)n);
    return NG_OK;
}

ng_status ngi_kfac_kron_sub_factor_gv(size_t n, const double *S, double shift, const double *C,
                                     double *K, double *s, double *tmp, double *work, int *iwork)
{
    if (n == 0) return NG_OK;
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(S[i]) || !isfinite(C[i]))
            return ngi_fail(NG_ENUMERIC, "kfac_tridiag.c: non-finite entry in a %zu x %zu curvature factor", n, n);
    memcpy(tmp, S, n * n * sizeof *tmp);
    for (size_t i = 0; i < n; i++) tmp[i * n + i] += shift;
    if (K != C) memcpy(K, C, n * n * sizeof *K);
    /* C x = s (S + shift I) x: dpotrf + dsygst + dsyevd. Symmetric row-major inputs read the
     * same column-major; the eigenvectors come back as rows, hence the transpose. */
    lapack_int info = LAPACKE_dsygvd_work(LAPACK_COL_MAJOR, 1, 'V', 'U', (lapack_int)n, K,
                                          (lapack_int)n, tmp, (lapack_int)n, s, work,
                                          (lapack_int)ngi_kfac_eig_lwork(n), iwork,
                                          (lapack_int)ngi_kfac_eig_liwork(n));
    if (info > (lapack_int)n)
        return ngi_fail(NG_ENUMERIC, "kfac_tridiag.c: %zu x %zu damped factor is not positive definite", n, n);
    if (info != 0)
        return ngi_fail(NG_ENUMERIC, "kfac_tridiag.c: dsygvd failed on a %zu x %zu factor (info %d)", n, n, (int)info);
    transpose_sq(n, K);
    clamp01(n, s);
    return NG_OK;
}

ng_status ngi_kfac_chol_shift(size_t n, const double *S, double shift, double *L)
{
    if (n == 0) return NG_OK;
    for (size_t i = 0; i < n * n; i++) L[i] = S[i];
    for (size_t i = 0; i < n; i++) L[i * n + i] += shift;
    /* column-major 'U' of the row-major symmetric matrix: its row-major lower triangle */
    lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, L, (lapack_int)n);
    if (info > 0)
        return ngi_fail(NG_ENUMERIC, "kfac_tridiag.c: %zu x %zu damped factor is not positive definite (pivot %d)", n, n, (int)info);
    if (info != 0)
        return ngi_fail(NG_ENUMERIC, "kfac_tridiag.c: Cholesky of a %zu x %zu factor failed (info %d)", n, n, (int)info);
    return NG_OK;
}

ng_status ngi_kfac_chol_to_inverse(size_t n, double *L)
{
    if (n == 0) return NG_OK;
    lapack_int info = LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'U', (lapack_int)n, L, (lapack_int)n);
    if (info != 0)
        return ngi_fail(NG_ENUMERIC, "kfac_tridiag.c: Cholesky inverse of a %zu x %zu factor failed (info %d)", n, n, (int)info);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) L[i * n + j] = L[j * n + i];
    return NG_OK;
}

double ngi_kfac_eig_check_f(size_t n, const double *M, const float *Ef, const float *w, double *tmp)
{
    double *u = tmp, *v = tmp + n, yy = 0, r1 = 0, r2 = 0;
    for (size_t i = 0; i < n; i++) u[i] = 0;
    for (size_t j = 0; j < n; j++) { /* u = E^T y (the rows of Ef are the eigenvectors) */
        double y = (j % 2 ? -1.0 : 1.0) * (1.0 + (double)(j % 7) / 8.0);
        yy += y * y;
        for (size_t i = 0; i < n; i++) u[i] += y * Ef[j * n + i];
    }
    /* v = M u (M whole: the caller's lower triangle mirrored, so read the lower one) */
    cblas_dsymv(CblasRowMajor, CblasLower, (int)n, 1.0, M, (int)n, u, 1, 0.0, v, 1);
    for (size_t j = 0; j < n; j++) { /* v -= E^T (w .* y) */
        double y = (j % 2 ? -1.0 : 1.0) * (1.0 + (double)(j % 7) / 8.0), c = (double)w[j] * y;
        for (size_t i = 0; i < n; i++) v[i] -= c * Ef[j * n + i];
    }
    for (size_t i = 0; i < n; i++) r1 += v[i] * v[i];
    for (size_t j = 0; j < n; j++) { /* (E E^T y)_j - y_j = e_j . u - y_j */
        double y = (j % 2 ? -1.0 : 1.0) * (1.0 + (double)(j % 7) / 8.0), d = -y;
        for (size_t i = 0; i < n; i++) d += (double)Ef[j * n + i] * u[i];
        r2 += d * d;
    }
    double r = sqrt(r1 > r2 ? r1 : r2) / sqrt(yy);
    return isfinite(r) ? r : INFINITY;
}

ng_status ngi_kfac_sigma_factor_chol(size_t a, size_t a2, const double *L1, const double *L2,
                                     const double *X, double *Psi, double *K, double *s, int mode,
                                     int *used, double *tmp, double *work, int *iwork)
{
    *used = mode == NGI_KFAC_EIG_DOUBLE;
    if (a == 0) return NG_OK;
    for (size_t i = 0; i < a * a2; i++)
        if (!isfinite(X[i])) return ngi_fail(NG_ENUMERIC, "kfac_tridiag.c: non-finite entry in a %zu x %zu cross moment", a, a2);
    /* Psi = X L2^-T L2^-1 = X (S2 + shift2 I)^-1; B = L1^-1 X L2^-T in tmp */
    memcpy(Psi, X, a * a2 * sizeof *Psi);
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)a, (int)a2, 1.0,
                L2, (int)a2, Psi, (int)a2);
    memcpy(tmp, Psi, a * a2 * sizeof *tmp);
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)a, (int)a2, 1.0,
                L2, (int)a2, Psi, (int)a2);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)a, (int)a2, 1.0,
                L1, (int)a, tmp, (int)a2);
    /* M = B B^T = L1^-1 C L1^-T (lower triangle, in K): its eigenvalues are the s */
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)a, (int)a2, 1.0, tmp, (int)a2, 0.0, K, (int)a);
    for (size_t i = 0; i < a; i++)
        for (size_t j = i + 1; j < a; j++) K[i * a + j] = K[j * a + i];
    lapack_int info;
    if (mode != NGI_KFAC_EIG_DOUBLE) {
        /* work holds, as floats, M (a x a, then E), w (a) and ssyevd's work; the check's
         * 2a doubles sit at work's end, clear of them */
        size_t lw = ngi_kfac_eig_lwork(a);
        float *Mf = (float *)work, *wf = Mf + a * a, *fw = wf + a;
        for (size_t i = 0; i < a * a; i++) Mf[i] = (float)K[i];
        info = LAPACKE_ssyevd_work(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)a, Mf, (lapack_int)a, wf, fw,
                                   (lapack_int)lw, iwork, (lapack_int)ngi_kfac_eig_liwork(a));
        if (info == 0 && mode == NGI_KFAC_EIG_FLOAT &&
            ngi_kfac_eig_check_f(a, K, Mf, wf, work + lw - 2 * a) <= NGI_KFAC_EIG_TOL) {
            for (size_t i = 0; i < a; i++) { /* E's rows -> K's columns */
                s[i] = wf[i];
                for (size_t j = 0; j < a; j++) K[i * a + j] = Mf[j * a + i];
            }
        } else {
            *used = 1;
        }
    }
    if (*used) {
        info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)a, K, (lapack_int)a, s, work,
                                   (lapack_int)ngi_kfac_eig_lwork(a), iwork, (lapack_int)ngi_kfac_eig_liwork(a));
        if (info != 0)
            return ngi_fail(NG_ENUMERIC, "kfac_tridiag.c: dsyevd failed on a %zu x %zu Sigma factor (info %d)", a, a, (int)info);
        transpose_sq(a, K);
    }
    /* x = L1^-T e: K^T (S1 + shift1 I) K = E^T E = I, K^T C K = diag(s) */
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, (int)a, (int)a, 1.0, L1,
                (int)a, K, (int)a);
    clamp01(a, s);
    return NG_OK;
}

/* multiply-adds of (P M) Q and of P (M Q) */
static void chain_costs(size_t m, size_t k1, size_t k2, size_t n, double *left, double *right)
{
    *left = (double)m * (double)k1 * (double)k2 + (double)m * (double)k2 * (double)n;
    *right = (double)k1 * (double)k2 * (double)n + (double)m * (double)k1 * (double)n;
}

int ngi_kfac_chain_left_first(size_t m, size_t k1, size_t k2, size_t n)
{
    double left, right;
    chain_costs(m, k1, k2, n, &left, &right);
    return left <= right;
}

double ng_kfac_chain_cost(size_t m, size_t k1, size_t k2, size_t n)
{
    double left, right;
    chain_costs(m, k1, k2, n, &left, &right);
    return left <= right ? left : right;
}

/* The two applies below exist in double (the reference the tests check against dense
 * solves) and in float (what each iteration runs, through sgemm); one body serves both. */
#define NG_REAL double
#define NG_GEMM cblas_dgemm
#define NG_SFX(name) name
#include "kfac_tridiag_apply.inc"
#undef NG_REAL
#undef NG_GEMM
#undef NG_SFX
#define NG_REAL float
#define NG_GEMM cblas_sgemm
#define NG_SFX(name) name##_f
#include "kfac_tridiag_apply.inc"
