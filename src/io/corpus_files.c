/* corpus_files.c - the corpus directory (docs/dwe.md, "Corpus directory"):
 *   corpus.txt    "natgrad-corpus 1", then key value lines
 *   vocab.tsv     word<TAB>count, rank order
 *   slices.csv    slice,time,tokens,entries
 *   slice_ptr.npy i8 (T + 1); pairs_i.npy, pairs_j.npy i4; pairs_n.npy f4 (numpy-readable)
 * Written into DIR.tmp and swapped into place; read with every size, index and order
 * checked, the file and the position named. */
#include "corpus_internal.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAGIC "natgrad-corpus 1"

void ng_corpus_free(ng_corpus *c)
{
    if (!c) return;
    if (c->word)
        for (size_t k = 0; k < c->W; k++) free(c->word[k]);
    free(c->word);
    free(c->time);
    free(c->tokens);
    free(c->word_count);
    free(c->slice_ptr);
    free(c->i);
    free(c->j);
    free(c->n);
    free(c->source);
    memset(c, 0, sizeof *c);
}

void ngi_fmt_double(double x, char *buf, size_t len)
{
    /* whole numbers in plain digits (1790, not 1.79e+03) */
    if (x == floor(x) && fabs(x) < 1e15) {
        snprintf(buf, len, "%.0f", x);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, x);
        if (strtod(buf, NULL) == x) return;
    }
}

/* ------------------------------------------------------------------ checks */

/* "DIR/FILE" when reading, "ng_corpus (FILE)" for a corpus in memory. */
static void where(char *buf, size_t len, const char *dir, const char *file)
{
    if (dir) snprintf(buf, len, "%s/%s", dir, file);
    else snprintf(buf, len, "ng_corpus (%s)", file);
}

static ng_status check_meta(const ng_corpus *c, const char *dir)
{
    char w[4096];
    where(w, sizeof w, dir, "corpus.txt");
    if (c->T < 1 || c->W < 1)
        return ngi_fail(NG_EFORMAT, "%s: %zu slices and %zu words: expected at least one of each", w,
                        c->T, c->W);
    if (c->T > (size_t)INT32_MAX || c->W > (size_t)INT32_MAX)
        return ngi_fail(NG_EFORMAT, "%s: %zu slices, %zu words: expected at most %d of each", w, c->T,
                        c->W, INT32_MAX);
    if (!c->time || !c->tokens || !c->word || !c->word_count || !c->slice_ptr)
        return ngi_fail(NG_EINVAL, "%s: an array is NULL", w);
    if (c->window < 1) return ngi_fail(NG_EFORMAT, "%s: window %d: expected >= 1", w, c->window);
    if (c->lowercase != 0 && c->lowercase != 1)
        return ngi_fail(NG_EFORMAT, "%s: lowercase %d: expected 0 or 1", w, c->lowercase);
    if (c->min_count < 0 || c->slice_years < 0)
        return ngi_fail(NG_EFORMAT, "%s: min_count %lld, slice_years %d: expected >= 0", w,
                        (long long)c->min_count, c->slice_years);
    if (!c->source || !*c->source || strpbrk(c->source, "\n\r"))
        return ngi_fail(NG_EFORMAT, "%s: source: expected a non-empty one-line name", w);
    return NG_OK;
}

static ng_status check_words(const ng_corpus *c, const char *dir)
{
    char w[4096];
    where(w, sizeof w, dir, "vocab.tsv");
    ngi_dict d;
    ng_status s = ngi_dict_init(&d, c->W);
    for (size_t k = 0; !s && k < c->W; k++) {
        const char *x = c->word[k];
        size_t n = x ? strlen(x) : 0;
        if (!n || strpbrk(x, "\t\n\r") || !ngi_utf8_valid((const unsigned char *)x, n))
            s = ngi_fail(NG_EFORMAT, "%s:%zu: word %zu: expected a non-empty UTF-8 word without tab "
                         "or line break", w, k + 1, k);
        else if (!isfinite(c->word_count[k]) || c->word_count[k] < 0)
            s = ngi_fail(NG_EFORMAT, "%s:%zu: count %g of '%s': expected a finite count >= 0", w,
                         k + 1, c->word_count[k], x);
        else if (ngi_dict_find(&d, x, n, ngi_hash_bytes(x, n)) >= 0)
            s = ngi_fail(NG_EFORMAT, "%s:%zu: '%s' appears twice: expected unique words", w, k + 1, x);
        else if (ngi_dict_add(&d, x, n, ngi_hash_bytes(x, n)) < 0)
            s = NG_ENOMEM;
    }
    ngi_dict_free(&d);
    return s;
}

static ng_status check_slices(const ng_corpus *c, const char *dir)
{
    char w[4096];
    where(w, sizeof w, dir, "slices.csv");
    for (size_t t = 0; t < c->T; t++) {
        if (!isfinite(c->time[t]))
            return ngi_fail(NG_EFORMAT, "%s:%zu: slice %zu: time %g: expected a finite time", w, t + 2,
                            t, c->time[t]);
        if (t && !(c->time[t] > c->time[t - 1]))
            return ngi_fail(NG_EFORMAT, "%s:%zu: slice %zu: time %g after %g: expected strictly "
                            "increasing times", w, t + 2, t, c->time[t], c->time[t - 1]);
        if (c->tokens[t] < 0)
            return ngi_fail(NG_EFORMAT, "%s:%zu: slice %zu: %lld tokens: expected >= 0", w, t + 2, t,
                            (long long)c->tokens[t]);
    }
    where(w, sizeof w, dir, "slice_ptr.npy");
    if (c->slice_ptr[0] != 0)
        return ngi_fail(NG_EFORMAT, "%s: element 0 is %lld: expected 0", w, (long long)c->slice_ptr[0]);
    for (size_t t = 0; t < c->T; t++)
        if (c->slice_ptr[t + 1] < c->slice_ptr[t])
            return ngi_fail(NG_EFORMAT, "%s: element %zu (%lld) < element %zu (%lld): expected a "
                            "non-decreasing array", w, t + 1, (long long)c->slice_ptr[t + 1], t,
                            (long long)c->slice_ptr[t]);
    if (c->slice_ptr[c->T] > 0 && (!c->i || !c->j || !c->n))
        return ngi_fail(NG_EINVAL, "%s: entry arrays are NULL", w);
    return NG_OK;
}

static ng_status check_entries(const ng_corpus *c, const char *dir)
{
    char w[4096];
    for (size_t t = 0; t < c->T; t++) {
        for (int64_t e = c->slice_ptr[t]; e < c->slice_ptr[t + 1]; e++) {
            int32_t i = c->i[e], j = c->j[e];
            int range = i < 0 || (size_t)i >= c->W || j < 0 || (size_t)j >= c->W;
            int order = e > c->slice_ptr[t] && (c->i[e - 1] > i || (c->i[e - 1] == i && c->j[e - 1] >= j));
            int bad_n = !isfinite(c->n[e]) || c->n[e] < 0;
            if (!range && i <= j && !order && !bad_n) continue;
            /* the message only for the offence: formatting per entry was most of a read */
            int i_bad = i < 0 || (size_t)i >= c->W;
            where(w, sizeof w, dir, range ? (i_bad ? "pairs_i.npy" : "pairs_j.npy")
                                    : i > j || order ? "pairs_i.npy" : "pairs_n.npy");
            if (range)
                return ngi_fail(NG_EFORMAT, "%s: entry %lld (slice %zu): (i, j) = (%d, %d): expected "
                                "0 <= i, j < %zu (the words)", w, (long long)e, t, i, j, c->W);
            if (i > j)
                return ngi_fail(NG_EFORMAT, "%s: entry %lld (slice %zu): i = %d > j = %d: expected "
                                "i <= j (n+ is symmetric; each pair once)", w, (long long)e, t, i, j);
            if (order)
                return ngi_fail(NG_EFORMAT, "%s: entry %lld (slice %zu): (%d, %d) after (%d, %d): "
                                "expected entries sorted by (i, j) without repeats", w, (long long)e,
                                t, i, j, c->i[e - 1], c->j[e - 1]);
            return ngi_fail(NG_EFORMAT, "%s: entry %lld (slice %zu, pair %d %d): n = %g: expected a "
                            "finite count >= 0", w, (long long)e, t, i, j, (double)c->n[e]);
        }
    }
    return NG_OK;
}

static ng_status check(const ng_corpus *c, const char *dir)
{
    ng_status s = check_meta(c, dir);
    if (!s) s = check_slices(c, dir);
    if (!s) s = check_words(c, dir);
    if (!s) s = check_entries(c, dir);
    return s;
}

ng_status ng_corpus_check(const ng_corpus *c)
{
    if (!c) return ngi_fail(NG_EINVAL, "ng_corpus_check: NULL argument");
    return check(c, NULL);
}

/* ------------------------------------------------------------------ directories */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(p) : unlink(p)) != 0 ? -1 : 0;
}

ng_status ngi_rm_rf(const char *p)
{
    struct stat st;
    if (lstat(p, &st) != 0) return NG_OK;
    if (nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return ngi_fail(NG_EIO, "%s: cannot remove: %s", p, strerror(errno));
    return NG_OK;
}

static char *strip_slashes(const char *dir)
{
    char *d = ngi_strdup(dir);
    size_t n = d ? strlen(d) : 0;
    while (n > 1 && d[n - 1] == '/') d[--n] = '\0';
    return d;
}

/* A directory we may replace: empty, or holding the marker file. */
static int replaceable(const char *d, const char *marker)
{
    DIR *dh = opendir(d);
    if (!dh) return 0;
    struct dirent *e;
    int empty = 1, marked = 0;
    while ((e = readdir(dh))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        empty = 0;
        if (!strcmp(e->d_name, marker)) marked = 1;
    }
    closedir(dh);
    return empty || marked;
}

ng_status ngi_dir_prepare_tmp(const char *dir, const char *marker, char **tmp)
{
    *tmp = NULL;
    char *d = strip_slashes(dir);
    if (!d) return NG_ENOMEM;
    struct stat st;
    ng_status s = NG_OK;
    if (!*d) s = ngi_fail(NG_EINVAL, "empty output path");
    else if (lstat(d, &st) == 0 && (!S_ISDIR(st.st_mode) || !replaceable(d, marker)))
        s = ngi_fail(NG_EIO, "%s exists and is not %s: expected a new path (or a directory "
                     "with %s to replace)", d, S_ISDIR(st.st_mode) ? "empty" : "a directory", marker);
    char *t = s ? NULL : ngi_asprintf("%s.tmp", d);
    if (!s && !t) s = NG_ENOMEM;
    if (!s) s = ngi_rm_rf(t); /* a stale one from a crashed run */
    if (!s && mkdir(t, 0777) != 0)
        s = ngi_fail(NG_EIO, "%s: cannot create: %s", t, strerror(errno));
    free(d);
    if (s) {
        free(t);
        return s;
    }
    *tmp = t;
    return NG_OK;
}

ng_status ngi_dir_commit(const char *tmp, const char *dir, const char *marker)
{
    (void)marker;
    char *d = strip_slashes(dir), *old = d ? ngi_asprintf("%s.old", d) : NULL;
    ng_status s = d && old ? NG_OK : NG_ENOMEM;
    struct stat st;
    int had = !s && lstat(d, &st) == 0;
    if (!s && had) {
        s = ngi_rm_rf(old);
        if (!s && rename(d, old) != 0)
            s = ngi_fail(NG_EIO, "%s: cannot move the previous one aside: %s", d, strerror(errno));
    }
    if (!s && rename(tmp, d) != 0) {
        s = ngi_fail(NG_EIO, "%s: cannot rename %s into place: %s", d, tmp, strerror(errno));
        if (had) rename(old, d);
    }
    if (!s && had) ngi_rm_rf(old);
    free(d);
    free(old);
    return s;
}

/* ------------------------------------------------------------------ write */

static ng_status write_text(const char *tmp, const char *name, const ng_corpus *c, int which)
{
    char *path = ngi_asprintf("%s/%s", tmp, name);
    if (!path) return NG_ENOMEM;
    ng_atomic_file af;
    ng_status s = ng_atomic_open(&af, path);
    free(path);
    if (s) return s;
    char num[64];
    int ok = 1;
    if (which == 0) {
        ok = fprintf(af.f, "%s\nslices %zu\nwords %zu\nwindow %d\nlowercase %d\nsource %s\n"
                           "min_count %" PRId64 "\nslice_years %d\n",
                     MAGIC, c->T, c->W, c->window, c->lowercase, c->source, c->min_count,
                     c->slice_years) > 0;
    } else if (which == 1) {
        for (size_t k = 0; ok && k < c->W; k++) {
            ngi_fmt_double(c->word_count[k], num, sizeof num);
            ok = fprintf(af.f, "%s\t%s\n", c->word[k], num) > 0;
        }
    } else {
        ok = fputs("slice,time,tokens,entries\n", af.f) >= 0;
        for (size_t t = 0; ok && t < c->T; t++) {
            ngi_fmt_double(c->time[t], num, sizeof num);
            ok = fprintf(af.f, "%zu,%s,%" PRId64 ",%" PRId64 "\n", t, num, c->tokens[t],
                         c->slice_ptr[t + 1] - c->slice_ptr[t]) > 0;
        }
    }
    if (!ok) {
        ng_atomic_abort(&af);
        return ngi_fail(NG_EIO, "%s/%s: write failed", tmp, name);
    }
    return ng_atomic_commit(&af);
}

static ng_status write_npy(const char *tmp, const char *name, ng_dtype dt, size_t n, const void *data)
{
    char *path = ngi_asprintf("%s/%s", tmp, name);
    if (!path) return NG_ENOMEM;
    ng_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = 1;
    t.shape[0] = n;
    t.data = (void *)data;
    ng_status s = ng_npy_write(path, &t);
    free(path);
    return s;
}

ng_status ng_corpus_write(const char *dir, const ng_corpus *c)
{
    if (!dir || !c) return ngi_fail(NG_EINVAL, "ng_corpus_write: NULL argument");
    ng_status s = check(c, NULL);
    if (s) return ngi_fail(s, "ng_corpus_write: %s", ng_last_error());
    char *tmp;
    if ((s = ngi_dir_prepare_tmp(dir, "corpus.txt", &tmp))) return s;
    size_t nnz = (size_t)c->slice_ptr[c->T];
    s = write_text(tmp, "vocab.tsv", c, 1);
    if (!s) s = write_text(tmp, "slices.csv", c, 2);
    if (!s) s = write_npy(tmp, "slice_ptr.npy", NG_I64, c->T + 1, c->slice_ptr);
    if (!s) s = write_npy(tmp, "pairs_i.npy", NG_I32, nnz, c->i);
    if (!s) s = write_npy(tmp, "pairs_j.npy", NG_I32, nnz, c->j);
    if (!s) s = write_npy(tmp, "pairs_n.npy", NG_F32, nnz, c->n);
    if (!s) s = write_text(tmp, "corpus.txt", c, 0); /* last: a complete directory has it */
    if (!s) s = ngi_dir_commit(tmp, dir, "corpus.txt");
    if (s) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", ng_last_error());
        ngi_rm_rf(tmp);
        ngi_fail(s, "%s", keep);
    }
    free(tmp);
    return s;
}

/* ------------------------------------------------------------------ read */

typedef struct {
    const char *dir;
    char *path;          /* of the file being read */
    unsigned char *buf;  /* its bytes, NUL-terminated */
    size_t len;
} text_file;

static ng_status open_text(text_file *f, const char *dir, const char *name)
{
    memset(f, 0, sizeof *f);
    f->dir = dir;
    if (!(f->path = ngi_asprintf("%s/%s", dir, name))) return NG_ENOMEM;
    unsigned char *b;
    ng_status s = ng_read_file(f->path, &b, &f->len);
    if (s) return s;
    f->buf = realloc(b, f->len + 1);
    if (!f->buf) {
        free(b);
        return ngi_fail(NG_ENOMEM, "%s: out of memory", f->path);
    }
    f->buf[f->len] = '\0';
    if (memchr(f->buf, '\0', f->len))
        return ngi_fail(NG_EFORMAT, "%s: NUL byte: expected text", f->path);
    return NG_OK;
}

static void close_text(text_file *f)
{
    free(f->path);
    free(f->buf);
}

/* Splits the buffer into lines in place (a final newline is optional). */
static size_t split_lines(text_file *f, char **lines, size_t cap)
{
    size_t n = 0;
    char *p = (char *)f->buf, *end = p + f->len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl) *nl = '\0';
        if (lines && n < cap) lines[n] = p;
        n++;
        p = nl ? nl + 1 : end;
    }
    return n;
}

static size_t count_lines(const text_file *f)
{
    size_t n = 0;
    for (size_t k = 0; k < f->len; k++) n += f->buf[k] == '\n';
    return n + (f->len && f->buf[f->len - 1] != '\n');
}

static int parse_i64_signed(const char *s, int64_t *v)
{
    int neg = *s == '-';
    return ngi_parse_i64(s + neg, strlen(s + neg), v) && ((*v = neg ? -*v : *v), 1);
}

static ng_status read_meta(const char *dir, ng_corpus *c)
{
    text_file f;
    ng_status s = open_text(&f, dir, "corpus.txt");
    if (s) {
        close_text(&f);
        return s;
    }
    static const char *const keys[] = {"slices", "words", "window", "lowercase", "source",
                                       "min_count", "slice_years"};
    int seen[7] = {0};
    char *lines[64];
    size_t n = split_lines(&f, lines, 64);
    if (n == 0 || strcmp(lines[0], MAGIC))
        s = ngi_fail(NG_EFORMAT, "%s:1: expected \"" MAGIC "\"", f.path);
    for (size_t l = 1; !s && l < n && l < 64; l++) {
        char *sp = strchr(lines[l], ' ');
        if (!*lines[l]) continue;
        int k = -1;
        for (int q = 0; sp && q < 7; q++)
            if ((size_t)(sp - lines[l]) == strlen(keys[q]) && !strncmp(lines[l], keys[q], strlen(keys[q]))) k = q;
        if (k < 0 || seen[k]) {
            s = ngi_fail(NG_EFORMAT, "%s:%zu: '%.40s': expected one of slices, words, window, "
                         "lowercase, source, min_count, slice_years, each once", f.path, l + 1, lines[l]);
            break;
        }
        seen[k] = 1;
        int64_t v = 0;
        if (k == 4) {
            if (!(c->source = ngi_strdup(sp + 1))) s = NG_ENOMEM;
            continue;
        }
        if (!parse_i64_signed(sp + 1, &v) || v < 0 || v > INT32_MAX) {
            s = ngi_fail(NG_EFORMAT, "%s:%zu: %s '%s': expected an integer 0..%d", f.path, l + 1,
                         keys[k], sp + 1, INT32_MAX);
            break;
        }
        if (k == 0) c->T = (size_t)v;
        if (k == 1) c->W = (size_t)v;
        if (k == 2) c->window = (int)v;
        if (k == 3) c->lowercase = (int)v;
        if (k == 5) c->min_count = v;
        if (k == 6) c->slice_years = (int)v;
    }
    for (int q = 0; !s && q < 7; q++)
        if (!seen[q]) s = ngi_fail(NG_EFORMAT, "%s: no '%s' line: expected every key", f.path, keys[q]);
    if (!s && n >= 64) s = ngi_fail(NG_EFORMAT, "%s: more than 63 lines: expected 8", f.path);
    close_text(&f);
    return s;
}

static ng_status read_vocab(const char *dir, ng_corpus *c)
{
    text_file f;
    ng_status s = open_text(&f, dir, "vocab.tsv");
    size_t n = s ? 0 : count_lines(&f);
    if (!s && n != c->W) /* before allocating W of anything */
        s = ngi_fail(NG_EFORMAT, "%s: %zu lines: expected %zu (words in corpus.txt)", f.path, n, c->W);
    char **lines = s ? NULL : ngi_xmalloc(n * sizeof *lines);
    if (!s && !lines) s = NG_ENOMEM;
    if (!s) {
        split_lines(&f, lines, n);
        c->word = ngi_xcalloc(n, sizeof *c->word);
        c->word_count = ngi_xmalloc(n * sizeof *c->word_count);
        if (!c->word || !c->word_count) s = NG_ENOMEM;
    }
    for (size_t k = 0; !s && k < n; k++) {
        char *tab = strchr(lines[k], '\t');
        size_t cl = tab ? strlen(tab + 1) : 0;
        if (!tab || tab == lines[k] || !ngi_parse_double(tab + 1, cl, &c->word_count[k])) {
            s = ngi_fail(NG_EFORMAT, "%s:%zu: expected word<TAB>count", f.path, k + 1);
            break;
        }
        *tab = '\0';
        if (!(c->word[k] = ngi_strdup(lines[k]))) s = NG_ENOMEM;
    }
    free(lines);
    close_text(&f);
    return s;
}

static ng_status read_slices(const char *dir, ng_corpus *c, int64_t **entries)
{
    text_file f;
    ng_status s = open_text(&f, dir, "slices.csv");
    size_t n = s ? 0 : count_lines(&f);
    if (!s && n != c->T + 1)
        s = ngi_fail(NG_EFORMAT, "%s: %zu lines: expected a header and %zu rows (slices in "
                     "corpus.txt)", f.path, n, c->T);
    char **lines = s ? NULL : ngi_xmalloc(n * sizeof *lines);
    if (!s && !lines) s = NG_ENOMEM;
    if (!s) {
        split_lines(&f, lines, n);
        c->time = ngi_xmalloc(c->T * sizeof *c->time);
        c->tokens = ngi_xmalloc(c->T * sizeof *c->tokens);
        *entries = ngi_xmalloc(c->T * sizeof **entries);
        if (!c->time || !c->tokens || !*entries) s = NG_ENOMEM;
        else if (strcmp(lines[0], "slice,time,tokens,entries"))
            s = ngi_fail(NG_EFORMAT, "%s:1: expected the header slice,time,tokens,entries", f.path);
    }
    for (size_t t = 0; !s && t < c->T; t++) {
        char *f1 = lines[t + 1], *f2 = strchr(f1, ','), *f3 = f2 ? strchr(f2 + 1, ',') : NULL,
             *f4 = f3 ? strchr(f3 + 1, ',') : NULL;
        int64_t idx, tok, ent;
        if (!f4 || (*f2 = *f3 = *f4 = '\0') || !parse_i64_signed(f1, &idx) || idx != (int64_t)t ||
            !ngi_parse_double(f2 + 1, strlen(f2 + 1), &c->time[t]) ||
            !parse_i64_signed(f3 + 1, &tok) || !parse_i64_signed(f4 + 1, &ent) || ent < 0) {
            s = ngi_fail(NG_EFORMAT, "%s:%zu: expected %zu,TIME,TOKENS,ENTRIES (numbers; entries "
                         ">= 0)", f.path, t + 2, t);
            break;
        }
        c->tokens[t] = tok;
        (*entries)[t] = ent;
    }
    free(lines);
    close_text(&f);
    return s;
}

/* One .npy of the given dtype and length. */
static ng_status read_npy(const char *dir, const char *name, ng_dtype dt, size_t n, void **data)
{
    char *path = ngi_asprintf("%s/%s", dir, name);
    if (!path) return NG_ENOMEM;
    ng_tensor t;
    ng_status s = ng_npy_read(path, &t);
    if (!s && (t.dtype != dt || t.ndim != 1 || t.shape[0] != n)) {
        s = ngi_fail(NG_EFORMAT, "%s: %s array of %d dimension(s), %zu elements: expected %s of "
                     "%zu elements", path, ng_dtype_name(t.dtype), t.ndim, t.ndim ? t.shape[0] : 1,
                     ng_dtype_name(dt), n);
        ng_tensor_free(&t);
    }
    free(path);
    if (!s) *data = t.data;
    return s;
}

ng_status ng_corpus_read(const char *dir, ng_corpus *out)
{
    if (!dir || !out) return ngi_fail(NG_EINVAL, "ng_corpus_read: NULL argument");
    ng_corpus c;
    memset(&c, 0, sizeof c);
    int64_t *entries = NULL;
    ng_status s = read_meta(dir, &c);
    if (!s) s = read_vocab(dir, &c);
    if (!s) s = read_slices(dir, &c, &entries);
    if (!s) s = read_npy(dir, "slice_ptr.npy", NG_I64, c.T + 1, (void **)&c.slice_ptr);
    for (size_t t = 0; !s && t < c.T; t++) /* checked in this order, the difference cannot overflow */
        if (c.slice_ptr[t] < 0 || c.slice_ptr[t + 1] < c.slice_ptr[t])
            s = ngi_fail(NG_EFORMAT, "%s/slice_ptr.npy: element %zu (%lld) < element %zu (%lld) or "
                         "negative: expected a non-decreasing array from 0", dir, t + 1,
                         (long long)c.slice_ptr[t + 1], t, (long long)c.slice_ptr[t]);
        else if (c.slice_ptr[t + 1] - c.slice_ptr[t] != entries[t])
            s = ngi_fail(NG_EFORMAT, "%s/slice_ptr.npy: slice %zu has %lld entries, slices.csv says "
                         "%lld: expected the same", dir, t,
                         (long long)(c.slice_ptr[t + 1] - c.slice_ptr[t]), (long long)entries[t]);
    if (!s && c.slice_ptr[0] != 0)
        s = ngi_fail(NG_EFORMAT, "%s/slice_ptr.npy: element 0 is %lld: expected 0", dir,
                     (long long)c.slice_ptr[0]);
    size_t nnz = s ? 0 : (size_t)c.slice_ptr[c.T];
    if (!s) s = read_npy(dir, "pairs_i.npy", NG_I32, nnz, (void **)&c.i);
    if (!s) s = read_npy(dir, "pairs_j.npy", NG_I32, nnz, (void **)&c.j);
    if (!s) s = read_npy(dir, "pairs_n.npy", NG_F32, nnz, (void **)&c.n);
    if (!s) s = check(&c, dir);
    free(entries);
    if (s) {
        ng_corpus_free(&c);
        return s;
    }
    *out = c;
    return NG_OK;
}
