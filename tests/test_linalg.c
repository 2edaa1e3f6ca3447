/* test_linalg.c - the numerical core against direct computations: naive loops for
 * gemm/gemv, defining identities for the decompositions, closed forms for 2x2 rotations,
 * a Taylor series for expm, brute force for SO(d) Procrustes. */
#include "internal.h" /* natgrad.h and the _ws variants */
#include "ngtest.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ test helpers
 * A private generator (splitmix64 + Box-Muller) so these tests depend only on linalg. */
static uint64_t g_state = 0x1234567ULL;
static void tseed(uint64_t s) { g_state = s; }
static uint64_t tnext(void)
{
    uint64_t z = (g_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double tunif(void) { return (double)(tnext() >> 11) * 0x1.0p-53; }
static double tnormal(void)
{
    double u = tunif(), v = tunif();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}
static void rand_d(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = tnormal();
}

/* C = A B for small dense row-major (naive, double). */
static void mm(size_t m, size_t k, size_t n, const double *A, const double *B, double *C)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t p = 0; p < k; p++) s += A[i * k + p] * B[p * n + j];
            C[i * n + j] = s;
        }
}
static void transpose(size_t m, size_t n, const double *A, double *At)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) At[j * m + i] = A[i * n + j];
}
/* max |X^T X - I| for an m x n matrix X (orthonormal columns). */
static double orth_cols_err(size_t m, size_t n, const double *X)
{
    double e = 0.0;
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++) {
            double s = 0.0;
            for (size_t i = 0; i < m; i++) s += X[i * n + a] * X[i * n + b];
            e = fmax(e, fabs(s - (a == b)));
        }
    return e;
}
/* Determinant by Gaussian elimination with partial pivoting (test's own). */
static double det_ref(size_t d, const double *X)
{
    double *A = malloc(d * d * sizeof *A);
    memcpy(A, X, d * d * sizeof *A);
    double det = 1.0;
    for (size_t c = 0; c < d; c++) {
        size_t p = c;
        for (size_t r = c + 1; r < d; r++)
            if (fabs(A[r * d + c]) > fabs(A[p * d + c])) p = r;
        if (A[p * d + c] == 0.0) {
            free(A);
            return 0.0;
        }
        if (p != c) {
            for (size_t j = 0; j < d; j++) {
                double t = A[c * d + j];
                A[c * d + j] = A[p * d + j];
                A[p * d + j] = t;
            }
            det = -det;
        }
        det *= A[c * d + c];
        for (size_t r = c + 1; r < d; r++) {
            double f = A[r * d + c] / A[c * d + c];
            for (size_t j = c; j < d; j++) A[r * d + j] -= f * A[c * d + j];
        }
    }
    free(A);
    return det;
}
static double max_abs_diff(size_t n, const double *a, const double *b)
{
    double e = 0.0;
    for (size_t i = 0; i < n; i++) e = fmax(e, fabs(a[i] - b[i]));
    return e;
}
/* Haar-ish random orthogonal matrix by Gram-Schmidt of a Gaussian matrix (rows). With
 * want_det = +1 or -1 the sign of the first row is fixed to give that determinant. */
static void rand_orth(size_t d, double *Q, int want_det)
{
    rand_d(Q, d * d);
    for (size_t i = 0; i < d; i++) {
        for (int pass = 0; pass < 2; pass++)
            for (size_t k = 0; k < i; k++) {
                double s = 0.0;
                for (size_t j = 0; j < d; j++) s += Q[i * d + j] * Q[k * d + j];
                for (size_t j = 0; j < d; j++) Q[i * d + j] -= s * Q[k * d + j];
            }
        double nr = 0.0;
        for (size_t j = 0; j < d; j++) nr += Q[i * d + j] * Q[i * d + j];
        nr = sqrt(nr);
        for (size_t j = 0; j < d; j++) Q[i * d + j] /= nr;
    }
    if (want_det != 0 && det_ref(d, Q) * want_det < 0)
        for (size_t j = 0; j < d; j++) Q[j] = -Q[j];
}
static void rand_skew(size_t d, double *G, double scale)
{
    for (size_t i = 0; i < d; i++) {
        G[i * d + i] = 0.0;
        for (size_t j = i + 1; j < d; j++) {
            double v = scale * tnormal();
            G[i * d + j] = v;
            G[j * d + i] = -v;
        }
    }
}

/* ------------------------------------------------------------------ gemm / gemv */

/* Reference op(A)(i, p) for a padded row-major matrix. */
static double opd(const double *X, size_t ld, int t, size_t i, size_t p)
{
    return t ? X[p * ld + i] : X[i * ld + p];
}

static void test_gemm_all_transposes(void)
{
    tseed(11);
    /* a tiny case and one large enough for OpenBLAS's blocked kernels */
    const size_t shapes[2][3] = {{5, 7, 3}, {67, 45, 130}};
    for (int sh = 0; sh < 2; sh++)
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const size_t m = shapes[sh][0], n = shapes[sh][1], k = shapes[sh][2], pad = 3;
            size_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
            size_t lda = ac + pad, ldb = bc + pad, ldc = n + pad;
            double *Ad = malloc(ar * lda * sizeof *Ad), *Bd = malloc(br * ldb * sizeof *Bd),
                   *Cd = malloc(m * ldc * sizeof *Cd), *C0 = malloc(m * ldc * sizeof *C0);
            float *Af = malloc(ar * lda * sizeof *Af), *Bf = malloc(br * ldb * sizeof *Bf),
                  *Cf = malloc(m * ldc * sizeof *Cf);
            /* padding holds NaN: reading it would poison the result */
            for (size_t i = 0; i < ar * lda; i++) Ad[i] = (i % lda) < ac ? tnormal() : NAN;
            for (size_t i = 0; i < br * ldb; i++) Bd[i] = (i % ldb) < bc ? tnormal() : NAN;
            for (size_t i = 0; i < m * ldc; i++) C0[i] = (i % ldc) < n ? tnormal() : 777.0;
            for (size_t i = 0; i < ar * lda; i++) Af[i] = (float)Ad[i];
            for (size_t i = 0; i < br * ldb; i++) Bf[i] = (float)Bd[i];
            for (size_t i = 0; i < m * ldc; i++) Cf[i] = (float)C0[i];
            memcpy(Cd, C0, m * ldc * sizeof *Cd);
            const double alpha = 1.5, beta = -0.5;
            ng_matd A = {Ad, ar, ac, lda}, B = {Bd, br, bc, ldb}, C = {Cd, m, n, ldc};
            ng_matf Afv = {Af, ar, ac, lda}, Bfv = {Bf, br, bc, ldb}, Cfv = {Cf, m, n, ldc};
            NG_CHECK(ng_dgemm(ta, tb, alpha, A, B, beta, C) == NG_OK);
            NG_CHECK(ng_sgemm(ta, tb, (float)alpha, Afv, Bfv, (float)beta, Cfv) == NG_OK);
            double ed = 0.0, ef = 0.0;
            int pad_ok = 1;
            for (size_t i = 0; i < m; i++) {
                for (size_t j = 0; j < n; j++) {
                    double sd = 0.0, sf = 0.0;
                    for (size_t p = 0; p < k; p++) {
                        sd += opd(Ad, lda, ta, i, p) * opd(Bd, ldb, tb, p, j);
                        sf += (double)(float)opd(Ad, lda, ta, i, p) * (double)(float)opd(Bd, ldb, tb, p, j);
                    }
                    double refd = alpha * sd + beta * C0[i * ldc + j];
                    double reff = alpha * sf + beta * (double)(float)C0[i * ldc + j];
                    ed = fmax(ed, fabs(Cd[i * ldc + j] - refd));
                    ef = fmax(ef, fabs(Cf[i * ldc + j] - reff));
                }
                for (size_t j = n; j < ldc; j++)
                    if (Cd[i * ldc + j] != 777.0 || Cf[i * ldc + j] != 777.0f) pad_ok = 0;
            }
            NG_CHECK_MSG(ed < 1e-12, "dgemm ta=%d tb=%d err %g", ta, tb, ed);
            NG_CHECK_MSG(ef < 1e-6 * (double)k, "sgemm ta=%d tb=%d err %g", ta, tb, ef);
            NG_CHECK_MSG(pad_ok, "gemm ta=%d tb=%d wrote into C's padding", ta, tb);
            free(Ad);
            free(Bd);
            free(Cd);
            free(C0);
            free(Af);
            free(Bf);
            free(Cf);
        }
}

static void test_gemv_all_transposes(void)
{
    tseed(12);
    const size_t r = 6, c = 4, ld = 9;
    double Ad[6 * 9];
    float Af[6 * 9];
    for (size_t i = 0; i < r * ld; i++) {
        Ad[i] = (i % ld) < c ? tnormal() : NAN;
        Af[i] = (float)Ad[i];
    }
    ng_matd A = {Ad, r, c, ld};
    ng_matf Afv = {Af, r, c, ld};
    for (int t = 0; t < 2; t++) {
        size_t nx = t ? r : c, ny = t ? c : r;
        double x[6], y[6], y0[6];
        float xf[6], yf[6];
        for (size_t i = 0; i < nx; i++) xf[i] = (float)(x[i] = tnormal());
        for (size_t i = 0; i < ny; i++) yf[i] = (float)(y[i] = y0[i] = tnormal());
        NG_CHECK(ng_dgemv(t, 2.0, A, x, 0.25, y) == NG_OK);
        NG_CHECK(ng_sgemv(t, 2.0f, Afv, xf, 0.25f, yf) == NG_OK);
        double ed = 0.0, ef = 0.0;
        for (size_t i = 0; i < ny; i++) {
            double s = 0.0, sf = 0.0;
            for (size_t p = 0; p < nx; p++) {
                s += opd(Ad, ld, t, i, p) * x[p];
                sf += (double)(float)opd(Ad, ld, t, i, p) * (double)xf[p];
            }
            ed = fmax(ed, fabs(y[i] - (2.0 * s + 0.25 * y0[i])));
            ef = fmax(ef, fabs(yf[i] - (2.0 * sf + 0.25 * (double)(float)y0[i])));
        }
        NG_CHECK_MSG(ed < 1e-12, "dgemv t=%d err %g", t, ed);
        NG_CHECK_MSG(ef < 1e-5, "sgemv t=%d err %g", t, ef);
    }
}

static void test_gemm_bad_shapes(void)
{
    double a[12] = {0}, b[12] = {0}, c[12] = {0};
    ng_matd A = ng_matd_view(a, 3, 4), B = ng_matd_view(b, 3, 4), C = ng_matd_view(c, 3, 3);
    /* 3x4 times 3x4: inner dimensions differ */
    NG_CHECK(ng_dgemm(0, 0, 1.0, A, B, 0.0, C) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "3x4") != NULL);
    /* 3x4 times (3x4)^T = 3x3: fine */
    NG_CHECK(ng_dgemm(0, 1, 1.0, A, B, 0.0, C) == NG_OK);
    /* wrong C */
    ng_matd C2 = ng_matd_view(c, 4, 3);
    NG_CHECK(ng_dgemm(0, 1, 1.0, A, B, 0.0, C2) == NG_EINVAL);
    /* ld < cols */
    ng_matd Abad = {a, 3, 4, 2};
    NG_CHECK(ng_dgemm(0, 1, 1.0, Abad, B, 0.0, C) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "ld") != NULL);
    /* C aliasing A */
    ng_matd Calias = ng_matd_view(a, 3, 3);
    NG_CHECK(ng_dgemm(0, 1, 1.0, A, B, 0.0, Calias) == NG_EINVAL);
    /* NULL data */
    ng_matd Anull = {NULL, 3, 4, 4};
    NG_CHECK(ng_dgemm(0, 1, 1.0, Anull, B, 0.0, C) == NG_EINVAL);
    float af[12] = {0}, bf[12] = {0}, cf[12] = {0};
    NG_CHECK(ng_sgemm(1, 0, 1.0f, ng_matf_view(af, 3, 4), ng_matf_view(bf, 4, 3), 0.0f,
                      ng_matf_view(cf, 4, 3)) == NG_EINVAL);
    NG_CHECK(ng_sgemm(1, 0, 1.0f, ng_matf_view(af, 3, 4), ng_matf_view(bf, 3, 3), 0.0f,
                      ng_matf_view(cf, 4, 3)) == NG_OK);
    /* gemv: NULL vector, overlap */
    NG_CHECK(ng_dgemv(0, 1.0, A, NULL, 0.0, c) == NG_EINVAL);
    NG_CHECK(ng_sgemv(0, 1.0f, ng_matf_view(af, 3, 4), bf, 0.0f, af) == NG_EINVAL);
    /* empty: C = 0 x 3 is fine and touches nothing */
    NG_CHECK(ng_dgemm(0, 0, 1.0, ng_matd_view(a, 0, 4), ng_matd_view(b, 4, 3), 0.0,
                      ng_matd_view(c, 0, 3)) == NG_OK);
    /* k = 0: C = beta C */
    double c1[4] = {1, 2, 3, 4};
    NG_CHECK(ng_dgemm(0, 0, 1.0, ng_matd_view(a, 2, 0), ng_matd_view(b, 0, 2), 2.0,
                      ng_matd_view(c1, 2, 2)) == NG_OK);
    NG_CHECK_NEAR(c1[3], 8.0, 0.0);
}

/* ------------------------------------------------------------------ decompositions */

static void test_dsyev(void)
{
    tseed(21);
    enum { n = 7 };
    double X[n * n], A[n * n], Q[n * n], w[n], AQ[n * n], QW[n * n];
    rand_d(X, n * n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) A[i * n + j] = X[i * n + j] + X[j * n + i];
    memcpy(Q, A, sizeof A);
    NG_CHECK(ng_dsyev(n, Q, w) == NG_OK);
    mm(n, n, n, A, Q, AQ);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) QW[i * n + j] = Q[i * n + j] * w[j];
    NG_CHECK_NEAR(max_abs_diff(n * n, AQ, QW), 0.0, 1e-12);
    NG_CHECK_NEAR(orth_cols_err(n, n, Q), 0.0, 1e-13);
    int asc = 1;
    for (size_t j = 1; j < n; j++) asc &= w[j - 1] <= w[j];
    NG_CHECK(asc);
    /* trace = sum of eigenvalues */
    double tr = 0.0, sw = 0.0;
    for (size_t i = 0; i < n; i++) {
        tr += A[i * n + i];
        sw += w[i];
    }
    NG_CHECK_NEAR(tr, sw, 1e-12);
    /* known spectrum: diag(3, -1, 2) */
    double D[9] = {3, 0, 0, 0, -1, 0, 0, 0, 2}, wd[3];
    NG_CHECK(ng_dsyev(3, D, wd) == NG_OK);
    NG_CHECK_NEAR(wd[0], -1.0, 1e-15);
    NG_CHECK_NEAR(wd[1], 2.0, 1e-15);
    NG_CHECK_NEAR(wd[2], 3.0, 1e-15);
    /* NaN input */
    memcpy(Q, A, sizeof A);
    Q[3] = NAN;
    NG_CHECK(ng_dsyev(n, Q, w) == NG_ENUMERIC);
    NG_CHECK(ng_dsyev(n, NULL, w) == NG_EINVAL);
}

static void check_svd(size_t m, size_t n)
{
    size_t k = m < n ? m : n;
    double *A = malloc(m * n * sizeof *A), *A0 = malloc(m * n * sizeof *A),
           *U = malloc(m * k * sizeof *U), *s = malloc(k * sizeof *s),
           *Vt = malloc(k * n * sizeof *Vt), *US = malloc(m * k * sizeof *US),
           *Rc = malloc(m * n * sizeof *Rc), *V = malloc(n * k * sizeof *V);
    rand_d(A0, m * n);
    memcpy(A, A0, m * n * sizeof *A);
    NG_CHECK(ng_dsvd(m, n, A, U, s, Vt) == NG_OK);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < k; j++) US[i * k + j] = U[i * k + j] * s[j];
    mm(m, k, n, US, Vt, Rc);
    NG_CHECK_MSG(max_abs_diff(m * n, Rc, A0) < 1e-12, "%zux%zu reconstruction %g", m, n,
                 max_abs_diff(m * n, Rc, A0));
    NG_CHECK_NEAR(orth_cols_err(m, k, U), 0.0, 1e-13);
    transpose(k, n, Vt, V);
    NG_CHECK_NEAR(orth_cols_err(n, k, V), 0.0, 1e-13);
    int desc = s[k - 1] >= 0.0;
    for (size_t j = 1; j < k; j++) desc &= s[j - 1] >= s[j];
    NG_CHECK(desc);
    /* ||A||_F^2 = sum s^2 */
    double f = 0.0, ss = 0.0;
    for (size_t i = 0; i < m * n; i++) f += A0[i] * A0[i];
    for (size_t j = 0; j < k; j++) ss += s[j] * s[j];
    NG_CHECK_REL(f, ss, 1e-13, 1.0);
    free(A);
    free(A0);
    free(U);
    free(s);
    free(Vt);
    free(US);
    free(Rc);
    free(V);
}

static void test_dsvd(void)
{
    tseed(22);
    check_svd(7, 4);
    check_svd(4, 7);
    check_svd(5, 5);
    double a[4] = {1, 2, 3, NAN}, u[4], s[2], vt[4];
    NG_CHECK(ng_dsvd(2, 2, a, u, s, vt) == NG_ENUMERIC);
    NG_CHECK(ng_dsvd(2, 2, a, NULL, s, vt) == NG_EINVAL);
}

static void test_chol_solve(void)
{
    tseed(23);
    enum { n = 6, r = 3 };
    double X[n * n], A[n * n], A0[n * n], B[n * r], B0[n * r], AX[n * r];
    rand_d(X, n * n);
    double Xt[n * n];
    transpose(n, n, X, Xt);
    mm(n, n, n, X, Xt, A0);
    for (size_t i = 0; i < n; i++) A0[i * n + i] += 0.5;
    memcpy(A, A0, sizeof A);
    rand_d(B0, n * r);
    memcpy(B, B0, sizeof B);
    NG_CHECK(ng_dchol_solve(n, A, r, B) == NG_OK);
    mm(n, n, r, A0, B, AX);
    NG_CHECK_NEAR(max_abs_diff(n * r, AX, B0), 0.0, 1e-11);
    /* indefinite: diag(1, -1, ...) */
    double Ind[9] = {2, 1, 0, 1, -1, 0, 0, 0, 3}, b3[3] = {1, 1, 1};
    NG_CHECK(ng_dchol_solve(3, Ind, 1, b3) == NG_ENUMERIC);
    NG_CHECK(strstr(ng_last_error(), "positive definite") != NULL);
    /* singular PSD (rank 1) */
    double S[4] = {1, 1, 1, 1}, b2[2] = {1, 1};
    NG_CHECK(ng_dchol_solve(2, S, 1, b2) == NG_ENUMERIC);
    /* NaN in B */
    double I2[4] = {1, 0, 0, 1}, bn[2] = {NAN, 1};
    NG_CHECK(ng_dchol_solve(2, I2, 1, bn) == NG_ENUMERIC);
}

/* Moore-Penrose conditions for symmetric A and its pinv P. */
static void check_mp(size_t n, const double *A, const double *P, double tol)
{
    double *AP = malloc(n * n * sizeof *AP), *PA = malloc(n * n * sizeof *PA),
           *T = malloc(n * n * sizeof *T), *Tt = malloc(n * n * sizeof *Tt);
    mm(n, n, n, A, P, AP);
    mm(n, n, n, P, A, PA);
    mm(n, n, n, AP, A, T); /* A P A = A */
    NG_CHECK_MSG(max_abs_diff(n * n, T, A) < tol, "APA - A: %g", max_abs_diff(n * n, T, A));
    mm(n, n, n, PA, P, T); /* P A P = P */
    NG_CHECK_MSG(max_abs_diff(n * n, T, P) < tol, "PAP - P: %g", max_abs_diff(n * n, T, P));
    transpose(n, n, AP, Tt); /* (AP)^T = AP */
    NG_CHECK_MSG(max_abs_diff(n * n, Tt, AP) < tol, "AP sym: %g", max_abs_diff(n * n, Tt, AP));
    transpose(n, n, PA, Tt);
    NG_CHECK_MSG(max_abs_diff(n * n, Tt, PA) < tol, "PA sym: %g", max_abs_diff(n * n, Tt, PA));
    free(AP);
    free(PA);
    free(T);
    free(Tt);
}

static void test_pinv_rank_deficient(void)
{
    tseed(24);
    enum { n = 7, r = 3 };
    /* A = X diag(2, -3, 0.5) X^T: symmetric indefinite, rank 3 */
    double X[n * r], XD[n * r], Xt[r * n], A[n * n], P[n * n];
    const double dg[r] = {2.0, -3.0, 0.5};
    rand_d(X, n * r);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < r; j++) XD[i * r + j] = X[i * r + j] * dg[j];
    transpose(n, r, X, Xt);
    mm(n, r, n, XD, Xt, A);
    size_t rank = 99;
    NG_CHECK(ng_dpinv_sym(n, A, 1e-10, P, &rank) == NG_OK);
    NG_CHECK(rank == r);
    check_mp(n, A, P, 1e-10);
    /* P is not simply a regularised inverse: tol that cuts everything gives 0 */
    NG_CHECK(ng_dpinv_sym(n, A, 2.0, P, &rank) == NG_OK);
    NG_CHECK(rank == 0);
    NG_CHECK_NEAR(max_abs_diff(n * n, P, (double[n * n]){0}), 0.0, 0.0);
    /* full rank: pinv = inverse */
    double I3[9] = {4, 1, 0, 1, 3, 1, 0, 1, 2}, P3[9], T[9];
    NG_CHECK(ng_dpinv_sym(3, I3, 1e-12, P3, &rank) == NG_OK);
    NG_CHECK(rank == 3);
    mm(3, 3, 3, I3, P3, T);
    double Id[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    NG_CHECK_NEAR(max_abs_diff(9, T, Id), 0.0, 1e-13);
    /* in place (P == A) */
    memcpy(P3, I3, sizeof I3);
    NG_CHECK(ng_dpinv_sym(3, P3, 1e-12, P3, NULL) == NG_OK);
    mm(3, 3, 3, I3, P3, T);
    NG_CHECK_NEAR(max_abs_diff(9, T, Id), 0.0, 1e-13);
    NG_CHECK(ng_dpinv_sym(3, I3, -1.0, P3, NULL) == NG_EINVAL);
}

static void test_pinv_laplacian_chain(void)
{
    enum { n = 9 };
    double L[n * n] = {0}, P[n * n], PL[n * n];
    for (size_t t = 0; t + 1 < n; t++) {
        L[t * n + t] += 1;
        L[(t + 1) * n + t + 1] += 1;
        L[t * n + t + 1] -= 1;
        L[(t + 1) * n + t] -= 1;
    }
    size_t rank = 0;
    NG_CHECK(ng_dpinv_sym(n, L, 1e-10, P, &rank) == NG_OK);
    NG_CHECK(rank == n - 1);
    mm(n, n, n, P, L, PL);
    double e = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            e = fmax(e, fabs(PL[i * n + j] - ((i == j) - 1.0 / n)));
    NG_CHECK_NEAR(e, 0.0, 1e-12);
    /* P 1 = 0 */
    double rs = 0.0;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++) s += P[i * n + j];
        rs = fmax(rs, fabs(s));
    }
    NG_CHECK_NEAR(rs, 0.0, 1e-12);
    check_mp(n, L, P, 1e-11);
}

/* ------------------------------------------------------------------ Procrustes */

/* ||R A - B||_F^2 for float d x N data. */
static double proc_cost(size_t d, size_t N, const double *R, const float *A, const float *B)
{
    double c = 0.0;
    for (size_t i = 0; i < d; i++)
        for (size_t t = 0; t < N; t++) {
            double s = -(double)B[i * N + t];
            for (size_t j = 0; j < d; j++) s += R[i * d + j] * (double)A[j * N + t];
            c += s * s;
        }
    return c;
}

static void apply_rot(size_t d, size_t N, const double *R, const float *A, float *B, double noise)
{
    for (size_t i = 0; i < d; i++)
        for (size_t t = 0; t < N; t++) {
            double s = 0.0;
            for (size_t j = 0; j < d; j++) s += R[i * d + j] * (double)A[j * N + t];
            B[i * N + t] = (float)(s + noise * tnormal());
        }
}

static void test_procrustes_recovers_rotation(void)
{
    tseed(31);
    enum { d = 5, N = 3000 }; /* N > the internal block size: exercises accumulation */
    double R0[d * d], R[d * d], det = 0.0;
    float *A = malloc(d * N * sizeof *A), *B = malloc(d * N * sizeof *B);
    for (size_t i = 0; i < d * N; i++) A[i] = (float)tnormal();
    rand_orth(d, R0, +1);
    apply_rot(d, N, R0, A, B, 0.0);
    NG_CHECK(ng_procrustes(d, N, A, B, 0, R, &det) == NG_OK);
    NG_CHECK(det == 1.0);
    NG_CHECK_NEAR(max_abs_diff(d * d, R, R0), 0.0, 1e-6);
    /* a rotation in O(d) mode gives the same answer */
    NG_CHECK(ng_procrustes(d, N, A, B, 1, R, &det) == NG_OK);
    NG_CHECK(det == 1.0);
    NG_CHECK_NEAR(max_abs_diff(d * d, R, R0), 0.0, 1e-6);
    /* cross-matrix entry point with a reference M = B A^T */
    double M[d * d];
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double s = 0.0;
            for (size_t t = 0; t < N; t++) s += (double)B[i * N + t] * (double)A[j * N + t];
            M[i * d + j] = s;
        }
    NG_CHECK(ng_procrustes_cross(d, M, 0, R, NULL) == NG_OK);
    NG_CHECK_NEAR(max_abs_diff(d * d, R, R0), 0.0, 1e-6);
    /* identity on identical data */
    NG_CHECK(ng_procrustes(d, N, A, A, 0, R, &det) == NG_OK);
    double Id[d * d] = {0};
    for (size_t i = 0; i < d; i++) Id[i * d + i] = 1.0;
    NG_CHECK_NEAR(max_abs_diff(d * d, R, Id), 0.0, 1e-10);
    free(A);
    free(B);
}

static void test_procrustes_reflection_so_vs_o(void)
{
    tseed(32);
    enum { d = 3, N = 40 };
    double Q[d * d], R[d * d], Ro[d * d], det = 0.0;
    float A[d * N], B[d * N];
    for (size_t i = 0; i < d * N; i++) A[i] = (float)tnormal();
    rand_orth(d, Q, -1); /* a reflection */
    NG_CHECK(det_ref(d, Q) < 0);
    apply_rot(d, N, Q, A, B, 0.05);
    /* O(d): recovers the reflection */
    NG_CHECK(ng_procrustes(d, N, A, B, 1, Ro, &det) == NG_OK);
    NG_CHECK(det == -1.0);
    NG_CHECK_NEAR(det_ref(d, Ro), -1.0, 1e-12);
    NG_CHECK_NEAR(max_abs_diff(d * d, Ro, Q), 0.0, 0.05);
    /* SO(d): a proper rotation, orthogonal */
    NG_CHECK(ng_procrustes(d, N, A, B, 0, R, &det) == NG_OK);
    NG_CHECK(det == 1.0);
    NG_CHECK_NEAR(det_ref(d, R), 1.0, 1e-12);
    NG_CHECK_NEAR(orth_cols_err(d, d, R), 0.0, 1e-13);
    double c_so = proc_cost(d, N, R, A, B), c_o = proc_cost(d, N, Ro, A, B);
    NG_CHECK(c_o < c_so); /* the reflection fits better than any rotation */
    /* brute force: no random rotation beats the SO(d) answer */
    double best = INFINITY, Z[d * d];
    for (int trial = 0; trial < 2000; trial++) {
        rand_orth(d, Z, +1);
        best = fmin(best, proc_cost(d, N, Z, A, B));
    }
    NG_CHECK_MSG(c_so <= best * (1.0 + 1e-12), "SO(d) cost %g, best random %g", c_so, best);
    /* ... and small perturbations (exp of a small skew) do not improve it either */
    double G[d * d], E[d * d], RE[d * d];
    int improved = 0;
    for (int trial = 0; trial < 200; trial++) {
        rand_skew(d, G, 1e-3);
        NG_CHECK(ng_expm_skew(d, G, E) == NG_OK);
        mm(d, d, d, R, E, RE);
        if (proc_cost(d, N, RE, A, B) < c_so * (1.0 - 1e-9)) improved = 1;
    }
    NG_CHECK(!improved);
    /* NaN data */
    A[5] = NAN;
    NG_CHECK(ng_procrustes(d, N, A, B, 0, R, &det) == NG_ENUMERIC);
    NG_CHECK(ng_procrustes(d, N, NULL, B, 0, R, &det) == NG_EINVAL);
}

/* ------------------------------------------------------------------ expm / Cayley */

/* exp(G) by a `terms`-term Taylor series after scaling by 2^-s, then s squarings. */
static void expm_taylor(size_t d, const double *G, int terms, int s, double *E)
{
    double *T = malloc(d * d * sizeof *T), *T2 = malloc(d * d * sizeof *T2),
           *A = malloc(d * d * sizeof *A);
    double sc = ldexp(1.0, -s);
    for (size_t i = 0; i < d * d; i++) A[i] = G[i] * sc;
    memset(E, 0, d * d * sizeof *E);
    memset(T, 0, d * d * sizeof *T);
    for (size_t i = 0; i < d; i++) E[i * d + i] = T[i * d + i] = 1.0;
    for (int k = 1; k < terms; k++) {
        mm(d, d, d, T, A, T2);
        for (size_t i = 0; i < d * d; i++) {
            T[i] = T2[i] / k;
            E[i] += T[i];
        }
    }
    for (int k = 0; k < s; k++) {
        mm(d, d, d, E, E, T2);
        memcpy(E, T2, d * d * sizeof *E);
    }
    free(T);
    free(T2);
    free(A);
}

static void test_expm_skew(void)
{
    tseed(41);
    /* 2x2: [[cos, -sin], [sin, cos]], including angles that need scaling */
    const double ang[] = {0.0, 0.3, -1.2, 2.5, 10.0, 100.0};
    for (size_t a = 0; a < sizeof ang / sizeof ang[0]; a++) {
        double t = ang[a], G[4] = {0, -t, t, 0}, R[4];
        NG_CHECK(ng_expm_skew(2, G, R) == NG_OK);
        double ref[4] = {cos(t), -sin(t), sin(t), cos(t)};
        NG_CHECK_MSG(max_abs_diff(4, R, ref) < 1e-13 * fmax(1.0, fabs(t)), "angle %g err %g", t,
                     max_abs_diff(4, R, ref));
    }
    /* small G: 30-term Taylor series, no scaling */
    enum { d = 6 };
    double G[d * d], R[d * d], E[d * d];
    rand_skew(d, G, 0.1);
    NG_CHECK(ng_expm_skew(d, G, R) == NG_OK);
    expm_taylor(d, G, 30, 0, E);
    NG_CHECK_NEAR(max_abs_diff(d * d, R, E), 0.0, 1e-14);
    /* larger G (scaling and squaring inside): orthogonal, det +1, Taylor after scaling */
    const double scales[] = {1.0, 5.0};
    for (size_t k = 0; k < 2; k++) {
        rand_skew(d, G, scales[k]);
        NG_CHECK(ng_expm_skew(d, G, R) == NG_OK);
        NG_CHECK_NEAR(orth_cols_err(d, d, R), 0.0, 1e-12);
        NG_CHECK_NEAR(det_ref(d, R), 1.0, 1e-12);
        expm_taylor(d, G, 30, 8, E);
        NG_CHECK_MSG(max_abs_diff(d * d, R, E) < 1e-11, "scale %g err %g", scales[k],
                     max_abs_diff(d * d, R, E));
        /* exp(G) exp(-G) = I */
        double Gm[d * d], Rm[d * d], P[d * d], Id[d * d] = {0};
        for (size_t i = 0; i < d * d; i++) Gm[i] = -G[i];
        for (size_t i = 0; i < d; i++) Id[i * d + i] = 1.0;
        NG_CHECK(ng_expm_skew(d, Gm, Rm) == NG_OK);
        mm(d, d, d, R, Rm, P);
        NG_CHECK_NEAR(max_abs_diff(d * d, P, Id), 0.0, 1e-12);
    }
    /* not skew */
    G[1] += 1.0;
    NG_CHECK(ng_expm_skew(d, G, R) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "skew") != NULL);
    G[1] -= 1.0;
    G[0] = NAN;
    NG_CHECK(ng_expm_skew(d, G, R) == NG_ENUMERIC);
    NG_CHECK(ng_expm_skew(d, NULL, R) == NG_EINVAL);
    /* zero */
    double Z[4] = {0}, RZ[4];
    NG_CHECK(ng_expm_skew(2, Z, RZ) == NG_OK);
    double I2[4] = {1, 0, 0, 1};
    NG_CHECK_NEAR(max_abs_diff(4, RZ, I2), 0.0, 1e-15);
}

static void test_cayley(void)
{
    tseed(42);
    const double ang[] = {0.0, 0.4, -3.0, 50.0};
    for (size_t k = 0; k < 4; k++) {
        double t = ang[k], a = 0.5 * t, G[4] = {0, -t, t, 0}, R[4];
        NG_CHECK(ng_cayley(2, G, R) == NG_OK);
        double den = 1.0 + a * a;
        double ref[4] = {(1 - a * a) / den, -2 * a / den, 2 * a / den, (1 - a * a) / den};
        NG_CHECK_NEAR(max_abs_diff(4, R, ref), 0.0, 1e-14);
    }
    enum { d = 7 };
    double G[d * d], R[d * d], E[d * d];
    rand_skew(d, G, 2.0);
    NG_CHECK(ng_cayley(d, G, R) == NG_OK);
    NG_CHECK_NEAR(orth_cols_err(d, d, R), 0.0, 1e-13);
    NG_CHECK_NEAR(det_ref(d, R), 1.0, 1e-12);
    /* (I - G/2) R = I + G/2 directly */
    double P[d * d], PR[d * d], Qm[d * d];
    for (size_t i = 0; i < d * d; i++) {
        P[i] = -0.5 * G[i];
        Qm[i] = 0.5 * G[i];
    }
    for (size_t i = 0; i < d; i++) {
        P[i * d + i] += 1.0;
        Qm[i * d + i] += 1.0;
    }
    mm(d, d, d, P, R, PR);
    NG_CHECK_NEAR(max_abs_diff(d * d, PR, Qm), 0.0, 1e-12);
    /* second-order agreement with exp for small G: |cay(G) - exp(G)| = O(|G|^3) */
    rand_skew(d, G, 1e-3);
    NG_CHECK(ng_cayley(d, G, R) == NG_OK);
    NG_CHECK(ng_expm_skew(d, G, E) == NG_OK);
    double e = max_abs_diff(d * d, R, E);
    NG_CHECK(e < 1e-8 && e > 0.0);
    G[2] = 5.0; /* breaks skew-symmetry */
    NG_CHECK(ng_cayley(d, G, R) == NG_EINVAL);
}

/* The workspace variants used by the symmetry phases: bit-identical to the allocating
 * public functions for d = 1..40 (reflections included), one workspace reused across
 * calls and functions, no allocation, and a short workspace refused with NG_EINVAL. */
static void test_rotation_ws_variants(void)
{
    tseed(77);
    enum { DM = 40 };
    size_t len = ngi_rot_ws_len(DM);
    NG_CHECK(len > 0);
    double *ws = malloc(len * sizeof *ws);
    double *M = malloc(DM * DM * sizeof *M), *G = malloc(DM * DM * sizeof *G);
    double *R1 = malloc(DM * DM * sizeof *R1), *R2 = malloc(DM * DM * sizeof *R2);
    int same = 1;
    size_t allocs = 0;
    for (size_t d = 1; d <= DM; d += (d < 8 ? 1 : 8)) {
        size_t ld = ngi_rot_ws_len(d);
        NG_CHECK(ld > 0 && ld <= len);
        for (int rep = 0; rep < 3; rep++) {
            rand_d(M, d * d);
            rand_skew(d, G, rep == 2 ? 3.0 : 0.3);
            for (int refl = 0; refl < 2; refl++) {
                double det1 = 0, det2 = 0;
                NG_CHECK(ng_procrustes_cross(d, M, refl, R1, &det1) == NG_OK);
                size_t c0 = ngi_alloc_count();
                NG_CHECK(ngi_procrustes_cross_ws(d, M, refl, R2, &det2, ws, ld) == NG_OK);
                allocs += ngi_alloc_count() - c0;
                same &= det1 == det2 && memcmp(R1, R2, d * d * sizeof *R1) == 0;
            }
            NG_CHECK(ng_expm_skew(d, G, R1) == NG_OK);
            size_t c0 = ngi_alloc_count();
            NG_CHECK(ngi_expm_skew_ws(d, G, R2, ws, ld) == NG_OK);
            allocs += ngi_alloc_count() - c0;
            same &= memcmp(R1, R2, d * d * sizeof *R1) == 0;
            NG_CHECK(ng_cayley(d, G, R1) == NG_OK);
            c0 = ngi_alloc_count();
            NG_CHECK(ngi_cayley_ws(d, G, R2, ws, ld) == NG_OK);
            allocs += ngi_alloc_count() - c0;
            same &= memcmp(R1, R2, d * d * sizeof *R1) == 0;
        }
    }
    NG_CHECK(same);
    NG_CHECK(allocs == 0);
    /* too short (the fixed part without the SVD's work) or missing: refused, R untouched */
    size_t d = 6;
    rand_d(M, d * d);
    rand_skew(d, G, 0.3);
    for (size_t k = 0; k < d * d; k++) R2[k] = -7.0;
    NG_CHECK(ngi_procrustes_cross_ws(d, M, 1, R2, NULL, ws, 4 * d * d + d) == NG_EINVAL);
    NG_CHECK(ngi_procrustes_cross_ws(d, M, 1, R2, NULL, NULL, len) == NG_EINVAL);
    NG_CHECK(ngi_expm_skew_ws(d, G, R2, ws, 7 * d * d - 1) == NG_EINVAL);
    NG_CHECK(ngi_cayley_ws(d, G, R2, ws, 1) == NG_EINVAL);
    NG_CHECK(R2[0] == -7.0 && R2[d * d - 1] == -7.0);
    NG_CHECK(ngi_rot_ws_len(0) == 1 && ngi_rot_ws_len((size_t)1 << 20) == 0);
    free(ws);
    free(M);
    free(G);
    free(R1);
    free(R2);
}

static void test_bad_shapes_and_sizes(void)
{
    double a[4] = {1, 0, 0, 1}, r[4];
    NG_CHECK(ng_dsyev(2, a, NULL) == NG_EINVAL);
    NG_CHECK(ng_dsyev(0, NULL, NULL) == NG_OK);
    NG_CHECK(ng_dchol_solve(2, NULL, 1, r) == NG_EINVAL);
    NG_CHECK(ng_dchol_solve(2, a, 1, NULL) == NG_EINVAL);
    NG_CHECK(ng_dpinv_sym(2, a, 1e-12, NULL, NULL) == NG_EINVAL);
    NG_CHECK(ng_procrustes_cross(2, NULL, 0, r, NULL) == NG_EINVAL);
    NG_CHECK(ng_procrustes_cross(2, a, 0, NULL, NULL) == NG_EINVAL);
    NG_CHECK(ng_cayley(2, a, NULL) == NG_EINVAL);
    NG_CHECK(ng_dsyev((size_t)1 << 40, a, r) == NG_EINVAL);
    NG_CHECK(ng_expm_skew((size_t)1 << 40, a, r) == NG_EINVAL);
    double m[4] = {1, 2, NAN, 4};
    NG_CHECK(ng_procrustes_cross(2, m, 0, r, NULL) == NG_ENUMERIC);
    NG_CHECK(strstr(ng_last_error(), "(1, 0)") != NULL);
}

int main(void)
{
    NG_RUN(test_gemm_all_transposes);
    NG_RUN(test_gemv_all_transposes);
    NG_RUN(test_gemm_bad_shapes);
    NG_RUN(test_dsyev);
    NG_RUN(test_dsvd);
    NG_RUN(test_chol_solve);
    NG_RUN(test_pinv_rank_deficient);
    NG_RUN(test_pinv_laplacian_chain);
    NG_RUN(test_procrustes_recovers_rotation);
    NG_RUN(test_procrustes_reflection_so_vs_o);
    NG_RUN(test_expm_skew);
    NG_RUN(test_cayley);
    NG_RUN(test_rotation_ws_variants);
    NG_RUN(test_bad_shapes_and_sizes);
    return ng_test_summary();
}
