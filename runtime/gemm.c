/* gemm.c — matrix products for the pairwise steps of contractions:
 * C[b] = alpha * op(A[b]) op(B[b]) + beta * C[b], row-major, for a batch of
 * b. Large products go to OpenBLAS (one thread per call, split over the
 * runtime's pool); tiny ones (batched 4x4 and the like) to a plain loop
 * that avoids the library's per-call overhead. */
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include "rt_internal.h"

/* Our plain kernels beat a library call only for the tiniest products
 * (m n k <= 16) and for 4 x 4 x 4 (unrolled); from 3³ to 32³ OpenBLAS's
 * small-matrix kernels were 1.4-15x faster (batched, 1 thread, measured
 * on the bench machine: docs/performance.md). */
enum { TINY = 16 };

static int ours(int ta, int tb, int64_t m, int64_t n, int64_t k) {
  return m * n * k <= TINY || (m == 4 && n == 4 && k == 4 && !ta && !tb);
}

/* C = alpha op(A) op(B) + beta C for one small product. */
#define SMALL_GEMM(NAME, T)                                                              \
  static void NAME(int ta, int tb, int64_t m, int64_t n, int64_t k, T alpha, const T *A, \
                   const T *B, T beta, T *C) {                                            \
    for (int64_t i = 0; i < m; i++)                                                       \
      for (int64_t j = 0; j < n; j++) {                                                   \
        T s = 0;                                                                          \
        for (int64_t l = 0; l < k; l++)                                                   \
          s += (ta ? A[l * m + i] : A[i * k + l]) * (tb ? B[j * k + l] : B[l * n + j]);   \
        C[i * n + j] = alpha * s + (beta != 0 ? beta * C[i * n + j] : 0);                 \
      }                                                                                   \
  }
SMALL_GEMM(small_d, double)
SMALL_GEMM(small_s, float)

/* The commonest tiny case, 4x4 times 4x4 without transposes: a row of C
 * is a sum of B's four rows, each a 4-wide vector, scaled by A's entries
 * (16 broadcast-multiply-adds). Built twice, for AVX2 + FMA and for the
 * baseline, and chosen at run time; the batch loop sits inside so that
 * the kernel is inlined (100 000 f64 products: 2.2 ms plain loops, 1.5 ms
 * this way, Eigen's fixed-size product 1.35 ms; docs/performance.md). */
typedef double v4d __attribute__((vector_size(32), aligned(8)));
typedef float v4s __attribute__((vector_size(16), aligned(4)));

#define GEMM4(NAME, T, V, ATTR)                                                              \
  ATTR static void NAME(int64_t lo, int64_t hi, T alpha, const T *A, int64_t sa, const T *B, \
                        int64_t sb, T beta, T *C) {                                           \
    for (int64_t b = lo; b < hi; b++) {                                                       \
      const T *a = A + b * sa, *bb = B + b * sb;                                              \
      T *c = C + b * 16;                                                                      \
      V b0 = *(const V *)bb, b1 = *(const V *)(bb + 4), b2 = *(const V *)(bb + 8),            \
        b3 = *(const V *)(bb + 12);                                                           \
      for (int i = 0; i < 4; i++) {                                                           \
        V r = alpha * (a[4 * i] * b0 + a[4 * i + 1] * b1 + a[4 * i + 2] * b2 + a[4 * i + 3] * b3); \
        if (beta != 0) r += beta * *(V *)(c + 4 * i);                                         \
        *(V *)(c + 4 * i) = r;                                                                \
      }                                                                                       \
    }                                                                                         \
  }
#define FAST __attribute__((target("avx2,fma")))
GEMM4(gemm4_d, double, v4d, )
GEMM4(gemm4_d_v3, double, v4d, FAST)
GEMM4(gemm4_s, float, v4s, )
GEMM4(gemm4_s_v3, float, v4s, FAST)

/* One batch element through the runtime's own kernels. */
typedef struct SmallJob {
  TnsDtype dtype;
  int ta, tb;
  int64_t m, n, k, sa, sb, sc;
  double alpha, beta;
  const void *A, *B;
  void *C;
} SmallJob;

static int small_piece(void *env, int64_t lo, int64_t hi) {
  const SmallJob *j = env;
  if (j->m == 4 && j->n == 4 && j->k == 4 && !j->ta && !j->tb) {
    if (j->dtype == TNS_F64)
      (tnsi_cpu_level() >= TNSI_CPU_AVX2 ? gemm4_d_v3 : gemm4_d)(lo, hi, j->alpha, j->A, j->sa, j->B, j->sb, j->beta,
                                                                  j->C);
    else
      (tnsi_cpu_level() >= TNSI_CPU_AVX2 ? gemm4_s_v3 : gemm4_s)(lo, hi, (float)j->alpha, j->A, j->sa, j->B, j->sb, (float)j->beta, j->C);
    return TNS_OK;
  }
  for (int64_t b = lo; b < hi; b++) {
    if (j->dtype == TNS_F64)
      small_d(j->ta, j->tb, j->m, j->n, j->k, j->alpha, (const double *)j->A + b * j->sa,
              (const double *)j->B + b * j->sb, j->beta, (double *)j->C + b * j->sc);
    else
      small_s(j->ta, j->tb, j->m, j->n, j->k, (float)j->alpha, (const float *)j->A + b * j->sa,
              (const float *)j->B + b * j->sb, (float)j->beta, (float *)j->C + b * j->sc);
  }
  return TNS_OK;
}

int tns_gemm(TnsDtype dtype, int64_t batch, int ta, int tb, int64_t m, int64_t n, int64_t k,
             double alpha, const void *A, const void *B, double beta, void *C) {
  return tns_gemm_batched(dtype, batch, ta, tb, m, n, k, alpha, A, 1, B, 1, beta, C);
}

/* One library product of a job: batch element b, rows (or columns) of
 * part p out of parts. Row-major: op(A)'s rows r0.. start at A + r0*k, or
 * at A + r0 when A is stored transposed (lda stays m); columns likewise. */
typedef struct BlasJob {
  SmallJob g;
  int64_t parts;
  int by_rows;
} BlasJob;

static void blas_one(const SmallJob *j, int64_t b, int64_t r0, int64_t m, int64_t c0, int64_t n) {
  int64_t lda = j->ta ? j->m : j->k, ldb = j->tb ? j->k : j->n, ldc = j->n;
  int64_t aoff = b * j->sa + (j->ta ? r0 : r0 * j->k), boff = b * j->sb + (j->tb ? c0 * j->k : c0);
  int64_t coff = b * j->sc + r0 * j->n + c0;
  CBLAS_TRANSPOSE ta = j->ta ? CblasTrans : CblasNoTrans, tb = j->tb ? CblasTrans : CblasNoTrans;
  if (j->dtype == TNS_F64)
    cblas_dgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)j->k, j->alpha, (const double *)j->A + aoff, (int)lda,
                (const double *)j->B + boff, (int)ldb, j->beta, (double *)j->C + coff, (int)ldc);
  else
    cblas_sgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)j->k, (float)j->alpha, (const float *)j->A + aoff,
                (int)lda, (const float *)j->B + boff, (int)ldb, (float)j->beta, (float *)j->C + coff, (int)ldc);
}

static int blas_piece(void *env, int64_t lo, int64_t hi) {
  const BlasJob *j = env;
  int64_t whole = j->by_rows ? j->g.m : j->g.n;
  for (int64_t t = lo; t < hi; t++) {
    int64_t b = t / j->parts, p = t % j->parts;
    int64_t from = whole * p / j->parts, to = whole * (p + 1) / j->parts;
    if (to == from) continue;
    if (j->by_rows) blas_one(&j->g, b, from, to - from, 0, j->g.n);
    else blas_one(&j->g, b, 0, j->g.m, from, to - from);
  }
  return TNS_OK;
}

/* OpenBLAS runs single-threaded inside our calls: the runtime's pool
 * splits the work (over the batch, else into row or column panels), so
 * loop nests and products share one set of threads instead of two pools
 * spinning against each other. The library's own setting is restored
 * for other users of it in the process (numpy, say). */
int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);

/* The first of concurrent callers (host threads) saves OpenBLAS's thread
 * count and sets 1; the last one out restores it. */
void tnsi_blas_single_threaded(int enter) {
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  static int inside, saved;
  pthread_mutex_lock(&lock);
  if (enter && inside++ == 0) {
    saved = openblas_get_num_threads();
    if (saved != 1) openblas_set_num_threads(1);
  } else if (!enter && --inside == 0 && saved != 1) {
    openblas_set_num_threads(saved);
  }
  pthread_mutex_unlock(&lock);
}

int tns_gemm_batched(TnsDtype dtype, int64_t batch, int ta, int tb, int64_t m, int64_t n, int64_t k,
                     double alpha, const void *A, int a_batched, const void *B, int b_batched,
                     double beta, void *C) {
  if (dtype != TNS_F32 && dtype != TNS_F64)
    return tns_error(TNS_ERR_INTERNAL, "gemm: unsupported element type %s", tns_dtype_name(dtype));
  if (batch < 0 || m < 0 || n < 0 || k < 0)
    return tns_error(TNS_ERR_ARG, "gemm: negative size");
  /* Empty operands may be NULL, and NULL + 0 is still undefined: with no
   * output there is nothing to do; with k == 0 the kernels read no input. */
  if (batch == 0 || m == 0 || n == 0) return TNS_OK;
  static const double none[1];
  if (k == 0) A = B = none;
  int64_t sa = a_batched ? m * k : 0, sb = b_batched ? k * n : 0, sc = m * n;
  SmallJob g = {dtype, ta, tb, m, n, k, sa, sb, sc, alpha, beta, A, B, C};
  if (ours(ta, tb, m, n, k))   /* many tiny products: our kernels */
    return tns_parallel_for(batch, m * n * k, small_piece, &g);
  int threads = tns_num_threads();
  BlasJob j = {g, 1, m >= n};
  if (batch < 2 * threads) {   /* few products: panels of each, */
    int64_t whole = m >= n ? m : n, most = whole / 64 > 0 ? whole / 64 : 1;
    /* several per thread, so one slowed by a neighbour takes fewer */
    j.parts = threads > 1 ? (4 * threads < most ? 4 * threads : most) : 1;
  }
  tnsi_blas_single_threaded(1);
  int st = tns_parallel_for(batch * j.parts, m * n * k / j.parts, blas_piece, &j);
  tnsi_blas_single_threaded(0);
  return st;
}
