/* dwe_step.c - one optimisation step of DWE and the evaluations: the minibatch (B_w words
 * x B_c contexts without replacement, all slices), the objective's gradient for the drawn
 * rows, and the lazy optimiser that updates those rows only, each with its own step count
 * for the bias corrections (ngi_inner_update: the same update as ng_inner_step). */
#include "dwe_internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

ngi_dwe_block ngi_dwe_cur_block(const ng_dwe *m)
{
    ngi_dwe_block b = {m->wi, m->cj, m->nI, m->nJ, m->pos_w, m->pos_c};
    return b;
}

ngi_dwe_block ngi_dwe_full_block(const ng_dwe *m)
{
    ngi_dwe_block b = {m->iota, m->iota, m->W, m->W, m->iota, m->iota};
    return b;
}

ngi_dwe_slice ngi_dwe_slice_of(const ng_dwe *m, size_t t)
{
    ngi_dwe_slice s = {m->c->j, m->c->n, m->row_ptr + t * (m->W + 1), m->a + t * m->W, m->s + t * m->W};
    return s;
}

static void clear_block(ng_dwe *m)
{
    for (size_t p = 0; p < m->nI; p++) m->pos_w[m->wi[p]] = -1;
    for (size_t p = 0; p < m->nJ; p++) m->pos_c[m->cj[p]] = -1;
    m->nI = m->nJ = 0;
}

static void index_block(ng_dwe *m, size_t nI, size_t nJ)
{
    m->nI = nI;
    m->nJ = nJ;
    for (size_t p = 0; p < nI; p++) m->pos_w[m->wi[p]] = (int32_t)p;
    for (size_t p = 0; p < nJ; p++) m->pos_c[m->cj[p]] = (int32_t)p;
}

void ngi_dwe_set_block(ng_dwe *m, const int32_t *wi, size_t nI, const int32_t *cj, size_t nJ)
{
    clear_block(m);
    memmove(m->wi, wi, nI * sizeof *wi);
    memmove(m->cj, cj, nJ * sizeof *cj);
    index_block(m, nI, nJ);
}

static int cmp_i32(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

/* B distinct indices of [0, W), ascending: a partial Fisher-Yates shuffle of the identity
 * (perm: W scratch), so every subset is equally likely and no state carries over. */
static void draw(int32_t *perm, size_t W, size_t B, ng_rng *rng, int32_t *out)
{
    for (size_t i = 0; i < W; i++) perm[i] = (int32_t)i;
    if (B < W) {
        for (size_t k = 0; k < B; k++) {
            size_t j = k + (size_t)ng_rng_below(rng, W - k);
            int32_t t = perm[k];
            perm[k] = perm[j];
            perm[j] = t;
        }
        qsort(perm, B, sizeof *perm, cmp_i32);
    }
    memcpy(out, perm, B * sizeof *out);
}

void ngi_dwe_draw_block(ng_dwe *m, ng_rng *rng)
{
    clear_block(m);
    draw(m->perm, m->W, m->Bw, rng, m->wi);
    draw(m->perm, m->W, m->Bc, rng, m->cj);
    index_block(m, m->Bw, m->Bc);
}

void ngi_dwe_update(ng_dwe *m, size_t t0, size_t t1, int64_t s)
{
    const ng_inner_params *op = &m->p.opt;
    const double rate = ngi_inner_rate_at(op, s);
    const size_t T = m->T, N = m->N, d = m->d, nr = m->nI + m->nJ, xs = nr * d;
    ng_dwe_views *v = &m->v;
    const int nt = ngi_dwe_threads(m, (t1 - t0) * nr * d * 3);
    /* slice by slice, the block's rows in ascending order within each: the rows of a slice
     * lie in one T-th of each array, so the pages and cache lines touched follow each other
     * (row by row across the slices, every access landed on a different page). Every
     * element's update depends on its own values and the row's step count only, so the
     * order changes no bit. Rows are disjoint (u rows and v rows are different rows):
     * threads never share an element. */
    const long n = (long)((t1 - t0) * nr);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long l = 0; l < n; l++) {
        size_t t = t0 + (size_t)l / nr, p = (size_t)l % nr, r = ngi_dwe_row(m, p);
        int64_t sn = v->row_steps[r];
        size_t o = (t * N + r) * d, g = (t - t0) * xs + p * d;
        ngi_inner_update(op, rate, sn, v->mu + o, m->G + g, m->nopt > 0 ? v->opt_mu[0] + o : NULL,
                         m->nopt > 1 ? v->opt_mu[1] + o : NULL, d);
        if (v->logb)
            ngi_inner_update(op, rate, sn, v->logb + o, m->XT + g,
                             m->nopt > 0 ? v->opt_logb[0] + o : NULL,
                             m->nopt > 1 ? v->opt_logb[1] + o : NULL, d);
        if (v->th && t + 1 < T)
            ngi_inner_update(op, rate, sn, v->th + o, m->GTH + g, m->nopt > 0 ? v->opt_th[0] + o : NULL,
                             m->nopt > 1 ? v->opt_th[1] + o : NULL, d);
    }
    /* the step counts advance once the rows' slices are all done */
    for (size_t p = 0; p < nr; p++) v->row_steps[ngi_dwe_row(m, p)]++;
}

static int all_finite(const float *x, size_t n, int nt)
{
    int bad = 0;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(| : bad)
    for (long k = 0; k < (long)n; k++) bad |= !isfinite(x[k]);
    return !bad;
}

/* The objective's parts on the current block for the model's method. */
static void eval_block(ng_dwe *m, uint64_t base, int grad, int want_value, double au, double av,
                       ngi_dwe_parts *parts)
{
    switch (m->p.method) {
    case NG_DWE_SMOOTHING: ngi_dwe_smoothing_eval(m, base, grad, want_value, au, av, parts); break;
    case NG_DWE_MAP: ngi_dwe_map_eval(m, grad, want_value, au, av, parts); break;
    case NG_DWE_FILTERING:
        ngi_dwe_filter_eval(m, (size_t)m->v.counters[1], base, grad, want_value, au, av, parts);
        break;
    }
}

static void fill_info(const ng_dwe *m, double loglik, double logprior, double entropy, int value,
                      ng_dwe_info *info)
{
    info->step = m->v.counters[0];
    info->slice = m->p.method == NG_DWE_FILTERING ? (int)m->v.counters[1] : -1;
    info->loglik = value ? loglik : NAN;
    info->logprior = value ? logprior : NAN;
    info->entropy = value ? entropy : NAN;
    info->loss = value ? -(loglik + logprior + entropy) : NAN;
}

void ngi_dwe_estimate(ng_dwe *m, uint64_t base, int grad, int want_value, double est[3])
{
    const double W = (double)m->W;
    const double sw = W / (double)m->nI, sc = W / (double)m->nJ;
    ngi_dwe_parts parts;
    /* a word row sees B_c of the W contexts, a context row B_w of the W words */
    eval_block(m, base, grad, want_value, sc, sw, &parts);
    est[0] = sw * sc * parts.loglik;
    est[1] = sw * parts.row_u[0] + sc * parts.row_v[0];
    est[2] = sw * parts.row_u[1] + sc * parts.row_v[1];
}

ng_status ng_dwe_step(ng_dwe *m, ng_rng *rng, int want_value, ng_dwe_info *info)
{
    if (!m || !rng) return ngi_fail(NG_EINVAL, "ng_dwe_step: model or rng is NULL");
    const size_t d = m->d;
    const int filt = m->p.method == NG_DWE_FILTERING;
    const double c0 = omp_get_wtime();
    ngi_dwe_draw_block(m, rng);
    const uint64_t base = m->p.method == NG_DWE_MAP ? 0 : ng_rng_u64(rng);
    const double c1 = omp_get_wtime(), lik0 = m->lik_seconds;
    double est[3];
    ngi_dwe_estimate(m, base, 1, want_value, est);
    const double c2 = omp_get_wtime(), lik = m->lik_seconds - lik0;
    m->tm.draw += c1 - c0;
    m->tm.likelihood += lik;
    m->tm.prior += c2 - c1 - lik;
    const size_t cs = filt ? 1 : m->T, nr = m->nI + m->nJ;
    const int nt = ngi_dwe_threads(m, cs * nr * d);
    const int64_t s = filt ? m->v.counters[2] : m->v.counters[0];
    /* before the update: clipping would turn an Inf/NaN gradient into +-clip */
    if ((want_value && !isfinite(est[0] + est[1] + est[2])) || !all_finite(m->G, cs * nr * d, nt) ||
        (m->XT && !all_finite(m->XT, cs * nr * d, nt)) ||
        (m->GTH && !all_finite(m->GTH, (m->T - 1) * nr * d, nt)))
        return ngi_fail(NG_ENUMERIC, "ng_dwe_step: diverged at step %lld (non-finite objective or gradient)",
                        (long long)m->v.counters[0]);
    size_t t0 = filt ? (size_t)m->v.counters[1] : 0;
    ngi_dwe_update(m, t0, t0 + cs, s);
    const double c3 = omp_get_wtime();
    m->tm.update += c3 - c2;
    m->tm.total += c3 - c0;
    m->tm.steps++;
    m->v.counters[0]++;
    if (filt) m->v.counters[2]++;
    if (info) {
        fill_info(m, est[0], est[1], est[2], want_value, info);
        info->rate = ngi_inner_rate_at(&m->p.opt, s);
    }
    return NG_OK;
}

ng_status ng_dwe_objective(ng_dwe *m, uint64_t noise_seed, ng_dwe_info *info)
{
    if (!m || !info) return ngi_fail(NG_EINVAL, "ng_dwe_objective: model or info is NULL");
    const size_t W = m->W;
    double ll = 0.0, lp = 0.0, h = 0.0;
    /* all pairs, block by block in the minibatch buffers; a row's sample depends on
     * (noise_seed, row) only, so it is the same in every block */
    for (size_t a0 = 0; a0 < W; a0 += m->Bw) {
        size_t na = W - a0 < m->Bw ? W - a0 : m->Bw;
        for (size_t b0 = 0; b0 < W; b0 += m->Bc) {
            size_t nc = W - b0 < m->Bc ? W - b0 : m->Bc;
            ngi_dwe_set_block(m, m->iota + a0, na, m->iota + b0, nc);
            ngi_dwe_parts parts;
            eval_block(m, noise_seed, 0, 1, 1.0, 1.0, &parts);
            ll += parts.loglik;
            if (b0 == 0) {
                lp += parts.row_u[0];
                h += parts.row_u[1];
            }
            if (a0 == 0) {
                lp += parts.row_v[0];
                h += parts.row_v[1];
            }
        }
    }
    clear_block(m);
    fill_info(m, ll, lp, h, 1, info);
    info->rate = NAN;
    if (!isfinite(info->loss)) return ngi_fail(NG_ENUMERIC, "ng_dwe_objective: objective is %g", info->loss);
    return NG_OK;
}

ng_status ng_dwe_loglik(ng_dwe *m, const float *Z, const unsigned char *slices, double *ll,
                        double *count)
{
    if (!m || !Z || !ll) return ngi_fail(NG_EINVAL, "ng_dwe_loglik: NULL argument");
    const ngi_dwe_block b = ngi_dwe_full_block(m);
    const size_t sl = m->N * m->d;
    *ll = ngi_dwe_lik_slices(m, &b, 0, m->T, slices, Z, Z + m->W * m->d, sl, NULL, NULL, 0, 0, 0, 1);
    if (count) {
        double c = 0.0;
        for (size_t t = 0; t < m->T; t++)
            if (!slices || slices[t]) c += m->count[t];
        *count = c;
    }
    if (!isfinite(*ll)) return ngi_fail(NG_ENUMERIC, "ng_dwe_loglik: log-likelihood is %g", *ll);
    return NG_OK;
}

ng_dwe_timing ng_dwe_get_timing(const ng_dwe *m)
{
    ng_dwe_timing z = {0, 0, 0, 0, 0, 0};
    return m ? m->tm : z;
}

void ng_dwe_timing_reset(ng_dwe *m)
{
    if (m) memset(&m->tm, 0, sizeof m->tm);
}
