/* run.c — `tnsc run`: the program through the pipeline, then the JIT. */
#include "run.h"
#include <stdlib.h>
#include <string.h>
#include "jit.h"
#include "tns_runtime.h"

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

int run_file(Compiler *c, const char *path, const PipelineOptions *po) {
  const CgOptions *o = &po->cg;
  Jit *j = jit_new(cg_target_machine(o));
  if (!j) return 2;
  LLVMTargetMachineRef tm = cg_target_machine(o);
  LLVMModuleRef m = tm ? pipeline_compile_file(c, path, jit_context(j), po, tm) : NULL;
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
