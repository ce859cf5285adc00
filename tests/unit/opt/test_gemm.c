/* test_gemm.c — gemm.c: which EINSUMs are one (batched) matrix product
 * without a copy, with which shape, and which are pure reorderings; grouped
 * positions that split a dimension are read as views (gallery gap 9). */
#include <string.h>
#include "gemm.h"
#include "passes.h"
#include "tir_fixture.h"
#include "tns_runtime.h"

/* The op writing `name` in function t of text, matched after the contract
 * pass (which writes a product's sums as one reduction). */
typedef struct Got {
  int gemm, permute;
  GemmShape g;
  int perm[TNS_MAX_RANK];
} Got;

static Got matched(const char *text, const char *name) {
  Compiler *c = compiler_new(NULL);
  TirProgram *p = tir_of(c, text, 0);
  PassOptions o = {0};
  pass_contract(p, &o);
  Got r;
  memset(&r, 0, sizeof r);
  const TirOp *op = NULL;
  for (int i = 0; i < p->funcs.n; i++) {
    TirFunc *f = p->funcs.items[i];
    if (strcmp(f->source_name, "t") != 0) continue;
    for (int k = 0; k < f->body.n; k++) {
      const TirOp *o = f->body.ops[k];
      if (o->kind == TO_EINSUM && o->out->name && strcmp(o->out->name, name) == 0) op = o;
    }
  }
  cr_assert_not_null(op, "no statement writes %s", name);
  r.gemm = gemm_match(op, &r.g);
  r.permute = gemm_permute_match(op, r.perm);
  compiler_free(c);
  return r;
}

static int64_t k_of(Dim d) {
  cr_assert(dim_is_const(d));
  return d.k;
}

Test(gemm, plain_matrix_product) {
  Got r = matched("def t(A: f64[6, 7], B: f64[7, 8]) -> f64[6, 8] {\n  C[i, k] = A[i, j] * B[j, k]\n  return C\n}\n", "C");
  cr_assert(r.gemm);
  cr_expect_eq(k_of(r.g.m), 6);
  cr_expect_eq(k_of(r.g.n), 8);
  cr_expect_eq(k_of(r.g.k), 7);
  cr_expect_eq(k_of(r.g.batch), 1);
  cr_expect(!r.g.ta && !r.g.tb);
}

Test(gemm, transposed_operands_read_in_place) {
  Got r = matched("def t(A: f64[7, 6], B: f64[8, 7]) -> f64[6, 8] {\n  C[i, k] = A[j, i] * B[k, j]\n  return C\n}\n", "C");
  cr_assert(r.gemm);
  cr_expect(r.g.ta && r.g.tb);
}

/* A[i, (s, j)] of A: [16, 4*8] is the view [16, 4, 8]: (s, j) together are N */
Test(gemm, grouped_operand_is_a_view) {
  Got r = matched("def t(X: f64[12, 16], A: f64[16, 4*8]) -> f64[12, 4, 8] {\n"
                  "  H[z, s, j] = X[z, i] * A[i, (s: 4, j)]\n  return H\n}\n", "H");
  cr_assert(r.gemm);
  cr_expect_eq(k_of(r.g.m), 12);
  cr_expect_eq(k_of(r.g.n), 32);
  cr_expect_eq(k_of(r.g.k), 16);
}

/* B[(s, j), o] with the group summed: K = s j */
Test(gemm, grouped_summed_dimension) {
  Got r = matched("def t(Y: f64[12, 4, 8], B: f64[4*8, 16]) -> f64[12, 16] {\n"
                  "  Z[z, o] = Y[z, s, j] * B[(s, j), o]\n  return Z\n}\n", "Z");
  cr_assert(r.gemm);
  cr_expect_eq(k_of(r.g.k), 32);
  cr_expect_eq(k_of(r.g.m), 12);
}

/* an output group: u[(a, b)] = Q1[i, a] t[i, b] is [a, b] */
Test(gemm, grouped_output) {
  Got r = matched("def t(Q: f64[5, 4], T: f64[5, 3]) -> f64[4*3] {\n  u[(a, b)] = Q[i, a] * T[i, b]\n  return u\n}\n", "u");
  cr_assert(r.gemm);
  cr_expect(r.g.ta && !r.g.tb);
  cr_expect_eq(k_of(r.g.m), 4);
  cr_expect_eq(k_of(r.g.n), 3);
}

/* a group in the wrong order for the product is not a view GEMM reads */
Test(gemm, grouped_in_the_wrong_order_is_no_gemm) {
  Got r = matched("def t(X: f64[12, 16], A: f64[16, 4*8]) -> f64[12, 8, 4] {\n"
                  "  H[z, j, s] = X[z, i] * A[i, (s: 4, j)]\n  return H\n}\n", "H");
  cr_expect(!r.gemm);
}

/* a diagonal is not a matrix product */
Test(gemm, diagonal_is_no_gemm) {
  Got r = matched("def t(A: f64[6, 6], B: f64[6, 8]) -> f64[6, 8] {\n  C[i, k] = A[i, i] * B[i, k]\n  return C\n}\n", "C");
  cr_expect(!r.gemm);
}

Test(gemm, permutation_of_a_plain_tensor) {
  Got r = matched("def t(X: f64[3, 4, 5]) -> f64[4, 3, 5] {\n  Y[b, a, c] = X[a, b, c]\n  return Y\n}\n", "Y");
  cr_assert_eq(r.permute, 3);
  cr_expect(r.perm[0] == 1 && r.perm[1] == 0 && r.perm[2] == 2);
}

/* Y[z, (i1, i2)] = T[i2, z, i1]: a rank-3 reordering of the views */
Test(gemm, permutation_through_groups) {
  Got r = matched("def t(T: f64[5, 3, 4]) -> f64[3, 4*5] {\n  Y[z, (i1, i2)] = T[i2, z, i1]\n  return Y\n}\n", "Y");
  cr_assert_eq(r.permute, 3);
  cr_expect(r.perm[0] == 1 && r.perm[1] == 2 && r.perm[2] == 0);
  r = matched("def t(X: f64[3, 4*5]) -> f64[5, 3, 4] {\n  Y[j2, z, j1] = X[z, (j1, j2)]\n  return Y\n}\n", "Y");
  cr_assert_eq(r.permute, 3);
  cr_expect(r.perm[0] == 2 && r.perm[1] == 0 && r.perm[2] == 1);
}

Test(gemm, a_computed_position_is_no_permutation) {
  Got r = matched("def t(X: f64[3, 4]) -> f64[4, 3] {\n  Y[b, a: 3] = X[2 - a, b]\n  return Y\n}\n", "Y");
  cr_expect(!r.permute);
}

/* nothing summed: a loop, not a batch of 1 x 1 x 1 library products */
Test(gemm, elementwise_and_outer_products_are_no_gemm) {
  Got r = matched("def t(A: f64[30, 20], B: f64[30, 20]) -> f64[30, 20] {\n  R[i, j] = A[i, j] * B[i, j]\n  return R\n}\n", "R");
  cr_expect(!r.gemm);
  r = matched("def t(a: f64[30], b: f64[20]) -> f64[30, 20] {\n  R[i, j] = a[i] * b[j]\n  return R\n}\n", "R");
  cr_expect(!r.gemm);
}
