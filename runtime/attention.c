/* attention.c — fused softmax attention (tns_attention, tns_runtime.h),
 * the kernel behind passes/attention.c.
 *
 * Streaming (online) softmax: per block of BQ queries, the allowed keys
 * are visited in blocks of BK; a block's scores S = scale * Q Kᵀ are one
 * small GEMM (OpenBLAS, single-threaded inside the pool), each row keeps a
 * running max and sum, and the partial output acc (BQ x e) is rescaled
 * when the max grows, then acc += P V is a second GEMM. f32 on AVX2 or
 * AVX-512 replaces both GEMMs by register tiles (attention_tile.h) over K
 * and V packed once per batch element, per group of GR queries and chunk
 * of KC keys. Nothing of size n x m exists: the scratch is BQ x BK scores
 * plus BQ x e outputs (and packed copies of blocks whose feature index is
 * not contiguous, or the tiles' packed K and V). Work is split over the
 * pool by (batch, query block), masked blocks heaviest first.
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

enum { BQ = 64, BK = 256, KC = 256, MAXCOND = 8 };
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
  /* order R >= 2: ckey[r][t] key r's coefficient in condition t (ckey[0]
     = cb), clev[t] the last key it names (0 when none); the bias stride of
     key r + 1 (bstx), grouped reads of keys and values r + 1 (kdiv, vdiv:
     per batch role, 0 or 1 none; klim, vlim their sizes), the key each
     padding bound limits, ALiBi's coefficient of key r + 1 */
  int64_t ckey[4][MAXCOND];
  int clev[MAXCOND];
  int64_t bstx[3], kdiv[3][4], vdiv[3][4], klim[3][4], vlim[3][4], abx[3];
  int pkey[2];
  int nest[4];   /* the keys as -O0 nests the values' sums, innermost first */
  float *kp, *vp;  /* f32 K and V packed for the register tiles, per batch
                      element (attention_tile.h); NULL: the BLAS path */
  int64_t mpad, epad;         /* m rounded up to a panel, e to 16 */
  int vbad;                   /* packing met an inf or NaN in V */
  int64_t *qorder;            /* query blocks, heaviest first; NULL: in order */
} Attn;

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* One condition b*j + s >= 0 narrows the keys [*l, *h). */
static void bound(int64_t b, int64_t s, int64_t *l, int64_t *h) {
  if (b > 0) {
    int64_t from = -floor_div(s, b);   /* ceil(-s / b) */
    if (from > *l) *l = from;
  } else if (b < 0) {
    int64_t to = floor_div(s, -b) + 1;
    if (to < *h) *h = to;
  } else if (s < 0) {
    *h = 0;
  }
}

/* The keys row i may see: [*lo, *hi) within [plo, phi) (the padding
 * bounds of its batch element), empty when *lo == *hi. */
static void key_range(const Attn *a, int64_t i, int64_t plo, int64_t phi, int64_t *lo, int64_t *hi) {
  int64_t l = plo, h = phi;
  for (int t = 0; t < a->ncond; t++) {
    bound(a->cb[t], a->ca[t] * i + a->cc[t], &l, &h);
  }
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

/* Order R >= 2: the range [*lo, *hi) of key lev for row i, the earlier
 * keys at js, within [plo, phi) (its padding bounds), from the conditions
 * whose last key is lev (those on i alone bound key 0). A condition on a
 * later key is left to that key's level, so a range may hold values that
 * no later key completes: such a tuple costs one range, no scores. */
static void tuple_range(const Attn *a, int lev, int64_t i, const int64_t *js, int64_t plo, int64_t phi, int64_t *lo,
                        int64_t *hi) {
  int64_t l = plo, h = phi;
  for (int t = 0; t < a->ncond; t++) {
    if (a->clev[t] != lev) continue;
    int64_t s = a->ca[t] * i + a->cc[t];
    for (int r = 0; r < lev; r++) s += a->ckey[r][t] * js[r];
    bound(a->ckey[lev][t], s, &l, &h);
  }
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

/* Work item `item`: batch element *bi, first query *i0 (the blocks of a
 * batch element heaviest first when a->qorder says so). */
static void item_block(const Attn *a, int64_t item, int64_t *bi, int64_t *i0) {
  int64_t qb = item % a->nqb;
  *bi = item / a->nqb;
  *i0 = (a->qorder ? a->qorder[qb] : qb) * BQ;
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

/* Order R >= 2: the padding bounds [plo[r], phi[r]) of each key r for
 * batch element bi (the rules of pad_range, per key). */
static void pad_ranges(const Attn *a, int64_t bi, int64_t *plo, int64_t *phi) {
  int64_t c[4];
  batch_coords(a, bi, c);
  for (int r = 0; r < a->order; r++) plo[r] = 0, phi[r] = a->mk[r];
  for (int t = 0; t < a->npad; t++) {
    int64_t at = 0, m = a->mk[a->pkey[t]], *l = &plo[a->pkey[t]], *h = &phi[a->pkey[t]];
    for (int r = 0; r < a->nb; r++) at += c[r] * a->pst[t][r];
    double x = load_num(a->pad[t], a->pdtype[t], at) + a->poff[t];
    if (x != x) {   /* every comparison with NaN is false */
      *h = 0;
      continue;
    }
    int upper = a->pcmp[t] < 2;   /* j < x, j <= x: an end; j > x, j >= x: a start */
    double b = a->pcmp[t] == 0 || a->pcmp[t] == 3 ? ceil(x) : floor(x) + 1;
    int64_t v = b < 0 ? 0 : b > (double)m ? m : (int64_t)b;
    if (upper && v < *h) *h = v;
    if (!upper && v > *l) *l = v;
  }
  for (int r = 0; r < a->order; r++)
    if (phi[r] < plo[r]) phi[r] = plo[r];
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

#include "attention_tile.h"

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
#define TILE v3
#include "attention_impl.h"
#undef TILE
#undef SUF
#undef ATTR
#define SUF f32_v4
#define ATTR V4
#define TILE v4
#include "attention_impl.h"
#undef TILE
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
  int level = tnsi_cpu_level();
  const Piece(*t)[3] = level == TNSI_CPU_AVX512 ? v4 : level == TNSI_CPU_AVX2 ? v3 : gen;
  memcpy(k, t, sizeof(Piece) * 6);
}

/* piece_2 (order 2, nothing but the plain form: order_n_plain) sums
 * (P V2) * v1 over j, where -O0 nests the values' sums the other way: with
 * an inf or NaN among the values the two differ, and piece_n's
 * tuple-by-tuple walk gives -O0's result. One pass over V1 and V2. */
static int order2_values_finite(const Attn *a, int64_t batch) {
  for (int64_t bi = 0; bi < batch; bi++) {
    int64_t c[4], off[5], vo = 0;
    batch_coords(a, bi, c);
    batch_offsets(a, bi, off);
    for (int b = 0; b < a->nb; b++) vo += c[b] * a->vst[0][2 + b];
    const float *v1 = (const float *)a->v + off[OV], *v2 = (const float *)a->vx[0] + vo;
    float bad = 0;   /* y - y is 0 unless y is inf or NaN */
    for (int64_t j = 0; j < a->mk[0]; j++)
      for (int64_t x = 0; x < a->e; x++) {
        float y = v1[j * a->st[OV][RJ] + x * a->st[OV][RX]];
        bad += y - y;
      }
    for (int64_t k = 0; k < a->mk[1]; k++)
      for (int64_t x = 0; x < a->e; x++) {
        float y = v2[k * a->vst[0][0] + x * a->vst[0][1]];
        bad += y - y;
      }
    if (bad != 0 || bad != bad) return 0;
  }
  return 1;
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

/* Order R >= 2 without masks, padding, bias, softcap, ALiBi, log-sum-exp
 * or grouped reads: what a kernel without those features may take (the
 * rest goes to piece_n). Values that are not finite need -O0's nesting
 * (piece_n's walk_sum) in any case. */
static int order_n_plain(const Attn *a) {
  if (a->ncond || a->npad || a->bias || a->capped || a->alibi || a->lse) return 0;
  for (int o = 0; o < 5; o++)
    for (int r = 0; r < 8; r++)
      if (a->div[o][r] > 1) return 0;
  for (int r = 0; r < 3; r++)
    for (int b = 0; b < 4; b++)
      if (a->kdiv[r][b] > 1 || a->vdiv[r][b] > 1) return 0;
  return 1;
}

/* The same for the further keys and values of order R >= 2. */
static int check_divs_n(const Attn *a) {
  for (int r = 0; r + 1 < a->order; r++)
    for (int b = 0; b < a->nb; b++)
      for (int t = 0; t < 2; t++) {
        int64_t dv = t ? a->vdiv[r][b] : a->kdiv[r][b], lim = t ? a->vlim[r][b] : a->klim[r][b];
        if (dv > 1 && a->bext[b] > 0 && (a->bext[b] - 1) / dv >= lim)
          return tns_error(TNS_ERR_BOUNDS, "attention: index %lld is out of range for a grouped operand (size %lld)",
                           (long long)((a->bext[b] - 1) / dv), (long long)lim);
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
  for (int t = 0; t < a->ncond; t++) {
    a->ckey[0][t] = a->cb[t];
    a->clev[t] = 0;
    for (int r = 1; r < a->order && r < 4; r++) {
      a->ckey[r][t] = desc[TNS_ATTN_CONDX + 3 * t + r - 1];
      if (a->ckey[r][t]) a->clev[t] = r;
    }
  }
  for (int r = 0; r < 3; r++) {
    a->bstx[r] = desc[TNS_ATTN_BIASX + r];
    a->abx[r] = desc[TNS_ATTN_ALIBIX + r];
    for (int b = 0; b < 4; b++) {
      const int64_t *p = desc + TNS_ATTN_DIVX + 16 * r + b;
      a->kdiv[r][b] = p[0], a->klim[r][b] = p[4], a->vdiv[r][b] = p[8], a->vlim[r][b] = p[12];
    }
  }
  for (int t = 0, n = 0; t < 2; t++)
    if (desc[TNS_ATTN_PAD + 8 * t]) a->pkey[n++] = (int)desc[TNS_ATTN_PADKEY + t];
  for (int r = 0; r < 4; r++) a->nest[r] = (int)desc[TNS_ATTN_NEST + r];
}

/* Packs K and V of the f32 batch elements into attention_tile.h's
 * layouts (zero past m and e): item t is one chunk of KC keys of one batch
 * element. */
static int pack_piece(void *env, int64_t lo, int64_t hi) {
  const Attn *a = env;
  const int64_t d = a->d, e = a->e, m = a->m, ch = (a->mpad + KC - 1) / KC;
  const int64_t skj = a->st[OK][RJ], skc = a->st[OK][RC], svj = a->st[OV][RJ], svx = a->st[OV][RX];
  int bad = 0;
  for (int64_t t = lo; t < hi; t++) {
    int64_t bi = t / ch, j0 = t % ch * KC, j1 = j0 + KC < a->mpad ? j0 + KC : a->mpad, off[5];
    batch_offsets(a, bi, off);
    const float *K = (const float *)a->k + off[OK], *V = (const float *)a->v + off[OV];
    float *kp = a->kp + bi * a->mpad * d, *vp = a->vp + bi * a->mpad * a->epad;
    for (int64_t j = j0; j < j1; j++) {   /* key j: column j % PW of its panel */
      float *to = kp + j / PW * PW * d + j % PW;
      const float *from = K + j * skj;
      if (j >= m)
        for (int64_t c = 0; c < d; c++) to[c * PW] = 0;
      else if (skc == 1)
        for (int64_t c = 0; c < d; c++) to[c * PW] = from[c];
      else
        for (int64_t c = 0; c < d; c++) to[c * PW] = from[c * skc];
    }
    for (int64_t x0 = 0; x0 < a->epad; x0 += PW) {
      int64_t w = a->epad - x0 >= PW ? PW : 16, we = e - x0 < w ? e - x0 : w;
      for (int64_t j = j0; j < j1; j++) {
        float *to = vp + x0 * a->mpad + j * w;
        const float *from = V + j * svj + x0 * svx;
        int64_t x = 0;   /* y - y != 0: y is inf or NaN */
        if (j < m && svx == 1)
          for (; x < we; x++) to[x] = from[x], bad |= from[x] - from[x] != 0;
        else if (j < m)
          for (; x < we; x++) to[x] = from[x * svx], bad |= to[x] - to[x] != 0;
        for (; x < w; x++) to[x] = 0;
      }
    }
  }
  if (bad) __atomic_store_n(&((Attn *)env)->vbad, 1, __ATOMIC_RELAXED);
  return TNS_OK;
}

/* Packed K and V for the register tiles when the f32 kernel chosen has
 * them and there are whole groups of queries; without memory for them the
 * BLAS path runs. */
static int pack(Attn *a, int64_t batch) {
  a->mpad = (a->m + PW - 1) / PW * PW;
  a->epad = (a->e + 15) / 16 * 16;
  /* the runtime's blocks: large ones are kept for the next call instead of
     being mapped and page-faulted in again each time */
  a->kp = tns_alloc_elems_uninit(batch * a->mpad * a->d + 1, sizeof(float), 0);
  a->vp = tns_alloc_elems_uninit(batch * a->mpad * a->epad + 1, sizeof(float), 0);
  if (!a->kp || !a->vp) {
    tns_free(a->kp), tns_free(a->vp);
    a->kp = a->vp = NULL;
    return TNS_OK;
  }
  return tns_parallel_for(batch * ((a->mpad + KC - 1) / KC), KC * (a->d + a->epad), pack_piece, a);
}

typedef struct {
  int64_t work, qb;
} BlockWork;

static int by_work(const void *x, const void *y) {
  const BlockWork *p = x, *q = y;
  if (p->work != q->work) return p->work > q->work ? -1 : 1;
  return p->qb < q->qb ? -1 : p->qb > q->qb;
}

/* Masks give query blocks unequal numbers of keys (a causal block's grow
 * with i): the blocks are handed out heaviest first, so that the pool's
 * last chunks are light ones. The padding of a batch element shifts all
 * its blocks alike and is left out. Without memory: in order. */
static void order_blocks(Attn *a) {
  BlockWork *w = malloc(sizeof *w * (size_t)a->nqb);
  a->qorder = malloc(sizeof(int64_t) * (size_t)a->nqb);
  if (!w || !a->qorder) {
    free(w), free(a->qorder);
    a->qorder = NULL;
    return;
  }
  for (int64_t qb = 0; qb < a->nqb; qb++) {
    w[qb].qb = qb, w[qb].work = 0;
    for (int64_t i = qb * BQ; i < a->n && i < (qb + 1) * BQ; i++) {
      int64_t lo, hi;
      key_range(a, i, 0, a->m, &lo, &hi);
      w[qb].work += hi - lo;
    }
  }
  qsort(w, (size_t)a->nqb, sizeof *w, by_work);
  for (int64_t qb = 0; qb < a->nqb; qb++) a->qorder[qb] = w[qb].qb;
  free(w);
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
  if (a.order > 1) {   /* masks, bias, softcap, ALiBi, padding, grouped reads, log-sum-exp: piece_n */
    int64_t tuples = 1;
    for (int r = 0; r < a.order; r++) tuples *= a.mk[r];
    int seen = 0;
    for (int r = 0; r < a.order; r++) seen |= a.nest[r] >= 0 && a.nest[r] < a.order ? 1 << a.nest[r] : 0;
    for (int t = 0; t < a.npad; t++)
      if (a.pkey[t] < 0 || a.pkey[t] >= a.order) seen = 0;
    if (seen != (1 << a.order) - 1) return tns_error(TNS_ERR_INTERNAL, "attention: bad descriptor");
    if ((st = check_divs_n(&a)) != TNS_OK) return st;
    if (a.order == 2 && dtype == TNS_F32 && kern[0][2] && order_n_plain(&a) && order2_values_finite(&a, batch))
      return tns_parallel_for(batch * ((a.n + BQ2 - 1) / BQ2), BQ2 * tuples * (a.d + a.e) + 1, kern[0][2], &a);
    tnsi_blas_single_threaded(1);
    st = tns_parallel_for(batch * a.n, tuples * (a.d + a.e) + 1, kern[dtype != TNS_F32][1], &a);
    tnsi_blas_single_threaded(0);
    return st;
  }
  a.nqb = (a.n + BQ - 1) / BQ;
  if (dtype == TNS_F32 && a.n >= GR && (kern[0][0] == piece_f32_v4 || kern[0][0] == piece_f32_v3))
    st = pack(&a, batch);
  if (st == TNS_OK) st = dtype == TNS_F32 ? find_bad_f32(&a, batch) : find_bad_f64(&a, batch);
  if (st == TNS_OK && a.ncond > 0 && a.nqb > 1) order_blocks(&a);
  /* few query blocks (decoding: n = 1) and many keys: the keys are split
     over the pool too, the partial rows merged after */
  int64_t items = batch * a.nqb, threads = tns_num_threads();
  a.nsplit = 1, a.splitlen = a.m;
  if (st == TNS_OK && threads > 1 && items < 2 * threads && a.m >= 4 * BK) {
    int64_t want = (4 * threads + items - 1) / items, most = a.m / (2 * BK);
    a.nsplit = want < most ? want : most;
    a.splitlen = (a.m + a.nsplit - 1) / a.nsplit;
    a.splitlen = (a.splitlen + BK - 1) / BK * BK;
    a.nsplit = (a.m + a.splitlen - 1) / a.splitlen;
    a.part = malloc(sizeof(double) * (size_t)(items * a.nsplit * BQ * (a.e + 3)));
    if (!a.part) st = tns_error(TNS_ERR_OOM, "attention: out of memory");
  }
  if (st == TNS_OK) {
    tnsi_blas_single_threaded(1);
    st = tns_parallel_for(items * a.nsplit, BQ * (a.splitlen * (a.d + a.e) + 1), kern[dtype != TNS_F32][0], &a);
    tnsi_blas_single_threaded(0);
  }
  if (st == TNS_OK && a.nsplit > 1) st = dtype == TNS_F32 ? combine_f32(&a, items) : combine_f64(&a, items);
  free(a.part), free(a.bad), tns_free(a.kp), tns_free(a.vp), free(a.qorder);
  return st;
}
