/* fuzz_dataset.c - ng_dataset_load_idx_dir on a directory of the four MNIST-layout files
 * (train images, train labels, test images, test labels; an empty part leaves that file
 * out): the image type and shape checks, the label counts and types. */
#include "ngfuzz.h"

#include <stdlib.h>
#include <string.h>

int ngf_dataset(const uint8_t *d, size_t n)
{
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    const char *dir = ngf_path(0, "ds");
    ngf_fresh_dir(dir);
    const uint8_t *part[4];
    size_t len[4];
    size_t np = ngf_split(d, n, part, len, 4);
    for (size_t k = 0; k < np; k++) {
        if (!len[k]) continue;
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, names[k]);
        ngf_write(p, part[k], len[k]);
    }
    ng_dataset ds;
    ngf_mem_begin();
    ng_status s = ng_dataset_load_idx_dir(dir, &ds);
    ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_dataset_load_idx_dir");
    if (s) {
        ngf_refused(s, dir);
        return 0;
    }
    if (!ds.n_train || !ds.n_test || !ds.dim) ngf_die("ng_dataset_load_idx_dir: an empty split");
    for (size_t i = 0; i < ds.n_train * ds.dim; i++)
        if (!(ds.train_x[i] >= 0 && ds.train_x[i] <= 1)) ngf_die("a feature outside [0, 1]");
    for (size_t i = 0; ds.train_y && i < ds.n_train; i++)
        if (ds.train_y[i] < 0) ngf_die("a negative label (a class index)");
    for (size_t i = 0; ds.test_y && i < ds.n_test; i++)
        if (ds.test_y[i] < 0) ngf_die("a negative label (a class index)");
    ng_dataset_free(&ds);
    return 1;
}

NGF_TARGET(ngf_dataset)
