/* cli.h - what every natgrad subcommand shares: strict option parsing, the resolved
 * configuration banner, the progress line and SIGINT handling. */
#ifndef NG_CLI_H
#define NG_CLI_H

#include "natgrad.h"
#include <stdint.h>
#include <stdio.h>

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
/* getopt_long's messages already name the bad option; this adds the hint. */
int ng_cli_bad_option(const char *cmd);
/* Prints "natgrad CMD: MSG: <ng_last_error()>" and returns NG_EXIT_FAIL. */
int ng_cli_fail(const char *cmd, const char *what);

/* "natgrad 0.1.0 | CMD | seed 1 | BLAS threads 2 (SkylakeX) | OpenMP threads 2 | ..." on
 * stderr (the parenthesis names OpenBLAS's kernel set). */
void ng_cli_banner(const char *cmd, uint64_t seed, const char *extra_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* --threads N: sets BLAS and OpenMP threads (N > 0). */
void ng_cli_set_threads(int n);

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

/* For a subcommand that takes no options or arguments (e.g. 'version'): --help/-h prints
 * `help` to stdout and returns NG_EXIT_OK; an unknown option or a stray argument is a usage
 * error (NG_EXIT_USAGE, named on stderr); returns -1 when there is nothing to handle and
 * the command should run. Usage: int r = ng_cli_no_options(...); if (r >= 0) return r; */
int ng_cli_no_options(const char *cmd, int argc, char **argv, const char *help);

#endif
