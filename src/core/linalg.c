/* linalg.c - the numerical core: checked wrappers over OpenBLAS (cblas) and LAPACKE.
 *
 * Everything is row-major. The wrappers check shapes (the message names them), pointer
 * and size sanity, and LAPACK info codes. NaN/Inf is checked where it is cheap relative to
 * the work (decompositions, solves, Procrustes); gemm/gemv are hot paths and are not
 * scanned. Small d x d helpers (expm, Cayley, Procrustes) work in double throughout. */
#include "internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

/* BLAS/LAPACK take int dimensions. */
static int fits_int(size_t x) { return x <= (size_t)INT_MAX; }

/* Maps a LAPACKE return code to a status with a message; info > 0 is the routine's own
 * numerical failure, described by `numeric_what`. */
static ng_status lapack_status(const char *fn, const char *routine, lapack_int info,
                               const char *numeric_what)
{
    if (info == 0) return NG_OK;
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return ngi_fail(NG_ENOMEM, "%s: %s could not allocate its workspace", fn, routine);
    if (info < 0)
        return ngi_fail(NG_EINVAL, "%s: %s rejected argument %d", fn, routine, (int)-info);
    return ngi_fail(NG_ENUMERIC, "%s: %s failed (info %d): %s", fn, routine, (int)info,
                   numeric_what);
}

/* Index of the first non-finite entry of an r x c block with leading dimension ld, or
 * SIZE_MAX when all are finite. */
static size_t first_nonfinite_d(const double *x, size_t r, size_t c, size_t ld)
{
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < c; j++)
            if (!isfinite(x[i * ld + j])) return i * ld + j;
    return SIZE_MAX;
}

static ng_status check_finite_d(const char *fn, const char *name, const double *x, size_t r,
                                size_t c, size_t ld)
{
    size_t k = first_nonfinite_d(x, r, c, ld);
    if (k == SIZE_MAX) return NG_OK;
    return ngi_fail(NG_ENUMERIC, "%s: %s has a non-finite entry %g at (%zu, %zu); expected finite values",
                   fn, name, x[k], k / ld, k % ld);
}

/* Size of a square n x n matrix in elements, checked for overflow and int range. */
static ng_status check_square(const char *fn, size_t n, const void *p, const char *name)
{
    if (!fits_int(n) || (n > 0 && n > SIZE_MAX / n / sizeof(double)))
        return ngi_fail(NG_EINVAL, "%s: n = %zu is too large", fn, n);
    if (n > 0 && !p) return ngi_fail(NG_EINVAL, "%s: %s is NULL for n = %zu", fn, name, n);
    return NG_OK;
}

/* Memory span [lo, hi) in bytes of a rows x cols view with leading dimension ld. */
static int spans_overlap(const void *a, size_t ar, size_t ac, size_t ald, const void *b,
                         size_t br, size_t bc, size_t bld, size_t elem)
{
    if (!a || !b || ar == 0 || ac == 0 || br == 0 || bc == 0) return 0;
    uintptr_t alo = (uintptr_t)a, ahi = alo + ((ar - 1) * ald + ac) * elem;
    uintptr_t blo = (uintptr_t)b, bhi = blo + ((br - 1) * bld + bc) * elem;
    return alo < bhi && blo < ahi;
}

/* A view is valid if ld >= cols, its sizes fit the BLAS int, and data is non-NULL when
 * it has entries. */
static ng_status check_view(const char *fn, const char *name, const void *data, size_t rows,
                            size_t cols, size_t ld)
{
    if (ld < cols)
        return ngi_fail(NG_EINVAL, "%s: %s is %zux%zu with ld %zu; expected ld >= cols", fn,
                       name, rows, cols, ld);
    if (!fits_int(rows) || !fits_int(cols) || !fits_int(ld))
        return ngi_fail(NG_EINVAL, "%s: %s is %zux%zu (ld %zu); dimensions must fit in int", fn,
                       name, rows, cols, ld);
    if (rows > 0 && cols > 0 && !data)
        return ngi_fail(NG_EINVAL, "%s: %s is %zux%zu but its data is NULL", fn, name, rows, cols);
    return NG_OK;
}

/* Shapes of op(A) op(B) -> C: m x k times k x n into m x n. */
static ng_status gemm_shapes(const char *fn, int ta, int tb, size_t ar, size_t ac, size_t br,
                             size_t bc, size_t cr, size_t cc, int *m, int *n, int *k)
{
    size_t om = ta ? ac : ar, ok = ta ? ar : ac;
    size_t ok2 = tb ? bc : br, on = tb ? br : bc;
    if (ok != ok2 || cr != om || cc != on)
        return ngi_fail(NG_EINVAL,
                       "%s: op(A) is %zux%zu (A %zux%zu%s), op(B) is %zux%zu (B %zux%zu%s), C is "
                       "%zux%zu; expected op(A) m x k, op(B) k x n, C m x n",
                       fn, om, ok, ar, ac, ta ? ", transposed" : "", ok2, on, br, bc,
                       tb ? ", transposed" : "", cr, cc);
    *m = (int)om;
    *n = (int)on;
    *k = (int)ok;
    return NG_OK;
}

/* ------------------------------------------------------------------ gemm / gemv */

/* A matrix view of either precision, for the checks the float and double wrappers share. */
typedef struct {
    const void *data;
    size_t rows, cols, ld;
} any_view;
#define ANY_VIEW(X) ((any_view){(X).data, (X).rows, (X).cols, (X).ld})

/* Views valid, shapes compatible (m, n, k out), C not overlapping A or B. */
static ng_status gemm_check(const char *fn, int ta, int tb, any_view A, any_view B, any_view C,
                            size_t elem, int *m, int *n, int *k)
{
    ng_status st;
    if ((st = check_view(fn, "A", A.data, A.rows, A.cols, A.ld)) ||
        (st = check_view(fn, "B", B.data, B.rows, B.cols, B.ld)) ||
        (st = check_view(fn, "C", C.data, C.rows, C.cols, C.ld)))
        return st;
    if ((st = gemm_shapes(fn, ta, tb, A.rows, A.cols, B.rows, B.cols, C.rows, C.cols, m, n, k)))
        return st;
    if (spans_overlap(C.data, C.rows, C.cols, C.ld, A.data, A.rows, A.cols, A.ld, elem) ||
        spans_overlap(C.data, C.rows, C.cols, C.ld, B.data, B.rows, B.cols, B.ld, elem))
        return ngi_fail(NG_EINVAL, "%s: C overlaps A or B in memory; expected distinct buffers", fn);
    return NG_OK;
}

ng_status ng_sgemm(int transA, int transB, float alpha, ng_matf A, ng_matf B, float beta,
                   ng_matf C)
{
    int m = 0, n = 0, k = 0;
    ng_status st = gemm_check("ng_sgemm", transA, transB, ANY_VIEW(A), ANY_VIEW(B), ANY_VIEW(C),
                              sizeof(float), &m, &n, &k);
    if (st || m == 0 || n == 0) return st;
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, A.data,
                (int)(A.ld ? A.ld : 1), B.data, (int)(B.ld ? B.ld : 1), beta, C.data, (int)C.ld);
    return NG_OK;
}

ng_status ng_dgemm(int transA, int transB, double alpha, ng_matd A, ng_matd B, double beta,
                   ng_matd C)
{
    int m = 0, n = 0, k = 0;
    ng_status st = gemm_check("ng_dgemm", transA, transB, ANY_VIEW(A), ANY_VIEW(B), ANY_VIEW(C),
                              sizeof(double), &m, &n, &k);
    if (st || m == 0 || n == 0) return st;
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, A.data,
                (int)(A.ld ? A.ld : 1), B.data, (int)(B.ld ? B.ld : 1), beta, C.data, (int)C.ld);
    return NG_OK;
}

/* op(A) is m x n: x has n entries, y has m. */
static ng_status gemv_check(const char *fn, int transA, const void *data, size_t rows,
                            size_t cols, size_t ld, const void *x, const void *y, size_t elem)
{
    ng_status st = check_view(fn, "A", data, rows, cols, ld);
    if (st) return st;
    size_t ny = transA ? cols : rows, nx = transA ? rows : cols;
    if ((nx > 0 && !x) || (ny > 0 && !y))
        return ngi_fail(NG_EINVAL, "%s: x (%zu entries) or y (%zu entries) is NULL", fn, nx, ny);
    if (spans_overlap(y, 1, ny, ny, data, rows, cols, ld, elem) ||
        spans_overlap(y, 1, ny, ny, x, 1, nx, nx, elem))
        return ngi_fail(NG_EINVAL, "%s: y overlaps A or x in memory; expected distinct buffers", fn);
    return NG_OK;
}

ng_status ng_sgemv(int transA, float alpha, ng_matf A, const float *x, float beta, float *y)
{
    ng_status st = gemv_check("ng_sgemv", transA, A.data, A.rows, A.cols, A.ld, x, y, sizeof(float));
    if (st) return st;
    if (A.rows == 0 || A.cols == 0) {
        /* empty product: y = beta * y over op(A)'s rows */
        size_t ny = transA ? A.cols : A.rows;
        for (size_t i = 0; i < ny; i++) y[i] = beta == 0.0f ? 0.0f : beta * y[i];
        return NG_OK;
    }
    cblas_sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, (int)A.rows, (int)A.cols,
                alpha, A.data, (int)A.ld, x, 1, beta, y, 1);
    return NG_OK;
}

ng_status ng_dgemv(int transA, double alpha, ng_matd A, const double *x, double beta, double *y)
{
    ng_status st = gemv_check("ng_dgemv", transA, A.data, A.rows, A.cols, A.ld, x, y, sizeof(double));
    if (st) return st;
    if (A.rows == 0 || A.cols == 0) {
        size_t ny = transA ? A.cols : A.rows;
        for (size_t i = 0; i < ny; i++) y[i] = beta == 0.0 ? 0.0 : beta * y[i];
        return NG_OK;
    }
    cblas_dgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, (int)A.rows, (int)A.cols,
                alpha, A.data, (int)A.ld, x, 1, beta, y, 1);
    return NG_OK;
}

/* ------------------------------------------------------------------ decompositions */

ng_status ng_dsyev(size_t n, double *A, double *w)
{
    static const char fn[] = "ng_dsyev";
    ng_status st;
    if ((st = check_square(fn, n, A, "A")) || (st = check_square(fn, n, w, "w"))) return st;
    if (n == 0) return NG_OK;
    if ((st = check_finite_d(fn, "A", A, n, n, n))) return st;
    /* dsyevd: divide and conquer, eigenvalues ascending, vectors as columns. */
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, A, (lapack_int)n, w);
    return lapack_status(fn, "dsyevd", info, "eigenvalues did not converge");
}

ng_status ng_dsvd(size_t m, size_t n, double *A, double *U, double *s, double *Vt)
{
    static const char fn[] = "ng_dsvd";
    if (!fits_int(m) || !fits_int(n) || (m > 0 && n > SIZE_MAX / m / sizeof(double)))
        return ngi_fail(NG_EINVAL, "%s: %zux%zu is too large", fn, m, n);
    size_t k = m < n ? m : n;
    if (k == 0) return NG_OK;
    if (!A || !U || !s || !Vt)
        return ngi_fail(NG_EINVAL, "%s: A, U, s or Vt is NULL for a %zux%zu matrix", fn, m, n);
    ng_status st = check_finite_d(fn, "A", A, m, n, n);
    if (st) return st;
    /* gesdd is faster; it may (rarely) fail to converge, then fall back to gesvd on a
     * saved copy since gesdd destroys A. */
    double *save = ngi_xmalloc(m * n * sizeof *save);
    if (!save) return ngi_fail(NG_ENOMEM, "%s: out of memory for a %zux%zu copy", fn, m, n);
    memcpy(save, A, m * n * sizeof *save);
    lapack_int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', (lapack_int)m, (lapack_int)n, A,
                                     (lapack_int)n, s, U, (lapack_int)k, Vt, (lapack_int)n);
    if (info > 0) {
        memcpy(A, save, m * n * sizeof *save);
        double *superb = ngi_xmalloc((k > 1 ? k - 1 : 1) * sizeof *superb);
        if (!superb) {
            free(save);
            return ngi_fail(NG_ENOMEM, "%s: out of memory", fn);
        }
        info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', (lapack_int)m, (lapack_int)n, A,
                              (lapack_int)n, s, U, (lapack_int)k, Vt, (lapack_int)n, superb);
        free(superb);
        free(save);
        return lapack_status(fn, "dgesvd", info, "singular values did not converge");
    }
    free(save);
    return lapack_status(fn, "dgesdd", info, "singular values did not converge");
}

ng_status ng_dchol_solve(size_t n, double *A, size_t nrhs, double *B)
{
    static const char fn[] = "ng_dchol_solve";
    ng_status st;
    if ((st = check_square(fn, n, A, "A"))) return st;
    if (!fits_int(nrhs)) return ngi_fail(NG_EINVAL, "%s: nrhs = %zu is too large", fn, nrhs);
    if (n == 0) return NG_OK;
    if (nrhs > 0 && !B) return ngi_fail(NG_EINVAL, "%s: B is NULL (n %zu, nrhs %zu)", fn, n, nrhs);
    if ((st = check_finite_d(fn, "A", A, n, n, n))) return st;
    if (nrhs > 0 && (st = check_finite_d(fn, "B", B, n, nrhs, nrhs))) return st;
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, A, (lapack_int)n);
    if (info > 0)
        return ngi_fail(NG_ENUMERIC,
                       "%s: the %zux%zu matrix is not positive definite (leading minor of order %d); "
                       "expected an SPD matrix",
                       fn, n, n, (int)info);
    if ((st = lapack_status(fn, "dpotrf", info, "factorisation failed"))) return st;
    if (nrhs == 0) return NG_OK;
    info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, (lapack_int)nrhs, A, (lapack_int)n,
                          B, (lapack_int)nrhs);
    return lapack_status(fn, "dpotrs", info, "solve failed");
}

ng_status ng_dpinv_sym(size_t n, const double *A, double tol, double *P, size_t *rank)
{
    static const char fn[] = "ng_dpinv_sym";
    ng_status st;
    if ((st = check_square(fn, n, A, "A")) || (st = check_square(fn, n, P, "P"))) return st;
    if (!(tol >= 0.0) || !isfinite(tol))
        return ngi_fail(NG_EINVAL, "%s: tol = %g; expected a finite tol >= 0", fn, tol);
    if (rank) *rank = 0;
    if (n == 0) return NG_OK;
    double *Q = ngi_xmalloc(n * n * sizeof *Q), *w = ngi_xmalloc(n * sizeof *w),
           *S = ngi_xmalloc(n * n * sizeof *S);
    if (!Q || !w || !S) {
        free(Q);
        free(w);
        free(S);
        return ngi_fail(NG_ENOMEM, "%s: out of memory for n = %zu", fn, n);
    }
    memcpy(Q, A, n * n * sizeof *Q); /* also makes P == A safe */
    st = ng_dsyev(n, Q, w);
    if (st) goto done;
    double wmax = 0.0;
    for (size_t j = 0; j < n; j++) wmax = fmax(wmax, fabs(w[j]));
    double cut = tol * wmax;
    size_t kept = 0;
    /* S = Q diag(1/w or 0): P = S Q^T. */
    for (size_t j = 0; j < n; j++) {
        int keep = fabs(w[j]) > cut;
        kept += (size_t)keep;
        w[j] = keep ? 1.0 / w[j] : 0.0;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) S[i * n + j] = Q[i * n + j] * w[j];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)n, 1.0, S, (int)n, Q,
                (int)n, 0.0, P, (int)n);
    /* exact symmetry (rounding in the product breaks it slightly) */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double v = 0.5 * (P[i * n + j] + P[j * n + i]);
            P[i * n + j] = P[j * n + i] = v;
        }
    if (rank) *rank = kept;
done:
    free(Q);
    free(w);
    free(S);
    return st;
}

/* ------------------------------------------------------------------ rotations */

/* Sign of det(X) for a d x d matrix via LU (X is copied into work; ipiv has d entries):
 * *sign = +1/-1, or 0 for an exactly singular matrix. The factorisation runs in column-major
 * order on the row-major buffer, i.e. on X^T, which has the same determinant and saves
 * LAPACKE's transposed copies. */
static ng_status det_sign(const char *fn, size_t d, const double *X, double *work,
                          lapack_int *ipiv, int *sign)
{
    memcpy(work, X, d * d * sizeof *work);
    lapack_int info = LAPACKE_dgetrf_work(LAPACK_COL_MAJOR, (lapack_int)d, (lapack_int)d, work,
                                     (lapack_int)d, ipiv);
    if (info < 0) return lapack_status(fn, "dgetrf", info, "");
    if (info > 0) {
        *sign = 0;
        return NG_OK;
    }
    int sg = 1;
    for (size_t i = 0; i < d; i++) {
        if (ipiv[i] != (lapack_int)(i + 1)) sg = -sg;
        if (work[i * d + i] < 0) sg = -sg;
    }
    *sign = sg;
    return NG_OK;
}

/* ------------------------------------------------------------------ rotation workspace
 * The d x d helpers below run inside every symmetry phase, so each has a _ws variant
 * that takes a caller workspace of ngi_rot_ws_len(d) doubles and does not allocate.
 * LAPACK is called through the low-level *_work drivers: the LAPACKE convenience
 * drivers for dgesdd/dgesvd malloc their work arrays on every call.
 * Layout: 9d lapack_ints first (d pivots, 8d dgesdd iwork), then the doubles; the SVD's
 * work array is whatever the caller's length leaves after the fixed part. */

/* Doubles that hold the 9d lapack_ints at the start of a workspace. */
static size_t rot_ints(size_t d)
{
    return (9 * d * sizeof(lapack_int) + sizeof(double) - 1) / sizeof(double);
}

/* LAPACK's documented minimum work for dgesdd 'A' with m = n = d; dgesvd 'A' needs
 * less (max(3d + d, 5d)). */
static size_t svd_min_lwork(size_t d) { return 3 * d * d + (d > 4 * d * d + 4 * d ? d : 4 * d * d + 4 * d); }

size_t ngi_rot_ws_len(size_t d)
{
    if (d == 0) return 1;
    if (!fits_int(d) || d > 8192) return 0; /* 7 d^2 work entries must fit LAPACK's int */
    /* ask LAPACK for its optimal size (a query reads no matrix data) */
    double q1 = 0.0, q2 = 0.0, dummy = 0.0;
    lapack_int iw = 0, n = (lapack_int)d;
    if (LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'A', n, n, &dummy, n, &dummy, &dummy, n, &dummy, n,
                            &q1, -1, &iw) != 0 ||
        LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'A', 'A', n, n, &dummy, n, &dummy, &dummy, n, &dummy,
                            n, &q2, -1) != 0)
        return 0;
    size_t lwork = (size_t)ceil(fmax(q1, q2)), lo = svd_min_lwork(d);
    if (lwork < lo) lwork = lo;
    size_t dd = d * d, procr = 4 * dd + d + lwork, expm = 7 * dd;
    return rot_ints(d) + (procr > expm ? procr : expm);
}

/* A workspace for a one-off call (counted like every library allocation). */
static ng_status rot_ws_new(const char *fn, size_t d, double **ws, size_t *len)
{
    *ws = NULL;
    *len = ngi_rot_ws_len(d);
    if (*len == 0)
        return ngi_fail(NG_EINVAL, "%s: d = %zu is too large (LAPACK int sizes) or LAPACK could not "
                                  "size its workspace", fn, d);
    *ws = ngi_xmalloc(*len * sizeof **ws);
    if (!*ws) return ngi_fail(NG_ENOMEM, "%s: out of memory for a workspace of d = %zu", fn, d);
    return NG_OK;
}

static ng_status check_ws(const char *fn, size_t d, const double *ws, size_t len, size_t need)
{
    if (!ws || len < rot_ints(d) + need)
        return ngi_fail(NG_EINVAL, "%s: workspace of %zu doubles for d = %zu; expected ngi_rot_ws_len(d) = %zu",
                       fn, ws ? len : 0, d, ngi_rot_ws_len(d));
    return NG_OK;
}

ng_status ngi_procrustes_cross_ws(size_t d, const double *M, int allow_reflection, double *R,
                                 double *det, double *ws, size_t ws_len)
{
    static const char fn[] = "ng_procrustes_cross";
    ng_status st;
    if ((st = check_square(fn, d, M, "M")) || (st = check_square(fn, d, R, "R"))) return st;
    if (d == 0) {
        if (det) *det = 1.0;
        return NG_OK;
    }
    size_t dd = d * d;
    if ((st = check_ws(fn, d, ws, ws_len, 4 * dd + d + svd_min_lwork(d)))) return st;
    if ((st = check_finite_d(fn, "M", M, d, d, d))) return st;
    lapack_int *ipiv = (lapack_int *)ws, *iwork = ipiv + d;
    double *A = ws + rot_ints(d), *Ub = A + dd, *Vb = Ub + dd, *W = Vb + dd, *s = W + dd,
           *work = s + d;
    size_t lw = ws_len - rot_ints(d) - 4 * dd - d;
    if (lw > (size_t)INT_MAX) lw = (size_t)INT_MAX;
    /* ||R A - B||^2 = const - 2 tr(R^T M) with M = B A^T: maximised by R = U V^T for
     * M = U S V^T. The SVD runs column-major on the row-major buffer, i.e. on
     * M^T = V S U^T: LAPACK's column-major "U" (Ub) is V, its "VT" (Vb) is U^T; read back
     * row-major, Ub holds V^T and Vb holds U. So R = Vb Ub (row-major), no transposes. */
    memcpy(A, M, dd * sizeof *A);
    lapack_int n = (lapack_int)d;
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'A', n, n, A, n, s, Ub, n, Vb, n, work,
                                          (lapack_int)lw, iwork);
    if (info > 0) { /* rare non-convergence of divide and conquer: QR iteration instead */
        memcpy(A, M, dd * sizeof *A);
        info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'A', 'A', n, n, A, n, s, Ub, n, Vb, n, work,
                                   (lapack_int)lw);
    }
    if ((st = lapack_status(fn, "dgesdd/dgesvd", info, "singular values did not converge")))
        return st;
    const double *U = Vb, *Vt = Ub; /* row-major U and V^T */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, U, (int)d,
                Vt, (int)d, 0.0, W, (int)d);
    int sign = 0;
    if ((st = det_sign(fn, d, W, A, ipiv, &sign))) return st;
    if (sign == 0)
        return ngi_fail(NG_ENUMERIC, "%s: U V^T came out singular; expected an orthogonal matrix", fn);
    if (sign < 0 && !allow_reflection) {
        /* best rotation: flip the direction of the smallest singular value,
         * R = U diag(1, ..., 1, -1) V^T = U V^T - 2 u_d v_d^T */
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++) W[i * d + j] -= 2.0 * U[i * d + (d - 1)] * Vt[(d - 1) * d + j];
        sign = 1;
    }
    memcpy(R, W, dd * sizeof *R);
    if (det) *det = (double)sign;
    return NG_OK;
}

ng_status ng_procrustes_cross(size_t d, const double *M, int allow_reflection, double *R,
                              double *det)
{
    /* argument errors are the _ws variant's; d = 0 needs no workspace */
    if (d == 0) return ngi_procrustes_cross_ws(d, M, allow_reflection, R, det, NULL, 0);
    size_t len = 0;
    double *ws = NULL;
    ng_status st = rot_ws_new("ng_procrustes_cross", d, &ws, &len);
    if (st) return st;
    st = ngi_procrustes_cross_ws(d, M, allow_reflection, R, det, ws, len);
    free(ws);
    return st;
}

ng_status ng_procrustes(size_t d, size_t N, const float *A, const float *B, int allow_reflection,
                        double *R, double *det)
{
    static const char fn[] = "ng_procrustes";
    ng_status st;
    if ((st = check_square(fn, d, R, "R"))) return st;
    if (!fits_int(N) || (d > 0 && N > SIZE_MAX / d))
        return ngi_fail(NG_EINVAL, "%s: N = %zu is too large", fn, N);
    if (d > 0 && N > 0 && (!A || !B))
        return ngi_fail(NG_EINVAL, "%s: A or B is NULL for d = %zu, N = %zu", fn, d, N);
    if (d == 0) {
        if (det) *det = 1.0;
        return NG_OK;
    }
    /* M = B A^T in double, a block of columns at a time (bounded memory for large N). */
    enum { BLK = 2048 };
    size_t blk = N < BLK ? (N ? N : 1) : BLK;
    double *M = ngi_xcalloc(d * d, sizeof *M);
    double *Ad = ngi_xmalloc(d * blk * sizeof *Ad), *Bd = ngi_xmalloc(d * blk * sizeof *Bd);
    if (!M || !Ad || !Bd) {
        st = ngi_fail(NG_ENOMEM, "%s: out of memory for d = %zu", fn, d);
        goto done;
    }
    for (size_t c0 = 0; c0 < N; c0 += blk) {
        size_t nb = N - c0 < blk ? N - c0 : blk;
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < nb; j++) {
                float a = A[i * N + c0 + j], b = B[i * N + c0 + j];
                if (!isfinite(a) || !isfinite(b)) {
                    st = ngi_fail(NG_ENUMERIC,
                                 "%s: %s has a non-finite entry at (%zu, %zu); expected finite values",
                                 fn, isfinite(a) ? "B" : "A", i, c0 + j);
                    goto done;
                }
                Ad[i * nb + j] = a;
                Bd[i * nb + j] = b;
            }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)nb, 1.0, Bd,
                    (int)nb, Ad, (int)nb, 1.0, M, (int)d);
    }
    st = ng_procrustes_cross(d, M, allow_reflection, R, det);
done:
    free(M);
    free(Ad);
    free(Bd);
    return st;
}

/* Checks G for finiteness and skew-symmetry: ||G + G^T||_F <= 1e-10 ||G||_F. */
static ng_status check_skew(const char *fn, size_t d, const double *G)
{
    ng_status st = check_finite_d(fn, "G", G, d, d, d);
    if (st) return st;
    double asym = 0.0, nrm = 0.0;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double s = G[i * d + j] + G[j * d + i];
            asym += s * s;
            nrm += G[i * d + j] * G[i * d + j];
        }
    /* the symmetric part (G + G^T) / 2 must be below 1e-10 ||G|| */
    if (0.5 * sqrt(asym) > 1e-10 * sqrt(nrm))
        return ngi_fail(NG_EINVAL, "%s: G is not skew-symmetric (||G + G^T|| = %.3g, ||G|| = %.3g)",
                       fn, sqrt(asym), sqrt(nrm));
    return NG_OK;
}

/* Solves P X = Q for d x d row-major P (destroyed) and Q (overwritten by X), where P and
 * Q COMMUTE (both are polynomials in the same matrix: Pade and Cayley). LAPACK in
 * column-major order sees P^T and Q^T and returns (P^T)^-1 Q^T = (Q P^-1)^T, which read
 * back row-major is Q P^-1 = P^-1 Q = X: no transposed copies needed. */
static ng_status solve_commuting(const char *fn, size_t d, double *P, double *Q, lapack_int *ipiv)
{
    lapack_int info = LAPACKE_dgesv_work(LAPACK_COL_MAJOR, (lapack_int)d, (lapack_int)d, P,
                                    (lapack_int)d, ipiv, Q, (lapack_int)d);
    return lapack_status(fn, "dgesv", info, "the denominator matrix is singular");
}

static void dmm(size_t d, const double *X, const double *Y, double *Z)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, X, (int)d,
                Y, (int)d, 0.0, Z, (int)d);
}

ng_status ngi_expm_skew_ws(size_t d, const double *G, double *R, double *ws, size_t ws_len)
{
    static const char fn[] = "ng_expm_skew";
    ng_status st;
    if ((st = check_square(fn, d, G, "G")) || (st = check_square(fn, d, R, "R"))) return st;
    if (d == 0) return NG_OK;
    if ((st = check_ws(fn, d, ws, ws_len, 7 * d * d))) return st;
    if ((st = check_skew(fn, d, G))) return st;
    /* Scaling and squaring with the [13/13] Pade approximant (Higham 2005): scale G by
     * 2^-s so that ||G||_1 <= theta_13, where the approximant is exact to double
     * precision, then square s times. */
    static const double b[14] = {64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
                                 1187353796428800.0,  129060195264000.0,   10559470521600.0,
                                 670442572800.0,      33522128640.0,       1323241920.0,
                                 40840800.0,          960960.0,            16380.0,
                                 182.0,               1.0};
    const double theta13 = 5.371920351148152;
    size_t dd = d * d;
    lapack_int *ipiv = (lapack_int *)ws;
    double *A = ws + rot_ints(d), *A2 = A + dd, *A4 = A2 + dd, *A6 = A4 + dd, *U = A6 + dd,
           *V = U + dd, *T = V + dd;
    double norm1 = 0.0;
    for (size_t j = 0; j < d; j++) {
        double c = 0.0;
        for (size_t i = 0; i < d; i++) c += fabs(G[i * d + j]);
        norm1 = fmax(norm1, c);
    }
    int s = 0;
    if (norm1 > theta13) s = (int)ceil(log2(norm1 / theta13));
    double scale = ldexp(1.0, -s);
    for (size_t i = 0; i < dd; i++) A[i] = G[i] * scale;
    dmm(d, A, A, A2);
    dmm(d, A2, A2, A4);
    dmm(d, A4, A2, A6);
    /* T = b13 A6 + b11 A4 + b9 A2;  U = A (A6 T + b7 A6 + b5 A4 + b3 A2 + b1 I) */
    for (size_t i = 0; i < dd; i++) T[i] = b[13] * A6[i] + b[11] * A4[i] + b[9] * A2[i];
    dmm(d, A6, T, V); /* V used as scratch */
    for (size_t i = 0; i < dd; i++) V[i] += b[7] * A6[i] + b[5] * A4[i] + b[3] * A2[i];
    for (size_t i = 0; i < d; i++) V[i * d + i] += b[1];
    dmm(d, A, V, U);
    /* V = A6 (b12 A6 + b10 A4 + b8 A2) + b6 A6 + b4 A4 + b2 A2 + b0 I */
    for (size_t i = 0; i < dd; i++) T[i] = b[12] * A6[i] + b[10] * A4[i] + b[8] * A2[i];
    dmm(d, A6, T, V);
    for (size_t i = 0; i < dd; i++) V[i] += b[6] * A6[i] + b[4] * A4[i] + b[2] * A2[i];
    for (size_t i = 0; i < d; i++) V[i * d + i] += b[0];
    /* (V - U) X = (V + U) */
    for (size_t i = 0; i < dd; i++) {
        double u = U[i], v = V[i];
        A2[i] = v - u;
        A4[i] = v + u;
    }
    if ((st = solve_commuting(fn, d, A2, A4, ipiv))) return st;
    double *X = A4, *Y = A6;
    for (int k = 0; k < s; k++) {
        dmm(d, X, X, Y);
        double *t = X;
        X = Y;
        Y = t;
    }
    memcpy(R, X, dd * sizeof *R);
    return NG_OK;
}

/* A one-off call of a skew -> rotation map with its own workspace. */
static ng_status skew_map_once(const char *fn, size_t d, const double *G, double *R,
                               ng_status (*map)(size_t, const double *, double *, double *, size_t))
{
    if (d == 0) return map(d, G, R, NULL, 0); /* argument errors are map's */
    size_t len = 0;
    double *ws = NULL;
    ng_status st = rot_ws_new(fn, d, &ws, &len);
    if (st) return st;
    st = map(d, G, R, ws, len);
    free(ws);
    return st;
}

ng_status ng_expm_skew(size_t d, const double *G, double *R)
{
    return skew_map_once("ng_expm_skew", d, G, R, ngi_expm_skew_ws);
}

ng_status ngi_cayley_ws(size_t d, const double *G, double *R, double *ws, size_t ws_len)
{
    static const char fn[] = "ng_cayley";
    ng_status st;
    if ((st = check_square(fn, d, G, "G")) || (st = check_square(fn, d, R, "R"))) return st;
    if (d == 0) return NG_OK;
    if ((st = check_ws(fn, d, ws, ws_len, 2 * d * d))) return st;
    if ((st = check_skew(fn, d, G))) return st;
    size_t dd = d * d;
    lapack_int *ipiv = (lapack_int *)ws;
    double *P = ws + rot_ints(d), *Q = P + dd;
    /* (I - G/2) R = (I + G/2); for skew G, I - G/2 is always invertible (eigenvalues
     * 1 - i lambda / 2), and the two factors commute. */
    for (size_t i = 0; i < dd; i++) {
        P[i] = -0.5 * G[i];
        Q[i] = 0.5 * G[i];
    }
    for (size_t i = 0; i < d; i++) {
        P[i * d + i] += 1.0;
        Q[i * d + i] += 1.0;
    }
    st = solve_commuting(fn, d, P, Q, ipiv);
    if (!st) memcpy(R, Q, dd * sizeof *R);
    return st;
}

ng_status ng_cayley(size_t d, const double *G, double *R)
{
    return skew_map_once("ng_cayley", d, G, R, ngi_cayley_ws);
}
