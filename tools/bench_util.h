/* bench_util.h - BLAS throughput probes shared by the 'natgrad bench' subcommands. */
#ifndef NG_BENCH_UTIL_H
#define NG_BENCH_UTIL_H

#include <stddef.h>

/* Square n x n x n sgemm (C = A B, float, row-major) repeated until at least
 * min_seconds of wall time have passed (after one untimed warm-up call); returns the
 * rate in GFLOP/s counting 2 n^3 flops per call. Uses the BLAS threads in force.
 * Returns 0.0 when n == 0 or the buffers cannot be allocated. */
double ng_bench_sgemm_gflops(size_t n, double min_seconds);
/* Same in double (dgemm). */
double ng_bench_dgemm_gflops(size_t n, double min_seconds);

#endif
