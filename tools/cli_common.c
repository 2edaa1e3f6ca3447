/* cli_common.c - shared CLI helpers (see cli.h). */
#include "cli.h"

#include <cblas.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int ng_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "natgrad %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'natgrad %s --help'.\n", cmd);
    return NG_EXIT_USAGE;
}

int ng_cli_fail(const char *cmd, const char *what)
{
    fprintf(stderr, "natgrad %s: %s: %s\n", cmd, what, ng_last_error());
    return NG_EXIT_FAIL;
}

/* strto* skip leading blanks (and strtoull takes "-1" as a huge number): a value must start
 * with its sign or first digit. */
static int bad_start(const char *s) { return !s || !*s || isspace((unsigned char)*s); }

int ng_cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = bad_start(s) ? 0 : strtol(s, &end, 10);
    if (bad_start(s) || errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "natgrad %s: invalid value '%s' for %s: expected an integer in [%ld, %ld]\n",
                cmd, s, opt, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

int ng_cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (bad_start(s) || *s == '-' || *s == '+') goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) goto bad;
    *out = (uint64_t)v;
    return 1;
bad:
    fprintf(stderr, "natgrad %s: invalid value '%s' for %s: expected a non-negative integer\n",
            cmd, s, opt);
    return 0;
}

int ng_cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                        double *out)
{
    char *end = NULL;
    errno = 0;
    double v = bad_start(s) ? 0 : strtod(s, &end);
    if (bad_start(s) || errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "natgrad %s: invalid value '%s' for %s: expected a number in [%g, %g]\n",
                cmd, s, opt, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

int ng_cli_parse_range(const char *cmd, const char *opt, const char *s, long *a, long *b)
{
    const char *dots = strstr(s, "..");
    char *end;
    if (!dots || bad_start(s) || bad_start(dots + 2)) goto bad;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || end != dots || end == s) goto bad;
    long y = strtol(dots + 2, &end, 10);
    if (errno || *end || end == dots + 2 || y < x || x < 0) goto bad;
    *a = x;
    *b = y;
    return 1;
bad:
    fprintf(stderr, "natgrad %s: invalid value '%s' for %s: expected A..B with 0 <= A <= B\n",
            cmd, s, opt);
    return 0;
}

int ng_cli_parse_choice(const char *cmd, const char *opt, const char *s, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(s, choices[i]) == 0) return i;
    fprintf(stderr, "natgrad %s: invalid value '%s' for %s: expected one of", cmd, s, opt);
    for (int i = 0; choices[i]; i++) fprintf(stderr, "%s%s", i ? "|" : " ", choices[i]);
    fputc('\n', stderr);
    return -1;
}

void ng_cli_set_threads(int n)
{
    if (n <= 0) return;
    ng_set_blas_threads(n);
    omp_set_num_threads(n);
}

/* OpenBLAS picks its kernels from a table of the CPUs it knows; on a newer CPU it falls
 * back to generic SSE kernels that run sgemm at a fraction of the vector units' speed. */
const char *ng_cli_blas_hint_for(const char *core, int avx512, int avx2)
{
    static const char *const wide[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    static const char *const narrow[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    const char *want = avx512 ? "SkylakeX" : avx2 ? "Haswell" : NULL;
    const char *const *ok = avx512 ? wide : narrow;
    if (!want || !core) return NULL;
    for (; *ok; ok++)
        if (!strcmp(core, *ok)) return NULL;
    return want;
}

const char *ng_cli_blas_hint(void)
{
    if (getenv("OPENBLAS_CORETYPE")) return NULL; /* the user's choice */
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return ng_cli_blas_hint_for(ng_blas_core(), avx512, avx2);
#else
    return NULL;
#endif
}

void ng_cli_print_blas(void)
{
    const char *hint = ng_cli_blas_hint();
    printf("OpenBLAS kernels: %s", ng_blas_core());
    if (hint)
        printf(" (generic for this CPU: OPENBLAS_CORETYPE=%s selects the kernels that fit it, see "
               "docs/performance.md)", hint);
    printf("\n");
}

double ng_cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ng_progress_init(ng_progress *p, double plain_every)
{
    p->tty = isatty(fileno(stderr));
    p->last = -1e300;
    p->plain_every = plain_every;
    p->active = 0;
}

static void progress_vprint(ng_progress *p, const char *fmt, va_list ap)
{
    if (p->tty) {
        fputs("\r\033[K", stderr);
        vfprintf(stderr, fmt, ap);
        p->active = 1;
    } else {
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    fflush(stderr);
}

void ng_progress_update(ng_progress *p, const char *fmt, ...)
{
    double now = ng_cli_now();
    double every = p->tty ? 0.1 : p->plain_every;
    if (now - p->last < every) return;
    p->last = now;
    va_list ap;
    va_start(ap, fmt);
    progress_vprint(p, fmt, ap);
    va_end(ap);
}

void ng_progress_force(ng_progress *p, const char *fmt, ...)
{
    p->last = ng_cli_now();
    va_list ap;
    va_start(ap, fmt);
    progress_vprint(p, fmt, ap);
    va_end(ap);
}

void ng_progress_done(ng_progress *p)
{
    if (p->tty && p->active) fputc('\n', stderr);
    p->active = 0;
    fflush(stderr);
}

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig)
{
    (void)sig;
    if (g_stop) signal(SIGINT, SIG_DFL);
    g_stop = 1;
}

void ng_cli_install_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int ng_cli_interrupted(void) { return g_stop != 0; }
void ng_cli_request_stop(void) { g_stop = 1; }

void ng_cli_unlink_quiet(const char *path)
{
    if (path) unlink(path);
}

char *ng_cli_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}
