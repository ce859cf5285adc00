/* test_outslot.c — opt/outslot.c: which returned tensors are computed
 * straight into the caller's buffer (out_slot) and which are not. */
#include <string.h>
#include "passes.h"
#include "tir_fixture.h"

/* The out_slot of the variable named `name` in def `t` after the pass. */
static int slot_of(const char *text, const char *name) {
  Compiler *c = compiler_new(NULL);
  TirProgram *p = tir_of(c, text, 0);
  PassOptions o = {0};
  pass_outslot(p, &o);
  cr_assert_eq(tir_verify(p, stderr), 0);
  int slot = -1;
  for (int i = 0; i < p->funcs.n; i++) {
    TirFunc *f = p->funcs.items[i];
    if (strcmp(f->source_name, "t") != 0) continue;
    for (int k = 0; k < f->vars.n; k++) {
      TirVar *v = f->vars.items[k];
      if (v->name && strcmp(v->name, name) == 0) slot = v->out_slot;
    }
  }
  compiler_free(c);
  cr_assert_neq(slot, -1, "no variable %s", name);
  return slot;
}

Test(outslot, one_definition_goes_to_the_callers_buffer) {
  cr_expect_eq(slot_of("def t(A: f64[n, k], B: f64[k, m]) -> f64[n, m] {\n"
                       "  C[i, j] = A[i, p] * B[p, j]\n  return C\n}\n", "C"), 1);
}

Test(outslot, second_result_gets_slot_two) {
  cr_expect_eq(slot_of("def t(A: f64[n, k]) -> (f64[n], f64[k]) {\n"
                       "  r[i] = A[i, p]\n  s[p] = A[i, p]\n  return r, s\n}\n", "s"), 2);
}

Test(outslot, defined_in_a_loop_is_not) {
  cr_expect_eq(slot_of("def t(A: f64[n]) -> f64[n] {\n  x[i] = A[i]\n"
                       "  for q in 0..3 {\n    x[i] = x[i] * 2.0\n  }\n  return x\n}\n", "x"), 0);
}

Test(outslot, defined_twice_is_not) {
  cr_expect_eq(slot_of("def t(A: f64[n]) -> f64[n] {\n  x[i] = A[i]\n  x[i] = A[i] + x[i]\n"
                       "  return x\n}\n", "x"), 0);
}

Test(outslot, an_if_that_leaves_it_alone_keeps_it) {
  cr_expect_eq(slot_of("def t(A: f64[n], c: f64) -> f64[n] {\n  x[i] = A[i]\n  s = c\n"
                       "  if c > 0.0 {\n    s = 2.0 * c\n  }\n  return x\n}\n", "x"), 1);
}

Test(outslot, rewritten_in_a_branch_is_not) {
  cr_expect_eq(slot_of("def t(A: f64[n], c: f64) -> f64[n] {\n  x[i] = A[i]\n"
                       "  if c > 0.0 {\n    x[i] = -x[i]\n  }\n  return x\n}\n", "x"), 0);
}

Test(outslot, a_parameter_is_not) {
  cr_expect_eq(slot_of("def t(A: f64[n]) -> f64[n] {\n  return A\n}\n", "A"), 0);
}

/* a call of a user function fills the buffer it is given, whole */
Test(outslot, a_call_result_goes_to_the_callers_buffer) {
  cr_expect_eq(slot_of("def h(A: f64[n]) -> f64[n] {\n  y[i] = 2.0 * A[i]\n  return y\n}\n"
                       "def t(A: f64[n]) -> f64[n] {\n  x = h(A)\n  return x\n}\n", "x"), 1);
}

Test(outslot, a_call_in_a_loop_is_not) {
  cr_expect_eq(slot_of("def h(A: f64[n]) -> f64[n] {\n  y[i] = 2.0 * A[i]\n  return y\n}\n"
                       "def t(A: f64[n]) -> f64[n] {\n  x = h(A)\n  for q in 0..2 {\n    x = h(x)\n  }\n"
                       "  return x\n}\n", "x"), 0);
}
