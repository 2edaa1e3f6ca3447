/* checkpoint.c - checkpoint directories that survive a crash at any moment.
 *
 * Layout: DIR/MANIFEST, a text file
 *     natgrad-checkpoint 1
 *     model NAME
 *     step N
 *     array NAME DTYPE DIM...      (one line per array; DTYPE u8 i8 i16 i32 i64 f32 f64)
 * and DIR/NAME.npy per array. A save writes DIR.tmp (a stale one from a crashed save is
 * removed first), then swaps: DIR -> DIR.old, DIR.tmp -> DIR, removes DIR.old. Whatever
 * the moment of a crash, either DIR or (between the two renames) DIR.old holds a complete
 * checkpoint, and load falls back to DIR.old when DIR is missing. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKPT_MAGIC "natgrad-checkpoint 1"

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

/* DIR/MANIFEST starts with the magic line. */
static int has_manifest(const char *dir)
{
    char *m = ngi_asprintf("%s/MANIFEST", dir);
    if (!m) return 0;
    FILE *f = fopen(m, "rb");
    free(m);
    if (!f) return 0;
    char buf[sizeof CKPT_MAGIC];
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    return got == sizeof buf - 1 && !memcmp(buf, CKPT_MAGIC, sizeof buf - 1);
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

static ng_status write_manifest(const char *tmp, const char *model, int64_t step,
                                const ng_ckpt_array *arrays, size_t n)
{
    char *mpath = ngi_asprintf("%s/MANIFEST", tmp);
    if (!mpath) return NG_ENOMEM;
    ng_atomic_file af;
    ng_status s = ng_atomic_open(&af, mpath);
    free(mpath);
    if (s) return s;
    fprintf(af.f, "%s\nmodel %s\nstep %" PRId64 "\n", CKPT_MAGIC, model, step);
    for (size_t i = 0; i < n; i++) {
        const ng_tensor *t = &arrays[i].t;
        fprintf(af.f, "array %s %s", arrays[i].name, dtype_name(t->dtype));
        for (int k = 0; k < t->ndim; k++) fprintf(af.f, " %zu", t->shape[k]);
        fputc('\n', af.f);
    }
    return ng_atomic_commit(&af);
}

static ng_status save_into(const char *d, const char *tmp, const char *old, const char *model,
                           int64_t step, const ng_ckpt_array *arrays, size_t n)
{
    ng_status s = rm_rf(tmp); /* a stale DIR.tmp from a crashed save */
    if (s) return s;
    if (mkdir(tmp, 0777) != 0)
        return ngi_fail(NG_EIO, "%s: cannot create the checkpoint directory: %s", tmp,
                       strerror(errno));
    for (size_t i = 0; i < n; i++) {
        char *p = ngi_asprintf("%s/%s.npy", tmp, arrays[i].name);
        if (!p) return NG_ENOMEM;
        s = ng_npy_write(p, &arrays[i].t);
        free(p);
        if (s) return s;
    }
    s = write_manifest(tmp, model, step, arrays, n);
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

static ng_status parse_manifest(const char *mpath, char *text, manifest *m)
{
    memset(m, 0, sizeof *m);
    char *cur = text, *line;
    size_t lineno = 0;
    int have_model = 0, have_step = 0;
    size_t cap = 0;
    while ((line = next_line(&cur))) {
        lineno++;
        if (lineno == 1) {
            if (strcmp(line, CKPT_MAGIC))
                return ngi_fail(NG_EFORMAT, "%s:1: expected '%s'", mpath, CKPT_MAGIC);
            continue;
        }
        if (!*line) continue;
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
            char *nm = strtok_r(NULL, " ", &save);
            char *dt = strtok_r(NULL, " ", &save);
            man_array a;
            memset(&a, 0, sizeof a);
            if (!nm || !valid_array_name(nm) || !dt || !dtype_parse(dt, &a.dtype))
                return ngi_fail(NG_EFORMAT,
                               "%s:%zu: expected 'array NAME DTYPE DIM...' with DTYPE one of "
                               "u8 i8 i16 i32 i64 f32 f64",
                               mpath, lineno);
            char *v;
            while ((v = strtok_r(NULL, " ", &save))) {
                char *end;
                errno = 0;
                unsigned long long dim = strtoull(v, &end, 10);
                if (errno || *end || end == v || *v == '-' || a.ndim == NG_MAX_DIMS)
                    return ngi_fail(NG_EFORMAT,
                                   "%s:%zu: array '%s': expected at most %d non-negative dimensions",
                                   mpath, lineno, nm, NG_MAX_DIMS);
                a.shape[a.ndim++] = (size_t)dim;
            }
            if (m->n == cap) {
                size_t nc = cap ? 2 * cap : 8;
                man_array *na = realloc(m->arr, nc * sizeof *na);
                if (!na) return ngi_fail(NG_ENOMEM, "%s: out of memory", mpath);
                m->arr = na;
                cap = nc;
            }
            a.name = ngi_strdup(nm);
            if (!a.name) return NG_ENOMEM;
            m->arr[m->n++] = a;
        } else {
            return ngi_fail(NG_EFORMAT, "%s:%zu: unknown key '%s' (expected model, step or array)",
                           mpath, lineno, key);
        }
    }
    if (lineno == 0) return ngi_fail(NG_EFORMAT, "%s:1: empty file, expected '%s'", mpath, CKPT_MAGIC);
    if (!have_model) return ngi_fail(NG_EFORMAT, "%s: no 'model NAME' line", mpath);
    if (!have_step) return ngi_fail(NG_EFORMAT, "%s: no 'step N' line", mpath);
    return NG_OK;
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

static ng_status load_from(const char *d, const char *model, int64_t *step,
                           ng_ckpt_array *arrays, size_t n)
{
    char *mpath = ngi_asprintf("%s/MANIFEST", d);
    if (!mpath) return NG_ENOMEM;
    unsigned char *text;
    size_t len;
    ng_status s = ng_read_file(mpath, &text, &len);
    if (s) {
        free(mpath);
        return s;
    }
    char *t0 = realloc(text, len + 1);
    if (!t0) {
        free(text);
        free(mpath);
        return ngi_fail(NG_ENOMEM, "%s: out of memory", d);
    }
    t0[len] = '\0';
    if (memchr(t0, '\0', len)) {
        free(t0);
        s = ngi_fail(NG_EFORMAT, "%s: binary data in a text file", mpath);
        free(mpath);
        return s;
    }
    manifest m;
    s = parse_manifest(mpath, t0, &m);
    free(t0);
    free(mpath);
    if (s) {
        manifest_free(&m);
        return s;
    }
    if (strcmp(m.model, model)) {
        s = ngi_fail(NG_EMISMATCH, "%s: checkpoint is for model %s, expected %s", d, m.model, model);
        manifest_free(&m);
        return s;
    }

    /* Check everything against the manifest, then read every array, and only then copy into
     * the caller's buffers: a failed load leaves the model untouched. */
    char want[256], have[256];
    ng_tensor *tmp = ngi_xcalloc(n, sizeof *tmp);
    if (!tmp) {
        manifest_free(&m);
        return NG_ENOMEM;
    }
    for (size_t i = 0; i < n && !s; i++) {
        const ng_tensor *t = &arrays[i].t;
        const man_array *a = NULL;
        for (size_t j = 0; j < m.n && !a; j++)
            if (!strcmp(m.arr[j].name, arrays[i].name)) a = &m.arr[j];
        if (!a) {
            s = ngi_fail(NG_EMISMATCH, "%s: array '%s' is missing from the checkpoint", d,
                        arrays[i].name);
            break;
        }
        if (!same_shape(a->dtype, a->ndim, a->shape, t->dtype, t->ndim, t->shape)) {
            shape_str(want, sizeof want, t->dtype, t->ndim, t->shape);
            shape_str(have, sizeof have, a->dtype, a->ndim, a->shape);
            s = ngi_fail(NG_EMISMATCH, "%s: array '%s' is %s in the checkpoint, expected %s", d,
                        arrays[i].name, have, want);
        }
    }
    for (size_t i = 0; i < n && !s; i++) {
        char *p = ngi_asprintf("%s/%s.npy", d, arrays[i].name);
        if (!p) {
            s = NG_ENOMEM;
            break;
        }
        s = ng_npy_read(p, &tmp[i]);
        if (!s) {
            const ng_tensor *t = &arrays[i].t;
            if (!same_shape(tmp[i].dtype, tmp[i].ndim, tmp[i].shape, t->dtype, t->ndim,
                            t->shape)) {
                shape_str(want, sizeof want, t->dtype, t->ndim, t->shape);
                shape_str(have, sizeof have, tmp[i].dtype, tmp[i].ndim, tmp[i].shape);
                s = ngi_fail(NG_EFORMAT, "%s: holds %s, but the MANIFEST says %s", p, have, want);
            }
        }
        free(p);
    }
    if (!s) {
        for (size_t i = 0; i < n; i++) {
            size_t bytes = ng_tensor_count(&tmp[i]) * ng_dtype_size(tmp[i].dtype);
            if (bytes) memcpy(arrays[i].t.data, tmp[i].data, bytes);
        }
        if (step) *step = m.step;
    }
    for (size_t i = 0; i < n; i++) ng_tensor_free(&tmp[i]);
    free(tmp);
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
    else if (is_dir(old)) /* a save was interrupted between its two renames */
        s = load_from(old, model, step, arrays, n);
    else
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
    char *p = NULL;
    ng_status s = NG_OK;
    if (!d || !old) {
        s = NG_ENOMEM;
    } else {
        const char *from = path_exists(d) ? d : old; /* as ng_ckpt_load falls back */
        if (!has_manifest(from)) {
            s = ngi_fail(NG_EIO, "%s: no checkpoint there", d);
        } else if (!(p = ngi_asprintf("%s/%s.npy", from, name))) {
            s = NG_ENOMEM;
        } else if (!path_exists(p)) {
            s = ngi_fail(NG_EMISMATCH, "%s: the checkpoint has no array '%s'", d, name);
        } else {
            s = ng_npy_read(p, out);
        }
    }
    free(p);
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
