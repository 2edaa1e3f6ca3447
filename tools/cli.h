/* cli.h - what every natgrad subcommand shares: strict option parsing, the resolved
 * configuration banner, the progress line and SIGINT handling. */
#ifndef NG_CLI_H
#define NG_CLI_H

#include "natgrad.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Exit codes: 0 ok, 1 runtime failure (message on stderr), 2 usage error. */
#define NG_EXIT_OK 0
#define NG_EXIT_FAIL 1
#define NG_EXIT_USAGE 2

/* A subcommand: name, one-line summary, entry point (argv[0] is the subcommand name). */
typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} ng_cli_cmd;

/* Strict number parsing for option values: the whole string must be a number in range.
 * On failure prints "natgrad CMD: invalid value 'X' for --OPT: expected ..." to stderr and
 * returns 0; the caller then exits NG_EXIT_USAGE. */
int ng_cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int ng_cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                        double *out);
int ng_cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
/* Parses "A..B" (inclusive) for seed ranges. */
int ng_cli_parse_range(const char *cmd, const char *opt, const char *s, long *a, long *b);
/* Value must be one of the NULL-terminated choices; returns its index or -1 (message printed). */
int ng_cli_parse_choice(const char *cmd, const char *opt, const char *s, const char *const *choices);

/* Prints "natgrad CMD: MESSAGE\nTry 'natgrad CMD --help'.\n" to stderr; returns NG_EXIT_USAGE. */
int ng_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "natgrad CMD: MSG: <ng_last_error()>" and returns NG_EXIT_FAIL. */
int ng_cli_fail(const char *cmd, const char *what);

/* --threads N: sets BLAS and OpenMP threads (N > 0). */
void ng_cli_set_threads(int n);

/* ---------------------------------------------------------------- option tables
 * Each command describes its options once, in a table of ng_cli_opt; parsing, --help
 * (the default printed is the value the field holds before parsing, which the command
 * takes from the library's *_default_params()), the start-of-run banner and the
 * checkpoint's settings are all made from it. Shared groups (threads and run control,
 * K-FAC, Goldstone-GD, inner optimisers) are tables of their own, listed once in
 * cli_groups.c and appended to a command's table. */
typedef enum {
    NG_CLI_SECTION = 0, /* no option: a heading in --help (help = the title; name may be
                           NULL or ""; an entry with neither name nor help ends a table) */
    NG_CLI_FLAG,        /* int *: set to 1 */
    NG_CLI_STR,         /* const char **: the argument */
    NG_CLI_INT,         /* int *, in [lo, hi] */
    NG_CLI_LONG,        /* long * */
    NG_CLI_SIZE,        /* size_t * */
    NG_CLI_I64,         /* int64_t * */
    NG_CLI_U64,         /* uint64_t * (any value) */
    NG_CLI_DOUBLE,      /* double *, in [lo, hi] */
    NG_CLI_CHOICE       /* int * (never an enum field): index of the argument in choices */
} ng_cli_type;

enum {
    NG_CLI_SETTING = 1u << 0,  /* changes the trajectory: stored in a checkpoint's settings
                                  and compared on resume */
    NG_CLI_REQUIRED = 1u << 1, /* must be given */
    NG_CLI_EARLY = 1u << 2,    /* parsed in a first pass, before the others, so that a
                                  preset (--paper, --optimizer) can set their defaults */
    NG_CLI_NO_DEFAULT = 1u << 3, /* print no [default] in --help (the help says it) */
    NG_CLI_NO_BANNER = 1u << 4   /* leave out of the banner (e.g. --help) */
};

typedef struct {
    const char *name;            /* long option without "--" */
    ng_cli_type type;
    void *dst;
    double lo, hi;               /* range for numbers; lo = hi = 0: the type's whole range */
    const char *const *choices;  /* NG_CLI_CHOICE: NULL-terminated */
    const char *meta;            /* the value's placeholder in --help ("N", "FILE"); NULL:
                                    "a|b|c" for a choice, N or X for a number */
    const char *help;            /* may hold '\n' for more lines */
    unsigned flags;
    int *given;                  /* may be NULL: set to 1 when the option appears */
} ng_cli_opt;
/* The entry that ends a table ({NULL} would do, but clang's -Wmissing-field-initializers
 * warns about it; {0} and this do not). */
#define NG_CLI_END {.name = NULL}
/* Copies a command's own table, built on the stack with its dsts, into the array dst
 * that lives as long as the command's configuration (checked to fit at compile time). */
#define NG_CLI_KEEP_TABLE(dst, table)                                                       \
    do {                                                                                    \
        _Static_assert(sizeof table / sizeof table[0] <= sizeof dst / sizeof dst[0],        \
                       "option table too small");                                          \
        memcpy(dst, table, sizeof table);                                                   \
    } while (0)

/* A command: "natgrad <name>" with its synopsis, a paragraph, the table(s) and a
 * closing paragraph for --help. preset (may be NULL) runs between the two passes. */
typedef struct {
    const char *name;           /* "ae train" */
    const char *synopsis;       /* "[options]" or "--ratings FILE [options]" */
    const char *intro;          /* paragraph(s) under the usage line */
    const char *outro;          /* after the options (exit status, notes), may be NULL */
    const ng_cli_opt *const *tables; /* each ends with an NG_CLI_END entry */
    size_t n_tables;
    void (*preset)(void *ctx);  /* after the NG_CLI_EARLY options are parsed */
    void *ctx;
    int positional;             /* how many positional arguments are allowed */
} ng_cli_spec;

/* Parses argv (argv[0] is the command name) against spec: "--name value", "--name=value"
 * (or an unambiguous prefix of the name). First pass: the NG_CLI_EARLY options, in order;
 * then spec->preset(ctx); then every other option in order (an option given twice: the
 * last counts). --help/-h prints ng_cli_help (after the preset, so it shows the defaults
 * a preset chose) and returns NG_EXIT_OK. Returns -1 to go on, or NG_EXIT_USAGE after
 * printing the error (unknown option, missing or bad value, missing required option,
 * stray argument). Positional arguments (at most spec->positional) are stored in pos[]
 * (may be NULL when 0) and counted in *npos (may be NULL). Uses getopt_long's globals. */
int ng_cli_parse(const ng_cli_spec *spec, int argc, char **argv, const char **pos, int *npos);
/* "usage: natgrad NAME SYNOPSIS", intro, every table ("  --name META  help [default]",
 * the default being the field's current value), then outro. */
void ng_cli_help(FILE *f, const ng_cli_spec *spec);
/* The start-of-run banner on stderr: "natgrad VERSION | NAME | seed S | BLAS threads N
 * (kernels) | OpenMP threads N", then " | name value" for every option (after parsing)
 * except NG_CLI_NO_BANNER ones and unset strings (an option "seed" comes first,
 * right after the command), then " | extra" (extra may be NULL). */
void ng_cli_banner_spec(const ng_cli_spec *spec, const char *extra);
/* "name=value\n" for every NG_CLI_SETTING option, malloc'ed (NULL when out of memory). */
char *ng_cli_settings(const ng_cli_spec *spec);
/* The value of option opt as help, banner and settings print it: flags on/off, a choice
 * by name, numbers in full, doubles in the fewest digits that read back to the same
 * double (so settings compare exactly). Returns buf, or for NG_CLI_STR the string itself
 * ("" when unset). */
const char *ng_cli_format_value(const ng_cli_opt *opt, char *buf, size_t len);

/* ---------------------------------------------------------------- shared option groups
 * Each function fills out[] (room for NG_CLI_GROUP_MAX entries) with a group's options,
 * a section heading first and an NG_CLI_END entry last, and returns the number of entries
 * before that end. The options write into the caller's structs, which must outlive the
 * parse; fill the structs with their defaults before calling (--help prints them).
 * Enum fields are set through ints in a small context (C does not promise enums are
 * int-sized): those options are NG_CLI_EARLY and the group's preset function copies them
 * into the struct; call it from spec->preset. */
#define NG_CLI_GROUP_MAX 40

/* Run control, every training command: --steps --time-limit --eval-every --eval-seconds
 * --log --checkpoint --checkpoint-every --resume into tp, --threads into *threads (apply
 * it with ng_cli_set_threads). None is a setting: they may change on a resume. */
size_t ng_cli_group_run(ng_cli_opt *out, ng_train_params *tp, long *threads);

/* Network optimiser (ae, mlp): --optimizer kfac|sgd-nesterov|adam, --batch --max-batch
 * --lr --mu-max --beta1 --beta2 --eps --eta into p, then the K-FAC options into p->kfac.
 * All settings. ng_cli_net_preset (after the early options): every field but p->kfac
 * from ng_optim_preset_params(kind, preset), so the options that follow override them,
 * and the section's title names where those defaults come from; a given --curvature is
 * copied into p->kfac. */
typedef struct {
    ng_optim_params *p;
    const char *preset;             /* a paper preset (set before ng_cli_net_preset) or NULL */
    int kind, kind_given;           /* --optimizer: index in kfac|sgd-nesterov|adam */
    int curvature, curvature_given; /* --curvature */
    int eta_given;                  /* --eta */
    char section[384];              /* the optimiser section's title */
} ng_cli_net_ctx;
size_t ng_cli_group_net(ng_cli_opt *out, ng_optim_params *p, ng_cli_net_ctx *ctx);
void ng_cli_net_preset(ng_cli_net_ctx *ctx);

/* Goldstone-GD (dmf, repro, dwe): --symmetry --paper --k1 --k2 --rho-scale --gauge-solver
 * --gauge-reset --rotation --gauge-clip --apply-fraction into p (not p->inner: add the
 * inner group for it). All settings. ng_cli_goldstone_preset: --paper applies
 * ng_goldstone_paper_variant(p), then the given --symmetry, --gauge-solver, --rotation
 * are copied into p, so explicit options win in any order. */
typedef struct {
    ng_goldstone_params *p;
    int paper;                          /* --paper */
    int symmetry, symmetry_given;       /* ng_symmetry */
    int gauge_solver, gauge_solver_given; /* ng_gauge_solver */
    int rotation, rotation_given;       /* ng_rotation */
} ng_cli_goldstone_ctx;
size_t ng_cli_group_goldstone(ng_cli_opt *out, ng_goldstone_params *p, ng_cli_goldstone_ctx *ctx);
/* Removes the option called name from a group built above (a command it does not apply to). */
void ng_cli_group_drop(ng_cli_opt *group, const char *name);
void ng_cli_goldstone_preset(ng_cli_goldstone_ctx *ctx);
/* On stderr, when ng_goldstone_interval differs from k1: the interval and why. */
void ng_cli_goldstone_interval_note(const char *cmd, const ng_goldstone *gs);

/* Inner optimiser (dmf, repro, dwe): --optimizer gd|adagrad|adam --lr --lr-sbar --lr-power
 * --grad-clip --beta1 --beta2 --eps into p (e.g. &goldstone_params.inner). All settings.
 * ng_cli_inner_preset: a --optimizer other than p->kind resets *p to
 * ng_inner_default_params(kind) before the explicit options apply (in any order); the
 * same kind keeps the command's defaults. */
typedef struct {
    ng_inner_params *p;
    int kind, kind_given; /* --optimizer: ng_inner_kind */
} ng_cli_inner_ctx;
size_t ng_cli_group_inner(ng_cli_opt *out, ng_inner_params *p, ng_cli_inner_ctx *ctx);
void ng_cli_inner_preset(ng_cli_inner_ctx *ctx);

/* Runs task with ng_train_run under tp, the way every training command does: SIGINT is
 * a stop request (row, checkpoint, exit 130), the progress line shows the step's report
 * and the last row by column name, the checkpoint settings are made from spec's
 * NG_CLI_SETTING options (after tp->settings when the command set some of its own; a
 * resume with other settings is refused, with the differences), "resumed from DIR at
 * step K" and failures are printed. tp's progress, should_stop and user are replaced for
 * the run (tp itself is left as it is). status (may be NULL) gets the end state. Returns
 * NG_EXIT_OK, NG_EXIT_FAIL, 130, or NG_EXIT_USAGE for --resume without --checkpoint. */
int ng_cli_train(const ng_cli_spec *spec, const ng_task *task, ng_train_params *tp,
                 ng_train_status *status);

/* The OpenBLAS kernel set (an OPENBLAS_CORETYPE value) that fits this CPU when OpenBLAS
 * fell back to slower generic kernels, else NULL (also when OPENBLAS_CORETYPE is set).
 * _for: the rule, for OpenBLAS's kernel set core on a CPU with AVX-512 (F, BW, VL, DQ) or
 * AVX2 + FMA. ng_cli_print_blas: the line "OpenBLAS kernels: SET", with the hint, on
 * stdout ('version --blas', 'demo'). */
const char *ng_cli_blas_hint(void);
const char *ng_cli_blas_hint_for(const char *core, int avx512, int avx2);
void ng_cli_print_blas(void);

/* Wall clock in seconds (monotonic). */
double ng_cli_now(void);

/* Progress: on a terminal, one line rewritten in place (\r); otherwise a plain line at
 * most every `plain_every` seconds. ng_progress_done ends the line. */
typedef struct {
    int tty;
    double last, plain_every;
    int active;
} ng_progress;
void ng_progress_init(ng_progress *p, double plain_every);
void ng_progress_update(ng_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ng_progress_force(ng_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ng_progress_done(ng_progress *p);

/* SIGINT: the first Ctrl-C sets a flag (finish the step, checkpoint, exit 130); a second
 * one restores the default handler so a third kills. */
void ng_cli_install_sigint(void);
int ng_cli_interrupted(void);
void ng_cli_request_stop(void); /* what the handler does; for tests */

/* printf into a fresh malloc'ed string (NULL when out of memory). */
char *ng_cli_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Removes a file if it exists (for cleaning up on failure). */
void ng_cli_unlink_quiet(const char *path);

#endif
