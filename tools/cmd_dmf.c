/* cmd_dmf.c - 'natgrad dmf train|synth': dynamic Bernoulli matrix factorisation on
 * ratings (Bamler & Mandt 2018, section 5.2) with Goldstone-GD or a plain optimiser, and
 * the synthetic MovieLens-like ratings generator. */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ synth */
static void synth_usage(FILE *f)
{
    ng_synth_ratings_params p = ng_synth_ratings_default_params();
    fprintf(f,
            "usage: natgrad dmf synth --out FILE.csv [options]\n\n"
            "Writes synthetic ratings in MovieLens ratings.csv format (header\n"
            "userId,movieId,rating,timestamp) from a model with known factors that drift\n"
            "slowly in time (random walks). The file is written atomically.\n\n"
            "Options:\n"
            "  --out FILE       output CSV file (required)\n"
            "  --users N        number of users (default %zu)\n"
            "  --items N        number of items (default %zu)\n"
            "  --ratings N      number of ratings (default %zu)\n"
            "  --days D         time span in days (default %g)\n"
            "  --dim K          dimension of the true factors (default %zu)\n"
            "  --drift S        std of each factor coordinate's change over the span (default %g)\n"
            "  --whole-stars    ratings 1..5 instead of 0.5..5 in half steps\n"
            "  --seed S         random seed (default %llu)\n"
            "  --threads N      OpenMP/BLAS threads (default: all)\n"
            "  --help           this text\n",
            p.n_users, p.n_items, p.n_ratings, p.days, p.dim, p.drift,
            (unsigned long long)p.seed);
}

static int cmd_synth(int argc, char **argv)
{
    const char *cmd = "dmf synth";
    ng_synth_ratings_params p = ng_synth_ratings_default_params();
    const char *out = NULL;
    long threads = 0, v;
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},   {"users", required_argument, 0, 'u'},
        {"items", required_argument, 0, 'i'}, {"ratings", required_argument, 0, 'r'},
        {"days", required_argument, 0, 'D'},  {"dim", required_argument, 0, 'd'},
        {"drift", required_argument, 0, 'f'}, {"seed", required_argument, 0, 's'},
        {"whole-stars", no_argument, 0, 'w'}, {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'u':
            if (!ng_cli_parse_long(cmd, "--users", optarg, 1, 100000000, &v)) return NG_EXIT_USAGE;
            p.n_users = (size_t)v;
            break;
        case 'i':
            if (!ng_cli_parse_long(cmd, "--items", optarg, 1, 100000000, &v)) return NG_EXIT_USAGE;
            p.n_items = (size_t)v;
            break;
        case 'r':
            if (!ng_cli_parse_long(cmd, "--ratings", optarg, 1, 2000000000L, &v))
                return NG_EXIT_USAGE;
            p.n_ratings = (size_t)v;
            break;
        case 'D':
            if (!ng_cli_parse_double(cmd, "--days", optarg, 1.0 / 86400, 1e6, &p.days))
                return NG_EXIT_USAGE;
            break;
        case 'd':
            if (!ng_cli_parse_long(cmd, "--dim", optarg, 1, 256, &v)) return NG_EXIT_USAGE;
            p.dim = (size_t)v;
            break;
        case 'f':
            if (!ng_cli_parse_double(cmd, "--drift", optarg, 0, 100, &p.drift)) return NG_EXIT_USAGE;
            break;
        case 's':
            if (!ng_cli_parse_u64(cmd, "--seed", optarg, &p.seed)) return NG_EXIT_USAGE;
            break;
        case 'w': p.half_stars = 0; break;
        case 't':
            if (!ng_cli_parse_long(cmd, "--threads", optarg, 1, 4096, &threads)) return NG_EXIT_USAGE;
            break;
        case 'h': synth_usage(stdout); return NG_EXIT_OK;
        default: return ng_cli_bad_option(cmd);
        }
    }
    if (optind < argc) return ng_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!out) return ng_cli_usage_error(cmd, "--out FILE is required");
    ng_cli_set_threads((int)threads);
    ng_cli_banner(cmd, p.seed,
                  "out %s | users %zu | items %zu | ratings %zu | days %g | dim %zu | drift %g | %s",
                  out, p.n_users, p.n_items, p.n_ratings, p.days, p.dim, p.drift,
                  p.half_stars ? "half stars" : "whole stars");
    double t0 = ng_cli_now();
    if (ng_synth_ratings_write(out, &p) != NG_OK) return ng_cli_fail(cmd, "cannot write ratings");
    fprintf(stderr, "natgrad %s: wrote %zu ratings to %s in %.2f s\n", cmd, p.n_ratings, out,
            ng_cli_now() - t0);
    return NG_EXIT_OK;
}

/* ------------------------------------------------------------------ train */
typedef struct {
    const char *ratings, *log, *out, *ckpt;
    long bins, dim, k1, k2, steps, threads, eval_every, ckpt_every;
    ng_dmf_binning binning;
    double lambda, gamma, lr, init_std, rho_scale;
    int lr_set;
    ng_inner_kind optimizer;
    ng_symmetry symmetry;
    uint64_t seed;
    int resume;
    int paper_gauge;
    int rho_set; /* --rho-scale given: it overrides --paper-gauge's value */
    ng_gauge_solver solver;
    int solver_set; /* --gauge-solver given: it overrides --paper-gauge's solver */
} train_cfg;

static const char *const k_binnings[] = {"duration", "count", NULL};
static const char *const k_optimizers[] = {"gd", "adagrad", "adam", NULL}; /* = ng_inner_kind */
static const char *const k_symmetries[] = {"none", "goldstone", "sync", "sync+goldstone", NULL};
static const char *const k_solvers[] = {"quadratic", "retract", NULL}; /* = ng_gauge_solver */

static void train_defaults(train_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->bins = 100;
    c->binning = NG_DMF_BIN_DURATION;
    c->dim = 30;
    c->lambda = 10;
    c->gamma = 1;
    c->optimizer = NG_INNER_ADAGRAD;
    c->lr = 1.0;
    c->symmetry = ng_goldstone_default_params().symmetry;
    c->k1 = 100;
    c->k2 = 10;
    c->rho_scale = ng_goldstone_default_params().rho_scale;
    c->solver = ng_goldstone_default_params().gauge_solver;
    c->steps = 1000;
    c->seed = 1;
    c->eval_every = 10;
    c->init_std = 0.1;
}

static void train_usage(FILE *f)
{
    train_cfg c;
    train_defaults(&c);
    fprintf(f,
            "usage: natgrad dmf train --ratings FILE [options]\n\n"
            "Dynamic Bernoulli matrix factorisation (Bamler & Mandt 2018, section 5.2):\n"
            "ratings binarised at the median (ties dropped), T time bins coupled by a chain\n"
            "prior with strength lambda, random 50/20/30 train/valid/test split.\n"
            "Reads MovieLens u.data, ratings.dat or ratings.csv (optionally gzip).\n\n"
            "Options:\n"
            "  --ratings FILE       ratings file (required)\n"
            "  --bins T             number of time bins (default %ld)\n"
            "  --binning B          duration|count: equal-duration or equal-count bins (default duration)\n"
            "  --dim D              embedding dimension d (default %ld)\n"
            "  --lambda L           chain coupling lambda (default %g)\n"
            "  --gamma G            local L2 strength gamma (default %g)\n"
            "  --optimizer O        adagrad|adam|gd inner optimiser (default adagrad)\n"
            "  --lr R               learning-rate prefactor (default: adagrad 1, adam 0.001, gd 0.001)\n"
            "  --symmetry S         none|goldstone|sync|sync+goldstone (default %s)\n"
            "  --k1 N               optimiser steps between symmetry phases (default %ld)\n"
            "  --k2 N               natural-gradient steps per gauge phase (default %ld)\n"
            "  --rho-scale X        gauge step rho' = X * d / sum ||z||^2 (default %g)\n"
            "  --gauge-solver S     quadratic|retract: steps on the paper's second-order gauge\n"
            "                       loss, or each step re-expanded at the current rotation with\n"
            "                       an exact line search (default %s)\n"
            "  --paper-gauge        the paper's exact gauge phase (warm gauge fields, first-order\n"
            "                       rotation, quadratic solver, rho-scale 1) instead of natgrad's\n"
            "                       default; --rho-scale/--gauge-solver still override (off)\n"
            "  --steps N            optimiser steps (default %ld)\n"
            "  --init-std S         std of the random initial vectors (default %g)\n"
            "  --seed S             seed of the split and the initialisation (default %llu)\n"
            "  --log FILE.csv       metrics every --eval-every steps (default: none)\n"
            "  --eval-every K       evaluate and log every K steps (default %ld)\n"
            "  --out DIR            write U.npy (T x users x d), V.npy (T x items x d),\n"
            "                       users.csv, items.csv (index,original_id), bins.csv (default: none)\n"
            "  --checkpoint DIR     checkpoint on SIGINT, at the end and every --checkpoint-every\n"
            "                       steps (default: none)\n"
            "  --checkpoint-every K checkpoint period in steps, 0 = never periodic (default 0)\n"
            "  --resume             continue from --checkpoint DIR if it holds a checkpoint\n"
            "  --threads N          OpenMP/BLAS threads (default: all)\n"
            "  --help               this text\n",
            c.bins, c.dim, c.lambda, c.gamma, ng_symmetry_name(c.symmetry), c.k1, c.k2, c.rho_scale, ng_gauge_solver_name(c.solver), c.steps,
            c.init_std, (unsigned long long)c.seed, c.eval_every);
}

static int parse_train(int argc, char **argv, train_cfg *c)
{
    const char *cmd = "dmf train";
    static const struct option opts[] = {
        {"ratings", required_argument, 0, 'R'},    {"bins", required_argument, 0, 'T'},
        {"binning", required_argument, 0, 'B'},    {"dim", required_argument, 0, 'd'},
        {"lambda", required_argument, 0, 'l'},     {"gamma", required_argument, 0, 'g'},
        {"optimizer", required_argument, 0, 'O'},  {"lr", required_argument, 0, 'r'},
        {"symmetry", required_argument, 0, 'S'},   {"k1", required_argument, 0, '1'},
        {"k2", required_argument, 0, '2'},         {"steps", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'},       {"log", required_argument, 0, 'L'},
        {"out", required_argument, 0, 'o'},        {"threads", required_argument, 0, 't'},
        {"eval-every", required_argument, 0, 'e'}, {"checkpoint", required_argument, 0, 'c'},
        {"checkpoint-every", required_argument, 0, 'C'},
        {"resume", no_argument, 0, 'm'},           {"init-std", required_argument, 0, 'I'},
        {"paper-gauge", no_argument, 0, 'P'},      {"rho-scale", required_argument, 0, 'x'},
        {"gauge-solver", required_argument, 0, 'G'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    optind = 1;
    int ch, k;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'R': c->ratings = optarg; break;
        case 'T':
            if (!ng_cli_parse_long(cmd, "--bins", optarg, 1, 100000, &c->bins)) return NG_EXIT_USAGE;
            break;
        case 'B':
            if ((k = ng_cli_parse_choice(cmd, "--binning", optarg, k_binnings)) < 0) return NG_EXIT_USAGE;
            c->binning = (ng_dmf_binning)k;
            break;
        case 'd':
            if (!ng_cli_parse_long(cmd, "--dim", optarg, 1, 1024, &c->dim)) return NG_EXIT_USAGE;
            break;
        case 'l':
            if (!ng_cli_parse_double(cmd, "--lambda", optarg, 1e-12, 1e12, &c->lambda)) return NG_EXIT_USAGE;
            break;
        case 'g':
            if (!ng_cli_parse_double(cmd, "--gamma", optarg, 0, 1e12, &c->gamma)) return NG_EXIT_USAGE;
            break;
        case 'O':
            if ((k = ng_cli_parse_choice(cmd, "--optimizer", optarg, k_optimizers)) < 0) return NG_EXIT_USAGE;
            c->optimizer = (ng_inner_kind)k;
            break;
        case 'r':
            if (!ng_cli_parse_double(cmd, "--lr", optarg, 1e-12, 1e6, &c->lr)) return NG_EXIT_USAGE;
            c->lr_set = 1;
            break;
        case 'S':
            if ((k = ng_cli_parse_choice(cmd, "--symmetry", optarg, k_symmetries)) < 0) return NG_EXIT_USAGE;
            c->symmetry = (ng_symmetry)k;
            break;
        case '1':
            if (!ng_cli_parse_long(cmd, "--k1", optarg, 1, 100000000, &c->k1)) return NG_EXIT_USAGE;
            break;
        case '2':
            if (!ng_cli_parse_long(cmd, "--k2", optarg, 1, 1000000, &c->k2)) return NG_EXIT_USAGE;
            break;
        case 'n':
            if (!ng_cli_parse_long(cmd, "--steps", optarg, 0, 1000000000L, &c->steps)) return NG_EXIT_USAGE;
            break;
        case 's':
            if (!ng_cli_parse_u64(cmd, "--seed", optarg, &c->seed)) return NG_EXIT_USAGE;
            break;
        case 'L': c->log = optarg; break;
        case 'o': c->out = optarg; break;
        case 't':
            if (!ng_cli_parse_long(cmd, "--threads", optarg, 1, 4096, &c->threads)) return NG_EXIT_USAGE;
            break;
        case 'e':
            if (!ng_cli_parse_long(cmd, "--eval-every", optarg, 1, 1000000000L, &c->eval_every))
                return NG_EXIT_USAGE;
            break;
        case 'c': c->ckpt = optarg; break;
        case 'C':
            if (!ng_cli_parse_long(cmd, "--checkpoint-every", optarg, 0, 1000000000L, &c->ckpt_every))
                return NG_EXIT_USAGE;
            break;
        case 'm': c->resume = 1; break;
        case 'P': c->paper_gauge = 1; break;
        case 'x':
            if (!ng_cli_parse_double(cmd, "--rho-scale", optarg, 1e-6, 1e6, &c->rho_scale)) return NG_EXIT_USAGE;
            c->rho_set = 1;
            break;
        case 'G':
            if ((k = ng_cli_parse_choice(cmd, "--gauge-solver", optarg, k_solvers)) < 0) return NG_EXIT_USAGE;
            c->solver = (ng_gauge_solver)k;
            c->solver_set = 1;
            break;
        case 'I':
            if (!ng_cli_parse_double(cmd, "--init-std", optarg, 0, 100, &c->init_std)) return NG_EXIT_USAGE;
            break;
        case 'h': train_usage(stdout); return -1;
        default: return ng_cli_bad_option(cmd);
        }
    }
    if (optind < argc) return ng_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!c->ratings) return ng_cli_usage_error(cmd, "--ratings FILE is required");
    if (c->resume && !c->ckpt) return ng_cli_usage_error(cmd, "--resume needs --checkpoint DIR");
    if (!c->lr_set) c->lr = ng_inner_default_params(c->optimizer).rho0;
    return 0;
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

/* CSV "index,original_id" through a temp file (the library's atomic writer is private) */
static ng_status write_idmap(const char *path, const int64_t *ids, size_t n)
{
    char *tmp = malloc(strlen(path) + 8);
    if (!tmp) return NG_ENOMEM;
    sprintf(tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(tmp);
        return NG_EIO;
    }
    fprintf(f, "index,original_id\n");
    for (size_t i = 0; i < n; i++) fprintf(f, "%zu,%lld\n", i, (long long)ids[i]);
    int bad = ferror(f) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        free(tmp);
        return NG_EIO;
    }
    free(tmp);
    return NG_OK;
}

static ng_status write_bins(const char *path, const ng_dmf_data *D)
{
    char *tmp = malloc(strlen(path) + 8);
    if (!tmp) return NG_ENOMEM;
    sprintf(tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(tmp);
        return NG_EIO;
    }
    fprintf(f, "bin,start,end,ratings\n");
    for (size_t t = 0; t < D->T; t++)
        fprintf(f, "%zu,%lld,%lld,%zu\n", t, (long long)D->bin_start[t],
                (long long)D->bin_start[t + 1], D->bin_count[t]);
    int bad = ferror(f) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        free(tmp);
        return NG_EIO;
    }
    free(tmp);
    return NG_OK;
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

static int write_outputs(const char *cmd, const char *dir, const ng_dmf_data *D, const float *Z,
                         size_t d)
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
        char *p = malloc(strlen(dir) + 16);
        if (!p) return 0;
        sprintf(p, "%s/%s", dir, names[k]);
        ng_status s;
        switch (k) {
        case 0: s = write_factor(p, Z, T, N, d, 0, nu); break;
        case 1: s = write_factor(p, Z, T, N, d, nu, ni); break;
        case 2: s = write_idmap(p, D->user_ids, nu); break;
        case 3: s = write_idmap(p, D->item_ids, ni); break;
        default: s = write_bins(p, D); break;
        }
        if (s != NG_OK) {
            fprintf(stderr, "natgrad %s: cannot write %s: %s\n", cmd, p,
                    k < 2 ? ng_last_error() : strerror(errno));
            free(p);
            return 0;
        }
        free(p);
    }
    return 1;
}

/* checkpoint: Z, the driver's state, metrics so far and the configuration it belongs to */
#define CFG_LEN 12
#define META_LEN 2
static void cfg_vector(const train_cfg *c, const ng_dmf_data *D, double *v)
{
    v[0] = (double)D->T, v[1] = (double)c->dim, v[2] = c->lambda, v[3] = c->gamma;
    v[4] = (double)c->optimizer, v[5] = c->lr, v[6] = (double)c->symmetry;
    v[7] = (double)c->k1, v[8] = (double)c->k2 + 1e6 * c->paper_gauge, v[9] = (double)c->seed;
    v[10] = c->paper_gauge && !c->rho_set ? 0.0 : c->rho_scale;
    v[11] = c->paper_gauge && !c->solver_set ? -1.0 : (double)c->solver;
}

static ng_status checkpoint_io(int save, const char *dir, ng_goldstone *gs, float *Z, size_t T,
                               size_t N, size_t d, double *cfg, double *meta, int64_t *step)
{
    size_t ns = ng_goldstone_state(gs, NULL, 0);
    ng_status s = NG_OK;
    ng_ckpt_array *arr = calloc(ns + 3, sizeof *arr);
    if (!arr) return NG_ENOMEM;
    arr[0].name = "Z";
    arr[0].t.dtype = NG_F32;
    arr[0].t.ndim = 3;
    arr[0].t.shape[0] = T, arr[0].t.shape[1] = N, arr[0].t.shape[2] = d;
    arr[0].t.data = Z;
    arr[1].name = "config";
    arr[1].t.dtype = NG_F64;
    arr[1].t.ndim = 1;
    arr[1].t.shape[0] = CFG_LEN;
    arr[1].t.data = cfg;
    arr[2].name = "meta";
    arr[2].t.dtype = NG_F64;
    arr[2].t.ndim = 1;
    arr[2].t.shape[0] = META_LEN;
    arr[2].t.data = meta;
    size_t got = ng_goldstone_state(gs, arr + 3, ns);
    if (save) {
        s = ng_ckpt_save(dir, "dmf", *step, arr, 3 + got);
    } else {
        s = ng_ckpt_load(dir, "dmf", step, arr, 3 + got);
        if (!s) s = ng_goldstone_state_loaded(gs);
    }
    free(arr);
    return s;
}

static int cmd_train(int argc, char **argv)
{
    const char *cmd = "dmf train";
    train_cfg c;
    train_defaults(&c);
    int pr = parse_train(argc, argv, &c);
    if (pr < 0) return NG_EXIT_OK;
    if (pr > 0) return pr;
    ng_cli_set_threads((int)c.threads);

    int rc = NG_EXIT_FAIL;
    ng_ratings R;
    ng_dmf_data D;
    ng_dmf_model *model = NULL;
    ng_graph *graph = NULL;
    ng_goldstone *gs = NULL;
    ng_csv *csv = NULL;
    float *Z = NULL;
    memset(&R, 0, sizeof R);
    memset(&D, 0, sizeof D);

    ng_cli_banner(cmd, c.seed,
                  "ratings %s | bins %ld (%s) | dim %ld | lambda %g | gamma %g | optimizer %s "
                  "lr %g | symmetry %s k1 %ld k2 %ld rho-scale %g solver %s%s | steps %ld | init-std %g | eval-every %ld",
                  c.ratings, c.bins, k_binnings[c.binning], c.dim, c.lambda, c.gamma,
                  ng_inner_kind_name(c.optimizer), c.lr, ng_symmetry_name(c.symmetry), c.k1,
                  c.k2, c.paper_gauge && !c.rho_set ? 1.0 : c.rho_scale,
                  ng_gauge_solver_name(c.paper_gauge && !c.solver_set ? NG_GAUGE_QUADRATIC : c.solver), c.paper_gauge ? " paper-gauge" : "", c.steps, c.init_std, c.eval_every);
    double t_load = ng_cli_now();
    if (ng_ratings_read(c.ratings, &R) != NG_OK) {
        fprintf(stderr, "natgrad %s: %s\n", cmd, ng_last_error());
        goto done;
    }
    ng_dmf_prep_params pp = ng_dmf_prep_default_params();
    pp.bins = (size_t)c.bins;
    pp.binning = c.binning;
    pp.seed = c.seed;
    if (ng_dmf_prepare(&R, &pp, &D) != NG_OK) {
        fprintf(stderr, "natgrad %s: %s: %s\n", cmd, c.ratings, ng_last_error());
        goto done;
    }
    ng_ratings_free(&R);
    const size_t T = D.T, N = D.n_users + D.n_items, d = (size_t)c.dim;
    fprintf(stderr,
            "data: %zu ratings, %zu users, %zu items | median %g, %zu discarded | "
            "train %zu valid %zu test %zu | %zu bins (%zu empty) | %.2f s\n",
            D.n_input, D.n_users, D.n_items, D.median, D.n_discarded, D.split[0].n,
            D.split[1].n, D.split[2].n, T, D.n_empty_bins, ng_cli_now() - t_load);
    if (D.n_empty_bins)
        fprintf(stderr, "natgrad %s: warning: %zu of %zu bins hold no ratings; their vectors "
                        "are set by the prior alone\n", cmd, D.n_empty_bins, T);
    if (ng_dmf_model_new(&D, d, c.gamma, &model) != NG_OK ||
        ng_graph_chain(T, c.lambda, &graph) != NG_OK) {
        fprintf(stderr, "natgrad %s: %s\n", cmd, ng_last_error());
        goto done;
    }
    Z = malloc(T * N * d * sizeof *Z);
    if (!Z) {
        fprintf(stderr, "natgrad %s: out of memory for %zu x %zu x %zu parameters\n", cmd, T, N, d);
        goto done;
    }
    ng_rng rng;
    ng_rng_seed(&rng, c.seed ^ 0x5eedULL);
    ng_dmf_init(model, &rng, c.init_std, Z);
    ng_goldstone_params gp = ng_goldstone_default_params();
    if (c.paper_gauge) ng_goldstone_paper_variant(&gp);
    gp.symmetry = c.symmetry;
    gp.k1 = (int)c.k1;
    gp.k2 = (int)c.k2;
    if (c.rho_set || !c.paper_gauge) gp.rho_scale = c.rho_scale;
    if (c.solver_set || !c.paper_gauge) gp.gauge_solver = c.solver;
    gp.inner = ng_inner_default_params(c.optimizer);
    gp.inner.rho0 = c.lr;
    if (ng_goldstone_new(&gp, graph, N, d, ng_dmf_loss, model, Z, &gs) != NG_OK) {
        fprintf(stderr, "natgrad %s: %s\n", cmd, ng_last_error());
        goto done;
    }

    double cfg[CFG_LEN], meta[META_LEN] = {0, 0}; /* meta: train seconds, symmetry seconds */
    cfg_vector(&c, &D, cfg);
    int resumed = 0;
    if (c.resume && ng_ckpt_exists(c.ckpt)) {
        double cfg_saved[CFG_LEN];
        int64_t step = 0;
        if (checkpoint_io(0, c.ckpt, gs, Z, T, N, d, cfg_saved, meta, &step) != NG_OK) {
            fprintf(stderr, "natgrad %s: cannot resume from %s: %s\n", cmd, c.ckpt, ng_last_error());
            goto done;
        }
        if (memcmp(cfg, cfg_saved, sizeof cfg) != 0) {
            fprintf(stderr, "natgrad %s: checkpoint %s was made with other settings (bins, dim, "
                            "lambda, gamma, optimizer, lr, symmetry, k1, k2, rho-scale, gauge solver or seed)\n", cmd, c.ckpt);
            goto done;
        }
        resumed = 1;
        fprintf(stderr, "resumed from %s at step %lld\n", c.ckpt, (long long)step);
    } else if (c.resume) {
        fprintf(stderr, "natgrad %s: no checkpoint in %s yet; starting from step 0\n", cmd, c.ckpt);
    }

    static const char *const cols[] = {"step",      "seconds",   "loss",     "ell",
                                       "psi",       "train_ll",  "valid_ll", "test_ll",
                                       "train_acc", "valid_acc", "test_acc", "symmetry_seconds",
                                       "walls"};
    const size_t ncols = sizeof cols / sizeof cols[0];
    if (c.log && ng_csv_open(c.log, cols, ncols, resumed, &csv) != NG_OK) {
        fprintf(stderr, "natgrad %s: %s\n", cmd, ng_last_error());
        goto done;
    }
    ng_cli_install_sigint();
    ng_progress prog;
    ng_progress_init(&prog, 10.0);
    int64_t step = ng_goldstone_steps(gs);
    double last_test_ll = NAN, last_psi = NAN;
    int last_walls = -1;
    /* log a row of metrics at the current Z (time not counted in `seconds`) */
#define LOG_ROW()                                                                        \
    do {                                                                                 \
        double L_, e_, p_;                                                               \
        ng_dmf_eval ev_;                                                                 \
        if (ng_goldstone_eval(gs, &L_, &e_, &p_) != NG_OK ||                             \
            ng_dmf_evaluate(model, Z, &ev_) != NG_OK) {                                  \
            fprintf(stderr, "natgrad %s: %s\n", cmd, ng_last_error());                   \
            goto done;                                                                   \
        }                                                                                \
        last_test_ll = ev_.ll[2];                                                        \
        last_psi = p_;                                                                   \
        double row_[13] = {(double)step, meta[0], L_, e_, p_, ev_.ll[0], ev_.ll[1],       \
                           ev_.ll[2], ev_.acc[0], ev_.acc[1], ev_.acc[2], meta[1],       \
                           (double)last_walls};                                          \
        if (csv && ng_csv_row(csv, row_) != NG_OK) {                                     \
            fprintf(stderr, "natgrad %s: %s\n", cmd, ng_last_error());                   \
            goto done;                                                                   \
        }                                                                                \
    } while (0)

    if (!resumed) LOG_ROW();
    int interrupted = 0;
    while (step < c.steps) {
        ng_goldstone_stats st;
        ng_status s = ng_goldstone_step(gs, 0, &st);
        if (s != NG_OK) {
            fprintf(stderr, "\nnatgrad %s: %s\n", cmd, ng_last_error());
            goto done;
        }
        step = st.step;
        meta[0] += st.seconds;
        meta[1] += st.symmetry_seconds;
        if (st.walls >= 0) last_walls = st.walls;
        int stop = ng_cli_interrupted();
        if (step % c.eval_every == 0 || step == c.steps || stop) LOG_ROW();
        ng_progress_update(&prog,
                           "step %lld/%ld  L %.6g  ell %.6g  psi %.4g  test_ll %.4f  %.3f s/step  "
                           "symmetry %.2f%%",
                           (long long)step, c.steps, st.loss, st.ell, last_psi, last_test_ll,
                           meta[0] / (double)step, 100.0 * meta[1] / (meta[0] > 0 ? meta[0] : 1));
        if (c.ckpt && (stop || (c.ckpt_every > 0 && step % c.ckpt_every == 0))) {
            if (checkpoint_io(1, c.ckpt, gs, Z, T, N, d, cfg, meta, &step) != NG_OK) {
                fprintf(stderr, "\nnatgrad %s: checkpoint: %s\n", cmd, ng_last_error());
                goto done;
            }
        }
        if (stop) {
            interrupted = 1;
            break;
        }
    }
    ng_progress_done(&prog);
    if (c.ckpt && !interrupted &&
        checkpoint_io(1, c.ckpt, gs, Z, T, N, d, cfg, meta, &step) != NG_OK) {
        fprintf(stderr, "natgrad %s: checkpoint: %s\n", cmd, ng_last_error());
        goto done;
    }
    if (c.out && !write_outputs(cmd, c.out, &D, Z, d)) goto done;
    {
        ng_dmf_eval ev;
        double L, e, p;
        if (ng_goldstone_eval(gs, &L, &e, &p) == NG_OK && ng_dmf_evaluate(model, Z, &ev) == NG_OK)
            fprintf(stderr,
                    "final step %lld: L %.8g  ell %.8g  psi %.6g | log-likelihood per rating: "
                    "train %.5f valid %.5f test %.5f | test accuracy %.4f\n",
                    (long long)step, L, e, p, ev.ll[0], ev.ll[1], ev.ll[2], ev.acc[2]);
    }
    fprintf(stderr,
            "symmetry overhead: %.3f s of %.3f s training time (%.2f%%); this run's wall time "
            "%.1f s including data and evaluation\n",
            meta[1], meta[0], 100.0 * meta[1] / (meta[0] > 0 ? meta[0] : 1), ng_cli_now() - t_load);
    if (interrupted) {
        if (c.ckpt)
            fprintf(stderr, "natgrad %s: interrupted at step %lld; checkpoint in %s (resume with "
                            "--resume)\n", cmd, (long long)step, c.ckpt);
        else
            fprintf(stderr, "natgrad %s: interrupted at step %lld (no --checkpoint: not "
                            "resumable)\n", cmd, (long long)step);
        rc = 130;
    } else {
        rc = NG_EXIT_OK;
    }
#undef LOG_ROW
done:
    ng_csv_close(csv);
    ng_goldstone_free(gs);
    ng_graph_free(graph);
    ng_dmf_model_free(model);
    ng_dmf_data_free(&D);
    ng_ratings_free(&R);
    free(Z);
    return rc;
}

static void dmf_usage(FILE *f)
{
    fprintf(f, "usage: natgrad dmf <train|synth> [options]\n\n"
               "  train   dynamic Bernoulli matrix factorisation on a ratings file\n"
               "  synth   write synthetic MovieLens-like ratings with drifting factors\n\n"
               "Run 'natgrad dmf train --help' or 'natgrad dmf synth --help' for the options.\n");
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
    fprintf(stderr, "natgrad dmf: unknown subcommand '%s'\n", argv[1]);
    dmf_usage(stderr);
    return NG_EXIT_USAGE;
}
