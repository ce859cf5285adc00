/* attention_tile.h — register-tiled f32 micro-kernels of the order-1
 * attention kernel (attention.c), for AVX-512 (suffix v4) and AVX2 + FMA
 * (v3). Included once by attention.c after V4 and V3 are defined; not a
 * public header.
 *
 * Layouts (packed once per batch element, tns_attention):
 * - K in panels of PW = 32 keys: panel p holds kp[p*32*d + c*32 + jj] =
 *   K[32p + jj, c], zero past m — a score tile's 32 keys are one or two
 *   vectors per feature c;
 * - V in column panels of 32 (the last one 16 when e mod 32 is 1..16):
 *   the panel at column x0 of width w holds vp[x0*mpad + j*w + xx] =
 *   V[j, x0 + xx], zero past e.
 * A tile is GR = 8 query rows: S (8 x 32) = scale * Q Kᵀ, then acc (8 x w)
 * = alpha * acc + P V over a chunk of keys, each a product whose partial
 * sums stay in registers (16 zmm, or 8 ymm per quarter). The row
 * bookkeeping between them (max, exp, sum) has vector versions here too. */
#include <immintrin.h>

enum { GR = 8, PW = 32 };

/* ---- AVX-512 ---- */

/* S[r][0..32) = scale * sum_c Q[r][c] * K[32p + jj][c] for the 8 rows of
 * Q (row stride ldq) and the key panel kp. */
static inline V4 void qk_v4(const float *Q, int64_t ldq, const float *kp, int64_t d, float scale, float *S,
                            int64_t lds) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  for (int64_t c = 0; c < d; c++) {
    __m512 k0 = _mm512_loadu_ps(kp + c * PW), k1 = _mm512_loadu_ps(kp + c * PW + 16), q;
#define QK_ROW(i)                                  \
  q = _mm512_set1_ps(Q[i * ldq + c]);              \
  c##i##0 = _mm512_fmadd_ps(q, k0, c##i##0);       \
  c##i##1 = _mm512_fmadd_ps(q, k1, c##i##1);
    QK_ROW(0) QK_ROW(1) QK_ROW(2) QK_ROW(3) QK_ROW(4) QK_ROW(5) QK_ROW(6) QK_ROW(7)
#undef QK_ROW
  }
  __m512 s = _mm512_set1_ps(scale);
#define QK_OUT(i)                                               \
  _mm512_storeu_ps(S + i * lds, _mm512_mul_ps(s, c##i##0));     \
  _mm512_storeu_ps(S + i * lds + 16, _mm512_mul_ps(s, c##i##1));
  QK_OUT(0) QK_OUT(1) QK_OUT(2) QK_OUT(3) QK_OUT(4) QK_OUT(5) QK_OUT(6) QK_OUT(7)
#undef QK_OUT
}

/* acc[r][0..32) = alpha[r] * acc[r] + sum_j P[r][j] * V[j][0..32), j < nk. */
static inline V4 void pv32_v4(const float *P, int64_t ldp, const float *V, int64_t ldv, int64_t nk, float *acc,
                              int64_t lda, const float *alpha) {
  __m512 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
#define PV_IN(i)                                                                            \
  c##i##0 = _mm512_mul_ps(_mm512_set1_ps(alpha[i]), _mm512_loadu_ps(acc + i * lda));        \
  c##i##1 = _mm512_mul_ps(_mm512_set1_ps(alpha[i]), _mm512_loadu_ps(acc + i * lda + 16));
  PV_IN(0) PV_IN(1) PV_IN(2) PV_IN(3) PV_IN(4) PV_IN(5) PV_IN(6) PV_IN(7)
#undef PV_IN
  for (int64_t j = 0; j < nk; j++) {
    __m512 v0 = _mm512_loadu_ps(V + j * ldv), v1 = _mm512_loadu_ps(V + j * ldv + 16), p;
#define PV_ROW(i)                                  \
  p = _mm512_set1_ps(P[i * ldp + j]);              \
  c##i##0 = _mm512_fmadd_ps(p, v0, c##i##0);       \
  c##i##1 = _mm512_fmadd_ps(p, v1, c##i##1);
    PV_ROW(0) PV_ROW(1) PV_ROW(2) PV_ROW(3) PV_ROW(4) PV_ROW(5) PV_ROW(6) PV_ROW(7)
#undef PV_ROW
  }
#define PV_OUT(i)                                  \
  _mm512_storeu_ps(acc + i * lda, c##i##0);        \
  _mm512_storeu_ps(acc + i * lda + 16, c##i##1);
  PV_OUT(0) PV_OUT(1) PV_OUT(2) PV_OUT(3) PV_OUT(4) PV_OUT(5) PV_OUT(6) PV_OUT(7)
#undef PV_OUT
}

/* The same for a panel of 16 columns. */
static inline V4 void pv16_v4(const float *P, int64_t ldp, const float *V, int64_t ldv, int64_t nk, float *acc,
                              int64_t lda, const float *alpha) {
  __m512 c[GR];
  for (int i = 0; i < GR; i++) c[i] = _mm512_mul_ps(_mm512_set1_ps(alpha[i]), _mm512_loadu_ps(acc + i * lda));
  for (int64_t j = 0; j < nk; j++) {
    __m512 v = _mm512_loadu_ps(V + j * ldv);
    for (int i = 0; i < GR; i++) c[i] = _mm512_fmadd_ps(_mm512_set1_ps(P[i * ldp + j]), v, c[i]);
  }
  for (int i = 0; i < GR; i++) _mm512_storeu_ps(acc + i * lda, c[i]);
}

static inline V4 __mmask16 first_v4(int64_t k) { return k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << k) - 1); }

/* max(m, s[0..nk)), NaNs skipped (a NaN score makes its row NaN through
 * the exponential and the sum instead). */
static inline V4 float rowmax_v4(const float *s, int64_t nk, float m) {
  __m512 a0 = _mm512_set1_ps(-INFINITY), a1 = a0;
  int64_t j = 0;
  for (; j + 32 <= nk; j += 32) {   /* max(x, a) is a when x is NaN */
    a0 = _mm512_max_ps(_mm512_loadu_ps(s + j), a0);
    a1 = _mm512_max_ps(_mm512_loadu_ps(s + j + 16), a1);
  }
  for (; j < nk; j += 16) {
    __mmask16 k = first_v4(nk - j);
    a0 = _mm512_mask_max_ps(a0, k, _mm512_maskz_loadu_ps(k, s + j), a0);
  }
  float r = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
  return r > m ? r : m;
}

/* exp(x), Cephes' reduction and polynomial as exp_f32; the power of two
 * applied by vscalefps, which gives inf past the range by itself. Below
 * e^-87.3 the result is 0 (as exp_f32), NaN stays NaN. */
static inline V4 __m512 exp_v4(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-87.33654f);
  __m512 c = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(lo, x));   /* NaN stays */
  __m512 nf = _mm512_roundscale_ps(_mm512_mul_ps(c, _mm512_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(nf, _mm512_set1_ps(0.693359375f), c);
  r = _mm512_fmadd_ps(nf, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, lo, _CMP_NLT_UQ), p, nf);
}

/* s[j] = exp(s[j] - sh) in place; returns their sum. */
static inline V4 float expsum_v4(float *s, int64_t nk, float sh) {
  __m512 vs = _mm512_set1_ps(sh), a0 = _mm512_setzero_ps(), a1 = a0;
  int64_t j = 0;
  for (; j + 32 <= nk; j += 32) {
    __m512 p0 = exp_v4(_mm512_sub_ps(_mm512_loadu_ps(s + j), vs));
    __m512 p1 = exp_v4(_mm512_sub_ps(_mm512_loadu_ps(s + j + 16), vs));
    _mm512_storeu_ps(s + j, p0);
    _mm512_storeu_ps(s + j + 16, p1);
    a0 = _mm512_add_ps(a0, p0);
    a1 = _mm512_add_ps(a1, p1);
  }
  for (; j < nk; j += 16) {
    __mmask16 k = first_v4(nk - j);
    __m512 p = exp_v4(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), vs));
    _mm512_mask_storeu_ps(s + j, k, p);
    a0 = _mm512_add_ps(a0, _mm512_maskz_mov_ps(k, p));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

/* ---- AVX2 + FMA: 16 ymm registers, so quarter tiles (4 rows x 16) ---- */

static inline V3 void qk_v3(const float *Q, int64_t ldq, const float *kp, int64_t d, float scale, float *S,
                            int64_t lds) {
  for (int r0 = 0; r0 < GR; r0 += 4)
    for (int k0 = 0; k0 < PW; k0 += 16) {
      const float *q = Q + r0 * ldq;
      __m256 c[4][2];
      for (int i = 0; i < 4; i++) c[i][0] = c[i][1] = _mm256_setzero_ps();
      for (int64_t cc = 0; cc < d; cc++) {
        __m256 a = _mm256_loadu_ps(kp + cc * PW + k0), b = _mm256_loadu_ps(kp + cc * PW + k0 + 8);
        for (int i = 0; i < 4; i++) {
          __m256 x = _mm256_broadcast_ss(q + i * ldq + cc);
          c[i][0] = _mm256_fmadd_ps(x, a, c[i][0]);
          c[i][1] = _mm256_fmadd_ps(x, b, c[i][1]);
        }
      }
      __m256 s = _mm256_set1_ps(scale);
      for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(S + (r0 + i) * lds + k0, _mm256_mul_ps(s, c[i][0]));
        _mm256_storeu_ps(S + (r0 + i) * lds + k0 + 8, _mm256_mul_ps(s, c[i][1]));
      }
    }
}

/* acc[r][0..w) = alpha[r] * acc[r] + sum_j P[r][j] * V[j][0..w), w = 16 or 32. */
static inline V3 void pv_v3(const float *P, int64_t ldp, const float *V, int64_t ldv, int64_t nk, float *acc,
                            int64_t lda, const float *alpha, int w) {
  for (int r0 = 0; r0 < GR; r0 += 4)
    for (int x0 = 0; x0 < w; x0 += 16) {
      __m256 c[4][2];
      for (int i = 0; i < 4; i++) {
        __m256 al = _mm256_set1_ps(alpha[r0 + i]);
        c[i][0] = _mm256_mul_ps(al, _mm256_loadu_ps(acc + (r0 + i) * lda + x0));
        c[i][1] = _mm256_mul_ps(al, _mm256_loadu_ps(acc + (r0 + i) * lda + x0 + 8));
      }
      for (int64_t j = 0; j < nk; j++) {
        __m256 a = _mm256_loadu_ps(V + j * ldv + x0), b = _mm256_loadu_ps(V + j * ldv + x0 + 8);
        for (int i = 0; i < 4; i++) {
          __m256 p = _mm256_broadcast_ss(P + (r0 + i) * ldp + j);
          c[i][0] = _mm256_fmadd_ps(p, a, c[i][0]);
          c[i][1] = _mm256_fmadd_ps(p, b, c[i][1]);
        }
      }
      for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(acc + (r0 + i) * lda + x0, c[i][0]);
        _mm256_storeu_ps(acc + (r0 + i) * lda + x0 + 8, c[i][1]);
      }
    }
}

static inline V3 void pv32_v3(const float *P, int64_t ldp, const float *V, int64_t ldv, int64_t nk, float *acc,
                              int64_t lda, const float *alpha) {
  pv_v3(P, ldp, V, ldv, nk, acc, lda, alpha, 32);
}

static inline V3 void pv16_v3(const float *P, int64_t ldp, const float *V, int64_t ldv, int64_t nk, float *acc,
                              int64_t lda, const float *alpha) {
  pv_v3(P, ldp, V, ldv, nk, acc, lda, alpha, 16);
}

static inline V3 float rowmax_v3(const float *s, int64_t nk, float m) {
  __m256 a0 = _mm256_set1_ps(-INFINITY), a1 = a0;
  int64_t j = 0;
  for (; j + 16 <= nk; j += 16) {
    a0 = _mm256_max_ps(_mm256_loadu_ps(s + j), a0);
    a1 = _mm256_max_ps(_mm256_loadu_ps(s + j + 8), a1);
  }
  a0 = _mm256_max_ps(a0, a1);
  float lane[8];
  _mm256_storeu_ps(lane, a0);
  for (int k = 0; k < 8; k++) m = lane[k] > m ? lane[k] : m;
  for (; j < nk; j++) m = s[j] > m ? s[j] : m;
  return m;
}

/* exp_f32 eight wide, the same operations. */
static inline V3 __m256 exp_v3(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.33654f), big = _mm256_set1_ps(12582912.0f);
  __m256 c = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(lo, x));
  __m256 nf = _mm256_sub_ps(_mm256_fmadd_ps(c, _mm256_set1_ps(1.44269504088896341f), big), big);
  __m256 r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(0.693359375f), c);
  r = _mm256_fmadd_ps(nf, _mm256_set1_ps(2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(nf), _mm256_set1_epi32(127)), 23);
  __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  y = _mm256_andnot_ps(_mm256_cmp_ps(x, lo, _CMP_LT_OQ), y);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, _mm256_set1_ps(88.72283f), _CMP_GT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

static inline V3 float expsum_v3(float *s, int64_t nk, float sh) {
  __m256 vs = _mm256_set1_ps(sh), a0 = _mm256_setzero_ps(), a1 = a0;
  int64_t j = 0;
  for (; j + 16 <= nk; j += 16) {
    __m256 p0 = exp_v3(_mm256_sub_ps(_mm256_loadu_ps(s + j), vs));
    __m256 p1 = exp_v3(_mm256_sub_ps(_mm256_loadu_ps(s + j + 8), vs));
    _mm256_storeu_ps(s + j, p0);
    _mm256_storeu_ps(s + j + 8, p1);
    a0 = _mm256_add_ps(a0, p0);
    a1 = _mm256_add_ps(a1, p1);
  }
  float lane[8], sum = 0;
  _mm256_storeu_ps(lane, _mm256_add_ps(a0, a1));
  for (; j < nk; j++) sum += s[j] = exp_f32(s[j] - sh);
  for (int k = 0; k < 8; k++) sum += lane[k];
  return sum;
}
