/* tir.h — the tensor IR (architecture.md).
 *
 * A program is a list of functions; a function is a list of ops over
 * variables. A variable (TirVar) is a typed slot: a tensor buffer or a
 * scalar. Its shape is symbolic (types.h Dims over size names); each
 * function knows how every size name gets its value (a parameter, or bound
 * at run time by a load or a builtin).
 *
 * The core op is EINSUM: out[positions] (=|+=) body, where body is a
 * scalar expression tree over tensor accesses with index maps, index
 * values, scalar variables and reductions (sum/prod/max/min, logsumexp,
 * softmax, argmax/argmin). Everything elementwise or structural (whole
 * tensor arithmetic, copies, kron, khatri_rao, einsum(), eye, zeros, ...)
 * is written as an EINSUM by tir_build.c, so later passes (contraction
 * order, Kronecker structure, attention fusion) see one form.
 * The rest are CALL (user functions, specialised per element type),
 * BUILTIN (runtime calls: random, .npy, print, LAPACK...), LITERAL, CHECK
 * (run-time shape equality), and FOR/WHILE/IF regions and RETURN. */
#ifndef TNS_TIR_H
#define TNS_TIR_H
#include <stdio.h>
#include "ast.h"
#include "builtins.h"
#include "types.h"

typedef struct TirFunc TirFunc;
typedef struct TirExpr TirExpr;
typedef struct TirOp TirOp;

typedef struct TirVar {
  int id;
  const char *name;     /* source name, or NULL for a temporary */
  Type *type;           /* concrete: no type parameters */
  int param;            /* 1 + its parameter position, 0 if local */
  int out_slot;         /* 1 + the result it is computed straight into
                           (the caller's buffer), 0 if none (passes/outslot) */
} TirVar;

/* How a size name gets its value inside a function. */
typedef enum TirSizeKind { TS_PARAM, TS_BOUND } TirSizeKind;
typedef struct TirSize {
  const char *name;
  TirSizeKind kind;
  int param;            /* TS_PARAM: position among the size parameters */
} TirSize;

/* One index of one EINSUM (a statement's i, j, ... or a reduction's). */
typedef struct TirIndex {
  int id;               /* unique in the function */
  const char *name;
  Dim range;
  int prefix;           /* an explicit range: may cover only a prefix of
                           the dimensions it indexes */
} TirIndex;

typedef enum TirPosKind { TP_INDEX, TP_GROUP, TP_EXPR } TirPosKind;
/* One position of an access or of an EINSUM's output. */
typedef struct TirPos {
  TirPosKind kind;
  TirIndex **idx;       /* TP_INDEX: one; TP_GROUP: n, row-major */
  int n;
  TirExpr *e;           /* TP_EXPR: an i64 expression, bounds-checked */
} TirPos;

#define TIR_EXPR_KINDS(X) \
  X(CONST, "const")    /* elem, ival/fval */ \
  X(INDEX, "index")    /* idx[0] */ \
  X(DIM, "dim")        /* dim: a size as an i64 value */ \
  X(READ, "read")      /* var (rank 0) */ \
  X(ACCESS, "access")  /* var[pos...] */ \
  X(UNARY, "unary")    /* op (Op: OP_NEG, OP_NOT), a */ \
  X(BINARY, "binary")  /* op (Op, ops.def), a, b */ \
  X(MATH, "math")      /* op = builtin id (exp, pow, max, time, ...), args */ \
  X(WHERE, "where")    /* a ? b : c */ \
  X(CONVERT, "convert") /* a to elem */ \
  X(CALL, "call")      /* fn (all-scalar user function), args */ \
  X(REDUCE, "reduce")  /* op = ReduceOp, idx[n] over, a = body */

typedef enum TirExprKind {
#define X(id, name) TX_##id,
  TIR_EXPR_KINDS(X)
#undef X
} TirExprKind;

struct TirExpr {
  TirExprKind kind;
  ElemType elem;        /* element type of the value */
  union {               /* what the node computes, by kind: */
    Op op;              /* UNARY, BINARY (ops.def) */
    BuiltinId math;     /* MATH */
    ReduceOp reduce;    /* REDUCE */
  };
  int64_t ival;
  double fval;
  Dim dim;
  TirVar *var;
  TirPos *pos;          /* ACCESS: var->type->rank positions */
  TirIndex **idx;       /* INDEX, REDUCE */
  int n;                /* REDUCE: number of indices; MATH/CALL: args */
  TirExpr *a, *b, *c;
  TirExpr **args;
  TirFunc *fn;
  Span span;
};

#define TIR_OP_KINDS(X) \
  X(EINSUM, "einsum")    /* out[opos] = / += body */ \
  X(CALL, "call")        /* results = fn(args) */ \
  X(BUILTIN, "builtin")  /* results = builtin(args, strs) */ \
  X(LITERAL, "literal")  /* out = [elems] (row-major scalar exprs) */ \
  X(CHECK, "check")      /* dims[0] == dims[1] at run time, else msg */ \
  X(SIZE, "size")        /* size bind[0] = body (i64, >= 0, else msg) */ \
  X(FOR, "for")          /* for var in lo..hi { body } */ \
  X(WHILE, "while")      /* while cond { body } */ \
  X(IF, "if")            /* if cond { body } else { other } */ \
  X(RETURN, "return")    /* args */ \
  X(ATTENTION, "attention") /* out = softmax attention (attn), passes/attention.c */

typedef enum TirOpKind {
#define X(id, name) TO_##id,
  TIR_OP_KINDS(X)
#undef X
} TirOpKind;

/* A fused softmax attention (passes/attention.c; the kernel is
 * runtime/attention.c): out[b.., i, x] = sum(j: softmax(j: scale *
 * sum(c: q[b.., i, c] * k[b.., j, c]) + bias[b.., i, j]) * v[b.., j, x])
 * over the keys j allowed by every condition ca*i + cb*j + ck (+ cx) >= 0,
 * the others masked to -inf. Roles: TIR_ATTN_I, J, C, X, then batch. */
enum { TIR_ATTN_I, TIR_ATTN_J, TIR_ATTN_C, TIR_ATTN_X, TIR_ATTN_B, TIR_ATTN_ROLES = TIR_ATTN_B + 4,
       TIR_ATTN_CONDS = 8 };
typedef struct TirAttention {
  struct TirVar *q, *k, *v, *bias;   /* bias NULL: none */
  signed char pos[5][TIR_ATTN_ROLES]; /* q, k, v, out, bias: the dimension of
                                       each role, -1 where it has none */
  Dim ext[TIR_ATTN_ROLES];           /* the range of each role */
  int nbatch;
  struct TirExpr *scale[4];          /* index-free factors of the scores */
  int divides[4], nscale;
  int64_t ca[TIR_ATTN_CONDS], cb[TIR_ATTN_CONDS], ck[TIR_ATTN_CONDS];
  struct TirExpr *cx[TIR_ATTN_CONDS];/* an index-free i64 term, or NULL */
  int ncond;
  /* grouped-query attention: operand o reads batch role r at r / div[o][r]
     (0: at r itself), its dimension there lim[o][r] */
  int64_t div[5][TIR_ATTN_ROLES];
  Dim lim[5][TIR_ATTN_ROLES];
  /* key padding: j pcmp pad[b..] + poff (pcmp 0..3: < <= > >=), pad read
     at the batch roles of ppos, poff a constant or NULL */
  struct TirVar *pad[2];
  struct TirExpr *poff[2];
  signed char ppos[2][TIR_ATTN_ROLES];
  int pcmp[2], npad;
  /* softcap: s = cap * tanh(scale * q . k), cap the product of capf */
  struct TirExpr *capf[4];
  int capdiv[4], ncap, capped;
  /* ALiBi: s += asign * slope * (aa*i + ab*j + ak + akx), slope a scalar
     (slopex) or a tensor read at batch roles (slope, spos); after the bias */
  struct TirVar *slope;
  struct TirExpr *slopex, *akx;
  signed char spos[TIR_ATTN_ROLES];
  int64_t aa, ab, ak;
  int asign, alibi;
  /* order R >= 2 (softmax over R key indices j1..jR): k, v hold j1; key r
     (1..R-1) is kx[r-1][.., jr, c], its values vx[r-1][.., jr, x], jr of
     range mx[r-1]; positions with role J meaning jr */
  int order;
  struct TirVar *kx[3], *vx[3];
  signed char kxpos[3][TIR_ATTN_ROLES], vxpos[3][TIR_ATTN_ROLES];
  Dim mx[3];
  /* the row log-sum-exp as a second result lse[b.., i] (NULL: none) */
  struct TirVar *lse;
  signed char lpos[TIR_ATTN_ROLES];
  /* order R >= 2, per further key r+2: its coefficient in each condition
     (cb is key 1's: sum(keys: cb*jr) + ca*i + ck >= 0), its dimension in
     the bias (-1: none), and the divisors (limits) of grouped batch reads
     of kx[r] and vx[r], as div/lim above */
  int64_t cbx[3][TIR_ATTN_CONDS];
  int64_t abx[3];                    /* ALiBi: + abx[r]*j(r+2) */
  int pkey[2];                       /* the key (0..R-1) each padding bound limits */
  signed char bxpos[3];
  /* the keys (0..R-1) in the order -O0 nests the values' sums, innermost
     first: sum(k: sum(j: P * V1) * V2) is j, k (it decides NaN or inf when
     a value is not finite) */
  signed char nest[4];
  int64_t kxdiv[3][TIR_ATTN_ROLES], vxdiv[3][TIR_ATTN_ROLES];
  Dim kxlim[3][TIR_ATTN_ROLES], vxlim[3][TIR_ATTN_ROLES];
} TirAttention;
/* A (batched) matrix product without a transposed copy: out[b, m, n] (+)=
 * alpha * sum(k: A * B), each operand laid out as [batch, then its two
 * blocks in either order] (gemm.h recognises it). */
typedef struct GemmShape {
  const TirVar *a, *b;        /* C = op(a) op(b) */
  int ta, tb;                 /* a stored [K, M], b stored [N, K] */
  Dim batch, m, n, k;
  int a_batched, b_batched;   /* 0: the same matrix for every batch element */
  const TirExpr *alpha;       /* NULL: 1 */
  int alpha_divides;          /* alpha is a divisor: C = (A B) / alpha */
} GemmShape;

/* How an EINSUM runs, decided once by the pass that owns the decision and
 * read by codegen and `explain` (-O0 leaves every EINSUM on its loops). */
typedef enum TirLowering {
  TL_LOOPS,     /* its loop nest, op->loops */
  TL_GEMM,      /* one runtime matrix product, op->gemm (the layout pass) */
  TL_PERMUTE,   /* one tiled transposed copy, op->perm (the layout pass) */
} TirLowering;

typedef struct TirBlock {
  TirOp **ops;
  int n, cap;
} TirBlock;

struct TirOp {
  TirOpKind kind;
  Span span;
  TirVar *out;          /* EINSUM, LITERAL, FOR (the loop variable) */
  TirPos *opos;         /* EINSUM: out->type->rank positions */
  TirIndex **oidx;      /* EINSUM: every output index, loop order */
  int noidx;
  int accumulate;       /* EINSUM: += */
  int partial;          /* EINSUM: = at fixed positions (U[t, q] = x[q]):
                           writes into out's buffer, the rest keeps its values */
  union {               /* the op's expression, named by kind: */
    TirExpr *body;      /* EINSUM: the value of each element */
    TirExpr *lo;        /* FOR: the first value */
    TirExpr *cond;      /* WHILE, IF: the condition (bool) */
    TirExpr *value;     /* SIZE: the size bound (i64) */
  };
  TirExpr *hi;          /* FOR hi */
  TirExpr **elems;      /* LITERAL */
  int nelems;
  BuiltinId builtin;    /* BUILTIN */
  TirFunc *fn;          /* CALL */
  Dim *sargs;           /* CALL: the callee's size parameters, in order */
  int nsargs;
  TirVar **args;        /* CALL, BUILTIN, RETURN arguments */
  const char **strs;    /* BUILTIN: string arguments (NULL where a var) */
  int nargs;
  TirVar **results;     /* CALL, BUILTIN */
  int nresults;
  const char **bind;    /* BUILTIN load/svd/qr: size names bound, per dim;
                           CHECK (by division), SIZE: the one it binds */
  int nbind;
  Dim dims[2];          /* CHECK */
  int le;               /* CHECK: dims[0] <= dims[1] (a prefix) */
  const char *msg;      /* CHECK, BUILTIN assert: text */
  const char *loc;      /* "file.tns:3:14" for run-time errors */
  TirAttention *attn;   /* ATTENTION */
  TirBlock body_ops;    /* FOR, WHILE, IF: the body */
  union {
    TirBlock else_ops;  /* IF: the else branch */
    TirBlock cond_ops;  /* WHILE: ops computing the condition, run before
                           each test */
  };
  struct LirNode *loops; /* EINSUM with rank > 0 output: its loop nest (lir.h,
                            set by the lir stage, read by codegen) */
  TirLowering lowering; /* EINSUM: loops, GEMM or permute (see above) */
  GemmShape *gemm;      /* TL_GEMM */
  int *perm;            /* TL_PERMUTE: output axis k is axis perm[k] of the source */
  int parallel;         /* TL_LOOPS: the outer loop runs on the thread pool
                           (decided by the lir stage at -O1 and above) */
};

struct TirFunc {
  const char *name;     /* symbol name (specialised: name__f32) */
  const char *source_name;
  Node *def;            /* NULL for the top-level program */
  int *elems;           /* element type bound to each type parameter */
  PtrVec params;        /* TirVar, in order */
  PtrVec sizes;         /* TirSize: parameters first, in ABI order */
  int nsize_params;
  PtrVec results;       /* Type, concrete */
  PtrVec vars;          /* every TirVar */
  TirBlock body;
  int nindices;
  int exported;         /* visible to C (tnsc obj/lib) */
  int array_results;    /* results are TnsArray* filled by the callee (the
                           REPL: shapes may be known only at run time) */
};

typedef struct TirProgram {
  Arena *arena;
  PtrVec funcs;
  TirFunc *main;        /* top-level statements; NULL for a library */
  PtrVec contracts;     /* ContractInfo (passes.h) of contracted statements */
  PtrVec structures;    /* StructureInfo (passes.h): Kronecker decisions */
  PtrVec attentions;    /* AttentionInfo (passes.h): fused attention */
} TirProgram;

/* tir_build.c: typed AST -> TIR. Specialises generic functions per call. */
TirProgram *tir_build(Arena *a, StrTab *names, Node *prog, int with_main);
/* An exported instance NAME_f32 (...) of a generic def, for C callers
 * (`--instantiate NAME:f32`); NULL when there is no such def. */
TirFunc *tir_instantiate(TirProgram *p, StrTab *names, Node *prog, const char *name, const int *elems, int n);
/* tir_print.c: `tnsc emit tir` */
void tir_print(FILE *f, const TirProgram *p);
void tir_print_expr(FILE *f, const TirExpr *x);
void tir_print_pos(FILE *f, const TirPos *p);
/* tir_verify.c: structural invariants; returns the number of problems and
 * prints them (debug builds run it between passes). */
int tir_verify(const TirProgram *p, FILE *out);

/* Helpers shared by the builder and the passes. */
TirVar *tir_var_new(Arena *a, TirFunc *f, const char *name, Type *t);
TirOp *tir_op_new(Arena *a, TirOpKind k, Span sp);
void tir_block_append(Arena *a, TirBlock *b, TirOp *op);
TirExpr *tir_expr_new(Arena *a, TirExprKind k, ElemType elem, Span sp);
TirIndex *tir_index_new(Arena *a, TirFunc *f, const char *name, Dim range);
TirSize *tir_size_find(const TirFunc *f, const char *name);
int tir_expr_uses_index(const TirExpr *x);
/* Reads and writes of v: by b->ops[from..] and the regions inside them
 * (an accumulating or partial write reads v too). */
typedef struct TirUses {
  const TirVar *v;
  int reads, writes;
} TirUses;
void tir_uses_expr(const TirExpr *x, TirUses *u);
void tir_uses_op(const TirOp *op, TirUses *u);
void tir_uses_block(const TirBlock *b, int from, TirUses *u);
TirUses tir_uses_func(const TirFunc *f, const TirVar *v);
/* Calls fn on x and every expression below it, position expressions of
 * accesses included (parents first). */
void tir_expr_visit(const TirExpr *x, void (*fn)(const TirExpr *, void *), void *ud);
/* x may be evaluated at another time or a different number of times: it
 * calls no user function and no time(). */
int tir_expr_movable(const TirExpr *x);
const TirExpr *tir_split_scale(const TirExpr *body, const TirExpr **scale, int *divides);
int tir_plain_access(const TirExpr *x, TirIndex **idx, int max);
const char *tir_expr_kind_name(int k);
const char *tir_op_kind_name(int k);

#endif
