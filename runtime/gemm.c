/* gemm.c — matrix products for the pairwise steps of contractions:
 * C[b] = alpha * op(A[b]) op(B[b]) + beta * C[b], row-major, for a batch of
 * b. Large products go to OpenBLAS; small ones (batched 4x4 and the like)
 * to a plain loop that avoids the library's per-call overhead. */
#include <cblas.h>
#include <stdlib.h>
#include "tns_runtime.h"

enum { SMALL = 32 * 32 * 32 };

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

/* The commonest tiny case, 4x4 times 4x4 without transposes, unrolled so
 * that the compiler keeps it in registers. */
static void gemm4_d(double alpha, const double *A, const double *B, double beta, double *C) {
  for (int i = 0; i < 4; i++) {
    double c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    for (int l = 0; l < 4; l++) {
      double a = A[i * 4 + l];
      c0 += a * B[l * 4 + 0];
      c1 += a * B[l * 4 + 1];
      c2 += a * B[l * 4 + 2];
      c3 += a * B[l * 4 + 3];
    }
    double *c = C + i * 4;
    if (beta != 0) {
      c[0] = alpha * c0 + beta * c[0]; c[1] = alpha * c1 + beta * c[1];
      c[2] = alpha * c2 + beta * c[2]; c[3] = alpha * c3 + beta * c[3];
    } else {
      c[0] = alpha * c0; c[1] = alpha * c1; c[2] = alpha * c2; c[3] = alpha * c3;
    }
  }
}

static void threads_from_env(void);

int tns_gemm(TnsDtype dtype, int64_t batch, int ta, int tb, int64_t m, int64_t n, int64_t k,
             double alpha, const void *A, const void *B, double beta, void *C) {
  return tns_gemm_batched(dtype, batch, ta, tb, m, n, k, alpha, A, 1, B, 1, beta, C);
}

int tns_gemm_batched(TnsDtype dtype, int64_t batch, int ta, int tb, int64_t m, int64_t n, int64_t k,
                     double alpha, const void *A, int a_batched, const void *B, int b_batched,
                     double beta, void *C) {
  threads_from_env();
  if (dtype != TNS_F32 && dtype != TNS_F64)
    return tns_error(TNS_ERR_INTERNAL, "gemm: unsupported element type %s", tns_dtype_name(dtype));
  if (batch < 0 || m < 0 || n < 0 || k < 0)
    return tns_error(TNS_ERR_ARG, "gemm: negative size");
  int small = m * n * k <= SMALL;
  int64_t sa = a_batched ? m * k : 0, sb = b_batched ? k * n : 0, sc = m * n;
  for (int64_t b = 0; b < batch; b++) {
    if (dtype == TNS_F64) {
      const double *a = (const double *)A + b * sa, *bb = (const double *)B + b * sb;
      double *c = (double *)C + b * sc;
      if (m == 4 && n == 4 && k == 4 && !ta && !tb) gemm4_d(alpha, a, bb, beta, c);
      else if (small) small_d(ta, tb, m, n, k, alpha, a, bb, beta, c);
      else cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                       (int)m, (int)n, (int)k, alpha, a, ta ? (int)m : (int)k, bb, tb ? (int)k : (int)n,
                       beta, c, (int)n);
    } else {
      const float *a = (const float *)A + b * sa, *bb = (const float *)B + b * sb;
      float *c = (float *)C + b * sc;
      if (small) small_s(ta, tb, m, n, k, (float)alpha, a, bb, (float)beta, c);
      else cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                       (int)m, (int)n, (int)k, (float)alpha, a, ta ? (int)m : (int)k, bb, tb ? (int)k : (int)n,
                       (float)beta, c, (int)n);
    }
  }
  return TNS_OK;
}

/* The library's threads follow TNS_NUM_THREADS (default: OpenBLAS's own
 * choice, all cores), read once before the first product. */
void openblas_set_num_threads(int n);
static void threads_from_env(void) {
  static int done;
  if (done) return;
  done = 1;
  const char *s = getenv("TNS_NUM_THREADS");
  int n = s ? atoi(s) : 0;
  if (n > 0) openblas_set_num_threads(n);
}
