/* cmd_dwe_train.c - 'natgrad dwe train': dynamic word embeddings (Bamler & Mandt 2017) on
 * a corpus directory by smoothing VI, filtering or MAP, with Goldstone-GD's symmetry
 * phase on the means (Bamler & Mandt 2018), held-out slices, and the model directory. */
#include "cli.h"
#include "commands.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "dwe train"
#define SET NG_CLI_SETTING

static const char *const k_methods[] = {"smoothing", "filtering", "map", NULL}; /* = ng_dwe_method */
static const char *const k_priors[] = {"product", "conditional", NULL};         /* = ng_dwe_prior */
static const char *const k_objectives[] = {"full", "minibatch", NULL};

typedef struct {
    const char *corpus, *out;
    ng_dwe_params dp;
    ng_dwe_task_params kp;
    ng_train_params rp;
    int method, prior, objective;
    size_t test_slices;
    uint64_t split_seed;
    int64_t steps_per_slice; /* 0: ceil(steps / training slices) */
    double max_memory;       /* GB; 0: the physical memory */
    long threads;
    ng_cli_goldstone_ctx gctx;
    ng_cli_inner_ctx ictx;
    ng_cli_opt own[24], run[NG_CLI_GROUP_MAX], gold[NG_CLI_GROUP_MAX], inner[NG_CLI_GROUP_MAX];
    const ng_cli_opt *tables[4];
    ng_cli_spec spec;
} train_cfg;

static const char k_intro[] =
    "Dynamic word embeddings (Bamler & Mandt 2017) on a corpus directory ('natgrad dwe\n"
    "corpus', 'dwe synth'): a word and a context vector per word and slice, the skip-gram\n"
    "likelihood of the co-occurrence counts with expected negative counts, a diffusion prior\n"
    "along time. Smoothing VI (a Gaussian trajectory per word and dimension with bidiagonal\n"
    "precision), filtering, or MAP; minibatches of words x contexts over all slices; the lazy\n"
    "Adam optimiser with rate lr (sbar / (s + sbar))^power. After every k1 steps Goldstone-GD's\n"
    "symmetry phase rotates the means (not filtering). --test-slices slices (never the first\n"
    "or last) are left out of training; their means are predicted from their neighbours and\n"
    "their log-likelihood per co-occurrence is logged. The log's columns: step,seconds,elbo,\n"
    "ell,psi,test_ll,overlap_median,symmetry_seconds (docs/dwe.md). --paper keeps k1 at the\n"
    "DWE paper's 10.";
static const char k_outro[] =
    "The state's size is printed at the start; a configuration larger than --max-memory (or\n"
    "the physical memory) is refused before anything is allocated. --out writes the model\n"
    "directory (model.txt, vocab.tsv, times.csv, U.npy, V.npy, variational parameters).\n"
    "Exit status: 0 on success, 1 on a failure (one line on stderr), 2 for a usage error,\n"
    "130 on Ctrl-C (after a checkpoint).";

static void train_preset(void *ctx)
{
    train_cfg *c = ctx;
    ng_cli_goldstone_preset(&c->gctx);
    /* --paper is the toy's variant (k1 50); on DWE the paper used k1 = 10 (--k1 still wins) */
    if (c->gctx.paper) c->kp.gp.k1 = ng_dwe_goldstone_params().k1;
    ng_cli_inner_preset(&c->ictx);
}

static void train_table(train_cfg *c)
{
    ng_dwe_params *p = &c->dp;
    const ng_cli_opt g[] = {
        {.name = "", .type = NG_CLI_SECTION, .help = "Data and model"},
        {.name = "corpus", .type = NG_CLI_STR, .dst = &c->corpus, .meta = "DIR",
         .help = "corpus directory (natgrad dwe corpus / dwe synth's counts/)", .flags = NG_CLI_REQUIRED | SET},
        {.name = "dim", .type = NG_CLI_SIZE, .dst = &p->d, .lo = 1, .hi = 65536, .meta = "d",
         .help = "embedding dimension", .flags = SET},
        {.name = "method", .type = NG_CLI_CHOICE, .dst = &c->method, .choices = k_methods,
         .help = "smoothing VI (DSG-S), filtering (DSG-F) or MAP", .flags = SET},
        {.name = "prior", .type = NG_CLI_CHOICE, .dst = &c->prior, .choices = k_priors,
         .help = "product form, or each conditional normalised", .flags = SET},
        {.name = "sigma0", .type = NG_CLI_DOUBLE, .dst = &p->sigma0, .lo = 1e-6, .hi = 1e6, .meta = "X",
         .help = "prior standard deviation", .flags = SET},
        {.name = "diffusion", .type = NG_CLI_DOUBLE, .dst = &p->D, .lo = 1e-12, .hi = 1e6, .meta = "D",
         .help = "diffusion constant per unit of time (the prior's c_t = 1/(D dtau))", .flags = SET},
        {.name = "nu", .type = NG_CLI_DOUBLE, .dst = &p->nu, .lo = 0, .hi = 1e6, .meta = "X",
         .help = "scale of the expected negative counts (shifts the log-likelihood)", .flags = SET},
        {.name = "init-sd", .type = NG_CLI_DOUBLE, .dst = &p->init_sd, .lo = 0, .hi = 100, .meta = "X",
         .help = "standard deviation of the initial means", .flags = SET},
        {.name = "batch-words", .type = NG_CLI_SIZE, .dst = &p->batch_words, .lo = 0, .hi = 1e9, .meta = "B",
         .help = "words per minibatch, 0 = all", .flags = SET},
        {.name = "batch-contexts", .type = NG_CLI_SIZE, .dst = &p->batch_contexts, .lo = 0, .hi = 1e9,
         .meta = "B", .help = "contexts per minibatch, 0 = all", .flags = SET},
        {.name = "steps-per-slice", .type = NG_CLI_I64, .dst = &c->steps_per_slice, .lo = 0, .hi = 1e9,
         .meta = "N", .help = "filtering: steps on each slice, 0 = --steps / training slices\n(rounded up)",
         .flags = SET},
        {.name = "test-slices", .type = NG_CLI_SIZE, .dst = &c->test_slices, .lo = 0, .hi = 1e6, .meta = "N",
         .help = "slices held out (drawn with --split-seed; never the first or last)", .flags = SET},
        {.name = "split-seed", .type = NG_CLI_U64, .dst = &c->split_seed, .meta = "S",
         .help = "seed of the held-out slices", .flags = SET},
        {.name = "seed", .type = NG_CLI_U64, .dst = &c->kp.seed, .meta = "S",
         .help = "seed of the initial means, minibatches and noise", .flags = SET},
        {.name = "elbo", .type = NG_CLI_CHOICE, .dst = &c->objective, .choices = k_objectives,
         .help = "the rows' elbo and ell: the full objective with fixed noise (all\n"
                 "pairs, as costly as W^2/(B_w B_c) steps), or a moving average of the\n"
                 "steps' minibatch estimates over about --eval-every steps"},
        {.name = "max-memory", .type = NG_CLI_DOUBLE, .dst = &c->max_memory, .lo = 0, .hi = 1e9, .meta = "GB",
         .help = "refuse a state larger than this, 0 = the physical memory"},
        {.name = "out", .type = NG_CLI_STR, .dst = &c->out, .meta = "MODEL",
         .help = "write the model directory at the end (atomically: MODEL.tmp,\nthen renamed)"},
        NG_CLI_END,
    };
    NG_CLI_KEEP_TABLE(c->own, g);
}

static void train_init(train_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->dp = ng_dwe_default_params();
    c->kp = ng_dwe_task_default_params();
    c->rp = ng_train_default_params();
    c->method = (int)c->dp.method;
    c->prior = (int)c->dp.prior;
    c->objective = c->kp.full_objective ? 0 : 1;
    c->split_seed = 1;
    train_table(c);
    ng_cli_group_run(c->run, &c->rp, &c->threads);
    ng_cli_group_goldstone(c->gold, &c->kp.gp, &c->gctx);
    ng_cli_group_drop(c->gold, "min-gain"); /* the DWE task runs every phase it schedules */
    ng_cli_group_inner(c->inner, &c->dp.opt, &c->ictx);
    c->tables[0] = c->own;
    c->tables[1] = c->run;
    c->tables[2] = c->gold;
    c->tables[3] = c->inner;
    ng_cli_spec *s = &c->spec;
    s->name = CMD;
    s->synopsis = "--corpus DIR [options]";
    s->intro = k_intro;
    s->outro = k_outro;
    s->tables = c->tables;
    s->n_tables = 4;
    s->preset = train_preset;
    s->ctx = c;
}

/* The choices into the structs; filtering has no symmetry phase. Returns -1 to go on. */
static int train_resolve(train_cfg *c)
{
    c->dp.method = (ng_dwe_method)c->method;
    c->dp.prior = (ng_dwe_prior)c->prior;
    c->kp.full_objective = c->objective == 0;
    if (c->rp.eval_seconds <= 0) c->kp.estimate_window = c->rp.eval_every;
    if (c->rp.resume && !c->rp.checkpoint) return ng_cli_usage_error(CMD, "--resume needs --checkpoint DIR");
    if (c->dp.method == NG_DWE_FILTERING) {
        if (c->gctx.symmetry_given && c->kp.gp.symmetry != NG_SYM_NONE)
            return ng_cli_usage_error(CMD, "--method filtering has no symmetry phase; use --symmetry none");
        c->kp.gp.symmetry = NG_SYM_NONE;
        c->gctx.symmetry = (int)NG_SYM_NONE;
    }
    return -1;
}

static double gb(size_t bytes) { return (double)bytes / 1e9; }

static size_t corpus_bytes(const ng_corpus *c)
{
    size_t nnz = (size_t)c->slice_ptr[c->T], b = nnz * 12 + c->T * 24 + c->W * 16;
    for (size_t k = 0; k < c->W; k++) b += strlen(c->word[k]) + 1;
    return b;
}

/* Prints the state's size; returns 0 after a message when it does not fit. */
static int check_memory(const train_cfg *c, const ng_corpus *corpus)
{
    size_t n_test = c->test_slices, Ttr = corpus->T - n_test;
    size_t task = ng_dwe_task_bytes(corpus->W, Ttr, n_test, &c->dp, &c->kp);
    size_t cb = corpus_bytes(corpus);
    size_t total = task == SIZE_MAX ? SIZE_MAX : task + cb;
    double limit = c->max_memory * 1e9;
    const char *what = "--max-memory";
    if (c->max_memory <= 0) {
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        limit = pages > 0 && psz > 0 ? (double)pages * (double)psz : 0;
        what = "physical memory";
    }
    if (total == SIZE_MAX) {
        fprintf(stderr, "natgrad %s: the state's size overflows (W %zu, T %zu, d %zu); refused\n", CMD,
                corpus->W, Ttr, c->dp.d);
        return 0;
    }
    fprintf(stderr, "state: %.4g GB (model and evaluation %.4g GB, corpus %.4g GB); %s %.4g GB\n",
            gb(total), gb(task), gb(cb), what, limit / 1e9);
    if (limit > 0 && (double)total > limit) {
        fprintf(stderr, "natgrad %s: the state needs %.4g GB (%zu bytes) but the %s is %.4g GB; refused "
                "(reduce --dim, the batch sizes or the vocabulary)\n", CMD, gb(total), total, what, limit / 1e9);
        return 0;
    }
    return 1;
}

/* Reads the corpus, checks the memory, splits off the held-out slices. */
static int load_corpus(train_cfg *c, ng_corpus *train, ng_corpus *test)
{
    ng_corpus full;
    double t0 = ng_cli_now();
    if (ng_corpus_read(c->corpus, &full)) {
        fprintf(stderr, "natgrad %s: %s\n", CMD, ng_last_error());
        return 0;
    }
    int ok = 1;
    if (c->test_slices > 0 && c->test_slices + 2 > full.T) {
        fprintf(stderr, "natgrad %s: %s has %zu slices; --test-slices %zu leaves too few (the first and last "
                "slice always train)\n", CMD, c->corpus, full.T, c->test_slices);
        ok = 0;
    }
    if (ok) ok = check_memory(c, &full);
    if (ok && ng_corpus_split(&full, c->test_slices, c->split_seed, NULL, train, test)) {
        fprintf(stderr, "natgrad %s: %s\n", CMD, ng_last_error());
        ok = 0;
    }
    if (ok)
        fprintf(stderr, "corpus: %zu words, %zu slices (%g .. %g), %lld entries | %zu training, %zu held out | %.2f s\n",
                full.W, full.T, full.time[0], full.time[full.T - 1], (long long)full.slice_ptr[full.T], train->T,
                test->T, ng_cli_now() - t0);
    ng_corpus_free(&full);
    return ok;
}

/* The model and its task; freed together. */
typedef struct {
    ng_corpus train, test;
    ng_dwe *m;
    ng_dwe_task *task;
    ng_task k;
    char *settings;
} dwe_run;

static int run_new(train_cfg *c, dwe_run *r)
{
    if (ng_dwe_new(&r->train, &c->dp, &r->m)) return 0;
    ng_rng rng;
    ng_rng_seed(&rng, c->kp.seed ^ 0x5eedULL); /* the task's stream takes the seed itself */
    ng_dwe_init(r->m, &rng);
    if (c->dp.method == NG_DWE_FILTERING) {
        int64_t n = c->steps_per_slice;
        if (n == 0 && c->rp.steps > 0) n = (c->rp.steps + (int64_t)r->train.T - 1) / (int64_t)r->train.T;
        if (n == 0) {
            fprintf(stderr, "natgrad %s: filtering needs --steps or --steps-per-slice\n", CMD);
            return -1;
        }
        c->kp.steps_per_slice = n;
        /* the schedule changes the trajectory, and --steps may change on a resume */
        if (!(r->settings = ng_cli_asprintf("steps_per_slice_used=%lld\n", (long long)n))) return 0;
        c->rp.settings = r->settings;
    }
    if (ng_dwe_task_new(r->m, &r->test, &c->kp, &r->task)) return 0;
    r->k = ng_dwe_task_get(r->task);
    return 1;
}

static void run_free(dwe_run *r)
{
    ng_dwe_task_free(r->task);
    ng_dwe_free(r->m);
    ng_corpus_free(&r->train);
    ng_corpus_free(&r->test);
    free(r->settings);
}

static void print_final(dwe_run *r, const ng_train_status *st)
{
    double v[6];
    if (r->k.n_cols != 6 || r->k.row(r->k.self, v)) {
        fprintf(stderr, "natgrad %s: final evaluation: %s\n", CMD, ng_last_error());
        return;
    }
    char ll[64] = "n/a (no --test-slices)";
    if (!isnan(v[3])) snprintf(ll, sizeof ll, "%.6f", v[3]);
    fprintf(stderr, "final step %lld: elbo %.8g  ell %.8g  psi %.6g | held-out log-likelihood per "
            "co-occurrence %s | overlap median %.4f\n", (long long)st->step, v[0], v[1], v[2], ll, v[4]);
    fprintf(stderr, "symmetry overhead: %.3f s of %.3f s training time (%.2f%%)\n", v[5], st->seconds,
            100.0 * v[5] / (st->seconds > 0 ? st->seconds : 1));
}

int ng_cmd_dwe_train(int argc, char **argv)
{
    train_cfg *c = malloc(sizeof *c);
    if (!c) {
        fprintf(stderr, "natgrad %s: out of memory\n", CMD);
        return NG_EXIT_FAIL;
    }
    train_init(c);
    int rc = ng_cli_parse(&c->spec, argc, argv, NULL, NULL);
    if (rc < 0) rc = train_resolve(c);
    if (rc >= 0) {
        free(c);
        return rc;
    }
    ng_cli_set_threads((int)c->threads);
    ng_cli_banner_spec(&c->spec, NULL);
    dwe_run r;
    memset(&r, 0, sizeof r);
    rc = NG_EXIT_FAIL;
    if (!load_corpus(c, &r.train, &r.test)) goto done;
    int made = run_new(c, &r);
    if (made == 0) fprintf(stderr, "natgrad %s: %s\n", CMD, ng_last_error());
    if (made != 1) goto done;
    if (c->rp.resume && !ng_ckpt_exists(c->rp.checkpoint))
        fprintf(stderr, "natgrad %s: no checkpoint in %s yet; starting from step 0\n", CMD, c->rp.checkpoint);
    ng_train_status st;
    rc = ng_cli_train(&c->spec, &r.k, &c->rp, &st);
    if (rc != NG_EXIT_OK && rc != 130) goto done;
    if (c->out && ng_dwe_model_write(c->out, r.m, r.test.time, r.test.T, ng_symmetry_name(c->kp.gp.symmetry))) {
        fprintf(stderr, "natgrad %s: cannot write the model: %s\n", CMD, ng_last_error());
        rc = NG_EXIT_FAIL;
    } else if (c->out) {
        fprintf(stderr, "natgrad %s: wrote %s\n", CMD, c->out);
    }
    print_final(&r, &st);
done:
    run_free(&r);
    free(c);
    return rc;
}
