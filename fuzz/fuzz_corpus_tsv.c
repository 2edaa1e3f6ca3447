/* fuzz_corpus_tsv.c - a corpus built from one file of time<TAB>text lines (format given,
 * or told from the first line for inputs of odd length). */
#include "ngfuzz.h"

int ngf_corpus_tsv(const uint8_t *d, size_t n)
{
    const char *path = ngf_path(0, "lines.tsv");
    ngf_write(path, d, n);
    return ngf_corpus_build(path, n % 2 ? NG_CORPUS_AUTO : NG_CORPUS_TSV, NULL, path, ngf_plain_size(d, n));
}

NGF_TARGET(ngf_corpus_tsv)
