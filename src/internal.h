/* internal.h - helpers shared by the library sources; not installed. */
#ifndef NG_INTERNAL_H
#define NG_INTERNAL_H

#include "natgrad.h"
#include <stdarg.h>
#include <stdio.h>

/* Sets the thread's last error (printf-style) and returns s, so a failure is
 * `return ng_fail(NG_EFORMAT, "%s:%zu: expected ...", path, line);` */
ng_status ng_fail(ng_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends a message to the log callback, if one is set. */
void ng_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Atomic file output: ng_atomic_open creates "<path>.tmp.<pid>" and returns it open for
 * writing; ng_atomic_commit closes and renames it over path (returns NG_EIO on failure,
 * removing the temp file); ng_atomic_abort closes and removes it. */
typedef struct {
    FILE *f;
    char *final_path;
    char *tmp_path;
} ng_atomic_file;
ng_status ng_atomic_open(ng_atomic_file *af, const char *path);
ng_status ng_atomic_commit(ng_atomic_file *af);
void ng_atomic_abort(ng_atomic_file *af);

/* Reads a whole file into memory, transparently gunzipping gzip content (zlib).
 * *buf is malloc'ed (free it); NG_EIO names the path on failure. */
ng_status ng_read_file(const char *path, unsigned char **buf, size_t *len);

/* malloc/calloc that set the last error on failure. Every call is counted (see
 * ng_alloc_count): the library allocates through these, so a test can prove that a hot
 * path (ng_goldstone_step) allocates nothing. */
void *ng_xmalloc(size_t n);
void *ng_xcalloc(size_t n, size_t size);
/* Number of ng_xmalloc/ng_xcalloc calls so far in this process (all threads). */
size_t ng_alloc_count(void);

/* Allocation-free variants of the d x d rotation helpers (linalg.c) for the symmetry
 * phase: ws is a caller workspace of ws_len >= ng_rot_ws_len(d) doubles (sized once;
 * shared by all three; a shorter one is NG_EINVAL). ng_rot_ws_len returns 0 when d is
 * too large for LAPACK's int sizes. Same results and errors as the public versions. */
size_t ng_rot_ws_len(size_t d);
ng_status ng_procrustes_cross_ws(size_t d, const double *M, int allow_reflection, double *R,
                                 double *det, double *ws, size_t ws_len);
ng_status ng_expm_skew_ws(size_t d, const double *G, double *R, double *ws, size_t ws_len);
ng_status ng_cayley_ws(size_t d, const double *G, double *R, double *ws, size_t ws_len);
/* Passes over whole parameter vectors (vec.c), summed in double, the same for any thread
 * count. ng_vec_dots: out[j] = a . b[j] for j < nb <= 3, in one pass over a.
 * ng_vec_grad_finish: grad += eta theta and, in the same pass, out = {theta . theta,
 * grad . d0, d0 . d0} (the last two 0 when d0 is NULL); returns whether grad is finite. */
void ng_vec_dots(const float *a, const float *const *b, int nb, size_t n, double *out);
int ng_vec_grad_finish(float *grad, const float *theta, float eta, const float *d0, size_t n,
                       double out[3]);
/* out = a x + b y (products in double, stored in float); returns whether out is finite. */
int ng_vec_combine(float *out, double a, const float *x, double b, const float *y, size_t n);
char *ng_strdup(const char *s);
/* printf into a fresh malloc'ed string (no fixed-size path buffers). */
char *ng_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
