/* hoist.c — reductions computed once per value of the indices they use.
 *
 * Needs: TIR from tir_build. Runs before `contract`: a softmax split
 * here leaves a product the contract pass can order (softmax(j: S) *
 * V[j, x] becomes a matrix product). Nested sums of products stay for
 * contract: their inner sums use an index of the outer sum, and only
 * reductions over the statement's own indices move.
 * Guarantees: a reduction inside an EINSUM body whose value depends on
 * fewer of the enclosing indices (the statement's and those of enclosing
 * reductions) than the loops around it — `S[i, j] / sum(k: S[i, k])`,
 * `softmax(j: S[i, j])` — is computed by an EINSUM of its own into a
 * temporary over the indices it uses (a subset of the statement's own,
 * so it is never larger than the result), just before the statement, and read
 * from there. softmax(J: e) becomes M = max(J: e), Z = sum(J: exp(e -
 * sh(M))) and exp(e - sh(M)) / Z at the current J, sh(m) = 0 where m is
 * infinite (the lowering cg_expr.c gives it), so a row of softmax costs
 * O(row) instead of O(row²). Bodies that call user functions or time()
 * stay as they are. */
#include <math.h>
#include <string.h>
#include "passes.h"
#include "tir_make.h"

enum { MAXB = 64 };

/* The indices bound around an expression, in loop order. */
typedef struct Bound {
  TirIndex *idx[MAXB];
  int n;
} Bound;

typedef struct Hoist {
  TirProgram *p;
  TirFunc *f;
  TirBlock *out;
  Span span;
  Bound outs;   /* the statement's own indices */
} Hoist;

static int has(const Bound *b, const TirIndex *ix) {
  for (int i = 0; i < b->n; i++)
    if (b->idx[i] == ix) return 1;
  return 0;
}

static void add(Bound *b, TirIndex *ix) {
  if (!has(b, ix) && b->n < MAXB) b->idx[b->n++] = ix;
}

static void note_index(const TirExpr *x, void *ud) {
  Bound *u = ud;
  if (x->kind == TX_INDEX) add(u, x->idx[0]);
  if (x->kind == TX_ACCESS)
    for (int i = 0; i < x->var->type->rank; i++)
      for (int k = 0; x->pos[i].kind != TP_EXPR && k < x->pos[i].n; k++) add(u, x->pos[i].idx[k]);
}

/* The indices of x not bound by x itself, in the order of around; 0 when
 * x must not move (a call, time()). */
static int free_of(const TirExpr *x, const Bound *around, Bound *fr) {
  Bound u = {0};
  if (!tir_expr_movable(x->a)) return 0;
  tir_expr_visit(x->a, note_index, &u);
  fr->n = 0;
  for (int i = 0; i < around->n; i++)
    if (has(&u, around->idx[i])) add(fr, around->idx[i]);
  return 1;
}

static TirExpr *binary(Hoist *h, int op, int elem, TirExpr *a, TirExpr *b) {
  return tir_make_binary(h->p->arena, op, elem, a, b, h->span);
}

static TirExpr *math1(Hoist *h, int builtin, TirExpr *a) { return tir_make_math1(h->p->arena, builtin, a, h->span); }

static TirExpr *fconst(Hoist *h, int elem, double v) { return tir_make_fconst(h->p->arena, elem, v, h->span); }

/* A copy of the indices of fr, for positions and loops to point into. */
static TirIndex **order_of(Hoist *h, const Bound *fr) {
  TirIndex **o = arena_alloc(h->p->arena, sizeof(TirIndex *) * (size_t)(fr->n + 1));
  memcpy(o, fr->idx, sizeof(TirIndex *) * (size_t)fr->n);
  return o;
}

/* t[fr] as an expression (a read when fr is empty). */
static TirExpr *read_temp(Hoist *h, TirVar *t, const Bound *fr) {
  if (fr->n == 0) return tir_make_read(h->p->arena, t, h->span);
  return tir_make_access(h->p->arena, t, tir_make_positions(h->p->arena, order_of(h, fr), fr->n), h->span);
}

static void hoist_op(Hoist *h, TirOp *op);

/* t[fr] = body, appended (after what its own body hoists); returns t. */
static TirVar *temp_einsum(Hoist *h, const Bound *fr, TirExpr *body) {
  Dim dims[MAXB];
  for (int i = 0; i < fr->n; i++) dims[i] = fr->idx[i]->range;
  Type *ty = fr->n ? type_tensor(h->p->arena, body->elem, fr->n, dims) : type_scalar(h->p->arena, body->elem);
  TirVar *t = tir_var_new(h->p->arena, h->f, NULL, ty);
  TirOp *op = tir_make_einsum(h->p->arena, t, order_of(h, fr), fr->n, body, h->span);
  hoist_op(h, op);
  tir_block_append(h->p->arena, h->out, op);
  return t;
}

/* sh(m) = where(abs(m) == inf, 0, m) */
static TirExpr *finite_shift(Hoist *h, TirExpr *m) {
  int e = m->elem;
  TirExpr *inf = binary(h, OP_EQ, ELEM_BOOL, math1(h, B_ABS, m), fconst(h, e, INFINITY));
  return tir_make_where(h->p->arena, inf, fconst(h, e, 0.0), m, h->span);
}

static TirExpr *reduce_of(Hoist *h, const TirExpr *like, int op, TirExpr *body) {
  return tir_make_reduce(h->p->arena, op, like->idx, like->n, body, h->span);
}

/* softmax(J: e) -> exp(e - sh(M[fr])) / Z[fr] */
static TirExpr *split_softmax(Hoist *h, TirExpr *x, const Bound *fr) {
  TirVar *m = temp_einsum(h, fr, reduce_of(h, x, RED_MAX, x->a));
  TirExpr *shifted = binary(h, OP_SUB, x->elem, x->a, finite_shift(h, read_temp(h, m, fr)));
  TirVar *z = temp_einsum(h, fr, reduce_of(h, x, RED_SUM, math1(h, B_EXP, shifted)));
  TirExpr *again = binary(h, OP_SUB, x->elem, x->a, finite_shift(h, read_temp(h, m, fr)));
  return binary(h, OP_DIV, x->elem, math1(h, B_EXP, again), read_temp(h, z, fr));
}

/* Rewrites x (and below), around: the indices bound outside x. */
static TirExpr *walk(Hoist *h, TirExpr *x, const Bound *around) {
  if (!x) return x;
  if (x->kind == TX_REDUCE) {
    Bound inner = *around, fr;
    for (int i = 0; i < x->n; i++)
      if (x->reduce != RED_SOFTMAX) add(&inner, x->idx[i]);
    x->a = walk(h, x->a, &inner);
    if (!free_of(x, around, &fr)) return x;
    for (int i = 0; x->reduce == RED_SOFTMAX && i < x->n; i++)   /* its indices are the current ones */
      for (int k = 0; k < fr.n; k++)
        if (fr.idx[k] == x->idx[i]) fr.idx[k--] = fr.idx[--fr.n];
    /* Only over the statement's own indices: the temporary is then no
     * larger than the result (an enclosing sum's index could make it far
     * larger than what is computed on the fly). */
    for (int k = 0; k < fr.n; k++)
      if (!has(&h->outs, fr.idx[k])) return x;
    if (x->reduce == RED_SOFTMAX) return split_softmax(h, x, &fr);
    if (fr.n == around->n) return x;   /* it depends on every loop around it */
    return read_temp(h, temp_einsum(h, &fr, x), &fr);
  }
  x->a = walk(h, x->a, around);
  x->b = walk(h, x->b, around);
  x->c = walk(h, x->c, around);
  for (int i = 0; x->args && i < x->n; i++) x->args[i] = walk(h, x->args[i], around);
  return x;
}

static void hoist_op(Hoist *h, TirOp *op) {
  if (op->kind != TO_EINSUM || !op->out) return;
  Bound around = {0};
  for (int i = 0; i < op->noidx; i++) add(&around, op->oidx[i]);
  Span saved = h->span;
  Bound saved_outs = h->outs;
  h->span = op->span;
  h->outs = around;
  op->body = walk(h, op->body, &around);
  h->span = saved;
  h->outs = saved_outs;
}

static void hoist_block(TirProgram *p, TirFunc *f, TirBlock *b) {
  TirBlock nb = {0};
  Hoist h = {p, f, &nb, span_none(), {{0}, 0}};
  for (int i = 0; i < b->n; i++) {
    TirOp *op = b->ops[i];
    hoist_block(p, f, &op->body_ops);
    hoist_block(p, f, &op->else_ops);
    hoist_op(&h, op);
    tir_block_append(p->arena, &nb, op);
  }
  *b = nb;
}

void pass_hoist(TirProgram *p, const PassOptions *o) {
  (void)o;
  for (int i = 0; i < p->funcs.n; i++) {
    TirFunc *f = p->funcs.items[i];
    hoist_block(p, f, &f->body);
  }
}
