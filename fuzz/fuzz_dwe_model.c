/* fuzz_dwe_model.c - ng_dwe_model_read of a trained model's directory: model.txt,
 * vocab.tsv, times.csv, U.npy, V.npy (the input's parts in that order; an empty part
 * leaves the file out). What it accepts holds model.txt's training values and must answer
 * questions: each word and time found at its own index, neighbours with cosines in
 * [-1, 1], the aligned overlap of the first and last slices (small dim only: an SVD of
 * dim x dim). */
#include "ngfuzz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int ngf_dwe_model(const uint8_t *d, size_t n)
{
    static const char *const names[5] = {"model.txt", "vocab.tsv", "times.csv", "U.npy", "V.npy"};
    const uint8_t *part[5];
    size_t len[5];
    size_t np = ngf_split(d, n, part, len, 5);
    const char *dir = ngf_path(0, "model");
    ngf_fresh_dir(dir);
    ngf_write_parts(dir, names, part, len, np, 1);
    ng_dwe_model m;
    ngf_mem_begin();
    ng_status s = ng_dwe_model_read(dir, &m);
    ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_dwe_model_read");
    if (s) {
        ngf_refused(s, dir);
        return 0;
    }
    size_t cells = m.T * m.W * m.d;
    if (!ngf_all_finite(NG_F32, m.U, cells) || !ngf_all_finite(NG_F32, m.V, cells))
        ngf_die("ng_dwe_model_read accepted a NaN/Inf");
    if (!m.method || !m.symmetry || !m.prior || !(m.sigma0 > 0) || !(m.diffusion > 0) || m.steps < 0)
        ngf_die("ng_dwe_model_read accepted a model without its training values");
    size_t i, t;
    if (ng_dwe_find_word(&m, m.word[m.W - 1], &i) || i != m.W - 1) ngf_die("the last word is not found at its index");
    if (ng_dwe_find_time(&m, m.time[m.T - 1], &t) || t != m.T - 1) ngf_die("the last time is not found at its index");
    ng_dwe_hit hits[4];
    size_t nh = 0;
    if (ng_dwe_neighbours(&m, 0, 0, 4, hits, &nh)) ngf_die("ng_dwe_neighbours: %s", ng_last_error());
    for (size_t k = 0; k < nh; k++)
        if (!(fabs(hits[k].score) <= 1 + 1e-6) || hits[k].word >= m.W) ngf_die("a neighbour's cosine or index");
    if (m.d <= 16 && m.W <= 4096) {
        double *cos = malloc(m.W * sizeof *cos), R[256];
        if (!cos) ngf_die("out of memory");
        if (ng_dwe_overlap(&m, 0, m.T - 1, 1, cos, R)) ngf_die("ng_dwe_overlap: %s", ng_last_error());
        for (size_t k = 0; k < m.W; k++)
            if (!(fabs(cos[k]) <= 1 + 1e-6)) ngf_die("an overlap cosine %g", cos[k]);
        free(cos);
    }
    ng_dwe_model_free(&m);
    return 1;
}

NGF_TARGET(ngf_dwe_model)
