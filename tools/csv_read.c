/* csv_read.c - reading back natgrad's CSV logs (see csv_read.h). The whole file is read
 * and split in place; the fields stay text until a caller asks for a number, so a text
 * column (a method name) can sit beside the numeric ones. */
#include "csv_read.h"
#include "natgrad.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ng_csv_split(char *s, char **fields, size_t max)
{
    size_t n = 0;
    for (;;) {
        char *c = strchr(s, ',');
        if (fields && n < max) fields[n] = s;
        n++;
        if (!c) break;
        if (fields) *c = '\0';
        s = c + 1;
    }
    return n;
}

char *ng_csv_trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t k = strlen(s);
    while (k && (s[k - 1] == ' ' || s[k - 1] == '\t' || s[k - 1] == '\r')) s[--k] = '\0';
    return s;
}

/* The next line of *cur, cut off at its newline; *torn is set when it has none. */
static char *next_line(char **cur, int *torn)
{
    char *line = *cur, *nl = strchr(line, '\n');
    *torn = nl == NULL;
    if (nl) *nl = '\0';
    *cur = nl ? nl + 1 : line + strlen(line);
    return line;
}

static int out_of_memory(const char *cmd, const char *path)
{
    fprintf(stderr, "natgrad %s: %s: out of memory\n", cmd, path);
    return 0;
}

int ng_csv_table_read(const char *cmd, const char *path, ng_csv_table *t)
{
    memset(t, 0, sizeof *t);
    t->path = path;
    unsigned char *buf = NULL;
    size_t len = 0;
    if (ng_read_file(path, &buf, &len) != NG_OK) {
        fprintf(stderr, "natgrad %s: %s\n", cmd, ng_last_error());
        return 0;
    }
    t->text = realloc(buf, len + 1);
    if (!t->text) {
        free(buf);
        return out_of_memory(cmd, path);
    }
    t->text[len] = '\0';
    if (memchr(t->text, '\0', len)) { /* the string functions below would stop there */
        size_t at = 1;
        for (const char *q = t->text; *q; q++) at += *q == '\n';
        fprintf(stderr, "natgrad %s: %s:%zu: NUL byte: expected CSV text\n", cmd, path, at);
        ng_csv_table_free(t);
        return 0;
    }

    int torn;
    char *cur = t->text, *header = ng_csv_trim(next_line(&cur, &torn));
    if (!*header) {
        fprintf(stderr, "natgrad %s: %s:1: expected a header line of column names\n", cmd, path);
        ng_csv_table_free(t);
        return 0;
    }
    t->ncols = ng_csv_split(header, NULL, 0);
    size_t maxrows = 1; /* each remaining newline ends at most one row */
    for (const char *p = cur; (p = strchr(p, '\n')) != NULL; p++) maxrows++;
    /* ... and a row of ncols fields takes at least ncols - 1 commas and its newline: so
     * the table stays a small multiple of the file, whatever the header claims */
    size_t rest = len - (size_t)(cur - t->text), by_size = rest / (t->ncols > 1 ? t->ncols : 2) + 1;
    if (by_size < maxrows) maxrows = by_size;
    t->names = calloc(t->ncols, sizeof *t->names);
    t->cells = calloc(maxrows * t->ncols + 1, sizeof *t->cells); /* +1: a row one too long */
    t->line = calloc(maxrows, sizeof *t->line);
    if (!t->names || !t->cells || !t->line) {
        ng_csv_table_free(t);
        return out_of_memory(cmd, path);
    }
    ng_csv_split(header, t->names, t->ncols);
    for (size_t i = 0; i < t->ncols; i++) t->names[i] = ng_csv_trim(t->names[i]);

    for (size_t lineno = 2; *cur; lineno++) {
        char *line = ng_csv_trim(next_line(&cur, &torn));
        if (!*line) continue;
        char **row = t->cells + t->nrows * t->ncols;
        size_t nf = ng_csv_split(line, row, t->ncols + 1);
        if (nf != t->ncols) {
            if (torn) break;
            fprintf(stderr, "natgrad %s: %s:%zu: expected %zu fields as in the header, got %zu\n",
                    cmd, path, lineno, t->ncols, nf);
            ng_csv_table_free(t);
            return 0;
        }
        for (size_t i = 0; i < t->ncols; i++) row[i] = ng_csv_trim(row[i]);
        t->line[t->nrows++] = lineno;
    }
    return 1;
}

void ng_csv_table_free(ng_csv_table *t)
{
    free(t->names);
    free(t->cells);
    free(t->line);
    free(t->text);
    memset(t, 0, sizeof *t);
}

long ng_csv_table_find(const ng_csv_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (!strcmp(t->names[i], name)) return (long)i;
    return -1;
}

long ng_csv_table_need(const char *cmd, const ng_csv_table *t, const char *name,
                       const char *what)
{
    long c = ng_csv_table_find(t, name);
    if (c >= 0) return c;
    fprintf(stderr, "natgrad %s: %s: no column '%s'%s%s%s; available:", cmd, t->path, name,
            what ? " (" : "", what ? what : "", what ? ")" : "");
    for (size_t i = 0; i < t->ncols; i++) fprintf(stderr, "%s%s", i ? "," : " ", t->names[i]);
    fputc('\n', stderr);
    return -1;
}

int ng_csv_table_number(const char *cmd, const ng_csv_table *t, size_t r, size_t c, double *v)
{
    const char *s = t->cells[r * t->ncols + c];
    if (!*s) {
        *v = NAN;
        return 1;
    }
    char *end;
    double d = strtod(s, &end);
    if (end == s || *end || !isfinite(d)) { /* "nan", "inf", 1e999: never a logged value */
        fprintf(stderr, "natgrad %s: %s:%zu: column '%s': expected a %snumber, got '%s'\n", cmd,
                t->path, t->line[r], t->names[c], end == s || *end ? "" : "finite ", s);
        return 0;
    }
    *v = d;
    return 1;
}

int ng_csv_read_columns(const char *cmd, const char *path, const char *const *names, size_t n,
                        double **cols, size_t *nrows)
{
    for (size_t k = 0; k < n; k++) cols[k] = NULL;
    *nrows = 0;
    ng_csv_table t;
    if (!ng_csv_table_read(cmd, path, &t)) return 0;
    size_t k;
    int ok = 1;
    for (k = 0; k < n && ok; k++) {
        long c = ng_csv_table_need(cmd, &t, names[k], NULL);
        cols[k] = c < 0 ? NULL : malloc((t.nrows ? t.nrows : 1) * sizeof **cols);
        ok = cols[k] != NULL;
        if (c >= 0 && !ok) out_of_memory(cmd, path);
        for (size_t r = 0; r < t.nrows && ok; r++)
            ok = ng_csv_table_number(cmd, &t, r, (size_t)c, &cols[k][r]);
    }
    if (ok) *nrows = t.nrows;
    else /* k is one past the column that failed (NULL or filled in part) */
        while (k-- > 0) {
            free(cols[k]);
            cols[k] = NULL;
        }
    ng_csv_table_free(&t);
    return ok;
}
