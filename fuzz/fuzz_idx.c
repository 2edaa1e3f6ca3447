/* fuzz_idx.c - ng_idx_read on the bytes as a plain IDX file and gzip-compressed (.gz):
 * both must give the same answer (the same tensor, or both a refusal). */
#include "ngfuzz.h"

#include <stdlib.h>
#include <string.h>

int ngf_idx(const uint8_t *d, size_t n)
{
    const char *plain = ngf_path(0, "a-idx3-ubyte"), *gz = ngf_path(1, "b-idx3-ubyte.gz");
    ngf_write(plain, d, n);
    ngf_write_gz(gz, d, n);
    ng_tensor a, b;
    ngf_mem_begin();
    ng_status sa = ng_idx_read(plain, &a);
    ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_idx_read");
    if (sa) ngf_refused(sa, plain);
    ngf_mem_begin();
    ng_status sb = ng_idx_read(gz, &b);
    ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_idx_read (gzip)");
    if (sb) ngf_refused(sb, gz);
    /* raw bytes that are themselves gzip data decompress to something else */
    int raw_gz = n >= 2 && d[0] == 0x1f && d[1] == 0x8b;
    if (!raw_gz && (sa == NG_OK) != (sb == NG_OK))
        ngf_die("ng_idx_read: plain %s, gzip %s", ng_status_name(sa), ng_status_name(sb));
    if (!sa) {
        size_t count = ng_tensor_count(&a);
        if (count * ng_dtype_size(a.dtype) > n) ngf_die("ng_idx_read: more data than the file holds");
        if (!ngf_all_finite(a.dtype, a.data, count)) ngf_die("ng_idx_read: accepted a NaN/Inf");
    }
    if (!sa && !sb && !raw_gz) {
        size_t bytes = ng_tensor_count(&a) * ng_dtype_size(a.dtype);
        if (a.dtype != b.dtype || a.ndim != b.ndim || memcmp(a.shape, b.shape, sizeof a.shape) ||
            (bytes && memcmp(a.data, b.data, bytes)))
            ngf_die("ng_idx_read: the plain and gzip reads differ");
    }
    if (!sa) ng_tensor_free(&a);
    if (!sb) ng_tensor_free(&b);
    return sa == NG_OK;
}

NGF_TARGET(ngf_idx)
