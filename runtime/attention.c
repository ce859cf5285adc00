/* attention.c — fused softmax attention (tns_attention, tns_runtime.h),
 * the kernel behind passes/attention.c.
 *
 * Streaming (online) softmax: per block of BQ queries, the allowed keys
 * are visited in blocks of BK; a block's scores S = scale * Q Kᵀ are one
 * small GEMM (OpenBLAS, single-threaded inside the pool), each row keeps a
 * running max and sum, and the partial output acc (BQ x e) is rescaled
 * when the max grows, then acc += P V is a second GEMM. Nothing of size
 * n x m exists: the scratch is BQ x BK scores plus BQ x e outputs (and
 * packed copies of blocks whose feature index is not contiguous). Work is
 * split over the pool by (batch, query block).
 *
 * Masks are key ranges: every condition a*i + b*j + c >= 0 bounds j for a
 * row i, so a row visits only its interval [lo, hi) of keys, and blocks
 * outside the union of a query block's intervals are never touched.
 *
 * Semantics are those of the unfused softmax (-O0): the max used to shift
 * is 0 when infinite; a row with no allowed key gives 0/0 = NaN; NaN and
 * infinities propagate; and since a masked key still contributes 0 * v
 * there (NaN when v is NaN or infinite), an output column whose values
 * are non-finite at a masked key is NaN here too. f32 scores and sums
 * accumulate in f32 (FMA where the GEMM uses it), as BLAS does; the
 * exponential is an inline polynomial (Cephes expf, < 2 ulp) that the
 * compiler vectorises; results below e^-87.3 flush to 0. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "rt_internal.h"

enum { BQ = 64, BK = 128, MAXCOND = 8 };
enum { OQ, OK, OV, OO, OB };        /* operands */
enum { RI, RJ, RC, RX, RB };        /* roles; batch roles from RB */

typedef struct Attn {
  int64_t nb, bext[4], n, m, d, e, nqb;
  int64_t st[5][8];
  int ncond;
  int64_t ca[MAXCOND], cb[MAXCOND], cc[MAXCOND];
  const void *q, *k, *v, *bias;
  void *o;
  double scale;
  int64_t *bad;   /* per batch and column x: first and last key whose value
                     is not finite (-1: none); NULL when there are none */
} Attn;

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* The keys row i may see: [*lo, *hi), empty when *lo == *hi. */
static void key_range(const Attn *a, int64_t i, int64_t *lo, int64_t *hi) {
  int64_t l = 0, h = a->m;
  for (int t = 0; t < a->ncond; t++) {
    int64_t s = a->ca[t] * i + a->cc[t], b = a->cb[t];   /* b*j + s >= 0 */
    if (b > 0) {
      int64_t from = -floor_div(s, b);   /* ceil(-s / b) */
      if (from > l) l = from;
    } else if (b < 0) {
      int64_t to = floor_div(s, -b) + 1;
      if (to < h) h = to;
    } else if (s < 0) {
      h = 0;
    }
  }
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

/* Offsets of batch element bi in each operand. */
static void batch_offsets(const Attn *a, int64_t bi, int64_t off[5]) {
  for (int o = 0; o < 5; o++) off[o] = 0;
  for (int r = a->nb - 1; r >= 0; r--) {
    int64_t c = bi % a->bext[r];
    bi /= a->bext[r];
    for (int o = 0; o < 5; o++) off[o] += c * a->st[o][RB + r];
  }
}

/* Cephes expf: exp(x) for a vector loop (no calls, no branches). */
static inline float exp_f32(float x) {
  float c = x < -87.33654f ? -87.33654f : x > 88.0f ? 88.0f : x;
  float t = c * 1.44269504088896341f;
  float nf = (float)(int)(t + (t >= 0 ? 0.5f : -0.5f));
  float r = c - nf * 0.693359375f + nf * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union { int32_t i; float f; } two = {.i = ((int32_t)nf + 127) << 23};
  float y = p * two.f;
  y = x < -87.33654f ? 0.0f : y;
  y = x > 88.72283f ? INFINITY : y;
  return x != x ? x : y;
}

static inline double exp_f64(double x) { return exp(x); }

static void gemm_s(int tb, int64_t m, int64_t n, int64_t k, double alpha, const float *A, int64_t lda,
                   const float *B, int64_t ldb, double beta, float *C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, (float)alpha,
              A, (int)lda, B, (int)ldb, (float)beta, C, (int)ldc);
}

static void gemm_d(int tb, int64_t m, int64_t n, int64_t k, double alpha, const double *A, int64_t lda,
                   const double *B, int64_t ldb, double beta, double *C, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, A,
              (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

#define REAL float
#define SUF f32
#define GEMM gemm_s
#define EXP exp_f32
#include "attention_impl.h"
#undef REAL
#undef SUF
#undef GEMM
#undef EXP

#define REAL double
#define SUF f64
#define GEMM gemm_d
#define EXP exp_f64
#include "attention_impl.h"

int tns_attention(TnsDtype dtype, const int64_t *desc, const void *q, const void *k, const void *v,
                  const void *bias, void *o, double scale) {
  if (dtype != TNS_F32 && dtype != TNS_F64)
    return tns_error(TNS_ERR_INTERNAL, "attention: unsupported element type %s", tns_dtype_name(dtype));
  Attn a;
  memset(&a, 0, sizeof a);
  a.nb = desc[TNS_ATTN_NBATCH];
  a.ncond = (int)desc[TNS_ATTN_NCOND];
  if (a.nb < 0 || a.nb > 4 || a.ncond < 0 || a.ncond > MAXCOND)
    return tns_error(TNS_ERR_INTERNAL, "attention: bad descriptor");
  int64_t batch = 1;
  for (int r = 0; r < a.nb; r++) batch *= a.bext[r] = desc[TNS_ATTN_BATCH + r];
  a.n = desc[TNS_ATTN_N];
  a.m = desc[TNS_ATTN_M];
  a.d = desc[TNS_ATTN_D];
  a.e = desc[TNS_ATTN_E];
  for (int op = 0; op < 5; op++)
    for (int r = 0; r < 8; r++) a.st[op][r] = desc[TNS_ATTN_STRIDES + 8 * op + r];
  for (int t = 0; t < a.ncond; t++) {
    a.ca[t] = desc[TNS_ATTN_CONDS + 3 * t];
    a.cb[t] = desc[TNS_ATTN_CONDS + 3 * t + 1];
    a.cc[t] = desc[TNS_ATTN_CONDS + 3 * t + 2];
  }
  a.q = q, a.k = k, a.v = v, a.bias = bias, a.o = o, a.scale = scale;
  if (batch <= 0 || a.n <= 0 || a.e <= 0) return TNS_OK;
  a.nqb = (a.n + BQ - 1) / BQ;
  int st = dtype == TNS_F32 ? find_bad_f32(&a, batch) : find_bad_f64(&a, batch);
  if (st != TNS_OK) return st;
  tnsi_blas_single_threaded(1);
  st = tns_parallel_for(batch * a.nqb, BQ * (a.m * (a.d + a.e) + 1), dtype == TNS_F32 ? piece_f32 : piece_f64, &a);
  tnsi_blas_single_threaded(0);
  free(a.bad);
  return st;
}
