/* cmd_dwe_query.c - the questions a user asks of a trained dynamic word embeddings model
 * (a MODEL directory, docs/dwe.md "Questions to a model"):
 *
 *   natgrad dwe export MODEL --out DIR       word2vec text and binary files per slice
 *   natgrad dwe query MODEL --neighbours WORD [--at TIME] | --age WORD [--from T1 --to T2]
 *                     | --changed [--from T1 --to T2] | --trajectory W1,W2 [--out FIG]
 *   natgrad dwe overlap MODEL [MODEL...] [--out FIG.png] Fig. 4 of Bamler & Mandt (2017)
 *
 * The computations are the library's (ng_dwe_neighbours ...); this file parses, prints,
 * writes CSV atomically and draws through gnuplot: data and script in a private temp
 * directory, the figure into a temp name beside FIG, renamed into place only once drawn
 * and once every other output is written. */
#include "cli.h"
#include "commands.h"
#include "gnuplot.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static void dwe_q_usage(FILE *f)
{
    fprintf(f, "usage: natgrad dwe export|query|overlap MODEL ... (see 'natgrad dwe query --help')\n");
}

/* Times as the library's messages print them: whole numbers plainly (1850), else the
 * fewest digits that read back (1850.5). */
static void fmt_time(double x, char *buf, size_t len)
{
    if (x == floor(x) && fabs(x) < 1e15) {
        snprintf(buf, len, "%.0f", x);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, x);
        if (strtod(buf, NULL) == x) return;
    }
}

static int read_model(const char *cmd, const char *dir, ng_dwe_model *m)
{
    if (ng_dwe_model_read(dir, m) == NG_OK) return 0;
    fprintf(stderr, "natgrad %s: cannot read the model: %s\n", cmd, ng_last_error());
    return 1;
}

/* The slice of the time given to opt (arg; NULL: slice dflt). Returns -1 ok, else the
 * exit code with the message printed: 2 for a malformed number, 1 for a time the model
 * has no slice at (the closest named). */
static int slice_of(const char *cmd, const char *opt, const ng_dwe_model *m, const char *arg,
                    size_t dflt, size_t *t)
{
    double x;
    if (!arg) {
        *t = dflt;
        return -1;
    }
    if (!ng_cli_parse_double(cmd, opt, arg, -1e15, 1e15, &x)) return NG_EXIT_USAGE;
    if (ng_dwe_find_time(m, x, t) == NG_OK) return -1;
    fprintf(stderr, "natgrad %s: %s: %s\n", cmd, opt, ng_last_error());
    return NG_EXIT_FAIL;
}

/* The word given to opt. Returns -1 ok, else NG_EXIT_FAIL with the message printed. */
static int word_of(const char *cmd, const char *opt, const ng_dwe_model *m, const char *w,
                   size_t *i)
{
    if (ng_dwe_find_word(m, w, i) == NG_OK) return -1;
    fprintf(stderr, "natgrad %s: %s: %s\n", cmd, opt, ng_last_error());
    return NG_EXIT_FAIL;
}

/* ================================================================== CSV output */

/* RFC 4180: quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

typedef void (*csv_rows_fn)(FILE *f, const void *ctx);

/* Writes path atomically (header then rows). Returns 0, or 1 with the message printed. */
static int csv_write(const char *cmd, const char *path, const char *header, csv_rows_fn rows,
                     const void *ctx)
{
    ng_atomic_file af;
    if (ng_atomic_open(&af, path)) return ng_cli_fail(cmd, "cannot write the CSV");
    fprintf(af.f, "%s\n", header);
    rows(af.f, ctx);
    if (ng_atomic_commit(&af)) return ng_cli_fail(cmd, "cannot write the CSV");
    return 0;
}

/* ================================================================== gnuplot */

typedef struct {
    const char *cmd;
    const char *out;   /* the figure */
    char *gnuplot;     /* the program found on PATH */
    char *dir;         /* private temp directory: data files, script, gnuplot's log */
    char *tmp_out;     /* the figure until it is renamed into place */
} figure;

static int ends_with_ci(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a > b && !strcasecmp(s + a - b, suf);
}

static int fig_ext_ok(const char *cmd, const char *out)
{
    if (ends_with_ci(out, ".png") || ends_with_ci(out, ".svg")) return 1;
    ng_cli_usage_error(cmd, "--out '%s': the figure's name must end in .png or .svg", out);
    return 0;
}

/* Finds gnuplot and makes the temp directory. Returns 0, or 1 with the message printed. */
static int fig_begin(figure *g, const char *cmd, const char *out)
{
    memset(g, 0, sizeof *g);
    g->cmd = cmd;
    g->out = out;
    if (!(g->gnuplot = ng_gnuplot_find())) {
        fprintf(stderr, "natgrad %s: " NG_GNUPLOT_HINT "\n", cmd);
        return 1;
    }
    const char *td = getenv("TMPDIR");
    g->dir = ng_cli_asprintf("%s/natgrad-dwe-XXXXXX", td && *td ? td : "/tmp");
    g->tmp_out = ng_cli_asprintf("%s.tmp.%ld%s", out, (long)getpid(), ends_with_ci(out, ".svg") ? ".svg" : ".png");
    if (!g->dir || !g->tmp_out || !mkdtemp(g->dir)) {
        fprintf(stderr, "natgrad %s: cannot create a temp directory: %s\n", cmd, strerror(errno));
        free(g->dir);
        g->dir = NULL;
        return 1;
    }
    return 0;
}

/* A file in the temp directory, opened for writing (NULL with the message printed). */
static FILE *fig_open(figure *g, const char *name)
{
    char *p = ng_cli_asprintf("%s/%s", g->dir, name);
    FILE *f = p ? fopen(p, "w") : NULL;
    if (!f) fprintf(stderr, "natgrad %s: %s: cannot create: %s\n", g->cmd, p ? p : name, strerror(errno));
    free(p);
    return f;
}

/* The script's start: terminal by the figure's extension, output, cd to the data. */
static FILE *fig_script(figure *g, int width, int height)
{
    FILE *f = fig_open(g, "plot.gp");
    if (!f) return NULL;
    if (ends_with_ci(g->out, ".svg"))
        fprintf(f, "set terminal svg size %d,%d dynamic noenhanced background rgb 'white'\n", width, height);
    else
        fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                   "  set terminal pngcairo size %d,%d noenhanced\n} else {\n"
                   "  set terminal png size %d,%d noenhanced\n}\n", width, height, width, height);
    fputs("set output ", f);
    ng_gnuplot_quote(f, g->tmp_out);
    fputs("\ncd ", f);
    ng_gnuplot_quote(f, g->dir);
    fputs("\nset grid\n", f);
    return f;
}

/* Runs the script (closed here) into the temp figure. Returns 0, or 1 with gnuplot's
 * last line printed. */
static int fig_draw(figure *g, FILE *script)
{
    if (fclose(script) != 0) {
        fprintf(stderr, "natgrad %s: %s/plot.gp: write failed\n", g->cmd, g->dir);
        return 1;
    }
    char *sp = ng_cli_asprintf("%s/plot.gp", g->dir), *lp = ng_cli_asprintf("%s/gnuplot.log", g->dir);
    int st = sp && lp ? ng_gnuplot_run(g->cmd, g->gnuplot, sp, lp) : -1;
    struct stat sb;
    if (st == 0 && (stat(g->tmp_out, &sb) != 0 || sb.st_size == 0)) st = -2;
    if (st != 0) {
        char *line = lp ? ng_gnuplot_last_line(lp) : NULL;
        fprintf(stderr, "natgrad %s: gnuplot drew no figure (status %d): %s\n", g->cmd, st, line ? line : "");
        free(line);
    }
    free(sp);
    free(lp);
    return st != 0;
}

static int fig_commit(figure *g)
{
    if (rename(g->tmp_out, g->out) == 0) return 0;
    fprintf(stderr, "natgrad %s: %s: cannot rename the figure into place: %s\n", g->cmd, g->out,
            strerror(errno));
    return 1;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

/* Removes the temp directory and a figure not renamed into place. */
static void fig_end(figure *g)
{
    if (g->dir) nftw(g->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (g->tmp_out) ng_cli_unlink_quiet(g->tmp_out);
    free(g->gnuplot);
    free(g->dir);
    free(g->tmp_out);
    memset(g, 0, sizeof *g);
}

/* ================================================================== dwe export */

static const char *const k_formats[] = {"both", "text", "binary", NULL};

static int cmd_export(int argc, char **argv)
{
    const char *out = NULL, *pos[1] = {NULL};
    int format = 0, context = 0, npos = 0;
    const ng_cli_opt opts[] = {
        {.name = "out", .type = NG_CLI_STR, .dst = &out, .meta = "DIR", .flags = NG_CLI_REQUIRED,
         .help = "the directory to write (as DIR.tmp, then renamed; an existing\nexport directory is replaced)"},
        {.name = "format", .type = NG_CLI_CHOICE, .dst = &format, .choices = k_formats,
         .help = "word2vec text (<time>.txt), binary (<time>.bin) or both"},
        {.name = "context", .type = NG_CLI_FLAG, .dst = &context,
         .help = "also the context vectors v (<time>.context.txt, .bin)"},
        NG_CLI_END};
    const ng_cli_opt *tabs[] = {opts};
    ng_cli_spec spec = {
        .name = "dwe export", .synopsis = "MODEL --out DIR [options]", .tables = tabs, .n_tables = 1,
        .positional = 1,
        .intro = "Writes the word vectors u of every slice of a trained model as word2vec files, the\n"
                 "format of word2vec's -output and of gensim's KeyedVectors.load_word2vec_format\n"
                 "(binary=True for .bin): a line \"W d\", then a word and its d numbers per line\n"
                 "(binary: the word, a space, d little-endian float32, a newline). DIR/word2vec.csv\n"
                 "lists the files: slice,time,train,vectors,format,file.",
        .outro = "Exit status: 0 ok; 1 when the model cannot be read or written (nothing is left\n"
                 "behind); 2 for a usage error."};
    int rc = ng_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (npos != 1) return ng_cli_usage_error(spec.name, "expected one MODEL directory");
    ng_cli_banner_spec(&spec, NULL);
    ng_dwe_model m;
    if (read_model(spec.name, pos[0], &m)) return NG_EXIT_FAIL;
    unsigned what = (format != 2 ? NG_W2V_TEXT : 0u) | (format != 1 ? NG_W2V_BINARY : 0u) |
                    (context ? NG_W2V_CONTEXT : 0u);
    if (ng_dwe_export_word2vec(&m, out, what)) {
        ng_dwe_model_free(&m);
        return ng_cli_fail(spec.name, "cannot export");
    }
    printf("natgrad dwe export: wrote %s: %zu slices x %d file%s (%s%s), %zu words, %zu dims\n", out,
           m.T, (format ? 1 : 2) * (context ? 2 : 1), format == 0 || context ? "s" : "",
           format == 0 ? "text and binary" : k_formats[format], context ? "; u and v" : "", m.W, m.d);
    ng_dwe_model_free(&m);
    return NG_EXIT_OK;
}

/* ================================================================== dwe query */

typedef struct {
    const char *neighbours, *age, *trajectory; /* the word(s) */
    int changed;
    const char *at, *from, *to;                /* times (parsed against the model) */
    size_t top;
    int top_given;
    double min_count;
    int min_count_given;
    const char *csv, *out;
    ng_cli_spec spec;
    ng_dwe_model m;
} query_cfg;

#define QCMD "dwe query"

static const char k_query_intro[] =
    "Answers one question about a trained model (its word vectors u, by cosine similarity):\n"
    "  --neighbours WORD [--at TIME]     the nearest words at a slice (default: the last)\n"
    "  --age WORD [--from T1] [--to T2]  word aging (Table 2 of Bamler & Mandt 2017): the\n"
    "                                    words of T1 closest to WORD at T2, by\n"
    "                                    cos(u_{T2,WORD}, u_{T1,j}) (default: first, last)\n"
    "  --changed [--from T1] [--to T2]   the most changed words by 1 - cos(u_{T1,i}, u_{T2,i}),\n"
    "                                    among all words and among those seen --min-count times\n"
    "  --trajectory W1,W2                cos(u_{t,W1}, u_{t,W2}) in every slice (figure: --out)\n"
    "Times are the slices' times in years and must match one exactly; a time that does not\n"
    "is refused with the closest ones named. Results go to stdout, and to --csv FILE.";

#define QUERY_OPTS 16

static void query_table(query_cfg *c, ng_cli_opt *t)
{
    const ng_cli_opt tab[] = {
        {.name = "", .type = NG_CLI_SECTION, .help = "Question (exactly one)"},
        {.name = "neighbours", .type = NG_CLI_STR, .dst = &c->neighbours, .meta = "WORD",
         .help = "nearest neighbours of WORD at --at"},
        {.name = "age", .type = NG_CLI_STR, .dst = &c->age, .meta = "WORD",
         .help = "the words of --from closest to WORD at --to"},
        {.name = "changed", .type = NG_CLI_FLAG, .dst = &c->changed,
         .help = "the words that changed most from --from to --to"},
        {.name = "trajectory", .type = NG_CLI_STR, .dst = &c->trajectory, .meta = "W1,W2",
         .help = "the similarity of two words in every slice"},
        {.name = "", .type = NG_CLI_SECTION, .help = "Slices and sizes"},
        {.name = "at", .type = NG_CLI_STR, .dst = &c->at, .meta = "TIME",
         .help = "slice of --neighbours (default: the last)"},
        {.name = "from", .type = NG_CLI_STR, .dst = &c->from, .meta = "T1",
         .help = "the earlier slice of --age and --changed (default: the first)"},
        {.name = "to", .type = NG_CLI_STR, .dst = &c->to, .meta = "T2",
         .help = "the later slice of --age and --changed (default: the last)"},
        {.name = "top", .type = NG_CLI_SIZE, .dst = &c->top, .lo = 1, .hi = 1e9, .meta = "K",
         .given = &c->top_given, .flags = NG_CLI_NO_DEFAULT | NG_CLI_NO_BANNER,
         .help = "how many words [default: 10; 5 for --age]"},
        {.name = "min-count", .type = NG_CLI_DOUBLE, .dst = &c->min_count, .lo = 0, .hi = 1e300,
         .meta = "N", .given = &c->min_count_given, .flags = NG_CLI_NO_DEFAULT | NG_CLI_NO_BANNER,
         .help = "the frequency floor of --changed: words seen at least N times\n"
                 "(vocab.tsv's counts) [default: the vocabulary's median count]"},
        {.name = "", .type = NG_CLI_SECTION, .help = "Output"},
        {.name = "csv", .type = NG_CLI_STR, .dst = &c->csv, .meta = "FILE",
         .help = "also write the result as CSV (atomically)"},
        {.name = "out", .type = NG_CLI_STR, .dst = &c->out, .meta = "FIG.png|svg",
         .help = "--trajectory: draw it (needs gnuplot)"},
        NG_CLI_END};
    _Static_assert(sizeof tab / sizeof tab[0] <= QUERY_OPTS, "raise QUERY_OPTS");
    memcpy(t, tab, sizeof tab);
}

/* ------------------------------------------------------------------ printing hits */

typedef struct {
    const ng_dwe_model *m;
    const ng_dwe_hit *h[2];
    size_t n[2];
    const char *list[2]; /* --changed: the two lists' names; NULL: one list */
    const char *score;
} hits_out;

static void print_hits(const hits_out *o, int which)
{
    int wid = 4;
    for (size_t r = 0; r < o->n[which]; r++) {
        int l = (int)strlen(o->m->word[o->h[which][r].word]);
        if (l > wid) wid = l;
    }
    printf("  rank  %-*s  %s%s\n", wid, "word", o->score, o->list[0] ? "       count" : "");
    for (size_t r = 0; r < o->n[which]; r++) {
        const ng_dwe_hit *h = &o->h[which][r];
        printf("  %4zu  %-*s  %.6f", r + 1, wid, o->m->word[h->word], h->score);
        if (o->list[0]) printf("  %10.6g", o->m->count[h->word]);
        putchar('\n');
    }
}

static void hits_csv_rows(FILE *f, const void *ctx)
{
    const hits_out *o = ctx;
    for (int w = 0; w < (o->list[1] ? 2 : 1); w++)
        for (size_t r = 0; r < o->n[w]; r++) {
            const ng_dwe_hit *h = &o->h[w][r];
            if (o->list[0]) fprintf(f, "%s,", o->list[w]);
            fprintf(f, "%zu,", r + 1);
            csv_field(f, o->m->word[h->word]);
            if (o->list[0]) fprintf(f, ",%.17g", o->m->count[h->word]);
            fprintf(f, ",%.17g\n", h->score);
        }
}

static ng_dwe_hit *alloc_hits(size_t k)
{
    ng_dwe_hit *h = malloc((k ? k : 1) * sizeof *h);
    if (!h) fprintf(stderr, "natgrad " QCMD ": out of memory\n");
    return h;
}

static int query_neighbours(query_cfg *c)
{
    const ng_dwe_model *m = &c->m;
    size_t i, t, n = 0;
    int rc = word_of(QCMD, "--neighbours", m, c->neighbours, &i);
    if (rc < 0) rc = slice_of(QCMD, "--at", m, c->at, m->T - 1, &t);
    if (rc >= 0) return rc;
    size_t k = c->top_given ? c->top : 10;
    ng_dwe_hit *h = alloc_hits(k);
    if (!h) return NG_EXIT_FAIL;
    if (ng_dwe_neighbours(m, t, i, k, h, &n)) {
        free(h);
        return ng_cli_fail(QCMD, "neighbours");
    }
    char tm[64];
    fmt_time(m->time[t], tm, sizeof tm);
    printf("nearest neighbours of '%s' at %s (slice %zu of %zu%s), by cos(u_{%s,%s}, u_{%s,j}):\n",
           m->word[i], tm, t + 1, m->T, m->train[t] ? "" : ", held out", tm, m->word[i], tm);
    hits_out o = {.m = m, .h = {h}, .n = {n}, .score = "cos"};
    print_hits(&o, 0);
    rc = c->csv && csv_write(QCMD, c->csv, "rank,word,cos", hits_csv_rows, &o) ? NG_EXIT_FAIL : NG_EXIT_OK;
    free(h);
    return rc;
}

/* The rank of word i itself among the words of slice t_old (1 = closest), and its cosine. */
static int self_rank(const ng_dwe_model *m, size_t i, size_t t_new, size_t t_old, size_t *rank,
                     double *cos)
{
    ng_dwe_hit *all = alloc_hits(m->W);
    size_t n = 0;
    if (!all || ng_dwe_aging(m, i, t_new, t_old, 1, m->W, all, &n)) {
        free(all);
        return 0;
    }
    for (size_t r = 0; r < n; r++)
        if (all[r].word == i) *rank = r + 1, *cos = all[r].score;
    free(all);
    return 1;
}

static int query_age(query_cfg *c)
{
    const ng_dwe_model *m = &c->m;
    size_t i, t_old, t_new, n = 0, rank = 0;
    double self = 0;
    int rc = word_of(QCMD, "--age", m, c->age, &i);
    if (rc < 0) rc = slice_of(QCMD, "--from", m, c->from, 0, &t_old);
    if (rc < 0) rc = slice_of(QCMD, "--to", m, c->to, m->T - 1, &t_new);
    if (rc >= 0) return rc;
    size_t k = c->top_given ? c->top : 5;
    ng_dwe_hit *h = alloc_hits(k);
    if (!h) return NG_EXIT_FAIL;
    if (ng_dwe_aging(m, i, t_new, t_old, 0, k, h, &n) || !self_rank(m, i, t_new, t_old, &rank, &self)) {
        free(h);
        return ng_cli_fail(QCMD, "aging");
    }
    char a[64], b[64];
    fmt_time(m->time[t_old], a, sizeof a);
    fmt_time(m->time[t_new], b, sizeof b);
    printf("word aging: the words of %s closest to '%s' of %s, by cos(u_{%s,%s}, u_{%s,j}):\n", a,
           m->word[i], b, b, m->word[i], a);
    hits_out o = {.m = m, .h = {h}, .n = {n}, .score = "cos"};
    print_hits(&o, 0);
    printf("  ('%s' itself at %s: cos %.6f, rank %zu of %zu)\n", m->word[i], a, self, rank, m->W);
    rc = c->csv && csv_write(QCMD, c->csv, "rank,word,cos", hits_csv_rows, &o) ? NG_EXIT_FAIL : NG_EXIT_OK;
    free(h);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of the vocabulary's counts (the default frequency floor). */
static double median_count(const ng_dwe_model *m)
{
    double *v = malloc(m->W * sizeof *v), r = 0;
    if (!v) return 0;
    memcpy(v, m->count, m->W * sizeof *v);
    qsort(v, m->W, sizeof *v, cmp_double);
    r = m->W % 2 ? v[m->W / 2] : 0.5 * (v[m->W / 2 - 1] + v[m->W / 2]);
    free(v);
    return r;
}

static int query_changed(query_cfg *c)
{
    const ng_dwe_model *m = &c->m;
    size_t ta, tb, n[2] = {0, 0};
    int rc = slice_of(QCMD, "--from", m, c->from, 0, &ta);
    if (rc < 0) rc = slice_of(QCMD, "--to", m, c->to, m->T - 1, &tb);
    if (rc >= 0) return rc;
    size_t k = c->top_given ? c->top : 10;
    double floor_ = c->min_count_given ? c->min_count : median_count(m);
    ng_dwe_hit *h = alloc_hits(2 * k);
    if (!h) return NG_EXIT_FAIL;
    if (ng_dwe_changed(m, ta, tb, 0, k, h, &n[0]) || ng_dwe_changed(m, ta, tb, floor_, k, h + k, &n[1])) {
        free(h);
        return ng_cli_fail(QCMD, "most changed");
    }
    size_t kept = 0;
    for (size_t i = 0; i < m->W; i++) kept += m->count[i] >= floor_;
    char a[64], b[64], fl[64];
    fmt_time(m->time[ta], a, sizeof a);
    fmt_time(m->time[tb], b, sizeof b);
    snprintf(fl, sizeof fl, "count>=%.17g", floor_);
    printf("most changed words from %s to %s, by 1 - cos(u_{%s,i}, u_{%s,i}):\n", a, b, a, b);
    hits_out o = {.m = m, .h = {h, h + k}, .n = {n[0], n[1]}, .list = {"all", fl}, .score = "1 - cos"};
    printf(" all %zu words:\n", m->W);
    print_hits(&o, 0);
    printf(" the %zu words seen at least %.6g times (%s):\n", kept, floor_,
           c->min_count_given ? "--min-count" : "the median count");
    print_hits(&o, 1);
    rc = c->csv && csv_write(QCMD, c->csv, "list,rank,word,count,change", hits_csv_rows, &o)
             ? NG_EXIT_FAIL : NG_EXIT_OK;
    free(h);
    return rc;
}

/* ------------------------------------------------------------------ trajectory */

typedef struct {
    const ng_dwe_model *m;
    const double *sim;
} traj_out;

static void traj_csv_rows(FILE *f, const void *ctx)
{
    const traj_out *o = ctx;
    char tm[64];
    for (size_t t = 0; t < o->m->T; t++) {
        fmt_time(o->m->time[t], tm, sizeof tm);
        fprintf(f, "%zu,%s,%d,%.17g\n", t, tm, o->m->train[t], o->sim[t]);
    }
}

/* The figure into its temp name: a line through every slice, training slices as dots,
 * held-out ones as circles. */
static int traj_draw(figure *g, const traj_out *o, size_t i, size_t j)
{
    const ng_dwe_model *m = o->m;
    FILE *d[3] = {fig_open(g, "train.dat"), fig_open(g, "held.dat"), fig_open(g, "all.dat")};
    int nheld = 0;
    for (size_t t = 0; t < m->T && d[0] && d[1] && d[2]; t++) {
        fprintf(d[!m->train[t]], "%.17g %.17g\n", m->time[t], o->sim[t]);
        fprintf(d[2], "%.17g %.17g\n", m->time[t], o->sim[t]);
        nheld += !m->train[t];
    }
    int bad = !d[0] || !d[1] || !d[2];
    for (int q = 0; q < 3; q++)
        if (d[q] && fclose(d[q]) != 0) bad = 1;
    FILE *f = bad ? NULL : fig_script(g, 900, 560);
    if (!f) return 1;
    char *title = ng_cli_asprintf("cos(u_%s, u_%s) per slice", m->word[i], m->word[j]);
    fputs("set xlabel 'time'\nset ylabel 'cosine similarity'\nset key below\nset title ", f);
    ng_gnuplot_quote(f, title ? title : "");
    fputs("\nplot 'all.dat' using 1:2 with lines lw 1.5 notitle, "
          "'train.dat' using 1:2 with points pt 7 ps 0.7 lc 1 title 'training slices'", f);
    if (nheld) fputs(", 'held.dat' using 1:2 with points pt 6 ps 1.2 lc 2 title 'held-out slices'", f);
    fputc('\n', f);
    free(title);
    return fig_draw(g, f);
}

static int query_trajectory(query_cfg *c)
{
    const ng_dwe_model *m = &c->m;
    char *w1 = strdup(c->trajectory), *w2 = w1 ? strchr(w1, ',') : NULL;
    size_t i, j;
    int rc = NG_EXIT_USAGE;
    double *sim = NULL;
    figure g;
    memset(&g, 0, sizeof g);
    if (!w2 || strchr(w2 + 1, ',') || w2 == w1 || !w2[1]) {
        ng_cli_usage_error(QCMD, "--trajectory '%s': expected two words W1,W2", c->trajectory);
        goto done;
    }
    *w2++ = '\0';
    if ((rc = word_of(QCMD, "--trajectory", m, w1, &i)) >= 0 || (rc = word_of(QCMD, "--trajectory", m, w2, &j)) >= 0)
        goto done;
    rc = NG_EXIT_FAIL;
    if (!(sim = malloc(m->T * sizeof *sim)) || ng_dwe_trajectory(m, i, j, sim)) {
        ng_cli_fail(QCMD, "trajectory");
        goto done;
    }
    traj_out o = {m, sim};
    if (c->out && (fig_begin(&g, QCMD, c->out) || traj_draw(&g, &o, i, j))) goto done;
    printf("cos(u_{t,%s}, u_{t,%s}) per slice:\n  slice  %10s  train  cos\n", m->word[i], m->word[j], "time");
    char tm[64];
    for (size_t t = 0; t < m->T; t++) {
        fmt_time(m->time[t], tm, sizeof tm);
        printf("  %5zu  %10s  %5d  %.6f\n", t + 1, tm, m->train[t], sim[t]);
    }
    if (c->csv && csv_write(QCMD, c->csv, "slice,time,train,cos", traj_csv_rows, &o)) goto done;
    if (c->out && fig_commit(&g)) goto done;
    if (c->out) fprintf(stderr, "natgrad " QCMD ": wrote %s\n", c->out);
    rc = NG_EXIT_OK;
done:
    fig_end(&g);
    free(sim);
    free(w1);
    return rc;
}

static int cmd_query(int argc, char **argv)
{
    query_cfg c;
    memset(&c, 0, sizeof c);
    ng_cli_opt t[QUERY_OPTS];
    query_table(&c, t);
    const ng_cli_opt *tabs[] = {t};
    const char *pos[1] = {NULL};
    int npos = 0;
    c.spec = (ng_cli_spec){.name = QCMD, .synopsis = "MODEL QUESTION [options]", .intro = k_query_intro,
                           .outro = "Exit status: 0 ok; 1 when the model cannot be read, for a word or a "
                                    "time it does not\nhave, or when an output cannot be written (none "
                                    "is left half written); 2 for a\nusage error.",
                           .tables = tabs, .n_tables = 1, .positional = 1};
    int rc = ng_cli_parse(&c.spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    int nq = !!c.neighbours + !!c.age + !!c.changed + !!c.trajectory;
    if (npos != 1) return ng_cli_usage_error(QCMD, "expected one MODEL directory");
    if (nq != 1)
        return ng_cli_usage_error(QCMD, "expected exactly one of --neighbours, --age, --changed, --trajectory");
    if (c.out && !c.trajectory) return ng_cli_usage_error(QCMD, "--out draws --trajectory only");
    if (c.out && !fig_ext_ok(QCMD, c.out)) return NG_EXIT_USAGE;
    char extra[64] = "";
    if (!c.trajectory) snprintf(extra, sizeof extra, "top %zu", c.top_given ? c.top : c.age ? 5 : 10);
    ng_cli_banner_spec(&c.spec, extra);
    if (read_model(QCMD, pos[0], &c.m)) return NG_EXIT_FAIL;
    rc = c.neighbours ? query_neighbours(&c) : c.age ? query_age(&c) : c.changed ? query_changed(&c)
                                                                           : query_trajectory(&c);
    ng_dwe_model_free(&c.m);
    return rc;
}

/* ================================================================== dwe overlap */

typedef struct {
    const char *out, *csv, *labels, *from, *to;
    long bins;
} overlap_cfg;

typedef struct {
    char *label;
    size_t W, ta, tb;
    char ta_s[64], tb_s[64];
    char **word;       /* taken from the model */
    double *count;     /* taken from the model */
    double *cos[2];    /* as trained, aligned */
} overlap_res;

static void overlap_free(overlap_res *r, size_t n)
{
    for (size_t k = 0; r && k < n; k++) {
        for (size_t i = 0; r[k].word && i < r[k].W; i++) free(r[k].word[i]);
        free(r[k].word);
        free(r[k].count);
        free(r[k].cos[0]);
        free(r[k].cos[1]);
        free(r[k].label);
    }
    free(r);
}

/* The k-th of n comma-separated labels, or the model directory's last name. */
static char *model_label(const char *labels, size_t k, const char *dir)
{
    if (labels) {
        const char *s = labels;
        for (size_t q = 0; q < k && s; q++) s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL;
        return s ? strndup(s, strcspn(s, ",")) : NULL;
    }
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/') b--;
    return strndup(dir + b, n - b);
}

/* Reads one model and keeps what the outputs need. Returns -1 ok, else an exit code. */
static int overlap_one(const overlap_cfg *o, const char *dir, size_t k, overlap_res *r)
{
    const char *cmd = "dwe overlap";
    ng_dwe_model m;
    if (read_model(cmd, dir, &m)) return NG_EXIT_FAIL;
    /* the options' names carry the model's: the times are each model's own */
    char *of = ng_cli_asprintf("--from (%s)", dir), *ot = ng_cli_asprintf("--to (%s)", dir);
    int rc = of && ot ? slice_of(cmd, of, &m, o->from, 0, &r->ta) : NG_EXIT_FAIL;
    if (rc < 0) rc = slice_of(cmd, ot, &m, o->to, m.T - 1, &r->tb);
    free(of);
    free(ot);
    if (rc >= 0) {
        ng_dwe_model_free(&m);
        return rc;
    }
    r->W = m.W;
    r->label = model_label(o->labels, k, dir);
    r->cos[0] = malloc(m.W * sizeof(double));
    r->cos[1] = malloc(m.W * sizeof(double));
    rc = NG_EXIT_FAIL;
    if (!r->label || !r->cos[0] || !r->cos[1]) fprintf(stderr, "natgrad %s: out of memory\n", cmd);
    else if (ng_dwe_overlap(&m, r->ta, r->tb, 0, r->cos[0], NULL) ||
             ng_dwe_overlap(&m, r->ta, r->tb, 1, r->cos[1], NULL))
        ng_cli_fail(cmd, dir);
    else rc = -1;
    fmt_time(m.time[r->ta], r->ta_s, sizeof r->ta_s);
    fmt_time(m.time[r->tb], r->tb_s, sizeof r->tb_s);
    r->word = m.word; /* the CSV names the words; the vectors go */
    r->count = m.count;
    m.word = NULL;
    m.count = NULL;
    ng_dwe_model_free(&m);
    return rc;
}

static void overlap_stats(const overlap_res *r, int which)
{
    double *v = malloc(r->W * sizeof *v), sum = 0;
    size_t hi = 0, neg = 0;
    if (!v) return;
    for (size_t i = 0; i < r->W; i++) {
        v[i] = r->cos[which][i];
        sum += v[i];
        hi += v[i] > 0.6;
        neg += v[i] < 0;
    }
    qsort(v, r->W, sizeof *v, cmp_double);
    double med = r->W % 2 ? v[r->W / 2] : 0.5 * (v[r->W / 2 - 1] + v[r->W / 2]);
    printf("    %-8s mean %.4f  median %.4f  > 0.6: %5.1f %%  < 0: %5.1f %%\n",
           which ? "aligned" : "raw", sum / (double)r->W, med, 100.0 * (double)hi / (double)r->W,
           100.0 * (double)neg / (double)r->W);
    free(v);
}

typedef struct {
    const overlap_res *r;
    size_t n;
} overlap_set;

static void overlap_csv_rows(FILE *f, const void *ctx)
{
    const overlap_res *r = ((const overlap_set *)ctx)->r;
    size_t n = ((const overlap_set *)ctx)->n;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < r[k].W; i++) {
            csv_field(f, r[k].label);
            fputc(',', f);
            csv_field(f, r[k].word[i]);
            fprintf(f, ",%.17g,%.17g,%.17g\n", r[k].count[i], r[k].cos[0][i], r[k].cos[1][i]);
        }
}

/* Histograms as bars side by side: model k of n in bin b sits at the k-th place of the
 * bin's width. Files raw<k>.dat and aligned<k>.dat; *ymax the largest share. */
static int overlap_data(figure *g, const overlap_res *r, size_t n, long bins, double *ymax)
{
    double w = 2.0 / (double)bins;
    size_t *cnt = calloc((size_t)bins, sizeof *cnt);
    if (!cnt) return 1;
    *ymax = 0;
    for (size_t k = 0; k < n; k++)
        for (int which = 0; which < 2; which++) {
            char name[64];
            snprintf(name, sizeof name, "%s%zu.dat", which ? "aligned" : "raw", k);
            FILE *f = fig_open(g, name);
            if (!f) {
                free(cnt);
                return 1;
            }
            memset(cnt, 0, (size_t)bins * sizeof *cnt);
            for (size_t i = 0; i < r[k].W; i++) {
                long b = (long)floor((r[k].cos[which][i] + 1.0) / w);
                cnt[b < 0 ? 0 : b >= bins ? bins - 1 : b]++;
            }
            for (long b = 0; b < bins; b++) {
                double share = (double)cnt[b] / (double)r[k].W;
                if (share > *ymax) *ymax = share;
                fprintf(f, "%.17g %.17g %.17g\n", -1.0 + w * ((double)b + ((double)k + 0.5) / (double)n),
                        share, 0.9 * w / (double)n);
            }
            if (fclose(f) != 0) {
                free(cnt);
                return 1;
            }
        }
    free(cnt);
    return 0;
}

static int overlap_draw(figure *g, const overlap_res *r, size_t n, long bins)
{
    double ymax;
    if (overlap_data(g, r, n, bins, &ymax)) return 1;
    FILE *f = fig_script(g, 1300, 520);
    if (!f) return 1;
    fprintf(f, "set multiplot layout 1,2 title 'overlap cos(u_{first,i}, u_{last,i}) of each word "
               "(Bamler & Mandt 2017, Fig. 4)'\n"
               "set xrange [-1:1]\nset yrange [0:%.17g]\nset style fill solid 0.75 border -1\n"
               "set xlabel 'cosine similarity'\nset ylabel 'share of words'\nset key below\n",
            ymax * 1.08 + 1e-9);
    for (int which = 0; which < 2; which++) {
        fprintf(f, "set title '%s'\nplot ", which ? "after orthogonal Procrustes alignment of the last "
                                                    "slice onto the first" : "as trained");
        for (size_t k = 0; k < n; k++) {
            char *title = ng_cli_asprintf("%s (%s -> %s)", r[k].label, r[k].ta_s, r[k].tb_s);
            fprintf(f, "%s'%s%zu.dat' using 1:2:3 with boxes title ", k ? ", " : "",
                    which ? "aligned" : "raw", k);
            ng_gnuplot_quote(f, title ? title : r[k].label);
            free(title);
        }
        fputc('\n', f);
    }
    fputs("unset multiplot\n", f);
    return fig_draw(g, f);
}

static int overlap_report(const overlap_cfg *o, overlap_res *r, size_t n)
{
    figure g;
    memset(&g, 0, sizeof g);
    int rc = NG_EXIT_FAIL;
    if (o->out && (fig_begin(&g, "dwe overlap", o->out) || overlap_draw(&g, r, n, o->bins))) goto done;
    printf("overlap cos(u_{first,i}, u_{last,i}) of each word, as trained and after Procrustes alignment:\n");
    for (size_t k = 0; k < n; k++) {
        printf("  %s: %s -> %s, %zu words\n", r[k].label, r[k].ta_s, r[k].tb_s, r[k].W);
        overlap_stats(&r[k], 0);
        overlap_stats(&r[k], 1);
    }
    overlap_set set = {r, n};
    if (o->csv && csv_write("dwe overlap", o->csv, "model,word,count,raw,aligned", overlap_csv_rows, &set))
        goto done;
    if (o->out && fig_commit(&g)) goto done;
    if (o->out) fprintf(stderr, "natgrad dwe overlap: wrote %s\n", o->out);
    rc = NG_EXIT_OK;
done:
    fig_end(&g);
    return rc;
}

static int cmd_overlap(int argc, char **argv)
{
    overlap_cfg o = {.bins = 20};
    const ng_cli_opt opts[] = {
        {.name = "out", .type = NG_CLI_STR, .dst = &o.out, .meta = "FIG.png|svg",
         .help = "the figure: two panels of histograms (needs gnuplot; without\n--out only the table)"},
        {.name = "csv", .type = NG_CLI_STR, .dst = &o.csv, .meta = "FILE",
         .help = "also every word's values: model,word,count,raw,aligned"},
        {.name = "labels", .type = NG_CLI_STR, .dst = &o.labels, .meta = "A,B,...",
         .help = "the models' names in the figure (default: their directories'\nlast names)"},
        {.name = "bins", .type = NG_CLI_LONG, .dst = &o.bins, .lo = 2, .hi = 1000, .meta = "N",
         .help = "histogram bins over [-1, 1]"},
        {.name = "from", .type = NG_CLI_STR, .dst = &o.from, .meta = "T1", .help = "the first slice (default: each model's first)"},
        {.name = "to", .type = NG_CLI_STR, .dst = &o.to, .meta = "T2", .help = "the last slice (default: each model's last)"},
        NG_CLI_END};
    const ng_cli_opt *tabs[] = {opts};
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos) return NG_EXIT_FAIL;
    ng_cli_spec spec = {
        .name = "dwe overlap", .synopsis = "MODEL [MODEL...] [--out FIG.png] [options]", .tables = tabs,
        .n_tables = 1, .positional = argc,
        .intro = "Fig. 4 of Bamler & Mandt (2017): the histogram of cos(u_{1,i}, u_{T,i}), how much each\n"
                 "word's first and last vectors overlap, for several models side by side (e.g.\n"
                 "trained with and without Goldstone-GD); and the same after the orthogonal\n"
                 "Procrustes rotation of slice T onto slice 1 over all words. If alignment restores\n"
                 "the overlap, what separated the slices was a rotation (a Goldstone mode), not a\n"
                 "change of meaning. Prints each model's mean, median and shares > 0.6 and < 0.",
        .outro = "Exit status: 0 ok; 1 when a model cannot be read, a time is not a slice of it, or\n"
                 "gnuplot is missing or fails (nothing is written then); 2 for a usage error."};
    int npos = 0, rc = ng_cli_parse(&spec, argc, argv, pos, &npos);
    size_t nl = 1;
    for (const char *s = o.labels; rc < 0 && s && *s; s++) nl += *s == ',';
    if (rc < 0 && npos < 1) rc = ng_cli_usage_error(spec.name, "expected at least one MODEL directory");
    else if (rc < 0 && o.out && !fig_ext_ok(spec.name, o.out)) rc = NG_EXIT_USAGE;
    else if (rc < 0 && o.labels && nl != (size_t)npos)
        rc = ng_cli_usage_error(spec.name, "--labels has %zu names for %d models", nl, npos);
    if (rc >= 0) {
        free(pos);
        return rc;
    }
    ng_cli_banner_spec(&spec, NULL);
    overlap_res *r = calloc((size_t)npos, sizeof *r);
    rc = r ? -1 : NG_EXIT_FAIL;
    for (int k = 0; rc < 0 && k < npos; k++) rc = overlap_one(&o, pos[k], (size_t)k, &r[k]);
    if (rc < 0) rc = overlap_report(&o, r, (size_t)npos);
    overlap_free(r, (size_t)npos);
    free(pos);
    return rc;
}

/* ================================================================== dispatch */

int ng_cmd_dwe_query(int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "export")) return cmd_export(argc, argv);
    if (argc >= 1 && !strcmp(argv[0], "query")) return cmd_query(argc, argv);
    if (argc >= 1 && !strcmp(argv[0], "overlap")) return cmd_overlap(argc, argv);
    dwe_q_usage(stderr);
    return NG_EXIT_USAGE;
}
