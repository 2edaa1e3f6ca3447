/* internal.h - helpers shared by the library sources; not installed. */
#ifndef NG_INTERNAL_H
#define NG_INTERNAL_H

#include "natgrad.h"
#include <stdarg.h>
#include <stdio.h>

/* Sets the thread's last error (printf-style) and returns s, so a failure is
 * `return ngi_fail(NG_EFORMAT, "%s:%zu: expected ...", path, line);` */
ng_status ngi_fail(ng_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends a message to the log callback, if one is set. */
void ngi_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* malloc/calloc that set the last error on failure. Every call is counted (see
 * ngi_alloc_count): the library allocates through these, so a test can prove that a hot
 * path (ng_goldstone_step) allocates nothing. */
void *ngi_xmalloc(size_t n);
void *ngi_xcalloc(size_t n, size_t size);
/* Number of ngi_xmalloc/ngi_xcalloc calls so far in this process (all threads). */
size_t ngi_alloc_count(void);

/* BLAS on one thread for a stretch whose result must not depend on the thread count
 * (OpenBLAS's threaded products and solves round differently): returns the count to give
 * back to ngi_blas_restore. */
static inline int ngi_blas_serial(void)
{
    int n = ng_blas_threads();
    if (n > 1) ng_set_blas_threads(1);
    return n;
}
static inline void ngi_blas_restore(int n)
{
    if (n > 1) ng_set_blas_threads(n);
}

/* Standard normal floats in x[0..n) from r's stream, by a Box-Muller transform that
 * vectorises (fastmath.c): 24-bit uniforms, so |x| <= 5.8; another sequence than
 * ng_rng_fill_normal's. ngi_log_unit: log u for u in (0, 1]; ngi_sincos_2pi: sin and cos of
 * 2 pi v for v in [-1/2, 1/2]; both in float with relative error near 1e-7. */
void ngi_normal_fill_f(ng_rng *r, float *x, size_t n);
float ngi_log_unit(float u);
void ngi_sincos_2pi(float v, float *s, float *c);

/* Allocation-free variants of the d x d rotation helpers (linalg.c) for the symmetry
 * phase: ws is a caller workspace of ws_len >= ngi_rot_ws_len(d) doubles (sized once;
 * shared by all three; a shorter one is NG_EINVAL). ngi_rot_ws_len returns 0 when d is
 * too large for LAPACK's int sizes. Same results and errors as the public versions. */
size_t ngi_rot_ws_len(size_t d);
ng_status ngi_procrustes_cross_ws(size_t d, const double *M, int allow_reflection, double *R,
                                 double *det, double *ws, size_t ws_len);
ng_status ngi_expm_skew_ws(size_t d, const double *G, double *R, double *ws, size_t ws_len);
ng_status ngi_cayley_ws(size_t d, const double *G, double *R, double *ws, size_t ws_len);
/* Passes over whole parameter vectors (vec.c), summed in double, the same for any thread
 * count. ngi_vec_dots: out[j] = a . b[j] for j < nb <= 3, in one pass over a.
 * ngi_vec_grad_finish: grad += eta theta and, in the same pass, out = {theta . theta,
 * grad . d0, d0 . d0} (the last two 0 when d0 is NULL); returns whether grad is finite. */
void ngi_vec_dots(const float *a, const float *const *b, int nb, size_t n, double *out);
int ngi_vec_grad_finish(float *grad, const float *theta, float eta, const float *d0, size_t n,
                       double out[3]);
/* out = a x + b y (products in double, stored in float); returns whether out is finite. */
int ngi_vec_combine(float *out, double a, const float *x, double b, const float *y, size_t n);
/* ng_rng_sample with a caller workspace of n slots (for any k <= n): the same draws,
 * no allocation (for a training step). */
ng_status ngi_rng_sample_ws(ng_rng *r, size_t n, size_t k, size_t *out, size_t *ws);
char *ngi_strdup(const char *s);
/* printf into a fresh malloc'ed string (no fixed-size path buffers). */
char *ngi_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
