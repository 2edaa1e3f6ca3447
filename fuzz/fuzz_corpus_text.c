/* fuzz_corpus_text.c - a corpus built from plain text (the tokenizer: UTF-8, word
 * characters, apostrophes, lower-casing; the pair window), from a directory holding the
 * file 1790.txt; with a second part, that part is a time map (--time-of FILE,TIME lines)
 * and the file is called a.txt. */
#include "ngfuzz.h"

#include <stdio.h>

int ngf_corpus_text(const uint8_t *d, size_t n)
{
    const uint8_t *part[2];
    size_t len[2];
    size_t np = ngf_split(d, n, part, len, 2);
    const char *dir = ngf_path(0, "text");
    ngf_fresh_dir(dir);
    char file[600];
    snprintf(file, sizeof file, "%s/%s", dir, np == 2 ? "a.txt" : "1790.txt");
    ngf_write(file, part[0], len[0]);
    const char *map = NULL;
    if (np == 2) {
        map = ngf_path(1, "times.csv");
        ngf_write(map, part[1], len[1]);
    }
    /* a refusal names the text file, its directory or the time map */
    const char *what = np == 2 ? ngf_dir() : dir;
    return ngf_corpus_build(dir, n % 2 ? NG_CORPUS_AUTO : NG_CORPUS_TEXT, map, what, ngf_plain_size(d, n));
}

NGF_TARGET(ngf_corpus_text)
