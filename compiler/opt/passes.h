/* passes.h — the optimisation passes over TIR, run in order by
 * pipeline.c (architecture.md). Each pass is one file in passes/ with one
 * entry point. -O0 runs none of them: the naive lowering is the oracle. */
#ifndef TNS_PASSES_H
#define TNS_PASSES_H
#include <stdio.h>
#include "tir.h"

typedef struct PassOptions {
  double memory_limit;      /* largest intermediate, elements; 0: none */
  const char *dump_after;   /* print TIR after this pass (--dump-after) */
  FILE *dump;
} PassOptions;

/* One contracted statement, for `tnsc explain`. */
typedef struct PathStepInfo {
  int args[8];              /* positions in the current operand list */
  int nargs;
  TirOp *op;                /* the op computing this step */
  double flops;
  char result[128];         /* index names of the result */
  char shape[128];          /* its shape, e.g. [n, 64] */
  int copies;               /* transposed copies the layout pass added */
  int reused;               /* 1 + the earlier step whose result this one
                               reads (the same product, renamed), else 0 */
} PathStepInfo;

typedef struct ContractInfo {
  Span span;
  const char *target;
  const char *operands[64]; /* factor order; scalar factors too */
  int noperands;
  int nscalar;              /* how many of them are scalar factors (last) */
  PathStepInfo steps[128];
  int nsteps;
  double naive_flops, flops, largest;
  int symbolic;             /* some sizes were symbolic: bit 0 estimated
                               from a file read at compile time, bit 1
                               guessed (64) */
  int lifted;               /* a product inside a larger statement, computed
                               into a temporary first (the rest reads it) */
  int ncand;                /* candidate paths chosen among at run time */
  const char *cand_path[4], *cand_cost[4];
} ContractInfo;

/* One Kronecker/Khatri-Rao definition, for `tnsc explain`. */
typedef struct StructureInfo {
  Span span;
  const char *target;       /* the defined name (NULL: a temporary) */
  int rewritten;            /* contractions that now read the factors */
  int materialised;         /* still computed densely */
  const char *why;          /* the read that needs it, when materialised */
  double dense_bytes;       /* its size (0: unknown) */
  const char *algebra;      /* passes/kronla.c: a solve/logdet/inv/cholesky
                               computed from the factors, and how (NULL:
                               a structure record as above) */
} StructureInfo;

/* One softmax attention, fused or not, for `tnsc explain`. */
typedef struct AttentionInfo {
  Span span;
  const char *target;       /* the output's name */
  int fused;
  int order;                /* keys summed per softmax (1: ordinary) */
  int nmask;                /* conditions turned into key ranges */
  int bias, nbatch;
  const char *why;          /* why not, when not fused */
  const char *extras;       /* ", grouped K/V, key padding, ..." or "" */
} AttentionInfo;


/* passes/kroninline.c — a call passed a Kronecker product (or a sum with
 * one) is inlined, so that kronla and structure see the factors inside
 * the callee; runs first. */
void pass_kroninline(TirProgram *p, const PassOptions *o);

/* passes/kronla.c — solve, logdet, inv and cholesky of Kronecker
 * products, of kron + s*eye and of Kronecker sums computed from the
 * factors (inverses, Cholesky factors, eigendecompositions); runs before
 * structure. */
void pass_kronla(TirProgram *p, const PassOptions *o);

/* passes/structure.c — reads of kron/khatri_rao results inside
 * contractions become products of the factors over split indices; the
 * dense tensor is computed only for what still reads it whole. */
void pass_structure(TirProgram *p, const PassOptions *o);

/* passes/attention.c — softmax(j: scores) contracted with values over j
 * becomes one ATTENTION op (a streaming kernel); masks become key ranges. */
void pass_attention(TirProgram *p, const PassOptions *o);

/* passes/hoist.c — a reduction that uses fewer indices than the loops
 * around it (a row sum in a normalisation, softmax's max and sum) is
 * computed once per value of the indices it uses, into a temporary, by an
 * EINSUM before the statement. */
void pass_hoist(TirProgram *p, const PassOptions *o);

/* passes/contract.c — contraction order of multi-operand product-sums.
 * Needs: TIR from tir_build. Guarantees: every EINSUM whose body is
 * sum(R: product of >= 3 tensor accesses and scalars) is replaced by
 * pairwise EINSUM steps in a cheapest order (by FLOPs, then copies),
 * intermediates in fresh temporaries, a step repeating an earlier one
 * under other index names reading its result; a product-sum inside a
 * larger body (an added term, gelu(...), max(...), where(...)) is first
 * computed the same way into a temporary the body then reads; records a
 * ContractInfo per contraction in p->contracts. */
void pass_contract(TirProgram *p, const PassOptions *o);

/* passes/layout.c — pairwise products into GEMM form with the fewest
 * copies (see the file's header). */
void pass_layout(TirProgram *p, const PassOptions *o);

/* passes/outslot.c — results written straight into the caller's buffer. */
void pass_outslot(TirProgram *p, const PassOptions *o);

#endif
