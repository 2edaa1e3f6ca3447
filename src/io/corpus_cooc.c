/* corpus_cooc.c - pass 2: the weighted co-occurrence counts n+ of vocabulary words.
 *   text:    positions p < q of one line with d = q - p <= c add (c + 1 - d) / c to
 *            n+[w_p][w_q] and to n+[w_q][w_p] (the paper's window, both directions);
 *   n-grams: in-vocabulary positions p < q of a 5-gram add (5 - d) match / 4 to both
 *            (the authors' code; "anchored": only p = 1).
 * Tokens that are not vocabulary words keep their position. A table per slice keyed by
 * (i, j), i <= j: the symmetric n+ once, the diagonal with both directions. */
#include "corpus_internal.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

int ngi_cooc_add(ngi_map *m, int32_t a, int32_t b, double w)
{
    uint64_t key = a <= b ? (uint64_t)a << 32 | (uint32_t)b : (uint64_t)b << 32 | (uint32_t)a;
    double *v = ngi_map_at(m, key);
    if (!v) return 0;
    *v += a == b ? 2 * w : w;
    return 1;
}

ng_status ngi_cooc_job_init(ngi_job *j)
{
    j->pairs = ngi_xcalloc(j->b->T, sizeof *j->pairs);
    if (!j->pairs) return ngi_fail(NG_ENOMEM, "%s: out of memory", j->path);
    return NG_OK;
}

void ngi_cooc_job_free(ngi_job *j)
{
    if (j->pairs)
        for (size_t t = 0; t < j->b->T; t++) ngi_map_free(&j->pairs[t]);
    free(j->pairs);
}

/* The current slice's table (made on first use). */
static ngi_map *table(ngi_job *j)
{
    if (j->cur < 0) {
        ngi_job_fail(j, NG_EIO, "%s: has words at time %g that the first pass did not see: "
                     "expected the file not to change while the corpus is built", j->path, j->key);
        return NULL;
    }
    ngi_map *m = &j->pairs[j->cur];
    if (!m->cap && ngi_map_init(m, 1 << 14)) {
        ngi_job_fail(j, NG_ENOMEM, "%s: %s", j->path, ng_last_error());
        return NULL;
    }
    return m;
}

void ngi_cooc_token(ngi_job *j, const char *w, size_t len)
{
    int c = j->b->p.window;
    uint64_t pos = j->pos++;
    int32_t id = -1;
    if (w) {
        int64_t f = ngi_dict_find(&j->b->vocab, w, len, ngi_hash_bytes(w, len));
        id = (int32_t)f;
    }
    if (id >= 0) {
        ngi_map *m = table(j);
        if (!m) return;
        j->in_vocab++;
        for (int d = 1; d <= c && (uint64_t)d <= pos; d++) {
            int32_t a = j->ring[(pos - (uint64_t)d) & 63];
            if (a >= 0 && !ngi_cooc_add(m, a, id, j->b->wt[d])) {
                ngi_job_fail(j, NG_ENOMEM, "%s: %s", j->path, ng_last_error());
                return;
            }
        }
    }
    j->ring[pos & 63] = id;
}

void ngi_cooc_line_end(ngi_job *j) { j->pos = 0; }

void ngi_cooc_gram(ngi_job *j, const char *const *w, const size_t *len, int n)
{
    j->gram_n = n;
    for (int k = 0; k < n; k++)
        j->gram_id[k] = w[k] ? ngi_dict_find(&j->b->vocab, w[k], len[k], ngi_hash_bytes(w[k], len[k])) : -1;
}

void ngi_cooc_gram_count(ngi_job *j, int64_t match)
{
    int n = j->gram_n, last_p = j->b->p.ngram_pairs == NG_NGRAM_ANCHORED ? 1 : n - 1;
    ngi_map *m = NULL;
    for (int p = 0; p < n; p++)
        if (j->gram_id[p] >= 0) {
            j->in_vocab += (uint64_t)match;
            if (!m && !(m = table(j))) return;
        }
    for (int p = 0; p < last_p; p++) {
        if (j->gram_id[p] < 0) continue;
        for (int q = p + 1; q < n; q++) {
            if (j->gram_id[q] < 0 || q - p > 4) continue;
            double w = (double)(5 - (q - p)) * (double)match / 4.0;
            if (w > 0 && !ngi_cooc_add(m, (int32_t)j->gram_id[p], (int32_t)j->gram_id[q], w)) {
                ngi_job_fail(j, NG_ENOMEM, "%s: %s", j->path, ng_last_error());
                return;
            }
        }
    }
}

ng_status ngi_cooc_merge(ngi_map *global, size_t T, ngi_job *j)
{
    for (size_t t = 0; t < T; t++) {
        ngi_map *m = &j->pairs[t];
        if (!m->cap) continue;
        if (!global[t].cap) { /* the first table of a slice is taken as it is: no copy */
            global[t] = *m;
            memset(m, 0, sizeof *m);
            continue;
        }
        for (size_t k = 0; k < m->cap; k++) {
            if (m->slot[k].key == NGI_EMPTY_KEY) continue;
            double *v = ngi_map_at(&global[t], m->slot[k].key);
            if (!v) return NG_ENOMEM;
            *v += m->slot[k].val;
        }
    }
    return NG_OK;
}

/* Sorts n (key, val) by key < 2^bits: LSD radix, 11 bits a pass (qsort of millions of
 * entries was most of pass 2). tk, tv: scratch of n. Returns the array that holds the
 * result (key or tk). */
static int radix_sort(uint64_t *key, double *val, uint64_t *tk, double *tv, size_t n, int bits)
{
    int swapped = 0;
    for (int shift = 0; shift < bits; shift += 11) {
        size_t count[2049] = {0};
        for (size_t e = 0; e < n; e++) count[((key[e] >> shift) & 2047) + 1]++;
        for (int b = 0; b < 2048; b++) count[b + 1] += count[b];
        for (size_t e = 0; e < n; e++) {
            size_t at = count[(key[e] >> shift) & 2047]++;
            tk[at] = key[e];
            tv[at] = val[e];
        }
        uint64_t *k = key;
        double *v = val;
        key = tk, val = tv, tk = k, tv = v;
        swapped = !swapped;
    }
    return swapped;
}

ng_status ngi_cooc_finish(ngi_map *global, size_t T, size_t W, ng_corpus *out)
{
    size_t nnz = 0, most = 0;
    for (size_t t = 0; t < T; t++) {
        nnz += global[t].n;
        if (global[t].n > most) most = global[t].n;
    }
    out->slice_ptr = ngi_xmalloc((T + 1) * sizeof *out->slice_ptr);
    out->i = ngi_xmalloc((nnz + 1) * sizeof *out->i);
    out->j = ngi_xmalloc((nnz + 1) * sizeof *out->j);
    out->n = ngi_xmalloc((nnz + 1) * sizeof *out->n);
    uint64_t *key = ngi_xmalloc(2 * (most + 1) * sizeof *key);
    double *val = ngi_xmalloc(2 * (most + 1) * sizeof *val);
    ng_status s = out->slice_ptr && out->i && out->j && out->n && key && val ? NG_OK : NG_ENOMEM;
    int bits = 1;
    while (bits < 64 && ((uint64_t)1 << bits) < (uint64_t)W * W) bits++;
    size_t at = 0;
    if (!s) out->slice_ptr[0] = 0;
    for (size_t t = 0; !s && t < T; t++) {
        ngi_map *m = &global[t];
        size_t k = 0;
        for (size_t e = 0; e < m->cap; e++)
            if (m->slot[e].key != NGI_EMPTY_KEY) {
                key[k] = (m->slot[e].key >> 32) * W + (m->slot[e].key & 0xFFFFFFFFu); /* (i, j) order */
                val[k++] = m->slot[e].val;
            }
        ngi_map_free(m); /* the peak is one slice's table and the arrays, not both in full */
        int other = radix_sort(key, val, key + k, val + k, k, bits);
        const uint64_t *sk = other ? key + k : key;
        const double *sv = other ? val + k : val;
        for (size_t q = 0; q < k; q++, at++) {
            if (sv[q] > FLT_MAX) {
                s = ngi_fail(NG_ENUMERIC, "a co-occurrence count of slice %zu (%g) overflows float",
                             t, sv[q]);
                break;
            }
            out->i[at] = (int32_t)(sk[q] / W);
            out->j[at] = (int32_t)(sk[q] % W);
            out->n[at] = (float)sv[q];
        }
        out->slice_ptr[t + 1] = (int64_t)at;
    }
    free(key);
    free(val);
    return s;
}
