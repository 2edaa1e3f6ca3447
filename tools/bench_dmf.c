/* bench_dmf.c - 'natgrad bench dmf': seconds per step of dynamic Bernoulli MF at
 * MovieLens-20M size (synthetic ratings built in memory), split into the model gradient,
 * the prior psi, the optimiser and the symmetry phases, plus the memory it takes. */
#include "bench_util.h"
#include "cli.h"
#include "commands.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* peak and current resident set size in MiB, from /proc/self/status (0 if unknown) */
static void rss_mib(double *peak, double *cur)
{
    *peak = *cur = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        long kb;
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) *peak = kb / 1024.0;
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) *cur = kb / 1024.0;
    }
    fclose(f);
}

typedef struct {
    const char *name;
    double sum, min;
    int n;
} timing;

static void tick(timing *t, double s)
{
    t->sum += s;
    t->min = t->n ? fmin(t->min, s) : s;
    t->n++;
}

typedef struct {
    long users, items, ratings, bins, dim, steps, threads, k2;
    uint64_t seed;
} bench_cfg;

/* Returns -1 to go on, else an exit code. */
static int parse(bench_cfg *c, int argc, char **argv)
{
    *c = (bench_cfg){138000, 27000, 23300000, 100, 30, 3, 0, 10, 1};
    const ng_cli_opt opts[] = {
        {.name = "users", .type = NG_CLI_LONG, .dst = &c->users, .lo = 2, .hi = 1e8, .meta = "N", .help = "users"},
        {.name = "items", .type = NG_CLI_LONG, .dst = &c->items, .lo = 2, .hi = 1e8, .meta = "N", .help = "items"},
        {.name = "ratings", .type = NG_CLI_LONG, .dst = &c->ratings, .lo = 10, .hi = 2e9, .meta = "N",
         .help = "ratings before binarisation (the default gives about 10M\ntraining ratings after the "
                 "median discard and 50% split, as\nMovieLens-20M in the paper)"},
        {.name = "bins", .type = NG_CLI_LONG, .dst = &c->bins, .lo = 1, .hi = NG_DMF_MAX_BINS, .meta = "T", .help = "time bins"},
        {.name = "dim", .type = NG_CLI_LONG, .dst = &c->dim, .lo = 1, .hi = 1024, .meta = "D",
         .help = "embedding dimension"},
        {.name = "k2", .type = NG_CLI_LONG, .dst = &c->k2, .lo = 1, .hi = 100000, .meta = "N",
         .help = "gauge natural-gradient steps per phase"},
        {.name = "steps", .type = NG_CLI_LONG, .dst = &c->steps, .lo = 1, .hi = 100000, .meta = "N",
         .help = "timed repetitions of each part"},
        NG_CLI_END};
    ng_cli_opt common[NG_BENCH_COMMON_OPTS];
    ng_bench_common_opts(common, &c->seed, &c->threads);
    const ng_cli_opt *tables[] = {opts, common};
    const ng_cli_spec spec = {
        .name = "bench dmf", .synopsis = "[options]", .tables = tables, .n_tables = 2,
        .intro = "Builds a MovieLens-20M-sized dynamic Bernoulli MF problem in memory (synthetic\n"
                 "ratings, no file) and reports memory and seconds per step of each part: model\n"
                 "gradient, prior psi, optimiser (AdaGrad), and the symmetry phases (gauge phase\n"
                 "with k2 natural-gradient steps, Procrustes sync), then inner steps of the\n"
                 "Goldstone-GD driver (gradient, psi and optimiser; no symmetry phase).\n"};
    int rc = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    ng_bench_begin(&spec, c->threads);
    return -1;
}

/* The problem every part is timed on. */
typedef struct {
    ng_dmf_data D;
    ng_dmf_model *model;
    ng_graph *graph;
    float *Z;
    size_t T, N, d, n;
} problem;

static void problem_free(problem *pr)
{
    ng_graph_free(pr->graph);
    ng_dmf_model_free(pr->model);
    ng_dmf_data_free(&pr->D);
    free(pr->Z);
}

/* Synthetic ratings -> bins and splits -> model, chain prior and the initial Z. */
static int problem_build(const char *cmd, const bench_cfg *c, problem *pr)
{
    ng_ratings R;
    memset(&R, 0, sizeof R);
    memset(pr, 0, sizeof *pr);
    double t0 = ng_cli_now();
    ng_synth_ratings_params sp = ng_synth_ratings_default_params();
    sp.n_users = (size_t)c->users, sp.n_items = (size_t)c->items, sp.n_ratings = (size_t)c->ratings;
    sp.days = 7000; /* MovieLens-20M spans about 20 years */
    sp.seed = c->seed;
    if (ng_synth_ratings(&sp, &R) != NG_OK) return ng_cli_fail(cmd, "synthetic ratings");
    double t_syn = ng_cli_now() - t0;
    t0 = ng_cli_now();
    ng_dmf_prep_params pp = ng_dmf_prep_default_params();
    pp.bins = (size_t)c->bins;
    pp.seed = c->seed;
    ng_status st = ng_dmf_prepare(&R, &pp, &pr->D);
    ng_synth_ratings_free(&R);
    if (st != NG_OK) return ng_cli_fail(cmd, "preprocessing");
    const ng_dmf_data *D = &pr->D;
    pr->T = D->T, pr->N = D->n_users + D->n_items, pr->d = (size_t)c->dim;
    pr->n = pr->T * pr->N * pr->d;
    if (ng_dmf_model_new(D, pr->d, 1.0, &pr->model) != NG_OK || ng_graph_chain(pr->T, 10.0, &pr->graph) != NG_OK)
        return ng_cli_fail(cmd, "model");
    double t_prep = ng_cli_now() - t0;
    fprintf(stderr, "problem: %zu users, %zu items, %zu bins, d %zu | train %zu valid %zu test %zu "
                    "| synth %.1f s, prep+model %.1f s\n",
            D->n_users, D->n_items, pr->T, pr->d, D->split[0].n, D->split[1].n, D->split[2].n, t_syn, t_prep);
    pr->Z = malloc(pr->n * sizeof *pr->Z);
    if (!pr->Z) {
        fprintf(stderr, "natgrad %s: out of memory for %zu parameters (%.2f GiB each array)\n", cmd,
                pr->n, (double)pr->n * 4 / (1 << 30));
        return NG_EXIT_FAIL;
    }
    ng_rng rng;
    ng_rng_seed(&rng, c->seed);
    ng_dmf_init(pr->model, &rng, 0.1, pr->Z);
    return NG_EXIT_OK;
}

static void print_parts(const problem *pr, const bench_cfg *c, const timing *const all[6])
{
    double peak, cur;
    rss_mib(&peak, &cur);
    const ng_dmf_data *D = &pr->D;
    const timing *tg = all[0], *tp = all[1], *to = all[2], *tgp = all[3], *tsy = all[4];
    double step_sum = tg->sum + tp->sum + to->sum;
    printf("\nnatgrad bench dmf: T %zu, users %zu, items %zu, d %zu, train ratings %zu, threads %d\n",
           pr->T, D->n_users, D->n_items, pr->d, D->split[0].n, ng_blas_threads());
    printf("%-36s %12s %12s %10s\n", "part", "mean s", "min s", "per step");
    for (int k = 0; k < 6; k++)
        printf("%-36s %12.4f %12.4f %9.1f%%\n", all[k]->name, all[k]->sum / all[k]->n, all[k]->min,
               100.0 * all[k]->sum / step_sum);
    printf("%-36s %12.4f\n", "inner step (gradient+psi+optimiser)", step_sum / (double)c->steps);
    printf("gauge phase every k1 = 100 steps: %.2f%% overhead; sync every 100: %.2f%%\n",
           100.0 * (tgp->sum / tgp->n) / (100 * step_sum / (double)c->steps + tgp->sum / tgp->n),
           100.0 * (tsy->sum / tsy->n) / (100 * step_sum / (double)c->steps + tsy->sum / tsy->n));
    const double gib = 1.0 / (1 << 30);
    double n = (double)pr->n;
    printf("memory: Z %.2f GiB, gradient %.2f GiB, AdaGrad state %.2f GiB, model (CSR) %.2f GiB, "
           "data %.2f GiB | peak RSS %.2f GiB\n",
           n * 4 * gib, n * 4 * gib, n * 4 * gib, (double)ng_dmf_model_bytes(pr->model) * gib,
           (double)(D->split[0].n + D->split[1].n + D->split[2].n) * 13 * gib, peak / 1024);
}

/* Each part of a step on its own, c->steps times, then the table. */
static int time_parts(const char *cmd, const bench_cfg *c, problem *pr)
{
    const size_t T = pr->T, N = pr->N, d = pr->d, n = pr->n;
    float *G = malloc(n * sizeof *G), *Z = pr->Z;
    double *Gt = calloc(T * d * d, sizeof *Gt);
    ng_inner *inner = NULL;
    ng_inner_params ip = ng_inner_default_params(NG_INNER_ADAGRAD);
    int rc = NG_EXIT_FAIL;
    if (!G || !Gt || ng_inner_new(&ip, n, &inner) != NG_OK) {
        fprintf(stderr, "natgrad %s: out of memory for %zu parameters (%.2f GiB each array)\n", cmd,
                n, (double)n * 4 / (1 << 30));
        goto done;
    }
    memset(G, 0, n * sizeof *G);
    timing tg = {"model gradient (ell)", 0, 0, 0}, tp = {"prior psi + gradient", 0, 0, 0},
           to = {"optimiser (AdaGrad)", 0, 0, 0}, tgp = {"gauge phase (k2 steps + rotation, ", 0, 0, 0},
           tsy = {"sync phase (Procrustes)", 0, 0, 0}, tev = {"evaluation (3 splits)", 0, 0, 0};
    ng_goldstone_params gp = ng_goldstone_default_params();
    gp.k2 = (int)c->k2;
    char gname[64]; /* the default gauge solver, named in the table */
    snprintf(gname, sizeof gname, "%s%s)", tgp.name, ng_gauge_solver_name(gp.gauge_solver));
    tgp.name = gname;
    for (long s = 0; s < c->steps; s++) {
        double ell, psi, a = ng_cli_now(), b;
        memset(G, 0, n * sizeof *G); /* the driver zeroes its gradient too: count it here */
        if (ng_dmf_loss(pr->model, Z, G, &ell) != NG_OK) goto fail_lib;
        b = ng_cli_now(), tick(&tg, b - a), a = b;
        if (ng_graph_psi_grad(pr->graph, N, d, Z, G, &psi) != NG_OK) goto fail_lib;
        b = ng_cli_now(), tick(&tp, b - a), a = b;
        ng_inner_step(inner, Z, G);
        b = ng_cli_now(), tick(&to, b - a), a = b;
        if (ng_gauge_phase(pr->graph, N, d, Z, Gt, &gp) != NG_OK) goto fail_lib;
        b = ng_cli_now(), tick(&tgp, b - a), a = b;
        if (ng_sync(pr->graph, N, d, Z, NULL) != NG_OK) goto fail_lib;
        b = ng_cli_now(), tick(&tsy, b - a), a = b;
        ng_dmf_eval ev;
        if (ng_dmf_evaluate(pr->model, Z, &ev) != NG_OK) goto fail_lib;
        b = ng_cli_now(), tick(&tev, b - a), a = b;
        fprintf(stderr, "rep %ld/%ld: ell %.6g psi %.6g test_ll %.5f\n", s + 1, c->steps, ell, psi, ev.ll[2]);
    }
    const timing *const all[6] = {&tg, &tp, &to, &tgp, &tsy, &tev};
    print_parts(pr, c, all);
    rc = NG_EXIT_OK;
    goto done;
fail_lib:
    ng_cli_fail(cmd, "step");
done:
    ng_inner_free(inner);
    free(G);
    free(Gt);
    return rc;
}

/* Inner steps of the driver (its own gradient and optimiser state); k1 is set beyond the
 * timed steps, so no symmetry phase runs in them (the phases are timed on their own). */
static int time_driver(const char *cmd, const bench_cfg *c, problem *pr)
{
    ng_goldstone_params gp = ng_goldstone_default_params();
    gp.k2 = (int)c->k2;
    gp.symmetry = NG_SYM_GOLDSTONE;
    gp.k1 = 1000000;
    gp.inner = ng_inner_default_params(NG_INNER_ADAGRAD);
    ng_goldstone *gs = NULL;
    timing tdrv = {"Goldstone-GD driver step", 0, 0, 0};
    int rc = NG_EXIT_FAIL;
    if (ng_goldstone_new(&gp, pr->graph, pr->N, pr->d, ng_dmf_loss, pr->model, pr->Z, &gs) != NG_OK)
        goto done;
    for (long s = 0; s < c->steps; s++) {
        ng_goldstone_stats st;
        if (ng_goldstone_step(gs, 0, &st) != NG_OK) goto done;
        tick(&tdrv, st.seconds);
    }
    double peak, cur;
    rss_mib(&peak, &cur);
    printf("%-36s %12.4f %12.4f   (peak RSS %.2f GiB)\n", tdrv.name, tdrv.sum / tdrv.n, tdrv.min,
           peak / 1024);
    rc = NG_EXIT_OK;
done:
    if (rc != NG_EXIT_OK) ng_cli_fail(cmd, "step");
    ng_goldstone_free(gs);
    return rc;
}

int ng_bench_dmf(int argc, char **argv)
{
    const char *cmd = "bench dmf";
    bench_cfg c;
    int rc = parse(&c, argc, argv);
    if (rc >= 0) return rc;
    problem pr;
    rc = problem_build(cmd, &c, &pr);
    if (rc == NG_EXIT_OK) rc = time_parts(cmd, &c, &pr);
    if (rc == NG_EXIT_OK) rc = time_driver(cmd, &c, &pr);
    problem_free(&pr);
    return rc;
}
