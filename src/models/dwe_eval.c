/* dwe_eval.c - a trained dynamic word embeddings model against the planted truth of the
 * synthetic corpus (truth.csv of 'natgrad dwe synth'): drift detection AUC, abrupt
 * change times, neighbour precision@10 per slice and the first-last overlap. */
#include "corpus_internal.h" /* ngi_dict: the words seen, against a word twice */

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ truth reader */

void ng_dwe_truth_free(ng_dwe_truth *t)
{
    if (!t) return;
    if (t->word)
        for (size_t i = 0; i < t->n; i++) free(t->word[i]);
    free(t->word);
    free(t->kind);
    free(t->tau);
    free(t->home);
    free(t->new_topic);
    memset(t, 0, sizeof *t);
}

static int parse_int(const char *s, int *v)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (!*s || *end || errno || x < INT_MIN || x > INT_MAX) return 0;
    *v = (int)x;
    return 1;
}

static int kind_of(const char *s)
{
    for (int k = NG_DWE_STABLE; k <= NG_DWE_FREQUENCY; k++)
        if (!strcmp(s, ng_dwe_kind_name(k))) return k;
    return -1;
}

/* One data line (NUL-terminated, modified) into row i; 0 ok, else the failure set. */
static ng_status truth_line(const char *path, size_t ln, char *line, ng_dwe_truth *t, size_t i,
                            ngi_dict *seen)
{
    char *f[5];
    size_t nf = 0;
    for (char *p = line;; p++) {
        if (nf < 5) f[nf] = p;
        nf++;
        p = strchr(p, ',');
        if (!p) break;
        *p = '\0';
    }
    if (nf != 5) return ngi_fail(NG_EFORMAT, "%s:%zu: %zu fields: expected 5", path, ln, nf);
    if (!*f[0]) return ngi_fail(NG_EFORMAT, "%s:%zu: empty word", path, ln);
    int kind = kind_of(f[1]), tau, home, nt;
    if (kind < 0)
        return ngi_fail(NG_EFORMAT, "%s:%zu: kind '%s': expected stable, abrupt, gradual, "
                                    "broadening or frequency", path, ln, f[1]);
    if (!parse_int(f[2], &tau) || !parse_int(f[3], &home) || !parse_int(f[4], &nt))
        return ngi_fail(NG_EFORMAT, "%s:%zu: tau, home_topic, new_topic: expected integers", path, ln);
    if (home < 0) return ngi_fail(NG_EFORMAT, "%s:%zu: home_topic %d: expected >= 0", path, ln, home);
    int drifts = kind == NG_DWE_ABRUPT || kind == NG_DWE_GRADUAL || kind == NG_DWE_BROADENING;
    if (kind != NG_DWE_STABLE && tau < 1)
        return ngi_fail(NG_EFORMAT, "%s:%zu: tau %d: expected >= 1 for kind %s", path, ln, tau, f[1]);
    if (kind == NG_DWE_STABLE && tau != -1)
        return ngi_fail(NG_EFORMAT, "%s:%zu: tau %d: expected -1 for a stable word", path, ln, tau);
    if (drifts ? nt < 0 || nt == home : nt != -1)
        return ngi_fail(NG_EFORMAT, "%s:%zu: new_topic %d: expected %s", path, ln, nt,
                        drifts ? "a topic >= 0 other than home_topic" : "-1");
    size_t wl = strlen(f[0]);
    uint64_t h = ngi_hash_bytes(f[0], wl);
    if (ngi_dict_find(seen, f[0], wl, h) >= 0)
        return ngi_fail(NG_EFORMAT, "%s:%zu: word '%s' twice", path, ln, f[0]);
    if (ngi_dict_add(seen, f[0], wl, h) < 0) return NG_ENOMEM;
    t->word[i] = ngi_strdup(f[0]);
    if (!t->word[i]) return NG_ENOMEM;
    t->kind[i] = kind, t->tau[i] = tau, t->home[i] = home, t->new_topic[i] = nt;
    return NG_OK;
}

ng_status ng_dwe_truth_read(const char *path, ng_dwe_truth *out)
{
    if (!path || !out) return ngi_fail(NG_EINVAL, "ng_dwe_truth_read: NULL argument");
    unsigned char *buf;
    size_t len;
    ng_status st = ng_read_file(path, &buf, &len);
    if (st) return st;
    char *s = realloc(buf, len + 1);
    if (!s) {
        free(buf);
        return ngi_fail(NG_ENOMEM, "%s: out of memory", path);
    }
    s[len] = '\0';
    if (memchr(s, '\0', len)) {
        free(s);
        return ngi_fail(NG_EFORMAT, "%s: NUL byte: expected text", path);
    }
    size_t lines = 0;
    for (size_t k = 0; k < len; k++) lines += s[k] == '\n';
    if (len && s[len - 1] != '\n') lines++;
    ng_dwe_truth t;
    memset(&t, 0, sizeof t);
    size_t cap = lines ? lines : 1;
    t.word = ngi_xcalloc(cap, sizeof *t.word);
    t.kind = ngi_xmalloc(cap * sizeof *t.kind);
    t.tau = ngi_xmalloc(cap * sizeof *t.tau);
    t.home = ngi_xmalloc(cap * sizeof *t.home);
    t.new_topic = ngi_xmalloc(cap * sizeof *t.new_topic);
    st = t.word && t.kind && t.tau && t.home && t.new_topic ? NG_OK : ngi_fail(NG_ENOMEM, "%s: out of memory", path);
    ngi_dict seen;
    int have_seen = !st && !(st = ngi_dict_init(&seen, 64));
    char *p = s;
    for (size_t ln = 1; !st && *p; ln++) {
        char *nl = strchr(p, '\n'), *next = nl ? nl + 1 : p + strlen(p);
        if (nl) *nl = '\0';
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r') p[l - 1] = '\0';
        if (ln == 1) {
            if (strcmp(p, "word,kind,tau,home_topic,new_topic"))
                st = ngi_fail(NG_EFORMAT, "%s:1: header '%s': expected word,kind,tau,home_topic,new_topic",
                              path, p);
        } else if (*p) {
            st = truth_line(path, ln, p, &t, t.n, &seen);
            if (!st) t.n++;
        }
        p = next;
    }
    if (!st && lines == 0) st = ngi_fail(NG_EFORMAT, "%s: empty: expected a header line", path);
    if (have_seen) ngi_dict_free(&seen);
    free(s);
    if (st) {
        if (!t.word) t.n = 0;
        ng_dwe_truth_free(&t);
        return st;
    }
    *out = t;
    return NG_OK;
}

/* ------------------------------------------------------------------ evaluation */

static double cosine(const float *a, const float *b, size_t d)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t k = 0; k < d; k++) ab += (double)a[k] * b[k], aa += (double)a[k] * a[k], bb += (double)b[k] * b[k];
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of x[0..n) (sorts x); NAN when n == 0. */
static double median(double *x, size_t n)
{
    if (!n) return NAN;
    qsort(x, n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* Mann-Whitney AUC: P(score of a positive > that of a negative), ties counting 1/2. */
static double auc(const double *score, const int *cls, size_t n, int neg_mask)
{
    double num = 0, pairs = 0;
    for (size_t i = 0; i < n; i++) {
        if (cls[i] != 1) continue;
        for (size_t j = 0; j < n; j++) {
            if (!(cls[j] & neg_mask) || cls[j] == 1) continue;
            num += score[i] > score[j] ? 1 : score[i] == score[j] ? 0.5 : 0;
            pairs++;
        }
    }
    return pairs > 0 ? num / pairs : NAN;
}

/* Whether word r of the truth belongs to topic k at slice t (from 1). */
static int in_topic(const ng_dwe_truth *tr, size_t r, int t, int k)
{
    int before = tr->tau[r] < 0 || t < tr->tau[r];
    switch (tr->kind[r]) {
    case NG_DWE_ABRUPT: return (before ? tr->home[r] : tr->new_topic[r]) == k;
    case NG_DWE_GRADUAL:
    case NG_DWE_BROADENING: return tr->home[r] == k || (!before && tr->new_topic[r] == k);
    default: return tr->home[r] == k;
    }
}

/* Precision@10 of every slice into prec[] (NAN where a slice has no query). */
static ng_status precision(const ng_dwe_model *m, const ng_dwe_truth *tr, const long *row,
                           const long *inv, double *prec, ng_dwe_eval *o)
{
    enum { K = 10 };
    ng_dwe_hit hits[K];
    for (size_t t = 0; t < m->T; t++) {
        double sum = 0;
        size_t nq = 0;
        for (size_t r = 0; r < tr->n; r++) {
            if (row[r] < 0 || (tr->kind[r] != NG_DWE_STABLE && tr->kind[r] != NG_DWE_FREQUENCY)) continue;
            int k = tr->home[r];
            size_t same = 0;
            for (size_t s = 0; s < tr->n; s++) same += s != r && row[s] >= 0 && in_topic(tr, s, (int)t + 1, k);
            if (same < K) continue;
            size_t n;
            ng_status st = ng_dwe_neighbours(m, t, (size_t)row[r], K, hits, &n);
            if (st) return st;
            size_t good = 0;
            for (size_t h = 0; h < n; h++) /* model words outside the truth never match */
                good += inv[hits[h].word] >= 0 && in_topic(tr, (size_t)inv[hits[h].word], (int)t + 1, k);
            sum += (double)good / K;
            nq++;
        }
        prec[t] = nq ? sum / (double)nq : NAN;
        o->n_queries += nq;
    }
    return NG_OK;
}

/* Abrupt change times: argmax_t ||u_{t+1} - u_t|| as slice t + 2 (from 1) within 2 of tau. */
static void change_times(const ng_dwe_model *m, const ng_dwe_truth *tr, const long *row, ng_dwe_eval *o)
{
    for (size_t r = 0; r < tr->n; r++) {
        if (row[r] < 0 || tr->kind[r] != NG_DWE_ABRUPT) continue;
        o->n_abrupt++;
        double best = -1;
        size_t at = 0;
        for (size_t t = 0; t + 1 < m->T; t++) {
            const float *a = m->U + (t * m->W + (size_t)row[r]) * m->d, *b = a + m->W * m->d;
            double s = 0;
            for (size_t k = 0; k < m->d; k++) s += ((double)b[k] - a[k]) * ((double)b[k] - a[k]);
            if (s > best) best = s, at = t; /* ties: the earliest */
        }
        if (m->T >= 2 && labs((long)at + 2 - tr->tau[r]) <= 2) o->change_hits++;
    }
    o->change_share = o->n_abrupt && m->T >= 2 ? (double)o->change_hits / (double)o->n_abrupt : NAN;
}

ng_status ng_dwe_evaluate(const ng_dwe_model *m, const ng_dwe_truth *tr, ng_dwe_eval *out)
{
    static const char fn[] = "ng_dwe_evaluate";
    if (!m || !tr || !out) return ngi_fail(NG_EINVAL, "%s: NULL argument", fn);
    if (!m->T || !m->W) return ngi_fail(NG_EINVAL, "%s: empty model", fn);
    ng_dwe_eval o;
    memset(&o, 0, sizeof o);
    long *row = ngi_xmalloc((tr->n ? tr->n : 1) * sizeof *row);
    double *score = ngi_xmalloc((tr->n ? tr->n : 1) * sizeof *score);
    int *cls = ngi_xcalloc(tr->n ? tr->n : 1, sizeof *cls);
    double *buf = ngi_xmalloc((m->W > m->T ? m->W : m->T) * sizeof *buf);
    long *inv = ngi_xmalloc(m->W * sizeof *inv); /* model word -> truth row, -1 none */
    ng_status st = row && score && cls && buf && inv ? NG_OK : ngi_fail(NG_ENOMEM, "%s: out of memory", fn);
    for (size_t i = 0; !st && i < m->W; i++) inv[i] = -1;
    for (size_t r = 0; !st && r < tr->n; r++) {
        size_t i;
        if (tr->tau[r] > (int)m->T) {
            st = ngi_fail(NG_EINVAL, "%s: word '%s' has tau %d: the model has %zu slices", fn,
                          tr->word[r], tr->tau[r], m->T);
            break;
        }
        row[r] = ng_dwe_find_word(m, tr->word[r], &i) == NG_OK ? (long)i : -1;
        if (row[r] < 0) {
            o.missing++;
            continue;
        }
        o.matched++;
        inv[i] = (long)r;
        const float *a = m->U + (size_t)row[r] * m->d, *b = m->U + ((m->T - 1) * m->W + (size_t)row[r]) * m->d;
        score[r] = 1 - cosine(a, b, m->d);
        /* classes: 1 drifting, 2 stable, 4 frequency-only */
        int k = tr->kind[r];
        cls[r] = k == NG_DWE_STABLE ? 2 : k == NG_DWE_FREQUENCY ? 4 : 1;
        o.n_drift += cls[r] == 1, o.n_stable += cls[r] == 2, o.n_freq += cls[r] == 4;
    }
    if (!st && !o.matched) st = ngi_fail(NG_EINVAL, "%s: no word of the truth is in the model", fn);
    if (!st) {
        o.auc = auc(score, cls, tr->n, 2 | 4);
        o.auc_freq = auc(score, cls, tr->n, 4);
        change_times(m, tr, row, &o);
        st = precision(m, tr, row, inv, buf, &o);
    }
    if (!st) {
        size_t n = 0;
        double mn = INFINITY;
        for (size_t t = 0; t < m->T; t++)
            if (!isnan(buf[t])) buf[n++] = buf[t], mn = fmin(mn, buf[t]);
        o.prec_slices = n;
        o.prec_min = n ? mn : NAN;
        o.prec_median = median(buf, n);
    }
    for (int align = 0; !st && align < 2; align++) {
        st = ng_dwe_overlap(m, 0, m->T - 1, align, buf, NULL);
        if (!st) *(align ? &o.overlap_aligned_median : &o.overlap_median) = median(buf, m->W);
    }
    free(row);
    free(score);
    free(cls);
    free(buf);
    free(inv);
    if (!st) *out = o;
    return st;
}
