/* test_goldstone_interval.c - the symmetry phase's interval: the cost model against a hand
 * count of its multiply-adds, k1_eff = max(k1, ceil(r / max_overhead)) for a few sizes,
 * max_overhead 0 (and the paper's and DWE's parameters) giving exactly k1, the phases of
 * ng_goldstone_step at every k1_eff-th step only, a resume from a step that is a multiple
 * of k1 but not of k1_eff continuing exactly, and the parameter checks. */
#include "goldstone_internal.h"
#include "ngtest.h"

#include <limits.h>

/* l = 1/2 sum (Z - X)^2: a local loss with no symmetry of its own, cheap at any size */
typedef struct {
    const float *X;
    size_t n;
} pull_model;

static ng_status pull_loss(void *user, const float *Z, float *grad, double *ell)
{
    const pull_model *m = user;
    double e = 0.0;
    for (size_t k = 0; k < m->n; k++) {
        double r = (double)Z[k] - m->X[k];
        e += 0.5 * r * r;
        if (grad) grad[k] += (float)r;
    }
    *ell = e;
    return NG_OK;
}

/* The model's prediction by hand for a chain of T nodes (E = T - 1 edges): the counts of
 * goldstone.c's comment written out. */
static double hand_cost(ng_symmetry s, int retract, double T, double N, double d, double k2)
{
    double E = T - 1, lng = 0, small = 0, fact = 0, calls = 0;
    if (s == NG_SYM_SYNC || s == NG_SYM_SYNC_GOLDSTONE) {
        lng += E * (N * d * d + N * d * d); /* moments, rotation per tree edge */
        fact += E * d * d * d;              /* a Procrustes SVD per tree edge */
        calls += E * 3;                     /* two gemms and an SVD per tree edge */
    }
    if (s == NG_SYM_GOLDSTONE || s == NG_SYM_SYNC_GOLDSTONE) {
        lng += T * N * d + E * N * d * d + T * N * d * d + k2 * T * T * d * d;
        small += k2 * (9 * E + (retract ? 2 * E + T : 0)) * d * d * d;
        fact += (retract ? k2 : 1) * T * d * d * d;
        /* moments per edge, a rotation per node, L+ once per step, then each d x d call */
        calls += E + T + k2 + k2 * (9 * E + (retract ? 2 * E + T : 0)) + (retract ? k2 : 1) * T;
    }
    return (NGI_COST_LONG * lng + NGI_COST_SMALL * small + NGI_COST_FACT * fact + NGI_COST_CALL * calls) /
           (T * N * d);
}

static void test_cost_model(void)
{
    const size_t sizes[][3] = {{100, 3000, 10}, {100, 3000, 30}, {100, 1000, 100}, {30, 20, 3}, {5, 2, 16}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t T = sizes[k][0], N = sizes[k][1], d = sizes[k][2];
        ng_graph *g = NULL;
        NG_CHECK(ng_graph_chain(T, 10.0, &g) == NG_OK);
        if (!g) continue;
        ng_goldstone_params p = ng_goldstone_default_params();
        for (int s = 0; s <= NG_SYM_SYNC_GOLDSTONE; s++)
            for (int solver = 0; solver < 2; solver++) {
                p.symmetry = (ng_symmetry)s;
                p.gauge_solver = (ng_gauge_solver)solver;
                double r = ng_goldstone_phase_cost(&p, g, N, d);
                double h = s == NG_SYM_NONE ? 0.0 : hand_cost(p.symmetry, solver, T, N, d, p.k2);
                NG_CHECK_REL(r, h, 1e-12, 1e-300);
                NG_CHECK(s == NG_SYM_NONE ? r == 0.0 : r > 0.0);
            }
        ng_graph_free(g);
    }
    NG_CHECK(ng_goldstone_phase_cost(NULL, NULL, 1, 1) < 0);
}

/* The interval of a method on a chain of T nodes with the given parameters. */
static int interval_of(const ng_goldstone_params *p, size_t T, size_t N, size_t d)
{
    ng_graph *g = NULL;
    if (ng_graph_chain(T, 10.0, &g)) return -1;
    float *Z = calloc(T * N * d, sizeof *Z), *X = calloc(T * N * d, sizeof *X);
    pull_model m = {X, T * N * d};
    ng_goldstone *gs = NULL;
    int k = -1;
    if (Z && X && ng_goldstone_new(p, g, N, d, pull_loss, &m, Z, &gs) == NG_OK) k = ng_goldstone_interval(gs);
    ng_goldstone_free(gs);
    free(Z);
    free(X);
    ng_graph_free(g);
    return k;
}

static void test_interval(void)
{
    const size_t sizes[][3] = {{100, 3000, 10}, {100, 3000, 30}, {100, 300, 100}, {30, 20, 3}, {6, 2, 24}};
    const double caps[] = {0.02, 0.005, 0.3};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (int s = 1; s <= NG_SYM_SYNC_GOLDSTONE; s++)
            for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
                ng_goldstone_params p = ng_goldstone_default_params();
                p.symmetry = (ng_symmetry)s;
                p.max_overhead = caps[c];
                size_t T = sizes[k][0], N = sizes[k][1], d = sizes[k][2];
                double r = hand_cost(p.symmetry, 1, T, N, d, p.k2);
                double want = ceil(r / p.max_overhead);
                if (want < p.k1) want = p.k1;
                int got = interval_of(&p, T, N, d);
                NG_CHECK_MSG(got == (int)want, "T %zu N %zu d %zu %s cap %g: interval %d, by hand %g (r %g)", T, N,
                             d, ng_symmetry_name(p.symmetry), caps[c], got, want, r);
                /* the rule it keeps: the least interval >= k1 with r / interval <= max_overhead */
                NG_CHECK(r / got <= p.max_overhead * (1 + 1e-12));
                NG_CHECK(got == p.k1 || r / (got - 1) > p.max_overhead);
            }
    /* a case whose hand count is written out: T 2, N 1, d 1, sync (one edge): 2 long
     * multiply-adds, one 1 x 1 factorisation and 3 calls over a step of 2 units */
    ng_goldstone_params p = ng_goldstone_default_params();
    p.k1 = 1;
    p.max_overhead = 1e-4;
    double r = (2 * NGI_COST_LONG + NGI_COST_FACT + 3 * NGI_COST_CALL) / 2;
    NG_CHECK(interval_of(&p, 2, 1, 1) == (int)ceil(r / 1e-4));
    /* sizes with a ratio beyond INT_MAX steps: clamped */
    p.max_overhead = 1e-300;
    NG_CHECK(interval_of(&p, 2, 1, 1) == INT_MAX);
}

/* step_work: the model's own work joins the step's T N d units, so a dear model keeps k1 */
static void test_step_work(void)
{
    const size_t T = 100, N = 3000, d = 30;
    ng_goldstone_params p = ng_goldstone_default_params();
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(T, 10.0, &g) == NG_OK);
    if (!g) return;
    double r0 = ng_goldstone_phase_cost(&p, g, N, d);
    p.step_work = 3.0 * (double)(T * N * d);
    NG_CHECK_REL(ng_goldstone_phase_cost(&p, g, N, d), r0 / 4.0, 1e-12, 1e-300);
    NG_CHECK(interval_of(&p, T, N, d) == (int)fmax(p.k1, ceil(r0 / 4.0 / p.max_overhead)));
    p.step_work = 1e12; /* a model whose steps dwarf any phase */
    NG_CHECK(interval_of(&p, T, N, d) == p.k1);
    const double bad[] = {-1.0, NAN, INFINITY};
    for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
        p.step_work = bad[j];
        NG_CHECK(interval_of(&p, 4, 3, 2) == -1);
        NG_CHECK_MSG(strstr(ng_last_error(), "step_work"), "%g: %s", bad[j], ng_last_error());
    }
    ng_graph_free(g);
}

static void test_zero_is_k1(void)
{
    ng_goldstone_params p = ng_goldstone_default_params();
    NG_CHECK(p.max_overhead == 0.02);
    p.symmetry = NG_SYM_SYNC_GOLDSTONE;
    p.k1 = 7;
    NG_CHECK(interval_of(&p, 6, 2, 24) > 7); /* this size raises it... */
    p.max_overhead = 0.0;
    NG_CHECK(interval_of(&p, 6, 2, 24) == 7); /* ...unless it is off */
    p.max_overhead = 0.02;
    p.symmetry = NG_SYM_NONE;
    NG_CHECK(interval_of(&p, 6, 2, 24) == 7);
    ng_goldstone_params q = ng_goldstone_default_params();
    ng_goldstone_paper_variant(&q);
    NG_CHECK(q.max_overhead == 0.0 && interval_of(&q, 6, 2, 24) == q.k1);
    ng_goldstone_params w = ng_dwe_goldstone_params();
    NG_CHECK(w.max_overhead == 0.0 && interval_of(&w, 6, 2, 24) == w.k1);
}

typedef struct {
    ng_graph *g;
    float *Z, *X;
    pull_model m;
    ng_goldstone *gs;
} run;

enum { RT = 6, RN = 60, RD = 24 };

static ng_goldstone_params run_params(void)
{
    ng_goldstone_params p = ng_goldstone_default_params();
    p.symmetry = NG_SYM_SYNC_GOLDSTONE;
    p.k1 = 2;
    p.max_overhead = 0.02; /* set from the ratio in run_new */
    p.inner = ng_inner_default_params(NG_INNER_ADAM);
    p.inner.rho0 = 0.01;
    return p;
}

static int run_new(run *r, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    size_t n = (size_t)RT * RN * RD;
    ng_goldstone_params p = run_params();
    if (ng_graph_chain(RT, 3.0, &r->g)) return 0;
    /* a phase costs tens of steps at this d; a cap that makes the interval 81 keeps the
     * runs short: ceil(r / (r / 80.5)) = 81 */
    p.max_overhead = ng_goldstone_phase_cost(&p, r->g, RN, RD) / 80.5;
    r->Z = malloc(n * sizeof *r->Z);
    r->X = malloc(n * sizeof *r->X);
    if (!r->Z || !r->X) return 0;
    ng_rng rng;
    ng_rng_seed(&rng, 17); /* the same data for every run */
    ng_rng_fill_normal(&rng, r->X, n, 0.0f, 1.0f);
    ng_rng_seed(&rng, seed);
    ng_rng_fill_normal(&rng, r->Z, n, 0.0f, 1.0f);
    r->m.X = r->X;
    r->m.n = n;
    return ng_goldstone_new(&p, r->g, RN, RD, pull_loss, &r->m, r->Z, &r->gs) == NG_OK;
}

static void run_free(run *r)
{
    ng_goldstone_free(r->gs);
    ng_graph_free(r->g);
    free(r->Z);
    free(r->X);
}

static void test_phases_every_interval(void)
{
    run a;
    NG_CHECK(run_new(&a, 3));
    int k = a.gs ? ng_goldstone_interval(a.gs) : 0;
    int k1 = run_params().k1;
    NG_CHECK_MSG(k == 81 && k % k1 != 0, "interval %d (k1 %d)", k, k1);
    int ran = 0, wrong = 0;
    for (int s = 1; a.gs && s <= 4 * k; s++) {
        ng_goldstone_stats st;
        NG_CHECK(ng_goldstone_step(a.gs, 0, &st) == NG_OK);
        ran += st.symmetry_ran;
        wrong += st.symmetry_ran != (s % k == 0);
    }
    NG_CHECK(ran == 4 && wrong == 0);
    /* a phase on request still runs */
    NG_CHECK(a.gs && ng_goldstone_symmetry_phase(a.gs, NULL) == NG_OK);
    run_free(&a);
}

/* the state arrays of a into b's, as a checkpoint would carry them */
static int copy_state(run *a, run *b)
{
    ng_ckpt_array sa[8], sb[8];
    size_t na = ng_goldstone_state(a->gs, sa, 8), nb = ng_goldstone_state(b->gs, sb, 8);
    if (na != nb || na > 8) return 0;
    for (size_t j = 0; j < na; j++) {
        size_t bytes = ng_tensor_count(&sa[j].t) * ng_dtype_size(sa[j].t.dtype);
        if (strcmp(sa[j].name, sb[j].name) || bytes != ng_tensor_count(&sb[j].t) * ng_dtype_size(sb[j].t.dtype))
            return 0;
        memcpy(sb[j].t.data, sa[j].t.data, bytes);
    }
    memcpy(b->Z, a->Z, (size_t)RT * RN * RD * sizeof *b->Z);
    return ng_goldstone_state_loaded(b->gs) == NG_OK;
}

static void test_resume_between_phases(void)
{
    run a, b, c;
    NG_CHECK(run_new(&a, 3) && run_new(&b, 3) && run_new(&c, 99));
    int k = a.gs ? ng_goldstone_interval(a.gs) : 0, k1 = run_params().k1;
    /* a multiple of k1 past the first phase that is no multiple of k */
    int cut = (k / k1 + 1) * k1;
    while (cut % k == 0) cut += k1;
    NG_CHECK(cut % k1 == 0 && cut % k != 0 && cut > k);
    int end = 3 * k, same_ran = 1;
    for (int s = 1; a.gs && s <= end; s++) NG_CHECK(ng_goldstone_step(a.gs, 0, NULL) == NG_OK);
    for (int s = 1; b.gs && s <= cut; s++) NG_CHECK(ng_goldstone_step(b.gs, 0, NULL) == NG_OK);
    NG_CHECK(b.gs && c.gs && copy_state(&b, &c));
    NG_CHECK(c.gs && ng_goldstone_steps(c.gs) == cut && ng_goldstone_interval(c.gs) == k);
    for (int s = cut + 1; c.gs && s <= end; s++) {
        ng_goldstone_stats st;
        NG_CHECK(ng_goldstone_step(c.gs, 0, &st) == NG_OK);
        same_ran &= st.symmetry_ran == (s % k == 0);
    }
    NG_CHECK(same_ran);
    NG_CHECK(memcmp(a.Z, c.Z, (size_t)RT * RN * RD * sizeof *a.Z) == 0);
    run_free(&a);
    run_free(&b);
    run_free(&c);
}

static void test_param_checks(void)
{
    const double bad[] = {-0.01, 1.0, 1.5, NAN, INFINITY};
    for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
        ng_goldstone_params p = ng_goldstone_default_params();
        p.max_overhead = bad[j];
        NG_CHECK(interval_of(&p, 4, 3, 2) == -1);
        NG_CHECK_MSG(strstr(ng_last_error(), "max_overhead") && strstr(ng_last_error(), "[0, 1)"), "%g: %s",
                     bad[j], ng_last_error());
    }
    ng_goldstone_params p = ng_goldstone_default_params();
    p.max_overhead = 0.999;
    NG_CHECK(interval_of(&p, 4, 3, 2) >= p.k1);
}

int main(void)
{
    ng_set_blas_threads(1);
    NG_RUN(test_cost_model);
    NG_RUN(test_interval);
    NG_RUN(test_step_work);
    NG_RUN(test_zero_is_k1);
    NG_RUN(test_phases_every_interval);
    NG_RUN(test_resume_between_phases);
    NG_RUN(test_param_checks);
    return ng_test_summary();
}
