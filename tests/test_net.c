/* test_net.c - the feed-forward network engine against a plain double reference:
 * gradients vs central finite differences for every activation x loss pair, the R-op vs
 * finite differences of the outputs, the output Fisher vs an explicit Jacobian, sampled
 * targets, backward on a prefix of the batch, initialisers, presets and spec parsing. */
#include "ngtest.h"
#include "natgrad.h"
#include "net_internal.h"

#include <stdint.h>

/* ------------------------------------------------------------------ double reference */
static double ref_act(ng_act a, double s)
{
    switch (a) {
    case NG_ACT_LOGISTIC: return 1.0 / (1.0 + exp(-s));
    case NG_ACT_TANH: return tanh(s);
    case NG_ACT_RELU: return s > 0 ? s : 0;
    case NG_ACT_SOFTPLUS: return s > 30 ? s : log(1.0 + exp(s));
    case NG_ACT_LINEAR: return s;
    }
    return NAN;
}

/* z (m x d_l) for parameters P (double slab) */
static void ref_forward(const ng_net_spec *sp, const double *P, const float *X, size_t m, double *z)
{
    size_t maxd = 0;
    for (int k = 0; k <= sp->n_layers; k++)
        if (sp->sizes[k] > maxd) maxd = sp->sizes[k];
    double *a = malloc(maxd * sizeof(double)), *s = malloc(maxd * sizeof(double));
    for (size_t c = 0; c < m; c++) {
        for (size_t j = 0; j < sp->sizes[0]; j++) a[j] = X[c * sp->sizes[0] + j];
        const double *W = P;
        for (int k = 0; k < sp->n_layers; k++) {
            size_t din = sp->sizes[k], dout = sp->sizes[k + 1];
            for (size_t i = 0; i < dout; i++) {
                double acc = W[i * (din + 1) + din];
                for (size_t j = 0; j < din; j++) acc += W[i * (din + 1) + j] * a[j];
                s[i] = acc;
            }
            W += dout * (din + 1);
            if (k < sp->n_layers - 1)
                for (size_t i = 0; i < dout; i++) a[i] = ref_act(sp->act[k], s[i]);
        }
        for (size_t i = 0; i < sp->sizes[sp->n_layers]; i++) z[c * sp->sizes[sp->n_layers] + i] = s[i];
    }
    free(a);
    free(s);
}

static void ref_mean(ng_loss l, const double *z, size_t d, double *p)
{
    if (l == NG_LOSS_SOFTMAX) {
        double mx = z[0], s = 0;
        for (size_t j = 1; j < d; j++) mx = fmax(mx, z[j]);
        for (size_t j = 0; j < d; j++) s += exp(z[j] - mx);
        for (size_t j = 0; j < d; j++) p[j] = exp(z[j] - mx) / s;
    } else if (l == NG_LOSS_BERNOULLI) {
        for (size_t j = 0; j < d; j++) p[j] = 1.0 / (1.0 + exp(-z[j]));
    } else {
        for (size_t j = 0; j < d; j++) p[j] = z[j];
    }
}

static double ref_loss_case(ng_loss l, const double *z, const float *y, size_t d)
{
    double acc = 0;
    if (l == NG_LOSS_BERNOULLI) {
        /* -(y log p + (1-y) log(1-p)) written directly */
        for (size_t j = 0; j < d; j++) {
            double p = 1.0 / (1.0 + exp(-z[j]));
            acc -= y[j] * log(p) + (1.0 - y[j]) * log(1.0 - p);
        }
    } else if (l == NG_LOSS_SOFTMAX) {
        double p[64];
        ref_mean(l, z, d, p);
        for (size_t j = 0; j < d; j++) acc -= y[j] * log(p[j]);
    } else {
        for (size_t j = 0; j < d; j++) acc += 0.5 * (y[j] - z[j]) * (y[j] - z[j]);
    }
    return acc;
}

static double ref_loss(const ng_net_spec *sp, const double *P, const float *X, const float *Y, size_t m)
{
    size_t dl = sp->sizes[sp->n_layers];
    double *z = malloc(m * dl * sizeof(double));
    ref_forward(sp, P, X, m, z);
    double acc = 0;
    for (size_t c = 0; c < m; c++) acc += ref_loss_case(sp->loss, z + c * dl, Y + c * dl, dl);
    free(z);
    return acc / (double)m;
}

/* ------------------------------------------------------------------ helpers */
static void fill_uniform(ng_rng *r, float *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * ng_rng_uniform(r));
}

static void make_targets(ng_rng *r, ng_loss l, float *Y, size_t m, size_t d)
{
    for (size_t c = 0; c < m; c++) {
        float *y = Y + c * d;
        if (l == NG_LOSS_BERNOULLI) fill_uniform(r, y, d, 0.0, 1.0);
        else if (l == NG_LOSS_GAUSSIAN) ng_rng_fill_normal(r, y, d, 0.0f, 1.0f);
        else {
            for (size_t j = 0; j < d; j++) y[j] = 0;
            y[ng_rng_below(r, d)] = 1;
        }
    }
}

static double *to_double(const float *x, size_t n)
{
    double *d = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

static ng_net *make_net(const char *sizes, const char *acts, ng_loss loss, size_t max_batch,
                        ng_rng *r, double wscale)
{
    ng_net_spec sp;
    if (ng_net_spec_parse(sizes, acts, loss, &sp) != NG_OK) {
        fprintf(stderr, "spec: %s\n", ng_last_error());
        return NULL;
    }
    ng_net *net = NULL;
    if (ng_net_new(&sp, max_batch, &net) != NG_OK) return NULL;
    ng_rng_fill_normal(r, ng_net_params(net), ng_net_num_params(net), 0.0f, (float)wscale);
    return net;
}

/* ------------------------------------------------------------------ tests */
static const char *const k_acts[] = {"logistic", "tanh", "relu", "softplus", "linear"};
static const ng_loss k_losses[] = {NG_LOSS_BERNOULLI, NG_LOSS_SOFTMAX, NG_LOSS_GAUSSIAN};

static void test_gradient_every_pair(void)
{
    ng_rng r;
    ng_rng_seed(&r, 11);
    for (int ia = 0; ia < 5; ia++)
        for (int il = 0; il < 3; il++) {
            const size_t m = 6;
            ng_net *net = make_net("4-5-4-3", k_acts[ia], k_losses[il], 8, &r, 0.8);
            NG_CHECK(net != NULL);
            if (!net) continue;
            const ng_net_spec *sp = ng_net_get_spec(net);
            size_t P = ng_net_num_params(net);
            float X[6 * 4], Y[6 * 3];
            fill_uniform(&r, X, m * 4, -1.0, 1.0);
            make_targets(&r, k_losses[il], Y, m, 3);
            float *grad = malloc(P * sizeof(float));
            NG_CHECK(ng_net_forward(net, X, m) == NG_OK);
            double *Pd = to_double(ng_net_params(net), P);
            double L = ng_net_loss(net, Y, m), Lref = ref_loss(sp, Pd, X, Y, m);
            NG_CHECK_REL(L, Lref, 1e-5, 1e-6);
            NG_CHECK(ng_net_backward(net, Y, m, grad) == NG_OK);
            double gmax = 0, worst = 0;
            double *fd = malloc(P * sizeof(double));
            for (size_t p = 0; p < P; p++) {
                const double eps = 1e-5;
                double keep = Pd[p];
                Pd[p] = keep + eps;
                double lp = ref_loss(sp, Pd, X, Y, m);
                Pd[p] = keep - eps;
                double lm = ref_loss(sp, Pd, X, Y, m);
                Pd[p] = keep;
                fd[p] = (lp - lm) / (2 * eps);
                gmax = fmax(gmax, fabs(fd[p]));
            }
            for (size_t p = 0; p < P; p++) {
                double e = fabs(grad[p] - fd[p]) / (fabs(fd[p]) + 1e-3 * gmax + 1e-7);
                worst = fmax(worst, e);
            }
            NG_CHECK_MSG(gmax > 1e-3, "%s/%s: gradient is ~0, the test would be vacuous", k_acts[ia],
                         ng_loss_name(k_losses[il]));
            if (getenv("NG_VERBOSE")) fprintf(stderr, "%s/%s worst %.3g\n", k_acts[ia], ng_loss_name(k_losses[il]), worst);
            NG_CHECK_MSG(worst < 2e-4, "%s/%s: worst relative gradient error %.3g", k_acts[ia],
                         ng_loss_name(k_losses[il]), worst);
            free(fd);
            free(Pd);
            free(grad);
            ng_net_free(net);
        }
}

static void test_loss_extreme_logits(void)
{
    /* a single layer with huge weights: logits of +-1000 must give finite losses */
    ng_net_spec sp;
    NG_CHECK(ng_net_spec_parse("2-3", NULL, NG_LOSS_BERNOULLI, &sp) == NG_OK);
    for (int il = 0; il < 3; il++) {
        sp.loss = k_losses[il];
        ng_net *net = NULL;
        NG_CHECK(ng_net_new(&sp, 2, &net) == NG_OK);
        if (!net) continue;
        float *W = ng_net_params(net);
        for (size_t i = 0; i < ng_net_num_params(net); i++) W[i] = (i % 2 ? 1000.0f : -1000.0f);
        float X[4] = {1, 0, 0, 1}, Y[6] = {1, 0, 0, 0, 1, 0};
        NG_CHECK(ng_net_forward(net, X, 2) == NG_OK);
        double L = ng_net_loss(net, Y, 2);
        NG_CHECK_MSG(isfinite(L), "%s loss %g", ng_loss_name(sp.loss), L);
        float g[9];
        NG_CHECK(ng_net_backward(net, Y, 2, g) == NG_OK);
        int fin = 1;
        for (int i = 0; i < 9; i++) fin &= isfinite(g[i]) != 0;
        NG_CHECK(fin);
        if (sp.loss == NG_LOSS_BERNOULLI) {
            /* z = W x: case 0: z = (-1000+1000*0+bias) ... compare with the softplus form */
            const float *z = ng_net_output(net);
            double ref = 0;
            for (int c = 0; c < 2; c++)
                for (int j = 0; j < 3; j++) {
                    double zz = z[c * 3 + j];
                    ref += fmax(zz, 0) + log1p(exp(-fabs(zz))) - Y[c * 3 + j] * zz;
                }
            NG_CHECK_REL(L, ref / 2, 1e-9, 1e-9);
        }
        ng_net_free(net);
    }
}

static void test_rop_vs_finite_differences(void)
{
    ng_rng r;
    ng_rng_seed(&r, 12);
    for (int ia = 0; ia < 5; ia++) {
        const size_t m = 5;
        ng_net *net = make_net("3-6-5-4", k_acts[ia], NG_LOSS_GAUSSIAN, 5, &r, 0.7);
        NG_CHECK(net != NULL);
        if (!net) continue;
        const ng_net_spec *sp = ng_net_get_spec(net);
        size_t P = ng_net_num_params(net);
        float X[5 * 3], JV[5 * 4];
        fill_uniform(&r, X, m * 3, -1, 1);
        float *V = malloc(P * sizeof(float));
        ng_rng_fill_normal(&r, V, P, 0, 1);
        NG_CHECK(ng_net_forward(net, X, m) == NG_OK);
        NG_CHECK(ng_net_rop(net, V, m, JV) == NG_OK);
        double *Pd = to_double(ng_net_params(net), P), *Pp = malloc(P * sizeof(double)),
               *Pm = malloc(P * sizeof(double));
        const double eps = 1e-6;
        for (size_t p = 0; p < P; p++) {
            Pp[p] = Pd[p] + eps * V[p];
            Pm[p] = Pd[p] - eps * V[p];
        }
        double zp[20], zm[20], worst = 0, scale = 0;
        ref_forward(sp, Pp, X, m, zp);
        ref_forward(sp, Pm, X, m, zm);
        for (int i = 0; i < 20; i++) scale = fmax(scale, fabs((zp[i] - zm[i]) / (2 * eps)));
        for (int i = 0; i < 20; i++)
            worst = fmax(worst, fabs(JV[i] - (zp[i] - zm[i]) / (2 * eps)) / (scale + 1e-12));
        NG_CHECK_MSG(scale > 1e-2, "%s: J V ~ 0", k_acts[ia]);
        NG_CHECK_MSG(worst < 1e-4, "%s: R-op error %.3g (scale %.3g)", k_acts[ia], worst, scale);
        free(V);
        free(Pd);
        free(Pp);
        free(Pm);
        ng_net_free(net);
    }
}

/* Jacobian dz/dtheta per case (d_l x P) by central differences of the reference */
static void ref_jacobian(const ng_net_spec *sp, const double *Pd, size_t P, const float *X, size_t m,
                         double *J)
{
    size_t dl = sp->sizes[sp->n_layers];
    double *Pw = malloc(P * sizeof(double)), *zp = malloc(m * dl * sizeof(double)),
           *zm = malloc(m * dl * sizeof(double));
    memcpy(Pw, Pd, P * sizeof(double));
    const double eps = 1e-6;
    for (size_t p = 0; p < P; p++) {
        Pw[p] = Pd[p] + eps;
        ref_forward(sp, Pw, X, m, zp);
        Pw[p] = Pd[p] - eps;
        ref_forward(sp, Pw, X, m, zm);
        Pw[p] = Pd[p];
        for (size_t c = 0; c < m; c++)
            for (size_t j = 0; j < dl; j++)
                J[(c * dl + j) * P + p] = (zp[c * dl + j] - zm[c * dl + j]) / (2 * eps);
    }
    free(Pw);
    free(zp);
    free(zm);
}

static void test_fisher_dot_vs_explicit_jacobian(void)
{
    ng_rng r;
    ng_rng_seed(&r, 13);
    for (int il = 0; il < 3; il++) {
        const size_t m = 4, dl = 3;
        ng_net *net = make_net("3-4-3", "tanh", k_losses[il], 4, &r, 0.9);
        NG_CHECK(net != NULL);
        if (!net) continue;
        const ng_net_spec *sp = ng_net_get_spec(net);
        size_t P = ng_net_num_params(net);
        float X[4 * 3];
        fill_uniform(&r, X, m * 3, -1, 1);
        float *V1 = malloc(P * sizeof(float)), *V2 = malloc(P * sizeof(float));
        ng_rng_fill_normal(&r, V1, P, 0, 1);
        ng_rng_fill_normal(&r, V2, P, 0, 1);
        float J1[12], J2[12];
        NG_CHECK(ng_net_forward(net, X, m) == NG_OK);
        NG_CHECK(ng_net_rop(net, V1, m, J1) == NG_OK);
        NG_CHECK(ng_net_rop(net, V2, m, J2) == NG_OK);
        double got = ng_net_output_fisher_dot(net, m, J1, J2);
        double self = ng_net_output_fisher_dot(net, m, J1, J1);

        double *Pd = to_double(ng_net_params(net), P), *J = malloc(m * dl * P * sizeof(double));
        double z[12];
        ref_forward(sp, Pd, X, m, z);
        ref_jacobian(sp, Pd, P, X, m, J);
        double want = 0;
        for (size_t c = 0; c < m; c++) {
            double a[3] = {0}, b[3] = {0}, p[3], F[9];
            for (size_t j = 0; j < dl; j++)
                for (size_t q = 0; q < P; q++) {
                    a[j] += J[(c * dl + j) * P + q] * V1[q];
                    b[j] += J[(c * dl + j) * P + q] * V2[q];
                }
            ref_mean(sp->loss, z + c * dl, dl, p);
            for (size_t i = 0; i < dl; i++)
                for (size_t j = 0; j < dl; j++) {
                    if (sp->loss == NG_LOSS_BERNOULLI) F[i * 3 + j] = i == j ? p[i] * (1 - p[i]) : 0;
                    else if (sp->loss == NG_LOSS_SOFTMAX) F[i * 3 + j] = (i == j ? p[i] : 0) - p[i] * p[j];
                    else F[i * 3 + j] = i == j;
                }
            for (size_t i = 0; i < dl; i++)
                for (size_t j = 0; j < dl; j++) want += a[i] * F[i * 3 + j] * b[j];
        }
        want /= (double)m;
        NG_CHECK_MSG(fabs(want) > 1e-3, "%s: V1^T F V2 ~ 0", ng_loss_name(sp->loss));
        NG_CHECK_REL(got, want, 1e-4, 1e-4);
        NG_CHECK(self >= 0);
        free(V1);
        free(V2);
        free(Pd);
        free(J);
        ng_net_free(net);
    }
}

static void test_sampled_targets(void)
{
    ng_rng r;
    ng_rng_seed(&r, 14);
    for (int il = 0; il < 3; il++) {
        const size_t m = 3, dl = 4, N = 20000;
        ng_net *net = make_net("3-5-4", "logistic", k_losses[il], 3, &r, 1.0);
        NG_CHECK(net != NULL);
        if (!net) continue;
        float X[9], Yh[12], a[12], b[12];
        fill_uniform(&r, X, 9, -1, 1);
        ng_rng_fill_normal(&r, a, 12, 0, 1);
        ng_rng_fill_normal(&r, b, 12, 0, 1);
        NG_CHECK(ng_net_forward(net, X, m) == NG_OK);
        float mean[12];
        memcpy(mean, ng_net_output_mean(net, m), sizeof mean);
        double fisher = ng_net_output_fisher_dot(net, m, a, b);
        double sum[12] = {0}, sq[12] = {0}, emp = 0;
        int onehot = 1;
        for (size_t s = 0; s < N; s++) {
            NG_CHECK(ng_net_sample_targets(net, m, &r, Yh) == NG_OK);
            for (int i = 0; i < 12; i++) {
                sum[i] += Yh[i];
                sq[i] += (double)(Yh[i] - mean[i]) * (Yh[i] - mean[i]);
            }
            if (k_losses[il] == NG_LOSS_SOFTMAX)
                for (size_t c = 0; c < m; c++) {
                    double t = 0;
                    for (size_t j = 0; j < dl; j++) t += Yh[c * dl + j];
                    onehot &= t == 1.0;
                }
            /* E[(a^T g)(b^T g)] with g = dL/dz at the sampled target is the output Fisher */
            ng_net_backward(net, Yh, m, NULL);
            const float *g = ng_net_g(net, 1);
            for (size_t c = 0; c < m; c++) {
                double ag = 0, bg = 0;
                for (size_t j = 0; j < dl; j++) {
                    ag += a[c * dl + j] * g[c * dl + j];
                    bg += b[c * dl + j] * g[c * dl + j];
                }
                emp += ag * bg;
            }
        }
        double worst = 0;
        for (int i = 0; i < 12; i++) worst = fmax(worst, fabs(sum[i] / N - mean[i]));
        /* the per-entry std is <= 1, so 5 sigma of the mean is 5/sqrt(N) = 0.035 */
        NG_CHECK_MSG(worst < 5.0 / sqrt((double)N), "%s: sample mean off by %.4f",
                     ng_loss_name(k_losses[il]), worst);
        if (k_losses[il] == NG_LOSS_GAUSSIAN)
            for (int i = 0; i < 12; i++) NG_CHECK_NEAR(sq[i] / N, 1.0, 0.05);
        if (k_losses[il] == NG_LOSS_SOFTMAX) NG_CHECK(onehot);
        emp /= (double)(N * m);
        NG_CHECK_MSG(fabs(emp - fisher) < 0.05 * fabs(fisher) + 0.02, "%s: E[ggT] %.4f vs Fisher %.4f",
                     ng_loss_name(k_losses[il]), emp, fisher);
        ng_net_free(net);
    }
}

static void test_backward_prefix(void)
{
    ng_rng r;
    ng_rng_seed(&r, 15);
    const size_t m = 10, mp = 4;
    ng_net *a = make_net("6-8-5-6", "logistic,linear", NG_LOSS_BERNOULLI, m, &r, 0.5);
    ng_net *b = NULL;
    NG_CHECK(a != NULL);
    if (!a) return;
    NG_CHECK(ng_net_new(ng_net_get_spec(a), mp, &b) == NG_OK);
    if (!b) return;
    size_t P = ng_net_num_params(a);
    memcpy(ng_net_params(b), ng_net_params(a), P * sizeof(float));
    float X[60], Y[60];
    fill_uniform(&r, X, 60, 0, 1);
    fill_uniform(&r, Y, 60, 0, 1);
    float *ga = malloc(P * sizeof(float)), *gb = malloc(P * sizeof(float)), *gfull = malloc(P * sizeof(float));
    NG_CHECK(ng_net_forward(a, X, m) == NG_OK);
    NG_CHECK(ng_net_backward(a, Y, m, gfull) == NG_OK);
    NG_CHECK(ng_net_backward(a, Y, mp, ga) == NG_OK);
    NG_CHECK(ng_net_forward(b, X, mp) == NG_OK);
    NG_CHECK(ng_net_backward(b, Y, mp, gb) == NG_OK);
    double worst = 0, diff_full = 0;
    for (size_t p = 0; p < P; p++) {
        worst = fmax(worst, fabs(ga[p] - gb[p]));
        diff_full = fmax(diff_full, fabs(ga[p] - gfull[p]));
    }
    NG_CHECK_MSG(worst < 1e-6, "prefix gradient differs by %.3g", worst);
    NG_CHECK(diff_full > 1e-3); /* a different batch really gives a different gradient */
    for (int k = 0; k < 3; k++) {
        size_t dk = ng_net_get_spec(a)->sizes[k + 1];
        const float *g1 = ng_net_g(a, k), *g2 = ng_net_g(b, k);
        double w = 0;
        for (size_t i = 0; i < mp * dk; i++) w = fmax(w, fabs(g1[i] - g2[i]));
        NG_CHECK_MSG(w < 1e-6, "g_%d differs by %.3g", k, w);
    }
    /* the abar views carry the ones column */
    const float *ab = ng_net_abar(a, 1);
    NG_CHECK(ab[8] == 1.0f && ab[9 + 8] == 1.0f);
    NG_CHECK(ng_net_abar(a, 3) == NULL && ng_net_g(a, -1) == NULL);
    /* a NaN-free error measure on the prefix matches a plain recomputation */
    const float *mu = ng_net_output_mean(b, mp);
    double e = 0;
    for (size_t i = 0; i < mp * 6; i++) e += (mu[i] - Y[i]) * (mu[i] - Y[i]);
    NG_CHECK_REL(ng_net_error(b, Y, mp), e / mp, 1e-5, 1e-6);
    free(ga);
    free(gb);
    free(gfull);
    ng_net_free(a);
    ng_net_free(b);
}

static void test_error_and_evaluate(void)
{
    ng_rng r;
    ng_rng_seed(&r, 16);
    const size_t n = 25;
    for (int il = 0; il < 3; il++) {
        ng_net *net = make_net("5-7-4", "tanh", k_losses[il], 7, &r, 1.0);
        NG_CHECK(net != NULL);
        if (!net) continue;
        const ng_net_spec *sp = ng_net_get_spec(net);
        float X[25 * 5], Y[25 * 4];
        fill_uniform(&r, X, n * 5, -1, 1);
        make_targets(&r, k_losses[il], Y, n, 4);
        double loss = -1, err = -1;
        NG_CHECK(ng_net_evaluate(net, X, Y, n, &loss, &err) == NG_OK);
        double *Pd = to_double(ng_net_params(net), ng_net_num_params(net)), z[100];
        ref_forward(sp, Pd, X, n, z);
        double lref = 0, eref = 0;
        for (size_t c = 0; c < n; c++) {
            lref += ref_loss_case(sp->loss, z + c * 4, Y + c * 4, 4);
            if (sp->loss == NG_LOSS_SOFTMAX) {
                size_t az = 0, ay = 0;
                for (size_t j = 1; j < 4; j++) {
                    if (z[c * 4 + j] > z[c * 4 + az]) az = j;
                    if (Y[c * 4 + j] > Y[c * 4 + ay]) ay = j;
                }
                eref += az != ay;
            } else {
                double p[4];
                ref_mean(sp->loss, z + c * 4, 4, p);
                for (size_t j = 0; j < 4; j++) eref += (p[j] - Y[c * 4 + j]) * (p[j] - Y[c * 4 + j]);
            }
        }
        NG_CHECK_REL(loss, lref / n, 1e-5, 1e-6);
        NG_CHECK_REL(err, eref / n, 1e-5, 1e-6);
        if (sp->loss == NG_LOSS_SOFTMAX) {
            const float *p = ng_net_output_mean(net, ng_net_cases(net));
            double s = 0;
            for (int j = 0; j < 4; j++) s += p[j];
            NG_CHECK_NEAR(s, 1.0, 1e-6);
            NG_CHECK(ng_net_cases(net) == 25 - 21); /* last chunk of 7: 7+7+7+4 */
        }
        free(Pd);
        ng_net_free(net);
    }
}

static void test_sparse_init(void)
{
    ng_net_spec sp;
    NG_CHECK(ng_net_spec_preset("curves", &sp) == NG_OK);
    ng_net *net = NULL;
    NG_CHECK(ng_net_new(&sp, 1, &net) == NG_OK);
    if (!net) return;
    ng_rng r;
    ng_rng_seed(&r, 17);
    float *W = ng_net_params(net);
    for (size_t i = 0; i < ng_net_num_params(net); i++) W[i] = 7.0f; /* init must overwrite */
    ng_net_init_sparse(net, &r, 15);
    int bad_rows = 0, bad_bias = 0;
    size_t units = 0, nnz_total = 0, min_nnz = 1000;
    for (int k = 0; k < sp.n_layers; k++) {
        size_t din = sp.sizes[k], dout = sp.sizes[k + 1];
        const float *Wk = W + ng_net_layer_offset(net, k);
        for (size_t i = 0; i < dout; i++) {
            size_t nnz = 0;
            for (size_t j = 0; j < din; j++) nnz += Wk[i * (din + 1) + j] != 0.0f;
            if (nnz > 15 || nnz > din || nnz == 0) bad_rows++;
            if (Wk[i * (din + 1) + din] != 0.0f) bad_bias++;
            if (din >= 100 && nnz < min_nnz) min_nnz = nnz;
            units++;
            nnz_total += nnz;
        }
    }
    NG_CHECK(bad_rows == 0);
    NG_CHECK(bad_bias == 0);
    NG_CHECK(min_nnz >= 12); /* 15 draws from >= 100 sources rarely collide */
    NG_CHECK(nnz_total > 13 * units);
    NG_CHECK(ng_net_layer_offset(net, sp.n_layers) == ng_net_num_params(net));
    /* Glorot: bounded, zero biases, variance r^2 / 3 */
    ng_net_init_glorot(net, &r);
    const float *W0 = W + ng_net_layer_offset(net, 0);
    double rr = sqrt(6.0 / (784 + 400)), s2 = 0;
    int inb = 1;
    for (size_t i = 0; i < 400; i++) {
        for (size_t j = 0; j < 784; j++) {
            double v = W0[i * 785 + j];
            inb &= fabs(v) <= rr;
            s2 += v * v;
        }
        inb &= W0[i * 785 + 784] == 0.0f;
    }
    NG_CHECK(inb);
    NG_CHECK_REL(s2 / (400.0 * 784.0), rr * rr / 3.0, 0.02, 0);
    ng_net_free(net);
}

static void test_presets(void)
{
    static const struct { const char *name; size_t params; int code; ng_loss loss; } want[] = {
        {"mnist", 2837314, 3, NG_LOSS_BERNOULLI},
        {"curves", 842340, 5, NG_LOSS_BERNOULLI},
        {"faces", 7537655, 3, NG_LOSS_GAUSSIAN},
    };
    for (int i = 0; i < 3; i++) {
        ng_net_spec sp;
        NG_CHECK(ng_net_spec_preset(want[i].name, &sp) == NG_OK);
        ng_net *net = NULL;
        NG_CHECK(ng_net_new(&sp, 2, &net) == NG_OK);
        if (!net) continue;
        NG_CHECK_MSG(ng_net_num_params(net) == want[i].params, "%s: %zu params", want[i].name,
                     ng_net_num_params(net));
        NG_CHECK(sp.loss == want[i].loss);
        int ok = 1;
        for (int k = 0; k < sp.n_layers - 1; k++)
            ok &= sp.act[k] == (k == want[i].code ? NG_ACT_LINEAR : NG_ACT_LOGISTIC);
        NG_CHECK_MSG(ok, "%s: logistic hidden with a linear code layer", want[i].name);
        NG_CHECK(sp.sizes[0] == sp.sizes[sp.n_layers]);
        ng_net_free(net);
    }
    ng_net_spec sp;
    NG_CHECK(ng_net_spec_preset("cifar", &sp) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "cifar") != NULL);
}

static void test_spec_parse(void)
{
    ng_net_spec sp;
    NG_CHECK(ng_net_spec_parse("784-1000-500-30", "tanh", NG_LOSS_GAUSSIAN, &sp) == NG_OK);
    NG_CHECK(sp.n_layers == 3 && sp.sizes[3] == 30 && sp.act[0] == NG_ACT_TANH && sp.act[1] == NG_ACT_TANH);
    NG_CHECK(ng_net_spec_parse("784-1000-500-30", "relu,linear", NG_LOSS_SOFTMAX, &sp) == NG_OK);
    NG_CHECK(sp.act[0] == NG_ACT_RELU && sp.act[1] == NG_ACT_LINEAR && sp.loss == NG_LOSS_SOFTMAX);
    NG_CHECK(ng_net_spec_parse("10-3", NULL, NG_LOSS_SOFTMAX, &sp) == NG_OK && sp.n_layers == 1);
    static const struct { const char *sizes, *acts, *token; } bad[] = {
        {"784-abc-30", NULL, "'abc'"},    {"784--30", NULL, "''"},
        {"784-0-30", NULL, "'0'"},        {"784", NULL, "784"},
        {"784-30-", NULL, "''"},          {"784-1x-30", NULL, "'1x'"},
        {"5-4-3-2", "logistic,bogus", "'bogus'"}, {"5-4-3-2", "tanh,relu,linear", "3 names"},
        {"5-4-3", "Tanh", "'Tanh'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ng_status st = ng_net_spec_parse(bad[i].sizes, bad[i].acts, NG_LOSS_BERNOULLI, &sp);
        NG_CHECK_MSG(st == NG_EINVAL, "'%s' accepted", bad[i].sizes);
        NG_CHECK_MSG(strstr(ng_last_error(), bad[i].token) != NULL, "message '%s' lacks %s",
                     ng_last_error(), bad[i].token);
    }
}

static void test_bad_calls(void)
{
    ng_rng r;
    ng_rng_seed(&r, 18);
    ng_net *net = make_net("3-4-2", NULL, NG_LOSS_BERNOULLI, 4, &r, 1.0);
    NG_CHECK(net != NULL);
    if (!net) return;
    float X[15] = {0}, Y[10] = {0}, g[32];
    NG_CHECK(ng_net_backward(net, Y, 1, g) == NG_EINVAL); /* no forward yet */
    NG_CHECK(ng_net_forward(net, X, 5) == NG_EINVAL);     /* > max_batch */
    NG_CHECK(strstr(ng_last_error(), "max_batch") != NULL);
    NG_CHECK(ng_net_forward(net, X, 0) == NG_EINVAL);
    NG_CHECK(ng_net_forward(net, X, 2) == NG_OK);
    NG_CHECK(ng_net_backward(net, Y, 3, g) == NG_EINVAL); /* more than the forward had */
    NG_CHECK(ng_net_backward(net, NULL, 2, g) == NG_EINVAL);
    NG_CHECK(isnan(ng_net_loss(net, Y, 3)));
    NG_CHECK(ng_net_output_mean(net, 3) == NULL);
    NG_CHECK(ng_net_rop(net, g, 3, Y) == NG_EINVAL);
    ng_net_spec sp = *ng_net_get_spec(net);
    ng_net *bad = NULL;
    sp.sizes[1] = 0;
    NG_CHECK(ng_net_new(&sp, 4, &bad) == NG_EINVAL && bad == NULL);
    NG_CHECK(ng_net_workspace_bytes(net) > ng_net_num_params(net) * sizeof(float));
    ng_net_free(net);
    ng_net_free(NULL);
}

static void test_fast_exp(void)
{
    /* the vectorised exp of the logistic layers against libm's double exp */
    double worst = 0;
    for (float x = -87.0f; x <= 87.0f; x += 0.0007f) {
        double e = exp((double)x);
        worst = fmax(worst, fabs(ngi_expf_vec(x) - e) / e);
    }
    NG_CHECK_MSG(worst < 3e-7, "relative error %.3g", worst);
    NG_CHECK(ngi_expf_vec(0.0f) == 1.0f);
    NG_CHECK(isnan(ngi_expf_vec(NAN)));
    NG_CHECK(ngi_expf_vec(-1000.0f) > 0.0f && ngi_expf_vec(-1000.0f) < 2e-38f);
    NG_CHECK(isfinite(ngi_expf_vec(INFINITY)) && ngi_expf_vec(1000.0f) > 1e37f);
}

static void test_act_kernels(void)
{
    /* the vectorised float activations and their derivatives (taken from the activation
     * value) against libm in double, over the whole useful range */
    const size_t n = 200001;
    float *x = malloc(n * sizeof(float)), *a = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)(-100.0 + 200.0 * (double)i / (double)(n - 1));
    for (int k = 0; k < 5; k++) {
        ng_act act = (ng_act)k;
        memcpy(a, x, n * sizeof(float));
        ngi_act_apply(act, a, 1, n, n);
        for (size_t i = 0; i < n; i++) g[i] = 1.0f;
        ngi_act_mul_deriv(act, a, n, g, n, 1, n);
        double worst_v = 0, worst_d = 0;
        for (size_t i = 0; i < n; i++) {
            double s = x[i], v, dv;
            switch (act) {
            case NG_ACT_LOGISTIC: v = 1 / (1 + exp(-s)); dv = v * (1 - v); break;
            case NG_ACT_TANH: v = tanh(s); dv = 1 - v * v; break;
            case NG_ACT_RELU: v = s > 0 ? s : 0; dv = s > 0; break;
            case NG_ACT_SOFTPLUS: v = s > 0 ? s + log1p(exp(-s)) : log1p(exp(s)); dv = 1 / (1 + exp(-s)); break;
            default: v = s; dv = 1; break;
            }
            if (act == NG_ACT_LOGISTIC && s < -87) continue; /* documented floor 1.6e-38 */
            /* accepted: within 3e-7 absolute (relative above 1), else within 2e-6 (value)
             * or 2e-5 (derivative) relative; worst_* is the largest rejected-scale error */
            double ev = fabs(a[i] - v), ed = fabs(g[i] - dv);
            if (ev > 3e-7 * fmax(fabs(v), 1.0)) worst_v = fmax(worst_v, ev / fabs(v));
            if (ed > 3e-7 * fmax(fabs(dv), 1.0)) worst_d = fmax(worst_d, ed / fabs(dv));
        }
        NG_CHECK_MSG(worst_v < 2e-6, "%s: value error %.3g", ng_act_name(act), worst_v);
        NG_CHECK_MSG(worst_d < 2e-5, "%s: derivative error %.3g", ng_act_name(act), worst_d);
        NG_CHECK(isnan(ngi_act_scalar(act, NAN)) || act == NG_ACT_RELU);
    }
    free(x);
    free(a);
    free(g);
}

int main(void)
{
    NG_RUN(test_act_kernels);
    NG_RUN(test_fast_exp);
    NG_RUN(test_gradient_every_pair);
    NG_RUN(test_loss_extreme_logits);
    NG_RUN(test_rop_vs_finite_differences);
    NG_RUN(test_fisher_dot_vs_explicit_jacobian);
    NG_RUN(test_sampled_targets);
    NG_RUN(test_backward_prefix);
    NG_RUN(test_error_and_evaluate);
    NG_RUN(test_sparse_init);
    NG_RUN(test_presets);
    NG_RUN(test_spec_parse);
    NG_RUN(test_bad_calls);
    return ng_test_summary();
}
