/* cmd_dmf.c - 'natgrad dmf train|synth': dynamic Bernoulli matrix factorisation on
 * ratings (Bamler & Mandt 2018, section 5.2) with Goldstone-GD or a plain optimiser, and
 * the synthetic MovieLens-like ratings generator. */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SET NG_CLI_SETTING

/* ------------------------------------------------------------------ synth */
typedef struct {
    ng_synth_ratings_params p;
    const char *out;
    int whole_stars;
    long threads;
    size_t bins; /* of the summary */
} synth_cfg;

static int cmd_synth(int argc, char **argv)
{
    synth_cfg c;
    memset(&c, 0, sizeof c);
    c.p = ng_synth_ratings_default_params();
    c.whole_stars = !c.p.half_stars;
    c.bins = ng_dmf_prep_default_params().bins; /* as 'dmf train' bins */
    ng_synth_ratings_params *p = &c.p;
    const ng_cli_opt opts[] = {
        {.name = "out", .type = NG_CLI_STR, .dst = &c.out, .meta = "FILE.csv", .help = "output CSV file",
         .flags = NG_CLI_REQUIRED},
        {.name = "users", .type = NG_CLI_SIZE, .dst = &p->n_users, .lo = 1, .hi = 1e8, .meta = "N", .help = "number of users"},
        {.name = "items", .type = NG_CLI_SIZE, .dst = &p->n_items, .lo = 1, .hi = 1e8, .meta = "N", .help = "number of items"},
        {.name = "ratings", .type = NG_CLI_SIZE, .dst = &p->n_ratings, .lo = 1, .hi = 2e9, .meta = "N",
         .help = "number of ratings"},
        {.name = "days", .type = NG_CLI_DOUBLE, .dst = &p->days, .lo = 1.0 / 86400, .hi = 1e6, .meta = "D",
         .help = "time span in days"},
        {.name = "dim", .type = NG_CLI_SIZE, .dst = &p->dim, .lo = 1, .hi = 256, .meta = "K",
         .help = "dimension of the true factors"},
        {.name = "drift", .type = NG_CLI_DOUBLE, .dst = &p->drift, .lo = 0, .hi = 100, .meta = "S",
         .help = "std of each factor coordinate's change over the span"},
        {.name = "whole-stars", .type = NG_CLI_FLAG, .dst = &c.whole_stars,
         .help = "ratings 1..5 instead of 0.5..5 in half steps"},
        {.name = "activity-sigma", .type = NG_CLI_DOUBLE, .dst = &p->activity_sigma, .lo = 0, .hi = 5, .meta = "S",
         .help = "sigma of the log-normal user activity (larger: heavier tail)"},
        {.name = "item-zipf", .type = NG_CLI_DOUBLE, .dst = &p->item_zipf, .lo = 0, .hi = 5, .meta = "A",
         .help = "Zipf exponent of item popularity, weight 1/(rank + 10)^A"},
        {.name = "user-span", .type = NG_CLI_DOUBLE, .dst = &p->user_span, .lo = 0, .hi = 1, .meta = "F",
         .help = "each user rates only in a window of F times the span (0 < F <= 1;\n"
                 "window start uniform per user, gaps not counted)"},
        {.name = "gaps", .type = NG_CLI_SIZE, .dst = &p->gaps, .lo = 0, .hi = NG_SYNTH_MAX_GAPS, .meta = "K",
         .help = "empty intervals without ratings, at random positions"},
        {.name = "gap-fraction", .type = NG_CLI_DOUBLE, .dst = &p->gap_fraction, .lo = 0, .hi = 0.9, .meta = "F",
         .help = "share of the span the gaps cover together (0 < F <= 0.9)"},
        {.name = "bins", .type = NG_CLI_SIZE, .dst = &c.bins, .lo = 1, .hi = NG_DMF_MAX_BINS, .meta = "T",
         .help = "equal-duration time bins of the summary printed at the end\n"
                 "(as 'dmf train --bins T' makes them)"},
        {.name = "seed", .type = NG_CLI_U64, .dst = &p->seed, .meta = "S", .help = "random seed"},
        {.name = "threads", .type = NG_CLI_LONG, .dst = &c.threads, .lo = 0, .hi = 1024, .meta = "N",
         .help = "BLAS and OpenMP threads, 0 = leave as is"},
        NG_CLI_END,
    };
    const ng_cli_opt *tables[] = {opts};
    ng_cli_spec spec = {.name = "dmf synth",
                        .synopsis = "--out FILE.csv [options]",
                        .intro = "Writes synthetic ratings in MovieLens ratings.csv format (header\n"
                                 "userId,movieId,rating,timestamp) from a model with known factors that drift\n"
                                 "slowly in time (random walks). The file is written atomically. Then prints\n"
                                 "how many ratings, users and items it holds and the ratings per time bin\n"
                                 "(min, median, max; empty bins).",
                        .tables = tables,
                        .n_tables = 1};
    int rc = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    p->half_stars = !c.whole_stars;
    if (ng_synth_ratings_params_check(p)) return ng_cli_usage_error(spec.name, "%s", ng_last_error());
    ng_cli_set_threads((int)c.threads);
    ng_cli_banner_spec(&spec, NULL);
    double t0 = ng_cli_now();
    ng_ratings r;
    if (ng_synth_ratings(p, &r) != NG_OK) return ng_cli_fail(spec.name, "cannot make ratings");
    ng_ratings_summary sum;
    if (ng_ratings_write_csv(c.out, &r) != NG_OK || ng_ratings_summarize(&r, c.bins, &sum) != NG_OK) {
        ng_synth_ratings_free(&r);
        return ng_cli_fail(spec.name, "cannot write ratings");
    }
    ng_synth_ratings_free(&r);
    fprintf(stderr, "natgrad %s: wrote %zu ratings to %s in %.2f s\n", spec.name, p->n_ratings, c.out,
            ng_cli_now() - t0);
    printf("ratings %zu, users with ratings %zu, items with ratings %zu\n"
           "ratings per bin (%zu equal-duration bins of %.4g days): min %zu, median %g, max %zu; "
           "empty bins %zu\n",
           sum.n_ratings, sum.n_users, sum.n_items, sum.bins,
           (double)((uint64_t)sum.t_last - (uint64_t)sum.t_first) / 86400.0 / (double)sum.bins, sum.bin_min,
           sum.bin_median, sum.bin_max, sum.n_empty_bins);
    return NG_EXIT_OK;
}

/* ------------------------------------------------------------------ train */
typedef struct {
    const char *ratings, *out;
    ng_dmf_params dp;
    ng_dmf_prep_params pp;
    int binning; /* ng_dmf_binning, as an int for its option */
    long threads;
    ng_goldstone_params gp;
    ng_train_params rp;
    ng_cli_goldstone_ctx gctx;
    ng_cli_inner_ctx ictx;
    ng_cli_opt own[16], run[NG_CLI_GROUP_MAX], gold[NG_CLI_GROUP_MAX], inner[NG_CLI_GROUP_MAX];
    const ng_cli_opt *tables[4];
    ng_cli_spec spec;
} train_cfg;

static const char *const k_binnings[] = {"duration", "count", NULL}; /* = ng_dmf_binning */

static void train_preset(void *ctx)
{
    train_cfg *c = ctx;
    ng_cli_goldstone_preset(&c->gctx);
    if (c->gctx.paper) c->gp.k1 = NG_DMF_PAPER_K1; /* section 5.2's, not the toy's; --k1 still wins */
    ng_cli_inner_preset(&c->ictx);
}

static void train_table(train_cfg *c)
{
    const ng_cli_opt g[] = {
        {.name = "", .type = NG_CLI_SECTION, .help = "Data and model"},
        {.name = "ratings", .type = NG_CLI_STR, .dst = &c->ratings, .meta = "FILE",
         .help = "ratings file: MovieLens u.data, ratings.dat or ratings.csv\n(optionally gzip)",
         .flags = NG_CLI_REQUIRED | SET},
        {.name = "bins", .type = NG_CLI_SIZE, .dst = &c->pp.bins, .lo = 1, .hi = NG_DMF_MAX_BINS, .meta = "T",
         .help = "number of time bins", .flags = SET},
        {.name = "binning", .type = NG_CLI_CHOICE, .dst = &c->binning, .choices = k_binnings,
         .help = "equal-duration or equal-count bins", .flags = SET},
        {.name = "dim", .type = NG_CLI_SIZE, .dst = &c->dp.dim, .lo = 1, .hi = 1024, .meta = "D",
         .help = "embedding dimension d", .flags = SET},
        {.name = "lambda", .type = NG_CLI_DOUBLE, .dst = &c->dp.lambda, .lo = 1e-12, .hi = 1e12, .meta = "L",
         .help = "chain coupling lambda", .flags = SET},
        {.name = "gamma", .type = NG_CLI_DOUBLE, .dst = &c->dp.gamma, .lo = 0, .hi = 1e12, .meta = "G",
         .help = "local L2 strength gamma", .flags = SET},
        {.name = "init-std", .type = NG_CLI_DOUBLE, .dst = &c->dp.init_std, .lo = 0, .hi = 100, .meta = "S",
         .help = "std of the random initial vectors", .flags = SET},
        {.name = "seed", .type = NG_CLI_U64, .dst = &c->pp.seed, .meta = "S",
         .help = "seed of the split and the initialisation", .flags = SET},
        {.name = "out", .type = NG_CLI_STR, .dst = &c->out, .meta = "DIR",
         .help = "write U.npy (T x users x d), V.npy (T x items x d), users.csv,\n"
                 "items.csv (index,original_id) and bins.csv at the end"},
        NG_CLI_END,
    };
    NG_CLI_KEEP_TABLE(c->own, g);
}

static void train_init(train_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->dp = ng_dmf_default_params();
    c->pp = ng_dmf_prep_default_params();
    c->binning = (int)c->pp.binning;
    c->gp = ng_goldstone_default_params();
    c->gp.inner = ng_inner_default_params(NG_INNER_ADAGRAD); /* the paper's optimiser for dmf */
    c->rp = ng_train_default_params();
    train_table(c);
    ng_cli_group_run(c->run, &c->rp, &c->threads);
    ng_cli_group_goldstone(c->gold, &c->gp, &c->gctx);
    ng_cli_group_inner(c->inner, &c->gp.inner, &c->ictx);
    c->tables[0] = c->own;
    c->tables[1] = c->run;
    c->tables[2] = c->gold;
    c->tables[3] = c->inner;
    ng_cli_spec *s = &c->spec;
    s->name = "dmf train";
    s->synopsis = "--ratings FILE [options]";
    s->intro = "Dynamic Bernoulli matrix factorisation (Bamler & Mandt 2018, section 5.2):\n"
               "ratings binarised at the median (ties dropped), T time bins coupled by a chain\n"
               "prior with strength lambda, random 50/20/30 train/valid/test split. The log's\n"
               "columns: step,seconds,loss,ell,psi,train_ll,valid_ll,test_ll,train_acc,\n"
               "valid_acc,test_acc,symmetry_seconds,walls,phases,phases_kept (symmetry\n"
               "phases run and kept so far).";
    s->outro = "When Goldstone-GD pays off (scripts/dmf_regimes.sh; docs/goldstone.md): from a few\n"
               "thousand training ratings per bin up, the default sync reaches the objective\n"
               "--symmetry none ends with in 1.4-3.7x fewer steps at lambda 10 (medians; at\n"
               "lambda 100, 1-1.5x); with a few hundred per bin it changes nothing. Phases that\n"
               "would gain less than twice their cost are undone (--min-gain), so on that map\n"
               "it was never slower than none.";
    s->tables = c->tables;
    s->n_tables = 4;
    s->preset = train_preset;
    s->ctx = c;
}

static int ensure_dir(const char *cmd, const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "natgrad %s: cannot create directory %s: %s\n", cmd, dir, strerror(errno));
        return 0;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "natgrad %s: %s is not a directory\n", cmd, dir);
        return 0;
    }
    return 1;
}

/* CSV "index,original_id" */
static ng_status write_idmap(const char *path, const int64_t *ids, size_t n)
{
    ng_atomic_file af;
    ng_status s = ng_atomic_open(&af, path);
    if (s) return s;
    fprintf(af.f, "index,original_id\n");
    for (size_t i = 0; i < n; i++) fprintf(af.f, "%zu,%lld\n", i, (long long)ids[i]);
    return ng_atomic_commit(&af);
}

static ng_status write_bins(const char *path, const ng_dmf_data *D)
{
    ng_atomic_file af;
    ng_status s = ng_atomic_open(&af, path);
    if (s) return s;
    fprintf(af.f, "bin,start,end,ratings\n");
    for (size_t t = 0; t < D->T; t++)
        fprintf(af.f, "%zu,%lld,%lld,%zu\n", t, (long long)D->bin_start[t], (long long)D->bin_start[t + 1],
                D->bin_count[t]);
    return ng_atomic_commit(&af);
}

/* U.npy / V.npy: rows [r0, r0 + n) of every slice, T x n x d */
static ng_status write_factor(const char *path, const float *Z, size_t T, size_t N, size_t d,
                              size_t r0, size_t n)
{
    float *buf = malloc(T * n * d * sizeof *buf + 1);
    if (!buf) return NG_ENOMEM;
    for (size_t t = 0; t < T; t++)
        memcpy(buf + t * n * d, Z + (t * N + r0) * d, n * d * sizeof *buf);
    ng_tensor tn;
    memset(&tn, 0, sizeof tn);
    tn.dtype = NG_F32;
    tn.ndim = 3;
    tn.shape[0] = T;
    tn.shape[1] = n;
    tn.shape[2] = d;
    tn.data = buf;
    ng_status s = ng_npy_write(path, &tn);
    free(buf);
    return s;
}

static int write_outputs(const char *cmd, const char *dir, const ng_dmf_data *D, const float *Z, size_t d)
{
    if (!ensure_dir(cmd, dir)) return 0;
    const size_t T = D->T, nu = D->n_users, ni = D->n_items, N = nu + ni;
    for (size_t k = 0; k < T * N * d; k++)
        if (!isfinite(Z[k])) {
            fprintf(stderr, "natgrad %s: parameters hold NaN/Inf; not written\n", cmd);
            return 0;
        }
    const char *names[5] = {"U.npy", "V.npy", "users.csv", "items.csv", "bins.csv"};
    for (int k = 0; k < 5; k++) {
        char *p = ng_cli_asprintf("%s/%s", dir, names[k]);
        if (!p) return 0;
        ng_status s;
        switch (k) {
        case 0: s = write_factor(p, Z, T, N, d, 0, nu); break;
        case 1: s = write_factor(p, Z, T, N, d, nu, ni); break;
        case 2: s = write_idmap(p, D->user_ids, nu); break;
        case 3: s = write_idmap(p, D->item_ids, ni); break;
        default: s = write_bins(p, D); break;
        }
        if (s != NG_OK) fprintf(stderr, "natgrad %s: cannot write %s: %s\n", cmd, p, ng_last_error());
        free(p);
        if (s != NG_OK) return 0;
    }
    return 1;
}

/* Reads and prepares the ratings; prints the data line. Returns 0 after a message. */
static int load_data(const train_cfg *c, ng_dmf_data *D)
{
    const char *cmd = c->spec.name;
    double t0 = ng_cli_now();
    ng_ratings R;
    memset(&R, 0, sizeof R);
    if (ng_ratings_read(c->ratings, &R) != NG_OK) {
        fprintf(stderr, "natgrad %s: %s\n", cmd, ng_last_error());
        return 0;
    }
    ng_status s = ng_dmf_prepare(&R, &c->pp, D);
    ng_ratings_free(&R);
    if (s != NG_OK) {
        fprintf(stderr, "natgrad %s: %s: %s\n", cmd, c->ratings, ng_last_error());
        return 0;
    }
    fprintf(stderr,
            "data: %zu ratings, %zu users, %zu items | median %g, %zu discarded | "
            "train %zu valid %zu test %zu | %zu bins (%zu empty) | %.2f s\n",
            D->n_input, D->n_users, D->n_items, D->median, D->n_discarded, D->split[0].n, D->split[1].n,
            D->split[2].n, D->T, D->n_empty_bins, ng_cli_now() - t0);
    if (D->n_empty_bins)
        fprintf(stderr, "natgrad %s: warning: %zu of %zu bins hold no ratings; their vectors "
                        "are set by the chain prior and the L2 term alone\n", cmd, D->n_empty_bins, D->T);
    return 1;
}

/* The model, its chain, Z and the method, built on the data; freed together. */
typedef struct {
    ng_dmf_model *model;
    ng_graph *graph;
    float *Z;
    ng_goldstone *gs;
    ng_goldstone_task *task;
    ng_task k;
} dmf_run;

static ng_status dmf_run_new(const train_cfg *c, const ng_dmf_data *D, dmf_run *r)
{
    memset(r, 0, sizeof *r);
    const size_t T = D->T, N = D->n_users + D->n_items, d = c->dp.dim;
    ng_status s = ng_dmf_model_new(D, d, c->dp.gamma, &r->model);
    if (!s) s = ng_graph_chain(T, c->dp.lambda, &r->graph);
    if (s) return s;
    if (!(r->Z = malloc(T * N * d * sizeof *r->Z))) return NG_ENOMEM;
    ng_rng rng;
    ng_rng_seed(&rng, c->pp.seed ^ 0x5eedULL); /* the split took c->pp.seed itself */
    ng_dmf_init(r->model, &rng, c->dp.init_std, r->Z);
    ng_goldstone_params gp = c->gp;
    gp.step_work = ng_dmf_step_work(r->model); /* many ratings: dear steps, phases stay at k1 */
    if ((s = ng_goldstone_new(&gp, r->graph, N, d, ng_dmf_loss, r->model, r->Z, &r->gs))) return s;
    ng_goldstone_task_params tp = ng_dmf_task_params(r->model);
    if ((s = ng_goldstone_task_new(r->gs, r->Z, &tp, &r->task))) return s;
    r->k = ng_goldstone_task_get(r->task);
    return NG_OK;
}

static void dmf_run_free(dmf_run *r)
{
    ng_goldstone_task_free(r->task);
    ng_goldstone_free(r->gs);
    free(r->Z);
    ng_graph_free(r->graph);
    ng_dmf_model_free(r->model);
}

/* The final state and the symmetry overhead, from a row at the end. */
enum { D_LOSS, D_ELL, D_PSI, D_TRAIN_LL, D_VALID_LL, D_TEST_LL, D_TRAIN_ACC, D_VALID_ACC, D_TEST_ACC, D_SYM,
       D_WALLS, D_PHASES, D_KEPT, D_N };
static void print_final(const char *cmd, dmf_run *r, const ng_train_status *st, double t_start)
{
    double v[D_N];
    if (r->k.n_cols != D_N || r->k.row(r->k.self, v) != NG_OK) {
        fprintf(stderr, "natgrad %s: final evaluation: %s\n", cmd, ng_last_error());
        return;
    }
    fprintf(stderr,
            "final step %lld: L %.8g  ell %.8g  psi %.6g | log-likelihood per rating: "
            "train %.5f valid %.5f test %.5f | test accuracy %.4f\n",
            (long long)st->step, v[D_LOSS], v[D_ELL], v[D_PSI], v[D_TRAIN_LL], v[D_VALID_LL], v[D_TEST_LL],
            v[D_TEST_ACC]);
    fprintf(stderr,
            "symmetry overhead: %.3f s of %.3f s training time (%.2f%%); this run's wall time "
            "%.1f s including data and evaluation\n",
            v[D_SYM], st->seconds, 100.0 * v[D_SYM] / (st->seconds > 0 ? st->seconds : 1), ng_cli_now() - t_start);
    if (v[D_PHASES] > v[D_KEPT])
        fprintf(stderr, "symmetry phases: %.0f run, %.0f kept; %.0f undone: they lowered psi by less than "
                        "the steps they cost would have (--min-gain %g)\n",
                v[D_PHASES], v[D_KEPT], v[D_PHASES] - v[D_KEPT], ng_goldstone_get_params(r->gs)->min_gain);
    else if (v[D_PHASES] > 0)
        fprintf(stderr, "symmetry phases: %.0f run, all kept\n", v[D_PHASES]);
}

static int cmd_train(int argc, char **argv)
{
    train_cfg *c = malloc(sizeof *c);
    if (!c) {
        fprintf(stderr, "natgrad dmf train: out of memory\n");
        return NG_EXIT_FAIL;
    }
    train_init(c);
    int rc = ng_cli_parse(&c->spec, argc, argv, NULL, NULL);
    if (rc >= 0) {
        free(c);
        return rc;
    }
    const char *cmd = c->spec.name;
    c->pp.binning = (ng_dmf_binning)c->binning;
    if (c->rp.resume && !c->rp.checkpoint) {
        free(c);
        return ng_cli_usage_error(cmd, "--resume needs --checkpoint DIR");
    }
    ng_cli_set_threads((int)c->threads);
    ng_cli_banner_spec(&c->spec, NULL);
    double t_start = ng_cli_now();
    ng_dmf_data D;
    memset(&D, 0, sizeof D);
    dmf_run r;
    memset(&r, 0, sizeof r);
    rc = NG_EXIT_FAIL;
    if (!load_data(c, &D)) goto done;
    if (dmf_run_new(c, &D, &r) != NG_OK) {
        fprintf(stderr, "natgrad %s: %s\n", cmd, ng_last_error());
        goto done;
    }
    ng_cli_goldstone_interval_note(cmd, r.gs);
    if (c->rp.resume && !ng_ckpt_exists(c->rp.checkpoint))
        fprintf(stderr, "natgrad %s: no checkpoint in %s yet; starting from step 0\n", cmd, c->rp.checkpoint);
    ng_train_status st;
    rc = ng_cli_train(&c->spec, &r.k, &c->rp, &st);
    if (rc != NG_EXIT_OK && rc != 130) goto done;
    if (c->out && !write_outputs(cmd, c->out, &D, r.Z, c->dp.dim)) rc = NG_EXIT_FAIL;
    print_final(cmd, &r, &st, t_start);
done:
    dmf_run_free(&r);
    ng_dmf_data_free(&D);
    free(c);
    return rc;
}

static void dmf_usage(FILE *f)
{
    fprintf(f, "usage: natgrad dmf <train|synth|converge> [options]\n\n"
               "  train     dynamic Bernoulli matrix factorisation on a ratings file\n"
               "  synth     write synthetic MovieLens-like ratings with drifting factors\n"
               "  converge  steps each run of a comparison needed (objective and psi)\n\n"
               "Run 'natgrad dmf SUBCOMMAND --help' for the options.\n");
}

int ng_cmd_dmf(int argc, char **argv)
{
    if (argc < 2) {
        dmf_usage(stderr);
        return NG_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        dmf_usage(stdout);
        return NG_EXIT_OK;
    }
    if (!strcmp(argv[1], "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "synth")) return cmd_synth(argc - 1, argv + 1);
    if (!strcmp(argv[1], "converge")) return ng_cmd_dmf_converge(argc - 1, argv + 1);
    fprintf(stderr, "natgrad dmf: unknown subcommand '%s'\n", argv[1]);
    dmf_usage(stderr);
    return NG_EXIT_USAGE;
}
