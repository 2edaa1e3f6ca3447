/* goldstone_task.c - a Goldstone-GD model as a training task: a step is one
 * ng_goldstone_step, a row is the objective at the current Z plus the model's own
 * columns, the state is Z, the symmetry time so far and the method's state. */
#include "goldstone_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ng_goldstone_task {
    ng_goldstone *gs;
    float *Z;
    size_t T, N, d;
    ng_goldstone_task_params p;
    const char **cols; /* loss, ell, psi, the model's, symmetry_seconds, walls, phases, phases_kept */
    size_t n_cols;
    double symmetry_seconds; /* all steps so far, resumed runs included */
};

static const char *const k_step_cols[] = {"loss", "ell", "psi", "symmetry_seconds"};

ng_status ng_goldstone_task_new(ng_goldstone *gs, float *Z, const ng_goldstone_task_params *p,
                                ng_goldstone_task **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_goldstone_task_new: out is NULL");
    *out = NULL;
    if (!gs || !Z || !p || !p->name)
        return ngi_fail(NG_EINVAL, "ng_goldstone_task_new: method, Z, params or name is NULL");
    ng_goldstone_task t;
    memset(&t, 0, sizeof t);
    if (Z != ngi_goldstone_z(gs, &t.T, &t.N, &t.d))
        return ngi_fail(NG_EINVAL, "ng_goldstone_task_new: Z is not the array the method works on");
    if (p->n_cols && (!p->cols || !p->eval))
        return ngi_fail(NG_EINVAL, "ng_goldstone_task_new: %zu model columns without names or "
                                   "an eval function", p->n_cols);
    for (size_t j = 0; j < p->n_cols; j++)
        if (!p->cols[j]) return ngi_fail(NG_EINVAL, "ng_goldstone_task_new: model column %zu is NULL", j);
    t.gs = gs;
    t.Z = Z;
    t.p = *p;
    t.n_cols = 3 + p->n_cols + 4;
    ng_goldstone_task *h = ngi_xmalloc(sizeof *h);
    const char **cols = ngi_xmalloc(t.n_cols * sizeof *cols);
    if (!h || !cols) {
        free(h);
        free(cols);
        return NG_ENOMEM;
    }
    cols[0] = "loss";
    cols[1] = "ell";
    cols[2] = "psi";
    for (size_t j = 0; j < p->n_cols; j++) cols[3 + j] = p->cols[j];
    cols[3 + p->n_cols] = "symmetry_seconds";
    cols[4 + p->n_cols] = "walls";
    cols[5 + p->n_cols] = "phases";
    cols[6 + p->n_cols] = "phases_kept";
    t.cols = cols;
    *h = t;
    *out = h;
    return NG_OK;
}

void ng_goldstone_task_free(ng_goldstone_task *t)
{
    if (!t) return;
    free(t->cols);
    free(t);
}

static ng_status task_step(void *self, int64_t k, double *vals)
{
    (void)k; /* the method counts its own steps (they travel in its state) */
    ng_goldstone_task *t = self;
    ng_goldstone_stats st;
    ng_status s = ng_goldstone_step(t->gs, 0, &st);
    if (s) return s;
    t->symmetry_seconds += st.symmetry_seconds;
    vals[0] = st.loss;
    vals[1] = st.ell;
    vals[2] = st.psi;
    vals[3] = st.symmetry_seconds;
    return NG_OK;
}

static ng_status task_row(void *self, double *vals)
{
    ng_goldstone_task *t = self;
    ng_status s = ng_goldstone_eval(t->gs, &vals[0], &vals[1], &vals[2]);
    if (s) return s;
    size_t m = t->p.n_cols;
    if (m && (s = t->p.eval(t->p.user, t->Z, vals[0], vals + 3))) return s;
    vals[3 + m] = t->symmetry_seconds;
    int walls = 0;
    if (t->p.count_walls && (s = ngi_goldstone_count_walls(t->gs, &walls))) return s;
    vals[4 + m] = t->p.count_walls ? (double)walls : NAN; /* not counted: an empty field */
    int64_t run = 0, kept = 0;
    ng_goldstone_phases(t->gs, &run, &kept);
    vals[5 + m] = (double)run;
    vals[6 + m] = (double)kept;
    return NG_OK;
}

size_t ng_goldstone_task_state(ng_goldstone_task *t, ng_ckpt_array *arrays, size_t cap)
{
    size_t count = 2 + ng_goldstone_state(t->gs, NULL, 0);
    if (!arrays) return count;
    ng_ckpt_array own[2] = {ng_ckpt_view("Z", NG_F32, t->Z, 3, t->T, t->N, t->d),
                            ng_ckpt_view("symmetry_seconds", NG_F64, &t->symmetry_seconds, 1, 1, 0, 0)};
    for (size_t j = 0; j < 2 && j < cap; j++) arrays[j] = own[j];
    if (cap > 2) ng_goldstone_state(t->gs, arrays + 2, cap - 2);
    return count;
}

ng_status ng_goldstone_task_state_loaded(ng_goldstone_task *t)
{
    return ng_goldstone_state_loaded(t->gs);
}

static size_t task_state(void *self, ng_ckpt_array *arrays, size_t cap)
{
    return ng_goldstone_task_state(self, arrays, cap);
}

static ng_status task_state_loaded(void *self) { return ng_goldstone_task_state_loaded(self); }

ng_task ng_goldstone_task_get(ng_goldstone_task *t)
{
    ng_task k;
    memset(&k, 0, sizeof k);
    k.name = t->p.name;
    k.counter = "step";
    k.cols = t->cols;
    k.n_cols = t->n_cols;
    k.step_cols = k_step_cols;
    k.n_step_cols = sizeof k_step_cols / sizeof k_step_cols[0];
    k.step = task_step;
    k.row = task_row;
    k.state = task_state;
    k.state_loaded = task_state_loaded;
    k.self = t;
    return k;
}
