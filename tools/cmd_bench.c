/* cmd_bench.c - 'natgrad bench gemm|ae|dmf' (gemm: not implemented yet). */
#include "cli.h"
#include "commands.h"

#include <string.h>

int ng_cmd_bench(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "ae")) return ng_bench_ae(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "dmf")) return ng_bench_dmf(argc - 1, argv + 1);
    fprintf(stderr, "natgrad bench: not implemented yet\n");
    return NG_EXIT_FAIL;
}
