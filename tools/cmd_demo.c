/* cmd_demo.c - 'natgrad demo' (not implemented yet). */
#include "cli.h"
#include "commands.h"

int ng_cmd_demo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "natgrad demo: not implemented yet\n");
    return NG_EXIT_FAIL;
}
