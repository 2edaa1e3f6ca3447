/* test_rng.c - determinism and statistical sanity of the xoshiro256** RNG and its draws.
 * Fixed seeds; tolerances are ~5 standard errors, so a broken draw fails but a correct
 * one does not flake. */
#include "natgrad.h"
#include "ngtest.h"

#include <stdint.h>

static void test_determinism(void)
{
    ng_rng a, b, c;
    ng_rng_seed(&a, 42);
    ng_rng_seed(&b, 42);
    ng_rng_seed(&c, 43);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = ng_rng_u64(&a), y = ng_rng_u64(&b), z = ng_rng_u64(&c);
        same &= x == y;
        differ += x != z;
    }
    NG_CHECK(same);
    NG_CHECK(differ > 990);
    /* Copying the struct forks the stream, including the Box-Muller spare. */
    ng_rng_seed(&a, 7);
    (void)ng_rng_normal(&a);
    ng_rng f = a;
    NG_CHECK(ng_rng_normal(&a) == ng_rng_normal(&f));
    NG_CHECK(ng_rng_u64(&a) == ng_rng_u64(&f));
    /* Reference values of xoshiro256** seeded by splitmix64(0): the splitmix64 outputs for
     * seed 0 are the published e220a8397b1dcdaf, 6e789e6aa1b965f4, ... */
    ng_rng z;
    ng_rng_seed(&z, 0);
    NG_CHECK(z.s[0] == 0xe220a8397b1dcdafull);
    NG_CHECK(z.s[1] == 0x6e789e6aa1b965f4ull);
    NG_CHECK(z.s[2] == 0x06c45d188009454full);
    NG_CHECK(z.s[3] == 0xf88bb8a8724c81ecull);
    /* first output = rotl(s1 * 5, 7) * 9 */
    uint64_t s1 = 0x6e789e6aa1b965f4ull * 5;
    uint64_t expect = ((s1 << 7) | (s1 >> 57)) * 9;
    NG_CHECK(ng_rng_u64(&z) == expect);
}

static void test_uniform(void)
{
    ng_rng r;
    ng_rng_seed(&r, 1);
    const int n = 1000000;
    double s = 0, s2 = 0, lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        double u = ng_rng_uniform(&r);
        s += u;
        s2 += u * u;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    NG_CHECK_NEAR(mean, 0.5, 5 * sqrt(1.0 / 12 / n));
    NG_CHECK_NEAR(var, 1.0 / 12, 5 * sqrt(1.0 / 180 / n));
    NG_CHECK(lo >= 0.0 && lo < 1e-4);
    NG_CHECK(hi < 1.0 && hi > 1 - 1e-4);
}

static void test_normal(void)
{
    ng_rng r;
    ng_rng_seed(&r, 2);
    const int n = 1000000;
    double s = 0, s2 = 0, s4 = 0, s3 = 0;
    for (int i = 0; i < n; i++) {
        double x = ng_rng_normal(&r);
        s += x;
        s2 += x * x;
        s3 += x * x * x;
        s4 += x * x * x * x;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    NG_CHECK_NEAR(mean, 0.0, 5 / sqrt(n));
    NG_CHECK_NEAR(var, 1.0, 5 * sqrt(2.0 / n));
    NG_CHECK_NEAR(s3 / n, 0.0, 5 * sqrt(15.0 / n));
    NG_CHECK_NEAR(s4 / n, 3.0, 5 * sqrt(96.0 / n)); /* kurtosis of N(0,1) */

    float buf[100000];
    ng_rng_fill_normal(&r, buf, 100000, 3.0f, 0.5f);
    double fm = 0, fv = 0;
    for (int i = 0; i < 100000; i++) fm += buf[i];
    fm /= 100000;
    for (int i = 0; i < 100000; i++) fv += (buf[i] - fm) * (buf[i] - fm);
    fv /= 100000;
    NG_CHECK_NEAR(fm, 3.0, 5 * 0.5 / sqrt(100000));
    NG_CHECK_NEAR(fv, 0.25, 5 * 0.25 * sqrt(2.0 / 100000));
}

static void test_bernoulli(void)
{
    ng_rng r;
    ng_rng_seed(&r, 3);
    const double ps[] = {0.0, 0.1, 0.5, 0.93, 1.0};
    for (size_t k = 0; k < 5; k++) {
        int n = 200000, c = 0;
        for (int i = 0; i < n; i++) c += ng_rng_bernoulli(&r, ps[k]);
        double p = ps[k];
        NG_CHECK_NEAR((double)c / n, p, 5 * sqrt(p * (1 - p) / n) + 1e-12);
    }
}

static void test_categorical(void)
{
    ng_rng r;
    ng_rng_seed(&r, 4);
    const double p[6] = {1.0, 0.0, 3.0, 0.5, 2.5, 3.0}; /* unnormalised, one zero */
    const double tot = 10.0;
    long cnt[6] = {0};
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        size_t k = ng_rng_categorical(&r, p, 6);
        NG_CHECK_MSG(k < 6, "k = %zu", k);
        if (k < 6) cnt[k]++;
    }
    NG_CHECK(cnt[1] == 0);
    double chi2 = 0;
    for (int k = 0; k < 6; k++) {
        if (p[k] == 0) continue;
        double e = n * p[k] / tot;
        chi2 += (cnt[k] - e) * (cnt[k] - e) / e;
    }
    /* 4 degrees of freedom: P(chi2 > 23.5) ~ 1e-4 */
    NG_CHECK_MSG(chi2 < 23.5, "chi2 = %g", chi2);
    /* a single positive entry is always chosen */
    const double q[3] = {0, 0, 2};
    int all = 1;
    for (int i = 0; i < 1000; i++) all &= ng_rng_categorical(&r, q, 3) == 2;
    NG_CHECK(all);
}

static void test_below_unbiased(void)
{
    ng_rng r;
    ng_rng_seed(&r, 5);
    const uint64_t n = 7; /* not a power of two */
    long cnt[7] = {0};
    const int draws = 700000;
    int in_range = 1;
    for (int i = 0; i < draws; i++) {
        uint64_t v = ng_rng_below(&r, n);
        in_range &= v < n;
        if (v < n) cnt[v]++;
    }
    NG_CHECK(in_range);
    double chi2 = 0, e = (double)draws / n;
    for (int k = 0; k < 7; k++) chi2 += (cnt[k] - e) * (cnt[k] - e) / e;
    NG_CHECK_MSG(chi2 < 27.0, "chi2 = %g (6 dof)", chi2);
    /* A huge n where plain modulo would be visibly biased: n = 3 * 2^62 makes x % n land in
     * the lower third twice as often as in the upper two thirds; unbiased gives 1/3. */
    const uint64_t big = 3ull << 62;
    int low = 0;
    const int m = 300000;
    for (int i = 0; i < m; i++) low += ng_rng_below(&r, big) < (1ull << 62);
    NG_CHECK_NEAR((double)low / m, 1.0 / 3, 5 * sqrt(2.0 / 9 / m));
    NG_CHECK(ng_rng_below(&r, 1) == 0);
}

static void test_shuffle(void)
{
    ng_rng r;
    ng_rng_seed(&r, 6);
    enum { N = 5, T = 100000 };
    long pos[N][N] = {{0}};
    int perm_ok = 1;
    for (int t = 0; t < T; t++) {
        size_t idx[N];
        for (int i = 0; i < N; i++) idx[i] = (size_t)i;
        ng_rng_shuffle(&r, idx, N);
        int seen[N] = {0};
        for (int i = 0; i < N; i++) {
            if (idx[i] >= N || seen[idx[i]]) perm_ok = 0;
            else seen[idx[i]] = 1;
        }
        for (int i = 0; i < N; i++)
            if (idx[i] < N) pos[i][idx[i]]++;
    }
    NG_CHECK(perm_ok);
    double e = (double)T / N, worst = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double z = fabs(pos[i][j] - e) / sqrt(e * (1 - 1.0 / N));
            if (z > worst) worst = z;
        }
    NG_CHECK_MSG(worst < 5.0, "worst position z-score %g", worst);
    /* a large shuffle is still a permutation */
    size_t *big = malloc(100000 * sizeof *big);
    for (size_t i = 0; i < 100000; i++) big[i] = i;
    ng_rng_shuffle(&r, big, 100000);
    char *seen = calloc(100000, 1);
    int ok = 1, moved = 0;
    for (size_t i = 0; i < 100000; i++) {
        if (big[i] >= 100000 || seen[big[i]]) ok = 0;
        else seen[big[i]] = 1;
        moved += big[i] != i;
    }
    NG_CHECK(ok);
    NG_CHECK(moved > 99000);
    free(big);
    free(seen);
}

static void check_sample(ng_rng *r, size_t n, size_t k)
{
    size_t *out = malloc((k ? k : 1) * sizeof *out);
    NG_CHECK(ng_rng_sample(r, n, k, out) == NG_OK);
    char *seen = calloc(n ? n : 1, 1);
    int ok = 1;
    for (size_t i = 0; i < k; i++) {
        if (out[i] >= n || seen[out[i]]) ok = 0;
        else seen[out[i]] = 1;
    }
    NG_CHECK_MSG(ok, "n = %zu, k = %zu: not distinct or out of range", n, k);
    free(out);
    free(seen);
}

static void test_sample(void)
{
    ng_rng r;
    ng_rng_seed(&r, 8);
    check_sample(&r, 10, 10);
    check_sample(&r, 10, 0);
    check_sample(&r, 1000, 999);
    check_sample(&r, 1000000, 50); /* sparse (hash) path */
    check_sample(&r, 1000000, 200000);
    size_t tmp[4];
    NG_CHECK(ng_rng_sample(&r, 3, 4, tmp) == NG_EINVAL);
    /* uniformity for both paths: each value appears in k/n of the samples, and the first
     * position is uniform too (random order, not sorted). */
    const size_t cases[2][2] = {{20, 10}, {400, 5}}; /* dense, sparse */
    for (int c = 0; c < 2; c++) {
        size_t n = cases[c][0], k = cases[c][1];
        long *hits = calloc(n, sizeof *hits), *first = calloc(n, sizeof *first);
        const int T = 40000;
        size_t out[16];
        for (int t = 0; t < T; t++) {
            ng_rng_sample(&r, n, k, out);
            for (size_t i = 0; i < k; i++) hits[out[i]]++;
            first[out[0]]++;
        }
        double p = (double)k / n, worst = 0, worst1 = 0;
        for (size_t v = 0; v < n; v++) {
            double z = fabs(hits[v] - T * p) / sqrt(T * p * (1 - p));
            double z1 = fabs(first[v] - (double)T / n) / sqrt((double)T / n * (1 - 1.0 / n));
            if (z > worst) worst = z;
            if (z1 > worst1) worst1 = z1;
        }
        NG_CHECK_MSG(worst < 5.0, "n %zu k %zu: inclusion z %g", n, k, worst);
        NG_CHECK_MSG(worst1 < 5.0, "n %zu k %zu: first-position z %g", n, k, worst1);
        free(hits);
        free(first);
    }
}

int main(void)
{
    NG_RUN(test_determinism);
    NG_RUN(test_uniform);
    NG_RUN(test_normal);
    NG_RUN(test_bernoulli);
    NG_RUN(test_categorical);
    NG_RUN(test_below_unbiased);
    NG_RUN(test_shuffle);
    NG_RUN(test_sample);
    return ng_test_summary();
}
