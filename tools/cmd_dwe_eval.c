/* cmd_dwe_eval.c - 'natgrad dwe evaluate MODEL --truth truth.csv': a trained model
 * against the planted truth of 'natgrad dwe synth' (the numbers are ng_dwe_evaluate's;
 * this file parses, prints a table and writes the CSV atomically). */
#include "cli.h"
#include "commands.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ECMD "dwe evaluate"

static const char k_eval_intro[] =
    "Measures a trained model (MODEL, a 'natgrad dwe train --out' directory) against the\n"
    "truth.csv of the synthetic corpus it was trained on ('natgrad dwe synth'):\n"
    "  1. drift detection: the AUC of 1 - cos(u_first, u_last) for drifting words (abrupt,\n"
    "     gradual, broadening) against stable and frequency-only words, and against\n"
    "     frequency-only words alone (Mann-Whitney, ties counting 1/2)\n"
    "  2. abrupt change times: the share of abrupt words whose largest step\n"
    "     ||u_{t+1} - u_t|| lies within 2 slices of the planted tau\n"
    "  3. precision@10: the share of a stable or frequency-only word's 10 nearest\n"
    "     neighbours at a slice that share its topic there; min and median over slices\n"
    "  4. the median of cos(u_first, u_last) over all words, raw and Procrustes-aligned\n"
    "Model slice t (from 0) is the truth's slice t + 1.";

static void print_num(FILE *f, double x)
{
    if (isnan(x)) fputs("nan", f);
    else fprintf(f, "%.6g", x);
}

/* One row per number: name,value (atomically). */
static int write_csv(const char *path, const ng_dwe_eval *e)
{
    const struct {
        const char *name;
        double v;
    } rows[] = {
        {"matched", (double)e->matched}, {"missing", (double)e->missing},
        {"n_drift", (double)e->n_drift}, {"n_stable", (double)e->n_stable},
        {"n_freq", (double)e->n_freq}, {"auc", e->auc}, {"auc_freq", e->auc_freq},
        {"n_abrupt", (double)e->n_abrupt}, {"change_hits", (double)e->change_hits},
        {"change_share", e->change_share}, {"n_queries", (double)e->n_queries},
        {"prec_slices", (double)e->prec_slices}, {"prec10_min", e->prec_min},
        {"prec10_median", e->prec_median}, {"overlap_median", e->overlap_median},
        {"overlap_aligned_median", e->overlap_aligned_median}};
    ng_atomic_file af;
    if (ng_atomic_open(&af, path)) return ng_cli_fail(ECMD, "cannot write the CSV");
    int ok = fputs("metric,value\n", af.f) >= 0;
    for (size_t k = 0; ok && k < sizeof rows / sizeof rows[0]; k++) {
        ok = fprintf(af.f, "%s,", rows[k].name) > 0;
        if (isnan(rows[k].v)) ok = ok && fputs("nan\n", af.f) >= 0;
        else ok = ok && fprintf(af.f, "%.17g\n", rows[k].v) > 0;
    }
    if (!ok) {
        ng_atomic_abort(&af);
        fprintf(stderr, "natgrad %s: cannot write %s\n", ECMD, path);
        return NG_EXIT_FAIL;
    }
    if (ng_atomic_commit(&af)) return ng_cli_fail(ECMD, "cannot write the CSV");
    return NG_EXIT_OK;
}

static void print_table(const char *model, const ng_dwe_model *m, const ng_dwe_eval *e)
{
    printf("natgrad dwe evaluate: %s (T %zu, W %zu, d %zu); %zu truth words in the model, %zu not\n",
           model, m->T, m->W, m->d, e->matched, e->missing);
    printf("  %-44s %s\n", "measure", "value");
    printf("  %-44s ", "drift AUC vs stable+frequency");
    print_num(stdout, e->auc);
    printf("   (%zu drifting, %zu stable, %zu frequency)\n", e->n_drift, e->n_stable, e->n_freq);
    printf("  %-44s ", "drift AUC vs frequency-only");
    print_num(stdout, e->auc_freq);
    printf("\n  %-44s ", "abrupt change time within +-2 slices");
    print_num(stdout, e->change_share);
    printf("   (%zu of %zu)\n", e->change_hits, e->n_abrupt);
    printf("  %-44s ", "precision@10 min over slices");
    print_num(stdout, e->prec_min);
    printf("   (%zu slices, %zu queries)\n  %-44s ", e->prec_slices, e->n_queries,
           "precision@10 median over slices");
    print_num(stdout, e->prec_median);
    printf("\n  %-44s ", "median cos(u_first, u_last)");
    print_num(stdout, e->overlap_median);
    printf("\n  %-44s ", "median cos(u_first, u_last), Procrustes");
    print_num(stdout, e->overlap_aligned_median);
    printf("\n");
}

int ng_cmd_dwe_eval(int argc, char **argv)
{
    const char *truth_path = NULL, *csv = NULL, *pos[1] = {NULL};
    int npos = 0;
    const ng_cli_opt opts[] = {
        {.name = "truth", .type = NG_CLI_STR, .dst = &truth_path, .meta = "FILE", .flags = NG_CLI_REQUIRED,
         .help = "the truth.csv of the synthetic corpus (word,kind,tau,home_topic,new_topic)"},
        {.name = "csv", .type = NG_CLI_STR, .dst = &csv, .meta = "FILE",
         .help = "also write the numbers as metric,value lines (atomically)"},
        NG_CLI_END};
    const ng_cli_opt *tabs[] = {opts};
    ng_cli_spec spec = {
        .name = ECMD, .synopsis = "MODEL --truth FILE [--csv FILE]", .tables = tabs, .n_tables = 1,
        .positional = 1, .intro = k_eval_intro,
        .outro = "Exit status: 0 ok; 1 when the model or the truth cannot be read (one line naming\n"
                 "the file and line) or the CSV cannot be written; 2 for a usage error."};
    int rc = ng_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc >= 0) return rc;
    if (npos != 1) return ng_cli_usage_error(spec.name, "expected one MODEL directory");
    ng_cli_banner_spec(&spec, NULL);
    ng_dwe_model m;
    if (ng_dwe_model_read(pos[0], &m)) return ng_cli_fail(spec.name, "cannot read the model");
    ng_dwe_truth tr;
    if (ng_dwe_truth_read(truth_path, &tr)) {
        ng_dwe_model_free(&m);
        return ng_cli_fail(spec.name, "cannot read the truth");
    }
    ng_dwe_eval e;
    rc = ng_dwe_evaluate(&m, &tr, &e) ? ng_cli_fail(spec.name, "cannot evaluate") : NG_EXIT_OK;
    if (!rc) print_table(pos[0], &m, &e);
    if (!rc && csv) rc = write_csv(csv, &e);
    ng_dwe_truth_free(&tr);
    ng_dwe_model_free(&m);
    return rc;
}
