/* linalg.c — dense linear algebra on row-major f32/f64 matrices through
 * LAPACKE, with numpy.linalg's conventions. The per-type code lives in
 * linalg_impl.h, instantiated once for float and once for double. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include <lapacke.h>

#include "rt_internal.h"

/* The operations of one element type. */
typedef struct LinalgOps {
  int (*solve)(int64_t n, int64_t k, const void *A, const void *B, void *X);
  int (*cholesky)(int64_t n, const void *A, void *L);
  int (*eigh)(int64_t n, const void *A, void *w, void *V);
  int (*svd)(int64_t m, int64_t n, const void *A, void *U, void *S,
             void *Vt);
  int (*qr)(int64_t m, int64_t n, const void *A, void *Q, void *R);
} LinalgOps;

/* Maps a LAPACKE info value to a status; `positive` is the message for
 * info > 0 (the numerical failure each routine documents). */
static int la_status(const char *op, lapack_int info, const char *positive) {
  if (info == 0)
    return TNS_OK;
  if (info == LAPACK_WORK_MEMORY_ERROR ||
      info == LAPACK_TRANSPOSE_MEMORY_ERROR)
    return tns_error(TNS_ERR_OOM, "%s: out of memory in LAPACK", op);
  if (info < 0)
    return tns_error(TNS_ERR_INTERNAL, "%s: LAPACK rejected argument %d",
                     op, (int)-info);
  return tns_error(TNS_ERR_LINALG, "%s", positive);
}

#define REAL float
#define SUF f32
#define LAPACK(name) LAPACKE_s##name
#include "linalg_impl.h"
#undef REAL
#undef SUF
#undef LAPACK

#define REAL double
#define SUF f64
#define LAPACK(name) LAPACKE_d##name
#include "linalg_impl.h"
#undef REAL
#undef SUF
#undef LAPACK

/* The ops for dtype, or NULL after reporting an unsupported type. */
static const LinalgOps *ops_for(const char *op, TnsDtype t) {
  if (t == TNS_F32)
    return &ops_f32;
  if (t == TNS_F64)
    return &ops_f64;
  tns_error(TNS_ERR_ARG, "%s: element type %s is not supported (f32 or f64)",
            op, tns_dtype_name(t));
  return NULL;
}

/* Sizes must be >= 0, fit LAPACK's 32-bit ints, and m*n must not
 * overflow; pointers must be present. */
static int la_dims(const char *op, int64_t m, int64_t n, int ptrs_ok) {
  int64_t mn;
  if (m < 0 || n < 0 || !ptrs_ok)
    return tns_error(TNS_ERR_ARG, "%s: invalid arguments (sizes %lld, %lld)",
                     op, (long long)m, (long long)n);
  if (m > INT_MAX || n > INT_MAX || tns_mul_sizes(m, n, &mn) ||
      mn > INT64_MAX / 16)
    return tns_error(TNS_ERR_ARG, "%s: a %lld x %lld matrix is too large for "
                     "LAPACK", op, (long long)m, (long long)n);
  return TNS_OK;
}

int tns_solve(TnsDtype dtype, int64_t n, int64_t k, const void *A,
              const void *B, void *X) {
  const LinalgOps *ops = ops_for("solve", dtype);
  if (!ops)
    return TNS_ERR_ARG;
  int st = la_dims("solve", n, n, A && B && X);
  if (!st)
    st = la_dims("solve", n, k, 1);
  return st ? st : ops->solve(n, k, A, B, X);
}

int tns_cholesky(TnsDtype dtype, int64_t n, const void *A, void *L) {
  const LinalgOps *ops = ops_for("cholesky", dtype);
  if (!ops)
    return TNS_ERR_ARG;
  int st = la_dims("cholesky", n, n, A && L);
  return st ? st : ops->cholesky(n, A, L);
}

int tns_eigh(TnsDtype dtype, int64_t n, const void *A, void *w, void *V) {
  const LinalgOps *ops = ops_for("eigh", dtype);
  if (!ops)
    return TNS_ERR_ARG;
  int st = la_dims("eigh", n, n, A && w && V);
  return st ? st : ops->eigh(n, A, w, V);
}

int tns_svd(TnsDtype dtype, int64_t m, int64_t n, const void *A, void *U,
            void *S, void *Vt) {
  const LinalgOps *ops = ops_for("svd", dtype);
  if (!ops)
    return TNS_ERR_ARG;
  int st = la_dims("svd", m, n, A && U && S && Vt);
  return st ? st : ops->svd(m, n, A, U, S, Vt);
}

int tns_qr(TnsDtype dtype, int64_t m, int64_t n, const void *A, void *Q,
           void *R) {
  const LinalgOps *ops = ops_for("qr", dtype);
  if (!ops)
    return TNS_ERR_ARG;
  int st = la_dims("qr", m, n, A && Q && R);
  return st ? st : ops->qr(m, n, A, Q, R);
}
