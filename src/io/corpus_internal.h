/* corpus_internal.h - what the corpus sources share (not installed): the tokenizer, the
 * count tables, the per-file job that the three readers feed, and the two passes. */
#ifndef NG_CORPUS_INTERNAL_H
#define NG_CORPUS_INTERNAL_H

#include "internal.h"

#include <stdint.h>
#include <zlib.h>

/* ------------------------------------------------------------ tokenizer (corpus_token.c)
 * A word is a maximal run of letters, digits, combining marks and apostrophes (' and
 * U+2019, both stored as '), with the apostrophes at its ends trimmed; it must hold a
 * letter or a digit. Everything else separates words; a newline also ends the line.
 * Invalid UTF-8 (stray or missing continuation bytes, overlong forms, surrogates, code
 * points above U+10FFFF) separates words like a space and is counted. A NUL byte stops
 * the stream (binary input). */
typedef struct {
    int lowercase;
    /* w == NULL: a token over NG_CORPUS_MAX_WORD bytes (a position, never a word) */
    void (*token)(void *ctx, const char *w, size_t len);
    void (*line_end)(void *ctx);
    void *ctx;
    char buf[NG_CORPUS_MAX_WORD + 8];
    size_t len;       /* bytes in buf */
    int overflow;     /* the token outgrew buf */
    int has_alnum;    /* the token holds a letter or digit */
    uint32_t cp, min; /* UTF-8 sequence in progress: code point so far, smallest legal */
    int need;         /* continuation bytes still expected */
    uint64_t line;    /* line of the next byte, from 1 */
    uint64_t invalid; /* invalid sequences */
    uint64_t long_tokens;
    int nul;          /* a NUL byte was seen: nothing after it was read */
} ngi_tok;

void ngi_tok_init(ngi_tok *t, int lowercase, void (*token)(void *, const char *, size_t),
                  void (*line_end)(void *), void *ctx);
/* Reads n bytes; stops at a NUL byte (t->nul, t->line says where) and returns the bytes
 * consumed. */
size_t ngi_tok_feed(ngi_tok *t, const unsigned char *p, size_t n);
/* End of input: a sequence in progress is invalid; the last token and the line end. */
void ngi_tok_finish(ngi_tok *t);
/* A whole n-gram token as a word: 1 with the normalised word in out (>= NG_CORPUS_MAX_WORD
 * + 8 bytes) when every character is a word character (no trimming), it holds a letter or
 * digit and it fits; 0 otherwise (*invalid set when the token is not valid UTF-8). */
int ngi_word_whole(const unsigned char *s, size_t n, int lowercase, char *out, size_t *olen,
                   int *invalid);
/* 1 when s[0..n) is valid UTF-8. */
int ngi_utf8_valid(const unsigned char *s, size_t n);
/* Code point classes and lower-casing, exposed for the tests. */
int ngi_is_word_cp(uint32_t cp);
uint32_t ngi_lower_cp(uint32_t cp);

/* ------------------------------------------------------------ tables (corpus_table.c)
 * Open addressing with linear probing; both grow at half load. Iteration is in slot
 * order, which depends only on the sequence of insertions: so merges in a fixed order
 * give results that do not depend on the thread count. */
#define NGI_EMPTY_KEY UINT64_MAX
/* The fuzzing build (NGI_FUZZ_SMALL) starts the tables small: their growth is reached. */
#ifdef NGI_FUZZ_SMALL
#define NGI_TABLE_HINT_MAX 16
#else
#define NGI_TABLE_HINT_MAX SIZE_MAX
#endif
typedef struct {
    uint64_t key; /* NGI_EMPTY_KEY: free slot */
    double val;
} ngi_slot;
typedef struct {
    ngi_slot *slot; /* key and value side by side: one cache miss per probe */
    size_t cap, n;  /* cap a power of two */
} ngi_map;
ng_status ngi_map_init(ngi_map *m, size_t hint);
void ngi_map_free(ngi_map *m);
/* The value of key (inserted as 0 when missing), or NULL when out of memory. */
double *ngi_map_at(ngi_map *m, uint64_t key);
/* The value of key or NULL, without inserting. */
const double *ngi_map_find(const ngi_map *m, uint64_t key);

/* Strings -> dense ids 0, 1, ... in order of insertion. */
typedef struct {
    uint32_t *slot;  /* id + 1; 0 free */
    size_t cap;      /* power of two */
    uint64_t *off;   /* per id: offset in arena */
    uint32_t *len;   /* per id */
    uint64_t *hash;  /* per id */
    size_t n, id_cap;
    char *arena;     /* the strings, each followed by '\0' */
    size_t used, arena_cap;
} ngi_dict;
ng_status ngi_dict_init(ngi_dict *d, size_t hint);
void ngi_dict_free(ngi_dict *d);
uint64_t ngi_hash_bytes(const char *s, size_t n);
/* id of s, or -1. */
int64_t ngi_dict_find(const ngi_dict *d, const char *s, size_t n, uint64_t h);
/* id of s, inserted when missing; -1 when out of memory. */
int64_t ngi_dict_add(ngi_dict *d, const char *s, size_t n, uint64_t h);
static inline const char *ngi_dict_str(const ngi_dict *d, size_t id) { return d->arena + d->off[id]; }

/* ------------------------------------------------------------ a build (corpus_build.c) */
typedef struct {
    const char *path;
    ng_corpus_format kind; /* TEXT, TSV or NGRAM */
    double time;           /* TEXT: the file's time */
} ngi_unit;

/* What both passes share, read-only inside the parallel loop. */
typedef struct {
    ng_corpus_build_params p;
    int lowercase;          /* resolved */
    double wt[65];          /* text: weight of distance d (1..window) */
    char what[1024];        /* the inputs, for messages about all of them */
    /* after pass 1 */
    ngi_dict vocab;         /* the W words; id = rank */
    size_t T;
    double *times;          /* T slice times, increasing */
} ngi_build;

/* One file of one pass: its own tables, filled by a reader and merged in file order. */
typedef struct {
    int pass;
    const ngi_build *b;
    const char *path;
    ng_status err;          /* first failure; message in msg */
    char *msg;
    /* the slice being read */
    double key;             /* slice time of the current input time */
    int have_key;
    int64_t cur;            /* pass 1: local slice index, -1 until a token; pass 2: global */
    /* pass 1: words and counts per local slice */
    ngi_dict words;
    ngi_map counts;         /* (word id << 32 | local slice) -> count */
    ngi_map slice_of;       /* slice time bits -> local slice */
    double *stime;
    int64_t *stok;
    size_t ns, scap;
    /* pass 2: pairs per global slice, the window */
    ngi_map *pairs;         /* T maps, made on first use: (i << 32 | j) -> n+ */
    int32_t ring[64];       /* the last `window` ids (-1: not a vocabulary word), by pos & 63 */
    uint64_t pos;           /* position in the line */
    /* the current n-gram: pass 1 local word ids, pass 2 vocabulary ids (-1: none) */
    int64_t gram_id[8];
    int gram_n;
    struct ngi_live *live;  /* the pass's progress and stop request (NULL: none) */
    /* statistics */
    uint64_t bytes, lines, tokens, invalid, long_tokens;
    uint64_t ngrams_kept, ngrams_dropped, years_dropped, in_vocab;
} ngi_job;

/* After each chunk read (ngi_gz_read calls it): progress every 64 MiB of the pass, and a
 * stop request from the progress callback (the job then fails with NG_EINTERRUPTED). */
void ngi_job_chunk(ngi_job *j, size_t n);
/* Records a failure in the job (the first one stays): format and args as ngi_fail. */
void ngi_job_fail(ngi_job *j, ng_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Events from the readers (corpus_build.c sends them to the pass). The time of what
 * follows (grouped into its slice here): */
void ngi_job_time(ngi_job *j, double time);
/* Text: a token (w NULL: an over-long token) and the end of a line (the window restarts). */
void ngi_job_token(ngi_job *j, const char *w, size_t len);
void ngi_job_line_end(ngi_job *j);
/* N-grams: the n tokens of an n-gram (w[k] NULL: not a word), then each time it was seen
 * `match` times at the current time. */
void ngi_job_gram(ngi_job *j, const char *const *w, const size_t *len, int n);
void ngi_job_gram_count(ngi_job *j, int64_t match);

/* Readers (corpus_text.c, corpus_tsv.c, corpus_ngram.c). Each streams its file through
 * zlib (plain files too) and reports problems through ngi_job_fail with file and line. */
#ifdef NGI_FUZZ_SMALL /* tiny in the fuzzing build, to reach the joins across chunks */
#define NGI_CHUNK 61
#else
#define NGI_CHUNK (1 << 18)
#endif
ng_status ngi_read_text(ngi_job *j, const ngi_unit *u);
ng_status ngi_read_tsv(ngi_job *j, const ngi_unit *u);
ng_status ngi_read_ngram(ngi_job *j, const ngi_unit *u);

/* Inputs (corpus_inputs.c): directories (their regular files sorted by name, dot files
 * skipped; with a time map only the files it lists) and files, each with its kind (the
 * format, or told by its first line) and, for text, its time (the time map's, or the
 * leading digits of the name). */
ng_status ngi_units_make(const char *const *inputs, size_t n_inputs, const ng_corpus_build_params *p,
                         ngi_unit **units, size_t *n_units, uint64_t *disk_bytes);
void ngi_units_free(ngi_unit *u, size_t n);
/* The time at the start of a file name ("1790_x.txt", "1999.txt.gz"): 1 and *t, or 0. */
int ngi_time_from_name(const char *name, double *t);
/* Opens path for streaming (gzip or plain); NULL with the error set. */
gzFile ngi_gz_open(const char *path);
/* gzread with the error (path, corrupt or truncated gzip) in j; returns bytes or -1. */
int ngi_gz_read(ngi_job *j, gzFile g, unsigned char *buf, unsigned n);
/* Strict number parsers for the readers: the whole [s, s + n) must be the number. */
int ngi_parse_double(const char *s, size_t n, double *out);
int ngi_parse_i64(const char *s, size_t n, int64_t *out);

/* Pass 1 (corpus_vocab.c): merge a job's word counts, then rank the vocabulary. */
typedef struct {
    ngi_dict words;
    ngi_map counts;     /* (word << 32 | slice) -> count */
    ngi_map slice_of;   /* time bits -> slice */
    double *stime;
    int64_t *stok;
    size_t ns, scap;
} ngi_vocab_acc;
ng_status ngi_vocab_job_init(ngi_job *j);
void ngi_vocab_job_free(ngi_job *j);
void ngi_vocab_token(ngi_job *j, const char *w, size_t len);
void ngi_vocab_gram(ngi_job *j, const char *const *w, const size_t *len, int n);
void ngi_vocab_gram_count(ngi_job *j, int64_t match);
ng_status ngi_vocab_acc_init(ngi_vocab_acc *a);
void ngi_vocab_acc_free(ngi_vocab_acc *a);
ng_status ngi_vocab_merge(ngi_vocab_acc *a, ngi_job *j);
/* The slices (sorted by time) and the top p->vocab words by relative frequency averaged
 * over slices (ties: larger total, then byte order), into b (vocab, T, times) and out
 * (T, W, time, tokens, word, word_count). */
ng_status ngi_vocab_finish(ngi_vocab_acc *a, ngi_build *b, ng_corpus *out, size_t *distinct);

/* Pass 2 (corpus_cooc.c): per-slice pair tables. */
ng_status ngi_cooc_job_init(ngi_job *j);
void ngi_cooc_job_free(ngi_job *j);
void ngi_cooc_token(ngi_job *j, const char *w, size_t len);
void ngi_cooc_line_end(ngi_job *j);
void ngi_cooc_gram(ngi_job *j, const char *const *w, const size_t *len, int n);
void ngi_cooc_gram_count(ngi_job *j, int64_t match);
ng_status ngi_cooc_merge(ngi_map *global, size_t T, ngi_job *j);
/* The tables as sorted entries into out (slice_ptr, i, j, n); frees the tables. */
ng_status ngi_cooc_finish(ngi_map *global, size_t T, size_t W, ng_corpus *out);
/* Adds w to the pair (a, b) (both directions: 2w on the diagonal). */
int ngi_cooc_add(ngi_map *m, int32_t a, int32_t b, double w);

/* Corpus files (corpus_files.c): a fresh DIR.tmp next to dir, and the swap into place. */
ng_status ngi_dir_prepare_tmp(const char *dir, const char *marker, char **tmp);
ng_status ngi_dir_commit(const char *tmp, const char *dir, const char *marker);
ng_status ngi_rm_rf(const char *p);
/* The shortest %g that reads back exactly. */
void ngi_fmt_double(double x, char *buf, size_t len);

#endif
