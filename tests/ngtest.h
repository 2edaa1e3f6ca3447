/* ngtest.h - the in-house assertion runner. Each test executable:
 *     static void test_foo(void) { NG_CHECK(x == 1); NG_CHECK_NEAR(a, b, 1e-9); }
 *     int main(void) { NG_RUN(test_foo); return ng_test_summary(); }
 * A failed check prints file:line and the values, marks the current test failed and
 * goes on; the summary line is "N passed, N failed" and the exit code is non-zero when
 * any test failed (a test that prints NOT OK but exits 0 is a defect). */
#ifndef NG_TEST_H
#define NG_TEST_H
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ng_t_passed, ng_t_failed, ng_t_cur_failed, ng_t_checks;

#define NG_CHECK(cond)                                                                   \
    do {                                                                                 \
        ng_t_checks++;                                                                   \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
            ng_t_cur_failed = 1;                                                         \
        }                                                                                \
    } while (0)

#define NG_CHECK_MSG(cond, ...)                                                          \
    do {                                                                                 \
        ng_t_checks++;                                                                   \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
            ng_t_cur_failed = 1;                                                         \
        }                                                                                \
    } while (0)

/* |a - b| <= tol, NaN fails. */
#define NG_CHECK_NEAR(a, b, tol)                                                         \
    do {                                                                                 \
        double ng_a_ = (double)(a), ng_b_ = (double)(b), ng_tol_ = (double)(tol);        \
        ng_t_checks++;                                                                   \
        if (!(fabs(ng_a_ - ng_b_) <= ng_tol_)) {                                         \
            fprintf(stderr, "  FAIL %s:%d: %s = %.10g vs %s = %.10g (tol %.3g)\n",       \
                    __FILE__, __LINE__, #a, ng_a_, #b, ng_b_, ng_tol_);                  \
            ng_t_cur_failed = 1;                                                         \
        }                                                                                \
    } while (0)

/* Relative: |a - b| <= rtol * max(|a|, |b|, floor). */
#define NG_CHECK_REL(a, b, rtol, floor_)                                                 \
    do {                                                                                 \
        double ng_a_ = (double)(a), ng_b_ = (double)(b);                                 \
        double ng_s_ = fmax(fmax(fabs(ng_a_), fabs(ng_b_)), (double)(floor_));           \
        ng_t_checks++;                                                                   \
        if (!(fabs(ng_a_ - ng_b_) <= (double)(rtol) * ng_s_)) {                          \
            fprintf(stderr, "  FAIL %s:%d: %s = %.10g vs %s = %.10g (rtol %.3g)\n",      \
                    __FILE__, __LINE__, #a, ng_a_, #b, ng_b_, (double)(rtol));           \
            ng_t_cur_failed = 1;                                                         \
        }                                                                                \
    } while (0)

#define NG_RUN(fn)                                                                       \
    do {                                                                                 \
        ng_t_cur_failed = 0;                                                             \
        int ng_c0_ = ng_t_checks;                                                        \
        fn();                                                                            \
        if (ng_t_checks == ng_c0_) {                                                     \
            fprintf(stderr, "  FAIL %s: made no checks\n", #fn);                         \
            ng_t_cur_failed = 1;                                                         \
        }                                                                                \
        if (ng_t_cur_failed) {                                                           \
            ng_t_failed++;                                                               \
            printf("not ok - %s\n", #fn);                                                \
        } else {                                                                         \
            ng_t_passed++;                                                               \
            printf("ok - %s\n", #fn);                                                    \
        }                                                                                \
        fflush(stdout);                                                                  \
    } while (0)

static inline int ng_test_summary(void)
{
    printf("%d passed, %d failed\n", ng_t_passed, ng_t_failed);
    return ng_t_failed ? 1 : 0;
}

/* A fresh path under the build's test-tmp directory (NG_TEST_TMP), malloc'ed. */
static inline char *ng_test_path(const char *name)
{
    const char *dir = getenv("NG_TEST_TMP");
    if (!dir) dir = "/tmp";
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* The whole file at path, malloc'ed (a byte more than its size), its size in *n; NULL
 * with *n = 0 when it cannot be opened. */
static inline unsigned char *ng_test_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    rewind(f);
    unsigned char *b = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (b) *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

/* Writes the n bytes at p to path (a test's own fixture); a fixture that cannot be
 * written stops the test executable. */
static inline void ng_test_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fwrite(p, 1, n, f);
    fclose(f);
}

/* A CSV log as one string without its timing columns "seconds" and "symmetry_seconds"
 * (named in the header line), so that two runs' logs compare with strcmp; NULL when the
 * file cannot be read. */
static inline char *ng_test_log_values(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *out = calloc(cap, 1), line[1024];
    int drop[64] = {0}, header = 1;
    while (out && fgets(line, sizeof line, f)) {
        int col = 0;
        for (char *tok = strtok(line, ",\n"); tok; tok = strtok(NULL, ",\n"), col++) {
            if (header && col < 64)
                drop[col] = !strcmp(tok, "seconds") || !strcmp(tok, "symmetry_seconds");
            if (!(col < 64 && drop[col]) && n + strlen(tok) + 2 < cap) n += (size_t)sprintf(out + n, "%s,", tok);
        }
        header = 0;
        if (n + 2 < cap) out[n++] = '\n';
    }
    fclose(f);
    return out;
}

/* The string s (without its NUL) as the file path. */
static inline void ng_test_write_text(const char *path, const char *s)
{
    ng_test_write_file(path, s, strlen(s));
}

/* A test's scratch directory: main fills the buffer (NG_TEST_DIR_MAX bytes) once. */
#define NG_TEST_DIR_MAX 1024
static inline char *ng_test_dir(void)
{
    static char dir[NG_TEST_DIR_MAX];
    return dir;
}

/* "DIR/NAME", NAME from fmt, in the scratch directory (a static buffer of eight in
 * rotation, so that a call's result stays valid through the next seven). */
static inline const char *ng_test_in_dir(const char *fmt, ...)
{
    static char buf[8][4096];
    static int k;
    char name[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", ng_test_dir(), name);
    return buf[k];
}

#endif
