/* dmf_bernoulli.c - sparse dynamic Bernoulli matrix factorisation (Bamler & Mandt 2018,
 * section 5.2): local loss l = sum_t [-sum log sigma(x u.v) + gamma/2 ||Z_t||^2] and its
 * full-batch gradient.
 *
 * Determinism without float atomics: the training ratings are stored twice, as CSR by
 * (t, user) and by (t, item). Pass A walks the user rows: each thread owns whole rows of
 * U's gradient, and stores the per-rating coefficient c = dl/ds = -x sigma(-x s). Pass B
 * walks the item rows and reuses c. Partial losses go to fixed blocks of rows that are
 * summed serially, so the result is the same for any thread count. */
#include "dmf_internal.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DMF_MAX_D 1024
#define DMF_ROWS_PER_BLOCK 512
#define DMF_OBS_PER_BLOCK 65536

struct ng_dmf_model {
    const ng_dmf_data *data;
    size_t T, nu, ni, N, d, ntr;
    double gamma;
    size_t *u_ptr;    /* T*nu + 1 */
    int32_t *u_item;  /* ntr, in (t, user) order */
    int8_t *u_x;      /* ntr */
    size_t *v_ptr;    /* T*ni + 1 */
    int32_t *v_user;  /* ntr, in (t, item) order */
    size_t *v_src;    /* ntr: position of the same rating in (t, user) order */
    float *coef;      /* ntr: dl/ds per rating, (t, user) order */
    double *blk;      /* partial sums, one per block */
    size_t nblk_u, nblk_v, nblk;
    size_t bytes;
};

size_t ng_dmf_num_vectors(const ng_dmf_model *m) { return m->N; }
size_t ng_dmf_model_bytes(const ng_dmf_model *m) { return m->bytes; }
double ng_dmf_step_work(const ng_dmf_model *m)
{
    return m ? (double)m->ntr * (4.0 + 0.15 * (double)m->d) : 0.0;
}

void ng_dmf_model_free(ng_dmf_model *m)
{
    if (!m) return;
    free(m->u_ptr);
    free(m->u_item);
    free(m->u_x);
    free(m->v_ptr);
    free(m->v_user);
    free(m->v_src);
    free(m->coef);
    free(m->blk);
    free(m);
}

ng_status ng_dmf_model_new(const ng_dmf_data *data, size_t d, double gamma, ng_dmf_model **out)
{
    *out = NULL;
    if (!data || !data->T || !data->n_users || !data->n_items)
        return ngi_fail(NG_EINVAL, "ng_dmf_model_new: empty data");
    if (d < 1 || d > DMF_MAX_D)
        return ngi_fail(NG_EINVAL, "ng_dmf_model_new: dimension %zu not in [1, %d]", d, DMF_MAX_D);
    if (!(gamma >= 0) || !isfinite(gamma))
        return ngi_fail(NG_EINVAL, "ng_dmf_model_new: gamma %g must be finite and >= 0", gamma);
    const ng_dmf_obs *o = &data->split[NG_DMF_TRAIN];
    ng_dmf_model *m = ngi_xcalloc(1, sizeof *m);
    if (!m) return NG_ENOMEM;
    m->data = data;
    m->T = data->T;
    m->nu = data->n_users;
    m->ni = data->n_items;
    m->N = m->nu + m->ni;
    m->d = d;
    m->gamma = gamma;
    m->ntr = o->n;
    const size_t T = m->T, nu = m->nu, ni = m->ni, ntr = m->ntr;
    for (size_t k = 0; k < ntr; k++)
        if (o->t[k] < 0 || (size_t)o->t[k] >= T || o->user[k] < 0 || (size_t)o->user[k] >= nu ||
            o->item[k] < 0 || (size_t)o->item[k] >= ni || (o->x[k] != 1 && o->x[k] != -1)) {
            ng_dmf_model_free(m);
            return ngi_fail(NG_EINVAL, "ng_dmf_model_new: training rating %zu out of range", k);
        }
    m->nblk_u = (T * nu + DMF_ROWS_PER_BLOCK - 1) / DMF_ROWS_PER_BLOCK;
    m->nblk_v = (T * ni + DMF_ROWS_PER_BLOCK - 1) / DMF_ROWS_PER_BLOCK;
    m->nblk = m->nblk_u + m->nblk_v;
    size_t nobs_blk = 0;
    for (int s = 0; s < 3; s++) {
        size_t b = (data->split[s].n + DMF_OBS_PER_BLOCK - 1) / DMF_OBS_PER_BLOCK;
        if (b > nobs_blk) nobs_blk = b;
    }
    size_t nb = m->nblk > 2 * nobs_blk ? m->nblk : 2 * nobs_blk;
    m->u_ptr = ngi_xcalloc(T * nu + 1, sizeof *m->u_ptr);
    m->v_ptr = ngi_xcalloc(T * ni + 1, sizeof *m->v_ptr);
    m->u_item = ngi_xmalloc(ntr * sizeof *m->u_item);
    m->u_x = ngi_xmalloc(ntr * sizeof *m->u_x);
    m->v_user = ngi_xmalloc(ntr * sizeof *m->v_user);
    m->v_src = ngi_xmalloc(ntr * sizeof *m->v_src);
    m->coef = ngi_xmalloc(ntr * sizeof *m->coef);
    m->blk = ngi_xcalloc(nb, sizeof *m->blk);
    size_t *upos = ngi_xmalloc(ntr * sizeof *upos);
    if (!m->u_ptr || !m->v_ptr || !m->u_item || !m->u_x || !m->v_user || !m->v_src ||
        !m->coef || !m->blk || !upos) {
        free(upos);
        ng_dmf_model_free(m);
        return NG_ENOMEM;
    }
    m->bytes = sizeof *m + (T * nu + 1 + T * ni + 1) * sizeof(size_t) +
               ntr * (sizeof(int32_t) * 2 + 1 + sizeof(size_t) + sizeof(float)) +
               nb * sizeof(double);
    /* counting sort, stable in input order */
    for (size_t k = 0; k < ntr; k++) {
        m->u_ptr[(size_t)o->t[k] * nu + (size_t)o->user[k] + 1]++;
        m->v_ptr[(size_t)o->t[k] * ni + (size_t)o->item[k] + 1]++;
    }
    for (size_t r = 0; r < T * nu; r++) m->u_ptr[r + 1] += m->u_ptr[r];
    for (size_t r = 0; r < T * ni; r++) m->v_ptr[r + 1] += m->v_ptr[r];
    {
        size_t *cur = ngi_xmalloc((T * nu > T * ni ? T * nu : T * ni) * sizeof *cur);
        if (!cur) {
            free(upos);
            ng_dmf_model_free(m);
            return NG_ENOMEM;
        }
        memcpy(cur, m->u_ptr, T * nu * sizeof *cur);
        for (size_t k = 0; k < ntr; k++) {
            size_t q = cur[(size_t)o->t[k] * nu + (size_t)o->user[k]]++;
            m->u_item[q] = o->item[k];
            m->u_x[q] = o->x[k];
            upos[k] = q;
        }
        memcpy(cur, m->v_ptr, T * ni * sizeof *cur);
        for (size_t k = 0; k < ntr; k++) {
            size_t q = cur[(size_t)o->t[k] * ni + (size_t)o->item[k]]++;
            m->v_user[q] = o->user[k];
            m->v_src[q] = upos[k];
        }
        free(cur);
    }
    free(upos);
    *out = m;
    return NG_OK;
}

ng_status ng_dmf_loss(void *user, const float *Z, float *grad, double *ell)
{
    ng_dmf_model *m = user;
    if (!m || !Z || !ell) return ngi_fail(NG_EINVAL, "ng_dmf_loss: NULL argument");
    const size_t nu = m->nu, ni = m->ni, N = m->N, d = m->d;
    const double gamma = m->gamma;
    const long nbu = (long)m->nblk_u, nbv = (long)m->nblk_v;
    const size_t Tnu = m->T * nu, Tni = m->T * ni;
    double *blk = m->blk;

    /* pass A: user rows own U's gradient; store c = dl/ds per rating */
#pragma omp parallel for schedule(dynamic, 1)
    for (long b = 0; b < nbu; b++) {
        double acc[DMF_MAX_D];
        double part = 0;
        size_t r1 = ((size_t)b + 1) * DMF_ROWS_PER_BLOCK;
        if (r1 > Tnu) r1 = Tnu;
        for (size_t r = (size_t)b * DMF_ROWS_PER_BLOCK; r < r1; r++) {
            size_t t = r / nu, i = r % nu;
            const float *u = Z + (t * N + i) * d;
            const float *V = Z + (t * N + nu) * d;
            double reg = 0;
            for (size_t k = 0; k < d; k++) {
                acc[k] = gamma * u[k];
                reg += (double)u[k] * u[k];
            }
            part += 0.5 * gamma * reg;
            for (size_t q = m->u_ptr[r]; q < m->u_ptr[r + 1]; q++) {
                const float *v = V + (size_t)m->u_item[q] * d;
                double s = 0;
                for (size_t k = 0; k < d; k++) s += (double)u[k] * v[k];
                double x = m->u_x[q];
                part -= ngi_dmf_log_sigmoid(x * s);
                double c = -x * ngi_dmf_sigmoid(-x * s);
                m->coef[q] = (float)c;
                for (size_t k = 0; k < d; k++) acc[k] += c * v[k];
            }
            if (grad) {
                float *g = grad + (t * N + i) * d;
                for (size_t k = 0; k < d; k++) g[k] += (float)acc[k];
            }
        }
        blk[b] = part;
    }

    /* pass B: item rows own V's gradient */
#pragma omp parallel for schedule(dynamic, 1)
    for (long b = 0; b < nbv; b++) {
        double acc[DMF_MAX_D];
        double part = 0;
        size_t r1 = ((size_t)b + 1) * DMF_ROWS_PER_BLOCK;
        if (r1 > Tni) r1 = Tni;
        for (size_t r = (size_t)b * DMF_ROWS_PER_BLOCK; r < r1; r++) {
            size_t t = r / ni, j = r % ni;
            const float *v = Z + (t * N + nu + j) * d;
            const float *U = Z + t * N * d;
            double reg = 0;
            for (size_t k = 0; k < d; k++) {
                acc[k] = gamma * v[k];
                reg += (double)v[k] * v[k];
            }
            part += 0.5 * gamma * reg;
            if (grad) {
                for (size_t q = m->v_ptr[r]; q < m->v_ptr[r + 1]; q++) {
                    const float *u = U + (size_t)m->v_user[q] * d;
                    double c = m->coef[m->v_src[q]];
                    for (size_t k = 0; k < d; k++) acc[k] += c * u[k];
                }
                float *g = grad + (t * N + nu + j) * d;
                for (size_t k = 0; k < d; k++) g[k] += (float)acc[k];
            }
        }
        blk[nbu + b] = part;
    }

    double L = 0;
    for (long b = 0; b < nbu + nbv; b++) L += blk[b];
    *ell = L;
    if (!isfinite(L)) return ngi_fail(NG_ENUMERIC, "dmf: local loss is %g (diverged)", L);
    return NG_OK;
}

ng_status ng_dmf_evaluate(const ng_dmf_model *m, const float *Z, ng_dmf_eval *out)
{
    if (!m || !Z || !out) return ngi_fail(NG_EINVAL, "ng_dmf_evaluate: NULL argument");
    const size_t nu = m->nu, N = m->N, d = m->d;
    double *blk = m->blk; /* 2 * blocks of the largest split fit (see _new) */
    for (int s = 0; s < 3; s++) {
        const ng_dmf_obs *o = &m->data->split[s];
        const long nb = (long)((o->n + DMF_OBS_PER_BLOCK - 1) / DMF_OBS_PER_BLOCK);
#pragma omp parallel for schedule(dynamic, 1)
        for (long b = 0; b < nb; b++) {
            size_t k1 = ((size_t)b + 1) * DMF_OBS_PER_BLOCK;
            if (k1 > o->n) k1 = o->n;
            double ll = 0, hit = 0;
            for (size_t k = (size_t)b * DMF_OBS_PER_BLOCK; k < k1; k++) {
                size_t t = (size_t)o->t[k];
                const float *u = Z + (t * N + (size_t)o->user[k]) * d;
                const float *v = Z + (t * N + nu + (size_t)o->item[k]) * d;
                double sc = 0;
                for (size_t q = 0; q < d; q++) sc += (double)u[q] * v[q];
                double xs = o->x[k] * sc;
                ll += ngi_dmf_log_sigmoid(xs);
                hit += xs > 0;
            }
            blk[2 * b] = ll;
            blk[2 * b + 1] = hit;
        }
        double ll = 0, hit = 0;
        for (long b = 0; b < nb; b++) {
            ll += blk[2 * b];
            hit += blk[2 * b + 1];
        }
        out->n[s] = o->n;
        out->ll[s] = o->n ? ll / (double)o->n : NAN;
        out->acc[s] = o->n ? hit / (double)o->n : NAN;
    }
    return NG_OK;
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ng_dmf_init(const ng_dmf_model *m, ng_rng *rng, double stddev, float *Z)
{
    /* one stream per slice, forked from rng: the same Z for any thread count */
    const uint64_t base = ng_rng_u64(rng);
    const size_t slice = m->N * m->d;
    const long T = (long)m->T;
#pragma omp parallel for schedule(dynamic, 1)
    for (long t = 0; t < T; t++) {
        ng_rng r;
        ng_rng_seed(&r, mix64(base ^ mix64((uint64_t)t)));
        ng_rng_fill_normal(&r, Z + (size_t)t * slice, slice, 0.0f, (float)stddev);
    }
}

double ngi_dmf_loss_grad_ref(const ng_dmf_data *data, size_t d, double gamma, const double *Z,
                            double *grad)
{
    const size_t T = data->T, nu = data->n_users, N = nu + data->n_items;
    double L = 0;
    for (size_t k = 0; k < T * N * d; k++) {
        L += 0.5 * gamma * Z[k] * Z[k];
        if (grad) grad[k] = gamma * Z[k];
    }
    const ng_dmf_obs *o = &data->split[NG_DMF_TRAIN];
    for (size_t k = 0; k < o->n; k++) {
        size_t t = (size_t)o->t[k];
        const double *u = Z + (t * N + (size_t)o->user[k]) * d;
        const double *v = Z + (t * N + nu + (size_t)o->item[k]) * d;
        double s = 0;
        for (size_t q = 0; q < d; q++) s += u[q] * v[q];
        double x = o->x[k];
        L -= ngi_dmf_log_sigmoid(x * s);
        if (grad) {
            double c = -x * ngi_dmf_sigmoid(-x * s);
            double *gu = grad + (t * N + (size_t)o->user[k]) * d;
            double *gv = grad + (t * N + nu + (size_t)o->item[k]) * d;
            for (size_t q = 0; q < d; q++) {
                gu[q] += c * v[q];
                gv[q] += c * u[q];
            }
        }
    }
    return L;
}

ng_dmf_params ng_dmf_default_params(void)
{
    ng_dmf_params p;
    memset(&p, 0, sizeof p);
    p.dim = 30;
    p.lambda = 10.0;
    p.gamma = 1.0;
    p.init_std = 0.1;
    return p;
}

static const char *const k_dmf_cols[] = {"train_ll",  "valid_ll",  "test_ll",
                                         "train_acc", "valid_acc", "test_acc"};

static ng_status dmf_row(void *user, const float *Z, double loss, double *vals)
{
    (void)loss;
    ng_dmf_eval ev;
    ng_status st = ng_dmf_evaluate(user, Z, &ev);
    if (st) return st;
    for (int s = 0; s < 3; s++) {
        vals[s] = ev.ll[s];
        vals[3 + s] = ev.acc[s];
    }
    return NG_OK;
}

ng_goldstone_task_params ng_dmf_task_params(ng_dmf_model *m)
{
    ng_goldstone_task_params p;
    memset(&p, 0, sizeof p);
    p.name = "dmf";
    p.cols = k_dmf_cols;
    p.n_cols = sizeof k_dmf_cols / sizeof k_dmf_cols[0];
    p.eval = dmf_row;
    p.user = m;
    return p;
}
