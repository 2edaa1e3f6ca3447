/* cmd_plot.c - 'natgrad plot' (not implemented yet). */
#include "cli.h"
#include "commands.h"

int ng_cmd_plot(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "natgrad plot: not implemented yet\n");
    return NG_EXIT_FAIL;
}
