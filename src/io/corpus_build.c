/* corpus_build.c - a corpus from text or n-grams in two streaming passes: word counts
 * per slice (-> slices and vocabulary), then pair counts of vocabulary words. Files are
 * read in parallel, each into tables of its own, and merged in input order inside an
 * ordered region: the counts are summed in one fixed order whatever the thread count,
 * and at most about one file's tables per thread wait to be merged. */
#include "corpus_internal.h"

#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

ng_corpus_build_params ng_corpus_build_default_params(void)
{
    ng_corpus_build_params p;
    memset(&p, 0, sizeof p);
    p.format = NG_CORPUS_AUTO;
    p.slice_years = 1;
    p.vocab = 10000;
    p.window = 4;
    p.min_count = 1;
    p.lowercase = -1;
    p.years_from = 1800;
    p.years_to = 2008;
    p.ngram_pairs = NG_NGRAM_CODE;
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ job events */

void ngi_job_fail(ngi_job *j, ng_status s, const char *fmt, ...)
{
    if (j->err) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    j->err = s;
    j->msg = ngi_strdup(buf);
}

void ngi_job_time(ngi_job *j, double time)
{
    int n = j->b->p.slice_years;
    double key = (n > 0 ? floor(time / n) * n : time) + 0.0;
    if (j->have_key && key == j->key) return;
    j->key = key;
    j->have_key = 1;
    j->cur = -1;
    if (j->pass == 1) return; /* made with the first token */
    size_t lo = 0, hi = j->b->T;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (j->b->times[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    if (lo < j->b->T && j->b->times[lo] == key) j->cur = (int64_t)lo;
}

void ngi_job_token(ngi_job *j, const char *w, size_t len)
{
    if (j->err) return;
    if (j->pass == 1) ngi_vocab_token(j, w, len);
    else ngi_cooc_token(j, w, len);
}

void ngi_job_line_end(ngi_job *j)
{
    if (j->pass == 2) ngi_cooc_line_end(j);
}

void ngi_job_gram(ngi_job *j, const char *const *w, const size_t *len, int n)
{
    if (j->err) return;
    if (j->pass == 1) ngi_vocab_gram(j, w, len, n);
    else ngi_cooc_gram(j, w, len, n);
}

void ngi_job_gram_count(ngi_job *j, int64_t match)
{
    if (j->err) return;
    if (j->pass == 1) ngi_vocab_gram_count(j, match);
    else ngi_cooc_gram_count(j, match);
}

static ng_status job_init(ngi_job *j, int pass, const ngi_build *b, const char *path)
{
    memset(j, 0, sizeof *j);
    j->pass = pass;
    j->b = b;
    j->path = path;
    j->cur = -1;
    ng_status s = pass == 1 ? ngi_vocab_job_init(j) : ngi_cooc_job_init(j);
    if (s) ngi_job_fail(j, s, "%s", ng_last_error());
    return s;
}

static void job_free(ngi_job *j)
{
    if (j->pass == 1) ngi_vocab_job_free(j);
    else ngi_cooc_job_free(j);
    free(j->msg);
}

static ng_status read_unit(ngi_job *j, const ngi_unit *u)
{
    switch (u->kind) {
    case NG_CORPUS_TSV: return ngi_read_tsv(j, u);
    case NG_CORPUS_NGRAM: return ngi_read_ngram(j, u);
    default: return ngi_read_text(j, u);
    }
}

/* ------------------------------------------------------------------ the passes */

#define PROGRESS_BYTES ((uint64_t)64 << 20)

/* Shared by the threads of a pass: bytes read, files merged, the stop request. */
typedef struct ngi_live {
    const ng_corpus_build_params *p;
    int pass;
    size_t n;
    uint64_t bytes, next; /* read so far; the next progress call */
    size_t done;          /* files merged */
    int stop;
} ngi_live;

/* The callback, one thread at a time; a non-zero answer is the stop request. */
static void report(ngi_live *l, uint64_t bytes)
{
    size_t done;
#pragma omp atomic read
    done = l->done;
#pragma omp critical(ngi_corpus_progress)
    {
        l->next = bytes + PROGRESS_BYTES;
        if (l->p->progress(l->p->progress_user, l->pass, done, l->n, bytes)) {
#pragma omp atomic write
            l->stop = 1;
        }
    }
}

void ngi_job_chunk(ngi_job *j, size_t n)
{
    ngi_live *l = j->live;
    if (!l) return;
    uint64_t total, next;
    int stop;
#pragma omp atomic capture
    total = l->bytes += n;
#pragma omp atomic read
    next = l->next;
    if (l->p->progress && total >= next) report(l, total);
#pragma omp atomic read
    stop = l->stop;
    if (stop) ngi_job_fail(j, NG_EINTERRUPTED, "stopped on request in pass %d", l->pass);
}

typedef struct {
    ngi_build *b;
    const ngi_unit *u;
    size_t n;
    int threads;
    ngi_vocab_acc *acc; /* pass 1 */
    ngi_map *pairs;     /* pass 2: T tables */
    ng_corpus_build_stats *st;
    size_t fail_at;     /* first failing file, in input order */
    ng_status fail;
    char *fail_msg;
    ngi_live live;
} pass_ctx;

/* Inside the ordered region: file k's tables join the totals. */
static void merge(pass_ctx *c, int pass, size_t k, ngi_job *j, ng_status s)
{
    if (!s) s = pass == 1 ? ngi_vocab_merge(c->acc, j) : ngi_cooc_merge(c->pairs, c->b->T, j);
    if (!s) {
        ng_corpus_build_stats *st = c->st;
        if (pass == 1) {
            st->bytes += j->bytes;
            st->lines += j->lines;
            st->tokens += j->tokens;
            st->invalid_utf8 += j->invalid;
            st->long_tokens += j->long_tokens;
            st->ngrams_kept += j->ngrams_kept;
            st->ngrams_dropped += j->ngrams_dropped;
            st->years_dropped += j->years_dropped;
            st->empty_files += j->tokens == 0;
        } else {
            st->in_vocab += (double)j->in_vocab;
        }
#pragma omp atomic write
        c->live.done = k + 1;
        if (c->b->p.progress) {
            uint64_t bytes;
#pragma omp atomic read
            bytes = c->live.bytes;
            report(&c->live, bytes);
        }
        int stop;
#pragma omp atomic read
        stop = c->live.stop;
        if (stop)
            s = ngi_fail(NG_EINTERRUPTED, "stopped on request in pass %d after %zu of %zu files",
                         pass, k + 1, c->n);
    }
    if (s) {
        c->fail = s;
        c->fail_msg = j->msg ? j->msg : ngi_strdup(ng_last_error());
        j->msg = NULL;
#pragma omp atomic write
        c->fail_at = k;
    }
}

static ng_status run_pass(pass_ctx *c, int pass)
{
    c->fail_at = SIZE_MAX;
    c->fail = NG_OK;
    c->fail_msg = NULL;
    c->live = (ngi_live){.p = &c->b->p, .pass = pass, .n = c->n, .next = PROGRESS_BYTES};
#pragma omp parallel for schedule(dynamic, 1) ordered num_threads(c->threads)
    for (size_t k = 0; k < c->n; k++) {
        size_t fa;
#pragma omp atomic read
        fa = c->fail_at;
        int run = k < fa; /* after a failure, later files are not read */
        ngi_job j;
        ng_status s = NG_OK;
        if (run) {
            s = job_init(&j, pass, c->b, c->u[k].path);
            j.live = &c->live;
            if (!s) s = read_unit(&j, &c->u[k]);
        }
#pragma omp ordered
        {
#pragma omp atomic read
            fa = c->fail_at;
            if (run && fa == SIZE_MAX) merge(c, pass, k, &j, s);
        }
        if (run) job_free(&j);
    }
    if (c->fail_at == SIZE_MAX) return NG_OK;
    ng_status s = ngi_fail(c->fail, "%s", c->fail_msg ? c->fail_msg : "out of memory");
    free(c->fail_msg);
    return s;
}

/* ------------------------------------------------------------------ the build */

static ng_status check_params(const ng_corpus_build_params *p)
{
    if (p->format < NG_CORPUS_AUTO || p->format > NG_CORPUS_NGRAM)
        return ngi_fail(NG_EINVAL, "ng_corpus_build: format %d: expected 0..3", (int)p->format);
    if (p->slice_years < 0)
        return ngi_fail(NG_EINVAL, "ng_corpus_build: slice_years %d: expected >= 0", p->slice_years);
    if (p->vocab < 1 || p->vocab > INT32_MAX)
        return ngi_fail(NG_EINVAL, "ng_corpus_build: vocab %zu: expected 1..%d", p->vocab, INT32_MAX);
    if (p->window < 1 || p->window > 64)
        return ngi_fail(NG_EINVAL, "ng_corpus_build: window %d: expected 1..64", p->window);
    if (p->min_count < 0)
        return ngi_fail(NG_EINVAL, "ng_corpus_build: min_count %lld: expected >= 0",
                        (long long)p->min_count);
    if (p->lowercase < -1 || p->lowercase > 1)
        return ngi_fail(NG_EINVAL, "ng_corpus_build: lowercase %d: expected -1, 0 or 1", p->lowercase);
    if (p->years_from > p->years_to)
        return ngi_fail(NG_EINVAL, "ng_corpus_build: years %d..%d: expected from <= to",
                        p->years_from, p->years_to);
    if (p->ngram_pairs != NG_NGRAM_CODE && p->ngram_pairs != NG_NGRAM_ANCHORED)
        return ngi_fail(NG_EINVAL, "ng_corpus_build: ngram_pairs %d: expected 0 or 1", (int)p->ngram_pairs);
    if (p->threads < 0)
        return ngi_fail(NG_EINVAL, "ng_corpus_build: threads %d: expected >= 0", p->threads);
    return NG_OK;
}

/* The kind of the whole input and its source name. */
static const char *source_of(const ngi_unit *u, size_t n, ng_corpus_format *kind)
{
    int text = 0, tsv = 0;
    for (size_t k = 0; k < n; k++) {
        if (u[k].kind == NG_CORPUS_NGRAM) {
            *kind = NG_CORPUS_NGRAM;
            return "ngram";
        }
        if (u[k].kind == NG_CORPUS_TSV) tsv = 1;
        else text = 1;
    }
    *kind = tsv && !text ? NG_CORPUS_TSV : NG_CORPUS_TEXT;
    return tsv && text ? "text+tsv" : tsv ? "tsv" : "text";
}

static ng_status build(ngi_build *b, const ngi_unit *u, size_t n, ng_corpus *c,
                       ng_corpus_build_stats *st)
{
    pass_ctx pc = {.b = b, .u = u, .n = n, .st = st};
    int nt = b->p.threads > 0 ? b->p.threads : omp_get_max_threads();
    pc.threads = nt < 1 ? 1 : (size_t)nt > n ? (int)n : nt;
    st->threads = pc.threads;
    ngi_vocab_acc acc;
    ng_status s = ngi_vocab_acc_init(&acc);
    if (s) return s;
    pc.acc = &acc;
    double t0 = now();
    s = run_pass(&pc, 1);
    if (!s) s = ngi_vocab_finish(&acc, b, c, &st->distinct_words);
    ngi_vocab_acc_free(&acc);
    st->seconds[0] = now() - t0;
    if (s) return s;
    t0 = now();
    pc.pairs = ngi_xcalloc(b->T, sizeof *pc.pairs);
    if (!pc.pairs) s = NG_ENOMEM;
    if (!s) s = run_pass(&pc, 2);
    if (!s) s = ngi_cooc_finish(pc.pairs, b->T, c->W, c);
    for (size_t t = 0; pc.pairs && t < b->T; t++) ngi_map_free(&pc.pairs[t]);
    free(pc.pairs);
    st->seconds[1] = now() - t0;
    return s;
}

ng_status ng_corpus_build(const char *const *inputs, size_t n_inputs, const ng_corpus_build_params *p,
                          ng_corpus *out, ng_corpus_build_stats *stats)
{
    if (!inputs || !p || !out) return ngi_fail(NG_EINVAL, "ng_corpus_build: NULL argument");
    ng_status s = check_params(p);
    if (s) return s;
    ng_corpus_build_stats st;
    memset(&st, 0, sizeof st);
    ngi_build b;
    memset(&b, 0, sizeof b);
    b.p = *p;
    snprintf(b.what, sizeof b.what, "%s%s", n_inputs ? inputs[0] : "", n_inputs > 1 ? " (and the other inputs)" : "");
    ngi_unit *u = NULL;
    size_t n = 0;
    if ((s = ngi_units_make(inputs, n_inputs, p, &u, &n, &st.bytes_on_disk))) return s;
    st.files = n;
    const char *source = source_of(u, n, &st.format);
    int ngram = st.format == NG_CORPUS_NGRAM;
    b.lowercase = p->lowercase >= 0 ? p->lowercase : !ngram;
    if (ngram && p->window != 4)
        s = ngi_fail(NG_EINVAL, "n-grams pair words by their own rule (window 4, weight (5 - d) / 4): "
                     "expected window 4, not %d", p->window);
    if (ngram) b.p.window = 4;
    for (int d = 1; d <= b.p.window; d++) b.wt[d] = (double)(b.p.window + 1 - d) / b.p.window;
    ng_corpus c;
    memset(&c, 0, sizeof c);
    if (!s) s = build(&b, u, n, &c, &st);
    ngi_units_free(u, n);
    ngi_dict_free(&b.vocab);
    free(b.times);
    if (!s) {
        c.window = b.p.window;
        c.lowercase = b.lowercase;
        c.slice_years = p->slice_years;
        c.min_count = p->min_count;
        if (!(c.source = ngi_strdup(source))) s = NG_ENOMEM;
    }
    if (s) {
        ng_corpus_free(&c);
        return s;
    }
    st.in_vocab = st.tokens ? st.in_vocab / (double)st.tokens : 0;
    if (stats) *stats = st;
    *out = c;
    return NG_OK;
}
