/* outslot.c — results computed straight into the caller's buffer.
 *
 * Needs: TIR after the other passes. Guarantees: a returned tensor that is
 * defined once on every path (one EINSUM, ATTENTION or call of a user
 * function, or one per branch of an if; not
 * in a loop; maybe added to with +=) and whose shape is provably the
 * declared one, is marked with the result it is: code generation
 * then writes it into the caller's output buffer and `return` copies
 * nothing (a 2048x2048 product is 32 MB less traffic). Not for the REPL's
 * array results, whose buffers the callee allocates. */
#include "passes.h"

enum { NEVER = 1000 };

/* The most definitions of v along one path through b: an if counts its
 * busier branch (only one runs); a loop, or an op other than a plain
 * EINSUM, ATTENTION or call of a user function writing v, counts as
 * NEVER. */
static int definitions(const TirBlock *b, const TirVar *v) {
  int n = 0;
  for (int i = 0; i < b->n; i++) {
    const TirOp *op = b->ops[i];
    if ((op->kind == TO_EINSUM || op->kind == TO_ATTENTION) && op->out == v && !op->accumulate && !op->partial) n++;
    if ((op->kind == TO_LITERAL || op->kind == TO_FOR) && op->out == v) n += NEVER;
    for (int k = 0; k < op->nresults; k++)   /* a callee fills a buffer we pass whole */
      if (op->results[k] == v) n += op->kind == TO_CALL && !op->fn->array_results ? 1 : NEVER;
    if (op->kind == TO_IF) {
      int t = definitions(&op->body_ops, v), e = definitions(&op->else_ops, v);
      n += t > e ? t : e;
    } else if (op->kind == TO_FOR || op->kind == TO_WHILE) {
      if (definitions(&op->body_ops, v) || (op->kind == TO_WHILE && definitions(&op->cond_ops, v))) n += NEVER;
    }
  }
  return n;
}

/* Whether v's shape is provably the declared result's: sizes from data
 * are checked by the return, after v is computed. */
static int result_shape(const TirVar *v, const Type *t) {
  for (int k = 0; k < t->rank; k++)
    if (dim_cmp(v->type->dims[k], t->dims[k]) != DIM_EQUAL) return 0;
  return 1;
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
    if (!twice && result_shape(v, f->results.items[i]) && definitions(&f->body, v) == 1) v->out_slot = i + 1;
  }
}

void pass_outslot(TirProgram *p, const PassOptions *o) {
  (void)o;
  for (int i = 0; i < p->funcs.n; i++) outslots(p->funcs.items[i]);
}
