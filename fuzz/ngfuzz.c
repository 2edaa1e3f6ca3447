/* ngfuzz.c - scratch files, input splitting and the checks the harnesses share. */
#include "ngfuzz.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NGF_HOOKS 1
#endif
#endif
#ifdef NGF_HOOKS
#include <sanitizer/allocator_interface.h>
#endif

void ngf_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ngfuzz: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* ------------------------------------------------------------------ scratch space */

static char g_dir[256];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP) rmdir(p);
    else unlink(p);
    return 0;
}

void ngf_remove(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_dir(void)
{
    if (g_dir[0]) ngf_remove(g_dir);
}

const char *ngf_dir(void)
{
    if (g_dir[0]) return g_dir;
    struct stat st;
    const char *base = getenv("NGF_TMP");
    if (!base && stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    if (!base) base = getenv("TMPDIR");
    if (!base) base = "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/ngfuzz.XXXXXX", base);
    if (!mkdtemp(g_dir)) ngf_die("cannot make a scratch directory under %s: %s", base, strerror(errno));
    atexit(remove_dir);
    return g_dir;
}

const char *ngf_path(int slot, const char *name)
{
    static char buf[8][512];
    if (slot < 0 || slot >= 8) ngf_die("ngf_path: slot %d", slot);
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", ngf_dir(), name);
    return buf[slot];
}

void ngf_write(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) ngf_die("cannot write %s: %s", path, strerror(errno));
    int bad = n && fwrite(d, 1, n, f) != n;
    bad |= fclose(f) != 0;
    if (bad) ngf_die("cannot write %s", path);
}

void ngf_write_gz(const char *path, const void *d, size_t n)
{
    /* level 1: the point is the gzip path of the readers, not the ratio */
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) ngf_die("deflateInit2");
    uLong cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    if (!out) ngf_die("out of memory");
    z.next_in = (unsigned char *)(uintptr_t)d;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) ngf_die("deflate");
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    ngf_write(path, out, len);
    free(out);
}

void ngf_fresh_dir(const char *path)
{
    ngf_remove(path);
    if (mkdir(path, 0777) != 0) ngf_die("cannot make %s: %s", path, strerror(errno));
}

size_t ngf_split(const uint8_t *d, size_t n, const uint8_t **part, size_t *len, size_t max)
{
    const size_t sl = sizeof NGF_SEP - 1;
    size_t k = 0, a = 0;
    while (k + 1 < max) {
        const uint8_t *s = n - a >= sl ? memmem(d + a, n - a, NGF_SEP, sl) : NULL;
        if (!s) break;
        part[k] = d + a;
        len[k++] = (size_t)(s - (d + a));
        a = (size_t)(s - d) + sl;
    }
    part[k] = d + a;
    len[k++] = n - a;
    return k;
}

void ngf_refused(ng_status s, const char *what)
{
    const char *m = ng_last_error();
    if (s == NG_OK) ngf_die("ngf_refused called on success");
    if (s == NG_ENOMEM) ngf_die("%s: out of memory on a small input: %s", what, m ? m : "");
    if (!m || !strstr(m, what)) ngf_die("refusal without the file's name '%s': %s", what, m ? m : "(none)");
}

int ngf_all_finite(ng_dtype dt, const void *data, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (dt == NG_F32 && !isfinite(((const float *)data)[i])) return 0;
        if (dt == NG_F64 && !isfinite(((const double *)data)[i])) return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ memory watch */

/* The bytes a gzip member starting at p inflates to (stops counting past 1 GB). */
static size_t inflated(const uint8_t *p, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) return 0;
    static unsigned char out[1 << 16];
    size_t total = 0;
    z.next_in = (unsigned char *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    int rc;
    do {
        z.next_out = out;
        z.avail_out = sizeof out;
        rc = inflate(&z, Z_NO_FLUSH);
        total += sizeof out - z.avail_out;
    } while (rc == Z_OK && z.avail_out == 0 && total < (1u << 30));
    inflateEnd(&z);
    return total;
}

size_t ngf_plain_size(const uint8_t *d, size_t n)
{
    size_t total = n;
    for (size_t k = 0; k + 1 < n; k++)
        if (d[k] == 0x1f && d[k + 1] == 0x8b) total += inflated(d + k, n - k);
    return total;
}

#ifdef NGF_HOOKS
static atomic_int g_on;
static atomic_llong g_live, g_peak;

static void on_malloc(const volatile void *p, size_t size)
{
    (void)p;
    if (!atomic_load_explicit(&g_on, memory_order_relaxed)) return;
    long long live = atomic_fetch_add(&g_live, (long long)size) + (long long)size;
    long long peak = atomic_load(&g_peak);
    while (live > peak && !atomic_compare_exchange_weak(&g_peak, &peak, live)) {
    }
}

static void on_free(const volatile void *p)
{
    if (!p || !atomic_load_explicit(&g_on, memory_order_relaxed)) return;
    atomic_fetch_sub(&g_live, (long long)__sanitizer_get_allocated_size((const void *)p));
}

void ngf_mem_begin(void)
{
    static int installed;
    if (!installed) {
        __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
        installed = 1;
        /* the OpenMP runtime allocates its tables (about 1 MB) on its first parallel
         * region: not the reader's doing */
        int x = 0;
#pragma omp parallel num_threads(1) reduction(+ : x)
        x += 1;
        (void)x;
    }
    atomic_store(&g_live, 0);
    atomic_store(&g_peak, 0);
    atomic_store(&g_on, 1);
}

void ngf_mem_end(size_t input, size_t slack, const char *who)
{
    atomic_store(&g_on, 0);
    long long peak = atomic_load(&g_peak);
    if (peak > 0 && (unsigned long long)peak > 16ull * input + slack)
        ngf_die("%s: %lld bytes live at the peak for a %zu-byte input (bound 16 x input + %zu)", who,
                peak, input, slack);
}
#else
void ngf_mem_begin(void) {}
void ngf_mem_end(size_t input, size_t slack, const char *who)
{
    (void)input;
    (void)slack;
    (void)who;
}
#endif

/* ------------------------------------------------------------------ corpora */

int ngf_corpus_same(const ng_corpus *a, const ng_corpus *b)
{
    if (a->T != b->T || a->W != b->W || a->window != b->window || a->lowercase != b->lowercase ||
        a->slice_years != b->slice_years || a->min_count != b->min_count || strcmp(a->source, b->source))
        return 0;
    size_t nnz = (size_t)a->slice_ptr[a->T];
    if (memcmp(a->time, b->time, a->T * sizeof *a->time) ||
        memcmp(a->tokens, b->tokens, a->T * sizeof *a->tokens) ||
        memcmp(a->slice_ptr, b->slice_ptr, (a->T + 1) * sizeof *a->slice_ptr) ||
        memcmp(a->word_count, b->word_count, a->W * sizeof *a->word_count) ||
        (nnz && (memcmp(a->i, b->i, nnz * sizeof *a->i) || memcmp(a->j, b->j, nnz * sizeof *a->j) ||
                 memcmp(a->n, b->n, nnz * sizeof *a->n))))
        return 0;
    for (size_t k = 0; k < a->W; k++)
        if (strcmp(a->word[k], b->word[k])) return 0;
    return 1;
}

int ngf_corpus_build(const char *input, ng_corpus_format format, const char *time_of,
                     const char *what, size_t n)
{
    ng_corpus_build_params p = ng_corpus_build_default_params();
    p.format = format;
    p.time_of = time_of;
    p.threads = 1;
    ng_corpus c;
    ng_corpus_build_stats st;
    /* slack: the read chunk, the first tables (words, counts, slices) of a file and of
     * the totals */
    ngf_mem_begin();
    ng_status s = ng_corpus_build(&input, 1, &p, &c, &st);
    ngf_mem_end(n, 16 << 20, "ng_corpus_build");
    if (s) {
        ngf_refused(s, what);
        return 0;
    }
    if (ng_corpus_check(&c)) ngf_die("ng_corpus_build made a corpus that fails its check: %s", ng_last_error());
    const char *dir = ngf_path(7, "corpus-out");
    if (ng_corpus_write(dir, &c)) ngf_die("ng_corpus_write: %s", ng_last_error());
    ng_corpus r;
    if (ng_corpus_read(dir, &r)) ngf_die("ng_corpus_read of a written corpus: %s", ng_last_error());
    if (!ngf_corpus_same(&c, &r)) ngf_die("a corpus read back differs from the one written");
    ng_corpus_free(&r);
    ng_corpus_free(&c);
    return 1;
}

void ngf_write_parts(const char *dir, const char *const *names, const uint8_t *const *part,
                     const size_t *len, size_t np, int skip_empty)
{
    for (size_t k = 0; k < np; k++) {
        if (skip_empty && !len[k]) continue;
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, names[k]);
        ngf_write(p, part[k], len[k]);
    }
}
