/* data_source.c - one string names the data of the autoencoder/classifier trainers:
 * "curves" (generated), a directory of IDX files, FILE.npy or TRAIN.npy,TEST.npy. Named
 * data sets installed on a machine are the caller's to map to a directory. */
#include "net_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

/* Reads a .npy matrix (rows = cases, trailing dimensions flattened) as floats. */
static ng_status load_npy_rows(const char *path, float **x, size_t *rows, size_t *dim)
{
    ng_tensor t;
    memset(&t, 0, sizeof t);
    ng_status st = ng_npy_read(path, &t);
    if (st) return st;
    if (t.ndim < 1) {
        ng_tensor_free(&t);
        return ngi_fail(NG_EFORMAT, "%s: a scalar: expected a matrix with one case per row", path);
    }
    size_t n = t.shape[0], d = 1;
    for (int i = 1; i < t.ndim; i++) d *= t.shape[i];
    if (n == 0 || d == 0) {
        ng_tensor_free(&t);
        return ngi_fail(NG_EFORMAT, "%s: empty array (%zu rows of %zu): expected cases", path, n, d);
    }
    if (t.dtype != NG_U8 && t.dtype != NG_F32 && t.dtype != NG_F64) {
        ng_tensor_free(&t);
        return ngi_fail(NG_EUNSUPPORTED, "%s: element type is not uint8, float32 or float64", path);
    }
    float *f = malloc(n * d * sizeof(float));
    if (!f) {
        ng_tensor_free(&t);
        return ngi_fail(NG_ENOMEM, "%s: out of memory (%zu x %zu floats)", path, n, d);
    }
    size_t cnt = n * d;
    if (t.dtype == NG_U8) {
        const uint8_t *u = t.data;
        for (size_t i = 0; i < cnt; i++) f[i] = (float)u[i] / 255.0f;
    } else {
        for (size_t i = 0; i < cnt; i++) {
            double v = t.dtype == NG_F32 ? (double)((const float *)t.data)[i] : ((const double *)t.data)[i];
            if (!isfinite(v) || !isfinite((float)v)) {
                ng_tensor_free(&t);
                free(f);
                return ngi_fail(NG_EFORMAT, "%s: row %zu, column %zu is %g: expected finite values", path,
                               i / d, i % d, v);
            }
            f[i] = (float)v;
        }
    }
    ng_tensor_free(&t);
    *x = f;
    *rows = n;
    *dim = d;
    return NG_OK;
}

static ng_status load_npy_split(const char *path, ng_dataset *out)
{
    float *x = NULL;
    size_t n = 0, d = 0;
    ng_status st = load_npy_rows(path, &x, &n, &d);
    if (st) return st;
    size_t n_test = n / 6;
    if (n_test < 1) {
        free(x);
        return ngi_fail(NG_EFORMAT,
                       "%s: %zu rows: expected at least 6 to split off the last 1/6 as the test set "
                       "(or give TRAIN.npy,TEST.npy)",
                       path, n);
    }
    size_t n_train = n - n_test;
    float *te = malloc(n_test * d * sizeof(float));
    if (!te) {
        free(x);
        return ngi_fail(NG_ENOMEM, "%s: out of memory", path);
    }
    memcpy(te, x + n_train * d, n_test * d * sizeof(float));
    float *tr = realloc(x, n_train * d * sizeof(float));
    if (tr) x = tr;
    memset(out, 0, sizeof *out);
    out->n_train = n_train;
    out->n_test = n_test;
    out->dim = d;
    out->train_x = x;
    out->test_x = te;
    return NG_OK;
}

static ng_status load_npy_pair(const char *spec, ng_dataset *out)
{
    const char *comma = strchr(spec, ',');
    char *a = ngi_strdup(spec);
    if (!a) return NG_ENOMEM;
    a[comma - spec] = 0;
    const char *b = a + (comma - spec) + 1;
    if (!*a || !*b || strchr(b, ',')) {
        ng_status st = ngi_fail(NG_EINVAL, "data source '%s': expected TRAIN.npy,TEST.npy (two file names)", spec);
        free(a);
        return st;
    }
    ng_dataset d;
    memset(&d, 0, sizeof d);
    size_t dte = 0;
    ng_status st = load_npy_rows(a, &d.train_x, &d.n_train, &d.dim);
    if (!st) st = load_npy_rows(b, &d.test_x, &d.n_test, &dte);
    if (!st && dte != d.dim)
        st = ngi_fail(NG_EMISMATCH, "%s: %zu features per row: expected %zu like %s", b, dte, d.dim, a);
    free(a);
    if (st) {
        free(d.train_x);
        free(d.test_x);
        return st;
    }
    *out = d;
    return NG_OK;
}

ng_status ng_data_source_load(const char *spec, ng_dataset *out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_data_source_load: NULL output");
    memset(out, 0, sizeof *out);
    if (!spec || !*spec)
        return ngi_fail(NG_EINVAL, "data source: empty: expected curves, a directory of "
                                  "IDX files, FILE.npy or TRAIN.npy,TEST.npy");
    if (strcmp(spec, "curves") == 0) return ng_curves_dataset(20000, 10000, 28, 0, out);
    if (strchr(spec, ',')) return load_npy_pair(spec, out);
    struct stat sb;
    if (stat(spec, &sb) != 0)
        return ngi_fail(NG_EIO, "data source '%s': no such file or directory: expected curves, "
                               "a directory of IDX files, FILE.npy or TRAIN.npy,TEST.npy",
                       spec);
    if (S_ISDIR(sb.st_mode)) return ng_dataset_load_idx_dir(spec, out);
    if (ends_with(spec, ".npy") || ends_with(spec, ".npy.gz")) return load_npy_split(spec, out);
    return ngi_fail(NG_EUNSUPPORTED, "data source '%s': a file not named .npy[.gz]: expected FILE.npy or a "
                                    "directory of IDX files",
                   spec);
}
