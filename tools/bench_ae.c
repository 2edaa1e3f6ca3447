/* bench_ae.c - 'natgrad bench ae': seconds per iteration and GFLOP/s of SGD-Nesterov and
 * K-FAC (block-diagonal, block-tridiagonal) on one minibatch of random data, against the
 * machine's sgemm rate. K-FAC's periodic decomposition refresh (every T3) is reported
 * separately and amortised. FLOPs are the gemm and syrk flops the code performs. SGD
 * steps and sgemm probes run between the K-FAC iterations, so all see one machine speed. */
#include "bench_util.h"
#include "cli.h"
#include "commands.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NPART = 4 }; /* parts of the K-FAC flop model, see kfac_flops */
typedef struct {
    double normal_s, refresh_s, amort_s, flops, part[NPART];
    double sgd_s; /* median of the SGD steps interleaved with this run */
} kfac_timing;

/* Median of n timings (sorted in place): robust to the other tenants of a shared VM,
 * which the mean is not. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double median(double *v, long n)
{
    if (n < 1) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* gemm flops of the backward pass's data gradients on m cases: layer 0's input needs none */
static double bwd_data_flops(const ng_net_spec *sp, double m)
{
    double f = 0;
    for (int k = 1; k < sp->n_layers; k++) f += 2.0 * m * (double)sp->sizes[k] * (double)sp->sizes[k + 1];
    return f;
}

/* forward, backward and gradient on m cases (an SGD iteration): 2nm each for the forward
 * and the weight gradients, plus the data gradients */
static double fwd_bwd_flops(const ng_net_spec *sp, size_t n, double m)
{
    return 4.0 * (double)n * m + bwd_data_flops(sp, m);
}

/* gemm flop model of one K-FAC iteration without refresh, counted as the code runs it, in
 * parts: [0] forward + backward + gradient (SGD's work), [1] inverse apply, [2] the two
 * R-op passes, [3] statistics, sampled backward and the rho forward. Returns the total. */
static double kfac_flops(const ng_net_spec *sp, size_t n, size_t m, int tri, int T1, double tau2,
                         double part[NPART])
{
    double ms = ceil((double)m / 8.0), mq = ceil(tau2 * (double)m), nn = (double)n;
    part[0] = fwd_bwd_flops(sp, n, (double)m);
    part[1] = 0;
    part[2] = 2.0 * (2.0 * nn * mq + bwd_data_flops(sp, mq)); /* R(abar_0) = 0 */
    part[3] = bwd_data_flops(sp, ms)                         /* sampled-target backward, no gradient */
              + 2.0 * nn * (double)m / T1;                   /* the rho forward every T1 */
    for (int k = 0; k < sp->n_layers; k++) {
        double a = (double)sp->sizes[k] + 1, g = (double)sp->sizes[k + 1];
        part[3] += (a * (a + 1) + g * (g + 1)) * ms;      /* syrk statistics (upper triangles) */
        part[1] += 2.0 * (g * g * a + g * a * a);         /* G^-1 V A^-1 */
        if (tri && k + 1 < sp->n_layers) {
            double a2 = (double)sp->sizes[k + 1] + 1, g2 = (double)sp->sizes[k + 2];
            part[3] += 2.0 * (a * a2 + g * g2) * ms;      /* cross moments */
            part[1] += 2.0 * (ng_kfac_chain_cost((size_t)g, (size_t)g2, (size_t)a2, (size_t)a) +
                              ng_kfac_chain_cost((size_t)g2, (size_t)g, (size_t)a, (size_t)a2)); /* Xi, Xi^T */
            part[1] += 2.0 * (g * g * a + g * a * a);     /* Sigma^-1: 4 gemms instead of 2 */
        }
    }
    return part[0] + part[1] + part[2] + part[3];
}

typedef struct { /* what runs beside each K-FAC iteration */
    ng_optim *sgd;
    size_t sgemm_n;
    double *sgd_all, *sgemm_all; /* every SGD step time, every sgemm probe rate */
    long nall;
} beside;

/* One K-FAC run of iters iterations; after each, one timed SGD step (on its own net) and
 * one sgemm probe: interleaved, so a K-FAC row, its SGD reference and the sgemm rate see
 * the same machine speed (this VM's drifts by 10-40% between minutes). */
static int time_kfac(ng_net *net, const float *init, const float *X, size_t m, long iters,
                     ng_kfac_curvature curv, double tau2, uint64_t seed, beside *bs, kfac_timing *t)
{
    ng_kfac_params p = ng_kfac_default_params();
    p.curvature = curv;
    p.tau2 = tau2;
    p.m1 = m;
    memcpy(ng_net_params(net), init, ng_net_num_params(net) * sizeof(float));
    ng_kfac *kf = NULL;
    if (ng_kfac_new(net, &p, &kf)) return -1;
    ng_rng r;
    ng_rng_seed(&r, seed);
    double *dts = malloc((size_t)iters * sizeof *dts), *rdts = malloc((size_t)iters * sizeof *rdts);
    double *sdts = malloc((size_t)iters * sizeof *sdts);
    int rc = -1;
    if (!dts || !rdts || !sdts) goto out;
    long cnt = 0, rcnt = 0;
    /* blocks of T1 iterations (each holds one rho forward) without a refresh: the median
     * of their means is the time of a typical iteration */
    double block = 0;
    int block_ok = 1;
    for (long k = 1; k <= iters; k++) {
        ng_kfac_info info;
        double t0 = ng_cli_now();
        if (ng_kfac_step(kf, X, X, m, &r, &info)) goto out;
        double dt = ng_cli_now() - t0;
        double t1 = ng_cli_now();
        if (ng_optim_step(bs->sgd, X, X, m, NULL, NULL)) goto out;
        sdts[k - 1] = ng_cli_now() - t1;
        bs->sgd_all[bs->nall] = sdts[k - 1];
        bs->sgemm_all[bs->nall++] = ng_bench_sgemm_gflops(bs->sgemm_n, 0.0);
        if (k <= p.refresh_first) {
            block_ok = 0; /* warm-up: refreshed every time */
            continue;
        }
        if (info.refreshed) {
            rdts[rcnt++] = dt;
            block_ok = 0;
        }
        block += dt;
        if (k % p.T1 == 0) {
            if (block_ok && k - p.T1 >= p.refresh_first) dts[cnt++] = block / p.T1;
            block = 0;
            block_ok = 1;
        }
    }
    t->normal_s = median(dts, cnt);
    t->sgd_s = median(sdts, iters);
    t->refresh_s = rcnt ? median(rdts, rcnt) - t->normal_s : NAN;
    t->amort_s = t->normal_s + (rcnt ? t->refresh_s / p.T3 : 0);
    t->flops = kfac_flops(ng_net_get_spec(net), ng_net_num_params(net), m,
                          curv == NG_KFAC_TRIDIAG, p.T1, p.tau2, t->part);
    rc = 0;
out:
    ng_kfac_free(kf);
    free(dts);
    free(rdts);
    free(sdts);
    return rc;
}

typedef struct {
    const char *arch;
    long batch, iters, threads, sgemm_n;
    uint64_t seed;
} bench_cfg;

/* Returns -1 to go on, else an exit code; sp gets the architecture. */
static int parse(bench_cfg *c, ng_net_spec *sp, int argc, char **argv)
{
    const char *cmd = "bench ae";
    *c = (bench_cfg){"mnist", 1000, 45, 0, 1024, 1};
    const ng_cli_opt opts[] = {
        {.name = "arch", .type = NG_CLI_STR, .dst = &c->arch, .meta = "A", .help = "mnist | curves | faces | SIZES"},
        {.name = "batch", .type = NG_CLI_LONG, .dst = &c->batch, .lo = 1, .hi = 1e8, .meta = "M",
         .help = "minibatch size"},
        {.name = "iters", .type = NG_CLI_LONG, .dst = &c->iters, .lo = 5, .hi = 100000, .meta = "N",
         .help = "timed iterations per method (K-FAC runs k = 1..N; refreshes at\nk = 20, 40, ...)"},
        {.name = "threads", .type = NG_CLI_LONG, .dst = &c->threads, .lo = 0, .hi = 1024, .meta = "N",
         .help = "BLAS and OpenMP threads, 0 = leave as is"},
        {.name = "seed", .type = NG_CLI_U64, .dst = &c->seed, .meta = "S", .help = "random seed"},
        {.name = "sgemm-n", .type = NG_CLI_LONG, .dst = &c->sgemm_n, .lo = 16, .hi = 16384, .meta = "N",
         .help = "size of the square sgemm probe"},
        NG_CLI_END};
    const ng_cli_opt *tables[] = {opts};
    const ng_cli_spec spec = {
        .name = cmd, .synopsis = "[options]", .tables = tables, .n_tables = 1,
        .intro = "Time SGD-Nesterov and K-FAC (blockdiag, tridiag) iterations on random data.\n"};
    int rc = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    if (c->threads > 0) ng_cli_set_threads((int)c->threads);
    const char *arch = c->arch;
    ng_status st = (!strcmp(arch, "mnist") || !strcmp(arch, "curves") || !strcmp(arch, "faces"))
                       ? ng_net_spec_preset(arch, sp)
                       : ng_net_spec_parse(arch, "logistic", NG_LOSS_BERNOULLI, sp);
    if (st) return ng_cli_usage_error(cmd, "--arch %s: %s", arch, ng_last_error());
    if (sp->sizes[0] != sp->sizes[sp->n_layers])
        return ng_cli_usage_error(cmd, "--arch %s: an autoencoder needs as many outputs as inputs", arch);
    ng_cli_banner_spec(&spec, NULL);
    return -1;
}

static const struct {
    const char *name;
    ng_kfac_curvature curv;
    int whole_tau2; /* tau2 = 1: the quadratic model on the whole minibatch */
} k_runs[3] = {{"kfac blockdiag", NG_KFAC_BLOCKDIAG, 0},
               {"kfac tridiag", NG_KFAC_TRIDIAG, 0},
               {"kfac blockdiag tau2=1", NG_KFAC_BLOCKDIAG, 1}};

static void print_table(const bench_cfg *c, size_t n, size_t m, const beside *bs, double sgd_f,
                        const kfac_timing ts[3])
{
    const double tau2d = ng_kfac_default_params().tau2;
    double sgd_s = median(bs->sgd_all, bs->nall), sg = median(bs->sgemm_all, bs->nall);
    printf("natgrad bench ae: arch %s (%zu params), batch %zu, %ld iterations, BLAS threads %d (%s), "
           "tau2 %g\n", c->arch, n, m, c->iters, ng_blas_threads(), ng_blas_core(), tau2d);
    printf("sgemm %ldx%ld: %.1f GFLOP/s (median of %ld probes, one after each K-FAC iteration)\n\n",
           c->sgemm_n, c->sgemm_n, sg, bs->nall);
    printf("%-24s %12s %12s %10s %10s %14s %12s\n", "method", "s/iter", "GFLOP/iter", "GFLOP/s", "of sgemm",
           "x SGD time", "x SGD GFLOP");
    printf("%-24s %12.4f %12.2f %10.1f %9.1f%% %14.2f %12.2f\n", "sgd-nesterov", sgd_s, sgd_f * 1e-9,
           sgd_f * 1e-9 / sgd_s, 100.0 * sgd_f * 1e-9 / sgd_s / sg, 1.0, 1.0);
    for (int i = 0; i < 3; i++) {
        const kfac_timing *t = &ts[i];
        printf("%-24s %12.4f %12.2f %10.1f %9.1f%% %14.2f %12.2f\n", k_runs[i].name, t->normal_s,
               t->flops * 1e-9, t->flops * 1e-9 / t->normal_s,
               100.0 * t->flops * 1e-9 / t->normal_s / sg, t->normal_s / t->sgd_s, t->flops / sgd_f);
        printf("%-24s %12.4f %12s %10s %10s %14.2f\n", "  + refresh amortised", t->amort_s, "", "",
               "", t->amort_s / t->sgd_s);
        printf("%-24s %12.4f %12s %10s %10s %14.2f\n", "  refresh (every T3)", t->refresh_s, "", "",
               "", t->refresh_s / t->sgd_s);
    }
    printf("\nK-FAC GFLOP per iteration in parts, in units of SGD's %.4g GFLOP:\n", sgd_f * 1e-9);
    printf("%-24s %12s %12s %12s %14s %8s\n", "method", "fwd+bwd", "inverse", "R-ops",
           "stats+rho", "total");
    for (int i = 0; i < 3; i++)
        printf("%-24s %12.2f %12.2f %12.2f %14.2f %8.2f\n", k_runs[i].name, ts[i].part[0] / sgd_f,
               ts[i].part[1] / sgd_f, ts[i].part[2] / sgd_f, ts[i].part[3] / sgd_f, ts[i].flops / sgd_f);
    printf("\nSeconds per iteration: K-FAC, the median over blocks of T1 iterations after k = 3\n"
           "without a refresh (each block holds one rho forward); SGD, the median of one step run\n"
           "on its own net after every K-FAC iteration, so both see the same machine speed (each\n"
           "K-FAC row's 'x SGD time' uses the SGD steps run beside it; the SGD row, all of them);\n"
           "'refresh' is the extra time of an iteration that refreshes the inverses (Cholesky;\n"
           "tridiag also two generalised eigenproblems per layer pair) and tries 3 gammas;\n"
           "'amortised' adds it / T3. GFLOP counts the gemm and syrk flops the code performs\n"
           "(no data gradient for the input layer, none for R(abar_0) = 0); 'x SGD GFLOP' is the\n"
           "time ratio an implementation would reach at SGD's own GFLOP/s.\n");
}

/* SGD-Nesterov on its own copy of the net (stepped between the K-FAC iterations), one
 * warm-up step, and room for every interleaved timing. */
static int beside_new(const char *cmd, const ng_net_spec *sp, const float *init, const float *X,
                      size_t m, long iters, ng_net **snet, beside *bs)
{
    ng_optim_params op = ng_optim_default_params(NG_OPT_SGD_NESTEROV);
    op.lr = 1e-4;
    op.average = 0; /* the plain iteration, as the tables in docs/kfac.md time it */
    if (ng_net_new(sp, m, snet)) return ng_cli_fail(cmd, "cannot create the network");
    memcpy(ng_net_params(*snet), init, ng_net_num_params(*snet) * sizeof(float));
    if (ng_optim_new(*snet, &op, &bs->sgd)) return ng_cli_fail(cmd, "cannot create SGD");
    if (ng_optim_step(bs->sgd, X, X, m, NULL, NULL)) return ng_cli_fail(cmd, "SGD step failed");
    bs->sgd_all = malloc(3 * (size_t)iters * sizeof *bs->sgd_all);
    bs->sgemm_all = malloc(3 * (size_t)iters * sizeof *bs->sgemm_all);
    if (!bs->sgd_all || !bs->sgemm_all) {
        fprintf(stderr, "natgrad %s: out of memory\n", cmd);
        return NG_EXIT_FAIL;
    }
    return NG_EXIT_OK;
}

int ng_bench_ae(int argc, char **argv)
{
    const char *cmd = "bench ae";
    bench_cfg c;
    ng_net_spec sp;
    int rc = parse(&c, &sp, argc, argv);
    if (rc >= 0) return rc;
    size_t m = (size_t)c.batch, d0 = sp.sizes[0];
    ng_net *net = NULL, *snet = NULL;
    beside bs = {NULL, (size_t)c.sgemm_n, NULL, NULL, 0};
    if (ng_net_new(&sp, m, &net)) return ng_cli_fail(cmd, "cannot create the network");
    size_t n = ng_net_num_params(net);
    float *X = malloc(m * d0 * sizeof(float)), *init = malloc(n * sizeof(float));
    rc = NG_EXIT_FAIL;
    if (!X || !init) {
        fprintf(stderr, "natgrad %s: out of memory\n", cmd);
        goto done;
    }
    ng_rng r;
    ng_rng_seed(&r, c.seed);
    for (size_t i = 0; i < m * d0; i++) X[i] = (float)ng_rng_uniform(&r);
    ng_net_init_sparse(net, &r, 15);
    memcpy(init, ng_net_params(net), n * sizeof(float));
    if (beside_new(cmd, &sp, init, X, m, c.iters, &snet, &bs) != NG_EXIT_OK) goto done;

    /* default tau2 for both curvatures, then blockdiag with the quadratic model on the
     * whole minibatch (tau2 = 1, the spec's literal reading) */
    const double tau2d = ng_kfac_default_params().tau2;
    kfac_timing ts[3];
    for (int i = 0; i < 3; i++) {
        fprintf(stderr, "natgrad %s: %s...\n", cmd, k_runs[i].name);
        if (time_kfac(net, init, X, m, c.iters, k_runs[i].curv, k_runs[i].whole_tau2 ? 1.0 : tau2d,
                      c.seed, &bs, &ts[i])) {
            ng_cli_fail(cmd, k_runs[i].name);
            goto done;
        }
    }
    print_table(&c, n, m, &bs, fwd_bwd_flops(&sp, n, (double)m), ts);
    rc = NG_EXIT_OK;
done:
    ng_optim_free(bs.sgd);
    ng_net_free(snet);
    free(bs.sgd_all);
    free(bs.sgemm_all);
    free(X);
    free(init);
    ng_net_free(net);
    return rc;
}
