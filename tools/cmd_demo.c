/* cmd_demo.c - 'natgrad demo': a short, reproducible race of both methods against their
 * baselines. It runs the real subcommands as child processes (so every run is exactly what
 * a user would type, printed before it runs), then reads their CSV logs and prints a
 * summary. Part 1: Goldstone-GD vs GD on the paper's toy (section 5.1). Part 2: K-FAC vs
 * SGD with Nesterov momentum on a deep autoencoder, equal wall-clock budgets. */
#include "cli.h"
#include "commands.h"
#include "child_run.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    const char *out_dir;
    long seeds, toy_steps, threads;
    double seconds;
    const char *data, *arch;
    int no_plots;
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
            int st = ng_child_run_self("demo", argv);
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

/* K-FAC and SGD run side by side, one BLAS thread each, so both get one core for the
 * same wall-clock budget (the setting of the race in docs/kfac.md). */
static int kfac_part(const demo_cfg *c, int *kfac_wins)
{
    static const char *const opts[] = {"sgd-nesterov", "kfac"};
    char secbuf[32];
    ng_log_pair t[2];
    int have[2] = {0, 0};
    pid_t pid[2];
    char *log[2], *err[2];
    snprintf(secbuf, sizeof secbuf, "%g", c->seconds);
    printf("\n== Part 2: K-FAC vs SGD-Nesterov, deep autoencoder (%s, arch %s), %g s each, "
           "run side by side ==\n", c->data, c->arch, c->seconds);
    fflush(stdout);
    for (int m = 0; m < 2; m++) {
        char name[64];
        snprintf(name, sizeof name, "ae-%s.csv", opts[m]);
        log[m] = ng_path_in(c->out_dir, name);
        snprintf(name, sizeof name, "ae-%s.out", opts[m]);
        err[m] = ng_path_in(c->out_dir, name);
        char *common[] = {"natgrad", "ae", "train", "--data", (char *)c->data, "--arch",
                          (char *)c->arch, "--time-limit", secbuf, "--steps", "0",
                          "--eval-seconds", "30", "--eval-subset", "10000", "--threads", "1",
                          "--seed", "1", "--log", log[m], "--optimizer", (char *)opts[m]};
        enum { NC = sizeof common / sizeof common[0] };
        char *argv[NC + 8];
        memcpy(argv, common, sizeof common);
        int k = NC;
        if (m == 1) {
            argv[k++] = "--curvature"; argv[k++] = "blockdiag";
            argv[k++] = "--max-batch"; argv[k++] = "10000";
            argv[k++] = "--lambda0"; argv[k++] = "10"; /* the race's setting (docs/kfac.md) */
        } else {
            argv[k++] = "--lr"; argv[k++] = "0.005";
            argv[k++] = "--batch"; argv[k++] = "100";
            argv[k++] = "--mu-max"; argv[k++] = "0.99";
        }
        argv[k] = NULL;
        pid[m] = ng_child_spawn_self(argv, err[m], 0);
    }
    ng_progress pr;
    ng_progress_init(&pr, 30.0);
    double t0 = ng_cli_now();
    int status[2] = {-1, -1}, left = (pid[0] > 0) + (pid[1] > 0);
    while (left > 0) {
        for (int m = 0; m < 2; m++) {
            int st;
            if (pid[m] > 0 && status[m] < 0 && waitpid(pid[m], &st, WNOHANG) == pid[m]) {
                status[m] = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
                left--;
            }
        }
        ng_progress_update(&pr, "demo: autoencoders training, %.0f s elapsed (budget %g s each)",
                           ng_cli_now() - t0, c->seconds);
        if (left > 0) usleep(200000);
    }
    ng_progress_done(&pr);
    int rc = NG_EXIT_OK;
    for (int m = 0; m < 2; m++) {
        have[m] = status[m] == 0 && ng_log_read("demo", log[m], "seconds", "train_error", &t[m]);
        if (!have[m]) {
            fprintf(stderr, "natgrad demo: %s run failed (status %d), see %s\n", opts[m],
                    status[m], err[m]);
            rc = NG_EXIT_FAIL;
        }
        free(log[m]);
        free(err[m]);
    }
    if (rc != NG_EXIT_OK) {
        for (int m = 0; m < 2; m++)
            if (have[m]) ng_log_free(&t[m]);
        return rc;
    }
    printf("%-10s %18s %18s\n", "seconds", "sgd-nesterov", "kfac");
    double e0 = NAN, e1 = NAN;
    for (int q = 1; q <= 4; q++) {
        double s = c->seconds * q / 4.0;
        e0 = ng_log_value_at(&t[0], s);
        e1 = ng_log_value_at(&t[1], s);
        printf("%-10.0f %18.3f %18.3f\n", s, e0, e1);
    }
    printf("(training reconstruction error, first 10000 cases: mean over cases of the summed\n"
           " squared error; 'seconds' counts training time only)\n");
    *kfac_wins = e1 < e0;
    ng_log_free(&t[0]);
    ng_log_free(&t[1]);
    return NG_EXIT_OK;
}

static void plots(const demo_cfg *c)
{
    char *toy_gd = ng_path_in(c->out_dir, "toy-gd-seed1.csv");
    char *toy_gs = ng_path_in(c->out_dir, "toy-goldstone-seed1.csv");
    char *toy_png = ng_path_in(c->out_dir, "toy-gap.png");
    char *ae_sgd = ng_path_in(c->out_dir, "ae-sgd-nesterov.csv");
    char *ae_kfac = ng_path_in(c->out_dir, "ae-kfac.csv");
    char *ae_png = ng_path_in(c->out_dir, "ae-error.png");
    char *a1[] = {"natgrad", "plot", toy_gd, toy_gs, "--x", "step", "--y", "gap", "--logy",
                  "--out", toy_png, NULL};
    char *a2[] = {"natgrad", "plot", ae_sgd, ae_kfac, "--x", "seconds", "--y", "train_error",
                  "--logy", "--out", ae_png, NULL};
    if (ng_child_run_self("demo", a1) == 0) printf("figure: %s\n", toy_png);
    if (ng_child_run_self("demo", a2) == 0) printf("figure: %s\n", ae_png);
    free(toy_gd); free(toy_gs); free(toy_png); free(ae_sgd); free(ae_kfac); free(ae_png);
}

int ng_cmd_demo(int argc, char **argv)
{
    demo_cfg c = {"natgrad-demo", 10, 20000, 2, 300.0, "curves", "curves", 0};
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
        {.name = "no-plots", .type = NG_CLI_FLAG, .dst = &c.no_plots, .help = "do not draw figures"},
        NG_CLI_END};
    const ng_cli_opt *tables[] = {opts};
    const ng_cli_spec spec = {
        .name = "demo", .synopsis = "[options]", .tables = tables, .n_tables = 1,
        .intro = "Short race of both methods against their baselines, on built-in data:\n"
                 "  1. Goldstone-GD vs gradient descent on the paper's toy (repro goldstone-toy),\n"
                 "  2. K-FAC vs SGD with Nesterov momentum on a deep autoencoder (ae train),\n"
                 "     same wall-clock budget each. Logs, plots and the commands run go to --out.\n"};
    int rc = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    ng_cli_banner_spec(&spec, NULL);
    if (mkdir(c.out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "natgrad demo: cannot create %s: %s\n", c.out_dir, strerror(errno));
        return NG_EXIT_FAIL;
    }
    int gw = 0, kw = 0;
    rc = toy_part(&c, &gw);
    if (rc == NG_EXIT_OK) rc = kfac_part(&c, &kw);
    if (rc == NG_EXIT_OK && !c.no_plots) plots(&c);
    if (rc != NG_EXIT_OK) return rc;
    printf("\nverdict: Goldstone-GD %s GD; K-FAC %s SGD-Nesterov at the %g s budget.\n",
           gw ? "beats" : "does NOT beat", kw ? "beats" : "does NOT beat", c.seconds);
    return NG_EXIT_OK;
}
