/* test_vec.c - the parameter-vector passes of src/vec.c against plain double loops: dot
 * products, the gradient finish and the update's combination, on lengths that leave
 * partial lanes and empty blocks, the same bits for 1 and 3 threads, and Inf/NaN caught
 * wherever it sits. */
#include "internal.h"
#include "ngtest.h"

#include <omp.h>

static float *rand_vec(size_t n, uint64_t seed)
{
    float *v = malloc((n ? n : 1) * sizeof(float));
    ng_rng r;
    ng_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) v[i] = (float)ng_rng_normal(&r);
    return v;
}

static double ref_dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

/* lengths: empty, shorter than one lane, not a multiple of the lanes or the 64 blocks,
 * and one the size of a small net */
static const size_t k_lens[] = {0, 1, 7, 9, 63, 64, 65, 513, 1000003};

static void test_dots_reference(void)
{
    for (size_t t = 0; t < sizeof k_lens / sizeof *k_lens; t++) {
        size_t n = k_lens[t];
        float *a = rand_vec(n, 1 + t), *b = rand_vec(n, 100 + t), *c = rand_vec(n, 200 + t);
        const float *bs[3] = {a, b, c};
        for (int nb = 1; nb <= 3; nb++) {
            double out[3] = {NAN, NAN, NAN};
            ngi_vec_dots(a, bs, nb, n, out);
            for (int j = 0; j < nb; j++) {
                double want = ref_dot(a, bs[j], n), tol = 1e-12 * (1.0 + (double)n);
                NG_CHECK_MSG(fabs(out[j] - want) <= tol, "n %zu nb %d j %d: %.17g vs %.17g", n, nb, j,
                             out[j], want);
            }
            for (int j = nb; j < 3; j++) NG_CHECK(isnan(out[j])); /* untouched */
        }
        free(a);
        free(b);
        free(c);
    }
}

static void test_grad_finish_reference(void)
{
    const float eta = 0.01f;
    for (size_t t = 0; t < sizeof k_lens / sizeof *k_lens; t++) {
        size_t n = k_lens[t];
        float *g = rand_vec(n, 300 + t), *th = rand_vec(n, 400 + t), *d0 = rand_vec(n, 500 + t);
        float *g2 = rand_vec(n, 300 + t), *want = malloc((n ? n : 1) * sizeof(float));
        for (size_t i = 0; i < n; i++) want[i] = g[i] + eta * th[i];
        double out[3];
        NG_CHECK(ngi_vec_grad_finish(g, th, eta, d0, n, out) == 1);
        NG_CHECK(n == 0 || memcmp(g, want, n * sizeof(float)) == 0);
        double tol = 1e-12 * (1.0 + (double)n);
        NG_CHECK_NEAR(out[0], ref_dot(th, th, n), tol);
        NG_CHECK_NEAR(out[1], ref_dot(want, d0, n), tol);
        NG_CHECK_NEAR(out[2], ref_dot(d0, d0, n), tol);
        /* without d0: the same gradient, theta . theta, and zeros */
        NG_CHECK(ngi_vec_grad_finish(g2, th, eta, NULL, n, out) == 1);
        NG_CHECK(n == 0 || memcmp(g2, want, n * sizeof(float)) == 0);
        NG_CHECK_NEAR(out[0], ref_dot(th, th, n), tol);
        NG_CHECK(out[1] == 0.0 && out[2] == 0.0);
        free(g);
        free(g2);
        free(th);
        free(d0);
        free(want);
    }
}

/* Inf or NaN in the gradient, in theta (eta theta), at the start, in a lane tail and at
 * the end: reported, whatever else is finite */
static void test_grad_finish_nonfinite(void)
{
    size_t n = 1000003;
    size_t bs = (n + 63) / 64; /* 15626: each block ends in a 2-element lane tail */
    size_t where[] = {0, 5, bs - 1, 5 * bs, n - 1};
    float bad[] = {INFINITY, -INFINITY, NAN};
    double out[3];
    for (size_t w = 0; w < sizeof where / sizeof *where; w++)
        for (size_t b = 0; b < 3; b++)
            for (int in_theta = 0; in_theta < 2; in_theta++) {
                float *g = rand_vec(n, 7), *th = rand_vec(n, 8);
                (in_theta ? th : g)[where[w]] = bad[b];
                NG_CHECK_MSG(ngi_vec_grad_finish(g, th, 0.5f, NULL, n, out) == 0, "at %zu value %g theta %d",
                             where[w], (double)bad[b], in_theta);
                free(g);
                free(th);
            }
    /* a large but finite gradient is finite */
    float *g = rand_vec(n, 9), *th = rand_vec(n, 10);
    g[3] = 3e38f;
    NG_CHECK(ngi_vec_grad_finish(g, th, 0.0f, NULL, n, out) == 1);
    free(g);
    free(th);
}

/* out = a x + b y against the same formula in a plain loop; Inf or NaN anywhere reported */
static void test_combine(void)
{
    for (size_t t = 0; t < sizeof k_lens / sizeof *k_lens; t++) {
        size_t n = k_lens[t];
        float *x = rand_vec(n, 600 + t), *y = rand_vec(n, 700 + t), *out = rand_vec(n, 800 + t);
        NG_CHECK(ngi_vec_combine(out, 0.75, x, -1.5, y, n) == 1);
        int same = 1;
        for (size_t i = 0; i < n; i++) same &= out[i] == (float)(0.75 * (double)x[i] - 1.5 * (double)y[i]);
        NG_CHECK_MSG(same, "n %zu", n);
        if (n) {
            x[n / 2] = NAN;
            NG_CHECK(ngi_vec_combine(out, 0.75, x, -1.5, y, n) == 0);
            x[n / 2] = 1e38f; /* finite, but a x + b y overflows float */
            NG_CHECK(ngi_vec_combine(out, 10.0, x, 0.0, y, n) == 0);
        }
        free(x);
        free(y);
        free(out);
    }
}

/* fixed blocks and lanes: bit-identical sums for any thread count */
static void test_thread_invariance(void)
{
    size_t n = 1000003;
    float *a = rand_vec(n, 11), *b = rand_vec(n, 12), *c = rand_vec(n, 13);
    const float *bs[3] = {a, b, c};
    double o1[3], o3[3], f1[3], f3[3];
    int nt = omp_get_max_threads();
    float *g1 = rand_vec(n, 14), *g3 = rand_vec(n, 14);
    omp_set_num_threads(1);
    ngi_vec_dots(a, bs, 3, n, o1);
    ngi_vec_grad_finish(g1, a, 0.1f, b, n, f1);
    omp_set_num_threads(3);
    ngi_vec_dots(a, bs, 3, n, o3);
    ngi_vec_grad_finish(g3, a, 0.1f, b, n, f3);
    omp_set_num_threads(nt);
    NG_CHECK(memcmp(o1, o3, sizeof o1) == 0);
    NG_CHECK(memcmp(f1, f3, sizeof f1) == 0);
    NG_CHECK(memcmp(g1, g3, n * sizeof(float)) == 0);
    free(a);
    free(b);
    free(c);
    free(g1);
    free(g3);
}

int main(void)
{
    NG_RUN(test_dots_reference);
    NG_RUN(test_grad_finish_reference);
    NG_RUN(test_grad_finish_nonfinite);
    NG_RUN(test_combine);
    NG_RUN(test_thread_invariance);
    return ng_test_summary();
}
