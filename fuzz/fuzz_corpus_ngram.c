/* fuzz_corpus_ngram.c - a corpus built from a Google Books 5-gram file (the 2012 and 2020
 * line formats; format given, or told from the first line for inputs of odd length). */
#include "ngfuzz.h"

int ngf_corpus_ngram(const uint8_t *d, size_t n)
{
    const char *path = ngf_path(0, "googlebooks-5gram");
    ngf_write(path, d, n);
    return ngf_corpus_build(path, n % 2 ? NG_CORPUS_AUTO : NG_CORPUS_NGRAM, NULL, path, ngf_plain_size(d, n));
}

NGF_TARGET(ngf_corpus_ngram)
