/* ops.h — the operators of expressions (ops.def) and the reductions
 * (reduce.def), one enum each for every stage.
 * The AST's N_UNARY/N_BINARY, the TIR's TX_UNARY/TX_BINARY and codegen
 * hold an Op; grammar tokens stop at the front end, which maps them here
 * once (ast_unary, ast_binary). */
#ifndef TNS_OPS_H
#define TNS_OPS_H

typedef enum OpClass { OPC_ARITH, OPC_COMPARE, OPC_LOGIC, OPC_UNARY } OpClass;

typedef enum Op {
#define OP(id, token, text, cls) OP_##id,
#include "ops.def"
#undef OP
  OP_COUNT
} Op;

/* Reductions and normalisers written `op(i, j: e)` (reduce.def). */
typedef enum ReduceOp {
#define REDUCE(id, name, keeps, linear) RED_##id,
#include "reduce.def"
#undef REDUCE
  RED_COUNT
} ReduceOp;

const char *op_text(int op);      /* "+", "==", "!" */
OpClass op_class(int op);
int op_is_compare(int op);        /* == != < <= > >= */
const char *reduce_name(int op);  /* "sum" */
int reduce_lookup(const char *name);   /* -1 if not a reduction */

#endif
