/* kfac_inverse.c - K-FAC's approximate inverse Fisher (Martens & Grosse 2015, §3-4):
 * the block-diagonal U = (G + gamma/pi I)^-1 V (A + gamma pi I)^-1 (factored Tikhonov
 * damping; exact Tikhonov through eigendecompositions as an option) and the
 * block-tridiagonal F^-1 = Xi^T Lambda Xi, built from a snapshot of the statistics taken
 * at each refresh, for any damping gamma, and applied to the gradient each iteration. */
#include "internal.h"
#include "kfac_internal.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

void ngi_kfac_apply_set_arrays(const ng_kfac *kf, ngi_kfac_apply_set *s, int i,
                               void **ptr[NGI_KFAC_APPLY_SET_ARRAYS],
                               size_t bytes[NGI_KFAC_APPLY_SET_ARRAYS])
{
    int tri = kf->p.curvature == NG_KFAC_TRIDIAG, pair = tri && i + 1 < kf->L;
    size_t a = kf->din[i], g = kf->dout[i], a2 = pair ? kf->din[i + 1] : 0, g2 = pair ? kf->dout[i + 1] : 0;
    int inv = !kf->p.exact_tikhonov && (!tri || i + 1 == kf->L);
    void **p[NGI_KFAC_APPLY_SET_ARRAYS] = {(void **)&s->AinvF[i], (void **)&s->GinvF[i], (void **)&s->PsiAF[i],
                                           (void **)&s->PsiGF[i], (void **)&s->K1F[i],   (void **)&s->K2F[i],
                                           (void **)&s->s1[i],    (void **)&s->s2[i]};
    size_t b[NGI_KFAC_APPLY_SET_ARRAYS] = {inv ? a * a * sizeof(float) : 0, inv ? g * g * sizeof(float) : 0,
                                           a * a2 * sizeof(float),            g * g2 * sizeof(float),
                                           pair ? a * a * sizeof(float) : 0,  pair ? g * g * sizeof(float) : 0,
                                           pair ? a * sizeof(double) : 0,     pair ? g * sizeof(double) : 0};
    memcpy(ptr, p, sizeof p);
    memcpy(bytes, b, sizeof b);
}

/* ---------------------------------------------------------------- refresh */
/* Factored damping needs only (A + gamma pi I)^-1 for a few gammas, and the tridiagonal
 * Sigma factors come from generalised eigenproblems against the damped factors: Cholesky
 * of a snapshot is several times cheaper than eigendecompositions of every factor.
 * Only exact Tikhonov damping keeps the eigendecompositions. */
static int chol_mode(const ng_kfac *kf) { return !kf->p.exact_tikhonov; }

ng_status ngi_kfac_refresh(ng_kfac *kf)
{
    int tri = kf->p.curvature == NG_KFAC_TRIDIAG, chol = chol_mode(kf);
    ngi_kfac_stats_symmetric(kf);
    for (int i = 0; i < kf->L; i++) {
        size_t a = kf->din[i], g = kf->dout[i];
        if (chol) { /* snapshot only: QA/QG hold A and G as of this refresh */
            memcpy(kf->QA[i], kf->A[i], a * a * sizeof(double));
            memcpy(kf->QG[i], kf->G[i], g * g * sizeof(double));
            for (size_t j = 0; j < a * a; j++)
                if (!isfinite(kf->QA[i][j])) return ngi_fail(NG_ENUMERIC, "kfac.c: non-finite entry in the A factor of layer %d", i);
            for (size_t j = 0; j < g * g; j++)
                if (!isfinite(kf->QG[i][j])) return ngi_fail(NG_ENUMERIC, "kfac.c: non-finite entry in the G factor of layer %d", i);
        } else {
            ng_status st = ngi_kfac_eig(a, kf->A[i], kf->QA[i], kf->wA[i], kf->ework, kf->iwork);
            if (st) return st;
            st = ngi_kfac_eig(g, kf->G[i], kf->QG[i], kf->wG[i], kf->ework, kf->iwork);
            if (st) return st;
        }
        double ta = 0, tg = 0;
        for (size_t j = 0; j < a; j++) {
            if (!chol && kf->wA[i][j] < 0) kf->wA[i][j] = 0;
            ta += kf->A[i][j * a + j];
        }
        for (size_t j = 0; j < g; j++) {
            if (!chol && kf->wG[i][j] < 0) kf->wG[i][j] = 0;
            tg += kf->G[i][j * g + j];
        }
        kf->pi[i] = (ta > 0 && tg > 0) ? sqrt((ta / (double)a) / (tg / (double)g)) : 1.0;
        if (tri && i + 1 < kf->L) {
            memcpy(kf->AxS[i], kf->Ax[i], a * kf->din[i + 1] * sizeof(double));
            memcpy(kf->GxS[i], kf->Gx[i], g * kf->dout[i + 1] * sizeof(double));
        }
    }
    kf->prepared = 0;
    return NG_OK;
}

/* ---------------------------------------------------------------- prepare for a gamma */
static void to_float(float *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

/* out = (S + shift I)^-1 for the PSD snapshot S (Cholesky; if rounding made S + shift I
 * indefinite, the eigendecomposition with clamped eigenvalues), and its float copy when
 * outf is not NULL. */
static ng_status damped_inverse(ng_kfac *kf, size_t n, const double *S, double shift, double *out,
                                float *outf)
{
    ng_status st = ngi_kfac_spd_shift_inverse(n, S, shift, out);
    if (st == NG_ENUMERIC) {
        st = ngi_kfac_eig(n, S, kf->t2, kf->t3, kf->ework, kf->iwork);
        if (st) return st;
        for (size_t j = 0; j < n; j++)
            if (kf->t3[j] < 0) kf->t3[j] = 0;
        memcpy(kf->t1, kf->t3, n * sizeof(double)); /* eigenvalues out of sym_fn's tmp */
        ngi_kfac_sym_fn(n, kf->t2, kf->t1, shift, -1.0, out, kf->t3);
    } else if (st) {
        return st;
    }
    if (outf) to_float(outf, out, n * n);
    return NG_OK;
}

/* Psi of layer pair i on one side (0: A, 1: G) and the cross term C = Psi X^T of Sigma's
 * (A (x) B - C (x) D), written to C (symmetrised). Psi^A = A_{i,i+1} (A^d_{i+1})^-1. */
static void sigma_cross(ng_kfac *kf, int i, int side, double *C)
{
    size_t a = side ? kf->dout[i] : kf->din[i], a2 = side ? kf->dout[i + 1] : kf->din[i + 1];
    const double *X = side ? kf->GxS[i] : kf->AxS[i], *Inv = side ? kf->Ginv[i + 1] : kf->Ainv[i + 1];
    double *Psi = side ? kf->PsiG[i] : kf->PsiA[i];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)a, (int)a2, (int)a2, 1.0, X,
                (int)a2, Inv, (int)a2, 0.0, Psi, (int)a2);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)a, (int)a, (int)a2, 1.0, Psi,
                (int)a2, X, (int)a2, 0.0, C, (int)a);
    ngi_kfac_symmetrise(a, C);
}

/* (K, s) of Sigma's factors for all layer pairs at damping gamma: the generalised
 * eigenproblems C x = s (S + shift I) x, 2 (L - 1) of them, independent. LAPACK's dsygvd
 * gains little from a second BLAS thread (its reduction to tridiagonal form is bound by
 * matrix-vector products: 1.89 s with two threads, 2.04 s with one, for the mnist
 * autoencoder's three gammas), so with several OpenMP threads they run side by side, one
 * BLAS thread each, largest first. A problem whose damped factor rounding made indefinite
 * is redone afterwards by the spec's route through (S + shift I)^-1/2, eigenvalues clamped. */
typedef struct {
    size_t n;        /* order of the problem */
    double shift;    /* damping of the factor: gamma pi (A side) or gamma / pi (G side) */
    const double *S; /* the factor's snapshot */
    double *K, *s;   /* the result */
} sigma_problem;

/* Problem j of sigma_factors: layer pair j / 2, side j % 2 (0: A, 1: G). */
static sigma_problem sigma_problem_of(const ng_kfac *kf, int j, double gamma)
{
    int i = j / 2;
    if (j % 2) return (sigma_problem){kf->dout[i], gamma / kf->pi[i], kf->QG[i], kf->K2[i], kf->live.s2[i]};
    return (sigma_problem){kf->din[i], gamma * kf->pi[i], kf->QA[i], kf->K1[i], kf->live.s1[i]};
}

/* Problem j again, in this thread, after the side-by-side solve failed on it: dsygvd once
 * more (so a hard error's message is set here), and on NG_ENUMERIC the (S + shift I)^-1/2
 * route. */
static ng_status sigma_redo(ng_kfac *kf, int j, double gamma)
{
    sigma_problem pr = sigma_problem_of(kf, j, gamma);
    sigma_cross(kf, j / 2, j % 2, kf->t1);
    ng_status st = kf->force_fallback == 1 ? NG_ENUMERIC
                                      : ngi_kfac_kron_sub_factor_gv(pr.n, pr.S, pr.shift, kf->t1, pr.K, pr.s,
                                                                   kf->t2, kf->ework, kf->iwork);
    if (st != NG_ENUMERIC) return st;
    st = ngi_kfac_eig(pr.n, pr.S, kf->t2, pr.s, kf->ework, kf->iwork);
    if (st) return st;
    ngi_kfac_sym_fn(pr.n, kf->t2, pr.s, pr.shift, -0.5, kf->t3, pr.K); /* t3 = (S + shift I)^-1/2 */
    return ngi_kfac_kron_sub_factor(pr.n, kf->t3, kf->t1, pr.K, pr.s, kf->t2, kf->ework, kf->iwork);
}

/* order[0..n) = 0..n-1 sorted by size, largest first (stable): balances the threads */
static void largest_first(int n, const size_t *size, int *order)
{
    for (int j = 0; j < n; j++) order[j] = j;
    for (int j = 1; j < n; j++)
        for (int q = j; q > 0 && size[order[q]] > size[order[q - 1]]; q--) {
            int t = order[q];
            order[q] = order[q - 1];
            order[q - 1] = t;
        }
}

/* Threads for the side-by-side solves: the state's npar, at most OpenMP's, at least 1. */
static int side_by_side_threads(const ng_kfac *kf)
{
    int npar = kf->npar < omp_get_max_threads() ? kf->npar : omp_get_max_threads();
    return npar < 1 ? 1 : npar;
}

static ng_status sigma_factors(ng_kfac *kf, double gamma)
{
    int nt = 2 * (kf->L - 1), order[2 * NGI_KFAC_NL];
    ng_status res[2 * NGI_KFAC_NL];
    size_t size[2 * NGI_KFAC_NL];
    for (int j = 0; j < nt; j++) { /* C straight into K: dsygvd overwrites it with K */
        sigma_problem pr = sigma_problem_of(kf, j, gamma);
        sigma_cross(kf, j / 2, j % 2, pr.K);
        size[j] = pr.n;
    }
    largest_first(nt, size, order);
    int npar = side_by_side_threads(kf);
    int blas = ng_blas_threads();
    if (npar > 1) ng_set_blas_threads(1);
#pragma omp parallel for num_threads(npar) schedule(dynamic, 1)
    for (int q = 0; q < nt; q++) {
        int t = omp_get_thread_num();
        sigma_problem pr = sigma_problem_of(kf, order[q], gamma);
        res[order[q]] = kf->force_fallback == 1
                            ? NG_ENUMERIC
                            : ngi_kfac_kron_sub_factor_gv(pr.n, pr.S, pr.shift, pr.K, pr.K, pr.s,
                                                         kf->gtmp[t], kf->gwork[t], kf->giwork[t]);
    }
    if (npar > 1) ng_set_blas_threads(blas);
    for (int j = 0; j < nt; j++) {
        if (res[j] == NG_OK) continue;
        ng_status st = sigma_redo(kf, j, gamma);
        if (st) return st;
    }
    return NG_OK;
}

/* The tridiagonal representation at damping gamma through Cholesky factors: L L^T of
 * every damped factor (into Ainv/Ginv, which hold them for all but the last layer), then
 * per layer pair and side Psi and Sigma's (K, s) by ngi_kfac_sigma_factor_chol (float
 * eigenproblems, checked, double where the check fails), then the last layer's inverses.
 * Against the dsygvd route this drops a Cholesky inverse per factor, dsygst and a gemm
 * per problem, and solves the eigenproblems in float. Every piece runs side by side, one
 * BLAS thread each, largest first. NG_ENUMERIC when any piece failed (a damped factor not
 * numerically positive definite, a non-finite entry, an eigensolver failure): the caller
 * then takes the dsygvd route, which has a fallback for each and reports what failed. */
static ng_status sigma_chol(ng_kfac *kf, double gamma)
{
    int L = kf->L, nf = 2 * L, nt = 2 * (L - 1), order[2 * NGI_KFAC_NL], used[2 * NGI_KFAC_NL];
    ng_status res[2 * NGI_KFAC_NL];
    size_t size[2 * NGI_KFAC_NL];
    kf->eig_double = 0;
    for (int j = 0; j < nf; j++) size[j] = j % 2 ? kf->dout[j / 2] : kf->din[j / 2];
    largest_first(nf, size, order);
    int npar = side_by_side_threads(kf);
    int blas = ng_blas_threads();
    if (npar > 1) ng_set_blas_threads(1);
#pragma omp parallel for num_threads(npar) schedule(dynamic, 1)
    for (int q = 0; q < nf; q++) {
        int j = order[q], i = j / 2;
        res[j] = j % 2 ? ngi_kfac_chol_shift(kf->dout[i], kf->QG[i], gamma / kf->pi[i], kf->Ginv[i])
                       : ngi_kfac_chol_shift(kf->din[i], kf->QA[i], gamma * kf->pi[i], kf->Ainv[i]);
    }
    ng_status st = NG_OK;
    for (int j = 0; j < nf; j++)
        if (res[j]) st = NG_ENUMERIC;
    if (!st) {
        largest_first(nt, size, order); /* problem j: pair j / 2, side j % 2, order size[j] */
#pragma omp parallel for num_threads(npar) schedule(dynamic, 1)
        for (int q = 0; q < nt; q++) {
            int t = omp_get_thread_num(), j = order[q], i = j / 2;
            res[j] = j % 2 ? ngi_kfac_sigma_factor_chol(kf->dout[i], kf->dout[i + 1], kf->Ginv[i], kf->Ginv[i + 1],
                                                       kf->GxS[i], kf->PsiG[i], kf->K2[i], kf->live.s2[i],
                                                       kf->eig_mode, &used[j], kf->gtmp[t], kf->gwork[t],
                                                       kf->giwork[t])
                           : ngi_kfac_sigma_factor_chol(kf->din[i], kf->din[i + 1], kf->Ainv[i], kf->Ainv[i + 1],
                                                       kf->AxS[i], kf->PsiA[i], kf->K1[i], kf->live.s1[i],
                                                       kf->eig_mode, &used[j], kf->gtmp[t], kf->gwork[t],
                                                       kf->giwork[t]);
        }
        for (int j = 0; j < nt; j++) {
            if (res[j]) st = NG_ENUMERIC;
            kf->eig_double += used[j];
        }
    }
    if (npar > 1) ng_set_blas_threads(blas);
    if (st) return st;
    int last = L - 1;
    st = ngi_kfac_chol_to_inverse(kf->din[last], kf->Ainv[last]);
    if (!st) st = ngi_kfac_chol_to_inverse(kf->dout[last], kf->Ginv[last]);
    if (st) return NG_ENUMERIC;
    to_float(kf->live.AinvF[last], kf->Ainv[last], kf->din[last] * kf->din[last]);
    to_float(kf->live.GinvF[last], kf->Ginv[last], kf->dout[last] * kf->dout[last]);
    return NG_OK;
}

ng_status ngi_kfac_prepare(ng_kfac *kf, double gamma)
{
    if (kf->prepared && kf->prepared_gamma == gamma) return NG_OK;
    kf->prepared = 0;
    int tri = kf->p.curvature == NG_KFAC_TRIDIAG;
    ng_status st = tri && !kf->force_fallback ? sigma_chol(kf, gamma) : NG_ENUMERIC;
    if (st != NG_OK && st != NG_ENUMERIC) return st;
    if (!tri || st == NG_ENUMERIC) { /* block-diagonal; tridiagonal's dsygvd route */
        if (chol_mode(kf)) {
            for (int i = 0; i < kf->L; i++) {
                st = damped_inverse(kf, kf->din[i], kf->QA[i], gamma * kf->pi[i], kf->Ainv[i], kf->live.AinvF[i]);
                if (st) return st;
                st = damped_inverse(kf, kf->dout[i], kf->QG[i], gamma / kf->pi[i], kf->Ginv[i], kf->live.GinvF[i]);
                if (st) return st;
            }
        }
        if (tri) {
            st = sigma_factors(kf, gamma);
            if (st) return st;
        }
    }
    if (tri) {
        for (int i = 0; i + 1 < kf->L; i++) {
            size_t a = kf->din[i], a2 = kf->din[i + 1], g = kf->dout[i], g2 = kf->dout[i + 1];
            to_float(kf->live.PsiAF[i], kf->PsiA[i], a * a2);
            to_float(kf->live.PsiGF[i], kf->PsiG[i], g * g2);
            to_float(kf->live.K1F[i], kf->K1[i], a * a);
            to_float(kf->live.K2F[i], kf->K2[i], g * g);
        }
    }
    kf->prepared = 1;
    kf->prepared_gamma = gamma;
    return NG_OK;
}

/* The gamma candidates each need a prepare; keep_candidate sets the float apply state
 * of the best so far aside (a copy), adopt_candidate makes it live again by swapping
 * pointers, so the chosen gamma is not prepared twice (a tridiagonal prepare solves two
 * generalised eigenproblems per layer pair). The double representation then still holds
 * the last candidate: only the tests' reference apply reads it, after a fresh prepare. */
void ngi_kfac_keep_candidate(ng_kfac *kf)
{
    for (int i = 0; i < kf->L; i++) {
        void **live[NGI_KFAC_APPLY_SET_ARRAYS], **kept[NGI_KFAC_APPLY_SET_ARRAYS];
        size_t bytes[NGI_KFAC_APPLY_SET_ARRAYS];
        ngi_kfac_apply_set_arrays(kf, &kf->live, i, live, bytes);
        ngi_kfac_apply_set_arrays(kf, &kf->kept, i, kept, bytes);
        for (int j = 0; j < NGI_KFAC_APPLY_SET_ARRAYS; j++)
            if (bytes[j]) memcpy(*kept[j], *live[j], bytes[j]);
    }
}

void ngi_kfac_adopt_candidate(ng_kfac *kf, double gamma)
{
    ngi_kfac_apply_set t = kf->live;
    kf->live = kf->kept;
    kf->kept = t;
    kf->prepared = 1;
    kf->prepared_gamma = gamma;
}

/* ---------------------------------------------------------------- apply */
static void propose_tridiag(ng_kfac *kf, const float *grad, float *Delta, int reference)
{
    int last = kf->L - 1;
    if (reference) {
        ngi_kfac_tridiag_view tv = {kf->L, kf->din, kf->dout, kf->off, kf->PsiA, kf->PsiG,
                                   kf->K1, kf->K2, kf->live.s1, kf->live.s2, kf->Ainv[last],
                                   kf->Ginv[last]};
        for (size_t i = 0; i < kf->n; i++) kf->Vd[i] = grad[i];
        ngi_kfac_tridiag_apply(&tv, -1.0, kf->Vd, kf->Xd, kf->t1, kf->t2);
        for (size_t i = 0; i < kf->n; i++) Delta[i] = (float)kf->Xd[i];
    } else {
        ngi_kfac_tridiag_view_f tv = {kf->L, kf->din, kf->dout, kf->off, kf->live.PsiAF, kf->live.PsiGF,
                                     kf->live.K1F, kf->live.K2F, kf->live.s1, kf->live.s2, kf->live.AinvF[last],
                                     kf->live.GinvF[last]};
        ngi_kfac_tridiag_apply_f(&tv, -1.0, grad, Delta, kf->ft, kf->ft2);
    }
}

/* Factored Tikhonov damping, layer l: U = -(G + gamma/pi I)^-1 V (A + gamma pi I)^-1 in
 * float (sgemm; the inverses were formed in double), or in double for the reference. */
static void propose_factored(ng_kfac *kf, int l, const float *V, float *U, int reference)
{
    size_t m = kf->dout[l], n = kf->din[l];
    if (reference) {
        double *Vd = kf->t3;
        for (size_t i = 0; i < m * n; i++) Vd[i] = V[i];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)m, 1.0,
                    kf->Ginv[l], (int)m, Vd, (int)n, 0.0, kf->t1, (int)n);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)n, -1.0,
                    kf->t1, (int)n, kf->Ainv[l], (int)n, 0.0, kf->t2, (int)n);
        for (size_t i = 0; i < m * n; i++) U[i] = (float)kf->t2[i];
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)m, 1.0f,
                kf->live.GinvF[l], (int)m, V, (int)n, 0.0f, kf->ft, (int)n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)n, -1.0f,
                kf->ft, (int)n, kf->live.AinvF[l], (int)n, 0.0f, U, (int)n);
}

/* Exact Tikhonov damping, layer l: U = -Q_G [ (Q_G^T V Q_A) ./ (g a^T + gamma^2) ] Q_A^T
 * (double). */
static void propose_exact(ng_kfac *kf, int l, const float *V, float *U)
{
    size_t m = kf->dout[l], n = kf->din[l];
    double *Vd = kf->t3;
    for (size_t i = 0; i < m * n; i++) Vd[i] = V[i];
    double g2 = kf->prepared_gamma * kf->prepared_gamma;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)n, (int)m, 1.0,
                kf->QG[l], (int)m, Vd, (int)n, 0.0, kf->t1, (int)n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)n, 1.0,
                kf->t1, (int)n, kf->QA[l], (int)n, 0.0, kf->t2, (int)n);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) kf->t2[i * n + j] /= kf->wG[l][i] * kf->wA[l][j] + g2;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)m, 1.0,
                kf->QG[l], (int)m, kf->t2, (int)n, 0.0, kf->t1, (int)n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)n, 1.0,
                kf->t1, (int)n, kf->QA[l], (int)n, 0.0, kf->t2, (int)n);
    for (size_t i = 0; i < m * n; i++) U[i] = (float)-kf->t2[i];
}

void ngi_kfac_propose(ng_kfac *kf, const float *grad, float *Delta, int reference)
{
    if (kf->p.curvature == NG_KFAC_TRIDIAG) {
        propose_tridiag(kf, grad, Delta, reference);
        return;
    }
    for (int l = 0; l < kf->L; l++) {
        const float *V = grad + kf->off[l];
        float *U = Delta + kf->off[l];
        if (kf->p.exact_tikhonov)
            propose_exact(kf, l, V, U);
        else
            propose_factored(kf, l, V, U, reference);
    }
}

/* ---------------------------------------------------------------- test hooks */
/* internal entry for the tests: Delta = -Fbreve^-1 grad with the current statistics
 * (refreshing the decompositions first). */
ng_status ngi_kfac_debug_propose(ng_kfac *kf, double gamma, const float *grad, float *Delta,
                                int reference)
{
    ng_status st = ngi_kfac_refresh(kf);
    if (st) return st;
    st = ngi_kfac_prepare(kf, gamma);
    if (st) return st;
    ngi_kfac_propose(kf, grad, Delta, reference);
    return NG_OK;
}

void ngi_kfac_debug_force_fallback(ng_kfac *kf, int on)
{
    kf->force_fallback = on;
    kf->prepared = 0;
}

int ngi_kfac_debug_eig_mode(ng_kfac *kf, int mode)
{
    kf->eig_mode = mode;
    kf->prepared = 0;
    return kf->eig_double;
}

void ngi_kfac_debug_propose_live(ng_kfac *kf, const float *grad, float *Delta)
{
    ngi_kfac_propose(kf, grad, Delta, 0);
}
