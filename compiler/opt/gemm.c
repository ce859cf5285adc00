/* gemm.c — the GEMM and the transposed-copy patterns of an EINSUM op. */
#include "gemm.h"
#include <string.h>
#include "tns_runtime.h"

enum { MAXI = 32 };

typedef struct Layout {
  TirIndex *idx[MAXI];
  int n;
} Layout;

static int has(const Layout *l, const TirIndex *ix) {
  for (int i = 0; i < l->n; i++)
    if (l->idx[i] == ix) return 1;
  return 0;
}

/* Splits sum(k: X * Y) (times or divided by an index-free scalar). */
static int product_core(const TirExpr *body, const TirExpr **prod, const TirExpr **alpha, int *divides) {
  body = tir_split_scale(body, alpha, divides);
  if (body->kind == TX_REDUCE && body->reduce == RED_SUM) body = body->a;
  if (body->kind != TX_BINARY || body->op != OP_MUL) return 0;
  *prod = body;
  return 1;
}

/* The sub-sequence of l made of indices in set s (in l's order). */
static void only(const Layout *l, const Layout *s, Layout *out) {
  out->n = 0;
  for (int i = 0; i < l->n; i++)
    if (has(s, l->idx[i])) out->idx[out->n++] = l->idx[i];
}

static int same_seq(const Layout *x, int at, const Layout *y) {
  for (int i = 0; i < y->n; i++)
    if (x->idx[at + i] != y->idx[i]) return 0;
  return 1;
}

static Dim product(const Layout *l) {
  Dim d = dim_const(1);
  for (int i = 0; i < l->n; i++) dim_mul(d, l->idx[i]->range, &d);
  return d;
}

/* Is x laid out as [batch, p, q] (flag 0) or [batch, q, p] (flag 1)? */
static int blocks(const Layout *x, const Layout *batch, const Layout *p, const Layout *q, int *flag) {
  if (x->n != batch->n + p->n + q->n || !same_seq(x, 0, batch)) return 0;
  if (same_seq(x, batch->n, p) && same_seq(x, batch->n + p->n, q)) { *flag = 0; return 1; }
  if (same_seq(x, batch->n, q) && same_seq(x, batch->n + q->n, p)) { *flag = 1; return 1; }
  return 0;
}

/* Tries out[batch, M, N] = a[batch, M|K] b[batch, K|N]. */
static int try_order(const Layout *o, const Layout *a, const Layout *b, GemmShape *g) {
  Layout batch = {0}, m = {0}, n = {0}, k = {0};
  for (int i = 0; i < o->n; i++) {
    TirIndex *ix = o->idx[i];
    if (has(a, ix) && has(b, ix)) batch.idx[batch.n++] = ix;
    else if (has(a, ix)) m.idx[m.n++] = ix;
    else if (has(b, ix)) n.idx[n.n++] = ix;
    else return 0;   /* a broadcast output index */
  }
  for (int i = 0; i < a->n; i++)
    if (!has(o, a->idx[i])) {
      if (!has(b, a->idx[i])) return 0;  /* summed in a alone */
      k.idx[k.n++] = a->idx[i];
    }
  for (int i = 0; i < b->n; i++)
    if (!has(o, b->idx[i]) && !has(a, b->idx[i])) return 0;
  /* nothing summed: an elementwise or outer product, one multiply per
   * element, which a loop does without a library call per 1 x 1 product */
  if (k.n == 0) return 0;
  /* out must be [batch, M, N] */
  if (!same_seq(o, 0, &batch) || !same_seq(o, batch.n, &m) || !same_seq(o, batch.n + m.n, &n)) return 0;
  Layout kb;
  only(b, &k, &kb);
  if (kb.n != k.n || !same_seq(&kb, 0, &k)) return 0;  /* K in the same order in both */
  if (!blocks(a, &batch, &m, &k, &g->ta) || !blocks(b, &batch, &k, &n, &g->tb)) return 0;
  g->batch = product(&batch);
  g->m = product(&m);
  g->n = product(&n);
  g->k = product(&k);
  return 1;
}

/* Tries out[P, M, N] = a[P, M|K] b[K|N] (or b[M|K] a[P, K|N]): a batch P
 * of a alone, the same b for every batch element (stride 0), e.g.
 * X[i, j, k] = V[j, b] T[i, b, k] with a = T — the mode products of a
 * Tucker or 4-index transform. */
static int try_broadcast(const Layout *o, const Layout *a, const Layout *b, GemmShape *g) {
  int np = 0;
  while (np < o->n && np < a->n && o->idx[np] == a->idx[np] && !has(b, o->idx[np])) np++;
  for (int p = 1; p <= np; p++) {   /* the shortest batch: the largest matrices */
    Layout o2 = {0}, a2 = {0}, pre = {0};
    for (int i = 0; i < p; i++) pre.idx[pre.n++] = o->idx[i];
    for (int i = p; i < o->n; i++) o2.idx[o2.n++] = o->idx[i];
    for (int i = p; i < a->n; i++) a2.idx[a2.n++] = a->idx[i];
    GemmShape h;
    memset(&h, 0, sizeof h);
    int a_left = try_order(&o2, &a2, b, &h) && dim_is_const(h.batch) && h.batch.k == 1;
    if (!a_left) {
      memset(&h, 0, sizeof h);
      if (!try_order(&o2, b, &a2, &h) || !(dim_is_const(h.batch) && h.batch.k == 1)) continue;
    }
    h.alpha = g->alpha;
    h.alpha_divides = g->alpha_divides;
    h.a_batched = a_left;
    h.b_batched = !a_left;
    *g = h;
    g->batch = product(&pre);
    return a_left ? 1 : 2;
  }
  return 0;
}

/* One position's indices, appended to idx (n so far): a single index, or
 * a group (s, j) whose ranges multiply to exactly the dimension — a
 * row-major split of it, the same memory as a view with one more axis. */
static int flat_pos(const TirPos *p, Dim dim, TirIndex **idx, int n, int max) {
  if (p->kind == TP_EXPR || n + p->n > max) return -1;
  if (p->kind == TP_INDEX) {
    if (p->idx[0]->prefix && dim_cmp(p->idx[0]->range, dim) != DIM_EQUAL) return -1;
  } else {
    Dim d = dim_const(1);
    for (int k = 0; k < p->n; k++)
      if (!dim_mul(d, p->idx[k]->range, &d)) return -1;
    if (dim_cmp(d, dim) != DIM_EQUAL) return -1;
  }
  for (int k = 0; k < p->n; k++) {
    for (int j = 0; j < n; j++)
      if (idx[j] == p->idx[k]) return -1;   /* a diagonal */
    idx[n++] = p->idx[k];
  }
  return n;
}

int gemm_flat_positions(const TirVar *v, const TirPos *pos, TirIndex **idx, int max) {
  int n = 0;
  if (v->type->rank == 0) return 0;
  for (int i = 0; i < v->type->rank; i++)
    if ((n = flat_pos(&pos[i], v->type->dims[i], idx, n, max)) < 0) return 0;
  return n;
}

int gemm_flat_access(const TirExpr *x, TirIndex **idx, int max) {
  return x->kind == TX_ACCESS ? gemm_flat_positions(x->var, x->pos, idx, max) : 0;
}

int gemm_match(const TirOp *op, GemmShape *g) {
  memset(g, 0, sizeof *g);
  const TirVar *out = op->out;
  if (op->kind != TO_EINSUM || !out || (out->type->elem != ELEM_F32 && out->type->elem != ELEM_F64)) return 0;
  const TirExpr *prod;
  if (!product_core(op->body, &prod, &g->alpha, &g->alpha_divides)) return 0;
  Layout o = {0}, a, b;
  if (out->type->rank && !(o.n = gemm_flat_positions(out, op->opos, o.idx, MAXI))) return 0;
  if (!(a.n = gemm_flat_access(prod->a, a.idx, MAXI)) || !(b.n = gemm_flat_access(prod->b, b.idx, MAXI))) return 0;
  if (prod->a->elem != out->type->elem || prod->b->elem != out->type->elem) return 0;
  /* += into an operand would read what it writes */
  if (op->accumulate && (prod->a->var == out || prod->b->var == out)) return 0;
  g->a_batched = g->b_batched = 1;
  if (try_order(&o, &a, &b, g)) { g->a = prod->a->var; g->b = prod->b->var; return 1; }
  if (try_order(&o, &b, &a, g)) { g->a = prod->b->var; g->b = prod->a->var; return 1; }
  /* try_broadcast says which side the batched operand ended up on */
  int side = try_broadcast(&o, &a, &b, g);
  if (side) { g->a = side == 1 ? prod->a->var : prod->b->var; g->b = side == 1 ? prod->b->var : prod->a->var; return 1; }
  side = try_broadcast(&o, &b, &a, g);
  if (side) { g->a = side == 1 ? prod->b->var : prod->a->var; g->b = side == 1 ? prod->a->var : prod->b->var; return 1; }
  return 0;
}

int gemm_permute_match(const TirOp *op, int *perm) {
  const TirVar *out = op->out;
  const TirExpr *x = op->body;
  if (op->accumulate || x->kind != TX_ACCESS || x->var == out || x->elem != out->type->elem) return 0;
  /* over the views: Y[z, (i1, i2)] = T[i2, z, i1] is a rank-3 reordering */
  TirIndex *oi[TNS_MAX_RANK], *xi[TNS_MAX_RANK];
  int r = gemm_flat_positions(out, op->opos, oi, TNS_MAX_RANK);
  if (r < 2 || gemm_flat_access(x, xi, TNS_MAX_RANK) != r) return 0;   /* no diagonal, no prefix */
  for (int k = 0; k < r; k++) {
    perm[k] = -1;
    for (int m = 0; m < r; m++)
      if (xi[m] == oi[k]) perm[k] = m;
    if (perm[k] < 0) return 0;
  }
  return r;
}
