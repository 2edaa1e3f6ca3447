/* data_curves.c - 'natgrad data curves': writes the CURVES-like set (src/io/curves.c) as
 * IDX files that the standard directory loader reads. */
#include "cli.h"
#include "commands.h"

#define CMD "data curves"

int ng_data_curves(int argc, char **argv)
{
    const char *out = NULL;
    long n = 20000, n_test = 10000, size = 28, threads = 0;
    uint64_t seed = 0;
    const ng_cli_opt opts[] = {
        {.name = "out", .type = NG_CLI_STR, .dst = &out, .meta = "DIR", .flags = NG_CLI_REQUIRED,
         .help = "output directory, created if missing (required)"},
        {.name = "n", .type = NG_CLI_LONG, .dst = &n, .lo = 1, .hi = 1e8, .meta = "N", .help = "training images"},
        {.name = "n-test", .type = NG_CLI_LONG, .dst = &n_test, .lo = 1, .hi = 1e8, .meta = "N",
         .help = "test images"},
        {.name = "seed", .type = NG_CLI_U64, .dst = &seed, .meta = "S", .help = "random seed"},
        {.name = "size", .type = NG_CLI_LONG, .dst = &size, .lo = 8, .hi = 1024, .meta = "N",
         .help = "image side in pixels"},
        {.name = "threads", .type = NG_CLI_LONG, .dst = &threads, .lo = 0, .hi = 1024, .meta = "N",
         .help = "BLAS and OpenMP threads, 0 = leave as is"},
        NG_CLI_END};
    const ng_cli_opt *tables[] = {opts};
    const ng_cli_spec spec = {
        .name = CMD, .synopsis = "--out DIR [options]", .tables = tables, .n_tables = 1,
        .intro = "Generates CURVES-like images: a smooth curve through three random points drawn\n"
                 "with a soft pen (values in [0,1], stored as u8), written to DIR as\n"
                 "train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte.gz and all-zero label files.\n"
                 "The set depends only on the seed (and sizes): the same seed gives the same files.\n"};
    int rc = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    if (!*out) return ng_cli_usage_error(CMD, "--out needs a directory name");
    if (threads > 0) ng_cli_set_threads((int)threads);
    ng_cli_banner_spec(&spec, NULL);
    double t0 = ng_cli_now();
    if (ng_curves_write_dir(out, (size_t)n, (size_t)n_test, (size_t)size, seed) != NG_OK)
        return ng_cli_fail(CMD, "cannot write the curves set");
    fprintf(stderr, "natgrad " CMD ": wrote %ld + %ld images of %ldx%ld to %s in %.2f s\n", n, n_test,
            size, size, out, ng_cli_now() - t0);
    return NG_EXIT_OK;
}
