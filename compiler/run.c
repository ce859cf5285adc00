/* run.c — the `tnsc run` pipeline: typed AST -> TIR -> LLVM -> JIT. */
#include "run.h"
#include <stdlib.h>
#include <string.h>
#include "jit.h"
#include "passes.h"
#include "sema.h"
#include "tir.h"
#include "tns_runtime.h"

/* -O1 and above optimise the TIR; -O0 is the naive reference. */
void run_passes(TirProgram *p, const CgOptions *o) {
  if (o->opt_level == 0) return;
  double t0 = timing_now();
  PassOptions po = {.memory_limit = o->memory_limit, .dump_after = o->dump_after};
  passes_run(p, &po);
  timing_add(o->times, ST_PASSES, t0);
}

/* compiler_check_file, in two timed halves */
static Node *check_timed(Compiler *c, const char *path, StageTimes *t) {
  int before = c->diag.nerrors;
  double t0 = timing_now();
  Node *prog = compiler_parse_file(c, path);
  timing_add(t, ST_PARSE, t0);
  if (!prog) return NULL;
  t0 = timing_now();
  sema_program(c, prog, path);
  timing_add(t, ST_SEMA, t0);
  return c->diag.nerrors == before ? prog : NULL;
}

TirProgram *run_lower(Compiler *c, const char *path, const CgOptions *o) {
  Node *prog = o->times ? check_timed(c, path, o->times) : compiler_check_file(c, path);
  if (!prog) return NULL;
  double t0 = timing_now();
  TirProgram *p = tir_build(c->arena, &c->names, prog, 1);
  timing_add(o->times, ST_TIR, t0);
  run_passes(p, o);
  return p;
}

/* cg_module, timed apart from the loop nests it lowers (ST_LIR) */
static LLVMModuleRef module_timed(LLVMContextRef ctx, const TirProgram *p, const CgOptions *o) {
  double t0 = timing_now(), lir0 = o->times ? o->times->sec[ST_LIR] : 0;
  LLVMModuleRef m = cg_module(ctx, p, o);
  timing_add(o->times, ST_CODEGEN, t0);
  if (o->times) o->times->sec[ST_CODEGEN] -= o->times->sec[ST_LIR] - lir0;
  return m;
}

LLVMModuleRef run_compile(Compiler *c, const char *path, LLVMContextRef ctx, const CgOptions *o,
                          LLVMTargetMachineRef tm) {
  TirProgram *p = run_lower(c, path, o);
  if (!p) return NULL;
#ifndef NDEBUG
  if (tir_verify(p, stderr)) return NULL;
#endif
  LLVMModuleRef m = module_timed(ctx, p, o);
  double t0 = timing_now();
  int bad = cg_optimize(m, tm, o);
  timing_add(o->times, ST_OPT, t0);
  if (bad) {
    LLVMDisposeModule(m);
    return NULL;
  }
  return m;
}

/* "file.tns:3:14" -> a span in that file, when the file was read */
static Span span_of_loc(Compiler *c, const char *loc) {
  Span sp = span_none();
  const char *colon2 = strrchr(loc, ':');
  if (!colon2 || colon2 == loc) return sp;
  const char *colon1 = colon2 - 1;
  while (colon1 > loc && *colon1 != ':') colon1--;
  if (colon1 == loc) return sp;
  char *path = arena_strndup(c->arena, loc, (size_t)(colon1 - loc));
  const Source *src = compiler_source(c, path);
  int line = atoi(colon1 + 1), col = atoi(colon2 + 1);
  if (!src || line < 1 || col < 1) return sp;
  int off = 0;
  for (int l = 1; l < line && off < src->len; off++)
    if (src->text[off] == '\n') l++;
  sp.src = src;
  sp.off = off + col - 1;
  sp.len = 1;
  sp.line = line;
  sp.col = col;
  return sp;
}

void run_report_error(Compiler *c, const char *fallback_path) {
  const char *loc = tns_last_error_loc();
  Span sp = loc && *loc ? span_of_loc(c, loc) : span_none();
  if (sp.src) {
    diag_report(&c->diag, sp, E_RUNTIME, tns_last_error());
    return;
  }
  fprintf(stderr, "%s: error: %s\n", loc && *loc ? loc : fallback_path, tns_last_error());
}

int run_file(Compiler *c, const char *path, const CgOptions *o) {
  Jit *j = jit_new(cg_target_machine(o));
  if (!j) return 2;
  LLVMTargetMachineRef tm = cg_target_machine(o);
  LLVMModuleRef m = tm ? run_compile(c, path, jit_context(j), o, tm) : NULL;
  if (tm) LLVMDisposeTargetMachine(tm);
  if (!m || jit_add(j, m, NULL)) {
    jit_free(j);
    return 1;
  }
  double t0 = timing_now();
  int (*entry)(void) = (int (*)(void))jit_lookup(j, "tns_main");   /* compiles */
  timing_add(o->times, ST_JIT, t0);
  t0 = timing_now();
  int status = entry ? entry() : TNS_ERR_INTERNAL;
  fflush(stdout);
  timing_add(o->times, ST_EXEC, t0);
  if (o->times) timing_print(stderr, o->times);
  if (status) run_report_error(c, path);
  jit_free(j);
  return status ? 2 : 0;
}
