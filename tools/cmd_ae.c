/* cmd_ae.c - 'natgrad ae' (not implemented yet). */
#include "cli.h"
#include "commands.h"

int ng_cmd_ae(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "natgrad ae: not implemented yet\n");
    return NG_EXIT_FAIL;
}

int ng_cmd_mlp(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "natgrad mlp: not implemented yet\n");
    return NG_EXIT_FAIL;
}
