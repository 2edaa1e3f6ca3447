/* csvlog.c - CSV metric logs: one header line, one flushed row per call.
 *
 * Values are written with %.10g. A non-finite value (NaN = "unknown", e.g. a gap that was
 * not measured this step; +-Inf) is written as an EMPTY field, never as "nan"/"inf", so
 * that every non-empty field parses as a finite number. Inf is also logged as a warning.
 * Append (resume): an existing file with the identical header gets rows appended; a torn
 * last row (no trailing newline, from a killed run) is cut off first, and ng_csv_resume
 * also cuts the rows after the step a run resumes from. Cuts keep a prefix of the file, so
 * they are one truncate(2): a crash leaves the file either whole or cut. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ng_csv {
    FILE *f;
    char *path;
    char **cols;
    size_t ncols;
    char *line; /* row buffer, sized for ncols values */
    size_t line_cap;
};

/* Column names go into the header verbatim: no separators, quotes or line breaks. */
static ng_status check_col(const char *path, const char *col, size_t i)
{
    if (!col || !*col) return ngi_fail(NG_EINVAL, "%s: column %zu has an empty name", path, i);
    if (strpbrk(col, ",\"\r\n"))
        return ngi_fail(NG_EINVAL, "%s: column name '%s' must not contain ',', '\"' or a line break",
                       path, col);
    return NG_OK;
}

static char *join_header(const char *const *cols, size_t ncols)
{
    size_t n = 1;
    for (size_t i = 0; i < ncols; i++) n += strlen(cols[i]) + 1;
    char *h = ngi_xmalloc(n);
    if (!h) return NULL;
    char *p = h;
    for (size_t i = 0; i < ncols; i++) {
        size_t k = strlen(cols[i]);
        if (i) *p++ = ',';
        memcpy(p, cols[i], k);
        p += k;
    }
    *p = '\0';
    return h;
}

static void csv_free(ng_csv *c)
{
    if (!c) return;
    if (c->f) fclose(c->f);
    if (c->cols)
        for (size_t i = 0; i < c->ncols; i++) free(c->cols[i]);
    free(c->cols);
    free(c->path);
    free(c->line);
    free(c);
}

/* Reads the whole existing file (logs are small) to compare the header and find a torn
 * last row. Returns NG_OK with *exists = 0 when the file does not exist. */
static ng_status read_existing(const char *path, char **buf, size_t *len, int *exists)
{
    *buf = NULL;
    *len = 0;
    *exists = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return NG_OK;
        return ngi_fail(NG_EIO, "%s: cannot open for appending: %s", path, strerror(errno));
    }
    *exists = 1;
    size_t cap = 4096, n = 0;
    char *b = ngi_xmalloc(cap + 1);
    if (!b) {
        fclose(f);
        return NG_ENOMEM;
    }
    for (;;) {
        if (n == cap) {
            char *nb = realloc(b, 2 * cap + 1);
            if (!nb) {
                free(b);
                fclose(f);
                return ngi_fail(NG_ENOMEM, "%s: out of memory reading the log", path);
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return ngi_fail(NG_EIO, "%s: read error", path);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return NG_OK;
}

/* How many bytes of an existing log to keep, its header matching: everything up to the
 * last newline (a torn row goes), and with cut, only the leading rows whose first field is
 * below step (or equal to it, with keep_step). *keep 0: the header itself goes too (torn). */
static ng_status bytes_to_keep(const char *path, char *buf, size_t len, const char *header, int cut,
                               double step, int keep_step, size_t *keep)
{
    size_t hl = strcspn(buf, "\r\n");
    char save = buf[hl];
    buf[hl] = '\0';
    if (strcmp(buf, header) != 0)
        return ngi_fail(NG_EMISMATCH, "%s:1: cannot append: the log's header is '%s', expected '%s'",
                        path, buf, header);
    buf[hl] = save;
    size_t end = len; /* up to the last newline */
    while (end > 0 && buf[end - 1] != '\n') end--;
    *keep = end;
    if (!cut || end == 0) return NG_OK;
    size_t pos = (size_t)(strchr(buf, '\n') - buf) + 1, lineno = 2;
    for (; pos < end; lineno++) {
        char *nl = strchr(buf + pos, '\n'), *e;
        double v = strtod(buf + pos, &e);
        if (e == buf + pos || (*e != ',' && *e != '\r' && *e != '\n') || !isfinite(v))
            return ngi_fail(NG_EFORMAT, "%s:%zu: expected a step number in the first field", path, lineno);
        if (v > step || (v == step && !keep_step)) break;
        pos = (size_t)(nl - buf) + 1;
    }
    *keep = pos;
    return NG_OK;
}

static ng_status csv_open(const char *path, const char *const *cols, size_t ncols, int append,
                          int cut, double step, int keep_step, ng_csv **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_csv_open: out is NULL");
    *out = NULL;
    if (!path || !*path) return ngi_fail(NG_EINVAL, "ng_csv_open: empty path");
    if (!cols || ncols == 0) return ngi_fail(NG_EINVAL, "%s: a CSV log needs at least one column", path);
    for (size_t i = 0; i < ncols; i++) {
        ng_status s = check_col(path, cols[i], i);
        if (s) return s;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cols[i], cols[j]))
                return ngi_fail(NG_EINVAL, "%s: column '%s' appears twice", path, cols[i]);
    }

    ng_csv *c = ngi_xcalloc(1, sizeof *c);
    if (!c) return NG_ENOMEM;
    c->ncols = ncols;
    c->path = ngi_strdup(path);
    c->cols = ngi_xcalloc(ncols, sizeof *c->cols);
    /* %.10g of a double is at most 17 characters ("-1.234567891e-308"); 32 is ample. */
    c->line_cap = ncols * 32 + 2;
    c->line = ngi_xmalloc(c->line_cap);
    char *header = join_header(cols, ncols);
    if (!c->path || !c->cols || !c->line || !header) {
        free(header);
        csv_free(c);
        return NG_ENOMEM;
    }
    for (size_t i = 0; i < ncols; i++) {
        c->cols[i] = ngi_strdup(cols[i]);
        if (!c->cols[i]) {
            free(header);
            csv_free(c);
            return NG_ENOMEM;
        }
    }

    ng_status s = NG_OK;
    int write_header = 1;
    if (append) {
        char *buf;
        size_t len, keep = 0;
        int exists;
        s = read_existing(path, &buf, &len, &exists);
        if (s) goto fail;
        if (exists && memchr(buf, '\0', len)) { /* the header compare would stop there */
            s = ngi_fail(NG_EFORMAT, "%s: NUL byte: cannot append to what is not a CSV log", path);
            free(buf);
            goto fail;
        }
        if (exists && len > 0) {
            s = bytes_to_keep(path, buf, len, header, cut, step, keep_step, &keep);
            free(buf);
            if (s) goto fail;
            write_header = keep == 0; /* a header without its newline is rewritten */
            if (keep < len && truncate(path, (off_t)keep) != 0) {
                s = ngi_fail(NG_EIO, "%s: cannot cut the log back: %s", path, strerror(errno));
                goto fail;
            }
        } else {
            free(buf); /* an empty log, or none */
        }
        c->f = fopen(path, "ab");
    } else {
        c->f = fopen(path, "wb");
    }
    if (!c->f) {
        s = ngi_fail(NG_EIO, "%s: cannot open the CSV log for writing: %s", path, strerror(errno));
        goto fail;
    }
    if (write_header) {
        if (fputs(header, c->f) == EOF || fputc('\n', c->f) == EOF || fflush(c->f) != 0) {
            s = ngi_fail(NG_EIO, "%s: cannot write the CSV header: %s", path, strerror(errno));
            goto fail;
        }
    }
    free(header);
    *out = c;
    return NG_OK;
fail:
    free(header);
    csv_free(c);
    return s;
}

ng_status ng_csv_open(const char *path, const char *const *cols, size_t ncols, int append,
                      ng_csv **out)
{
    return csv_open(path, cols, ncols, append, 0, 0.0, 0, out);
}

ng_status ng_csv_resume(const char *path, const char *const *cols, size_t ncols, double step,
                        int keep_step, ng_csv **out)
{
    if (isnan(step)) return ngi_fail(NG_EINVAL, "%s: ng_csv_resume: the step is NaN", path ? path : "(null)");
    return csv_open(path, cols, ncols, 1, 1, step, keep_step, out);
}

ng_status ng_csv_row(ng_csv *c, const double *vals)
{
    if (!c) return ngi_fail(NG_EINVAL, "ng_csv_row: log is NULL");
    if (!vals) return ngi_fail(NG_EINVAL, "%s: ng_csv_row: values are NULL", c->path);
    char *p = c->line;
    size_t left = c->line_cap;
    for (size_t i = 0; i < c->ncols; i++) {
        if (i) {
            *p++ = ',';
            left--;
        }
        double v = vals[i];
        if (!isfinite(v)) {
            if (isinf(v))
                ngi_log(1, "%s: column '%s' is %s; written as an empty field", c->path, c->cols[i],
                       v > 0 ? "+inf" : "-inf");
            continue; /* empty field: unknown / not finite */
        }
        int k = snprintf(p, left, "%.10g", v);
        if (k < 0 || (size_t)k >= left) /* cannot happen with 32 bytes per value */
            return ngi_fail(NG_EINVAL, "%s: value of column '%s' does not fit", c->path, c->cols[i]);
        p += k;
        left -= (size_t)k;
    }
    *p++ = '\n';
    *p = '\0';
    /* One write per row, flushed, so a killed run leaves whole rows (a torn one is cut on
     * resume). */
    if (fputs(c->line, c->f) == EOF || fflush(c->f) != 0)
        return ngi_fail(NG_EIO, "%s: cannot write a CSV row: %s", c->path, strerror(errno));
    return NG_OK;
}

void ng_csv_close(ng_csv *c) { csv_free(c); }
