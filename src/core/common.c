/* common.c - errors, logging, versions, BLAS threads, small file helpers. */
#include "internal.h"

#include <cblas.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static _Thread_local char g_err[1024];
static ng_log_fn g_log_fn;
static void *g_log_user;

const char *ng_last_error(void) { return g_err[0] ? g_err : "no error"; }

ng_status ngi_fail(ng_status s, const char *fmt, ...)
{
    /* Format into a scratch buffer first: callers may pass ng_last_error() as an argument
     * to add context, and vsnprintf into its own source is undefined. */
    char msg[sizeof g_err];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap); /* a message, not a path buffer: truncation is fine */
    va_end(ap);
    memcpy(g_err, msg, sizeof g_err);
    return s;
}

const char *ng_status_name(ng_status s)
{
    switch (s) {
    case NG_OK: return "ok";
    case NG_EINVAL: return "invalid argument";
    case NG_EIO: return "i/o error";
    case NG_EFORMAT: return "format error";
    case NG_ENOMEM: return "out of memory";
    case NG_ENUMERIC: return "numerical error";
    case NG_EMISMATCH: return "mismatch";
    case NG_EINTERRUPTED: return "interrupted";
    case NG_EUNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

const char *ng_version(void) { return NG_VERSION_STRING; }

void ng_set_log(ng_log_fn fn, void *user)
{
    g_log_fn = fn;
    g_log_user = user;
}

void ngi_log(int level, const char *fmt, ...)
{
    if (!g_log_fn) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    g_log_fn(level, msg, g_log_user);
}

int ng_blas_threads(void) { return openblas_get_num_threads(); }
const char *ng_blas_core(void) { return openblas_get_corename(); }
void ng_set_blas_threads(int n)
{
    if (n > 0) openblas_set_num_threads(n);
}

/* relaxed: a statistic for tests, not a synchronisation point */
static atomic_size_t g_alloc_count;

size_t ngi_alloc_count(void) { return atomic_load_explicit(&g_alloc_count, memory_order_relaxed); }

void *ngi_xmalloc(size_t n)
{
    atomic_fetch_add_explicit(&g_alloc_count, 1, memory_order_relaxed);
    void *p = malloc(n ? n : 1);
    if (!p) ngi_fail(NG_ENOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *ngi_xcalloc(size_t n, size_t size)
{
    atomic_fetch_add_explicit(&g_alloc_count, 1, memory_order_relaxed);
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) ngi_fail(NG_ENOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

char *ngi_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = ngi_xmalloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

char *ngi_asprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = n < 0 ? NULL : ngi_xmalloc((size_t)n + 1);
    if (p) vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

ng_status ng_atomic_open(ng_atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    af->final_path = ngi_strdup(path);
    af->tmp_path = ngi_asprintf("%s.tmp.%ld", path, (long)getpid());
    if (!af->final_path || !af->tmp_path) {
        free(af->final_path);
        free(af->tmp_path);
        return NG_ENOMEM;
    }
    af->f = fopen(af->tmp_path, "wb");
    if (!af->f) {
        ng_status s = ngi_fail(NG_EIO, "%s: cannot create: %s", path, strerror(errno));
        free(af->final_path);
        free(af->tmp_path);
        memset(af, 0, sizeof *af);
        return s;
    }
    return NG_OK;
}

void ng_atomic_abort(ng_atomic_file *af)
{
    if (af->f) fclose(af->f);
    if (af->tmp_path) remove(af->tmp_path);
    free(af->final_path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

ng_status ng_atomic_commit(ng_atomic_file *af)
{
    int bad = ferror(af->f) != 0;
    int e = bad ? errno : 0; /* a full disk shows here or in the flush of fclose */
    if (fclose(af->f) != 0) {
        bad = 1;
        if (!e) e = errno;
    }
    af->f = NULL;
    if (bad) {
        ng_status s = ngi_fail(NG_EIO, "%s: write failed%s%s", af->final_path, e ? ": " : "",
                              e ? strerror(e) : "");
        ng_atomic_abort(af);
        return s;
    }
    if (rename(af->tmp_path, af->final_path) != 0) {
        ng_status s = ngi_fail(NG_EIO, "%s: cannot rename temp file: %s", af->final_path,
                              strerror(errno));
        ng_atomic_abort(af);
        return s;
    }
    free(af->final_path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
    return NG_OK;
}

ng_status ng_read_file(const char *path, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    /* A plain regular file is read in one piece into a buffer of its size: growing a buffer
     * by doubling and going through zlib's transparent mode costs copies and page faults
     * (64 MB .npy: ~4x slower). gzip data, pipes etc. take the zlib path below. */
    FILE *pf = fopen(path, "rb");
    if (!pf) return ngi_fail(NG_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(pf), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(pf);
        return ngi_fail(NG_EIO, "%s: cannot read: is a directory", path);
    }
    unsigned char magic[2];
    size_t nm = fread(magic, 1, 2, pf);
    int gzip = nm == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (!gzip && S_ISREG(st.st_mode) && (uintmax_t)st.st_size < SIZE_MAX) {
        size_t size = (size_t)st.st_size;
        unsigned char *b = ngi_xmalloc(size + 1);
        if (!b) {
            fclose(pf);
            return ngi_fail(NG_ENOMEM, "%s: out of memory reading %zu bytes", path, size);
        }
        rewind(pf);
        size_t got = size ? fread(b, 1, size, pf) : 0;
        int bad = ferror(pf);
        fclose(pf);
        if (bad) {
            free(b);
            return ngi_fail(NG_EIO, "%s: read error", path);
        }
        *buf = b; /* a file that shrank meanwhile: what was there */
        *len = got;
        return NG_OK;
    }
    fclose(pf);
    /* gzopen reads plain files unchanged, so one path serves both. */
    gzFile gz = gzopen(path, "rb");
    if (!gz) return ngi_fail(NG_EIO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = ngi_xmalloc(cap);
    if (!b) {
        gzclose(gz);
        return NG_ENOMEM;
    }
    for (;;) {
        if (n == cap) {
            unsigned char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                gzclose(gz);
                return ngi_fail(NG_ENOMEM, "%s: out of memory reading file", path);
            }
            b = nb;
            cap *= 2;
        }
        size_t want = cap - n;
        if (want > (1u << 30)) want = 1u << 30;
        int got = gzread(gz, b + n, (unsigned)want);
        if (got < 0) {
            int zerr;
            const char *m = gzerror(gz, &zerr);
            ng_status s = ngi_fail(NG_EFORMAT, "%s: corrupt compressed data: %s", path, m);
            free(b);
            gzclose(gz);
            return s;
        }
        if (got == 0) {
            /* zlib reports a stream cut short as end of file with Z_BUF_ERROR: an error here */
            int zerr = Z_OK;
            gzerror(gz, &zerr);
            if (zerr != Z_OK) {
                ng_status s = ngi_fail(NG_EFORMAT, "%s: truncated gzip data: expected a complete .gz file", path);
                free(b);
                gzclose(gz);
                return s;
            }
            break;
        }
        n += (size_t)got;
    }
    gzclose(gz);
    *buf = b;
    *len = n;
    return NG_OK;
}
