/* test_gz_truncated.c - every reader that takes .gz refuses a stream cut short (zlib
 * reports it as an end of file with Z_BUF_ERROR): ng_read_file (the CSV logs, corpus
 * directories, checkpoints and models go through it), IDX files and a Fashion-MNIST style
 * directory, .npy.gz and the data source, text and TSV corpora. Each file is cut in the
 * middle of its deflate stream and just before the CRC trailer (all data there). */
#include "natgrad.h"
#include "ngtest.h"

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

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    unsigned char *b = malloc(1 << 20);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    return b;
}

static void put_raw(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(p, 1, n, f);
    fclose(f);
}

/* Writes the cuts of the complete .gz file at src: "<dst>" cut mid-stream when k = 0,
 * before the trailer when k = 1. */
static void cut_gz(const char *src, const char *dst, int k)
{
    size_t n;
    unsigned char *b = slurp(src, &n);
    NG_CHECK(b && n > 40);
    if (b && n > 40) put_raw(dst, b, k ? n - 8 : n / 2);
    free(b);
}

static int refused(ng_status s, const char *path)
{
    const char *e = ng_last_error();
    int ok = s == NG_EFORMAT && has(e, path) && has(e, "gzip");
    if (!ok) fprintf(stderr, "  %s: status %d, message: %s\n", path, (int)s, s ? e : "(none)");
    return ok;
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
        char name[64];
        snprintf(name, sizeof name, "gzt_log_cut%d.csv.gz", k);
        char *q = ng_test_path(name);
        cut_gz(p, q, k);
        ng_status s = ng_read_file(q, &b, &n);
        NG_CHECK(refused(s, q) && has(ng_last_error(), "truncated"));
        if (!s) free(b);
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
        char name[64];
        snprintf(name, sizeof name, "gzt_cut%d-idx3-ubyte.gz", k);
        char *q = ng_test_path(name);
        cut_gz(p, q, k);
        ng_status s = ng_idx_read(q, &t);
        NG_CHECK(refused(s, q));
        if (!s) ng_tensor_free(&t);
        free(q);
    }
    /* a Fashion-MNIST directory whose training images are cut short */
    char *d = ng_test_path("gzt_fashion");
    mkdir(d, 0777);
    char path[1024];
    static unsigned char lab[8 + 40];
    memcpy(lab, (unsigned char[8]){0, 0, 8, 1, 0, 0, 0, 40}, 8);
    for (int i = 0; i < 40; i++) lab[8 + i] = (unsigned char)(i % 10);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", d);
    put_gz(path, lab, sizeof lab);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", d);
    put_gz(path, lab, sizeof lab);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", d);
    put_gz(path, img, len);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", d);
    put_gz(path, img, len);
    ng_dataset ds;
    NG_CHECK_MSG(ng_dataset_load_idx_dir(d, &ds) == NG_OK, "%s", ng_last_error());
    ng_dataset_free(&ds);
    char *tmp = ng_test_path("gzt_whole.gz");
    rename(path, tmp);
    cut_gz(tmp, path, 1);
    ng_status s = ng_dataset_load_idx_dir(d, &ds);
    NG_CHECK(refused(s, path));
    if (!s) ng_dataset_free(&ds);
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
    unsigned char *b = slurp(plain, &n);
    put_gz(p, b, n);
    free(b);
    ng_dataset ds;
    NG_CHECK_MSG(ng_data_source_load(p, &ds) == NG_OK, "%s", ng_last_error());
    ng_dataset_free(&ds);
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "gzt_cut%d.npy.gz", k);
        char *q = ng_test_path(name);
        cut_gz(p, q, k);
        ng_tensor r;
        ng_status s = ng_npy_read(q, &r);
        NG_CHECK(refused(s, q));
        if (!s) ng_tensor_free(&r);
        s = ng_data_source_load(q, &ds);
        NG_CHECK(refused(s, q));
        if (!s) ng_dataset_free(&ds);
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
    snprintf(path, sizeof path, "%s/1900.txt.gz", d);
    put_gz(path, text, len);
    snprintf(path, sizeof path, "%s/1901.txt.gz", d);
    put_gz(path, text, len);
    ng_corpus_build_params p = ng_corpus_build_default_params();
    p.min_count = 1;
    ng_corpus c;
    const char *in[1] = {d};
    NG_CHECK_MSG(ng_corpus_build(in, 1, &p, &c, NULL) == NG_OK, "%s", ng_last_error());
    ng_corpus_free(&c);
    char *tmp = ng_test_path("gzt_corpus_whole.gz");
    rename(path, tmp);
    for (int k = 0; k < 2; k++) {
        cut_gz(tmp, path, k);
        ng_status s = ng_corpus_build(in, 1, &p, &c, NULL);
        NG_CHECK(refused(s, path));
        if (!s) ng_corpus_free(&c);
    }
    /* a TSV corpus (time<TAB>sentence) */
    char tsv[16384];
    size_t tl = 0;
    for (int k = 0; tl < sizeof tsv - 64; k++)
        tl += (size_t)snprintf(tsv + tl, sizeof tsv - tl, "%d\tthe cat %d sat\n", 1900 + k % 3, k % 11);
    char *pt = ng_test_path("gzt_lines.tsv.gz"), *qt = ng_test_path("gzt_lines_cut.tsv.gz");
    put_gz(pt, tsv, tl);
    in[0] = pt;
    NG_CHECK_MSG(ng_corpus_build(in, 1, &p, &c, NULL) == NG_OK, "%s", ng_last_error());
    ng_corpus_free(&c);
    for (int k = 0; k < 2; k++) {
        cut_gz(pt, qt, k);
        in[0] = qt;
        ng_status s = ng_corpus_build(in, 1, &p, &c, NULL);
        NG_CHECK(refused(s, qt));
        if (!s) ng_corpus_free(&c);
    }
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
