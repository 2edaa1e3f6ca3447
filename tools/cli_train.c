/* cli_train.c - ng_cli_train (see cli.h): what every training command does around
 * ng_train_run, which itself never prints and installs no signal handler: Ctrl-C as a stop
 * request, the progress line, the settings (the command's name and its option tables'
 * settings), the closing message. */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const ng_cli_spec *spec;
    const ng_task *task;
    const char *checkpoint;
    ng_progress prog;
    int said_resumed;
    char line[1024]; /* the last progress line, shown at the end if it was skipped */
    int shown;
} train_ui;

static void say_resumed(train_ui *u, const ng_train_status *s)
{
    if (!s->resumed || u->said_resumed) return;
    u->said_resumed = 1;
    ng_progress_done(&u->prog);
    fprintf(stderr, "natgrad %s: resumed from %s at step %" PRId64 "\n", u->spec->name,
            u->checkpoint, s->start_step);
}

static int listed(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, names[i])) return 1;
    return 0;
}

/* Appends " | name value name value ..." (%.4g) at buf + used, leaving out unknown
 * values and the names in skip (already shown from the step's report). */
static size_t put_values(char *buf, size_t len, size_t used, const char *const *names,
                         const double *v, size_t n, const char *const *skip, size_t nskip)
{
    if (!v || !n || used >= len) return used;
    used += (size_t)snprintf(buf + used, len - used, " |");
    for (size_t i = 0; i < n && used < len; i++)
        if (!isnan(v[i]) && !listed(names[i], skip, nskip))
            used += (size_t)snprintf(buf + used, len - used, " %s %.4g", names[i], v[i]);
    return used;
}

static void on_progress(void *user, const ng_train_status *s)
{
    train_ui *u = user;
    const ng_task *t = u->task;
    say_resumed(u, s);
    char *line = u->line;
    size_t used = (size_t)snprintf(line, sizeof u->line, "step %" PRId64, s->step);
    size_t len = sizeof u->line;
    if (s->steps > 0) used += (size_t)snprintf(line + used, len - used, "/%" PRId64, s->steps);
    if (used < len) used += (size_t)snprintf(line + used, len - used, " | %.1f s", s->seconds);
    used = put_values(line, len, used, t->step_cols, s->step_vals, t->n_step_cols, NULL, 0);
    put_values(line, len, used, t->cols, s->row, t->n_cols, s->step_vals ? t->step_cols : NULL,
               s->step_vals ? t->n_step_cols : 0);
    double before = u->prog.last;
    ng_progress_update(&u->prog, "%s %s", u->spec->name, line);
    u->shown = u->prog.last != before;
}

static int on_should_stop(void *user, const ng_train_status *s)
{
    (void)user;
    (void)s;
    return ng_cli_interrupted();
}

int ng_cli_train(const ng_cli_spec *spec, const ng_task *task, ng_train_params *tp,
                 ng_train_status *status)
{
    const char *cmd = spec->name;
    if (tp->resume && !tp->checkpoint) return ng_cli_usage_error(cmd, "--resume needs --checkpoint DIR");
    /* the command, then settings the command set itself (not in its tables), then the
     * tables' */
    char *own = ng_cli_settings(spec);
    char *settings = own ? ng_cli_asprintf("command=%s\n%s%s", cmd, tp->settings ? tp->settings : "", own) : NULL;
    free(own);
    if (!settings) {
        fprintf(stderr, "natgrad %s: out of memory\n", cmd);
        return NG_EXIT_FAIL;
    }
    train_ui u;
    memset(&u, 0, sizeof u);
    u.spec = spec;
    u.task = task;
    u.checkpoint = tp->checkpoint;
    ng_progress_init(&u.prog, 10.0);
    ng_train_params p = *tp;
    p.settings = settings;
    p.progress = on_progress;
    p.should_stop = on_should_stop;
    p.user = &u;
    ng_cli_install_sigint();
    /* past a file-size limit (ulimit -f), a write fails with EFBIG and the run ends with
     * that message and its last checkpoint intact, instead of being killed by SIGXFSZ */
    signal(SIGXFSZ, SIG_IGN);
    ng_train_status st;
    memset(&st, 0, sizeof st);
    ng_status s = ng_train_run(task, &p, &st);
    if (u.line[0] && !u.shown) ng_progress_force(&u.prog, "%s %s", cmd, u.line); /* the end state */
    ng_progress_done(&u.prog);
    free(settings);
    if (status) *status = st;
    if (s) {
        fprintf(stderr, "natgrad %s: %s\n", cmd, ng_last_error());
        return NG_EXIT_FAIL;
    }
    say_resumed(&u, &st);
    if (st.stopped) {
        if (tp->checkpoint)
            fprintf(stderr, "natgrad %s: interrupted at step %" PRId64 "; checkpoint written to %s "
                            "(continue with --resume)\n", cmd, st.step, tp->checkpoint);
        else
            fprintf(stderr, "natgrad %s: interrupted at step %" PRId64 "; no --checkpoint, nothing "
                            "saved\n", cmd, st.step);
        return 130;
    }
    fprintf(stderr, "natgrad %s: done after %" PRId64 " steps, %.1f s of training\n", cmd, st.step,
            st.seconds);
    return NG_EXIT_OK;
}
