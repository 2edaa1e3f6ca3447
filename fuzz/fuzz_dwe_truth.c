/* fuzz_dwe_truth.c - ng_dwe_truth_read of a truth.csv ('natgrad dwe synth', read by
 * 'natgrad dwe evaluate'), then ng_dwe_evaluate of a fixed small model (3 slices, the
 * words car boat cart sky sea, dim 2) against it: measures that are NaN or in [0, 1], or
 * NG_EINVAL naming the offence (a tau past the model's slices, no word in common). */
#include "ngfuzz.h"

#include <math.h>

static ng_dwe_model model(void)
{
    static double time[3] = {1850, 1855, 1860};
    static unsigned char train[3] = {1, 0, 1};
    static char *word[5] = {"car", "boat", "cart", "sky", "sea"};
    static double count[5] = {10, 8, 5, 3, 1};
    static float U[30] = {1, 0, 0.8f, 0.6f, 0, 1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 2, 0, -1, 3, 4,
                          0.6f, 0.8f, 0, 1, 1, 0, -2, 0, 0, 0};
    ng_dwe_model m = {.T = 3, .W = 5, .d = 2, .time = time, .train = train, .word = word,
                      .count = count, .U = U, .V = U};
    return m;
}

static int unit(double x) { return isnan(x) || (x >= 0 && x <= 1); }

int ngf_dwe_truth(const uint8_t *d, size_t n)
{
    const char *path = ngf_path(0, "truth.csv");
    ngf_write(path, d, n);
    ng_dwe_truth t;
    ngf_mem_begin();
    ng_status s = ng_dwe_truth_read(path, &t);
    ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_dwe_truth_read");
    if (s) {
        ngf_refused(s, path);
        return 0;
    }
    ng_dwe_model m = model();
    ng_dwe_eval e;
    s = ng_dwe_evaluate(&m, &t, &e);
    if (s && s != NG_EINVAL) ngf_die("ng_dwe_evaluate: %s: %s", ng_status_name(s), ng_last_error());
    if (!s && (!unit(e.auc) || !unit(e.auc_freq) || !unit(e.change_share) || !unit(e.prec_min) ||
               !unit(e.prec_median) || e.matched + e.missing != t.n))
        ngf_die("ng_dwe_evaluate: a measure outside [0, 1]");
    ng_dwe_truth_free(&t);
    return 1;
}

NGF_TARGET(ngf_dwe_truth)
