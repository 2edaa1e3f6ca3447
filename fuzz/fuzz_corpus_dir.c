/* fuzz_corpus_dir.c - ng_corpus_read of a corpus directory: corpus.txt, vocab.tsv,
 * slices.csv, slice_ptr.npy, pairs_i.npy, pairs_j.npy, pairs_n.npy (the input's parts in
 * that order; an empty part leaves the file out). What it accepts passes ng_corpus_check
 * and reads back the same after ng_corpus_write. */
#include "ngfuzz.h"

#include <stdio.h>

int ngf_corpus_dir(const uint8_t *d, size_t n)
{
    static const char *const names[7] = {"corpus.txt", "vocab.tsv", "slices.csv", "slice_ptr.npy",
                                         "pairs_i.npy", "pairs_j.npy", "pairs_n.npy"};
    const uint8_t *part[7];
    size_t len[7];
    size_t np = ngf_split(d, n, part, len, 7);
    const char *dir = ngf_path(0, "corpus");
    ngf_fresh_dir(dir);
    ngf_write_parts(dir, names, part, len, np, 1);
    ng_corpus c;
    ngf_mem_begin();
    ng_status s = ng_corpus_read(dir, &c);
    ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_corpus_read");
    if (s) {
        ngf_refused(s, dir);
        return 0;
    }
    if (ng_corpus_check(&c)) ngf_die("ng_corpus_read accepted what ng_corpus_check refuses: %s", ng_last_error());
    const char *out = ngf_path(1, "corpus-out");
    if (ng_corpus_write(out, &c)) ngf_die("ng_corpus_write: %s", ng_last_error());
    ng_corpus r;
    if (ng_corpus_read(out, &r)) ngf_die("ng_corpus_read of a written corpus: %s", ng_last_error());
    if (!ngf_corpus_same(&c, &r)) ngf_die("a corpus read back differs from the one written");
    ng_corpus_free(&r);
    ng_corpus_free(&c);
    return 1;
}

NGF_TARGET(ngf_corpus_dir)
