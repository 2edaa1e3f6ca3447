/* corpus_synth.c - the synthetic corpus with planted drift (spec dwe.md section 7): a
 * ground truth of topics and change points, its sentences as text, and its pair counts,
 * expected (lambda) or drawn (n+ ~ Poisson(lambda), the fast path). Every random draw
 * comes from a stream forked from the seed per purpose and slice, so nothing depends on
 * the thread count. */
#include "corpus_internal.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { STREAM_TRUTH = 1, STREAM_TEXT = 2, STREAM_COUNTS = 3 };

ng_dwe_synth_params ng_dwe_synth_default_params(void)
{
    ng_dwe_synth_params p;
    memset(&p, 0, sizeof p);
    p.words = 1000;
    p.topics = 10;
    p.slices = 40;
    p.sentences = 20000;
    p.small_sentences = 1000;
    p.small_every = 5;
    p.length = 12;
    p.beta = 0.3;
    p.n_abrupt = 40;
    p.n_gradual = 40;
    p.n_broadening = 20;
    p.n_frequency = 40;
    p.rank_lo = 50;
    p.rank_hi = 500;
    p.tau_lo = 10;
    p.tau_hi = 30;
    p.gradual_steps = 10;
    p.freq_factor = 10;
    p.window = 4;
    p.time0 = 1;
    p.seed = 1;
    return p;
}

const char *ng_dwe_kind_name(int kind)
{
    static const char *const k[] = {"stable", "abrupt", "gradual", "broadening", "frequency"};
    return kind >= 0 && kind <= NG_DWE_FREQUENCY ? k[kind] : "?";
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fork_rng(ng_rng *r, uint64_t seed, uint64_t stream, uint64_t k)
{
    ng_rng_seed(r, mix64(seed ^ mix64(stream * 0x100000001B3ull ^ mix64(k))));
}

static ng_status check_params(const ng_dwe_synth_params *p)
{
    size_t planted = p->n_abrupt + p->n_gradual + p->n_broadening + p->n_frequency;
    if (p->words < 1 || p->words > 100000000 || p->topics < 1 || p->topics > 100000 ||
        p->slices < 1 || p->slices > 100000)
        return ngi_fail(NG_EINVAL, "synth: %zu words, %zu topics, %zu slices: expected 1..1e8, "
                        "1..1e5, 1..1e5", p->words, p->topics, p->slices);
    if (p->length < 2 || p->length > 100000 || p->window < 1 || p->window > 64)
        return ngi_fail(NG_EINVAL, "synth: sentence length %zu, window %d: expected >= 2, 1..64",
                        p->length, p->window);
    if (!(p->beta >= 0 && p->beta <= 1) || !(p->freq_factor > 0) || !isfinite(p->freq_factor) ||
        !isfinite(p->time0))
        return ngi_fail(NG_EINVAL, "synth: beta %g, frequency factor %g, time0 %g: expected "
                        "beta in [0, 1], a factor > 0, a finite time", p->beta, p->freq_factor, p->time0);
    if (p->null_variant) return NG_OK;
    if (planted && (p->rank_lo > p->rank_hi || p->rank_hi >= p->words ||
                    planted > p->rank_hi - p->rank_lo + 1))
        return ngi_fail(NG_EINVAL, "synth: %zu planted words in ranks %zu..%zu of %zu words: expected "
                        "rank_lo <= rank_hi < words and room for them", planted, p->rank_lo,
                        p->rank_hi, p->words);
    if (planted && (p->tau_lo < 1 || p->tau_lo > p->tau_hi || p->tau_hi > p->slices))
        return ngi_fail(NG_EINVAL, "synth: change slices %zu..%zu of %zu: expected "
                        "1 <= tau_lo <= tau_hi <= slices", p->tau_lo, p->tau_hi, p->slices);
    if (p->n_abrupt + p->n_gradual + p->n_broadening && p->topics < 2)
        return ngi_fail(NG_EINVAL, "synth: topic changes need at least 2 topics");
    if (p->n_gradual && p->gradual_steps < 1)
        return ngi_fail(NG_EINVAL, "synth: gradual_steps 0: expected >= 1");
    return NG_OK;
}

/* The planted words: kinds, new topics and change slices from the truth stream. */
static ng_status plant(const ng_dwe_synth_params *p, ng_dwe_synth *s)
{
    for (size_t i = 0; i < s->W; i++) {
        s->kind[i] = NG_DWE_STABLE;
        s->tau[i] = -1;
        s->home[i] = (int)(i % s->K);
        s->new_topic[i] = -1;
    }
    size_t planted = p->n_abrupt + p->n_gradual + p->n_broadening + p->n_frequency;
    if (p->null_variant || !planted) return NG_OK;
    size_t *pick = ngi_xmalloc(planted * sizeof *pick);
    if (!pick) return NG_ENOMEM;
    ng_rng r;
    fork_rng(&r, p->seed, STREAM_TRUTH, 0);
    ng_status st = ng_rng_sample(&r, p->rank_hi - p->rank_lo + 1, planted, pick);
    size_t bounds[4] = {p->n_abrupt, p->n_gradual, p->n_broadening, p->n_frequency};
    int kinds[4] = {NG_DWE_ABRUPT, NG_DWE_GRADUAL, NG_DWE_BROADENING, NG_DWE_FREQUENCY};
    for (size_t q = 0, g = 0, in_g = 0; !st && q < planted; q++, in_g++) {
        while (in_g >= bounds[g]) g++, in_g = 0;
        size_t i = p->rank_lo + pick[q];
        s->kind[i] = kinds[g];
        s->tau[i] = (int)(p->tau_lo + ng_rng_below(&r, p->tau_hi - p->tau_lo + 1));
        if (kinds[g] != NG_DWE_FREQUENCY)
            s->new_topic[i] = (int)((s->home[i] + 1 + (int)ng_rng_below(&r, s->K - 1)) % (int)s->K);
    }
    free(pick);
    return st;
}

/* Topic membership a_ik(t) (t from 1) of word i into a (K values). */
static void membership(const ng_dwe_synth *s, size_t gradual_steps, size_t i, int t, double *a)
{
    memset(a, 0, s->K * sizeof *a);
    int h = s->home[i], n = s->new_topic[i], tau = s->tau[i];
    double moved = 0;
    switch (s->kind[i]) {
    case NG_DWE_ABRUPT: moved = t >= tau; break;
    case NG_DWE_GRADUAL: moved = fmin(1.0, fmax(0.0, (double)(t - tau + 1) / (double)gradual_steps)); break;
    case NG_DWE_BROADENING: moved = t >= tau ? 0.5 : 0; break;
    default: break;
    }
    a[h] += 1 - moved;
    if (n >= 0) a[n] += moved;
}

/* q_{k,t} for every k of slice t (from 1). */
static ng_status topic_dists(const ng_dwe_synth_params *p, ng_dwe_synth *s, int t)
{
    size_t W = s->W, K = s->K;
    double *f = ngi_xmalloc(W * sizeof *f), *a = ngi_xmalloc(W * K * sizeof *a);
    double *z = ngi_xcalloc(K, sizeof *z);
    if (!f || !a || !z) {
        free(f);
        free(a);
        free(z);
        return NG_ENOMEM;
    }
    double fsum = 0;
    for (size_t i = 0; i < W; i++) {
        f[i] = 1.0 / ((double)i + 10.0);
        if (s->kind[i] == NG_DWE_FREQUENCY && t >= s->tau[i]) f[i] *= p->freq_factor;
        fsum += f[i];
        membership(s, p->gradual_steps, i, t, a + i * K);
        for (size_t k = 0; k < K; k++) z[k] += f[i] * a[i * K + k];
    }
    double *q = s->q + (size_t)(t - 1) * K * W;
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < W; i++) {
            double bg = f[i] / fsum;
            /* a topic that lost every word is background only */
            q[k * W + i] = z[k] > 0 ? p->beta * bg + (1 - p->beta) * f[i] * a[i * K + k] / z[k] : bg;
        }
    free(f);
    free(a);
    free(z);
    return NG_OK;
}

ng_status ng_dwe_synth_make(const ng_dwe_synth_params *p, ng_dwe_synth *out)
{
    if (!p || !out) return ngi_fail(NG_EINVAL, "ng_dwe_synth_make: NULL argument");
    ng_status st = check_params(p);
    if (st) return st;
    ng_dwe_synth s;
    memset(&s, 0, sizeof s);
    s.W = p->words;
    s.K = p->topics;
    s.T = p->slices;
    s.length = p->length;
    s.window = p->window;
    s.seed = p->seed;
    s.word = ngi_xcalloc(s.W, sizeof *s.word);
    s.kind = ngi_xmalloc(s.W * sizeof *s.kind);
    s.tau = ngi_xmalloc(s.W * sizeof *s.tau);
    s.home = ngi_xmalloc(s.W * sizeof *s.home);
    s.new_topic = ngi_xmalloc(s.W * sizeof *s.new_topic);
    s.time = ngi_xmalloc(s.T * sizeof *s.time);
    s.sentences = ngi_xmalloc(s.T * sizeof *s.sentences);
    s.q = ngi_xmalloc(s.T * s.K * s.W * sizeof *s.q);
    st = s.word && s.kind && s.tau && s.home && s.new_topic && s.time && s.sentences && s.q ? NG_OK
                                                                                         : NG_ENOMEM;
    int digits = 4;
    for (size_t w = 10000; w < s.W; w *= 10) digits++;
    for (size_t i = 0; !st && i < s.W; i++)
        if (!(s.word[i] = ngi_asprintf("w%0*zu", digits, i))) st = NG_ENOMEM;
    if (!st) st = plant(p, &s);
    for (size_t t = 1; !st && t <= s.T; t++) {
        s.time[t - 1] = p->time0 + (double)(t - 1);
        int small = p->small_every && t % p->small_every == 0;
        s.sentences[t - 1] = (double)(small ? p->small_sentences : p->sentences);
        st = topic_dists(p, &s, (int)t);
    }
    if (st) {
        ng_dwe_synth_free(&s);
        return st;
    }
    *out = s;
    return NG_OK;
}

void ng_dwe_synth_free(ng_dwe_synth *s)
{
    if (!s) return;
    if (s->word)
        for (size_t i = 0; i < s->W; i++) free(s->word[i]);
    free(s->word);
    free(s->kind);
    free(s->tau);
    free(s->home);
    free(s->new_topic);
    free(s->time);
    free(s->sentences);
    free(s->q);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------ counts */

/* Poisson(lambda): multiplication for small lambda, PTRS (Hoermann 1993) above. */
static double poisson(ng_rng *r, double lam)
{
    if (lam <= 0) return 0;
    if (lam < 10) {
        double L = exp(-lam), prod = ng_rng_uniform(r);
        double k = 0;
        while (prod > L) {
            k++;
            prod *= ng_rng_uniform(r);
        }
        return k;
    }
    double slam = sqrt(lam), loglam = log(lam), b = 0.931 + 2.53 * slam;
    double a = -0.059 + 0.02483 * b, invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
        double U = ng_rng_uniform(r) - 0.5, V = ng_rng_uniform(r), us = 0.5 - fabs(U);
        double k = floor((2 * a / us + b) * U + lam + 0.43);
        if (us >= 0.07 && V <= vr) return k;
        if (k < 0 || (us < 0.013 && V > us)) continue;
        if (log(V) + log(invalpha) - log(a / (us * us) + b) <= -lam + k * loglam - lgamma(k + 1)) return k;
    }
}

/* The pair weight sum_{d <= c} 2 (l - d) w(d): expected pair count per sentence and unit
 * of sum_k q_k(i) q_k(j) / K. */
static double pair_factor(const ng_dwe_synth *s)
{
    double f = 0;
    int c = s->window;
    for (int d = 1; d <= c && (size_t)d < s->length; d++)
        f += 2.0 * (double)(s->length - (size_t)d) * (double)(c + 1 - d) / c;
    return f;
}

typedef struct {
    int32_t *i, *j;
    float *n;
    size_t nnz;
} slice_pairs;

static ng_status slice_counts(const ng_dwe_synth *s, size_t t, int expected, double *M, slice_pairs *sp)
{
    size_t W = s->W;
    const double *q = s->q + t * s->K * W;
    /* M = Q^T Q / K, upper triangle */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)W, (int)s->K, 1.0 / (double)s->K, q,
                (int)W, 0.0, M, (int)W);
    double scale = s->sentences[t] * pair_factor(s);
    ng_rng r;
    fork_rng(&r, s->seed, STREAM_COUNTS, t);
    size_t cap = expected ? W * (W + 1) / 2 : 1024, nnz = 0;
    sp->i = ngi_xmalloc(cap * sizeof *sp->i);
    sp->j = ngi_xmalloc(cap * sizeof *sp->j);
    sp->n = ngi_xmalloc(cap * sizeof *sp->n);
    if (!sp->i || !sp->j || !sp->n) return NG_ENOMEM;
    for (size_t i = 0; i < W; i++)
        for (size_t j = i; j < W; j++) {
            double lam = scale * M[i * W + j];
            double v = expected ? lam : poisson(&r, lam);
            if (!(v > 0)) continue;
            if (nnz == cap) {
                cap *= 2;
                int32_t *a = realloc(sp->i, cap * sizeof *a);
                if (a) sp->i = a;
                int32_t *b = a ? realloc(sp->j, cap * sizeof *b) : NULL;
                if (b) sp->j = b;
                float *c = b ? realloc(sp->n, cap * sizeof *c) : NULL;
                if (!c) return ngi_fail(NG_ENOMEM, "out of memory for the counts of slice %zu", t);
                sp->n = c;
            }
            sp->i[nnz] = (int32_t)i;
            sp->j[nnz] = (int32_t)j;
            sp->n[nnz++] = (float)v;
        }
    sp->nnz = nnz;
    return NG_OK;
}

static ng_status corpus_meta(const ng_dwe_synth *s, int expected, ng_corpus *c)
{
    size_t W = s->W, T = s->T;
    c->T = T;
    c->W = W;
    c->window = s->window;
    c->lowercase = 1;
    c->slice_years = 1;
    c->min_count = 0;
    c->source = ngi_strdup(expected ? "synth-expected" : "synth-poisson");
    c->time = ngi_xmalloc(T * sizeof *c->time);
    c->tokens = ngi_xmalloc(T * sizeof *c->tokens);
    c->word = ngi_xcalloc(W, sizeof *c->word);
    c->word_count = ngi_xcalloc(W, sizeof *c->word_count);
    c->slice_ptr = ngi_xmalloc((T + 1) * sizeof *c->slice_ptr);
    if (!c->source || !c->time || !c->tokens || !c->word || !c->word_count || !c->slice_ptr)
        return NG_ENOMEM;
    for (size_t i = 0; i < W; i++)
        if (!(c->word[i] = ngi_strdup(s->word[i]))) return NG_ENOMEM;
    for (size_t t = 0; t < T; t++) {
        c->time[t] = s->time[t];
        double tokens = s->sentences[t] * (double)s->length;
        c->tokens[t] = (int64_t)tokens;
        /* expected occurrences: tokens x the topic-averaged q */
        for (size_t k = 0; k < s->K; k++)
            for (size_t i = 0; i < W; i++)
                c->word_count[i] += tokens * s->q[(t * s->K + k) * W + i] / (double)s->K;
    }
    return NG_OK;
}

ng_status ng_dwe_synth_counts(const ng_dwe_synth *s, int expected, ng_corpus *out)
{
    if (!s || !out) return ngi_fail(NG_EINVAL, "ng_dwe_synth_counts: NULL argument");
    ng_corpus c;
    memset(&c, 0, sizeof c);
    size_t T = s->T, W = s->W;
    slice_pairs *sp = ngi_xcalloc(T, sizeof *sp);
    ng_status st = sp ? corpus_meta(s, expected, &c) : NG_ENOMEM;
    int fail = 0;
    if (!st) {
#pragma omp parallel
        {
            double *M = ngi_xmalloc(W * W * sizeof *M);
#pragma omp for schedule(dynamic, 1)
            for (size_t t = 0; t < T; t++) {
                if (!M || slice_counts(s, t, expected, M, &sp[t])) {
#pragma omp atomic write
                    fail = 1;
                }
            }
            free(M);
        }
        if (fail) st = ngi_fail(NG_ENOMEM, "out of memory for the synthetic counts (%zu words)", W);
    }
    size_t nnz = 0;
    for (size_t t = 0; !st && t < T; t++) nnz += sp[t].nnz;
    if (!st) {
        c.i = ngi_xmalloc((nnz + 1) * sizeof *c.i);
        c.j = ngi_xmalloc((nnz + 1) * sizeof *c.j);
        c.n = ngi_xmalloc((nnz + 1) * sizeof *c.n);
        if (!c.i || !c.j || !c.n) st = NG_ENOMEM;
    }
    if (!st) {
        c.slice_ptr[0] = 0;
        for (size_t t = 0, at = 0; t < T; t++) {
            memcpy(c.i + at, sp[t].i, sp[t].nnz * sizeof *c.i);
            memcpy(c.j + at, sp[t].j, sp[t].nnz * sizeof *c.j);
            memcpy(c.n + at, sp[t].n, sp[t].nnz * sizeof *c.n);
            at += sp[t].nnz;
            c.slice_ptr[t + 1] = (int64_t)at;
        }
    }
    for (size_t t = 0; sp && t < T; t++) {
        free(sp[t].i);
        free(sp[t].j);
        free(sp[t].n);
    }
    free(sp);
    if (st) {
        ng_corpus_free(&c);
        return st;
    }
    *out = c;
    return NG_OK;
}

/* ------------------------------------------------------------------ text */

/* Slice t's sentences into f, from its own stream. */
static ng_status slice_text(const ng_dwe_synth *s, size_t t, FILE *f, const char *prefix)
{
    size_t W = s->W, K = s->K;
    double *cdf = ngi_xmalloc(K * W * sizeof *cdf);
    if (!cdf) return NG_ENOMEM;
    for (size_t k = 0; k < K; k++) {
        double acc = 0;
        const double *q = s->q + (t * K + k) * W;
        for (size_t i = 0; i < W; i++) cdf[k * W + i] = acc += q[i];
    }
    ng_rng r;
    fork_rng(&r, s->seed, STREAM_TEXT, t);
    size_t S = (size_t)s->sentences[t];
    int ok = 1;
    for (size_t n = 0; ok && n < S; n++) {
        size_t k = (size_t)ng_rng_below(&r, K);
        const double *c = cdf + k * W;
        if (prefix) ok = fputs(prefix, f) >= 0;
        for (size_t l = 0; ok && l < s->length; l++) {
            double u = ng_rng_uniform(&r) * c[W - 1];
            size_t lo = 0, hi = W - 1;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (c[mid] > u) hi = mid;
                else lo = mid + 1;
            }
            ok = fputs(s->word[lo], f) >= 0 && fputc(l + 1 < s->length ? ' ' : '\n', f) != EOF;
        }
    }
    free(cdf);
    return ok ? NG_OK : ngi_fail(NG_EIO, "write failed");
}

static ng_status text_dir(const ng_dwe_synth *s, const char *dir)
{
    for (size_t t = 0; t < s->T; t++)
        if (s->time[t] != floor(s->time[t]) || s->time[t] < 0 || s->time[t] > 1e9)
            return ngi_fail(NG_EINVAL, "synth: time %g: expected whole years >= 0 for a text "
                            "directory, the time starting each file name (or write time<TAB>text)",
                            s->time[t]);
    int fail = 0;
    char msg[1024] = "";
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t t = 0; t < s->T; t++) {
        char *path = ngi_asprintf("%s/%04lld.txt", dir, (long long)s->time[t]);
        ng_atomic_file af;
        ng_status st = path ? ng_atomic_open(&af, path) : NG_ENOMEM;
        if (!st) {
            st = slice_text(s, t, af.f, NULL);
            if (st) ng_atomic_abort(&af);
            else st = ng_atomic_commit(&af);
        }
        if (st) {
#pragma omp critical(synth_text_fail)
            if (!fail) {
                fail = 1;
                snprintf(msg, sizeof msg, "%s: %s", path ? path : dir, ng_last_error());
            }
        }
        free(path);
    }
    return fail ? ngi_fail(NG_EIO, "%s", msg) : NG_OK;
}

static ng_status text_tsv(const ng_dwe_synth *s, const char *path)
{
    ng_atomic_file af;
    ng_status st = ng_atomic_open(&af, path);
    for (size_t t = 0; !st && t < s->T; t++) {
        char num[64], prefix[80];
        ngi_fmt_double(s->time[t], num, sizeof num);
        snprintf(prefix, sizeof prefix, "%s\t", num);
        st = slice_text(s, t, af.f, prefix);
    }
    if (st) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s: %s", path, ng_last_error());
        if (af.f) ng_atomic_abort(&af);
        return ngi_fail(st, "%s", keep);
    }
    return ng_atomic_commit(&af);
}

ng_status ng_dwe_synth_write_text(const ng_dwe_synth *s, const char *path, int tsv)
{
    if (!s || !path) return ngi_fail(NG_EINVAL, "ng_dwe_synth_write_text: NULL argument");
    if (tsv) return text_tsv(s, path);
    char *tmp;
    ng_status st = ngi_dir_prepare_tmp(path, "", &tmp);
    if (st) return st;
    st = text_dir(s, tmp);
    if (!st) st = ngi_dir_commit(tmp, path, "");
    if (st) ngi_rm_rf(tmp);
    free(tmp);
    return st;
}

ng_status ng_dwe_synth_write_truth(const ng_dwe_synth *s, const char *path)
{
    if (!s || !path) return ngi_fail(NG_EINVAL, "ng_dwe_synth_write_truth: NULL argument");
    ng_atomic_file af;
    ng_status st = ng_atomic_open(&af, path);
    if (st) return st;
    int ok = fputs("word,kind,tau,home_topic,new_topic\n", af.f) >= 0;
    for (size_t i = 0; ok && i < s->W; i++)
        ok = fprintf(af.f, "%s,%s,%d,%d,%d\n", s->word[i], ng_dwe_kind_name(s->kind[i]), s->tau[i],
                     s->home[i], s->new_topic[i]) > 0;
    if (!ok) {
        ng_atomic_abort(&af);
        return ngi_fail(NG_EIO, "%s: write failed", path);
    }
    return ng_atomic_commit(&af);
}

ng_status ng_dwe_synth_write(const char *dir, const ng_dwe_synth *s, ng_dwe_text text,
                             ng_dwe_counts counts)
{
    if (!dir || !s) return ngi_fail(NG_EINVAL, "ng_dwe_synth_write: NULL argument");
    char *tmp, *p = NULL;
    ng_status st = ngi_dir_prepare_tmp(dir, "truth.csv", &tmp);
    if (st) return st;
    if (text != NG_DWE_TEXT_NONE) {
        p = ngi_asprintf("%s/%s", tmp, text == NG_DWE_TEXT_TSV ? "text.tsv" : "text");
        st = p ? ng_dwe_synth_write_text(s, p, text == NG_DWE_TEXT_TSV) : NG_ENOMEM;
        free(p);
    }
    if (!st && counts != NG_DWE_COUNTS_NONE) {
        ng_corpus c;
        st = ng_dwe_synth_counts(s, counts == NG_DWE_COUNTS_EXPECTED, &c);
        if (!st) {
            p = ngi_asprintf("%s/counts", tmp);
            st = p ? ng_corpus_write(p, &c) : NG_ENOMEM;
            ng_corpus_free(&c);
            free(p);
        }
    }
    if (!st) {
        p = ngi_asprintf("%s/truth.csv", tmp);
        st = p ? ng_dwe_synth_write_truth(s, p) : NG_ENOMEM;
        free(p);
    }
    if (!st) st = ngi_dir_commit(tmp, dir, "truth.csv");
    if (st) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", ng_last_error());
        ngi_rm_rf(tmp);
        ngi_fail(st, "%s", keep);
    }
    free(tmp);
    return st;
}
