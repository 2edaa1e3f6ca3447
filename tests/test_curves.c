/* test_curves.c - the CURVES-like generator, its IDX directory round trip, the
 * 'natgrad data curves' command and ng_data_source_load on small generated files. */
#include "ngtest.h"
#include "natgrad.h"

#include <omp.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void test_deterministic(void)
{
    const size_t n = 64, S = 28, D = S * S;
    uint8_t *a = malloc(n * D), *b = malloc(n * D), *c = malloc(n * D), *e = malloc(n * D);
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    NG_CHECK(ng_curves_generate(n, S, 42, 0, a) == NG_OK);
    omp_set_num_threads(nt > 1 ? nt : 2);
    NG_CHECK(ng_curves_generate(n, S, 42, 0, b) == NG_OK);
    omp_set_num_threads(nt);
    NG_CHECK(memcmp(a, b, n * D) == 0); /* same seed, any thread count: same images */
    NG_CHECK(ng_curves_generate(n, S, 43, 0, c) == NG_OK);
    NG_CHECK(memcmp(a, c, n * D) != 0);
    NG_CHECK(ng_curves_generate(n, S, 42, 1, e) == NG_OK);
    NG_CHECK(memcmp(a, e, n * D) != 0);
    /* image i does not depend on how many are generated */
    NG_CHECK(ng_curves_generate(10, S, 42, 0, c) == NG_OK);
    NG_CHECK(memcmp(a, c, 10 * D) == 0);
    NG_CHECK(ng_curves_generate(4, 4, 42, 0, c) == NG_EINVAL);
    free(a);
    free(b);
    free(c);
    free(e);
}

static void test_images_look_like_curves(void)
{
    ng_dataset d;
    NG_CHECK(ng_curves_dataset(500, 100, 28, 7, &d) == NG_OK);
    NG_CHECK(d.n_train == 500 && d.n_test == 100 && d.dim == 784);
    NG_CHECK(d.train_y == NULL);
    if (!d.train_x) return;
    int in_range = 1, all_have_ink = 1, thin = 1;
    double total = 0, minmax = 1;
    for (size_t i = 0; i < d.n_train; i++) {
        const float *x = d.train_x + i * 784;
        size_t ink = 0;
        double mx = 0;
        for (size_t j = 0; j < 784; j++) {
            in_range &= x[j] >= 0.0f && x[j] <= 1.0f;
            ink += x[j] > 0.5f;
            mx = fmax(mx, x[j]);
            total += x[j];
        }
        all_have_ink &= ink >= 8;   /* a curve, not a dot or an empty frame */
        thin &= ink <= 250;         /* a pen stroke, not a filled blob */
        minmax = fmin(minmax, mx);
    }
    double mean = total / (500.0 * 784.0);
    NG_CHECK(in_range);
    NG_CHECK(all_have_ink);
    NG_CHECK(thin);
    NG_CHECK_MSG(minmax >= 0.7, "faintest image peaks at %.3f", minmax);
    NG_CHECK_MSG(mean > 0.03 && mean < 0.25, "mean pixel %.4f", mean);
    /* the images vary: the pixelwise variance over the set is substantial */
    double var = 0;
    for (size_t j = 0; j < 784; j++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < 500; i++) {
            double v = d.train_x[i * 784 + j];
            s += v;
            s2 += v * v;
        }
        var += s2 / 500 - (s / 500) * (s / 500);
    }
    NG_CHECK(var / 784 > 0.01);
    ng_dataset_free(&d);
}

static char *tmp_dir(const char *name)
{
    char *p = ng_test_path(name);
    mkdir(p, 0777);
    return p;
}

static void test_idx_dir_round_trip(void)
{
    char *dir = ng_test_path("curves_rt");
    NG_CHECK(ng_curves_write_dir(dir, 40, 12, 28, 3) == NG_OK);
    ng_dataset a, b, c;
    NG_CHECK(ng_dataset_load_idx_dir(dir, &a) == NG_OK);
    NG_CHECK(ng_curves_dataset(40, 12, 28, 3, &b) == NG_OK);
    NG_CHECK(a.n_train == 40 && a.n_test == 12 && a.dim == 784);
    if (a.train_x && b.train_x) {
        NG_CHECK(memcmp(a.train_x, b.train_x, 40 * 784 * sizeof(float)) == 0);
        NG_CHECK(memcmp(a.test_x, b.test_x, 12 * 784 * sizeof(float)) == 0);
    }
    int zeros = a.train_y != NULL && a.test_y != NULL;
    for (size_t i = 0; zeros && i < 40; i++) zeros &= a.train_y[i] == 0;
    for (size_t i = 0; zeros && i < 12; i++) zeros &= a.test_y[i] == 0;
    NG_CHECK(zeros);
    NG_CHECK(ng_data_source_load(dir, &c) == NG_OK);
    NG_CHECK(c.n_train == 40 && c.n_test == 12 && c.train_x &&
             memcmp(c.train_x, b.train_x, 40 * 784 * sizeof(float)) == 0);
    ng_dataset_free(&a);
    ng_dataset_free(&b);
    ng_dataset_free(&c);
    /* a regular file where the directory should be */
    char *file = ng_test_path("curves_not_a_dir");
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    NG_CHECK(ng_curves_write_dir(file, 4, 2, 28, 0) == NG_EIO);
    NG_CHECK(strstr(ng_last_error(), "curves_not_a_dir") != NULL);
    free(file);
    free(dir);
}

static void test_source_curves_builtin(void)
{
    ng_dataset d;
    NG_CHECK(ng_data_source_load("curves", &d) == NG_OK);
    NG_CHECK(d.n_train == 20000 && d.n_test == 10000 && d.dim == 784);
    ng_dataset s;
    NG_CHECK(ng_curves_dataset(3, 3, 28, 0, &s) == NG_OK);
    if (d.train_x && s.train_x) {
        NG_CHECK(memcmp(d.train_x, s.train_x, 3 * 784 * sizeof(float)) == 0);
        NG_CHECK(memcmp(d.test_x, s.test_x, 3 * 784 * sizeof(float)) == 0);
    }
    ng_dataset_free(&d);
    ng_dataset_free(&s);
}

static char *write_npy(const char *name, ng_dtype t, size_t rows, size_t cols, const void *data)
{
    char *p = ng_test_path(name);
    ng_tensor x;
    memset(&x, 0, sizeof x);
    x.dtype = t;
    x.ndim = 2;
    x.shape[0] = rows;
    x.shape[1] = cols;
    x.data = (void *)data;
    if (ng_npy_write(p, &x) != NG_OK) fprintf(stderr, "npy write: %s\n", ng_last_error());
    return p;
}

static void test_source_npy(void)
{
    uint8_t u[12 * 5];
    for (int i = 0; i < 60; i++) u[i] = (uint8_t)(i * 4);
    char *pu = write_npy("src_u8.npy", NG_U8, 12, 5, u);
    ng_dataset d;
    NG_CHECK(ng_data_source_load(pu, &d) == NG_OK);
    NG_CHECK(d.n_train == 10 && d.n_test == 2 && d.dim == 5);
    if (d.train_x && d.test_x) {
        NG_CHECK_NEAR(d.train_x[7], 28.0 / 255.0, 1e-7);
        NG_CHECK_NEAR(d.test_x[0], 200.0 / 255.0, 1e-7); /* row 10 is the first test row */
        NG_CHECK_NEAR(d.test_x[9], 236.0 / 255.0, 1e-7);
    }
    ng_dataset_free(&d);

    float fa[7 * 3], fb[2 * 3], fc[2 * 4];
    for (int i = 0; i < 21; i++) fa[i] = 0.01f * (float)i;
    for (int i = 0; i < 6; i++) fb[i] = 0.5f;
    for (int i = 0; i < 8; i++) fc[i] = 0.25f;
    char *pa = write_npy("src_a.npy", NG_F32, 7, 3, fa);
    char *pb = write_npy("src_b.npy", NG_F32, 2, 3, fb);
    char *pc = write_npy("src_c.npy", NG_F32, 2, 4, fc);
    char *pair = malloc(strlen(pa) + strlen(pb) + 2);
    sprintf(pair, "%s,%s", pa, pb);
    NG_CHECK(ng_data_source_load(pair, &d) == NG_OK);
    NG_CHECK(d.n_train == 7 && d.n_test == 2 && d.dim == 3);
    if (d.train_x && d.test_x) {
        NG_CHECK(d.train_x[20] == fa[20]);
        NG_CHECK(d.test_x[5] == 0.5f);
    }
    ng_dataset_free(&d);
    sprintf(pair, "%s,%s", pa, pc);
    NG_CHECK(ng_data_source_load(pair, &d) == NG_EMISMATCH);
    NG_CHECK(strstr(ng_last_error(), "src_c.npy") != NULL);
    free(pair);

    /* too few rows to split, NaN, an integer matrix, missing and odd names */
    float small[5 * 2] = {0};
    char *ps = write_npy("src_small.npy", NG_F32, 5, 2, small);
    NG_CHECK(ng_data_source_load(ps, &d) == NG_EFORMAT);
    NG_CHECK(strstr(ng_last_error(), "src_small.npy") && strstr(ng_last_error(), "at least 6"));
    /* ng_npy_write refuses NaN, so this file is written by hand (format 1.0, <f4, 6 x 2) */
    float nanv[6 * 2] = {0};
    nanv[7] = NAN;
    char *pn = ng_test_path("src_nan.npy");
    FILE *f = fopen(pn, "wb");
    if (f) {
        char hdr[118];
        memset(hdr, ' ', sizeof hdr);
        int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 2), }");
        hdr[n] = ' ';
        hdr[117] = '\n';
        unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
        fwrite(pre, 1, 10, f);
        fwrite(hdr, 1, 118, f);
        fwrite(nanv, sizeof(float), 12, f);
        fclose(f);
    }
    NG_CHECK(ng_data_source_load(pn, &d) == NG_EFORMAT);
    NG_CHECK(strstr(ng_last_error(), "src_nan.npy") && strstr(ng_last_error(), "at [3, "));
    int32_t iv[6 * 2] = {0};
    char *pi = write_npy("src_i32.npy", NG_I32, 6, 2, iv);
    NG_CHECK(ng_data_source_load(pi, &d) == NG_EUNSUPPORTED);
    NG_CHECK(strstr(ng_last_error(), "src_i32.npy") != NULL);
    NG_CHECK(ng_data_source_load("/nonexistent/x.npy", &d) != NG_OK);
    NG_CHECK(strstr(ng_last_error(), "/nonexistent/x.npy") != NULL);
    NG_CHECK(ng_data_source_load("no-such-source", &d) == NG_EIO);
    NG_CHECK(strstr(ng_last_error(), "no-such-source") != NULL);
    NG_CHECK(ng_data_source_load("", &d) == NG_EINVAL);
    NG_CHECK(ng_data_source_load("a.npy,", &d) == NG_EINVAL);
    char *empty = tmp_dir("src_empty_dir");
    NG_CHECK(ng_data_source_load(empty, &d) != NG_OK);
    NG_CHECK(strstr(ng_last_error(), "src_empty_dir") != NULL);
    NG_CHECK(d.train_x == NULL && d.n_train == 0);
    free(empty);
    free(pu);
    free(pa);
    free(pb);
    free(pc);
    free(ps);
    free(pn);
    free(pi);
}

/* Named data sets on a machine are the CLI's business: the library only knows "curves",
 * so another bare name is a missing file, named in the message. */
static void test_source_named_sets(void)
{
    ng_dataset d;
    ng_status st = ng_data_source_load("fashion-mnist", &d);
    NG_CHECK(st == NG_EIO && strstr(ng_last_error(), "'fashion-mnist'") != NULL);
    NG_CHECK(d.train_x == NULL && d.n_train == 0);
}

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int file_has(const char *path, const char *s)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, s) != NULL;
}

static void test_cli(void)
{
    const char *bin = getenv("NG_BIN");
    NG_CHECK_MSG(bin != NULL, "NG_BIN is not set (run through ctest)");
    if (!bin) return;
    char *out = ng_test_path("curves_cli.out"), *dir = ng_test_path("curves_cli");
    NG_CHECK(sh("\"%s\" data curves --help > \"%s\" 2>&1", bin, out) == 0);
    NG_CHECK(file_has(out, "--n-test") && file_has(out, "[10000]") && file_has(out, "--seed") &&
             file_has(out, "--size") && file_has(out, "[28]"));
    NG_CHECK(sh("\"%s\" data curves --out x --n abc > \"%s\" 2>&1", bin, out) == 2);
    NG_CHECK(file_has(out, "--n") && file_has(out, "abc"));
    NG_CHECK(sh("\"%s\" data curves --out x --size 3 > \"%s\" 2>&1", bin, out) == 2);
    NG_CHECK(sh("\"%s\" data curves --out x --bogus > \"%s\" 2>&1", bin, out) == 2);
    NG_CHECK(file_has(out, "bogus"));
    NG_CHECK(sh("\"%s\" data curves --n 5 > \"%s\" 2>&1", bin, out) == 2); /* no --out */
    NG_CHECK(sh("\"%s\" data curves --n 5 --out /proc/no/such/dir > \"%s\" 2>&1", bin, out) == 1);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "\"%s\" data curves --n 30 --n-test 10 --seed 5 --out \"%s\" 2>/dev/null",
             bin, dir);
    NG_CHECK(system(cmd) == 0);
    ng_dataset a, b;
    NG_CHECK(ng_dataset_load_idx_dir(dir, &a) == NG_OK);
    NG_CHECK(ng_curves_dataset(30, 10, 28, 5, &b) == NG_OK);
    NG_CHECK(a.n_train == 30 && a.n_test == 10 && a.train_x && b.train_x &&
             memcmp(a.train_x, b.train_x, 30 * 784 * sizeof(float)) == 0 &&
             memcmp(a.test_x, b.test_x, 10 * 784 * sizeof(float)) == 0);
    ng_dataset_free(&a);
    ng_dataset_free(&b);
    free(out);
    free(dir);
}

int main(void)
{
    NG_RUN(test_deterministic);
    NG_RUN(test_images_look_like_curves);
    NG_RUN(test_idx_dir_round_trip);
    NG_RUN(test_source_curves_builtin);
    NG_RUN(test_source_npy);
    NG_RUN(test_source_named_sets);
    NG_RUN(test_cli);
    return ng_test_summary();
}
