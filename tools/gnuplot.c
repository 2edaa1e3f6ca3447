/* gnuplot.c - finding and running gnuplot, quoting for its scripts (see gnuplot.h). */
#include "gnuplot.h"

#include "cli.h"
#include "natgrad.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

char *ng_gnuplot_find(void)
{
    const char *path = getenv("PATH");
    if (!path || !*path) return NULL;
    char *copy = strdup(path);
    if (!copy) return NULL;
    char *save = NULL, *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = ng_cli_asprintf("%s/gnuplot", *d ? d : ".");
        struct stat st;
        /* a directory named gnuplot is executable too */
        if (p && stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) found = p;
        else free(p);
    }
    free(copy);
    return found;
}

/* In a single-quoted gnuplot string only '' is special. */
void ng_gnuplot_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputs("''", f);
        else if ((unsigned char)*s < ' ') fputc(' ', f);
        else fputc(*s, f);
    }
    fputc('\'', f);
}

int ng_gnuplot_run(const char *cmd, const char *gnuplot, const char *script, const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (log) {
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    } else {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    }
    /* a 'pause' in a script must not wait for the terminal */
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    char *argv[] = {(char *)gnuplot, (char *)script, NULL};
    pid_t pid;
    int e = posix_spawn(&pid, gnuplot, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        fprintf(stderr, "natgrad %s: cannot run %s: %s\n", cmd, gnuplot, strerror(e));
        return -1;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "natgrad %s: waiting for gnuplot: %s\n", cmd, strerror(errno));
            return -1;
        }
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

char *ng_gnuplot_last_line(const char *path)
{
    unsigned char *b;
    size_t n;
    if (ng_read_file(path, &b, &n) != NG_OK) return strdup("(no output)");
    while (n && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' ')) n--;
    size_t s = n;
    while (s && b[s - 1] != '\n') s--;
    char *r = malloc(n - s + 1);
    if (r) {
        memcpy(r, b + s, n - s);
        r[n - s] = '\0';
    }
    free(b);
    return r;
}
