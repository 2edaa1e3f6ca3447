/* test_goldstone_gain.c - ng_goldstone_params.min_gain: a symmetry phase is kept only when
 * it lowers psi by min_gain * r * (L_{s-1} - L_s). Pinned: the threshold (a phase kept just
 * below it, undone just above), the reported gain (psi's decrease, seen from a twin run that
 * undid the phase), an undone phase restores Z bit for bit (a run whose phases are all undone
 * is the run without phases), the counts, the state round trip (L_{s-1} travels), the
 * paper's variant and min_gain 0 keep every phase, bad values refused. */
#include "goldstone_internal.h"
#include "ngtest.h"

typedef struct {
    ng_toy *toy;
    float *Z;
    ng_goldstone *gs;
} run;

static ng_goldstone_params method(ng_symmetry s, double min_gain)
{
    ng_goldstone_params gp = ng_goldstone_default_params();
    gp.symmetry = s;
    gp.k1 = 5;
    gp.max_overhead = 0.0; /* phases every k1 steps exactly */
    gp.min_gain = min_gain;
    gp.inner = ng_inner_default_params(NG_INNER_ADAGRAD);
    gp.inner.rho0 = 0.05;
    return gp;
}

static int run_new(run *r, const ng_goldstone_params *gp, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    ng_toy_params tp = ng_toy_default_params();
    tp.T = 8;
    tp.rows = 5;
    tp.cols = 6;
    tp.d = 3;
    if (ng_toy_new(&tp, &r->toy)) return 0;
    r->Z = malloc(ng_toy_size(r->toy) * sizeof *r->Z);
    if (!r->Z) return 0;
    ng_toy_init(r->toy, seed, r->Z);
    return ng_toy_goldstone_new(r->toy, gp, r->Z, &r->gs) == NG_OK;
}

static void run_free(run *r)
{
    ng_goldstone_free(r->gs);
    ng_toy_free(r->toy);
    free(r->Z);
}

static size_t z_bytes(const run *r) { return ng_toy_size(r->toy) * sizeof *r->Z; }

/* steps up to and including the first phase; *prev gets the stats of the step before it */
static int to_first_phase(run *r, ng_goldstone_stats *prev, ng_goldstone_stats *st)
{
    for (int s = 0; s < 100; s++) {
        if (st) *prev = *st;
        if (ng_goldstone_step(r->gs, 0, st) != NG_OK) return 0;
        if (st->symmetry_ran) return 1;
    }
    return 0;
}

/* kept exactly when gain >= needed, needed = min_gain * r * (L_{s-1} - L_s) */
static void test_threshold(void)
{
    ng_goldstone_params gp = method(NG_SYM_SYNC, 1e-9);
    run a;
    NG_CHECK(run_new(&a, &gp, 3));
    ng_goldstone_stats prev, st;
    memset(&st, 0, sizeof st);
    NG_CHECK(to_first_phase(&a, &prev, &st));
    NG_CHECK(st.step == 5 && st.symmetry_kept == 1);
    double rate = prev.loss - st.loss, r = ng_goldstone_phase_cost(&gp, ng_toy_graph(a.toy),
                                                                 ng_toy_num_vectors(a.toy), 3);
    NG_CHECK_MSG(rate > 0 && r > 0 && st.symmetry_gain > 0, "rate %g r %g gain %g", rate, r, st.symmetry_gain);
    NG_CHECK_MSG(st.symmetry_needed == gp.min_gain * r * rate, "needed %.17g, expected %.17g",
                 st.symmetry_needed, gp.min_gain * r * rate);
    const double q = st.symmetry_gain / (r * rate); /* the min_gain at which it flips */
    int64_t run_n = 0, kept = 0;
    ng_goldstone_phases(a.gs, &run_n, &kept);
    NG_CHECK(run_n == 1 && kept == 1);
    for (int side = 0; side < 2; side++) {
        ng_goldstone_params g2 = method(NG_SYM_SYNC, q * (side ? 1.01 : 0.99));
        run b;
        NG_CHECK(run_new(&b, &g2, 3));
        ng_goldstone_stats p2, s2;
        memset(&s2, 0, sizeof s2);
        NG_CHECK(to_first_phase(&b, &p2, &s2));
        NG_CHECK(s2.symmetry_gain == st.symmetry_gain); /* the same run up to here */
        NG_CHECK_MSG(s2.symmetry_kept == !side, "min_gain %.4g x the flip point: kept %d", side ? 1.01 : 0.99,
                     s2.symmetry_kept);
        ng_goldstone_phases(b.gs, &run_n, &kept);
        NG_CHECK(run_n == 1 && kept == !side);
        run_free(&b);
    }
    run_free(&a);
}

/* the gain is psi's decrease: a twin that undid the phase holds the pre-phase Z */
static void test_gain_is_psi_decrease(void)
{
    ng_goldstone_params keep = method(NG_SYM_SYNC_GOLDSTONE, 1e-9), undo = method(NG_SYM_SYNC_GOLDSTONE, 1e9);
    run a, b;
    NG_CHECK(run_new(&a, &keep, 4) && run_new(&b, &undo, 4));
    ng_goldstone_stats pa, sa, pb, sb;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    NG_CHECK(to_first_phase(&a, &pa, &sa) && to_first_phase(&b, &pb, &sb));
    NG_CHECK(sa.symmetry_kept == 1 && sb.symmetry_kept == 0);
    NG_CHECK(sa.symmetry_gain == sb.symmetry_gain);
    double psi_a = 0, psi_b = 0;
    NG_CHECK(ng_goldstone_eval(a.gs, NULL, NULL, &psi_a) == NG_OK);
    NG_CHECK(ng_goldstone_eval(b.gs, NULL, NULL, &psi_b) == NG_OK);
    NG_CHECK_MSG(psi_b - psi_a == sa.symmetry_gain, "psi %.17g - %.17g vs gain %.17g", psi_b, psi_a,
                 sa.symmetry_gain);
    run_free(&a);
    run_free(&b);
}

/* every phase undone: bit for bit the run without phases (both kinds of phase, warm gauge
 * fields restored too) */
static void test_undone_is_none(void)
{
    const ng_symmetry kinds[] = {NG_SYM_SYNC, NG_SYM_GOLDSTONE, NG_SYM_SYNC_GOLDSTONE};
    for (int k = 0; k < 3; k++) {
        ng_goldstone_params undo = method(kinds[k], 1e9), none = method(NG_SYM_NONE, 0.0);
        undo.gauge_solver = NG_GAUGE_QUADRATIC; /* warm gauge fields that must be restored */
        undo.gauge_reset = 0;
        run a, b;
        NG_CHECK(run_new(&a, &undo, 5) && run_new(&b, &none, 5));
        int undone = 0, same = 1;
        for (int s = 0; s < 40; s++) {
            ng_goldstone_stats st;
            NG_CHECK(ng_goldstone_step(a.gs, 0, &st) == NG_OK && ng_goldstone_step(b.gs, 0, NULL) == NG_OK);
            undone += st.symmetry_ran && !st.symmetry_kept;
            same &= memcmp(a.Z, b.Z, z_bytes(&a)) == 0;
        }
        NG_CHECK_MSG(undone == 8 && same, "%s: %d phases undone, Z %s", ng_symmetry_name(kinds[k]), undone,
                     same ? "same" : "differs from the run without phases");
        int64_t n = 0, kept = 0;
        ng_goldstone_phases(a.gs, &n, &kept);
        NG_CHECK(n == 8 && kept == 0);
        /* the warm gauge fields are restored too: still the zeros they started as */
        ng_ckpt_array arr[16];
        size_t na = ng_goldstone_state(a.gs, arr, 16);
        NG_CHECK(na <= 16 && !strcmp(arr[1].name, "gauge"));
        double gmax = 0.0;
        const double *G = arr[1].t.data;
        for (size_t j = 0; j < ng_tensor_count(&arr[1].t); j++) gmax = fmax(gmax, fabs(G[j]));
        NG_CHECK_MSG(gmax == 0.0, "%s: gauge fields %g after undone phases", ng_symmetry_name(kinds[k]), gmax);
        run_free(&a);
        run_free(&b);
    }
}

/* min_gain 0 (the paper's variant among others) keeps every phase and measures nothing */
static void test_zero_keeps_all(void)
{
    ng_goldstone_params gp = method(NG_SYM_SYNC, 0.0);
    ng_goldstone_params paper = ng_goldstone_default_params();
    ng_goldstone_paper_variant(&paper);
    NG_CHECK(paper.min_gain == 0.0 && ng_goldstone_default_params().min_gain == 2.0);
    run a;
    NG_CHECK(run_new(&a, &gp, 6));
    for (int s = 0; s < 20; s++) {
        ng_goldstone_stats st;
        NG_CHECK(ng_goldstone_step(a.gs, 0, &st) == NG_OK);
        if (st.symmetry_ran) NG_CHECK(st.symmetry_kept == 1 && isnan(st.symmetry_gain));
    }
    int64_t n = 0, kept = 0;
    ng_goldstone_phases(a.gs, &n, &kept);
    NG_CHECK(n == 4 && kept == 4);
    run_free(&a);
}

/* state saved the step before a phase and loaded into a fresh method: the phase's decision
 * needs L_{s-1}, which must travel with the state */
static void test_state_round_trip(void)
{
    ng_goldstone_params gp = method(NG_SYM_SYNC, 1e9);
    run a, b;
    NG_CHECK(run_new(&a, &gp, 7) && run_new(&b, &gp, 8));
    for (int s = 0; s < 9; s++) NG_CHECK(ng_goldstone_step(a.gs, 0, NULL) == NG_OK); /* phase at 5 undone */
    ng_ckpt_array sa[16], sb[16];
    size_t n = ng_goldstone_state(a.gs, sa, 16);
    NG_CHECK(n == ng_goldstone_state(b.gs, sb, 16) && n <= 16);
    int names = 1;
    for (size_t j = 0; j < n && j < 16; j++) {
        names &= !strcmp(sa[j].name, sb[j].name);
        memcpy(sb[j].t.data, sa[j].t.data, ng_tensor_count(&sa[j].t) * ng_dtype_size(sa[j].t.dtype));
    }
    NG_CHECK(names && !strcmp(sa[2].name, "goldstone_phases") && !strcmp(sa[3].name, "goldstone_last_loss"));
    memcpy(b.Z, a.Z, z_bytes(&a));
    NG_CHECK(ng_goldstone_state_loaded(b.gs) == NG_OK);
    ng_goldstone_stats st_a, st_b;
    NG_CHECK(ng_goldstone_step(a.gs, 0, &st_a) == NG_OK && ng_goldstone_step(b.gs, 0, &st_b) == NG_OK);
    NG_CHECK(st_a.symmetry_ran && st_b.symmetry_ran);
    NG_CHECK_MSG(st_a.symmetry_kept == 0 && st_b.symmetry_kept == 0 && st_a.symmetry_needed == st_b.symmetry_needed,
                 "after the round trip: kept %d/%d, needed %g/%g", st_a.symmetry_kept, st_b.symmetry_kept,
                 st_a.symmetry_needed, st_b.symmetry_needed);
    NG_CHECK(memcmp(a.Z, b.Z, z_bytes(&a)) == 0);
    int64_t na = 0, ka = 0, nb = 0, kb = 0;
    ng_goldstone_phases(a.gs, &na, &ka);
    ng_goldstone_phases(b.gs, &nb, &kb);
    NG_CHECK(na == 2 && nb == 2 && ka == kb);
    /* a state claiming more phases kept than run is refused */
    int64_t *ph = sb[2].t.data;
    ph[1] = ph[0] + 1;
    NG_CHECK(ng_goldstone_state_loaded(b.gs) == NG_EMISMATCH);
    NG_CHECK(strstr(ng_last_error(), "phases kept") != NULL);
    run_free(&a);
    run_free(&b);
}

static void test_bad_values(void)
{
    const double bad[] = {-1.0, NAN, INFINITY};
    for (int k = 0; k < 3; k++) {
        ng_goldstone_params gp = method(NG_SYM_SYNC, bad[k]);
        run a;
        NG_CHECK(!run_new(&a, &gp, 1));
        NG_CHECK(strstr(ng_last_error(), "min_gain") != NULL);
        run_free(&a);
    }
}

int main(void)
{
    NG_RUN(test_threshold);
    NG_RUN(test_gain_is_psi_decrease);
    NG_RUN(test_undone_is_none);
    NG_RUN(test_zero_keeps_all);
    NG_RUN(test_state_round_trip);
    NG_RUN(test_bad_values);
    return ng_test_summary();
}
