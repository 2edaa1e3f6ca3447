/* train_ratings.c - dynamic Bernoulli matrix factorisation (Bamler & Mandt 2018, model 2)
 * on synthetic ratings whose factors drift in time, trained with Goldstone-GD through the
 * public header alone.
 *   cc train_ratings.c $(pkg-config --cflags --libs natgrad) -o train_ratings
 *   ./train_ratings [STEPS]                                                              */
#include <natgrad.h>
#include <stdio.h>
#include <stdlib.h>

static void show(void *user, const ng_train_status *s)
{
    if (s->row && s->row_step == s->step) /* columns: loss ell psi train_ll valid_ll test_ll
                                             train_acc valid_acc test_acc ... */
        printf("step %4lld  test log-lik %.4f  test error %.4f\n", (long long)s->step,
               s->row[5], 1.0 - s->row[8]);
    (void)user;
}

int main(int argc, char **argv)
{
    ng_synth_ratings_params sp = ng_synth_ratings_default_params();
    sp.n_users = 400, sp.n_items = 300, sp.n_ratings = 60000;
    ng_dmf_prep_params pp = ng_dmf_prep_default_params();
    pp.bins = 10;
    ng_dmf_params mp = ng_dmf_default_params();
    ng_goldstone_params gp = ng_goldstone_default_params(); /* sync + gauge phase every k1 */
    gp.inner = ng_inner_default_params(NG_INNER_ADAGRAD);
    ng_train_params run = ng_train_default_params();
    run.steps = argc > 1 ? atol(argv[1]) : 500;
    run.log = "train_ratings.csv";
    run.progress = show;

    ng_ratings r = {0};
    ng_dmf_data data = {0};
    ng_dmf_model *model = NULL;
    ng_graph *chain = NULL;
    ng_goldstone *gs = NULL;
    ng_goldstone_task *task = NULL;
    float *Z = NULL;
    ng_rng rng;
    ng_rng_seed(&rng, 1);
    int ok = !ng_synth_ratings(&sp, &r) && !ng_dmf_prepare(&r, &pp, &data) &&
             !ng_dmf_model_new(&data, mp.dim, mp.gamma, &model) &&
             !ng_graph_chain(data.T, mp.lambda, &chain) &&
             (Z = malloc(data.T * ng_dmf_num_vectors(model) * mp.dim * sizeof *Z));
    if (ok) ng_dmf_init(model, &rng, mp.init_std, Z);
    if (ok) gp.step_work = ng_dmf_step_work(model); /* the phase interval counts the loss's cost */
    ng_goldstone_task_params tp = ok ? ng_dmf_task_params(model) : (ng_goldstone_task_params){0};
    ok = ok && !ng_goldstone_new(&gp, chain, ng_dmf_num_vectors(model), mp.dim, ng_dmf_loss, model, Z, &gs) &&
         !ng_goldstone_task_new(gs, Z, &tp, &task);
    ng_task t = ok ? ng_goldstone_task_get(task) : (ng_task){0};
    ok = ok && !ng_train_run(&t, &run, NULL);
    if (!ok) fprintf(stderr, "train_ratings: %s\n", ng_last_error());
    ng_goldstone_task_free(task);
    ng_goldstone_free(gs);
    free(Z);
    ng_graph_free(chain);
    ng_dmf_model_free(model);
    ng_dmf_data_free(&data);
    ng_synth_ratings_free(&r);
    return ok ? 0 : 1;
}
