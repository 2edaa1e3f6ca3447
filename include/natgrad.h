/* natgrad.h - structure-aware optimisation: Goldstone-GD and K-FAC.
 *
 * The one public header of libnatgrad. Every symbol is prefixed ng_ (macros NG_).
 * Conventions:
 *   - functions return ng_status (NG_OK == 0); on failure ng_last_error() gives a
 *     one-line message (thread-local, valid until the next failing call);
 *   - matrices are row-major; a view names data, rows, cols and a leading dimension;
 *   - randomness comes only from an ng_rng passed explicitly;
 *   - the library never prints, exits or aborts; set a log callback to hear from it.
 */
#ifndef NATGRAD_H
#define NATGRAD_H

#include <stddef.h>
#include <stdint.h>

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
 * tolerance of 1e-10 * ||G||. */
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
#define NG_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
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
NG_API ng_status ng_csv_row(ng_csv *c, const double *vals); /* ncols values */
NG_API void ng_csv_close(ng_csv *c);

/* Checkpoint directory: MANIFEST (model name, step, array list) + one .npy per array.
 * Saved into DIR.tmp and renamed over DIR, so an interrupted save never corrupts the
 * last good checkpoint. */
typedef struct {
    const char *name; /* file stem, [A-Za-z0-9_.-] */
    ng_tensor t;      /* data not owned by the checkpoint */
} ng_ckpt_array;
NG_API ng_status ng_ckpt_save(const char *dir, const char *model, int64_t step,
                              const ng_ckpt_array *arrays, size_t n);
/* Loads into caller buffers: each arrays[i].t must give dtype, shape and data; a
 * different model name, a missing array or a different shape/dtype is NG_EMISMATCH. */
NG_API ng_status ng_ckpt_load(const char *dir, const char *model, int64_t *step,
                              ng_ckpt_array *arrays, size_t n);
NG_API int ng_ckpt_exists(const char *dir);

/* ==== Goldstone-GD (goldstone.c, gauge.c, symmetry sync) ==== */
/* ==== end Goldstone-GD ==== */

/* ==== K-FAC and networks (net.c, kfac.c) ==== */

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
NG_API size_t ng_net_layer_offset(const ng_net *net, int k); /* W_k in any slab */
/* Sparse init (Martens 2010): each unit gets `k` incoming N(0,1) weights, sources drawn
 * with replacement; other weights and biases 0. Glorot: uniform +-sqrt(6/(in+out)). */
NG_API void ng_net_init_sparse(ng_net *net, ng_rng *rng, int k);
NG_API void ng_net_init_glorot(ng_net *net, ng_rng *rng);

/* Forward on m <= max_batch cases X (m x d_0); keeps abar_k, s_k for the other passes. */
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
 * abar_k: m x (d_k + 1) with the trailing 1; g_k: m x d_{k+1}; output mean m x d_l. */
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
/* Loss and error over a whole set in chunks of max_batch (parameters unchanged). */
NG_API ng_status ng_net_evaluate(ng_net *net, const float *X, const float *Y, size_t n,
                                 double *loss, double *error);

/* ==== end K-FAC ==== */

#ifdef __cplusplus
}
#endif
#endif /* NATGRAD_H */
