/* test_cg.c — cg/: the LLVM module a program becomes. It verifies, its
 * blocks are named after the source (while.cond, i.tile, ...), and it
 * carries out the decisions recorded on the ops: a TL_GEMM op calls the
 * runtime's matrix product, a loop op does not, a fused attention op
 * calls the attention kernel, an exported function checks its sizes. */
#include <llvm-c/Analysis.h>
#include <string.h>
#include "pipeline.h"
#include "tir_fixture.h"

static char *ir;   /* the module's text, freed by done() */

/* The unoptimised module of text at -O level `opt`, as text. */
static const char *module_of(const char *text, int opt) {
  Compiler *c = compiler_new(NULL);
  TirProgram *p = tir_of(c, text, 0);
  PipelineOptions o = {.cg = {.opt_level = opt}};
  pipeline_optimize(p, &o);
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef m = cg_module(ctx, p, &o.cg);
  cr_assert_not_null(m);
  char *err = NULL;
  cr_assert_eq(LLVMVerifyModule(m, LLVMReturnStatusAction, &err), 0, "%s", err);
  LLVMDisposeMessage(err);
  char *s = LLVMPrintModuleToString(m);
  ir = strdup(s);
  LLVMDisposeMessage(s);
  LLVMDisposeModule(m);
  LLVMContextDispose(ctx);
  compiler_free(c);
  return ir;
}

static void done(void) {
  free(ir);
  ir = NULL;
}

TestSuite(cg, .fini = done);

static const char *matmul =
    "def t(A: f64[n, k], B: f64[k, m]) -> f64[n, m] {\n  C[i, j] = A[i, p] * B[p, j]\n  return C\n}\n";

/* -O2: layout records TL_GEMM, codegen calls tns_gemm */
Test(cg, gemm_decision_calls_the_runtime) {
  const char *s = module_of(matmul, 2);
  cr_expect_not_null(strstr(s, "@tns_gemm"), "no tns_gemm call:\n%s", s);
}

/* -O0: the naive loop nest, no runtime matrix product */
Test(cg, naive_lowering_is_loops) {
  const char *s = module_of(matmul, 0);
  cr_expect_null(strstr(s, "call i32 @tns_gemm"));
  cr_expect_not_null(strstr(s, "\ni.loop:"), "no loop over i:\n%s", s);
  cr_expect_not_null(strstr(s, "\np.loop:"), "no loop over the summed p:\n%s", s);
}

/* Block names read like the source: a while loop's blocks */
Test(cg, while_blocks_are_named) {
  const char *s = module_of("def t(x: f64) -> f64 {\n  y = x\n  while y < 10.0 {\n    y = y * 2.0\n  }\n"
                            "  return y\n}\n", 2);
  cr_expect_not_null(strstr(s, "while.cond"));
  cr_expect_not_null(strstr(s, "while.body"));
  cr_expect_not_null(strstr(s, "while.exit"));
}

/* A size that comes from a value is checked for being negative */
Test(cg, value_size_is_checked) {
  const char *s = module_of("def t(k: i64) -> f64 {\n  Z = zeros(f64[k, k])\n  return sum(i, j: Z[i, j])\n}\n", 2);
  cr_expect_not_null(strstr(s, "size.negative"), "%s", s);
}

/* Fused attention: one call of the streaming kernel, no n x m scores */
Test(cg, attention_calls_the_kernel) {
  const char *s = module_of("def t(Q: f32[n, d], K: f32[m, d], V: f32[m, e]) -> f32[n, e] {\n"
                            "  S[i, j] = Q[i, c] * K[j, c]\n  P[i, j] = softmax(j: S[i, j])\n"
                            "  O[i, x] = P[i, j] * V[j, x]\n  return O\n}\n", 2);
  cr_expect_not_null(strstr(s, "@tns_attention"), "%s", s);
}
