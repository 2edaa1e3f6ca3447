/* fuzz_ckpt.c - a checkpoint directory: MANIFEST, a.npy, b.npy (the input's three parts).
 * ng_ckpt_exists, ng_ckpt_read of each array and ng_ckpt_load into a model that holds
 * a: f32 (2, 3) and b: i64 (4) under the name "m"; a failed load leaves the buffers as
 * they were. The MANIFEST carries CRC-32s of the arrays and of itself, which mutations
 * break; for inputs of odd length the harness first writes the right ones in (where the
 * MANIFEST has room for them), so that what lies behind the checksums is reached too. */
#include "ngfuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t crc(const uint8_t *p, size_t n) { return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n); }

static void put_hex(char *at, uint32_t v)
{
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", (unsigned)v);
    memcpy(at, hex, 8);
}

/* The checksums fixed in place in the MANIFEST m (n bytes): each "array a|b ... crc32 X",
 * then the last line "manifest-crc32 X" over the bytes before it. */
static void fix_crcs(char *m, size_t n, const uint32_t part_crc[2])
{
    for (size_t a = 0; a < n;) {
        char *nl = memchr(m + a, '\n', n - a);
        size_t e = nl ? (size_t)(nl - m) : n;
        char *c = e - a > 8 ? memmem(m + a, e - a, " crc32 ", 7) : NULL;
        if (!strncmp(m + a, "array a ", 8 < e - a ? 8 : e - a) || !strncmp(m + a, "array b ", 8 < e - a ? 8 : e - a))
            if (c && (size_t)(c - m) + 7 + 8 <= e) put_hex(c + 7, part_crc[m[a + 6] == 'b']);
        a = e + 1;
    }
    size_t end = n && m[n - 1] == '\n' ? n - 1 : n, start = end;
    while (start > 0 && m[start - 1] != '\n') start--;
    static const char key[] = "manifest-crc32 ";
    if (end - start >= sizeof key - 1 + 8 && !memcmp(m + start, key, sizeof key - 1))
        put_hex(m + start + sizeof key - 1, crc((const uint8_t *)m, start));
}

int ngf_ckpt(const uint8_t *d, size_t n)
{
    const char *dir = ngf_path(0, "ck");
    ngf_fresh_dir(dir);
    static const char *const names[3] = {"MANIFEST", "a.npy", "b.npy"};
    const uint8_t *part[3];
    size_t len[3];
    size_t np = ngf_split(d, n, part, len, 3);
    char *manifest = NULL;
    if (n % 2 && np == 3) {
        uint32_t pc[2] = {crc(part[1], len[1]), crc(part[2], len[2])};
        manifest = malloc(len[0] + 1);
        if (!manifest) ngf_die("out of memory");
        memcpy(manifest, part[0], len[0]);
        fix_crcs(manifest, len[0], pc);
        part[0] = (const uint8_t *)manifest;
    }
    ngf_write_parts(dir, names, part, len, np, 0);
    free(manifest);
    (void)ng_ckpt_exists(dir);
    for (int k = 0; k < 2; k++) {
        ng_tensor t;
        ngf_mem_begin();
        ng_status s = ng_ckpt_read(dir, k ? "b" : "a", &t);
        ngf_mem_end(ngf_plain_size(d, n), 1536 << 10, "ng_ckpt_read"); /* + the 1 MB checksum buffer */
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
    ngf_mem_end(ngf_plain_size(d, n), 1536 << 10, "ng_ckpt_load");
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
