/* test_inner_optim.c - the inner optimisers against hand-computed steps: clipped GD with
 * the decaying rate, AdaGrad, Adam; state arrays, reset and bad parameters. */
#include "goldstone_internal.h"
#include "ngtest.h"

static void test_gd_clip_schedule(void)
{
    ng_inner_params p = ng_inner_default_params(NG_INNER_GD);
    p.rho0 = 1.0;
    p.sbar = 100.0;
    p.p = 0.7;
    p.clip = 0.01;
    ng_inner *o = NULL;
    NG_CHECK(ng_inner_new(&p, 3, &o) == NG_OK);
    float x[3] = {1.0f, 2.0f, 3.0f};
    const float g[3] = {0.005f, -0.5f, 0.02f};
    NG_CHECK_NEAR(ng_inner_rate(o), 1.0, 1e-15);
    ng_inner_step(o, x, g);
    NG_CHECK_NEAR(x[0], 0.995, 1e-6);
    NG_CHECK_NEAR(x[1], 2.01, 1e-6);
    NG_CHECK_NEAR(x[2], 2.99, 1e-6);
    double r1 = pow(100.0 / 101.0, 0.7);
    NG_CHECK_NEAR(ng_inner_rate(o), r1, 1e-12);
    ng_inner_step(o, x, g);
    NG_CHECK_NEAR(x[0], 0.995 - r1 * 0.005, 1e-6);
    NG_CHECK_NEAR(x[1], 2.01 + r1 * 0.01, 1e-6);
    NG_CHECK(ng_inner_steps(o) == 2);
    ng_ckpt_array st[3];
    NG_CHECK(ng_inner_state(o, NULL, 0) == 1);
    NG_CHECK(ng_inner_state(o, st, 3) == 1);
    NG_CHECK(!strcmp(st[0].name, "inner_steps") && st[0].t.dtype == NG_I64);
    *(int64_t *)st[0].t.data = 900; /* as a checkpoint load would */
    NG_CHECK(ng_inner_state_loaded(o) == NG_OK);
    NG_CHECK_NEAR(ng_inner_rate(o), pow(0.1, 0.7), 1e-12);
    *(int64_t *)st[0].t.data = -1;
    NG_CHECK(ng_inner_state_loaded(o) == NG_EMISMATCH);
    ng_inner_free(o);
}

static void test_adagrad(void)
{
    ng_inner_params p = ng_inner_default_params(NG_INNER_ADAGRAD);
    p.rho0 = 0.5;
    p.eps = 1e-8;
    ng_inner *o = NULL;
    NG_CHECK(ng_inner_new(&p, 2, &o) == NG_OK);
    float x[2] = {1.0f, -1.0f};
    float g1[2] = {2.0f, -0.5f}, g2[2] = {1.0f, 0.5f};
    ng_inner_step(o, x, g1);
    /* h = g^2: x -= 0.5 * g / |g| */
    NG_CHECK_NEAR(x[0], 0.5, 1e-6);
    NG_CHECK_NEAR(x[1], -0.5, 1e-6);
    ng_inner_step(o, x, g2);
    NG_CHECK_NEAR(x[0], 0.5 - 0.5 * 1.0 / sqrt(5.0), 1e-6);
    NG_CHECK_NEAR(x[1], -0.5 - 0.5 * 0.5 / sqrt(0.5), 1e-6);
    ng_ckpt_array st[3];
    NG_CHECK(ng_inner_state(o, st, 3) == 2);
    ng_ckpt_array a = st[1];
    NG_CHECK(!strcmp(a.name, "adagrad_h") && a.t.dtype == NG_F32 && a.t.shape[0] == 2);
    NG_CHECK_NEAR(((float *)a.t.data)[0], 5.0, 1e-6);
    NG_CHECK(ng_inner_state(o, st, 1) == 2); /* cap 1: only the counter written */
    ng_inner_reset(o);
    NG_CHECK(((float *)a.t.data)[0] == 0.0f && ng_inner_steps(o) == 0);
    ng_inner_free(o);
}

static void test_adam(void)
{
    ng_inner_params p = ng_inner_default_params(NG_INNER_ADAM);
    p.rho0 = 0.1;
    p.beta1 = 0.9;
    p.beta2 = 0.999;
    p.eps = 1e-8;
    ng_inner *o = NULL;
    NG_CHECK(ng_inner_new(&p, 1, &o) == NG_OK);
    float x[1] = {0.0f};
    float g1[1] = {3.0f}, g2[1] = {-1.0f};
    ng_inner_step(o, x, g1);
    NG_CHECK_NEAR(x[0], -0.1, 1e-6); /* first step: mhat = g, vhat = g^2 */
    ng_inner_step(o, x, g2);
    double m = 0.9 * 0.1 * 3.0 + 0.1 * -1.0, v = 0.999 * 0.001 * 9.0 + 0.001 * 1.0;
    double mh = m / (1 - 0.81), vh = v / (1 - 0.999 * 0.999);
    NG_CHECK_NEAR(x[0], -0.1 - 0.1 * mh / (sqrt(vh) + 1e-8), 1e-6);
    ng_ckpt_array st[3];
    NG_CHECK(ng_inner_state(o, st, 3) == 3);
    ng_ckpt_array a = st[2];
    NG_CHECK(!strcmp(a.name, "adam_v"));
    NG_CHECK_REL(((float *)a.t.data)[0], v, 1e-4, 1e-12);
    ng_inner_free(o);
}

static void test_bad_params(void)
{
    ng_inner *o = (ng_inner *)1;
    ng_inner_params p = ng_inner_default_params(NG_INNER_GD);
    p.rho0 = 0.0;
    NG_CHECK(ng_inner_new(&p, 4, &o) == NG_EINVAL);
    NG_CHECK(o == NULL);
    p = ng_inner_default_params(NG_INNER_ADAM);
    p.beta1 = 1.0;
    NG_CHECK(ng_inner_new(&p, 4, &o) == NG_EINVAL);
    p = ng_inner_default_params(NG_INNER_ADAGRAD);
    p.eps = 0.0;
    NG_CHECK(ng_inner_new(&p, 4, &o) == NG_EINVAL);
    p.kind = (ng_inner_kind)7;
    NG_CHECK(ng_inner_new(&p, 4, &o) == NG_EINVAL);
    NG_CHECK(!strcmp(ng_inner_kind_name(NG_INNER_ADAGRAD), "adagrad"));
}

/* a vector long enough for the OpenMP branch: every entry follows the scalar rule */
static void test_large_vector(void)
{
    size_t n = 200000;
    float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g);
    for (int kind = 0; kind < 3; kind++) {
        ng_inner_params p = ng_inner_default_params((ng_inner_kind)kind);
        p.rho0 = 0.5;
        p.clip = 0.3;
        ng_inner *o = NULL;
        NG_CHECK(ng_inner_new(&p, n, &o) == NG_OK);
        for (size_t k = 0; k < n; k++) {
            x[k] = (float)(k % 7);
            g[k] = (float)((double)(k % 13) - 6.0) * 0.1f;
        }
        ng_inner_step(o, x, g);
        double err = 0.0;
        for (size_t k = 0; k < n; k++) {
            double gk = fmin(fmax((double)g[k], -0.3), 0.3);
            /* first step: GD moves by rate*g; AdaGrad and Adam by rate*sign(g) */
            double step = kind == 0 ? 0.5 * gk : (gk == 0 ? 0.0 : 0.5 * gk / (fabs(gk) + 1e-8));
            err = fmax(err, fabs(x[k] - ((double)(k % 7) - step)));
        }
        NG_CHECK_MSG(err < 1e-5, "kind %d err %g", kind, err);
        ng_inner_free(o);
    }
    free(x);
    free(g);
}

int main(void)
{
    NG_RUN(test_large_vector);
    NG_RUN(test_gd_clip_schedule);
    NG_RUN(test_adagrad);
    NG_RUN(test_adam);
    NG_RUN(test_bad_params);
    return ng_test_summary();
}
