/* corpus_ngram.c - Google Books 5-grams, streamed from .gz.
 *   2012 (20120701):  w1 w2 w3 w4 w5<TAB>year<TAB>match_count<TAB>volume_count
 *   2020 (20200217):  w1 w2 w3 w4 w5<TAB>year,match,volumes<TAB>year,match,volumes...
 * As the authors' code: an n-gram is dropped when a token has '_' after its first
 * character (part-of-speech tags, _START_, _END_) or is blank (two spaces); years
 * outside [years_from, years_to] are dropped; case is kept unless asked. A token that is
 * not a word (punctuation, over-long, invalid UTF-8) keeps its position. */
#include "corpus_internal.h"

#include <stdlib.h>
#include <string.h>

#define NGRAM_N 5
#define LINE_MAX_BYTES (1u << 20)

typedef struct {
    ngi_job *j;
    uint64_t line;
    char word[NGRAM_N][NG_CORPUS_MAX_WORD + 8];
    const char *w[NGRAM_N];
    size_t wl[NGRAM_N];
    char *carry; /* a line that spans chunks */
    size_t clen, ccap;
} ngram;

#define FAIL(g, ...) ngi_job_fail((g)->j, NG_EFORMAT, __VA_ARGS__)

/* Splits the n-gram into its tokens: 1 to go on, 0 to drop the line (tags, blanks). */
static int split(ngram *g, const char *s, size_t n)
{
    const char *tok[NGRAM_N + 1];
    size_t len[NGRAM_N + 1];
    int k = 0;
    for (size_t a = 0; a <= n;) {
        const char *sp = memchr(s + a, ' ', n - a);
        size_t b = sp ? (size_t)(sp - s) : n;
        if (b == a) return 0; /* a blank token: a lone space in the data */
        const char *us = memchr(s + a + 1, '_', b - a - 1);
        if (us) return 0;     /* a tag after the first character */
        if (k == NGRAM_N) {
            FAIL(g, "%s:%llu: more than %d tokens before the tab: expected a 5-gram", g->j->path,
                 (unsigned long long)g->line, NGRAM_N);
            return 0;
        }
        tok[k] = s + a;
        len[k++] = b - a;
        a = b + 1;
    }
    if (k != NGRAM_N) {
        FAIL(g, "%s:%llu: %d token%s before the tab: expected a 5-gram", g->j->path,
             (unsigned long long)g->line, k, k == 1 ? "" : "s");
        return 0;
    }
    for (int i = 0; i < NGRAM_N; i++) {
        int bad = 0;
        if (ngi_word_whole((const unsigned char *)tok[i], len[i], g->j->b->lowercase, g->word[i],
                           &g->wl[i], &bad))
            g->w[i] = g->word[i];
        else
            g->w[i] = NULL;
        if (len[i] > NG_CORPUS_MAX_WORD) g->j->long_tokens++;
        g->j->invalid += (uint64_t)bad;
    }
    return 1;
}

/* One year: kept years go to the job (the words resolved on the first one). */
static void year(ngram *g, int64_t y, int64_t match, int *resolved)
{
    const ng_corpus_build_params *p = &g->j->b->p;
    if (y < p->years_from || y > p->years_to) {
        g->j->years_dropped++;
        return;
    }
    if (!*resolved) {
        ngi_job_gram(g->j, g->w, g->wl, NGRAM_N);
        *resolved = 1;
    }
    ngi_job_time(g->j, (double)y);
    ngi_job_gram_count(g->j, match);
}

/* "y,m,v" */
static int triple(const char *s, size_t n, int64_t *y, int64_t *m)
{
    const char *c1 = memchr(s, ',', n);
    if (!c1) return 0;
    const char *c2 = memchr(c1 + 1, ',', (size_t)(s + n - c1 - 1));
    int64_t v;
    return c2 && ngi_parse_i64(s, (size_t)(c1 - s), y) &&
           ngi_parse_i64(c1 + 1, (size_t)(c2 - c1 - 1), m) &&
           ngi_parse_i64(c2 + 1, (size_t)(s + n - c2 - 1), &v);
}

static void fields(ngram *g, const char *s, size_t n)
{
    int resolved = 0;
    int64_t y, m, v;
    const char *t1 = memchr(s, '\t', n);
    if (memchr(s, ',', t1 ? (size_t)(t1 - s) : n)) { /* 2020 */
        for (int f = 1; n; f++) {
            const char *tab = memchr(s, '\t', n);
            size_t fl = tab ? (size_t)(tab - s) : n;
            if (!triple(s, fl, &y, &m)) {
                FAIL(g, "%s:%llu: field %d after the n-gram is '%.*s': expected year,match_count,"
                     "volume_count (2020 format)", g->j->path, (unsigned long long)g->line, f,
                     (int)(fl < 40 ? fl : 40), s);
                return;
            }
            year(g, y, m, &resolved);
            s += fl + (tab != NULL);
            n -= fl + (tab != NULL);
        }
        return;
    }
    const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(s + n - t1 - 1)) : NULL;
    if (!t1 || !t2 || memchr(t2 + 1, '\t', (size_t)(s + n - t2 - 1)) ||
        !ngi_parse_i64(s, (size_t)(t1 - s), &y) ||
        !ngi_parse_i64(t1 + 1, (size_t)(t2 - t1 - 1), &m) ||
        !ngi_parse_i64(t2 + 1, (size_t)(s + n - t2 - 1), &v)) {
        FAIL(g, "%s:%llu: expected year<TAB>match_count<TAB>volume_count after the n-gram (2012 "
             "format) or year,match_count,volume_count fields (2020 format)", g->j->path,
             (unsigned long long)g->line);
        return;
    }
    year(g, y, m, &resolved);
}

static void line(ngram *g, const char *s, size_t n)
{
    g->j->lines++;
    if (n && s[n - 1] == '\r') n--;
    if (!n) return;
    if (memchr(s, '\0', n)) {
        FAIL(g, "%s:%llu: NUL byte: expected n-gram text (is it a binary file?)", g->j->path,
             (unsigned long long)g->line);
        return;
    }
    const char *tab = memchr(s, '\t', n);
    if (!tab) {
        FAIL(g, "%s:%llu: no tab: expected an n-gram, a tab and its year counts", g->j->path,
             (unsigned long long)g->line);
        return;
    }
    if (!split(g, s, (size_t)(tab - s))) {
        if (!g->j->err) g->j->ngrams_dropped++;
        return;
    }
    g->j->ngrams_kept++;
    fields(g, tab + 1, (size_t)(s + n - tab - 1));
}

static int carry(ngram *g, const unsigned char *p, size_t n)
{
    if (g->clen + n > LINE_MAX_BYTES) {
        FAIL(g, "%s:%llu: line longer than %u bytes: expected an n-gram line", g->j->path,
             (unsigned long long)g->line, LINE_MAX_BYTES);
        return 0;
    }
    if (g->clen + n > g->ccap) {
        size_t c = g->ccap ? g->ccap : 4096;
        while (c < g->clen + n) c *= 2;
        char *q = realloc(g->carry, c);
        if (!q) {
            ngi_job_fail(g->j, NG_ENOMEM, "%s: out of memory", g->j->path);
            return 0;
        }
        g->carry = q;
        g->ccap = c;
    }
    memcpy(g->carry + g->clen, p, n);
    g->clen += n;
    return 1;
}

static void feed(ngram *g, const unsigned char *p, size_t n)
{
    while (n && !g->j->err) {
        const unsigned char *nl = memchr(p, '\n', n);
        if (!nl) {
            carry(g, p, n);
            return;
        }
        size_t m = (size_t)(nl - p);
        if (g->clen) {
            if (!carry(g, p, m)) return;
            line(g, g->carry, g->clen);
            g->clen = 0;
        } else {
            line(g, (const char *)p, m);
        }
        g->line++;
        p += m + 1;
        n -= m + 1;
    }
}

ng_status ngi_read_ngram(ngi_job *j, const ngi_unit *u)
{
    gzFile gz = ngi_gz_open(u->path);
    if (!gz) {
        ngi_job_fail(j, NG_EIO, "%s", ng_last_error());
        return j->err;
    }
    unsigned char *buf = ngi_xmalloc(NGI_CHUNK);
    ngram *g = ngi_xcalloc(1, sizeof *g);
    if (!buf || !g) {
        ngi_job_fail(j, NG_ENOMEM, "%s: out of memory", u->path);
    } else {
        g->j = j;
        g->line = 1;
        int r, first = 1;
        while (!j->err && (r = ngi_gz_read(j, gz, buf, NGI_CHUNK)) > 0) {
            j->bytes += (uint64_t)r;
            size_t skip = first && r >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3) ? 3 : 0;
            first = 0;
            feed(g, buf + skip, (size_t)r - skip);
        }
        if (!j->err && g->clen) line(g, g->carry, g->clen);
        free(g->carry);
    }
    free(g);
    free(buf);
    gzclose(gz);
    return j->err;
}
