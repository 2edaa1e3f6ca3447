/* fuzz_npy.c - ng_npy_read on a .npy file, then the same file as a data source
 * (ng_data_source_load: rows of u8 or floats, the last sixth the test set). */
#include "ngfuzz.h"

#include <stdlib.h>
#include <string.h>

int ngf_npy(const uint8_t *d, size_t n)
{
    const char *path = ngf_path(0, "a.npy");
    ngf_write(path, d, n);
    ng_tensor t;
    ngf_mem_begin();
    ng_status s = ng_npy_read(path, &t);
    ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_npy_read");
    if (s) {
        ngf_refused(s, path);
    } else {
        size_t count = ng_tensor_count(&t);
        if (count && !t.data) ngf_die("ng_npy_read: %zu elements and no data", count);
        if (count * ng_dtype_size(t.dtype) > n) ngf_die("ng_npy_read: more data than the file holds");
        if (!ngf_all_finite(t.dtype, t.data, count)) ngf_die("ng_npy_read: accepted a NaN/Inf");
        ng_tensor_free(&t);
    }

    ng_dataset ds;
    ngf_mem_begin();
    ng_status s2 = ng_data_source_load(path, &ds);
    ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_data_source_load");
    if (s2) {
        ngf_refused(s2, path);
    } else {
        if (s) ngf_die("ng_data_source_load accepted what ng_npy_read refused");
        if (!ngf_all_finite(NG_F32, ds.train_x, ds.n_train * ds.dim) ||
            !ngf_all_finite(NG_F32, ds.test_x, ds.n_test * ds.dim))
            ngf_die("ng_data_source_load: accepted a NaN/Inf");
        ng_dataset_free(&ds);
    }
    return s == NG_OK;
}

NGF_TARGET(ngf_npy)
