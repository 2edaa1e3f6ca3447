/* bench_util.h - BLAS throughput probes shared by the 'natgrad bench' subcommands. */
#ifndef NG_BENCH_UTIL_H
#define NG_BENCH_UTIL_H

#include "cli.h"

#include <stddef.h>
#include <stdint.h>

/* Square n x n x n sgemm (C = A B, float, row-major) repeated until at least
 * min_seconds of wall time have passed (after one untimed warm-up call); returns the
 * rate in GFLOP/s counting 2 n^3 flops per call. Uses the BLAS threads in force.
 * Returns 0.0 when n == 0 or the buffers cannot be allocated. */
double ng_bench_sgemm_gflops(size_t n, double min_seconds);
/* Same in double (dgemm). */
double ng_bench_dgemm_gflops(size_t n, double min_seconds);

/* The options the model benchmarks (dmf, dwe) end with, --seed and --threads (BLAS and
 * OpenMP threads, 0 = leave as is), spelled, bounded and documented once: fills out with
 * them and an NG_CLI_END entry, a table to put last in the spec's tables. */
#define NG_BENCH_COMMON_OPTS 3
void ng_bench_common_opts(ng_cli_opt out[NG_BENCH_COMMON_OPTS], uint64_t *seed, long *threads);
/* After a benchmark's options are parsed and checked: sets the threads (0 leaves them)
 * and prints the banner. */
void ng_bench_begin(const ng_cli_spec *spec, long threads);

#endif
