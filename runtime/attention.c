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

/* No floating-point traps are observed: lets GCC turn the exponential's
 * and the mask's selects into blends, so that they vectorise without
 * AVX-512's masks too. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")   /* clang assumes no traps already */
#endif

enum { BQ = 64, BK = 256, MAXCOND = 8 };
enum { OQ, OK, OV, OO, OB };        /* operands */
enum { RI, RJ, RC, RX, RB };        /* roles; batch roles from RB */

typedef struct Attn {
  int64_t nb, bext[4], n, m, d, e, nqb;
  int64_t st[5][8], div[5][8];
  int ncond, npad;
  int64_t ca[MAXCOND], cb[MAXCOND], cc[MAXCOND];
  const void *pad[2];
  int pdtype[2], pcmp[2];
  int64_t pst[2][4];
  double poff[2];
  int capped;                 /* softcap: s = cap * tanh(s) */
  double cap;
  int alibi;
  int64_t aa, ab, ak, sst[4];
  const void *slope;          /* NULL: the scalar slope0 */
  double slope0, asign;
  void *lse;
  int64_t lst[5];             /* i, then batch */
  int order;                  /* R: keys j1..jR; mk[r] the count of j(r+1) */
  int64_t mk[4];
  const void *kx[3], *vx[3];  /* keys and values 2..R */
  int64_t kst[3][6], vst[3][6]; /* j, c (x), then batch */
  const void *q, *k, *v, *bias;
  void *o;
  double scale;
  int64_t nsplit, splitlen;  /* keys split over the pool (decoding) */
  void *part;                 /* the splits' partial rows */
  int64_t *bad;   /* per batch and column x: first and last key whose value
                     is not finite (-1: none); NULL when there are none */
} Attn;

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* The keys row i may see: [*lo, *hi) within [plo, phi) (the padding
 * bounds of its batch element), empty when *lo == *hi. */
static void key_range(const Attn *a, int64_t i, int64_t plo, int64_t phi, int64_t *lo, int64_t *hi) {
  int64_t l = plo, h = phi;
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

/* The coordinate of batch role r of element bi. */
static void batch_coords(const Attn *a, int64_t bi, int64_t c[4]) {
  c[0] = c[1] = c[2] = c[3] = 0;
  for (int r = (int)a->nb - 1; r >= 0; r--) {
    c[r] = bi % a->bext[r];
    bi /= a->bext[r];
  }
}

/* Offsets of batch element bi in each operand. */
static void batch_offsets(const Attn *a, int64_t bi, int64_t off[5]) {
  int64_t c[4];
  batch_coords(a, bi, c);
  for (int o = 0; o < 5; o++) {
    off[o] = 0;
    for (int r = 0; r < a->nb; r++) off[o] += (a->div[o][RB + r] > 1 ? c[r] / a->div[o][RB + r] : c[r]) * a->st[o][RB + r];
  }
}

static double f64_bits(int64_t b) {
  double x;
  memcpy(&x, &b, sizeof x);
  return x;
}

/* A value of an integer or float tensor as a double. */
static double load_num(const void *p, int dtype, int64_t at) {
  switch (dtype) {
  case TNS_I32: return ((const int32_t *)p)[at];
  case TNS_I64: return (double)((const int64_t *)p)[at];
  case TNS_F32: return ((const float *)p)[at];
  default: return ((const double *)p)[at];
  }
}

/* The key-padding bounds [*lo, *hi) of batch element bi. */
static void pad_range(const Attn *a, int64_t bi, int64_t *lo, int64_t *hi) {
  int64_t c[4], l = 0, h = a->m;
  batch_coords(a, bi, c);
  for (int t = 0; t < a->npad; t++) {
    int64_t at = 0;
    for (int r = 0; r < a->nb; r++) at += c[r] * a->pst[t][r];
    double x = load_num(a->pad[t], a->pdtype[t], at) + a->poff[t], b;
    if (x != x) {   /* every comparison with NaN is false */
      h = 0;
      continue;
    }
    switch (a->pcmp[t]) {
    case 0: b = ceil(x); if (b < (double)h) h = b < 0 ? 0 : (int64_t)b; break;              /* j < x */
    case 1: b = floor(x) + 1; if (b < (double)h) h = b < 0 ? 0 : (int64_t)b; break;         /* j <= x */
    case 2: b = floor(x) + 1; if (b > (double)l) l = b > (double)a->m ? a->m : (int64_t)b; break; /* j > x */
    default: b = ceil(x); if (b > (double)l) l = b > (double)a->m ? a->m : (int64_t)b; break;     /* j >= x */
    }
  }
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

/* The ALiBi slope of batch element bi. */
static double slope_of(const Attn *a, int64_t bi, int dtype) {
  if (!a->slope) return a->slope0;
  int64_t c[4], at = 0;
  batch_coords(a, bi, c);
  for (int r = 0; r < a->nb; r++) at += c[r] * a->sst[r];
  return load_num(a->slope, dtype, at);
}

/* Cephes expf: exp(x) for a vector loop (no calls, no branches: the
 * rounding is the 1.5 * 2^23 trick, the power of two built from bits). */
static inline float exp_f32(float x) {
  float c = x < -87.33654f ? -87.33654f : x;
  c = c > 88.0f ? 88.0f : c;
  float nf = (c * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round to nearest */
  float r = c - nf * 0.693359375f + nf * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = ((int32_t)nf + 127) << 23;
  float two;
  memcpy(&two, &bits, sizeof two);
  float y = p * two;
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

/* Each element type three times: AVX-512 (512-bit vectors), AVX2 + FMA
 * and the generic x86-64 build, chosen at run time (the row code — max,
 * exp, sum — is half the time and vectorises 16, 8 or 4 wide). */
#if defined(__clang__)   /* clang spells the vector width as its own attribute */
#define V4 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi,bmi2,popcnt"), min_vector_width(512)))
#else
#define V4 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi,bmi2,popcnt,prefer-vector-width=512")))
#endif
#define V3 __attribute__((target("avx2,fma,bmi,bmi2,popcnt")))

#define REAL float
#define GEMM gemm_s
#define EXP exp_f32
#define TANH tanhf
#define SUF f32
#define ATTR
#include "attention_impl.h"
#undef SUF
#undef ATTR
#define SUF f32_v3
#define ATTR V3
#include "attention_impl.h"
#undef SUF
#undef ATTR
#define SUF f32_v4
#define ATTR V4
#include "attention_impl.h"
#undef SUF
#undef ATTR
#undef REAL
#undef GEMM
#undef EXP
#undef TANH

#define REAL double
#define GEMM gemm_d
#define EXP exp_f64
#define TANH tanh
#define SUF f64
#define ATTR
#include "attention_impl.h"
#undef SUF
#undef ATTR
#define SUF f64_v3
#define ATTR V3
#include "attention_impl.h"
#undef SUF
#undef ATTR
#define SUF f64_v4
#define ATTR V4
#include "attention_impl.h"
#undef SUF
#undef ATTR

/* Order 2, f32: own register-tiled kernels (the generic build and f64 use
   piece_n). */
#include <immintrin.h>
enum { BQ2 = 16 };   /* queries of one work item */
#define SUF f32_v3
#define ATTR V3
#define VW 8
#include "attention_2_impl.h"
#undef SUF
#undef ATTR
#undef VW
#define SUF f32_v4
#define ATTR V4
#define VW 16
#include "attention_2_impl.h"
#undef VW

typedef int (*Piece)(void *, int64_t, int64_t);

/* The kernels for this CPU: [f32, f64][order 1, order 2+, order 2 plain
   (NULL: none, piece_n does it)]. */
static void kernels(Piece k[2][3]) {
  static const Piece gen[2][3] = {{piece_f32, piece_n_f32, NULL}, {piece_f64, piece_n_f64, NULL}};
  static const Piece v3[2][3] = {{piece_f32_v3, piece_n_f32_v3, piece_2_f32_v3}, {piece_f64_v3, piece_n_f64_v3, NULL}};
  static const Piece v4[2][3] = {{piece_f32_v4, piece_n_f32_v4, piece_2_f32_v4}, {piece_f64_v4, piece_n_f64_v4, NULL}};
  __builtin_cpu_init();
  const Piece(*t)[3] = gen;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) t = v3;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && !getenv("TNS_ATTENTION_NO_AVX512"))
    t = v4;
  memcpy(k, t, sizeof(Piece) * 6);
}

/* Order 2 with nothing but the plain form: piece_2's case. Masks, key
   padding, bias, softcap, ALiBi, log-sum-exp and grouped reads go to
   piece_n. */
static int plain_order2(const Attn *a) {
  int grouped = 0;
  for (int o = 0; o < 5; o++)
    for (int r = 0; r < a->nb; r++) grouped |= a->div[o][RB + r] > 1;
  return a->order == 2 && !a->ncond && !a->npad && !a->capped && !a->alibi && !a->lse && !a->bias && !grouped;
}

/* Grouped-query reads stay inside their operand (-O0 checks each read). */
static int check_divs(const Attn *a, const int64_t *desc) {
  for (int o = 0; o < 5; o++)
    for (int r = 0; r < a->nb; r++) {
      int64_t dv = a->div[o][RB + r], lim = desc[TNS_ATTN_LIM + 8 * o + RB + r];
      if (dv > 1 && a->bext[r] > 0 && (a->bext[r] - 1) / dv >= lim)
        return tns_error(TNS_ERR_BOUNDS, "attention: index %lld is out of range for a grouped operand (size %lld)",
                         (long long)((a->bext[r] - 1) / dv), (long long)lim);
    }
  return TNS_OK;
}

static void read_desc(Attn *a, const int64_t *desc) {
  a->n = desc[TNS_ATTN_N];
  a->m = desc[TNS_ATTN_M];
  a->d = desc[TNS_ATTN_D];
  a->e = desc[TNS_ATTN_E];
  for (int op = 0; op < 5; op++)
    for (int r = 0; r < 8; r++) {
      a->st[op][r] = desc[TNS_ATTN_STRIDES + 8 * op + r];
      a->div[op][r] = desc[TNS_ATTN_DIV + 8 * op + r];
    }
  for (int t = 0; t < a->ncond; t++) {
    a->ca[t] = desc[TNS_ATTN_CONDS + 3 * t];
    a->cb[t] = desc[TNS_ATTN_CONDS + 3 * t + 1];
    a->cc[t] = desc[TNS_ATTN_CONDS + 3 * t + 2];
  }
  for (int t = 0; t < 2; t++) {
    const int64_t *p = desc + TNS_ATTN_PAD + 8 * t;
    if (!p[0]) continue;
    a->pad[a->npad] = (const void *)(intptr_t)p[0];
    a->pdtype[a->npad] = (int)p[1];
    a->pcmp[a->npad] = (int)p[2];
    for (int r = 0; r < 4; r++) a->pst[a->npad][r] = p[3 + r];
    a->poff[a->npad] = f64_bits(p[7]);
    a->npad++;
  }
  a->capped = (int)desc[TNS_ATTN_CAP];
  a->cap = f64_bits(desc[TNS_ATTN_CAP + 1]);
  const int64_t *al = desc + TNS_ATTN_ALIBI;
  a->alibi = (int)al[0];
  a->aa = al[1], a->ab = al[2], a->ak = al[3];
  a->slope = (const void *)(intptr_t)al[4];
  a->slope0 = f64_bits(al[5]);
  for (int r = 0; r < 4; r++) a->sst[r] = al[6 + r];
  a->asign = (double)al[10];
  a->lse = (void *)(intptr_t)desc[TNS_ATTN_LSE];
  a->order = (int)desc[TNS_ATTN_ORDER];
  a->mk[0] = a->m;
  for (int r = 0; r + 1 < a->order && r < 3; r++) {
    const int64_t *p = desc + TNS_ATTN_ORDER + 1 + 15 * r;
    a->kx[r] = (const void *)(intptr_t)p[0];
    a->vx[r] = (const void *)(intptr_t)p[1];
    a->mk[r + 1] = p[2];
    for (int t = 0; t < 6; t++) a->kst[r][t] = p[3 + t], a->vst[r][t] = p[9 + t];
  }
  for (int r = 0; r < 5; r++) a->lst[r] = desc[TNS_ATTN_LSE + 1 + r];
}

int tns_attention(TnsDtype dtype, const int64_t *desc, const void *q, const void *k, const void *v,
                  const void *bias, void *o, double scale) {
  if (dtype != TNS_F32 && dtype != TNS_F64)
    return tns_error(TNS_ERR_INTERNAL, "attention: unsupported element type %s", tns_dtype_name(dtype));
  Attn a;
  memset(&a, 0, sizeof a);
  a.nb = desc[TNS_ATTN_NBATCH];
  a.ncond = (int)desc[TNS_ATTN_NCOND];
  if (a.nb < 0 || a.nb > 4 || a.ncond < 0 || a.ncond > MAXCOND || desc[TNS_ATTN_ORDER] < 1 || desc[TNS_ATTN_ORDER] > 4)
    return tns_error(TNS_ERR_INTERNAL, "attention: bad descriptor");
  int64_t batch = 1;
  for (int r = 0; r < a.nb; r++) batch *= a.bext[r] = desc[TNS_ATTN_BATCH + r];
  read_desc(&a, desc);
  a.q = q, a.k = k, a.v = v, a.bias = bias, a.o = o, a.scale = scale;
  if (batch <= 0 || a.n <= 0) return TNS_OK;
  int st = check_divs(&a, desc);
  if (st != TNS_OK) return st;
  Piece kern[2][3];
  kernels(kern);
  if (a.order > 1) {   /* no masks: every key tuple counts */
    int64_t tuples = 1;
    for (int r = 0; r < a.order; r++) tuples *= a.mk[r];
    if (plain_order2(&a) && kern[dtype != TNS_F32][2])   /* work items: (batch element, tile of BQ2 queries) */
      return tns_parallel_for(batch * ((a.n + BQ2 - 1) / BQ2), BQ2 * tuples * (a.d + a.e) + 1,
                              kern[dtype != TNS_F32][2], &a);
    tnsi_blas_single_threaded(1);
    st = tns_parallel_for(batch * a.n, tuples * (a.d + a.e) + 1, kern[dtype != TNS_F32][1], &a);
    tnsi_blas_single_threaded(0);
    return st;
  }
  a.nqb = (a.n + BQ - 1) / BQ;
  st = dtype == TNS_F32 ? find_bad_f32(&a, batch) : find_bad_f64(&a, batch);
  if (st != TNS_OK) return st;
  /* few query blocks (decoding: n = 1) and many keys: the keys are split
     over the pool too, the partial rows merged after */
  int64_t items = batch * a.nqb, threads = tns_num_threads();
  a.nsplit = 1, a.splitlen = a.m;
  if (threads > 1 && items < 2 * threads && a.m >= 4 * BK) {
    int64_t want = (4 * threads + items - 1) / items, most = a.m / (2 * BK);
    a.nsplit = want < most ? want : most;
    a.splitlen = (a.m + a.nsplit - 1) / a.nsplit;
    a.splitlen = (a.splitlen + BK - 1) / BK * BK;
    a.nsplit = (a.m + a.splitlen - 1) / a.splitlen;
    a.part = malloc(sizeof(double) * (size_t)(items * a.nsplit * BQ * (a.e + 3)));
    if (!a.part) {
      free(a.bad);
      return tns_error(TNS_ERR_OOM, "attention: out of memory");
    }
  }
  tnsi_blas_single_threaded(1);
  st = tns_parallel_for(items * a.nsplit, BQ * (a.splitlen * (a.d + a.e) + 1), kern[dtype != TNS_F32][0], &a);
  tnsi_blas_single_threaded(0);
  if (st == TNS_OK && a.nsplit > 1) st = dtype == TNS_F32 ? combine_f32(&a, items) : combine_f64(&a, items);
  free(a.part);
  free(a.bad);
  return st;
}
