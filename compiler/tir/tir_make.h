/* tir_make.h — constructors for TIR expressions and ops, shared by the
 * passes (and open to the builder): one place that knows which fields each
 * kind fills. The allocators under them (tir_expr_new, tir_op_new, ...)
 * are in tir.h. Every object lives in the arena given. */
#ifndef TNS_TIR_MAKE_H
#define TNS_TIR_MAKE_H
#include "tir.h"

/* A floating constant of type elem (fval only). */
TirExpr *tir_make_fconst(Arena *a, int elem, double v, Span sp);
/* x op y with a value of type elem (op: Op, ops.def). */
TirExpr *tir_make_binary(Arena *a, int op, int elem, TirExpr *x, TirExpr *y, Span sp);
/* builtin(x), a one-argument math builtin (B_EXP, B_ABS, ...). */
TirExpr *tir_make_math1(Arena *a, int builtin, TirExpr *x, Span sp);
/* cond ? x : y */
TirExpr *tir_make_where(Arena *a, TirExpr *cond, TirExpr *x, TirExpr *y, Span sp);
/* x converted to elem (always a CONVERT node). */
TirExpr *tir_make_convert(Arena *a, TirExpr *x, int elem, Span sp);
/* A size as an i64 value. */
TirExpr *tir_make_dim(Arena *a, Dim d, Span sp);
/* The scalar v. */
TirExpr *tir_make_read(Arena *a, TirVar *v, Span sp);
/* v[pos...]: pos has v->type->rank positions. */
TirExpr *tir_make_access(Arena *a, TirVar *v, TirPos *pos, Span sp);
/* op(idx[0..n): body), op a ReduceOp; idx is kept, not copied. */
TirExpr *tir_make_reduce(Arena *a, int op, TirIndex **idx, int n, TirExpr *body, Span sp);
/* One single-index position per index of order; they point into order,
 * which must outlive them. */
TirPos *tir_make_positions(Arena *a, TirIndex **order, int n);
/* out[order] = body, the output indices in loop order (n == 0: out is a
 * scalar, no positions). */
TirOp *tir_make_einsum(Arena *a, TirVar *out, TirIndex **order, int n, TirExpr *body, Span sp);

#endif
