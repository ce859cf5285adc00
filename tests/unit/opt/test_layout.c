/* test_layout.c — the contract and layout passes together: which steps
 * become library GEMMs and how many permuting copies remain. Each program
 * is a workload of bench/ (or a smaller relative) whose speed depends on
 * the answer: a copy of a 256³ intermediate costs more than its product. */
#include <string.h>
#include "gemm.h"
#include "passes.h"
#include "tir_fixture.h"

typedef struct Count {
  int products;   /* EINSUMs multiplying two tensors */
  int gemms;      /* ... of which gemm_match() accepts */
  int copies;     /* EINSUMs that only permute a tensor */
  int branches;   /* run-time path choices (IF ops) */
} Count;

static int is_copy(const TirOp *op) {
  return op->body->kind == TX_ACCESS && op->body->var != op->out && op->out->type->rank > 1;
}

static int is_product(const TirExpr *x) {
  if (x->kind == TX_REDUCE) x = x->a;
  return x->kind == TX_BINARY && x->a->kind == TX_ACCESS && x->b->kind == TX_ACCESS &&
         x->a->var->type->rank > 0 && x->b->var->type->rank > 0;
}

static void count_block(const TirBlock *b, Count *c) {
  for (int i = 0; i < b->n; i++) {
    const TirOp *op = b->ops[i];
    if (op->kind == TO_IF) c->branches++;
    count_block(&op->body_ops, c);
    count_block(&op->else_ops, c);
    if (op->kind != TO_EINSUM || !op->out || op->out->type->rank == 0) continue;
    GemmShape g;
    if (is_copy(op)) c->copies++;
    if (is_product(op->body)) {
      c->products++;
      c->gemms += gemm_match(op, &g);
    }
  }
}

/* Counts over the function `name` of text after contract and layout. */
static Count lowered(const char *text, const char *name) {
  Compiler *c = compiler_new(NULL);
  TirProgram *p = tir_of(c, text, 0);
  PassOptions o = {0};
  pass_contract(p, &o);
  pass_layout(p, &o);
  Count n = {0};
  int found = 0;
  for (int i = 0; i < p->funcs.n; i++) {
    TirFunc *f = p->funcs.items[i];
    if (strcmp(f->source_name ? f->source_name : f->name, name) == 0) {
      count_block(&f->body, &n);
      found = 1;
    }
  }
  cr_assert(found, "no function %s", name);
  compiler_free(c);
  return n;
}

/* A program, and what its function t must become (-1: not checked). */
typedef struct Case {
  const char *what, *text;
  int products, gemms, copies, branches;
} Case;

static const Case cases[] = {
  {"a 4-index transform is four GEMMs without copies",
   "def t(A: f64[n, n, n, n], C: f64[n, n]) -> f64[n, n, n, n] {\n"
   "  B[a, b, c, d] = C[p, a] * C[q, b] * C[r, c] * C[s, d] * A[p, q, r, s]\n  return B\n}\n",
   4, 4, 0, 0},
  /* Every candidate path of a Tucker reconstruction is copy-free: each
   * mode product puts its new index where the summed one was, and the
   * last lands in the output's order as a GEMM batched over a leading
   * index. (products == gemms is checked for every case.) */
  {"Tucker with symbolic sizes: copy-free candidates chosen at run time",
   "def t(G: f64[r1, r2, r3], U: f64[n1, r1], V: f64[n2, r2], W: f64[n3, r3]) -> f64[n1, n2, n3] {\n"
   "  X[i, j, k] = G[a, b, c] * U[i, a] * V[j, b] * W[k, c]\n  return X\n}\n",
   -1, -1, 0, 3},
  {"Tucker with known sizes: three GEMMs",
   "def t(G: f64[4, 5, 6], U: f64[40, 4], V: f64[50, 5], W: f64[60, 6]) -> f64[40, 50, 60] {\n"
   "  X[i, j, k] = G[a, b, c] * U[i, a] * V[j, b] * W[k, c]\n  return X\n}\n",
   3, 3, 0, 0},
  /* the summed pair in B's order, so only A is copied */
  {"avxu,uvyt->axyt copies one operand",
   "def t(A: f64[8, 9, 10, 11], B: f64[11, 9, 12, 13]) -> f64[8, 10, 12, 13] {\n"
   "  C[a, x, y, t] = A[a, v, x, u] * B[u, v, y, t]\n  return C\n}\n",
   1, 1, 1, 0},
  {"an operand stored transposed ([K, M]) is read as it is",
   "def t(A: f64[7, 5, 6], B: f64[5, 6, 8]) -> f64[8, 7] {\n"
   "  C[n, m] = A[m, k, l] * B[k, l, n]\n  return C\n}\n",
   1, 1, 0, 0},
  /* MTTKRP's Khatri-Rao product is an outer product batched over q */
  {"a Khatri-Rao product stays a loop",
   "def t(B: f64[30, 8], C: f64[40, 8]) -> f64[30, 40, 8] {\n"
   "  K[b, c, q] = B[b, q] * C[c, q]\n  return K\n}\n",
   1, 0, 0, 0},
  {"a batched matrix-vector product stays a loop",
   "def t(T: f64[30, 40, 8], B: f64[40, 8]) -> f64[30, 8] {\n"
   "  M[a, q] = T[a, b, q] * B[b, q]\n  return M\n}\n",
   1, 0, 0, 0},
  {"X[i, j, k] = V[j, b] T[i, b, k]: a GEMM batched over i, V shared on the left",
   "def t(V: f64[9, 5], T: f64[7, 5, 6]) -> f64[7, 9, 6] {\n"
   "  X[i, j, k] = V[j, b] * T[i, b, k]\n  return X\n}\n",
   1, 1, 0, 0},
  /* an elementwise factor over fewer indices than the loops becomes a
   * temporary, and the product a GEMM */
  {"relu(A) B: a temporary, then a GEMM",
   "def t(A: f64[6, 7], B: f64[7, 8]) -> f64[6, 8] {\n"
   "  C[i, k] = relu(A[i, j]) * B[j, k]\n  return C\n}\n",
   1, 1, 0, 0},
  {"a causal mask: a temporary, then a GEMM",
   "def t(P: f64[6, 6], V: f64[6, 3]) -> f64[6, 3] {\n"
   "  O[i, x] = where(j <= i, P[i, j], 0.0) * V[j, x]\n  return O\n}\n",
   1, 1, 0, 0},
  /* gallery gap 3: a product-sum inside a larger statement is lifted into
   * a temporary the contract pass plans (docs/gallery-gaps.md) */
  {"W R dW L inside W - ...: a chain of two GEMMs, not an O(d^4) nest",
   "def t(W: f64[30, 20], R: f64[30, 30], D: f64[30, 20], L: f64[20, 20]) -> f64[30, 20] {\n"
   "  W2[q, i] = W[q, i] - R[q, p] * D[p, j] * L[j, i]\n  return W2\n}\n",
   3, 2, 0, 0},   /* the third "product" is W - T */
  {"Chamfer: one GEMM written [a, z, b], then the max and the sum",
   "def t(Q: f64[32, 64], P: f64[100, 32, 64]) -> f64[100] {\n"
   "  s[z] = sum(a: max(b: Q[a, c] * P[z, b, c]))\n  return s\n}\n",
   1, 1, 0, 0},
  {"a masked product: a batched GEMM, then where(...)",
   "def t(Q: f64[2, 10, 8], K: f64[2, 10, 8]) -> f64[2, 10, 10] {\n"
   "  S[h, i, j] = where(j <= i, Q[h, i, c] * K[h, j, c], -1.0)\n  return S\n}\n",
   1, 1, 0, 0},
  {"a ridge added to a Gram tensor: GEMMs, then the sum",
   "def t(W: f64[50, 40], V: f64[40, 6], lam: f64) -> f64[50, 6, 6] {\n"
   "  G[i, p, q] = W[i, j] * V[j, p] * V[j, q] + lam * f64(p == q)\n  return G\n}\n",
   2, -1, -1, 0},
  /* gallery gap 9: a grouped position splitting a dimension is a view */
  {"gelu(X A[i, (s, j)]): one GEMM on the view of A, no copy",
   "def t(X: f64[12, 16], A: f64[16, 4*8]) -> f64[4, 12, 8] {\n"
   "  Y[s, z, j] = gelu(sum(i: X[z, i] * A[i, (s: 4, j)]))\n  return Y\n}\n",
   1, 1, 0, 0},
  {"Y[s, z, j] B[(s, j), o]: Y copied to [z, s, j], B read as it is",
   "def t(Y: f64[4, 12, 8], B: f64[4*8, 16]) -> f64[12, 16] {\n"
   "  Z[z, o] = Y[s, z, j] * B[(s, j), o]\n  return Z\n}\n",
   1, 1, 1, 0},
  {"Kronecker GP: y[(i, j)] and t[(a, b)] are views",
   "def t(Q1: f64[20, 20], Q2: f64[15, 15], y: f64[20*15]) -> f64[20*15] {\n"
   "  u[(a, b)] = Q1[i, a] * Q2[j, b] * y[(i, j)]\n  return u\n}\n",
   2, 2, -1, 0},
  /* over every index of the loops it would be as large as they are */
  {"exp(A) x stays a loop nest",
   "def t(A: f64[6, 7], x: f64[7]) -> f64[6] {\n"
   "  y[i] = exp(A[i, j]) * x[j]\n  return y\n}\n",
   0, 0, 0, 0},
};

static void expect(const char *what, const char *field, int want, int got) {
  if (want >= 0) cr_expect_eq(got, want, "%s: %d %s, expected %d", what, got, field, want);
}

Test(layout, steps_become_gemms_with_the_fewest_copies) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const Case *k = &cases[i];
    Count n = lowered(k->text, "t");
    expect(k->what, "products", k->products, n.products);
    expect(k->what, "GEMMs", k->gemms, n.gemms);
    expect(k->what, "copies", k->copies, n.copies);
    expect(k->what, "run-time branches", k->branches, n.branches);
    if (k->products < 0) expect(k->what, "GEMMs (one per product)", n.products, n.gemms);
  }
}
