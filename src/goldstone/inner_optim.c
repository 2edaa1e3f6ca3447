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

ng_status ngi_inner_params_check(const ng_inner_params *p, const char *who)
{
    if (p->kind != NG_INNER_GD && p->kind != NG_INNER_ADAGRAD && p->kind != NG_INNER_ADAM)
        return ngi_fail(NG_EINVAL, "%s: kind = %d; expected gd, adagrad or adam", who, (int)p->kind);
    if (!(p->rho0 > 0) || !isfinite(p->rho0))
        return ngi_fail(NG_EINVAL, "%s: rho0 = %g; expected a finite rate > 0", who, p->rho0);
    if (!isfinite(p->sbar) || !isfinite(p->p) || p->p < 0)
        return ngi_fail(NG_EINVAL, "%s: sbar = %g, p = %g; expected finite, p >= 0", who, p->sbar, p->p);
    if (!isfinite(p->clip)) return ngi_fail(NG_EINVAL, "%s: clip = %g; expected finite", who, p->clip);
    if (p->kind != NG_INNER_GD && !(p->eps > 0))
        return ngi_fail(NG_EINVAL, "%s: eps = %g; expected > 0", who, p->eps);
    if (p->kind == NG_INNER_ADAM &&
        (!(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1)))
        return ngi_fail(NG_EINVAL, "%s: beta1 = %g, beta2 = %g; expected in [0, 1)", who, p->beta1,
                       p->beta2);
    return NG_OK;
}

ng_status ng_inner_new(const ng_inner_params *p, size_t n, ng_inner **out)
{
    if (!p || !out) return ngi_fail(NG_EINVAL, "ng_inner_new: params or out is NULL");
    *out = NULL;
    ng_status st = ngi_inner_params_check(p, "ng_inner_new");
    if (st) return st;
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

double ngi_inner_rate_at(const ng_inner_params *p, int64_t s)
{
    if (p->sbar <= 0) return p->rho0;
    return p->rho0 * pow(p->sbar / ((double)s + p->sbar), p->p);
}

double ng_inner_rate(const ng_inner *o) { return ngi_inner_rate_at(&o->p, o->s); }

int64_t ng_inner_steps(const ng_inner *o) { return o->s; }

void ng_inner_reset(ng_inner *o)
{
    o->s = 0;
    size_t k = o->p.kind == NG_INNER_ADAGRAD ? 1 : o->p.kind == NG_INNER_ADAM ? 2 : 0;
    if (k) memset(o->a, 0, k * o->n * sizeof(float));
}

/* The element updates, shared by the dense step and the per-block update below. */
static inline float clip_to(float g, float clip) { return fminf(fmaxf(g, -clip), clip); }
static inline void gd_elem(float *x, float g, float rate, float clip)
{
    *x -= rate * clip_to(g, clip);
}
static inline void adagrad_elem(float *x, float g, float *h, float rate, float clip, float eps)
{
    float gk = clip_to(g, clip);
    *h += gk * gk;
    *x -= rate * gk / (sqrtf(*h) + eps);
}
typedef struct { float b1, b2, c1, c2, eps; } adam_coef;
/* bias corrections in double: 1 - beta^t underflows float precision early */
static adam_coef adam_coef_at(const ng_inner_params *p, int64_t s)
{
    const double t = (double)s + 1.0;
    adam_coef a = {(float)p->beta1, (float)p->beta2, (float)(1.0 / (1.0 - pow(p->beta1, t))),
                   (float)(1.0 / (1.0 - pow(p->beta2, t))), (float)p->eps};
    return a;
}
static inline void adam_elem(float *x, float g, float *m, float *v, float rate, float clip,
                             adam_coef a)
{
    float gk = clip_to(g, clip);
    *m = a.b1 * *m + (1.0f - a.b1) * gk;
    *v = a.b2 * *v + (1.0f - a.b2) * gk * gk;
    *x -= rate * (*m * a.c1) / (sqrtf(*v * a.c2) + a.eps);
}

void ng_inner_step(ng_inner *o, float *x, const float *g)
{
    const ng_inner_params *p = &o->p;
    const float rate = (float)ng_inner_rate(o);
    const float clip = p->clip > 0 ? (float)p->clip : INFINITY;
    const long n = (long)o->n;
    if (p->kind == NG_INNER_GD) {
#pragma omp parallel for schedule(static) if (n > 32768)
        for (long k = 0; k < n; k++) gd_elem(&x[k], g[k], rate, clip);
    } else if (p->kind == NG_INNER_ADAGRAD) {
        float *h = o->a;
        const float eps = (float)p->eps;
#pragma omp parallel for schedule(static) if (n > 32768)
        for (long k = 0; k < n; k++) adagrad_elem(&x[k], g[k], &h[k], rate, clip, eps);
    } else {
        float *m = o->a, *v = o->b;
        const adam_coef a = adam_coef_at(p, o->s);
#pragma omp parallel for schedule(static) if (n > 32768)
        for (long k = 0; k < n; k++) adam_elem(&x[k], g[k], &m[k], &v[k], rate, clip, a);
    }
    o->s++;
}

void ngi_inner_update(const ng_inner_params *p, double rate, int64_t s, float *x, const float *g,
                      float *a, float *b, size_t n)
{
    const float r = (float)rate;
    const float clip = p->clip > 0 ? (float)p->clip : INFINITY;
    if (p->kind == NG_INNER_GD) {
        for (size_t k = 0; k < n; k++) gd_elem(&x[k], g[k], r, clip);
    } else if (p->kind == NG_INNER_ADAGRAD) {
        const float eps = (float)p->eps;
        for (size_t k = 0; k < n; k++) adagrad_elem(&x[k], g[k], &a[k], r, clip, eps);
    } else {
        const adam_coef c = adam_coef_at(p, s);
        for (size_t k = 0; k < n; k++) adam_elem(&x[k], g[k], &a[k], &b[k], r, clip, c);
    }
}

size_t ng_inner_state(ng_inner *o, ng_ckpt_array *arrays, size_t cap)
{
    size_t count = o->p.kind == NG_INNER_ADAGRAD ? 2 : o->p.kind == NG_INNER_ADAM ? 3 : 1;
    if (!arrays) return count;
    if (cap > 0) arrays[0] = ng_ckpt_view("inner_steps", NG_I64, &o->s, 1, 1, 0, 0);
    if (cap > 1 && count > 1)
        arrays[1] = ng_ckpt_view(o->p.kind == NG_INNER_ADAGRAD ? "adagrad_h" : "adam_m", NG_F32, o->a, 1, o->n, 0, 0);
    if (cap > 2 && count > 2) arrays[2] = ng_ckpt_view("adam_v", NG_F32, o->b, 1, o->n, 0, 0);
    return count;
}

ng_status ng_inner_state_loaded(ng_inner *o)
{
    if (o->s < 0) return ngi_fail(NG_EMISMATCH, "ng_inner_state_loaded: step count %lld < 0", (long long)o->s);
    return NG_OK;
}
