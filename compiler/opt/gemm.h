/* gemm.h — recognising EINSUM ops that are (batched) matrix products
 * without a transposed copy (GemmShape, tir.h), and pure reorderings of
 * one tensor's axes. The layout pass records what they find on the op
 * (op->lowering); codegen and `tnsc explain` read that. */
#ifndef TNS_GEMM_H
#define TNS_GEMM_H
#include "tir.h"

/* The indices of positions pos of v in storage order, a grouped position
 * (s, j) that splits its dimension exactly giving its indices in turn
 * (A[i, (s, j)] of a row-major A[h, 4*f] reads the view [h, 4, f]); 0 when
 * a position is computed, an index repeats, or an index covers only a
 * prefix of its dimension. gemm_flat_access: the same for an access. */
int gemm_flat_positions(const TirVar *v, const TirPos *pos, TirIndex **idx, int max);
int gemm_flat_access(const TirExpr *x, TirIndex **idx, int max);
/* 1 when op is such a product (f32 or f64), filling *g. */
int gemm_match(const TirOp *op, GemmShape *g);
/* When op is out[i, j, k] = X[k, i, j], a pure reordering of X's axes
 * (seen through grouped positions as views; rank >= 2, no diagonal, no
 * prefix): the rank of the views, filling perm: output axis k is axis
 * perm[k] of X's view (at most TNS_MAX_RANK entries). Else 0. */
int gemm_permute_match(const TirOp *op, int *perm);

#endif
