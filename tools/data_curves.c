/* data_curves.c - 'natgrad data curves': writes the CURVES-like set (src/curves.c) as
 * IDX files that the standard directory loader reads. */
#include "cli.h"
#include "commands.h"

#include <getopt.h>
#include <string.h>

#define CMD "data curves"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: natgrad data curves --out DIR [options]\n\n"
            "Generates CURVES-like images: a smooth curve through three random points drawn\n"
            "with a soft pen (values in [0,1], stored as u8), written to DIR as\n"
            "train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte.gz and all-zero label files.\n"
            "The set depends only on the seed (and sizes): the same seed gives the same files.\n\n"
            "Options:\n"
            "  --out DIR      output directory, created if missing (required)\n"
            "  --n N          training images (default 20000)\n"
            "  --n-test N     test images (default 10000)\n"
            "  --seed S       random seed (default 0)\n"
            "  --size N       image side in pixels, 8..1024 (default 28)\n"
            "  --threads N    OpenMP/BLAS threads (default: all cores)\n"
            "  -h, --help     show this help and exit\n");
}

int ng_data_curves(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},   {"n", required_argument, NULL, 'n'},
        {"n-test", required_argument, NULL, 't'}, {"seed", required_argument, NULL, 's'},
        {"size", required_argument, NULL, 'z'},  {"threads", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    long n = 20000, n_test = 10000, size = 28, threads = 0;
    uint64_t seed = 0;
    optind = 1;
    opterr = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'n':
            if (!ng_cli_parse_long(CMD, "--n", optarg, 1, 100000000, &n)) return NG_EXIT_USAGE;
            break;
        case 't':
            if (!ng_cli_parse_long(CMD, "--n-test", optarg, 1, 100000000, &n_test)) return NG_EXIT_USAGE;
            break;
        case 's':
            if (!ng_cli_parse_u64(CMD, "--seed", optarg, &seed)) return NG_EXIT_USAGE;
            break;
        case 'z':
            if (!ng_cli_parse_long(CMD, "--size", optarg, 8, 1024, &size)) return NG_EXIT_USAGE;
            break;
        case 'j':
            if (!ng_cli_parse_long(CMD, "--threads", optarg, 1, 1024, &threads)) return NG_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return NG_EXIT_OK;
        default: return ng_cli_bad_option(CMD);
        }
    }
    if (optind < argc) return ng_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!out || !*out) return ng_cli_usage_error(CMD, "missing --out DIR");
    if (threads > 0) ng_cli_set_threads((int)threads);
    ng_cli_banner(CMD, seed, "out %s | n %ld | n-test %ld | size %ld", out, n, n_test, size);
    double t0 = ng_cli_now();
    if (ng_curves_write_dir(out, (size_t)n, (size_t)n_test, (size_t)size, seed) != NG_OK)
        return ng_cli_fail(CMD, "cannot write the curves set");
    fprintf(stderr, "natgrad " CMD ": wrote %ld + %ld images of %ldx%ld to %s in %.2f s\n", n, n_test,
            size, size, out, ng_cli_now() - t0);
    return NG_EXIT_OK;
}
