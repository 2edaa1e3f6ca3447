/* npy.c - NumPy .npy arrays: read format 1.0 / 2.0 / 3.0, write 1.0. The header is a
 * Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline so the data starts on a 64-byte boundary. */
#include "tensor_io.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char k_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
#define SUPPORTED "<u1 |u1 |i1 <i2 <i4 <i8 <f4 <f8"

/* descr without its byte-order character -> dtype. */
static int descr_dtype(const char *code, ng_dtype *t)
{
    static const struct { const char *c; ng_dtype t; } k[] = {
        {"u1", NG_U8}, {"i1", NG_I8}, {"i2", NG_I16}, {"i4", NG_I32},
        {"i8", NG_I64}, {"f4", NG_F32}, {"f8", NG_F64}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcmp(code, k[i].c) == 0) {
            *t = k[i].t;
            return 1;
        }
    return 0;
}

static const char *dtype_descr(ng_dtype t)
{
    switch (t) {
    case NG_U8: return "|u1";
    case NG_I8: return "|i1";
    case NG_I16: return "<i2";
    case NG_I32: return "<i4";
    case NG_I64: return "<i8";
    case NG_F32: return "<f4";
    case NG_F64: return "<f8";
    }
    return NULL;
}

/* Finds 'key' (quoted with ' or ") in the header dict and returns the position after the
 * following ':' and spaces, or NULL. */
static const char *dict_value(const char *h, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = h; *p; p++) {
        if ((*p == '\'' || *p == '"') && strncmp(p + 1, key, kl) == 0 && p[1 + kl] == *p) {
            const char *q = p + 2 + kl;
            while (*q == ' ') q++;
            if (*q != ':') continue;
            q++;
            while (*q == ' ') q++;
            return q;
        }
    }
    return NULL;
}

/* Parses the header dict (NUL-terminated) into dtype / shape. */
static ng_status parse_header(const char *path, const char *h, ng_tensor *t)
{
    const char *v = dict_value(h, "descr");
    if (!v || (*v != '\'' && *v != '"'))
        return ngi_fail(NG_EFORMAT, "%s: .npy header has no 'descr' string: %s", path, h);
    char q = *v++;
    const char *ve = strchr(v, q);
    if (!ve || ve - v > 30)
        return ngi_fail(NG_EFORMAT, "%s: .npy header has a malformed 'descr': %s", path, h);
    char descr[32];
    memcpy(descr, v, (size_t)(ve - v));
    descr[ve - v] = '\0';
    char order = descr[0];
    const char *code = (order == '<' || order == '>' || order == '|' || order == '=') ? descr + 1 : descr;
    ng_dtype dt;
    if (!descr_dtype(code, &dt))
        return ngi_fail(NG_EUNSUPPORTED, "%s: unsupported .npy dtype '%s': expected one of " SUPPORTED,
                       path, descr);
    if (order == '>' && ng_dtype_size(dt) > 1)
        return ngi_fail(NG_EUNSUPPORTED, "%s: big-endian .npy dtype '%s' is not supported: expected "
                       "little-endian (" SUPPORTED ")", path, descr);
    if ((order == '=' || code == descr) && ng_dtype_size(dt) > 1 && !ngi_host_is_little_endian())
        return ngi_fail(NG_EUNSUPPORTED, "%s: native-order .npy dtype '%s' on a big-endian host", path, descr);

    v = dict_value(h, "fortran_order");
    if (!v) return ngi_fail(NG_EFORMAT, "%s: .npy header has no 'fortran_order': %s", path, h);
    if (strncmp(v, "True", 4) == 0)
        return ngi_fail(NG_EUNSUPPORTED, "%s: Fortran-order .npy arrays are not supported: expected "
                       "'fortran_order': False (save a C-contiguous array)", path);
    if (strncmp(v, "False", 5) != 0)
        return ngi_fail(NG_EFORMAT, "%s: .npy 'fortran_order' must be True or False: %s", path, h);

    v = dict_value(h, "shape");
    if (!v || *v != '(')
        return ngi_fail(NG_EFORMAT, "%s: .npy header has no 'shape' tuple: %s", path, h);
    v++;
    int nd = 0;
    for (;;) {
        while (*v == ' ') v++;
        if (*v == ')') break;
        if (!isdigit((unsigned char)*v))
            return ngi_fail(NG_EFORMAT, "%s: .npy 'shape' must be a tuple of non-negative integers: %s",
                           path, h);
        char *e;
        unsigned long long d = strtoull(v, &e, 10);
        if (nd == NG_MAX_DIMS)
            return ngi_fail(NG_EUNSUPPORTED, "%s: .npy array has more than %d dimensions", path,
                           NG_MAX_DIMS);
        if (d > SIZE_MAX) return ngi_fail(NG_EFORMAT, "%s: .npy dimension too large", path);
        t->shape[nd++] = (size_t)d;
        v = e;
        while (*v == ' ') v++;
        if (*v == 'L') v++; /* Python 2 longs */
        if (*v == ',') v++;
        else if (*v != ')')
            return ngi_fail(NG_EFORMAT, "%s: .npy 'shape' must be a tuple of non-negative integers: %s",
                           path, h);
    }
    t->dtype = dt;
    t->ndim = nd;
    return NG_OK;
}

ng_status ngi_tensor_refuse_nonfinite(const char *path, const ng_tensor *t, size_t count)
{
    if (t->dtype != NG_F32 && t->dtype != NG_F64) return NG_OK;
    size_t k = 0;
    double v = 0;
    if (t->dtype == NG_F32) {
        const float *x = t->data;
        while (k < count && isfinite(x[k])) k++;
        if (k < count) v = x[k];
    } else {
        const double *x = t->data;
        while (k < count && isfinite(x[k])) k++;
        if (k < count) v = x[k];
    }
    if (k == count) return NG_OK;
    char idx[NG_MAX_DIMS * 24 + 4];
    size_t o = 0, rest = k;
    idx[0] = '\0';
    for (int i = 0; i < t->ndim; i++) { /* C order: the last index runs fastest */
        size_t stride = 1;
        for (int j = i + 1; j < t->ndim; j++) stride *= t->shape[j];
        o += (size_t)snprintf(idx + o, sizeof idx - o, "%s%zu", i ? ", " : "[", rest / stride);
        rest %= stride;
    }
    if (t->ndim) snprintf(idx + o, sizeof idx - o, "]");
    return ngi_fail(NG_EFORMAT, "%s: element %zu%s%s is %s: expected finite values", path, k,
                    t->ndim ? " at " : "", idx, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
}

static ng_status npy_read(const char *path, ng_tensor *out, int finite);

ng_status ng_npy_read(const char *path, ng_tensor *out) { return npy_read(path, out, 1); }

ng_status ngi_npy_read_values_unchecked(const char *path, ng_tensor *out) { return npy_read(path, out, 0); }

static ng_status npy_read(const char *path, ng_tensor *out, int finite)
{
    if (!path || !out) return ngi_fail(NG_EINVAL, "ng_npy_read: NULL argument");
    memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t len;
    ng_status s = ng_read_file(path, &buf, &len);
    if (s) return s;
    ng_tensor t;
    memset(&t, 0, sizeof t);
    size_t hl = 0, off = 0;
    if (len < 10 || memcmp(buf, k_magic, 6) != 0) {
        s = ngi_fail(NG_EFORMAT, "%s: not a .npy file: expected the magic \\x93NUMPY", path);
        goto done;
    }
    int major = buf[6];
    if (major == 1) {
        hl = (size_t)buf[8] | ((size_t)buf[9] << 8);
        off = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) {
            s = ngi_fail(NG_EFORMAT, "%s: truncated .npy header: %zu bytes", path, len);
            goto done;
        }
        hl = (size_t)buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) | ((size_t)buf[11] << 24);
        off = 12;
    } else {
        s = ngi_fail(NG_EUNSUPPORTED, "%s: .npy format version %d.%d is not supported: expected 1.0, 2.0 or 3.0",
                    path, major, buf[7]);
        goto done;
    }
    if (len - off < hl) {
        s = ngi_fail(NG_EFORMAT, "%s: truncated .npy header: %zu bytes, expected %zu", path, len - off, hl);
        goto done;
    }
    {
        char *h = ngi_xmalloc(hl + 1);
        if (!h) {
            s = NG_ENOMEM;
            goto done;
        }
        memcpy(h, buf + off, hl);
        h[hl] = '\0';
        for (size_t i = 0; i < hl; i++) /* printable header in messages */
            if (h[i] == '\n' || h[i] == '\0') h[i] = ' ';
        s = parse_header(path, h, &t);
        free(h);
        if (s) goto done;
    }
    off += hl;
    {
        size_t es = ng_dtype_size(t.dtype), count = 1;
        for (int i = 0; i < t.ndim; i++) {
            if (t.shape[i] && count > SIZE_MAX / es / t.shape[i]) {
                s = ngi_fail(NG_EFORMAT, "%s: .npy shape overflows the address space", path);
                goto done;
            }
            count *= t.shape[i];
        }
        size_t need = count * es, have = len - off;
        if (have < need) {
            s = ngi_fail(NG_EFORMAT, "%s: truncated .npy data: %zu bytes, shape and dtype need %zu",
                        path, have, need);
            goto done;
        }
        if (have > need) {
            s = ngi_fail(NG_EFORMAT, "%s: .npy data too long: %zu bytes, shape and dtype need %zu",
                        path, have, need);
            goto done;
        }
        t.data = ngi_xmalloc(need);
        if (!t.data) {
            s = NG_ENOMEM;
            goto done;
        }
        ngi_order_copy(t.data, buf + off, count, es, 1);
        if (finite && (s = ngi_tensor_refuse_nonfinite(path, &t, count))) {
            ng_tensor_free(&t);
            goto done;
        }
    }
    *out = t;
done:
    free(buf);
    return s;
}

ng_status ng_npy_write(const char *path, const ng_tensor *t)
{
    if (!path || !t) return ngi_fail(NG_EINVAL, "ng_npy_write: NULL argument");
    size_t count, bytes;
    ng_status s = ngi_tensor_check("ng_npy_write", path, t, &count, &bytes);
    if (s) return s;
    if ((s = ngi_tensor_check_finite(path, t, count))) return s;
    char dict[64 + NG_MAX_DIMS * 24];
    int o = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtype_descr(t->dtype));
    for (int i = 0; i < t->ndim; i++)
        o += snprintf(dict + o, sizeof dict - (size_t)o, "%zu%s", t->shape[i],
                      t->ndim == 1 ? "," : (i + 1 < t->ndim ? ", " : ""));
    o += snprintf(dict + o, sizeof dict - (size_t)o, "), }");
    /* Pad with spaces so that magic + version + length + dict + '\n' is a multiple of 64. */
    size_t total = 10 + (size_t)o + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hl = padded - 10;
    unsigned char head[10 + sizeof dict + 64];
    memcpy(head, k_magic, 6);
    head[6] = 1;
    head[7] = 0;
    head[8] = (unsigned char)(hl & 0xff);
    head[9] = (unsigned char)(hl >> 8);
    memcpy(head + 10, dict, (size_t)o);
    memset(head + 10 + o, ' ', hl - (size_t)o - 1);
    head[padded - 1] = '\n';

    ng_atomic_file af;
    if ((s = ng_atomic_open(&af, path))) return s;
    int ok = fwrite(head, 1, padded, af.f) == padded;
    size_t es = ng_dtype_size(t->dtype);
    if (es == 1 || ngi_host_is_little_endian()) {
        if (ok && bytes) ok = fwrite(t->data, 1, bytes, af.f) == bytes;
    } else {
        unsigned char tmp[1 << 14];
        size_t per = sizeof tmp / es;
        const unsigned char *src = t->data;
        for (size_t i = 0; ok && i < count; i += per) {
            size_t m = count - i < per ? count - i : per;
            ngi_bswap_copy(tmp, src + i * es, m, es);
            ok = fwrite(tmp, es, m, af.f) == m;
        }
    }
    if (!ok) {
        int e = errno; /* ENOSPC, EFBIG...: before the clean-up can change it */
        ng_atomic_abort(&af);
        return ngi_fail(NG_EIO, "%s: write failed: %s", path, strerror(e));
    }
    return ng_atomic_commit(&af);
}
