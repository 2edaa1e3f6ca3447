/* cmd_data.c - 'natgrad data': generate (curves, in data_curves.c) or inspect (info)
 * data sets: IDX files, .npy arrays, MovieLens ratings and IDX dataset directories. */
#include "cli.h"
#include "commands.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#define CMD_INFO "data info"

static void data_usage(FILE *f)
{
    fprintf(f, "usage: natgrad data <sub> [options]\n\n"
               "Subcommands:\n"
               "  curves    generate the CURVES-like image set as IDX files ('natgrad data curves --help')\n"
               "  info      describe an IDX file, .npy array, ratings file or IDX dataset directory\n"
               "            ('natgrad data info --help')\n"
               "  sotu      fetch the State of the Union addresses ('natgrad data sotu --help')\n");
}

enum { F_AUTO, F_IDX, F_NPY, F_RATINGS, F_DIR };
static const char *const k_formats[] = {"auto", "idx", "npy", "ratings", "dir", NULL};
static const int k_format_ids[] = {F_AUTO, F_IDX, F_NPY, F_RATINGS, F_DIR};

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int detect(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return F_DIR;
    char base[4096];
    snprintf(base, sizeof base, "%s", path);
    if (ends_with(base, ".gz")) base[strlen(base) - 3] = '\0';
    const char *slash = strrchr(base, '/');
    const char *name = slash ? slash + 1 : base;
    if (ends_with(name, ".npy")) return F_NPY;
    if (ends_with(name, ".csv") || ends_with(name, ".dat") || ends_with(name, ".data") ||
        ends_with(name, ".tsv"))
        return F_RATINGS;
    if (strstr(name, "idx") || strstr(name, "ubyte")) return F_IDX;
    /* Content: the first bytes (gzip-transparent). A missing file goes to the IDX reader,
     * whose message names it. */
    gzFile g = gzopen(path, "rb");
    if (!g) return F_IDX;
    unsigned char b[6] = {0};
    int n = gzread(g, b, sizeof b);
    gzclose(g);
    if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) return F_NPY;
    if (n >= 2 && b[0] == 0 && b[1] == 0) return F_IDX;
    return F_RATINGS;
}

static void shape_str(const ng_tensor *t, char *s, size_t cap)
{
    size_t o = 0;
    if (t->ndim == 0) snprintf(s, cap, "scalar");
    for (int i = 0; i < t->ndim && o < cap; i++)
        o += (size_t)snprintf(s + o, cap - o, "%s%zu", i ? " x " : "", t->shape[i]);
}

static double elem(const ng_tensor *t, size_t i)
{
    switch (t->dtype) {
    case NG_U8: return ((const uint8_t *)t->data)[i];
    case NG_I8: return ((const int8_t *)t->data)[i];
    case NG_I16: return ((const int16_t *)t->data)[i];
    case NG_I32: return ((const int32_t *)t->data)[i];
    case NG_I64: return (double)((const int64_t *)t->data)[i];
    case NG_F32: return ((const float *)t->data)[i];
    case NG_F64: return ((const double *)t->data)[i];
    }
    return 0;
}

static void print_stats_f(const float *x, size_t n, const char *indent)
{
    double mn = INFINITY, mx = -INFINITY, s = 0;
    size_t bad = 0;
#pragma omp parallel for reduction(min : mn) reduction(max : mx) reduction(+ : s, bad)
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (!isfinite(v)) {
            bad++;
            continue;
        }
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        s += v;
    }
    if (n > bad)
        printf("%smin %.6g  max %.6g  mean %.6g\n", indent, mn, mx, s / (double)(n - bad));
    if (bad) printf("%s%zu non-finite values (NaN/Inf)\n", indent, bad);
}

static void info_tensor(const char *path, const char *kind, const ng_tensor *t)
{
    char shp[256];
    shape_str(t, shp, sizeof shp);
    size_t n = ng_tensor_count(t);
    printf("%s: %s array, dtype %s, shape %s (%zu elements)\n", path, kind, ng_dtype_name(t->dtype), shp, n);
    if (!n) return;
    double mn = INFINITY, mx = -INFINITY, s = 0;
    size_t bad = 0;
#pragma omp parallel for reduction(min : mn) reduction(max : mx) reduction(+ : s, bad)
    for (size_t i = 0; i < n; i++) {
        double v = elem(t, i);
        if (!isfinite(v)) {
            bad++;
            continue;
        }
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        s += v;
    }
    if (n > bad) printf("  min %.6g  max %.6g  mean %.6g\n", mn, mx, s / (double)(n - bad));
    if (bad) printf("  %zu non-finite values (NaN/Inf)\n", bad);
}

static void fmt_time(int64_t t, char *s, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) && strftime(s, cap, "%Y-%m-%d %H:%M:%S UTC", &tm)) return;
    snprintf(s, cap, "%lld s", (long long)t);
}

static void info_ratings(const char *path, const ng_ratings *r)
{
    printf("%s: ratings, %zu ratings by %zu users on %zu items (density %.4g%%)\n", path, r->n,
           r->n_users, r->n_items, 100.0 * (double)r->n / ((double)r->n_users * (double)r->n_items));
    double mn = INFINITY, mx = -INFINITY, s = 0;
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    for (size_t i = 0; i < r->n; i++) {
        double v = r->rating[i];
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        s += v;
        if (r->timestamp[i] < t0) t0 = r->timestamp[i];
        if (r->timestamp[i] > t1) t1 = r->timestamp[i];
    }
    printf("  rating min %.6g  max %.6g  mean %.6g\n", mn, mx, s / (double)r->n);
    char a[64], b[64];
    fmt_time(t0, a, sizeof a);
    fmt_time(t1, b, sizeof b);
    printf("  time span %s .. %s (%.1f days)\n", a, b, (double)(t1 - t0) / 86400.0);
    printf("  ids remapped in order of first appearance: user %lld -> 0, item %lld -> 0\n",
           (long long)r->user_ids[0], (long long)r->item_ids[0]);
}

static void info_labels(const char *what, const int32_t *y, size_t n)
{
    if (!y) {
        printf("  %s labels: none (labels file absent)\n", what);
        return;
    }
    int32_t mn = INT32_MAX, mx = INT32_MIN;
    for (size_t i = 0; i < n; i++) {
        if (y[i] < mn) mn = y[i];
        if (y[i] > mx) mx = y[i];
    }
    printf("  %s labels: %zu, values %d .. %d\n", what, n, (int)mn, (int)mx);
}

static void info_dataset(const char *path, const ng_dataset *d)
{
    printf("%s: IDX dataset, %zu features per case\n", path, d->dim);
    printf("  train: %zu cases\n", d->n_train);
    print_stats_f(d->train_x, d->n_train * d->dim, "    ");
    info_labels("train", d->train_y, d->n_train);
    printf("  test: %zu cases\n", d->n_test);
    print_stats_f(d->test_x, d->n_test * d->dim, "    ");
    info_labels("test", d->test_y, d->n_test);
}

static int info_one(const char *path, int format, int verbose)
{
    int f = format == F_AUTO ? detect(path) : format;
    double t0 = ng_cli_now();
    ng_status s;
    const char *kind = "?";
    switch (f) {
    case F_DIR: {
        ng_dataset d;
        kind = "IDX dataset directory";
        if ((s = ng_dataset_load_idx_dir(path, &d)) == NG_OK) {
            info_dataset(path, &d);
            ng_dataset_free(&d);
        }
        break;
    }
    case F_RATINGS: {
        ng_ratings r;
        kind = "ratings";
        if ((s = ng_ratings_read(path, &r)) == NG_OK) {
            info_ratings(path, &r);
            ng_ratings_free(&r);
        }
        break;
    }
    default: {
        ng_tensor t;
        kind = f == F_NPY ? ".npy" : "IDX";
        s = f == F_NPY ? ng_npy_read(path, &t) : ng_idx_read(path, &t);
        if (s == NG_OK) {
            info_tensor(path, kind, &t);
            ng_tensor_free(&t);
        }
        break;
    }
    }
    if (s != NG_OK) {
        struct stat st;
        char what[64];
        if (stat(path, &st) != 0) snprintf(what, sizeof what, "cannot read");
        else snprintf(what, sizeof what, "cannot read %s", kind);
        return ng_cli_fail(CMD_INFO, what);
    }
    if (verbose) fprintf(stderr, "natgrad %s: %s loaded in %.3f s\n", CMD_INFO, path, ng_cli_now() - t0);
    fflush(stdout);
    return NG_EXIT_OK;
}

static int cmd_info(int argc, char **argv)
{
    int format = F_AUTO, verbose = 0;
    const ng_cli_opt opts[] = {
        {.name = "format", .type = NG_CLI_CHOICE, .dst = &format, .choices = k_formats, .meta = "F",
         .help = "idx | npy | ratings | dir | auto: a directory is a dataset;\n"
                 "names ending .npy[.gz] are .npy, .csv/.dat/.data/.tsv[.gz]\n"
                 "ratings, other names with 'idx' or 'ubyte' IDX; otherwise the\n"
                 "content decides: \\x93NUMPY is .npy, two zero bytes IDX, text\n"
                 "ratings"},
        {.name = "verbose", .type = NG_CLI_FLAG, .dst = &verbose,
         .help = "print the configuration banner and load times to stderr"},
        NG_CLI_END};
    const ng_cli_opt *tables[] = {opts};
    const ng_cli_spec spec = {
        .name = CMD_INFO, .synopsis = "[options] PATH...", .tables = tables, .n_tables = 1,
        .positional = argc,
        .intro = "Loads each PATH and prints what it holds: dtype, shape and min/max/mean for arrays;\n"
                 "users, items, ratings and time span for ratings; sizes, labels and feature range for\n"
                 "an IDX dataset directory (train-images-idx3-ubyte[.gz], t10k-images-idx3-ubyte[.gz],\n"
                 "optional train-labels-idx1-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]).\n"
                 "gzip-compressed files are read transparently.\n",
        .outro = "Exit status: 0 when every PATH loaded, 1 if one failed (one line on stderr naming the\n"
                 "file and, for text, the line), 2 for a usage error.\n"};
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    if (!paths) {
        fprintf(stderr, "natgrad %s: out of memory\n", CMD_INFO);
        return NG_EXIT_FAIL;
    }
    int npaths = 0;
    int rc = ng_cli_parse(&spec, argc, argv, paths, &npaths);
    if (rc < 0 && npaths == 0) rc = ng_cli_usage_error(CMD_INFO, "missing PATH (a file or a directory)");
    if (rc < 0) {
        if (verbose) {
            char extra[32];
            snprintf(extra, sizeof extra, "%d path(s)", npaths);
            ng_cli_banner_spec(&spec, extra);
        }
        rc = NG_EXIT_OK;
        for (int i = 0; i < npaths; i++)
            if (info_one(paths[i], k_format_ids[format], verbose) != NG_EXIT_OK) rc = NG_EXIT_FAIL;
    }
    free(paths);
    return rc;
}

int ng_cmd_data(int argc, char **argv)
{
    if (argc < 2) {
        data_usage(stderr);
        return NG_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        data_usage(stdout);
        return NG_EXIT_OK;
    }
    if (!strcmp(sub, "curves")) return ng_data_curves(argc - 1, argv + 1);
    if (!strcmp(sub, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(sub, "sotu")) return ng_data_sotu(argc - 1, argv + 1);
    fprintf(stderr, "natgrad data: unknown subcommand '%s'\n", sub);
    data_usage(stderr);
    return NG_EXIT_USAGE;
}
