/* kfac.c - K-FAC (Martens & Grosse 2015) as the authors' companion code runs it:
 * Kronecker-factored curvature statistics from a sampled-target backward pass, periodic
 * eigendecompositions, block-diagonal or block-tridiagonal damped inverse, the
 * quadratic model with the exact Fisher for (alpha, mu), LM lambda, gamma adaptation and
 * Polyak averaging. One slab allocated in ng_kfac_new; step() allocates nothing. */
#include "internal.h"
#include "kfac_internal.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NL NG_NET_MAX_LAYERS
#define NPAR 8 /* most generalised eigenproblems solved side by side */
#define NSTATE (16 * NL + 8)

/* Per layer: Ainv/Ginv (blockdiag, and tridiag's last layer), Psi, K and s (tridiag). */
typedef struct {
    float *AinvF[NL], *GinvF[NL], *PsiAF[NL], *PsiGF[NL], *K1F[NL], *K2F[NL];
    double *s1[NL], *s2[NL];
} apply_set;
#define APPLY_SET_ARRAYS 8

struct ng_kfac {
    ng_net *net;
    ng_kfac_params p;
    int L;
    size_t din[NL], dout[NL], off[NL], n, maxb, dl, dmax;
    long k;
    double lambda, gamma, prepared_gamma;
    int prepared, polyak_on;
    double scal[8];  /* checkpointed scalars: k, lambda, gamma, polyak_on */
    double *pi;      /* L */
    /* running statistics (double) and the snapshot taken at the last refresh */
    double *A[NL], *G[NL], *Ax[NL], *Gx[NL];
    double *QA[NL], *wA[NL], *QG[NL], *wG[NL], *AxS[NL], *GxS[NL];
    /* inverse representation for prepared_gamma (double) */
    double *Ainv[NL], *Ginv[NL], *PsiA[NL], *PsiG[NL], *K1[NL], *K2[NL];
    /* what the per-iteration apply reads (float copies for sgemm, and Sigma's s): live,
     * and the best gamma candidate so far, kept while the others are tried */
    apply_set live, kept;
    double *Vd, *Xd, *t1, *t2, *t3, *ework;
    int *iwork;
    /* per-thread scratch of the side-by-side Sigma factor solves (tridiagonal) */
    int npar, force_fallback; /* force_fallback: tests only, the A^-1/2 route for every pair */
    double *gtmp[NPAR], *gwork[NPAR];
    int *giwork[NPAR];
    float *ft, *ft2, *grad, *Delta, *Dbest, *delta0, *delta, *polyak, *Yhat, *J0, *J1;
    void *slab;
    char names[NSTATE][32];
};

ng_kfac_params ng_kfac_default_params(void)
{
    ng_kfac_params p;
    memset(&p, 0, sizeof p);
    p.curvature = NG_KFAC_TRIDIAG; /* the authors' MNIST runs */
    p.momentum = 1;
    p.empirical_fisher = 0;
    p.exact_tikhonov = 0;
    p.adapt_lambda = 1;
    p.adapt_gamma = 1;
    p.tau1 = 0.125;
    p.tau2 = 0.25;
    p.eps_max = 0.95;
    p.T1 = 5;
    p.T2 = 20;
    p.T3 = 20;
    p.refresh_first = 3;
    p.lambda0 = 150.0;
    p.omega1 = pow(0.95, 5);
    p.omega2 = pow(0.95, 10);
    p.gamma0 = 0.0;
    p.eta = 1e-5;
    p.m1 = 1000;
    p.full_batch_iter = 500;
    p.polyak_xi = 0.99;
    p.polyak_start = 200;
    return p;
}

ng_status ng_kfac_params_check(const ng_kfac_params *p)
{
    if (!p) return ngi_fail(NG_EINVAL, "kfac.c: params is NULL");
    if (p->curvature != NG_KFAC_BLOCKDIAG && p->curvature != NG_KFAC_TRIDIAG)
        return ngi_fail(NG_EINVAL, "kfac.c: curvature must be blockdiag or tridiag");
    if (p->exact_tikhonov && p->curvature == NG_KFAC_TRIDIAG)
        return ngi_fail(NG_EUNSUPPORTED, "kfac.c: exact Tikhonov damping is implemented for the block-diagonal inverse only");
    if (!(p->tau1 > 0 && p->tau1 <= 1)) return ngi_fail(NG_EINVAL, "kfac.c: tau1 = %g, expected (0, 1]", p->tau1);
    if (!(p->tau2 > 0 && p->tau2 <= 1)) return ngi_fail(NG_EINVAL, "kfac.c: tau2 = %g, expected (0, 1]", p->tau2);
    if (!(p->eps_max >= 0 && p->eps_max < 1)) return ngi_fail(NG_EINVAL, "kfac.c: eps_max = %g, expected [0, 1)", p->eps_max);
    if (p->T1 < 1 || p->T2 < 1 || p->T3 < 1) return ngi_fail(NG_EINVAL, "kfac.c: T1, T2, T3 must be >= 1 (got %d, %d, %d)", p->T1, p->T2, p->T3);
    if (!(p->lambda0 >= 0) || !isfinite(p->lambda0)) return ngi_fail(NG_EINVAL, "kfac.c: lambda0 = %g, expected >= 0", p->lambda0);
    if (!(p->omega1 > 0 && p->omega1 < 1) || !(p->omega2 > 0 && p->omega2 < 1))
        return ngi_fail(NG_EINVAL, "kfac.c: omega1 = %g, omega2 = %g, expected (0, 1)", p->omega1, p->omega2);
    if (!(p->eta >= 0) || !isfinite(p->eta)) return ngi_fail(NG_EINVAL, "kfac.c: eta = %g, expected >= 0", p->eta);
    if (!isfinite(p->gamma0)) return ngi_fail(NG_EINVAL, "kfac.c: gamma0 is not finite");
    if (p->gamma0 <= 0 && !(p->lambda0 + p->eta > 0)) return ngi_fail(NG_EINVAL, "kfac.c: gamma0 <= 0 needs lambda0 + eta > 0");
    if (p->m1 < 1) return ngi_fail(NG_EINVAL, "kfac.c: m1 must be >= 1");
    if (p->full_batch_iter < 2) return ngi_fail(NG_EINVAL, "kfac.c: full_batch_iter must be >= 2");
    if (!(p->polyak_xi >= 0 && p->polyak_xi < 1)) return ngi_fail(NG_EINVAL, "kfac.c: polyak_xi = %g, expected [0, 1)", p->polyak_xi);
    if (p->polyak_start < 1) return ngi_fail(NG_EINVAL, "kfac.c: polyak_start must be >= 1");
    return NG_OK;
}

size_t ng_kfac_batch_size(const ng_kfac_params *p, long k, size_t n_train)
{
    if (k < 1) k = 1;
    if (n_train <= p->m1) return n_train;
    double div = (double)(p->full_batch_iter - 1) / log2((double)n_train / (double)p->m1);
    double m = floor((double)p->m1 * exp2((double)(k - 1) / div));
    /* the exact power hits |S| at k = full_batch_iter; guard the rounding */
    if (k >= p->full_batch_iter || m >= (double)n_train) return n_train;
    return (size_t)m;
}

/* ---------------------------------------------------------------- layout */
static size_t carve(char **cur, size_t bytes, void **ptr, char *base)
{
    size_t b = (bytes + 63) & ~(size_t)63;
    if (base) *ptr = *cur;
    *cur += b;
    return b;
}
#define CARVE(ptr, count, type) carve(&cur, (size_t)(count) * sizeof(type), (void **)&(ptr), base)

/* The arrays of an apply set for layer i and their sizes in bytes (0: not used), the one
 * place that lists them: layout carves them, keep_candidate copies them. */
static void set_arrays(const ng_kfac *kf, apply_set *s, int i, void **ptr[APPLY_SET_ARRAYS],
                       size_t bytes[APPLY_SET_ARRAYS])
{
    int tri = kf->p.curvature == NG_KFAC_TRIDIAG, pair = tri && i + 1 < kf->L;
    size_t a = kf->din[i], g = kf->dout[i], a2 = pair ? kf->din[i + 1] : 0, g2 = pair ? kf->dout[i + 1] : 0;
    int inv = !kf->p.exact_tikhonov && (!tri || i + 1 == kf->L);
    void **p[APPLY_SET_ARRAYS] = {(void **)&s->AinvF[i], (void **)&s->GinvF[i], (void **)&s->PsiAF[i],
                                  (void **)&s->PsiGF[i], (void **)&s->K1F[i],   (void **)&s->K2F[i],
                                  (void **)&s->s1[i],    (void **)&s->s2[i]};
    size_t b[APPLY_SET_ARRAYS] = {inv ? a * a * sizeof(float) : 0, inv ? g * g * sizeof(float) : 0,
                                  a * a2 * sizeof(float),            g * g2 * sizeof(float),
                                  pair ? a * a * sizeof(float) : 0,  pair ? g * g * sizeof(float) : 0,
                                  pair ? a * sizeof(double) : 0,     pair ? g * sizeof(double) : 0};
    memcpy(ptr, p, sizeof p);
    memcpy(bytes, b, sizeof b);
}

static size_t layout(ng_kfac *kf, char *base)
{
    char *cur = base ? base : (char *)0;
    size_t D = kf->dmax, L = (size_t)kf->L, n = kf->n;
    int tri = kf->p.curvature == NG_KFAC_TRIDIAG;
    size_t ms = (size_t)ceil(kf->p.tau1 * (double)kf->maxb);
    if (ms < 1) ms = 1;
    size_t tot = 0;
    tot += CARVE(kf->pi, L, double);
    for (size_t i = 0; i < L; i++) {
        size_t a = kf->din[i], g = kf->dout[i];
        tot += CARVE(kf->A[i], a * a, double);
        tot += CARVE(kf->G[i], g * g, double);
        tot += CARVE(kf->QA[i], a * a, double);
        tot += CARVE(kf->wA[i], a, double);
        tot += CARVE(kf->QG[i], g * g, double);
        tot += CARVE(kf->wG[i], g, double);
        tot += CARVE(kf->Ainv[i], a * a, double);
        tot += CARVE(kf->Ginv[i], g * g, double);
        for (int set = 0; set < 2; set++) {
            void **ptr[APPLY_SET_ARRAYS];
            size_t bytes[APPLY_SET_ARRAYS];
            set_arrays(kf, set ? &kf->kept : &kf->live, (int)i, ptr, bytes);
            for (int j = 0; j < APPLY_SET_ARRAYS; j++)
                if (bytes[j]) tot += carve(&cur, bytes[j], ptr[j], base);
        }
        if (tri && i + 1 < L) {
            size_t a2 = kf->din[i + 1], g2 = kf->dout[i + 1];
            tot += CARVE(kf->Ax[i], a * a2, double);
            tot += CARVE(kf->Gx[i], g * g2, double);
            tot += CARVE(kf->AxS[i], a * a2, double);
            tot += CARVE(kf->GxS[i], g * g2, double);
            tot += CARVE(kf->PsiA[i], a * a2, double);
            tot += CARVE(kf->PsiG[i], g * g2, double);
            tot += CARVE(kf->K1[i], a * a, double);
            tot += CARVE(kf->K2[i], g * g, double);
        }
    }
    tot += CARVE(kf->Vd, tri ? n : 1, double);
    tot += CARVE(kf->Xd, tri ? n : 1, double);
    tot += CARVE(kf->t1, D * D, double);
    tot += CARVE(kf->t2, D * D, double);
    tot += CARVE(kf->t3, D * D, double);
    tot += CARVE(kf->ework, ngi_kfac_eig_lwork(D), double);
    tot += CARVE(kf->iwork, ngi_kfac_eig_liwork(D), int);
    for (int t = 0; t < kf->npar; t++) {
        tot += CARVE(kf->gtmp[t], D * D, double);
        tot += CARVE(kf->gwork[t], ngi_kfac_eig_lwork(D), double);
        tot += CARVE(kf->giwork[t], ngi_kfac_eig_liwork(D), int);
    }
    tot += CARVE(kf->ft, D * D, float);
    tot += CARVE(kf->ft2, tri ? D * D : 1, float);
    tot += CARVE(kf->grad, n, float);
    tot += CARVE(kf->Delta, n, float);
    tot += CARVE(kf->Dbest, n, float);
    tot += CARVE(kf->delta0, n, float);
    tot += CARVE(kf->delta, n, float);
    tot += CARVE(kf->polyak, n, float);
    tot += CARVE(kf->Yhat, ms * kf->dl, float);
    tot += CARVE(kf->J0, kf->maxb * kf->dl, float);
    tot += CARVE(kf->J1, kf->maxb * kf->dl, float);
    return tot;
}

static void setup_dims(ng_kfac *kf, ng_net *net, const ng_kfac_params *p)
{
    const ng_net_spec *s = ng_net_get_spec(net);
    kf->net = net;
    kf->p = *p;
    kf->L = s->n_layers;
    kf->n = ng_net_num_params(net);
    kf->maxb = ng_net_max_batch(net);
    kf->dmax = 1;
    for (int i = 0; i < kf->L; i++) {
        kf->din[i] = s->sizes[i] + 1;
        kf->dout[i] = s->sizes[i + 1];
        kf->off[i] = ng_net_layer_offset(net, i);
        if (kf->din[i] > kf->dmax) kf->dmax = kf->din[i];
        if (kf->dout[i] > kf->dmax) kf->dmax = kf->dout[i];
    }
    kf->dl = s->sizes[kf->L];
    /* one slot per OpenMP thread at creation, as many as there are factor problems */
    kf->npar = 0;
    if (p->curvature == NG_KFAC_TRIDIAG && kf->L > 1) {
        int nt = omp_get_max_threads(), np = 2 * (kf->L - 1);
        kf->npar = nt < np ? nt : np;
        if (kf->npar > NPAR) kf->npar = NPAR;
        if (kf->npar < 1) kf->npar = 1;
    }
}

size_t ng_kfac_workspace_bytes(const ng_net *net, const ng_kfac_params *p)
{
    ng_kfac tmp;
    memset(&tmp, 0, sizeof tmp);
    setup_dims(&tmp, (ng_net *)net, p);
    return layout(&tmp, NULL);
}

ng_status ng_kfac_new(ng_net *net, const ng_kfac_params *p, ng_kfac **out)
{
    *out = NULL;
    if (!net) return ngi_fail(NG_EINVAL, "kfac.c: net is NULL");
    ng_status st = ng_kfac_params_check(p);
    if (st) return st;
    ng_kfac *kf = ngi_xcalloc(1, sizeof *kf);
    if (!kf) return NG_ENOMEM;
    setup_dims(kf, net, p);
    if (kf->L < 1) {
        free(kf);
        return ngi_fail(NG_EINVAL, "kfac.c: network has no layers");
    }
    size_t bytes = layout(kf, NULL);
    void *slab = NULL;
    if (posix_memalign(&slab, 64, bytes) != 0) {
        free(kf);
        return ngi_fail(NG_ENOMEM, "kfac.c: cannot allocate %zu bytes of K-FAC state", bytes);
    }
    memset(slab, 0, bytes);
    kf->slab = slab;
    layout(kf, slab);
    kf->k = 0;
    kf->lambda = p->lambda0;
    kf->gamma = p->gamma0 > 0 ? p->gamma0 : sqrt(p->lambda0 + p->eta);
    kf->prepared = 0;
    *out = kf;
    return NG_OK;
}

void ng_kfac_free(ng_kfac *kf)
{
    if (!kf) return;
    free(kf->slab);
    free(kf);
}

long ng_kfac_iter(const ng_kfac *kf) { return kf->k; }
const float *ng_kfac_polyak(const ng_kfac *kf) { return kf->polyak_on ? kf->polyak : NULL; }

/* ---------------------------------------------------------------- small vector helpers */
static double dotf(const float *a, const float *b, size_t n)
{
    double out;
    ngi_vec_dots(a, &b, 1, n, &out);
    return out;
}

/* ---------------------------------------------------------------- statistics */
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

/* Make the running A and G whole: each iteration updates only their upper triangles (the
 * lower one is read only at a refresh, by the checkpoint and by the tests). */
static void stats_symmetric(ng_kfac *kf)
{
    for (int i = 0; i < kf->L; i++) {
        mirror_upper(kf->A[i], kf->din[i]);
        mirror_upper(kf->G[i], kf->dout[i]);
    }
}

/* Upper triangle of X = eps X + (1 - eps) Xhat/ms with Xhat = P^T P from ssyrk; the lower
 * one is filled by stats_symmetric when needed (mirroring every iteration cost as much as
 * the ssyrk itself). */
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

static void update_stats(ng_kfac *kf, long k, size_t ms)
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

/* Factored damping needs only (A + gamma pi I)^-1 for a few gammas, and the tridiagonal
 * Sigma factors come from generalised eigenproblems against the damped factors: Cholesky
 * of a snapshot is several times cheaper than eigendecompositions of every factor.
 * Only exact Tikhonov damping keeps the eigendecompositions. */
static int chol_mode(const ng_kfac *kf) { return !kf->p.exact_tikhonov; }

static ng_status refresh(ng_kfac *kf)
{
    int tri = kf->p.curvature == NG_KFAC_TRIDIAG, chol = chol_mode(kf);
    stats_symmetric(kf);
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

static ng_status sigma_factors(ng_kfac *kf, double gamma)
{
    int nt = 2 * (kf->L - 1), order[2 * NL];
    ng_status res[2 * NL];
    for (int j = 0; j < nt; j++) { /* C straight into K: dsygvd overwrites it with K */
        sigma_cross(kf, j / 2, j % 2, sigma_problem_of(kf, j, gamma).K);
        order[j] = j;
    }
    for (int j = 1; j < nt; j++) /* largest first: balances the threads */
        for (int q = j; q > 0 && sigma_problem_of(kf, order[q], gamma).n >
                                     sigma_problem_of(kf, order[q - 1], gamma).n; q--) {
            int t = order[q];
            order[q] = order[q - 1];
            order[q - 1] = t;
        }
    int npar = kf->npar < omp_get_max_threads() ? kf->npar : omp_get_max_threads();
    if (npar < 1) npar = 1;
    int blas = ng_blas_threads();
    if (npar > 1) ng_set_blas_threads(1);
#pragma omp parallel for num_threads(npar) schedule(dynamic, 1)
    for (int q = 0; q < nt; q++) {
        int t = omp_get_thread_num();
        sigma_problem pr = sigma_problem_of(kf, order[q], gamma);
        res[order[q]] = kf->force_fallback
                            ? NG_ENUMERIC
                            : ngi_kfac_kron_sub_factor_gv(pr.n, pr.S, pr.shift, pr.K, pr.K, pr.s,
                                                         kf->gtmp[t], kf->gwork[t], kf->giwork[t]);
    }
    if (npar > 1) ng_set_blas_threads(blas);
    for (int j = 0; j < nt; j++) {
        if (res[j] == NG_OK) continue;
        sigma_problem pr = sigma_problem_of(kf, j, gamma);
        sigma_cross(kf, j / 2, j % 2, kf->t1);
        /* again here, so a hard error's message is set in this thread */
        ng_status st = kf->force_fallback ? NG_ENUMERIC
                                          : ngi_kfac_kron_sub_factor_gv(pr.n, pr.S, pr.shift, kf->t1, pr.K, pr.s,
                                                                       kf->t2, kf->ework, kf->iwork);
        if (st != NG_ENUMERIC) {
            if (st) return st;
            continue;
        }
        st = ngi_kfac_eig(pr.n, pr.S, kf->t2, pr.s, kf->ework, kf->iwork);
        if (st) return st;
        ngi_kfac_sym_fn(pr.n, kf->t2, pr.s, pr.shift, -0.5, kf->t3, pr.K); /* t3 = (S + shift I)^-1/2 */
        st = ngi_kfac_kron_sub_factor(pr.n, kf->t3, kf->t1, pr.K, pr.s, kf->t2, kf->ework, kf->iwork);
        if (st) return st;
    }
    return NG_OK;
}

/* Builds the inverse representation for damping gamma from the snapshot. */
static ng_status prepare(ng_kfac *kf, double gamma)
{
    if (kf->prepared && kf->prepared_gamma == gamma) return NG_OK;
    kf->prepared = 0;
    if (chol_mode(kf)) {
        for (int i = 0; i < kf->L; i++) {
            ng_status st = damped_inverse(kf, kf->din[i], kf->QA[i], gamma * kf->pi[i], kf->Ainv[i], kf->live.AinvF[i]);
            if (st) return st;
            st = damped_inverse(kf, kf->dout[i], kf->QG[i], gamma / kf->pi[i], kf->Ginv[i], kf->live.GinvF[i]);
            if (st) return st;
        }
    }
    if (kf->p.curvature == NG_KFAC_TRIDIAG) {
        ng_status st = sigma_factors(kf, gamma);
        if (st) return st;
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

/* The gamma candidates each need a prepare; keep_candidate() sets the float apply state
 * of the best so far aside (a copy), adopt_candidate() makes it live again by swapping
 * pointers, so the chosen gamma is not prepared twice (a tridiagonal prepare solves two
 * generalised eigenproblems per layer pair). The double representation then still holds
 * the last candidate: only the tests' reference apply reads it, after a fresh prepare. */
static void keep_candidate(ng_kfac *kf)
{
    for (int i = 0; i < kf->L; i++) {
        void **live[APPLY_SET_ARRAYS], **kept[APPLY_SET_ARRAYS];
        size_t bytes[APPLY_SET_ARRAYS];
        set_arrays(kf, &kf->live, i, live, bytes);
        set_arrays(kf, &kf->kept, i, kept, bytes);
        for (int j = 0; j < APPLY_SET_ARRAYS; j++)
            if (bytes[j]) memcpy(*kept[j], *live[j], bytes[j]);
    }
}
static void adopt_candidate(ng_kfac *kf, double gamma)
{
    apply_set t = kf->live;
    kf->live = kf->kept;
    kf->kept = t;
    kf->prepared = 1;
    kf->prepared_gamma = gamma;
}

/* Delta = -Fbreve^-1 grad for the prepared gamma: in float through sgemm, or (reference = 1,
 * for the tests) the same formulas in double. */
static void propose(ng_kfac *kf, const float *grad, float *Delta, int reference)
{
    if (kf->p.curvature == NG_KFAC_TRIDIAG) {
        if (reference) {
            ngi_kfac_tridiag_view tv = {kf->L, kf->din, kf->dout, kf->off, kf->PsiA, kf->PsiG,
                                       kf->K1, kf->K2, kf->live.s1, kf->live.s2, kf->Ainv[kf->L - 1],
                                       kf->Ginv[kf->L - 1]};
            for (size_t i = 0; i < kf->n; i++) kf->Vd[i] = grad[i];
            ngi_kfac_tridiag_apply(&tv, -1.0, kf->Vd, kf->Xd, kf->t1, kf->t2);
            for (size_t i = 0; i < kf->n; i++) Delta[i] = (float)kf->Xd[i];
        } else {
            ngi_kfac_tridiag_view_f tv = {kf->L, kf->din, kf->dout, kf->off, kf->live.PsiAF, kf->live.PsiGF,
                                         kf->live.K1F, kf->live.K2F, kf->live.s1, kf->live.s2, kf->live.AinvF[kf->L - 1],
                                         kf->live.GinvF[kf->L - 1]};
            ngi_kfac_tridiag_apply_f(&tv, -1.0, grad, Delta, kf->ft, kf->ft2);
        }
        return;
    }
    for (int l = 0; l < kf->L; l++) {
        size_t m = kf->dout[l], n = kf->din[l];
        const float *V = grad + kf->off[l];
        float *U = Delta + kf->off[l];
        if (!kf->p.exact_tikhonov && reference) {
            double *Vd = kf->t3;
            for (size_t i = 0; i < m * n; i++) Vd[i] = V[i];
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)m, 1.0,
                        kf->Ginv[l], (int)m, Vd, (int)n, 0.0, kf->t1, (int)n);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)n, -1.0,
                        kf->t1, (int)n, kf->Ainv[l], (int)n, 0.0, kf->t2, (int)n);
            for (size_t i = 0; i < m * n; i++) U[i] = (float)kf->t2[i];
            continue;
        }
        if (!kf->p.exact_tikhonov) {
            /* U = -(G + gamma/pi I)^-1 V (A + gamma pi I)^-1 in float (sgemm); the inverses
             * were formed in double */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)m, 1.0f,
                        kf->live.GinvF[l], (int)m, V, (int)n, 0.0f, kf->ft, (int)n);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)n, -1.0f,
                        kf->ft, (int)n, kf->live.AinvF[l], (int)n, 0.0f, U, (int)n);
            continue;
        }
        /* exact Tikhonov: U = -Q_G [ (Q_G^T V Q_A) ./ (g a^T + gamma^2) ] Q_A^T (double) */
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
}

/* internal entry for the tests: Delta = -Fbreve^-1 grad with the current statistics
 * (refreshing the decompositions first). */
ng_status ngi_kfac_debug_propose(ng_kfac *kf, double gamma, const float *grad, float *Delta,
                                int reference)
{
    ng_status st = refresh(kf);
    if (st) return st;
    st = prepare(kf, gamma);
    if (st) return st;
    propose(kf, grad, Delta, reference);
    return NG_OK;
}
void ngi_kfac_debug_force_fallback(ng_kfac *kf, int on)
{
    kf->force_fallback = on;
    kf->prepared = 0;
}
void ngi_kfac_debug_propose_live(ng_kfac *kf, const float *grad, float *Delta)
{
    propose(kf, grad, Delta, 0);
}
/* internal entry for the tests: fold the current net buffers (first ms rows) into the
 * statistics as iteration k. */
void ngi_kfac_debug_stats(ng_kfac *kf, long k, size_t ms) { update_stats(kf, k, ms); }
double *ngi_kfac_debug_factor(ng_kfac *kf, int which, int layer)
{
    stats_symmetric(kf);
    switch (which) {
    case 0: return kf->A[layer];
    case 1: return kf->G[layer];
    case 2: return kf->Ax[layer];
    case 3: return kf->Gx[layer];
    default: return kf->pi;
    }
}

/* ---------------------------------------------------------------- the iteration */
static double objective(ng_kfac *kf, const float *Y, size_t m)
{
    const float *th = ng_net_params(kf->net);
    return ng_net_loss(kf->net, Y, m) + 0.5 * kf->p.eta * dotf(th, th, kf->n);
}

ng_status ng_kfac_step(ng_kfac *kf, const float *X, const float *Y, size_t m, ng_rng *rng,
                       ng_kfac_info *info)
{
    if (!kf || !X || !Y || !rng) return ngi_fail(NG_EINVAL, "kfac.c: NULL argument to ng_kfac_step");
    if (m < 1 || m > kf->maxb)
        return ngi_fail(NG_EINVAL, "kfac.c: minibatch of %zu cases, expected 1..%zu (the net's max_batch)", m, kf->maxb);
    const ng_kfac_params *p = &kf->p;
    ng_net *net = kf->net;
    float *theta = ng_net_params(net);
    long k = kf->k + 1;
    size_t n = kf->n;

    /* gradient of h on the minibatch */
    ng_status st = ng_net_forward(net, X, m);
    if (st) return st;
    double loss0 = ng_net_loss(net, Y, m);
    st = ng_net_backward(net, Y, m, kf->grad);
    if (st) return st;
    double vs[3]; /* theta . theta, grad . delta0, delta0 . delta0 */
    int finite = ngi_vec_grad_finish(kf->grad, theta, (float)p->eta,
                                    p->momentum && k > 1 ? kf->delta0 : NULL, n, vs);
    double h0 = loss0 + 0.5 * p->eta * vs[0], gd0 = vs[1], d0d0 = vs[2];
    if (!isfinite(h0) || !finite)
        return ngi_fail(NG_ENUMERIC, "kfac.c: iteration %ld: objective or gradient is NaN/Inf (objective %g)", k, h0);

    /* curvature statistics on the first ceil(tau1 m) cases */
    size_t ms = (size_t)ceil(p->tau1 * (double)m);
    if (ms < 1) ms = 1;
    if (ms > m) ms = m;
    if (!p->empirical_fisher) {
        st = ng_net_sample_targets(net, ms, rng, kf->Yhat);
        if (st) return st;
        st = ng_net_backward(net, kf->Yhat, ms, NULL);
        if (st) return st;
    }
    update_stats(kf, k, ms);
    int refreshed = 0;
    if (k <= p->refresh_first || k % p->T3 == 0) {
        st = refresh(kf);
        if (st) return st;
        refreshed = 1;
    }

    /* the quadratic model's exact-Fisher products use the first ceil(tau2 m) cases: two
     * R-op passes on the whole minibatch would cost more than the forward and backward */
    size_t mq = (size_t)ceil(p->tau2 * (double)m);
    if (mq < 1) mq = 1;
    if (mq > m) mq = m;

    /* momentum direction: its Fisher products are the same for every gamma */
    double lam = kf->lambda + p->eta;
    double d0Fd0 = 0;
    int use2 = 0;
    if (p->momentum && k > 1 && d0d0 > 0) {
        use2 = 1;
        st = ng_net_rop(net, kf->delta0, mq, kf->J0);
        if (st) return st;
        d0Fd0 = ng_net_output_fisher_dot(net, mq, kf->J0, kf->J0);
    }

    double cand[3];
    int nc = 1, gamma_adapted = 0;
    cand[0] = kf->gamma;
    if (p->adapt_gamma && k % p->T2 == 0) {
        double c3[3];
        ngi_kfac_gamma_candidates(kf->gamma, p->omega2, p->eta, c3);
        cand[0] = c3[1]; /* current first: it is usually prepared already */
        cand[1] = c3[0];
        cand[2] = c3[2];
        nc = 3;
        gamma_adapted = 1;
    }
    double model[3], al[3], mu[3];
    int best = -1;
    for (int c = 0; c < nc; c++) {
        st = prepare(kf, cand[c]);
        if (st) return st;
        propose(kf, kf->grad, kf->Delta, 0);
        st = ng_net_rop(net, kf->Delta, mq, kf->J1);
        if (st) return st;
        double DFD = ng_net_output_fisher_dot(net, mq, kf->J1, kf->J1);
        const float *b[3] = {kf->Delta, kf->grad, kf->delta0};
        double dd[3];
        ngi_vec_dots(kf->Delta, b, use2 ? 3 : 2, n, dd);
        double DD = dd[0], gD = dd[1];
        double h12 = 0, h22 = 0;
        if (use2) {
            h12 = ng_net_output_fisher_dot(net, mq, kf->J1, kf->J0) + lam * dd[2];
            h22 = d0Fd0 + lam * d0d0;
        }
        model[c] = ngi_kfac_solve_alpha_mu(DFD + lam * DD, h12, h22, gD, gd0, use2, &al[c], &mu[c]);
        if (best < 0 || (isfinite(model[c]) && !(model[c] >= model[best]))) {
            if (isfinite(model[c]) || best < 0) {
                best = c;
                if (nc > 1) memcpy(kf->Dbest, kf->Delta, n * sizeof(float));
                if (c < nc - 1) keep_candidate(kf);
            }
        }
    }
    double alpha = al[best], mub = mu[best], M = model[best];
    const float *Dsel = nc > 1 ? kf->Dbest : kf->Delta;
    if (!isfinite(M)) { /* no descent direction in the model: no step */
        alpha = 0;
        mub = 0;
        M = 0;
    }
    kf->gamma = cand[best];
    if (nc > 1 && best != nc - 1) adopt_candidate(kf, kf->gamma); /* the chosen gamma's inverse, for what follows */

    /* delta = alpha Delta + mu delta0, checked before theta moves; then theta += delta and
     * delta becomes the next iteration's delta0 (one pass each) */
    if (!ngi_vec_combine(kf->delta, alpha, Dsel, mub, kf->delta0, n))
        return ngi_fail(NG_ENUMERIC, "kfac.c: iteration %ld: update is NaN/Inf (alpha %g, mu %g)", k, alpha, mub);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        theta[i] += kf->delta[i];
        kf->delta0[i] = kf->delta[i];
    }
    double rho = NAN;
    if (p->adapt_lambda && k % p->T1 == 0) {
        st = ng_net_forward(net, X, m);
        if (st) return st;
        double h1 = objective(kf, Y, m);
        rho = (M != 0.0) ? (h1 - h0) / M : NAN;
        if (!isfinite(h1)) rho = NAN;
        kf->lambda = ngi_kfac_lm_update(kf->lambda, rho, p->omega1);
    }

    if (k >= p->polyak_start) {
        double xi = 1.0 - 1.0 / (double)(k - p->polyak_start + 1);
        if (xi > p->polyak_xi) xi = p->polyak_xi;
        float a = (float)xi, b = (float)(1.0 - xi);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) kf->polyak[i] = a * kf->polyak[i] + b * theta[i];
        kf->polyak_on = 1;
    }
    kf->k = k;
    if (info) {
        info->k = k;
        info->batch = m;
        info->stats_batch = ms;
        info->objective = h0;
        info->lambda = kf->lambda;
        info->gamma = kf->gamma;
        info->alpha = alpha;
        info->mu = mub;
        info->model_change = M;
        info->rho = rho;
        info->refreshed = refreshed;
        info->gamma_adapted = gamma_adapted;
    }
    return NG_OK;
}

/* ---------------------------------------------------------------- checkpoint state */
static size_t add_arr(ng_kfac *kf, ng_ckpt_array *arr, size_t cap, size_t i, const char *name,
                      int layer, void *data, ng_dtype dt, size_t r, size_t c)
{
    if (arr && i < cap) {
        if (layer >= 0)
            snprintf(kf->names[i], sizeof kf->names[i], "kfac_%s_%d", name, layer);
        else
            snprintf(kf->names[i], sizeof kf->names[i], "kfac_%s", name);
        ng_ckpt_array *a = &arr[i];
        memset(a, 0, sizeof *a);
        a->name = kf->names[i];
        a->t.dtype = dt;
        a->t.ndim = c ? 2 : 1;
        a->t.shape[0] = r;
        if (c) a->t.shape[1] = c;
        a->t.data = data;
    }
    return i + 1;
}

size_t ng_kfac_state(ng_kfac *kf, ng_ckpt_array *arr, size_t cap)
{
    /* scalars are mirrored into scal[] now and adopted by ng_kfac_state_loaded() */
    kf->scal[0] = (double)kf->k;
    kf->scal[1] = kf->lambda;
    kf->scal[2] = kf->gamma;
    kf->scal[3] = kf->polyak_on;
    stats_symmetric(kf); /* saved whole (the lower triangles are stale between refreshes) */
    size_t i = 0;
    int tri = kf->p.curvature == NG_KFAC_TRIDIAG;
    i = add_arr(kf, arr, cap, i, "scalars", -1, kf->scal, NG_F64, 8, 0);
    i = add_arr(kf, arr, cap, i, "pi", -1, kf->pi, NG_F64, (size_t)kf->L, 0);
    i = add_arr(kf, arr, cap, i, "delta0", -1, kf->delta0, NG_F32, kf->n, 0);
    i = add_arr(kf, arr, cap, i, "polyak", -1, kf->polyak, NG_F32, kf->n, 0);
    for (int l = 0; l < kf->L; l++) {
        size_t a = kf->din[l], g = kf->dout[l];
        i = add_arr(kf, arr, cap, i, "A", l, kf->A[l], NG_F64, a, a);
        i = add_arr(kf, arr, cap, i, "G", l, kf->G[l], NG_F64, g, g);
        i = add_arr(kf, arr, cap, i, "QA", l, kf->QA[l], NG_F64, a, a);
        i = add_arr(kf, arr, cap, i, "wA", l, kf->wA[l], NG_F64, a, 0);
        i = add_arr(kf, arr, cap, i, "QG", l, kf->QG[l], NG_F64, g, g);
        i = add_arr(kf, arr, cap, i, "wG", l, kf->wG[l], NG_F64, g, 0);
        if (tri && l + 1 < kf->L) {
            size_t a2 = kf->din[l + 1], g2 = kf->dout[l + 1];
            i = add_arr(kf, arr, cap, i, "Ax", l, kf->Ax[l], NG_F64, a, a2);
            i = add_arr(kf, arr, cap, i, "Gx", l, kf->Gx[l], NG_F64, g, g2);
            i = add_arr(kf, arr, cap, i, "AxS", l, kf->AxS[l], NG_F64, a, a2);
            i = add_arr(kf, arr, cap, i, "GxS", l, kf->GxS[l], NG_F64, g, g2);
        }
    }
    return i;
}

ng_status ng_kfac_state_loaded(ng_kfac *kf)
{
    kf->k = (long)kf->scal[0];
    kf->lambda = kf->scal[1];
    kf->gamma = kf->scal[2];
    kf->polyak_on = kf->scal[3] != 0;
    kf->prepared = 0;
    return NG_OK;
}
