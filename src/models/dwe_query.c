/* dwe_query.c - the questions asked of a trained dynamic word embeddings model (spec:
 * dwe.md section 5): nearest neighbours at a slice, word aging (Table 2 of Bamler & Mandt
 * 2017), the most changed words, a pair's similarity over time, the overlap of a word's
 * first and last vectors with and without Procrustes alignment (Fig. 4), and word2vec
 * files of each slice. All cosines are accumulated in double. */
#include "corpus_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const float *u_at(const ng_dwe_model *m, size_t t, size_t i)
{
    return m->U + (t * m->W + i) * m->d;
}

static double dot(const float *a, const float *b, size_t d)
{
    double s = 0;
    for (size_t k = 0; k < d; k++) s += (double)a[k] * (double)b[k];
    return s;
}

/* cos from a dot product and two squared norms; 0 for a zero vector. */
static double cos_of(double ab, double aa, double bb)
{
    return aa > 0 && bb > 0 ? ab / (sqrt(aa) * sqrt(bb)) : 0.0;
}

static ng_status check_model(const char *fn, const ng_dwe_model *m)
{
    if (!m || !m->U || !m->time || !m->word || !m->T || !m->W || !m->d)
        return ngi_fail(NG_EINVAL, "%s: the model is NULL or empty", fn);
    return NG_OK;
}

static ng_status check_index(const char *fn, const char *what, size_t x, size_t n)
{
    if (x >= n) return ngi_fail(NG_EINVAL, "%s: %s %zu: expected 0 .. %zu", fn, what, x, n - 1);
    return NG_OK;
}

/* ------------------------------------------------------------------ look-ups */

ng_status ng_dwe_find_word(const ng_dwe_model *m, const char *word, size_t *i)
{
    ng_status s = check_model("ng_dwe_find_word", m);
    if (s) return s;
    if (!word || !i) return ngi_fail(NG_EINVAL, "ng_dwe_find_word: NULL argument");
    for (size_t k = 0; k < m->W; k++)
        if (!strcmp(m->word[k], word)) {
            *i = k;
            return NG_OK;
        }
    for (size_t k = 0; k < m->W; k++)
        if (!strcasecmp(m->word[k], word))
            return ngi_fail(NG_EINVAL, "no word '%s' in the vocabulary of %zu words; did you mean '%s'?",
                            word, m->W, m->word[k]);
    return ngi_fail(NG_EINVAL, "no word '%s' in the vocabulary of %zu words", word, m->W);
}

ng_status ng_dwe_find_time(const ng_dwe_model *m, double time, size_t *t)
{
    ng_status s = check_model("ng_dwe_find_time", m);
    if (s) return s;
    if (!t) return ngi_fail(NG_EINVAL, "ng_dwe_find_time: NULL argument");
    size_t k = 0; /* the first slice at or after time */
    while (k < m->T && m->time[k] < time) k++;
    if (k < m->T && m->time[k] == time) {
        *t = k;
        return NG_OK;
    }
    char a[64], b[64], x[64];
    ngi_fmt_double(time, x, sizeof x);
    if (isnan(time)) return ngi_fail(NG_EINVAL, "no slice at %s: expected a time", x);
    if (k == 0 || k == m->T) {
        ngi_fmt_double(m->time[k ? m->T - 1 : 0], a, sizeof a);
        return ngi_fail(NG_EINVAL, "no slice at %s; the closest is %s (the %s; %zu slices)", x, a,
                        k ? "last" : "first", m->T);
    }
    ngi_fmt_double(m->time[k - 1], a, sizeof a);
    ngi_fmt_double(m->time[k], b, sizeof b);
    return ngi_fail(NG_EINVAL, "no slice at %s; the closest are %s and %s", x, a, b);
}

/* ------------------------------------------------------------------ rankings */

static int hit_cmp(const void *pa, const void *pb)
{
    const ng_dwe_hit *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->word < b->word ? -1 : a->word > b->word;
}

/* Sorts the nh candidates best first and copies up to k into out. */
static void take_best(ng_dwe_hit *cand, size_t nh, size_t k, ng_dwe_hit *out, size_t *n)
{
    qsort(cand, nh, sizeof *cand, hit_cmp);
    *n = k < nh ? k : nh;
    if (*n) memcpy(out, cand, *n * sizeof *out);
}

/* The words j != skip of slice t ranked by cos(q, u_{t,j}). skip = SIZE_MAX: none. */
static ng_status rank_slice(const char *fn, const ng_dwe_model *m, const float *q, size_t t,
                            size_t skip, size_t k, ng_dwe_hit *out, size_t *n)
{
    if (!n || (k && !out)) return ngi_fail(NG_EINVAL, "%s: NULL argument", fn);
    ng_dwe_hit *cand = ngi_xmalloc(m->W * sizeof *cand);
    if (!cand) return NG_ENOMEM;
    double qq = dot(q, q, m->d);
    size_t nh = 0;
    for (size_t j = 0; j < m->W; j++) {
        if (j == skip) continue;
        const float *v = u_at(m, t, j);
        cand[nh].word = j;
        cand[nh++].score = cos_of(dot(q, v, m->d), qq, dot(v, v, m->d));
    }
    take_best(cand, nh, k, out, n);
    free(cand);
    return NG_OK;
}

ng_status ng_dwe_neighbours(const ng_dwe_model *m, size_t t, size_t i, size_t k,
                            ng_dwe_hit *out, size_t *n)
{
    static const char fn[] = "ng_dwe_neighbours";
    ng_status s = check_model(fn, m);
    if (!s) s = check_index(fn, "slice", t, m->T);
    if (!s) s = check_index(fn, "word", i, m->W);
    return s ? s : rank_slice(fn, m, u_at(m, t, i), t, i, k, out, n);
}

ng_status ng_dwe_aging(const ng_dwe_model *m, size_t i, size_t t_new, size_t t_old,
                       int with_self, size_t k, ng_dwe_hit *out, size_t *n)
{
    static const char fn[] = "ng_dwe_aging";
    ng_status s = check_model(fn, m);
    if (!s) s = check_index(fn, "slice", t_new, m->T);
    if (!s) s = check_index(fn, "slice", t_old, m->T);
    if (!s) s = check_index(fn, "word", i, m->W);
    return s ? s : rank_slice(fn, m, u_at(m, t_new, i), t_old, with_self ? SIZE_MAX : i, k, out, n);
}

ng_status ng_dwe_changed(const ng_dwe_model *m, size_t ta, size_t tb, double min_count,
                         size_t k, ng_dwe_hit *out, size_t *n)
{
    static const char fn[] = "ng_dwe_changed";
    ng_status s = check_model(fn, m);
    if (!s) s = check_index(fn, "slice", ta, m->T);
    if (!s) s = check_index(fn, "slice", tb, m->T);
    if (!s && (!n || (k && !out) || !m->count)) s = ngi_fail(NG_EINVAL, "%s: NULL argument", fn);
    if (!s && isnan(min_count)) s = ngi_fail(NG_EINVAL, "%s: min_count is NaN", fn);
    ng_dwe_hit *cand = s ? NULL : ngi_xmalloc(m->W * sizeof *cand);
    if (!s && !cand) s = NG_ENOMEM;
    if (s) return s;
    size_t nh = 0;
    for (size_t i = 0; i < m->W; i++) {
        if (m->count[i] < min_count) continue;
        const float *a = u_at(m, ta, i), *b = u_at(m, tb, i);
        cand[nh].word = i;
        cand[nh++].score = 1.0 - cos_of(dot(a, b, m->d), dot(a, a, m->d), dot(b, b, m->d));
    }
    take_best(cand, nh, k, out, n);
    free(cand);
    return NG_OK;
}

ng_status ng_dwe_trajectory(const ng_dwe_model *m, size_t i, size_t j, double *sim)
{
    static const char fn[] = "ng_dwe_trajectory";
    ng_status s = check_model(fn, m);
    if (!s) s = check_index(fn, "word", i, m->W);
    if (!s) s = check_index(fn, "word", j, m->W);
    if (!s && !sim) s = ngi_fail(NG_EINVAL, "%s: NULL argument", fn);
    if (s) return s;
    for (size_t t = 0; t < m->T; t++) {
        const float *a = u_at(m, t, i), *b = u_at(m, t, j);
        sim[t] = cos_of(dot(a, b, m->d), dot(a, a, m->d), dot(b, b, m->d));
    }
    return NG_OK;
}

/* ------------------------------------------------------------------ overlap (Fig. 4) */

/* R of ng_procrustes for slice tb onto slice ta: the slices are W x d, ng_procrustes
 * takes d x W, so both are transposed first (2 W d floats, once per call). */
static ng_status align_rotation(const ng_dwe_model *m, size_t ta, size_t tb, double *R)
{
    size_t W = m->W, d = m->d;
    float *A = ngi_xmalloc(2 * W * d * sizeof *A);
    if (!A) return NG_ENOMEM;
    float *B = A + W * d;
    for (size_t i = 0; i < W; i++)
        for (size_t k = 0; k < d; k++) {
            A[k * W + i] = u_at(m, tb, i)[k];
            B[k * W + i] = u_at(m, ta, i)[k];
        }
    ng_status s = ng_procrustes(d, W, A, B, 1, R, NULL);
    free(A);
    return s;
}

ng_status ng_dwe_overlap(const ng_dwe_model *m, size_t ta, size_t tb, int align, double *cos,
                         double *R)
{
    static const char fn[] = "ng_dwe_overlap";
    ng_status s = check_model(fn, m);
    if (!s) s = check_index(fn, "slice", ta, m->T);
    if (!s) s = check_index(fn, "slice", tb, m->T);
    if (!s && !cos) s = ngi_fail(NG_EINVAL, "%s: NULL argument", fn);
    if (s) return s;
    size_t d = m->d;
    double *Rw = ngi_xcalloc(d * d + d, sizeof *Rw), *r = Rw ? Rw + d * d : NULL;
    if (!Rw) return NG_ENOMEM;
    for (size_t k = 0; k < d; k++) Rw[k * d + k] = 1.0;
    if (align) s = align_rotation(m, ta, tb, Rw);
    for (size_t i = 0; !s && i < m->W; i++) {
        const float *a = u_at(m, ta, i), *b = u_at(m, tb, i);
        double ab = 0, aa = 0, bb = 0;
        for (size_t p = 0; p < d; p++) {
            double x = 0;
            for (size_t q = 0; q < d; q++) x += Rw[p * d + q] * (double)b[q];
            r[p] = x;
        }
        for (size_t p = 0; p < d; p++) {
            ab += (double)a[p] * r[p];
            aa += (double)a[p] * (double)a[p];
            bb += r[p] * r[p];
        }
        cos[i] = cos_of(ab, aa, bb);
    }
    if (!s && R) memcpy(R, Rw, d * d * sizeof *R);
    free(Rw);
    return s;
}

/* ------------------------------------------------------------------ word2vec */

/* The shortest %.Ng that reads back to x (9 digits always do for a float). Most floats
 * of a trained model need 8 or 9, so 8 is tried first, then fewer while they read back
 * (a shorter form that reads back implies the longer ones do, bar the one-sided rounding
 * interval at a power of two, where this may keep a digit more). Every string written
 * was read back. */
static void fmt_float(float x, char *buf, size_t len)
{
    char t[32];
    snprintf(buf, len, "%.8g", (double)x);
    if (strtof(buf, NULL) != x) {
        snprintf(buf, len, "%.9g", (double)x);
        return;
    }
    for (int p = 7; p >= 1; p--) {
        snprintf(t, sizeof t, "%.*g", p, (double)x);
        if (strtof(t, NULL) != x) return;
        snprintf(buf, len, "%s", t);
    }
}

static ng_status w2v_check(const char *path, size_t n, size_t d, const char *const *words,
                           const float *vec)
{
    if (!path || (n && (!words || (d && !vec))))
        return ngi_fail(NG_EINVAL, "ng_word2vec_write: NULL argument");
    for (size_t i = 0; i < n; i++) {
        const char *w = words[i];
        if (!w || !*w || strpbrk(w, " \t\n\r\v\f"))
            return ngi_fail(NG_EINVAL, "%s: word %zu '%s': expected a non-empty word without "
                            "whitespace (word2vec separates words by spaces)", path, i, w ? w : "");
        for (size_t k = 0; k < d; k++)
            if (!isfinite(vec[i * d + k]))
                return ngi_fail(NG_ENUMERIC, "%s: word %zu '%s', dim %zu: %g: expected finite values",
                                path, i, w, k, (double)vec[i * d + k]);
    }
    return NG_OK;
}

ng_status ng_word2vec_write(const char *path, size_t n, size_t d, const char *const *words,
                            const float *vec, int binary)
{
    ng_status s = w2v_check(path, n, d, words, vec);
    if (s) return s;
    unsigned char *row = binary ? ngi_xmalloc(4 * d + 1) : NULL;
    if (binary && !row) return NG_ENOMEM;
    ng_atomic_file af;
    if ((s = ng_atomic_open(&af, path))) {
        free(row);
        return s;
    }
    int ok = fprintf(af.f, "%zu %zu\n", n, d) > 0;
    char num[32];
    for (size_t i = 0; ok && i < n; i++) {
        const float *x = vec + i * d;
        ok = fputs(words[i], af.f) >= 0;
        if (binary) {
            /* little-endian whatever the host: the bytes of each float, low first */
            for (size_t k = 0; k < d; k++) {
                uint32_t b;
                memcpy(&b, &x[k], 4);
                for (int q = 0; q < 4; q++) row[4 * k + (size_t)q] = (unsigned char)(b >> (8 * q));
            }
            row[4 * d] = '\n';
            ok = ok && fputc(' ', af.f) != EOF && fwrite(row, 1, 4 * d + 1, af.f) == 4 * d + 1;
        } else {
            for (size_t k = 0; ok && k < d; k++) {
                fmt_float(x[k], num, sizeof num);
                ok = fputc(' ', af.f) != EOF && fputs(num, af.f) >= 0;
            }
            ok = ok && fputc('\n', af.f) != EOF;
        }
    }
    free(row);
    if (!ok) {
        ng_atomic_abort(&af);
        return ngi_fail(NG_EIO, "%s: write failed", path);
    }
    return ng_atomic_commit(&af);
}

/* The name of slice t's file of u (ctx 0) or v (ctx 1), text or binary (malloc'ed). */
static char *export_name(const ng_dwe_model *m, size_t t, int ctx, int binary)
{
    char time[64];
    ngi_fmt_double(m->time[t], time, sizeof time);
    return ngi_asprintf("%s%s.%s", time, ctx ? ".context" : "", binary ? "bin" : "txt");
}

static ng_status export_slice(const ng_dwe_model *m, const char *tmp, size_t t, unsigned what)
{
    ng_status s = NG_OK;
    for (int ctx = 0; !s && ctx <= ((what & NG_W2V_CONTEXT) != 0); ctx++)
        for (int bin = 0; !s && bin < 2; bin++) {
            if (!(what & (bin ? NG_W2V_BINARY : NG_W2V_TEXT))) continue;
            char *name = export_name(m, t, ctx, bin), *path = name ? ngi_asprintf("%s/%s", tmp, name) : NULL;
            const float *X = (ctx ? m->V : m->U) + t * m->W * m->d;
            s = path ? ng_word2vec_write(path, m->W, m->d, (const char *const *)m->word, X, bin) : NG_ENOMEM;
            free(name);
            free(path);
        }
    return s;
}

/* The slices' files in parallel (formatting decimals is the cost of a text export), the
 * first failing slice's message kept; then word2vec.csv. */
static ng_status export_all(const ng_dwe_model *m, const char *tmp, unsigned what)
{
    ng_status first = NG_OK;
    size_t first_t = SIZE_MAX;
    char msg[1024] = "";
#pragma omp parallel for schedule(dynamic, 1)
    for (long t = 0; t < (long)m->T; t++) {
        ng_status s = export_slice(m, tmp, (size_t)t, what);
        if (s) {
#pragma omp critical(ngi_dwe_export)
            if ((size_t)t < first_t) {
                first_t = (size_t)t;
                first = s;
                snprintf(msg, sizeof msg, "%s", ng_last_error()); /* the error is per thread */
            }
        }
    }
    if (first) return ngi_fail(first, "%s", msg);
    char *ipath = ngi_asprintf("%s/word2vec.csv", tmp);
    if (!ipath) return NG_ENOMEM;
    ng_atomic_file af;
    ng_status s = ng_atomic_open(&af, ipath);
    free(ipath);
    if (s) return s;
    int ok = fputs("slice,time,train,vectors,format,file\n", af.f) >= 0;
    for (size_t t = 0; ok && t < m->T; t++)
        for (int ctx = 0; ok && ctx <= ((what & NG_W2V_CONTEXT) != 0); ctx++)
            for (int bin = 0; ok && bin < 2; bin++) {
                if (!(what & (bin ? NG_W2V_BINARY : NG_W2V_TEXT))) continue;
                char time[64], *name = export_name(m, t, ctx, bin);
                ngi_fmt_double(m->time[t], time, sizeof time);
                ok = name && fprintf(af.f, "%zu,%s,%d,%s,%s,%s\n", t, time, m->train[t], ctx ? "v" : "u",
                                     bin ? "binary" : "text", name) > 0;
                free(name);
            }
    if (!ok) {
        ng_atomic_abort(&af);
        return ngi_fail(NG_EIO, "%s/word2vec.csv: write failed", tmp);
    }
    return ng_atomic_commit(&af);
}

ng_status ng_dwe_export_word2vec(const ng_dwe_model *m, const char *dir, unsigned what)
{
    static const char fn[] = "ng_dwe_export_word2vec";
    ng_status s = check_model(fn, m);
    if (s) return s;
    if (!dir || !m->train || ((what & NG_W2V_CONTEXT) && !m->V))
        return ngi_fail(NG_EINVAL, "%s: NULL argument", fn);
    if (!(what & (NG_W2V_TEXT | NG_W2V_BINARY)))
        return ngi_fail(NG_EINVAL, "%s: no format: expected NG_W2V_TEXT, NG_W2V_BINARY or both", fn);
    /* every word checked before anything is written */
    if ((s = w2v_check(dir, m->W, 0, (const char *const *)m->word, NULL))) return s;
    char *tmp;
    if ((s = ngi_dir_prepare_tmp(dir, "word2vec.csv", &tmp))) return s;
    s = export_all(m, tmp, what);
    if (!s) s = ngi_dir_commit(tmp, dir, "word2vec.csv");
    if (s) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", ng_last_error());
        ngi_rm_rf(tmp);
        ngi_fail(s, "%s", keep);
    }
    free(tmp);
    return s;
}
