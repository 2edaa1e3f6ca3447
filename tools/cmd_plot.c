/* cmd_plot.c - 'natgrad plot': curves from CSV logs through gnuplot.
 *
 *   natgrad plot LOG.csv [LOG2.csv ...] --x COL --y COL[,COL...] [--by COL] --out FIG.png|svg
 *
 * The logs are the ones ng_csv writes (header line, comma-separated numbers, an empty field
 * for an unknown value). Each (file, --by value, y column) becomes one curve; the data and
 * a gnuplot script go to a private temp directory, gnuplot draws into a temp name beside
 * FIG, which is renamed into place only when gnuplot succeeded. */
#include "cli.h"
#include "commands.h"
#include "csv_read.h"
#include "gnuplot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD "plot"
#define MAX_BY_VALUES 64

typedef struct {
    const char *x;
    const char *ycols_arg;
    const char *by;
    const char *out;
    const char *title;
    int logx, logy;
    long width, height;
} plot_opts;

typedef struct {
    char *label;
    size_t n, cap;
    double *x, *y;
    /* identity */
    size_t file, by, ycol;
} curve;

typedef struct {
    curve *c;
    size_t n, cap;
} curve_set;

/* ------------------------------------------------------------------ reading the logs */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int curve_add(curve *c, double x, double y)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 256;
        double *nx = realloc(c->x, nc * sizeof *nx);
        if (!nx) return 0;
        c->x = nx;
        double *ny = realloc(c->y, nc * sizeof *ny);
        if (!ny) return 0;
        c->y = ny;
        c->cap = nc;
    }
    c->x[c->n] = x;
    c->y[c->n] = y;
    c->n++;
    return 1;
}

static curve *curve_get(curve_set *cs, size_t file, size_t by, size_t ycol)
{
    for (size_t i = cs->n; i-- > 0;)
        if (cs->c[i].file == file && cs->c[i].by == by && cs->c[i].ycol == ycol) return &cs->c[i];
    if (cs->n == cs->cap) {
        size_t nc = cs->cap ? 2 * cs->cap : 16;
        curve *n = realloc(cs->c, nc * sizeof *n);
        if (!n) return NULL;
        cs->c = n;
        cs->cap = nc;
    }
    curve *c = &cs->c[cs->n++];
    memset(c, 0, sizeof *c);
    c->file = file;
    c->by = by;
    c->ycol = ycol;
    return c;
}

/* The label of a curve: file name (several logs), COL=value (--by), y column (several, or
 * alone). NULL when out of memory. */
static char *curve_label(const char *path, size_t nfiles, const plot_opts *o, const char *by_val,
                         const char *ycol, size_t ny)
{
    const char *fpart = nfiles > 1 ? base_name(path) : "";
    char *bpart = by_val ? ng_cli_asprintf("%s=%s", o->by, by_val) : strdup("");
    const char *ypart = (ny > 1 || (nfiles == 1 && !by_val)) ? ycol : "";
    if (!bpart) return NULL;
    char *label = ng_cli_asprintf("%s%s%s%s%s", fpart, *fpart && *bpart ? " " : "", bpart,
                              (*fpart || *bpart) && *ypart ? " " : "", ypart);
    free(bpart);
    return label;
}

/* Reads one log and appends its curves. Returns 0 ok, 1 failure (message printed). */
static int read_log(const char *path, size_t file_idx, size_t nfiles, const plot_opts *o,
                    char **ycols, size_t ny, curve_set *cs)
{
    ng_csv_table t;
    if (!ng_csv_table_read(CMD, path, &t)) return 1;
    int rc = 1;
    const char *by_vals[MAX_BY_VALUES];
    size_t nby = 0;
    long *iy = calloc(ny, sizeof *iy);
    if (!iy) {
        fprintf(stderr, "natgrad plot: %s: out of memory\n", path);
        goto done;
    }
    long ix = ng_csv_table_need(CMD, &t, o->x, "--x");
    if (ix < 0) goto done;
    for (size_t k = 0; k < ny; k++)
        if ((iy[k] = ng_csv_table_need(CMD, &t, ycols[k], "--y")) < 0) goto done;
    long iby = o->by ? ng_csv_table_need(CMD, &t, o->by, "--by") : -1;
    if (o->by && iby < 0) goto done;

    for (size_t r = 0; r < t.nrows; r++) {
        double x;
        if (!ng_csv_table_number(CMD, &t, r, (size_t)ix, &x)) goto done;
        size_t byi = 0;
        if (iby >= 0) {
            const char *bv = t.cells[r * t.ncols + (size_t)iby];
            while (byi < nby && strcmp(by_vals[byi], bv)) byi++;
            if (byi == nby) {
                if (nby == MAX_BY_VALUES) {
                    fprintf(stderr,
                            "natgrad plot: %s:%zu: --by %s has more than %d distinct values\n",
                            path, t.line[r], o->by, MAX_BY_VALUES);
                    goto done;
                }
                by_vals[nby++] = bv; /* points into t, which lives until done */
            }
        }
        for (size_t k = 0; k < ny; k++) {
            double y;
            if (!ng_csv_table_number(CMD, &t, r, (size_t)iy[k], &y)) goto done;
            curve *c = curve_get(cs, file_idx, byi, k);
            if (!c) {
                fprintf(stderr, "natgrad plot: out of memory\n");
                goto done;
            }
            if (!c->label) {
                c->label = curve_label(path, nfiles, o, iby >= 0 ? by_vals[byi] : NULL, ycols[k], ny);
                if (!c->label) goto done;
            }
            if (!isfinite(x) || !isfinite(y)) continue;
            if ((o->logy && y <= 0) || (o->logx && x <= 0)) continue;
            if (!curve_add(c, x, y)) {
                fprintf(stderr, "natgrad plot: out of memory\n");
                goto done;
            }
        }
    }
    rc = 0;
done:
    free(iy);
    ng_csv_table_free(&t);
    return rc;
}

/* ------------------------------------------------------------------ gnuplot */

static int ends_with_ci(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a > b && !strcasecmp(s + a - b, suf);
}

static int write_script(FILE *f, const plot_opts *o, int svg, const char *tmp_out,
                        const curve_set *cs, char **datpaths, char **ycols, size_t ny)
{
    if (svg) {
        fprintf(f, "set terminal svg size %ld,%ld dynamic noenhanced background rgb 'white'\n",
                o->width, o->height);
    } else {
        fprintf(f,
                "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                "  set terminal pngcairo size %ld,%ld noenhanced\n"
                "} else {\n"
                "  set terminal png size %ld,%ld noenhanced\n"
                "}\n",
                o->width, o->height, o->width, o->height);
    }
    fputs("set output ", f);
    ng_gnuplot_quote(f, tmp_out);
    fputc('\n', f);
    if (o->title) {
        fputs("set title ", f);
        ng_gnuplot_quote(f, o->title);
        fputc('\n', f);
    }
    fputs("set xlabel ", f);
    ng_gnuplot_quote(f, o->x);
    fputs("\nset ylabel ", f);
    {
        /* y columns joined with ", " */
        size_t n = 1;
        for (size_t k = 0; k < ny; k++) n += strlen(ycols[k]) + 2;
        char *yl = malloc(n);
        if (!yl) return 0;
        yl[0] = '\0';
        for (size_t k = 0; k < ny; k++) {
            if (k) strcat(yl, ", ");
            strcat(yl, ycols[k]);
        }
        ng_gnuplot_quote(f, yl);
        free(yl);
    }
    fputc('\n', f);
    if (o->logy) fputs("set logscale y\n", f);
    if (o->logx) fputs("set logscale x\n", f);
    fputs("set grid\nset key outside right top\nplot ", f);
    int first = 1;
    for (size_t i = 0; i < cs->n; i++) {
        const curve *c = &cs->c[i];
        if (!c->n) continue;
        if (!first) fputs(", \\\n     ", f);
        first = 0;
        ng_gnuplot_quote(f, datpaths[i]);
        fprintf(f, " using 1:2 with %s lw 1.5 title ", c->n > 1 ? "lines" : "points");
        ng_gnuplot_quote(f, c->label && *c->label ? c->label : "data");
    }
    fputc('\n', f);
    return 1;
}

/* ------------------------------------------------------------------ the command */

/* Returns -1 to go on, else an exit code; *files, *nfiles: the logs (argv entries). */
static int parse(plot_opts *o, int argc, char **argv, const char **files, int *nfiles)
{
    *o = (plot_opts){"step", NULL, NULL, NULL, NULL, 0, 0, 900, 560};
    const ng_cli_opt opts[] = {
        {.name = "x", .type = NG_CLI_STR, .dst = &o->x, .meta = "COL", .help = "column for the horizontal axis"},
        {.name = "y", .type = NG_CLI_STR, .dst = &o->ycols_arg, .meta = "COL[,COL]", .flags = NG_CLI_REQUIRED,
         .help = "column(s) for the vertical axis (required)"},
        {.name = "by", .type = NG_CLI_STR, .dst = &o->by, .meta = "COL",
         .help = "one curve per distinct value of COL, e.g. method or seed"},
        {.name = "out", .type = NG_CLI_STR, .dst = &o->out, .meta = "FILE", .flags = NG_CLI_REQUIRED,
         .help = "output figure; the extension picks the format: .png or .svg\n(required)"},
        {.name = "logy", .type = NG_CLI_FLAG, .dst = &o->logy, .help = "logarithmic y axis; values <= 0 are skipped"},
        {.name = "logx", .type = NG_CLI_FLAG, .dst = &o->logx, .help = "logarithmic x axis; values <= 0 are skipped"},
        {.name = "title", .type = NG_CLI_STR, .dst = &o->title, .meta = "TEXT", .help = "figure title"},
        {.name = "width", .type = NG_CLI_LONG, .dst = &o->width, .lo = 100, .hi = 10000, .meta = "N",
         .help = "width in pixels"},
        {.name = "height", .type = NG_CLI_LONG, .dst = &o->height, .lo = 100, .hi = 10000, .meta = "N",
         .help = "height in pixels"},
        NG_CLI_END};
    const ng_cli_opt *tables[] = {opts};
    const ng_cli_spec spec = {
        .name = CMD, .synopsis = "LOG.csv [LOG.csv ...] --y COL[,COL...] --out FIG.png|FIG.svg [options]",
        .tables = tables, .n_tables = 1, .positional = argc,
        .intro = "Draws curves from CSV logs (as written by natgrad's training commands) through gnuplot.\n"
                 "One curve per y column, per distinct value of the --by column and per log file\n"
                 "(labelled by file name), e.g. K-FAC beside SGD from two runs' logs.\n"
                 "Empty fields (unknown values) are skipped.\n",
        .outro = "Examples:\n"
                 "  natgrad plot runs/ae.csv --x step --y train_error --by method --logy --out ae.png\n"
                 "  natgrad plot sgd.csv kfac.csv --x seconds --y train_error,test_error --out race.svg\n\n"
                 "Needs gnuplot (apt-get install gnuplot-nox). Exit status: 0 ok, 1 failure, 2 usage error.\n"};
    int rc = ng_cli_parse(&spec, argc, argv, files, nfiles);
    if (rc >= 0) return rc;
    if (*nfiles < 1) return ng_cli_usage_error(CMD, "no LOG.csv given");
    if (!*o->ycols_arg) return ng_cli_usage_error(CMD, "--y COL[,COL...] needs a column name");
    if (!*o->out) return ng_cli_usage_error(CMD, "--out FIG.png|FIG.svg needs a file name");
    if (!*o->x) return ng_cli_usage_error(CMD, "--x needs a column name");
    if (o->by && !*o->by) return ng_cli_usage_error(CMD, "--by needs a column name");
    if (!ends_with_ci(o->out, ".svg") && !ends_with_ci(o->out, ".png"))
        return ng_cli_usage_error(CMD, "--out '%s': the file name must end in .png or .svg", o->out);
    char extra[32];
    snprintf(extra, sizeof extra, "files %d", *nfiles);
    ng_cli_banner_spec(&spec, extra);
    return -1;
}

/* The --y list split at commas in place in *ybuf (malloc'ed): the names, malloc'ed. NULL
 * with the message printed and *rc set on an empty name or out of memory. */
static char **split_ycols(const plot_opts *o, char **ybuf, size_t *ny, int *rc)
{
    *rc = NG_EXIT_FAIL;
    *ybuf = strdup(o->ycols_arg);
    size_t n = *ybuf ? ng_csv_split(*ybuf, NULL, 0) : 0;
    char **ycols = *ybuf ? calloc(n, sizeof *ycols) : NULL;
    if (!ycols) {
        fprintf(stderr, "natgrad plot: out of memory\n");
        return NULL;
    }
    *ny = ng_csv_split(*ybuf, ycols, n);
    for (size_t k = 0; k < *ny; k++) {
        ycols[k] = ng_csv_trim(ycols[k]);
        if (!*ycols[k]) {
            free(ycols);
            *rc = ng_cli_usage_error(CMD, "--y '%s': empty column name", o->ycols_arg);
            return NULL;
        }
    }
    return ycols;
}

/* The data files, the script and gnuplot's log in a private temp directory. */
typedef struct {
    char *dir, *script, *log, *tmp_out;
    char **dat; /* one per curve, NULL for an empty one */
    size_t n;
} plot_files;

static void plot_files_free(plot_files *pf)
{
    for (size_t i = 0; i < pf->n; i++) {
        if (pf->dir && pf->dat[i]) ng_cli_unlink_quiet(pf->dat[i]);
        free(pf->dat[i]);
    }
    if (pf->dir) {
        ng_cli_unlink_quiet(pf->script);
        ng_cli_unlink_quiet(pf->log);
        rmdir(pf->dir);
    }
    free(pf->dat);
    free(pf->dir);
    free(pf->script);
    free(pf->log);
    free(pf->tmp_out);
}

/* Writes each curve's points to its data file. Returns 0, or 1 with the message printed. */
static int write_data(const curve_set *cs, plot_files *pf)
{
    const char *td = getenv("TMPDIR");
    pf->n = cs->n;
    pf->dat = calloc(cs->n ? cs->n : 1, sizeof *pf->dat);
    pf->dir = ng_cli_asprintf("%s/natgrad-plot-XXXXXX", td && *td ? td : "/tmp");
    if (!pf->dat || !pf->dir) goto oom;
    if (!mkdtemp(pf->dir)) {
        fprintf(stderr, "natgrad plot: cannot create a temp directory: %s\n", strerror(errno));
        free(pf->dir);
        pf->dir = NULL;
        return 1;
    }
    for (size_t i = 0; i < cs->n; i++) {
        if (!cs->c[i].n) continue;
        if (!(pf->dat[i] = ng_cli_asprintf("%s/curve%zu.dat", pf->dir, i))) goto oom;
        FILE *f = fopen(pf->dat[i], "w");
        if (!f) {
            fprintf(stderr, "natgrad plot: %s: cannot create: %s\n", pf->dat[i], strerror(errno));
            return 1;
        }
        for (size_t j = 0; j < cs->c[i].n; j++) fprintf(f, "%.10g %.10g\n", cs->c[i].x[j], cs->c[i].y[j]);
        if (fclose(f) != 0) {
            fprintf(stderr, "natgrad plot: %s: write failed\n", pf->dat[i]);
            return 1;
        }
    }
    return 0;
oom:
    fprintf(stderr, "natgrad plot: out of memory\n");
    return 1;
}

/* Script, gnuplot, and the figure renamed into place only when it was drawn. Returns 0,
 * or 1 with the message printed. */
static int render(const plot_opts *o, const char *gnuplot, const curve_set *cs, char **ycols,
                  size_t ny, plot_files *pf)
{
    int svg = ends_with_ci(o->out, ".svg");
    pf->script = ng_cli_asprintf("%s/plot.gp", pf->dir);
    pf->log = ng_cli_asprintf("%s/gnuplot.log", pf->dir);
    pf->tmp_out = ng_cli_asprintf("%s.tmp.%ld%s", o->out, (long)getpid(), svg ? ".svg" : ".png");
    if (!pf->script || !pf->log || !pf->tmp_out) {
        fprintf(stderr, "natgrad plot: out of memory\n");
        return 1;
    }
    FILE *f = fopen(pf->script, "w");
    if (!f) {
        fprintf(stderr, "natgrad plot: %s: cannot create: %s\n", pf->script, strerror(errno));
        return 1;
    }
    int ok = write_script(f, o, svg, pf->tmp_out, cs, pf->dat, ycols, ny);
    if (fclose(f) != 0 || !ok) {
        fprintf(stderr, "natgrad plot: %s: write failed\n", pf->script);
        return 1;
    }
    int st = ng_gnuplot_run(CMD, gnuplot, pf->script, pf->log);
    struct stat sb;
    if (st == 0 && (stat(pf->tmp_out, &sb) != 0 || sb.st_size == 0)) st = -2; /* no figure */
    if (st > 0 || st == -2) {
        char *why = ng_gnuplot_last_line(pf->log);
        if (st > 0) fprintf(stderr, "natgrad plot: gnuplot failed (status %d): %s\n", st, why ? why : "");
        else fprintf(stderr, "natgrad plot: gnuplot wrote no figure to %s: %s\n", o->out, why ? why : "");
        free(why);
    }
    if (st == 0 && rename(pf->tmp_out, o->out) != 0) {
        fprintf(stderr, "natgrad plot: %s: cannot rename the figure into place: %s\n", o->out,
                strerror(errno));
        st = -1;
    }
    if (st != 0) ng_cli_unlink_quiet(pf->tmp_out);
    return st != 0;
}

int ng_cmd_plot(int argc, char **argv)
{
    plot_opts o;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    int nfiles = 0, rc = NG_EXIT_FAIL;
    if (!files) {
        fprintf(stderr, "natgrad plot: out of memory\n");
        return NG_EXIT_FAIL;
    }
    rc = parse(&o, argc, argv, files, &nfiles);
    if (rc >= 0) {
        free(files);
        return rc;
    }
    char *ybuf = NULL, *gnuplot = NULL;
    size_t ny = 0;
    char **ycols = split_ycols(&o, &ybuf, &ny, &rc);
    curve_set cs = {0};
    plot_files pf;
    memset(&pf, 0, sizeof pf);
    if (!ycols) goto done;
    rc = NG_EXIT_FAIL;
    if (!(gnuplot = ng_gnuplot_find())) {
        fprintf(stderr, "natgrad plot: " NG_GNUPLOT_HINT "\n");
        goto done;
    }
    for (int i = 0; i < nfiles; i++)
        if (read_log(files[i], (size_t)i, (size_t)nfiles, &o, ycols, ny, &cs)) goto done;
    size_t npoints = 0, ncurves = 0;
    for (size_t i = 0; i < cs.n; i++) npoints += cs.c[i].n, ncurves += cs.c[i].n > 0;
    if (npoints == 0) {
        fprintf(stderr, "natgrad plot: no finite%s data points to plot in column(s) %s\n",
                o.logy || o.logx ? " positive" : "", o.ycols_arg);
        goto done;
    }
    if (write_data(&cs, &pf) || render(&o, gnuplot, &cs, ycols, ny, &pf)) goto done;
    fprintf(stderr, "natgrad plot: wrote %s (%zu curves, %zu points)\n", o.out, ncurves, npoints);
    rc = NG_EXIT_OK;
done:
    plot_files_free(&pf);
    for (size_t i = 0; i < cs.n; i++) {
        free(cs.c[i].x);
        free(cs.c[i].y);
        free(cs.c[i].label);
    }
    free(cs.c);
    free(gnuplot);
    free(ycols);
    free(ybuf);
    free(files);
    return rc;
}
