/* kfac_damping.c - K-FAC's scalar rules (Martens & Grosse 2015, §6 and appendices):
 * running-average weights, the Levenberg-Marquardt rule for lambda, the gamma candidates
 * and the 2x2 (alpha, mu) quadratic-model solve. Pure functions, tested on scripts. */
#include "kfac_internal.h"

#include <math.h>

double ngi_kfac_eps(long k, double eps_max)
{
    if (k < 1) k = 1;
    double e = 1.0 - 1.0 / (double)k;
    return e < eps_max ? e : eps_max;
}

double ngi_kfac_lm_update(double lambda, double rho, double omega1)
{
    if (isnan(rho) || rho < 0.25) return lambda / omega1; /* also NaN / objective went up */
    if (rho > 0.75) return lambda * omega1;
    return lambda;
}

void ngi_kfac_gamma_candidates(double gamma, double omega2, double eta, double out[3])
{
    double lo = omega2 * gamma, floor_ = sqrt(eta), hi = gamma / omega2;
    out[0] = lo > floor_ ? lo : floor_;
    out[1] = gamma;
    out[2] = hi < 1.0 ? hi : 1.0; /* the companion code caps the larger candidate at 1 */
}

int ngi_kfac_pick_lowest(const double *vals, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++)
        if (isfinite(vals[i]) && (best < 0 || vals[i] < vals[best])) best = i;
    return best;
}

double ngi_kfac_solve_alpha_mu(double h11, double h12, double h22, double b1, double b2,
                              int use2, double *alpha, double *mu)
{
    *alpha = 0.0;
    *mu = 0.0;
    if (!use2 || (h22 == 0.0 && h12 == 0.0 && b2 == 0.0)) {
        if (!(h11 > 0.0) || !isfinite(h11) || !isfinite(b1)) return NAN;
        *alpha = -b1 / h11;
        return -0.5 * b1 * b1 / h11;
    }
    if (!isfinite(h11) || !isfinite(h12) || !isfinite(h22) || !isfinite(b1) || !isfinite(b2))
        return NAN;
    double det = h11 * h22 - h12 * h12;
    double a, m;
    if (h11 > 0.0 && h22 > 0.0 && det > 1e-10 * h11 * h22) {
        a = -(h22 * b1 - h12 * b2) / det;
        m = -(h11 * b2 - h12 * b1) / det;
    } else {
        /* Pseudo-inverse through the 2x2 eigendecomposition; directions whose eigenvalue
         * is not clearly positive are dropped (the model is flat or unbounded there). */
        double tr2 = 0.5 * (h11 + h22);
        double r = sqrt(0.25 * (h11 - h22) * (h11 - h22) + h12 * h12);
        double l[2] = {tr2 + r, tr2 - r};
        double v[2][2];
        if (h12 != 0.0) {
            for (int i = 0; i < 2; i++) {
                double x = l[i] - h22, y = h12, nn = sqrt(x * x + y * y);
                v[i][0] = x / nn;
                v[i][1] = y / nn;
            }
        } else if (h11 >= h22) {
            v[0][0] = 1; v[0][1] = 0; v[1][0] = 0; v[1][1] = 1;
        } else {
            v[0][0] = 0; v[0][1] = 1; v[1][0] = 1; v[1][1] = 0;
        }
        double lmax = fabs(l[0]) > fabs(l[1]) ? fabs(l[0]) : fabs(l[1]);
        a = 0.0;
        m = 0.0;
        for (int i = 0; i < 2; i++) {
            if (!(l[i] > 1e-12 * lmax)) continue;
            double c = -(v[i][0] * b1 + v[i][1] * b2) / l[i];
            a += c * v[i][0];
            m += c * v[i][1];
        }
        if (!(lmax > 0.0)) return NAN;
    }
    *alpha = a;
    *mu = m;
    return 0.5 * (a * a * h11 + 2.0 * a * m * h12 + m * m * h22) + a * b1 + m * b2;
}
