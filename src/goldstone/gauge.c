/* gauge.c - the gauge-field phase of Goldstone-GD (spec sections 3-4): cross moments on
 * the graph's edges, the second-order gauge loss L''(Gamma; M) and its gradient, natural
 * gradient steps Gt <- Gt - rho' L+ grad, and the rotation of every slice.
 *
 * Storage: slice S_t is N x d with rows z_{t,i}; the spec's d x N matrix Z_t is S_t^T.
 * Edge (a, b) with a < b plays the role of (t, t+1): M = sum_i z_{b,i} z_{a,i}^T = S_b^T S_a. */
#include "goldstone_internal.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static void mm(size_t d, double alpha, const double *A, const double *B, double beta, double *C)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, alpha, A, (int)d,
                B, (int)d, beta, C, (int)d);
}

/* Short vectors in one serial sum; long ones in SUMSQ_NBLK fixed blocks added in order,
 * so the sum (rho') is the same for any thread count. */
enum { SUMSQ_NBLK = 64 };
double ngi_sumsq(const float *Z, size_t n)
{
    double s = 0.0;
    if (n <= 65536) {
        for (size_t k = 0; k < n; k++) s += (double)Z[k] * Z[k];
        return s;
    }
    double part[SUMSQ_NBLK];
    const size_t bs = (n + SUMSQ_NBLK - 1) / SUMSQ_NBLK;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < SUMSQ_NBLK; b++) {
        size_t lo = (size_t)b * bs, hi = lo + bs < n ? lo + bs : n;
        double t = 0.0;
        for (size_t k = lo; k < hi; k++) t += (double)Z[k] * Z[k];
        part[b] = t;
    }
    for (int b = 0; b < SUMSQ_NBLK; b++) s += part[b];
    return s;
}

int ngi_gauge_threads(size_t T)
{
    int n = omp_get_max_threads();
    if (n > 64) n = 64;
    return (size_t)n > T ? (T ? (int)T : 1) : n;
}

static void moment(const float *Sa, const float *Sb, size_t N, size_t d, double *M, float *Mf)
{
    size_t dd = d * d;
    if (N == 0) {
        memset(Mf, 0, dd * sizeof *Mf);
    } else {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)N, 1.0f, Sb,
                    (int)d, Sa, (int)d, 0.0f, Mf, (int)d);
    }
    for (size_t k = 0; k < dd; k++) M[k] = Mf[k];
}

void ngi_gauge_moments_mt(const ng_graph *g, size_t N, size_t d, const float *Z, double *M,
                         float *Mf, int nth)
{
    size_t nd = N * d, dd = d * d;
    const long m = (long)g->n_edges;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (long e = 0; e < m; e++)
        moment(Z + g->ea[e] * nd, Z + g->eb[e] * nd, N, d, M + (size_t)e * dd,
               Mf + (size_t)omp_get_thread_num() * dd);
}

void ngi_gauge_moments(const ng_graph *g, size_t N, size_t d, const float *Z, double *M, float *Mf)
{
    ngi_gauge_moments_mt(g, N, d, Z, M, Mf, 1);
}

void ngi_gauge_skew(size_t T, size_t d, const double *Gt, double *Gamma)
{
    size_t dd = d * d;
    for (size_t t = 0; t < T; t++)
        for (size_t j = 0; j < d; j++)
            for (size_t k = 0; k < d; k++)
                Gamma[t * dd + j * d + k] = Gt[t * dd + j * d + k] - Gt[t * dd + k * d + j];
}

/* L'' = -sum_e w Tr[(Delta + B^2/2 + E^2/2 - B E) P] with B = Gamma_a, E = Gamma_b, P = M_e.
 * Gradient (unconstrained Gamma):
 *   dE: -w [P + (P E + E P)/2 - P B]^T,   dB: -w [-P + (P B + B P)/2 - E P]^T. */
double ngi_gauge_loss2(const ng_graph *g, size_t d, const double *M, const double *Gamma,
                      double *G, double *work)
{
    size_t dd = d * d;
    double *Q = work, *X = work + dd, *YE = work + 2 * dd, *YB = work + 3 * dd;
    double loss = 0.0;
    if (G) memset(G, 0, g->T * dd * sizeof *G);
    for (size_t e = 0; e < g->n_edges; e++) {
        size_t a = g->ea[e], b = g->eb[e];
        double w = g->ew[e];
        const double *P = M + e * dd, *B = Gamma + a * dd, *E = Gamma + b * dd;
        /* Q = E - B + B B / 2 + E E / 2 - B E */
        for (size_t k = 0; k < dd; k++) Q[k] = E[k] - B[k];
        mm(d, 0.5, B, B, 1.0, Q);
        mm(d, 0.5, E, E, 1.0, Q);
        mm(d, -1.0, B, E, 1.0, Q);
        double tr = 0.0;
        for (size_t j = 0; j < d; j++)
            for (size_t k = 0; k < d; k++) tr += Q[j * d + k] * P[k * d + j];
        loss -= w * tr;
        if (!G) continue;
        memcpy(YE, P, dd * sizeof *YE);
        mm(d, 0.5, P, E, 1.0, YE);
        mm(d, 0.5, E, P, 1.0, YE);
        mm(d, -1.0, P, B, 1.0, YE);
        for (size_t k = 0; k < dd; k++) YB[k] = -P[k];
        mm(d, 0.5, P, B, 1.0, YB);
        mm(d, 0.5, B, P, 1.0, YB);
        mm(d, -1.0, E, P, 1.0, YB);
        double *Gb = G + b * dd, *Ga = G + a * dd;
        for (size_t j = 0; j < d; j++)
            for (size_t k = 0; k < d; k++) {
                Gb[j * d + k] -= w * YE[k * d + j];
                Ga[j * d + k] -= w * YB[k * d + j];
            }
        (void)X;
    }
    return loss;
}

void ngi_gauge_natgrad(const ng_graph *g, size_t d, const double *M, double *Gt, int k2, double rho,
                      double clip, double *work)
{
    size_t T = g->T, dd = d * d, n = T * dd;
    double *Gamma = work, *G = work + n, *NG = work + 2 * n, *w4 = work + 3 * n;
    double lim = clip > 0 ? clip / (double)d : INFINITY;
    for (int it = 0; it < k2; it++) {
        ngi_gauge_skew(T, d, Gt, Gamma);
        ngi_gauge_loss2(g, d, M, Gamma, G, w4);
        /* chain rule through Gamma = Gt - Gt^T */
        ngi_gauge_skew(T, d, G, Gamma);
        /* L+ acts along t on each of the d^2 components: (T x T) times (T x d^2) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)dd, (int)T, 1.0,
                    g->pinv, (int)T, Gamma, (int)dd, 0.0, NG, (int)dd);
        for (size_t k = 0; k < n; k++) {
            double v = Gt[k] - rho * NG[k];
            Gt[k] = v > lim ? lim : v < -lim ? -lim : v;
        }
    }
}

void ngi_slice_rotate(size_t N, size_t d, float *S, const double *R, float *tmp, float *Rf)
{
    if (N == 0 || d == 0) return;
    for (size_t k = 0; k < d * d; k++) Rf[k] = (float)R[k];
    /* rows are vectors: z <- R z is S <- S R^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)d, (int)d, 1.0f, S, (int)d,
                Rf, (int)d, 0.0f, tmp, (int)d);
    memcpy(S, tmp, N * d * sizeof *S);
}

/* R = the rotation map of the skew matrix A (d x d); rws: that thread's scratch. */
static ng_status rotation_of(ng_rotation rot, size_t d, const double *A, double *R, double *rws,
                             size_t rws_len)
{
    if (rot == NG_ROT_CAYLEY) return ngi_cayley_ws(d, A, R, rws, rws_len);
    if (rot == NG_ROT_EXP) return ngi_expm_skew_ws(d, A, R, rws, rws_len);
    memcpy(R, A, d * d * sizeof *R);
    for (size_t j = 0; j < d; j++) R[j * d + j] += 1.0;
    return NG_OK;
}

static void skew_part(size_t d, double frac, const double *G, double *A)
{
    for (size_t j = 0; j < d; j++)
        for (size_t k = 0; k < d; k++) A[j * d + k] = frac * (G[j * d + k] - G[k * d + j]);
}

ng_status ngi_gauge_rotate(size_t T, size_t N, size_t d, float *Z, const double *Gt, double frac,
                          ng_rotation rot, float *tmp, double *Rd, float *Rf, double *rws,
                          size_t rws_len, int nth)
{
    size_t dd = d * d, nd = N * d;
    long bad = -1; /* the first slice whose rotation failed */
#pragma omp parallel num_threads(nth) if (nth > 1)
    {
        const int th = omp_get_thread_num();
        double *A = Rd + (size_t)th * 2 * dd, *R = A + dd;
#pragma omp for schedule(static)
        for (long t = 0; t < (long)T; t++) {
            skew_part(d, frac, Gt + (size_t)t * dd, A);
            if (rotation_of(rot, d, A, R, rws ? rws + (size_t)th * rws_len : NULL, rws_len)) {
#pragma omp critical(ngi_gauge_rotate_bad)
                if (bad < 0 || t < bad) bad = t;
                continue;
            }
            ngi_slice_rotate(N, d, Z + (size_t)t * nd, R, tmp + (size_t)th * nd, Rf + (size_t)th * dd);
        }
    }
    if (bad < 0) return NG_OK;
    /* the message is thread-local: fail again on this thread to set it */
    skew_part(d, frac, Gt + (size_t)bad * dd, Rd);
    ng_status st = rotation_of(rot, d, Rd, Rd + dd, rws, rws_len);
    return st ? st : ngi_fail(NG_ENUMERIC, "ng_gauge_phase: the rotation of slice %ld failed", bad);
}

ng_status ngi_gauge_ws_alloc(ngi_gauge_ws *w, const ng_graph *g, size_t N, size_t d)
{
    memset(w, 0, sizeof *w);
    size_t dd = d * d, T = g->T, m = g->n_edges;
    w->rot_len = ngi_rot_ws_len(d);
    if (w->rot_len == 0) return ngi_fail(NG_EINVAL, "ngi_gauge_ws_alloc: d = %zu is too large", d);
    w->nth = ngi_gauge_threads(T);
    size_t nth = (size_t)w->nth;
    w->M = ngi_xcalloc((m ? m : 1) * dd + 1, sizeof *w->M);
    w->work = ngi_xcalloc(3 * T * dd + 4 * dd + 1, sizeof *w->work);
    w->Rd = ngi_xcalloc(nth * 2 * dd + 1, sizeof *w->Rd);
    w->Mf = ngi_xcalloc(nth * dd + 1, sizeof *w->Mf);
    w->Rf = ngi_xcalloc(nth * dd + 1, sizeof *w->Rf);
    w->tmp = ngi_xcalloc(nth * N * d + 1, sizeof *w->tmp);
    w->rot = ngi_xcalloc(nth * w->rot_len, sizeof *w->rot);
    w->ret = ngi_xcalloc(2 * T * dd + (m ? m : 1) * dd + nth * 2 * dd + 1, sizeof *w->ret);
    if (!w->M || !w->work || !w->Rd || !w->Mf || !w->Rf || !w->tmp || !w->rot || !w->ret) {
        ngi_gauge_ws_free(w);
        return NG_ENOMEM;
    }
    return NG_OK;
}

/* Threads a phase may use now: those the workspace has scratch for, at most. */
static int phase_threads(const ngi_gauge_ws *w, size_t T)
{
    int n = ngi_gauge_threads(T);
    return n < w->nth ? n : w->nth;
}

void ngi_gauge_ws_free(ngi_gauge_ws *w)
{
    free(w->M);
    free(w->work);
    free(w->Rd);
    free(w->Mf);
    free(w->Rf);
    free(w->tmp);
    free(w->rot);
    free(w->ret);
    memset(w, 0, sizeof *w);
}

double ngi_gauge_moment_trace(const ng_graph *g, size_t d, const double *M)
{
    double s = 0.0;
    for (size_t e = 0; e < g->n_edges; e++) {
        double tr = 0.0;
        for (size_t j = 0; j < d; j++) tr += M[e * d * d + j * d + j];
        s += g->ew[e] * tr;
    }
    return s;
}

/* Rn_t = rotation of the clipped step c X_t (Gamma~, made skew), t = 0..T-1, on nth
 * threads; A: nth*2*d*d scratch. */
static void step_skew(size_t d, double c, double lim, const double *X, double *A)
{
    for (size_t j = 0; j < d; j++)
        for (size_t k = 0; k < d; k++) {
            /* Gamma~ = c L+ grad (clipped), Gamma = Gamma~ - Gamma~^T */
            double a = c * X[j * d + k], b = c * X[k * d + j];
            a = a > lim ? lim : a < -lim ? -lim : a;
            b = b > lim ? lim : b < -lim ? -lim : b;
            A[j * d + k] = a - b;
        }
}

static ng_status step_rotations(size_t T, size_t d, double c, double lim, const double *NG, double *Rn,
                                ng_rotation rot, double *A, ngi_gauge_ws *w, int nth)
{
    size_t dd = d * d;
    long bad = -1;
#pragma omp parallel num_threads(nth) if (nth > 1)
    {
        const int th = omp_get_thread_num();
        double *At = A + (size_t)th * 2 * dd;
#pragma omp for schedule(static)
        for (long t = 0; t < (long)T; t++) {
            step_skew(d, c, lim, NG + (size_t)t * dd, At);
            if (rotation_of(rot, d, At, Rn + (size_t)t * dd, w->rot + (size_t)th * w->rot_len, w->rot_len)) {
#pragma omp critical(ngi_gauge_step_bad)
                if (bad < 0 || t < bad) bad = t;
            }
        }
    }
    if (bad < 0) return NG_OK;
    step_skew(d, c, lim, NG + (size_t)bad * dd, A); /* again here: the message is thread-local */
    ng_status st = rotation_of(rot, d, A, Rn + (size_t)bad * dd, w->rot, w->rot_len);
    return st ? st : ngi_fail(NG_ENUMERIC, "ng_gauge_phase: the rotation of slice %ld failed", bad);
}

/* The retract solver: k2 natural-gradient steps on SO(d)^T, each from the current point.
 * With R_t the rotation so far, the moments of the rotated slices are R_b M_e R_a^T, so
 * re-expanding there costs O(d^3) per edge and never touches Z; the step's gradient is
 * that of L'' at Gamma = 0 (exact to first order, where the paper's fixed-M model is only
 * exact at the start), and psi(RZ) = const - sum_e w_e Tr(R_b M_e R_a^T) is exact, so a
 * step that would raise psi is halved (up to 20 times, else the phase stops). Z is rotated
 * once at the end. Loops over slices and edges run on nth threads, one product per call. */
static ng_status gauge_retract(const ng_graph *g, size_t N, size_t d, float *Z,
                               const ng_goldstone_params *p, double rho, ngi_gauge_ws *w)
{
    size_t T = g->T, dd = d * d, n = T * dd, m = g->n_edges;
    const int nth = phase_threads(w, T);
    double *Gam = w->work, *G = w->work + n, *NG = w->work + 2 * n, *w4 = w->work + 3 * n;
    double *Racc = w->ret, *Rn = Racc + n, *Mold = Rn + n, *A = Mold + m * dd; /* A: nth*2*dd */
    double lim = p->gauge_clip > 0 ? p->gauge_clip / (double)d : INFINITY;
    memset(Racc, 0, n * sizeof *Racc);
    for (size_t t = 0; t < T; t++)
        for (size_t j = 0; j < d; j++) Racc[t * dd + j * d + j] = 1.0;
    double cur = ngi_gauge_moment_trace(g, d, w->M); /* psi = const - cur: maximise */
    for (int it = 0; it < p->k2; it++) {
        memset(Gam, 0, n * sizeof *Gam);
        ngi_gauge_loss2(g, d, w->M, Gam, G, w4);
        ngi_gauge_skew(T, d, G, Gam); /* gradient with respect to Gamma~ */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)dd, (int)T, 1.0,
                    g->pinv, (int)T, Gam, (int)dd, 0.0, NG, (int)dd);
        memcpy(Mold, w->M, m * dd * sizeof *Mold);
        double frac = 1.0, next = cur;
        int accepted = 0;
        for (int bt = 0; bt < 20 && !accepted; bt++, frac *= 0.5) {
            ng_status st = step_rotations(T, d, -frac * rho, lim, NG, Rn, p->rotation, A, w, nth);
            if (st) return st;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
            for (long e = 0; e < (long)m; e++) {
                double *tmp = A + (size_t)omp_get_thread_num() * 2 * dd;
                const double *Ra = Rn + g->ea[e] * dd, *Rb = Rn + g->eb[e] * dd;
                mm(d, 1.0, Rb, Mold + (size_t)e * dd, 0.0, tmp);
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)d, 1.0, tmp,
                            (int)d, Ra, (int)d, 0.0, w->M + (size_t)e * dd, (int)d);
            }
            next = ngi_gauge_moment_trace(g, d, w->M);
            if (!isfinite(next)) return ngi_fail(NG_ENUMERIC, "ng_gauge_phase: the gauge fields diverged");
            accepted = next >= cur;
        }
        if (!accepted) { /* no step lowers psi: stationary up to rounding */
            memcpy(w->M, Mold, m * dd * sizeof *Mold);
            break;
        }
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
        for (long t = 0; t < (long)T; t++) {
            double *tmp = A + (size_t)omp_get_thread_num() * 2 * dd;
            mm(d, 1.0, Rn + (size_t)t * dd, Racc + (size_t)t * dd, 0.0, tmp);
            memcpy(Racc + (size_t)t * dd, tmp, dd * sizeof *tmp);
        }
        cur = next;
    }
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (long t = 0; t < (long)T; t++) {
        const int th = omp_get_thread_num();
        ngi_slice_rotate(N, d, Z + (size_t)t * N * d, Racc + (size_t)t * dd, w->tmp + (size_t)th * N * d,
                         w->Rf + (size_t)th * dd);
    }
    return NG_OK;
}

/* The phase after its checks: threads over slices and edges, BLAS on one thread, so the
 * result is the same for any thread count. */
static ng_status gauge_phase_serial_blas(const ng_graph *g, size_t N, size_t d, float *Z, double *Gt,
                                         const ng_goldstone_params *p, double rho, ngi_gauge_ws *w)
{
    size_t T = g->T;
    ngi_gauge_moments_mt(g, N, d, Z, w->M, w->Mf, phase_threads(w, T));
    if (p->gauge_solver == NG_GAUGE_RETRACT) return gauge_retract(g, N, d, Z, p, rho, w);
    ngi_gauge_natgrad(g, d, w->M, Gt, p->k2, rho, p->gauge_clip, w->work);
    for (size_t k = 0; k < T * d * d; k++)
        if (!isfinite(Gt[k])) return ngi_fail(NG_ENUMERIC, "ng_gauge_phase: the gauge fields diverged");
    return ngi_gauge_rotate(T, N, d, Z, Gt, p->apply_fraction, p->rotation, w->tmp, w->Rd, w->Rf,
                           w->rot, w->rot_len, phase_threads(w, T));
}

ng_status ngi_gauge_phase_ws(const ng_graph *g, size_t N, size_t d, float *Z, double *Gt,
                            const ng_goldstone_params *p, ngi_gauge_ws *w)
{
    size_t T = g->T;
    if (T < 2 || d == 0 || N == 0) return NG_OK;
    double ss = ngi_sumsq(Z, T * N * d);
    if (!isfinite(ss)) return ngi_fail(NG_ENUMERIC, "ng_gauge_phase: Z has a non-finite entry");
    if (ss <= 0) return NG_OK; /* Z = 0: nothing to rotate */
    double rho = p->rho_scale * (double)d / ss;
    int blas = ngi_blas_serial();
    ng_status st = gauge_phase_serial_blas(g, N, d, Z, Gt, p, rho, w);
    ngi_blas_restore(blas);
    return st;
}

ng_status ng_gauge_phase(const ng_graph *g, size_t N, size_t d, float *Z, double *Gt,
                         const ng_goldstone_params *p)
{
    if (!g || !Z || !Gt || !p) return ngi_fail(NG_EINVAL, "ng_gauge_phase: graph, Z, Gt or params is NULL");
    if (p->gauge_solver == NG_GAUGE_RETRACT && p->rotation == NG_ROT_FIRST_ORDER)
        return ngi_fail(NG_EINVAL, "ng_gauge_phase: the retract solver needs an exact rotation (cayley or exp), "
                                  "not first-order");
    if ((unsigned)p->gauge_solver > NG_GAUGE_RETRACT)
        return ngi_fail(NG_EINVAL, "ng_gauge_phase: gauge_solver = %d; expected quadratic or retract",
                       (int)p->gauge_solver);
    if (p->k2 < 0 || !(p->rho_scale > 0) || !(p->apply_fraction > 0 && p->apply_fraction <= 1))
        return ngi_fail(NG_EINVAL,
                       "ng_gauge_phase: k2 = %d, rho_scale = %g, apply_fraction = %g; expected k2 >= 0, "
                       "rho_scale > 0, apply_fraction in (0, 1]",
                       p->k2, p->rho_scale, p->apply_fraction);
    ngi_gauge_ws w;
    ng_status st = ngi_gauge_ws_alloc(&w, g, N, d);
    if (st) return st;
    st = ngi_gauge_phase_ws(g, N, d, Z, Gt, p, &w);
    ngi_gauge_ws_free(&w);
    return st;
}
