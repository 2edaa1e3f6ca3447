/* cmd_ae.c - 'natgrad ae train' (deep autoencoders) and 'natgrad mlp train' (softmax
 * classifiers): K-FAC against SGD with Nesterov momentum and Adam on the same objective,
 * with the paper's minibatch schedule, evaluation on the full sets every K iterations
 * (not counted in the clock), CSV log, progress line, SIGINT -> checkpoint, --resume. */
#include "cli.h"
#include "commands.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { OPT_KFAC = 0, OPT_SGD, OPT_ADAM };
static const char *const k_opt_names[] = {"kfac", "sgd-nesterov", "adam", NULL};
static const char *const k_curv_names[] = {"blockdiag", "tridiag", NULL};
static const char *const k_onoff[] = {"off", "on", NULL};
static const char *const k_fisher[] = {"sampled", "empirical", NULL};
static const char *const k_damping[] = {"factored", "tikhonov", NULL};
static const char *const k_init[] = {"sparse", "glorot", NULL};
static const char *const k_loss[] = {"bernoulli", "softmax", "gaussian", NULL};

typedef struct {
    int mlp;
    const char *cmd;
    const char *data, *arch, *act, *log, *out, *ckpt;
    int loss; /* -1: default for the command / preset */
    int optimizer;
    long iters, eval_every, eval_subset, threads, ckpt_every, init_k;
    double time_limit, eval_seconds;
    long batch, max_batch;
    double lr, mu_max, beta1, beta2, adam_eps;
    uint64_t seed;
    int resume, init;
    ng_kfac_params kp;
} train_cfg;

static void defaults(train_cfg *c, int mlp)
{
    memset(c, 0, sizeof *c);
    c->mlp = mlp;
    c->cmd = mlp ? "mlp train" : "ae train";
    c->data = "fashion-mnist";
    c->arch = mlp ? "784-1000-500-10" : "mnist";
    c->act = NULL;
    c->loss = -1;
    c->optimizer = OPT_KFAC;
    c->iters = 1000;
    c->time_limit = 0;
    c->eval_every = 10;
    c->eval_subset = 0;
    c->threads = 0;
    c->batch = 1000;
    c->max_batch = 0;
    c->lr = -1;
    c->mu_max = 0.99;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->adam_eps = 1e-8;
    c->seed = 1;
    c->init = 0;
    c->init_k = 15;
    c->kp = ng_kfac_default_params();
}

static void usage(FILE *f, int mlp)
{
    train_cfg d;
    defaults(&d, mlp);
    const ng_kfac_params *k = &d.kp;
    fprintf(f,
            "usage: natgrad %s train [options]\n\n"
            "%s with K-FAC (Martens & Grosse 2015), SGD with Nesterov momentum or Adam.\n"
            "Objective h = mean loss + (eta/2)||theta||^2. Errors are evaluated every K\n"
            "iterations on the full training and test sets (not counted in 'seconds'); for\n"
            "K-FAC the better of the current and the Polyak-averaged iterate is reported.\n\n"
            "Data and model:\n"
            "  --data SPEC          fashion-mnist | curves | DIR (IDX files) | FILE.npy [%s]\n"
            "  --arch A             %s [%s]\n"
            "  --act NAME[,NAME..]  hidden activations: logistic tanh relu softplus linear\n"
            "                       (one for all, or one per hidden layer) [preset / logistic]\n"
            "  --loss L             bernoulli | gaussian%s [%s]\n"
            "  --init I             sparse | glorot [sparse]\n"
            "  --init-k K           incoming weights per unit for sparse init [15]\n\n"
            "Run:\n"
            "  --optimizer O        kfac | sgd-nesterov | adam [kfac]\n"
            "  --iters N            stop after N iterations, 0 = no limit [%ld]\n"
            "  --time-limit SEC     stop after SEC seconds of training, 0 = none [0]\n"
            "  --batch M, --m1 M   K-FAC: first minibatch m1; SGD/Adam: minibatch [%ld]\n"
            "  --max-batch M        K-FAC: cap on the growing minibatch, 0 = training set [0]\n"
            "  --seed S             random seed [1]\n"
            "  --eval-every K       evaluate (and log a CSV row) every K iterations [%ld]\n"
            "  --eval-seconds S     evaluate instead every S seconds of training, 0 = off [0]\n"
            "  --eval-subset N      evaluate on the first N cases of each set, 0 = all [0]\n"
            "  --threads N          BLAS and OpenMP threads, 0 = leave as is [0]\n"
            "  --log FILE.csv       CSV log: iter,seconds,batch,objective,train_loss,\n"
            "                       train_error,test_error,lambda,gamma,alpha,mu,rho,polyak\n"
            "  --out DIR            write the final weights as DIR/W<k>.npy (and Wavg<k>.npy)\n"
            "  --checkpoint DIR     checkpoint at the end, on Ctrl-C and every --checkpoint-every\n"
            "  --checkpoint-every N iterations between checkpoints, 0 = end only [0]\n"
            "  --resume             continue from --checkpoint DIR if it exists\n\n"
            "SGD-Nesterov (mu_t = min(1 - 2^(-1-log2(floor(t/250)+1)), mu_max)) and Adam:\n"
            "  --lr X               learning rate [sgd 0.01, adam 0.001]\n"
            "  --mu-max X           momentum cap [%g]\n"
            "  --beta1 X --beta2 X --adam-eps X   Adam constants [0.9, 0.999, 1e-8]\n\n"
            "K-FAC (defaults are the paper's):\n"
            "  --curvature C        blockdiag | tridiag [%s]\n"
            "  --momentum on|off    quadratic-model momentum [on]\n"
            "  --fisher F           sampled | empirical targets for G [sampled]\n"
            "  --damping D          factored | tikhonov (exact, blockdiag only) [factored]\n"
            "  --adapt-lambda on|off  Levenberg-Marquardt rule [on]\n"
            "  --adapt-gamma on|off   gamma candidates [on]\n"
            "  --tau1 X             fraction of the minibatch for statistics [%g]\n"
            "  --tau2 X             fraction of the minibatch for the quadratic model's exact-\n"
            "                       Fisher products (R-op passes); 1 = whole minibatch [%g]\n"
            "  --eps-max X          cap of eps_k = min(1 - 1/k, eps_max) [%g]\n"
            "  --T1 N --T2 N --T3 N lambda, gamma and decomposition periods [%d, %d, %d]\n"
            "  --refresh-first N    also refresh the decompositions for k <= N [%d]\n"
            "  --lambda0 X          initial lambda [%g]\n"
            "  --omega1 X           lambda factor [0.95^5 = %g]\n"
            "  --omega2 X           gamma factor [0.95^10 = %g]\n"
            "  --gamma0 X           initial gamma, 0 = sqrt(lambda0 + eta) [0]\n"
            "  --eta X              weight decay in h [%g]\n"
            "  --full-batch-iter N  iteration at which m_k reaches the training set [%ld]\n"
            "  --polyak-xi X        Polyak averaging decay [%g]\n"
            "  --polyak-start N     first averaged iteration [%ld]\n\n"
            "Exit status: 0 done, 1 runtime failure, 2 usage error, 130 interrupted\n"
            "(checkpoint written when --checkpoint is given).\n",
            mlp ? "mlp" : "ae", mlp ? "Train a softmax classifier" : "Train a deep autoencoder",
            d.data, mlp ? "SIZES, e.g. 784-1000-500-10" : "mnist | curves | faces | SIZES (784-...-784)",
            d.arch, mlp ? " | softmax" : " | softmax", mlp ? "softmax" : "bernoulli (faces: gaussian)",
            d.iters, d.batch, d.eval_every, d.mu_max, k_curv_names[k->curvature], k->tau1, k->tau2,
            k->eps_max, k->T1, k->T2, k->T3, k->refresh_first, k->lambda0, k->omega1, k->omega2,
            k->eta, k->full_batch_iter, k->polyak_xi, k->polyak_start);
}

enum {
    O_DATA = 1000, O_ARCH, O_ACT, O_LOSS, O_INIT, O_INITK, O_OPT, O_ITERS, O_TIME, O_BATCH,
    O_MAXB, O_SEED, O_EVERY, O_SUBSET, O_THREADS, O_LOG, O_OUT, O_CKPT, O_CKEVERY, O_RESUME,
    O_LR, O_MUMAX, O_B1, O_B2, O_AEPS, O_CURV, O_MOM, O_FISHER, O_DAMP, O_ALAM, O_AGAM,
    O_TAU1, O_TAU2, O_EPSMAX, O_T1, O_T2, O_T3, O_RF, O_LAM0, O_W1, O_W2, O_G0, O_ETA, O_FBI, O_PXI,
    O_PSTART, O_HELP, O_EVSEC
};

static const struct option k_long[] = {
    {"data", required_argument, 0, O_DATA}, {"arch", required_argument, 0, O_ARCH},
    {"act", required_argument, 0, O_ACT}, {"loss", required_argument, 0, O_LOSS},
    {"init", required_argument, 0, O_INIT}, {"init-k", required_argument, 0, O_INITK},
    {"optimizer", required_argument, 0, O_OPT}, {"iters", required_argument, 0, O_ITERS},
    {"time-limit", required_argument, 0, O_TIME}, {"batch", required_argument, 0, O_BATCH},
    {"max-batch", required_argument, 0, O_MAXB}, {"seed", required_argument, 0, O_SEED},
    {"eval-every", required_argument, 0, O_EVERY}, {"eval-seconds", required_argument, 0, O_EVSEC}, {"eval-subset", required_argument, 0, O_SUBSET},
    {"threads", required_argument, 0, O_THREADS}, {"log", required_argument, 0, O_LOG},
    {"out", required_argument, 0, O_OUT}, {"checkpoint", required_argument, 0, O_CKPT},
    {"checkpoint-every", required_argument, 0, O_CKEVERY}, {"resume", no_argument, 0, O_RESUME},
    {"lr", required_argument, 0, O_LR}, {"mu-max", required_argument, 0, O_MUMAX},
    {"beta1", required_argument, 0, O_B1}, {"beta2", required_argument, 0, O_B2},
    {"adam-eps", required_argument, 0, O_AEPS}, {"curvature", required_argument, 0, O_CURV},
    {"momentum", required_argument, 0, O_MOM}, {"fisher", required_argument, 0, O_FISHER},
    {"damping", required_argument, 0, O_DAMP}, {"adapt-lambda", required_argument, 0, O_ALAM},
    {"adapt-gamma", required_argument, 0, O_AGAM}, {"tau1", required_argument, 0, O_TAU1},
    {"tau2", required_argument, 0, O_TAU2},
    {"eps-max", required_argument, 0, O_EPSMAX}, {"T1", required_argument, 0, O_T1},
    {"T2", required_argument, 0, O_T2}, {"T3", required_argument, 0, O_T3},
    {"refresh-first", required_argument, 0, O_RF}, {"lambda0", required_argument, 0, O_LAM0},
    {"omega1", required_argument, 0, O_W1}, {"omega2", required_argument, 0, O_W2},
    {"gamma0", required_argument, 0, O_G0}, {"eta", required_argument, 0, O_ETA},
    {"m1", required_argument, 0, O_BATCH}, {"full-batch-iter", required_argument, 0, O_FBI},
    {"polyak-xi", required_argument, 0, O_PXI}, {"polyak-start", required_argument, 0, O_PSTART},
    {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0}};

/* returns -1 to go on, else an exit code */
static int parse(train_cfg *c, int argc, char **argv)
{
    const char *cmd = c->cmd;
    optind = 1;
    opterr = 0; /* our own messages name the command */
    int o, ix, li = -1;
    long lv;
    double dv;
    char oname[64];
#define PL(lo, hi, dst)                                                                  \
    do {                                                                                 \
        if (!ng_cli_parse_long(cmd, oname, optarg, lo, hi, &lv)) return NG_EXIT_USAGE; \
        dst = lv;                                                                        \
    } while (0)
#define PD(lo, hi, dst)                                                                  \
    do {                                                                                 \
        if (!ng_cli_parse_double(cmd, oname, optarg, lo, hi, &dv)) return NG_EXIT_USAGE; \
        dst = dv;                                                                        \
    } while (0)
#define PC(choices, dst)                                                                 \
    do {                                                                                 \
        ix = ng_cli_parse_choice(cmd, oname, optarg, choices);                \
        if (ix < 0) return NG_EXIT_USAGE;                                                \
        dst = ix;                                                                        \
    } while (0)
    while ((o = getopt_long(argc, argv, "", k_long, &li)) != -1) {
        snprintf(oname, sizeof oname, "--%s", li >= 0 ? k_long[li].name : "?");
        li = -1;
        switch (o) {
        case O_DATA: c->data = optarg; break;
        case O_ARCH: c->arch = optarg; break;
        case O_ACT: c->act = optarg; break;
        case O_LOSS: PC(k_loss, c->loss); break;
        case O_INIT: PC(k_init, c->init); break;
        case O_INITK: PL(1, 100000, c->init_k); break;
        case O_OPT: PC(k_opt_names, c->optimizer); break;
        case O_ITERS: PL(0, 1000000000L, c->iters); break;
        case O_TIME: PD(0, 1e9, c->time_limit); break;
        case O_BATCH: PL(1, 100000000L, c->batch); break;
        case O_MAXB: PL(0, 100000000L, c->max_batch); break;
        case O_SEED:
            if (!ng_cli_parse_u64(cmd, "--seed", optarg, &c->seed)) return NG_EXIT_USAGE;
            break;
        case O_EVERY: PL(1, 1000000000L, c->eval_every); break;
        case O_EVSEC: PD(0, 1e9, c->eval_seconds); break;
        case O_SUBSET: PL(0, 1000000000L, c->eval_subset); break;
        case O_THREADS: PL(0, 1024, c->threads); break;
        case O_LOG: c->log = optarg; break;
        case O_OUT: c->out = optarg; break;
        case O_CKPT: c->ckpt = optarg; break;
        case O_CKEVERY: PL(0, 1000000000L, c->ckpt_every); break;
        case O_RESUME: c->resume = 1; break;
        case O_LR: PD(1e-300, 1e6, c->lr); break;
        case O_MUMAX: PD(0, 0.999999, c->mu_max); break;
        case O_B1: PD(0, 0.999999, c->beta1); break;
        case O_B2: PD(0, 0.999999, c->beta2); break;
        case O_AEPS: PD(1e-300, 1, c->adam_eps); break;
        case O_CURV: PC(k_curv_names, ix); c->kp.curvature = (ng_kfac_curvature)ix; break;
        case O_MOM: PC(k_onoff, c->kp.momentum); break;
        case O_FISHER: PC(k_fisher, c->kp.empirical_fisher); break;
        case O_DAMP: PC(k_damping, c->kp.exact_tikhonov); break;
        case O_ALAM: PC(k_onoff, c->kp.adapt_lambda); break;
        case O_AGAM: PC(k_onoff, c->kp.adapt_gamma); break;
        case O_TAU1: PD(1e-6, 1, c->kp.tau1); break;
        case O_TAU2: PD(1e-6, 1, c->kp.tau2); break;
        case O_EPSMAX: PD(0, 0.999999, c->kp.eps_max); break;
        case O_T1: PL(1, 1000000, c->kp.T1); break;
        case O_T2: PL(1, 1000000, c->kp.T2); break;
        case O_T3: PL(1, 1000000, c->kp.T3); break;
        case O_RF: PL(0, 1000000, c->kp.refresh_first); break;
        case O_LAM0: PD(0, 1e12, c->kp.lambda0); break;
        case O_W1: PD(1e-6, 0.999999, c->kp.omega1); break;
        case O_W2: PD(1e-6, 0.999999, c->kp.omega2); break;
        case O_G0: PD(0, 1e12, c->kp.gamma0); break;
        case O_ETA: PD(0, 1e6, c->kp.eta); break;
        case O_FBI: PL(2, 1000000000L, c->kp.full_batch_iter); break;
        case O_PXI: PD(0, 0.999999, c->kp.polyak_xi); break;
        case O_PSTART: PL(1, 1000000000L, c->kp.polyak_start); break;
        case O_HELP: usage(stdout, c->mlp); return NG_EXIT_OK;
        default:
            if (optopt && optopt != '?')
                fprintf(stderr, "natgrad %s: option '%s' needs a value\n", cmd, argv[optind - 1]);
            else
                fprintf(stderr, "natgrad %s: unrecognized option '%s'\n", cmd, argv[optind - 1]);
            return ng_cli_bad_option(cmd);
        }
    }
#undef PL
#undef PD
#undef PC
    if (optind < argc) return ng_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (c->resume && !c->ckpt) return ng_cli_usage_error(cmd, "--resume needs --checkpoint DIR");
    if (c->kp.exact_tikhonov && c->kp.curvature == NG_KFAC_TRIDIAG && c->optimizer == OPT_KFAC)
        return ng_cli_usage_error(cmd, "--damping tikhonov needs --curvature blockdiag");
    c->kp.m1 = (size_t)c->batch;
    return -1;
}

/* ------------------------------------------------------------------ the run */
typedef struct {
    train_cfg *c;
    ng_dataset ds;
    ng_net *net;
    ng_kfac *kf;
    ng_optim *opt;
    float *Ytr, *Yte; /* targets: X itself (ae) or one-hot labels (mlp) */
    float *bx, *by;
    size_t *idx;
    size_t dl, classes;
    ng_rng rng_batch, rng_kfac;
    double tr_sc[4]; /* iter, seconds, 0, 0 */
    float *swap;
} run_state;

static int mkdir_p(const char *d)
{
    if (mkdir(d, 0777) == 0 || errno == EEXIST) return 0;
    return -1;
}

static const char *opt_label(const train_cfg *c)
{
    static char buf[64];
    if (c->optimizer == OPT_KFAC)
        snprintf(buf, sizeof buf, "kfac-%s", k_curv_names[c->kp.curvature]);
    else
        snprintf(buf, sizeof buf, "%s", k_opt_names[c->optimizer]);
    return buf;
}

static size_t collect_state(run_state *s, ng_ckpt_array *arr, size_t cap)
{
    size_t n = 0;
    const ng_net_spec *sp = ng_net_get_spec(s->net);
    (void)sp;
    if (arr && cap >= 4) {
        memset(arr, 0, 4 * sizeof *arr);
        arr[0].name = "params";
        arr[0].t.dtype = NG_F32;
        arr[0].t.ndim = 1;
        arr[0].t.shape[0] = ng_net_num_params(s->net);
        arr[0].t.data = ng_net_params(s->net);
        arr[1].name = "rng_batch";
        arr[1].t.dtype = NG_U8;
        arr[1].t.ndim = 1;
        arr[1].t.shape[0] = sizeof(ng_rng);
        arr[1].t.data = &s->rng_batch;
        arr[2].name = "rng_kfac";
        arr[2].t = arr[1].t;
        arr[2].t.data = &s->rng_kfac;
        arr[3].name = "trainer";
        arr[3].t.dtype = NG_F64;
        arr[3].t.ndim = 1;
        arr[3].t.shape[0] = 4;
        arr[3].t.data = s->tr_sc;
    }
    n = 4;
    if (s->kf) n += ng_kfac_state(s->kf, arr ? arr + 4 : NULL, cap > 4 ? cap - 4 : 0);
    if (s->opt) n += ng_optim_state(s->opt, arr ? arr + 4 : NULL, cap > 4 ? cap - 4 : 0);
    return n;
}

static char *model_name(run_state *s)
{
    const ng_net_spec *sp = ng_net_get_spec(s->net);
    char sizes[512] = "";
    size_t pos = 0;
    for (int i = 0; i <= sp->n_layers && pos + 24 < sizeof sizes; i++)
        pos += (size_t)snprintf(sizes + pos, sizeof sizes - pos, "%s%zu", i ? "-" : "", sp->sizes[i]);
    char *m = malloc(strlen(sizes) + 96);
    if (m) sprintf(m, "%s:%s:%s", s->c->mlp ? "mlp" : "ae", sizes, opt_label(s->c));
    return m;
}

static ng_status save_ckpt(run_state *s, long iter)
{
    size_t n = collect_state(s, NULL, 0);
    ng_ckpt_array *arr = calloc(n, sizeof *arr);
    char *model = model_name(s);
    if (!arr || !model) {
        free(arr);
        free(model);
        return NG_ENOMEM;
    }
    collect_state(s, arr, n);
    ng_status st = ng_ckpt_save(s->c->ckpt, model, iter, arr, n);
    free(arr);
    free(model);
    return st;
}

static ng_status load_ckpt(run_state *s, long *iter)
{
    size_t n = collect_state(s, NULL, 0);
    ng_ckpt_array *arr = calloc(n, sizeof *arr);
    char *model = model_name(s);
    if (!arr || !model) {
        free(arr);
        free(model);
        return NG_ENOMEM;
    }
    collect_state(s, arr, n);
    int64_t step = 0;
    ng_status st = ng_ckpt_load(s->c->ckpt, model, &step, arr, n);
    free(arr);
    free(model);
    if (st) return st;
    if (s->kf) ng_kfac_state_loaded(s->kf);
    if (s->opt) ng_optim_state_loaded(s->opt);
    *iter = (long)step;
    return NG_OK;
}

static ng_status write_weights(run_state *s)
{
    if (mkdir_p(s->c->out) != 0) return NG_EIO;
    const ng_net_spec *sp = ng_net_get_spec(s->net);
    const float *sets[2] = {ng_net_params(s->net), s->kf ? ng_kfac_polyak(s->kf) : NULL};
    const char *stem[2] = {"W", "Wavg"};
    for (int v = 0; v < 2; v++) {
        if (!sets[v]) continue;
        for (int k = 0; k < sp->n_layers; k++) {
            ng_tensor t;
            memset(&t, 0, sizeof t);
            t.dtype = NG_F32;
            t.ndim = 2;
            t.shape[0] = sp->sizes[k + 1];
            t.shape[1] = sp->sizes[k] + 1;
            t.data = (void *)(sets[v] + ng_net_layer_offset(s->net, k));
            char path[4096];
            snprintf(path, sizeof path, "%s/%s%d.npy", s->c->out, stem[v], k);
            ng_status st = ng_npy_write(path, &t);
            if (st) return st;
        }
    }
    return NG_OK;
}

/* train error, test error, train loss of the current parameters */
static ng_status eval_now(run_state *s, double *tr_loss, double *tr_err, double *te_err)
{
    size_t ntr = s->ds.n_train, nte = s->ds.n_test;
    if (s->c->eval_subset > 0) {
        if ((size_t)s->c->eval_subset < ntr) ntr = (size_t)s->c->eval_subset;
        if ((size_t)s->c->eval_subset < nte) nte = (size_t)s->c->eval_subset;
    }
    ng_status st = ng_net_evaluate(s->net, s->ds.train_x, s->Ytr, ntr, tr_loss, tr_err);
    if (st) return st;
    *te_err = NAN;
    if (nte > 0) st = ng_net_evaluate(s->net, s->ds.test_x, s->Yte, nte, NULL, te_err);
    return st;
}

static ng_status evaluate(run_state *s, double *tl, double *tre, double *tee, int *used_avg)
{
    *used_avg = 0;
    ng_status st = eval_now(s, tl, tre, tee);
    if (st) return st;
    const float *avg = s->kf ? ng_kfac_polyak(s->kf) : NULL;
    if (!avg) return NG_OK;
    size_t n = ng_net_num_params(s->net);
    float *P = ng_net_params(s->net);
    memcpy(s->swap, P, n * sizeof(float));
    memcpy(P, avg, n * sizeof(float));
    double l2, e2, t2;
    st = eval_now(s, &l2, &e2, &t2);
    memcpy(P, s->swap, n * sizeof(float));
    if (st) return st;
    if (e2 < *tre) {
        *tl = l2;
        *tre = e2;
        *tee = t2;
        *used_avg = 1;
    }
    return NG_OK;
}

static float *one_hot(const int32_t *y, size_t n, size_t k)
{
    float *Y = calloc(n * k + 1, sizeof(float));
    if (!Y) return NULL;
    for (size_t i = 0; i < n; i++) Y[i * k + (size_t)y[i]] = 1.0f;
    return Y;
}

static int run_train(int argc, char **argv, int mlp)
{
    train_cfg c;
    defaults(&c, mlp);
    int rc = parse(&c, argc, argv);
    if (rc >= 0) return rc;
    const char *cmd = c.cmd;
    if (c.threads > 0) ng_cli_set_threads((int)c.threads);

    run_state s;
    memset(&s, 0, sizeof s);
    s.c = &c;
    rc = NG_EXIT_FAIL;
    ng_csv *csv = NULL;

    /* architecture */
    ng_net_spec sp;
    ng_loss loss = mlp ? NG_LOSS_SOFTMAX : NG_LOSS_BERNOULLI;
    if (c.loss >= 0) loss = (ng_loss)(c.loss == 0 ? NG_LOSS_BERNOULLI : c.loss == 1 ? NG_LOSS_SOFTMAX : NG_LOSS_GAUSSIAN);
    ng_status st;
    if (!strcmp(c.arch, "mnist") || !strcmp(c.arch, "curves") || !strcmp(c.arch, "faces")) {
        st = ng_net_spec_preset(c.arch, &sp);
        if (st) return ng_cli_usage_error(cmd, "--arch %s: %s", c.arch, ng_last_error());
        if (c.act || c.loss >= 0) {
            char sizes[512];
            size_t pos = 0;
            for (int i = 0; i <= sp.n_layers && pos + 24 < sizeof sizes; i++)
                pos += (size_t)snprintf(sizes + pos, sizeof sizes - pos, "%s%zu", i ? "-" : "", sp.sizes[i]);
            ng_net_spec sp2;
            st = ng_net_spec_parse(sizes, c.act ? c.act : NULL, c.loss >= 0 ? loss : sp.loss, &sp2);
            if (st) return ng_cli_usage_error(cmd, "--act %s: %s", c.act ? c.act : "", ng_last_error());
            if (!c.act) memcpy(sp2.act, sp.act, sizeof sp.act);
            sp = sp2;
        }
    } else {
        st = ng_net_spec_parse(c.arch, c.act ? c.act : "logistic", loss, &sp);
        if (st) return ng_cli_usage_error(cmd, "--arch %s: %s", c.arch, ng_last_error());
    }
    if (mlp && sp.loss != NG_LOSS_SOFTMAX)
        return ng_cli_usage_error(cmd, "mlp trains softmax classifiers (got --loss %s)", ng_loss_name(sp.loss));
    if (c.optimizer == OPT_KFAC) {
        st = ng_kfac_params_check(&c.kp);
        if (st) return ng_cli_usage_error(cmd, "%s", ng_last_error());
    }

    /* data */
    st = ng_data_source_load(c.data, &s.ds);
    if (st) return ng_cli_fail(cmd, "cannot load --data");
    size_t d0 = sp.sizes[0];
    s.dl = sp.sizes[sp.n_layers];
    if (s.ds.dim != d0) {
        fprintf(stderr, "natgrad %s: --data %s has %zu features per case but --arch expects %zu\n", cmd, c.data, s.ds.dim, d0);
        goto done;
    }
    if (s.ds.n_train == 0) {
        fprintf(stderr, "natgrad %s: --data %s has no training cases\n", cmd, c.data);
        goto done;
    }
    if (mlp) {
        if (!s.ds.train_y) {
            fprintf(stderr, "natgrad %s: --data %s has no labels\n", cmd, c.data);
            goto done;
        }
        int32_t mx = 0;
        for (size_t i = 0; i < s.ds.n_train; i++) mx = s.ds.train_y[i] > mx ? s.ds.train_y[i] : mx;
        for (size_t i = 0; i < s.ds.n_test; i++) mx = s.ds.test_y && s.ds.test_y[i] > mx ? s.ds.test_y[i] : mx;
        for (size_t i = 0; i < s.ds.n_train; i++)
            if (s.ds.train_y[i] < 0) {
                fprintf(stderr, "natgrad %s: --data %s: negative label at training case %zu\n", cmd, c.data, i);
                goto done;
            }
        if ((size_t)mx + 1 > s.dl) {
            fprintf(stderr, "natgrad %s: labels go up to %d but --arch has %zu outputs\n", cmd, mx, s.dl);
            goto done;
        }
        s.Ytr = one_hot(s.ds.train_y, s.ds.n_train, s.dl);
        s.Yte = s.ds.test_y ? one_hot(s.ds.test_y, s.ds.n_test, s.dl) : NULL;
        if (!s.Yte) s.ds.n_test = 0;
        if (!s.Ytr) goto oom;
    } else {
        if (s.dl != d0) {
            fprintf(stderr, "natgrad %s: an autoencoder needs as many outputs as inputs (--arch %s: %zu vs %zu)\n", cmd, c.arch, s.dl, d0);
            goto done;
        }
        s.Ytr = s.ds.train_x;
        s.Yte = s.ds.test_x;
    }

    /* network and optimiser */
    size_t ntr = s.ds.n_train;
    size_t maxb;
    if (c.optimizer == OPT_KFAC) {
        maxb = c.max_batch > 0 && (size_t)c.max_batch < ntr ? (size_t)c.max_batch : ntr;
        if (maxb > ntr) maxb = ntr;
    } else {
        maxb = (size_t)c.batch < ntr ? (size_t)c.batch : ntr;
    }
    size_t evalb = maxb < 2000 ? 2000 : maxb; /* evaluation chunks */
    if (evalb < maxb) evalb = maxb;
    st = ng_net_new(&sp, evalb, &s.net);
    if (st) {
        ng_cli_fail(cmd, "cannot create the network");
        goto done;
    }
    ng_rng init_rng;
    ng_rng_seed(&init_rng, c.seed);
    if (c.init == 0) ng_net_init_sparse(s.net, &init_rng, (int)c.init_k);
    else ng_net_init_glorot(s.net, &init_rng);
    ng_rng_seed(&s.rng_batch, c.seed * 0x9E3779B97F4A7C15ULL + 1);
    ng_rng_seed(&s.rng_kfac, c.seed * 0x9E3779B97F4A7C15ULL + 2);
    if (c.optimizer == OPT_KFAC) {
        st = ng_kfac_new(s.net, &c.kp, &s.kf);
    } else {
        ng_optim_params op = ng_optim_default_params(c.optimizer == OPT_SGD ? NG_OPT_SGD_NESTEROV : NG_OPT_ADAM);
        if (c.lr > 0) op.lr = c.lr;
        op.mu_max = c.mu_max;
        op.beta1 = c.beta1;
        op.beta2 = c.beta2;
        op.eps = c.adam_eps;
        op.eta = c.kp.eta;
        c.lr = op.lr;
        st = ng_optim_new(s.net, &op, &s.opt);
    }
    if (st) {
        ng_cli_fail(cmd, "cannot create the optimiser");
        goto done;
    }
    size_t np = ng_net_num_params(s.net);
    s.bx = malloc(maxb * d0 * sizeof(float));
    s.by = mlp ? malloc(maxb * s.dl * sizeof(float)) : NULL;
    s.idx = malloc(ntr * sizeof(size_t));
    s.swap = malloc(np * sizeof(float));
    if (!s.bx || (mlp && !s.by) || !s.idx || !s.swap) goto oom;

    long iter = 0;
    double seconds = 0;
    if (c.resume && ng_ckpt_exists(c.ckpt)) {
        st = load_ckpt(&s, &iter);
        if (st) {
            ng_cli_fail(cmd, "cannot resume");
            goto done;
        }
        seconds = s.tr_sc[1];
        fprintf(stderr, "natgrad %s: resumed from %s at iteration %ld (%.1f s)\n", cmd, c.ckpt, iter, seconds);
    }

    ng_cli_banner(cmd, c.seed,
                  "data %s (%zu train, %zu test, dim %zu) | arch %s (%zu params, %s loss) | optimizer %s | "
                  "iters %ld | time-limit %g | batch %ld | max-batch %zu | eval-every %ld | eval-seconds %g | eval-subset %ld | "
                  "lr %g | mu-max %g | eta %g | tau1 %g | tau2 %g | T1 %d T2 %d T3 %d | lambda0 %g | gamma0 %g | "
                  "momentum %s | fisher %s | damping %s | adapt-lambda %s | adapt-gamma %s | polyak %g from %ld",
                  c.data, s.ds.n_train, s.ds.n_test, s.ds.dim, c.arch, np, ng_loss_name(sp.loss),
                  opt_label(&c), c.iters, c.time_limit, c.batch, maxb, c.eval_every, c.eval_seconds, c.eval_subset,
                  c.optimizer == OPT_KFAC ? 0.0 : c.lr, c.mu_max, c.kp.eta, c.kp.tau1, c.kp.tau2, c.kp.T1,
                  c.kp.T2, c.kp.T3, c.kp.lambda0,
                  c.kp.gamma0 > 0 ? c.kp.gamma0 : sqrt(c.kp.lambda0 + c.kp.eta),
                  k_onoff[c.kp.momentum], k_fisher[c.kp.empirical_fisher],
                  k_damping[c.kp.exact_tikhonov], k_onoff[c.kp.adapt_lambda],
                  k_onoff[c.kp.adapt_gamma], c.kp.polyak_xi, c.kp.polyak_start);

    static const char *const cols[] = {"iter", "seconds", "batch", "objective", "train_loss",
                                       "train_error", "test_error", "lambda", "gamma", "alpha",
                                       "mu", "rho", "polyak"};
    if (c.log) {
        st = ng_csv_open(c.log, cols, sizeof cols / sizeof cols[0], c.resume && iter > 0, &csv);
        if (st) {
            ng_cli_fail(cmd, "cannot open --log");
            goto done;
        }
    }
    ng_cli_install_sigint();
    ng_progress prog;
    ng_progress_init(&prog, 10.0);
    double last_obj = NAN, tl = NAN, tre = NAN, tee = NAN;
    long last_logged = -1;
    int interrupted = 0;
    ng_kfac_info ki;
    ng_optim_info oi;
    memset(&ki, 0, sizeof ki);
    memset(&oi, 0, sizeof oi);
    ki.rho = ki.alpha = ki.mu = ki.lambda = ki.gamma = NAN;
    size_t m = 0;
    double next_eval = c.eval_seconds > 0 ? (floor(seconds / c.eval_seconds) + 1) * c.eval_seconds : 0;
    if (iter == 0 && csv) { /* the starting point */
        int ua;
        st = evaluate(&s, &tl, &tre, &tee, &ua);
        if (st) {
            ng_cli_fail(cmd, "evaluation failed");
            goto done;
        }
        double row[13] = {0, 0, 0, NAN, tl, tre, tee, NAN, NAN, NAN, NAN, NAN, 0};
        if (s.kf) {
            row[7] = c.kp.lambda0;
            row[8] = c.kp.gamma0 > 0 ? c.kp.gamma0 : sqrt(c.kp.lambda0 + c.kp.eta);
        }
        ng_csv_row(csv, row);
        last_logged = 0;
    }
    for (;;) {
        if (ng_cli_interrupted()) {
            interrupted = 1;
            break;
        }
        if (c.iters > 0 && iter >= c.iters) break;
        if (c.time_limit > 0 && seconds >= c.time_limit) break;
        double t0 = ng_cli_now();
        m = s.kf ? ng_kfac_batch_size(&c.kp, iter + 1, ntr) : maxb;
        if (m > maxb) m = maxb;
        /* cases drawn without replacement */
        st = ng_rng_sample(&s.rng_batch, ntr, m, s.idx);
        if (st) {
            ng_cli_fail(cmd, "sampling a minibatch failed");
            goto done;
        }
        for (size_t i = 0; i < m; i++) {
            memcpy(s.bx + i * d0, s.ds.train_x + s.idx[i] * d0, d0 * sizeof(float));
            if (mlp) memcpy(s.by + i * s.dl, s.Ytr + s.idx[i] * s.dl, s.dl * sizeof(float));
        }
        const float *by = mlp ? s.by : s.bx;
        if (s.kf) {
            st = ng_kfac_step(s.kf, s.bx, by, m, &s.rng_kfac, &ki);
            last_obj = ki.objective;
        } else {
            st = ng_optim_step(s.opt, s.bx, by, m, NULL, &oi);
            last_obj = oi.objective;
        }
        if (st) {
            fprintf(stderr, "natgrad %s: iteration %ld: %s\n", cmd, iter + 1, ng_last_error());
            goto done;
        }
        iter++;
        seconds += ng_cli_now() - t0;
        s.tr_sc[0] = (double)iter;
        s.tr_sc[1] = seconds;
        int last = (c.iters > 0 && iter >= c.iters) || (c.time_limit > 0 && seconds >= c.time_limit);
        int due = c.eval_seconds > 0 ? seconds >= next_eval : iter % c.eval_every == 0;
        if (csv && (due || last)) {
            while (c.eval_seconds > 0 && next_eval <= seconds) next_eval += c.eval_seconds;
            int ua = 0;
            st = evaluate(&s, &tl, &tre, &tee, &ua);
            if (st) {
                ng_cli_fail(cmd, "evaluation failed");
                goto done;
            }
            double row[13] = {(double)iter, seconds, (double)m, last_obj, tl, tre, tee,
                              s.kf ? ki.lambda : NAN, s.kf ? ki.gamma : NAN,
                              s.kf ? ki.alpha : c.lr, s.kf ? ki.mu : oi.mu, s.kf ? ki.rho : NAN,
                              (double)ua};
            st = ng_csv_row(csv, row);
            if (st) {
                ng_cli_fail(cmd, "cannot write --log");
                goto done;
            }
            last_logged = iter;
        }
        if (s.kf)
            ng_progress_update(&prog, "%s iter %ld | %.1f s | m %zu | h %.4f | train err %.4g | lambda %.3g gamma %.3g alpha %.3g mu %.3g",
                               cmd, iter, seconds, m, last_obj, tre, ki.lambda, ki.gamma, ki.alpha, ki.mu);
        else
            ng_progress_update(&prog, "%s iter %ld | %.1f s | m %zu | h %.4f | train err %.4g | lr %.3g mu %.3g",
                               cmd, iter, seconds, m, last_obj, tre, c.lr, oi.mu);
        if (c.ckpt && c.ckpt_every > 0 && iter % c.ckpt_every == 0) {
            st = save_ckpt(&s, iter);
            if (st) {
                ng_cli_fail(cmd, "cannot write --checkpoint");
                goto done;
            }
        }
    }
    ng_progress_done(&prog);
    if (csv && last_logged != iter && iter > 0) {
        int ua = 0;
        st = evaluate(&s, &tl, &tre, &tee, &ua);
        if (!st) {
            double row[13] = {(double)iter, seconds, (double)m, last_obj, tl, tre, tee,
                              s.kf ? ki.lambda : NAN, s.kf ? ki.gamma : NAN,
                              s.kf ? ki.alpha : c.lr, s.kf ? ki.mu : oi.mu, s.kf ? ki.rho : NAN, (double)ua};
            ng_csv_row(csv, row);
        }
    }
    if (c.ckpt) {
        st = save_ckpt(&s, iter);
        if (st) {
            ng_cli_fail(cmd, "cannot write --checkpoint");
            goto done;
        }
    }
    if (c.out) {
        st = write_weights(&s);
        if (st) {
            ng_cli_fail(cmd, "cannot write --out");
            goto done;
        }
    }
    if (!csv) {
        int ua;
        if (evaluate(&s, &tl, &tre, &tee, &ua) != NG_OK) tre = tee = NAN;
    }
    fprintf(stderr, "natgrad %s: %s after %ld iterations, %.1f s: train error %.6g, test error %.6g\n",
            cmd, interrupted ? "interrupted" : "done", iter, seconds, tre, tee);
    rc = interrupted ? 130 : NG_EXIT_OK;
    goto done;
oom:
    fprintf(stderr, "natgrad %s: out of memory\n", cmd);
done:
    if (csv) ng_csv_close(csv);
    free(s.bx);
    free(s.by);
    free(s.idx);
    free(s.swap);
    if (mlp) {
        free(s.Ytr);
        free(s.Yte);
    }
    ng_kfac_free(s.kf);
    ng_optim_free(s.opt);
    ng_net_free(s.net);
    ng_dataset_free(&s.ds);
    return rc;
}

static int dispatch(int argc, char **argv, int mlp)
{
    const char *name = mlp ? "mlp" : "ae";
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout, mlp);
        return argc < 2 ? NG_EXIT_USAGE : NG_EXIT_OK;
    }
    if (!strcmp(argv[1], "train")) return run_train(argc - 1, argv + 1, mlp);
    return ng_cli_usage_error(name, "unknown subcommand '%s' (expected 'train')", argv[1]);
}

int ng_cmd_ae(int argc, char **argv) { return dispatch(argc, argv, 0); }
int ng_cmd_mlp(int argc, char **argv) { return dispatch(argc, argv, 1); }
