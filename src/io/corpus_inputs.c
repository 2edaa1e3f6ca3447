/* corpus_inputs.c - what a corpus is built from: the inputs (directories, files) as a
 * list of files with their kind and, for text, their time (from the name or from a
 * "file,time" CSV); the streaming and parsing the readers share. */
#include "corpus_internal.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ parsing, streaming */

int ngi_parse_double(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (!(buf[0] == '-' || buf[0] == '+' || buf[0] == '.' || (buf[0] >= '0' && buf[0] <= '9')))
        return 0; /* no blanks, "inf" or "nan" */
    char *e;
    errno = 0;
    double v = strtod(buf, &e);
    if (*e || errno || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

int ngi_parse_i64(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 19) return 0; /* 19 digits stay below 2^64: no wrap before the check */
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9') return 0;
        v = v * 10 + (uint64_t)(s[k] - '0');
    }
    if (v > (uint64_t)INT64_MAX) return 0; /* what ng_corpus_write writes reads back */
    *out = (int64_t)v;
    return 1;
}

int ngi_time_from_name(const char *name, double *t)
{
    size_t n = 0;
    while (name[n] >= '0' && name[n] <= '9') n++;
    if (n == 0 || n > 9) return 0;
    int64_t v;
    if (!ngi_parse_i64(name, n, &v)) return 0;
    *t = (double)v;
    return 1;
}

gzFile ngi_gz_open(const char *path)
{
    gzFile g = gzopen(path, "rb");
    if (!g) {
        ngi_fail(NG_EIO, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
        return NULL;
    }
    gzbuffer(g, 1 << 17);
    return g;
}

int ngi_gz_read(ngi_job *j, gzFile g, unsigned char *buf, unsigned n)
{
    int r = gzread(g, buf, n);
    int e = Z_OK;
    const char *m = gzerror(g, &e);
    if (r < 0 || (e != Z_OK && e != Z_STREAM_END)) {
        if (e == Z_ERRNO)
            ngi_job_fail(j, NG_EIO, "%s: read failed: %s", j->path, strerror(errno));
        else if (e == Z_BUF_ERROR)
            ngi_job_fail(j, NG_EFORMAT, "%s: truncated gzip data: expected a complete .gz file", j->path);
        else
            ngi_job_fail(j, NG_EFORMAT, "%s: corrupt gzip data (%s): expected a .gz file or plain text",
                         j->path, m ? m : "zlib error");
        return -1;
    }
    if (r > 0) ngi_job_chunk(j, (size_t)r);
    return j->err ? -1 : r;
}

/* ------------------------------------------------------------------ the time map */

typedef struct {
    ngi_dict names;
    double *time;
    size_t cap;
    char *found; /* per name: matched a file */
    const char *path;
} time_map;

static void time_map_free(time_map *m)
{
    ngi_dict_free(&m->names);
    free(m->time);
    free(m->found);
}

static ng_status time_map_line(time_map *m, const char *s, size_t n, size_t line)
{
    const char *comma = NULL;
    for (size_t k = 0; k < n; k++)
        if (s[k] == ',') comma = s + k;
    double t;
    if (!comma || comma == s || !ngi_parse_double(comma + 1, (size_t)(s + n - comma - 1), &t)) {
        if (line == 1) return NG_OK; /* a header */
        return ngi_fail(NG_EFORMAT, "%s:%zu: expected FILE,TIME (TIME a number, e.g. 1790_a.txt,1790)",
                        m->path, line);
    }
    size_t ln = (size_t)(comma - s);
    uint64_t h = ngi_hash_bytes(s, ln);
    if (ngi_dict_find(&m->names, s, ln, h) >= 0)
        return ngi_fail(NG_EFORMAT, "%s:%zu: '%.*s' is listed twice: expected each file once",
                        m->path, line, (int)ln, s);
    int64_t id = ngi_dict_add(&m->names, s, ln, h);
    if (id < 0) return NG_ENOMEM;
    if ((size_t)id >= m->cap) {
        size_t c = m->cap ? 2 * m->cap : 64;
        double *t2 = realloc(m->time, c * sizeof *t2);
        if (!t2) return ngi_fail(NG_ENOMEM, "out of memory reading %s", m->path);
        m->time = t2;
        m->cap = c;
    }
    m->time[id] = t;
    return NG_OK;
}

static ng_status time_map_load(time_map *m, const char *path)
{
    memset(m, 0, sizeof *m);
    m->path = path;
    unsigned char *buf;
    size_t len;
    ng_status s = ng_read_file(path, &buf, &len);
    if (s) return s;
    if ((s = ngi_dict_init(&m->names, 256))) {
        free(buf);
        return s;
    }
    const char *p = (const char *)buf, *end = p + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    for (size_t line = 1; !s && p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        size_t n = (size_t)(e - p);
        if (n && p[n - 1] == '\r') n--;
        if (memchr(p, '\0', n))
            s = ngi_fail(NG_EFORMAT, "%s:%zu: NUL byte: expected CSV text FILE,TIME", path, line);
        else if (n) s = time_map_line(m, p, n, line);
        p = e + (nl != NULL);
    }
    free(buf);
    if (!s && m->names.n == 0)
        s = ngi_fail(NG_EFORMAT, "%s: no FILE,TIME lines: expected one per text file", path);
    if (!s && !(m->found = ngi_xcalloc(m->names.n, 1))) s = NG_ENOMEM;
    if (s) time_map_free(m);
    return s;
}

/* ------------------------------------------------------------------ the file list */

typedef struct {
    ngi_unit *u;
    size_t n, cap;
} unit_list;

static ng_status push(unit_list *l, char *path)
{
    if (!path) return NG_ENOMEM;
    if (l->n == l->cap) {
        size_t c = l->cap ? 2 * l->cap : 64;
        ngi_unit *u = realloc(l->u, c * sizeof *u);
        if (!u) {
            free(path);
            return ngi_fail(NG_ENOMEM, "out of memory listing the inputs");
        }
        l->u = u;
        l->cap = c;
    }
    l->u[l->n++] = (ngi_unit){.path = path, .kind = NG_CORPUS_AUTO, .time = 0};
    return NG_OK;
}

void ngi_units_free(ngi_unit *u, size_t n)
{
    for (size_t k = 0; k < n; k++) free((char *)u[k].path);
    free(u);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* A directory's regular files, sorted by name (dot files skipped); with a time map only
 * the files it lists. */
static ng_status list_dir(const char *dir, time_map *m, unit_list *l)
{
    DIR *dh = opendir(dir);
    if (!dh) return ngi_fail(NG_EIO, "%s: cannot open the directory: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    ng_status s = NG_OK;
    struct dirent *e;
    while (!s && (e = readdir(dh))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                s = ngi_fail(NG_ENOMEM, "out of memory listing %s", dir);
                break;
            }
            names = nn;
        }
        if (!(names[n] = ngi_strdup(e->d_name))) s = NG_ENOMEM;
        else n++;
    }
    closedir(dh);
    if (!s && n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t k = 0; !s && k < n; k++) {
        char *path = ngi_asprintf("%s/%s", dir, names[k]);
        struct stat st;
        if (!path) {
            s = NG_ENOMEM;
            break;
        }
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path); /* subdirectories, sockets, dangling links: not input */
            continue;
        }
        if (m) {
            int64_t id = ngi_dict_find(&m->names, names[k], strlen(names[k]),
                                       ngi_hash_bytes(names[k], strlen(names[k])));
            if (id < 0) {
                free(path);
                continue;
            }
            m->found[id] = 1;
        }
        s = push(l, path);
    }
    for (size_t k = 0; k < n; k++) free(names[k]);
    free(names);
    return s;
}

/* The first line tells a file's kind: "NUMBER<TAB>..." is time<TAB>text; "...<TAB>y,m,v"
 * or "...<TAB>y<TAB>m<TAB>v" (all digits) is a Google Books n-gram; anything else text. */
static ng_status detect(const char *path, ng_corpus_format *kind)
{
    ngi_job j;
    memset(&j, 0, sizeof j);
    j.path = path;
    gzFile g = ngi_gz_open(path);
    if (!g) return NG_EIO;
    unsigned char buf[1 << 16];
    int r = ngi_gz_read(&j, g, buf, sizeof buf);
    gzclose(g);
    if (r < 0) {
        ng_status s = ngi_fail(j.err, "%s", j.msg);
        free(j.msg);
        return s;
    }
    const char *p = (const char *)buf;
    size_t n = (size_t)r;
    if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3, n -= 3;
    const char *nl = memchr(p, '\n', n);
    if (nl) n = (size_t)(nl - p);
    if (n && p[n - 1] == '\r') n--;
    *kind = NG_CORPUS_TEXT;
    const char *tab = memchr(p, '\t', n);
    double t;
    if (!tab) return NG_OK;
    if (ngi_parse_double(p, (size_t)(tab - p), &t)) {
        *kind = NG_CORPUS_TSV;
        return NG_OK;
    }
    const char *f = tab + 1, *end = p + n;
    const char *f_end = memchr(f, '\t', (size_t)(end - f));
    if (!f_end) f_end = end;
    int commas = 0, digits = 1;
    for (const char *c = f; c < f_end; c++) {
        if (*c == ',') commas++;
        else if (*c < '0' || *c > '9') digits = 0;
    }
    if (digits && commas == 2 && f_end > f) *kind = NG_CORPUS_NGRAM; /* 2020: y,m,v */
    int fields = 1;
    for (const char *c = f; c < end; c++) {
        if (*c == '\t') fields++;
        else if (*c < '0' || *c > '9') digits = 0;
    }
    if (digits && !commas && fields == 3) *kind = NG_CORPUS_NGRAM; /* 2012: y m v */
    return NG_OK;
}

static ng_status resolve(ngi_unit *u, ng_corpus_format format, time_map *m)
{
    ng_status s = NG_OK;
    u->kind = format;
    if (format == NG_CORPUS_AUTO && (s = detect(u->path, &u->kind))) return s;
    if (u->kind != NG_CORPUS_TEXT) return NG_OK;
    const char *name = base_name(u->path);
    if (m) {
        int64_t id = ngi_dict_find(&m->names, name, strlen(name), ngi_hash_bytes(name, strlen(name)));
        if (id < 0)
            return ngi_fail(NG_EFORMAT, "%s: not listed in %s: expected a line %s,TIME", u->path,
                            m->path, name);
        m->found[id] = 1;
        u->time = m->time[id];
        return NG_OK;
    }
    if (!ngi_time_from_name(name, &u->time))
        return ngi_fail(NG_EFORMAT, "%s: no time at the start of the file name: expected e.g. "
                        "1790_address.txt or 1999.txt.gz (or times from --time-of FILE.csv)", u->path);
    return NG_OK;
}

ng_status ngi_units_make(const char *const *inputs, size_t n_inputs, const ng_corpus_build_params *p,
                         ngi_unit **units, size_t *n_units, uint64_t *disk_bytes)
{
    time_map m, *mp = NULL;
    ng_status s = NG_OK;
    unit_list l = {0};
    if (p->time_of) {
        if ((s = time_map_load(&m, p->time_of))) return s;
        mp = &m;
    }
    for (size_t k = 0; !s && k < n_inputs; k++) {
        struct stat st;
        if (stat(inputs[k], &st) != 0)
            s = ngi_fail(NG_EIO, "%s: cannot open: %s", inputs[k], strerror(errno));
        else if (S_ISDIR(st.st_mode)) {
            size_t before = l.n;
            s = list_dir(inputs[k], mp, &l);
            if (!s && l.n == before)
                s = ngi_fail(NG_EFORMAT, "%s: no input files in the directory%s", inputs[k],
                             mp ? " that the time map lists" : "");
        } else
            s = push(&l, ngi_strdup(inputs[k]));
    }
    if (!s && l.n == 0) s = ngi_fail(NG_EINVAL, "no inputs: expected directories or files");
    for (size_t k = 0; !s && k < l.n; k++) s = resolve(&l.u[k], p->format, mp);
    for (size_t k = 0; !s && mp && k < m.names.n; k++)
        if (!m.found[k])
            s = ngi_fail(NG_EFORMAT, "%s: %s is listed but is not among the inputs", m.path,
                         ngi_dict_str(&m.names, k));
    int ngram = 0, text = 0;
    *disk_bytes = 0;
    for (size_t k = 0; !s && k < l.n; k++) {
        struct stat st;
        if (stat(l.u[k].path, &st) == 0) *disk_bytes += (uint64_t)st.st_size;
        if (l.u[k].kind == NG_CORPUS_NGRAM) ngram = 1;
        else text = 1;
        if (ngram && text)
            s = ngi_fail(NG_EINVAL, "%s: the inputs mix Google Books n-grams with text: expected one "
                         "kind (the pair rules differ)", l.u[k].path);
    }
    if (mp) time_map_free(mp);
    if (s) {
        ngi_units_free(l.u, l.n);
        return s;
    }
    *units = l.u;
    *n_units = l.n;
    return NG_OK;
}
