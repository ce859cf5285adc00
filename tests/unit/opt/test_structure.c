/* test_structure.c — passes/structure.c: which Kronecker/Khatri-Rao
 * definitions stop being computed, which contractions read the factors,
 * and what stays dense. */
#include <string.h>
#include "passes.h"
#include "tir_fixture.h"

typedef struct Shape {
  int kron_ops;       /* structured definitions left in the function */
  int accesses;       /* tensor reads in the body computing R */
  int grouped;        /* grouped positions in the result's output */
  int records;        /* StructureInfo records */
  int materialised;   /* of which still computed */
} Shape;

static int reads(const TirExpr *x) {
  if (!x) return 0;
  int n = x->kind == TX_ACCESS;
  n += reads(x->a) + reads(x->b) + reads(x->c);
  for (int i = 0; x->args && x->kind != TX_REDUCE && i < x->n; i++) n += reads(x->args[i]);
  return n;
}

static Shape structured(const char *text) {
  Compiler *c = compiler_new(NULL);
  TirProgram *p = tir_of(c, text, 0);
  PassOptions o = {0};
  pass_structure(p, &o);
  cr_assert_eq(tir_verify(p, stderr), 0);
  Shape s = {0, -1, 0, p->structures.n, 0};
  TirFunc *f = NULL;
  for (int i = 0; i < p->funcs.n; i++)
    if (strcmp(((TirFunc *)p->funcs.items[i])->source_name, "t") == 0) f = p->funcs.items[i];
  cr_assert_not_null(f);
  for (int i = 0; i < f->body.n; i++) {
    const TirOp *op = f->body.ops[i];
    if (op->kind != TO_EINSUM) continue;
    for (int k = 0; k < op->out->type->rank; k++) {
      int g = op->opos[k].kind == TP_GROUP;
      if (op->out->name && strcmp(op->out->name, "R") == 0) s.grouped += g;
      else if (g) { s.kron_ops++; break; }
    }
    /* the contraction (into an unfolded R) and the copy into R's groups */
    if (op->out->name && strcmp(op->out->name, "R") == 0 && reads(op->body) > s.accesses) s.accesses = reads(op->body);
  }
  for (int i = 0; i < p->structures.n; i++) s.materialised += ((StructureInfo *)p->structures.items[i])->materialised;
  compiler_free(c);
  return s;
}

typedef struct Case {
  const char *what, *text;
  Shape want;
} Case;

static const Case cases[] = {
  {"kron indexed directly: A, B and x read, nothing built",
   "def t(A: f64[n, m], B: f64[p, q], x: f64[m*q]) -> f64[n*p] {\n  R[r] = kron(A, B)[r, c] * x[c]\n  return R\n}\n",
   {0, 3, 1, 1, 0}},
  {"a name bound to kron",
   "def t(A: f64[n, m], B: f64[p, q], x: f64[m*q]) -> f64[n*p] {\n  K = kron(A, B)\n  R[r] = K[r, c] * x[c]\n  return R\n}\n",
   {0, 3, 1, 1, 0}},
  {"three factors",
   "def t(A: f64[2, 2], B: f64[3, 3], C: f64[2, 2], x: f64[12]) -> f64[12] {\n"
   "  R[r] = kron(A, B, C)[r, c] * x[c]\n  return R\n}\n", {0, 4, 1, 1, 0}},
  {"the mixed product: both products read through their factors",
   "def t(A: f64[3, 3], B: f64[2, 2], C: f64[3, 3], D: f64[2, 2], x: f64[6]) -> f64[6] {\n"
   "  R[r] = kron(A, B)[r, s] * kron(C, D)[s, c] * x[c]\n  return R\n}\n", {0, 5, 1, 2, 0}},
  {"returned as well: built, and the contraction still reads the factors",
   "def t(A: f64[2, 2], B: f64[2, 2], x: f64[4]) -> (f64[4], f64[4, 4]) {\n"
   "  K = kron(A, B)\n  R[r] = K[r, c] * x[c]\n  return R, K\n}\n", {1, 3, 1, 1, 1}},
  {"an index used as a value: the read stays dense",
   "def t(A: f64[2, 2], B: f64[2, 2]) -> f64[4] {\n  K = kron(A, B)\n  R[r] = K[r, c] * f64(c)\n  return R\n}\n",
   {1, 1, 0, 1, 1}},
  {"redefined in a loop as a factor changes: read through the factors",
   "def t(A: f64[2, 2], B: f64[2, 2], x: f64[4]) -> f64[4] {\n  C[i, j] = A[i, j]\n  K = kron(C, B)\n  R = x\n"
   "  for it in 0..2 {\n    R[r] = K[r, c] * x[c]\n    C[i, j] = C[i, j] * 2.0\n    K = kron(C, B)\n  }\n  return R\n}\n",
   {0, 1, 0, 1, 0}},
  {"a factor changed before a read of the old product: stays dense",
   "def t(A: f64[2, 2], B: f64[2, 2], x: f64[4]) -> f64[4] {\n  C[i, j] = A[i, j]\n  K = kron(C, B)\n  R = x\n"
   "  for it in 0..2 {\n    C[i, j] = C[i, j] * 2.0\n    R[r] = K[r, c] * x[c]\n    K = kron(C, B)\n  }\n  return R\n}\n",
   {1, 1, 0, 0, 0}},
  {"an explicit range may be a prefix: stays dense",
   "def t(A: f64[2], B: f64[2]) -> f64[3] {\n  R[q: 3] = kron(A, B)[q] * 2.0\n  return R\n}\n", {1, 1, 0, 1, 1}},
};

Test(structure, kronecker_reads_become_factor_reads) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const Case *k = &cases[i];
    Shape s = structured(k->text);
    cr_expect_eq(s.kron_ops, k->want.kron_ops, "%s: %d products built, expected %d", k->what, s.kron_ops, k->want.kron_ops);
    cr_expect_eq(s.accesses, k->want.accesses, "%s: %d reads, expected %d", k->what, s.accesses, k->want.accesses);
    cr_expect_eq(s.grouped, k->want.grouped, "%s: %d grouped outputs, expected %d", k->what, s.grouped, k->want.grouped);
    cr_expect_eq(s.records, k->want.records, "%s: %d records, expected %d", k->what, s.records, k->want.records);
    cr_expect_eq(s.materialised, k->want.materialised, "%s: %d materialised, expected %d", k->what, s.materialised,
                 k->want.materialised);
  }
}

/* ---- passes/kronla.c: solve, logdet, inv, cholesky from the factors ---- */

typedef struct Algebra {
  int inv, eigh, solve, logdet, cholesky;   /* builtins at the top level */
  int ifs;                                  /* eigh forms: symmetric, or the dense call */
  int largest;                              /* elements of the largest matrix computed at the top level */
  int records;                              /* decisions for explain */
  int calls;                                /* calls left at the top level */
} Algebra;

static int elements(const Type *t) {
  int n = 1;
  for (int k = 0; k < t->rank; k++) n *= t->dims[k].n ? -1 : (int)t->dims[k].k;
  return n;
}

static Algebra algebra(const char *text) {
  Compiler *c = compiler_new(NULL);
  TirProgram *p = tir_of(c, text, 0);
  PassOptions o = {0};
  pass_kroninline(p, &o);
  cr_assert_eq(tir_verify(p, stderr), 0);
  pass_kronla(p, &o);
  cr_assert_eq(tir_verify(p, stderr), 0);
  pass_structure(p, &o);
  cr_assert_eq(tir_verify(p, stderr), 0);
  Algebra a = {0};
  TirFunc *f = NULL;
  for (int i = 0; i < p->funcs.n; i++)
    if (strcmp(((TirFunc *)p->funcs.items[i])->source_name, "t") == 0) f = p->funcs.items[i];
  cr_assert_not_null(f);
  for (int i = 0; i < f->body.n; i++) {
    const TirOp *op = f->body.ops[i];
    a.ifs += op->kind == TO_IF;
    a.calls += op->kind == TO_CALL;
    if (op->kind == TO_IF)   /* the structured branch */
      for (int j = 0; j < op->body_ops.n; j++) a.eigh += op->body_ops.ops[j]->kind == TO_BUILTIN && op->body_ops.ops[j]->builtin == B_EIGH;
    const TirVar *out[3] = {op->kind == TO_EINSUM ? op->out : NULL, NULL, NULL};
    if (op->kind == TO_BUILTIN) {
      a.inv += op->builtin == B_INV;
      a.solve += op->builtin == B_SOLVE;
      a.logdet += op->builtin == B_LOGDET;
      a.cholesky += op->builtin == B_CHOLESKY;
      for (int r = 0; r < op->nresults && r < 3; r++) out[r] = op->results[r];
    }
    for (int r = 0; r < 3; r++)
      if (out[r] && out[r]->type->rank == 2 && elements(out[r]->type) > a.largest) a.largest = elements(out[r]->type);
  }
  for (int i = 0; i < p->structures.n; i++) a.records += ((StructureInfo *)p->structures.items[i])->algebra != NULL;
  compiler_free(c);
  return a;
}

typedef struct AlgebraCase {
  const char *what, *text;
  Algebra want;
} AlgebraCase;

#define SIG "def t(A: f64[2, 2], B: f64[3, 3], y: f64[6], s: f64) -> f64[6] {\n"
static const AlgebraCase algebra_cases[] = {
  {"solve(kron): one inverse per factor, no 6x6 matrix", SIG "  return solve(kron(A, B), y)\n}\n",
   {2, 0, 0, 0, 0, 0, 9, 1, 0}},
  {"a bound name", SIG "  K = kron(A, B)\n  return solve(K, y)\n}\n", {2, 0, 0, 0, 0, 0, 9, 1, 0}},
  {"the index spelling + s * f64(r == c): eigh of each factor",
   SIG "  K[r, c] = kron(A, B)[r, c] + s * f64(r == c)\n  return solve(K, y)\n}\n", {0, 2, 0, 0, 0, 1, 0, 1, 0}},
  {"kron + s * eye", SIG "  return solve(kron(A, B) + s * eye(f64[6, 6]), y)\n}\n", {0, 2, 0, 0, 0, 1, 0, 1, 0}},
  {"det(kron + s * eye): from the factors' eigenvalues", "def t(A: f64[2, 2], B: f64[3, 3], s: f64) -> f64 {\n"
   "  return det(kron(A, B) + s * eye(f64[6, 6]))\n}\n", {0, 2, 0, 0, 0, 1, 0, 1, 0}},
  {"slogdet of a Kronecker sum", "def t(A: f64[2, 2], B: f64[3, 3]) -> (f64, f64) {\n"
   "  sg, ld = slogdet(kron(A, eye(f64[3, 3])) + kron(eye(f64[2, 2]), B))\n  return sg, ld\n}\n", {0, 2, 0, 0, 0, 1, 0, 1, 0}},
  {"a Kronecker sum", SIG "  return solve(kron(A, eye(f64[3, 3])) + kron(eye(f64[2, 2]), B), y)\n}\n",
   {0, 2, 0, 0, 0, 1, 0, 1, 0}},
  {"logdet(kron): one logdet per factor",
   "def t(A: f64[2, 2], B: f64[3, 3]) -> f64 {\n  return logdet(kron(A, B))\n}\n", {0, 0, 0, 2, 0, 0, 0, 1, 0}},
  {"cholesky(kron): the factors' Cholesky factors",
   "def t(A: f64[2, 2], B: f64[3, 3], y: f64[6]) -> f64[6] {\n  L = cholesky(kron(A, B))\n  z[r] = L[r, c] * y[c]\n  return z\n}\n",
   {0, 0, 0, 0, 2, 0, 9, 1, 0}},
  {"eigh(kron): eigh of each factor, no 6x6 eigh",
   "def t(A: f64[2, 2], B: f64[3, 3]) -> (f64[6], f64[6, 6]) {\n  w, V = eigh(kron(A, B))\n  return w, V\n}\n",
   {0, 2, 0, 0, 0, 1, 0, 1, 0}},
  {"kron + s*I read in a contraction: one statement per term, no 6x6 matrix",
   SIG "  K[r, c] = kron(A, B)[r, c] + s * f64(r == c)\n  z[r] = K[r, c] * y[c]\n  return z\n}\n",
   {0, 0, 0, 0, 0, 0, 0, 1, 0}},   /* 0: y and z read and written as 2 x 3 views, not copied */
  {"passed to a function: inlined, then solved from the factors",
   "def g(M: f64[n, n], b: f64[n]) -> f64[n] {\n  return solve(M, b)\n}\n"
   "def t(A: f64[2, 2], B: f64[3, 3], y: f64[6]) -> f64[6] {\n  return g(kron(A, B), y)\n}\n",
   {2, 0, 0, 0, 0, 0, 9, 2, 0}},
  {"a return inside a loop: the call stays",
   "def g(M: f64[n, n], b: f64[n]) -> f64[n] {\n  for s in 0..2 {\n    return solve(M, b)\n  }\n  return b\n}\n"
   "def t(A: f64[2, 2], B: f64[3, 3], y: f64[6]) -> f64[6] {\n  return g(kron(A, B), y)\n}\n",
   {0, 0, 0, 0, 0, 0, 36, 0, 1}},
  {"a plain matrix passed: the call stays",
   "def g(M: f64[n, n], b: f64[n]) -> f64[n] {\n  return solve(M, b)\n}\n"
   "def t(A: f64[6, 6], y: f64[6]) -> f64[6] {\n  return g(A, y)\n}\n",
   {0, 0, 0, 0, 0, 0, 0, 0, 1}},
  {"non-square factors: the dense solve",
   "def t(A: f64[2, 3], B: f64[3, 2], y: f64[6]) -> f64[6] {\n  return solve(kron(A, B), y)\n}\n",
   {0, 0, 1, 0, 0, 0, 36, 0, 0}},
  {"a factor written after the product: the dense solve",
   SIG "  C[i, j] = A[i, j]\n  K = kron(C, B)\n  x = y\n  for it in 0..2 {\n    x = solve(K, x)\n    C[i, j] = C[i, j] * 2.0\n  }\n"
   "  return x\n}\n", {0, 0, 0, 0, 0, 0, 36, 0, 0}},
  {"printed as well: built for print, the solve still from the factors",
   SIG "  K = kron(A, B)\n  print(K)\n  return solve(K, y)\n}\n", {2, 0, 0, 0, 0, 0, 36, 1, 0}},
};

Test(structure, kronecker_linear_algebra_from_the_factors) {
  for (size_t i = 0; i < sizeof algebra_cases / sizeof algebra_cases[0]; i++) {
    const AlgebraCase *k = &algebra_cases[i];
    Algebra a = algebra(k->text);
    const int *got = &a.inv, *want = &k->want.inv;
    static const char *what[] = {"inv", "eigh", "solve", "logdet", "cholesky", "if", "largest matrix", "records", "calls"};
    for (int j = 0; j < 9; j++)
      cr_expect_eq(got[j], want[j], "%s: %s %d, expected %d", k->what, what[j], got[j], want[j]);
  }
}

/* Builtins and calls anywhere in a block (branches and loops too). */
static void count_deep(const TirBlock *b, int *inv, int *solve, int *calls, int *largest) {
  for (int i = 0; i < b->n; i++) {
    const TirOp *op = b->ops[i];
    *inv += op->kind == TO_BUILTIN && op->builtin == B_INV;
    *solve += op->kind == TO_BUILTIN && op->builtin == B_SOLVE;
    *calls += op->kind == TO_CALL;
    const TirVar *out = op->kind == TO_EINSUM ? op->out : op->kind == TO_BUILTIN && op->nresults ? op->results[0] : NULL;
    if (out && out->type->rank == 2 && elements(out->type) > *largest) *largest = elements(out->type);
    count_deep(&op->body_ops, inv, solve, calls, largest);
    count_deep(&op->else_ops, inv, solve, calls, largest);
  }
}

/* return in an if branch: the call is inlined all the same, the ops after
 * the if copied into its other branch, and the solve there uses the
 * factors (two 2x2 / 3x3 inverses, no 6x6 matrix). */
Test(structure, a_callee_with_an_early_return_is_inlined) {
  Compiler *c = compiler_new(NULL);
  TirProgram *p = tir_of(c,
                         "def g(M: f64[n, n], b: f64[n], t: i64) -> f64[n] {\n  if t > 0 {\n    return b\n  }\n"
                         "  z = solve(M, b)\n  return z\n}\n"
                         "def t(A: f64[2, 2], B: f64[3, 3], y: f64[6], k: i64) -> f64[6] {\n  return g(kron(A, B), y, k)\n}\n",
                         0);
  PassOptions o = {0};
  pass_kroninline(p, &o);
  cr_assert_eq(tir_verify(p, stderr), 0);
  pass_kronla(p, &o);
  pass_structure(p, &o);
  cr_assert_eq(tir_verify(p, stderr), 0);
  TirFunc *f = NULL;
  for (int i = 0; i < p->funcs.n; i++)
    if (strcmp(((TirFunc *)p->funcs.items[i])->source_name, "t") == 0) f = p->funcs.items[i];
  cr_assert_not_null(f);
  int inv = 0, solve = 0, calls = 0, largest = 0;
  count_deep(&f->body, &inv, &solve, &calls, &largest);
  cr_expect_eq(calls, 0, "the call was not inlined");
  cr_expect_eq(inv, 2, "inverses of the factors: %d", inv);
  cr_expect_eq(solve, 0, "a dense solve is left");
  cr_expect_lt(largest, 36, "a 6x6 matrix is built");
  compiler_free(c);
}
