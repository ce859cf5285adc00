/* gemm.h — recognising EINSUM ops that are (batched) matrix products
 * without a transposed copy: out[b, m, n] (+)= alpha * sum(k: A * B) with
 * each operand laid out as [batch, then its two blocks in either order].
 * Used by code generation (a runtime GEMM call) and by `tnsc explain`. */
#ifndef TNS_GEMM_H
#define TNS_GEMM_H
#include "tir.h"

typedef struct GemmShape {
  const TirVar *a, *b;        /* C = op(a) op(b) */
  int ta, tb;                 /* a stored [K, M], b stored [N, K] */
  Dim batch, m, n, k;
  int a_batched, b_batched;   /* 0: the same matrix for every batch element */
  const TirExpr *alpha;       /* NULL: 1 */
  int alpha_divides;          /* alpha is a divisor: C = (A B) / alpha */
} GemmShape;

/* 1 when op is such a product (f32 or f64), filling *g. */
int gemm_match(const TirOp *op, GemmShape *g);

#endif
