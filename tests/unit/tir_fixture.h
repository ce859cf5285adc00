/* tir_fixture.h — for the tests of the middle end: a program's text
 * checked and lowered to TIR, with a failed assertion on any error. */
#ifndef TNS_TEST_TIR_FIXTURE_H
#define TNS_TEST_TIR_FIXTURE_H
#include <criterion/criterion.h>
#include "compile.h"
#include "sema.h"
#include "tir.h"

static inline TirProgram *tir_of(Compiler *c, const char *text, int with_main) {
  Source *src = source_from_string(c->arena, "t.tns", text);
  Node *prog = parse_source(&c->ast, src);
  cr_assert_not_null(prog);
  sema_program(c, prog, "t.tns");
  cr_assert_eq(c->diag.nerrors, 0);
  return tir_build(c->arena, &c->names, prog, with_main);
}

#endif
