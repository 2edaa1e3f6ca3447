/* test_optim_average.c - the Polyak average SGD and Adam keep with ng_optim_params.average:
 * K-FAC's schedule (xi_t = min(1 - 1/(t - start + 1), xi) from step t = start) against a
 * double reference recurrence over the iterates; off by default; the state protocol carries
 * it across a checkpoint; the network task reports the better of the current and the
 * averaged iterate. */
#include "ngtest.h"
#include "natgrad.h"

#include <math.h>
#include <stdint.h>

#define N 48
#define D 12

static void make_data(float *x)
{
    ng_rng r;
    ng_rng_seed(&r, 5);
    for (size_t i = 0; i < N * D; i++) x[i] = (float)ng_rng_uniform(&r);
}

static ng_net *make_net(void)
{
    ng_net_spec sp;
    if (ng_net_spec_parse("12-5-12", "logistic", NG_LOSS_BERNOULLI, &sp)) return NULL;
    ng_net *net = NULL;
    if (ng_net_new(&sp, N, &net)) return NULL;
    ng_rng r;
    ng_rng_seed(&r, 3);
    ng_net_init_sparse(net, &r, 3);
    return net;
}

static ng_optim_params params(ng_optim_kind kind)
{
    ng_optim_params p = ng_optim_default_params(kind);
    p.batch = 16;
    p.lr = kind == NG_OPT_ADAM ? 0.01 : 0.5;
    p.average = 1;
    p.kfac.polyak_start = 4;
    p.kfac.polyak_xi = 0.7; /* reached at t = start + 2: both branches of the min */
    return p;
}

/* Steps on rotating slices of the data; after each the optimiser's average is compared
 * with a double recurrence over the iterates it produced. */
static void check_against_reference(ng_optim_kind kind)
{
    float x[N * D];
    make_data(x);
    ng_net *net = make_net();
    ng_optim_params p = params(kind);
    ng_optim *o = NULL;
    NG_CHECK(net && ng_optim_new(net, &p, &o) == NG_OK);
    if (!o) {
        ng_net_free(net);
        return;
    }
    size_t np = ng_net_num_params(net);
    double *ref = calloc(np, sizeof *ref);
    double worst = 0.0;
    int null_before = 1, set_after = 1;
    for (long t = 1; t <= 12; t++) {
        const float *X = x + (size_t)((t * 16) % (N - 16)) * D;
        NG_CHECK(ng_optim_step(o, X, X, 16, NULL, NULL) == NG_OK);
        const float *th = ng_net_params(net);
        if (t < p.kfac.polyak_start) {
            null_before &= ng_optim_averaged(o) == NULL;
            continue;
        }
        double xi = fmin(1.0 - 1.0 / (double)(t - p.kfac.polyak_start + 1), p.kfac.polyak_xi);
        for (size_t i = 0; i < np; i++) ref[i] = xi * ref[i] + (1.0 - xi) * th[i];
        const float *avg = ng_optim_averaged(o);
        set_after &= avg != NULL;
        for (size_t i = 0; avg && i < np; i++) worst = fmax(worst, fabs(avg[i] - ref[i]));
    }
    NG_CHECK_MSG(null_before, "%s: an average before polyak_start", ng_optim_kind_name(kind));
    NG_CHECK_MSG(set_after, "%s: no average from polyak_start on", ng_optim_kind_name(kind));
    NG_CHECK_MSG(worst < 1e-5, "%s: average off the reference by %g", ng_optim_kind_name(kind), worst);
    /* the average is not the iterate (else the test could not tell them apart) */
    const float *avg = ng_optim_averaged(o), *th = ng_net_params(net);
    double diff = 0.0;
    for (size_t i = 0; avg && i < np; i++) diff = fmax(diff, fabs(avg[i] - th[i]));
    NG_CHECK_MSG(diff > 1e-4, "%s: average equals the iterate (%g)", ng_optim_kind_name(kind), diff);
    free(ref);
    ng_optim_free(o);
    ng_net_free(net);
}

static void test_sgd_average_recurrence(void) { check_against_reference(NG_OPT_SGD_NESTEROV); }
static void test_adam_average_recurrence(void) { check_against_reference(NG_OPT_ADAM); }

/* SGD keeps the average by default (reported as K-FAC is), Adam does not; off, nothing
 * is kept or checkpointed. */
static void test_average_off(void)
{
    float x[N * D];
    make_data(x);
    ng_net *net = make_net();
    NG_CHECK(ng_optim_default_params(NG_OPT_SGD_NESTEROV).average == 1);
    NG_CHECK(ng_optim_default_params(NG_OPT_ADAM).average == 0);
    ng_optim_params p = ng_optim_default_params(NG_OPT_SGD_NESTEROV);
    p.average = 0;
    p.batch = 16;
    p.kfac.polyak_start = 1;
    ng_optim *o = NULL;
    NG_CHECK(net && ng_optim_new(net, &p, &o) == NG_OK);
    for (int t = 0; o && t < 3; t++) NG_CHECK(ng_optim_step(o, x, x, 16, NULL, NULL) == NG_OK);
    NG_CHECK(o && ng_optim_averaged(o) == NULL);
    NG_CHECK(o && ng_optim_state(o, NULL, 0) == 2); /* scalars and velocity only */
    ng_optim_free(o);
    p.average = 1;
    p.kfac.polyak_xi = 1.0;
    NG_CHECK(ng_optim_params_check(&p) == NG_EINVAL);
    ng_net_free(net);
}

/* Copy of one optimiser's state arrays into another's, as a checkpoint load does. */
static void copy_state(ng_optim *from, ng_optim *to)
{
    ng_ckpt_array a[8], b[8];
    size_t na = ng_optim_state(from, a, 8), nb = ng_optim_state(to, b, 8);
    NG_CHECK(na == nb && na == 3);
    for (size_t i = 0; i < na && i < nb; i++) {
        NG_CHECK(!strcmp(a[i].name, b[i].name));
        size_t bytes = (a[i].t.dtype == NG_F64 ? 8 : 4);
        for (int k = 0; k < a[i].t.ndim; k++) bytes *= a[i].t.shape[k];
        memcpy(b[i].t.data, a[i].t.data, bytes);
    }
    NG_CHECK(!strcmp(a[2].name, "optim_avg"));
    NG_CHECK(ng_optim_state_loaded(to) == NG_OK);
}

static void test_average_in_state(void)
{
    float x[N * D];
    make_data(x);
    ng_net *n1 = make_net(), *n2 = make_net();
    ng_optim_params p = params(NG_OPT_SGD_NESTEROV);
    ng_optim *o1 = NULL, *o2 = NULL;
    NG_CHECK(n1 && n2 && ng_optim_new(n1, &p, &o1) == NG_OK && ng_optim_new(n2, &p, &o2) == NG_OK);
    if (!o1 || !o2) goto out;
    for (int t = 0; t < 6; t++) NG_CHECK(ng_optim_step(o1, x, x, 16, NULL, NULL) == NG_OK);
    copy_state(o1, o2);
    memcpy(ng_net_params(n2), ng_net_params(n1), ng_net_num_params(n1) * sizeof(float));
    NG_CHECK(ng_optim_steps(o2) == 6 && ng_optim_averaged(o2) != NULL);
    for (int t = 0; t < 3; t++) {
        NG_CHECK(ng_optim_step(o1, x + 16 * D, x + 16 * D, 16, NULL, NULL) == NG_OK);
        NG_CHECK(ng_optim_step(o2, x + 16 * D, x + 16 * D, 16, NULL, NULL) == NG_OK);
    }
    size_t np = ng_net_num_params(n1);
    const float *a1 = ng_optim_averaged(o1), *a2 = ng_optim_averaged(o2);
    NG_CHECK(a1 && a2 && !memcmp(a1, a2, np * sizeof(float)));
out:
    ng_optim_free(o1);
    ng_optim_free(o2);
    ng_net_free(n1);
    ng_net_free(n2);
}

/* The task's row: the averaged iterate's errors when they are lower (polyak = 1), with
 * the current iterate back in place afterwards. */
static void test_task_reports_better_iterate(void)
{
    float x[N * D];
    make_data(x);
    ng_net *net = make_net();
    ng_optim_params p = params(NG_OPT_SGD_NESTEROV);
    p.lr = 2.0; /* a noisy iterate, so that the average is the better one */
    ng_optim *o = NULL;
    ng_net_task *t = NULL;
    ng_net_task_params tp = ng_net_task_default_params();
    NG_CHECK(net && ng_optim_new(net, &p, &o) == NG_OK);
    NG_CHECK(o && ng_net_task_new(net, o, x, x, N, NULL, NULL, 0, &tp, &t) == NG_OK);
    if (!t) goto out;
    ng_task task = ng_net_task_get(t);
    NG_CHECK(!strcmp(task.cols[10], "polyak") && !strcmp(task.cols[3], "train_error"));
    int used_avg = 0, row_is_min = 1;
    size_t np = ng_net_num_params(net);
    float *keep = malloc(np * sizeof *keep);
    for (int64_t k = 0; k < 40; k++) {
        NG_CHECK(task.step(task.self, k, NULL) == NG_OK);
        memcpy(keep, ng_net_params(net), np * sizeof(float));
        double cur, avg_err = INFINITY, row[11];
        NG_CHECK(ng_net_evaluate(net, x, x, N, NULL, &cur) == NG_OK);
        const float *avg = ng_optim_averaged(o);
        if (avg) {
            memcpy(ng_net_params(net), avg, np * sizeof(float));
            NG_CHECK(ng_net_evaluate(net, x, x, N, NULL, &avg_err) == NG_OK);
            memcpy(ng_net_params(net), keep, np * sizeof(float));
        }
        NG_CHECK(task.row(task.self, row) == NG_OK);
        row_is_min &= row[3] == fmin(cur, avg_err) && (row[10] == 1) == (avg_err < cur);
        used_avg |= row[10] == 1;
        NG_CHECK(!memcmp(keep, ng_net_params(net), np * sizeof(float)));
    }
    NG_CHECK_MSG(row_is_min, "a row did not report the better iterate");
    NG_CHECK_MSG(used_avg, "the average was never the better iterate");
    free(keep);
out:
    ng_net_task_free(t);
    ng_optim_free(o);
    ng_net_free(net);
}

int main(void)
{
    NG_RUN(test_sgd_average_recurrence);
    NG_RUN(test_adam_average_recurrence);
    NG_RUN(test_average_off);
    NG_RUN(test_average_in_state);
    NG_RUN(test_task_reports_better_iterate);
    return ng_test_summary();
}
