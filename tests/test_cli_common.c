/* test_cli_common.c - the CLI helpers every subcommand shares (tools/cli_common.c,
 * cli_opts.c, cli_groups.c): strict value parsing, usage errors, the banner, the progress
 * line, SIGINT, option tables (parsing, --help, banner, settings) and the shared groups. */
#include "cli_common.c" /* the helpers live in the tool, not the library */
#include "cli_groups.c"
#include "cli_opts.c"
#include "cli_train.c"
#include "internal.h" /* ngi_fail for the test task */
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

/* ------------------------------------------------------------------ option tables */

/* One field of every type, and a spec over them. */
typedef struct {
    int flag, i, choice, i_given;
    long l;
    size_t z;
    int64_t i64;
    uint64_t u;
    double d;
    const char *s, *out;
} all_types;

static const char *const k_abc[] = {"a", "b", "c", NULL};

static void all_types_table(all_types *v, ng_cli_opt *t, unsigned out_flags)
{
    memset(v, 0, sizeof *v);
    v->i = 3;
    v->d = 0.25;
    v->choice = 1;
    const ng_cli_opt tab[] = {
        {.type = NG_CLI_SECTION, .help = "Things"},
        {.name = "flag", .type = NG_CLI_FLAG, .dst = &v->flag, .help = "a flag"},
        {.name = "int", .type = NG_CLI_INT, .dst = &v->i, .lo = 0, .hi = 10, .help = "an int",
         .flags = NG_CLI_SETTING, .given = &v->i_given},
        {.name = "long", .type = NG_CLI_LONG, .dst = &v->l, .lo = -5, .hi = 5, .help = "a long"},
        {.name = "size", .type = NG_CLI_SIZE, .dst = &v->z, .lo = 1, .hi = 1e6, .help = "a size"},
        {.name = "i64", .type = NG_CLI_I64, .dst = &v->i64, .help = "an int64 (whole range)"},
        {.name = "u64", .type = NG_CLI_U64, .dst = &v->u, .help = "a uint64", .flags = NG_CLI_NO_BANNER},
        {.name = "dbl", .type = NG_CLI_DOUBLE, .dst = &v->d, .lo = 0, .hi = 1, .meta = "X",
         .help = "a double\nsecond line", .flags = NG_CLI_SETTING},
        {.name = "choice", .type = NG_CLI_CHOICE, .dst = &v->choice, .choices = k_abc,
         .help = "a choice", .flags = NG_CLI_SETTING},
        {.name = "str", .type = NG_CLI_STR, .dst = &v->s, .meta = "S", .help = "a string"},
        {.name = "out", .type = NG_CLI_STR, .dst = &v->out, .meta = "DIR", .help = "output",
         .flags = out_flags},
        NG_CLI_END,
    };
    memcpy(t, tab, sizeof tab);
}

#define NTAB 12
static ng_cli_spec one_table_spec(const char *name, ng_cli_opt *t, const ng_cli_opt **tabs,
                                  int positional)
{
    tabs[0] = t;
    ng_cli_spec s = {.name = name, .synopsis = "[options] [ARG]", .intro = "Intro text.",
                     .outro = "Outro text.", .tables = tabs, .n_tables = 1,
                     .positional = positional};
    return s;
}

/* parse with stderr captured into *err (malloc'ed) */
static int parse_err(const ng_cli_spec *s, int argc, char **argv, const char **pos, int *npos,
                     char **err)
{
    capture_begin();
    int r = ng_cli_parse(s, argc, argv, pos, npos);
    *err = capture_end();
    return r;
}

static void test_opts_types(void)
{
    all_types v;
    ng_cli_opt t[NTAB];
    const ng_cli_opt *tabs[1];
    all_types_table(&v, t, 0);
    ng_cli_spec s = one_table_spec("t", t, tabs, 1);
    char *a[] = {"t", "--flag", "--int", "7", "--long=-5", "--size", "1000000", "--i64",
                 "-9000000000", "pos", "--u64=18446744073709551615", "--dbl", "1e-3", "--choice",
                 "c", "--str", "--x", NULL};
    const char *pos[1] = {NULL};
    int npos = -1;
    char *err;
    int r = parse_err(&s, 17, a, pos, &npos, &err);
    NG_CHECK_MSG(r == -1, "r %d: %s", r, err);
    NG_CHECK(v.flag == 1 && v.i == 7 && v.i_given == 1 && v.l == -5 && v.z == 1000000);
    NG_CHECK(v.i64 == -9000000000LL && v.u == UINT64_MAX && v.d == 1e-3 && v.choice == 2);
    NG_CHECK(v.s && !strcmp(v.s, "--x")); /* a value may start with '-' */
    NG_CHECK(npos == 1 && pos[0] && !strcmp(pos[0], "pos"));
    NG_CHECK(!v.out);
    free(err);

    /* the last occurrence counts; prefixes of a name work when unambiguous */
    all_types_table(&v, t, 0);
    char *b[] = {"t", "--int", "1", "--int", "2", "--dou", "0.5", "--ch", "a", NULL};
    /* "--dou" is no prefix of any option: unknown; use the real prefix */
    b[5] = "--db";
    r = parse_err(&s, 9, b, NULL, NULL, &err);
    NG_CHECK_MSG(r == -1 && v.i == 2 && v.d == 0.5 && v.choice == 0, "r %d: %s", r, err);
    free(err);
}

static void test_opts_errors(void)
{
    all_types v;
    ng_cli_opt t[NTAB];
    const ng_cli_opt *tabs[1];
    all_types_table(&v, t, NG_CLI_REQUIRED);
    ng_cli_spec s = one_table_spec("ae train", t, tabs, 0);
    struct {
        const char *arg, *val, *want;
    } cases[] = {
        {"--int", "11", "invalid value '11' for --int: expected an integer in [0, 10]"},
        {"--int", "2.5", "invalid value '2.5' for --int"},
        {"--long", "-6", "invalid value '-6' for --long: expected an integer in [-5, 5]"},
        {"--size", "0", "invalid value '0' for --size: expected an integer in [1, 1000000]"},
        {"--size", "-1", "invalid value '-1' for --size"},
        {"--i64", "1e3", "invalid value '1e3' for --i64"},
        {"--u64", "-1", "invalid value '-1' for --u64: expected a non-negative integer"},
        {"--dbl", "1.5", "invalid value '1.5' for --dbl: expected a number in [0, 1]"},
        {"--dbl", "nan", "invalid value 'nan' for --dbl"},
        {"--dbl", "", "invalid value '' for --dbl"},
        {"--choice", "d", "invalid value 'd' for --choice: expected one of a|b|c"},
        {"--bogus", "1", "unknown option '--bogus'"},
        {"--bogus=1", NULL, "unknown option '--bogus'"},
        {"-x", NULL, "unknown option '-x'"},
        {"--flag=1", NULL, "option '--flag' takes no value"},
        {"--out", NULL, "option '--out' needs a value"},
        {"--s", "x", "ambiguous option '--s'"},
        {"--out", "d", "unexpected argument 'extra'"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        all_types_table(&v, t, NG_CLI_REQUIRED);
        char *a[5] = {"ae train", (char *)cases[c].arg, (char *)cases[c].val, NULL, NULL};
        int argc = cases[c].val ? 3 : 2;
        if (c + 1 == sizeof cases / sizeof cases[0]) a[argc++] = "extra";
        char *err;
        int r = parse_err(&s, argc, a, NULL, NULL, &err);
        NG_CHECK_MSG(r == NG_EXIT_USAGE, "%s %s: r %d", cases[c].arg, cases[c].val ? cases[c].val : "", r);
        NG_CHECK_MSG(strstr(err, "natgrad ae train: ") == err && strstr(err, cases[c].want),
                     "%s: '%s'", cases[c].arg, err);
        int hint = strstr(err, "Try 'natgrad ae train --help'.") != NULL;
        NG_CHECK_MSG(hint || strstr(err, "invalid value"), "no hint: '%s'", err);
        free(err);
        NG_CHECK(v.i == 3 && v.d == 0.25 && v.choice == 1); /* bad values are not stored */
    }
    /* required: named with its placeholder */
    all_types_table(&v, t, NG_CLI_REQUIRED);
    char *a[] = {"ae train", "--int", "4", NULL};
    char *err;
    int r = parse_err(&s, 3, a, NULL, NULL, &err);
    NG_CHECK(r == NG_EXIT_USAGE);
    NG_CHECK_MSG(strstr(err, "natgrad ae train: --out DIR is required\nTry 'natgrad ae train --help'.\n"),
                 "'%s'", err);
    free(err);
    /* a name described twice is a bug, said at once */
    all_types_table(&v, t, 0);
    t[3].name = "int";
    r = parse_err(&s, 1, a, NULL, NULL, &err);
    NG_CHECK_MSG(r == NG_EXIT_FAIL && strstr(err, "--int is described twice"), "'%s'", err);
    free(err);
}

/* --help and the defaults it prints: the values the fields hold */
static void test_opts_help(void)
{
    all_types v;
    ng_cli_opt t[NTAB];
    const ng_cli_opt *tabs[1];
    all_types_table(&v, t, NG_CLI_NO_DEFAULT);
    ng_cli_spec s = one_table_spec("t", t, tabs, 0);
    v.d = 0.1;
    v.z = 123;
    v.s = "abc";
    v.out = "somewhere"; /* NO_DEFAULT: not shown */
    char *h = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&h, &n);
    ng_cli_help(f, &s);
    fclose(f);
    NG_CHECK_MSG(strstr(h, "usage: natgrad t [options] [ARG]\n\nIntro text.\n\nThings:\n") == h, "%s", h);
    NG_CHECK_MSG(strstr(h, "  --dbl X         a double\n                  second line [0.1]\n"), "%s", h);
    NG_CHECK_MSG(strstr(h, "  --size N        a size [123]\n"), "%s", h);
    NG_CHECK_MSG(strstr(h, "--choice a|b|c"), "%s", h);
    NG_CHECK_MSG(strstr(h, "a choice [b]\n") && strstr(h, "a string [abc]\n"), "%s", h);
    NG_CHECK_MSG(strstr(h, "a flag [off]\n") && strstr(h, "output\n"), "%s", h); /* NO_DEFAULT */
    NG_CHECK_MSG(strstr(h, "  -h, --help") && strstr(h, "\nOutro text.\n"), "%s", h);
    /* every help line of an option starts at one column */
    const char *l1 = strstr(h, "a double"), *l2 = strstr(h, "second line");
    const char *b1 = l1, *b2 = l2;
    while (b1 > h && b1[-1] != '\n') b1--;
    while (b2 > h && b2[-1] != '\n') b2--;
    NG_CHECK(l1 - b1 == l2 - b2);
    free(h);

    /* through ng_cli_parse: stdout, exit 0, nothing else parsed */
    char *a[] = {"t", "--int", "9", "--help", NULL};
    capture_fd(1);
    int r = ng_cli_parse(&s, 4, a, NULL, NULL);
    char *out = capture_end();
    NG_CHECK(r == NG_EXIT_OK && strstr(out, "usage: natgrad t") == out && strstr(out, "an int [3]"));
    NG_CHECK(v.i == 3);
    free(out);
}

static void test_opts_banner_settings(void)
{
    all_types v;
    ng_cli_opt t[NTAB];
    const ng_cli_opt *tabs[1];
    all_types_table(&v, t, 0);
    t[5].name = "seed"; /* the i64 */
    ng_cli_spec s = one_table_spec("bench x", t, tabs, 0);
    v.i64 = 42;
    v.d = 1.0 / 3.0;
    v.s = "p q";
    ng_cli_set_threads(1);
    capture_begin();
    ng_cli_banner_spec(&s, "extra 1");
    char *msg = capture_end();
    char want[512];
    snprintf(want, sizeof want,
             "natgrad %s | bench x | seed 42 | BLAS threads 1 (%s) | OpenMP threads 1 | flag off | "
             "int 3 | long 0 | size 0 | dbl 0.3333333333333333 | choice b | str p q | extra 1\n",
             ng_version(), ng_blas_core());
    NG_CHECK_MSG(!strcmp(msg, want), "'%s'\n'%s'", msg, want);
    free(msg);
    NG_CHECK(!strcmp(ng_version(), NG_VERSION_STRING));

    char *st = ng_cli_settings(&s);
    NG_CHECK_MSG(st && !strcmp(st, "int=3\ndbl=0.3333333333333333\nchoice=b\n"),
                 "'%s'", st ? st : "(null)");
    free(st);
    /* doubles read back exactly */
    const double xs[] = {0.1, 1e-300, 0.95 * 0.95 * 0.95 * 0.95 * 0.95, 1.0 / 3.0, 2.0 / 3.0,
                         123456789.123456789, 5e-324, 1.7976931348623157e308, -0.0, 1e-8};
    for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
        char buf[64];
        v.d = xs[k];
        ng_cli_format_value(&t[7], buf, sizeof buf);
        NG_CHECK_MSG(strtod(buf, NULL) == xs[k], "%.17g -> %s", xs[k], buf);
    }
    v.d = 0.1;
    char buf[64];
    NG_CHECK(!strcmp(ng_cli_format_value(&t[7], buf, sizeof buf), "0.1"));
}

/* a preset that sets "lr" from the EARLY "kind": explicit --lr wins in any order */
typedef struct {
    int kind, kind_given;
    double lr;
    int presets;
} kind_ctx;
static void kind_preset(void *p)
{
    kind_ctx *c = p;
    c->presets++;
    if (c->kind_given) c->lr = c->kind == 1 ? 100 : 10;
}

static void test_opts_early(void)
{
    kind_ctx c;
    const ng_cli_opt tab[] = {
        {.name = "lr", .type = NG_CLI_DOUBLE, .dst = &c.lr, .help = "rate"},
        {.name = "kind", .type = NG_CLI_CHOICE, .dst = &c.kind, .choices = k_abc, .help = "kind",
         .flags = NG_CLI_EARLY, .given = &c.kind_given},
        NG_CLI_END};
    const ng_cli_opt *tabs[] = {tab};
    ng_cli_spec s = {.name = "t", .tables = tabs, .n_tables = 1, .preset = kind_preset, .ctx = &c};
    char *orders[3][6] = {{"t", "--lr", "5", "--kind", "b", NULL},
                          {"t", "--kind", "b", "--lr", "5", NULL},
                          {"t", "--kind=b", "--lr=5", NULL}};
    int argcs[3] = {5, 5, 3};
    for (int o = 0; o < 3; o++) {
        memset(&c, 0, sizeof c);
        c.lr = 1;
        char *err;
        int r = parse_err(&s, argcs[o], orders[o], NULL, NULL, &err);
        NG_CHECK_MSG(r == -1 && c.lr == 5 && c.kind == 1 && c.presets == 1, "order %d: r %d lr %g %s", o,
                     r, c.lr, err);
        free(err);
    }
    memset(&c, 0, sizeof c);
    char *a[] = {"t", "--kind", "b", NULL}, *err;
    NG_CHECK(parse_err(&s, 3, a, NULL, NULL, &err) == -1 && c.lr == 100);
    free(err);
    /* --help after the preset: shows the preset's default */
    memset(&c, 0, sizeof c);
    char *b[] = {"t", "--help", "--kind", "b", NULL};
    capture_fd(1);
    int r = ng_cli_parse(&s, 4, b, NULL, NULL);
    char *out = capture_end();
    NG_CHECK_MSG(r == NG_EXIT_OK && strstr(out, "rate [100]"), "%s", out);
    free(out);
    /* a bad early value is reported */
    char *d[] = {"t", "--lr", "5", "--kind", "z", NULL};
    r = parse_err(&s, 5, d, NULL, NULL, &err);
    NG_CHECK_MSG(r == NG_EXIT_USAGE && strstr(err, "invalid value 'z' for --kind"), "%s", err);
    free(err);
}

/* ------------------------------------------------------------------ shared groups */

typedef struct {
    ng_cli_opt run[NG_CLI_GROUP_MAX], net[NG_CLI_GROUP_MAX], gs[NG_CLI_GROUP_MAX],
        inner[NG_CLI_GROUP_MAX];
    ng_train_params tp;
    long threads;
    ng_optim_params op;
    ng_goldstone_params gp;
    ng_cli_net_ctx nc;
    ng_cli_goldstone_ctx gc;
    ng_cli_inner_ctx ic;
} groups;

static void groups_preset(void *p)
{
    groups *g = p;
    ng_cli_goldstone_preset(&g->gc);
    ng_cli_inner_preset(&g->ic);
}
static void net_preset(void *p) { ng_cli_net_preset(&((groups *)p)->nc); }

/* A Goldstone command (run + Goldstone-GD + inner) and a network one (run + net). */
static void groups_init(groups *g, ng_cli_spec *gold, ng_cli_spec *net, const ng_cli_opt **tg,
                        const ng_cli_opt **tn)
{
    memset(g, 0, sizeof *g);
    g->tp = ng_train_default_params();
    g->op = ng_optim_default_params(NG_OPT_KFAC);
    g->gp = ng_goldstone_default_params();
    size_t n[4] = {ng_cli_group_run(g->run, &g->tp, &g->threads),
                   ng_cli_group_net(g->net, &g->op, &g->nc),
                   ng_cli_group_goldstone(g->gs, &g->gp, &g->gc),
                   ng_cli_group_inner(g->inner, &g->gp.inner, &g->ic)};
    const ng_cli_opt *all[4] = {g->run, g->net, g->gs, g->inner};
    for (int k = 0; k < 4; k++) {
        NG_CHECK(n[k] > 1 && n[k] < NG_CLI_GROUP_MAX && !all[k][n[k]].name && !all[k][n[k]].help);
        NG_CHECK(all[k][0].type == NG_CLI_SECTION);
        for (size_t i = 1; i < n[k]; i++) /* run control: no settings; the others: all */
            NG_CHECK_MSG(all[k][i].type == NG_CLI_SECTION ||!(all[k][i].flags & NG_CLI_SETTING) == (k == 0), "--%s", all[k][i].name);
    }
    tg[0] = g->run, tg[1] = g->gs, tg[2] = g->inner;
    tn[0] = g->run, tn[1] = g->net;
    *gold = (ng_cli_spec){.name = "g", .tables = tg, .n_tables = 3, .preset = groups_preset, .ctx = g};
    *net = (ng_cli_spec){.name = "n", .tables = tn, .n_tables = 2, .preset = net_preset, .ctx = g};
}

static int parse_quiet(const ng_cli_spec *s, char **argv)
{
    int argc = 0;
    while (argv[argc]) argc++;
    char *err;
    int r = parse_err(s, argc, argv, NULL, NULL, &err);
    if (r != -1) fprintf(stderr, "  parse: %s", err);
    free(err);
    return r;
}

static void test_group_goldstone(void)
{
    groups g;
    ng_cli_spec gold, net;
    const ng_cli_opt *tg[3], *tn[2];
    ng_goldstone_params paper = ng_goldstone_default_params();
    ng_goldstone_paper_variant(&paper);

    char *a1[] = {"g", "--k1", "7", "--rotation", "exp", "--paper", "--symmetry", "none", NULL};
    char *a2[] = {"g", "--paper", "--symmetry=none", "--rotation=exp", "--k1=7", NULL};
    char **orders[] = {a1, a2};
    for (int o = 0; o < 2; o++) {
        groups_init(&g, &gold, &net, tg, tn);
        NG_CHECK(parse_quiet(&gold, orders[o]) == -1);
        NG_CHECK(g.gp.k1 == 7 && g.gp.symmetry == NG_SYM_NONE && g.gp.rotation == NG_ROT_EXP);
        NG_CHECK(g.gp.gauge_solver == paper.gauge_solver && g.gp.rho_scale == paper.rho_scale &&
                 g.gp.gauge_reset == paper.gauge_reset && g.gp.k2 == paper.k2);
    }
    /* --paper alone: exactly the paper's variant; the ints the banner prints follow */
    groups_init(&g, &gold, &net, tg, tn);
    char *a3[] = {"g", "--paper", NULL};
    NG_CHECK(parse_quiet(&gold, a3) == -1);
    NG_CHECK(!memcmp(&g.gp, &paper, sizeof paper));
    NG_CHECK(g.gc.symmetry == NG_SYM_GOLDSTONE && g.gc.gauge_solver == NG_GAUGE_QUADRATIC &&
             g.gc.rotation == NG_ROT_FIRST_ORDER);
    char *st = ng_cli_settings(&gold);
    NG_CHECK_MSG(st && strstr(st, "symmetry=goldstone\npaper=on\nk1=50\nk2=10\nrho-scale=1\n"
                                  "gauge-solver=quadratic\ngauge-reset=no\nrotation=first-order\n"),
                 "%s", st);
    NG_CHECK(st && !strstr(st, "steps=") && !strstr(st, "threads="));
    free(st);
    /* every other option, and nothing: defaults untouched */
    groups_init(&g, &gold, &net, tg, tn);
    char *a4[] = {"g", "--symmetry", "sync+goldstone", "--k2", "0", "--rho-scale", "2.5",
                  "--gauge-solver", "quadratic", "--gauge-reset", "no", "--gauge-clip", "0.5",
                  "--apply-fraction", "0.25", NULL};
    NG_CHECK(parse_quiet(&gold, a4) == -1);
    NG_CHECK(g.gp.symmetry == NG_SYM_SYNC_GOLDSTONE && g.gp.k2 == 0 && g.gp.rho_scale == 2.5 &&
             g.gp.gauge_solver == NG_GAUGE_QUADRATIC && g.gp.gauge_reset == 0 &&
             g.gp.gauge_clip == 0.5 && g.gp.apply_fraction == 0.25);
    groups_init(&g, &gold, &net, tg, tn);
    char *a5[] = {"g", NULL};
    ng_goldstone_params def = ng_goldstone_default_params();
    NG_CHECK(parse_quiet(&gold, a5) == -1 && !memcmp(&g.gp, &def, sizeof def));
    /* run control */
    char *a6[] = {"g", "--steps", "5", "--time-limit", "1.5", "--eval-every", "2", "--eval-seconds",
                  "3", "--log", "x.csv", "--checkpoint", "ck", "--checkpoint-every", "4",
                  "--resume", "--threads", "2", NULL};
    NG_CHECK(parse_quiet(&gold, a6) == -1);
    NG_CHECK(g.tp.steps == 5 && g.tp.time_limit == 1.5 && g.tp.eval_every == 2 &&
             g.tp.eval_seconds == 3 && !strcmp(g.tp.log, "x.csv") && !strcmp(g.tp.checkpoint, "ck") &&
             g.tp.checkpoint_every == 4 && g.tp.resume == 1 && g.threads == 2);
}

static void test_group_inner(void)
{
    groups g;
    ng_cli_spec gold, net;
    const ng_cli_opt *tg[3], *tn[2];
    ng_inner_params adam = ng_inner_default_params(NG_INNER_ADAM);
    char *a1[] = {"g", "--lr", "0.5", "--optimizer", "adam", NULL};
    char *a2[] = {"g", "--optimizer", "adam", "--lr", "0.5", NULL};
    char **orders[] = {a1, a2};
    for (int o = 0; o < 2; o++) {
        groups_init(&g, &gold, &net, tg, tn);
        NG_CHECK(parse_quiet(&gold, orders[o]) == -1);
        NG_CHECK(g.gp.inner.kind == NG_INNER_ADAM && g.gp.inner.rho0 == 0.5);
        NG_CHECK(g.gp.inner.sbar == adam.sbar && g.gp.inner.clip == adam.clip &&
                 g.gp.inner.beta2 == adam.beta2);
    }
    groups_init(&g, &gold, &net, tg, tn);
    char *a3[] = {"g", "--optimizer", "adam", NULL};
    NG_CHECK(parse_quiet(&gold, a3) == -1 && !memcmp(&g.gp.inner, &adam, sizeof adam));
    /* the same kind keeps the command's own defaults (the toy's clipped GD) */
    groups_init(&g, &gold, &net, tg, tn);
    ng_inner_params toy = g.gp.inner;
    char *a4[] = {"g", "--optimizer", "gd", NULL};
    NG_CHECK(parse_quiet(&gold, a4) == -1 && !memcmp(&g.gp.inner, &toy, sizeof toy));
    groups_init(&g, &gold, &net, tg, tn);
    char *a5[] = {"g", "--lr-sbar", "3", "--lr-power", "0.5", "--grad-clip", "0.1", "--beta1", "0.5",
                  "--beta2", "0.75", "--eps", "1e-6", NULL};
    NG_CHECK(parse_quiet(&gold, a5) == -1);
    NG_CHECK(g.gp.inner.sbar == 3 && g.gp.inner.p == 0.5 && g.gp.inner.clip == 0.1 &&
             g.gp.inner.beta1 == 0.5 && g.gp.inner.beta2 == 0.75 && g.gp.inner.eps == 1e-6);
    /* --help shows the library's defaults, read from the fields; after --optimizer, its own */
    groups_init(&g, &gold, &net, tg, tn);
    char *a6[] = {"g", "--optimizer", "adagrad", "--help", NULL};
    capture_fd(1);
    int r = ng_cli_parse(&gold, 4, a6, NULL, NULL);
    char *out = capture_end();
    NG_CHECK(r == NG_EXIT_OK);
    NG_CHECK_MSG(strstr(out, "learning rate rho0 [1]\n") && strstr(out, "[adagrad]\n") &&
                     strstr(out, "inner steps between symmetry phases [50]\n") &&
                     strstr(out, "--symmetry none|goldstone|sync|sync+goldstone") &&
                     strstr(out, "[sync]\n") && strstr(out, "d / sum ||z||^2 [4]\n"),
                 "%s", out);
    free(out);
}

static void test_group_net(void)
{
    groups g;
    ng_cli_spec gold, net;
    const ng_cli_opt *tg[3], *tn[2];
    ng_optim_params sgd = ng_optim_default_params(NG_OPT_SGD_NESTEROV);
    char *a1[] = {"n", "--lr", "0.3", "--optimizer", "sgd-nesterov", "--curvature", "blockdiag",
                  "--tau1", "0.5", NULL};
    char *a2[] = {"n", "--curvature=blockdiag", "--optimizer=sgd-nesterov", "--tau1=0.5", "--lr=0.3",
                  NULL};
    char **orders[] = {a1, a2};
    for (int o = 0; o < 2; o++) {
        groups_init(&g, &gold, &net, tg, tn);
        NG_CHECK(parse_quiet(&net, orders[o]) == -1);
        NG_CHECK(g.op.kind == NG_OPT_SGD_NESTEROV && g.op.lr == 0.3 && g.op.mu_max == sgd.mu_max);
        NG_CHECK(g.op.kfac.curvature == NG_KFAC_BLOCKDIAG && g.op.kfac.tau1 == 0.5);
    }
    groups_init(&g, &gold, &net, tg, tn);
    char *a3[] = {"n", "--optimizer", "adam", NULL};
    ng_optim_params adam = ng_optim_default_params(NG_OPT_ADAM);
    NG_CHECK(parse_quiet(&net, a3) == -1 && !memcmp(&g.op, &adam, sizeof adam));
    /* the kind's defaults replace the command's for every field but K-FAC's */
    groups_init(&g, &gold, &net, tg, tn);
    g.op.lr = 7;
    g.op.kfac.lambda0 = 7;
    NG_CHECK(parse_quiet(&net, a3) == -1 && g.op.lr == adam.lr && g.op.kfac.lambda0 == 7);
    groups_init(&g, &gold, &net, tg, tn);
    char *a4[] = {"n", "--batch", "50", "--max-batch", "500", "--mu-max", "0.9", "--eps", "1e-7",
                  "--eta", "0", "--momentum", "off", "--fisher", "empirical", "--damping", "tikhonov",
                  "--adapt-lambda", "off", "--adapt-gamma", "off", "--tau2", "1", "--eps-max", "0.5",
                  "--T1", "2", "--T2", "3", "--T3", "4", "--refresh-first", "0", "--lambda0", "10",
                  "--omega1", "0.5", "--omega2", "0.25", "--gamma0", "2", "--full-batch-iter", "9",
                  "--polyak-xi", "0.5", "--polyak-start", "7", "--beta1", "0.5", "--beta2", "0.5", NULL};
    NG_CHECK(parse_quiet(&net, a4) == -1);
    const ng_kfac_params *k = &g.op.kfac;
    NG_CHECK(g.op.kind == NG_OPT_KFAC && g.op.batch == 50 && g.op.max_batch == 500 &&
             g.op.mu_max == 0.9 && g.op.eps == 1e-7 && g.op.eta == 0 && g.op.beta1 == 0.5 &&
             g.op.beta2 == 0.5);
    NG_CHECK(k->momentum == 0 && k->empirical_fisher == 1 && k->exact_tikhonov == 1 &&
             k->adapt_lambda == 0 && k->adapt_gamma == 0 && k->tau2 == 1 && k->eps_max == 0.5 &&
             k->T1 == 2 && k->T2 == 3 && k->T3 == 4 && k->refresh_first == 0 && k->lambda0 == 10 &&
             k->omega1 == 0.5 && k->omega2 == 0.25 && k->gamma0 == 2 && k->full_batch_iter == 9 &&
             k->polyak_xi == 0.5 && k->polyak_start == 7);
    /* --help: the defaults are the library's */
    groups_init(&g, &gold, &net, tg, tn);
    char h[64];
    char *help = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&help, &n);
    ng_cli_help(f, &net);
    fclose(f);
    ng_kfac_params kd = ng_kfac_default_params();
    snprintf(h, sizeof h, "lambda factor (0.95^5) [%.17g]", kd.omega1);
    char want[64];
    snprintf(want, sizeof want, "initial lambda [%g]\n", kd.lambda0);
    NG_CHECK_MSG(strstr(help, "[kfac]\n") && strstr(help, "[blockdiag]\n") && strstr(help, want) &&
                     strstr(help, "--optimizer kfac|sgd-nesterov|adam"),
                 "%s", help);
    NG_CHECK(strstr(help, "--T1 N") && strstr(help, "learning rate (SGD, Adam) [0.01]\n"));
    free(help);
}


/* ------------------------------------------------------------------ ng_cli_train */

/* A counter task: step k + 1 sets x = k + 1 and reports it; a row is x and 2x. */
typedef struct {
    double x;
    int fail_at; /* step that fails (1-based), 0: none */
    int stop_at; /* step after which a Ctrl-C arrives, 0: none */
} counter;

static ng_status counter_step(void *self, int64_t k, double *v)
{
    counter *c = self;
    if (c->fail_at && k + 1 == c->fail_at) return ngi_fail(NG_ENUMERIC, "counter: diverged at step %d", c->fail_at);
    c->x = (double)(k + 1);
    v[0] = c->x;
    if (c->stop_at && k + 1 == c->stop_at) ng_cli_request_stop();
    return NG_OK;
}
static ng_status counter_row(void *self, double *v)
{
    counter *c = self;
    v[0] = c->x;
    v[1] = 2 * c->x;
    return NG_OK;
}
static size_t counter_state(void *self, ng_ckpt_array *a, size_t cap)
{
    counter *c = self;
    if (a && cap >= 1) {
        memset(a, 0, sizeof *a);
        a->name = "x";
        a->t.dtype = NG_F64;
        a->t.ndim = 1;
        a->t.shape[0] = 1;
        a->t.data = &c->x;
    }
    return 1;
}
static ng_status counter_loaded(void *self) { return ((counter *)self)->x >= 0 ? NG_OK : NG_EINVAL; }

static const char *const k_counter_cols[] = {"x", "twice"};
static const char *const k_counter_step[] = {"x"};

static int train_captured(const ng_cli_spec *s, const ng_task *t, ng_train_params *tp,
                          ng_train_status *st, char **err)
{
    capture_begin();
    int r = ng_cli_train(s, t, tp, st);
    *err = capture_end();
    return r;
}

static void test_cli_train(void)
{
    counter c = {0, 0, 0};
    ng_task task = {"counter", "step", k_counter_cols, 2, k_counter_step, 1, counter_step,
                    counter_row, counter_state, counter_loaded, &c};
    double rate = 0.5;
    ng_train_params tp = ng_train_default_params();
    long threads = 0;
    ng_cli_opt run[NG_CLI_GROUP_MAX];
    ng_cli_group_run(run, &tp, &threads);
    const ng_cli_opt own[] = {{.name = "rate", .type = NG_CLI_DOUBLE, .dst = &rate, .help = "a rate",
                               .flags = NG_CLI_SETTING},
                              NG_CLI_END};
    const ng_cli_opt *tabs[] = {own, run};
    ng_cli_spec spec = {.name = "count", .tables = tabs, .n_tables = 2};
    char *dir = ng_test_path("cli_train_ckpt");
    char *log = ng_test_path("cli_train.csv");
    char rm[512];
    snprintf(rm, sizeof rm, "rm -rf '%s' '%s'", dir, log);
    if (system(rm) != 0) fprintf(stderr, "  cannot clean %s\n", dir);

    /* a run to its end: progress names the columns, the log starts step,seconds */
    char *a[] = {"count", "--steps", "3", "--eval-every", "1", "--checkpoint", dir, "--log", log, NULL};
    NG_CHECK(ng_cli_parse(&spec, 9, a, NULL, NULL) == -1);
    g_stop = 0;
    ng_train_status st;
    char *err;
    int r = train_captured(&spec, &task, &tp, &st, &err);
    NG_CHECK_MSG(r == NG_EXIT_OK && st.step == 3 && !st.stopped, "r %d: %s", r, err);
    NG_CHECK_MSG(strstr(err, "count step 0/3 | 0.0 s | x 0 twice 0\n") &&
                     strstr(err, "count step 3/3 | ") && strstr(err, " s | x 3 | twice 6\n") &&
                     strstr(err, "natgrad count: done after 3 steps"),
                 "'%s'", err);
    NG_CHECK(tp.progress == NULL && tp.settings == NULL); /* tp left as it was */
    free(err);
    unsigned char *text = NULL;
    size_t n = 0;
    NG_CHECK(ng_read_file(log, &text, &n) == NG_OK && n > 14 && !memcmp(text, "step,seconds,x,twice\n", 21));
    free(text);

    /* resume with the same settings: said; with another rate: refused with the difference */
    char *b[] = {"count", "--steps", "5", "--checkpoint", dir, "--resume", NULL};
    tp = ng_train_default_params();
    NG_CHECK(ng_cli_parse(&spec, 6, b, NULL, NULL) == -1);
    r = train_captured(&spec, &task, &tp, &st, &err);
    NG_CHECK_MSG(r == NG_EXIT_OK && st.resumed && st.step == 5, "r %d: %s", r, err);
    NG_CHECK_MSG(strstr(err, "natgrad count: resumed from ") && strstr(err, "at step 3\n"), "'%s'", err);
    free(err);
    rate = 0.25;
    tp.steps = 7;
    r = train_captured(&spec, &task, &tp, &st, &err);
    NG_CHECK_MSG(r == NG_EXIT_FAIL && strstr(err, "natgrad count: ") && strstr(err, "rate"), "r %d: '%s'", r, err);
    free(err);
    rate = 0.5;

    /* Ctrl-C: stop after the step, checkpoint, 130 */
    tp.steps = 100;
    c.stop_at = 7;
    g_stop = 0;
    r = train_captured(&spec, &task, &tp, &st, &err);
    NG_CHECK_MSG(r == 130 && st.stopped && st.step == 7, "r %d: %s", r, err);
    NG_CHECK_MSG(strstr(err, "interrupted at step 7; checkpoint written to "), "'%s'", err);
    free(err);
    g_stop = 0;
    c.stop_at = 2;
    tp.resume = 0;
    tp.checkpoint = NULL;
    tp.log = NULL;
    r = train_captured(&spec, &task, &tp, &st, &err);
    NG_CHECK_MSG(r == 130 && strstr(err, "interrupted at step 2; no --checkpoint"), "r %d: '%s'", r, err);
    free(err);
    g_stop = 0;
    c.stop_at = 0;

    /* a failing step; --resume without --checkpoint */
    c.fail_at = 2;
    r = train_captured(&spec, &task, &tp, &st, &err);
    NG_CHECK_MSG(r == NG_EXIT_FAIL && strstr(err, "natgrad count: stopped after 1 step: counter: diverged at step 2\n"), "'%s'", err);
    free(err);
    tp.resume = 1;
    r = train_captured(&spec, &task, &tp, &st, &err);
    NG_CHECK_MSG(r == NG_EXIT_USAGE && strstr(err, "--resume needs --checkpoint DIR"), "'%s'", err);
    free(err);
    if (system(rm) != 0) fprintf(stderr, "  cannot clean %s\n", dir);
    free(dir);
    free(log);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
}

int main(void)
{
    NG_RUN(test_parse_long);
    NG_RUN(test_parse_double);
    NG_RUN(test_parse_u64);
    NG_RUN(test_parse_range);
    NG_RUN(test_parse_choice);
    NG_RUN(test_usage_and_fail);
    NG_RUN(test_progress_plain);
    NG_RUN(test_opts_types);
    NG_RUN(test_opts_errors);
    NG_RUN(test_opts_help);
    NG_RUN(test_opts_banner_settings);
    NG_RUN(test_opts_early);
    NG_RUN(test_group_goldstone);
    NG_RUN(test_group_inner);
    NG_RUN(test_group_net);
    NG_RUN(test_cli_train);
    NG_RUN(test_sigint_flag);
    free(g_cap_path);
    return ng_test_summary();
}
