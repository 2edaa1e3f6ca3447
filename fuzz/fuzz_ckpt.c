/* fuzz_ckpt.c - a checkpoint directory: MANIFEST, a.npy, b.npy (the input's three parts).
 * ng_ckpt_exists, ng_ckpt_read of each array and ng_ckpt_load into a model that holds
 * a: f32 (2, 3) and b: i64 (4) under the name "m"; a failed load leaves the buffers as
 * they were. */
#include "ngfuzz.h"

#include <stdlib.h>
#include <string.h>

int ngf_ckpt(const uint8_t *d, size_t n)
{
    const char *dir = ngf_path(0, "ck");
    ngf_fresh_dir(dir);
    static const char *const names[3] = {"MANIFEST", "a.npy", "b.npy"};
    const uint8_t *part[3];
    size_t len[3];
    size_t np = ngf_split(d, n, part, len, 3);
    for (size_t k = 0; k < np; k++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, names[k]);
        ngf_write(p, part[k], len[k]);
    }
    (void)ng_ckpt_exists(dir);
    for (int k = 0; k < 2; k++) {
        ng_tensor t;
        ngf_mem_begin();
        ng_status s = ng_ckpt_read(dir, k ? "b" : "a", &t);
        ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_ckpt_read");
        if (s) ngf_refused(s, dir);
        else {
            if (!ngf_all_finite(t.dtype, t.data, ng_tensor_count(&t))) ngf_die("ng_ckpt_read: a NaN/Inf");
            ng_tensor_free(&t);
        }
    }
    float a[6] = {7, 7, 7, 7, 7, 7};
    int64_t b[4] = {7, 7, 7, 7}, step = -1;
    ng_ckpt_array arr[2] = {ng_ckpt_view("a", NG_F32, a, 2, 2, 3, 0), ng_ckpt_view("b", NG_I64, b, 1, 4, 0, 0)};
    ngf_mem_begin();
    ng_status s = ng_ckpt_load(dir, "m", &step, arr, 2);
    ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_ckpt_load");
    if (s) {
        ngf_refused(s, dir);
        for (int k = 0; k < 6; k++)
            if (a[k] != 7 || (k < 4 && b[k] != 7) || step != -1) ngf_die("a failed load changed the model");
        return 0;
    }
    if (!ngf_all_finite(NG_F32, a, 6)) ngf_die("ng_ckpt_load: a NaN/Inf");
    return 1;
}

NGF_TARGET(ngf_ckpt)
