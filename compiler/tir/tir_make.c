/* tir_make.c — constructors for TIR expressions and ops (tir_make.h). */
#include "tir_make.h"

TirExpr *tir_make_fconst(Arena *a, int elem, double v, Span sp) {
  TirExpr *x = tir_expr_new(a, TX_CONST, elem, sp);
  x->fval = v;
  return x;
}

TirExpr *tir_make_binary(Arena *a, int op, int elem, TirExpr *x, TirExpr *y, Span sp) {
  TirExpr *e = tir_expr_new(a, TX_BINARY, elem, sp);
  e->op = op;
  e->a = x;
  e->b = y;
  return e;
}

TirExpr *tir_make_math1(Arena *a, int builtin, TirExpr *x, Span sp) {
  TirExpr *e = tir_expr_new(a, TX_MATH, x->elem, sp);
  e->op = builtin;
  e->n = 1;
  e->args = arena_alloc(a, sizeof(TirExpr *) * 2);
  e->args[0] = x;
  return e;
}

TirExpr *tir_make_where(Arena *a, TirExpr *cond, TirExpr *x, TirExpr *y, Span sp) {
  TirExpr *e = tir_expr_new(a, TX_WHERE, x->elem, sp);
  e->a = cond;
  e->b = x;
  e->c = y;
  return e;
}

TirExpr *tir_make_convert(Arena *a, TirExpr *x, int elem, Span sp) {
  TirExpr *e = tir_expr_new(a, TX_CONVERT, elem, sp);
  e->a = x;
  return e;
}

TirExpr *tir_make_dim(Arena *a, Dim d, Span sp) {
  TirExpr *e = tir_expr_new(a, TX_DIM, ELEM_I64, sp);
  e->dim = d;
  return e;
}

TirExpr *tir_make_read(Arena *a, TirVar *v, Span sp) {
  TirExpr *e = tir_expr_new(a, TX_READ, v->type->elem, sp);
  e->var = v;
  return e;
}

TirExpr *tir_make_access(Arena *a, TirVar *v, TirPos *pos, Span sp) {
  TirExpr *e = tir_expr_new(a, TX_ACCESS, v->type->elem, sp);
  e->var = v;
  e->pos = pos;
  return e;
}

TirExpr *tir_make_reduce(Arena *a, int op, TirIndex **idx, int n, TirExpr *body, Span sp) {
  TirExpr *e = tir_expr_new(a, TX_REDUCE, body->elem, sp);
  e->op = op;
  e->idx = idx;
  e->n = n;
  e->a = body;
  return e;
}

TirPos *tir_make_positions(Arena *a, TirIndex **order, int n) {
  TirPos *pos = arena_alloc(a, sizeof(TirPos) * (size_t)(n + 1));
  for (int i = 0; i < n; i++) {
    pos[i].kind = TP_INDEX;
    pos[i].n = 1;
    pos[i].idx = &order[i];
  }
  return pos;
}

TirOp *tir_make_einsum(Arena *a, TirVar *out, TirIndex **order, int n, TirExpr *body, Span sp) {
  TirOp *op = tir_op_new(a, TO_EINSUM, sp);
  op->out = out;
  op->oidx = order;
  op->noidx = n;
  op->opos = n ? tir_make_positions(a, order, n) : NULL;
  op->body = body;
  return op;
}
