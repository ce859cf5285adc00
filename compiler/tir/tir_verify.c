/* tir_verify.c — structural checks of TIR, run between passes in debug
 * builds and by the tests. Each problem is printed on one line. */
#include "tir.h"

typedef struct Verifier {
  FILE *out;
  int problems;
  const TirFunc *fn;
} Verifier;

static void problem(Verifier *v, const char *what, const TirOp *op) {
  v->problems++;
  if (v->out)
    fprintf(v->out, "tir: %s: %s (op %s at line %d)\n", v->fn->name, what,
            op ? tir_op_kind_name(op->kind) : "-", op ? op->span.line : 0);
}

static void check_pos(Verifier *v, const TirPos *p, const TirOp *op);

static void check_expr(Verifier *v, const TirExpr *x, const TirOp *op) {
  if (!x) { problem(v, "missing expression", op); return; }
  switch (x->kind) {
  case TX_ACCESS:
    if (!x->var || !x->pos) { problem(v, "access without a variable", op); return; }
    for (int i = 0; i < x->var->type->rank; i++) check_pos(v, &x->pos[i], op);
    break;
  case TX_READ:
    if (!x->var || x->var->type->rank != 0) problem(v, "read of a non-scalar", op);
    break;
  case TX_INDEX:
    if (!x->idx || !x->idx[0] || x->idx[0]->id >= v->fn->nindices) problem(v, "bad index", op);
    break;
  case TX_REDUCE:
    for (int i = 0; i < x->n; i++)
      if (!x->idx[i]) problem(v, "reduction over a missing index", op);
    check_expr(v, x->a, op);
    break;
  case TX_UNARY: case TX_CONVERT: check_expr(v, x->a, op); break;
  case TX_BINARY: check_expr(v, x->a, op); check_expr(v, x->b, op); break;
  case TX_WHERE: check_expr(v, x->a, op); check_expr(v, x->b, op); check_expr(v, x->c, op); break;
  case TX_MATH: case TX_CALL:
    for (int i = 0; i < x->n; i++) check_expr(v, x->args[i], op);
    if (x->kind == TX_CALL && !x->fn) problem(v, "call without a function", op);
    break;
  default: break;
  }
}

static void check_pos(Verifier *v, const TirPos *p, const TirOp *op) {
  if (p->kind == TP_EXPR) { check_expr(v, p->e, op); return; }
  if (p->n < 1 || !p->idx) { problem(v, "empty index position", op); return; }
  for (int i = 0; i < p->n; i++)
    if (!p->idx[i]) problem(v, "missing index in a position", op);
}

static void check_block(Verifier *v, const TirBlock *b);

static void check_op(Verifier *v, const TirOp *op) {
  switch (op->kind) {
  case TO_EINSUM:
    if (!op->out) { problem(v, "einsum without output", op); return; }
    for (int i = 0; i < op->out->type->rank; i++) check_pos(v, &op->opos[i], op);
    check_expr(v, op->body, op);
    break;
  case TO_CALL:
    if (!op->fn || op->nargs != op->fn->params.n) problem(v, "call with the wrong number of arguments", op);
    if (op->fn && op->nresults != op->fn->results.n) problem(v, "call with the wrong number of results", op);
    break;
  case TO_LITERAL:
    for (int i = 0; i < op->nelems; i++) check_expr(v, op->elems[i], op);
    break;
  case TO_FOR: check_expr(v, op->lo, op); check_expr(v, op->hi, op); check_block(v, &op->body_ops); break;
  case TO_WHILE: check_block(v, &op->cond_ops); check_expr(v, op->cond, op); check_block(v, &op->body_ops); break;
  case TO_IF: check_expr(v, op->cond, op); check_block(v, &op->body_ops); check_block(v, &op->else_ops); break;
  case TO_SIZE:
    check_expr(v, op->value, op);
    if (op->nbind != 1 || !tir_size_find(v->fn, op->bind[0])) problem(v, "size op without its size", op);
    break;
  default: break;
  }
}

static void check_block(Verifier *v, const TirBlock *b) {
  for (int i = 0; i < b->n; i++) check_op(v, b->ops[i]);
}

int tir_verify(const TirProgram *p, FILE *out) {
  Verifier v = {out, 0, NULL};
  for (int i = 0; i < p->funcs.n; i++) {
    v.fn = p->funcs.items[i];
    check_block(&v, &v.fn->body);
  }
  return v.problems;
}
