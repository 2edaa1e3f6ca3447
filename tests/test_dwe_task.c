/* test_dwe_task.c - dynamic word embeddings as a training task: the seeded split of a
 * corpus (never the first or last slice), the held-out prediction against the formula by
 * hand, a row's values against direct calls and a dense double reference, the minibatch
 * estimates' average, filtering's schedule over slices, the symmetry phase every k1
 * steps, a planted twist removed by the phase and not by the optimiser in the same
 * steps, checkpoint and resume through ng_train_run (identical to an uninterrupted run),
 * no allocation in a step or a row, and the model directory written and read back. */
#include "corpus_internal.h"
#include "dwe_internal.h"
#include "ngtest.h"

#include <sys/stat.h>

/* ------------------------------------------------------------------ fixtures */

/* The synthetic corpus, small, with its expected counts (every pair present). */
static int small_corpus(size_t W, size_t T, ng_corpus *c)
{
    ng_dwe_synth_params sp = ng_dwe_synth_default_params();
    sp.words = W;
    sp.topics = 4;
    sp.slices = T;
    sp.sentences = 400;
    sp.small_every = 0;
    sp.rank_lo = 1;
    sp.rank_hi = W - 1;
    sp.tau_lo = 2;
    sp.tau_hi = T - 1;
    sp.n_abrupt = sp.n_gradual = 2;
    sp.n_broadening = sp.n_frequency = 1;
    sp.gradual_steps = 2;
    ng_dwe_synth s;
    if (ng_dwe_synth_make(&sp, &s)) return 0;
    ng_status st = ng_dwe_synth_counts(&s, 1, c);
    ng_dwe_synth_free(&s);
    return st == NG_OK;
}

static ng_dwe_params small_params(ng_dwe_method method, size_t d, size_t b)
{
    ng_dwe_params p = ng_dwe_default_params();
    p.method = method;
    p.d = d;
    p.D = 0.05;
    p.sigma0 = 1.3;
    p.batch_words = p.batch_contexts = b;
    p.init_sd = 0.3;
    return p;
}

static ng_dwe_task_params task_params(ng_symmetry sym, int k1)
{
    ng_dwe_task_params p = ng_dwe_task_default_params();
    p.seed = 7;
    p.eval_seed = 9;
    p.gp.symmetry = sym;
    p.gp.k1 = k1;
    p.steps_per_slice = 3;
    return p;
}

/* A corpus split into training and held-out slices, a model on the training ones and its
 * task. */
typedef struct {
    ng_corpus full, train, test;
    ng_dwe *m;
    ng_dwe_task *t;
    ng_task k;
} fixture;

static int fixture_new(fixture *f, const ng_dwe_params *p, const ng_dwe_task_params *tp, size_t n_test,
                       uint64_t init_seed)
{
    memset(f, 0, sizeof *f);
    if (!small_corpus(40, 7, &f->full)) return 0;
    if (ng_corpus_split(&f->full, n_test, 3, NULL, &f->train, &f->test)) return 0;
    if (ng_dwe_new(&f->train, p, &f->m)) return 0;
    ng_rng g;
    ng_rng_seed(&g, init_seed);
    ng_dwe_init(f->m, &g);
    if (ng_dwe_task_new(f->m, &f->test, tp, &f->t)) return 0;
    f->k = ng_dwe_task_get(f->t);
    return 1;
}

static void fixture_free(fixture *f)
{
    ng_dwe_task_free(f->t);
    ng_dwe_free(f->m);
    ng_corpus_free(&f->full);
    ng_corpus_free(&f->train);
    ng_corpus_free(&f->test);
}

/* ------------------------------------------------------------------ the split */
static void test_split(void)
{
    ng_corpus c;
    NG_CHECK(small_corpus(12, 10, &c));
    if (!c.T) return;
    int differs = 0;
    unsigned char first[10];
    for (size_t n_test = 0; n_test <= 8; n_test++)
        for (uint64_t seed = 1; seed <= 12; seed++) {
            ng_corpus tr, te, tr2, te2;
            unsigned char mask[10], mask2[10];
            NG_CHECK(ng_corpus_split(&c, n_test, seed, mask, &tr, &te) == NG_OK);
            NG_CHECK(ng_corpus_split(&c, n_test, seed, mask2, &tr2, &te2) == NG_OK);
            NG_CHECK(!memcmp(mask, mask2, 10)); /* seeded */
            size_t n = 0;
            for (int t = 0; t < 10; t++) n += mask[t];
            NG_CHECK_MSG(!mask[0] && !mask[9] && n == n_test, "n_test %zu seed %llu", n_test,
                         (unsigned long long)seed);
            NG_CHECK(tr.T == 10 - n_test && te.T == n_test && tr.W == c.W && te.W == (n_test ? c.W : 0));
            if (n_test == 3 && seed == 1) memcpy(first, mask, 10);
            if (n_test == 3 && seed > 1 && memcmp(first, mask, 10)) differs = 1;
            /* the slices' times and entries, in order, each to its side */
            size_t a = 0, b = 0;
            for (size_t t = 0; t < 10; t++) {
                ng_corpus *o = mask[t] ? &te : &tr;
                size_t k = mask[t] ? b++ : a++;
                int64_t n0 = c.slice_ptr[t + 1] - c.slice_ptr[t], n1 = o->slice_ptr[k + 1] - o->slice_ptr[k];
                NG_CHECK(o->time[k] == c.time[t] && n0 == n1);
                if (n0 == n1 && n0 > 0) {
                    size_t p0 = (size_t)c.slice_ptr[t], p1 = (size_t)o->slice_ptr[k], nb = (size_t)n0;
                    NG_CHECK(!memcmp(c.n + p0, o->n + p1, nb * sizeof *c.n) &&
                             !memcmp(c.i + p0, o->i + p1, nb * sizeof *c.i) &&
                             !memcmp(c.j + p0, o->j + p1, nb * sizeof *c.j));
                }
            }
            NG_CHECK(ng_corpus_check(&tr) == NG_OK);
            if (te.T) NG_CHECK(ng_corpus_check(&te) == NG_OK);
            ng_corpus_free(&tr);
            ng_corpus_free(&te);
            ng_corpus_free(&tr2);
            ng_corpus_free(&te2);
        }
    NG_CHECK_MSG(differs, "every seed held out the same slices");
    ng_corpus tr, te;
    NG_CHECK(ng_corpus_split(&c, 9, 1, NULL, &tr, &te) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "never the first or the last") != NULL);
    ng_corpus_free(&c);
}

/* ------------------------------------------------------------------ held-out means */
static void test_predict_formula(void)
{
    ng_corpus c;
    NG_CHECK(small_corpus(10, 6, &c));
    const double times[6] = {0.0, 1.0, 2.5, 3.0, 5.0, 5.5};
    memcpy(c.time, times, sizeof times);
    ng_dwe_params p = small_params(NG_DWE_MAP, 3, 4);
    p.D = 0.2;
    p.sigma0 = 0.7;
    ng_dwe *m = NULL;
    NG_CHECK(ng_dwe_new(&c, &p, &m) == NG_OK);
    if (!m) return;
    ng_rng g;
    ng_rng_seed(&g, 5);
    ng_dwe_init(m, &g);
    const size_t sl = m->N * m->d;
    const double tt[3] = {0.25, 4.0, 2.75};
    const size_t na[3] = {0, 3, 2}, nb[3] = {1, 4, 3};
    float *out = malloc(3 * sl * sizeof *out);
    NG_CHECK(ng_dwe_predict_means(m, tt, 3, out) == NG_OK);
    for (int k = 0; k < 3; k++) {
        double ca = 1.0 / (p.D * (tt[k] - times[na[k]])), cb = 1.0 / (p.D * (times[nb[k]] - tt[k]));
        double den = ca + cb + 1.0 / (p.sigma0 * p.sigma0), err = 0;
        for (size_t q = 0; q < sl; q++) {
            double want = (ca * m->v.mu[na[k] * sl + q] + cb * m->v.mu[nb[k] * sl + q]) / den;
            err = fmax(err, fabs(out[k * sl + q] - want));
        }
        NG_CHECK_MSG(err < 1e-6, "time %g: max error %g", tt[k], err);
    }
    const double bad[3] = {0.0, -1.0, 6.0}; /* a training time; before; after */
    for (int k = 0; k < 3; k++) NG_CHECK(ng_dwe_predict_means(m, &bad[k], 1, out) == NG_EINVAL);
    free(out);
    ng_dwe_free(m);
    ng_corpus_free(&c);
}

/* ------------------------------------------------------------------ a row */

/* sum [n+ log s(x) + n- log s(-x)] / sum (n+ + n-) over the slices of c at Z (slice x N x
 * d), in double from the dense counts */
static double ref_heldout(const ng_corpus *c, const float *Z, size_t d, double gamma, double nu)
{
    const size_t W = c->W, N = 2 * W;
    double ll = 0, cnt = 0;
    double *n = calloc(W * W, sizeof *n), *a = calloc(W, sizeof *a), *s = calloc(W, sizeof *s);
    for (size_t t = 0; t < c->T; t++) {
        memset(n, 0, W * W * sizeof *n);
        for (int64_t q = c->slice_ptr[t]; q < c->slice_ptr[t + 1]; q++)
            n[c->i[q] * W + c->j[q]] = n[c->j[q] * W + c->i[q]] = c->n[q];
        double z = 0;
        for (size_t i = 0; i < W; i++) {
            a[i] = 0;
            for (size_t j = 0; j < W; j++) a[i] += n[i * W + j];
            z += pow(a[i], gamma);
        }
        for (size_t j = 0; j < W; j++) s[j] = nu * pow(a[j], gamma) / z;
        for (size_t i = 0; i < W; i++)
            for (size_t j = 0; j < W; j++) {
                double x = 0;
                for (size_t k = 0; k < d; k++) x += (double)Z[(t * N + i) * d + k] * Z[(t * N + W + j) * d + k];
                double pos = n[i * W + j], neg = a[i] * s[j];
                ll += pos * -log1p(exp(-x)) + neg * -log1p(exp(x));
                cnt += pos + neg;
            }
    }
    free(n);
    free(a);
    free(s);
    return ll / cnt;
}

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double ref_overlap(const ng_dwe *m)
{
    const size_t W = m->W, d = m->d, sl = m->N * d;
    double *v = malloc(W * sizeof *v);
    for (size_t i = 0; i < W; i++) {
        const float *a = m->v.mu + i * d, *b = m->v.mu + (m->T - 1) * sl + i * d;
        double ab = 0, aa = 0, bb = 0;
        for (size_t k = 0; k < d; k++) {
            double x = a[k], y = b[k];
            ab += x * y;
            aa += x * x;
            bb += y * y;
        }
        v[i] = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
    }
    qsort(v, W, sizeof *v, cmp_d);
    double med = W % 2 ? v[W / 2] : 0.5 * (v[W / 2 - 1] + v[W / 2]);
    free(v);
    return med;
}

static void test_row_values(void)
{
    for (int method = 0; method < 3; method++) {
        ng_dwe_params p = small_params((ng_dwe_method)method, 3, 16);
        ng_dwe_task_params tp = task_params(method == NG_DWE_FILTERING ? NG_SYM_NONE : NG_SYM_SYNC, 2);
        fixture f;
        NG_CHECK(fixture_new(&f, &p, &tp, 2, 11));
        if (!f.t) return;
        static const char *const want[] = {"elbo", "ell", "psi", "test_ll", "overlap_median", "symmetry_seconds"};
        NG_CHECK(f.k.n_cols == 6 && f.k.n_step_cols == 4);
        for (int j = 0; j < 6; j++) NG_CHECK(!strcmp(f.k.cols[j], want[j]));
        double sv[4], v[6];
        for (int s = 0; s < 5; s++) NG_CHECK(f.k.step(f.k.self, s, sv) == NG_OK);
        NG_CHECK(f.k.row(f.k.self, v) == NG_OK);
        ng_dwe_info info;
        NG_CHECK(ng_dwe_objective(f.m, tp.eval_seed, &info) == NG_OK);
        NG_CHECK(v[0] == -info.loss && v[1] == info.loglik);
        ng_graph *gr = NULL;
        NG_CHECK(ng_dwe_graph(f.m, &gr) == NG_OK);
        NG_CHECK(v[2] == ng_graph_psi(gr, f.m->N, f.m->d, f.m->v.mu));
        ng_graph_free(gr);
        /* held-out: the formula's means, the likelihood in double from the dense counts */
        float *pred = malloc(f.test.T * f.m->N * f.m->d * sizeof *pred);
        NG_CHECK(ng_dwe_predict_means(f.m, f.test.time, f.test.T, pred) == NG_OK);
        double ref = ref_heldout(&f.test, pred, f.m->d, p.gamma, p.nu);
        NG_CHECK_REL(v[3], ref, 1e-5, 1e-3);
        NG_CHECK(v[3] < 0 && v[3] > -5);
        free(pred);
        NG_CHECK_NEAR(v[4], ref_overlap(f.m), 1e-12);
        NG_CHECK(method == NG_DWE_FILTERING ? v[5] == 0 : v[5] > 0);
        fixture_free(&f);
    }
    /* an odd number of words; no held-out slices: test_ll NaN */
    ng_corpus c;
    NG_CHECK(small_corpus(41, 5, &c));
    ng_dwe_params p = small_params(NG_DWE_MAP, 4, 10);
    ng_dwe *m = NULL;
    ng_dwe_task *t = NULL;
    NG_CHECK(ng_dwe_new(&c, &p, &m) == NG_OK);
    ng_rng g;
    ng_rng_seed(&g, 2);
    ng_dwe_init(m, &g);
    ng_dwe_task_params tp = task_params(NG_SYM_NONE, 3);
    NG_CHECK(ng_dwe_task_new(m, NULL, &tp, &t) == NG_OK);
    ng_task k = ng_dwe_task_get(t);
    double v[6];
    NG_CHECK(k.row(k.self, v) == NG_OK);
    NG_CHECK(isnan(v[3]) && v[5] == 0);
    NG_CHECK_NEAR(v[4], ref_overlap(m), 1e-12);
    NG_CHECK(!strcmp(k.name, "dwe-map"));
    ng_dwe_task_free(t);
    ng_dwe_free(m);
    ng_corpus_free(&c);
}

/* elbo and ell from the steps' own minibatch estimates: their bias-corrected moving
 * average; a row changes nothing */
static void test_row_minibatch(void)
{
    ng_dwe_params p = small_params(NG_DWE_SMOOTHING, 3, 12);
    ng_dwe_task_params tp = task_params(NG_SYM_NONE, 5);
    tp.full_objective = 0;
    tp.estimate_window = 3;
    fixture f;
    NG_CHECK(fixture_new(&f, &p, &tp, 1, 4));
    if (!f.t) return;
    double v[6], sv[4], x[5];
    NG_CHECK(f.k.row(f.k.self, v) == NG_OK);
    NG_CHECK(isnan(v[0]) && isnan(v[1])); /* no step yet */
    for (int s = 0; s < 5; s++) {
        NG_CHECK(f.k.step(f.k.self, s, sv) == NG_OK);
        NG_CHECK(isfinite(sv[0]) && isnan(sv[2]));
        x[s] = sv[0];
        if (s == 0) {
            NG_CHECK(f.k.row(f.k.self, v) == NG_OK);
            NG_CHECK_REL(v[0], x[0], 1e-15, 0.0); /* one step: its estimate (to rounding: (1 - b) x / (1 - b)) */
        }
    }
    NG_CHECK(f.k.row(f.k.self, v) == NG_OK);
    double b = 2.0 / 3.0, num = 0, den = 0;
    for (int s = 0; s < 5; s++) {
        num += pow(b, 4 - s) * x[s];
        den += pow(b, 4 - s);
    }
    NG_CHECK_REL(v[0], num / den, 1e-12, 1e-9);
    double again[6];
    NG_CHECK(f.k.row(f.k.self, again) == NG_OK);
    NG_CHECK(again[0] == v[0] && again[1] == v[1]);
    fixture_free(&f);
}

/* ------------------------------------------------------------------ schedules */
static void test_schedules(void)
{
    /* filtering: 3 steps per slice, then the next; the last slice keeps the rest */
    ng_dwe_params p = small_params(NG_DWE_FILTERING, 2, 10);
    ng_dwe_task_params tp = task_params(NG_SYM_NONE, 1);
    fixture f;
    NG_CHECK(fixture_new(&f, &p, &tp, 2, 1)); /* 5 training slices */
    if (!f.t) return;
    double sv[4];
    for (int s = 0; s < 20; s++) {
        NG_CHECK(f.k.step(f.k.self, s, sv) == NG_OK);
        int want = s / 3 < 4 ? s / 3 : 4;
        NG_CHECK_MSG(sv[2] == want, "step %d: slice %g, expected %d", s + 1, sv[2], want);
        NG_CHECK(sv[3] == 0);
    }
    fixture_free(&f);
    /* the symmetry phase after every k1-th step only */
    p = small_params(NG_DWE_SMOOTHING, 3, 10);
    tp = task_params(NG_SYM_SYNC_GOLDSTONE, 3);
    NG_CHECK(fixture_new(&f, &p, &tp, 1, 1));
    if (!f.t) return;
    double total = 0;
    for (int s = 0; s < 9; s++) {
        NG_CHECK(f.k.step(f.k.self, s, sv) == NG_OK);
        NG_CHECK_MSG((sv[3] > 0) == ((s + 1) % 3 == 0), "step %d: phase seconds %g", s + 1, sv[3]);
        total += sv[3];
    }
    double v[6];
    NG_CHECK(f.k.row(f.k.self, v) == NG_OK);
    NG_CHECK(v[5] == total);
    fixture_free(&f);
}

/* ------------------------------------------------------------------ a planted twist */
/* Every slice the same means, then slice t rotated by exp(theta t/(T-1) A): a pure twist
 * (psi > 0 with an invariant likelihood). k1 steps of the default optimiser, then the
 * phase, remove it (what psi is left is the steps' own noise); the same steps without the
 * phase leave it. */
static void plant_twist(ng_dwe *m, double theta)
{
    const size_t T = m->T, N = m->N, d = m->d, sl = N * d;
    float *mu = m->v.mu;
    ng_rng g;
    ng_rng_seed(&g, 31);
    ng_rng_fill_normal(&g, mu, sl, 0.0f, 1.0f);
    double A[9] = {0, 1, -0.4, -1, 0, 0.7, 0.4, -0.7, 0}, G[9], R[9];
    for (size_t t = 1; t < T; t++) {
        for (int q = 0; q < 9; q++) G[q] = theta * (double)t / (double)(T - 1) * A[q] / 1.3;
        ng_expm_skew(d, G, R);
        for (size_t n = 0; n < N; n++) {
            const float *z = mu + n * d;
            for (size_t a = 0; a < d; a++)
                mu[t * sl + n * d + a] = (float)(R[a * 3] * z[0] + R[a * 3 + 1] * z[1] + R[a * 3 + 2] * z[2]);
        }
    }
}

static void test_twist_removed(void)
{
    double psi[3], overlap[3], psi0 = 0;
    const ng_symmetry syms[3] = {NG_SYM_NONE, NG_SYM_SYNC, NG_SYM_GOLDSTONE};
    for (int k = 0; k < 3; k++) {
        ng_dwe_params p = small_params(NG_DWE_SMOOTHING, 3, 20);
        ng_dwe_task_params tp = task_params(syms[k], 5);
        tp.gp.k2 = 30;
        fixture f;
        NG_CHECK(fixture_new(&f, &p, &tp, 0, 1));
        if (!f.t) return;
        plant_twist(f.m, 2.5);
        double v[6], sv[4];
        NG_CHECK(f.k.row(f.k.self, v) == NG_OK);
        psi0 = v[2];
        NG_CHECK(v[4] < 0.3);
        for (int s = 0; s < 5; s++) NG_CHECK(f.k.step(f.k.self, s, sv) == NG_OK);
        NG_CHECK(f.k.row(f.k.self, v) == NG_OK);
        psi[k] = v[2];
        overlap[k] = v[4];
        fixture_free(&f);
    }
    NG_CHECK_MSG(psi[0] > 0.5 * psi0 && overlap[0] < 0.3, "optimiser alone: psi %g -> %g, overlap %g", psi0,
                 psi[0], overlap[0]);
    NG_CHECK_MSG(psi[1] < 0.25 * psi0 && overlap[1] > 0.9, "sync: psi %g -> %g, overlap %g", psi0, psi[1],
                 overlap[1]);
    NG_CHECK_MSG(psi[2] < 0.25 * psi0 && overlap[2] > 0.9, "goldstone: psi %g -> %g, overlap %g", psi0, psi[2],
                 overlap[2]);
}

/* ------------------------------------------------------------------ state round trip */

static int same_state(ng_dwe *a, ng_dwe *b)
{
    ng_ckpt_array x[16], y[16];
    size_t n = ng_dwe_state(a, x, 16);
    if (n != ng_dwe_state(b, y, 16) || n > 16) return 0;
    for (size_t k = 0; k < n; k++) {
        size_t bytes = ng_tensor_count(&x[k].t) * ng_dtype_size(x[k].t.dtype);
        if (memcmp(x[k].t.data, y[k].t.data, bytes)) return 0;
    }
    return 1;
}

/* 12 steps in one run, and 6 + 6 with a checkpoint between (the minibatch case: the
 * estimates' moving averages travel in the state) */
static void resume_case(ng_dwe_method method, ng_symmetry sym, int full)
{
    ng_dwe_params p = small_params(method, 3, 12);
    ng_dwe_task_params tp = task_params(sym, 4);
    tp.full_objective = full;
    tp.gp.gauge_reset = 0;
    char *la = ng_test_path("dwe_task_a.csv"), *lb = ng_test_path("dwe_task_b.csv");
    char *dir = ng_test_path("dwe_task_ckpt");
    remove(la);
    remove(lb);
    ngi_rm_rf(dir);
    ng_train_params rp = ng_train_default_params();
    rp.steps = 12;
    rp.eval_every = 2;
    rp.log = la;
    fixture a, b1, b2;
    NG_CHECK(fixture_new(&a, &p, &tp, 2, 5));
    NG_CHECK(ng_train_run(&a.k, &rp, NULL) == NG_OK);
    rp.log = lb;
    rp.steps = 6;
    rp.checkpoint = dir;
    NG_CHECK(fixture_new(&b1, &p, &tp, 2, 5));
    NG_CHECK_MSG(ng_train_run(&b1.k, &rp, NULL) == NG_OK, "%s", ng_last_error());
    rp.steps = 12;
    rp.resume = 1;
    ng_train_status st;
    NG_CHECK(fixture_new(&b2, &p, &tp, 2, 99)); /* another initialisation: the checkpoint wins */
    NG_CHECK(ng_train_run(&b2.k, &rp, &st) == NG_OK);
    NG_CHECK(st.resumed && st.start_step == 6 && st.step == 12);
    NG_CHECK_MSG(same_state(a.m, b2.m), "%s %s: states differ", ng_dwe_method_name(method), ng_symmetry_name(sym));
    char *va = ng_test_log_values(la), *vb = ng_test_log_values(lb);
    NG_CHECK_MSG(va && vb && !strcmp(va, vb), "logs differ:\n%s\nvs\n%s", va ? va : "", vb ? vb : "");
    NG_CHECK(va && strstr(va, "step,elbo,ell,psi,test_ll,overlap_median,\n0,") == va);
    free(va);
    free(vb);
    fixture_free(&a);
    fixture_free(&b1);
    fixture_free(&b2);
    free(la);
    free(lb);
    ngi_rm_rf(dir);
    free(dir);
}

static void test_resume(void)
{
    resume_case(NG_DWE_SMOOTHING, NG_SYM_SYNC_GOLDSTONE, 1);
    resume_case(NG_DWE_SMOOTHING, NG_SYM_GOLDSTONE, 0);
    resume_case(NG_DWE_MAP, NG_SYM_SYNC, 1);
    resume_case(NG_DWE_FILTERING, NG_SYM_NONE, 1);
}

/* ------------------------------------------------------------------ no allocation */
static void test_no_alloc(void)
{
    for (int method = 0; method < 3; method++)
        for (int full = 0; full < 2; full++) {
            ng_dwe_params p = small_params((ng_dwe_method)method, 3, 10);
            ng_dwe_task_params tp =
                task_params(method == NG_DWE_FILTERING ? NG_SYM_NONE : NG_SYM_SYNC_GOLDSTONE, 2);
            tp.full_objective = full;
            tp.steps_per_slice = 2;
            fixture f;
            NG_CHECK(fixture_new(&f, &p, &tp, 2, 3));
            if (!f.t) return;
            double sv[4], v[6];
            NG_CHECK(f.k.step(f.k.self, 0, sv) == NG_OK); /* warm OpenMP's pool */
            NG_CHECK(f.k.row(f.k.self, v) == NG_OK);
            size_t before = ngi_alloc_count();
            for (int s = 1; s < 7; s++) NG_CHECK(f.k.step(f.k.self, s, sv) == NG_OK);
            NG_CHECK(f.k.row(f.k.self, v) == NG_OK);
            NG_CHECK_MSG(ngi_alloc_count() == before, "%s: %zu allocations", ng_dwe_method_name(p.method),
                         ngi_alloc_count() - before);
            fixture_free(&f);
        }
}

/* ------------------------------------------------------------------ errors */
static void test_errors(void)
{
    ng_corpus c, other;
    NG_CHECK(small_corpus(12, 5, &c) && small_corpus(14, 5, &other));
    ng_dwe *m = NULL, *f = NULL;
    ng_dwe_params p = small_params(NG_DWE_SMOOTHING, 2, 4);
    NG_CHECK(ng_dwe_new(&c, &p, &m) == NG_OK);
    p.method = NG_DWE_FILTERING;
    NG_CHECK(ng_dwe_new(&c, &p, &f) == NG_OK);
    ng_dwe_task *t = NULL;
    ng_dwe_task_params tp = task_params(NG_SYM_SYNC, 2);
    NG_CHECK(ng_dwe_task_new(f, NULL, &tp, &t) == NG_EINVAL && !t);
    NG_CHECK(strstr(ng_last_error(), "filtering has no symmetry phase") != NULL);
    tp.gp.symmetry = NG_SYM_NONE;
    tp.steps_per_slice = 0;
    NG_CHECK(ng_dwe_task_new(f, NULL, &tp, &t) == NG_EINVAL);
    tp.steps_per_slice = 1;
    NG_CHECK(ng_dwe_task_new(m, &other, &tp, &t) == NG_EINVAL); /* other vocabulary */
    ng_corpus tr, te;
    NG_CHECK(ng_corpus_split(&c, 1, 1, NULL, &tr, &te) == NG_OK);
    NG_CHECK(ng_dwe_task_new(m, &te, &tp, &t) == NG_EINVAL); /* a held-out time among the training ones' */
    tp.gp.k1 = 0;
    tp.gp.symmetry = NG_SYM_SYNC;
    NG_CHECK(ng_dwe_task_new(m, NULL, &tp, &t) == NG_EINVAL);
    /* the byte count: the model's, more with held-out slices and a symmetry phase */
    ng_dwe_task_params t0 = task_params(NG_SYM_NONE, 2), t1 = task_params(NG_SYM_SYNC, 2);
    p.method = NG_DWE_SMOOTHING;
    size_t b0 = ng_dwe_task_bytes(12, 5, 0, &p, &t0), b1 = ng_dwe_task_bytes(12, 5, 2, &p, &t0);
    NG_CHECK(b0 > ng_dwe_bytes(12, 5, &p) && b1 > b0 && ng_dwe_task_bytes(12, 5, 0, &p, &t1) > b0);
    NG_CHECK(ng_dwe_task_bytes(SIZE_MAX / 4, 1000, 0, &p, &t1) == SIZE_MAX);
    ng_corpus_free(&tr);
    ng_corpus_free(&te);
    ng_dwe_free(m);
    ng_dwe_free(f);
    ng_corpus_free(&c);
    ng_corpus_free(&other);
}

/* ------------------------------------------------------------------ model files */
static void write_text_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_model_files(void)
{
    ng_dwe_params p = small_params(NG_DWE_SMOOTHING, 3, 10);
    ng_dwe_task_params tp = task_params(NG_SYM_SYNC, 2);
    fixture f;
    NG_CHECK(fixture_new(&f, &p, &tp, 2, 8));
    if (!f.t) return;
    double sv[4];
    for (int s = 0; s < 4; s++) NG_CHECK(f.k.step(f.k.self, s, sv) == NG_OK);
    char *dir = ng_test_path("dwe_task_model");
    ngi_rm_rf(dir);
    NG_CHECK(ng_dwe_model_write(dir, f.m, f.test.time, f.test.T, "sync") == NG_OK);
    ng_dwe_model md;
    NG_CHECK(ng_dwe_model_read(dir, &md) == NG_OK);
    const size_t W = f.m->W, d = f.m->d, sl = f.m->N * d;
    NG_CHECK(md.T == 7 && md.W == W && md.d == d && md.steps == 4 && !strcmp(md.method, "smoothing") &&
             !strcmp(md.symmetry, "sync") && !strcmp(md.prior, "product") && md.sigma0 == p.sigma0 &&
             md.diffusion == p.D);
    float *pred = malloc(f.test.T * sl * sizeof *pred);
    NG_CHECK(ng_dwe_predict_means(f.m, f.test.time, f.test.T, pred) == NG_OK);
    size_t a = 0, b = 0;
    for (size_t t = 0; t < md.T; t++) {
        NG_CHECK(md.time[t] == f.full.time[t]);
        const float *src = md.train[t] ? f.m->v.mu + (a++) * sl : pred + (b++) * sl;
        NG_CHECK(!memcmp(md.U + t * W * d, src, W * d * sizeof(float)));
        NG_CHECK(!memcmp(md.V + t * W * d, src + W * d, W * d * sizeof(float)));
    }
    NG_CHECK(a == 5 && b == 2);
    for (size_t i = 0; i < W; i++)
        NG_CHECK(!strcmp(md.word[i], f.full.word[i]) && md.count[i] == f.full.word_count[i]);
    ng_dwe_model_free(&md);
    /* the variational parameters of the training slices */
    char *path = ngi_asprintf("%s/V_e.npy", dir);
    ng_tensor te;
    NG_CHECK(ng_npy_read(path, &te) == NG_OK);
    int e_ok = te.ndim == 3 && te.shape[0] == 4 && te.shape[1] == W && te.shape[2] == d;
    for (size_t q = 0; e_ok && q < W * d; q++) /* the file holds e_t = b_t tanh theta_t */
        e_ok = ((const float *)te.data)[q] ==
               (float)(exp((double)f.m->v.logb[W * d + q]) * tanh((double)f.m->v.th[W * d + q]));
    NG_CHECK(e_ok);
    ng_tensor_free(&te);
    free(path);
    /* replaced in place; NaN is refused with nothing written */
    NG_CHECK(ng_dwe_model_write(dir, f.m, NULL, 0, NULL) == NG_OK);
    NG_CHECK(ng_dwe_model_read(dir, &md) == NG_OK && md.T == 5 && !strcmp(md.symmetry, "none"));
    ng_dwe_model_free(&md);
    f.m->v.mu[7] = NAN;
    char *dir2 = ng_test_path("dwe_task_model_nan");
    ngi_rm_rf(dir2);
    struct stat sb;
    NG_CHECK(ng_dwe_model_write(dir2, f.m, NULL, 0, NULL) == NG_ENUMERIC && stat(dir2, &sb) != 0);
    f.m->v.mu[7] = 0;
    /* the reader names the file of a fault */
    char *mt = ngi_asprintf("%s/model.txt", dir), *tc = ngi_asprintf("%s/times.csv", dir);
    write_text_file(mt, "natgrad-dwe-model 1\nmethod smoothing\ndim 3\nW 40\nT 5\nsigma0 1.3\n"
                        "diffusion 0.05\nsymmetry none\n");
    NG_CHECK(ng_dwe_model_read(dir, &md) == NG_EFORMAT && strstr(ng_last_error(), "no 'steps' line"));
    write_text_file(mt, "natgrad-dwe-model 1\nmethod smoothing\ndim 4\nW 40\nT 5\nsigma0 1.3\n"
                        "diffusion 0.05\nsymmetry none\nsteps 4\nfuture_key x\n");
    NG_CHECK(ng_dwe_model_read(dir, &md) == NG_EFORMAT && strstr(ng_last_error(), "U.npy"));
    write_text_file(mt, "natgrad-dwe-model 1\nmethod smoothing\ndim 3\nW 40\nT 5\nsigma0 1.3\n"
                        "diffusion 0.05\nsymmetry none\nsteps 4\nfuture_key x\n");
    NG_CHECK(ng_dwe_model_read(dir, &md) == NG_OK); /* unknown keys are skipped */
    ng_dwe_model_free(&md);
    write_text_file(tc, "slice,time,train\n0,1,1\n1,3,1\n2,2,1\n3,5,1\n4,7,1\n");
    NG_CHECK(ng_dwe_model_read(dir, &md) == NG_EFORMAT && strstr(ng_last_error(), "times.csv:4"));
    write_text_file(mt, "natgrad-dwe-model 2\n");
    NG_CHECK(ng_dwe_model_read(dir, &md) == NG_EFORMAT && strstr(ng_last_error(), "model.txt:1"));
    free(mt);
    free(tc);
    ngi_rm_rf(dir);
    free(pred);
    free(dir);
    free(dir2);
    fixture_free(&f);
}

int main(void)
{
    NG_RUN(test_split);
    NG_RUN(test_predict_formula);
    NG_RUN(test_row_values);
    NG_RUN(test_row_minibatch);
    NG_RUN(test_schedules);
    NG_RUN(test_twist_removed);
    NG_RUN(test_resume);
    NG_RUN(test_no_alloc);
    NG_RUN(test_errors);
    NG_RUN(test_model_files);
    return ng_test_summary();
}
