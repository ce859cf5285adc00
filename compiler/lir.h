/* lir.h — the loop IR: how one TIR EINSUM runs as loops.
 *
 * lir_lower turns an EINSUM into its naive loop nest, in the order the
 * statement was written: a loop per output index (marked parallel: its
 * iterations are independent), and, when the value is a sum, product,
 * max or min at its root, an accumulator with a loop per reduced index
 * inside. Reductions deeper in an expression (or softmax, logsumexp,
 * argmax) stay in the stored expression and are lowered with it by
 * cg_expr.c. Code generation (cg.c) emits LLVM from this form; passes
 * that tile, reorder or parallelise loops will work on it. */
#ifndef TNS_LIR_H
#define TNS_LIR_H
#include <stdio.h>
#include "tir.h"

typedef enum LirKind { LIR_LOOP, LIR_ACC_INIT, LIR_ACC_UPDATE, LIR_STORE } LirKind;

typedef struct LirNode LirNode;
struct LirNode {
  LirKind kind;
  const TirIndex *index;    /* LOOP: runs index over 0..extent */
  Dim extent;
  int parallel;             /* LOOP: iterations are independent */
  LirNode **body;           /* LOOP (a PtrVec: body, n, cap) */
  int n, cap;
  int acc;                  /* ACC_*: which accumulator (per nest) */
  int op;                   /* ACC_*: ReduceOp */
  int elem;                 /* ACC_*: element type */
  const TirExpr *value;     /* ACC_UPDATE: added in; STORE: stored (NULL: acc) */
  const TirExpr *scale;     /* STORE of an acc: multiplied (or divided) by */
  int divide;
  const TirVar *out;        /* STORE */
  const TirPos *pos;
  int accumulate;           /* STORE: += */
};

/* The loop nest of an EINSUM with rank > 0 output. */
LirNode *lir_lower(Arena *a, const TirOp *op);
void lir_print(FILE *f, const LirNode *n, int depth);
/* `tnsc emit lir`: every function's EINSUM ops as loop nests. */
void lir_print_program(FILE *f, const TirProgram *p);

#endif
