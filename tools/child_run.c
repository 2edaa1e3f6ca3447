/* child_run.c - child processes of natgrad itself and their CSV logs (see child_run.h). */
#include "child_run.h"

#include "cli.h"
#include "csv_read.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void ng_child_print_command(char **argv, const char *err_path)
{
    fprintf(stderr, "$ natgrad");
    for (int i = 1; argv[i]; i++) fprintf(stderr, " %s", argv[i]);
    if (err_path) fprintf(stderr, "   (output: %s)", err_path);
    fputc('\n', stderr);
    fflush(stderr);
    fflush(stdout);
}

int ng_child_run_self(const char *cmd, char **argv, int flags)
{
    ng_child_print_command(argv, NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (!(flags & NG_CHILD_KEEP_STDOUT))
            dup2(2, 1); /* the children's summaries go with their progress, not into the table */
        execv("/proc/self/exe", argv);
        fprintf(stderr, "natgrad %s: cannot run itself: %s\n", cmd, strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

pid_t ng_child_spawn_self(char **argv, const char *err_path, int flags)
{
    ng_child_print_command(argv, err_path);
    pid_t pid = fork();
    if (pid == 0) {
        if (flags & NG_CHILD_OWN_GROUP) setpgid(0, 0);
        if (!freopen(err_path, flags & NG_CHILD_APPEND ? "a" : "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(127);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    return pid;
}

void ng_child_wait_all(const pid_t *pid, int *status, int n, const char *what, const char *budget)
{
    ng_progress pr;
    ng_progress_init(&pr, 30.0);
    double t0 = ng_cli_now();
    int left = 0;
    for (int m = 0; m < n; m++) {
        status[m] = -1;
        left += pid[m] > 0;
    }
    while (left > 0) {
        for (int m = 0; m < n; m++) {
            int st;
            if (pid[m] > 0 && status[m] < 0 && waitpid(pid[m], &st, WNOHANG) == pid[m]) {
                status[m] = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
                left--;
            }
        }
        ng_progress_update(&pr, "%s, %.0f s elapsed (budget %s each)", what, ng_cli_now() - t0, budget);
        if (left > 0) usleep(200000);
    }
    ng_progress_done(&pr);
}

int ng_log_read(const char *cmd, const char *path, const char *xcol, const char *vcol, ng_log_pair *l)
{
    const char *names[2] = {xcol, vcol};
    double *cols[2];
    if (!ng_csv_read_columns(cmd, path, names, 2, cols, &l->n)) return 0;
    l->x = cols[0];
    l->v = cols[1];
    return 1;
}

void ng_log_free(ng_log_pair *l)
{
    free(l->x);
    free(l->v);
}

int ng_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ng_log_first_below(const ng_log_pair *l, double thr)
{
    for (size_t r = 0; r < l->n; r++)
        if (l->v[r] < thr) return l->x[r];
    return -1;
}

double ng_log_value_at(const ng_log_pair *l, double s)
{
    double best = NAN;
    for (size_t r = 0; r < l->n; r++)
        if (l->x[r] <= s && !isnan(l->v[r])) best = l->v[r];
    return best;
}

size_t ng_log_row_from(const double *x, size_t n, double s)
{
    size_t r = 0;
    while (r < n && x[r] < s * (1 - 1e-9)) r++;
    return r;
}

char *ng_path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}
