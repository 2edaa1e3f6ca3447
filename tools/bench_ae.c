/* bench_ae.c - 'natgrad bench ae' (not implemented yet). */
#include "cli.h"
#include "commands.h"

int ng_bench_ae(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "natgrad bench ae: not implemented yet\n");
    return NG_EXIT_FAIL;
}
