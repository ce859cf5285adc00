/* attention_impl.h — the body of attention.c for one element type and
 * one instruction set. Included by attention.c with REAL (float/double),
 * SUF (the name suffix), GEMM (gemm_s/gemm_d), EXP (exp_f32/exp_f64),
 * TANH and ATTR (a target attribute: AVX-512, AVX2+FMA or none)
 * defined. Not a public header. */

#define AT_CAT2(a, b) a##_##b
#define AT_CAT(a, b) AT_CAT2(a, b)
#define FN(name) AT_CAT(name, SUF)

/* Where a mask hides keys, the unfused softmax still adds 0 * v[j, x]:
 * NaN when v[j, x] is not finite. Records, per batch and column, the first
 * and last such key (only when there are masks and such values). */
__attribute__((unused)) static ATTR int FN(find_bad)(Attn *a, int64_t batch) {
  if ((!a->ncond && !a->npad) || a->m == 0 || a->e == 0 || (a->kp && !a->vbad)) return TNS_OK;   /* packing looked */
  const REAL *v = a->v;
  int64_t sj = a->st[OV][RJ], sx = a->st[OV][RX], any = 0;
  for (int64_t bi = 0; bi < batch && !any; bi++) {
    int64_t off[5];
    batch_offsets(a, bi, off);
    for (int64_t j = 0; j < a->m && !any; j++) {   /* y - y is 0 unless y is inf or NaN: vectorises */
      const REAL *row = v + off[OV] + j * sj;
      if (sx == 1)
        for (int64_t x = 0; x < a->e; x++) any |= row[x] - row[x] != 0;
      else
        for (int64_t x = 0; x < a->e; x++) any |= row[x * sx] - row[x * sx] != 0;
    }
  }
  if (!any) return TNS_OK;
  a->bad = malloc(sizeof(int64_t) * 2 * (size_t)(batch * a->e));
  if (!a->bad) return tns_error(TNS_ERR_OOM, "attention: out of memory");
  for (int64_t bi = 0; bi < batch; bi++) {
    int64_t off[5], *b = a->bad + 2 * bi * a->e;
    batch_offsets(a, bi, off);
    for (int64_t x = 0; x < a->e; x++) b[2 * x] = b[2 * x + 1] = -1;
    for (int64_t j = 0; j < a->m; j++)
      for (int64_t x = 0; x < a->e; x++) {
        if (isfinite(v[off[OV] + j * sj + x * sx])) continue;
        if (b[2 * x] < 0) b[2 * x] = j;
        b[2 * x + 1] = j;
      }
  }
  return TNS_OK;
}

/* A block of rows (or columns) with unit stride along its second index
 * is read in place; else it is packed into buf. Returns the matrix and
 * sets its leading dimension. */
static const REAL *FN(block)(const REAL *base, int64_t s_row, int64_t s_col, int64_t rows, int64_t cols,
                             REAL *buf, int64_t *ld) {
  if (s_col == 1 && s_row >= cols) {
    *ld = s_row;
    return base;
  }
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) buf[r * cols + c] = base[r * s_row + c * s_col];
  *ld = cols > 0 ? cols : 1;
  return buf;
}

/* The per-score transforms of one row before the softmax, in -O0's
 * order: scale (when not folded into the GEMM), softcap, bias, ALiBi. */
static ATTR void FN(transform)(const Attn *a, REAL *s, int64_t nk, int64_t i, int64_t j0, REAL post, const REAL *bias,
                          int64_t sbj, REAL slope) {
  if (post != 1)
    for (int64_t jj = 0; jj < nk; jj++) s[jj] *= post;
  if (a->capped) {
    REAL c = (REAL)a->cap;
    for (int64_t jj = 0; jj < nk; jj++) s[jj] = c * TANH(s[jj]);
  }
  if (bias)
    for (int64_t jj = 0; jj < nk; jj++) s[jj] += bias[(j0 + jj) * sbj];
  if (a->alibi) {
    int64_t base = a->aa * i + a->ab * j0 + a->ak;
    if (a->asign > 0)
      for (int64_t jj = 0; jj < nk; jj++) s[jj] += slope * (REAL)(base + a->ab * jj);
    else
      for (int64_t jj = 0; jj < nk; jj++) s[jj] -= slope * (REAL)(base + a->ab * jj);
  }
}

#ifdef TILE   /* f32 with AVX2 or AVX-512: attention_tile.h's vector loops */
#define ROWMAX AT_CAT(rowmax, TILE)
#define EXPSUM AT_CAT(expsum, TILE)
#define QK AT_CAT(qk, TILE)
#define PV32 AT_CAT(pv32, TILE)
#define PV16 AT_CAT(pv16, TILE)
#else
/* max(m, s[0..nk)) in sixteen lanes, so that it vectorises; a NaN is
   skipped (it makes the row NaN through exp and the sum, as at -O0) */
static ATTR REAL FN(rowmax)(const REAL *s, int64_t nk, REAL m) {
  REAL lane[16];
  for (int k = 0; k < 16; k++) lane[k] = -INFINITY;
  int64_t n8 = nk / 16 * 16;
  for (int64_t jj = 0; jj < n8; jj += 16)
    for (int k = 0; k < 16; k++) lane[k] = lane[k] < s[jj + k] ? s[jj + k] : lane[k];
  for (int64_t jj = n8; jj < nk; jj++) m = s[jj] > m ? s[jj] : m;
  for (int k = 0; k < 16; k++) m = lane[k] > m ? lane[k] : m;
  return m;
}

/* s[jj] = exp(s[jj] - sh) in place; returns their sum */
static ATTR REAL FN(expsum)(REAL *s, int64_t nk, REAL sh) {
  REAL lane[16], sum = 0;
  int64_t n8 = nk / 16 * 16;
  for (int64_t jj = 0; jj < nk; jj++) s[jj] = EXP(s[jj] - sh);
  for (int k = 0; k < 16; k++) lane[k] = 0;
  for (int64_t jj = 0; jj < n8; jj += 16)
    for (int k = 0; k < 16; k++) lane[k] += s[jj + k];
  for (int64_t jj = n8; jj < nk; jj++) sum += s[jj];
  for (int k = 0; k < 16; k++) sum += lane[k];
  return sum;
}
#define ROWMAX FN(rowmax)
#define EXPSUM FN(expsum)
#endif

/* Softmax bookkeeping of one row of a score block: mask, then p =
 * exp(s - shift) in place; returns the row's sum and sets the factor its
 * earlier output is rescaled by. */
static ATTR REAL FN(row)(REAL *s, int64_t nk, int64_t j0, int64_t lo, int64_t hi, REAL *mx, REAL *shift, REAL *alpha) {
  for (int64_t jj = 0; jj < nk && j0 + jj < lo; jj++) s[jj] = -INFINITY;
  for (int64_t jj = hi - j0 < 0 ? 0 : hi - j0; jj < nk; jj++) s[jj] = -INFINITY;
  REAL m = ROWMAX(s, nk, *mx);
  REAL sh = isinf(m) ? 0 : m;
  /* nothing seen yet (the max was -inf): the shift 0 it had is no scale,
     and exp(0 - sh) could overflow */
  *alpha = sh == *shift ? 1 : *mx == -INFINITY ? 0 : (REAL)exp((double)(*shift - sh));
  *mx = m;
  *shift = sh;
  return EXPSUM(s, nk, sh);
}

/* Writes the finished rows of a query block: O = acc / l (acc's rows lda
 * apart), NaN columns where a masked key has a non-finite value, and the
 * log-sum-exp. */
static ATTR void FN(finish)(const Attn *a, int64_t bi, int64_t i0, int64_t nq, const int64_t off[5], const REAL *acc,
                            int64_t lda, const REAL *l, const REAL *shift, const int64_t *rlo, const int64_t *rhi) {
  const int64_t e = a->e;
  REAL *O = (REAL *)a->o + off[OO] + i0 * a->st[OO][RI];
  const int64_t *bad = a->bad ? a->bad + 2 * bi * e : NULL;
  for (int64_t r = 0; r < nq; r++)
    for (int64_t x = 0; x < e; x++) {
      REAL y = a->m == 0 ? 0 : acc[r * lda + x] / l[r];
      if (bad && bad[2 * x] >= 0 && (bad[2 * x] < rlo[r] || bad[2 * x + 1] >= rhi[r])) y = NAN;
      O[r * a->st[OO][RI] + x * a->st[OO][RX]] = y;
    }
  if (!a->lse) return;
  int64_t c[4], at = 0;
  batch_coords(a, bi, c);
  for (int r = 0; r < a->nb; r++) at += c[r] * a->lst[1 + r];
  REAL *L = (REAL *)a->lse + at;
  for (int64_t r = 0; r < nq; r++) L[(i0 + r) * a->lst[0]] = shift[r] + (REAL)log((double)l[r]);
}

/* One query block of a work item: its rows' key ranges and running
 * state, and the partial output acc (lda apart, lda >= e). */
typedef struct {
  int64_t bi, i0, nq, jlo, jhi, off[5], rlo[BQ], rhi[BQ], lda;
  REAL mx[BQ], shift[BQ], l[BQ], post, slope;
  REAL *acc;
} FN(Blk);

/* Rows r0 .. r1-1 of the block against keys [j0, j0 + nk) (their scores
 * in S, lds apart): transforms, mask, softmax bookkeeping; alpha[r - r0]
 * the factor each row's acc is to be rescaled by. */
static ATTR void FN(rows)(const Attn *a, FN(Blk) *b, REAL *S, int64_t lds, int64_t r0, int64_t r1, int64_t j0,
                          int64_t nk, REAL *alpha) {
  const int64_t(*st)[8] = a->st;
  for (int64_t r = r0; r < r1; r++) {
    REAL *s = S + (r - r0) * lds;
    const REAL *brow = a->bias ? (const REAL *)a->bias + b->off[OB] + (b->i0 + r) * st[OB][RI] : NULL;
    FN(transform)(a, s, nk, b->i0 + r, j0, b->post, brow, st[OB][RJ], b->slope);
    REAL sum = FN(row)(s, nk, j0, b->rlo[r], b->rhi[r], &b->mx[r], &b->shift[r], &alpha[r - r0]);
    b->l[r] = b->l[r] * alpha[r - r0] + sum;
  }
}

/* Scratch of a thread's work items: scores (BQ x BK; the tiled path uses
 * GR x KC of it), Q and, on the BLAS path, K and V blocks packed. */
typedef struct {
  REAL *S, *acc, *pq, *pk, *pv;
} FN(Scratch);

/* The keys of block b by two GEMMs per key block (OpenBLAS): S = scale *
 * Q Kᵀ, then acc += P V — K, V and Q read in place when their feature
 * index is contiguous, packed otherwise. */
static ATTR void FN(keys_blas)(const Attn *a, FN(Blk) *b, FN(Scratch) *w, int in_gemm) {
  const int64_t d = a->d, e = a->e, nq = b->nq;
  const int64_t(*st)[8] = a->st;
  int64_t ld_q;
  const REAL *Q = FN(block)((const REAL *)a->q + b->off[OQ] + b->i0 * st[OQ][RI], st[OQ][RI], st[OQ][RC], nq, d, w->pq,
                            &ld_q);
  for (int64_t j0 = b->jlo; j0 < b->jhi; j0 += BK) {
    int64_t nk = b->jhi - j0 < BK ? b->jhi - j0 : BK, ld_k, ld_v;
    const REAL *K = FN(block)((const REAL *)a->k + b->off[OK] + j0 * st[OK][RJ], st[OK][RJ], st[OK][RC], nk, d, w->pk,
                              &ld_k);
    const REAL *V = FN(block)((const REAL *)a->v + b->off[OV] + j0 * st[OV][RJ], st[OV][RJ], st[OV][RX], nk, e, w->pv,
                              &ld_v);
    if (d > 0) GEMM(1, nq, nk, d, in_gemm ? a->scale : 1.0, Q, ld_q, K, ld_k, 0.0, w->S, BK);
    else
      for (int64_t r = 0; r < nq; r++) memset(w->S + r * BK, 0, sizeof(REAL) * (size_t)nk);
    REAL alpha[BQ];
    FN(rows)(a, b, w->S, BK, 0, nq, j0, nk, alpha);
    for (int64_t r = 0; r < nq; r++)
      if (alpha[r] != 1)
        for (int64_t x = 0; x < e; x++) b->acc[r * b->lda + x] *= alpha[r];
    if (e > 0) GEMM(0, nq, e, nk, 1.0, w->S, BK, V, ld_v, 1.0, b->acc, b->lda);
  }
}

#ifdef TILE
/* The keys of block b by the register tiles of attention_tile.h, K and V
 * packed (a->kp, a->vp). Chunks of KC keys (aligned to panels) in the
 * outer loop, so that a chunk's K and V stay in cache for the block's
 * groups of GR rows; a group visits the part of a chunk inside its own
 * rows' key ranges. Q is copied into whole groups (zero rows past nq:
 * their scores are 0 and their output is never written). */
static ATTR void FN(keys_tiled)(const Attn *a, FN(Blk) *b, FN(Scratch) *w, int in_gemm) {
  const int64_t d = a->d, nq = b->nq, ng = (nq + GR - 1) / GR;
  const int64_t(*st)[8] = a->st;
  const float *kp = a->kp + b->bi * a->mpad * d, *vp = a->vp + b->bi * a->mpad * b->lda;
  const float *q = (const float *)a->q + b->off[OQ] + b->i0 * st[OQ][RI];
  float scale = in_gemm ? (float)a->scale : 1.0f;
  int64_t glo[BQ / GR], ghi[BQ / GR];
  for (int64_t r = 0; r < ng * GR; r++)
    for (int64_t c = 0; c < d; c++) w->pq[r * d + c] = r < nq ? q[r * st[OQ][RI] + c * st[OQ][RC]] : 0;
  for (int64_t g = 0; g < ng; g++) {   /* the union of the group's key ranges */
    glo[g] = b->jhi, ghi[g] = b->jlo;
    for (int64_t r = g * GR; r < nq && r < (g + 1) * GR; r++)
      if (b->rlo[r] < b->rhi[r]) {
        glo[g] = b->rlo[r] < glo[g] ? b->rlo[r] : glo[g];
        ghi[g] = b->rhi[r] > ghi[g] ? b->rhi[r] : ghi[g];
      }
    glo[g] = glo[g] < b->jlo ? b->jlo : glo[g];
    ghi[g] = ghi[g] > b->jhi ? b->jhi : ghi[g];
  }
  for (int64_t c0 = b->jlo / PW * PW; c0 < b->jhi; c0 += KC)
    for (int64_t g = 0; g < ng; g++) {
      int64_t j0 = glo[g] / PW * PW, j1 = c0 + KC < ghi[g] ? c0 + KC : ghi[g];
      j0 = j0 > c0 ? j0 : c0;
      if (j0 >= j1) continue;
      int64_t r0 = g * GR, r1 = r0 + GR < nq ? r0 + GR : nq, nk = j1 - j0;
      float alpha[GR];
      for (int64_t p = j0; p < j1; p += PW) QK(w->pq + r0 * d, d, kp + p * d, d, scale, w->S + (p - j0), KC);
      FN(rows)(a, b, w->S, KC, r0, r1, j0, nk, alpha);
      for (int64_t r = r1 - r0; r < GR; r++) alpha[r] = 1;
      float *acc = b->acc + r0 * b->lda;
      int64_t x0 = 0;
      for (; x0 + 32 <= b->lda; x0 += 32) PV32(w->S, KC, vp + x0 * a->mpad + j0 * 32, 32, nk, acc + x0, b->lda, alpha);
      if (x0 < b->lda) PV16(w->S, KC, vp + x0 * a->mpad + j0 * 16, 16, nk, acc + x0, b->lda, alpha);
    }
}
#endif

/* Work item t: a query block of a batch element (and with nsplit > 1 a
 * part of its keys), finished into O or left as a partial row set. */
static ATTR int FN(piece)(void *env, int64_t lo, int64_t hi) {
  const Attn *a = env;
  const int64_t d = a->d, e = a->e;
#ifdef TILE
  const int tiled = a->kp != NULL;
#else
  const int tiled = 0;
#endif
  const int64_t lda = tiled ? a->epad : e;
  FN(Scratch) w;
  FN(Blk) b;
  w.S = malloc(sizeof(REAL) * BQ * BK), b.acc = malloc(sizeof(REAL) * (size_t)(BQ * lda + 1));
  w.pq = malloc(sizeof(REAL) * (size_t)(BQ * d + 1)), w.pk = malloc(sizeof(REAL) * (size_t)(BK * d + 1));
  w.pv = malloc(sizeof(REAL) * (size_t)(BK * e + 1));
  int st_ok = w.S && b.acc && w.pq && w.pk && w.pv;
  /* the scale goes into the GEMM unless it could hide a NaN or infinity */
  int in_gemm = isfinite(a->scale) && a->scale != 0;
  b.post = in_gemm ? 1 : (REAL)a->scale;
  b.lda = lda;
  for (int64_t t = lo; t < hi && st_ok; t++) {
    /* split keys (decoding): item t / nsplit, keys [s0, s1) */
    int64_t item = t / a->nsplit, sp = t % a->nsplit, s0 = sp * a->splitlen, s1 = s0 + a->splitlen, plo, phi;
    item_block(a, item, &b.bi, &b.i0);
    b.nq = a->n - b.i0 < BQ ? a->n - b.i0 : BQ;
    b.jlo = a->m, b.jhi = 0;
    batch_offsets(a, b.bi, b.off);
    pad_range(a, b.bi, &plo, &phi);
    b.slope = a->alibi ? (REAL)slope_of(a, b.bi, sizeof(REAL) == 4 ? TNS_F32 : TNS_F64) : 0;
    for (int64_t r = 0; r < b.nq; r++) {
      key_range(a, b.i0 + r, plo, phi, &b.rlo[r], &b.rhi[r]);
      if (b.rlo[r] < b.rhi[r]) {
        b.jlo = b.rlo[r] < b.jlo ? b.rlo[r] : b.jlo;
        b.jhi = b.rhi[r] > b.jhi ? b.rhi[r] : b.jhi;
      }
      b.mx[r] = -INFINITY;
      b.shift[r] = 0;
      b.l[r] = 0;
    }
    memset(b.acc, 0, sizeof(REAL) * (size_t)(BQ * lda));
    if (a->nsplit > 1) {
      b.jlo = b.jlo > s0 ? b.jlo : s0;
      b.jhi = b.jhi < s1 ? b.jhi : s1;
    }
#ifdef TILE
    if (tiled && b.nq >= GR) FN(keys_tiled)(a, &b, &w, in_gemm);
    else
#endif
      FN(keys_blas)(a, &b, &w, in_gemm);
    if (a->nsplit == 1) {
      FN(finish)(a, b.bi, b.i0, b.nq, b.off, b.acc, lda, b.l, b.shift, b.rlo, b.rhi);
      continue;
    }
    REAL *part = (REAL *)a->part + t * BQ * (e + 3);   /* per row: max, shift, sum, acc */
    for (int64_t r = 0; r < b.nq; r++) {
      REAL *pr = part + r * (e + 3);
      pr[0] = b.mx[r], pr[1] = b.shift[r], pr[2] = b.l[r];
      memcpy(pr + 3, b.acc + r * lda, sizeof(REAL) * (size_t)e);
    }
  }
  free(w.S), free(b.acc), free(w.pq), free(w.pk), free(w.pv);
  return st_ok ? TNS_OK : tns_error(TNS_ERR_OOM, "attention: out of memory");
}


/* The key splits' partial rows merged: the shift of the overall max (0
 * when infinite), each split's sum and output rescaled to it; then the
 * rows are finished as unsplit ones. */
__attribute__((unused)) static ATTR int FN(combine)(const Attn *a, int64_t items) {
  const int64_t e = a->e;
  REAL *acc = malloc(sizeof(REAL) * (size_t)(BQ * e + 1));
  if (!acc) return tns_error(TNS_ERR_OOM, "attention: out of memory");
  for (int64_t item = 0; item < items; item++) {
    int64_t bi, i0, off[5], rlo[BQ], rhi[BQ], plo, phi;
    item_block(a, item, &bi, &i0);
    int64_t nq = a->n - i0 < BQ ? a->n - i0 : BQ;
    REAL l[BQ], shift[BQ];
    batch_offsets(a, bi, off);
    pad_range(a, bi, &plo, &phi);
    const REAL *part = (const REAL *)a->part + item * a->nsplit * BQ * (e + 3);
    for (int64_t r = 0; r < nq; r++) {
      key_range(a, i0 + r, plo, phi, &rlo[r], &rhi[r]);
      REAL m = -INFINITY;
      for (int64_t sp = 0; sp < a->nsplit; sp++) {
        REAL pm = part[(sp * BQ + r) * (e + 3)];
        m = pm > m || pm != pm ? pm : m;
      }
      REAL sh = isinf(m) ? 0 : m, sum = 0, *ar = acc + r * e;
      for (int64_t x = 0; x < e; x++) ar[x] = 0;
      for (int64_t sp = 0; sp < a->nsplit; sp++) {
        const REAL *pr = part + (sp * BQ + r) * (e + 3);
        REAL w = pr[1] == sh ? 1 : pr[0] == -INFINITY ? 0 : (REAL)exp((double)(pr[1] - sh));
        sum += w * pr[2];
        for (int64_t x = 0; x < e; x++) ar[x] += w * pr[3 + x];
      }
      l[r] = sum;
      shift[r] = sh;
    }
    FN(finish)(a, bi, i0, nq, off, acc, e, l, shift, rlo, rhi);
  }
  free(acc);
  return TNS_OK;
}

#undef ROWMAX
#undef EXPSUM
#undef QK
#undef PV32
#undef PV16

/* Order R >= 2: one row of a chunk's scores, keys L.. of the last key
 * (w of them): scale, softcap, bias, ALiBi (-O0's order), then -inf
 * outside the row's allowed [lo, hi). brow: the bias at key L = 0, sbl
 * its stride along the last key; abase + al * k the ALiBi position. */
static ATTR void FN(tuple_scores)(const Attn *a, REAL *s, int64_t w, int64_t L, int64_t lo, int64_t hi, REAL post,
                                  const REAL *brow, int64_t sbl, REAL slope, int64_t abase, int64_t al) {
  if (post != 1)
    for (int64_t k = 0; k < w; k++) s[k] *= post;
  if (a->capped) {
    REAL c = (REAL)a->cap;
    for (int64_t k = 0; k < w; k++) s[k] = c * TANH(s[k]);
  }
  if (brow)
    for (int64_t k = 0; k < w; k++) s[k] += brow[(L + k) * sbl];
  if (a->alibi) {
    REAL sg = a->asign > 0 ? slope : -slope;
    for (int64_t k = 0; k < w; k++) s[k] += sg * (REAL)(abase + al * (L + k));
  }
  for (int64_t k = 0; k < lo - L; k++) s[k] = -INFINITY;
  for (int64_t k = hi - L; k < w; k++) s[k] = -INFINITY;
}

/* Order R >= 2: what one row's tuple-by-tuple walk reads. */
typedef struct FN(Walk) {
  const Attn *a;
  int64_t i;
  const REAL *q, *brow, *kb[4], *vb[4];
  const int64_t *ksj, *ksc, *vsj, *vsx, *bsk, *abk, *plo, *phi;
  REAL post, slope, sh, l;
  REAL *buf;   /* R x e */
} FN(Walk);

/* The score of key tuple js as -O0 computes it: -inf where masked. */
static ATTR REAL FN(walk_score)(const FN(Walk) *w, const int64_t *js) {
  const Attn *a = w->a;
  const int R = a->order;
  for (int t = 0; t < a->ncond; t++) {
    int64_t s = a->ca[t] * w->i + a->cc[t];
    for (int r = 0; r < R; r++) s += a->ckey[r][t] * js[r];
    if (s < 0) return -INFINITY;
  }
  for (int r = 0; r < R; r++)
    if (js[r] < w->plo[r] || js[r] >= w->phi[r]) return -INFINITY;
  REAL s = 0;
  for (int64_t c = 0; c < a->d; c++) {
    REAL p = w->q[c * a->st[OQ][RC]];
    for (int r = 0; r < R; r++) p *= w->kb[r][js[r] * w->ksj[r] + c * w->ksc[r]];
    s += p;
  }
  if (w->post != 1) s *= w->post;
  if (a->capped) s = (REAL)a->cap * TANH(s);
  int64_t at = 0, ab = a->aa * w->i + a->ak;
  for (int r = 0; r < R; r++) at += js[r] * w->bsk[r], ab += w->abk[r] * js[r];
  if (w->brow) s += w->brow[at];
  if (a->alibi) s += (a->asign > 0 ? w->slope : -w->slope) * (REAL)ab;
  return s;
}

/* sum over key nest[lev] of (the sums inside it, or p) * its value, into
 * buf + lev * e: -O0's nesting sum(k: sum(j: p * v1) * v2), masked
 * tuples included (p = 0 there), so that 0 * inf and inf - inf give NaN
 * where they do at -O0. */
static ATTR void FN(walk_sum)(const FN(Walk) *w, int lev, int64_t *js) {
  const Attn *a = w->a;
  const int key = a->nest[lev];
  const int64_t e = a->e;
  REAL *o = w->buf + lev * e, *in = lev ? w->buf + (lev - 1) * e : NULL;
  for (int64_t x = 0; x < e; x++) o[x] = 0;
  for (js[key] = 0; js[key] < a->mk[key]; js[key]++) {
    const REAL *v = w->vb[key] + js[key] * w->vsj[key];
    if (lev == 0) {
      REAL p = EXP(FN(walk_score)(w, js) - w->sh) / w->l;
      for (int64_t x = 0; x < e; x++) o[x] += p * v[x * w->vsx[key]];
      continue;
    }
    FN(walk_sum)(w, lev - 1, js);
    for (int64_t x = 0; x < e; x++) o[x] += in[x] * v[x * w->vsx[key]];
  }
}

/* Order R >= 2, per query. The outer key tuples (j1 .. j(R-1)) a row
 * allows are visited in order, each key's range from the conditions whose
 * last key it is (masks become loop bounds: a masked tuple costs nothing),
 * and gathered in chunks of up to ch tuples with a non-empty range
 * [lo, hi) of the last key. Per chunk, over the union [L, H) of those
 * ranges: A = q * k1[j1] * .. (ch x d), S = A KR[L:H]ᵀ one GEMM (in
 * L1/L2), transforms and mask per row, the online softmax over the whole
 * chunk as one row, W = P VR[L:H] a second GEMM, then acc += W * v1[j1]
 * * .. per tuple.
 * Where a value is inf or NaN, -O0's result (NaN or inf) depends on its
 * order of operations: it adds 0 * v at masked tuples, and nests the
 * values' sums (sum(k: sum(j: p * v1) * v2)). Each batch element's values
 * are scanned once; if one is not finite, its rows are computed again
 * tuple by tuple in that order (walk_sum: as slow as -O0, only then),
 * with the max and sum found above. */
static ATTR int FN(piece_n)(void *env, int64_t lo, int64_t hi) {
  const Attn *a = env;
  const int R = a->order;
  const int64_t d = a->d, e = a->e, mR = a->mk[R - 1];
  int64_t T = 1;
  for (int r = 0; r + 1 < R; r++) T *= a->mk[r];
  int64_t ch = mR > 0 ? 16384 / mR : 64;
  ch = ch < 1 ? 1 : ch > 64 ? 64 : ch;
  REAL *A = malloc(sizeof(REAL) * (size_t)(ch * d + 1)), *S = malloc(sizeof(REAL) * (size_t)(ch * mR + 1));
  REAL *W = malloc(sizeof(REAL) * (size_t)(ch * e + 1)), *acc = malloc(sizeof(REAL) * (size_t)(e + 1));
  REAL *pk = malloc(sizeof(REAL) * (size_t)(mR * d + 1)), *pv = malloc(sizeof(REAL) * (size_t)(mR * e + 1));
  int64_t *tj = malloc(sizeof(int64_t) * (size_t)(ch * 6));   /* per tuple: keys 1..R-1, lo, hi */
  REAL *wbuf = malloc(sizeof(REAL) * (size_t)(R * e + 1));
  int st_ok = A && S && W && acc && pk && pv && tj && wbuf;
  int64_t cur = -1, ld_k = 1, ld_v = 1, off[5], plo[4], phi[4], total = T * mR;
  int vbad = 0;   /* this batch element's values hold an inf or NaN */
  const REAL *KR = NULL, *VR = NULL;
  const REAL *kbase[4], *vbase[4];
  int64_t ksj[4], ksc[4], vsj[4], vsx[4], bsk[4], abk[4];
  /* the scale goes into the transforms (never the GEMM: -O0 scales each score) */
  REAL post = (REAL)a->scale, slope = 0;
  for (int r = 0; r < R; r++) {
    bsk[r] = r ? a->bstx[r - 1] : a->st[OB][RJ];
    abk[r] = r ? a->abx[r - 1] : a->ab;
  }
  for (int64_t t = lo; t < hi && st_ok; t++) {
    int64_t bi = t / a->n, i = t % a->n;
    if (bi != cur) {   /* this batch element's operands; KR and VR packed once */
      int64_t c[4];
      cur = bi;
      batch_offsets(a, bi, off);
      batch_coords(a, bi, c);
      kbase[0] = (const REAL *)a->k + off[OK], vbase[0] = (const REAL *)a->v + off[OV];
      ksj[0] = a->st[OK][RJ], ksc[0] = a->st[OK][RC], vsj[0] = a->st[OV][RJ], vsx[0] = a->st[OV][RX];
      for (int r = 1; r < R; r++) {
        int64_t ko = 0, vo = 0;
        for (int b = 0; b < a->nb; b++) {
          int64_t kd = a->kdiv[r - 1][b], vd = a->vdiv[r - 1][b];
          ko += (kd > 1 ? c[b] / kd : c[b]) * a->kst[r - 1][2 + b];
          vo += (vd > 1 ? c[b] / vd : c[b]) * a->vst[r - 1][2 + b];
        }
        kbase[r] = (const REAL *)a->kx[r - 1] + ko, vbase[r] = (const REAL *)a->vx[r - 1] + vo;
        ksj[r] = a->kst[r - 1][0], ksc[r] = a->kst[r - 1][1], vsj[r] = a->vst[r - 1][0], vsx[r] = a->vst[r - 1][1];
      }
      KR = FN(block)(kbase[R - 1], ksj[R - 1], ksc[R - 1], mR, d, pk, &ld_k);
      VR = FN(block)(vbase[R - 1], vsj[R - 1], vsx[R - 1], mR, e, pv, &ld_v);
      pad_ranges(a, bi, plo, phi);
      slope = a->alibi ? (REAL)slope_of(a, bi, sizeof(REAL) == 4 ? TNS_F32 : TNS_F64) : 0;
      vbad = 0;
      for (int r = 0; r < R && !vbad; r++)
        for (int64_t p = 0; p < a->mk[r]; p++)
          for (int64_t x = 0; x < e; x++) vbad |= !isfinite(vbase[r][p * vsj[r] + x * vsx[r]]);
    }
    const REAL *q = (const REAL *)a->q + off[OQ] + i * a->st[OQ][RI];
    const REAL *brow = a->bias ? (const REAL *)a->bias + off[OB] + i * a->st[OB][RI] : NULL;
    REAL mx = -INFINITY, sh = 0, l = 0;
    for (int64_t x = 0; x < e; x++) acc[x] = 0;
    int64_t js[4], rlo[4], rhi[4], nt = 0, cl = mR, chi = 0, useful = 0;
    int lev = 0, hold = 0;
    tuple_range(a, 0, i, js, plo[0], phi[0], &rlo[0], &rhi[0]);
    js[0] = rlo[0];
    for (;;) {
      int last = js[lev] >= rhi[lev] && lev == 0;
      if (!last && js[lev] >= rhi[lev]) {   /* this key's range is done: the one before moves on */
        js[--lev]++;
        continue;
      }
      if (!last && lev < R - 2) {
        lev++;
        tuple_range(a, lev, i, js, plo[lev], phi[lev], &rlo[lev], &rhi[lev]);
        js[lev] = rlo[lev];
        continue;
      }
      if (!last) {   /* an outer tuple: the last key's range */
        int64_t *tr = tj + 6 * nt;
        tuple_range(a, R - 1, i, js, plo[R - 1], phi[R - 1], &tr[4], &tr[5]);
        js[lev]++;
        if (tr[4] == tr[5]) continue;
        for (int r = 0; r + 1 < R; r++) tr[r] = js[r] - (r == lev);
        /* ranges far apart (j == k): the chunk's union would be mostly
           masked scores; it is done first and this tuple starts the next */
        int64_t L2 = tr[4] < cl ? tr[4] : cl, H2 = tr[5] > chi ? tr[5] : chi;
        if (nt > 0 && (nt + 1) * (H2 - L2) > 2 * (useful + tr[5] - tr[4]) + 256) {
          hold = 1;
        } else {
          nt++, cl = L2, chi = H2, useful += tr[5] - tr[4];
        }
      }
      if (!hold && (nt == 0 || (!last && nt < ch))) {
        if (last) break;
        continue;
      }
      /* a chunk of nt tuples over the last keys [L, H) */
      int64_t L = mR, H = 0, nt_done = nt;
      for (int64_t r = 0; r < nt; r++) {
        const int64_t *tr = tj + 6 * r;
        REAL *ar = A + r * d;
        L = tr[4] < L ? tr[4] : L;
        H = tr[5] > H ? tr[5] : H;
        for (int64_t cc = 0; cc < d; cc++) ar[cc] = q[cc * a->st[OQ][RC]];
        for (int k = 0; k + 1 < R; k++) {
          const REAL *kr = kbase[k] + tr[k] * ksj[k];
          for (int64_t cc = 0; cc < d; cc++) ar[cc] *= kr[cc * ksc[k]];
        }
      }
      int64_t w = H - L;
      if (d > 0) GEMM(1, nt, w, d, 1.0, A, d, KR + L * ld_k, ld_k, 0.0, S, w);
      else memset(S, 0, sizeof(REAL) * (size_t)(nt * w));
      for (int64_t r = 0; r < nt; r++) {
        const int64_t *tr = tj + 6 * r;
        const REAL *br = brow;
        int64_t ab = a->aa * i + a->ak;
        for (int k = 0; k + 1 < R; k++) {
          if (br) br += tr[k] * bsk[k];
          ab += abk[k] * tr[k];
        }
        FN(tuple_scores)(a, S + r * w, w, L, tr[4], tr[5], post, br, bsk[R - 1], slope, ab, abk[R - 1]);
      }
      REAL alpha, sum = FN(row)(S, nt * w, 0, 0, nt * w, &mx, &sh, &alpha);   /* the chunk as one row */
      l = l * alpha + sum;
      if (alpha != 1)
        for (int64_t x = 0; x < e; x++) acc[x] *= alpha;
      if (e > 0) GEMM(0, nt, e, w, 1.0, S, w, VR + L * ld_v, ld_v, 0.0, W, e);
      for (int64_t r = 0; r < nt && e > 0; r++) {   /* acc += W[r] * v1[j1] * .. */
        const int64_t *tr = tj + 6 * r;
        REAL *wr = W + r * e;
        for (int k = 0; k + 1 < R; k++) {
          const REAL *vr = vbase[k] + tr[k] * vsj[k];
          for (int64_t x = 0; x < e; x++) wr[x] *= vr[x * vsx[k]];
        }
        for (int64_t x = 0; x < e; x++) acc[x] += wr[x];
      }
      nt = 0, cl = mR, chi = 0, useful = 0;
      if (hold) {   /* the held tuple begins the next chunk */
        memmove(tj, tj + 6 * nt_done, sizeof(int64_t) * 6);
        nt = 1, cl = tj[4], chi = tj[5], useful = chi - cl, hold = 0;
      }
      if (last) break;
    }
    REAL *o = (REAL *)a->o + off[OO] + i * a->st[OO][RI];
    for (int64_t x = 0; x < e; x++) o[x * a->st[OO][RX]] = total == 0 ? 0 : acc[x] / l;
    if (vbad && total > 0) {   /* again, in -O0's order */
      FN(Walk) wk = {a, i, q, brow, {0}, {0}, ksj, ksc, vsj, vsx, bsk, abk, plo, phi, post, slope, sh, l, wbuf};
      int64_t ks[4];
      memcpy(wk.kb, kbase, sizeof kbase);
      memcpy(wk.vb, vbase, sizeof vbase);
      FN(walk_sum)(&wk, R - 1, ks);
      for (int64_t x = 0; x < e; x++) o[x * a->st[OO][RX]] = wbuf[(R - 1) * e + x];
    }
    if (a->lse) {
      int64_t c[4], at = 0;
      batch_coords(a, bi, c);
      for (int r = 0; r < a->nb; r++) at += c[r] * a->lst[1 + r];
      ((REAL *)a->lse)[at + i * a->lst[0]] = sh + (REAL)log((double)l);
    }
  }
  free(A), free(S), free(W), free(acc), free(pk), free(pv), free(tj), free(wbuf);
  return st_ok ? TNS_OK : tns_error(TNS_ERR_OOM, "attention: out of memory");
}

#undef FN
#undef AT_CAT
#undef AT_CAT2
