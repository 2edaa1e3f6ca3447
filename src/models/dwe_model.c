/* dwe_model.c - the DWE model's memory: one slab with named views (parameters, optimiser
 * state, per-row step counts, corpus index, prior, minibatch buffers, per-thread tiles),
 * sized by one layout function that ng_dwe_bytes shares, so a configuration that cannot
 * fit is refused before anything is allocated. Also parameters, initialisation and the
 * state protocol. */
#include "dwe_internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

const char *ng_dwe_method_name(ng_dwe_method m)
{
    switch (m) {
    case NG_DWE_SMOOTHING: return "smoothing";
    case NG_DWE_FILTERING: return "filtering";
    case NG_DWE_MAP: return "map";
    }
    return "?";
}

const char *ng_dwe_prior_name(ng_dwe_prior p)
{
    switch (p) {
    case NG_DWE_PRIOR_PRODUCT: return "product";
    case NG_DWE_PRIOR_CONDITIONAL: return "conditional";
    }
    return "?";
}

ng_dwe_params ng_dwe_default_params(void)
{
    ng_dwe_params p;
    memset(&p, 0, sizeof p);
    p.method = NG_DWE_SMOOTHING;
    p.d = 100;
    p.sigma0 = 1.0;
    p.D = 1e-3;
    p.prior = NG_DWE_PRIOR_PRODUCT;
    p.gamma = 0.75;
    p.nu = 1.0;
    p.batch_words = 1000;
    p.batch_contexts = 1000;
    p.init_sd = 0.1;
    /* the authors' code: Adam (0.9, 0.99), eps 1e-8, clipped to +-0.1; the paper's
     * schedule rho0 (sbar / (s + sbar))^0.7, rho0 0.1, sbar 1000 */
    p.opt = ng_inner_default_params(NG_INNER_ADAM);
    p.opt.rho0 = 0.1;
    p.opt.sbar = 1000.0;
    p.opt.p = 0.7;
    p.opt.clip = 0.1;
    p.opt.beta1 = 0.9;
    p.opt.beta2 = 0.99;
    p.opt.eps = 1e-8;
    return p;
}

ng_status ng_dwe_params_check(const ng_dwe_params *p)
{
    if (!p) return ngi_fail(NG_EINVAL, "ng_dwe_params_check: params is NULL");
    if ((unsigned)p->method > NG_DWE_MAP)
        return ngi_fail(NG_EINVAL, "dwe: method = %d; expected smoothing, filtering or map", (int)p->method);
    if ((unsigned)p->prior > NG_DWE_PRIOR_CONDITIONAL)
        return ngi_fail(NG_EINVAL, "dwe: prior = %d; expected product or conditional", (int)p->prior);
    if (p->d < 1 || p->d > 65536) return ngi_fail(NG_EINVAL, "dwe: d = %zu; expected 1 .. 65536", p->d);
    if (!(p->sigma0 > 0) || !isfinite(p->sigma0))
        return ngi_fail(NG_EINVAL, "dwe: sigma0 = %g; expected finite and > 0", p->sigma0);
    if (!(p->D > 0) || !isfinite(p->D)) return ngi_fail(NG_EINVAL, "dwe: D = %g; expected finite and > 0", p->D);
    if (!(p->gamma >= 0) || !isfinite(p->gamma))
        return ngi_fail(NG_EINVAL, "dwe: gamma = %g; expected finite and >= 0", p->gamma);
    if (!(p->nu >= 0) || !isfinite(p->nu)) return ngi_fail(NG_EINVAL, "dwe: nu = %g; expected finite and >= 0", p->nu);
    if (!(p->init_sd >= 0) || !isfinite(p->init_sd))
        return ngi_fail(NG_EINVAL, "dwe: init_sd = %g; expected finite and >= 0", p->init_sd);
    return ngi_inner_params_check(&p->opt, "dwe optimiser");
}

/* ---------------------------------------------------------------- layout */
typedef struct {
    size_t mu, logb, th, opt[3][2], row_steps, counters, row_ptr, a, s, count, prior;
    size_t wi, cj, pos_w, pos_c, perm, iota, X, XT, G, GTH, slice_val, row_val, tiles, ybuf;
    size_t total;
    size_t Bw, Bc;
    int overflow, nopt, has_logb, has_th;
} dwe_layout;

static size_t lay_add(dwe_layout *L, size_t count, size_t elem)
{
    if (L->overflow) return 0;
    size_t off = (L->total + 63) & ~(size_t)63; /* cache-line aligned views */
    if (off < L->total || (elem && count > (SIZE_MAX / 4 - off) / elem)) {
        L->overflow = 1;
        return 0;
    }
    L->total = off + count * elem;
    return off;
}

static size_t mul(size_t a, size_t b) { return a && b > SIZE_MAX / 8 / a ? SIZE_MAX / 8 : a * b; }

static int dwe_layout_of(size_t W, size_t T, const ng_dwe_params *p, int nthreads, dwe_layout *L)
{
    memset(L, 0, sizeof *L);
    const size_t N = mul(2, W), d = p->d;
    const size_t Bw = p->batch_words == 0 || p->batch_words > W ? W : p->batch_words;
    const size_t Bc = p->batch_contexts == 0 || p->batch_contexts > W ? W : p->batch_contexts;
    const size_t nb = Bw + Bc, nth = nthreads > 0 ? (size_t)nthreads : 1;
    const size_t cs = p->method == NG_DWE_FILTERING ? 1 : T; /* compact slices */
    L->Bw = Bw;
    L->Bc = Bc;
    L->has_logb = p->method != NG_DWE_MAP;
    L->has_th = p->method == NG_DWE_SMOOTHING && T > 1;
    L->nopt = p->opt.kind == NG_INNER_ADAM ? 2 : p->opt.kind == NG_INNER_ADAGRAD ? 1 : 0;
    const size_t TNd = mul(mul(T, N), d), eNd = L->has_th ? mul(mul(T - 1, N), d) : 0;
    const size_t lNd = L->has_logb ? TNd : 0;
    lay_add(L, sizeof(struct ng_dwe), 1);
    L->mu = lay_add(L, TNd, sizeof(float));
    L->logb = lay_add(L, lNd, sizeof(float));
    L->th = lay_add(L, eNd, sizeof(float));
    for (int j = 0; j < L->nopt; j++) {
        L->opt[0][j] = lay_add(L, TNd, sizeof(float));
        L->opt[1][j] = lay_add(L, lNd, sizeof(float));
        L->opt[2][j] = lay_add(L, eNd, sizeof(float));
    }
    L->row_steps = lay_add(L, N, sizeof(int64_t));
    L->counters = lay_add(L, 3, sizeof(int64_t));
    L->row_ptr = lay_add(L, mul(T, W + 1), sizeof(int64_t));
    L->a = lay_add(L, mul(T, W), sizeof(double));
    L->s = lay_add(L, mul(T, W), sizeof(double));
    L->count = lay_add(L, T, sizeof(double));
    L->prior = lay_add(L, mul(6, T), sizeof(double));
    L->wi = lay_add(L, Bw, sizeof(int32_t));
    L->cj = lay_add(L, Bc, sizeof(int32_t));
    L->pos_w = lay_add(L, W, sizeof(int32_t));
    L->pos_c = lay_add(L, W, sizeof(int32_t));
    L->perm = lay_add(L, W, sizeof(int32_t));
    L->iota = lay_add(L, W, sizeof(int32_t));
    L->X = lay_add(L, mul(mul(cs, nb), d), sizeof(float));
    L->XT = lay_add(L, L->has_logb ? mul(mul(cs, nb), d) : 0, sizeof(float));
    L->G = lay_add(L, mul(mul(cs, nb), d), sizeof(float));
    L->GTH = lay_add(L, L->has_th ? mul(mul(T - 1, nb), d) : 0, sizeof(float));
    L->slice_val = lay_add(L, T, sizeof(double));
    L->row_val = lay_add(L, mul(2, nb), sizeof(double));
    L->tiles = lay_add(L, mul(nth, ngi_dwe_lik_ws_len(W)), sizeof(float));
    L->ybuf = lay_add(L, mul(nth, mul(4, d)), sizeof(double));
    return !L->overflow && W <= INT32_MAX && nb * d <= (size_t)INT32_MAX;
}

size_t ng_dwe_bytes(size_t W, size_t T, const ng_dwe_params *p)
{
    if (!p || W == 0 || T == 0 || p->d == 0) return SIZE_MAX;
    dwe_layout L;
    return dwe_layout_of(W, T, p, omp_get_max_threads(), &L) ? L.total : SIZE_MAX;
}

ng_status ng_dwe_new(const ng_corpus *c, const ng_dwe_params *p, ng_dwe **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_dwe_new: out is NULL");
    *out = NULL;
    if (!c || !p) return ngi_fail(NG_EINVAL, "ng_dwe_new: corpus or params is NULL");
    ng_status st = ng_dwe_params_check(p);
    if (st) return st;
    const size_t T = c->T, W = c->W;
    if (T == 0 || W == 0) return ngi_fail(NG_EINVAL, "ng_dwe_new: corpus has T = %zu, W = %zu", T, W);
    if (!c->time || !c->slice_ptr || (c->slice_ptr[T] > 0 && (!c->i || !c->j || !c->n)))
        return ngi_fail(NG_EINVAL, "ng_dwe_new: corpus arrays time, slice_ptr, i, j or n missing");
    const int nth = omp_get_max_threads();
    dwe_layout L;
    if (!dwe_layout_of(W, T, p, nth, &L))
        return ngi_fail(NG_EINVAL, "ng_dwe_new: W = %zu, T = %zu, d = %zu is too large", W, T, p->d);
    char *slab = ngi_xcalloc(1, L.total);
    if (!slab) return NG_ENOMEM;
    ng_dwe *m = (ng_dwe *)slab;
    m->slab = slab;
    m->bytes = L.total;
    m->p = *p;
    m->c = c;
    m->T = T;
    m->W = W;
    m->N = 2 * W;
    m->d = p->d;
    m->Bw = L.Bw;
    m->Bc = L.Bc;
    m->nb = L.Bw + L.Bc;
    m->nthreads = nth;
    m->nopt = L.nopt;
#define VIEW(type, off) ((type *)(slab + (off)))
    ng_dwe_views *v = &m->v;
    v->T = T;
    v->W = W;
    v->N = m->N;
    v->d = m->d;
    v->mu = VIEW(float, L.mu);
    v->logb = L.has_logb ? VIEW(float, L.logb) : NULL;
    v->th = L.has_th ? VIEW(float, L.th) : NULL;
    for (int j = 0; j < L.nopt; j++) {
        v->opt_mu[j] = VIEW(float, L.opt[0][j]);
        v->opt_logb[j] = L.has_logb ? VIEW(float, L.opt[1][j]) : NULL;
        v->opt_th[j] = L.has_th ? VIEW(float, L.opt[2][j]) : NULL;
    }
    v->row_steps = VIEW(int64_t, L.row_steps);
    v->counters = VIEW(int64_t, L.counters);
    m->row_ptr = VIEW(int64_t, L.row_ptr);
    m->a = VIEW(double, L.a);
    m->s = VIEW(double, L.s);
    m->count = VIEW(double, L.count);
    double *pr = VIEW(double, L.prior);
    m->pdiag = pr;
    m->poff = pr + T;
    m->plocal = pr + 2 * T;
    m->pc = pr + 3 * T;
    m->b0 = pr + 4 * T;
    m->e0 = pr + 5 * T;
    m->wi = VIEW(int32_t, L.wi);
    m->cj = VIEW(int32_t, L.cj);
    m->pos_w = VIEW(int32_t, L.pos_w);
    m->pos_c = VIEW(int32_t, L.pos_c);
    m->perm = VIEW(int32_t, L.perm);
    m->iota = VIEW(int32_t, L.iota);
    m->X = VIEW(float, L.X);
    m->XT = L.has_logb ? VIEW(float, L.XT) : NULL;
    m->G = VIEW(float, L.G);
    m->GTH = L.has_th ? VIEW(float, L.GTH) : NULL;
    m->slice_val = VIEW(double, L.slice_val);
    m->row_val = VIEW(double, L.row_val);
    m->tiles = VIEW(float, L.tiles);
    m->ybuf = VIEW(double, L.ybuf);
#undef VIEW
    for (size_t i = 0; i < W; i++) {
        m->iota[i] = (int32_t)i;
        m->pos_w[i] = m->pos_c[i] = -1;
    }
    if ((st = ngi_dwe_corpus_index(c, p->gamma, p->nu, m->row_ptr, m->a, m->s, m->count)) ||
        (st = ngi_dwe_prior_build(T, c->time, p->D, p->sigma0, p->prior, m->pdiag, m->poff, m->plocal,
                                  m->pc)) ||
        (st = ngi_dwe_prior_chol(T, m->pdiag, m->poff, m->b0, m->e0, &m->logdet))) {
        free(slab);
        return st;
    }
    ng_dwe_init(m, NULL);
    *out = m;
    return NG_OK;
}

void ng_dwe_free(ng_dwe *m)
{
    if (m) free(m->slab);
}

size_t ng_dwe_model_bytes(const ng_dwe *m) { return m->bytes; }
const ng_dwe_params *ng_dwe_get_params(const ng_dwe *m) { return &m->p; }
ng_dwe_views ng_dwe_get_views(ng_dwe *m) { return m->v; }
int ngi_dwe_threads(const ng_dwe *m, size_t work)
{
    if (work < NGI_DWE_PAR_MIN) return 1;
    int nt = omp_get_max_threads();
    return nt < m->nthreads ? nt : m->nthreads;
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ng_dwe_init(ng_dwe *m, ng_rng *rng)
{
    const size_t T = m->T, N = m->N, d = m->d, sl = N * d;
    ng_dwe_views *v = &m->v;
    /* one stream per slice, forked from rng: the same means for any thread count (no rng:
     * zero means, as ng_dwe_new leaves them) */
    const uint64_t base = rng ? ng_rng_u64(rng) : 0;
    const int nt = ngi_dwe_threads(m, T * sl);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long lt = 0; lt < (long)T; lt++) {
        size_t t = (size_t)lt;
        if (rng) {
            ng_rng r;
            ng_rng_seed(&r, mix64(base ^ mix64((uint64_t)t)));
            ng_rng_fill_normal(&r, v->mu + t * sl, sl, 0.0f, (float)m->p.init_sd);
        } else {
            memset(v->mu + t * sl, 0, sl * sizeof(float));
        }
        /* q starts at the prior: B = chol(Pi)^T in every trajectory */
        if (v->logb) {
            float lb = (float)log(m->b0[t]);
            for (size_t k = 0; k < sl; k++) v->logb[t * sl + k] = lb;
        }
        if (v->th && t + 1 < T) {
            float th = (float)ngi_dwe_theta_of(m->e0[t], m->b0[t]);
            for (size_t k = 0; k < sl; k++) v->th[t * sl + k] = th;
        }
    }
    for (int j = 0; j < m->nopt; j++) {
        memset(v->opt_mu[j], 0, T * sl * sizeof(float));
        if (v->opt_logb[j]) memset(v->opt_logb[j], 0, T * sl * sizeof(float));
        if (v->opt_th[j]) memset(v->opt_th[j], 0, (T - 1) * sl * sizeof(float));
    }
    memset(v->row_steps, 0, N * sizeof *v->row_steps);
    memset(v->counters, 0, 3 * sizeof *v->counters);
    if (m->p.method == NG_DWE_FILTERING) ng_dwe_filter_begin(m, 0);
}

ng_status ng_dwe_graph(const ng_dwe *m, ng_graph **out)
{
    if (!m || !out) return ngi_fail(NG_EINVAL, "ng_dwe_graph: NULL argument");
    return ng_graph_chain_weighted(m->T, m->pc, out);
}

/* ---------------------------------------------------------------- state protocol */

size_t ng_dwe_state(ng_dwe *m, ng_ckpt_array *arrays, size_t cap)
{
    static const char *const opt_names[3][2] = {{"dwe_opt_mu_0", "dwe_opt_mu_1"},
                                                {"dwe_opt_logb_0", "dwe_opt_logb_1"},
                                                {"dwe_opt_theta_0", "dwe_opt_theta_1"}};
    ng_dwe_views *v = &m->v;
    const size_t T = m->T, N = m->N, d = m->d;
    ng_ckpt_array own[3 + 6 + 2];
    size_t n = 0;
    float *par[3] = {v->mu, v->logb, v->th};
    static const char *const par_names[3] = {"dwe_mu", "dwe_logb", "dwe_theta"};
    for (int q = 0; q < 3; q++) {
        if (!par[q]) continue;
        size_t rows = q == 2 ? T - 1 : T;
        own[n++] = ng_ckpt_view(par_names[q], NG_F32, par[q], 3, rows, N, d);
        float *const *opt = q == 0 ? v->opt_mu : q == 1 ? v->opt_logb : v->opt_th;
        for (int j = 0; j < m->nopt; j++) own[n++] = ng_ckpt_view(opt_names[q][j], NG_F32, opt[j], 3, rows, N, d);
    }
    own[n++] = ng_ckpt_view("dwe_row_steps", NG_I64, v->row_steps, 1, N, 0, 0);
    own[n++] = ng_ckpt_view("dwe_counters", NG_I64, v->counters, 1, 3, 0, 0);
    if (arrays)
        for (size_t k = 0; k < n && k < cap; k++) arrays[k] = own[k];
    return n;
}

ng_status ng_dwe_state_loaded(ng_dwe *m)
{
    const int64_t *c = m->v.counters;
    if (c[0] < 0 || c[1] < 0 || (size_t)c[1] >= m->T || c[2] < 0)
        return ngi_fail(NG_EMISMATCH, "ng_dwe_state_loaded: counters (%lld, %lld, %lld) out of range",
                        (long long)c[0], (long long)c[1], (long long)c[2]);
    for (size_t n = 0; n < m->N; n++)
        if (m->v.row_steps[n] < 0)
            return ngi_fail(NG_EMISMATCH, "ng_dwe_state_loaded: row %zu has step count %lld", n,
                            (long long)m->v.row_steps[n]);
    return NG_OK;
}
