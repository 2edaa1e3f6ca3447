/* net_optim.c - the first-order baselines K-FAC is raced against, on the same objective
 * h = mean loss + (eta/2) ||theta||^2: SGD with Nesterov momentum and the Sutskever et al.
 * (2013) momentum schedule, and Adam (Kingma & Ba 2015). */
#include "internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ng_optim {
    ng_net *net;
    ng_optim_params p;
    size_t n;
    long t;
    double scal[4];
    float *grad, *v, *s; /* v: velocity (sgd) or first moment (adam); s: second moment */
};

ng_optim_params ng_optim_default_params(ng_optim_kind kind)
{
    ng_optim_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.lr = kind == NG_OPT_ADAM ? 1e-3 : 0.01;
    p.mu_max = 0.99;
    p.beta1 = 0.9;
    p.beta2 = 0.999;
    p.adam_eps = 1e-8;
    p.eta = 1e-5;
    return p;
}

double ng_sutskever_mu(long t, double mu_max)
{
    if (t < 0) t = 0;
    double mu = 1.0 - exp2(-1.0 - log2(floor((double)t / 250.0) + 1.0));
    return mu < mu_max ? mu : mu_max;
}

ng_status ng_optim_new(ng_net *net, const ng_optim_params *p, ng_optim **out)
{
    *out = NULL;
    if (!net || !p) return ngi_fail(NG_EINVAL, "net_optim.c: NULL argument");
    if (p->kind != NG_OPT_SGD_NESTEROV && p->kind != NG_OPT_ADAM)
        return ngi_fail(NG_EINVAL, "net_optim.c: unknown optimiser kind %d", (int)p->kind);
    if (!(p->lr > 0) || !isfinite(p->lr)) return ngi_fail(NG_EINVAL, "net_optim.c: lr = %g, expected > 0", p->lr);
    if (!(p->mu_max >= 0 && p->mu_max < 1)) return ngi_fail(NG_EINVAL, "net_optim.c: mu_max = %g, expected [0, 1)", p->mu_max);
    if (!(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1))
        return ngi_fail(NG_EINVAL, "net_optim.c: beta1 = %g, beta2 = %g, expected [0, 1)", p->beta1, p->beta2);
    if (!(p->adam_eps > 0)) return ngi_fail(NG_EINVAL, "net_optim.c: adam_eps must be > 0");
    if (!(p->eta >= 0)) return ngi_fail(NG_EINVAL, "net_optim.c: eta must be >= 0");
    ng_optim *o = ngi_xcalloc(1, sizeof *o);
    if (!o) return NG_ENOMEM;
    o->net = net;
    o->p = *p;
    o->n = ng_net_num_params(net);
    o->grad = ngi_xcalloc(3 * o->n, sizeof(float));
    if (!o->grad) {
        free(o);
        return NG_ENOMEM;
    }
    o->v = o->grad + o->n;
    o->s = o->v + o->n;
    *out = o;
    return NG_OK;
}

void ng_optim_free(ng_optim *o)
{
    if (!o) return;
    free(o->grad);
    free(o);
}

ng_status ng_optim_step(ng_optim *o, const float *X, const float *Y, size_t m, ng_optim_info *info)
{
    if (!o || !X || !Y) return ngi_fail(NG_EINVAL, "net_optim.c: NULL argument to ng_optim_step");
    ng_net *net = o->net;
    float *th = ng_net_params(net);
    size_t n = o->n;
    double mu = 0.0, lr = o->p.lr;
    if (o->p.kind == NG_OPT_SGD_NESTEROV) {
        /* gradient at the look-ahead point theta + mu v */
        mu = ng_sutskever_mu(o->t, o->p.mu_max);
        cblas_saxpy((int)n, (float)mu, o->v, 1, th, 1);
    }
    ng_status st = ng_net_forward(net, X, m);
    if (st) return st;
    double loss = ng_net_loss(net, Y, m);
    st = ng_net_backward(net, Y, m, o->grad);
    if (st) return st;
    double vs[3]; /* theta . theta (then two unused sums) */
    int finite = ngi_vec_grad_finish(o->grad, th, (float)o->p.eta, NULL, n, vs);
    double h = loss + 0.5 * o->p.eta * vs[0];
    if (!isfinite(h) || !finite) {
        if (o->p.kind == NG_OPT_SGD_NESTEROV) cblas_saxpy((int)n, (float)-mu, o->v, 1, th, 1);
        return ngi_fail(NG_ENUMERIC, "net_optim.c: step %ld: objective or gradient is NaN/Inf (objective %g)", o->t + 1, h);
    }
    if (o->p.kind == NG_OPT_SGD_NESTEROV) {
        /* v <- mu v - lr g ; theta <- theta + v = (theta + mu v) - lr g */
        float fm = (float)mu, fl = (float)lr;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            o->v[i] = fm * o->v[i] - fl * o->grad[i];
            th[i] -= fl * o->grad[i];
        }
    } else {
        double b1 = o->p.beta1, b2 = o->p.beta2, t1 = (double)(o->t + 1);
        double c1 = 1.0 - pow(b1, t1), c2 = 1.0 - pow(b2, t1);
        float step = (float)(lr * sqrt(c2) / c1), e = (float)(o->p.adam_eps * sqrt(c2));
        float fb1 = (float)b1, fb2 = (float)b2;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            float g = o->grad[i];
            o->v[i] = fb1 * o->v[i] + (1.0f - fb1) * g;
            o->s[i] = fb2 * o->s[i] + (1.0f - fb2) * g * g;
            th[i] -= step * o->v[i] / (sqrtf(o->s[i]) + e);
        }
    }
    o->t++;
    if (info) {
        info->t = o->t;
        info->objective = h;
        info->lr = lr;
        info->mu = mu;
    }
    return NG_OK;
}

size_t ng_optim_state(ng_optim *o, ng_ckpt_array *arr, size_t cap)
{
    o->scal[0] = (double)o->t;
    const char *names[3] = {"optim_scalars", "optim_v", "optim_s"};
    void *data[3] = {o->scal, o->v, o->s};
    size_t cnt = o->p.kind == NG_OPT_ADAM ? 3 : 2;
    for (size_t i = 0; arr && i < cnt && i < cap; i++) {
        memset(&arr[i], 0, sizeof arr[i]);
        arr[i].name = names[i];
        arr[i].t.dtype = i == 0 ? NG_F64 : NG_F32;
        arr[i].t.ndim = 1;
        arr[i].t.shape[0] = i == 0 ? 4 : o->n;
        arr[i].t.data = data[i];
    }
    return cnt;
}

void ng_optim_state_loaded(ng_optim *o) { o->t = (long)o->scal[0]; }
