/* net_task.c - a network on a data set as a training task: minibatches drawn without
 * replacement on the optimiser's batch schedule, one ng_optim step each, and rows that
 * evaluate the current iterate and its Polyak average (K-FAC's, or SGD's/Adam's when the
 * optimiser keeps one), reporting the better one (Martens & Grosse 2015, section 12). */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The two streams are derived from one seed so that the minibatches and K-FAC's sampled
 * targets never share draws (and stay apart from the caller's init stream, seeded with
 * the seed itself). */
#define NET_TASK_GOLDEN 0x9E3779B97F4A7C15ULL

static const char *const k_cols[] = {"batch", "objective", "train_loss", "train_error",
                                     "test_error", "lambda", "gamma", "alpha", "mu", "rho",
                                     "polyak"};
enum { C_BATCH, C_OBJ, C_TLOSS, C_TRERR, C_TEERR, C_LAMBDA, C_GAMMA, C_ALPHA, C_MU, C_RHO, C_POLYAK, N_COLS };
static const char *const k_step_cols[] = {"batch", "objective", "lambda", "gamma", "alpha",
                                          "mu", "rho"};
#define N_STEP_COLS (sizeof k_step_cols / sizeof k_step_cols[0])

struct ng_net_task {
    ng_net *net;
    ng_optim *opt;
    const float *Xtr, *Ytr, *Xte, *Yte;
    size_t ntr, nte, d0, dl, np, maxb;
    ng_net_task_params p;
    ng_rng rng_batch, rng_kfac;
    char *name;
    /* one slab: */
    size_t *idx;  /* maxb: this step's cases */
    size_t *ws;   /* ntr: the sampler's workspace */
    float *bx;    /* maxb x d0 */
    float *by;    /* maxb x dl, or NULL when the targets are the inputs */
    float *swap;  /* np: the current iterate while the average is evaluated */
    int stepped;  /* info holds a step of this process */
    ng_optim_info info;
    int row_fresh; /* no step since the last row: its errors are the current ones */
    double row_err[2];
};

ng_net_task_params ng_net_task_default_params(void)
{
    ng_net_task_params p;
    memset(&p, 0, sizeof p);
    p.seed = 1;
    p.eval_subset = 0;
    return p;
}

/* "ae:784-1000-500-30-500-1000-784:kfac-tridiag": the kind of model, its sizes and the
 * optimiser, so that a checkpoint is never resumed into another setup. */
static char *model_name(const ng_net *net, const ng_optim *opt)
{
    const ng_net_spec *sp = ng_net_get_spec(net);
    const ng_optim_params *op = ng_optim_get_params(opt);
    char sizes[NG_NET_MAX_LAYERS * 24] = "";
    size_t pos = 0;
    for (int i = 0; i <= sp->n_layers; i++)
        pos += (size_t)snprintf(sizes + pos, sizeof sizes - pos, "%s%zu", i ? "-" : "", sp->sizes[i]);
    const char *curv = op->kfac.curvature == NG_KFAC_TRIDIAG ? "-tridiag" : "-blockdiag";
    return ngi_asprintf("%s:%s:%s%s", sp->loss == NG_LOSS_SOFTMAX ? "mlp" : "ae", sizes,
                        ng_optim_kind_name(op->kind), op->kind == NG_OPT_KFAC ? curv : "");
}

static ng_status check_args(ng_net *net, ng_optim *opt, const float *X_train,
                            const float *Y_train, size_t n_train, const float *X_test,
                            const float *Y_test, size_t n_test, const ng_net_task_params *p)
{
    if (!net || !opt || !p) return ngi_fail(NG_EINVAL, "ng_net_task_new: NULL network, optimiser or parameters");
    if (!X_train || !Y_train || n_train == 0)
        return ngi_fail(NG_EINVAL, "ng_net_task_new: empty training set");
    if (n_test > 0 && (!X_test || !Y_test))
        return ngi_fail(NG_EINVAL, "ng_net_task_new: n_test = %zu but no test arrays", n_test);
    size_t maxb = ng_optim_max_batch(ng_optim_get_params(opt), n_train);
    if (ng_net_max_batch(net) < maxb)
        return ngi_fail(NG_EINVAL, "ng_net_task_new: the network takes minibatches of up to %zu "
                        "cases, the optimiser asks for %zu", ng_net_max_batch(net), maxb);
    return NG_OK;
}

/* The gather buffers, the sampler's workspace and the swap buffer in one slab, so that
 * step and row never allocate. */
static ng_status alloc_slab(ng_net_task *t)
{
    size_t nby = t->Ytr == t->Xtr ? 0 : t->maxb * t->dl;
    size_t nsz = t->maxb + t->ntr, nfl = t->maxb * t->d0 + nby + t->np;
    if (nsz > SIZE_MAX / 32 || nfl > SIZE_MAX / 32)
        return ngi_fail(NG_ENOMEM, "ng_net_task_new: workspace size overflows");
    t->idx = ngi_xmalloc(nsz * sizeof(size_t) + nfl * sizeof(float));
    if (!t->idx) return NG_ENOMEM;
    t->ws = t->idx + t->maxb;
    t->bx = (float *)(t->ws + t->ntr);
    t->by = nby ? t->bx + t->maxb * t->d0 : NULL;
    t->swap = t->bx + t->maxb * t->d0 + nby;
    return NG_OK;
}

ng_status ng_net_task_new(ng_net *net, ng_optim *opt, const float *X_train,
                          const float *Y_train, size_t n_train, const float *X_test,
                          const float *Y_test, size_t n_test, const ng_net_task_params *p,
                          ng_net_task **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_net_task_new: NULL output");
    *out = NULL;
    ng_status st = check_args(net, opt, X_train, Y_train, n_train, X_test, Y_test, n_test, p);
    if (st) return st;
    ng_net_task *t = ngi_xcalloc(1, sizeof *t);
    if (!t) return NG_ENOMEM;
    const ng_net_spec *sp = ng_net_get_spec(net);
    t->net = net;
    t->opt = opt;
    t->Xtr = X_train;
    t->Ytr = Y_train;
    t->Xte = X_test;
    t->Yte = Y_test;
    t->ntr = n_train;
    t->nte = n_test;
    t->d0 = sp->sizes[0];
    t->dl = sp->sizes[sp->n_layers];
    t->np = ng_net_num_params(net);
    t->maxb = ng_optim_max_batch(ng_optim_get_params(opt), n_train);
    t->p = *p;
    ng_rng_seed(&t->rng_batch, p->seed * NET_TASK_GOLDEN + 1);
    ng_rng_seed(&t->rng_kfac, p->seed * NET_TASK_GOLDEN + 2);
    t->name = model_name(net, opt);
    st = t->name ? alloc_slab(t) : NG_ENOMEM;
    if (st) {
        ng_net_task_free(t);
        return st;
    }
    *out = t;
    return NG_OK;
}

void ng_net_task_free(ng_net_task *t)
{
    if (!t) return;
    free(t->idx);
    free(t->name);
    free(t);
}

static ng_status task_step(void *self, int64_t k, double *vals)
{
    ng_net_task *t = self;
    size_t m = ng_optim_batch_size(t->opt, (long)(k + 1), t->ntr);
    ng_status st = ngi_rng_sample_ws(&t->rng_batch, t->ntr, m, t->idx, t->ws);
    if (st) return st;
    for (size_t i = 0; i < m; i++) {
        memcpy(t->bx + i * t->d0, t->Xtr + t->idx[i] * t->d0, t->d0 * sizeof(float));
        if (t->by) memcpy(t->by + i * t->dl, t->Ytr + t->idx[i] * t->dl, t->dl * sizeof(float));
    }
    t->row_fresh = 0;
    st = ng_optim_step(t->opt, t->bx, t->by ? t->by : t->bx, m, &t->rng_kfac, &t->info);
    if (st) return st;
    t->stepped = 1;
    const ng_optim_info *in = &t->info;
    double v[N_STEP_COLS] = {(double)in->batch, in->objective, in->lambda, in->gamma,
                             in->alpha, in->mu, in->rho};
    if (vals) memcpy(vals, v, sizeof v);
    return NG_OK;
}

/* Loss and error on the first eval_subset cases of the training set, error on as many of
 * the test set (NaN without one), at the network's current parameters. */
static ng_status eval_now(ng_net_task *t, double *tr_loss, double *tr_err, double *te_err)
{
    size_t ntr = t->ntr, nte = t->nte, sub = t->p.eval_subset;
    if (sub > 0 && sub < ntr) ntr = sub;
    if (sub > 0 && sub < nte) nte = sub;
    ng_status st = ng_net_evaluate(t->net, t->Xtr, t->Ytr, ntr, tr_loss, tr_err);
    if (st) return st;
    *te_err = NAN;
    return nte > 0 ? ng_net_evaluate(t->net, t->Xte, t->Yte, nte, NULL, te_err) : NG_OK;
}

/* The current iterate, or the averaged one when its training error is lower (*used_avg). */
static ng_status evaluate(ng_net_task *t, double *tl, double *tre, double *tee, int *used_avg)
{
    *used_avg = 0;
    ng_status st = eval_now(t, tl, tre, tee);
    if (st) return st;
    const float *avg = ng_optim_averaged(t->opt);
    if (!avg) return NG_OK;
    float *P = ng_net_params(t->net);
    memcpy(t->swap, P, t->np * sizeof(float));
    memcpy(P, avg, t->np * sizeof(float));
    double l2, e2, t2;
    st = eval_now(t, &l2, &e2, &t2);
    memcpy(P, t->swap, t->np * sizeof(float));
    if (st) return st;
    if (e2 < *tre) {
        *tl = l2;
        *tre = e2;
        *tee = t2;
        *used_avg = 1;
    }
    return NG_OK;
}

/* The step columns of a row: the last step's report; at the start K-FAC's initial
 * damping; NaN where nothing is known (an optimiser resumed but not yet stepped here). */
static void step_part(const ng_net_task *t, double *vals)
{
    for (int c = C_OBJ; c < N_COLS; c++) vals[c] = NAN;
    vals[C_BATCH] = 0;
    if (t->stepped) {
        const ng_optim_info *in = &t->info;
        vals[C_BATCH] = (double)in->batch;
        vals[C_OBJ] = in->objective;
        vals[C_LAMBDA] = in->lambda;
        vals[C_GAMMA] = in->gamma;
        vals[C_ALPHA] = in->alpha;
        vals[C_MU] = in->mu;
        vals[C_RHO] = in->rho;
        return;
    }
    const ng_optim_params *op = ng_optim_get_params(t->opt);
    if (op->kind == NG_OPT_KFAC && ng_optim_steps(t->opt) == 0) {
        const ng_kfac_params *kp = &op->kfac;
        vals[C_LAMBDA] = kp->lambda0;
        vals[C_GAMMA] = kp->gamma0 > 0 ? kp->gamma0 : sqrt(kp->lambda0 + kp->eta);
    }
}

static ng_status task_row(void *self, double *vals)
{
    ng_net_task *t = self;
    double tl, tre, tee;
    int used_avg;
    ng_status st = evaluate(t, &tl, &tre, &tee, &used_avg);
    if (st) return st;
    step_part(t, vals);
    vals[C_TLOSS] = tl;
    vals[C_TRERR] = tre;
    vals[C_TEERR] = tee;
    vals[C_POLYAK] = used_avg;
    t->row_err[0] = tre;
    t->row_err[1] = tee;
    t->row_fresh = 1;
    return NG_OK;
}

static size_t task_state(void *self, ng_ckpt_array *arr, size_t cap)
{
    ng_net_task *t = self;
    ng_ckpt_array own[3] = {ng_ckpt_view("params", NG_F32, ng_net_params(t->net), 1, t->np, 0, 0),
                            ng_ckpt_view("rng_batch", NG_U8, &t->rng_batch, 1, sizeof t->rng_batch, 0, 0),
                            ng_ckpt_view("rng_kfac", NG_U8, &t->rng_kfac, 1, sizeof t->rng_kfac, 0, 0)};
    for (size_t i = 0; arr && i < 3 && i < cap; i++) arr[i] = own[i];
    size_t rest = cap > 3 ? cap - 3 : 0;
    return 3 + ng_optim_state(t->opt, arr && rest ? arr + 3 : NULL, rest);
}

static ng_status task_state_loaded(void *self)
{
    ng_net_task *t = self;
    t->stepped = t->row_fresh = 0; /* the last step's report is not in a checkpoint */
    return ng_optim_state_loaded(t->opt);
}

ng_task ng_net_task_get(ng_net_task *t)
{
    ng_task k;
    memset(&k, 0, sizeof k);
    k.name = t->name;
    k.counter = "step";
    k.cols = k_cols;
    k.n_cols = N_COLS;
    k.step_cols = k_step_cols;
    k.n_step_cols = N_STEP_COLS;
    k.step = task_step;
    k.row = task_row;
    k.state = task_state;
    k.state_loaded = task_state_loaded;
    k.self = t;
    return k;
}

ng_status ng_net_task_evaluate(ng_net_task *t, double *train_error, double *test_error)
{
    if (!t) return ngi_fail(NG_EINVAL, "ng_net_task_evaluate: NULL task");
    double tl, tre = t->row_err[0], tee = t->row_err[1];
    int used_avg;
    ng_status st = t->row_fresh ? NG_OK : evaluate(t, &tl, &tre, &tee, &used_avg);
    if (st) return st;
    if (train_error) *train_error = tre;
    if (test_error) *test_error = tee;
    return NG_OK;
}

static ng_status write_set(ng_net_task *t, const char *dir, const char *stem, const float *P)
{
    const ng_net_spec *sp = ng_net_get_spec(t->net);
    for (int k = 0; k < sp->n_layers; k++) {
        ng_tensor w;
        memset(&w, 0, sizeof w);
        w.dtype = NG_F32;
        w.ndim = 2;
        w.shape[0] = sp->sizes[k + 1];
        w.shape[1] = sp->sizes[k] + 1;
        w.data = (void *)(P + ng_net_layer_offset(t->net, k));
        char *path = ngi_asprintf("%s/%s%d.npy", dir, stem, k);
        if (!path) return NG_ENOMEM;
        ng_status st = ng_npy_write(path, &w);
        free(path);
        if (st) return st;
    }
    return NG_OK;
}

ng_status ng_net_task_write_weights(ng_net_task *t, const char *dir)
{
    if (!t || !dir || !*dir) return ngi_fail(NG_EINVAL, "ng_net_task_write_weights: NULL task or directory");
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return ngi_fail(NG_EIO, "%s: cannot create the directory: %s", dir, strerror(errno));
    ng_status st = write_set(t, dir, "W", ng_net_params(t->net));
    const float *avg = ng_optim_averaged(t->opt);
    if (!st && avg) st = write_set(t, dir, "Wavg", avg);
    return st;
}
