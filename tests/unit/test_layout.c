/* test_layout.c — the contract and layout passes together: which steps
 * become library GEMMs and how many permuting copies remain. Each program
 * is a workload of bench/ (or a smaller relative) whose speed depends on
 * the answer: a copy of a 256³ intermediate costs more than its product. */
#include <criterion/criterion.h>
#include <string.h>
#include "compile.h"
#include "gemm.h"
#include "passes.h"
#include "sema.h"
#include "tir.h"

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
  Source *src = source_from_string(c->arena, "t.tns", text);
  Node *prog = parse_source(&c->ast, src);
  cr_assert_not_null(prog);
  sema_program(c, prog, "t.tns");
  cr_assert_eq(c->diag.nerrors, 0);
  TirProgram *p = tir_build(c->arena, &c->names, prog, 0);
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

Test(layout, four_index_transform_is_four_gemms_without_copies) {
  Count n = lowered("def t(A: f64[n, n, n, n], C: f64[n, n]) -> f64[n, n, n, n] {\n"
                    "  B[a, b, c, d] = C[p, a] * C[q, b] * C[r, c] * C[s, d] * A[p, q, r, s]\n"
                    "  return B\n}\n", "t");
  cr_assert_eq(n.products, 4);
  cr_assert_eq(n.gemms, 4);
  cr_assert_eq(n.copies, 0);
}

/* Every candidate path of a Tucker reconstruction is copy-free: each mode
 * product puts its new index where the summed one was, and the last lands
 * in the output's order as a GEMM batched over a leading index. */
Test(layout, tucker_candidates_need_no_copy) {
  Count n = lowered("def t(G: f64[r1, r2, r3], U: f64[n1, r1], V: f64[n2, r2], W: f64[n3, r3]) -> f64[n1, n2, n3] {\n"
                    "  X[i, j, k] = G[a, b, c] * U[i, a] * V[j, b] * W[k, c]\n"
                    "  return X\n}\n", "t");
  cr_assert_gt(n.branches, 0);
  cr_assert_eq(n.products, n.gemms, "%d products, %d GEMMs", n.products, n.gemms);
  cr_assert_eq(n.copies, 0);
}

Test(layout, tucker_with_known_sizes) {
  Count n = lowered("def t(G: f64[4, 5, 6], U: f64[40, 4], V: f64[50, 5], W: f64[60, 6]) -> f64[40, 50, 60] {\n"
                    "  X[i, j, k] = G[a, b, c] * U[i, a] * V[j, b] * W[k, c]\n"
                    "  return X\n}\n", "t");
  cr_assert_eq(n.branches, 0);
  cr_assert_eq(n.products, 3);
  cr_assert_eq(n.gemms, 3);
  cr_assert_eq(n.copies, 0);
}

/* avxu,uvyt->axyt: the summed pair in B's order, so only A is copied. */
Test(layout, permuted_contraction_copies_one_operand) {
  Count n = lowered("def t(A: f64[8, 9, 10, 11], B: f64[11, 9, 12, 13]) -> f64[8, 10, 12, 13] {\n"
                    "  C[a, x, y, t] = A[a, v, x, u] * B[u, v, y, t]\n"
                    "  return C\n}\n", "t");
  cr_assert_eq(n.products, 1);
  cr_assert_eq(n.gemms, 1);
  cr_assert_eq(n.copies, 1);
}

/* An operand stored transposed ([K, M]) is read as it is. */
Test(layout, transposed_operand_is_not_copied) {
  Count n = lowered("def t(A: f64[7, 5, 6], B: f64[5, 6, 8]) -> f64[8, 7] {\n"
                    "  C[n, m] = A[m, k, l] * B[k, l, n]\n"
                    "  return C\n}\n", "t");
  cr_assert_eq(n.gemms, 1);
  cr_assert_eq(n.copies, 0);
}

/* The Khatri-Rao product of MTTKRP is an outer product batched over q: a
 * loop, not a GEMM with copies of its operands. */
Test(layout, khatri_rao_stays_a_loop) {
  Count n = lowered("def t(B: f64[30, 8], C: f64[40, 8]) -> f64[30, 40, 8] {\n"
                    "  K[b, c, q] = B[b, q] * C[c, q]\n"
                    "  return K\n}\n", "t");
  cr_assert_eq(n.products, 1);
  cr_assert_eq(n.gemms, 0);
  cr_assert_eq(n.copies, 0);
}

/* A batched matrix-vector product stays a loop too. */
Test(layout, matrix_vector_stays_a_loop) {
  Count n = lowered("def t(T: f64[30, 40, 8], B: f64[40, 8]) -> f64[30, 8] {\n"
                    "  M[a, q] = T[a, b, q] * B[b, q]\n"
                    "  return M\n}\n", "t");
  cr_assert_eq(n.gemms, 0);
  cr_assert_eq(n.copies, 0);
}

/* A GEMM batched over a leading index of one operand, the other shared:
 * X[i, j, k] = V[j, b] T[i, b, k] (the shared matrix on the left). */
Test(layout, shared_left_operand_is_a_batched_gemm) {
  Count n = lowered("def t(V: f64[9, 5], T: f64[7, 5, 6]) -> f64[7, 9, 6] {\n"
                    "  X[i, j, k] = V[j, b] * T[i, b, k]\n"
                    "  return X\n}\n", "t");
  cr_assert_eq(n.gemms, 1);
  cr_assert_eq(n.copies, 0);
}
