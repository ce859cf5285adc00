/* explain.c — printing what the contract pass decided (passes.h). */
#include "explain.h"
#include "gemm.h"
#include "passes.h"

static const char *step_kind(const PathStepInfo *s) {
  GemmShape g;
  if (s->nargs == 1) return "reduction";
  if (gemm_match(s->op, &g)) return dim_is_const(g.batch) && g.batch.k == 1 ? "GEMM" : "batched GEMM";
  return "loop";
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
          c->symbolic ? " (symbolic sizes counted as 64)" : "");
}

static void json(FILE *f, const ContractInfo *c, int first) {
  fprintf(f, "%s\n    {\"line\": %d, \"target\": \"%s\", \"operands\": [", first ? "" : ",", c->span.line, c->target);
  for (int i = 0; i < c->noperands; i++) fprintf(f, "%s\"%s\"", i ? ", " : "", c->operands[i]);
  fputs("], \"path\": [", f);
  print_path(f, c);
  fprintf(f, "], \"naive_flops\": %.17g, \"flops\": %.17g, \"largest_intermediate\": %.17g, \"symbolic\": %s, \"steps\": [",
          c->naive_flops, c->flops, c->largest, c->symbolic ? "true" : "false");
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

void explain_print(FILE *f, const TirProgram *p, int as_json) {
  if (as_json) fputs("{\"statements\": [", f);
  for (int i = 0; i < p->contracts.n; i++) {
    if (as_json) json(f, p->contracts.items[i], i == 0);
    else text(f, p->contracts.items[i]);
  }
  if (as_json) fputs(p->contracts.n ? "\n]}\n" : "]}\n", f);
  else if (!p->contracts.n) fputs("no contractions of two or more tensors\n", f);
}
