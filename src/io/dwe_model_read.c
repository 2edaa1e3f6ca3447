/* dwe_model_read.c - the directory of a trained dynamic word embeddings model
 * (docs/dwe.md, "Questions to a model"):
 *   model.txt     "natgrad-dwe-model 1", then key value lines (method, dim, W, T, sigma0,
 *                 diffusion, symmetry, steps, optionally prior; other keys are allowed
 *                 and ignored)
 *   vocab.tsv     word<TAB>count, rank order (word id = line - 1)
 *   times.csv     slice,time,train: one row per slice (train 1, or 0 for a held-out one)
 *   U.npy, V.npy  f4, T x W x d: the means of the word and context vectors
 * Every size is checked against model.txt before anything of that size is allocated;
 * values finite, times strictly increasing, words unique; the file and position named. */
#include "corpus_internal.h"
#include "tensor_io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "natgrad-dwe-model 1"

void ng_dwe_model_free(ng_dwe_model *m)
{
    if (!m) return;
    if (m->word)
        for (size_t k = 0; k < m->W; k++) free(m->word[k]);
    free(m->word);
    free(m->count);
    free(m->time);
    free(m->train);
    free(m->U);
    free(m->V);
    free(m->method);
    free(m->symmetry);
    free(m->prior);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------ text files */

typedef struct {
    char *path;
    char *buf; /* NUL-terminated */
    size_t len;
    char **line; /* split in place; a final newline is optional, a '\r' before it dropped */
    size_t n;
} text_file;

static void text_close(text_file *f)
{
    free(f->path);
    free(f->buf);
    free(f->line);
    memset(f, 0, sizeof *f);
}

/* Reads DIR/NAME and counts its lines; the lines are split only when expect is 0 or
 * their count is expect (so that a file of the wrong length allocates nothing of its
 * size). what names expect in the message. */
static ng_status text_open(text_file *f, const char *dir, const char *name, size_t expect,
                           const char *what)
{
    memset(f, 0, sizeof *f);
    if (!(f->path = ngi_asprintf("%s/%s", dir, name))) return NG_ENOMEM;
    unsigned char *b;
    ng_status s = ng_read_file(f->path, &b, &f->len);
    if (s) return s;
    f->buf = realloc(b, f->len + 1);
    if (!f->buf) {
        free(b);
        return ngi_fail(NG_ENOMEM, "%s: out of memory", f->path);
    }
    f->buf[f->len] = '\0';
    if (memchr(f->buf, '\0', f->len)) return ngi_fail(NG_EFORMAT, "%s: NUL byte: expected text", f->path);
    size_t n = 0;
    for (size_t k = 0; k < f->len; k++) n += f->buf[k] == '\n';
    n += f->len && f->buf[f->len - 1] != '\n';
    if (expect && n != expect)
        return ngi_fail(NG_EFORMAT, "%s: %zu lines: expected %zu (%s)", f->path, n, expect, what);
    if (!(f->line = ngi_xmalloc((n ? n : 1) * sizeof *f->line))) return NG_ENOMEM;
    char *p = f->buf, *end = p + f->len;
    for (size_t k = 0; k < n; k++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        if (e > p && e[-1] == '\r') e[-1] = '\0';
        *e = '\0';
        f->line[k] = p;
        p = nl ? nl + 1 : end;
    }
    f->n = n;
    return NG_OK;
}

static int parse_int(const char *s, int64_t lo, int64_t hi, int64_t *v)
{
    return ngi_parse_i64(s, strlen(s), v) && *v >= lo && *v <= hi;
}

/* ------------------------------------------------------------------ model.txt */

/* The keys before K_REQUIRED must be there; prior is optional (older models). */
enum { K_METHOD, K_DIM, K_W, K_T, K_SIGMA0, K_DIFFUSION, K_SYMMETRY, K_STEPS, K_REQUIRED,
       K_PRIOR = K_REQUIRED, K_N };
static const char *const k_keys[K_N] = {"method", "dim", "W", "T", "sigma0", "diffusion",
                                        "symmetry", "steps", "prior"};

static ng_status meta_value(const text_file *f, size_t l, int k, const char *v, ng_dwe_model *m)
{
    int64_t i;
    double x;
    switch (k) {
    case K_METHOD:
    case K_SYMMETRY:
    case K_PRIOR: {
        if (!*v || strpbrk(v, " \t"))
            return ngi_fail(NG_EFORMAT, "%s:%zu: %s '%s': expected one word", f->path, l + 1, k_keys[k], v);
        char **dst = k == K_METHOD ? &m->method : k == K_SYMMETRY ? &m->symmetry : &m->prior;
        return (*dst = ngi_strdup(v)) ? NG_OK : NG_ENOMEM;
    }
    case K_DIM:
    case K_W:
    case K_T:
        if (!parse_int(v, 1, k == K_DIM ? 65536 : INT32_MAX, &i))
            return ngi_fail(NG_EFORMAT, "%s:%zu: %s '%s': expected an integer 1..%d", f->path, l + 1,
                            k_keys[k], v, k == K_DIM ? 65536 : INT32_MAX);
        if (k == K_DIM) m->d = (size_t)i;
        if (k == K_W) m->W = (size_t)i;
        if (k == K_T) m->T = (size_t)i;
        return NG_OK;
    case K_SIGMA0:
    case K_DIFFUSION:
        if (!ngi_parse_double(v, strlen(v), &x) || !(x > 0))
            return ngi_fail(NG_EFORMAT, "%s:%zu: %s '%s': expected a finite number > 0", f->path,
                            l + 1, k_keys[k], v);
        if (k == K_SIGMA0) m->sigma0 = x;
        else m->diffusion = x;
        return NG_OK;
    default: /* K_STEPS */
        if (!parse_int(v, 0, INT64_MAX, &i))
            return ngi_fail(NG_EFORMAT, "%s:%zu: steps '%s': expected an integer >= 0", f->path,
                            l + 1, v);
        m->steps = i;
        return NG_OK;
    }
}

static ng_status read_meta(const char *dir, ng_dwe_model *m)
{
    text_file f;
    ng_status s = text_open(&f, dir, "model.txt", 0, NULL);
    if (!s && (f.n == 0 || strcmp(f.line[0], MAGIC)))
        s = ngi_fail(NG_EFORMAT, "%s:1: expected \"" MAGIC "\"", f.path);
    int seen[K_N] = {0};
    for (size_t l = 1; !s && l < f.n; l++) {
        char *x = f.line[l], *sp = strchr(x, ' ');
        if (!*x) continue;
        int k = -1;
        for (int q = 0; sp && q < K_N; q++)
            if ((size_t)(sp - x) == strlen(k_keys[q]) && !strncmp(x, k_keys[q], (size_t)(sp - x))) k = q;
        if (!sp || sp == x || (k >= 0 && seen[k])) {
            s = ngi_fail(NG_EFORMAT, "%s:%zu: '%.40s': expected 'key value', each key once", f.path,
                         l + 1, x);
            break;
        }
        if (k < 0) continue; /* a key this reader does not know (test_slices, ...): skipped */
        seen[k] = 1;
        s = meta_value(&f, l, k, sp + 1, m);
    }
    for (int q = 0; !s && q < K_REQUIRED; q++)
        if (!seen[q])
            s = ngi_fail(NG_EFORMAT, "%s: no '%s' line: expected method, dim, W, T, sigma0, diffusion, "
                         "symmetry and steps", f.path, k_keys[q]);
    if (!s && !seen[K_PRIOR] && !(m->prior = ngi_strdup("product"))) s = NG_ENOMEM;
    if (!s && m->T > SIZE_MAX / 8 / m->W / m->d)
        s = ngi_fail(NG_EFORMAT, "%s: T x W x dim = %zu x %zu x %zu is too large", f.path, m->T, m->W, m->d);
    text_close(&f);
    return s;
}

/* ------------------------------------------------------------------ vocab.tsv, times.csv */

static ng_status read_vocab(const char *dir, ng_dwe_model *m)
{
    text_file f;
    ng_status s = text_open(&f, dir, "vocab.tsv", m->W, "W in model.txt");
    if (!s) {
        m->word = ngi_xcalloc(m->W, sizeof *m->word);
        m->count = ngi_xmalloc(m->W * sizeof *m->count);
        if (!m->word || !m->count) s = NG_ENOMEM;
    }
    ngi_dict d;
    int dict = !s && !(s = ngi_dict_init(&d, m->W));
    for (size_t k = 0; !s && k < m->W; k++) {
        char *x = f.line[k], *tab = strchr(x, '\t');
        size_t n = tab ? (size_t)(tab - x) : 0;
        if (!tab || !n || !ngi_parse_double(tab + 1, strlen(tab + 1), &m->count[k]) || m->count[k] < 0) {
            s = ngi_fail(NG_EFORMAT, "%s:%zu: expected word<TAB>count (a count >= 0)", f.path, k + 1);
            break;
        }
        *tab = '\0';
        if (!ngi_utf8_valid((const unsigned char *)x, n))
            s = ngi_fail(NG_EFORMAT, "%s:%zu: word %zu: expected valid UTF-8", f.path, k + 1, k);
        else if (ngi_dict_find(&d, x, n, ngi_hash_bytes(x, n)) >= 0)
            s = ngi_fail(NG_EFORMAT, "%s:%zu: '%s' appears twice: expected unique words", f.path, k + 1, x);
        else if (ngi_dict_add(&d, x, n, ngi_hash_bytes(x, n)) < 0 || !(m->word[k] = ngi_strdup(x)))
            s = NG_ENOMEM;
    }
    if (dict) ngi_dict_free(&d);
    text_close(&f);
    return s;
}

static ng_status read_times(const char *dir, ng_dwe_model *m)
{
    text_file f;
    ng_status s = text_open(&f, dir, "times.csv", m->T + 1, "a header and T rows, T in model.txt");
    if (!s && strcmp(f.line[0], "slice,time,train"))
        s = ngi_fail(NG_EFORMAT, "%s:1: expected the header slice,time,train", f.path);
    if (!s) {
        m->time = ngi_xmalloc(m->T * sizeof *m->time);
        m->train = ngi_xmalloc(m->T);
        if (!m->time || !m->train) s = NG_ENOMEM;
    }
    for (size_t t = 0; !s && t < m->T; t++) {
        char *a = f.line[t + 1], *b = strchr(a, ','), *c = b ? strchr(b + 1, ',') : NULL;
        int64_t idx, tr;
        if (!c || (*b = *c = '\0') || !parse_int(a, 0, INT64_MAX, &idx) || idx != (int64_t)t ||
            !ngi_parse_double(b + 1, strlen(b + 1), &m->time[t]) || !parse_int(c + 1, 0, 1, &tr)) {
            s = ngi_fail(NG_EFORMAT, "%s:%zu: expected %zu,TIME,TRAIN (TIME a finite number, TRAIN 0 "
                         "or 1)", f.path, t + 2, t);
            break;
        }
        m->train[t] = (unsigned char)tr;
        if (t && !(m->time[t] > m->time[t - 1]))
            s = ngi_fail(NG_EFORMAT, "%s:%zu: slice %zu: time %g after %g: expected strictly "
                         "increasing times", f.path, t + 2, t, m->time[t], m->time[t - 1]);
    }
    text_close(&f);
    return s;
}

/* ------------------------------------------------------------------ U.npy, V.npy */

static ng_status read_means(const char *dir, const char *name, ng_dwe_model *m, float **out)
{
    char *path = ngi_asprintf("%s/%s", dir, name);
    if (!path) return NG_ENOMEM;
    ng_tensor t;
    ng_status s = ngi_npy_read_values_unchecked(path, &t); /* NaN/Inf named below by word */
    if (!s && (t.dtype != NG_F32 || t.ndim != 3 || t.shape[0] != m->T || t.shape[1] != m->W ||
               t.shape[2] != m->d)) {
        char shape[96] = "";
        for (int i = 0, o = 0; i < t.ndim && o < 80; i++)
            o += snprintf(shape + o, sizeof shape - (size_t)o, "%s%zu", i ? ", " : "", t.shape[i]);
        s = ngi_fail(NG_EFORMAT, "%s: %s array of shape (%s): expected f32 of shape (T, W, dim) = "
                     "(%zu, %zu, %zu) from model.txt", path, ng_dtype_name(t.dtype), shape, m->T,
                     m->W, m->d);
    }
    const float *x = s ? NULL : t.data;
    size_t n = s ? 0 : m->T * m->W * m->d;
    for (size_t e = 0; e < n; e++)
        if (!isfinite(x[e])) {
            size_t dd = e % m->d, w = e / m->d % m->W, sl = e / m->d / m->W;
            s = ngi_fail(NG_EFORMAT, "%s: element (%zu, %zu, %zu) (slice %zu, word '%s', dim %zu) is "
                         "%g: expected finite values", path, sl, w, dd, sl, m->word[w], dd, (double)x[e]);
            break;
        }
    if (s) ng_tensor_free(&t);
    else *out = t.data;
    free(path);
    return s;
}

ng_status ng_dwe_model_read(const char *dir, ng_dwe_model *out)
{
    if (!dir || !out) return ngi_fail(NG_EINVAL, "ng_dwe_model_read: NULL argument");
    ng_dwe_model m;
    memset(&m, 0, sizeof m);
    ng_status s = read_meta(dir, &m);
    if (!s) s = read_vocab(dir, &m);
    if (!s) s = read_times(dir, &m);
    if (!s) s = read_means(dir, "U.npy", &m, &m.U);
    if (!s) s = read_means(dir, "V.npy", &m, &m.V);
    if (s) {
        ng_dwe_model_free(&m);
        return s;
    }
    *out = m;
    return NG_OK;
}
