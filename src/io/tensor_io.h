/* tensor_io.h - private helpers shared by tensor.c, idx.c, npy.c, dataset.c (data owner). */
#ifndef NG_TENSOR_IO_H
#define NG_TENSOR_IO_H

#include "internal.h"

#include <math.h>
#include <stdint.h>

/* Short dtype name: u8 i8 i16 i32 i64 f32 f64. */
/* Validates a tensor given to a writer (dtype, ndim, no overflow, data for n > 0);
 * messages start with path and who. */
ng_status ngi_tensor_check(const char *who, const char *path, const ng_tensor *t,
                          size_t *count, size_t *bytes);
/* NG_ENUMERIC naming the first NaN/Inf element of a float tensor. */
ng_status ngi_tensor_check_finite(const char *path, const ng_tensor *t, size_t count);
/* A reader's check (npy.c): NG_EFORMAT naming the file and the position (flat element and
 * index) of the first NaN/Inf of a float tensor, which no input may hold. */
ng_status ngi_tensor_refuse_nonfinite(const char *path, const ng_tensor *t, size_t count);
/* ng_npy_read without that check, for a reader that checks the values itself and names
 * the position in its own terms (a model's slice and word). */
ng_status ngi_npy_read_values_unchecked(const char *path, ng_tensor *out);
int ngi_host_is_little_endian(void);
/* Copies count elements of es bytes, reversing the bytes of each. */
void ngi_bswap_copy(void *dst, const void *src, size_t count, size_t es);
/* Copies count elements stored in the given byte order into host order (or back). */
void ngi_order_copy(void *dst, const void *src, size_t count, size_t es, int little_endian);

#endif
