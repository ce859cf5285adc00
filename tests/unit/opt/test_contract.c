/* test_contract.c — passes/contract.c: products inside larger statements
 * lifted into planned contractions (gallery gap 3), repeated pairwise steps
 * read once (gap 13), and what is left alone. */
#include <string.h>
#include "passes.h"
#include "tir_fixture.h"

typedef struct After {
  int einsums;            /* EINSUMs in function t */
  int contracts, lifted;  /* ContractInfos, and of those lifted */
  int reused;             /* steps that read an earlier step's result */
  int nsteps;             /* steps of the first ContractInfo */
  int first[2];           /* the operands of its first step */
  const ContractInfo *info; /* the first ContractInfo */
  const TirOp *last;      /* the statement writing the result */
  const TirVar *first_temp;
} After;

static int reductions(const TirExpr *x) {
  if (!x) return 0;
  int n = x->kind == TX_REDUCE;
  n += reductions(x->a) + reductions(x->b) + reductions(x->c);
  for (int i = 0; x->args && i < x->n; i++) n += reductions(x->args[i]);
  return n;
}

static Compiler *cc;

static After contracted(const char *text, double memory_limit) {
  if (cc) compiler_free(cc);
  cc = compiler_new(NULL);
  TirProgram *p = tir_of(cc, text, 0);
  PassOptions o = {.memory_limit = memory_limit};
  pass_contract(p, &o);
  cr_assert_eq(tir_verify(p, stderr), 0);
  After a;
  memset(&a, 0, sizeof a);
  TirFunc *f = NULL;
  for (int i = 0; i < p->funcs.n; i++)
    if (strcmp(((TirFunc *)p->funcs.items[i])->source_name, "t") == 0) f = p->funcs.items[i];
  cr_assert_not_null(f);
  for (int i = 0; i < f->body.n; i++) {
    const TirOp *op = f->body.ops[i];
    if (op->kind != TO_EINSUM) continue;
    a.einsums++;
    if (op->out->name && strcmp(op->out->name, "R") == 0) a.last = op;
    if (!op->out->name && !a.first_temp) a.first_temp = op->out;
  }
  a.contracts = p->contracts.n;
  for (int i = 0; i < p->contracts.n; i++) {
    const ContractInfo *ci = p->contracts.items[i];
    a.lifted += ci->lifted;
    for (int k = 0; k < ci->nsteps; k++) a.reused += ci->steps[k].reused > 0;
  }
  if (p->contracts.n) {
    const ContractInfo *ci = p->contracts.items[0];
    a.info = ci;
    a.nsteps = ci->nsteps;
    a.first[0] = ci->steps[0].args[0];
    a.first[1] = ci->steps[0].args[1];
  }
  return a;
}

static void done(void) {
  if (cc) compiler_free(cc);
  cc = NULL;
}
TestSuite(contract, .fini = done);

Test(contract, added_term_lifts_the_product) {
  After a = contracted("def t(W: f64[50, 40], V: f64[40, 6], lam: f64) -> f64[50, 6, 6] {\n"
                       "  R[i, p, q] = W[i, j] * V[j, p] * V[j, q] + lam * f64(p == q)\n  return R\n}\n", 0);
  cr_expect_eq(a.lifted, 1);
  cr_expect_eq(a.nsteps, 2);
  cr_assert_not_null(a.last);
  cr_expect_eq(reductions(a.last->body), 0, "the statement reads the temporary");
}

/* d^4 as written: the p sum inside the j sum for each element */
Test(contract, chain_inside_a_difference_is_planned) {
  After a = contracted("def t(W: f64[30, 20], Rm: f64[30, 30], D: f64[30, 20], L: f64[20, 20]) -> f64[30, 20] {\n"
                       "  R[q, i] = W[q, i] - 0.5 * Rm[q, p] * D[p, j] * L[j, i]\n  return R\n}\n", 0);
  cr_expect_eq(a.lifted, 1);
  cr_expect_eq(a.nsteps, 2);
  cr_expect_eq(reductions(a.last->body), 0);
}

/* Chamfer: the product under max(b: ...) under sum(a: ...) is lifted over
 * z, a and b, laid out [a, z, b]: one GEMM Q P^T writes it */
Test(contract, product_under_max_lifted_in_gemm_order) {
  After a = contracted("def t(Q: f64[32, 64], P: f64[100, 32, 64]) -> f64[100] {\n"
                       "  R[z] = sum(a: max(b: Q[a, c] * P[z, b, c]))\n  return R\n}\n", 0);
  cr_expect_eq(a.lifted, 1);
  cr_assert_not_null(a.first_temp);
  cr_expect_eq(a.first_temp->type->rank, 3);
  cr_expect_eq(a.first_temp->type->dims[0].k, 32);
  cr_expect_eq(a.first_temp->type->dims[1].k, 100);
  cr_expect_eq(reductions(a.last->body), 2, "sum and max stay");
}

Test(contract, product_inside_where_and_gelu) {
  After a = contracted("def t(Q: f64[2, 10, 8], K: f64[2, 10, 8]) -> f64[2, 10, 10] {\n"
                       "  R[h, i, j] = where(j <= i, Q[h, i, c] * K[h, j, c] / 2.0, -1.0)\n  return R\n}\n", 0);
  cr_expect_eq(a.lifted, 1);
  a = contracted("def t(X: f64[12, 16], A: f64[16, 4*8]) -> f64[4, 12, 8] {\n"
                 "  R[s, z, j] = gelu(sum(i: X[z, i] * A[i, (s: 4, j)]))\n  return R\n}\n", 0);
  cr_expect_eq(a.lifted, 1);
}

/* the temporary would be 32*100*32 elements */
Test(contract, memory_limit_keeps_the_loop_nest) {
  After a = contracted("def t(Q: f64[32, 64], P: f64[100, 32, 64]) -> f64[100] {\n"
                       "  R[z] = sum(a: max(b: Q[a, c] * P[z, b, c]))\n  return R\n}\n", 1000);
  cr_expect_eq(a.contracts, 0);
  cr_expect_eq(reductions(a.last->body), 3);
}

Test(contract, elementwise_products_stay) {
  After a = contracted("def t(A: f64[6, 7], B: f64[6, 7]) -> f64[6, 7] {\n"
                       "  R[i, j] = A[i, j] * B[i, j] + 1.0\n  return R\n}\n", 0);
  cr_expect_eq(a.contracts, 0);
  cr_expect_eq(a.einsums, 1);
}

/* += reading what it writes: computing the product first would change
 * which values it reads */
Test(contract, in_place_update_reading_itself_stays) {
  After a = contracted("def t(A: f64[6, 6], S0: f64[6, 6]) -> f64[6, 6] {\n  R = S0\n"
                       "  R[i, k] += sum(j: A[i, j] * R[j, k]) * 0.5 + 1.0\n  return R\n}\n", 0);
  cr_expect_eq(a.lifted, 0);
}

Test(contract, repeated_pair_is_computed_once) {
  After a = contracted("def t(A: f64[40, 40]) -> f64 {\n"
                       "  R = A[i, j] * A[j, k] * A[k, l] * A[l, i]\n  return R\n}\n", 0);
  cr_expect_eq(a.reused, 1);
  cr_expect_eq(a.einsums, 2, "one product A A, one final dot");
}

/* the fourth factor transposed: A[k, l] A[i, l] is no renaming of A[i, j] A[j, k] */
Test(contract, look_alike_pair_is_not_reused) {
  After a = contracted("def t(A: f64[40, 40]) -> f64 {\n"
                       "  R = A[i, j] * A[j, k] * A[k, l] * A[i, l]\n  return R\n}\n", 0);
  cr_expect_eq(a.reused, 0);
  cr_expect_eq(a.einsums, 3);
}

/* CP-ALS's mode-2 MTTKRP: the Khatri-Rao product first ties on FLOPs with
 * X A first, but would copy X into [b, (a, c)]; X A reads X as it is. The
 * first step multiplies X (three indices) by A, not A by C. */
Test(contract, equal_flops_fewer_copies) {
  After a = contracted("def t(X: f64[40, 40, 40], A: f64[40, 8], C: f64[40, 8]) -> f64[40, 8] {\n"
                       "  R[b, q] = X[a, b, c] * A[a, q] * C[c, q]\n  return R\n}\n", 0);
  cr_assert_eq(a.nsteps, 2);
  cr_expect(a.first[0] == 0 && a.first[1] == 1, "first step %d, %d", a.first[0], a.first[1]);
  /* with the Khatri-Rao factors first in the text, the same */
  a = contracted("def t(X: f64[40, 40, 40], A: f64[40, 8], C: f64[40, 8]) -> f64[40, 8] {\n"
                 "  R[b, q] = A[a, q] * C[c, q] * X[a, b, c]\n  return R\n}\n", 0);
  cr_expect((a.first[0] == 0 || a.first[1] == 2) && !(a.first[0] == 0 && a.first[1] == 1),
            "first step %d, %d", a.first[0], a.first[1]);
}

/* With symbolic sizes the candidates are chosen at run time: the one that
 * copies X pays for the copy in its cost, and X A comes first. */
Test(contract, run_time_costs_count_copies) {
  After a = contracted("def t(X: f64[i1, i2, i3], A: f64[i1, r], C: f64[i3, r]) -> f64[i2, r] {\n"
                       "  R[b, q] = X[a, b, c] * A[a, q] * C[c, q]\n  return R\n}\n", 0);
  cr_assert_not_null(a.info);
  cr_assert_gt(a.info->ncand, 1);
  cr_expect(a.first[0] == 0 && a.first[1] == 1, "first step %d, %d", a.first[0], a.first[1]);
  int priced = 0;
  for (int k = 0; k < a.info->ncand; k++) priced += strstr(a.info->cand_cost[k], "4*i1*i2*i3") != NULL;
  cr_expect_eq(priced, 1, "one candidate copies X: %s | %s", a.info->cand_cost[0], a.info->cand_cost[1]);
}

/* ALS's right-hand side W[i, j] M[i, j] V[j, p]: the elementwise step
 * writes [i, j] as its sources hold it (GEMM then reads it as [M, K]),
 * not [j, i], which would transpose 3M elements on the way */
Test(contract, elementwise_step_keeps_its_sources_order) {
  After a = contracted("def t(W: f64[200, 150], M: f64[200, 150], V: f64[150, 16]) -> f64[200, 16] {\n"
                       "  R[i, p] = W[i, j] * M[i, j] * V[j, p]\n  return R\n}\n", 0);
  cr_assert_not_null(a.first_temp);
  cr_expect_eq(a.first_temp->type->dims[0].k, 200);
  cr_expect_eq(a.first_temp->type->dims[1].k, 150);
}
