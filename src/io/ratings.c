/* ratings.c - MovieLens ratings: u.data (tab), ratings.dat (::) and ratings.csv (header
 * userId,movieId,rating,timestamp). Streamed through a 1 MiB buffer (plain or gzip) and
 * parsed in place, no per-line allocation; ids are remapped to dense indices in order of
 * first appearance through a direct table (small ids) or an open-addressing hash map, so
 * MovieLens-20M-sized inputs load in seconds. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const char k_csv_header[] = "userId,movieId,rating,timestamp";
static const char *const k_field_names[4] = {"user id", "item id", "rating", "timestamp"};

enum { FMT_CSV, FMT_DAT, FMT_TAB };

/* First sizes of the read buffer, the ratings arrays and the id hash tables. The fuzzing
 * build (NGI_FUZZ_SMALL) makes them tiny, so that small inputs reach the code that joins
 * lines across reads and grows the tables. */
#ifdef NGI_FUZZ_SMALL
#define FIRST_CHUNK ((size_t)61)
#define FIRST_RATINGS ((size_t)16)
#define FIRST_IDS ((size_t)16)
#else
#define FIRST_CHUNK ((size_t)1 << 20)
#define FIRST_RATINGS ((size_t)1 << 16)
#define FIRST_IDS ((size_t)1 << 12)
#endif

/* ---------------------------------------------------------------- id -> dense index */
typedef struct {
    int64_t key;
    int64_t val; /* dense index, -1 = empty slot (int64 keeps the slot 16 bytes) */
} slot;

typedef struct {
    slot *tab; /* key and value side by side: one cache miss per probe */
    size_t cap, used;
    int64_t *ids; /* dense index -> original id */
    size_t ids_cap;
    int64_t last_key; /* MovieLens files list a user's ratings together: memo the last hit */
    int32_t last_val;
    /* Ids in [0, dcap) are looked up directly in direct[] (-1 = not seen): MovieLens ids are
     * small, and a 0.5 MB array stays in cache where a hash table would not. dcap grows to
     * cover new ids only while it stays within 16 slots per distinct id (or 2^20). */
    int32_t *direct;
    size_t dcap;
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
    m->tab = malloc(cap * sizeof *m->tab);
    m->ids_cap = 1024;
    m->ids = malloc(m->ids_cap * sizeof *m->ids);
    m->last_val = -1;
    if (!m->tab || !m->ids) return 0;
    for (size_t i = 0; i < cap; i++) m->tab[i].val = -1;
    return 1;
}

static void idmap_free(idmap *m)
{
    free(m->tab);
    free(m->ids);
    free(m->direct);
}

/* Extends the direct table to cover id if that keeps it small; 1 if id is now covered. */
static int idmap_direct_cover(idmap *m, int64_t id)
{
    if (id < 0 || id >= ((int64_t)1 << 30)) return 0;
    size_t nc = m->dcap ? m->dcap : 1024;
    while ((size_t)id >= nc) nc *= 2;
    size_t budget = 16 * (m->used + 1);
    if (nc > ((size_t)1 << 20) && nc > budget) return 0;
    int32_t *d = realloc(m->direct, nc * sizeof *d);
    if (!d) return 0; /* the hash table still works */
    memset(d + m->dcap, 0xff, (nc - m->dcap) * sizeof *d);
    /* ids seen before that now fall in the table (they live in the hash too, unused) */
    for (size_t j = 0; j < m->used; j++)
        if (m->ids[j] >= (int64_t)m->dcap && m->ids[j] < (int64_t)nc) d[m->ids[j]] = (int32_t)j;
    m->direct = d;
    m->dcap = nc;
    return 1;
}

static inline int32_t idmap_new(idmap *m, int64_t id)
{
    if (m->used >= (size_t)INT32_MAX) return -1;
    if (m->used == m->ids_cap) {
        int64_t *ni = realloc(m->ids, 2 * m->ids_cap * sizeof *ni);
        if (!ni) return -1;
        m->ids = ni;
        m->ids_cap *= 2;
    }
    int32_t v = (int32_t)m->used;
    m->ids[m->used++] = id;
    return v;
}

static int idmap_grow(idmap *m)
{
    size_t ncap = m->cap * 2;
    slot *nt = malloc(ncap * sizeof *nt);
    if (!nt) return 0;
    for (size_t i = 0; i < ncap; i++) nt[i].val = -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->tab[i].val < 0) continue;
        size_t h = hash64(m->tab[i].key) & (ncap - 1);
        while (nt[h].val >= 0) h = (h + 1) & (ncap - 1);
        nt[h] = m->tab[i];
    }
    free(m->tab);
    m->tab = nt;
    m->cap = ncap;
    return 1;
}

/* Dense index of id, adding it if new; -1 on allocation failure or index overflow. */
static inline int32_t idmap_get(idmap *m, int64_t id)
{
    if ((uint64_t)id < m->dcap || idmap_direct_cover(m, id)) {
        int32_t v = m->direct[id];
        if (v < 0) {
            if ((v = idmap_new(m, id)) < 0) return -1;
            m->direct[id] = v;
        }
        return v;
    }
    if (id == m->last_key && m->last_val >= 0) return m->last_val;
    size_t h = hash64(id) & (m->cap - 1);
    for (;;) {
        int64_t v = m->tab[h].val;
        if (v < 0) break;
        if (m->tab[h].key == id) {
            m->last_key = id;
            m->last_val = (int32_t)v;
            return (int32_t)v;
        }
        h = (h + 1) & (m->cap - 1);
    }
    int32_t v = idmap_new(m, id);
    if (v < 0) return -1;
    m->tab[h].key = id;
    m->tab[h].val = v;
    if (2 * m->used > m->cap && !idmap_grow(m)) return -1;
    m->last_key = id;
    m->last_val = v;
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
 * below handles the line and words the error. end is the end of the file's data (where the
 * last line may lack its newline), or NULL when more data follows. */
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

static inline const char *fast_line(const char *p, const char *end, int fmt, int64_t *u,
                                    int64_t *it, double *r, int64_t *ts)
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
    return (end && p == end) ? p : NULL; /* last line without newline; a stray NUL is not an end */
}

/* ---------------------------------------------------------------- reader
 * Streams the file (plain or gzip, through zlib) in 1 MiB chunks and parses the complete
 * lines of each chunk; the partial last line is carried into the next chunk. Memory is the
 * output arrays plus one chunk, whatever the file size. */
typedef struct {
    const char *path;
    int fmt; /* -1 until the first line is seen */
    char sepc;
    const char *sepname, *layout;
    size_t lineno;     /* number of the line being parsed */
    size_t blank_line; /* first blank line seen, 0 if none */
    ng_ratings R;
    size_t cap;
    idmap users, items;
} rctx;

static ng_status bad_field(const rctx *c, int f, const char *what, const char *a, const char *b)
{
    int n = (int)(b - a);
    if (n > 40) n = 40;
    if (a == b)
        return ngi_fail(NG_EFORMAT, "%s:%zu: field %d (%s): expected %s, found an empty field", c->path,
                       c->lineno, f + 1, k_field_names[f], what);
    return ngi_fail(NG_EFORMAT, "%s:%zu: field %d (%s): expected %s, found '%.*s'", c->path, c->lineno,
                   f + 1, k_field_names[f], what, n, a);
}

static ng_status add(rctx *c, int64_t uid, int64_t iid, double r, int64_t ts)
{
    ng_ratings *R = &c->R;
    if (R->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : FIRST_RATINGS;
        int32_t *u = realloc(R->user, nc * sizeof *u);
        if (u) R->user = u;
        int32_t *i = realloc(R->item, nc * sizeof *i);
        if (i) R->item = i;
        float *rv = realloc(R->rating, nc * sizeof *rv);
        if (rv) R->rating = rv;
        int64_t *t = realloc(R->timestamp, nc * sizeof *t);
        if (t) R->timestamp = t;
        if (!u || !i || !rv || !t)
            return ngi_fail(NG_ENOMEM, "%s:%zu: out of memory for %zu ratings", c->path, c->lineno, nc);
        c->cap = nc;
    }
    int32_t u = idmap_get(&c->users, uid), it = idmap_get(&c->items, iid);
    if (u < 0 || it < 0) return ngi_fail(NG_ENOMEM, "%s:%zu: out of memory remapping ids", c->path, c->lineno);
    R->user[R->n] = u;
    R->item[R->n] = it;
    R->rating[R->n] = (float)r;
    R->timestamp[R->n] = ts;
    R->n++;
    return NG_OK;
}

static ng_status unknown_format(const rctx *c, const char *what)
{
    return ngi_fail(NG_EFORMAT, "%s:1: %s: expected ratings as the CSV header '%s' (ratings.csv), "
                   "'::'-separated fields (ratings.dat) or tab-separated fields (u.data)",
                   c->path, what, k_csv_header);
}

/* Decides the format from line 1 ([p, le), no '\n'); *consumed = 1 for the CSV header. */
static ng_status detect_format(rctx *c, const char *p, const char *le, int *consumed)
{
    if (le > p && le[-1] == '\r') le--;
    *consumed = 0;
    if ((size_t)(le - p) == sizeof k_csv_header - 1 && memcmp(p, k_csv_header, sizeof k_csv_header - 1) == 0) {
        c->fmt = FMT_CSV;
        c->sepc = ',';
        c->sepname = "','";
        c->layout = "userId,movieId,rating,timestamp";
        *consumed = 1;
    } else if (memmem(p, (size_t)(le - p), "::", 2)) {
        c->fmt = FMT_DAT;
        c->sepc = ':';
        c->sepname = "'::'";
        c->layout = "user::item::rating::timestamp";
    } else if (memchr(p, '\t', (size_t)(le - p))) {
        c->fmt = FMT_TAB;
        c->sepc = '\t';
        c->sepname = "tabs";
        c->layout = "user<TAB>item<TAB>rating<TAB>timestamp";
    } else {
        return unknown_format(c, "unrecognised ratings format");
    }
    return NG_OK;
}

/* The careful parser for one line [p, le) (no '\n'): blanks, spaces, every error. */
/* A NUL byte would end the field parsers' strings early and be reported as a bad number. */
static ng_status no_nul(const rctx *c, const char *p, const char *le)
{
    const char *z = memchr(p, '\0', (size_t)(le - p));
    if (!z) return NG_OK;
    return ngi_fail(NG_EFORMAT, "%s:%zu: a NUL byte (0x00) at column %zu: expected a text line", c->path,
                    c->lineno, (size_t)(z - p) + 1);
}

static ng_status general_line(rctx *c, const char *p, const char *le)
{
    ng_status s0 = no_nul(c, p, le);
    if (s0) return s0;
    if (le > p && le[-1] == '\r') le--;
    const char *q = p;
    while (q < le && (*q == ' ' || *q == '\t')) q++;
    if (q == le) { /* blank: fine only if nothing but blanks follows */
        if (!c->blank_line) c->blank_line = c->lineno;
        return NG_OK;
    }
    if (c->blank_line)
        return ngi_fail(NG_EFORMAT, "%s:%zu: blank line inside the data: expected %s (only "
                       "trailing blank lines are allowed)", c->path, c->blank_line, c->layout);
    const char *fa[4], *fb[4];
    int nf = 0;
    const char *s = p;
    for (;;) {
        const char *sep;
        if (c->fmt == FMT_DAT) {
            sep = s;
            for (;;) {
                sep = memchr(sep, ':', (size_t)(le - sep));
                if (!sep || (sep + 1 < le && sep[1] == ':')) break;
                sep++;
            }
        } else {
            sep = memchr(s, c->sepc, (size_t)(le - s));
        }
        const char *fe = sep ? sep : le;
        if (nf < 4) {
            fa[nf] = s;
            fb[nf] = fe;
        }
        nf++;
        if (!sep) break;
        s = sep + (c->fmt == FMT_DAT ? 2 : 1);
    }
    if (nf != 4)
        return ngi_fail(NG_EFORMAT, "%s:%zu: %s fields: expected 4 separated by %s (%s), found %d",
                       c->path, c->lineno, nf < 4 ? "too few" : "too many", c->sepname, c->layout, nf);
    for (int f = 0; f < 4; f++) trim(&fa[f], &fb[f]);
    int64_t uid, iid, ts;
    double rv;
    if (!parse_i64(fa[0], fb[0], &uid)) return bad_field(c, 0, "an integer", fa[0], fb[0]);
    if (!parse_i64(fa[1], fb[1], &iid)) return bad_field(c, 1, "an integer", fa[1], fb[1]);
    if (!parse_num(fa[2], fb[2], &rv)) return bad_field(c, 2, "a finite number", fa[2], fb[2]);
    if (!isfinite((float)rv)) /* ratings are stored as float */
        return bad_field(c, 2, "a number within the float range (|r| < 3.4e38)", fa[2], fb[2]);
    if (!parse_i64(fa[3], fb[3], &ts)) return bad_field(c, 3, "an integer (seconds)", fa[3], fb[3]);
    return add(c, uid, iid, rv, ts);
}

/* Parses [p, end): complete lines each ending in '\n', except that at the end of the file
 * (final) the last one may lack it. *end is readable; when final it is the NUL sentinel. */
static ng_status parse_lines(rctx *c, const char *p, const char *end, int final)
{
    ng_status s;
    while (p < end) {
        if (c->fmt < 0) {
            /* a UTF-8 byte-order mark, as some editors write it, is not part of line 1 */
            if (end - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            int consumed;
            if ((s = no_nul(c, p, le)) || (s = detect_format(c, p, le, &consumed))) return s;
            if (consumed) {
                p = nl ? nl + 1 : end;
                c->lineno++;
                continue;
            }
        }
        if (!c->blank_line) {
            int64_t fu, fi, ft;
            double fr;
            const char *q = fast_line(p, final ? end : NULL, c->fmt, &fu, &fi, &fr, &ft);
            if (q) {
                if ((s = add(c, fu, fi, fr, ft))) return s;
                c->lineno++;
                p = q;
                continue;
            }
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if ((s = general_line(c, p, nl ? nl : end))) return s;
        c->lineno++;
        p = nl ? nl + 1 : end;
    }
    return NG_OK;
}

static ng_status parse_stream(rctx *c, gzFile g)
{
    size_t cap = FIRST_CHUNK, have = 0;
    char *buf = ngi_xmalloc(cap + 1);
    if (!buf) return NG_ENOMEM;
    ng_status s = NG_OK;
    int any = 0;
    for (;;) {
        if (have == cap) { /* one line fills the buffer: make room */
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                s = ngi_fail(NG_ENOMEM, "%s:%zu: out of memory for a %zu-byte line", c->path,
                            c->lineno, have);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t want = cap - have;
        if (want > (1u << 30)) want = 1u << 30;
        int got = gzread(g, buf + have, (unsigned)want);
        if (got < 0) {
            int zerr;
            s = ngi_fail(NG_EFORMAT, "%s: corrupt compressed data: %s", c->path, gzerror(g, &zerr));
            break;
        }
        if (got == 0) { /* end of file: the rest is the last line */
            int zerr = Z_OK;
            gzerror(g, &zerr); /* a stream cut short ends like a file, with Z_BUF_ERROR */
            if (zerr != Z_OK) {
                s = ngi_fail(NG_EFORMAT, "%s:%zu: truncated gzip data: expected a complete .gz file", c->path,
                             c->lineno);
                break;
            }
            buf[have] = '\0';
            if (!any && have == 0) {
                s = unknown_format(c, "empty file");
                break;
            }
            s = parse_lines(c, buf, buf + have, 1);
            break;
        }
        any = 1;
        have += (size_t)got;
        /* Parse up to the last newline; carry the rest. */
        char *last = NULL;
        for (char *q = buf + have; q > buf;)
            if (*--q == '\n') {
                last = q;
                break;
            }
        if (!last) continue;
        size_t done = (size_t)(last + 1 - buf);
        if ((s = parse_lines(c, buf, last + 1, 0))) break;
        memmove(buf, buf + done, have - done);
        have -= done;
    }
    free(buf);
    return s;
}

ng_status ng_ratings_read(const char *path, ng_ratings *out)
{
    if (!path || !out) return ngi_fail(NG_EINVAL, "ng_ratings_read: NULL argument");
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return ngi_fail(NG_EIO, "%s: cannot read: is a directory", path);
    errno = 0;
    gzFile g = gzopen(path, "rb"); /* reads plain files unchanged */
    if (!g) return ngi_fail(NG_EIO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    gzbuffer(g, 1 << 17);
    rctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.fmt = -1;
    c.lineno = 1;
    ng_status s = NG_OK;
    if (!(idmap_init(&c.users, FIRST_IDS) & idmap_init(&c.items, FIRST_IDS)))
        s = ngi_fail(NG_ENOMEM, "%s: out of memory", path);
    if (!s) s = parse_stream(&c, g);
    gzclose(g);
    if (!s && c.R.n == 0)
        s = ngi_fail(NG_EFORMAT, "%s:%zu: no ratings: expected lines of %s", path, c.lineno, c.layout);
    if (s) {
        idmap_free(&c.users);
        idmap_free(&c.items);
        ng_ratings_free(&c.R);
        return s;
    }
    /* Give back the doubling slack (realloc to a smaller size cannot fail usefully). */
    if (c.cap > c.R.n) {
        int32_t *u = realloc(c.R.user, c.R.n * sizeof *u), *i = realloc(c.R.item, c.R.n * sizeof *i);
        float *rv = realloc(c.R.rating, c.R.n * sizeof *rv);
        int64_t *t = realloc(c.R.timestamp, c.R.n * sizeof *t);
        if (u) c.R.user = u;
        if (i) c.R.item = i;
        if (rv) c.R.rating = rv;
        if (t) c.R.timestamp = t;
    }
    c.R.n_users = c.users.used;
    c.R.n_items = c.items.used;
    c.R.user_ids = c.users.ids;
    c.R.item_ids = c.items.ids;
    c.users.ids = c.items.ids = NULL;
    idmap_free(&c.users);
    idmap_free(&c.items);
    *out = c.R;
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
