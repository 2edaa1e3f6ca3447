/* fuzz_ratings.c - ng_ratings_read (u.data, ratings.dat, ratings.csv: told by the first
 * line) on the bytes as a plain file and gzip-compressed: both must give the same
 * ratings, each id dense and in range, every rating finite. */
#include "ngfuzz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void check(const ng_ratings *r)
{
    if (!r->n || !r->n_users || !r->n_items) ngf_die("ng_ratings_read: accepted no ratings");
    for (size_t k = 0; k < r->n; k++) {
        if (r->user[k] < 0 || (size_t)r->user[k] >= r->n_users || r->item[k] < 0 ||
            (size_t)r->item[k] >= r->n_items)
            ngf_die("ng_ratings_read: rating %zu has an index out of range", k);
        if (!isfinite(r->rating[k])) ngf_die("ng_ratings_read: rating %zu is not finite", k);
    }
}

static int same(const ng_ratings *a, const ng_ratings *b)
{
    return a->n == b->n && a->n_users == b->n_users && a->n_items == b->n_items &&
           !memcmp(a->user, b->user, a->n * sizeof *a->user) &&
           !memcmp(a->item, b->item, a->n * sizeof *a->item) &&
           !memcmp(a->rating, b->rating, a->n * sizeof *a->rating) &&
           !memcmp(a->timestamp, b->timestamp, a->n * sizeof *a->timestamp) &&
           !memcmp(a->user_ids, b->user_ids, a->n_users * sizeof *a->user_ids) &&
           !memcmp(a->item_ids, b->item_ids, a->n_items * sizeof *a->item_ids);
}

int ngf_ratings(const uint8_t *d, size_t n)
{
    const char *plain = ngf_path(0, "ratings.dat"), *gz = ngf_path(1, "ratings.dat.gz");
    ngf_write(plain, d, n);
    ngf_write_gz(gz, d, n);
    ng_ratings a, b;
    /* slack: the 1 MiB read buffer, the first 64 Ki ratings, the id tables */
    ngf_mem_begin();
    ng_status sa = ng_ratings_read(plain, &a);
    ngf_mem_end(ngf_plain_size(d, n), 8 << 20, "ng_ratings_read");
    if (sa) ngf_refused(sa, plain);
    ngf_mem_begin();
    ng_status sb = ng_ratings_read(gz, &b);
    ngf_mem_end(ngf_plain_size(d, n), 9 << 20, "ng_ratings_read (gzip)");
    if (sb) ngf_refused(sb, gz);
    int raw_gz = n >= 2 && d[0] == 0x1f && d[1] == 0x8b;
    if (!raw_gz && (sa == NG_OK) != (sb == NG_OK))
        ngf_die("ng_ratings_read: plain %s, gzip %s", ng_status_name(sa), ng_status_name(sb));
    if (!sa) check(&a);
    if (!sb) check(&b);
    if (!sa && !sb && !raw_gz && !same(&a, &b)) ngf_die("ng_ratings_read: the plain and gzip reads differ");
    if (!sa) ng_ratings_free(&a);
    if (!sb) ng_ratings_free(&b);
    return sa == NG_OK;
}

NGF_TARGET(ngf_ratings)
