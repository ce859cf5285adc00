/* explain.c — printing what the contract pass decided (passes.h): as
 * text, as JSON, or as a Graphviz digraph of each statement's tree. */
#include "explain.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "passes.h"

/* The layout pass recorded how the step runs. */
static const char *step_kind(const PathStepInfo *s) {
  if (s->reused) return "reused";
  if (s->nargs == 1) return "reduction";
  if (s->op->lowering != TL_GEMM) return "loop";
  Dim b = s->op->gemm->batch;
  return dim_is_const(b) && b.k == 1 ? "GEMM" : "batched GEMM";
}

/* The path in opt_einsum's linear convention: [[1, 2], [0, 2], [0, 1]] */
static void print_path(FILE *f, const ContractInfo *c) {
  for (int i = 0; i < c->nsteps; i++) {
    const PathStepInfo *s = &c->steps[i];
    fputs(i ? ", [" : "[", f);
    for (int k = 0; k < s->nargs; k++) fprintf(f, "%s%d", k ? ", " : "", s->args[k]);
    fputc(']', f);
  }
}

static void text(FILE *f, const ContractInfo *c) {
  fprintf(f, "%s:%d: %s\n  operands:", c->span.src ? c->span.src->path : "?", c->span.line, c->target);
  for (int i = 0; i < c->noperands; i++) fprintf(f, " %s", c->operands[i]);
  fputs("\n  path: [", f);
  print_path(f, c);
  fputs("]\n", f);
  if (c->lifted) fputs("  a product inside the statement: computed first, into a temporary the rest of it reads\n", f);
  for (int i = 0; i < c->nsteps; i++) {
    const PathStepInfo *s = &c->steps[i];
    fprintf(f, "  step %d: %-12s -> [%s] shape %s  %.6g flops", i + 1, step_kind(s), s->result, s->shape, s->flops);
    if (s->reused) fprintf(f, "  (the result of step %d, renamed)", s->reused);
    else if (s->copies) fprintf(f, "  (+%d transposed cop%s)", s->copies, s->copies == 1 ? "y" : "ies");
    fputc('\n', f);
  }
  for (int i = 0; i < c->ncand; i++)
    fprintf(f, "  candidate %d (run-time choice): %s  cost %s\n", i + 1, c->cand_path[i], c->cand_cost[i]);
  fprintf(f, "  naive %.6g flops, chosen %.6g flops (%.3gx less), largest intermediate %.6g elements%s\n",
          c->naive_flops, c->flops, c->flops > 0 ? c->naive_flops / c->flops : 1.0, c->largest,
          c->symbolic & 2 ? " (symbolic sizes counted as 64)" : c->symbolic ? " (sizes as in the files read at compile time)" : "");
}

static void json(FILE *f, const ContractInfo *c, int first) {
  fprintf(f, "%s\n    {\"line\": %d, \"target\": \"%s\", \"operands\": [", first ? "" : ",", c->span.line, c->target);
  for (int i = 0; i < c->noperands; i++) fprintf(f, "%s\"%s\"", i ? ", " : "", c->operands[i]);
  fputs("], \"path\": [", f);
  print_path(f, c);
  fprintf(f, "], \"naive_flops\": %.17g, \"flops\": %.17g, \"largest_intermediate\": %.17g, \"symbolic\": %s, \"sizes_from_files\": %s, \"lifted\": %s, \"steps\": [",
          c->naive_flops, c->flops, c->largest, c->symbolic ? "true" : "false", c->symbolic == 1 ? "true" : "false",
          c->lifted ? "true" : "false");
  for (int i = 0; i < c->nsteps; i++) {
    const PathStepInfo *s = &c->steps[i];
    fprintf(f, "%s{\"kind\": \"%s\", \"result\": \"%s\", \"shape\": \"%s\", \"flops\": %.17g, \"copies\": %d, \"reuses\": %d}",
            i ? ", " : "", step_kind(s), s->result, s->shape, s->flops, s->reused ? 0 : s->copies, s->reused);
  }
  fputs("], \"candidates\": [", f);
  for (int i = 0; i < c->ncand; i++)
    fprintf(f, "%s{\"path\": \"%s\", \"cost\": \"%s\"}", i ? ", " : "", c->cand_path[i], c->cand_cost[i]);
  fputs("]}", f);
}

/* ---- contractions the contract pass leaves alone: inside where(...)
 * when lifting it out would exceed the memory limit ---- */

typedef struct Unordered {
  const TirOp *op;
  double iters;     /* loop iterations of the naive nest */
  int symbolic;
} Unordered;

static double range_of(Dim d, int *symbolic) {
  double v = (double)d.k;
  for (int i = 0; i < d.n; i++) {
    int64_t h = dim_hint(d.syms[i]);
    *symbolic |= h > 0 ? 1 : 2;
    v *= h > 0 ? (double)h : 64;
  }
  return v;
}

static int count_accesses(const TirExpr *x) {
  if (!x) return 0;
  int n = x->kind == TX_ACCESS && x->var->type->rank > 0;
  n += count_accesses(x->a) + count_accesses(x->b) + count_accesses(x->c);
  for (int i = 0; x->kind != TX_ACCESS && x->args && i < x->n; i++) n += count_accesses(x->args[i]);
  return n;
}

/* The largest reduction over a product of two or more tensors inside a
 * where(...) of x: its iterations per output element, 0 when none. */
static double where_contraction(const TirExpr *x, int in_where, int *symbolic) {
  if (!x) return 0;
  double best = 0;
  in_where |= x->kind == TX_WHERE;
  if (x->kind == TX_REDUCE && in_where && count_accesses(x->a) >= 2) {
    double it = 1;
    for (int i = 0; i < x->n; i++) it *= range_of(x->idx[i]->range, symbolic);
    double inner = where_contraction(x->a, 1, symbolic);
    return it * (inner > 0 ? inner : 1);
  }
  const TirExpr *kids[3] = {x->a, x->b, x->c};
  for (int i = 0; i < 3; i++) best = fmax(best, where_contraction(kids[i], in_where, symbolic));
  for (int i = 0; x->kind != TX_ACCESS && x->args && i < x->n; i++)
    best = fmax(best, where_contraction(x->args[i], in_where, symbolic));
  return best;
}

static void find_unordered(const TirBlock *b, Unordered *out, int *n, int max) {
  for (int i = 0; i < b->n && *n < max; i++) {
    const TirOp *op = b->ops[i];
    find_unordered(&op->body_ops, out, n, max);
    find_unordered(&op->else_ops, out, n, max);
    if (op->kind != TO_EINSUM) continue;
    int sym = 0;
    double per = where_contraction(op->body, 0, &sym);
    if (per <= 0) continue;
    for (int k = 0; k < op->noidx; k++) per *= range_of(op->oidx[k]->range, &sym);
    out[(*n)++] = (Unordered){op, per, sym};
  }
}

static void unordered_text(FILE *f, const Unordered *u) {
  const TirOp *op = u->op;
  fprintf(f, "%s:%d: %s\n  contraction inside where(...): not reordered, runs as a loop nest as written\n",
          op->span.src ? op->span.src->path : "?", op->span.line, op->out->name ? op->out->name : "?");
  fprintf(f, "  naive %.6g loop iterations%s\n", u->iters, u->symbolic & 2 ? " (unknown sizes counted as 64)" : u->symbolic ? " (sizes as in the files read at compile time)" : "");
}

static void unordered_json(FILE *f, const Unordered *u, int first) {
  fprintf(f, "%s\n    {\"line\": %d, \"target\": \"%s\", \"inside_where\": true, \"operands\": [], \"path\": [], "
          "\"naive_flops\": %.17g, \"flops\": %.17g, \"largest_intermediate\": 0, \"symbolic\": %s, \"steps\": [], \"candidates\": []}",
          first ? "" : ",", u->op->span.line, u->op->out->name ? u->op->out->name : "?", u->iters, u->iters,
          u->symbolic ? "true" : "false");
}

/* file:3: K = kron(...): not materialised, 2 contractions read its factors */
static void structure_text(FILE *f, const StructureInfo *si) {
  if (si->algebra) {   /* file:7: solve(K) of a Kronecker product ..., how */
    fprintf(f, "%s:%d: %s\n", si->span.src ? si->span.src->path : "?", si->span.line, si->algebra);
    return;
  }
  fprintf(f, "%s:%d: %s: Kronecker structure, %s", si->span.src ? si->span.src->path : "?", si->span.line,
          si->target ? si->target : "kron(...)", si->materialised ? "materialised" : "not materialised");
  if (si->materialised) fprintf(f, " (%s)", si->why);
  fprintf(f, "; %d contraction%s read%s its factors\n", si->rewritten, si->rewritten == 1 ? "" : "s",
          si->rewritten == 1 ? "s" : "");
  if (si->materialised && si->dense_bytes > 1073741824.0)
    fprintf(f, "%s:%d: warning: the dense %s takes %.3g GiB\n", si->span.src ? si->span.src->path : "?",
            si->span.line, si->target ? si->target : "Kronecker product", si->dense_bytes / 1073741824.0);
}

static void structure_json(FILE *f, const StructureInfo *si, int first) {
  if (si->algebra) {
    fprintf(f, "%s\n    {\"line\": %d, \"target\": \"%s\", \"algebra\": \"%s\"}", first ? "" : ",", si->span.line,
            si->target ? si->target : "", si->algebra);
    return;
  }
  fprintf(f, "%s\n    {\"line\": %d, \"target\": \"%s\", \"materialised\": %s, \"why\": \"%s\", "
          "\"contractions\": %d, \"dense_bytes\": %.17g}",
          first ? "" : ",", si->span.line, si->target ? si->target : "", si->materialised ? "true" : "false",
          si->why ? si->why : "", si->rewritten, si->dense_bytes);
}

/* file:5: O: fused attention, order 1, streaming, mask -> loop bounds */
static void attention_text(FILE *f, const AttentionInfo *ai) {
  fprintf(f, "%s:%d: %s: ", ai->span.src ? ai->span.src->path : "?", ai->span.line, ai->target);
  if (!ai->fused) {
    fprintf(f, "softmax attention not fused: %s\n", ai->why);
    return;
  }
  fprintf(f, "fused attention, order %d, streaming", ai->order);
  if (ai->nmask) fprintf(f, ", mask -> loop bounds (%d condition%s)", ai->nmask, ai->nmask == 1 ? "" : "s");
  if (ai->bias) fputs(", additive bias", f);
  if (ai->nbatch) fprintf(f, ", %d batch ind%s", ai->nbatch, ai->nbatch == 1 ? "ex" : "ices");
  if (ai->extras) fputs(ai->extras, f);
  fputc('\n', f);
}

static void attention_json(FILE *f, const AttentionInfo *ai, int first) {
  fprintf(f, "%s\n    {\"line\": %d, \"target\": \"%s\", \"fused\": %s, \"order\": %d, \"mask_conditions\": %d, "
          "\"bias\": %s, \"batch\": %d, \"why\": \"%s\"}",
          first ? "" : ",", ai->span.line, ai->target, ai->fused ? "true" : "false", ai->order, ai->nmask,
          ai->bias ? "true" : "false", ai->nbatch, ai->why ? ai->why : "");
}

void explain_print(FILE *f, const TirProgram *p, int as_json) {
  enum { MAXU = 256 };
  static Unordered un[MAXU];
  int nu = 0;
  for (int i = 0; i < p->funcs.n; i++) find_unordered(&((const TirFunc *)p->funcs.items[i])->body, un, &nu, MAXU);
  if (as_json) fputs("{\"statements\": [", f);
  for (int i = 0; i < p->contracts.n; i++) {
    if (as_json) json(f, p->contracts.items[i], i == 0);
    else text(f, p->contracts.items[i]);
  }
  for (int i = 0; i < nu; i++) {
    if (as_json) unordered_json(f, &un[i], i == 0 && !p->contracts.n);
    else unordered_text(f, &un[i]);
  }
  if (as_json) fputs(p->contracts.n + nu ? "\n], \"structures\": [" : "], \"structures\": [", f);
  for (int i = 0; i < p->structures.n; i++) {
    if (as_json) structure_json(f, p->structures.items[i], i == 0);
    else structure_text(f, p->structures.items[i]);
  }
  if (as_json) fputs(p->structures.n ? "\n], \"attentions\": [" : "], \"attentions\": [", f);
  for (int i = 0; i < p->attentions.n; i++) {
    if (as_json) attention_json(f, p->attentions.items[i], i == 0);
    else attention_text(f, p->attentions.items[i]);
  }
  if (as_json) fputs(p->attentions.n ? "\n]}\n" : "]}\n", f);
  else if (!p->contracts.n && !nu && !p->structures.n && !p->attentions.n)
    fputs("no contractions of two or more tensors\n", f);
}

/* ---- tnsc explain --dot: the chosen tree for Graphviz ----
 * Everything drawn is what the passes recorded: the path and step costs
 * in ContractInfo, each step's op->lowering, and the copies the layout
 * pass put right before a step (its operands) and right after it (its
 * result, when the product is computed in another order). */

enum { DOT_MAXF = 16 };

/* The block holding op (steps of a run-time choice sit inside ifs). */
static const TirBlock *block_of(const TirBlock *b, const TirOp *op, int *at) {
  for (int i = 0; i < b->n; i++) {
    if (b->ops[i] == op) {
      *at = i;
      return b;
    }
    const TirBlock *r = block_of(&b->ops[i]->body_ops, op, at);
    if (!r) r = block_of(&b->ops[i]->else_ops, op, at);
    if (r) return r;
  }
  return NULL;
}

static const TirBlock *find_op(const TirProgram *p, const TirOp *op, int *at) {
  for (int i = 0; i < p->funcs.n; i++) {
    const TirBlock *b = block_of(&((const TirFunc *)p->funcs.items[i])->body, op, at);
    if (b) return b;
  }
  return NULL;
}

static int reads_by_index(const TirExpr *x) {
  for (int i = 0; i < x->var->type->rank; i++)
    if (x->pos[i].kind != TP_EXPR) return 1;
  return 0;
}

/* A step's body `[s *] sum(K: F1 * F2 ...) [* s]`: its tensor factors in
 * order (the path's operand order) and its summed indices. */
static void step_factors(const TirExpr *x, const TirExpr **f, int *nf, TirIndex **red, int *nred) {
  if (x->kind == TX_ACCESS) {
    if (x->var->type->rank > 0 && reads_by_index(x) && *nf < DOT_MAXF) f[(*nf)++] = x;
  } else if (x->kind == TX_REDUCE) {
    for (int i = 0; i < x->n && *nred < 64; i++) red[(*nred)++] = x->idx[i];
    step_factors(x->a, f, nf, red, nred);
  } else if (x->kind == TX_BINARY && x->op == OP_MUL) {
    step_factors(x->a, f, nf, red, nred);
    step_factors(x->b, f, nf, red, nred);
  } else if (x->kind == TX_BINARY && x->op == OP_DIV) {
    step_factors(x->a, f, nf, red, nred);
  }
}

/* "i,k": an op's output indices in its layout. */
static void index_list(const TirOp *op, char *buf, size_t cap) {
  buf[0] = 0;
  for (int i = 0; i < op->noidx; i++)
    if (strlen(buf) + strlen(op->oidx[i]->name) + 2 < cap) {
      if (buf[0]) strcat(buf, ",");
      strcat(buf, op->oidx[i]->name);
    }
}

static const char *op_kind(const TirOp *op) {
  return op->lowering == TL_PERMUTE ? "transposed copy" : "copy (loop)";
}

/* The copy right after the step, from the product's [batch, M, N] into
 * the layout the contract pass chose (recorded as s->result). */
static const TirOp *copy_after(const TirBlock *b, int at, const PathStepInfo *s) {
  char now[128];
  index_list(s->op, now, sizeof now);
  if (strcmp(now, s->result) == 0 || at + 1 >= b->n) return NULL;
  const TirOp *n = b->ops[at + 1];
  return n->kind == TO_EINSUM && n->body && n->body->kind == TX_ACCESS && n->body->var == s->op->out ? n : NULL;
}

/* The copy among the ncopy ops right before the step that writes v. */
static const TirOp *copy_before(const TirBlock *b, int at, int ncopy, const TirVar *v) {
  for (int i = at - 1; i >= 0 && i >= at - ncopy; i--) {
    const TirOp *c = b->ops[i];
    if (c->kind == TO_EINSUM && c->out == v && c->body && c->body->kind == TX_ACCESS) return c;
  }
  return NULL;
}

static void dot_escape(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
}

/* A step's cost as a formula in the size names (2*n^5), when its indices
 * have symbolic ranges and the formula gives the recorded figure at the
 * sizes the pass counted; "" otherwise. The convention is contraction.md's:
 * size(U) * (max(1, k-1) + 1 if it sums). */
static void flops_formula(const PathStepInfo *s, TirIndex **red, int nred, char *buf, size_t cap) {
  const char *sym[32];
  int npow[32], nsym = 0;
  double coef = (s->nargs > 2 ? s->nargs - 1 : 1) + (nred > 0), value;
  buf[0] = 0;
  for (int i = 0; i < s->op->noidx + nred; i++) {
    Dim d = (i < s->op->noidx ? s->op->oidx[i] : red[i - s->op->noidx])->range;
    coef *= (double)d.k;
    for (int k = 0; k < d.n; k++) {
      int j = 0;
      while (j < nsym && strcmp(sym[j], d.syms[k]) != 0) j++;
      if (j == 32) return;
      if (j == nsym) sym[nsym] = d.syms[k], npow[nsym++] = 0;
      npow[j]++;
    }
  }
  if (!nsym) return;
  value = coef;
  for (int j = 0; j < nsym; j++) {
    int64_t h = dim_hint(sym[j]);
    value *= pow(h > 0 ? (double)h : 64, npow[j]);
  }
  if (fabs(value - s->flops) > 1e-9 * s->flops) return;
  for (int i = 1; i < nsym; i++)   /* n1*r1*r2, not in index order */
    for (int j = i; j > 0 && strcmp(sym[j - 1], sym[j]) > 0; j--) {
      const char *t = sym[j];
      int tp = npow[j];
      sym[j] = sym[j - 1], npow[j] = npow[j - 1];
      sym[j - 1] = t, npow[j - 1] = tp;
    }
  int n = coef == 1 ? snprintf(buf, cap, "%s", "") : snprintf(buf, cap, "%.6g", coef);
  for (int j = 0; j < nsym && n >= 0 && (size_t)n < cap; j++) {
    n += snprintf(buf + n, cap - (size_t)n, "%s%s", n ? "*" : "", sym[j]);
    if (npow[j] > 1 && (size_t)n < cap) n += snprintf(buf + n, cap - (size_t)n, "^%d", npow[j]);
  }
}

static const char *kind_color(const char *kind) {
  if (strcmp(kind, "GEMM") == 0) return "#9ecae1";
  if (strcmp(kind, "batched GEMM") == 0) return "#c6dbef";
  if (strcmp(kind, "reduction") == 0) return "#fdd0a2";
  if (strcmp(kind, "transposed copy") == 0) return "#e0e0e0";
  return "#fdae6b";   /* a loop nest */
}

/* [i, (j, l), ·]: how an access indexes its operand. */
static void dot_positions(FILE *f, const TirExpr *x) {
  fputc('[', f);
  for (int i = 0; i < x->var->type->rank; i++) {
    const TirPos *ps = &x->pos[i];
    if (i) fputs(", ", f);
    if (ps->kind == TP_EXPR) fputs("·", f);
    if (ps->kind == TP_GROUP) fputc('(', f);
    for (int k = 0; ps->kind != TP_EXPR && k < ps->n; k++) {
      if (k) fputs(", ", f);
      dot_escape(f, ps->idx[k]->name);
    }
    if (ps->kind == TP_GROUP) fputc(')', f);
  }
  fputc(']', f);
}

/* A box for an original operand: its name, indices and shape. */
static void dot_operand(FILE *f, int ci, int i, const ContractInfo *c, const TirExpr *x) {
  fprintf(f, "    c%d_o%d [shape=box, label=\"", ci, i);
  dot_escape(f, c->operands[i]);
  if (x) dot_positions(f, x);
  if (x) {
    char *shape = shape_to_string(NULL, x->var->type);
    fputs("\\n", f);
    dot_escape(f, shape ? shape : "[]");
    free(shape);
  }
  fputs("\"];\n", f);
}

static void dot_copy(FILE *f, int ci, int s, int k, const TirOp *cp) {
  char *shape = shape_to_string(NULL, cp->out->type);
  fprintf(f, "    c%d_t%d_c%d [shape=box, style=\"rounded,filled\", fillcolor=\"%s\", label=\"%s\\n%s\"];\n", ci, s, k,
          kind_color(op_kind(cp)), op_kind(cp), shape ? shape : "[]");
  free(shape);
}

static void dot_step(FILE *f, int ci, int s, const ContractInfo *c) {
  const PathStepInfo *st = &c->steps[s];
  const char *kind = step_kind(st);
  const TirExpr *fac[DOT_MAXF];
  TirIndex *red[64];
  int nf = 0, nred = 0;
  char formula[256];
  if (st->op->body) step_factors(st->op->body, fac, &nf, red, &nred);
  flops_formula(st, red, nred, formula, sizeof formula);
  fprintf(f, "    c%d_t%d [shape=box, style=\"rounded,filled\", fillcolor=\"%s\", label=\"step %d: %s\\n", ci, s,
          kind_color(kind), s + 1, kind);
  if (s == c->nsteps - 1) dot_escape(f, c->target);
  fputc('[', f);
  for (const char *r = st->result; *r; r++) fputs(*r == ',' ? ", " : (char[2]){*r, 0}, f);
  fprintf(f, "]\\n%s\\n", st->shape);
  if (formula[0]) fprintf(f, "%s = %.6g flops", formula, st->flops);
  else fprintf(f, "%.6g flops", st->flops);
  fputs("\"];\n", f);
}

/* The current operand list (the path's positions) as node names. */
typedef struct Live {
  char name[65][32];
  int orig[65];        /* the operand an entry is, -1: a step's result */
  int n;
  int drawn[64];       /* operand boxes written */
} Live;

/* Edges from a step's inputs (through a copy where the layout pass put
 * one before the step), and the boxes of operands it reads first. */
static void dot_inputs(FILE *f, int ci, int s, const ContractInfo *c, Live *lv, const TirBlock *b, int at,
                       int ncopy_in) {
  const PathStepInfo *st = &c->steps[s];
  const TirExpr *fac[DOT_MAXF];
  TirIndex *red[64];
  int nf = 0, nred = 0;
  if (st->op->body) step_factors(st->op->body, fac, &nf, red, &nred);
  for (int k = 0; k < st->nargs; k++) {
    int j = st->args[k], o = j >= 0 && j < lv->n ? lv->orig[j] : -2;
    if (o == -2) continue;
    const TirOp *cp = b && k < nf && ncopy_in > 0 ? copy_before(b, at, ncopy_in, fac[k]->var) : NULL;
    if (o >= 0 && o < 64 && !lv->drawn[o]) {   /* the operand as it is stored */
      dot_operand(f, ci, o, c, cp ? cp->body : k < nf ? fac[k] : NULL);
      lv->drawn[o] = 1;
    }
    if (cp) {
      dot_copy(f, ci, s, k, cp);
      fprintf(f, "    %s -> c%d_t%d_c%d;\n    c%d_t%d_c%d -> c%d_t%d;\n", lv->name[j], ci, s, k, ci, s, k, ci, s);
    } else {
      fprintf(f, "    %s -> c%d_t%d;\n", lv->name[j], ci, s);
    }
  }
}

/* The path's convention: the step's inputs leave the list, its result
 * (node `result`) is appended. */
static void dot_advance(Live *lv, const PathStepInfo *st, const char *result) {
  int k = 0;
  for (int j = 0; j < lv->n; j++) {
    int taken = 0;
    for (int a = 0; a < st->nargs; a++) taken |= st->args[a] == j;
    if (!taken) {
      memmove(lv->name[k], lv->name[j], sizeof lv->name[0]);
      lv->orig[k++] = lv->orig[j];
    }
  }
  lv->n = k;
  snprintf(lv->name[lv->n], sizeof lv->name[0], "%s", result);
  lv->orig[lv->n++] = -1;
}

/* One statement's tree: operands, steps (and copies), edges from the
 * inputs of each step to it. Node names start with cN_. */
static void dot_tree(FILE *f, const TirProgram *p, int ci, const ContractInfo *c) {
  static Live lv;
  int ntensor = c->noperands - c->nscalar;
  memset(&lv, 0, sizeof lv);
  for (int i = 0; i < ntensor && i < 64; i++) {
    snprintf(lv.name[lv.n], sizeof lv.name[0], "c%d_o%d", ci, i);
    lv.orig[lv.n++] = i;
  }
  for (int s = 0; s < c->nsteps && lv.n < 65; s++) {
    const PathStepInfo *st = &c->steps[s];
    int at = 0;
    const TirBlock *b = find_op(p, st->op, &at);
    const TirOp *after = b ? copy_after(b, at, st) : NULL;
    char result[32];
    dot_step(f, ci, s, c);
    dot_inputs(f, ci, s, c, &lv, b, at, st->copies - (after != NULL));
    snprintf(result, sizeof result, after ? "c%d_t%d_c99" : "c%d_t%d", ci, s);
    if (after) {
      dot_copy(f, ci, s, 99, after);
      fprintf(f, "    c%d_t%d -> %s;\n", ci, s, result);
    }
    dot_advance(&lv, st, result);
  }
  for (int i = 0; i < c->nscalar && c->nsteps; i++) {
    fprintf(f, "    c%d_o%d [shape=plaintext, label=\"scalar\"];\n    c%d_o%d -> c%d_t%d;\n", ci, ntensor + i, ci,
            ntensor + i, ci, c->nsteps - 1);
  }
}

static void dot_statement_label(FILE *f, const ContractInfo *c) {
  fputs("label=\"", f);
  dot_escape(f, c->span.src ? c->span.src->path : "?");
  fprintf(f, ":%d: ", c->span.line);
  dot_escape(f, c->target);
  fprintf(f, "\\nnaive %.6g flops, chosen %.6g flops%s", c->naive_flops, c->flops,
          c->symbolic & 2 ? " (symbolic sizes counted as 64)" : c->symbolic ? " (sizes as in the files read)" : "");
  if (c->ncand > 1) fprintf(f, "\\nthe path chosen at those sizes; %d candidates, chosen among at run time", c->ncand);
  fputs("\";\n", f);
}

static void dot_unordered(FILE *f, int ui, const Unordered *u) {
  const TirOp *op = u->op;
  fprintf(f, "    u%d [shape=note, label=\"contraction inside where(...)\\nloop nest as written\\n%.6g loop iterations\"];\n",
          ui, u->iters);
  fputs("    label=\"", f);
  dot_escape(f, op->span.src ? op->span.src->path : "?");
  fprintf(f, ":%d: ", op->span.line);
  dot_escape(f, op->out->name ? op->out->name : "?");
  fputs("\";\n", f);
}

static int on_line(Span sp, const char *path, int line) {
  return line <= 0 || (sp.line == line && (!path || !sp.src || strcmp(sp.src->path, path) == 0));
}

/* Lists the lines that have a contraction, for a --stmt that names none. */
static void no_statement(FILE *err, const TirProgram *p, const char *path, int line) {
  fprintf(err, "tnsc explain: no contraction of two or more tensors at line %d of %s", line, path ? path : "?");
  int any = 0;
  for (int i = 0; i < p->contracts.n; i++) {
    const ContractInfo *c = p->contracts.items[i];
    if (on_line(c->span, path, c->span.line)) fprintf(err, "%s%d", any++ ? ", " : " (contractions at lines ", c->span.line);
  }
  fputs(any ? ")\n" : "\n", err);
}

int explain_dot(FILE *f, FILE *err, const TirProgram *p, const char *path, int line) {
  enum { MAXU = 256 };
  static Unordered un[MAXU];
  int nu = 0, shown = 0;
  for (int i = 0; i < p->funcs.n; i++) find_unordered(&((const TirFunc *)p->funcs.items[i])->body, un, &nu, MAXU);
  for (int i = 0; i < p->contracts.n; i++) shown += on_line(((const ContractInfo *)p->contracts.items[i])->span, path, line);
  for (int i = 0; i < nu; i++) shown += on_line(un[i].op->span, path, line);
  if (!shown && line > 0) {
    no_statement(err, p, path, line);
    return 1;
  }
  fputs("digraph tns {\n  ordering=in;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [arrowsize=0.7];\n"
        "  graph [fontname=\"Helvetica\", fontsize=11];\n", f);
  for (int i = 0; i < p->contracts.n; i++) {
    const ContractInfo *c = p->contracts.items[i];
    if (!on_line(c->span, path, line)) continue;
    fprintf(f, "  subgraph cluster_%d {\n    ", i);
    dot_statement_label(f, c);
    dot_tree(f, p, i, c);
    fputs("  }\n", f);
  }
  for (int i = 0; i < nu; i++) {
    if (!on_line(un[i].op->span, path, line)) continue;
    fprintf(f, "  subgraph cluster_u%d {\n", i);
    dot_unordered(f, i, &un[i]);
    fputs("  }\n", f);
  }
  if (!shown) fputs("  empty [shape=plaintext, label=\"no contractions of two or more tensors\"];\n", f);
  fputs("}\n", f);
  return 0;
}
