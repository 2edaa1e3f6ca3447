/* dwe_model_io.c - a trained dynamic word embedding as a directory other programs read
 * (docs/dwe.md, "Model directory"): model.txt, vocab.tsv, times.csv, the means U.npy and
 * V.npy over all slices (held-out ones predicted) and the variational parameters of the
 * training slices. Written into DIR.tmp and renamed, model.txt last, so a reader never
 * sees a partial model. Read back by ng_dwe_model_read (io/dwe_model_read.c). */
#include "corpus_internal.h"
#include "dwe_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "natgrad-dwe-model 1"

/* ================================================================== write */

/* All slices in time order: time, train flag and the source index (a training slice of
 * m, or a position in the held-out list). */
typedef struct {
    size_t T, Ttr, n_test;
    double *time;
    unsigned char *train;
    size_t *src;
    float *pred; /* n_test x N x d: the held-out means */
} slice_plan;

static void plan_free(slice_plan *p)
{
    free(p->time);
    free(p->train);
    free(p->src);
    free(p->pred);
}

static ng_status plan_make(ng_dwe *m, const double *test_times, size_t n_test, slice_plan *p)
{
    memset(p, 0, sizeof *p);
    p->Ttr = m->T;
    p->n_test = n_test;
    p->T = m->T + n_test;
    p->time = ngi_xmalloc(p->T * sizeof *p->time);
    p->train = ngi_xmalloc(p->T);
    p->src = ngi_xmalloc(p->T * sizeof *p->src);
    p->pred = ngi_xmalloc((n_test ? n_test : 1) * m->N * m->d * sizeof *p->pred);
    if (!p->time || !p->train || !p->src || !p->pred) return NG_ENOMEM;
    ng_status s = ng_dwe_predict_means(m, test_times, n_test, p->pred);
    if (s) return s;
    /* merge: the held-out times need not come sorted */
    unsigned char *used = ngi_xcalloc(n_test ? n_test : 1, 1);
    if (!used) return NG_ENOMEM;
    size_t a = 0;
    for (size_t k = 0; k < p->T; k++) {
        size_t best = n_test;
        for (size_t q = 0; q < n_test; q++)
            if (!used[q] && (best == n_test || test_times[q] < test_times[best])) best = q;
        if (best < n_test && (a == m->T || test_times[best] < m->c->time[a])) {
            used[best] = 1;
            p->time[k] = test_times[best];
            p->train[k] = 0;
            p->src[k] = best;
        } else {
            p->time[k] = m->c->time[a];
            p->train[k] = 1;
            p->src[k] = a++;
        }
        if (k > 0 && !(p->time[k] > p->time[k - 1])) s = NG_EINVAL;
    }
    free(used);
    if (s) return ngi_fail(s, "ng_dwe_model_write: two held-out slices have the same time");
    return NG_OK;
}

static int all_finite(const float *x, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!isfinite(x[k])) return 0;
    return 1;
}

static ng_status put_npy(const char *tmp, const char *name, const float *data, size_t n0, size_t n1, size_t n2)
{
    char *path = ngi_asprintf("%s/%s", tmp, name);
    if (!path) return NG_ENOMEM;
    ng_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = NG_F32;
    t.ndim = 3;
    t.shape[0] = n0;
    t.shape[1] = n1;
    t.shape[2] = n2;
    t.data = (void *)data;
    ng_status s = ng_npy_write(path, &t);
    free(path);
    return s;
}

/* rows [r0, r0 + W) of every slice of the plan (means; held-out slices predicted) */
static ng_status put_means(const char *tmp, const char *name, ng_dwe *m, const slice_plan *p, size_t r0,
                           float *buf)
{
    const size_t W = m->W, d = m->d, sl = m->N * d;
    for (size_t k = 0; k < p->T; k++) {
        const float *src = (p->train[k] ? m->v.mu : p->pred) + p->src[k] * sl + r0 * d;
        memcpy(buf + k * W * d, src, W * d * sizeof *buf);
    }
    return put_npy(tmp, name, buf, p->T, W, d);
}

/* rows [r0, r0 + W) of the first `slices` training slices of a variational array */
static ng_status put_param(const char *tmp, const char *name, ng_dwe *m, const float *a, size_t slices,
                           size_t r0, float *buf)
{
    const size_t W = m->W, d = m->d, sl = m->N * d;
    for (size_t t = 0; t < slices; t++) memcpy(buf + t * W * d, a + t * sl + r0 * d, W * d * sizeof *buf);
    return put_npy(tmp, name, buf, slices, W, d);
}

/* B's superdiagonal e_t = b_t tanh theta_t of the rows from r0 (the state stores theta). */
static ng_status put_superdiag(const char *tmp, const char *name, ng_dwe *m, size_t r0, float *buf)
{
    const size_t W = m->W, d = m->d, sl = m->N * d;
    for (size_t t = 0; t + 1 < m->T; t++)
        for (size_t q = 0; q < W * d; q++) {
            size_t o = t * sl + r0 * d + q;
            buf[t * W * d + q] = (float)(exp((double)m->v.logb[o]) * tanh((double)m->v.th[o]));
        }
    return put_npy(tmp, name, buf, m->T - 1, W, d);
}

static ng_status put_text(const char *tmp, const char *name, ng_dwe *m, const slice_plan *p,
                          const char *symmetry)
{
    char *path = ngi_asprintf("%s/%s", tmp, name);
    if (!path) return NG_ENOMEM;
    ng_atomic_file af;
    ng_status s = ng_atomic_open(&af, path);
    free(path);
    if (s) return s;
    char a[64], b[64];
    int ok = 1;
    if (!strcmp(name, "vocab.tsv")) {
        for (size_t k = 0; ok && k < m->W; k++) {
            ngi_fmt_double(m->c->word_count ? m->c->word_count[k] : 0.0, a, sizeof a);
            ok = fprintf(af.f, "%s\t%s\n", m->c->word[k], a) > 0;
        }
    } else if (!strcmp(name, "times.csv")) {
        ok = fputs("slice,time,train\n", af.f) >= 0;
        for (size_t k = 0; ok && k < p->T; k++) {
            ngi_fmt_double(p->time[k], a, sizeof a);
            ok = fprintf(af.f, "%zu,%s,%d\n", k, a, p->train[k]) > 0;
        }
    } else {
        ngi_fmt_double(m->p.sigma0, a, sizeof a);
        ngi_fmt_double(m->p.D, b, sizeof b);
        ok = fprintf(af.f, "%s\nmethod %s\ndim %zu\nW %zu\nT %zu\nsigma0 %s\ndiffusion %s\nsymmetry %s\n"
                           "steps %" PRId64 "\nprior %s\ntest_slices %zu\n",
                     MAGIC, ng_dwe_method_name(m->p.method), m->d, m->W, p->T, a, b, symmetry,
                     m->v.counters[0], ng_dwe_prior_name(m->p.prior), p->n_test) > 0;
    }
    if (!ok) {
        ng_atomic_abort(&af);
        return ngi_fail(NG_EIO, "%s/%s: write failed", tmp, name);
    }
    return ng_atomic_commit(&af);
}

/* Every file into tmp; model.txt last. */
static ng_status write_files(const char *tmp, ng_dwe *m, const slice_plan *p, const char *symmetry, float *buf)
{
    const size_t W = m->W, T = m->T;
    ng_status s = put_text(tmp, "vocab.tsv", m, p, symmetry);
    if (!s) s = put_text(tmp, "times.csv", m, p, symmetry);
    if (!s) s = put_means(tmp, "U.npy", m, p, 0, buf);
    if (!s) s = put_means(tmp, "V.npy", m, p, W, buf);
    if (!s && m->v.logb) s = put_param(tmp, "U_logb.npy", m, m->v.logb, T, 0, buf);
    if (!s && m->v.logb) s = put_param(tmp, "V_logb.npy", m, m->v.logb, T, W, buf);
    if (!s && m->v.th) s = put_superdiag(tmp, "U_e.npy", m, 0, buf);
    if (!s && m->v.th) s = put_superdiag(tmp, "V_e.npy", m, W, buf);
    if (!s) s = put_text(tmp, "model.txt", m, p, symmetry);
    return s;
}

ng_status ng_dwe_model_write(const char *dir, ng_dwe *m, const double *test_times, size_t n_test,
                             const char *symmetry)
{
    if (!dir || !m || (n_test && !test_times)) return ngi_fail(NG_EINVAL, "ng_dwe_model_write: NULL argument");
    const size_t T = m->T, tsz = T * m->N * m->d;
    if (!all_finite(m->v.mu, tsz) || (m->v.logb && !all_finite(m->v.logb, tsz)) ||
        (m->v.th && !all_finite(m->v.th, tsz - m->N * m->d)))
        return ngi_fail(NG_ENUMERIC, "ng_dwe_model_write: the parameters hold NaN or Inf; nothing written");
    slice_plan p;
    ng_status s = plan_make(m, test_times, n_test, &p);
    float *buf = s ? NULL : ngi_xmalloc(p.T * m->W * m->d * sizeof *buf);
    if (!s && !buf) s = NG_ENOMEM;
    char *tmp = NULL;
    if (!s) s = ngi_dir_prepare_tmp(dir, "model.txt", &tmp);
    if (!s) s = write_files(tmp, m, &p, symmetry ? symmetry : "none", buf);
    if (!s) s = ngi_dir_commit(tmp, dir, "model.txt");
    if (s && tmp) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", ng_last_error());
        ngi_rm_rf(tmp);
        ngi_fail(s, "%s", keep);
    }
    free(tmp);
    free(buf);
    plan_free(&p);
    return s;
}
