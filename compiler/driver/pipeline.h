/* pipeline.h — the one pipeline. `tnsc run`, `obj/lib/build`, the REPL,
 * `explain` and `emit tir|lir|llvm|asm` all compile through these stages,
 * listed once in pipeline.c:
 *
 *   front    parse + sema: typed AST              (sema_check_file)
 *   tir      typed AST -> TIR                      (tir_build)
 *   passes   kroninline, kronla, structure, attention, hoist, contract,
 *            layout, outslot
 *                                                  (opt/, -O1 and above)
 *   lir      each EINSUM's loop nest, on the op    (lir_program)
 *   cg       TIR + LIR -> LLVM module              (cg_module)
 *   llvm     LLVM's own passes                     (cg_optimize)
 *
 * tir_verify runs after `tir` and after every pass in debug and sanitizer
 * builds (no NDEBUG), on every path alike, and once before `cg` in every
 * build. Callers that change the TIR between stages (the REPL marks its
 * entry, `obj` adds instances) call the stages one by one. */
#ifndef TNS_PIPELINE_H
#define TNS_PIPELINE_H
#include "cg.h"
#include "compile.h"
#include "passes.h"

typedef struct PipelineOptions {
  CgOptions cg;         /* the -O level (0: no passes, naive loops), target,
                           --time; code generation reads it */
  PassOptions pass;     /* the TIR passes: memory limit, --dump-after */
} PipelineOptions;

/* front: the typed program, or NULL after printing errors. */
Node *pipeline_front(Compiler *c, const char *path, const PipelineOptions *o);
/* tir: with_main builds the top-level statements as `tns_main`. */
TirProgram *pipeline_tir(Compiler *c, Node *prog, int with_main, const PipelineOptions *o);
/* passes (at -O1 and above), then lir. */
void pipeline_optimize(TirProgram *p, const PipelineOptions *o);
/* cg and llvm: the optimised module in ctx, or NULL after printing why. */
LLVMModuleRef pipeline_codegen(LLVMContextRef ctx, const TirProgram *p, const PipelineOptions *o,
                               LLVMTargetMachineRef tm);
/* front, tir and optimize for a whole file (with its top level). */
TirProgram *pipeline_lower_file(Compiler *c, const char *path, const PipelineOptions *o);
/* Every stage for a whole file. */
LLVMModuleRef pipeline_compile_file(Compiler *c, const char *path, LLVMContextRef ctx, const PipelineOptions *o,
                                    LLVMTargetMachineRef tm);

#endif
