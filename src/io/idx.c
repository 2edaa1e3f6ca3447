/* idx.c - IDX files (the MNIST family): magic 00 00 TT NN, NN big-endian u32 dimensions,
 * then the payload in big-endian C order. Read plain or gzip (ng_read_file detects gzip
 * from the content); written plain, or gzip when the name ends in .gz, always atomically. */
#include "tensor_io.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* IDX type codes. */
enum { IDX_U8 = 0x08, IDX_I8 = 0x09, IDX_I16 = 0x0B, IDX_I32 = 0x0C, IDX_F32 = 0x0D, IDX_F64 = 0x0E };

static int idx_to_dtype(int code, ng_dtype *t)
{
    switch (code) {
    case IDX_U8: *t = NG_U8; return 1;
    case IDX_I8: *t = NG_I8; return 1;
    case IDX_I16: *t = NG_I16; return 1;
    case IDX_I32: *t = NG_I32; return 1;
    case IDX_F32: *t = NG_F32; return 1;
    case IDX_F64: *t = NG_F64; return 1;
    }
    return 0;
}

static int dtype_to_idx(ng_dtype t)
{
    switch (t) {
    case NG_U8: return IDX_U8;
    case NG_I8: return IDX_I8;
    case NG_I16: return IDX_I16;
    case NG_I32: return IDX_I32;
    case NG_F32: return IDX_F32;
    case NG_F64: return IDX_F64;
    case NG_I64: break;
    }
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Parses an IDX image held in memory; name is used in messages. */
static ng_status idx_parse(const char *name, const unsigned char *buf, size_t len, ng_tensor *out)
{
    if (len < 4)
        return ngi_fail(NG_EFORMAT, "%s: not an IDX file: %zu bytes, expected at least a 4-byte magic number",
                       name, len);
    uint32_t magic = be32(buf);
    ng_dtype dt;
    if (buf[0] != 0 || buf[1] != 0 || !idx_to_dtype(buf[2], &dt))
        return ngi_fail(NG_EFORMAT,
                       "%s: wrong IDX magic number 0x%08x: expected 0x00000TNN with type T in "
                       "08 (u8), 09 (i8), 0B (i16), 0C (i32), 0D (f32), 0E (f64)",
                       name, (unsigned)magic);
    int ndim = buf[3];
    if (ndim == 0)
        return ngi_fail(NG_EFORMAT, "%s: IDX magic 0x%08x declares 0 dimensions, expected 1..%d",
                       name, (unsigned)magic, NG_MAX_DIMS);
    if (ndim > NG_MAX_DIMS)
        return ngi_fail(NG_EUNSUPPORTED, "%s: IDX file has %d dimensions, natgrad handles at most %d",
                       name, ndim, NG_MAX_DIMS);
    size_t hdr = 4 + 4 * (size_t)ndim;
    if (len < hdr)
        return ngi_fail(NG_EFORMAT, "%s: truncated IDX header: %zu bytes, expected %zu for %d dimensions",
                       name, len, hdr, ndim);
    size_t es = ng_dtype_size(dt), count = 1;
    size_t shape[NG_MAX_DIMS];
    for (int i = 0; i < ndim; i++) {
        shape[i] = be32(buf + 4 + 4 * i);
        if (shape[i] == 0)
            return ngi_fail(NG_EFORMAT, "%s: IDX dimension %d is 0, expected a positive size", name, i);
        if (count > SIZE_MAX / es / shape[i])
            return ngi_fail(NG_EFORMAT, "%s: IDX dimensions overflow the address space", name);
        count *= shape[i];
    }
    size_t need = count * es, have = len - hdr;
    if (have != need) {
        char dims[NG_MAX_DIMS * 12 + 1];
        size_t o = 0;
        for (int i = 0; i < ndim; i++)
            o += (size_t)snprintf(dims + o, sizeof dims - o, "%s%zu", i ? "x" : "", shape[i]);
        if (have < need)
            return ngi_fail(NG_EFORMAT,
                           "%s: truncated IDX payload: %zu bytes, dimensions %s of %s need %zu",
                           name, have, dims, ng_dtype_name(dt), need);
        return ngi_fail(NG_EFORMAT,
                       "%s: IDX payload too long: %zu bytes, dimensions %s of %s need %zu "
                       "(%zu trailing bytes)",
                       name, have, dims, ng_dtype_name(dt), need, have - need);
    }
    void *data = ngi_xmalloc(need);
    if (!data) return NG_ENOMEM;
    ngi_order_copy(data, buf + hdr, count, es, 0);
    ng_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = ndim;
    for (int i = 0; i < ndim; i++) t.shape[i] = shape[i];
    t.data = data;
    ng_status s = ngi_tensor_refuse_nonfinite(name, &t, count);
    if (s) {
        free(data);
        return s;
    }
    *out = t;
    return NG_OK;
}

ng_status ng_idx_read(const char *path, ng_tensor *out)
{
    if (!path || !out) return ngi_fail(NG_EINVAL, "ng_idx_read: NULL argument");
    memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t len;
    ng_status s = ng_read_file(path, &buf, &len);
    if (s) return s;
    s = idx_parse(path, buf, len, out);
    free(buf);
    return s;
}

/* Output sink: plain fwrite or a gzip deflate stream into the same FILE. */
typedef struct {
    FILE *f;
    int gz;
    z_stream z;
    unsigned char out[1 << 16];
} sink;

static int sink_drain(sink *k, int flush)
{
    do {
        k->z.next_out = k->out;
        k->z.avail_out = sizeof k->out;
        int rc = deflate(&k->z, flush);
        if (rc == Z_STREAM_ERROR) return 0;
        size_t n = sizeof k->out - k->z.avail_out;
        if (n && fwrite(k->out, 1, n, k->f) != n) return 0;
        if (flush == Z_FINISH && rc == Z_STREAM_END) return 1;
    } while (k->z.avail_out == 0 || (flush == Z_FINISH));
    return 1;
}

static int sink_write(sink *k, const void *p, size_t n)
{
    if (!k->gz) return fwrite(p, 1, n, k->f) == n;
    const unsigned char *b = p;
    while (n) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        k->z.next_in = (unsigned char *)(uintptr_t)b;
        k->z.avail_in = chunk;
        if (!sink_drain(k, Z_NO_FLUSH)) return 0;
        b += chunk;
        n -= chunk;
    }
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

ng_status ng_idx_write(const char *path, const ng_tensor *t)
{
    if (!path || !t) return ngi_fail(NG_EINVAL, "ng_idx_write: NULL argument");
    size_t count, bytes;
    ng_status s = ngi_tensor_check("ng_idx_write", path, t, &count, &bytes);
    if (s) return s;
    int code = dtype_to_idx(t->dtype);
    if (!code)
        return ngi_fail(NG_EUNSUPPORTED, "%s: IDX has no %s type (u8 i8 i16 i32 f32 f64 only)", path,
                       ng_dtype_name(t->dtype));
    if (t->ndim < 1)
        return ngi_fail(NG_EINVAL, "%s: IDX needs at least one dimension", path);
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0 || t->shape[i] > 0xFFFFFFFFu)
            return ngi_fail(NG_EINVAL, "%s: IDX dimension %d = %zu outside [1, 2^32 - 1]", path, i,
                           t->shape[i]);
    if ((s = ngi_tensor_check_finite(path, t, count))) return s;

    sink *k = ngi_xcalloc(1, sizeof *k);
    if (!k) return NG_ENOMEM;
    ng_atomic_file af;
    if ((s = ng_atomic_open(&af, path))) {
        free(k);
        return s;
    }
    k->f = af.f;
    k->gz = ends_with(path, ".gz");
    if (k->gz && deflateInit2(&k->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        ng_atomic_abort(&af);
        free(k);
        return ngi_fail(NG_ENOMEM, "%s: cannot initialise gzip compression", path);
    }
    unsigned char hdr[4 + 4 * NG_MAX_DIMS];
    hdr[0] = hdr[1] = 0;
    hdr[2] = (unsigned char)code;
    hdr[3] = (unsigned char)t->ndim;
    for (int i = 0; i < t->ndim; i++) {
        uint32_t d = (uint32_t)t->shape[i];
        hdr[4 + 4 * i] = (unsigned char)(d >> 24);
        hdr[5 + 4 * i] = (unsigned char)(d >> 16);
        hdr[6 + 4 * i] = (unsigned char)(d >> 8);
        hdr[7 + 4 * i] = (unsigned char)d;
    }
    int ok = sink_write(k, hdr, 4 + 4 * (size_t)t->ndim);
    /* Payload in big-endian, converted through a bounded buffer. */
    size_t es = ng_dtype_size(t->dtype);
    size_t per = (1u << 16) / es;
    unsigned char *tmp = ngi_xmalloc(per * es);
    if (!tmp) ok = 0;
    const unsigned char *src = t->data;
    for (size_t i = 0; ok && i < count; i += per) {
        size_t m = count - i < per ? count - i : per;
        ngi_order_copy(tmp, src + i * es, m, es, 0);
        ok = sink_write(k, tmp, m * es);
    }
    free(tmp);
    if (ok && k->gz) ok = sink_drain(k, Z_FINISH);
    if (k->gz) deflateEnd(&k->z);
    free(k);
    if (!ok) {
        ng_atomic_abort(&af);
        return ngi_fail(NG_EIO, "%s: write failed", path);
    }
    return ng_atomic_commit(&af);
}
