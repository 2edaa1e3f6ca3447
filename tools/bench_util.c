/* bench_util.c - sgemm/dgemm throughput probes (see bench_util.h). They call cblas
 * directly so the figure is what the BLAS delivers, the ceiling for every model step. */
#include "bench_util.h"
#include "cli.h"

#include <cblas.h>
#include <stdlib.h>

/* One precision of the probe: element size, fill and C = A B for n x n row-major. */
typedef struct {
    size_t elem;
    void (*fill)(void *x, size_t n, unsigned salt);
    void (*gemm)(int n, const void *a, const void *b, void *c);
} gemm_kind;

/* Deterministic, well-scaled fill (no RNG needed: the values do not matter for speed,
 * only that they are finite and not denormal). */
static unsigned fill_pattern(size_t i, unsigned salt)
{
    return (unsigned)((i * 2654435761u + salt) % 1000u);
}
static void fill_f(void *x, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++) ((float *)x)[i] = (float)fill_pattern(i, salt) * 1e-3f - 0.5f;
}
static void fill_d(void *x, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++) ((double *)x)[i] = (double)fill_pattern(i, salt) * 1e-3 - 0.5;
}

static void gemm_f(int n, const void *a, const void *b, void *c)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
}
static void gemm_d(int n, const void *a, const void *b, void *c)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
}

static double gemm_gflops(const gemm_kind *k, size_t n, double min_seconds)
{
    if (n == 0) return 0.0;
    size_t nn = n * n;
    void *a = malloc(nn * k->elem), *b = malloc(nn * k->elem), *c = malloc(nn * k->elem);
    double rate = 0.0;
    if (a && b && c) {
        k->fill(a, nn, 1);
        k->fill(b, nn, 7);
        k->fill(c, nn, 3);
        int ni = (int)n;
        k->gemm(ni, a, b, c); /* warm-up: thread pool, page faults */
        long reps = 0;
        double t0 = ng_cli_now(), t = 0.0;
        do {
            k->gemm(ni, a, b, c);
            reps++;
            t = ng_cli_now() - t0;
        } while (t < min_seconds || t <= 0.0);
        if (t > 0) rate = 2.0 * (double)n * (double)n * (double)n * (double)reps / t * 1e-9;
    }
    free(a);
    free(b);
    free(c);
    return rate;
}

double ng_bench_sgemm_gflops(size_t n, double min_seconds)
{
    static const gemm_kind single = {sizeof(float), fill_f, gemm_f};
    return gemm_gflops(&single, n, min_seconds);
}

double ng_bench_dgemm_gflops(size_t n, double min_seconds)
{
    static const gemm_kind dbl = {sizeof(double), fill_d, gemm_d};
    return gemm_gflops(&dbl, n, min_seconds);
}

void ng_bench_common_opts(ng_cli_opt out[NG_BENCH_COMMON_OPTS], uint64_t *seed, long *threads)
{
    const ng_cli_opt opts[NG_BENCH_COMMON_OPTS] = {
        {.name = "seed", .type = NG_CLI_U64, .dst = seed, .meta = "S", .help = "random seed"},
        {.name = "threads", .type = NG_CLI_LONG, .dst = threads, .lo = 0, .hi = 4096, .meta = "N",
         .help = "BLAS and OpenMP threads, 0 = leave as is"},
        NG_CLI_END};
    for (int k = 0; k < NG_BENCH_COMMON_OPTS; k++) out[k] = opts[k];
}

void ng_bench_begin(const ng_cli_spec *spec, long threads)
{
    ng_cli_set_threads((int)threads);
    ng_cli_banner_spec(spec, NULL);
}
