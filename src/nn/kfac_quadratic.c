/* kfac_quadratic.c - K-FAC's quadratic model (Martens & Grosse 2015, §6-7):
 * M(delta) = 1/2 delta^T (F + (lambda + eta) I) delta + grad^T delta with the EXACT Fisher
 * (GGN) on the minibatch, its products v^T F w from one R-op pass per direction, the
 * (alpha, mu) that minimise it over delta = alpha Delta + mu delta0, and the reduction
 * ratio rho that drives the Levenberg-Marquardt rule for lambda. */
#include "internal.h"
#include "kfac_internal.h"

#include <math.h>

ng_status ngi_kfac_model_begin(ng_kfac *kf, long k, size_t m, double gd0, double d0d0,
                               ngi_kfac_model *q)
{
    const ng_kfac_params *p = &kf->p;
    /* the exact-Fisher products use the first ceil(tau2 m) cases: two R-op passes on the
     * whole minibatch would cost more than the forward and backward */
    q->mq = ngi_kfac_cases(p->tau2, m);
    q->lam = kf->lambda + p->eta;
    q->gd0 = gd0;
    q->d0d0 = d0d0;
    /* momentum direction: its Fisher products are the same for every gamma */
    q->d0Fd0 = 0;
    q->use2 = 0;
    if (p->momentum && k > 1 && d0d0 > 0) {
        q->use2 = 1;
        ng_status st = ng_net_rop(kf->net, kf->delta0, q->mq, kf->J0);
        if (st) return st;
        q->d0Fd0 = ng_net_output_fisher_dot(kf->net, q->mq, kf->J0, kf->J0);
    }
    return NG_OK;
}

ng_status ngi_kfac_model_solve(ng_kfac *kf, const ngi_kfac_model *q, const float *Delta,
                               double *model, double *alpha, double *mu)
{
    ng_status st = ng_net_rop(kf->net, Delta, q->mq, kf->J1);
    if (st) return st;
    double DFD = ng_net_output_fisher_dot(kf->net, q->mq, kf->J1, kf->J1);
    const float *b[3] = {Delta, kf->grad, kf->delta0};
    double dd[3];
    ngi_vec_dots(Delta, b, q->use2 ? 3 : 2, kf->n, dd);
    double DD = dd[0], gD = dd[1];
    double h12 = 0, h22 = 0;
    if (q->use2) {
        h12 = ng_net_output_fisher_dot(kf->net, q->mq, kf->J1, kf->J0) + q->lam * dd[2];
        h22 = q->d0Fd0 + q->lam * q->d0d0;
    }
    *model = ngi_kfac_solve_alpha_mu(DFD + q->lam * DD, h12, h22, gD, q->gd0, q->use2, alpha, mu);
    return NG_OK;
}

/* h(theta) = mean loss + eta/2 |theta|^2, after a forward pass on the m cases */
static double objective(ng_kfac *kf, const float *Y, size_t m)
{
    const float *th = ng_net_params(kf->net);
    double tt;
    ngi_vec_dots(th, &th, 1, kf->n, &tt);
    return ng_net_loss(kf->net, Y, m) + 0.5 * kf->p.eta * tt;
}

ng_status ngi_kfac_reduction_ratio(ng_kfac *kf, const float *X, const float *Y, size_t m,
                                   double h0, double M, double *rho)
{
    ng_status st = ng_net_forward(kf->net, X, m);
    if (st) return st;
    double h1 = objective(kf, Y, m);
    *rho = (M != 0.0) ? (h1 - h0) / M : NAN;
    if (!isfinite(h1)) *rho = NAN;
    return NG_OK;
}
