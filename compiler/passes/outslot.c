/* outslot.c — results computed straight into the caller's buffer.
 *
 * Needs: TIR after the other passes. Guarantees: a returned tensor that is
 * defined once, by one EINSUM at the top level of its function (and maybe
 * added to with +=), is marked with the result it is: code generation
 * then writes it into the caller's output buffer and `return` copies
 * nothing (a 2048x2048 product is 32 MB less traffic). Not for the REPL's
 * array results, whose buffers the callee allocates. */
#include "passes.h"

/* How many ops (anywhere) define v; an op other than EINSUM counts as
 * many, so it is never chosen. */
static int definitions(const TirBlock *b, const TirVar *v) {
  int n = 0;
  for (int i = 0; i < b->n; i++) {
    const TirOp *op = b->ops[i];
    if (op->kind == TO_EINSUM && op->out == v && !op->accumulate) n++;
    if ((op->kind == TO_LITERAL || op->kind == TO_FOR) && op->out == v) n += 2;
    for (int k = 0; k < op->nresults; k++)
      if (op->results[k] == v) n += 2;
    n += definitions(&op->body_ops, v) * 2 + definitions(&op->else_ops, v) * 2;
  }
  return n;
}

static int defined_at_top(const TirBlock *b, const TirVar *v) {
  for (int i = 0; i < b->n; i++)
    if (b->ops[i]->kind == TO_EINSUM && b->ops[i]->out == v && !b->ops[i]->accumulate) return 1;
  return 0;
}

static void outslots(TirFunc *f) {
  if (f->array_results || f->body.n == 0) return;
  TirOp *ret = f->body.ops[f->body.n - 1];
  if (ret->kind != TO_RETURN) return;
  for (int i = 0; i < ret->nargs; i++) {
    TirVar *v = ret->args[i];
    if (!v || v->param || v->out_slot || v->type->rank == 0) continue;
    int twice = 0;
    for (int j = 0; j < i; j++) twice |= ret->args[j] == v;
    if (!twice && definitions(&f->body, v) == 1 && defined_at_top(&f->body, v)) v->out_slot = i + 1;
  }
}

void pass_outslot(TirProgram *p, const PassOptions *o) {
  (void)o;
  for (int i = 0; i < p->funcs.n; i++) outslots(p->funcs.items[i]);
}
