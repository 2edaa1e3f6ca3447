/* bench_dwe.c - 'natgrad bench dwe': seconds per step of dynamic word embeddings at the
 * DWE paper's size (10^4 words, about 200 slices, d = 100, 1000 x 1000 minibatches) on a
 * synthetic co-occurrence corpus built in memory, split into the parts ng_dwe_get_timing
 * reports; the likelihood's GFLOP/s against sgemm on the same tile shapes; the symmetry
 * phases and their overhead at k1; memory; and the ingestion speed of ng_corpus_build. */
#include "bench_util.h"
#include "cli.h"
#include "commands.h"

#include <cblas.h>
#include <dirent.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define CMD "bench dwe"
/* The library computes a slice's block this many word rows at a time (NGI_DWE_TILE in
 * src/models/dwe_internal.h); the sgemm probe uses the same shapes. */
#define LIK_TILE 64
/* Targets (the project's performance requirements). */
#define TARGET_LIK_SHARE 0.60   /* likelihood GFLOP/s / sgemm GFLOP/s */
#define TARGET_SYM_OVERHEAD 0.04 /* symmetry phase / (k1 steps) */
#define TARGET_RUN_HOURS 3.0    /* 10^4 steps with the symmetry phases */
#define TARGET_RUN_STEPS 10000
#define TARGET_MEMORY_GIB 24.0

typedef struct {
    long words, slices, dim, batch_words, batch_contexts, steps, warmup, threads, k1;
    long ingest_slices, ingest_sentences;
    double density, min_seconds;
    int method; /* index into k_methods */
    uint64_t seed;
} bench_cfg;

static const char *const k_methods[] = {"smoothing", "map", NULL};

static int parse(bench_cfg *c, int argc, char **argv)
{
    *c = (bench_cfg){10000, 200, 100, 1000, 1000, 5, 1, 0, 10, 20, 20000, 0.01, 1.0, 0, 1};
    const ng_cli_opt opts[] = {
        {.name = "words", .type = NG_CLI_LONG, .dst = &c->words, .lo = 2, .hi = 1e6, .meta = "W",
         .help = "vocabulary size"},
        {.name = "slices", .type = NG_CLI_LONG, .dst = &c->slices, .lo = 2, .hi = 100000, .meta = "T",
         .help = "time slices"},
        {.name = "dim", .type = NG_CLI_LONG, .dst = &c->dim, .lo = 1, .hi = 4096, .meta = "d",
         .help = "embedding dimension"},
        {.name = "batch-words", .type = NG_CLI_LONG, .dst = &c->batch_words, .lo = 1, .hi = 1e6, .meta = "B",
         .help = "words per minibatch (at most --words)"},
        {.name = "batch-contexts", .type = NG_CLI_LONG, .dst = &c->batch_contexts, .lo = 1, .hi = 1e6,
         .meta = "B", .help = "contexts per minibatch (at most --words)"},
        {.name = "density", .type = NG_CLI_DOUBLE, .dst = &c->density, .lo = 1e-9, .hi = 1, .meta = "X",
         .help = "fraction of the W (W + 1) / 2 word pairs with a count in\neach slice (Zipfian: "
                 "frequent words' pairs more often)"},
        {.name = "method", .type = NG_CLI_CHOICE, .dst = &c->method, .choices = k_methods,
         .help = "smoothing VI (the paper's DSG-S) or MAP"},
        {.name = "steps", .type = NG_CLI_LONG, .dst = &c->steps, .lo = 1, .hi = 100000, .meta = "N",
         .help = "timed steps"},
        {.name = "warmup", .type = NG_CLI_LONG, .dst = &c->warmup, .lo = 0, .hi = 100000, .meta = "N",
         .help = "untimed steps first (the optimiser state's first touch)"},
        {.name = "k1", .type = NG_CLI_LONG, .dst = &c->k1, .lo = 1, .hi = 1e9, .meta = "N",
         .help = "steps between symmetry phases (the overhead's denominator)"},
        {.name = "ingest-slices", .type = NG_CLI_LONG, .dst = &c->ingest_slices, .lo = 0, .hi = 10000,
         .meta = "N", .help = "slices of the synthetic text ingested by ng_corpus_build,\n0 = skip "
                              "the ingestion test"},
        {.name = "ingest-sentences", .type = NG_CLI_LONG, .dst = &c->ingest_sentences, .lo = 1,
         .hi = 1e8, .meta = "N", .help = "sentences (12 tokens) per ingested slice"},
        {.name = "min-seconds", .type = NG_CLI_DOUBLE, .dst = &c->min_seconds, .lo = 0, .hi = 3600,
         .meta = "S", .help = "minimum timed seconds of each sgemm probe"},
        NG_CLI_END};
    ng_cli_opt common[NG_BENCH_COMMON_OPTS];
    ng_bench_common_opts(common, &c->seed, &c->threads);
    const ng_cli_opt *tables[] = {opts, common};
    const ng_cli_spec spec = {
        .name = CMD, .synopsis = "[options]", .tables = tables, .n_tables = 2,
        .intro = "Builds a synthetic co-occurrence corpus in memory (no file: Zipfian word\n"
                 "frequencies, the same pairs in every slice with counts varying by slice) and\n"
                 "times ng_dwe_step at the DWE paper's size: seconds per step split into drawing\n"
                 "the minibatch, the likelihood, prior and entropy, and the optimiser; the\n"
                 "likelihood's GFLOP/s (3 sgemm products of 2 Bw Bc d flops per slice) against\n"
                 "sgemm on the same tile shapes, one BLAS thread per OpenMP thread as in the step;\n"
                 "the symmetry phases (sync, goldstone) and their overhead at k1; bytes per\n"
                 "parameter and peak memory; the projected time of 10^4 steps; and the MB/s of\n"
                 "ng_corpus_build on synthetic text in a temporary directory. Each target is\n"
                 "printed beside its figure (met / NOT met).\n"};
    int rc = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    if (c->batch_words > c->words || c->batch_contexts > c->words)
        return ng_cli_usage_error(CMD, "--batch-words %ld and --batch-contexts %ld: expected at most "
                                  "--words %ld", c->batch_words, c->batch_contexts, c->words);
    ng_bench_begin(&spec, c->threads);
    return -1;
}

static double peak_rss_gib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
    return (double)ru.ru_maxrss / (1024.0 * 1024.0); /* ru_maxrss is in KiB on Linux */
}

static const char *verdict(int met) { return met ? "met" : "NOT met"; }

/* ---------------------------------------------------------------- the corpus */

/* Pairs (i <= j) present with probability min(1, C / sqrt((i + 10)(j + 10))) (C from the
 * density), the same pairs in every slice; n+ ~ 1e4 / ((i + 10)(j + 10)) times a slice
 * factor in [0.5, 1.5), at least 1. Times 1, 2, ..., T. Returns 0 on out of memory. */
static int corpus_build(const bench_cfg *cf, ng_corpus *c, size_t *per_slice)
{
    const size_t W = (size_t)cf->words, T = (size_t)cf->slices;
    memset(c, 0, sizeof *c);
    double H = 0.0, H2 = 0.0;
    for (size_t i = 0; i < W; i++) {
        double h = 1.0 / sqrt((double)i + 10.0);
        H += h;
        H2 += h * h;
    }
    const double want = cf->density * (double)W * (double)(W + 1) / 2.0;
    const double C = want / ((H * H + H2) / 2.0);
    size_t cap = (size_t)(want * 1.1) + 16, E = 0;
    int32_t *pi = malloc(cap * sizeof *pi), *pj = malloc(cap * sizeof *pj);
    float *pn = malloc(cap * sizeof *pn);
    if (!pi || !pj || !pn) goto oom;
    ng_rng rng;
    ng_rng_seed(&rng, cf->seed);
    for (size_t i = 0; i < W; i++)
        for (size_t j = i; j < W; j++) {
            double f = ((double)i + 10.0) * ((double)j + 10.0), p = C / sqrt(f);
            if (p < 1.0 && ng_rng_uniform(&rng) >= p) continue;
            if (E == cap) {
                cap *= 2;
                int32_t *a = realloc(pi, cap * sizeof *pi), *b = a ? realloc(pj, cap * sizeof *pj) : NULL;
                if (a) pi = a;
                if (b) pj = b;
                float *n = b ? realloc(pn, cap * sizeof *pn) : NULL;
                if (!n) goto oom;
                pn = n;
            }
            pi[E] = (int32_t)i, pj[E] = (int32_t)j;
            pn[E] = (float)(1e4 / f);
            E++;
        }
    c->T = T, c->W = W;
    c->time = malloc(T * sizeof *c->time);
    c->tokens = malloc(T * sizeof *c->tokens);
    c->word = calloc(W, sizeof *c->word);
    c->word_count = malloc(W * sizeof *c->word_count);
    c->slice_ptr = malloc((T + 1) * sizeof *c->slice_ptr);
    c->i = malloc(T * E * sizeof *c->i + 1);
    c->j = malloc(T * E * sizeof *c->j + 1);
    c->n = malloc(T * E * sizeof *c->n + 1);
    c->source = strdup("bench");
    if (!c->time || !c->tokens || !c->word || !c->word_count || !c->slice_ptr || !c->i || !c->j ||
        !c->n || !c->source)
        goto oom;
    for (size_t w = 0; w < W; w++) {
        char name[32];
        snprintf(name, sizeof name, "w%05zu", w);
        if (!(c->word[w] = strdup(name))) goto oom;
        c->word_count[w] = 1e6 / ((double)w + 10.0);
    }
    c->window = 4;
    c->slice_years = 0;
    c->min_count = 1;
    for (size_t t = 0; t <= T; t++) c->slice_ptr[t] = (int64_t)(t * E);
    for (size_t t = 0; t < T; t++) {
        c->time[t] = (double)(t + 1);
        c->tokens[t] = 1000000;
        memcpy(c->i + t * E, pi, E * sizeof *pi);
        memcpy(c->j + t * E, pj, E * sizeof *pj);
        float *n = c->n + t * E;
        for (size_t q = 0; q < E; q++) {
            float v = pn[q] * (float)(0.5 + ng_rng_uniform(&rng));
            n[q] = v < 1.0f ? 1.0f : v;
        }
    }
    free(pi);
    free(pj);
    free(pn);
    *per_slice = E;
    return 1;
oom:
    free(pi);
    free(pj);
    free(pn);
    return 0;
}

/* ---------------------------------------------------------------- sgemm on the tile shapes */

/* GFLOP/s of the likelihood's three products on one slice's block (Bw x Bc, d), per
 * thread on its own data with one BLAS thread, as ng_dwe_step runs them: X = U_t V^T,
 * GU_t = C V, GV += C^T U_t for every tile of LIK_TILE word rows. Returns 0 on out of
 * memory. */
static double tile_sgemm_gflops(size_t Bw, size_t Bc, size_t d, int nt, double min_seconds)
{
    const int blas = ng_blas_threads();
    if (nt > 1) ng_set_blas_threads(1);
    double total_flops = 0.0, secs = 0.0;
    int fail = 0;
    double t0 = omp_get_wtime();
#pragma omp parallel num_threads(nt) reduction(+ : total_flops) reduction(| : fail)
    {
        float *U = malloc(Bw * d * sizeof *U), *V = malloc(Bc * d * sizeof *V);
        float *X = malloc(LIK_TILE * Bc * sizeof *X), *GU = malloc(Bw * d * sizeof *GU);
        float *GV = malloc(Bc * d * sizeof *GV);
        if (!U || !V || !X || !GU || !GV) {
            fail = 1;
        } else {
            for (size_t k = 0; k < Bw * d; k++) U[k] = (float)((k * 2654435761u) % 1000u) * 1e-4f - 0.05f;
            for (size_t k = 0; k < Bc * d; k++) V[k] = (float)((k * 40503u) % 1000u) * 1e-4f - 0.05f;
            double start = omp_get_wtime();
            long reps = 0;
            do {
                for (size_t r0 = 0; r0 < Bw; r0 += LIK_TILE) {
                    size_t rt = Bw - r0 < LIK_TILE ? Bw - r0 : LIK_TILE;
                    const float *Ut = U + r0 * d;
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rt, (int)Bc, (int)d, 1.0f,
                                Ut, (int)d, V, (int)d, 0.0f, X, (int)Bc);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rt, (int)d, (int)Bc, 1e-3f,
                                X, (int)Bc, V, (int)d, 0.0f, GU + r0 * d, (int)d);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Bc, (int)d, (int)rt, 1e-3f,
                                X, (int)Bc, Ut, (int)d, r0 > 0 ? 1.0f : 0.0f, GV, (int)d);
                }
                reps++;
            } while (omp_get_wtime() - start < min_seconds);
            total_flops += 6.0 * (double)Bw * (double)Bc * (double)d * (double)reps;
        }
        free(U);
        free(V);
        free(X);
        free(GU);
        free(GV);
    }
    secs = omp_get_wtime() - t0;
    if (nt > 1) ng_set_blas_threads(blas);
    return fail || secs <= 0 ? 0.0 : total_flops / secs * 1e-9;
}

/* ---------------------------------------------------------------- ingestion */

static void remove_tree(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Synthetic text (ng_dwe_synth, the null variant) in a temporary directory, then
 * ng_corpus_build on it; prints the line. Returns an exit code. */
static int ingest(const bench_cfg *cf)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], text[4200];
    snprintf(dir, sizeof dir, "%s/natgrad-bench-dwe-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "natgrad %s: cannot create a temporary directory under %s\n", CMD,
                tmp && *tmp ? tmp : "/tmp");
        return NG_EXIT_FAIL;
    }
    snprintf(text, sizeof text, "%s/text", dir);
    ng_dwe_synth_params sp = ng_dwe_synth_default_params();
    sp.slices = (size_t)cf->ingest_slices;
    sp.sentences = sp.small_sentences = (size_t)cf->ingest_sentences;
    sp.small_every = 0;
    sp.null_variant = 1;
    sp.seed = cf->seed;
    ng_dwe_synth s;
    int rc = NG_EXIT_FAIL;
    double t0 = ng_cli_now();
    if (ng_dwe_synth_make(&sp, &s) != NG_OK) {
        ng_cli_fail(CMD, "synthetic text");
        goto out;
    }
    ng_status st = ng_dwe_synth_write_text(&s, text, 0);
    ng_dwe_synth_free(&s);
    if (st != NG_OK) {
        ng_cli_fail(CMD, "writing the synthetic text");
        goto out;
    }
    double t_write = ng_cli_now() - t0;
    ng_corpus_build_params bp = ng_corpus_build_default_params();
    bp.threads = ng_blas_threads();
    const char *inputs[1] = {text};
    ng_corpus c;
    ng_corpus_build_stats bs;
    if (ng_corpus_build(inputs, 1, &bp, &c, &bs) != NG_OK) {
        ng_cli_fail(CMD, "ng_corpus_build");
        goto out;
    }
    const double secs = bs.seconds[0] + bs.seconds[1], mb = (double)bs.bytes / 1e6;
    printf("\ningestion (ng_corpus_build, text, window %d, %d thread%s): %zu files, %.1f MB, %llu tokens, "
           "W %zu, %zu entries\n",
           bp.window, bs.threads, bs.threads == 1 ? "" : "s", bs.files, mb, (unsigned long long)bs.tokens,
           c.W, (size_t)c.slice_ptr[c.T]);
    printf("%-40s %10s %10s\n", "pass", "seconds", "MB/s");
    printf("%-40s %10.3f %10.1f\n", "1: word counts", bs.seconds[0], bs.seconds[0] > 0 ? mb / bs.seconds[0] : 0.0);
    printf("%-40s %10.3f %10.1f\n", "2: pair counts", bs.seconds[1], bs.seconds[1] > 0 ? mb / bs.seconds[1] : 0.0);
    printf("%-40s %10.3f %10.1f\n", "ingestion (both passes)", secs, secs > 0 ? mb / secs : 0.0);
    fprintf(stderr, "ingestion: text written in %.1f s\n", t_write);
    ng_corpus_free(&c);
    rc = NG_EXIT_OK;
out:
    remove_tree(dir);
    return rc;
}

/* ---------------------------------------------------------------- the model */

/* One symmetry phase of the given kind on the model's means (the task's Goldstone-GD
 * settings, ng_dwe_goldstone_params); *sec its seconds. */
static int symmetry_phase(ng_dwe *m, const ng_graph *g, ng_symmetry sym, long k1, double *sec)
{
    ng_goldstone_params gp = ng_dwe_goldstone_params();
    gp.symmetry = sym;
    gp.k1 = (int)k1;
    ng_dwe_views v = ng_dwe_get_views(m);
    ng_goldstone *gs = NULL;
    if (ng_goldstone_new(&gp, g, v.N, v.d, ng_dwe_map_loss, m, v.mu, &gs) != NG_OK) return 0;
    ng_status st = ng_goldstone_symmetry_phase(gs, sec);
    ng_goldstone_free(gs);
    return st == NG_OK;
}

/* What run_model measures, for its report. */
typedef struct {
    ng_dwe_timing tm;
    double sec_sync, sec_gauge; /* one symmetry phase of each kind */
    double tile, square;        /* sgemm GFLOP/s: the tile shapes, n = 1024 */
    size_t bytes;               /* ng_dwe_bytes */
    double corpus_gib;
    int threads;
} model_figures;

static const double k_gib = 1.0 / (1024.0 * 1024.0 * 1024.0);

/* The warm-up and timed steps (the timing reset after the warm-up); a line per step on
 * stderr. Returns 0 on a failed step (message printed). */
static int time_steps(const bench_cfg *cf, ng_dwe *m, ng_rng *rng)
{
    for (long s = 0; s < cf->warmup + cf->steps; s++) {
        if (s == cf->warmup) ng_dwe_timing_reset(m);
        ng_dwe_info info;
        double a = ng_cli_now();
        if (ng_dwe_step(m, rng, 0, &info) != NG_OK) {
            ng_cli_fail(CMD, "ng_dwe_step");
            return 0;
        }
        fprintf(stderr, "step %ld/%ld%s: %.3f s\n", s + 1, cf->warmup + cf->steps,
                s < cf->warmup ? " (warm-up)" : "", ng_cli_now() - a);
    }
    return 1;
}

/* The heading and the table of the step's parts: seconds per step and share. */
static void print_parts(const bench_cfg *cf, const ng_corpus *c, size_t per_slice, const model_figures *fg)
{
    const ng_dwe_timing *tm = &fg->tm;
    const double ns = (double)tm->steps;
    printf("\nnatgrad bench dwe: %s, W %zu, T %zu, d %zu, minibatch %zu x %zu, %zu pairs per slice "
           "(density %g), threads %d, %lld timed steps after %ld warm-up\n",
           k_methods[cf->method], c->W, c->T, (size_t)cf->dim, (size_t)cf->batch_words,
           (size_t)cf->batch_contexts, per_slice, cf->density, fg->threads, (long long)tm->steps, cf->warmup);
    printf("%-44s %12s %10s\n", "part", "s/step", "share");
    const struct {
        const char *name;
        double s;
    } parts[] = {{"draw the minibatch", tm->draw},
                 {"likelihood (3 sgemm per tile + sigmoids)", tm->likelihood},
                 {"prior and entropy (sample, gradients)", tm->prior},
                 {"optimiser (finite check + lazy Adam)", tm->update},
                 {"step (total)", tm->total}};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
        printf("%-44s %12.4f %9.1f%%\n", parts[k].name, parts[k].s / ns, 100.0 * parts[k].s / tm->total);
}

/* The likelihood's GFLOP/s against sgemm, and each symmetry phase with its overhead at
 * k1 and the projected hours of 10^4 steps, each beside its target. */
static void print_speed(const bench_cfg *cf, size_t T, const model_figures *fg)
{
    const ng_dwe_timing *tm = &fg->tm;
    const double ns = (double)tm->steps, step = tm->total / ns;
    const double lik_flops = 6.0 * (double)cf->batch_words * (double)cf->batch_contexts * (double)cf->dim * (double)T;
    const double lik_gflops = tm->likelihood > 0 ? lik_flops * ns / tm->likelihood * 1e-9 : 0.0;
    printf("\n%-44s %12s %18s\n", "measure", "value", "target");
    printf("%-44s %12.1f\n", "likelihood GFLOP/s", lik_gflops);
    printf("%-44s %12.1f\n", "sgemm GFLOP/s, the tile shapes", fg->tile);
    printf("%-44s %12.1f\n", "sgemm GFLOP/s, n = 1024 square", fg->square);
    const double share = fg->tile > 0 ? lik_gflops / fg->tile : 0.0;
    printf("%-44s %11.1f%% %10s %-7s\n", "likelihood / sgemm (tile shapes)", 100.0 * share, ">= 60%",
           verdict(share >= TARGET_LIK_SHARE));
    const struct {
        const char *name;
        double s;
    } sym[] = {{"sync", fg->sec_sync}, {"goldstone", fg->sec_gauge}, {"sync+goldstone", fg->sec_sync + fg->sec_gauge}};
    for (size_t k = 0; k < 3; k++) {
        char name[96];
        snprintf(name, sizeof name, "symmetry phase %s, s", sym[k].name);
        printf("%-44s %12.4f\n", name, sym[k].s);
        double ov = sym[k].s / ((double)cf->k1 * step);
        snprintf(name, sizeof name, "  overhead at k1 = %ld (phase / k1 steps)", cf->k1);
        printf("%-44s %11.1f%% %10s %-7s\n", name, 100.0 * ov, "<= 4%", verdict(ov <= TARGET_SYM_OVERHEAD));
        double hours = ((double)TARGET_RUN_STEPS * step +
                        (double)(TARGET_RUN_STEPS / cf->k1) * sym[k].s) / 3600.0;
        snprintf(name, sizeof name, "  10^4 steps + phases, hours");
        printf("%-44s %12.2f %10s %-7s\n", name, hours, "<= 3 h", verdict(hours <= TARGET_RUN_HOURS));
    }
}

/* The model's bytes, per variational parameter and per mean coordinate; the corpus; the
 * peak RSS against its target. */
static void print_memory(ng_dwe *m, size_t T, size_t N, size_t d, const model_figures *fg)
{
    ng_dwe_views v = ng_dwe_get_views(m);
    double nparam = (double)T * (double)N * (double)d;
    if (v.logb) nparam += (double)T * (double)N * (double)d;
    if (v.th) nparam += (double)(T - 1) * (double)N * (double)d;
    const double peak = peak_rss_gib();
    printf("%-44s %12.2f\n", "model bytes (ng_dwe_bytes), GiB", (double)fg->bytes * k_gib);
    printf("%-44s %12.2f\n", "  per variational parameter, bytes", (double)fg->bytes / nparam);
    printf("%-44s %12.2f\n", "  per mean coordinate (T N d), bytes",
           (double)fg->bytes / ((double)T * (double)N * (double)d));
    printf("%-44s %12.2f\n", "corpus in memory, GiB", fg->corpus_gib);
    printf("%-44s %12.2f %10s %-7s\n", "peak RSS, GiB", peak, "<= 24 GiB", verdict(peak <= TARGET_MEMORY_GIB));
}

/* Builds the model, times its steps, its symmetry phases and sgemm on the same shapes,
 * and prints the report. Returns an exit code. */
static int run_model(const bench_cfg *cf, const ng_corpus *c, size_t per_slice)
{
    const size_t T = c->T, d = (size_t)cf->dim, Bw = (size_t)cf->batch_words, Bc = (size_t)cf->batch_contexts;
    ng_dwe_params p = ng_dwe_default_params();
    p.method = cf->method == 0 ? NG_DWE_SMOOTHING : NG_DWE_MAP;
    p.d = d;
    p.batch_words = Bw;
    p.batch_contexts = Bc;
    model_figures fg = {.bytes = ng_dwe_bytes(c->W, T, &p)};
    fg.corpus_gib = (double)(T * per_slice) * 12.0 * k_gib;
    fprintf(stderr, "model: %.2f GiB (ng_dwe_bytes), corpus %.2f GiB\n", (double)fg.bytes * k_gib, fg.corpus_gib);
    ng_dwe *m = NULL;
    ng_graph *g = NULL;
    int rc = NG_EXIT_FAIL;
    double t0 = ng_cli_now();
    if (ng_dwe_new(c, &p, &m) != NG_OK) {
        ng_cli_fail(CMD, "ng_dwe_new");
        goto done;
    }
    ng_rng rng;
    ng_rng_seed(&rng, cf->seed);
    ng_dwe_init(m, &rng);
    if (ng_dwe_graph(m, &g) != NG_OK) {
        ng_cli_fail(CMD, "ng_dwe_graph");
        goto done;
    }
    fprintf(stderr, "model built and initialised in %.1f s\n", ng_cli_now() - t0);
    if (!time_steps(cf, m, &rng)) goto done;
    fg.tm = ng_dwe_get_timing(m);
    if (!symmetry_phase(m, g, NG_SYM_SYNC, cf->k1, &fg.sec_sync) ||
        !symmetry_phase(m, g, NG_SYM_GOLDSTONE, cf->k1, &fg.sec_gauge)) {
        ng_cli_fail(CMD, "symmetry phase");
        goto done;
    }
    fg.threads = ng_blas_threads();
    fg.tile = tile_sgemm_gflops(Bw, Bc, d, fg.threads, cf->min_seconds);
    fg.square = ng_bench_sgemm_gflops(1024, cf->min_seconds);
    print_parts(cf, c, per_slice, &fg);
    print_speed(cf, T, &fg);
    print_memory(m, T, 2 * c->W, d, &fg);
    fflush(stdout);
    rc = NG_EXIT_OK;
done:
    ng_graph_free(g);
    ng_dwe_free(m);
    return rc;
}

int ng_bench_dwe(int argc, char **argv)
{
    bench_cfg cf;
    int rc = parse(&cf, argc, argv);
    if (rc >= 0) return rc;
    ng_corpus c;
    size_t per_slice = 0;
    double t0 = ng_cli_now();
    if (!corpus_build(&cf, &c, &per_slice)) {
        fprintf(stderr, "natgrad %s: out of memory for the corpus\n", CMD);
        ng_corpus_free(&c);
        return NG_EXIT_FAIL;
    }
    fprintf(stderr, "corpus: %zu slices x %zu pairs built in %.1f s\n", c.T, per_slice, ng_cli_now() - t0);
    rc = run_model(&cf, &c, per_slice);
    ng_corpus_free(&c);
    if (rc == NG_EXIT_OK && cf.ingest_slices > 0) rc = ingest(&cf);
    return rc;
}
