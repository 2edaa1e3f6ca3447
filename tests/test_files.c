/* test_files.c - the public file helpers the tools and the examples build on: the atomic
 * writer (a reader of the path never sees a partial file), ng_read_file (plain and gzip,
 * detected from the bytes) and the dtype names. */
#include "natgrad.h"
#include "ngtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static int exists(const char *p) { return access(p, F_OK) == 0; }

static void test_atomic_commit_and_abort(void)
{
    char *p = ng_test_path("files_atomic.txt");
    remove(p);
    ng_atomic_file af;
    NG_CHECK(ng_atomic_open(&af, p) == NG_OK);
    NG_CHECK(af.f && exists(af.tmp_path) && strcmp(af.tmp_path, p) != 0);
    fputs("one\n", af.f);
    NG_CHECK(!exists(p)); /* nothing at the final path before the commit */
    char *tmp = strdup(af.tmp_path);
    NG_CHECK(ng_atomic_commit(&af) == NG_OK);
    NG_CHECK(exists(p) && !exists(tmp));
    unsigned char *b = NULL;
    size_t n = 0;
    NG_CHECK(ng_read_file(p, &b, &n) == NG_OK && n == 4 && !memcmp(b, "one\n", 4));
    free(b);
    /* an abort leaves the previous file as it was and no temp file */
    NG_CHECK(ng_atomic_open(&af, p) == NG_OK);
    fputs("two, half written", af.f);
    free(tmp);
    tmp = strdup(af.tmp_path);
    ng_atomic_abort(&af);
    NG_CHECK(!exists(tmp));
    NG_CHECK(ng_read_file(p, &b, &n) == NG_OK && n == 4 && !memcmp(b, "one\n", 4));
    free(b);
    free(tmp);
    remove(p);
    free(p);
}

static void test_atomic_errors(void)
{
    ng_atomic_file af;
    NG_CHECK(ng_atomic_open(&af, "/nonexistent-dir/x.txt") == NG_EIO);
    NG_CHECK(strstr(ng_last_error(), "/nonexistent-dir/x.txt") != NULL);
    NG_CHECK(af.f == NULL && af.tmp_path == NULL);
}

static void test_read_file_gzip(void)
{
    char *p = ng_test_path("files_read.gz");
    gzFile g = gzopen(p, "wb");
    NG_CHECK(g != NULL);
    const char text[] = "gzip content, named .gz or not\n";
    gzwrite(g, text, (unsigned)strlen(text));
    gzclose(g);
    unsigned char *b = NULL;
    size_t n = 0;
    NG_CHECK(ng_read_file(p, &b, &n) == NG_OK);
    NG_CHECK(n == strlen(text) && !memcmp(b, text, n));
    free(b);
    remove(p);
    NG_CHECK(ng_read_file(p, &b, &n) == NG_EIO);
    NG_CHECK(strstr(ng_last_error(), "files_read.gz") != NULL);
    free(p);
}

static void test_dtype_names(void)
{
    const ng_dtype t[] = {NG_U8, NG_I8, NG_I16, NG_I32, NG_I64, NG_F32, NG_F64};
    const char *want[] = {"u8", "i8", "i16", "i32", "i64", "f32", "f64"};
    for (int i = 0; i < 7; i++) NG_CHECK_MSG(!strcmp(ng_dtype_name(t[i]), want[i]), "%s", want[i]);
    NG_CHECK(!strcmp(ng_dtype_name((ng_dtype)99), "?"));
}

int main(void)
{
    NG_RUN(test_atomic_commit_and_abort);
    NG_RUN(test_atomic_errors);
    NG_RUN(test_read_file_gzip);
    NG_RUN(test_dtype_names);
    return ng_test_summary();
}
