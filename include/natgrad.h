/* natgrad.h - structure-aware optimisation: Goldstone-GD and K-FAC.
 *
 * The one public header of libnatgrad. Every symbol is prefixed ng_ (macros NG_).
 * Conventions:
 *   - functions return ng_status (NG_OK == 0); on failure ng_last_error() gives a
 *     one-line message (thread-local, valid until the next failing call);
 *   - matrices are row-major; a view names data, rows, cols and a leading dimension;
 *   - randomness comes only from an ng_rng passed explicitly;
 *   - the library never prints, exits or aborts; set a log callback to hear from it.
 * Sections follow the source tree: numerical core, I/O, networks and K-FAC, Goldstone-GD,
 * models, training layer.
 */
#ifndef NATGRAD_H
#define NATGRAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(NG_BUILDING_LIBRARY) && defined(__GNUC__)
#define NG_API __attribute__((visibility("default")))
#else
#define NG_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define NG_VERSION_MAJOR 0
#define NG_VERSION_MINOR 1
#define NG_VERSION_PATCH 0
#define NG_VERSION_STRING "0.1.0"

/* ======== numerical core (src/core) ======================================== */

/* ------------------------------------------------------------------ status */
typedef enum {
    NG_OK = 0,
    NG_EINVAL = 1,       /* bad argument or parameter */
    NG_EIO = 2,          /* file could not be opened, read or written */
    NG_EFORMAT = 3,      /* malformed input file */
    NG_ENOMEM = 4,       /* allocation failed */
    NG_ENUMERIC = 5,     /* NaN/Inf, failed factorisation, divergence */
    NG_EMISMATCH = 6,    /* checkpoint / data does not match the model */
    NG_EINTERRUPTED = 7, /* stopped on request (SIGINT); state is consistent */
    NG_EUNSUPPORTED = 8  /* valid input of a kind natgrad does not handle */
} ng_status;

NG_API const char *ng_last_error(void);
NG_API const char *ng_status_name(ng_status s);
NG_API const char *ng_version(void);

/* Log callback: level 0 = info, 1 = warning. Default: none (silent). */
typedef void (*ng_log_fn)(int level, const char *msg, void *user);
NG_API void ng_set_log(ng_log_fn fn, void *user);

/* BLAS threads (OpenBLAS); returns the number in force. */
NG_API int ng_blas_threads(void);
NG_API void ng_set_blas_threads(int n);
/* The OpenBLAS kernel set in use (e.g. "Haswell", "SkylakeX"). */
NG_API const char *ng_blas_core(void);

/* ------------------------------------------------------------------ matrix views */
/* Row-major views: element (i, j) is data[i * ld + j], ld >= cols. */
typedef struct { float *data; size_t rows, cols, ld; } ng_matf;
typedef struct { double *data; size_t rows, cols, ld; } ng_matd;

static inline ng_matf ng_matf_view(float *data, size_t rows, size_t cols)
{ ng_matf m = {data, rows, cols, cols}; return m; }
static inline ng_matd ng_matd_view(double *data, size_t rows, size_t cols)
{ ng_matd m = {data, rows, cols, cols}; return m; }

/* ------------------------------------------------------------------ linear algebra
 * Thin, checked wrappers over OpenBLAS (cblas) and LAPACKE. Shapes are checked and
 * a mismatch returns NG_EINVAL with the shapes in the message. */

/* C = alpha * op(A) op(B) + beta * C,  op(X) = X or X^T (trans* != 0). */
NG_API ng_status ng_sgemm(int transA, int transB, float alpha, ng_matf A, ng_matf B,
                          float beta, ng_matf C);
NG_API ng_status ng_dgemm(int transA, int transB, double alpha, ng_matd A, ng_matd B,
                          double beta, ng_matd C);
/* y = alpha * op(A) x + beta * y (x, y contiguous). */
NG_API ng_status ng_sgemv(int transA, float alpha, ng_matf A, const float *x, float beta,
                          float *y);
NG_API ng_status ng_dgemv(int transA, double alpha, ng_matd A, const double *x, double beta,
                          double *y);

/* Symmetric eigendecomposition of the n x n matrix A (row-major, only symmetric input is
 * meaningful): on return A holds the eigenvectors as COLUMNS, w the eigenvalues ascending. */
NG_API ng_status ng_dsyev(size_t n, double *A, double *w);

/* Thin SVD of the m x n matrix A = U diag(s) Vt, k = min(m, n):
 * U is m x k, s has k entries (descending), Vt is k x n. A is destroyed. */
NG_API ng_status ng_dsvd(size_t m, size_t n, double *A, double *U, double *s, double *Vt);

/* Solve A X = B for SPD A (n x n, destroyed: holds its Cholesky factor), B n x nrhs
 * (overwritten by X). NG_ENUMERIC if A is not positive definite. */
NG_API ng_status ng_dchol_solve(size_t n, double *A, size_t nrhs, double *B);

/* Pseudo-inverse of the symmetric n x n matrix A into P: eigenvalues with
 * |w| <= tol * max|w| are treated as zero. *rank (may be NULL) gets the kept count. */
NG_API ng_status ng_dpinv_sym(size_t n, const double *A, double tol, double *P, size_t *rank);

/* Orthogonal Procrustes: the d x d R minimising ||R A - B||_F for d x N matrices A, B,
 * given their cross matrix M = B A^T (d x d). allow_reflection != 0: best R in O(d);
 * otherwise best R in SO(d). *det (may be NULL) gets det(R) (+1 or -1). */
NG_API ng_status ng_procrustes_cross(size_t d, const double *M, int allow_reflection,
                                     double *R, double *det);
/* Same, computing M from A and B (float, d x N, row-major) with double accumulation. */
NG_API ng_status ng_procrustes(size_t d, size_t N, const float *A, const float *B,
                               int allow_reflection, double *R, double *det);

/* Exponential of the d x d skew-symmetric G (R = exp(G), orthogonal), and the Cayley
 * transform R = (I - G/2)^-1 (I + G/2). G is not checked for skew-symmetry beyond a
 * tolerance of 1e-10 * ||G||. These d x d helpers and the Procrustes ones above allocate
 * a small workspace per call (for one-off use); the symmetry phases of Goldstone-GD use
 * internal variants with a workspace sized once in ng_goldstone_new. */
NG_API ng_status ng_expm_skew(size_t d, const double *G, double *R);
NG_API ng_status ng_cayley(size_t d, const double *G, double *R);

/* ------------------------------------------------------------------ RNG
 * xoshiro256** seeded through splitmix64. Plain struct: copy it to fork a stream,
 * save its words in a checkpoint to resume the exact sequence. */
typedef struct {
    uint64_t s[4];
    double spare_normal; /* Box-Muller keeps the second draw */
    int has_spare;
} ng_rng;

NG_API void ng_rng_seed(ng_rng *r, uint64_t seed);
NG_API uint64_t ng_rng_u64(ng_rng *r);
NG_API double ng_rng_uniform(ng_rng *r);            /* [0, 1) */
NG_API uint64_t ng_rng_below(ng_rng *r, uint64_t n); /* [0, n), unbiased; n > 0 */
NG_API double ng_rng_normal(ng_rng *r);             /* N(0, 1) */
NG_API int ng_rng_bernoulli(ng_rng *r, double p);   /* 1 with probability p */
/* Index k with probability p[k] / sum(p); p >= 0, sum > 0. */
NG_API size_t ng_rng_categorical(ng_rng *r, const double *p, size_t n);
NG_API void ng_rng_shuffle(ng_rng *r, size_t *idx, size_t n); /* Fisher-Yates */
/* k distinct indices from [0, n) in random order; k <= n. */
NG_API ng_status ng_rng_sample(ng_rng *r, size_t n, size_t k, size_t *out);
NG_API void ng_rng_fill_normal(ng_rng *r, float *x, size_t n, float mean, float stddev);

/* ------------------------------------------------------------------ tensors */
typedef enum {
    NG_U8 = 1, NG_I8, NG_I16, NG_I32, NG_I64, NG_F32, NG_F64
} ng_dtype;
#define NG_MAX_DIMS 8
typedef struct {
    ng_dtype dtype;
    int ndim;
    size_t shape[NG_MAX_DIMS];
    void *data; /* C order; owned if read by natgrad (free with ng_tensor_free) */
} ng_tensor;

NG_API size_t ng_dtype_size(ng_dtype t);
NG_API size_t ng_tensor_count(const ng_tensor *t); /* product of the shape */
NG_API void ng_tensor_free(ng_tensor *t);         /* frees data, zeroes the struct */
/* "u8" "i8" "i16" "i32" "i64" "f32" "f64" ("?" for anything else). */
NG_API const char *ng_dtype_name(ng_dtype t);

/* Atomic file output: ng_atomic_open creates "<path>.tmp.<pid>" and returns it open for
 * writing in af->f; ng_atomic_commit closes it and renames it over path (NG_EIO on
 * failure, the temp file removed); ng_atomic_abort closes and removes it. A reader of
 * path never sees a partial file. */
typedef struct {
    FILE *f;
    char *final_path;
    char *tmp_path;
} ng_atomic_file;
NG_API ng_status ng_atomic_open(ng_atomic_file *af, const char *path);
NG_API ng_status ng_atomic_commit(ng_atomic_file *af);
NG_API void ng_atomic_abort(ng_atomic_file *af);

/* Reads a whole file into memory, gunzipping gzip content (detected from the bytes).
 * *buf is malloc'ed (free it); NG_EIO names the path on failure. */
NG_API ng_status ng_read_file(const char *path, unsigned char **buf, size_t *len);

/* ======== I/O: files, logs, checkpoints, data sets (src/io) ================ */

/* ------------------------------------------------------------------ data: IDX
 * IDX (MNIST family), plain or gzip (detected from the content, not the name). */
NG_API ng_status ng_idx_read(const char *path, ng_tensor *out);
/* Writes plain IDX, or gzip when the path ends in .gz; atomic (temp name + rename). */
NG_API ng_status ng_idx_write(const char *path, const ng_tensor *t);

/* A supervised dataset of float features in [0, 1] (rows = cases). */
typedef struct {
    size_t n_train, n_test, dim;
    float *train_x;   /* n_train x dim */
    float *test_x;    /* n_test x dim */
    int32_t *train_y; /* n_train labels, or NULL */
    int32_t *test_y;  /* n_test labels, or NULL */
} ng_dataset;
/* dir holds train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images...,
 * t10k-labels...; images scaled by 1/255. */
NG_API ng_status ng_dataset_load_idx_dir(const char *dir, ng_dataset *out);
NG_API void ng_dataset_free(ng_dataset *d);

/* ------------------------------------------------------------------ data: ratings
 * MovieLens u.data (tab), ratings.dat (::) or ratings.csv (header
 * userId,movieId,rating,timestamp); format detected from the first line. Ids are remapped
 * to dense indices in order of first appearance. */
typedef struct {
    size_t n;               /* number of ratings */
    size_t n_users, n_items;
    int32_t *user, *item;   /* n dense indices */
    float *rating;          /* n */
    int64_t *timestamp;     /* n, seconds */
    int64_t *user_ids;      /* n_users original ids */
    int64_t *item_ids;      /* n_items original ids */
} ng_ratings;
NG_API ng_status ng_ratings_read(const char *path, ng_ratings *out);
NG_API void ng_ratings_free(ng_ratings *r);

/* ------------------------------------------------------------------ data: .npy
 * NumPy format 1.0/2.0, C order, dtypes u1 i1 i2 i4 i8 f4 f8 (little endian). */
NG_API ng_status ng_npy_read(const char *path, ng_tensor *out);
/* Atomic: written to a temp name in the same directory and renamed. */
NG_API ng_status ng_npy_write(const char *path, const ng_tensor *t);

/* ------------------------------------------------------------------ run infrastructure */
/* CSV metric log: header once, one flushed row per call. With append != 0 and an
 * existing file whose header equals cols, rows are appended (resume); a different
 * header is NG_EMISMATCH. */
typedef struct ng_csv ng_csv;
NG_API ng_status ng_csv_open(const char *path, const char *const *cols, size_t ncols,
                             int append, ng_csv **out);
/* Resume at step k: as ng_csv_open with append, after cutting the log back to its header and
 * the leading rows whose first field is below k (and the row at k when keep_step): the rows
 * of a run killed after its last checkpoint, a row written on a stop, go. A row whose first
 * field is not a number is NG_EFORMAT (file and line). The cut is one truncation, so a crash
 * leaves the log whole or cut, never torn. */
NG_API ng_status ng_csv_resume(const char *path, const char *const *cols, size_t ncols,
                               double step, int keep_step, ng_csv **out);
NG_API ng_status ng_csv_row(ng_csv *c, const double *vals); /* ncols values */
NG_API void ng_csv_close(ng_csv *c);

/* Checkpoint directory (format 2): MANIFEST (model name, step, every array with its dtype,
 * shape and CRC-32, then the MANIFEST's own CRC-32) + one .npy per array. Saved into
 * DIR.tmp and renamed over DIR, so a process killed during a save never costs the last
 * good checkpoint; a failed save (full disk...) removes DIR.tmp and leaves DIR as it was.
 * Every load and read checks the checksums first: a damaged checkpoint is NG_EFORMAT
 * naming the array (or the MANIFEST), never loaded; format 1 is NG_EUNSUPPORTED. */
typedef struct {
    const char *name; /* file stem, [A-Za-z0-9_.-] */
    ng_tensor t;      /* data not owned by the checkpoint */
} ng_ckpt_array;
/* A view for the array list: ndim 1..3 of n0 [x n1 [x n2]] elements at data. */
NG_API ng_ckpt_array ng_ckpt_view(const char *name, ng_dtype dtype, void *data, int ndim,
                                  size_t n0, size_t n1, size_t n2);
NG_API ng_status ng_ckpt_save(const char *dir, const char *model, int64_t step,
                              const ng_ckpt_array *arrays, size_t n);
/* Loads into caller buffers: each arrays[i].t must give dtype, shape and data; a
 * different model name, a missing array or a different shape/dtype is NG_EMISMATCH. On
 * any failure nothing is copied. Finds DIR.old when a save was interrupted between its
 * renames (and moves it back to DIR). n = 0 checks the MANIFEST and the model only. */
NG_API ng_status ng_ckpt_load(const char *dir, const char *model, int64_t *step,
                              ng_ckpt_array *arrays, size_t n);
/* DIR (or DIR.old) holds a MANIFEST of a natgrad checkpoint, of any format version. */
NG_API int ng_ckpt_exists(const char *dir);
/* Reads one array of the checkpoint in dir (whatever its shape) into a fresh tensor
 * (free with ng_tensor_free); NG_EMISMATCH when the checkpoint has no such array. */
NG_API ng_status ng_ckpt_read(const char *dir, const char *name, ng_tensor *out);

/* The state protocol. Every stateful handle X (ng_kfac, ng_optim, ng_inner, ng_goldstone
 * and the training tasks) says what a checkpoint needs in the same two calls:
 *   size_t ng_X_state(X *h, ng_ckpt_array *arrays, size_t cap);
 *       writes the first min(count, cap) array views (data owned by h, names unique
 *       within h) and returns count; arrays may be NULL with cap 0 to ask for the count;
 *   ng_status ng_X_state_loaded(X *h);
 *       after ng_ckpt_load has filled those views: adopt them (counters, scalars,
 *       anything derived). Counters such as steps done travel as arrays too. */

/* --- CURVES-like data (curves.c) and data sources (data_source.c) ---------------------
 * size x size images of a smooth curve (the quadratic through three random points, a
 * 6-dimensional manifold) drawn with a soft Gaussian pen, values in [0, 1] stored as u8.
 * Image i of a set depends only on (seed, stream, i): train = stream 0, test = stream 1. */
NG_API ng_status ng_curves_generate(size_t n, size_t size, uint64_t seed, uint64_t stream,
                                    uint8_t *out);
/* In memory, as ng_dataset (pixels u8 / 255, no labels). */
NG_API ng_status ng_curves_dataset(size_t n_train, size_t n_test, size_t size, uint64_t seed,
                                   ng_dataset *out);
/* DIR (created if missing) gets train-/t10k-images-idx3-ubyte.gz and all-zero
 * train-/t10k-labels-idx1-ubyte.gz, each written atomically (loadable with
 * ng_dataset_load_idx_dir). */
NG_API ng_status ng_curves_write_dir(const char *dir, size_t n_train, size_t n_test, size_t size,
                                     uint64_t seed);
/* spec: "curves" (20k/10k 28x28, seed 0, generated in memory), a directory of IDX files,
 * FILE.npy (rows = cases, u8 scaled by 1/255 or float; the last 1/6 of the rows is the
 * test set) or TRAIN.npy,TEST.npy. Where a machine keeps its data sets is the caller's
 * business (the CLI maps names such as fashion-mnist to directories). */
NG_API ng_status ng_data_source_load(const char *spec, ng_dataset *out);

/* --- dynamic word embeddings: corpora (corpus*.c) ----------------------------------
 * The data of dynamic word embeddings: per time slice t, the symmetric co-occurrence
 * counts n+_{ij,t} of a vocabulary of W words (docs/dwe.md, "Corpus directory"). */
typedef struct {
    size_t T, W;            /* slices, vocabulary size */
    double *time;           /* T: each slice's time (years; the first year of a grouped slice) */
    int64_t *tokens;        /* T: tokens in each slice (all, in-vocabulary or not) */
    char **word;            /* W: UTF-8 words, rank order (most frequent first) */
    double *word_count;     /* W: count over all slices */
    int64_t *slice_ptr;     /* T + 1: entries of slice t are [slice_ptr[t], slice_ptr[t+1]) */
    int32_t *i, *j;         /* entries with i <= j, sorted by (t, i, j); n+ is symmetric */
    float *n;               /* weighted co-occurrence count n+_{ij,t} (= n+_{ji,t}) */
    int window;             /* the window c used */
    /* corpus.txt's other keys */
    int lowercase;          /* 1 when words were lower-cased */
    int slice_years;        /* years per slice; 0: each distinct time is a slice */
    int64_t min_count;      /* words seen fewer times were left out */
    char *source;           /* what the counts came from: text, tsv, ngram, synth-... */
} ng_corpus;
/* A diagonal entry n+_{ii,t} holds both directions of a pair of equal words (the rule
 * adds w to n+_{ab} and to n+_{ba}; for a = b that is one cell, 2w). Every pointer of
 * ng_corpus (each word too) is malloc'ed separately; ng_corpus_free frees them all. */
NG_API ng_status ng_corpus_read(const char *dir, ng_corpus *out);
NG_API ng_status ng_corpus_write(const char *dir, const ng_corpus *c); /* atomic: DIR.tmp then rename */
NG_API void ng_corpus_free(ng_corpus *c);
/* What ng_corpus_read and ng_corpus_write check: sizes, 0 <= i <= j < W, (i, j) strictly
 * increasing within a slice, n finite and >= 0, times finite and strictly increasing,
 * words non-empty, unique, valid UTF-8 without tab or newline. NG_EFORMAT names the first
 * offence. */
NG_API ng_status ng_corpus_check(const ng_corpus *c);

/* Tokens longer than this many bytes count as tokens but are never words. */
#define NG_CORPUS_MAX_WORD 255

/* Building a corpus from text or Google Books n-grams: two streaming passes over the
 * inputs (word counts per slice -> the vocabulary; then pair counts of vocabulary words),
 * files in parallel, each with its own tables, merged in input order: the result does
 * not depend on the thread count. Memory grows with the count tables, not the input. */
typedef enum {
    NG_CORPUS_AUTO = 0, /* a directory is text files, a file is told by its first line */
    NG_CORPUS_TEXT,     /* plain text, a sentence per line; time from the file name */
    NG_CORPUS_TSV,      /* lines time<TAB>text */
    NG_CORPUS_NGRAM     /* Google Books 5-grams, the 2012 and 2020 line formats */
} ng_corpus_format;
typedef enum {
    NG_NGRAM_CODE = 0,  /* every in-vocabulary pair p < q: (5 - d) match / 4 both ways */
    NG_NGRAM_ANCHORED   /* only pairs with the first token: the same weight */
} ng_ngram_pairs;
typedef struct {
    ng_corpus_format format; /* NG_CORPUS_AUTO */
    const char *time_of;  /* CSV "file,time" giving the times of a directory's files
                             (names relative to it; only the files listed are read), or NULL */
    int slice_years;      /* 1: slice time = floor(time / N) N; 0: each distinct time */
    size_t vocab;         /* 10000: the top W by relative frequency averaged over slices */
    int window;           /* 4: text pairs at distance d <= c weigh (c + 1 - d) / c */
    int64_t min_count;    /* 1: words seen fewer times in all are left out */
    int lowercase;        /* -1: by the input (text 1, n-grams 0); 0 keep case; 1 lower */
    int years_from, years_to; /* 1800, 2008: n-gram years kept */
    ng_ngram_pairs ngram_pairs; /* NG_NGRAM_CODE */
    int threads;          /* 0: OpenMP's default */
    /* Called after each file of each pass (pass 1 or 2) with the bytes read so far in
     * that pass; a non-zero return stops the build (NG_EINTERRUPTED). May be NULL. */
    int (*progress)(void *user, int pass, size_t files_done, size_t files, uint64_t bytes);
    void *progress_user;
} ng_corpus_build_params;
NG_API ng_corpus_build_params ng_corpus_build_default_params(void);
typedef struct {
    size_t files;             /* input files read */
    size_t empty_files;       /* files that held no token (they make no slice) */
    uint64_t bytes;           /* bytes read in one pass, after decompression */
    uint64_t bytes_on_disk;   /* the files' sizes */
    uint64_t lines;           /* lines in one pass */
    uint64_t tokens;          /* tokens (n-grams: n x match summed) */
    uint64_t invalid_utf8;    /* invalid UTF-8 sequences (each separates tokens) */
    uint64_t long_tokens;     /* tokens over NG_CORPUS_MAX_WORD bytes */
    uint64_t ngrams_kept, ngrams_dropped; /* n-gram lines kept, dropped (tags, blanks) */
    uint64_t years_dropped;   /* n-gram year entries outside [years_from, years_to] */
    size_t distinct_words;    /* words before the vocabulary cut */
    double in_vocab;          /* fraction of tokens that are vocabulary words */
    double seconds[2];        /* wall time of the two passes */
    int threads;              /* threads used */
    ng_corpus_format format;  /* the kind read (not AUTO) */
} ng_corpus_build_stats;
/* inputs: directories (their files, sorted by name; names starting with '.' skipped) or
 * files. A bad input fails with file, line and what was expected; out is untouched then.
 * stats may be NULL. */
NG_API ng_status ng_corpus_build(const char *const *inputs, size_t n_inputs,
                                 const ng_corpus_build_params *p, ng_corpus *out,
                                 ng_corpus_build_stats *stats);

/* The synthetic corpus with planted drift (spec: dwe.md section 7). Word i (rank i,
 * frequency f_i ~ 1/(i + 10)) belongs to topic i mod K; some words of ranks
 * [rank_lo, rank_hi] change at slice tau: abrupt (to a new topic), gradual (linearly
 * over gradual_steps slices from tau), broadening (half in each topic from tau) or in
 * frequency only (x freq_factor from tau). Sentences of `length` tokens of one uniform
 * topic k draw tokens from q_{k,t}(i) = beta p_bg(i) + (1 - beta) f_i(t) a_ik(t) / Z_kt. */
enum { NG_DWE_STABLE = 0, NG_DWE_ABRUPT, NG_DWE_GRADUAL, NG_DWE_BROADENING, NG_DWE_FREQUENCY };
typedef struct {
    size_t words, topics, slices;     /* 1000, 10, 40 */
    size_t sentences;                 /* 20000 per slice ... */
    size_t small_sentences;           /* 1000 in every small_every-th slice (5) */
    size_t small_every;
    size_t length;                    /* 12 tokens per sentence */
    double beta;                      /* 0.3 */
    size_t n_abrupt, n_gradual, n_broadening, n_frequency; /* 40, 40, 20, 40 */
    size_t rank_lo, rank_hi;          /* 50, 500 */
    size_t tau_lo, tau_hi;            /* 10, 30 (slices, 1-based) */
    size_t gradual_steps;             /* 10 */
    double freq_factor;               /* 10 */
    int window;                       /* 4: the counts' window c */
    int null_variant;                 /* 0; 1: plant nothing */
    double time0;                     /* 1: slice t (1-based) has time time0 + t - 1 */
    uint64_t seed;                    /* 1 */
} ng_dwe_synth_params;
NG_API ng_dwe_synth_params ng_dwe_synth_default_params(void);
typedef struct {
    size_t W, K, T, length;
    int window;
    char **word;        /* W: "w0000", ... (rank order) */
    int *kind;          /* W: NG_DWE_* */
    int *tau;           /* W: change slice (1-based), -1 for stable words */
    int *home, *new_topic; /* W: topics (new_topic -1 when it does not change topic) */
    double *time;       /* T */
    double *sentences;  /* T: S_t */
    double *q;          /* T x K x W: q_{k,t}(i) */
    uint64_t seed;
} ng_dwe_synth;
NG_API const char *ng_dwe_kind_name(int kind); /* "stable", "abrupt", ... */
NG_API ng_status ng_dwe_synth_make(const ng_dwe_synth_params *p, ng_dwe_synth *out);
NG_API void ng_dwe_synth_free(ng_dwe_synth *s);
/* The expected counts lambda_{ij,t} = S_t sum_{d<=c} 2 (l - d) w(d) sum_k q_k(i) q_k(j) / K
 * (expected != 0), or n+ ~ Poisson(lambda) drawn from streams forked from the seed (the
 * fast path), as a corpus with the words in rank order. */
NG_API ng_status ng_dwe_synth_counts(const ng_dwe_synth *s, int expected, ng_corpus *out);
/* The sentences, a line each: as a directory of files "<time>.txt" (tsv == 0; time0
 * must then be a whole number) or as one file of time<TAB>sentence lines (tsv != 0);
 * atomic. Slices draw from streams forked from the seed. */
NG_API ng_status ng_dwe_synth_write_text(const ng_dwe_synth *s, const char *path, int tsv);
/* truth.csv: word,kind,tau,home_topic,new_topic (tau and new_topic -1 when none); atomic. */
NG_API ng_status ng_dwe_synth_write_truth(const ng_dwe_synth *s, const char *path);
typedef enum { NG_DWE_TEXT_DIR = 0, NG_DWE_TEXT_TSV, NG_DWE_TEXT_NONE } ng_dwe_text;
typedef enum { NG_DWE_COUNTS_POISSON = 0, NG_DWE_COUNTS_EXPECTED, NG_DWE_COUNTS_NONE } ng_dwe_counts;
/* All of it in one directory, atomically (written as DIR.tmp, then renamed; an existing
 * DIR is replaced only when empty or holding truth.csv): text/ or text.tsv, counts/ (a
 * corpus directory) and truth.csv. */
NG_API ng_status ng_dwe_synth_write(const char *dir, const ng_dwe_synth *s, ng_dwe_text text,
                                    ng_dwe_counts counts);

/* --- dynamic word embeddings: model files (dwe_model_read.c, models/dwe_query.c) -----
 * A trained model's directory (docs/dwe.md, "Questions to a model"): model.txt
 * ("natgrad-dwe-model 1", then the keys method, dim, W, T, sigma0, diffusion, symmetry,
 * steps, optionally prior; other keys are ignored), vocab.tsv (word<TAB>count, rank order), times.csv
 * (slice,time,train) and U.npy, V.npy (f32 T x W x d, the means of the word vectors u
 * and context vectors v per slice), and the questions asked of it. Similarities are
 * cosines accumulated in double; a zero vector has cosine 0 with everything. */
typedef struct {
    size_t T, W, d;        /* all slices (training and held out), words, dimensions */
    double *time;          /* T: strictly increasing (years) */
    unsigned char *train;  /* T: 1 a training slice, 0 a held-out one */
    char **word;           /* W: UTF-8, unique, rank order */
    double *count;         /* W: occurrences over all slices */
    float *U, *V;          /* T x W x d: u_{t,i} is U + (t W + i) d */
    /* model.txt's training values: method (smoothing, filtering, map), symmetry (none,
     * goldstone, sync, sync+goldstone) and prior (product, conditional; "product" when
     * the line is absent) as written, one word each; sigma0 and diffusion > 0 */
    char *method, *symmetry, *prior;
    double sigma0, diffusion;
    int64_t steps;         /* optimisation steps done */
} ng_dwe_model;
/* Checks every file against model.txt (line counts before allocating, the arrays' dtype
 * and shape, finite values, increasing times, unique words); NG_EFORMAT names the file
 * and the line or element of the first offence. out is untouched on failure. */
NG_API ng_status ng_dwe_model_read(const char *dir, ng_dwe_model *out);
NG_API void ng_dwe_model_free(ng_dwe_model *m);

/* The word's index (exact, byte for byte); NG_EINVAL "no word 'x' in the vocabulary of
 * W words" (adding "; did you mean 'X'?" when one differs only in ASCII case). */
NG_API ng_status ng_dwe_find_word(const ng_dwe_model *m, const char *word, size_t *i);
/* The slice at exactly this time; NG_EINVAL "no slice at 1853; the closest are 1850 and
 * 1855" (before the first or after the last: "the closest is 1800 (the first)"). */
NG_API ng_status ng_dwe_find_time(const ng_dwe_model *m, double time, size_t *t);

/* A word and its score, best first (ties: the lower index first). */
typedef struct {
    size_t word;
    double score;
} ng_dwe_hit;
/* Nearest neighbours of word i at slice t: the k words j != i of largest cos(u_{t,i},
 * u_{t,j}). *n (<= k) gets how many were written to out. */
NG_API ng_status ng_dwe_neighbours(const ng_dwe_model *m, size_t t, size_t i, size_t k,
                                   ng_dwe_hit *out, size_t *n);
/* Word aging (Bamler & Mandt 2017, Table 2): the words j of slice t_old closest to word i
 * of slice t_new, by cos(u_{t_new,i}, u_{t_old,j}); j = i left out unless with_self. */
NG_API ng_status ng_dwe_aging(const ng_dwe_model *m, size_t i, size_t t_new, size_t t_old,
                              int with_self, size_t k, ng_dwe_hit *out, size_t *n);
/* Most changed words between slices ta and tb: the k words of largest
 * 1 - cos(u_{ta,i}, u_{tb,i}) among those with count >= min_count (0: all). */
NG_API ng_status ng_dwe_changed(const ng_dwe_model *m, size_t ta, size_t tb, double min_count,
                                size_t k, ng_dwe_hit *out, size_t *n);
/* sim[t] = cos(u_{t,i}, u_{t,j}) for every slice t (T values). */
NG_API ng_status ng_dwe_trajectory(const ng_dwe_model *m, size_t i, size_t j, double *sim);
/* The overlap of Fig. 4 of the paper: cos[i] = cos(u_{ta,i}, R u_{tb,i}) for all W words,
 * R = I (align == 0) or the orthogonal Procrustes rotation of slice tb onto slice ta over
 * all words (align != 0: ng_procrustes, reflections allowed, as the symmetry of the
 * model is O(d)); R (d x d, may be NULL) gets it. */
NG_API ng_status ng_dwe_overlap(const ng_dwe_model *m, size_t ta, size_t tb, int align,
                                double *cos, double *R);

/* word2vec files (the format of word2vec's -output and gensim's
 * KeyedVectors.load_word2vec_format): a header line "n d", then per word: text, the word,
 * then d numbers separated by single spaces (the shortest that read back to the same
 * float), newline; binary (binary != 0), the word, a space, d little-endian float32, a
 * newline. Words must be non-empty, without whitespace; vectors finite. Atomic. */
NG_API ng_status ng_word2vec_write(const char *path, size_t n, size_t d, const char *const *words,
                                   const float *vec, int binary);
enum {
    NG_W2V_TEXT = 1u << 0,    /* <time>.txt */
    NG_W2V_BINARY = 1u << 1,  /* <time>.bin */
    NG_W2V_CONTEXT = 1u << 2  /* also the context vectors v: <time>.context.txt / .bin */
};
/* One word2vec file per slice and format of the word vectors u (times as
 * ng_dwe_find_time's messages print them: 1850, 1850.5), and word2vec.csv
 * (slice,time,train,file per written file) in dir, written as DIR.tmp and renamed (an
 * existing dir is replaced only when empty or holding word2vec.csv). */
NG_API ng_status ng_dwe_export_word2vec(const ng_dwe_model *m, const char *dir, unsigned what);

/* --- dynamic word embeddings: evaluation against a planted truth (models/dwe_eval.c) --
 * A trained model against the truth.csv of 'natgrad dwe synth' (docs/dwe.md, "Evaluation
 * against the planted truth"): word,kind,tau,home_topic,new_topic; kind as
 * ng_dwe_kind_name, tau the change slice counted from 1 (-1 for stable words), new_topic
 * -1 when the word keeps its topic. Model slice t (from 0) is truth slice t + 1. */
typedef struct {
    size_t n;
    char **word;
    int *kind, *tau, *home, *new_topic; /* NG_DWE_* kinds */
} ng_dwe_truth;
/* NG_EFORMAT names the file and line of the first offence (header, field count, kind,
 * numbers, a drifting word without tau >= 1 or a new topic other than its home, a word
 * twice). out is untouched on failure. */
NG_API ng_status ng_dwe_truth_read(const char *path, ng_dwe_truth *out);
NG_API void ng_dwe_truth_free(ng_dwe_truth *t);
typedef struct {
    size_t matched, missing;       /* truth words found in the model's vocabulary / not */
    /* 1. drift detection by 1 - cos(u_first, u_last): AUC (Mann-Whitney, ties 1/2) of the
     * drifting words (abrupt, gradual, broadening) against stable + frequency-only words,
     * and against frequency-only words alone; NAN when a class is empty */
    size_t n_drift, n_stable, n_freq;
    double auc, auc_freq;
    /* 2. abrupt words: the change slice found, argmax_t ||u_{t+1} - u_t|| read as slice
     * t + 2 from 1 (the first slice after the jump), within +-2 of tau */
    size_t n_abrupt, change_hits;
    double change_share;           /* NAN without abrupt words or with T < 2 */
    /* 3. precision@10 per slice: queries are stable and frequency-only words whose topic
     * has >= 10 other members at t; a neighbour counts when one of its topics at t is the
     * query's (abrupt: home before tau, new from tau; gradual and broadening: home before
     * tau, both from tau). min and median over the slices that have queries */
    size_t n_queries;              /* queries summed over slices */
    size_t prec_slices;            /* slices with queries */
    double prec_min, prec_median;  /* NAN when no slice has queries */
    /* 4. median over all W words of cos(u_first, u_last), raw and Procrustes-aligned */
    double overlap_median, overlap_aligned_median;
} ng_dwe_eval;
/* NG_EINVAL when the truth's taus pass the model's T or no truth word is in the model. */
NG_API ng_status ng_dwe_evaluate(const ng_dwe_model *m, const ng_dwe_truth *truth,
                                 ng_dwe_eval *out);

/* ======== networks and K-FAC (src/nn) ====================================== */

/* --- feed-forward networks (net.c) ---------------------------------------------------
 * Layers k = 0..l-1 map d_k inputs to d_{k+1} outputs: s_k = W_k abar_k, where
 * abar_k = [a_k; 1] (bias = last column of W_k, a d_{k+1} x (d_k + 1) row-major matrix)
 * and a_{k+1} = act_k(s_k). The output s_{l-1} = z holds the natural parameters of the
 * output distribution (its nonlinearity is folded into the loss). Minibatches are
 * row-major with one case per row. All parameters live in one float slab; a gradient or
 * direction is a slab of the same size and layout. */
#define NG_NET_MAX_LAYERS 32
typedef enum { NG_ACT_LOGISTIC = 0, NG_ACT_TANH, NG_ACT_RELU, NG_ACT_SOFTPLUS, NG_ACT_LINEAR } ng_act;
typedef enum {
    NG_LOSS_BERNOULLI = 0, /* logistic outputs, cross-entropy; targets in [0, 1] */
    NG_LOSS_SOFTMAX,       /* softmax outputs, cross-entropy; targets one-hot */
    NG_LOSS_GAUSSIAN       /* linear outputs, 1/2 ||y - z||^2 */
} ng_loss;
typedef struct {
    int n_layers;                        /* l */
    size_t sizes[NG_NET_MAX_LAYERS + 1]; /* d_0 .. d_l */
    ng_act act[NG_NET_MAX_LAYERS];       /* act[k] follows layer k, k < l - 1 */
    ng_loss loss;
} ng_net_spec;

/* "784-1000-500-30" with one activation name for every hidden layer, or a
 * comma list of l-1 names ("logistic,logistic,linear"). */
NG_API ng_status ng_net_spec_parse(const char *sizes, const char *acts, ng_loss loss,
                                   ng_net_spec *out);
/* Paper presets: "mnist", "curves", "faces" (logistic hidden, linear code layer). */
NG_API ng_status ng_net_spec_preset(const char *name, ng_net_spec *out);
NG_API const char *ng_act_name(ng_act a);
NG_API const char *ng_loss_name(ng_loss l);

typedef struct ng_net ng_net;
/* Allocates parameters and every per-case buffer for minibatches up to max_batch. */
NG_API ng_status ng_net_new(const ng_net_spec *spec, size_t max_batch, ng_net **out);
NG_API void ng_net_free(ng_net *net);
NG_API const ng_net_spec *ng_net_get_spec(const ng_net *net);
NG_API size_t ng_net_max_batch(const ng_net *net);
NG_API size_t ng_net_num_params(const ng_net *net);
NG_API float *ng_net_params(ng_net *net);                 /* the slab */
/* Offset of W_k in any slab; k = n_layers gives num_params (k is clamped to 0..l). */
NG_API size_t ng_net_layer_offset(const ng_net *net, int k);
/* Sparse init (Martens 2010): each unit gets `k` incoming N(0,1) weights, sources drawn
 * with replacement; other weights and biases 0. Glorot: uniform +-sqrt(6/(in+out)). */
#define NG_NET_SPARSE_K 15 /* the paper's incoming weights per unit */
NG_API void ng_net_init_sparse(ng_net *net, ng_rng *rng, int k);
NG_API void ng_net_init_glorot(ng_net *net, ng_rng *rng);

/* Forward on m <= max_batch cases X (m x d_0); keeps abar_k and z for the other passes
 * (hidden s_k are not kept: every derivative is taken from the activation value).
 * Products go through cblas_sgemm; activations use vectorised float kernels (error
 * <= ~3e-7 absolute / 2e-6 relative); per-case loss sums are accumulated in double.
 * loss/error/output_fisher_dot return NaN (and set the error) on a bad m or NULL. */
NG_API ng_status ng_net_forward(ng_net *net, const float *X, size_t m);
/* After forward: mean over the m cases of the loss against targets Y (m x d_l). */
NG_API double ng_net_loss(const ng_net *net, const float *Y, size_t m);
/* After forward: backward pass on the FIRST m cases of the last forward (m may be less
 * than the forward's). Stores g_k = dL/ds_k per case; if grad != NULL writes the mean
 * gradient (slab layout). Y NULL is an error. */
NG_API ng_status ng_net_backward(ng_net *net, const float *Y, size_t m, float *grad);
/* After forward: targets sampled from the model's predictive distribution for the first
 * m cases (Bernoulli, categorical one-hot, z + N(0, I)), into Yhat (m x d_l). */
NG_API ng_status ng_net_sample_targets(const ng_net *net, size_t m, ng_rng *rng, float *Yhat);
/* Per-case buffers of the last passes (row-major, first m rows valid):
 * abar_k: m x (d_k + 1) with the trailing 1; g_k: m x d_{k+1}, per case (not divided
 * by m); output mean m x d_l (sigma(z), softmax(z) or z). k outside 0..l-1: NULL. */
NG_API const float *ng_net_abar(const ng_net *net, int k);
NG_API const float *ng_net_g(const ng_net *net, int k);
NG_API const float *ng_net_output_mean(ng_net *net, size_t m);
/* After forward: forward-mode derivative (R-op) J V for a direction V (slab layout) on
 * the first m cases, into JV (m x d_l). */
NG_API ng_status ng_net_rop(ng_net *net, const float *V, size_t m, float *JV);
/* Mean over the first m cases of Ja_c^T F_out,c Jb_c with the output Fisher F_out of the
 * loss at the current outputs (Bernoulli diag p(1-p); softmax diag(p) - p p^T; Gaussian I).
 * With ng_net_rop this gives V1^T F V2 for the exact Fisher (GGN). */
NG_API double ng_net_output_fisher_dot(const ng_net *net, size_t m, const float *Ja,
                                       const float *Jb);
/* After forward: reconstruction error (mean over cases of sum (mean - y)^2, the paper's
 * measure) or misclassification rate (softmax) on the first m cases. */
NG_API double ng_net_error(ng_net *net, const float *Y, size_t m);
/* Loss and error (either may be NULL) over a whole set in chunks of max_batch; parameters
 * unchanged, but the per-case buffers then hold the last chunk. */
NG_API ng_status ng_net_evaluate(ng_net *net, const float *X, const float *Y, size_t n,
                                 double *loss, double *error);
/* The output natural parameters z = s_{l-1} of the last forward (m x d_l). */
NG_API const float *ng_net_output(const ng_net *net);
/* Cases of the last forward (0 before the first). */
NG_API size_t ng_net_cases(const ng_net *net);
/* Bytes held by the network: parameter slab plus every per-case buffer. */
NG_API size_t ng_net_workspace_bytes(const ng_net *net);

/* --- K-FAC optimiser (kfac.c) ---------------------------------------------------------
 * Martens & Grosse 2015 as run by the authors' code: Kronecker-factored Fisher with
 * block-diagonal or block-tridiagonal inverse, factored Tikhonov damping gamma, quadratic
 * model (exact Fisher) for the step size alpha and momentum mu, Levenberg-Marquardt lambda.
 * The objective is h = mean loss + (eta/2) ||theta||^2. One ng_kfac per network. */
typedef enum { NG_KFAC_BLOCKDIAG = 0, NG_KFAC_TRIDIAG = 1 } ng_kfac_curvature;
typedef struct {
    ng_kfac_curvature curvature; /* blockdiag: the faster per second of training
                                    (docs/kfac.md); the authors' MNIST runs used tridiag */
    int momentum;                /* 1: delta = alpha Delta + mu delta0 (mu from the model) */
    int empirical_fisher;        /* 0: G from targets sampled from the model (true Fisher) */
    int exact_tikhonov;          /* 0: factored damping; 1: (Ahat (x) G + gamma^2 I)^-1, blockdiag only */
    int adapt_lambda;            /* 1: Levenberg-Marquardt rule every T1 */
    int adapt_gamma;             /* 1: try 3 gammas every T2 */
    double tau1;                 /* 1/8: fraction of the minibatch used for statistics */
    double tau2;                 /* 1/4: fraction of the minibatch for the quadratic model's
                                    exact-Fisher (R-op) products; 1 = the whole minibatch */
    double eps_max;              /* 0.95: eps_k = min(1 - 1/k, eps_max) */
    int T1, T2, T3;              /* 5, 20, 20 */
    int refresh_first;           /* 3: also refresh the decompositions on k <= this */
    double lambda0;              /* 150 */
    double omega1;               /* 0.95^5 */
    double omega2;               /* 0.95^10 */
    double gamma0;               /* <= 0: sqrt(lambda0 + eta) */
    double eta;                  /* 1e-5 (faces: 0.5e-5, ng_kfac_preset_eta) */
    size_t m1;                   /* 1000: first minibatch size */
    long full_batch_iter;        /* 500: m_k reaches the training set size at this k */
    double polyak_xi;            /* 0.99 */
    long polyak_start;           /* 200 */
} ng_kfac_params;
NG_API ng_kfac_params ng_kfac_default_params(void);
NG_API ng_status ng_kfac_params_check(const ng_kfac_params *p);
/* The weight decay eta the paper used with a net preset (ng_net_spec_preset): mnist and
 * curves 1e-5, faces 0.5e-5. NG_EINVAL (eta untouched) for another name. */
NG_API ng_status ng_kfac_preset_eta(const char *preset, double *eta);
/* m_k = min(floor(m1 2^((k-1)/div)), n), div = (full_batch_iter - 1) / log2(n / m1). */
NG_API size_t ng_kfac_batch_size(const ng_kfac_params *p, long k, size_t n_train);

typedef struct {
    long k;                  /* iteration just done (from 1) */
    size_t batch, stats_batch;
    double objective;        /* h(theta) on the minibatch before the step */
    double lambda, gamma;    /* values after this iteration's updates */
    double alpha, mu;        /* chosen step coefficients */
    double model_change;     /* M(delta) - M(0) */
    double rho;              /* reduction ratio, NaN on iterations without LM update */
    int refreshed;           /* eigendecompositions recomputed */
    int gamma_adapted;       /* gamma candidates tried */
} ng_kfac_info;

/* Multiply-adds of the product P M Q (P m x k1, M k1 x k2, Q k2 x n) in the cheaper of
 * the two orders, the order the block-tridiagonal inverse apply uses (for flop counts). */
NG_API double ng_kfac_chain_cost(size_t m, size_t k1, size_t k2, size_t n);
typedef struct ng_kfac ng_kfac;
/* Bytes the optimiser allocates for this network (one slab, no allocation in step). */
NG_API size_t ng_kfac_workspace_bytes(const ng_net *net, const ng_kfac_params *p);
NG_API ng_status ng_kfac_new(ng_net *net, const ng_kfac_params *p, ng_kfac **out);
NG_API void ng_kfac_free(ng_kfac *kf);
/* One iteration on the minibatch X, Y (m <= max_batch cases, already shuffled: the first
 * ceil(tau1 m) rows feed the statistics, the first ceil(tau2 m) the quadratic model's
 * Fisher products). NG_ENUMERIC on NaN/Inf (parameters unchanged). A block-tridiagonal
 * refresh solves its generalised eigenproblems side by side on the OpenMP threads and sets
 * OpenBLAS to 1 thread meanwhile (process-wide: OpenBLAS has no per-call setting), then
 * restores the count. */
NG_API ng_status ng_kfac_step(ng_kfac *kf, const float *X, const float *Y, size_t m,
                              ng_rng *rng, ng_kfac_info *info);
NG_API long ng_kfac_iter(const ng_kfac *kf);
/* Polyak-averaged parameters (slab layout), NULL before polyak_start. */
NG_API const float *ng_kfac_polyak(const ng_kfac *kf);
/* The optimiser's whole state as named arrays (for ng_ckpt_save/_load; data points into
 * the optimiser). arrays NULL: returns the count. */
NG_API size_t ng_kfac_state(ng_kfac *kf, ng_ckpt_array *arrays, size_t cap);
/* After ng_ckpt_load into those arrays: adopt the loaded scalars (k, lambda, gamma). */
NG_API ng_status ng_kfac_state_loaded(ng_kfac *kf);

/* --- one optimiser interface for networks (net_optim.c) ------------------------------
 * K-FAC, SGD with Nesterov momentum and Adam behind one handle, on the same objective
 * h = mean loss + (eta/2) ||theta||^2, with the minibatch schedule each one uses. */
typedef enum { NG_OPT_SGD_NESTEROV = 0, NG_OPT_ADAM = 1, NG_OPT_KFAC = 2 } ng_optim_kind;
NG_API const char *ng_optim_kind_name(ng_optim_kind k); /* "sgd-nesterov" "adam" "kfac" */
typedef struct {
    ng_optim_kind kind;
    size_t batch;      /* K-FAC's first minibatch m1, 1000 (kfac.m1 is set from it); SGD's
                          minibatch 100, Adam's 1000 */
    size_t max_batch;  /* 0: K-FAC's cap on the growing minibatch, 0 = the training set */
    double lr;         /* SGD 0.01, Adam 1e-3 (K-FAC: unused, its step is alpha) */
    double mu_max;     /* 0.99: cap of the Sutskever et al. momentum schedule (SGD) */
    double beta1, beta2, eps; /* 0.9, 0.999, 1e-8 (Adam) */
    double eta;        /* 1e-5: weight decay in h, every kind (kfac.eta is set from it) */
    ng_kfac_params kfac; /* ng_kfac_default_params() */
    int average;       /* SGD 1, Adam 0: also keep the Polyak average of the iterate on K-FAC's
                          schedule (kfac.polyak_xi, kfac.polyak_start: from step t = start,
                          avg = xi_t avg + (1 - xi_t) theta, xi_t = min(1 - 1/(t - start + 1),
                          xi)); K-FAC always averages */
} ng_optim_params;
/* Defaults: K-FAC the paper's constants but curvature blockdiag; SGD-Nesterov the settings
 * tuned on the mnist preset (ng_optim_preset_params); Adam Kingma & Ba's, minibatch 1000. */
NG_API ng_optim_params ng_optim_default_params(ng_optim_kind kind);
/* The defaults for a paper preset ("mnist", "curves", "faces", ng_net_spec_preset): those
 * above with the preset's eta (ng_kfac_preset_eta) and, for SGD-Nesterov, the minibatch,
 * lr and mu_max tuned on the preset's data (docs/kfac.md). *source (may be NULL) says where
 * the values come from, in one line. preset NULL: the plain defaults; NG_EINVAL for
 * another name (out: the plain defaults, *source: theirs). */
NG_API ng_status ng_optim_preset_params(ng_optim_kind kind, const char *preset, ng_optim_params *out,
                                        const char **source);
NG_API ng_status ng_optim_params_check(const ng_optim_params *p);
/* Largest minibatch the optimiser will ask for on a training set of n cases (size the
 * network's max_batch with it). */
NG_API size_t ng_optim_max_batch(const ng_optim_params *p, size_t n_train);
/* mu_t = min(1 - 2^(-1 - log2(floor(t/250) + 1)), mu_max), t from 0. */
NG_API double ng_sutskever_mu(long t, double mu_max);
typedef struct {
    long t;            /* steps done, counting this one */
    size_t batch;      /* cases of this step's minibatch */
    double objective;  /* h on the minibatch at the point the gradient was taken */
    double alpha, mu;  /* the step: K-FAC's quadratic-model coefficients; SGD: lr and the
                          momentum; Adam: lr and 0 */
    double lambda, gamma, rho; /* K-FAC's damping and reduction ratio; NaN otherwise */
    ng_kfac_info kfac; /* K-FAC: the whole iteration report */
} ng_optim_info;
typedef struct ng_optim ng_optim;
NG_API ng_status ng_optim_new(ng_net *net, const ng_optim_params *p, ng_optim **out);
NG_API void ng_optim_free(ng_optim *o);
NG_API const ng_optim_params *ng_optim_get_params(const ng_optim *o);
/* Minibatch size of step k (from 1) on a training set of n cases: SGD/Adam batch, K-FAC
 * ng_kfac_batch_size capped by max_batch; never more than n. */
NG_API size_t ng_optim_batch_size(const ng_optim *o, long k, size_t n_train);
/* One step on the minibatch X, Y (m rows, already shuffled). rng: K-FAC's sampled
 * targets (unused by SGD and Adam, may be NULL for them). NG_ENUMERIC on NaN/Inf with
 * the parameters unchanged. */
NG_API ng_status ng_optim_step(ng_optim *o, const float *X, const float *Y, size_t m,
                               ng_rng *rng, ng_optim_info *info);
NG_API long ng_optim_steps(const ng_optim *o);
/* The iterate to evaluate besides the current one: the Polyak average (K-FAC's, or
 * SGD's/Adam's with average = 1) once it has started, else NULL. */
NG_API const float *ng_optim_averaged(const ng_optim *o);
/* The K-FAC handle behind a K-FAC optimiser, else NULL. */
NG_API ng_kfac *ng_optim_kfac(ng_optim *o);
/* State protocol (K-FAC's arrays, or "optim_scalars", "optim_v" [, "optim_s"]
 * [, "optim_avg"]). */
NG_API size_t ng_optim_state(ng_optim *o, ng_ckpt_array *arrays, size_t cap);
NG_API ng_status ng_optim_state_loaded(ng_optim *o);

/* ======== Goldstone-GD (src/goldstone) ===================================== */

/* Models with a rotation symmetry per node t = 0..T-1 of a coupling graph.
 * Storage of the parameters Z (caller-owned float array of T * N * d):
 *   slice t = Z + t*N*d is an N x d row-major matrix; row i is the embedding vector
 *   z_{t,i} (d contiguous floats). For matrix factorisation rows 0..n_rows-1 are U's
 *   vectors and the rest V's, so one rotation R_t (z -> R_t z) acts on both.
 * Prior psi(Z) = 1/2 Tr(Z^T L Z) = 1/2 sum_{edges (a,b,w)} w sum_i ||z_{a,i} - z_{b,i}||^2. */

/* --- coupling graph (laplacian.c) ---------------------------------------------------
 * Weighted undirected graph over T nodes, Laplacian L = D - A. Constructors compute the
 * dense T x T pseudo-inverse L+ once (eigendecomposition, the zero mode dropped) and
 * reject a disconnected graph (NG_EINVAL naming the number of components), non-positive
 * or non-finite weights, self loops and out-of-range nodes. T = 1 is allowed (no edges). */
typedef struct ng_graph ng_graph;
/* The most nodes a graph may have (more is NG_EINVAL before any work): L+ is dense, from a
 * dense O(T^3) eigendecomposition, so near this limit a graph takes gigabytes and minutes. */
#define NG_GRAPH_MAX_NODES 20000
NG_API ng_status ng_graph_chain(size_t T, double lambda, ng_graph **out);
/* Chain with weight w[t] on edge (t, t+1), t = 0..T-2. */
NG_API ng_status ng_graph_chain_weighted(size_t T, const double *w, ng_graph **out);
/* General graph: edge e joins a[e] and b[e] with weight w[e] (duplicates add up). */
NG_API ng_status ng_graph_edges(size_t T, size_t n_edges, const size_t *a, const size_t *b,
                                const double *w, ng_graph **out);
NG_API void ng_graph_free(ng_graph *g);
NG_API size_t ng_graph_nodes(const ng_graph *g);
NG_API size_t ng_graph_num_edges(const ng_graph *g);
/* Edge e (0 <= e < num_edges) as (a, b, w) with a < b. */
NG_API ng_status ng_graph_edge(const ng_graph *g, size_t e, size_t *a, size_t *b, double *w);
NG_API int ng_graph_is_chain(const ng_graph *g);
/* Dense T x T Laplacian into L (row-major). */
NG_API void ng_graph_laplacian(const ng_graph *g, double *L);
/* The dense T x T pseudo-inverse L+ (owned by the graph). */
NG_API const double *ng_graph_pinv(const ng_graph *g);
/* psi(Z) (double accumulation; one pass over Z, OpenMP over N). */
NG_API double ng_graph_psi(const ng_graph *g, size_t N, size_t d, const float *Z);
/* psi(Z) into *psi (may be NULL) and ADDS d psi / dZ = L Z into grad (T*N*d floats). */
NG_API ng_status ng_graph_psi_grad(const ng_graph *g, size_t N, size_t d, const float *Z,
                                   float *grad, double *psi);

/* --- inner optimisers over a float vector (inner_optim.c) ---------------------------
 * Learning rate rho_s = rho0 * (sbar / (s + sbar))^p at step s = 0, 1, ... (sbar <= 0:
 * constant rho0). The gradient is first clipped element-wise to [-clip, clip] (clip <= 0:
 * none). GD: x -= rho_s g. AdaGrad: h += g^2; x -= rho_s g / (sqrt(h) + eps).
 * Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; x -= rho_s mhat / (sqrt(vhat) + eps)
 * with bias-corrected mhat, vhat. State is allocated in _new; _step never allocates. */
typedef enum { NG_INNER_GD = 0, NG_INNER_ADAGRAD = 1, NG_INNER_ADAM = 2 } ng_inner_kind;
typedef struct {
    ng_inner_kind kind;
    double rho0, sbar, p; /* learning-rate schedule */
    double clip;          /* element-wise gradient clip, <= 0: none */
    double beta1, beta2;  /* Adam */
    double eps;           /* AdaGrad, Adam */
} ng_inner_params;
/* Defaults per kind: GD rho0 1e-3 constant; AdaGrad rho0 1 (paper), eps 1e-8;
 * Adam rho0 1e-3, beta 0.9/0.999, eps 1e-8. No clipping, no decay. */
NG_API ng_inner_params ng_inner_default_params(ng_inner_kind kind);
NG_API const char *ng_inner_kind_name(ng_inner_kind k); /* "gd", "adagrad", "adam" */
typedef struct ng_inner ng_inner;
NG_API ng_status ng_inner_new(const ng_inner_params *p, size_t n, ng_inner **out);
NG_API void ng_inner_free(ng_inner *o);
/* One step on x (n floats) with gradient g (not modified). */
NG_API void ng_inner_step(ng_inner *o, float *x, const float *g);
NG_API int64_t ng_inner_steps(const ng_inner *o);          /* s: steps done */
NG_API double ng_inner_rate(const ng_inner *o);            /* rho_s of the next step */
NG_API void ng_inner_reset(ng_inner *o);                   /* s = 0, state zeroed */
/* State protocol: "inner_steps" (I64, 1), then AdaGrad "adagrad_h" or Adam "adam_m",
 * "adam_v" (F32, n). */
NG_API size_t ng_inner_state(ng_inner *o, ng_ckpt_array *arrays, size_t cap);
NG_API ng_status ng_inner_state_loaded(ng_inner *o);

/* --- Goldstone-GD (goldstone.c, gauge.c, sync.c) ------------------------------------ */
typedef enum {
    NG_SYM_NONE = 0,          /* the inner optimiser alone (baseline) */
    NG_SYM_GOLDSTONE = 1,     /* paper: gauge-field natural-gradient phase every k1 steps */
    NG_SYM_SYNC = 2,          /* exact O(d) alignment along a spanning tree (Procrustes) */
    NG_SYM_SYNC_GOLDSTONE = 3 /* sync, then the gauge phase (refines graphs with cycles) */
} ng_symmetry;
typedef enum {
    NG_ROT_FIRST_ORDER = 0, /* paper: z <- (I + Gamma) z */
    NG_ROT_CAYLEY = 1,      /* z <- cayley(Gamma) z, exactly orthogonal */
    NG_ROT_EXP = 2          /* z <- exp(Gamma) z, exactly orthogonal */
} ng_rotation;
/* How the k2 natural-gradient steps of a gauge phase are taken. */
typedef enum {
    NG_GAUGE_QUADRATIC = 0, /* paper: k2 steps on the second-order gauge loss L''(Gamma~; M)
                               with the moments M fixed, then one rotation by Gamma */
    NG_GAUGE_RETRACT = 1    /* each step is taken at the current rotation: the moments are
                               rotated (M_e <- R_b M_e R_a^T, O(d^3) per edge, no pass over Z),
                               the step is applied exactly (cayley/exp) and halved until the
                               exact psi decreases, so a phase never raises psi */
} ng_gauge_solver;
NG_API const char *ng_symmetry_name(ng_symmetry s);  /* "none" "goldstone" "sync" "sync+goldstone" */
NG_API const char *ng_rotation_name(ng_rotation r);  /* "first-order" "cayley" "exp" */
NG_API const char *ng_gauge_solver_name(ng_gauge_solver s); /* "quadratic" "retract" */

typedef struct {
    ng_symmetry symmetry;
    int k1;                /* inner steps between symmetry phases */
    int k2;                /* natural-gradient steps on the gauge fields per phase */
    double rho_scale;      /* rho' = rho_scale * d / sum ||z||^2 (paper: 1) */
    int gauge_reset;       /* 1: gauge fields start from 0 every phase; 0: warm (paper) */
    ng_rotation rotation;
    double gauge_clip;     /* clip entries of Gamma~ to +-gauge_clip/d; <= 0: none */
    double apply_fraction; /* fraction of Gamma applied per phase, (0, 1] (paper: 1) */
    ng_inner_params inner; /* the inner optimiser */
    ng_gauge_solver gauge_solver; /* paper: quadratic. retract ignores gauge_reset and
                                     apply_fraction (each phase starts at R = I) and needs an
                                     exact rotation (cayley or exp) */
    double max_overhead;   /* in [0, 1): the phase interval is raised above k1 until the
                              predicted phase cost (ng_goldstone_phase_cost) is at most this
                              fraction of the steps between phases; 0 = every k1 steps
                              exactly (the paper's) */
    double step_work;      /* >= 0: the model's own work per inner step beyond the passes
                              over Z, in the cost model's units (one per entry of Z); the
                              ratings model's is ng_dmf_step_work(); 0 = none (default) */
    double min_gain;       /* >= 0: a phase is undone (Z and the gauge fields restored bit
                              for bit) unless it lowers psi by at least min_gain * r * the
                              last inner step's decrease of L, r = ng_goldstone_phase_cost:
                              unless it gains what the steps its time would buy gain. The
                              inner optimiser's state belongs to the old basis, so a phase
                              that gains little can cost more than it gives (a phase
                              must pay twice its time: 1 left one seed of the ratings map
                              behind none, docs/goldstone.md). 0 = keep every phase (the
                              paper's); default 2 */
} ng_goldstone_params;
/* natgrad's defaults (best measured on the toy and the ratings; see docs/goldstone.md): symmetry
 * sync, k1 50, k2 10; for the gauge phase gauge_solver retract, rho_scale 4, rotation
 * cayley (gauge_reset 1, no gauge clip, apply_fraction 1); max_overhead 0.02; min_gain 2; inner = the
 * toy's clipped GD (rho0 1, sbar 100, p 0.7, clip 0.01) - set your own inner. */
NG_API ng_goldstone_params ng_goldstone_default_params(void);
/* The paper's exact variant: goldstone, quadratic solver, warm start, first-order
 * rotation, rho_scale 1, no clip, apply_fraction 1, k1 = 50, k2 = 10, max_overhead 0 (a
 * phase every k1 steps), min_gain 0 (every phase kept); inner optimiser left as given. */
NG_API void ng_goldstone_paper_variant(ng_goldstone_params *p);
/* The cost model of the symmetry phase (docs/goldstone.md): the predicted ratio r = (work of
 * one phase of p->symmetry, p->gauge_solver, p->k2) / (work of one inner step) on graph g
 * with N vectors of dimension d. A step counts one unit per entry of Z (T N d: the model's
 * loss, psi's gradient and the optimiser are a few passes over Z); a phase counts its
 * multiply-adds (moments and rotations over the N vectors, the d x d products and
 * factorisations per edge and per gauge step, L+'s product), each kind times a weight
 * fitted with OpenBLAS at one thread so that r is at least the measured ratio on the
 * ratings model (the formula is in goldstone.c). 0 for NG_SYM_NONE, -1 for a NULL
 * argument. A function of the sizes and parameters only, never of a clock. */
NG_API double ng_goldstone_phase_cost(const ng_goldstone_params *p, const ng_graph *g, size_t N,
                                      size_t d);
/* A first-order rotation z <- (I + Gamma) z multiplies sum ||z||^2 by about 1 + |Gamma|^2
 * (radians); a gauge phase that multiplies it by more than this (|Gamma| above ~1.7 rad,
 * where I + Gamma is no rotation) is the start of a divergence (warm-started gauge fields
 * growing from phase to phase, docs/goldstone.md): the driver stops with NG_ENUMERIC. */
#define NG_GAUGE_MAX_STRETCH 4.0

/* The model: computes the LOCAL loss sum_t l(X_t; Z_t) at Z into *ell and ADDS its
 * gradient into grad (T*N*d floats) unless grad is NULL (loss only). The method adds psi. */
typedef ng_status (*ng_local_loss_fn)(void *user, const float *Z, float *grad, double *ell);

typedef struct {
    int64_t step;            /* steps done, counting this one */
    double loss, ell, psi;   /* L = ell + psi at the Z the gradient was taken at */
    double seconds;          /* wall time of this call, symmetry phase included */
    double symmetry_seconds; /* of which the symmetry phase (0 if none ran) */
    int symmetry_ran;        /* 1 if a phase ran after this step */
    int symmetry_kept;       /* 1 if its result was kept, 0 if undone (min_gain) */
    double symmetry_gain;    /* psi before the phase minus after it (NaN: min_gain 0, not measured) */
    double symmetry_needed;  /* the gain it had to reach: min_gain * r * (L_{s-1} - L_s) (NaN:
                                min_gain 0, or no step before this one: kept) */
    int walls;               /* reflection walls before the phase, or -1 if not counted */
} ng_goldstone_stats;

typedef struct ng_goldstone ng_goldstone;
/* Z (T*N*d floats, T = ng_graph_nodes(g)) stays owned by the caller and is updated in
 * place by every step; the graph must outlive the state. All workspace is allocated here. */
NG_API ng_status ng_goldstone_new(const ng_goldstone_params *p, const ng_graph *graph,
                                  size_t N, size_t d, ng_local_loss_fn fn, void *user,
                                  float *Z, ng_goldstone **out);
NG_API void ng_goldstone_free(ng_goldstone *gs);
/* One inner step (gradient of ell + psi at Z, then the optimiser), and after every
 * ng_goldstone_interval-th step (every k1-th with max_overhead 0) the symmetry phase; no
 * heap allocation (the built-in models' callbacks do not allocate either). st may be
 * NULL. Set count_walls to also count walls each phase (costs a Procrustes per edge).
 * NaN/Inf in the loss, gradient or Z after the step returns NG_ENUMERIC "diverged at step
 * s"; so does a first-order gauge phase that stretches Z (NG_GAUGE_MAX_STRETCH), with Z
 * left as that phase made it. With min_gain > 0 the phase is measured (psi before and after,
 * Z copied into the gradient's buffer) and undone when it gains too little (see
 * ng_goldstone_params.min_gain; its time stays in symmetry_seconds). */
NG_API ng_status ng_goldstone_step(ng_goldstone *gs, int count_walls, ng_goldstone_stats *st);
/* L, ell, psi at the current Z (any may be NULL; no gradient). */
NG_API ng_status ng_goldstone_eval(ng_goldstone *gs, double *loss, double *ell, double *psi);
/* Runs the configured symmetry phase now (whatever k1 and min_gain say). seconds may be NULL. */
NG_API ng_status ng_goldstone_symmetry_phase(ng_goldstone *gs, double *seconds);
/* Phases ng_goldstone_step has run so far and how many of them were kept (resumed runs
 * included); either pointer may be NULL. */
NG_API void ng_goldstone_phases(const ng_goldstone *gs, int64_t *run, int64_t *kept);
NG_API int64_t ng_goldstone_steps(const ng_goldstone *gs);
/* The steps between symmetry phases, fixed in ng_goldstone_new from the parameters and the
 * sizes: k1_eff = max(k1, ceil(r / max_overhead)) with r = ng_goldstone_phase_cost (k1 when
 * max_overhead is 0 or the symmetry none; at most INT_MAX). ng_goldstone_step runs a phase
 * after step s when s is a multiple of it, so the predicted overhead per cycle,
 * r / (k1_eff + r), is below max_overhead. */
NG_API int ng_goldstone_interval(const ng_goldstone *gs);
NG_API const ng_goldstone_params *ng_goldstone_get_params(const ng_goldstone *gs);
/* State protocol (besides Z, which the caller owns and saves): "goldstone_steps" (I64, 1),
 * "gauge" (Gamma~, F64 T x d x d), "goldstone_phases" (I64, 2: run, kept),
 * "goldstone_last_loss" (F64, 1: L at the last step's start, for min_gain), then the inner
 * optimiser's arrays. */
NG_API size_t ng_goldstone_state(ng_goldstone *gs, ng_ckpt_array *arrays, size_t cap);
NG_API ng_status ng_goldstone_state_loaded(ng_goldstone *gs);

/* --- symmetry phases on their own (sync.c, gauge.c) --------------------------------- */
/* Reflection domain walls: edges whose best O(d) alignment has determinant -1. */
NG_API ng_status ng_count_walls(const ng_graph *g, size_t N, size_t d, const float *Z,
                                int *walls);
/* Synchronisation: R_root = I, then along a BFS spanning tree (the chain itself for a
 * chain) R_b = argmin_{R in O(d)} ||R Z_b - R_a Z_a|| and Z_b <- R_b Z_b. Exactly
 * minimises psi over O(d)^T on a tree. *walls_removed (may be NULL) gets the number of
 * tree edges that were reflection walls before (det R_a != det R_b). Allocates its small
 * workspace. */
NG_API ng_status ng_sync(const ng_graph *g, size_t N, size_t d, float *Z, int *walls_removed);
/* One gauge phase (paper's steps a-c) on Z with gauge fields Gt (T*d*d doubles, in/out;
 * zero them for a cold start): k2 natural-gradient steps with rho' = rho_scale*d/sum||z||^2,
 * then the rotation. Uses p->gauge_solver, k2, rho_scale, rotation, gauge_clip,
 * apply_fraction (the retract solver starts from R = I and leaves Gt as it is). Allocates
 * its workspace per call. */
NG_API ng_status ng_gauge_phase(const ng_graph *g, size_t N, size_t d, float *Z, double *Gt,
                                const ng_goldstone_params *p);

/* ======== models (src/models) ============================================== */

/* --- Model 1: dense dynamic Gaussian matrix factorisation (dmf_gauss.c) --------------
 * X_t is n_rows x n_cols; l = 1/2 sum_t ||X_t - U_t^T V_t||^2 with U_t (d x n_rows),
 * V_t (d x n_cols) stored as slice rows (N = n_rows + n_cols). */
typedef struct ng_gauss_mf ng_gauss_mf;
/* X: T * n_rows * n_cols floats (slice-major, row-major), copied. */
NG_API ng_status ng_gauss_mf_new(size_t T, size_t n_rows, size_t n_cols, size_t d,
                                 const float *X, ng_gauss_mf **out);
/* The paper's toy data: Ubar, Vbar in R^{d x n} standard normal from data_seed,
 * X = Ubar^T Vbar + N(0, noise_var) noise, the same X at all T steps. */
NG_API ng_status ng_gauss_mf_toy(size_t T, size_t n_rows, size_t n_cols, size_t d,
                                 double noise_var, uint64_t data_seed, ng_gauss_mf **out);
NG_API void ng_gauss_mf_free(ng_gauss_mf *m);
NG_API size_t ng_gauss_mf_num_vectors(const ng_gauss_mf *m); /* N = n_rows + n_cols */
NG_API const float *ng_gauss_mf_data(const ng_gauss_mf *m);  /* X */
/* An ng_local_loss_fn (user = the ng_gauss_mf). */
NG_API ng_status ng_gauss_mf_loss(void *user, const float *Z, float *grad, double *ell);
/* sum_t 1/2 sum_{k>d} sigma_k(X_t)^2 (ng_dsvd): a lower bound of L for any graph, equal
 * to the optimum L* when all X_t are equal (all Z_t equal, psi = 0). */
NG_API ng_status ng_gauss_mf_rank_bound(const ng_gauss_mf *m, double *bound);
/* Z ~ N(0, stddev^2) i.i.d. (T*N*d floats). */
NG_API void ng_gauss_mf_init(const ng_gauss_mf *m, ng_rng *rng, double stddev, float *Z);
/* The paper's toy experiment (section 5.1) as one object: ng_gauss_mf_toy's model, a
 * chain prior with coupling lambda, L* (ng_gauss_mf_rank_bound: the exact optimum, as
 * all X_t are equal) and the initial Z. */
typedef struct {
    size_t T, rows, cols, d; /* 30, 10 x 10, 3 */
    double lambda;           /* 10 */
    double noise_var;        /* 1e-3 */
    double init_std;         /* 1: Z ~ N(0, init_std^2) */
    uint64_t data_seed;      /* 42: Ubar, Vbar and the noise */
    uint64_t seed;           /* 1: the initialisation seed of a single run (ng_toy_init
                                takes the seed as an argument, for runs over many seeds) */
    int init_equal;          /* 0; 1: every slice starts from the same draw (no twist and no
                                wall: the floor a symmetry phase can reach; diagnostic) */
} ng_toy_params;
NG_API ng_toy_params ng_toy_default_params(void);
typedef struct ng_toy ng_toy;
NG_API ng_status ng_toy_new(const ng_toy_params *p, ng_toy **out);
NG_API void ng_toy_free(ng_toy *t);
NG_API const ng_toy_params *ng_toy_get_params(const ng_toy *t);
NG_API ng_gauss_mf *ng_toy_model(const ng_toy *t);
NG_API const ng_graph *ng_toy_graph(const ng_toy *t);
NG_API size_t ng_toy_num_vectors(const ng_toy *t); /* N = rows + cols */
NG_API size_t ng_toy_size(const ng_toy *t);        /* T * N * d floats of Z */
NG_API double ng_toy_optimum(const ng_toy *t);     /* L* */
/* The initial Z (ng_toy_size floats) of initialisation seed `seed`. */
NG_API void ng_toy_init(const ng_toy *t, uint64_t seed, float *Z);
/* ng_goldstone_new on the toy's graph and model, working on Z. */
NG_API ng_status ng_toy_goldstone_new(ng_toy *t, const ng_goldstone_params *gp, float *Z,
                                      ng_goldstone **out);
/* --- dynamic Bernoulli MF on ratings (dmf) --- */
/* Model 2 of the spec (paper section 5.2) on MovieLens-style ratings
 * (ratings_prep.c, dmf_bernoulli.c, synth_ratings.c).
 * Preprocessing: ratings are binarised at the median (x = +1 above, -1 below; ratings
 * equal to the median are discarded), put into T time bins (equal duration, or equal
 * count), and split at random into train/valid/test (50/20/30 by default).
 * Every user and item has a vector in every bin (bins without its ratings included):
 * Z is T x N x d with N = n_users + n_items, rows 0..n_users-1 = U, the rest V.
 * Fatal (NG_EINVAL, one line): a single user or a single item, all ratings equal to
 * the median, all kept ratings at one timestamp while T > 1 (a single bin of data),
 * T larger than the span allows (duration: T > span in seconds; count: T > number of
 * kept ratings). Warning (log callback, level 1): bins without any ratings. */
typedef enum { NG_DMF_BIN_DURATION = 0, NG_DMF_BIN_COUNT = 1 } ng_dmf_binning;
/* The most time bins: they are the nodes of the chain prior's graph. ng_dmf_prepare
 * refuses more before any work. */
#define NG_DMF_MAX_BINS NG_GRAPH_MAX_NODES
/* The paper's phase period on the ratings (section 5.2: k1 = 100, k2 = 10; the toy's 5.1
 * uses k1 = 50, ng_goldstone_paper_variant's): what 'dmf train --paper' sets. */
#define NG_DMF_PAPER_K1 100
typedef enum { NG_DMF_TRAIN = 0, NG_DMF_VALID = 1, NG_DMF_TEST = 2 } ng_dmf_split;
typedef struct {
    size_t bins;               /* T (100) */
    ng_dmf_binning binning;    /* NG_DMF_BIN_DURATION */
    double train_frac;         /* 0.5 */
    double valid_frac;         /* 0.2; test gets the rest */
    uint64_t seed;             /* split seed (1) */
} ng_dmf_prep_params;
NG_API ng_dmf_prep_params ng_dmf_prep_default_params(void);
/* Observations of one split, in input order: bin t, user, item, x in {-1, +1}. */
typedef struct {
    size_t n;
    int32_t *t, *user, *item;
    int8_t *x;
} ng_dmf_obs;
typedef struct {
    size_t T, n_users, n_items;
    double median;             /* the binarisation threshold */
    size_t n_input;            /* ratings read */
    size_t n_discarded;        /* equal to the median */
    ng_dmf_obs split[3];       /* indexed by ng_dmf_split */
    int64_t *bin_start;        /* T + 1: bin t holds times in [bin_start[t], bin_start[t+1])
                                  (the last bin includes its end) */
    size_t *bin_count;         /* T: kept ratings per bin, all splits */
    size_t n_empty_bins;
    int64_t *user_ids, *item_ids; /* original ids (copies) */
} ng_dmf_data;
NG_API ng_status ng_dmf_prepare(const ng_ratings *r, const ng_dmf_prep_params *p,
                                ng_dmf_data *out);
NG_API void ng_dmf_data_free(ng_dmf_data *d);

/* The local loss l = sum_t [ -sum_{train (i,j,x) in t} log sigma(x u_{t,i}.v_{t,j})
 *                            + gamma/2 ||Z_t||^2 ]
 * with a deterministic full-batch gradient (OpenMP over CSR rows by (t, user) and by
 * (t, item); no float atomics; the result does not depend on the thread count).
 * The data must outlive the model; 1 <= d <= 1024. One model serves one call at a time
 * (ng_dmf_loss and ng_dmf_evaluate share its scratch). */
typedef struct ng_dmf_model ng_dmf_model;
NG_API ng_status ng_dmf_model_new(const ng_dmf_data *data, size_t d, double gamma,
                                  ng_dmf_model **out);
NG_API void ng_dmf_model_free(ng_dmf_model *m);
NG_API size_t ng_dmf_num_vectors(const ng_dmf_model *m); /* N = n_users + n_items */
NG_API size_t ng_dmf_model_bytes(const ng_dmf_model *m); /* memory held by the model */
/* The loss's work per step in ng_goldstone_phase_cost's units, for
 * ng_goldstone_params.step_work: (4 + 0.15 d) per training rating (fitted below the measured
 * cost at d 10 and 30, docs/goldstone.md), so that a phase interval raised for cheap steps
 * is not raised where many ratings make every step dear. */
NG_API double ng_dmf_step_work(const ng_dmf_model *m);
/* An ng_local_loss_fn (user = the ng_dmf_model): *ell = l at Z; ADDS dl/dZ into grad
 * (T*N*d floats) unless grad is NULL. NaN/Inf in l is NG_ENUMERIC. */
NG_API ng_status ng_dmf_loss(void *user, const float *Z, float *grad, double *ell);
/* Per split: mean log-likelihood log sigma(x u.v) per rating and accuracy of
 * sign(u.v) (u.v = 0 counts as wrong); NaN for an empty split. */
typedef struct {
    double ll[3], acc[3];
    size_t n[3];
} ng_dmf_eval;
NG_API ng_status ng_dmf_evaluate(const ng_dmf_model *m, const float *Z, ng_dmf_eval *out);
/* Z ~ N(0, stddev^2) i.i.d. (T*N*d floats), independently in every bin. */
NG_API void ng_dmf_init(const ng_dmf_model *m, ng_rng *rng, double stddev, float *Z);
/* The model's settings as 'natgrad dmf train' uses them. */
typedef struct {
    size_t dim;      /* d (30) */
    double lambda;   /* chain coupling of the bins (10) */
    double gamma;    /* local L2 strength (1) */
    double init_std; /* std of the random initial vectors (0.1) */
} ng_dmf_params;
NG_API ng_dmf_params ng_dmf_default_params(void);

/* Synthetic MovieLens-like ratings from known factors that drift slowly in time:
 * u_i(tau), v_j(tau) in R^dim are random walks (knots every span/32, interpolated
 * linearly, total change std `drift` per coordinate over the span, unit variance),
 * users and items drawn with skewed popularity (user activity exp(activity_sigma z),
 * z ~ N(0, 1); item weight 1/(rank + 10)^item_zipf over a random order of the items),
 * timestamps uniform in [start_time, start_time + days), rating = 3.5 + item bias
 * + 0.9 u.v/sqrt(dim) + N(0, 0.4^2), rounded to half stars in [0.5, 5] (or whole stars
 * in [1, 5]).
 * Regimes of real rating files: `gaps` empty intervals (equal lengths, together
 * gap_fraction of the span, each at least 1 s; their positions uniform in the rest of the
 * span, from the seed; ng_synth_ratings_gaps gives them) in which no rating falls; the
 * times are drawn from the rest, the "active" time. Each user is active in a window of
 * user_span times the active time (its start uniform per user; gaps inside the window do
 * not count towards its length, so without gaps the window is user_span x the span).
 * The defaults (sigma 1, Zipf 1, span 1, no gaps) give the output of the generator
 * before these options existed, bit for bit.
 * Deterministic in the seed, independent of the thread count. */
typedef struct {
    size_t n_users, n_items, n_ratings; /* 5000, 2000, 1000000 */
    double days;                        /* 1000 */
    size_t dim;                         /* 10 */
    double drift;                       /* 1.0 */
    uint64_t seed;                      /* 1 */
    int half_stars;                     /* 1: 0.5..5 step 0.5; 0: 1..5 */
    int64_t start_time;                 /* 946684800 (2000-01-01) */
    double activity_sigma;              /* 1.0: log-normal user activity, in [0, 5] */
    double item_zipf;                   /* 1.0: Zipf exponent of item popularity, in [0, 5] */
    double user_span;                   /* 1.0: a user's active window / the active time,
                                           in (0, 1] */
    size_t gaps;                        /* 0: empty intervals, at most NG_SYNTH_MAX_GAPS */
    double gap_fraction;                /* 0.2: the gaps' share of the span, in (0, 0.9] */
} ng_synth_ratings_params;
#define NG_SYNTH_MAX_GAPS 10000
NG_API ng_synth_ratings_params ng_synth_ratings_default_params(void);
/* NG_EINVAL with a message naming the parameter and its range when p is not usable. */
NG_API ng_status ng_synth_ratings_params_check(const ng_synth_ratings_params *p);
/* Into memory (ids 1..n in first-appearance order as ng_ratings_read gives them; only
 * users/items that got a rating count); free with ng_synth_ratings_free. */
NG_API ng_status ng_synth_ratings(const ng_synth_ratings_params *p, ng_ratings *out);
NG_API void ng_synth_ratings_free(ng_ratings *r);
/* The gaps of p, ascending: no rating has a timestamp in [start[k], end[k]) (p->gaps
 * entries each; adjacent gaps may touch). */
NG_API ng_status ng_synth_ratings_gaps(const ng_synth_ratings_params *p, int64_t *start,
                                       int64_t *end);
/* As MovieLens ratings.csv (header userId,movieId,rating,timestamp), atomically. */
NG_API ng_status ng_synth_ratings_write(const char *path, const ng_synth_ratings_params *p);
NG_API ng_status ng_ratings_write_csv(const char *path, const ng_ratings *r);
/* How ratings spread over time: T equal-duration bins over [first, last timestamp] with
 * the edges 'dmf train' uses (ng_dmf_prepare with NG_DMF_BIN_DURATION; it bins only the
 * ratings off the median, so its counts are somewhat smaller), all ratings counted. */
typedef struct {
    size_t n_ratings;
    size_t n_users, n_items;    /* that have ratings (r->n_users, r->n_items) */
    int64_t t_first, t_last;    /* timestamps */
    size_t bins;                /* T */
    size_t bin_min, bin_max;    /* ratings per bin */
    double bin_median;          /* the mean of the two middle counts for even T */
    size_t n_empty_bins;
} ng_ratings_summary;
/* 1 <= bins <= NG_DMF_MAX_BINS; r must hold at least one rating. */
NG_API ng_status ng_ratings_summarize(const ng_ratings *r, size_t bins, ng_ratings_summary *out);
/* --- dynamic word embeddings: model (dwe*.c) -----------------------------------------
 * Bamler & Mandt (ICML 2017, 2018); docs/dwe.md. W words, T time slices at
 * times tau_t, d dimensions. Every word has a word vector u_{t,i} and a context vector
 * v_{t,j} per slice; the means form the Z of Goldstone-GD: T x N x d floats, N = 2W, rows
 * 0..W-1 of a slice are the u's, rows W..2W-1 the v's (one rotation per slice acts on
 * both).
 * Likelihood per slice, x_ij = u_i.v_j:
 *   log p(n_t | U_t, V_t) = sum_ij [n+_ij log sigma(x_ij) + n-_ij log sigma(-x_ij)]
 * with n+ the symmetric co-occurrence counts of the corpus and n- their expected negative
 * counts n-_ij = n+_i. s_j, s_j = nu (n+_j.)^gamma / sum_k (n+_k.)^gamma: rank one, never
 * formed (only the vectors n+_i. and s_j are kept).
 * Prior per (word, dimension, u or v) trajectory x in R^T: N(0, Pi^-1) with the tridiagonal
 * precision Pi = diag(a) + L_c, L_c the chain Laplacian with c_t = 1/(D (tau_{t+1} - tau_t)),
 * a_t = 1/sigma0^2 (product form) or 1/sigma0^2 - 1/(sigma0^2 + 1/c_t) for t < T-1 (each
 * conditional normalised).
 * Objectives are minimised: the negative ELBO (smoothing), the negative log joint (MAP),
 * the negative slice ELBO (filtering). */

typedef enum {
    NG_DWE_SMOOTHING = 0, /* DSG-S: q per trajectory N(mu, (B^T B)^-1), B upper bidiagonal */
    NG_DWE_FILTERING = 1, /* DSG-F: slice by slice, q_t = N(mu_t, diag(1/b_t^2)) */
    NG_DWE_MAP = 2        /* the means only: minimise -log p(n, mu) */
} ng_dwe_method;
typedef enum { NG_DWE_PRIOR_PRODUCT = 0, NG_DWE_PRIOR_CONDITIONAL = 1 } ng_dwe_prior;
NG_API const char *ng_dwe_method_name(ng_dwe_method m); /* "smoothing" "filtering" "map" */
NG_API const char *ng_dwe_prior_name(ng_dwe_prior p);   /* "product" "conditional" */

typedef struct {
    ng_dwe_method method;  /* smoothing */
    size_t d;              /* 100 */
    double sigma0;         /* 1 */
    double D;              /* 1e-3: diffusion constant per unit of tau */
    ng_dwe_prior prior;    /* product */
    double gamma, nu;      /* 0.75, 1: negative counts */
    size_t batch_words;    /* 1000: B_w words per step (0 or >= W: all) */
    size_t batch_contexts; /* 1000: B_c contexts per step (0 or >= W: all) */
    double init_sd;        /* 0.1: means ~ N(0, init_sd^2) */
    /* the lazy per-row optimiser: Adam, rho0 0.1, sbar 1000, p 0.7, clip 0.1, beta1 0.9,
     * beta2 0.99, eps 1e-8 (gd and adagrad work too) */
    ng_inner_params opt;
} ng_dwe_params;
NG_API ng_dwe_params ng_dwe_default_params(void);
NG_API ng_status ng_dwe_params_check(const ng_dwe_params *p);
/* Bytes ng_dwe_new allocates for W words and T slices (the corpus itself not counted),
 * for the current OpenMP thread count; SIZE_MAX when the sizes overflow or W, T or d is 0.
 * The CLI refuses a configuration that does not fit before allocating. About 14.2 GB for
 * the paper's smoothing run (W 10^4, T 188, d 100, Adam), 4.9 GB for MAP. */
NG_API size_t ng_dwe_bytes(size_t W, size_t T, const ng_dwe_params *p);

/* The model's memory is one slab; these are its named views (all [t][row][k] with row
 * in 0..N-1 unless said). Rows are updated lazily: only the rows of a step's minibatch. */
typedef struct {
    size_t T, W, N, d;
    float *mu;            /* T x N x d: the means (Goldstone-GD's Z) */
    float *logb;          /* T x N x d: log of B's diagonal (filtering: log 1/s_t); NULL
                             for MAP */
    float *th;            /* (T-1) x N x d: theta, B's superdiagonal being e_t = b_t tanh
                             theta_t (|e_t| < b_t keeps B^-1 eps bounded); NULL unless
                             smoothing with T > 1 */
    float *opt_mu[2];     /* optimiser state of mu (Adam m, v; AdaGrad h, NULL; GD NULL) */
    float *opt_logb[2];   /* of logb */
    float *opt_th[2];     /* of th */
    int64_t *row_steps;   /* N: updates of each row (Adam's bias corrections); filtering:
                             in the current slice */
    int64_t *counters;    /* 3: steps done, filtering slice, steps into that slice */
} ng_dwe_views;

typedef struct ng_dwe ng_dwe;
/* One model serves one call at a time (steps and evaluations share its buffers).
 * The corpus must outlive the model (its entries are read in place). NG_EINVAL names
 * the first malformed part of the corpus (unsorted or duplicate entries, i > j, indices
 * out of range, negative or non-finite counts, times not increasing). */
NG_API ng_status ng_dwe_new(const ng_corpus *c, const ng_dwe_params *p, ng_dwe **out);
/* (The model starts with zero means and q at the prior; call ng_dwe_init.) */
NG_API void ng_dwe_free(ng_dwe *m);
NG_API size_t ng_dwe_model_bytes(const ng_dwe *m); /* == ng_dwe_bytes(W, T, p) */
NG_API const ng_dwe_params *ng_dwe_get_params(const ng_dwe *m);
NG_API ng_dwe_views ng_dwe_get_views(ng_dwe *m);
/* mu ~ N(0, init_sd^2) (a stream per slice: the same for any thread count), B =
 * chol(Pi)^T so that q starts at the prior (filtering: slice 0 = its prior), optimiser
 * state and counters zeroed. */
NG_API void ng_dwe_init(ng_dwe *m, ng_rng *rng);

/* What a step or an objective evaluation reports. loss = -(loglik + logprior + entropy)
 * (MAP: entropy 0; filtering: logprior + entropy = -KL(q_t || prior_t) of the slice). */
typedef struct {
    int64_t step;       /* steps done (this one included) */
    int slice;          /* filtering: the slice; else -1 */
    double loss, loglik, logprior, entropy; /* NaN when not computed */
    double rate;        /* the step's learning rate */
} ng_dwe_info;
/* One step of the configured method: draw B_w words and B_c contexts without
 * replacement, one sample of q (noise from rng), the minibatch estimate of the objective's
 * gradient for the drawn rows (word rows' likelihood part scaled by W/B_c, context rows'
 * by W/B_w; prior and entropy of the drawn rows), and the optimiser on the drawn rows
 * only (per-row step counts for the bias corrections, rate rho_s at the global step s;
 * filtering: the slice's step). With want_value, info gets the minibatch estimate of the
 * objective (an unbiased estimate of ng_dwe_objective's value; costs a log per pair).
 * Never allocates. NG_ENUMERIC on a NaN/Inf objective or gradient (parameters unchanged).
 * Parallel over slices (filtering: one slice, so only OpenBLAS threads help). */
NG_API ng_status ng_dwe_step(ng_dwe *m, ng_rng *rng, int want_value, ng_dwe_info *info);
/* The objective over all words and contexts (value only; no minibatch), with one sample
 * of q from noise_seed (smoothing, filtering) or at the means (MAP); filtering: the
 * current slice's. A row's sample depends on (noise_seed, row) only, as in a step with
 * that noise. Never allocates. */
NG_API ng_status ng_dwe_objective(ng_dwe *m, uint64_t noise_seed, ng_dwe_info *info);
/* Filtering: start slice t (0 <= t < T; slices before t are final): q_t = its prior from
 * q_{t-1} (t = 0: N(0, sigma0^2)), the slice's optimiser state and counters reset. */
NG_API ng_status ng_dwe_filter_begin(ng_dwe *m, size_t t);
/* sum_t log p(n_t | U_t, V_t) at Z (T x N x d) over all pairs into *ll, and into *count
 * (may be NULL) the total count sum (n+ + n-): the held-out measure is ll / count.
 * slices: a T-mask of the slices to include (NULL: all). Never allocates. */
NG_API ng_status ng_dwe_loglik(ng_dwe *m, const float *Z, const unsigned char *slices,
                               double *ll, double *count);

/* Goldstone-GD on DWE (docs/dwe.md): the chain graph with the prior's couplings c_t
 * (ng_graph_chain_weighted), for ng_goldstone on the means. */
NG_API ng_status ng_dwe_graph(const ng_dwe *m, ng_graph **out);
/* The MAP objective as an ng_local_loss_fn (user = the ng_dwe), full batch: the local part
 * l = -log p(n | Z) + sum_t a_t/2 ||Z_t||^2 + constants (the prior's normaliser), so that
 * l + psi (psi from ng_dwe_graph) = -log p(n, Z). ADDS dl/dZ into grad unless NULL. */
NG_API ng_status ng_dwe_map_loss(void *user, const float *Z, float *grad, double *ell);
/* State protocol: "dwe_mu", "dwe_logb", "dwe_e" (as the method has them), each followed
 * by its optimiser state ("dwe_opt_mu_0", "dwe_opt_mu_1", ...), then "dwe_row_steps"
 * (I64, N) and "dwe_counters" (I64, 3). */
NG_API size_t ng_dwe_state(ng_dwe *m, ng_ckpt_array *arrays, size_t cap);
NG_API ng_status ng_dwe_state_loaded(ng_dwe *m);
/* Where ng_dwe_step's time goes: wall seconds per part, summed over the steps since
 * ng_dwe_new or the last ng_dwe_timing_reset (ng_dwe_objective, ng_dwe_loglik and
 * ng_dwe_map_loss are not counted). Timing reads a clock only: no result depends on it. */
typedef struct {
    int64_t steps;     /* steps timed */
    double draw;       /* drawing the minibatch's words and contexts */
    double likelihood; /* the likelihood tiles: sgemm products, counts, sigmoids */
    double prior;      /* the rest of the objective: the sample, prior, entropy (or KL) and
                          their gradients */
    double update;     /* the finite check of the gradients and the lazy optimiser */
    double total;      /* the whole step (>= the sum of the parts) */
} ng_dwe_timing;
NG_API ng_dwe_timing ng_dwe_get_timing(const ng_dwe *m);
NG_API void ng_dwe_timing_reset(ng_dwe *m);

/* --- dynamic word embeddings: writing a model (dwe_model_io.c) ------------------------
 * The directory that "model files" above reads (docs/dwe.md, "Model directory"), as the
 * trainer writes it: model.txt (also prior and test_slices), vocab.tsv, times.csv, U.npy
 * and V.npy (T x W x d over all slices, held-out slices filled with their predicted
 * means), and the variational parameters of the training slices (smoothing: U_logb.npy,
 * V_logb.npy, T_train x W x d, and U_e.npy, V_e.npy, (T_train - 1) x W x d; filtering:
 * U_logb.npy, V_logb.npy, log 1/s; MAP: none). */
/* Writes m's means (and variational parameters) with the words and counts of its corpus
 * as a model directory, atomically (DIR.tmp, then renamed; an existing DIR is replaced
 * only when it is empty or a model directory). test_times (n_test of them; NULL with 0)
 * are the held-out slices: their means are predicted by ng_dwe_predict_means. symmetry:
 * the name model.txt records (NULL: "none"). NaN/Inf anywhere is NG_ENUMERIC and nothing
 * is written. Allocates two T x W x d float buffers. ng_dwe_model_read (section "model
 * files") reads the directory back. */
NG_API ng_status ng_dwe_model_write(const char *dir, ng_dwe *m, const double *test_times,
                                    size_t n_test, const char *symmetry);

/* ======== training layer (src/train) ======================================= */

/* One loop for every model. A task says what one step is, what a row of metrics is and
 * what its checkpoint holds; ng_train_run does the rest: step and time limits, rows every
 * K steps or S seconds (evaluation time excluded from the reported seconds), the CSV log,
 * checkpoints every K steps, at the end and on a stop request, resume with a settings
 * check, and progress and "should stop" through callbacks. It never prints and installs
 * no signal handler. */
typedef struct {
    const char *name;              /* model name stored in and checked against checkpoints */
    const char *counter;           /* the log's first column ("step"); "seconds" follows */
    const char *const *cols;       /* the log's other columns, n_cols of them */
    size_t n_cols;
    const char *const *step_cols;  /* what one step reports (progress), n_step_cols */
    size_t n_step_cols;
    /* Step k + 1 (k steps done before it): step_vals gets n_step_cols values. */
    ng_status (*step)(void *self, int64_t k, double *step_vals);
    /* A row at the current point: n_cols values (evaluation; not counted as training). */
    ng_status (*row)(void *self, double *vals);
    /* State protocol: everything a resume needs (parameters, optimiser, RNG streams). */
    size_t (*state)(void *self, ng_ckpt_array *arrays, size_t cap);
    ng_status (*state_loaded)(void *self);
    void *self;
} ng_task;

/* What the callbacks see. */
typedef struct {
    int64_t step;             /* steps done */
    int64_t start_step;       /* where this run started (> 0 after a resume) */
    int64_t steps;            /* the step limit (0: none) */
    double seconds;           /* training time so far, resumed runs included */
    double eval_seconds;      /* time spent on rows in this run */
    const double *step_vals;  /* the last step's report (task->step_cols), NULL before */
    const double *row;        /* the last row (task->cols), NULL before the first */
    int64_t row_step;         /* the step of that row */
    int resumed;              /* 1 when this run continued from a checkpoint */
    int stopped;              /* 1 when it ended on a should_stop request */
} ng_train_status;
typedef void (*ng_train_progress_fn)(void *user, const ng_train_status *s);
typedef int (*ng_train_stop_fn)(void *user, const ng_train_status *s);

typedef struct {
    int64_t steps;            /* 1000: stop after this many steps in all; 0 = no limit.
                                 Applies when steps_given is set or time_limit is 0 (see
                                 steps_given) */
    double time_limit;        /* 0: stop after this many seconds of training; 0 = none */
    int64_t eval_every;       /* 10: a row every K steps, and after the last step (see
                                 eval_every_given) */
    double eval_seconds;      /* 0: instead a row every S seconds of training; 0 = off */
    int eval_at_start;        /* 1: a row at step 0 of a fresh run */
    const char *log;          /* NULL: CSV file for the rows (on resume cut back to the
                                 checkpoint's step with ng_csv_resume, then appended to) */
    const char *checkpoint;   /* NULL: checkpoint directory */
    int64_t checkpoint_every; /* 0: also every K steps (0: at the end and on a stop only) */
    int resume;               /* 0: continue from the checkpoint when it holds one */
    /* The settings that change the trajectory, "name=value" lines: stored in the
     * checkpoint; a resume with other settings is refused (NG_EMISMATCH) with a list of
     * the differences. NULL: none. */
    const char *settings;
    ng_train_progress_fn progress; /* after every step and every row; may be NULL */
    ng_train_stop_fn should_stop;  /* polled after every step; nonzero: row, checkpoint, return */
    void *user;
    /* 0: steps is the default length, a fallback: with a time limit the clock alone ends
     * the run. 1: steps was chosen and applies together with the time limit (the first
     * reached ends the run). The CLI sets it when --steps is given; set it when you set
     * steps and a time limit both. ng_train_step_limit() is the rule. */
    int steps_given;
    /* 0: eval_every is the default, a fallback: with a time limit and no eval_seconds the
     * rows come every time_limit/20 seconds of training, so that a run's evaluations cost
     * about the same share of it whatever a step costs. 1: eval_every was chosen and
     * applies (the CLI sets it when --eval-every is given). ng_train_eval_seconds() is the
     * rule. */
    int eval_every_given;
} ng_train_params;
NG_API ng_train_params ng_train_default_params(void);
NG_API ng_status ng_train_params_check(const ng_train_params *p);
/* The step limit a run obeys (0: none): p->steps when p->steps_given or p->time_limit is
 * 0, else 0 (a given time limit governs the run's length). */
NG_API int64_t ng_train_step_limit(const ng_train_params *p);
/* The seconds of training between rows a run obeys (0: rows every eval_every steps):
 * p->eval_seconds when > 0; else time_limit/20 when a time limit is set and
 * eval_every_given is 0; else 0. */
NG_API double ng_train_eval_seconds(const ng_train_params *p);
/* Runs task until a limit or a stop request. With k the steps done (0 on a fresh start,
 * the checkpoint's step after a resume):
 *   a fresh run with eval_at_start logs a row at step 0; then, while no limit is reached:
 *   step k + 1 (timed: seconds); should_stop is polled (it sees that step's report);
 *   a row (timed apart, not in seconds) when k % eval_every == 0 (or every eval_seconds
 *   of training), after the last step and on a stop; progress; a checkpoint when
 *   k % checkpoint_every == 0 or on a stop; on a stop: return (status->stopped = 1).
 *   At the end a checkpoint (unless one was just written for that step).
 * A resume keeps, of the log, the rows an uninterrupted run has up to the checkpoint's
 * step (rows every eval_every steps, the start's, the last step's; with eval_seconds every
 * row up to it), so that the log goes on as if the run had not stopped.
 * status (may be NULL) gets the final state. A failing step, row, log write or checkpoint
 * returns its status with the message, the steps done and the last checkpoint written;
 * nothing is written after a failure. */
NG_API ng_status ng_train_run(const ng_task *task, const ng_train_params *p,
                              ng_train_status *status);

/* --- networks: a task for ng_optim on a data set (train/net_task.c) ------------------
 * Step k + 1: m = ng_optim_batch_size(opt, k + 1, n_train) cases drawn without
 * replacement (ng_rng_sample) from the stream seeded with seed * 0x9E3779B97F4A7C15 + 1,
 * their rows gathered, one ng_optim_step with K-FAC's sampled targets from the stream
 * seed * 0x9E3779B97F4A7C15 + 2. The network's initialisation is the caller's.
 * Step report: batch, objective, lambda, gamma, alpha, mu, rho (ng_optim_info).
 * A row: batch, objective, train_loss, train_error, test_error, lambda, gamma, alpha, mu,
 * rho, polyak: the last step's report (at the start: batch 0, objective NaN, K-FAC's
 * lambda0 and initial gamma, the rest NaN; NaN after a resume until the first step) and
 * the evaluation of the current iterate, or of the averaged one (ng_optim_averaged) when
 * its training error is lower (polyak = 1). Its state: "params", "rng_batch",
 * "rng_kfac", then the optimiser's arrays. step and row allocate nothing. */
typedef struct {
    uint64_t seed;       /* 1: the minibatch and K-FAC sampling streams */
    size_t eval_subset;  /* 0: evaluate on the first N cases of each set, 0 = all */
} ng_net_task_params;
NG_API ng_net_task_params ng_net_task_default_params(void);
typedef struct ng_net_task ng_net_task;
/* X* are n x d_0, Y* n x d_l (the autoencoder's targets are its inputs: pass X again,
 * the same pointer, and the minibatch is its own target); test arrays may be NULL with
 * n_test 0. opt works on net, whose max_batch must hold ng_optim_max_batch(n_train)
 * cases. The arrays, net and opt must outlive the task. The model name is
 * "ae:SIZES:OPT" or "mlp:SIZES:OPT" (softmax loss), OPT "kfac-blockdiag",
 * "kfac-tridiag", "sgd-nesterov" or "adam". */
NG_API ng_status ng_net_task_new(ng_net *net, ng_optim *opt, const float *X_train,
                                 const float *Y_train, size_t n_train, const float *X_test,
                                 const float *Y_test, size_t n_test,
                                 const ng_net_task_params *p, ng_net_task **out);
NG_API void ng_net_task_free(ng_net_task *t);
NG_API ng_task ng_net_task_get(ng_net_task *t);
/* Errors (reconstruction or misclassification) of the better iterate, as in a row: the
 * last row's when no step (or load) came after it, else evaluated now. */
NG_API ng_status ng_net_task_evaluate(ng_net_task *t, double *train_error, double *test_error);
/* Writes DIR/W<k>.npy (and DIR/Wavg<k>.npy, the Polyak average, once there is one), each
 * atomically. */
NG_API ng_status ng_net_task_write_weights(ng_net_task *t, const char *dir);

/* --- Goldstone-GD models: a task for ng_goldstone (train/goldstone_task.c) -----------
 * A row: loss, ell, psi, the model's own columns, symmetry_seconds (in all so far),
 * walls (reflection walls at the row's point when count_walls, else NaN: an empty field
 * in the CSV log), phases and phases_kept (symmetry phases run and kept so far,
 * ng_goldstone_phases). */
/* The model's own row columns at Z; loss = ell + psi there (for a gap L - L*). */
typedef ng_status (*ng_model_eval_fn)(void *user, const float *Z, double loss, double *vals);
typedef struct {
    const char *name;              /* checkpoint model name ("dmf", "goldstone-toy") */
    const char *const *cols;       /* the model's row columns (may be 0 of them) */
    size_t n_cols;
    ng_model_eval_fn eval;         /* fills n_cols values; NULL when n_cols is 0 */
    void *user;
    int count_walls;               /* 1: count reflection walls at every row (a
                                      Procrustes per edge) */
} ng_goldstone_task_params;
typedef struct ng_goldstone_task ng_goldstone_task;
/* gs works on Z (T x N x d, owned by the caller: the array given to ng_goldstone_new);
 * gs, Z and p's columns must outlive the task. A step is ng_goldstone_step without wall
 * counting; it reports loss, ell, psi (at the step's starting point) and
 * symmetry_seconds (of this step). Neither a step nor a row allocates. */
NG_API ng_status ng_goldstone_task_new(ng_goldstone *gs, float *Z,
                                       const ng_goldstone_task_params *p,
                                       ng_goldstone_task **out);
NG_API void ng_goldstone_task_free(ng_goldstone_task *t);
NG_API ng_task ng_goldstone_task_get(ng_goldstone_task *t);
/* State protocol: "Z" (F32 T x N x d), "symmetry_seconds" (F64, 1), then
 * ng_goldstone_state's arrays. */
NG_API size_t ng_goldstone_task_state(ng_goldstone_task *t, ng_ckpt_array *arrays, size_t cap);
NG_API ng_status ng_goldstone_task_state_loaded(ng_goldstone_task *t);
/* The built-in models as tasks: dmf (model name "dmf"; columns train_ll, valid_ll,
 * test_ll, train_acc, valid_acc, test_acc from ng_dmf_evaluate) and the toy (model name
 * "goldstone-toy"; column gap = loss - L*). count_walls is 0; the model must outlive the
 * task. */
NG_API ng_goldstone_task_params ng_dmf_task_params(ng_dmf_model *m);
NG_API ng_goldstone_task_params ng_toy_task_params(ng_toy *t);
/* The toy experiment's run: 20000 steps, a row every 10, a checkpoint every 1000 (the
 * rest as ng_train_default_params). */
NG_API ng_train_params ng_toy_train_params(void);

/* --- dynamic word embeddings: a task (train/dwe_task.c, models/dwe_heldout.c) -------
 * Held-out slices (spec dwe.md section 5): n_test slices drawn at random (ng_rng_sample
 * from the stream of seed), never the first or the last; is_test (T, may be NULL) gets 1
 * for them. train and test get copies of the slices of each kind (times, tokens and
 * entries; words, counts and the other keys as c); test is all zero (T = 0) when n_test
 * is 0. NG_EINVAL when n_test > T - 2. Free both with ng_corpus_free. */
NG_API ng_status ng_corpus_split(const ng_corpus *c, size_t n_test, uint64_t seed,
                                 unsigned char *is_test, ng_corpus *train, ng_corpus *test);
/* The means of held-out slices at times[0..n) (each strictly between two of m's slice
 * times and equal to none) from the training neighbours a < * < b:
 *   mu* = (c_a mu_a + c_b mu_b) / (c_a + c_b + sigma0^-2),  c_a = 1 / (D |tau* - tau_a|),
 * for every row (u's and v's), into out (n x N x d). Never allocates. */
NG_API ng_status ng_dwe_predict_means(const ng_dwe *m, const double *times, size_t n, float *out);

/* The training task. A step: filtering moves to the next slice once the current one has
 * had steps_per_slice steps (the last slice keeps the rest); then ng_dwe_step from the
 * task's stream; then, after every k1-th step (the model's step count), the symmetry phase
 * of gp on the means (ng_goldstone_symmetry_phase on the chain of ng_dwe_graph; log b, e
 * and the optimiser's moments are not rotated). Step report: elbo_batch (the step's
 * minibatch estimate when full_objective is 0, else NaN), rate, slice (filtering, else
 * NaN), symmetry_seconds (this step's phase).
 * A row: elbo, ell, psi, test_ll, overlap_median, symmetry_seconds:
 *   elbo = -(objective) and ell = its log-likelihood part E_q[log p(n | U, V)] (MAP: the
 *     log joint and log p(n | mu); filtering: the current slice's): with full_objective
 *     ng_dwe_objective with the fixed noise of eval_seed (all W x W pairs of every
 *     slice: as costly as W^2 / (B_w B_c) steps' likelihood), else the exponential moving
 *     average of the steps' minibatch estimates with decay 1 - 1/estimate_window, bias
 *     corrected (NaN before the first step; a row changes nothing, so a resumed run logs
 *     what an uninterrupted one does);
 *   psi = the chain coupling sum_t c_t/2 ||mu_{t+1} - mu_t||^2 of the means;
 *   test_ll = the held-out log-likelihood per co-occurrence, sum [n+ log sigma(x) +
 *     n- log sigma(-x)] / sum (n+ + n-) over the test slices at the means predicted by
 *     ng_dwe_predict_means (NaN without test slices);
 *   overlap_median = the median over words of cos(u_{1,i}, u_{T,i}) of the means of the
 *     first and last slice (0 for a zero vector);
 *   symmetry_seconds = all phases so far, resumed runs included.
 * Neither a step nor a row allocates. */
typedef struct {
    uint64_t seed;           /* 1: the stream of the minibatches and the noise */
    int full_objective;      /* 1: rows evaluate the full objective; 0: the steps' estimates */
    uint64_t eval_seed;      /* 1: the fixed noise of the rows' full objective */
    int64_t steps_per_slice; /* filtering: steps on each slice (>= 1); 100 */
    int64_t estimate_window; /* 10: steps the moving average of the estimates spans (>= 1) */
    ng_goldstone_params gp;  /* symmetry, k1 and the phase's options (gp.inner is unused);
                                filtering allows symmetry none only */
} ng_dwe_task_params;
/* seed 1, full_objective 1, eval_seed 1, steps_per_slice 100, estimate_window 10,
 * gp ng_dwe_goldstone_params() */
NG_API ng_dwe_task_params ng_dwe_task_default_params(void);
/* Goldstone-GD for DWE: ng_goldstone_default_params with k1 = 10 (the paper's DWE
 * setting), max_overhead 0 (a phase every k1 steps: the phase cost model's step is a pass
 * over Z, far cheaper than a DWE step) and the (unused) inner optimiser set to plain GD,
 * which keeps no state. */
NG_API ng_goldstone_params ng_dwe_goldstone_params(void);
/* Bytes the task and its model allocate for W words, T_train training and T_test held-out
 * slices: ng_dwe_bytes of the model, of the held-out evaluation model (MAP, no optimiser
 * state, 1 x 1 minibatch) and the Goldstone-GD state (its gradient buffer, never touched
 * here, included); the corpus not counted. SIZE_MAX on overflow. */
NG_API size_t ng_dwe_task_bytes(size_t W, size_t T_train, size_t T_test, const ng_dwe_params *p,
                                const ng_dwe_task_params *tp);
typedef struct ng_dwe_task ng_dwe_task;
/* m (initialised by the caller: ng_dwe_init) is trained on its corpus; test (may be NULL
 * or have T = 0) holds the held-out slices, with m's vocabulary. m and test must outlive
 * the task. The model name is "dwe-smoothing", "dwe-filtering" or "dwe-map". */
NG_API ng_status ng_dwe_task_new(ng_dwe *m, const ng_corpus *test, const ng_dwe_task_params *p,
                                 ng_dwe_task **out);
NG_API void ng_dwe_task_free(ng_dwe_task *t);
NG_API ng_task ng_dwe_task_get(ng_dwe_task *t);
/* State protocol: ng_dwe_state's arrays, "dwe_task_rng" (U8), "symmetry_seconds" (F64,
 * 1), "dwe_task_acc" (F64, 3: the estimates' moving averages and their step count), then ng_goldstone_state's arrays when a symmetry phase is configured. */
NG_API size_t ng_dwe_task_state(ng_dwe_task *t, ng_ckpt_array *arrays, size_t cap);
NG_API ng_status ng_dwe_task_state_loaded(ng_dwe_task *t);

#ifdef __cplusplus
}
#endif
#endif /* NATGRAD_H */
