/* ratings_prep.c - ratings -> binary observations in time bins with a train/valid/test
 * split, as in Bamler & Mandt (2018) section 5.2: binarise at the median (drop ties),
 * T equal-duration (or equal-count) bins, random 50/20/30 split. */
#include "dmf_internal.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ng_dmf_prep_params ng_dmf_prep_default_params(void)
{
    ng_dmf_prep_params p;
    memset(&p, 0, sizeof p);
    p.bins = 100;
    p.binning = NG_DMF_BIN_DURATION;
    p.train_frac = 0.5;
    p.valid_frac = 0.2;
    p.seed = 1;
    return p;
}

void ng_dmf_data_free(ng_dmf_data *d)
{
    if (!d) return;
    for (int s = 0; s < 3; s++) {
        free(d->split[s].t);
        free(d->split[s].user);
        free(d->split[s].item);
        free(d->split[s].x);
    }
    free(d->bin_start);
    free(d->bin_count);
    free(d->user_ids);
    free(d->item_ids);
    memset(d, 0, sizeof *d);
}

/* k-th smallest of a[0..n) (reordered), three-way quickselect: ratings have few distinct
 * values, so the equal band is what makes this linear. */
static float select_kth(float *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* [lo, hi) */
    while (hi - lo > 1) {
        float p = a[lo + (hi - lo) / 2];
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (a[i] < p) {
                float t = a[lt]; a[lt] = a[i]; a[i] = t;
                lt++, i++;
            } else if (a[i] > p) {
                gt--;
                float t = a[gt]; a[gt] = a[i]; a[i] = t;
            } else {
                i++;
            }
        }
        if (k < lt) hi = lt;
        else if (k >= gt) lo = gt;
        else return p;
    }
    return a[lo];
}

static double median_of(const float *r, size_t n, int *ok)
{
    float *a = ngi_xmalloc(n * sizeof *a);
    *ok = a != NULL;
    if (!a) return 0;
    memcpy(a, r, n * sizeof *a);
    double m;
    float hi = select_kth(a, n, n / 2);
    if (n % 2) {
        m = hi;
    } else {
        /* the lower middle is the largest element left of n/2 after the selection */
        float lo = a[0];
        for (size_t i = 1; i < n / 2; i++)
            if (a[i] > lo) lo = a[i];
        m = 0.5 * ((double)lo + (double)hi);
    }
    free(a);
    return m;
}

typedef struct {
    int64_t ts;
    size_t idx;
} ts_idx;

static int cmp_ts_idx(const void *a, const void *b)
{
    const ts_idx *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* tmin + floor(span * t / T) in exact integer arithmetic for any int64 tmin and span up to
 * 2^64 - 1 (t <= T <= NG_DMF_MAX_BINS): span = q T + r, so span t / T = q t + r t / T with
 * r t < T^2; the sum is at most span, and it is added in two int64-safe parts. */
int64_t ngi_dmf_bin_edge(int64_t tmin, uint64_t span, size_t t, size_t T)
{
    uint64_t q = span / T, r = span % T;
    uint64_t off = q * t + (r * t) / T;
    if (off <= (uint64_t)INT64_MAX) return tmin + (int64_t)off;
    /* off > INT64_MAX only when tmin < 0 (the edge is <= tmax) */
    return (tmin + INT64_MAX) + (int64_t)(off - (uint64_t)INT64_MAX);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : (x > y);
}

ng_status ng_dmf_prepare(const ng_ratings *r, const ng_dmf_prep_params *p, ng_dmf_data *out)
{
    memset(out, 0, sizeof *out);
    if (!r || !p) return ngi_fail(NG_EINVAL, "ng_dmf_prepare: NULL argument");
    const size_t T = p->bins, n = r->n;
    if (T < 1) return ngi_fail(NG_EINVAL, "ng_dmf_prepare: bins must be >= 1, got %zu", T);
    if (T > NG_DMF_MAX_BINS)
        return ngi_fail(NG_EINVAL,
                        "ng_dmf_prepare: %zu bins; expected at most %d (the bins are the nodes of the chain "
                        "prior, whose L+ is a dense T x T matrix)",
                        T, NG_DMF_MAX_BINS);
    if (!(p->train_frac > 0 && p->valid_frac >= 0 && p->train_frac + p->valid_frac <= 1))
        return ngi_fail(NG_EINVAL,
                       "ng_dmf_prepare: split fractions train %g, valid %g: expected "
                       "train > 0, valid >= 0, train + valid <= 1",
                       p->train_frac, p->valid_frac);
    if (p->binning != NG_DMF_BIN_DURATION && p->binning != NG_DMF_BIN_COUNT)
        return ngi_fail(NG_EINVAL, "ng_dmf_prepare: unknown binning %d", (int)p->binning);
    if (n == 0) return ngi_fail(NG_EINVAL, "ratings: the data set is empty");
    if (r->n_users < 2)
        return ngi_fail(NG_EINVAL,
                       "ratings: only %zu user in %zu ratings: matrix factorisation needs at "
                       "least 2 users", r->n_users, n);
    if (r->n_items < 2)
        return ngi_fail(NG_EINVAL,
                       "ratings: only %zu item in %zu ratings: matrix factorisation needs at "
                       "least 2 items", r->n_items, n);
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(r->rating[k]))
            return ngi_fail(NG_EINVAL, "ratings: rating %zu is not finite", k);
        if (r->user[k] < 0 || (size_t)r->user[k] >= r->n_users || r->item[k] < 0 ||
            (size_t)r->item[k] >= r->n_items)
            return ngi_fail(NG_EINVAL, "ratings: rating %zu has user/item index out of range", k);
    }

    ng_status st = NG_ENOMEM;
    size_t *keep = NULL, *tbin = NULL;
    ts_idx *order = NULL;
    int ok;
    double med = median_of(r->rating, n, &ok);
    if (!ok) return NG_ENOMEM;
    out->median = med;
    out->n_input = n;
    out->T = T;
    out->n_users = r->n_users;
    out->n_items = r->n_items;

    /* binarise: keep the ratings off the median */
    keep = ngi_xmalloc(n * sizeof *keep);
    if (!keep) goto fail;
    size_t nk = 0;
    for (size_t k = 0; k < n; k++)
        if ((double)r->rating[k] != med) keep[nk++] = k;
    out->n_discarded = n - nk;
    if (nk == 0) {
        st = ngi_fail(NG_EINVAL,
                     "ratings: all %zu ratings equal the median %g: nothing left to binarise",
                     n, med);
        goto fail;
    }

    /* time bins, on the kept ratings */
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    for (size_t k = 0; k < nk; k++) {
        int64_t ts = r->timestamp[keep[k]];
        if (ts < tmin) tmin = ts;
        if (ts > tmax) tmax = ts;
    }
    if (T > 1 && tmin == tmax) {
        st = ngi_fail(NG_EINVAL,
                     "ratings: all %zu kept ratings have the same timestamp %lld: the data fill "
                     "a single time bin (use 1 bin for a static model)",
                     nk, (long long)tmin);
        goto fail;
    }
    tbin = ngi_xmalloc(nk * sizeof *tbin);
    out->bin_start = ngi_xcalloc(T + 1, sizeof *out->bin_start);
    out->bin_count = ngi_xcalloc(T, sizeof *out->bin_count);
    if (!tbin || !out->bin_start || !out->bin_count) goto fail;
    if (p->binning == NG_DMF_BIN_DURATION) {
        /* the span in uint64 is exact for any two int64 timestamps (up to 2^64 - 1 s) */
        const uint64_t uspan = (uint64_t)tmax - (uint64_t)tmin;
        double span = (double)uspan;
        if (T > 1 && (uint64_t)T > uspan) {
            st = ngi_fail(NG_EINVAL,
                         "ratings: %zu equal-duration bins need a time span of at least %zu s, "
                         "the kept ratings span %llu s",
                         T, T, (unsigned long long)uspan);
            goto fail;
        }
        for (size_t t = 0; t <= T; t++) out->bin_start[t] = ngi_dmf_bin_edge(tmin, uspan, t, T);
        out->bin_start[T] = tmax;
        for (size_t k = 0; k < nk; k++) {
            double f = ((double)r->timestamp[keep[k]] - (double)tmin) / (span > 0 ? span : 1.0);
            size_t b = (size_t)floor(f * (double)T);
            if (b >= T) b = T - 1;
            /* make the bin agree with the integer edges exactly */
            while (b > 0 && r->timestamp[keep[k]] < out->bin_start[b]) b--;
            while (b + 1 < T && r->timestamp[keep[k]] >= out->bin_start[b + 1]) b++;
            tbin[k] = b;
        }
    } else {
        if (T > nk) {
            st = ngi_fail(NG_EINVAL,
                         "ratings: %zu equal-count bins need at least %zu kept ratings, got %zu",
                         T, T, nk);
            goto fail;
        }
        /* rank by (timestamp, input order); bin = floor(rank * T / nk). Ratings with the
         * same timestamp may fall on both sides of a bin edge. */
        order = ngi_xmalloc(nk * sizeof *order);
        if (!order) goto fail;
        for (size_t k = 0; k < nk; k++) {
            order[k].ts = r->timestamp[keep[k]];
            order[k].idx = k;
        }
        qsort(order, nk, sizeof *order, cmp_ts_idx);
        for (size_t q = 0; q < nk; q++) {
            size_t b = q * T / nk; /* q < nk <= 2^40-ish, T <= 1e6: no overflow */
            tbin[order[q].idx] = b;
            if (q == 0 || b != tbin[order[q - 1].idx]) out->bin_start[b] = order[q].ts;
        }
        out->bin_start[T] = tmax;
        free(order);
        order = NULL;
    }
    for (size_t k = 0; k < nk; k++) out->bin_count[tbin[k]]++;
    for (size_t t = 0; t < T; t++) out->n_empty_bins += out->bin_count[t] == 0;
    if (out->n_empty_bins)
        ngi_log(1, "ratings: %zu of %zu time bins hold no ratings; their vectors are set by the "
                  "chain prior and the L2 term alone", out->n_empty_bins, T);

    /* split: a seeded shuffle of the kept ratings, exact proportions, each part back in
     * input order */
    {
        ng_rng rng;
        ng_rng_seed(&rng, p->seed);
        size_t *perm = ngi_xmalloc(nk * sizeof *perm);
        if (!perm) goto fail;
        for (size_t k = 0; k < nk; k++) perm[k] = k;
        ng_rng_shuffle(&rng, perm, nk);
        size_t ntr = (size_t)llround(p->train_frac * (double)nk);
        size_t nva = (size_t)llround(p->valid_frac * (double)nk);
        if (ntr > nk) ntr = nk;
        if (nva > nk - ntr) nva = nk - ntr;
        size_t cnt[3] = {ntr, nva, nk - ntr - nva}, off = 0;
        for (int s = 0; s < 3; s++) {
            ng_dmf_obs *o = &out->split[s];
            o->n = cnt[s];
            o->t = ngi_xmalloc(cnt[s] * sizeof *o->t);
            o->user = ngi_xmalloc(cnt[s] * sizeof *o->user);
            o->item = ngi_xmalloc(cnt[s] * sizeof *o->item);
            o->x = ngi_xmalloc(cnt[s] * sizeof *o->x);
            if (!o->t || !o->user || !o->item || !o->x) {
                free(perm);
                goto fail;
            }
            qsort(perm + off, cnt[s], sizeof *perm, cmp_size);
            for (size_t q = 0; q < cnt[s]; q++) {
                size_t k = perm[off + q], src = keep[k];
                o->t[q] = (int32_t)tbin[k];
                o->user[q] = r->user[src];
                o->item[q] = r->item[src];
                o->x[q] = (double)r->rating[src] > med ? 1 : -1;
            }
            off += cnt[s];
        }
        free(perm);
    }

    out->user_ids = ngi_xmalloc(r->n_users * sizeof *out->user_ids);
    out->item_ids = ngi_xmalloc(r->n_items * sizeof *out->item_ids);
    if (!out->user_ids || !out->item_ids) goto fail;
    for (size_t i = 0; i < r->n_users; i++) out->user_ids[i] = r->user_ids ? r->user_ids[i] : (int64_t)i;
    for (size_t j = 0; j < r->n_items; j++) out->item_ids[j] = r->item_ids ? r->item_ids[j] : (int64_t)j;
    free(keep);
    free(tbin);
    return NG_OK;

fail:
    free(keep);
    free(tbin);
    free(order);
    ng_dmf_data_free(out);
    return st;
}
