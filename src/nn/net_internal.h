/* net_internal.h - private helpers shared by net.c, net_act.c, curves.c and
 * data_source.c (hidden by visibility; not installed). */
#ifndef NG_NET_INTERNAL_H
#define NG_NET_INTERNAL_H

#include "internal.h"

/* Elementwise activation in place on an m x d block with leading dimension ld. */
void ngi_act_apply(ng_act a, float *x, size_t m, size_t d, size_t ld);
/* x[i] *= act'(s) where the derivative is computed from the activation VALUE a = act(s)
 * (every supported activation allows it: logistic a(1-a), tanh 1-a^2, relu [a>0],
 * softplus 1-exp(-a), linear 1). a is m x d with leading dimension lda, x has ldx. */
void ngi_act_mul_deriv(ng_act act, const float *a, size_t lda, float *x, size_t ldx, size_t m,
                      size_t d);

/* Per-case loss terms in double from logits z (d entries) and target y. */
double ngi_loss_case(ng_loss l, const float *z, const float *y, size_t d);
/* dL/dz for one case into g (d entries). */
void ngi_loss_grad_case(ng_loss l, const float *z, const float *y, size_t d, float *g);
/* Output mean of one case (sigmoid, softmax or identity) into out (d entries). */
void ngi_loss_mean_case(ng_loss l, const float *z, size_t d, float *out);

/* Vectorisable float exp (net_act.c): relative error <= 2.5e-7, argument clamped to
 * |x| <= 87; exported for the tests. */
float ngi_expf_vec(float x);

/* The float activation of the kernels for one value (tests compare it with libm). */
float ngi_act_scalar(ng_act a, float x);
/* Bernoulli per-case sums (float terms, double sum): sum (sigma(z) - y)^2 and
 * sum sigma(z)(1 - sigma(z)) a b. */
double ngi_bernoulli_sqerr_case(const float *z, const float *y, size_t d);
double ngi_bernoulli_fisher_case(const float *z, const float *a, const float *b, size_t d);

/* Numerically stable scalar pieces. */
double ngi_softplus_d(double x); /* log(1 + e^x) */
double ngi_sigmoid_d(double x);

/* Deterministic reductions: sums are formed in NG_NET_NBLOCKS fixed blocks of cases (in
 * parallel) and the block sums added in order, so results do not depend on the number
 * of threads. */
#define NG_NET_NBLOCKS 64

#endif
