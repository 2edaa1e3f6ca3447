/* cmd_repro.c - 'natgrad repro goldstone-toy': the toy experiment of Bamler & Mandt 2018
 * (section 5.1): dense dynamic Gaussian MF, X = Ubar^T Vbar + noise the same at all T steps,
 * a chain prior, clipped GD against Goldstone-GD and natgrad's synchronisation phase.
 * One run logs a CSV (and can checkpoint / resume); --seeds A..B prints a table per
 * method; --figure draws the embedding trajectories along t through gnuplot. */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *CMD = "repro";
static const char *MODEL = "goldstone-toy";

typedef struct {
    long T, rows, cols, d, steps, log_every, ckpt_every, figure_step, threads;
    double lambda, noise_var, init_std;
    uint64_t seed, data_seed;
    ng_goldstone_params gp;
    int method_given, paper, resume, have_seeds, init_equal;
    long seed_a, seed_b;
    const char *log, *figure, *ckpt;
} cfg_t;

typedef struct {
    ng_gauss_mf *model;
    ng_graph *graph;
    size_t N, n;
    double Lstar;
} toy_t;

typedef struct {
    long hit1, hit01; /* first step with gap < 1 / < 0.1, or -1 */
    double final_gap, seconds, sym_seconds;
    int diverged, final_walls;
} result_t;

static const char *const k_methods[] = {"gd", "goldstone", "sync", "sync+goldstone", NULL};
static const char *const k_rotations[] = {"first-order", "cayley", "exp", NULL};
static const char *const k_optims[] = {"gd", "adagrad", "adam", NULL};
static const char *const k_yesno[] = {"no", "yes", NULL};
static const char *const k_solvers[] = {"quadratic", "retract", NULL}; /* = ng_gauge_solver */

static void usage(FILE *f, const cfg_t *c)
{
    const ng_goldstone_params *p = &c->gp;
    fprintf(f,
            "usage: natgrad repro goldstone-toy [options]\n\n"
            "The toy experiment of Bamler & Mandt (ICML 2018, section 5.1): X = Ubar^T Vbar + noise,\n"
            "the same X at all T steps, l = 1/2 sum_t ||X - U_t^T V_t||^2, chain prior lambda.\n"
            "gap = L - L*, L* = T * 1/2 sum_{k>d} sigma_k(X)^2 (exact optimum).\n\n"
            "Run:\n"
            "  --method M           gd|goldstone|sync|sync+goldstone (default %s; with --seeds:\n"
            "                       all four plus the paper's variant)\n"
            "  --seed S             initialisation seed (default %llu)\n"
            "  --steps N            optimisation steps (default %ld)\n"
            "  --log FILE.csv       per-step metrics: step,seconds,loss,ell,psi,gap,walls,\n"
            "                       symmetry_seconds (default: none)\n"
            "  --log-every N        log every N-th step (default %ld; walls counted on logged steps)\n"
            "  --seeds A..B         run every seed in A..B and print a table per method; with an\n"
            "                       inner optimiser other than the paper's clipped GD the table\n"
            "                       also has the paper's GD and the optimiser alone\n"
            "  --figure FIG.png|svg 3-D trajectories of embedding vectors along t, GD beside the\n"
            "                       natgrad method, at steps 0, --figure-step and the last (gnuplot)\n"
            "  --figure-step N      middle snapshot (default %ld)\n"
            "  --checkpoint DIR     save state every --checkpoint-every steps and on SIGINT\n"
            "  --checkpoint-every N (default %ld)\n"
            "  --resume             continue from --checkpoint DIR (appends to --log)\n"
            "  --threads N          BLAS/OpenMP threads (default: library default)\n\n"
            "Problem:\n"
            "  --data-seed S        seed of Ubar, Vbar and the noise (default %llu)\n"
            "  --T N                time steps (default %ld)\n"
            "  --rows N, --cols N   size of X (default %ld x %ld)\n"
            "  --dim N              embedding dimension d (default %ld)\n"
            "  --lambda X           chain coupling (default %g)\n"
            "  --noise-var X        noise variance (default %g)\n"
            "  --init-std X         initial Z ~ N(0, X^2) (default %g)\n"
            "  --init-equal         start every slice from the same draw (no twist, no wall: the\n"
            "                       floor any symmetry phase can reach; diagnostic)\n\n"
            "Method (natgrad's defaults; --paper selects the paper's exact variant):\n"
            "  --paper              goldstone, warm-started gauge fields, first-order rotation,\n"
            "                       quadratic solver, rho-scale 1, no clip, apply-fraction 1\n"
            "                       (later options override)\n"
            "  --k1 N               inner steps between symmetry phases (default %d)\n"
            "  --k2 N               natural-gradient steps per gauge phase (default %d)\n"
            "  --rho-scale X        rho' = X * d / sum ||z||^2 (default %g)\n"
            "  --gauge-reset yes|no reset the gauge fields every phase (default %s)\n"
            "  --rotation R         first-order|cayley|exp (default %s)\n"
            "  --clip X             clip gauge fields to +-X/d, 0 = none (default %g)\n"
            "  --apply-fraction X   fraction of Gamma applied per phase (default %g)\n"
            "  --gauge-solver S     quadratic|retract: steps on the paper's second-order gauge\n"
            "                       loss, or each step re-expanded at the current rotation with\n"
            "                       an exact line search (default %s)\n"
            "  --optimizer O        inner optimiser gd|adagrad|adam (default %s)\n"
            "  --lr X               rho0 (default %g)\n"
            "  --lr-sbar X          rho_s = rho0 (sbar / (s + sbar))^p, 0 = constant (default %g)\n"
            "  --lr-power X         p (default %g)\n"
            "  --grad-clip X        element-wise gradient clip, 0 = none (default %g)\n"
            "  --beta1 X, --beta2 X Adam (default %g, %g)\n"
            "  --eps X              AdaGrad/Adam epsilon (default %g)\n"
            "  --help               this text\n",
            ng_symmetry_name(p->symmetry) ? (p->symmetry == NG_SYM_NONE ? "gd" : ng_symmetry_name(p->symmetry)) : "?",
            (unsigned long long)c->seed, c->steps, c->log_every, c->figure_step, c->ckpt_every,
            (unsigned long long)c->data_seed, c->T, c->rows, c->cols, c->d, c->lambda, c->noise_var,
            c->init_std, p->k1, p->k2, p->rho_scale, p->gauge_reset ? "yes" : "no",
            ng_rotation_name(p->rotation), p->gauge_clip, p->apply_fraction, ng_gauge_solver_name(p->gauge_solver),
            ng_inner_kind_name(p->inner.kind),
            p->inner.rho0, p->inner.sbar, p->inner.p, p->inner.clip, p->inner.beta1, p->inner.beta2,
            p->inner.eps);
}

enum {
    O_METHOD = 256, O_SEED, O_STEPS, O_LOG, O_LOG_EVERY, O_SEEDS, O_FIGURE, O_FIGURE_STEP, O_CKPT,
    O_CKPT_EVERY, O_RESUME, O_THREADS, O_DATA_SEED, O_T, O_ROWS, O_COLS, O_DIM, O_LAMBDA, O_NOISE,
    O_INIT_STD, O_INIT_EQUAL, O_PAPER, O_K1, O_K2, O_RHO, O_RESET, O_ROT, O_CLIP, O_APPLY, O_OPT, O_LR, O_SBAR,
    O_POWER, O_GCLIP, O_BETA1, O_BETA2, O_EPS, O_SOLVER, O_HELP
};

static const struct option k_opts[] = {
    {"method", required_argument, 0, O_METHOD}, {"seed", required_argument, 0, O_SEED},
    {"steps", required_argument, 0, O_STEPS}, {"log", required_argument, 0, O_LOG},
    {"log-every", required_argument, 0, O_LOG_EVERY}, {"seeds", required_argument, 0, O_SEEDS},
    {"figure", required_argument, 0, O_FIGURE}, {"figure-step", required_argument, 0, O_FIGURE_STEP},
    {"checkpoint", required_argument, 0, O_CKPT}, {"checkpoint-every", required_argument, 0, O_CKPT_EVERY},
    {"resume", no_argument, 0, O_RESUME}, {"threads", required_argument, 0, O_THREADS},
    {"data-seed", required_argument, 0, O_DATA_SEED}, {"T", required_argument, 0, O_T},
    {"rows", required_argument, 0, O_ROWS}, {"cols", required_argument, 0, O_COLS},
    {"dim", required_argument, 0, O_DIM}, {"lambda", required_argument, 0, O_LAMBDA},
    {"noise-var", required_argument, 0, O_NOISE}, {"init-std", required_argument, 0, O_INIT_STD},
    {"init-equal", no_argument, 0, O_INIT_EQUAL},
    {"paper", no_argument, 0, O_PAPER}, {"k1", required_argument, 0, O_K1},
    {"k2", required_argument, 0, O_K2}, {"rho-scale", required_argument, 0, O_RHO},
    {"gauge-reset", required_argument, 0, O_RESET}, {"rotation", required_argument, 0, O_ROT},
    {"clip", required_argument, 0, O_CLIP}, {"apply-fraction", required_argument, 0, O_APPLY},
    {"optimizer", required_argument, 0, O_OPT}, {"lr", required_argument, 0, O_LR},
    {"lr-sbar", required_argument, 0, O_SBAR}, {"lr-power", required_argument, 0, O_POWER},
    {"grad-clip", required_argument, 0, O_GCLIP}, {"beta1", required_argument, 0, O_BETA1},
    {"beta2", required_argument, 0, O_BETA2}, {"eps", required_argument, 0, O_EPS},
    {"gauge-solver", required_argument, 0, O_SOLVER}, {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0}};

static void defaults(cfg_t *c)
{
    memset(c, 0, sizeof *c);
    c->T = 30;
    c->rows = 10;
    c->cols = 10;
    c->d = 3;
    c->lambda = 10.0;
    c->noise_var = 1e-3;
    c->init_std = 1.0;
    c->seed = 1;
    c->data_seed = 42;
    c->steps = 20000;
    c->log_every = 10;
    c->ckpt_every = 1000;
    c->figure_step = 1000;
    c->gp = ng_goldstone_default_params();
}

static int sym_of_method(int m) { return m == 0 ? NG_SYM_NONE : m; }

/* Returns -1 to go on, else an exit code. */
static int parse(int argc, char **argv, cfg_t *c)
{
    defaults(c);
    /* pass 1: --help, --paper and --optimizer (presets apply before any explicit option) */
    int help = 0;
    const char *opt_kind = NULL;
    opterr = 0;
    optind = 0;
    for (int o; (o = getopt_long(argc, argv, "", k_opts, NULL)) != -1;) {
        if (o == O_PAPER) c->paper = 1;
        if (o == O_HELP) help = 1;
        if (o == O_OPT) opt_kind = optarg; /* the last one counts; checked in pass 2 */
    }
    if (c->paper) ng_goldstone_paper_variant(&c->gp);
    /* the kind's defaults apply before any explicit --lr, --grad-clip ... (in any order) */
    for (int k = 0; opt_kind && k_optims[k]; k++)
        if (!strcmp(opt_kind, k_optims[k]) && (ng_inner_kind)k != c->gp.inner.kind)
            c->gp.inner = ng_inner_default_params((ng_inner_kind)k);
    if (help) {
        usage(stdout, c);
        return NG_EXIT_OK;
    }
    opterr = 1;
    optind = 0;
    long v;
    double x;
    for (int o; (o = getopt_long(argc, argv, "", k_opts, NULL)) != -1;) {
        const char *a = optarg;
        const char *name = NULL;
        for (const struct option *q = k_opts; q->name; q++)
            if (q->val == o) name = q->name;
        char opt[64];
        snprintf(opt, sizeof opt, "--%s", name ? name : "?");
        int k;
        switch (o) {
        case O_METHOD:
            if ((k = ng_cli_parse_choice(CMD, opt, a, k_methods)) < 0) return NG_EXIT_USAGE;
            c->gp.symmetry = (ng_symmetry)sym_of_method(k);
            c->method_given = 1;
            break;
        case O_SEED: if (!ng_cli_parse_u64(CMD, opt, a, &c->seed)) return NG_EXIT_USAGE; break;
        case O_DATA_SEED: if (!ng_cli_parse_u64(CMD, opt, a, &c->data_seed)) return NG_EXIT_USAGE; break;
        case O_STEPS: if (!ng_cli_parse_long(CMD, opt, a, 0, 1000000000L, &c->steps)) return NG_EXIT_USAGE; break;
        case O_LOG: c->log = a; break;
        case O_LOG_EVERY: if (!ng_cli_parse_long(CMD, opt, a, 1, 1000000000L, &c->log_every)) return NG_EXIT_USAGE; break;
        case O_SEEDS:
            if (!ng_cli_parse_range(CMD, opt, a, &c->seed_a, &c->seed_b)) return NG_EXIT_USAGE;
            c->have_seeds = 1;
            break;
        case O_FIGURE: c->figure = a; break;
        case O_FIGURE_STEP: if (!ng_cli_parse_long(CMD, opt, a, 0, 1000000000L, &c->figure_step)) return NG_EXIT_USAGE; break;
        case O_CKPT: c->ckpt = a; break;
        case O_CKPT_EVERY: if (!ng_cli_parse_long(CMD, opt, a, 1, 1000000000L, &c->ckpt_every)) return NG_EXIT_USAGE; break;
        case O_RESUME: c->resume = 1; break;
        case O_THREADS: if (!ng_cli_parse_long(CMD, opt, a, 1, 1024, &c->threads)) return NG_EXIT_USAGE; break;
        case O_T: if (!ng_cli_parse_long(CMD, opt, a, 1, 20000, &c->T)) return NG_EXIT_USAGE; break;
        case O_ROWS: if (!ng_cli_parse_long(CMD, opt, a, 1, 100000, &c->rows)) return NG_EXIT_USAGE; break;
        case O_COLS: if (!ng_cli_parse_long(CMD, opt, a, 1, 100000, &c->cols)) return NG_EXIT_USAGE; break;
        case O_DIM: if (!ng_cli_parse_long(CMD, opt, a, 1, 4096, &c->d)) return NG_EXIT_USAGE; break;
        case O_LAMBDA: if (!ng_cli_parse_double(CMD, opt, a, 1e-300, 1e300, &c->lambda)) return NG_EXIT_USAGE; break;
        case O_NOISE: if (!ng_cli_parse_double(CMD, opt, a, 0, 1e300, &c->noise_var)) return NG_EXIT_USAGE; break;
        case O_INIT_STD: if (!ng_cli_parse_double(CMD, opt, a, 0, 1e300, &c->init_std)) return NG_EXIT_USAGE; break;
        case O_PAPER: break;
        case O_INIT_EQUAL: c->init_equal = 1; break;
        case O_K1: if (!ng_cli_parse_long(CMD, opt, a, 1, 1000000000L, &v)) return NG_EXIT_USAGE; c->gp.k1 = (int)v; break;
        case O_K2: if (!ng_cli_parse_long(CMD, opt, a, 0, 1000000, &v)) return NG_EXIT_USAGE; c->gp.k2 = (int)v; break;
        case O_RHO: if (!ng_cli_parse_double(CMD, opt, a, 1e-300, 1e300, &c->gp.rho_scale)) return NG_EXIT_USAGE; break;
        case O_RESET:
            if ((k = ng_cli_parse_choice(CMD, opt, a, k_yesno)) < 0) return NG_EXIT_USAGE;
            c->gp.gauge_reset = k;
            break;
        case O_ROT:
            if ((k = ng_cli_parse_choice(CMD, opt, a, k_rotations)) < 0) return NG_EXIT_USAGE;
            c->gp.rotation = (ng_rotation)k;
            break;
        case O_CLIP: if (!ng_cli_parse_double(CMD, opt, a, 0, 1e300, &c->gp.gauge_clip)) return NG_EXIT_USAGE; break;
        case O_APPLY:
            if (!ng_cli_parse_double(CMD, opt, a, 1e-12, 1.0, &c->gp.apply_fraction)) return NG_EXIT_USAGE;
            break;
        case O_OPT: /* applied in pass 1: switching the kind takes that kind's defaults */
            if (ng_cli_parse_choice(CMD, opt, a, k_optims) < 0) return NG_EXIT_USAGE;
            break;
        case O_LR: if (!ng_cli_parse_double(CMD, opt, a, 1e-300, 1e300, &c->gp.inner.rho0)) return NG_EXIT_USAGE; break;
        case O_SBAR: if (!ng_cli_parse_double(CMD, opt, a, 0, 1e300, &c->gp.inner.sbar)) return NG_EXIT_USAGE; break;
        case O_POWER: if (!ng_cli_parse_double(CMD, opt, a, 0, 100, &c->gp.inner.p)) return NG_EXIT_USAGE; break;
        case O_GCLIP: if (!ng_cli_parse_double(CMD, opt, a, 0, 1e300, &c->gp.inner.clip)) return NG_EXIT_USAGE; break;
        case O_BETA1: if (!ng_cli_parse_double(CMD, opt, a, 0, 0.999999999, &x)) return NG_EXIT_USAGE; c->gp.inner.beta1 = x; break;
        case O_BETA2: if (!ng_cli_parse_double(CMD, opt, a, 0, 0.999999999, &x)) return NG_EXIT_USAGE; c->gp.inner.beta2 = x; break;
        case O_EPS: if (!ng_cli_parse_double(CMD, opt, a, 1e-300, 1e300, &c->gp.inner.eps)) return NG_EXIT_USAGE; break;
        case O_SOLVER:
            if ((k = ng_cli_parse_choice(CMD, opt, a, k_solvers)) < 0) return NG_EXIT_USAGE;
            c->gp.gauge_solver = (ng_gauge_solver)k;
            break;
        case O_HELP: break;
        default: return ng_cli_bad_option(CMD);
        }
    }
    if (optind >= argc) return ng_cli_usage_error(CMD, "missing the experiment name (goldstone-toy)");
    if (strcmp(argv[optind], "goldstone-toy"))
        return ng_cli_usage_error(CMD, "unknown experiment '%s' (expected goldstone-toy)", argv[optind]);
    if (optind + 1 < argc) return ng_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
    if (c->resume && !c->ckpt) return ng_cli_usage_error(CMD, "--resume needs --checkpoint DIR");
    if (c->have_seeds && (c->ckpt || c->log || c->figure))
        return ng_cli_usage_error(CMD, "--seeds runs many inits: it takes no --log, --checkpoint or --figure");
    if (c->figure && (c->ckpt || c->resume))
        return ng_cli_usage_error(CMD, "--figure takes no --checkpoint/--resume");
    if (c->figure) {
        size_t L = strlen(c->figure);
        if (!(L > 4 && (!strcmp(c->figure + L - 4, ".png") || !strcmp(c->figure + L - 4, ".svg"))))
            return ng_cli_usage_error(CMD, "invalid value '%s' for --figure: expected a name ending in .png or .svg",
                                      c->figure);
    }
    if (c->rows + c->cols > 1000000) return ng_cli_usage_error(CMD, "--rows + --cols is too large");
    return -1;
}

static ng_status toy_new(const cfg_t *c, toy_t *t)
{
    memset(t, 0, sizeof *t);
    ng_status st = ng_gauss_mf_toy((size_t)c->T, (size_t)c->rows, (size_t)c->cols, (size_t)c->d, c->noise_var,
                                   c->data_seed, &t->model);
    if (st) return st;
    if ((st = ng_graph_chain((size_t)c->T, c->lambda, &t->graph))) return st;
    t->N = ng_gauss_mf_num_vectors(t->model);
    t->n = (size_t)c->T * t->N * (size_t)c->d;
    return ng_gauss_mf_rank_bound(t->model, &t->Lstar);
}

static void toy_free(toy_t *t)
{
    ng_gauss_mf_free(t->model);
    ng_graph_free(t->graph);
}

static void init_z(const cfg_t *c, const toy_t *t, uint64_t seed, float *Z)
{
    ng_rng rng;
    ng_rng_seed(&rng, seed);
    ng_gauss_mf_init(t->model, &rng, c->init_std, Z);
    if (c->init_equal) {
        size_t nd = t->N * (size_t)c->d;
        for (long s = 1; s < c->T; s++) memcpy(Z + (size_t)s * nd, Z, nd * sizeof *Z);
    }
}

/* ------------------------------------------------------------------ many seeds */

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static double median_long(long *v, size_t n)
{
    if (n == 0) return NAN;
    qsort(v, n, sizeof *v, cmp_long);
    return n % 2 ? (double)v[n / 2] : 0.5 * ((double)v[n / 2 - 1] + (double)v[n / 2]);
}

/* One run without I/O: stops once gap < 0.1. */
static ng_status run_quiet(const cfg_t *c, const toy_t *t, const ng_goldstone_params *gp, uint64_t seed,
                           float *Z, result_t *r)
{
    memset(r, 0, sizeof *r);
    r->hit1 = r->hit01 = -1;
    r->final_walls = -1;
    init_z(c, t, seed, Z);
    ng_goldstone *gs = NULL;
    ng_status st = ng_goldstone_new(gp, t->graph, t->N, (size_t)c->d, ng_gauss_mf_loss, t->model, Z, &gs);
    if (st) return st;
    double gap = NAN;
    for (long s = 0; s < c->steps && !ng_cli_interrupted(); s++) {
        ng_goldstone_stats S;
        st = ng_goldstone_step(gs, 0, &S);
        if (st == NG_ENUMERIC) {
            r->diverged = 1;
            st = NG_OK;
            break;
        }
        if (st) break;
        r->seconds += S.seconds;
        r->sym_seconds += S.symmetry_seconds;
        gap = S.loss - t->Lstar;
        if (r->hit1 < 0 && gap < 1.0) r->hit1 = s;
        if (r->hit01 < 0 && gap < 0.1) {
            r->hit01 = s;
            break;
        }
    }
    if (!st && !r->diverged) {
        double L;
        if (!(st = ng_goldstone_eval(gs, &L, NULL, NULL))) gap = L - t->Lstar;
        if (!st) st = ng_count_walls(t->graph, t->N, (size_t)c->d, Z, &r->final_walls);
    }
    r->final_gap = gap;
    ng_goldstone_free(gs);
    return st;
}

static int same_inner(const ng_inner_params *a, const ng_inner_params *b)
{
    return a->kind == b->kind && a->rho0 == b->rho0 && a->sbar == b->sbar && a->p == b->p &&
           a->clip == b->clip && (a->kind != NG_INNER_ADAM || (a->beta1 == b->beta1 && a->beta2 == b->beta2)) &&
           (a->kind == NG_INNER_GD || a->eps == b->eps);
}

/* A table row per method over all seeds. With the paper's optimiser (clipped GD, the
 * default) the rows are gd and the symmetry modes; with any other inner optimiser the
 * table also has the paper's GD as the baseline and "<opt> alone", so it shows what the
 * optimiser buys and what the symmetry phase buys on top. */
enum { MAX_ROWS = 8 };
static int run_seeds(const cfg_t *c, const toy_t *t)
{
    char names[MAX_ROWS][40];
    ng_goldstone_params ps[MAX_ROWS];
    int nm = 0, floor_row = -1, paper_row = -1, alone_row = -1;
    cfg_t ceq = *c; /* the floor row starts every slice from the same draw */
    ceq.init_equal = 1;
    const ng_inner_params paper_inner = ng_goldstone_default_params().inner;
    const int custom = !same_inner(&c->gp.inner, &paper_inner);
    const char *opt = ng_inner_kind_name(c->gp.inner.kind);
    if (c->method_given) {
        snprintf(names[nm], sizeof names[0], "%s",
                 c->gp.symmetry == NG_SYM_NONE ? (custom ? opt : "gd") : ng_symmetry_name(c->gp.symmetry));
        ps[nm++] = c->gp;
    } else {
        if (custom) {
            ps[nm] = c->gp;
            ps[nm].symmetry = NG_SYM_NONE;
            ps[nm].inner = paper_inner;
            paper_row = nm;
            snprintf(names[nm++], sizeof names[0], "gd (paper)");
        }
        for (int m = 0; m < 4; m++) {
            ps[nm] = c->gp;
            ps[nm].symmetry = (ng_symmetry)sym_of_method(m);
            if (m == 0) {
                alone_row = nm;
                if (!custom) paper_row = nm;
            }
            if (!custom) snprintf(names[nm], sizeof names[0], "%s", k_methods[m]);
            else if (m == 0) snprintf(names[nm], sizeof names[0], "%s alone", opt);
            else snprintf(names[nm], sizeof names[0], "%s+%s", opt, k_methods[m]);
            nm++;
        }
        if (!c->paper) {
            ps[nm] = c->gp;
            ng_goldstone_paper_variant(&ps[nm]);
            snprintf(names[nm++], sizeof names[0], "%s%s", custom ? opt : "", custom ? "+goldstone-paper" : "goldstone-paper");
        }
        /* the floor: the inner optimiser from identical slices (no twist, no wall to remove) */
        ps[nm] = c->gp;
        ps[nm].symmetry = NG_SYM_NONE;
        floor_row = nm;
        snprintf(names[nm++], sizeof names[0], "floor");
    }
    long ns = c->seed_b - c->seed_a + 1;
    float *Z = malloc(t->n * sizeof *Z);
    long *h1 = malloc((size_t)ns * sizeof *h1), *h01 = malloc((size_t)ns * sizeof *h01);
    if (!Z || !h1 || !h01) {
        free(Z);
        free(h1);
        free(h01);
        fprintf(stderr, "natgrad %s: out of memory\n", CMD);
        return NG_EXIT_FAIL;
    }
    ng_progress pr;
    ng_progress_init(&pr, 5.0);
    printf("goldstone-toy: T %ld, X %ldx%ld, d %ld, lambda %g, noise var %g, data seed %llu, "
           "L* = %.6g, %ld steps max, seeds %ld..%ld\n",
           c->T, c->rows, c->cols, c->d, c->lambda, c->noise_var, (unsigned long long)c->data_seed, t->Lstar,
           c->steps, c->seed_a, c->seed_b);
    const ng_inner_params *ip = &c->gp.inner;
    printf("inner optimiser%s: %s, lr %g", custom ? " (all rows but gd (paper))" : "", opt, ip->rho0);
    if (ip->sbar > 0) printf(" * (%g / (s + %g))^%g", ip->sbar, ip->sbar, ip->p);
    printf(", grad-clip %g", ip->clip);
    if (ip->kind == NG_INNER_ADAM) printf(" beta1 %g beta2 %g", ip->beta1, ip->beta2);
    if (ip->kind != NG_INNER_GD) printf(" eps %g", ip->eps);
    printf("\n%-22s %9s %12s %9s %12s %8s %9s %7s %11s %9s\n", "method", "gap<1", "median step", "gap<0.1",
           "median step", "stalled", "diverged", "walls", "median gap", "sym time");
    int rc = NG_EXIT_OK;
    double paper_median = NAN, alone_median = NAN, best_median = INFINITY;
    size_t alone_n1 = 0;
    const char *best = NULL;
    double best_share = 0.0;
    for (int m = 0; m < nm && rc == NG_EXIT_OK; m++) {
        size_t n1 = 0, n01 = 0, stalled = 0, diverged = 0, walled = 0;
        double *gaps = malloc((size_t)ns * sizeof *gaps), sec = 0, symsec = 0;
        size_t ng = 0;
        for (long s = 0; s < ns; s++) {
            if (ng_cli_interrupted()) {
                rc = 130;
                break;
            }
            result_t r;
            ng_status st = run_quiet(m == floor_row ? &ceq : c, t, &ps[m], (uint64_t)(c->seed_a + s), Z, &r);
            if (st) {
                rc = ng_cli_fail(CMD, names[m]);
                break;
            }
            ng_progress_update(&pr, "%s seed %ld: gap<1 at %ld, final gap %.3g", names[m], c->seed_a + s, r.hit1,
                               r.final_gap);
            if (r.hit1 >= 0) h1[n1++] = r.hit1;
            if (r.hit01 >= 0) h01[n01++] = r.hit01;
            if (r.diverged) diverged++;
            else if (r.hit1 < 0) stalled++;
            if (r.final_walls > 0) walled++;
            if (isfinite(r.final_gap)) gaps[ng++] = r.final_gap;
            sec += r.seconds;
            symsec += r.sym_seconds;
        }
        ng_progress_done(&pr);
        if (rc != NG_EXIT_OK) {
            free(gaps);
            break;
        }
        /* median of finite final gaps */
        for (size_t i = 1; i < ng; i++)
            for (size_t j = i; j > 0 && gaps[j - 1] > gaps[j]; j--) {
                double tmp = gaps[j];
                gaps[j] = gaps[j - 1];
                gaps[j - 1] = tmp;
            }
        double mg = ng ? (ng % 2 ? gaps[ng / 2] : 0.5 * (gaps[ng / 2 - 1] + gaps[ng / 2])) : NAN;
        double m1 = median_long(h1, n1), m01 = median_long(h01, n01);
        char a1[48], a01[48], sm1[48], sm01[48];
        snprintf(a1, sizeof a1, "%zu/%ld", n1, ns);
        snprintf(a01, sizeof a01, "%zu/%ld", n01, ns);
        if (n1) snprintf(sm1, sizeof sm1, "%.0f", m1); else snprintf(sm1, sizeof sm1, "-");
        if (n01) snprintf(sm01, sizeof sm01, "%.0f", m01); else snprintf(sm01, sizeof sm01, "-");
        printf("%-22s %9s %12s %9s %12s %8zu %9zu %7zu %11.3g %8.1f%%\n", names[m], a1, sm1, a01, sm01, stalled,
               diverged, walled, mg, sec > 0 ? 100.0 * symsec / sec : 0.0);
        fflush(stdout);
        if (m == paper_row) paper_median = m1;
        if (m == alone_row) alone_median = m1, alone_n1 = n1;
        if (m == floor_row || ps[m].symmetry == NG_SYM_NONE) {
            /* not a natgrad mode: baselines and the floor */
        } else if (n1 && (double)n1 / (double)ns >= best_share - 1e-12 &&
                   ((double)n1 / (double)ns > best_share + 1e-12 || m1 < best_median)) {
            best_share = (double)n1 / (double)ns;
            best_median = m1;
            best = names[m];
        }
        free(gaps);
    }
    if (rc == NG_EXIT_OK && best && isfinite(paper_median)) {
        double speed = paper_median / best_median;
        printf("best natgrad mode: %s (gap<1 on %.0f%% of seeds, median step %.0f): %.1fx fewer steps than "
               "the paper GD's median %.0f on the seeds it solved",
               best, 100.0 * best_share, best_median, speed, paper_median);
        if (custom && alone_n1)
            printf("; %.1fx fewer than %s alone's median %.0f (gap<1 on %zu/%ld seeds)", alone_median / best_median,
                   opt, alone_median, alone_n1, ns);
        else if (custom)
            printf("; %s alone reached gap<1 on no seed", opt);
        printf("\ntarget (gap<1 on >= 95%% of seeds in >= 10x fewer steps than the paper GD's median): %s\n",
               best_share >= 0.95 - 1e-12 && speed >= 10.0 ? "met" : "not met");
    }
    printf("(stalled: never reached gap < 1 in %ld steps; walls: runs ending with a reflection wall; sym time: "
           "share of run time in the symmetry phase%s)\n", c->steps,
           floor_row >= 0 ? "; floor: the inner optimiser from identical slices, what a perfect symmetry phase "
                            "could reach" : "");
    free(Z);
    free(h1);
    free(h01);
    return rc;
}

/* ------------------------------------------------------------------ one logged run */

static int run_single(const cfg_t *c, const toy_t *t)
{
    const char *mname = c->gp.symmetry == NG_SYM_NONE ? "gd" : ng_symmetry_name(c->gp.symmetry);
    float *Z = malloc(t->n * sizeof *Z);
    if (!Z) {
        fprintf(stderr, "natgrad %s: out of memory\n", CMD);
        return NG_EXIT_FAIL;
    }
    init_z(c, t, c->seed, Z);
    ng_goldstone *gs = NULL;
    ng_csv *csv = NULL;
    int rc = NG_EXIT_OK;
    ng_status st = ng_goldstone_new(&c->gp, t->graph, t->N, (size_t)c->d, ng_gauss_mf_loss, t->model, Z, &gs);
    if (st) {
        free(Z);
        return ng_cli_fail(CMD, "cannot set up the method");
    }
    /* checkpoint arrays: Z, elapsed seconds, then the method's state */
    double elapsed = 0.0;
    size_t nst = 0;
    nst = ng_goldstone_state(gs, NULL, 0);
    ng_ckpt_array arr[8];
    memset(arr, 0, sizeof arr);
    arr[0].name = "Z";
    arr[0].t.dtype = NG_F32;
    arr[0].t.ndim = 3;
    arr[0].t.shape[0] = (size_t)c->T;
    arr[0].t.shape[1] = t->N;
    arr[0].t.shape[2] = (size_t)c->d;
    arr[0].t.data = Z;
    arr[1].name = "elapsed";
    arr[1].t.dtype = NG_F64;
    arr[1].t.ndim = 1;
    arr[1].t.shape[0] = 1;
    arr[1].t.data = &elapsed;
    nst = ng_goldstone_state(gs, arr + 2, 6);
    size_t narr = 2 + nst;
    long start = 0;
    if (c->resume) {
        if (!ng_ckpt_exists(c->ckpt)) {
            fprintf(stderr, "natgrad %s: cannot resume: no checkpoint in %s\n", CMD, c->ckpt);
            rc = NG_EXIT_FAIL;
            goto done;
        }
        int64_t step = 0;
        if ((st = ng_ckpt_load(c->ckpt, MODEL, &step, arr, narr))) {
            rc = ng_cli_fail(CMD, "cannot resume");
            goto done;
        }
        start = (long)step;
        if ((st = ng_goldstone_state_loaded(gs))) { rc = ng_cli_fail(CMD, "cannot resume"); goto done; }
    }
    ng_cli_banner(CMD, c->seed,
                  "goldstone-toy | method %s | T %ld | X %ldx%ld | d %ld | lambda %g | noise %g | data seed %llu | "
                  "steps %ld%s | k1 %d k2 %d | rho-scale %g | gauge-reset %s | rotation %s | clip %g | apply %g | "
                  "solver %s | "
                  "%s lr %g sbar %g p %g grad-clip %g | L* %.6g",
                  mname, c->T, c->rows, c->cols, c->d, c->lambda, c->noise_var, (unsigned long long)c->data_seed,
                  c->steps, c->resume ? " (resumed)" : "", c->gp.k1, c->gp.k2, c->gp.rho_scale,
                  c->gp.gauge_reset ? "yes" : "no", ng_rotation_name(c->gp.rotation), c->gp.gauge_clip,
                  c->gp.apply_fraction, ng_gauge_solver_name(c->gp.gauge_solver), ng_inner_kind_name(c->gp.inner.kind),
                  c->gp.inner.rho0, c->gp.inner.sbar,
                  c->gp.inner.p, c->gp.inner.clip, t->Lstar);
    if (c->resume) fprintf(stderr, "natgrad %s: resumed from %s at step %ld\n", CMD, c->ckpt, start);
    static const char *const cols[] = {"step", "seconds", "loss", "ell", "psi", "gap", "walls", "symmetry_seconds"};
    if (c->log && (st = ng_csv_open(c->log, cols, 8, c->resume, &csv))) {
        rc = ng_cli_fail(CMD, "cannot open the log");
        goto done;
    }
    ng_cli_install_sigint();
    ng_progress pr;
    ng_progress_init(&pr, 10.0);
    double gap = NAN, symsec_total = 0.0;
    int walls = -1;
    long s = start;
    for (; s < c->steps; s++) {
        int logit = csv && (s % c->log_every == 0 || s == c->steps - 1);
        ng_goldstone_stats S;
        st = ng_goldstone_step(gs, logit, &S);
        if (st) {
            ng_progress_done(&pr);
            rc = ng_cli_fail(CMD, "training stopped");
            goto done;
        }
        elapsed += S.seconds;
        symsec_total += S.symmetry_seconds;
        gap = S.loss - t->Lstar;
        if (S.walls >= 0) walls = S.walls;
        if (logit) {
            double row[8] = {(double)s, elapsed, S.loss, S.ell, S.psi, gap, S.walls >= 0 ? (double)S.walls : NAN,
                             S.symmetry_seconds};
            if ((st = ng_csv_row(csv, row))) {
                rc = ng_cli_fail(CMD, "cannot write the log");
                goto done;
            }
        }
        if (s % 100 == 0)
            ng_progress_update(&pr, "%s step %ld/%ld  L %.6g  gap %.4g  walls %d", mname, s, c->steps, S.loss, gap,
                               walls);
        int stop = ng_cli_interrupted();
        if (c->ckpt && (stop || (s + 1) % c->ckpt_every == 0 || s + 1 == c->steps)) {
            if ((st = ng_ckpt_save(c->ckpt, MODEL, s + 1, arr, narr))) {
                ng_progress_done(&pr);
                rc = ng_cli_fail(CMD, "cannot save the checkpoint");
                goto done;
            }
        }
        if (stop) {
            ng_progress_done(&pr);
            fprintf(stderr, "natgrad %s: interrupted after step %ld%s%s\n", CMD, s + 1,
                    c->ckpt ? "; checkpoint saved in " : "", c->ckpt ? c->ckpt : "");
            rc = 130;
            goto done;
        }
    }
    ng_progress_done(&pr);
    {
        double L = NAN, ell, psi;
        int w = -1;
        if ((st = ng_goldstone_eval(gs, &L, &ell, &psi)) || (st = ng_count_walls(t->graph, t->N, (size_t)c->d, Z, &w))) {
            rc = ng_cli_fail(CMD, "final evaluation");
            goto done;
        }
        printf("method %s: %ld steps, L = %.8g (ell %.6g, psi %.6g), L* = %.8g, gap = %.4g, walls = %d, "
               "%.3f s (symmetry phase %.1f%%)\n",
               mname, s, L, ell, psi, t->Lstar, L - t->Lstar, w, elapsed,
               elapsed > 0 ? 100.0 * symsec_total / elapsed : 0.0);
    }
done:
    ng_csv_close(csv);
    ng_goldstone_free(gs);
    free(Z);
    return rc;
}

/* ------------------------------------------------------------------ figure */

static int write_traj(const char *path, const cfg_t *c, const toy_t *t, const float *Z)
{
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    /* a few vectors: the first two of U and of V; one block per vector, t along the curve */
    size_t pick[4] = {0, 1, (size_t)c->rows, (size_t)c->rows + 1};
    size_t nd = t->N * (size_t)c->d;
    for (int k = 0; k < 4; k++) {
        size_t i = pick[k] < t->N ? pick[k] : t->N - 1;
        fprintf(f, "# vector %zu\n", i);
        for (long tt = 0; tt < c->T; tt++) {
            const float *z = Z + (size_t)tt * nd + i * (size_t)c->d;
            fprintf(f, "%ld %g %g %g\n", tt, (double)z[0], c->d > 1 ? (double)z[1] : 0.0,
                    c->d > 2 ? (double)z[2] : 0.0);
        }
        fprintf(f, "\n\n");
    }
    return fclose(f) == 0;
}

static int run_figure(const cfg_t *c, const toy_t *t)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "natgrad %s: gnuplot not found; install it with: sudo apt-get install -y gnuplot-nox\n", CMD);
        return NG_EXIT_FAIL;
    }
    char dir[] = "/tmp/natgrad-fig-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "natgrad %s: cannot create a temp directory: %s\n", CMD, strerror(errno));
        return NG_EXIT_FAIL;
    }
    ng_goldstone_params ps[2] = {c->gp, c->gp};
    ps[0].symmetry = NG_SYM_NONE;
    if (ps[1].symmetry == NG_SYM_NONE) ps[1].symmetry = NG_SYM_GOLDSTONE;
    const char *names[2] = {"GD", NULL};
    names[1] = ng_symmetry_name(ps[1].symmetry);
    long snaps[3] = {0, c->figure_step < c->steps ? c->figure_step : c->steps / 2, c->steps};
    float *Z = malloc(t->n * sizeof *Z);
    int rc = NG_EXIT_OK;
    ng_cli_banner(CMD, c->seed, "goldstone-toy figure | GD vs %s | steps %ld | snapshots %ld, %ld, %ld", names[1],
                  c->steps, snaps[0], snaps[1], snaps[2]);
    double gaps[2][3];
    for (int m = 0; m < 2 && rc == NG_EXIT_OK; m++) {
        init_z(c, t, c->seed, Z);
        ng_goldstone *gs = NULL;
        if (ng_goldstone_new(&ps[m], t->graph, t->N, (size_t)c->d, ng_gauss_mf_loss, t->model, Z, &gs)) {
            rc = ng_cli_fail(CMD, "cannot set up the method");
            break;
        }
        long s = 0;
        for (int k = 0; k < 3 && rc == NG_EXIT_OK; k++) {
            for (; s < snaps[k]; s++)
                if (ng_goldstone_step(gs, 0, NULL)) {
                    rc = ng_cli_fail(CMD, names[m]);
                    break;
                }
            if (rc) break;
            double L = NAN;
            ng_goldstone_eval(gs, &L, NULL, NULL);
            gaps[m][k] = L - t->Lstar;
            char *p = ng_cli_asprintf("%s/m%d_s%d.dat", dir, m, k);
            if (!p || !write_traj(p, c, t, Z)) {
                fprintf(stderr, "natgrad %s: cannot write figure data in %s\n", CMD, dir);
                rc = NG_EXIT_FAIL;
            }
            free(p);
        }
        ng_goldstone_free(gs);
    }
    free(Z);
    char *script = ng_cli_asprintf("%s/plot.gp", dir);
    size_t L = strlen(c->figure);
    int svg = !strcmp(c->figure + L - 4, ".svg");
    char *tmpout = ng_cli_asprintf("%s.tmp.%ld%s", c->figure, (long)getpid(), svg ? ".svg" : ".png");
    if (rc == NG_EXIT_OK) {
        FILE *f = fopen(script, "w");
        if (!f) {
            rc = NG_EXIT_FAIL;
        } else {
            fprintf(f, "set terminal %s size 1500,950 %s\n", svg ? "svg" : "pngcairo", svg ? "dynamic" : "");
            fprintf(f, "set output '%s'\n", tmpout);
            fprintf(f, "set multiplot layout 2,3 title 'goldstone-toy (seed %llu): embedding vectors along t = 0..%ld "
                       "(colour = vector)'\n", (unsigned long long)c->seed, c->T - 1);
            fprintf(f, "set ticslevel 0\nset xlabel 'z1'\nset ylabel 'z2'\nset zlabel 'z3'\n");
            for (int m = 0; m < 2; m++)
                for (int k = 0; k < 3; k++) {
                    fprintf(f, "set title '%s, step %ld, gap %.3g'\n", names[m], snaps[k], gaps[m][k]);
                    fprintf(f, "splot for [i=0:3] '%s/m%d_s%d.dat' index i using 2:3:4 with linespoints pt 7 ps 0.4 "
                               "lc i+1 notitle\n", dir, m, k);
                }
            fprintf(f, "unset multiplot\n");
            if (fclose(f) != 0) rc = NG_EXIT_FAIL;
        }
        if (rc == NG_EXIT_OK) {
            char *cmd = ng_cli_asprintf("gnuplot '%s' 2>&1", script);
            int g = system(cmd);
            free(cmd);
            if (g != 0 || rename(tmpout, c->figure) != 0) {
                fprintf(stderr, "natgrad %s: gnuplot failed to draw %s\n", CMD, c->figure);
                ng_cli_unlink_quiet(tmpout);
                rc = NG_EXIT_FAIL;
            } else {
                printf("figure: %s (GD gap %.3g -> %.3g, %s gap %.3g -> %.3g)\n", c->figure, gaps[0][0], gaps[0][2],
                       names[1], gaps[1][0], gaps[1][2]);
            }
        }
    }
    /* clean the temp directory */
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 3; k++) {
            char *p = ng_cli_asprintf("%s/m%d_s%d.dat", dir, m, k);
            if (p) ng_cli_unlink_quiet(p);
            free(p);
        }
    if (script) ng_cli_unlink_quiet(script);
    rmdir(dir);
    free(script);
    free(tmpout);
    return rc;
}

int ng_cmd_repro(int argc, char **argv)
{
    cfg_t c;
    int rc = parse(argc, argv, &c);
    if (rc >= 0) return rc;
    if (c.threads > 0) ng_cli_set_threads((int)c.threads);
    toy_t t;
    if (toy_new(&c, &t)) {
        rc = ng_cli_fail(CMD, "cannot set up goldstone-toy");
        toy_free(&t);
        return rc;
    }
    if (c.have_seeds) {
        ng_cli_install_sigint();
        ng_cli_banner(CMD, (uint64_t)c.seed_a, "goldstone-toy seeds %ld..%ld | steps %ld", c.seed_a, c.seed_b, c.steps);
        rc = run_seeds(&c, &t);
    } else if (c.figure) {
        rc = run_figure(&c, &t);
    } else {
        rc = run_single(&c, &t);
    }
    toy_free(&t);
    return rc;
}
