/* csv_read.h - reading back the CSV logs natgrad writes (ng_csv): a header line of column
 * names, then rows of comma-separated fields; an empty field is an unknown value. Shared
 * by the subcommands that read logs ('plot', 'demo'). Errors are printed to stderr as
 * "natgrad CMD: FILE:LINE: what was expected", like every CLI message. */
#ifndef NG_CSV_READ_H
#define NG_CSV_READ_H

#include <stddef.h>

/* Splits s at commas in place (with fields == NULL it only counts) and stores the starts
 * of the first max fields; returns the number of fields. */
size_t ng_csv_split(char *s, char **fields, size_t max);
/* s without leading and trailing blanks (spaces, tabs, a CR); trims in place. */
char *ng_csv_trim(char *s);

typedef struct {
    const char *path;  /* as given to ng_csv_table_read, for messages */
    size_t ncols, nrows;
    char **names;      /* ncols column names, blanks trimmed */
    char **cells;      /* nrows x ncols fields, row-major, blanks trimmed */
    size_t *line;      /* nrows: the file line of each row, for messages */
    char *text;        /* the file's text, which names and cells point into */
} ng_csv_table;

/* Reads the whole log at path into t. Blank lines are skipped; every row must have as many
 * fields as the header, except a last line without a newline (a run still writing, or
 * killed), which is dropped when it is short. Returns 1, or 0 with a message printed and
 * t empty. */
int ng_csv_table_read(const char *cmd, const char *path, ng_csv_table *t);
void ng_csv_table_free(ng_csv_table *t);

/* Index of the column called name, or -1. */
long ng_csv_table_find(const ng_csv_table *t, const char *name);
/* Same, but when there is none prints "natgrad CMD: FILE: no column 'NAME' (WHAT);
 * available: a,b,c" (WHAT, e.g. the option that named it, may be NULL). */
long ng_csv_table_need(const char *cmd, const ng_csv_table *t, const char *name,
                       const char *what);

/* The number in row r, column c: an empty field is NaN (unknown), anything else must be a
 * whole finite number ("nan", "inf" and overflowing numbers are refused: natgrad logs
 * those as empty fields). Returns 1, or 0 with a message naming file, line and column. */
int ng_csv_table_number(const char *cmd, const ng_csv_table *t, size_t r, size_t c, double *v);

/* Reads the log at path and returns its columns names[0..n) as numbers (as
 * ng_csv_table_number): cols[k] is a malloc'ed array of *nrows values. Returns 1, or 0
 * with a message printed, nothing allocated (cols[k] NULL) and *nrows 0. */
int ng_csv_read_columns(const char *cmd, const char *path, const char *const *names, size_t n,
                        double **cols, size_t *nrows);

#endif
