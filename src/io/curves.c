/* curves.c - CURVES-like images (spec kfac.md §5): the smooth curve through three random
 * points, drawn with a soft pen, as a stand-in for Hinton & Salakhutdinov's CURVES set.
 *
 * Three points P0, P1, P2 uniform in the image (a margin of 10% kept free) define the
 * quadratic Bezier B(t) with B(0) = P0, B(t1) = P1, B(1) = P2, t1 the chord-length
 * parameter of P1 (clamped to [1/4, 3/4]), so the images lie on a 6-dimensional manifold. The pen is Gaussian: a pixel at distance
 * r from the curve gets exp(-r^2 / (2 sigma^2)), sigma = 0.9 px at 28 x 28 (scaled with
 * the size); the distance is taken to dense samples of the curve (spacing <= 0.2 px).
 * Each image has its own RNG stream derived from (seed, stream, index), so the set is
 * identical for any thread count and the train set does not depend on the test size. */
#include "net_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NG_CURVES_MAX_SIZE 1024

static uint64_t fmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static void render_one(size_t S, ng_rng *r, uint8_t *img, double *d2)
{
    const double lo = 0.1 * (double)(S - 1), hi = 0.9 * (double)(S - 1);
    double p[3][2];
    /* resample degenerate triples (all three points nearly together): the curve would be
     * a dot, not a curve */
    for (int tries = 0; tries < 100; tries++) {
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < 2; c++) p[i][c] = lo + (hi - lo) * ng_rng_uniform(r);
        double span = hypot(p[1][0] - p[0][0], p[1][1] - p[0][1]) +
                      hypot(p[2][0] - p[1][0], p[2][1] - p[1][1]);
        if (span >= 0.25 * (double)S) break;
    }
    /* chord-length parameter of P1 (the uniform 1/2 folds the curve back on itself when
     * P1 is far from the middle), kept away from the ends so the control point stays near */
    double l1 = hypot(p[1][0] - p[0][0], p[1][1] - p[0][1]), l2 = hypot(p[2][0] - p[1][0], p[2][1] - p[1][1]);
    double t1 = l1 + l2 > 0 ? l1 / (l1 + l2) : 0.5;
    t1 = fmin(fmax(t1, 0.25), 0.75);
    double c[2];
    for (int k = 0; k < 2; k++)
        c[k] = (p[1][k] - (1 - t1) * (1 - t1) * p[0][k] - t1 * t1 * p[2][k]) / (2.0 * t1 * (1 - t1));
    double len = hypot(c[0] - p[0][0], c[1] - p[0][1]) + hypot(p[2][0] - c[0], p[2][1] - c[1]);
    size_t ns = (size_t)ceil(len / 0.2) + 2;
    const double sigma = 0.9 * (double)S / 28.0;
    const double inv2s2 = 1.0 / (2.0 * sigma * sigma);
    const int rad = (int)ceil(3.0 * sigma);
    /* max over the samples of exp(-r^2 / 2 sigma^2) = exp of the smallest r^2: keep the
     * nearest squared distance per pixel, one exp per pixel at the end */
    const double far = (double)(rad + 1) * (rad + 1);
    for (size_t q = 0; q < S * S; q++) d2[q] = far;
    for (size_t k = 0; k < ns; k++) {
        double t = (double)k / (double)(ns - 1), u = 1.0 - t;
        double x = u * u * p[0][0] + 2.0 * u * t * c[0] + t * t * p[2][0];
        double y = u * u * p[0][1] + 2.0 * u * t * c[1] + t * t * p[2][1];
        int cx = (int)lround(x), cy = (int)lround(y);
        int y0 = cy - rad < 0 ? 0 : cy - rad, y1 = cy + rad >= (int)S ? (int)S - 1 : cy + rad;
        int x0 = cx - rad < 0 ? 0 : cx - rad, x1 = cx + rad >= (int)S ? (int)S - 1 : cx + rad;
        for (int yy = y0; yy <= y1; yy++) {
            double dy = yy - y;
            double *row = d2 + (size_t)yy * S;
            for (int xx = x0; xx <= x1; xx++) {
                double dx = xx - x, r2 = dx * dx + dy * dy;
                row[xx] = r2 < row[xx] ? r2 : row[xx];
            }
        }
    }
    for (size_t q = 0; q < S * S; q++)
        img[q] = d2[q] >= far ? 0 : (uint8_t)lround(255.0 * exp(-d2[q] * inv2s2));
}

ng_status ng_curves_generate(size_t n, size_t size, uint64_t seed, uint64_t stream, uint8_t *out)
{
    if (!out && n) return ngi_fail(NG_EINVAL, "ng_curves_generate: NULL output");
    if (size < 8 || size > NG_CURVES_MAX_SIZE)
        return ngi_fail(NG_EINVAL, "curves: image size %zu: expected 8..%d", size, NG_CURVES_MAX_SIZE);
    const uint64_t base = fmix64(fmix64(seed) ^ stream);
    long nn = (long)n;
    int failed = 0;
#pragma omp parallel
    {
        double *d2 = malloc(size * size * sizeof(double)); /* per-thread scratch */
        if (!d2) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 64)
        for (long i = 0; i < nn; i++) {
            if (!d2) continue;
            ng_rng r;
            ng_rng_seed(&r, fmix64(base ^ (uint64_t)i));
            render_one(size, &r, out + (size_t)i * size * size, d2);
        }
        free(d2);
    }
    if (failed) return ngi_fail(NG_ENOMEM, "curves: out of memory for a %zux%zu scratch image", size, size);
    return NG_OK;
}

static float *u8_to_float(const uint8_t *u, size_t n)
{
    float *f = malloc(n ? n * sizeof(float) : 1);
    if (!f) {
        ngi_fail(NG_ENOMEM, "curves: out of memory (%zu floats)", n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) f[i] = (float)u[i] / 255.0f;
    return f;
}

ng_status ng_curves_dataset(size_t n_train, size_t n_test, size_t size, uint64_t seed, ng_dataset *out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_curves_dataset: NULL output");
    memset(out, 0, sizeof *out);
    if (n_train < 1) return ngi_fail(NG_EINVAL, "curves: n_train 0: expected >= 1");
    if (size < 8 || size > NG_CURVES_MAX_SIZE)
        return ngi_fail(NG_EINVAL, "curves: image size %zu: expected 8..%d", size, NG_CURVES_MAX_SIZE);
    const size_t dim = size * size;
    size_t nmax = n_train > n_test ? n_train : n_test;
    uint8_t *u = malloc(nmax * dim);
    if (!u) return ngi_fail(NG_ENOMEM, "curves: out of memory (%zu images)", nmax);
    ng_dataset d;
    memset(&d, 0, sizeof d);
    d.n_train = n_train;
    d.n_test = n_test;
    d.dim = dim;
    ng_status st = ng_curves_generate(n_train, size, seed, 0, u);
    if (!st && !(d.train_x = u8_to_float(u, n_train * dim))) st = NG_ENOMEM;
    if (!st) st = ng_curves_generate(n_test, size, seed, 1, u);
    if (!st && !(d.test_x = u8_to_float(u, n_test * dim))) st = NG_ENOMEM;
    free(u);
    if (st) {
        free(d.train_x);
        free(d.test_x);
        return st;
    }
    *out = d;
    return NG_OK;
}

static ng_status write_set(const char *dir, const char *stem, size_t n, size_t size, uint64_t seed,
                           uint64_t stream)
{
    uint8_t *img = malloc(n * size * size), *lab = calloc(n, 1);
    if (!img || !lab) {
        free(img);
        free(lab);
        return ngi_fail(NG_ENOMEM, "curves: out of memory (%zu images)", n);
    }
    ng_status st = ng_curves_generate(n, size, seed, stream, img);
    char *ip = ngi_asprintf("%s/%s-images-idx3-ubyte.gz", dir, stem);
    char *lp = ngi_asprintf("%s/%s-labels-idx1-ubyte.gz", dir, stem);
    if (!st && (!ip || !lp)) st = ngi_fail(NG_ENOMEM, "curves: out of memory");
    if (!st) {
        ng_tensor t;
        memset(&t, 0, sizeof t);
        t.dtype = NG_U8;
        t.ndim = 3;
        t.shape[0] = n;
        t.shape[1] = size;
        t.shape[2] = size;
        t.data = img;
        st = ng_idx_write(ip, &t);
        if (!st) {
            memset(&t, 0, sizeof t);
            t.dtype = NG_U8;
            t.ndim = 1;
            t.shape[0] = n;
            t.data = lab;
            st = ng_idx_write(lp, &t);
        }
    }
    free(ip);
    free(lp);
    free(img);
    free(lab);
    return st;
}

ng_status ng_curves_write_dir(const char *dir, size_t n_train, size_t n_test, size_t size, uint64_t seed)
{
    if (!dir || !*dir) return ngi_fail(NG_EINVAL, "ng_curves_write_dir: empty directory name");
    if (n_train < 1 || n_test < 1)
        return ngi_fail(NG_EINVAL, "curves: %zu train / %zu test images: expected >= 1 of each", n_train,
                       n_test);
    if (size < 8 || size > NG_CURVES_MAX_SIZE)
        return ngi_fail(NG_EINVAL, "curves: image size %zu: expected 8..%d", size, NG_CURVES_MAX_SIZE);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return ngi_fail(NG_EIO, "%s: cannot create directory: %s", dir, strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ngi_fail(NG_EIO, "%s: exists and is not a directory", dir);
    ng_status st = write_set(dir, "train", n_train, size, seed, 0);
    if (!st) st = write_set(dir, "t10k", n_test, size, seed, 1);
    return st;
}
