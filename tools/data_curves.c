/* data_curves.c - 'natgrad data curves' (not implemented yet). */
#include "cli.h"
#include "commands.h"

int ng_data_curves(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "natgrad data curves: not implemented yet\n");
    return NG_EXIT_FAIL;
}
