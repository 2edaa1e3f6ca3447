/* cmd_converge.c - 'natgrad dmf converge': how many steps each run of a comparison needed,
 * measured so that an overshoot does not count as convergence.
 *
 *   natgrad dmf converge LOG.csv [LOG2.csv ...] [--rtol X] [--psi-rtol X] [--csv]
 *
 * The reference is shared by all the logs given: the lowest objective any of them reached
 * (L*) and psi at the row where it was reached (psi*). A run's steps to L* is the first
 * logged step from which on every row has L - L* <= rtol |L*|; its steps to psi* the first
 * from which on every row has |psi - psi*| <= psi_rtol |psi*| + rtol |L*| (the second term
 * keeps a psi that converges to about 0 measurable: a difference in psi below the
 * objective's tolerance does not matter). A run that never stays there is "never". */
#include "cli.h"
#include "commands.h"
#include "csv_read.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMD "dmf converge"
#define MAX_LOGS 256

typedef struct {
    const char *path;
    double *step, *obj, *psi; /* n rows each */
    size_t n;
} run_log;

typedef struct {
    const char *obj_col, *psi_col;
    const char *psi_ref; /* NULL: psi at L*; "final": each log's last psi; else a number */
    double rtol, psi_rtol;
    int csv;
} converge_opts;

/* First logged step from which on ok(row) holds for every row; -1 if the last row fails. */
static double settle_step(const run_log *r, int (*ok)(const run_log *, size_t, const double *),
                          const double *ref)
{
    double at = -1.0;
    for (size_t i = r->n; i-- > 0;) {
        if (!ok(r, i, ref)) break;
        at = r->step[i];
    }
    return at;
}

/* ref: L*, psi*, rtol, psi_rtol */
static int obj_ok(const run_log *r, size_t i, const double *ref)
{
    return isfinite(r->obj[i]) && r->obj[i] - ref[0] <= ref[2] * fabs(ref[0]);
}

static int psi_ok(const run_log *r, size_t i, const double *ref)
{
    return isfinite(r->psi[i]) && fabs(r->psi[i] - ref[1]) <= ref[3] * fabs(ref[1]) + ref[2] * fabs(ref[0]);
}

static int read_log(const converge_opts *o, const char *path, run_log *r)
{
    const char *names[3] = {"step", o->obj_col, o->psi_col};
    double *cols[3] = {NULL, NULL, NULL};
    memset(r, 0, sizeof *r);
    r->path = path;
    if (!ng_csv_read_columns(CMD, path, names, 3, cols, &r->n)) return 0;
    r->step = cols[0];
    r->obj = cols[1];
    r->psi = cols[2];
    if (r->n == 0) {
        fprintf(stderr, "natgrad %s: %s: no rows after the header (expected a training log)\n", CMD, path);
        return 0;
    }
    return 1;
}

static void free_log(run_log *r)
{
    free(r->step);
    free(r->obj);
    free(r->psi);
}

/* L* and psi* over all the logs; 0 (message printed) when no row has a finite objective. */
static int reference(const run_log *logs, size_t n, double *ref)
{
    int found = 0;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < logs[k].n; i++)
            if (isfinite(logs[k].obj[i]) && (!found || logs[k].obj[i] < ref[0])) {
                ref[0] = logs[k].obj[i];
                ref[1] = logs[k].psi[i];
                found = 1;
            }
    if (!found) fprintf(stderr, "natgrad %s: no log has a finite value in its objective column\n", CMD);
    return found;
}

static void print_step(double s, int csv)
{
    if (s >= 0) printf(csv ? "%.0f" : "%12.0f", s);
    else if (!csv) printf("%12s", "never"); /* CSV: an empty field */
}

static void report(const converge_opts *o, const run_log *logs, size_t n, const double *ref)
{
    int own_final = o->psi_ref && !strcmp(o->psi_ref, "final");
    if (o->csv) printf("log,steps_objective,steps_psi,last_step,final_objective,final_psi\n");
    else {
        printf("reference: lowest %s %.10g over all logs; ", o->obj_col, ref[0]);
        if (own_final) printf("%s: each log's own final value", o->psi_col);
        else printf("%s %s %.10g", o->psi_col, o->psi_ref ? "given" : "there", ref[1]);
        printf("; tolerances: %s within %g relative, %s within %g relative + %g\n", o->obj_col, o->rtol,
               o->psi_col, o->psi_rtol, o->rtol * fabs(ref[0]));
        printf("%-40s %12s %12s %10s %16s %14s\n", "log", "steps to L*", "steps to psi*", "last step",
               "final objective", "final psi");
    }
    for (size_t k = 0; k < n; k++) {
        const run_log *r = &logs[k];
        printf(o->csv ? "%s," : "%-40s ", r->path);
        print_step(settle_step(r, obj_ok, ref), o->csv);
        printf(o->csv ? "," : " ");
        double own[4] = {ref[0], ref[1], ref[2], ref[3]};
        if (own_final) own[1] = r->psi[r->n - 1];
        print_step(settle_step(r, psi_ok, own), o->csv);
        printf(o->csv ? ",%.0f,%.10g,%.10g\n" : " %10.0f %16.10g %14.8g\n", r->step[r->n - 1],
               r->obj[r->n - 1], r->psi[r->n - 1]);
    }
}

int ng_cmd_dmf_converge(int argc, char **argv)
{
    converge_opts o = {.obj_col = "loss", .psi_col = "psi", .rtol = 1e-4, .psi_rtol = 0.01};
    const ng_cli_opt table[] = {
        {.name = "rtol", .type = NG_CLI_DOUBLE, .dst = &o.rtol, .lo = 0, .hi = 1, .meta = "X",
         .help = "relative tolerance on the objective"},
        {.name = "psi-rtol", .type = NG_CLI_DOUBLE, .dst = &o.psi_rtol, .lo = 0, .hi = 1, .meta = "X",
         .help = "relative tolerance on psi"},
        {.name = "objective", .type = NG_CLI_STR, .dst = &o.obj_col, .meta = "COL", .help = "the objective's column"},
        {.name = "psi", .type = NG_CLI_STR, .dst = &o.psi_col, .meta = "COL", .help = "psi's column"},
        {.name = "psi-ref", .type = NG_CLI_STR, .dst = &o.psi_ref, .meta = "X|final",
         .help = "psi's reference instead of psi at L*: a number, or 'final' (each\n"
                 "log's own last psi)"},
        {.name = "csv", .type = NG_CLI_FLAG, .dst = &o.csv,
         .help = "print CSV (log,steps_objective,steps_psi,last_step,final_objective,\n"
                 "final_psi; an empty steps field: never)"},
        NG_CLI_END};
    const ng_cli_opt *tables[] = {table};
    const ng_cli_spec spec = {
        .name = CMD, .synopsis = "LOG.csv [LOG2.csv ...] [options]",
        .intro = "Steps each run needed to converge, robust to overshoot: the reference is the\n"
                 "lowest objective L* any of the logs reached and psi* (psi at that row); a run's\n"
                 "steps to L* is the first logged step from which on every row has\n"
                 "L - L* <= rtol |L*|, its steps to psi* the first from which on every row has\n"
                 "|psi - psi*| <= psi-rtol |psi*| + rtol |L*|. Give the logs of one comparison\n"
                 "(same data, model and seed; different symmetry modes or optimisers).\n",
        .outro = "Exit status: 0 done, 1 a log cannot be read, 2 usage error.\n",
        .tables = tables, .n_tables = 1, .positional = MAX_LOGS};
    const char *pos[MAX_LOGS];
    int npos = 0;
    int rc = ng_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (npos < 1) return ng_cli_usage_error(CMD, "expected at least one LOG.csv");
    run_log logs[MAX_LOGS];
    size_t n = 0;
    rc = NG_EXIT_OK;
    for (int k = 0; k < npos && rc == NG_EXIT_OK; k++)
        if (read_log(&o, pos[k], &logs[n])) n++;
        else rc = NG_EXIT_FAIL;
    double ref[4] = {0.0, 0.0, o.rtol, o.psi_rtol};
    if (rc == NG_EXIT_OK && !reference(logs, n, ref)) rc = NG_EXIT_FAIL;
    if (rc == NG_EXIT_OK && o.psi_ref && strcmp(o.psi_ref, "final") &&
        !ng_cli_parse_double(CMD, "--psi-ref", o.psi_ref, -1e300, 1e300, &ref[1]))
        rc = NG_EXIT_USAGE;
    if (rc == NG_EXIT_OK) report(&o, logs, n, ref);
    for (size_t k = 0; k < n; k++) free_log(&logs[k]);
    return rc;
}
