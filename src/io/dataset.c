/* dataset.c - an IDX dataset directory (MNIST / Fashion-MNIST layout) as float features in
 * [0, 1] and int32 labels (class indices, so >= 0). Image files are required; a labels file
 * may be absent (an autoencoder needs none), which leaves that split's labels NULL. */
#include "tensor_io.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The existing one of dir/name and dir/name.gz (malloc'ed), or NULL. */
static char *find_file(const char *dir, const char *name)
{
    char *p = ngi_asprintf("%s/%s", dir, name);
    if (!p) return NULL;
    if (access(p, F_OK) == 0) return p;
    free(p);
    p = ngi_asprintf("%s/%s.gz", dir, name);
    if (p && access(p, F_OK) == 0) return p;
    free(p);
    return NULL;
}

static ng_status load_images(const char *dir, const char *name, float **x, size_t *n, size_t *dim,
                             char **used)
{
    *used = find_file(dir, name);
    if (!*used)
        return ngi_fail(NG_EIO, "%s/%s: cannot open: neither %s nor %s.gz exists in %s", dir, name,
                       name, name, dir);
    ng_tensor t;
    ng_status s = ng_idx_read(*used, &t);
    if (s) return s;
    if (t.dtype != NG_U8 || t.ndim < 2) {
        s = ngi_fail(NG_EFORMAT, "%s: expected unsigned-byte images (IDX type 08, 2 or more dims), found %s with %d dims",
                    *used, ng_dtype_name(t.dtype), t.ndim);
        ng_tensor_free(&t);
        return s;
    }
    size_t cases = t.shape[0], d = ng_tensor_count(&t) / cases;
    float *f = ngi_xmalloc(cases * d * sizeof *f);
    if (!f) {
        ng_tensor_free(&t);
        return NG_ENOMEM;
    }
    const unsigned char *u = t.data;
    size_t total = cases * d;
#pragma omp parallel for schedule(static) if (total > (1u << 20))
    for (size_t i = 0; i < total; i++) f[i] = (float)u[i] / 255.0f;
    ng_tensor_free(&t);
    *x = f;
    *n = cases;
    *dim = d;
    return NG_OK;
}

static ng_status load_labels(const char *dir, const char *name, size_t n_images,
                             const char *images_path, int32_t **y)
{
    *y = NULL;
    char *path = find_file(dir, name);
    if (!path) return NG_OK; /* optional */
    ng_tensor t;
    ng_status s = ng_idx_read(path, &t);
    if (s) {
        free(path);
        return s;
    }
    if (t.ndim != 1 || (t.dtype != NG_U8 && t.dtype != NG_I8 && t.dtype != NG_I16 && t.dtype != NG_I32)) {
        s = ngi_fail(NG_EFORMAT, "%s: expected 1-D integer labels, found %s with %d dims", path,
                    ng_dtype_name(t.dtype), t.ndim);
    } else if (t.shape[0] != n_images) {
        s = ngi_fail(NG_EMISMATCH, "%s: %zu labels but %s holds %zu images", path, t.shape[0],
                    images_path, n_images);
    } else {
        int32_t *l = ngi_xmalloc(n_images * sizeof *l);
        if (!l) {
            s = NG_ENOMEM;
        } else {
            for (size_t i = 0; i < n_images && !s; i++) {
                switch (t.dtype) {
                case NG_U8: l[i] = ((const uint8_t *)t.data)[i]; break;
                case NG_I8: l[i] = ((const int8_t *)t.data)[i]; break;
                case NG_I16: l[i] = ((const int16_t *)t.data)[i]; break;
                default: l[i] = ((const int32_t *)t.data)[i]; break;
                }
                if (l[i] < 0) /* a label is a class index */
                    s = ngi_fail(NG_EFORMAT, "%s: label %zu is %d: expected a class index >= 0", path,
                                 i, (int)l[i]);
            }
            if (s) free(l);
            else *y = l;
        }
    }
    ng_tensor_free(&t);
    free(path);
    return s;
}

ng_status ng_dataset_load_idx_dir(const char *dir, ng_dataset *out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_dataset_load_idx_dir: NULL output");
    memset(out, 0, sizeof *out);
    if (!dir || !*dir) return ngi_fail(NG_EINVAL, "ng_dataset_load_idx_dir: no directory given");
    char *tr_path = NULL, *te_path = NULL;
    size_t dim_te = 0;
    ng_dataset d;
    memset(&d, 0, sizeof d);
    ng_status s = load_images(dir, "train-images-idx3-ubyte", &d.train_x, &d.n_train, &d.dim, &tr_path);
    if (!s) s = load_images(dir, "t10k-images-idx3-ubyte", &d.test_x, &d.n_test, &dim_te, &te_path);
    if (!s && dim_te != d.dim)
        s = ngi_fail(NG_EMISMATCH, "%s: %zu features per image but %s has %zu", te_path, dim_te,
                    tr_path, d.dim);
    if (!s) s = load_labels(dir, "train-labels-idx1-ubyte", d.n_train, tr_path, &d.train_y);
    if (!s) s = load_labels(dir, "t10k-labels-idx1-ubyte", d.n_test, te_path, &d.test_y);
    free(tr_path);
    free(te_path);
    if (s) {
        ng_dataset_free(&d);
        return s;
    }
    *out = d;
    return NG_OK;
}

void ng_dataset_free(ng_dataset *d)
{
    if (!d) return;
    free(d->train_x);
    free(d->test_x);
    free(d->train_y);
    free(d->test_y);
    memset(d, 0, sizeof *d);
}
