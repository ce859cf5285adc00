/* cg_gemm.c — an EINSUM with GEMM shape (gemm.h) becomes one call of the
 * runtime's tns_gemm (OpenBLAS for large products) instead of a loop
 * nest. Only at -O1 and above: -O0 stays the naive reference. */
#include "cg_int.h"
#include "gemm.h"
#include "tns_runtime.h"

int cg_try_gemm(Cg *g, const TirOp *op) {
  GemmShape s;
  if (g->opt->opt_level == 0 || !gemm_match(op, &s)) return 0;
  const TirVar *c = op->out;
  LLVMValueRef alpha = LLVMConstReal(g->f64, 1.0);
  if (s.alpha) {
    alpha = cg_convert(g, cg_expr(g, s.alpha), s.alpha->elem, ELEM_F64);
    if (s.alpha_divides) alpha = LLVMBuildFDiv(g->b, LLVMConstReal(g->f64, 1.0), alpha, "alpha");
  }
  LLVMValueRef cbuf = op->accumulate || c->type->rank == 0 ? NULL : cg_alloc(g, c->type);
  LLVMValueRef scalar = c->type->rank == 0 ? cg_entry_alloca(g, cg_reg_type(g, c->type->elem), "dot") : NULL;
  LLVMValueRef dst = cbuf ? cbuf : scalar ? scalar : LLVMBuildLoad2(g->b, g->ptr, g->slot[c->id], "C");
  if (scalar) LLVMBuildStore(g->b, cg_zero(g, c->type->elem), scalar);
  LLVMValueRef A = LLVMBuildLoad2(g->b, g->ptr, g->slot[s.a->id], "A");
  LLVMValueRef B = LLVMBuildLoad2(g->b, g->ptr, g->slot[s.b->id], "B");
  LLVMTypeRef pt[] = {g->i32, g->i64, g->i32, g->i32, g->i64, g->i64, g->i64, g->f64, g->ptr, g->ptr, g->f64, g->ptr};
  LLVMValueRef args[] = {cg_dtype(g, c->type->elem), cg_dim(g, s.batch), LLVMConstInt(g->i32, (unsigned)s.ta, 0),
                         LLVMConstInt(g->i32, (unsigned)s.tb, 0), cg_dim(g, s.m), cg_dim(g, s.n), cg_dim(g, s.k),
                         alpha, A, B, LLVMConstReal(g->f64, op->accumulate ? 1.0 : 0.0), dst};
  LLVMValueRef st = cg_call(g, "tns_gemm", g->i32, pt, args, 12);
  if (cbuf) cg_replace_buffer(g, c, cbuf);
  cg_check_status(g, st, "gemm.ok");
  if (scalar) {
    LLVMValueRef v = LLVMBuildLoad2(g->b, cg_reg_type(g, c->type->elem), scalar, "dot");
    if (op->accumulate)
      v = cg_add(g, c->type->elem, LLVMBuildLoad2(g->b, cg_reg_type(g, c->type->elem), g->slot[c->id], "acc"), v);
    LLVMBuildStore(g->b, v, g->slot[c->id]);
  }
  return 1;
}
