/* cmd_repro.c - 'natgrad repro' (not implemented yet). */
#include "cli.h"
#include "commands.h"

int ng_cmd_repro(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "natgrad repro: not implemented yet\n");
    return NG_EXIT_FAIL;
}
