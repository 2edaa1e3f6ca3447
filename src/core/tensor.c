/* tensor.c - the n-d array type that the data readers and writers exchange, and the byte
 * order helpers they share (IDX is big-endian, .npy little-endian). */
#include "tensor_io.h"

#include <stdlib.h>
#include <string.h>

size_t ng_dtype_size(ng_dtype t)
{
    switch (t) {
    case NG_U8:
    case NG_I8: return 1;
    case NG_I16: return 2;
    case NG_I32:
    case NG_F32: return 4;
    case NG_I64:
    case NG_F64: return 8;
    }
    return 0;
}

const char *ng_dtype_name(ng_dtype t)
{
    switch (t) {
    case NG_U8: return "u8";
    case NG_I8: return "i8";
    case NG_I16: return "i16";
    case NG_I32: return "i32";
    case NG_I64: return "i64";
    case NG_F32: return "f32";
    case NG_F64: return "f64";
    }
    return "?";
}

size_t ng_tensor_count(const ng_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim && i < NG_MAX_DIMS; i++) n *= t->shape[i];
    return n;
}

void ng_tensor_free(ng_tensor *t)
{
    if (!t) return;
    free(t->data);
    memset(t, 0, sizeof *t);
}

ng_status ngi_tensor_check(const char *who, const char *path, const ng_tensor *t,
                          size_t *count, size_t *bytes)
{
    if (!t || ng_dtype_size(t->dtype) == 0)
        return ngi_fail(NG_EINVAL, "%s: %s: tensor has no valid dtype", path, who);
    if (t->ndim < 0 || t->ndim > NG_MAX_DIMS)
        return ngi_fail(NG_EINVAL, "%s: %s: ndim %d outside [0, %d]", path, who, t->ndim,
                       NG_MAX_DIMS);
    size_t n = 1, es = ng_dtype_size(t->dtype);
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] != 0 && n > SIZE_MAX / es / t->shape[i])
            return ngi_fail(NG_EINVAL, "%s: %s: shape too large", path, who);
        n *= t->shape[i];
    }
    if (n && !t->data) return ngi_fail(NG_EINVAL, "%s: %s: tensor data is NULL", path, who);
    *count = n;
    *bytes = n * es;
    return NG_OK;
}

ng_status ngi_tensor_check_finite(const char *path, const ng_tensor *t, size_t count)
{
    if (t->dtype == NG_F32) {
        const float *x = t->data;
        for (size_t i = 0; i < count; i++)
            if (!isfinite(x[i]))
                return ngi_fail(NG_ENUMERIC, "%s: element %zu is %s; not written", path, i,
                               isnan(x[i]) ? "NaN" : "Inf");
    } else if (t->dtype == NG_F64) {
        const double *x = t->data;
        for (size_t i = 0; i < count; i++)
            if (!isfinite(x[i]))
                return ngi_fail(NG_ENUMERIC, "%s: element %zu is %s; not written", path, i,
                               isnan(x[i]) ? "NaN" : "Inf");
    }
    return NG_OK;
}

int ngi_host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

void ngi_bswap_copy(void *dst, const void *src, size_t count, size_t es)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (es == 1) {
        memmove(d, s, count);
        return;
    }
    for (size_t i = 0; i < count; i++, d += es, s += es) {
        unsigned char tmp[8];
        for (size_t b = 0; b < es; b++) tmp[b] = s[es - 1 - b];
        memcpy(d, tmp, es);
    }
}

void ngi_order_copy(void *dst, const void *src, size_t count, size_t es, int little_endian)
{
    if (es == 1 || little_endian == ngi_host_is_little_endian())
        memmove(dst, src, count * es);
    else
        ngi_bswap_copy(dst, src, count, es);
}
