/* gnuplot.h - running gnuplot for the commands that draw figures ('natgrad plot',
 * 'natgrad dwe overlap/query', 'natgrad race'): finding it on PATH, quoting strings for
 * its scripts, running a script and reading back its error. */
#ifndef NG_GNUPLOT_H
#define NG_GNUPLOT_H

#include <stdio.h>

#define NG_GNUPLOT_HINT "gnuplot not found: install it with: apt-get install gnuplot-nox"

/* The gnuplot program on PATH (a regular, executable file), malloc'ed; NULL when there is
 * none, or PATH is unset or empty. An empty PATH entry is the current directory. */
char *ng_gnuplot_find(void);
/* s as a gnuplot single-quoted string: a quote is doubled, control characters become
 * blanks. */
void ng_gnuplot_quote(FILE *f, const char *s);
/* Runs gnuplot on script with stdin from /dev/null; stdout and stderr into log
 * (truncated), or with log NULL stdout to /dev/null and stderr left alone. Returns the
 * exit status, 128 + signal, or -1 with the message printed as "natgrad CMD: ...". */
int ng_gnuplot_run(const char *cmd, const char *gnuplot, const char *script, const char *log);
/* The last non-empty line of the file at path (gnuplot's error), trailing blanks removed,
 * malloc'ed; "(no output)" when the file cannot be read; NULL when out of memory. */
char *ng_gnuplot_last_line(const char *path);

#endif
