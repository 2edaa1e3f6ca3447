/* cmd_data.c - 'natgrad data' (not implemented yet). */
#include "cli.h"
#include "commands.h"

int ng_cmd_data(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "natgrad data: not implemented yet\n");
    return NG_EXIT_FAIL;
}
