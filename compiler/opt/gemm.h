/* gemm.h — recognising EINSUM ops that are (batched) matrix products
 * without a transposed copy (GemmShape, tir.h), and pure reorderings of
 * one tensor's axes. The layout pass records what they find on the op
 * (op->lowering); codegen and `tnsc explain` read that. */
#ifndef TNS_GEMM_H
#define TNS_GEMM_H
#include "tir.h"

/* 1 when op is such a product (f32 or f64), filling *g. */
int gemm_match(const TirOp *op, GemmShape *g);
/* 1 when op is out[i, j, k] = X[k, i, j], a pure reordering of X's axes
 * (rank >= 2, no diagonal, no prefix), filling perm: output axis k is
 * axis perm[k] of X (at most TNS_MAX_RANK entries). */
int gemm_permute_match(const TirOp *op, int *perm);

#endif
