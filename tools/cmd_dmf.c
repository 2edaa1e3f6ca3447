/* cmd_dmf.c - 'natgrad dmf' (not implemented yet). */
#include "cli.h"
#include "commands.h"

int ng_cmd_dmf(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "natgrad dmf: not implemented yet\n");
    return NG_EXIT_FAIL;
}
