/* test_goldstone_task.c - Goldstone-GD models as training tasks: the task's steps are
 * the method's steps (same Z as a hand-written loop), a row holds the objective at the
 * current point, the model's columns, the symmetry time so far and the walls; a row at
 * step k equals the report of step k + 1 bit for bit; the state round trip continues a
 * run exactly; steps and rows allocate nothing; the toy and dmf as tasks. */
#include "goldstone_internal.h"
#include "ngtest.h"

#include <omp.h>

typedef struct {
    ng_toy *toy;
    float *Z;
    ng_goldstone *gs;
    ng_goldstone_task *task;
    ng_task k;
} fixture;

static ng_toy_params small_toy(void)
{
    ng_toy_params tp = ng_toy_default_params();
    tp.T = 6;
    tp.rows = 4;
    tp.cols = 5;
    tp.d = 2;
    tp.lambda = 3.0;
    return tp;
}

static ng_goldstone_params method(void)
{
    ng_goldstone_params gp = ng_goldstone_default_params();
    gp.symmetry = NG_SYM_SYNC_GOLDSTONE;
    gp.k1 = 3;
    gp.max_overhead = 0.0; /* phases every k1 steps exactly */
    return gp;
}

static int fixture_new(fixture *f, const ng_goldstone_params *gp, uint64_t seed, int count_walls)
{
    memset(f, 0, sizeof *f);
    ng_toy_params tp = small_toy();
    if (ng_toy_new(&tp, &f->toy)) return 0;
    f->Z = malloc(ng_toy_size(f->toy) * sizeof *f->Z);
    ng_toy_init(f->toy, seed, f->Z);
    if (ng_toy_goldstone_new(f->toy, gp, f->Z, &f->gs)) return 0;
    ng_goldstone_task_params p = ng_toy_task_params(f->toy);
    p.count_walls = count_walls;
    if (ng_goldstone_task_new(f->gs, f->Z, &p, &f->task)) return 0;
    f->k = ng_goldstone_task_get(f->task);
    return 1;
}

static void fixture_free(fixture *f)
{
    ng_goldstone_task_free(f->task);
    ng_goldstone_free(f->gs);
    ng_toy_free(f->toy);
    free(f->Z);
}

static void test_columns(void)
{
    ng_goldstone_params gp = method();
    fixture f;
    NG_CHECK(fixture_new(&f, &gp, 1, 1));
    static const char *const want[] = {"loss", "ell", "psi", "gap", "symmetry_seconds", "walls", "phases",
                                       "phases_kept"};
    NG_CHECK(f.k.n_cols == 8);
    for (size_t j = 0; j < 8 && j < f.k.n_cols; j++) NG_CHECK(!strcmp(f.k.cols[j], want[j]));
    NG_CHECK(!strcmp(f.k.name, "goldstone-toy"));
    NG_CHECK(!strcmp(f.k.counter, "step"));
    NG_CHECK(f.k.n_step_cols == 4 && !strcmp(f.k.step_cols[3], "symmetry_seconds"));
    fixture_free(&f);
}

/* the task's steps against ng_goldstone_step on a second copy */
static void test_steps_match_loop(void)
{
    ng_goldstone_params gp = method();
    fixture f;
    NG_CHECK(fixture_new(&f, &gp, 2, 0));
    size_t n = ng_toy_size(f.toy);
    float *Z2 = malloc(n * sizeof *Z2);
    ng_toy_init(f.toy, 2, Z2);
    ng_goldstone *g2 = NULL;
    NG_CHECK(ng_toy_goldstone_new(f.toy, &gp, Z2, &g2) == NG_OK);
    int same_report = 1;
    for (int64_t s = 0; s < 20; s++) {
        double v[4];
        ng_goldstone_stats st;
        NG_CHECK(f.k.step(f.k.self, s, v) == NG_OK);
        NG_CHECK(ng_goldstone_step(g2, 0, &st) == NG_OK);
        same_report &= v[0] == st.loss && v[1] == st.ell && v[2] == st.psi;
    }
    NG_CHECK(same_report);
    NG_CHECK(memcmp(f.Z, Z2, n * sizeof *Z2) == 0);
    NG_CHECK(ng_goldstone_steps(f.gs) == 20);
    ng_goldstone_free(g2);
    free(Z2);
    fixture_free(&f);
}

/* A row against ng_goldstone_eval, the toy's gap, the step reports and ng_count_walls;
 * the row at step k is the report of step k + 1, bit for bit (the old toy log's values) */
static void test_row_values(void)
{
    ng_goldstone_params gp = method();
    fixture f;
    NG_CHECK(fixture_new(&f, &gp, 3, 1));
    double Lstar = ng_toy_optimum(f.toy), sym = 0.0;
    int bits = 1;
    for (int64_t s = 0; s < 12; s++) {
        double row[8], v[4], L, ell, psi;
        NG_CHECK(f.k.row(f.k.self, row) == NG_OK);
        NG_CHECK(ng_goldstone_eval(f.gs, &L, &ell, &psi) == NG_OK);
        int w = -2;
        NG_CHECK(ng_count_walls(ng_toy_graph(f.toy), ng_toy_num_vectors(f.toy), 2, f.Z, &w) == NG_OK);
        NG_CHECK(row[0] == L && row[1] == ell && row[2] == psi);
        NG_CHECK(row[3] == L - Lstar);
        NG_CHECK(row[4] == sym);
        NG_CHECK(row[5] == (double)w);
        int64_t phases = 0, kept = 0;
        ng_goldstone_phases(f.gs, &phases, &kept);
        NG_CHECK(row[6] == (double)phases && row[7] == (double)kept && phases == s / 3);
        NG_CHECK(f.k.step(f.k.self, s, v) == NG_OK);
        bits &= v[0] == row[0] && v[1] == row[1] && v[2] == row[2];
        sym += v[3];
        NG_CHECK(v[3] >= 0.0);
    }
    NG_CHECK_MSG(bits, "a row's loss, ell, psi differ from the next step's report");
    fixture_free(&f);
    /* without count_walls the column is NaN (an empty field in the log) */
    NG_CHECK(fixture_new(&f, &gp, 3, 0));
    double row[8];
    NG_CHECK(f.k.row(f.k.self, row) == NG_OK);
    NG_CHECK(isnan(row[5]));
    fixture_free(&f);
}

/* psi and sum ||z||^2 are the same for any thread count and every call (a row's psi is
 * the step's psi at the same point; rho' and the trajectory are reproducible) */
static void test_thread_invariance(void)
{
    size_t T = 40, N = 2000, d = 3, n = T * N * d;
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(T, 10.0, &g) == NG_OK);
    float *Z = malloc(n * sizeof *Z), *G1 = calloc(n, sizeof *G1), *G8 = calloc(n, sizeof *G8);
    ng_rng r;
    ng_rng_seed(&r, 11);
    ng_rng_fill_normal(&r, Z, n, 0.0f, 1.0f);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    double psi1 = ng_graph_psi(g, N, d, Z), ss1 = ngi_sumsq(Z, n), pg1 = 0.0;
    NG_CHECK(ng_graph_psi_grad(g, N, d, Z, G1, &pg1) == NG_OK);
    omp_set_num_threads(8);
    int same = pg1 == psi1;
    for (int k = 0; k < 40; k++) same &= ng_graph_psi(g, N, d, Z) == psi1 && ngi_sumsq(Z, n) == ss1;
    double pg8 = 0.0;
    NG_CHECK(ng_graph_psi_grad(g, N, d, Z, G8, &pg8) == NG_OK);
    omp_set_num_threads(saved);
    NG_CHECK_MSG(same && pg8 == psi1, "psi or sum of squares depends on the threads");
    NG_CHECK(memcmp(G1, G8, n * sizeof *G1) == 0);
    NG_CHECK_REL(ss1, (double)n, 0.02, 1.0);
    free(Z);
    free(G1);
    free(G8);
    ng_graph_free(g);
}

static void test_no_allocation(void)
{
    ng_goldstone_params gp = method();
    fixture f;
    NG_CHECK(fixture_new(&f, &gp, 4, 1));
    double v[4], row[8];
    size_t a0 = ngi_alloc_count();
    for (int64_t s = 0; s < 7; s++) {
        NG_CHECK(f.k.step(f.k.self, s, v) == NG_OK);
        NG_CHECK(f.k.row(f.k.self, row) == NG_OK);
    }
    NG_CHECK_MSG(ngi_alloc_count() == a0, "%zu allocations in steps and rows", ngi_alloc_count() - a0);
    fixture_free(&f);
}

/* checkpoint after k steps, load into a fresh task, continue: the same Z and rows as the
 * uninterrupted run */
static ng_status save_task(const ng_task *k, const char *dir, int64_t step)
{
    ng_ckpt_array a[16];
    size_t n = k->state(k->self, a, 16);
    return n <= 16 ? ng_ckpt_save(dir, k->name, step, a, n) : NG_EINVAL;
}

static ng_status load_task(const ng_task *k, const char *dir, int64_t *step)
{
    ng_ckpt_array a[16];
    size_t n = k->state(k->self, a, 16);
    if (n > 16) return NG_EINVAL;
    ng_status st = ng_ckpt_load(dir, k->name, step, a, n);
    return st ? st : k->state_loaded(k->self);
}

static void test_state_round_trip(void)
{
    ng_goldstone_params gp = method();
    gp.gauge_solver = NG_GAUGE_QUADRATIC; /* warm gauge fields: Gamma~ must travel */
    gp.gauge_reset = 0;
    gp.rotation = NG_ROT_FIRST_ORDER;
    gp.inner = ng_inner_default_params(NG_INNER_ADAM); /* moments must travel too */
    gp.inner.rho0 = 0.01;
    char *dir = ng_test_path("goldstone_task_ckpt");
    fixture a, b;
    NG_CHECK(fixture_new(&a, &gp, 5, 1));
    NG_CHECK(fixture_new(&b, &gp, 99, 1)); /* another start: everything must come from the file */
    double v[4], ra[8], rb[8];
    for (int64_t s = 0; s < 7; s++) NG_CHECK(a.k.step(a.k.self, s, v) == NG_OK);
    NG_CHECK(save_task(&a.k, dir, 7) == NG_OK);
    ng_ckpt_array arr[16];
    size_t n = a.k.state(a.k.self, arr, 16);
    NG_CHECK(n == 2 + ng_goldstone_state(a.gs, NULL, 0));
    NG_CHECK(!strcmp(arr[0].name, "Z") && !strcmp(arr[1].name, "symmetry_seconds"));
    int64_t step = 0;
    NG_CHECK(load_task(&b.k, dir, &step) == NG_OK);
    NG_CHECK(step == 7);
    NG_CHECK(ng_goldstone_steps(b.gs) == 7);
    /* at the checkpoint's point the rows agree in every column, symmetry time included */
    NG_CHECK(a.k.row(a.k.self, ra) == NG_OK && b.k.row(b.k.self, rb) == NG_OK);
    NG_CHECK(memcmp(ra, rb, sizeof ra) == 0 && ra[4] > 0.0);
    int same = 1;
    for (int64_t s = 7; s < 16; s++) {
        NG_CHECK(a.k.step(a.k.self, s, v) == NG_OK);
        NG_CHECK(b.k.step(b.k.self, s, v) == NG_OK);
        NG_CHECK(a.k.row(a.k.self, ra) == NG_OK);
        NG_CHECK(b.k.row(b.k.self, rb) == NG_OK);
        for (int j = 0; j < 8; j++)
            if (j != 4) same &= ra[j] == rb[j]; /* symmetry_seconds is a timing */
    }
    NG_CHECK(same);
    NG_CHECK(memcmp(a.Z, b.Z, ng_toy_size(a.toy) * sizeof *a.Z) == 0);
    fixture_free(&a);
    fixture_free(&b);
    free(dir);
}

/* the same through ng_train_run: a run stopped at step 6 with a checkpoint, resumed into
 * a fresh task up to 12, logs what an uninterrupted run logs and ends at the same Z */
static void test_train_run_resume(void)
{
    ng_goldstone_params gp = method();
    gp.inner = ng_inner_default_params(NG_INNER_ADAGRAD);
    char *la = ng_test_path("goldstone_task_a.csv"), *lb = ng_test_path("goldstone_task_b.csv");
    char *dir = ng_test_path("goldstone_task_run_ckpt");
    remove(la);
    remove(lb);
    ng_train_params tp = ng_train_default_params();
    tp.steps = 12;
    tp.eval_every = 2;
    tp.log = la;
    fixture a, b1, b2;
    NG_CHECK(fixture_new(&a, &gp, 8, 1));
    NG_CHECK(ng_train_run(&a.k, &tp, NULL) == NG_OK);
    tp.log = lb;
    tp.steps = 6;
    tp.checkpoint = dir;
    NG_CHECK(fixture_new(&b1, &gp, 8, 1));
    NG_CHECK(ng_train_run(&b1.k, &tp, NULL) == NG_OK);
    tp.steps = 12;
    tp.resume = 1;
    ng_train_status st;
    NG_CHECK(fixture_new(&b2, &gp, 77, 1));
    NG_CHECK(ng_train_run(&b2.k, &tp, &st) == NG_OK);
    NG_CHECK(st.resumed && st.start_step == 6 && st.step == 12);
    NG_CHECK(memcmp(a.Z, b2.Z, ng_toy_size(a.toy) * sizeof *a.Z) == 0);
    char *va = ng_test_log_values(la), *vb = ng_test_log_values(lb);
    NG_CHECK(va && vb && !strcmp(va, vb));
    NG_CHECK(va && strstr(va, "step,loss,ell,psi,gap,walls,phases,phases_kept,\n0,") == va);
    free(va);
    free(vb);
    fixture_free(&a);
    fixture_free(&b1);
    fixture_free(&b2);
    free(la);
    free(lb);
    free(dir);
}

static void test_errors(void)
{
    ng_goldstone_params gp = method();
    fixture f;
    NG_CHECK(fixture_new(&f, &gp, 6, 0));
    ng_goldstone_task_params p = ng_toy_task_params(f.toy);
    ng_goldstone_task *t = NULL;
    float other[4];
    NG_CHECK(ng_goldstone_task_new(f.gs, other, &p, &t) == NG_EINVAL && !t);
    NG_CHECK(strstr(ng_last_error(), "Z") != NULL);
    p.eval = NULL;
    NG_CHECK(ng_goldstone_task_new(f.gs, f.Z, &p, &t) == NG_EINVAL && !t);
    p = ng_toy_task_params(f.toy);
    p.name = NULL;
    NG_CHECK(ng_goldstone_task_new(f.gs, f.Z, &p, &t) == NG_EINVAL && !t);
    /* a model with no columns of its own */
    p = ng_toy_task_params(f.toy);
    p.n_cols = 0;
    p.eval = NULL;
    NG_CHECK(ng_goldstone_task_new(f.gs, f.Z, &p, &t) == NG_OK);
    ng_task k = ng_goldstone_task_get(t);
    double row[7];
    NG_CHECK(k.n_cols == 7 && !strcmp(k.cols[3], "symmetry_seconds"));
    NG_CHECK(k.row(k.self, row) == NG_OK && isnan(row[4]));
    ng_goldstone_task_free(t);
    fixture_free(&f);
}

static void test_toy_object(void)
{
    ng_toy_params tp = ng_toy_default_params();
    NG_CHECK(tp.T == 30 && tp.rows == 10 && tp.cols == 10 && tp.d == 3 && tp.lambda == 10.0);
    NG_CHECK(tp.noise_var == 1e-3 && tp.init_std == 1.0 && tp.data_seed == 42 && tp.seed == 1 && !tp.init_equal);
    ng_train_params rp = ng_toy_train_params();
    NG_CHECK(rp.steps == 20000 && rp.eval_every == 10 && rp.checkpoint_every == 1000);
    tp = small_toy();
    ng_toy *t = NULL;
    NG_CHECK(ng_toy_new(&tp, &t) == NG_OK);
    ng_gauss_mf *m = NULL;
    NG_CHECK(ng_gauss_mf_toy(tp.T, tp.rows, tp.cols, tp.d, tp.noise_var, tp.data_seed, &m) == NG_OK);
    double Ls = 0.0;
    NG_CHECK(ng_gauss_mf_rank_bound(m, &Ls) == NG_OK);
    NG_CHECK(ng_toy_optimum(t) == Ls);
    NG_CHECK(ng_toy_num_vectors(t) == 9 && ng_toy_size(t) == 6 * 9 * 2);
    NG_CHECK(!memcmp(ng_gauss_mf_data(m), ng_gauss_mf_data(ng_toy_model(t)), 6 * 20 * sizeof(float)));
    NG_CHECK(ng_graph_nodes(ng_toy_graph(t)) == 6 && ng_graph_is_chain(ng_toy_graph(t)));
    /* the initial Z: ng_gauss_mf_init from the seed; init_equal copies slice 0 */
    float Z[108], R[108];
    ng_toy_init(t, 7, Z);
    ng_rng r;
    ng_rng_seed(&r, 7);
    ng_gauss_mf_init(m, &r, 1.0, R);
    NG_CHECK(!memcmp(Z, R, sizeof Z));
    ng_toy_free(t);
    tp.init_equal = 1;
    NG_CHECK(ng_toy_new(&tp, &t) == NG_OK);
    ng_toy_init(t, 7, Z);
    int eq = 1;
    for (size_t s = 1; s < 6; s++) eq &= !memcmp(Z + s * 18, R, 18 * sizeof *Z);
    NG_CHECK(eq && !memcmp(Z, R, 18 * sizeof *Z));
    ng_toy_free(t);
    tp.init_std = -1.0;
    NG_CHECK(ng_toy_new(&tp, &t) == NG_EINVAL && !t);
    tp = small_toy();
    tp.lambda = 0.0;
    NG_CHECK(ng_toy_new(&tp, &t) != NG_OK && !t);
    ng_gauss_mf_free(m);
}

/* dmf as a task: its row columns are ng_dmf_evaluate's */
static void test_dmf_task(void)
{
    ng_dmf_params dp = ng_dmf_default_params();
    NG_CHECK(dp.dim == 30 && dp.lambda == 10.0 && dp.gamma == 1.0 && dp.init_std == 0.1);
    ng_synth_ratings_params sp = ng_synth_ratings_default_params();
    sp.n_users = 40;
    sp.n_items = 30;
    sp.n_ratings = 1500;
    sp.dim = 3;
    ng_ratings R;
    NG_CHECK(ng_synth_ratings(&sp, &R) == NG_OK);
    ng_dmf_prep_params pp = ng_dmf_prep_default_params();
    pp.bins = 4;
    ng_dmf_data D;
    NG_CHECK(ng_dmf_prepare(&R, &pp, &D) == NG_OK);
    ng_dmf_model *m = NULL;
    size_t d = 3, N = D.n_users + D.n_items, n = D.T * N * d;
    NG_CHECK(ng_dmf_model_new(&D, d, dp.gamma, &m) == NG_OK);
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(D.T, dp.lambda, &g) == NG_OK);
    float *Z = malloc(n * sizeof *Z);
    ng_rng r;
    ng_rng_seed(&r, 3);
    ng_dmf_init(m, &r, dp.init_std, Z);
    ng_goldstone_params gp = ng_goldstone_default_params();
    gp.inner = ng_inner_default_params(NG_INNER_ADAGRAD);
    ng_goldstone *gs = NULL;
    NG_CHECK(ng_goldstone_new(&gp, g, N, d, ng_dmf_loss, m, Z, &gs) == NG_OK);
    ng_goldstone_task_params p = ng_dmf_task_params(m);
    ng_goldstone_task *t = NULL;
    NG_CHECK(ng_goldstone_task_new(gs, Z, &p, &t) == NG_OK);
    ng_task k = ng_goldstone_task_get(t);
    static const char *const want[] = {"loss", "ell", "psi", "train_ll", "valid_ll", "test_ll",
                                       "train_acc", "valid_acc", "test_acc", "symmetry_seconds", "walls",
                                       "phases", "phases_kept"};
    NG_CHECK(k.n_cols == 13 && !strcmp(k.name, "dmf"));
    for (size_t j = 0; j < 13 && j < k.n_cols; j++) NG_CHECK(!strcmp(k.cols[j], want[j]));
    double v[4], row[13];
    for (int64_t s = 0; s < 3; s++) NG_CHECK(k.step(k.self, s, v) == NG_OK);
    NG_CHECK(k.row(k.self, row) == NG_OK);
    ng_dmf_eval ev;
    double L;
    NG_CHECK(ng_dmf_evaluate(m, Z, &ev) == NG_OK);
    NG_CHECK(ng_goldstone_eval(gs, &L, NULL, NULL) == NG_OK);
    NG_CHECK(row[0] == L);
    for (int s = 0; s < 3; s++) NG_CHECK(row[3 + s] == ev.ll[s] && row[6 + s] == ev.acc[s]);
    NG_CHECK(isnan(row[10]));
    ng_goldstone_task_free(t);
    ng_goldstone_free(gs);
    ng_graph_free(g);
    free(Z);
    ng_dmf_model_free(m);
    ng_dmf_data_free(&D);
    ng_synth_ratings_free(&R);
}

int main(void)
{
    NG_RUN(test_columns);
    NG_RUN(test_steps_match_loop);
    NG_RUN(test_row_values);
    NG_RUN(test_thread_invariance);
    NG_RUN(test_no_allocation);
    NG_RUN(test_state_round_trip);
    NG_RUN(test_train_run_resume);
    NG_RUN(test_errors);
    NG_RUN(test_toy_object);
    NG_RUN(test_dmf_task);
    return ng_test_summary();
}
