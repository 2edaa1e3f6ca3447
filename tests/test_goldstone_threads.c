/* test_goldstone_threads.c - a symmetry phase gives the same bits for any thread count:
 * sync (a chain of products on one thread), the gauge phase with both solvers and every
 * rotation (moments, rotations and the retract solver's loops over threads, each product
 * one single-threaded BLAS call), with a workspace sized for more or fewer threads than
 * the phase runs with. Sizes are large enough for OpenBLAS to thread its own calls
 * (d = 100: dgesv, dgetrf and the moments' sgemm), which round differently. */
#include "goldstone_internal.h"
#include "ngtest.h"

#include <omp.h>

enum { T = 6, N = 1500, D = 100 };

static void set_threads(int n)
{
    omp_set_num_threads(n);
    ng_set_blas_threads(n);
}

/* slices with drifting random rotations, so every phase has work to do */
static void make_z(float *Z)
{
    ng_rng r;
    ng_rng_seed(&r, 11);
    ng_rng_fill_normal(&r, Z, (size_t)N * D, 0.0f, 1.0f);
    for (size_t t = 1; t < T; t++) {
        float *S = Z + t * N * D;
        ng_rng_fill_normal(&r, S, (size_t)N * D, 0.0f, 0.05f);
        for (size_t k = 0; k < (size_t)N * D; k++) S[k] += Z[(t - 1) * N * D + (k + D / 3) % ((size_t)N * D)];
    }
}

static int same_bits(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* phase kind: 0 sync, 1 quadratic + cayley, 2 quadratic + exp, 3 quadratic + first order,
 * 4 retract + cayley, 5 retract + exp */
static ng_status run_phase(const ng_graph *g, int kind, float *Z, double *Gt)
{
    if (kind == 0) return ng_sync(g, N, D, Z, NULL);
    ng_goldstone_params p = ng_goldstone_default_params();
    p.k2 = 3;
    p.gauge_solver = kind >= 4 ? NG_GAUGE_RETRACT : NG_GAUGE_QUADRATIC;
    p.rotation = kind == 1 || kind == 4 ? NG_ROT_CAYLEY : kind == 3 ? NG_ROT_FIRST_ORDER : NG_ROT_EXP;
    return ng_gauge_phase(g, N, D, Z, Gt, &p);
}

/* the chain, the drifting slices Z0 and room for two copies and the gauge fields */
typedef struct {
    ng_graph *g;
    size_t n;
    float *Z0, *ref, *Z;
    double *Gt;
} fixture;

static int fixture_new(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->n = (size_t)T * N * D;
    NG_CHECK(ng_graph_chain(T, 1.0, &f->g) == NG_OK);
    f->Z0 = malloc(f->n * sizeof *f->Z0);
    f->ref = malloc(f->n * sizeof *f->ref);
    f->Z = malloc(f->n * sizeof *f->Z);
    f->Gt = calloc((size_t)T * D * D, sizeof *f->Gt);
    NG_CHECK(f->g && f->Z0 && f->ref && f->Z && f->Gt);
    if (f->Z0) make_z(f->Z0);
    return f->g && f->Z0 && f->ref && f->Z && f->Gt;
}

static void fixture_free(fixture *f)
{
    ng_graph_free(f->g);
    free(f->Z0);
    free(f->ref);
    free(f->Z);
    free(f->Gt);
}

/* dst = Z0 and the gauge fields at 0: a phase's starting point */
static void restart(fixture *f, float *dst)
{
    memcpy(dst, f->Z0, f->n * sizeof *dst);
    memset(f->Gt, 0, (size_t)T * D * D * sizeof *f->Gt);
}

static void test_phases_same_for_any_thread_count(void)
{
    const int saved = omp_get_max_threads();
    fixture f;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    for (int kind = 0; kind < 6; kind++) {
        set_threads(1);
        restart(&f, f.ref);
        NG_CHECK(run_phase(f.g, kind, f.ref, f.Gt) == NG_OK);
        NG_CHECK_MSG(!same_bits(f.ref, f.Z0, f.n), "phase %d changed nothing", kind);
        for (int th = 2; th <= 3; th++) {
            set_threads(th);
            restart(&f, f.Z);
            NG_CHECK(run_phase(f.g, kind, f.Z, f.Gt) == NG_OK);
            NG_CHECK_MSG(same_bits(f.Z, f.ref, f.n), "phase %d, %d threads: not the 1-thread result", kind, th);
            NG_CHECK(ng_blas_threads() == th); /* the caller's BLAS thread count is given back */
        }
    }
    set_threads(saved);
    fixture_free(&f);
}

/* A workspace sized for 3 threads run with 1, and one sized for 1 run with 3 (the phase
 * uses no more threads than it has scratch for). */
static void test_workspace_thread_mismatch(void)
{
    const int saved = omp_get_max_threads();
    fixture f;
    if (!fixture_new(&f)) {
        fixture_free(&f);
        return;
    }
    ng_goldstone_params p = ng_goldstone_default_params();
    p.k2 = 2;
    p.rotation = NG_ROT_CAYLEY;
    for (int solver = 0; solver < 2; solver++) {
        p.gauge_solver = solver ? NG_GAUGE_RETRACT : NG_GAUGE_QUADRATIC;
        set_threads(1);
        restart(&f, f.ref);
        NG_CHECK(ng_gauge_phase(f.g, N, D, f.ref, f.Gt, &p) == NG_OK);
        for (int alloc = 1; alloc <= 3; alloc += 2) {
            ngi_gauge_ws w;
            set_threads(alloc);
            NG_CHECK(ngi_gauge_ws_alloc(&w, f.g, N, D) == NG_OK);
            NG_CHECK(w.nth == alloc);
            set_threads(4 - alloc);
            restart(&f, f.Z);
            NG_CHECK(ngi_gauge_phase_ws(f.g, N, D, f.Z, f.Gt, &p, &w) == NG_OK);
            NG_CHECK_MSG(same_bits(f.Z, f.ref, f.n), "solver %d: workspace for %d threads, run with %d", solver,
                         alloc, 4 - alloc);
            ngi_gauge_ws_free(&w);
        }
    }
    set_threads(saved);
    fixture_free(&f);
}

/* A failed rotation on a worker thread still leaves its message on the caller's thread. */
static void test_error_message_reaches_caller(void)
{
    const int saved = omp_get_max_threads();
    enum { t = 4, n = 3, d = 3 };
    float Z[t * n * d];
    double Gt[t * d * d] = {0}, Rd[3 * 2 * d * d];
    float tmp[3 * n * d], Rf[3 * d * d];
    double rws[3 * 64];
    for (size_t k = 0; k < sizeof Z / sizeof *Z; k++) Z[k] = (float)k;
    set_threads(3);
    NG_CHECK(ngi_gauge_rotate(t, n, d, Z, Gt, 0.5, NG_ROT_CAYLEY, tmp, Rd, Rf, rws, 0, 3) == NG_EINVAL);
    NG_CHECK_MSG(strstr(ng_last_error(), "ng_cayley") != NULL, "message: %s", ng_last_error());
    set_threads(saved);
}

int main(void)
{
    NG_RUN(test_phases_same_for_any_thread_count);
    NG_RUN(test_workspace_thread_mismatch);
    NG_RUN(test_error_message_reaches_caller);
    return ng_test_summary();
}
