/* test_checkpoint.c - checkpoints that cannot lie: every byte of every file of a checkpoint
 * (the MANIFEST and an array file of each dtype, a scalar and an empty array among them) is
 * flipped in turn, and every flip is refused on load, naming the damaged array, with the
 * caller's buffers untouched; truncated, extended and missing files likewise; the fallback
 * to DIR.old (a save killed between its renames) checks as much. */
#include "natgrad.h"
#include "ngtest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NA 8

typedef struct {
    uint8_t u8[5];
    int8_t i8[3];
    int16_t i16[2][3];
    int32_t i32[4];
    int64_t i64[2];
    float f32[2][2][3];
    double f64; /* a scalar: 0 dimensions */
    float none[1]; /* an empty array: shape (0, 3) */
} state;

static const char *const k_names[NA] = {"bytes", "small", "shorts", "ints", "rng.s", "W-1", "lambda", "empty"};

static void fill(state *s, int base)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 5; i++) s->u8[i] = (uint8_t)(base * 7 + i);
    for (int i = 0; i < 3; i++) s->i8[i] = (int8_t)(-base - i);
    for (int i = 0; i < 6; i++) s->i16[i / 3][i % 3] = (int16_t)(base * 300 - i);
    for (int i = 0; i < 4; i++) s->i32[i] = base * 100000 + i;
    for (int i = 0; i < 2; i++) s->i64[i] = (int64_t)base * 0x123456789LL + i;
    for (int i = 0; i < 12; i++) s->f32[i / 6][(i / 3) % 2][i % 3] = (float)base + 0.125f * (float)i;
    s->f64 = base * 1e-3;
}

static void views(state *s, ng_ckpt_array a[NA])
{
    memset(a, 0, NA * sizeof *a);
    a[0] = ng_ckpt_view(k_names[0], NG_U8, s->u8, 1, 5, 0, 0);
    a[1] = ng_ckpt_view(k_names[1], NG_I8, s->i8, 1, 3, 0, 0);
    a[2] = ng_ckpt_view(k_names[2], NG_I16, s->i16, 2, 2, 3, 0);
    a[3] = ng_ckpt_view(k_names[3], NG_I32, s->i32, 1, 4, 0, 0);
    a[4] = ng_ckpt_view(k_names[4], NG_I64, s->i64, 1, 2, 0, 0);
    a[5] = ng_ckpt_view(k_names[5], NG_F32, s->f32, 3, 2, 2, 3);
    a[6].name = k_names[6];
    a[6].t.dtype = NG_F64;
    a[6].t.ndim = 0;
    a[6].t.data = &s->f64;
    a[7] = ng_ckpt_view(k_names[7], NG_F32, s->none, 2, 0, 3, 0);
}

/* Overwrites one byte in place (no truncation: rewriting whole files through O_TRUNC makes
 * ext4 flush each one, which is slow). */
static void poke(const char *path, size_t at, unsigned char v)
{
    FILE *f = fopen(path, "r+b");
    if (!f) return;
    fseek(f, (long)at, SEEK_SET);
    fputc(v, f);
    fclose(f);
}

static char *join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *p = malloc(n);
    snprintf(p, n, "%s%s%s", a, b, c);
    return p;
}

static char *fresh(const char *name)
{
    char *d = ng_test_path(name);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.tmp' '%s.old'", d, d, d);
    if (system(cmd) != 0) fprintf(stderr, "  (could not clear %s)\n", d);
    return d;
}

/* A load of the whole state: refused (returns the status), nothing copied, step unchanged. */
static ng_status load_refused(const char *dir, const char *expect_in_msg, const char *what)
{
    state b;
    memset(&b, 0xab, sizeof b);
    state untouched = b;
    ng_ckpt_array a[NA];
    views(&b, a);
    int64_t step = -7;
    ng_status s = ng_ckpt_load(dir, "m", &step, a, NA);
    NG_CHECK_MSG(s != NG_OK, "%s: a damaged checkpoint was loaded", what);
    NG_CHECK_MSG(!memcmp(&b, &untouched, sizeof b) && step == -7, "%s: the load changed the buffers", what);
    if (s != NG_OK && expect_in_msg)
        NG_CHECK_MSG(strstr(ng_last_error(), expect_in_msg) != NULL, "%s: '%s' not in: %s", what, expect_in_msg,
                     ng_last_error());
    return s;
}

static int loads_back(const char *dir, const state *want, int64_t want_step)
{
    state b;
    memset(&b, 0, sizeof b);
    ng_ckpt_array a[NA];
    views(&b, a);
    int64_t step = -1;
    ng_status s = ng_ckpt_load(dir, "m", &step, a, NA);
    return s == NG_OK && step == want_step && !memcmp(&b, want, sizeof b);
}

/* Every byte of every array file, one bit flipped at a time. */
static void test_flip_array_bytes(void)
{
    char *dir = fresh("ckpt_flip");
    state s;
    fill(&s, 3);
    ng_ckpt_array a[NA];
    views(&s, a);
    NG_CHECK_MSG(ng_ckpt_save(dir, "m", 42, a, NA) == NG_OK, "%s", ng_last_error());
    NG_CHECK(loads_back(dir, &s, 42));
    int refused = 0, flips = 0, named = 0, read_refused = 0;
    for (int k = 0; k < NA; k++) {
        char *p = join(dir, "/", k_names[k]);
        char *path = join(p, ".npy", "");
        size_t n = 0;
        unsigned char *orig = ng_test_read_file(path, &n);
        NG_CHECK(orig && n >= 64);
        for (size_t i = 0; orig && i < n; i++) {
            unsigned char bit = (unsigned char)(1u << (i % 8)); /* every bit position in turn */
            poke(path, i, orig[i] ^ bit);
            char what[128];
            snprintf(what, sizeof what, "%s.npy byte %zu", k_names[k], i);
            ng_status st = load_refused(dir, NULL, what);
            refused += st != NG_OK;
            char quoted[64];
            snprintf(quoted, sizeof quoted, "'%s'", k_names[k]);
            named += strstr(ng_last_error(), quoted) != NULL && strstr(ng_last_error(), "damaged") != NULL;
            ng_tensor t;
            read_refused += ng_ckpt_read(dir, k_names[k], &t) != NG_OK;
            ng_tensor_free(&t);
            poke(path, i, orig[i]);
            flips++;
        }
        /* truncated by one byte, one byte more, missing */
        if (orig) {
            ng_test_write_file(path, orig, n - 1);
            load_refused(dir, k_names[k], "truncated");
            unsigned char *more = malloc(n + 1);
            memcpy(more, orig, n);
            more[n] = 0;
            ng_test_write_file(path, more, n + 1);
            load_refused(dir, k_names[k], "one byte more");
            free(more);
            remove(path);
            NG_CHECK(load_refused(dir, path, "missing file") == NG_EIO);
            ng_test_write_file(path, orig, n);
        }
        NG_CHECK_MSG(loads_back(dir, &s, 42), "%s restored", k_names[k]);
        free(orig);
        free(path);
        free(p);
    }
    NG_CHECK_MSG(flips >= NA * 64 && refused == flips && named == flips && read_refused == flips,
                 "%d flips: %d refused, %d named the array, %d refused by ng_ckpt_read", flips, refused, named,
                 read_refused);
    /* the other arrays of a checkpoint with one damaged array still read one by one */
    char *wp = join(dir, "/W-1.npy", "");
    size_t n;
    unsigned char *w = ng_test_read_file(wp, &n);
    w[n - 1] ^= 0x40;
    ng_test_write_file(wp, w, n);
    ng_tensor t;
    NG_CHECK(ng_ckpt_read(dir, "W-1", &t) == NG_EFORMAT);
    NG_CHECK_MSG(strstr(ng_last_error(), "array 'W-1' is damaged") != NULL, "%s", ng_last_error());
    NG_CHECK(ng_ckpt_read(dir, "ints", &t) == NG_OK && t.dtype == NG_I32 && ((int32_t *)t.data)[3] == s.i32[3]);
    ng_tensor_free(&t);
    free(w);
    free(wp);
    free(dir);
}

/* Every byte of the MANIFEST, each of three bits flipped: never a load. */
static void test_flip_manifest_bytes(void)
{
    char *dir = fresh("ckpt_flip_manifest");
    state s;
    fill(&s, 4);
    ng_ckpt_array a[NA];
    views(&s, a);
    NG_CHECK(ng_ckpt_save(dir, "m", 1234, a, NA) == NG_OK);
    char *mp = join(dir, "/MANIFEST", "");
    size_t n = 0;
    unsigned char *orig = ng_test_read_file(mp, &n);
    NG_CHECK(orig && n > 100);
    int flips = 0, refused = 0;
    const unsigned char bits[3] = {0x01, 0x20, 0x80};
    for (size_t i = 0; orig && i < n; i++)
        for (int b = 0; b < 3; b++) {
            poke(mp, i, orig[i] ^ bits[b]);
            char what[64];
            snprintf(what, sizeof what, "MANIFEST byte %zu ^ 0x%02x", i, bits[b]);
            flips++;
            refused += load_refused(dir, NULL, what) != NG_OK;
            poke(mp, i, orig[i]);
        }
    NG_CHECK_MSG(refused == flips, "%d of %d MANIFEST flips refused", refused, flips);
    /* the step line in particular: a flipped digit is a damaged MANIFEST, not another step */
    char *txt = malloc(n + 1);
    memcpy(txt, orig, n);
    txt[n] = '\0';
    char *st = strstr(txt, "step 1234");
    NG_CHECK(st != NULL);
    if (st) {
        st[8] = '5';
        ng_test_write_file(mp, txt, n);
        load_refused(dir, "MANIFEST: damaged", "step 1235");
    }
    /* a MANIFEST cut short (a lost last line) */
    ng_test_write_file(mp, orig, n - 10);
    load_refused(dir, "manifest-crc32", "truncated MANIFEST");
    ng_test_write_file(mp, orig, n);
    NG_CHECK(loads_back(dir, &s, 1234));
    free(txt);
    free(orig);
    free(mp);
    free(dir);
}

/* Between the two renames of a save only DIR.old exists: it is checked as DIR would be. */
static void test_old_fallback_checked(void)
{
    char *dir = fresh("ckpt_flip_old");
    state s;
    fill(&s, 5);
    ng_ckpt_array a[NA];
    views(&s, a);
    NG_CHECK(ng_ckpt_save(dir, "m", 9, a, NA) == NG_OK);
    char *old = join(dir, ".old", "");
    NG_CHECK(rename(dir, old) == 0);
    NG_CHECK(loads_back(dir, &s, 9));
    NG_CHECK(rename(dir, old) == 0); /* the load moved it back to DIR */
    char *p = join(old, "/bytes.npy", "");
    size_t n;
    unsigned char *b = ng_test_read_file(p, &n);
    b[n - 2] ^= 1;
    ng_test_write_file(p, b, n);
    load_refused(dir, "array 'bytes' is damaged", "DIR.old");
    char *none = join(dir, "/MANIFEST", "");
    NG_CHECK(fopen(none, "rb") == NULL); /* a damaged DIR.old stays where it is */
    free(none);
    ng_tensor t;
    NG_CHECK(ng_ckpt_read(dir, "bytes", &t) == NG_EFORMAT);
    b[n - 2] ^= 1;
    ng_test_write_file(p, b, n);
    NG_CHECK(ng_ckpt_read(dir, "bytes", &t) == NG_OK && ((uint8_t *)t.data)[4] == s.u8[4]);
    ng_tensor_free(&t);
    free(b);
    free(p);
    free(old);
    free(dir);
}

int main(void)
{
    NG_RUN(test_flip_array_bytes);
    NG_RUN(test_flip_manifest_bytes);
    NG_RUN(test_old_fallback_checked);
    return ng_test_summary();
}
