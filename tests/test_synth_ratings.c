/* test_synth_ratings.c - the regimes of the synthetic ratings generator: the defaults give
 * the generator's earlier output (pinned checksums), per-user active windows, empty gaps
 * and the empty bins they make, heavier tails with a larger sigma / Zipf exponent, thread
 * independence with every option on, the per-bin summary against 'dmf train's bins, and
 * bad parameters. */
#include "ngtest.h"
#include "natgrad.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const unsigned char *b, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t k = 0; k < n; k++) h = (h ^ b[k]) * 0x100000001b3ull;
    return h;
}

static uint64_t file_hash(const ng_synth_ratings_params *p, const char *name)
{
    char *path = ng_test_path(name);
    remove(path);
    uint64_t h = 0;
    if (ng_synth_ratings_write(path, p) == NG_OK) {
        size_t n;
        unsigned char *b = ng_test_read_file(path, &n);
        if (b) h = fnv1a(b, n);
        free(b);
    }
    remove(path);
    free(path);
    return h;
}

/* The defaults are those of the generator before the regime options, and give its files
 * byte for byte: FNV-1a of the CSV, computed with that generator (two chunks of ratings,
 * half and whole stars). */
static void test_defaults_pinned(void)
{
    ng_synth_ratings_params p = ng_synth_ratings_default_params();
    NG_CHECK(p.activity_sigma == 1.0 && p.item_zipf == 1.0 && p.user_span == 1.0 && p.gaps == 0 &&
             p.gap_fraction == 0.2);
    p.n_users = 300, p.n_items = 200, p.n_ratings = 70000, p.days = 100, p.dim = 4, p.seed = 7;
    uint64_t h = file_hash(&p, "synth_pin_a.csv");
    NG_CHECK_MSG(h == 0xb4a4f38e36d0bc9cull, "checksum %016llx", (unsigned long long)h);
    ng_synth_ratings_params q = ng_synth_ratings_default_params();
    q.n_users = 120, q.n_items = 60, q.n_ratings = 6000, q.days = 50, q.dim = 3, q.seed = 5;
    q.half_stars = 0;
    h = file_hash(&q, "synth_pin_b.csv");
    NG_CHECK_MSG(h == 0xd232f624cc1b1088ull, "checksum %016llx", (unsigned long long)h);
    /* gaps' fraction is unused without gaps */
    p.gap_fraction = 0.5;
    NG_CHECK(file_hash(&p, "synth_pin_c.csv") == 0xb4a4f38e36d0bc9cull);
}

static int same_ratings(const ng_ratings *a, const ng_ratings *b)
{
    if (a->n != b->n || a->n_users != b->n_users || a->n_items != b->n_items) return 0;
    return !memcmp(a->user, b->user, a->n * sizeof *a->user) &&
           !memcmp(a->item, b->item, a->n * sizeof *a->item) &&
           !memcmp(a->rating, b->rating, a->n * sizeof *a->rating) &&
           !memcmp(a->timestamp, b->timestamp, a->n * sizeof *a->timestamp) &&
           !memcmp(a->user_ids, b->user_ids, a->n_users * sizeof *a->user_ids) &&
           !memcmp(a->item_ids, b->item_ids, a->n_items * sizeof *a->item_ids);
}

/* every option on, three chunks of ratings: the same bits with 1 and 2 threads */
static void test_threads(void)
{
    ng_synth_ratings_params p = ng_synth_ratings_default_params();
    p.n_users = 400, p.n_items = 300, p.n_ratings = 150000, p.days = 200, p.dim = 5, p.seed = 3;
    p.activity_sigma = 2, p.item_zipf = 1.4, p.user_span = 0.1, p.gaps = 4, p.gap_fraction = 0.3;
    int saved = omp_get_max_threads();
    ng_ratings a, b;
    omp_set_num_threads(1);
    NG_CHECK(ng_synth_ratings(&p, &a) == NG_OK);
    omp_set_num_threads(2);
    NG_CHECK(ng_synth_ratings(&p, &b) == NG_OK);
    omp_set_num_threads(saved);
    NG_CHECK(same_ratings(&a, &b));
    ng_synth_ratings_free(&a);
    ng_synth_ratings_free(&b);
}

/* seconds of [a, b) that lie in no gap */
static int64_t active_between(int64_t a, int64_t b, const int64_t *gs, const int64_t *ge, size_t K)
{
    int64_t s = b - a;
    for (size_t k = 0; k < K; k++) {
        int64_t lo = gs[k] > a ? gs[k] : a, hi = ge[k] < b ? ge[k] : b;
        if (hi > lo) s -= hi - lo;
    }
    return s;
}

/* Each user's ratings lie in a window of user_span x the active time (without gaps: of
 * the span); the windows are spread over the span and used. With gaps: the active
 * seconds between a user's first and last rating. */
static void check_windows(const ng_synth_ratings_params *p, const char *what)
{
    const double span = p->days * 86400;
    int64_t *gs = malloc((p->gaps + 1) * sizeof *gs), *ge = malloc((p->gaps + 1) * sizeof *ge);
    NG_CHECK(ng_synth_ratings_gaps(p, gs, ge) == NG_OK);
    double G = 0;
    for (size_t k = 0; k < p->gaps; k++) G += (double)(ge[k] - gs[k]);
    const double win = p->user_span * (span - G);
    ng_ratings r;
    NG_CHECK(ng_synth_ratings(p, &r) == NG_OK);
    int64_t *lo = malloc(r.n_users * sizeof *lo), *hi = malloc(r.n_users * sizeof *hi);
    for (size_t u = 0; u < r.n_users; u++) lo[u] = INT64_MAX, hi[u] = INT64_MIN;
    for (size_t k = 0; k < r.n; k++) {
        int32_t u = r.user[k];
        if (r.timestamp[k] < lo[u]) lo[u] = r.timestamp[k];
        if (r.timestamp[k] > hi[u]) hi[u] = r.timestamp[k];
    }
    int64_t first = INT64_MAX, last = INT64_MIN, widest = 0, over = 0;
    size_t early = 0, late = 0;
    for (size_t u = 0; u < r.n_users; u++) {
        int64_t w = active_between(lo[u], hi[u], gs, ge, p->gaps);
        if (w > (int64_t)ceil(win) && over == 0) over = w;
        if (w > widest) widest = w;
        if (lo[u] < first) first = lo[u];
        if (hi[u] > last) last = hi[u];
        early += lo[u] < p->start_time + (int64_t)(0.3 * span);
        late += hi[u] > p->start_time + (int64_t)(0.7 * span);
    }
    NG_CHECK_MSG(over == 0, "%s: a user's ratings span %lld active s, the window is %.0f s", what,
                 (long long)over, win);
    NG_CHECK_MSG(widest > (int64_t)(0.8 * win), "%s: widest user %lld s of a %.0f s window", what,
                 (long long)widest, win);
    /* the windows' starts are spread: all of the span is used, early and late users */
    NG_CHECK_MSG(first - p->start_time < (int64_t)(0.01 * span) &&
                     p->start_time + (int64_t)span - last < (int64_t)(0.01 * span),
                 "%s: ratings in [%lld, %lld] s of %.0f", what, (long long)(first - p->start_time),
                 (long long)(last - p->start_time), span);
    NG_CHECK_MSG(early > r.n_users / 5 && late > r.n_users / 5, "%s: %zu early, %zu late of %zu users",
                 what, early, late, r.n_users);
    free(lo), free(hi), free(gs), free(ge);
    ng_synth_ratings_free(&r);
}

static void test_user_span(void)
{
    ng_synth_ratings_params p = ng_synth_ratings_default_params();
    p.n_users = 300, p.n_items = 200, p.n_ratings = 60000, p.days = 100, p.dim = 3, p.seed = 11;
    p.user_span = 0.1;
    check_windows(&p, "span 0.1");
    p.user_span = 0.02;
    check_windows(&p, "span 0.02");
    p.user_span = 0.1, p.gaps = 5, p.gap_fraction = 0.4;
    check_windows(&p, "span 0.1, 5 gaps");
    /* without the option every user rates over most of the span */
    ng_ratings r;
    p = ng_synth_ratings_default_params();
    p.n_users = 50, p.n_items = 50, p.n_ratings = 20000, p.days = 100, p.dim = 3;
    NG_CHECK(ng_synth_ratings(&p, &r) == NG_OK);
    size_t wide = 0;
    for (size_t k = 0, k0 = 0; k <= r.n; k++)
        if (k == r.n || r.user[k] != r.user[k0]) {
            wide += r.timestamp[k - 1] - r.timestamp[k0] > (int64_t)(0.5 * 100 * 86400);
            k0 = k;
        }
    NG_CHECK_MSG(wide == r.n_users, "%zu of %zu users rate over half the span", wide, r.n_users);
    ng_synth_ratings_free(&r);
}

/* edges of T equal-duration bins over [a, b] as ng_dmf_prepare makes them (small spans:
 * the plain formula is exact) */
static void edges(int64_t a, int64_t b, size_t T, int64_t *e)
{
    for (size_t t = 0; t <= T; t++) e[t] = a + (int64_t)(((b - a) * (int64_t)t) / (int64_t)T);
    e[T] = b;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : (x > y);
}

/* No rating in a gap; the gaps cover gap_fraction of the span; empty bins: exactly the
 * bins inside a gap; the summary agrees with a direct count. */
static void test_gaps(void)
{
    ng_synth_ratings_params p = ng_synth_ratings_default_params();
    p.n_users = 300, p.n_items = 200, p.n_ratings = 60000, p.days = 100, p.dim = 3, p.seed = 2;
    p.gaps = 3, p.gap_fraction = 0.3;
    const int64_t span = 100 * 86400, t0 = p.start_time;
    int64_t gs[3], ge[3];
    NG_CHECK(ng_synth_ratings_gaps(&p, gs, ge) == NG_OK);
    int64_t G = 0;
    int ok = 1;
    for (int k = 0; k < 3; k++) {
        ok &= ge[k] > gs[k] && gs[k] >= t0 && ge[k] <= t0 + span && (k == 0 || gs[k] >= ge[k - 1]);
        G += ge[k] - gs[k];
        ok &= llabs((ge[k] - gs[k]) - (int64_t)(0.1 * span)) <= 1;
    }
    NG_CHECK_MSG(ok, "gaps [%lld, %lld) [%lld, %lld) [%lld, %lld)", (long long)(gs[0] - t0),
                 (long long)(ge[0] - t0), (long long)(gs[1] - t0), (long long)(ge[1] - t0),
                 (long long)(gs[2] - t0), (long long)(ge[2] - t0));
    NG_CHECK(G == (int64_t)floor(0.3 * span));
    ng_ratings r;
    NG_CHECK(ng_synth_ratings(&p, &r) == NG_OK);
    size_t in_gap = 0;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    for (size_t k = 0; k < r.n; k++) {
        int64_t ts = r.timestamp[k];
        for (int g = 0; g < 3; g++) in_gap += ts >= gs[g] && ts < ge[g];
        if (ts < tmin) tmin = ts;
        if (ts > tmax) tmax = ts;
    }
    NG_CHECK_MSG(in_gap == 0, "%zu ratings in a gap", in_gap);
    NG_CHECK(tmin >= t0 && tmax < t0 + span);
    /* the gaps really are gaps: the ratings on either side come close to them */
    for (int g = 0; g < 3; g++) {
        int64_t before = INT64_MIN, after = INT64_MAX;
        for (size_t k = 0; k < r.n; k++) {
            if (r.timestamp[k] < gs[g] && r.timestamp[k] > before) before = r.timestamp[k];
            if (r.timestamp[k] >= ge[g] && r.timestamp[k] < after) after = r.timestamp[k];
        }
        NG_CHECK((before == INT64_MIN || gs[g] - before < 3600) && (after == INT64_MAX || after - ge[g] < 3600));
    }
    /* empty bins for T = 100 (gaps of 10 bins): the bins that lie inside a gap */
    const size_t T = 100;
    int64_t e[T + 1];
    size_t cnt[T], inside = 0;
    edges(tmin, tmax, T, e);
    memset(cnt, 0, sizeof cnt);
    for (size_t k = 0; k < r.n; k++) {
        size_t b = 0;
        while (b + 1 < T && r.timestamp[k] >= e[b + 1]) b++;
        cnt[b]++;
    }
    size_t empty = 0;
    for (size_t t = 0; t < T; t++) {
        int64_t end = t + 1 == T ? e[T] + 1 : e[t + 1];
        int in = active_between(e[t], end, gs, ge, 3) == 0;
        inside += in;
        empty += cnt[t] == 0;
    }
    NG_CHECK_MSG(inside >= 20 && empty == inside, "%zu bins inside gaps, %zu empty", inside, empty);
    ng_ratings_summary s;
    NG_CHECK(ng_ratings_summarize(&r, T, &s) == NG_OK);
    qsort(cnt, T, sizeof *cnt, cmp_size);
    NG_CHECK(s.n_ratings == r.n && s.n_users == r.n_users && s.n_items == r.n_items && s.bins == T);
    NG_CHECK(s.t_first == tmin && s.t_last == tmax);
    NG_CHECK_MSG(s.n_empty_bins == empty && s.bin_min == 0 && s.bin_max == cnt[T - 1] &&
                     s.bin_median == 0.5 * (double)(cnt[49] + cnt[50]),
                 "summary: empty %zu, min %zu, median %g, max %zu; direct: %zu, %zu, %g, %zu", s.n_empty_bins,
                 s.bin_min, s.bin_median, s.bin_max, empty, cnt[0], 0.5 * (double)(cnt[49] + cnt[50]),
                 cnt[T - 1]);
    ng_synth_ratings_free(&r);
    /* another seed moves the gaps */
    int64_t gs2[3], ge2[3];
    p.seed = 3;
    NG_CHECK(ng_synth_ratings_gaps(&p, gs2, ge2) == NG_OK);
    NG_CHECK(memcmp(gs, gs2, sizeof gs) != 0);
}

/* share of the ratings held by the top 1% of users (or items) */
static double top_share(const ng_ratings *r, int items)
{
    size_t n = items ? r->n_items : r->n_users;
    size_t *c = calloc(n, sizeof *c);
    for (size_t k = 0; k < r->n; k++) c[items ? r->item[k] : r->user[k]]++;
    qsort(c, n, sizeof *c, cmp_size);
    size_t top = n / 100 ? n / 100 : 1, s = 0;
    for (size_t k = n - top; k < n; k++) s += c[k];
    free(c);
    return (double)s / (double)r->n;
}

static void test_heavy_tails(void)
{
    ng_synth_ratings_params p = ng_synth_ratings_default_params();
    p.n_users = 2000, p.n_items = 2000, p.n_ratings = 100000, p.days = 100, p.dim = 3;
    double su[3], si[3];
    const double sigma[3] = {0.5, 1, 2}, zipf[3] = {0.5, 1, 2};
    for (int k = 0; k < 3; k++) {
        ng_ratings r;
        p.activity_sigma = sigma[k], p.item_zipf = zipf[k];
        NG_CHECK(ng_synth_ratings(&p, &r) == NG_OK);
        su[k] = top_share(&r, 0);
        si[k] = top_share(&r, 1);
        ng_synth_ratings_free(&r);
    }
    /* log-normal top-1% share: about 4% (sigma 0.5), 9% (1), 36% (2) */
    NG_CHECK_MSG(su[0] < su[1] && 2 * su[1] < su[2] && su[2] > 0.25, "users: %.3f %.3f %.3f", su[0], su[1],
                 su[2]);
    NG_CHECK_MSG(si[0] < si[1] && 2 * si[1] < si[2] && si[2] > 0.5, "items: %.3f %.3f %.3f", si[0], si[1], si[2]);
    /* sigma 0: every user equally active */
    p.activity_sigma = 0, p.item_zipf = 0;
    ng_ratings r;
    NG_CHECK(ng_synth_ratings(&p, &r) == NG_OK);
    NG_CHECK_MSG(top_share(&r, 0) < 0.02 && top_share(&r, 1) < 0.02, "flat: %.3f %.3f", top_share(&r, 0),
                 top_share(&r, 1));
    ng_synth_ratings_free(&r);
}

/* the summary's bins are 'dmf train's: ng_dmf_prepare's counts on data it keeps whole;
 * irregular times, then times on a grid with a hole (ratings on the bins' edges) */
static void test_summary_bins(void)
{
    enum { N = 40 };
    int32_t user[N], item[N];
    float rating[N];
    int64_t ts[N], uid[4] = {1, 2, 3, 4}, iid[5] = {1, 2, 3, 4, 5};
    for (int k = 0; k < N; k++) {
        user[k] = k % 4, item[k] = k % 5;
        rating[k] = k % 2 ? 5.0f : 1.0f; /* median 3: nothing discarded */
        ts[k] = 1000 + (int64_t)k * k * 37 + (k > 20 ? 50000 : 0);
    }
    ng_ratings r = {.n = N, .n_users = 4, .n_items = 5, .user = user, .item = item, .rating = rating,
                    .timestamp = ts, .user_ids = uid, .item_ids = iid};
    const size_t Ts[] = {1, 2, 7, 10, 30, 33, 60};
    for (int grid = 0; grid < 2; grid++) {
        if (grid)
            for (int k = 0; k < N; k++) /* span 60000: 1000..20000, 41000..59000, 61000 */
                ts[k] = 1000 + 1000 * (int64_t)(k < 20 ? k : k < N - 1 ? k + 20 : 60);
        for (size_t q = 0; q < sizeof Ts / sizeof Ts[0]; q++) {
            ng_dmf_prep_params pp = ng_dmf_prep_default_params();
            pp.bins = Ts[q];
            ng_dmf_data D;
            ng_ratings_summary s;
            NG_CHECK(ng_dmf_prepare(&r, &pp, &D) == NG_OK);
            NG_CHECK(ng_ratings_summarize(&r, Ts[q], &s) == NG_OK);
            size_t c[64];
            memcpy(c, D.bin_count, Ts[q] * sizeof *c);
            qsort(c, Ts[q], sizeof *c, cmp_size);
            size_t T = Ts[q];
            double med = T % 2 ? (double)c[T / 2] : 0.5 * (double)(c[T / 2 - 1] + c[T / 2]);
            NG_CHECK_MSG(s.n_empty_bins == D.n_empty_bins && s.bin_min == c[0] && s.bin_max == c[T - 1] &&
                             s.bin_median == med,
                         "grid %d, T %zu: summary %zu empty, %zu/%g/%zu; dmf %zu empty, %zu/%g/%zu", grid, T,
                         s.n_empty_bins, s.bin_min, s.bin_median, s.bin_max, D.n_empty_bins, c[0], med, c[T - 1]);
            if (grid && T == 60) NG_CHECK(s.n_empty_bins == 20 && s.bin_max == 1 && s.bin_min == 0);
            ng_dmf_data_free(&D);
        }
    }
    ng_ratings_summary s;
    NG_CHECK(ng_ratings_summarize(&r, 10, &s) == NG_OK && s.n_empty_bins > 0 && s.n_users == 4 &&
             s.n_items == 5 && s.n_ratings == N && s.t_first == 1000 && s.t_last == 61000);
    NG_CHECK(ng_ratings_summarize(&r, 0, &s) == NG_EINVAL && strstr(ng_last_error(), "bins 0"));
    NG_CHECK(ng_ratings_summarize(&r, NG_DMF_MAX_BINS + 1, &s) == NG_EINVAL);
    r.n = 0;
    NG_CHECK(ng_ratings_summarize(&r, 10, &s) == NG_EINVAL && strstr(ng_last_error(), "no ratings"));
    NG_CHECK(ng_ratings_summarize(NULL, 10, &s) == NG_EINVAL);
}

/* each bad value is refused with a message naming it, nothing is written */
static void test_bad_params(void)
{
    struct {
        const char *name;
        double sigma, zipf, span, frac, days;
        size_t gaps;
    } bad[] = {
        {"activity_sigma", -0.1, 1, 1, 0.2, 100, 0},   {"activity_sigma", 5.5, 1, 1, 0.2, 100, 0},
        {"activity_sigma", NAN, 1, 1, 0.2, 100, 0},    {"item_zipf", 1, -1, 1, 0.2, 100, 0},
        {"item_zipf", 1, INFINITY, 1, 0.2, 100, 0},    {"user_span", 1, 1, 0, 0.2, 100, 0},
        {"user_span", 1, 1, 1.01, 0.2, 100, 0},        {"user_span", 1, 1, NAN, 0.2, 100, 0},
        {"gap_fraction", 1, 1, 1, 0, 100, 2},          {"gap_fraction", 1, 1, 1, 0.95, 100, 2},
        {"gap_fraction", 1, 1, 1, NAN, 100, 0},        {"gaps", 1, 1, 1, 0.2, 100, NG_SYNTH_MAX_GAPS + 1},
        {"gaps need at least 50 s", 1, 1, 1, 0.5, 1e-3, 50},
    };
    char *path = ng_test_path("synth_bad.csv");
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ng_synth_ratings_params p = ng_synth_ratings_default_params();
        p.n_users = 20, p.n_items = 20, p.n_ratings = 100;
        p.activity_sigma = bad[k].sigma, p.item_zipf = bad[k].zipf, p.user_span = bad[k].span;
        p.gap_fraction = bad[k].frac, p.days = bad[k].days, p.gaps = bad[k].gaps;
        ng_ratings r;
        remove(path);
        NG_CHECK_MSG(ng_synth_ratings_params_check(&p) == NG_EINVAL && strstr(ng_last_error(), bad[k].name),
                     "case %zu (%s): %s", k, bad[k].name, ng_last_error());
        NG_CHECK(ng_synth_ratings(&p, &r) == NG_EINVAL && r.n == 0 && r.user == NULL);
        NG_CHECK(ng_synth_ratings_write(path, &p) == NG_EINVAL);
        FILE *f = fopen(path, "r");
        NG_CHECK(f == NULL);
        if (f) fclose(f);
        int64_t gs[2], ge[2];
        NG_CHECK(p.gaps > 2 || ng_synth_ratings_gaps(&p, gs, ge) == NG_EINVAL);
    }
    /* the edges of the ranges are fine */
    ng_synth_ratings_params p = ng_synth_ratings_default_params();
    p.n_users = 20, p.n_items = 20, p.n_ratings = 100, p.days = 1e-3; /* 86.4 s */
    p.activity_sigma = 0, p.item_zipf = 5, p.user_span = 1e-6, p.gaps = 77, p.gap_fraction = 0.9;
    NG_CHECK_MSG(ng_synth_ratings_params_check(&p) == NG_OK, "%s", ng_last_error());
    ng_ratings r;
    NG_CHECK(ng_synth_ratings(&p, &r) == NG_OK);
    int ok = r.n == 100;
    for (size_t k = 0; k < r.n; k++) ok &= r.timestamp[k] >= p.start_time && r.timestamp[k] < p.start_time + 87;
    NG_CHECK(ok);
    ng_synth_ratings_free(&r);
    p.activity_sigma = 5, p.gaps = 0, p.user_span = 1;
    NG_CHECK(ng_synth_ratings(&p, &r) == NG_OK);
    ng_synth_ratings_free(&r);
    NG_CHECK(ng_synth_ratings_params_check(NULL) == NG_EINVAL);
    NG_CHECK(ng_synth_ratings_gaps(&p, NULL, NULL) == NG_OK); /* no gaps: nothing written */
    p.gaps = 1;
    NG_CHECK(ng_synth_ratings_gaps(&p, NULL, NULL) == NG_EINVAL);
    free(path);
}

int main(void)
{
    NG_RUN(test_defaults_pinned);
    NG_RUN(test_threads);
    NG_RUN(test_user_span);
    NG_RUN(test_gaps);
    NG_RUN(test_heavy_tails);
    NG_RUN(test_summary_bins);
    NG_RUN(test_bad_params);
    return ng_test_summary();
}
