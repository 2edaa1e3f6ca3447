/* dmf_internal.h - private helpers of the dynamic Bernoulli MF (dmf) sources:
 * ratings_prep.c, dmf_bernoulli.c, synth_ratings.c. Not installed. */
#ifndef NG_DMF_INTERNAL_H
#define NG_DMF_INTERNAL_H

#include "natgrad.h"

#include <math.h>

/* log sigma(z) without overflow: -softplus(-z) = min(z, 0) - log1p(exp(-|z|)). */
static inline double ngi_dmf_log_sigmoid(double z)
{
    return (z < 0 ? z : 0.0) - log1p(exp(-fabs(z)));
}
/* sigma(z), stable for both signs. */
static inline double ngi_dmf_sigmoid(double z)
{
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

/* The edge t of T equal-duration bins over [tmin, tmin + span]: tmin + floor(span t / T),
 * exact for any int64 tmin and span up to 2^64 - 1 (ratings_prep.c). */
int64_t ngi_dmf_bin_edge(int64_t tmin, uint64_t span, size_t t, size_t T);

/* Simple double reference of ngi_dmf_loss_grad (tests only): the same loss
 * -sum_train log sigma(x u.v) + gamma/2 ||Z||^2 and its gradient, computed with one
 * plain loop over the training ratings in double. Z and grad are T x N x d. */
double ngi_dmf_loss_grad_ref(const ng_dmf_data *data, size_t d, double gamma, const double *Z,
                            double *grad);

#endif
