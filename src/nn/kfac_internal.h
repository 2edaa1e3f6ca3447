/* kfac_internal.h - pieces of K-FAC shared by its files and the tests (linked statically,
 * so these hidden symbols are reachable from tests):
 *   kfac.c            the handle (parameters, workspace slab), the iteration, the state
 *   kfac_stats.c      Kronecker factor statistics A and G from the sampled backward pass
 *   kfac_inverse.c    block-diagonal / block-tridiagonal damped inverses and their apply
 *   kfac_quadratic.c  the quadratic model: exact-Fisher products, (alpha, mu), rho
 *   kfac_damping.c    the scalar rules (running averages, lambda, gamma candidates)
 *   kfac_tridiag.c    the dense symmetric pieces and the tridiagonal inverse apply */
#ifndef NG_KFAC_INTERNAL_H
#define NG_KFAC_INTERNAL_H

#include "natgrad.h"
#include <math.h>
#include <stddef.h>

/* ---- dense symmetric helpers (double, row-major) --------------------------------- */
/* Polyak averaging of theta (n) into avg at step k >= start, xi_k = min(1 - 1/(k - start
 * + 1), xi_max): K-FAC's schedule, shared with the baselines' average (net_optim.c). */
void ngi_polyak_update(float *avg, const float *theta, size_t n, long k, long start, double xi_max);

/* Workspace (doubles / ints) that ngi_kfac_eig needs for n x n. */
size_t ngi_kfac_eig_lwork(size_t n);
size_t ngi_kfac_eig_liwork(size_t n);
/* Eigendecomposition of the symmetric n x n A (row-major, only read): Q gets the
 * eigenvectors as COLUMNS, w the eigenvalues ascending (LAPACK dsyevd, preallocated
 * work). Q may alias A. */
ng_status ngi_kfac_eig(size_t n, const double *A, double *Q, double *w, double *work,
                      int *iwork);
/* out = Q diag((w + shift)^power) Q^T with w clamped at 0 first; tmp is n x n. */
void ngi_kfac_sym_fn(size_t n, const double *Q, const double *w, double shift, double power,
                    double *out, double *tmp);
/* out = (S + shift I)^-1 by Cholesky (dpotrf + dpotri) for symmetric S, out n x n (may not
 * alias S). NG_ENUMERIC when S + shift I is not numerically positive definite. */
ng_status ngi_kfac_spd_shift_inverse(size_t n, const double *S, double shift, double *out);
/* A <- (A + A^T) / 2 */
void ngi_kfac_symmetrise(size_t n, double *A);

/* ---- (A (x) B - C (x) D)^-1, kfac_tridiag.c --------------------------------------- */
/* Given Ais = A^-1/2 (n x n) and the PSD C (n x n): K = Ais E, s = eig(Ais C Ais) clamped
 * to [0, 1], where E are the eigenvectors. tmp: n x n; work/iwork as for ngi_kfac_eig. */
ng_status ngi_kfac_kron_sub_factor(size_t n, const double *Ais, const double *C, double *K,
                                  double *s, double *tmp, double *work, int *iwork);
/* The same factor without A^-1/2: the generalised problem C x = s (S + shift I) x (LAPACK
 * dsygvd: Cholesky of the damped S, then one symmetric eigenproblem). K holds the x as
 * columns, normalised so K^T (S + shift I) K = I and K^T C K = diag(s), which is all the
 * apply needs; s clamped to [0, 1]. No eigendecomposition of S itself, so the tridiagonal
 * refresh needs none. NG_ENUMERIC when S + shift I is not numerically positive definite
 * (the caller then takes the A^-1/2 route). tmp: n x n; work/iwork as for ngi_kfac_eig.
 * K may alias C (then C is consumed). */
ng_status ngi_kfac_kron_sub_factor_gv(size_t n, const double *S, double shift, const double *C,
                                     double *K, double *s, double *tmp, double *work, int *iwork);
/* Sigma's factor for one side of a layer pair from Cholesky factors, the route each
 * tridiagonal prepare takes. S1 + shift1 I = L1 L1^T (a x a) and S2 + shift2 I = L2 L2^T
 * (a2 x a2) are the damped factors of the pair's two layers (row-major lower L, as
 * ngi_kfac_chol_shift leaves them), X (a x a2) the undamped cross moment. Writes
 * Psi = X (S2 + shift2 I)^-1 (a x a2) and the generalised eigenproblem
 * C x = s (S1 + shift1 I) x, C = Psi X^T, as K (a x a, K^T (S1 + shift1 I) K = I,
 * K^T C K = diag(s), s clamped to [0, 1]): B = L1^-1 X L2^-T, M = B B^T (double),
 * eigendecomposed, K = L1^-T E. mode NGI_KFAC_EIG_FLOAT (the default) solves M's
 * eigenproblem in float (ssyevd) and checks it (ngi_kfac_eig_check_f); a result that
 * fails the check is recomputed in double (dsyevd), as is every one with
 * NGI_KFAC_EIG_DOUBLE; NGI_KFAC_EIG_FLOAT_REJECT (tests) takes the float route and then
 * rejects it, as a failed check would. *used gets 0 (float kept) or 1 (double). tmp: a x a2
 * doubles; work/iwork: ngi_kfac_eig_lwork(a) doubles / liwork(a) ints. */
enum { NGI_KFAC_EIG_FLOAT = 0, NGI_KFAC_EIG_DOUBLE = 1, NGI_KFAC_EIG_FLOAT_REJECT = 2 };
ng_status ngi_kfac_sigma_factor_chol(size_t a, size_t a2, const double *L1, const double *L2,
                                     const double *X, double *Psi, double *K, double *s, int mode,
                                     int *used, double *tmp, double *work, int *iwork);
/* L = the lower Cholesky factor of S + shift I (row-major, n x n; the strict upper triangle
 * keeps S's values, which no reader uses). NG_ENUMERIC when S + shift I is not numerically
 * positive definite. */
ng_status ngi_kfac_chol_shift(size_t n, const double *S, double shift, double *L);
/* L (from ngi_kfac_chol_shift) <- (S + shift I)^-1, whole and symmetric, in place. */
ng_status ngi_kfac_chol_to_inverse(size_t n, double *L);
/* The accuracy check of a float eigendecomposition M = E diag(w) E^T of the symmetric M
 * (n x n, row-major double, ||M|| <= 1; E's eigenvectors are the ROWS of Ef, as ssyevd
 * leaves them read row-major): with the fixed probe y_j = 1 + (j mod 7) / 8 times
 * alternating signs, the residual M E^T y - E^T (w .* y) and the orthogonality defect
 * E E^T y - y, each over |y|. Returns the larger; the factor is kept when it is at most
 * NGI_KFAC_EIG_TOL. A probe mixes every eigenpair, so a wrong pair or a lost
 * orthogonality shows (ssyevd's backward error is bounded by about n eps_float |M|; the mnist
 * autoencoder's factors give at most 1e-6). tmp: 2 n doubles. */
#define NGI_KFAC_EIG_TOL 1e-4
double ngi_kfac_eig_check_f(size_t n, const double *M, const float *Ef, const float *w,
                            double *tmp);
/* X = sign K2 [ (K2^T V K1) ./ (1 1^T - s2 s1^T) ] K1^T for V (n2 x n1), i.e.
 * sign (A (x) B - C (x) D)^-1 vec(V) with (K1, s1) from (A, C), (K2, s2) from (B, D);
 * sign is +1 or -1 (the proposal is -F^-1 grad: the sign rides on the scaling for free).
 * tmp: n2 x n1. X may alias V. The _f twin does the same in float (s stays double). */
void ngi_kfac_kron_sub_apply(size_t n2, size_t n1, const double *K2, const double *s2,
                            const double *K1, const double *s1, double sign, const double *V,
                            double *X, double *tmp);
void ngi_kfac_kron_sub_apply_f(size_t n2, size_t n1, const float *K2, const double *s2,
                              const float *K1, const double *s1, double sign, const float *V,
                              float *X, float *tmp);
/* For the chain P M Q with P (m x k1), M (k1 x k2), Q (k2 x n): 1 when (P M) Q costs no
 * more multiply-adds than P (M Q). The tridiagonal apply's cross terms use the cheaper
 * order: on the mnist autoencoder that saves about 2.4 GFLOP per iteration. */
int ngi_kfac_chain_left_first(size_t m, size_t k1, size_t k2, size_t n);
/* Block-tridiagonal inverse apply (paper §3.3), layers 0..L-1, V_k of shape
 * dout[k] x din[k] at V + off[k]. PsiA[k] = A_{k,k+1} (A^d_{k+1})^-1
 * (din[k] x din[k+1]), PsiG[k] = G_{k,k+1} (G^d_{k+1})^-1 (dout[k] x dout[k+1]),
 * (K1,s1,K2,s2)[k] the Sigma_{k|k+1} factors for k < L-1; Ainv/Ginv[L-1] the damped
 * last-layer inverses. Result sign * F^-1 vec(V) in out (may not alias V); sign is +1 or
 * -1. tmp1/tmp2: dmax^2 each, dmax the largest din/dout (a cross term's intermediate
 * can be dout[k+1] x din[k]). ngi_kfac_tridiag_apply is the double reference,
 * ngi_kfac_tridiag_apply_f the float kernel each iteration runs (same formulas, one
 * source: kfac_tridiag_apply.inc). */
#define NGI_KFAC_TRIDIAG_VIEW(name, real)                                                  \
    typedef struct {                                                                      \
        int L;                                                                            \
        const size_t *din, *dout, *off;                                                   \
        real *const *PsiA, *const *PsiG;                                                  \
        real *const *K1, *const *K2;                                                      \
        double *const *s1, *const *s2;                                                    \
        const real *Ainv_last, *Ginv_last;                                                \
    } name
NGI_KFAC_TRIDIAG_VIEW(ngi_kfac_tridiag_view, double);
NGI_KFAC_TRIDIAG_VIEW(ngi_kfac_tridiag_view_f, float);
void ngi_kfac_tridiag_apply(const ngi_kfac_tridiag_view *t, double sign, const double *V,
                           double *out, double *tmp1, double *tmp2);
void ngi_kfac_tridiag_apply_f(const ngi_kfac_tridiag_view_f *t, double sign, const float *V,
                             float *out, float *tmp1, float *tmp2);

/* ---- damping and step-size rules, kfac_damping.c ----------------------------------- */
/* epsilon_k = min(1 - 1/k, eps_max), k >= 1. */
double ngi_kfac_eps(long k, double eps_max);
/* Levenberg-Marquardt: rho > 3/4 -> lambda*omega1; rho < 1/4 or NaN -> lambda/omega1. */
double ngi_kfac_lm_update(double lambda, double rho, double omega1);
/* The three gamma candidates {max(omega2 g, sqrt(eta)), g, min(g/omega2, 1)}. */
void ngi_kfac_gamma_candidates(double gamma, double omega2, double eta, double out[3]);
/* Index of the lowest finite model value (first on ties), -1 if none finite. */
int ngi_kfac_pick_lowest(const double *vals, int n);
/* Minimise M(a, m) = 1/2 [a m] H [a m]^T + [a m] . b with H = [h11 h12; h12 h22],
 * b = (b1, b2). use2 = 0: 1-D in a only (m = 0). Singular systems: pseudo-inverse.
 * Returns the model value at the minimiser (NaN if H has no positive direction). */
double ngi_kfac_solve_alpha_mu(double h11, double h12, double h22, double b1, double b2,
                              int use2, double *alpha, double *mu);

/* ---- the handle, kfac.c ------------------------------------------------------------- */
#define NGI_KFAC_NL NG_NET_MAX_LAYERS
#define NGI_KFAC_NPAR 8 /* most generalised eigenproblems solved side by side */
#define NGI_KFAC_NSTATE (16 * NGI_KFAC_NL + 8)

/* Per layer: Ainv/Ginv (blockdiag, and tridiag's last layer), Psi, K and s (tridiag). */
typedef struct {
    float *AinvF[NGI_KFAC_NL], *GinvF[NGI_KFAC_NL], *PsiAF[NGI_KFAC_NL], *PsiGF[NGI_KFAC_NL];
    float *K1F[NGI_KFAC_NL], *K2F[NGI_KFAC_NL];
    double *s1[NGI_KFAC_NL], *s2[NGI_KFAC_NL];
} ngi_kfac_apply_set;
#define NGI_KFAC_APPLY_SET_ARRAYS 8

struct ng_kfac {
    ng_net *net;
    ng_kfac_params p;
    int L;
    size_t din[NGI_KFAC_NL], dout[NGI_KFAC_NL], off[NGI_KFAC_NL], n, maxb, dl, dmax;
    long k;
    double lambda, gamma, prepared_gamma;
    int prepared, polyak_on;
    double scal[8];  /* checkpointed scalars: k, lambda, gamma, polyak_on */
    double *pi;      /* L */
    /* running statistics (double) and the snapshot taken at the last refresh */
    double *A[NGI_KFAC_NL], *G[NGI_KFAC_NL], *Ax[NGI_KFAC_NL], *Gx[NGI_KFAC_NL];
    double *QA[NGI_KFAC_NL], *wA[NGI_KFAC_NL], *QG[NGI_KFAC_NL], *wG[NGI_KFAC_NL];
    double *AxS[NGI_KFAC_NL], *GxS[NGI_KFAC_NL];
    /* inverse representation for prepared_gamma (double) */
    double *Ainv[NGI_KFAC_NL], *Ginv[NGI_KFAC_NL], *PsiA[NGI_KFAC_NL], *PsiG[NGI_KFAC_NL];
    double *K1[NGI_KFAC_NL], *K2[NGI_KFAC_NL];
    /* what the per-iteration apply reads (float copies for sgemm, and Sigma's s): live,
     * and the best gamma candidate so far, kept while the others are tried */
    ngi_kfac_apply_set live, kept;
    double *Vd, *Xd, *t1, *t2, *t3, *ework;
    int *iwork;
    /* per-thread scratch of the side-by-side Sigma factor solves (tridiagonal) */
    int npar, force_fallback; /* tests only: 1 the A^-1/2 route for every pair, 2 dsygvd's */
    int eig_mode;   /* NGI_KFAC_EIG_*: the Sigma factors' eigenproblems (float, checked) */
    int eig_double; /* of the last tridiagonal prepare's Sigma factors, how many took double */
    double *gtmp[NGI_KFAC_NPAR], *gwork[NGI_KFAC_NPAR];
    int *giwork[NGI_KFAC_NPAR];
    float *ft, *ft2, *grad, *Delta, *Dbest, *delta0, *delta, *polyak, *Yhat, *J0, *J1;
    void *slab;
    char names[NGI_KFAC_NSTATE][32];
};

/* The first ceil(tau m) of m cases, at least 1 and at most m. */
static inline size_t ngi_kfac_cases(double tau, size_t m)
{
    size_t c = (size_t)ceil(tau * (double)m);
    if (c < 1) c = 1;
    if (c > m) c = m;
    return c;
}

/* ---- curvature statistics, kfac_stats.c --------------------------------------------- */
/* Fold the net's current abar/g buffers (first ms rows) into the running A, G (and the
 * tridiagonal cross moments) as iteration k; only the upper triangles of A and G. */
void ngi_kfac_update_stats(ng_kfac *kf, long k, size_t ms);
/* Iteration k's statistics after the gradient's forward and backward on m cases: the
 * sampled-target backward (true Fisher) on the first ceil(tau1 m) cases, then the update.
 * *ms gets the number of cases used. */
ng_status ngi_kfac_collect_stats(ng_kfac *kf, long k, size_t m, ng_rng *rng, size_t *ms);
/* Make the running A and G whole (their lower triangles are stale between refreshes). */
void ngi_kfac_stats_symmetric(ng_kfac *kf);

/* ---- damped inverses and their apply, kfac_inverse.c --------------------------------- */
/* The arrays of an apply set for layer i and their sizes in bytes (0: not used), the one
 * place that lists them: the layout carves them, keep_candidate copies them. */
void ngi_kfac_apply_set_arrays(const ng_kfac *kf, ngi_kfac_apply_set *s, int i,
                               void **ptr[NGI_KFAC_APPLY_SET_ARRAYS],
                               size_t bytes[NGI_KFAC_APPLY_SET_ARRAYS]);
/* Snapshot the statistics (or eigendecompose them, exact Tikhonov) and compute pi. */
ng_status ngi_kfac_refresh(ng_kfac *kf);
/* Build the inverse representation for damping gamma from the snapshot (no-op when it is
 * prepared for that gamma already). */
ng_status ngi_kfac_prepare(ng_kfac *kf, double gamma);
/* Set the best gamma candidate's float apply state aside / make it live again. */
void ngi_kfac_keep_candidate(ng_kfac *kf);
void ngi_kfac_adopt_candidate(ng_kfac *kf, double gamma);
/* Delta = -Fbreve^-1 grad for the prepared gamma: float (sgemm), or reference = 1 (tests)
 * the same formulas in double. */
void ngi_kfac_propose(ng_kfac *kf, const float *grad, float *Delta, int reference);

/* ---- the quadratic model, kfac_quadratic.c ------------------------------------------ */
/* What one iteration's model M(alpha Delta + mu delta0) = 1/2 d^T C d + grad^T d,
 * C = F + (lambda + eta) I, shares across the gamma candidates. */
typedef struct {
    size_t mq;        /* cases of the exact-Fisher products: the first ceil(tau2 m) */
    double lam;       /* lambda + eta */
    double gd0, d0d0; /* grad . delta0, delta0 . delta0 */
    double d0Fd0;     /* delta0^T F delta0 (use2 only) */
    int use2;         /* 1: the momentum direction delta0 takes part */
} ngi_kfac_model;
/* Set up the model of iteration k on a minibatch of m cases (after the gradient's forward):
 * the momentum direction's Fisher product, its R-op kept in J0. */
ng_status ngi_kfac_model_begin(ng_kfac *kf, long k, size_t m, double gd0, double d0d0,
                               ngi_kfac_model *q);
/* (alpha, mu) minimising the model for the proposal Delta; *model gets M(delta) - M(0)
 * (NaN when the model has no positive direction). */
ng_status ngi_kfac_model_solve(ng_kfac *kf, const ngi_kfac_model *q, const float *Delta,
                               double *model, double *alpha, double *mu);
/* rho = (h(theta) - h0) / M on the same minibatch, for theta after the update; NaN when
 * M = 0 or h is not finite. */
ng_status ngi_kfac_reduction_ratio(ng_kfac *kf, const float *X, const float *Y, size_t m,
                                   double h0, double M, double *rho);

/* ---- test hooks (kfac_inverse.c, kfac_stats.c) ------------------------------------- */
/* Refresh the decompositions from the current statistics, prepare gamma and return
 * Delta = -Fbreve^-1 grad: reference = 1 applies it in double, 0 with the float kernel
 * the iterations use. */
ng_status ngi_kfac_debug_propose(ng_kfac *kf, double gamma, const float *grad, float *Delta,
                                int reference);
/* on = 1: the tridiagonal Sigma factors take the route through (S + shift I)^-1/2 (as when
 * a damped factor is numerically indefinite); on = 2: the dsygvd route (as when a damped
 * factor's Cholesky factor fails); 0: the Cholesky route with float eigenproblems. */
void ngi_kfac_debug_force_fallback(ng_kfac *kf, int on);
/* mode NGI_KFAC_EIG_*: how the tridiagonal prepare solves the Sigma factors'
 * eigenproblems from now on; returns how many of the last prepare's took double. */
int ngi_kfac_debug_eig_mode(ng_kfac *kf, int mode);
/* Delta = -Fbreve^-1 grad with the live float state, as the last step left it (no refresh,
 * no prepare): what the next iterations apply. */
void ngi_kfac_debug_propose_live(ng_kfac *kf, const float *grad, float *Delta);
/* Fold the net's current abar/g buffers (first ms rows) into the statistics as iter k. */
void ngi_kfac_debug_stats(ng_kfac *kf, long k, size_t ms);
/* which: 0 A_l, 1 G_l, 2 A_{l,l+1}, 3 G_{l,l+1} (tridiag only), 4 pi (L entries). */
double *ngi_kfac_debug_factor(ng_kfac *kf, int which, int layer);

#endif
