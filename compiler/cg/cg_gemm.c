/* cg_gemm.c — an EINSUM the layout pass marked TL_GEMM becomes one call of
 * the runtime's tns_gemm (OpenBLAS for large products) instead of a loop
 * nest, one marked TL_PERMUTE one tiled tns_permute call. */
#include "cg_int.h"
#include "gemm.h"
#include "tns_runtime.h"

void cg_gemm(Cg *g, const TirOp *op) {
  GemmShape s = *op->gemm;
  const TirVar *c = op->out;
  LLVMValueRef alpha = LLVMConstReal(g->f64, 1.0);
  if (s.alpha) {
    alpha = cg_convert(g, cg_expr(g, s.alpha), s.alpha->elem, ELEM_F64);
    if (s.alpha_divides) alpha = LLVMBuildFDiv(g->b, LLVMConstReal(g->f64, 1.0), alpha, "alpha");
  }
  /* beta = 0: the product writes every element of a fresh C */
  LLVMValueRef cbuf = op->accumulate || c->type->rank == 0 ? NULL : cg_alloc_result(g, c, 0);
  if (cbuf) cg_pending(g, c, cbuf);
  LLVMValueRef scalar = c->type->rank == 0 ? cg_entry_alloca(g, cg_reg_type(g, c->type->elem), "dot") : NULL;
  LLVMValueRef dst = cbuf ? cbuf : scalar ? scalar : LLVMBuildLoad2(g->b, g->ptr, g->slot[c->id], "C");
  if (scalar) LLVMBuildStore(g->b, cg_zero(g, c->type->elem), scalar);
  LLVMValueRef A = LLVMBuildLoad2(g->b, g->ptr, g->slot[s.a->id], "A");
  LLVMValueRef B = LLVMBuildLoad2(g->b, g->ptr, g->slot[s.b->id], "B");
  LLVMTypeRef pt[] = {g->i32, g->i64, g->i32, g->i32, g->i64, g->i64, g->i64, g->f64, g->ptr, g->i32, g->ptr, g->i32,
                      g->f64, g->ptr};
  LLVMValueRef args[] = {cg_dtype(g, c->type->elem), cg_dim(g, s.batch), LLVMConstInt(g->i32, (unsigned)s.ta, 0),
                         LLVMConstInt(g->i32, (unsigned)s.tb, 0), cg_dim(g, s.m), cg_dim(g, s.n), cg_dim(g, s.k),
                         alpha, A, LLVMConstInt(g->i32, (unsigned)s.a_batched, 0), B,
                         LLVMConstInt(g->i32, (unsigned)s.b_batched, 0), LLVMConstReal(g->f64, op->accumulate ? 1.0 : 0.0),
                         dst};
  LLVMValueRef st = cg_call(g, "tns_gemm_batched", g->i32, pt, args, 14);
  if (cbuf) cg_replace_buffer(g, c, cbuf);
  cg_check_status(g, st, "gemm.ok");
  if (scalar) {
    LLVMValueRef v = LLVMBuildLoad2(g->b, cg_reg_type(g, c->type->elem), scalar, "dot");
    if (op->accumulate)
      v = cg_add(g, c->type->elem, LLVMBuildLoad2(g->b, cg_reg_type(g, c->type->elem), g->slot[c->id], "acc"), v);
    LLVMBuildStore(g->b, v, g->slot[c->id]);
  }
}

/* out[i, j, k] = X[k, i, j]: a pure reordering of X's axes (the layout
 * pass's copies), out axis k being axis op->perm[k] of X, both seen
 * through grouped positions as views (X[z, (j1, j2)] is [s, n1, n2]). */
void cg_permute(Cg *g, const TirOp *op) {
  const TirVar *out = op->out;
  const TirExpr *x = op->body;
  const int *perm = op->perm;
  TirIndex *xi[TNS_MAX_RANK];
  int r = gemm_flat_access(x, xi, TNS_MAX_RANK);
  LLVMValueRef dims = cg_entry_alloca(g, LLVMArrayType2(g->i64, (unsigned)r), "dims");
  LLVMValueRef pv = cg_entry_alloca(g, LLVMArrayType2(g->i32, (unsigned)r), "perm");
  for (int k = 0; k < r; k++) {
    LLVMValueRef at = LLVMConstInt(g->i64, (unsigned long long)k, 0);
    LLVMBuildStore(g->b, cg_dim(g, xi[k]->range), LLVMBuildGEP2(g->b, g->i64, dims, &at, 1, "d"));
    LLVMBuildStore(g->b, LLVMConstInt(g->i32, (unsigned long long)perm[k], 0), LLVMBuildGEP2(g->b, g->i32, pv, &at, 1, "p"));
  }
  LLVMValueRef buf = cg_alloc_result(g, out, 0);   /* every element copied */
  cg_pending(g, out, buf);
  LLVMValueRef src = LLVMBuildLoad2(g->b, g->ptr, g->slot[x->var->id], "src");
  LLVMTypeRef pt[] = {g->i64, g->i32, g->ptr, g->ptr, g->ptr, g->ptr};
  LLVMValueRef args[] = {LLVMConstInt(g->i64, (unsigned long long)elem_size(out->type->elem), 0),
                         LLVMConstInt(g->i32, (unsigned long long)r, 0), dims, pv, src, buf};
  LLVMValueRef st = cg_call(g, "tns_permute", g->i32, pt, args, 6);
  cg_replace_buffer(g, out, buf);
  cg_check_status(g, st, "permute.ok");
}
