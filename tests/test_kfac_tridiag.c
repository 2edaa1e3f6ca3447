/* test_kfac_tridiag.c - the Kronecker pieces of K-FAC against dense references:
 * matrix functions from eigendecompositions, (A (x) B - C (x) D)^-1 against a dense solve,
 * and the block-tridiagonal inverse of a 3-layer net: F^-1 built column by column from
 * the optimiser must be block-tridiagonal and its inverse must reproduce the damped
 * Kronecker blocks A_{ij} (x) G_{ij} on the tridiagonal (the defining property of the
 * paper's F-hat). */
#include "kfac_internal.h"
#include "ngtest.h"

#include <lapacke.h>

static void rand_spd(ng_rng *r, size_t n, double shift, double scale, double *A)
{
    double *R = malloc(n * n * sizeof *R);
    for (size_t i = 0; i < n * n; i++) R[i] = ng_rng_normal(r);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < n; k++) s += R[i * n + k] * R[j * n + k];
            A[i * n + j] = scale * s / (double)n + (i == j ? shift : 0);
        }
    free(R);
}

static double max_abs_diff(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static void test_sym_fn(void)
{
    ng_rng r;
    ng_rng_seed(&r, 11);
    size_t n = 6;
    double A[36], Q[36], w[6], X[36], T[36], P[36];
    double *work = malloc(ngi_kfac_eig_lwork(n) * sizeof(double));
    int *iwork = malloc(ngi_kfac_eig_liwork(n) * sizeof(int));
    rand_spd(&r, n, 0.5, 1.0, A);
    NG_CHECK(ngi_kfac_eig(n, A, Q, w, work, iwork) == NG_OK);
    NG_CHECK(w[0] <= w[n - 1]);
    /* A^-1/2 A A^-1/2 = I and (A + c I)^-1 (A + c I) = I */
    ngi_kfac_sym_fn(n, Q, w, 0.0, -0.5, X, T);
    double I1[36], I2[36];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < n; k++) s += A[i * n + k] * X[k * n + j];
            P[i * n + j] = s;
        }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < n; k++) s += X[i * n + k] * P[k * n + j];
            I1[i * n + j] = s;
        }
    ngi_kfac_sym_fn(n, Q, w, 0.7, -1.0, X, T);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < n; k++) s += (A[i * n + k] + (i == k ? 0.7 : 0)) * X[k * n + j];
            I2[i * n + j] = s;
        }
    double e1 = 0, e2 = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            e1 = fmax(e1, fabs(I1[i * n + j] - (i == j)));
            e2 = fmax(e2, fabs(I2[i * n + j] - (i == j)));
        }
    NG_CHECK_NEAR(e1, 0, 1e-10);
    NG_CHECK_NEAR(e2, 0, 1e-10);
    /* non-finite input is reported, not decomposed */
    A[3] = NAN;
    NG_CHECK(ngi_kfac_eig(n, A, Q, w, work, iwork) == NG_ENUMERIC);
    free(work);
    free(iwork);
}

/* dense (A (x) B - C (x) D) on col-major vec of n2 x n1 matrices, solved by LU */
static void dense_kron_sub_solve(size_t n2, size_t n1, const double *A, const double *B,
                                 const double *C, const double *D, const double *V, double *X)
{
    size_t N = n1 * n2;
    double *M = malloc(N * N * sizeof *M), *b = malloc(N * sizeof *b);
    lapack_int *ip = malloc(N * sizeof *ip);
    for (size_t j = 0; j < n1; j++)
        for (size_t i = 0; i < n2; i++)
            for (size_t jj = 0; jj < n1; jj++)
                for (size_t ii = 0; ii < n2; ii++)
                    M[(j * n2 + i) * N + jj * n2 + ii] =
                        A[j * n1 + jj] * B[i * n2 + ii] - (C ? C[j * n1 + jj] * D[i * n2 + ii] : 0);
    for (size_t j = 0; j < n1; j++)
        for (size_t i = 0; i < n2; i++) b[j * n2 + i] = V[i * n1 + j];
    LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)N, 1, M, (lapack_int)N, ip, b, 1);
    for (size_t j = 0; j < n1; j++)
        for (size_t i = 0; i < n2; i++) X[i * n1 + j] = b[j * n2 + i];
    free(M);
    free(b);
    free(ip);
}

static void kron_case(ng_rng *r, size_t n1, size_t n2, int near_one)
{
    double *A = malloc(n1 * n1 * 8), *C = malloc(n1 * n1 * 8), *B = malloc(n2 * n2 * 8),
           *D = malloc(n2 * n2 * 8), *V = malloc(n1 * n2 * 8), *X = malloc(n1 * n2 * 8),
           *Xr = malloc(n1 * n2 * 8), *tmp = malloc(n1 * n2 * 8);
    size_t nm = n1 > n2 ? n1 : n2;
    double *Q = malloc(nm * nm * 8), *w = malloc(nm * 8), *Ais = malloc(nm * nm * 8),
           *Bis = malloc(nm * nm * 8), *T = malloc(nm * nm * 8), *K1 = malloc(n1 * n1 * 8),
           *K2 = malloc(n2 * n2 * 8), *s1 = malloc(n1 * 8), *s2 = malloc(n2 * 8);
    double *work = malloc(ngi_kfac_eig_lwork(nm) * 8);
    int *iwork = malloc(ngi_kfac_eig_liwork(nm) * sizeof(int));
    rand_spd(r, n1, 1.0, 1.0, A);
    rand_spd(r, n2, 1.0, 1.0, B);
    if (near_one) { /* C = A: s1 == 1 up to rounding (clamped) */
        memcpy(C, A, n1 * n1 * 8);
        for (size_t i = 0; i < n2 * n2; i++) D[i] = 0.5 * B[i];
    } else {
        rand_spd(r, n1, 0.0, 0.3, C);
        rand_spd(r, n2, 0.0, 0.3, D);
    }
    for (size_t i = 0; i < n1 * n2; i++) V[i] = ng_rng_normal(r);
    NG_CHECK(ngi_kfac_eig(n1, A, Q, w, work, iwork) == NG_OK);
    ngi_kfac_sym_fn(n1, Q, w, 0.0, -0.5, Ais, T);
    NG_CHECK(ngi_kfac_eig(n2, B, Q, w, work, iwork) == NG_OK);
    ngi_kfac_sym_fn(n2, Q, w, 0.0, -0.5, Bis, T);
    NG_CHECK(ngi_kfac_kron_sub_factor(n1, Ais, C, K1, s1, T, work, iwork) == NG_OK);
    NG_CHECK(ngi_kfac_kron_sub_factor(n2, Bis, D, K2, s2, T, work, iwork) == NG_OK);
    int sok = 1;
    for (size_t i = 0; i < n1; i++) sok &= s1[i] >= 0 && s1[i] <= 1;
    for (size_t i = 0; i < n2; i++) sok &= s2[i] >= 0 && s2[i] <= 1;
    NG_CHECK(sok);
    ngi_kfac_kron_sub_apply(n2, n1, K2, s2, K1, s1, 1.0, V, X, tmp);
    dense_kron_sub_solve(n2, n1, A, B, C, D, V, Xr);
    double scale = 0;
    for (size_t i = 0; i < n1 * n2; i++) scale = fmax(scale, fabs(Xr[i]));
    NG_CHECK_MSG(max_abs_diff(X, Xr, n1 * n2) <= 1e-9 * scale, "n1 %zu n2 %zu: diff %g (scale %g)",
                 n1, n2, max_abs_diff(X, Xr, n1 * n2), scale);
    /* the generalised-eigenproblem factors (no A^-1/2) give the same solve */
    {
        double *K1g = malloc(n1 * n1 * 8), *K2g = malloc(n2 * n2 * 8), *s1g = malloc(n1 * 8),
               *s2g = malloc(n2 * 8), *Xg = malloc(n1 * n2 * 8);
        NG_CHECK(ngi_kfac_kron_sub_factor_gv(n1, A, 0.0, C, K1g, s1g, T, work, iwork) == NG_OK);
        NG_CHECK(ngi_kfac_kron_sub_factor_gv(n2, B, 0.0, D, K2g, s2g, T, work, iwork) == NG_OK);
        ngi_kfac_kron_sub_apply(n2, n1, K2g, s2g, K1g, s1g, 1.0, V, Xg, tmp);
        NG_CHECK_MSG(max_abs_diff(Xg, Xr, n1 * n2) <= 1e-9 * scale, "gv n1 %zu n2 %zu: diff %g (scale %g)",
                     n1, n2, max_abs_diff(Xg, Xr, n1 * n2), scale);
        /* an indefinite damped factor is refused, so the caller can take the other route */
        for (size_t i = 0; i < n1 * n1; i++) T[i] = -A[i];
        NG_CHECK(ngi_kfac_kron_sub_factor_gv(n1, T, 0.1, C, K1g, s1g, Q, work, iwork) == NG_ENUMERIC);
        free(K1g); free(K2g); free(s1g); free(s2g); free(Xg);
    }
    /* in-place use with sign -1 gives the negated result */
    memcpy(tmp, V, n1 * n2 * 8);
    double *tmp2 = malloc(n1 * n2 * 8);
    ngi_kfac_kron_sub_apply(n2, n1, K2, s2, K1, s1, -1.0, tmp, tmp, tmp2);
    for (size_t i = 0; i < n1 * n2; i++) tmp[i] = -tmp[i];
    NG_CHECK(max_abs_diff(tmp, X, n1 * n2) <= 1e-12 * scale);
    free(tmp2);
    free(A); free(C); free(B); free(D); free(V); free(X); free(Xr); free(tmp);
    free(Q); free(w); free(Ais); free(Bis); free(T); free(K1); free(K2); free(s1); free(s2);
    free(work); free(iwork);
}

/* One side of a layer pair as the statistics make it: S1 = U U^T / m, S2 = W W^T / m,
 * X = U W^T / m from m cases (so [S1 X; X^T S2] is PSD and Sigma's s lie in [0, 1]). */
static void pair_side(ng_rng *r, size_t a, size_t a2, size_t m, double *S1, double *S2, double *X)
{
    double *U = malloc(a * m * sizeof *U), *W = malloc(a2 * m * sizeof *W);
    for (size_t i = 0; i < a * m; i++) U[i] = ng_rng_normal(r);
    for (size_t i = 0; i < a2 * m; i++) W[i] = 0.6 * U[i % (a * m)] + 0.8 * ng_rng_normal(r); /* correlated */
    for (size_t i = 0; i < a; i++)
        for (size_t j = 0; j < a; j++) {
            double v = 0;
            for (size_t k = 0; k < m; k++) v += U[i * m + k] * U[j * m + k];
            S1[i * a + j] = v / (double)m;
        }
    for (size_t i = 0; i < a2; i++)
        for (size_t j = 0; j < a2; j++) {
            double v = 0;
            for (size_t k = 0; k < m; k++) v += W[i * m + k] * W[j * m + k];
            S2[i * a2 + j] = v / (double)m;
        }
    for (size_t i = 0; i < a; i++)
        for (size_t j = 0; j < a2; j++) {
            double v = 0;
            for (size_t k = 0; k < m; k++) v += U[i * m + k] * W[j * m + k];
            X[i * a2 + j] = v / (double)m;
        }
    free(U);
    free(W);
}

/* C = X (S2 + c2 I)^-1 X^T densely (LU), and Psi = X (S2 + c2 I)^-1 */
static void dense_cross(size_t a, size_t a2, const double *S2, double c2, const double *X, double *Psi,
                        double *C)
{
    double *M = malloc(a2 * a2 * sizeof *M), *Xt = malloc(a2 * a * sizeof *Xt);
    lapack_int *ip = malloc(a2 * sizeof *ip);
    for (size_t i = 0; i < a2 * a2; i++) M[i] = S2[i] + (i % (a2 + 1) == 0 ? c2 : 0);
    for (size_t i = 0; i < a; i++)
        for (size_t j = 0; j < a2; j++) Xt[j * a + i] = X[i * a2 + j];
    /* (S2 + c2 I) Psi^T = X^T */
    LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)a2, (lapack_int)a, M, (lapack_int)a2, ip, Xt, (lapack_int)a);
    for (size_t i = 0; i < a; i++)
        for (size_t j = 0; j < a2; j++) Psi[i * a2 + j] = Xt[j * a + i];
    for (size_t i = 0; i < a; i++)
        for (size_t j = 0; j < a; j++) {
            double v = 0;
            for (size_t k = 0; k < a2; k++) v += Psi[i * a2 + k] * X[j * a2 + k];
            C[i * a + j] = v;
        }
    free(M);
    free(Xt);
    free(ip);
}

/* Sigma^-1 vec(V) from the Cholesky route's factors against a dense solve of
 * (S1^d (x) R1^d - C (x) D), Psi against a dense solve, for each eigenproblem mode:
 * double (1e-9 of the result's scale), float kept by its check (1e-5; seen: 3e-7, float
 * eigenvectors amplified by the 1 / (1 - s2 s1) of the pair), float rejected (must come
 * out in double, 1e-9). */
static void sigma_chol_case(ng_rng *r, size_t n1, size_t n1b, size_t n2, size_t n2b, double c1,
                            double c1b, double c2, double c2b)
{
    size_t nm = 1;
    size_t dims[4] = {n1, n1b, n2, n2b};
    for (int i = 0; i < 4; i++) nm = dims[i] > nm ? dims[i] : nm;
    /* A side: S1 (n1), S1b (n1b), X1 (n1 x n1b); G side: S2 (n2), S2b (n2b), X2 (n2 x n2b) */
    double *S1 = malloc(n1 * n1 * 8), *S1b = malloc(n1b * n1b * 8), *X1 = malloc(n1 * n1b * 8);
    double *S2 = malloc(n2 * n2 * 8), *S2b = malloc(n2b * n2b * 8), *X2 = malloc(n2 * n2b * 8);
    pair_side(r, n1, n1b, 3 * nm, S1, S1b, X1);
    pair_side(r, n2, n2b, 3 * nm, S2, S2b, X2);
    double *Psi1r = malloc(n1 * n1b * 8), *C1 = malloc(n1 * n1 * 8), *Psi2r = malloc(n2 * n2b * 8),
           *C2 = malloc(n2 * n2 * 8);
    dense_cross(n1, n1b, S1b, c1b, X1, Psi1r, C1);
    dense_cross(n2, n2b, S2b, c2b, X2, Psi2r, C2);
    double *A = malloc(n1 * n1 * 8), *B = malloc(n2 * n2 * 8);
    memcpy(A, S1, n1 * n1 * 8);
    memcpy(B, S2, n2 * n2 * 8);
    for (size_t i = 0; i < n1; i++) A[i * n1 + i] += c1;
    for (size_t i = 0; i < n2; i++) B[i * n2 + i] += c2;
    double *V = malloc(n1 * n2 * 8), *Xr = malloc(n1 * n2 * 8), *Xg = malloc(n1 * n2 * 8), *tmp = malloc(n1 * n2 * 8);
    for (size_t i = 0; i < n1 * n2; i++) V[i] = ng_rng_normal(r);
    dense_kron_sub_solve(n2, n1, A, B, C1, C2, V, Xr);
    double scale = 0;
    for (size_t i = 0; i < n1 * n2; i++) scale = fmax(scale, fabs(Xr[i]));
    double *L1 = malloc(n1 * n1 * 8), *L1b = malloc(n1b * n1b * 8), *L2 = malloc(n2 * n2 * 8),
           *L2b = malloc(n2b * n2b * 8);
    NG_CHECK(ngi_kfac_chol_shift(n1, S1, c1, L1) == NG_OK);
    NG_CHECK(ngi_kfac_chol_shift(n1b, S1b, c1b, L1b) == NG_OK);
    NG_CHECK(ngi_kfac_chol_shift(n2, S2, c2, L2) == NG_OK);
    NG_CHECK(ngi_kfac_chol_shift(n2b, S2b, c2b, L2b) == NG_OK);
    double *K1 = malloc(n1 * n1 * 8), *K2 = malloc(n2 * n2 * 8), *s1 = malloc(n1 * 8), *s2 = malloc(n2 * 8),
           *Psi1 = malloc(n1 * n1b * 8), *Psi2 = malloc(n2 * n2b * 8), *T = malloc(nm * nm * 8),
           *work = malloc(ngi_kfac_eig_lwork(nm) * 8);
    int *iwork = malloc(ngi_kfac_eig_liwork(nm) * sizeof(int));
    const int modes[3] = {NGI_KFAC_EIG_DOUBLE, NGI_KFAC_EIG_FLOAT, NGI_KFAC_EIG_FLOAT_REJECT};
    const double tol[3] = {1e-9, 1e-5, 1e-9};
    for (int mi = 0; mi < 3; mi++) {
        int u1 = -1, u2 = -1;
        NG_CHECK(ngi_kfac_sigma_factor_chol(n1, n1b, L1, L1b, X1, Psi1, K1, s1, modes[mi], &u1, T, work, iwork) == NG_OK);
        NG_CHECK(ngi_kfac_sigma_factor_chol(n2, n2b, L2, L2b, X2, Psi2, K2, s2, modes[mi], &u2, T, work, iwork) == NG_OK);
        NG_CHECK_MSG(u1 == (modes[mi] != NGI_KFAC_EIG_FLOAT) && u2 == u1, "mode %d: used %d %d", modes[mi], u1, u2);
        NG_CHECK(max_abs_diff(Psi1, Psi1r, n1 * n1b) <= 1e-10 && max_abs_diff(Psi2, Psi2r, n2 * n2b) <= 1e-10);
        int sok = 1;
        double smax = 0;
        for (size_t i = 0; i < n1; i++) sok &= s1[i] >= 0 && s1[i] <= 1, smax = fmax(smax, s1[i]);
        for (size_t i = 0; i < n2; i++) sok &= s2[i] >= 0 && s2[i] <= 1;
        NG_CHECK(sok && smax > 0.1); /* correlated sides: a real cross term */
        ngi_kfac_kron_sub_apply(n2, n1, K2, s2, K1, s1, 1.0, V, Xg, tmp);
        NG_CHECK_MSG(max_abs_diff(Xg, Xr, n1 * n2) <= tol[mi] * scale, "mode %d, %zu/%zu x %zu/%zu: diff %g (scale %g)",
                     modes[mi], n1, n1b, n2, n2b, max_abs_diff(Xg, Xr, n1 * n2), scale);
    }
    /* an indefinite damped factor is refused (the prepare then takes the dsygvd route) */
    for (size_t i = 0; i < n1 * n1; i++) T[i] = -S1[i];
    NG_CHECK(ngi_kfac_chol_shift(n1, T, 0.01, L1) == NG_ENUMERIC);
    free(S1); free(S1b); free(X1); free(S2); free(S2b); free(X2); free(Psi1r); free(C1); free(Psi2r); free(C2);
    free(A); free(B); free(V); free(Xr); free(Xg); free(tmp); free(L1); free(L1b); free(L2); free(L2b);
    free(K1); free(K2); free(s1); free(s2); free(Psi1); free(Psi2); free(T); free(work); free(iwork);
}

static void test_sigma_factor_chol(void)
{
    ng_rng r;
    ng_rng_seed(&r, 23);
    sigma_chol_case(&r, 5, 3, 4, 6, 0.05, 0.1, 0.02, 0.3);   /* a > a2 and a < a2 */
    sigma_chol_case(&r, 9, 9, 7, 2, 0.01, 0.01, 0.5, 0.05);  /* small damping: s near 1 */
    sigma_chol_case(&r, 2, 12, 11, 1, 0.2, 0.02, 0.01, 0.1); /* rank-1 cross moment */
}

/* The float eigendecomposition's check: an ssyevd result of a random M (||M|| <= 1)
 * passes with room (below NGI_KFAC_EIG_TOL / 10); swapping two eigenvalues, or one
 * eigenvector perturbed by 1e-3, fails. */
static void test_eig_check_f(void)
{
    ng_rng r;
    ng_rng_seed(&r, 29);
    size_t n = 40;
    double *S1 = malloc(n * n * 8), *S2 = malloc(n * n * 8), *X = malloc(n * n * 8), *tmp = malloc(2 * n * 8);
    pair_side(&r, n, n, 3 * n, S1, S2, X);
    double mx = 0;
    for (size_t i = 0; i < n * n; i++) mx = fmax(mx, fabs(S1[i]));
    for (size_t i = 0; i < n * n; i++) S1[i] /= mx * (double)n; /* ||M|| <= 1 */
    float *Ef = malloc(n * n * sizeof(float)), *w = malloc(n * sizeof(float));
    for (size_t i = 0; i < n * n; i++) Ef[i] = (float)S1[i];
    NG_CHECK(LAPACKE_ssyevd(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)n, Ef, (lapack_int)n, w) == 0);
    double ok = ngi_kfac_eig_check_f(n, S1, Ef, w, tmp);
    NG_CHECK_MSG(ok <= NGI_KFAC_EIG_TOL / 10, "check of a good decomposition: %g", ok);
    float t = w[3];
    w[3] = w[n - 1];
    w[n - 1] = t;
    NG_CHECK(ngi_kfac_eig_check_f(n, S1, Ef, w, tmp) > NGI_KFAC_EIG_TOL);
    w[n - 1] = w[3];
    w[3] = t;
    NG_CHECK(ngi_kfac_eig_check_f(n, S1, Ef, w, tmp) <= NGI_KFAC_EIG_TOL / 10);
    Ef[5 * n + 7] += 1e-3f;
    NG_CHECK(ngi_kfac_eig_check_f(n, S1, Ef, w, tmp) > NGI_KFAC_EIG_TOL);
    Ef[5 * n + 7] = NAN;
    NG_CHECK(ngi_kfac_eig_check_f(n, S1, Ef, w, tmp) > NGI_KFAC_EIG_TOL);
    free(S1); free(S2); free(X); free(tmp); free(Ef); free(w);
}

/* (S + c I)^-1 by Cholesky against the eigendecomposition route, on a PSD S of rank 3 < n
 * (the shift makes it definite); an indefinite S + c I must be refused, not inverted. */
static void test_spd_shift_inverse(void)
{
    ng_rng r;
    ng_rng_seed(&r, 19);
    size_t n = 7;
    double R[21], S[49], X[49], Q[49], w[7], Y[49], T[49];
    for (size_t i = 0; i < 21; i++) R[i] = ng_rng_normal(&r);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double v = 0;
            for (size_t k = 0; k < 3; k++) v += R[i * 3 + k] * R[j * 3 + k];
            S[i * n + j] = v;
        }
    double *work = malloc(ngi_kfac_eig_lwork(n) * sizeof(double));
    int *iwork = malloc(ngi_kfac_eig_liwork(n) * sizeof(int));
    NG_CHECK(ngi_kfac_spd_shift_inverse(n, S, 0.3, X) == NG_OK);
    NG_CHECK(ngi_kfac_eig(n, S, Q, w, work, iwork) == NG_OK);
    ngi_kfac_sym_fn(n, Q, w, 0.3, -1.0, Y, T);
    NG_CHECK(max_abs_diff(X, Y, n * n) < 1e-10);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) NG_CHECK(X[i * n + j] == X[j * n + i]);
    for (size_t i = 0; i < n; i++) S[i * n + i] -= 5.0; /* now indefinite */
    NG_CHECK(ngi_kfac_spd_shift_inverse(n, S, 0.3, X) == NG_ENUMERIC);
    free(work);
    free(iwork);
}

static void test_kron_sub(void)
{
    ng_rng r;
    ng_rng_seed(&r, 5);
    kron_case(&r, 4, 3, 0);
    kron_case(&r, 7, 5, 0);
    kron_case(&r, 3, 6, 0);
    kron_case(&r, 5, 4, 1);
}

/* F^-1 of the optimiser's block-tridiagonal inverse, by columns, and its GGM property. */
/* fallback: 1 the (S + shift I)^-1/2 route, 2 the Cholesky route with every float
 * eigenproblem rejected (solved again in double), 3 the dsygvd route, 0 the default */
static void tridiag_case(const char *sizes, ng_loss loss, double gamma, uint64_t seed, int fallback)
{
    ng_net_spec sp;
    NG_CHECK(ng_net_spec_parse(sizes, "logistic", loss, &sp) == NG_OK);
    size_t m = 40;
    ng_net *net = NULL;
    NG_CHECK(ng_net_new(&sp, m, &net) == NG_OK);
    if (!net) return;
    ng_rng r;
    ng_rng_seed(&r, seed);
    ng_net_init_glorot(net, &r);
    size_t d0 = sp.sizes[0], dl = sp.sizes[sp.n_layers], n = ng_net_num_params(net);
    float *X = malloc(m * d0 * sizeof(float)), *Yh = malloc(m * dl * sizeof(float));
    for (size_t i = 0; i < m * d0; i++) X[i] = (float)ng_rng_uniform(&r);
    ng_kfac_params p = ng_kfac_default_params();
    p.curvature = NG_KFAC_TRIDIAG;
    ng_kfac *kf = NULL;
    NG_CHECK(ng_kfac_new(net, &p, &kf) == NG_OK);
    if (fallback == 1 || fallback == 3) ngi_kfac_debug_force_fallback(kf, fallback == 1 ? 1 : 2);
    if (fallback == 2) ngi_kfac_debug_eig_mode(kf, NGI_KFAC_EIG_FLOAT_REJECT);
    NG_CHECK(ng_net_forward(net, X, m) == NG_OK);
    NG_CHECK(ng_net_sample_targets(net, m, &r, Yh) == NG_OK);
    NG_CHECK(ng_net_backward(net, Yh, m, NULL) == NG_OK);
    ngi_kfac_debug_stats(kf, 1, m);
    double *Fi = calloc(n * n, sizeof(double));
    float *e = calloc(n, sizeof(float)), *col = malloc(n * sizeof(float));
    for (size_t j = 0; j < n; j++) {
        e[j] = 1.0f;
        NG_CHECK(ngi_kfac_debug_propose(kf, gamma, e, col, 1) == NG_OK);
        for (size_t i = 0; i < n; i++) Fi[i * n + j] = -(double)col[i];
        e[j] = 0.0f;
    }
    /* every Sigma factor took the route asked for (2 (L - 1) of them in double, or none) */
    int ndouble = ngi_kfac_debug_eig_mode(kf, fallback == 2 ? NGI_KFAC_EIG_FLOAT_REJECT : NGI_KFAC_EIG_FLOAT);
    if (fallback == 0 || fallback == 2) NG_CHECK_MSG(ndouble == (fallback == 2 ? 2 * (sp.n_layers - 1) : 0), "%d in double", ndouble);
    int L = sp.n_layers;
    size_t din[NG_NET_MAX_LAYERS], dout[NG_NET_MAX_LAYERS], off[NG_NET_MAX_LAYERS];
    for (int k = 0; k < L; k++) {
        din[k] = sp.sizes[k] + 1;
        dout[k] = sp.sizes[k + 1];
        off[k] = ng_net_layer_offset(net, k);
    }
    /* symmetric, zero beyond the tridiagonal */
    double asym = 0, far = 0, big = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            asym = fmax(asym, fabs(Fi[i * n + j] - Fi[j * n + i]));
            big = fmax(big, fabs(Fi[i * n + j]));
        }
    for (int k = 0; k < L; k++)
        for (int k2 = k + 2; k2 < L; k2++)
            for (size_t a = 0; a < dout[k] * din[k]; a++)
                for (size_t b = 0; b < dout[k2] * din[k2]; b++)
                    far = fmax(far, fabs(Fi[(off[k] + a) * n + off[k2] + b]));
    NG_CHECK_MSG(asym <= 2e-5 * big, "asymmetry %g (scale %g)", asym, big);
    NG_CHECK_MSG(far <= 2e-5 * big, "blocks beyond the tridiagonal %g (scale %g)", far, big);
    /* F-hat = (F^-1)^-1 must equal the damped Kronecker blocks on the tridiagonal */
    double *F = malloc(n * n * sizeof(double));
    lapack_int *ip = malloc(n * sizeof *ip);
    memcpy(F, Fi, n * n * sizeof(double));
    NG_CHECK(LAPACKE_dgetrf(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n, F, (lapack_int)n, ip) == 0);
    NG_CHECK(LAPACKE_dgetri(LAPACK_ROW_MAJOR, (lapack_int)n, F, (lapack_int)n, ip) == 0);
    /* pi_k from the traces of the layer's factors (spec §3), not the code's */
    double pi[NG_NET_MAX_LAYERS];
    for (int k = 0; k < L; k++) {
        const double *A = ngi_kfac_debug_factor(kf, 0, k), *G = ngi_kfac_debug_factor(kf, 1, k);
        double ta = 0, tg = 0;
        for (size_t j = 0; j < din[k]; j++) ta += A[j * din[k] + j];
        for (size_t i = 0; i < dout[k]; i++) tg += G[i * dout[k] + i];
        pi[k] = sqrt((ta / (double)din[k]) / (tg / (double)dout[k]));
    }
    double err = 0, scale = 0;
    for (int k = 0; k < L; k++)
        for (int k2 = k; k2 <= k + 1 && k2 < L; k2++) {
            const double *A = ngi_kfac_debug_factor(kf, k2 == k ? 0 : 2, k);
            const double *G = ngi_kfac_debug_factor(kf, k2 == k ? 1 : 3, k);
            for (size_t i = 0; i < dout[k]; i++)
                for (size_t j = 0; j < din[k]; j++)
                    for (size_t i2 = 0; i2 < dout[k2]; i2++)
                        for (size_t j2 = 0; j2 < din[k2]; j2++) {
                            double a = A[j * din[k2] + j2], g = G[i * dout[k2] + i2];
                            if (k2 == k) {
                                a += (j == j2) * gamma * pi[k];
                                g += (i == i2) * gamma / pi[k];
                            }
                            double ref = a * g;
                            double got = F[(off[k] + i * din[k] + j) * n + off[k2] + i2 * din[k2] + j2];
                            err = fmax(err, fabs(got - ref));
                            scale = fmax(scale, fabs(ref));
                        }
        }
    NG_CHECK_MSG(err <= 1e-4 * scale, "%s: tridiagonal blocks of F-hat off by %g (scale %g)", sizes, err, scale);
    free(F); free(ip); free(Fi); free(e); free(col); free(X); free(Yh);
    ng_kfac_free(kf);
    ng_net_free(net);
}

/* The cross terms' evaluation order: the cheaper one (mnist's first pair: V PsiA^T first
 * saves 40%), and the dense-reference cases above between them exercise both orders in
 * both Xi and Xi^T, so a wrong transpose in either branch fails test_tridiag_inverse_*. */
static const char *const k_tridiag_nets[] = {"4-3-3", "3-4-3-2", "3-3-4-2-3"};
static void test_chain_order(void)
{
    NG_CHECK(ngi_kfac_chain_left_first(1000, 500, 1001, 785) == 0); /* Xi, mnist pair 0 */
    NG_CHECK(ngi_kfac_chain_left_first(500, 1000, 785, 1001) == 1); /* Xi^T, mnist layer 1 */
    NG_CHECK(ngi_kfac_chain_left_first(4, 4, 4, 4) == 1);           /* ties: left first */
    /* the cost of the order picked: 500*1001*785 + 1000*500*785 (right first), 2*4*4*4 */
    NG_CHECK(ng_kfac_chain_cost(1000, 500, 1001, 785) == 785392500.0);
    NG_CHECK(ng_kfac_chain_cost(4, 4, 4, 4) == 128.0);
    int seen[2][2] = {{0, 0}, {0, 0}}; /* [Xi or Xi^T][left first] */
    for (size_t c = 0; c < sizeof k_tridiag_nets / sizeof *k_tridiag_nets; c++) {
        ng_net_spec sp;
        NG_CHECK(ng_net_spec_parse(k_tridiag_nets[c], "logistic", NG_LOSS_BERNOULLI, &sp) == NG_OK);
        for (int k = 0; k + 1 < sp.n_layers; k++) {
            size_t m = sp.sizes[k + 1], n = sp.sizes[k] + 1, m2 = sp.sizes[k + 2], n2 = sp.sizes[k + 1] + 1;
            seen[0][ngi_kfac_chain_left_first(m, m2, n2, n)] = 1;  /* PsiG_k V_{k+1} PsiA_k^T */
            seen[1][ngi_kfac_chain_left_first(m2, m, n, n2)] = 1;  /* PsiG_k^T W_k PsiA_k */
        }
    }
    NG_CHECK(seen[0][0] && seen[0][1] && seen[1][0] && seen[1][1]);
}

static void test_tridiag_inverse_2layer(void) { tridiag_case(k_tridiag_nets[0], NG_LOSS_BERNOULLI, 0.3, 3, 0); }
static void test_tridiag_inverse_3layer(void) { tridiag_case(k_tridiag_nets[1], NG_LOSS_BERNOULLI, 0.5, 7, 0); }
static void test_tridiag_inverse_4layer(void) { tridiag_case(k_tridiag_nets[2], NG_LOSS_SOFTMAX, 0.2, 9, 0); }
/* the same oracle through the (S + shift I)^-1/2 route kept for indefinite damped factors */
static void test_tridiag_inverse_fallback(void) { tridiag_case(k_tridiag_nets[1], NG_LOSS_BERNOULLI, 0.5, 7, 1); }
/* and with each float eigenproblem rejected by its check, solved again in double */
static void test_tridiag_inverse_eig_double(void) { tridiag_case(k_tridiag_nets[2], NG_LOSS_SOFTMAX, 0.2, 9, 2); }
/* and through dsygvd, the route taken when a damped factor's Cholesky factor fails */
static void test_tridiag_inverse_dsygvd(void) { tridiag_case(k_tridiag_nets[2], NG_LOSS_SOFTMAX, 0.2, 9, 3); }

/* The proposal with the Sigma factors' eigenproblems in float (checked) against all in
 * double, on a 6-layer net with the statistics of 200 cases, at a large and at the
 * smallest damping the gamma rule allows (sqrt(eta)): relative difference of the float
 * kernel's Delta at most 1e-5 (seen: 7e-7 and 8e-7, the order of the float apply's own
 * rounding). */
static void test_tridiag_float_eig_vs_double(void)
{
    ng_net_spec sp;
    NG_CHECK(ng_net_spec_parse("30-24-16-6-16-24-30", "logistic", NG_LOSS_BERNOULLI, &sp) == NG_OK);
    size_t m = 200;
    ng_net *net = NULL;
    NG_CHECK(ng_net_new(&sp, m, &net) == NG_OK);
    if (!net) return;
    ng_rng r;
    ng_rng_seed(&r, 31);
    ng_net_init_sparse(net, &r, 15);
    size_t d0 = sp.sizes[0], n = ng_net_num_params(net);
    float *X = malloc(m * d0 * sizeof(float)), *Yh = malloc(m * d0 * sizeof(float));
    for (size_t i = 0; i < m * d0; i++) X[i] = (float)ng_rng_uniform(&r);
    ng_kfac_params p = ng_kfac_default_params();
    p.curvature = NG_KFAC_TRIDIAG;
    ng_kfac *kf = NULL;
    NG_CHECK(ng_kfac_new(net, &p, &kf) == NG_OK);
    NG_CHECK(ng_net_forward(net, X, m) == NG_OK);
    NG_CHECK(ng_net_sample_targets(net, m, &r, Yh) == NG_OK);
    NG_CHECK(ng_net_backward(net, Yh, m, NULL) == NG_OK);
    ngi_kfac_debug_stats(kf, 1, m);
    float *g = malloc(n * sizeof(float)), *Df = malloc(n * sizeof(float)), *Dd = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) g[i] = (float)ng_rng_normal(&r);
    const double gammas[2] = {3.0, sqrt(p.eta)};
    for (int gi = 0; gi < 2; gi++) {
        ngi_kfac_debug_eig_mode(kf, NGI_KFAC_EIG_DOUBLE);
        NG_CHECK(ngi_kfac_debug_propose(kf, gammas[gi], g, Dd, 0) == NG_OK);
        NG_CHECK(ngi_kfac_debug_eig_mode(kf, NGI_KFAC_EIG_FLOAT) == 2 * (sp.n_layers - 1));
        NG_CHECK(ngi_kfac_debug_propose(kf, gammas[gi], g, Df, 0) == NG_OK);
        NG_CHECK(ngi_kfac_debug_eig_mode(kf, NGI_KFAC_EIG_FLOAT) == 0);
        double num = 0, den = 0;
        for (size_t i = 0; i < n; i++) {
            num += ((double)Df[i] - Dd[i]) * ((double)Df[i] - Dd[i]);
            den += (double)Dd[i] * Dd[i];
        }
        NG_CHECK_MSG(sqrt(num / den) <= 1e-5, "gamma %g: float vs double eigenproblems differ by %g", gammas[gi],
                     sqrt(num / den));
    }
    free(X); free(Yh); free(g); free(Df); free(Dd);
    ng_kfac_free(kf);
    ng_net_free(net);
}

int main(void)
{
    NG_RUN(test_sym_fn);
    NG_RUN(test_spd_shift_inverse);
    NG_RUN(test_kron_sub);
    NG_RUN(test_chain_order);
    NG_RUN(test_tridiag_inverse_2layer);
    NG_RUN(test_tridiag_inverse_3layer);
    NG_RUN(test_tridiag_inverse_4layer);
    NG_RUN(test_tridiag_inverse_fallback);
    NG_RUN(test_tridiag_inverse_eig_double);
    NG_RUN(test_tridiag_inverse_dsygvd);
    NG_RUN(test_sigma_factor_chol);
    NG_RUN(test_eig_check_f);
    NG_RUN(test_tridiag_float_eig_vs_double);
    return ng_test_summary();
}
