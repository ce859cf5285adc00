/* fuzz_frontend.c — source bytes through the whole front end: lexer,
 * parser, sema, TIR build, the passes and loop nests (pipeline.c, as at
 * -O2) and tir_verify. No file can be opened (no_files.c makes fopen fail): `import` and
 * `load` cannot reach a real path. A crash, a sanitizer report, an
 * internal error (tns_bug aborts) or TIR that does not verify is a
 * finding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compile.h"
#include "fuzz.h"
#include "pipeline.h"
#include "sema.h"
#include "tir.h"

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  if (n > 1 << 16) return -1;   /* long inputs add time, not coverage */
  if (!sink) sink = fopen("/dev/null", "w");
  fuzz_deny_files(1);
  Compiler *c = compiler_new(sink);
  c->diag.max_errors = 0;
  Source *src = arena_alloc(c->arena, sizeof *src);
  char *text = arena_alloc(c->arena, n + 1);
  memcpy(text, data, n);
  src->path = "fuzz.tns";
  src->text = text;
  src->len = (int)n;
  Node *prog = parse_source(&c->ast, src);
  int before = c->diag.nerrors;
  if (prog) sema_program(c, prog, "fuzz.tns");
  if (prog && c->diag.nerrors == before && before == 0) {
    PipelineOptions po = {.cg = {.opt_level = 2}};
    TirProgram *p = pipeline_tir(c, prog, 1, &po);
    if (tir_verify(p, stderr)) abort();
    pipeline_optimize(p, &po);
    if (tir_verify(p, stderr)) abort();
  }
  compiler_free(c);
  fuzz_deny_files(0);
  return 0;
}
