/* test_dwe_query.c - questions to a trained dynamic word embeddings model: neighbours,
 * aging, most changed words, trajectories and the overlap of Fig. 4 against hand
 * computations on a tiny model; the Procrustes-aligned overlap of a model whose last
 * slice is a rotated (or reflected) first slice is 1 while the raw one is not; the byte
 * layout of word2vec text and binary files; the export directory; time and word
 * look-ups; and every check of the model reader. */
#include "corpus_internal.h"
#include "ngtest.h"

#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The whole file (malloc'ed, NUL-terminated; *n its length), or NULL. */
static char *slurp(const char *path, size_t *n)
{
    unsigned char *b;
    size_t len;
    if (ng_read_file(path, &b, &len)) return NULL;
    char *s = realloc(b, len + 1);
    s[len] = '\0';
    if (n) *n = len;
    return s;
}

/* ------------------------------------------------------------------ a model on disk */

typedef struct {
    size_t T, W, d;
    const double *time;
    const int *train;
    const char *const *word;
    const double *count;
    const float *U, *V;
} spec;

static void write_npy3(const char *path, ng_dtype dt, size_t a, size_t b, size_t c, const void *x)
{
    ng_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = 3;
    t.shape[0] = a;
    t.shape[1] = b;
    t.shape[2] = c;
    t.data = (void *)x;
    if (ng_npy_write(path, &t)) {
        fprintf(stderr, "%s\n", ng_last_error());
        exit(1);
    }
}

/* The directory name under the scratch directory, as the trainer lays it out. */
static const char *write_model(const char *name, const spec *s)
{
    const char *dir = ng_test_in_dir("%s", name);
    ngi_rm_rf(dir);
    mkdir(dir, 0777);
    FILE *f = fopen(ng_test_in_dir("%s/model.txt", name), "w");
    fprintf(f, "natgrad-dwe-model 1\nmethod smoothing\ndim %zu\nW %zu\nT %zu\nsigma0 1\n"
               "diffusion 0.001\nsymmetry goldstone\nsteps 100\n", s->d, s->W, s->T);
    fclose(f);
    f = fopen(ng_test_in_dir("%s/vocab.tsv", name), "w");
    for (size_t i = 0; i < s->W; i++) fprintf(f, "%s\t%.17g\n", s->word[i], s->count[i]);
    fclose(f);
    f = fopen(ng_test_in_dir("%s/times.csv", name), "w");
    fprintf(f, "slice,time,train\n");
    for (size_t t = 0; t < s->T; t++) fprintf(f, "%zu,%.17g,%d\n", t, s->time[t], s->train[t]);
    fclose(f);
    write_npy3(ng_test_in_dir("%s/U.npy", name), NG_F32, s->T, s->W, s->d, s->U);
    write_npy3(ng_test_in_dir("%s/V.npy", name), NG_F32, s->T, s->W, s->d, s->V ? s->V : s->U);
    return dir;
}

/* The tiny model: 3 slices (1850, 1855 held out, 1860), 5 words, d = 2; "sea" is the zero
 * vector in slices 1 and 3 (its cosine is 0 with everything). */
static const double k_time[3] = {1850, 1855, 1860};
static const int k_train[3] = {1, 0, 1};
static const char *const k_word[5] = {"car", "boat", "cart", "sky", "sea"};
static const double k_count[5] = {10, 8, 5, 3, 1};
static const float k_U[3 * 5 * 2] = {
    1, 0, 0.8f, 0.6f, 0, 1, -1, 0, 0, 0,      /* 1850 */
    1, 1, 1, 0, 0, 2, 0, -1, 3, 4,            /* 1855 */
    0.6f, 0.8f, 0, 1, 1, 0, -2, 0, 0, 0,      /* 1860 */
};
static const spec k_tiny = {3, 5, 2, k_time, k_train, k_word, k_count, k_U, NULL};

static ng_dwe_model tiny(void)
{
    ng_dwe_model m;
    memset(&m, 0, sizeof m);
    const char *dir = write_model("tiny", &k_tiny);
    if (ng_dwe_model_read(dir, &m)) {
        fprintf(stderr, "tiny model: %s\n", ng_last_error());
        exit(1);
    }
    return m;
}

/* hits equal the expected words and scores (1e-6: the inputs are floats) */
static int hits_are(const ng_dwe_hit *h, size_t n, size_t want_n, const size_t *w, const double *s)
{
    if (n != want_n) {
        fprintf(stderr, "  got %zu hits, expected %zu\n", n, want_n);
        return 0;
    }
    for (size_t r = 0; r < n; r++)
        if (h[r].word != w[r] || fabs(h[r].score - s[r]) > 1e-6) {
            fprintf(stderr, "  hit %zu: word %zu score %.9f, expected word %zu score %.9f\n", r,
                    h[r].word, h[r].score, w[r], s[r]);
            return 0;
        }
    return 1;
}

/* ------------------------------------------------------------------ questions */

static void test_read_tiny(void)
{
    ng_dwe_model m = tiny();
    NG_CHECK(m.T == 3 && m.W == 5 && m.d == 2);
    NG_CHECK(m.time[1] == 1855 && m.train[0] == 1 && m.train[1] == 0 && m.train[2] == 1);
    NG_CHECK(!strcmp(m.word[4], "sea") && m.count[3] == 3);
    NG_CHECK(m.U[(2 * 5 + 3) * 2] == -2.0f && m.V[(1 * 5 + 4) * 2 + 1] == 4.0f);
    /* model.txt's training values; prior is "product" when its line is absent */
    NG_CHECK(!strcmp(m.method, "smoothing") && !strcmp(m.symmetry, "goldstone") &&
             !strcmp(m.prior, "product") && m.sigma0 == 1 && m.diffusion == 0.001 && m.steps == 100);
    ng_dwe_model_free(&m);
    NG_CHECK(m.method == NULL && m.U == NULL && m.W == 0); /* free leaves it empty */
    NG_CHECK(m.U == NULL && m.W == 0);
}

static void test_neighbours(void)
{
    ng_dwe_model m = tiny();
    ng_dwe_hit h[10];
    size_t n = 99;
    const double r2 = sqrt(0.5);
    /* 1850: boat .8, cart 0 and sea 0 (a zero vector; the tie goes to the lower index), sky -1 */
    NG_CHECK(ng_dwe_neighbours(&m, 0, 0, 10, h, &n) == NG_OK);
    NG_CHECK(hits_are(h, n, 4, (size_t[]){1, 2, 4, 3}, (double[]){0.8, 0, 0, -1}));
    NG_CHECK(ng_dwe_neighbours(&m, 0, 0, 2, h, &n) == NG_OK);
    NG_CHECK(hits_are(h, n, 2, (size_t[]){1, 2}, (double[]){0.8, 0}));
    /* 1855: car = (1,1): sea (3,4) 7/(5 sqrt 2), boat and cart 1/sqrt 2, sky -1/sqrt 2 */
    NG_CHECK(ng_dwe_neighbours(&m, 1, 0, 10, h, &n) == NG_OK);
    NG_CHECK(hits_are(h, n, 4, (size_t[]){4, 1, 2, 3}, (double[]){7 / (5 * sqrt(2.0)), r2, r2, -r2}));
    NG_CHECK(ng_dwe_neighbours(&m, 3, 0, 10, h, &n) == NG_EINVAL);
    NG_CHECK(ng_dwe_neighbours(&m, 0, 5, 10, h, &n) == NG_EINVAL);
    NG_CHECK(ng_dwe_neighbours(&m, 0, 0, 0, NULL, &n) == NG_OK && n == 0);
    ng_dwe_model_free(&m);
}

static void test_aging(void)
{
    ng_dwe_model m = tiny();
    ng_dwe_hit h[10];
    size_t n = 0;
    /* car of 1860 = (.6,.8) against 1850: boat .96, cart .8, car .6, sea 0, sky -.6 */
    NG_CHECK(ng_dwe_aging(&m, 0, 2, 0, 0, 10, h, &n) == NG_OK);
    NG_CHECK(hits_are(h, n, 4, (size_t[]){1, 2, 4, 3}, (double[]){0.96, 0.8, 0, -0.6}));
    NG_CHECK(ng_dwe_aging(&m, 0, 2, 0, 1, 10, h, &n) == NG_OK);
    NG_CHECK(hits_are(h, n, 5, (size_t[]){1, 2, 0, 4, 3}, (double[]){0.96, 0.8, 0.6, 0, -0.6}));
    NG_CHECK(ng_dwe_aging(&m, 0, 2, 0, 0, 2, h, &n) == NG_OK);
    NG_CHECK(hits_are(h, n, 2, (size_t[]){1, 2}, (double[]){0.96, 0.8}));
    /* the other way round: car of 1850 = (1,0) against 1860: cart 1, car .6, sea 0, boat 0, sky -1 */
    NG_CHECK(ng_dwe_aging(&m, 0, 0, 2, 1, 10, h, &n) == NG_OK);
    NG_CHECK(hits_are(h, n, 5, (size_t[]){2, 0, 1, 4, 3}, (double[]){1, 0.6, 0, 0, -1}));
    ng_dwe_model_free(&m);
}

static void test_changed(void)
{
    ng_dwe_model m = tiny();
    ng_dwe_hit h[10];
    size_t n = 0;
    /* 1 - cos from 1850 to 1860: car .4, boat .4, cart 1, sky 0, sea 1 (zero vectors) */
    NG_CHECK(ng_dwe_changed(&m, 0, 2, 0, 10, h, &n) == NG_OK);
    NG_CHECK(hits_are(h, n, 5, (size_t[]){2, 4, 0, 1, 3}, (double[]){1, 1, 0.4, 0.4, 0}));
    /* the floor is inclusive: count >= 5 keeps cart (5), car, boat */
    NG_CHECK(ng_dwe_changed(&m, 0, 2, 5, 10, h, &n) == NG_OK);
    NG_CHECK(hits_are(h, n, 3, (size_t[]){2, 0, 1}, (double[]){1, 0.4, 0.4}));
    NG_CHECK(ng_dwe_changed(&m, 0, 2, 6, 1, h, &n) == NG_OK);
    NG_CHECK(hits_are(h, n, 1, (size_t[]){0}, (double[]){0.4}));
    NG_CHECK(ng_dwe_changed(&m, 0, 2, 100, 10, h, &n) == NG_OK && n == 0);
    /* 1850 to 1855: car 1 - 1/sqrt 2, boat 1 - .8, cart 0, sky 1, sea 1 */
    NG_CHECK(ng_dwe_changed(&m, 0, 1, 0, 10, h, &n) == NG_OK);
    NG_CHECK(hits_are(h, n, 5, (size_t[]){3, 4, 0, 1, 2}, (double[]){1, 1, 1 - sqrt(0.5), 0.2, 0}));
    ng_dwe_model_free(&m);
}

static void test_trajectory(void)
{
    ng_dwe_model m = tiny();
    double s[3];
    NG_CHECK(ng_dwe_trajectory(&m, 0, 1, s) == NG_OK);
    NG_CHECK_NEAR(s[0], 0.8, 1e-7);
    NG_CHECK_NEAR(s[1], sqrt(0.5), 1e-7);
    NG_CHECK_NEAR(s[2], 0.8, 1e-7);
    NG_CHECK(ng_dwe_trajectory(&m, 3, 4, s) == NG_OK);
    NG_CHECK(s[0] == 0 && s[2] == 0);
    NG_CHECK_NEAR(s[1], -0.8, 1e-7);
    NG_CHECK(ng_dwe_trajectory(&m, 0, 0, s) == NG_OK);
    NG_CHECK_NEAR(s[1], 1, 1e-12);
    NG_CHECK(ng_dwe_trajectory(&m, 0, 9, s) == NG_EINVAL);
    ng_dwe_model_free(&m);
}

static void test_overlap_raw(void)
{
    ng_dwe_model m = tiny();
    double c[5], R[4];
    NG_CHECK(ng_dwe_overlap(&m, 0, 2, 0, c, R) == NG_OK);
    const double want[5] = {0.6, 0.6, 0, 1, 0};
    for (int i = 0; i < 5; i++) NG_CHECK_NEAR(c[i], want[i], 1e-7);
    NG_CHECK(R[0] == 1 && R[1] == 0 && R[2] == 0 && R[3] == 1);
    ng_dwe_model_free(&m);
}

/* A model of W random words in d = 3 whose last slice is Q times its first: Q a rotation
 * by 40 degrees about (1, 2, 2)/3 (not its own inverse, so the direction of the
 * alignment matters), or a reflection. */
static void rotated_model(const double *Q, ng_dwe_model *m)
{
    enum { W = 12, d = 3, T = 3 };
    static float U[T * W * d];
    static char names[W][8];
    const char *words[W];
    double count[W], time[T] = {1800, 1900, 2000};
    int train[T] = {1, 1, 1};
    ng_rng r;
    ng_rng_seed(&r, 7);
    ng_rng_fill_normal(&r, U, 2 * W * d, 0, 1);
    for (int i = 0; i < W; i++) {
        snprintf(names[i], sizeof names[i], "w%d", i);
        words[i] = names[i];
        count[i] = W - i;
        for (int p = 0; p < d; p++) {
            double x = 0;
            for (int q = 0; q < d; q++) x += Q[p * d + q] * U[i * d + q];
            U[(2 * W + i) * d + p] = (float)x;
        }
    }
    spec s = {T, W, d, time, train, words, count, U, NULL};
    if (ng_dwe_model_read(write_model("rotated", &s), m)) {
        fprintf(stderr, "%s\n", ng_last_error());
        exit(1);
    }
}

static void axis_rotation(double angle, double *Q)
{
    const double a[3] = {1.0 / 3, 2.0 / 3, 2.0 / 3}, c = cos(angle), s = sin(angle);
    /* Rodrigues: Q = c I + s [a]x + (1 - c) a a^T */
    const double K[9] = {0, -a[2], a[1], a[2], 0, -a[0], -a[1], a[0], 0};
    for (int p = 0; p < 3; p++)
        for (int q = 0; q < 3; q++) Q[p * 3 + q] = (p == q) * c + s * K[p * 3 + q] + (1 - c) * a[p] * a[q];
}

static void check_aligned(const double *Q, const char *what)
{
    ng_dwe_model m;
    rotated_model(Q, &m);
    double raw[12], al[12], R[9];
    NG_CHECK(ng_dwe_overlap(&m, 0, 2, 0, raw, NULL) == NG_OK);
    NG_CHECK(ng_dwe_overlap(&m, 0, 2, 1, al, R) == NG_OK);
    double worst_raw = 1, worst_al = 1;
    for (int i = 0; i < 12; i++) {
        worst_raw = fmin(worst_raw, raw[i]);
        worst_al = fmin(worst_al, al[i]);
    }
    NG_CHECK_MSG(worst_al > 1 - 1e-6, "%s: aligned overlap %.9f, expected 1", what, worst_al);
    NG_CHECK_MSG(worst_raw < 0.9, "%s: raw overlap %.9f, expected well below 1", what, worst_raw);
    /* R takes the last slice back onto the first: R = Q^T */
    for (int p = 0; p < 3; p++)
        for (int q = 0; q < 3; q++) NG_CHECK_NEAR(R[p * 3 + q], Q[q * 3 + p], 1e-6);
    /* slices 1 and 2 are independent draws: aligning them leaves the overlap low */
    NG_CHECK(ng_dwe_overlap(&m, 0, 1, 1, al, NULL) == NG_OK);
    double mean = 0;
    for (int i = 0; i < 12; i++) mean += al[i] / 12;
    NG_CHECK_MSG(mean < 0.8, "%s: independent slices aligned to mean %.3f", what, mean);
    ng_dwe_model_free(&m);
}

static void test_overlap_procrustes(void)
{
    double Q[9];
    axis_rotation(40 * M_PI / 180, Q);
    check_aligned(Q, "rotation");
    axis_rotation(-150 * M_PI / 180, Q);
    check_aligned(Q, "rotation by -150 degrees");
    const double F[9] = {1, 0, 0, 0, 1, 0, 0, 0, -1};
    check_aligned(F, "reflection");
}

/* ------------------------------------------------------------------ look-ups */

static void test_find(void)
{
    ng_dwe_model m = tiny();
    size_t t = 99, i = 99;
    NG_CHECK(ng_dwe_find_time(&m, 1855, &t) == NG_OK && t == 1);
    NG_CHECK(ng_dwe_find_time(&m, 1853, &t) == NG_EINVAL);
    NG_CHECK_MSG(!strcmp(ng_last_error(), "no slice at 1853; the closest are 1850 and 1855"), "%s",
                 ng_last_error());
    NG_CHECK(ng_dwe_find_time(&m, 1857.5, &t) == NG_EINVAL);
    NG_CHECK_MSG(!strcmp(ng_last_error(), "no slice at 1857.5; the closest are 1855 and 1860"), "%s",
                 ng_last_error());
    NG_CHECK(ng_dwe_find_time(&m, 1700, &t) == NG_EINVAL);
    NG_CHECK_MSG(strstr(ng_last_error(), "no slice at 1700; the closest is 1850 (the first"), "%s",
                 ng_last_error());
    NG_CHECK(ng_dwe_find_time(&m, 2000, &t) == NG_EINVAL);
    NG_CHECK_MSG(strstr(ng_last_error(), "no slice at 2000; the closest is 1860 (the last"), "%s",
                 ng_last_error());
    NG_CHECK(ng_dwe_find_word(&m, "cart", &i) == NG_OK && i == 2);
    NG_CHECK(ng_dwe_find_word(&m, "plane", &i) == NG_EINVAL);
    NG_CHECK_MSG(!strcmp(ng_last_error(), "no word 'plane' in the vocabulary of 5 words"), "%s",
                 ng_last_error());
    NG_CHECK(ng_dwe_find_word(&m, "Boat", &i) == NG_EINVAL);
    NG_CHECK_MSG(strstr(ng_last_error(), "did you mean 'boat'?"), "%s", ng_last_error());
    NG_CHECK(ng_dwe_find_word(&m, "ca", &i) == NG_EINVAL);
    ng_dwe_model_free(&m);
}

/* ------------------------------------------------------------------ word2vec */

static void test_word2vec_bytes(void)
{
    const char *words[3] = {"car", "boat", "x"};
    const float v[6] = {1, 0, 0.8f, -0.1f, 1.0f / 3, 1e-8f};
    const char *txt = ng_test_in_dir("w.txt"), *bin = ng_test_in_dir("w.bin");
    NG_CHECK(ng_word2vec_write(txt, 3, 2, words, v, 0) == NG_OK);
    NG_CHECK(ng_word2vec_write(bin, 3, 2, words, v, 1) == NG_OK);
    size_t n = 0;
    char *s = slurp(txt, &n);
    const char want_txt[] = "3 2\ncar 1 0\nboat 0.8 -0.1\nx 0.33333334 1e-08\n";
    NG_CHECK_MSG(s && !strcmp(s, want_txt), "text file:\n%s", s ? s : "(none)");
    free(s);
    const unsigned char want_bin[] = {
        '3', ' ', '2', '\n',
        'c', 'a', 'r', ' ', 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x00, '\n',
        'b', 'o', 'a', 't', ' ', 0xcd, 0xcc, 0x4c, 0x3f, 0xcd, 0xcc, 0xcc, 0xbd, '\n',
        'x', ' ', 0xab, 0xaa, 0xaa, 0x3e, 0x77, 0xcc, 0x2b, 0x32, '\n'};
    s = slurp(bin, &n);
    NG_CHECK(s && n == sizeof want_bin && !memcmp(s, want_bin, n));
    free(s);
    /* every float reads back exactly from the text */
    ng_rng r;
    ng_rng_seed(&r, 3);
    float x[64];
    const char *one[1] = {"w"};
    ng_rng_fill_normal(&r, x, 64, 0, 1);
    x[0] = 3.4028235e38f;
    x[1] = 1.4e-45f;
    x[2] = -0.0f;
    NG_CHECK(ng_word2vec_write(txt, 1, 64, one, x, 0) == NG_OK);
    s = slurp(txt, NULL);
    char *p = s ? strchr(s, '\n') + 2 : NULL;
    int same = s != NULL;
    for (int k = 0; same && k < 64; k++) {
        char *e;
        float y = strtof(p, &e);
        same = e > p && memcmp(&y, &x[k], 4) == 0 && (*e == ' ' || (k == 63 && *e == '\n'));
        p = e;
    }
    NG_CHECK(same);
    free(s);
    /* refused: a word with a space, an empty word, a NaN; nothing is left behind */
    const char *bad_words[3] = {"car", "two words", "x"};
    NG_CHECK(ng_word2vec_write(ng_test_in_dir("bad.txt"), 3, 2, bad_words, v, 0) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "word 1 'two words'") != NULL);
    const char *empty[3] = {"car", "", "x"};
    NG_CHECK(ng_word2vec_write(ng_test_in_dir("bad.txt"), 3, 2, empty, v, 1) == NG_EINVAL);
    float nan_v[6] = {1, 0, 0, NAN, 1, 1};
    NG_CHECK(ng_word2vec_write(ng_test_in_dir("bad.txt"), 3, 2, words, nan_v, 0) == NG_ENUMERIC);
    NG_CHECK(strstr(ng_last_error(), "word 1 'boat', dim 1") != NULL);
    NG_CHECK(!exists(ng_test_in_dir("bad.txt")));
}

static void test_export_dir(void)
{
    ng_dwe_model m = tiny();
    const char *dir = ng_test_in_dir("export");
    ngi_rm_rf(dir);
    NG_CHECK(ng_dwe_export_word2vec(&m, dir, NG_W2V_TEXT | NG_W2V_BINARY) == NG_OK);
    char *idx = slurp(ng_test_in_dir("export/word2vec.csv"), NULL);
    NG_CHECK_MSG(idx && !strcmp(idx, "slice,time,train,vectors,format,file\n"
                                     "0,1850,1,u,text,1850.txt\n0,1850,1,u,binary,1850.bin\n"
                                     "1,1855,0,u,text,1855.txt\n1,1855,0,u,binary,1855.bin\n"
                                     "2,1860,1,u,text,1860.txt\n2,1860,1,u,binary,1860.bin\n"),
                 "%s", idx ? idx : "(none)");
    free(idx);
    char *s = slurp(ng_test_in_dir("export/1855.txt"), NULL);
    NG_CHECK_MSG(s && !strcmp(s, "5 2\ncar 1 1\nboat 1 0\ncart 0 2\nsky 0 -1\nsea 3 4\n"), "%s", s ? s : "");
    free(s);
    NG_CHECK(!exists(ng_test_in_dir("export/1855.context.txt")) && !exists(ng_test_in_dir("export.tmp")));
    /* an export directory is replaced; with the context vectors, text only */
    NG_CHECK(ng_dwe_export_word2vec(&m, dir, NG_W2V_TEXT | NG_W2V_CONTEXT) == NG_OK);
    NG_CHECK(exists(ng_test_in_dir("export/1860.context.txt")) && !exists(ng_test_in_dir("export/1860.bin")));
    NG_CHECK(!exists(ng_test_in_dir("export.old")) && !exists(ng_test_in_dir("export.tmp")));
    /* another non-empty directory is not */
    mkdir(ng_test_in_dir("other"), 0777);
    ng_test_write_text(ng_test_in_dir("other/keep.txt"), "mine\n");
    NG_CHECK(ng_dwe_export_word2vec(&m, ng_test_in_dir("other"), NG_W2V_TEXT) == NG_EIO);
    NG_CHECK(exists(ng_test_in_dir("other/keep.txt")) && !exists(ng_test_in_dir("other/word2vec.csv")));
    NG_CHECK(ng_dwe_export_word2vec(&m, ng_test_in_dir("none"), 0) == NG_EINVAL);
    /* NaN in two slices (the slices are written in parallel): the first one is named,
     * nothing is left */
    m.U[(2 * 5 + 1) * 2] = NAN;
    m.U[(1 * 5 + 3) * 2 + 1] = NAN;
    NG_CHECK(ng_dwe_export_word2vec(&m, ng_test_in_dir("nan"), NG_W2V_TEXT | NG_W2V_BINARY) == NG_ENUMERIC);
    NG_CHECK_MSG(strstr(ng_last_error(), "1855.txt: word 3 'sky', dim 1"), "%s", ng_last_error());
    NG_CHECK(!exists(ng_test_in_dir("nan")) && !exists(ng_test_in_dir("nan.tmp")));
    m.U[(2 * 5 + 1) * 2] = 0;
    m.U[(1 * 5 + 3) * 2 + 1] = 0;
    /* a word word2vec cannot hold: refused before anything is written */
    free(m.word[3]);
    m.word[3] = ngi_strdup("blue sky");
    NG_CHECK(ng_dwe_export_word2vec(&m, ng_test_in_dir("spaced"), NG_W2V_TEXT) == NG_EINVAL);
    NG_CHECK_MSG(strstr(ng_last_error(), "spaced: word 3 'blue sky'") && !strstr(ng_last_error(), ".tmp"),
                 "%s", ng_last_error());
    NG_CHECK(!exists(ng_test_in_dir("spaced")) && !exists(ng_test_in_dir("spaced.tmp")));
    ng_dwe_model_free(&m);
}

/* ------------------------------------------------------------------ reader checks */

/* The tiny model with one file replaced (NULL content: removed); reading it must fail
 * with st and a message holding every given substring; out stays untouched. */
static void expect_bad(const char *file, const char *content, ng_status st, ...)
{
    write_model("bad", &k_tiny);
    const char *path = ng_test_in_dir("bad/%s", file);
    if (content) ng_test_write_text(path, content);
    else unlink(path);
    ng_dwe_model m;
    memset(&m, 0x5a, sizeof m);
    ng_status s = ng_dwe_model_read(ng_test_in_dir("bad"), &m);
    NG_CHECK_MSG(s == st, "%s: status %d (%s), expected %d", file, (int)s, ng_last_error(), (int)st);
    va_list ap;
    va_start(ap, st);
    for (const char *sub; (sub = va_arg(ap, const char *));)
        NG_CHECK_MSG(strstr(ng_last_error(), sub), "%s: no '%s' in: %s", file, sub, ng_last_error());
    va_end(ap);
    unsigned char pattern[sizeof m];
    memset(pattern, 0x5a, sizeof pattern);
    NG_CHECK(!memcmp(&m, pattern, sizeof m));
}

/* A float32 .npy of shape (a, b, c) written by hand: ng_npy_write refuses NaN and Inf. */
static void raw_npy_f32(const char *path, size_t a, size_t b, size_t c, const float *x)
{
    char h[128];
    int n = snprintf(h, sizeof h, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu, %zu), }",
                     a, b, c);
    while ((10 + n + 1) % 64) h[n++] = ' ';
    h[n++] = '\n';
    FILE *f = fopen(path, "wb");
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)n, 0};
    fwrite(pre, 1, 10, f);
    fwrite(h, 1, (size_t)n, f);
    for (size_t k = 0; k < a * b * c; k++) {
        uint32_t u;
        memcpy(&u, &x[k], 4);
        for (int q = 0; q < 4; q++) fputc((int)(u >> (8 * q)) & 0xff, f);
    }
    fclose(f);
}

static void bad_npy(const char *file, ng_dtype dt, size_t a, size_t b, size_t c, const void *x,
                    const char *want)
{
    write_model("bad", &k_tiny);
    if (dt == NG_F32) raw_npy_f32(ng_test_in_dir("bad/%s", file), a, b, c, x);
    else write_npy3(ng_test_in_dir("bad/%s", file), dt, a, b, c, x);
    ng_dwe_model m;
    NG_CHECK(ng_dwe_model_read(ng_test_in_dir("bad"), &m) == NG_EFORMAT);
    NG_CHECK_MSG(strstr(ng_last_error(), want), "no '%s' in: %s", want, ng_last_error());
}

#define META(body) "natgrad-dwe-model 1\n" body
#define META_OK "method smoothing\ndim 2\nW 5\nT 3\nsigma0 1\ndiffusion 0.001\nsymmetry none\nsteps 10\n"

static void test_reader_checks(void)
{
    expect_bad("model.txt", "natgrad-dwe-model 2\n" META_OK, NG_EFORMAT, "bad/model.txt:1:",
               "natgrad-dwe-model 1", NULL);
    expect_bad("model.txt", META("method smoothing\ndim 2\nW 5\nT 3\nsigma0 1\ndiffusion 0.001\nsymmetry none\n"),
               NG_EFORMAT, "no 'steps' line", NULL);
    expect_bad("model.txt", META(META_OK "dim 2\n"), NG_EFORMAT, "model.txt:10:", "each key once", NULL);
    expect_bad("model.txt", META("method smoothing\ndim 0\nW 5\nT 3\nsigma0 1\ndiffusion 0.001\nsymmetry none\nsteps 1\n"),
               NG_EFORMAT, "model.txt:3: dim '0'", NULL);
    expect_bad("model.txt", META("method smoothing\ndim 2\nW 5\nT 3\nsigma0 -1\ndiffusion 0.001\nsymmetry none\nsteps 1\n"),
               NG_EFORMAT, "model.txt:6: sigma0 '-1'", NULL);
    expect_bad("model.txt", META("method smoothing\ndim 2\nW 5\nT 3\nsigma0 1\ndiffusion nan\nsymmetry none\nsteps 1\n"),
               NG_EFORMAT, "model.txt:7: diffusion", NULL);
    expect_bad("model.txt", META("method smoothing\ndim 2\nW 5\nT 3\nsigma0 1\ndiffusion 1\nsymmetry none\nsteps -4\n"),
               NG_EFORMAT, "model.txt:9: steps", NULL);
    expect_bad("model.txt", META(META_OK "nonsense\n"), NG_EFORMAT, "model.txt:10:", NULL);
    expect_bad("model.txt", META("method smoothing\ndim 2\nW 5\nT 3\nsigma0 1\ndiffusion 0.001\nsymmetry sync goldstone\nsteps 1\n"),
               NG_EFORMAT, "model.txt:8: symmetry 'sync goldstone': expected one word", NULL);
    expect_bad("model.txt", META(META_OK "prior product\nprior conditional\n"), NG_EFORMAT, "model.txt:11:",
               "each key once", NULL);
    expect_bad("model.txt", META(META_OK "prior\tproduct\n"), NG_EFORMAT, "model.txt:10:", NULL);
    /* model.txt against the other files */
    expect_bad("model.txt", META("method smoothing\ndim 2\nW 6\nT 3\nsigma0 1\ndiffusion 0.001\nsymmetry none\nsteps 1\n"),
               NG_EFORMAT, "vocab.tsv: 5 lines: expected 6", NULL);
    expect_bad("model.txt", META("method smoothing\ndim 2\nW 5\nT 2\nsigma0 1\ndiffusion 0.001\nsymmetry none\nsteps 1\n"),
               NG_EFORMAT, "times.csv: 4 lines: expected 3", NULL);
    expect_bad("model.txt", META("method smoothing\ndim 3\nW 5\nT 3\nsigma0 1\ndiffusion 0.001\nsymmetry none\nsteps 1\n"),
               NG_EFORMAT, "U.npy: f32 array of shape (3, 5, 2): expected f32 of shape (T, W, dim) = (3, 5, 3)", NULL);
    /* vocab.tsv */
    expect_bad("vocab.tsv", "car\t10\nboat\t8\ncar\t5\nsky\t3\nsea\t1\n", NG_EFORMAT,
               "vocab.tsv:3: 'car' appears twice", NULL);
    expect_bad("vocab.tsv", "car\t10\nboat\t8\ncart\t-5\nsky\t3\nsea\t1\n", NG_EFORMAT, "vocab.tsv:3:", NULL);
    expect_bad("vocab.tsv", "car\t10\nboat 8\ncart\t5\nsky\t3\nsea\t1\n", NG_EFORMAT, "vocab.tsv:2:", NULL);
    expect_bad("vocab.tsv", "car\t10\n\t8\ncart\t5\nsky\t3\nsea\t1\n", NG_EFORMAT, "vocab.tsv:2:", NULL);
    expect_bad("vocab.tsv", "car\t10\nbo\xfft\t8\ncart\t5\nsky\t3\nsea\t1\n", NG_EFORMAT,
               "vocab.tsv:2: word 1: expected valid UTF-8", NULL);
    /* times.csv */
    expect_bad("times.csv", "slice,time\n0,1850,1\n1,1855,0\n2,1860,1\n", NG_EFORMAT, "times.csv:1:", NULL);
    expect_bad("times.csv", "slice,time,train\n0,1850,1\n1,1850,0\n2,1860,1\n", NG_EFORMAT,
               "times.csv:3: slice 1: time 1850 after 1850", NULL);
    expect_bad("times.csv", "slice,time,train\n0,1850,1\n1,1855,2\n2,1860,1\n", NG_EFORMAT, "times.csv:3:", NULL);
    expect_bad("times.csv", "slice,time,train\n0,1850,1\n2,1855,0\n2,1860,1\n", NG_EFORMAT, "times.csv:3:", NULL);
    expect_bad("times.csv", "slice,time,train\n0,1850,1\n1,inf,0\n2,1860,1\n", NG_EFORMAT, "times.csv:3:", NULL);
    /* the arrays */
    expect_bad("V.npy", NULL, NG_EIO, "bad/V.npy", NULL);
    expect_bad("U.npy", "\x93NUMPY\x01\x00", NG_EFORMAT, "U.npy", NULL);
    float U[3 * 5 * 2];
    memcpy(U, k_U, sizeof U);
    bad_npy("U.npy", NG_F32, 3, 2, 5, U, "U.npy: f32 array of shape (3, 2, 5)");
    bad_npy("U.npy", NG_F32, 3, 4, 2, U, "U.npy: f32 array of shape (3, 4, 2)");
    bad_npy("V.npy", NG_F32, 2, 5, 2, U, "V.npy: f32 array of shape (2, 5, 2)");
    double Ud[3 * 5 * 2] = {0};
    bad_npy("V.npy", NG_F64, 3, 5, 2, Ud, "V.npy: f64 array");
    U[(1 * 5 + 2) * 2 + 1] = NAN;
    bad_npy("U.npy", NG_F32, 3, 5, 2, U, "U.npy: element (1, 2, 1) (slice 1, word 'cart', dim 1) is nan");
    U[(1 * 5 + 2) * 2 + 1] = 0;
    U[29] = -INFINITY;
    bad_npy("V.npy", NG_F32, 3, 5, 2, U, "V.npy: element (2, 4, 1) (slice 2, word 'sea', dim 1) is -inf");
    /* accepted: keys the trainer adds, CRLF line ends, no final newline */
    write_model("ok", &k_tiny);
    ng_test_write_text(ng_test_in_dir("ok/model.txt"), META(META_OK "prior conditional\nseed 3\n"));
    ng_test_write_text(ng_test_in_dir("ok/times.csv"), "slice,time,train\r\n0,1850,1\r\n1,1855,0\r\n2,1860.5,1");
    ng_dwe_model m;
    NG_CHECK_MSG(ng_dwe_model_read(ng_test_in_dir("ok"), &m) == NG_OK, "%s", ng_last_error());
    NG_CHECK(m.time[2] == 1860.5);
    NG_CHECK(!strcmp(m.prior, "conditional") && !strcmp(m.symmetry, "none") && m.steps == 10);
    ng_dwe_model_free(&m);
    NG_CHECK(ng_dwe_model_read(ng_test_in_dir("nowhere"), &m) == NG_EIO);
    NG_CHECK(strstr(ng_last_error(), "nowhere/model.txt") != NULL);
}

int main(void)
{
    const char *base = getenv("NG_TEST_TMP");
    snprintf(ng_test_dir(), NG_TEST_DIR_MAX, "%s/test_dwe_query.%d", base ? base : "/tmp", (int)getpid());
    ngi_rm_rf(ng_test_dir());
    mkdir(ng_test_dir(), 0777);
    NG_RUN(test_read_tiny);
    NG_RUN(test_neighbours);
    NG_RUN(test_aging);
    NG_RUN(test_changed);
    NG_RUN(test_trajectory);
    NG_RUN(test_overlap_raw);
    NG_RUN(test_overlap_procrustes);
    NG_RUN(test_find);
    NG_RUN(test_word2vec_bytes);
    NG_RUN(test_export_dir);
    NG_RUN(test_reader_checks);
    if (!ng_t_failed) ngi_rm_rf(ng_test_dir());
    return ng_test_summary();
}
