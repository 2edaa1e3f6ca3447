/* test_train.c - the training loop (ng_train_run) on a small task whose whole trajectory is
 * known: when rows are logged, limits, checkpoints, exact resume (the log cut back to the
 * checkpoint, so that it equals an uninterrupted run's), the settings check, stop requests,
 * evaluation time kept out of the training seconds, divergence, damaged checkpoints and
 * errors. */
#include "internal.h"
#include "ngtest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* x <- 0.5 x + u, u uniform from the task's own RNG: a resume must restore both. */
typedef struct {
    double x;
    ng_rng rng;
    int fail_at;     /* step() fails on this step (1-based), 0: never */
    double row_sleep; /* seconds row() sleeps */
    double step_sleep; /* seconds step() sleeps */
    int rows;        /* row() calls */
} toy;

static ng_status toy_step(void *self, int64_t k, double *vals)
{
    toy *t = self;
    if (t->fail_at && k + 1 == t->fail_at) return ngi_fail(NG_ENUMERIC, "toy: diverged at step %d", t->fail_at);
    if (t->step_sleep > 0) {
        struct timespec ts = {0, (long)(t->step_sleep * 1e9)};
        nanosleep(&ts, NULL);
    }
    t->x = 0.5 * t->x + ng_rng_uniform(&t->rng);
    vals[0] = t->x;
    return NG_OK;
}

static ng_status toy_row(void *self, double *vals)
{
    toy *t = self;
    t->rows++;
    if (t->row_sleep > 0) {
        struct timespec ts = {0, (long)(t->row_sleep * 1e9)};
        nanosleep(&ts, NULL);
    }
    vals[0] = t->x;
    vals[1] = t->x * t->x;
    return NG_OK;
}

static size_t toy_state(void *self, ng_ckpt_array *a, size_t cap)
{
    toy *t = self;
    if (a && cap >= 2) {
        memset(a, 0, 2 * sizeof *a);
        a[0].name = "x";
        a[0].t.dtype = NG_F64;
        a[0].t.ndim = 1;
        a[0].t.shape[0] = 1;
        a[0].t.data = &t->x;
        a[1].name = "rng";
        a[1].t.dtype = NG_U8;
        a[1].t.ndim = 1;
        a[1].t.shape[0] = sizeof t->rng;
        a[1].t.data = &t->rng;
    }
    return 2;
}

static ng_status toy_loaded(void *self)
{
    toy *t = self;
    return isfinite(t->x) ? NG_OK : ngi_fail(NG_EMISMATCH, "toy: x is not finite");
}

static const char *const k_cols[] = {"x", "x2"};
static const char *const k_step_cols[] = {"x"};

static ng_task toy_task(toy *t, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    ng_rng_seed(&t->rng, seed);
    ng_task k = {"toy", "step", k_cols, 2, k_step_cols, 1, toy_step, toy_row, toy_state, toy_loaded, t};
    return k;
}

/* The log as text (malloc'ed), or NULL. */
static char *slurp(const char *path)
{
    unsigned char *b;
    size_t n;
    if (ng_read_file(path, &b, &n)) return NULL;
    char *s = realloc(b, n + 1);
    if (s) s[n] = '\0';
    return s;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* The first field of every line after the header. */
static int steps_logged(const char *s, long *out, int cap)
{
    int n = 0;
    const char *l = strchr(s, '\n');
    while (l && l[1] && n < cap) {
        out[n++] = strtol(l + 1, NULL, 10);
        l = strchr(l + 1, '\n');
    }
    return n;
}

static void test_rows_and_limits(void)
{
    toy t;
    ng_task k = toy_task(&t, 1);
    char *log = ng_test_path("train_rows.csv");
    remove(log);
    ng_train_params p = ng_train_default_params();
    p.steps = 23;
    p.eval_every = 5;
    p.log = log;
    ng_train_status st;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    NG_CHECK(st.step == 23 && !st.stopped && !st.resumed);
    char *s = slurp(log);
    NG_CHECK(s && !strncmp(s, "step,seconds,x,x2\n", 18));
    long steps[16];
    int n = s ? steps_logged(s, steps, 16) : 0;
    long want[] = {0, 5, 10, 15, 20, 23}; /* the start, every 5th step and the last */
    NG_CHECK(n == 6);
    for (int i = 0; i < n && i < 6; i++) NG_CHECK(steps[i] == want[i]);
    NG_CHECK(t.rows == 6);
    free(s);
    /* no row at the start when asked so */
    toy t2;
    k = toy_task(&t2, 1);
    p.eval_at_start = 0;
    p.log = NULL;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    NG_CHECK(t2.rows == 5 && t2.x == t.x); /* same trajectory, one row fewer */
    free(log);
}

static void test_time_limit_and_eval_time(void)
{
    toy t;
    ng_task k = toy_task(&t, 2);
    ng_train_params p = ng_train_default_params();
    p.steps = 0;          /* no step limit: the time limit ends the run */
    p.time_limit = 1e-12; /* reached after the first step */
    ng_train_status st;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    NG_CHECK(st.step == 1);
    /* rows that take 20 ms each are not training time */
    toy t2;
    k = toy_task(&t2, 2);
    t2.row_sleep = 0.02;
    p = ng_train_default_params();
    p.steps = 4;
    p.eval_every = 1;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    NG_CHECK(t2.rows == 5);
    NG_CHECK(st.eval_seconds >= 5 * 0.02 * 0.9);
    NG_CHECK_MSG(st.seconds < 0.02, "training seconds %g include the rows' time", st.seconds);
}

/* One rule for when rows come: eval_seconds when set; else, with a time limit and the
 * default eval_every, every time_limit/20 seconds; else every eval_every steps. A
 * time-limited run of slow steps then logs a row at (nearly) every step, where the
 * default every 10 steps would give the start's and the last only. */
static void test_eval_rows_rule(void)
{
    ng_train_params p = ng_train_default_params();
    NG_CHECK(ng_train_eval_seconds(&p) == 0 && !p.eval_every_given);
    p.time_limit = 2;
    NG_CHECK(ng_train_eval_seconds(&p) == 0.1);
    p.eval_seconds = 0.5;
    NG_CHECK(ng_train_eval_seconds(&p) == 0.5);
    p.eval_seconds = 0;
    p.eval_every_given = 1;
    NG_CHECK(ng_train_eval_seconds(&p) == 0);
    for (int given = 0; given < 2; given++) {
        toy t;
        ng_task k = toy_task(&t, 3);
        t.step_sleep = 0.02;
        p = ng_train_default_params();
        p.time_limit = 0.2; /* rows every 0.01 s of training, so after every step */
        p.eval_every_given = given;
        ng_train_status st;
        NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
        if (given)
            NG_CHECK_MSG(t.rows <= st.step / 10 + 2, "eval_every given: %d rows in %lld steps", t.rows,
                         (long long)st.step);
        else
            NG_CHECK_MSG(st.step >= 2 && t.rows >= st.step, "time limit alone: %d rows in %lld steps, expected one per step",
                         t.rows, (long long)st.step);
    }
}

/* should_stop: a stop request once *user steps are done */
static int stop_at(void *user, const ng_train_status *s) { return s->step >= *(const int64_t *)user; }

/* One rule for the run's length: the step limit applies when it was given or when there is
 * no time limit. A run with a time limit and the default steps goes past the default
 * count (a stop request ends it half as many steps later; the time limit is never
 * reached); without a time limit the default count ends it; given steps apply with a time
 * limit too. */
static void test_step_limit_rule(void)
{
    const ng_train_params d = ng_train_default_params();
    NG_CHECK(d.steps > 0 && !d.steps_given && d.time_limit == 0);
    const int64_t past = d.steps + d.steps / 2;
    toy t;
    ng_task k = toy_task(&t, 9);
    ng_train_params p = d;
    p.time_limit = 1e6;
    p.eval_every = 1000000;
    p.should_stop = stop_at;
    p.user = (void *)&past;
    ng_train_status st;
    NG_CHECK(ng_train_step_limit(&p) == 0);
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    NG_CHECK_MSG(st.step == past && st.stopped && st.steps == 0,
                 "time limit, default steps: ended at step %lld (limit %lld, stopped %d), expected the stop request at %lld",
                 (long long)st.step, (long long)st.steps, st.stopped, (long long)past);
    /* neither given: the default count */
    k = toy_task(&t, 9);
    p.time_limit = 0;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    NG_CHECK_MSG(st.step == d.steps && !st.stopped && st.steps == d.steps, "no time limit: ended at step %lld",
                 (long long)st.step);
    /* steps given: they apply with the time limit too */
    k = toy_task(&t, 9);
    p.time_limit = 1e6;
    p.steps = 7;
    p.steps_given = 1;
    NG_CHECK(ng_train_step_limit(&p) == 7);
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    NG_CHECK(st.step == 7 && !st.stopped && st.steps == 7);
    /* --steps 0 given: no step limit, the time limit (or a stop) ends the run */
    k = toy_task(&t, 9);
    p.steps = 0;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    NG_CHECK(st.step == past && st.stopped);
}

static ng_status run_ckpt(toy *t, uint64_t seed, int64_t steps, int resume, const char *dir,
                          const char *log, const char *settings, ng_train_status *st)
{
    ng_task k = toy_task(t, seed);
    ng_train_params p = ng_train_default_params();
    p.steps = steps;
    p.eval_every = 4;
    p.checkpoint = dir;
    p.checkpoint_every = 3;
    p.resume = resume;
    p.log = log;
    p.settings = settings;
    return ng_train_run(&k, &p, st);
}

/* The log without its seconds column (the one column that is a clock). */
static char *untimed(const char *text)
{
    char *out = malloc(strlen(text) + 1), *o = out;
    for (const char *l = text; *l;) {
        const char *c1 = strchr(l, ','), *nl = strchr(l, '\n');
        if (!nl) nl = l + strlen(l);
        const char *c2 = c1 && c1 < nl ? strchr(c1 + 1, ',') : NULL;
        if (!c2 || c2 > nl) c2 = nl;
        memcpy(o, l, (size_t)(c1 && c1 < nl ? c1 - l : nl - l));
        o += c1 && c1 < nl ? c1 - l : nl - l;
        memcpy(o, c2, (size_t)(nl - c2));
        o += nl - c2;
        if (*nl) *o++ = '\n';
        l = *nl ? nl + 1 : nl;
    }
    *o = '\0';
    return out;
}

static int same_log(const char *a, const char *b)
{
    char *sa = slurp(a), *sb = slurp(b);
    char *ua = sa ? untimed(sa) : NULL, *ub = sb ? untimed(sb) : NULL;
    int same = ua && ub && !strcmp(ua, ub);
    if (!same) fprintf(stderr, "  logs differ:\n%s  vs\n%s", ua ? ua : "(none)\n", ub ? ub : "(none)\n");
    free(sa);
    free(sb);
    free(ua);
    free(ub);
    return same;
}

static void copy_dir(const char *from, const char *to)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", to, from, to);
    if (system(cmd) != 0) fprintf(stderr, "  (%s failed)\n", cmd);
}

static void rm_dir(const char *d)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.tmp' '%s.old'", d, d, d);
    if (system(cmd) != 0) fprintf(stderr, "  (%s failed)\n", cmd);
}

/* A run cut at step 7 and resumed to 20 ends where the uninterrupted run ends, and its log
 * is the uninterrupted run's (the row at 7, the end of the first run, goes on resume). */
static void test_resume_exact(void)
{
    char *dir = ng_test_path("train_ckpt"), *dir2 = ng_test_path("train_ckpt2");
    char *log = ng_test_path("train_resume.csv"), *log2 = ng_test_path("train_straight.csv");
    rm_dir(dir);
    rm_dir(dir2);
    remove(log);
    toy a, b, c;
    ng_train_status st;
    NG_CHECK(run_ckpt(&a, 7, 20, 0, dir2, log2, "lr=0.1\n", &st) == NG_OK);
    NG_CHECK(run_ckpt(&b, 7, 7, 0, dir, log, "lr=0.1\n", &st) == NG_OK);
    NG_CHECK(ng_ckpt_exists(dir));
    char *s = slurp(log);
    NG_CHECK(s && count_lines(s) == 4); /* 0, 4 and 7, the end of that run */
    free(s);
    NG_CHECK(run_ckpt(&c, 99, 20, 1, dir, log, "lr=0.1\n", &st) == NG_OK); /* seed 99: all from the checkpoint */
    NG_CHECK(st.resumed && st.start_step == 7 && st.step == 20);
    NG_CHECK_MSG(c.x == a.x, "resumed %.17g vs uninterrupted %.17g", c.x, a.x);
    NG_CHECK(!memcmp(&c.rng, &a.rng, sizeof a.rng));
    s = slurp(log);
    long steps[16];
    int n = s ? steps_logged(s, steps, 16) : 0;
    long want[] = {0, 4, 8, 12, 16, 20};
    NG_CHECK(n == 6 && count_lines(s) == 7);
    for (int i = 0; i < n && i < 6; i++) NG_CHECK(steps[i] == want[i]);
    free(s);
    NG_CHECK(same_log(log, log2));
    /* resumed at its end: nothing more runs, nothing is logged twice, the last row stays */
    NG_CHECK(run_ckpt(&c, 99, 20, 1, dir, log, "lr=0.1\n", &st) == NG_OK);
    NG_CHECK(st.step == 20 && c.rows == 0);
    NG_CHECK(same_log(log, log2));
    free(dir);
    free(dir2);
    free(log);
    free(log2);
}

/* A run killed after its checkpoint at 9 had logged rows 10 and 12 (it got as far as the
 * log, not the checkpoint at 12): the resume cuts them and the log ends as the
 * uninterrupted run's. Killed while a row was being written, a torn row goes too. */
static void test_resume_cuts_log(void)
{
    char *dir = ng_test_path("train_cut"), *keep = ng_test_path("train_cut_at9");
    char *log = ng_test_path("train_cut.csv"), *log2 = ng_test_path("train_cut_straight.csv");
    rm_dir(dir);
    remove(log);
    toy a, b;
    ng_train_status st;
    ng_task k = toy_task(&a, 11);
    ng_train_params p = ng_train_default_params();
    p.steps = 20;
    p.eval_every = 2;
    p.log = log2;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    k = toy_task(&b, 11);
    p.steps = 9;
    p.log = log;
    p.checkpoint = dir;
    p.checkpoint_every = 3;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    copy_dir(dir, keep);
    p.steps = 13;
    p.resume = 1;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK && st.step == 13);
    copy_dir(keep, dir); /* as if killed before the checkpoint at 12 */
    FILE *f = fopen(log, "ab");
    if (f) {
        fputs("14,0.1,0.", f); /* and in the middle of a row */
        fclose(f);
    }
    toy c;
    k = toy_task(&c, 99);
    p.steps = 20;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    NG_CHECK(st.start_step == 9 && st.step == 20 && c.x == a.x);
    NG_CHECK(same_log(log, log2));
    rm_dir(keep);
    free(dir);
    free(keep);
    free(log);
    free(log2);
}
static void test_settings_check(void)
{
    char *dir = ng_test_path("train_settings");
    toy a;
    ng_train_status st;
    NG_CHECK(run_ckpt(&a, 3, 5, 0, dir, NULL, "lr=0.1\nk1=50\nseed=3\n", &st) == NG_OK);
    NG_CHECK(run_ckpt(&a, 3, 9, 1, dir, NULL, "lr=0.2\nk1=50\nseed=3\nrho=4\n", &st) == NG_EMISMATCH);
    const char *e = ng_last_error();
    NG_CHECK_MSG(strstr(e, "lr 0.1 (checkpoint) vs 0.2 (now)") && strstr(e, "rho none (checkpoint) vs 4 (now)") &&
                     !strstr(e, "k1") && !strstr(e, "seed"),
                 "message: %s", e);
    NG_CHECK(run_ckpt(&a, 3, 9, 1, dir, NULL, "k1=50\nseed=3\n", &st) == NG_EMISMATCH);
    NG_CHECK_MSG(strstr(ng_last_error(), "lr 0.1 (checkpoint) vs none (now)"), "message: %s", ng_last_error());
    /* the same settings in another order resume */
    NG_CHECK(run_ckpt(&a, 3, 9, 1, dir, NULL, "seed=3\nk1=50\nlr=0.1\n", &st) == NG_OK);
    NG_CHECK(st.resumed && st.step == 9);
    /* another model's checkpoint */
    ng_task k = toy_task(&a, 3);
    k.name = "other";
    ng_train_params p = ng_train_default_params();
    p.checkpoint = dir;
    p.resume = 1;
    p.settings = "seed=3\nk1=50\nlr=0.1\n";
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_EMISMATCH);
    free(dir);
}

static int stop_at_6(void *user, const ng_train_status *s)
{
    (void)user;
    return s->step == 6 && s->step_vals != NULL;
}

static int progress_calls;
static void count_progress(void *user, const ng_train_status *s)
{
    (void)user;
    (void)s;
    progress_calls++;
}

static int stop_at_7(void *user, const ng_train_status *s)
{
    (void)user;
    return s->step == 7;
}

/* Ctrl-C at step 7 writes a row there (not one of every 4th); the resume cuts it. */
static void test_stop_row_cut(void)
{
    char *dir = ng_test_path("train_stop_cut"), *log = ng_test_path("train_stop_cut.csv");
    char *log2 = ng_test_path("train_stop_straight.csv");
    rm_dir(dir);
    toy a, b;
    ng_train_status st;
    NG_CHECK(run_ckpt(&a, 12, 16, 0, NULL, log2, NULL, &st) == NG_OK);
    ng_task k = toy_task(&b, 12);
    ng_train_params p = ng_train_default_params();
    p.steps = 16;
    p.eval_every = 4;
    p.log = log;
    p.checkpoint = dir;
    p.should_stop = stop_at_7;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK && st.stopped && st.step == 7 && st.row_step == 7);
    char *s = slurp(log);
    NG_CHECK(s && count_lines(s) == 4); /* 0, 4 and the stop's 7 */
    free(s);
    p.should_stop = NULL;
    p.resume = 1;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK && st.step == 16 && b.x == a.x);
    NG_CHECK(same_log(log, log2));
    free(dir);
    free(log);
    free(log2);
}

/* Rows every S seconds depend on the clock: which steps have rows cannot be the same in a
 * resumed run. What holds: the rows up to the checkpoint stay as they were, those after it
 * go, and the log's steps increase strictly (no row twice). */
static void test_resume_time_rows(void)
{
    char *dir = ng_test_path("train_time_rows"), *log = ng_test_path("train_time_rows.csv");
    rm_dir(dir);
    remove(log);
    toy a;
    ng_train_status st;
    ng_task k = toy_task(&a, 13);
    ng_train_params p = ng_train_default_params();
    p.steps = 30;
    p.eval_seconds = 1e-7;
    p.log = log;
    p.checkpoint = dir;
    p.checkpoint_every = 10;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    char *before = slurp(log);
    /* back to the checkpoint at 20: a run killed between 20 and 30 */
    p.steps = 20;
    k = toy_task(&a, 13);
    rm_dir(dir);
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK && st.step == 20);
    FILE *f = fopen(log, "wb");
    if (f && before) fputs(before, f); /* the 30-step log again */
    if (f) fclose(f);
    p.steps = 30;
    p.resume = 1;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK && st.start_step == 20 && st.step == 30);
    char *after = slurp(log);
    long s1[64], s2[64];
    int n1 = before ? steps_logged(before, s1, 64) : 0, n2 = after ? steps_logged(after, s2, 64) : 0;
    int i1 = 0;
    while (i1 < n1 && s1[i1] <= 20) i1++;
    NG_CHECK(i1 > 0 && n2 >= i1);
    /* the rows up to 20 are the same lines */
    const char *e1 = before, *e2 = after;
    for (int i = 0; i <= i1 && e1 && e2; i++) {
        e1 = strchr(e1, '\n');
        e2 = strchr(e2, '\n');
        if (e1) e1++;
        if (e2) e2++;
    }
    NG_CHECK(e1 && e2 && e1 - before == e2 - after && !memcmp(before, after, (size_t)(e1 - before)));
    int increasing = 1;
    for (int i = 1; i < n2; i++) increasing &= s2[i] > s2[i - 1];
    NG_CHECK(increasing && s2[n2 - 1] == 30);
    free(before);
    free(after);
    free(dir);
    free(log);
}

static void test_stop_request(void)
{
    char *dir = ng_test_path("train_stop");
    toy t;
    ng_task k = toy_task(&t, 4);
    ng_train_params p = ng_train_default_params();
    p.steps = 100;
    p.eval_every = 50;
    p.checkpoint = dir;
    p.should_stop = stop_at_6;
    p.progress = count_progress;
    progress_calls = 0;
    ng_train_status st;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_OK);
    NG_CHECK(st.stopped && st.step == 6 && st.row_step == 6);
    NG_CHECK(t.rows == 2);             /* the start and the stop */
    NG_CHECK(progress_calls == 1 + 6); /* after the start row and every step */
    int64_t step = -1;
    toy back;
    toy_task(&back, 0);
    ng_ckpt_array arr[2];
    toy_state(&back, arr, 2);
    NG_CHECK(ng_ckpt_load(dir, "toy", &step, arr, 2) == NG_OK);
    NG_CHECK(step == 6 && back.x == t.x);
    free(dir);
}

/* A step that fails (diverges) stops the run with the step and the message, and the last
 * checkpoint is the one before: nothing is written after a failure. */
static void test_divergence_keeps_checkpoint(void)
{
    char *dir = ng_test_path("train_diverge");
    rm_dir(dir);
    toy a, t;
    ng_train_status st;
    NG_CHECK(run_ckpt(&a, 14, 6, 0, NULL, NULL, NULL, &st) == NG_OK);
    ng_task k = toy_task(&t, 14);
    t.fail_at = 8;
    ng_train_params p = ng_train_default_params();
    p.steps = 20;
    p.checkpoint = dir;
    p.checkpoint_every = 3;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_ENUMERIC);
    const char *e = ng_last_error();
    NG_CHECK_MSG(strstr(e, "stopped after 7 steps: toy: diverged at step 8") &&
                     strstr(e, "the last checkpoint (step 6 in") && strstr(e, "is left as it was"),
                 "%s", e);
    toy back;
    toy_task(&back, 0);
    ng_ckpt_array arr[2];
    toy_state(&back, arr, 2);
    int64_t step = -1;
    NG_CHECK(ng_ckpt_load(dir, "toy", &step, arr, 2) == NG_OK);
    NG_CHECK(step == 6 && back.x == a.x);
    /* before any checkpoint: said so */
    rm_dir(dir);
    k = toy_task(&t, 14);
    t.fail_at = 2;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_ENUMERIC);
    NG_CHECK_MSG(strstr(ng_last_error(), "stopped after 1 step: toy") && strstr(ng_last_error(), "no checkpoint was written"),
                 "%s", ng_last_error());
    NG_CHECK(!ng_ckpt_exists(dir));
    free(dir);
}

/* A checkpoint whose bytes were overwritten is refused on resume, naming the array, and
 * the task's state is untouched; another model's checkpoint is refused for its model
 * before its settings are compared. */
static void test_damaged_checkpoint_refused(void)
{
    char *dir = ng_test_path("train_damaged");
    rm_dir(dir);
    toy a, b;
    ng_train_status st;
    NG_CHECK(run_ckpt(&a, 15, 6, 0, dir, NULL, "lr=0.1\n", &st) == NG_OK);
    char *xp = malloc(strlen(dir) + 8);
    sprintf(xp, "%s/x.npy", dir);
    FILE *f = fopen(xp, "r+b");
    if (f) {
        fseek(f, -8, SEEK_END);
        fputs("\x7f\x7f\x7f\x7f", f); /* the value of x overwritten */
        fclose(f);
    }
    ng_task k = toy_task(&b, 16);
    double x0 = b.x;
    ng_train_params p = ng_train_default_params();
    p.steps = 10;
    p.checkpoint = dir;
    p.resume = 1;
    p.settings = "lr=0.1\n";
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_EFORMAT);
    NG_CHECK_MSG(strstr(ng_last_error(), "array 'x' is damaged"), "%s", ng_last_error());
    NG_CHECK(b.x == x0 && b.rows == 0);
    k.name = "other";
    p.settings = "lr=0.5\n";
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_EMISMATCH);
    NG_CHECK_MSG(strstr(ng_last_error(), "checkpoint is for model toy, expected other"), "%s", ng_last_error());
    free(xp);
    free(dir);
}

static void test_errors(void)
{
    toy t;
    ng_task k = toy_task(&t, 5);
    t.fail_at = 3;
    ng_train_params p = ng_train_default_params();
    ng_train_status st;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_ENUMERIC);
    NG_CHECK(strstr(ng_last_error(), "diverged at step 3") != NULL);
    t.fail_at = 0;
    p.eval_every = 0;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_EINVAL);
    p = ng_train_default_params();
    p.resume = 1;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_EINVAL); /* resume without a directory */
    p = ng_train_default_params();
    p.time_limit = NAN;
    NG_CHECK(ng_train_run(&k, &p, &st) == NG_EINVAL);
    ng_task bad = k;
    bad.row = NULL;
    p = ng_train_default_params();
    NG_CHECK(ng_train_run(&bad, &p, &st) == NG_EINVAL);
}

int main(void)
{
    NG_RUN(test_rows_and_limits);
    NG_RUN(test_time_limit_and_eval_time);
    NG_RUN(test_step_limit_rule);
    NG_RUN(test_eval_rows_rule);
    NG_RUN(test_resume_exact);
    NG_RUN(test_resume_cuts_log);
    NG_RUN(test_stop_row_cut);
    NG_RUN(test_resume_time_rows);
    NG_RUN(test_settings_check);
    NG_RUN(test_stop_request);
    NG_RUN(test_divergence_keeps_checkpoint);
    NG_RUN(test_damaged_checkpoint_refused);
    NG_RUN(test_errors);
    return ng_test_summary();
}
