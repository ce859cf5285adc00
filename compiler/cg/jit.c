/* jit.c — a thin layer over LLVM's ORC LLJIT C API. */
#include "jit.h"
#include <stdio.h>
#include <stdlib.h>
#include <llvm-c/Error.h>
#include <llvm-c/Target.h>

struct Jit {
  LLVMOrcLLJITRef lljit;
  LLVMOrcThreadSafeContextRef tsc;  /* of the module being built */
};

static int report(LLVMErrorRef e, const char *what) {
  if (!e) return 0;
  char *msg = LLVMGetErrorMessage(e);
  fprintf(stderr, "tnsc: %s: %s\n", what, msg);
  LLVMDisposeErrorMessage(msg);
  return 1;
}

/* The JIT compiles with tm's code generation level: LLJIT's default
 * (CodeGenOptLevel::Default) runs the machine scheduler even at -O0, and
 * that is quadratic in a block's length (2,000 parameters: seconds). */
Jit *jit_new(LLVMTargetMachineRef tm) {
  LLVMInitializeNativeTarget();
  LLVMInitializeNativeAsmPrinter();
  Jit *j = calloc(1, sizeof *j);
  if (!j) return NULL;
  LLVMOrcLLJITBuilderRef builder = NULL;
  if (tm) {
    builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
  }
  if (report(LLVMOrcCreateLLJIT(&j->lljit, builder), "cannot create the JIT")) {
    free(j);
    return NULL;
  }
  /* tnsc exports the runtime (linked whole, -rdynamic): look there */
  LLVMOrcDefinitionGeneratorRef gen;
  char prefix = LLVMOrcLLJITGetGlobalPrefix(j->lljit);
  if (report(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, prefix, NULL, NULL), "JIT symbols")) {
    jit_free(j);
    return NULL;
  }
  LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->lljit), gen);
  return j;
}

void jit_free(Jit *j) {
  if (!j) return;
  if (j->tsc) LLVMOrcDisposeThreadSafeContext(j->tsc);
  if (j->lljit) LLVMOrcDisposeLLJIT(j->lljit);
  free(j);
}

LLVMContextRef jit_context(Jit *j) {
  if (j->tsc) LLVMOrcDisposeThreadSafeContext(j->tsc);
  j->tsc = LLVMOrcCreateNewThreadSafeContext();
  return LLVMOrcThreadSafeContextGetContext(j->tsc);
}

int jit_add(Jit *j, LLVMModuleRef m, LLVMOrcResourceTrackerRef *rt) {
  LLVMOrcJITDylibRef lib = LLVMOrcLLJITGetMainJITDylib(j->lljit);
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, j->tsc);
  LLVMOrcResourceTrackerRef t = LLVMOrcJITDylibCreateResourceTracker(lib);
  if (report(LLVMOrcLLJITAddLLVMIRModuleWithRT(j->lljit, t, tsm), "cannot add module")) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    LLVMOrcReleaseResourceTracker(t);
    return 1;
  }
  if (rt) *rt = t;
  else LLVMOrcReleaseResourceTracker(t);
  return 0;
}

void *jit_lookup(Jit *j, const char *name) {
  LLVMOrcExecutorAddress addr = 0;
  if (report(LLVMOrcLLJITLookup(j->lljit, &addr, name), "JIT lookup")) return NULL;
  return (void *)(uintptr_t)addr;
}

void jit_remove(Jit *j, LLVMOrcResourceTrackerRef rt) {
  (void)j;
  report(LLVMOrcResourceTrackerRemove(rt), "cannot remove module");
  LLVMOrcReleaseResourceTracker(rt);
}
