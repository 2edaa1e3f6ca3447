/* corpus_text.c - plain text: a file per time (its time from the name or the time map),
 * a sentence per line, words by the tokenizer; pairs never cross a line. */
#include "corpus_internal.h"

#include <stdlib.h>

static void on_token(void *ctx, const char *w, size_t len) { ngi_job_token(ctx, w, len); }
static void on_line_end(void *ctx) { ngi_job_line_end(ctx); }

ng_status ngi_read_text(ngi_job *j, const ngi_unit *u)
{
    gzFile g = ngi_gz_open(u->path);
    if (!g) {
        ngi_job_fail(j, NG_EIO, "%s", ng_last_error());
        return j->err;
    }
    unsigned char *buf = ngi_xmalloc(NGI_CHUNK);
    if (!buf) {
        gzclose(g);
        ngi_job_fail(j, NG_ENOMEM, "%s: out of memory", u->path);
        return j->err;
    }
    ngi_tok tok;
    ngi_tok_init(&tok, j->b->lowercase, on_token, on_line_end, j);
    ngi_job_time(j, u->time);
    int r, last = '\n';
    while (!j->err && (r = ngi_gz_read(j, g, buf, NGI_CHUNK)) > 0) {
        j->bytes += (uint64_t)r;
        ngi_tok_feed(&tok, buf, (size_t)r);
        last = buf[r - 1];
        if (tok.nul)
            ngi_job_fail(j, NG_EFORMAT, "%s:%llu: NUL byte: expected UTF-8 text (is it a binary file?)",
                         u->path, (unsigned long long)tok.line);
    }
    if (!j->err) ngi_tok_finish(&tok);
    j->lines += tok.line - 1 + (last != '\n');
    j->invalid += tok.invalid;
    j->long_tokens += tok.long_tokens;
    free(buf);
    gzclose(g);
    return j->err;
}
