/* test_sync.c - synchronisation (sequential Procrustes along a spanning tree) and the
 * reflection-wall count: the result cannot be improved by further rotations or
 * reflections of any slice or block of slices (brute force), a planted reflection wall
 * is counted and removed, consistent rotations on a graph with a cycle are undone. */
#include "goldstone_internal.h"
#include "ngtest.h"

static double psi_f(const ng_graph *g, size_t N, size_t d, const float *Z)
{
    return ng_graph_psi(g, N, d, Z);
}

/* random orthogonal d x d (QR of a Gaussian via Procrustes of a random cross matrix) */
static void random_orth(ng_rng *r, size_t d, int reflect, double *R)
{
    double M[64];
    for (size_t k = 0; k < d * d; k++) M[k] = ng_rng_normal(r);
    double det;
    ng_procrustes_cross(d, M, 1, R, &det);
    if ((det < 0) != (reflect != 0))
        for (size_t j = 0; j < d; j++) R[j * d + d - 1] = -R[j * d + d - 1];
}

static void apply(size_t N, size_t d, float *S, const double *R)
{
    float tmp[64];
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < d; j++) {
            double v = 0.0;
            for (size_t k = 0; k < d; k++) v += R[j * d + k] * S[i * d + k];
            tmp[j] = (float)v;
        }
        memcpy(S + i * d, tmp, d * sizeof *tmp);
    }
}

/* Slices Q_t Z0 + noise with random orthogonal Q_t (some reflections). */
static void planted(ng_rng *r, size_t T, size_t N, size_t d, double noise, const int *reflect,
                    float *Z)
{
    size_t nd = N * d;
    ng_rng_fill_normal(r, Z, nd, 0.0f, 1.0f);
    for (size_t t = 1; t < T; t++) memcpy(Z + t * nd, Z, nd * sizeof *Z);
    for (size_t t = 0; t < T; t++) {
        double R[64];
        random_orth(r, d, reflect ? reflect[t] : 0, R);
        apply(N, d, Z + t * nd, R);
        for (size_t k = 0; k < nd; k++) Z[t * nd + k] += (float)(noise * ng_rng_normal(r));
    }
}

static void test_sync_chain_optimal(void)
{
    size_t T = 8, N = 15, d = 3, nd = N * d, n = T * nd;
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(T, 10.0, &g) == NG_OK);
    float *Z = malloc(n * sizeof *Z), *Zp = malloc(n * sizeof *Zp);
    ng_rng r;
    ng_rng_seed(&r, 7);
    int refl[8] = {0, 1, 1, 0, 0, 1, 0, 0};
    planted(&r, T, N, d, 0.3, refl, Z);
    double psi0 = psi_f(g, N, d, Z);
    int walls = -1, removed = -1;
    NG_CHECK(ng_count_walls(g, N, d, Z, &walls) == NG_OK);
    NG_CHECK(walls == 4); /* reflection flips at 0|1, 2|3, 4|5, 5|6: det -1 where the parity changes */
    NG_CHECK(ng_sync(g, N, d, Z, &removed) == NG_OK);
    NG_CHECK(removed == 4);
    double psi1 = psi_f(g, N, d, Z);
    NG_CHECK(psi1 < 0.2 * psi0);
    NG_CHECK(ng_count_walls(g, N, d, Z, &walls) == NG_OK);
    NG_CHECK(walls == 0);
    /* brute force: random rotations/reflections of single slices and of blocks of slices,
     * large and small, never lower psi */
    double worst = INFINITY;
    for (int trial = 0; trial < 300; trial++) {
        memcpy(Zp, Z, n * sizeof *Z);
        size_t t0 = ng_rng_below(&r, T), t1 = t0 + 1 + ng_rng_below(&r, T - t0);
        double R[9], G[9] = {0}, eps = trial % 3 == 0 ? 1.0 : trial % 3 == 1 ? 1e-1 : 1e-2;
        if (trial % 10 == 9) {
            random_orth(&r, d, 1, R);
        } else {
            for (size_t j = 0; j < d; j++)
                for (size_t k = j + 1; k < d; k++) {
                    G[j * d + k] = eps * ng_rng_normal(&r);
                    G[k * d + j] = -G[j * d + k];
                }
            ng_expm_skew(d, G, R);
        }
        for (size_t t = t0; t < t1; t++) apply(N, d, Zp + t * nd, R);
        double dp = psi_f(g, N, d, Zp) - psi1;
        worst = fmin(worst, dp);
    }
    NG_CHECK_MSG(worst > -1e-4 * psi1, "a perturbation lowered psi by %g (psi %g)", -worst, psi1);
    /* sync is idempotent: a second pass changes (almost) nothing */
    memcpy(Zp, Z, n * sizeof *Z);
    NG_CHECK(ng_sync(g, N, d, Zp, &removed) == NG_OK);
    NG_CHECK(removed == 0);
    NG_CHECK_REL(psi_f(g, N, d, Zp), psi1, 1e-5, 1e-9);
    free(Z);
    free(Zp);
    ng_graph_free(g);
}

/* The paper's failure mode: two halves of the chain related by a reflection. Rotations
 * cannot remove it; sync does, in one pass. */
static void test_reflection_wall(void)
{
    size_t T = 10, N = 20, d = 3, nd = N * d, n = T * nd;
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(T, 10.0, &g) == NG_OK);
    float *Z = malloc(n * sizeof *Z);
    ng_rng r;
    ng_rng_seed(&r, 8);
    ng_rng_fill_normal(&r, Z, nd, 0.0f, 1.0f);
    for (size_t t = 1; t < T; t++) memcpy(Z + t * nd, Z, nd * sizeof *Z);
    double F[9] = {1, 0, 0, 0, 1, 0, 0, 0, -1};
    for (size_t t = 5; t < T; t++) apply(N, d, Z + t * nd, F);
    for (size_t k = 0; k < n; k++) Z[k] += (float)(1e-3 * ng_rng_normal(&r));
    int walls = 0, removed = 0;
    NG_CHECK(ng_count_walls(g, N, d, Z, &walls) == NG_OK);
    NG_CHECK(walls == 1);
    double psi0 = psi_f(g, N, d, Z);
    /* the best rotation-only gauge phase cannot remove it */
    ng_goldstone_params p = ng_goldstone_default_params();
    p.k2 = 30;
    double *Gt = calloc(T * d * d, sizeof *Gt);
    float *Zg = malloc(n * sizeof *Zg);
    memcpy(Zg, Z, n * sizeof *Z);
    NG_CHECK(ng_gauge_phase(g, N, d, Zg, Gt, &p) == NG_OK);
    NG_CHECK(ng_count_walls(g, N, d, Zg, &walls) == NG_OK);
    NG_CHECK(walls == 1);
    NG_CHECK(psi_f(g, N, d, Zg) > 0.05 * psi0);
    NG_CHECK(ng_sync(g, N, d, Z, &removed) == NG_OK);
    NG_CHECK(removed == 1);
    NG_CHECK(ng_count_walls(g, N, d, Z, &walls) == NG_OK);
    NG_CHECK(walls == 0);
    double psi1 = psi_f(g, N, d, Z);
    NG_CHECK_MSG(psi1 < 1e-3 * psi0, "psi %g -> %g", psi0, psi1);
    free(Z);
    free(Zg);
    free(Gt);
    ng_graph_free(g);
}

/* A graph with cycles and consistent planted rotations: aligning the BFS tree undoes
 * them on every edge, including the non-tree ones. */
static void test_sync_graph(void)
{
    size_t a[] = {0, 1, 2, 3, 4, 0, 2}, b[] = {1, 2, 3, 4, 5, 5, 5};
    double w[] = {1, 2, 1, 3, 1, 2, 0.5};
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_edges(6, 7, a, b, w, &g) == NG_OK);
    size_t T = 6, N = 12, d = 4, n = T * N * d;
    float *Z = malloc(n * sizeof *Z);
    ng_rng r;
    ng_rng_seed(&r, 9);
    int refl[6] = {0, 1, 0, 0, 1, 1};
    planted(&r, T, N, d, 0.0, refl, Z);
    double psi0 = psi_f(g, N, d, Z);
    int walls = 0, removed = 0;
    NG_CHECK(ng_count_walls(g, N, d, Z, &walls) == NG_OK);
    NG_CHECK(walls == 5); /* edges 0-1, 1-2, 3-4, 0-5, 2-5 join slices of opposite parity */
    NG_CHECK(ng_sync(g, N, d, Z, &removed) == NG_OK);
    NG_CHECK(removed >= 1 && removed <= 5);
    double psi1 = psi_f(g, N, d, Z);
    NG_CHECK_MSG(psi1 < 1e-8 * psi0, "psi %g -> %g", psi0, psi1);
    NG_CHECK(ng_count_walls(g, N, d, Z, &walls) == NG_OK);
    NG_CHECK(walls == 0);
    free(Z);
    ng_graph_free(g);
}

int main(void)
{
    NG_RUN(test_sync_chain_optimal);
    NG_RUN(test_reflection_wall);
    NG_RUN(test_sync_graph);
    return ng_test_summary();
}
