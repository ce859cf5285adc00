/* cg.h — LLVM code generation from TIR and its loop nests (op->loops,
 * lir.h), through the LLVM C API. The cg_*.c files share cg_int.h. */
#ifndef TNS_CG_H
#define TNS_CG_H
#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include "tir.h"
#include "timing.h"

typedef struct CgOptions {
  int opt_level;        /* 0: the naive loop nests as written; 1..3 */
  const char *cpu;      /* NULL: the host */
  const char *features; /* NULL: the host's */
  int pic;              /* position-independent code (objects, libraries) */
  int exe_main;         /* add `main` running the top-level statements */
  int light_glue;        /* functions doing little work (cg_int.h,
                            CG_LIGHT_WORK) skip LLVM's optimisation and get
                            the fast instruction selector (the JIT) */
  StageTimes *times;    /* NULL, or where `--time` adds each stage's time */
} CgOptions;

/* Builds the module for p in ctx; every function returns an i32 status. */
LLVMModuleRef cg_module(LLVMContextRef ctx, const TirProgram *p, const CgOptions *o);
/* A TargetMachine for the options (host CPU unless o->cpu). */
LLVMTargetMachineRef cg_target_machine(const CgOptions *o);
/* Verifies and optimises the module; 0 on success, message on stderr. */
int cg_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, const CgOptions *o);

#endif
