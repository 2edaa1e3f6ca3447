/* test_dwe_timing.c - ng_dwe_get_timing / ng_dwe_timing_reset: steps counted, parts
 * non-negative and within the step's total, evaluations not counted, reset to zero, and
 * a model whose timing is read and reset trains to the same bits as one left alone. */
#include "natgrad.h"
#include "ngtest.h"

#include <string.h>

static ng_corpus small_corpus(void)
{
    ng_dwe_synth_params sp = ng_dwe_synth_default_params();
    sp.words = 120, sp.slices = 5, sp.sentences = 400, sp.small_sentences = 100;
    sp.null_variant = 1;
    ng_dwe_synth s;
    ng_corpus c;
    memset(&c, 0, sizeof c);
    if (ng_dwe_synth_make(&sp, &s) != NG_OK) return c;
    if (ng_dwe_synth_counts(&s, 0, &c) != NG_OK) memset(&c, 0, sizeof c);
    ng_dwe_synth_free(&s);
    return c;
}

static ng_dwe *model(const ng_corpus *c)
{
    ng_dwe_params p = ng_dwe_default_params();
    p.d = 8, p.batch_words = 50, p.batch_contexts = 70;
    ng_dwe *m = NULL;
    if (ng_dwe_new(c, &p, &m) != NG_OK) return NULL;
    ng_rng r;
    ng_rng_seed(&r, 3);
    ng_dwe_init(m, &r);
    return m;
}

static int all_zero(ng_dwe_timing t)
{
    return t.steps == 0 && t.draw == 0 && t.likelihood == 0 && t.prior == 0 && t.update == 0 &&
           t.total == 0;
}

static void test_timing(void)
{
    ng_corpus c = small_corpus();
    NG_CHECK(c.T == 5);
    ng_dwe *m = model(&c), *ref = model(&c);
    NG_CHECK(m && ref);
    if (!m || !ref) goto done;
    NG_CHECK(all_zero(ng_dwe_get_timing(m)));
    ng_rng r1, r2;
    ng_rng_seed(&r1, 9);
    ng_rng_seed(&r2, 9);
    for (int s = 0; s < 3; s++) NG_CHECK(ng_dwe_step(m, &r1, s == 1, NULL) == NG_OK);
    ng_dwe_timing t = ng_dwe_get_timing(m);
    NG_CHECK(t.steps == 3);
    NG_CHECK(t.draw >= 0 && t.likelihood > 0 && t.prior >= 0 && t.update >= 0);
    NG_CHECK(t.total > 0 && t.draw + t.likelihood + t.prior + t.update <= t.total * (1 + 1e-9) + 1e-12);
    /* evaluations are not steps */
    ng_dwe_info info;
    NG_CHECK(ng_dwe_objective(m, 5, &info) == NG_OK);
    ng_dwe_timing t2 = ng_dwe_get_timing(m);
    NG_CHECK(t2.steps == 3 && t2.likelihood == t.likelihood && t2.total == t.total);
    ng_dwe_timing_reset(m);
    NG_CHECK(all_zero(ng_dwe_get_timing(m)));
    NG_CHECK(ng_dwe_step(m, &r1, 0, NULL) == NG_OK);
    NG_CHECK(ng_dwe_get_timing(m).steps == 1);
    /* the same bits as a model whose timing nobody looks at */
    for (int s = 0; s < 4; s++) NG_CHECK(ng_dwe_step(ref, &r2, s == 1, NULL) == NG_OK);
    ng_dwe_views a = ng_dwe_get_views(m), b = ng_dwe_get_views(ref);
    size_t n = a.T * a.N * a.d;
    NG_CHECK(memcmp(a.mu, b.mu, n * sizeof *a.mu) == 0);
    NG_CHECK(memcmp(a.logb, b.logb, n * sizeof *a.logb) == 0);
    /* NULL: zeros, no crash */
    NG_CHECK(all_zero(ng_dwe_get_timing(NULL)));
    ng_dwe_timing_reset(NULL);
done:
    ng_dwe_free(m);
    ng_dwe_free(ref);
    ng_corpus_free(&c);
}

int main(void)
{
    NG_RUN(test_timing);
    return ng_test_summary();
}
