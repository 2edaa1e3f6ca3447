/* dwe_task.c - dynamic word embeddings as a training task: a step is ng_dwe_step (and
 * filtering's schedule over slices), followed every k1 steps by Goldstone-GD's symmetry
 * phase on the means; a row is the objective, the chain coupling of the means, the
 * held-out log-likelihood at the predicted means and the overlap of every word's first
 * and last vectors. Everything a step or a row needs is allocated in ng_dwe_task_new. */
#include "dwe_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ng_dwe_task {
    ng_dwe *m;
    ng_dwe_task_params p;
    const ng_corpus *test_c; /* held-out slices, or NULL */
    ng_dwe *test;            /* their evaluation model: its means hold the predicted ones */
    ng_graph *graph;
    ng_goldstone *gs;        /* NULL when symmetry is none */
    ng_rng rng;
    double symmetry_seconds;
    double acc[3];           /* moving averages of the steps' elbo and ell estimates (not
                                bias corrected) and the number of steps in them */
    double *cosv;            /* W: overlap scratch */
    char name[32];
};

enum { C_ELBO, C_ELL, C_PSI, C_TEST_LL, C_OVERLAP, C_SYM, C_N };
static const char *const k_cols[C_N] = {"elbo", "ell", "psi", "test_ll", "overlap_median", "symmetry_seconds"};
static const char *const k_step_cols[] = {"elbo_batch", "rate", "slice", "symmetry_seconds"};

ng_goldstone_params ng_dwe_goldstone_params(void)
{
    ng_goldstone_params p = ng_goldstone_default_params();
    p.k1 = 10; /* Bamler & Mandt 2018 on DWE: 10 Adam steps between phases */
    p.max_overhead = 0.0; /* a DWE step costs far more than the pass over Z the phase cost model assumes */
    p.min_gain = 0.0;     /* the DWE task runs every phase itself (ng_goldstone_symmetry_phase) */
    p.inner = ng_inner_default_params(NG_INNER_GD);
    return p;
}

ng_dwe_task_params ng_dwe_task_default_params(void)
{
    ng_dwe_task_params p;
    memset(&p, 0, sizeof p);
    p.seed = 1;
    p.full_objective = 1;
    p.eval_seed = 1;
    p.steps_per_slice = 100;
    p.estimate_window = 10;
    p.gp = ng_dwe_goldstone_params();
    return p;
}

/* The held-out evaluation model's parameters: the likelihood and prior of p, nothing to
 * optimise (MAP keeps no variational parameters, GD no optimiser state, 1 x 1 batch). */
static ng_dwe_params eval_params(const ng_dwe_params *p)
{
    ng_dwe_params q = *p;
    q.method = NG_DWE_MAP;
    q.opt = ng_inner_default_params(NG_INNER_GD);
    q.batch_words = q.batch_contexts = 1;
    return q;
}

/* saturating size arithmetic for the byte count */
static size_t add_sz(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
static size_t mul_sz(size_t a, size_t b) { return a && b > SIZE_MAX / a ? SIZE_MAX : a * b; }

/* What ng_goldstone_new allocates (goldstone.c, ngi_gauge_ws_alloc) for a chain. */
static size_t goldstone_bytes(size_t T, size_t N, size_t d)
{
    size_t dd = mul_sz(d, d), m = T > 1 ? T - 1 : 1, rot = ngi_rot_ws_len(d);
    size_t nth = (size_t)ngi_gauge_threads(T); /* per-thread scratch */
    if (rot == 0) return SIZE_MAX;
    size_t dbl = mul_sz(T, dd);                        /* gauge fields */
    dbl = add_sz(dbl, mul_sz(m, dd) + 1);              /* M */
    dbl = add_sz(dbl, add_sz(mul_sz(3 * T, dd), 4 * dd + 1)); /* work */
    dbl = add_sz(dbl, mul_sz(nth, 4 * dd + rot) + 3);  /* Rd, Mf, Rf (as doubles), rot */
    dbl = add_sz(dbl, add_sz(mul_sz(2 * T, dd), mul_sz(m, dd) + mul_sz(nth, 2 * dd) + 1)); /* ret */
    size_t b = mul_sz(dbl, sizeof(double));
    b = add_sz(b, mul_sz(mul_sz(T, N), mul_sz(d, sizeof(float)))); /* gradient buffer */
    b = add_sz(b, mul_sz(mul_sz(nth, N * d) + 1, sizeof(float))); /* tmp */
    return add_sz(b, mul_sz(3 * T, sizeof(size_t)) + 4096);
}

size_t ng_dwe_task_bytes(size_t W, size_t T_train, size_t T_test, const ng_dwe_params *p,
                         const ng_dwe_task_params *tp)
{
    if (!p || !tp) return SIZE_MAX;
    size_t b = ng_dwe_bytes(W, T_train, p);
    if (T_test) {
        ng_dwe_params q = eval_params(p);
        b = add_sz(b, ng_dwe_bytes(W, T_test, &q));
    }
    b = add_sz(b, mul_sz(W, sizeof(double)) + sizeof(ng_dwe_task));
    if (tp->gp.symmetry != NG_SYM_NONE) b = add_sz(b, goldstone_bytes(T_train, mul_sz(2, W), p->d));
    return b;
}

static ng_status check_test(const ng_dwe *m, const ng_corpus *c)
{
    if (c->W != m->W)
        return ngi_fail(NG_EINVAL, "ng_dwe_task_new: the held-out corpus has %zu words, the model %zu", c->W, m->W);
    const double *tau = m->c->time;
    for (size_t k = 0; k < c->T; k++) {
        double ts = c->time[k];
        int clash = 0;
        for (size_t t = 0; t < m->T; t++) clash |= tau[t] == ts;
        if (!(ts > tau[0] && ts < tau[m->T - 1]) || clash)
            return ngi_fail(NG_EINVAL, "ng_dwe_task_new: held-out slice at time %g is not strictly between "
                            "training slices (%g .. %g) or has a training slice's time", ts, tau[0],
                            tau[m->T - 1]);
    }
    return NG_OK;
}

static ng_status task_init(ng_dwe_task *t, ng_dwe *m, const ng_corpus *test, const ng_dwe_task_params *p)
{
    const ng_dwe_params *mp = ng_dwe_get_params(m);
    const int filt = mp->method == NG_DWE_FILTERING;
    if (p->estimate_window < 1)
        return ngi_fail(NG_EINVAL, "ng_dwe_task_new: estimate_window = %lld; expected >= 1",
                        (long long)p->estimate_window);
    if (filt && p->steps_per_slice < 1)
        return ngi_fail(NG_EINVAL, "ng_dwe_task_new: steps_per_slice = %lld; expected >= 1",
                        (long long)p->steps_per_slice);
    if (filt && p->gp.symmetry != NG_SYM_NONE)
        return ngi_fail(NG_EINVAL, "ng_dwe_task_new: filtering has no symmetry phase (each slice starts "
                        "from the previous one's posterior); expected symmetry none, not %s",
                        ng_symmetry_name(p->gp.symmetry));
    t->m = m;
    t->p = *p;
    snprintf(t->name, sizeof t->name, "dwe-%s", ng_dwe_method_name(mp->method));
    ng_rng_seed(&t->rng, p->seed);
    ng_status s;
    if (test && test->T > 0) {
        if ((s = check_test(m, test))) return s;
        ng_dwe_params q = eval_params(mp);
        if ((s = ng_dwe_new(test, &q, &t->test))) return s;
        t->test_c = test;
    }
    if ((s = ng_dwe_graph(m, &t->graph))) return s;
    if (p->gp.symmetry != NG_SYM_NONE) {
        ng_goldstone_params gp = p->gp;
        gp.inner = ng_inner_default_params(NG_INNER_GD); /* never stepped: no optimiser state */
        if ((s = ng_goldstone_new(&gp, t->graph, m->N, m->d, ng_dwe_map_loss, m, m->v.mu, &t->gs))) return s;
    }
    if (!(t->cosv = ngi_xmalloc(m->W * sizeof *t->cosv))) return NG_ENOMEM;
    return NG_OK;
}

ng_status ng_dwe_task_new(ng_dwe *m, const ng_corpus *test, const ng_dwe_task_params *p, ng_dwe_task **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_dwe_task_new: out is NULL");
    *out = NULL;
    if (!m || !p) return ngi_fail(NG_EINVAL, "ng_dwe_task_new: model or params is NULL");
    ng_dwe_task *t = ngi_xcalloc(1, sizeof *t);
    if (!t) return NG_ENOMEM;
    ng_status s = task_init(t, m, test, p);
    if (s) {
        ng_dwe_task_free(t);
        return s;
    }
    *out = t;
    return NG_OK;
}

void ng_dwe_task_free(ng_dwe_task *t)
{
    if (!t) return;
    ng_goldstone_free(t->gs);
    ng_graph_free(t->graph);
    ng_dwe_free(t->test);
    free(t->cosv);
    free(t);
}

static ng_status task_step(void *self, int64_t k, double *vals)
{
    (void)k; /* the model counts its own steps (they travel in its state) */
    ng_dwe_task *t = self;
    ng_dwe *m = t->m;
    const int64_t *cnt = m->v.counters; /* steps, filtering slice, steps into it */
    const int filt = m->p.method == NG_DWE_FILTERING;
    ng_status s;
    if (filt && cnt[2] >= t->p.steps_per_slice && (size_t)cnt[1] + 1 < m->T &&
        (s = ng_dwe_filter_begin(m, (size_t)cnt[1] + 1)))
        return s;
    const int want = !t->p.full_objective;
    ng_dwe_info info;
    if ((s = ng_dwe_step(m, &t->rng, want, &info))) return s;
    if (want) {
        const double b = 1.0 - 1.0 / (double)t->p.estimate_window;
        t->acc[0] = b * t->acc[0] + (1.0 - b) * -info.loss;
        t->acc[1] = b * t->acc[1] + (1.0 - b) * info.loglik;
        t->acc[2] += 1.0;
    }
    double sym = 0.0;
    if (t->gs && cnt[0] % ng_goldstone_interval(t->gs) == 0) {
        if ((s = ng_goldstone_symmetry_phase(t->gs, &sym))) return s;
        t->symmetry_seconds += sym;
    }
    vals[0] = want ? -info.loss : NAN;
    vals[1] = info.rate;
    vals[2] = filt ? (double)info.slice : NAN;
    vals[3] = sym;
    return NG_OK;
}

/* Heapsort (in place, no allocation, unlike a library sort might). */
static void sift_down(double *x, size_t root, size_t n)
{
    for (size_t c; (c = 2 * root + 1) < n; root = c) {
        if (c + 1 < n && x[c + 1] > x[c]) c++;
        if (!(x[c] > x[root])) return;
        double tmp = x[c];
        x[c] = x[root];
        x[root] = tmp;
    }
}

static void heapsort_d(double *x, size_t n)
{
    for (size_t k = n / 2; k-- > 0;) sift_down(x, k, n);
    for (size_t e = n; e-- > 1;) {
        double tmp = x[0];
        x[0] = x[e];
        x[e] = tmp;
        sift_down(x, 0, e);
    }
}

static double overlap_median(ng_dwe_task *t)
{
    const ng_dwe *m = t->m;
    const size_t W = m->W, d = m->d, sl = m->N * d;
    const float *u0 = m->v.mu, *u1 = m->v.mu + (m->T - 1) * sl;
    for (size_t i = 0; i < W; i++) {
        double ab = 0, aa = 0, bb = 0;
        for (size_t k = 0; k < d; k++) {
            double a = u0[i * d + k], b = u1[i * d + k];
            ab += a * b;
            aa += a * a;
            bb += b * b;
        }
        t->cosv[i] = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
    }
    heapsort_d(t->cosv, W);
    return W % 2 ? t->cosv[W / 2] : 0.5 * (t->cosv[W / 2 - 1] + t->cosv[W / 2]);
}

static ng_status test_ll(ng_dwe_task *t, double *out)
{
    *out = NAN;
    if (!t->test) return NG_OK;
    float *mu = t->test->v.mu;
    ng_status s = ng_dwe_predict_means(t->m, t->test_c->time, t->test_c->T, mu);
    double ll, cnt;
    if (!s) s = ng_dwe_loglik(t->test, mu, NULL, &ll, &cnt);
    if (!s && cnt > 0) *out = ll / cnt;
    return s;
}

static ng_status task_row(void *self, double *vals)
{
    ng_dwe_task *t = self;
    ng_status s;
    if (t->p.full_objective) {
        ng_dwe_info info;
        if ((s = ng_dwe_objective(t->m, t->p.eval_seed, &info))) return s;
        vals[C_ELBO] = -info.loss;
        vals[C_ELL] = info.loglik;
    } else {
        /* bias corrected as Adam's moments; a row changes nothing, so a run stopped and
         * resumed logs what an uninterrupted one does */
        const double b = 1.0 - 1.0 / (double)t->p.estimate_window, n = t->acc[2];
        const double c = n > 0 ? 1.0 - pow(b, n) : 0.0;
        vals[C_ELBO] = c > 0 ? t->acc[0] / c : NAN;
        vals[C_ELL] = c > 0 ? t->acc[1] / c : NAN;
    }
    vals[C_PSI] = ng_graph_psi(t->graph, t->m->N, t->m->d, t->m->v.mu);
    if ((s = test_ll(t, &vals[C_TEST_LL]))) return s;
    vals[C_OVERLAP] = overlap_median(t);
    vals[C_SYM] = t->symmetry_seconds;
    return NG_OK;
}

size_t ng_dwe_task_state(ng_dwe_task *t, ng_ckpt_array *arrays, size_t cap)
{
    size_t nm = ng_dwe_state(t->m, NULL, 0), ng = t->gs ? ng_goldstone_state(t->gs, NULL, 0) : 0;
    size_t count = nm + 3 + ng;
    if (!arrays) return count;
    ng_dwe_state(t->m, arrays, cap);
    ng_ckpt_array own[3] = {ng_ckpt_view("dwe_task_rng", NG_U8, &t->rng, 1, sizeof t->rng, 0, 0),
                            ng_ckpt_view("symmetry_seconds", NG_F64, &t->symmetry_seconds, 1, 1, 0, 0),
                            ng_ckpt_view("dwe_task_acc", NG_F64, t->acc, 1, 3, 0, 0)};
    for (size_t j = 0; j < 3 && nm + j < cap; j++) arrays[nm + j] = own[j];
    if (t->gs && cap > nm + 3) ng_goldstone_state(t->gs, arrays + nm + 3, cap - nm - 3);
    return count;
}

ng_status ng_dwe_task_state_loaded(ng_dwe_task *t)
{
    ng_status s = ng_dwe_state_loaded(t->m);
    if (!s && t->gs) s = ng_goldstone_state_loaded(t->gs);
    return s;
}

static size_t task_state(void *self, ng_ckpt_array *arrays, size_t cap)
{
    return ng_dwe_task_state(self, arrays, cap);
}

static ng_status task_state_loaded(void *self) { return ng_dwe_task_state_loaded(self); }

ng_task ng_dwe_task_get(ng_dwe_task *t)
{
    ng_task k;
    memset(&k, 0, sizeof k);
    k.name = t->name;
    k.counter = "step";
    k.cols = k_cols;
    k.n_cols = C_N;
    k.step_cols = k_step_cols;
    k.n_step_cols = sizeof k_step_cols / sizeof k_step_cols[0];
    k.step = task_step;
    k.row = task_row;
    k.state = task_state;
    k.state_loaded = task_state_loaded;
    k.self = t;
    return k;
}
