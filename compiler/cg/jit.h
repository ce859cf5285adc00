/* jit.h — ORC LLJIT: compiled modules run inside tnsc (`tnsc run`, the
 * REPL). Symbols of the runtime resolve to tnsc's own copy of libtnsrt. */
#ifndef TNS_JIT_H
#define TNS_JIT_H
#include <llvm-c/Orc.h>
#include <llvm-c/LLJIT.h>

typedef struct Jit Jit;

/* NULL with a message on stderr when no JIT can be made for this host.
 * tm (owned by the JIT afterwards; NULL: LLVM's default) sets the target
 * and code generation level, so -O0 compiles fast. */
Jit *jit_new(LLVMTargetMachineRef tm);
void jit_free(Jit *j);
/* A fresh context to build one module in (owned by the JIT afterwards). */
LLVMContextRef jit_context(Jit *j);
/* Adds the module built in the last jit_context(); 0 on success. Each
 * module gets its own resource tracker, so it can be removed again. */
int jit_add(Jit *j, LLVMModuleRef m, LLVMOrcResourceTrackerRef *rt);
void *jit_lookup(Jit *j, const char *name);
void jit_remove(Jit *j, LLVMOrcResourceTrackerRef rt);

#endif
