/* cmd_race.c - 'natgrad race ae': the K-FAC against SGD-Nesterov race on the deep
 * autoencoders as one re-runnable protocol (docs/kfac.md, "The race protocol").
 *
 * Every run is a child 'natgrad ae train' (1 thread, its own CSV log and checkpoint,
 * --time-limit = the longest budget), J at a time. SGD-Nesterov is tuned at the race's own
 * horizon: every grid point runs the longest budget with seed 1 and, for each budget, SGD's
 * entry is the grid point with the lowest training error at that budget in those logs; a
 * winner on the edge of the grid adds one point beyond it (once per direction), then the
 * winners run every seed. K-FAC with the paper's constants runs every seed; other K-FAC
 * settings are rows of their own, tuned the same way. Both report the better of the
 * current and the Polyak-averaged iterate on the full training and test sets.
 *
 * Resumable: DIR/plan.txt pins the settings; a complete log is skipped, an incomplete run
 * resumes from its checkpoint; a lock on DIR/.lock (held by the children too) keeps two
 * races, or a race and the runs an earlier one left going, off the same files. */
#include "bench_util.h"
#include "child_run.h"
#include "cli.h"
#include "commands.h"
#include "csv_read.h"
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CMD "race ae"
#define MAX_BUDGETS 16
#define MAX_SEEDS 100
#define MAX_VALS 24
#define MAX_AXES 6
#define MAX_FIXED 12
#define MAX_METHODS 8
#define MAX_POINTS 512
#define MAX_JOBS 64
#define SGEMM_N 1000
#define ROWS_AUTO 90 /* --eval-seconds 0: at least this many rows in the longest budget */

/* ------------------------------------------------------------------ configuration */

typedef struct {
    const char *data, *arch, *out, *budget_s, *lr_s, *batch_s, *mu_s, *kfac_rows;
    long seeds, jobs, max_runs;
    double eval_seconds;
    int no_plots;
} race_opts;

/* One tuned option: its values as given (the first n0), then the grid's extensions. */
typedef struct {
    char key[32];
    int n, n0;
    char *val[MAX_VALS];
    double num[MAX_VALS];
    int numeric, integer, one_minus; /* extension: geometric in x, or in 1 - x (momentum) */
    double lo, hi;                   /* bounds an extension is clamped into */
} axis;

typedef struct {
    int v[MAX_AXES]; /* value index per axis */
} point;

/* A row of the table: SGD (tuned), K-FAC with the paper's constants, or another K-FAC
 * setting (tuned when it lists more than one value for an option). */
typedef struct {
    char id[200];    /* run-name stem */
    char label[300];
    int sgd;
    char *fixed[2 * MAX_FIXED]; /* "--key", "value" */
    int nfixed;
    axis ax[MAX_AXES];
    int nax;
    point pts[MAX_POINTS]; /* the grid (seed 1), extensions appended */
    int npts, ngrid;
    int best[MAX_BUDGETS]; /* per budget: index into pts, -1 none */
} method;

typedef struct {
    race_opts o;
    double budgets[MAX_BUDGETS];
    int nb;
    double tmax, eval_s;
    method m[MAX_METHODS];
    int nm;
    char *runs_dir;
    /* the pool */
    long started, done_here;
    double wall_sum, train_sum; /* wall and training seconds of the runs ended in this start */
    int stop;        /* 1 interrupted, 2 failure, 3 --max-runs, 4 a row's options refused */
    int noted;       /* the machine's line written for this start */
    const char *phase;
} race;

static int usage(const char *fmt, const char *a) { return ng_cli_usage_error(CMD, fmt, a); }

/* "a,b,c" into doubles in [lo, hi]; 0 on a bad list (message printed). */
static int parse_list(const char *opt, const char *s, double lo, double hi, double *out, int max, int *n)
{
    *n = 0;
    char *copy = strdup(s), *save = NULL;
    if (!copy) return 0;
    int ok = 1;
    for (char *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        if (*n >= max) {
            ng_cli_usage_error(CMD, "--%s: more than %d values", opt, max);
            ok = 0;
        } else {
            ok = ng_cli_parse_double(CMD, opt, ng_csv_trim(tok), lo, hi, &out[(*n)++]);
        }
    }
    free(copy);
    if (ok && *n == 0) ok = !ng_cli_usage_error(CMD, "--%s: no values", opt);
    return ok;
}

/* A number as the children get it: the fewest digits that read back the same. */
static char *fmt_num(double x)
{
    char buf[40];
    if (x == floor(x) && fabs(x) < 1e15) {
        snprintf(buf, sizeof buf, "%.0f", x);
        return strdup(buf);
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, x);
        if (strtod(buf, NULL) == x) break;
    }
    return strdup(buf);
}

static int axis_add(axis *a, double x)
{
    for (int i = 0; i < a->n; i++)
        if (a->num[i] == x) return i;
    if (a->n >= MAX_VALS) return -1;
    a->num[a->n] = x;
    a->val[a->n] = fmt_num(x);
    return a->val[a->n] ? a->n++ : -1;
}

static int axis_numeric(const char *key, const char *opt, const char *s, double lo, double hi,
                        int integer, int one_minus, axis *a)
{
    double v[MAX_VALS];
    int n;
    if (!parse_list(opt, s, lo, hi, v, MAX_VALS, &n)) return 0;
    snprintf(a->key, sizeof a->key, "%s", key);
    a->numeric = 1;
    a->integer = integer;
    a->one_minus = one_minus;
    a->lo = lo;
    a->hi = hi;
    for (int i = 0; i < n; i++) {
        if (integer && v[i] != floor(v[i])) return ng_cli_usage_error(CMD, "--%s %s: expected whole numbers", opt, s), 0;
        if (axis_add(a, v[i]) < 0) return 0;
    }
    a->n0 = a->n;
    return 1;
}

/* The grid: every combination of the given values, seed 1. */
static void grid_points(method *m)
{
    int idx[MAX_AXES] = {0};
    m->npts = 0;
    for (;;) {
        if (m->npts >= MAX_POINTS) break;
        for (int k = 0; k < m->nax; k++) m->pts[m->npts].v[k] = idx[k];
        m->npts++;
        int k = 0;
        while (k < m->nax && ++idx[k] >= m->ax[k].n0) idx[k++] = 0;
        if (k == m->nax) break;
    }
    m->ngrid = m->npts;
    for (int b = 0; b < MAX_BUDGETS; b++) m->best[b] = m->nax ? -1 : 0; /* untuned: its one setting */
}

static const char *const k_reserved[] = {"optimizer", "seed", "log", "checkpoint", "checkpoint-every",
                                         "resume", "time-limit", "steps", "eval-every", "eval-seconds",
                                         "eval-subset", "threads", "data", "arch", "out", "average",
                                         "help", NULL};

/* One --kfac-rows entry, "KEY=V[,V..] KEY=V ...": single values are fixed options, lists
 * are tuned. */
static int parse_kfac_row(char *spec, method *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "kfac");
    snprintf(m->label, sizeof m->label, "K-FAC");
    char *save = NULL;
    for (char *it = strtok_r(spec, " \t", &save); it; it = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(it, '=');
        if (!eq || eq == it || !eq[1]) return usage("--kfac-rows: '%s': expected KEY=VALUE[,VALUE...]", it);
        *eq = '\0';
        const char *key = it, *vals = eq + 1;
        for (const char *const *r = k_reserved; *r; r++)
            if (!strcmp(key, *r)) return usage("--kfac-rows: --%s is set by the race itself", key);
        for (const char *c = key; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-'))
                return usage("--kfac-rows: '%s': not an option name", key);
        for (const char *c = vals; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                  strchr(".,+-", *c)))
                return usage("--kfac-rows: '%s': values are numbers or names", vals);
        size_t ll = strlen(m->label), il = strlen(m->id);
        snprintf(m->label + ll, sizeof m->label - ll, " %s=%s", key, vals);
        if (!strchr(vals, ',')) {
            if (m->nfixed >= 2 * MAX_FIXED) return usage("--kfac-rows: more than %s fixed options", "12");
            m->fixed[m->nfixed++] = ng_cli_asprintf("--%s", key);
            m->fixed[m->nfixed++] = strdup(vals);
            snprintf(m->id + il, sizeof m->id - il, "_%s=%s", key, vals);
            continue;
        }
        if (m->nax >= MAX_AXES) return usage("--kfac-rows: more than %s tuned options", "6");
        axis *a = &m->ax[m->nax++];
        snprintf(a->key, sizeof a->key, "%s", key);
        char *vs = strdup(vals), *s2 = NULL;
        a->numeric = a->integer = 1;
        for (char *v = strtok_r(vs, ",", &s2); v; v = strtok_r(NULL, ",", &s2)) {
            if (a->n >= MAX_VALS) {
                free(vs);
                return usage("--kfac-rows: more than %s values", "24");
            }
            char *end;
            double x = strtod(v, &end);
            if (*end || !isfinite(x) || x <= 0) a->numeric = 0;
            if (a->numeric && x != floor(x)) a->integer = 0;
            a->num[a->n] = x;
            a->val[a->n++] = strdup(v);
        }
        free(vs);
        if (!a->numeric) a->integer = 0;
        a->lo = 1e-300;
        a->hi = 1e300;
        a->n0 = a->n;
    }
    grid_points(m);
    return -1;
}

static int setup_methods(race *r)
{
    method *s = &r->m[0];
    memset(s, 0, sizeof *s);
    s->sgd = 1;
    snprintf(s->id, sizeof s->id, "sgd");
    snprintf(s->label, sizeof s->label, "SGD-Nesterov, tuned");
    s->nax = 3;
    r->nm = 1; /* freed from here on */
    if (!axis_numeric("lr", "sgd-lr", r->o.lr_s, 1e-12, 1e6, 0, 0, &s->ax[0]) ||
        !axis_numeric("batch", "sgd-batch", r->o.batch_s, 1, 1e8, 1, 0, &s->ax[1]) ||
        !axis_numeric("mu-max", "sgd-mu", r->o.mu_s, 0, 0.999999, 0, 1, &s->ax[2]))
        return NG_EXIT_USAGE;
    grid_points(s);
    method *k = &r->m[1];
    memset(k, 0, sizeof *k);
    snprintf(k->id, sizeof k->id, "kfac-paper");
    snprintf(k->label, sizeof k->label, "K-FAC, the paper's constants");
    k->fixed[k->nfixed++] = strdup("--lambda0");
    k->fixed[k->nfixed++] = strdup("150");
    k->fixed[k->nfixed++] = strdup("--max-batch");
    k->fixed[k->nfixed++] = strdup("0");
    r->nm = 2;
    grid_points(k);
    if (!r->o.kfac_rows || !*r->o.kfac_rows) return -1;
    char *rows = strdup(r->o.kfac_rows), *save = NULL;
    int rc = -1;
    for (char *row = strtok_r(rows, ";", &save); row && rc < 0; row = strtok_r(NULL, ";", &save)) {
        if (!*ng_csv_trim(row)) continue;
        if (r->nm >= MAX_METHODS) rc = usage("--kfac-rows: more than %s rows", "6");
        else rc = parse_kfac_row(row, &r->m[r->nm++]);
    }
    free(rows);
    return rc;
}

static void free_methods(race *r)
{
    for (int i = 0; i < r->nm; i++) {
        for (int k = 0; k < r->m[i].nfixed; k++) free(r->m[i].fixed[k]);
        for (int a = 0; a < r->m[i].nax; a++)
            for (int v = 0; v < r->m[i].ax[a].n; v++) free(r->m[i].ax[a].val[v]);
    }
}

/* Budgets ascending and distinct; the evaluation period divides every one of them. */
static int setup_budgets(race *r)
{
    if (!parse_list("budget", r->o.budget_s, 1e-3, 1e7, r->budgets, MAX_BUDGETS, &r->nb)) return NG_EXIT_USAGE;
    qsort(r->budgets, (size_t)r->nb, sizeof(double), ng_cmp_double);
    for (int i = 1; i < r->nb; i++)
        if (r->budgets[i] == r->budgets[i - 1]) return usage("--budget %s: a budget is given twice", r->o.budget_s);
    r->tmax = r->budgets[r->nb - 1];
    double e = r->o.eval_seconds;
    if (e <= 0) {
        /* the largest period that divides every budget (in ms) and gives ROWS_AUTO rows */
        long g = 0;
        for (int i = 0; i < r->nb; i++) {
            long b = lround(r->budgets[i] * 1000.0), a = g;
            while (b) {
                long t = a % b;
                a = b;
                b = t;
            }
            g = a;
        }
        long k = 1;
        while (r->tmax / (g * 1e-3 / (double)k) < ROWS_AUTO - 1e-9) k++;
        e = g * 1e-3 / (double)k;
    }
    for (int i = 0; i < r->nb; i++) {
        double q = r->budgets[i] / e;
        if (fabs(q - nearbyint(q)) > 1e-6 * q)
            return ng_cli_usage_error(CMD, "--eval-seconds %g does not divide the budget %g", e, r->budgets[i]);
    }
    r->eval_s = e;
    return -1;
}

/* ------------------------------------------------------------------ runs and their logs */

static char *run_name(const method *m, const point *p, long seed)
{
    char buf[600];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s", m->id);
    for (int k = 0; k < m->nax && n < sizeof buf; k++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "_%s=%s", m->ax[k].key, m->ax[k].val[p->v[k]]);
    if (n < sizeof buf) snprintf(buf + n, sizeof buf - n, "_s%ld", seed);
    return strdup(buf);
}

/* "lr 0.01, batch 100, mu-max 0.99" */
static void point_label(const method *m, const point *p, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int k = 0; k < m->nax && n < len; k++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s %s", k ? ", " : "", m->ax[k].key, m->ax[k].val[p->v[k]]);
}

static char *run_file(const race *r, const char *name, const char *ext)
{
    return ng_cli_asprintf("%s/%s%s", r->runs_dir, name, ext);
}

/* A run's log: seconds and the reported (better-iterate) errors per row. */
typedef struct {
    double *sec, *tre, *tee;
    size_t n;
    int diverged;
} run_log;

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static int log_load(const race *r, const char *name, run_log *l)
{
    memset(l, 0, sizeof *l);
    char *path = run_file(r, name, ".csv"), *st = run_file(r, name, ".diverged");
    l->diverged = file_exists(st);
    const char *cols[3] = {"seconds", "train_error", "test_error"};
    double *c[3] = {NULL, NULL, NULL};
    int ok = file_exists(path) && ng_csv_read_columns("race ae", path, cols, 3, c, &l->n);
    l->sec = c[0];
    l->tre = c[1];
    l->tee = c[2];
    free(path);
    free(st);
    return ok;
}

static void log_free(run_log *l)
{
    free(l->sec);
    free(l->tre);
    free(l->tee);
    memset(l, 0, sizeof *l);
}

/* Training seconds a run's log has reached (0 without a log). */
static double trained(const race *r, const char *name)
{
    run_log l;
    double t = 0;
    if (log_load(r, name, &l)) {
        if (l.n > 0 && isfinite(l.sec[l.n - 1])) t = l.sec[l.n - 1];
        log_free(&l);
    }
    return t;
}

/* Complete: its last row is at the longest budget, or it diverged (its .diverged mark). */
static int run_complete(const race *r, const char *name)
{
    run_log l;
    int ok = 0;
    char *path = run_file(r, name, ".csv");
    if (file_exists(path) && log_load(r, name, &l)) {
        ok = l.diverged || (l.n > 0 && l.sec[l.n - 1] >= r->tmax * (1 - 1e-9));
        log_free(&l);
    } else {
        char *st = run_file(r, name, ".diverged");
        ok = file_exists(st);
        free(st);
    }
    free(path);
    return ok;
}

/* The row of budget b: the first evaluation at or after b seconds of training
 * (ng_log_row_from). INFINITY when the run never got there (diverged). */
static void value_at(const run_log *l, double b, double *tre, double *tee)
{
    size_t i = ng_log_row_from(l->sec, l->n, b);
    *tre = i < l->n && !isnan(l->tre[i]) ? l->tre[i] : INFINITY;
    *tee = i < l->n && !isnan(l->tee[i]) ? l->tee[i] : INFINITY;
}

/* Training seconds of the first row with a training error at or below target. */
static double time_to(const run_log *l, double target)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->tre[i] <= target) return l->sec[i];
    return INFINITY;
}

/* ------------------------------------------------------------------ the pool */

typedef struct {
    char *name;
    char *argv[96];
    int nargv;
    pid_t pid;
    double t0, sec0; /* start (wall clock) and the training seconds its log had then */
} job;

static void job_arg(job *j, const char *s) { j->argv[j->nargv++] = s ? strdup(s) : NULL; }

static void job_free(job *j)
{
    for (int i = 0; i < j->nargv; i++) free(j->argv[i]);
    free(j->name);
    memset(j, 0, sizeof *j);
}

static void job_make(const race *r, const method *m, const point *p, long seed, job *j)
{
    memset(j, 0, sizeof *j);
    j->name = run_name(m, p, seed);
    char *log = run_file(r, j->name, ".csv"), *ck = run_file(r, j->name, ".ckpt");
    char *tl = fmt_num(r->tmax), *ev = fmt_num(r->eval_s), *sd = ng_cli_asprintf("%ld", seed);
    const char *fixed[] = {"natgrad", "ae", "train", "--data", r->o.data, "--arch", r->o.arch,
                           "--optimizer", m->sgd ? "sgd-nesterov" : "kfac", "--seed", sd,
                           "--steps", "0", "--time-limit", tl, "--eval-seconds", ev,
                           "--eval-subset", "0", "--threads", "1", "--log", log,
                           "--checkpoint", ck, "--checkpoint-every", m->sgd ? "20000" : "100",
                           "--resume"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) job_arg(j, fixed[i]);
    if (m->sgd) {
        job_arg(j, "--average");
        job_arg(j, "on");
    }
    for (int i = 0; i < m->nfixed; i++) job_arg(j, m->fixed[i]);
    for (int k = 0; k < m->nax; k++) {
        char *opt = ng_cli_asprintf("--%s", m->ax[k].key);
        job_arg(j, opt);
        job_arg(j, m->ax[k].val[p->v[k]]);
        free(opt);
    }
    j->argv[j->nargv] = NULL;
    free(log);
    free(ck);
    free(tl);
    free(ev);
    free(sd);
}

/* Last non-empty line of a file, malloc'ed ("" when none). */
static char *last_line(const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n = 0;
    if (f) {
        if (fseek(f, 0, SEEK_END) == 0) {
            long sz = ftell(f);
            if (sz > (long)sizeof buf - 1) fseek(f, sz - (long)sizeof buf + 1, SEEK_SET);
            else fseek(f, 0, SEEK_SET);
        }
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\r') buf[i] = '\n'; /* progress lines */
    for (;;) { /* the last line, past a closing "Try 'natgrad ... --help'." */
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = '\0';
        char *s = strrchr(buf, '\n');
        char *l = s ? s + 1 : buf;
        if (strncmp(l, "Try 'natgrad", 12) != 0 || l == buf) return strdup(l);
        *l = '\0';
        n = (size_t)(l - buf);
    }
}

static void fmt_eta(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0) snprintf(buf, len, "?");
    else snprintf(buf, len, "%ld:%02ld:%02ld", (long)s / 3600, (long)s / 60 % 60, (long)s % 60);
}

/* A child ended: done, diverged (a NaN/Inf report: the run's result), or a failure. */
static void job_ended(race *r, job *j, int st)
{
    char *out = run_file(r, j->name, ".out");
    double wall = ng_cli_now() - j->t0;
    if (st == 0 && run_complete(r, j->name)) {
        r->done_here++;
        r->wall_sum += wall;
        r->train_sum += r->tmax - j->sec0;
        fprintf(stderr, "natgrad race: done %s (%.0f s wall)\n", j->name, wall);
    } else if (st == 1) {
        char *ll = last_line(out);
        if (strstr(ll, "NaN") || strstr(ll, "non-finite")) {
            char *mark = run_file(r, j->name, ".diverged");
            FILE *f = fopen(mark, "w");
            if (f) {
                fprintf(f, "%s\n", ll);
                fclose(f);
            }
            free(mark);
            r->done_here++;
            r->wall_sum += wall;
            r->train_sum += trained(r, j->name) - j->sec0;
            fprintf(stderr, "natgrad race: %s diverged: %s\n", j->name, ll);
        } else {
            fprintf(stderr, "natgrad race: %s failed (status 1): %s (see %s)\n", j->name, ll, out);
            if (!r->stop) r->stop = 2;
        }
        free(ll);
    } else if (st == 130 || ng_cli_interrupted()) {
        fprintf(stderr, "natgrad race: %s interrupted (its checkpoint resumes it)\n", j->name);
        if (!r->stop) r->stop = 1;
    } else {
        char *ll = last_line(out);
        fprintf(stderr, "natgrad race: %s failed (status %d): %s (see %s)\n", j->name, st, ll, out);
        free(ll);
        if (!r->stop) r->stop = 2;
    }
    free(out);
}

/* Before the first run of a start: one step of each row's first setting, without log or
 * checkpoint, so that a bad option or data set stops the race at once rather than after
 * the hours of the runs before it. */
static int preflight(race *r)
{
    char *out = ng_path_in(r->runs_dir, "preflight.out");
    int rc = -1;
    for (int mi = 0; mi < r->nm && rc < 0; mi++) {
        job j;
        job_make(r, &r->m[mi], &r->m[mi].pts[0], 1, &j);
        char *argv[100];
        int n = 0;
        for (int i = 0; i < j.nargv; i++) {
            const char *a = j.argv[i];
            if (!strcmp(a, "--log") || !strcmp(a, "--checkpoint") || !strcmp(a, "--checkpoint-every")) i++;
            else if (strcmp(a, "--resume") != 0) argv[n++] = j.argv[i];
        }
        argv[n++] = "--steps";
        argv[n++] = "1";
        argv[n] = NULL;
        fprintf(stderr, "natgrad race: checking the options of '%s' with one step\n", r->m[mi].label);
        pid_t pid = ng_child_spawn_self(argv, out, NG_CHILD_OWN_GROUP);
        int st = -1;
        if (pid > 0)
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            char *ll = last_line(out);
            fprintf(stderr, "natgrad race: '%s' cannot run: %s (see %s)\n", r->m[mi].label, ll, out);
            free(ll);
            rc = pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == NG_EXIT_USAGE ? NG_EXIT_USAGE : NG_EXIT_FAIL;
        }
        job_free(&j);
    }
    free(out);
    return rc;
}

/* ETA of a phase: the training seconds its runs still need (the running ones from their
 * logs, the queued ones the longest budget each), J at a time but no sooner than the
 * longest running one, in wall seconds at the wall/training ratio of the runs ended so
 * far (evaluations included; 1 before any). */
static void phase_eta(const race *r, job *const *run, int nrun, int queued, char *buf, size_t len)
{
    double left = queued * r->tmax, longest = queued > 0 ? r->tmax : 0;
    for (int i = 0; i < nrun; i++) {
        double t = fmax(0.0, r->tmax - trained(r, run[i]->name));
        left += t;
        longest = fmax(longest, t);
    }
    double ratio = r->train_sum > 0 ? r->wall_sum / r->train_sum : 1.0;
    fmt_eta(fmax(left / r->o.jobs, longest) * ratio, buf, len);
}

/* Runs the jobs that are not complete, J at a time. */
static void note_machine(race *r);

static void pool(race *r, job *jobs, int n)
{
    job *run[MAX_JOBS] = {0};
    int nrun = 0, next = 0, forwarded = 0, ndone = 0;
    double eta_at = 0;
    char eta[32] = "?";
    for (int i = 0; i < n; i++) ndone += run_complete(r, jobs[i].name);
    if (n > 0)
        fprintf(stderr, "natgrad race: %s: %d runs, %d of them complete\n", r->phase, n, ndone);
    ng_progress pr;
    ng_progress_init(&pr, 60.0);
    for (;;) {
        while (!r->stop && !ng_cli_interrupted() && nrun < r->o.jobs && next < n) {
            job *j = &jobs[next++];
            if (run_complete(r, j->name)) continue;
            if (r->o.max_runs > 0 && r->started >= r->o.max_runs) {
                r->stop = 3;
                break;
            }
            if (!r->noted) {
                int pf = preflight(r);
                if (pf >= 0) {
                    r->stop = pf == NG_EXIT_USAGE ? 4 : 2;
                    break;
                }
                note_machine(r);
                if (ng_cli_interrupted()) break;
            }
            char *out = run_file(r, j->name, ".out"), *ck = run_file(r, j->name, ".ckpt");
            ng_progress_done(&pr);
            fprintf(stderr, "natgrad race: %s %s\n", ng_ckpt_exists(ck) ? "resuming" : "starting", j->name);
            j->t0 = ng_cli_now();
            j->sec0 = trained(r, j->name);
            j->pid = ng_child_spawn_self(j->argv, out, NG_CHILD_APPEND | NG_CHILD_OWN_GROUP);
            free(out);
            free(ck);
            if (j->pid < 0) {
                fprintf(stderr, "natgrad race: cannot start a run: %s\n", strerror(errno));
                r->stop = 2;
                break;
            }
            r->started++;
            run[nrun++] = j;
        }
        if (nrun == 0) break;
        if ((ng_cli_interrupted() || r->stop == 2) && !forwarded) {
            for (int i = 0; i < nrun; i++) kill(run[i]->pid, SIGINT); /* checkpoint and stop */
            forwarded = 1;
        }
        for (int i = 0; i < nrun; i++) {
            int st;
            pid_t w = waitpid(run[i]->pid, &st, WNOHANG);
            if (w != run[i]->pid) continue;
            ng_progress_done(&pr);
            long before = r->done_here;
            job_ended(r, run[i], WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0));
            ndone += r->done_here > before;
            run[i--] = run[--nrun];
        }
        if (ng_cli_interrupted() && !r->stop) r->stop = 1;
        if (ng_cli_now() >= eta_at) {
            phase_eta(r, run, nrun, n - ndone - nrun, eta, sizeof eta);
            eta_at = ng_cli_now() + 10.0;
        }
        ng_progress_update(&pr, "natgrad race: %s: %d/%d runs done, %d running, ETA of the phase %s", r->phase,
                           ndone, n, nrun, eta);
        if (nrun > 0) usleep(200000);
    }
    if (ng_cli_interrupted() && !r->stop) r->stop = 1;
    ng_progress_done(&pr);
}

/* The runs of one method's points (indices from..to) with the given seeds. */
static int add_jobs(const race *r, const method *m, const int *pts, int npts, long s0, long s1, job *jobs,
                    int n, int cap)
{
    for (int i = 0; i < npts; i++)
        for (long s = s0; s <= s1; s++) {
            if (n >= cap) return n;
            char *name = run_name(m, &m->pts[pts[i]], s);
            int dup = 0;
            for (int k = 0; k < n && !dup; k++) dup = !strcmp(jobs[k].name, name);
            free(name);
            if (!dup) job_make(r, m, &m->pts[pts[i]], s, &jobs[n++]);
        }
    return n;
}

/* ------------------------------------------------------------------ picking and extending */

/* For every budget, the point whose seed-1 run has the lowest training error there. */
static void pick_best(const race *r, method *m)
{
    double bestv[MAX_BUDGETS];
    for (int b = 0; b < r->nb; b++) {
        m->best[b] = -1;
        bestv[b] = INFINITY;
    }
    for (int i = 0; i < m->npts; i++) {
        char *name = run_name(m, &m->pts[i], 1);
        run_log l;
        if (log_load(r, name, &l) || l.diverged) {
            for (int b = 0; b < r->nb; b++) {
                double tre, tee;
                value_at(&l, r->budgets[b], &tre, &tee);
                if (tre < bestv[b]) { /* ties: the first point in grid order */
                    m->best[b] = i;
                    bestv[b] = tre;
                }
            }
            log_free(&l);
        }
        free(name);
    }
}

/* A value one step beyond the edge x0 (x1 its neighbour): geometric in x, or in 1 - x. */
static double beyond(const axis *a, double x0, double x1)
{
    double y;
    if (a->one_minus) y = 1.0 - (1.0 - x0) * ((1.0 - x0) / (1.0 - x1));
    else y = x0 * (x0 / x1);
    if (a->integer) y = nearbyint(y);
    return fmin(fmax(y, a->lo), a->hi);
}

/* Winners on the edge of the given values add the point one step beyond, once. Returns
 * how many points were added. */
static int extend(method *m, int nb)
{
    int added = 0, ngrid = m->npts;
    for (int b = 0; b < nb; b++) {
        if (m->best[b] < 0) continue;
        point w = m->pts[m->best[b]];
        for (int k = 0; k < m->nax; k++) {
            axis *a = &m->ax[k];
            if (!a->numeric || a->n0 < 2 || w.v[k] >= a->n0) continue;
            double lo = INFINITY, lo2 = INFINITY, hi = -INFINITY, hi2 = -INFINITY, x = a->num[w.v[k]];
            for (int i = 0; i < a->n0; i++) {
                double v = a->num[i];
                if (v < lo) lo2 = lo, lo = v;
                else if (v < lo2) lo2 = v;
                if (v > hi) hi2 = hi, hi = v;
                else if (v > hi2) hi2 = v;
            }
            double y = x == lo ? beyond(a, lo, lo2) : x == hi ? beyond(a, hi, hi2) : NAN;
            if (isnan(y) || y == lo || y == hi) continue;
            int vi = axis_add(a, y);
            if (vi < 0 || m->npts >= MAX_POINTS) continue;
            point np = w;
            np.v[k] = vi;
            int dup = 0;
            for (int i = ngrid; i < m->npts && !dup; i++) dup = !memcmp(&m->pts[i], &np, sizeof np);
            if (!dup) {
                m->pts[m->npts++] = np;
                added++;
            }
        }
    }
    return added;
}

/* ------------------------------------------------------------------ the plan */

static char *plan_text(const race *r)
{
    char bud[512] = "";
    size_t n = 0;
    for (int i = 0; i < r->nb; i++) {
        char *s = fmt_num(r->budgets[i]);
        n += (size_t)snprintf(bud + n, sizeof bud - n, "%s%s", i ? "," : "", s);
        free(s);
    }
    char *ev = fmt_num(r->eval_s);
    char *t = ng_cli_asprintf("data = %s\narch = %s\nbudget = %s\nseeds = %ld\njobs = %ld\neval-seconds = %s\n"
                              "sgd-lr = %s\nsgd-batch = %s\nsgd-mu = %s\nkfac-rows = %s\n",
                              r->o.data, r->o.arch, bud, r->o.seeds, r->o.jobs, ev, r->o.lr_s, r->o.batch_s,
                              r->o.mu_s, r->o.kfac_rows ? r->o.kfac_rows : "");
    free(ev);
    return t;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    while (s) {
        size_t k = fread(s + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0) break;
        if (n + 1 >= cap) {
            char *t = realloc(s, cap *= 2);
            if (!t) free(s);
            s = t;
        }
    }
    fclose(f);
    if (s) s[n] = '\0';
    return s;
}

/* Writes text to path through a temporary name. */
static int write_atomic(const char *path, const char *text)
{
    char *tmp = ng_cli_asprintf("%s.tmp", path);
    FILE *f = tmp ? fopen(tmp, "w") : NULL;
    int ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) ok = 0;
    if (!ok) {
        fprintf(stderr, "natgrad race: cannot write %s: %s\n", path, strerror(errno));
        if (tmp) unlink(tmp);
    }
    free(tmp);
    return ok;
}

/* First start: writes the plan. Later: the same plan goes on; another is refused with
 * the differences. */
static int check_plan(const race *r)
{
    char *path = ng_path_in(r->o.out, "plan.txt"), *want = plan_text(r), *have = read_file(path);
    int rc = -1;
    if (!have) {
        if (!write_atomic(path, want)) rc = NG_EXIT_FAIL;
    } else if (strcmp(have, want) != 0) {
        fprintf(stderr, "natgrad race: %s holds the plan of another race; differences (plan | now):\n", path);
        char *sh = NULL, *sw = NULL;
        char *a = strtok_r(have, "\n", &sh), *b = strtok_r(want, "\n", &sw);
        while (a || b) {
            if (!a || !b || strcmp(a, b)) fprintf(stderr, "  %s | %s\n", a ? a : "-", b ? b : "-");
            a = a ? strtok_r(NULL, "\n", &sh) : NULL;
            b = b ? strtok_r(NULL, "\n", &sw) : NULL;
        }
        fprintf(stderr, "natgrad race: run it with the plan's settings to continue, or use another --out\n");
        rc = NG_EXIT_USAGE;
    }
    free(path);
    free(want);
    free(have);
    return rc;
}

/* Before a start that runs something: the machine's sgemm rate at 1 thread, the date and
 * the load, one line each start in DIR/machine.txt. */
static void note_machine(race *r)
{
    r->noted = 1;
    ng_cli_set_threads(1);
    double g = ng_bench_sgemm_gflops(SGEMM_N, 1.0);
    double la[3] = {NAN, NAN, NAN};
    if (getloadavg(la, 3) < 1) la[0] = NAN;
    char cpu[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(cpu, sizeof cpu, "%s", ng_csv_trim(strchr(line, ':') + 1));
            break;
        }
    if (f) fclose(f);
    for (char *c = cpu; *c; c++)
        if (*c == '|' || *c == '\n') *c = ' ';
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
    char *path = ng_path_in(r->o.out, "machine.txt");
    FILE *m = fopen(path, "a");
    if (m) {
        fprintf(m, "%s | sgemm %.1f GFLOP/s | load %.2f | %s, %ld cores\n", date, g, la[0], cpu,
                sysconf(_SC_NPROCESSORS_ONLN));
        fclose(m);
    }
    fprintf(stderr, "natgrad race: sgemm (n = %d, 1 thread) %.1f GFLOP/s; load average %.2f\n", SGEMM_N, g, la[0]);
    free(path);
}

/* ------------------------------------------------------------------ the table */

typedef struct {
    double med, lo, hi;
} stat3;

static stat3 stats(double *v, int n)
{
    stat3 s = {INFINITY, INFINITY, INFINITY};
    if (n <= 0) return s;
    qsort(v, (size_t)n, sizeof *v, ng_cmp_double);
    s.lo = v[0];
    s.hi = v[n - 1];
    s.med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return s;
}

static void fmt_err(double x, char *buf, size_t len)
{
    if (isfinite(x)) snprintf(buf, len, "%.4g", x);
    else snprintf(buf, len, "diverged");
}

static void fmt_stat(stat3 s, char *buf, size_t len)
{
    char a[32], b[32], c[32];
    fmt_err(s.med, a, sizeof a);
    fmt_err(s.lo, b, sizeof b);
    fmt_err(s.hi, c, sizeof c);
    snprintf(buf, len, "%s [%s, %s]", a, b, c);
}

/* A setting as one CSV field: "lr 0.01; batch 100; mu-max 0.99". */
static void csv_setting(FILE *f, const char *set)
{
    fputc(',', f);
    for (; *set; set++) fputc(*set == ',' ? ';' : *set, f);
}

/* CSV number: empty when unknown or infinite (natgrad's logs never hold inf). */
static void csv_num(FILE *f, double x)
{
    if (isfinite(x)) fprintf(f, ",%.10g", x);
    else fputc(',', f);
}

/* The reported runs of a method at budget b: its best point's seeds. */
typedef struct {
    double tre[MAX_SEEDS], tee[MAX_SEEDS], tto[MAX_SEEDS];
    int n;
} seed_vals;

static void collect(const race *r, const method *m, int b, double target, seed_vals *sv)
{
    memset(sv, 0, sizeof *sv);
    if (m->best[b] < 0) return;
    for (long s = 1; s <= r->o.seeds; s++) {
        char *name = run_name(m, &m->pts[m->best[b]], s);
        run_log l;
        double tre = INFINITY, tee = INFINITY, tt = INFINITY;
        if (log_load(r, name, &l) || l.diverged) {
            value_at(&l, r->budgets[b], &tre, &tee);
            tt = time_to(&l, target);
            log_free(&l);
        }
        sv->tre[sv->n] = tre;
        sv->tee[sv->n] = tee;
        sv->tto[sv->n++] = tt;
        free(name);
    }
}

/* The machine lines of every start. */
static char *machine_notes(const race *r, char **first_date, char **last_date)
{
    char *path = ng_path_in(r->o.out, "machine.txt"), *text = read_file(path);
    free(path);
    *first_date = *last_date = NULL;
    if (!text) return strdup("(no start of this race has run anything: not measured)");
    char *out = ng_cli_asprintf("%s", ""), *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *o = ng_cli_asprintf("%s  - %s\n", out, l);
        free(out);
        out = o;
        char *bar = strchr(l, '|');
        if (bar) {
            char *d = strndup(l, (size_t)(bar - l));
            if (d) ng_csv_trim(d);
            if (!*first_date) *first_date = d;
            else {
                free(*last_date);
                *last_date = d;
            }
        }
    }
    free(text);
    return out;
}

static char *budget_str(double b)
{
    char *s = fmt_num(b), *t = ng_cli_asprintf("%s s", s);
    free(s);
    return t;
}

/* race.md's heading, the plan, the machine and what the cells mean. */
static void tables_head(FILE *f, const race *r)
{
    char *plan = plan_text(r), *d0, *d1, *mach = machine_notes(r, &d0, &d1);
    fprintf(f, "# K-FAC against SGD-Nesterov: %s, arch %s\n\n", r->o.data, r->o.arch);
    fprintf(f, "Written by `natgrad race ae` (first started %s%s%s). Plan (`%s/plan.txt`):\n\n```\n%s```\n\n",
            d0 ? d0 : "?", d1 ? ", last started " : "", d1 ? d1 : "", r->o.out, plan);
    fprintf(f, "Runs: 1 thread each, J = %ld at a time. Machine at each start of the race "
               "(sgemm n = %d, 1 thread, as `natgrad bench gemm`):\n\n%s\n",
            r->o.jobs, SGEMM_N, mach);
    fprintf(f, "Errors: reconstruction error (mean over cases of the summed squared error) on the "
               "full training set and the full test set, of the better of the current and the "
               "Polyak-averaged iterate (both methods), at the first evaluation at or after each "
               "budget (every %g s of training). Cells: median [min, max] over seeds 1..%ld%s. "
               "The last column: the training seconds K-FAC needs to reach tuned SGD's median "
               "training error at that budget (median over seeds; the goal: budget/3 or less).\n\n",
            r->eval_s, r->o.seeds, r->o.seeds < 3 ? " (the protocol asks for 3 or more)" : "");
    free(plan), free(mach), free(d0), free(d1);
}

/* A row's setting at budget b: its tuned point's values, then its fixed options. */
static void row_setting(const method *m, int b, char *set, size_t len)
{
    set[0] = '\0';
    if (m->best[b] >= 0) point_label(m, &m->pts[m->best[b]], set, len);
    if (m->nfixed && !m->sgd) {
        size_t n = strlen(set);
        for (int k = 0; k < m->nfixed; k += 2)
            n += (size_t)snprintf(set + n, len - n, "%s%s %s", n ? ", " : "", m->fixed[k] + 2, m->fixed[k + 1]);
    }
}

/* The CSV's lines of one row at one budget: a line per seed, then its median, min and max
 * (time to SGD's error only for the rows after SGD's, mi > 0). */
static void csv_row(FILE *c, const race *r, const method *m, int mi, int b, const char *set,
                    const seed_vals *sv, stat3 *const ss[3])
{
    for (int s = 0; s < sv->n; s++) {
        fprintf(c, "run,%s", m->id);
        csv_setting(c, set);
        fprintf(c, ",%d,%.10g", s + 1, r->budgets[b]);
        csv_num(c, sv->tre[s]);
        csv_num(c, sv->tee[s]);
        csv_num(c, mi > 0 ? sv->tto[s] : NAN);
        fprintf(c, ",%s\n", isfinite(sv->tre[s]) ? "" : "diverged");
    }
    const char *nm[3] = {"median", "min", "max"};
    for (int q = 0; q < 3; q++) {
        double va[3];
        for (int z = 0; z < 3; z++) va[z] = q == 0 ? ss[z]->med : q == 1 ? ss[z]->lo : ss[z]->hi;
        fprintf(c, "%s,%s", nm[q], m->id);
        csv_setting(c, set);
        fprintf(c, ",,%.10g", r->budgets[b]);
        csv_num(c, va[0]);
        csv_num(c, va[1]);
        csv_num(c, mi > 0 ? va[2] : NAN);
        fprintf(c, ",%s\n", mi > 0 ? "seconds: time to tuned SGD's median training error" : "");
    }
}

/* Row mi of the table at budget b (bs its text), in race.md and race.csv; *target: SGD's
 * median training error at b, set by row 0 and read by the others. */
static void table_row(FILE *f, FILE *c, const race *r, int mi, int b, const char *bs, double *target)
{
    const method *m = &r->m[mi];
    char set[300], st1[128], st2[128], tcell[160] = "";
    row_setting(m, b, set, sizeof set);
    seed_vals sv;
    collect(r, m, b, *target, &sv);
    double tre[MAX_SEEDS], tee[MAX_SEEDS], tto[MAX_SEEDS];
    memcpy(tre, sv.tre, sizeof tre);
    memcpy(tee, sv.tee, sizeof tee);
    memcpy(tto, sv.tto, sizeof tto);
    stat3 a = stats(tre, sv.n), e = stats(tee, sv.n), t = stats(tto, sv.n);
    if (mi == 0) *target = a.med;
    fmt_stat(a, st1, sizeof st1);
    fmt_stat(e, st2, sizeof st2);
    if (mi > 0) {
        if (!isfinite(*target)) snprintf(tcell, sizeof tcell, "no SGD error to reach");
        else if (!isfinite(t.med))
            snprintf(tcell, sizeof tcell, "not reached in %g s (median)", r->tmax);
        else
            snprintf(tcell, sizeof tcell, "%.4g s (budget/%.3g; goal budget/3 %s)", t.med,
                     r->budgets[b] / t.med, t.med <= r->budgets[b] / 3 ? "met" : "not met");
    }
    fprintf(f, "| %s | %s | %s | %s | %s | %s |\n", bs, m->label, set[0] ? set : "-", st1, st2, tcell);
    stat3 *const ss[3] = {&a, &e, &t};
    csv_row(c, r, m, mi, b, set, &sv, ss);
}

/* Grid point i of m (seed 1): its training error at every budget, the winners in bold. */
static void grid_row(FILE *f, FILE *c, const race *r, const method *m, int i)
{
    char set[300];
    point_label(m, &m->pts[i], set, sizeof set);
    fprintf(f, "| %s%s |", set, i >= m->ngrid ? " (extension)" : "");
    char *name = run_name(m, &m->pts[i], 1);
    run_log l;
    int have = log_load(r, name, &l) || l.diverged;
    for (int b = 0; b < r->nb; b++) {
        double tre = INFINITY, tee = INFINITY;
        if (have) value_at(&l, r->budgets[b], &tre, &tee);
        char cell[32];
        fmt_err(tre, cell, sizeof cell);
        fprintf(f, " %s%s%s |", m->best[b] == i ? "**" : "", cell, m->best[b] == i ? "**" : "");
        fprintf(c, "grid,%s", m->id);
        csv_setting(c, set);
        fprintf(c, "%s,1,%.10g", i >= m->ngrid ? " (extension)" : "", r->budgets[b]);
        csv_num(c, tre);
        csv_num(c, tee);
        fprintf(c, ",,%s\n", m->best[b] == i ? "best" : "");
    }
    fputc('\n', f);
    if (have) log_free(&l);
    free(name);
}

/* Every tuned row's grid, every point at seed 1. */
static void grid_tables(FILE *f, FILE *c, const race *r)
{
    for (int mi = 0; mi < r->nm; mi++) {
        const method *m = &r->m[mi];
        if (m->nax == 0) continue;
        fprintf(f, "\n%s grid (seed 1, every point run for %g s; training error at each budget%s):\n\n| setting |",
                m->label, r->tmax, m->npts > m->ngrid ? "; the last rows extend the grid past a winner at its edge" : "");
        for (int b = 0; b < r->nb; b++) fprintf(f, " %g s |", r->budgets[b]);
        fprintf(f, "\n|---|");
        for (int b = 0; b < r->nb; b++) fprintf(f, "---|");
        fputc('\n', f);
        for (int i = 0; i < m->npts; i++) grid_row(f, c, r, m, i);
    }
}

/* DIR/race.md and DIR/race.csv (temp names, then renamed). Returns 1, or 0 with the
 * message printed. */
static int write_tables(const race *r)
{
    char *md = ng_path_in(r->o.out, "race.md"), *csv = ng_path_in(r->o.out, "race.csv");
    char *mdt = ng_cli_asprintf("%s.tmp", md), *csvt = ng_cli_asprintf("%s.tmp", csv);
    FILE *f = fopen(mdt, "w"), *c = fopen(csvt, "w");
    if (!f || !c) {
        fprintf(stderr, "natgrad race: cannot write %s: %s\n", f ? csvt : mdt, strerror(errno));
        if (f) fclose(f);
        if (c) fclose(c);
        free(md), free(csv), free(mdt), free(csvt);
        return 0;
    }
    tables_head(f, r);
    fprintf(f, "| budget | method | setting | train error | test error | K-FAC time to SGD's error |\n"
               "|---|---|---|---|---|---|\n");
    fprintf(c, "section,method,setting,seed,budget,train_error,test_error,seconds,note\n");
    for (int b = 0; b < r->nb; b++) {
        char *bs = budget_str(r->budgets[b]);
        double target = INFINITY;
        for (int mi = 0; mi < r->nm; mi++) table_row(f, c, r, mi, b, bs, &target);
        free(bs);
    }
    grid_tables(f, c, r);
    int ok = fclose(f) == 0;
    ok = (fclose(c) == 0) && ok;
    ok = ok && rename(mdt, md) == 0 && rename(csvt, csv) == 0;
    if (!ok) fprintf(stderr, "natgrad race: cannot write %s: %s\n", md, strerror(errno));
    free(md), free(csv), free(mdt), free(csvt);
    return ok;
}

/* ------------------------------------------------------------------ the figure */

/* One block of the curves' data: the median, min and max over seeds of the training error
 * of m's point p at every evaluation period; its title into title. */
static void curve_block(FILE *f, const race *r, const method *m, const point *p, int first, char *title,
                        size_t len)
{
    run_log l[MAX_SEEDS];
    int nl = 0;
    for (long s = 1; s <= r->o.seeds; s++) {
        char *name = run_name(m, p, s);
        if (log_load(r, name, &l[nl]) || l[nl].diverged) nl++;
        free(name);
    }
    char set[300];
    point_label(m, p, set, sizeof set);
    snprintf(title, len, "%s%s%s%s", m->label, set[0] ? " (" : "", set, set[0] ? ")" : "");
    fprintf(f, "%s# %s\nseconds,median,min,max\n", first ? "" : "\n\n", title);
    long nt = lround(r->tmax / r->eval_s);
    for (long k = 1; k <= nt; k++) {
        double t = r->eval_s * (double)k, v[MAX_SEEDS], dummy;
        for (int i = 0; i < nl; i++) value_at(&l[i], t, &v[i], &dummy);
        stat3 s = stats(v, nl);
        fprintf(f, "%.10g", t);
        double q[3] = {s.med, s.lo, s.hi};
        for (int z = 0; z < 3; z++) {
            if (isfinite(q[z])) fprintf(f, ",%.10g", q[z]);
            else fprintf(f, ",NaN");
        }
        fputc('\n', f);
    }
    for (int i = 0; i < nl; i++) log_free(&l[i]);
}

/* The curves' data, a block per reported run set (each distinct tuned point once, the
 * longest budget's first); their titles into titles. Returns the number of blocks. */
static int curve_blocks(FILE *f, const race *r, char titles[][320])
{
    int nblk = 0;
    for (int mi = 0; mi < r->nm; mi++) {
        const method *m = &r->m[mi];
        for (int b = r->nb - 1; b >= 0; b--) {
            if (m->best[b] < 0) continue;
            int seen = 0;
            for (int b2 = r->nb - 1; b2 > b; b2--) seen |= m->best[b2] == m->best[b];
            if (seen) continue;
            curve_block(f, r, m, &m->pts[m->best[b]], nblk == 0, titles[nblk], sizeof titles[nblk]);
            nblk++;
        }
    }
    return nblk;
}

/* The gnuplot script at path: the figure into png from the data in dat. Returns 1 when
 * it is written. */
static int write_script(const race *r, const char *path, const char *png, const char *dat,
                        char titles[][320], int nblk)
{
    FILE *s = fopen(path, "w");
    if (!s) return 0;
    char *title = ng_cli_asprintf("%s, arch %s", r->o.data, r->o.arch);
    fprintf(s, "set terminal pngcairo size 1000,650\nset output ");
    ng_gnuplot_quote(s, png);
    fprintf(s, "\nset datafile separator ','\nset key top right\nset logscale y\n"
               "set xlabel 'training seconds'\n"
               "set ylabel 'training error (median; band: min to max over %ld seeds)'\nset title ",
            r->o.seeds);
    ng_gnuplot_quote(s, title ? title : "");
    fprintf(s, "\nplot ");
    free(title);
    for (int i = 0; i < nblk; i++) {
        fprintf(s, "%s", i ? ", \\\n     " : "");
        ng_gnuplot_quote(s, dat);
        fprintf(s, " index %d using 1:3:4 with filledcurves fs transparent solid 0.2 lc %d notitle, "
                   "'' index %d using 1:2 with lines lw 2 lc %d title ", i, i + 1, i, i + 1);
        ng_gnuplot_quote(s, titles[i]);
    }
    fputc('\n', s);
    return fclose(s) == 0;
}

/* DIR/race.png through gnuplot and DIR/race.gp from the data in dat. Returns 1, or 0 with
 * the message printed; no gnuplot is a note, not a failure. */
static int draw_figure(const race *r, const char *dat, char titles[][320], int nblk)
{
    char *gp = ng_gnuplot_find();
    if (!gp) {
        fprintf(stderr, "natgrad race: gnuplot not found, no figure (apt-get install gnuplot-nox); the "
                        "curves are in %s\n", dat);
        return 1;
    }
    char *png = ng_path_in(r->o.out, "race.png"), *ptmp = ng_cli_asprintf("%s/race.tmp.png", r->o.out);
    char *script = ng_path_in(r->o.out, "race.gp"), *stmp = ng_cli_asprintf("%s.tmp", script);
    int ok = write_script(r, stmp, ptmp, dat, titles, nblk) && rename(stmp, script) == 0;
    if (ok) {
        ok = ng_gnuplot_run("race", gp, script, NULL) == 0 && rename(ptmp, png) == 0;
        if (!ok) {
            unlink(ptmp);
            fprintf(stderr, "natgrad race: gnuplot could not draw %s (script %s)\n", png, script);
        }
    }
    free(gp), free(png), free(ptmp), free(script), free(stmp);
    return ok;
}

/* The curves: median and band over seeds of the training error, every evaluation period,
 * for the reported run sets (each distinct tuned point once), in DIR/race-curves.csv, and
 * their figure unless --no-plots. */
static int write_figure(const race *r)
{
    char *dat = ng_path_in(r->o.out, "race-curves.csv"), *dtmp = ng_cli_asprintf("%s.tmp", dat);
    FILE *f = fopen(dtmp, "w");
    if (!f) {
        fprintf(stderr, "natgrad race: cannot write %s: %s\n", dtmp, strerror(errno));
        free(dat), free(dtmp);
        return 0;
    }
    char titles[MAX_METHODS * MAX_BUDGETS][320];
    int nblk = curve_blocks(f, r, titles);
    int ok = fclose(f) == 0 && rename(dtmp, dat) == 0;
    free(dtmp);
    if (ok && !r->o.no_plots && nblk > 0) ok = draw_figure(r, dat, titles, nblk);
    free(dat);
    return ok;
}

/* ------------------------------------------------------------------ the command */

static int lock_dir(const char *dir)
{
    char *path = ng_path_in(dir, ".lock");
    int fd = open(path, O_RDWR | O_CREAT, 0666); /* not close-on-exec: the runs hold it too */
    free(path);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "natgrad race: %s is in use by another race (or by runs an interrupted one left "
                        "going)\n", dir);
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static void print_grid(const race *r)
{
    for (int mi = 0; mi < r->nm; mi++) {
        const method *m = &r->m[mi];
        printf("%s:", m->label);
        if (m->nax == 0) printf(" seeds 1..%ld", r->o.seeds);
        for (int k = 0; k < m->nax; k++) {
            printf("%s %s {", k ? " x" : "", m->ax[k].key);
            for (int v = 0; v < m->ax[k].n0; v++) printf("%s%s", v ? ", " : "", m->ax[k].val[v]);
            printf("}");
        }
        if (m->nax) printf(" = %d points, seed 1, each run for %g s", m->ngrid, r->tmax);
        printf("\n");
    }
    fflush(stdout);
}

/* Runs the n jobs of a phase (its name on the progress line), then frees them. */
static void run_phase(race *r, const char *phase, job *jobs, int n)
{
    r->phase = phase;
    pool(r, jobs, n);
    for (int i = 0; i < n; i++) job_free(&jobs[i]);
}

/* m's winners of every budget, from the logs so far, into win; returns how many. */
static int winners(const race *r, method *m, int win[MAX_BUDGETS])
{
    pick_best(r, m);
    int nw = 0;
    for (int b = 0; b < r->nb; b++)
        if (m->best[b] >= 0) win[nw++] = m->best[b];
    return nw;
}

/* Phase 2's jobs: the edge extensions (seed 1), and the current winners' other seeds
 * beside them. Returns how many. */
static int extension_jobs(race *r, job *jobs, int cap)
{
    int n = 0;
    for (int mi = 0; mi < r->nm; mi++) {
        method *m = &r->m[mi];
        if (!m->nax) continue;
        int win[MAX_BUDGETS], nw = winners(r, m, win), before = m->npts;
        extend(m, r->nb);
        for (int i = before; i < m->npts; i++) {
            char set[300];
            point_label(m, &m->pts[i], set, sizeof set);
            printf("%s: a winner on the edge of the grid: adding %s\n", m->label, set);
        }
        int ext[MAX_POINTS];
        for (int i = before; i < m->npts; i++) ext[i - before] = i;
        n = add_jobs(r, m, ext, m->npts - before, 1, 1, jobs, n, cap);
        n = add_jobs(r, m, win, nw, 2, r->o.seeds, jobs, n, cap);
    }
    fflush(stdout);
    return n;
}

static int run_race(race *r)
{
    int n0 = 0;
    for (int mi = 0; mi < r->nm; mi++) n0 += r->m[mi].nax ? r->m[mi].ngrid + (int)r->o.seeds - 1 : (int)r->o.seeds;
    printf("about %d runs of %g s of training each, %ld at a time (more if the grid is extended)\n", n0,
           r->tmax, r->o.jobs);
    fflush(stdout);
    job *jobs = calloc(MAX_JOBS * 16, sizeof *jobs);
    if (!jobs) return NG_EXIT_FAIL;
    const int cap = MAX_JOBS * 16;
    int all[MAX_POINTS];
    for (int i = 0; i < MAX_POINTS; i++) all[i] = i;
    /* phase 1: every grid point (seed 1) and the paper's K-FAC (every seed) */
    int n = 0;
    for (int mi = 0; mi < r->nm; mi++) {
        method *m = &r->m[mi];
        n = add_jobs(r, m, all, m->ngrid, 1, m->nax ? 1 : r->o.seeds, jobs, n, cap);
    }
    run_phase(r, "phase 1 (the grids, the paper's K-FAC)", jobs, n);
    /* phase 2: the edge extensions, and the current winners' other seeds beside them */
    if (!r->stop) {
        n = extension_jobs(r, jobs, cap);
        run_phase(r, "phase 2 (grid extensions, the winners' seeds)", jobs, n);
    }
    /* phase 3: the winners after the extension, every seed */
    if (!r->stop) {
        n = 0;
        for (int mi = 0; mi < r->nm; mi++) {
            method *m = &r->m[mi];
            if (!m->nax) continue;
            int win[MAX_BUDGETS], nw = winners(r, m, win);
            n = add_jobs(r, m, win, nw, 2, r->o.seeds, jobs, n, cap);
        }
        run_phase(r, "phase 3 (the final winners' seeds)", jobs, n);
    }
    free(jobs);
    if (r->stop == 1) {
        fprintf(stderr, "natgrad race: interrupted; run the same command again to resume\n");
        return 130;
    }
    if (r->stop == 2) return NG_EXIT_FAIL;
    if (r->stop == 4) return NG_EXIT_USAGE;
    if (r->stop == 3) {
        fprintf(stderr, "natgrad race: stopped after starting %ld runs (--max-runs); run the same command "
                        "again to go on\n", r->started);
        return NG_EXIT_OK;
    }
    return -1;
}

/* The options into r->o, the budgets and the rows; then the banner and the grids. Returns
 * -1 to go on, else an exit code. */
static int race_parse(race *r, int argc, char **argv)
{
    r->o = (race_opts){.data = "curves", .arch = "curves", .out = "natgrad-race", .budget_s = "120,300,900,1800",
                       .lr_s = "0.01,0.005,0.001", .batch_s = "100,200", .mu_s = "0.9,0.99,0.999",
                       .kfac_rows = "", .seeds = 3, .jobs = 2, .max_runs = 0, .eval_seconds = 0};
    race_opts *o = &r->o;
    const ng_cli_opt opts[] = {
        {.name = "", .type = NG_CLI_SECTION, .help = "The race"},
        {.name = "data", .type = NG_CLI_STR, .dst = &o->data, .meta = "D", .help = "data, as 'ae train --data'"},
        {.name = "arch", .type = NG_CLI_STR, .dst = &o->arch, .meta = "A", .help = "architecture, as 'ae train --arch'"},
        {.name = "budget", .type = NG_CLI_STR, .dst = &o->budget_s, .meta = "SEC[,SEC..]",
         .help = "budgets in seconds of training (evaluations not counted);\nevery run trains for the longest"},
        {.name = "seeds", .type = NG_CLI_LONG, .dst = &o->seeds, .lo = 1, .hi = MAX_SEEDS, .meta = "N",
         .help = "seeds 1..N of every reported row (the protocol: 3 or more)"},
        {.name = "jobs", .type = NG_CLI_LONG, .dst = &o->jobs, .lo = 1, .hi = MAX_JOBS, .meta = "J",
         .help = "runs at a time, 1 thread each"},
        {.name = "out", .type = NG_CLI_STR, .dst = &o->out, .meta = "DIR",
         .help = "directory of the plan, the runs (DIR/runs) and the results"},
        {.name = "eval-seconds", .type = NG_CLI_DOUBLE, .dst = &o->eval_seconds, .lo = 0, .hi = 1e7, .meta = "S",
         .help = "evaluate every S s of training (must divide every budget),\n0 = the largest such period giving "
                 "90 rows or more"},
        {.name = "", .type = NG_CLI_SECTION, .help = "SGD-Nesterov grid (each point runs the longest budget, seed 1)"},
        {.name = "sgd-lr", .type = NG_CLI_STR, .dst = &o->lr_s, .meta = "LIST", .help = "learning rates"},
        {.name = "sgd-batch", .type = NG_CLI_STR, .dst = &o->batch_s, .meta = "LIST", .help = "minibatch sizes"},
        {.name = "sgd-mu", .type = NG_CLI_STR, .dst = &o->mu_s, .meta = "LIST", .help = "momentum caps mu_max"},
        {.name = "", .type = NG_CLI_SECTION, .help = "Other K-FAC rows"},
        {.name = "kfac-rows", .type = NG_CLI_STR, .dst = &o->kfac_rows, .meta = "SPEC",
         .help = "rows beside the paper's K-FAC, ';' between rows, each\n"
                 "'KEY=V[,V..] ...' of 'ae train' options; a list is tuned\n"
                 "like SGD's grid, e.g. 'curvature=tridiag; lambda0=1,10,150'"},
        {.name = "", .type = NG_CLI_SECTION, .help = "Control"},
        {.name = "max-runs", .type = NG_CLI_LONG, .dst = &o->max_runs, .lo = 0, .hi = 1e9, .meta = "N",
         .help = "start at most N runs in this invocation, then stop (0 = all)"},
        {.name = "no-plots", .type = NG_CLI_FLAG, .dst = &o->no_plots, .help = "do not draw DIR/race.png"},
        NG_CLI_END};
    const ng_cli_opt *tables[] = {opts};
    const ng_cli_spec spec = {
        .name = CMD, .synopsis = "--data D --arch A --budget SEC[,SEC..] [options]", .tables = tables, .n_tables = 1,
        .intro = "K-FAC against SGD with Nesterov momentum on a deep autoencoder, as a protocol anyone\n"
                 "can re-run. Every run is a child 'natgrad ae train' with 1 thread, its own log and\n"
                 "checkpoint (DIR/runs), trained for the longest budget, J at a time:\n"
                 "  1. SGD-Nesterov (Polyak averaging on, as K-FAC): every grid point, seed 1;\n"
                 "     K-FAC with the paper's constants (lambda0 150, no cap on the minibatch):\n"
                 "     every seed;\n"
                 "  2. per budget, SGD's entry is the grid point with the lowest training error at\n"
                 "     that budget in those logs; a winner on the edge of the grid adds one point\n"
                 "     beyond it (once per direction); the winners run the other seeds;\n"
                 "  3. DIR/race.md and DIR/race.csv: median [min, max] over seeds of the training\n"
                 "     and test errors (full sets, the better of the current and the averaged\n"
                 "     iterate) per budget, and the time K-FAC needs to reach tuned SGD's error;\n"
                 "     DIR/race.png: median curves with min-max bands (gnuplot).\n"
                 "Re-running the same command resumes: complete runs are skipped, interrupted ones\n"
                 "continue from their checkpoints; DIR/plan.txt refuses other settings.\n",
        .outro = "Exit status: 0 done (or stopped by --max-runs), 1 a run failed, 2 usage error or\n"
                 "another plan in DIR, 130 interrupted (Ctrl-C: the runs checkpoint).\n"};
    int rc = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc < 0) rc = setup_budgets(r);
    if (rc < 0) rc = setup_methods(r);
    if (rc >= 0) return rc;
    ng_cli_banner_spec(&spec, NULL);
    print_grid(r);
    return -1;
}

/* The results: DIR/race.md (printed), DIR/race.csv and the figure. Returns an exit code. */
static int race_report(const race *r)
{
    const race_opts *o = &r->o;
    int rc = write_tables(r) ? NG_EXIT_OK : NG_EXIT_FAIL;
    if (rc == NG_EXIT_OK && !write_figure(r) && !o->no_plots) rc = NG_EXIT_FAIL;
    if (rc == NG_EXIT_OK) {
        char *md = ng_path_in(o->out, "race.md"), *text = read_file(md);
        if (text) fputs(text, stdout);
        printf("\ntable: %s (every number: %s/race.csv)%s%s/race.png\n", md, o->out,
               o->no_plots ? "" : "; figure: ", o->no_plots ? "" : o->out);
        free(text);
        free(md);
    }
    return rc;
}

static int race_ae(int argc, char **argv)
{
    race *r = calloc(1, sizeof *r);
    if (!r) return NG_EXIT_FAIL;
    int rc = race_parse(r, argc, argv);
    if (rc >= 0) {
        free_methods(r);
        free(r);
        return rc;
    }
    const race_opts *o = &r->o;
    int lock = -1;
    if (mkdir(o->out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "natgrad race: cannot create %s: %s\n", o->out, strerror(errno));
        rc = NG_EXIT_FAIL;
    }
    r->runs_dir = ng_path_in(o->out, "runs");
    if (rc < 0 && (lock = lock_dir(o->out)) < 0) rc = NG_EXIT_FAIL;
    if (rc < 0) rc = check_plan(r);
    if (rc < 0 && mkdir(r->runs_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "natgrad race: cannot create %s: %s\n", r->runs_dir, strerror(errno));
        rc = NG_EXIT_FAIL;
    }
    if (rc < 0) {
        ng_cli_install_sigint();
        rc = run_race(r);
    }
    if (rc < 0) rc = race_report(r);
    if (lock >= 0) close(lock);
    free(r->runs_dir);
    free_methods(r);
    free(r);
    return rc;
}

int ng_cmd_race(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: natgrad race ae [options]\n\n"
                   "Races K-FAC against tuned SGD-Nesterov on a deep autoencoder ('natgrad race ae --help').\n");
        return argc < 2 ? NG_EXIT_USAGE : NG_EXIT_OK;
    }
    if (!strcmp(argv[1], "ae")) return race_ae(argc - 1, argv + 1);
    return ng_cli_usage_error("race", "unknown subcommand '%s' (expected 'ae')", argv[1]);
}
