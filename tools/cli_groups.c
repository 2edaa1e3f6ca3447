/* cli_groups.c - the option groups several commands share (see cli.h): run control,
 * the network optimiser with K-FAC, Goldstone-GD and the inner optimiser. Each is listed
 * once here, so every command spells, bounds and documents them the same way. */
#include "cli.h"

#include <string.h>

static const char *const k_onoff[] = {"off", "on", NULL};
static const char *const k_yesno[] = {"no", "yes", NULL};
static const char *const k_net_kinds[] = {"kfac", "sgd-nesterov", "adam", NULL};
static const ng_optim_kind k_net_kind_of[] = {NG_OPT_KFAC, NG_OPT_SGD_NESTEROV, NG_OPT_ADAM};
static const char *const k_curvatures[] = {"blockdiag", "tridiag", NULL}; /* = ng_kfac_curvature */
static const char *const k_fisher[] = {"sampled", "empirical", NULL};
static const char *const k_damping[] = {"factored", "tikhonov", NULL};
static const char *const k_symmetries[] = {"none", "goldstone", "sync", "sync+goldstone", NULL};
static const char *const k_solvers[] = {"quadratic", "retract", NULL};       /* = ng_gauge_solver */
static const char *const k_rotations[] = {"first-order", "cayley", "exp", NULL}; /* = ng_rotation */
static const char *const k_inner_kinds[] = {"gd", "adagrad", "adam", NULL};  /* = ng_inner_kind */

#define SET NG_CLI_SETTING
#define SECTION(title) {.name = "", .type = NG_CLI_SECTION, .help = title}
#define NUM(n, t, d, l, h, m, txt, f) \
    {.name = n, .type = t, .dst = d, .lo = l, .hi = h, .meta = m, .help = txt, .flags = f}
#define CHOICE(n, d, ch, txt, f, g) \
    {.name = n, .type = NG_CLI_CHOICE, .dst = d, .choices = ch, .help = txt, .flags = f, .given = g}

/* Copies a group's entries (a static template's shape, filled with the caller's dsts)
 * into out and ends it. */
static size_t finish(ng_cli_opt *out, const ng_cli_opt *src, size_t n)
{
    memcpy(out, src, n * sizeof *src);
    memset(&out[n], 0, sizeof out[n]);
    return n;
}
#define FINISH(out, g)                                                                   \
    _Static_assert(sizeof g / sizeof g[0] < NG_CLI_GROUP_MAX, "raise NG_CLI_GROUP_MAX"); \
    return finish(out, g, sizeof g / sizeof g[0])

size_t ng_cli_group_run(ng_cli_opt *out, ng_train_params *tp, long *threads)
{
    const ng_cli_opt g[] = {
        SECTION("Run"),
        {.name = "steps", .type = NG_CLI_I64, .dst = &tp->steps, .lo = 0, .hi = 1e9, .meta = "N",
         .given = &tp->steps_given,
         .help = "stop after N steps, 0 = no limit; the default only without --time-limit"},
        NUM("time-limit", NG_CLI_DOUBLE, &tp->time_limit, 0, 1e9, "SEC",
            "stop after SEC seconds of training (evaluations not counted),\n"
            "0 = no limit; without --steps the clock alone ends the run", 0),
        {.name = "eval-every", .type = NG_CLI_I64, .dst = &tp->eval_every, .lo = 1, .hi = 1e9, .meta = "K",
         .given = &tp->eval_every_given,
         .help = "a row every K steps and after the last (--time-limit alone: every 1/20 of it)"},
        NUM("eval-seconds", NG_CLI_DOUBLE, &tp->eval_seconds, 0, 1e9, "S",
            "evaluate instead every S seconds of training, 0 = off", 0),
        {.name = "log", .type = NG_CLI_STR, .dst = &tp->log, .meta = "FILE.csv",
         .help = "CSV log of the rows, starting step,seconds (on --resume cut back\n"
                 "to the checkpoint's step, then appended to)"},
        {.name = "checkpoint", .type = NG_CLI_STR, .dst = &tp->checkpoint, .meta = "DIR",
         .help = "checkpoint directory: written at the end, on Ctrl-C and every\n"
                 "--checkpoint-every steps"},
        NUM("checkpoint-every", NG_CLI_I64, &tp->checkpoint_every, 0, 1e9, "K",
            "also checkpoint every K steps, 0 = at the end and on Ctrl-C only", 0),
        {.name = "resume", .type = NG_CLI_FLAG, .dst = &tp->resume, .flags = NG_CLI_NO_DEFAULT,
         .help = "continue from --checkpoint DIR when it holds a checkpoint (the\n"
                 "settings must be the same; the log is cut back to its step)"},
        NUM("threads", NG_CLI_LONG, threads, 0, 1024, "N", "BLAS and OpenMP threads, 0 = leave as is", 0),
    };
    FINISH(out, g);
}

/* ------------------------------------------------------------------ networks */

/* The optimiser section's title: the momentum schedule and where the defaults shown
 * in [] come from (the library's word for the optimiser and preset). */
static void net_section(ng_cli_net_ctx *ctx, ng_optim_kind kind)
{
    ng_optim_params q;
    const char *source = "";
    (void)ng_optim_preset_params(kind, ctx->preset, &q, &source);
    snprintf(ctx->section, sizeof ctx->section,
             "Optimiser (SGD-Nesterov: mu_t = min(1 - 2^(-1-log2(floor(t/250)+1)), mu_max)).\n"
             "The defaults in []%s%s come from\n%s:",
             ctx->preset ? " for --arch " : "", ctx->preset ? ctx->preset : "", source);
}

size_t ng_cli_group_net(ng_cli_opt *out, ng_optim_params *p, ng_cli_net_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->p = p;
    for (int k = 0; k < 3; k++)
        if (k_net_kind_of[k] == p->kind) ctx->kind = k;
    ctx->curvature = (int)p->kfac.curvature;
    net_section(ctx, p->kind);
    ng_kfac_params *k = &p->kfac;
    const ng_cli_opt g[] = {
        SECTION(ctx->section),
        CHOICE("optimizer", &ctx->kind, k_net_kinds,
               "K-FAC, SGD with Nesterov momentum or Adam (sgd-nesterov and adam\n"
               "first take their own defaults for the options of this section)",
               SET | NG_CLI_EARLY, &ctx->kind_given),
        NUM("batch", NG_CLI_SIZE, &p->batch, 1, 1e8, "M", "K-FAC: first minibatch m1; SGD/Adam: minibatch", SET),
        NUM("max-batch", NG_CLI_SIZE, &p->max_batch, 0, 1e8, "M",
            "K-FAC: cap on the growing minibatch, 0 = training set", SET),
        NUM("lr", NG_CLI_DOUBLE, &p->lr, 1e-300, 1e6, "X", "learning rate (SGD, Adam)", SET),
        NUM("mu-max", NG_CLI_DOUBLE, &p->mu_max, 0, 0.999999, "X", "momentum cap (SGD)", SET),
        NUM("beta1", NG_CLI_DOUBLE, &p->beta1, 0, 0.999999, "X", "Adam's first-moment decay", SET),
        NUM("beta2", NG_CLI_DOUBLE, &p->beta2, 0, 0.999999, "X", "Adam's second-moment decay", SET),
        NUM("eps", NG_CLI_DOUBLE, &p->eps, 1e-300, 1, "X", "Adam's epsilon", SET),
        {.name = "eta", .type = NG_CLI_DOUBLE, .dst = &p->eta, .lo = 0, .hi = 1e6, .meta = "X",
         .flags = SET, .given = &ctx->eta_given,
         .help = "weight decay in h = mean loss + (eta/2)||theta||^2 (every optimiser;\n"
                 "ae --arch faces: 5e-06 unless given)"},
        CHOICE("average", &p->average, k_onoff,
               "SGD/Adam: also keep the Polyak average (--polyak-xi, --polyak-\n"
               "start) and report the better iterate, as K-FAC always does", SET, NULL),
        SECTION("K-FAC (the paper's defaults, but --curvature blockdiag: faster per second)"),
        CHOICE("curvature", &ctx->curvature, k_curvatures, "block-diagonal or block-tridiagonal inverse",
               SET | NG_CLI_EARLY, &ctx->curvature_given),
        CHOICE("momentum", &k->momentum, k_onoff, "quadratic-model momentum", SET, NULL),
        CHOICE("fisher", &k->empirical_fisher, k_fisher, "targets for G: sampled from the model or the data's", SET, NULL),
        CHOICE("damping", &k->exact_tikhonov, k_damping, "factored, or exact Tikhonov (blockdiag only)", SET, NULL),
        CHOICE("adapt-lambda", &k->adapt_lambda, k_onoff, "Levenberg-Marquardt rule for lambda every T1", SET, NULL),
        CHOICE("adapt-gamma", &k->adapt_gamma, k_onoff, "try 3 gammas every T2", SET, NULL),
        NUM("tau1", NG_CLI_DOUBLE, &k->tau1, 1e-6, 1, "X", "fraction of the minibatch for statistics", SET),
        NUM("tau2", NG_CLI_DOUBLE, &k->tau2, 1e-6, 1, "X",
            "fraction of the minibatch for the quadratic model's exact-\n"
            "Fisher products (R-op passes); 1 = whole minibatch", SET),
        NUM("eps-max", NG_CLI_DOUBLE, &k->eps_max, 0, 0.999999, "X", "cap of eps_k = min(1 - 1/k, eps_max)", SET),
        NUM("T1", NG_CLI_INT, &k->T1, 1, 1e6, "N", "period of the lambda update", SET),
        NUM("T2", NG_CLI_INT, &k->T2, 1, 1e6, "N", "period of the gamma update", SET),
        NUM("T3", NG_CLI_INT, &k->T3, 1, 1e6, "N", "period of the decomposition refresh", SET),
        NUM("refresh-first", NG_CLI_INT, &k->refresh_first, 0, 1e6, "N",
            "also refresh the decompositions for k <= N", SET),
        NUM("lambda0", NG_CLI_DOUBLE, &k->lambda0, 0, 1e12, "X", "initial lambda", SET),
        NUM("omega1", NG_CLI_DOUBLE, &k->omega1, 1e-6, 0.999999, "X", "lambda factor (0.95^5)", SET),
        NUM("omega2", NG_CLI_DOUBLE, &k->omega2, 1e-6, 0.999999, "X", "gamma factor (0.95^10)", SET),
        NUM("gamma0", NG_CLI_DOUBLE, &k->gamma0, 0, 1e12, "X", "initial gamma, 0 = sqrt(lambda0 + eta)", SET),
        NUM("full-batch-iter", NG_CLI_LONG, &k->full_batch_iter, 2, 1e9, "N",
            "step at which m_k reaches the training set", SET),
        NUM("polyak-xi", NG_CLI_DOUBLE, &k->polyak_xi, 0, 0.999999, "X", "Polyak averaging decay", SET),
        NUM("polyak-start", NG_CLI_LONG, &k->polyak_start, 1, 1e9, "N", "first averaged step", SET),
    };
    FINISH(out, g);
}

void ng_cli_net_preset(ng_cli_net_ctx *ctx)
{
    ng_optim_params *p = ctx->p;
    ng_optim_kind kind = k_net_kind_of[ctx->kind];
    ng_kfac_params kfac = p->kfac;
    (void)ng_optim_preset_params(kind, ctx->preset, p, NULL); /* not a preset: the plain defaults */
    kfac.eta = p->eta;
    p->kfac = kfac;
    net_section(ctx, kind);
    if (ctx->curvature_given) p->kfac.curvature = (ng_kfac_curvature)ctx->curvature;
    ctx->curvature = (int)p->kfac.curvature;
}

/* ------------------------------------------------------------------ Goldstone-GD */

size_t ng_cli_group_goldstone(ng_cli_opt *out, ng_goldstone_params *p, ng_cli_goldstone_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->p = p;
    ctx->symmetry = (int)p->symmetry;
    ctx->gauge_solver = (int)p->gauge_solver;
    ctx->rotation = (int)p->rotation;
    const ng_cli_opt g[] = {
        SECTION("Goldstone-GD (natgrad's defaults; --paper selects the paper's exact variant)"),
        CHOICE("symmetry", &ctx->symmetry, k_symmetries,
               "after every k1 inner steps: nothing (the inner optimiser alone),\n"
               "the gauge-field natural-gradient phase (the paper's method, by\n"
               "default with natgrad's retract solver; --paper: the paper's own),\n"
               "natgrad's exact Procrustes alignment, or that alignment then the\n"
               "gauge phase",
               SET | NG_CLI_EARLY, &ctx->symmetry_given),
        {.name = "paper", .type = NG_CLI_FLAG, .dst = &ctx->paper, .flags = SET | NG_CLI_EARLY,
         .help = "the paper's exact variant: goldstone, quadratic solver, warm\n"
                 "gauge fields, first-order rotation, rho-scale 1, no clip,\n"
                 "apply-fraction 1, k1 50 (the toy's; dmf train: 100, the paper's\n"
                 "ratings setting), k2 10, max-overhead 0, min-gain 0 (other options\n"
                 "override it)"},
        NUM("k1", NG_CLI_INT, &p->k1, 1, 1e9, "N", "inner steps between symmetry phases", SET),
        NUM("k2", NG_CLI_INT, &p->k2, 0, 1e6, "N", "natural-gradient steps per gauge phase", SET),
        NUM("rho-scale", NG_CLI_DOUBLE, &p->rho_scale, 1e-300, 1e300, "X",
            "gauge step rho' = X * d / sum ||z||^2", SET),
        CHOICE("gauge-solver", &ctx->gauge_solver, k_solvers,
               "steps on the paper's second-order gauge loss, or each step\n"
               "re-expanded at the current rotation with an exact line search",
               SET | NG_CLI_EARLY, &ctx->gauge_solver_given),
        CHOICE("gauge-reset", &p->gauge_reset, k_yesno, "gauge fields start from 0 every phase", SET, NULL),
        CHOICE("rotation", &ctx->rotation, k_rotations,
               "z <- (I + Gamma) z (the paper's), or an exact rotation", SET | NG_CLI_EARLY,
               &ctx->rotation_given),
        NUM("gauge-clip", NG_CLI_DOUBLE, &p->gauge_clip, 0, 1e300, "X",
            "clip the gauge fields to +-X/d, 0 = none", SET),
        NUM("apply-fraction", NG_CLI_DOUBLE, &p->apply_fraction, 1e-12, 1, "X",
            "fraction of Gamma applied per phase", SET),
        NUM("max-overhead", NG_CLI_DOUBLE, &p->max_overhead, 0, 0.999999, "X",
            "raise the phase interval above k1 until a phase's predicted\n"
            "cost (a model of the sizes, never a clock) is at most X of the\n"
            "steps between phases; 0 = a phase every k1 steps exactly", SET),
        NUM("min-gain", NG_CLI_DOUBLE, &p->min_gain, 0, 1e300, "X",
            "undo a phase unless it lowers psi by X times what the steps\n"
            "its predicted cost would buy gain at the last step's rate (the\n"
            "optimiser's state belongs to the old basis); 0 = keep every phase", SET),
    };
    FINISH(out, g);
}

void ng_cli_group_drop(ng_cli_opt *group, const char *name)
{
    size_t i = 0;
    while (group[i].name && strcmp(group[i].name, name)) i++;
    if (!group[i].name) return;
    for (; group[i].name; i++) group[i] = group[i + 1];
}

void ng_cli_goldstone_preset(ng_cli_goldstone_ctx *ctx)
{
    ng_goldstone_params *p = ctx->p;
    if (ctx->paper) ng_goldstone_paper_variant(p);
    if (ctx->symmetry_given) p->symmetry = (ng_symmetry)ctx->symmetry;
    if (ctx->gauge_solver_given) p->gauge_solver = (ng_gauge_solver)ctx->gauge_solver;
    if (ctx->rotation_given) p->rotation = (ng_rotation)ctx->rotation;
    /* the ints show what the struct now holds (banner, settings, --help) */
    ctx->symmetry = (int)p->symmetry;
    ctx->gauge_solver = (int)p->gauge_solver;
    ctx->rotation = (int)p->rotation;
}

void ng_cli_goldstone_interval_note(const char *cmd, const ng_goldstone *gs)
{
    const ng_goldstone_params *p = ng_goldstone_get_params(gs);
    int k = ng_goldstone_interval(gs);
    if (k != p->k1)
        fprintf(stderr, "natgrad %s: symmetry phase every %d steps: k1 %d raised to keep its predicted "
                        "cost <= %g%% (--max-overhead %g)\n",
                cmd, k, p->k1, 100.0 * p->max_overhead, p->max_overhead);
}

/* ------------------------------------------------------------------ inner optimisers */

size_t ng_cli_group_inner(ng_cli_opt *out, ng_inner_params *p, ng_cli_inner_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->p = p;
    ctx->kind = (int)p->kind;
    const ng_cli_opt g[] = {
        SECTION("Inner optimiser (rate rho_s = lr (sbar / (s + sbar))^p at step s)"),
        CHOICE("optimizer", &ctx->kind, k_inner_kinds,
               "gradient descent, AdaGrad or Adam (another kind first takes\n"
               "its own defaults for the options of this section)",
               SET | NG_CLI_EARLY, &ctx->kind_given),
        NUM("lr", NG_CLI_DOUBLE, &p->rho0, 1e-300, 1e300, "X", "learning rate rho0", SET),
        NUM("lr-sbar", NG_CLI_DOUBLE, &p->sbar, 0, 1e300, "X", "decay scale sbar, 0 = constant rate", SET),
        NUM("lr-power", NG_CLI_DOUBLE, &p->p, 0, 100, "X", "decay power p", SET),
        NUM("grad-clip", NG_CLI_DOUBLE, &p->clip, 0, 1e300, "X", "element-wise gradient clip, 0 = none", SET),
        NUM("beta1", NG_CLI_DOUBLE, &p->beta1, 0, 0.999999999, "X", "Adam's first-moment decay", SET),
        NUM("beta2", NG_CLI_DOUBLE, &p->beta2, 0, 0.999999999, "X", "Adam's second-moment decay", SET),
        NUM("eps", NG_CLI_DOUBLE, &p->eps, 1e-300, 1e300, "X", "AdaGrad's and Adam's epsilon", SET),
    };
    FINISH(out, g);
}

void ng_cli_inner_preset(ng_cli_inner_ctx *ctx)
{
    if (ctx->kind_given && (ng_inner_kind)ctx->kind != ctx->p->kind)
        *ctx->p = ng_inner_default_params((ng_inner_kind)ctx->kind);
}
