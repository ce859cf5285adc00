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

typedef enum LirKind {
  LIR_LOOP, LIR_ACC_INIT, LIR_ACC_UPDATE, LIR_STORE,
  LIR_BLOCK,       /* its body in order (a scheduled nest without outer loop) */
  LIR_OUT_INIT,    /* out[pos] = the fold's identity */
  LIR_OUT_UPDATE,  /* out[pos] op= value: the fold accumulates in the output */
  LIR_OUT_SCALE    /* out[pos] *= scale (or /=), once the fold is complete */
} LirKind;

typedef struct LirNode LirNode;
struct LirNode {
  LirKind kind;
  const TirIndex *index;    /* LOOP: runs index over 0..extent */
  Dim extent;
  int parallel;             /* LOOP: iterations are independent */
  int64_t tile;             /* LOOP: > 0: runs over the tiles of index
                               (0..ceil(extent/tile)), not the index */
  LirNode *within;          /* LOOP: runs index over one tile of this loop */
  LirNode **body;           /* LOOP (a PtrVec: body, n, cap) */
  int n, cap;
  int acc;                  /* ACC_*: which accumulator (per nest) */
  ReduceOp op;              /* ACC_*: the fold */
  ElemType elem;            /* ACC_*: element type */
  const TirExpr *value;     /* ACC_UPDATE: added in; STORE: stored (NULL: acc) */
  const TirExpr *scale;     /* STORE of an acc, OUT_SCALE: multiplied (or divided) by */
  int divide;
  const TirVar *out;        /* STORE, OUT_* */
  const TirPos *pos;
  int accumulate;           /* STORE: += */
};

/* The loop nest of an EINSUM with rank > 0 output. */
LirNode *lir_lower(Arena *a, const TirOp *op);
/* The nest reordered for the memory (-O1 and above): when an output
 * index is the unit-stride one of more accesses than the innermost
 * reduction index, the fold accumulates in the output and that index's
 * loop goes innermost (C[i, j] = max(k: A[i, k] + B[k, j]) runs i, k, j:
 * contiguous, vectorisable); the output index loops are then tiled so a
 * block of the output stays in cache across the reduction. Returns root
 * unchanged when nothing pays. */
LirNode *lir_schedule(Arena *a, LirNode *root);
void lir_print(FILE *f, const LirNode *n, int depth);
/* The lir stage (pipeline.c): every EINSUM with a rank > 0 output gets its
 * loop nest in op->loops, in p's arena. With optimize (-O1 and above) the
 * nest is scheduled (lir_schedule) and op->parallel records whether its
 * outer loop runs on the thread pool. Codegen emits these nests. */
void lir_program(TirProgram *p, int optimize);
/* `tnsc emit lir`: the loop nests lir_program recorded. */
void lir_print_program(FILE *f, const TirProgram *p);

#endif
