/* test_toy.c - Model 1 (dense dynamic Gaussian MF) and the Goldstone-GD driver: gradients
 * against central differences, L* from the truncated SVD, NaN/Inf detection, the phase
 * schedule and checkpoint arrays, a short toy run where sync beats plain GD, and that a
 * step allocates nothing. */
#include "goldstone_internal.h"
#include "ngtest.h"

static void test_model_gradient(void)
{
    size_t T = 3, nr = 4, nc = 5, d = 2, N = nr + nc, n = T * N * d;
    float *X = malloc(T * nr * nc * sizeof *X), *Z = malloc(n * sizeof *Z), *G = malloc(n * sizeof *G);
    ng_rng r;
    ng_rng_seed(&r, 1);
    ng_rng_fill_normal(&r, X, T * nr * nc, 0.0f, 1.0f);
    ng_rng_fill_normal(&r, Z, n, 0.0f, 1.0f);
    ng_gauss_mf *m = NULL;
    NG_CHECK(ng_gauss_mf_new(T, nr, nc, d, X, &m) == NG_OK);
    NG_CHECK(ng_gauss_mf_num_vectors(m) == N);
    for (size_t k = 0; k < n; k++) G[k] = 1.0f; /* the gradient is added */
    double ell = 0.0, ell2 = 0.0;
    NG_CHECK(ng_gauss_mf_loss(m, Z, G, &ell) == NG_OK);
    NG_CHECK(ng_gauss_mf_loss(m, Z, NULL, &ell2) == NG_OK);
    NG_CHECK_REL(ell, ell2, 1e-12, 1e-12);
    /* reference loss in double */
    double ref = 0.0;
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < nr; i++)
            for (size_t j = 0; j < nc; j++) {
                double p = 0.0;
                for (size_t k = 0; k < d; k++) p += (double)Z[(t * N + i) * d + k] * Z[(t * N + nr + j) * d + k];
                double e = X[(t * nr + i) * nc + j] - p;
                ref += 0.5 * e * e;
            }
    NG_CHECK_REL(ell, ref, 1e-5, 1e-9);
    double maxerr = 0.0, maxg = 0.0;
    for (size_t k = 0; k < n; k++) {
        float z0 = Z[k];
        const float h = 1.0f / 256;
        double fp, fm;
        Z[k] = z0 + h;
        ng_gauss_mf_loss(m, Z, NULL, &fp);
        Z[k] = z0 - h;
        ng_gauss_mf_loss(m, Z, NULL, &fm);
        Z[k] = z0;
        double fd = (fp - fm) / (2.0 * h), an = (double)G[k] - 1.0;
        maxerr = fmax(maxerr, fabs(fd - an));
        maxg = fmax(maxg, fabs(an));
    }
    NG_CHECK_MSG(maxerr < 2e-3 * fmax(1.0, maxg), "model gradient err %g (max %g)", maxerr, maxg);
    NG_CHECK(maxg > 0.5);
    X[3] = NAN;
    ng_gauss_mf *bad = NULL;
    NG_CHECK(ng_gauss_mf_new(T, nr, nc, d, X, &bad) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "finite") != NULL);
    ng_gauss_mf_free(m);
    free(X);
    free(Z);
    free(G);
}

/* The full loss L = ell + psi through the driver: the step's gradient must be the FD one.
 * A GD step with rate 1 and no clipping moves Z by exactly -grad. */
static void test_total_gradient(void)
{
    size_t T = 4, nr = 3, nc = 3, d = 2, N = 6, n = T * N * d;
    ng_gauss_mf *m = NULL;
    NG_CHECK(ng_gauss_mf_toy(T, nr, nc, d, 1e-3, 5, &m) == NG_OK);
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(T, 3.0, &g) == NG_OK);
    float *Z = malloc(n * sizeof *Z), *Z0 = malloc(n * sizeof *Z0);
    ng_rng r;
    ng_rng_seed(&r, 2);
    ng_gauss_mf_init(m, &r, 1.0, Z);
    memcpy(Z0, Z, n * sizeof *Z);
    ng_goldstone_params p = ng_goldstone_default_params();
    p.symmetry = NG_SYM_NONE;
    p.inner = ng_inner_default_params(NG_INNER_GD);
    p.inner.rho0 = 1.0;
    ng_goldstone *gs = NULL;
    NG_CHECK(ng_goldstone_new(&p, g, N, d, ng_gauss_mf_loss, m, Z, &gs) == NG_OK);
    double L0 = 0.0, ell0, psi0;
    NG_CHECK(ng_goldstone_eval(gs, &L0, &ell0, &psi0) == NG_OK);
    NG_CHECK_REL(psi0, ng_graph_psi(g, N, d, Z), 1e-12, 1e-12);
    ng_goldstone_stats st;
    NG_CHECK(ng_goldstone_step(gs, 1, &st) == NG_OK);
    NG_CHECK_REL(st.loss, L0, 1e-12, 1e-12);
    NG_CHECK(st.step == 1 && st.walls >= 0 && !st.symmetry_ran);
    double maxerr = 0.0, maxg = 0.0;
    ng_goldstone *ev = NULL;
    NG_CHECK(ng_goldstone_new(&p, g, N, d, ng_gauss_mf_loss, m, Z0, &ev) == NG_OK);
    for (size_t k = 0; k < n; k++) {
        float z0 = Z0[k];
        const float h = 1.0f / 256;
        double fp, fm;
        Z0[k] = z0 + h;
        ng_goldstone_eval(ev, &fp, NULL, NULL);
        Z0[k] = z0 - h;
        ng_goldstone_eval(ev, &fm, NULL, NULL);
        Z0[k] = z0;
        double fd = (fp - fm) / (2.0 * h), an = (double)Z0[k] - Z[k];
        maxerr = fmax(maxerr, fabs(fd - an));
        maxg = fmax(maxg, fabs(an));
    }
    NG_CHECK_MSG(maxerr < 2e-3 * fmax(1.0, maxg), "total gradient err %g (max %g)", maxerr, maxg);
    NG_CHECK(maxg > 0.5);
    ng_goldstone_free(ev);
    ng_goldstone_free(gs);
    ng_graph_free(g);
    ng_gauss_mf_free(m);
    free(Z);
    free(Z0);
}

/* L* = T/2 sum_{k>d} sigma_k(X)^2 is attained by the truncated SVD in every slice. */
static void test_rank_bound(void)
{
    size_t T = 5, nr = 6, nc = 4, d = 2, N = nr + nc;
    ng_gauss_mf *m = NULL;
    NG_CHECK(ng_gauss_mf_toy(T, nr, nc, d, 0.05, 9, &m) == NG_OK);
    double Ls = -1.0;
    NG_CHECK(ng_gauss_mf_rank_bound(m, &Ls) == NG_OK);
    NG_CHECK(Ls > 0.0);
    const float *X = ng_gauss_mf_data(m);
    double *A = malloc(nr * nc * sizeof *A), *U = malloc(nr * nc * sizeof *U), s[4], *Vt = malloc(nc * nc * sizeof *Vt);
    for (size_t k = 0; k < nr * nc; k++) A[k] = X[k];
    NG_CHECK(ng_dsvd(nr, nc, A, U, s, Vt) == NG_OK);
    float *Z = malloc(T * N * d * sizeof *Z);
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < d; k++) {
            double rs = sqrt(s[k]);
            for (size_t i = 0; i < nr; i++) Z[(t * N + i) * d + k] = (float)(U[i * 4 + k] * rs);
            for (size_t j = 0; j < nc; j++) Z[(t * N + nr + j) * d + k] = (float)(Vt[k * nc + j] * rs);
        }
    double ell = 0.0;
    NG_CHECK(ng_gauss_mf_loss(m, Z, NULL, &ell) == NG_OK);
    NG_CHECK_REL(ell, Ls, 1e-4, 1e-9);
    /* the toy repeats X at every step */
    NG_CHECK(!memcmp(X, X + 4 * nr * nc, nr * nc * sizeof *X));
    /* no noise: X has rank d, L* = 0 */
    ng_gauss_mf *m0 = NULL;
    NG_CHECK(ng_gauss_mf_toy(T, nr, nc, d, 0.0, 9, &m0) == NG_OK);
    NG_CHECK(ng_gauss_mf_rank_bound(m0, &Ls) == NG_OK);
    NG_CHECK(Ls < 1e-8);
    ng_gauss_mf_free(m0);
    ng_gauss_mf_free(m);
    free(A);
    free(U);
    free(Vt);
    free(Z);
}

static int g_nan_after;
static ng_status nan_model(void *user, const float *Z, float *grad, double *ell)
{
    (void)Z;
    int *calls = user;
    (*calls)++;
    *ell = *calls > g_nan_after ? NAN : 1.0;
    if (grad) grad[0] += 1.0f;
    return NG_OK;
}

static ng_status inf_grad_model(void *user, const float *Z, float *grad, double *ell)
{
    (void)user;
    (void)Z;
    *ell = 0.0;
    if (grad) grad[1] = INFINITY;
    return NG_OK;
}

static void test_nan_detection(void)
{
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(3, 1.0, &g) == NG_OK);
    float Z[3 * 2 * 2] = {0};
    ng_goldstone_params p = ng_goldstone_default_params();
    ng_goldstone *gs = NULL;
    int calls = 0;
    g_nan_after = 3;
    NG_CHECK(ng_goldstone_new(&p, g, 2, 2, nan_model, &calls, Z, &gs) == NG_OK);
    ng_status st = NG_OK;
    int k = 0;
    for (; k < 10 && st == NG_OK; k++) st = ng_goldstone_step(gs, 0, NULL);
    NG_CHECK(st == NG_ENUMERIC);
    NG_CHECK(k == 4);
    NG_CHECK(strstr(ng_last_error(), "diverged at step 3") != NULL);
    ng_goldstone_free(gs);
    NG_CHECK(ng_goldstone_new(&p, g, 2, 2, inf_grad_model, NULL, Z, &gs) == NG_OK);
    NG_CHECK(ng_goldstone_step(gs, 0, NULL) == NG_ENUMERIC);
    NG_CHECK(strstr(ng_last_error(), "diverged at step 0") != NULL);
    ng_goldstone_free(gs);
    /* bad parameters */
    p.k1 = 0;
    NG_CHECK(ng_goldstone_new(&p, g, 2, 2, nan_model, &calls, Z, &gs) == NG_EINVAL);
    NG_CHECK(gs == NULL);
    ng_graph_free(g);
}

/* Every slice = slice 0 plus N(0, 0.1^2) noise: twists small enough for the paper's
 * first-order gauge phase, which on unrelated random slices stretches Z by 5-20x per
 * phase and is stopped as diverging (NG_GAUGE_MAX_STRETCH). */
static void near_equal_slices(ng_rng *r, size_t T, size_t N, size_t d, float *Z)
{
    for (size_t t = 1; t < T; t++)
        for (size_t k = 0; k < N * d; k++) Z[t * N * d + k] = Z[k] + 0.1f * (float)ng_rng_normal(r);
}

/* Phases run after every k1-th step; the state arrays are the gauge fields and the
 * optimiser's; the paper variant sets what the spec says. */
static void test_schedule_and_state(void)
{
    size_t T = 6, d = 3, N = 8;
    ng_gauss_mf *m = NULL;
    NG_CHECK(ng_gauss_mf_toy(T, 4, 4, d, 1e-3, 3, &m) == NG_OK);
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(T, 10.0, &g) == NG_OK);
    float *Z = malloc(T * N * d * sizeof *Z);
    ng_rng r;
    ng_rng_seed(&r, 4);
    ng_gauss_mf_init(m, &r, 1.0, Z);
    near_equal_slices(&r, T, N, d, Z);
    ng_goldstone_params p = ng_goldstone_default_params();
    ng_goldstone_paper_variant(&p);
    NG_CHECK(p.symmetry == NG_SYM_GOLDSTONE && p.gauge_reset == 0 && p.rotation == NG_ROT_FIRST_ORDER &&
             p.rho_scale == 1.0 && p.k1 == 50 && p.k2 == 10);
    p.k1 = 7;
    p.inner = ng_inner_default_params(NG_INNER_ADAM);
    ng_goldstone *gs = NULL;
    NG_CHECK(ng_goldstone_new(&p, g, N, d, ng_gauss_mf_loss, m, Z, &gs) == NG_OK);
    int ran = 0, ran_at_7 = 0;
    for (int s = 1; s <= 21; s++) {
        ng_goldstone_stats st;
        NG_CHECK(ng_goldstone_step(gs, 0, &st) == NG_OK);
        ran += st.symmetry_ran;
        if (s == 7) ran_at_7 = st.symmetry_ran && st.symmetry_seconds > 0 && st.symmetry_seconds <= st.seconds;
    }
    NG_CHECK(ran == 3);
    NG_CHECK(ran_at_7);
    ng_ckpt_array a[8];
    NG_CHECK(ng_goldstone_state(gs, NULL, 0) == 7);
    NG_CHECK(ng_goldstone_state(gs, a, 8) == 7);
    NG_CHECK(!strcmp(a[0].name, "goldstone_steps") && a[0].t.dtype == NG_I64);
    NG_CHECK(!strcmp(a[1].name, "gauge") && a[1].t.dtype == NG_F64 && a[1].t.shape[0] == T && a[1].t.shape[2] == d);
    NG_CHECK(!strcmp(a[2].name, "goldstone_phases") && a[2].t.dtype == NG_I64 && a[2].t.shape[0] == 2);
    NG_CHECK(!strcmp(a[3].name, "goldstone_last_loss") && a[3].t.dtype == NG_F64);
    NG_CHECK(!strcmp(a[4].name, "inner_steps") && !strcmp(a[5].name, "adam_m") && a[5].t.shape[0] == T * N * d);
    /* warm start: the gauge fields carry over (nonzero after phases) */
    double gmax = 0.0;
    for (size_t k = 0; k < T * d * d; k++) gmax = fmax(gmax, fabs(((double *)a[1].t.data)[k]));
    NG_CHECK(gmax > 0.0);
    NG_CHECK(ng_goldstone_steps(gs) == 21);
    /* as a checkpoint load would: both counters */
    *(int64_t *)a[0].t.data = 100;
    NG_CHECK(ng_goldstone_state_loaded(gs) == NG_EMISMATCH); /* inner optimiser still at 21 */
    *(int64_t *)a[4].t.data = 100;
    NG_CHECK(ng_goldstone_state_loaded(gs) == NG_OK);
    NG_CHECK(ng_goldstone_steps(gs) == 100);
    double sec = -1;
    NG_CHECK(ng_goldstone_symmetry_phase(gs, &sec) == NG_OK);
    NG_CHECK(sec >= 0);
    ng_goldstone_free(gs);
    ng_graph_free(g);
    ng_gauss_mf_free(m);
    free(Z);
}

/* The paper's toy, shortened: after 1500 clipped-GD steps from the same init, the sync
 * mode is far closer to L* than plain GD and has no wall left. */
static void test_toy_sync_beats_gd(void)
{
    size_t T = 30, d = 3, N = 20, n = T * N * d;
    ng_gauss_mf *m = NULL;
    NG_CHECK(ng_gauss_mf_toy(T, 10, 10, d, 1e-3, 42, &m) == NG_OK);
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(T, 10.0, &g) == NG_OK);
    double Ls = 0.0;
    NG_CHECK(ng_gauss_mf_rank_bound(m, &Ls) == NG_OK);
    float *Z = malloc(n * sizeof *Z);
    double gap[2];
    int walls[2];
    for (int k = 0; k < 2; k++) {
        ng_rng r;
        ng_rng_seed(&r, 2);
        ng_gauss_mf_init(m, &r, 1.0, Z);
        ng_goldstone_params p = ng_goldstone_default_params();
        p.symmetry = k ? NG_SYM_SYNC : NG_SYM_NONE;
        ng_goldstone *gs = NULL;
        NG_CHECK(ng_goldstone_new(&p, g, N, d, ng_gauss_mf_loss, m, Z, &gs) == NG_OK);
        for (int s = 0; s < 1500; s++) NG_CHECK(ng_goldstone_step(gs, 0, NULL) == NG_OK);
        double L = 0.0;
        ng_goldstone_eval(gs, &L, NULL, NULL);
        gap[k] = L - Ls;
        ng_count_walls(g, N, d, Z, &walls[k]);
        ng_goldstone_free(gs);
    }
    NG_CHECK_MSG(gap[1] < 1.0 && gap[0] > 10.0, "gap GD %g, sync %g", gap[0], gap[1]);
    NG_CHECK(walls[1] == 0);
    ng_graph_free(g);
    ng_gauss_mf_free(m);
    free(Z);
}

static ng_status zero_model(void *user, const float *Z, float *grad, double *ell)
{
    (void)user;
    (void)Z;
    (void)grad;
    *ell = 0.0;
    return NG_OK;
}

/* A problem big enough for the OpenMP branches (finite checks, sums of squares, psi):
 * with l = 0 only psi acts; every phase (sync, then the gauge phase) lowers it. */
static void test_large_problem_phases(void)
{
    size_t T = 4, N = 4000, d = 6, n = T * N * d;
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(T, 1.0, &g) == NG_OK);
    float *Z = malloc(n * sizeof *Z);
    ng_rng r;
    ng_rng_seed(&r, 77);
    ng_rng_fill_normal(&r, Z, n, 0.0f, 1.0f);
    ng_goldstone_params p = ng_goldstone_default_params();
    p.symmetry = NG_SYM_SYNC_GOLDSTONE;
    p.k1 = 1;
    p.max_overhead = 0.0; /* a phase after every step, whatever it costs */
    p.inner = ng_inner_default_params(NG_INNER_GD);
    p.inner.rho0 = 1e-3;
    ng_goldstone *gs = NULL;
    NG_CHECK(ng_goldstone_new(&p, g, N, d, zero_model, NULL, Z, &gs) == NG_OK);
    double psi_prev = ng_graph_psi(g, N, d, Z);
    for (int s = 0; s < 3; s++) {
        ng_goldstone_stats st;
        NG_CHECK(ng_goldstone_step(gs, 1, &st) == NG_OK);
        NG_CHECK(st.symmetry_ran == 1 && st.walls >= 0);
        double psi = ng_graph_psi(g, N, d, Z);
        NG_CHECK_MSG(psi <= psi_prev * (1 + 1e-6), "psi rose %g -> %g", psi_prev, psi);
        psi_prev = psi;
    }
    int walls = -1;
    NG_CHECK(ng_count_walls(g, N, d, Z, &walls) == NG_OK);
    NG_CHECK(walls == 0);
    ng_goldstone_free(gs);
    ng_graph_free(g);
    free(Z);
}

/* "No allocation inside a step" (DEVELOPERS.md): after the first step, ng_goldstone_step
 * makes no library allocation (ngi_alloc_count counts every ngi_xmalloc/ngi_xcalloc) in any
 * symmetry mode, gauge solver, rotation, inner optimiser, with and without wall counting, on a chain
 * and on a graph with a cycle (BFS spanning tree). The counter itself is shown to tick on
 * the one-off public helpers, so the check can fail. */
static void test_step_allocates_nothing(void)
{
    size_t T = 8, d = 3, N = 12;
    ng_gauss_mf *m = NULL;
    NG_CHECK(ng_gauss_mf_toy(T, 5, 7, d, 1e-3, 5, &m) == NG_OK);
    ng_graph *graphs[2] = {NULL, NULL};
    NG_CHECK(ng_graph_chain(T, 10.0, &graphs[0]) == NG_OK);
    size_t ea[9], eb[9];
    double ew[9];
    for (size_t e = 0; e < T - 1; e++) ea[e] = e, eb[e] = e + 1, ew[e] = 5.0 + (double)e;
    ea[T - 1] = 0, eb[T - 1] = T - 1, ew[T - 1] = 3.0; /* closes a cycle */
    NG_CHECK(ng_graph_edges(T, T, ea, eb, ew, &graphs[1]) == NG_OK);
    float *Z = malloc(T * N * d * sizeof *Z);
    double R[9], M[9] = {1, 2, 0, 0, 1, 3, 1, 0, 1}, G[9] = {0, 0.1, -0.2, -0.1, 0, 0.3, 0.2, -0.3, 0};
    /* the counter works: the public one-off helpers allocate their workspace */
    size_t c0 = ngi_alloc_count();
    NG_CHECK(ng_procrustes_cross(3, M, 1, R, NULL) == NG_OK);
    NG_CHECK(ngi_alloc_count() > c0);
    c0 = ngi_alloc_count();
    NG_CHECK(ng_cayley(3, G, R) == NG_OK && ng_expm_skew(3, G, R) == NG_OK);
    NG_CHECK(ngi_alloc_count() >= c0 + 2);
    int cases = 0, clean = 0;
    for (int gi = 0; gi < 2; gi++)
        for (int sym = 0; sym <= NG_SYM_SYNC_GOLDSTONE; sym++)
            for (int rs = 0; rs < 5; rs++) /* quadratic x 3 rotations, retract x cayley/exp */
                for (int opt = 0; opt <= NG_INNER_ADAM; opt++) {
                    int rot = rs < 3 ? rs : rs - 2;
                    ng_rng r;
                    ng_rng_seed(&r, (uint64_t)(100 + cases));
                    ng_gauss_mf_init(m, &r, 1.0, Z);
                    if (rot == NG_ROT_FIRST_ORDER) near_equal_slices(&r, T, N, d, Z);
                    ng_goldstone_params p = ng_goldstone_default_params();
                    p.symmetry = (ng_symmetry)sym;
                    p.rotation = (ng_rotation)rot;
                    p.gauge_solver = rs < 3 ? NG_GAUGE_QUADRATIC : NG_GAUGE_RETRACT;
                    if (rs < 3) p.rho_scale = 1.0; /* the quadratic solver's stable range */
                    p.gauge_reset = rot != NG_ROT_FIRST_ORDER;
                    p.k1 = 3;
                    p.max_overhead = 0.0; /* phases every k1 steps exactly */
                    p.inner = ng_inner_default_params((ng_inner_kind)opt);
                    if (opt == NG_INNER_GD) p.inner.clip = 0.01, p.inner.rho0 = 0.5;
                    ng_goldstone *gs = NULL;
                    NG_CHECK(ng_goldstone_new(&p, graphs[gi], N, d, ng_gauss_mf_loss, m, Z, &gs) == NG_OK);
                    if (!gs) continue;
                    NG_CHECK(ng_goldstone_step(gs, 0, NULL) == NG_OK);
                    size_t before = ngi_alloc_count();
                    int ok = 1, phases = 0;
                    for (int s = 0; s < 20; s++) {
                        ng_goldstone_stats st;
                        ok &= ng_goldstone_step(gs, s % 2, &st) == NG_OK;
                        phases += st.symmetry_ran;
                    }
                    double sec = 0.0;
                    ok &= ng_goldstone_symmetry_phase(gs, &sec) == NG_OK;
                    size_t after = ngi_alloc_count();
                    NG_CHECK_MSG(ok && after == before,
                                 "graph %d, %s, %s, %s, %s: %zu allocations in 20 steps (ok %d)", gi,
                                 ng_symmetry_name(p.symmetry), ng_gauge_solver_name(p.gauge_solver),
                                 ng_rotation_name(p.rotation),
                                 ng_inner_kind_name(p.inner.kind), after - before, ok);
                    NG_CHECK(phases == (sym == NG_SYM_NONE ? 0 : 7));
                    clean += ok && after == before;
                    cases++;
                    ng_goldstone_free(gs);
                }
    NG_CHECK(cases == 2 * 4 * 5 * 3 && clean == cases);
    ng_graph_free(graphs[0]);
    ng_graph_free(graphs[1]);
    ng_gauss_mf_free(m);
    free(Z);
}

int main(void)
{
    NG_RUN(test_step_allocates_nothing);
    NG_RUN(test_large_problem_phases);
    NG_RUN(test_model_gradient);
    NG_RUN(test_total_gradient);
    NG_RUN(test_rank_bound);
    NG_RUN(test_nan_detection);
    NG_RUN(test_schedule_and_state);
    NG_RUN(test_toy_sync_beats_gd);
    return ng_test_summary();
}
