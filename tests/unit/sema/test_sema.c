/* Tests for compiler/sema*.c: types and shapes of checked programs, the
 * implicit-sum rule of language.md section 5 (where the REDUCE node is
 * placed), grouped indices, symbolic sizes, calls, literal typing, and
 * the errors the language reference asks for, with their positions. The
 * expected shapes are worked out by hand from the programs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "sema.h"
#include "types.h"
#include "fixture.h"

TestSuite(sema, .init = setup, .fini = teardown);

static Node *check(const char *text) {
  Source *src = source_from_string(comp->arena, "t.tns", text);
  Node *prog = parse_source(&comp->ast, src);
  cr_assert_not_null(prog, "parse failed:\n%s", diags());
  cr_assert_eq(comp->diag.nerrors, 0, "syntax errors:\n%s", diags());
  sema_program(comp, prog, "t.tns");
  return prog;
}

/* Checks a program that must be clean. */
static Node *check_ok(const char *text) {
  Node *prog = check(text);
  cr_assert_eq(comp->diag.nerrors, 0, "unexpected errors for:\n%s\n%s", text, diags());
  return prog;
}

/* Checks a program that must have errors; returns the diagnostics. */
static const char *check_bad(const char *text) {
  check(text);
  cr_assert_gt(comp->diag.nerrors, 0, "no error for:\n%s", text);
  return diags();
}

static char *tstr(const Type *t) {
  cr_assert_not_null(t, "no type");
  return type_to_string(comp->arena, t);
}

/* Statement i of the program (negative: from the end). */
static Node *stmt(Node *prog, int i) {
  if (i < 0) i += prog->list.n;
  cr_assert(i >= 0 && i < prog->list.n);
  return prog->list.items[i];
}

/* The type given to the target of assignment statement i. */
static char *target_type(Node *prog, int i) {
  Node *st = stmt(prog, i);
  cr_assert_eq(st->kind, N_ASSIGN);
  return tstr(st->list.items[0]->type);
}

static int count_kind(const Node *n, NodeKind k) {
  if (!n) return 0;
  int c = n->kind == k;
  c += count_kind(n->a, k) + count_kind(n->b, k) + count_kind(n->c, k);
  for (int i = 0; i < n->list.n; i++) c += count_kind(n->list.items[i], k);
  for (int i = 0; i < n->list2.n; i++) c += count_kind(n->list2.items[i], k);
  return c;
}

static int count_errors(const char *d) {
  int n = 0;
  for (const char *p = d; (p = strstr(p, ": error: ")); p++) n++;
  return n;
}

/* A REDUCE node (implicit or not) over exactly the given indices. */
static void expect_reduce(const Node *r, int op, int implicit, const char *idx) {
  cr_assert_not_null(r);
  cr_assert_eq(r->kind, N_REDUCE, "want a reduce, got %s", ast_kind_name(r->kind));
  cr_assert_eq(r->op, op, "reduce %s", reduce_name(r->op));
  cr_assert_eq(r->implicit, implicit);
  char got[64] = "";
  for (int i = 0; i < r->list.n; i++) {
    cr_assert_eq(r->list.items[i]->kind, N_NAME);
    if (i) strcat(got, ",");
    strcat(got, r->list.items[i]->name);
  }
  cr_assert_str_eq(got, idx);
}

#define AB "A = randn(f64[3, 4])\nB = randn(f64[4, 5])\n"

/* ---- implicit sums ---- */

Test(sema, matmul_shape_and_sum) {
  Node *prog = check_ok(AB "C[i, k] = A[i, j] * B[j, k]\n");
  cr_assert_str_eq(target_type(prog, 2), "f64[3, 5]");
  Node *v = stmt(prog, 2)->a;
  expect_reduce(v, RED_SUM, 1, "j");
  cr_assert_eq(v->a->kind, N_BINARY);
  cr_assert_eq(v->a->op, OP_MUL);
  cr_assert_str_eq(tstr(v->type), "f64");
  cr_assert_eq(count_kind(v, N_REDUCE), 1, "exactly one sum");
}

Test(sema, sum_wraps_the_product_not_the_bias) {
  Node *prog = check_ok("A = randn(f64[3, 4])\nx = randn(f64[4])\nb = randn(f64[3])\n"
                        "y[i] = A[i, j] * x[j] + b[i]\n");
  cr_assert_str_eq(target_type(prog, 3), "f64[3]");
  Node *v = stmt(prog, 3)->a;
  cr_assert_eq(v->kind, N_BINARY, "the + stays on top, got %s", ast_kind_name(v->kind));
  cr_assert_eq(v->op, OP_ADD);
  expect_reduce(v->a, RED_SUM, 1, "j");
  cr_assert_eq(v->a->a->op, OP_MUL);
  cr_assert_eq(v->b->kind, N_INDEX, "b[i] is added once, outside the sum");
  cr_assert_eq(count_kind(v, N_REDUCE), 1);
}

Test(sema, sum_over_a_sum_of_terms) {
  Node *prog = check_ok("A = randn(f64[3, 4])\nB = randn(f64[3, 4])\nt[i] = A[i, j] + B[i, j]\n");
  Node *v = stmt(prog, 2)->a;
  expect_reduce(v, RED_SUM, 1, "j");
  cr_assert_eq(v->a->op, OP_ADD);
  cr_assert_str_eq(target_type(prog, 2), "f64[3]");
}

Test(sema, sum_placed_separately_per_index) {
  /* k appears only in the second factor: sum_k sits around C[j, k] alone,
   * sum_j around the whole product */
  Node *prog = check_ok(AB "C = randn(f64[5, 2])\ny[i] = A[i, j] * B[j, k] * C[k, 0]\n");
  Node *v = stmt(prog, 3)->a;
  cr_assert_str_eq(target_type(prog, 3), "f64[3]");
  /* (A * B) * C: sum_k( sum_j(A * B) * C ) */
  expect_reduce(v, RED_SUM, 1, "k");
  cr_assert_eq(v->a->kind, N_BINARY);
  expect_reduce(v->a->a, RED_SUM, 1, "j");
  cr_assert_eq(v->a->b->kind, N_INDEX);
  cr_assert_eq(count_kind(v, N_REDUCE), 2);
}

Test(sema, full_contraction_to_a_scalar) {
  Node *prog = check_ok("A = randn(f64[3, 4])\nt = A[i, j] * A[i, j]\n");
  Node *st = stmt(prog, 1);
  cr_assert_str_eq(tstr(st->list.items[0]->type), "f64");
  /* one sum over i and j, or a sum over i of a sum over j: the same */
  const Node *r = st->a;
  char got[16] = "";
  while (r->kind == N_REDUCE) {
    cr_assert_eq(r->implicit, 1);
    for (int i = 0; i < r->list.n; i++) strcat(got, r->list.items[i]->name);
    r = r->a;
  }
  cr_assert(strcmp(got, "ij") == 0 || strcmp(got, "ji") == 0, "summed over '%s'", got);
  cr_assert_eq(r->kind, N_BINARY);
  cr_assert_eq(r->op, OP_MUL);
}

Test(sema, explicit_sum_gets_no_implicit_one) {
  Node *prog = check_ok("A = randn(f64[3, 4])\ns[i] = sum(j: A[i, j])\n");
  Node *v = stmt(prog, 1)->a;
  expect_reduce(v, RED_SUM, 0, "j");
  cr_assert_eq(count_kind(v, N_REDUCE), 1);
  cr_assert_str_eq(target_type(prog, 1), "f64[3]");
}

Test(sema, chamfer_puts_c_inside_max) {
  Node *prog = check_ok("X = randn(f64[2, 3, 4])\nY = randn(f64[5, 6, 4])\n"
                        "s[q, p] = sum(a: max(b: X[q, a, c] * Y[p, b, c]))\n");
  cr_assert_str_eq(target_type(prog, 2), "f64[2, 5]");
  Node *v = stmt(prog, 2)->a;
  expect_reduce(v, RED_SUM, 0, "a");
  Node *mx = v->a;
  expect_reduce(mx, RED_MAX, 0, "b");
  expect_reduce(mx->a, RED_SUM, 1, "c");
  cr_assert_eq(mx->a->a->op, OP_MUL);
}

Test(sema, sum_stays_inside_the_denominator) {
  /* gap 2: every use of p is inside the denominator: sum_p there */
  Node *prog = check_ok("A = randn(f64[3, 4])\nx = randn(f64[3])\nv = randn(f64[4])\n"
                        "y[a] = x[a] / (A[a, p] * v[p] + 1.0)\n");
  Node *v = stmt(prog, 3)->a;
  cr_assert_eq(v->kind, N_BINARY);
  cr_assert_eq(v->op, OP_DIV, "the quotient stays on top");
  cr_assert_eq(v->b->op, OP_ADD);
  expect_reduce(v->b->a, RED_SUM, 1, "p");
  cr_assert_eq(count_kind(v, N_REDUCE), 1);
}

Test(sema, sum_stays_inside_a_comparison_and_max) {
  Node *prog = check_ok("A = randn(f64[3, 4])\nv = randn(f64[4])\n"
                        "m[a] = where(A[a, c] * v[c] > 0.0, 1.0, 0.0)\n"
                        "t[a] = max(0.5, A[a, c] * v[c])\n");
  Node *w = stmt(prog, 2)->a;
  cr_assert_eq(w->kind, N_CALL);
  Node *gt = w->list.items[0];
  cr_assert_eq(gt->op, OP_GT);
  expect_reduce(gt->a, RED_SUM, 1, "c");
  Node *mx = stmt(prog, 3)->a;
  cr_assert_eq(mx->kind, N_CALL);
  expect_reduce(mx->list.items[1], RED_SUM, 1, "c");
}

Test(sema, error_single_read_inside_an_operand) {
  const char *d = check_bad("x = randn(f64[4])\ny = 1.0 / x[j]\n");
  cr_assert(strstr(d, "the sum would cut through '/'"), "%s", d);
}

Test(sema, error_single_read_inside_max) {
  const char *d = check_bad("S = randn(f64[3, 4])\nm[i] = max(S[i, j], 0.0)\n");
  cr_assert(strstr(d, "cut through 'max'"), "%s", d);
}

Test(sema, int_operators_types_and_folding) {
  Node *prog = check_ok("a = 7 // 2\nb = 2 ** 10\nc = 7.0 // 2.0\nd = 2 ** -1\n"
                        "x = randn(f32[3])\ny[i] = x[i] * 2 ** 3\nZ = zeros(f64[2 ** a, a // 2])\n");
  cr_assert_str_eq(target_type(prog, 0), "i64");
  cr_assert_str_eq(target_type(prog, 1), "i64");
  cr_assert_str_eq(target_type(prog, 2), "f64");
  cr_assert_str_eq(target_type(prog, 3), "f64", "Python's 2 ** -1 is 0.5");
  cr_assert_str_eq(target_type(prog, 5), "f32[3]", "2 ** 3 is a plain number");
  cr_assert_str_eq(target_type(prog, 6), "f64[8, 1]", "a = 3 is known: the sizes fold");
}

Test(sema, min_plus_product) {
  Node *prog = check_ok(AB "D[i, k] = min(j: A[i, j] + B[j, k])\n");
  cr_assert_str_eq(target_type(prog, 2), "f64[3, 5]");
  cr_assert_eq(count_kind(stmt(prog, 2)->a, N_REDUCE), 1, "no implicit sum: j is bound by min");
}

Test(sema, softmax_keeps_its_index) {
  Node *prog = check_ok("S = randn(f32[3, 7])\nP[i, j] = softmax(j: S[i, j])\n");
  cr_assert_str_eq(target_type(prog, 1), "f32[3, 7]");
  Node *v = stmt(prog, 1)->a;
  expect_reduce(v, RED_SOFTMAX, 0, "j");
  cr_assert_eq(count_kind(v, N_REDUCE), 1);
}

Test(sema, attention_shapes) {
  Node *prog = check_ok(
      "def attention(Q: f32[n, d], K: f32[m, d], V: f32[m, e]) -> f32[n, e] {\n"
      "  S[i, j] = Q[i, c] * K[j, c] / sqrt(f32(d))\n"
      "  P[i, j] = softmax(j: S[i, j])\n"
      "  O[i, x] = P[i, j] * V[j, x]\n"
      "  return O\n"
      "}\n"
      "Q = randn(f32[128, 64], 1)\nK = randn(f32[256, 64], 2)\n"
      "V: f32[256, 32] = randn(f32[256, 32], 3)\n"
      "R = attention(Q, K, V)\n");
  Node *body = stmt(prog, 0)->c;
  cr_assert_str_eq(tstr(body->list.items[0]->list.items[0]->type), "f32[n, m]");
  cr_assert_str_eq(tstr(body->list.items[2]->list.items[0]->type), "f32[n, e]");
  /* (Q * K) / sqrt(...): the smallest part holding both uses of c is Q * K */
  Node *s = body->list.items[0]->a;
  cr_assert_eq(s->kind, N_BINARY);
  cr_assert_eq(s->op, OP_DIV);
  expect_reduce(s->a, RED_SUM, 1, "c");
  cr_assert_eq(count_kind(s, N_REDUCE), 1);
  cr_assert_str_eq(target_type(prog, -1), "f32[128, 32]");
}

Test(sema, argmax_is_i64) {
  Node *prog = check_ok("S = randn(f32[3, 7])\nk[i] = argmax(j: S[i, j])\n");
  cr_assert_str_eq(target_type(prog, 1), "i64[3]");
}

/* ---- ranges and grouped indices ---- */

Test(sema, ranged_identity) {
  Node *prog = check_ok("n = 4\nI[i: n, j: n] = f64(i == j)\n");
  cr_assert_str_eq(target_type(prog, 1), "f64[4, 4]");
}

Test(sema, kron_by_grouped_indices) {
  Node *prog = check_ok("A = randn(f64[2, 3])\nB = randn(f64[4, 5])\n"
                        "K[(i, k), (j, l)] = A[i, j] * B[k, l]\n");
  cr_assert_str_eq(target_type(prog, 2), "f64[8, 15]");
  cr_assert_eq(count_kind(stmt(prog, 2)->a, N_REDUCE), 0, "nothing is summed");
}

Test(sema, grouped_index_splits_with_one_range) {
  Node *prog = check_ok("x = randn(f64[12])\nM[j, l] = x[(j: 3, l)]\n");
  cr_assert_str_eq(target_type(prog, 1), "f64[3, 4]");
}

Test(sema, grouped_index_splits_from_other_uses) {
  /* j gets 2 from W, so l is 12 / 2 = 6 */
  Node *prog = check_ok("x = randn(f64[12])\nW = randn(f64[2])\nM[j, l] = x[(j, l)] * W[j]\n");
  cr_assert_str_eq(target_type(prog, 2), "f64[2, 6]");
}

Test(sema, grouped_index_symbolic_split) {
  Node *prog = check_ok("def f(x: f64[n*q], W: f64[n, q]) -> f64[n, q] {\n"
                        "  M[j, l] = x[(j, l)] * W[j, l]\n"
                        "  return M\n"
                        "}\n");
  Node *body = stmt(prog, 0)->c;
  cr_assert_str_eq(tstr(body->list.items[0]->list.items[0]->type), "f64[n, q]");
}

Test(sema, grouped_index_split_needs_a_range) {
  const char *d = check_bad("x = randn(f64[12])\nM[j, l] = x[(j, l)]\n");
  cr_assert(strstr(d, "t.tns:2:13: error: cannot tell how "), "%s", d);
  cr_assert(strstr(d, "12 of x splits between 'j' and 'l'"), "%s", d);
}

Test(sema, grouped_index_split_does_not_divide) {
  const char *d = check_bad("x = randn(f64[12])\nM[j, l] = x[(j: 5, l)]\n");
  cr_assert(strstr(d, "t.tns:2:13: error: cannot split "), "%s", d);
  cr_assert(strstr(d, "12 of x into 'j' (5)"), "%s", d);
}

Test(sema, index_expression_positions) {
  /* i + k and i % 2 give no range: i has it from the left, k from W */
  Node *prog = check_ok("X = randn(f64[10])\nW = randn(f64[3])\nA = randn(f64[2, 4])\n"
                        "y[i: 8] = X[i + k] * W[k] + A[0, i % 2]\n");
  cr_assert_str_eq(target_type(prog, 3), "f64[8]");
  Node *v = stmt(prog, 3)->a;
  cr_assert_eq(v->op, OP_ADD);
  expect_reduce(v->a, RED_SUM, 1, "k");
}

Test(sema, error_index_without_any_range_is_located) {
  const char *d = check_bad("X = randn(f64[10])\ny[i] = X[i] + X[q + 1]\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:2:17: error: index 'q' has no range"), "%s", d);
}

Test(sema, error_index_only_in_expression_positions) {
  const char *d = check_bad("X = randn(f64[10])\ny[i] = X[i + 1]\n");
  cr_assert(strstr(d, "t.tns:2:3: error: index 'i'"), "%s", d);
}

/* ---- symbolic sizes, functions and calls ---- */

Test(sema, symbolic_result_in_def) {
  Node *prog = check_ok("def kr(A: f64[m, n], B: f64[p, q]) -> f64[m*p, n*q] {\n"
                        "  K[(i, k), (j, l)] = A[i, j] * B[k, l]\n"
                        "  return K\n"
                        "}\n"
                        "Z = kr(randn(f64[2, 3]), randn(f64[4, 5]))\n");
  Node *body = stmt(prog, 0)->c;
  cr_assert_str_eq(tstr(body->list.items[0]->list.items[0]->type), "f64[m*p, n*q]");
  cr_assert_str_eq(target_type(prog, 1), "f64[8, 15]");
}

Test(sema, call_substitutes_sizes) {
  Node *prog = check_ok("def mm(A: f64[n, k], B: f64[k, m]) -> f64[n, m] {\n"
                        "  C[i, j] = A[i, c] * B[c, j]\n"
                        "  return C\n"
                        "}\n"
                        "X = randn(f64[3, 4])\nY = randn(f64[4, 7])\nZ = mm(X, Y)\nW = mm(Z, randn(f64[7, 2]))\n");
  cr_assert_str_eq(target_type(prog, 3), "f64[3, 7]");
  cr_assert_str_eq(target_type(prog, 4), "f64[3, 2]");
}

Test(sema, product_dimension_bound_by_later_parameters) {
  /* gap 8: n1 and n2 come from G1 and G2, after X */
  Node *prog = check_ok("def f(X: f64[s, n1*n2], G1: f64[m1, n1], G2: f64[m2, n2]) -> f64[s, m1*m2] {\n"
                        "  Y[z, (a, b)] = G1[a, j] * G2[b, k] * X[z, (j, k)]\n  return Y\n}\n"
                        "Y = f(zeros(f64[5, 12]), zeros(f64[2, 3]), zeros(f64[7, 4]))\n");
  cr_assert_str_eq(target_type(prog, 1), "f64[5, 14]");
}

Test(sema, reversed_position_gives_the_range) {
  /* gap 12: n - 1 - q over a dimension of size n */
  Node *prog = check_ok("def f(V: f64[m, n]) -> f64[m, n] {\n  U[i, q] = V[i, n - 1 - q]\n  return U\n}\n"
                        "W = randn(f64[2, 7])\nR[i, q] = W[i, 6 - q]\nS[i, q] = W[i, 7 - q - 1]\n"
                        "c = dim(W, 1)\nT[i, q] = W[i, c - 1 - q]\n");
  cr_assert_str_eq(target_type(prog, 2), "f64[2, 7]");
  cr_assert_str_eq(target_type(prog, 3), "f64[2, 7]");
  cr_assert_str_eq(target_type(prog, 5), "f64[2, 7]", "c = dim(W, 1) names the size");
  const char *d = check_bad("W = randn(f64[2, 7])\nR[i, q] = W[i, 5 - q]\n");
  cr_assert(strstr(d, "needs a range"), "%s", d);
}

Test(sema, solve_one_vector_per_matrix) {
  Node *prog = check_ok("A = randn(f64[4, 3, 3])\nb = randn(f64[4, 3])\nx = solve(A, b)\n");
  cr_assert_str_eq(target_type(prog, 2), "f64[4, 3]");
}

Test(sema, inferred_result_type) {
  Node *prog = check_ok("def outer(a: f64[n], b: f64[m]) {\n"
                        "  O[i, j] = a[i] * b[j]\n"
                        "  return O\n"
                        "}\n"
                        "Z = outer(randn(f64[3]), randn(f64[6]))\n");
  cr_assert_str_eq(target_type(prog, 1), "f64[3, 6]");
}

Test(sema, call_with_type_parameter) {
  Node *prog = check_ok("def rows(S: T[n, m]) -> T[n, m] {\n"
                        "  P[i, j] = softmax(j: S[i, j])\n"
                        "  return P\n"
                        "}\n"
                        "A = rows(randn(f32[2, 9]))\nB = rows(randn(f64[4, 4]))\n");
  cr_assert_str_eq(target_type(prog, 1), "f32[2, 9]");
  cr_assert_str_eq(target_type(prog, 2), "f64[4, 4]");
}

Test(sema, two_results) {
  Node *prog = check_ok("def two(x: f64[n]) -> (f64[n], f64) {\n"
                        "  s = sum(i: x[i])\n"
                        "  return x, s\n"
                        "}\n"
                        "a, b = two(randn(f64[5]))\n");
  Node *st = stmt(prog, 1);
  cr_assert_str_eq(tstr(st->list.items[0]->type), "f64[5]");
  cr_assert_str_eq(tstr(st->list.items[1]->type), "f64");
}

Test(sema, annotated_load_binds_sizes) {
  Node *prog = check_ok("A: f32[n, d] = load(\"a.npy\")\nB[i, j] = A[i, j] * 2\nd2 = dim(A, 1)\n");
  cr_assert_str_eq(target_type(prog, 0), "f32[n, d]");
  cr_assert_str_eq(target_type(prog, 1), "f32[n, d]");
}

Test(sema, size_name_is_an_i64_value) {
  Node *prog = check_ok("def f(x: f32[d]) -> f32[d] {\n"
                        "  y[i] = x[i] / sqrt(f32(d))\n"
                        "  return y\n"
                        "}\n");
  Node *body = stmt(prog, 0)->c;
  cr_assert_str_eq(tstr(body->list.items[0]->list.items[0]->type), "f32[d]");
}

/* ---- literal typing ---- */

Test(sema, literal_takes_the_other_operands_type) {
  Node *prog = check_ok("A = randn(f32[5])\nB[i] = 2 * A[i]\nC[i] = A[i] + 0.5\n");
  cr_assert_str_eq(target_type(prog, 1), "f32[5]");
  cr_assert_str_eq(target_type(prog, 2), "f32[5]");
  Node *two = stmt(prog, 1)->a->a;
  cr_assert_eq(two->kind, N_INT);
  cr_assert_str_eq(tstr(two->type), "f32");
  Node *half = stmt(prog, 2)->a->b;
  cr_assert_str_eq(tstr(half->type), "f32");
}

Test(sema, literal_defaults) {
  Node *prog = check_ok("a = 2\nb = 2.5\nc = true\nd = [[1, 2], [3, 4]]\ne = a * 1.5\n");
  cr_assert_str_eq(target_type(prog, 0), "i64");
  cr_assert_str_eq(target_type(prog, 1), "f64");
  cr_assert_str_eq(target_type(prog, 2), "bool");
  cr_assert_str_eq(target_type(prog, 3), "f64[2, 2]");
  cr_assert_str_eq(target_type(prog, 4), "f64");
}

Test(sema, annotated_literal_takes_the_annotation) {
  Node *prog = check_ok("x: f32 = 2.5\nM: f32[2, 2] = [[1, 2], [3, 4]]\n");
  cr_assert_str_eq(target_type(prog, 0), "f32");
  cr_assert_str_eq(target_type(prog, 1), "f32[2, 2]");
}

Test(sema, promotion_of_typed_operands) {
  Node *prog = check_ok("A = randn(f32[3])\nB = randn(f64[3])\nC[i] = A[i] * B[i]\n"
                        "k = 3\nD[i] = A[i] * f32(k)\n");
  cr_assert_str_eq(target_type(prog, 2), "f64[3]");
  cr_assert_str_eq(target_type(prog, 4), "f32[3]");
}

Test(sema, comparisons_are_bool) {
  Node *prog = check_ok("A = randn(f64[3])\nM[i] = A[i] > 0.0\n");
  cr_assert_str_eq(target_type(prog, 1), "bool[3]");
}

/* ---- control flow ---- */

Test(sema, loop_carries_same_type) {
  Node *prog = check_ok("x = zeros(f64[4])\nfor t in 0..10 {\n  y[i] = x[i] + 1.0\n  x = y\n}\n");
  Node *loop = stmt(prog, 1);
  cr_assert_eq(loop->kind, N_FOR);
  cr_assert_str_eq(tstr(loop->list.items[0]->type), "i64", "the loop variable is i64");
}

/* ---- errors with positions ---- */

Test(sema, error_range_mismatch_with_note) {
  const char *d = check_bad("A = randn(f64[3, 4])\nB = randn(f64[5, 6])\nC[i, k] = A[i, j] * B[j, k]\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:3:23: error: index 'j' ranges over 4 in A but over 5 in B\n"), "%s", d);
  cr_assert(strstr(d, "t.tns:3:16: note: 'j' ranges over 4 here\n"), "%s", d);
}

Test(sema, error_sum_through_exp) {
  const char *d = check_bad("S = randn(f64[3, 4])\nE[i] = exp(S[i, j])\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:2:8: error: index 'j' is summed (it is not on the left), but the sum "
                      "would cut through 'exp'; write the sum where you mean it: sum(j: ...)\n"),
            "%s", d);
  cr_assert(strstr(d, "E[i] = exp(S[i, j])\n       ^~~~~~~~~~~~\n"), "%s", d);
}

Test(sema, explicit_sum_through_exp_is_fine) {
  Node *prog = check_ok("S = randn(f64[3, 4])\nE[i] = sum(j: exp(S[i, j]))\nL[i] = logsumexp(j: S[i, j])\n");
  cr_assert_str_eq(target_type(prog, 1), "f64[3]");
  cr_assert_str_eq(target_type(prog, 2), "f64[3]");
}

Test(sema, error_sum_through_user_function) {
  const char *d = check_bad("def sq(x: f64) -> f64 { return x * x }\n"
                            "S = randn(f64[3, 4])\nE[i] = sq(S[i, j])\n");
  cr_assert(strstr(d, "t.tns:3:8: error: index 'j' is summed"), "%s", d);
  cr_assert(strstr(d, "'sq'"), "%s", d);
}

Test(sema, error_lhs_index_without_range) {
  const char *d = check_bad("I[i, j] = 1.0\n");
  cr_assert_eq(count_errors(d), 2, "%s", d);
  cr_assert(strstr(d, "t.tns:1:3: error: index 'i' is on the left but not on the right, so it "
                      "needs a range: i: n\n"), "%s", d);
  cr_assert(strstr(d, "t.tns:1:6: error: index 'j' is on the left"), "%s", d);
}

Test(sema, error_call_size_mismatch_names_both_arguments) {
  const char *d = check_bad(
      "def attention(Q: f32[n, d], K: f32[m, d], V: f32[m, e]) -> f32[n, e] {\n"
      "  S[i, j] = Q[i, c] * K[j, c]\n"
      "  P[i, j] = softmax(j: S[i, j])\n"
      "  O[i, x] = P[i, j] * V[j, x]\n"
      "  return O\n"
      "}\n"
      "Q = randn(f32[8, 64])\nK = randn(f32[256, 64])\nV = randn(f32[255, 32])\n"
      "O = attention(Q, K, V)\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:10:21: error: size 'm' of 'attention' is 256 from argument 'K' but "
                      "255 from argument 'V'\n"), "%s", d);
  cr_assert(strstr(d, "t.tns:10:18: note: 'm' is bound to 256 here\n"), "%s", d);
}

Test(sema, error_loop_carried_type_change) {
  const char *d = check_bad("x = 1\nfor t in 0..3 {\n  x = 2.5\n}\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:3:3: error: 'x' is carried across loop iterations and must keep its "
                      "type: i64 before the loop, f64 here\n"), "%s", d);
  cr_assert(strstr(d, "t.tns:1:1: note: 'x' was defined here\n"), "%s", d);
}

Test(sema, error_loop_carried_shape_change) {
  const char *d = check_bad("x = zeros(f64[4])\nwhile true {\n  x = zeros(f64[5])\n}\n");
  cr_assert(strstr(d, "t.tns:3:3: error: 'x' is carried across loop iterations"), "%s", d);
  cr_assert(strstr(d, "f64[4] before the loop, f64[5] here"), "%s", d);
}

Test(sema, rebinding_outside_loops_may_change_type) {
  Node *prog = check_ok("x = 1\nx = 2.5\nx = zeros(f64[3])\n");
  cr_assert_str_eq(target_type(prog, 2), "f64[3]");
}

Test(sema, error_undefined_name) {
  const char *d = check_bad("y = 1\nz = y + w\n");
  cr_assert(strstr(d, "t.tns:2:9: error: undefined name 'w'\n"), "%s", d);
}

Test(sema, error_rank_mismatch) {
  const char *d = check_bad("A = randn(f64[3, 4])\ny[i] = A[i]\n");
  cr_assert(strstr(d, "t.tns:2:8: error: 'A' has rank 2 but is indexed with 1 position\n"), "%s", d);
}

Test(sema, error_while_condition_not_bool) {
  const char *d = check_bad("n = 3\nwhile n { n = n - 1 }\n");
  cr_assert(strstr(d, "t.tns:2:7: error: a while condition must be bool, not i64\n"), "%s", d);
}

Test(sema, several_independent_errors_in_one_run) {
  const char *d = check_bad("A = randn(f64[3, 4])\n"        /* 1 */
                            "B = randn(f64[5, 6])\n"        /* 2 */
                            "C[i, k] = A[i, j] * B[j, k]\n" /* 3: range mismatch */
                            "E[i] = exp(A[i, j])\n"         /* 4: sum through exp */
                            "I[p, q] = 1.0\n"               /* 5: two lhs ranges */
                            "z = undefined_thing + 1\n"     /* 6: undefined */
                            "x = 1\n"
                            "for t in 0..2 { x = 0.5 }\n"   /* 8: loop change */
                            "ok = A[0, 0]\n");
  cr_assert_eq(count_errors(d), 6, "%s", d);
  cr_assert(strstr(d, "t.tns:3:23: error: index 'j' ranges over 4"), "%s", d);
  cr_assert(strstr(d, "t.tns:4:8: error: index 'j' is summed"), "%s", d);
  cr_assert(strstr(d, "t.tns:5:3: error: index 'p'"), "%s", d);
  cr_assert(strstr(d, "t.tns:5:6: error: index 'q'"), "%s", d);
  cr_assert(strstr(d, "t.tns:6:5: error: undefined name 'undefined_thing'"), "%s", d);
  cr_assert(strstr(d, "t.tns:8:17: error: 'x' is carried across loop iterations"), "%s", d);
  /* in the order of the source */
  cr_assert_lt(strstr(d, "t.tns:3:"), strstr(d, "t.tns:4:"));
  cr_assert_lt(strstr(d, "t.tns:6:"), strstr(d, "t.tns:8:"));
}

Test(sema, errors_do_not_cascade) {
  /* a bad definition of B must not make every later use of B an error */
  const char *d = check_bad("B = zeros(f64[n])\nC[i] = B[i] * 2.0\nD = C\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:1:15: error: unknown size name 'n'"), "%s", d);
}

Test(sema, label_error_is_reported_once) {
  /* the parser reports `f(x: 1)`; sema must not add "undefined function"
   * or "a range only goes inside [...]" for the same text */
  Source *src = source_from_string(comp->arena, "t.tns", "y = f(x: 1) + 1\nz = sum(2: y)\n");
  Node *prog = parse_source(&comp->ast, src);
  cr_assert_not_null(prog);
  sema_program(comp, prog, "t.tns");
  const char *d = diags();
  cr_assert_eq(count_errors(d), 2, "%s", d);
  cr_assert(strstr(d, "t.tns:1:7: error: 'f' is not a reduction"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:9: error: 'sum(...: e)' takes index names"), "%s", d);
}

Test(sema, sema_check_file_on_disk) {
  char path[] = "/tmp/tns_sema_" MKSTEMP_SUFFIX ".tns";
  int fd = mkstemps(path, 4);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs(AB "C[i, k] = A[i, j] * B[j, k]\n", f);
  fclose(f);
  Node *prog = sema_check_file(comp, path);
  remove(path);
  cr_assert_not_null(prog, "%s", diags());
  cr_assert_str_eq(target_type(prog, 2), "f64[3, 5]");
}
