/* test_hoist.c — passes/hoist.c: which reductions move into an EINSUM of
 * their own (over the indices they use) and which stay where they are. */
#include <string.h>
#include "passes.h"
#include "tir_fixture.h"

/* How many reductions remain in expr. */
static int reductions(const TirExpr *x) {
  if (!x) return 0;
  int n = x->kind == TX_REDUCE;
  n += reductions(x->a) + reductions(x->b) + reductions(x->c);
  for (int i = 0; x->args && i < x->n; i++) n += reductions(x->args[i]);
  return n;
}

typedef struct Shape {
  int einsums;        /* EINSUMs in the function, result included */
  int left;           /* reductions left in the result's body */
  int temp_rank;      /* rank of the first temporary (-1: none) */
} Shape;

static Shape hoisted(const char *text) {
  Compiler *c = compiler_new(NULL);
  TirProgram *p = tir_of(c, text, 0);
  PassOptions o = {0};
  pass_hoist(p, &o);
  cr_assert_eq(tir_verify(p, stderr), 0);
  Shape s = {0, -1, -1};
  TirFunc *f = NULL;
  for (int i = 0; i < p->funcs.n; i++)
    if (strcmp(((TirFunc *)p->funcs.items[i])->source_name, "t") == 0) f = p->funcs.items[i];
  cr_assert_not_null(f);
  for (int i = 0; i < f->body.n; i++) {
    const TirOp *op = f->body.ops[i];
    if (op->kind != TO_EINSUM) continue;
    s.einsums++;
    if (!op->out->name && s.temp_rank < 0) s.temp_rank = op->out->type->rank;
    if (op->out->name && strcmp(op->out->name, "R") == 0) s.left = reductions(op->body);
  }
  compiler_free(c);
  return s;
}

typedef struct Case {
  const char *what, *text;
  Shape want;
} Case;

static const Case cases[] = {
  {"softmax: a max and a sum per row, then one pass",
   "def t(S: f64[n, m]) -> f64[n, m] {\n  R[i, j] = softmax(j: S[i, j])\n  return R\n}\n", {3, 0, 1}},
  {"a row sum in a normalisation",
   "def t(S: f64[n, m]) -> f64[n, m] {\n  R[i, j] = S[i, j] / sum(k: abs(S[i, k]))\n  return R\n}\n", {2, 0, 1}},
  {"a total in every element: a scalar",
   "def t(S: f64[n, m]) -> f64[n, m] {\n  R[i, j] = S[i, j] / max(k, l: S[k, l])\n  return R\n}\n", {2, 0, 0}},
  {"softmax inside an implicit sum (attention)",
   "def t(S: f64[n, m], V: f64[m, d]) -> f64[n, d] {\n  R[i, x] = softmax(j: S[i, j]) * V[j, x]\n  return R\n}\n",
   {3, 1, 1}},
  {"a reduction that uses every index stays",
   "def t(S: f64[n, m]) -> f64[n] {\n  R[i] = sum(k: S[i, k] * 2.0)\n  return R\n}\n", {1, 1, -1}},
  {"over an enclosing sum's index: the temporary could outgrow the result, so it stays",
   "def t(A: f64[n, m], B: f64[m, p]) -> f64[n] {\n  R[i] = sum(j: A[i, j] * max(k: B[j, k]))\n  return R\n}\n",
   {1, 2, -1}},
  {"a user function inside: left alone",
   "def f(x: f64) -> f64 {\n  return x * 2.0\n}\n"
   "def t(S: f64[n, m]) -> f64[n, m] {\n  R[i, j] = S[i, j] / sum(k: f(S[i, k]))\n  return R\n}\n", {1, 1, -1}},
};

Test(hoist, reductions_move_out_only_where_they_should) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const Case *k = &cases[i];
    Shape s = hoisted(k->text);
    cr_expect_eq(s.einsums, k->want.einsums, "%s: %d einsums, expected %d", k->what, s.einsums, k->want.einsums);
    cr_expect_eq(s.left, k->want.left, "%s: %d reductions left, expected %d", k->what, s.left, k->want.left);
    cr_expect_eq(s.temp_rank, k->want.temp_rank, "%s: temporary of rank %d, expected %d", k->what, s.temp_rank,
                 k->want.temp_rank);
  }
}
