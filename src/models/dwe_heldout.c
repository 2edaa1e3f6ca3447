/* dwe_heldout.c - held-out slices of dynamic word embeddings (spec dwe.md section 5): the
 * seeded split of a corpus into training and test slices (never the first or the last,
 * so every test slice has a training neighbour on each side), and the predicted means
 * of a test slice from those neighbours under the diffusion prior. */
#include "dwe_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The slices of c with mask[t] == keep as a corpus of their own (copies). */
static ng_status corpus_subset(const ng_corpus *c, const unsigned char *mask, int keep, ng_corpus *out)
{
    memset(out, 0, sizeof *out);
    size_t T = 0, nnz = 0;
    for (size_t t = 0; t < c->T; t++)
        if (!!mask[t] == !!keep) {
            T++;
            nnz += (size_t)(c->slice_ptr[t + 1] - c->slice_ptr[t]);
        }
    if (T == 0) return NG_OK;
    out->T = T;
    out->W = c->W;
    out->window = c->window;
    out->lowercase = c->lowercase;
    out->slice_years = c->slice_years;
    out->min_count = c->min_count;
    out->time = ngi_xmalloc(T * sizeof *out->time);
    out->tokens = ngi_xmalloc(T * sizeof *out->tokens);
    out->slice_ptr = ngi_xmalloc((T + 1) * sizeof *out->slice_ptr);
    out->i = ngi_xmalloc((nnz ? nnz : 1) * sizeof *out->i);
    out->j = ngi_xmalloc((nnz ? nnz : 1) * sizeof *out->j);
    out->n = ngi_xmalloc((nnz ? nnz : 1) * sizeof *out->n);
    out->word = ngi_xcalloc(c->W ? c->W : 1, sizeof *out->word);
    out->word_count = ngi_xmalloc((c->W ? c->W : 1) * sizeof *out->word_count);
    out->source = ngi_strdup(c->source ? c->source : "");
    if (!out->time || !out->tokens || !out->slice_ptr || !out->i || !out->j || !out->n || !out->word ||
        !out->word_count || !out->source)
        goto oom;
    for (size_t k = 0; k < c->W; k++)
        if (!(out->word[k] = ngi_strdup(c->word[k]))) goto oom;
    if (c->W) memcpy(out->word_count, c->word_count, c->W * sizeof *out->word_count);
    size_t s = 0, q = 0;
    out->slice_ptr[0] = 0;
    for (size_t t = 0; t < c->T; t++) {
        if (!!mask[t] != !!keep) continue;
        size_t lo = (size_t)c->slice_ptr[t], n = (size_t)c->slice_ptr[t + 1] - lo;
        out->time[s] = c->time[t];
        out->tokens[s] = c->tokens ? c->tokens[t] : 0;
        memcpy(out->i + q, c->i + lo, n * sizeof *out->i);
        memcpy(out->j + q, c->j + lo, n * sizeof *out->j);
        memcpy(out->n + q, c->n + lo, n * sizeof *out->n);
        q += n;
        out->slice_ptr[++s] = (int64_t)q;
    }
    return NG_OK;
oom:
    ng_corpus_free(out);
    return ngi_fail(NG_ENOMEM, "ng_corpus_split: out of memory");
}

ng_status ng_corpus_split(const ng_corpus *c, size_t n_test, uint64_t seed, unsigned char *is_test,
                          ng_corpus *train, ng_corpus *test)
{
    if (!c || !train || !test) return ngi_fail(NG_EINVAL, "ng_corpus_split: NULL argument");
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    const size_t T = c->T;
    if (T == 0 || !c->time || !c->slice_ptr) return ngi_fail(NG_EINVAL, "ng_corpus_split: the corpus has no slices");
    if (n_test > 0 && (T < 3 || n_test > T - 2))
        return ngi_fail(NG_EINVAL, "ng_corpus_split: %zu test slices of %zu; at most %zu can be held out "
                        "(never the first or the last slice)", n_test, T, T >= 2 ? T - 2 : 0);
    unsigned char *mask = ngi_xcalloc(T, 1);
    size_t *pick = ngi_xmalloc((n_test ? n_test : 1) * sizeof *pick);
    ng_status s = mask && pick ? NG_OK : NG_ENOMEM;
    if (!s && n_test) {
        /* the interior slices 1 .. T-2 only: a test slice needs a training neighbour on each side */
        ng_rng r;
        ng_rng_seed(&r, seed);
        s = ng_rng_sample(&r, T - 2, n_test, pick);
        for (size_t k = 0; !s && k < n_test; k++) mask[1 + pick[k]] = 1;
    }
    if (!s) s = corpus_subset(c, mask, 0, train);
    if (!s) s = corpus_subset(c, mask, 1, test);
    if (!s && is_test) memcpy(is_test, mask, T);
    if (s) {
        ng_corpus_free(train);
        ng_corpus_free(test);
    }
    free(mask);
    free(pick);
    return s;
}

ng_status ng_dwe_predict_means(const ng_dwe *m, const double *times, size_t n, float *out)
{
    if (!m || (n && (!times || !out))) return ngi_fail(NG_EINVAL, "ng_dwe_predict_means: NULL argument");
    const size_t T = m->T, sl = m->N * m->d;
    const double *tau = m->c->time, D = m->p.D, prec0 = 1.0 / (m->p.sigma0 * m->p.sigma0);
    for (size_t k = 0; k < n; k++) {
        const double ts = times[k];
        /* b = the first training slice after ts (binary search), a = the one before it */
        size_t lo = 0, hi = T;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (tau[mid] <= ts) lo = mid + 1;
            else hi = mid;
        }
        if (!isfinite(ts) || lo == 0 || lo == T || tau[lo - 1] == ts)
            return ngi_fail(NG_EINVAL, "ng_dwe_predict_means: time %g is not strictly between two "
                            "training slices (%g .. %g) or equals one", ts, tau[0], tau[T - 1]);
        const size_t a = lo - 1, b = lo;
        const double ca = 1.0 / (D * (ts - tau[a])), cb = 1.0 / (D * (tau[b] - ts));
        const double den = ca + cb + prec0, wa = ca / den, wb = cb / den;
        const float *za = m->v.mu + a * sl, *zb = m->v.mu + b * sl;
        float *o = out + k * sl;
        for (size_t q = 0; q < sl; q++) o[q] = (float)(wa * (double)za[q] + wb * (double)zb[q]);
    }
    return NG_OK;
}
