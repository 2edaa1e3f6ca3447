/* inner_optim.c - the ordinary optimisers Goldstone-GD runs between symmetry phases:
 * clipped GD with a decaying rate (paper's toy), AdaGrad (paper's ratings), Adam (DWE).
 * State is one slab allocated up front; a step never allocates. */
#include "goldstone_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ng_inner {
    ng_inner_params p;
    size_t n;
    int64_t s;
    float *a, *b; /* AdaGrad: a = h; Adam: a = m, b = v */
};

ng_inner_params ng_inner_default_params(ng_inner_kind kind)
{
    ng_inner_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.sbar = 0.0;
    p.p = 0.7;
    p.clip = 0.0;
    p.beta1 = 0.9;
    p.beta2 = 0.999;
    p.eps = 1e-8;
    switch (kind) {
    case NG_INNER_ADAGRAD: p.rho0 = 1.0; break;
    case NG_INNER_ADAM: p.rho0 = 1e-3; break;
    default: p.kind = NG_INNER_GD; p.rho0 = 1e-3; break;
    }
    return p;
}

const char *ng_inner_kind_name(ng_inner_kind k)
{
    switch (k) {
    case NG_INNER_GD: return "gd";
    case NG_INNER_ADAGRAD: return "adagrad";
    case NG_INNER_ADAM: return "adam";
    }
    return "?";
}

ng_status ng_inner_new(const ng_inner_params *p, size_t n, ng_inner **out)
{
    if (!p || !out) return ngi_fail(NG_EINVAL, "ng_inner_new: params or out is NULL");
    *out = NULL;
    if (p->kind != NG_INNER_GD && p->kind != NG_INNER_ADAGRAD && p->kind != NG_INNER_ADAM)
        return ngi_fail(NG_EINVAL, "ng_inner_new: kind = %d; expected gd, adagrad or adam", (int)p->kind);
    if (!(p->rho0 > 0) || !isfinite(p->rho0))
        return ngi_fail(NG_EINVAL, "ng_inner_new: rho0 = %g; expected a finite rate > 0", p->rho0);
    if (!isfinite(p->sbar) || !isfinite(p->p) || p->p < 0)
        return ngi_fail(NG_EINVAL, "ng_inner_new: sbar = %g, p = %g; expected finite, p >= 0", p->sbar, p->p);
    if (!isfinite(p->clip)) return ngi_fail(NG_EINVAL, "ng_inner_new: clip = %g; expected finite", p->clip);
    if (p->kind != NG_INNER_GD && !(p->eps > 0))
        return ngi_fail(NG_EINVAL, "ng_inner_new: eps = %g; expected > 0", p->eps);
    if (p->kind == NG_INNER_ADAM &&
        (!(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1)))
        return ngi_fail(NG_EINVAL, "ng_inner_new: beta1 = %g, beta2 = %g; expected in [0, 1)", p->beta1,
                       p->beta2);
    ng_inner *o = ngi_xcalloc(1, sizeof *o);
    if (!o) return NG_ENOMEM;
    o->p = *p;
    o->n = n;
    size_t k = p->kind == NG_INNER_ADAGRAD ? 1 : p->kind == NG_INNER_ADAM ? 2 : 0;
    if (k) {
        o->a = ngi_xcalloc(k * (n ? n : 1), sizeof(float));
        if (!o->a) {
            free(o);
            return NG_ENOMEM;
        }
        if (k == 2) o->b = o->a + n;
    }
    *out = o;
    return NG_OK;
}

void ng_inner_free(ng_inner *o)
{
    if (!o) return;
    free(o->a);
    free(o);
}

double ng_inner_rate(const ng_inner *o)
{
    const ng_inner_params *p = &o->p;
    if (p->sbar <= 0) return p->rho0;
    return p->rho0 * pow(p->sbar / ((double)o->s + p->sbar), p->p);
}

int64_t ng_inner_steps(const ng_inner *o) { return o->s; }

void ng_inner_reset(ng_inner *o)
{
    o->s = 0;
    size_t k = o->p.kind == NG_INNER_ADAGRAD ? 1 : o->p.kind == NG_INNER_ADAM ? 2 : 0;
    if (k) memset(o->a, 0, k * o->n * sizeof(float));
}

void ng_inner_step(ng_inner *o, float *x, const float *g)
{
    const ng_inner_params *p = &o->p;
    const float rate = (float)ng_inner_rate(o);
    const float clip = p->clip > 0 ? (float)p->clip : INFINITY;
    const long n = (long)o->n;
    if (p->kind == NG_INNER_GD) {
#pragma omp parallel for schedule(static) if (n > 32768)
        for (long k = 0; k < n; k++) {
            float gk = fminf(fmaxf(g[k], -clip), clip);
            x[k] -= rate * gk;
        }
    } else if (p->kind == NG_INNER_ADAGRAD) {
        float *h = o->a;
        const float eps = (float)p->eps;
#pragma omp parallel for schedule(static) if (n > 32768)
        for (long k = 0; k < n; k++) {
            float gk = fminf(fmaxf(g[k], -clip), clip);
            h[k] += gk * gk;
            x[k] -= rate * gk / (sqrtf(h[k]) + eps);
        }
    } else {
        float *m = o->a, *v = o->b;
        const float b1 = (float)p->beta1, b2 = (float)p->beta2, eps = (float)p->eps;
        /* bias corrections in double: 1 - beta^t underflows float precision early */
        const double t = (double)o->s + 1.0;
        const float c1 = (float)(1.0 / (1.0 - pow(p->beta1, t)));
        const float c2 = (float)(1.0 / (1.0 - pow(p->beta2, t)));
#pragma omp parallel for schedule(static) if (n > 32768)
        for (long k = 0; k < n; k++) {
            float gk = fminf(fmaxf(g[k], -clip), clip);
            m[k] = b1 * m[k] + (1.0f - b1) * gk;
            v[k] = b2 * v[k] + (1.0f - b2) * gk * gk;
            x[k] -= rate * (m[k] * c1) / (sqrtf(v[k] * c2) + eps);
        }
    }
    o->s++;
}

static void set_view(ng_ckpt_array *arr, const char *name, ng_dtype t, size_t n, void *data)
{
    memset(arr, 0, sizeof *arr);
    arr->name = name;
    arr->t.dtype = t;
    arr->t.ndim = 1;
    arr->t.shape[0] = n;
    arr->t.data = data;
}

size_t ng_inner_state(ng_inner *o, ng_ckpt_array *arrays, size_t cap)
{
    size_t count = o->p.kind == NG_INNER_ADAGRAD ? 2 : o->p.kind == NG_INNER_ADAM ? 3 : 1;
    if (!arrays) return count;
    if (cap > 0) set_view(&arrays[0], "inner_steps", NG_I64, 1, &o->s);
    if (cap > 1 && count > 1)
        set_view(&arrays[1], o->p.kind == NG_INNER_ADAGRAD ? "adagrad_h" : "adam_m", NG_F32, o->n, o->a);
    if (cap > 2 && count > 2) set_view(&arrays[2], "adam_v", NG_F32, o->n, o->b);
    return count;
}

ng_status ng_inner_state_loaded(ng_inner *o)
{
    if (o->s < 0) return ngi_fail(NG_EMISMATCH, "ng_inner_state_loaded: step count %lld < 0", (long long)o->s);
    return NG_OK;
}
