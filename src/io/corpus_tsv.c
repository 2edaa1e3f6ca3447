/* corpus_tsv.c - one file of "time<TAB>text" lines: each line its own time, its text
 * words by the tokenizer (pairs never cross a line). Blank lines are skipped. */
#include "corpus_internal.h"

#include <stdlib.h>
#include <string.h>

#define TIME_MAX 64 /* bytes of the time field */

static void on_token(void *ctx, const char *w, size_t len) { ngi_job_token(ctx, w, len); }
static void on_line_end(void *ctx) { ngi_job_line_end(ctx); }

typedef struct {
    ngi_job *j;
    ngi_tok tok;
    int in_text;      /* past the tab of the current line */
    char field[TIME_MAX];
    size_t flen;
    uint64_t line;    /* of the next byte, from 1 */
    int at_start;     /* the file's first bytes (a BOM is skipped) */
} tsv;

/* The time field ends at the tab: parse it. */
static void end_field(tsv *t)
{
    double time;
    if (!ngi_parse_double(t->field, t->flen, &time)) {
        ngi_job_fail(t->j, NG_EFORMAT, "%s:%llu: '%.*s' is not a time: expected time<TAB>text with "
                     "the time a number (e.g. 1790)", t->j->path, (unsigned long long)t->line,
                     (int)t->flen, t->field);
        return;
    }
    ngi_job_time(t->j, time);
    t->in_text = 1;
    t->flen = 0;
}

static void field_byte(tsv *t, unsigned char b)
{
    ngi_job *j = t->j;
    if (b == '\t') {
        end_field(t);
    } else if (b == '\n') {
        if (t->flen)
            ngi_job_fail(j, NG_EFORMAT, "%s:%llu: no tab: expected time<TAB>text", j->path,
                         (unsigned long long)t->line);
        t->line++;
    } else if (b == '\r') {
        /* CRLF line ends */
    } else if (b == 0) {
        ngi_job_fail(j, NG_EFORMAT, "%s:%llu: NUL byte: expected UTF-8 text (is it a binary file?)",
                     j->path, (unsigned long long)t->line);
    } else if (t->flen == TIME_MAX) {
        ngi_job_fail(j, NG_EFORMAT, "%s:%llu: no tab within %d bytes: expected time<TAB>text",
                     j->path, (unsigned long long)t->line, TIME_MAX);
    } else {
        t->field[t->flen++] = (char)b;
    }
}

static void feed(tsv *t, const unsigned char *p, size_t n)
{
    size_t k = 0;
    if (t->at_start) {
        t->at_start = 0;
        if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) k = 3;
    }
    while (k < n && !t->j->err) {
        if (!t->in_text) {
            field_byte(t, p[k++]);
            continue;
        }
        const unsigned char *nl = memchr(p + k, '\n', n - k);
        size_t m = nl ? (size_t)(nl - (p + k)) + 1 : n - k;
        size_t used = ngi_tok_feed(&t->tok, p + k, m);
        if (t->tok.nul) {
            ngi_job_fail(t->j, NG_EFORMAT, "%s:%llu: NUL byte: expected UTF-8 text (is it a binary file?)",
                         t->j->path, (unsigned long long)t->line);
            return;
        }
        k += used;
        if (nl) {
            t->in_text = 0;
            t->line++;
        }
    }
}

ng_status ngi_read_tsv(ngi_job *j, const ngi_unit *u)
{
    gzFile g = ngi_gz_open(u->path);
    if (!g) {
        ngi_job_fail(j, NG_EIO, "%s", ng_last_error());
        return j->err;
    }
    unsigned char *buf = ngi_xmalloc(NGI_CHUNK);
    tsv *t = ngi_xcalloc(1, sizeof *t);
    if (!buf || !t) {
        ngi_job_fail(j, NG_ENOMEM, "%s: out of memory", u->path);
    } else {
        t->j = j;
        t->line = 1;
        t->at_start = 1;
        ngi_tok_init(&t->tok, j->b->lowercase, on_token, on_line_end, j);
        int r, last = '\n';
        while (!j->err && (r = ngi_gz_read(j, g, buf, NGI_CHUNK)) > 0) {
            j->bytes += (uint64_t)r;
            feed(t, buf, (size_t)r);
            last = buf[r - 1];
        }
        if (!j->err && t->in_text) ngi_tok_finish(&t->tok);
        if (!j->err && t->flen)
            ngi_job_fail(j, NG_EFORMAT, "%s:%llu: no tab: expected time<TAB>text", j->path,
                         (unsigned long long)t->line);
        j->lines += t->line - 1 + (last != '\n');
        j->invalid += t->tok.invalid;
        j->long_tokens += t->tok.long_tokens;
    }
    free(t);
    free(buf);
    gzclose(g);
    return j->err;
}
