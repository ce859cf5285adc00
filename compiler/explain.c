/* explain.c — printing what the contract pass decided (passes.h). */
#include "explain.h"
#include <math.h>
#include "passes.h"

/* The layout pass recorded how the step runs. */
static const char *step_kind(const PathStepInfo *s) {
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
  for (int i = 0; i < c->nsteps; i++) {
    const PathStepInfo *s = &c->steps[i];
    fprintf(f, "  step %d: %-12s -> [%s] shape %s  %.6g flops", i + 1, step_kind(s), s->result, s->shape, s->flops);
    if (s->copies) fprintf(f, "  (+%d transposed cop%s)", s->copies, s->copies == 1 ? "y" : "ies");
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
  fprintf(f, "], \"naive_flops\": %.17g, \"flops\": %.17g, \"largest_intermediate\": %.17g, \"symbolic\": %s, \"sizes_from_files\": %s, \"steps\": [",
          c->naive_flops, c->flops, c->largest, c->symbolic ? "true" : "false", c->symbolic == 1 ? "true" : "false");
  for (int i = 0; i < c->nsteps; i++) {
    const PathStepInfo *s = &c->steps[i];
    fprintf(f, "%s{\"kind\": \"%s\", \"result\": \"%s\", \"shape\": \"%s\", \"flops\": %.17g, \"copies\": %d}",
            i ? ", " : "", step_kind(s), s->result, s->shape, s->flops, s->copies);
  }
  fputs("], \"candidates\": [", f);
  for (int i = 0; i < c->ncand; i++)
    fprintf(f, "%s{\"path\": \"%s\", \"cost\": \"%s\"}", i ? ", " : "", c->cand_path[i], c->cand_cost[i]);
  fputs("]}", f);
}

/* ---- contractions the contract pass leaves alone: inside where(...) ---- */

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
