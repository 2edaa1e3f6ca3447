/* test_csv_read.c - the CSV log reader 'plot' and 'demo' share (tools/csv_read.c): header
 * and fields trimmed, empty fields as NaN, text columns kept, a torn last line dropped,
 * and every bad input refused with file:line and what was expected. */
#include "csv_read.c" /* the reader lives in the tool, not the library */
#include "ngtest.h"

/* Writes text to a fresh file under NG_TEST_TMP (text NULL: no file); returns its path
 * (malloc'ed). */
static char *write_log(const char *name, const char *text)
{
    char *path = ng_test_path(name);
    remove(path);
    FILE *f = text ? fopen(path, "w") : NULL;
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* stderr goes to a memory buffer between capture_begin and capture_end (glibc). */
static FILE *g_saved_stderr;
static char *g_cap;
static size_t g_cap_len;
static void capture_begin(void)
{
    g_saved_stderr = stderr;
    stderr = open_memstream(&g_cap, &g_cap_len);
}
static char *capture_end(void)
{
    fclose(stderr);
    stderr = g_saved_stderr;
    return g_cap;
}

static void test_read_table(void)
{
    char *p = write_log("csv_good.csv", "step, method ,loss,gap\r\n"
                                        "1,kfac,0.5,\n"
                                        "\n"
                                        "2, sgd ,0.25,1e-3\n"
                                        "3,kfac,0.1,0.5"); /* torn, but complete */
    ng_csv_table t;
    NG_CHECK(ng_csv_table_read("test", p, &t) == 1);
    NG_CHECK(t.ncols == 4 && t.nrows == 3);
    if (t.ncols != 4 || t.nrows != 3) return;
    NG_CHECK(!strcmp(t.names[1], "method") && !strcmp(t.names[3], "gap"));
    NG_CHECK(ng_csv_table_find(&t, "loss") == 2 && ng_csv_table_find(&t, "nope") == -1);
    NG_CHECK(!strcmp(t.cells[1 * 4 + 1], "sgd"));
    NG_CHECK(t.line[0] == 2 && t.line[1] == 4 && t.line[2] == 5);
    double v = 0;
    NG_CHECK(ng_csv_table_number("test", &t, 0, 3, &v) == 1 && isnan(v));
    NG_CHECK(ng_csv_table_number("test", &t, 1, 3, &v) == 1 && v == 1e-3);
    NG_CHECK(ng_csv_table_number("test", &t, 2, 2, &v) == 1 && v == 0.1);
    capture_begin();
    int ok = ng_csv_table_number("test", &t, 1, 1, &v);
    char *msg = capture_end();
    NG_CHECK_MSG(!ok && strstr(msg, "csv_good.csv:4: column 'method': expected a number, got 'sgd'"),
                 "'%s'", msg);
    free(msg);
    capture_begin();
    long c = ng_csv_table_need("test", &t, "seed", "--by");
    msg = capture_end();
    NG_CHECK_MSG(c == -1 && strstr(msg, "natgrad test: ") &&
                     strstr(msg, "no column 'seed' (--by); available: step,method,loss,gap"),
                 "'%s'", msg);
    free(msg);
    ng_csv_table_free(&t);
    free(p);
}

static void test_read_columns(void)
{
    char *p = write_log("csv_cols.csv", "step,seconds,train_error\n0,0.0,\n5,1.5,2.5\n9,3,2\n3,3");
    const char *names[2] = {"seconds", "train_error"};
    double *cols[2] = {NULL, NULL};
    size_t n = 0;
    NG_CHECK(ng_csv_read_columns("test", p, names, 2, cols, &n) == 1);
    NG_CHECK(n == 3); /* the torn short last line is dropped */
    if (n == 3) {
        NG_CHECK(cols[0][0] == 0.0 && cols[0][1] == 1.5 && cols[0][2] == 3.0);
        NG_CHECK(isnan(cols[1][0]) && cols[1][1] == 2.5 && cols[1][2] == 2.0);
    }
    free(cols[0]);
    free(cols[1]);
    free(p);
}

/* Reading column col of a log holding text fails: nothing returned, one message line that
 * names the file and contains want. */
static void expect_refused(const char *name, const char *text, const char *col, const char *want)
{
    char *p = write_log(name, text);
    const char *names[1] = {col};
    double *cols[1] = {NULL};
    size_t n = 7;
    capture_begin();
    int ok = ng_csv_read_columns("demo", p, names, 1, cols, &n);
    char *msg = capture_end();
    NG_CHECK_MSG(!ok && n == 0 && !cols[0], "%s accepted", name);
    NG_CHECK_MSG(strstr(msg, "natgrad demo: ") && strstr(msg, name) && strstr(msg, want),
                 "%s: '%s'", name, msg);
    NG_CHECK_MSG(!strchr(msg, '\n') || !strchr(msg, '\n')[1], "%s: more than one line: '%s'", name,
                 msg);
    free(msg);
    free(p);
}

static void test_bad_input(void)
{
    static const struct {
        const char *name, *text, *col, *want;
    } cases[] = {
        {"csv_empty.csv", "", "step", "csv_empty.csv:1: expected a header line"},
        {"csv_blank.csv", "\n1,2\n", "step", "csv_blank.csv:1: expected a header line"},
        {"csv_ragged.csv", "step,gap\n1,2\n2,3,4\n3,4\n", "gap",
         "csv_ragged.csv:3: expected 2 fields as in the header, got 3"},
        {"csv_short.csv", "step,gap\n1,2\n2\n3,4\n", "gap",
         "csv_short.csv:3: expected 2 fields as in the header, got 1"},
        {"csv_text.csv", "step,gap\n1,2\n2,1.5x\n", "gap",
         "csv_text.csv:3: column 'gap': expected a number, got '1.5x'"},
        {"csv_nocol.csv", "step,gap\n1,2\n", "loss", "no column 'loss'; available: step,gap"},
        {"csv_missing.csv", NULL, "step", "csv_missing.csv"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_refused(cases[i].name, cases[i].text, cases[i].col, cases[i].want);
}

int main(void)
{
    NG_RUN(test_read_table);
    NG_RUN(test_read_columns);
    NG_RUN(test_bad_input);
    return ng_test_summary();
}
