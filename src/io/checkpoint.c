/* checkpoint.c - checkpoint directories that survive a crash at any moment and cannot be
 * resumed from when damaged.
 *
 * Layout: DIR/MANIFEST, a text file
 *     natgrad-checkpoint 2
 *     model NAME
 *     step N
 *     array NAME DTYPE DIM... crc32 HHHHHHHH   (one line per array; DTYPE u8 i8 i16 i32 i64
 *                                              f32 f64; the CRC-32 of the file NAME.npy)
 *     manifest-crc32 HHHHHHHH                  (the CRC-32 of every byte above this line)
 * and DIR/NAME.npy per array. CRC-32 is zlib's (the one of gzip and PNG), so a file can be
 * checked by hand. A save writes DIR.tmp (a stale one from a crashed save is removed
 * first), MANIFEST last, then swaps: DIR -> DIR.old, DIR.tmp -> DIR, removes DIR.old.
 * Whatever the moment the process dies, either DIR or (between the two renames) DIR.old
 * holds a complete checkpoint, and load falls back to DIR.old when DIR is missing (and
 * moves it back to DIR once it has loaded). Loading
 * checks the MANIFEST's checksum and the checksum of every array it reads: a damaged
 * checkpoint is refused, naming the file, never half-resumed. Files are not fsync'ed (on
 * a shared disk that cost 60-290 ms per save against 2-4 ms): what a power loss may
 * damage, the checksums refuse. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CKPT_MAGIC_PREFIX "natgrad-checkpoint "
#define CKPT_VERSION 2
#define CKPT_MAGIC "natgrad-checkpoint 2"
#define CRC_KEY "manifest-crc32 "

static const struct {
    ng_dtype t;
    const char *name;
} k_dtypes[] = {{NG_U8, "u8"},   {NG_I8, "i8"},   {NG_I16, "i16"}, {NG_I32, "i32"},
                {NG_I64, "i64"}, {NG_F32, "f32"}, {NG_F64, "f64"}};
#define NDTYPES (sizeof k_dtypes / sizeof k_dtypes[0])

static const char *dtype_name(ng_dtype t)
{
    for (size_t i = 0; i < NDTYPES; i++)
        if (k_dtypes[i].t == t) return k_dtypes[i].name;
    return NULL;
}

static int dtype_parse(const char *s, ng_dtype *t)
{
    for (size_t i = 0; i < NDTYPES; i++)
        if (!strcmp(k_dtypes[i].name, s)) {
            *t = k_dtypes[i].t;
            return 1;
        }
    return 0;
}

static int valid_array_name(const char *s)
{
    if (!s || !*s || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (; *s; s++) {
        char ch = *s;
        int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '.' || ch == '-';
        if (!ok) return 0;
    }
    return 1;
}

/* Model names go on one MANIFEST line: printable, no blanks. */
static int valid_model_name(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f) return 0;
    return 1;
}

/* "a/b/" -> "a/b" (so that "DIR.tmp" is a sibling, not a child). */
static char *strip_slashes(const char *dir)
{
    char *d = ngi_strdup(dir);
    if (!d) return NULL;
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/') d[--n] = '\0';
    return d;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int path_exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static int is_empty_dir(const char *p)
{
    DIR *dh = opendir(p);
    if (!dh) return 0;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(dh)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(dh);
    return empty;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(p) : unlink(p)) != 0 ? -1 : 0;
}

/* rm -r; a missing path is fine. */
static ng_status rm_rf(const char *p)
{
    if (!path_exists(p)) return NG_OK;
    if (nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return ngi_fail(NG_EIO, "%s: cannot remove: %s", p, strerror(errno));
    return NG_OK;
}

/* DIR/MANIFEST starts as a natgrad checkpoint's of any format version: such a directory is
 * ours (a save may replace it), and a resume tries it, so that a checkpoint of another
 * format is refused with a message instead of a run silently starting over. */
static int has_manifest(const char *dir)
{
    char *m = ngi_asprintf("%s/MANIFEST", dir);
    if (!m) return 0;
    FILE *f = fopen(m, "rb");
    free(m);
    if (!f) return 0;
    char buf[sizeof CKPT_MAGIC_PREFIX];
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return got == sizeof buf - 1 && !memcmp(buf, CKPT_MAGIC_PREFIX, sizeof buf - 1);
}

int ng_ckpt_exists(const char *dir)
{
    if (!dir || !*dir) return 0;
    char *d = strip_slashes(dir);
    char *old = d ? ngi_asprintf("%s.old", d) : NULL;
    int r = d && old && (has_manifest(d) || (!path_exists(d) && has_manifest(old)));
    free(d);
    free(old);
    return r;
}

/* ------------------------------------------------------------------ checksums, flushing */

static uint32_t crc_of(const unsigned char *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) { /* zlib takes uInt lengths */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

/* The CRC-32 of a file's bytes (a save reads each file it wrote back once: the checksum is
 * of what is in the file). */
static ng_status file_crc(const char *path, uint32_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ngi_fail(NG_EIO, "%s: cannot open: %s", path, strerror(errno));
    const size_t chunk = (size_t)1 << 20;
    unsigned char *buf = ngi_xmalloc(chunk);
    if (!buf) {
        close(fd);
        return NG_ENOMEM;
    }
    uLong c = crc32(0L, Z_NULL, 0);
    ng_status s = NG_OK;
    for (;;) {
        ssize_t got = read(fd, buf, chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            s = ngi_fail(NG_EIO, "%s: read error: %s", path, strerror(errno));
            break;
        }
        if (got == 0) break;
        c = crc32(c, buf, (uInt)got);
    }
    free(buf);
    close(fd);
    *out = (uint32_t)c;
    return s;
}

/* ------------------------------------------------------------------ save */

typedef struct {
    char *buf;
    size_t len, cap;
} text;

static int text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) return 0;
    if (t->len + (size_t)k + 1 > t->cap) {
        size_t nc = 2 * (t->cap + (size_t)k + 1);
        char *nb = realloc(t->buf, nc);
        if (!nb) return 0;
        t->buf = nb;
        t->cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)k;
    return 1;
}

static ng_status write_manifest(const char *tmp, const char *model, int64_t step,
                                const ng_ckpt_array *arrays, const uint32_t *crcs, size_t n)
{
    text t = {NULL, 0, 0};
    int ok = text_add(&t, "%s\nmodel %s\nstep %" PRId64 "\n", CKPT_MAGIC, model, step);
    for (size_t i = 0; ok && i < n; i++) {
        const ng_tensor *a = &arrays[i].t;
        ok = text_add(&t, "array %s %s", arrays[i].name, dtype_name(a->dtype));
        for (int k = 0; ok && k < a->ndim; k++) ok = text_add(&t, " %zu", a->shape[k]);
        ok = ok && text_add(&t, " crc32 %08" PRIx32 "\n", crcs[i]);
    }
    ok = ok && text_add(&t, CRC_KEY "%08" PRIx32 "\n", crc_of((const unsigned char *)t.buf, t.len));
    if (!ok) {
        free(t.buf);
        return ngi_fail(NG_ENOMEM, "%s: out of memory writing the MANIFEST", tmp);
    }
    /* DIR.tmp is this save's own: MANIFEST goes straight in (last: a DIR.tmp with a
     * MANIFEST has all its arrays). */
    char *mpath = ngi_asprintf("%s/MANIFEST", tmp);
    ng_status s = NG_OK;
    FILE *f = mpath ? fopen(mpath, "wb") : NULL;
    if (!mpath) {
        s = NG_ENOMEM;
    } else if (!f) {
        s = ngi_fail(NG_EIO, "%s: cannot create: %s", mpath, strerror(errno));
    } else {
        int bad = fwrite(t.buf, 1, t.len, f) != t.len || fflush(f) != 0;
        int e = errno;
        bad |= fclose(f) != 0;
        if (bad) s = ngi_fail(NG_EIO, "%s: cannot write: %s", mpath, strerror(e ? e : errno));
    }
    free(mpath);
    free(t.buf);
    return s;
}

static ng_status write_arrays(const char *tmp, const ng_ckpt_array *arrays, uint32_t *crcs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *p = ngi_asprintf("%s/%s.npy", tmp, arrays[i].name);
        if (!p) return NG_ENOMEM;
        ng_status s = ng_npy_write(p, &arrays[i].t);
        if (!s) s = file_crc(p, &crcs[i]);
        free(p);
        if (s) return s;
    }
    return NG_OK;
}

static ng_status save_into(const char *d, const char *tmp, const char *old, const char *model,
                           int64_t step, const ng_ckpt_array *arrays, size_t n)
{
    ng_status s = rm_rf(tmp); /* a stale DIR.tmp from a crashed save */
    if (s) return s;
    if (mkdir(tmp, 0777) != 0)
        return ngi_fail(NG_EIO, "%s: cannot create the checkpoint directory: %s", tmp,
                       strerror(errno));
    uint32_t *crcs = ngi_xcalloc(n, sizeof *crcs);
    if (!crcs) return NG_ENOMEM;
    s = write_arrays(tmp, arrays, crcs, n);
    if (!s) s = write_manifest(tmp, model, step, arrays, crcs, n);
    free(crcs);
    if (s) return s;

    /* The swap. A crash between the renames leaves only DIR.old: load falls back to it. */
    if (path_exists(d)) {
        s = rm_rf(old);
        if (s) return s;
        if (rename(d, old) != 0)
            return ngi_fail(NG_EIO, "%s: cannot move the previous checkpoint aside: %s", d,
                           strerror(errno));
    }
    if (rename(tmp, d) != 0) {
        s = ngi_fail(NG_EIO, "%s: cannot rename %s into place: %s", d, tmp, strerror(errno));
        if (!path_exists(d) && path_exists(old)) rename(old, d); /* put the old one back */
        return s;
    }
    /* The new checkpoint is in place; a leftover DIR.old is harmless (load prefers DIR). */
    rm_rf(old);
    return NG_OK;
}

ng_status ng_ckpt_save(const char *dir, const char *model, int64_t step,
                       const ng_ckpt_array *arrays, size_t n)
{
    if (!dir || !*dir) return ngi_fail(NG_EINVAL, "ng_ckpt_save: empty checkpoint directory name");
    if (!valid_model_name(model))
        return ngi_fail(NG_EINVAL, "%s: model name '%s' must be non-empty without blanks", dir,
                       model ? model : "(null)");
    if (n > 0 && !arrays) return ngi_fail(NG_EINVAL, "%s: arrays are NULL", dir);
    for (size_t i = 0; i < n; i++) {
        const char *nm = arrays[i].name;
        if (!valid_array_name(nm))
            return ngi_fail(NG_EINVAL, "%s: array name '%s' is not a file stem of [A-Za-z0-9_.-]",
                           dir, nm ? nm : "(null)");
        for (size_t j = 0; j < i; j++)
            if (!strcmp(nm, arrays[j].name))
                return ngi_fail(NG_EINVAL, "%s: array '%s' is given twice", dir, nm);
        const ng_tensor *t = &arrays[i].t;
        if (!dtype_name(t->dtype))
            return ngi_fail(NG_EINVAL, "%s: array '%s' has an unknown dtype %d", dir, nm,
                           (int)t->dtype);
        if (t->ndim < 0 || t->ndim > NG_MAX_DIMS)
            return ngi_fail(NG_EINVAL, "%s: array '%s' has %d dimensions (at most %d)", dir, nm,
                           t->ndim, NG_MAX_DIMS);
        if (!t->data && ng_tensor_count(t) > 0)
            return ngi_fail(NG_EINVAL, "%s: array '%s' has no data", dir, nm);
    }

    char *d = strip_slashes(dir);
    char *tmp = d ? ngi_asprintf("%s.tmp", d) : NULL;
    char *old = d ? ngi_asprintf("%s.old", d) : NULL;
    ng_status s = NG_OK;
    if (!d || !tmp || !old) {
        s = NG_ENOMEM;
        goto done;
    }
    /* Never rename away (and later delete) a directory that is not ours. */
    if (path_exists(d) && !(is_dir(d) && (has_manifest(d) || is_empty_dir(d)))) {
        s = ngi_fail(NG_EINVAL, "%s: exists and is not a natgrad checkpoint; not overwriting it", d);
        goto done;
    }
    s = save_into(d, tmp, old, model, step, arrays, n);
    if (s) {
        /* Keep the message of the real failure; just clean up the partial DIR.tmp. */
        char *msg = ngi_strdup(ng_last_error());
        rm_rf(tmp);
        if (msg) {
            ngi_fail(s, "%s", msg);
            free(msg);
        }
    }
done:
    free(d);
    free(tmp);
    free(old);
    return s;
}

/* ------------------------------------------------------------------ load */

typedef struct {
    char *name;
    ng_dtype dtype;
    int ndim;
    size_t shape[NG_MAX_DIMS];
    uint32_t crc;
} man_array;

typedef struct {
    char *model;
    int64_t step;
    man_array *arr;
    size_t n;
} manifest;

static void manifest_free(manifest *m)
{
    for (size_t i = 0; i < m->n; i++) free(m->arr[i].name);
    free(m->arr);
    free(m->model);
    memset(m, 0, sizeof *m);
}

static char *next_line(char **cur)
{
    char *s = *cur;
    if (!s || !*s) return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *cur = nl + 1;
    } else {
        *cur = s + strlen(s);
    }
    size_t k = strlen(s);
    if (k && s[k - 1] == '\r') s[k - 1] = '\0';
    return s;
}

/* Exactly 8 hex digits. */
static int parse_crc(const char *v, uint32_t *out)
{
    if (!v || strlen(v) != 8) return 0;
    uint32_t c = 0;
    for (int i = 0; i < 8; i++) {
        char ch = v[i];
        int x = ch >= '0' && ch <= '9' ? ch - '0'
              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : -1; /* lower case, as written: a flipped case bit is damage too */
        if (x < 0) return 0;
        c = c << 4 | (uint32_t)x;
    }
    *out = c;
    return 1;
}

/* "array NAME DTYPE DIM... crc32 HHHHHHHH" after the key; save is strtok_r's state. */
static ng_status parse_array(const char *mpath, size_t lineno, char **save, man_array *a)
{
    memset(a, 0, sizeof *a);
    char *nm = strtok_r(NULL, " ", save);
    char *dt = strtok_r(NULL, " ", save);
    if (!nm || !valid_array_name(nm) || !dt || !dtype_parse(dt, &a->dtype))
        return ngi_fail(NG_EFORMAT,
                        "%s:%zu: expected 'array NAME DTYPE DIM... crc32 HHHHHHHH' with DTYPE one "
                        "of u8 i8 i16 i32 i64 f32 f64", mpath, lineno);
    char *v;
    int have_crc = 0;
    while ((v = strtok_r(NULL, " ", save))) {
        if (!strcmp(v, "crc32")) {
            if (!parse_crc(strtok_r(NULL, " ", save), &a->crc) || strtok_r(NULL, " ", save))
                return ngi_fail(NG_EFORMAT, "%s:%zu: array '%s': expected 'crc32' and 8 hex digits at the end",
                                mpath, lineno, nm);
            have_crc = 1;
            break;
        }
        char *end;
        errno = 0;
        unsigned long long dim = strtoull(v, &end, 10);
        if (errno || *end || end == v || *v == '-' || a->ndim == NG_MAX_DIMS)
            return ngi_fail(NG_EFORMAT, "%s:%zu: array '%s': expected at most %d non-negative dimensions",
                            mpath, lineno, nm, NG_MAX_DIMS);
        a->shape[a->ndim++] = (size_t)dim;
    }
    if (!have_crc)
        return ngi_fail(NG_EFORMAT, "%s:%zu: array '%s' has no 'crc32 HHHHHHHH' checksum", mpath, lineno, nm);
    a->name = ngi_strdup(nm);
    return a->name ? NG_OK : NG_ENOMEM;
}

static ng_status add_array(const char *mpath, size_t lineno, manifest *m, size_t *cap, man_array *a)
{
    for (size_t j = 0; j < m->n; j++)
        if (!strcmp(m->arr[j].name, a->name)) {
            ng_status s = ngi_fail(NG_EFORMAT, "%s:%zu: array '%s' is listed twice", mpath, lineno, a->name);
            free(a->name);
            return s;
        }
    if (m->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        man_array *na = realloc(m->arr, nc * sizeof *na);
        if (!na) {
            free(a->name);
            return ngi_fail(NG_ENOMEM, "%s: out of memory", mpath);
        }
        m->arr = na;
        *cap = nc;
    }
    m->arr[m->n++] = *a;
    return NG_OK;
}

/* The lines after the magic line, up to the checksum line (already checked). */
static ng_status parse_manifest(const char *mpath, char *text, manifest *m)
{
    memset(m, 0, sizeof *m);
    char *cur = text, *line;
    size_t lineno = 1;
    int have_model = 0, have_step = 0;
    size_t cap = 0;
    while ((line = next_line(&cur))) {
        lineno++;
        char *save;
        char *key = strtok_r(line, " ", &save);
        if (!key) continue; /* blanks only */
        if (!strcmp(key, "model")) {
            char *v = strtok_r(NULL, " ", &save);
            if (!v || strtok_r(NULL, " ", &save))
                return ngi_fail(NG_EFORMAT, "%s:%zu: expected 'model NAME'", mpath, lineno);
            free(m->model);
            m->model = ngi_strdup(v);
            if (!m->model) return NG_ENOMEM;
            have_model = 1;
        } else if (!strcmp(key, "step")) {
            char *v = strtok_r(NULL, " ", &save), *end;
            errno = 0;
            long long st = v ? strtoll(v, &end, 10) : 0;
            if (!v || errno || *end || end == v || strtok_r(NULL, " ", &save))
                return ngi_fail(NG_EFORMAT, "%s:%zu: expected 'step N' with an integer N", mpath,
                               lineno);
            m->step = (int64_t)st;
            have_step = 1;
        } else if (!strcmp(key, "array")) {
            man_array a;
            ng_status s = parse_array(mpath, lineno, &save, &a);
            if (!s) s = add_array(mpath, lineno, m, &cap, &a);
            if (s) return s;
        } else {
            return ngi_fail(NG_EFORMAT, "%s:%zu: unknown key '%s' (expected model, step or array)",
                           mpath, lineno, key);
        }
    }
    if (!have_model) return ngi_fail(NG_EFORMAT, "%s: no 'model NAME' line", mpath);
    if (!have_step) return ngi_fail(NG_EFORMAT, "%s: no 'step N' line", mpath);
    return NG_OK;
}

/* The format line: this version, or a clear refusal of another. */
static ng_status check_version(const char *mpath, const char *t, size_t len)
{
    size_t pl = sizeof CKPT_MAGIC_PREFIX - 1;
    size_t l1 = strcspn(t, "\r\n");
    if (len < pl || memcmp(t, CKPT_MAGIC_PREFIX, pl))
        return ngi_fail(NG_EFORMAT, "%s:1: expected '%s'", mpath, CKPT_MAGIC);
    char *end;
    errno = 0;
    long v = strtol(t + pl, &end, 10);
    if (errno || end == t + pl || (size_t)(end - t) != l1)
        return ngi_fail(NG_EFORMAT, "%s:1: expected '%s'", mpath, CKPT_MAGIC);
    if (v == 1)
        return ngi_fail(NG_EUNSUPPORTED,
                        "%s: checkpoint format 1 (without checksums) is not read by this natgrad, "
                        "which writes and reads format %d: start the run afresh", mpath, CKPT_VERSION);
    if (v != CKPT_VERSION)
        return ngi_fail(NG_EUNSUPPORTED, "%s: checkpoint format %ld is not read by this natgrad (format %d)",
                        mpath, v, CKPT_VERSION);
    return NG_OK;
}

/* Reads DIR/MANIFEST: the format line, the checksum of the whole file (its last line), then
 * the lines between. */
static ng_status read_manifest(const char *d, manifest *m)
{
    memset(m, 0, sizeof *m);
    char *mpath = ngi_asprintf("%s/MANIFEST", d);
    if (!mpath) return NG_ENOMEM;
    unsigned char *raw;
    size_t len;
    ng_status s = ng_read_file(mpath, &raw, &len);
    if (s) {
        free(mpath);
        return s;
    }
    char *t = realloc(raw, len + 1);
    if (!t) {
        free(raw);
        free(mpath);
        return ngi_fail(NG_ENOMEM, "%s: out of memory", d);
    }
    t[len] = '\0';
    if (len == 0)
        s = ngi_fail(NG_EFORMAT, "%s:1: empty file, expected '%s'", mpath, CKPT_MAGIC);
    else if (memchr(t, '\0', len))
        s = ngi_fail(NG_EFORMAT, "%s: binary data in a text file", mpath);
    else
        s = check_version(mpath, t, len);
    if (!s) {
        /* the last line: "manifest-crc32 HHHHHHHH\n", over every byte before it */
        size_t end = len && t[len - 1] == '\n' ? len - 1 : len, start = end;
        while (start > 0 && t[start - 1] != '\n') start--;
        uint32_t want = 0, have = crc_of((const unsigned char *)t, start);
        t[end] = '\0';
        if (strncmp(t + start, CRC_KEY, sizeof CRC_KEY - 1) || !parse_crc(t + start + sizeof CRC_KEY - 1, &want))
            s = ngi_fail(NG_EFORMAT, "%s: the last line is not 'manifest-crc32 HHHHHHHH' (a truncated or "
                         "edited MANIFEST)", mpath);
        else if (want != have)
            s = ngi_fail(NG_EFORMAT, "%s: damaged: the CRC-32 of its lines is %08" PRIx32 ", its last line "
                         "says %08" PRIx32, mpath, have, want);
        t[start] = '\0';
    }
    if (!s) {
        char *body = strchr(t, '\n'); /* after the format line */
        s = parse_manifest(mpath, body ? body + 1 : t + strlen(t), m);
    }
    free(t);
    free(mpath);
    if (s) manifest_free(m);
    return s;
}

static const man_array *find_array(const manifest *m, const char *name)
{
    for (size_t j = 0; j < m->n; j++)
        if (!strcmp(m->arr[j].name, name)) return &m->arr[j];
    return NULL;
}

static void shape_str(char *buf, size_t cap, ng_dtype dt, int ndim, const size_t *shape)
{
    const char *dn = dtype_name(dt);
    int k = snprintf(buf, cap, "%s (", dn ? dn : "?");
    for (int i = 0; i < ndim && k > 0 && (size_t)k < cap; i++)
        k += snprintf(buf + k, cap - (size_t)k, "%s%zu", i ? ", " : "", shape[i]);
    if (k > 0 && (size_t)k < cap) snprintf(buf + k, cap - (size_t)k, ")");
}

static int same_shape(ng_dtype da, int na, const size_t *sa, ng_dtype db, int nb, const size_t *sb)
{
    if (da != db || na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (sa[i] != sb[i]) return 0;
    return 1;
}

/* DIR/NAME.npy, its checksum checked against the MANIFEST's, and its dtype and shape. */
static ng_status read_array(const char *d, const man_array *a, ng_tensor *out)
{
    memset(out, 0, sizeof *out);
    char *p = ngi_asprintf("%s/%s.npy", d, a->name);
    if (!p) return NG_ENOMEM;
    uint32_t crc = 0;
    ng_status s = file_crc(p, &crc);
    if (!s && crc != a->crc)
        s = ngi_fail(NG_EFORMAT, "%s: array '%s' is damaged: the CRC-32 of %s is %08" PRIx32
                     ", the MANIFEST says %08" PRIx32, d, a->name, p, crc, a->crc);
    if (!s) s = ng_npy_read(p, out);
    if (!s && !same_shape(out->dtype, out->ndim, out->shape, a->dtype, a->ndim, a->shape)) {
        char want[256], have[256];
        shape_str(want, sizeof want, a->dtype, a->ndim, a->shape);
        shape_str(have, sizeof have, out->dtype, out->ndim, out->shape);
        s = ngi_fail(NG_EFORMAT, "%s: holds %s, but the MANIFEST says %s", p, have, want);
        ng_tensor_free(out);
    }
    free(p);
    return s;
}

static ng_status load_from(const char *d, const char *model, int64_t *step,
                           ng_ckpt_array *arrays, size_t n)
{
    manifest m;
    ng_status s = read_manifest(d, &m);
    if (s) return s;
    if (strcmp(m.model, model)) {
        s = ngi_fail(NG_EMISMATCH, "%s: checkpoint is for model %s, expected %s", d, m.model, model);
        manifest_free(&m);
        return s;
    }

    /* Check everything against the manifest, then read (and checksum) every array, and only
     * then copy into the caller's buffers: a failed load leaves the model untouched. */
    char want[256], have[256];
    const man_array **found = ngi_xcalloc(n, sizeof *found);
    ng_tensor *tmp = ngi_xcalloc(n, sizeof *tmp);
    if (!found || !tmp) s = NG_ENOMEM;
    for (size_t i = 0; i < n && !s; i++) {
        const ng_tensor *t = &arrays[i].t;
        const man_array *a = found[i] = find_array(&m, arrays[i].name);
        if (!a) {
            s = ngi_fail(NG_EMISMATCH, "%s: array '%s' is missing from the checkpoint", d,
                        arrays[i].name);
        } else if (!same_shape(a->dtype, a->ndim, a->shape, t->dtype, t->ndim, t->shape)) {
            shape_str(want, sizeof want, t->dtype, t->ndim, t->shape);
            shape_str(have, sizeof have, a->dtype, a->ndim, a->shape);
            s = ngi_fail(NG_EMISMATCH, "%s: array '%s' is %s in the checkpoint, expected %s", d,
                        arrays[i].name, have, want);
        }
    }
    for (size_t i = 0; i < n && !s; i++) s = read_array(d, found[i], &tmp[i]);
    if (!s) {
        for (size_t i = 0; i < n; i++) {
            size_t bytes = ng_tensor_count(&tmp[i]) * ng_dtype_size(tmp[i].dtype);
            if (bytes) memcpy(arrays[i].t.data, tmp[i].data, bytes);
        }
        if (step) *step = m.step;
    }
    for (size_t i = 0; tmp && i < n; i++) ng_tensor_free(&tmp[i]);
    free(tmp);
    free(found);
    manifest_free(&m);
    return s;
}

ng_status ng_ckpt_load(const char *dir, const char *model, int64_t *step,
                       ng_ckpt_array *arrays, size_t n)
{
    if (!dir || !*dir) return ngi_fail(NG_EINVAL, "ng_ckpt_load: empty checkpoint directory name");
    if (!model) return ngi_fail(NG_EINVAL, "%s: ng_ckpt_load: model name is NULL", dir);
    if (n > 0 && !arrays) return ngi_fail(NG_EINVAL, "%s: arrays are NULL", dir);
    for (size_t i = 0; i < n; i++) {
        if (!valid_array_name(arrays[i].name))
            return ngi_fail(NG_EINVAL, "%s: array name '%s' is not a file stem of [A-Za-z0-9_.-]",
                           dir, arrays[i].name ? arrays[i].name : "(null)");
        if (!arrays[i].t.data && ng_tensor_count(&arrays[i].t) > 0)
            return ngi_fail(NG_EINVAL, "%s: array '%s' has no buffer to load into", dir,
                           arrays[i].name);
    }
    char *d = strip_slashes(dir);
    char *old = d ? ngi_asprintf("%s.old", d) : NULL;
    ng_status s;
    if (!d || !old)
        s = NG_ENOMEM;
    else if (path_exists(d))
        s = load_from(d, model, step, arrays, n);
    else if (is_dir(old)) { /* a save was interrupted between its two renames */
        s = load_from(old, model, step, arrays, n);
        if (!s) rename(old, d); /* finish the swap backwards (where it can: else DIR.old stays) */
    } else
        s = ngi_fail(NG_EIO, "%s: no checkpoint there: %s", d, strerror(ENOENT));
    free(d);
    free(old);
    return s;
}

ng_status ng_ckpt_read(const char *dir, const char *name, ng_tensor *out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_ckpt_read: NULL output");
    memset(out, 0, sizeof *out);
    if (!dir || !*dir) return ngi_fail(NG_EINVAL, "ng_ckpt_read: empty checkpoint directory name");
    if (!valid_array_name(name))
        return ngi_fail(NG_EINVAL, "%s: array name '%s' is not a file stem of [A-Za-z0-9_.-]", dir,
                        name ? name : "(null)");
    char *d = strip_slashes(dir);
    char *old = d ? ngi_asprintf("%s.old", d) : NULL;
    ng_status s = NG_OK;
    if (!d || !old) {
        s = NG_ENOMEM;
    } else {
        const char *from = path_exists(d) ? d : old; /* as ng_ckpt_load falls back */
        manifest m;
        memset(&m, 0, sizeof m);
        const man_array *a = NULL;
        if (!has_manifest(from))
            s = ngi_fail(NG_EIO, "%s: no checkpoint there", d);
        else if (!(s = read_manifest(from, &m)) && !(a = find_array(&m, name)))
            s = ngi_fail(NG_EMISMATCH, "%s: the checkpoint has no array '%s'", d, name);
        if (!s) s = read_array(from, a, out);
        manifest_free(&m);
    }
    free(d);
    free(old);
    return s;
}

ng_ckpt_array ng_ckpt_view(const char *name, ng_dtype dtype, void *data, int ndim, size_t n0,
                           size_t n1, size_t n2)
{
    ng_ckpt_array a;
    memset(&a, 0, sizeof a);
    a.name = name;
    a.t.dtype = dtype;
    a.t.ndim = ndim;
    a.t.shape[0] = n0;
    if (ndim > 1) a.t.shape[1] = n1;
    if (ndim > 2) a.t.shape[2] = n2;
    a.t.data = data;
    return a;
}
