/* train_autoencoder.c - the MNIST deep autoencoder (784-1000-500-250-30, Hinton &
 * Salakhutdinov 2006) trained with K-FAC through the public header alone.
 *   cc train_autoencoder.c $(pkg-config --cflags --libs natgrad) -o train_autoencoder
 *   ./train_autoencoder [DATA] [STEPS]
 * DATA: a directory of MNIST-format IDX files, or "curves" (generated; the default). */
#include <natgrad.h>
#include <stdio.h>
#include <stdlib.h>

static void show(void *user, const ng_train_status *s)
{
    if (s->row && s->row_step == s->step) /* row columns: batch objective train_loss train_error ... */
        printf("step %3lld  %6.1f s  train error %.3f  test error %.3f\n", (long long)s->step,
               s->seconds, s->row[3], s->row[4]);
    (void)user;
}

int main(int argc, char **argv)
{
    ng_dataset ds = {0};
    ng_net_spec spec;
    ng_net *net = NULL;
    ng_optim *opt = NULL;
    ng_net_task *task = NULL;
    ng_optim_params op = ng_optim_default_params(NG_OPT_KFAC);
    op.kfac.curvature = NG_KFAC_BLOCKDIAG; /* the cheaper inverse; the paper's is tridiag */
    ng_net_task_params tp = ng_net_task_default_params();
    ng_train_params run = ng_train_default_params();
    run.steps = argc > 2 ? atol(argv[2]) : 100;
    run.log = "train_autoencoder.csv";
    run.progress = show;
    ng_rng rng;
    ng_rng_seed(&rng, tp.seed);
    int ok = !ng_data_source_load(argc > 1 ? argv[1] : "curves", &ds) &&
             !ng_net_spec_preset("mnist", &spec) &&
             !ng_net_new(&spec, ng_optim_max_batch(&op, ds.n_train), &net);
    if (ok) ng_net_init_sparse(net, &rng, NG_NET_SPARSE_K);
    ok = ok && !ng_optim_new(net, &op, &opt) &&
         !ng_net_task_new(net, opt, ds.train_x, ds.train_x, ds.n_train, ds.test_x, ds.test_x,
                          ds.n_test, &tp, &task);
    ng_task t = ok ? ng_net_task_get(task) : (ng_task){0};
    ok = ok && !ng_train_run(&t, &run, NULL);
    if (!ok) fprintf(stderr, "train_autoencoder: %s\n", ng_last_error());
    ng_net_task_free(task);
    ng_optim_free(opt);
    ng_net_free(net);
    ng_dataset_free(&ds);
    return ok ? 0 : 1;
}
