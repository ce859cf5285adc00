/* pipeline.c — the stages of a compilation, in order (pipeline.h), with
 * their timing and the checks between them. */
#include "pipeline.h"
#include <string.h>
#include "lir.h"
#include "sema.h"

typedef void (*PassFn)(TirProgram *p, const PassOptions *o);

/* The TIR passes, in the order they run (architecture.md). */
static const struct { const char *name; PassFn fn; } passes[] = {
  {"kroninline", pass_kroninline},
  {"kronla", pass_kronla},
  {"structure", pass_structure},
  {"attention", pass_attention},
  {"hoist", pass_hoist},
  {"contract", pass_contract},
  {"layout", pass_layout},
  {"outslot", pass_outslot},
};

/* Debug and sanitizer builds check the TIR after every stage that
 * changes it; an invalid TIR is a compiler bug. */
static void check_after(const TirProgram *p, const char *stage) {
#ifndef NDEBUG
  if (tir_verify(p, stderr)) {
    fprintf(stderr, "tnsc: invalid TIR after %s\n", stage);
    TNS_BUG("TIR invalid after a stage");
  }
#else
  (void)p;
  (void)stage;
#endif
}

Node *pipeline_front(Compiler *c, const char *path, const PipelineOptions *o) {
  StageTimes *t = o->cg.times;
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

TirProgram *pipeline_tir(Compiler *c, Node *prog, int with_main, const PipelineOptions *o) {
  double t0 = timing_now();
  TirProgram *p = tir_build(c->arena, &c->names, prog, with_main);
  timing_add(o->cg.times, ST_TIR, t0);
  check_after(p, "tir_build");
  return p;
}

/* -O0 runs no pass: the naive lowering is the oracle. */
static void run_passes(TirProgram *p, const PipelineOptions *o) {
  if (o->cg.opt_level == 0) return;
  double t0 = timing_now();
  for (size_t i = 0; i < sizeof passes / sizeof *passes; i++) {
    passes[i].fn(p, &o->pass);
    check_after(p, passes[i].name);
    if (o->pass.dump_after && strcmp(o->pass.dump_after, passes[i].name) == 0)
      tir_print(o->pass.dump ? o->pass.dump : stdout, p);
  }
  timing_add(o->cg.times, ST_PASSES, t0);
}

void pipeline_optimize(TirProgram *p, const PipelineOptions *o) {
  run_passes(p, o);
  double t0 = timing_now();
  lir_program(p, o->cg.opt_level > 0);   /* scheduled, parallel loops marked, at -O1 and above */
  timing_add(o->cg.times, ST_LIR, t0);
}

LLVMModuleRef pipeline_codegen(LLVMContextRef ctx, const TirProgram *p, const PipelineOptions *o,
                               LLVMTargetMachineRef tm) {
  if (tir_verify(p, stderr)) return NULL;
  double t0 = timing_now();
  LLVMModuleRef m = cg_module(ctx, p, &o->cg);
  timing_add(o->cg.times, ST_CODEGEN, t0);
  t0 = timing_now();
  int bad = cg_optimize(m, tm, &o->cg);
  timing_add(o->cg.times, ST_OPT, t0);
  if (bad) {
    LLVMDisposeModule(m);
    return NULL;
  }
  return m;
}

TirProgram *pipeline_lower_file(Compiler *c, const char *path, const PipelineOptions *o) {
  Node *prog = pipeline_front(c, path, o);
  if (!prog) return NULL;
  TirProgram *p = pipeline_tir(c, prog, 1, o);
  pipeline_optimize(p, o);
  return p;
}

LLVMModuleRef pipeline_compile_file(Compiler *c, const char *path, LLVMContextRef ctx, const PipelineOptions *o,
                                    LLVMTargetMachineRef tm) {
  TirProgram *p = pipeline_lower_file(c, path, o);
  return p ? pipeline_codegen(ctx, p, o, tm) : NULL;
}
