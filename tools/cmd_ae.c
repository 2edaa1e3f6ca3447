/* cmd_ae.c - 'natgrad ae train' (deep autoencoders) and 'natgrad mlp train' (softmax
 * classifiers): K-FAC against SGD with Nesterov momentum and Adam on the same objective.
 * The command reads the options, the data and the network; the library's network task
 * (ng_net_task) and training loop (through ng_cli_train) do the run. */
#include "cli.h"
#include "commands.h"
#include "data_paths.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_loss[] = {"bernoulli", "softmax", "gaussian", NULL}; /* = ng_loss */
static const char *const k_init[] = {"sparse", "glorot", NULL};
enum { INIT_SPARSE = 0, INIT_GLOROT };
/* Evaluation runs in chunks of at least this many cases (the network's max_batch). */
#define EVAL_CHUNK 2000

typedef struct {
    int mlp;
    const char *data, *arch, *act, *out;
    int loss, loss_given, init, init_k;
    long threads;
    ng_net_task_params task;
    ng_optim_params opt;
    ng_train_params run;
    ng_cli_net_ctx net_ctx;
    ng_cli_opt own[16], net_opts[NG_CLI_GROUP_MAX], run_opts[NG_CLI_GROUP_MAX];
    const ng_cli_opt *tables[3];
    ng_cli_spec spec;
} ae_cfg;

static int paper_preset(const char *arch)
{
    return !strcmp(arch, "mnist") || !strcmp(arch, "curves") || !strcmp(arch, "faces");
}

/* After --arch and --optimizer: the optimiser's defaults for a paper preset (its eta, SGD's
 * tuned settings), which the other options then override. */
static void preset(void *ctx)
{
    ae_cfg *c = ctx;
    c->net_ctx.preset = !c->mlp && paper_preset(c->arch) ? c->arch : NULL;
    ng_cli_net_preset(&c->net_ctx);
}

/* The command's own options; the optimiser and run control come from the shared groups. */
static void own_options(ae_cfg *c)
{
    const unsigned SET = NG_CLI_SETTING;
    const ng_cli_opt o[] = {
        {.name = "", .type = NG_CLI_SECTION, .help = "Data and model"},
        {.name = "data", .type = NG_CLI_STR, .dst = &c->data, .meta = "SPEC", .flags = SET,
         .help = "fashion-mnist | curves | DIR (IDX files) | FILE.npy |\n"
                 "TRAIN.npy,TEST.npy; fashion-mnist is read from\n" NG_CLI_FASHION_MNIST_DIR},
        {.name = "arch", .type = NG_CLI_STR, .dst = &c->arch, .meta = "A", .flags = SET | NG_CLI_EARLY,
         .help = c->mlp ? "SIZES, e.g. 784-1000-500-10"
                        : "mnist | curves | faces (the paper's) | SIZES (784-...-784)"},
        {.name = "act", .type = NG_CLI_STR, .dst = &c->act, .meta = "NAME[,NAME..]",
         .flags = SET | NG_CLI_NO_DEFAULT,
         .help = "hidden activations: logistic tanh relu softplus linear (one for\n"
                 "all, or one per hidden layer) [the preset's; else logistic]"},
        {.name = "loss", .type = NG_CLI_CHOICE, .dst = &c->loss, .choices = k_loss, .flags = SET,
         .given = &c->loss_given,
         .help = c->mlp ? "output loss (a classifier: softmax)"
                        : "output loss (the faces preset: gaussian unless given)"},
        {.name = "init", .type = NG_CLI_CHOICE, .dst = &c->init, .choices = k_init, .flags = SET,
         .help = "sparse (Martens 2010) or Glorot-uniform initialisation"},
        {.name = "init-k", .type = NG_CLI_INT, .dst = &c->init_k, .lo = 1, .hi = 100000, .meta = "K",
         .flags = SET, .help = "incoming weights per unit for the sparse initialisation"},
        {.name = "seed", .type = NG_CLI_U64, .dst = &c->task.seed, .meta = "S", .flags = SET,
         .help = "seed of the initialisation, the minibatches and K-FAC's\nsampled targets"},
        {.name = "", .type = NG_CLI_SECTION, .help = "Evaluation and output"},
        {.name = "eval-subset", .type = NG_CLI_SIZE, .dst = &c->task.eval_subset, .lo = 0, .hi = 1e9,
         .meta = "N", .help = "evaluate on the first N cases of each set, 0 = all"},
        {.name = "out", .type = NG_CLI_STR, .dst = &c->out, .meta = "DIR",
         .help = "write the final weights as DIR/W<k>.npy (and Wavg<k>.npy, K-FAC's\n"
                 "Polyak average)"},
        {0},
    };
    NG_CLI_KEEP_TABLE(c->own, o);
}

/* Defaults from the library's *_default_params(), then the option tables over them. */
static void setup(ae_cfg *c, int mlp)
{
    memset(c, 0, sizeof *c);
    c->mlp = mlp;
    c->data = "fashion-mnist";
    c->arch = mlp ? "784-1000-500-10" : "mnist";
    c->loss = mlp ? NG_LOSS_SOFTMAX : NG_LOSS_BERNOULLI;
    c->init = INIT_SPARSE;
    c->init_k = NG_NET_SPARSE_K;
    c->task = ng_net_task_default_params();
    c->opt = ng_optim_default_params(NG_OPT_KFAC);
    c->run = ng_train_default_params();
    own_options(c);
    ng_cli_group_net(c->net_opts, &c->opt, &c->net_ctx);
    ng_cli_group_run(c->run_opts, &c->run, &c->threads);
    c->tables[0] = c->own;
    c->tables[1] = c->net_opts;
    c->tables[2] = c->run_opts;
    c->spec.name = mlp ? "mlp train" : "ae train";
    c->spec.synopsis = "[options]";
    c->spec.intro = mlp ? "Train a softmax classifier with K-FAC (Martens & Grosse 2015), SGD with Nesterov\n"
                          "momentum or Adam."
                        : "Train a deep autoencoder with K-FAC (Martens & Grosse 2015), SGD with Nesterov\n"
                          "momentum or Adam.";
    c->spec.outro = "Objective h = mean loss + (eta/2)||theta||^2. Errors are evaluated every K steps\n"
                    "on the training and test sets (not counted in 'seconds'); for K-FAC the better of\n"
                    "the current and the Polyak-averaged iterate is reported (column polyak). Log\n"
                    "columns: step,seconds,batch,objective,train_loss,train_error,test_error,lambda,\n"
                    "gamma,alpha,mu,rho,polyak.\n\n"
                    "Exit status: 0 done, 1 runtime failure, 2 usage error, 130 interrupted\n"
                    "(checkpoint written when --checkpoint is given).\n";
    c->spec.tables = c->tables;
    c->spec.n_tables = 3;
    c->spec.preset = preset;
    c->spec.ctx = c;
}

/* Checks across options, as usage errors. */
static int check_cfg(const ae_cfg *c)
{
    const char *cmd = c->spec.name;
    if (c->run.resume && !c->run.checkpoint) return ng_cli_usage_error(cmd, "--resume needs --checkpoint DIR");
    if (ng_optim_params_check(&c->opt)) return ng_cli_usage_error(cmd, "%s", ng_last_error());
    if (ng_train_params_check(&c->run)) return ng_cli_usage_error(cmd, "%s", ng_last_error());
    return -1;
}

/* --arch, --act, --loss into a network spec: a preset keeps its own activations and
 * loss unless --act / --loss are given. */
static int net_spec(const ae_cfg *c, ng_net_spec *sp)
{
    const char *cmd = c->spec.name, *arch = c->arch;
    ng_loss loss = (ng_loss)c->loss;
    if (paper_preset(arch)) {
        if (ng_net_spec_preset(arch, sp)) return ng_cli_usage_error(cmd, "--arch %s: %s", arch, ng_last_error());
        if (c->act || c->loss_given) {
            char sizes[NG_NET_MAX_LAYERS * 24];
            size_t pos = 0;
            for (int i = 0; i <= sp->n_layers; i++)
                pos += (size_t)snprintf(sizes + pos, sizeof sizes - pos, "%s%zu", i ? "-" : "", sp->sizes[i]);
            ng_net_spec sp2;
            if (ng_net_spec_parse(sizes, c->act, c->loss_given ? loss : sp->loss, &sp2))
                return ng_cli_usage_error(cmd, "--act %s: %s", c->act ? c->act : "", ng_last_error());
            if (!c->act) memcpy(sp2.act, sp->act, sizeof sp->act);
            *sp = sp2;
        }
    } else if (ng_net_spec_parse(arch, c->act ? c->act : "logistic", loss, sp)) {
        return ng_cli_usage_error(cmd, "--arch %s: %s", arch, ng_last_error());
    }
    if (c->mlp && sp->loss != NG_LOSS_SOFTMAX)
        return ng_cli_usage_error(cmd, "mlp trains softmax classifiers (got --loss %s)", ng_loss_name(sp->loss));
    return -1;
}

/* The data and the targets: the inputs themselves (ae) or one-hot labels (mlp). */
typedef struct {
    ng_dataset ds;
    float *ytr, *yte; /* one-hot (mlp), else NULL */
} ae_data;

static float *one_hot(const int32_t *y, size_t n, size_t k)
{
    float *Y = calloc(n * k + 1, sizeof(float));
    if (!Y) return NULL;
    for (size_t i = 0; i < n; i++) Y[i * k + (size_t)y[i]] = 1.0f;
    return Y;
}

static int labels(const ae_cfg *c, size_t dl, ae_data *d)
{
    const char *cmd = c->spec.name;
    ng_dataset *ds = &d->ds;
    if (!ds->train_y) return fprintf(stderr, "natgrad %s: --data %s has no labels\n", cmd, c->data), NG_EXIT_FAIL;
    int32_t mx = 0;
    for (size_t i = 0; i < ds->n_train; i++) {
        if (ds->train_y[i] < 0) {
            fprintf(stderr, "natgrad %s: --data %s: negative label at training case %zu\n", cmd, c->data, i);
            return NG_EXIT_FAIL;
        }
        mx = ds->train_y[i] > mx ? ds->train_y[i] : mx;
    }
    for (size_t i = 0; ds->test_y && i < ds->n_test; i++) mx = ds->test_y[i] > mx ? ds->test_y[i] : mx;
    if ((size_t)mx + 1 > dl) {
        fprintf(stderr, "natgrad %s: labels go up to %d but --arch has %zu outputs\n", cmd, mx, dl);
        return NG_EXIT_FAIL;
    }
    d->ytr = one_hot(ds->train_y, ds->n_train, dl);
    d->yte = ds->test_y ? one_hot(ds->test_y, ds->n_test, dl) : NULL;
    if (!d->yte) ds->n_test = 0;
    if (!d->ytr) return fprintf(stderr, "natgrad %s: out of memory\n", cmd), NG_EXIT_FAIL;
    return -1;
}

static int load_data(const ae_cfg *c, const ng_net_spec *sp, ae_data *d)
{
    const char *cmd = c->spec.name;
    if (ng_data_source_load(ng_cli_data_spec(c->data), &d->ds)) {
        fprintf(stderr, "natgrad %s: cannot load --data %s: %s%s\n", cmd, c->data, ng_last_error(),
                ng_cli_data_hint(c->data));
        return NG_EXIT_FAIL;
    }
    size_t d0 = sp->sizes[0], dl = sp->sizes[sp->n_layers];
    if (d->ds.dim != d0) {
        fprintf(stderr, "natgrad %s: --data %s has %zu features per case but --arch expects %zu\n", cmd,
                c->data, d->ds.dim, d0);
        return NG_EXIT_FAIL;
    }
    if (d->ds.n_train == 0)
        return fprintf(stderr, "natgrad %s: --data %s has no training cases\n", cmd, c->data), NG_EXIT_FAIL;
    if (c->mlp) return labels(c, dl, d);
    if (dl != d0) {
        fprintf(stderr, "natgrad %s: an autoencoder needs as many outputs as inputs (--arch %s: %zu vs %zu)\n",
                cmd, c->arch, dl, d0);
        return NG_EXIT_FAIL;
    }
    return -1;
}

static void free_data(ae_data *d)
{
    free(d->ytr);
    free(d->yte);
    ng_dataset_free(&d->ds);
}

/* The network (initialised from the seed), its optimiser and the task. */
typedef struct {
    ng_net *net;
    ng_optim *opt;
    ng_net_task *task;
} ae_run;

static ng_status build(const ae_cfg *c, const ng_net_spec *sp, const ae_data *d, ae_run *r)
{
    const ng_dataset *ds = &d->ds;
    size_t maxb = ng_optim_max_batch(&c->opt, ds->n_train);
    ng_status st = ng_net_new(sp, maxb < EVAL_CHUNK ? EVAL_CHUNK : maxb, &r->net);
    if (st) return st;
    ng_rng init_rng;
    ng_rng_seed(&init_rng, c->task.seed);
    if (c->init == INIT_SPARSE) ng_net_init_sparse(r->net, &init_rng, c->init_k);
    else ng_net_init_glorot(r->net, &init_rng);
    if ((st = ng_optim_new(r->net, &c->opt, &r->opt))) return st;
    const float *ytr = c->mlp ? d->ytr : ds->train_x, *yte = c->mlp ? d->yte : ds->test_x;
    return ng_net_task_new(r->net, r->opt, ds->train_x, ytr, ds->n_train, ds->test_x, yte,
                           ds->n_test, &c->task, &r->task);
}

static void free_run(ae_run *r)
{
    ng_net_task_free(r->task);
    ng_optim_free(r->opt);
    ng_net_free(r->net);
}

/* Banner, the run, --out and the errors reached. */
static int train(ae_cfg *c, const ng_net_spec *sp, const ae_data *d, ae_run *r)
{
    const char *cmd = c->spec.name;
    char *extra = ng_cli_asprintf("data %zu train, %zu test, dim %zu | %zu params, %s loss | largest minibatch %zu",
                                  d->ds.n_train, d->ds.n_test, d->ds.dim, ng_net_num_params(r->net),
                                  ng_loss_name(sp->loss), ng_optim_max_batch(&c->opt, d->ds.n_train));
    ng_cli_banner_spec(&c->spec, extra);
    free(extra);
    ng_task task = ng_net_task_get(r->task);
    ng_train_status st;
    memset(&st, 0, sizeof st);
    int rc = ng_cli_train(&c->spec, &task, &c->run, &st);
    if (rc == NG_EXIT_FAIL) return rc;
    if (c->out && ng_net_task_write_weights(r->task, c->out)) return ng_cli_fail(cmd, "cannot write --out");
    double tre = NAN, tee = NAN;
    if (ng_net_task_evaluate(r->task, &tre, &tee)) return ng_cli_fail(cmd, "evaluation failed");
    /* ng_cli_train has said "done after N steps" (or interrupted); the result follows */
    fprintf(stderr, "natgrad %s: train error %.6g, test error %.6g at step %lld\n", cmd, tre, tee,
            (long long)st.step);
    return rc;
}

static int run_train(int argc, char **argv, int mlp)
{
    ae_cfg *c = malloc(sizeof *c);
    if (!c) return fprintf(stderr, "natgrad: out of memory\n"), NG_EXIT_FAIL;
    setup(c, mlp);
    ng_net_spec sp;
    ae_data d;
    ae_run r;
    memset(&d, 0, sizeof d);
    memset(&r, 0, sizeof r);
    int rc = ng_cli_parse(&c->spec, argc, argv, NULL, NULL);
    if (rc < 0) rc = check_cfg(c);
    if (rc < 0 && c->threads > 0) ng_cli_set_threads((int)c->threads);
    if (rc < 0) rc = net_spec(c, &sp);
    if (rc < 0) rc = load_data(c, &sp, &d);
    if (rc < 0 && build(c, &sp, &d, &r)) rc = ng_cli_fail(c->spec.name, "cannot set up the run");
    if (rc < 0) rc = train(c, &sp, &d, &r);
    free_run(&r);
    free_data(&d);
    free(c);
    return rc;
}

static int dispatch(int argc, char **argv, int mlp)
{
    const char *name = mlp ? "mlp" : "ae";
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        ae_cfg *c = malloc(sizeof *c);
        if (!c) return NG_EXIT_FAIL;
        setup(c, mlp);
        ng_cli_help(argc < 2 ? stderr : stdout, &c->spec);
        free(c);
        return argc < 2 ? NG_EXIT_USAGE : NG_EXIT_OK;
    }
    if (!strcmp(argv[1], "train")) return run_train(argc - 1, argv + 1, mlp);
    return ng_cli_usage_error(name, "unknown subcommand '%s' (expected 'train')", argv[1]);
}

int ng_cmd_ae(int argc, char **argv) { return dispatch(argc, argv, 0); }
int ng_cmd_mlp(int argc, char **argv) { return dispatch(argc, argv, 1); }
