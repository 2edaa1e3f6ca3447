/* corpus_vocab.c - pass 1: word counts per slice, merged file by file; the slices; the
 * vocabulary, the top W words by relative frequency averaged over slices
 * (1/T) sum_t count_{w,t} / tokens_t, as the authors' mk_vocab describes it. */
#include "corpus_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t time_bits(double t)
{
    t += 0.0; /* -0 and +0 are one time */
    uint64_t b;
    memcpy(&b, &t, sizeof b);
    return b;
}

/* The slice of time key among (stime, stok, ns) with index map slice_of: found or added. */
static int64_t slice_index(ngi_map *slice_of, double **stime, int64_t **stok, size_t *ns,
                           size_t *scap, double key)
{
    double *v = ngi_map_at(slice_of, time_bits(key));
    if (!v) return -1;
    if (*v > 0) return (int64_t)*v - 1;
    if (*ns == *scap) {
        size_t c = *scap ? 2 * *scap : 16;
        double *t = realloc(*stime, c * sizeof *t);
        if (t) *stime = t;
        int64_t *k = t ? realloc(*stok, c * sizeof *k) : NULL;
        if (!k) {
            ngi_fail(NG_ENOMEM, "out of memory for %zu slices", c);
            return -1;
        }
        *stok = k;
        *scap = c;
    }
    (*stime)[*ns] = key;
    (*stok)[*ns] = 0;
    *v = (double)++*ns;
    return (int64_t)*ns - 1;
}

ng_status ngi_vocab_job_init(ngi_job *j)
{
    ng_status s = ngi_dict_init(&j->words, 4096);
    if (!s) s = ngi_map_init(&j->counts, 8192);
    if (!s) s = ngi_map_init(&j->slice_of, 16);
    return s;
}

void ngi_vocab_job_free(ngi_job *j)
{
    ngi_dict_free(&j->words);
    ngi_map_free(&j->counts);
    ngi_map_free(&j->slice_of);
    free(j->stime);
    free(j->stok);
}

static int64_t cur_slice(ngi_job *j)
{
    if (j->cur < 0) {
        j->cur = slice_index(&j->slice_of, &j->stime, &j->stok, &j->ns, &j->scap, j->key);
        if (j->cur < 0) ngi_job_fail(j, NG_ENOMEM, "%s: %s", j->path, ng_last_error());
    }
    return j->cur;
}

static void count(ngi_job *j, int64_t id, int64_t s, double c)
{
    double *v = ngi_map_at(&j->counts, (uint64_t)id << 32 | (uint64_t)s);
    if (!v) ngi_job_fail(j, NG_ENOMEM, "%s: %s", j->path, ng_last_error());
    else *v += c;
}

void ngi_vocab_token(ngi_job *j, const char *w, size_t len)
{
    int64_t s = cur_slice(j);
    if (s < 0) return;
    j->stok[s]++;
    j->tokens++;
    if (!w) return;
    int64_t id = ngi_dict_add(&j->words, w, len, ngi_hash_bytes(w, len));
    if (id < 0) ngi_job_fail(j, NG_ENOMEM, "%s: %s", j->path, ng_last_error());
    else count(j, id, s, 1.0);
}

void ngi_vocab_gram(ngi_job *j, const char *const *w, const size_t *len, int n)
{
    j->gram_n = n;
    for (int k = 0; k < n; k++) {
        j->gram_id[k] = w[k] ? ngi_dict_add(&j->words, w[k], len[k], ngi_hash_bytes(w[k], len[k])) : -1;
        if (w[k] && j->gram_id[k] < 0) ngi_job_fail(j, NG_ENOMEM, "%s: %s", j->path, ng_last_error());
    }
}

void ngi_vocab_gram_count(ngi_job *j, int64_t match)
{
    int64_t s = cur_slice(j);
    if (s < 0) return;
    int64_t add;
    if (__builtin_mul_overflow((int64_t)j->gram_n, match, &add) ||
        __builtin_add_overflow(j->stok[s], add, &j->stok[s])) {
        ngi_job_fail(j, NG_EFORMAT, "%s: the tokens of year %g pass 2^63: expected real match counts",
                     j->path, j->key);
        return;
    }
    j->tokens += (uint64_t)add;
    for (int k = 0; k < j->gram_n; k++)
        if (j->gram_id[k] >= 0) count(j, j->gram_id[k], s, (double)match);
}

/* ------------------------------------------------------------------ the merge */

ng_status ngi_vocab_acc_init(ngi_vocab_acc *a)
{
    memset(a, 0, sizeof *a);
    ng_status s = ngi_dict_init(&a->words, 1 << 16);
    if (!s) s = ngi_map_init(&a->counts, 1 << 16);
    if (!s) s = ngi_map_init(&a->slice_of, 64);
    if (s) ngi_vocab_acc_free(a);
    return s;
}

void ngi_vocab_acc_free(ngi_vocab_acc *a)
{
    ngi_dict_free(&a->words);
    ngi_map_free(&a->counts);
    ngi_map_free(&a->slice_of);
    free(a->stime);
    free(a->stok);
    memset(a, 0, sizeof *a);
}

ng_status ngi_vocab_merge(ngi_vocab_acc *a, ngi_job *j)
{
    if (a->words.n == 0 && a->ns == 0) { /* the first file's tables are taken as they are */
        ngi_vocab_acc_free(a);
        a->words = j->words;
        a->counts = j->counts;
        a->slice_of = j->slice_of;
        a->stime = j->stime;
        a->stok = j->stok;
        a->ns = j->ns;
        a->scap = j->scap;
        memset(&j->words, 0, sizeof j->words);
        memset(&j->counts, 0, sizeof j->counts);
        memset(&j->slice_of, 0, sizeof j->slice_of);
        j->stime = NULL;
        j->stok = NULL;
        j->ns = j->scap = 0;
        return NG_OK;
    }
    int64_t *gs = ngi_xmalloc((j->ns + 1) * sizeof *gs);
    int64_t *gw = ngi_xmalloc((j->words.n + 1) * sizeof *gw);
    ng_status s = gs && gw ? NG_OK : NG_ENOMEM;
    for (size_t k = 0; !s && k < j->ns; k++) {
        gs[k] = slice_index(&a->slice_of, &a->stime, &a->stok, &a->ns, &a->scap, j->stime[k]);
        if (gs[k] < 0) s = NG_ENOMEM;
        else if (__builtin_add_overflow(a->stok[gs[k]], j->stok[k], &a->stok[gs[k]]))
            s = ngi_fail(NG_EFORMAT, "%s: the tokens of time %g pass 2^63 with the files before: "
                         "expected real counts", j->path, j->stime[k]);
    }
    for (size_t k = 0; !s && k < j->words.n; k++)
        if ((gw[k] = ngi_dict_add(&a->words, ngi_dict_str(&j->words, k), j->words.len[k],
                                  j->words.hash[k])) < 0)
            s = NG_ENOMEM;
    for (size_t k = 0; !s && k < j->counts.cap; k++) {
        uint64_t key = j->counts.slot[k].key;
        if (key == NGI_EMPTY_KEY) continue;
        double *v = ngi_map_at(&a->counts, (uint64_t)gw[key >> 32] << 32 | (uint64_t)gs[key & 0xFFFFFFFFu]);
        if (!v) s = NG_ENOMEM;
        else *v += j->counts.slot[k].val;
    }
    free(gs);
    free(gw);
    return s;
}

/* ------------------------------------------------------------------ the ranking */

typedef struct {
    double avg, total;
    const char *w;
    size_t id;
} cand;

static int cmp_cand(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->avg != b->avg) return a->avg > b->avg ? -1 : 1;
    if (a->total != b->total) return a->total > b->total ? -1 : 1;
    return strcmp(a->w, b->w);
}

typedef struct {
    double time;
    size_t idx;
} slice_ref;

static int cmp_time(const void *pa, const void *pb)
{
    double a = ((const slice_ref *)pa)->time, b = ((const slice_ref *)pb)->time;
    return a < b ? -1 : a > b;
}

ng_status ngi_vocab_finish(ngi_vocab_acc *a, ngi_build *b, ng_corpus *out, size_t *distinct)
{
    size_t T = a->ns, nw = a->words.n, W = 0;
    *distinct = nw;
    if (T == 0)
        return ngi_fail(NG_EFORMAT, "%s: no tokens in the input: expected at least one word", b->what);
    slice_ref *order = ngi_xmalloc(T * sizeof *order);
    double *total = ngi_xcalloc(nw + 1, sizeof *total), *avg = ngi_xcalloc(nw + 1, sizeof *avg);
    cand *c = ngi_xmalloc((nw + 1) * sizeof *c);
    ng_status s = order && total && avg && c ? NG_OK : NG_ENOMEM;
    if (!s) {
        for (size_t t = 0; t < T; t++) order[t] = (slice_ref){a->stime[t], t};
        qsort(order, T, sizeof *order, cmp_time);
        for (size_t k = 0; k < a->counts.cap; k++) {
            uint64_t key = a->counts.slot[k].key;
            if (key == NGI_EMPTY_KEY) continue;
            size_t w = (size_t)(key >> 32), t = (size_t)(key & 0xFFFFFFFFu);
            total[w] += a->counts.slot[k].val;
            if (a->stok[t] > 0) avg[w] += a->counts.slot[k].val / (double)a->stok[t]; /* n-grams seen 0 times */
        }
        size_t nc = 0;
        for (size_t w = 0; w < nw; w++)
            if (total[w] > 0 && total[w] >= (double)b->p.min_count)
                c[nc++] = (cand){avg[w] / (double)T, total[w], ngi_dict_str(&a->words, w), w};
        qsort(c, nc, sizeof *c, cmp_cand);
        W = nc < b->p.vocab ? nc : b->p.vocab;
        if (W == 0)
            s = ngi_fail(NG_EFORMAT, "%s: no word is seen %lld times or more (--min-count): expected a "
                         "vocabulary of at least one word", b->what, (long long)b->p.min_count);
    }
    if (!s) s = ngi_dict_init(&b->vocab, W);
    memset(out, 0, sizeof *out);
    out->T = T;
    out->W = W;
    if (!s) {
        out->time = ngi_xmalloc(T * sizeof *out->time);
        out->tokens = ngi_xmalloc(T * sizeof *out->tokens);
        out->word = ngi_xcalloc(W, sizeof *out->word);
        out->word_count = ngi_xmalloc(W * sizeof *out->word_count);
        b->times = ngi_xmalloc(T * sizeof *b->times);
        if (!out->time || !out->tokens || !out->word || !out->word_count || !b->times) s = NG_ENOMEM;
    }
    for (size_t t = 0; !s && t < T; t++) {
        out->time[t] = b->times[t] = order[t].time;
        out->tokens[t] = a->stok[order[t].idx];
    }
    for (size_t k = 0; !s && k < W; k++) {
        size_t len = a->words.len[c[k].id];
        if (!(out->word[k] = ngi_strdup(c[k].w)) ||
            ngi_dict_add(&b->vocab, c[k].w, len, a->words.hash[c[k].id]) < 0)
            s = NG_ENOMEM;
        else
            out->word_count[k] = c[k].total;
    }
    b->T = T;
    free(order);
    free(total);
    free(avg);
    free(c);
    if (s) ng_corpus_free(out);
    return s;
}
