/* test_dwe_eval.c - a model against a planted truth on crafted tiny models: the drift
 * AUC against a hand computation with ties, the abrupt change times (the slice
 * convention and the +-2 window), precision@10 on a model with known neighbours (topic
 * membership over time, the >= 10 members rule), the first-last overlap, and the truth
 * reader's checks (file and line named). */
#include "corpus_internal.h"
#include "ngtest.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

/* A model directory NAME with words w[], T slices (times 1..T, all training) and U. */
static ng_dwe_model model(const char *name, size_t T, size_t W, size_t d,
                               const char *const *w, const float *U)
{
    char path[2048];
    snprintf(path, sizeof path, "%s", ng_test_in_dir("%s", name));
    mkdir(path, 0777);
    char f[2200];
    snprintf(f, sizeof f, "%s/model.txt", path);
    FILE *o = fopen(f, "w");
    fprintf(o, "natgrad-dwe-model 1\nmethod smoothing\ndim %zu\nW %zu\nT %zu\nsigma0 1\n"
               "diffusion 0.001\nsymmetry none\nsteps 1\n", d, W, T);
    fclose(o);
    snprintf(f, sizeof f, "%s/vocab.tsv", path);
    o = fopen(f, "w");
    for (size_t i = 0; i < W; i++) fprintf(o, "%s\t%zu\n", w[i], W - i);
    fclose(o);
    snprintf(f, sizeof f, "%s/times.csv", path);
    o = fopen(f, "w");
    fprintf(o, "slice,time,train\n");
    for (size_t t = 0; t < T; t++) fprintf(o, "%zu,%zu,1\n", t, t + 1);
    fclose(o);
    ng_tensor x;
    memset(&x, 0, sizeof x);
    x.dtype = NG_F32;
    x.ndim = 3;
    x.shape[0] = T, x.shape[1] = W, x.shape[2] = d;
    x.data = (void *)U;
    snprintf(f, sizeof f, "%s/U.npy", path);
    if (ng_npy_write(f, &x)) exit(1);
    snprintf(f, sizeof f, "%s/V.npy", path);
    if (ng_npy_write(f, &x)) exit(1);
    ng_dwe_model m;
    if (ng_dwe_model_read(path, &m)) {
        fprintf(stderr, "model %s: %s\n", name, ng_last_error());
        exit(1);
    }
    return m;
}

static ng_dwe_truth truth(const char *name, const char *text)
{
    ng_dwe_truth t;
    ng_test_write_text(ng_test_in_dir("%s", name), text);
    if (ng_dwe_truth_read(ng_test_in_dir("%s", name), &t)) {
        fprintf(stderr, "truth %s: %s\n", name, ng_last_error());
        exit(1);
    }
    return t;
}

/* Scores 1 - cos(first, last): a0 1, g0 1 - 1/sqrt 2, b0 0 (drifting); s0 0, s1 0.4,
 * f0 0. Against all 3 negatives: a0 3, g0 2 (s0, f0), b0 1/2 + 1/2 (ties with s0, f0):
 * 6 of 9. Against f0 alone: 1 + 1 + 1/2 of 3. "zz" is not in the model. */
static void test_auc(void)
{
    static const char *const w[] = {"a0", "g0", "b0", "s0", "s1", "f0"};
    static const float U[2 * 6 * 2] = {1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0,
                                       0, 1, 1, 1, 1, 0, 0, 1, 0.6f, 0.8f, 1, 0};
    ng_dwe_model m = model("auc", 2, 6, 2, w, U);
    ng_dwe_truth tr = truth("auc.csv", "word,kind,tau,home_topic,new_topic\n"
                                       "a0,abrupt,2,0,1\ng0,gradual,2,0,1\nb0,broadening,2,1,0\n"
                                       "s0,stable,-1,0,-1\ns1,stable,-1,1,-1\nf0,frequency,2,0,-1\n"
                                       "zz,stable,-1,0,-1\n");
    ng_dwe_eval e;
    NG_CHECK(ng_dwe_evaluate(&m, &tr, &e) == NG_OK);
    NG_CHECK(e.matched == 6 && e.missing == 1);
    NG_CHECK(e.n_drift == 3 && e.n_stable == 2 && e.n_freq == 1);
    NG_CHECK_NEAR(e.auc, 6.0 / 9, 1e-12);
    NG_CHECK_NEAR(e.auc_freq, 2.5 / 3, 1e-12);
    /* cos: 0, 1/sqrt 2, 1, 1, 0.6, 1: median (1/sqrt 2 + 1) / 2 */
    NG_CHECK_NEAR(e.overlap_median, (sqrt(0.5) + 1) / 2, 1e-6);
    NG_CHECK(e.n_abrupt == 1 && e.change_hits == 1); /* tau 2 in 2 slices: the only step */
    NG_CHECK(e.prec_slices == 0 && isnan(e.prec_min) && isnan(e.prec_median));
    ng_dwe_truth_free(&tr);
    ng_dwe_model_free(&m);
}

/* 8 slices. c0: the jump from slice 3 to 4 (from 1), tau 4: found 4, a hit; c1: the jump
 * 6 -> 7, tau 3: 7 is 4 away, a miss; c2: the jump 3 -> 4, tau 6: 2 away, a hit. Every
 * word turns by 90 degrees: raw overlap 0, aligned 1. */
static void test_change_times(void)
{
    static const char *const w[] = {"c0", "c1", "c2"};
    const int jump[3] = {3, 6, 3}; /* the first slice (from 0) after the jump */
    float U[8 * 3 * 2];
    for (int t = 0; t < 8; t++)
        for (int i = 0; i < 3; i++) {
            U[(t * 3 + i) * 2] = t < jump[i] ? 1.0f : 0.0f;
            U[(t * 3 + i) * 2 + 1] = t < jump[i] ? 0.0f : 1.0f;
        }
    ng_dwe_model m = model("change", 8, 3, 2, w, U);
    ng_dwe_truth tr = truth("change.csv", "word,kind,tau,home_topic,new_topic\n"
                                          "c0,abrupt,4,0,1\nc1,abrupt,3,0,1\nc2,abrupt,6,1,0\n");
    ng_dwe_eval e;
    NG_CHECK(ng_dwe_evaluate(&m, &tr, &e) == NG_OK);
    NG_CHECK(e.n_abrupt == 3);
    NG_CHECK_MSG(e.change_hits == 2, "%zu hits", e.change_hits);
    NG_CHECK_NEAR(e.change_share, 2.0 / 3, 1e-12);
    NG_CHECK(isnan(e.auc_freq) && isnan(e.auc)); /* no negatives */
    NG_CHECK_NEAR(e.overlap_median, 0, 1e-12);
    NG_CHECK_NEAR(e.overlap_aligned_median, 1, 1e-6);
    ng_dwe_truth_free(&tr);
    /* a tau past the model's slices is refused */
    tr = truth("change9.csv", "word,kind,tau,home_topic,new_topic\nc0,abrupt,9,0,1\n");
    NG_CHECK(ng_dwe_evaluate(&m, &tr, &e) == NG_EINVAL);
    NG_CHECK(strstr(ng_last_error(), "tau 9") != NULL);
    ng_dwe_truth_free(&tr);
    ng_dwe_model_free(&m);
}

/* Known neighbours, d 3, 3 slices. Topic 0: A0..A10 at angles 0, 2, ..., 20 degrees in
 * the xy plane; topic 1: B0..B10 at 70, 71.8, ..., 88; m abrupt (tau 2, 0 -> 1) at 10
 * degrees in slice 1 (from 1), 79 after; topic 2: C0..C2 on the z axis (3 words: too few
 * to be queries). Slices 1 and 2: every query's 10 neighbours share its topic, m counted
 * in topic 0 at 1, topic 1 at 2. Slice 3: A0 jumps to 180 degrees: its neighbours are C
 * and B (0 of 10), A1..A10 have 9 A's and B0 (9 of 10), the B's 10 of 10: 20 / 22. */
static void test_precision(void)
{
    enum { W = 26, T = 3 };
    const char *w[W];
    char names[W][8];
    float U[T * W * 3];
    memset(U, 0, sizeof U);
    const double deg = M_PI / 180;
    for (int i = 0; i < W; i++) {
        if (i < 11) snprintf(names[i], sizeof names[i], "A%d", i);
        else if (i < 22) snprintf(names[i], sizeof names[i], "B%d", i - 11);
        else if (i == 22) snprintf(names[i], sizeof names[i], "m");
        else snprintf(names[i], sizeof names[i], "C%d", i - 23);
        w[i] = names[i];
        for (int t = 0; t < T; t++) {
            float *u = U + (t * W + i) * 3;
            double a = i < 11 ? 2.0 * i : i < 22 ? 70 + 1.8 * (i - 11) : t == 0 ? 10 : 79;
            if (i == 0 && t == 2) a = 180;
            if (i > 22) {
                u[2] = 1;
                continue;
            }
            u[0] = (float)cos(a * deg), u[1] = (float)sin(a * deg);
        }
    }
    ng_dwe_model m = model("prec", T, W, 3, w, U);
    char text[4096] = "word,kind,tau,home_topic,new_topic\n";
    for (int i = 0; i < W; i++) {
        size_t l = strlen(text);
        if (i == 22) snprintf(text + l, sizeof text - l, "m,abrupt,2,0,1\n");
        else snprintf(text + l, sizeof text - l, "%s,stable,-1,%d,-1\n", w[i], i < 11 ? 0 : i < 22 ? 1 : 2);
    }
    ng_dwe_truth tr = truth("prec.csv", text);
    ng_dwe_eval e;
    NG_CHECK(ng_dwe_evaluate(&m, &tr, &e) == NG_OK);
    NG_CHECK(e.prec_slices == 3);
    NG_CHECK_MSG(e.n_queries == 66, "%zu queries", e.n_queries);
    NG_CHECK_NEAR(e.prec_min, 20.0 / 22, 1e-12);
    NG_CHECK_NEAR(e.prec_median, 1, 1e-12);
    ng_dwe_truth_free(&tr);
    ng_dwe_model_free(&m);
}

/* Each bad file fails with NG_EFORMAT naming FILE:LINE. */
static void test_truth_reader(void)
{
    static const struct {
        const char *text, *where, *what;
    } bad[] = {
        {"word,kind,tau\n", ":1:", "header"},
        {"word,kind,tau,home_topic,new_topic\na,stable,-1,0,-1\nb,stable,-1,0\n", ":3:", "4 fields"},
        {"word,kind,tau,home_topic,new_topic\na,shifty,3,0,1\n", ":2:", "kind 'shifty'"},
        {"word,kind,tau,home_topic,new_topic\na,stable,4,0,-1\n", ":2:", "tau 4"},
        {"word,kind,tau,home_topic,new_topic\na,abrupt,0,0,1\n", ":2:", "tau 0"},
        {"word,kind,tau,home_topic,new_topic\na,abrupt,3,1,1\n", ":2:", "new_topic 1"},
        {"word,kind,tau,home_topic,new_topic\na,frequency,3,1,2\n", ":2:", "new_topic 2"},
        {"word,kind,tau,home_topic,new_topic\na,stable,x,0,-1\n", ":2:", "integers"},
        {"word,kind,tau,home_topic,new_topic\na,stable,-1,-2,-1\n", ":2:", "home_topic -2"},
        {"word,kind,tau,home_topic,new_topic\na,stable,-1,0,-1\n\na,stable,-1,1,-1\n", ":4:", "twice"},
        {"", "", "empty"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char name[32], where[2200];
        snprintf(name, sizeof name, "bad%zu.csv", k);
        ng_test_write_text(ng_test_in_dir("%s", name), bad[k].text);
        ng_dwe_truth t;
        memset(&t, 0x5a, sizeof t);
        ng_status st = ng_dwe_truth_read(ng_test_in_dir("%s", name), &t);
        snprintf(where, sizeof where, "%s%s", ng_test_in_dir("%s", name), bad[k].where);
        NG_CHECK_MSG(st == NG_EFORMAT && strstr(ng_last_error(), where) &&
                         strstr(ng_last_error(), bad[k].what),
                     "case %zu: %d %s", k, (int)st, ng_last_error());
        NG_CHECK(t.n == 0x5a5a5a5a5a5a5a5aull); /* untouched */
    }
    /* CRLF and a missing final newline are read */
    ng_dwe_truth t = truth("ok.csv", "word,kind,tau,home_topic,new_topic\r\na,gradual,3,0,2\r\nb,stable,-1,1,-1");
    NG_CHECK(t.n == 2 && !strcmp(t.word[1], "b") && t.kind[0] == NG_DWE_GRADUAL && t.tau[0] == 3 &&
             t.home[0] == 0 && t.new_topic[0] == 2 && t.home[1] == 1);
    ng_dwe_truth_free(&t);
    NG_CHECK(ng_dwe_truth_read(ng_test_in_dir("no-such.csv"), &t) != NG_OK);
}

int main(void)
{
    const char *base = getenv("NG_TEST_TMP");
    snprintf(ng_test_dir(), NG_TEST_DIR_MAX, "%s/test_dwe_eval.%d", base ? base : "/tmp", (int)getpid());
    ngi_rm_rf(ng_test_dir());
    mkdir(ng_test_dir(), 0777);
    NG_RUN(test_auc);
    NG_RUN(test_change_times);
    NG_RUN(test_precision);
    NG_RUN(test_truth_reader);
    if (!ng_t_failed) ngi_rm_rf(ng_test_dir());
    return ng_test_summary();
}
