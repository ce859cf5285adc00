/* structure.c — Kronecker and Khatri-Rao products are never materialised
 * for the contractions that read them.
 *
 * Needs: TIR from tir_build. Runs first, so that contract sees the factors.
 * A structured definition is an EINSUM with at least one grouped output
 * position whose body is a product of plain reads: what tir_build makes of
 * kron(A, B, ...) and khatri_rao(B, C, ...) —
 *   K[(a0, a1), (b0, b1)] = A[a0, b0] * B[a1, b1].
 * Guarantees: every read K[r, c] of such a K inside a later EINSUM of the
 * same block (or of a region nested in it) whose indices r, c are used
 * there only as positions is replaced by the product of factors, and r, c
 * by groups of fresh indices over the factors' dimensions everywhere in
 * that EINSUM: y[r] = K[r, c] * x[c] becomes y[(r0, r1)] = A[r0, c0] *
 * B[r1, c1] * x[(c0, c1)], which the contract pass orders as two small
 * products. A read at constant positions becomes the factors' reads at
 * constant positions (K[5, 4] = A[2, 1] * B[1, 0] for 2 x 4 B). K itself is computed only when something else still reads it
 * (print, save, a return, an elementwise use); the decision and its reason
 * are recorded for `tnsc explain` (p->structures). Factors written between
 * the definition and a read, and an index whose split differs between two
 * products, keep the dense read. */
#include <string.h>
#include "gemm.h"
#include "passes.h"

enum { MAXS = 16, MAXG = 8 };

/* ---- the definition ---- */

/* x is a product of reads at single indices (and scalars); *n counts
 * the reads. */
static int plain_product(const TirExpr *x, int *n) {
  switch (x->kind) {
  case TX_CONST: case TX_READ: return 1;
  case TX_CONVERT: return plain_product(x->a, n);
  case TX_BINARY: return x->op == OP_MUL && plain_product(x->a, n) && plain_product(x->b, n);
  case TX_ACCESS:
    for (int i = 0; i < x->var->type->rank; i++)
      if (x->pos[i].kind != TP_INDEX) return 0;
    (*n)++;
    return 1;
  default: return 0;
  }
}

static int structured_def(const TirOp *op) {
  if (op->kind != TO_EINSUM || op->accumulate || op->partial || !op->out || op->out->param || op->out->out_slot)
    return 0;
  int grouped = 0;
  for (int k = 0; k < op->out->type->rank; k++) {
    if (op->opos[k].kind == TP_EXPR) return 0;
    grouped |= op->opos[k].kind == TP_GROUP && op->opos[k].n <= MAXG;
  }
  int n = 0;
  return grouped && plain_product(op->body, &n);
}

/* ---- reads and writes ---- */

/* ---- one consumer ---- */

/* Index r of the consumer splits into fresh indices over the factors. */
typedef struct Split {
  TirIndex *r;
  TirIndex *parts[MAXG];
  int n;
} Split;

typedef struct Rewrite {
  TirProgram *p;
  TirFunc *f;
  const TirOp *def;
  Split splits[MAXS];
  int nsplits;
  int ok;
} Rewrite;

static Split *split_of(Rewrite *w, const TirIndex *r) {
  for (int i = 0; i < w->nsplits; i++)
    if (w->splits[i].r == r) return &w->splits[i];
  return NULL;
}

/* Whether index r is used in x other than as a position. */
static void note_index_value(const TirExpr *x, void *ud) {
  Rewrite *w = ud;
  if (x->kind == TX_INDEX && split_of(w, x->idx[0])) w->ok = 0;
  if (x->kind == TX_ACCESS)
    for (int i = 0; i < x->var->type->rank; i++)
      if (x->pos[i].kind == TP_EXPR && tir_expr_uses_index(x->pos[i].e)) w->ok = 0;
}

/* A group the consumer already reads with (split by another product)
 * that has the definition's factors: its parts are used as they are. */
static int same_split(const TirPos *have, const TirPos *def) {
  if (def->kind != TP_GROUP || have->n != def->n) return 0;
  for (int t = 0; t < have->n; t++)
    if (dim_cmp(have->idx[t]->range, def->idx[t]->range) != DIM_EQUAL) return 0;
  return 1;
}

/* A constant position c inside a dimension of constant size (K[0, 5]):
 * read through the factors at constant positions too. Only in range: a
 * position outside K keeps the dense read, whose error names K. */
static int const_pos(const TirPos *p, Dim size, int64_t *c) {
  if (p->kind != TP_EXPR || p->e->kind != TX_CONST || !elem_is_int(p->e->elem) || !dim_is_const(size)) return 0;
  *c = p->e->ival;
  return *c >= 0 && *c < size.k;
}

/* Plans the split of the consumer's indices at read x of the definition:
 * a grouped dimension of the definition splits the index reading it. */
static int plan_read(Rewrite *w, const TirExpr *x) {
  const TirOp *d = w->def;
  for (int k = 0; k < x->var->type->rank; k++) {
    int64_t c;
    if (x->pos[k].kind == TP_GROUP && same_split(&x->pos[k], &d->opos[k])) continue;
    if (const_pos(&x->pos[k], x->var->type->dims[k], &c)) {
      for (int t = 0; t < d->opos[k].n; t++)
        if (!dim_is_const(d->opos[k].idx[t]->range)) return 0;
      continue;
    }
    if (x->pos[k].kind != TP_INDEX) return 0;
    TirIndex *r = x->pos[k].idx[0];
    if (d->opos[k].kind != TP_GROUP) continue;
    if (r->prefix) return 0;   /* `q: 4` may cover a prefix only */
    Split *s = split_of(w, r);
    if (s) {   /* the same index in two products: the same factors, or no */
      if (s->n != d->opos[k].n) return 0;
      for (int t = 0; t < s->n; t++)
        if (dim_cmp(s->parts[t]->range, d->opos[k].idx[t]->range) != DIM_EQUAL) return 0;
      continue;
    }
    if (w->nsplits == MAXS) return 0;
    s = &w->splits[w->nsplits++];
    s->r = r;
    s->n = d->opos[k].n;
    for (int t = 0; t < s->n; t++)
      s->parts[t] = tir_index_new(w->p->arena, w->f, arena_printf(w->p->arena, "%s.%d", r->name, t),
                                  d->opos[k].idx[t]->range);
  }
  return 1;
}

static TirPos single(Arena *a, TirIndex *ix) {
  TirPos p;
  memset(&p, 0, sizeof p);
  p.kind = TP_INDEX;
  p.n = 1;
  p.idx = arena_alloc(a, sizeof(TirIndex *));
  p.idx[0] = ix;
  return p;
}

/* The position of part t of a constant position c of the definition's
 * dimension k (grouped: row-major, the first part major). */
static TirPos const_part(Rewrite *w, const TirExpr *x, int k, int t, int64_t c) {
  const TirPos *g = &w->def->opos[k];
  int64_t below = 1;
  for (int u = g->n - 1; u > t; u--) below *= g->idx[u]->range.k;
  TirPos p;
  memset(&p, 0, sizeof p);
  p.kind = TP_EXPR;
  p.e = tir_expr_new(w->p->arena, TX_CONST, ELEM_I64, x->pos[k].e->span);
  p.e->ival = c / below % g->idx[t]->range.k;
  return p;
}

/* The position at read x of the definition's index g: the consumer's index
 * (ungrouped dimension), its fresh part, or a constant. */
static TirPos image(Rewrite *w, const TirExpr *x, const TirIndex *g) {
  const TirOp *d = w->def;
  for (int k = 0; k < x->var->type->rank; k++)
    for (int t = 0; t < d->opos[k].n; t++) {
      int64_t c;
      if (d->opos[k].idx[t] != g) continue;
      if (x->pos[k].kind == TP_GROUP) return single(w->p->arena, x->pos[k].idx[t]);
      if (const_pos(&x->pos[k], x->var->type->dims[k], &c)) return const_part(w, x, k, t, c);
      TirIndex *r = x->pos[k].idx[0];
      Split *s = d->opos[k].kind == TP_GROUP ? split_of(w, r) : NULL;
      return single(w->p->arena, s ? s->parts[t] : r);
    }
  return single(w->p->arena, NULL);
}

/* A copy of the definition's body for read x. */
static TirExpr *instance(Rewrite *w, const TirExpr *body, const TirExpr *x) {
  Arena *a = w->p->arena;
  TirExpr *c = tir_expr_new(a, body->kind, body->elem, x->span);
  *c = *body;
  c->span = x->span;
  if (body->a) c->a = instance(w, body->a, x);
  if (body->b) c->b = instance(w, body->b, x);
  if (body->kind == TX_ACCESS) {
    c->pos = arena_alloc(a, sizeof(TirPos) * (size_t)body->var->type->rank);
    for (int k = 0; k < body->var->type->rank; k++) c->pos[k] = image(w, x, body->pos[k].idx[0]);
  }
  return c;
}

/* Replaces the definition's reads in x (planned: plan_read). */
static TirExpr *substitute(Rewrite *w, TirExpr *x) {
  if (!x) return NULL;
  if (x->kind == TX_ACCESS && x->var == w->def->out) return instance(w, w->def->body, x);
  x->a = substitute(w, x->a);
  x->b = substitute(w, x->b);
  x->c = substitute(w, x->c);
  for (int i = 0; x->args && i < x->n; i++) x->args[i] = substitute(w, x->args[i]);
  return x;
}

static void plan_reads(Rewrite *w, const TirExpr *x) {
  if (!x || !w->ok) return;
  if (x->kind == TX_ACCESS && x->var == w->def->out && !plan_read(w, x)) w->ok = 0;
  plan_reads(w, x->a);
  plan_reads(w, x->b);
  plan_reads(w, x->c);
  for (int i = 0; x->args && i < x->n; i++) plan_reads(w, x->args[i]);
}

/* A position with every split index replaced by its parts. */
static TirPos split_pos(Rewrite *w, TirPos p) {
  if (p.kind == TP_EXPR) return p;
  TirIndex *out[MAXG * MAXG];
  int n = 0, changed = 0;
  for (int i = 0; i < p.n; i++) {
    Split *s = split_of(w, p.idx[i]);
    if (!s) { out[n++] = p.idx[i]; continue; }
    changed = 1;
    for (int t = 0; t < s->n; t++) out[n++] = s->parts[t];
  }
  if (!changed) return p;
  p.kind = TP_GROUP;
  p.n = n;
  p.idx = arena_alloc(w->p->arena, sizeof(TirIndex *) * (size_t)n);
  memcpy(p.idx, out, sizeof(TirIndex *) * (size_t)n);
  return p;
}

/* An index list (a reduction's, the op's loop order) with the parts. */
static TirIndex **split_list(Rewrite *w, TirIndex **idx, int *n) {
  TirIndex **out = arena_alloc(w->p->arena, sizeof(TirIndex *) * (size_t)(*n * MAXG + 1));
  int m = 0;
  for (int i = 0; i < *n; i++) {
    Split *s = split_of(w, idx[i]);
    if (!s) { out[m++] = idx[i]; continue; }
    for (int t = 0; t < s->n; t++) out[m++] = s->parts[t];
  }
  *n = m;
  return out;
}

static void split_expr(Rewrite *w, TirExpr *x) {
  if (!x) return;
  if (x->kind == TX_ACCESS)
    for (int k = 0; k < x->var->type->rank; k++) x->pos[k] = split_pos(w, x->pos[k]);
  if (x->kind == TX_REDUCE) x->idx = split_list(w, x->idx, &x->n);
  split_expr(w, x->a);
  split_expr(w, x->b);
  split_expr(w, x->c);
  for (int i = 0; x->args && x->kind != TX_REDUCE && i < x->n; i++) split_expr(w, x->args[i]);
}

/* Rewrites consumer op when every read of the definition in it can be. */
static int rewrite_consumer(TirProgram *p, TirFunc *f, const TirOp *def, TirOp *op) {
  TirUses s = {def->out, 0, 0};
  if (op->kind != TO_EINSUM || op->out == def->out) return 0;
  tir_uses_expr(op->body, &s);
  if (!s.reads) return 0;
  Rewrite w = {p, f, def, {{0}}, 0, 1};
  plan_reads(&w, op->body);
  if (w.ok) tir_expr_visit(op->body, note_index_value, &w);
  for (int k = 0; w.ok && k < op->out->type->rank; k++)
    if (op->opos[k].kind == TP_EXPR) w.ok = !tir_expr_uses_index(op->opos[k].e);
  if (!w.ok) return 0;
  op->body = substitute(&w, op->body);
  split_expr(&w, op->body);
  for (int k = 0; k < op->out->type->rank; k++) op->opos[k] = split_pos(&w, op->opos[k]);
  op->oidx = split_list(&w, op->oidx, &op->noidx);
  return 1;
}

/* ---- unfolded reads and results: GEMM-shaped steps ---- */

/* x[(c0, c1)] of a vector is a matrix read in place. When each group
 * splits its dimension exactly, the GEMM steps read (and write) it as a
 * view (gemm.h), which saves two O(size) copies per call (15% of the 64^3
 * three-factor product); otherwise it is copied once into a matrix
 * (O(size), against the O(n^3) products), so the steps still become
 * GEMMs; the same for a grouped result. */
static TirVar *split_temp(TirProgram *p, TirFunc *f, const char *name, int elem, TirIndex **idx, int n) {
  Dim dims[MAXS * MAXG];
  for (int i = 0; i < n; i++) dims[i] = idx[i]->range;
  return tir_var_new(p->arena, f, name, type_tensor(p->arena, elem, n, dims));
}

/* The indices of positions pos[0..rank), in order; 0 if one is an expression. */
static int flat_indices(const TirPos *pos, int rank, TirIndex **out) {
  int n = 0;
  for (int k = 0; k < rank; k++) {
    if (pos[k].kind == TP_EXPR || n + pos[k].n > MAXS * MAXG) return 0;
    for (int t = 0; t < pos[k].n; t++) out[n++] = pos[k].idx[t];
  }
  return n;
}

static int grouped(const TirPos *pos, int rank) {
  for (int k = 0; k < rank; k++)
    if (pos[k].kind == TP_GROUP) return 1;
  return 0;
}

/* Positions like pos, over fresh copies of its indices (fresh[i] for the
 * i-th flat index), and the fresh indices in flat order. */
static TirPos *fresh_positions(TirProgram *p, TirFunc *f, const TirPos *pos, int rank, TirIndex **fresh) {
  TirPos *out = arena_alloc(p->arena, sizeof(TirPos) * (size_t)rank);
  int n = 0;
  for (int k = 0; k < rank; k++) {
    out[k] = pos[k];
    out[k].idx = arena_alloc(p->arena, sizeof(TirIndex *) * (size_t)pos[k].n);
    for (int t = 0; t < pos[k].n; t++, n++) {
      fresh[n] = tir_index_new(p->arena, f, pos[k].idx[t]->name, pos[k].idx[t]->range);
      out[k].idx[t] = fresh[n];
    }
  }
  return out;
}

static TirPos *singles(Arena *a, TirIndex **idx, int n) {
  TirPos *pos = arena_alloc(a, sizeof(TirPos) * (size_t)(n + 1));
  for (int i = 0; i < n; i++) pos[i] = single(a, idx[i]);
  return pos;
}

/* dst[idx] = src, a copy */
static TirOp *copy_op(TirProgram *p, TirVar *dst, TirPos *opos, TirIndex **idx, int n, TirExpr *src, Span sp) {
  TirOp *op = tir_op_new(p->arena, TO_EINSUM, sp);
  op->out = dst;
  op->opos = opos;
  op->oidx = arena_alloc(p->arena, sizeof(TirIndex *) * (size_t)(n + 1));
  memcpy(op->oidx, idx, sizeof(TirIndex *) * (size_t)n);
  op->noidx = n;
  op->body = src;
  return op;
}

static void insert_op(TirProgram *p, TirBlock *b, int at, TirOp *op) {
  tir_block_append(p->arena, b, op);   /* grows the array */
  memmove(&b->ops[at + 1], &b->ops[at], sizeof(TirOp *) * (size_t)(b->n - 1 - at));
  b->ops[at] = op;
}

/* Copies grouped reads in x into unfolded temporaries, inserted at *at. */
static void unfold_reads(TirProgram *p, TirFunc *f, TirBlock *b, int *at, TirExpr *x) {
  if (!x) return;
  TirIndex *flat[MAXS * MAXG], *fresh[MAXS * MAXG];
  int n;
  if (x->kind == TX_ACCESS && gemm_flat_access(x, flat, MAXS * MAXG) > 0) return;   /* a view */
  if (x->kind == TX_ACCESS && grouped(x->pos, x->var->type->rank) &&
      (n = flat_indices(x->pos, x->var->type->rank, flat)) > 0) {
    TirExpr *src = tir_expr_new(p->arena, TX_ACCESS, x->elem, x->span);
    src->var = x->var;
    src->pos = fresh_positions(p, f, x->pos, x->var->type->rank, fresh);
    TirVar *t = split_temp(p, f, NULL, x->elem, flat, n);
    insert_op(p, b, (*at)++, copy_op(p, t, singles(p->arena, fresh, n), fresh, n, src, x->span));
    x->var = t;
    x->pos = singles(p->arena, flat, n);
    return;
  }
  unfold_reads(p, f, b, at, x->a);
  unfold_reads(p, f, b, at, x->b);
  unfold_reads(p, f, b, at, x->c);
  for (int i = 0; x->args && x->kind != TX_REDUCE && i < x->n; i++) unfold_reads(p, f, b, at, x->args[i]);
}

/* The rewritten op at b->ops[at]: grouped reads and a grouped result go
 * through unfolded temporaries. */
static void unfold(TirProgram *p, TirFunc *f, TirBlock *b, int at) {
  TirOp *op = b->ops[at];
  unfold_reads(p, f, b, &at, op->body);
  int r = op->out->type->rank, n;
  TirIndex *flat[MAXS * MAXG], *fresh[MAXS * MAXG];
  if (op->accumulate || op->partial || !grouped(op->opos, r) || !(n = flat_indices(op->opos, r, flat))) return;
  if (gemm_flat_positions(op->out, op->opos, fresh, MAXS * MAXG) > 0) return;   /* a view */
  TirVar *t = split_temp(p, f, op->out->name, op->out->type->elem, flat, n);   /* explain names it */
  TirPos *back = fresh_positions(p, f, op->opos, r, fresh);
  TirExpr *src = tir_expr_new(p->arena, TX_ACCESS, op->out->type->elem, op->span);
  src->var = t;
  src->pos = singles(p->arena, fresh, n);
  insert_op(p, b, at + 1, copy_op(p, op->out, back, fresh, n, src, op->span));
  op->out = t;
  op->opos = singles(p->arena, flat, n);
}

/* ---- the pass ---- */

/* Whether a factor of the definition is written by ops[from..] (or
 * inside them): reads after that would see other values. */
static int factors_change(const TirOp *def, const TirBlock *b, int from) {
  const TirExpr *stack[64];
  int n = 0;
  stack[n++] = def->body;
  while (n) {
    const TirExpr *x = stack[--n];
    if (x->kind == TX_ACCESS || x->kind == TX_READ) {
      TirUses s = {x->var, 0, 0};
      tir_uses_block(b, from, &s);
      if (s.writes) return 1;
    }
    if (x->a && n < 62) stack[n++] = x->a;
    if (x->b && n < 62) stack[n++] = x->b;
  }
  return 0;
}

static PtrVec rewritten;   /* ops rewritten in the current function */

static void rewrite_block(TirProgram *p, TirFunc *f, const TirOp *def, TirBlock *b, int from, int *done) {
  for (int i = from; i < b->n; i++) {
    if (rewrite_consumer(p, f, def, b->ops[i])) {
      (*done)++;
      ptrvec_push(p->arena, &rewritten, b->ops[i]);
    }
    rewrite_block(p, f, def, &b->ops[i]->body_ops, 0, done);
    rewrite_block(p, f, def, &b->ops[i]->else_ops, 0, done);
  }
}

/* What still reads v whole, for explain: the first such op. */
static const char *dense_use(const TirProgram *p, const TirBlock *b, const TirVar *v) {
  for (int i = 0; i < b->n; i++) {
    const TirOp *op = b->ops[i];
    TirUses s = {v, 0, 0};
    tir_uses_op(op, &s);
    if (!s.reads) continue;
    const char *inner = dense_use(p, &op->body_ops, v);
    if (!inner) inner = dense_use(p, &op->else_ops, v);
    if (inner) return inner;
    switch (op->kind) {
    case TO_BUILTIN: return arena_printf(p->arena, "%s(...) at line %d needs the dense tensor", builtin_name(op->builtin), op->span.line);
    case TO_CALL: return arena_printf(p->arena, "passed to '%s' at line %d", op->fn->source_name, op->span.line);
    case TO_RETURN: return arena_printf(p->arena, "returned at line %d", op->span.line);
    default: return arena_printf(p->arena, "read at line %d in a form the factors do not replace", op->span.line);
    }
  }
  return NULL;
}

static void record(TirProgram *p, const TirOp *def, int rewritten, const char *dense) {
  int n = 0;   /* one factor: a reshape (a copy), not a Kronecker product */
  if (plain_product(def->body, &n) && n < 2) return;
  StructureInfo *si = arena_alloc(p->arena, sizeof *si);
  si->span = def->span;
  si->target = def->out->name;
  si->rewritten = rewritten;
  si->materialised = dense != NULL;
  si->why = dense;
  double bytes = elem_size(def->out->type->elem);
  for (int k = 0; k < def->out->type->rank; k++) {
    Dim d = def->out->type->dims[k];
    bytes *= (double)d.k;
    for (int i = 0; i < d.n; i++) bytes *= dim_hint(d.syms[i]) > 0 ? (double)dim_hint(d.syms[i]) : 0;
  }
  si->dense_bytes = bytes;
  ptrvec_push(p->arena, &p->structures, si);
}

static void structure_block(TirProgram *p, TirFunc *f, TirBlock *b) {
  for (int i = 0; i < b->n; i++) {
    TirOp *def = b->ops[i];
    structure_block(p, f, &def->body_ops);
    structure_block(p, f, &def->else_ops);
    if (!structured_def(def)) continue;
    TirUses all = tir_uses_func(f, def->out), after = {def->out, 0, 0};
    tir_uses_block(b, i + 1, &after);
    if (all.writes != 1 || after.reads != all.reads || factors_change(def, b, i + 1)) continue;
    int done = 0;
    rewrite_block(p, f, def, b, i + 1, &done);
    const char *dense = tir_uses_func(f, def->out).reads ? dense_use(p, &f->body, def->out) : NULL;
    if (!dense) {   /* nothing reads it whole: never computed */
      memmove(&b->ops[i], &b->ops[i + 1], sizeof(TirOp *) * (size_t)(b->n - i - 1));
      b->n--;
      i--;
    }
    record(p, def, done, dense);
  }
}

static int was_rewritten(const TirOp *op) {
  for (int i = 0; i < rewritten.n; i++)
    if (rewritten.items[i] == op) return 1;
  return 0;
}

static void unfold_block(TirProgram *p, TirFunc *f, TirBlock *b) {
  for (int i = 0; i < b->n; i++) {
    TirOp *op = b->ops[i];
    unfold_block(p, f, &op->body_ops);
    unfold_block(p, f, &op->else_ops);
    if (!was_rewritten(op)) continue;
    unfold(p, f, b, i);
    while (b->ops[i] != op) i++;   /* past the copies in front of it */
  }
}

/* ---- a product redefined as its factors change (loop-carried) ---- */

/* The factors of a structured definition, in order. */
static int factor_list(const TirExpr *x, const TirVar **out, int n) {
  if (x->kind == TX_CONVERT) return factor_list(x->a, out, n);
  if (x->kind == TX_BINARY) return factor_list(x->b, out, factor_list(x->a, out, n));
  if ((x->kind == TX_ACCESS || x->kind == TX_READ) && n >= 0 && n < MAXS) out[n++] = x->var;
  else if (x->kind != TX_CONST) return -1;
  return n;
}

typedef struct Carried {
  const TirVar *v;
  TirOp *defs[MAXS];
  int ndefs, ok;
  const TirVar *fac[MAXS];
  int nfac;
} Carried;

static int same_shape(const TirOp *a, const TirOp *b) {
  for (int k = 0; k < a->out->type->rank; k++)
    if (a->opos[k].kind != b->opos[k].kind || a->opos[k].n != b->opos[k].n) return 0;
  return 1;
}

/* Every write of v is a structured definition over the same factors. */
static void collect_defs(const TirBlock *b, Carried *c) {
  for (int i = 0; i < b->n && c->ok; i++) {
    TirOp *op = b->ops[i];
    collect_defs(&op->body_ops, c);
    collect_defs(&op->else_ops, c);
    TirUses s = {c->v, 0, 0};
    TirUses inner = s;
    tir_uses_block(&op->body_ops, 0, &inner);
    tir_uses_block(&op->else_ops, 0, &inner);
    tir_uses_op(op, &s);
    if (s.writes == inner.writes) continue;   /* written inside, seen above */
    const TirVar *fac[MAXS];
    int n = structured_def(op) && op->out == c->v ? factor_list(op->body, fac, 0) : -1;
    if (n < 0 || c->ndefs == MAXS || (c->ndefs && (n != c->nfac || !same_shape(c->defs[0], op)))) {
      c->ok = 0;
      return;
    }
    for (int t = 0; c->ndefs && t < n; t++) c->ok &= fac[t] == c->fac[t];
    memcpy(c->fac, fac, sizeof(TirVar *) * (size_t)n);
    c->nfac = n;
    c->defs[c->ndefs++] = op;
  }
}

/* op itself writes a factor (writes inside its regions are checked there) */
static int writes_factor(const Carried *c, const TirOp *op) {
  for (int t = 0; t < c->nfac; t++) {
    if (op->out == c->fac[t]) return 1;
    for (int r = 0; r < op->nresults; r++)
      if (op->results[r] == c->fac[t]) return 1;
  }
  return 0;
}

static int is_def(const Carried *c, const TirOp *op) {
  for (int d = 0; d < c->ndefs; d++)
    if (c->defs[d] == op) return 1;
  return 0;
}

/* A factor written at ops[i] is followed in the same block by a new
 * definition of v before anything reads v (op i itself included), or, in
 * the function's own block, by no read at all: every read of v then sees
 * the product of the factors' current values. */
static void check_sync(const TirBlock *b, Carried *c, int top) {
  for (int i = 0; i < b->n && c->ok; i++) {
    const TirOp *op = b->ops[i];
    if (is_def(c, op) || !writes_factor(c, op)) continue;
    TirUses s = {c->v, 0, 0};
    tir_uses_op(op, &s);
    int j = i + 1, synced = !s.reads;
    for (; synced && j < b->n && !is_def(c, b->ops[j]); j++) {
      TirUses r = {c->v, 0, 0};
      tir_uses_op(b->ops[j], &r);
      synced = !r.reads;
    }
    c->ok = synced && (j < b->n || top);   /* at the end of the function nothing reads v again */
  }
  for (int i = 0; i < b->n && c->ok; i++) {
    check_sync(&b->ops[i]->body_ops, c, 0);
    check_sync(&b->ops[i]->else_ops, c, 0);
  }
}

static void remove_op(TirBlock *b, const TirOp *op) {
  for (int i = 0; i < b->n; i++) {
    if (b->ops[i] == op) {
      memmove(&b->ops[i], &b->ops[i + 1], sizeof(TirOp *) * (size_t)(b->n - i - 1));
      b->n--;
      return;
    }
    remove_op(&b->ops[i]->body_ops, op);
    remove_op(&b->ops[i]->else_ops, op);
  }
}

static void carried_vars(TirProgram *p, TirFunc *f) {
  for (int i = 0; i < f->vars.n; i++) {
    TirVar *v = f->vars.items[i];
    if (v->param || v->out_slot) continue;
    TirUses all = tir_uses_func(f, v);
    if (all.writes < 2 || !all.reads) continue;
    Carried c = {v, {0}, 0, 1, {0}, 0};
    collect_defs(&f->body, &c);
    if (!c.ok || c.ndefs != all.writes) continue;
    check_sync(&f->body, &c, 1);
    if (!c.ok) continue;
    int done = 0;
    rewrite_block(p, f, c.defs[0], &f->body, 0, &done);
    const char *dense = tir_uses_func(f, v).reads ? dense_use(p, &f->body, v) : NULL;
    if (!dense)
      for (int d = 0; d < c.ndefs; d++) remove_op(&f->body, c.defs[d]);
    record(p, c.defs[0], done, dense);
  }
}

void pass_structure(TirProgram *p, const PassOptions *o) {
  (void)o;
  for (int i = 0; i < p->funcs.n; i++) {
    TirFunc *f = p->funcs.items[i];
    rewritten = (PtrVec){0};
    carried_vars(p, f);
    structure_block(p, f, &f->body);
    unfold_block(p, f, &f->body);
  }
  rewritten = (PtrVec){0};
}
