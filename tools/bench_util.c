/* bench_util.c - sgemm/dgemm throughput probes (see bench_util.h). They call cblas
 * directly so the figure is what the BLAS delivers, the ceiling for every model step. */
#include "bench_util.h"
#include "cli.h"

#include <cblas.h>
#include <stdlib.h>

/* Deterministic, well-scaled fill (no RNG needed: the values do not matter for speed,
 * only that they are finite and not denormal). */
static void fill_f(float *x, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u + salt) % 1000u) * 1e-3f - 0.5f;
}
static void fill_d(double *x, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++) x[i] = (double)((i * 2654435761u + salt) % 1000u) * 1e-3 - 0.5;
}

double ng_bench_sgemm_gflops(size_t n, double min_seconds)
{
    if (n == 0) return 0.0;
    size_t nn = n * n;
    float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    double rate = 0.0;
    if (a && b && c) {
        fill_f(a, nn, 1);
        fill_f(b, nn, 7);
        fill_f(c, nn, 3);
        int ni = (int)n;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, a, ni, b, ni,
                    0.0f, c, ni); /* warm-up: thread pool, page faults */
        long reps = 0;
        double t0 = ng_cli_now(), t = 0.0;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, a, ni, b,
                        ni, 0.0f, c, ni);
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

double ng_bench_dgemm_gflops(size_t n, double min_seconds)
{
    if (n == 0) return 0.0;
    size_t nn = n * n;
    double *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    double rate = 0.0;
    if (a && b && c) {
        fill_d(a, nn, 1);
        fill_d(b, nn, 7);
        fill_d(c, nn, 3);
        int ni = (int)n;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0, a, ni, b, ni,
                    0.0, c, ni);
        long reps = 0;
        double t0 = ng_cli_now(), t = 0.0;
        do {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0, a, ni, b,
                        ni, 0.0, c, ni);
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
