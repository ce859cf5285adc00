/* test_tir_build.c — tir/tir_build.c: the TIR each statement form becomes
 * (op kinds, named fields, positions, flags). */
#include <string.h>
#include "tir_fixture.h"

static Compiler *cc;

static TirFunc *func(const char *text, const char *name) {
  cc = compiler_new(NULL);
  TirProgram *p = tir_of(cc, text, 0);
  cr_assert_eq(tir_verify(p, stderr), 0);
  for (int i = 0; i < p->funcs.n; i++) {
    TirFunc *f = p->funcs.items[i];
    if (strcmp(f->source_name, name) == 0) return f;
  }
  cr_assert_fail("no function %s", name);
  return NULL;
}

static void done(void) { compiler_free(cc); }

/* The first op of kind k in b (not looking inside nested blocks). */
static TirOp *first(const TirBlock *b, TirOpKind k) {
  for (int i = 0; i < b->n; i++)
    if (b->ops[i]->kind == k) return b->ops[i];
  return NULL;
}

TestSuite(tir_build, .fini = done);

/* C[i, k] = A[i, j] * B[j, k]: one EINSUM, sum over j of a product of two
 * accesses, two output indices. */
Test(tir_build, matmul_is_one_einsum) {
  TirFunc *f = func("def t(A: f64[n, m], B: f64[m, q]) -> f64[n, q] {\n"
                    "  C[i, k] = A[i, j] * B[j, k]\n  return C\n}\n", "t");
  TirOp *op = first(&f->body, TO_EINSUM);
  cr_assert_not_null(op);
  cr_expect_eq(op->noidx, 2);
  cr_expect_eq(op->accumulate, 0);
  cr_assert_eq(op->body->kind, TX_REDUCE);
  cr_expect_eq(op->body->reduce, RED_SUM);
  cr_expect_eq(op->body->n, 1);
  cr_assert_eq(op->body->a->kind, TX_BINARY);
  cr_expect_eq(op->body->a->op, OP_MUL);
  cr_expect_eq(op->body->a->a->kind, TX_ACCESS);
  cr_expect_eq(op->body->a->b->kind, TX_ACCESS);
  cr_expect_eq(op->body->elem, ELEM_F64);
  TirOp *ret = f->body.ops[f->body.n - 1];
  cr_expect_eq(ret->kind, TO_RETURN);
  cr_expect_eq(ret->nargs, 1);
}

/* x[i] += A[i, j]: accumulate into the existing tensor */
Test(tir_build, plus_equals_accumulates) {
  TirFunc *f = func("def t(A: f64[n, m]) -> f64[n] {\n  x[i] = A[i, 0]\n"
                    "  x[i] += A[i, j]\n  return x\n}\n", "t");
  int acc = 0, einsums = 0;
  for (int i = 0; i < f->body.n; i++)
    if (f->body.ops[i]->kind == TO_EINSUM) {
      einsums++;
      acc += f->body.ops[i]->accumulate;
    }
  cr_expect_eq(einsums, 2);
  cr_expect_eq(acc, 1);
}

/* U[t, q] = x[q] at a fixed position writes part of U (partial) */
Test(tir_build, fixed_position_is_partial) {
  TirFunc *f = func("def t(x: f64[m]) -> f64[3, m] {\n  U = zeros(f64[3, m])\n"
                    "  U[1, q] = x[q]\n  return U\n}\n", "t");
  int partial = 0;
  for (int i = 0; i < f->body.n; i++)
    if (f->body.ops[i]->kind == TO_EINSUM) partial += f->body.ops[i]->partial;
  cr_expect_eq(partial, 1);
}

/* for k in 0..n: lo and hi are i64, the body is its own block */
Test(tir_build, for_loop_fields) {
  TirFunc *f = func("def t(A: f64[n]) -> f64[n] {\n  x[i] = A[i]\n  for k in 1..n {\n"
                    "    x[i] = x[i] * 2.0\n  }\n  return x\n}\n", "t");
  TirOp *op = first(&f->body, TO_FOR);
  cr_assert_not_null(op);
  cr_expect_eq(op->lo->elem, ELEM_I64);
  cr_expect_eq(op->hi->elem, ELEM_I64);
  cr_expect_eq(op->lo->kind, TX_CONST);
  cr_expect_eq(op->lo->ival, 1);
  cr_expect_not_null(op->out);
  cr_expect_geq(op->body_ops.n, 1);
}

/* while c: the condition is bool; ops computing it run before each test */
Test(tir_build, while_condition) {
  TirFunc *f = func("def t(A: f64[n]) -> f64 {\n  s = 1.0\n  while s < sum(i: A[i]) {\n"
                    "    s = s * 2.0\n  }\n  return s\n}\n", "t");
  TirOp *op = first(&f->body, TO_WHILE);
  cr_assert_not_null(op);
  cr_assert_not_null(op->cond);
  cr_expect_eq(op->cond->elem, ELEM_BOOL);
  cr_expect_geq(op->body_ops.n, 1);
}

/* if / else: two blocks and a bool condition */
Test(tir_build, if_else_blocks) {
  TirFunc *f = func("def t(c: f64) -> f64 {\n  r = c\n  if c > 0.0 {\n    r = 2.0 * c\n  } else {\n    r = -c\n  }\n"
                    "  return r\n}\n", "t");
  TirOp *op = first(&f->body, TO_IF);
  cr_assert_not_null(op);
  cr_expect_eq(op->cond->elem, ELEM_BOOL);
  cr_expect_eq(op->cond->kind, TX_BINARY);
  cr_expect_eq(op->cond->op, OP_GT);
  cr_expect_geq(op->body_ops.n, 1);
  cr_expect_geq(op->else_ops.n, 1);
}

/* kron(A, B) is index form over grouped positions */
Test(tir_build, kron_is_grouped_einsum) {
  TirFunc *f = func("def t(A: f64[2, 3], B: f64[4, 5]) -> f64[8, 15] {\n  K = kron(A, B)\n"
                    "  return K\n}\n", "t");
  TirOp *op = first(&f->body, TO_EINSUM);
  cr_assert_not_null(op);
  cr_expect_eq(op->opos[0].kind, TP_GROUP);
  cr_expect_eq(op->opos[0].n, 2);
  cr_expect_eq(op->opos[1].kind, TP_GROUP);
  cr_expect_eq(op->body->kind, TX_BINARY);
  cr_expect_eq(op->body->op, OP_MUL);
}

/* exp(x) is MATH with its builtin id; max over j is a REDUCE max */
Test(tir_build, math_and_reduce_ids) {
  TirFunc *f = func("def t(A: f64[n, m]) -> f64[n] {\n  r[i] = exp(max(j: A[i, j]))\n"
                    "  return r\n}\n", "t");
  TirOp *op = first(&f->body, TO_EINSUM);
  cr_assert_not_null(op);
  cr_assert_eq(op->body->kind, TX_MATH);
  cr_expect_eq(op->body->math, B_EXP);
  cr_assert_eq(op->body->args[0]->kind, TX_REDUCE);
  cr_expect_eq(op->body->args[0]->reduce, RED_MAX);
}

/* a size from an i64 value becomes a SIZE op binding it */
Test(tir_build, value_size_is_a_size_op) {
  TirFunc *f = func("def t(k: i64) -> f64 {\n  Z = zeros(f64[k, k])\n  return sum(i, j: Z[i, j])\n}\n", "t");
  TirOp *op = first(&f->body, TO_SIZE);
  cr_assert_not_null(op);
  cr_expect_eq(op->value->elem, ELEM_I64);
  cr_expect_eq(op->nbind, 1);
}

/* load with an annotation: a BUILTIN binding the sizes it names */
Test(tir_build, load_binds_sizes) {
  TirFunc *f = func("def t(s: f64) -> f64 {\n  X: f64[a, b] = load(\"x.npy\")\n  return sum(i, j: X[i, j])\n}\n", "t");
  TirOp *op = first(&f->body, TO_BUILTIN);
  cr_assert_not_null(op);
  cr_expect_eq(op->builtin, B_LOAD);
}
