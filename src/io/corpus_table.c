/* corpus_table.c - the count tables of corpus building: 64-bit keys -> double counts,
 * and strings -> dense ids. Open addressing, linear probing, grown at half load. */
#include "corpus_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

static inline size_t slot_of(uint64_t key, size_t mask)
{
    key ^= key >> 31; /* keys (i << 32 | j) differ in both halves: mix them */
    key *= 0x9E3779B97F4A7C15ull;
    return (size_t)(key >> 17) & mask;
}

ng_status ngi_map_init(ngi_map *m, size_t hint)
{
    if (hint > NGI_TABLE_HINT_MAX) hint = NGI_TABLE_HINT_MAX;
    memset(m, 0, sizeof *m);
    m->cap = pow2_at_least(2 * hint);
    m->slot = ngi_xmalloc(m->cap * sizeof *m->slot);
    if (!m->slot) {
        ngi_map_free(m);
        return ngi_fail(NG_ENOMEM, "out of memory for a count table of %zu entries", hint);
    }
    for (size_t s = 0; s < m->cap; s++) m->slot[s].key = NGI_EMPTY_KEY;
    return NG_OK;
}

void ngi_map_free(ngi_map *m)
{
    free(m->slot);
    memset(m, 0, sizeof *m);
}

static int grow(ngi_map *m)
{
    size_t cap = m->cap * 2, mask = cap - 1;
    ngi_slot *n = ngi_xmalloc(cap * sizeof *n);
    if (!n) {
        ngi_fail(NG_ENOMEM, "out of memory growing a count table to %zu entries", cap);
        return 0;
    }
    for (size_t s = 0; s < cap; s++) n[s].key = NGI_EMPTY_KEY;
    for (size_t s = 0; s < m->cap; s++) {
        if (m->slot[s].key == NGI_EMPTY_KEY) continue;
        size_t t = slot_of(m->slot[s].key, mask);
        while (n[t].key != NGI_EMPTY_KEY) t = (t + 1) & mask;
        n[t] = m->slot[s];
    }
    free(m->slot);
    m->slot = n;
    m->cap = cap;
    return 1;
}

double *ngi_map_at(ngi_map *m, uint64_t key)
{
    size_t mask = m->cap - 1, s = slot_of(key, mask);
    for (;;) {
        if (m->slot[s].key == key) return &m->slot[s].val;
        if (m->slot[s].key == NGI_EMPTY_KEY) break;
        s = (s + 1) & mask;
    }
    if (2 * (m->n + 1) > m->cap) {
        if (!grow(m)) return NULL;
        mask = m->cap - 1;
        s = slot_of(key, mask);
        while (m->slot[s].key != NGI_EMPTY_KEY) s = (s + 1) & mask;
    }
    m->slot[s].key = key;
    m->slot[s].val = 0;
    m->n++;
    return &m->slot[s].val;
}

const double *ngi_map_find(const ngi_map *m, uint64_t key)
{
    size_t mask = m->cap - 1, s = slot_of(key, mask);
    for (;;) {
        if (m->slot[s].key == key) return &m->slot[s].val;
        if (m->slot[s].key == NGI_EMPTY_KEY) return NULL;
        s = (s + 1) & mask;
    }
}

/* ------------------------------------------------------------------ strings */

uint64_t ngi_hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix for the low bits */
    for (size_t k = 0; k < n; k++) h = (h ^ (unsigned char)s[k]) * 0x100000001b3ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
}

ng_status ngi_dict_init(ngi_dict *d, size_t hint)
{
    if (hint > NGI_TABLE_HINT_MAX) hint = NGI_TABLE_HINT_MAX;
    memset(d, 0, sizeof *d);
    d->cap = pow2_at_least(2 * hint);
    d->id_cap = hint < 16 ? 16 : hint;
    d->arena_cap = 8 * d->id_cap;
    d->slot = ngi_xcalloc(d->cap, sizeof *d->slot);
    d->off = ngi_xmalloc(d->id_cap * sizeof *d->off);
    d->len = ngi_xmalloc(d->id_cap * sizeof *d->len);
    d->hash = ngi_xmalloc(d->id_cap * sizeof *d->hash);
    d->arena = ngi_xmalloc(d->arena_cap);
    if (!d->slot || !d->off || !d->len || !d->hash || !d->arena) {
        ngi_dict_free(d);
        return ngi_fail(NG_ENOMEM, "out of memory for a word table of %zu words", hint);
    }
    return NG_OK;
}

void ngi_dict_free(ngi_dict *d)
{
    free(d->slot);
    free(d->off);
    free(d->len);
    free(d->hash);
    free(d->arena);
    memset(d, 0, sizeof *d);
}

int64_t ngi_dict_find(const ngi_dict *d, const char *s, size_t n, uint64_t h)
{
    size_t mask = d->cap - 1, k = (size_t)h & mask;
    for (;;) {
        uint32_t v = d->slot[k];
        if (!v) return -1;
        size_t id = v - 1;
        if (d->hash[id] == h && d->len[id] == n && !memcmp(d->arena + d->off[id], s, n))
            return (int64_t)id;
        k = (k + 1) & mask;
    }
}

static void *grow_array(void *p, size_t n, size_t es)
{
    void *q = realloc(p, n * es);
    if (!q) ngi_fail(NG_ENOMEM, "out of memory growing a word table to %zu entries", n);
    return q;
}

static int dict_rehash(ngi_dict *d)
{
    size_t cap = d->cap * 2, mask = cap - 1;
    uint32_t *slot = ngi_xcalloc(cap, sizeof *slot);
    if (!slot) return 0;
    for (size_t id = 0; id < d->n; id++) {
        size_t k = (size_t)d->hash[id] & mask;
        while (slot[k]) k = (k + 1) & mask;
        slot[k] = (uint32_t)(id + 1);
    }
    free(d->slot);
    d->slot = slot;
    d->cap = cap;
    return 1;
}

int64_t ngi_dict_add(ngi_dict *d, const char *s, size_t n, uint64_t h)
{
    int64_t f = ngi_dict_find(d, s, n, h);
    if (f >= 0) return f;
    if (d->n >= UINT32_MAX - 1) {
        ngi_fail(NG_EUNSUPPORTED, "more than %u distinct words", (unsigned)(UINT32_MAX - 1));
        return -1;
    }
    if (d->n == d->id_cap) {
        size_t c = d->id_cap * 2;
        uint64_t *off = grow_array(d->off, c, sizeof *off);
        if (!off) return -1;
        d->off = off;
        uint32_t *len = grow_array(d->len, c, sizeof *len);
        if (!len) return -1;
        d->len = len;
        uint64_t *hash = grow_array(d->hash, c, sizeof *hash);
        if (!hash) return -1;
        d->hash = hash;
        d->id_cap = c;
    }
    if (d->used + n + 1 > d->arena_cap) {
        size_t c = d->arena_cap * 2;
        while (c < d->used + n + 1) c *= 2;
        char *a = grow_array(d->arena, c, 1);
        if (!a) return -1;
        d->arena = a;
        d->arena_cap = c;
    }
    if (2 * (d->n + 1) > d->cap && !dict_rehash(d)) return -1;
    size_t id = d->n++;
    memcpy(d->arena + d->used, s, n);
    d->arena[d->used + n] = '\0';
    d->off[id] = d->used;
    d->len[id] = (uint32_t)n;
    d->hash[id] = h;
    d->used += n + 1;
    size_t mask = d->cap - 1, k = (size_t)h & mask;
    while (d->slot[k]) k = (k + 1) & mask;
    d->slot[k] = (uint32_t)(id + 1);
    return (int64_t)id;
}
