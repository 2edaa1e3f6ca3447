/* goldstone.c - Goldstone-GD (Bamler & Mandt 2018, Algorithm 1): k1 steps of an ordinary
 * optimiser on L = sum_t l(X_t; Z_t) + psi(Z), then a symmetry phase that moves along the
 * flat rotation directions that plain gradients only creep along at rate O(lambda/T^2):
 * the paper's gauge-field natural gradient, exact synchronisation, or both. */
#include "goldstone_internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ng_goldstone {
    ng_goldstone_params p;
    const ng_graph *g;
    size_t T, N, d;
    ng_local_loss_fn fn;
    void *user;
    float *Z, *grad;
    ng_inner *inner;
    double *Gt; /* gauge fields Gamma~, T x d x d */
    double *Gt_save; /* T x d x d, to undo a phase (min_gain > 0 with a gauge phase) */
    ngi_gauge_ws ws;
    size_t *idx; /* 3 T: BFS order, parent, parent edge */
    int64_t steps;
    int interval; /* steps between phases (ng_goldstone_interval) */
    double cost;  /* r, a phase's predicted cost in steps (ng_goldstone_phase_cost) */
    int64_t phases[2]; /* run, kept */
    double last_loss;  /* L at the start of the last step (0 before the first) */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *ng_symmetry_name(ng_symmetry s)
{
    switch (s) {
    case NG_SYM_NONE: return "none";
    case NG_SYM_GOLDSTONE: return "goldstone";
    case NG_SYM_SYNC: return "sync";
    case NG_SYM_SYNC_GOLDSTONE: return "sync+goldstone";
    }
    return "?";
}

const char *ng_gauge_solver_name(ng_gauge_solver s)
{
    switch (s) {
    case NG_GAUGE_QUADRATIC: return "quadratic";
    case NG_GAUGE_RETRACT: return "retract";
    }
    return "?";
}

const char *ng_rotation_name(ng_rotation r)
{
    switch (r) {
    case NG_ROT_FIRST_ORDER: return "first-order";
    case NG_ROT_CAYLEY: return "cayley";
    case NG_ROT_EXP: return "exp";
    }
    return "?";
}

ng_goldstone_params ng_goldstone_default_params(void)
{
    ng_goldstone_params p;
    memset(&p, 0, sizeof p);
    /* measured (docs/goldstone.md): sync removes twists AND reflection walls; when the gauge phase
     * is chosen, the retract solver (steps re-expanded at the current rotation, exact
     * Cayley rotation, line search on the exact psi) with 4x the paper's step is the
     * fastest setting on the ratings and the toy and never raises psi */
    p.symmetry = NG_SYM_SYNC;
    p.k1 = 50;
    p.k2 = 10;
    p.rho_scale = 4.0;
    p.gauge_solver = NG_GAUGE_RETRACT;
    p.gauge_reset = 1;
    p.rotation = NG_ROT_CAYLEY;
    p.gauge_clip = 0.0;
    p.apply_fraction = 1.0;
    p.max_overhead = 0.02;
    p.min_gain = 2.0;
    /* the paper's toy optimiser: clipped GD, rho_s = (100 / (s + 100))^0.7 */
    p.inner = ng_inner_default_params(NG_INNER_GD);
    p.inner.rho0 = 1.0;
    p.inner.sbar = 100.0;
    p.inner.p = 0.7;
    p.inner.clip = 0.01;
    return p;
}

void ng_goldstone_paper_variant(ng_goldstone_params *p)
{
    p->symmetry = NG_SYM_GOLDSTONE;
    p->k1 = 50;
    p->k2 = 10;
    p->rho_scale = 1.0;
    p->gauge_reset = 0;
    p->rotation = NG_ROT_FIRST_ORDER;
    p->gauge_clip = 0.0;
    p->apply_fraction = 1.0;
    p->gauge_solver = NG_GAUGE_QUADRATIC;
    p->max_overhead = 0.0;
    p->min_gain = 0.0;
}

/* The cost model of a symmetry phase, in work units: a step (the model's loss, psi's
 * gradient and the optimiser, a few memory-bound passes over Z) costs one unit per entry
 * of Z, T N d units; a phase's work is its counted multiply-adds, weighted by what one of
 * each kind costs in those units:
 *   long   the BLAS products over the N vectors and L+'s product (sgemm, dgemm):
 *          sync (T-1) tree edges x (moments + rotation) 2 N d^2; gauge: the pass of
 *          sum ||z||^2 T N d, the moments E N d^2, the rotation T N d^2 and per gauge step
 *          L+ times the gradients T^2 d^2;
 *   small  d x d matrix products, d^3 each: per gauge step the gauge loss and its gradient
 *          (9 per edge), and with the retract solver the rotated moments (2 per edge) and the
 *          accumulated rotations (1 per node), one trial of the line search counted;
 *   fact   d x d factorisations, d^3 each: sync one Procrustes SVD per tree edge; gauge
 *          one Cayley/exp per node per gauge step (retract) or per phase (quadratic).
 * r = (0.037 long + 0.0267 (small + fact)) / (T N d + step_work) (NGI_COST_*; step_work:
 * the model's own work, e.g. ng_dmf_step_work), fitted on dmf train
 * (docs/goldstone.md: d 10..100, N 1000..20000, T 100 and 300, one thread, OpenBLAS's
 * default kernels) to predict at least 1.2x every measured ratio; plus NGI_COST_CALL units
 * per BLAS/LAPACK call (the overhead that dominates small d x d work where a step is cheap:
 * d = 10, T = 20, N = 1500 in scripts/dmf_regimes.sh). Counted work cannot see that BLAS runs
 * faster at large d: the model predicts up to ~3.5x the measured ratio at d = 100, so phases
 * there come rarer than needed, never more often. */
double ng_goldstone_phase_cost(const ng_goldstone_params *p, const ng_graph *g, size_t N, size_t d)
{
    if (!p || !g) return -1.0;
    const double T = (double)g->T, E = (double)g->n_edges, n = (double)N, dd = (double)d;
    const double d2 = dd * dd, d3 = d2 * dd, k2 = p->k2 > 0 ? (double)p->k2 : 0.0;
    if (g->T < 2 || N == 0 || d == 0 || p->symmetry == NG_SYM_NONE) return 0.0;
    double lng = 0.0, small = 0.0, fact = 0.0, calls = 0.0;
    if (p->symmetry == NG_SYM_SYNC || p->symmetry == NG_SYM_SYNC_GOLDSTONE) {
        lng += (T - 1) * 2.0 * n * d2;
        fact += (T - 1) * d3;
        calls += 2.0 * (T - 1); /* the two products over the N vectors per tree edge */
    }
    if (p->symmetry == NG_SYM_GOLDSTONE || p->symmetry == NG_SYM_SYNC_GOLDSTONE) {
        const int retract = p->gauge_solver == NG_GAUGE_RETRACT;
        lng += T * n * dd + (E + T) * n * d2 + k2 * T * T * d2;
        small += k2 * (9.0 * E + (retract ? 2.0 * E + T : 0.0)) * d3;
        fact += (retract ? k2 : 1.0) * T * d3;
        calls += E + T + k2; /* moments, rotations, L+'s products */
    }
    calls += (small + fact) / d3; /* one call per d x d product or factorisation */
    const double step = T * n * dd + (p->step_work > 0 ? p->step_work : 0.0);
    return (NGI_COST_LONG * lng + NGI_COST_SMALL * small + NGI_COST_FACT * fact + NGI_COST_CALL * calls) / step;
}

/* k1_eff = max(k1, ceil(r / max_overhead)), the least interval >= k1 with
 * r / k1_eff <= max_overhead (r = ng_goldstone_phase_cost); clamped to INT_MAX. */
static int phase_interval(const ng_goldstone_params *p, double r)
{
    if (!(p->max_overhead > 0) || p->symmetry == NG_SYM_NONE) return p->k1;
    double k = ceil(r / p->max_overhead);
    if (!(k < (double)INT_MAX)) return INT_MAX;
    return k > (double)p->k1 ? (int)k : p->k1;
}

static ng_status check_params(const ng_goldstone_params *p)
{
    if ((unsigned)p->symmetry > NG_SYM_SYNC_GOLDSTONE)
        return ngi_fail(NG_EINVAL, "ng_goldstone: symmetry = %d; expected none, goldstone, sync or sync+goldstone",
                       (int)p->symmetry);
    if ((unsigned)p->rotation > NG_ROT_EXP)
        return ngi_fail(NG_EINVAL, "ng_goldstone: rotation = %d; expected first-order, cayley or exp",
                       (int)p->rotation);
    if ((unsigned)p->gauge_solver > NG_GAUGE_RETRACT)
        return ngi_fail(NG_EINVAL, "ng_goldstone: gauge_solver = %d; expected quadratic or retract",
                       (int)p->gauge_solver);
    if (p->gauge_solver == NG_GAUGE_RETRACT && p->rotation == NG_ROT_FIRST_ORDER &&
        (p->symmetry == NG_SYM_GOLDSTONE || p->symmetry == NG_SYM_SYNC_GOLDSTONE))
        return ngi_fail(NG_EINVAL, "ng_goldstone: the retract gauge solver needs an exact rotation (cayley "
                                  "or exp), not first-order");
    if (p->k1 < 1 || p->k2 < 0)
        return ngi_fail(NG_EINVAL, "ng_goldstone: k1 = %d, k2 = %d; expected k1 >= 1, k2 >= 0", p->k1, p->k2);
    if (!(p->rho_scale > 0) || !isfinite(p->rho_scale))
        return ngi_fail(NG_EINVAL, "ng_goldstone: rho_scale = %g; expected a finite value > 0", p->rho_scale);
    if (!(p->apply_fraction > 0 && p->apply_fraction <= 1))
        return ngi_fail(NG_EINVAL, "ng_goldstone: apply_fraction = %g; expected in (0, 1]", p->apply_fraction);
    if (!isfinite(p->gauge_clip))
        return ngi_fail(NG_EINVAL, "ng_goldstone: gauge_clip = %g; expected finite", p->gauge_clip);
    if (!(p->step_work >= 0 && isfinite(p->step_work)))
        return ngi_fail(NG_EINVAL, "ng_goldstone: step_work = %g; expected finite and >= 0", p->step_work);
    if (!(p->min_gain >= 0 && isfinite(p->min_gain)))
        return ngi_fail(NG_EINVAL, "ng_goldstone: min_gain = %g; expected finite and >= 0 (0 = keep "
                                  "every phase)", p->min_gain);
    if (!(p->max_overhead >= 0 && p->max_overhead < 1))
        return ngi_fail(NG_EINVAL, "ng_goldstone: max_overhead = %g; expected in [0, 1) (0 = a phase every "
                                  "k1 steps)", p->max_overhead);
    return NG_OK;
}

ng_status ng_goldstone_new(const ng_goldstone_params *p, const ng_graph *graph, size_t N, size_t d,
                           ng_local_loss_fn fn, void *user, float *Z, ng_goldstone **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_goldstone_new: out is NULL");
    *out = NULL;
    if (!p || !graph || !fn || !Z)
        return ngi_fail(NG_EINVAL, "ng_goldstone_new: params, graph, model function or Z is NULL");
    if (N == 0 || d == 0) return ngi_fail(NG_EINVAL, "ng_goldstone_new: N = %zu, d = %zu; expected > 0", N, d);
    ng_status st = check_params(p);
    if (st) return st;
    size_t T = graph->T;
    if (N > SIZE_MAX / d / T / sizeof(float))
        return ngi_fail(NG_EINVAL, "ng_goldstone_new: T*N*d = %zu*%zu*%zu is too large", T, N, d);
    ng_goldstone *gs = ngi_xcalloc(1, sizeof *gs);
    if (!gs) return NG_ENOMEM;
    gs->p = *p;
    gs->g = graph;
    gs->T = T;
    gs->N = N;
    gs->d = d;
    gs->fn = fn;
    gs->user = user;
    gs->Z = Z;
    st = NG_ENOMEM;
    gs->grad = ngi_xmalloc(T * N * d * sizeof *gs->grad);
    gs->Gt = ngi_xcalloc(T * d * d, sizeof *gs->Gt);
    gs->idx = ngi_xmalloc(3 * T * sizeof *gs->idx);
    if (!gs->grad || !gs->Gt || !gs->idx) goto fail;
    if (p->min_gain > 0 && (p->symmetry == NG_SYM_GOLDSTONE || p->symmetry == NG_SYM_SYNC_GOLDSTONE) &&
        !(gs->Gt_save = ngi_xmalloc(T * d * d * sizeof *gs->Gt_save)))
        goto fail;
    if ((st = ngi_gauge_ws_alloc(&gs->ws, graph, N, d))) goto fail;
    if ((st = ng_inner_new(&p->inner, T * N * d, &gs->inner))) goto fail;
    gs->cost = ng_goldstone_phase_cost(p, graph, N, d);
    gs->interval = phase_interval(p, gs->cost);
    *out = gs;
    return NG_OK;
fail:
    ng_goldstone_free(gs);
    return st;
}

void ng_goldstone_free(ng_goldstone *gs)
{
    if (!gs) return;
    free(gs->grad);
    free(gs->Gt);
    free(gs->Gt_save);
    free(gs->idx);
    ngi_gauge_ws_free(&gs->ws);
    ng_inner_free(gs->inner);
    free(gs);
}

int64_t ng_goldstone_steps(const ng_goldstone *gs) { return gs->steps; }
void ng_goldstone_phases(const ng_goldstone *gs, int64_t *run, int64_t *kept)
{
    if (run) *run = gs->phases[0];
    if (kept) *kept = gs->phases[1];
}
int ng_goldstone_interval(const ng_goldstone *gs) { return gs->interval; }
const ng_goldstone_params *ng_goldstone_get_params(const ng_goldstone *gs) { return &gs->p; }

const ng_graph *ngi_goldstone_graph(const ng_goldstone *gs) { return gs->g; }

float *ngi_goldstone_z(const ng_goldstone *gs, size_t *T, size_t *N, size_t *d)
{
    if (T) *T = gs->T;
    if (N) *N = gs->N;
    if (d) *d = gs->d;
    return gs->Z;
}

ng_status ngi_goldstone_count_walls(ng_goldstone *gs, int *walls)
{
    return ngi_count_walls_ws(gs->g, gs->N, gs->d, gs->Z, walls, gs->ws.M, gs->ws.Rd, gs->ws.Mf,
                              gs->ws.rot, gs->ws.rot_len);
}

/* The gauge phase, and with the first-order rotation (the only one that changes norms) a
 * check that it did not stretch Z: the paper's variant diverges by warm-started gauge fields
 * that grow from phase to phase until I + Gamma inflates every slice (docs/goldstone.md);
 * stopping at the first stretch > NG_GAUGE_MAX_STRETCH catches that phases before the
 * values overflow. */
static ng_status gauge_checked(ng_goldstone *gs)
{
    const size_t n = gs->T * gs->N * gs->d;
    const int first_order = gs->p.rotation == NG_ROT_FIRST_ORDER && gs->p.gauge_solver == NG_GAUGE_QUADRATIC;
    double before = first_order ? ngi_sumsq(gs->Z, n) : 0.0;
    ng_status st = ngi_gauge_phase_ws(gs->g, gs->N, gs->d, gs->Z, gs->Gt, &gs->p, &gs->ws);
    if (st || !first_order || !(before > 0)) return st;
    double after = ngi_sumsq(gs->Z, n), gmax = 0.0;
    if (after <= NG_GAUGE_MAX_STRETCH * before) return NG_OK;
    for (size_t k = 0; k < gs->T * gs->d * gs->d; k++)
        if (fabs(gs->Gt[k]) > gmax) gmax = fabs(gs->Gt[k]);
    return ngi_fail(NG_ENUMERIC,
                    "ng_goldstone: the gauge phase after step %lld diverged: its first-order rotation "
                    "z <- (I + Gamma) z multiplied sum ||z||^2 by %.3g (at most %g: |Gamma| above ~1.7 rad "
                    "is no rotation); the gauge fields grow (max |Gamma~| %.3g); an exact rotation "
                    "(cayley, exp) or gauge fields reset every phase avoid this",
                    (long long)gs->steps, after / before, NG_GAUGE_MAX_STRETCH, gmax);
}

static ng_status phase(ng_goldstone *gs)
{
    ng_status st = NG_OK;
    size_t T = gs->T;
    ng_symmetry s = gs->p.symmetry;
    if (s == NG_SYM_SYNC || s == NG_SYM_SYNC_GOLDSTONE) {
        st = ngi_sync_ws(gs->g, gs->N, gs->d, gs->Z, NULL, gs->idx, gs->idx + T, gs->idx + 2 * T,
                        gs->ws.M, gs->ws.Rd, gs->ws.Mf, gs->ws.tmp, gs->ws.rot, gs->ws.rot_len);
        if (st) return st;
    }
    if (s == NG_SYM_GOLDSTONE || s == NG_SYM_SYNC_GOLDSTONE) {
        if (gs->p.gauge_reset) memset(gs->Gt, 0, T * gs->d * gs->d * sizeof *gs->Gt);
        st = gauge_checked(gs);
    }
    return st;
}

ng_status ng_goldstone_symmetry_phase(ng_goldstone *gs, double *seconds)
{
    double t0 = now_s();
    ng_status st = phase(gs);
    if (seconds) *seconds = now_s() - t0;
    return st;
}

static int all_finite(const float *x, size_t n)
{
    int bad = 0;
    const long ln = (long)n;
#pragma omp parallel for schedule(static) reduction(| : bad) if (ln > 65536)
    for (long k = 0; k < ln; k++) bad |= !isfinite(x[k]);
    return !bad;
}

/* The phase after a step whose objective at its start was loss; with min_gain > 0, undone
 * (Z from the gradient's buffer, free after the update; the gauge fields from Gt_save) unless
 * it lowered psi by min_gain * r * (L_{s-1} - L_s): what the r steps its time would buy are
 * expected to gain at the last step's rate. The first step has no rate: kept. */
static ng_status phase_or_undo(ng_goldstone *gs, double loss, ng_goldstone_stats *st0)
{
    const size_t n = gs->T * gs->N * gs->d, nG = gs->T * gs->d * gs->d;
    const int check = gs->p.min_gain > 0;
    double before = 0.0;
    if (check) {
        before = ng_graph_psi(gs->g, gs->N, gs->d, gs->Z);
        memcpy(gs->grad, gs->Z, n * sizeof *gs->Z);
        if (gs->Gt_save) memcpy(gs->Gt_save, gs->Gt, nG * sizeof *gs->Gt);
    }
    ng_status st = phase(gs);
    if (st) return st;
    if (!all_finite(gs->Z, n))
        return ngi_fail(NG_ENUMERIC, "ng_goldstone_step: diverged at step %lld (non-finite "
                       "parameters after the symmetry phase)", (long long)gs->steps - 1);
    gs->phases[0]++;
    st0->symmetry_kept = 1;
    if (check) {
        st0->symmetry_gain = before - ng_graph_psi(gs->g, gs->N, gs->d, gs->Z);
        if (gs->steps > 1) /* else no step before this one: NaN, kept */
            st0->symmetry_needed = gs->p.min_gain * gs->cost * (gs->last_loss - loss);
        if (!(st0->symmetry_gain > 0) || st0->symmetry_gain < st0->symmetry_needed) {
            memcpy(gs->Z, gs->grad, n * sizeof *gs->Z);
            if (gs->Gt_save) memcpy(gs->Gt, gs->Gt_save, nG * sizeof *gs->Gt);
            st0->symmetry_kept = 0;
        }
    }
    gs->phases[1] += st0->symmetry_kept;
    return NG_OK;
}

ng_status ng_goldstone_eval(ng_goldstone *gs, double *loss, double *ell, double *psi)
{
    double e = 0.0;
    ng_status st = gs->fn(gs->user, gs->Z, NULL, &e);
    if (st) return st;
    double p = ng_graph_psi(gs->g, gs->N, gs->d, gs->Z);
    if (ell) *ell = e;
    if (psi) *psi = p;
    if (loss) *loss = e + p;
    return NG_OK;
}

ng_status ng_goldstone_step(ng_goldstone *gs, int count_walls, ng_goldstone_stats *stats)
{
    double t0 = now_s();
    size_t n = gs->T * gs->N * gs->d;
    ng_goldstone_stats st0;
    memset(&st0, 0, sizeof st0);
    st0.walls = -1;
    st0.symmetry_gain = st0.symmetry_needed = NAN;
    memset(gs->grad, 0, n * sizeof *gs->grad);
    double ell = 0.0, psi = 0.0;
    ng_status st = gs->fn(gs->user, gs->Z, gs->grad, &ell);
    if (st) return st;
    if ((st = ng_graph_psi_grad(gs->g, gs->N, gs->d, gs->Z, gs->grad, &psi))) return st;
    int64_t s = gs->steps;
    if (!isfinite(ell) || !isfinite(psi))
        return ngi_fail(NG_ENUMERIC, "ng_goldstone_step: diverged at step %lld (loss %g + psi %g)",
                       (long long)s, ell, psi);
    /* before the update: clipping would silently turn an Inf/NaN gradient into +-clip */
    if (!all_finite(gs->grad, n))
        return ngi_fail(NG_ENUMERIC, "ng_goldstone_step: diverged at step %lld (non-finite gradient)",
                       (long long)s);
    ng_inner_step(gs->inner, gs->Z, gs->grad);
    if (!all_finite(gs->Z, n))
        return ngi_fail(NG_ENUMERIC, "ng_goldstone_step: diverged at step %lld (non-finite parameters "
                       "after the update)", (long long)s);
    gs->steps = s + 1;
    st0.step = gs->steps;
    st0.ell = ell;
    st0.psi = psi;
    st0.loss = ell + psi;
    if (gs->p.symmetry != NG_SYM_NONE && gs->steps % gs->interval == 0) {
        double t1 = now_s();
        if (count_walls) {
            int w = 0;
            if ((st = ngi_goldstone_count_walls(gs, &w))) return st;
            st0.walls = w;
        }
        if ((st = phase_or_undo(gs, ell + psi, &st0))) return st;
        st0.symmetry_ran = 1;
        st0.symmetry_seconds = now_s() - t1;
    } else if (count_walls) {
        int w = 0;
        if ((st = ngi_goldstone_count_walls(gs, &w))) return st;
        st0.walls = w;
    }
    gs->last_loss = ell + psi;
    st0.seconds = now_s() - t0;
    if (stats) *stats = st0;
    return NG_OK;
}

size_t ng_goldstone_state(ng_goldstone *gs, ng_ckpt_array *arrays, size_t cap)
{
    enum { OWN = 4 };
    size_t count = OWN + ng_inner_state(gs->inner, NULL, 0);
    if (!arrays) return count;
    ng_ckpt_array own[OWN] = {ng_ckpt_view("goldstone_steps", NG_I64, &gs->steps, 1, 1, 0, 0),
                              ng_ckpt_view("gauge", NG_F64, gs->Gt, 3, gs->T, gs->d, gs->d),
                              ng_ckpt_view("goldstone_phases", NG_I64, gs->phases, 1, 2, 0, 0),
                              ng_ckpt_view("goldstone_last_loss", NG_F64, &gs->last_loss, 1, 1, 0, 0)};
    for (size_t j = 0; j < OWN && j < cap; j++) arrays[j] = own[j];
    if (cap > OWN) ng_inner_state(gs->inner, arrays + OWN, cap - OWN);
    return count;
}

ng_status ng_goldstone_state_loaded(ng_goldstone *gs)
{
    if (gs->steps < 0 || ng_inner_steps(gs->inner) != gs->steps)
        return ngi_fail(NG_EMISMATCH, "ng_goldstone_state_loaded: step counts %lld (method) and %lld "
                        "(inner optimiser) differ", (long long)gs->steps, (long long)ng_inner_steps(gs->inner));
    if (gs->phases[0] < 0 || gs->phases[1] < 0 || gs->phases[1] > gs->phases[0])
        return ngi_fail(NG_EMISMATCH, "ng_goldstone_state_loaded: %lld phases kept of %lld run",
                        (long long)gs->phases[1], (long long)gs->phases[0]);
    return ng_inner_state_loaded(gs->inner);
}
