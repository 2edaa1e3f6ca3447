/* cmd_repro.c - 'natgrad repro goldstone-toy': the toy experiment of Bamler & Mandt 2018
 * (section 5.1): dense dynamic Gaussian MF, X = Ubar^T Vbar + noise the same at all T steps,
 * a chain prior, clipped GD against Goldstone-GD and natgrad's synchronisation phase.
 * One run logs a CSV (and can checkpoint / resume); --seeds A..B prints a table per
 * method; --figure draws the embedding trajectories along t through gnuplot. Every
 * trajectory runs through the library's training loop (ng_train_run). */
#include "cli.h"
#include "commands.h"
#include "gnuplot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *CMD = "repro";

/* Everything the command line sets, with the tables that describe it. */
typedef struct {
    ng_toy_params tp;
    ng_goldstone_params gp;
    ng_train_params rp;
    long threads, figure_step;
    const char *seeds, *figure;
    long seed_a, seed_b;
    ng_cli_goldstone_ctx gctx;
    ng_cli_inner_ctx ictx;
    ng_cli_opt own[24], run[NG_CLI_GROUP_MAX], gold[NG_CLI_GROUP_MAX], inner[NG_CLI_GROUP_MAX];
    const ng_cli_opt *tables[4];
    ng_cli_spec spec;
} cfg_t;

/* The toy task's row: loss, ell, psi, gap, symmetry_seconds, walls, phases, phases_kept. */
enum { R_LOSS, R_ELL, R_PSI, R_GAP, R_SYM, R_WALLS, R_PHASES, R_KEPT, R_N };

typedef struct {
    long hit1, hit01; /* first step with gap < 1 / < 0.1, or -1 */
    double final_gap, seconds, sym_seconds;
    int diverged, final_walls;
} result_t;

static const char *const k_methods[] = {"gd", "goldstone", "sync", "sync+goldstone", NULL};

/* "gd" for the inner optimiser alone, as the tables and the final line name it */
static const char *method_name(ng_symmetry s) { return s == NG_SYM_NONE ? "gd" : ng_symmetry_name(s); }

static void preset(void *ctx)
{
    cfg_t *c = ctx;
    ng_cli_goldstone_preset(&c->gctx);
    ng_cli_inner_preset(&c->ictx);
}

#define SET NG_CLI_SETTING
static void own_table(cfg_t *c)
{
    ng_toy_params *t = &c->tp;
    const ng_cli_opt g[] = {
        {.name = "", .type = NG_CLI_SECTION, .help = "Problem"},
        {.name = "seed", .type = NG_CLI_U64, .dst = &t->seed, .meta = "S", .help = "initialisation seed", .flags = SET},
        {.name = "data-seed", .type = NG_CLI_U64, .dst = &t->data_seed, .meta = "S",
         .help = "seed of Ubar, Vbar and the noise", .flags = SET},
        {.name = "T", .type = NG_CLI_SIZE, .dst = &t->T, .lo = 1, .hi = 20000, .meta = "N", .help = "time steps", .flags = SET},
        {.name = "rows", .type = NG_CLI_SIZE, .dst = &t->rows, .lo = 1, .hi = 100000, .meta = "N", .help = "rows of X", .flags = SET},
        {.name = "cols", .type = NG_CLI_SIZE, .dst = &t->cols, .lo = 1, .hi = 100000, .meta = "N", .help = "columns of X", .flags = SET},
        {.name = "dim", .type = NG_CLI_SIZE, .dst = &t->d, .lo = 1, .hi = 4096, .meta = "N", .help = "embedding dimension d", .flags = SET},
        {.name = "lambda", .type = NG_CLI_DOUBLE, .dst = &t->lambda, .lo = 1e-300, .hi = 1e300, .meta = "X",
         .help = "chain coupling", .flags = SET},
        {.name = "noise-var", .type = NG_CLI_DOUBLE, .dst = &t->noise_var, .lo = 0, .hi = 1e300, .meta = "X",
         .help = "noise variance", .flags = SET},
        {.name = "init-std", .type = NG_CLI_DOUBLE, .dst = &t->init_std, .lo = 0, .hi = 1e300, .meta = "X",
         .help = "initial Z ~ N(0, X^2)", .flags = SET},
        {.name = "init-equal", .type = NG_CLI_FLAG, .dst = &t->init_equal, .flags = SET,
         .help = "start every slice from the same draw (no twist, no wall: the\n"
                 "floor any symmetry phase can reach; diagnostic)"},
        {.name = "", .type = NG_CLI_SECTION, .help = "Experiments"},
        {.name = "seeds", .type = NG_CLI_STR, .dst = &c->seeds, .meta = "A..B",
         .help = "run every seed in A..B and print a table per method (all four\n"
                 "symmetries, the paper's variant and the floor unless --symmetry\n"
                 "is given; with another inner optimiser also the paper's GD)"},
        {.name = "figure", .type = NG_CLI_STR, .dst = &c->figure, .meta = "FIG.png|svg",
         .help = "3-D trajectories of embedding vectors along t, GD beside the\n"
                 "natgrad method, at steps 0, --figure-step and the last (gnuplot)"},
        {.name = "figure-step", .type = NG_CLI_LONG, .dst = &c->figure_step, .lo = 0, .hi = 1e9, .meta = "N",
         .help = "middle snapshot of --figure"},
        NG_CLI_END,
    };
    NG_CLI_KEEP_TABLE(c->own, g);
}

static void cfg_init(cfg_t *c)
{
    memset(c, 0, sizeof *c);
    c->tp = ng_toy_default_params();
    c->gp = ng_goldstone_default_params();
    /* the toy reproduces the paper's experiment: a phase every k1 steps, as documented
     * (the cost model would raise the gauge phase's interval: its d = 3 products weigh
     * more than a pass over the toy's small Z) */
    c->gp.max_overhead = 0.0;
    c->gp.min_gain = 0.0; /* and every phase kept */
    c->rp = ng_toy_train_params();
    c->figure_step = 1000;
    own_table(c);
    ng_cli_group_run(c->run, &c->rp, &c->threads);
    ng_cli_group_goldstone(c->gold, &c->gp, &c->gctx);
    ng_cli_group_inner(c->inner, &c->gp.inner, &c->ictx);
    c->tables[0] = c->own;
    c->tables[1] = c->run;
    c->tables[2] = c->gold;
    c->tables[3] = c->inner;
    ng_cli_spec *s = &c->spec;
    s->name = CMD;
    s->synopsis = "goldstone-toy [options]";
    s->intro = "The toy experiment of Bamler & Mandt (ICML 2018, section 5.1): X = Ubar^T Vbar + noise,\n"
               "the same X at all T steps, l = 1/2 sum_t ||X - U_t^T V_t||^2, chain prior lambda.\n"
               "gap = L - L*, L* = T * 1/2 sum_{k>d} sigma_k(X)^2 (exact optimum). A run logs\n"
               "step,seconds,loss,ell,psi,gap,symmetry_seconds,walls,phases,phases_kept: row k is the\n"
               "state after k steps.";
    s->outro = "The final line and the tables name the inner optimiser alone (--symmetry none) 'gd'.";
    s->tables = c->tables;
    s->n_tables = 4;
    s->preset = preset;
    s->ctx = c;
    s->positional = 1;
}

static int check_figure_name(const char *f)
{
    size_t L = strlen(f);
    if (L > 4 && (!strcmp(f + L - 4, ".png") || !strcmp(f + L - 4, ".svg"))) return -1;
    return ng_cli_usage_error(CMD, "invalid value '%s' for --figure: expected a name ending in .png or .svg", f);
}

/* Returns -1 to go on, else an exit code. */
static int parse(int argc, char **argv, cfg_t *c)
{
    const char *pos[1] = {NULL};
    int npos = 0;
    int rc = ng_cli_parse(&c->spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (npos < 1) return ng_cli_usage_error(CMD, "missing the experiment name (goldstone-toy)");
    if (strcmp(pos[0], "goldstone-toy"))
        return ng_cli_usage_error(CMD, "unknown experiment '%s' (expected goldstone-toy)", pos[0]);
    if (c->seeds && !ng_cli_parse_range(CMD, "--seeds", c->seeds, &c->seed_a, &c->seed_b)) return NG_EXIT_USAGE;
    if (c->rp.resume && !c->rp.checkpoint) return ng_cli_usage_error(CMD, "--resume needs --checkpoint DIR");
    if (c->seeds && (c->rp.checkpoint || c->rp.log || c->figure))
        return ng_cli_usage_error(CMD, "--seeds runs many inits: it takes no --log, --checkpoint or --figure");
    if (c->figure && (c->rp.checkpoint || c->rp.resume))
        return ng_cli_usage_error(CMD, "--figure takes no --checkpoint/--resume");
    if (c->figure && (rc = check_figure_name(c->figure)) >= 0) return rc;
    if ((c->seeds || c->figure) && c->rp.steps == 0)
        return ng_cli_usage_error(CMD, "--steps 0 (no limit) is for a single run, not --seeds or --figure");
    if (c->tp.rows + c->tp.cols > 1000000) return ng_cli_usage_error(CMD, "--rows + --cols is too large");
    return -1;
}

/* ------------------------------------------------------------------ one run */

/* A toy trajectory as a task: Z, the method and the task, freed together. */
typedef struct {
    ng_goldstone *gs;
    ng_goldstone_task *task;
    ng_task k;
} toy_run;

static ng_status toy_run_new(ng_toy *toy, const ng_goldstone_params *gp, float *Z, int count_walls,
                             toy_run *r)
{
    memset(r, 0, sizeof *r);
    ng_status st = ng_toy_goldstone_new(toy, gp, Z, &r->gs);
    if (st) return st;
    ng_goldstone_task_params p = ng_toy_task_params(toy);
    p.count_walls = count_walls;
    if ((st = ng_goldstone_task_new(r->gs, Z, &p, &r->task))) return st;
    r->k = ng_goldstone_task_get(r->task);
    return NG_OK;
}

static void toy_run_free(toy_run *r)
{
    ng_goldstone_task_free(r->task);
    ng_goldstone_free(r->gs);
}

static int run_single(cfg_t *c, ng_toy *toy)
{
    float *Z = malloc(ng_toy_size(toy) * sizeof *Z);
    if (!Z) {
        fprintf(stderr, "natgrad %s: out of memory\n", CMD);
        return NG_EXIT_FAIL;
    }
    ng_toy_init(toy, c->tp.seed, Z);
    toy_run r;
    int rc = NG_EXIT_OK;
    if (toy_run_new(toy, &c->gp, Z, 1, &r)) {
        rc = ng_cli_fail(CMD, "cannot set up the method");
        goto done;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "L* %.6g", ng_toy_optimum(toy));
    ng_cli_banner_spec(&c->spec, extra);
    ng_cli_goldstone_interval_note(CMD, r.gs);
    if (c->rp.resume && !ng_ckpt_exists(c->rp.checkpoint))
        fprintf(stderr, "natgrad %s: no checkpoint in %s yet; starting from step 0\n", CMD, c->rp.checkpoint);
    ng_train_status st;
    rc = ng_cli_train(&c->spec, &r.k, &c->rp, &st);
    if (rc != NG_EXIT_OK) goto done;
    double row[R_N];
    if (r.k.n_cols != R_N || r.k.row(r.k.self, row)) {
        rc = ng_cli_fail(CMD, "final evaluation");
        goto done;
    }
    printf("method %s: %lld steps, L = %.8g (ell %.6g, psi %.6g), L* = %.8g, gap = %.4g, walls = %d, "
           "%.3f s (symmetry phase %.1f%%)\n",
           method_name(c->gp.symmetry), (long long)st.step, row[R_LOSS], row[R_ELL], row[R_PSI],
           ng_toy_optimum(toy), row[R_GAP], (int)row[R_WALLS], st.seconds,
           st.seconds > 0 ? 100.0 * row[R_SYM] / st.seconds : 0.0);
done:
    toy_run_free(&r);
    free(Z);
    return rc;
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

/* What the loop's callbacks of a quiet run keep. */
typedef struct {
    double Lstar, last_gap;
    result_t *r;
    double row[R_N];
} quiet_t;

/* After step k + 1: the gap of the step's point (the state after k steps); stop once it is
 * below 0.1 (the loop then rows the state after the step) or on Ctrl-C. */
static int quiet_stop(void *user, const ng_train_status *s)
{
    quiet_t *q = user;
    result_t *r = q->r;
    double gap = s->step_vals[0] - q->Lstar;
    long k = (long)s->step - 1;
    q->last_gap = gap;
    r->sym_seconds += s->step_vals[3];
    if (r->hit1 < 0 && gap < 1.0) r->hit1 = k;
    if (r->hit01 < 0 && gap < 0.1) {
        r->hit01 = k;
        return 1;
    }
    return ng_cli_interrupted();
}

static void quiet_progress(void *user, const ng_train_status *s)
{
    quiet_t *q = user;
    if (s->row) memcpy(q->row, s->row, sizeof q->row);
}

/* One run without log or checkpoint: a row only at the end (gap and walls there). */
static ng_status run_quiet(const cfg_t *c, ng_toy *toy, const ng_goldstone_params *gp, uint64_t seed,
                           float *Z, result_t *r)
{
    memset(r, 0, sizeof *r);
    r->hit1 = r->hit01 = -1;
    r->final_walls = -1;
    ng_toy_init(toy, seed, Z);
    toy_run run;
    ng_status st = toy_run_new(toy, gp, Z, 1, &run);
    quiet_t q = {ng_toy_optimum(toy), NAN, r, {0}};
    ng_train_params tp = c->rp;
    tp.log = tp.checkpoint = NULL;
    tp.resume = 0;
    tp.checkpoint_every = 0;
    tp.eval_every = tp.steps;
    tp.eval_every_given = 1;
    tp.eval_seconds = 0;
    tp.eval_at_start = 0;
    tp.settings = NULL;
    tp.should_stop = quiet_stop;
    tp.progress = quiet_progress;
    tp.user = &q;
    ng_train_status s;
    memset(&s, 0, sizeof s);
    if (!st) st = ng_train_run(&run.k, &tp, &s);
    r->seconds = s.seconds;
    if (st == NG_ENUMERIC) { /* diverged: the gap of the last finite step */
        r->diverged = 1;
        r->final_gap = q.last_gap;
        st = NG_OK;
    } else if (!st) {
        r->final_gap = q.row[R_GAP];
        r->final_walls = (int)q.row[R_WALLS];
    }
    toy_run_free(&run);
    return st;
}

static int same_inner(const ng_inner_params *a, const ng_inner_params *b)
{
    return a->kind == b->kind && a->rho0 == b->rho0 && a->sbar == b->sbar && a->p == b->p &&
           a->clip == b->clip && (a->kind != NG_INNER_ADAM || (a->beta1 == b->beta1 && a->beta2 == b->beta2)) &&
           (a->kind == NG_INNER_GD || a->eps == b->eps);
}

/* The table's rows. With the paper's optimiser (clipped GD, the default) the rows are gd
 * and the symmetry modes; with any other inner optimiser the table also has the paper's
 * GD as the baseline and "<opt> alone", so it shows what the optimiser buys and what the
 * symmetry phase buys on top. */
enum { MAX_ROWS = 8 };
typedef struct {
    char names[MAX_ROWS][40];
    ng_goldstone_params ps[MAX_ROWS];
    int n, floor_row, paper_row, alone_row, custom;
    const char *opt;
} rows_t;

static void table_rows(const cfg_t *c, rows_t *t)
{
    memset(t, 0, sizeof *t);
    t->floor_row = t->paper_row = t->alone_row = -1;
    const ng_inner_params paper_inner = ng_goldstone_default_params().inner;
    t->custom = !same_inner(&c->gp.inner, &paper_inner);
    t->opt = ng_inner_kind_name(c->gp.inner.kind);
    int nm = 0;
    if (c->gctx.symmetry_given) {
        snprintf(t->names[nm], sizeof t->names[0], "%s",
                 c->gp.symmetry == NG_SYM_NONE ? (t->custom ? t->opt : "gd") : ng_symmetry_name(c->gp.symmetry));
        t->ps[nm++] = c->gp;
        t->n = nm;
        return;
    }
    if (t->custom) {
        t->ps[nm] = c->gp;
        t->ps[nm].symmetry = NG_SYM_NONE;
        t->ps[nm].inner = paper_inner;
        t->paper_row = nm;
        snprintf(t->names[nm++], sizeof t->names[0], "gd (paper)");
    }
    for (int m = 0; m < 4; m++) {
        t->ps[nm] = c->gp;
        t->ps[nm].symmetry = m == 0 ? NG_SYM_NONE : (ng_symmetry)m;
        if (m == 0) {
            t->alone_row = nm;
            if (!t->custom) t->paper_row = nm;
        }
        if (!t->custom) snprintf(t->names[nm], sizeof t->names[0], "%s", k_methods[m]);
        else if (m == 0) snprintf(t->names[nm], sizeof t->names[0], "%s alone", t->opt);
        else snprintf(t->names[nm], sizeof t->names[0], "%s+%s", t->opt, k_methods[m]);
        nm++;
    }
    if (!c->gctx.paper) {
        t->ps[nm] = c->gp;
        ng_goldstone_paper_variant(&t->ps[nm]);
        snprintf(t->names[nm++], sizeof t->names[0], "%s%s", t->custom ? t->opt : "",
                 t->custom ? "+goldstone-paper" : "goldstone-paper");
    }
    /* the floor: the inner optimiser from identical slices (no twist, no wall to remove) */
    t->ps[nm] = c->gp;
    t->ps[nm].symmetry = NG_SYM_NONE;
    t->floor_row = nm;
    snprintf(t->names[nm++], sizeof t->names[0], "floor");
    t->n = nm;
}

static void print_table_head(const cfg_t *c, const rows_t *t, double Lstar)
{
    const ng_toy_params *p = &c->tp;
    printf("goldstone-toy: T %zu, X %zux%zu, d %zu, lambda %g, noise var %g, data seed %llu, "
           "L* = %.6g, %lld steps max, seeds %ld..%ld\n",
           p->T, p->rows, p->cols, p->d, p->lambda, p->noise_var, (unsigned long long)p->data_seed, Lstar,
           (long long)c->rp.steps, c->seed_a, c->seed_b);
    const ng_inner_params *ip = &c->gp.inner;
    printf("inner optimiser%s: %s, lr %g", t->custom ? " (all rows but gd (paper))" : "", t->opt, ip->rho0);
    if (ip->sbar > 0) printf(" * (%g / (s + %g))^%g", ip->sbar, ip->sbar, ip->p);
    printf(", grad-clip %g", ip->clip);
    if (ip->kind == NG_INNER_ADAM) printf(" beta1 %g beta2 %g", ip->beta1, ip->beta2);
    if (ip->kind != NG_INNER_GD) printf(" eps %g", ip->eps);
    printf("\n%-22s %9s %12s %9s %12s %8s %9s %7s %11s %9s\n", "method", "gap<1", "median step", "gap<0.1",
           "median step", "stalled", "diverged", "walls", "median gap", "sym time");
}

/* One row's statistics over the seeds. */
typedef struct {
    size_t n1, n01, stalled, diverged, walled;
    double m1, m01, median_gap, sec, symsec;
} row_stats;

static double median_double(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double tmp = v[j];
            v[j] = v[j - 1];
            v[j - 1] = tmp;
        }
    return n ? (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2])) : NAN;
}

/* Runs row m over all seeds; buf holds 3 * ns slots. Returns an exit code. */
static int run_row(const cfg_t *c, ng_toy *toy, const rows_t *t, int m, float *Z, long *buf, row_stats *rs)
{
    long ns = c->seed_b - c->seed_a + 1, *h1 = buf, *h01 = buf + ns;
    double *gaps = (double *)(buf + 2 * ns);
    size_t ng = 0;
    memset(rs, 0, sizeof *rs);
    ng_progress pr;
    ng_progress_init(&pr, 5.0);
    for (long s = 0; s < ns; s++) {
        if (ng_cli_interrupted()) return 130;
        result_t r;
        if (run_quiet(c, toy, &t->ps[m], (uint64_t)(c->seed_a + s), Z, &r)) {
            ng_progress_done(&pr);
            return ng_cli_fail(CMD, t->names[m]);
        }
        ng_progress_update(&pr, "%s seed %ld: gap<1 at %ld, final gap %.3g", t->names[m], c->seed_a + s, r.hit1,
                           r.final_gap);
        if (r.hit1 >= 0) h1[rs->n1++] = r.hit1;
        if (r.hit01 >= 0) h01[rs->n01++] = r.hit01;
        if (r.diverged) rs->diverged++;
        else if (r.hit1 < 0) rs->stalled++;
        if (r.final_walls > 0) rs->walled++;
        if (isfinite(r.final_gap)) gaps[ng++] = r.final_gap;
        rs->sec += r.seconds;
        rs->symsec += r.sym_seconds;
    }
    ng_progress_done(&pr);
    rs->median_gap = median_double(gaps, ng);
    rs->m1 = median_long(h1, rs->n1);
    rs->m01 = median_long(h01, rs->n01);
    return NG_EXIT_OK;
}

static void print_row(const char *name, const row_stats *rs, long ns)
{
    char a1[48], a01[48], sm1[48], sm01[48];
    snprintf(a1, sizeof a1, "%zu/%ld", rs->n1, ns);
    snprintf(a01, sizeof a01, "%zu/%ld", rs->n01, ns);
    if (rs->n1) snprintf(sm1, sizeof sm1, "%.0f", rs->m1); else snprintf(sm1, sizeof sm1, "-");
    if (rs->n01) snprintf(sm01, sizeof sm01, "%.0f", rs->m01); else snprintf(sm01, sizeof sm01, "-");
    printf("%-22s %9s %12s %9s %12s %8zu %9zu %7zu %11.3g %8.1f%%\n", name, a1, sm1, a01, sm01, rs->stalled,
           rs->diverged, rs->walled, rs->median_gap, rs->sec > 0 ? 100.0 * rs->symsec / rs->sec : 0.0);
    fflush(stdout);
}

/* The verdict under the table: the best natgrad mode against the paper's GD. */
typedef struct {
    double paper_median, alone_median, best_median, best_share;
    size_t alone_n1;
    const char *best;
} verdict_t;

static void verdict_add(verdict_t *v, const rows_t *t, int m, const row_stats *rs, long ns)
{
    if (m == t->paper_row) v->paper_median = rs->m1;
    if (m == t->alone_row) v->alone_median = rs->m1, v->alone_n1 = rs->n1;
    if (m == t->floor_row || t->ps[m].symmetry == NG_SYM_NONE) return; /* baselines and the floor */
    double share = (double)rs->n1 / (double)ns;
    if (rs->n1 && share >= v->best_share - 1e-12 && (share > v->best_share + 1e-12 || rs->m1 < v->best_median)) {
        v->best_share = share;
        v->best_median = rs->m1;
        v->best = t->names[m];
    }
}

static void print_verdict(const cfg_t *c, const rows_t *t, const verdict_t *v, long ns, int complete)
{
    if (complete && v->best && isfinite(v->paper_median)) {
        double speed = v->paper_median / v->best_median;
        printf("best natgrad mode: %s (gap<1 on %.0f%% of seeds, median step %.0f): %.1fx fewer steps than "
               "the paper GD's median %.0f on the seeds it solved",
               v->best, 100.0 * v->best_share, v->best_median, speed, v->paper_median);
        if (t->custom && v->alone_n1)
            printf("; %.1fx fewer than %s alone's median %.0f (gap<1 on %zu/%ld seeds)", v->alone_median / v->best_median,
                   t->opt, v->alone_median, v->alone_n1, ns);
        else if (t->custom)
            printf("; %s alone reached gap<1 on no seed", t->opt);
        printf("\ntarget (gap<1 on >= 95%% of seeds in >= 10x fewer steps than the paper GD's median): %s\n",
               v->best_share >= 0.95 - 1e-12 && speed >= 10.0 ? "met" : "not met");
    }
    printf("(stalled: never reached gap < 1 in %lld steps; walls: runs ending with a reflection wall; sym time: "
           "share of run time in the symmetry phase%s)\n", (long long)c->rp.steps,
           t->floor_row >= 0 ? "; floor: the inner optimiser from identical slices, what a perfect symmetry phase "
                               "could reach" : "");
}

static int run_seeds(const cfg_t *c, ng_toy *toy, ng_toy *toy_equal)
{
    rows_t t;
    table_rows(c, &t);
    long ns = c->seed_b - c->seed_a + 1;
    float *Z = malloc(ng_toy_size(toy) * sizeof *Z);
    long *buf = malloc((size_t)ns * (2 * sizeof(long) + sizeof(double)) + sizeof(double));
    if (!Z || !buf) {
        free(Z);
        free(buf);
        fprintf(stderr, "natgrad %s: out of memory\n", CMD);
        return NG_EXIT_FAIL;
    }
    print_table_head(c, &t, ng_toy_optimum(toy));
    verdict_t v = {NAN, NAN, INFINITY, 0.0, 0, NULL};
    int rc = NG_EXIT_OK;
    for (int m = 0; m < t.n && rc == NG_EXIT_OK; m++) {
        row_stats rs;
        rc = run_row(c, m == t.floor_row ? toy_equal : toy, &t, m, Z, buf, &rs);
        if (rc != NG_EXIT_OK) break;
        print_row(t.names[m], &rs, ns);
        verdict_add(&v, &t, m, &rs, ns);
    }
    print_verdict(c, &t, &v, ns, rc == NG_EXIT_OK);
    free(Z);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ figure */

static int write_traj(const char *path, const ng_toy *toy, const float *Z)
{
    const ng_toy_params *p = ng_toy_get_params(toy);
    size_t N = ng_toy_num_vectors(toy), d = p->d;
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    /* a few vectors: the first two of U and of V; one block per vector, t along the curve */
    size_t pick[4] = {0, 1, p->rows, p->rows + 1};
    for (int k = 0; k < 4; k++) {
        size_t i = pick[k] < N ? pick[k] : N - 1;
        fprintf(f, "# vector %zu\n", i);
        for (size_t tt = 0; tt < p->T; tt++) {
            const float *z = Z + tt * N * d + i * d;
            fprintf(f, "%zu %g %g %g\n", tt, (double)z[0], d > 1 ? (double)z[1] : 0.0, d > 2 ? (double)z[2] : 0.0);
        }
        fprintf(f, "\n\n");
    }
    return fclose(f) == 0;
}

/* The snapshots of one method, taken from the rows at the snapshot steps. */
typedef struct {
    const ng_toy *toy;
    const float *Z;
    const char *dir;
    int m, next, failed;
    long snaps[3];
    double gaps[3];
} fig_t;

static void fig_progress(void *user, const ng_train_status *s)
{
    fig_t *f = user;
    while (f->next < 3 && s->row && s->row_step == s->step && s->step == f->snaps[f->next]) {
        f->gaps[f->next] = s->row[R_GAP];
        char *p = ng_cli_asprintf("%s/m%d_s%d.dat", f->dir, f->m, f->next);
        if (!p || !write_traj(p, f->toy, f->Z)) f->failed = 1;
        free(p);
        f->next++;
    }
}

/* Runs method m from the initial Z and writes its three snapshots. */
static int figure_method(const cfg_t *c, ng_toy *toy, const ng_goldstone_params *gp, fig_t *f, float *Z)
{
    ng_toy_init(toy, c->tp.seed, Z);
    toy_run run;
    ng_status st = toy_run_new(toy, gp, Z, 0, &run);
    f->toy = toy;
    f->Z = Z;
    ng_train_params tp = ng_train_default_params();
    tp.steps = c->rp.steps;
    tp.eval_every = f->snaps[1] > 0 ? f->snaps[1] : tp.steps;
    tp.eval_at_start = 1;
    tp.progress = fig_progress;
    tp.user = f;
    if (!st) st = ng_train_run(&run.k, &tp, NULL);
    toy_run_free(&run);
    if (st) return ng_cli_fail(CMD, f->m ? "the natgrad method" : "GD");
    if (f->failed || f->next < 3) {
        fprintf(stderr, "natgrad %s: cannot write figure data in %s\n", CMD, f->dir);
        return NG_EXIT_FAIL;
    }
    return NG_EXIT_OK;
}

static int write_plot_script(const char *script, const char *tmpout, int svg, const cfg_t *c, const char *dir,
                             const char *const names[2], const fig_t fig[2])
{
    FILE *f = fopen(script, "w");
    if (!f) return 0;
    fprintf(f, "set terminal %s size 1500,950 %s\n", svg ? "svg" : "pngcairo", svg ? "dynamic" : "");
    fprintf(f, "set output '%s'\n", tmpout);
    fprintf(f, "set multiplot layout 2,3 title 'goldstone-toy (seed %llu): embedding vectors along t = 0..%zu "
               "(colour = vector)'\n", (unsigned long long)c->tp.seed, c->tp.T - 1);
    fprintf(f, "set ticslevel 0\nset xlabel 'z1'\nset ylabel 'z2'\nset zlabel 'z3'\n");
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 3; k++) {
            fprintf(f, "set title '%s, step %ld, gap %.3g'\n", names[m], fig[m].snaps[k], fig[m].gaps[k]);
            fprintf(f, "splot for [i=0:3] '%s/m%d_s%d.dat' index i using 2:3:4 with linespoints pt 7 ps 0.4 "
                       "lc i+1 notitle\n", dir, m, k);
        }
    fprintf(f, "unset multiplot\n");
    return fclose(f) == 0;
}

static int draw(const cfg_t *c, const char *gnuplot, const char *dir, const char *const names[2],
                const fig_t fig[2])
{
    char *script = ng_cli_asprintf("%s/plot.gp", dir);
    size_t L = strlen(c->figure);
    int svg = !strcmp(c->figure + L - 4, ".svg"), rc = NG_EXIT_OK;
    char *tmpout = ng_cli_asprintf("%s.tmp.%ld%s", c->figure, (long)getpid(), svg ? ".svg" : ".png");
    if (!script || !tmpout || !write_plot_script(script, tmpout, svg, c, dir, names, fig)) {
        rc = NG_EXIT_FAIL;
    } else {
        int g = ng_gnuplot_run(CMD, gnuplot, script, NULL);
        if (g != 0 || rename(tmpout, c->figure) != 0) {
            fprintf(stderr, "natgrad %s: gnuplot failed to draw %s\n", CMD, c->figure);
            ng_cli_unlink_quiet(tmpout);
            rc = NG_EXIT_FAIL;
        } else {
            printf("figure: %s (GD gap %.3g -> %.3g, %s gap %.3g -> %.3g)\n", c->figure, fig[0].gaps[0],
                   fig[0].gaps[2], names[1], fig[1].gaps[0], fig[1].gaps[2]);
        }
    }
    if (script) ng_cli_unlink_quiet(script);
    free(script);
    free(tmpout);
    return rc;
}

static int run_figure(const cfg_t *c, ng_toy *toy)
{
    char *gnuplot = ng_gnuplot_find();
    if (!gnuplot) {
        fprintf(stderr, "natgrad %s: " NG_GNUPLOT_HINT "\n", CMD);
        return NG_EXIT_FAIL;
    }
    char dir[] = "/tmp/natgrad-fig-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "natgrad %s: cannot create a temp directory: %s\n", CMD, strerror(errno));
        free(gnuplot);
        return NG_EXIT_FAIL;
    }
    ng_goldstone_params ps[2] = {c->gp, c->gp};
    ps[0].symmetry = NG_SYM_NONE;
    if (ps[1].symmetry == NG_SYM_NONE) ps[1].symmetry = NG_SYM_GOLDSTONE;
    const char *names[2] = {"GD", ng_symmetry_name(ps[1].symmetry)};
    long steps = (long)c->rp.steps;
    fig_t fig[2];
    memset(fig, 0, sizeof fig);
    for (int m = 0; m < 2; m++) {
        fig[m].dir = dir;
        fig[m].m = m;
        fig[m].snaps[1] = c->figure_step < steps ? c->figure_step : steps / 2;
        fig[m].snaps[2] = steps;
    }
    char extra[160];
    snprintf(extra, sizeof extra, "figure | GD vs %s | snapshots %ld, %ld, %ld", names[1], fig[0].snaps[0],
             fig[0].snaps[1], fig[0].snaps[2]);
    ng_cli_banner_spec(&c->spec, extra);
    float *Z = malloc(ng_toy_size(toy) * sizeof *Z);
    int rc = Z ? NG_EXIT_OK : NG_EXIT_FAIL;
    for (int m = 0; m < 2 && rc == NG_EXIT_OK; m++) rc = figure_method(c, toy, &ps[m], &fig[m], Z);
    free(Z);
    if (rc == NG_EXIT_OK) rc = draw(c, gnuplot, dir, names, fig);
    free(gnuplot);
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 3; k++) {
            char *p = ng_cli_asprintf("%s/m%d_s%d.dat", dir, m, k);
            if (p) ng_cli_unlink_quiet(p);
            free(p);
        }
    rmdir(dir);
    return rc;
}

int ng_cmd_repro(int argc, char **argv)
{
    cfg_t *c = malloc(sizeof *c);
    if (!c) {
        fprintf(stderr, "natgrad %s: out of memory\n", CMD);
        return NG_EXIT_FAIL;
    }
    cfg_init(c);
    int rc = parse(argc, argv, c);
    if (rc >= 0) {
        free(c);
        return rc;
    }
    ng_cli_set_threads((int)c->threads);
    ng_toy *toy = NULL, *toy_equal = NULL;
    ng_toy_params eq = c->tp;
    eq.init_equal = 1; /* the floor row of --seeds */
    if (ng_toy_new(&c->tp, &toy) || (c->seeds && ng_toy_new(&eq, &toy_equal))) {
        rc = ng_cli_fail(CMD, "cannot set up goldstone-toy");
    } else if (c->seeds) {
        ng_cli_install_sigint();
        char extra[96];
        snprintf(extra, sizeof extra, "seeds %ld..%ld", c->seed_a, c->seed_b);
        ng_cli_banner_spec(&c->spec, extra);
        rc = run_seeds(c, toy, toy_equal);
    } else if (c->figure) {
        rc = run_figure(c, toy);
    } else {
        rc = run_single(c, toy);
    }
    ng_toy_free(toy);
    ng_toy_free(toy_equal);
    free(c);
    return rc;
}
