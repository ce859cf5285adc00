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

int tns_gemm(TnsDtype dtype, int64_t batch, int ta, int tb, int64_t m, int64_t n, int64_t k,
             double alpha, const void *A, const void *B, double beta, void *C) {
  if (dtype != TNS_F32 && dtype != TNS_F64)
    return tns_error(TNS_ERR_INTERNAL, "gemm: unsupported element type %s", tns_dtype_name(dtype));
  if (batch < 0 || m < 0 || n < 0 || k < 0)
    return tns_error(TNS_ERR_ARG, "gemm: negative size");
  int small = m * n * k <= SMALL;
  int64_t sa = m * k, sb = k * n, sc = m * n;
  for (int64_t b = 0; b < batch; b++) {
    if (dtype == TNS_F64) {
      const double *a = (const double *)A + b * sa, *bb = (const double *)B + b * sb;
      double *c = (double *)C + b * sc;
      if (small) small_d(ta, tb, m, n, k, alpha, a, bb, beta, c);
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
