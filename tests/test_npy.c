/* test_npy.c - .npy round trips for every dtype, v2.0 headers, numpy's exact header
 * layout, and rejection of Fortran order, unsupported dtypes, big-endian and truncated
 * files. No numpy needed: the reference bytes are written out here. */
#include "natgrad.h"
#include "ngtest.h"

#include <dirent.h>
#include <stdint.h>
#include <unistd.h>

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static int no_temp_files(void)
{
    char *dir = ng_test_path("");
    DIR *d = opendir(dir);
    free(dir);
    if (!d) return 0;
    struct dirent *e;
    int ok = 1;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".npy.tmp.")) ok = 0;
    closedir(d);
    return ok;
}

static void test_round_trip(void)
{
    const ng_dtype types[] = {NG_U8, NG_I8, NG_I16, NG_I32, NG_I64, NG_F32, NG_F64};
    for (size_t k = 0; k < 7; k++) {
        const size_t shapes[3][3] = {{4, 0, 0}, {3, 5, 0}, {2, 3, 4}};
        for (int nd = 1; nd <= 3; nd++) {
            ng_tensor t;
            memset(&t, 0, sizeof t);
            t.dtype = types[k];
            t.ndim = nd;
            for (int i = 0; i < nd; i++) t.shape[i] = shapes[nd - 1][i];
            size_t n = ng_tensor_count(&t), es = ng_dtype_size(t.dtype);
            t.data = malloc(n * es);
            unsigned char *b = t.data;
            for (size_t i = 0; i < n * es; i++) b[i] = (unsigned char)(i * 13 + k);
            /* keep float patterns finite: clear the exponent's top bit */
            if (t.dtype == NG_F32)
                for (size_t i = 0; i < n; i++) ((float *)t.data)[i] = (float)i * 0.25f - 1.0f;
            if (t.dtype == NG_F64)
                for (size_t i = 0; i < n; i++) ((double *)t.data)[i] = (double)i / 3.0 - 2.0;
            char name[64];
            snprintf(name, sizeof name, "npy_rt_%zu_%d.npy", k, nd);
            char *p = ng_test_path(name);
            NG_CHECK_MSG(ng_npy_write(p, &t) == NG_OK, "%s", ng_last_error());
            size_t len;
            unsigned char *raw = ng_test_read_file(p, &len);
            NG_CHECK(raw && len > 64);
            if (raw && len > 64) {
                size_t hl = raw[8] | (size_t)raw[9] << 8;
                NG_CHECK((10 + hl) % 64 == 0);
                NG_CHECK(raw[10 + hl - 1] == '\n');
                NG_CHECK(len == 10 + hl + n * es);
                NG_CHECK(memcmp(raw + 10 + hl, t.data, n * es) == 0); /* little-endian host */
            }
            free(raw);
            ng_tensor r;
            NG_CHECK_MSG(ng_npy_read(p, &r) == NG_OK, "%s", ng_last_error());
            NG_CHECK(r.dtype == t.dtype && r.ndim == nd);
            for (int i = 0; i < nd; i++) NG_CHECK(r.shape[i] == t.shape[i]);
            NG_CHECK(r.data && memcmp(r.data, t.data, n * es) == 0);
            ng_tensor_free(&r);
            ng_tensor_free(&t);
            free(p);
        }
    }
    NG_CHECK(no_temp_files());
}

/* The header numpy 1.24 writes for np.save(f, np.arange(6, dtype='<i2').reshape(2, 3)). */
static void test_numpy_layout(void)
{
    int16_t v[6] = {0, 1, 2, 3, 4, 5};
    ng_tensor t = {NG_I16, 2, {2, 3}, v};
    char *p = ng_test_path("npy_layout.npy");
    NG_CHECK(ng_npy_write(p, &t) == NG_OK);
    size_t len;
    unsigned char *raw = ng_test_read_file(p, &len);
    const char *dict = "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }";
    NG_CHECK(len == 128 + 12);
    if (raw && len == 140) {
        NG_CHECK(memcmp(raw, "\x93NUMPY\x01\x00\x76\x00", 10) == 0);
        NG_CHECK(memcmp(raw + 10, dict, strlen(dict)) == 0);
        int spaces = 1;
        for (size_t i = 10 + strlen(dict); i < 127; i++) spaces &= raw[i] == ' ';
        NG_CHECK(spaces && raw[127] == '\n');
    }
    free(raw);
    /* 1-D shape is written as (n,) and a 0-d array as () */
    double s = 2.5;
    ng_tensor t0 = {NG_F64, 0, {0}, &s};
    NG_CHECK(ng_npy_write(p, &t0) == NG_OK);
    raw = ng_test_read_file(p, &len);
    NG_CHECK(raw && len == 128 + 8 && memmem(raw, len, "'shape': (), }", 14));
    free(raw);
    ng_tensor r;
    NG_CHECK(ng_npy_read(p, &r) == NG_OK && r.ndim == 0 && r.data && *(double *)r.data == 2.5);
    ng_tensor_free(&r);
    ng_tensor t1 = {NG_I16, 1, {6}, v};
    NG_CHECK(ng_npy_write(p, &t1) == NG_OK);
    raw = ng_test_read_file(p, &len);
    NG_CHECK(raw && memmem(raw, len, "'shape': (6,), }", 16));
    free(raw);
    free(p);
}

/* Builds a .npy image by hand: version major, header dict, data bytes. */
static size_t make_npy(unsigned char *out, int major, const char *dict, const void *data, size_t nd)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hl = total - pre;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    out[8] = (unsigned char)(hl & 0xff);
    out[9] = (unsigned char)(hl >> 8);
    if (major != 1) out[10] = out[11] = 0;
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', hl - dl - 1);
    out[total - 1] = '\n';
    memcpy(out + total, data, nd);
    return total + nd;
}

static void test_v2_and_variants(void)
{
    unsigned char buf[512];
    float f[3] = {1.5f, -2.0f, 3.25f};
    const char *ok_dicts[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3,)}",
        "{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}",
        "{'descr':'<f4','fortran_order':False,'shape':(1, 3)}",
    };
    for (int major = 1; major <= 3; major++)
        for (int d = 0; d < 4; d++) {
            size_t n = make_npy(buf, major, ok_dicts[d], f, sizeof f);
            char *p = ng_test_path("npy_v.npy");
            ng_test_write_file(p, buf, n);
            ng_tensor r;
            NG_CHECK_MSG(ng_npy_read(p, &r) == NG_OK, "v%d dict %d: %s", major, d, ng_last_error());
            NG_CHECK(r.dtype == NG_F32 && ng_tensor_count(&r) == 3 && r.ndim == (d == 3 ? 2 : 1));
            NG_CHECK(r.data && memcmp(r.data, f, sizeof f) == 0);
            ng_tensor_free(&r);
            free(p);
        }
}

static void expect_bad(const char *name, const unsigned char *b, size_t n, ng_status s,
                       const char *sub)
{
    char *p = ng_test_path(name);
    ng_test_write_file(p, b, n);
    ng_tensor r;
    ng_status got = ng_npy_read(p, &r);
    const char *e = ng_last_error();
    NG_CHECK_MSG(got == s, "%s: status %d, expected %d: %s", name, got, s, e);
    NG_CHECK_MSG(has(e, p) && has(e, sub), "%s: expected '%s' and the path in: %s", name, sub, e);
    NG_CHECK(r.data == NULL);
    free(p);
}

static void test_rejects(void)
{
    unsigned char buf[512];
    double d[4] = {1, 2, 3, 4};
    size_t n;
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", d, sizeof d);
    expect_bad("npy_fortran.npy", buf, n, NG_EUNSUPPORTED, "Fortran");
    n = make_npy(buf, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", d, 16);
    expect_bad("npy_complex.npy", buf, n, NG_EUNSUPPORTED, "unsupported .npy dtype '<c8'");
    n = make_npy(buf, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", d, 2);
    expect_bad("npy_bool.npy", buf, n, NG_EUNSUPPORTED, "'|b1'");
    n = make_npy(buf, 1, "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", d, 24);
    expect_bad("npy_str.npy", buf, n, NG_EUNSUPPORTED, "'<U3'");
    n = make_npy(buf, 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (4,), }", d, sizeof d);
    expect_bad("npy_bigendian.npy", buf, n, NG_EUNSUPPORTED, "big-endian");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", d, sizeof d);
    expect_bad("npy_truncated.npy", buf, n, NG_EFORMAT, "truncated .npy data: 32 bytes");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", d, sizeof d);
    expect_bad("npy_long.npy", buf, n, NG_EFORMAT, "too long");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", d, sizeof d);
    expect_bad("npy_cut_header.npy", buf, 40, NG_EFORMAT, "truncated .npy header");
    n = make_npy(buf, 1, "{'descr': '<f8', 'shape': (4,), }", d, sizeof d);
    expect_bad("npy_no_order.npy", buf, n, NG_EFORMAT, "fortran_order");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (a,), }", d, sizeof d);
    expect_bad("npy_bad_shape.npy", buf, n, NG_EFORMAT, "shape");
    n = make_npy(buf, 1, "{'fortran_order': False, 'shape': (4,), }", d, sizeof d);
    expect_bad("npy_no_descr.npy", buf, n, NG_EFORMAT, "descr");
    n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,4), }", d, sizeof d);
    expect_bad("npy_ndim9.npy", buf, n, NG_EUNSUPPORTED, "more than 8");
    n = make_npy(buf, 4, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", d, sizeof d);
    expect_bad("npy_v4.npy", buf, n, NG_EUNSUPPORTED, "version 4.0");
    const unsigned char junk[] = "PK\x03\x04 not numpy";
    expect_bad("npy_junk.npy", junk, sizeof junk, NG_EFORMAT, "not a .npy file");
    char *p = ng_test_path("npy_missing.npy");
    ng_tensor r;
    NG_CHECK(ng_npy_read(p, &r) == NG_EIO && has(ng_last_error(), p));
    free(p);
}

static void test_write_atomic(void)
{
    char *p = ng_test_path("npy_atomic.npy");
    float good[2] = {1, 2};
    ng_tensor t = {NG_F32, 1, {2}, good};
    NG_CHECK(ng_npy_write(p, &t) == NG_OK);
    /* a NaN is reported and the previous file is left intact */
    float bad[3] = {1, 2, INFINITY};
    ng_tensor tb = {NG_F32, 1, {3}, bad};
    NG_CHECK(ng_npy_write(p, &tb) == NG_ENUMERIC);
    NG_CHECK(has(ng_last_error(), "element 2 is Inf") && has(ng_last_error(), p));
    ng_tensor r;
    NG_CHECK(ng_npy_read(p, &r) == NG_OK && r.shape[0] == 2);
    ng_tensor_free(&r);
    double dn[1] = {NAN};
    ng_tensor td = {NG_F64, 1, {1}, dn};
    NG_CHECK(ng_npy_write(p, &td) == NG_ENUMERIC);
    /* bad arguments */
    ng_tensor tz = {NG_F32, 9, {1}, good};
    NG_CHECK(ng_npy_write(p, &tz) == NG_EINVAL);
    ng_tensor tn = {NG_F32, 1, {2}, NULL};
    NG_CHECK(ng_npy_write(p, &tn) == NG_EINVAL);
    ng_tensor tt = {(ng_dtype)99, 1, {2}, good};
    NG_CHECK(ng_npy_write(p, &tt) == NG_EINVAL);
    /* unwritable location */
    char *q = ng_test_path("no_such_dir/a.npy");
    NG_CHECK(ng_npy_write(q, &t) == NG_EIO && has(ng_last_error(), q));
    free(q);
    free(p);
    NG_CHECK(no_temp_files());
}

int main(void)
{
    NG_RUN(test_round_trip);
    NG_RUN(test_numpy_layout);
    NG_RUN(test_v2_and_variants);
    NG_RUN(test_rejects);
    NG_RUN(test_write_atomic);
    return ng_test_summary();
}
