/* tir_print.c — `tnsc emit tir`: TIR as readable text. */
#include <stdlib.h>
#include <string.h>
#include "tir.h"

static void print_expr(FILE *f, const TirExpr *x);

static void print_var(FILE *f, const TirVar *v) {
  if (v->name) fprintf(f, "%s.%d", v->name, v->id);
  else fprintf(f, "%%%d", v->id);
}

static void print_dim(FILE *f, Dim d) {
  char *s = dim_to_string(NULL, d);
  fputs(s, f);
  free(s);
}

static void print_type(FILE *f, const Type *t) {
  char *s = type_to_string(NULL, t);
  fputs(s, f);
  free(s);
}

static void print_pos(FILE *f, const TirPos *p) {
  if (p->kind == TP_EXPR) { print_expr(f, p->e); return; }
  if (p->kind == TP_GROUP) fputc('(', f);
  for (int i = 0; i < p->n; i++) fprintf(f, "%s%s#%d", i ? ", " : "", p->idx[i]->name, p->idx[i]->id);
  if (p->kind == TP_GROUP) fputc(')', f);
}

static void print_args(FILE *f, TirExpr **args, int n) {
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", f);
    print_expr(f, args[i]);
  }
}

static void print_expr(FILE *f, const TirExpr *x) {
  switch (x->kind) {
  case TX_CONST:
    if (elem_is_float(x->elem)) fprintf(f, "%.17g:%s", x->fval, elem_name(x->elem));
    else fprintf(f, "%lld:%s", (long long)x->ival, elem_name(x->elem));
    break;
  case TX_INDEX: fprintf(f, "%s#%d", x->idx[0]->name, x->idx[0]->id); break;
  case TX_DIM: fputs("dim(", f); print_dim(f, x->dim); fputc(')', f); break;
  case TX_READ: print_var(f, x->var); break;
  case TX_ACCESS:
    print_var(f, x->var);
    fputc('[', f);
    for (int i = 0; i < x->var->type->rank; i++) {
      if (i) fputs(", ", f);
      print_pos(f, &x->pos[i]);
    }
    fputc(']', f);
    break;
  case TX_UNARY: fprintf(f, "%s", op_text(x->op)); print_expr(f, x->a); break;
  case TX_BINARY: fputc('(', f); print_expr(f, x->a); fprintf(f, " %s ", op_text(x->op)); print_expr(f, x->b); fputc(')', f); break;
  case TX_MATH: fprintf(f, "%s(", builtin_name(x->op)); print_args(f, x->args, x->n); fputc(')', f); break;
  case TX_WHERE: fputs("where(", f); print_expr(f, x->a); fputs(", ", f); print_expr(f, x->b);
    fputs(", ", f); print_expr(f, x->c); fputc(')', f); break;
  case TX_CONVERT: fprintf(f, "%s(", elem_name(x->elem)); print_expr(f, x->a); fputc(')', f); break;
  case TX_CALL: fprintf(f, "%s(", x->fn->name); print_args(f, x->args, x->n); fputc(')', f); break;
  case TX_REDUCE:
    fprintf(f, "%s(", reduce_name(x->op));
    for (int i = 0; i < x->n; i++) fprintf(f, "%s%s#%d", i ? ", " : "", x->idx[i]->name, x->idx[i]->id);
    fputs(": ", f);
    print_expr(f, x->a);
    fputc(')', f);
    break;
  }
}

static void print_block(FILE *f, const TirBlock *b, int depth);

static void print_vars(FILE *f, TirVar **v, int n, const char **strs) {
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", f);
    if (strs && strs[i]) fprintf(f, "\"%s\"", strs[i]);
    else if (v[i]) print_var(f, v[i]);
    else fputs("<type>", f);
  }
}

static void print_einsum(FILE *f, const TirOp *op) {
  print_var(f, op->out);
  if (op->out->type->rank) {
    fputc('[', f);
    for (int i = 0; i < op->out->type->rank; i++) {
      if (i) fputs(", ", f);
      print_pos(f, &op->opos[i]);
    }
    fputc(']', f);
  }
  fprintf(f, " %s ", op->accumulate ? "+=" : "=");
  print_expr(f, op->body);
  fputs("    # ", f);
  print_type(f, op->out->type);
}

/* attention O.5 = softmax(j: 0.125 * Q.0 . K.1 | 1*i - 1*j + 0 >= 0) . V.2 */
static void print_attention(FILE *f, const TirOp *op) {
  const TirAttention *a = op->attn;
  print_var(f, op->out);
  fputs(" = softmax(j: ", f);
  for (int i = 0; i < a->nscale; i++) {
    fputs(a->divides[i] ? "1 / " : "", f);
    tir_print_expr(f, a->scale[i]);
    fputs(" * ", f);
  }
  print_var(f, a->q);
  fputs(" . ", f);
  print_var(f, a->k);
  for (int r = 0; r + 1 < a->order; r++) { fputs(" . ", f); print_var(f, a->kx[r]); }
  if (a->bias) { fputs(" + ", f); print_var(f, a->bias); }
  for (int t = 0; t < a->ncond; t++) {
    fprintf(f, "%s%lld*i + %lld*j", t ? " && " : " | ", (long long)a->ca[t], (long long)a->cb[t]);
    for (int r = 0; r + 1 < a->order; r++) fprintf(f, " + %lld*j%d", (long long)a->cbx[r][t], r + 2);
    fprintf(f, " + %lld", (long long)a->ck[t]);
    if (a->cx[t]) { fputs(" + ", f); tir_print_expr(f, a->cx[t]); }
    fputs(" >= 0", f);
  }
  fputs(") . ", f);
  print_var(f, a->v);
  for (int r = 0; r + 1 < a->order; r++) { fputs(" * ", f); print_var(f, a->vx[r]); }
  fprintf(f, "    # %d batch", a->nbatch);
}

static void print_op(FILE *f, const TirOp *op, int depth) {
  fprintf(f, "%*s", depth * 2, "");
  switch (op->kind) {
  case TO_EINSUM: fputs("einsum ", f); print_einsum(f, op); break;
  case TO_CALL:
  case TO_BUILTIN:
    fputs(op->kind == TO_CALL ? "call " : "builtin ", f);
    if (op->nresults) { print_vars(f, op->results, op->nresults, NULL); fputs(" = ", f); }
    fprintf(f, "%s(", op->kind == TO_CALL ? op->fn->name : builtin_name(op->builtin));
    print_vars(f, op->args, op->nargs, op->strs);
    fputc(')', f);
    break;
  case TO_LITERAL: fputs("literal ", f); print_var(f, op->out); fputs(" = [", f); print_args(f, op->elems, op->nelems); fputc(']', f); break;
  case TO_SIZE: fprintf(f, "size %s = ", op->bind[0]); tir_print_expr(f, op->value); break;
  case TO_CHECK: fputs("check ", f); print_dim(f, op->dims[0]); fputs(op->le ? " <= " : " == ", f); print_dim(f, op->dims[1]); break;
  case TO_RETURN: fputs("return ", f); print_vars(f, op->args, op->nargs, NULL); break;
  case TO_ATTENTION: fputs("attention ", f); print_attention(f, op); break;
  case TO_FOR:
    fputs("for ", f); print_var(f, op->out); fputs(" in ", f); print_expr(f, op->lo);
    fputs("..", f); print_expr(f, op->hi); fputs(" {\n", f);
    print_block(f, &op->body_ops, depth + 1);
    fprintf(f, "%*s}", depth * 2, "");
    break;
  case TO_WHILE:
    fputs("while {\n", f);
    print_block(f, &op->cond_ops, depth + 1);
    fprintf(f, "%*s} ", depth * 2, "");
    print_expr(f, op->cond);
    fputs(" {\n", f);
    print_block(f, &op->body_ops, depth + 1);
    fprintf(f, "%*s}", depth * 2, "");
    break;
  case TO_IF:
    fputs("if ", f); print_expr(f, op->cond); fputs(" {\n", f);
    print_block(f, &op->body_ops, depth + 1);
    fprintf(f, "%*s} else {\n", depth * 2, "");
    print_block(f, &op->else_ops, depth + 1);
    fprintf(f, "%*s}", depth * 2, "");
    break;
  }
  fputc('\n', f);
}

static void print_block(FILE *f, const TirBlock *b, int depth) {
  for (int i = 0; i < b->n; i++) print_op(f, b->ops[i], depth);
}

static void print_func(FILE *f, const TirFunc *fn) {
  fprintf(f, "func %s(", fn->name);
  for (int i = 0; i < fn->sizes.n; i++) {
    const TirSize *s = fn->sizes.items[i];
    if (s->kind == TS_PARAM) fprintf(f, "%s%s: size", i ? ", " : "", s->name);
  }
  for (int i = 0; i < fn->params.n; i++) {
    const TirVar *v = fn->params.items[i];
    fputs(i || fn->nsize_params ? ", " : "", f);
    print_var(f, v);
    fputs(": ", f);
    print_type(f, v->type);
  }
  fputs(")", f);
  for (int i = 0; i < fn->results.n; i++) {
    fputs(i ? ", " : " -> ", f);
    print_type(f, fn->results.items[i]);
  }
  fputs(" {\n", f);
  print_block(f, &fn->body, 1);
  fputs("}\n", f);
}

void tir_print_expr(FILE *f, const TirExpr *x) { print_expr(f, x); }

void tir_print_pos(FILE *f, const TirPos *p) { print_pos(f, p); }

void tir_print(FILE *f, const TirProgram *p) {
  for (int i = 0; i < p->funcs.n; i++) {
    if (i) fputc('\n', f);
    print_func(f, p->funcs.items[i]);
  }
}
