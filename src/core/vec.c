/* vec.c - the passes over whole parameter vectors that the network optimizers share
 * (K-FAC's quadratic model and update, SGD and Adam): dot products, the gradient finish
 * and the update's combination, sums formed in double.
 *
 * Sums are formed in NBLK fixed blocks added in order, so results do not depend on the
 * number of threads (exact resume, reproducible runs). Within a block, LANES independent
 * partial sums: the compiler may vectorise them without reassociating anything (no
 * -ffast-math), so the order is fixed too. A scalar loop with one accumulator cannot be
 * vectorised and ran at half the memory bandwidth. */
#include "internal.h"

#include <math.h>

#define NBLK 64
#define LANES 8

static double lane_sum(const double *s)
{
    double t = 0.0;
    for (int l = 0; l < LANES; l++) t += s[l];
    return t;
}

void ngi_vec_dots(const float *a, const float *const *b, int nb, size_t n, double *out)
{
    double part[3][NBLK];
    size_t bs = (n + NBLK - 1) / NBLK;
    /* absent products read a again: no extra memory traffic, and one loop to vectorise */
    const float *b0 = b[0], *b1 = nb > 1 ? b[1] : a, *b2 = nb > 2 ? b[2] : a;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < NBLK; blk++) {
        size_t lo = (size_t)blk * bs, hi = lo + bs < n ? lo + bs : n, i = lo;
        double s0[LANES] = {0}, s1[LANES] = {0}, s2[LANES] = {0};
        for (; i + LANES <= hi; i += LANES)
            for (int l = 0; l < LANES; l++) {
                double x = (double)a[i + l];
                s0[l] += x * (double)b0[i + l];
                s1[l] += x * (double)b1[i + l];
                s2[l] += x * (double)b2[i + l];
            }
        for (int l = 0; i < hi; i++, l++) {
            double x = (double)a[i];
            s0[l] += x * (double)b0[i];
            s1[l] += x * (double)b1[i];
            s2[l] += x * (double)b2[i];
        }
        part[0][blk] = lane_sum(s0);
        part[1][blk] = lane_sum(s1);
        part[2][blk] = lane_sum(s2);
    }
    for (int j = 0; j < nb; j++) {
        double s = 0.0;
        for (int blk = 0; blk < NBLK; blk++) s += part[j][blk];
        out[j] = s;
    }
}

/* Finiteness is a sum of g - g (0 when g is finite, NaN for Inf or NaN), which vectorises
 * where a branch on isfinite would not. */
int ngi_vec_grad_finish(float *grad, const float *theta, float eta, const float *d0, size_t n,
                       double out[3])
{
    double part[3][NBLK];
    float pz[NBLK];
    size_t bs = (n + NBLK - 1) / NBLK;
    const float *d = d0 ? d0 : theta; /* without d0 its sums are formed and dropped */
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < NBLK; blk++) {
        size_t lo = (size_t)blk * bs, hi = lo + bs < n ? lo + bs : n, i = lo;
        double st[LANES] = {0}, sg[LANES] = {0}, sd[LANES] = {0};
        float z[LANES] = {0};
        for (; i + LANES <= hi; i += LANES)
            for (int l = 0; l < LANES; l++) {
                float t = theta[i + l], g = grad[i + l] + eta * t;
                grad[i + l] = g;
                z[l] += g - g;
                st[l] += (double)t * (double)t;
                sg[l] += (double)g * (double)d[i + l];
                sd[l] += (double)d[i + l] * (double)d[i + l];
            }
        for (int l = 0; i < hi; i++, l++) {
            float t = theta[i], g = grad[i] + eta * t;
            grad[i] = g;
            z[l] += g - g;
            st[l] += (double)t * (double)t;
            sg[l] += (double)g * (double)d[i];
            sd[l] += (double)d[i] * (double)d[i];
        }
        float tz = 0.0f;
        for (int l = 0; l < LANES; l++) tz += z[l];
        part[0][blk] = lane_sum(st);
        part[1][blk] = lane_sum(sg);
        part[2][blk] = lane_sum(sd);
        pz[blk] = tz;
    }
    double s[3] = {0.0, 0.0, 0.0};
    float sz = 0.0f;
    for (int blk = 0; blk < NBLK; blk++) {
        for (int j = 0; j < 3; j++) s[j] += part[j][blk];
        sz += pz[blk];
    }
    out[0] = s[0];
    out[1] = d0 ? s[1] : 0.0;
    out[2] = d0 ? s[2] : 0.0;
    return isfinite(sz);
}

int ngi_vec_combine(float *out, double a, const float *x, double b, const float *y, size_t n)
{
    float z = 0.0f; /* a sum of v - v, as in ngi_vec_grad_finish; only its finiteness counts */
#pragma omp parallel for reduction(+ : z) schedule(static)
    for (size_t i = 0; i < n; i++) {
        float v = (float)(a * (double)x[i] + b * (double)y[i]);
        out[i] = v;
        z += v - v;
    }
    return isfinite(z);
}
