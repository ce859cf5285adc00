/* Tests for compiler/front/grammar.y, parse.c and ast.c: the statement and
 * expression forms of language.md sections 4-8 give the AST shapes that
 * ast.def documents; syntax errors are reported at the right line and
 * column, recovery finds every bad statement, brackets are matched, and
 * parse_is_incomplete answers the REPL's question. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "fixture.h"

TestSuite(parse, .init = setup, .fini = teardown);

/* Parses text that has no error; returns the program BLOCK. */
static Node *parse_ok(const char *text) {
  Source *src = source_from_string(comp->arena, "t.tns", text);
  Node *prog = parse_source(&comp->ast, src);
  cr_assert_eq(comp->diag.nerrors, 0, "unexpected errors for:\n%s\n%s", text, diags());
  cr_assert_not_null(prog);
  cr_assert_eq(prog->kind, N_BLOCK);
  return prog;
}

/* Parses text expected to have errors; returns the diagnostics. */
static const char *parse_bad(const char *text) {
  Source *src = source_from_string(comp->arena, "t.tns", text);
  parse_source(&comp->ast, src);
  cr_assert_gt(comp->diag.nerrors, 0, "no error for:\n%s", text);
  return diags();
}

/* The only statement of a one-statement program. */
static Node *one_stmt(const char *text) {
  Node *prog = parse_ok(text);
  cr_assert_eq(prog->list.n, 1, "%d statements in:\n%s", prog->list.n, text);
  return prog->list.items[0];
}

/* The value of `x = <expr>`. */
static Node *expr_of(const char *text) {
  Node *st = one_stmt(text);
  cr_assert_eq(st->kind, N_ASSIGN);
  return st->a;
}

static int count_errors(const char *d) {
  int n = 0;
  for (const char *p = d; (p = strstr(p, ": error: ")); p++) n++;
  return n;
}

static void expect_name(const Node *n, const char *name) {
  cr_assert_not_null(n);
  cr_assert_eq(n->kind, N_NAME, "want name %s, got %s", name, ast_kind_name(n->kind));
  cr_assert_str_eq(n->name, name);
}

static void expect_span(const Node *n, int line, int col, int len) {
  cr_expect_eq(n->span.line, line, "line %d, want %d", n->span.line, line);
  cr_expect_eq(n->span.col, col, "col %d, want %d", n->span.col, col);
  cr_expect_eq(n->span.len, len, "len %d, want %d", n->span.len, len);
}

static char *unparse(const Node *n) { return ast_to_string(comp->arena, n); }

/* ---- section 4: statements ---- */

Test(parse, index_assignment) {
  Node *st = one_stmt("C[i, k] = A[i, j] * B[j, k]\n");
  cr_assert_eq(st->kind, N_ASSIGN);
  cr_assert_eq(st->op, ASSIGN_SET);
  cr_assert_null(st->b, "no annotation");
  cr_assert_eq(st->list.n, 1);
  Node *t = st->list.items[0];
  cr_assert_eq(t->kind, N_INDEX);
  expect_name(t->a, "C");
  cr_assert_eq(t->list.n, 2);
  expect_name(t->list.items[0], "i");
  expect_name(t->list.items[1], "k");
  cr_assert_eq(st->a->kind, N_BINARY);
  cr_assert_eq(st->a->op, OP_MUL);
  cr_assert_eq(st->a->a->kind, N_INDEX);
  expect_name(st->a->a->a, "A");
  expect_name(st->a->b->list.items[1], "k");
  expect_span(st, 1, 1, 27);
  expect_span(st->a, 1, 11, 17);
}

Test(parse, plus_assign) {
  Node *st = one_stmt("X[i, j] += A[i, j]");
  cr_assert_eq(st->kind, N_ASSIGN);
  cr_assert_eq(st->op, ASSIGN_ADD);
  cr_assert_eq(st->list.items[0]->kind, N_INDEX);
}

Test(parse, plain_binding) {
  Node *st = one_stmt("x = 3\n");
  cr_assert_eq(st->kind, N_ASSIGN);
  expect_name(st->list.items[0], "x");
  cr_assert_eq(st->a->kind, N_INT);
  cr_assert_eq(st->a->ival, 3);
}

Test(parse, annotated_binding) {
  Node *st = one_stmt("x: f32[n, d] = load(\"a.npy\")\n");
  cr_assert_eq(st->kind, N_ASSIGN);
  cr_assert_eq(st->list.n, 1);
  expect_name(st->list.items[0], "x");
  Node *ty = st->b;
  cr_assert_not_null(ty, "the annotation is kept");
  cr_assert_eq(ty->kind, N_TYPE);
  cr_assert_eq(ty->op, ELEM_F32);
  cr_assert_eq(ty->ival, 1, "dimensions were given");
  cr_assert_eq(ty->list.n, 2);
  expect_name(ty->list.items[0], "n");
  expect_name(ty->list.items[1], "d");
  cr_assert_eq(st->a->kind, N_CALL);
  cr_assert_str_eq(st->a->name, "load");
  cr_assert_eq(st->a->list.n, 1);
  cr_assert_eq(st->a->list.items[0]->kind, N_STRING);
  cr_assert_str_eq(st->a->list.items[0]->str, "a.npy");
}

Test(parse, annotated_scalar_and_type_parameter) {
  Node *prog = parse_ok("s: f64 = 1.5\nv: T[n] = x\n");
  Node *a = prog->list.items[0]->b, *b = prog->list.items[1]->b;
  cr_assert_eq(a->op, ELEM_F64);
  cr_assert_eq(a->ival, 0, "a scalar type has no brackets");
  cr_assert_eq(a->list.n, 0);
  cr_assert_eq(b->op, ELEM_PARAM);
  cr_assert_str_eq(b->name, "T");
  cr_assert_eq(b->list.n, 1);
}

Test(parse, several_targets) {
  Node *st = one_stmt("a, b = f(x)\n");
  cr_assert_eq(st->kind, N_ASSIGN);
  cr_assert_eq(st->list.n, 2);
  expect_name(st->list.items[0], "a");
  expect_name(st->list.items[1], "b");
  cr_assert_eq(st->a->kind, N_CALL);
  cr_assert_str_eq(st->a->name, "f");
  expect_name(st->a->list.items[0], "x");
}

Test(parse, for_loop) {
  Node *st = one_stmt("for t in 0..n {\n  x = x + t\n  y = 1\n}\n");
  cr_assert_eq(st->kind, N_FOR);
  cr_assert_str_eq(st->name, "t");
  cr_assert_eq(st->a->kind, N_INT);
  cr_assert_eq(st->a->ival, 0);
  expect_name(st->b, "n");
  cr_assert_eq(st->c->kind, N_BLOCK);
  cr_assert_eq(st->c->list.n, 2);
  cr_assert_eq(st->c->list.items[1]->kind, N_ASSIGN);
}

Test(parse, for_loop_with_expressions) {
  Node *st = one_stmt("for k in n - 1..2 * n { }");
  cr_assert_eq(st->kind, N_FOR);
  cr_assert_eq(st->a->kind, N_BINARY);
  cr_assert_eq(st->a->op, OP_SUB);
  cr_assert_eq(st->b->kind, N_BINARY);
  cr_assert_eq(st->b->op, OP_MUL);
  cr_assert_eq(st->c->list.n, 0);
}

Test(parse, while_loop) {
  Node *st = one_stmt("while err > 1e-6 && it < 100 { it = it + 1 }\n");
  cr_assert_eq(st->kind, N_WHILE);
  cr_assert_eq(st->a->kind, N_BINARY);
  cr_assert_eq(st->a->op, OP_AND);
  cr_assert_eq(st->c->kind, N_BLOCK);
  cr_assert_eq(st->c->list.n, 1);
}

Test(parse, if_else_same_line) {
  Node *st = one_stmt("if a < b {\n  x = 1\n} else {\n  x = 2\n  y = 3\n}\n");
  cr_assert_eq(st->kind, N_IF);
  cr_assert_eq(st->a->op, OP_LT);
  cr_assert_eq(st->b->kind, N_BLOCK);
  cr_assert_eq(st->b->list.n, 1);
  cr_assert_not_null(st->c);
  cr_assert_eq(st->c->kind, N_BLOCK);
  cr_assert_eq(st->c->list.n, 2);
}

Test(parse, else_on_the_next_line) {
  Node *prog = parse_ok("if c {\n  x = 1\n}\n# a comment\n\nelse {\n  x = 2\n}\nz = 0\n");
  cr_assert_eq(prog->list.n, 2, "if/else is one statement, then z");
  Node *st = prog->list.items[0];
  cr_assert_eq(st->kind, N_IF);
  cr_assert_not_null(st->c);
  cr_assert_eq(st->c->kind, N_BLOCK);
  cr_assert_eq(prog->list.items[1]->kind, N_ASSIGN);
}

Test(parse, if_without_else) {
  Node *prog = parse_ok("if c { x = 1 }\ny = 2\n");
  cr_assert_eq(prog->list.n, 2);
  cr_assert_eq(prog->list.items[0]->kind, N_IF);
  cr_assert_null(prog->list.items[0]->c);
}

Test(parse, else_if_chain) {
  Node *st = one_stmt("if a { x = 1 } else if b { x = 2 } else { x = 3 }");
  cr_assert_eq(st->kind, N_IF);
  cr_assert_eq(st->c->kind, N_IF);
  expect_name(st->c->a, "b");
  cr_assert_eq(st->c->c->kind, N_BLOCK);
}

Test(parse, returns) {
  Node *st = one_stmt("def f(x: f64) {\n  return x\n  return x, 2 * x\n  return\n}\n");
  cr_assert_eq(st->kind, N_DEF);
  Node *body = st->c;
  cr_assert_eq(body->list.n, 3);
  cr_assert_eq(body->list.items[0]->kind, N_RETURN);
  cr_assert_eq(body->list.items[0]->list.n, 1);
  cr_assert_eq(body->list.items[1]->list.n, 2);
  cr_assert_eq(body->list.items[1]->list.items[1]->kind, N_BINARY);
  cr_assert_eq(body->list.items[2]->list.n, 0);
}

Test(parse, import_module_and_file) {
  Node *prog = parse_ok("import std.nn\nimport \"lib/extra.tns\"\nimport mymod\n");
  cr_assert_eq(prog->list.n, 3);
  Node *a = prog->list.items[0], *b = prog->list.items[1], *c = prog->list.items[2];
  cr_assert_eq(a->kind, N_IMPORT);
  cr_assert_str_eq(a->name, "std.nn");
  cr_assert_null(a->str);
  cr_assert_eq(a->list.n, 2);
  expect_name(a->list.items[1], "nn");
  cr_assert_eq(b->kind, N_IMPORT);
  cr_assert_null(b->name);
  cr_assert_str_eq(b->str, "lib/extra.tns");
  cr_assert_str_eq(c->name, "mymod");
  expect_span(a, 1, 1, 13);
}

Test(parse, def_with_two_results) {
  Node *st = one_stmt("def f(A: f64[n, m], B: T[m],) -> (f64[n], f64[m]) {\n  return x, y\n}");
  cr_assert_eq(st->kind, N_DEF);
  cr_assert_str_eq(st->name, "f");
  cr_assert_eq(st->list.n, 2, "a trailing comma is allowed");
  Node *p0 = st->list.items[0], *p1 = st->list.items[1];
  cr_assert_eq(p0->kind, N_PARAM);
  cr_assert_str_eq(p0->name, "A");
  cr_assert_eq(p0->a->kind, N_TYPE);
  cr_assert_eq(p0->a->op, ELEM_F64);
  cr_assert_eq(p0->a->list.n, 2);
  cr_assert_eq(p1->a->op, ELEM_PARAM);
  cr_assert_str_eq(p1->a->name, "T");
  cr_assert_eq(st->list2.n, 2, "two results");
  cr_assert_eq(st->list2.items[0]->kind, N_TYPE);
  expect_name(st->list2.items[0]->list.items[0], "n");
  expect_name(st->list2.items[1]->list.items[0], "m");
  cr_assert_eq(st->c->kind, N_BLOCK);
}

Test(parse, def_one_result_and_none) {
  Node *prog = parse_ok("def g(x: f32) -> f32 { return x }\ndef h() { }\n");
  Node *g = prog->list.items[0], *h = prog->list.items[1];
  cr_assert_eq(g->list2.n, 1);
  cr_assert_eq(g->list2.items[0]->op, ELEM_F32);
  cr_assert_eq(h->list.n, 0);
  cr_assert_eq(h->list2.n, 0);
}

Test(parse, arrow_on_the_next_line) {
  Node *st = one_stmt("def f(x: f64)\n    -> f64 {\n  return x\n}\n");
  cr_assert_eq(st->kind, N_DEF);
  cr_assert_eq(st->list2.n, 1);
  cr_assert_eq(st->c->list.n, 1);
}

Test(parse, def_symbolic_dims) {
  Node *st = one_stmt("def k(A: f64[m, n], B: f64[p, q]) -> f64[m*p, n*q] { }");
  Node *d0 = st->list2.items[0]->list.items[0];
  cr_assert_eq(d0->kind, N_BINARY);
  cr_assert_eq(d0->op, OP_MUL);
  expect_name(d0->a, "m");
  expect_name(d0->b, "p");
}

Test(parse, expression_statement) {
  Node *st = one_stmt("print(\"x =\", x)");
  cr_assert_eq(st->kind, N_EXPR_STMT);
  cr_assert_eq(st->a->kind, N_CALL);
  cr_assert_eq(st->a->list.n, 2);
}

/* ---- section 5: index expressions ---- */

Test(parse, reduce_over_two_indices) {
  Node *e = expr_of("s[i] = sum(j, k: A[i, j, k])");
  cr_assert_eq(e->kind, N_REDUCE);
  cr_assert_eq(e->op, RED_SUM);
  cr_assert_eq(e->implicit, 0);
  cr_assert_eq(e->list.n, 2);
  expect_name(e->list.items[0], "j");
  expect_name(e->list.items[1], "k");
  cr_assert_eq(e->a->kind, N_INDEX);
  expect_name(e->a->a, "A");
}

Test(parse, every_reduction) {
  static const struct { const char *text; int op; } cases[] = {
    {"x = sum(j: e)", RED_SUM}, {"x = prod(j: e)", RED_PROD},
    {"x = max(j: e)", RED_MAX}, {"x = min(j: e)", RED_MIN},
    {"x = logsumexp(j: e)", RED_LOGSUMEXP}, {"x = softmax(j, k: e)", RED_SOFTMAX},
    {"x = argmax(j: e)", RED_ARGMAX}, {"x = argmin(j: e)", RED_ARGMIN},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    Node *prog = parse_ok(cases[i].text);
    Node *e = prog->list.items[prog->list.n - 1]->a;
    cr_assert_eq(e->kind, N_REDUCE, "%s", cases[i].text);
    cr_assert_eq(e->op, cases[i].op, "%s", cases[i].text);
    expect_name(e->a, "e");
  }
}

Test(parse, two_argument_max_is_a_call) {
  Node *e = expr_of("x = max(a, b)");
  cr_assert_eq(e->kind, N_CALL);
  cr_assert_str_eq(e->name, "max");
  cr_assert_eq(e->list.n, 2);
}

Test(parse, nested_reductions) {
  Node *e = expr_of("s[q, p] = sum(a: max(b: X[q, a, c] * Y[p, b, c]))");
  cr_assert_eq(e->kind, N_REDUCE);
  cr_assert_eq(e->op, RED_SUM);
  cr_assert_eq(e->a->kind, N_REDUCE);
  cr_assert_eq(e->a->op, RED_MAX);
  expect_name(e->a->list.items[0], "b");
  cr_assert_eq(e->a->a->kind, N_BINARY);
}

Test(parse, index_of_call) {
  Node *e = expr_of("y[r] = kron(A, B)[r, c] * x[c]");
  cr_assert_eq(e->kind, N_BINARY);
  Node *k = e->a;
  cr_assert_eq(k->kind, N_INDEX);
  cr_assert_eq(k->a->kind, N_CALL);
  cr_assert_str_eq(k->a->name, "kron");
  cr_assert_eq(k->a->list.n, 2);
  cr_assert_eq(k->list.n, 2);
  expect_name(k->list.items[1], "c");
}

Test(parse, grouped_indices) {
  Node *st = one_stmt("K[(i, k), (j, l)] = A[i, j] * B[k, l]");
  Node *t = st->list.items[0];
  cr_assert_eq(t->kind, N_INDEX);
  cr_assert_eq(t->list.n, 2);
  Node *g = t->list.items[0];
  cr_assert_eq(g->kind, N_GROUP);
  cr_assert_eq(g->list.n, 2);
  expect_name(g->list.items[0], "i");
  expect_name(g->list.items[1], "k");
  cr_assert_eq(t->list.items[1]->kind, N_GROUP);
  expect_span(g, 1, 3, 6);
}

Test(parse, grouped_index_on_the_right_with_range) {
  Node *e = expr_of("y[j, l] = x[(j: n, l)]");
  Node *g = e->list.items[0];
  cr_assert_eq(g->kind, N_GROUP);
  cr_assert_eq(g->list.items[0]->kind, N_RANGED);
  expect_name(g->list.items[0]->a, "j");
  expect_name(g->list.items[0]->b, "n");
  expect_name(g->list.items[1], "l");
}

Test(parse, parenthesised_expression_is_not_a_group) {
  Node *e = expr_of("y[i] = x[(i + 1)] * (2)");
  cr_assert_eq(e->kind, N_BINARY);
  cr_assert_eq(e->a->list.items[0]->kind, N_BINARY, "(i + 1) is just i + 1");
  cr_assert_eq(e->b->kind, N_INT);
}

Test(parse, ranged_lhs_indices) {
  Node *st = one_stmt("I[i: n, j: n] = f64(i == j)");
  Node *t = st->list.items[0];
  cr_assert_eq(t->list.n, 2);
  for (int k = 0; k < 2; k++) {
    Node *r = t->list.items[k];
    cr_assert_eq(r->kind, N_RANGED);
    expect_name(r->a, k ? "j" : "i");
    expect_name(r->b, "n");
  }
  cr_assert_eq(st->a->kind, N_CALL);
  cr_assert_str_eq(st->a->name, "f64", "a conversion is a call of the type's name");
  cr_assert_eq(st->a->list.items[0]->kind, N_BINARY);
  cr_assert_eq(st->a->list.items[0]->op, OP_EQ);
}

Test(parse, integer_positions) {
  Node *e = expr_of("y[i] = A[0, i] + X[i + k] * W[k] + L[i % 2, n - 1]");
  /* ((A + (X * W)) + L) */
  cr_assert_eq(e->op, OP_ADD);
  Node *a = e->a->a;
  cr_assert_eq(a->list.items[0]->kind, N_INT);
  Node *x = e->a->b->a;
  cr_assert_eq(x->list.items[0]->kind, N_BINARY);
  cr_assert_eq(x->list.items[0]->op, OP_ADD);
  cr_assert_eq(e->b->list.items[0]->op, OP_MOD);
}

/* ---- section 6: scalar expressions ---- */

Test(parse, precedence) {
  cr_assert_str_eq(unparse(expr_of("x = a + b * c - d / e % f")), "((a + (b * c)) - ((d / e) % f))");
  cr_assert_str_eq(unparse(expr_of("x = a < b && c == d || !e")), "(((a < b) && (c == d)) || !e)");
  cr_assert_str_eq(unparse(expr_of("x = -a * b")), "(-a * b)");
  cr_assert_str_eq(unparse(expr_of("x = a - b - c")), "((a - b) - c)");
  cr_assert_str_eq(unparse(expr_of("x = (a + b) * c")), "((a + b) * c)");
}

Test(parse, floor_division_and_power_precedence) {
  /* // is a multiplicative operator; ** binds tighter than unary minus and
   * to the right, as in Python */
  cr_assert_str_eq(unparse(expr_of("x = a + b // c * d")), "(a + ((b // c) * d))");
  cr_assert_str_eq(unparse(expr_of("x = -a ** b")), "-(a ** b)");
  cr_assert_str_eq(unparse(expr_of("x = a ** b ** c")), "(a ** (b ** c))");
  cr_assert_str_eq(unparse(expr_of("x = a ** -b * c")), "((a ** -b) * c)");
  cr_assert_str_eq(unparse(expr_of("x = 2 * a ** 2")), "(2 * (a ** 2))");
}

Test(parse, continuation_after_power) {
  Node *prog = parse_ok("y = a **\n    2 //\n    b\n");
  cr_assert_eq(prog->list.n, 1);
  cr_assert_str_eq(unparse(prog->list.items[0]->a), "((a ** 2) // b)");
}

Test(parse, comparison_does_not_chain) {
  const char *d = parse_bad("x = a < b < c\n");
  cr_assert(strstr(d, "t.tns:1:11: error: unexpected '<'"), "%s", d);
}

Test(parse, negative_literals_fold) {
  Node *e = expr_of("x = [-1, -2.5, - 3]");
  cr_assert_eq(e->kind, N_LITERAL);
  cr_assert_eq(e->list.items[0]->kind, N_INT);
  cr_assert_eq(e->list.items[0]->ival, -1);
  cr_assert_eq(e->list.items[1]->kind, N_FLOAT);
  cr_assert_eq(e->list.items[1]->fval, -2.5);
  cr_assert_eq(e->list.items[2]->ival, -3);
  expect_span(e->list.items[2], 1, 16, 3);
}

Test(parse, unary_on_names) {
  Node *e = expr_of("x = -y");
  cr_assert_eq(e->kind, N_UNARY);
  cr_assert_eq(e->op, OP_NEG);
  expect_name(e->a, "y");
}

Test(parse, where_and_literals) {
  Node *e = expr_of("M[i, j] = where(j <= i, S[i, j], -inf)");
  cr_assert_eq(e->kind, N_CALL);
  cr_assert_eq(e->list.n, 3);
  cr_assert_eq(e->list.items[2]->kind, N_FLOAT);
  cr_assert(e->list.items[2]->fval < -1e308);
}

Test(parse, bool_and_string_literals) {
  Node *prog = parse_ok("a = true\nb = false\nprint(\"hi\")\n");
  cr_assert_eq(prog->list.items[0]->a->kind, N_BOOL);
  cr_assert_eq(prog->list.items[0]->a->ival, 1);
  cr_assert_eq(prog->list.items[1]->a->ival, 0);
  cr_assert_str_eq(prog->list.items[2]->a->list.items[0]->str, "hi");
}

/* ---- section 7: builtins on whole tensors ---- */

Test(parse, type_as_argument) {
  Node *e = expr_of("A = randn(f32[128, 64], 1)");
  cr_assert_eq(e->kind, N_CALL);
  Node *ty = e->list.items[0];
  cr_assert_eq(ty->kind, N_TYPE);
  cr_assert_eq(ty->op, ELEM_F32);
  cr_assert_eq(ty->list.n, 2);
  cr_assert_eq(ty->list.items[0]->ival, 128);
  cr_assert_eq(e->list.items[1]->ival, 1);
}

Test(parse, tensor_literal) {
  Node *e = expr_of("A = [[1, 2], [3, 4],]");
  cr_assert_eq(e->kind, N_LITERAL);
  cr_assert_eq(e->list.n, 2);
  cr_assert_eq(e->list.items[1]->kind, N_LITERAL);
  cr_assert_eq(e->list.items[1]->list.items[0]->ival, 3);
}

Test(parse, conversion_calls) {
  Node *e = expr_of("y = f32(x) + i64(2) + bool(z)");
  cr_assert_eq(e->b->kind, N_CALL);
  cr_assert_str_eq(e->b->name, "bool");
  cr_assert_str_eq(e->a->a->name, "f32");
}

Test(parse, einsum_call) {
  Node *e = expr_of("C = einsum(\"ij,jk->ik\", A, B)");
  cr_assert_eq(e->kind, N_CALL);
  cr_assert_eq(e->list.n, 3);
  cr_assert_str_eq(e->list.items[0]->str, "ij,jk->ik");
}

/* ---- lines ---- */

Test(parse, continuation_after_operator) {
  Node *prog = parse_ok("y = a +\n    b *\n    c\nz = 1\n");
  cr_assert_eq(prog->list.n, 2);
  cr_assert_str_eq(unparse(prog->list.items[0]->a), "(a + (b * c))");
}

Test(parse, continuation_after_assign_and_comma) {
  Node *prog = parse_ok("a, \n b =\n  f(x)\nz = 1\n");
  cr_assert_eq(prog->list.n, 2);
  cr_assert_eq(prog->list.items[0]->list.n, 2);
}

Test(parse, continuation_inside_brackets) {
  Node *prog = parse_ok("A = f(1,\n      2\n      )\nB = [[1, 2],\n     [3, 4]\n]\nC[i] = X[i,\n  j]\n");
  cr_assert_eq(prog->list.n, 3);
  cr_assert_eq(prog->list.items[0]->a->list.n, 2);
  cr_assert_eq(prog->list.items[1]->a->list.n, 2);
  cr_assert_eq(prog->list.items[2]->a->list.n, 2);
}

Test(parse, newline_inside_braces_ends_statements) {
  Node *st = one_stmt("while c {\n  a = 1\n  b = 2\n\n  c = 3\n}");
  cr_assert_eq(st->c->list.n, 3);
}

Test(parse, no_trailing_newline) {
  Node *prog = parse_ok("x = 1\ny = x + 2");
  cr_assert_eq(prog->list.n, 2);
  cr_assert_eq(prog->list.items[1]->a->kind, N_BINARY);
}

Test(parse, no_trailing_newline_after_block) {
  Node *prog = parse_ok("x = 1\nfor i in 0..3 { x = x + 1 }");
  cr_assert_eq(prog->list.n, 2);
  cr_assert_eq(prog->list.items[1]->kind, N_FOR);
}

Test(parse, blank_lines_and_comments) {
  Node *prog = parse_ok("\n\n# only a comment\n   \nx = 1   # trailing\n\n\n# end");
  cr_assert_eq(prog->list.n, 1);
}

Test(parse, empty_program) {
  Node *prog = parse_ok("");
  cr_assert_eq(prog->list.n, 0);
}

Test(parse, crlf_line_ends) {
  Node *prog = parse_ok("x = 1\r\ny = 2\r\n");
  cr_assert_eq(prog->list.n, 2);
}

Test(parse, statement_spans) {
  Node *prog = parse_ok("x = 1\n\n  Y[i] = Z[i] + 1\n");
  expect_span(prog->list.items[1], 3, 3, 15);
  expect_span(prog->list.items[1]->a->a, 3, 10, 4);
}

/* ---- syntax errors ---- */

Test(parse, error_line_and_column) {
  const char *d = parse_bad("x = 1\ny = 2 +* 3\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:2:8: error: unexpected '*'\ny = 2 +* 3\n       ^\n"), "%s", d);
}

Test(parse, error_statement_ends_early) {
  const char *d = parse_bad("x = 1\ny = 2 *");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:2:7: error: statement ends too early after '*'"), "%s", d);
}

Test(parse, error_statement_ends_early_before_brace) {
  const char *d = parse_bad("if c { x = 1 + }\ny = 2\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:1:14: error: statement ends too early after '+'"), "%s", d);
}

Test(parse, error_colon_outside_brackets) {
  const char *d = parse_bad("y = a: 3\n");
  cr_assert(strstr(d, "t.tns:1:6: error: unexpected ':'; a range"), "%s", d);
}

Test(parse, error_label_in_plain_call) {
  const char *d = parse_bad("y = f(x: 1)\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:1:7: error: 'f' is not a reduction"), "%s", d);
}

Test(parse, error_reduce_over_non_name) {
  const char *d = parse_bad("y = sum(1: x)\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:1:9: error: 'sum(...: e)' takes index names before ':'"), "%s", d);
}

Test(parse, several_errors_are_all_reported) {
  const char *d = parse_bad("a b\nc d\nok = 1\ne = = 2\nf = 3 3\ng = (1 +\n  2)\nh = [1 2]\n");
  cr_assert_eq(count_errors(d), 5, "%s", d);
  cr_assert(strstr(d, "t.tns:1:3: error: unexpected identifier"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:3: error: unexpected identifier"), "%s", d);
  cr_assert(strstr(d, "t.tns:4:5: error: unexpected '='"), "%s", d);
  cr_assert(strstr(d, "t.tns:5:7: error: unexpected integer"), "%s", d);
  cr_assert(strstr(d, "t.tns:8:8: error: unexpected integer"), "%s", d);
}

Test(parse, recovery_keeps_good_statements) {
  Source *src = source_from_string(comp->arena, "t.tns", "x = 1\ny = = 2\nz = 3\n");
  Node *prog = parse_source(&comp->ast, src);
  cr_assert_eq(comp->diag.nerrors, 1, "%s", diags());
  cr_assert_not_null(prog);
  cr_assert_eq(prog->list.n, 2, "x and z survive");
  expect_name(prog->list.items[1]->list.items[0], "z");
}

Test(parse, errors_inside_blocks_recover) {
  const char *d = parse_bad("def f(x: f64) {\n  y = x +* 2\n  z = 1 1\n  return y\n}\nw = ) \nv = 3 3\n");
  cr_assert_eq(count_errors(d), 4, "%s", d);
  cr_assert(strstr(d, "t.tns:2:10: error: unexpected '*'"), "%s", d);
  cr_assert(strstr(d, "t.tns:3:9: error: unexpected integer"), "%s", d);
  cr_assert(strstr(d, "t.tns:6:5: error: ')' has nothing to close"), "%s", d);
  cr_assert(strstr(d, "t.tns:7:7: error: unexpected integer"), "%s", d);
}

Test(parse, mismatched_bracket_notes_opener) {
  const char *d = parse_bad("x = 1\nz = [1,\n  2)\n");
  cr_assert(strstr(d, "t.tns:3:4: error: ')' does not close '['\n"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:5: note: '[' opened here\nz = [1,\n    ^\n"), "%s", d);
  /* the note follows its error */
  cr_assert_lt(strstr(d, "error: ')' does not close"), strstr(d, "note: '[' opened here"));
}

Test(parse, mismatched_brace) {
  const char *d = parse_bad("if c {\n  x = f(1, 2}\n");
  cr_assert(strstr(d, "t.tns:2:13: error: '}' does not close '('"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:8: note: '(' opened here"), "%s", d);
}

Test(parse, unclosed_bracket_points_at_opener) {
  const char *d = parse_bad("x = 1\ny = g(a,\n  b\n");
  cr_assert(strstr(d, "t.tns:2:6: error: unclosed '('\ny = g(a,\n     ^\n"), "%s", d);
}

Test(parse, unclosed_brace_points_at_opener) {
  const char *d = parse_bad("def f(x: f64) {\n  return x\n\ny = 1\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:1:15: error: unclosed '{'"), "%s", d);
}

Test(parse, unclosed_paren_then_next_statement) {
  /* the statement after an unclosed '(' is swallowed: the error there
   * says where the '(' was opened */
  const char *d = parse_bad("x = f(1\ny = 2\n");
  cr_assert(strstr(d, "t.tns:2:1: error: unexpected identifier"), "%s", d);
  cr_assert(strstr(d, "t.tns:1:6: note: '(' opened here"), "%s", d);
}

Test(parse, stray_closer) {
  const char *d = parse_bad("x = 1 }\ny = 2\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:1:7: error: '}' has nothing to close"), "%s", d);
}

Test(parse, deep_nesting_is_an_error_not_a_crash) {
  enum { N = 5000 };
  char *text = malloc(2 * N + 8);
  strcpy(text, "x = ");
  for (int i = 0; i < N; i++) text[4 + i] = '(';
  text[4 + N] = '1';
  for (int i = 0; i < N; i++) text[5 + N + i] = ')';
  text[5 + 2 * N] = 0;
  const char *d = parse_bad(text);
  free(text);
  cr_assert(strstr(d, "error: expression nested too deeply"), "%s", d);
}

Test(parse, deep_unary_is_an_error_not_a_crash) {
  enum { N = 20000 };
  char *text = malloc(N + 8);
  strcpy(text, "x = ");
  memset(text + 4, '-', N);
  strcpy(text + 4 + N, "y");
  const char *d = parse_bad(text);
  free(text);
  cr_assert(strstr(d, "error: expression nested too deeply"), "%s", d);
}

/* "x = 1 + 1 + ..." with n plus signs */
static char *long_sum(int n) {
  char *text = malloc(4 * (size_t)n + 8);
  strcpy(text, "x = 1");
  for (int i = 0; i < n; i++) strcpy(text + 5 + 4 * i, " + 1");
  return text;
}

Test(parse, long_operator_chain_is_fine) {
  char *text = long_sum(3000);
  Node *e = expr_of(text);
  free(text);
  int depth = 0;
  for (; e->kind == N_BINARY; e = e->a) depth++;
  cr_assert_eq(depth, 3000);
}

Test(parse, overlong_operator_chain_is_an_error) {
  /* a left-leaning tree this deep would overflow the stack of any pass
   * that recurses over it */
  char *text = long_sum(100000);
  const char *d = parse_bad(text);
  free(text);
  cr_assert_eq(count_errors(d), 1, "%s", d);
  /* the 4001st '+' is at byte 5 + 4 * 4000 + 2 */
  cr_assert(strstr(d, "t.tns:1:16007: error: expression nested too deeply"), "%.300s", d);
}

Test(parse, operators_count_per_statement) {
  /* 3000 operators in each of three statements is fine */
  char *a = long_sum(3000);
  size_t n = strlen(a);
  char *text = malloc(3 * (n + 1) + 1);
  sprintf(text, "%s\n%s\n%s\n", a, a, a);
  Node *prog = parse_ok(text);
  free(a);
  free(text);
  cr_assert_eq(prog->list.n, 3);
}

/* ---- the REPL's question ---- */

Test(parse, incomplete_inputs) {
  cr_assert(parse_is_incomplete("def f(x: f64) {"));
  cr_assert(parse_is_incomplete("for i in 0..3 {\n  x = x + i\n"));
  cr_assert(parse_is_incomplete("y = f(1,"));
  cr_assert(parse_is_incomplete("A = [[1, 2],\n"));
  cr_assert(parse_is_incomplete("y = 1 +"));
  cr_assert(parse_is_incomplete("y = 1 *\n"));
  cr_assert(parse_is_incomplete("y ="));
  cr_assert(parse_is_incomplete("x = (1 # a comment\n"));
  cr_assert(parse_is_incomplete("if a {\n} else {"));
  cr_assert(parse_is_incomplete("print(\")\", x,"), "a bracket inside a string does not count");
}

Test(parse, complete_inputs) {
  cr_assert_not(parse_is_incomplete("x = 1"));
  cr_assert_not(parse_is_incomplete("x = 1\n"));
  cr_assert_not(parse_is_incomplete("y = f(1, 2)"));
  cr_assert_not(parse_is_incomplete("def f(x: f64) {\n  return x\n}\n"));
  cr_assert_not(parse_is_incomplete("print(x) # done"));
  cr_assert_not(parse_is_incomplete("A[i] = B[i]"));
  /* an extra closer is an error to report, not a reason to wait */
  cr_assert_not(parse_is_incomplete("x = 1)"));
  cr_assert_not(parse_is_incomplete("x = 1 # ( [ {"), "brackets in a comment do not count");
  cr_assert_not(parse_is_incomplete("s = \"{\""));
}

/* ---- reading files ---- */

static char *write_temp(const char *bytes, size_t n) {
  static char path[64];
  strcpy(path, "/tmp/tns_parse_" MKSTEMP_SUFFIX);
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, bytes, n), (ssize_t)n);
  close(fd);
  return path;
}

Test(parse, source_load_reads_every_byte) {
  static const char bytes[] = "x = 1\n\0y = 2\n";
  char *path = write_temp(bytes, sizeof bytes - 1);
  Source *src = source_load(comp->arena, &comp->diag, path);
  remove(path);
  cr_assert_not_null(src, "%s", diags());
  cr_assert_eq(src->len, (int)sizeof bytes - 1, "the NUL byte is kept");
  cr_assert_eq(memcmp(src->text, bytes, sizeof bytes - 1), 0);
  cr_assert_eq(src->text[src->len], 0, "NUL-terminated for the lexer");
  cr_assert_str_eq(src->path, path);
}

Test(parse, source_load_large_file) {
  /* bigger than any read buffer: the text must come through whole */
  enum { N = 300000 };
  char *bytes = malloc(N);
  for (int i = 0; i < N; i++) bytes[i] = (char)('a' + i % 26);
  char *path = write_temp(bytes, N);
  Source *src = source_load(comp->arena, &comp->diag, path);
  remove(path);
  cr_assert_not_null(src);
  cr_assert_eq(src->len, N);
  cr_assert_eq(memcmp(src->text, bytes, N), 0);
  free(bytes);
}

Test(parse, source_load_missing_file) {
  Source *src = source_load(comp->arena, &comp->diag, "/nonexistent/dir/x.tns");
  cr_assert_null(src);
  cr_assert_eq(comp->diag.nerrors, 1);
  cr_assert_str_eq(diags(), "tnsc: error: cannot open '/nonexistent/dir/x.tns': No such file or directory\n");
}

Test(parse, source_load_directory_is_an_error) {
  Source *src = source_load(comp->arena, &comp->diag, "/tmp");
  cr_assert_null(src, "a directory is not a program");
  cr_assert(strstr(diags(), "tnsc: error: cannot open '/tmp': Is a directory"), "%s", diags());
}

Test(parse, compiler_parse_file_reports_positions_with_its_path) {
  char *path = write_temp("x = 1\ny = = 2\n", 14);
  Node *prog = compiler_parse_file(comp, path);
  remove(path);
  cr_assert_not_null(prog);
  char want[128];
  snprintf(want, sizeof want, "%s:2:5: error: unexpected '='", path);
  cr_assert(strstr(diags(), want), "%s", diags());
}

/* ---- ast helpers ---- */

Test(parse, unparse_round_trip) {
  Node *e = expr_of("y[i] = sum(j: A[i, j] * x[(j, k)]) + f32(2.5) - -b");
  cr_assert_str_eq(unparse(e), "((sum(j: (A[i, j] * x[(j, k)])) + f32(2.5)) - -b)");
}

Test(parse, dump_shows_kinds_and_positions) {
  Node *st = one_stmt("s[i] = sum(j: A[i, j])");
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ast_dump(f, st, 0);
  fclose(f);
  cr_assert(strstr(buf, "assign = @1:1\n"), "%s", buf);
  cr_assert(strstr(buf, "reduce sum @1:8\n"), "%s", buf);
  cr_assert(strstr(buf, "name j @1:12\n"), "%s", buf);
  free(buf);
}
