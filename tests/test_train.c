/* test_train.c - the training loop (ng_train_run) on a small task whose whole trajectory is
 * known: when rows are logged, limits, checkpoints, exact resume, the settings check,
 * stop requests, evaluation time kept out of the training seconds, and errors. */
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
    int rows;        /* row() calls */
} toy;

static ng_status toy_step(void *self, int64_t k, double *vals)
{
    toy *t = self;
    if (t->fail_at && k + 1 == t->fail_at) return ngi_fail(NG_ENUMERIC, "toy: diverged at step %d", t->fail_at);
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

/* A run cut at step 7 and resumed to 20 ends where the uninterrupted run ends. */
static void test_resume_exact(void)
{
    char *dir = ng_test_path("train_ckpt"), *dir2 = ng_test_path("train_ckpt2");
    char *log = ng_test_path("train_resume.csv");
    remove(log);
    toy a, b, c;
    ng_train_status st;
    NG_CHECK(run_ckpt(&a, 7, 20, 0, dir2, NULL, "lr=0.1\n", &st) == NG_OK);
    NG_CHECK(run_ckpt(&b, 7, 7, 0, dir, log, "lr=0.1\n", &st) == NG_OK);
    NG_CHECK(ng_ckpt_exists(dir));
    NG_CHECK(run_ckpt(&c, 99, 20, 1, dir, log, "lr=0.1\n", &st) == NG_OK); /* seed 99: all from the checkpoint */
    NG_CHECK(st.resumed && st.start_step == 7 && st.step == 20);
    NG_CHECK_MSG(c.x == a.x, "resumed %.17g vs uninterrupted %.17g", c.x, a.x);
    NG_CHECK(!memcmp(&c.rng, &a.rng, sizeof a.rng));
    char *s = slurp(log);
    long steps[16];
    int n = s ? steps_logged(s, steps, 16) : 0;
    long want[] = {0, 4, 7, 8, 12, 16, 20}; /* 7: the end of the first run */
    NG_CHECK(n == 7 && count_lines(s) == 8);
    for (int i = 0; i < n && i < 7; i++) NG_CHECK(steps[i] == want[i]);
    free(s);
    /* resumed at its end: nothing more runs, nothing is logged twice */
    NG_CHECK(run_ckpt(&c, 99, 20, 1, dir, log, "lr=0.1\n", &st) == NG_OK);
    NG_CHECK(st.step == 20 && c.rows == 0);
    s = slurp(log);
    NG_CHECK(s && count_lines(s) == 8);
    free(s);
    free(dir);
    free(dir2);
    free(log);
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
    NG_RUN(test_resume_exact);
    NG_RUN(test_settings_check);
    NG_RUN(test_stop_request);
    NG_RUN(test_errors);
    return ng_test_summary();
}
