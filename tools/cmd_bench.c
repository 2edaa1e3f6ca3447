/* cmd_bench.c - 'natgrad bench gemm|ae|dmf|dwe'. gemm measures what the BLAS delivers
 * (sgemm and dgemm GFLOP/s on square sizes): the ceiling the model benchmarks are
 * compared against. ae, dmf and dwe live in bench_ae.c, bench_dmf.c and bench_dwe.c. */
#include "bench_util.h"
#include "cli.h"
#include "commands.h"

#include <stdlib.h>
#include <string.h>

#define GEMM_CMD "bench gemm"
#define GEMM_DEFAULT_SIZES "256,512,1024,2048"
#define GEMM_DEFAULT_MIN_SECONDS 1.0
#define GEMM_MAX_SIZES 32

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: natgrad bench <benchmark> [options]\n\n"
               "Benchmarks:\n"
               "  gemm   sgemm/dgemm GFLOP/s of the BLAS on square sizes (the speed ceiling)\n"
               "  ae     K-FAC autoencoder step throughput\n"
               "  dmf    dynamic matrix factorisation (Goldstone-GD) step throughput\n"
               "  dwe    dynamic word embeddings: step parts, GFLOP/s, symmetry phase, memory,\n"
               "         ingestion\n\n"
               "Run 'natgrad bench <benchmark> --help' for its options.\n");
}

/* "256,512" -> sizes; prints the usage error and returns 0 on a malformed list. */
static int parse_sizes(const char *s, size_t *sizes, int *count)
{
    char *copy = strdup(s);
    if (!copy) return 0;
    int n = 0, ok = 1;
    const char *p = copy;
    if (!*p) ok = 0;
    while (ok && *p) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        long v;
        if (n >= GEMM_MAX_SIZES) {
            ok = 0;
            break;
        }
        if (!ng_cli_parse_long(GEMM_CMD, "--sizes", p, 1, 16384, &v)) {
            free(copy);
            return 0; /* message printed */
        }
        sizes[n++] = (size_t)v;
        if (!comma) break;
        p = comma + 1;
        if (!*p) ok = 0; /* trailing comma */
    }
    free(copy);
    if (!ok) {
        fprintf(stderr,
                "natgrad %s: invalid value '%s' for --sizes: expected 1 to %d comma-separated "
                "integers in [1, 16384]\n",
                GEMM_CMD, s, GEMM_MAX_SIZES);
        return 0;
    }
    *count = n;
    return 1;
}

static int bench_gemm(int argc, char **argv)
{
    const char *sizes_arg = GEMM_DEFAULT_SIZES;
    long threads = 0;
    double min_seconds = GEMM_DEFAULT_MIN_SECONDS;
    const ng_cli_opt opts[] = {
        {.name = "sizes", .type = NG_CLI_STR, .dst = &sizes_arg, .meta = "LIST",
         .help = "comma-separated sizes n in [1, 16384]"},
        {.name = "threads", .type = NG_CLI_LONG, .dst = &threads, .lo = 0, .hi = 1024, .meta = "N",
         .help = "BLAS and OpenMP threads, 0 = as configured (e.g.\nOPENBLAS_NUM_THREADS)"},
        {.name = "min-seconds", .type = NG_CLI_DOUBLE, .dst = &min_seconds, .lo = 0, .hi = 3600,
         .meta = "S", .help = "minimum timed seconds per size and precision"},
        NG_CLI_END};
    const ng_cli_opt *tables[] = {opts};
    const ng_cli_spec spec = {
        .name = GEMM_CMD, .synopsis = "[options]", .tables = tables, .n_tables = 1,
        .intro = "Square n x n x n sgemm and dgemm (C = A B, row-major, cblas), each repeated for at\n"
                 "least --min-seconds after one warm-up call; GFLOP/s = 2 n^3 calls / seconds.\n"
                 "Prints a table (size, sgemm GFLOP/s, dgemm GFLOP/s, threads) and, on the last\n"
                 "line, the peak sgemm rate measured.\n"};
    int rc = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    size_t sizes[GEMM_MAX_SIZES];
    int nsizes = 0;
    if (!parse_sizes(sizes_arg, sizes, &nsizes)) return NG_EXIT_USAGE;
    if (threads > 0) ng_cli_set_threads((int)threads);
    int nthr = ng_blas_threads();

    ng_cli_banner_spec(&spec, NULL);
    ng_cli_install_sigint();

    printf("%8s %15s %15s %8s\n", "size", "sgemm GFLOP/s", "dgemm GFLOP/s", "threads");
    fflush(stdout);
    ng_progress prog;
    ng_progress_init(&prog, 5.0);
    double peak = 0.0;
    size_t peak_n = 0;
    for (int i = 0; i < nsizes; i++) {
        if (ng_cli_interrupted()) break;
        ng_progress_force(&prog, "gemm n = %zu (%d/%d): sgemm", sizes[i], i + 1, nsizes);
        double sg = ng_bench_sgemm_gflops(sizes[i], min_seconds);
        ng_progress_force(&prog, "gemm n = %zu (%d/%d): dgemm", sizes[i], i + 1, nsizes);
        double dg = ng_bench_dgemm_gflops(sizes[i], min_seconds);
        ng_progress_done(&prog);
        if (sg <= 0.0 || dg <= 0.0) {
            fprintf(stderr, "natgrad %s: out of memory for n = %zu\n", GEMM_CMD, sizes[i]);
            return NG_EXIT_FAIL;
        }
        printf("%8zu %15.1f %15.1f %8d\n", sizes[i], sg, dg, nthr);
        fflush(stdout);
        if (sg > peak) {
            peak = sg;
            peak_n = sizes[i];
        }
    }
    if (peak_n) printf("peak sgemm: %.1f GFLOP/s (n = %zu, %d thread%s)\n", peak, peak_n, nthr,
                       nthr == 1 ? "" : "s");
    if (ng_cli_interrupted()) {
        fprintf(stderr, "natgrad %s: interrupted\n", GEMM_CMD);
        return 130;
    }
    return NG_EXIT_OK;
}

int ng_cmd_bench(int argc, char **argv)
{
    if (argc < 2) {
        bench_usage(stderr);
        return NG_EXIT_USAGE;
    }
    const char *which = argv[1];
    if (!strcmp(which, "--help") || !strcmp(which, "-h") || !strcmp(which, "help")) {
        bench_usage(stdout);
        return NG_EXIT_OK;
    }
    if (!strcmp(which, "gemm")) return bench_gemm(argc - 1, argv + 1);
    if (!strcmp(which, "ae")) return ng_bench_ae(argc - 1, argv + 1);
    if (!strcmp(which, "dmf")) return ng_bench_dmf(argc - 1, argv + 1);
    if (!strcmp(which, "dwe")) return ng_bench_dwe(argc - 1, argv + 1);
    return ng_cli_usage_error("bench", "unknown benchmark '%s': expected gemm, ae, dmf or dwe", which);
}
