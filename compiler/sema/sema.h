/* sema.h — semantic analysis: names, types, shapes, index ranges and
 * implicit sums. Needs a parsed program; guarantees, when it reports no
 * error, that every expression node has a type, every NAME a symbol, every
 * index a range, and every implicit sum is an explicit REDUCE node. */
#ifndef TNS_SEMA_H
#define TNS_SEMA_H
#include "compile.h"
#include "types.h"

/* What a NAME node's `sym` points to: a Symbol, or an IndexVar for an
 * index; both start with their kind. */
typedef enum SymKind { SYM_VAR, SYM_FUNC, SYM_SIZE, SYM_TPARAM, SYM_INDEX } SymKind;
typedef enum DefState { DEF_UNCHECKED, DEF_CHECKING, DEF_DONE } DefState;

typedef struct Symbol {
  SymKind kind;
  const char *name;
  Span span;            /* where it was defined */
  Type *type;
  Dim size;             /* SYM_SIZE: its value as a dimension */
  Node *def;            /* SYM_FUNC: the DEF node */
  DefState state;
  Type *result;         /* SYM_FUNC: result type (tuple when several) */
  int has_const;        /* SYM_VAR: an i64 scalar whose value is known */
  int64_t cval;
  int has_dim_of;       /* SYM_VAR: k = dim(X, 1), a size that a reversed
                           position X[i, k - 1 - q] may name */
  Dim dim_of;
  int loop_depth;       /* loop nesting where it was defined */
} Symbol;

/* One index name inside one statement (or one explicit reduction). */
typedef struct IndexVar {
  SymKind kind;         /* SYM_INDEX */
  const char *name;
  int has_range;
  int explicit_range;   /* the range is written (`a: r`): a prefix of the
                           dimensions it indexes */
  Dim range;
  Span range_span;      /* the use that gave the range */
  const char *range_from;  /* the tensor (text) that gave it */
  int on_lhs;
  int implicit;         /* summed by the Einstein rule */
  int kept;             /* named by softmax: refers to an outer index */
  int uses;             /* number of NAME nodes that refer to it */
  Node *reduce;         /* explicit reduction that binds it */
  int id;
  Node *reversed;       /* a position `n - 1 - q` over a dimension of size
                           n: the range n when nothing else gives one */
  Dim reversed_dim;
  const char *reversed_of;
  Node *near_reversed;  /* `k - 1 - q` that is not over a dimension of size
                           k: named in the message when q has no range */
  Dim near_dim;
} IndexVar;


void sema_program(Compiler *c, Node *prog, const char *path);
/* Parse + semantic analysis; returns the typed program, or NULL on errors. */
Node *sema_check_file(Compiler *c, const char *path);

#endif
