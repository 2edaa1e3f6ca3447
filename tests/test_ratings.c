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
    char *p = ng_test_path("r_many.csv");
    FILE *f = fopen(p, "wb");
    const int n = 200000;
    if (f) {
        fputs("userId,movieId,rating,timestamp\n", f);
        for (int i = 0; i < n; i++)
            fprintf(f, "%d,%d,%d.5,%d\n", (i * 7919) % 50021 * 3, (i * 31) % 7001 + 100000, i % 5, i);
        fclose(f);
    }
    ng_ratings r;
    NG_CHECK_MSG(ng_ratings_read(p, &r) == NG_OK, "%s", ng_last_error());
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
}

int main(void)
{
    NG_RUN(test_formats);
    NG_RUN(test_remap_many);
    NG_RUN(test_malformed);
    return ng_test_summary();
}
