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
