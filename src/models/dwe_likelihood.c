/* dwe_likelihood.c - the skip-gram likelihood of dynamic word embeddings (spec dwe.md
 * section 1): per slice sum_ij [n+_ij log sigma(x_ij) + n-_ij log sigma(-x_ij)],
 * x_ij = u_i . v_j, with n- the expected negative counts n+_i. s_j.
 *
 * n- has rank one, so it is never stored: a tile multiplies a[i] s[j] on the fly. The
 * spec's identity sum_j n-_ij x_ij = n+_i. u_i . sum_j s_j v_j (O(Wd)) is not used: it
 * belongs to the softplus form -sum (n+ + n-) softplus(-x) - sum n- x, whose two sums
 * cancel for the many pairs with x << 0 (relative error ~1e-7 |x| e^|x| in float); the
 * log sigma form below has no cancellation and costs the same sgemm per block.
 *
 * A block (words I x contexts J) of a slice is computed NGI_DWE_TILE word rows at a
 * time: X = U_tile V^T (sgemm), the tile's counts n+ scattered into a dense buffer, the
 * coefficient C = d(-l)/dx elementwise, then GU_tile = C V and GV += C^T U_tile (sgemm).
 * One thread owns a slice, so sums and gradients do not depend on the thread count. */
#include "dwe_internal.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

/* First position q in [lo, hi) with col[q] >= key (col ascending there). */
static int64_t lower_bound(const int32_t *col, int64_t lo, int64_t hi, int32_t key)
{
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (col[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* n+ of the tile's pairs (rows r0 .. r0+rt-1 of I) into P (rt x nJ, zeroed here). A pair
 * (i, j) is stored once, as (min, max): i <= j in row i, j < i in row j. */
static void scatter_counts(const ngi_dwe_slice *sl, const ngi_dwe_block *b, size_t r0, size_t rt,
                           float *P)
{
    const size_t nJ = b->nJ;
    memset(P, 0, rt * nJ * sizeof *P);
    for (size_t r = 0; r < rt; r++) {
        int32_t i = b->wi[r0 + r];
        for (int64_t q = sl->row_ptr[i]; q < sl->row_ptr[i + 1]; q++) {
            int32_t c = b->pos_c[sl->col[q]];
            if (c >= 0) P[r * nJ + (size_t)c] = sl->val[q];
        }
    }
    const int32_t ilo = b->wi[r0], ihi = b->wi[r0 + rt - 1];
    for (size_t c = 0; c < nJ; c++) {
        int32_t j = b->cj[c];
        if (j >= ihi) break; /* J ascending: no later context lies below the tile's words */
        int32_t lo = j + 1 > ilo ? j + 1 : ilo;
        for (int64_t q = lower_bound(sl->col, sl->row_ptr[j], sl->row_ptr[j + 1], lo);
             q < sl->row_ptr[j + 1] && sl->col[q] <= ihi; q++) {
            int32_t r = b->pos_w[sl->col[q]];
            if (r >= 0) P[((size_t)r - r0) * nJ + c] = sl->val[q];
        }
    }
}

/* The coefficient C = (n+ + n-) sigma(x) - n+ of a tile in place of its counts P (rt x nJ),
 * x in X; sigma(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) else, e = e^-|x| (no
 * overflow). Adds each row's sum of n+ log sigma(x) + n- log sigma(-x) to *val (row by
 * row, in order), with
 * log sigma(+-x) = min(+-x, 0) - log1p(e) (ternaries: fminf is a call without
 * -ffast-math). */
static void tile_coef_value(const ngi_dwe_slice *sl, const ngi_dwe_block *b, size_t r0, size_t rt,
                            const float *X, float *P, const float *sJ, double *val)
{
    const size_t nJ = b->nJ;
    for (size_t r = 0; r < rt; r++) {
        const float ai = (float)sl->a[b->wi[r0 + r]];
        const float *x = X + r * nJ;
        float *C = P + r * nJ;
        double acc = 0.0;
        for (size_t c = 0; c < nJ; c++) {
            const float xv = x[c], pos = C[c], neg = ai * sJ[c];
            const float ex = expf(-fabsf(xv)), inv = 1.0f / (1.0f + ex);
            const float sig = xv >= 0 ? inv : ex * inv;
            C[c] = (pos + neg) * sig - pos;
            const float l1 = log1pf(ex);
            acc += (double)pos * (double)((xv < 0 ? xv : 0.0f) - l1) +
                   (double)neg * (double)((xv > 0 ? -xv : 0.0f) - l1);
        }
        *val += acc;
    }
}

/* The same coefficients without the value, in two passes over the tile so that the
 * second vectorises: e^-|x| with the sign of x (in X's place), then C. The operations on
 * each element are tile_coef_value's, so C is the same to the bit (for x = -0, where the
 * sign bit picks e / (1 + e) instead of 1 / (1 + e), both are 1/2; a NaN stays NaN). The
 * sign chooses by a mask, not a branch: the signs of x are random and a mispredicted
 * branch per pair cost more than the arithmetic. */
static void tile_coef(const ngi_dwe_slice *sl, const ngi_dwe_block *b, size_t r0, size_t rt,
                      float *X, float *P, const float *sJ)
{
    const size_t nJ = b->nJ, n = rt * nJ;
    for (size_t k = 0; k < n; k++) X[k] = copysignf(expf(-fabsf(X[k])), X[k]);
    for (size_t r = 0; r < rt; r++) {
        const float ai = (float)sl->a[b->wi[r0 + r]];
        const float *restrict e = X + r * nJ;
        float *restrict C = P + r * nJ;
        for (size_t c = 0; c < nJ; c++) {
            const float ex = fabsf(e[c]), pos = C[c], neg = ai * sJ[c];
            const float inv = 1.0f / (1.0f + ex), alt = ex * inv;
            uint32_t be, bi, ba, bs;
            memcpy(&be, e + c, sizeof be);
            memcpy(&bi, &inv, sizeof bi);
            memcpy(&ba, &alt, sizeof ba);
            const uint32_t neg_x = 0u - (be >> 31); /* all ones when x's sign bit is set */
            bs = (bi & ~neg_x) | (ba & neg_x);
            float sig;
            memcpy(&sig, &bs, sizeof sig);
            C[c] = (pos + neg) * sig - pos;
        }
    }
}

double ngi_dwe_lik_slice(const ngi_dwe_slice *sl, const ngi_dwe_block *b, size_t d,
                        const float *U, const float *V, float *GU, float *GV, double alpha_u,
                        double alpha_v, int accumulate, int want_value, float *ws)
{
    const size_t nI = b->nI, nJ = b->nJ;
    const int grad = GU != NULL;
    if (nI == 0 || nJ == 0) {
        if (grad && !accumulate) {
            memset(GU, 0, nI * d * sizeof *GU);
            memset(GV, 0, nJ * d * sizeof *GV);
        }
        return 0.0;
    }
    float *Xb = ws, *Cb = ws + (size_t)NGI_DWE_TILE * nJ, *sJ = ws + 2 * (size_t)NGI_DWE_TILE * nJ;
    for (size_t c = 0; c < nJ; c++) sJ[c] = (float)sl->s[b->cj[c]];
    double val = 0.0;
    for (size_t r0 = 0; r0 < nI; r0 += NGI_DWE_TILE) {
        size_t rt = nI - r0 < NGI_DWE_TILE ? nI - r0 : NGI_DWE_TILE;
        const float *Ut = U + r0 * d;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rt, (int)nJ, (int)d, 1.0f, Ut,
                    (int)d, V, (int)d, 0.0f, Xb, (int)nJ);
        scatter_counts(sl, b, r0, rt, Cb);
        if (want_value)
            tile_coef_value(sl, b, r0, rt, Xb, Cb, sJ, &val);
        else
            tile_coef(sl, b, r0, rt, Xb, Cb, sJ);
        if (grad) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rt, (int)d, (int)nJ,
                        (float)alpha_u, Cb, (int)nJ, V, (int)d, accumulate ? 1.0f : 0.0f,
                        GU + r0 * d, (int)d);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nJ, (int)d, (int)rt,
                        (float)alpha_v, Cb, (int)nJ, Ut, (int)d,
                        accumulate || r0 > 0 ? 1.0f : 0.0f, GV, (int)d);
        }
    }
    return val;
}

double ngi_dwe_lik_slices(ng_dwe *m, const ngi_dwe_block *b, size_t t0, size_t t1,
                          const unsigned char *mask, const float *U0, const float *V0, size_t us,
                          float *GU0, float *GV0, double alpha_u, double alpha_v, int accumulate,
                          int want_value)
{
    const double clock0 = omp_get_wtime();
    const size_t d = m->d, wsl = ngi_dwe_lik_ws_len(m->W);
    const long n = (long)(t1 - t0);
    int nt = ngi_dwe_threads(m, b->nI * b->nJ * d * (size_t)n);
    if (nt > n) nt = n > 0 ? (int)n : 1;
    /* each slice's sgemms run on one thread: OpenBLAS threads would oversubscribe, and its
     * threaded products round differently, so one OpenMP thread must not use them either */
    int blas = ngi_blas_serial();
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (long k = 0; k < n; k++) {
        size_t t = t0 + (size_t)k;
        if (mask && !mask[t]) {
            m->slice_val[t] = 0.0;
            continue;
        }
        ngi_dwe_slice sl = ngi_dwe_slice_of(m, t);
        size_t off = (size_t)k * us;
        m->slice_val[t] = ngi_dwe_lik_slice(
            &sl, b, d, U0 + off, V0 + off, GU0 ? GU0 + off : NULL, GV0 ? GV0 + off : NULL,
            alpha_u, alpha_v, accumulate, want_value, m->tiles + (size_t)omp_get_thread_num() * wsl);
    }
    ngi_blas_restore(blas);
    double sum = 0.0;
    for (size_t t = t0; t < t1; t++) sum += m->slice_val[t];
    m->lik_seconds += omp_get_wtime() - clock0;
    return sum;
}

ng_status ngi_dwe_corpus_index(const ng_corpus *c, double gamma, double nu, int64_t *row_ptr,
                               double *a, double *s, double *count)
{
    const size_t T = c->T, W = c->W;
    if (c->slice_ptr[0] != 0)
        return ngi_fail(NG_EINVAL, "dwe corpus: slice_ptr[0] = %lld; expected 0", (long long)c->slice_ptr[0]);
    for (size_t t = 0; t < T; t++) {
        const int64_t lo = c->slice_ptr[t], hi = c->slice_ptr[t + 1];
        if (hi < lo)
            return ngi_fail(NG_EINVAL, "dwe corpus: slice_ptr decreases at slice %zu (%lld < %lld)", t,
                            (long long)hi, (long long)lo);
        int64_t *rp = row_ptr + t * (W + 1);
        double *at = a + t * W, *st = s + t * W;
        memset(rp, 0, (W + 1) * sizeof *rp);
        memset(at, 0, W * sizeof *at);
        for (int64_t q = lo; q < hi; q++) {
            int32_t i = c->i[q], j = c->j[q];
            double n = c->n[q];
            if (i < 0 || j < 0 || (size_t)j >= W || i > j)
                return ngi_fail(NG_EINVAL, "dwe corpus: slice %zu entry %lld is (%d, %d); expected "
                                "0 <= i <= j < W = %zu", t, (long long)(q - lo), (int)i, (int)j, W);
            if (q > lo && (c->i[q - 1] > i || (c->i[q - 1] == i && c->j[q - 1] >= j)))
                return ngi_fail(NG_EINVAL, "dwe corpus: slice %zu entry %lld (%d, %d) is not after "
                                "(%d, %d): entries must be sorted by (i, j) without duplicates", t,
                                (long long)(q - lo), (int)i, (int)j, (int)c->i[q - 1], (int)c->j[q - 1]);
            if (!(n >= 0) || !isfinite(n))
                return ngi_fail(NG_EINVAL, "dwe corpus: slice %zu entry (%d, %d) has count %g; "
                                "expected finite and >= 0", t, (int)i, (int)j, n);
            rp[i + 1]++;
            at[i] += n;
            if (j != i) at[j] += n;
        }
        rp[0] = lo;
        for (size_t i = 0; i < W; i++) rp[i + 1] += rp[i];
        double z = 0.0, tot = 0.0;
        for (size_t i = 0; i < W; i++) {
            st[i] = at[i] > 0 ? pow(at[i], gamma) : 0.0;
            z += st[i];
            tot += at[i];
        }
        double ssum = 0.0;
        for (size_t i = 0; i < W; i++) {
            st[i] = z > 0 ? nu * st[i] / z : 0.0;
            ssum += st[i];
        }
        count[t] = tot * (1.0 + ssum); /* sum n+ + sum_i a_i sum_j s_j */
    }
    return NG_OK;
}
