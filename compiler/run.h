/* run.h — `tnsc run`: check, lower, JIT-compile and run a program. */
#ifndef TNS_RUN_H
#define TNS_RUN_H
#include "cg.h"
#include "compile.h"
#include "tir.h"

/* Exit status: 0 ran, 1 compile error, 2 run-time error (printed as
 * `file:line:col: error: message` with the source line). */
int run_file(Compiler *c, const char *path, const CgOptions *o);
/* Compiles the program to an LLVM module in ctx (optimised per o); NULL
 * after printing the errors. */
LLVMModuleRef run_compile(Compiler *c, const char *path, LLVMContextRef ctx, const CgOptions *o,
                          LLVMTargetMachineRef tm);
/* Check, build the TIR and run the passes of the -O level; NULL after
 * printing errors. */
TirProgram *run_lower(Compiler *c, const char *path, const CgOptions *o);
/* The TIR passes for the options' -O level. */
void run_passes(TirProgram *p, const CgOptions *o);
/* Prints the last run-time error with its source location. */
void run_report_error(Compiler *c, const char *fallback_path);

#endif
