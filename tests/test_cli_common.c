/* test_cli_common.c - the CLI helpers every subcommand shares (tools/cli_common.c):
 * strict value parsing, usage errors, the banner, the progress line, SIGINT. */
#include "cli_common.c" /* the helpers live in the tool, not the library */
#include "ngtest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ stderr capture */

static int g_saved_fd = -1, g_cap_fd = 2;
static char *g_cap_path;

/* Sends file descriptor fd (1 or 2) to a file until capture_end. */
static void capture_fd(int fd_to_capture)
{
    if (!g_cap_path) g_cap_path = ng_test_path("cli_common_capture.txt");
    fflush(stdout);
    fflush(stderr);
    g_cap_fd = fd_to_capture;
    g_saved_fd = dup(g_cap_fd);
    int fd = open(g_cap_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || g_saved_fd < 0) {
        fprintf(stderr, "  cannot capture fd %d\n", g_cap_fd);
        return;
    }
    dup2(fd, g_cap_fd);
    close(fd);
}
static void capture_begin(void) { capture_fd(2); }

/* Restores the captured descriptor; returns what was written (malloc'ed). */
static char *capture_end(void)
{
    fflush(stdout);
    fflush(stderr);
    if (g_saved_fd >= 0) {
        dup2(g_saved_fd, g_cap_fd);
        close(g_saved_fd);
        g_saved_fd = -1;
    }
    FILE *f = fopen(g_cap_path, "rb");
    if (!f) return calloc(1, 1);
    char *b = calloc(1, 65536);
    size_t n = fread(b, 1, 65535, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

/* ------------------------------------------------------------------ parsing */

static void test_parse_long(void)
{
    long v = -7;
    NG_CHECK(ng_cli_parse_long("t", "--n", "42", 0, 100, &v) == 1 && v == 42);
    NG_CHECK(ng_cli_parse_long("t", "--n", "-5", -10, 10, &v) == 1 && v == -5);
    NG_CHECK(ng_cli_parse_long("t", "--n", "+3", 0, 10, &v) == 1 && v == 3);
    NG_CHECK(ng_cli_parse_long("t", "--n", "0", 0, 0, &v) == 1 && v == 0);
    const char *bad[] = {"", "abc", "5x", "1e", "1.5", " 5", "5 ", "101", "-1",
                         "99999999999999999999999", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 77;
        capture_begin();
        int ok = ng_cli_parse_long("train", "--epochs", bad[i], 0, 100, &v);
        char *msg = capture_end();
        NG_CHECK_MSG(ok == 0, "accepted '%s'", bad[i]);
        NG_CHECK(v == 77);
        char want[128];
        snprintf(want, sizeof want, "invalid value '%s' for --epochs", bad[i]);
        NG_CHECK_MSG(strstr(msg, "natgrad train: ") && strstr(msg, want), "'%s'", msg);
        free(msg);
    }
}

static void test_parse_double(void)
{
    double v = 0;
    NG_CHECK(ng_cli_parse_double("t", "--lr", "0.125", 0, 1, &v) == 1 && v == 0.125);
    NG_CHECK(ng_cli_parse_double("t", "--lr", "1e-3", 0, 1, &v) == 1 && v == 1e-3);
    NG_CHECK(ng_cli_parse_double("t", "--lr", "-2", -5, 1, &v) == 1 && v == -2);
    NG_CHECK(ng_cli_parse_double("t", "--lr", "1", 0, 1, &v) == 1 && v == 1);
    const char *bad[] = {"", "abc", "5x", "1e", "1e+", " 0.5", "0.5 ", "nan", "inf", "-inf",
                         "2", "-0.1", "1e999", "0.5,"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 3.5;
        capture_begin();
        int ok = ng_cli_parse_double("t", "--lr", bad[i], 0, 1, &v);
        char *msg = capture_end();
        NG_CHECK_MSG(ok == 0, "accepted '%s'", bad[i]);
        NG_CHECK(v == 3.5);
        NG_CHECK_MSG(strstr(msg, "--lr") && strstr(msg, bad[i]) && strstr(msg, "expected"), "'%s'",
                     msg);
        free(msg);
    }
}

static void test_parse_u64(void)
{
    uint64_t v = 0;
    NG_CHECK(ng_cli_parse_u64("t", "--seed", "0", &v) == 1 && v == 0);
    NG_CHECK(ng_cli_parse_u64("t", "--seed", "18446744073709551615", &v) == 1 &&
             v == UINT64_MAX);
    NG_CHECK(ng_cli_parse_u64("t", "--seed", "123456789012", &v) == 1 && v == 123456789012ULL);
    const char *bad[] = {"", "abc", "5x", "1e", "-1", " -1", " 1", "+1", "18446744073709551616",
                         "1.0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 9;
        capture_begin();
        int ok = ng_cli_parse_u64("t", "--seed", bad[i], &v);
        char *msg = capture_end();
        NG_CHECK_MSG(ok == 0, "accepted '%s'", bad[i]);
        NG_CHECK(v == 9);
        NG_CHECK_MSG(strstr(msg, "--seed") && strstr(msg, "non-negative integer"), "'%s'", msg);
        free(msg);
    }
}

static void test_parse_range(void)
{
    long a = -1, b = -1;
    NG_CHECK(ng_cli_parse_range("t", "--seeds", "1..5", &a, &b) == 1 && a == 1 && b == 5);
    NG_CHECK(ng_cli_parse_range("t", "--seeds", "3..3", &a, &b) == 1 && a == 3 && b == 3);
    NG_CHECK(ng_cli_parse_range("t", "--seeds", "0..10", &a, &b) == 1 && a == 0 && b == 10);
    const char *bad[] = {"", "3..1", "1..", "..3", "1.5", "1...3", "a..b", "1..3x", "-1..3",
                         "1 ..3", "1.. 3", "5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = b = 42;
        capture_begin();
        int ok = ng_cli_parse_range("t", "--seeds", bad[i], &a, &b);
        char *msg = capture_end();
        NG_CHECK_MSG(ok == 0, "accepted '%s'", bad[i]);
        NG_CHECK(a == 42 && b == 42);
        NG_CHECK_MSG(strstr(msg, "--seeds") && strstr(msg, "A..B"), "'%s'", msg);
        free(msg);
    }
}

static void test_parse_choice(void)
{
    const char *const ch[] = {"kfac", "sgd", "adam", NULL};
    NG_CHECK(ng_cli_parse_choice("t", "--method", "kfac", ch) == 0);
    NG_CHECK(ng_cli_parse_choice("t", "--method", "adam", ch) == 2);
    const char *bad[] = {"", "KFAC", "kfa", "kfacx", "adam "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        capture_begin();
        int r = ng_cli_parse_choice("t", "--method", bad[i], ch);
        char *msg = capture_end();
        NG_CHECK_MSG(r == -1, "accepted '%s'", bad[i]);
        NG_CHECK_MSG(strstr(msg, "--method") && strstr(msg, "kfac|sgd|adam"), "'%s'", msg);
        free(msg);
    }
}

/* ------------------------------------------------------------------ messages */

static void test_usage_and_fail(void)
{
    capture_begin();
    int r = ng_cli_usage_error("plot", "missing --out (%d)", 7);
    char *msg = capture_end();
    NG_CHECK(r == NG_EXIT_USAGE);
    NG_CHECK_MSG(!strcmp(msg, "natgrad plot: missing --out (7)\nTry 'natgrad plot --help'.\n"),
                 "'%s'", msg);
    free(msg);

    capture_begin();
    r = ng_cli_bad_option("dmf");
    msg = capture_end();
    NG_CHECK(r == NG_EXIT_USAGE && strstr(msg, "natgrad dmf --help"));
    free(msg);

    ng_csv *c = NULL;
    ng_status s = ng_csv_open("/nonexistent-dir/x.csv", (const char *const[]){"a"}, 1, 0, &c);
    NG_CHECK(s == NG_EIO);
    capture_begin();
    r = ng_cli_fail("ae", "cannot open the log");
    msg = capture_end();
    NG_CHECK(r == NG_EXIT_FAIL);
    NG_CHECK_MSG(strstr(msg, "natgrad ae: cannot open the log: /nonexistent-dir/x.csv") == msg &&
                     strchr(msg, '\n') == msg + strlen(msg) - 1,
                 "'%s'", msg);
    free(msg);
}

static void test_banner(void)
{
    ng_cli_set_threads(1);
    capture_begin();
    ng_cli_banner("bench gemm", 1234, "n %d | out %s", 512, "x.csv");
    char *msg = capture_end();
    char want[256];
    snprintf(want, sizeof want,
             "natgrad %s | bench gemm | seed 1234 | BLAS threads 1 (%s) | OpenMP threads 1 | n 512 | "
             "out x.csv\n",
             ng_version(), ng_blas_core());
    NG_CHECK_MSG(!strcmp(msg, want), "'%s'", msg);
    free(msg);
    capture_begin();
    ng_cli_banner("demo", 0, NULL);
    msg = capture_end();
    NG_CHECK_MSG(strstr(msg, "| demo | seed 0 |") && msg[strlen(msg) - 2] != '|', "'%s'", msg);
    free(msg);
    NG_CHECK(!strcmp(ng_version(), NG_VERSION_STRING));
}

static void test_no_options(void)
{
    const char *help = "usage: natgrad version\n";
    char *a1[] = {"version", NULL};
    NG_CHECK(ng_cli_no_options("version", 1, a1, help) == -1);

    char *a2[] = {"version", "--help", NULL};
    capture_fd(1);
    int r = ng_cli_no_options("version", 2, a2, help);
    char *out = capture_end();
    NG_CHECK(r == NG_EXIT_OK);
    NG_CHECK_MSG(!strcmp(out, help), "'%s'", out);
    free(out);

    char *a3[] = {"version", "--bogus", NULL};
    capture_begin();
    r = ng_cli_no_options("version", 2, a3, help);
    char *err = capture_end();
    NG_CHECK(r == NG_EXIT_USAGE);
    NG_CHECK_MSG(strstr(err, "bogus") && strstr(err, "natgrad version --help"), "'%s'", err);
    free(err);

    char *a4[] = {"version", "extra", NULL};
    capture_begin();
    r = ng_cli_no_options("version", 2, a4, help);
    err = capture_end();
    NG_CHECK(r == NG_EXIT_USAGE);
    NG_CHECK_MSG(strstr(err, "unexpected argument 'extra'"), "'%s'", err);
    free(err);
}

/* ------------------------------------------------------------------ progress, SIGINT */

static void test_progress_plain(void)
{
    ng_progress p;
    capture_begin();
    ng_progress_init(&p, 0.0); /* stderr is a file: plain lines */
    int tty = p.tty;
    ng_progress_update(&p, "step %d loss %.3f", 1, 0.5);
    ng_progress_update(&p, "step %d loss %.3f", 2, 0.25);
    ng_progress_done(&p);
    char *msg = capture_end();
    NG_CHECK(tty == 0);
    NG_CHECK_MSG(!strcmp(msg, "step 1 loss 0.500\nstep 2 loss 0.250\n"), "'%s'", msg);
    NG_CHECK(!strchr(msg, '\r') && !strchr(msg, '\033'));
    free(msg);

    /* rate limit: within plain_every seconds only the first update prints; force always does */
    capture_begin();
    ng_progress_init(&p, 1000.0);
    ng_progress_update(&p, "a %d", 1);
    ng_progress_update(&p, "b %d", 2);
    ng_progress_update(&p, "c %d", 3);
    ng_progress_force(&p, "final %d", 4);
    ng_progress_done(&p);
    msg = capture_end();
    NG_CHECK_MSG(!strcmp(msg, "a 1\nfinal 4\n"), "'%s'", msg);
    free(msg);
}

static void test_sigint_flag(void)
{
    NG_CHECK(!ng_cli_interrupted());
    ng_cli_install_sigint();
    raise(SIGINT); /* the first one only sets the flag */
    NG_CHECK(ng_cli_interrupted());
    /* restore the default so a stray second signal does not linger */
    signal(SIGINT, SIG_DFL);
    NG_CHECK(ng_cli_now() > 0);
    double t0 = ng_cli_now(), t1 = ng_cli_now();
    NG_CHECK(t1 >= t0);
}

int main(void)
{
    NG_RUN(test_parse_long);
    NG_RUN(test_parse_double);
    NG_RUN(test_parse_u64);
    NG_RUN(test_parse_range);
    NG_RUN(test_parse_choice);
    NG_RUN(test_usage_and_fail);
    NG_RUN(test_banner);
    NG_RUN(test_no_options);
    NG_RUN(test_progress_plain);
    NG_RUN(test_sigint_flag);
    free(g_cap_path);
    return ng_test_summary();
}
