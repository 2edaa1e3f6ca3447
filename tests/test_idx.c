/* test_idx.c - IDX read/write round trips (plain and gzip, every type), every malformed
 * case with the file named in the message, and IDX dataset directories. */
#include "natgrad.h"
#include "ngtest.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static void write_raw(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(p, 1, n, f);
    fclose(f);
}

static void write_gz(const char *path, const void *p, size_t n)
{
    gzFile g = gzopen(path, "wb");
    if (!g) return;
    gzwrite(g, p, (unsigned)n);
    gzclose(g);
}

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* No "<name>.tmp.*" left in dir. */
static int no_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int ok = 1;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) ok = 0;
    closedir(d);
    return ok;
}

static void fill(ng_tensor *t, ng_dtype dt, size_t a, size_t b, size_t c)
{
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->ndim = 3;
    t->shape[0] = a;
    t->shape[1] = b;
    t->shape[2] = c;
    size_t n = a * b * c;
    t->data = malloc(n * ng_dtype_size(dt));
    for (size_t i = 0; i < n; i++) {
        long v = (long)(i * 37 % 251) - 100;
        switch (dt) {
        case NG_U8: ((uint8_t *)t->data)[i] = (uint8_t)(i * 37 % 256); break;
        case NG_I8: ((int8_t *)t->data)[i] = (int8_t)v; break;
        case NG_I16: ((int16_t *)t->data)[i] = (int16_t)(v * 300); break;
        case NG_I32: ((int32_t *)t->data)[i] = (int32_t)(v * 20000001); break;
        case NG_I64: ((int64_t *)t->data)[i] = v; break;
        case NG_F32: ((float *)t->data)[i] = (float)v * 0.37f; break;
        case NG_F64: ((double *)t->data)[i] = (double)v * 1e-3 + 1e-12; break;
        }
    }
}

static void test_round_trip(void)
{
    const ng_dtype types[] = {NG_U8, NG_I8, NG_I16, NG_I32, NG_F32, NG_F64};
    for (size_t k = 0; k < 6; k++) {
        for (int gz = 0; gz < 2; gz++) {
            ng_tensor t, r;
            fill(&t, types[k], 3, 5, 7);
            char name[64];
            snprintf(name, sizeof name, "idx_rt_%zu%s", k, gz ? ".idx.gz" : ".idx");
            char *p = ng_test_path(name);
            NG_CHECK_MSG(ng_idx_write(p, &t) == NG_OK, "%s: %s", p, ng_last_error());
            /* gzip files start with 1f 8b, plain with 00 00 */
            FILE *f = fopen(p, "rb");
            unsigned char m[4] = {0};
            if (f) {
                NG_CHECK(fread(m, 1, 4, f) == 4);
                fclose(f);
            }
            if (gz) NG_CHECK(m[0] == 0x1f && m[1] == 0x8b);
            else NG_CHECK(m[0] == 0 && m[1] == 0 && m[3] == 3);
            NG_CHECK_MSG(ng_idx_read(p, &r) == NG_OK, "%s", ng_last_error());
            NG_CHECK(r.dtype == t.dtype && r.ndim == 3 && r.shape[0] == 3 && r.shape[1] == 5 &&
                     r.shape[2] == 7);
            NG_CHECK(r.data && memcmp(r.data, t.data, 105 * ng_dtype_size(t.dtype)) == 0);
            ng_tensor_free(&r);
            NG_CHECK(r.data == NULL && r.ndim == 0);
            ng_tensor_free(&t);
            free(p);
        }
    }
    /* big-endian on disk: an i32 of 0x01020304 is stored 01 02 03 04 */
    int32_t v = 0x01020304;
    ng_tensor t = {NG_I32, 1, {1}, &v};
    char *p = ng_test_path("idx_be.idx");
    NG_CHECK(ng_idx_write(p, &t) == NG_OK);
    unsigned char b[12] = {0};
    FILE *f = fopen(p, "rb");
    if (f) {
        NG_CHECK(fread(b, 1, 12, f) == 12);
        fclose(f);
    }
    const unsigned char want[12] = {0, 0, 0x0C, 1, 0, 0, 0, 1, 1, 2, 3, 4};
    NG_CHECK(memcmp(b, want, 12) == 0);
    free(p);
    /* gzip is detected from the content, not the name */
    fill(&t, NG_F32, 2, 2, 2);
    char *pg = ng_test_path("idx_gz_content.idx.gz");
    char *pn = ng_test_path("idx_gz_content_renamed.idx");
    NG_CHECK(ng_idx_write(pg, &t) == NG_OK);
    NG_CHECK(rename(pg, pn) == 0);
    ng_tensor r;
    NG_CHECK_MSG(ng_idx_read(pn, &r) == NG_OK, "%s", ng_last_error());
    NG_CHECK(r.data && memcmp(r.data, t.data, 8 * sizeof(float)) == 0);
    ng_tensor_free(&r);
    ng_tensor_free(&t);
    free(pg);
    free(pn);
    char *tmp = ng_test_path("");
    NG_CHECK(no_temp_files(tmp));
    free(tmp);
}

static void test_write_rejects(void)
{
    char *p = ng_test_path("idx_rej.idx");
    remove(p);
    float x[3] = {1, NAN, 2};
    ng_tensor t = {NG_F32, 1, {3}, x};
    NG_CHECK(ng_idx_write(p, &t) == NG_ENUMERIC);
    NG_CHECK(has(ng_last_error(), "NaN") && has(ng_last_error(), p));
    NG_CHECK(access(p, F_OK) != 0); /* nothing written */
    int64_t y[2] = {1, 2};
    ng_tensor t2 = {NG_I64, 1, {2}, y};
    NG_CHECK(ng_idx_write(p, &t2) == NG_EUNSUPPORTED);
    ng_tensor t3 = {NG_F32, 2, {0, 3}, x};
    NG_CHECK(ng_idx_write(p, &t3) == NG_EINVAL);
    NG_CHECK(access(p, F_OK) != 0);
    /* unwritable directory: error, no file */
    char *q = ng_test_path("no_such_dir/x.idx");
    ng_tensor t4 = {NG_F32, 1, {1}, x};
    NG_CHECK(ng_idx_write(q, &t4) == NG_EIO);
    NG_CHECK(has(ng_last_error(), q));
    free(p);
    free(q);
    char *tmp = ng_test_path("");
    NG_CHECK(no_temp_files(tmp));
    free(tmp);
}

/* Reads raw bytes (plain and gzip) and expects failure status s with all of subs in the
 * message, plus the path. */
static void expect_bad(const char *name, const unsigned char *b, size_t n, ng_status s,
                       const char *sub1, const char *sub2)
{
    for (int gz = 0; gz < 2; gz++) {
        char nm[96];
        snprintf(nm, sizeof nm, "%s%s", name, gz ? ".gz" : "");
        char *p = ng_test_path(nm);
        if (gz) write_gz(p, b, n);
        else write_raw(p, b, n);
        ng_tensor t;
        ng_status got = ng_idx_read(p, &t);
        const char *e = ng_last_error();
        NG_CHECK_MSG(got == s, "%s: status %d, expected %d (%s)", nm, got, s, e);
        NG_CHECK_MSG(has(e, p), "%s: message does not name the file: %s", nm, e);
        NG_CHECK_MSG(has(e, sub1) && (!sub2 || has(e, sub2)), "%s: message: %s", nm, e);
        NG_CHECK(t.data == NULL);
        free(p);
    }
}

static void test_malformed(void)
{
    char *p = ng_test_path("idx_does_not_exist");
    ng_tensor t;
    NG_CHECK(ng_idx_read(p, &t) == NG_EIO);
    NG_CHECK(has(ng_last_error(), p) && has(ng_last_error(), "cannot open"));
    free(p);

    const unsigned char magic[] = {0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 5};
    expect_bad("idx_bad_magic", magic, sizeof magic, NG_EFORMAT, "magic", "0x12340801");
    const unsigned char badtype[] = {0, 0, 0x0A, 0x01, 0, 0, 0, 1, 5};
    expect_bad("idx_bad_type", badtype, sizeof badtype, NG_EFORMAT, "magic", NULL);
    const unsigned char tiny[] = {0, 0};
    expect_bad("idx_tiny", tiny, sizeof tiny, NG_EFORMAT, "not an IDX", NULL);
    const unsigned char nodims[] = {0, 0, 0x08, 0x00, 5};
    expect_bad("idx_ndim0", nodims, sizeof nodims, NG_EFORMAT, "0 dimensions", NULL);
    const unsigned char zerodim[] = {0, 0, 0x08, 0x02, 0, 0, 0, 2, 0, 0, 0, 0};
    expect_bad("idx_zero_dim", zerodim, sizeof zerodim, NG_EFORMAT, "dimension 1 is 0", NULL);
    const unsigned char manydims[] = {0, 0, 0x08, 0x09, 0, 0, 0, 1};
    expect_bad("idx_many_dims", manydims, sizeof manydims, NG_EUNSUPPORTED, "9 dimensions", NULL);
    const unsigned char shorthdr[] = {0, 0, 0x08, 0x03, 0, 0, 0, 1, 0, 0};
    expect_bad("idx_short_header", shorthdr, sizeof shorthdr, NG_EFORMAT, "truncated IDX header", NULL);
    /* 4 x 2^32-1 x 2^32-1 x 2^32-1 f64: overflows size_t */
    const unsigned char huge[] = {0, 0, 0x0E, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    expect_bad("idx_huge", huge, sizeof huge, NG_EFORMAT, "overflow", NULL);
    /* large but representable dims, tiny payload: truncated, not an allocation */
    const unsigned char big[] = {0, 0, 0x08, 0x02, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 1};
    expect_bad("idx_big_dims", big, sizeof big, NG_EFORMAT, "truncated IDX payload", NULL);
    /* 2 x 3 i16 needs 12 bytes */
    unsigned char shortp[8 + 4 + 11] = {0, 0, 0x0B, 0x02, 0, 0, 0, 2, 0, 0, 0, 3};
    expect_bad("idx_short_payload", shortp, sizeof shortp, NG_EFORMAT, "truncated IDX payload: 11 bytes",
               "need 12");
    unsigned char longp[8 + 4 + 14] = {0, 0, 0x0B, 0x02, 0, 0, 0, 2, 0, 0, 0, 3};
    expect_bad("idx_long_payload", longp, sizeof longp, NG_EFORMAT, "payload too long: 14 bytes",
               "2 trailing");
    /* corrupt gzip */
    const unsigned char badgz[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3};
    char *pg = ng_test_path("idx_corrupt.gz");
    write_raw(pg, badgz, sizeof badgz);
    NG_CHECK(ng_idx_read(pg, &t) != NG_OK);
    NG_CHECK(has(ng_last_error(), pg));
    free(pg);
}

/* ------------------------------------------------------------ dataset directories */
static void write_images(const char *path, size_t n, size_t r, size_t c, int seed)
{
    ng_tensor t = {NG_U8, 3, {n, r, c}, malloc(n * r * c)};
    for (size_t i = 0; i < n * r * c; i++) ((uint8_t *)t.data)[i] = (uint8_t)((i * 7 + (size_t)seed) % 256);
    ((uint8_t *)t.data)[0] = 255;
    ((uint8_t *)t.data)[1] = 0;
    ng_idx_write(path, &t);
    free(t.data);
}

static void write_labels(const char *path, size_t n)
{
    ng_tensor t = {NG_U8, 1, {n}, malloc(n)};
    for (size_t i = 0; i < n; i++) ((uint8_t *)t.data)[i] = (uint8_t)(i % 10);
    ng_idx_write(path, &t);
    free(t.data);
}

static char *mkdir_t(const char *name)
{
    char *d = ng_test_path(name);
    mkdir(d, 0755);
    const char *files[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) { /* start clean */
        char buf[1024];
        snprintf(buf, sizeof buf, "%s/%s", d, files[i]);
        remove(buf);
        snprintf(buf, sizeof buf, "%s/%s.gz", d, files[i]);
        remove(buf);
    }
    return d;
}

static char *pj(const char *dir, const char *f)
{
    size_t n = strlen(dir) + strlen(f) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, f);
    return p;
}

static void test_dataset_dir(void)
{
    /* mixed plain and .gz files */
    char *d = mkdir_t("ds_ok");
    char *a = pj(d, "train-images-idx3-ubyte.gz"), *b = pj(d, "train-labels-idx1-ubyte"),
         *c = pj(d, "t10k-images-idx3-ubyte"), *e = pj(d, "t10k-labels-idx1-ubyte.gz");
    write_images(a, 6, 4, 3, 1);
    write_labels(b, 6);
    write_images(c, 2, 4, 3, 5);
    write_labels(e, 2);
    ng_dataset ds;
    NG_CHECK_MSG(ng_dataset_load_idx_dir(d, &ds) == NG_OK, "%s", ng_last_error());
    NG_CHECK(ds.n_train == 6 && ds.n_test == 2 && ds.dim == 12);
    if (ds.train_x && ds.test_x && ds.train_y && ds.test_y) {
        NG_CHECK(ds.train_x[0] == 1.0f && ds.train_x[1] == 0.0f);
        NG_CHECK_NEAR(ds.train_x[2], (float)((2 * 7 + 1) % 256) / 255.0f, 1e-7);
        NG_CHECK_NEAR(ds.test_x[5], (float)((5 * 7 + 5) % 256) / 255.0f, 1e-7);
        int in01 = 1;
        for (size_t i = 0; i < ds.n_train * ds.dim; i++) in01 &= ds.train_x[i] >= 0 && ds.train_x[i] <= 1;
        NG_CHECK(in01);
        NG_CHECK(ds.train_y[3] == 3 && ds.test_y[1] == 1);
    } else {
        NG_CHECK(0);
    }
    ng_dataset_free(&ds);
    NG_CHECK(ds.train_x == NULL);

    /* labels are optional: remove the test labels -> NULL */
    remove(e);
    NG_CHECK_MSG(ng_dataset_load_idx_dir(d, &ds) == NG_OK, "%s", ng_last_error());
    NG_CHECK(ds.train_y != NULL && ds.test_y == NULL);
    ng_dataset_free(&ds);

    /* image/label count mismatch */
    write_labels(e, 3);
    NG_CHECK(ng_dataset_load_idx_dir(d, &ds) == NG_EMISMATCH);
    NG_CHECK(has(ng_last_error(), e) && has(ng_last_error(), "3 labels"));
    NG_CHECK(ds.train_x == NULL);
    write_labels(e, 2);

    /* feature size mismatch between train and test */
    write_images(c, 2, 4, 4, 5);
    NG_CHECK(ng_dataset_load_idx_dir(d, &ds) == NG_EMISMATCH);
    NG_CHECK(has(ng_last_error(), c));

    /* labels of a non-integer type */
    write_images(c, 2, 4, 3, 5);
    float fl[2] = {0, 1};
    ng_tensor ft = {NG_F32, 1, {2}, fl};
    ng_idx_write(e, &ft);
    NG_CHECK(ng_dataset_load_idx_dir(d, &ds) == NG_EFORMAT);
    NG_CHECK(has(ng_last_error(), e));

    /* missing images */
    remove(c);
    NG_CHECK(ng_dataset_load_idx_dir(d, &ds) == NG_EIO);
    NG_CHECK(has(ng_last_error(), "t10k-images-idx3-ubyte") && has(ng_last_error(), d));
    /* broken image file: the error names it */
    unsigned char junk[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    write_raw(c, junk, sizeof junk);
    NG_CHECK(ng_dataset_load_idx_dir(d, &ds) == NG_EFORMAT);
    NG_CHECK(has(ng_last_error(), c) && has(ng_last_error(), "magic"));
    free(a);
    free(b);
    free(c);
    free(e);
    free(d);

    /* missing directory */
    char *nd = ng_test_path("ds_missing_dir");
    NG_CHECK(ng_dataset_load_idx_dir(nd, &ds) == NG_EIO);
    NG_CHECK(has(ng_last_error(), nd));
    free(nd);
}

/* Debian's dataset-fashion-mnist: loaded for real when installed. A NULL dir is an
 * error (the library has no default location). */
#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
static void test_default_dir(void)
{
    ng_dataset ds;
    NG_CHECK(ng_dataset_load_idx_dir(NULL, &ds) == NG_EINVAL);
    ng_status s = ng_dataset_load_idx_dir(FASHION_MNIST_DIR, &ds);
    if (access(FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", F_OK) != 0 &&
        access(FASHION_MNIST_DIR "/train-images-idx3-ubyte", F_OK) != 0) {
        NG_CHECK(s == NG_EIO && has(ng_last_error(), FASHION_MNIST_DIR));
        return;
    }
    NG_CHECK_MSG(s == NG_OK, "%s", ng_last_error());
    NG_CHECK(ds.n_train == 60000 && ds.n_test == 10000 && ds.dim == 784);
    if (s == NG_OK && ds.train_y && ds.test_y) {
        int ok = 1;
        long cnt[10] = {0};
        for (size_t i = 0; i < ds.n_train; i++) {
            ok &= ds.train_y[i] >= 0 && ds.train_y[i] <= 9;
            if (ds.train_y[i] >= 0 && ds.train_y[i] <= 9) cnt[ds.train_y[i]]++;
        }
        NG_CHECK(ok);
        for (int k = 0; k < 10; k++) NG_CHECK(cnt[k] == 6000); /* Fashion-MNIST is balanced */
        double mx = 0;
        for (size_t i = 0; i < ds.n_test * ds.dim; i++) mx = fmax(mx, ds.test_x[i]);
        NG_CHECK(mx == 1.0);
    }
    ng_dataset_free(&ds);
}

int main(void)
{
    NG_RUN(test_round_trip);
    NG_RUN(test_write_rejects);
    NG_RUN(test_malformed);
    NG_RUN(test_dataset_dir);
    NG_RUN(test_default_dir);
    return ng_test_summary();
}
