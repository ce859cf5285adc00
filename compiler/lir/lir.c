/* lir.c — lowering EINSUM ops to loop nests, and printing them. */
#include "lir.h"
#include <stdlib.h>
#include <string.h>

static LirNode *node(Arena *a, LirKind k) {
  LirNode *n = arena_alloc(a, sizeof *n);
  n->kind = k;
  return n;
}

static void add(Arena *a, LirNode *loop, LirNode *child) {
  ptrvec_push(a, (PtrVec *)&loop->body, child);
}

static LirNode *loop(Arena *a, const TirIndex *ix, int parallel) {
  LirNode *l = node(a, LIR_LOOP);
  l->index = ix;
  l->extent = ix->range;
  l->parallel = parallel;
  return l;
}

/* value = [scalar *|/] op(R: body) with op a plain fold: the parts. */
static const TirExpr *root_fold(const TirExpr *v, const TirExpr **scale, int *divide) {
  v = tir_split_scale(v, scale, divide);
  if (v->kind != TX_REDUCE) return NULL;
  if (v->reduce != RED_SUM && v->reduce != RED_PROD && v->reduce != RED_MAX && v->reduce != RED_MIN) return NULL;
  return v;
}

/* for each output index (in the order written) { [acc = init; for each
 * reduced index { acc op= body }] store } */
LirNode *lir_lower(Arena *a, const TirOp *op) {
  LirNode *root = NULL, *in = NULL;
  for (int k = 0; k < op->noidx; k++) {
    LirNode *l = loop(a, op->oidx[k], 1);
    if (in) add(a, in, l);
    else root = l;
    in = l;
  }
  LirNode *store = node(a, LIR_STORE);
  store->out = op->out;
  store->pos = op->opos;
  store->accumulate = op->accumulate;
  const TirExpr *fold = root_fold(op->body, &store->scale, &store->divide);
  if (!fold || !in) {
    store->value = op->body;
    store->scale = NULL;
    if (in) add(a, in, store);
    return root ? root : store;
  }
  LirNode *init = node(a, LIR_ACC_INIT), *upd = node(a, LIR_ACC_UPDATE);
  init->op = upd->op = fold->reduce;
  init->elem = upd->elem = fold->a->elem;
  upd->value = fold->a;
  add(a, in, init);
  LirNode *rin = in;
  for (int k = 0; k < fold->n; k++) {
    LirNode *l = loop(a, fold->idx[k], 0);
    add(a, rin, l);
    rin = l;
  }
  add(a, rin, upd);
  add(a, in, store);
  return root;
}

/* ---- scheduling ---- */

/* The index in the last (unit-stride) position of an access, if plain. */
static const TirIndex *unit_index(const TirVar *v, const TirPos *pos) {
  int r = v->type->rank;
  if (r == 0 || pos[r - 1].kind == TP_EXPR) return NULL;
  return pos[r - 1].idx[pos[r - 1].n - 1];
}

typedef struct UnitCount {
  const TirIndex *ix;
  int n;
} UnitCount;

static void note_unit(const TirExpr *x, void *ud) {
  UnitCount *u = ud;
  u->n += x->kind == TX_ACCESS && unit_index(x->var, x->pos) == u->ix;
}

/* How many accesses in x have ix as their unit-stride index. */
static int unit_uses(const TirExpr *x, const TirIndex *ix) {
  UnitCount u = {ix, 0};
  tir_expr_visit(x, note_unit, &u);
  return u.n;
}

/* The naive nest's parts: output loops, [init, reduction loops, update],
 * store; 0 when root is not `loops { acc = id; loops { acc op= v } store }`. */
typedef struct Nest {
  LirNode *outl[64], *redl[64];
  int nout, nred;
  LirNode *init, *upd, *store;
} Nest;

static int split_nest(LirNode *root, Nest *ns) {
  memset(ns, 0, sizeof *ns);
  LirNode *l = root;
  while (l->kind == LIR_LOOP && l->n == 1 && l->body[0]->kind == LIR_LOOP && ns->nout < 63) {
    ns->outl[ns->nout++] = l;
    l = l->body[0];
  }
  if (l->kind != LIR_LOOP || l->n != 3 || ns->nout == 63) return 0;
  ns->outl[ns->nout++] = l;
  ns->init = l->body[0];
  ns->store = l->body[2];
  LirNode *r = l->body[1];
  while (r->kind == LIR_LOOP && r->n == 1 && ns->nred < 63) {
    ns->redl[ns->nred++] = r;
    r = r->body[0];
  }
  ns->upd = r;
  return ns->init->kind == LIR_ACC_INIT && r->kind == LIR_ACC_UPDATE && ns->store->kind == LIR_STORE && ns->nred > 0;
}

/* Accumulating in the output changes nothing a user could see only for a
 * fold whose accumulator has the output's type (f32 sums accumulate in
 * f64), stored into plain positions; a scale is applied afterwards. */
static int output_can_accumulate(const Nest *ns) {
  const LirNode *st = ns->store;
  if (st->value) return 0;
  /* += adds the fold to what is there: a sum can add its terms there
   * one by one, the others (and a scaled sum) cannot */
  if (st->accumulate && (ns->upd->op != RED_SUM || st->scale)) return 0;
  if (ns->upd->op == RED_SUM && ns->upd->elem == ELEM_F32) return 0;
  if (st->out->type->elem != ns->upd->elem) return 0;
  for (int i = 0; i < st->out->type->rank; i++)
    if (st->pos[i].kind != TP_INDEX) return 0;
  return 1;
}

static LirNode *copy_loop(Arena *a, const LirNode *l) {
  LirNode *c = loop(a, l->index, l->parallel);
  c->extent = l->extent;
  return c;
}

static LirNode *out_op(Arena *a, LirKind k, const Nest *ns) {
  LirNode *n = node(a, k);
  n->out = ns->store->out;
  n->pos = ns->store->pos;
  n->op = ns->upd->op;
  n->elem = ns->upd->elem;
  n->value = k == LIR_OUT_UPDATE ? ns->upd->value : NULL;
  n->scale = k == LIR_OUT_SCALE ? ns->store->scale : NULL;
  n->divide = ns->store->divide;
  return n;
}

/* for j { out *= scale } (or a tile of j), when the store has a scale */
static void scale_after(Arena *a, const Nest *ns, LirNode *into, LirNode *jloop) {
  if (!ns->store->scale) return;
  add(a, jloop, out_op(a, LIR_OUT_SCALE, ns));
  add(a, into, jloop);
}

/* outer loops (without j) { for j { out = id }; reductions { for j {
 * out op= v } } } */
static LirNode *accumulate_in_output(Arena *a, const Nest *ns, int j) {
  LirNode *root = NULL, *in = NULL;
  for (int k = 0; k < ns->nout; k++) {
    if (k == j) continue;
    LirNode *l = copy_loop(a, ns->outl[k]);
    if (in) add(a, in, l);
    else root = l;
    in = l;
  }
  if (!in) root = in = node(a, LIR_BLOCK);
  LirNode *top = in;
  if (!ns->store->accumulate) {
    LirNode *zero = copy_loop(a, ns->outl[j]);
    add(a, zero, out_op(a, LIR_OUT_INIT, ns));
    add(a, in, zero);
  }
  for (int k = 0; k < ns->nred; k++) {
    LirNode *l = copy_loop(a, ns->redl[k]);
    add(a, in, l);
    in = l;
  }
  LirNode *inner = copy_loop(a, ns->outl[j]);
  add(a, inner, out_op(a, LIR_OUT_UPDATE, ns));
  add(a, in, inner);
  scale_after(a, ns, top, copy_loop(a, ns->outl[j]));
  return root;
}

/* Tile sizes: a 64 x 128 block of the output, 64 reduction steps at a
 * time, keep the three blocks (64 KB of output, 64 KB of the right
 * operand, 32 KB of the left, in f64) in a 1 MB L2 together; measured on
 * max-plus products of 512² to 2048² (docs/performance.md), where the
 * untiled i, k, j order falls from ~8 to ~2 G iterations/s at 2048². */
enum { TILE_ROWS = 64, TILE_COLS = 128, TILE_DEPTH = 64 };

static LirNode *tile_loop(Arena *a, const LirNode *l, int64_t size) {
  LirNode *t = copy_loop(a, l);
  t->tile = size;
  return t;
}

static LirNode *in_tile(Arena *a, const LirNode *l, LirNode *t) {
  LirNode *c = copy_loop(a, l);
  c->within = t;
  return c;
}

/* outer loops { for I-tiles { for J-tiles { for i in tile { for j in
 * tile { out = id } }; for K-tiles { for i in tile { reductions { for k in
 * tile { for j in tile { out op= v } } } }; [for i, j in tile { out *=
 * scale }] } } } — I the innermost outer loop, J the loop moved inside, K
 * the innermost reduction; no init for a += sum. */
static LirNode *tiled(Arena *a, const Nest *ns, int j) {
  int last = -1;
  for (int k = 0; k < ns->nout; k++)
    if (k != j) last = k;
  LirNode *root = NULL, *in = NULL;
  for (int k = 0; k < last; k++) {
    if (k == j) continue;
    LirNode *l = copy_loop(a, ns->outl[k]);
    if (in) add(a, in, l);
    else root = l;
    in = l;
  }
  LirNode *it = tile_loop(a, ns->outl[last], TILE_ROWS), *jt = tile_loop(a, ns->outl[j], TILE_COLS);
  if (in) add(a, in, it);
  else root = it;
  add(a, it, jt);
  if (!ns->store->accumulate) {
    LirNode *i0 = in_tile(a, ns->outl[last], it), *zero = in_tile(a, ns->outl[j], jt);
    add(a, zero, out_op(a, LIR_OUT_INIT, ns));
    add(a, i0, zero);
    add(a, jt, i0);
  }
  LirNode *kt = tile_loop(a, ns->redl[ns->nred - 1], TILE_DEPTH);
  kt->parallel = 0;
  add(a, jt, kt);
  in = in_tile(a, ns->outl[last], it);
  add(a, kt, in);
  for (int k = 0; k < ns->nred; k++) {
    LirNode *l = k == ns->nred - 1 ? in_tile(a, ns->redl[k], kt) : copy_loop(a, ns->redl[k]);
    add(a, in, l);
    in = l;
  }
  LirNode *inner = in_tile(a, ns->outl[j], jt);
  add(a, inner, out_op(a, LIR_OUT_UPDATE, ns));
  add(a, in, inner);
  if (ns->store->scale) {
    LirNode *i1 = in_tile(a, ns->outl[last], it);
    scale_after(a, ns, i1, in_tile(a, ns->outl[j], jt));
    add(a, jt, i1);
  }
  return root;
}

LirNode *lir_schedule(Arena *a, LirNode *root) {
  Nest ns;
  if (!split_nest(root, &ns) || !output_can_accumulate(&ns)) return root;
  const TirIndex *red = ns.redl[ns.nred - 1]->index;
  int best = -1, best_uses = unit_uses(ns.upd->value, red);
  for (int k = 0; k < ns.nout; k++) {
    const TirIndex *ix = ns.outl[k]->index;
    int uses = unit_uses(ns.upd->value, ix) + (unit_index(ns.store->out, ns.store->pos) == ix);
    if (uses > best_uses || (uses == best_uses && best >= 0)) best = k, best_uses = uses;
  }
  if (best < 0) return root;
  return ns.nout >= 2 ? tiled(a, &ns, best) : accumulate_in_output(a, &ns, best);
}

/* out.3[i, j] */
static void print_target(FILE *f, const LirNode *n) {
  fprintf(f, "%s.%d[", n->out->name ? n->out->name : "%", n->out->id);
  for (int i = 0; i < n->out->type->rank; i++) {
    if (i) fputs(", ", f);
    tir_print_pos(f, &n->pos[i]);
  }
  fputc(']', f);
}

void lir_print(FILE *f, const LirNode *n, int depth) {
  fprintf(f, "%*s", depth * 2, "");
  switch (n->kind) {
  case LIR_LOOP: {
    char *d = dim_to_string(NULL, n->extent);
    const char *kw = n->parallel ? "parallel for" : "for";
    if (n->tile) fprintf(f, "%s %s.tile in 0..%s step %lld {\n", kw, n->index->name, d, (long long)n->tile);
    else if (n->within) fprintf(f, "%s %s#%d in %s.tile {\n", kw, n->index->name, n->index->id, n->index->name);
    else fprintf(f, "%s %s#%d in 0..%s {\n", kw, n->index->name, n->index->id, d);
    free(d);
    for (int i = 0; i < n->n; i++) lir_print(f, n->body[i], depth + 1);
    fprintf(f, "%*s}\n", depth * 2, "");
    return;
  }
  case LIR_ACC_INIT: fprintf(f, "acc%d = %s identity (%s)\n", n->acc, reduce_name(n->op), elem_name(n->elem)); return;
  case LIR_ACC_UPDATE:
    fprintf(f, "acc%d %s= ", n->acc, reduce_name(n->op));
    tir_print_expr(f, n->value);
    fputc('\n', f);
    return;
  case LIR_BLOCK:
    fputs("{\n", f);
    for (int i = 0; i < n->n; i++) lir_print(f, n->body[i], depth + 1);
    fprintf(f, "%*s}\n", depth * 2, "");
    return;
  case LIR_OUT_INIT:
  case LIR_OUT_UPDATE:
  case LIR_OUT_SCALE:
    print_target(f, n);
    if (n->kind == LIR_OUT_SCALE) {
      fputs(n->divide ? " /= " : " *= ", f);
      tir_print_expr(f, n->scale);
      fputc('\n', f);
      return;
    }
    if (n->kind == LIR_OUT_INIT) {
      fprintf(f, " = %s identity (%s)\n", reduce_name(n->op), elem_name(n->elem));
      return;
    }
    fprintf(f, " %s= ", reduce_name(n->op));
    tir_print_expr(f, n->value);
    fputc('\n', f);
    return;
  case LIR_STORE:
    print_target(f, n);
    fprintf(f, " %s ", n->accumulate ? "+=" : "=");
    if (n->value) tir_print_expr(f, n->value);
    else fputs("acc0", f);
    if (n->scale) {
      fputs(n->divide ? " / " : " * ", f);
      tir_print_expr(f, n->scale);
    }
    fputc('\n', f);
    return;
  }
}

static int has_nest(const TirOp *op) { return op->kind == TO_EINSUM && op->out && op->out->type->rank > 0; }

/* Only plain output positions: distinct iterations of the outer loop then
 * write distinct elements. */
static int plain_output(const TirOp *op) {
  for (int i = 0; i < op->out->type->rank; i++)
    if (op->opos[i].kind == TP_EXPR) return 0;
  return 1;
}

/* The outer loop of the nest can run on the thread pool: it is a whole
 * parallel loop (not a tile's) and writes distinct elements. */
static int runs_parallel(const TirOp *op, const LirNode *root) {
  return op->lowering == TL_LOOPS && root->kind == LIR_LOOP && root->parallel && !root->within && plain_output(op);
}

static void lower_block(Arena *a, TirBlock *b, int optimize) {
  for (int i = 0; i < b->n; i++) {
    TirOp *op = b->ops[i];
    if (has_nest(op)) {
      op->loops = lir_lower(a, op);
      if (optimize) op->loops = lir_schedule(a, op->loops);
      op->parallel = optimize && runs_parallel(op, op->loops);
    }
    lower_block(a, &op->body_ops, optimize);
    lower_block(a, &op->else_ops, optimize);
  }
}

void lir_program(TirProgram *p, int optimize) {
  for (int i = 0; i < p->funcs.n; i++) {
    TirFunc *fn = p->funcs.items[i];
    lower_block(p->arena, &fn->body, optimize);
  }
}

static void print_block(FILE *f, const TirBlock *b) {
  for (int i = 0; i < b->n; i++) {
    const TirOp *op = b->ops[i];
    if (has_nest(op) && op->loops) {
      fprintf(f, "# line %d\n", op->span.line);
      lir_print(f, op->loops, 0);
    }
    print_block(f, &op->body_ops);
    print_block(f, &op->else_ops);
  }
}

void lir_print_program(FILE *f, const TirProgram *p) {
  for (int i = 0; i < p->funcs.n; i++) {
    const TirFunc *fn = p->funcs.items[i];
    fprintf(f, "func %s\n", fn->name);
    print_block(f, &fn->body);
  }
}
