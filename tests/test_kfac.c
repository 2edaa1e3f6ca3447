/* test_kfac.c - K-FAC end to end on small nets: the block-diagonal step against the exact
 * natural gradient (single linear layer, Gaussian output: F = A (x) I, built densely from
 * R-op columns), Kronecker inverses and exact Tikhonov against dense solves, the running
 * averages of the statistics, short runs that must reduce the objective, NaN detection,
 * exact resume from the state arrays, and the SGD-Nesterov / Adam baselines (update
 * formulas and a finite-difference check of the gradient of h). */
#include "kfac_internal.h"
#include "ngtest.h"

#include <lapacke.h>

static ng_net *make_net(const char *sizes, const char *acts, ng_loss loss, size_t maxb, uint64_t seed)
{
    ng_net_spec sp;
    if (ng_net_spec_parse(sizes, acts, loss, &sp) != NG_OK) return NULL;
    ng_net *net = NULL;
    if (ng_net_new(&sp, maxb, &net) != NG_OK) return NULL;
    ng_rng r;
    ng_rng_seed(&r, seed);
    ng_net_init_glorot(net, &r);
    return net;
}

static void fill_uniform(float *x, size_t n, uint64_t seed)
{
    ng_rng r;
    ng_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)ng_rng_uniform(&r);
}

/* dense exact Fisher (GGN) of the mean loss from R-op columns, after a forward on m cases */
static double *dense_fisher(ng_net *net, size_t m)
{
    size_t n = ng_net_num_params(net), dl = ng_net_get_spec(net)->sizes[ng_net_get_spec(net)->n_layers];
    float *J = malloc(n * m * dl * sizeof(float)), *e = calloc(n, sizeof(float));
    double *F = malloc(n * n * sizeof(double));
    for (size_t j = 0; j < n; j++) {
        e[j] = 1;
        ng_net_rop(net, e, m, J + j * m * dl);
        e[j] = 0;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            F[i * n + j] = ng_net_output_fisher_dot(net, m, J + i * m * dl, J + j * m * dl);
    free(J);
    free(e);
    return F;
}

/* A K-FAC state whose statistics are one sampled-target pass over X (m cases) as
 * iteration 1; Yh (m x outputs) receives the sampled targets. NULL on failure. */
static ng_kfac *kfac_sampled_stats(ng_net *net, const ng_kfac_params *p, const float *X, size_t m,
                                   ng_rng *r, float *Yh)
{
    ng_kfac *kf = NULL;
    NG_CHECK(ng_kfac_new(net, p, &kf) == NG_OK);
    NG_CHECK(ng_net_forward(net, X, m) == NG_OK);
    NG_CHECK(ng_net_sample_targets(net, m, r, Yh) == NG_OK);
    NG_CHECK(ng_net_backward(net, Yh, m, NULL) == NG_OK);
    if (kf) ngi_kfac_debug_stats(kf, 1, m);
    return kf;
}

static void solve(size_t n, double *M, double *b)
{
    lapack_int *ip = malloc(n * sizeof *ip);
    LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, 1, M, (lapack_int)n, ip, b, 1);
    free(ip);
}

/* pi = sqrt((tr A / dim A) / (tr G / dim G)), 1 when a trace is 0 (spec §3) */
static double trace_pi(const double *A, size_t a, const double *G, size_t g)
{
    double ta = 0, tg = 0;
    for (size_t j = 0; j < a; j++) ta += A[j * a + j];
    for (size_t i = 0; i < g; i++) tg += G[i * g + i];
    return (ta > 0 && tg > 0) ? sqrt((ta / (double)a) / (tg / (double)g)) : 1.0;
}

static void test_natural_gradient_linear_gaussian(void)
{
    size_t m = 60;
    ng_net *net = make_net("5-3", NULL, NG_LOSS_GAUSSIAN, m, 1);
    NG_CHECK(net != NULL);
    if (!net) return;
    size_t n = ng_net_num_params(net);
    float *X = malloc(m * 5 * sizeof(float)), *Y = malloc(m * 3 * sizeof(float)),
          *Yh = malloc(m * 3 * sizeof(float)), *g = malloc(n * sizeof(float)), *D = malloc(n * sizeof(float));
    fill_uniform(X, m * 5, 2);
    fill_uniform(Y, m * 3, 3);
    ng_kfac_params p = ng_kfac_default_params();
    p.curvature = NG_KFAC_BLOCKDIAG;
    ng_rng r;
    ng_rng_seed(&r, 4);
    ng_kfac *kf = kfac_sampled_stats(net, &p, X, m, &r, Yh);
    /* the expectation of the sampled G is exactly I for a unit-variance Gaussian output */
    double *G = ngi_kfac_debug_factor(kf, 1, 0);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++) G[i * 3 + j] = (i == j);
    NG_CHECK(ng_net_backward(net, Y, m, g) == NG_OK);
    NG_CHECK(ngi_kfac_debug_propose(kf, 1e-6, g, D, 1) == NG_OK);
    double *F = dense_fisher(net, m), *b = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) b[i] = g[i];
    solve(n, F, b);
    double err = 0, sc = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs(-D[i] - b[i]));
        sc = fmax(sc, fabs(b[i]));
    }
    NG_CHECK_MSG(err <= 2e-3 * sc, "natural gradient off by %g (scale %g)", err, sc);
    free(F); free(b); free(X); free(Y); free(Yh); free(g); free(D);
    ng_kfac_free(kf);
    ng_net_free(net);
}

/* Block-diagonal factored damping and exact Tikhonov against dense Kronecker solves on
 * a 2-layer net with sampled-target statistics, pi computed here from the factors' traces.
 * zero_g: the last layer's G is zero (its pi must be 1). */
static void kron_blockdiag_case(int tikhonov, int zero_g)
{
    size_t m = 30;
    ng_net *net = make_net("4-3-2", "tanh", NG_LOSS_BERNOULLI, m, 5);
    NG_CHECK(net != NULL);
    if (!net) return;
    size_t n = ng_net_num_params(net);
    float *X = malloc(m * 4 * sizeof(float)), *Yh = malloc(m * 2 * sizeof(float)),
          *g = malloc(n * sizeof(float)), *D = malloc(n * sizeof(float));
    fill_uniform(X, m * 4, 6);
    ng_kfac_params p = ng_kfac_default_params();
    p.curvature = NG_KFAC_BLOCKDIAG;
    p.exact_tikhonov = tikhonov;
    ng_rng r;
    ng_rng_seed(&r, 7);
    ng_kfac *kf = kfac_sampled_stats(net, &p, X, m, &r, Yh);
    for (size_t i = 0; i < n; i++) g[i] = (float)ng_rng_normal(&r);
    if (zero_g) memset(ngi_kfac_debug_factor(kf, 1, 1), 0, 2 * 2 * sizeof(double));
    double gamma = 0.4;
    NG_CHECK(ngi_kfac_debug_propose(kf, gamma, g, D, 1) == NG_OK);
    double pi[2];
    for (int k = 0; k < 2; k++) {
        size_t din = ng_net_get_spec(net)->sizes[k] + 1, dout = ng_net_get_spec(net)->sizes[k + 1];
        pi[k] = trace_pi(ngi_kfac_debug_factor(kf, 0, k), din, ngi_kfac_debug_factor(kf, 1, k), dout);
    }
    if (!tikhonov && !zero_g) NG_CHECK(fabs(pi[0] - 1) > 0.05 && fabs(pi[1] - 1) > 0.05); /* pi matters here */
    double err = 0, sc = 0;
    for (int k = 0; k < 2; k++) {
        size_t din = ng_net_get_spec(net)->sizes[k] + 1, dout = ng_net_get_spec(net)->sizes[k + 1];
        size_t off = ng_net_layer_offset(net, k), N = din * dout;
        const double *A = ngi_kfac_debug_factor(kf, 0, k), *Gk = ngi_kfac_debug_factor(kf, 1, k);
        double *M = malloc(N * N * sizeof(double)), *b = malloc(N * sizeof(double));
        /* row-major index i*din + j of W_k; F block = A (x) G: A[j][j'] G[i][i'] */
        for (size_t i = 0; i < dout; i++)
            for (size_t j = 0; j < din; j++) {
                for (size_t i2 = 0; i2 < dout; i2++)
                    for (size_t j2 = 0; j2 < din; j2++) {
                        double v;
                        if (tikhonov)
                            v = A[j * din + j2] * Gk[i * dout + i2] + (i == i2 && j == j2) * gamma * gamma;
                        else
                            v = (A[j * din + j2] + (j == j2) * gamma * pi[k]) * (Gk[i * dout + i2] + (i == i2) * gamma / pi[k]);
                        M[(i * din + j) * N + i2 * din + j2] = v;
                    }
                b[i * din + j] = g[off + i * din + j];
            }
        solve(N, M, b);
        for (size_t q = 0; q < N; q++) {
            err = fmax(err, fabs(-D[off + q] - b[q]));
            sc = fmax(sc, fabs(b[q]));
        }
        free(M);
        free(b);
    }
    NG_CHECK_MSG(err <= 1e-5 * sc, "%s: off by %g (scale %g)", tikhonov ? "tikhonov" : "factored", err, sc);
    free(X); free(Yh); free(g); free(D);
    ng_kfac_free(kf);
    ng_net_free(net);
}
static void test_kron_blockdiag(void) { kron_blockdiag_case(0, 0); }
static void test_kron_blockdiag_zero_trace(void) { kron_blockdiag_case(0, 1); }
static void test_exact_tikhonov(void) { kron_blockdiag_case(1, 0); }

/* Statistics: X_k = eps_k X_{k-1} + (1 - eps_k) Xhat_k with eps_k = min(1 - 1/k, 0.95). */
static void test_running_average(void)
{
    size_t m = 16;
    ng_net *net = make_net("3-4-2", "logistic", NG_LOSS_BERNOULLI, m, 8);
    NG_CHECK(net != NULL);
    if (!net) return;
    ng_kfac_params p = ng_kfac_default_params();
    p.curvature = NG_KFAC_TRIDIAG;
    ng_kfac *kf = NULL;
    NG_CHECK(ng_kfac_new(net, &p, &kf) == NG_OK);
    float *X = malloc(m * 3 * sizeof(float)), *Y = malloc(m * 2 * sizeof(float));
    double refA[25] = {0}, refG[16] = {0}, refAx[20] = {0};
    for (long k = 1; k <= 4; k++) {
        size_t ms = k == 3 ? 5 : m; /* also a partial statistics batch */
        fill_uniform(X, m * 3, 100 + (uint64_t)k);
        fill_uniform(Y, m * 2, 200 + (uint64_t)k);
        NG_CHECK(ng_net_forward(net, X, m) == NG_OK);
        NG_CHECK(ng_net_backward(net, Y, ms, NULL) == NG_OK);
        ngi_kfac_debug_stats(kf, k, ms);
        double eps = k == 1 ? 0 : fmin(1 - 1.0 / k, 0.95);
        const float *a0 = ng_net_abar(net, 0), *a1 = ng_net_abar(net, 1), *g1 = ng_net_g(net, 1);
        for (size_t i = 0; i < 4; i++)
            for (size_t j = 0; j < 4; j++) {
                double s = 0;
                for (size_t c = 0; c < ms; c++) s += (double)a0[c * 4 + i] * a0[c * 4 + j];
                refA[i * 4 + j] = eps * refA[i * 4 + j] + (1 - eps) * s / ms;
            }
        for (size_t i = 0; i < 2; i++)
            for (size_t j = 0; j < 2; j++) {
                double s = 0;
                for (size_t c = 0; c < ms; c++) s += (double)g1[c * 2 + i] * g1[c * 2 + j];
                refG[i * 2 + j] = eps * refG[i * 2 + j] + (1 - eps) * s / ms;
            }
        for (size_t i = 0; i < 4; i++)
            for (size_t j = 0; j < 5; j++) {
                double s = 0;
                for (size_t c = 0; c < ms; c++) s += (double)a0[c * 4 + i] * a1[c * 5 + j];
                refAx[i * 5 + j] = eps * refAx[i * 5 + j] + (1 - eps) * s / ms;
            }
        const double *A = ngi_kfac_debug_factor(kf, 0, 0), *G = ngi_kfac_debug_factor(kf, 1, 1),
                     *Ax = ngi_kfac_debug_factor(kf, 2, 0);
        double e = 0;
        for (int i = 0; i < 16; i++) e = fmax(e, fabs(A[i] - refA[i]));
        for (int i = 0; i < 4; i++) e = fmax(e, fabs(G[i] - refG[i]));
        for (int i = 0; i < 20; i++) e = fmax(e, fabs(Ax[i] - refAx[i]));
        /* all entries: the lower triangles are the mirrored upper ones (only the upper are
         * updated each iteration) */
        NG_CHECK_MSG(e <= 1e-6, "iteration %ld: statistics off by %g", k, e);
    }
    free(X); free(Y);
    ng_kfac_free(kf);
    ng_net_free(net);
}

/* tiny autoencoder data: 3 latent dims through a fixed random map and a sigmoid */
static float *ae_data(size_t n, size_t d, uint64_t seed)
{
    ng_rng r;
    ng_rng_seed(&r, seed);
    double P[3 * 64];
    for (size_t i = 0; i < 3 * d; i++) P[i] = 2.0 * ng_rng_normal(&r);
    float *X = malloc(n * d * sizeof(float));
    for (size_t c = 0; c < n; c++) {
        double z[3] = {ng_rng_normal(&r), ng_rng_normal(&r), ng_rng_normal(&r)};
        for (size_t j = 0; j < d; j++) {
            double s = z[0] * P[j] + z[1] * P[d + j] + z[2] * P[2 * d + j];
            X[c * d + j] = (float)(1.0 / (1.0 + exp(-s)));
        }
    }
    return X;
}

static double full_h(ng_net *net, const float *X, size_t n, double eta)
{
    double loss, err;
    ng_net_evaluate(net, X, X, n, &loss, &err);
    const float *th = ng_net_params(net);
    double s = 0;
    for (size_t i = 0; i < ng_net_num_params(net); i++) s += (double)th[i] * th[i];
    return loss + 0.5 * eta * s;
}

/* gamma adaptation steps whose choice was not the last candidate tried: there the live
 * inverse is the kept copy, not the last prepare (counted over the run cases) */
static int g_adopted;

static void kfac_run_case(ng_kfac_curvature curv, int momentum)
{
    size_t n = 256, d = 16;
    float *X = ae_data(n, d, 21);
    ng_net *net = make_net("16-8-3-8-16", "logistic,linear,logistic", NG_LOSS_BERNOULLI, n, 22);
    NG_CHECK(net != NULL);
    if (!net) return;
    ng_rng r;
    ng_rng_seed(&r, 23);
    ng_net_init_sparse(net, &r, 15);
    ng_kfac_params p = ng_kfac_default_params();
    p.curvature = curv;
    p.momentum = momentum;
    p.polyak_start = 30;
    ng_kfac *kf = NULL;
    NG_CHECK(ng_kfac_new(net, &p, &kf) == NG_OK);
    /* the queried size is the slab the handle carved: its last array ends inside it */
    size_t ws = ng_kfac_workspace_bytes(net, &p);
    if (kf) NG_CHECK((char *)(kf->J1 + kf->maxb * kf->dl) <= (char *)kf->slab + ws &&
                     (char *)(kf->polyak + kf->n) <= (char *)kf->slab + ws);
    double h0 = full_h(net, X, n, p.eta);
    ng_kfac_info info;
    int lm_seen = 0, gamma_seen = 0, ok = 1, alpha_pos = 1;
    double lam_prev = p.lambda0, gam_prev = 0;
    size_t np = ng_net_num_params(net);
    float *gv = malloc(np * sizeof(float)), *Dl = malloc(np * sizeof(float)), *Df = malloc(np * sizeof(float));
    ng_rng rg; /* its own stream: the run's sampling is left as it was */
    ng_rng_seed(&rg, 24);
    for (size_t i = 0; i < np; i++) gv[i] = (float)ng_rng_normal(&rg);
    for (int it = 1; it <= 60 && ok; it++) {
        gam_prev = it > 1 ? info.gamma : 0;
        ok = ng_kfac_step(kf, X, X, n, &r, &info) == NG_OK;
        if (!ok) fprintf(stderr, "step %d: %s\n", it, ng_last_error());
        if (it == 1) alpha_pos = info.alpha > 0 && info.mu == 0;
        if (it % 5 == 0) lm_seen += isfinite(info.rho);
        else if (info.lambda != lam_prev) lm_seen = -100; /* lambda moves only every T1 */
        lam_prev = info.lambda;
        gamma_seen += info.gamma_adapted;
        if (it <= 3) NG_CHECK(info.refreshed);
        if (it == 4) NG_CHECK(!info.refreshed);
        if (it == 20) NG_CHECK(info.refreshed && info.gamma_adapted);
        NG_CHECK(info.stats_batch == 32);
        if (ok && info.gamma_adapted) {
            /* what the next iterations apply is exactly a fresh prepare of the chosen gamma */
            double c3[3];
            ngi_kfac_gamma_candidates(gam_prev, p.omega2, p.eta, c3);
            g_adopted += info.gamma != c3[2];
            ngi_kfac_debug_propose_live(kf, gv, Dl);
            NG_CHECK(ngi_kfac_debug_propose(kf, info.gamma, gv, Df, 0) == NG_OK);
            NG_CHECK_MSG(memcmp(Dl, Df, np * sizeof(float)) == 0, "iteration %d: live inverse is not gamma %g's", it, info.gamma);
        }
    }
    free(gv);
    free(Dl);
    free(Df);
    NG_CHECK(ok);
    NG_CHECK(alpha_pos);
    NG_CHECK(lm_seen == 12);
    NG_CHECK(gamma_seen == 3);
    NG_CHECK(ng_kfac_iter(kf) == 60);
    double h1 = full_h(net, X, n, p.eta);
    NG_CHECK_MSG(h1 < 0.8 * h0, "objective %g -> %g", h0, h1);
    NG_CHECK(ng_kfac_polyak(kf) != NULL);
    fprintf(stderr, "  %s%s: h %g -> %g, lambda %g gamma %g\n", curv ? "tridiag" : "blockdiag",
            momentum ? "" : " (no momentum)", h0, h1, info.lambda, info.gamma);
    ng_kfac_free(kf);
    ng_net_free(net);
    free(X);
}
static void test_kfac_run_blockdiag(void) { kfac_run_case(NG_KFAC_BLOCKDIAG, 1); }
static void test_kfac_run_tridiag(void) { kfac_run_case(NG_KFAC_TRIDIAG, 1); }
static void test_kfac_run_no_momentum(void) { kfac_run_case(NG_KFAC_BLOCKDIAG, 0); }
static void test_gamma_choice_kept(void) { NG_CHECK_MSG(g_adopted > 0, "no run chose a gamma other than the last candidate"); }

/* The float kernels each iteration runs (block-diagonal sgemm apply, tridiagonal apply_f)
 * against the double reference on a 4-layer net: same Delta to float rounding. */
static void float_kernel_case(ng_kfac_curvature curv)
{
    size_t m = 64;
    ng_net *net = make_net("9-7-5-6-9", "logistic", NG_LOSS_BERNOULLI, m, 81);
    NG_CHECK(net != NULL);
    if (!net) return;
    size_t n = ng_net_num_params(net);
    float *X = ae_data(m, 9, 82), *Yh = malloc(m * 9 * sizeof(float)), *g = malloc(n * sizeof(float)),
          *Df = malloc(n * sizeof(float)), *Dd = malloc(n * sizeof(float));
    ng_kfac_params p = ng_kfac_default_params();
    p.curvature = curv;
    ng_rng r;
    ng_rng_seed(&r, 83);
    ng_kfac *kf = kfac_sampled_stats(net, &p, X, m, &r, Yh);
    for (size_t i = 0; i < n; i++) g[i] = (float)ng_rng_normal(&r);
    NG_CHECK(ngi_kfac_debug_propose(kf, 0.3, g, Dd, 1) == NG_OK);
    NG_CHECK(ngi_kfac_debug_propose(kf, 0.3, g, Df, 0) == NG_OK);
    double dmax = 0, emax = 0;
    for (size_t i = 0; i < n; i++) {
        dmax = fmax(dmax, fabs((double)Dd[i]));
        emax = fmax(emax, fabs((double)Df[i] - (double)Dd[i]));
    }
    fprintf(stderr, "  %s: max |Delta| %.4g, float vs double max diff %.3g\n",
            curv == NG_KFAC_TRIDIAG ? "tridiag" : "blockdiag", dmax, emax);
    NG_CHECK(dmax > 0);
    NG_CHECK(emax <= 1e-4 * dmax);
    ng_kfac_free(kf);
    ng_net_free(net);
    free(X); free(Yh); free(g); free(Df); free(Dd);
}
static void test_float_kernel_blockdiag(void) { float_kernel_case(NG_KFAC_BLOCKDIAG); }
static void test_float_kernel_tridiag(void) { float_kernel_case(NG_KFAC_TRIDIAG); }

/* Iteration 1 (delta0 = 0): alpha* = -g.Delta / (Delta^T F Delta + (lambda + eta) |Delta|^2)
 * with the exact Fisher F built densely from R-op columns on the first ceil(tau2 m) cases
 * (the gradient uses all m); model change = alpha* g.Delta / 2. */
static void alpha_exact_fisher_case(double tau2)
{
    size_t m = 24;
    float *X = ae_data(m, 16, 71);
    ng_net *net = make_net("16-5-16", "tanh", NG_LOSS_BERNOULLI, m, 72);
    NG_CHECK(net != NULL);
    if (!net) return;
    size_t n = ng_net_num_params(net);
    ng_kfac_params p = ng_kfac_default_params();
    p.lambda0 = 0.5; /* small, so the Fisher term matters */
    p.eta = 1e-3;
    p.tau2 = tau2;
    size_t mq = (size_t)ceil(tau2 * (double)m);
    ng_kfac *kf = NULL;
    NG_CHECK(ng_kfac_new(net, &p, &kf) == NG_OK);
    float *th0 = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float)), *D = malloc(n * sizeof(float));
    memcpy(th0, ng_net_params(net), n * sizeof(float));
    ng_rng r;
    ng_rng_seed(&r, 73);
    ng_kfac_info info;
    NG_CHECK(ng_kfac_step(kf, X, X, m, &r, &info) == NG_OK);
    NG_CHECK(info.mu == 0.0 && info.k == 1);
    memcpy(ng_net_params(net), th0, n * sizeof(float));
    NG_CHECK(ng_net_forward(net, X, m) == NG_OK);
    NG_CHECK(ng_net_backward(net, X, m, g) == NG_OK);
    for (size_t i = 0; i < n; i++) g[i] += (float)(p.eta * th0[i]);
    NG_CHECK(ngi_kfac_debug_propose(kf, sqrt(p.lambda0 + p.eta), g, D, 1) == NG_OK);
    double *F = dense_fisher(net, mq);
    double gD = 0, DD = 0, DFD = 0;
    for (size_t i = 0; i < n; i++) {
        gD += (double)g[i] * D[i];
        DD += (double)D[i] * D[i];
        for (size_t j = 0; j < n; j++) DFD += (double)D[i] * F[i * n + j] * D[j];
    }
    double alpha = -gD / (DFD + (p.lambda0 + p.eta) * DD);
    NG_CHECK(gD < 0); /* a descent direction */
    NG_CHECK_REL(info.alpha, alpha, 1e-4, 0);
    NG_CHECK_REL(info.model_change, 0.5 * alpha * gD, 1e-4, 0);
    free(F); free(th0); free(g); free(D); free(X);
    ng_kfac_free(kf);
    ng_net_free(net);
}
static void test_alpha_exact_fisher(void) { alpha_exact_fisher_case(1.0); }
static void test_alpha_exact_fisher_tau2(void) { alpha_exact_fisher_case(0.25); }

/* A fresh copy of the small net of the rule tests below: same initialisation every time. */
static ng_net *rule_net(const char *sizes, size_t m)
{
    return make_net(sizes, "logistic", NG_LOSS_BERNOULLI, m, 91);
}

/* gamma adaptation (spec §4): step() tries {max(omega2 g, sqrt(eta)), g, min(g/omega2, 1)}
 * and keeps the one with the lowest model value M(delta) - M(0). At k = 1 with T2 = T3 = 1
 * the three model values are what three runs with adapt_gamma off and gamma0 set to each
 * candidate report (same gradient, statistics and refresh): the adapting run must take the
 * lowest one's gamma, alpha, model value and parameters. */
static int g_lowest_tried_last; /* cases whose lowest candidate was the last one tried */

static void gamma_choice_case(double gamma0)
{
    size_t m = 32;
    float *X = ae_data(m, 6, 92);
    ng_kfac_params p = ng_kfac_default_params();
    p.T2 = 1;
    p.T3 = 1;
    p.lambda0 = 1.0;
    p.gamma0 = gamma0;
    double g = p.gamma0, cand[3] = {fmax(p.omega2 * g, sqrt(p.eta)), g, fmin(g / p.omega2, 1.0)};
    double model[3], alpha[3];
    float *theta[3];
    size_t n = 0;
    for (int c = 0; c < 3; c++) {
        ng_net *net = rule_net("6-4-6", m);
        NG_CHECK(net != NULL);
        if (!net) return;
        n = ng_net_num_params(net);
        ng_kfac_params q = p;
        q.adapt_gamma = 0;
        q.gamma0 = cand[c];
        ng_kfac *kf = NULL;
        NG_CHECK(ng_kfac_new(net, &q, &kf) == NG_OK);
        ng_rng r;
        ng_rng_seed(&r, 93);
        ng_kfac_info info;
        NG_CHECK(ng_kfac_step(kf, X, X, m, &r, &info) == NG_OK);
        NG_CHECK(!info.gamma_adapted && info.gamma == cand[c]);
        model[c] = info.model_change;
        alpha[c] = info.alpha;
        theta[c] = malloc(n * sizeof(float));
        memcpy(theta[c], ng_net_params(net), n * sizeof(float));
        ng_kfac_free(kf);
        ng_net_free(net);
    }
    int lo = 0, hi = 0;
    for (int c = 1; c < 3; c++) {
        if (model[c] < model[lo]) lo = c;
        if (model[c] > model[hi]) hi = c;
    }
    fprintf(stderr, "  model values %.6g %.6g %.6g for gamma %.4g %.4g %.4g\n", model[0], model[1],
            model[2], cand[0], cand[1], cand[2]);
    NG_CHECK(model[hi] - model[lo] > 1e-3 * fabs(model[lo])); /* the choice matters */
    ng_net *net = rule_net("6-4-6", m);
    ng_kfac *kf = NULL;
    NG_CHECK(net && ng_kfac_new(net, &p, &kf) == NG_OK);
    ng_rng r;
    ng_rng_seed(&r, 93);
    ng_kfac_info info;
    NG_CHECK(ng_kfac_step(kf, X, X, m, &r, &info) == NG_OK);
    NG_CHECK(info.gamma_adapted);
    NG_CHECK_MSG(info.gamma == cand[lo], "chose gamma %g, the lowest model value is gamma %g's", info.gamma, cand[lo]);
    NG_CHECK(info.model_change == model[lo] && info.alpha == alpha[lo]);
    NG_CHECK(memcmp(ng_net_params(net), theta[lo], n * sizeof(float)) == 0);
    g_lowest_tried_last += lo == 2; /* step() tries the current gamma first, then lower, higher */
    for (int c = 0; c < 3; c++) free(theta[c]);
    ng_kfac_free(kf);
    ng_net_free(net);
    free(X);
}

static void test_gamma_choice_lowest(void)
{
    const double g0[] = {0.3, 0.02, 1.5};
    g_lowest_tried_last = 0;
    for (int i = 0; i < 3; i++) gamma_choice_case(g0[i]);
    /* a winner tried before the last candidate: its inverse was set aside and adopted */
    NG_CHECK(g_lowest_tried_last < 3);
}

/* (alpha, mu) at k = 2 (momentum): the 2x2 quadratic model
 *   [h11 h12; h12 h22] [alpha; mu] = -[g.Delta; g.delta0],
 *   h11 = Delta^T C Delta, h12 = Delta^T C delta0, h22 = delta0^T C delta0, C = F + (lambda + eta) I,
 * with the exact Fisher F built densely (in double, from R-op columns) on the first
 * ceil(tau2 m) cases at the point of step 2, and M = 1/2 (alpha g.Delta + mu g.delta0). */
static void test_alpha_mu_dense_k2(void)
{
    size_t m = 24;
    float *X1 = ae_data(m, 8, 94), *X2 = ae_data(m, 8, 95);
    ng_net *net = rule_net("8-5-8", m);
    NG_CHECK(net != NULL);
    if (!net) return;
    size_t n = ng_net_num_params(net);
    ng_kfac_params p = ng_kfac_default_params();
    p.lambda0 = 0.5; /* small, so the Fisher terms matter */
    p.eta = 1e-3;
    p.tau2 = 0.5;
    p.adapt_lambda = 0;
    size_t mq = (size_t)ceil(p.tau2 * (double)m);
    ng_kfac *kf = NULL;
    NG_CHECK(ng_kfac_new(net, &p, &kf) == NG_OK);
    ng_rng r;
    ng_rng_seed(&r, 96);
    ng_kfac_info info;
    NG_CHECK(ng_kfac_step(kf, X1, X1, m, &r, &info) == NG_OK);
    float *th1 = malloc(n * sizeof(float)), *d0 = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float)),
          *D = malloc(n * sizeof(float));
    memcpy(th1, ng_net_params(net), n * sizeof(float));
    memcpy(d0, kf->delta0, n * sizeof(float)); /* the step just taken */
    NG_CHECK(ng_kfac_step(kf, X2, X2, m, &r, &info) == NG_OK);
    NG_CHECK(info.k == 2 && !info.gamma_adapted && info.mu != 0.0);
    /* the point of step 2: gradient of h, the proposal for its gamma (the statistics and the
     * refresh are those step 2 made), the exact Fisher */
    memcpy(ng_net_params(net), th1, n * sizeof(float));
    NG_CHECK(ng_net_forward(net, X2, m) == NG_OK);
    NG_CHECK(ng_net_backward(net, X2, m, g) == NG_OK);
    for (size_t i = 0; i < n; i++) g[i] += (float)(p.eta * th1[i]);
    NG_CHECK(ngi_kfac_debug_propose(kf, info.gamma, g, D, 0) == NG_OK);
    double *F = dense_fisher(net, mq);
    double lam = p.lambda0 + p.eta, DFD = 0, DFd = 0, dFd = 0, DD = 0, Dd = 0, dd = 0, b1 = 0, b2 = 0;
    for (size_t i = 0; i < n; i++) {
        double Fd_D = 0, Fd_d = 0;
        for (size_t j = 0; j < n; j++) {
            Fd_D += F[i * n + j] * D[j];
            Fd_d += F[i * n + j] * d0[j];
        }
        DFD += D[i] * Fd_D;
        DFd += D[i] * Fd_d;
        dFd += d0[i] * Fd_d;
        DD += (double)D[i] * D[i];
        Dd += (double)D[i] * d0[i];
        dd += (double)d0[i] * d0[i];
        b1 += (double)g[i] * D[i];
        b2 += (double)g[i] * d0[i];
    }
    double h11 = DFD + lam * DD, h12 = DFd + lam * Dd, h22 = dFd + lam * dd;
    double det = h11 * h22 - h12 * h12;
    NG_CHECK(det > 1e-6 * h11 * h22); /* Delta and delta0 are not parallel: both count */
    double a = -(h22 * b1 - h12 * b2) / det, mu = -(h11 * b2 - h12 * b1) / det;
    double M = 0.5 * (a * b1 + mu * b2);
    fprintf(stderr, "  k = 2: alpha %.6g (dense %.6g), mu %.6g (dense %.6g), M %.6g (dense %.6g)\n", info.alpha, a,
            info.mu, mu, info.model_change, M);
    NG_CHECK_REL(info.alpha, a, 1e-4, 0);
    NG_CHECK_REL(info.mu, mu, 1e-4, 0);
    NG_CHECK_REL(info.model_change, M, 1e-4, 0);
    free(F); free(th1); free(d0); free(g); free(D); free(X1); free(X2);
    ng_kfac_free(kf);
    ng_net_free(net);
}

/* The statistics' G comes from a backward pass whose targets are sampled from the model's
 * predictive distribution, not the data's: at k = 1 (eps = 0) G equals the mean g g^T of a
 * backward on targets drawn here from the same stream, and differs from the data targets'
 * (all ones, far from the model's outputs); --fisher empirical gives the data targets'. */
static void sampled_targets_case(int empirical)
{
    size_t m = 40;
    float *X = ae_data(m, 5, 97), *Y = malloc(m * 5 * sizeof(float)), *Yh = malloc(m * 5 * sizeof(float));
    for (size_t i = 0; i < m * 5; i++) Y[i] = 1.0f;
    ng_net *net = rule_net("5-4-5", m);
    NG_CHECK(net != NULL);
    if (!net) return;
    size_t n = ng_net_num_params(net);
    float *th0 = malloc(n * sizeof(float));
    memcpy(th0, ng_net_params(net), n * sizeof(float));
    ng_kfac_params p = ng_kfac_default_params();
    p.tau1 = 0.5;
    p.empirical_fisher = empirical;
    size_t ms = 20;
    ng_kfac *kf = NULL;
    NG_CHECK(ng_kfac_new(net, &p, &kf) == NG_OK);
    ng_rng r, r0;
    ng_rng_seed(&r, 98);
    r0 = r;
    ng_kfac_info info;
    NG_CHECK(ng_kfac_step(kf, X, Y, m, &r, &info) == NG_OK);
    NG_CHECK(info.stats_batch == ms);
    /* the references at theta_0: sampled targets from the same stream, and the data's */
    memcpy(ng_net_params(net), th0, n * sizeof(float));
    NG_CHECK(ng_net_forward(net, X, m) == NG_OK);
    NG_CHECK(ng_net_sample_targets(net, ms, &r0, Yh) == NG_OK);
    double err_s = 0, err_t = 0, sc = 0;
    for (int pass = 0; pass < 2; pass++) {
        NG_CHECK(ng_net_backward(net, pass ? Y : Yh, ms, NULL) == NG_OK);
        for (int l = 0; l < 2; l++) {
            size_t d = ng_net_get_spec(net)->sizes[l + 1];
            const float *gl = ng_net_g(net, l);
            const double *G = ngi_kfac_debug_factor(kf, 1, l);
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j < d; j++) {
                    double s = 0;
                    for (size_t c = 0; c < ms; c++) s += (double)gl[c * d + i] * gl[c * d + j];
                    s /= (double)ms;
                    if (pass) err_t = fmax(err_t, fabs(G[i * d + j] - s));
                    else err_s = fmax(err_s, fabs(G[i * d + j] - s));
                    sc = fmax(sc, fabs(s));
                }
        }
    }
    fprintf(stderr, "  %s: G vs sampled targets' %.3g, vs data targets' %.3g (scale %.3g)\n",
            empirical ? "empirical" : "sampled", err_s, err_t, sc);
    double got = empirical ? err_t : err_s, other = empirical ? err_s : err_t;
    NG_CHECK_MSG(got <= 1e-5 * sc, "G off by %g (scale %g)", got, sc);
    NG_CHECK_MSG(other > 0.05 * sc, "the two kinds of targets give the same G");
    free(th0); free(X); free(Y); free(Yh);
    ng_kfac_free(kf);
    ng_net_free(net);
}
static void test_sampled_targets_stats(void) { sampled_targets_case(0); }
static void test_empirical_targets_stats(void) { sampled_targets_case(1); }

/* Polyak averaging against the reference recurrence: nothing before polyak_start, then
 * avg_k = xi_k avg_{k-1} + (1 - xi_k) theta_k with xi_k = min(1 - 1/(k - start + 1), xi)
 * (so avg = theta at k = start, the warm-up, and xi = 0.6 caps it from k = start + 2). */
static void test_polyak_recurrence(void)
{
    size_t m = 32;
    float *X = ae_data(m, 6, 99);
    ng_net *net = rule_net("6-4-6", m);
    NG_CHECK(net != NULL);
    if (!net) return;
    size_t n = ng_net_num_params(net);
    ng_kfac_params p = ng_kfac_default_params();
    p.polyak_start = 3;
    p.polyak_xi = 0.6;
    ng_kfac *kf = NULL;
    NG_CHECK(ng_kfac_new(net, &p, &kf) == NG_OK);
    ng_rng r;
    ng_rng_seed(&r, 100);
    double *ref = calloc(n, sizeof(double));
    for (long k = 1; k <= 8; k++) {
        NG_CHECK(ng_kfac_step(kf, X, X, m, &r, NULL) == NG_OK);
        const float *avg = ng_kfac_polyak(kf), *th = ng_net_params(net);
        if (k < p.polyak_start) {
            NG_CHECK_MSG(avg == NULL, "k = %ld: an average before polyak_start", k);
            continue;
        }
        double xi = fmin(1.0 - 1.0 / (double)(k - p.polyak_start + 1), p.polyak_xi);
        double err = 0, sc = 0, moved = 0;
        for (size_t i = 0; i < n; i++) {
            ref[i] = xi * ref[i] + (1 - xi) * th[i];
            sc = fmax(sc, fabs(ref[i]));
            moved = fmax(moved, fabs(ref[i] - th[i]));
        }
        NG_CHECK(avg != NULL);
        if (!avg) break;
        for (size_t i = 0; i < n; i++) err = fmax(err, fabs(avg[i] - ref[i]));
        NG_CHECK_MSG(err <= 1e-6 * sc, "k = %ld: average off by %g (scale %g)", k, err, sc);
        if (k > p.polyak_start) NG_CHECK(moved > 1e-4 * sc); /* the average lags the iterate */
    }
    free(ref);
    free(X);
    ng_kfac_free(kf);
    ng_net_free(net);
}

/* A gradient that overflows while the objective stays finite (it is summed in double):
 * the gradient finish's check must stop K-FAC, SGD-Nesterov and Adam before anything
 * moves. Linear 4-2-4 net with first-layer weights 1e-6 and second-layer ones 1e35:
 * outputs ~1e29 (finite floats), loss ~1e58 (finite double), but g_1 = W_2^T g_2 ~ 1e64
 * overflows. */
static void test_inf_gradient_detected(void)
{
    for (int t = 0; t < 3; t++) { /* K-FAC, SGD-Nesterov, Adam */
        size_t n = 8;
        float *X = ae_data(n, 4, 33);
        ng_net *net = make_net("4-2-4", "linear", NG_LOSS_GAUSSIAN, n, 33);
        NG_CHECK(net != NULL);
        if (!net) return;
        float *th = ng_net_params(net);
        size_t np = ng_net_num_params(net), n1 = 2 * 5;
        for (size_t i = 0; i < np; i++) th[i] = i < n1 ? 1e-6f : 1e35f;
        float *before = malloc(np * sizeof(float));
        memcpy(before, th, np * sizeof(float));
        ng_status st = NG_OK;
        if (t == 0) {
            ng_kfac_params p = ng_kfac_default_params();
            ng_kfac *kf = NULL;
            NG_CHECK(ng_kfac_new(net, &p, &kf) == NG_OK);
            ng_rng r;
            ng_rng_seed(&r, 1);
            st = ng_kfac_step(kf, X, X, n, &r, NULL);
            ng_kfac_free(kf);
        } else {
            ng_optim_params op = ng_optim_default_params(t == 1 ? NG_OPT_SGD_NESTEROV : NG_OPT_ADAM);
            ng_optim *o = NULL;
            NG_CHECK(ng_optim_new(net, &op, &o) == NG_OK);
            st = ng_optim_step(o, X, X, n, NULL, NULL);
            ng_optim_free(o);
        }
        NG_CHECK_MSG(st == NG_ENUMERIC, "optimizer %d: status %d", t, (int)st);
        NG_CHECK_MSG(strstr(ng_last_error(), "gradient is NaN/Inf") && !strstr(ng_last_error(), "objective inf"),
                     "optimizer %d: %s", t, ng_last_error());
        NG_CHECK(memcmp(before, th, np * sizeof(float)) == 0);
        free(before);
        free(X);
        ng_net_free(net);
    }
}

static void test_nan_detected(void)
{
    size_t n = 32;
    float *X = ae_data(n, 16, 31);
    ng_net *net = make_net("16-4-16", "logistic", NG_LOSS_BERNOULLI, n, 32);
    NG_CHECK(net != NULL);
    if (!net) return;
    ng_kfac_params p = ng_kfac_default_params();
    ng_kfac *kf = NULL;
    NG_CHECK(ng_kfac_new(net, &p, &kf) == NG_OK);
    ng_rng r;
    ng_rng_seed(&r, 1);
    size_t np = ng_net_num_params(net);
    float *before = malloc(np * sizeof(float));
    memcpy(before, ng_net_params(net), np * sizeof(float));
    X[5] = NAN;
    NG_CHECK(ng_kfac_step(kf, X, X, n, &r, NULL) == NG_ENUMERIC);
    NG_CHECK(memcmp(before, ng_net_params(net), np * sizeof(float)) == 0);
    NG_CHECK(strstr(ng_last_error(), "NaN") != NULL);
    X[5] = 0.5f;
    NG_CHECK(ng_kfac_step(kf, X, X, n + 1, &r, NULL) == NG_EINVAL); /* beyond max_batch */
    free(before);
    free(X);
    ng_kfac_free(kf);
    ng_net_free(net);
}

/* State arrays: a copy of the optimiser made from them continues bit-identically. */
static void test_state_resume(void)
{
    size_t n = 64;
    float *X = ae_data(n, 16, 41);
    ng_net *a = make_net("16-6-3-6-16", "logistic,linear,logistic", NG_LOSS_BERNOULLI, n, 42);
    ng_net *b = make_net("16-6-3-6-16", "logistic,linear,logistic", NG_LOSS_BERNOULLI, n, 42);
    NG_CHECK(a && b);
    if (!a || !b) return;
    ng_kfac_params p = ng_kfac_default_params();
    p.curvature = NG_KFAC_TRIDIAG;
    p.polyak_start = 3;
    p.T3 = 4;
    p.T2 = 4;
    ng_kfac *ka = NULL, *kb = NULL;
    NG_CHECK(ng_kfac_new(a, &p, &ka) == NG_OK && ng_kfac_new(b, &p, &kb) == NG_OK);
    ng_rng r;
    ng_rng_seed(&r, 43);
    for (int i = 0; i < 6; i++) NG_CHECK(ng_kfac_step(ka, X, X, n, &r, NULL) == NG_OK);
    size_t cnt = ng_kfac_state(ka, NULL, 0);
    NG_CHECK(cnt > 4);
    ng_ckpt_array *sa = calloc(cnt, sizeof *sa), *sb = calloc(cnt, sizeof *sb);
    NG_CHECK(ng_kfac_state(ka, sa, cnt) == cnt && ng_kfac_state(kb, sb, cnt) == cnt);
    int names_ok = 1;
    for (size_t i = 0; i < cnt; i++) {
        names_ok &= !strcmp(sa[i].name, sb[i].name);
        for (size_t j = 0; j < i; j++) names_ok &= strcmp(sa[i].name, sa[j].name) != 0;
        size_t bytes = ng_tensor_count(&sa[i].t) * ng_dtype_size(sa[i].t.dtype);
        memcpy(sb[i].t.data, sa[i].t.data, bytes);
    }
    NG_CHECK(names_ok);
    ng_kfac_state_loaded(kb);
    NG_CHECK(ng_kfac_iter(kb) == 6);
    size_t np = ng_net_num_params(a);
    memcpy(ng_net_params(b), ng_net_params(a), np * sizeof(float));
    ng_rng r2 = r;
    ng_kfac_info ia, ib;
    for (int i = 0; i < 3; i++) {
        NG_CHECK(ng_kfac_step(ka, X, X, n, &r, &ia) == NG_OK);
        NG_CHECK(ng_kfac_step(kb, X, X, n, &r2, &ib) == NG_OK);
    }
    NG_CHECK(memcmp(ng_net_params(a), ng_net_params(b), np * sizeof(float)) == 0);
    NG_CHECK(ia.lambda == ib.lambda && ia.gamma == ib.gamma && ia.k == 9 && ib.k == 9);
    NG_CHECK(memcmp(ng_kfac_polyak(ka), ng_kfac_polyak(kb), np * sizeof(float)) == 0);
    free(sa); free(sb); free(X);
    ng_kfac_free(ka); ng_kfac_free(kb);
    ng_net_free(a); ng_net_free(b);
}

static double h_at(ng_net *net, const float *X, size_t m, double eta)
{
    ng_net_forward(net, X, m);
    const float *th = ng_net_params(net);
    double s = 0;
    for (size_t i = 0; i < ng_net_num_params(net); i++) s += (double)th[i] * th[i];
    return ng_net_loss(net, X, m) + 0.5 * eta * s;
}

static void test_sgd_nesterov(void)
{
    size_t m = 32;
    float *X = ae_data(m, 16, 51);
    ng_net *net = make_net("16-5-16", "logistic", NG_LOSS_BERNOULLI, m, 52);
    NG_CHECK(net != NULL);
    if (!net) return;
    size_t n = ng_net_num_params(net);
    ng_optim_params p = ng_optim_default_params(NG_OPT_SGD_NESTEROV);
    p.lr = 0.05;
    p.eta = 0.1; /* large, so the weight-decay term shows in the gradient check */
    ng_optim *o = NULL;
    NG_CHECK(ng_optim_new(net, &p, &o) == NG_OK);
    float *th0 = malloc(n * sizeof(float)), *th1 = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float)),
          *v = malloc(n * sizeof(float));
    float *P = ng_net_params(net);
    memcpy(th0, P, n * sizeof(float));
    ng_optim_info info;
    NG_CHECK(ng_optim_step(o, X, X, m, NULL, &info) == NG_OK);
    NG_CHECK_NEAR(info.mu, 0.5, 0);
    memcpy(th1, P, n * sizeof(float));
    /* step 1 (v = 0): theta1 = theta0 - lr grad h(theta0); check grad h by central FD */
    double maxe = 0, sc = 0;
    for (size_t q = 0; q < n; q += 7) {
        double gq = ((double)th0[q] - th1[q]) / p.lr;
        memcpy(P, th0, n * sizeof(float));
        float keep = P[q];
        double e = 1e-2;
        P[q] = keep + (float)e;
        double hp = h_at(net, X, m, p.eta);
        P[q] = keep - (float)e;
        double hm = h_at(net, X, m, p.eta);
        double fd = (hp - hm) / (2 * e);
        maxe = fmax(maxe, fabs(fd - gq));
        sc = fmax(sc, fabs(gq));
    }
    NG_CHECK_MSG(maxe <= 2e-3 * fmax(sc, 1e-3), "gradient of h vs FD off by %g (scale %g)", maxe, sc);
    /* step 2: look-ahead gradient at theta1 + mu v1, v1 = theta1 - theta0 */
    memcpy(P, th1, n * sizeof(float));
    for (size_t i = 0; i < n; i++) v[i] = th1[i] - th0[i];
    for (size_t i = 0; i < n; i++) P[i] = th1[i] + 0.5f * v[i];
    ng_net_forward(net, X, m);
    ng_net_backward(net, X, m, g);
    for (size_t i = 0; i < n; i++) g[i] += (float)p.eta * P[i];
    memcpy(P, th1, n * sizeof(float));
    NG_CHECK(ng_optim_step(o, X, X, m, NULL, &info) == NG_OK);
    double e2 = 0;
    for (size_t i = 0; i < n; i++) {
        float expect = th1[i] + 0.5f * v[i] - (float)p.lr * g[i];
        e2 = fmax(e2, fabs((double)P[i] - expect));
    }
    NG_CHECK_NEAR(e2, 0, 1e-5);
    /* and it trains */
    double h0 = h_at(net, X, m, p.eta);
    for (int i = 0; i < 100; i++) ng_optim_step(o, X, X, m, NULL, NULL);
    double h1 = h_at(net, X, m, p.eta);
    NG_CHECK_MSG(h1 < h0, "sgd: %g -> %g", h0, h1);
    free(th0); free(th1); free(g); free(v); free(X);
    ng_optim_free(o);
    ng_net_free(net);
}

static void test_adam(void)
{
    size_t m = 32;
    float *X = ae_data(m, 16, 61);
    ng_net *net = make_net("16-5-16", "logistic", NG_LOSS_BERNOULLI, m, 62);
    NG_CHECK(net != NULL);
    if (!net) return;
    size_t n = ng_net_num_params(net);
    ng_optim_params p = ng_optim_default_params(NG_OPT_ADAM);
    p.lr = 0.01;
    ng_optim *o = NULL;
    NG_CHECK(ng_optim_new(net, &p, &o) == NG_OK);
    float *th0 = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
    float *P = ng_net_params(net);
    memcpy(th0, P, n * sizeof(float));
    ng_net_forward(net, X, m);
    ng_net_backward(net, X, m, g);
    NG_CHECK(ng_optim_step(o, X, X, m, NULL, NULL) == NG_OK);
    /* first Adam step: theta -= lr * g / (|g| + eps) elementwise */
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        double gi = g[i] + p.eta * th0[i];
        double expect = th0[i] - p.lr * gi / (fabs(gi) + p.eps);
        e = fmax(e, fabs(P[i] - expect));
    }
    NG_CHECK_NEAR(e, 0, 1e-5);
    double h0 = h_at(net, X, m, p.eta);
    for (int i = 0; i < 100; i++) ng_optim_step(o, X, X, m, NULL, NULL);
    NG_CHECK(h_at(net, X, m, p.eta) < h0);
    p.lr = -1;
    ng_optim *bad = NULL;
    NG_CHECK(ng_optim_new(net, &p, &bad) == NG_EINVAL && bad == NULL);
    free(th0); free(g); free(X);
    ng_optim_free(o);
    ng_net_free(net);
}

int main(void)
{
    NG_RUN(test_natural_gradient_linear_gaussian);
    NG_RUN(test_kron_blockdiag);
    NG_RUN(test_kron_blockdiag_zero_trace);
    NG_RUN(test_exact_tikhonov);
    NG_RUN(test_running_average);
    NG_RUN(test_kfac_run_blockdiag);
    NG_RUN(test_kfac_run_tridiag);
    NG_RUN(test_kfac_run_no_momentum);
    NG_RUN(test_gamma_choice_kept);
    NG_RUN(test_alpha_exact_fisher);
    NG_RUN(test_float_kernel_blockdiag);
    NG_RUN(test_float_kernel_tridiag);
    NG_RUN(test_alpha_exact_fisher_tau2);
    NG_RUN(test_gamma_choice_lowest);
    NG_RUN(test_alpha_mu_dense_k2);
    NG_RUN(test_sampled_targets_stats);
    NG_RUN(test_empirical_targets_stats);
    NG_RUN(test_polyak_recurrence);
    NG_RUN(test_nan_detected);
    NG_RUN(test_inf_gradient_detected);
    NG_RUN(test_state_resume);
    NG_RUN(test_sgd_nesterov);
    NG_RUN(test_adam);
    return ng_test_summary();
}
