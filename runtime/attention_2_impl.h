/* attention_2_impl.h — the order-2 (2-simplicial) kernel of attention.c,
 * f32, for one instruction set. Included by attention.c with SUF (the
 * name suffix), ATTR (its target attribute) and VW (the lanes: 16 for
 * AVX-512, 8 for AVX2 + FMA) defined. Not a public header.
 *
 *   o[i, x] = sum(j, k: softmax_{j,k}(scale * sum_c q[i,c] k1[j,c] k2[k,c]) v1[j,x] v2[k,x])
 *
 * Per (batch element, tile of TQ queries), for each key j and chunk of
 * keys k: the scores S = (Q ∘ k1[j]) K2ᵀ (TQ x kc) by a register-tiled
 * kernel against K2 transposed and packed once per batch element; per
 * query the online softmax (running max, shift 0 when infinite, rescale
 * of the partial output, p = exp(s - shift) inline); then W = P V2 by a
 * second register-tiled kernel and acc += W ∘ v1[j]. The tile shares the
 * K2 and V2 loads between its queries; S stays in L1. */

#define A2_CAT2(a, b) a##_##b
#define A2_CAT(a, b) A2_CAT2(a, b)
#define FN2(name) A2_CAT(name, SUF)
#define INLINE2 static inline ATTR __attribute__((always_inline))

#if VW == 16
#define VF __m512
#define VLD(p) _mm512_loadu_ps(p)
#define VST(p, v) _mm512_storeu_ps(p, v)
#define VSET(s) _mm512_set1_ps(s)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VADD(a, b) _mm512_add_ps(a, b)
#define VSUB(a, b) _mm512_sub_ps(a, b)
#define VMAX(a, b) _mm512_max_ps(a, b)   /* b where either is NaN */
#define VEXP(x) exp_v4(x)   /* attention_tile.h's */
#define A2_MR 8   /* rows (queries) of a register tile */
#define A2_NV 2   /* vectors of keys (QK) or value columns (PV) */
INLINE2 float FN2(hmax)(VF v) { return _mm512_reduce_max_ps(v); }
INLINE2 float FN2(hsum)(VF v) { return _mm512_reduce_add_ps(v); }
#else
#define VF __m256
#define VLD(p) _mm256_loadu_ps(p)
#define VST(p, v) _mm256_storeu_ps(p, v)
#define VSET(s) _mm256_set1_ps(s)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VADD(a, b) _mm256_add_ps(a, b)
#define VSUB(a, b) _mm256_sub_ps(a, b)
#define VMAX(a, b) _mm256_max_ps(a, b)
#define VEXP(x) exp_v3(x)
#define A2_MR 4
#define A2_NV 2
INLINE2 float FN2(hmax)(VF v) {
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}
INLINE2 float FN2(hsum)(VF v) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}
#endif
#define A2_TQ BQ2                /* queries of a work item (a multiple of A2_MR) */
#define A2_KT (A2_NV * VW)       /* keys of a register tile; K2 is padded to it */
#define A2_KC (32 * A2_KT)       /* keys of a chunk of scores (L1) */

/* S[r, k] = post * sum_c A[r, c] B[c, k] for MR rows and A2_KT keys at
 * k: one register tile (MR and the vector count constants once inlined). */
INLINE2 void FN2(qk_tile)(const float *A, int64_t d, const float *B, int64_t ldb, float *S, int64_t lds, float post,
                          const int MR) {
  VF acc[A2_MR][A2_NV];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < A2_NV; v++) acc[r][v] = VSET(0.0f);
  for (int64_t c = 0; c < d; c++) {
    VF b[A2_NV];
    for (int v = 0; v < A2_NV; v++) b[v] = VLD(B + c * ldb + v * VW);
    for (int r = 0; r < MR; r++) {
      VF ar = VSET(A[r * d + c]);
      for (int v = 0; v < A2_NV; v++) acc[r][v] = VFMA(ar, b[v], acc[r][v]);
    }
  }
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < A2_NV; v++) VST(S + r * lds + v * VW, post != 1 ? VMUL(acc[r][v], VSET(post)) : acc[r][v]);
}

/* acc[r, x..] += v1[x..] * sum_k P[r, k] V[k, x..] for MR rows and NV
 * vectors of value columns at x. */
INLINE2 void FN2(pv_tile)(const float *P, int64_t lds, int64_t kn, const float *V, int64_t ldv, const float *v1,
                          float *acc, int64_t lda, const int MR, const int NV) {
  VF w[A2_MR][A2_NV];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) w[r][v] = VSET(0.0f);
  for (int64_t k = 0; k < kn; k++) {
    VF b[A2_NV];
    for (int v = 0; v < NV; v++) b[v] = VLD(V + k * ldv + v * VW);
    for (int r = 0; r < MR; r++) {
      VF pr = VSET(P[r * lds + k]);
      for (int v = 0; v < NV; v++) w[r][v] = VFMA(pr, b[v], w[r][v]);
    }
  }
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) VST(acc + r * lda + v * VW, VFMA(w[r][v], VLD(v1 + v * VW), VLD(acc + r * lda + v * VW)));
}

/* The scores of nq <= A2_TQ rows against kn keys (a multiple of A2_KT):
 * key tiles outside, row blocks inside, so a tile of K2 is reused from L1. */
static ATTR void FN2(qk)(const float *A, int64_t nq, int64_t d, const float *B, int64_t ldb, float *S, int64_t lds,
                         int64_t kn, float post) {
  for (int64_t k = 0; k < kn; k += A2_KT)
    for (int64_t r0 = 0; r0 < nq; r0 += A2_MR) {
      const float *a = A + r0 * d;
      float *s = S + r0 * lds + k;
      switch (nq - r0 < A2_MR ? nq - r0 : A2_MR) {
      case 1: FN2(qk_tile)(a, d, B + k, ldb, s, lds, post, 1); break;
      case 2: FN2(qk_tile)(a, d, B + k, ldb, s, lds, post, 2); break;
      case 3: FN2(qk_tile)(a, d, B + k, ldb, s, lds, post, 3); break;
#if A2_MR > 4
      case 4: FN2(qk_tile)(a, d, B + k, ldb, s, lds, post, 4); break;
      case 5: FN2(qk_tile)(a, d, B + k, ldb, s, lds, post, 5); break;
      case 6: FN2(qk_tile)(a, d, B + k, ldb, s, lds, post, 6); break;
      case 7: FN2(qk_tile)(a, d, B + k, ldb, s, lds, post, 7); break;
#endif
      default: FN2(qk_tile)(a, d, B + k, ldb, s, lds, post, A2_MR); break;
      }
    }
}

/* acc (nq x ep) += (P V) ∘ v1 over kn keys; ep a multiple of VW. */
static ATTR void FN2(pv)(const float *P, int64_t nq, int64_t lds, int64_t kn, const float *V, int64_t ep,
                         const float *v1, float *acc) {
  for (int64_t x = 0; x < ep; x += A2_NV * VW) {
    int two = ep - x >= A2_NV * VW;
    for (int64_t r0 = 0; r0 < nq; r0 += A2_MR) {
      const float *p = P + r0 * lds;
      float *ac = acc + r0 * ep + x;
      int64_t mr = nq - r0 < A2_MR ? nq - r0 : A2_MR;
#define A2_PV(MR)                                                          \
  if (two) FN2(pv_tile)(p, lds, kn, V + x, ep, v1 + x, ac, ep, MR, A2_NV); \
  else FN2(pv_tile)(p, lds, kn, V + x, ep, v1 + x, ac, ep, MR, 1);         \
  break;
      switch (mr) {
      case 1: A2_PV(1)
      case 2: A2_PV(2)
      case 3: A2_PV(3)
#if A2_MR > 4
      case 4: A2_PV(4)
      case 5: A2_PV(5)
      case 6: A2_PV(6)
      case 7: A2_PV(7)
#endif
      default: A2_PV(A2_MR)
      }
#undef A2_PV
    }
  }
}

/* One query's softmax step over a row of kn scores (the chunk's keys,
 * valid of them real, the rest padding): running max mx, shift sh (0 when
 * the max is infinite), lane sums lv and the output row acc rescaled by
 * exp(old shift - new) (0 while nothing was seen); s becomes p. */
static ATTR void FN2(soft)(float *s, int64_t kn, int64_t valid, float *mx, float *sh, float *lv, float *acc,
                           int64_t ep) {
  /* Per-(i, j) key ranges of k (masks) would set s to -inf outside the
     row's range here, and per-score transforms (softcap, bias) go before
     that, as in attention_impl.h's transform and row. */
  for (int64_t k = valid; k < kn; k++) s[k] = -INFINITY;
  VF mv = VSET(-INFINITY);
  for (int64_t k = 0; k < kn; k += VW) mv = VMAX(VLD(s + k), mv);   /* NaN skipped, as at -O0 */
  float m = FN2(hmax)(mv);
  m = m > *mx ? m : *mx;
  float nsh = isinf(m) ? 0 : m;
  float alpha = nsh == *sh ? 1 : *mx == -INFINITY ? 0 : (float)exp((double)(*sh - nsh));
  *mx = m;
  *sh = nsh;
  VF sum = VMUL(VLD(lv), VSET(alpha));
  if (alpha != 1)
    for (int64_t x = 0; x < ep; x += VW) VST(acc + x, VMUL(VLD(acc + x), VSET(alpha)));
  VF shv = VSET(nsh);
  if (m == INFINITY)   /* shift 0: the scores themselves, up to +inf (exp_f32 casts: no NaN in) */
    for (int64_t k = 0; k < kn; k++) s[k] = s[k] != s[k] ? s[k] : exp_f32(s[k]);
  else
    for (int64_t k = 0; k < kn; k += VW) VST(s + k, VEXP(VSUB(VLD(s + k), shv)));
  for (int64_t k = 0; k < kn; k += VW) sum = VADD(sum, VLD(s + k));
  VST(lv, sum);
}

/* Order exactly 2, f32, nothing but the plain form (order_n_plain) and
 * finite values: work items are (batch element, tile of A2_TQ queries). */
static ATTR int FN2(piece_2)(void *env, int64_t lo, int64_t hi) {
  const Attn *a = env;
  const int64_t d = a->d, e = a->e, m1 = a->m, m2 = a->mk[1], nqt = (a->n + A2_TQ - 1) / A2_TQ;
  const int64_t m2p = (m2 + A2_KT - 1) / A2_KT * A2_KT, ep = (e + VW - 1) / VW * VW;
  const int64_t kc = m2p < A2_KC ? m2p : A2_KC;
  /* the scale goes into Q unless it could hide a NaN or infinity */
  int in_q = isfinite(a->scale) && a->scale != 0;
  float post = in_q ? 1 : (float)a->scale, qs = in_q ? (float)a->scale : 1;
  size_t fl = sizeof(float), al = 64;
  float *K2T = aligned_alloc(al, (size_t)((d * m2p * fl + al) / al * al));
  float *V2 = aligned_alloc(al, (size_t)((m2p * ep * fl + al) / al * al));
  float *S = aligned_alloc(al, (size_t)((A2_TQ * kc * fl + al) / al * al));
  float *acc = aligned_alloc(al, (size_t)((A2_TQ * ep * fl + al) / al * al));
  float *Q = malloc(fl * (size_t)(A2_TQ * d + 1)), *A = malloc(fl * (size_t)(A2_TQ * d + 1));
  float *v1 = aligned_alloc(al, (size_t)((ep * fl + al) / al * al)), *lv = aligned_alloc(al, A2_TQ * VW * fl);
  int st_ok = K2T && V2 && S && acc && Q && A && v1 && lv;
  int64_t cur = -1, off[5], o2k = 0, o2v = 0;
  const int64_t(*st)[8] = a->st, *ks = a->kst[0], *vs = a->vst[0];
  for (int64_t t = lo; t < hi && st_ok && e > 0; t++) {
    int64_t bi = t / nqt, i0 = t % nqt * A2_TQ, nq = a->n - i0 < A2_TQ ? a->n - i0 : A2_TQ;
    if (bi != cur) {   /* this batch element's K2 (transposed) and V2, packed and zero-padded */
      int64_t c4[4];
      cur = bi;
      batch_offsets(a, bi, off);
      batch_coords(a, bi, c4);
      o2k = o2v = 0;
      for (int b = 0; b < a->nb; b++) o2k += c4[b] * ks[2 + b], o2v += c4[b] * vs[2 + b];
      const float *k2 = (const float *)a->kx[0] + o2k, *v2 = (const float *)a->vx[0] + o2v;
      for (int64_t c = 0; c < d; c++)
        for (int64_t k = 0; k < m2p; k++) K2T[c * m2p + k] = k < m2 ? k2[k * ks[0] + c * ks[1]] : 0;
      for (int64_t k = 0; k < m2p; k++)
        for (int64_t x = 0; x < ep; x++) V2[k * ep + x] = k < m2 && x < e ? v2[k * vs[0] + x * vs[1]] : 0;
    }
    const float *q = (const float *)a->q + off[OQ] + i0 * st[OQ][RI];
    for (int64_t r = 0; r < nq; r++)
      for (int64_t c = 0; c < d; c++) Q[r * d + c] = qs * q[r * st[OQ][RI] + c * st[OQ][RC]];
    float mx[A2_TQ], sh[A2_TQ];
    for (int64_t r = 0; r < nq; r++) {
      mx[r] = -INFINITY, sh[r] = 0;
      VST(lv + r * VW, VSET(0.0f));
    }
    memset(acc, 0, fl * (size_t)(nq * ep));
    const float *k1 = (const float *)a->k + off[OK], *v1s = (const float *)a->v + off[OV];
    for (int64_t j = 0; j < m1 && m2 > 0; j++) {
      for (int64_t r = 0; r < nq; r++)
        for (int64_t c = 0; c < d; c++) A[r * d + c] = Q[r * d + c] * k1[j * st[OK][RJ] + c * st[OK][RC]];
      for (int64_t x = 0; x < ep; x++) v1[x] = x < e ? v1s[j * st[OV][RJ] + x * st[OV][RX]] : 0;
      for (int64_t k0 = 0; k0 < m2p; k0 += kc) {
        int64_t kn = m2p - k0 < kc ? m2p - k0 : kc, valid = m2 - k0 < kn ? m2 - k0 : kn;
        FN2(qk)(A, nq, d, K2T + k0, m2p, S, kc, kn, post);
        for (int64_t r = 0; r < nq; r++)
          FN2(soft)(S + r * kc, kn, valid, &mx[r], &sh[r], lv + r * VW, acc + r * ep, ep);
        FN2(pv)(S, nq, kc, kn, V2 + k0 * ep, ep, v1, acc);
      }
    }
    float *o = (float *)a->o + off[OO] + i0 * st[OO][RI];
    for (int64_t r = 0; r < nq; r++) {
      float l = FN2(hsum)(VLD(lv + r * VW));
      for (int64_t x = 0; x < e; x++) o[r * st[OO][RI] + x * st[OO][RX]] = m1 * m2 == 0 ? 0 : acc[r * ep + x] / l;
    }
  }
  free(K2T), free(V2), free(S), free(acc), free(Q), free(A), free(v1), free(lv);
  return st_ok ? TNS_OK : tns_error(TNS_ERR_OOM, "attention: out of memory");
}

#undef VF
#undef VLD
#undef VST
#undef VSET
#undef VFMA
#undef VMUL
#undef VADD
#undef VSUB
#undef VMAX
#undef VEXP
#undef A2_MR
#undef A2_NV
#undef A2_TQ
#undef A2_KT
#undef A2_KC
#undef INLINE2
#undef FN2
#undef A2_CAT
#undef A2_CAT2
