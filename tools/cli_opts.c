/* cli_opts.c - option tables (see cli.h): one description of a command's options gives
 * its parsing, its --help, the start-of-run banner and the checkpoint's settings, so the
 * four cannot disagree. */
#include "cli.h"

#include <float.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define OPT_BASE 256   /* getopt_long's val of option i is OPT_BASE + i: above every char */
#define HELP_COL_MAX 30 /* the help text starts at most this far right */

static int table_end(const ng_cli_opt *o) { return !o->name && !o->help; }
static int is_option(const ng_cli_opt *o) { return o->type != NG_CLI_SECTION && o->name; }

/* Every option of every table, in order, sections left out. */
typedef struct {
    const ng_cli_opt **opt;
    size_t n;
} opt_list;

static int list_options(const ng_cli_spec *spec, opt_list *l)
{
    size_t n = 0;
    for (size_t t = 0; t < spec->n_tables; t++)
        for (const ng_cli_opt *o = spec->tables[t]; !table_end(o); o++) n += (size_t)is_option(o);
    l->n = 0;
    l->opt = malloc((n + 1) * sizeof *l->opt);
    if (!l->opt) return 0;
    for (size_t t = 0; t < spec->n_tables; t++)
        for (const ng_cli_opt *o = spec->tables[t]; !table_end(o); o++)
            if (is_option(o)) l->opt[l->n++] = o;
    return 1;
}

/* A table bound (a double) as an integer of a type with range [tmin, tmax]. */
static long clamp_long(double x, long tmin, long tmax)
{
    if (x <= (double)tmin) return tmin;
    if (x >= (double)tmax) return tmax;
    return (long)x;
}

static int parse_integer(const char *cmd, const char *name, const ng_cli_opt *o, const char *arg,
                         long tmin, long tmax, long *v)
{
    long lo = tmin, hi = tmax;
    if (o->lo != 0 || o->hi != 0) {
        lo = clamp_long(o->lo, tmin, tmax);
        hi = clamp_long(o->hi, tmin, tmax);
    }
    return ng_cli_parse_long(cmd, name, arg, lo, hi, v);
}

/* Stores arg into o's field; prints the error and returns 0 when it is malformed. */
static int set_value(const char *cmd, const ng_cli_opt *o, const char *arg)
{
    char name[128];
    snprintf(name, sizeof name, "--%s", o->name);
    long v;
    switch (o->type) {
    case NG_CLI_SECTION: return 1;
    case NG_CLI_FLAG: *(int *)o->dst = 1; return 1;
    case NG_CLI_STR: *(const char **)o->dst = arg; return 1;
    case NG_CLI_INT:
        if (!parse_integer(cmd, name, o, arg, INT_MIN, INT_MAX, &v)) return 0;
        *(int *)o->dst = (int)v;
        return 1;
    case NG_CLI_LONG:
        if (!parse_integer(cmd, name, o, arg, LONG_MIN, LONG_MAX, &v)) return 0;
        *(long *)o->dst = v;
        return 1;
    case NG_CLI_SIZE:
        if (!parse_integer(cmd, name, o, arg, 0, LONG_MAX, &v)) return 0;
        *(size_t *)o->dst = (size_t)v;
        return 1;
    case NG_CLI_I64:
        if (!parse_integer(cmd, name, o, arg, LONG_MIN, LONG_MAX, &v)) return 0;
        *(int64_t *)o->dst = (int64_t)v;
        return 1;
    case NG_CLI_U64: return ng_cli_parse_u64(cmd, name, arg, (uint64_t *)o->dst);
    case NG_CLI_DOUBLE: {
        int whole = o->lo == 0 && o->hi == 0;
        return ng_cli_parse_double(cmd, name, arg, whole ? -DBL_MAX : o->lo,
                                   whole ? DBL_MAX : o->hi, (double *)o->dst);
    }
    case NG_CLI_CHOICE: {
        int k = ng_cli_parse_choice(cmd, name, arg, o->choices);
        if (k < 0) return 0;
        *(int *)o->dst = k;
        return 1;
    }
    }
    return 1;
}

/* The message for what getopt_long refused (ch '?' or ':'). */
static int bad_option(const char *cmd, const opt_list *l, int ch, char **argv)
{
    const char *a = argv[optind - 1];
    int is_long = a && a[0] == '-' && a[1] == '-';
    const char *name = optopt >= OPT_BASE && (size_t)(optopt - OPT_BASE) < l->n
                           ? l->opt[optopt - OPT_BASE]->name
                           : optopt == 'h' ? "help" : NULL;
    if (ch == ':' && name) return ng_cli_usage_error(cmd, "option '--%s' needs a value", name);
    if (is_long && name) return ng_cli_usage_error(cmd, "option '--%s' takes no value", name);
    if (!is_long && optopt) return ng_cli_usage_error(cmd, "unknown option '-%c'", optopt);
    int len = (int)strcspn(a, "=");
    size_t matches = 0;
    for (size_t i = 0; is_long && i < l->n; i++)
        matches += !strncmp(l->opt[i]->name, a + 2, (size_t)len - 2);
    if (matches > 1) return ng_cli_usage_error(cmd, "ambiguous option '%.*s'", len, a);
    return ng_cli_usage_error(cmd, "unknown option '%.*s'", len, a);
}

/* One getopt_long scan of argv applying the NG_CLI_EARLY options (early) or the others.
 * The first pass skips what it cannot parse: the second reports it, in order. */
static int run_pass(const ng_cli_spec *spec, const opt_list *l, const struct option *lo,
                    char *seen, int argc, char **argv, int early, int *help)
{
    optind = 0; /* glibc: 0 restarts the scan from scratch */
    opterr = 0; /* our messages name the command */
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        if (ch == 'h') {
            *help = 1;
            continue;
        }
        if (ch == '?' || ch == ':') {
            if (early) continue;
            return bad_option(spec->name, l, ch, argv);
        }
        size_t i = (size_t)(ch - OPT_BASE);
        const ng_cli_opt *o = l->opt[i];
        if (!(o->flags & NG_CLI_EARLY) != !early) continue;
        if (!set_value(spec->name, o, optarg)) return NG_EXIT_USAGE;
        seen[i] = 1;
        if (o->given) *o->given = 1;
    }
    return -1;
}

/* The getopt_long table: the options, then --help. -1 on a name listed twice (a bug in
 * the tables, said at once rather than one of the two silently ignored). */
static int build_longopts(const char *cmd, const opt_list *l, struct option *lo)
{
    for (size_t i = 0; i < l->n; i++) {
        const ng_cli_opt *o = l->opt[i];
        int twice = !strcmp(o->name, "help");
        for (size_t j = 0; j < i; j++) twice |= !strcmp(l->opt[j]->name, o->name);
        if (twice) {
            fprintf(stderr, "natgrad %s: option --%s is described twice\n", cmd, o->name);
            return -1;
        }
        lo[i].name = o->name;
        lo[i].has_arg = o->type == NG_CLI_FLAG ? no_argument : required_argument;
        lo[i].flag = NULL;
        lo[i].val = OPT_BASE + (int)i;
    }
    lo[l->n] = (struct option){"help", no_argument, NULL, 'h'};
    lo[l->n + 1] = (struct option){NULL, 0, NULL, 0};
    return 0;
}

static int check_required(const char *cmd, const opt_list *l, const char *seen)
{
    for (size_t i = 0; i < l->n; i++)
        if ((l->opt[i]->flags & NG_CLI_REQUIRED) && !seen[i])
            return ng_cli_usage_error(cmd, "--%s %s is required", l->opt[i]->name,
                                      l->opt[i]->meta ? l->opt[i]->meta : "VALUE");
    return -1;
}

int ng_cli_parse(const ng_cli_spec *spec, int argc, char **argv, const char **pos, int *npos)
{
    if (npos) *npos = 0;
    opt_list l;
    struct option *lo = NULL;
    char *seen = NULL;
    int rc = NG_EXIT_FAIL, help = 0;
    if (!list_options(spec, &l) || !(lo = malloc((l.n + 2) * sizeof *lo)) ||
        !(seen = calloc(l.n + 1, 1))) {
        fprintf(stderr, "natgrad %s: out of memory\n", spec->name);
        goto done;
    }
    if (build_longopts(spec->name, &l, lo)) goto done;
    rc = run_pass(spec, &l, lo, seen, argc, argv, 1, &help);
    if (rc < 0 && spec->preset) spec->preset(spec->ctx);
    if (rc < 0 && help) {
        ng_cli_help(stdout, spec);
        rc = NG_EXIT_OK;
    }
    if (rc < 0) rc = run_pass(spec, &l, lo, seen, argc, argv, 0, &help);
    if (rc < 0) rc = check_required(spec->name, &l, seen);
    if (rc < 0) {
        int n = argc - optind;
        if (n > spec->positional) {
            int first = optind + (spec->positional > 0 ? spec->positional : 0);
            rc = ng_cli_usage_error(spec->name, "unexpected argument '%s'", argv[first]);
        } else {
            for (int i = 0; i < n && pos; i++) pos[i] = argv[optind + i];
            if (npos) *npos = n;
        }
    }
done:
    free(l.opt);
    free(lo);
    free(seen);
    return rc;
}

/* ------------------------------------------------------------------ values */

/* The fewest significant digits that read back to x exactly: readable and exact. */
static void format_double(double x, char *buf, size_t len)
{
    if (!isfinite(x)) {
        snprintf(buf, len, "%g", x);
        return;
    }
    int p = 1;
    while (p < 17 && (snprintf(buf, len, "%.*g", p, x), strtod(buf, NULL) != x)) p++;
    /* whole numbers in plain digits: 150, not 1.5e+02 */
    double a = fabs(x);
    int digits = a >= 1 && a < 1e17 ? (int)floor(log10(a)) + 1 : 0;
    snprintf(buf, len, "%.*g", p > digits ? p : digits, x);
}

const char *ng_cli_format_value(const ng_cli_opt *o, char *buf, size_t len)
{
    if (len) buf[0] = '\0';
    switch (o->type) {
    case NG_CLI_SECTION: break;
    case NG_CLI_FLAG: snprintf(buf, len, "%s", *(const int *)o->dst ? "on" : "off"); break;
    case NG_CLI_STR: {
        const char *s = *(const char *const *)o->dst;
        return s ? s : "";
    }
    case NG_CLI_INT: snprintf(buf, len, "%d", *(const int *)o->dst); break;
    case NG_CLI_LONG: snprintf(buf, len, "%ld", *(const long *)o->dst); break;
    case NG_CLI_SIZE: snprintf(buf, len, "%zu", *(const size_t *)o->dst); break;
    case NG_CLI_I64: snprintf(buf, len, "%" PRId64, *(const int64_t *)o->dst); break;
    case NG_CLI_U64: snprintf(buf, len, "%" PRIu64, *(const uint64_t *)o->dst); break;
    case NG_CLI_DOUBLE: format_double(*(const double *)o->dst, buf, len); break;
    case NG_CLI_CHOICE: {
        int k = *(const int *)o->dst, n = 0;
        while (o->choices[n]) n++;
        snprintf(buf, len, "%s", k >= 0 && k < n ? o->choices[k] : "?");
        break;
    }
    }
    return buf;
}

/* ------------------------------------------------------------------ --help */

/* "--name META" of an option (META from the table, the choices, or the type). */
static void option_left(const ng_cli_opt *o, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "--%s", o->name);
    if (o->type == NG_CLI_FLAG || used >= len) return;
    if (o->meta) {
        snprintf(buf + used, len - used, " %s", o->meta);
    } else if (o->type == NG_CLI_CHOICE) {
        for (int k = 0; o->choices[k] && used < len; k++)
            used += (size_t)snprintf(buf + used, len - used, "%c%s", k ? '|' : ' ', o->choices[k]);
    } else {
        snprintf(buf + used, len - used, " %s",
                 o->type == NG_CLI_DOUBLE ? "X" : o->type == NG_CLI_STR ? "S" : "N");
    }
}

static void print_option(FILE *f, const ng_cli_opt *o, int col)
{
    char left[256], val[64];
    option_left(o, left, sizeof left);
    int used = fprintf(f, "  %s", left);
    if (used + 2 > col) {
        fputc('\n', f);
        used = 0;
    }
    fprintf(f, "%*s", col - used, "");
    for (const char *h = o->help ? o->help : ""; *h;) {
        size_t n = strcspn(h, "\n");
        fwrite(h, 1, n, f);
        h += n;
        if (*h == '\n' && *++h) fprintf(f, "\n%*s", col, "");
    }
    const char *def = ng_cli_format_value(o, val, sizeof val);
    if (!(o->flags & NG_CLI_NO_DEFAULT) && *def) fprintf(f, "%s[%s]", o->help ? " " : "", def);
    fputc('\n', f);
}

/* Text that should end its line: adds the newline when it lacks one. */
static void put_para(FILE *f, const char *s)
{
    size_t n = strlen(s);
    fputs(s, f);
    if (n && s[n - 1] != '\n') fputc('\n', f);
}

void ng_cli_help(FILE *f, const ng_cli_spec *spec)
{
    int col = 0;
    for (size_t t = 0; t < spec->n_tables; t++)
        for (const ng_cli_opt *o = spec->tables[t]; !table_end(o); o++) {
            char left[256];
            if (!is_option(o)) continue;
            option_left(o, left, sizeof left);
            int w = (int)strlen(left) + 4;
            if (w > col && w <= HELP_COL_MAX) col = w;
        }
    if (col < 16) col = 16;
    fprintf(f, "usage: natgrad %s%s%s\n", spec->name, spec->synopsis ? " " : "",
            spec->synopsis ? spec->synopsis : "");
    if (spec->intro) {
        fputc('\n', f);
        put_para(f, spec->intro);
    }
    int headed = 0;
    for (size_t t = 0; t < spec->n_tables; t++)
        for (const ng_cli_opt *o = spec->tables[t]; !table_end(o); o++) {
            if (!is_option(o)) {
                size_t n = o->help ? strlen(o->help) : 0;
                fprintf(f, "\n%s%s\n", n ? o->help : "Options", n && o->help[n - 1] == ':' ? "" : ":");
                headed = 1;
                continue;
            }
            if (!headed) fputs("\nOptions:\n", f);
            headed = 1;
            print_option(f, o, col);
        }
    if (!headed) fputs("\nOptions:\n", f);
    fprintf(f, "  -h, --help%*sshow this help and exit\n", col - 12 > 1 ? col - 12 : 1, "");
    if (spec->outro) {
        fputc('\n', f);
        put_para(f, spec->outro);
    }
}

/* ------------------------------------------------------------------ banner, settings */

/* The option called name in any of spec's tables, or NULL. */
static const ng_cli_opt *find_option(const ng_cli_spec *spec, const char *name)
{
    for (size_t t = 0; t < spec->n_tables; t++)
        for (const ng_cli_opt *o = spec->tables[t]; !table_end(o); o++)
            if (is_option(o) && !strcmp(o->name, name)) return o;
    return NULL;
}

/* --steps not given beside a --time-limit: the default step count does not apply
 * (ng_train_step_limit), so the banner must not show it. */
static int steps_unused(const ng_cli_spec *spec, const ng_cli_opt *o)
{
    if (strcmp(o->name, "steps") || !o->given || *o->given) return 0;
    const ng_cli_opt *tl = find_option(spec, "time-limit");
    return tl && tl->type == NG_CLI_DOUBLE && *(const double *)tl->dst > 0;
}

/* --eval-every not given beside a --time-limit alone: the rows come by time instead
 * (ng_train_eval_seconds is the rule); the seconds between rows, else 0. */
static double eval_every_unused(const ng_cli_spec *spec, const ng_cli_opt *o)
{
    if (strcmp(o->name, "eval-every") || !o->given) return 0;
    const ng_cli_opt *tl = find_option(spec, "time-limit"), *es = find_option(spec, "eval-seconds");
    if (!tl || tl->type != NG_CLI_DOUBLE || !es || es->type != NG_CLI_DOUBLE || *(const double *)es->dst > 0)
        return 0;
    ng_train_params p = ng_train_default_params();
    p.time_limit = *(const double *)tl->dst;
    p.eval_every_given = *o->given;
    return ng_train_eval_seconds(&p);
}

void ng_cli_banner_spec(const ng_cli_spec *spec, const char *extra)
{
    char val[64];
    const ng_cli_opt *seed = find_option(spec, "seed");
    fprintf(stderr, "natgrad %s | %s", ng_version(), spec->name);
    if (seed) fprintf(stderr, " | seed %s", ng_cli_format_value(seed, val, sizeof val));
    fprintf(stderr, " | BLAS threads %d (%s) | OpenMP threads %d", ng_blas_threads(), ng_blas_core(),
            omp_get_max_threads());
    for (size_t t = 0; t < spec->n_tables; t++)
        for (const ng_cli_opt *o = spec->tables[t]; !table_end(o); o++) {
            if (!is_option(o) || o == seed || (o->flags & NG_CLI_NO_BANNER)) continue;
            if (o->type == NG_CLI_STR && !*(const char *const *)o->dst) continue;
            double ev = eval_every_unused(spec, o);
            if (steps_unused(spec, o)) fprintf(stderr, " | steps no limit (time limit)");
            else if (ev > 0) fprintf(stderr, " | eval-every %g s (time limit / 20)", ev);
            else fprintf(stderr, " | %s %s", o->name, ng_cli_format_value(o, val, sizeof val));
        }
    if (extra && *extra) fprintf(stderr, " | %s", extra);
    fputc('\n', stderr);
}

char *ng_cli_settings(const ng_cli_spec *spec)
{
    char *s = NULL, val[64];
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    if (!f) return NULL;
    for (size_t t = 0; t < spec->n_tables; t++)
        for (const ng_cli_opt *o = spec->tables[t]; !table_end(o); o++)
            if (is_option(o) && (o->flags & NG_CLI_SETTING))
                fprintf(f, "%s=%s\n", o->name, ng_cli_format_value(o, val, sizeof val));
    if (fclose(f) != 0) {
        free(s);
        return NULL;
    }
    return s;
}
