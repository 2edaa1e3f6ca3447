/* toy.c - the toy experiment of Bamler & Mandt 2018 (section 5.1) as one object: the
 * dense Gaussian MF model on X = Ubar^T Vbar + noise (the same X at every t), the chain
 * prior, the exact optimum L* and the initial Z. */
#include "goldstone_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ng_toy {
    ng_toy_params p;
    ng_gauss_mf *model;
    ng_graph *graph;
    size_t N;
    double Lstar;
};

ng_toy_params ng_toy_default_params(void)
{
    ng_toy_params p;
    memset(&p, 0, sizeof p);
    p.T = 30;
    p.rows = 10;
    p.cols = 10;
    p.d = 3;
    p.lambda = 10.0;
    p.noise_var = 1e-3;
    p.init_std = 1.0;
    p.data_seed = 42;
    p.seed = 1;
    p.init_equal = 0;
    return p;
}

ng_train_params ng_toy_train_params(void)
{
    ng_train_params tp = ng_train_default_params();
    tp.steps = 20000;
    tp.eval_every = 10;
    tp.checkpoint_every = 1000;
    return tp;
}

ng_status ng_toy_new(const ng_toy_params *p, ng_toy **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_toy_new: out is NULL");
    *out = NULL;
    if (!p) return ngi_fail(NG_EINVAL, "ng_toy_new: params is NULL");
    if (!(p->init_std >= 0) || !isfinite(p->init_std))
        return ngi_fail(NG_EINVAL, "ng_toy_new: init_std = %g; expected finite >= 0", p->init_std);
    ng_toy *t = ngi_xcalloc(1, sizeof *t);
    if (!t) return NG_ENOMEM;
    t->p = *p;
    ng_status st = ng_gauss_mf_toy(p->T, p->rows, p->cols, p->d, p->noise_var, p->data_seed, &t->model);
    if (!st) st = ng_graph_chain(p->T, p->lambda, &t->graph);
    if (!st) st = ng_gauss_mf_rank_bound(t->model, &t->Lstar);
    if (st) {
        ng_toy_free(t);
        return st;
    }
    t->N = ng_gauss_mf_num_vectors(t->model);
    *out = t;
    return NG_OK;
}

void ng_toy_free(ng_toy *t)
{
    if (!t) return;
    ng_gauss_mf_free(t->model);
    ng_graph_free(t->graph);
    free(t);
}

const ng_toy_params *ng_toy_get_params(const ng_toy *t) { return &t->p; }
ng_gauss_mf *ng_toy_model(const ng_toy *t) { return t->model; }
const ng_graph *ng_toy_graph(const ng_toy *t) { return t->graph; }
size_t ng_toy_num_vectors(const ng_toy *t) { return t->N; }
size_t ng_toy_size(const ng_toy *t) { return t->p.T * t->N * t->p.d; }
double ng_toy_optimum(const ng_toy *t) { return t->Lstar; }

void ng_toy_init(const ng_toy *t, uint64_t seed, float *Z)
{
    ng_rng rng;
    ng_rng_seed(&rng, seed);
    ng_gauss_mf_init(t->model, &rng, t->p.init_std, Z);
    if (t->p.init_equal) {
        size_t nd = t->N * t->p.d;
        for (size_t s = 1; s < t->p.T; s++) memcpy(Z + s * nd, Z, nd * sizeof *Z);
    }
}

ng_status ng_toy_goldstone_new(ng_toy *t, const ng_goldstone_params *gp, float *Z, ng_goldstone **out)
{
    return ng_goldstone_new(gp, t->graph, t->N, t->p.d, ng_gauss_mf_loss, t->model, Z, out);
}

static const char *const k_toy_cols[] = {"gap"};

static ng_status toy_row(void *user, const float *Z, double loss, double *vals)
{
    (void)Z;
    const ng_toy *t = user;
    vals[0] = loss - t->Lstar;
    return NG_OK;
}

ng_goldstone_task_params ng_toy_task_params(ng_toy *t)
{
    ng_goldstone_task_params p;
    memset(&p, 0, sizeof p);
    p.name = "goldstone-toy";
    p.cols = k_toy_cols;
    p.n_cols = 1;
    p.eval = toy_row;
    p.user = t;
    return p;
}
