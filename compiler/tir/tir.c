/* tir.c — constructors for TIR objects. */
#include "tir.h"
#include <string.h>

static const char *const expr_names[] = {
#define X(id, name) name,
  TIR_EXPR_KINDS(X)
#undef X
};
static const char *const op_names[] = {
#define X(id, name) name,
  TIR_OP_KINDS(X)
#undef X
};

const char *tir_expr_kind_name(int k) { return expr_names[k]; }
const char *tir_op_kind_name(int k) { return op_names[k]; }

TirVar *tir_var_new(Arena *a, TirFunc *f, const char *name, Type *t) {
  TirVar *v = arena_alloc(a, sizeof *v);
  v->id = f->vars.n;
  v->name = name;
  v->type = t;
  ptrvec_push(a, &f->vars, v);
  return v;
}

TirOp *tir_op_new(Arena *a, TirOpKind k, Span sp) {
  TirOp *op = arena_alloc(a, sizeof *op);
  op->kind = k;
  op->span = sp;
  return op;
}

void tir_block_append(Arena *a, TirBlock *b, TirOp *op) {
  ptrvec_push(a, (PtrVec *)b, op);
}

TirExpr *tir_expr_new(Arena *a, TirExprKind k, ElemType elem, Span sp) {
  TirExpr *e = arena_alloc(a, sizeof *e);
  e->kind = k;
  e->elem = elem;
  e->span = sp;
  return e;
}

TirIndex *tir_index_new(Arena *a, TirFunc *f, const char *name, Dim range) {
  TirIndex *ix = arena_alloc(a, sizeof *ix);
  ix->id = f->nindices++;
  ix->name = name;
  ix->range = range;
  return ix;
}

TirSize *tir_size_find(const TirFunc *f, const char *name) {
  for (int i = 0; i < f->sizes.n; i++) {
    TirSize *s = f->sizes.items[i];
    if (s->name == name) return s;
  }
  return NULL;
}

void tir_expr_visit(const TirExpr *x, void (*fn)(const TirExpr *, void *), void *ud) {
  if (!x) return;
  fn(x, ud);
  if (x->kind == TX_ACCESS)
    for (int i = 0; i < x->var->type->rank; i++)
      if (x->pos[i].kind == TP_EXPR) tir_expr_visit(x->pos[i].e, fn, ud);
  tir_expr_visit(x->a, fn, ud);
  tir_expr_visit(x->b, fn, ud);
  tir_expr_visit(x->c, fn, ud);
  for (int i = 0; x->args && i < x->n; i++) tir_expr_visit(x->args[i], fn, ud);
}

static void note_unmovable(const TirExpr *x, void *ud) {
  if (x->kind == TX_CALL || (x->kind == TX_MATH && x->math == B_TIME)) *(int *)ud = 0;
}

int tir_expr_movable(const TirExpr *x) {
  int ok = 1;
  tir_expr_visit(x, note_unmovable, &ok);
  return ok;
}

/* Whether x depends on an index (an index value, an access, a reduction):
 * otherwise it is a scalar that can be computed once. */
int tir_expr_uses_index(const TirExpr *x) {
  if (!x) return 0;
  if (x->kind == TX_INDEX || x->kind == TX_ACCESS || x->kind == TX_REDUCE) return 1;
  if (tir_expr_uses_index(x->a) || tir_expr_uses_index(x->b) || tir_expr_uses_index(x->c)) return 1;
  for (int i = 0; x->args && i < x->n; i++)
    if (tir_expr_uses_index(x->args[i])) return 1;
  return 0;
}

/* body = inner "*" s | inner "/" s with inner a reduction and s free of
 * indices: returns inner and the scalar (computed once, e.g. a GEMM's
 * alpha); otherwise body itself with *scale NULL. */
const TirExpr *tir_split_scale(const TirExpr *body, const TirExpr **scale, int *divides) {
  *scale = NULL;
  *divides = 0;
  if (body->kind == TX_BINARY && (body->op == OP_MUL || body->op == OP_DIV) && body->a->kind == TX_REDUCE &&
      !tir_expr_uses_index(body->b)) {
    *scale = body->b;
    *divides = body->op == OP_DIV;
    return body->a;
  }
  return body;
}

/* The indices of an access whose positions are all single, distinct
 * indices (rank 1..max), else 0: how x reads memory, for GEMM layouts. */
int tir_plain_access(const TirExpr *x, TirIndex **idx, int max) {
  if (x->kind != TX_ACCESS || x->var->type->rank == 0 || x->var->type->rank > max) return 0;
  int n = x->var->type->rank;
  for (int i = 0; i < n; i++) {
    if (x->pos[i].kind != TP_INDEX) return 0;
    idx[i] = x->pos[i].idx[0];
    if (idx[i]->prefix && dim_cmp(idx[i]->range, x->var->type->dims[i]) != DIM_EQUAL) return 0;
    for (int j = 0; j < i; j++)
      if (idx[j] == idx[i]) return 0;
  }
  return n;
}

static void count_read(const TirExpr *x, void *ud) {
  TirUses *u = ud;
  if ((x->kind == TX_ACCESS || x->kind == TX_READ) && x->var == u->v) u->reads++;
}

void tir_uses_expr(const TirExpr *x, TirUses *u) { tir_expr_visit(x, count_read, u); }

void tir_uses_op(const TirOp *op, TirUses *u) {
  tir_expr_visit(op->body, count_read, u);
  tir_expr_visit(op->hi, count_read, u);
  for (int i = 0; i < op->nelems; i++) tir_expr_visit(op->elems[i], count_read, u);
  for (int i = 0; op->opos && op->out && i < op->out->type->rank; i++)
    if (op->opos[i].kind == TP_EXPR) tir_expr_visit(op->opos[i].e, count_read, u);
  for (int i = 0; i < op->nargs; i++) u->reads += op->args && op->args[i] == u->v;
  for (int i = 0; i < op->nresults; i++) u->writes += op->results[i] == u->v;
  if (op->out == u->v) {
    u->writes++;
    u->reads += op->accumulate || op->partial;
  }
  tir_uses_block(&op->body_ops, 0, u);
  tir_uses_block(&op->else_ops, 0, u);   /* IF's else, WHILE's condition */
}

void tir_uses_block(const TirBlock *b, int from, TirUses *u) {
  for (int i = from; i < b->n; i++) tir_uses_op(b->ops[i], u);
}

TirUses tir_uses_func(const TirFunc *f, const TirVar *v) {
  TirUses u = {v, 0, 0};
  tir_uses_block(&f->body, 0, &u);
  return u;
}
