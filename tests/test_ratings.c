/* test_ratings.c - the three MovieLens formats, id remapping, and every malformed case
 * reported with the right file:line. */
#include "natgrad.h"
#include "ngtest.h"

#include <stdint.h>
#include <zlib.h>

static char *write_text(const char *name, const char *text)
{
    char *p = ng_test_path(name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* The same 5 ratings in every format: users 196, 186, 196, 22, 186; items 242, 302, 377,
 * 242, 51. */
static void check_common(const ng_ratings *r)
{
    NG_CHECK(r->n == 5 && r->n_users == 3 && r->n_items == 4);
    if (r->n != 5 || r->n_users != 3 || r->n_items != 4) return;
    const int32_t u[5] = {0, 1, 0, 2, 1}, it[5] = {0, 1, 2, 0, 3};
    const float rv[5] = {3.0f, 3.5f, 1.0f, 5.0f, 0.5f};
    const int64_t ts[5] = {881250949, 891717742, 878887116, 880606923, 881171488};
    for (int i = 0; i < 5; i++) {
        NG_CHECK(r->user[i] == u[i]);
        NG_CHECK(r->item[i] == it[i]);
        NG_CHECK(r->rating[i] == rv[i]);
        NG_CHECK(r->timestamp[i] == ts[i]);
    }
    NG_CHECK(r->user_ids[0] == 196 && r->user_ids[1] == 186 && r->user_ids[2] == 22);
    NG_CHECK(r->item_ids[0] == 242 && r->item_ids[1] == 302 && r->item_ids[2] == 377 &&
             r->item_ids[3] == 51);
}

static void test_formats(void)
{
    const char *texts[4] = {
        "196\t242\t3\t881250949\n186\t302\t3.5\t891717742\n196\t377\t1\t878887116\n"
        "22\t242\t5\t880606923\n186\t51\t0.5\t881171488\n",
        "196::242::3::881250949\n186::302::3.5::891717742\n196::377::1::878887116\n"
        "22::242::5::880606923\n186::51::0.5::881171488\n\n\n",
        "userId,movieId,rating,timestamp\r\n196,242,3.0,881250949\r\n186,302,3.5,891717742\r\n"
        "196,377,1.0,878887116\r\n22,242,5.0,880606923\r\n186,51,0.5,881171488",
        /* no final newline, CRLF, blank trailing lines with spaces */
        "userId,movieId,rating,timestamp\n196,242,3e0,881250949\n186,302,35e-1,891717742\n"
        "196,377,+1,878887116\n22,242,5.000000000000000000,880606923\n186,51,.5,881171488\n  \n\n"};
    const char *names[4] = {"r_u.data", "r_ratings.dat", "r_ratings.csv", "r_ratings2.csv"};
    for (int k = 0; k < 4; k++) {
        char *p = write_text(names[k], texts[k]);
        ng_ratings r;
        NG_CHECK_MSG(ng_ratings_read(p, &r) == NG_OK, "%s", ng_last_error());
        check_common(&r);
        ng_ratings_free(&r);
        NG_CHECK(r.user == NULL && r.n == 0);
        free(p);
    }
    /* gzip input */
    char *p = ng_test_path("r_gz.dat.gz");
    gzFile g = gzopen(p, "wb");
    if (g) {
        gzputs(g, texts[1]);
        gzclose(g);
    }
    ng_ratings r;
    NG_CHECK_MSG(ng_ratings_read(p, &r) == NG_OK, "%s", ng_last_error());
    check_common(&r);
    ng_ratings_free(&r);
    free(p);
    /* negative and 64-bit ids, negative timestamps */
    p = write_text("r_big.data", "-5\t9000000000\t2\t-100\n-5\t1\t4\t0\n");
    NG_CHECK_MSG(ng_ratings_read(p, &r) == NG_OK, "%s", ng_last_error());
    NG_CHECK(r.n == 2 && r.n_users == 1 && r.n_items == 2);
    if (r.n == 2) {
        NG_CHECK(r.user_ids[0] == -5 && r.item_ids[0] == 9000000000LL && r.timestamp[0] == -100);
        NG_CHECK(r.rating[1] == 4.0f);
    }
    ng_ratings_free(&r);
    free(p);
}

/* Many ids: the hash map grows and stays a bijection in first-appearance order. */
static void test_remap_many(void)
{
    /* ~5 MB: several 1 MiB read chunks, lines cut at chunk ends; plain and gzip */
    char *p = ng_test_path("r_many.csv");
    char *pz = ng_test_path("r_many.csv.gz");
    FILE *f = fopen(p, "wb");
    gzFile g = gzopen(pz, "wb1");
    const int n = 200000;
    if (f && g) {
        fputs("userId,movieId,rating,timestamp\n", f);
        gzputs(g, "userId,movieId,rating,timestamp\n");
        for (int i = 0; i < n; i++) {
            fprintf(f, "%d,%d,%d.5,%d\n", (i * 7919) % 50021 * 3, (i * 31) % 7001 + 100000, i % 5, i);
            gzprintf(g, "%d,%d,%d.5,%d\n", (i * 7919) % 50021 * 3, (i * 31) % 7001 + 100000, i % 5, i);
        }
    }
    if (f) fclose(f);
    if (g) gzclose(g);
    ng_ratings r, rz;
    NG_CHECK_MSG(ng_ratings_read(pz, &rz) == NG_OK, "%s", ng_last_error());
    NG_CHECK_MSG(ng_ratings_read(p, &r) == NG_OK, "%s", ng_last_error());
    NG_CHECK(rz.n == r.n && rz.n_users == r.n_users && rz.n_items == r.n_items);
    if (rz.n == r.n && r.n) {
        NG_CHECK(memcmp(rz.user, r.user, r.n * sizeof *r.user) == 0);
        NG_CHECK(memcmp(rz.item, r.item, r.n * sizeof *r.item) == 0);
        NG_CHECK(memcmp(rz.rating, r.rating, r.n * sizeof *r.rating) == 0);
        NG_CHECK(memcmp(rz.timestamp, r.timestamp, r.n * sizeof *r.timestamp) == 0);
    }
    ng_ratings_free(&rz);
    free(pz);
    NG_CHECK(r.n == (size_t)n);
    NG_CHECK(r.n_users == 50021 && r.n_items == 7001);
    int ok = 1, order = 1;
    int32_t next_u = 0, next_i = 0;
    for (int i = 0; i < n && r.n == (size_t)n; i++) {
        ok &= r.user_ids[r.user[i]] == (int64_t)((i * 7919) % 50021 * 3);
        ok &= r.item_ids[r.item[i]] == (int64_t)((i * 31) % 7001 + 100000);
        ok &= r.rating[i] == (float)(i % 5) + 0.5f && r.timestamp[i] == i;
        /* first appearance: a new index is always the next one */
        if (r.user[i] > next_u) order = 0;
        if (r.user[i] == next_u) next_u++;
        if (r.item[i] > next_i) order = 0;
        if (r.item[i] == next_i) next_i++;
    }
    NG_CHECK(ok);
    NG_CHECK(order);
    ng_ratings_free(&r);
    free(p);
}

/* Ids far apart (hash table, with growth) and ids that move from the hash table into the
 * direct table as it grows: the remap must stay consistent throughout. */
static void test_remap_mixed(void)
{
    char *p = ng_test_path("r_mixed.data");
    FILE *f = fopen(p, "wb");
    const long small = 140000;
    if (f) {
        fprintf(f, "2000000\t5000000000\t1\t0\n");
        for (long i = 0; i < small; i++)
            fprintf(f, "%ld\t%lld\t2\t%ld\n", i, 5000000000LL + (long long)(i % 60000) * 1000003LL, i);
        fprintf(f, "2000001\t-7\t3\t1\n2000000\t5000000000\t4\t2\n-3\t-7\t5\t3\n");
        fclose(f);
    }
    ng_ratings r;
    NG_CHECK_MSG(ng_ratings_read(p, &r) == NG_OK, "%s", ng_last_error());
    size_t n = (size_t)small + 4;
    NG_CHECK(r.n == n && r.n_users == (size_t)small + 3 && r.n_items == 60001);
    if (r.n == n && r.n_users == (size_t)small + 3) {
        NG_CHECK(r.user[0] == 0 && r.user[n - 2] == 0 && r.item[n - 2] == 0);
        NG_CHECK(r.user[n - 3] == (int32_t)small + 1 && r.user_ids[small + 1] == 2000001);
        NG_CHECK(r.user[n - 1] == (int32_t)small + 2 && r.user_ids[small + 2] == -3);
        NG_CHECK(r.item[n - 3] == 60000 && r.item[n - 1] == 60000 && r.item_ids[60000] == -7);
        int ok = 1;
        for (size_t i = 0; i < n; i++) {
            ok &= r.user_ids[r.user[i]] == (i == 0 || i == n - 2 ? 2000000
                                            : i == n - 3         ? 2000001
                                            : i == n - 1         ? -3
                                                                 : (int64_t)(i - 1));
        }
        NG_CHECK(ok);
        ok = 1;
        for (long i = 0; i < small; i++)
            ok &= r.item_ids[r.item[i + 1]] == 5000000000LL + (long long)(i % 60000) * 1000003LL;
        NG_CHECK(ok);
        NG_CHECK(r.item[1 + 60000] == r.item[1]);
    }
    ng_ratings_free(&r);
    free(p);
}

/* A line longer than the read buffer (1 MiB) is still one line. */
static void test_long_line(void)
{
    char *p = ng_test_path("r_long.csv");
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs("userId,movieId,rating,timestamp\n1,2,3,", f);
        for (int i = 0; i < 3000000; i++) fputc(' ', f);
        fputs("4\n5,6,7,8\n9,9,9,9", f);
        fclose(f);
    }
    ng_ratings r;
    NG_CHECK_MSG(ng_ratings_read(p, &r) == NG_OK, "%s", ng_last_error());
    NG_CHECK(r.n == 3);
    if (r.n == 3) NG_CHECK(r.timestamp[0] == 4 && r.timestamp[1] == 8 && r.user_ids[2] == 9 && r.timestamp[2] == 9);
    ng_ratings_free(&r);
    /* the same with an error after it: the line number still counts right */
    f = fopen(p, "ab");
    if (f) {
        fputs("\n1,2,3\n", f);
        fclose(f);
    }
    NG_CHECK(ng_ratings_read(p, &r) == NG_EFORMAT);
    NG_CHECK_MSG(has(ng_last_error(), ":5: too few fields"), "%s", ng_last_error());
    free(p);
}

static void expect_bad(const char *name, const char *text, const char *sub1, const char *sub2)
{
    char *p = write_text(name, text);
    ng_ratings r;
    ng_status s = ng_ratings_read(p, &r);
    const char *e = ng_last_error();
    NG_CHECK_MSG(s == NG_EFORMAT, "%s: status %d (%s)", name, s, e);
    NG_CHECK_MSG(has(e, p), "%s: message does not name the file: %s", name, e);
    NG_CHECK_MSG(has(e, sub1) && (!sub2 || has(e, sub2)), "%s: expected '%s' and '%s' in: %s", name,
                 sub1, sub2 ? sub2 : "", e);
    NG_CHECK(r.user == NULL && r.n == 0);
    free(p);
}

static void test_malformed(void)
{
    char *p = ng_test_path("r_missing.csv");
    ng_ratings r;
    NG_CHECK(ng_ratings_read(p, &r) == NG_EIO);
    NG_CHECK(has(ng_last_error(), p));
    free(p);

    char *dir = ng_test_path("");
    NG_CHECK(ng_ratings_read(dir, &r) == NG_EIO && has(ng_last_error(), "is a directory"));
    free(dir);

    expect_bad("rb_empty", "", ":1: empty file", NULL);
    expect_bad("rb_unknown", "1 2 3 4\n", ":1: unrecognised ratings format", "u.data");
    expect_bad("rb_noheader.csv", "1,2,3.5,100\n", ":1: unrecognised", "userId,movieId,rating,timestamp");
    expect_bad("rb_wrongheader.csv", "user,item,rating,time\n1,2,3,4\n", ":1: unrecognised", NULL);
    expect_bad("rb_few.dat", "1::2::3::4\n1::2::3\n", ":2: too few fields", "found 3");
    expect_bad("rb_many.data", "1\t2\t3\t4\n1\t2\t3\t4\t5\n", ":2: too many fields", "found 5");
    expect_bad("rb_few.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n1,2,3,4\n1,2\n", ":4: too few fields",
               "found 2");
    expect_bad("rb_user.csv", "userId,movieId,rating,timestamp\nabc,2,3,4\n", ":2: field 1 (user id)",
               "expected an integer, found 'abc'");
    expect_bad("rb_item.dat", "1::2::3::4\n1::2x::3::4\n", ":2: field 2 (item id)", "'2x'");
    expect_bad("rb_rating.data", "1\t2\t3\t4\n5\t6\tgood\t7\n", ":2: field 3 (rating)", "'good'");
    expect_bad("rb_nan.data", "1\t2\tnan\t4\n", ":1: field 3 (rating)", "finite number");
    expect_bad("rb_inf.csv", "userId,movieId,rating,timestamp\n1,2,1e999,4\n", ":2: field 3 (rating)", NULL);
    expect_bad("rb_ts.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n1,2,3,4.5\n",
               ":3: field 4 (timestamp)", "integer (seconds)");
    expect_bad("rb_emptyfield.csv", "userId,movieId,rating,timestamp\n1,,3,4\n", ":2: field 2",
               "empty field");
    expect_bad("rb_overflow.data", "99999999999999999999\t2\t3\t4\n", ":1: field 1", NULL);
    expect_bad("rb_blank_mid.dat", "1::2::3::4\n\n1::2::3::4\n", ":2: blank line", NULL);
    expect_bad("rb_header_only.csv", "userId,movieId,rating,timestamp\n", "no ratings", NULL);
    expect_bad("rb_single_colon.dat", "1::2::3:4\n", ":1: too few fields", "'::'");

    /* an embedded NUL byte is not a line end */
    char *pn = ng_test_path("rb_nul.data");
    FILE *f = fopen(pn, "wb");
    if (f) {
        fwrite("1\t2\t3\t4\n1\t2\t3\t4\0junk\n", 1, 21, f);
        fclose(f);
    }
    NG_CHECK(ng_ratings_read(pn, &r) == NG_EFORMAT);
    NG_CHECK_MSG(has(ng_last_error(), ":2: a NUL byte (0x00) at column 8"), "%s", ng_last_error());
    free(pn);
    /* ... also on the first line, where the format is detected */
    pn = ng_test_path("rb_nul1.data");
    if ((f = fopen(pn, "wb"))) {
        fwrite("1\t2\0\t3\t4\n", 1, 9, f);
        fclose(f);
    }
    NG_CHECK(ng_ratings_read(pn, &r) == NG_EFORMAT);
    NG_CHECK_MSG(has(ng_last_error(), ":1: a NUL byte (0x00) at column 4") && has(ng_last_error(), pn), "%s",
                 ng_last_error());
    free(pn);
}

/* A .gz file cut short (or with a damaged byte) is an error naming the file, never a
 * shorter data set: the cut is made in the middle of the deflate stream, at a line end of
 * the text it holds, and after the whole deflate stream (without the CRC trailer). */
static void test_truncated_gzip(void)
{
    char text[20000];
    size_t len = 0;
    len += (size_t)snprintf(text + len, sizeof text - len, "userId,movieId,rating,timestamp\n");
    for (int k = 0; len < sizeof text - 64; k++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%d,%d,%d.5,%d\n", k % 97, (k * 7) % 101, k % 5,
                                1000000 + k * 37);
    char *whole = ng_test_path("rg_whole.csv.gz");
    gzFile g = gzopen(whole, "wb");
    NG_CHECK(g != NULL);
    if (!g) {
        free(whole);
        return;
    }
    gzwrite(g, text, (unsigned)len);
    gzclose(g);
    unsigned char buf[40000];
    FILE *f = fopen(whole, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    NG_CHECK(n > 200 && n < sizeof buf);
    ng_ratings r;
    NG_CHECK(ng_ratings_read(whole, &r) == NG_OK && r.n > 300);
    ng_ratings_free(&r);
    const size_t cuts[3] = {n / 2, n - 8, n - 3}; /* mid-stream, no trailer, part of it */
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "rg_cut%d.csv.gz", k);
        char *p = ng_test_path(name);
        if ((f = fopen(p, "wb"))) {
            fwrite(buf, 1, cuts[k], f);
            fclose(f);
        }
        ng_status s = ng_ratings_read(p, &r);
        NG_CHECK_MSG(s == NG_EFORMAT && has(ng_last_error(), p) && has(ng_last_error(), "truncated gzip"),
                     "cut at %zu of %zu: status %d, %s (%zu ratings)", cuts[k], n, (int)s,
                     s ? ng_last_error() : "", s ? (size_t)0 : r.n);
        if (s == NG_OK) ng_ratings_free(&r);
        free(p);
    }
    /* a damaged byte in the middle: corrupt data */
    buf[n / 2] ^= 0x55;
    char *p = ng_test_path("rg_bad.csv.gz");
    if ((f = fopen(p, "wb"))) {
        fwrite(buf, 1, n, f);
        fclose(f);
    }
    ng_status s = ng_ratings_read(p, &r);
    NG_CHECK_MSG(s == NG_EFORMAT && has(ng_last_error(), p), "damaged: status %d", (int)s);
    if (s == NG_OK) ng_ratings_free(&r);
    free(p);
    free(whole);
}

int main(void)
{
    NG_RUN(test_formats);
    NG_RUN(test_remap_many);
    NG_RUN(test_remap_mixed);
    NG_RUN(test_long_line);
    NG_RUN(test_malformed);
    NG_RUN(test_truncated_gzip);
    return ng_test_summary();
}
