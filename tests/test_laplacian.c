/* test_laplacian.c - coupling graphs: L+ against ng_dpinv_sym and the Moore-Penrose
 * identities, disconnected/bad graphs rejected, psi and its gradient against a dense
 * double reference and central finite differences. */
#include "goldstone_internal.h"
#include "ngtest.h"

/* max |A - B| over n entries */
static double maxdiff(const double *A, const double *B, size_t n)
{
    double m = 0.0;
    for (size_t k = 0; k < n; k++) m = fmax(m, fabs(A[k] - B[k]));
    return m;
}

static void check_pinv(const ng_graph *g)
{
    size_t T = ng_graph_nodes(g);
    double *L = calloc(T * T, sizeof *L), *P = calloc(T * T, sizeof *P),
           *X = calloc(T * T, sizeof *X), *Y = calloc(T * T, sizeof *Y);
    ng_graph_laplacian(g, L);
    /* rows of a Laplacian sum to zero */
    for (size_t i = 0; i < T; i++) {
        double s = 0.0;
        for (size_t j = 0; j < T; j++) s += L[i * T + j];
        NG_CHECK_NEAR(s, 0.0, 1e-12);
    }
    size_t rank = 0;
    NG_CHECK(ng_dpinv_sym(T, L, 1e-10, P, &rank) == NG_OK);
    NG_CHECK(rank == T - 1);
    const double *Lp = ng_graph_pinv(g);
    NG_CHECK_MSG(maxdiff(Lp, P, T * T) < 1e-10, "L+ vs ng_dpinv_sym: %g", maxdiff(Lp, P, T * T));
    /* dense Moore-Penrose identities: L L+ L = L, L+ L L+ = L+, L+ 1 = 0 */
    for (size_t i = 0; i < T; i++)
        for (size_t j = 0; j < T; j++) {
            double s = 0.0;
            for (size_t k = 0; k < T; k++) s += L[i * T + k] * Lp[k * T + j];
            X[i * T + j] = s;
        }
    for (size_t i = 0; i < T; i++)
        for (size_t j = 0; j < T; j++) {
            double s = 0.0;
            for (size_t k = 0; k < T; k++) s += X[i * T + k] * L[k * T + j];
            Y[i * T + j] = s;
        }
    NG_CHECK(maxdiff(Y, L, T * T) < 1e-9);
    /* L L+ = I - 11^T / T (projector off the zero mode) */
    for (size_t i = 0; i < T; i++)
        for (size_t j = 0; j < T; j++)
            NG_CHECK_NEAR(X[i * T + j], (i == j ? 1.0 : 0.0) - 1.0 / (double)T, 1e-10);
    for (size_t i = 0; i < T; i++) {
        double s = 0.0;
        for (size_t j = 0; j < T; j++) s += Lp[i * T + j];
        NG_CHECK_NEAR(s, 0.0, 1e-10);
    }
    free(L);
    free(P);
    free(X);
    free(Y);
}

static void test_chain_pinv(void)
{
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(9, 2.5, &g) == NG_OK);
    NG_CHECK(ng_graph_is_chain(g));
    NG_CHECK(ng_graph_num_edges(g) == 8);
    check_pinv(g);
    /* chain L+ has the closed form: smallest nonzero eigenvalue 2 lambda (1 - cos(pi/T)) */
    size_t T = 9;
    double *L = malloc(T * T * sizeof *L), w[9];
    ng_graph_laplacian(g, L);
    NG_CHECK(ng_dsyev(T, L, w) == NG_OK);
    NG_CHECK_NEAR(w[1], 2 * 2.5 * (1 - cos(M_PI / 9)), 1e-10);
    free(L);
    ng_graph_free(g);
}

static void test_weighted_chain_pinv(void)
{
    double w[6] = {1.0, 0.5, 3.0, 2.0, 0.25, 7.0};
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain_weighted(7, w, &g) == NG_OK);
    NG_CHECK(ng_graph_is_chain(g));
    check_pinv(g);
    double ww;
    size_t a, b;
    NG_CHECK(ng_graph_edge(g, 2, &a, &b, &ww) == NG_OK);
    NG_CHECK(a == 2 && b == 3 && ww == 3.0);
    NG_CHECK(ng_graph_edge(g, 6, &a, &b, &ww) == NG_EINVAL);
    ng_graph_free(g);
}

static void test_cycle_pinv(void)
{
    /* 6 nodes: a ring 0-1-2-3-0, a tail 3-4-5, a chord 1-3, and a duplicate 0-1 that adds */
    size_t a[] = {0, 1, 2, 3, 3, 4, 3, 1};
    size_t b[] = {1, 2, 3, 0, 4, 5, 1, 0};
    double w[] = {1.0, 2.0, 0.5, 1.5, 3.0, 1.0, 0.7, 0.5};
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_edges(6, 8, a, b, w, &g) == NG_OK);
    NG_CHECK(!ng_graph_is_chain(g));
    NG_CHECK(ng_graph_num_edges(g) == 7);
    size_t ea, eb;
    double ew;
    NG_CHECK(ng_graph_edge(g, 0, &ea, &eb, &ew) == NG_OK);
    NG_CHECK(ea == 0 && eb == 1 && fabs(ew - 1.5) < 1e-15);
    check_pinv(g);
    ng_graph_free(g);
}

static void test_bad_graphs(void)
{
    ng_graph *g = (ng_graph *)1;
    size_t a[] = {0, 2}, b[] = {1, 3};
    double w[] = {1.0, 1.0};
    NG_CHECK(ng_graph_edges(4, 2, a, b, w, &g) == NG_EINVAL);
    NG_CHECK(g == NULL);
    NG_CHECK(strstr(ng_last_error(), "disconnected") != NULL);
    NG_CHECK(strstr(ng_last_error(), "2 components") != NULL);
    double wneg[] = {1.0, -1.0};
    size_t a2[] = {0, 1}, b2[] = {1, 2};
    NG_CHECK(ng_graph_edges(3, 2, a2, b2, wneg, &g) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "weight") != NULL);
    size_t bad[] = {1, 5};
    NG_CHECK(ng_graph_edges(3, 2, a, bad, w, &g) == NG_EINVAL);
    size_t self[] = {0, 0};
    NG_CHECK(ng_graph_edges(3, 2, a, self, w, &g) == NG_EINVAL);
    NG_CHECK(ng_graph_chain(5, 0.0, &g) == NG_EINVAL);
    NG_CHECK(ng_graph_chain(5, NAN, &g) == NG_EINVAL);
    NG_CHECK(ng_graph_chain(0, 1.0, &g) == NG_EINVAL);
    /* a single node is a valid (trivial) graph */
    NG_CHECK(ng_graph_chain(1, 1.0, &g) == NG_OK);
    NG_CHECK(ng_graph_num_edges(g) == 0 && ng_graph_pinv(g)[0] == 0.0);
    ng_graph_free(g);
}

/* psi = 1/2 Tr(Z^T L Z) with the dense Laplacian, in double */
static double psi_dense(const ng_graph *g, size_t N, size_t d, const float *Z)
{
    size_t T = ng_graph_nodes(g), nd = N * d;
    double *L = malloc(T * T * sizeof *L), s = 0.0;
    ng_graph_laplacian(g, L);
    for (size_t t = 0; t < T; t++)
        for (size_t u = 0; u < T; u++)
            for (size_t k = 0; k < nd; k++) s += (double)Z[t * nd + k] * L[t * T + u] * Z[u * nd + k];
    free(L);
    return 0.5 * s;
}

static void check_psi(const ng_graph *g, size_t N, size_t d, uint64_t seed)
{
    size_t T = ng_graph_nodes(g), n = T * N * d;
    float *Z = malloc(n * sizeof *Z), *G = calloc(n, sizeof *G), *G0 = calloc(n, sizeof *G0);
    ng_rng r;
    ng_rng_seed(&r, seed);
    ng_rng_fill_normal(&r, Z, n, 0.0f, 1.0f);
    double ref = psi_dense(g, N, d, Z);
    double p1 = ng_graph_psi(g, N, d, Z), p2 = 0.0;
    NG_CHECK_REL(p1, ref, 1e-10, 1e-12);
    /* the gradient is ADDED: start from a known offset */
    for (size_t k = 0; k < n; k++) G[k] = G0[k] = (float)(0.25 * (double)(k % 3));
    NG_CHECK(ng_graph_psi_grad(g, N, d, Z, G, &p2) == NG_OK);
    NG_CHECK_REL(p2, ref, 1e-10, 1e-12);
    /* central differences (psi is quadratic: exact up to rounding) */
    double maxerr = 0.0, maxg = 0.0;
    for (size_t k = 0; k < n; k += 7) {
        float z0 = Z[k];
        const float h = 0.0625f; /* exactly representable steps */
        Z[k] = z0 + h;
        double fp = ng_graph_psi(g, N, d, Z);
        Z[k] = z0 - h;
        double fm = ng_graph_psi(g, N, d, Z);
        Z[k] = z0;
        double fd = (fp - fm) / (2.0 * h);
        double an = (double)G[k] - G0[k];
        maxerr = fmax(maxerr, fabs(fd - an));
        maxg = fmax(maxg, fabs(an));
    }
    NG_CHECK_MSG(maxerr <= 1e-4 * fmax(1.0, maxg), "psi gradient vs FD: max err %g (max |g| %g)", maxerr, maxg);
    NG_CHECK(maxg > 0.1);
    free(Z);
    free(G);
    free(G0);
}

static void test_psi_and_gradient(void)
{
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(6, 10.0, &g) == NG_OK);
    check_psi(g, 7, 3, 11);
    ng_graph_free(g);
    size_t a[] = {0, 1, 2, 3, 0}, b[] = {1, 2, 3, 4, 4};
    double w[] = {1.0, 2.0, 0.5, 4.0, 3.0};
    NG_CHECK(ng_graph_edges(5, 5, a, b, w, &g) == NG_OK);
    check_psi(g, 4, 5, 12);
    ng_graph_free(g);
    /* a large-ish case that takes the OpenMP branch */
    NG_CHECK(ng_graph_chain(4, 1.5, &g) == NG_OK);
    size_t N = 3000, d = 8, n = 4 * N * d;
    float *Z = malloc(n * sizeof *Z);
    ng_rng r;
    ng_rng_seed(&r, 5);
    ng_rng_fill_normal(&r, Z, n, 0.0f, 1.0f);
    NG_CHECK_REL(ng_graph_psi(g, N, d, Z), psi_dense(g, N, d, Z), 1e-9, 1e-12);
    free(Z);
    ng_graph_free(g);
}

int main(void)
{
    NG_RUN(test_chain_pinv);
    NG_RUN(test_weighted_chain_pinv);
    NG_RUN(test_cycle_pinv);
    NG_RUN(test_bad_graphs);
    NG_RUN(test_psi_and_gradient);
    return ng_test_summary();
}
