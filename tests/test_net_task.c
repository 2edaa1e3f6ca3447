/* test_net_task.c - the network training task against a hand-written loop (the one the
 * ae/mlp command ran before the task existed: ng_kfac driven directly, minibatches from
 * ng_rng_sample, the Polyak average swapped in for evaluation), bit for bit; its
 * checkpoint state; its first row; no allocation in step or row. */
#include "ngtest.h"
#include "natgrad.h"
#include "internal.h"

#include <math.h>
#include <stdint.h>

#define NTR 64
#define NTE 20
#define D 16
#define H 6
#define NCLASS 4
#define GOLD 0x9E3779B97F4A7C15ULL

typedef struct {
    float xtr[NTR * D], xte[NTE * D];
    float ytr[NTR * NCLASS], yte[NTE * NCLASS]; /* one-hot */
} data;

static void make_data(data *d)
{
    ng_rng r;
    ng_rng_seed(&r, 99);
    memset(d, 0, sizeof *d);
    for (size_t i = 0; i < NTR * D; i++) d->xtr[i] = (float)ng_rng_uniform(&r);
    for (size_t i = 0; i < NTE * D; i++) d->xte[i] = (float)ng_rng_uniform(&r);
    for (size_t i = 0; i < NTR; i++) d->ytr[i * NCLASS + ng_rng_below(&r, NCLASS)] = 1.0f;
    for (size_t i = 0; i < NTE; i++) d->yte[i * NCLASS + ng_rng_below(&r, NCLASS)] = 1.0f;
}

/* A short K-FAC schedule that reaches every branch within a few steps: a growing batch,
 * lambda and gamma adaptation, decompositions refreshed, the Polyak average started. */
static ng_optim_params params(ng_optim_kind kind, ng_kfac_curvature curv)
{
    ng_optim_params op = ng_optim_default_params(kind);
    op.batch = 16;
    op.kfac.curvature = curv;
    op.kfac.T1 = 2;
    op.kfac.T2 = 4; /* a multiple of T3 */
    op.kfac.T3 = 2;
    op.kfac.full_batch_iter = 5;
    op.kfac.polyak_start = 3;
    return op;
}

static ng_net *make_net(int mlp, uint64_t seed)
{
    ng_net_spec sp;
    if (ng_net_spec_parse(mlp ? "16-8-4" : "16-6-16", "logistic",
                          mlp ? NG_LOSS_SOFTMAX : NG_LOSS_BERNOULLI, &sp))
        return NULL;
    ng_net *net = NULL;
    if (ng_net_new(&sp, NTR, &net)) return NULL;
    ng_rng r;
    ng_rng_seed(&r, seed);
    ng_net_init_sparse(net, &r, 3);
    return net;
}

static int same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static int same_row(const double *a, const double *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!same(a[i], b[i])) {
            fprintf(stderr, "    column %zu: %.17g vs %.17g\n", i, a[i], b[i]);
            return 0;
        }
    return 1;
}

/* --- the reference: the command's loop before the task ------------------------------ */
typedef struct {
    ng_net *net;
    ng_kfac *kf;  /* K-FAC driven directly */
    ng_optim *opt;/* SGD / Adam */
    ng_kfac_params kp;
    const float *Xtr, *Ytr, *Xte, *Yte;
    size_t ntr, nte, maxb, d0, dl, subset;
    int mlp;
    ng_rng rb, rk;
    float bx[NTR * D], by[NTR * D], swap[4096];
    size_t idx[NTR];
    ng_kfac_info ki;
    ng_optim_info oi;
    size_t m;
    double lr;
} ref;

static void ref_init(ref *s, int mlp, const ng_optim_params *op, const data *d, uint64_t seed,
                     size_t subset)
{
    memset(s, 0, sizeof *s);
    s->mlp = mlp;
    s->net = make_net(mlp, seed);
    s->Xtr = d->xtr;
    s->Xte = d->xte;
    s->Ytr = mlp ? d->ytr : d->xtr;
    s->Yte = mlp ? d->yte : d->xte;
    s->ntr = NTR;
    s->nte = NTE;
    s->d0 = D;
    s->dl = mlp ? NCLASS : D;
    s->subset = subset;
    ng_rng_seed(&s->rb, seed * GOLD + 1);
    ng_rng_seed(&s->rk, seed * GOLD + 2);
    if (op->kind == NG_OPT_KFAC) {
        s->kp = op->kfac;
        s->kp.m1 = op->batch;
        s->kp.eta = op->eta;
        s->maxb = op->max_batch > 0 && op->max_batch < NTR ? op->max_batch : NTR;
        NG_CHECK(ng_kfac_new(s->net, &s->kp, &s->kf) == NG_OK);
    } else {
        s->maxb = op->batch < NTR ? op->batch : NTR;
        s->lr = op->lr;
        NG_CHECK(ng_optim_new(s->net, op, &s->opt) == NG_OK);
    }
    s->ki.rho = s->ki.alpha = s->ki.mu = s->ki.lambda = s->ki.gamma = NAN;
}

static void ref_free(ref *s)
{
    ng_kfac_free(s->kf);
    ng_optim_free(s->opt);
    ng_net_free(s->net);
}

static void ref_step(ref *s, long iter)
{
    size_t m = s->kf ? ng_kfac_batch_size(&s->kp, iter + 1, s->ntr) : s->maxb;
    if (m > s->maxb) m = s->maxb;
    NG_CHECK(ng_rng_sample(&s->rb, s->ntr, m, s->idx) == NG_OK);
    for (size_t i = 0; i < m; i++) {
        memcpy(s->bx + i * s->d0, s->Xtr + s->idx[i] * s->d0, s->d0 * sizeof(float));
        if (s->mlp) memcpy(s->by + i * s->dl, s->Ytr + s->idx[i] * s->dl, s->dl * sizeof(float));
    }
    const float *by = s->mlp ? s->by : s->bx;
    if (s->kf) NG_CHECK(ng_kfac_step(s->kf, s->bx, by, m, &s->rk, &s->ki) == NG_OK);
    else NG_CHECK(ng_optim_step(s->opt, s->bx, by, m, NULL, &s->oi) == NG_OK);
    s->m = m;
}

static void ref_eval_now(ref *s, double *tl, double *tre, double *tee)
{
    size_t ntr = s->ntr, nte = s->nte;
    if (s->subset > 0 && s->subset < ntr) ntr = s->subset;
    if (s->subset > 0 && s->subset < nte) nte = s->subset;
    NG_CHECK(ng_net_evaluate(s->net, s->Xtr, s->Ytr, ntr, tl, tre) == NG_OK);
    NG_CHECK(ng_net_evaluate(s->net, s->Xte, s->Yte, nte, NULL, tee) == NG_OK);
}

static void ref_row(ref *s, long iter, double *row)
{
    double tl, tre, tee;
    int ua = 0;
    ref_eval_now(s, &tl, &tre, &tee);
    const float *avg = s->kf ? ng_kfac_polyak(s->kf) : NULL;
    if (avg) {
        size_t n = ng_net_num_params(s->net);
        float *P = ng_net_params(s->net);
        memcpy(s->swap, P, n * sizeof(float));
        memcpy(P, avg, n * sizeof(float));
        double l2, e2, t2;
        ref_eval_now(s, &l2, &e2, &t2);
        memcpy(P, s->swap, n * sizeof(float));
        if (e2 < tre) {
            tl = l2;
            tre = e2;
            tee = t2;
            ua = 1;
        }
    }
    if (iter == 0) {
        double r0[11] = {0, NAN, tl, tre, tee, NAN, NAN, NAN, NAN, NAN, 0};
        if (s->kf) {
            r0[5] = s->kp.lambda0;
            r0[6] = s->kp.gamma0 > 0 ? s->kp.gamma0 : sqrt(s->kp.lambda0 + s->kp.eta);
        }
        memcpy(row, r0, sizeof r0);
        return;
    }
    double r[11] = {(double)s->m, s->kf ? s->ki.objective : s->oi.objective, tl, tre, tee,
                    s->kf ? s->ki.lambda : NAN, s->kf ? s->ki.gamma : NAN,
                    s->kf ? s->ki.alpha : s->lr, s->kf ? s->ki.mu : s->oi.mu,
                    s->kf ? s->ki.rho : NAN, (double)ua};
    memcpy(row, r, sizeof r);
}

/* --- the task under test ------------------------------------------------------------- */
typedef struct {
    ng_net *net;
    ng_optim *opt;
    ng_net_task *task;
    ng_task t;
} run;

static int run_init(run *r, int mlp, const ng_optim_params *op, const data *d, uint64_t seed,
                    uint64_t init_seed, size_t subset)
{
    memset(r, 0, sizeof *r);
    r->net = make_net(mlp, init_seed);
    if (!r->net || ng_optim_new(r->net, op, &r->opt)) return 0;
    ng_net_task_params tp = ng_net_task_default_params();
    tp.seed = seed;
    tp.eval_subset = subset;
    if (ng_net_task_new(r->net, r->opt, d->xtr, mlp ? d->ytr : d->xtr, NTR, d->xte,
                        mlp ? d->yte : d->xte, NTE, &tp, &r->task))
        return 0;
    r->t = ng_net_task_get(r->task);
    return 1;
}

static void run_free(run *r)
{
    ng_net_task_free(r->task);
    ng_optim_free(r->opt);
    ng_net_free(r->net);
}

/* Task and reference side by side: rows at 0, 2, 4, 5, 7; parameters after every step. */
static void compare_with_reference(int mlp, ng_optim_kind kind, ng_kfac_curvature curv,
                                   size_t subset, const char *label)
{
    data *d = malloc(sizeof *d);
    make_data(d);
    ng_optim_params op = params(kind, curv);
    ref *s = malloc(sizeof *s);
    ref_init(s, mlp, &op, d, 5, subset);
    run r;
    int ok = run_init(&r, mlp, &op, d, 5, 5, subset);
    NG_CHECK_MSG(ok, "%s: %s", label, ng_last_error());
    if (!ok) goto out;
    NG_CHECK(r.t.n_cols == 11 && !strcmp(r.t.counter, "step"));
    double a[11], b[11], sv[8];
    int rows_same = 1, params_same = 1, steps_same = 1, polyak = 0;
    size_t np = ng_net_num_params(r.net);
    for (long k = 0; k <= 7; k++) {
        if (k == 7 && kind == NG_OPT_KFAC) {
            /* spoil the current iterate (in both): the average must be reported */
            float *P = ng_net_params(r.net), *Q = ng_net_params(s->net);
            for (size_t i = 0; i < np; i++) P[i] = Q[i] = 3.0f * P[i] + 1.0f;
        }
        if (k == 0 || k == 2 || k == 4 || k == 5 || k == 7) {
            NG_CHECK(r.t.row(r.t.self, a) == NG_OK);
            ref_row(s, k, b);
            if (!same_row(a, b, 11)) {
                fprintf(stderr, "    %s: row at step %ld differs\n", label, k);
                rows_same = 0;
            }
            polyak |= a[10] == 1;
        }
        /* the row left the current iterate in place */
        params_same &= !memcmp(ng_net_params(r.net), ng_net_params(s->net), np * sizeof(float));
        if (k == 7) break;
        NG_CHECK(r.t.step(r.t.self, k, sv) == NG_OK);
        ref_step(s, k);
        double obj = s->kf ? s->ki.objective : s->oi.objective;
        steps_same &= sv[0] == (double)s->m && same(sv[1], obj);
        params_same &= !memcmp(ng_net_params(r.net), ng_net_params(s->net), np * sizeof(float));
    }
    NG_CHECK_MSG(rows_same, "%s", label);
    NG_CHECK_MSG(params_same, "%s", label);
    NG_CHECK_MSG(steps_same, "%s", label);
    if (kind == NG_OPT_KFAC) {
        const float *avg = ng_optim_averaged(r.opt);
        NG_CHECK_MSG(avg && !memcmp(avg, ng_kfac_polyak(s->kf), np * sizeof(float)), "%s", label);
        NG_CHECK_MSG(polyak, "%s: the average was never reported", label);
    }
out:
    run_free(&r);
    ref_free(s);
    free(s);
    free(d);
}

static void test_reference_kfac(void)
{
    compare_with_reference(0, NG_OPT_KFAC, NG_KFAC_BLOCKDIAG, 0, "ae kfac blockdiag");
    compare_with_reference(0, NG_OPT_KFAC, NG_KFAC_TRIDIAG, 40, "ae kfac tridiag subset 40");
    compare_with_reference(1, NG_OPT_KFAC, NG_KFAC_BLOCKDIAG, 0, "mlp kfac");
}

static void test_reference_first_order(void)
{
    compare_with_reference(0, NG_OPT_SGD_NESTEROV, NG_KFAC_BLOCKDIAG, 0, "ae sgd");
    compare_with_reference(0, NG_OPT_ADAM, NG_KFAC_BLOCKDIAG, 30, "ae adam subset 30");
    compare_with_reference(1, NG_OPT_SGD_NESTEROV, NG_KFAC_BLOCKDIAG, 0, "mlp sgd");
}

/* Save after 3 steps (the task's arrays through ng_ckpt_save), load into a fresh task on
 * a differently initialised network, continue to 7: the same parameters and rows as 7
 * steps straight. */
static void round_trip(int mlp, ng_optim_kind kind, const char *label)
{
    data *d = malloc(sizeof *d);
    make_data(d);
    ng_optim_params op = params(kind, NG_KFAC_TRIDIAG);
    run a, b, c;
    NG_CHECK(run_init(&a, mlp, &op, d, 3, 3, 0) && run_init(&b, mlp, &op, d, 3, 3, 0) &&
             run_init(&c, mlp, &op, d, 3, 11, 0));
    double ra[11], rc[11], sv[8];
    for (long k = 0; k < 7; k++) NG_CHECK(a.t.step(a.t.self, k, sv) == NG_OK);
    NG_CHECK(a.t.row(a.t.self, ra) == NG_OK);
    for (long k = 0; k < 3; k++) NG_CHECK(b.t.step(b.t.self, k, sv) == NG_OK);
    char *dir = ng_test_path(mlp ? "net_task_ckpt_mlp" : "net_task_ckpt_ae");
    size_t n = b.t.state(b.t.self, NULL, 0);
    NG_CHECK(n >= 4 && n == c.t.state(c.t.self, NULL, 0));
    ng_ckpt_array *arr = calloc(n, sizeof *arr);
    NG_CHECK(b.t.state(b.t.self, arr, n) == n);
    NG_CHECK(!strcmp(arr[0].name, "params") && !strcmp(arr[1].name, "rng_batch") &&
             !strcmp(arr[2].name, "rng_kfac"));
    NG_CHECK_MSG(ng_ckpt_save(dir, b.t.name, 3, arr, n) == NG_OK, "%s", ng_last_error());
    /* a state view of fewer arrays than the count is cut, not overrun */
    ng_ckpt_array two[2];
    NG_CHECK(c.t.state(c.t.self, two, 2) == n && !strcmp(two[1].name, "rng_batch"));
    NG_CHECK(c.t.state(c.t.self, arr, n) == n);
    int64_t step = -1;
    NG_CHECK_MSG(ng_ckpt_load(dir, c.t.name, &step, arr, n) == NG_OK, "%s", ng_last_error());
    NG_CHECK(step == 3 && c.t.state_loaded(c.t.self) == NG_OK);
    NG_CHECK(ng_optim_steps(c.opt) == 3);
    /* resumed, not yet stepped: the step columns are unknown */
    NG_CHECK(c.t.row(c.t.self, rc) == NG_OK);
    NG_CHECK(rc[0] == 0 && isnan(rc[1]) && isnan(rc[5]) && isnan(rc[7]));
    for (long k = 3; k < 7; k++) NG_CHECK(c.t.step(c.t.self, k, sv) == NG_OK);
    NG_CHECK(c.t.row(c.t.self, rc) == NG_OK);
    size_t np = ng_net_num_params(a.net);
    NG_CHECK_MSG(!memcmp(ng_net_params(a.net), ng_net_params(c.net), np * sizeof(float)), "%s", label);
    NG_CHECK_MSG(same_row(ra, rc, 11), "%s", label);
    free(arr);
    free(dir);
    run_free(&a);
    run_free(&b);
    run_free(&c);
    free(d);
}

static void test_state_round_trip(void)
{
    round_trip(0, NG_OPT_KFAC, "ae kfac");
    round_trip(0, NG_OPT_SGD_NESTEROV, "ae sgd");
    round_trip(1, NG_OPT_ADAM, "mlp adam");
}

/* The first row: batch 0, objective NaN, K-FAC's lambda0 and gamma0 (sqrt(lambda0 + eta)
 * when not given), alpha, mu, rho NaN, polyak 0; the errors of the initial network. */
static void test_row_at_start(void)
{
    data *d = malloc(sizeof *d);
    make_data(d);
    for (int v = 0; v < 3; v++) {
        ng_optim_params op = params(v == 2 ? NG_OPT_SGD_NESTEROV : NG_OPT_KFAC, NG_KFAC_BLOCKDIAG);
        op.kfac.lambda0 = 7;
        op.eta = 1e-3;
        if (v == 1) op.kfac.gamma0 = 0.5;
        run r;
        NG_CHECK(run_init(&r, 0, &op, d, 1, 1, 0));
        double row[11];
        NG_CHECK(r.t.row(r.t.self, row) == NG_OK);
        double tl, tre, tee;
        NG_CHECK(ng_net_evaluate(r.net, d->xtr, d->xtr, NTR, &tl, &tre) == NG_OK);
        NG_CHECK(ng_net_evaluate(r.net, d->xte, d->xte, NTE, NULL, &tee) == NG_OK);
        NG_CHECK(row[0] == 0 && isnan(row[1]) && row[2] == tl && row[3] == tre && row[4] == tee);
        if (v == 2) NG_CHECK(isnan(row[5]) && isnan(row[6]));
        else NG_CHECK(row[5] == 7 && row[6] == (v == 1 ? 0.5 : sqrt(7 + 1e-3)));
        NG_CHECK(isnan(row[7]) && isnan(row[8]) && isnan(row[9]) && row[10] == 0);
        double e1, e2;
        NG_CHECK(ng_net_task_evaluate(r.task, &e1, &e2) == NG_OK && e1 == tre && e2 == tee);
        run_free(&r);
    }
    free(d);
}

/* ng_net_task_evaluate: after a step it evaluates (the same errors a row then reports);
 * right after a row it gives that row's errors without evaluating again. */
static void test_evaluate(void)
{
    data *d = malloc(sizeof *d);
    make_data(d);
    ng_optim_params op = params(NG_OPT_KFAC, NG_KFAC_BLOCKDIAG);
    run r;
    NG_CHECK(run_init(&r, 0, &op, d, 4, 4, 0)); /* a reconstruction error moves every step */
    double row[11], sv[8], e1, e2;
    for (long k = 0; k < 5; k++) NG_CHECK(r.t.step(r.t.self, k, sv) == NG_OK);
    NG_CHECK(ng_net_task_evaluate(r.task, &e1, &e2) == NG_OK);
    NG_CHECK(r.t.row(r.t.self, row) == NG_OK);
    NG_CHECK(e1 == row[3] && e2 == row[4]);
    /* the cached errors: unchanged even though the parameters were spoiled */
    float *P = ng_net_params(r.net);
    float keep = P[0];
    P[0] = 1e3f;
    NG_CHECK(ng_net_task_evaluate(r.task, &e1, &e2) == NG_OK && e1 == row[3] && e2 == row[4]);
    P[0] = keep;
    NG_CHECK(r.t.step(r.t.self, 5, sv) == NG_OK);
    NG_CHECK(ng_net_task_evaluate(r.task, &e1, &e2) == NG_OK);
    NG_CHECK(r.t.row(r.t.self, row) == NG_OK);
    NG_CHECK(e1 == row[3] && e2 == row[4]);
    run_free(&r);
    free(d);
}

/* step and row draw on the slab made in _new: no library allocation for any optimiser
 * (the tridiagonal K-FAC refresh included). */
static void test_no_allocation(void)
{
    data *d = malloc(sizeof *d);
    make_data(d);
    const ng_optim_kind kinds[4] = {NG_OPT_KFAC, NG_OPT_KFAC, NG_OPT_SGD_NESTEROV, NG_OPT_ADAM};
    for (int v = 0; v < 4; v++) {
        ng_optim_params op = params(kinds[v], v == 1 ? NG_KFAC_TRIDIAG : NG_KFAC_BLOCKDIAG);
        run r;
        NG_CHECK(run_init(&r, v & 1, &op, d, 2, 2, 0));
        double row[11], sv[8];
        size_t before = ngi_alloc_count();
        for (long k = 0; k < 6; k++) {
            NG_CHECK(r.t.step(r.t.self, k, sv) == NG_OK);
            NG_CHECK(r.t.row(r.t.self, row) == NG_OK);
        }
        NG_CHECK_MSG(ngi_alloc_count() == before, "variant %d: %zu allocations", v,
                     ngi_alloc_count() - before);
        run_free(&r);
    }
    free(d);
}

/* The sampler with a workspace draws what ng_rng_sample draws, dense and sparse. */
static void test_sample_ws(void)
{
    size_t a[40], b[40], ws[400];
    const size_t ns[3] = {40, 400, 9}, ks[3] = {40, 10, 1};
    for (int v = 0; v < 3; v++) {
        ng_rng r1, r2;
        ng_rng_seed(&r1, 8);
        r2 = r1;
        NG_CHECK(ng_rng_sample(&r1, ns[v], ks[v], a) == NG_OK);
        NG_CHECK(ngi_rng_sample_ws(&r2, ns[v], ks[v], b, ws) == NG_OK);
        NG_CHECK(!memcmp(a, b, ks[v] * sizeof a[0]) && !memcmp(&r1, &r2, sizeof r1));
    }
    ng_rng r;
    ng_rng_seed(&r, 1);
    NG_CHECK(ngi_rng_sample_ws(&r, 5, 6, b, ws) == NG_EINVAL);
}

static void test_names_and_weights(void)
{
    data *d = malloc(sizeof *d);
    make_data(d);
    const char *want[4] = {"ae:16-6-16:kfac-blockdiag", "mlp:16-8-4:kfac-tridiag",
                           "ae:16-6-16:sgd-nesterov", "mlp:16-8-4:adam"};
    const ng_optim_kind kinds[4] = {NG_OPT_KFAC, NG_OPT_KFAC, NG_OPT_SGD_NESTEROV, NG_OPT_ADAM};
    for (int v = 0; v < 4; v++) {
        ng_optim_params op = params(kinds[v], v == 1 ? NG_KFAC_TRIDIAG : NG_KFAC_BLOCKDIAG);
        run r;
        NG_CHECK(run_init(&r, v & 1, &op, d, 2, 2, 0));
        NG_CHECK_MSG(!strcmp(r.t.name, want[v]), "%s vs %s", r.t.name, want[v]);
        double sv[8];
        for (long k = 0; k < 4; k++) NG_CHECK(r.t.step(r.t.self, k, sv) == NG_OK);
        char *dir = ng_test_path("net_task_weights");
        NG_CHECK_MSG(ng_net_task_write_weights(r.task, dir) == NG_OK, "%s", ng_last_error());
        const ng_net_spec *sp = ng_net_get_spec(r.net);
        const float *avg = ng_optim_averaged(r.opt);
        NG_CHECK((avg != NULL) == (kinds[v] != NG_OPT_ADAM)); /* K-FAC always, SGD by default */
        for (int set = 0; set < 2; set++) {
            const float *P = set ? avg : ng_net_params(r.net);
            for (int k = 0; k < sp->n_layers; k++) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s%d.npy", dir, set ? "Wavg" : "W", k);
                ng_tensor t;
                ng_status st = ng_npy_read(path, &t);
                if (!P) {
                    if (st == NG_OK) ng_tensor_free(&t);
                    continue; /* a stale Wavg of an earlier variant may be there */
                }
                NG_CHECK(st == NG_OK && t.ndim == 2 && t.shape[0] == sp->sizes[k + 1] &&
                         t.shape[1] == sp->sizes[k] + 1);
                if (st == NG_OK)
                    NG_CHECK(!memcmp(t.data, P + ng_net_layer_offset(r.net, k),
                                     t.shape[0] * t.shape[1] * sizeof(float)));
                ng_tensor_free(&t);
            }
        }
        free(dir);
        run_free(&r);
    }
    free(d);
}

static void test_bad_arguments(void)
{
    data *d = malloc(sizeof *d);
    make_data(d);
    ng_net *net = make_net(0, 1);
    ng_optim_params op = params(NG_OPT_KFAC, NG_KFAC_BLOCKDIAG);
    ng_optim *opt = NULL;
    NG_CHECK(ng_optim_new(net, &op, &opt) == NG_OK);
    ng_net_task_params tp = ng_net_task_default_params();
    NG_CHECK(tp.seed == 1 && tp.eval_subset == 0);
    ng_net_task *t = (ng_net_task *)1;
    NG_CHECK(ng_net_task_new(NULL, opt, d->xtr, d->xtr, NTR, NULL, NULL, 0, &tp, &t) == NG_EINVAL && !t);
    NG_CHECK(ng_net_task_new(net, opt, d->xtr, d->xtr, 0, NULL, NULL, 0, &tp, &t) == NG_EINVAL);
    NG_CHECK(ng_net_task_new(net, opt, d->xtr, d->xtr, NTR, NULL, NULL, 5, &tp, &t) == NG_EINVAL);
    /* K-FAC's batch grows to the training set: a network for fewer cases is refused */
    ng_net *small = NULL;
    NG_CHECK(ng_net_new(ng_net_get_spec(net), NTR / 2, &small) == NG_OK);
    ng_optim *so = NULL;
    NG_CHECK(ng_optim_new(small, &op, &so) == NG_OK);
    NG_CHECK(ng_net_task_new(small, so, d->xtr, d->xtr, NTR, NULL, NULL, 0, &tp, &t) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "minibatches") != NULL);
    /* without a test set the test error is NaN */
    NG_CHECK(ng_net_task_new(net, opt, d->xtr, d->xtr, NTR, NULL, NULL, 0, &tp, &t) == NG_OK);
    double e1 = NAN, e2 = 0;
    NG_CHECK(ng_net_task_evaluate(t, &e1, &e2) == NG_OK && isfinite(e1) && isnan(e2));
    ng_net_task_free(t);
    ng_optim_free(so);
    ng_net_free(small);
    ng_optim_free(opt);
    ng_net_free(net);
    free(d);
}

int main(void)
{
    NG_RUN(test_reference_kfac);
    NG_RUN(test_reference_first_order);
    NG_RUN(test_state_round_trip);
    NG_RUN(test_row_at_start);
    NG_RUN(test_evaluate);
    NG_RUN(test_no_allocation);
    NG_RUN(test_sample_ws);
    NG_RUN(test_names_and_weights);
    NG_RUN(test_bad_arguments);
    return ng_test_summary();
}
