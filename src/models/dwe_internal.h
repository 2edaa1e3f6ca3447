/* dwe_internal.h - cross-file internals of the dynamic word embeddings model
 * (dwe_model.c, dwe_likelihood.c, dwe_prior.c, dwe_bidiag.c, dwe_smoothing.c,
 * dwe_filtering.c, dwe_map.c); hidden from the shared library, visible to the tests.
 *
 * Layout: every per-row array is [t][row][k] (row-major slices of rows x d). The model's
 * rows are n in 0..N-1 (u's then v's); a step's minibatch rows are p in 0..nb-1, the nI
 * drawn words first, then the nJ drawn contexts, in compact arrays [t][p][k]. */
#ifndef NG_DWE_INTERNAL_H
#define NG_DWE_INTERNAL_H

#include "goldstone_internal.h"
#include "internal.h"

/* Rows of a likelihood tile: the dense part of a slice's block is computed TILE rows at a
 * time (two TILE x nJ float buffers per thread), never as a whole W x W matrix. */
#define NGI_DWE_TILE 128

/* ---------------------------------------------------------------- likelihood */
/* One slice's counts: the corpus entries (i, j >= i) of row i at [row_ptr[i],
 * row_ptr[i+1]) of col/val (absolute positions in the corpus arrays), and the rank-one
 * negative counts n-_ij = a[i] s[j]. */
typedef struct {
    const int32_t *col;
    const float *val;
    const int64_t *row_ptr; /* W + 1 */
    const double *a;        /* W: n+_{i.} (row sums of the symmetric counts) */
    const double *s;        /* W: nu (n+_{j.})^gamma / sum_k (n+_{k.})^gamma */
} ngi_dwe_slice;

/* A block of pairs: the words I (ascending) times the contexts J (ascending); pos_w and
 * pos_c (W each) give a word's position in I / J or -1. */
typedef struct {
    const int32_t *wi, *cj; /* I, J (named apart from complex.h's I, which cblas.h pulls in) */
    size_t nI, nJ;
    const int32_t *pos_w, *pos_c;
} ngi_dwe_block;

/* Float workspace (per thread) of ngi_dwe_lik_slice for nJ contexts. */
static inline size_t ngi_dwe_lik_ws_len(size_t nJ) { return (2 * (size_t)NGI_DWE_TILE + 1) * nJ; }

/* sum_{i in I, j in J} [n+ log sigma(x_ij) + n- log sigma(-x_ij)] (double; 0 unless
 * want_value) with x_ij = U[pos i] . V[pos j]; U is nI x d, V nJ x d. With GU (and GV)
 * not NULL: the loss gradient C = d(-l)/dx = (n+ + n-) sigma(x) - n+ as
 *   GU = beta GU + alpha_u C V,   GV = beta GV + alpha_v C^T U,
 * beta = 1 with accumulate, else 0 (float sgemm per tile; serial: one call per thread). */
double ngi_dwe_lik_slice(const ngi_dwe_slice *sl, const ngi_dwe_block *b, size_t d,
                        const float *U, const float *V, float *GU, float *GV, double alpha_u,
                        double alpha_v, int accumulate, int want_value, float *ws);

/* Checks the corpus (NG_EINVAL naming the first fault) and fills, per slice t, the row
 * pointers row_ptr[t (W+1) ...], the sums a[t W + i] = n+_{i.}, the weights s[t W + j]
 * and count[t] = sum_ij (n+ + n-). */
ng_status ngi_dwe_corpus_index(const ng_corpus *c, double gamma, double nu, int64_t *row_ptr,
                               double *a, double *s, double *count);

/* ---------------------------------------------------------------- prior */
/* Pi = diag(local) + L_c for T slices at times tau: diag (T), off (T-1: Pi_{t,t+1} =
 * -c_t), local (T), c (T-1). NG_EINVAL unless tau increases, D > 0, sigma0 > 0. */
ng_status ngi_dwe_prior_build(size_t T, const double *tau, double D, double sigma0,
                              ng_dwe_prior kind, double *diag, double *off, double *local,
                              double *c);
/* B0 = chol(Pi)^T: diagonal b0 (T), superdiagonal e0 (T-1); *logdet = log det Pi.
 * NG_ENUMERIC if Pi is not positive definite. */
ng_status ngi_dwe_prior_chol(size_t T, const double *diag, const double *off, double *b0,
                             double *e0, double *logdet);
/* 1/2 sum_k x_k^T Pi x_k over the d trajectories of one row (x_k[t] = x[t xs + k]);
 * ADDS Pi x_k into g (g[t gs + k]) unless g is NULL. */
double ngi_dwe_prior_row(size_t T, size_t d, const double *diag, const double *off,
                         const float *x, size_t xs, float *g, size_t gs);
/* log N(0, Pi^-1) normaliser per trajectory: 1/2 log det Pi - T/2 log 2 pi. */
double ngi_dwe_prior_lognorm(size_t T, double logdet);

/* ---------------------------------------------------------------- bidiagonal family */
/* B upper bidiagonal per trajectory: diagonal b_t = exp(logb[t ps + k]), superdiagonal
 * e_t = b_t tanh(th[t ps + k]) (t < T-1), for the d trajectories k of one row; y: d doubles.
 * |e_t / b_t| < 1 keeps the samples bounded: x~_t = eps_t / b_t - tanh(th_t) x~_{t+1} would
 * grow like the product of |e_t / b_t| otherwise, and the exact posterior of a chain prior
 * (a diagonally dominant precision) has |e_t| < b_t. */
/* x~ = B^-1 eps in place (xt holds eps on entry): x~_T = eps_T / b_T, then backwards
 * x~_t = eps_t / b_t - tanh(th_t) x~_{t+1}. */
void ngi_dwe_bidiag_sample(size_t T, size_t d, const float *logb, const float *th, size_t ps,
                           float *xt, size_t xs, double *y);
/* sum log b_t over the row's T x d entries (the entropy is -this + T d (1 + log 2pi)/2). */
double ngi_dwe_bidiag_logdet(size_t T, size_t d, const float *logb, size_t ps);
/* y = B^-T g: y_1 = g_1 / b_1, y_t = (g_t - e_{t-1} y_{t-1}) / b_t (into yo, float). */
void ngi_dwe_bidiag_solve_t(size_t T, size_t d, const float *logb, const float *th, size_t ps,
                            const float *g, size_t gs, float *yo, size_t ys, double *y);
/* Gradients of loss = f(mu + x~) + sum log b (the negative entropy) given g = df/dx at
 * the sample and x~: with y = B^-T g and, in e, dloss/de_t = -y_t x~_{t+1},
 *   dloss/dth_t    = dloss/de_t b_t (1 - tanh^2 th_t),
 *   dloss/dlog b_t = -b_t y_t x~_t + 1 + dloss/de_t e_t     (the last term for t < T-1).
 * glogb may alias xt (each x~_t is read before glogb_t is written). */
void ngi_dwe_bidiag_grad(size_t T, size_t d, const float *logb, const float *th, size_t ps,
                         const float *xt, const float *g, size_t xs, float *glogb, float *gth,
                         size_t gs, double *y); /* y: 4d doubles here */
/* theta of a superdiagonal entry e with diagonal b: atanh(e / b), |e / b| clamped below 1. */
double ngi_dwe_theta_of(double e, double b);

/* The noise of row n for a step: T x d standard normals (eps[t xs + k]) from a stream
 * that depends on (base, n) only, so a row's sample is the same in any minibatch, in the
 * full objective and for any thread count. */
void ngi_dwe_row_noise(uint64_t base, size_t n, size_t T, size_t d, float *eps, size_t xs);

/* ---------------------------------------------------------------- the model */
struct ng_dwe {
    ng_dwe_params p;
    const ng_corpus *c;
    size_t T, W, N, d;
    size_t Bw, Bc, nb;  /* minibatch words, contexts, rows */
    size_t nI, nJ;      /* the current block */
    int nthreads;       /* OpenMP threads the workspace was sized for */
    size_t bytes;
    void *slab;
    ng_dwe_views v;
    int nopt;           /* optimiser state arrays per parameter (GD 0, AdaGrad 1, Adam 2) */
    /* corpus index */
    int64_t *row_ptr;   /* T x (W + 1) */
    double *a, *s;      /* T x W */
    double *count;      /* T */
    /* prior */
    double *pdiag, *poff, *plocal, *pc, *b0, *e0; /* T each (off, c, e0: T-1 used) */
    double logdet;
    /* minibatch */
    int32_t *wi, *cj;     /* the block's words I (Bw), contexts J (Bc) */
    int32_t *pos_w, *pos_c, *perm, *iota; /* W each; pos_* are -1 outside a block */
    float *X, *XT, *G, *GTH; /* compact [t][p][k]: sample, x~ (then dloss/dlog b), dloss/dx
                               (then dloss/dmu), dloss/dtheta; filtering: one slice */
    double *slice_val;    /* T */
    double *row_val;      /* 2 nb: per row log prior and sum log b (or KL) */
    float *tiles;         /* nthreads x ngi_dwe_lik_ws_len(W) */
    double *ybuf;         /* nthreads x 4d */
    /* timing (ng_dwe_get_timing): lik_seconds sums every ngi_dwe_lik_slices call, a step
     * takes its part as a difference */
    double lik_seconds;
    ng_dwe_timing tm;
};

/* The current block as an ngi_dwe_block. */
ngi_dwe_block ngi_dwe_cur_block(const ng_dwe *m);
/* Slice t's counts. */
ngi_dwe_slice ngi_dwe_slice_of(const ng_dwe *m, size_t t);
/* Sets the current block to the given words and contexts (ascending, distinct; nI <= Bw,
 * nJ <= Bc), clearing the previous one's positions. */
void ngi_dwe_set_block(ng_dwe *m, const int32_t *wi, size_t nI, const int32_t *cj, size_t nJ);
/* A step's minibatch as the current block: B_w words and B_c contexts drawn without
 * replacement from rng (every subset equally likely), ascending. */
void ngi_dwe_draw_block(ng_dwe *m, ng_rng *rng);
/* All words times all contexts (for evaluations at given Z; not the current block). */
ngi_dwe_block ngi_dwe_full_block(const ng_dwe *m);
/* Model row of compact row p of the current block. */
static inline size_t ngi_dwe_row(const ng_dwe *m, size_t p)
{
    return p < m->nI ? (size_t)m->wi[p] : m->W + (size_t)m->cj[p - m->nI];
}
/* Threads for a parallel region over `work` elements: min(omp_get_max_threads(),
 * m->nthreads), or 1 below NGI_DWE_PAR_MIN (a team costs more than it saves). */
#define NGI_DWE_PAR_MIN 16384
int ngi_dwe_threads(const ng_dwe *m, size_t work);

/* The likelihood over slices [t0, t1) of the block b, parallel over slices (OpenBLAS set
 * to one thread meanwhile): slice t's words at U0 + (t - t0) us, contexts at V0 +
 * (t - t0) us (rows of d floats, ld d), gradients likewise at GU0/GV0 (NULL: none).
 * Per-slice values into m->slice_val[t]; returns their sum in slice order. mask (T, may
 * be NULL) skips slices. */
double ngi_dwe_lik_slices(ng_dwe *m, const ngi_dwe_block *b, size_t t0, size_t t1,
                          const unsigned char *mask,
                          const float *U0, const float *V0, size_t us, float *GU0, float *GV0,
                          double alpha_u, double alpha_v, int accumulate, int want_value);

/* The parts of an objective on the current block (sums over the block, unscaled). */
typedef struct {
    double loglik;          /* sum_{t, I x J} log p terms */
    double row_u[2], row_v[2]; /* word / context rows: [0] log prior (filtering: -KL),
                                  [1] entropy (filtering: 0) */
} ngi_dwe_parts;

/* Smoothing on the current block with the noise of base: samples into X (x~ in XT); with
 * grad, the compact loss gradients: G (mu), XT (log b), GTH (theta), the likelihood part of
 * word rows scaled by alpha_u and of context rows by alpha_v. */
void ngi_dwe_smoothing_eval(ng_dwe *m, uint64_t base, int grad, int want_value,
                            double alpha_u, double alpha_v, ngi_dwe_parts *parts);
/* MAP on the current block: X = the means; with grad, G. */
void ngi_dwe_map_eval(ng_dwe *m, int grad, int want_value, double alpha_u, double alpha_v,
                      ngi_dwe_parts *parts);
/* Filtering, slice t, on the current block: X (one slice) = mu_t + s_t eps; with grad, G
 * (mu_t) and XT (log b_t). The prior of slice t comes from q_{t-1}. */
void ngi_dwe_filter_eval(ng_dwe *m, size_t t, uint64_t base, int grad, int want_value,
                         double alpha_u, double alpha_v, ngi_dwe_parts *parts);
/* The filtering prior of entry (n, k) of slice t: mean *mean, precision *prec. */
void ngi_dwe_filter_prior(const ng_dwe *m, size_t t, size_t n, size_t k, double *mean,
                          double *prec);

/* The minibatch estimate on the current block for the model's method, with the noise of
 * base: est = {loglik, logprior, entropy}, each an unbiased estimate of the full
 * objective's part (the block's likelihood x W^2/(nI nJ), word rows x W/nI, context rows
 * x W/nJ; 0 unless want_value for the likelihood), and with grad the compact row
 * gradients, the likelihood part of word rows x W/nJ and of context rows x W/nI, so that
 * a drawn row's gradient is unbiased for its full-batch gradient. */
void ngi_dwe_estimate(ng_dwe *m, uint64_t base, int grad, int want_value, double est[3]);

/* The lazy optimiser: one update of the current block's rows over slices [t0, t1) from
 * the compact gradients, with the rate of step s; row counts advance by one. */
void ngi_dwe_update(ng_dwe *m, size_t t0, size_t t1, int64_t s);

#endif
