/* bench_dmf.c - 'natgrad bench dmf' (not implemented yet). */
#include "cli.h"
#include "commands.h"

int ng_bench_dmf(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "natgrad bench dmf: not implemented yet\n");
    return NG_EXIT_FAIL;
}
