/* linalg.c — dense linear algebra on row-major f32/f64 matrices through
 * LAPACKE, with numpy.linalg's conventions. The per-type code lives in
 * linalg_impl.h, instantiated once for float and once for double. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
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
  int (*inv)(int64_t n, const void *A, void *X);
  int (*det)(int64_t n, const void *A, void *d);
  int (*slogdet)(int64_t n, const void *A, void *sign, void *logabs);
  int (*logdet)(int64_t n, const void *A, void *out);
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

/* One operation over `batch` square matrices stored one after another
 * (numpy.linalg's stacks): A n x n each, B and X n x k each. */
typedef struct Batch Batch;
struct Batch {
  const char *op;
  const LinalgOps *ops;
  int (*one)(const Batch *b, int64_t i);  /* matrix i of the batch */
  int64_t batch, n, k;
  size_t es;                              /* element size */
  const char *A, *B;
  char *out[2];
};

/* Element offset `at` of buffer p, in bytes. */
#define AT(b, p, at) ((p) + (size_t)(at) * (b)->es)

static int one_solve(const Batch *b, int64_t i) {
  int64_t nn = b->n * b->n, nk = b->n * b->k;
  return b->ops->solve(b->n, b->k, AT(b, b->A, i * nn), AT(b, b->B, i * nk),
                       AT(b, b->out[0], i * nk));
}

static int one_cholesky(const Batch *b, int64_t i) {
  int64_t nn = b->n * b->n;
  return b->ops->cholesky(b->n, AT(b, b->A, i * nn), AT(b, b->out[0], i * nn));
}

static int one_eigh(const Batch *b, int64_t i) {
  int64_t nn = b->n * b->n;
  return b->ops->eigh(b->n, AT(b, b->A, i * nn), AT(b, b->out[0], i * b->n),
                      AT(b, b->out[1], i * nn));
}

static int one_inv(const Batch *b, int64_t i) {
  int64_t nn = b->n * b->n;
  return b->ops->inv(b->n, AT(b, b->A, i * nn), AT(b, b->out[0], i * nn));
}

static int one_det(const Batch *b, int64_t i) {
  return b->ops->det(b->n, AT(b, b->A, i * b->n * b->n), AT(b, b->out[0], i));
}

static int one_slogdet(const Batch *b, int64_t i) {
  return b->ops->slogdet(b->n, AT(b, b->A, i * b->n * b->n),
                         AT(b, b->out[0], i), AT(b, b->out[1], i));
}

static int one_logdet(const Batch *b, int64_t i) {
  return b->ops->logdet(b->n, AT(b, b->A, i * b->n * b->n),
                        AT(b, b->out[0], i));
}

/* Matrices lo..hi-1 of a batch; a failure names its matrix when there is
 * more than one ("solve: matrix is singular (matrix 3 of the batch)"). */
static int batch_piece(void *env, int64_t lo, int64_t hi) {
  const Batch *b = env;
  for (int64_t i = lo; i < hi; i++) {
    int st = b->one(b, i);
    if (st == TNS_OK)
      continue;
    if (b->batch == 1)
      return st;
    char msg[900];
    snprintf(msg, sizeof msg, "%s", tns_last_error());
    return tns_error(st, "%s (matrix %lld of the batch, counting from 0)",
                     msg, (long long)i);
  }
  return TNS_OK;
}

/* A single matrix at least this large runs with OpenBLAS's own threads. */
enum { LAPACK_THREADED_N = 512 };

/* Checks sizes and pointers, then runs the batch on the thread pool with
 * LAPACK single-threaded inside it (one matrix per task). */
static int batch_run(Batch *b, TnsDtype dtype, int ptrs_ok) {
  int64_t total;
  b->ops = ops_for(b->op, dtype);
  if (!b->ops)
    return TNS_ERR_ARG;
  b->es = dtype == TNS_F32 ? sizeof(float) : sizeof(double);
  int st = la_dims(b->op, b->n, b->n, ptrs_ok);
  if (!st)
    st = la_dims(b->op, b->n, b->k, 1);
  if (st)
    return st;
  if (b->batch < 0 || tns_mul_sizes(b->batch, b->n * (b->n > b->k ? b->n : b->k), &total) ||
      total > INT64_MAX / 16)
    return tns_error(TNS_ERR_ARG, "%s: invalid batch of %lld matrices",
                     b->op, (long long)b->batch);
  if (b->batch == 0)
    return TNS_OK;
  if (b->batch == 1 && b->n >= LAPACK_THREADED_N)
    return batch_piece(b, 0, 1);
  /* One small matrix gains nothing from OpenBLAS's threads, and waking
   * them leaves them spinning (~0.1 s) against the runtime's pool. */
  tnsi_blas_single_threaded(1);
  st = b->batch == 1 ? batch_piece(b, 0, 1)
                     : tns_parallel_for(b->batch, b->n * b->n * (b->n + b->k), batch_piece, b);
  tnsi_blas_single_threaded(0);
  return st;
}

int tns_solve_batch(TnsDtype dtype, int64_t batch, int64_t n, int64_t k,
                    const void *A, const void *B, void *X) {
  Batch b = {"solve", NULL, one_solve, batch, n, k, 0, A, B, {X, NULL}};
  return batch_run(&b, dtype, A && B && X);
}

int tns_solve(TnsDtype dtype, int64_t n, int64_t k, const void *A,
              const void *B, void *X) {
  return tns_solve_batch(dtype, 1, n, k, A, B, X);
}

int tns_cholesky_batch(TnsDtype dtype, int64_t batch, int64_t n,
                       const void *A, void *L) {
  Batch b = {"cholesky", NULL, one_cholesky, batch, n, 0, 0, A, NULL, {L, NULL}};
  return batch_run(&b, dtype, A && L);
}

int tns_cholesky(TnsDtype dtype, int64_t n, const void *A, void *L) {
  return tns_cholesky_batch(dtype, 1, n, A, L);
}

int tns_eigh_batch(TnsDtype dtype, int64_t batch, int64_t n, const void *A,
                   void *w, void *V) {
  Batch b = {"eigh", NULL, one_eigh, batch, n, 0, 0, A, NULL, {w, V}};
  return batch_run(&b, dtype, A && w && V);
}

int tns_eigh(TnsDtype dtype, int64_t n, const void *A, void *w, void *V) {
  return tns_eigh_batch(dtype, 1, n, A, w, V);
}

int tns_inv(TnsDtype dtype, int64_t batch, int64_t n, const void *A,
            void *X) {
  Batch b = {"inv", NULL, one_inv, batch, n, 0, 0, A, NULL, {X, NULL}};
  return batch_run(&b, dtype, A && X);
}

int tns_det(TnsDtype dtype, int64_t batch, int64_t n, const void *A,
            void *det) {
  Batch b = {"det", NULL, one_det, batch, n, 0, 0, A, NULL, {det, NULL}};
  return batch_run(&b, dtype, A && det);
}

int tns_slogdet(TnsDtype dtype, int64_t batch, int64_t n, const void *A,
                void *sign, void *logabsdet) {
  Batch b = {"slogdet", NULL, one_slogdet, batch, n, 0, 0, A, NULL, {sign, logabsdet}};
  return batch_run(&b, dtype, A && sign && logabsdet);
}

int tns_logdet(TnsDtype dtype, int64_t batch, int64_t n, const void *A,
               void *logdet) {
  Batch b = {"logdet", NULL, one_logdet, batch, n, 0, 0, A, NULL, {logdet, NULL}};
  return batch_run(&b, dtype, A && logdet);
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
