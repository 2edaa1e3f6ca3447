/* test_gz_truncated.c - every reader that takes .gz refuses a stream cut short (zlib
 * reports it as an end of file with Z_BUF_ERROR): ng_read_file (the CSV logs, corpus
 * directories, checkpoints and models go through it), IDX files and a Fashion-MNIST style
 * directory, .npy.gz and the data source, text and TSV corpora. Each file is cut in the
 * middle of its deflate stream and just before the CRC trailer (all data there). */
#include "natgrad.h"
#include "ngtest.h"

#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <zlib.h>

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static void put_gz(const char *path, const void *p, size_t n)
{
    gzFile g = gzopen(path, "wb");
    if (!g) return;
    gzwrite(g, p, (unsigned)n);
    gzclose(g);
}

/* ng_test_path of a name made by fmt. */
static char *test_path_f(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *test_path_f(const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return ng_test_path(name);
}

/* Writes the cuts of the complete .gz file at src: "<dst>" cut mid-stream when k = 0,
 * before the trailer when k = 1. */
static void cut_gz(const char *src, const char *dst, int k)
{
    size_t n;
    unsigned char *b = ng_test_read_file(src, &n);
    NG_CHECK(b && n > 40);
    if (b && n > 40) ng_test_write_file(dst, b, k ? n - 8 : n / 2);
    free(b);
}

static int refused(ng_status s, const char *path)
{
    const char *e = ng_last_error();
    int ok = s == NG_EFORMAT && has(e, path) && has(e, "gzip");
    if (!ok) fprintf(stderr, "  %s: status %d, message: %s\n", path, (int)s, s ? e : "(none)");
    return ok;
}

/* A reader under test: loads path, frees what it loaded, returns its status. */
typedef ng_status (*reader)(const char *path);

static ng_status read_whole(const char *path)
{
    unsigned char *b;
    size_t n;
    ng_status s = ng_read_file(path, &b, &n);
    if (!s) free(b);
    return s;
}

static ng_status read_idx(const char *path)
{
    ng_tensor t;
    ng_status s = ng_idx_read(path, &t);
    if (!s) ng_tensor_free(&t);
    return s;
}

static ng_status read_npy(const char *path)
{
    ng_tensor t;
    ng_status s = ng_npy_read(path, &t);
    if (!s) ng_tensor_free(&t);
    return s;
}

static ng_status load_source(const char *path)
{
    ng_dataset ds;
    ng_status s = ng_data_source_load(path, &ds);
    if (!s) ng_dataset_free(&ds);
    return s;
}

static ng_status load_idx_dir(const char *path)
{
    ng_dataset ds;
    ng_status s = ng_dataset_load_idx_dir(path, &ds);
    if (!s) ng_dataset_free(&ds);
    return s;
}

static ng_status build_corpus(const char *path)
{
    ng_corpus_build_params p = ng_corpus_build_default_params();
    p.min_count = 1;
    ng_corpus c;
    const char *in[1] = {path};
    ng_status s = ng_corpus_build(in, 1, &p, &c, NULL);
    if (!s) ng_corpus_free(&c);
    return s;
}

/* Cut k of the complete .gz file src into dst, then rd on in (dst itself or the directory
 * holding it) is refused naming dst. */
static void check_cut(const char *src, const char *dst, int k, reader rd, const char *in)
{
    cut_gz(src, dst, k);
    NG_CHECK(refused(rd(in), dst));
}

static void test_read_file(void)
{
    char text[8192];
    size_t len = 0;
    len += (size_t)snprintf(text, sizeof text, "step,loss\n");
    for (int k = 0; len < sizeof text - 32; k++) len += (size_t)snprintf(text + len, sizeof text - len, "%d,%g\n", k, 1.0 / (k + 1));
    char *p = ng_test_path("gzt_log.csv.gz");
    put_gz(p, text, len);
    unsigned char *b;
    size_t n;
    NG_CHECK(ng_read_file(p, &b, &n) == NG_OK && n == len);
    if (n == len) free(b);
    for (int k = 0; k < 2; k++) {
        char *q = test_path_f("gzt_log_cut%d.csv.gz", k);
        cut_gz(p, q, k);
        NG_CHECK(refused(read_whole(q), q) && has(ng_last_error(), "truncated"));
        free(q);
    }
    free(p);
}

static void idx_images(unsigned char *buf, size_t n_img, size_t rows, size_t cols, size_t *len)
{
    unsigned char h[16] = {0, 0, 8, 3};
    uint32_t dims[3] = {(uint32_t)n_img, (uint32_t)rows, (uint32_t)cols};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) h[4 + 4 * i + j] = (unsigned char)(dims[i] >> (24 - 8 * j));
    memcpy(buf, h, 16);
    for (size_t i = 0; i < n_img * rows * cols; i++) buf[16 + i] = (unsigned char)(i * 7 % 251);
    *len = 16 + n_img * rows * cols;
}

/* The .gz file dir/name holding the n bytes at p; its path into path (len bytes). */
static void put_gz_in(const char *dir, const char *name, const void *p, size_t n, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    put_gz(path, p, n);
}

static void test_idx(void)
{
    static unsigned char img[16 + 40 * 28 * 28];
    size_t len;
    idx_images(img, 40, 28, 28, &len);
    char *p = ng_test_path("gzt_images-idx3-ubyte.gz");
    put_gz(p, img, len);
    ng_tensor t;
    NG_CHECK(ng_idx_read(p, &t) == NG_OK && t.shape[0] == 40);
    ng_tensor_free(&t);
    for (int k = 0; k < 2; k++) {
        char *q = test_path_f("gzt_cut%d-idx3-ubyte.gz", k);
        check_cut(p, q, k, read_idx, q);
        free(q);
    }
    /* a Fashion-MNIST directory whose training images are cut short */
    char *d = ng_test_path("gzt_fashion");
    mkdir(d, 0777);
    char path[1024];
    static unsigned char lab[8 + 40];
    memcpy(lab, (unsigned char[8]){0, 0, 8, 1, 0, 0, 0, 40}, 8);
    for (int i = 0; i < 40; i++) lab[8 + i] = (unsigned char)(i % 10);
    put_gz_in(d, "train-labels-idx1-ubyte.gz", lab, sizeof lab, path, sizeof path);
    put_gz_in(d, "t10k-labels-idx1-ubyte.gz", lab, sizeof lab, path, sizeof path);
    put_gz_in(d, "t10k-images-idx3-ubyte.gz", img, len, path, sizeof path);
    put_gz_in(d, "train-images-idx3-ubyte.gz", img, len, path, sizeof path);
    NG_CHECK_MSG(load_idx_dir(d) == NG_OK, "%s", ng_last_error());
    char *tmp = ng_test_path("gzt_whole.gz");
    rename(path, tmp);
    check_cut(tmp, path, 1, load_idx_dir, d);
    free(tmp);
    free(d);
    free(p);
}

static void test_npy(void)
{
    float x[64 * 8];
    for (int i = 0; i < 64 * 8; i++) x[i] = (float)(i % 13) / 13.0f;
    ng_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = NG_F32;
    t.ndim = 2;
    t.shape[0] = 64;
    t.shape[1] = 8;
    t.data = x;
    char *plain = ng_test_path("gzt_x.npy"), *p = ng_test_path("gzt_x.npy.gz");
    NG_CHECK(ng_npy_write(plain, &t) == NG_OK);
    size_t n;
    unsigned char *b = ng_test_read_file(plain, &n);
    put_gz(p, b, n);
    free(b);
    NG_CHECK_MSG(load_source(p) == NG_OK, "%s", ng_last_error());
    for (int k = 0; k < 2; k++) {
        char *q = test_path_f("gzt_cut%d.npy.gz", k);
        check_cut(p, q, k, read_npy, q);
        NG_CHECK(refused(load_source(q), q));
        free(q);
    }
    free(plain);
    free(p);
}

static void test_corpus(void)
{
    char text[16384];
    size_t len = 0;
    for (int k = 0; len < sizeof text - 64; k++)
        len += (size_t)snprintf(text + len, sizeof text - len, "the cat %d sat on the mat %d\n", k % 17, k % 5);
    char *d = ng_test_path("gzt_corpus");
    mkdir(d, 0777);
    char path[1024];
    put_gz_in(d, "1900.txt.gz", text, len, path, sizeof path);
    put_gz_in(d, "1901.txt.gz", text, len, path, sizeof path);
    NG_CHECK_MSG(build_corpus(d) == NG_OK, "%s", ng_last_error());
    char *tmp = ng_test_path("gzt_corpus_whole.gz");
    rename(path, tmp);
    for (int k = 0; k < 2; k++) check_cut(tmp, path, k, build_corpus, d);
    /* a TSV corpus (time<TAB>sentence) */
    char tsv[16384];
    size_t tl = 0;
    for (int k = 0; tl < sizeof tsv - 64; k++)
        tl += (size_t)snprintf(tsv + tl, sizeof tsv - tl, "%d\tthe cat %d sat\n", 1900 + k % 3, k % 11);
    char *pt = ng_test_path("gzt_lines.tsv.gz"), *qt = ng_test_path("gzt_lines_cut.tsv.gz");
    put_gz(pt, tsv, tl);
    NG_CHECK_MSG(build_corpus(pt) == NG_OK, "%s", ng_last_error());
    for (int k = 0; k < 2; k++) check_cut(pt, qt, k, build_corpus, qt);
    free(pt);
    free(qt);
    free(tmp);
    free(d);
}

int main(void)
{
    NG_RUN(test_read_file);
    NG_RUN(test_idx);
    NG_RUN(test_npy);
    NG_RUN(test_corpus);
    return ng_test_summary();
}
