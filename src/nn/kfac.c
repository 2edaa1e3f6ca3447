/* kfac.c - K-FAC (Martens & Grosse 2015) as the authors' companion code runs it: the
 * handle (parameters, the minibatch schedule, one slab allocated in ng_kfac_new), the
 * iteration and its checkpoint state. The iteration's parts: curvature statistics
 * (kfac_stats.c), damped inverses (kfac_inverse.c), the quadratic model for (alpha, mu)
 * and rho (kfac_quadratic.c), the damping rules (kfac_damping.c). step() allocates
 * nothing. */
#include "internal.h"
#include "kfac_internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

ng_kfac_params ng_kfac_default_params(void)
{
    ng_kfac_params p;
    memset(&p, 0, sizeof p);
    /* block-diagonal: the faster per second of training (docs/kfac.md); the authors' MNIST
     * runs used tridiag, an option */
    p.curvature = NG_KFAC_BLOCKDIAG;
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

ng_status ng_kfac_preset_eta(const char *preset, double *eta)
{
    /* spec §5: the paper's deep autoencoders */
    static const struct { const char *name; double eta; } k[] = {
        {"mnist", 1e-5}, {"curves", 1e-5}, {"faces", 0.5e-5}};
    if (!preset || !eta) return ngi_fail(NG_EINVAL, "kfac.c: ng_kfac_preset_eta: NULL argument");
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (!strcmp(preset, k[i].name)) {
            *eta = k[i].eta;
            return NG_OK;
        }
    return ngi_fail(NG_EINVAL, "kfac.c: no paper eta for '%s': expected mnist, curves or faces", preset);
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
    /* the gamma candidates are compared on freshly refreshed decompositions (spec §4) */
    if (p->T2 % p->T3 != 0)
        return ngi_fail(NG_EINVAL, "kfac.c: T2 = %d is not a multiple of T3 = %d (the gamma update needs a refresh on its iteration)", p->T2, p->T3);
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
            void **ptr[NGI_KFAC_APPLY_SET_ARRAYS];
            size_t bytes[NGI_KFAC_APPLY_SET_ARRAYS];
            ngi_kfac_apply_set_arrays(kf, set ? &kf->kept : &kf->live, (int)i, ptr, bytes);
            for (int j = 0; j < NGI_KFAC_APPLY_SET_ARRAYS; j++)
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
        if (kf->npar > NGI_KFAC_NPAR) kf->npar = NGI_KFAC_NPAR;
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

/* ---------------------------------------------------------------- the iteration */
/* Gradient of h on the minibatch into kf->grad (forward and backward; the forward leaves
 * the activations the statistics and the R-ops read): h0 = h(theta), gd0 = grad . delta0,
 * d0d0 = delta0 . delta0 (0 without momentum). */
static ng_status gradient(ng_kfac *kf, const float *X, const float *Y, size_t m, long k,
                          double *h0, double *gd0, double *d0d0)
{
    const ng_kfac_params *p = &kf->p;
    ng_status st = ng_net_forward(kf->net, X, m);
    if (st) return st;
    double loss0 = ng_net_loss(kf->net, Y, m);
    st = ng_net_backward(kf->net, Y, m, kf->grad);
    if (st) return st;
    double vs[3]; /* theta . theta, grad . delta0, delta0 . delta0 */
    int finite = ngi_vec_grad_finish(kf->grad, ng_net_params(kf->net), (float)p->eta,
                                    p->momentum && k > 1 ? kf->delta0 : NULL, kf->n, vs);
    *h0 = loss0 + 0.5 * p->eta * vs[0];
    *gd0 = vs[1];
    *d0d0 = vs[2];
    if (!isfinite(*h0) || !finite)
        return ngi_fail(NG_ENUMERIC, "kfac.c: iteration %ld: objective or gradient is NaN/Inf (objective %g)", k, *h0);
    return NG_OK;
}

/* The step chosen for this iteration: delta = alpha D + mu delta0, model value M. */
typedef struct {
    double alpha, mu, M;
    const float *D;
    int gamma_adapted;
} step_choice;

/* Delta = -Fbreve^-1 grad for each gamma candidate (the current gamma; every T2
 * iterations also the spec's smaller and larger one), rescaled by the model's (alpha, mu);
 * the candidate with the lowest model value becomes kf->gamma. */
static ng_status choose_step(ng_kfac *kf, long k, const ngi_kfac_model *q, step_choice *out)
{
    const ng_kfac_params *p = &kf->p;
    double cand[3];
    int nc = 1;
    cand[0] = kf->gamma;
    out->gamma_adapted = 0;
    if (p->adapt_gamma && k % p->T2 == 0) {
        double c3[3];
        ngi_kfac_gamma_candidates(kf->gamma, p->omega2, p->eta, c3);
        cand[0] = c3[1]; /* current first: it is usually prepared already */
        cand[1] = c3[0];
        cand[2] = c3[2];
        nc = 3;
        out->gamma_adapted = 1;
    }
    double model[3], al[3], mu[3];
    int best = 0;
    for (int c = 0; c < nc; c++) {
        ng_status st = ngi_kfac_prepare(kf, cand[c]);
        if (st) return st;
        ngi_kfac_propose(kf, kf->grad, kf->Delta, 0);
        st = ngi_kfac_model_solve(kf, q, kf->Delta, &model[c], &al[c], &mu[c]);
        if (st) return st;
        /* the one rule (ngi_kfac_pick_lowest) over the candidates so far; none finite: the
         * current gamma. A new best is set aside before the next prepare overwrites it. */
        int b = ngi_kfac_pick_lowest(model, c + 1);
        if ((b < 0 ? 0 : b) == c) {
            best = c;
            if (nc > 1) memcpy(kf->Dbest, kf->Delta, kf->n * sizeof(float));
            if (c < nc - 1) ngi_kfac_keep_candidate(kf);
        }
    }
    out->alpha = al[best];
    out->mu = mu[best];
    out->M = model[best];
    out->D = nc > 1 ? kf->Dbest : kf->Delta;
    if (!isfinite(out->M)) { /* no descent direction in the model: no step */
        out->alpha = 0;
        out->mu = 0;
        out->M = 0;
    }
    kf->gamma = cand[best];
    if (nc > 1 && best != nc - 1) ngi_kfac_adopt_candidate(kf, kf->gamma); /* the chosen gamma's inverse, for what follows */
    return NG_OK;
}

/* delta = alpha D + mu delta0, checked before theta moves; then theta += delta and delta
 * becomes the next iteration's delta0 (one pass each). */
static ng_status move(ng_kfac *kf, long k, const step_choice *c)
{
    float *theta = ng_net_params(kf->net);
    size_t n = kf->n;
    if (!ngi_vec_combine(kf->delta, c->alpha, c->D, c->mu, kf->delta0, n))
        return ngi_fail(NG_ENUMERIC, "kfac.c: iteration %ld: update is NaN/Inf (alpha %g, mu %g)", k, c->alpha, c->mu);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        theta[i] += kf->delta[i];
        kf->delta0[i] = kf->delta[i];
    }
    return NG_OK;
}

/* Polyak averaging of the iterate theta (n) into avg at step k >= start:
 * xi_k = min(1 - 1/(k - start + 1), xi_max), so the first averaged step takes theta itself.
 * K-FAC's schedule; net_optim.c gives the same to the baselines. */
void ngi_polyak_update(float *avg, const float *theta, size_t n, long k, long start, double xi_max)
{
    double xi = 1.0 - 1.0 / (double)(k - start + 1);
    if (xi > xi_max) xi = xi_max;
    float a = (float)xi, b = (float)(1.0 - xi);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) avg[i] = a * avg[i] + b * theta[i];
}

/* Order (spec §4): gradient, statistics, (refresh), gamma candidates, pick delta, theta +=
 * delta, lambda from rho (the model value used the old lambda), Polyak average. */
ng_status ng_kfac_step(ng_kfac *kf, const float *X, const float *Y, size_t m, ng_rng *rng,
                       ng_kfac_info *info)
{
    if (!kf || !X || !Y || !rng) return ngi_fail(NG_EINVAL, "kfac.c: NULL argument to ng_kfac_step");
    if (m < 1 || m > kf->maxb)
        return ngi_fail(NG_EINVAL, "kfac.c: minibatch of %zu cases, expected 1..%zu (the net's max_batch)", m, kf->maxb);
    const ng_kfac_params *p = &kf->p;
    long k = kf->k + 1;

    double h0, gd0, d0d0;
    ng_status st = gradient(kf, X, Y, m, k, &h0, &gd0, &d0d0);
    if (st) return st;

    size_t ms;
    st = ngi_kfac_collect_stats(kf, k, m, rng, &ms);
    if (st) return st;
    int refreshed = 0;
    if (k <= p->refresh_first || k % p->T3 == 0) {
        st = ngi_kfac_refresh(kf);
        if (st) return st;
        refreshed = 1;
    }

    ngi_kfac_model q;
    st = ngi_kfac_model_begin(kf, k, m, gd0, d0d0, &q);
    if (st) return st;
    step_choice c;
    st = choose_step(kf, k, &q, &c);
    if (st) return st;
    st = move(kf, k, &c);
    if (st) return st;

    double rho = NAN;
    if (p->adapt_lambda && k % p->T1 == 0) {
        st = ngi_kfac_reduction_ratio(kf, X, Y, m, h0, c.M, &rho);
        if (st) return st;
        kf->lambda = ngi_kfac_lm_update(kf->lambda, rho, p->omega1);
    }
    if (k >= p->polyak_start) {
        ngi_polyak_update(kf->polyak, ng_net_params(kf->net), kf->n, k, p->polyak_start, p->polyak_xi);
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
        info->alpha = c.alpha;
        info->mu = c.mu;
        info->model_change = c.M;
        info->rho = rho;
        info->refreshed = refreshed;
        info->gamma_adapted = c.gamma_adapted;
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
        arr[i] = ng_ckpt_view(kf->names[i], dt, data, c ? 2 : 1, r, c, 0);
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
    ngi_kfac_stats_symmetric(kf); /* saved whole (the lower triangles are stale between refreshes) */
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
