/* ratings.c - MovieLens ratings: u.data (tab), ratings.dat (::) and ratings.csv (header
 * userId,movieId,rating,timestamp). Parsed in place from one memory buffer (no per-line
 * allocation); ids are remapped to dense indices in order of first appearance through an
 * open-addressing hash map, so MovieLens-20M-sized inputs load in seconds. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char k_csv_header[] = "userId,movieId,rating,timestamp";
static const char *const k_field_names[4] = {"user id", "item id", "rating", "timestamp"};

enum { FMT_CSV, FMT_DAT, FMT_TAB };

/* ---------------------------------------------------------------- id -> dense index */
typedef struct {
    int64_t *keys;
    int32_t *vals; /* -1 = empty slot */
    size_t cap, used;
    int64_t *ids; /* dense index -> original id */
    size_t ids_cap;
} idmap;

static inline size_t hash64(int64_t k)
{
    uint64_t z = (uint64_t)k;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (size_t)(z ^ (z >> 31));
}

static int idmap_init(idmap *m, size_t cap)
{
    memset(m, 0, sizeof *m);
    m->cap = cap;
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    m->ids_cap = 1024;
    m->ids = malloc(m->ids_cap * sizeof *m->ids);
    if (!m->keys || !m->vals || !m->ids) return 0;
    memset(m->vals, 0xff, cap * sizeof *m->vals);
    return 1;
}

static void idmap_free(idmap *m)
{
    free(m->keys);
    free(m->vals);
    free(m->ids);
}

static int idmap_grow(idmap *m)
{
    size_t ncap = m->cap * 2;
    int64_t *nk = malloc(ncap * sizeof *nk);
    int32_t *nv = malloc(ncap * sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return 0;
    }
    memset(nv, 0xff, ncap * sizeof *nv);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->vals[i] < 0) continue;
        size_t h = hash64(m->keys[i]) & (ncap - 1);
        while (nv[h] >= 0) h = (h + 1) & (ncap - 1);
        nk[h] = m->keys[i];
        nv[h] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    return 1;
}

/* Dense index of id, adding it if new; -1 on allocation failure or index overflow. */
static inline int32_t idmap_get(idmap *m, int64_t id)
{
    size_t h = hash64(id) & (m->cap - 1);
    for (;;) {
        int32_t v = m->vals[h];
        if (v < 0) break;
        if (m->keys[h] == id) return v;
        h = (h + 1) & (m->cap - 1);
    }
    if (m->used >= (size_t)INT32_MAX) return -1;
    if (m->used == m->ids_cap) {
        int64_t *ni = realloc(m->ids, 2 * m->ids_cap * sizeof *ni);
        if (!ni) return -1;
        m->ids = ni;
        m->ids_cap *= 2;
    }
    int32_t v = (int32_t)m->used;
    m->ids[m->used++] = id;
    m->keys[h] = id;
    m->vals[h] = v;
    if (2 * m->used > m->cap && !idmap_grow(m)) return -1;
    return v;
}

/* ---------------------------------------------------------------- field parsing */
static inline void trim(const char **a, const char **b)
{
    while (*a < *b && (**a == ' ' || **a == '\t')) (*a)++;
    while (*b > *a && ((*b)[-1] == ' ' || (*b)[-1] == '\t')) (*b)--;
}

/* Whole-field decimal integer with optional sign; 0 if malformed or out of range. */
static inline int parse_i64(const char *a, const char *b, int64_t *out)
{
    int neg = 0;
    if (a < b && (*a == '+' || *a == '-')) neg = *a++ == '-';
    if (a == b) return 0;
    uint64_t v = 0;
    for (; a < b; a++) {
        unsigned d = (unsigned)(*a - '0');
        if (d > 9) return 0;
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) return 0;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

/* Whole-field decimal number: [sign] digits [. digits] [e [sign] digits] (no inf/nan/hex).
 * Short plain decimals (the MovieLens case) are exact integer / power of ten; the rest
 * go through strtod. */
static int parse_num(const char *a, const char *b, double *out)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                                 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const char *s = a;
    int neg = 0;
    if (s < b && (*s == '+' || *s == '-')) neg = *s++ == '-';
    uint64_t mant = 0;
    int ndig = 0, nfrac = 0, simple = 1;
    for (; s < b && (unsigned)(*s - '0') <= 9; s++, ndig++) mant = mant * 10 + (unsigned)(*s - '0');
    if (s < b && *s == '.') {
        for (s++; s < b && (unsigned)(*s - '0') <= 9; s++, ndig++, nfrac++)
            mant = mant * 10 + (unsigned)(*s - '0');
    }
    if (ndig == 0) return 0;
    if (s < b && (*s == 'e' || *s == 'E')) {
        simple = 0;
        s++;
        if (s < b && (*s == '+' || *s == '-')) s++;
        if (s == b || (unsigned)(*s - '0') > 9) return 0;
        while (s < b && (unsigned)(*s - '0') <= 9) s++;
    }
    if (s != b) return 0;
    if (simple && ndig <= 15) {
        double v = (double)mant / p10[nfrac];
        *out = neg ? -v : v;
        return 1;
    }
    char tmp[128];
    size_t n = (size_t)(b - a);
    if (n >= sizeof tmp) return 0;
    memcpy(tmp, a, n);
    tmp[n] = '\0';
    errno = 0;
    char *end;
    double v = strtod(tmp, &end);
    if (*end || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

/* ---------------------------------------------------------------- fast path
 * The common, well-formed line in one scan: id SEP id SEP decimal SEP int [\r] \n. The
 * buffer ends in a NUL sentinel, so scans stop there without bounds checks. Anything
 * unusual (spaces, exponents, signs on ids, errors) returns NULL and the general parser
 * below handles the line and words the error. */
static inline const char *fast_int(const char *p, int64_t *out)
{
    int neg = *p == '-';
    p += neg;
    if ((unsigned)(*p - '0') > 9) return NULL;
    uint64_t v = 0;
    int n = 0;
    for (; (unsigned)(*p - '0') <= 9; p++, n++) v = v * 10 + (unsigned)(*p - '0');
    if (n > 18) return NULL; /* could overflow: let the careful parser decide */
    *out = neg ? -(int64_t)v : (int64_t)v;
    return p;
}

static inline const char *fast_sep(const char *p, int fmt)
{
    if (fmt == FMT_DAT) return (p[0] == ':' && p[1] == ':') ? p + 2 : NULL;
    return *p == (fmt == FMT_CSV ? ',' : '\t') ? p + 1 : NULL;
}

static inline const char *fast_line(const char *p, int fmt, int64_t *u, int64_t *it, double *r,
                                    int64_t *ts)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    if (!(p = fast_int(p, u)) || !(p = fast_sep(p, fmt))) return NULL;
    if (!(p = fast_int(p, it)) || !(p = fast_sep(p, fmt))) return NULL;
    if ((unsigned)(*p - '0') > 9) return NULL;
    uint64_t m = 0;
    int nd = 0, nf = 0;
    for (; (unsigned)(*p - '0') <= 9; p++, nd++) m = m * 10 + (unsigned)(*p - '0');
    if (*p == '.')
        for (p++; (unsigned)(*p - '0') <= 9; p++, nd++, nf++) m = m * 10 + (unsigned)(*p - '0');
    if (nd > 15 || nf > 8) return NULL;
    *r = (double)m / p10[nf];
    if (!(p = fast_sep(p, fmt)) || !(p = fast_int(p, ts))) return NULL;
    if (*p == '\r') p++;
    if (*p == '\n') return p + 1;
    return *p == '\0' ? p : NULL;
}

/* ---------------------------------------------------------------- reader */
static ng_status bad_field(const char *path, size_t line, int f, const char *what, const char *a,
                           const char *b)
{
    int n = (int)(b - a);
    if (n > 40) n = 40;
    if (a == b)
        return ng_fail(NG_EFORMAT, "%s:%zu: field %d (%s): expected %s, found an empty field", path,
                       line, f + 1, k_field_names[f], what);
    return ng_fail(NG_EFORMAT, "%s:%zu: field %d (%s): expected %s, found '%.*s'", path, line, f + 1,
                   k_field_names[f], what, n, a);
}

static ng_status parse_buffer(const char *path, const char *buf, size_t len, ng_ratings *R,
                              idmap *users, idmap *items)
{
    const char *p = buf, *end = buf + len;
    /* UTF-8 byte-order mark, as some editors write it. */
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e1 = nl ? nl : end;
    const char *l1 = e1;
    if (l1 > p && l1[-1] == '\r') l1--;
    int fmt;
    char sepc;
    const char *sepname, *layout;
    size_t lineno = 1;
    if (l1 == p && !nl)
        return ng_fail(NG_EFORMAT, "%s:1: empty file: expected ratings as the CSV header '%s' "
                       "(ratings.csv), '::'-separated fields (ratings.dat) or tab-separated "
                       "fields (u.data)", path, k_csv_header);
    if ((size_t)(l1 - p) == sizeof k_csv_header - 1 && memcmp(p, k_csv_header, sizeof k_csv_header - 1) == 0) {
        fmt = FMT_CSV;
        sepc = ',';
        sepname = "','";
        layout = "userId,movieId,rating,timestamp";
        p = nl ? nl + 1 : end;
        lineno = 2;
    } else if (memmem(p, (size_t)(l1 - p), "::", 2)) {
        fmt = FMT_DAT;
        sepc = ':';
        sepname = "'::'";
        layout = "user::item::rating::timestamp";
    } else if (memchr(p, '\t', (size_t)(l1 - p))) {
        fmt = FMT_TAB;
        sepc = '\t';
        sepname = "tabs";
        layout = "user<TAB>item<TAB>rating<TAB>timestamp";
    } else {
        return ng_fail(NG_EFORMAT, "%s:1: unrecognised ratings format: expected the CSV header '%s' "
                       "(ratings.csv), '::'-separated fields (ratings.dat) or tab-separated "
                       "fields (u.data)", path, k_csv_header);
    }

    size_t n = 0, blank_line = 0;
    for (; p < end; lineno++) {
        if (!blank_line) {
            int64_t fu, fi, ft;
            double fr;
            const char *q = fast_line(p, fmt, &fu, &fi, &fr, &ft);
            if (q && q <= end) {
                int32_t u = idmap_get(users, fu), it = idmap_get(items, fi);
                if (u < 0 || it < 0)
                    return ng_fail(NG_ENOMEM, "%s:%zu: out of memory remapping ids", path, lineno);
                R->user[n] = u;
                R->item[n] = it;
                R->rating[n] = (float)fr;
                R->timestamp[n] = ft;
                n++;
                p = q;
                continue;
            }
        }
        nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        if (le > p && le[-1] == '\r') le--;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t')) q++;
        if (q == le) { /* blank: fine only if nothing but blanks follows */
            if (!blank_line) blank_line = lineno;
            p = next;
            continue;
        }
        if (blank_line)
            return ng_fail(NG_EFORMAT, "%s:%zu: blank line inside the data: expected %s (only "
                           "trailing blank lines are allowed)", path, blank_line, layout);
        /* Split into fields. */
        const char *fa[4], *fb[4];
        int nf = 0;
        const char *s = p;
        for (;;) {
            const char *sep;
            if (fmt == FMT_DAT) {
                sep = s;
                for (;;) {
                    sep = memchr(sep, ':', (size_t)(le - sep));
                    if (!sep || (sep + 1 < le && sep[1] == ':')) break;
                    sep++;
                }
            } else {
                sep = memchr(s, sepc, (size_t)(le - s));
            }
            const char *fe = sep ? sep : le;
            if (nf < 4) {
                fa[nf] = s;
                fb[nf] = fe;
            }
            nf++;
            if (!sep) break;
            s = sep + (fmt == FMT_DAT ? 2 : 1);
        }
        if (nf != 4)
            return ng_fail(NG_EFORMAT, "%s:%zu: %s fields: expected 4 separated by %s (%s), found %d",
                           path, lineno, nf < 4 ? "too few" : "too many", sepname, layout, nf);
        for (int f = 0; f < 4; f++) trim(&fa[f], &fb[f]);
        int64_t uid, iid, ts;
        double rv;
        if (!parse_i64(fa[0], fb[0], &uid)) return bad_field(path, lineno, 0, "an integer", fa[0], fb[0]);
        if (!parse_i64(fa[1], fb[1], &iid)) return bad_field(path, lineno, 1, "an integer", fa[1], fb[1]);
        if (!parse_num(fa[2], fb[2], &rv)) return bad_field(path, lineno, 2, "a finite number", fa[2], fb[2]);
        if (!parse_i64(fa[3], fb[3], &ts))
            return bad_field(path, lineno, 3, "an integer (seconds)", fa[3], fb[3]);
        int32_t u = idmap_get(users, uid), it = idmap_get(items, iid);
        if (u < 0 || it < 0)
            return ng_fail(NG_ENOMEM, "%s:%zu: out of memory remapping ids", path, lineno);
        R->user[n] = u;
        R->item[n] = it;
        R->rating[n] = (float)rv;
        R->timestamp[n] = ts;
        n++;
        p = next;
    }
    if (n == 0)
        return ng_fail(NG_EFORMAT, "%s:%zu: no ratings: expected lines of %s", path, lineno, layout);
    R->n = n;
    return NG_OK;
}

/* Whole file plus a NUL sentinel. Plain files are read straight into an exactly sized
 * buffer (no growth copies for a 500 MB ratings.csv); gzip goes through ng_read_file. */
static ng_status read_text(const char *path, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        unsigned char m[2] = {0, 0};
        size_t got = fread(m, 1, 2, f);
        if (!(got == 2 && m[0] == 0x1f && m[1] == 0x8b)) {
            size_t n = (size_t)st.st_size;
            unsigned char *b = ng_xmalloc(n + 1);
            if (!b) {
                fclose(f);
                return NG_ENOMEM;
            }
            memcpy(b, m, got);
            size_t rest = n > got ? fread(b + got, 1, n - got, f) : 0;
            int err = ferror(f);
            fclose(f);
            if (err) {
                free(b);
                return ng_fail(NG_EIO, "%s: read error", path);
            }
            n = got + rest; /* the file may have shrunk meanwhile */
            b[n] = '\0';
            *buf = b;
            *len = n;
            return NG_OK;
        }
    }
    if (f) fclose(f);
    unsigned char *b;
    size_t n;
    ng_status s = ng_read_file(path, &b, &n);
    if (s) return s;
    unsigned char *nb = realloc(b, n + 1);
    if (!nb) {
        free(b);
        return ng_fail(NG_ENOMEM, "%s: out of memory reading file", path);
    }
    nb[n] = '\0';
    *buf = nb;
    *len = n;
    return NG_OK;
}

ng_status ng_ratings_read(const char *path, ng_ratings *out)
{
    if (!path || !out) return ng_fail(NG_EINVAL, "ng_ratings_read: NULL argument");
    memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t len;
    ng_status s = read_text(path, &buf, &len);
    if (s) return s;
    /* Upper bound on records: one per line. */
    size_t lines = 1;
    for (const unsigned char *q = buf, *e = buf + len; (q = memchr(q, '\n', (size_t)(e - q))); q++) lines++;
    ng_ratings R;
    memset(&R, 0, sizeof R);
    idmap users, items;
    int ok = idmap_init(&users, 1 << 12) & idmap_init(&items, 1 << 12);
    R.user = malloc(lines * sizeof *R.user);
    R.item = malloc(lines * sizeof *R.item);
    R.rating = malloc(lines * sizeof *R.rating);
    R.timestamp = malloc(lines * sizeof *R.timestamp);
    if (!ok || !R.user || !R.item || !R.rating || !R.timestamp)
        s = ng_fail(NG_ENOMEM, "%s: out of memory for %zu lines of ratings", path, lines);
    else
        s = parse_buffer(path, (const char *)buf, len, &R, &users, &items);
    free(buf);
    if (s) {
        idmap_free(&users);
        idmap_free(&items);
        ng_ratings_free(&R);
        return s;
    }
    R.n_users = users.used;
    R.n_items = items.used;
    R.user_ids = users.ids;
    R.item_ids = items.ids;
    users.ids = items.ids = NULL;
    idmap_free(&users);
    idmap_free(&items);
    *out = R;
    return NG_OK;
}

void ng_ratings_free(ng_ratings *r)
{
    if (!r) return;
    free(r->user);
    free(r->item);
    free(r->rating);
    free(r->timestamp);
    free(r->user_ids);
    free(r->item_ids);
    memset(r, 0, sizeof *r);
}
