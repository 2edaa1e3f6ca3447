/* child_run.h - running natgrad's own subcommands as child processes and reading back
 * their CSV logs: what 'natgrad demo' and 'natgrad race' share. Every child is exactly a
 * command a user could type, printed before it runs. */
#ifndef NG_CHILD_RUN_H
#define NG_CHILD_RUN_H

#include <stddef.h>
#include <sys/types.h>

/* Shows the command a child runs, as a user would type it ("$ natgrad ..."), on stderr;
 * flushes before a fork. */
void ng_child_print_command(char **argv, const char *err_path);
/* Runs this executable with argv (NULL-terminated, argv[0] "natgrad"), its stdout sent to
 * stderr unless flags has NG_CHILD_KEEP_STDOUT (a child whose answer is part of the
 * summary); returns its exit status, 128 + signal, or -1. cmd names the caller in messages. */
int ng_child_run_self(const char *cmd, char **argv, int flags);
/* Starts this executable with argv, stdout to /dev/null and stderr to err_path; returns the
 * pid or -1. flags: NG_CHILD_APPEND (append to err_path instead of truncating it),
 * NG_CHILD_OWN_GROUP (the child in a process group of its own, so that a Ctrl-C at the
 * terminal reaches only the parent, which decides what the child gets). */
enum { NG_CHILD_APPEND = 1, NG_CHILD_OWN_GROUP = 2, NG_CHILD_KEEP_STDOUT = 4 };
pid_t ng_child_spawn_self(char **argv, const char *err_path, int flags);
/* Waits for the n children pid[] started side by side (a pid <= 0 is not waited for; its
 * status stays -1), showing "WHAT, S s elapsed (budget BUDGET each)" on the progress line
 * meanwhile; status[k]: the exit status, 128 when the child did not exit normally. */
void ng_child_wait_all(const pid_t *pid, int *status, int n, const char *what, const char *budget);

/* Two numeric columns of a run's CSV log: x (step or seconds) and a value. */
typedef struct {
    double *x, *v;
    size_t n;
} ng_log_pair;
/* Reads columns xcol and vcol of the log at path; 1, or 0 with a message printed. */
int ng_log_read(const char *cmd, const char *path, const char *xcol, const char *vcol, ng_log_pair *l);
void ng_log_free(ng_log_pair *l);
/* First x with v < thr, or -1. */
double ng_log_first_below(const ng_log_pair *l, double thr);
/* Last value among rows with x <= s (NaN values skipped); NaN if none. */
double ng_log_value_at(const ng_log_pair *l, double s);
/* The row a race reads at budget s: the first of the n ascending x at or after s (a run
 * with that time limit ends with that step too); n if none. */
size_t ng_log_row_from(const double *x, size_t n, double s);

/* qsort comparison of doubles, ascending. */
int ng_cmp_double(const void *a, const void *b);
/* "dir/name", malloc'ed (NULL when out of memory). */
char *ng_path_in(const char *dir, const char *name);

#endif
