/* test_blas_hint.c - the rule behind 'natgrad version's kernel hint and run.sh demo's
 * OPENBLAS_CORETYPE (tools/cli_common.c): generic kernels on an AVX-512 or AVX2 CPU get the
 * set that fits it; a set that already fits (or a newer one) gets none; a CPU without
 * either gets none. */
#include "cli_common.c" /* the rule lives in the tool, not the library */
#include "ngtest.h"

#include <string.h>

static int is(const char *got, const char *want)
{
    return want ? got && !strcmp(got, want) : got == NULL;
}

static void test_rule(void)
{
    NG_CHECK_MSG(is(ng_cli_blas_hint_for("Prescott", 1, 1), "SkylakeX"), "Prescott on AVX-512 -> SkylakeX");
    NG_CHECK_MSG(is(ng_cli_blas_hint_for("Haswell", 1, 1), "SkylakeX"), "Haswell on AVX-512 -> SkylakeX");
    NG_CHECK_MSG(is(ng_cli_blas_hint_for("Prescott", 0, 1), "Haswell"), "Prescott on AVX2 -> Haswell");
    NG_CHECK_MSG(is(ng_cli_blas_hint_for("Core2", 0, 1), "Haswell"), "Core2 on AVX2 -> Haswell");
    NG_CHECK_MSG(is(ng_cli_blas_hint_for("SkylakeX", 1, 1), NULL), "SkylakeX on AVX-512: none");
    NG_CHECK_MSG(is(ng_cli_blas_hint_for("Cooperlake", 1, 1), NULL), "Cooperlake on AVX-512: none");
    NG_CHECK_MSG(is(ng_cli_blas_hint_for("Haswell", 0, 1), NULL), "Haswell on AVX2: none");
    NG_CHECK_MSG(is(ng_cli_blas_hint_for("Zen", 0, 1), NULL), "Zen on AVX2: none");
    NG_CHECK_MSG(is(ng_cli_blas_hint_for("Prescott", 0, 0), NULL), "no AVX2: none");
    NG_CHECK_MSG(is(ng_cli_blas_hint_for(NULL, 1, 1), NULL), "no kernel name: none");
}

static void test_environment_wins(void)
{
    setenv("OPENBLAS_CORETYPE", "Prescott", 1); /* the user's choice, even a slow one */
    NG_CHECK_MSG(ng_cli_blas_hint() == NULL, "OPENBLAS_CORETYPE set: no hint");
}

int main(void)
{
    NG_RUN(test_rule);
    NG_RUN(test_environment_wins);
    return ng_test_summary();
}
