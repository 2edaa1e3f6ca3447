/* test_kfac_damping.c - K-FAC's scalar rules: eps_k, LM lambda on scripted rho sequences,
 * gamma candidates and choice on scripted model values, the (alpha, mu) solve against a
 * brute-force grid minimisation of the quadratic model, batch and momentum schedules. */
#include "kfac_internal.h"
#include "ngtest.h"

static void test_eps(void)
{
    NG_CHECK_NEAR(ngi_kfac_eps(1, 0.95), 0.0, 0);
    NG_CHECK_NEAR(ngi_kfac_eps(2, 0.95), 0.5, 1e-15);
    NG_CHECK_NEAR(ngi_kfac_eps(10, 0.95), 0.9, 1e-15);
    NG_CHECK_NEAR(ngi_kfac_eps(20, 0.95), 0.95, 1e-15);
    NG_CHECK_NEAR(ngi_kfac_eps(21, 0.95), 0.95, 1e-15);
    NG_CHECK_NEAR(ngi_kfac_eps(1000, 0.95), 0.95, 0);
}

static void test_lm_rule(void)
{
    ng_kfac_params p = ng_kfac_default_params();
    double w1 = p.omega1;
    NG_CHECK_NEAR(w1, pow(0.95, 5), 1e-15);
    /* scripted rho sequence with the expected lambda after each */
    const double rho[] = {0.9, 0.8, 0.5, 0.3, 0.1, -2.0, NAN, 0.76, 0.75, 0.25, 0.24};
    double lam = 150, expect = 150;
    for (size_t i = 0; i < sizeof rho / sizeof rho[0]; i++) {
        double r = rho[i];
        if (isnan(r) || r < 0.25) expect /= w1;
        else if (r > 0.75) expect *= w1;
        lam = ngi_kfac_lm_update(lam, r, w1);
        NG_CHECK_REL(lam, expect, 1e-14, 0);
    }
    /* reference trace: 150 -> 116.07 after one good step */
    NG_CHECK_NEAR(ngi_kfac_lm_update(150, 1.0, w1), 116.07, 0.01);
    /* boundaries: exactly 3/4 and 1/4 keep lambda */
    NG_CHECK_NEAR(ngi_kfac_lm_update(2.0, 0.75, w1), 2.0, 0);
    NG_CHECK_NEAR(ngi_kfac_lm_update(2.0, 0.25, w1), 2.0, 0);
}

static void test_gamma_rule(void)
{
    ng_kfac_params p = ng_kfac_default_params();
    double c[3];
    double g0 = sqrt(150 + 1e-5);
    NG_CHECK_NEAR(g0, 12.2474, 1e-4);
    ngi_kfac_gamma_candidates(g0, p.omega2, p.eta, c);
    NG_CHECK_NEAR(c[0], 7.33, 0.005); /* reference trace 12.25 -> 7.33 */
    NG_CHECK_NEAR(c[1], g0, 0);
    NG_CHECK_NEAR(c[2], 1.0, 0); /* min(g/omega2, 1) */
    ngi_kfac_gamma_candidates(0.5, p.omega2, p.eta, c);
    NG_CHECK_NEAR(c[0], 0.5 * pow(0.95, 10), 1e-15);
    NG_CHECK_NEAR(c[2], 0.5 / pow(0.95, 10), 1e-15);
    ngi_kfac_gamma_candidates(1e-3, p.omega2, 1e-5, c);
    NG_CHECK_NEAR(c[0], sqrt(1e-5), 1e-15); /* floor sqrt(eta) */
    /* scripted model values: lowest wins, NaN never wins, first on ties */
    double m1[3] = {-1, -3, -2}, m2[3] = {NAN, -1, -1}, m3[3] = {NAN, NAN, NAN}, m4[3] = {-5, NAN, -4};
    NG_CHECK(ngi_kfac_pick_lowest(m1, 3) == 1);
    NG_CHECK(ngi_kfac_pick_lowest(m2, 3) == 1);
    NG_CHECK(ngi_kfac_pick_lowest(m3, 3) == -1);
    NG_CHECK(ngi_kfac_pick_lowest(m4, 3) == 0);
    /* a scripted sequence of gamma adaptations following the rule */
    double g = g0;
    const int choice[] = {0, 0, 2, 1, 0};
    double trace[6];
    trace[0] = g;
    for (int i = 0; i < 5; i++) {
        ngi_kfac_gamma_candidates(g, p.omega2, p.eta, c);
        double mv[3] = {0, 0, 0};
        mv[choice[i]] = -1;
        g = c[ngi_kfac_pick_lowest(mv, 3)];
        trace[i + 1] = g;
    }
    NG_CHECK_NEAR(trace[1], g0 * p.omega2, 1e-12);
    NG_CHECK_NEAR(trace[2], g0 * p.omega2 * p.omega2, 1e-12);
    NG_CHECK_NEAR(trace[3], 1.0, 0); /* up-candidate capped at 1 */
    NG_CHECK_NEAR(trace[4], 1.0, 0);
    NG_CHECK_NEAR(trace[5], p.omega2, 1e-15);
}

/* brute-force minimum of the 2-D quadratic on a fine grid around the solution */
static double grid_min(double h11, double h12, double h22, double b1, double b2, int use2,
                       double *ba, double *bm)
{
    double best = INFINITY;
    double ca = 0, cm = 0, span = 20;
    for (int round = 0; round < 6; round++) {
        double a0 = ca, m0 = cm;
        for (int i = -50; i <= 50; i++)
            for (int j = use2 ? -50 : 0; j <= (use2 ? 50 : 0); j++) {
                double a = a0 + span * i / 50.0, m = m0 + span * j / 50.0;
                double v = 0.5 * (a * a * h11 + 2 * a * m * h12 + m * m * h22) + a * b1 + m * b2;
                if (v < best) {
                    best = v;
                    ca = a;
                    cm = m;
                }
            }
        span /= 10;
    }
    *ba = ca;
    *bm = cm;
    return best;
}

static void test_alpha_mu(void)
{
    struct { double h11, h12, h22, b1, b2; int use2; } cs[] = {
        {2.0, 0.3, 1.0, -1.0, 0.5, 1},
        {5.0, -1.0, 0.7, 3.0, -0.2, 1},
        {1.0, 0.0, 0.0, -4.4, 0.0, 1},  /* delta0 = 0: 1-D */
        {1.0, 0.5, 3.0, -2.0, 1.0, 0},  /* momentum off */
        {1.0, 1.0, 1.0, -1.0, -1.0, 1}, /* parallel directions: singular, consistent */
        {4.0, 2.0, 1.0, -2.0, -1.0, 1}, /* singular again, scaled */
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        double a, m, ga, gm;
        double M = ngi_kfac_solve_alpha_mu(cs[i].h11, cs[i].h12, cs[i].h22, cs[i].b1, cs[i].b2,
                                          cs[i].use2, &a, &m);
        double G = grid_min(cs[i].h11, cs[i].h12, cs[i].h22, cs[i].b1, cs[i].b2, cs[i].use2, &ga, &gm);
        NG_CHECK_MSG(isfinite(M) && fabs(M - G) <= 1e-6 * (1 + fabs(G)), "case %zu: %g vs grid %g", i, M, G);
        NG_CHECK_MSG(M <= G + 1e-9, "case %zu: solver above the grid minimum", i);
        double v = 0.5 * (a * a * cs[i].h11 + 2 * a * m * cs[i].h12 + m * m * cs[i].h22) + a * cs[i].b1 + m * cs[i].b2;
        NG_CHECK_NEAR(v, M, 1e-12 * (1 + fabs(M)));
        if (!cs[i].use2) NG_CHECK(m == 0.0);
        /* at the optimum M = 1/2 b . x */
        NG_CHECK_NEAR(M, 0.5 * (a * cs[i].b1 + m * cs[i].b2), 1e-9 * (1 + fabs(M)));
    }
    /* 1-D closed form alpha* = -b1 / h11 */
    double a, m;
    double M = ngi_kfac_solve_alpha_mu(2.0, 0, 0, -8.8, 0, 0, &a, &m);
    NG_CHECK_NEAR(a, 4.4, 1e-15);
    NG_CHECK_NEAR(M, -0.5 * 8.8 * 4.4, 1e-12);
    /* singular systems give finite answers, never NaN */
    M = ngi_kfac_solve_alpha_mu(1.0, 1.0, 1.0, -1.0, -1.0, 1, &a, &m);
    NG_CHECK(isfinite(a) && isfinite(m) && isfinite(M));
    NG_CHECK_NEAR(a, m, 1e-12); /* minimum-norm solution splits evenly */
    /* no curvature at all: NaN (no step) */
    M = ngi_kfac_solve_alpha_mu(0.0, 0.0, 0.0, -1.0, 0.0, 0, &a, &m);
    NG_CHECK(isnan(M) && a == 0.0);
}

static void test_batch_schedule(void)
{
    ng_kfac_params p = ng_kfac_default_params();
    size_t S = 60000;
    NG_CHECK(ng_kfac_batch_size(&p, 1, S) == 1000);
    NG_CHECK(ng_kfac_batch_size(&p, 499, S) < S);
    NG_CHECK(ng_kfac_batch_size(&p, 500, S) == S);
    NG_CHECK(ng_kfac_batch_size(&p, 700, S) == S);
    size_t prev = 0;
    int mono = 1;
    for (long k = 1; k <= 600; k++) {
        size_t m = ng_kfac_batch_size(&p, k, S);
        if (m < prev) mono = 0;
        prev = m;
    }
    NG_CHECK(mono);
    /* m_k = floor(1000 * 2^((k-1)/div)), div = 499 / log2(60) */
    double div = 499.0 / log2(60.0);
    NG_CHECK(ng_kfac_batch_size(&p, 200, S) == (size_t)floor(1000 * exp2(199 / div)));
    NG_CHECK(ng_kfac_batch_size(&p, 250, 20000) == (size_t)floor(1000 * exp2(249 / (499.0 / log2(20.0)))));
    NG_CHECK(ng_kfac_batch_size(&p, 500, 20000) == 20000);
    NG_CHECK(ng_kfac_batch_size(&p, 1, 500) == 500); /* small set: full batch */
}

static void test_sutskever(void)
{
    NG_CHECK_NEAR(ng_sutskever_mu(0, 0.999), 0.5, 1e-15);
    NG_CHECK_NEAR(ng_sutskever_mu(249, 0.999), 0.5, 1e-15);
    NG_CHECK_NEAR(ng_sutskever_mu(250, 0.999), 0.75, 1e-15);
    NG_CHECK_NEAR(ng_sutskever_mu(750, 0.999), 0.875, 1e-15);
    NG_CHECK_NEAR(ng_sutskever_mu(1750, 0.999), 0.9375, 1e-15);
    NG_CHECK_NEAR(ng_sutskever_mu(500, 0.999), 1 - exp2(-1 - log2(3.0)), 1e-15);
    NG_CHECK_NEAR(ng_sutskever_mu(100000, 0.99), 0.99, 0);
    NG_CHECK_NEAR(ng_sutskever_mu(100000, 0.9), 0.9, 0);
    NG_CHECK_NEAR(ng_sutskever_mu(1000, 0.9), 0.9, 0); /* 1 - 1/10 = 0.9 */
}

static void test_params(void)
{
    ng_kfac_params p = ng_kfac_default_params();
    NG_CHECK(ng_kfac_params_check(&p) == NG_OK);
    NG_CHECK(p.T1 == 5 && p.T2 == 20 && p.T3 == 20 && p.m1 == 1000 && p.full_batch_iter == 500);
    NG_CHECK_NEAR(p.tau1, 0.125, 0);
    NG_CHECK_NEAR(p.lambda0, 150, 0);
    NG_CHECK_NEAR(p.omega2, pow(0.95, 10), 1e-15);
    NG_CHECK_NEAR(p.polyak_xi, 0.99, 0);
    NG_CHECK(p.polyak_start == 200 && p.momentum == 1);
    NG_CHECK(p.curvature == NG_KFAC_BLOCKDIAG); /* the faster per second (docs/kfac.md) */
    ng_kfac_params q = p;
    q.tau1 = 0;
    NG_CHECK(ng_kfac_params_check(&q) == NG_EINVAL);
    q = p;
    q.curvature = NG_KFAC_TRIDIAG;
    q.exact_tikhonov = 1;
    NG_CHECK(ng_kfac_params_check(&q) == NG_EUNSUPPORTED);
    q = p;
    q.omega1 = 1.5;
    NG_CHECK(ng_kfac_params_check(&q) == NG_EINVAL);
    /* T2 a multiple of T3, refused with a message naming both otherwise */
    q = p;
    q.T2 = 30;
    q.T3 = 20;
    NG_CHECK(ng_kfac_params_check(&q) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "T2 = 30 is not a multiple of T3 = 20") != NULL);
    q.T2 = 40;
    NG_CHECK(ng_kfac_params_check(&q) == NG_OK);
    q.T2 = 3;
    q.T3 = 1;
    NG_CHECK(ng_kfac_params_check(&q) == NG_OK);
    ng_optim_params oq = ng_optim_default_params(NG_OPT_KFAC);
    oq.kfac.T2 = 10;
    oq.kfac.T3 = 4;
    NG_CHECK(ng_optim_params_check(&oq) == NG_EINVAL); /* through the optimiser interface too */
    /* the paper's eta per autoencoder (spec §5): FACES 0.5e-5 */
    double eta = -1;
    NG_CHECK(ng_kfac_preset_eta("faces", &eta) == NG_OK && eta == 0.5e-5);
    NG_CHECK(ng_kfac_preset_eta("mnist", &eta) == NG_OK && eta == 1e-5);
    NG_CHECK(ng_kfac_preset_eta("curves", &eta) == NG_OK && eta == 1e-5);
    NG_CHECK(ng_kfac_preset_eta("784-30-784", &eta) == NG_EINVAL && eta == 1e-5);
}

/* Each optimiser's defaults per paper preset, with their source: SGD's tuned values
 * (docs/kfac.md, "Results of natgrad race ae"), the preset's eta for all, the plain defaults otherwise. */
static void test_preset_params(void)
{
    ng_optim_params o;
    const char *src = NULL;
    NG_CHECK(ng_optim_preset_params(NG_OPT_SGD_NESTEROV, "mnist", &o, &src) == NG_OK);
    NG_CHECK(o.batch == 100 && o.lr == 0.01 && o.mu_max == 0.99 && o.average == 1 && o.eta == 1e-5);
    NG_CHECK(src && strstr(src, "tuning on Fashion-MNIST"));
    NG_CHECK(ng_optim_preset_params(NG_OPT_SGD_NESTEROV, "curves", &o, &src) == NG_OK);
    NG_CHECK(o.batch == 200 && o.lr == 0.005 && o.mu_max == 0.99 && o.average == 1);
    NG_CHECK(src && strstr(src, "CURVES-like") && strstr(src, "--arch curves --budget 300,900"));
    NG_CHECK(ng_optim_preset_params(NG_OPT_KFAC, "faces", &o, &src) == NG_OK);
    NG_CHECK(o.eta == 0.5e-5 && o.kfac.eta == 0.5e-5 && o.batch == 1000 && o.kfac.lambda0 == 150);
    NG_CHECK(src && strstr(src, "the paper's constants"));
    NG_CHECK(ng_optim_preset_params(NG_OPT_SGD_NESTEROV, "faces", &o, &src) == NG_OK);
    NG_CHECK(o.eta == 0.5e-5 && src && strstr(src, "not tuned on FACES"));
    NG_CHECK(ng_optim_preset_params(NG_OPT_ADAM, "mnist", &o, &src) == NG_OK);
    NG_CHECK(o.lr == 1e-3 && o.batch == 1000 && o.average == 0 && src && strstr(src, "not tuned here"));
    /* not a preset: the plain defaults, which for SGD are mnist's tuned values */
    NG_CHECK(ng_optim_preset_params(NG_OPT_SGD_NESTEROV, "784-30-784", &o, &src) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "784-30-784") != NULL);
    NG_CHECK(o.batch == 100 && o.lr == 0.01 && o.eta == 1e-5 && src && strstr(src, "not tuned for other"));
    NG_CHECK(ng_optim_preset_params(NG_OPT_KFAC, NULL, &o, NULL) == NG_OK && o.batch == 1000 && o.eta == 1e-5);
    NG_CHECK(ng_optim_preset_params(NG_OPT_KFAC, "mnist", NULL, NULL) == NG_EINVAL);
}

int main(void)
{
    NG_RUN(test_eps);
    NG_RUN(test_preset_params);
    NG_RUN(test_lm_rule);
    NG_RUN(test_gamma_rule);
    NG_RUN(test_alpha_mu);
    NG_RUN(test_batch_schedule);
    NG_RUN(test_sutskever);
    NG_RUN(test_params);
    return ng_test_summary();
}
