/* test_dwe_model.c - the dynamic word embeddings model against dense double references:
 * likelihood (rank-one negative counts, tiles, minibatch blocks), prior (both forms),
 * the bidiagonal family (sampler covariance, entropy, B^-T solve), the smoothing ELBO,
 * MAP and filtering objectives and their gradients against central finite differences
 * with fixed noise, rotation invariance, the minibatch estimator's unbiasedness, the lazy
 * optimiser, thread-count independence, no allocation in a step, Goldstone-GD on the
 * means. */
#include "dwe_internal.h"
#include "ngtest.h"

#include <lapacke.h>
#include <omp.h>

/* ------------------------------------------------------------------ test corpus */
typedef struct {
    ng_corpus c;
    double *dense; /* T x W x W symmetric n+ */
} tcorpus;

static void corpus_make(tcorpus *tc, size_t T, size_t W, double density, uint64_t seed,
                        const double *times)
{
    ng_rng r;
    ng_rng_seed(&r, seed);
    memset(tc, 0, sizeof *tc);
    ng_corpus *c = &tc->c;
    c->T = T;
    c->W = W;
    c->window = 4;
    c->time = calloc(T, sizeof *c->time);
    c->tokens = calloc(T, sizeof *c->tokens);
    c->slice_ptr = calloc(T + 1, sizeof *c->slice_ptr);
    size_t cap = T * W * (W + 1) / 2 + 1;
    c->i = malloc(cap * sizeof *c->i);
    c->j = malloc(cap * sizeof *c->j);
    c->n = malloc(cap * sizeof *c->n);
    tc->dense = calloc(T * W * W, sizeof *tc->dense);
    size_t q = 0;
    for (size_t t = 0; t < T; t++) {
        c->time[t] = times ? times[t] : (double)t;
        for (size_t i = 0; i < W; i++)
            for (size_t j = i; j < W; j++) {
                if (ng_rng_uniform(&r) >= density) continue;
                float n = (float)(0.5 + 3.0 * ng_rng_uniform(&r));
                c->i[q] = (int32_t)i;
                c->j[q] = (int32_t)j;
                c->n[q] = n;
                q++;
                tc->dense[(t * W + i) * W + j] = tc->dense[(t * W + j) * W + i] = n;
            }
        c->slice_ptr[t + 1] = (int64_t)q;
    }
}

static void corpus_free(tcorpus *tc)
{
    free(tc->c.time);
    free(tc->c.tokens);
    free(tc->c.slice_ptr);
    free(tc->c.i);
    free(tc->c.j);
    free(tc->c.n);
    free(tc->dense);
}

/* ------------------------------------------------------------------ dense references */
static double log_sig(double x) { return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); }
static double sig(double x) { return 1.0 / (1.0 + exp(-x)); }

/* a_i = sum_j n+_ij and s_j from the dense symmetric counts of one slice. */
static void ref_ab(const double *dense, size_t W, double gamma, double nu, double *a, double *s)
{
    double z = 0;
    for (size_t i = 0; i < W; i++) {
        a[i] = 0;
        for (size_t j = 0; j < W; j++) a[i] += dense[i * W + j];
        z += a[i] > 0 ? pow(a[i], gamma) : 0.0;
    }
    for (size_t j = 0; j < W; j++) s[j] = z > 0 && a[j] > 0 ? nu * pow(a[j], gamma) / z : 0.0;
}

/* Pi from its definition: sigma0^-2 I + sum_t c_t (e_t - e_{t+1})(e_t - e_{t+1})^T, and
 * for the conditional form -1/(sigma0^2 + sigma_t^2) at (t, t), t < T-1. */
static void ref_Pi(size_t T, const double *tau, double D, double s0, int conditional, double *Pi)
{
    memset(Pi, 0, T * T * sizeof *Pi);
    for (size_t t = 0; t < T; t++) Pi[t * T + t] = 1.0 / (s0 * s0);
    for (size_t t = 0; t + 1 < T; t++) {
        double sig2 = D * (tau[t + 1] - tau[t]), c = 1.0 / sig2;
        Pi[t * T + t] += c;
        Pi[(t + 1) * T + t + 1] += c;
        Pi[t * T + t + 1] -= c;
        Pi[(t + 1) * T + t] -= c;
        if (conditional) Pi[t * T + t] -= 1.0 / (s0 * s0 + sig2);
    }
}

static double ref_logdet_spd(size_t n, const double *A)
{
    double *L = malloc(n * n * sizeof *L);
    memcpy(L, A, n * n * sizeof *L);
    int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, L, (lapack_int)n);
    double ld = info ? NAN : 0.0;
    for (size_t i = 0; i < n && !info; i++) ld += 2.0 * log(L[i * n + i]);
    free(L);
    return ld;
}

/* Solves op(A) x = b (A n x n general, copied), b overwritten. */
static void ref_solve(size_t n, const double *A, int trans, double *b)
{
    double *M = malloc(n * n * sizeof *M);
    lapack_int *piv = malloc(n * sizeof *piv);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) M[i * n + j] = trans ? A[j * n + i] : A[i * n + j];
    LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, 1, M, (lapack_int)n, piv, b, 1);
    free(M);
    free(piv);
}

/* Dense upper bidiagonal B (T x T) of trajectory k of row n from [t][n][k] arrays:
 * b_t = exp(logb), e_t = b_t tanh(th). */
static void ref_B(size_t T, size_t N, size_t d, const double *logb, const double *th, size_t n,
                  size_t k, double *B)
{
    memset(B, 0, T * T * sizeof *B);
    for (size_t t = 0; t < T; t++) {
        size_t o = (t * N + n) * d + k;
        B[t * T + t] = exp(logb[o]);
        if (t + 1 < T) B[t * T + t + 1] = exp(logb[o]) * tanh(th[o]);
    }
}

typedef struct {
    size_t T, W, N, d;
    const double *dense, *tau;
    double D, s0;
    double *a, *s, *Pi, logdet;
} refm;

static void refm_make(refm *r, const tcorpus *tc, size_t d, double gamma, double nu, double D,
                      double s0, int conditional)
{
    r->T = tc->c.T;
    r->W = tc->c.W;
    r->N = 2 * r->W;
    r->d = d;
    r->dense = tc->dense;
    r->tau = tc->c.time;
    r->D = D;
    r->s0 = s0;
    r->a = malloc(r->T * r->W * sizeof *r->a);
    r->s = malloc(r->T * r->W * sizeof *r->s);
    r->Pi = malloc(r->T * r->T * sizeof *r->Pi);
    for (size_t t = 0; t < r->T; t++)
        ref_ab(tc->dense + t * r->W * r->W, r->W, gamma, nu, r->a + t * r->W, r->s + t * r->W);
    ref_Pi(r->T, tc->c.time, D, s0, conditional, r->Pi);
    r->logdet = ref_logdet_spd(r->T, r->Pi);
}

static void refm_free(refm *r)
{
    free(r->a);
    free(r->s);
    free(r->Pi);
}

/* sum over slices t0..t1-1 and pairs (i in I, j in J) of n+ log sig(x) + n- log sig(-x),
 * X: [t][n][k] over all N rows. */
static double ref_lik(const refm *r, size_t t0, size_t t1, const double *X, size_t xsl,
                      const int *inI, const int *inJ)
{
    const size_t W = r->W, d = r->d;
    double ll = 0;
    for (size_t t = t0; t < t1; t++)
        for (size_t i = 0; i < W; i++)
            for (size_t j = 0; j < W; j++) {
                if (!inI[i] || !inJ[j]) continue;
                const double *u = X + (t - t0) * xsl + i * d, *v = X + (t - t0) * xsl + (W + j) * d;
                double x = 0;
                for (size_t k = 0; k < d; k++) x += u[k] * v[k];
                double np = r->dense[(t * W + i) * W + j], nn = r->a[t * W + i] * r->s[t * W + j];
                ll += np * log_sig(x) + nn * log_sig(-x);
            }
    return ll;
}

/* The smoothing estimate of -ELBO with fixed noise eps ([t][n][k]), drawn rows inI/inJ,
 * scales sw = W/|I|, sc = W/|J|; mode 0 smoothing, 1 MAP (x = mu). */
static double ref_smooth(const refm *r, const double *mu, const double *logb, const double *e,
                         const double *eps, const int *inI, const int *inJ, double sw, double sc,
                         int map)
{
    const size_t T = r->T, N = r->N, d = r->d, W = r->W;
    double *X = malloc(T * N * d * sizeof *X), *B = malloc(T * T * sizeof *B), *xt = malloc(T * sizeof *xt);
    memcpy(X, mu, T * N * d * sizeof *X);
    if (!map)
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < d; k++) {
                ref_B(T, N, d, logb, e, n, k, B);
                for (size_t t = 0; t < T; t++) xt[t] = eps[(t * N + n) * d + k];
                ref_solve(T, B, 0, xt);
                for (size_t t = 0; t < T; t++) X[(t * N + n) * d + k] += xt[t];
            }
    double ll = ref_lik(r, 0, T, X, N * d, inI, inJ), ru = 0, rv = 0;
    for (size_t n = 0; n < N; n++) {
        int drawn = n < W ? inI[n] : inJ[n - W];
        if (!drawn) continue;
        double acc = 0;
        for (size_t k = 0; k < d; k++) {
            double q = 0;
            for (size_t t = 0; t < T; t++)
                for (size_t s = 0; s < T; s++)
                    q += X[(t * N + n) * d + k] * r->Pi[t * T + s] * X[(s * N + n) * d + k];
            acc += -0.5 * q + 0.5 * r->logdet - 0.5 * (double)T * log(2 * M_PI);
            if (!map) {
                acc += 0.5 * (double)T * (1 + log(2 * M_PI));
                for (size_t t = 0; t < T; t++) acc -= logb[(t * N + n) * d + k];
            }
        }
        if (n < W) ru += acc;
        else rv += acc;
    }
    free(X);
    free(B);
    free(xt);
    return -(sw * sc * ll + sw * ru + sc * rv);
}

/* The filtering estimate for slice t: -sw sc loglik_t + sum scale KL; eps [n][k]. */
static double ref_filter(const refm *r, size_t t, const double *mu, const double *logb,
                         const double *eps, const int *inI, const int *inJ, double sw, double sc)
{
    const size_t N = r->N, d = r->d, W = r->W;
    double *X = malloc(N * d * sizeof *X);
    for (size_t q = 0; q < N * d; q++) X[q] = mu[t * N * d + q] + exp(-logb[t * N * d + q]) * eps[q];
    double ll = ref_lik(r, t, t + 1, X, N * d, inI, inJ), ku = 0, kv = 0, s02 = r->s0 * r->s0;
    for (size_t n = 0; n < N; n++) {
        int drawn = n < W ? inI[n] : inJ[n - W];
        if (!drawn) continue;
        for (size_t k = 0; k < d; k++) {
            double m = 0, pi = 1 / s02;
            if (t > 0) {
                double sp = exp(-logb[((t - 1) * N + n) * d + k]);
                double b = sp * sp + r->D * (r->tau[t] - r->tau[t - 1]);
                m = s02 * mu[((t - 1) * N + n) * d + k] / (s02 + b);
                pi = 1 / b + 1 / s02;
            }
            double mv = mu[(t * N + n) * d + k], s = exp(-logb[(t * N + n) * d + k]);
            double kl = 0.5 * pi * ((mv - m) * (mv - m) + s * s) - 0.5 * log(pi) - log(s) - 0.5;
            if (n < W) ku += kl;
            else kv += kl;
        }
    }
    free(X);
    return -sw * sc * ll + sw * ku + sc * kv;
}

static double *to_double(const float *x, size_t n)
{
    double *y = malloc((n ? n : 1) * sizeof *y);
    for (size_t k = 0; k < n; k++) y[k] = x[k];
    return y;
}

/* max |a - b| / max |b| over n entries */
static double rel_maxdiff(const double *a, const double *b, size_t n)
{
    double dm = 0, bm = 0;
    for (size_t k = 0; k < n; k++) {
        dm = fmax(dm, fabs(a[k] - b[k]));
        bm = fmax(bm, fabs(b[k]));
    }
    return bm > 0 ? dm / bm : dm;
}

static ng_dwe_params small_params(ng_dwe_method method, size_t d, size_t bw, size_t bc)
{
    ng_dwe_params p = ng_dwe_default_params();
    p.method = method;
    p.d = d;
    p.D = 0.5; /* weak coupling: sampled deviations of order 1, so log b and e matter */
    p.sigma0 = 1.3;
    p.batch_words = bw;
    p.batch_contexts = bc;
    p.init_sd = 0.5;
    p.nu = 0.8; /* not 1, so that nu is seen */
    return p;
}

static void perturb(float *x, size_t n, ng_rng *r, double sd)
{
    for (size_t k = 0; k < n; k++) x[k] += (float)(sd * ng_rng_normal(r));
}

/* ------------------------------------------------------------------ likelihood */
static const double TIMES6[6] = {0.0, 1.0, 2.5, 3.0, 5.0, 5.5};

/* n+_i., s_j against the dense counts; the negative (rank-one) term alone and the whole
 * block likelihood (tiles, subsets, both triangles of the stored counts) against dense
 * double loops, value and gradient. */
static void test_likelihood_dense(void)
{
    tcorpus tc;
    const size_t T = 2, W = 330, d = 4;
    corpus_make(&tc, T, W, 0.08, 11, NULL);
    ng_dwe_params p = small_params(NG_DWE_MAP, d, 0, 0);
    ng_dwe *m = NULL;
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
    if (!m) return;
    refm r;
    refm_make(&r, &tc, d, p.gamma, p.nu, p.D, p.sigma0, 0);
    NG_CHECK(rel_maxdiff(m->a, r.a, T * W) < 1e-12);
    NG_CHECK(rel_maxdiff(m->s, r.s, T * W) < 1e-12);
    double ssum = 0;
    for (size_t j = 0; j < W; j++) ssum += m->s[W + j];
    NG_CHECK_NEAR(ssum, p.nu, 1e-12);

    ng_rng g;
    ng_rng_seed(&g, 5);
    /* a block with about 290 words (3 tiles) and 210 contexts, both random subsets */
    int32_t wi[330], cj[330];
    size_t nI = 0, nJ = 0;
    for (size_t i = 0; i < W; i++) {
        if (ng_rng_uniform(&g) < 0.87) wi[nI++] = (int32_t)i;
        if (ng_rng_uniform(&g) < 0.65) cj[nJ++] = (int32_t)i;
    }
    NG_CHECK(nI > 2 * NGI_DWE_TILE);
    float *U = malloc(nI * d * sizeof *U), *V = malloc(nJ * d * sizeof *V);
    float *GU = malloc(nI * d * sizeof *GU), *GV = malloc(nJ * d * sizeof *GV);
    float *ws = malloc(ngi_dwe_lik_ws_len(W) * sizeof *ws);
    double *X = calloc(2 * W * d, sizeof *X);
    ng_rng_fill_normal(&g, U, nI * d, 0.0f, 0.8f);
    ng_rng_fill_normal(&g, V, nJ * d, 0.0f, 0.8f);
    for (size_t q = 0; q < nI; q++)
        for (size_t k = 0; k < d; k++) X[(size_t)wi[q] * d + k] = U[q * d + k];
    for (size_t q = 0; q < nJ; q++)
        for (size_t k = 0; k < d; k++) X[(W + (size_t)cj[q]) * d + k] = V[q * d + k];
    int32_t *pw = malloc(W * sizeof *pw), *pc = malloc(W * sizeof *pc);
    for (size_t i = 0; i < W; i++) pw[i] = pc[i] = -1;
    for (size_t q = 0; q < nI; q++) pw[wi[q]] = (int32_t)q;
    for (size_t q = 0; q < nJ; q++) pc[cj[q]] = (int32_t)q;
    ngi_dwe_block b = {wi, cj, nI, nJ, pw, pc};

    for (int neg_only = 1; neg_only >= 0; neg_only--) {
        const size_t t = 1;
        ngi_dwe_slice sl = ngi_dwe_slice_of(m, t);
        int64_t empty[331] = {0};
        if (neg_only) sl.row_ptr = empty; /* no stored counts: the n- term alone */
        const double au = 0.7, av = 1.9;
        double v = ngi_dwe_lik_slice(&sl, &b, d, U, V, GU, GV, au, av, 0, 1, ws);
        /* dense: value and d(-l)/du, d(-l)/dv with the n- matrix formed explicitly */
        double ref = 0, *gu = calloc(nI * d, sizeof *gu), *gv = calloc(nJ * d, sizeof *gv);
        double *gum = malloc(nI * d * sizeof *gum), *gvm = malloc(nJ * d * sizeof *gvm);
        double *nneg = malloc(W * W * sizeof *nneg);
        for (size_t i = 0; i < W; i++)
            for (size_t j = 0; j < W; j++) nneg[i * W + j] = r.a[t * W + i] * r.s[t * W + j];
        for (size_t qi = 0; qi < nI; qi++)
            for (size_t qj = 0; qj < nJ; qj++) {
                size_t i = (size_t)wi[qi], j = (size_t)cj[qj];
                double x = 0;
                for (size_t k = 0; k < d; k++) x += X[i * d + k] * X[(W + j) * d + k];
                double np = neg_only ? 0 : tc.dense[(t * W + i) * W + j], nn = nneg[i * W + j];
                ref += np * log_sig(x) + nn * log_sig(-x);
                double cc = (np + nn) * sig(x) - np;
                for (size_t k = 0; k < d; k++) {
                    gu[qi * d + k] += au * cc * X[(W + j) * d + k];
                    gv[qj * d + k] += av * cc * X[i * d + k];
                }
            }
        NG_CHECK_REL(v, ref, 2e-6, 1.0);
        for (size_t q = 0; q < nI * d; q++) gum[q] = GU[q];
        for (size_t q = 0; q < nJ * d; q++) gvm[q] = GV[q];
        NG_CHECK_MSG(rel_maxdiff(gum, gu, nI * d) < 2e-5, "GU %g", rel_maxdiff(gum, gu, nI * d));
        NG_CHECK_MSG(rel_maxdiff(gvm, gv, nJ * d) < 2e-5, "GV %g", rel_maxdiff(gvm, gv, nJ * d));
        /* accumulate adds to what is there */
        ngi_dwe_lik_slice(&sl, &b, d, U, V, GU, GV, au, av, 1, 0, ws);
        NG_CHECK_NEAR(GU[3], 2 * gum[3], 1e-5 * (1 + fabs(gum[3])));
        NG_CHECK_NEAR(GV[5], 2 * gvm[5], 1e-5 * (1 + fabs(gvm[5])));
        free(gu);
        free(gv);
        free(gum);
        free(gvm);
        free(nneg);
    }
    /* all pairs at given Z: ng_dwe_loglik against the dense sum; count = sum n+ + n- */
    float *Z = malloc(T * 2 * W * d * sizeof *Z);
    ng_rng_fill_normal(&g, Z, T * 2 * W * d, 0.0f, 0.5f);
    double *Zd = to_double(Z, T * 2 * W * d), ll = 0, cnt = 0;
    int all[330];
    for (size_t i = 0; i < W; i++) all[i] = 1;
    NG_CHECK(ng_dwe_loglik(m, Z, NULL, &ll, &cnt) == NG_OK);
    NG_CHECK_REL(ll, ref_lik(&r, 0, T, Zd, 2 * W * d, all, all), 2e-6, 1.0);
    double cref = 0;
    for (size_t t = 0; t < T; t++)
        for (size_t q = 0; q < W * W; q++) cref += tc.dense[t * W * W + q];
    NG_CHECK_REL(cnt, cref * (1 + p.nu), 1e-12, 1.0);
    unsigned char mask[2] = {0, 1};
    double ll1 = 0;
    NG_CHECK(ng_dwe_loglik(m, Z, mask, &ll1, NULL) == NG_OK);
    NG_CHECK_REL(ll1, ref_lik(&r, 1, 2, Zd + 2 * W * d, 2 * W * d, all, all), 2e-6, 1.0);
    free(Z);
    free(Zd);
    free(U);
    free(V);
    free(GU);
    free(GV);
    free(ws);
    free(X);
    free(pw);
    free(pc);
    refm_free(&r);
    ng_dwe_free(m);
    corpus_free(&tc);
}

/* The same rotation of u and v in a slice leaves log p unchanged; rotating u alone does
 * not (so the check can fail). */
static void test_likelihood_rotation_invariance(void)
{
    tcorpus tc;
    const size_t T = 3, W = 40, d = 5, N = 2 * W;
    corpus_make(&tc, T, W, 0.2, 3, NULL);
    ng_dwe_params p = small_params(NG_DWE_MAP, d, 0, 0);
    ng_dwe *m = NULL;
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
    if (!m) return;
    ng_rng g;
    ng_rng_seed(&g, 9);
    float *Z = malloc(T * N * d * sizeof *Z), *Z2 = malloc(T * N * d * sizeof *Z2);
    ng_rng_fill_normal(&g, Z, T * N * d, 0.0f, 0.6f);
    double ll0, ll1, ll2, l0, l1;
    NG_CHECK(ng_dwe_loglik(m, Z, NULL, &ll0, NULL) == NG_OK);
    NG_CHECK(ng_dwe_map_loss(m, Z, NULL, &l0) == NG_OK);
    double G[25], R[25];
    for (size_t t = 0; t < T; t++) {
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b <= a; b++) {
                double x = a == b ? 0 : ng_rng_normal(&g);
                G[a * d + b] = x;
                G[b * d + a] = -x;
            }
        ng_expm_skew(d, G, R);
        for (size_t n = 0; n < N; n++)
            for (size_t a = 0; a < d; a++) {
                double s = 0;
                for (size_t b = 0; b < d; b++) s += R[a * d + b] * Z[(t * N + n) * d + b];
                Z2[(t * N + n) * d + a] = (float)s;
            }
    }
    NG_CHECK(ng_dwe_loglik(m, Z2, NULL, &ll1, NULL) == NG_OK);
    NG_CHECK(ng_dwe_map_loss(m, Z2, NULL, &l1) == NG_OK);
    NG_CHECK_REL(ll1, ll0, 2e-6, 1.0);
    NG_CHECK_REL(l1, l0, 2e-6, 1.0);
    memcpy(Z2 + W * d, Z + W * d, W * d * sizeof *Z); /* slice 0: v not rotated */
    NG_CHECK(ng_dwe_loglik(m, Z2, NULL, &ll2, NULL) == NG_OK);
    NG_CHECK(fabs(ll2 - ll0) > 1e-3 * fabs(ll0));
    free(Z);
    free(Z2);
    ng_dwe_free(m);
    corpus_free(&tc);
}

/* ------------------------------------------------------------------ prior */
static void test_prior_dense(void)
{
    const size_t T = 6, d = 3;
    ng_rng g;
    ng_rng_seed(&g, 21);
    for (int cond = 0; cond < 2; cond++) {
        double diag[6], off[6], local[6], c[6], b0[6], e0[6], ld, Pi[36];
        NG_CHECK(ngi_dwe_prior_build(T, TIMES6, 0.3, 1.7, cond ? NG_DWE_PRIOR_CONDITIONAL : NG_DWE_PRIOR_PRODUCT,
                                     diag, off, local, c) == NG_OK);
        ref_Pi(T, TIMES6, 0.3, 1.7, cond, Pi);
        for (size_t t = 0; t < T; t++) {
            NG_CHECK_NEAR(diag[t], Pi[t * T + t], 1e-12);
            if (t + 1 < T) NG_CHECK_NEAR(off[t], Pi[t * T + t + 1], 1e-12);
            if (t + 1 < T) NG_CHECK_NEAR(c[t], 1.0 / (0.3 * (TIMES6[t + 1] - TIMES6[t])), 1e-12);
        }
        /* chol: B0^T B0 = Pi, log det against LAPACK */
        NG_CHECK(ngi_dwe_prior_chol(T, diag, off, b0, e0, &ld) == NG_OK);
        NG_CHECK_NEAR(ld, ref_logdet_spd(T, Pi), 1e-10);
        for (size_t t = 0; t < T; t++) {
            NG_CHECK_NEAR(b0[t] * b0[t] + (t > 0 ? e0[t - 1] * e0[t - 1] : 0), Pi[t * T + t], 1e-10);
            if (t + 1 < T) NG_CHECK_NEAR(b0[t] * e0[t], Pi[t * T + t + 1], 1e-10);
        }
        /* value and gradient of a row's d trajectories (strided) against x^T Pi x / 2, Pi x */
        const size_t xs = 7;
        float x[6 * 7], gr[6 * 7];
        ng_rng_fill_normal(&g, x, T * xs, 0.0f, 1.0f);
        for (size_t q = 0; q < T * xs; q++) gr[q] = 0.25f;
        double v = ngi_dwe_prior_row(T, d, diag, off, x, xs, gr, xs), vr = 0;
        for (size_t k = 0; k < d; k++)
            for (size_t t = 0; t < T; t++) {
                double px = 0;
                for (size_t s = 0; s < T; s++) px += Pi[t * T + s] * x[s * xs + k];
                vr += 0.5 * x[t * xs + k] * px;
                NG_CHECK_NEAR(gr[t * xs + k], 0.25 + px, 1e-5 * (1 + fabs(px)));
            }
        NG_CHECK_NEAR(v, vr, 1e-10 * (1 + fabs(vr)));
        NG_CHECK(gr[d] == 0.25f); /* entries beyond d untouched */
        NG_CHECK_NEAR(ngi_dwe_prior_lognorm(T, ld), 0.5 * ld - 3.0 * log(2 * M_PI), 1e-12);
    }
    /* the spec's numbers (T = 188, D = 1e-3, yearly slices, sigma0 = 1): marginal prior sd
     * 0.13-0.18 in product form, about 0.92 with normalised conditionals */
    const size_t TT = 188;
    double *tau = malloc(TT * sizeof *tau), *P = malloc(TT * TT * sizeof *P), *Id = calloc(TT * TT, sizeof *Id);
    for (size_t t = 0; t < TT; t++) tau[t] = 1800.0 + (double)t;
    for (int cond = 0; cond < 2; cond++) {
        ref_Pi(TT, tau, 1e-3, 1.0, cond, P);
        double *Pd = malloc(TT * TT * sizeof *Pd), dd[188], oo[188], ll[188], cc[188];
        NG_CHECK(ngi_dwe_prior_build(TT, tau, 1e-3, 1.0, cond ? NG_DWE_PRIOR_CONDITIONAL : NG_DWE_PRIOR_PRODUCT,
                                     dd, oo, ll, cc) == NG_OK);
        for (size_t q = 0; q < TT * TT; q++) Id[q] = (q % (TT + 1)) == 0;
        memcpy(Pd, P, TT * TT * sizeof *Pd);
        NG_CHECK(ng_dchol_solve(TT, Pd, TT, Id) == NG_OK);
        double lo = 1e9, hi = 0;
        for (size_t t = 0; t < TT; t++) {
            lo = fmin(lo, sqrt(Id[t * TT + t]));
            hi = fmax(hi, sqrt(Id[t * TT + t]));
        }
        if (!cond) NG_CHECK_MSG(lo > 0.12 && lo < 0.14 && hi > 0.17 && hi < 0.19, "product sd %g..%g", lo, hi);
        /* the first marginal is exactly N(0, sigma0^2) when each conditional is normalised */
        else NG_CHECK_MSG(fabs(lo - 0.92) < 0.005 && fabs(hi - 1.0) < 1e-9, "conditional sd %g..%g", lo, hi);
        free(Pd);
    }
    free(tau);
    free(P);
    free(Id);
    double dd[2], oo[2], ll[2], cc[2];
    const double bad_tau[2] = {1.0, 1.0};
    NG_CHECK(ngi_dwe_prior_build(2, bad_tau, 1e-3, 1.0, NG_DWE_PRIOR_PRODUCT, dd, oo, ll, cc) == NG_EINVAL);
}

/* ------------------------------------------------------------------ bidiagonal family */
/* log b and theta (e = b tanh theta) */
static void random_bidiag(ng_rng *g, size_t T, size_t d, size_t ps, float *logb, float *e)
{
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < d; k++) {
            logb[t * ps + k] = (float)(0.4 * ng_rng_normal(g));
            e[t * ps + k] = t + 1 < T ? (float)(0.6 * ng_rng_normal(g)) : 0.0f;
        }
}

/* x~ = B^-1 eps solves B x~ = eps, and the sample covariance over many draws approaches
 * (B^T B)^-1 (dense inverse). */
static void test_bidiag_sampler(void)
{
    const size_t T = 5, R = 40000;
    ng_rng g;
    ng_rng_seed(&g, 33);
    float lb1[5], e1[5];
    random_bidiag(&g, T, 1, 1, lb1, e1);
    float *logb = malloc(T * R * sizeof *logb), *e = malloc(T * R * sizeof *e), *x = malloc(T * R * sizeof *x);
    float *eps = malloc(T * R * sizeof *eps);
    double *y = malloc(R * sizeof *y);
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < R; k++) {
            logb[t * R + k] = lb1[t];
            e[t * R + k] = e1[t];
        }
    ng_rng_fill_normal(&g, eps, T * R, 0.0f, 1.0f);
    memcpy(x, eps, T * R * sizeof *x);
    ngi_dwe_bidiag_sample(T, R, logb, e, R, x, R, y);
    double B[25], BtB[25], S[25];
    memset(B, 0, sizeof B);
    for (size_t t = 0; t < T; t++) {
        B[t * T + t] = exp((double)lb1[t]);
        if (t + 1 < T) B[t * T + t + 1] = exp((double)lb1[t]) * tanh((double)e1[t]);
    }
    double res = 0;
    for (size_t k = 0; k < 50; k++)
        for (size_t t = 0; t < T; t++) {
            double bx = B[t * T + t] * x[t * R + k] + (t + 1 < T ? B[t * T + t + 1] * x[(t + 1) * R + k] : 0);
            res = fmax(res, fabs(bx - eps[t * R + k]));
        }
    NG_CHECK_MSG(res < 1e-5, "residual %g", res);
    for (size_t a = 0; a < T; a++)
        for (size_t b = 0; b < T; b++) {
            double s = 0;
            for (size_t t = 0; t < T; t++) s += B[t * T + a] * B[t * T + b];
            BtB[a * T + b] = s;
            S[a * T + b] = a == b;
        }
    NG_CHECK(ng_dchol_solve(T, BtB, T, S) == NG_OK); /* S = (B^T B)^-1 */
    double worst = 0;
    for (size_t a = 0; a < T; a++)
        for (size_t b = 0; b < T; b++) {
            double c = 0;
            for (size_t k = 0; k < R; k++) c += (double)x[a * R + k] * x[b * R + k];
            c /= (double)R;
            double se = sqrt((S[a * T + a] * S[b * T + b] + S[a * T + b] * S[a * T + b]) / (double)R);
            worst = fmax(worst, fabs(c - S[a * T + b]) / se);
        }
    NG_CHECK_MSG(worst < 5.0, "covariance off by %g standard errors", worst);
    free(logb);
    free(e);
    free(x);
    free(eps);
    free(y);
}

/* Entropy against a dense log-determinant of the covariance, and y = B^-T g against a
 * dense solve. */
static void test_bidiag_entropy_solve(void)
{
    const size_t T = 6, d = 3, ps = 4;
    ng_rng g;
    ng_rng_seed(&g, 44);
    float logb[6 * 4], e[6 * 4], gg[6 * 4], yo[6 * 4];
    double y[3];
    random_bidiag(&g, T, d, ps, logb, e);
    ng_rng_fill_normal(&g, gg, T * ps, 0.0f, 1.0f);
    ngi_dwe_bidiag_solve_t(T, d, logb, e, ps, gg, ps, yo, ps, y);
    double sum_h = 0;
    for (size_t k = 0; k < d; k++) {
        double B[36], BtB[36], rhs[6];
        memset(B, 0, sizeof B);
        for (size_t t = 0; t < T; t++) {
            B[t * T + t] = exp((double)logb[t * ps + k]);
            if (t + 1 < T) B[t * T + t + 1] = exp((double)logb[t * ps + k]) * tanh((double)e[t * ps + k]);
        }
        for (size_t a = 0; a < T; a++)
            for (size_t b = 0; b < T; b++) {
                double s = 0;
                for (size_t t = 0; t < T; t++) s += B[t * T + a] * B[t * T + b];
                BtB[a * T + b] = s;
            }
        /* H = 1/2 log det(2 pi e Sigma), Sigma = (B^T B)^-1 */
        sum_h += 0.5 * (double)T * log(2 * M_PI * M_E) - 0.5 * ref_logdet_spd(T, BtB);
        for (size_t t = 0; t < T; t++) rhs[t] = gg[t * ps + k];
        ref_solve(T, B, 1, rhs);
        for (size_t t = 0; t < T; t++) NG_CHECK_NEAR(yo[t * ps + k], rhs[t], 1e-5 * (1 + fabs(rhs[t])));
    }
    double h = -ngi_dwe_bidiag_logdet(T, d, logb, ps) + (double)d * 0.5 * (double)T * (1 + log(2 * M_PI));
    NG_CHECK_NEAR(h, sum_h, 1e-9);
}

/* ------------------------------------------------------------------ objectives vs FD */
/* Central differences of f over the entries sel of a double array. */
typedef struct {
    const refm *r;
    double *mu, *logb, *e;
    const double *eps;
    const int *inI, *inJ;
    double sw, sc;
    int mode; /* 0 smoothing, 1 MAP, 2 filtering */
    size_t t;
} fdctx;

static double fd_eval(const fdctx *c)
{
    if (c->mode == 2) return ref_filter(c->r, c->t, c->mu, c->logb, c->eps, c->inI, c->inJ, c->sw, c->sc);
    return ref_smooth(c->r, c->mu, c->logb, c->e, c->eps, c->inI, c->inJ, c->sw, c->sc, c->mode);
}

static double fd_at(const fdctx *c, double *x)
{
    const double h = 1e-5, x0 = *x;
    *x = x0 + h;
    double fp = fd_eval(c);
    *x = x0 - h;
    double fm = fd_eval(c);
    *x = x0;
    return (fp - fm) / (2 * h);
}

/* The library's compact gradient (rows of the current block, slices [t0, t0+ns)) times
 * the row's scale, against FD of the reference at the model entries. */
static double grad_vs_fd(const ng_dwe *m, const fdctx *c, double *par, const float *gc, size_t t0,
                         size_t ns)
{
    const size_t N = m->N, d = m->d, nr = m->nI + m->nJ;
    size_t cnt = ns * nr * d;
    double *a = malloc(cnt * sizeof *a), *b = malloc(cnt * sizeof *b);
    size_t q = 0;
    for (size_t t = 0; t < ns; t++)
        for (size_t p = 0; p < nr; p++) {
            size_t n = ngi_dwe_row(m, p);
            for (size_t k = 0; k < d; k++, q++) {
                a[q] = gc[(t * nr + p) * d + k] * (p < m->nI ? c->sw : c->sc);
                b[q] = fd_at(c, &par[((t0 + t) * N + n) * d + k]);
            }
        }
    double r = rel_maxdiff(a, b, cnt);
    free(a);
    free(b);
    return r;
}

static void set_masks(const ng_dwe *m, int *inI, int *inJ)
{
    for (size_t i = 0; i < m->W; i++) inI[i] = inJ[i] = 0;
    for (size_t p = 0; p < m->nI; p++) inI[m->wi[p]] = 1;
    for (size_t p = 0; p < m->nJ; p++) inJ[m->cj[p]] = 1;
}

/* Smoothing -ELBO estimate and its gradients (means, log b, e) against central finite
 * differences of the dense double reference with the same fixed noise, for all rows and
 * for a minibatch (where the row gradients are the value's derivative / row scale). */
static void test_smoothing_elbo_fd(void)
{
    tcorpus tc;
    const size_t T = 4, W = 7, d = 3, N = 2 * W;
    corpus_make(&tc, T, W, 0.5, 5, TIMES6);
    for (int mb = 0; mb < 2; mb++) {
        ng_dwe_params p = small_params(NG_DWE_SMOOTHING, d, mb ? 4 : 0, mb ? 3 : 0);
        ng_dwe *m = NULL;
        NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
        if (!m) break;
        ng_rng g;
        ng_rng_seed(&g, 77 + (uint64_t)mb);
        ng_dwe_init(m, &g);
        perturb(m->v.logb, T * N * d, &g, 0.3);
        perturb(m->v.th, (T - 1) * N * d, &g, 0.3);
        refm r;
        refm_make(&r, &tc, d, p.gamma, p.nu, p.D, p.sigma0, 0);
        const uint64_t base = 1234;
        ngi_dwe_draw_block(m, &g);
        int inI[7], inJ[7];
        set_masks(m, inI, inJ);
        double sw = (double)W / (double)m->nI, sc = (double)W / (double)m->nJ, est[3];
        ngi_dwe_estimate(m, base, 1, 1, est);
        double *eps = malloc(T * N * d * sizeof *eps);
        float *ef = malloc(T * d * sizeof *ef);
        for (size_t n = 0; n < N; n++) {
            ngi_dwe_row_noise(base, n, T, d, ef, d);
            for (size_t t = 0; t < T; t++)
                for (size_t k = 0; k < d; k++) eps[(t * N + n) * d + k] = ef[t * d + k];
        }
        fdctx c = {&r, to_double(m->v.mu, T * N * d), to_double(m->v.logb, T * N * d),
                   to_double(m->v.th, (T - 1) * N * d), eps, inI, inJ, sw, sc, 0, 0};
        NG_CHECK_REL(-(est[0] + est[1] + est[2]), fd_eval(&c), 1e-5, 1.0);
        double emu = grad_vs_fd(m, &c, c.mu, m->G, 0, T);
        double elb = grad_vs_fd(m, &c, c.logb, m->XT, 0, T);
        double ee = grad_vs_fd(m, &c, c.e, m->GTH, 0, T - 1);
        NG_CHECK_MSG(emu < 2e-4, "mean gradient off by %g (minibatch %d)", emu, mb);
        NG_CHECK_MSG(elb < 2e-4, "log b gradient off by %g (minibatch %d)", elb, mb);
        NG_CHECK_MSG(ee < 2e-4, "theta gradient off by %g (minibatch %d)", ee, mb);
        free(c.mu);
        free(c.logb);
        free(c.e);
        free(eps);
        free(ef);
        refm_free(&r);
        ng_dwe_free(m);
    }
    corpus_free(&tc);
}

/* MAP: the minibatch objective (x = mu) and its mean gradient against FD of the reference;
 * the full-batch local loss + psi(graph) equals -log p(n, mu), and its gradient too. */
static void test_map_fd(void)
{
    tcorpus tc;
    const size_t T = 4, W = 7, d = 3, N = 2 * W;
    corpus_make(&tc, T, W, 0.5, 6, TIMES6);
    ng_dwe_params p = small_params(NG_DWE_MAP, d, 5, 4);
    p.prior = NG_DWE_PRIOR_CONDITIONAL;
    ng_dwe *m = NULL;
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
    if (!m) return;
    NG_CHECK(m->v.logb == NULL && m->v.th == NULL && m->XT == NULL);
    ng_rng g;
    ng_rng_seed(&g, 8);
    ng_dwe_init(m, &g);
    refm r;
    refm_make(&r, &tc, d, p.gamma, p.nu, p.D, p.sigma0, 1);
    ngi_dwe_draw_block(m, &g);
    int inI[7], inJ[7], all[7] = {1, 1, 1, 1, 1, 1, 1};
    set_masks(m, inI, inJ);
    double sw = (double)W / (double)m->nI, sc = (double)W / (double)m->nJ, est[3];
    ngi_dwe_estimate(m, 0, 1, 1, est);
    NG_CHECK(est[2] == 0.0);
    fdctx c = {&r, to_double(m->v.mu, T * N * d), NULL, NULL, NULL, inI, inJ, sw, sc, 1, 0};
    NG_CHECK_REL(-(est[0] + est[1]), fd_eval(&c), 1e-5, 1.0);
    double emu = grad_vs_fd(m, &c, c.mu, m->G, 0, T);
    NG_CHECK_MSG(emu < 2e-4, "MAP mean gradient off by %g", emu);
    /* full batch through ng_local_loss_fn + psi */
    ng_graph *gr = NULL;
    NG_CHECK(ng_dwe_graph(m, &gr) == NG_OK);
    float *grad = calloc(T * N * d, sizeof *grad);
    double ell = 0, psi = 0;
    NG_CHECK(ng_dwe_map_loss(m, m->v.mu, grad, &ell) == NG_OK);
    NG_CHECK(ng_graph_psi_grad(gr, N, d, m->v.mu, grad, &psi) == NG_OK);
    c.inI = c.inJ = all;
    c.sw = c.sc = 1;
    NG_CHECK_REL(ell + psi, fd_eval(&c), 1e-5, 1.0);
    double *gl = to_double(grad, T * N * d), *gf = malloc(T * N * d * sizeof *gf);
    for (size_t q = 0; q < T * N * d; q++) gf[q] = fd_at(&c, &c.mu[q]);
    NG_CHECK_MSG(rel_maxdiff(gl, gf, T * N * d) < 2e-4, "MAP loss fn gradient off by %g",
                 rel_maxdiff(gl, gf, T * N * d));
    ng_dwe_info info;
    NG_CHECK(ng_dwe_objective(m, 0, &info) == NG_OK); /* blocks of 5 x 4 cover all pairs */
    NG_CHECK_REL(info.loss, fd_eval(&c), 1e-5, 1.0);
    NG_CHECK(info.entropy == 0.0);
    free(grad);
    free(gl);
    free(gf);
    free(c.mu);
    ng_graph_free(gr);
    refm_free(&r);
    ng_dwe_free(m);
    corpus_free(&tc);
}

/* Filtering slice t: the estimate (likelihood of slice t + KL to the prior from q_{t-1})
 * and its gradients for mu_t and log b_t against FD; q_t = prior gives KL = 0. */
static void test_filtering_fd(void)
{
    tcorpus tc;
    const size_t T = 4, W = 7, d = 3, N = 2 * W;
    corpus_make(&tc, T, W, 0.5, 7, TIMES6);
    ng_dwe_params p = small_params(NG_DWE_FILTERING, d, 5, 4);
    ng_dwe *m = NULL;
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
    if (!m) return;
    NG_CHECK(m->v.th == NULL && m->v.logb != NULL);
    ng_rng g;
    ng_rng_seed(&g, 10);
    ng_dwe_init(m, &g);
    refm r;
    refm_make(&r, &tc, d, p.gamma, p.nu, p.D, p.sigma0, 0);
    for (size_t t = 0; t < 3; t++) {
        NG_CHECK(ng_dwe_filter_begin(m, t) == NG_OK);
        /* at the prior the KL part vanishes */
        ngi_dwe_draw_block(m, &g);
        double est[3];
        ngi_dwe_estimate(m, 99, 0, 1, est);
        NG_CHECK_NEAR(est[1], 0.0, 1e-4);
        NG_CHECK(est[2] == 0.0);
        /* move q_t away from the prior, then compare with the reference */
        perturb(m->v.mu + t * N * d, N * d, &g, 0.4);
        perturb(m->v.logb + t * N * d, N * d, &g, 0.3);
        int inI[7], inJ[7];
        set_masks(m, inI, inJ);
        double sw = (double)W / (double)m->nI, sc = (double)W / (double)m->nJ;
        ngi_dwe_estimate(m, 99, 1, 1, est);
        double *eps = calloc(N * d, sizeof *eps);
        float ef[3];
        for (size_t n = 0; n < N; n++) {
            ngi_dwe_row_noise(99, n, 1, d, ef, d);
            for (size_t k = 0; k < d; k++) eps[n * d + k] = ef[k];
        }
        fdctx c = {&r, to_double(m->v.mu, T * N * d), to_double(m->v.logb, T * N * d), NULL, eps, inI, inJ,
                   sw, sc, 2, t};
        NG_CHECK_REL(-(est[0] + est[1]), fd_eval(&c), 1e-5, 1.0);
        double emu = grad_vs_fd(m, &c, c.mu, m->G, t, 1), elb = grad_vs_fd(m, &c, c.logb, m->XT, t, 1);
        NG_CHECK_MSG(emu < 2e-4, "filtering mean gradient off by %g (slice %zu)", emu, t);
        NG_CHECK_MSG(elb < 2e-4, "filtering log b gradient off by %g (slice %zu)", elb, t);
        free(c.mu);
        free(c.logb);
        free(eps);
    }
    ng_dwe_info info;
    NG_CHECK(ng_dwe_step(m, &g, 1, &info) == NG_OK);
    NG_CHECK(info.slice == 2 && info.entropy == 0.0 && isfinite(info.loss));
    NG_CHECK(ng_dwe_filter_begin(m, 4) == NG_EINVAL);
    refm_free(&r);
    ng_dwe_free(m);
    corpus_free(&tc);
}

/* ------------------------------------------------------------------ minibatch estimator */
/* With fixed noise, the average over drawn minibatches of the value estimate equals the
 * full objective (ng_dwe_objective, itself against the reference) and the average row
 * gradient given the row is drawn equals the full-batch gradient. */
static void test_minibatch_unbiased(void)
{
    tcorpus tc;
    const size_t T = 3, W = 12, d = 2, N = 2 * W, R = 3000;
    corpus_make(&tc, T, W, 0.35, 12, TIMES6);
    ng_dwe_params p = small_params(NG_DWE_SMOOTHING, d, 5, 4), pf = p;
    pf.batch_words = pf.batch_contexts = 0;
    ng_dwe *m = NULL, *mf = NULL;
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
    NG_CHECK(ng_dwe_new(&tc.c, &pf, &mf) == NG_OK);
    if (!m || !mf) return;
    ng_rng g;
    ng_rng_seed(&g, 13);
    ng_dwe_init(m, &g);
    perturb(m->v.logb, T * N * d, &g, 0.3);
    perturb(m->v.th, (T - 1) * N * d, &g, 0.3);
    memcpy(mf->v.mu, m->v.mu, T * N * d * sizeof(float));
    memcpy(mf->v.logb, m->v.logb, T * N * d * sizeof(float));
    memcpy(mf->v.th, m->v.th, (T - 1) * N * d * sizeof(float));
    const uint64_t base = 555;
    ng_dwe_info full, fullf;
    NG_CHECK(ng_dwe_objective(m, base, &full) == NG_OK);  /* 3 x 3 blocks */
    NG_CHECK(ng_dwe_objective(mf, base, &fullf) == NG_OK); /* one block */
    NG_CHECK_REL(full.loss, fullf.loss, 1e-6, 1.0);
    NG_CHECK_REL(full.loglik, fullf.loglik, 1e-6, 1.0);
    NG_CHECK_REL(full.logprior + full.entropy, fullf.logprior + fullf.entropy, 1e-6, 1.0);
    /* full gradient rows: word 3 (row 3) and context 5 (row W + 5) */
    ngi_dwe_set_block(mf, mf->iota, W, mf->iota, W);
    double ef[3];
    ngi_dwe_estimate(mf, base, 1, 1, ef);
    NG_CHECK_REL(-(ef[0] + ef[1] + ef[2]), full.loss, 1e-6, 1.0);
    const size_t nf = W + W, xsf = nf * d;
    double gfu = mf->G[1 * xsf + 3 * d + 1], gfv = mf->G[2 * xsf + (W + 5) * d + 0];
    double glu = mf->XT[0 * xsf + 3 * d + 0], gev = mf->GTH[1 * xsf + (W + 5) * d + 1];
    double sum = 0, sum2 = 0;
    double su[3] = {0}, su2[3] = {0}, sv[3] = {0}, sv2[3] = {0};
    size_t nu = 0, nv = 0;
    for (size_t k = 0; k < R; k++) {
        ngi_dwe_draw_block(m, &g);
        double e3[3];
        ngi_dwe_estimate(m, base, 1, 1, e3);
        double est = -(e3[0] + e3[1] + e3[2]);
        sum += est;
        sum2 += est * est;
        const size_t nr = m->nI + m->nJ, xs = nr * d;
        int pu = m->pos_w[3], pv = m->pos_c[5];
        if (pu >= 0) {
            double a[3] = {m->G[1 * xs + (size_t)pu * d + 1], m->XT[0 * xs + (size_t)pu * d + 0], 0};
            for (int q = 0; q < 2; q++) su[q] += a[q], su2[q] += a[q] * a[q];
            nu++;
        }
        if (pv >= 0) {
            size_t pr = m->nI + (size_t)pv;
            double a[3] = {m->G[2 * xs + pr * d + 0], m->GTH[1 * xs + pr * d + 1], 0};
            for (int q = 0; q < 2; q++) sv[q] += a[q], sv2[q] += a[q] * a[q];
            nv++;
        }
    }
    double mean = sum / (double)R, se = sqrt(fmax(sum2 / (double)R - mean * mean, 0) / (double)R);
    NG_CHECK_MSG(fabs(mean - full.loss) < 4 * se + 1e-9, "mean %g vs %g (se %g)", mean, full.loss, se);
    NG_CHECK(se < 0.05 * fabs(full.loss)); /* the check is not vacuous */
    const double fu[2] = {gfu, glu}, fv[2] = {gfv, gev};
    for (int q = 0; q < 2; q++) {
        double mu_ = su[q] / (double)nu, seu = sqrt(fmax(su2[q] / (double)nu - mu_ * mu_, 0) / (double)nu);
        double mv_ = sv[q] / (double)nv, sev = sqrt(fmax(sv2[q] / (double)nv - mv_ * mv_, 0) / (double)nv);
        NG_CHECK_MSG(fabs(mu_ - fu[q]) < 4 * seu + 1e-6, "word row %d: %g vs %g (se %g)", q, mu_, fu[q], seu);
        NG_CHECK_MSG(fabs(mv_ - fv[q]) < 4 * sev + 1e-6, "context row %d: %g vs %g (se %g)", q, mv_, fv[q], sev);
    }
    /* the words and contexts were drawn uniformly: 5/12 and 4/12 of the draws */
    NG_CHECK(fabs((double)nu / (double)R - 5.0 / 12.0) < 0.04);
    NG_CHECK(fabs((double)nv / (double)R - 4.0 / 12.0) < 0.04);
    ng_dwe_free(m);
    ng_dwe_free(mf);
    corpus_free(&tc);
}

/* ------------------------------------------------------------------ optimiser, threads */
/* The lazy optimiser: undrawn rows untouched; a drawn row's first update is ng_inner_step's
 * (bit for bit); a row first drawn at a later step gets Adam's first-step size (per-row
 * bias corrections), not the global step's. */
static void test_lazy_adam(void)
{
    tcorpus tc;
    const size_t T = 3, W = 20, d = 4, N = 2 * W;
    corpus_make(&tc, T, W, 0.3, 14, TIMES6);
    ng_dwe_params p = small_params(NG_DWE_SMOOTHING, d, 6, 5);
    p.opt.clip = 1e9; /* no clipping: the first-step size is exactly the rate */
    ng_dwe *m = NULL;
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
    if (!m) return;
    ng_rng g;
    ng_rng_seed(&g, 15);
    ng_dwe_init(m, &g);
    const size_t nmu = T * N * d;
    float *mu0 = malloc(nmu * sizeof *mu0), *lb0 = malloc(nmu * sizeof *lb0);
    memcpy(mu0, m->v.mu, nmu * sizeof *mu0);
    memcpy(lb0, m->v.logb, nmu * sizeof *lb0);
    ng_dwe_info info;
    NG_CHECK(ng_dwe_step(m, &g, 0, &info) == NG_OK);
    NG_CHECK(info.step == 1 && isnan(info.loss) && info.rate == p.opt.rho0);
    int drawn[40] = {0};
    for (size_t q = 0; q < m->nI + m->nJ; q++) drawn[ngi_dwe_row(m, q)] = 1;
    size_t changed_bad = 0, steps_bad = 0, mism = 0;
    const size_t nr = m->nI + m->nJ, xs = nr * d;
    for (size_t n = 0; n < N; n++) {
        if (m->v.row_steps[n] != drawn[n]) steps_bad++;
        for (size_t t = 0; t < T; t++)
            for (size_t k = 0; k < d; k++) {
                size_t o = (t * N + n) * d + k;
                if (!drawn[n] && (m->v.mu[o] != mu0[o] || m->v.logb[o] != lb0[o] || m->v.opt_mu[0][o] != 0))
                    changed_bad++;
            }
    }
    NG_CHECK(steps_bad == 0 && changed_bad == 0);
    /* drawn rows: the same as ng_inner_step on that row's chunk at step 0 */
    ng_inner *in = NULL;
    NG_CHECK(ng_inner_new(&p.opt, d, &in) == NG_OK);
    for (size_t q = 0; q < nr; q++)
        for (size_t t = 0; t < T; t++) {
            size_t n = ngi_dwe_row(m, q), o = (t * N + n) * d;
            float x[4];
            memcpy(x, mu0 + o, d * sizeof *x);
            ng_inner_reset(in);
            ng_inner_step(in, x, m->G + t * xs + q * d);
            if (memcmp(x, m->v.mu + o, d * sizeof *x)) mism++;
        }
    NG_CHECK(mism == 0);
    ng_inner_free(in);
    /* the next step: rows drawn for the first time move by the rate (|g| >> eps) */
    int before[40];
    for (size_t n = 0; n < N; n++) before[n] = (int)m->v.row_steps[n];
    memcpy(mu0, m->v.mu, nmu * sizeof *mu0);
    NG_CHECK(ng_dwe_step(m, &g, 0, &info) == NG_OK);
    double rate = p.opt.rho0 * pow(p.opt.sbar / (1 + p.opt.sbar), p.opt.p), worst_new = 0, worst_old = 0;
    size_t nnew = 0, nold = 0;
    for (size_t q = 0; q < m->nI + m->nJ; q++) {
        size_t n = ngi_dwe_row(m, q);
        NG_CHECK(m->v.row_steps[n] == before[n] + 1);
        for (size_t k = 0; k < d; k++) {
            double dlt = fabs((double)m->v.mu[n * d + k] - mu0[n * d + k]) / rate;
            if (before[n] == 0) worst_new = fmax(worst_new, fabs(dlt - 1)), nnew++;
            else worst_old = fmax(worst_old, fabs(dlt - 1)), nold++;
        }
    }
    NG_CHECK(nnew > 0 && nold > 0);
    NG_CHECK_MSG(worst_new < 1e-3, "first update of a new row is %g off the rate", worst_new);
    NG_CHECK_MSG(worst_old > 1e-2, "second updates all of size rate (%g)", worst_old);
    free(mu0);
    free(lb0);
    ng_dwe_free(m);
    corpus_free(&tc);
}

/* A step reports the minibatch estimate at the point its gradient was taken: replaying
 * its draw and noise on the parameters before it gives the same value, bit for bit. */
static void test_step_reports_estimate(void)
{
    tcorpus tc;
    const size_t T = 3, W = 20, d = 4, N = 2 * W;
    corpus_make(&tc, T, W, 0.3, 24, TIMES6);
    for (int method = 0; method < 3; method++) {
        ng_dwe_params p = small_params((ng_dwe_method)method, d, 6, 5);
        ng_dwe *m = NULL;
        NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
        if (!m) return;
        ng_rng g;
        ng_rng_seed(&g, 25);
        ng_dwe_init(m, &g);
        const size_t n = T * N * d;
        float *mu0 = malloc(n * sizeof *mu0), *lb0 = malloc(n * sizeof *lb0);
        memcpy(mu0, m->v.mu, n * sizeof *mu0);
        if (m->v.logb) memcpy(lb0, m->v.logb, n * sizeof *lb0);
        ng_rng g2 = g;
        ng_dwe_info info;
        NG_CHECK(ng_dwe_step(m, &g, 1, &info) == NG_OK);
        memcpy(m->v.mu, mu0, n * sizeof *mu0);
        if (m->v.logb) memcpy(m->v.logb, lb0, n * sizeof *lb0);
        if (m->v.th) { /* e moved too: take it back through a second model's view */
            ng_dwe *m0 = NULL;
            NG_CHECK(ng_dwe_new(&tc.c, &p, &m0) == NG_OK);
            ng_rng g0;
            ng_rng_seed(&g0, 25);
            ng_dwe_init(m0, &g0);
            memcpy(m->v.th, m0->v.th, (T - 1) * N * d * sizeof(float));
            ng_dwe_free(m0);
        }
        ngi_dwe_draw_block(m, &g2);
        uint64_t base = p.method == NG_DWE_MAP ? 0 : ng_rng_u64(&g2);
        double est[3];
        ngi_dwe_estimate(m, base, 1, 1, est);
        NG_CHECK(info.loss == -(est[0] + est[1] + est[2]));
        NG_CHECK(info.loglik == est[0] && info.logprior == est[1] && info.entropy == est[2]);
        NG_CHECK(info.step == 1 && info.rate == p.opt.rho0);
        NG_CHECK(!memcmp(&g, &g2, sizeof g)); /* a step takes exactly these draws */
        free(mu0);
        free(lb0);
        ng_dwe_free(m);
    }
    corpus_free(&tc);
}

/* Steps with 1 and with 2 threads (OpenMP and BLAS) give bit-identical parameters,
 * optimiser state and reported values, for every method. */
static void test_threads_bitidentical(void)
{
    tcorpus tc;
    const size_t T = 5, W = 150, d = 24; /* large enough for every region to run parallel */
    corpus_make(&tc, T, W, 0.05, 16, NULL);
    omp_set_num_threads(2);
    for (int method = 0; method < 3; method++) {
        ng_dwe_params p = small_params((ng_dwe_method)method, d, 90, 70);
        float *snap[3] = {NULL, NULL, NULL};
        double vals[3][4];
        size_t total = 0;
        /* (OpenMP, BLAS) threads: (1, 1), (2, 2), (1, 2): OpenBLAS's threaded sgemm rounds
         * otherwise than its one-thread one, so one OpenMP thread must not use it either */
        for (int run = 0; run < 3; run++) {
            omp_set_num_threads(2); /* the model's workspace for 2 threads, then run with 1 or 2 */
            ng_dwe *m = NULL;
            NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
            if (!m) return;
            omp_set_num_threads(run == 1 ? 2 : 1);
            ng_set_blas_threads(run ? 2 : 1);
            ng_rng g;
            ng_rng_seed(&g, 17);
            ng_dwe_init(m, &g);
            ng_dwe_info info = {0};
            for (int s = 0; s < 3; s++) NG_CHECK(ng_dwe_step(m, &g, 1, &info) == NG_OK);
            ng_dwe_info obj;
            NG_CHECK(ng_dwe_objective(m, 3, &obj) == NG_OK);
            vals[run][0] = info.loss;
            vals[run][1] = info.loglik;
            vals[run][2] = obj.loss;
            NG_CHECK(ng_dwe_map_loss(m, m->v.mu, NULL, &vals[run][3]) == NG_OK);
            ng_ckpt_array arr[16];
            size_t na = ng_dwe_state(m, arr, 16);
            total = 0;
            for (size_t a = 0; a < na; a++) total += ng_tensor_count(&arr[a].t) * ng_dtype_size(arr[a].t.dtype);
            snap[run] = malloc(total);
            size_t off = 0;
            for (size_t a = 0; a < na; a++) {
                size_t b = ng_tensor_count(&arr[a].t) * ng_dtype_size(arr[a].t.dtype);
                memcpy((char *)snap[run] + off, arr[a].t.data, b);
                off += b;
            }
            ng_dwe_free(m);
        }
        omp_set_num_threads(2);
        ng_set_blas_threads(1);
        for (int run = 1; run < 3; run++) {
            NG_CHECK_MSG(!memcmp(snap[0], snap[run], total), "method %s, run %d: state differs",
                         ng_dwe_method_name(p.method), run);
            NG_CHECK_MSG(!memcmp(vals[0], vals[run], sizeof vals[0]), "method %s, run %d: values differ",
                         ng_dwe_method_name(p.method), run);
            free(snap[run]);
        }
        free(snap[0]);
    }
    corpus_free(&tc);
}

/* No heap allocation in the per-step functions. */
static void test_no_alloc(void)
{
    tcorpus tc;
    const size_t T = 4, W = 30, d = 3;
    corpus_make(&tc, T, W, 0.2, 18, TIMES6);
    for (int method = 0; method < 3; method++) {
        ng_dwe_params p = small_params((ng_dwe_method)method, d, 10, 8);
        ng_dwe *m = NULL;
        NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
        if (!m) return;
        ng_rng g;
        ng_rng_seed(&g, 19);
        ng_dwe_init(m, &g);
        ng_dwe_info info;
        double ell, ll;
        float *grad = calloc(T * 2 * W * d, sizeof *grad);
        NG_CHECK(ng_dwe_step(m, &g, 1, &info) == NG_OK); /* warm OpenMP's thread pool */
        size_t before = ngi_alloc_count();
        for (int s = 0; s < 3; s++) NG_CHECK(ng_dwe_step(m, &g, s & 1, &info) == NG_OK);
        NG_CHECK(ng_dwe_objective(m, 5, &info) == NG_OK);
        NG_CHECK(ng_dwe_map_loss(m, m->v.mu, grad, &ell) == NG_OK);
        NG_CHECK(ng_dwe_loglik(m, m->v.mu, NULL, &ll, NULL) == NG_OK);
        if (p.method == NG_DWE_FILTERING) NG_CHECK(ng_dwe_filter_begin(m, 1) == NG_OK);
        NG_CHECK_MSG(ngi_alloc_count() == before, "%s: %zu allocations", ng_dwe_method_name(p.method),
                     ngi_alloc_count() - before);
        free(grad);
        ng_dwe_free(m);
    }
    corpus_free(&tc);
}

/* ------------------------------------------------------------------ model plumbing */
/* Bytes, views, initialisation at the prior, state arrays, corpus checks. */
static void test_model_layout(void)
{
    tcorpus tc;
    const size_t T = 4, W = 9, d = 3, N = 2 * W;
    corpus_make(&tc, T, W, 0.3, 20, TIMES6);
    ng_dwe_params p = small_params(NG_DWE_SMOOTHING, d, 4, 3);
    ng_dwe *m = NULL;
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
    if (!m) return;
    NG_CHECK(ng_dwe_model_bytes(m) == ng_dwe_bytes(W, T, &p));
    /* mu, log b (T slices), e (T - 1), each with two Adam moments */
    NG_CHECK(ng_dwe_bytes(W, T, &p) > (3 * T - 1) * N * d * sizeof(float) * 3);
    ng_dwe_params big = ng_dwe_default_params();
    NG_CHECK(ng_dwe_bytes((size_t)1 << 40, 1000, &big) == SIZE_MAX);
    size_t paper = ng_dwe_bytes(10000, 188, &big); /* the paper's size: ~14 GB */
    NG_CHECK(paper > (size_t)12 << 30 && paper < (size_t)16 << 30);
    ng_dwe_params bad = p;
    bad.opt.beta2 = 1.0;
    NG_CHECK(ng_dwe_params_check(&bad) == NG_EINVAL);
    bad = p;
    bad.D = 0;
    NG_CHECK(ng_dwe_params_check(&bad) == NG_EINVAL);
    /* q starts at the prior: B^T B = Pi in every trajectory */
    ng_rng g;
    ng_rng_seed(&g, 21);
    ng_dwe_init(m, &g);
    double Pi[16];
    ref_Pi(T, TIMES6, p.D, p.sigma0, 0, Pi);
    ng_dwe_views v = ng_dwe_get_views(m);
    for (size_t t = 0; t < T; t++) {
        size_t o = (t * N + 7) * d + 2;
        size_t op = ((t > 0 ? t - 1 : 0) * N + 7) * d + 2; /* e_t = b_t tanh theta_t */
        double b = exp((double)v.logb[o]), ep = t > 0 ? exp((double)v.logb[op]) * tanh((double)v.th[op]) : 0;
        NG_CHECK_NEAR(b * b + ep * ep, Pi[t * T + t], 1e-4 * Pi[t * T + t]);
        if (t + 1 < T) NG_CHECK_NEAR(b * b * tanh((double)v.th[o]), Pi[t * T + t + 1], 1e-4 * fabs(Pi[t * T + t + 1]));
    }
    double s2 = 0;
    for (size_t q = 0; q < T * N * d; q++) s2 += (double)v.mu[q] * v.mu[q];
    const double nmu = (double)(T * N * d);
    NG_CHECK(fabs(sqrt(s2 / nmu) - p.init_sd) < 4 * p.init_sd / sqrt(2 * nmu)); /* 4 standard errors */
    /* state protocol */
    ng_ckpt_array arr[16];
    size_t na = ng_dwe_state(m, NULL, 0);
    NG_CHECK(na == 3 + 6 + 2);
    NG_CHECK(ng_dwe_state(m, arr, 16) == na);
    NG_CHECK(!strcmp(arr[0].name, "dwe_mu") && arr[0].t.shape[0] == T && arr[0].t.shape[1] == N);
    NG_CHECK(!strcmp(arr[6].name, "dwe_theta") && arr[6].t.shape[0] == T - 1);
    NG_CHECK(!strcmp(arr[na - 1].name, "dwe_counters") && arr[na - 1].t.dtype == NG_I64);
    NG_CHECK(ng_dwe_state_loaded(m) == NG_OK);
    v.counters[1] = (int64_t)T;
    NG_CHECK(ng_dwe_state_loaded(m) == NG_EMISMATCH);
    v.counters[1] = 0;
    v.row_steps[3] = -2;
    NG_CHECK(ng_dwe_state_loaded(m) == NG_EMISMATCH);
    ng_dwe_free(m);
    /* malformed corpora */
    ng_dwe *m2 = NULL;
    int32_t sv = tc.c.j[1];
    tc.c.j[1] = tc.c.j[0];
    tc.c.i[1] = tc.c.i[0];
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m2) == NG_EINVAL && m2 == NULL);
    NG_CHECK(strstr(ng_last_error(), "sorted") != NULL);
    tc.c.j[1] = sv;
    corpus_free(&tc);
    corpus_make(&tc, T, W, 0.3, 20, TIMES6);
    int32_t si = tc.c.i[2];
    tc.c.i[2] = tc.c.j[2] + 1;
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m2) == NG_EINVAL);
    tc.c.i[2] = si;
    tc.c.time[2] = tc.c.time[1];
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m2) == NG_EINVAL);
    tc.c.time[2] = TIMES6[2];
    tc.c.n[0] = -1.0f;
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m2) == NG_EINVAL);
    tc.c.n[0] = 1.0f;
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m2) == NG_OK);
    ng_dwe_free(m2);
    corpus_free(&tc);
}

/* Goldstone-GD on the means: the DWE graph's psi is the prior's chain part, a symmetry
 * phase (ng_goldstone with ng_dwe_map_loss) removes a planted twist, leaving the local
 * loss unchanged and lowering psi. */
static void test_goldstone_plug(void)
{
    tcorpus tc;
    const size_t T = 6, W = 25, d = 3, N = 2 * W;
    corpus_make(&tc, T, W, 0.3, 22, TIMES6);
    ng_dwe_params p = small_params(NG_DWE_SMOOTHING, d, 10, 10);
    ng_dwe *m = NULL;
    NG_CHECK(ng_dwe_new(&tc.c, &p, &m) == NG_OK);
    if (!m) return;
    ng_rng g;
    ng_rng_seed(&g, 23);
    ng_dwe_init(m, &g);
    float *mu = m->v.mu;
    /* the same means in every slice, then slice t rotated by exp(theta t A) */
    for (size_t t = 1; t < T; t++) memcpy(mu + t * N * d, mu, N * d * sizeof *mu);
    double A[9] = {0, 1, -0.5, -1, 0, 0.3, 0.5, -0.3, 0}, G[9], R[9];
    for (size_t t = 0; t < T; t++) {
        for (int q = 0; q < 9; q++) G[q] = 0.5 * (double)t * A[q];
        ng_expm_skew(d, G, R);
        for (size_t n = 0; n < N; n++) {
            float *z = mu + (t * N + n) * d, z0[3] = {z[0], z[1], z[2]};
            for (size_t a = 0; a < d; a++) z[a] = (float)(R[a * 3] * z0[0] + R[a * 3 + 1] * z0[1] + R[a * 3 + 2] * z0[2]);
        }
    }
    ng_graph *gr = NULL;
    NG_CHECK(ng_dwe_graph(m, &gr) == NG_OK);
    /* psi = the chain part of 1/2 sum x^T Pi x over all trajectories */
    double q = 0, loc = 0;
    for (size_t n = 0; n < N; n++) q += ngi_dwe_prior_row(T, d, m->pdiag, m->poff, mu + n * d, N * d, NULL, 0);
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < N * d; k++) loc += 0.5 * m->plocal[t] * mu[t * N * d + k] * mu[t * N * d + k];
    double psi0 = ng_graph_psi(gr, N, d, mu);
    NG_CHECK_REL(psi0, q - loc, 1e-6, 1.0);
    ng_goldstone_params gp = ng_goldstone_default_params();
    gp.symmetry = NG_SYM_SYNC;
    ng_goldstone *gs = NULL;
    NG_CHECK(ng_goldstone_new(&gp, gr, N, d, ng_dwe_map_loss, m, mu, &gs) == NG_OK);
    double l0, l1, psi1;
    NG_CHECK(ng_goldstone_eval(gs, NULL, &l0, NULL) == NG_OK);
    NG_CHECK(ng_goldstone_symmetry_phase(gs, NULL) == NG_OK);
    NG_CHECK(ng_goldstone_eval(gs, NULL, &l1, &psi1) == NG_OK);
    NG_CHECK_REL(l1, l0, 1e-5, 1.0);
    NG_CHECK_MSG(psi1 < 1e-3 * psi0, "psi %g -> %g", psi0, psi1);
    ng_goldstone_free(gs);
    ng_graph_free(gr);
    ng_dwe_free(m);
    corpus_free(&tc);
}

int main(void)
{
    NG_RUN(test_likelihood_dense);
    NG_RUN(test_likelihood_rotation_invariance);
    NG_RUN(test_prior_dense);
    NG_RUN(test_bidiag_sampler);
    NG_RUN(test_bidiag_entropy_solve);
    NG_RUN(test_smoothing_elbo_fd);
    NG_RUN(test_map_fd);
    NG_RUN(test_filtering_fd);
    NG_RUN(test_minibatch_unbiased);
    NG_RUN(test_lazy_adam);
    NG_RUN(test_step_reports_estimate);
    NG_RUN(test_threads_bitidentical);
    NG_RUN(test_no_alloc);
    NG_RUN(test_model_layout);
    NG_RUN(test_goldstone_plug);
    return ng_test_summary();
}
