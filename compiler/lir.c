/* lir.c — lowering EINSUM ops to loop nests, and printing them. */
#include "lir.h"
#include <stdlib.h>

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
  if (v->op != RED_SUM && v->op != RED_PROD && v->op != RED_MAX && v->op != RED_MIN) return NULL;
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
  init->op = upd->op = fold->op;
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

void lir_print(FILE *f, const LirNode *n, int depth) {
  fprintf(f, "%*s", depth * 2, "");
  switch (n->kind) {
  case LIR_LOOP: {
    char *d = dim_to_string(NULL, n->extent);
    fprintf(f, "%s %s#%d in 0..%s {\n", n->parallel ? "parallel for" : "for", n->index->name, n->index->id, d);
    free(d);
    for (int i = 0; i < n->n; i++) lir_print(f, n->body[i], depth + 1);
    fprintf(f, "%*s}\n", depth * 2, "");
    return;
  }
  case LIR_ACC_INIT: fprintf(f, "acc%d = %s identity (%s)\n", n->acc, ast_reduce_name(n->op), ast_elem_name(n->elem)); return;
  case LIR_ACC_UPDATE:
    fprintf(f, "acc%d %s= ", n->acc, ast_reduce_name(n->op));
    tir_print_expr(f, n->value);
    fputc('\n', f);
    return;
  case LIR_STORE:
    fprintf(f, "%s.%d[", n->out->name ? n->out->name : "%", n->out->id);
    for (int i = 0; i < n->out->type->rank; i++) {
      if (i) fputs(", ", f);
      tir_print_pos(f, &n->pos[i]);
    }
    fprintf(f, "] %s ", n->accumulate ? "+=" : "=");
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

static void print_block(FILE *f, const TirBlock *b, Arena *a) {
  for (int i = 0; i < b->n; i++) {
    const TirOp *op = b->ops[i];
    if (op->kind == TO_EINSUM && op->out && op->out->type->rank > 0) {
      fprintf(f, "# line %d\n", op->span.line);
      lir_print(f, lir_lower(a, op), 0);
    }
    print_block(f, &op->body_ops, a);
    print_block(f, &op->else_ops, a);
  }
}

void lir_print_program(FILE *f, const TirProgram *p) {
  Arena *a = arena_new();
  for (int i = 0; i < p->funcs.n; i++) {
    const TirFunc *fn = p->funcs.items[i];
    fprintf(f, "func %s\n", fn->name);
    print_block(f, &fn->body, a);
  }
  arena_free(a);
}
