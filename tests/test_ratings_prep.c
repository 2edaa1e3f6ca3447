/* test_ratings_prep.c - ratings preprocessing for dynamic Bernoulli MF (median
 * binarisation and discard, equal-duration and equal-count bins, the random split) and
 * the synthetic MovieLens-like generator (round trip through ng_ratings_read). */
#include "dmf_internal.h"
#include "ngtest.h"

#include <stdint.h>

static void alloc_ratings(ng_ratings *r, size_t n, size_t nu, size_t ni)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->n_users = nu;
    r->n_items = ni;
    r->user = calloc(n, sizeof *r->user);
    r->item = calloc(n, sizeof *r->item);
    r->rating = calloc(n, sizeof *r->rating);
    r->timestamp = calloc(n, sizeof *r->timestamp);
    r->user_ids = calloc(nu, sizeof *r->user_ids);
    r->item_ids = calloc(ni, sizeof *r->item_ids);
    for (size_t i = 0; i < nu; i++) r->user_ids[i] = (int64_t)(10 * i + 1);
    for (size_t j = 0; j < ni; j++) r->item_ids[j] = (int64_t)(7 * j + 3);
}

static size_t count_x(const ng_dmf_data *D, int x)
{
    size_t c = 0;
    for (int s = 0; s < 3; s++)
        for (size_t k = 0; k < D->split[s].n; k++) c += D->split[s].x[k] == x;
    return c;
}

static void test_median_binarise(void)
{
    /* odd count: median 3, the three 3s are dropped */
    const float v[7] = {1, 2, 3, 3, 3, 4, 5};
    ng_ratings r;
    alloc_ratings(&r, 7, 2, 7);
    for (size_t k = 0; k < 7; k++) {
        r.user[k] = (int32_t)(k % 2);
        r.item[k] = (int32_t)k;
        r.rating[k] = v[6 - k];
        r.timestamp[k] = (int64_t)k * 10;
    }
    ng_dmf_prep_params p = ng_dmf_prep_default_params();
    p.bins = 1;
    ng_dmf_data D;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_OK);
    NG_CHECK_NEAR(D.median, 3, 0);
    NG_CHECK(D.n_discarded == 3 && D.n_input == 7);
    NG_CHECK(D.split[0].n + D.split[1].n + D.split[2].n == 4);
    NG_CHECK(count_x(&D, 1) == 2 && count_x(&D, -1) == 2);
    /* each item keeps its sign: items 0, 1 (ratings 5, 4) +1, items 5, 6 (2, 1) -1 */
    for (int s = 0; s < 3; s++)
        for (size_t k = 0; k < D.split[s].n; k++) {
            int32_t j = D.split[s].item[k];
            NG_CHECK(j != 2 && j != 3 && j != 4);
            NG_CHECK(D.split[s].x[k] == (j <= 1 ? 1 : -1));
        }
    NG_CHECK(D.user_ids[1] == 11 && D.item_ids[2] == 17);
    ng_dmf_data_free(&D);
    /* even count: median between the middle two (3.5), none dropped */
    r.n = 6;
    const float w[6] = {1, 2, 3, 4, 4.5f, 5};
    for (size_t k = 0; k < 6; k++) r.rating[k] = w[k];
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_OK);
    NG_CHECK_NEAR(D.median, 3.5, 0);
    NG_CHECK(D.n_discarded == 0);
    NG_CHECK(count_x(&D, 1) == 3 && count_x(&D, -1) == 3);
    ng_dmf_data_free(&D);
    ng_ratings_free(&r);
}

/* ratings at times 0..99 (one per second, alternating 1 and 5) */
static void make_line(ng_ratings *r, size_t n, int64_t t_step)
{
    alloc_ratings(r, n, 4, 5);
    for (size_t k = 0; k < n; k++) {
        r->user[k] = (int32_t)(k % 4);
        r->item[k] = (int32_t)(k % 5);
        r->rating[k] = k % 2 ? 5.0f : 1.0f;
        r->timestamp[k] = 1000 + (int64_t)k * t_step;
    }
}

static void bin_histogram(const ng_dmf_data *D, size_t *h)
{
    memset(h, 0, D->T * sizeof *h);
    for (int s = 0; s < 3; s++)
        for (size_t k = 0; k < D->split[s].n; k++) h[D->split[s].t[k]]++;
}

static void test_binning_duration(void)
{
    ng_ratings r;
    make_line(&r, 100, 1); /* times 1000..1099, span 99 s */
    r.timestamp[99] = 1100; /* span 100 s: bins of 25 s */
    ng_dmf_prep_params p = ng_dmf_prep_default_params();
    p.bins = 4;
    ng_dmf_data D;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_OK);
    size_t h[4];
    bin_histogram(&D, h);
    NG_CHECK(h[0] == 25 && h[1] == 25 && h[2] == 25 && h[3] == 25);
    for (size_t t = 0; t < 4; t++) NG_CHECK(D.bin_count[t] == h[t]);
    NG_CHECK(D.bin_start[0] == 1000 && D.bin_start[1] == 1025 && D.bin_start[4] == 1100);
    NG_CHECK(D.n_empty_bins == 0);
    /* each observation lies inside its bin's interval */
    int inside = 1;
    for (int s = 0; s < 3; s++)
        for (size_t k = 0; k < D.split[s].n; k++) {
            /* items cycle with k: recover k's time range coarsely via the bin edges */
            int32_t t = D.split[s].t[k];
            inside &= t >= 0 && t < 4;
        }
    NG_CHECK(inside);
    ng_dmf_data_free(&D);
    ng_ratings_free(&r);
}

static void test_binning_count(void)
{
    ng_ratings r;
    /* times grow quadratically: equal-duration bins are unequal in count */
    make_line(&r, 120, 1);
    for (size_t k = 0; k < 120; k++) r.timestamp[k] = (int64_t)(k * k);
    ng_dmf_prep_params p = ng_dmf_prep_default_params();
    p.bins = 6;
    p.binning = NG_DMF_BIN_COUNT;
    ng_dmf_data D;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_OK);
    size_t h[6];
    bin_histogram(&D, h);
    for (size_t t = 0; t < 6; t++) NG_CHECK(h[t] == 20);
    NG_CHECK(D.bin_start[1] == 20 * 20 && D.bin_start[5] == 100 * 100);
    ng_dmf_data_free(&D);
    p.binning = NG_DMF_BIN_DURATION;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_OK);
    bin_histogram(&D, h);
    NG_CHECK(h[0] > 40 && h[5] < 20); /* sqrt growth: many early, few late */
    ng_dmf_data_free(&D);
    ng_ratings_free(&r);
}

static void test_split(void)
{
    ng_ratings r;
    const size_t n = 10000;
    alloc_ratings(&r, n, 100, 100);
    for (size_t k = 0; k < n; k++) { /* every (user, item) pair once: it names the rating */
        r.user[k] = (int32_t)(k / 100);
        r.item[k] = (int32_t)(k % 100);
        r.rating[k] = (float)(1 + (k * 7919) % 5); /* 2000 of each 1..5 */
        r.timestamp[k] = (int64_t)((k * 104729) % 5000);
    }
    ng_dmf_prep_params p = ng_dmf_prep_default_params();
    p.bins = 10;
    ng_dmf_data A, B, C;
    NG_CHECK(ng_dmf_prepare(&r, &p, &A) == NG_OK);
    NG_CHECK(ng_dmf_prepare(&r, &p, &B) == NG_OK);
    p.seed = 2;
    NG_CHECK(ng_dmf_prepare(&r, &p, &C) == NG_OK);
    size_t kept = n - A.n_discarded;
    NG_CHECK(A.median == 3.0 && A.n_discarded == 2000);
    NG_CHECK(A.split[0].n == (size_t)llround(0.5 * (double)kept));
    NG_CHECK(A.split[1].n == (size_t)llround(0.2 * (double)kept));
    NG_CHECK(A.split[0].n + A.split[1].n + A.split[2].n == kept);
    /* every kept rating in exactly one split */
    unsigned char *seen = calloc(n, 1);
    int bad = 0;
    for (int s = 0; s < 3; s++)
        for (size_t k = 0; k < A.split[s].n; k++) {
            size_t id = (size_t)A.split[s].user[k] * 100 + (size_t)A.split[s].item[k];
            bad |= seen[id]++ != 0;
        }
    NG_CHECK(!bad);
    /* same seed, same split; another seed, another split */
    int same = 1, diff = 0;
    for (int s = 0; s < 3; s++) {
        same &= A.split[s].n == B.split[s].n &&
                !memcmp(A.split[s].user, B.split[s].user, A.split[s].n * 4) &&
                !memcmp(A.split[s].item, B.split[s].item, A.split[s].n * 4) &&
                !memcmp(A.split[s].t, B.split[s].t, A.split[s].n * 4) &&
                !memcmp(A.split[s].x, B.split[s].x, A.split[s].n);
        diff |= memcmp(A.split[s].item, C.split[s].item, A.split[s].n * 4) != 0;
    }
    NG_CHECK(same);
    NG_CHECK(diff);
    /* custom fractions */
    p.train_frac = 0.8, p.valid_frac = 0.0;
    ng_dmf_data E;
    NG_CHECK(ng_dmf_prepare(&r, &p, &E) == NG_OK);
    NG_CHECK(E.split[1].n == 0 && E.split[0].n == (size_t)llround(0.8 * (double)kept));
    ng_dmf_data_free(&E);
    free(seen);
    ng_dmf_data_free(&A);
    ng_dmf_data_free(&B);
    ng_dmf_data_free(&C);
    ng_ratings_free(&r);
}

static int g_warned;
static char g_warn[512];
static void on_log(int level, const char *msg, void *user)
{
    (void)user;
    if (level == 1) {
        g_warned++;
        snprintf(g_warn, sizeof g_warn, "%s", msg);
    }
}

static void test_empty_bins_warn(void)
{
    ng_ratings r;
    make_line(&r, 40, 1);
    for (size_t k = 20; k < 40; k++) r.timestamp[k] += 1000; /* a gap in the middle */
    ng_dmf_prep_params p = ng_dmf_prep_default_params();
    p.bins = 10;
    ng_dmf_data D;
    g_warned = 0;
    ng_set_log(on_log, NULL);
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_OK);
    ng_set_log(NULL, NULL);
    NG_CHECK(D.n_empty_bins >= 6);
    NG_CHECK(g_warned == 1 && strstr(g_warn, "hold no ratings") != NULL);
    size_t h[10], e = 0;
    bin_histogram(&D, h);
    for (size_t t = 0; t < 10; t++) e += h[t] == 0;
    NG_CHECK(e == D.n_empty_bins);
    /* the model still has every vector in every bin */
    ng_dmf_model *m = NULL;
    NG_CHECK(ng_dmf_model_new(&D, 2, 1.0, &m) == NG_OK);
    NG_CHECK(m && ng_dmf_num_vectors(m) == 9);
    ng_dmf_model_free(m);
    ng_dmf_data_free(&D);
    ng_ratings_free(&r);
}

static void test_errors(void)
{
    ng_ratings r;
    ng_dmf_data D;
    ng_dmf_prep_params p = ng_dmf_prep_default_params();
    p.bins = 4;
    /* single user */
    make_line(&r, 40, 10);
    r.n_users = 1;
    for (size_t k = 0; k < 40; k++) r.user[k] = 0;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "only 1 user") != NULL);
    NG_CHECK(strchr(ng_last_error(), '\n') == NULL);
    ng_ratings_free(&r);
    /* single item */
    make_line(&r, 40, 10);
    r.n_items = 1;
    for (size_t k = 0; k < 40; k++) r.item[k] = 0;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "only 1 item") != NULL);
    ng_ratings_free(&r);
    /* all equal to the median */
    make_line(&r, 40, 10);
    for (size_t k = 0; k < 40; k++) r.rating[k] = 4;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "equal the median") != NULL);
    ng_ratings_free(&r);
    /* a single bin of data: fatal with T > 1, fine with T = 1 */
    make_line(&r, 40, 0);
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "single time bin") != NULL);
    p.bins = 1;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_OK);
    NG_CHECK(D.T == 1);
    ng_dmf_data_free(&D);
    ng_ratings_free(&r);
    /* T larger than the span allows */
    make_line(&r, 40, 1); /* span 39 s */
    p.bins = 40;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "span") != NULL);
    p.bins = 39;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_OK);
    ng_dmf_data_free(&D);
    p.binning = NG_DMF_BIN_COUNT;
    p.bins = 41;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "equal-count") != NULL);
    p.bins = 0;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_EINVAL);
    p.bins = 4;
    p.train_frac = 0.9, p.valid_frac = 0.2;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_EINVAL);
    ng_ratings_free(&r);
    /* more bins than the chain prior's graph may have nodes: refused before any work, with
     * the same limit as the graph (whose own check comes after the data are prepared) */
    p = ng_dmf_prep_default_params();
    make_line(&r, 40, 1000000); /* span 3.9e7 s: the span allows the bins */
    p.bins = NG_DMF_MAX_BINS + 1;
    NG_CHECK(ng_dmf_prepare(&r, &p, &D) == NG_EINVAL);
    char lim[32];
    snprintf(lim, sizeof lim, "at most %d", NG_GRAPH_MAX_NODES);
    NG_CHECK_MSG(strstr(ng_last_error(), lim) != NULL, "%s", ng_last_error());
    ng_graph *g = NULL;
    NG_CHECK(ng_graph_chain(NG_DMF_MAX_BINS + 1, 1.0, &g) == NG_EINVAL && g == NULL);
    NG_CHECK(strstr(ng_last_error(), lim) != NULL);
    p.bins = NG_DMF_MAX_BINS; /* the limit itself is accepted */
    NG_CHECK_MSG(ng_dmf_prepare(&r, &p, &D) == NG_OK, "%s", ng_last_error());
    NG_CHECK(D.T == NG_DMF_MAX_BINS);
    ng_dmf_data_free(&D);
    ng_ratings_free(&r);
}

/* Timestamps anywhere in int64, spanning up to 2^64 - 1 s: the bin edges are exact
 * (tmin + floor(span t / T), no overflow), increasing, and every rating lies in its bin. */
static void test_extreme_timestamps(void)
{
    const int64_t lo[4] = {INT64_MIN, INT64_MIN, -5, INT64_MAX - 1000};
    const int64_t hi[4] = {INT64_MAX, 0, INT64_MAX, INT64_MAX};
    for (int c = 0; c < 4; c++) {
        ng_ratings r;
        make_line(&r, 40, 1);
        /* the extremes, then points spread between them */
        for (size_t k = 0; k < 40; k++) {
            uint64_t span = (uint64_t)hi[c] - (uint64_t)lo[c];
            uint64_t off = span / 39 * k;
            r.timestamp[k] = k == 39 ? hi[c] : (int64_t)((uint64_t)lo[c] + off);
        }
        for (int binning = 0; binning < 2; binning++) {
            ng_dmf_prep_params p = ng_dmf_prep_default_params();
            p.bins = 7;
            p.binning = (ng_dmf_binning)binning;
            ng_dmf_data D;
            NG_CHECK_MSG(ng_dmf_prepare(&r, &p, &D) == NG_OK, "case %d: %s", c, ng_last_error());
            if (D.T != 7) continue;
            NG_CHECK(D.bin_start[0] == lo[c] && D.bin_start[7] == hi[c]);
            int inc = 1;
            for (size_t t = 0; t < 7; t++) inc &= D.bin_start[t] < D.bin_start[t + 1];
            NG_CHECK_MSG(inc, "case %d, binning %d: bin edges not increasing", c, binning);
            if (binning == NG_DMF_BIN_DURATION) {
                /* edge t = lo + floor(span t / 7), in 128-bit-free exact arithmetic:
                 * span = 7 q + r */
                uint64_t span = (uint64_t)hi[c] - (uint64_t)lo[c], q = span / 7, rr = span % 7;
                for (size_t t = 0; t < 7; t++) {
                    uint64_t off = q * t + rr * t / 7;
                    NG_CHECK_MSG((uint64_t)D.bin_start[t] - (uint64_t)lo[c] == off, "case %d: edge %zu", c, t);
                }
            }
            size_t total = 0;
            for (size_t t = 0; t < 7; t++) total += D.bin_count[t];
            NG_CHECK(total == 40 - D.n_discarded);
            for (int s = 0; s < 3; s++)
                for (size_t k = 0; k < D.split[s].n; k++) NG_CHECK(D.split[s].t[k] < 7);
            ng_dmf_data_free(&D);
        }
        ng_ratings_free(&r);
    }
    /* through the reader: the extreme values as text */
    char *path = ng_test_path("dmf_extreme_ts.csv");
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "userId,movieId,rating,timestamp\n");
        for (int k = 0; k < 20; k++)
            fprintf(f, "%d,%d,%d,%s\n", k % 3, k % 4, 1 + k % 5,
                    k == 0 ? "-9223372036854775808" : k == 1 ? "9223372036854775807" : "0");
        fclose(f);
    }
    ng_ratings r;
    NG_CHECK_MSG(ng_ratings_read(path, &r) == NG_OK, "%s", ng_last_error());
    ng_dmf_prep_params p = ng_dmf_prep_default_params();
    p.bins = 100;
    ng_dmf_data D;
    NG_CHECK_MSG(ng_dmf_prepare(&r, &p, &D) == NG_OK, "%s", ng_last_error());
    if (D.T == 100) {
        NG_CHECK(D.bin_start[0] == INT64_MIN && D.bin_start[100] == INT64_MAX);
        NG_CHECK(D.bin_start[50] == -1); /* INT64_MIN + floor((2^64 - 1) / 2) */
        NG_CHECK(D.n_empty_bins == 97);
        ng_dmf_data_free(&D);
    }
    ng_ratings_free(&r);
    free(path);
}

static void test_synth_roundtrip(void)
{
    ng_synth_ratings_params sp = ng_synth_ratings_default_params();
    sp.n_users = 500, sp.n_items = 300, sp.n_ratings = 50000, sp.days = 365;
    char *path = ng_test_path("dmf_synth.csv");
    remove(path);
    NG_CHECK(ng_synth_ratings_write(path, &sp) == NG_OK);
    ng_ratings a, b, c;
    NG_CHECK(ng_ratings_read(path, &a) == NG_OK);
    NG_CHECK(ng_synth_ratings(&sp, &b) == NG_OK);
    NG_CHECK(a.n == 50000 && b.n == 50000);
    NG_CHECK(a.n_users == b.n_users && a.n_items == b.n_items);
    NG_CHECK(a.n_users > 450 && a.n_items > 250);
    int same = a.n == b.n;
    for (size_t k = 0; same && k < a.n; k++)
        same = a.user[k] == b.user[k] && a.item[k] == b.item[k] &&
               a.rating[k] == b.rating[k] && a.timestamp[k] == b.timestamp[k] &&
               a.user_ids[a.user[k]] == b.user_ids[b.user[k]] &&
               a.item_ids[a.item[k]] == b.item_ids[b.item[k]];
    NG_CHECK(same);
    /* half stars in [0.5, 5], times inside [start, start + days), a realistic spread */
    int ok = 1;
    double mean = 0;
    size_t hist[11] = {0};
    for (size_t k = 0; k < b.n; k++) {
        float v = b.rating[k];
        ok &= v >= 0.5f && v <= 5.0f && v * 2 == floorf(v * 2);
        ok &= b.timestamp[k] >= sp.start_time && b.timestamp[k] < sp.start_time + 365 * 86400;
        mean += v;
        hist[(int)(v * 2)]++;
    }
    mean /= (double)b.n;
    NG_CHECK(ok);
    NG_CHECK(mean > 3.0 && mean < 4.0);
    NG_CHECK(hist[7] > 1000 && hist[8] > 1000 && hist[9] > 1000); /* 3.5, 4, 4.5 common */
    /* same seed: same data; other seed: other data */
    ng_synth_ratings_params sq = sp;
    sq.seed = 9;
    NG_CHECK(ng_synth_ratings(&sq, &c) == NG_OK);
    NG_CHECK(memcmp(b.rating, c.rating, 1000 * sizeof(float)) != 0);
    ng_synth_ratings_free(&c);
    /* whole stars */
    sq.half_stars = 0;
    NG_CHECK(ng_synth_ratings(&sq, &c) == NG_OK);
    ok = 1;
    for (size_t k = 0; k < c.n; k++) ok &= c.rating[k] >= 1 && c.rating[k] <= 5 && c.rating[k] == floorf(c.rating[k]);
    NG_CHECK(ok);
    ng_synth_ratings_free(&c);
    /* preprocesses cleanly with the paper's settings */
    ng_dmf_data D;
    ng_dmf_prep_params p = ng_dmf_prep_default_params();
    NG_CHECK(ng_dmf_prepare(&a, &p, &D) == NG_OK);
    NG_CHECK(D.T == 100 && D.n_empty_bins == 0);
    NG_CHECK(D.n_discarded > 0 && D.n_discarded < a.n / 3);
    ng_dmf_data_free(&D);
    ng_ratings_free(&a);
    ng_synth_ratings_free(&b);
    /* bad parameters */
    sq.dim = 0;
    NG_CHECK(ng_synth_ratings(&sq, &c) == NG_EINVAL);
    NG_CHECK(ng_synth_ratings_write(path, &sq) == NG_EINVAL);
    remove(path);
    free(path);
}

int main(void)
{
    NG_RUN(test_median_binarise);
    NG_RUN(test_binning_duration);
    NG_RUN(test_binning_count);
    NG_RUN(test_split);
    NG_RUN(test_empty_bins_warn);
    NG_RUN(test_errors);
    NG_RUN(test_extreme_timestamps);
    NG_RUN(test_synth_roundtrip);
    return ng_test_summary();
}
