/* main.c - the natgrad command-line tool: git-style subcommands. */
#include "cli.h"
#include "commands.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmd_version(int argc, char **argv)
{
    int blas = 0;
    const ng_cli_opt opts[] = {
        {.name = "blas", .type = NG_CLI_FLAG, .dst = &blas,
         .help = "also name OpenBLAS's kernel set and, where it is a generic one\n"
                 "for this CPU, the OPENBLAS_CORETYPE that fits it"},
        NG_CLI_END};
    const ng_cli_opt *tables[] = {opts};
    const ng_cli_spec spec = {.name = "version", .intro = "Print the version.\n", .tables = tables,
                              .n_tables = 1};
    int r = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (r >= 0) return r;
    printf("natgrad %s\n", ng_version());
    if (blas) ng_cli_print_blas();
    return NG_EXIT_OK;
}

static const ng_cli_cmd k_cmds[] = {
    {"demo", "short race of both methods against their baselines on built-in data", ng_cmd_demo},
    {"repro", "reproduce a paper experiment (goldstone-toy)", ng_cmd_repro},
    {"race", "the re-runnable K-FAC vs tuned SGD-Nesterov race (ae)", ng_cmd_race},
    {"dmf", "dynamic Bernoulli matrix factorisation on ratings (train, synth)", ng_cmd_dmf},
    {"ae", "train a deep autoencoder (K-FAC, SGD-Nesterov, Adam)", ng_cmd_ae},
    {"mlp", "train a softmax classifier (K-FAC, SGD-Nesterov, Adam)", ng_cmd_mlp},
    {"dwe", "dynamic word embeddings: corpora (corpus, synth)", ng_cmd_dwe},
    {"data", "generate or inspect data sets (curves, info)", ng_cmd_data},
    {"plot", "draw curves from a CSV log through gnuplot", ng_cmd_plot},
    {"bench", "benchmarks: gemm, ae, dmf", ng_cmd_bench},
    {"version", "print the version", cmd_version},
};
#define NCMDS (sizeof k_cmds / sizeof k_cmds[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: natgrad <command> [options]\n\n"
               "natgrad %s - Goldstone-GD and K-FAC, structure-aware optimisation in C.\n\n"
               "Commands:\n", ng_version());
    for (size_t i = 0; i < NCMDS; i++) fprintf(f, "  %-9s %s\n", k_cmds[i].name, k_cmds[i].summary);
    fprintf(f, "\nRun 'natgrad <command> --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    /* OpenMP threads that spin after a parallel loop steal the cores OpenBLAS's own
     * threads need (measured: 2-thread forward+backward 1.6x slower). libgomp reads
     * OMP_WAIT_POLICY when it loads, before main, so set it and re-execute once. */
    if (!getenv("OMP_WAIT_POLICY") && setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0)
        execv("/proc/self/exe", argv); /* on failure just go on with the default policy */
    if (argc < 2) {
        usage(stderr);
        return NG_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return NG_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) return cmd_version(1, (char *[]){"version", NULL});
    for (size_t i = 0; i < NCMDS; i++)
        if (!strcmp(argv[1], k_cmds[i].name)) return k_cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "natgrad: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return NG_EXIT_USAGE;
}
