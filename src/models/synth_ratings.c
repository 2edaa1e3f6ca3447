/* synth_ratings.c - MovieLens-like ratings from a model with known, slowly drifting
 * factors: the test bed for dynamic matrix factorisation when no real data is at hand,
 * and the in-memory problem of 'natgrad bench dmf'. Knobs for the regimes of real files
 * (heavy-tailed activity and popularity, users active for a short while, empty stretches
 * of time) and a summary of how ratings spread over time bins.
 * Everything random comes from streams forked per entity / per chunk of ratings from the
 * seed, so the output does not depend on the number of threads. */
#include "dmf_internal.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SYN_KNOTS 32         /* intervals of the piecewise-linear random walk */
#define SYN_CHUNK 65536      /* ratings per random stream */
#define SYN_MAX_DIM 256

ng_synth_ratings_params ng_synth_ratings_default_params(void)
{
    ng_synth_ratings_params p;
    memset(&p, 0, sizeof p);
    p.n_users = 5000;
    p.n_items = 2000;
    p.n_ratings = 1000000;
    p.days = 1000;
    p.dim = 10;
    p.drift = 1.0;
    p.seed = 1;
    p.half_stars = 1;
    p.start_time = 946684800; /* 2000-01-01 */
    p.activity_sigma = 1.0;
    p.item_zipf = 1.0;
    p.user_span = 1.0;
    p.gaps = 0;
    p.gap_fraction = 0.2;
    return p;
}

/* the gaps' total length in whole seconds */
static double gap_seconds(const ng_synth_ratings_params *p)
{
    return p->gaps ? floor(p->gap_fraction * p->days * 86400.0) : 0.0; /* < the span */
}

ng_status ng_synth_ratings_params_check(const ng_synth_ratings_params *p)
{
    if (!p) return ngi_fail(NG_EINVAL, "ng_synth_ratings: NULL parameters");
    if (p->n_users < 1 || p->n_items < 1 || p->n_ratings < 1)
        return ngi_fail(NG_EINVAL, "synthetic ratings: users %zu, items %zu, ratings %zu must all be >= 1",
                       p->n_users, p->n_items, p->n_ratings);
    if (p->n_users > INT32_MAX || p->n_items > INT32_MAX)
        return ngi_fail(NG_EINVAL, "synthetic ratings: at most %d users and items", INT32_MAX);
    if (!(p->days > 0) || !isfinite(p->days) || p->days > 1e6)
        return ngi_fail(NG_EINVAL, "synthetic ratings: days %g must be in (0, 1e6]", p->days);
    if (p->start_time < INT64_MIN / 2 || p->start_time > INT64_MAX / 2)
        return ngi_fail(NG_EINVAL, "synthetic ratings: start_time %lld must be within +-2^62 s",
                       (long long)p->start_time);
    if (p->dim < 1 || p->dim > SYN_MAX_DIM)
        return ngi_fail(NG_EINVAL, "synthetic ratings: dim %zu must be in [1, %d]", p->dim, SYN_MAX_DIM);
    if (!(p->drift >= 0) || !isfinite(p->drift))
        return ngi_fail(NG_EINVAL, "synthetic ratings: drift %g must be finite and >= 0", p->drift);
    if (!(p->activity_sigma >= 0 && p->activity_sigma <= 5))
        return ngi_fail(NG_EINVAL, "synthetic ratings: activity_sigma %g must be in [0, 5]", p->activity_sigma);
    if (!(p->item_zipf >= 0 && p->item_zipf <= 5))
        return ngi_fail(NG_EINVAL, "synthetic ratings: item_zipf %g must be in [0, 5]", p->item_zipf);
    if (!(p->user_span > 0 && p->user_span <= 1))
        return ngi_fail(NG_EINVAL, "synthetic ratings: user_span %g must be in (0, 1] (a fraction of the time span)",
                       p->user_span);
    if (p->gaps > NG_SYNTH_MAX_GAPS)
        return ngi_fail(NG_EINVAL, "synthetic ratings: %zu gaps; at most %d", p->gaps, NG_SYNTH_MAX_GAPS);
    if (!(p->gap_fraction > 0 && p->gap_fraction <= 0.9))
        return ngi_fail(NG_EINVAL, "synthetic ratings: gap_fraction %g must be in (0, 0.9]", p->gap_fraction);
    if (gap_seconds(p) < (double)p->gaps)
        return ngi_fail(NG_EINVAL,
                       "synthetic ratings: %zu gaps need at least %zu s together; gap_fraction %g of %g days "
                       "gives %.0f s",
                       p->gaps, p->gaps, p->gap_fraction, p->days, gap_seconds(p));
    return NG_OK;
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fork_rng(ng_rng *r, uint64_t seed, uint64_t stream, uint64_t k)
{
    ng_rng_seed(r, mix64(seed ^ mix64(stream * 0x100000001B3ull ^ mix64(k))));
}

/* first index with cum[i] > x (cum ascending, cum[n-1] = total > x) */
static size_t search_cum(const double *cum, size_t n, double x)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > x) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y);
}

/* The gaps in whole seconds: gap k starts at gpos[k] in active (gap-free) time, i.e. at
 * gpos[k] + lcum[k] from the start, and lasts lcum[k+1] - lcum[k] s (equal lengths up to
 * a second). gpos ascending, drawn uniform in [0, active) from the seed's stream 4.
 * Returns the active time, span - total gap length (> 0 for checked parameters). */
static double make_gaps(const ng_synth_ratings_params *p, double *gpos, double *lcum)
{
    const size_t K = p->gaps;
    const double span = p->days * 86400.0, G = gap_seconds(p), active = span - G;
    ng_rng r;
    fork_rng(&r, p->seed, 4, 0);
    for (size_t k = 0; k < K; k++) gpos[k] = ng_rng_uniform(&r) * active;
    qsort(gpos, K, sizeof *gpos, cmp_double);
    lcum[0] = 0;
    for (size_t k = 0; k < K; k++) {
        gpos[k] = floor(gpos[k]);
        lcum[k + 1] = floor(G * (double)(k + 1) / (double)K); /* integer, ends at G */
    }
    return active;
}

/* the offset from the start of active-time offset a (whole seconds): past every gap that
 * starts at or before it */
static double skip_gaps(double a, const double *gpos, const double *lcum, size_t K)
{
    size_t lo = 0, hi = K; /* the number of gaps with gpos <= a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (gpos[mid] <= a) lo = mid + 1;
        else hi = mid;
    }
    return a + lcum[lo];
}

ng_status ng_synth_ratings_gaps(const ng_synth_ratings_params *p, int64_t *start, int64_t *end)
{
    ng_status st = ng_synth_ratings_params_check(p);
    if (st) return st;
    if (p->gaps && (!start || !end)) return ngi_fail(NG_EINVAL, "ng_synth_ratings_gaps: NULL output");
    const size_t K = p->gaps;
    double *gpos = ngi_xmalloc((K + 1) * sizeof *gpos), *lcum = ngi_xmalloc((K + 1) * sizeof *lcum);
    if (!gpos || !lcum) {
        free(gpos), free(lcum);
        return NG_ENOMEM;
    }
    make_gaps(p, gpos, lcum);
    for (size_t k = 0; k < K; k++) {
        start[k] = p->start_time + (int64_t)(gpos[k] + lcum[k]);
        end[k] = p->start_time + (int64_t)(gpos[k] + lcum[k + 1]);
    }
    free(gpos), free(lcum);
    return NG_OK;
}

/* Synthetic ratings own exactly what a read file owns. */
void ng_synth_ratings_free(ng_ratings *r) { ng_ratings_free(r); }

typedef struct {
    int64_t ts;
    int32_t item;
    float rating;
} syn_rec;

static int cmp_rec(const void *a, const void *b)
{
    const syn_rec *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->item < y->item ? -1 : (x->item > y->item);
}

ng_status ng_synth_ratings(const ng_synth_ratings_params *p, ng_ratings *out)
{
    memset(out, 0, sizeof *out);
    ng_status st = ng_synth_ratings_params_check(p);
    if (st) return st;

    const size_t nu = p->n_users, ni = p->n_items, n = p->n_ratings, dim = p->dim;
    const size_t ne = nu + ni, K = SYN_KNOTS + 1;
    const uint64_t seed = p->seed;
    const double span = p->days * 86400.0;
    const size_t K_gaps = p->gaps;
    st = NG_ENOMEM;
    double *gpos = ngi_xmalloc((K_gaps + 1) * sizeof *gpos);
    double *lcum = ngi_xmalloc((K_gaps + 1) * sizeof *lcum);
    double *w0 = ngi_xmalloc(nu * sizeof *w0); /* each user's window start, active time */
    float *F = ngi_xmalloc(ne * K * dim * sizeof *F); /* knots of every factor */
    float *bias = ngi_xmalloc(ne * sizeof *bias);
    double *cu = ngi_xmalloc(nu * sizeof *cu), *ci = ngi_xmalloc(ni * sizeof *ci);
    int32_t *su = ngi_xmalloc(n * sizeof *su);
    syn_rec *rec = ngi_xmalloc(n * sizeof *rec);
    size_t *uptr = ngi_xcalloc(nu + 1, sizeof *uptr);
    syn_rec *sorted = NULL;
    int32_t *imap = NULL;
    if (!F || !bias || !cu || !ci || !su || !rec || !uptr || !gpos || !lcum || !w0) goto done;
    /* with the defaults (no gaps, user span 1): active = span, windows [0, span) */
    const double active = make_gaps(p, gpos, lcum);
    const double wlen = p->user_span * active;
    const double last = ceil(active) - 1; /* the last active second */

    /* factors: unit-variance start, random-walk knots with total std `drift` */
    {
        const double step = p->drift / sqrt((double)SYN_KNOTS);
#pragma omp parallel for schedule(static)
        for (long e = 0; e < (long)ne; e++) {
            ng_rng r;
            fork_rng(&r, seed, 1, (uint64_t)e);
            float *f = F + (size_t)e * K * dim;
            for (size_t q = 0; q < dim; q++) f[q] = (float)ng_rng_normal(&r);
            for (size_t k = 1; k < K; k++)
                for (size_t q = 0; q < dim; q++)
                    f[k * dim + q] = f[(k - 1) * dim + q] + (float)(step * ng_rng_normal(&r));
            bias[e] = (float)(((size_t)e < nu ? 0.3 : 0.5) * ng_rng_normal(&r));
            if ((size_t)e < nu) w0[e] = ng_rng_uniform(&r) * (1 - p->user_span) * active;
        }
    }
    /* popularity: users log-normal activity, items Zipf over a random order */
    {
        ng_rng r;
        fork_rng(&r, seed, 2, 0);
        double acc = 0;
        for (size_t i = 0; i < nu; i++) cu[i] = (acc += exp(p->activity_sigma * ng_rng_normal(&r)));
        size_t *rank = ngi_xmalloc(ni * sizeof *rank);
        if (!rank) goto done;
        for (size_t j = 0; j < ni; j++) rank[j] = j;
        ng_rng_shuffle(&r, rank, ni);
        acc = 0;
        for (size_t j = 0; j < ni; j++) ci[j] = (acc += 1.0 / pow((double)rank[j] + 10.0, p->item_zipf));
        free(rank);
    }
    /* ratings, one stream per chunk */
    {
        const long nchunk = (long)((n + SYN_CHUNK - 1) / SYN_CHUNK);
        const double tot_u = cu[nu - 1], tot_i = ci[ni - 1];
        const double scale = 0.9 / sqrt((double)dim);
#pragma omp parallel for schedule(dynamic, 1)
        for (long c = 0; c < nchunk; c++) {
            ng_rng r;
            fork_rng(&r, seed, 3, (uint64_t)c);
            size_t k1 = ((size_t)c + 1) * SYN_CHUNK;
            if (k1 > n) k1 = n;
            for (size_t k = (size_t)c * SYN_CHUNK; k < k1; k++) {
                size_t i = search_cum(cu, nu, ng_rng_uniform(&r) * tot_u);
                size_t j = search_cum(ci, ni, ng_rng_uniform(&r) * tot_i);
                double off = floor(w0[i] + ng_rng_uniform(&r) * wlen);
                if (off > last) off = last; /* u * span may round up to span */
                if (K_gaps) off = skip_gaps(off, gpos, lcum, K_gaps);
                double pos = off / span * SYN_KNOTS;
                size_t kn = (size_t)pos;
                if (kn >= SYN_KNOTS) kn = SYN_KNOTS - 1;
                double w = pos - (double)kn;
                const float *fu = F + i * K * dim + kn * dim;
                const float *fv = F + (nu + j) * K * dim + kn * dim;
                double s = 0;
                for (size_t q = 0; q < dim; q++) {
                    double a = (1 - w) * fu[q] + w * fu[dim + q];
                    double b = (1 - w) * fv[q] + w * fv[dim + q];
                    s += a * b;
                }
                double x = 3.5 + bias[i] + bias[nu + j] + scale * s + 0.4 * ng_rng_normal(&r);
                double v;
                if (p->half_stars) {
                    v = 0.5 * floor(2 * x + 0.5);
                    v = v < 0.5 ? 0.5 : v > 5 ? 5 : v;
                } else {
                    v = floor(x + 0.5);
                    v = v < 1 ? 1 : v > 5 ? 5 : v;
                }
                su[k] = (int32_t)i;
                rec[k].ts = p->start_time + (int64_t)off;
                rec[k].item = (int32_t)j;
                rec[k].rating = (float)v;
            }
        }
    }
    free(F);
    F = NULL;
    /* group by user (stable), each user's ratings by time, like MovieLens ratings.csv */
    for (size_t k = 0; k < n; k++) uptr[(size_t)su[k] + 1]++;
    for (size_t i = 0; i < nu; i++) uptr[i + 1] += uptr[i];
    sorted = ngi_xmalloc(n * sizeof *sorted);
    if (!sorted) goto done;
    {
        size_t *cur = ngi_xmalloc(nu * sizeof *cur);
        if (!cur) goto done;
        memcpy(cur, uptr, nu * sizeof *cur);
        for (size_t k = 0; k < n; k++) sorted[cur[su[k]]++] = rec[k];
        free(cur);
    }
    free(rec);
    rec = NULL;
#pragma omp parallel for schedule(dynamic, 64)
    for (long i = 0; i < (long)nu; i++)
        qsort(sorted + uptr[i], uptr[i + 1] - uptr[i], sizeof *sorted, cmp_rec);

    /* dense indices in order of first appearance, as ng_ratings_read gives them */
    out->n = n;
    out->user = ngi_xmalloc(n * sizeof *out->user);
    out->item = ngi_xmalloc(n * sizeof *out->item);
    out->rating = ngi_xmalloc(n * sizeof *out->rating);
    out->timestamp = ngi_xmalloc(n * sizeof *out->timestamp);
    out->user_ids = ngi_xmalloc(nu * sizeof *out->user_ids);
    out->item_ids = ngi_xmalloc(ni * sizeof *out->item_ids);
    imap = ngi_xmalloc(ni * sizeof *imap);
    if (!out->user || !out->item || !out->rating || !out->timestamp || !out->user_ids ||
        !out->item_ids || !imap)
        goto done;
    for (size_t j = 0; j < ni; j++) imap[j] = -1;
    size_t nuu = 0, nii = 0;
    for (size_t i = 0; i < nu; i++) {
        if (uptr[i + 1] == uptr[i]) continue;
        out->user_ids[nuu] = (int64_t)i + 1;
        for (size_t k = uptr[i]; k < uptr[i + 1]; k++) {
            int32_t j = sorted[k].item;
            if (imap[j] < 0) {
                imap[j] = (int32_t)nii;
                out->item_ids[nii++] = (int64_t)j + 1;
            }
            out->user[k] = (int32_t)nuu;
            out->item[k] = imap[j];
            out->rating[k] = sorted[k].rating;
            out->timestamp[k] = sorted[k].ts;
        }
        nuu++;
    }
    out->n_users = nuu;
    out->n_items = nii;
    st = NG_OK;

done:
    free(gpos);
    free(lcum);
    free(w0);
    free(F);
    free(bias);
    free(cu);
    free(ci);
    free(su);
    free(rec);
    free(uptr);
    free(sorted);
    free(imap);
    if (st != NG_OK) ng_synth_ratings_free(out);
    return st;
}

ng_status ng_ratings_write_csv(const char *path, const ng_ratings *r)
{
    if (!path || !r) return ngi_fail(NG_EINVAL, "ng_ratings_write_csv: NULL argument");
    for (size_t k = 0; k < r->n; k++)
        if (!isfinite(r->rating[k]))
            return ngi_fail(NG_ENUMERIC, "%s: rating %zu is not finite; not written", path, k);
    ng_atomic_file af;
    ng_status st = ng_atomic_open(&af, path);
    if (st) return st;
    char *buf = malloc(1 << 20); /* big stdio buffer: about 3x faster for 1M lines */
    if (buf) setvbuf(af.f, buf, _IOFBF, 1 << 20);
    fputs("userId,movieId,rating,timestamp\n", af.f);
    for (size_t k = 0; k < r->n; k++)
        fprintf(af.f, "%lld,%lld,%.1f,%lld\n", (long long)r->user_ids[r->user[k]],
                (long long)r->item_ids[r->item[k]], (double)r->rating[k],
                (long long)r->timestamp[k]);
    st = ng_atomic_commit(&af); /* closes the stream before its buffer goes */
    free(buf);
    return st;
}

ng_status ng_synth_ratings_write(const char *path, const ng_synth_ratings_params *p)
{
    ng_ratings r;
    ng_status st = ng_synth_ratings(p, &r);
    if (st) return st;
    st = ng_ratings_write_csv(path, &r);
    ng_synth_ratings_free(&r);
    return st;
}

/* the index of the bin of ts: the last edge <= ts, at most T - 1 (as ng_dmf_prepare) */
static size_t bin_of(const int64_t *edge, size_t T, int64_t ts)
{
    size_t lo = 0, hi = T - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (edge[mid] <= ts) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : (x > y);
}

ng_status ng_ratings_summarize(const ng_ratings *r, size_t bins, ng_ratings_summary *out)
{
    if (!r || !out) return ngi_fail(NG_EINVAL, "ng_ratings_summarize: NULL argument");
    memset(out, 0, sizeof *out);
    if (bins < 1 || bins > NG_DMF_MAX_BINS)
        return ngi_fail(NG_EINVAL, "ratings summary: bins %zu must be in [1, %d]", bins, NG_DMF_MAX_BINS);
    if (r->n < 1) return ngi_fail(NG_EINVAL, "ratings summary: no ratings");
    const size_t T = bins, n = r->n;
    int64_t tmin = r->timestamp[0], tmax = r->timestamp[0];
    for (size_t k = 1; k < n; k++) {
        if (r->timestamp[k] < tmin) tmin = r->timestamp[k];
        if (r->timestamp[k] > tmax) tmax = r->timestamp[k];
    }
    int64_t *edge = ngi_xmalloc((T + 1) * sizeof *edge);
    size_t *cnt = ngi_xcalloc(T, sizeof *cnt);
    if (!edge || !cnt) {
        free(edge), free(cnt);
        return NG_ENOMEM;
    }
    const uint64_t uspan = (uint64_t)tmax - (uint64_t)tmin;
    for (size_t t = 0; t <= T; t++) edge[t] = ngi_dmf_bin_edge(tmin, uspan, t, T);
    for (size_t k = 0; k < n; k++) cnt[bin_of(edge, T, r->timestamp[k])]++;
    for (size_t t = 0; t < T; t++) out->n_empty_bins += cnt[t] == 0;
    qsort(cnt, T, sizeof *cnt, cmp_size);
    out->n_ratings = n;
    out->n_users = r->n_users;
    out->n_items = r->n_items;
    out->t_first = tmin;
    out->t_last = tmax;
    out->bins = T;
    out->bin_min = cnt[0];
    out->bin_max = cnt[T - 1];
    out->bin_median = T % 2 ? (double)cnt[T / 2] : 0.5 * ((double)cnt[T / 2 - 1] + (double)cnt[T / 2]);
    free(edge), free(cnt);
    return NG_OK;
}
