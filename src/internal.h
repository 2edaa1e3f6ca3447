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

/* malloc/calloc that set the last error on failure. */
void *ng_xmalloc(size_t n);
void *ng_xcalloc(size_t n, size_t size);
char *ng_strdup(const char *s);
/* printf into a fresh malloc'ed string (no fixed-size path buffers). */
char *ng_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
