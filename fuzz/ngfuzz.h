/* ngfuzz.h - what the fuzz harnesses share. Each fuzz/fuzz_NAME.c defines
 *     int ngf_NAME(const uint8_t *data, size_t size);
 * which hands the bytes to one reader (through a scratch file or directory, as a user's
 * file would arrive), checks what the reader promises (a refusal names the file; what it
 * accepts is well formed; its memory stays within a small multiple of the input) and
 * returns 1 when the input was accepted, 0 when it was refused. A broken promise aborts,
 * which libFuzzer reports as a crash. Built with NGF_LIBFUZZER each file is a libFuzzer
 * target; without it the regression test (tests/test_fuzz_regressions.c) calls the same
 * functions on the seed corpora and on the saved crashes. */
#ifndef NG_FUZZ_H
#define NG_FUZZ_H

#include "natgrad.h"

#include <stddef.h>
#include <stdint.h>

/* The scratch directory, made once per process: under /dev/shm when there is one (a file
 * per execution is then cheap), else under $TMPDIR or /tmp. Removed at exit. */
const char *ngf_dir(void);
/* "SCRATCH/name" in a static buffer per slot (0..7), so that a few can be held at once. */
const char *ngf_path(int slot, const char *name);
/* Writes bytes to path (replacing it); aborts when the scratch space fails. */
void ngf_write(const char *path, const void *d, size_t n);
/* The same bytes gzip-compressed. */
void ngf_write_gz(const char *path, const void *d, size_t n);
/* Removes path and whatever is under it (a missing path is fine). */
void ngf_remove(const char *path);
/* mkdir -p of a directory that ngf_remove(path) emptied first. */
void ngf_fresh_dir(const char *path);

/* Splits the input at the separator NGF_SEP into at most max parts (the last part keeps
 * any further separators); returns the number of parts. Multi-file inputs (a checkpoint,
 * a corpus directory, a data set) are their files joined by NGF_SEP. */
#define NGF_SEP "%%%%"
size_t ngf_split(const uint8_t *d, size_t n, const uint8_t **part, size_t *len, size_t max);
/* Writes part k as dir/names[k] for k < np; an empty part writes no file when skip_empty
 * (the file is then missing, which the reader must report). */
void ngf_write_parts(const char *dir, const char *const *names, const uint8_t *const *part,
                     const size_t *len, size_t np, int skip_empty);

/* After a refusal: aborts unless ng_last_error() names `what` (the file or directory). */
void ngf_refused(ng_status s, const char *what);
/* Aborts with a message: a broken promise. */
void ngf_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Memory watch (libFuzzer builds; elsewhere no-ops): ngf_mem_begin() starts counting the
 * bytes allocated and still live; ngf_mem_end(input, slack, who) aborts when the peak
 * exceeded 16 x input + slack bytes. Readers take gzip data too: the input's size is then
 * what it holds, ngf_plain_size. */
size_t ngf_plain_size(const uint8_t *d, size_t n);
void ngf_mem_begin(void);
void ngf_mem_end(size_t input, size_t slack, const char *who);

/* A float array holds no NaN/Inf (count elements of dtype). */
int ngf_all_finite(ng_dtype dt, const void *data, size_t count);

/* Corpora: ng_corpus_build of one input (a file or a directory) in the given format
 * (time_of: a time map or NULL; what = the name a refusal must give), then on success
 * the corpus written, read back and compared. Returns 1 when the build accepted it. */
int ngf_corpus_build(const char *input, ng_corpus_format format, const char *time_of,
                     const char *what, size_t n);
/* Two corpora hold the same data (1) or not (0). */
int ngf_corpus_same(const ng_corpus *a, const ng_corpus *b);

#ifdef NGF_LIBFUZZER
#define NGF_TARGET(fn)                                                      \
    int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);                 \
    int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)                  \
    {                                                                       \
        (void)fn(d, n);                                                     \
        return 0;                                                           \
    }
#else
#define NGF_TARGET(fn)
#endif

/* Every harness, for the regression test: NGF_HARNESS(name). */
#define NGF_HARNESSES(X)                                                    \
    X(npy) X(idx) X(dataset) X(ratings) X(ckpt) X(csv) X(csvlog)           \
    X(corpus_text) X(corpus_tsv) X(corpus_ngram) X(corpus_dir) X(dwe_model) X(dwe_truth) X(sotu)
#define NGF_DECLARE(name) int ngf_##name(const uint8_t *d, size_t n);
NGF_HARNESSES(NGF_DECLARE)

#endif
