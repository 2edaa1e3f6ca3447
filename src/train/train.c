/* train.c - the one training loop (ng_train_run). A task knows its model: one step, one
 * row of metrics, its checkpoint state. The loop knows the run: limits, when to log and
 * checkpoint, resume (its settings check, the log cut back to the checkpoint), the clock
 * (rows are timed apart, so the reported seconds are training time only), progress, stop
 * requests, and what a failure leaves. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

ng_train_params ng_train_default_params(void)
{
    ng_train_params p;
    memset(&p, 0, sizeof p);
    p.steps = 1000;
    p.eval_every = 10;
    p.eval_at_start = 1;
    return p;
}

ng_status ng_train_params_check(const ng_train_params *p)
{
    if (!p) return ngi_fail(NG_EINVAL, "ng_train_run: NULL parameters");
    if (p->steps < 0) return ngi_fail(NG_EINVAL, "ng_train_run: steps = %lld, expected >= 0", (long long)p->steps);
    if (!(p->time_limit >= 0) || !isfinite(p->time_limit))
        return ngi_fail(NG_EINVAL, "ng_train_run: time_limit = %g, expected >= 0", p->time_limit);
    if (p->eval_every < 1)
        return ngi_fail(NG_EINVAL, "ng_train_run: eval_every = %lld, expected >= 1", (long long)p->eval_every);
    if (!(p->eval_seconds >= 0) || !isfinite(p->eval_seconds))
        return ngi_fail(NG_EINVAL, "ng_train_run: eval_seconds = %g, expected >= 0", p->eval_seconds);
    if (p->checkpoint_every < 0)
        return ngi_fail(NG_EINVAL, "ng_train_run: checkpoint_every = %lld, expected >= 0",
                        (long long)p->checkpoint_every);
    if (p->resume && !p->checkpoint) return ngi_fail(NG_EINVAL, "ng_train_run: resume needs a checkpoint directory");
    return NG_OK;
}

int64_t ng_train_step_limit(const ng_train_params *p)
{
    return (p->steps_given || p->time_limit == 0) ? p->steps : 0;
}

/* A time-limited run with the default eval_every: about 20 rows, however long a step is
 * (every 10 steps, a fast optimiser's evaluations would take most of the run). */
double ng_train_eval_seconds(const ng_train_params *p)
{
    if (p->eval_seconds > 0) return p->eval_seconds;
    return (p->time_limit > 0 && !p->eval_every_given) ? p->time_limit / 20 : 0;
}

static ng_status task_check(const ng_task *t)
{
    if (!t || !t->name || !t->step || !t->row || !t->state || !t->state_loaded)
        return ngi_fail(NG_EINVAL, "ng_train_run: the task lacks a name, step, row or state function");
    if ((t->n_cols && !t->cols) || (t->n_step_cols && !t->step_cols))
        return ngi_fail(NG_EINVAL, "ng_train_run: task %s: column names are NULL", t->name);
    return NG_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Everything one run holds: allocated once in run_open, freed in run_close. */
typedef struct {
    const ng_task *task;
    const ng_train_params *p;
    ng_train_status st;
    ng_csv *csv;
    double *line;          /* [step, seconds, row...] as written to the log */
    double *step_vals;     /* task->n_step_cols */
    ng_ckpt_array *arrays; /* the task's state, then the loop's own */
    size_t n_arrays;
    double ckpt_seconds;   /* the loop's own state: training seconds */
    int64_t last_ckpt;     /* step of the last checkpoint written or loaded, -1: none */
    double eval_s;         /* ng_train_eval_seconds: rows every this many seconds; 0 = by steps */
    double next_eval;      /* rows by seconds: the next row is due at this many seconds */
} run;

/* The task's arrays plus the loop's: "train_seconds" and "train_settings" (the settings
 * text as bytes; left out of a load, which reads it apart first to compare). */
static void fill_arrays(run *r)
{
    const ng_task *t = r->task;
    size_t n = t->state(t->self, r->arrays, r->n_arrays);
    const char *s = r->p->settings ? r->p->settings : "";
    r->arrays[n] = ng_ckpt_view("train_seconds", NG_F64, &r->ckpt_seconds, 1, 1, 0, 0);
    r->arrays[n + 1] = ng_ckpt_view("train_settings", NG_U8, (void *)s, 1, strlen(s), 0, 0);
}

/* A failure's message with where the run stopped and what its checkpoint holds: nothing is
 * written after a failed step, row or save, so the last checkpoint stays the last good one.
 * A step is named by the steps done before it, as the log's rows are. */
static ng_status failed(const run *r, ng_status s, const char *what)
{
    char *msg = ngi_strdup(ng_last_error());
    if (!msg) return s;
    long long k = (long long)r->st.step;
    char *where = !strcmp(what, "step") ? ngi_asprintf("stopped after %lld step%s", k, k == 1 ? "" : "s")
                                        : ngi_asprintf("the %s at step %lld failed", what, k);
    const char *dir = r->p->checkpoint;
    if (where && !dir)
        ngi_fail(s, "%s: %s", where, msg);
    else if (where && r->last_ckpt < 0)
        ngi_fail(s, "%s: %s; no checkpoint was written", where, msg);
    else if (where)
        ngi_fail(s, "%s: %s; the last checkpoint (step %lld in %s) is left as it was", where, msg,
                 (long long)r->last_ckpt, dir);
    free(where);
    free(msg);
    return s;
}

static ng_status save(run *r)
{
    r->ckpt_seconds = r->st.seconds;
    fill_arrays(r);
    ng_status s = ng_ckpt_save(r->p->checkpoint, r->task->name, r->st.step, r->arrays, r->n_arrays);
    if (s) return failed(r, s, "checkpoint");
    r->last_ckpt = r->st.step;
    return NG_OK;
}

/* "name A (checkpoint) vs B (now); ..." for every setting that differs ("" if none). */
static char *settings_diff(const char *saved, const char *now);

static ng_status check_settings(run *r)
{
    ng_tensor t;
    memset(&t, 0, sizeof t);
    ng_status s = ng_ckpt_read(r->p->checkpoint, "train_settings", &t);
    if (s) return s;
    size_t n = ng_tensor_count(&t);
    char *saved = ngi_xmalloc(n + 1);
    if (!saved) {
        ng_tensor_free(&t);
        return NG_ENOMEM;
    }
    if (n) memcpy(saved, t.data, n);
    saved[n] = '\0';
    ng_tensor_free(&t);
    char *diff = settings_diff(saved, r->p->settings ? r->p->settings : "");
    free(saved);
    if (!diff) return NG_ENOMEM;
    s = NG_OK;
    if (*diff)
        s = ngi_fail(NG_EMISMATCH, "%s: the checkpoint was made with other settings: %s",
                     r->p->checkpoint, diff);
    free(diff);
    return s;
}

static ng_status resume(run *r)
{
    /* the model first (a load of no arrays checks the MANIFEST and its name), then the
     * settings, then the state */
    ng_status s = ng_ckpt_load(r->p->checkpoint, r->task->name, NULL, NULL, 0);
    if (!s) s = check_settings(r);
    if (s) return s;
    fill_arrays(r);
    int64_t step = 0;
    s = ng_ckpt_load(r->p->checkpoint, r->task->name, &step, r->arrays, r->n_arrays - 1);
    if (s) return s;
    if ((s = r->task->state_loaded(r->task->self))) return s;
    if (step < 0) return ngi_fail(NG_EMISMATCH, "%s: step %lld < 0", r->p->checkpoint, (long long)step);
    r->st.step = r->st.start_step = r->st.row_step = step;
    r->st.seconds = r->ckpt_seconds;
    r->st.resumed = 1;
    r->last_ckpt = step;
    return NG_OK;
}

static int limit_reached(const run *r)
{
    const ng_train_params *p = r->p;
    int64_t steps = ng_train_step_limit(p);
    return (steps > 0 && r->st.step >= steps) ||
           (p->time_limit > 0 && r->st.seconds >= p->time_limit);
}

/* Whether an uninterrupted run has a row at the step this one resumes from: the start's,
 * every eval_every steps and the last step's. A row written on a stop request, or at the
 * end of a shorter run, is not one (the cut on resume drops it, so that the log equals an
 * uninterrupted run's). Rows every eval_seconds depend on the clock: all are kept. */
static int row_due_at_resume(const run *r)
{
    const ng_train_params *p = r->p;
    int64_t k = r->st.step;
    if (r->eval_s > 0) return 1;
    if (k == 0) return p->eval_at_start;
    return k % p->eval_every == 0 || limit_reached(r);
}

static ng_status open_log(run *r)
{
    const ng_task *task = r->task;
    size_t nc = task->n_cols + 2;
    const char **cols = ngi_xmalloc(nc * sizeof *cols);
    if (!cols) return NG_ENOMEM;
    cols[0] = task->counter ? task->counter : "step";
    cols[1] = "seconds";
    for (size_t i = 0; i < task->n_cols; i++) cols[i + 2] = task->cols[i];
    /* a resumed run's log is cut back to the checkpoint's step: rows written after it (by a
     * run killed before its next checkpoint) would otherwise be there twice */
    ng_status s = r->st.resumed
        ? ng_csv_resume(r->p->log, cols, nc, (double)r->st.step, row_due_at_resume(r), &r->csv)
        : ng_csv_open(r->p->log, cols, nc, 0, &r->csv);
    free(cols);
    return s;
}

static ng_status run_open(run *r, const ng_task *task, const ng_train_params *p)
{
    memset(r, 0, sizeof *r);
    r->task = task;
    r->p = p;
    r->last_ckpt = -1;
    r->st.steps = ng_train_step_limit(p);
    r->eval_s = ng_train_eval_seconds(p);
    r->st.row_step = -1;
    r->line = ngi_xcalloc(task->n_cols + 2 + task->n_step_cols + 1, sizeof *r->line);
    r->n_arrays = task->state(task->self, NULL, 0) + 2;
    r->arrays = ngi_xcalloc(r->n_arrays, sizeof *r->arrays);
    if (!r->line || !r->arrays) return NG_ENOMEM;
    r->step_vals = r->line + task->n_cols + 2;
    ng_status s = NG_OK;
    if (p->resume && ng_ckpt_exists(p->checkpoint)) s = resume(r);
    if (s) return s;
    if (p->log) s = open_log(r);
    if (r->eval_s > 0) r->next_eval = (floor(r->st.seconds / r->eval_s) + 1.0) * r->eval_s;
    return s;
}

static void run_close(run *r)
{
    ng_csv_close(r->csv);
    free(r->line);
    free(r->arrays);
}

static ng_status write_row(run *r)
{
    double t0 = now_s();
    ng_status s = r->task->row(r->task->self, r->line + 2);
    r->st.eval_seconds += now_s() - t0;
    if (s) return s;
    r->line[0] = (double)r->st.step;
    r->line[1] = r->st.seconds;
    r->st.row = r->line + 2;
    r->st.row_step = r->st.step;
    return r->csv ? ng_csv_row(r->csv, r->line) : NG_OK;
}

static void progress(run *r)
{
    if (r->p->progress) r->p->progress(r->p->user, &r->st);
}

static int row_due(run *r)
{
    if (r->eval_s <= 0) return r->st.step % r->p->eval_every == 0;
    if (r->st.seconds < r->next_eval) return 0;
    while (r->next_eval <= r->st.seconds) r->next_eval += r->eval_s;
    return 1;
}

/* One step and what follows it; *stop set on a stop request. */
static ng_status one_step(run *r, int *stop)
{
    const ng_train_params *p = r->p;
    double t0 = now_s();
    ng_status s = r->task->step(r->task->self, r->st.step, r->step_vals);
    if (s) return failed(r, s, "step");
    r->st.seconds += now_s() - t0;
    r->st.step++;
    r->st.step_vals = r->step_vals;
    *stop = p->should_stop && p->should_stop(p->user, &r->st);
    int due = row_due(r);
    if (due || *stop || limit_reached(r))
        if ((s = write_row(r))) return failed(r, s, "row");
    progress(r);
    if (p->checkpoint && (*stop || (p->checkpoint_every > 0 && r->st.step % p->checkpoint_every == 0)))
        return save(r);
    return NG_OK;
}

ng_status ng_train_run(const ng_task *task, const ng_train_params *p, ng_train_status *status)
{
    ng_status s = task_check(task);
    if (!s) s = ng_train_params_check(p);
    if (s) return s;
    run r;
    s = run_open(&r, task, p);
    if (!s && !r.st.resumed && p->eval_at_start) {
        s = write_row(&r);
        if (!s) progress(&r);
    }
    int stop = 0;
    while (!s && !stop && !limit_reached(&r)) s = one_step(&r, &stop);
    if (!s && p->checkpoint && r.last_ckpt != r.st.step) s = save(&r);
    r.st.stopped = stop;
    if (status) {
        *status = r.st;
        status->row = status->step_vals = NULL; /* they pointed into the run's buffers */
    }
    run_close(&r);
    return s;
}

/* ------------------------------------------------------------------ settings */

/* The value of `name` in "name=value\n" lines, as a pointer into text (length *len), or
 * NULL when absent. */
static const char *setting(const char *text, const char *name, size_t nlen, size_t *len)
{
    for (const char *l = text; *l;) {
        const char *end = strchr(l, '\n');
        if (!end) end = l + strlen(l);
        const char *eq = memchr(l, '=', (size_t)(end - l));
        if (eq && (size_t)(eq - l) == nlen && !memcmp(l, name, nlen)) {
            *len = (size_t)(end - eq - 1);
            return eq + 1;
        }
        l = *end ? end + 1 : end;
    }
    return NULL;
}

typedef struct {
    char *buf;
    size_t len, cap;
} strbuf;

static int append(strbuf *b, const char *piece)
{
    size_t pl = strlen(piece);
    if (b->len + pl + 1 > b->cap) {
        size_t nc = 2 * (b->cap + pl + 1);
        char *nb = realloc(b->buf, nc);
        if (!nb) return 0;
        b->buf = nb;
        b->cap = nc;
    }
    memcpy(b->buf + b->len, piece, pl + 1);
    b->len += pl;
    return 1;
}

/* For every "name=value" line of `from` that `other` lacks (missing_only) or holds with
 * another value: "name A (checkpoint) vs B (now)", A from the checkpoint's text. */
static int diff_pass(strbuf *b, const char *from, const char *other, int from_is_saved,
                     int missing_only)
{
    for (const char *l = from; *l;) {
        const char *end = strchr(l, '\n');
        if (!end) end = l + strlen(l);
        const char *eq = memchr(l, '=', (size_t)(end - l));
        if (eq) {
            int nlen = (int)(eq - l), vlen = (int)(end - eq - 1);
            size_t olen = 0;
            const char *ov = setting(other, l, (size_t)nlen, &olen);
            int differs = !ov || (!missing_only && ((int)olen != vlen || memcmp(ov, eq + 1, olen)));
            if (differs) {
                const char *mine = eq + 1, *theirs = ov ? ov : "none";
                int tl = ov ? (int)olen : 4;
                char *piece = from_is_saved
                    ? ngi_asprintf("%s%.*s %.*s (checkpoint) vs %.*s (now)", b->len ? "; " : "", nlen, l,
                                   vlen, mine, tl, theirs)
                    : ngi_asprintf("%s%.*s %.*s (checkpoint) vs %.*s (now)", b->len ? "; " : "", nlen, l,
                                   tl, theirs, vlen, mine);
                int ok = piece && append(b, piece);
                free(piece);
                if (!ok) return 0;
            }
        }
        l = *end ? end + 1 : end;
    }
    return 1;
}

static char *settings_diff(const char *saved, const char *now)
{
    strbuf b = {ngi_xmalloc(64), 0, 64};
    if (!b.buf) return NULL;
    b.buf[0] = '\0';
    /* every saved setting that differs or is gone, then those that are new */
    if (!diff_pass(&b, saved, now, 1, 0) || !diff_pass(&b, now, saved, 0, 1)) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}
