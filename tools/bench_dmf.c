/* bench_dmf.c - 'natgrad bench dmf': seconds per step of dynamic Bernoulli MF at
 * MovieLens-20M size (synthetic ratings built in memory), split into the model gradient,
 * the prior psi, the optimiser and the symmetry phases, plus the memory it takes. */
#include "cli.h"
#include "commands.h"

#include <getopt.h>
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

static void bench_usage(FILE *f)
{
    fprintf(f,
            "usage: natgrad bench dmf [options]\n\n"
            "Builds a MovieLens-20M-sized dynamic Bernoulli MF problem in memory (synthetic\n"
            "ratings, no file) and reports memory and seconds per step of each part: model\n"
            "gradient, prior psi, optimiser (AdaGrad), and the symmetry phases (gauge phase\n"
            "with k2 natural-gradient steps, Procrustes sync), then full Goldstone-GD steps.\n\n"
            "Options:\n"
            "  --users N     users (default 138000)\n"
            "  --items N     items (default 27000)\n"
            "  --ratings N   ratings before binarisation (default 23300000: about 10M\n"
            "                training ratings after the median discard and 50%% split, as\n"
            "                MovieLens-20M in the paper)\n"
            "  --bins T      time bins (default 100)\n"
            "  --dim D       embedding dimension (default 30)\n"
            "  --k2 N        gauge natural-gradient steps per phase (default 10)\n"
            "  --steps N     timed repetitions of each part (default 3)\n"
            "  --seed S      seed (default 1)\n"
            "  --threads N   OpenMP/BLAS threads (default: all)\n"
            "  --help        this text\n");
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

int ng_bench_dmf(int argc, char **argv)
{
    const char *cmd = "bench dmf";
    long users = 138000, items = 27000, ratings = 23300000, bins = 100, dim = 30, steps = 3,
         threads = 0, k2 = 10;
    uint64_t seed = 1;
    static const struct option opts[] = {
        {"users", required_argument, 0, 'u'}, {"items", required_argument, 0, 'i'},
        {"ratings", required_argument, 0, 'r'}, {"bins", required_argument, 0, 'T'},
        {"dim", required_argument, 0, 'd'},   {"steps", required_argument, 0, 'n'},
        {"threads", required_argument, 0, 't'}, {"seed", required_argument, 0, 's'},
        {"k2", required_argument, 0, '2'},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'u': if (!ng_cli_parse_long(cmd, "--users", optarg, 2, 100000000, &users)) return NG_EXIT_USAGE; break;
        case 'i': if (!ng_cli_parse_long(cmd, "--items", optarg, 2, 100000000, &items)) return NG_EXIT_USAGE; break;
        case 'r': if (!ng_cli_parse_long(cmd, "--ratings", optarg, 10, 2000000000L, &ratings)) return NG_EXIT_USAGE; break;
        case 'T': if (!ng_cli_parse_long(cmd, "--bins", optarg, 1, 100000, &bins)) return NG_EXIT_USAGE; break;
        case 'd': if (!ng_cli_parse_long(cmd, "--dim", optarg, 1, 1024, &dim)) return NG_EXIT_USAGE; break;
        case 'n': if (!ng_cli_parse_long(cmd, "--steps", optarg, 1, 100000, &steps)) return NG_EXIT_USAGE; break;
        case 't': if (!ng_cli_parse_long(cmd, "--threads", optarg, 1, 4096, &threads)) return NG_EXIT_USAGE; break;
        case '2': if (!ng_cli_parse_long(cmd, "--k2", optarg, 1, 100000, &k2)) return NG_EXIT_USAGE; break;
        case 's': if (!ng_cli_parse_u64(cmd, "--seed", optarg, &seed)) return NG_EXIT_USAGE; break;
        case 'h': bench_usage(stdout); return NG_EXIT_OK;
        default: return ng_cli_bad_option(cmd);
        }
    }
    if (optind < argc) return ng_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    ng_cli_set_threads((int)threads);
    ng_cli_banner(cmd, seed, "users %ld | items %ld | ratings %ld | bins %ld | dim %ld | k2 %ld | steps %ld",
                  users, items, ratings, bins, dim, k2, steps);

    int rc = NG_EXIT_FAIL;
    ng_ratings R;
    ng_dmf_data D;
    ng_dmf_model *model = NULL;
    ng_graph *graph = NULL;
    ng_inner *inner = NULL;
    ng_goldstone *gs = NULL;
    float *Z = NULL, *G = NULL;
    double *Gt = NULL;
    memset(&R, 0, sizeof R);
    memset(&D, 0, sizeof D);

    double t0 = ng_cli_now();
    ng_synth_ratings_params sp = ng_synth_ratings_default_params();
    sp.n_users = (size_t)users, sp.n_items = (size_t)items, sp.n_ratings = (size_t)ratings;
    sp.days = 7000; /* MovieLens-20M spans about 20 years */
    sp.seed = seed;
    if (ng_synth_ratings(&sp, &R) != NG_OK) {
        ng_cli_fail(cmd, "synthetic ratings");
        goto done;
    }
    double t_syn = ng_cli_now() - t0;
    t0 = ng_cli_now();
    ng_dmf_prep_params pp = ng_dmf_prep_default_params();
    pp.bins = (size_t)bins;
    pp.seed = seed;
    if (ng_dmf_prepare(&R, &pp, &D) != NG_OK) {
        ng_cli_fail(cmd, "preprocessing");
        goto done;
    }
    ng_synth_ratings_free(&R);
    const size_t T = D.T, N = D.n_users + D.n_items, d = (size_t)dim, n = T * N * d;
    if (ng_dmf_model_new(&D, d, 1.0, &model) != NG_OK || ng_graph_chain(T, 10.0, &graph) != NG_OK) {
        ng_cli_fail(cmd, "model");
        goto done;
    }
    double t_prep = ng_cli_now() - t0;
    fprintf(stderr, "problem: %zu users, %zu items, %zu bins, d %zu | train %zu valid %zu test %zu "
                    "| synth %.1f s, prep+model %.1f s\n",
            D.n_users, D.n_items, T, d, D.split[0].n, D.split[1].n, D.split[2].n, t_syn, t_prep);

    Z = malloc(n * sizeof *Z);
    G = malloc(n * sizeof *G);
    Gt = calloc(T * d * d, sizeof *Gt);
    ng_inner_params ip = ng_inner_default_params(NG_INNER_ADAGRAD);
    if (!Z || !G || !Gt || ng_inner_new(&ip, n, &inner) != NG_OK) {
        fprintf(stderr, "natgrad %s: out of memory for %zu parameters (%.2f GiB each array)\n", cmd,
                n, (double)n * 4 / (1 << 30));
        goto done;
    }
    ng_rng rng;
    ng_rng_seed(&rng, seed);
    ng_dmf_init(model, &rng, 0.1, Z);
    memset(G, 0, n * sizeof *G);

    timing tg = {"model gradient (ell)", 0, 0, 0}, tp = {"prior psi + gradient", 0, 0, 0},
           to = {"optimiser (AdaGrad)", 0, 0, 0}, tgp = {"gauge phase (k2 steps + rotation, ", 0, 0, 0},
           tsy = {"sync phase (Procrustes)", 0, 0, 0}, tev = {"evaluation (3 splits)", 0, 0, 0};
    ng_goldstone_params gp = ng_goldstone_default_params();
    gp.k2 = (int)k2;
    char gname[64]; /* the default gauge solver, named in the table */
    snprintf(gname, sizeof gname, "%s%s)", tgp.name, ng_gauge_solver_name(gp.gauge_solver));
    tgp.name = gname;
    for (long s = 0; s < steps; s++) {
        double ell, psi, a = ng_cli_now(), b;
        memset(G, 0, n * sizeof *G); /* the driver zeroes its gradient too: count it here */
        if (ng_dmf_loss(model, Z, G, &ell) != NG_OK) goto fail_lib;
        b = ng_cli_now(), tick(&tg, b - a), a = b;
        if (ng_graph_psi_grad(graph, N, d, Z, G, &psi) != NG_OK) goto fail_lib;
        b = ng_cli_now(), tick(&tp, b - a), a = b;
        ng_inner_step(inner, Z, G);
        b = ng_cli_now(), tick(&to, b - a), a = b;
        if (ng_gauge_phase(graph, N, d, Z, Gt, &gp) != NG_OK) goto fail_lib;
        b = ng_cli_now(), tick(&tgp, b - a), a = b;
        if (ng_sync(graph, N, d, Z, NULL) != NG_OK) goto fail_lib;
        b = ng_cli_now(), tick(&tsy, b - a), a = b;
        ng_dmf_eval ev;
        if (ng_dmf_evaluate(model, Z, &ev) != NG_OK) goto fail_lib;
        b = ng_cli_now(), tick(&tev, b - a), a = b;
        fprintf(stderr, "rep %ld/%ld: ell %.6g psi %.6g test_ll %.5f\n", s + 1, steps, ell, psi, ev.ll[2]);
    }
    double peak, cur;
    rss_mib(&peak, &cur);
    double step_sum = tg.sum + tp.sum + to.sum;
    printf("\nnatgrad bench dmf: T %zu, users %zu, items %zu, d %zu, train ratings %zu, threads %d\n",
           T, D.n_users, D.n_items, d, D.split[0].n, ng_blas_threads());
    printf("%-36s %12s %12s %10s\n", "part", "mean s", "min s", "per step");
    const timing *all[6] = {&tg, &tp, &to, &tgp, &tsy, &tev};
    for (int k = 0; k < 6; k++)
        printf("%-36s %12.4f %12.4f %9.1f%%\n", all[k]->name, all[k]->sum / all[k]->n, all[k]->min,
               100.0 * all[k]->sum / step_sum);
    printf("%-36s %12.4f\n", "inner step (gradient+psi+optimiser)", step_sum / (double)steps);
    printf("gauge phase every k1 = 100 steps: %.2f%% overhead; sync every 100: %.2f%%\n",
           100.0 * (tgp.sum / tgp.n) / (100 * step_sum / (double)steps + tgp.sum / tgp.n),
           100.0 * (tsy.sum / tsy.n) / (100 * step_sum / (double)steps + tsy.sum / tsy.n));
    const double gib = 1.0 / (1 << 30);
    printf("memory: Z %.2f GiB, gradient %.2f GiB, AdaGrad state %.2f GiB, model (CSR) %.2f GiB, "
           "data %.2f GiB | peak RSS %.2f GiB\n",
           (double)n * 4 * gib, (double)n * 4 * gib, (double)n * 4 * gib,
           (double)ng_dmf_model_bytes(model) * gib,
           (double)(D.split[0].n + D.split[1].n + D.split[2].n) * 13 * gib, peak / 1024);
    free(G);
    G = NULL;
    ng_inner_free(inner);
    inner = NULL;

    /* full driver steps (its own gradient and optimiser state), symmetry phase included */
    gp.symmetry = NG_SYM_GOLDSTONE;
    gp.k1 = 1000000;
    gp.inner = ip;
    if (ng_goldstone_new(&gp, graph, N, d, ng_dmf_loss, model, Z, &gs) != NG_OK) goto fail_lib;
    timing tdrv = {"Goldstone-GD driver step", 0, 0, 0};
    for (long s = 0; s < steps; s++) {
        ng_goldstone_stats st;
        if (ng_goldstone_step(gs, 0, &st) != NG_OK) goto fail_lib;
        tick(&tdrv, st.seconds);
    }
    rss_mib(&peak, &cur);
    printf("%-36s %12.4f %12.4f   (peak RSS %.2f GiB)\n", tdrv.name, tdrv.sum / tdrv.n, tdrv.min,
           peak / 1024);
    rc = NG_EXIT_OK;
    goto done;
fail_lib:
    ng_cli_fail(cmd, "step");
done:
    ng_goldstone_free(gs);
    ng_inner_free(inner);
    ng_graph_free(graph);
    ng_dmf_model_free(model);
    ng_dmf_data_free(&D);
    ng_synth_ratings_free(&R);
    free(Z);
    free(G);
    free(Gt);
    return rc;
}
