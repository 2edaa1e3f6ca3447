/* test_runinfra.c - CSV metric logs and crash-safe checkpoints. */
#include "natgrad.h"
#include "internal.h" /* ngi_fail, ngi_asprintf */
#include "ngtest.h"

#include <inttypes.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------ helpers */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap + 1);
        }
    }
    fclose(f);
    b[n] = '\0';
    return b;
}

/* The CRC-32 of a file's bytes (zlib's, as a MANIFEST gives it). */
static uint32_t file_crc32(const char *path)
{
    unsigned char *b;
    size_t n;
    if (ng_read_file(path, &b, &n)) return 0;
    uint32_t c = (uint32_t)crc32(0L, b, (uInt)n);
    free(b);
    return c;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void rm_rf(const char *p)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    if (system(cmd) != 0) fprintf(stderr, "  (could not remove %s)\n", p);
}

static char *cat2(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *p = malloc(n);
    snprintf(p, n, "%s%s", a, b);
    return p;
}

/* A MANIFEST of the given lines, with the checksum line that makes it well formed. */
static void spit_manifest(const char *path, const char *lines)
{
    char *t = malloc(strlen(lines) + 32);
    sprintf(t, "%smanifest-crc32 %08" PRIx32 "\n", lines,
            (uint32_t)crc32(0L, (const unsigned char *)lines, (uInt)strlen(lines)));
    spit(path, t);
    free(t);
}

/* ------------------------------------------------------------------ CSV */

static const char *const k_cols[] = {"step", "loss", "gap"};

static void test_csv_header_and_rows(void)
{
    char *path = ng_test_path("runinfra_rows.csv");
    remove(path);
    ng_csv *c = NULL;
    NG_CHECK(ng_csv_open(path, k_cols, 3, 0, &c) == NG_OK);
    NG_CHECK(c != NULL);
    if (!c) return;
    double r1[3] = {1, 0.5, 0.25};
    double r2[3] = {2, 1.0 / 3.0, NAN}; /* unknown gap: empty field */
    double r3[3] = {3, -1.5e-12, 1e300};
    NG_CHECK(ng_csv_row(c, r1) == NG_OK);
    /* each row is flushed: readable while the log is still open */
    char *mid = slurp(path);
    NG_CHECK(mid && !strcmp(mid, "step,loss,gap\n1,0.5,0.25\n"));
    free(mid);
    NG_CHECK(ng_csv_row(c, r2) == NG_OK);
    NG_CHECK(ng_csv_row(c, r3) == NG_OK);
    ng_csv_close(c);
    char *s = slurp(path);
    NG_CHECK_MSG(s && !strcmp(s, "step,loss,gap\n1,0.5,0.25\n2,0.3333333333,\n3,-1.5e-12,1e+300\n"),
                 "got '%s'", s ? s : "(null)");
    /* the header appears once */
    NG_CHECK(s && strstr(s + 1, "step,") == NULL);
    /* rows read back: %.10g keeps 10 significant digits */
    if (s) {
        char *line2 = strchr(s, '\n') + 1;
        line2 = strchr(line2, '\n') + 1;
        double a, b;
        NG_CHECK(sscanf(line2, "%lf,%lf,", &a, &b) == 2);
        NG_CHECK_NEAR(a, 2.0, 0);
        NG_CHECK_REL(b, 1.0 / 3.0, 1e-9, 0);
    }
    free(s);
    free(path);
}

static void test_csv_inf_is_empty(void)
{
    char *path = ng_test_path("runinfra_inf.csv");
    ng_csv *c = NULL;
    NG_CHECK(ng_csv_open(path, k_cols, 3, 0, &c) == NG_OK);
    if (!c) return;
    double r[3] = {1, INFINITY, -INFINITY};
    NG_CHECK(ng_csv_row(c, r) == NG_OK);
    ng_csv_close(c);
    char *s = slurp(path);
    NG_CHECK(s && !strcmp(s, "step,loss,gap\n1,,\n"));
    NG_CHECK(s && !strstr(s, "inf") && !strstr(s, "nan"));
    free(s);
    free(path);
}

static void test_csv_append_same_header(void)
{
    char *path = ng_test_path("runinfra_append.csv");
    remove(path);
    ng_csv *c = NULL;
    /* append to a missing file: created with its header */
    NG_CHECK(ng_csv_open(path, k_cols, 3, 1, &c) == NG_OK);
    if (!c) return;
    double r1[3] = {1, 2, 3};
    NG_CHECK(ng_csv_row(c, r1) == NG_OK);
    ng_csv_close(c);
    c = NULL;
    NG_CHECK(ng_csv_open(path, k_cols, 3, 1, &c) == NG_OK);
    if (!c) return;
    double r2[3] = {2, 4, 6};
    NG_CHECK(ng_csv_row(c, r2) == NG_OK);
    ng_csv_close(c);
    char *s = slurp(path);
    NG_CHECK_MSG(s && !strcmp(s, "step,loss,gap\n1,2,3\n2,4,6\n"), "got '%s'", s ? s : "");
    free(s);

    /* a torn last row (killed mid-write) is cut before appending */
    spit(path, "step,loss,gap\n1,2,3\n2,4");
    c = NULL;
    NG_CHECK(ng_csv_open(path, k_cols, 3, 1, &c) == NG_OK);
    if (c) {
        double r3[3] = {2, 5, 7};
        NG_CHECK(ng_csv_row(c, r3) == NG_OK);
        ng_csv_close(c);
    }
    s = slurp(path);
    NG_CHECK_MSG(s && !strcmp(s, "step,loss,gap\n1,2,3\n2,5,7\n"), "got '%s'", s ? s : "");
    free(s);

    /* append = 0 truncates */
    c = NULL;
    NG_CHECK(ng_csv_open(path, k_cols, 3, 0, &c) == NG_OK);
    ng_csv_close(c);
    s = slurp(path);
    NG_CHECK(s && !strcmp(s, "step,loss,gap\n"));
    free(s);
    free(path);
}

/* ng_csv_resume at step k: the header and the leading rows up to k stay (the row at k only
 * when asked), the rest goes; then rows are appended. */
static void test_csv_resume_cut(void)
{
    char *path = ng_test_path("runinfra_resume.csv");
    const char *log = "step,loss,gap\n0,1,2\n2,3,4\n4,5,6\n5,7,8\n6,9,10\n8,11,12\n4,5,6\n9,13";
    struct {
        double k;
        int keep;
        const char *want;
    } cases[] = {
        {5, 1, "step,loss,gap\n0,1,2\n2,3,4\n4,5,6\n5,7,8\n"},
        {5, 0, "step,loss,gap\n0,1,2\n2,3,4\n4,5,6\n"},
        {4.5, 1, "step,loss,gap\n0,1,2\n2,3,4\n4,5,6\n"},
        {0, 0, "step,loss,gap\n"},
        {100, 1, "step,loss,gap\n0,1,2\n2,3,4\n4,5,6\n5,7,8\n6,9,10\n8,11,12\n4,5,6\n"}, /* the torn row */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        spit(path, log);
        ng_csv *c = NULL;
        NG_CHECK_MSG(ng_csv_resume(path, k_cols, 3, cases[i].k, cases[i].keep, &c) == NG_OK, "%s", ng_last_error());
        ng_csv_close(c);
        char *s = slurp(path);
        NG_CHECK_MSG(s && !strcmp(s, cases[i].want), "cut at %g (%d): '%s'", cases[i].k, cases[i].keep, s ? s : "");
        free(s);
    }
    /* rows appended after the cut */
    spit(path, log);
    ng_csv *c = NULL;
    NG_CHECK(ng_csv_resume(path, k_cols, 3, 4, 1, &c) == NG_OK);
    double r[3] = {6, 1, 1};
    NG_CHECK(c && ng_csv_row(c, r) == NG_OK);
    ng_csv_close(c);
    char *s = slurp(path);
    NG_CHECK_MSG(s && !strcmp(s, "step,loss,gap\n0,1,2\n2,3,4\n4,5,6\n6,1,1\n"), "'%s'", s ? s : "");
    free(s);
    /* a missing log is created; a torn header is rewritten */
    remove(path);
    NG_CHECK(ng_csv_resume(path, k_cols, 3, 4, 1, &c) == NG_OK);
    ng_csv_close(c);
    spit(path, "step,lo");
    NG_CHECK(ng_csv_resume(path, k_cols, 3, 4, 1, &c) == NG_EMISMATCH);
    spit(path, "step,loss,gap");
    NG_CHECK(ng_csv_resume(path, k_cols, 3, 4, 1, &c) == NG_OK);
    ng_csv_close(c);
    s = slurp(path);
    NG_CHECK_MSG(s && !strcmp(s, "step,loss,gap\n"), "'%s'", s ? s : "");
    free(s);
    /* a row that does not start with a number: file and line */
    spit(path, "step,loss,gap\n0,1,2\nx,3,4\n");
    NG_CHECK(ng_csv_resume(path, k_cols, 3, 4, 1, &c) == NG_EFORMAT);
    NG_CHECK_MSG(strstr(ng_last_error(), "runinfra_resume.csv:3:") != NULL, "%s", ng_last_error());
    spit(path, "step,loss,gap\n0,1,2\n,3,4\n");
    NG_CHECK(ng_csv_resume(path, k_cols, 3, 4, 1, &c) == NG_EFORMAT);
    /* another header */
    spit(path, "iter,loss,gap\n0,1,2\n");
    NG_CHECK(ng_csv_resume(path, k_cols, 3, 4, 1, &c) == NG_EMISMATCH);
    NG_CHECK(ng_csv_resume(path, k_cols, 3, NAN, 1, &c) == NG_EINVAL);
    free(path);
}

static void test_csv_header_mismatch(void)
{
    char *path = ng_test_path("runinfra_mismatch.csv");
    spit(path, "step,loss\n1,2\n");
    ng_csv *c = (ng_csv *)1;
    ng_status s = ng_csv_open(path, k_cols, 3, 1, &c);
    NG_CHECK(s == NG_EMISMATCH);
    NG_CHECK(c == NULL);
    const char *e = ng_last_error();
    NG_CHECK_MSG(strstr(e, "step,loss'") && strstr(e, "step,loss,gap") && strstr(e, path), "%s", e);
    /* the existing log is untouched */
    char *t = slurp(path);
    NG_CHECK(t && !strcmp(t, "step,loss\n1,2\n"));
    free(t);
    free(path);
}

static void test_csv_bad_args(void)
{
    ng_csv *c = NULL;
    char *path = ng_test_path("no-such-dir/sub/log.csv");
    ng_status s = ng_csv_open(path, k_cols, 3, 0, &c);
    NG_CHECK(s == NG_EIO);
    NG_CHECK(c == NULL);
    NG_CHECK_MSG(strstr(ng_last_error(), "no-such-dir/sub/log.csv") != NULL, "%s", ng_last_error());
    s = ng_csv_open(path, k_cols, 3, 1, &c);
    NG_CHECK(s == NG_EIO);
    free(path);

    path = ng_test_path("runinfra_badcols.csv");
    const char *const bad1[] = {"a", "b,c"};
    NG_CHECK(ng_csv_open(path, bad1, 2, 0, &c) == NG_EINVAL);
    const char *const bad2[] = {"a", "a"};
    NG_CHECK(ng_csv_open(path, bad2, 2, 0, &c) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "'a' appears twice") != NULL);
    NG_CHECK(ng_csv_open(path, k_cols, 0, 0, &c) == NG_EINVAL);
    NG_CHECK(ng_csv_row(NULL, NULL) == NG_EINVAL);
    free(path);
}

/* ------------------------------------------------------------------ checkpoints */

typedef struct {
    float w[2 * 3];
    double v[4];
    int64_t k[5];
} model_state;

static void state_fill(model_state *m, double base)
{
    for (int i = 0; i < 6; i++) m->w[i] = (float)(base + 0.25 * i);
    for (int i = 0; i < 4; i++) m->v[i] = base * 1e-3 + 1.0 / (i + 3);
    for (int i = 0; i < 5; i++) m->k[i] = (int64_t)base * 1000000007LL + i - 2;
}

static void state_arrays(model_state *m, ng_ckpt_array a[3])
{
    memset(a, 0, 3 * sizeof *a);
    a[0].name = "W";
    a[0].t.dtype = NG_F32;
    a[0].t.ndim = 2;
    a[0].t.shape[0] = 2;
    a[0].t.shape[1] = 3;
    a[0].t.data = m->w;
    a[1].name = "velocity.v";
    a[1].t.dtype = NG_F64;
    a[1].t.ndim = 1;
    a[1].t.shape[0] = 4;
    a[1].t.data = m->v;
    a[2].name = "rng_state-1";
    a[2].t.dtype = NG_I64;
    a[2].t.ndim = 1;
    a[2].t.shape[0] = 5;
    a[2].t.data = m->k;
}

static int state_equal(const model_state *a, const model_state *b)
{
    return !memcmp(a->w, b->w, sizeof a->w) && !memcmp(a->v, b->v, sizeof a->v) &&
           !memcmp(a->k, b->k, sizeof a->k);
}

static char *fresh_dir(const char *name)
{
    char *d = ng_test_path(name);
    char *t = cat2(d, ".tmp"), *o = cat2(d, ".old");
    rm_rf(d);
    rm_rf(t);
    rm_rf(o);
    free(t);
    free(o);
    return d;
}

static void test_ckpt_round_trip(void)
{
    char *dir = fresh_dir("runinfra_ckpt_rt");
    model_state a, b;
    ng_ckpt_array arr[3];
    state_fill(&a, 7);
    memset(&b, 0, sizeof b);
    NG_CHECK(!ng_ckpt_exists(dir));
    state_arrays(&a, arr);
    NG_CHECK_MSG(ng_ckpt_save(dir, "dmf", 12345678901LL, arr, 3) == NG_OK, "%s", ng_last_error());
    NG_CHECK(ng_ckpt_exists(dir));
    char *tmp = cat2(dir, ".tmp"), *old = cat2(dir, ".old");
    NG_CHECK(!exists(tmp) && !exists(old));
    /* the MANIFEST is the documented text: every array's CRC-32 is that of its file's bytes,
     * the last line that of the lines above it */
    char *mp = cat2(dir, "/MANIFEST");
    char *man = slurp(mp);
    char want[512];
    const char *stems[3] = {"/W.npy", "/velocity.v.npy", "/rng_state-1.npy"};
    uint32_t c[3];
    for (int i = 0; i < 3; i++) {
        char *p = cat2(dir, stems[i]);
        c[i] = file_crc32(p);
        free(p);
    }
    int k = snprintf(want, sizeof want,
                     "natgrad-checkpoint 2\nmodel dmf\nstep 12345678901\n"
                     "array W f32 2 3 crc32 %08" PRIx32 "\narray velocity.v f64 4 crc32 %08" PRIx32 "\n"
                     "array rng_state-1 i64 5 crc32 %08" PRIx32 "\n", c[0], c[1], c[2]);
    snprintf(want + k, sizeof want - (size_t)k, "manifest-crc32 %08" PRIx32 "\n",
             (uint32_t)crc32(0L, (const unsigned char *)want, (uInt)k));
    NG_CHECK_MSG(man && !strcmp(man, want), "%s\nvs\n%s", man ? man : "(null)", want);
    free(man);
    free(mp);

    int64_t step = -1;
    state_arrays(&b, arr);
    NG_CHECK_MSG(ng_ckpt_load(dir, "dmf", &step, arr, 3) == NG_OK, "%s", ng_last_error());
    NG_CHECK(step == 12345678901LL);
    NG_CHECK(state_equal(&a, &b));

    /* a second save replaces the first; a trailing slash names the same checkpoint */
    state_fill(&a, 8);
    state_arrays(&a, arr);
    char *dirslash = cat2(dir, "/");
    NG_CHECK(ng_ckpt_save(dirslash, "dmf", 20, arr, 3) == NG_OK);
    NG_CHECK(!exists(tmp) && !exists(old));
    memset(&b, 0, sizeof b);
    state_arrays(&b, arr);
    NG_CHECK(ng_ckpt_load(dirslash, "dmf", &step, arr, 3) == NG_OK);
    NG_CHECK(step == 20);
    NG_CHECK(state_equal(&a, &b));

    /* loading a subset of the arrays is fine */
    memset(&b, 0, sizeof b);
    state_arrays(&b, arr);
    NG_CHECK(ng_ckpt_load(dir, "dmf", NULL, arr + 1, 1) == NG_OK);
    NG_CHECK(!memcmp(a.v, b.v, sizeof a.v));
    free(dirslash);
    free(tmp);
    free(old);
    free(dir);
}

static void test_ckpt_mismatches(void)
{
    char *dir = fresh_dir("runinfra_ckpt_mm");
    model_state a, b;
    ng_ckpt_array arr[3];
    state_fill(&a, 3);
    state_arrays(&a, arr);
    NG_CHECK(ng_ckpt_save(dir, "ae-mnist", 5, arr, 3) == NG_OK);

    /* wrong model */
    memset(&b, 0, sizeof b);
    state_arrays(&b, arr);
    int64_t step = -1;
    ng_status s = ng_ckpt_load(dir, "dmf", &step, arr, 3);
    NG_CHECK(s == NG_EMISMATCH);
    NG_CHECK_MSG(strstr(ng_last_error(), "checkpoint is for model ae-mnist, expected dmf") != NULL,
                 "%s", ng_last_error());
    NG_CHECK(step == -1);

    /* wrong shape: nothing is loaded, the message names the array and both shapes */
    arr[0].t.shape[1] = 4;
    float w4[8] = {0};
    arr[0].t.data = w4;
    s = ng_ckpt_load(dir, "ae-mnist", &step, arr, 3);
    NG_CHECK(s == NG_EMISMATCH);
    const char *e = ng_last_error();
    NG_CHECK_MSG(strstr(e, "'W'") && strstr(e, "(2, 3)") && strstr(e, "(2, 4)"), "%s", e);
    NG_CHECK(b.v[0] == 0 && b.k[0] == 0);
    NG_CHECK(step == -1);

    /* wrong dtype */
    state_arrays(&b, arr);
    arr[1].t.dtype = NG_F32;
    s = ng_ckpt_load(dir, "ae-mnist", &step, arr, 3);
    NG_CHECK(s == NG_EMISMATCH);
    NG_CHECK_MSG(strstr(ng_last_error(), "'velocity.v'") && strstr(ng_last_error(), "f64"), "%s",
                 ng_last_error());

    /* missing array */
    state_arrays(&b, arr);
    arr[2].name = "momentum";
    s = ng_ckpt_load(dir, "ae-mnist", &step, arr, 3);
    NG_CHECK(s == NG_EMISMATCH);
    NG_CHECK_MSG(strstr(ng_last_error(), "'momentum' is missing") != NULL, "%s", ng_last_error());
    NG_CHECK(b.w[1] == 0.0f); /* nothing copied on failure */

    /* missing directory */
    char *none = fresh_dir("runinfra_ckpt_none");
    state_arrays(&b, arr);
    s = ng_ckpt_load(none, "ae-mnist", &step, arr, 3);
    NG_CHECK(s == NG_EIO);
    NG_CHECK(strstr(ng_last_error(), "runinfra_ckpt_none") != NULL);
    NG_CHECK(!ng_ckpt_exists(none));

    /* corrupt MANIFEST: file and line */
    char *mp = cat2(dir, "/MANIFEST");
    spit_manifest(mp, "natgrad-checkpoint 2\nmodel ae-mnist\nstep five\n");
    s = ng_ckpt_load(dir, "ae-mnist", &step, arr, 3);
    NG_CHECK(s == NG_EFORMAT);
    NG_CHECK_MSG(strstr(ng_last_error(), "MANIFEST:3:") != NULL, "%s", ng_last_error());
    /* blank-only lines are skipped; an unknown key is named with its line */
    spit_manifest(mp, "natgrad-checkpoint 2\n   \nmodel ae-mnist\nstep 5\nweights W\n");
    s = ng_ckpt_load(dir, "ae-mnist", &step, arr, 3);
    NG_CHECK(s == NG_EFORMAT);
    NG_CHECK_MSG(strstr(ng_last_error(), "MANIFEST:5: unknown key 'weights'") != NULL, "%s",
                 ng_last_error());
    spit_manifest(mp, "natgrad-checkpoint 2\nmodel ae-mnist\nstep 5\narray W f32 2 -3 crc32 00000000\n");
    NG_CHECK(ng_ckpt_load(dir, "ae-mnist", &step, arr, 3) == NG_EFORMAT);
    NG_CHECK_MSG(strstr(ng_last_error(), "MANIFEST:4:") != NULL, "%s", ng_last_error());
    spit_manifest(mp, "natgrad-checkpoint 2\nmodel ae-mnist\nstep 5\narray W c64 2 3 crc32 00000000\n");
    NG_CHECK(ng_ckpt_load(dir, "ae-mnist", &step, arr, 3) == NG_EFORMAT);
    /* an array line without its checksum, a short checksum, an array listed twice */
    spit_manifest(mp, "natgrad-checkpoint 2\nmodel ae-mnist\nstep 5\narray W f32 2 3\n");
    NG_CHECK(ng_ckpt_load(dir, "ae-mnist", &step, arr, 3) == NG_EFORMAT);
    NG_CHECK_MSG(strstr(ng_last_error(), "MANIFEST:4: array 'W' has no 'crc32"), "%s", ng_last_error());
    spit_manifest(mp, "natgrad-checkpoint 2\nmodel ae-mnist\nstep 5\narray W f32 2 3 crc32 123\n");
    NG_CHECK(ng_ckpt_load(dir, "ae-mnist", &step, arr, 3) == NG_EFORMAT);
    spit_manifest(mp, "natgrad-checkpoint 2\nmodel ae-mnist\nstep 5\narray W f32 2 3 crc32 00000000\n"
                      "array W f32 2 3 crc32 00000000\n");
    NG_CHECK(ng_ckpt_load(dir, "ae-mnist", &step, arr, 3) == NG_EFORMAT);
    NG_CHECK_MSG(strstr(ng_last_error(), "MANIFEST:5: array 'W' is listed twice"), "%s", ng_last_error());
    /* a manifest that matches but a truncated .npy: refused by its checksum, naming the
     * file; nothing loaded */
    char *np = cat2(dir, "/velocity.v.npy");
    char lines[512];
    char *wp = cat2(dir, "/W.npy"), *rp = cat2(dir, "/rng_state-1.npy");
    snprintf(lines, sizeof lines, "natgrad-checkpoint 2\nmodel ae-mnist\nstep 5\narray W f32 2 3 crc32 %08" PRIx32
             "\narray velocity.v f64 4 crc32 %08" PRIx32 "\narray rng_state-1 i64 5 crc32 %08" PRIx32 "\n",
             file_crc32(wp), file_crc32(np), file_crc32(rp));
    spit_manifest(mp, lines);
    memset(&b, 0, sizeof b);
    state_arrays(&b, arr);
    NG_CHECK_MSG(ng_ckpt_load(dir, "ae-mnist", &step, arr, 3) == NG_OK, "%s", ng_last_error());
    NG_CHECK(state_equal(&a, &b) && step == 5);
    spit(np, "\x93NUMPY");
    memset(&b, 0, sizeof b);
    state_arrays(&b, arr);
    step = -1;
    s = ng_ckpt_load(dir, "ae-mnist", &step, arr, 3);
    NG_CHECK(s == NG_EFORMAT);
    NG_CHECK_MSG(strstr(ng_last_error(), "velocity.v.npy") && strstr(ng_last_error(), "damaged"), "%s",
                 ng_last_error());
    NG_CHECK(b.w[1] == 0.0f && step == -1);
    free(np);
    free(wp);
    free(rp);
    /* format versions: 1 (no checksums) and unknown ones are refused with a message, but
     * the directory still counts as a checkpoint (a resume tries it and says why not,
     * instead of starting over and replacing it); anything else is not one */
    spit(mp, "natgrad-checkpoint 1\nmodel ae-mnist\nstep 5\narray W f32 2 3\n");
    NG_CHECK(ng_ckpt_exists(dir));
    NG_CHECK(ng_ckpt_load(dir, "ae-mnist", &step, arr, 3) == NG_EUNSUPPORTED);
    NG_CHECK_MSG(strstr(ng_last_error(), "format 1"), "%s", ng_last_error());
    spit(mp, "natgrad-checkpoint 3\n");
    NG_CHECK(ng_ckpt_load(dir, "ae-mnist", &step, arr, 3) == NG_EUNSUPPORTED);
    NG_CHECK_MSG(strstr(ng_last_error(), "format 3"), "%s", ng_last_error());
    spit(mp, "natgrad-checkpoint 2\n");
    NG_CHECK(ng_ckpt_load(dir, "ae-mnist", &step, arr, 3) == NG_EFORMAT);
    NG_CHECK_MSG(strstr(ng_last_error(), "manifest-crc32"), "%s", ng_last_error());
    spit(mp, "natgrad-checkpoint two\n");
    NG_CHECK(ng_ckpt_load(dir, "ae-mnist", &step, arr, 3) == NG_EFORMAT);
    spit(mp, "NATGRAD-checkpoint 2\n");
    NG_CHECK(ng_ckpt_load(dir, "ae-mnist", &step, arr, 3) == NG_EFORMAT);
    NG_CHECK(!ng_ckpt_exists(dir));
    free(mp);
    free(none);
    free(dir);
}

static void test_ckpt_stale_tmp(void)
{
    char *dir = fresh_dir("runinfra_ckpt_stale");
    char *tmp = cat2(dir, ".tmp");
    /* a crashed save left DIR.tmp with junk in it */
    NG_CHECK(mkdir(tmp, 0777) == 0);
    char *junk = cat2(tmp, "/W.npy");
    spit(junk, "garbage");
    char *junk2 = cat2(tmp, "/MANIFEST");
    spit(junk2, "natgrad-checkpoint 2\nmodel other\nstep 99\n");
    NG_CHECK(!ng_ckpt_exists(dir));

    model_state a, b;
    ng_ckpt_array arr[3];
    state_fill(&a, 11);
    state_arrays(&a, arr);
    NG_CHECK_MSG(ng_ckpt_save(dir, "m", 4, arr, 3) == NG_OK, "%s", ng_last_error());
    NG_CHECK(!exists(tmp));
    memset(&b, 0, sizeof b);
    state_arrays(&b, arr);
    int64_t step = 0;
    NG_CHECK(ng_ckpt_load(dir, "m", &step, arr, 3) == NG_OK);
    NG_CHECK(step == 4 && state_equal(&a, &b));
    free(junk);
    free(junk2);
    free(tmp);
    free(dir);
}

static void test_ckpt_interrupted_swap(void)
{
    char *dir = fresh_dir("runinfra_ckpt_swap");
    char *old = cat2(dir, ".old");
    model_state a, b;
    ng_ckpt_array arr[3];
    state_fill(&a, 5);
    state_arrays(&a, arr);
    NG_CHECK(ng_ckpt_save(dir, "m", 77, arr, 3) == NG_OK);
    /* simulate a crash between "DIR -> DIR.old" and "DIR.tmp -> DIR" */
    NG_CHECK(rename(dir, old) == 0);
    NG_CHECK(ng_ckpt_exists(dir));
    memset(&b, 0, sizeof b);
    state_arrays(&b, arr);
    int64_t step = 0;
    NG_CHECK_MSG(ng_ckpt_load(dir, "m", &step, arr, 3) == NG_OK, "%s", ng_last_error());
    NG_CHECK(step == 77 && state_equal(&a, &b));
    NG_CHECK(exists(dir) && !exists(old)); /* the load put it back */
    NG_CHECK(rename(dir, old) == 0);

    /* the next save goes through and cleans DIR.old up */
    state_fill(&a, 6);
    state_arrays(&a, arr);
    NG_CHECK(ng_ckpt_save(dir, "m", 78, arr, 3) == NG_OK);
    NG_CHECK(exists(dir) && !exists(old));
    memset(&b, 0, sizeof b);
    state_arrays(&b, arr);
    NG_CHECK(ng_ckpt_load(dir, "m", &step, arr, 3) == NG_OK);
    NG_CHECK(step == 78 && state_equal(&a, &b));
    free(old);
    free(dir);
}

static void test_ckpt_failed_save_keeps_previous(void)
{
    char *dir = fresh_dir("runinfra_ckpt_fail");
    char *tmp = cat2(dir, ".tmp");
    model_state a, b;
    ng_ckpt_array arr[3];
    state_fill(&a, 9);
    state_arrays(&a, arr);
    NG_CHECK(ng_ckpt_save(dir, "m", 1, arr, 3) == NG_OK);

    /* an invalid array name: refused, the good checkpoint stays */
    model_state c;
    state_fill(&c, 10);
    state_arrays(&c, arr);
    arr[1].name = "../evil";
    NG_CHECK(ng_ckpt_save(dir, "m", 2, arr, 3) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "../evil") != NULL);
    /* a failure half-way through writing (second array has an invalid dtype) */
    state_arrays(&c, arr);
    arr[1].t.dtype = (ng_dtype)99;
    NG_CHECK(ng_ckpt_save(dir, "m", 2, arr, 3) != NG_OK);
    /* a NaN in a float array is refused by the .npy writer, after W was written */
    state_arrays(&c, arr);
    c.v[2] = NAN;
    ng_status s = ng_ckpt_save(dir, "m", 2, arr, 3);
    NG_CHECK(s == NG_ENUMERIC);
    NG_CHECK_MSG(strstr(ng_last_error(), "velocity.v.npy") != NULL, "%s", ng_last_error());
    NG_CHECK(!exists(tmp));
    /* bad model names */
    state_fill(&c, 10);
    NG_CHECK(ng_ckpt_save(dir, "two words", 2, arr, 3) == NG_EINVAL);
    NG_CHECK(ng_ckpt_save(dir, "", 2, arr, 3) == NG_EINVAL);

    memset(&b, 0, sizeof b);
    state_arrays(&b, arr);
    int64_t step = 0;
    NG_CHECK_MSG(ng_ckpt_load(dir, "m", &step, arr, 3) == NG_OK, "%s", ng_last_error());
    NG_CHECK(step == 1 && state_equal(&a, &b));

    /* a directory that is not a checkpoint is never replaced */
    char *other = fresh_dir("runinfra_ckpt_notours");
    NG_CHECK(mkdir(other, 0777) == 0);
    char *keep = cat2(other, "/precious.txt");
    spit(keep, "data");
    state_arrays(&a, arr);
    NG_CHECK(ng_ckpt_save(other, "m", 1, arr, 3) == NG_EINVAL);
    NG_CHECK(exists(keep));
    /* ... but an empty one is fine */
    char *empty = fresh_dir("runinfra_ckpt_empty");
    NG_CHECK(mkdir(empty, 0777) == 0);
    NG_CHECK(ng_ckpt_save(empty, "m", 1, arr, 3) == NG_OK);
    NG_CHECK(ng_ckpt_exists(empty));
    free(empty);
    free(keep);
    free(other);
    free(tmp);
    free(dir);
}

/* ngi_fail may be given ng_last_error() to add context (common.c formats via a scratch
 * buffer); ngi_asprintf has no fixed size. */
static void test_fail_context(void)
{
    ngi_fail(NG_EIO, "inner %d", 42);
    NG_CHECK(!strcmp(ng_last_error(), "inner 42"));
    NG_CHECK(ngi_fail(NG_EFORMAT, "outer: %s (again: %s)", ng_last_error(), ng_last_error()) ==
             NG_EFORMAT);
    NG_CHECK_MSG(!strcmp(ng_last_error(), "outer: inner 42 (again: inner 42)"), "%s",
                 ng_last_error());
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *p = ngi_asprintf("%s/%s", big, "MANIFEST");
    NG_CHECK(p && strlen(p) == sizeof big - 1 + 9 && !strcmp(p + sizeof big - 1, "/MANIFEST"));
    free(p);
    NG_CHECK(!strcmp(ng_status_name(NG_EMISMATCH), "mismatch"));
    NG_CHECK(!strcmp(ng_version(), NG_VERSION_STRING));
}

int main(void)
{
    NG_RUN(test_fail_context);
    NG_RUN(test_csv_header_and_rows);
    NG_RUN(test_csv_inf_is_empty);
    NG_RUN(test_csv_append_same_header);
    NG_RUN(test_csv_resume_cut);
    NG_RUN(test_csv_header_mismatch);
    NG_RUN(test_csv_bad_args);
    NG_RUN(test_ckpt_round_trip);
    NG_RUN(test_ckpt_mismatches);
    NG_RUN(test_ckpt_stale_tmp);
    NG_RUN(test_ckpt_interrupted_swap);
    NG_RUN(test_ckpt_failed_save_keeps_previous);
    return ng_test_summary();
}
